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
 *   of the id of the task that will run first.
 */
#include "rtmem/port.h"

#include "FreeRTOS.h"
#include "task.h"

#if defined(RTM_PORT_NONE) || defined(RTM_PORT_POSIX)
#error "src/port/freertos.c built while another port is selected"
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
