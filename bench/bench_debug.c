/*
 * What the debug layer costs: time and bytes per allocation at the
 * poisoning level this program was built with (RTM_POISON_LEVEL, which
 * must match the library's), and how long the heap lock is held by a full
 * integrity check versus one incremental step on a large heap.
 *
 * The level is compile-time, so this file is built once per level against
 * a library of that level (bench/CMakeLists.txt: bench_debug_none,
 * bench_debug_light, bench_debug_comprehensive) and each binary prints its
 * rows; `--header` prints the table headers first. Host program: stdio and
 * libc are fine here.
 *
 * Measured, TLSF heap with RTM_HEAP_NO_LOCK (the algorithm, not the mutex):
 *   - ns per malloc+free pair: 64 live blocks; each step frees a random
 *     one and allocates a new one of the given size; fastest of REPEATS
 *     runs of PAIRS steps;
 *   - heap bytes per block: how much free memory one allocation of the
 *     given size takes (block header, poison head/tail, rounding), from the
 *     heap's own statistics over 100 allocations;
 *   - full check vs incremental step: a 4 MiB heap holding ~30000 blocks
 *     (about half of them live): time of one rtm_heap_check, and the
 *     median and 99th percentile of the rtm_heap_check_step(budget 32)
 *     calls of one full pass: how long each holds the lock.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtmem/debug.h"
#include "rtmem/heap.h"

#define LIVE 64u
#define PAIRS 100000u
#define REPEATS 15
#define BIG (4u * 1024u * 1024u)

RTM_HEAP_STORAGE(g_small, 256u * 1024u);
RTM_HEAP_STORAGE(g_big, BIG);

static const char *level_name(void)
{
    switch (rtm_debug_poison_level()) {
    case 0:
        return "0 none";
    case 1:
        return "1 light";
    default:
        return "2 comprehensive";
    }
}

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

static uint32_t g_rng = 2463534242u;

static uint32_t xorshift(void)
{
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 17;
    g_rng ^= g_rng << 5;
    return g_rng;
}

static rtm_heap_t *fresh(uint8_t *mem, size_t size)
{
    rtm_heap_config_t cfg = {.strategy = &rtm_strategy_tlsf, .flags = RTM_HEAP_NO_LOCK, .name = "bench"};
    rtm_heap_t *h = rtm_heap_init(mem, size, &cfg);
    if (h == NULL) {
        fprintf(stderr, "bench_debug: heap init failed\n");
        exit(1);
    }
    return h;
}

static double pair_ns(size_t size)
{
    double runs[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        rtm_heap_t *h = fresh(g_small, sizeof g_small);
        void *live[LIVE];
        for (size_t i = 0; i < LIVE; i++) {
            live[i] = rtm_malloc(h, size);
        }
        double t0 = now_ns();
        for (uint32_t i = 0; i < PAIRS; i++) {
            uint32_t k = xorshift() % LIVE;
            rtm_free(h, live[k]);
            live[k] = rtm_malloc(h, size);
            if (live[k] == NULL) {
                fprintf(stderr, "bench_debug: allocation failed\n");
                exit(1);
            }
        }
        runs[r] = (now_ns() - t0) / PAIRS;
        rtm_heap_deinit(h);
    }
    /* The fastest run: on a shared host the others mostly measure other
     * processes. */
    qsort(runs, REPEATS, sizeof runs[0], cmp_double);
    return runs[0];
}

static double bytes_per_block(size_t size)
{
    rtm_heap_t *h = fresh(g_small, sizeof g_small);
    size_t before = rtm_heap_free_bytes(h);
    for (int i = 0; i < 100; i++) {
        if (rtm_malloc(h, size) == NULL) {
            exit(1);
        }
    }
    size_t after = rtm_heap_free_bytes(h);
    rtm_heap_deinit(h);
    return (double)(before - after) / 100.0;
}

static double g_step_ns[8192];

static void check_costs(double *full_us, double *step_med_us, double *step_p99_us, size_t *blocks,
                        size_t *steps)
{
    rtm_heap_t *h = fresh(g_big, sizeof g_big);
    static void *p[40000];
    size_t n = 0;
    while (n < 40000u) {
        p[n] = rtm_malloc(h, 16u + xorshift() % 200u);
        if (p[n] == NULL) {
            break;
        }
        n++;
    }
    for (size_t i = 0; i < n; i += 2) {
        rtm_free(h, p[i]);
    }
    *blocks = n;
    double t0 = now_ns();
    if (!rtm_heap_check(h, NULL)) {
        fprintf(stderr, "bench_debug: check failed\n");
        exit(1);
    }
    *full_us = (now_ns() - t0) / 1e3;
    size_t calls = 0;
    rtm_check_status_t st;
    do {
        double s0 = now_ns();
        st = rtm_heap_check_step(h, 32, NULL);
        if (calls < sizeof g_step_ns / sizeof g_step_ns[0]) {
            g_step_ns[calls] = now_ns() - s0;
        }
        calls++;
    } while (st == RTM_CHECK_IN_PROGRESS);
    if (st != RTM_CHECK_DONE) {
        fprintf(stderr, "bench_debug: check step failed\n");
        exit(1);
    }
    size_t kept = calls < sizeof g_step_ns / sizeof g_step_ns[0] ? calls : sizeof g_step_ns / sizeof g_step_ns[0];
    qsort(g_step_ns, kept, sizeof g_step_ns[0], cmp_double);
    *step_med_us = g_step_ns[kept / 2] / 1e3;
    *step_p99_us = g_step_ns[kept * 99 / 100] / 1e3;
    *steps = calls;
    rtm_heap_deinit(h);
}

int main(int argc, char **argv)
{
    static const size_t sizes[] = {16, 64, 256, 1024};
    static const size_t byte_sizes[] = {1, 8, 24, 64, 100};
    if (argc > 1 && strcmp(argv[1], "--header") == 0) {
        printf("time: ns per malloc+free pair (TLSF, no lock, 64 live blocks, fastest of %d x %u pairs)\n\n",
               REPEATS, PAIRS);
        printf("| level | 16 B | 64 B | 256 B | 1024 B |\n| --- | ---: | ---: | ---: | ---: |\n");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--bytes-header") == 0) {
        printf("bytes: heap bytes one allocation takes (TLSF, granularity 8: header, poison, rounding)\n\n");
        printf("| level | 1 B | 8 B | 24 B | 64 B | 100 B |\n| --- | ---: | ---: | ---: | ---: | ---: |\n");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--check-header") == 0) {
        printf("check: lock hold time on a 4 MiB TLSF heap, half its blocks live\n\n");
        printf("| level | blocks | full rtm_heap_check (us) | rtm_heap_check_step(32), median (us) | 99th percentile (us) | steps per pass |\n");
        printf("| --- | ---: | ---: | ---: | ---: | ---: |\n");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--bytes") == 0) {
        printf("| %s |", level_name());
        for (size_t i = 0; i < sizeof byte_sizes / sizeof byte_sizes[0]; i++) {
            printf(" %.0f |", bytes_per_block(byte_sizes[i]));
        }
        printf("\n");
        return 0;
    }
    if (argc > 1 && strcmp(argv[1], "--check") == 0) {
        double full, med, p99;
        size_t blocks, steps;
        check_costs(&full, &med, &p99, &blocks, &steps);
        printf("| %s | %zu | %.0f | %.1f | %.1f | %zu |\n", level_name(), blocks, full, med, p99, steps);
        return 0;
    }
    printf("| %s |", level_name());
    for (size_t i = 0; i < sizeof sizes / sizeof sizes[0]; i++) {
        printf(" %.1f |", pair_ns(sizes[i]));
    }
    printf("\n");
    return 0;
}
