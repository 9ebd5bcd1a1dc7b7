/*
 * TEST SCAFFOLDING, NOT FreeRTOS. rtmem's own minimal stand-in for the
 * kernel's FreeRTOS.h (+ the parts of portable.h and mpu_wrappers.h that
 * compat/freertos/heap_rtmem.c uses), written for tests/test_freertos_heap.c
 * so that heap_rtmem.c compiles and runs on the host without the kernel.
 * Only names, types and signatures documented by FreeRTOS are reproduced;
 * nothing here is kernel code, and the defaults below are what the kernel
 * documents, chosen so that the same heap_rtmem.c builds unchanged against
 * the real headers (docs/freertos.md says how that build was verified).
 * tests/test_freertos_port.c compiles rtmem's FreeRTOS port
 * (src/port/freertos.c) against it too: the tick and stack types and the
 * configuration defaults below are for that.
 */
#ifndef RTM_TEST_FREERTOS_STUB_H
#define RTM_TEST_FREERTOS_STUB_H

#include <stddef.h>
#include <stdint.h>

#include "FreeRTOSConfig.h"

typedef long BaseType_t;
typedef unsigned long UBaseType_t;
/* portmacro.h of a 32-bit port (Cortex-M): 32-bit ticks and stack words. */
typedef uint32_t TickType_t;
typedef uint32_t StackType_t;
#define portMAX_DELAY ((TickType_t)0xffffffffUL)

#define pdFALSE ((BaseType_t)0)
#define pdTRUE ((BaseType_t)1)

/* No MPU: privileged sections are ordinary ones. */
#define PRIVILEGED_FUNCTION
#define PRIVILEGED_DATA

#ifndef portBYTE_ALIGNMENT
#define portBYTE_ALIGNMENT 8
#endif
#define portBYTE_ALIGNMENT_MASK (portBYTE_ALIGNMENT - 1)

/* Kernel defaults for what FreeRTOSConfig.h leaves out. */
#ifndef configASSERT
#define configASSERT(x)
#endif
#ifndef configUSE_MALLOC_FAILED_HOOK
#define configUSE_MALLOC_FAILED_HOOK 0
#endif
#ifndef configSUPPORT_DYNAMIC_ALLOCATION
#define configSUPPORT_DYNAMIC_ALLOCATION 1
#endif
#ifndef configAPPLICATION_ALLOCATED_HEAP
#define configAPPLICATION_ALLOCATED_HEAP 0
#endif
#ifndef configUSE_TASK_NOTIFICATIONS
#define configUSE_TASK_NOTIFICATIONS 1
#endif
#ifndef configTASK_NOTIFICATION_ARRAY_ENTRIES
#define configTASK_NOTIFICATION_ARRAY_ENTRIES 1
#endif
#ifndef configUSE_RECURSIVE_MUTEXES
#define configUSE_RECURSIVE_MUTEXES 0
#endif
#ifndef configUSE_TIMERS
#define configUSE_TIMERS 0
#endif
#ifndef INCLUDE_xTaskGetCurrentTaskHandle
#define INCLUDE_xTaskGetCurrentTaskHandle 1
#endif
#ifndef INCLUDE_xTaskGetSchedulerState
#define INCLUDE_xTaskGetSchedulerState 0
#endif
#ifndef INCLUDE_uxTaskGetStackHighWaterMark
#define INCLUDE_uxTaskGetStackHighWaterMark 0
#endif
#ifndef INCLUDE_vTaskDelay
#define INCLUDE_vTaskDelay 0
#endif
#ifndef traceMALLOC
#define traceMALLOC(pvAddress, uiSize)
#endif
#ifndef traceFREE
#define traceFREE(pvAddress, uiSize)
#endif

/* portable.h: the heap API with the kernel's field names and signatures. */
typedef struct HeapRegion {
    uint8_t *pucStartAddress;
    size_t xSizeInBytes;
} HeapRegion_t;

typedef struct xHeapStats {
    size_t xAvailableHeapSpaceInBytes;
    size_t xSizeOfLargestFreeBlockInBytes;
    size_t xSizeOfSmallestFreeBlockInBytes;
    size_t xNumberOfFreeBlocks;
    size_t xMinimumEverFreeBytesRemaining;
    size_t xNumberOfSuccessfulAllocations;
    size_t xNumberOfSuccessfulFrees;
} HeapStats_t;

void vPortDefineHeapRegions(const HeapRegion_t *const pxHeapRegions) PRIVILEGED_FUNCTION;
void vPortGetHeapStats(HeapStats_t *pxHeapStats);
void *pvPortMalloc(size_t xWantedSize) PRIVILEGED_FUNCTION;
void *pvPortCalloc(size_t xNum, size_t xSize) PRIVILEGED_FUNCTION;
void vPortFree(void *pv) PRIVILEGED_FUNCTION;
void vPortInitialiseBlocks(void) PRIVILEGED_FUNCTION;
size_t xPortGetFreeHeapSize(void) PRIVILEGED_FUNCTION;
size_t xPortGetMinimumEverFreeHeapSize(void) PRIVILEGED_FUNCTION;
void xPortResetHeapMinimumEverFreeHeapSize(void) PRIVILEGED_FUNCTION;
void vPortHeapResetState(void) PRIVILEGED_FUNCTION;

#if (configUSE_MALLOC_FAILED_HOOK == 1)
void vApplicationMallocFailedHook(void);
#endif

#endif
