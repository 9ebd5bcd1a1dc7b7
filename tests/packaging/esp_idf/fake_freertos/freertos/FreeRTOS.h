/*
 * TEST SCAFFOLDING, NOT FreeRTOS. Declarations of the kernel names that
 * src/port/freertos.c uses, where ESP-IDF puts them (freertos/FreeRTOS.h),
 * with the configuration an ESP32 build of ESP-IDF 5 has (dual core,
 * 1 kHz tick). Enough to compile the port, not to link it: the fake ESP-IDF
 * build (tests/packaging/esp_idf) only compiles.
 */
#ifndef RTM_FAKE_IDF_FREERTOS_H
#define RTM_FAKE_IDF_FREERTOS_H

#include <stdint.h>

typedef int BaseType_t;
typedef unsigned int UBaseType_t;
typedef uint32_t TickType_t;
typedef uint8_t StackType_t;

#define pdFALSE ((BaseType_t)0)
#define pdTRUE ((BaseType_t)1)
#define portMAX_DELAY ((TickType_t)0xffffffffu)

#define configNUMBER_OF_CORES 2
#define configTICK_RATE_HZ 1000
#define configUSE_TASK_NOTIFICATIONS 1
#define configTASK_NOTIFICATION_ARRAY_ENTRIES 1
#define configUSE_RECURSIVE_MUTEXES 1
#define configUSE_TIMERS 1
#define INCLUDE_xTaskGetCurrentTaskHandle 1
#define INCLUDE_xTaskGetSchedulerState 1
#define INCLUDE_uxTaskGetStackHighWaterMark 1
#define INCLUDE_vTaskDelay 1

#endif
