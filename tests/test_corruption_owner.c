/*
 * A corruption report names who allocated the damaged block: the tracer
 * registered as the debug layer's owner lookup supplies the task and the
 * call site (RTM_MALLOC file and line, and the return address). Built at
 * every poisoning level; at level 0 there are no canaries to find the
 * overflow, and the test checks that nothing is reported.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/debug.h"
#include "rtmem/heap.h"
#include "rtmem/port.h"
#include "rtmem/trace.h"

RTM_HEAP_STORAGE(g_region, 32 * 1024);
RTM_TRACE_DEFINE(g_trace_mem, 64);

typedef struct seen {
    int reports;
    rtm_corruption_t last;
} seen_t;

static void remember(const rtm_corruption_t *report, void *ctx)
{
    seen_t *s = ctx;
    s->reports++;
    s->last = *report;
}

static void test_overflow_report_names_owner(void **state)
{
    (void)state;
    rtm_heap_t *h = rtm_heap_init(g_region, sizeof g_region, NULL);
    assert_non_null(h);
    rtm_trace_t *t = rtm_trace_init(g_trace_mem, sizeof g_trace_mem);
    assert_non_null(t);
    rtm_trace_attach(t, h);
    rtm_trace_start(t, RTM_TRACE_LEAKS);
    seen_t seen = {0};
    rtm_debug_set_corruption_hook(remember, &seen);
    rtm_debug_set_owner_lookup(rtm_trace_owner_lookup, t);

    uint32_t line = __LINE__ + 1;
    uint8_t *p = RTM_MALLOC(h, 24);
    assert_non_null(p);
    p[24] = 0x55; /* one byte past the end */
    rtm_free(h, p);

    if (RTM_POISON_LEVEL >= 1) {
        assert_int_equal(seen.reports, 1);
        assert_int_equal(seen.last.kind, RTM_CORRUPT_BAD_TAIL);
        assert_ptr_equal(seen.last.block, p);
        assert_ptr_equal(seen.last.address, p + 24);
        assert_true(seen.last.owner_known);
        assert_int_equal(seen.last.task, rtm_port_task_id());
        assert_non_null(seen.last.site.file);
        assert_non_null(strstr(seen.last.site.file, "test_corruption_owner.c"));
        assert_int_equal(seen.last.site.line, line);
        assert_non_null(seen.last.site.caller);
    } else {
        assert_int_equal(seen.reports, 0);
    }
    rtm_debug_set_owner_lookup(NULL, NULL);
    rtm_debug_set_corruption_hook(NULL, NULL);
    rtm_trace_stop(t);
    rtm_heap_set_observer(h, NULL, NULL);
    rtm_trace_deinit(t);
    rtm_heap_deinit(h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_overflow_report_names_owner),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
