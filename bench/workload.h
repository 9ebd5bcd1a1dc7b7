/*
 * The random workload of bench/bench_heap.c, shared with the Cortex-M
 * instruction count (bench/target/bench_target.c) so that both run the
 * same sequence: BENCH_OPS operations over BENCH_SLOTS slots, each picking
 * a slot at random and freeing its block if it holds one, else asking for
 * 8..512 bytes drawn log-uniform. Fixed seed; the arithmetic is IEEE double
 * and 64-bit integers only, so a 32-bit soft-float target draws exactly
 * the host's sequence.
 */
#ifndef RTMEM_BENCH_WORKLOAD_H
#define RTMEM_BENCH_WORKLOAD_H

#include <stddef.h>
#include <stdint.h>

#define BENCH_OPS 1000000u
#define BENCH_SLOTS 2000u

typedef struct bench_op {
    uint16_t slot;
    uint16_t size; /* 0 on a free */
} bench_op_t;

typedef struct bench_workload_stats {
    size_t peak_live;  /* most requested bytes live at once */
    size_t ideal_peak; /* most bytes live at once, each block as ideal_span counts it */
} bench_workload_stats_t;

/* splitmix64: statistically good, trivially reproducible. */
static inline uint64_t bench_next_random(uint64_t *state)
{
    uint64_t z = (*state += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* What a block of size bytes needs at least: its payload rounded up to the
 * granularity, plus the 4-byte header of the block layout. */
static inline size_t bench_ideal_span(size_t size)
{
    return ((size + 7u) & ~(size_t)7u) + 4u;
}

/* Fills ops[0, BENCH_OPS) with the sequence; the peaks go to *stats. */
static inline void bench_make_workload(bench_op_t *ops, bench_workload_stats_t *stats)
{
    static uint16_t sizes[BENCH_SLOTS];
    uint64_t rng = 0x9e3779b97f4a7c15u;
    size_t live = 0, ideal = 0;
    for (uint32_t s = 0; s < BENCH_SLOTS; s++) {
        sizes[s] = 0;
    }
    stats->peak_live = 0;
    stats->ideal_peak = 0;
    for (uint32_t i = 0; i < BENCH_OPS; i++) {
        uint32_t slot = (uint32_t)(bench_next_random(&rng) % BENCH_SLOTS);
        ops[i].slot = (uint16_t)slot;
        if (sizes[slot] != 0) {
            live -= sizes[slot];
            ideal -= bench_ideal_span(sizes[slot]);
            sizes[slot] = 0;
            ops[i].size = 0;
            continue;
        }
        /* log-uniform 8..512: uniform exponent in [3, 9] */
        double e = 3.0 + 6.0 * (double)(bench_next_random(&rng) >> 11) / 9007199254740992.0;
        size_t size = (size_t)(1u << (unsigned)e);
        size += (size_t)((double)size * (e - (double)(unsigned)e));
        if (size > 512u) {
            size = 512u;
        }
        sizes[slot] = (uint16_t)size;
        ops[i].size = (uint16_t)size;
        live += size;
        ideal += bench_ideal_span(size);
        if (live > stats->peak_live) {
            stats->peak_live = live;
        }
        if (ideal > stats->ideal_peak) {
            stats->ideal_peak = ideal;
        }
    }
}

#endif
