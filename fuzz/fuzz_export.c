/*
 * Fuzzer of `rtmem export` (tools/rtmem/export_chrome.c, export_folded.c,
 * docs/formats.md "Chrome trace export" and "Folded stacks export"). The
 * input is read as one INPUT file, by both formats:
 *   chrome: whatever the input (an error stops it or not), the output is
 *           one complete JSON text, checked here by a strict RFC 8259
 *           validator (UTF-8, no control byte in a string, no trailing
 *           comma), and an error message names the file and a line;
 *   folded: every line is "STACK COUNT" with a decimal COUNT, frames
 *           non-empty and free of control bytes, the counts add up to
 *           the live bytes the leaks engine holds.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "export_chrome.h"
#include "export_folded.h"
#include "fuzz_target.h"

#define MAX_INPUT (64u * 1024u)

typedef struct json {
    const unsigned char *p, *end;
    int depth;
} json_t;

static bool json_value(json_t *j);

static void skip_ws(json_t *j)
{
    while (j->p < j->end && (*j->p == ' ' || *j->p == '\t' || *j->p == '\n' || *j->p == '\r')) {
        j->p++;
    }
}

static bool eat(json_t *j, char c)
{
    skip_ws(j);
    if (j->p < j->end && *j->p == (unsigned char)c) {
        j->p++;
        return true;
    }
    return false;
}

static bool json_string(json_t *j)
{
    if (!eat(j, '"')) {
        return false;
    }
    while (j->p < j->end && *j->p != '"') {
        unsigned char c = *j->p;
        if (c < 0x20u) {
            return false;
        }
        if (c == '\\') {
            if (j->end - j->p < 2) {
                return false;
            }
            unsigned char e = j->p[1];
            if (e == 'u') {
                if (j->end - j->p < 6) {
                    return false;
                }
                for (int i = 2; i < 6; i++) {
                    unsigned char h = j->p[i];
                    if (!((h >= '0' && h <= '9') || (h >= 'a' && h <= 'f') ||
                          (h >= 'A' && h <= 'F'))) {
                        return false;
                    }
                }
                j->p += 6;
            } else if (strchr("\"\\/bfnrt", e) != NULL && e != '\0') {
                j->p += 2;
            } else {
                return false;
            }
            continue;
        }
        size_t n = rtm_utf8_seq_len(j->p, (size_t)(j->end - j->p));
        if (n == 0) {
            return false;
        }
        j->p += n;
    }
    if (j->p >= j->end) {
        return false;
    }
    j->p++;
    return true;
}

static bool json_number(json_t *j)
{
    skip_ws(j);
    const unsigned char *s = j->p;
    if (j->p < j->end && *j->p == '-') {
        j->p++;
    }
    if (j->p >= j->end || *j->p < '0' || *j->p > '9') {
        return false;
    }
    if (*j->p == '0') {
        j->p++;
    } else {
        while (j->p < j->end && *j->p >= '0' && *j->p <= '9') {
            j->p++;
        }
    }
    return j->p > s; /* rtmem writes integers only: no fraction or exponent */
}

static bool json_members(json_t *j, char close, bool keyed)
{
    if (eat(j, close)) {
        return true;
    }
    do {
        if (keyed && (!json_string(j) || !eat(j, ':'))) {
            return false;
        }
        if (!json_value(j)) {
            return false;
        }
    } while (eat(j, ','));
    return eat(j, close);
}

static bool json_value(json_t *j)
{
    skip_ws(j);
    if (j->p >= j->end || ++j->depth > 16) {
        return false;
    }
    bool ok;
    if (*j->p == '{') {
        j->p++;
        ok = json_members(j, '}', true);
    } else if (*j->p == '[') {
        j->p++;
        ok = json_members(j, ']', false);
    } else if (*j->p == '"') {
        ok = json_string(j);
    } else {
        ok = json_number(j);
    }
    j->depth--;
    return ok;
}

static void check_chrome(const uint8_t *data, size_t size)
{
    FILE *in = fmemopen((void *)data, size, "r");
    char *out = NULL;
    size_t outlen = 0;
    FILE *o = open_memstream(&out, &outlen);
    REQUIRE(in != NULL && o != NULL);
    rtm_chrome_t w;
    rtm_chrome_begin(&w, o);
    char err[RTM_LINE_ERR_MAX];
    err[0] = '\0';
    int rc = rtm_chrome_read(&w, in, "in", 1, size % 2 == 0, NULL, err, sizeof err);
    REQUIRE(rc == 0 || rc == -1);
    REQUIRE(rc == 0 || strncmp(err, "in:", 3) == 0);
    REQUIRE(rtm_chrome_end(&w) == 0);
    fclose(o);
    fclose(in);
    json_t j = {(const unsigned char *)out, (const unsigned char *)out + outlen, 0};
    REQUIRE(json_value(&j));
    skip_ws(&j);
    REQUIRE(j.p == j.end);
    free(out);
}

static void check_folded(const uint8_t *data, size_t size)
{
    FILE *in = fmemopen((void *)data, size, "r");
    REQUIRE(in != NULL);
    lk_input_t lk;
    lk_input_init(&lk, "in");
    (void)rtm_folded_read(&lk, in, size % 2 == 0 ? RTM_FOLDED_AT_END : RTM_FOLDED_AT_PEAK);
    fclose(in);
    rtm_folded_t s;
    rtm_folded_init(&s);
    uint64_t live = 0;
    for (size_t i = 0; i < lk.nrec; i++) {
        if (lk.rec[i].in_use && !lk.rec[i].freed) {
            live += lk.rec[i].size;
            REQUIRE(rtm_folded_add(&s, &lk.rec[i], size % 3 == 0, (rtm_folded_root_t)(size % 3),
                                   NULL, 0) == 0);
        }
    }
    REQUIRE(s.total == live);
    char *out = NULL;
    size_t outlen = 0;
    FILE *o = open_memstream(&out, &outlen);
    REQUIRE(o != NULL);
    (void)rtm_folded_write(&s, o);
    fclose(o);
    uint64_t sum = 0;
    for (char *line = out; line < out + outlen;) {
        char *nl = memchr(line, '\n', (size_t)(out + outlen - line));
        REQUIRE(nl != NULL);
        char *sp = nl;
        while (sp > line && sp[-1] != ' ') {
            sp--;
        }
        REQUIRE(sp > line + 1 && sp < nl); /* a stack, a space, digits */
        uint64_t n = 0;
        for (char *d = sp; d < nl; d++) {
            REQUIRE(*d >= '0' && *d <= '9');
            n = n * 10u + (uint64_t)(*d - '0');
        }
        sum += n;
        bool frame_start = true;
        for (char *c = line; c < sp - 1; c++) {
            REQUIRE((unsigned char)*c >= 0x20u && *c != 0x7f);
            REQUIRE(!(frame_start && *c == ';'));
            frame_start = *c == ';';
        }
        REQUIRE(!frame_start);
        line = nl + 1;
    }
    REQUIRE(sum == live);
    free(out);
    rtm_folded_free(&s);
    lk_input_free(&lk);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0 || size > MAX_INPUT) {
        return 0;
    }
    check_chrome(data, size);
    check_folded(data, size);
    return 0;
}
