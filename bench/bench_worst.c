/*
 * Adversarial single operations on a TLSF heap, for instruction counts
 * under callgrind (bench/callgrind.sh).
 *
 *   bench_worst SCENARIO [K]
 *
 * Each scenario builds a heap state (not measured), then runs exactly one
 * rtmem call between two CALLGRIND_TOGGLE_COLLECT requests, so that
 * `valgrind --tool=callgrind --collect-atstart=no` counts the instructions
 * of that call alone (hooks included, the heap's lock not: heaps use
 * RTM_HEAP_NO_LOCK, the lock is the port's). `empty` measures the toggle
 * pair itself. Scenarios: see the table in main().
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <valgrind/callgrind.h>

#include "rtmem/heap.h"

#define ARENA (256u * 1024u)

RTM_HEAP_STORAGE(g_mem, ARENA);
static rtm_heap_t *g_heap;
static void *g_keep[4096];
static size_t g_kept;
static unsigned g_misuses;

static void quiet_misuse(rtm_heap_t *h, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)h;
    (void)kind;
    (void)address;
    (void)ctx;
    g_misuses++;
}

static void fresh_heap(void)
{
    rtm_heap_config_t cfg = {.strategy = &rtm_strategy_tlsf, .flags = RTM_HEAP_NO_LOCK,
                             .on_misuse = quiet_misuse};
    g_heap = rtm_heap_init(g_mem, sizeof g_mem, &cfg);
    g_kept = 0;
    if (g_heap == NULL) {
        fprintf(stderr, "bench_worst: heap init failed\n");
        exit(2);
    }
}

static void *must_alloc(size_t size)
{
    void *p = rtm_malloc(g_heap, size);
    if (p == NULL) {
        fprintf(stderr, "bench_worst: setup allocation of %zu failed\n", size);
        exit(2);
    }
    return p;
}

/* A used block that keeps its neighbours apart. */
static void fence(void)
{
    g_keep[g_kept++] = must_alloc(8);
}

/* Fills the rest of the heap so that no free block is left. */
static void fill_heap(void)
{
    for (size_t s = 65536; s >= 8; s /= 2) {
        void *p;
        while ((p = rtm_malloc(g_heap, s)) != NULL) {
            if (g_kept < sizeof g_keep / sizeof g_keep[0]) {
                g_keep[g_kept++] = p;
            }
        }
    }
}

static volatile void *g_sink;

int main(int argc, char **argv)
{
    if (argc < 2) {
        fprintf(stderr, "usage: bench_worst SCENARIO [K]\n");
        return 2;
    }
    const char *s = argv[1];
    size_t k = argc > 2 ? (size_t)strtoul(argv[2], NULL, 10) : 16u;
    if (k > 1000) {
        k = 1000;
    }
    fresh_heap();
    void *target = NULL;

    if (strcmp(s, "empty") == 0) {
        CALLGRIND_TOGGLE_COLLECT;
        CALLGRIND_TOGGLE_COLLECT;
    } else if (strcmp(s, "malloc_exact") == 0) {
        /* The common case: the head of the request's own class fits, no split. */
        void *a = must_alloc(100);
        fence();
        rtm_free(g_heap, a);
        CALLGRIND_TOGGLE_COLLECT;
        g_sink = rtm_malloc(g_heap, 100);
        CALLGRIND_TOGGLE_COLLECT;
    } else if (strcmp(s, "malloc_top_split") == 0) {
        /* Only free memory: the one big block, in the top class: a search
         * across both bitmaps, a split and the tail's insertion. */
        CALLGRIND_TOGGLE_COLLECT;
        g_sink = rtm_malloc(g_heap, 8);
        CALLGRIND_TOGGLE_COLLECT;
    } else if (strcmp(s, "malloc_own_scan") == 0) {
        /* The request's own class holds K blocks just too small (span 256
         * for a need of 264): malloc looks at up to 1 + 16 of them, then
         * takes and splits a block of a larger class. */
        for (size_t i = 0; i < k; i++) {
            g_keep[g_kept++] = must_alloc(252);
            fence();
        }
        for (size_t i = 0; i < k; i++) {
            rtm_free(g_heap, g_keep[2 * i]);
        }
        CALLGRIND_TOGGLE_COLLECT;
        g_sink = rtm_malloc(g_heap, 260);
        CALLGRIND_TOGGLE_COLLECT;
    } else if (strcmp(s, "malloc_exhausted_scan") == 0) {
        /* The exception documented in heap.h: no class above holds a
         * block, and the only fitting block is the last of K in the
         * request's own class. Cost grows with K. */
        void *big = must_alloc(260);
        fence();
        for (size_t i = 0; i < k; i++) {
            g_keep[g_kept++] = must_alloc(252);
            fence();
        }
        fill_heap();
        rtm_free(g_heap, big);
        for (size_t i = 0; i < k; i++) {
            rtm_free(g_heap, g_keep[1 + 2 * i]);
        }
        CALLGRIND_TOGGLE_COLLECT;
        g_sink = rtm_malloc(g_heap, 260);
        CALLGRIND_TOGGLE_COLLECT;
    } else if (strcmp(s, "malloc_fail") == 0) {
        /* Nothing fits anywhere: the failure path, hook and counters. */
        fill_heap();
        CALLGRIND_TOGGLE_COLLECT;
        g_sink = rtm_malloc(g_heap, 4000);
        CALLGRIND_TOGGLE_COLLECT;
    } else if (strcmp(s, "free_plain") == 0) {
        /* Used neighbours on both sides: no merge. */
        fence();
        target = must_alloc(100);
        fence();
        CALLGRIND_TOGGLE_COLLECT;
        rtm_free(g_heap, target);
        CALLGRIND_TOGGLE_COLLECT;
    } else if (strcmp(s, "free_merge_both") == 0) {
        /* Free blocks of different classes on both sides: two unlinks, the
         * merge, one insertion. */
        fence();
        void *before = must_alloc(40);
        target = must_alloc(100);
        void *after = must_alloc(300);
        fence();
        rtm_free(g_heap, before);
        rtm_free(g_heap, after);
        CALLGRIND_TOGGLE_COLLECT;
        rtm_free(g_heap, target);
        CALLGRIND_TOGGLE_COLLECT;
    } else if (strcmp(s, "aligned_split") == 0) {
        /* An aligned allocation from a block whose payload is misaligned:
         * a gap block before, the taken block, a tail after. */
        fence();
        CALLGRIND_TOGGLE_COLLECT;
        g_sink = rtm_aligned_alloc(g_heap, 256, 100);
        CALLGRIND_TOGGLE_COLLECT;
    } else if (strcmp(s, "free_interior") == 0) {
        /* A pointer into a live block: refused, misuse hook called. */
        target = must_alloc(100);
        fence();
        CALLGRIND_TOGGLE_COLLECT;
        rtm_free(g_heap, (uint8_t *)target + 8);
        CALLGRIND_TOGGLE_COLLECT;
    } else if (strcmp(s, "free_double") == 0) {
        /* A second free of a block that merged into its predecessor. */
        void *before = must_alloc(40);
        target = must_alloc(100);
        fence();
        rtm_free(g_heap, before);
        rtm_free(g_heap, target);
        CALLGRIND_TOGGLE_COLLECT;
        rtm_free(g_heap, target);
        CALLGRIND_TOGGLE_COLLECT;
    } else if (strcmp(s, "realloc_grow_in_place") == 0) {
        /* Grows into the free block after it, splitting the rest off. */
        target = must_alloc(100);
        CALLGRIND_TOGGLE_COLLECT;
        g_sink = rtm_realloc(g_heap, target, 400);
        CALLGRIND_TOGGLE_COLLECT;
    } else {
        fprintf(stderr, "bench_worst: unknown scenario %s\n", s);
        return 2;
    }
    if (!rtm_heap_check(g_heap, NULL)) {
        fprintf(stderr, "bench_worst: heap check failed after %s\n", s);
        return 1;
    }
    printf("%s k=%zu misuses=%u\n", s, k, g_misuses);
    return 0;
}
