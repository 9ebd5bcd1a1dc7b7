/*
 * The entry point every fuzz target defines (libFuzzer's name), shared by
 * the targets and by replay_main.c, which runs a corpus without libFuzzer.
 */
#ifndef RTMEM_FUZZ_TARGET_H
#define RTMEM_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>

/* Runs one input. Returns 0; any broken expectation aborts the process so
 * that libFuzzer (or ctest, through replay_main.c) reports it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

/* Set by a target that has more to say when a check fails (which step,
 * which phase): printed before the failed check. */
static void (*fuzz_context)(FILE *out);

/* Names the failed check and aborts, so that libFuzzer keeps the input as
 * a crash and a replay exits non-zero. */
_Noreturn static inline void fuzz_fail_at(const char *file, int line, const char *what)
{
    fprintf(stderr, "check failed at %s:%d: ", file, line);
    if (fuzz_context != NULL) {
        fuzz_context(stderr);
        fputs(": ", stderr);
    }
    fprintf(stderr, "%s\n", what);
    abort();
}

#define REQUIRE(cond)                                   \
    do {                                                \
        if (!(cond)) {                                  \
            fuzz_fail_at(__FILE__, __LINE__, #cond);    \
        }                                               \
    } while (0)

#endif
