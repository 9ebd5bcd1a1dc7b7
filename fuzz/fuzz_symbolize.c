/*
 * Fuzzer of `rtmem leaks --elf` symbolization (tools/rtmem/symbolize.c):
 * the ELF header readers and the parser of addr2line's answers. The input
 * is written to a file; that file is
 *   1. read as an ELF file by sym_elf_machine and sym_elf_is_pie;
 *   2. given as the answer of addr2line: sym_resolve runs a stand-in
 *      script (it prints the file) for 1 + data[0] % 8 addresses.
 * Checked: no crash or sanitizer report; e_machine is a 16-bit value or -1
 * with a message; PIE is 0 or 1; sym_resolve gives 0 (or -1 with a
 * message), every function and file name terminated inside its array and
 * free of line ends, line numbers at most SYM_LINE_MAX, addresses left
 * untouched. Every line of the input is also read as a FILE:LINE answer by
 * sym_parse_file_line: a line number it keeps is written, in decimal
 * (leading zeros aside), right after the answer's last ':' and followed by
 * its end or a space.
 * One process runs per input (the stand-in), so this target is slow; its
 * parser is small.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "fuzz_target.h"
#include "symbolize.h"

#define MAX_INPUT (16u * 1024u)
#define MAX_ENTRIES 8u


static char g_dir[64];
static char g_script[96];
static char g_input[96];

static void cleanup(void)
{
    unlink(g_script);
    unlink(g_input);
    rmdir(g_dir);
}

/* A directory with the stand-in addr2line: it prints the ELF argument. */
static bool setup(void)
{
    if (g_dir[0] != '\0') {
        return true;
    }
    strcpy(g_dir, "/tmp/rtmem-fuzz-sym-XXXXXX");
    if (mkdtemp(g_dir) == NULL) {
        g_dir[0] = '\0';
        return false;
    }
    snprintf(g_script, sizeof g_script, "%s/addr2line", g_dir);
    snprintf(g_input, sizeof g_input, "%s/answer", g_dir);
    FILE *f = fopen(g_script, "w");
    REQUIRE(f != NULL);
    /* addr2line -f -C -e ELF: the answer is the ELF file's contents */
    fputs("#!/bin/sh\nexec cat -- \"$4\"\n", f);
    fclose(f);
    REQUIRE(chmod(g_script, 0700) == 0);
    atexit(cleanup);
    return true;
}

static bool clean_text(const char *s, size_t cap)
{
    const char *end = memchr(s, '\0', cap);
    return end != NULL && memchr(s, '\n', (size_t)(end - s)) == NULL;
}

/* The digits after the last ':' of answer are line's, then the end or a space. */
static bool line_written_as(const char *answer, unsigned long line)
{
    const char *p = strrchr(answer, ':');
    if (p == NULL) {
        return false;
    }
    p++;
    while (p[0] == '0' && p[1] >= '0' && p[1] <= '9') {
        p++;
    }
    char want[24];
    int n = snprintf(want, sizeof want, "%lu", line);
    return n > 0 && strncmp(p, want, (size_t)n) == 0 && (p[n] == '\0' || p[n] == ' ');
}

/* Each line of the input (up to a NUL) as one FILE:LINE answer. */
static void check_answers(const uint8_t *data, size_t size)
{
    static char answer[MAX_INPUT + 1u];
    size_t start = 0;
    while (start < size) {
        size_t end = start;
        while (end < size && data[end] != '\n' && data[end] != '\0') {
            end++;
        }
        memcpy(answer, data + start, end - start);
        answer[end - start] = '\0';
        sym_entry_t e;
        memset(&e, 0x5a, sizeof e);
        sym_parse_file_line(answer, &e);
        REQUIRE(clean_text(e.file, sizeof e.file));
        REQUIRE(strncmp(e.file, answer, strlen(e.file)) == 0);
        REQUIRE(e.line <= SYM_LINE_MAX);
        if (e.line != 0) {
            REQUIRE(line_written_as(answer, e.line));
        }
        start = end + 1u;
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0u || size > MAX_INPUT || !setup()) {
        return 0;
    }
    check_answers(data, size);
    FILE *f = fopen(g_input, "wb");
    REQUIRE(f != NULL);
    REQUIRE(fwrite(data, 1, size, f) == size);
    fclose(f);

    char err[256];
    err[0] = '\0';
    int machine = sym_elf_machine(g_input, err, sizeof err);
    REQUIRE(machine >= -1 && machine <= 0xffff);
    if (machine < 0) {
        REQUIRE(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
    }
    int pie = sym_elf_is_pie(g_input);
    REQUIRE(pie == 0 || pie == 1);
    if (pie) {
        REQUIRE(machine >= 0);
    }

    sym_entry_t e[MAX_ENTRIES];
    size_t n = 1u + data[0] % MAX_ENTRIES;
    for (size_t i = 0; i < n; i++) {
        memset(&e[i], 0, sizeof e[i]);
        e[i].addr = 0x40000000u + 16u * i;
    }
    err[0] = '\0';
    int rc = sym_resolve(g_script, g_input, e, n, err, sizeof err);
    REQUIRE(rc == 0 || rc == -1);
    if (rc < 0) {
        REQUIRE(memchr(err, '\0', sizeof err) != NULL && err[0] != '\0');
        return 0;
    }
    for (size_t i = 0; i < n; i++) {
        REQUIRE(e[i].addr == 0x40000000u + 16u * i);
        REQUIRE(clean_text(e[i].function, sizeof e[i].function));
        REQUIRE(clean_text(e[i].file, sizeof e[i].file));
        REQUIRE(e[i].line <= SYM_LINE_MAX);
    }
    return 0;
}
