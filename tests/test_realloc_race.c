/*
 * rtm_realloc that moves a block allocates the new one, copies and frees
 * the old one. heap.h promises that this happens under one hold of the
 * heap's lock, so that a free of the same pointer on another thread (a race
 * in the application) lands wholly before or after the realloc and is
 * reported as the double free it is. Before, the lock was given back for
 * the allocation and the copy: such a free in that window made the
 * realloc free the block a second time (corrupt free lists), and for
 * RTM_SYSTEM the copy read memory the C library had freed.
 *
 * The race is reached deterministically: this program is the POSIX port
 * with rtm_port_unlock replaced (the port's source is compiled here with it
 * renamed, so the library's own port object is not linked). Armed, the
 * replacement runs the "other thread's" free right after the realloc's
 * first unlock, which with one hold is the realloc's last.
 */
#define rtm_port_unlock rtm_posix_port_unlock
#include "../src/port/posix.c"
#undef rtm_port_unlock

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/debug.h"
#include "rtmem/heap.h"
#include "support/test_support.h"

void rtm_port_unlock(rtm_port_lock_t *lock);

/* Armed: the next unlock frees g_other_ptr on g_other_heap, once. */
static rtm_heap_t *g_other_heap;
static void *g_other_ptr;
static unsigned g_other_frees;

void rtm_port_unlock(rtm_port_lock_t *lock)
{
    rtm_posix_port_unlock(lock);
    if (g_other_heap != NULL) {
        rtm_heap_t *h = g_other_heap;
        g_other_heap = NULL;
        rtm_free(h, g_other_ptr);
        g_other_frees++;
    }
}

/* Corruption reports (levels 1-2 report a refused pointer there too). */
static unsigned g_reports;
static rtm_corruption_t g_last_report;

static void on_corruption(const rtm_corruption_t *r, void *ctx)
{
    (void)ctx;
    g_reports++;
    g_last_report = *r;
}

static void arm_other_free(rtm_heap_t *h, void *ptr)
{
    g_other_ptr = ptr;
    g_other_frees = 0;
    g_other_heap = h;
}

/* A block that cannot grow in place (a live block right after it), freed
 * by "another thread" at the realloc's first unlock: the realloc returns a
 * block of the new size with the data, that free is reported as one
 * double free at the old pointer, and the heap stays whole. */
static void realloc_meets_concurrent_free(rtm_strategy_id_t s)
{
    ts_heap_t *th = ts_heap_open(s, 0);
    rtm_heap_t *h = th->heap;
    rtm_heap_info_t before;
    ts_assert_heap_sane(th, &before);

    void *p = rtm_malloc(h, 48);
    void *fence = rtm_malloc(h, 48);
    assert_non_null(p);
    assert_non_null(fence);
    memset(p, 0x3c, 48);
    ts_expect_no_hooks(th);
    g_reports = 0;

    arm_other_free(h, p);
    uint8_t *q = rtm_realloc(h, p, 4000);
    assert_int_equal(g_other_frees, 1);
    assert_non_null(q);
    assert_ptr_not_equal(q, p);
    assert_true(rtm_usable_size(h, q) >= 4000);
    for (size_t i = 0; i < 48; i++) {
        assert_int_equal(q[i], 0x3c);
    }
    /* RTM_SYSTEM only knows its live-block table: to it p is now a
     * pointer it never gave out. */
    ts_expect_misuse(th, s == RTM_SYSTEM ? RTM_MISUSE_FOREIGN_POINTER : RTM_MISUSE_DOUBLE_FREE, p);
    if (RTM_POISON_LEVEL >= 1) {
        /* The same verdict as a corruption report that names the call. */
        assert_int_equal(g_reports, 1);
        assert_int_equal(g_last_report.kind,
                         s == RTM_SYSTEM ? RTM_CORRUPT_FOREIGN_FREE : RTM_CORRUPT_DOUBLE_FREE);
        /* The free came after the realloc: it is the call reported. */
        assert_int_equal(g_last_report.op, RTM_OP_FREE);
        assert_ptr_equal(g_last_report.address, p);
    } else {
        assert_int_equal(g_reports, 0);
    }
    ts_assert_heap_sane(th, NULL);

    rtm_free(h, q);
    rtm_free(h, fence);
    ts_expect_no_hooks(th);
    rtm_heap_info_t after;
    ts_assert_heap_sane(th, &after);
    assert_int_equal(after.allocated_bytes, 0);
    if (ts_coalesces(s)) {
        assert_int_equal(after.free_bytes, before.free_bytes);
    }
    ts_heap_close(th);
}

/* The same move with nothing racing it: the data moved, no report. */
static void realloc_move_quiet(rtm_strategy_id_t s)
{
    ts_heap_t *th = ts_heap_open(s, 0);
    rtm_heap_t *h = th->heap;
    uint8_t *p = rtm_malloc(h, 48);
    void *fence = rtm_malloc(h, 48);
    assert_non_null(p);
    assert_non_null(fence);
    for (size_t i = 0; i < 48; i++) {
        p[i] = (uint8_t)(i * 7u + 1u);
    }
    uint8_t *q = rtm_realloc(h, p, 4000);
    assert_non_null(q);
    for (size_t i = 0; i < 48; i++) {
        assert_int_equal(q[i], (uint8_t)(i * 7u + 1u));
    }
    ts_expect_no_hooks(th);
    ts_assert_heap_sane(th, NULL);
    rtm_free(h, q);
    rtm_free(h, fence);
    ts_heap_close(th);
}

static void for_each_freeing_strategy(void (*fn)(rtm_strategy_id_t))
{
    for (int s = 0; s < (int)RTM_STRATEGY_COUNT; s++) {
        if (ts_strategy_available((rtm_strategy_id_t)s) && ts_frees((rtm_strategy_id_t)s)) {
            fn((rtm_strategy_id_t)s);
        }
    }
}

static void test_free_racing_realloc(void **state)
{
    (void)state;
    rtm_debug_set_corruption_hook(on_corruption, NULL);
    for_each_freeing_strategy(realloc_meets_concurrent_free);
    rtm_debug_set_corruption_hook(NULL, NULL);
}

static void test_move_alone(void **state)
{
    (void)state;
    for_each_freeing_strategy(realloc_move_quiet);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_free_racing_realloc, ts_teardown_close_all),
        cmocka_unit_test_teardown(test_move_alone, ts_teardown_close_all),
    };
    return cmocka_run_group_tests_name("realloc_race", tests, NULL, NULL);
}
