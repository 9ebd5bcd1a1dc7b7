/*
 * Fuzzer of the host tool's small parsers in tools/rtmem/replay.c and
 * cli.c: the command line of `rtmem replay` / `rtmem compare`
 * (rtm_tool_parse_cli, on the shared getopt_long parser rtm_cli_parse),
 * sizes ("64K", "1MiB": rtm_tool_parse_size), strategy names, and the
 * latency histogram with its formatting. The input is split at NUL bytes
 * into arguments; byte 0 picks whether several trace files are allowed.
 * Checked: no crash or sanitizer report; a size is accepted exactly when
 * it matches the documented grammar (digits, then optionally K, M or G,
 * optionally followed by B or iB) and fits size_t, with the right value; a
 * parsed command line has at least one file (each one of the arguments), a
 * non-zero size, a power-of-two alignment >= 4 or none, a known strategy,
 * and not both --size and --regions; histogram quantiles never decrease
 * with q and never exceed the largest sample.
 */
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "replay.h"

#define MAX_INPUT 4096u
#define MAX_ARGS 128


/* The size grammar of docs/tools.md, written independently. */
static bool expected_size(const char *s, size_t *out)
{
    size_t i = 0;
    uint64_t digits = 0;
    bool overflow = false;
    while (s[i] >= '0' && s[i] <= '9') {
        unsigned d = (unsigned)(s[i] - '0');
        if (digits > (UINT64_MAX - d) / 10u) {
            overflow = true;
        } else {
            digits = digits * 10u + d;
        }
        i++;
    }
    if (i == 0u || overflow) {
        return false;
    }
    const char *rest = s + i;
    unsigned shift = 0;
    const char *units = "KkMmGg";
    const char *u = rest[0] != '\0' ? strchr(units, rest[0]) : NULL;
    if (u != NULL) {
        shift = 10u * (1u + (unsigned)(u - units) / 2u);
        rest++;
        if (strcmp(rest, "B") == 0 || strcmp(rest, "iB") == 0) {
            rest += strlen(rest);
        }
    }
    if (rest[0] != '\0') {
        return false;
    }
    if (shift != 0u && digits > (UINT64_MAX >> shift)) {
        return false;
    }
    uint64_t v = digits << shift;
    if (v > (uint64_t)SIZE_MAX) {
        return false;
    }
    *out = (size_t)v;
    return true;
}

static void check_token(const char *tok)
{
    size_t got = 0, want = 0;
    bool ok = rtm_tool_parse_size(tok, &got);
    REQUIRE(ok == expected_size(tok, &want));
    if (ok) {
        REQUIRE(got == want);
    }
    rtm_strategy_id_t st = RTM_STRATEGY_COUNT;
    if (rtm_tool_parse_strategy(tok, &st)) {
        REQUIRE((int)st >= 0 && st < RTM_STRATEGY_COUNT);
        REQUIRE(strcmp(tok, rtm_strategy_name(st)) == 0 || strcmp(tok, "first-fit") == 0 ||
                strcmp(tok, "best-fit") == 0);
    }
}

static void check_cli(int argc, char **argv, bool many)
{
    rtm_tool_cli_t c;
    int rc = rtm_tool_parse_cli("fuzz", argc, argv, &c, many);
    REQUIRE(rc == 0 || rc == 2 || rc == 3);
    if (rc != 0) {
        return;
    }
    REQUIRE(c.nfiles >= 1u && c.nfiles <= sizeof c.files / sizeof c.files[0]);
    REQUIRE(many || c.nfiles == 1u);
    for (size_t f = 0; f < c.nfiles; f++) {
        bool found = false;
        for (int a = 1; a < argc; a++) {
            found = found || c.files[f] == argv[a];
        }
        REQUIRE(found);
    }
    REQUIRE(c.size > 0u);
    REQUIRE(c.align == 0u || (c.align >= 4u && (c.align & (c.align - 1u)) == 0u));
    REQUIRE((int)c.strategy >= 0 && c.strategy < RTM_STRATEGY_COUNT);
    REQUIRE(!(c.preset != NULL && c.size_set));
}

static rtm_hist_t g_hist;

static void check_hist(const uint8_t *data, size_t size)
{
    memset(&g_hist, 0, sizeof g_hist);
    uint64_t max = 0;
    size_t samples = 0;
    for (size_t i = 0; i + 8u <= size && samples < 64u; i += 8u, samples++) {
        uint64_t v = 0;
        for (size_t b = 0; b < 8u; b++) {
            v |= (uint64_t)data[i + b] << (8u * b);
        }
        v >>= data[i] % 64u; /* all magnitudes, not only huge ones */
        rtm_hist_add(&g_hist, v);
        max = v > max ? v : max;
        char buf[24];
        const char *s = rtm_tool_fmt_ns(v, buf, sizeof buf);
        REQUIRE(s == buf && memchr(buf, '\0', sizeof buf) != NULL && buf[0] != '\0');
    }
    REQUIRE(g_hist.count == samples);
    REQUIRE(g_hist.max_ns == max);
    static const double qs[] = {0.01, 0.5, 0.9, 0.99, 0.999, 1.0};
    uint64_t prev = 0;
    for (size_t q = 0; q < sizeof qs / sizeof qs[0]; q++) {
        uint64_t v = rtm_hist_quantile(&g_hist, qs[q]);
        REQUIRE(v >= prev);
        REQUIRE(v <= max);
        prev = v;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0u || size > MAX_INPUT) {
        return 0;
    }
    bool many = (data[0] & 1u) != 0u;
    /* a NUL-terminated copy: every NUL ends one argument */
    char *text = malloc(size + 1u);
    REQUIRE(text != NULL);
    memcpy(text, data + 1, size - 1u);
    text[size - 1u] = '\0';
    char *argv[MAX_ARGS + 1];
    int argc = 0;
    static char prog[] = "rtmem";
    argv[argc++] = prog;
    for (size_t i = 0; i < size - 1u && argc < MAX_ARGS;) {
        argv[argc++] = text + i;
        check_token(text + i);
        i += strlen(text + i) + 1u;
    }
    argv[argc] = NULL;
    check_cli(argc, argv, many);
    check_hist(data, size);
    free(text);
    return 0;
}
