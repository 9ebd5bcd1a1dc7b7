/*
 * Port "freertos": FreeRTOS-Kernel (single core or SMP).
 *
 * Locking (RTM_FREERTOS_USE_CRITICAL_SECTIONS):
 *   0  vTaskSuspendAll / xTaskResumeAll, as heap_4 does. Interrupts stay
 *      enabled and the kernel serialises suspenders, so this is mutual
 *      exclusion between tasks on SMP too; no ISR may use a heap.
 *   1  taskENTER_CRITICAL / taskEXIT_CRITICAL: interrupts masked while a heap
 *      is locked. This takes the task-level form only; calling it from an
 *      ISR is not allowed by the kernel.
 * Both work before vTaskStartScheduler, when the application creates its
 * objects from main: suspension just counts (and is a no-op on SMP), and a
 * critical section on most ports leaves interrupts masked until the
 * scheduler starts, which is the kernel's intended start-up behaviour.
 *
 * Configuration needed in FreeRTOSConfig.h:
 *   INCLUDE_xTaskGetCurrentTaskHandle 1 (the kernel's default), or
 *   configUSE_RECURSIVE_MUTEXES 1, or an SMP build: for rtm_port_task_id.
 *   INCLUDE_xTaskGetSchedulerState 1 or configUSE_TIMERS 1 is optional: with
 *   it, code that runs before the scheduler starts gets its own id instead
 *   of the id of the task that will run first, and rtm_pool_alloc_wait
 *   called from main() before the scheduler starts (or with the scheduler
 *   suspended) returns at once instead of trying to block.
 *   configUSE_TASK_NOTIFICATIONS 1 (the default) and FreeRTOS-Kernel V10.4
 *   or later: waiters (see the end of this file).
 *
 * Compiled only when RTM_PORT_FREERTOS is defined; otherwise this file is
 * empty and needs no kernel headers, so a build that compiles every file
 * under src/ (Arduino, PlatformIO) gets exactly the selected port (port.h).
 */
#include "rtmem/port.h"

#if defined(RTM_PORT_FREERTOS)

#include "rtmem/stack.h"

/* ESP-IDF publishes the kernel's headers under freertos/ only. */
#if defined(ESP_PLATFORM)
#include "freertos/FreeRTOS.h"
#include "freertos/task.h"
#else
#include "FreeRTOS.h"
#include "task.h"
#endif

#if !((INCLUDE_xTaskGetCurrentTaskHandle == 1) || (configUSE_RECURSIVE_MUTEXES == 1) || \
      (defined(configNUMBER_OF_CORES) && (configNUMBER_OF_CORES > 1)))
#error "rtmem freertos port: set INCLUDE_xTaskGetCurrentTaskHandle to 1 in FreeRTOSConfig.h"
#endif

/* ESP-IDF's FreeRTOS changes taskENTER_CRITICAL to take a spinlock
 * (portMUX_TYPE *), which does not fit the one-word lock storage of this
 * port; stop here rather than fail inside the macro expansion. Scheduler
 * suspension needs no spinlock and works there. */
#if RTM_FREERTOS_USE_CRITICAL_SECTIONS && defined(ESP_PLATFORM)
#error "rtmem freertos port: critical sections need a spinlock on ESP-IDF; use RTM_FREERTOS_USE_CRITICAL_SECTIONS 0"
#endif

/* Task handles are TCB addresses and therefore never this value. */
#define FREERTOS_PRE_SCHEDULER_ID ((uintptr_t)1)

/* Nothing to create: both lock forms are global kernel state, which is also
 * why the storage is left untouched. */
bool rtm_port_lock_init(rtm_port_lock_t *lock)
{
    (void)lock;
    return true;
}

void rtm_port_lock_destroy(rtm_port_lock_t *lock)
{
    (void)lock;
}

void rtm_port_lock(rtm_port_lock_t *lock)
{
    (void)lock;
#if RTM_FREERTOS_USE_CRITICAL_SECTIONS
    taskENTER_CRITICAL();
#else
    vTaskSuspendAll();
#endif
}

void rtm_port_unlock(rtm_port_lock_t *lock)
{
    (void)lock;
#if RTM_FREERTOS_USE_CRITICAL_SECTIONS
    taskEXIT_CRITICAL();
#else
    /* Whether resuming already yielded does not matter to the caller. */
    (void)xTaskResumeAll();
#endif
}

uintptr_t rtm_port_task_id(void)
{
#if (INCLUDE_xTaskGetSchedulerState == 1) || (configUSE_TIMERS == 1)
    if (xTaskGetSchedulerState() == taskSCHEDULER_NOT_STARTED) {
        return FREERTOS_PRE_SCHEDULER_ID;
    }
#endif
    TaskHandle_t self = xTaskGetCurrentTaskHandle();
    return self != NULL ? (uintptr_t)self : FREERTOS_PRE_SCHEDULER_ID;
}

/* Task context only: an ISR must read the count with
 * xTaskGetTickCountFromISR. With 16-bit ticks
 * (configTICK_TYPE_WIDTH_IN_BITS = TICK_TYPE_WIDTH_16_BITS) the value wraps
 * at 2^16, not 2^32; with 64-bit ticks it is truncated, which wraps at 2^32
 * as promised. */
uint32_t rtm_port_ticks(void)
{
    return (uint32_t)xTaskGetTickCount();
}

/* Firmware runs at its link addresses: nothing to tell a symbolizer. */
bool rtm_port_program_image(rtm_port_image_t *out)
{
    (void)out;
    return false;
}

/* Milliseconds to ticks, rounded up so that a wait is never shorter than
 * asked, computed in 64 bits: pdMS_TO_TICKS overflows a 32-bit TickType_t
 * for waits above about 71 minutes at 1 kHz. Capped below portMAX_DELAY,
 * which means "forever" to the kernel. */
static TickType_t ms_to_ticks_capped(uint32_t ms)
{
    uint64_t ticks = ((uint64_t)ms * (uint64_t)configTICK_RATE_HZ + 999u) / 1000u;
    if (ticks >= (uint64_t)portMAX_DELAY) {
        ticks = (uint64_t)portMAX_DELAY - 1u;
    }
    return (TickType_t)ticks;
}

/* Stack high-water mark (stack.h). The kernel paints each stack with
 * tskSTACK_FILL_BYTE (0xA5) and counts the untouched words from the far
 * end; it does not say how big the stack is. */
bool rtm_stack_usage(uintptr_t task, rtm_stack_usage_t *out)
{
#if INCLUDE_uxTaskGetStackHighWaterMark == 1
    if (out == NULL || task == 0 || task == FREERTOS_PRE_SCHEDULER_ID) {
        return false;
    }
    UBaseType_t words = uxTaskGetStackHighWaterMark((TaskHandle_t)task);
    out->size = 0;
    out->peak_used = 0;
    out->min_free = (size_t)words * sizeof(StackType_t);
    return true;
#else
    (void)task;
    (void)out;
    return false;
#endif
}

/* ------------------------------------------------------------------ */
/* Waiters: direct-to-task notifications.
 *
 * A waiting task blocks in ulTaskNotifyTakeIndexed on one notification index
 * of its own TCB; the signaller gives that index. Notifications are latched
 * by the kernel, so a signal given between the waiter's unlock and its block
 * is not lost. The index, RTM_FREERTOS_NOTIFY_INDEX, defaults to the last
 * entry of the task's notification array
 * (configTASK_NOTIFICATION_ARRAY_ENTRIES - 1). With the kernel's default of
 * one entry that is index 0, which stream and message buffers and
 * xTaskNotifyGive also use: a task that waits on a pool must then not expect
 * index-0 notifications meanwhile (rtmem consumes them and keeps waiting).
 * Give rtmem an index of its own by raising
 * configTASK_NOTIFICATION_ARRAY_ENTRIES to 2 or more.
 *
 * Needs FreeRTOS-Kernel V10.4 or later (indexed notifications) and
 * configUSE_TASK_NOTIFICATIONS 1 (the default).
 *
 * The signal is given with the object's lock held, i.e. with the scheduler
 * suspended or inside a critical section; the kernel does the same (stream
 * buffers notify under vTaskSuspendAll, queues yield inside critical
 * sections), and a context switch it asks for happens when the lock is
 * released. Giving it under the lock is what keeps the waiter, which lives
 * on the waiting task's stack, valid while it is signalled. */

#if configUSE_TASK_NOTIFICATIONS != 1
#error "rtmem freertos port: rtm_pool_alloc_wait needs configUSE_TASK_NOTIFICATIONS 1"
#endif

/* The one option whose default and upper bound need FreeRTOSConfig.h, so
 * they live here; config.h refuses a negative value. */
#ifndef RTM_FREERTOS_NOTIFY_INDEX
#define RTM_FREERTOS_NOTIFY_INDEX (configTASK_NOTIFICATION_ARRAY_ENTRIES - 1)
#endif
#if RTM_FREERTOS_NOTIFY_INDEX < 0 || RTM_FREERTOS_NOTIFY_INDEX >= configTASK_NOTIFICATION_ARRAY_ENTRIES
#error "RTM_FREERTOS_NOTIFY_INDEX must be below configTASK_NOTIFICATION_ARRAY_ENTRIES"
#endif

typedef struct freertos_waiter {
    TaskHandle_t task;
    BaseType_t signalled; /* read and written only under the object's lock */
} freertos_waiter_t;

_Static_assert(sizeof(freertos_waiter_t) <= sizeof(rtm_port_waiter_t),
               "freertos_waiter_t does not fit rtm_port_waiter_t");

static freertos_waiter_t *freertos_waiter(rtm_port_waiter_t *w)
{
    return (freertos_waiter_t *)(void *)w->storage;
}

/* Drops a notification left on rtmem's index, e.g. one given just after the
 * waiter's block timed out. Uses critical sections only: fine under the lock. */
static void clear_notification(void)
{
    (void)xTaskNotifyStateClearIndexed(NULL, RTM_FREERTOS_NOTIFY_INDEX);
    (void)ulTaskNotifyValueClearIndexed(NULL, RTM_FREERTOS_NOTIFY_INDEX, UINT32_MAX);
}

/* ms_to_ticks_capped, with RTM_WAIT_FOREVER kept as the kernel's forever. */
static TickType_t ms_to_ticks(uint32_t ms)
{
    if (ms == RTM_WAIT_FOREVER) {
        return portMAX_DELAY; /* forever with INCLUDE_vTaskSuspend 1, else rtm_port_wait re-waits */
    }
    return ms_to_ticks_capped(ms);
}

bool rtm_port_can_block(void)
{
#if (INCLUDE_xTaskGetSchedulerState == 1) || (configUSE_TIMERS == 1)
    return xTaskGetSchedulerState() == taskSCHEDULER_RUNNING;
#else
    return true;
#endif
}

bool rtm_port_waiter_init(rtm_port_waiter_t *w)
{
    freertos_waiter_t *fw = freertos_waiter(w);
    fw->task = xTaskGetCurrentTaskHandle();
    fw->signalled = pdFALSE;
    clear_notification();
    return fw->task != NULL;
}

void rtm_port_waiter_destroy(rtm_port_waiter_t *w)
{
    (void)w;
}

bool rtm_port_wait(rtm_port_waiter_t *w, rtm_port_lock_t *lock, uint32_t timeout_ms)
{
    freertos_waiter_t *fw = freertos_waiter(w);
    if (fw->signalled != pdFALSE || timeout_ms == 0) {
        return fw->signalled != pdFALSE;
    }
    bool forever = timeout_ms == RTM_WAIT_FOREVER;
    TickType_t remaining = ms_to_ticks(timeout_ms);
    TimeOut_t start;
    vTaskSetTimeOutState(&start);
    /* Loop: a notification on the index that was not ours (see above), or a
     * portMAX_DELAY that is finite (INCLUDE_vTaskSuspend 0), must not end
     * the wait early. */
    while (fw->signalled == pdFALSE) {
        rtm_port_unlock(lock);
        (void)ulTaskNotifyTakeIndexed(RTM_FREERTOS_NOTIFY_INDEX, pdTRUE, remaining);
        rtm_port_lock(lock);
        if (fw->signalled == pdFALSE && !forever &&
            xTaskCheckForTimeOut(&start, &remaining) != pdFALSE) {
            break;
        }
    }
    /* A signal that came after the timeout but before the lock was back
     * left its notification pending; the next wait must not see it. */
    clear_notification();
    return fw->signalled != pdFALSE;
}

void rtm_port_signal(rtm_port_waiter_t *w)
{
    freertos_waiter_t *fw = freertos_waiter(w);
    fw->signalled = pdTRUE;
    (void)xTaskNotifyGiveIndexed(fw->task, RTM_FREERTOS_NOTIFY_INDEX);
}

/* ------------------------------------------------------------------ */
/* Sleeping. vTaskDelay when the configuration has it; otherwise a timed
 * block on rtmem's notification index, which the kernel always has (only
 * rtm_pool_alloc_wait signals that index, and a sleeping task is not
 * waiting on a pool; if the application shares the index, a notification
 * that arrives meanwhile is consumed and the sleep goes on). */
void rtm_port_sleep_ms(uint32_t ms)
{
#if INCLUDE_vTaskDelay == 1
    vTaskDelay(ms_to_ticks_capped(ms));
#else
    TickType_t remaining = ms_to_ticks_capped(ms);
    TimeOut_t start;
    vTaskSetTimeOutState(&start);
    while (xTaskCheckForTimeOut(&start, &remaining) == pdFALSE) {
        (void)ulTaskNotifyTakeIndexed(RTM_FREERTOS_NOTIFY_INDEX, pdTRUE, remaining);
    }
#endif
}

#endif /* RTM_PORT_FREERTOS */
