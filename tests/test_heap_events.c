/*
 * The heap observer: every successful allocation, free and reallocation is
 * reported once, in order, with the right pointers, sizes and call site;
 * failures and misuse are not reported as events.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/heap.h"

#define MAX_EVENTS 16

typedef struct event_log {
    rtm_heap_event_t ev[MAX_EVENTS];
    rtm_alloc_site_t site[MAX_EVENTS];
    int count;
} event_log_t;

RTM_HEAP_STORAGE(g_region, 16 * 1024);

static void record(const rtm_heap_event_t *ev, void *ctx)
{
    event_log_t *log = ctx;
    if (log->count < MAX_EVENTS) {
        log->ev[log->count] = *ev;
        if (ev->site != NULL) {
            log->site[log->count] = *ev->site;
        }
        log->count++;
    }
}

static void quiet_misuse(rtm_heap_t *h, rtm_misuse_t kind, const void *addr, void *ctx)
{
    (void)h;
    (void)kind;
    (void)addr;
    (void)ctx;
}

static rtm_heap_t *make_heap(rtm_strategy_id_t strategy, event_log_t *log)
{
    memset(log, 0, sizeof *log);
    rtm_heap_config_t cfg = {.strategy = rtm_strategy_by_id(strategy), .on_misuse = quiet_misuse};
    rtm_heap_t *h = rtm_heap_init(g_region, sizeof g_region, &cfg);
    assert_non_null(h);
    rtm_heap_set_observer(h, record, log);
    return h;
}

static void test_events_in_order(void **state)
{
    (void)state;
    event_log_t log;
    rtm_heap_t *h = make_heap(RTM_TLSF, &log);
    void *a = rtm_malloc(h, 40);
    void *b = rtm_aligned_alloc(h, 64, 100);
    void *c = rtm_calloc(h, 3, 10);
    void *a2 = rtm_realloc(h, a, 20);      /* shrink: in place */
    void *big = rtm_realloc(h, b, 3000);   /* moves past c */
    rtm_free(h, c);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    assert_ptr_equal(a2, a);
    assert_non_null(big);
    assert_int_equal(log.count, 6);

    assert_int_equal(log.ev[0].kind, RTM_EVENT_ALLOC);
    assert_ptr_equal(log.ev[0].ptr, a);
    assert_int_equal(log.ev[0].size, 40);
    assert_ptr_equal(log.ev[0].heap, h);

    assert_int_equal(log.ev[1].kind, RTM_EVENT_ALLOC);
    assert_ptr_equal(log.ev[1].ptr, b);
    assert_int_equal(log.ev[1].alignment, 64);

    assert_int_equal(log.ev[2].kind, RTM_EVENT_ALLOC);
    assert_int_equal(log.ev[2].size, 30);

    assert_int_equal(log.ev[3].kind, RTM_EVENT_REALLOC);
    assert_ptr_equal(log.ev[3].old_ptr, a);
    assert_ptr_equal(log.ev[3].ptr, a);
    assert_int_equal(log.ev[3].size, 20);

    assert_int_equal(log.ev[4].kind, RTM_EVENT_REALLOC);
    assert_ptr_equal(log.ev[4].old_ptr, b);
    assert_ptr_equal(log.ev[4].ptr, big);

    assert_int_equal(log.ev[5].kind, RTM_EVENT_FREE);
    assert_ptr_equal(log.ev[5].ptr, c);
    assert_non_null(log.ev[5].site);
    assert_non_null(log.site[5].caller); /* the rtm_free call */
    assert_null(log.site[5].file);
    assert_true(log.ev[5].size >= 30);
    assert_true(rtm_heap_check(h, NULL));
}

static void test_failures_and_misuse_are_not_events(void **state)
{
    (void)state;
    event_log_t log;
    rtm_heap_t *h = make_heap(RTM_FIRST_FIT, &log);
    void *p = rtm_malloc(h, 32);
    assert_null(rtm_malloc(h, 1u << 20));         /* too large */
    assert_null(rtm_aligned_alloc(h, 24, 8));     /* bad alignment */
    assert_null(rtm_malloc(h, 0));
    rtm_free(h, (uint8_t *)p + 8);                /* interior: refused */
    rtm_free(h, p);
    rtm_free(h, p);                               /* double: refused */
    assert_int_equal(log.count, 2);
    assert_int_equal(log.ev[0].kind, RTM_EVENT_ALLOC);
    assert_int_equal(log.ev[1].kind, RTM_EVENT_FREE);
}

static void test_call_sites(void **state)
{
    (void)state;
    event_log_t log;
    rtm_heap_t *h = make_heap(RTM_TLSF, &log);
    int line = __LINE__ + 1;
    void *m = RTM_MALLOC(h, 16);
    void *p = rtm_malloc(h, 16);
    void *q = rtm_malloc(h, 16);
    assert_non_null(m);
    assert_non_null(p);
    assert_non_null(q);
    assert_int_equal(log.count, 3);
    assert_string_equal(log.site[0].file, __FILE__);
    assert_int_equal(log.site[0].line, line);
    assert_non_null(log.site[0].caller);
    /* Plain calls carry no file but the return address of each call site:
     * two different call sites give two different addresses. */
    assert_null(log.site[1].file);
    assert_non_null(log.site[1].caller);
    assert_non_null(log.site[2].caller);
    assert_ptr_not_equal(log.site[1].caller, log.site[2].caller);

    rtm_alloc_site_t given = {"net.c", 42, (const void *)0x1234};
    void *r = rtm_heap_alloc_ex(h, 8, 0, &given);
    assert_non_null(r);
    assert_ptr_equal(log.site[3].caller, given.caller);
    assert_int_equal(log.site[3].line, 42);

    /* rtm_malloc_ex passes the site on the same way; NULL means this
     * call's own return address. */
    rtm_alloc_site_t other = {"ui.c", 7, (const void *)0x5678};
    assert_non_null(rtm_malloc_ex(h, 24, &other));
    assert_ptr_equal(log.site[4].caller, other.caller);
    assert_string_equal(log.site[4].file, "ui.c");
    assert_int_equal(log.site[4].line, 7);
    assert_non_null(rtm_malloc_ex(h, 24, NULL));
    assert_null(log.site[5].file);
    assert_non_null(log.site[5].caller);
    assert_null(rtm_malloc_ex(h, 0, &other));
}

static void test_observer_removed(void **state)
{
    (void)state;
    event_log_t log;
    rtm_heap_t *h = make_heap(RTM_BEST_FIT, &log);
    rtm_free(h, rtm_malloc(h, 10));
    rtm_heap_set_observer(h, NULL, NULL);
    rtm_free(h, rtm_malloc(h, 10));
    assert_int_equal(log.count, 2);
}

static void test_bump_realloc_event(void **state)
{
    (void)state;
    event_log_t log;
    rtm_heap_t *h = make_heap(RTM_BUMP, &log);
    void *a = rtm_malloc(h, 10);
    void *b = rtm_malloc(h, 10);
    void *a2 = rtm_realloc(h, a, 500); /* a is not on top: moves, a stays used */
    assert_non_null(b);
    assert_non_null(a2);
    assert_int_equal(log.count, 3);
    assert_int_equal(log.ev[2].kind, RTM_EVENT_REALLOC);
    assert_ptr_equal(log.ev[2].old_ptr, a);
    assert_ptr_equal(log.ev[2].ptr, a2);
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(h, &info));
    assert_int_equal(info.used_blocks, 3);
    assert_true(rtm_heap_check(h, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_events_in_order),
        cmocka_unit_test(test_failures_and_misuse_are_not_events),
        cmocka_unit_test(test_call_sites),
        cmocka_unit_test(test_observer_removed),
        cmocka_unit_test(test_bump_realloc_event),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
