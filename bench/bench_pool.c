/*
 * Pool benchmark: cost of one alloc + free pair for
 *   - rtm_pool        the O(1) intrusive free list (include/rtmem/pool.h)
 *   - bitmap scan     the naive pool: scan the bitmap for the first zero bit
 *   - TLSF heap       rtm_malloc / rtm_free of the same size
 * at 10, 100 and 10,000 blocks, in two patterns:
 *   - random, half full: N/2 blocks live; each step frees a pseudo-randomly
 *     chosen live block and allocates a new one in its place;
 *   - nearly full: every block live but the last one; each step allocates
 *     it and frees it again (the naive scan's worst case).
 * All three run without locks (RTM_POOL_NO_LOCK, RTM_HEAP_NO_LOCK) to
 * compare the algorithms; one extra row shows rtm_pool with its posix lock.
 * Every design is driven through the same function-pointer interface, and
 * each allocation writes one word into its block, as a user would.
 *
 * Prints a Markdown table of the median over REPS repetitions, in ns per
 * pair, and the ratio of the 10,000-block cost to the 10-block cost. The
 * repetitions run in rounds over all cells (see main).
 * Usage: bench_pool [--quick]   (--quick: fewer steps, for a smoke run)
 * Host code: stdio, malloc and clock_gettime are fine here.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtmem/heap.h"
#include "rtmem/pool.h"

#define BLOCK_SIZE 64u
#define REPS 15
#define SEQ_LEN 65536u /* pseudo-random indices, replayed */

static const size_t k_sizes[] = {10, 100, 10000};
#define N_SIZES (sizeof k_sizes / sizeof k_sizes[0])

/* ------------------------------------------------------------------ */
/* The naive design: a bitmap and a linear scan for the first zero bit */

typedef struct scan_pool {
    uint8_t *blocks;
    uint32_t *bitmap;
    size_t count;
    size_t words;
} scan_pool_t;

static void scan_init(scan_pool_t *s, size_t count)
{
    s->count = count;
    s->words = (count + 31u) / 32u;
    s->blocks = aligned_alloc(64, count * BLOCK_SIZE);
    s->bitmap = calloc(s->words, sizeof *s->bitmap);
    if (s->blocks == NULL || s->bitmap == NULL) {
        fprintf(stderr, "bench_pool: out of memory\n");
        exit(1);
    }
    /* Bits past the last block read as taken, so the scan never hands them out. */
    size_t tail = count % 32u;
    if (tail != 0) {
        s->bitmap[s->words - 1u] = ~((UINT32_C(1) << tail) - 1u);
    }
}

static void scan_fini(scan_pool_t *s)
{
    free(s->blocks);
    free(s->bitmap);
}

static void *scan_alloc(void *ctx)
{
    scan_pool_t *s = ctx;
    for (size_t w = 0; w < s->words; w++) {
        uint32_t word = s->bitmap[w];
        if (word != UINT32_MAX) {
            unsigned bit = (unsigned)__builtin_ctz(~word);
            s->bitmap[w] = word | (UINT32_C(1) << bit);
            return s->blocks + (w * 32u + bit) * BLOCK_SIZE;
        }
    }
    return NULL;
}

static void scan_free(void *ctx, void *p)
{
    scan_pool_t *s = ctx;
    size_t i = (size_t)((uint8_t *)p - s->blocks) / BLOCK_SIZE;
    s->bitmap[i / 32u] &= ~(UINT32_C(1) << (i % 32u));
}

/* ------------------------------------------------------------------ */
/* rtm_pool and the TLSF heap behind the same interface                */

static void *pool_alloc_fn(void *ctx)
{
    return rtm_pool_alloc(ctx);
}

static void pool_free_fn(void *ctx, void *p)
{
    rtm_pool_free(ctx, p);
}

static void *heap_alloc_fn(void *ctx)
{
    return rtm_malloc(ctx, BLOCK_SIZE);
}

static void heap_free_fn(void *ctx, void *p)
{
    rtm_free(ctx, p);
}

typedef struct allocator {
    void *(*alloc)(void *ctx);
    void (*free)(void *ctx, void *p);
    void *ctx;
} allocator_t;

/* One allocator of each design over `count` blocks; fini releases it. */
typedef struct instance {
    allocator_t a;
    rtm_pool_t pool;
    void *mem;
    scan_pool_t scan;
    int kind;
} instance_t;

enum { DESIGN_POOL, DESIGN_POOL_LOCKED, DESIGN_SCAN, DESIGN_TLSF, N_DESIGNS };

static const char *const k_design_names[N_DESIGNS] = {
    "rtm_pool (O(1) free list)",
    "rtm_pool, posix mutex held",
    "bitmap-scan pool (naive)",
    "TLSF heap (rtm_malloc/rtm_free)",
};

static void die(const char *what)
{
    fprintf(stderr, "bench_pool: %s\n", what);
    exit(1);
}

static void instance_init(instance_t *in, int design, size_t count)
{
    memset(in, 0, sizeof *in);
    in->kind = design;
    if (design == DESIGN_POOL || design == DESIGN_POOL_LOCKED) {
        size_t bytes = rtm_pool_storage_size(BLOCK_SIZE, count, 0, 0);
        in->mem = aligned_alloc(64, (bytes + 63u) & ~(size_t)63u);
        rtm_pool_config_t cfg = {.block_size = BLOCK_SIZE,
                                 .count = count,
                                 .flags = design == DESIGN_POOL ? RTM_POOL_NO_LOCK : 0u};
        if (in->mem == NULL || rtm_pool_init(&in->pool, in->mem, bytes, &cfg) == NULL) {
            die("rtm_pool_init failed");
        }
        in->a = (allocator_t){pool_alloc_fn, pool_free_fn, &in->pool};
    } else if (design == DESIGN_SCAN) {
        scan_init(&in->scan, count);
        in->a = (allocator_t){scan_alloc, scan_free, &in->scan};
    } else {
        rtm_heap_config_t cfg = {.strategy = &rtm_strategy_tlsf, .flags = RTM_HEAP_NO_LOCK};
        size_t bytes = rtm_heap_min_size(&cfg) + count * (BLOCK_SIZE + 16u) + 4096u;
        in->mem = aligned_alloc(64, (bytes + 63u) & ~(size_t)63u);
        rtm_heap_t *h = in->mem != NULL ? rtm_heap_init(in->mem, bytes, &cfg) : NULL;
        if (h == NULL) {
            die("rtm_heap_init failed");
        }
        in->a = (allocator_t){heap_alloc_fn, heap_free_fn, h};
    }
}

static void instance_fini(instance_t *in)
{
    if (in->kind == DESIGN_SCAN) {
        scan_fini(&in->scan);
    } else if (in->kind == DESIGN_TLSF) {
        rtm_heap_deinit(in->a.ctx);
    } else {
        (void)rtm_pool_deinit(&in->pool);
    }
    free(in->mem);
}

/* ------------------------------------------------------------------ */
/* Patterns                                                            */

static double now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1e9 + (double)ts.tv_nsec;
}

static void *must_alloc(const allocator_t *a)
{
    void *p = a->alloc(a->ctx);
    if (p == NULL) {
        die("an allocation failed during the benchmark");
    }
    *(volatile uint32_t *)p = 1u; /* the user's first write */
    return p;
}

/* splitmix64: the same pseudo-random sequence on every run. */
static uint64_t next_random(uint64_t *state)
{
    uint64_t z = (*state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

/* Half full, random order: ns per pair for `steps` pairs. */
static double run_random_half(const allocator_t *a, size_t count, const uint32_t *seq,
                              size_t steps)
{
    size_t live_n = count / 2u;
    void **live = malloc(live_n * sizeof *live);
    if (live == NULL) {
        die("out of memory");
    }
    for (size_t i = 0; i < live_n; i++) {
        live[i] = must_alloc(a);
    }
    /* Churn once so the free blocks are scattered before timing. */
    for (size_t s = 0; s < count * 4u; s++) {
        size_t i = seq[s % SEQ_LEN] % live_n;
        a->free(a->ctx, live[i]);
        live[i] = must_alloc(a);
    }
    double t0 = now_ns();
    for (size_t s = 0; s < steps; s++) {
        size_t i = seq[s % SEQ_LEN] % live_n;
        a->free(a->ctx, live[i]);
        live[i] = must_alloc(a);
    }
    double ns = (now_ns() - t0) / (double)steps;
    for (size_t i = 0; i < live_n; i++) {
        a->free(a->ctx, live[i]);
    }
    free(live);
    return ns;
}

/* Nearly full, the free block last: ns per pair. */
static double run_nearly_full(const allocator_t *a, size_t count, size_t steps)
{
    void **all = malloc(count * sizeof *all);
    if (all == NULL) {
        die("out of memory");
    }
    for (size_t i = 0; i < count; i++) {
        all[i] = must_alloc(a);
    }
    a->free(a->ctx, all[count - 1u]);
    double t0 = now_ns();
    for (size_t s = 0; s < steps; s++) {
        void *p = must_alloc(a);
        a->free(a->ctx, p);
    }
    double ns = (now_ns() - t0) / (double)steps;
    for (size_t i = 0; i + 1u < count; i++) {
        a->free(a->ctx, all[i]);
    }
    free(all);
    return ns;
}

static int cmp_double(const void *x, const void *y)
{
    double a = *(const double *)x, b = *(const double *)y;
    return a < b ? -1 : a > b ? 1 : 0;
}

enum { PATTERN_RANDOM_HALF, PATTERN_NEARLY_FULL, N_PATTERNS };

static const char *const k_pattern_names[N_PATTERNS] = {
    "random order, half full",
    "nearly full, free block last",
};

/* ns per pair of one repetition, on a fresh instance. */
static double measure_once(int design, int pattern, size_t count, const uint32_t *seq,
                           size_t steps)
{
    instance_t in;
    instance_init(&in, design, count);
    double ns = pattern == PATTERN_RANDOM_HALF ? run_random_half(&in.a, count, seq, steps)
                                               : run_nearly_full(&in.a, count, steps);
    instance_fini(&in);
    return ns;
}

int main(int argc, char **argv)
{
    size_t steps = 2000000;
    if (argc > 1 && strcmp(argv[1], "--quick") == 0) {
        steps = 20000;
    } else if (argc > 1) {
        fprintf(stderr, "usage: bench_pool [--quick]\n");
        return 2;
    }
    static uint32_t seq[SEQ_LEN];
    uint64_t state = 2024;
    for (size_t i = 0; i < SEQ_LEN; i++) {
        seq[i] = (uint32_t)(next_random(&state) >> 32);
    }

    /* Warm up (CPU clock, caches, page faults), then measure in rounds:
     * each round runs every cell once, so a noisy spell of a shared host
     * touches one repetition of many cells rather than all of one. */
    double until = now_ns() + 300e6;
    while (now_ns() < until) {
        (void)measure_once(DESIGN_POOL, PATTERN_RANDOM_HALF, 100, seq, steps / 4u);
    }
    static double reps[N_PATTERNS][N_DESIGNS][N_SIZES][REPS];
    for (int rep = 0; rep < REPS; rep++) {
        for (int p = 0; p < N_PATTERNS; p++) {
            for (int d = 0; d < N_DESIGNS; d++) {
                for (size_t s = 0; s < N_SIZES; s++) {
                    reps[p][d][s][rep] = measure_once(d, p, k_sizes[s], seq, steps);
                }
            }
        }
    }
    double ns[N_PATTERNS][N_DESIGNS][N_SIZES];
    for (int p = 0; p < N_PATTERNS; p++) {
        for (int d = 0; d < N_DESIGNS; d++) {
            for (size_t s = 0; s < N_SIZES; s++) {
                qsort(reps[p][d][s], REPS, sizeof(double), cmp_double);
                ns[p][d][s] = reps[p][d][s][REPS / 2];
            }
        }
    }

    printf("Median ns per alloc+free pair of a %u-byte block over %d repetitions of %zu pairs "
           "(rounds over all cells).\n\n",
           BLOCK_SIZE, REPS, steps);
    printf("| pattern | design | 10 blocks | 100 blocks | 10,000 blocks | 10,000 vs 10 |\n");
    printf("| --- | --- | ---: | ---: | ---: | ---: |\n");
    for (int p = 0; p < N_PATTERNS; p++) {
        for (int d = 0; d < N_DESIGNS; d++) {
            printf("| %s | %s | %.1f | %.1f | %.1f | %.2fx |\n", k_pattern_names[p],
                   k_design_names[d], ns[p][d][0], ns[p][d][1], ns[p][d][2],
                   ns[p][d][2] / ns[p][d][0]);
        }
    }
    printf("\nAt 10,000 blocks, how many times the cost of rtm_pool (no lock) the others pay:\n\n");
    printf("| pattern | bitmap scan / rtm_pool | TLSF / rtm_pool |\n");
    printf("| --- | ---: | ---: |\n");
    for (int p = 0; p < N_PATTERNS; p++) {
        printf("| %s | %.1fx | %.1fx |\n", k_pattern_names[p],
               ns[p][DESIGN_SCAN][2] / ns[p][DESIGN_POOL][2],
               ns[p][DESIGN_TLSF][2] / ns[p][DESIGN_POOL][2]);
    }
    return 0;
}
