/*
 * TEST SCAFFOLDING, NOT FreeRTOS: the task API names src/port/freertos.c
 * uses, with the kernel's documented signatures (see FreeRTOS.h here).
 */
#ifndef RTM_FAKE_IDF_TASK_H
#define RTM_FAKE_IDF_TASK_H

#include "freertos/FreeRTOS.h"

typedef struct rtm_fake_tcb *TaskHandle_t;
typedef struct rtm_fake_timeout {
    BaseType_t overflows;
    TickType_t entered;
} TimeOut_t;

#define taskSCHEDULER_SUSPENDED ((BaseType_t)0)
#define taskSCHEDULER_NOT_STARTED ((BaseType_t)1)
#define taskSCHEDULER_RUNNING ((BaseType_t)2)

void vTaskSuspendAll(void);
BaseType_t xTaskResumeAll(void);
BaseType_t xTaskGetSchedulerState(void);
TaskHandle_t xTaskGetCurrentTaskHandle(void);
TickType_t xTaskGetTickCount(void);
UBaseType_t uxTaskGetStackHighWaterMark(TaskHandle_t task);
BaseType_t xTaskNotifyStateClearIndexed(TaskHandle_t task, UBaseType_t index);
uint32_t ulTaskNotifyValueClearIndexed(TaskHandle_t task, UBaseType_t index, uint32_t bits);
uint32_t ulTaskNotifyTakeIndexed(UBaseType_t index, BaseType_t clear_on_exit, TickType_t wait);
BaseType_t xTaskNotifyGiveIndexed(TaskHandle_t task, UBaseType_t index);
void vTaskSetTimeOutState(TimeOut_t *timeout);
BaseType_t xTaskCheckForTimeOut(TimeOut_t *timeout, TickType_t *remaining);
void vTaskDelay(TickType_t ticks);

#endif
