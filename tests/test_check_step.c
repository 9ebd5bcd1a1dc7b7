/*
 * rtm_heap_check_step: the incremental integrity check (debug.h).
 *
 * A pass visits every block once, budget blocks per call; damage is found
 * at the block where it is; a pass whose saved place was merged away by a
 * free restarts; and a pass survives another thread allocating and freeing
 * meanwhile, without ever reporting a healthy heap as damaged. Built at
 * every poisoning level like test_poison.
 */
#define _POSIX_C_SOURCE 200809L /* pthreads */

#if defined(RTM_PORT_POSIX)
#include <pthread.h>
#include <time.h>
#include <stdatomic.h>
#endif
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/debug.h"
#include "support/test_support.h"

#define LEVEL RTM_POISON_LEVEL

static unsigned g_reports;
static rtm_corruption_t g_last;

static void on_corruption(const rtm_corruption_t *r, void *ctx)
{
    (void)ctx;
    g_reports++;
    g_last = *r;
}

static int setup(void **state)
{
    (void)state;
    g_reports = 0;
    rtm_debug_set_corruption_hook(on_corruption, NULL);
    return 0;
}

static int teardown(void **state)
{
    rtm_debug_set_corruption_hook(NULL, NULL);
    return ts_teardown_close_all(state);
}

static rtm_strategy_id_t strategy_of(void **state)
{
    return *(const rtm_strategy_id_t *)*state;
}

/* Strategies with a per-block check; the others do a pass in one call. */
static bool stepwise(rtm_strategy_id_t s)
{
    return s == RTM_TLSF || s == RTM_FIRST_FIT;
}

static bool count_block(const rtm_block_info_t *b, void *ctx)
{
    (void)b;
    (*(size_t *)ctx)++;
    return true;
}

static size_t block_count(rtm_heap_t *h)
{
    size_t n = 0;
    assert_true(rtm_heap_walk(h, count_block, &n));
    return n;
}

/* Runs steps until the pass ends; returns the final status and the number
 * of calls through *calls. */
static rtm_check_status_t run_pass(rtm_heap_t *h, size_t budget, size_t *calls,
                                   rtm_check_report_t *r)
{
    rtm_check_status_t st;
    size_t n = 0;
    do {
        st = rtm_heap_check_step(h, budget, r);
        n++;
    } while (st == RTM_CHECK_IN_PROGRESS && n < 100000u);
    if (calls != NULL) {
        *calls = n;
    }
    return st;
}

static void test_quiet_pass(void **state)
{
    rtm_strategy_id_t s = strategy_of(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    void *p[12];
    for (size_t i = 0; i < 12; i++) {
        p[i] = rtm_malloc(th->heap, 16u + 24u * i);
        assert_non_null(p[i]);
    }
    for (size_t i = 0; i < 12; i += 3) {
        rtm_free(th->heap, p[i]);
    }
    size_t blocks = block_count(th->heap);
    size_t calls = 0, passes = 0, restarts = 0;
    rtm_check_report_t r = {NULL, NULL};
    /* One block per call: exactly one call per block. */
    assert_int_equal(run_pass(th->heap, 1, &calls, &r), RTM_CHECK_DONE);
    assert_int_equal(calls, stepwise(s) ? blocks : 1u);
    /* A budget of 5 needs ceil(blocks / 5) calls; 0 counts as 1. */
    assert_int_equal(run_pass(th->heap, 5, &calls, &r), RTM_CHECK_DONE);
    assert_int_equal(calls, stepwise(s) ? (blocks + 4u) / 5u : 1u);
    assert_int_equal(run_pass(th->heap, 0, &calls, &r), RTM_CHECK_DONE);
    assert_int_equal(calls, stepwise(s) ? blocks : 1u);
    assert_true(rtm_heap_check_progress(th->heap, &passes, &restarts));
    assert_int_equal(passes, 3);
    assert_int_equal(restarts, 0);
    assert_int_equal(g_reports, 0);
    for (size_t i = 0; i < 12; i++) {
        if (i % 3 != 0) {
            rtm_free(th->heap, p[i]);
        }
    }
    assert_int_equal(run_pass(th->heap, 3, NULL, &r), RTM_CHECK_DONE);
}

static void test_bad_input(void **state)
{
    (void)state;
    rtm_check_report_t r = {NULL, NULL};
    assert_int_equal(rtm_heap_check_step(NULL, 4, &r), RTM_CHECK_FAILED);
    assert_non_null(r.problem);
    assert_int_equal(rtm_heap_check_step(NULL, 4, NULL), RTM_CHECK_FAILED);
    assert_false(rtm_heap_check_progress(NULL, NULL, NULL));
}

/* A broken tail canary in the middle of the heap: found at its block at
 * levels >= 1, and the next pass starts again from the first block. */
static void test_finds_canary(void **state)
{
    rtm_strategy_id_t s = strategy_of(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    uint8_t *p[8];
    for (size_t i = 0; i < 8; i++) {
        p[i] = rtm_malloc(th->heap, 40);
    }
    uint8_t saved = p[5][40];
    p[5][40] = (uint8_t)~saved;
    rtm_check_report_t r = {NULL, NULL};
    size_t calls = 0;
    rtm_check_status_t st = run_pass(th->heap, 1, &calls, &r);
    if (LEVEL >= 1) {
        assert_int_equal(st, RTM_CHECK_FAILED);
        assert_ptr_equal(r.address, p[5] + 40);
        assert_int_equal(calls, stepwise(s) ? 6u : 1u);
        assert_int_equal(g_reports, 1);
        assert_int_equal(g_last.kind, RTM_CORRUPT_BAD_TAIL);
        assert_int_equal(g_last.op, stepwise(s) ? RTM_OP_CHECK_STEP : RTM_OP_CHECK);
        assert_ptr_equal(g_last.block, p[5]);
    } else {
        assert_int_equal(st, RTM_CHECK_DONE);
        assert_int_equal(g_reports, 0);
    }
    p[5][40] = saved;
    g_reports = 0;
    assert_int_equal(run_pass(th->heap, 2, &calls, &r), RTM_CHECK_DONE);
    assert_int_equal(g_reports, 0);
}

/* A write into a free block: found at its byte at level 2. */
static void test_finds_write_after_free(void **state)
{
    rtm_strategy_id_t s = strategy_of(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    uint8_t *p[6];
    for (size_t i = 0; i < 6; i++) {
        p[i] = rtm_malloc(th->heap, 64);
    }
    rtm_free(th->heap, p[3]);
    uint8_t saved = p[3][20];
    p[3][20] = 0x42;
    rtm_check_report_t r = {NULL, NULL};
    rtm_check_status_t st = run_pass(th->heap, 1, NULL, &r);
    if (LEVEL >= 2) {
        assert_int_equal(st, RTM_CHECK_FAILED);
        assert_ptr_equal(r.address, p[3] + 20);
        assert_int_equal(g_reports, 1);
        assert_int_equal(g_last.kind, RTM_CORRUPT_WRITE_AFTER_FREE);
        assert_int_equal(g_last.expected, 0xFEu);
        assert_int_equal(g_last.found, 0x42u);
    } else {
        assert_int_equal(st, RTM_CHECK_DONE);
        assert_int_equal(g_reports, 0);
    }
    p[3][20] = saved;
    g_reports = 0;
    assert_int_equal(run_pass(th->heap, 1, NULL, &r), RTM_CHECK_DONE);
    for (size_t i = 0; i < 6; i++) {
        if (i != 3) {
            rtm_free(th->heap, p[i]);
        }
    }
    assert_int_equal(g_reports, 0);
}

/* A broken block header: every level. */
static void test_finds_header(void **state)
{
    rtm_strategy_id_t s = strategy_of(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    uint8_t *p[4];
    for (size_t i = 0; i < 4; i++) {
        p[i] = rtm_malloc(th->heap, 40);
    }
    size_t head = LEVEL >= 1 ? 8u : 0u;
    uint8_t *hdr = p[2] - head - 4;
    uint32_t saved;
    memcpy(&saved, hdr, 4);
    uint32_t bad = 0xFFFFFFF0u;
    memcpy(hdr, &bad, 4);
    rtm_check_report_t r = {NULL, NULL};
    assert_int_equal(run_pass(th->heap, 1, NULL, &r), RTM_CHECK_FAILED);
    assert_non_null(r.problem);
    if (stepwise(s)) {
        /* Found at the block before (its successor's header is bad) or at
         * the block itself. */
        const uint8_t *at = r.address;
        assert_true(at == hdr || at == hdr + 4 || at == p[1] - head);
    }
    assert_int_equal(g_reports, LEVEL >= 1 ? 1u : 0u);
    if (LEVEL >= 1) {
        assert_int_equal(g_last.kind, RTM_CORRUPT_FREE_LIST);
        assert_non_null(g_last.detail);
    }
    memcpy(hdr, &saved, 4);
    g_reports = 0;
    assert_int_equal(run_pass(th->heap, 1, NULL, &r), RTM_CHECK_DONE);
}

/* The block at the saved place merges into its free predecessor: the next
 * call restarts the pass, which then completes. */
static void test_restart_on_merge(void **state)
{
    rtm_strategy_id_t s = strategy_of(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    uint8_t *p[10];
    for (size_t i = 0; i < 10; i++) {
        p[i] = rtm_malloc(th->heap, 32);
    }
    rtm_free(th->heap, p[2]);
    rtm_check_report_t r = {NULL, NULL};
    /* Blocks 0, 1, 2 checked: the saved place is p[3]'s header. */
    assert_int_equal(rtm_heap_check_step(th->heap, 3, &r), RTM_CHECK_IN_PROGRESS);
    size_t passes = 0, restarts = 0;
    rtm_free(th->heap, p[3]); /* merges into p[2]'s free block */
    size_t calls = 0;
    assert_int_equal(run_pass(th->heap, 3, &calls, &r), RTM_CHECK_DONE);
    assert_true(rtm_heap_check_progress(th->heap, &passes, &restarts));
    assert_int_equal(passes, 1);
    assert_int_equal(restarts, 1);
    /* Freeing a block elsewhere does not restart. */
    assert_int_equal(rtm_heap_check_step(th->heap, 3, &r), RTM_CHECK_IN_PROGRESS);
    rtm_free(th->heap, p[8]);
    assert_int_equal(run_pass(th->heap, 3, &calls, &r), RTM_CHECK_DONE);
    assert_true(rtm_heap_check_progress(th->heap, &passes, &restarts));
    assert_int_equal(passes, 2);
    assert_int_equal(restarts, 1);
    /* Nor does an allocation that splits the block at the saved place. */
    assert_int_equal(rtm_heap_check_step(th->heap, 2, &r), RTM_CHECK_IN_PROGRESS);
    void *x = rtm_malloc(th->heap, 8);
    assert_non_null(x);
    assert_int_equal(run_pass(th->heap, 2, &calls, &r), RTM_CHECK_DONE);
    assert_true(rtm_heap_check_progress(th->heap, &passes, &restarts));
    assert_int_equal(restarts, 1);
    assert_int_equal(g_reports, 0);
    assert_true(rtm_heap_check(th->heap, &r));
}

/* ------------------------------------------------------------------ */
/* Concurrent allocations                                              */

#if defined(RTM_PORT_POSIX)
#define WORKER_SLOTS 48u
/* Fewer under ThreadSanitizer, whose locks are slow: the point there is
 * the interleaving, not the count. */
#if defined(__SANITIZE_THREAD__)
#define WORKER_OPS 4000u
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define WORKER_OPS 4000u
#endif
#endif
#ifndef WORKER_OPS
#define WORKER_OPS 40000u
#endif

typedef struct worker {
    rtm_heap_t *heap;
    uint64_t seed;
    atomic_int done;
    atomic_int checking; /* set by the checker after its first step */
    unsigned failures;
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    ts_rng_t rng;
    ts_rng_seed(&rng, w->seed);
    /* Start once the checker runs, so the two overlap however the threads
     * are scheduled on a loaded machine. */
    while (!atomic_load(&w->checking)) {
        nanosleep(&(struct timespec){0, 100000}, NULL);
    }
    uint8_t *slot[WORKER_SLOTS] = {NULL};
    size_t size[WORKER_SLOTS] = {0};
    for (unsigned op = 0; op < WORKER_OPS; op++) {
        size_t i = ts_rng_range(&rng, 0, WORKER_SLOTS - 1u);
        if (slot[i] == NULL) {
            size[i] = ts_rng_log_uniform(&rng, 1, 600);
            slot[i] = ts_rng_chance(&rng, 10) ? rtm_aligned_alloc(w->heap, 64, size[i])
                                              : rtm_malloc(w->heap, size[i]);
            if (slot[i] != NULL) {
                memset(slot[i], (int)(i & 0xFFu), size[i]);
            }
        } else if (ts_rng_chance(&rng, 20)) {
            size_t n = ts_rng_log_uniform(&rng, 1, 600);
            uint8_t *q = rtm_realloc(w->heap, slot[i], n);
            if (q != NULL) {
                if (n > size[i]) {
                    memset(q + size[i], (int)(i & 0xFFu), n - size[i]);
                }
                slot[i] = q;
                size[i] = n;
            }
        } else {
            for (size_t k = 0; k < size[i]; k++) {
                if (slot[i][k] != (uint8_t)(i & 0xFFu)) {
                    w->failures++;
                    break;
                }
            }
            rtm_free(w->heap, slot[i]);
            slot[i] = NULL;
        }
    }
    for (size_t i = 0; i < WORKER_SLOTS; i++) {
        rtm_free(w->heap, slot[i]);
    }
    atomic_store(&w->done, 1);
    return NULL;
}

static void test_concurrent(void **state)
{
    rtm_strategy_id_t s = strategy_of(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    worker_t w = {th->heap, 0x5eed0000u + (uint64_t)s, 0, 0, 0};
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, worker_main, &w), 0);
    rtm_check_report_t r = {NULL, NULL};
    size_t steps = 0, failed = 0, done = 0;
    while (!atomic_load(&w.done)) {
        rtm_check_status_t st = rtm_heap_check_step(th->heap, 4, &r);
        steps++;
        atomic_store(&w.checking, 1);
        if (st == RTM_CHECK_FAILED) {
            failed++;
            print_error("check_step failed during concurrent use: %s at %p\n", r.problem, r.address);
        } else if (st == RTM_CHECK_DONE) {
            done++;
        }
        /* A pause after a burst of steps: a checker that always retakes
         * the lock at once can starve the worker for minutes when both
         * share one core or the locks are slow (ThreadSanitizer). */
        if (steps % 16u == 0) {
            nanosleep(&(struct timespec){0, 20000}, NULL);
        }
    }
    assert_int_equal(pthread_join(tid, NULL), 0);
    assert_int_equal(w.failures, 0);
    assert_int_equal(failed, 0);
    assert_int_equal(g_reports, 0);
    assert_true(steps > 0);
    /* And a pass on the now quiet heap ends. */
    assert_int_equal(run_pass(th->heap, 4, NULL, &r), RTM_CHECK_DONE);
    assert_true(rtm_heap_check(th->heap, &r));
    size_t passes = 0, restarts = 0;
    assert_true(rtm_heap_check_progress(th->heap, &passes, &restarts));
    assert_int_equal(passes, done + 1u);
    print_message("      %s: %zu steps, %zu passes, %zu restarts during %u worker ops\n",
                  ts_strategy_label(s), steps, done, restarts, WORKER_OPS);
    ts_assert_heap_sane(th, NULL);
}
#endif

/* ------------------------------------------------------------------ */

static const rtm_strategy_id_t k_tlsf = RTM_TLSF;
static const rtm_strategy_id_t k_ff = RTM_FIRST_FIT;
static const rtm_strategy_id_t k_bf = RTM_BEST_FIT;

#define ONE(name, fn, s) \
    {name, fn, setup, teardown, (void *)(uintptr_t)&(s)}
#define ALL(label, fn) \
    ONE("tlsf/" label, fn, k_tlsf), ONE("first_fit/" label, fn, k_ff), ONE("best_fit/" label, fn, k_bf)

int main(void)
{
    const struct CMUnitTest tests[] = {
        ONE("bad_input", test_bad_input, k_tlsf),
        ALL("quiet_pass", test_quiet_pass),
        ALL("finds_canary", test_finds_canary),
        ALL("finds_header", test_finds_header),
        ALL("finds_write_after_free", test_finds_write_after_free),
        ONE("tlsf/restart_on_merge", test_restart_on_merge, k_tlsf),
        ONE("first_fit/restart_on_merge", test_restart_on_merge, k_ff),
#if defined(RTM_PORT_POSIX)
        ALL("concurrent", test_concurrent),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
