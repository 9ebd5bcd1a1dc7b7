/*
 * rtmem as the FreeRTOS heap: what compat/freertos/heap_rtmem.c offers
 * beyond the kernel's own heap API (which is declared by the kernel's
 * portable.h, not here).
 *
 * heap_rtmem.c replaces heap_1..5.c. It keeps one rtmem heap per region of
 * memory: one over ucHeap[configTOTAL_HEAP_SIZE], or one per HeapRegion_t
 * given to vPortDefineHeapRegions. docs/freertos.md says how to build it and
 * how each HeapStats_t field maps onto rtm_heap_info_t.
 *
 * Options, set in FreeRTOSConfig.h (all optional):
 *
 *   configRTMEM_STRATEGY          RTM_TLSF (default), RTM_FIRST_FIT (heap_4's
 *                                 algorithm), RTM_BEST_FIT (heap_2's) or
 *                                 RTM_BUMP (heap_1's: vPortFree asserts).
 *                                 RTM_SYSTEM is refused: use heap_3.c.
 *                                 The name is expanded only inside
 *                                 heap_rtmem.c, where rtmem/heap.h is
 *                                 visible, so FreeRTOSConfig.h needs no
 *                                 rtmem include (it is also read by
 *                                 assembler files on many ports).
 *   configRTMEM_MAX_HEAP_REGIONS  most HeapRegion_t entries accepted; default
 *                                 8. Costs 3 pointers of RAM each.
 *   configRTMEM_USE_UCHEAP        1: without vPortDefineHeapRegions, the first
 *                                 pvPortMalloc builds the heap over ucHeap
 *                                 (heap_4 behaviour); 0: no ucHeap exists and
 *                                 vPortDefineHeapRegions must come first
 *                                 (heap_5 behaviour). Default: 1 if
 *                                 configTOTAL_HEAP_SIZE is defined, else 0.
 *
 * The kernel options configTOTAL_HEAP_SIZE, configAPPLICATION_ALLOCATED_HEAP,
 * configHEAP_CLEAR_MEMORY_ON_FREE, configUSE_MALLOC_FAILED_HOOK,
 * traceMALLOC and traceFREE mean what they mean for heap_4/heap_5, except
 * that the sizes traceMALLOC and traceFREE pass are the block's usable
 * bytes, not its size with a header (a failed request: 0, as the kernel's
 * since V11.2.0); docs/freertos.md lists every difference.
 */
#ifndef RTMEM_FREERTOS_H
#define RTMEM_FREERTOS_H

#include <stdbool.h>
#include <stddef.h>

#include "rtmem/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Number of rtmem heaps behind pvPortMalloc: 0 before the first
 * pvPortMalloc (ucHeap) or vPortDefineHeapRegions, and after
 * vPortHeapResetState; 1 with ucHeap; the number of accepted regions
 * otherwise. O(1). */
size_t rtm_freertos_heap_count(void);

/* The rtmem heap of region index (ascending addresses), or NULL if index is
 * not below rtm_freertos_heap_count(). For rtm_heap_info, rtm_heap_walk,
 * rtm_heap_check and the like. These heaps are created with
 * RTM_HEAP_NO_LOCK because heap_rtmem.c serialises them itself, by
 * suspending the scheduler: a task that calls rtmem on one directly must
 * do so between vTaskSuspendAll() and xTaskResumeAll(), and must not
 * allocate or free through it (the FreeRTOS statistics would still be
 * right, but traceMALLOC/traceFREE would miss the block). O(1). */
rtm_heap_t *rtm_freertos_heap(size_t index);

/* rtm_heap_check on every region, with the scheduler suspended. True if
 * all hold (also when no heap exists yet); otherwise false and, if report
 * is not NULL, the first broken invariant (with poisoning, the corruption
 * hook gets it after the scheduler resumes). Cost O(blocks) of all regions,
 * all of it with the scheduler suspended: a diagnostic, not for a
 * periodic task in a latency-sensitive system. Not from an ISR. */
bool rtm_freertos_heap_check(rtm_check_report_t *report);

#ifdef __cplusplus
}
#endif

#endif
