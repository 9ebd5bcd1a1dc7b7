/*
 * The entry point every fuzz target defines (libFuzzer's name), shared by
 * the targets and by replay_main.c, which runs a corpus without libFuzzer.
 */
#ifndef RTMEM_FUZZ_TARGET_H
#define RTMEM_FUZZ_TARGET_H

#include <stddef.h>
#include <stdint.h>

/* Runs one input. Returns 0; any broken expectation aborts the process so
 * that libFuzzer (or ctest, through replay_main.c) reports it. */
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#endif
