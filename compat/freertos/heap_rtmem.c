/*
 * heap_rtmem.c: the FreeRTOS heap API on rtmem heaps. Build it instead of
 * one of the kernel's portable/MemMang/heap_1..5.c (docs/freertos.md).
 *
 * Layout. Without vPortDefineHeapRegions there is one rtmem heap over
 * ucHeap[configTOTAL_HEAP_SIZE], made by the first pvPortMalloc (heap_4).
 * vPortDefineHeapRegions, called before the first allocation, makes one
 * rtmem heap inside each HeapRegion_t instead (heap_5); its control block
 * takes the first bytes of that region. pvPortMalloc tries the regions from
 * the lowest address up; vPortFree finds a block's region by binary search
 * over the region bounds.
 *
 * Locking. The rtmem heaps are created with RTM_HEAP_NO_LOCK and this file
 * suspends the scheduler around each operation itself, exactly where
 * heap_4/heap_5 do, rather than letting each rtmem heap take its own port
 * lock:
 *   - traceMALLOC/traceFREE must run inside the same suspension as the
 *     operation they report, as in the kernel, so that trace recorders see
 *     allocations in the order they happened;
 *   - with several regions one call touches several heaps (try each in
 *     turn; sum statistics over all): one suspension makes that atomic,
 *     per-heap locks would not, and would cost one lock per region tried;
 *   - it works whichever rtmem port the library was built with (none is
 *     enough; freertos is needed only if the application also uses rtmem
 *     heaps or pools directly).
 * As with the kernel heaps, no function here may be called from an ISR.
 *
 * Hooks. rtmem's failed-allocation hook is not used: a NULL result is
 * handled here, where traceMALLOC(NULL, 0) runs inside the suspension and
 * vApplicationMallocFailedHook after it ends, as the kernel does. A bad
 * pointer to vPortFree is classified by rtmem while the scheduler is
 * suspended (its misuse hook is a recorder here) and changes nothing; after
 * the scheduler resumes it is reported with rtm_default_misuse_hook (one
 * line through the rtmem output hook; with rtmem poisoning the debug
 * layer's corruption report takes that role) and configASSERT fails, which
 * is where heap_4 stops on a bad free. Corruption reports found inside a
 * suspension are held and given to the corruption hook after it ends
 * (hold_reports below).
 */

/* Makes an MPU build's task.h declare the kernel functions themselves
 * instead of their unprivileged wrappers, as the kernel's heaps do: the
 * heap runs privileged. */
#define MPU_WRAPPERS_INCLUDED_FROM_API_FILE
#include "FreeRTOS.h"
#include "task.h"
#undef MPU_WRAPPERS_INCLUDED_FROM_API_FILE

#include <stdint.h>
#include <string.h>

#include "rtmem/debug.h"
#include "rtmem/heap.h"
#include "rtmem_freertos.h"

#if (configSUPPORT_DYNAMIC_ALLOCATION == 0)
#error "heap_rtmem.c is the dynamic-allocation heap; configSUPPORT_DYNAMIC_ALLOCATION is 0"
#endif

#ifndef configHEAP_CLEAR_MEMORY_ON_FREE
#define configHEAP_CLEAR_MEMORY_ON_FREE 0
#endif

#ifndef configRTMEM_STRATEGY
#define configRTMEM_STRATEGY RTM_TLSF
#endif

#ifndef configRTMEM_MAX_HEAP_REGIONS
#define configRTMEM_MAX_HEAP_REGIONS 8
#endif

#ifndef configRTMEM_USE_UCHEAP
#if defined(configTOTAL_HEAP_SIZE)
#define configRTMEM_USE_UCHEAP 1
#else
#define configRTMEM_USE_UCHEAP 0
#endif
#endif

#if configRTMEM_USE_UCHEAP && !defined(configTOTAL_HEAP_SIZE)
#error "configRTMEM_USE_UCHEAP is 1 but configTOTAL_HEAP_SIZE is not defined"
#endif
#if configRTMEM_MAX_HEAP_REGIONS < 1
#error "configRTMEM_MAX_HEAP_REGIONS must be at least 1"
#endif

_Static_assert(configRTMEM_STRATEGY != RTM_SYSTEM,
               "configRTMEM_STRATEGY RTM_SYSTEM is libc malloc: use the kernel's heap_3.c");
_Static_assert((unsigned)configRTMEM_STRATEGY < (unsigned)RTM_STRATEGY_COUNT,
               "configRTMEM_STRATEGY is not an rtm_strategy_id_t");

/* Every block is aligned to the block granularity in absolute address terms
 * (src/strategy/block.h), so granularity >= portBYTE_ALIGNMENT gives the
 * kernel's alignment guarantee. */
#if portBYTE_ALIGNMENT > RTM_DEFAULT_ALIGN
#define HEAP_GRANULARITY ((size_t)portBYTE_ALIGNMENT)
#else
#define HEAP_GRANULARITY ((size_t)RTM_DEFAULT_ALIGN)
#endif

#if configRTMEM_USE_UCHEAP
#if (configAPPLICATION_ALLOCATED_HEAP == 1)
/* Defined by the application, e.g. to place it in a particular RAM bank;
 * the same declaration the kernel's heaps use. */
extern uint8_t ucHeap[configTOTAL_HEAP_SIZE];
#else
/* Aligned for rtm_heap_init so that no byte is lost to alignment. */
PRIVILEGED_DATA static _Alignas(RTM_HEAP_MEM_ALIGN) uint8_t ucHeap[configTOTAL_HEAP_SIZE];
#endif
#endif

/* One rtmem heap: [lo, hi) is the memory it was given (its control block
 * sits at lo, so heap == lo). Kept sorted by lo for the binary search. */
typedef struct heap_region {
    uintptr_t lo;
    uintptr_t hi;
    rtm_heap_t *heap;
} heap_region_t;

typedef enum heap_state {
    HEAP_UNINIT = 0, /* before the first pvPortMalloc / vPortDefineHeapRegions */
    HEAP_READY       /* s_regions holds every heap there will be */
} heap_state_t;

PRIVILEGED_DATA static heap_region_t s_regions[configRTMEM_MAX_HEAP_REGIONS];
PRIVILEGED_DATA static size_t s_region_count;
PRIVILEGED_DATA static heap_state_t s_state = HEAP_UNINIT;

/* Last misuse reported by an rtmem heap, written by record_misuse while the
 * scheduler is suspended (so by one task at a time), read and cleared
 * before it resumes. */
PRIVILEGED_DATA static rtm_misuse_t s_misuse;

static void record_misuse(rtm_heap_t *heap, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)heap;
    (void)address;
    (void)ctx;
    s_misuse = kind;
}

/* Corruption reports found while the scheduler is suspended (levels >= 1:
 * a bad pointer or broken canary in vPortFree, a write after free found by
 * pvPortMalloc, a check). The application's corruption hook may block (a
 * UART driver waiting on a semaphore), which FreeRTOS forbids with the
 * scheduler suspended, so the reports are held here and delivered to that
 * hook after xTaskResumeAll, in the same task. Diverting the global hook
 * is safe inside the suspension on one core: no other task runs, and ISRs
 * do not call the heap. On an SMP build a task already running on another
 * core keeps running, and a report it makes meanwhile is held with ours
 * (docs/freertos.md, a known limitation).
 *
 * Calls nest as vTaskSuspendAll does: a traceMALLOC or traceFREE macro may
 * call this API (rtm_freertos_heap_check after every allocation, say)
 * inside the outer call's suspension. Only the outermost call diverts the
 * hook and puts it back; a nested call's reports are held with the outer
 * call's and delivered by it, once the scheduler really runs again. */
#if RTM_POISON_LEVEL >= 1
/* Every call that holds reports makes at most one (a free, an allocation
 * and rtm_heap_check each stop at the first problem; the check loop stops
 * at the first region that fails). One report is also what each caller
 * keeps on its stack, which a FreeRTOS task has little of. */
#define HELD_REPORTS 1u

typedef struct held_reports {
    rtm_corruption_fn fn; /* the application's hook (NULL: the default) */
    void *ctx;
    size_t count;         /* reports held */
    unsigned depth;       /* calls holding: 1 outermost, more when nested */
    rtm_corruption_t report[HELD_REPORTS];
} held_reports_t;

PRIVILEGED_DATA static held_reports_t s_held;

/* A report beyond HELD_REPORTS is dropped rather than overrun the table:
 * only nested calls can make a second one, and the first is kept. */
static void hold_report(const rtm_corruption_t *report, void *ctx)
{
    (void)ctx;
    if (s_held.count < HELD_REPORTS) {
        s_held.report[s_held.count++] = *report;
    }
}
#endif

/* Scheduler suspended: reports go to hold_report until release_reports. */
static void hold_reports(void)
{
#if RTM_POISON_LEVEL >= 1
    if (s_held.depth++ == 0) {
        rtm_debug_get_corruption_hook(&s_held.fn, &s_held.ctx);
        s_held.count = 0;
        rtm_debug_set_corruption_hook(hold_report, NULL);
    }
#endif
}

/* Scheduler suspended: the outermost call puts the application's hook back
 * and copies the held reports to out (the caller's stack), for
 * deliver_reports; a nested call leaves them held and out empty. */
typedef struct report_batch {
#if RTM_POISON_LEVEL >= 1
    rtm_corruption_fn fn;
    void *ctx;
    size_t count;
    rtm_corruption_t report[HELD_REPORTS];
#else
    int none;
#endif
} report_batch_t;

static void release_reports(report_batch_t *out)
{
#if RTM_POISON_LEVEL >= 1
    out->fn = s_held.fn != NULL ? s_held.fn : rtm_default_corruption_hook;
    out->ctx = s_held.ctx;
    out->count = 0;
    if (--s_held.depth != 0) {
        return;
    }
    rtm_debug_set_corruption_hook(s_held.fn, s_held.ctx);
    out->count = s_held.count;
    for (size_t i = 0; i < s_held.count; i++) {
        out->report[i] = s_held.report[i];
    }
#else
    out->none = 0;
#endif
}

/* Scheduler running: the held reports, in the order they were found. */
static void deliver_reports(const report_batch_t *batch)
{
#if RTM_POISON_LEVEL >= 1
    for (size_t i = 0; i < batch->count; i++) {
        batch->fn(&batch->report[i], batch->ctx);
    }
#else
    (void)batch;
#endif
}

static const rtm_heap_config_t k_heap_config = {
    /* A static initializer is folded at compile time, so only the
     * configured strategy's object is referenced here. (The heap front
     * names RTM_DEFAULT_STRATEGY too, which is TLSF unless the build
     * sets it: docs/freertos.md.) */
    .strategy = configRTMEM_STRATEGY == RTM_FIRST_FIT ? &rtm_strategy_first_fit
                : configRTMEM_STRATEGY == RTM_BEST_FIT ? &rtm_strategy_best_fit
                : configRTMEM_STRATEGY == RTM_BUMP     ? &rtm_strategy_bump
                                                       : &rtm_strategy_tlsf,
    .alignment = HEAP_GRANULARITY,
    .name = "freertos",
    .flags = RTM_HEAP_NO_LOCK,
    .on_alloc_failed = NULL,
    .on_misuse = record_misuse,
    .hook_ctx = NULL,
    .system_budget = 0,
};

/* Makes an rtmem heap over [start, start + size) and appends it. The start
 * is rounded up to what rtm_heap_init needs, and the bytes skipped are lost,
 * as in heap_4/heap_5. False (nothing appended) if the memory wraps the
 * address space, is too small for a heap, starts below the end of the
 * previous region, or the table is full. */
static bool add_region(uint8_t *start, size_t size)
{
    uintptr_t first = (uintptr_t)start;
    if (start == NULL || size > UINTPTR_MAX - first ||
        s_region_count >= (size_t)configRTMEM_MAX_HEAP_REGIONS) {
        return false;
    }
    uintptr_t end = first + size;
    uintptr_t lo = (first + (RTM_HEAP_MEM_ALIGN - 1u)) & ~(uintptr_t)(RTM_HEAP_MEM_ALIGN - 1u);
    if (lo < first || lo >= end) {
        return false;
    }
    if (s_region_count > 0 && lo < s_regions[s_region_count - 1u].hi) {
        return false; /* descending or overlapping: the binary search needs order */
    }
    /* start + (lo - first) points into the caller's region: no integer to
     * pointer conversion is needed. */
    uint8_t *mem = start + (lo - first);
    rtm_heap_t *heap = rtm_heap_init(mem, (size_t)(end - lo), &k_heap_config);
    if (heap == NULL) {
        return false;
    }
    s_regions[s_region_count].lo = lo;
    s_regions[s_region_count].hi = end;
    s_regions[s_region_count].heap = heap;
    s_region_count++;
    return true;
}

/* Scheduler suspended. Builds the ucHeap heap on first use (heap_4); in
 * heap_5 mode there is none to build (no region before
 * vPortDefineHeapRegions). */
static void build_ucheap_once(void)
{
#if configRTMEM_USE_UCHEAP
    if (s_state == HEAP_READY) {
        return;
    }
    bool made = add_region(ucHeap, (size_t)configTOTAL_HEAP_SIZE);
    /* Fails only when configTOTAL_HEAP_SIZE is below rtm_heap_min_size():
     * a configuration error, like an undersized heap_4. */
    configASSERT(made);
    (void)made;
    s_state = HEAP_READY;
#endif
}

/* Scheduler suspended. The heap whose region holds address, or NULL.
 * O(log regions). */
static rtm_heap_t *owner_of(const void *address)
{
    uintptr_t a = (uintptr_t)address;
    size_t lo = 0, hi = s_region_count;
    /* Find how many regions start at or below a. */
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if (a < s_regions[mid].lo) {
            hi = mid;
        } else {
            lo = mid + 1u;
        }
    }
    if (lo == 0 || a >= s_regions[lo - 1u].hi) {
        return NULL;
    }
    return s_regions[lo - 1u].heap;
}

/* The return address of the application's call into this file, passed on
 * to rtmem as the call site so that traces, leak reports and corruption
 * reports name the application's pvPortMalloc/vPortFree, not this file.
 * The public functions that take it are kept out of line (also under LTO),
 * so that it is theirs. Without gcc/clang builtins rtmem names this file. */
#if defined(__GNUC__) || defined(__clang__)
#define HEAP_CALLER() __builtin_return_address(0)
#define HEAP_NOINLINE __attribute__((noinline))
#else
#define HEAP_CALLER() NULL
#define HEAP_NOINLINE
#endif

/* Scheduler running: vPortFree of a pointer in no region. At levels >= 1
 * the corruption report an rtmem heap makes of a foreign pointer (so a
 * debug build stops on it, as on any other bad free), given to the
 * application's corruption hook; at level 0 the misuse line. */
static void report_foreign_free(const void *pv)
{
#if RTM_POISON_LEVEL >= 1
    rtm_corruption_t report;
    memset(&report, 0, sizeof report);
    report.kind = RTM_CORRUPT_FOREIGN_FREE;
    report.op = RTM_OP_FREE;
    report.heap = NULL;
    report.heap_name = rtm_heap_name(NULL);
    report.block = pv;
    report.address = pv;
    rtm_corruption_fn fn = NULL;
    void *ctx = NULL;
    /* Inside an outer call's suspension (a trace macro that frees) this
     * is hold_report: the outer call delivers it. */
    rtm_debug_get_corruption_hook(&fn, &ctx);
    (fn != NULL ? fn : rtm_default_corruption_hook)(&report, ctx);
#else
    rtm_default_misuse_hook(NULL, RTM_MISUSE_FOREIGN_POINTER, pv, NULL);
#endif
}

/* pvPortMalloc and pvPortCalloc: caller is the application's call site. */
static void *port_malloc(size_t xWantedSize, const void *caller)
{
    const rtm_alloc_site_t site = {NULL, 0, caller};
    void *result = NULL;
    size_t usable = 0;
    report_batch_t reports;

#if !configRTMEM_USE_UCHEAP
    /* heap_5: vPortDefineHeapRegions must come before the first
     * allocation. Asserted first, as heap_5 does: a configASSERT that stops
     * stops before the suspension and the trace. With asserts off the
     * request fails below, traced and hooked. */
    configASSERT(s_state == HEAP_READY);
#endif

    vTaskSuspendAll();
    {
        hold_reports();
        /* As heap_4: the heap is built on the first call even if that call
         * asks for 0 bytes. */
        build_ucheap_once();
        if (xWantedSize > 0) {
            for (size_t i = 0; i < s_region_count && result == NULL; i++) {
                result = rtm_malloc_ex(s_regions[i].heap, xWantedSize, &site);
                if (result != NULL) {
                    usable = rtm_usable_size(s_regions[i].heap, result);
                }
            }
        }
        /* As heap_4/heap_5 since kernel V11.2.0: the size traced is the
         * block's (here its usable bytes), 0 for a failed request. (Up to
         * V11.1.0 they traced the size they looked for, with their
         * header, also on failure.) */
        traceMALLOC(result, usable);
        (void)usable; /* traceMALLOC is usually empty */
        release_reports(&reports);
    }
    (void)xTaskResumeAll();
    deliver_reports(&reports);

#if (configUSE_MALLOC_FAILED_HOOK == 1)
    if (result == NULL) {
        vApplicationMallocFailedHook();
    }
#endif

    configASSERT(((uintptr_t)result & (uintptr_t)portBYTE_ALIGNMENT_MASK) == 0);
    return result;
}

HEAP_NOINLINE void *pvPortMalloc(size_t xWantedSize)
{
    return port_malloc(xWantedSize, HEAP_CALLER());
}

HEAP_NOINLINE void vPortFree(void *pv)
{
    if (pv == NULL) {
        return;
    }
    const rtm_alloc_site_t site = {NULL, 0, HEAP_CALLER()};
    rtm_heap_t *heap;
    rtm_misuse_t misuse;
    size_t bytes = 0;
    report_batch_t reports;

    /* One rtmem call frees the block and gives its bytes for traceFREE,
     * so every report, misuse or corruption, names the free the
     * application made. configHEAP_CLEAR_MEMORY_ON_FREE zeroes the block in
     * that call, with the scheduler suspended: O(block size), where heap_4
     * zeroes before it suspends. A bump heap refuses every free (0 bytes,
     * through the misuse hook). */
    vTaskSuspendAll();
    {
        hold_reports();
        s_misuse = (rtm_misuse_t)0;
        heap = owner_of(pv);
        if (heap != NULL) {
            bytes = rtm_free_sized_ex(heap, pv, configHEAP_CLEAR_MEMORY_ON_FREE == 1, &site);
        }
        misuse = s_misuse;
        if (bytes != 0) {
            traceFREE(pv, bytes); /* inside the suspension, as heap_4 */
        }
        release_reports(&reports);
    }
    (void)xTaskResumeAll();
    deliver_reports(&reports);
    bool freed = bytes != 0;

    if (!freed) {
        /* Reported outside the suspension: the output hook may block. What
         * rtmem found came to the misuse hook (recorded above); with
         * poisoning on (RTM_POISON_LEVEL >= 1) a bad pointer or broken
         * canary has also been printed by the debug layer's corruption
         * hook, so only the refusal of a bump heap, which is no corruption,
         * is printed here. A pointer outside every region (or before any
         * heap exists) never reached rtmem: it is reported here, at levels
         * >= 1 as the corruption report rtmem makes of a foreign free. */
        if (heap == NULL) {
            report_foreign_free(pv);
        } else if (misuse != (rtm_misuse_t)0 &&
                   (RTM_POISON_LEVEL == 0 || misuse == RTM_MISUSE_FREE_REFUSED)) {
            rtm_default_misuse_hook(heap, misuse, pv, NULL);
        }
        /* heap_4 asserts that a freed block is allocated; heap_1 that
         * vPortFree is never given a block. */
        configASSERT(freed);
    }
}

HEAP_NOINLINE void *pvPortCalloc(size_t xNum, size_t xSize)
{
    /* As heap_4: an overflowing product returns NULL without calling
     * pvPortMalloc, so neither traceMALLOC nor the failed hook run. */
    if (xNum != 0 && xSize > SIZE_MAX / xNum) {
        return NULL;
    }
    void *p = port_malloc(xNum * xSize, HEAP_CALLER());
    if (p != NULL) {
        (void)memset(p, 0, xNum * xSize);
    }
    return p;
}

size_t xPortGetFreeHeapSize(void)
{
    size_t total = 0;
    vTaskSuspendAll();
    {
        for (size_t i = 0; i < s_region_count; i++) {
            total += rtm_heap_free_bytes(s_regions[i].heap);
        }
    }
    (void)xTaskResumeAll();
    return total;
}

size_t xPortGetMinimumEverFreeHeapSize(void)
{
    size_t total = 0;
    vTaskSuspendAll();
    {
        for (size_t i = 0; i < s_region_count; i++) {
            total += rtm_heap_min_free_bytes(s_regions[i].heap);
        }
    }
    (void)xTaskResumeAll();
    return total;
}

void xPortResetHeapMinimumEverFreeHeapSize(void)
{
    vTaskSuspendAll();
    {
        for (size_t i = 0; i < s_region_count; i++) {
            rtm_heap_reset_min_free(s_regions[i].heap);
        }
    }
    (void)xTaskResumeAll();
}

/* Bytes the debug layer adds to every block here (include/rtmem/debug.h:
 * at poisoning levels >= 1 a head of max(8, granularity) bytes and a 4-byte
 * tail canary; 0 at level 0). A free block of n usable bytes holds a
 * request of at most n - HEAP_POISON_BYTES: rtm_heap_info's
 * largest_free_block is already in those terms, a walk's free block sizes
 * are not. */
#if RTM_POISON_LEVEL >= 1
#define HEAP_POISON_BYTES ((HEAP_GRANULARITY > 8u ? HEAP_GRANULARITY : (size_t)8u) + 4u)
#else
#define HEAP_POISON_BYTES ((size_t)0u)
#endif

/* Walk callback of vPortGetHeapStats: the largest request the smallest
 * free block could hold (0 for a block too small for any). */
static bool note_smallest_free(const rtm_block_info_t *block, void *ctx)
{
    size_t *smallest = ctx;
    if (!block->used) {
        size_t request = block->size > HEAP_POISON_BYTES ? block->size - HEAP_POISON_BYTES : 0u;
        if (request < *smallest) {
            *smallest = request;
        }
    }
    return true;
}

void vPortGetHeapStats(HeapStats_t *pxHeapStats)
{
    configASSERT(pxHeapStats != NULL);
    if (pxHeapStats == NULL) {
        return;
    }
    size_t available = 0, largest = 0, smallest = SIZE_MAX, free_blocks = 0;
    size_t min_ever = 0, allocations = 0, frees = 0;

    vTaskSuspendAll();
    {
        for (size_t i = 0; i < s_region_count; i++) {
            rtm_heap_info_t info;
            if (!rtm_heap_info(s_regions[i].heap, &info)) {
                continue;
            }
            available += info.free_bytes;
            if (info.largest_free_block > largest) {
                largest = info.largest_free_block;
            }
            free_blocks += info.free_blocks;
            min_ever += info.min_free_bytes;
            allocations += info.alloc_count;
            frees += info.free_count;
            /* rtmem keeps no smallest-block figure; the kernel walks for
             * it too. In the terms of largest_free_block, so that a heap
             * with one free block reports the same figure for both. */
            (void)rtm_heap_walk(s_regions[i].heap, note_smallest_free, &smallest);
        }
    }
    (void)xTaskResumeAll();

    pxHeapStats->xAvailableHeapSpaceInBytes = available;
    pxHeapStats->xSizeOfLargestFreeBlockInBytes = largest;
    pxHeapStats->xSizeOfSmallestFreeBlockInBytes = smallest; /* SIZE_MAX if none, as heap_4 */
    pxHeapStats->xNumberOfFreeBlocks = free_blocks;
    pxHeapStats->xMinimumEverFreeBytesRemaining = min_ever;
    pxHeapStats->xNumberOfSuccessfulAllocations = allocations;
    pxHeapStats->xNumberOfSuccessfulFrees = frees;
}

void vPortInitialiseBlocks(void)
{
    /* The kernel's heaps leave this empty too: the heap is built lazily by
     * the first pvPortMalloc. It exists so that old code still links. */
}

void vPortDefineHeapRegions(const HeapRegion_t *const pxHeapRegions)
{
    /* Once only, and before the first allocation (heap_5's rule; also
     * fails when the ucHeap heap has already been built). With asserts off
     * the call is ignored rather than replacing heaps that hold blocks. */
    configASSERT(s_state == HEAP_UNINIT);
    configASSERT(pxHeapRegions != NULL);
    if (s_state != HEAP_UNINIT || pxHeapRegions == NULL) {
        return;
    }
    for (const HeapRegion_t *r = pxHeapRegions; r->xSizeInBytes > 0; r++) {
        /* Too many entries, NULL start, wrap-around, not above the previous
         * region, or too small for an rtmem heap: heap_5 would corrupt
         * memory or assert; here the region is refused and left unused. */
        bool accepted = add_region(r->pucStartAddress, r->xSizeInBytes);
        configASSERT(accepted);
        (void)accepted;
    }
    s_state = HEAP_READY;
    /* As heap_5: at least one region must hold memory. */
    configASSERT(s_region_count > 0);
}

void vPortHeapResetState(void)
{
    /* Called while the scheduler is not running (before restarting it):
     * no suspension, as in the kernel. Blocks still live are forgotten
     * with their heaps. */
    for (size_t i = 0; i < s_region_count; i++) {
        rtm_heap_deinit(s_regions[i].heap);
    }
    memset(s_regions, 0, sizeof s_regions);
    s_region_count = 0;
    s_state = HEAP_UNINIT;
    s_misuse = (rtm_misuse_t)0;
}

size_t rtm_freertos_heap_count(void)
{
    return s_region_count;
}

rtm_heap_t *rtm_freertos_heap(size_t index)
{
    return index < s_region_count ? s_regions[index].heap : NULL;
}

bool rtm_freertos_heap_check(rtm_check_report_t *report)
{
    bool ok = true;
    report_batch_t reports;
    vTaskSuspendAll();
    {
        hold_reports();
        for (size_t i = 0; i < s_region_count && ok; i++) {
            ok = rtm_heap_check(s_regions[i].heap, report);
        }
        release_reports(&reports);
    }
    (void)xTaskResumeAll();
    deliver_reports(&reports);
    return ok;
}
