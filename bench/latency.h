/*
 * Timing helpers shared by the allocator benchmarks (host programs).
 *
 * Per-operation latency needs a counter far cheaper than the operation:
 * on x86 the time-stamp counter (invariant on every CPU this runs on),
 * converted to ns with a rate measured against CLOCK_MONOTONIC; elsewhere
 * CLOCK_MONOTONIC itself. The cost of reading the counter twice (the
 * smallest of many empty measurements) is subtracted from every sample.
 *
 * Which allocator malloc() is: the benchmarks time the C library's malloc
 * and, run with LD_PRELOAD, jemalloc's or mimalloc's; system_malloc_name()
 * says which one this process got by looking for a symbol only that
 * allocator exports.
 */
#ifndef RTMEM_BENCH_LATENCY_H
#define RTMEM_BENCH_LATENCY_H

#include <dlfcn.h>
#include <stdint.h>
#include <stdlib.h>
#include <time.h>

#if defined(__x86_64__) || defined(__i386__)
#include <x86intrin.h>
#define BENCH_HAVE_TSC 1
#else
#define BENCH_HAVE_TSC 0
#endif

static inline double bench_now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static inline uint64_t bench_ticks(void)
{
#if BENCH_HAVE_TSC
    return __rdtsc();
#else
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
#endif
}

/* ns per tick, measured over 50 ms. */
static inline double bench_ns_per_tick(void)
{
#if BENCH_HAVE_TSC
    double t0 = bench_now_ns();
    uint64_t c0 = bench_ticks();
    while (bench_now_ns() - t0 < 5e7) {
    }
    double t1 = bench_now_ns();
    uint64_t c1 = bench_ticks();
    return (t1 - t0) / (double)(c1 - c0);
#else
    return 1.0;
#endif
}

/* Ticks an empty measurement takes (the smallest of many): subtracted
 * from every per-operation sample so the counter's own cost is not counted. */
static inline uint32_t bench_tick_overhead(void)
{
    uint64_t best = UINT64_MAX;
    for (int i = 0; i < 10000; i++) {
        uint64_t t0 = bench_ticks();
        uint64_t t1 = bench_ticks();
        if (t1 - t0 < best) {
            best = t1 - t0;
        }
    }
    return best > UINT32_MAX ? UINT32_MAX : (uint32_t)best;
}

static uint32_t bench_overhead_ticks;

static inline int bench_cmp_u32(const void *a, const void *b)
{
    uint32_t x = *(const uint32_t *)a, y = *(const uint32_t *)b;
    return (x > y) - (x < y);
}

static inline int bench_cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static inline double bench_median(double *v, size_t n)
{
    qsort(v, n, sizeof *v, bench_cmp_double);
    return n % 2 ? v[n / 2] : (v[n / 2 - 1] + v[n / 2]) / 2.0;
}

/* Latency distribution of one run, in ns. */
typedef struct bench_latency {
    double p50, p99, p9999, max;
} bench_latency_t;

/* Sorts ticks[0..n) and reads the percentiles off it. */
static inline bench_latency_t bench_percentiles(uint32_t *ticks, size_t n, double ns_per_tick)
{
    bench_latency_t l = {0, 0, 0, 0};
    if (n == 0) {
        return l;
    }
    qsort(ticks, n, sizeof *ticks, bench_cmp_u32);
    l.p50 = ticks[n / 2] * ns_per_tick;
    l.p99 = ticks[(size_t)((double)n * 0.99)] * ns_per_tick;
    l.p9999 = ticks[(size_t)((double)n * 0.9999)] * ns_per_tick;
    l.max = ticks[n - 1] * ns_per_tick;
    return l;
}

/* One sample: ticks between t0 and t1 less the counter's own cost
 * (bench_overhead_ticks, set once by the program). */
static inline uint32_t bench_tick_delta(uint64_t t0, uint64_t t1)
{
    uint64_t d = t1 - t0;
    d = d > bench_overhead_ticks ? d - bench_overhead_ticks : 0u;
    return d > UINT32_MAX ? UINT32_MAX : (uint32_t)d;
}

static inline const char *system_malloc_name(void)
{
    if (dlsym(RTLD_DEFAULT, "mallocx") != NULL) {
        return "jemalloc";
    }
    if (dlsym(RTLD_DEFAULT, "mi_malloc") != NULL) {
        return "mimalloc";
    }
    return "glibc malloc";
}

#endif
