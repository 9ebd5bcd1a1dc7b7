/*
 * The monitor's stack figures from a port that reports only min_free, as
 * the FreeRTOS port does (size and peak_used 0: the kernel does not say how
 * big a task's stack is), with the size the application declared to
 * rtm_monitor_watch_task. docs/stacks.md promises percentages and advice
 * there too, including for a stack used to its last byte (min_free 0).
 *
 * The host has no FreeRTOS kernel, so this program is the POSIX port with
 * rtm_stack_usage replaced: the port's source is compiled here with its
 * rtm_stack_usage renamed, and the stand-in below reports what the test
 * sets, the way the FreeRTOS port does. Every other port function is the
 * POSIX one, so the library's own port object is not linked.
 */
#define rtm_stack_usage rtm_posix_stack_usage
#include "../src/port/posix.c"
#undef rtm_stack_usage

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/monitor.h"

#define KERNEL_TASK ((uintptr_t)0x1000)

/* What the stand-in kernel reports for KERNEL_TASK: the fewest bytes ever
 * free, nothing else. */
static size_t g_kernel_min_free;

bool rtm_stack_usage(uintptr_t task, rtm_stack_usage_t *out);

bool rtm_stack_usage(uintptr_t task, rtm_stack_usage_t *out)
{
    if (out == NULL || task != KERNEL_TASK) {
        return false;
    }
    out->size = 0;
    out->peak_used = 0;
    out->min_free = g_kernel_min_free;
    return true;
}

typedef struct alert_log {
    unsigned raised_stack_high;
} alert_log_t;

static void on_alert(const rtm_alert_t *alert, void *ctx)
{
    alert_log_t *log = ctx;
    if (alert->kind == RTM_ALERT_STACK_HIGH && alert->raised) {
        log->raised_stack_high++;
    }
}

static uint32_t g_now;

static uint32_t fake_clock(void)
{
    return g_now;
}

/* Watches KERNEL_TASK with a declared size, samples once with the kernel
 * reporting min_free, and returns the task's status. */
static rtm_monitor_task_status_t sample_with(size_t declared, size_t min_free, alert_log_t *log)
{
    rtm_monitor_config_t cfg = RTM_MONITOR_CONFIG_DEFAULT;
    cfg.period_ms = 0;
    cfg.telemetry = false;
    cfg.max_stack_percent = 90;
    cfg.on_alert = on_alert;
    cfg.alert_ctx = log;
    cfg.clock_ms = fake_clock;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_monitor_task_t w;
    assert_true(rtm_monitor_watch_task(&mon, &w, KERNEL_TASK, "kernel_task", declared));
    g_kernel_min_free = min_free;
    g_now += 10;
    rtm_monitor_sample(&mon);
    rtm_monitor_task_status_t st;
    assert_true(rtm_monitor_task_status(&mon, &w, &st));
    rtm_monitor_deinit(&mon);
    return st;
}

static void test_declared_size_and_min_free_give_the_peak(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_task_status_t st = sample_with(4096, 1024, &log);
    assert_true(st.stack_known);
    assert_int_equal(st.stack_size, 4096);
    assert_int_equal(st.stack_peak, 3072);
    assert_int_equal(log.raised_stack_high, 0);
}

/* min_free 0 is the kernel saying that every byte of the stack has been
 * used, most likely an overflow: the worst figure there is, which must be
 * reported as a full stack and alerted, not dropped as unknown. */
static void test_stack_used_to_the_last_byte_is_full(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_task_status_t st = sample_with(4096, 0, &log);
    assert_true(st.stack_known);
    assert_int_equal(st.stack_size, 4096);
    assert_int_equal(st.stack_peak, 4096);
    assert_int_equal(log.raised_stack_high, 1);
}

/* Without a declared size the kernel's figure alone gives no percentage. */
static void test_no_declared_size_stays_unknown(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_task_status_t st = sample_with(0, 0, &log);
    assert_false(st.stack_known);
    st = sample_with(0, 1024, &log);
    assert_false(st.stack_known);
    assert_int_equal(log.raised_stack_high, 0);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_declared_size_and_min_free_give_the_peak),
        cmocka_unit_test(test_stack_used_to_the_last_byte_is_full),
        cmocka_unit_test(test_no_declared_size_stays_unknown),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
