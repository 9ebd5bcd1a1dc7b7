/*
 * rtmem's FreeRTOS port (src/port/freertos.c) on the host, against the
 * stand-in kernel headers of tests/freertos_stub/ and the kernel functions
 * below, which record how the port calls them. Built twice (tests/
 * CMakeLists.txt): RTM_TEST_STACK_HWM 1 and 0, i.e. with and without
 * INCLUDE_uxTaskGetStackHighWaterMark.
 *
 * What stack.h and docs/stacks.md promise for rtm_stack_usage there: the
 * kernel's high-water mark in words times sizeof(StackType_t) as min_free,
 * size and peak_used 0, for the very handle given; false without calling
 * the kernel for a NULL out, for id 0 (a NULL handle would make the kernel
 * measure the calling task) and for the id code running before the
 * scheduler gets; always false, *out untouched, without
 * INCLUDE_uxTaskGetStackHighWaterMark. Around it, the parts of port.h
 * those ids and the monitor's sleep rest on: rtm_port_task_id before and
 * after the scheduler starts, rtm_port_sleep_ms rounding up to whole ticks,
 * and the lock as one scheduler suspension.
 *
 * The real kernel was checked once by hand (docs/stacks.md); this test
 * keeps the port's own logic honest on every run.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "FreeRTOS.h"
#include "task.h"
#include "rtmem/port.h"
#include "rtmem/stack.h"

#if !defined(RTM_TEST_STACK_HWM)
#error "build with RTM_TEST_STACK_HWM 1 or 0 (tests/CMakeLists.txt)"
#endif

/* ------------------------------------------------------------------ */
/* The stand-in kernel                                                 */

/* Two tasks' control blocks: handles are their addresses, as in the kernel. */
struct tskTaskControlBlock {
    int unused;
};
static struct tskTaskControlBlock g_tcb[2];

static struct kernel {
    BaseType_t scheduler;      /* xTaskGetSchedulerState */
    TaskHandle_t current;      /* xTaskGetCurrentTaskHandle */
    UBaseType_t hwm_words;     /* what uxTaskGetStackHighWaterMark answers */
    unsigned hwm_calls;
    TaskHandle_t hwm_task;     /* the handle it was last asked about */
    int depth;                 /* vTaskSuspendAll nesting */
    unsigned suspends;
    unsigned unbalanced;       /* xTaskResumeAll without a suspension */
    unsigned delays;
    TickType_t delay_ticks;    /* the last vTaskDelay */
    TickType_t ticks;          /* xTaskGetTickCount */
} k;

void vTaskSuspendAll(void)
{
    k.suspends++;
    k.depth++;
}

BaseType_t xTaskResumeAll(void)
{
    if (k.depth <= 0) {
        k.unbalanced++;
    } else {
        k.depth--;
    }
    return pdFALSE;
}

BaseType_t xTaskGetSchedulerState(void)
{
    return k.scheduler;
}

TaskHandle_t xTaskGetCurrentTaskHandle(void)
{
    return k.current;
}

TickType_t xTaskGetTickCount(void)
{
    return k.ticks;
}

UBaseType_t uxTaskGetStackHighWaterMark(TaskHandle_t xTask)
{
    k.hwm_calls++;
    k.hwm_task = xTask;
    return k.hwm_words;
}

void vTaskDelay(const TickType_t xTicksToDelay)
{
    k.delays++;
    k.delay_ticks = xTicksToDelay;
}

/* Not used by what this test calls (pool waits); linked by the port. */
BaseType_t xTaskNotifyStateClearIndexed(TaskHandle_t xTask, UBaseType_t uxIndexToClear)
{
    (void)xTask;
    (void)uxIndexToClear;
    return pdFALSE;
}

uint32_t ulTaskNotifyValueClearIndexed(TaskHandle_t xTask, UBaseType_t uxIndexToClear,
                                       uint32_t ulBitsToClear)
{
    (void)xTask;
    (void)uxIndexToClear;
    (void)ulBitsToClear;
    return 0;
}

uint32_t ulTaskNotifyTakeIndexed(UBaseType_t uxIndexToWaitOn, BaseType_t xClearCountOnExit,
                                 TickType_t xTicksToWait)
{
    (void)uxIndexToWaitOn;
    (void)xClearCountOnExit;
    (void)xTicksToWait;
    return 0;
}

BaseType_t xTaskNotifyGiveIndexed(TaskHandle_t xTaskToNotify, UBaseType_t uxIndexToNotify)
{
    (void)xTaskToNotify;
    (void)uxIndexToNotify;
    return pdTRUE;
}

void vTaskSetTimeOutState(TimeOut_t *const pxTimeOut)
{
    pxTimeOut->xOverflowCount = 0;
    pxTimeOut->xTimeOnEntering = k.ticks;
}

BaseType_t xTaskCheckForTimeOut(TimeOut_t *const pxTimeOut, TickType_t *const pxTicksToWait)
{
    (void)pxTimeOut;
    *pxTicksToWait = 0;
    return pdTRUE;
}

static int setup(void **state)
{
    (void)state;
    memset(&k, 0, sizeof k);
    k.scheduler = taskSCHEDULER_RUNNING;
    k.current = &g_tcb[0];
    return 0;
}

/* ------------------------------------------------------------------ */
/* rtm_stack_usage                                                     */

/* A marker no field of a real answer has. */
static const rtm_stack_usage_t k_untouched = {12345u, 23456u, 34567u};

#if RTM_TEST_STACK_HWM

/* The kernel's words in bytes, for the handle asked about; size and peak
 * unknown. 8182 words is the 32728 bytes docs/stacks.md saw on the real
 * kernel for a 32 KiB stack. */
static void test_stack_usage_from_the_kernel(void **state)
{
    (void)state;
    rtm_stack_usage_t u = k_untouched;
    k.hwm_words = 8182;
    assert_true(rtm_stack_usage((uintptr_t)&g_tcb[1], &u));
    assert_int_equal(k.hwm_calls, 1);
    assert_ptr_equal(k.hwm_task, &g_tcb[1]);
    assert_int_equal(u.min_free, 8182u * sizeof(StackType_t));
    assert_int_equal(u.min_free, 32728);
    assert_int_equal(u.size, 0);
    assert_int_equal(u.peak_used, 0);

    /* The calling task, by its id. */
    u = k_untouched;
    k.hwm_words = 100;
    assert_true(rtm_stack_usage(rtm_port_task_id(), &u));
    assert_ptr_equal(k.hwm_task, &g_tcb[0]);
    assert_int_equal(u.min_free, 400);

    /* 0 words: every byte used, reported as min_free 0 (stack.h: an
     * overflow most likely), not as "unknown". */
    k.hwm_words = 0;
    assert_true(rtm_stack_usage((uintptr_t)&g_tcb[1], &u));
    assert_int_equal(u.min_free, 0);
    assert_int_equal(u.size, 0);
    assert_int_equal(k.hwm_calls, 3);
}

/* Refused without asking the kernel: a NULL out, id 0 (to the kernel a
 * NULL handle is the calling task, which would answer for the wrong one),
 * and the id rtm_port_task_id gives before the scheduler starts. */
static void test_stack_usage_refused(void **state)
{
    (void)state;
    k.hwm_words = 50;
    rtm_stack_usage_t u = k_untouched;
    assert_false(rtm_stack_usage((uintptr_t)&g_tcb[1], NULL));
    assert_false(rtm_stack_usage(0, &u));

    k.scheduler = taskSCHEDULER_NOT_STARTED;
    uintptr_t before_start = rtm_port_task_id();
    assert_false(rtm_stack_usage(before_start, &u));
    k.scheduler = taskSCHEDULER_RUNNING;
    assert_false(rtm_stack_usage(before_start, &u));

    assert_int_equal(k.hwm_calls, 0);
    assert_memory_equal(&u, &k_untouched, sizeof u);
}

#else /* !RTM_TEST_STACK_HWM */

/* Without INCLUDE_uxTaskGetStackHighWaterMark: always false, *out as it
 * was, and the kernel (which would not have the function) never called. */
static void test_stack_usage_not_configured(void **state)
{
    (void)state;
    k.hwm_words = 50;
    rtm_stack_usage_t u = k_untouched;
    assert_false(rtm_stack_usage((uintptr_t)&g_tcb[1], &u));
    assert_false(rtm_stack_usage(rtm_port_task_id(), &u));
    assert_false(rtm_stack_usage(0, &u));
    assert_false(rtm_stack_usage((uintptr_t)&g_tcb[1], NULL));
    assert_int_equal(k.hwm_calls, 0);
    assert_memory_equal(&u, &k_untouched, sizeof u);
}

#endif

/* ------------------------------------------------------------------ */
/* What the ids and the monitor's sleep rest on (port.h)               */

/* The running task's handle; before the scheduler starts, one id that is
 * no handle and not 0, whatever the kernel says the current task is. */
static void test_task_ids(void **state)
{
    (void)state;
    assert_int_equal(rtm_port_task_id(), (uintptr_t)&g_tcb[0]);
    k.current = &g_tcb[1];
    assert_int_equal(rtm_port_task_id(), (uintptr_t)&g_tcb[1]);
    k.scheduler = taskSCHEDULER_NOT_STARTED;
    uintptr_t pre = rtm_port_task_id();
    assert_true(pre != 0);
    assert_true(pre != (uintptr_t)&g_tcb[0] && pre != (uintptr_t)&g_tcb[1]);
    k.current = NULL;
    assert_int_equal(rtm_port_task_id(), pre);
    k.scheduler = taskSCHEDULER_RUNNING;
    assert_int_equal(rtm_port_task_id(), pre); /* no current task yet */
}

/* Milliseconds to ticks rounded up, at 100 Hz: 25 ms is 3 ticks, never 2. */
static void test_sleep_rounds_up_to_ticks(void **state)
{
    (void)state;
    static const struct {
        uint32_t ms;
        TickType_t ticks;
    } cases[] = {{0, 0}, {1, 1}, {10, 1}, {11, 2}, {25, 3}, {1000, 100},
                 {UINT32_MAX, (TickType_t)(((uint64_t)UINT32_MAX * 100u + 999u) / 1000u)}};
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rtm_port_sleep_ms(cases[i].ms);
        assert_int_equal(k.delays, i + 1u);
        assert_int_equal(k.delay_ticks, cases[i].ticks);
    }
}

/* The lock is one scheduler suspension, released by one resume. */
static void test_lock_is_a_suspension(void **state)
{
    (void)state;
    rtm_port_lock_t lock;
    assert_true(rtm_port_lock_init(&lock));
    rtm_port_lock(&lock);
    assert_int_equal(k.depth, 1);
    rtm_port_unlock(&lock);
    assert_int_equal(k.depth, 0);
    assert_int_equal(k.suspends, 1);
    assert_int_equal(k.unbalanced, 0);
    rtm_port_lock_destroy(&lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
#if RTM_TEST_STACK_HWM
        cmocka_unit_test_setup(test_stack_usage_from_the_kernel, setup),
        cmocka_unit_test_setup(test_stack_usage_refused, setup),
#else
        cmocka_unit_test_setup(test_stack_usage_not_configured, setup),
#endif
        cmocka_unit_test_setup(test_task_ids, setup),
        cmocka_unit_test_setup(test_sleep_rounds_up_to_ticks, setup),
        cmocka_unit_test_setup(test_lock_is_a_suspension, setup),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
