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
 * free of line ends, addresses left untouched.
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

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0u || size > MAX_INPUT || !setup()) {
        return 0;
    }
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
    }
    return 0;
}
