/*
 * TEST SCAFFOLDING, NOT FreeRTOS. The FreeRTOSConfig.h that
 * tests/test_freertos_heap.c builds compat/freertos/heap_rtmem.c with.
 * RTM_TEST_VARIANT picks one of three configurations (the same test source
 * is built once per variant):
 *
 *   1 (default)  ucHeap defined by heap_rtmem.c, TLSF, clear-on-free,
 *                failed hook, 8-byte alignment
 *   2            ucHeap defined by the test (configAPPLICATION_ALLOCATED_HEAP),
 *                first fit, no clear-on-free, no failed hook, 16-byte alignment
 *   3            no configTOTAL_HEAP_SIZE (heap_5 style: regions required),
 *                bump (heap_1 style: vPortFree refused), clear-on-free,
 *                failed hook
 *   4            ucHeap defined by heap_rtmem.c, best fit (heap_2 style: no
 *                coalescing), clear-on-free, failed hook, 32-byte alignment
 *                (the largest portBYTE_ALIGNMENT the kernel allows)
 *
 * tests/test_freertos_port.c (rtmem's FreeRTOS port) builds with
 * RTM_TEST_STACK_HWM defined, 1 or 0: INCLUDE_uxTaskGetStackHighWaterMark,
 * with the scheduler state, vTaskDelay and a 100 Hz tick.
 *
 * configASSERT, traceMALLOC and traceFREE call recorders in the test, which
 * check when and how often heap_rtmem.c calls them. configASSERT records and
 * returns, as a kernel built without asserts would continue: the test checks
 * that heap_rtmem.c stays safe after a failed assertion.
 */
#ifndef RTM_TEST_FREERTOS_CONFIG_H
#define RTM_TEST_FREERTOS_CONFIG_H

#include <stddef.h>

#ifndef RTM_TEST_VARIANT
#define RTM_TEST_VARIANT 1
#endif

#if RTM_TEST_VARIANT == 1
#define configTOTAL_HEAP_SIZE ((size_t)(24 * 1024))
#define configAPPLICATION_ALLOCATED_HEAP 0
#define configHEAP_CLEAR_MEMORY_ON_FREE 1
#define configUSE_MALLOC_FAILED_HOOK 1
#define portBYTE_ALIGNMENT 8
/* configRTMEM_STRATEGY left at its default, RTM_TLSF */
#elif RTM_TEST_VARIANT == 2
#define configTOTAL_HEAP_SIZE ((size_t)(20 * 1024))
#define configAPPLICATION_ALLOCATED_HEAP 1
#define configHEAP_CLEAR_MEMORY_ON_FREE 0
#define configUSE_MALLOC_FAILED_HOOK 0
#define portBYTE_ALIGNMENT 16
#define configRTMEM_STRATEGY RTM_FIRST_FIT
#define configRTMEM_MAX_HEAP_REGIONS 4
#elif RTM_TEST_VARIANT == 3
#define configHEAP_CLEAR_MEMORY_ON_FREE 1
#define configUSE_MALLOC_FAILED_HOOK 1
#define portBYTE_ALIGNMENT 8
#define configRTMEM_STRATEGY RTM_BUMP
#elif RTM_TEST_VARIANT == 4
#define configTOTAL_HEAP_SIZE ((size_t)(24 * 1024))
#define configAPPLICATION_ALLOCATED_HEAP 0
#define configHEAP_CLEAR_MEMORY_ON_FREE 1
#define configUSE_MALLOC_FAILED_HOOK 1
#define portBYTE_ALIGNMENT 32
#define configRTMEM_STRATEGY RTM_BEST_FIT
#else
#error "RTM_TEST_VARIANT must be 1, 2, 3 or 4"
#endif

#define configSUPPORT_DYNAMIC_ALLOCATION 1

#if defined(RTM_TEST_STACK_HWM)
#define INCLUDE_uxTaskGetStackHighWaterMark RTM_TEST_STACK_HWM
#define INCLUDE_xTaskGetSchedulerState 1
#define INCLUDE_vTaskDelay 1
#define configTICK_RATE_HZ 100
#endif

/* Recorders, defined in tests/test_freertos_heap.c. */
void stub_assert_failed(const char *expr, const char *file, int line);
void stub_trace_malloc(const void *address, size_t size);
void stub_trace_free(const void *address, size_t size);

#define configASSERT(x)                                   \
    do {                                                  \
        if (!(x)) {                                       \
            stub_assert_failed(#x, __FILE__, __LINE__);   \
        }                                                 \
    } while (0)
#define traceMALLOC(pvAddress, uiSize) stub_trace_malloc((pvAddress), (uiSize))
#define traceFREE(pvAddress, uiSize) stub_trace_free((pvAddress), (uiSize))

#endif
