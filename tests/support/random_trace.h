/*
 * A random rtmem-trace 1 file for the tool suites: the same generator for
 * every suite, so that a seed names the same trace everywhere.
 */
#ifndef RTMEM_TEST_RANDOM_TRACE_H
#define RTMEM_TEST_RANDOM_TRACE_H

#include <stdbool.h>
#include <stdint.h>

/* Writes to path a trace of `steps` events from seed: a free of a random
 * live block (45%, or whenever 512 are live) or an allocation of 8..207
 * bytes (one in seven: 8..3007), IDs in allocation order. With aligned,
 * one allocation in ten is an aligned one ("A", 64). With free_rest, the
 * blocks still live at the end are freed, last first. Fails the test if
 * the file cannot be written. */
void ts_write_random_trace(const char *path, uint32_t seed, unsigned steps, bool aligned,
                           bool free_rest);

#endif
