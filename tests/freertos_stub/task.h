/*
 * TEST SCAFFOLDING, NOT FreeRTOS. rtmem's own stand-in for the kernel's
 * task.h: the scheduler-suspension calls heap_rtmem.c makes, and the task
 * API names rtmem's FreeRTOS port (src/port/freertos.c) uses, with the
 * kernel's documented signatures (the indexed notification macros as
 * functions). tests/test_freertos_heap.c implements the first two, which
 * it counts and whose nesting it tracks, so the test can see that every
 * heap operation is bracketed exactly as the kernel's heaps bracket theirs;
 * tests/test_freertos_port.c implements all of them.
 */
#ifndef RTM_TEST_FREERTOS_STUB_TASK_H
#define RTM_TEST_FREERTOS_STUB_TASK_H

#include "FreeRTOS.h"

struct tskTaskControlBlock;
typedef struct tskTaskControlBlock *TaskHandle_t;
typedef struct xTIME_OUT {
    BaseType_t xOverflowCount;
    TickType_t xTimeOnEntering;
} TimeOut_t;

#define taskSCHEDULER_SUSPENDED ((BaseType_t)0)
#define taskSCHEDULER_NOT_STARTED ((BaseType_t)1)
#define taskSCHEDULER_RUNNING ((BaseType_t)2)

void vTaskSuspendAll(void);
BaseType_t xTaskResumeAll(void);
BaseType_t xTaskGetSchedulerState(void);
TaskHandle_t xTaskGetCurrentTaskHandle(void);
TickType_t xTaskGetTickCount(void);
UBaseType_t uxTaskGetStackHighWaterMark(TaskHandle_t xTask);
BaseType_t xTaskNotifyStateClearIndexed(TaskHandle_t xTask, UBaseType_t uxIndexToClear);
uint32_t ulTaskNotifyValueClearIndexed(TaskHandle_t xTask, UBaseType_t uxIndexToClear,
                                       uint32_t ulBitsToClear);
uint32_t ulTaskNotifyTakeIndexed(UBaseType_t uxIndexToWaitOn, BaseType_t xClearCountOnExit,
                                 TickType_t xTicksToWait);
BaseType_t xTaskNotifyGiveIndexed(TaskHandle_t xTaskToNotify, UBaseType_t uxIndexToNotify);
void vTaskSetTimeOutState(TimeOut_t *const pxTimeOut);
BaseType_t xTaskCheckForTimeOut(TimeOut_t *const pxTimeOut, TickType_t *const pxTicksToWait);
void vTaskDelay(const TickType_t xTicksToDelay);

#endif
