/*
 * compat/freertos/heap_rtmem.c, the FreeRTOS heap API on rtmem, tested on
 * the host against our own stand-in kernel headers (tests/freertos_stub).
 *
 * The stand-ins implement vTaskSuspendAll/xTaskResumeAll, configASSERT,
 * traceMALLOC, traceFREE and vApplicationMallocFailedHook as recorders
 * (below), so the tests check not only results but that each is called
 * exactly when heap_4/heap_5 call them: traces inside the suspension, the
 * failed hook after it, asserts for the kernel's usage errors.
 *
 * The same source is built once per configuration variant
 * (RTM_TEST_VARIANT, see tests/freertos_stub/FreeRTOSConfig.h): kernel
 * options and the rtmem strategy differ, the tests adapt with #if.
 * Layout-dependent tests run twice in variants 1 and 2: over ucHeap
 * ("ucheap/...") and over three HeapRegion_t regions ("regions/...").
 *
 * The library's poisoning level (RTM_POISON_LEVEL, CMake RTMEM_POISON) is
 * honoured: with poisoning, the debug layer's default corruption hook is
 * told to return (the tests feed bad pointers on purpose), freed memory
 * holds the free pattern at level 2, and a block with a broken canary must
 * be refused by vPortFree like any bad pointer.
 */
#include "support/test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "FreeRTOS.h"
#include "task.h"
#include "rtmem/debug.h"
#include "rtmem/trace.h"
#include "rtmem_freertos.h"

/* What this variant's configuration means for the tests. */
#if defined(configTOTAL_HEAP_SIZE)
#define T_UCHEAP 1
#else
#define T_UCHEAP 0
#endif
#if defined(configRTMEM_STRATEGY)
#define T_STRATEGY configRTMEM_STRATEGY
#else
#define T_STRATEGY RTM_TLSF
#endif
#if defined(configRTMEM_MAX_HEAP_REGIONS)
#define T_MAX_REGIONS ((size_t)configRTMEM_MAX_HEAP_REGIONS)
#else
#define T_MAX_REGIONS ((size_t)8)
#endif
/* Not from T_STRATEGY: #if cannot see enum values. Variant 3 is bump,
 * variant 4 best fit, which frees but does not coalesce (heap_2). */
#define T_FREES (RTM_TEST_VARIANT != 3)
#define T_COALESCES (T_FREES && RTM_TEST_VARIANT != 4)
#define T_CLEAR (configHEAP_CLEAR_MEMORY_ON_FREE == 1)
#define T_HOOK (configUSE_MALLOC_FAILED_HOOK == 1)
#define T_ALIGN ((size_t)portBYTE_ALIGNMENT)
/* With poisoning a request needs a little more than largest_free_block
 * (include/rtmem/debug.h): canaries, size word, rounding. */
#define T_SLACK ((size_t)(RTM_POISON_LEVEL >= 1 ? 64u : 0u))

#if T_UCHEAP && (configAPPLICATION_ALLOCATED_HEAP == 1)
/* The application's heap array, as a FreeRTOS application would define it
 * (over-aligned here only to make the expected heap address exact). */
extern uint8_t ucHeap[configTOTAL_HEAP_SIZE];
_Alignas(64) uint8_t ucHeap[configTOTAL_HEAP_SIZE];
#endif

/* ------------------------------------------------------------------ */
/* Recorders for the stand-in kernel                                   */

typedef struct stub_log {
    unsigned suspends;
    unsigned resumes;
    int depth;                 /* vTaskSuspendAll nesting */
    unsigned unbalanced;       /* xTaskResumeAll without a suspension */
    unsigned asserts;
    char last_assert[160];
    unsigned assert_suspends;  /* suspensions and traces before the last assert */
    unsigned assert_traces;
    unsigned trace_mallocs;
    const void *tm_ptr;
    size_t tm_size;
    unsigned trace_frees;
    const void *tf_ptr;
    size_t tf_size;
    unsigned traces_outside;   /* trace macro run with the scheduler not suspended */
    size_t traced_live;        /* sum of traceMALLOC sizes minus traceFREE sizes */
    unsigned hooks;
    unsigned hooks_inside;     /* failed hook run with the scheduler suspended */
    size_t hook_saw_free;      /* what xPortGetFreeHeapSize said inside the hook */
} stub_log_t;

static stub_log_t g_log;
static ts_output_t g_out;

/* Run once by the next traceMALLOC, inside pvPortMalloc's suspension, as
 * a trace macro that calls the heap API would (NULL: nothing). */
static void (*g_in_trace_malloc)(void);

void vTaskSuspendAll(void)
{
    g_log.suspends++;
    g_log.depth++;
}

BaseType_t xTaskResumeAll(void)
{
    if (g_log.depth <= 0) {
        g_log.unbalanced++;
        return pdFALSE;
    }
    g_log.depth--;
    g_log.resumes++;
    return pdFALSE;
}

void stub_assert_failed(const char *expr, const char *file, int line)
{
    g_log.asserts++;
    g_log.assert_suspends = g_log.suspends;
    g_log.assert_traces = g_log.trace_mallocs;
    (void)snprintf(g_log.last_assert, sizeof g_log.last_assert, "%s:%d: %s", file, line, expr);
}

void stub_trace_malloc(const void *address, size_t size)
{
    g_log.trace_mallocs++;
    g_log.tm_ptr = address;
    g_log.tm_size = size;
    if (g_log.depth <= 0) {
        g_log.traces_outside++;
    }
    g_log.traced_live += size; /* a failed request is traced with 0 bytes */
    if (g_in_trace_malloc != NULL) {
        void (*fn)(void) = g_in_trace_malloc;
        g_in_trace_malloc = NULL;
        fn();
    }
}

void stub_trace_free(const void *address, size_t size)
{
    g_log.trace_frees++;
    g_log.tf_ptr = address;
    g_log.tf_size = size;
    if (g_log.depth <= 0) {
        g_log.traces_outside++;
    }
    g_log.traced_live -= size;
}

#if T_HOOK
void vApplicationMallocFailedHook(void)
{
    g_log.hooks++;
    if (g_log.depth != 0) {
        g_log.hooks_inside++;
    }
    /* A hook may use the heap API: it runs after the scheduler resumed. */
    g_log.hook_saw_free = xPortGetFreeHeapSize();
}
#endif

/* Clears the per-call counters but keeps the running trace balance. */
static void log_clear(void)
{
    size_t live = g_log.traced_live;
    memset(&g_log, 0, sizeof g_log);
    g_log.traced_live = live;
}

/* Suspensions balanced, every trace inside one, every hook outside. */
static void assert_brackets_at(const char *file, int line)
{
    if (g_log.depth != 0 || g_log.unbalanced != 0 || g_log.suspends != g_log.resumes) {
        ts_fail_at(file, line, "suspensions unbalanced: depth %d, %u suspends, %u resumes, %u stray",
                   g_log.depth, g_log.suspends, g_log.resumes, g_log.unbalanced);
    }
    if (g_log.traces_outside != 0) {
        ts_fail_at(file, line, "%u trace calls outside vTaskSuspendAll", g_log.traces_outside);
    }
    if (g_log.hooks_inside != 0) {
        ts_fail_at(file, line, "%u failed-hook calls with the scheduler suspended",
                   g_log.hooks_inside);
    }
}
#define assert_brackets() assert_brackets_at(__FILE__, __LINE__)

static void assert_no_asserts_at(const char *file, int line)
{
    if (g_log.asserts != 0) {
        ts_fail_at(file, line, "%u configASSERT failures, last: %s", g_log.asserts,
                   g_log.last_assert);
    }
}
#define assert_no_asserts() assert_no_asserts_at(__FILE__, __LINE__)

/* ------------------------------------------------------------------ */
/* Expected statistics, from the rtmem heaps directly                  */

typedef struct rtm_sum {
    size_t free_bytes;
    size_t largest;
    size_t smallest;       /* SIZE_MAX when there is no free block */
    size_t free_blocks;
    size_t walk_free_blocks;
    size_t min_free;
    size_t allocs;
    size_t frees;
    size_t allocated;
    size_t failed;
} rtm_sum_t;

/* Free blocks of one heap as its walk shows them (usable bytes, before
 * any poisoning overhead of a request is taken off). */
typedef struct walk_free {
    size_t blocks;
    size_t min_raw; /* SIZE_MAX when there is none */
    size_t max_raw;
} walk_free_t;

static bool walk_free_cb(const rtm_block_info_t *b, void *ctx)
{
    walk_free_t *w = ctx;
    if (!b->used) {
        w->blocks++;
        if (b->size < w->min_raw) {
            w->min_raw = b->size;
        }
        if (b->size > w->max_raw) {
            w->max_raw = b->size;
        }
    }
    return true;
}

static rtm_sum_t sum_rtm(void)
{
    rtm_sum_t s;
    memset(&s, 0, sizeof s);
    s.smallest = SIZE_MAX;
    for (size_t i = 0; i < rtm_freertos_heap_count(); i++) {
        rtm_heap_t *h = rtm_freertos_heap(i);
        rtm_heap_info_t info;
        assert_true(rtm_heap_info(h, &info));
        s.free_bytes += info.free_bytes;
        if (info.largest_free_block > s.largest) {
            s.largest = info.largest_free_block;
        }
        s.free_blocks += info.free_blocks;
        s.min_free += info.min_free_bytes;
        s.allocs += info.alloc_count;
        s.frees += info.free_count;
        s.allocated += info.allocated_bytes;
        s.failed += info.failed_count;
        walk_free_t w = {0, SIZE_MAX, 0};
        assert_true(rtm_heap_walk(h, walk_free_cb, &w));
        s.walk_free_blocks += w.blocks;
        if (w.blocks == 0) {
            continue;
        }
        /* largest_free_block is the largest request that fits (poisoning
         * overhead taken off), the walk shows a free block's usable bytes:
         * the difference is what a request carries on top (with poisoning
         * the head of max(8, granularity) bytes and the 4-byte tail canary
         * of include/rtmem/debug.h; without, nothing), and the smallest
         * block is expected in the same terms. */
        size_t g = rtm_heap_alignment(h);
        size_t overhead = RTM_POISON_LEVEL >= 1 ? (g > 8u ? g : 8u) + 4u : 0u;
        if (info.largest_free_block > 0) {
            assert_int_equal(w.max_raw - info.largest_free_block, overhead);
        } else {
            assert_true(w.max_raw <= overhead); /* no free block holds a request */
        }
        size_t smallest = w.min_raw > overhead ? w.min_raw - overhead : 0u;
        if (smallest < s.smallest) {
            s.smallest = smallest;
        }
    }
    return s;
}

static HeapStats_t heap_stats(void)
{
    HeapStats_t st;
    memset(&st, 0x5a, sizeof st); /* every field must be written */
    vPortGetHeapStats(&st);
    return st;
}

/* Every HeapStats_t field and the two getters equal what the rtmem heaps
 * report (docs/freertos.md gives the mapping); the trace balance equals
 * the live bytes; every heap passes rtm_heap_check. */
static void assert_stats_agree_at(const char *file, int line)
{
    HeapStats_t st = heap_stats();
    rtm_sum_t e = sum_rtm();
    size_t free_now = xPortGetFreeHeapSize();
    size_t min_now = xPortGetMinimumEverFreeHeapSize();
    struct {
        const char *name;
        size_t got, want;
    } rows[] = {
        {"xAvailableHeapSpaceInBytes", st.xAvailableHeapSpaceInBytes, e.free_bytes},
        {"xSizeOfLargestFreeBlockInBytes", st.xSizeOfLargestFreeBlockInBytes, e.largest},
        {"xSizeOfSmallestFreeBlockInBytes", st.xSizeOfSmallestFreeBlockInBytes, e.smallest},
        {"xNumberOfFreeBlocks", st.xNumberOfFreeBlocks, e.free_blocks},
        {"xNumberOfFreeBlocks (walk)", st.xNumberOfFreeBlocks, e.walk_free_blocks},
        {"xMinimumEverFreeBytesRemaining", st.xMinimumEverFreeBytesRemaining, e.min_free},
        {"xNumberOfSuccessfulAllocations", st.xNumberOfSuccessfulAllocations, e.allocs},
        {"xNumberOfSuccessfulFrees", st.xNumberOfSuccessfulFrees, e.frees},
        {"xPortGetFreeHeapSize", free_now, e.free_bytes},
        {"xPortGetMinimumEverFreeHeapSize", min_now, e.min_free},
        {"traceMALLOC - traceFREE bytes", g_log.traced_live, e.allocated},
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(rows); i++) {
        if (rows[i].got != rows[i].want) {
            ts_fail_at(file, line, "%s is %zu, rtmem says %zu", rows[i].name, rows[i].got,
                       rows[i].want);
        }
    }
    /* Whatever the poisoning level: the smallest free block is never
     * reported larger than the largest, nor the largest above the free
     * bytes. */
    if (st.xNumberOfFreeBlocks > 0 &&
        (st.xSizeOfSmallestFreeBlockInBytes > st.xSizeOfLargestFreeBlockInBytes ||
         st.xSizeOfLargestFreeBlockInBytes > st.xAvailableHeapSpaceInBytes)) {
        ts_fail_at(file, line, "smallest free block %zu, largest %zu, available %zu: out of order",
                   st.xSizeOfSmallestFreeBlockInBytes, st.xSizeOfLargestFreeBlockInBytes,
                   st.xAvailableHeapSpaceInBytes);
    }
    rtm_check_report_t rep = {NULL, NULL};
    if (!rtm_freertos_heap_check(&rep)) {
        ts_fail_at(file, line, "rtm_heap_check: %s at %p", rep.problem, rep.address);
    }
}
#define assert_stats_agree() assert_stats_agree_at(__FILE__, __LINE__)

/* Region index of p, or SIZE_MAX. */
static size_t region_of(const void *p)
{
    for (size_t i = 0; i < rtm_freertos_heap_count(); i++) {
        rtm_heap_t *h = rtm_freertos_heap(i);
        rtm_heap_info_t info;
        assert_true(rtm_heap_info(h, &info));
        uintptr_t lo = (uintptr_t)h, a = (uintptr_t)p;
        if (a >= lo && a - lo < info.total_bytes) {
            return i;
        }
    }
    return SIZE_MAX;
}

static size_t usable_of(const void *p)
{
    size_t i = region_of(p);
    assert_true(i != SIZE_MAX);
    return rtm_usable_size(rtm_freertos_heap(i), p);
}

/* now: the heaps after everything allocated since initial was freed. The
 * free bytes are back where they were and, for the coalescing strategies,
 * the free blocks too; best fit, which leaves neighbouring free blocks
 * apart (heap_2), has 4 bytes less (one block header) per free block more
 * than at the start (docs/freertos.md, Differences). */
#if T_FREES
static void assert_all_freed_at(rtm_sum_t now, rtm_sum_t initial, const char *file, int line)
{
#if T_COALESCES
    if (now.free_bytes != initial.free_bytes || now.free_blocks != initial.free_blocks) {
        ts_fail_at(file, line, "%zu free bytes in %zu blocks, not the initial %zu in %zu",
                   now.free_bytes, now.free_blocks, initial.free_bytes, initial.free_blocks);
    }
#else
    size_t extra = now.free_blocks - initial.free_blocks;
    if (now.free_blocks < initial.free_blocks || now.free_bytes + 4u * extra != initial.free_bytes) {
        ts_fail_at(file, line, "%zu free bytes in %zu blocks: not the initial %zu (%zu blocks) less 4 per extra block",
                   now.free_bytes, now.free_blocks, initial.free_bytes, initial.free_blocks);
    }
#endif
}
#define assert_all_freed(now, initial) assert_all_freed_at((now), (initial), __FILE__, __LINE__)
#endif

#if !T_FREES
static bool output_has(const char *text)
{
    return strstr(g_out.all, text) != NULL;
}
#endif

/* ------------------------------------------------------------------ */
/* Layouts                                                             */

typedef enum layout { LAYOUT_UCHEAP, LAYOUT_REGIONS } layout_t;

#if T_UCHEAP
static const layout_t k_ucheap = LAYOUT_UCHEAP;
#endif
static const layout_t k_regions = LAYOUT_REGIONS;

/* Memory for HeapRegion_t tests: regions are carved from it with gaps. */
#define MEM_BYTES (64u * 1024u)
static _Alignas(64) uint8_t g_mem[MEM_BYTES];

/* Three regions in ascending order, the second one misaligned and smaller
 * than the others so that allocations spill through all three. */
static void define_three_regions(void)
{
    HeapRegion_t r[] = {
        {g_mem, 6u * 1024u},
        {g_mem + 8u * 1024u + 3u, 5u * 1024u - 3u},
        {g_mem + 16u * 1024u, 12u * 1024u},
        {NULL, 0},
    };
    vPortDefineHeapRegions(r);
    assert_no_asserts();
    assert_int_equal(rtm_freertos_heap_count(), 3);
}

/* Fresh heap module and logs; the layout's heap exists afterwards (the
 * ucHeap heap is built by a pvPortMalloc(0), as heap_4 builds it on any
 * first call). */
static layout_t begin(void **state)
{
    layout_t layout = *(const layout_t *)*state;
    vPortHeapResetState();
    memset(&g_log, 0, sizeof g_log);
    ts_output_capture(&g_out);
    rtm_debug_set_continue(true);
    ts_context("variant %d, %s", RTM_TEST_VARIANT, layout == LAYOUT_UCHEAP ? "ucheap" : "regions");
    if (layout == LAYOUT_REGIONS) {
        define_three_regions();
    } else {
        assert_null(pvPortMalloc(0));
        assert_int_equal(rtm_freertos_heap_count(), 1);
    }
    log_clear();
    g_out.all[0] = '\0';
    g_out.all_len = 0;
    g_out.writes = 0;
    return layout;
}

/* For tests that start from the not-initialised state. */
static void begin_raw(void)
{
    vPortHeapResetState();
    memset(&g_log, 0, sizeof g_log);
    ts_output_capture(&g_out);
    rtm_debug_set_continue(true);
    ts_context("variant %d", RTM_TEST_VARIANT);
}

static int teardown(void **state)
{
    (void)state;
    ts_output_release();
    rtm_debug_set_continue(RTM_CORRUPTION_CONTINUE != 0);
    vPortHeapResetState();
    return 0;
}

/* ------------------------------------------------------------------ */
/* Not initialised                                                     */

static void test_before_first_use(void **state)
{
    (void)state;
    begin_raw();
    /* heap_4/heap_5 report zeros (and SIZE_MAX as the smallest block of an
     * empty free list) until the heap exists; none of these builds it. */
    assert_int_equal(xPortGetFreeHeapSize(), 0);
    assert_int_equal(xPortGetMinimumEverFreeHeapSize(), 0);
    xPortResetHeapMinimumEverFreeHeapSize();
    vPortInitialiseBlocks();
    HeapStats_t st = heap_stats();
    assert_int_equal(st.xAvailableHeapSpaceInBytes, 0);
    assert_int_equal(st.xSizeOfLargestFreeBlockInBytes, 0);
    assert_true(st.xSizeOfSmallestFreeBlockInBytes == SIZE_MAX);
    assert_int_equal(st.xNumberOfFreeBlocks, 0);
    assert_int_equal(st.xMinimumEverFreeBytesRemaining, 0);
    assert_int_equal(st.xNumberOfSuccessfulAllocations, 0);
    assert_int_equal(st.xNumberOfSuccessfulFrees, 0);
    assert_int_equal(rtm_freertos_heap_count(), 0);
    assert_null(rtm_freertos_heap(0));
    assert_true(rtm_freertos_heap_check(NULL));
    assert_int_equal(g_log.trace_mallocs + g_log.trace_frees + g_log.hooks, 0);
    assert_no_asserts();

    /* vPortFree(NULL) returns before touching anything, as in the kernel. */
    unsigned suspends = g_log.suspends;
    vPortFree(NULL);
    assert_int_equal(g_log.suspends, suspends);
    assert_no_asserts();

    /* Any other pointer is foreign while no heap exists: reported (with
     * poisoning as the debug layer's foreign-free report, naming free) and
     * asserted; the heap is not built. */
    int on_stack = 0;
    vPortFree(&on_stack);
    assert_int_equal(g_log.asserts, 1);
    assert_int_equal(g_log.trace_frees, 0);
    assert_int_equal(rtm_freertos_heap_count(), 0);
    assert_non_null(strstr(g_out.all, RTM_POISON_LEVEL >= 1 ? "CORRUPT foreign pointer (free)"
                                                            : "foreign pointer"));
    log_clear();

    log_clear();
#if T_UCHEAP
    /* The first call builds the heap, even when it asks for 0 bytes, and a
     * 0-byte request is a failure that is traced and hooked (heap_4). */
    assert_null(pvPortMalloc(0));
    assert_int_equal(rtm_freertos_heap_count(), 1);
    assert_int_equal(g_log.trace_mallocs, 1);
    assert_null(g_log.tm_ptr);
    assert_int_equal(g_log.tm_size, 0);
    assert_int_equal(g_log.hooks, T_HOOK ? 1 : 0);
    assert_no_asserts();
    rtm_heap_t *h = rtm_freertos_heap(0);
#if configAPPLICATION_ALLOCATED_HEAP == 1
    assert_ptr_equal(h, ucHeap); /* the application's array, aligned: no bytes skipped */
#endif
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(h, &info));
    assert_int_equal(info.total_bytes, configTOTAL_HEAP_SIZE);
    assert_int_equal(xPortGetFreeHeapSize(), info.free_bytes);
    assert_int_equal(xPortGetMinimumEverFreeHeapSize(), info.free_bytes);
    assert_stats_agree();
#else
    /* heap_5 mode: allocating before vPortDefineHeapRegions is the
     * kernel's configASSERT, made first, as heap_5 makes it (an assert
     * that stops the program stops before the suspension and the trace);
     * with asserts off the call fails normally. */
    assert_null(pvPortMalloc(16));
    assert_int_equal(g_log.asserts, 1);
    assert_int_equal(g_log.assert_suspends, 0);
    assert_int_equal(g_log.assert_traces, 0);
    assert_int_equal(rtm_freertos_heap_count(), 0);
    assert_int_equal(g_log.trace_mallocs, 1);
    assert_null(g_log.tm_ptr);
    assert_int_equal(g_log.hooks, T_HOOK ? 1 : 0);
    /* Still not initialised: the regions can be defined now. */
    log_clear();
    define_three_regions();
#endif
    assert_brackets();
}

/* ------------------------------------------------------------------ */
/* pvPortMalloc / vPortFree                                            */

static void test_malloc_free(void **state)
{
    begin(state);
    rtm_sum_t before = sum_rtm();
    uint8_t *p = pvPortMalloc(100);
    assert_non_null(p);
    assert_int_equal((uintptr_t)p % T_ALIGN, 0);
    size_t usable = usable_of(p);
    assert_true(usable >= 100);
    /* One suspension; traceMALLOC inside it with the block and the bytes it
     * gives; no hook. */
    assert_int_equal(g_log.suspends, 1);
    assert_int_equal(g_log.trace_mallocs, 1);
    assert_ptr_equal(g_log.tm_ptr, p);
    assert_int_equal(g_log.tm_size, usable);
    assert_int_equal(g_log.hooks, 0);
    assert_brackets();
    memset(p, 0x3c, usable);
    assert_stats_agree();
    rtm_sum_t mid = sum_rtm();
    assert_int_equal(mid.allocs, before.allocs + 1u);
    assert_true(mid.free_bytes < before.free_bytes);

    log_clear();
    vPortFree(p);
#if T_FREES
    /* One suspension, as heap_4; clear-on-free zeroes within it. */
    assert_int_equal(g_log.suspends, 1);
    assert_int_equal(g_log.trace_frees, 1);
    assert_ptr_equal(g_log.tf_ptr, p);
    assert_int_equal(g_log.tf_size, usable);
    assert_no_asserts();
    assert_brackets();
    rtm_sum_t after = sum_rtm();
    assert_int_equal(after.frees, before.frees + 1u);
    assert_all_freed(after, before);
    assert_int_equal(g_log.traced_live, 0);
#else
    /* heap_1 asserts on any vPortFree of a block; nothing is traced or
     * changed, the block stays intact (not cleared). */
    assert_int_equal(g_log.asserts, 1);
    assert_int_equal(g_log.trace_frees, 0);
    assert_true(output_has("free refused"));
    for (size_t i = 0; i < usable; i++) {
        assert_int_equal(p[i], 0x3c);
    }
    assert_brackets();
#endif
    assert_stats_agree();
}

static void test_malloc_zero_and_too_large(void **state)
{
    layout_t layout = begin(state);
    rtm_sum_t before = sum_rtm();
    const size_t sizes[] = {0, SIZE_MAX, SIZE_MAX / 2u, (size_t)UINT32_MAX, MEM_BYTES * 2u};
    for (size_t i = 0; i < TS_ARRAY_LEN(sizes); i++) {
        log_clear();
        ts_context("variant %d, size %zu", RTM_TEST_VARIANT, sizes[i]);
        assert_null(pvPortMalloc(sizes[i]));
        /* As heap_4 and heap_5 (kernel V11.2.0 on): traceMALLOC(NULL, 0)
         * inside the suspension, whatever was asked for, then the hook
         * after it, for 0 bytes too. */
        assert_int_equal(g_log.trace_mallocs, 1);
        assert_null(g_log.tm_ptr);
        assert_int_equal(g_log.tm_size, 0);
        assert_int_equal(g_log.hooks, T_HOOK ? 1 : 0);
        assert_no_asserts();
        assert_brackets();
    }
    rtm_sum_t after = sum_rtm();
    assert_int_equal(after.allocs, before.allocs);
    assert_int_equal(after.free_bytes, before.free_bytes);
    /* rtmem counts a failure per region tried; 0 bytes is not tried. */
    size_t tried = layout == LAYOUT_REGIONS ? 3u : 1u;
    assert_int_equal(after.failed, before.failed + tried * (TS_ARRAY_LEN(sizes) - 1u));
    assert_stats_agree();
}

static void test_exhaustion(void **state)
{
    begin(state);
    rtm_sum_t initial = sum_rtm();
    static void *blocks[1024];
    size_t n = 0;
    for (;;) {
        log_clear();
        void *p = pvPortMalloc(200);
        if (p == NULL) {
            break;
        }
        assert_true(n < TS_ARRAY_LEN(blocks));
        assert_int_equal((uintptr_t)p % T_ALIGN, 0);
        assert_int_equal(g_log.hooks, 0);
        blocks[n++] = p;
    }
    /* The one failure: traced as (NULL, 0), hooked once; the hook could
     * use the API. */
    assert_int_equal(g_log.trace_mallocs, 1);
    assert_null(g_log.tm_ptr);
    assert_int_equal(g_log.tm_size, 0);
    assert_int_equal(g_log.hooks, T_HOOK ? 1 : 0);
#if T_HOOK
    assert_int_equal(g_log.hook_saw_free, xPortGetFreeHeapSize());
#endif
    assert_brackets();
    assert_true(n > 10);
    assert_stats_agree();
    HeapStats_t full = heap_stats();
    assert_int_equal(full.xNumberOfSuccessfulAllocations, initial.allocs + n);
    /* Nothing that fits 200 bytes is left. */
    assert_true(full.xSizeOfLargestFreeBlockInBytes < 200u + T_SLACK);
    assert_true(full.xMinimumEverFreeBytesRemaining <= full.xAvailableHeapSpaceInBytes);
#if T_FREES
    for (size_t i = 0; i < n; i++) {
        vPortFree(blocks[i]); /* in address order; test_regions_* frees at random */
    }
    assert_no_asserts();
    rtm_sum_t after = sum_rtm();
    /* The coalescing strategies are back to one block per region. */
    assert_all_freed(after, initial);
    assert_int_equal(after.frees, initial.frees + n);
    assert_int_equal(g_log.traced_live, 0);
    assert_stats_agree();
#endif
}

/* ------------------------------------------------------------------ */
/* pvPortCalloc                                                        */

static void test_port_calloc(void **state)
{
    begin(state);
    /* Leave dirty bytes where calloc will allocate (with no clear-on-free
     * they stay; with it the heap clears them itself). */
    uint8_t *dirty = pvPortMalloc(512);
    assert_non_null(dirty);
    memset(dirty, 0xcd, 512);
#if T_FREES
    vPortFree(dirty);
#endif
    log_clear();
    uint8_t *q = pvPortCalloc(16, 32);
    assert_non_null(q);
    for (size_t i = 0; i < 512; i++) {
        assert_int_equal(q[i], 0);
    }
    assert_int_equal(g_log.trace_mallocs, 1);
    assert_ptr_equal(g_log.tm_ptr, q);
    assert_int_equal(g_log.hooks, 0);
    assert_brackets();

    /* Overflowing products: NULL straight away, as heap_4 -- no
     * suspension, no trace, no failed hook. */
    const size_t bad[][2] = {
        {SIZE_MAX / 2u + 1u, 2}, {2, SIZE_MAX / 2u + 1u}, {SIZE_MAX, SIZE_MAX}, {65536u, SIZE_MAX / 65535u}};
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        log_clear();
        assert_null(pvPortCalloc(bad[i][0], bad[i][1]));
        assert_int_equal(g_log.suspends, 0);
        assert_int_equal(g_log.trace_mallocs, 0);
        assert_int_equal(g_log.hooks, 0);
    }
    /* A zero count or size is pvPortMalloc(0): traced and hooked. */
    log_clear();
    assert_null(pvPortCalloc(0, 8));
    assert_null(pvPortCalloc(8, 0));
    assert_int_equal(g_log.trace_mallocs, 2);
    assert_int_equal(g_log.hooks, T_HOOK ? 2 : 0);
    /* Largest product that does not overflow but cannot fit. */
    log_clear();
    assert_null(pvPortCalloc(SIZE_MAX / 4u, 4));
    assert_int_equal(g_log.trace_mallocs, 1);
    assert_null(g_log.tm_ptr);
    assert_int_equal(g_log.tm_size, 0);
    assert_int_equal(g_log.hooks, T_HOOK ? 1 : 0);
    assert_no_asserts();
    assert_brackets();
#if T_FREES
    vPortFree(q);
#endif
    assert_stats_agree();
}

/* ------------------------------------------------------------------ */
/* Statistics                                                          */

typedef struct live_block {
    uint8_t *p;
    size_t size;
    uint8_t fill;
} live_block_t;

static void test_stats_agree_random(void **state)
{
    begin(state);
    static live_block_t live[512];
    size_t n = 0;
    size_t ok_allocs = 0, ok_frees = 0;
    rtm_sum_t initial = sum_rtm();
    ts_rng_t rng;
    ts_rng_seed(&rng, 0x46524545u + (uint64_t)RTM_TEST_VARIANT);
    for (unsigned step = 0; step < 3000; step++) {
        ts_context("variant %d, step %u", RTM_TEST_VARIANT, step);
        bool do_free = T_FREES && n > 0 && (n == TS_ARRAY_LEN(live) || ts_rng_chance(&rng, 45));
        if (do_free) {
            size_t i = ts_rng_range(&rng, 0, n - 1u);
            for (size_t k = 0; k < live[i].size; k++) {
                if (live[i].p[k] != live[i].fill) {
                    ts_fail("block %p byte %zu overwritten", (void *)live[i].p, k);
                }
            }
            log_clear();
            vPortFree(live[i].p);
            assert_int_equal(g_log.trace_frees, 1);
            ok_frees++;
            live[i] = live[--n];
        } else {
            size_t size = ts_rng_log_uniform(&rng, 1, 1500);
            bool zeroed = ts_rng_chance(&rng, 20);
            log_clear();
            uint8_t *p = zeroed ? pvPortCalloc(1, size) : pvPortMalloc(size);
            assert_int_equal(g_log.trace_mallocs, 1);
            assert_ptr_equal(g_log.tm_ptr, p);
            if (p == NULL) {
                assert_int_equal(g_log.hooks, T_HOOK ? 1 : 0);
                if (!T_FREES) {
                    break; /* a bump heap that is full stays full */
                }
                continue;
            }
            assert_int_equal((uintptr_t)p % T_ALIGN, 0);
            assert_int_equal(g_log.tm_size, usable_of(p));
            if (zeroed) {
                for (size_t k = 0; k < size; k++) {
                    assert_int_equal(p[k], 0);
                }
            }
            uint8_t fill = (uint8_t)(step | 1u);
            memset(p, fill, size);
            live[n].p = p;
            live[n].size = size;
            live[n].fill = fill;
            n++;
            ok_allocs++;
        }
        assert_no_asserts();
        assert_brackets();
        if (step % 37u == 0) {
            assert_stats_agree();
            HeapStats_t st = heap_stats();
            assert_int_equal(st.xNumberOfSuccessfulAllocations, initial.allocs + ok_allocs);
            assert_int_equal(st.xNumberOfSuccessfulFrees, initial.frees + ok_frees);
        }
    }
    assert_stats_agree();
#if T_FREES
    while (n > 0) {
        vPortFree(live[--n].p);
    }
    assert_no_asserts();
    rtm_sum_t after = sum_rtm();
    assert_all_freed(after, initial);
    assert_int_equal(g_log.traced_live, 0);
    assert_stats_agree();
#endif
}

/* Smallest and largest free block in the same terms (the largest request
 * each block can hold), at every poisoning level. */
static void test_stats_smallest_largest(void **state)
{
    layout_t layout = begin(state);
    /* One free block per heap: each heap's only block is its largest, so
     * the smallest is the least of the heaps' largest; with one heap the
     * two figures are equal. */
    HeapStats_t st = heap_stats();
    size_t heaps = rtm_freertos_heap_count();
    assert_int_equal(st.xNumberOfFreeBlocks, heaps);
    size_t least = SIZE_MAX, most = 0;
    for (size_t i = 0; i < heaps; i++) {
        size_t largest = rtm_heap_largest_free(rtm_freertos_heap(i));
        least = largest < least ? largest : least;
        most = largest > most ? largest : most;
    }
    assert_int_equal(st.xSizeOfSmallestFreeBlockInBytes, least);
    assert_int_equal(st.xSizeOfLargestFreeBlockInBytes, most);
    if (layout != LAYOUT_REGIONS) {
        assert_int_equal(st.xSizeOfSmallestFreeBlockInBytes, st.xSizeOfLargestFreeBlockInBytes);
    }
    /* The smallest block really holds a request of that size: a request
     * of exactly the smallest heap's largest figure succeeds. */
    void *whole = pvPortMalloc(least);
    assert_non_null(whole);
    assert_stats_agree();
#if T_FREES
    vPortFree(whole);
    assert_no_asserts();

    /* Free blocks of three sizes, kept apart by live separators. A block
     * freed after pvPortMalloc(n) holds a request of n up to one
     * granularity step more; its usable bytes are more than that with
     * poisoning, and the smallest figure must not be them. */
    enum { SEP = 24, SMALL = 40, MID = 200, BIG = 1000 };
    const size_t sizes[] = {SEP, SMALL, SEP, MID, SEP, BIG, SEP};
    uint8_t *p[TS_ARRAY_LEN(sizes)];
    for (size_t i = 0; i < TS_ARRAY_LEN(sizes); i++) {
        p[i] = pvPortMalloc(sizes[i]);
        assert_non_null(p[i]);
        assert_int_equal(region_of(p[i]), 0);
    }
    st = heap_stats();
    size_t tails = st.xNumberOfFreeBlocks;
    vPortFree(p[1]);
    vPortFree(p[3]);
    vPortFree(p[5]);
    assert_no_asserts();
    st = heap_stats();
    assert_int_equal(st.xNumberOfFreeBlocks, tails + 3u);
    size_t g = rtm_heap_alignment(rtm_freertos_heap(0));
    assert_in_range(st.xSizeOfSmallestFreeBlockInBytes, SMALL, SMALL + g - 1u);
    assert_true(st.xSizeOfLargestFreeBlockInBytes >= BIG);
    assert_stats_agree();
    void *again = pvPortMalloc(st.xSizeOfSmallestFreeBlockInBytes);
    assert_non_null(again);
    vPortFree(again);
    assert_no_asserts();

    /* Freeing the separator between the small and the middle block merges
     * the three into one: the smallest is now the big one's figure or the
     * merged one's, both above the middle block's request. Best fit keeps
     * them apart, and the separator is the smallest free block now. */
    vPortFree(p[2]);
    assert_no_asserts();
    st = heap_stats();
#if T_COALESCES
    assert_int_equal(st.xNumberOfFreeBlocks, tails + 2u);
    assert_true(st.xSizeOfSmallestFreeBlockInBytes > MID + SEP + SMALL);
#else
    assert_int_equal(st.xNumberOfFreeBlocks, tails + 4u);
    assert_in_range(st.xSizeOfSmallestFreeBlockInBytes, SEP, SEP + g - 1u);
#endif
    assert_stats_agree();

    /* Everything freed: one block per heap again, as at the start (best
     * fit: seven more, the largest one shorter by what they took). */
    vPortFree(p[0]);
    vPortFree(p[4]);
    vPortFree(p[6]);
    assert_no_asserts();
    st = heap_stats();
#if T_COALESCES
    assert_int_equal(st.xNumberOfFreeBlocks, heaps);
    assert_int_equal(st.xSizeOfSmallestFreeBlockInBytes, least);
    assert_int_equal(st.xSizeOfLargestFreeBlockInBytes, most);
#else
    assert_int_equal(st.xNumberOfFreeBlocks, tails + 7u);
    assert_in_range(st.xSizeOfSmallestFreeBlockInBytes, SEP, SEP + g - 1u);
#endif
    assert_stats_agree();
#endif
}

static void test_min_ever_and_reset(void **state)
{
    begin(state);
#if T_FREES
    rtm_sum_t s0 = sum_rtm();
#endif
    size_t initial = xPortGetFreeHeapSize();
    assert_int_equal(xPortGetMinimumEverFreeHeapSize(), initial);
    void *a = pvPortMalloc(3000);
    void *b = pvPortMalloc(1000);
    assert_non_null(a);
    assert_non_null(b);
    size_t low = xPortGetFreeHeapSize();
    assert_true(low < initial);
    assert_int_equal(xPortGetMinimumEverFreeHeapSize(), low);
#if T_FREES
    vPortFree(a);
    assert_true(xPortGetFreeHeapSize() > low);
    assert_int_equal(xPortGetMinimumEverFreeHeapSize(), low); /* the mark stays */
#endif
    log_clear();
    xPortResetHeapMinimumEverFreeHeapSize();
    assert_int_equal(g_log.suspends, 1);
    assert_brackets();
    assert_int_equal(xPortGetMinimumEverFreeHeapSize(), xPortGetFreeHeapSize());
    assert_stats_agree();
#if T_FREES
    vPortFree(b);
    assert_all_freed(sum_rtm(), s0);
    assert_int_equal(xPortGetFreeHeapSize(), sum_rtm().free_bytes);
    assert_true(xPortGetMinimumEverFreeHeapSize() < initial);
#endif
    assert_stats_agree();
}

/* ------------------------------------------------------------------ */
/* configHEAP_CLEAR_MEMORY_ON_FREE                                     */

#if T_FREES
static void test_clear_on_free(void **state)
{
    begin(state);
    /* Neighbours stay allocated so the freed block does not merge and its
     * interior stays observable. */
    uint8_t *a = pvPortMalloc(256);
    uint8_t *b = pvPortMalloc(256);
    uint8_t *c = pvPortMalloc(256);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    size_t ua = usable_of(a), ub = usable_of(b), uc = usable_of(c);
    memset(a, 0x11, ua);
    memset(b, 0xab, ub);
    memset(c, 0x22, uc);
    vPortFree(b);
    assert_no_asserts();
    /* A free block keeps the strategy's links and footer at its ends: check
     * the interior, which is all the caller's former data. Comprehensive
     * poisoning refills it after the clear. */
    const unsigned want = RTM_POISON_LEVEL >= 2 ? RTM_POISON_FREE_BYTE : (T_CLEAR ? 0x00u : 0xabu);
    for (size_t i = 16; i + 16 < ub; i++) {
        assert_int_equal(b[i], want);
    }
    /* Clearing stayed inside the block. */
    for (size_t i = 0; i < ua; i++) {
        assert_int_equal(a[i], 0x11);
    }
    for (size_t i = 0; i < uc; i++) {
        assert_int_equal(c[i], 0x22);
    }
    vPortFree(a);
    vPortFree(c);
    assert_no_asserts();
    assert_stats_agree();
}
#endif

/* ------------------------------------------------------------------ */
/* Bad pointers to vPortFree                                           */

/* One vPortFree of a bad pointer: one configASSERT, one report line
 * containing text, no traceFREE, statistics unchanged. */
static void expect_bad_free_at(void *pv, const char *text, const char *file, int line)
{
    rtm_sum_t before = sum_rtm();
    log_clear();
    g_out.all[0] = '\0';
    g_out.all_len = 0;
    vPortFree(pv);
    if (g_log.asserts != 1 || g_log.trace_frees != 0 || strstr(g_out.all, text) == NULL) {
        ts_fail_at(file, line, "bad free of %p: %u asserts, %u traceFREE, report '%s' (want '%s')",
                   pv, g_log.asserts, g_log.trace_frees, g_out.all, text);
    }
    assert_brackets_at(file, line);
    rtm_sum_t after = sum_rtm();
    if (after.frees != before.frees || after.free_bytes != before.free_bytes) {
        ts_fail_at(file, line, "bad free changed the heap");
    }
}
#define expect_bad_free(pv, text) expect_bad_free_at((pv), (text), __FILE__, __LINE__)

/* An output hook that notes whether it ran with the scheduler suspended:
 * a real one may block on a UART driver's semaphore, which FreeRTOS
 * forbids while the scheduler is suspended. */
typedef struct suspended_writes {
    unsigned writes;
    unsigned inside;
} suspended_writes_t;

static void note_write_depth(const char *text, size_t len, void *ctx)
{
    (void)text;
    (void)len;
    suspended_writes_t *w = ctx;
    w->writes++;
    if (g_log.depth != 0) {
        w->inside++;
    }
}

/* heap_rtmem.c reports a bad vPortFree "after the scheduler resumes": the
 * report line, whoever writes it (the misuse line at level 0, the debug
 * layer's corruption line at levels >= 1), reaches the output hook with
 * the scheduler running. */
static void test_bad_free_reported_after_resume(void **state)
{
    begin(state);
    uint8_t *a = pvPortMalloc(64);
    assert_non_null(a);
    memset(a, 0, 64);
    int on_stack = 0;
    suspended_writes_t w = {0, 0};
    rtm_output_set(note_write_depth, &w);
    void *bad[] = {&on_stack, a + 8};
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        ts_context("variant %d, bad pointer %zu", RTM_TEST_VARIANT, i);
        log_clear();
        unsigned writes = w.writes;
        vPortFree(bad[i]);
        assert_int_equal(g_log.asserts, 1);
        assert_true(w.writes > writes);
        if (w.inside != 0) {
            ts_fail("%u of %u report writes ran with the scheduler suspended", w.inside, w.writes);
        }
    }
#if RTM_POISON_LEVEL >= 1
    /* A broken canary found by rtm_freertos_heap_check. */
    ts_context("variant %d, check", RTM_TEST_VARIANT);
    unsigned before = w.writes;
    a[64] ^= 0x55u;
    assert_false(rtm_freertos_heap_check(NULL));
    a[64] ^= 0x55u;
    assert_true(w.writes > before);
#endif
#if RTM_POISON_LEVEL >= 2 && T_FREES
    /* A write after free found by the pvPortMalloc that reuses the block. */
    ts_context("variant %d, write after free", RTM_TEST_VARIANT);
    uint8_t *b = pvPortMalloc(96);
    assert_non_null(b);
    vPortFree(b);
    b[10] = 0x77;
    before = w.writes;
    uint8_t *again = pvPortMalloc(96);
    assert_ptr_equal(again, b);
    assert_true(w.writes > before);
    vPortFree(again);
#endif
    if (w.inside != 0) {
        ts_fail("%u of %u report writes ran with the scheduler suspended", w.inside, w.writes);
    }
    ts_output_capture(&g_out);
#if T_FREES
    log_clear();
    vPortFree(a);
    assert_no_asserts();
#endif
    assert_stats_agree();
}

static void test_bad_free(void **state)
{
    layout_t layout = begin(state);
    uint8_t *a = pvPortMalloc(128);
    uint8_t *b = pvPortMalloc(128);
    uint8_t *c = pvPortMalloc(128);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);
    memset(b, 0, 128); /* so b + 8 cannot look like a block header */
    int on_stack = 0;
    expect_bad_free(&on_stack, "foreign pointer");
    expect_bad_free(b + 8, "invalid pointer");
    if (layout == LAYOUT_REGIONS) {
        /* Between regions 0 and 1, and just past the last one. */
        expect_bad_free(g_mem + 7u * 1024u, "foreign pointer");
        expect_bad_free(g_mem + 28u * 1024u, "foreign pointer");
    }
#if T_FREES
    log_clear();
    vPortFree(b);
    assert_no_asserts();
    expect_bad_free(b, "double free");
    log_clear();
    vPortFree(a);
    vPortFree(c);
    assert_no_asserts();
#else
    expect_bad_free(b, "free refused");
#endif
    assert_stats_agree();
}

#if RTM_POISON_LEVEL >= 1
/* A block whose tail canary was overwritten is refused by rtmem through
 * the corruption hook only, not the misuse hook: vPortFree must still see
 * that nothing was freed (no traceFREE, configASSERT). */
static void test_free_broken_canary(void **state)
{
    begin(state);
    uint8_t *p = pvPortMalloc(40);
    assert_non_null(p);
    assert_int_equal(usable_of(p), 40);
    uint8_t saved = p[40];
    p[40] ^= 0x55u; /* one byte past the request: the tail canary */
    expect_bad_free(p, "bad tail canary");
    p[40] = saved;
#if T_FREES
    log_clear();
    vPortFree(p);
    assert_int_equal(g_log.trace_frees, 1);
    assert_no_asserts();
#else
    expect_bad_free(p, "free refused"); /* intact now, but bump never frees */
#endif
    assert_stats_agree();
}
#endif

/* ------------------------------------------------------------------ */
/* Call sites and operation names                                      */

/* The return address of its own call: brackets another call made between
 * two of these (straight-line code keeps calls in order). The empty asm
 * keeps the compiler from taking the two calls for one. */
__attribute__((noinline)) static const void *here(void)
{
    __asm__ volatile("" ::: "memory");
    return __builtin_return_address(0);
}

typedef struct bracket {
    const void *before;
    const void *after;
} bracket_t;

__attribute__((noinline)) static void *malloc_here(size_t n, bracket_t *b)
{
    b->before = here();
    void *p = pvPortMalloc(n);
    b->after = here();
    return p;
}

__attribute__((noinline)) static void *calloc_here(size_t n, size_t size, bracket_t *b)
{
    b->before = here();
    void *p = pvPortCalloc(n, size);
    b->after = here();
    return p;
}

#if T_FREES
__attribute__((noinline)) static void free_here(void *p, bracket_t *b)
{
    b->before = here();
    vPortFree(p);
    b->after = here();
}
#endif

static void assert_in_bracket_at(const void *site, const bracket_t *b, const char *what,
                                 const char *file, int line)
{
    if (!((uintptr_t)site > (uintptr_t)b->before && (uintptr_t)site <= (uintptr_t)b->after)) {
        ts_fail_at(file, line, "%s recorded call site %p, not the test's call between %p and %p",
                   what, site, b->before, b->after);
    }
}
#define assert_in_bracket(site, b, what) assert_in_bracket_at((site), (b), (what), __FILE__, __LINE__)

RTM_TRACE_DEFINE(g_trace_mem, 32);

#if T_FREES
/* The freed record of p in an RTM_TRACE_ALL tracer. */
static rtm_trace_record_t freed_record(rtm_trace_t *t, const void *p)
{
    rtm_trace_record_t rec[32];
    size_t n = rtm_trace_records(t, 0, rec, TS_ARRAY_LEN(rec), NULL);
    for (size_t i = 0; i < n; i++) {
        if (rec[i].ptr == p && rec[i].state == RTM_TRACE_REC_FREED) {
            return rec[i];
        }
    }
    fail_msg("no freed record of %p", p);
    return rec[0];
}
#endif

/* Tracing records the application's calls to pvPortMalloc, pvPortCalloc
 * and vPortFree as the call sites, not heap_rtmem.c's calls into rtmem. */
static void test_call_sites_traced(void **state)
{
    begin(state);
    rtm_trace_t *t = rtm_trace_init(g_trace_mem, sizeof g_trace_mem);
    assert_non_null(t);
    for (size_t i = 0; i < rtm_freertos_heap_count(); i++) {
        rtm_trace_attach(t, rtm_freertos_heap(i));
    }
    assert_true(rtm_trace_start(t, RTM_TRACE_ALL));

    bracket_t bm, bc, bf;
    void *p = malloc_here(48, &bm);
    void *q = calloc_here(4, 12, &bc);
    assert_non_null(p);
    assert_non_null(q);
    rtm_trace_record_t rec;
    assert_true(rtm_trace_find(t, p, &rec));
    assert_in_bracket(rec.callers[0], &bm, "pvPortMalloc");
    assert_true(rtm_trace_find(t, q, &rec));
    assert_in_bracket(rec.callers[0], &bc, "pvPortCalloc");
#if T_FREES
    free_here(p, &bf);
    assert_no_asserts();
    rec = freed_record(t, p);
    assert_in_bracket(rec.free_caller, &bf, "vPortFree");
    vPortFree(q);
    assert_no_asserts();
#else
    (void)bf;
#endif
    for (size_t i = 0; i < rtm_freertos_heap_count(); i++) {
        rtm_heap_set_observer(rtm_freertos_heap(i), NULL, NULL);
    }
    rtm_trace_deinit(t);
    assert_stats_agree();
}

#if RTM_POISON_LEVEL >= 1
/* Corruption reports, recorded and then printed by the default hook. */
typedef struct corruption_log {
    unsigned reports;
    int depth; /* scheduler suspension depth when the last one arrived */
    rtm_corruption_kind_t kind;
    rtm_debug_op_t op;
    bool owner_known;
    const void *alloc_caller; /* the site of the allocation, from the owner lookup */
} corruption_log_t;

static void record_corruption(const rtm_corruption_t *report, void *ctx)
{
    corruption_log_t *log = ctx;
    log->reports++;
    log->depth = g_log.depth;
    log->kind = report->kind;
    log->op = report->op;
    log->owner_known = report->owner_known;
    log->alloc_caller = report->site.caller;
    rtm_default_corruption_hook(report, NULL);
}

/* Which call a corruption report found through vPortFree names: free, at
 * every level and with clear-on-free too (one rtm_free_sized_ex). */
#define T_FREE_OP RTM_OP_FREE

static corruption_log_t expect_free_report_at(void *pv, rtm_corruption_kind_t kind,
                                              const char *file, int line)
{
    corruption_log_t log = {0, 0, (rtm_corruption_kind_t)0, (rtm_debug_op_t)0, false, NULL};
    rtm_debug_set_corruption_hook(record_corruption, &log);
    char want[64];
    (void)snprintf(want, sizeof want, "%s (%s)", rtm_corruption_kind_str(kind),
                   rtm_debug_op_str(T_FREE_OP));
    expect_bad_free_at(pv, want, file, line);
    rtm_debug_set_corruption_hook(NULL, NULL);
    if (log.reports != 1 || log.kind != kind || log.op != T_FREE_OP) {
        ts_fail_at(file, line, "%u reports, last '%s' in '%s'; want one '%s' in '%s'", log.reports,
                   rtm_corruption_kind_str(log.kind), rtm_debug_op_str(log.op),
                   rtm_corruption_kind_str(kind), rtm_debug_op_str(T_FREE_OP));
    }
    return log;
}
#define expect_free_report(pv, kind) expect_free_report_at((pv), (kind), __FILE__, __LINE__)

/* A crash log names the call the application made: a double free and a
 * tail-canary overrun through vPortFree are reported as found by free. With
 * tracing as the owner lookup, the report names the application's
 * pvPortMalloc as the block's allocation site. */
static void test_free_reports_name_free(void **state)
{
    begin(state);
    rtm_trace_t *t = rtm_trace_init(g_trace_mem, sizeof g_trace_mem);
    assert_non_null(t);
    for (size_t i = 0; i < rtm_freertos_heap_count(); i++) {
        rtm_trace_attach(t, rtm_freertos_heap(i));
    }
    assert_true(rtm_trace_start(t, RTM_TRACE_LEAKS));
    rtm_debug_set_owner_lookup(rtm_trace_owner_lookup, t);

    bracket_t bm;
    uint8_t *p = malloc_here(40, &bm);
    assert_non_null(p);
    uint8_t saved = p[40];
    /* A pointer in no region, and in regions layout one in the gap between
     * two regions, never reach an rtmem heap: reported all the same, as
     * the foreign free a heap reports, through the application's hook. */
    int on_stack = 0;
    (void)expect_free_report(&on_stack, RTM_CORRUPT_FOREIGN_FREE);
    if (rtm_freertos_heap_count() > 1) {
        (void)expect_free_report(g_mem + 7u * 1024u, RTM_CORRUPT_FOREIGN_FREE);
    }
    p[40] ^= 0x55u; /* one byte past the request: the tail canary */
    corruption_log_t log = expect_free_report(p, RTM_CORRUPT_BAD_TAIL);
    assert_true(log.owner_known);
    assert_in_bracket(log.alloc_caller, &bm, "the corruption report");
    p[40] = saved;
#if T_FREES
    log_clear();
    vPortFree(p);
    assert_no_asserts();
    (void)expect_free_report(p, RTM_CORRUPT_DOUBLE_FREE);
#endif
    rtm_debug_set_owner_lookup(NULL, NULL);
    for (size_t i = 0; i < rtm_freertos_heap_count(); i++) {
        rtm_heap_set_observer(rtm_freertos_heap(i), NULL, NULL);
    }
    rtm_trace_deinit(t);
    assert_stats_agree();
}

static void check_heaps_in_trace(void)
{
    (void)rtm_freertos_heap_check(NULL);
}

/* A trace macro may call the heap API inside the outer call's suspension
 * (kernel suspensions nest): here traceMALLOC checks the heap, which finds
 * a block damaged earlier. The report is delivered once, after the outer
 * call's xTaskResumeAll, to the application's hook, and that hook is still
 * installed afterwards (a nested call must not take the diverted hook for
 * the application's, which would swallow every later report). */
static void test_nested_call_reports(void **state)
{
    begin(state);
    uint8_t *p = pvPortMalloc(40);
    assert_non_null(p);
    p[40] ^= 0x55u; /* the tail canary */
    corruption_log_t log = {0, 0, (rtm_corruption_kind_t)0, (rtm_debug_op_t)0, false, NULL};
    rtm_debug_set_corruption_hook(record_corruption, &log);
    g_in_trace_malloc = check_heaps_in_trace;
    log_clear();
    void *q = pvPortMalloc(24);
    assert_non_null(q);
    assert_null(g_in_trace_malloc); /* the nested check ran */
    assert_int_equal(g_log.suspends, 2);
    assert_brackets();
    assert_int_equal(log.reports, 1);
    assert_int_equal(log.kind, RTM_CORRUPT_BAD_TAIL);
    assert_int_equal(log.op, RTM_OP_CHECK);
    assert_int_equal(log.depth, 0); /* after the outer call resumed */
    rtm_corruption_fn fn = NULL;
    void *ctx = NULL;
    rtm_debug_get_corruption_hook(&fn, &ctx);
    assert_true(fn == record_corruption);
    assert_ptr_equal(ctx, &log);
    /* Later reports still reach the application's hook. */
    expect_bad_free(p, "bad tail canary");
    assert_int_equal(log.reports, 2);
    assert_int_equal(log.op, RTM_OP_FREE);
    rtm_debug_set_corruption_hook(NULL, NULL);
    p[40] ^= 0x55u;
#if T_FREES
    log_clear();
    vPortFree(p);
    vPortFree(q);
    assert_no_asserts();
#endif
    assert_stats_agree();
}

static int teardown_hooks(void **state)
{
    g_in_trace_malloc = NULL;
    rtm_debug_set_corruption_hook(NULL, NULL);
    rtm_debug_set_owner_lookup(NULL, NULL);
    return teardown(state);
}
#endif

/* ------------------------------------------------------------------ */
/* vPortDefineHeapRegions                                              */

static void test_regions_spill_and_owner(void **state)
{
    (void)state;
    begin_raw();
    define_three_regions();
    log_clear();
    rtm_sum_t initial = sum_rtm();
    /* Ascending, each heap at its region's start rounded up to 8 bytes. */
    for (size_t r = 1; r < 3; r++) {
        assert_true((uintptr_t)rtm_freertos_heap(r) > (uintptr_t)rtm_freertos_heap(r - 1u));
    }
    assert_ptr_equal(rtm_freertos_heap(0), g_mem);
    assert_ptr_equal(rtm_freertos_heap(1), g_mem + 8u * 1024u + 8u);
    assert_ptr_equal(rtm_freertos_heap(2), g_mem + 16u * 1024u);

    /* Fill: regions are used lowest first and spill to the next. */
    static void *blocks[256];
    static size_t owner[256];
    size_t n = 0;
    size_t last_owner = 0;
    for (;;) {
        void *p = pvPortMalloc(400);
        if (p == NULL) {
            break;
        }
        assert_true(n < TS_ARRAY_LEN(blocks));
        size_t r = region_of(p);
        assert_true(r < 3u);
        assert_true(r >= last_owner); /* never back to a full region */
        last_owner = r;
        owner[n] = r;
        blocks[n++] = p;
    }
    assert_int_equal(last_owner, 2);
    assert_int_equal(owner[0], 0);
    size_t in_region[3] = {0, 0, 0};
    for (size_t i = 0; i < n; i++) {
        in_region[owner[i]]++;
    }
    assert_true(in_region[0] > 0 && in_region[1] > 0 && in_region[2] > 0);
    assert_stats_agree();
    HeapStats_t st = heap_stats();
    assert_int_equal(st.xNumberOfSuccessfulAllocations, initial.allocs + n);
    assert_true(st.xSizeOfLargestFreeBlockInBytes < 400u + T_SLACK);

#if T_FREES
    /* A freed block in region 2 is reused before region 0 has room. */
    size_t last = n - 1u;
    assert_int_equal(owner[last], 2);
    vPortFree(blocks[last]);
    void *again = pvPortMalloc(400);
    assert_ptr_equal(again, blocks[last]);
    /* Room in region 0 again: the next allocation goes there first. */
    vPortFree(blocks[0]);
    void *first = pvPortMalloc(400);
    assert_int_equal(region_of(first), 0);
    blocks[0] = first;

    /* Free in a scrambled order: each free is counted by its owner only. */
    ts_rng_t rng;
    ts_rng_seed(&rng, 5);
    for (size_t i = n; i > 1; i--) {
        size_t j = ts_rng_range(&rng, 0, i - 1u);
        void *tp = blocks[i - 1u];
        blocks[i - 1u] = blocks[j];
        blocks[j] = tp;
    }
    for (size_t i = 0; i < n; i++) {
        size_t r = region_of(blocks[i]);
        size_t counts[3];
        for (size_t k = 0; k < 3; k++) {
            rtm_heap_info_t info;
            assert_true(rtm_heap_info(rtm_freertos_heap(k), &info));
            counts[k] = info.free_count;
        }
        log_clear();
        vPortFree(blocks[i]);
        assert_int_equal(g_log.trace_frees, 1);
        assert_no_asserts();
        for (size_t k = 0; k < 3; k++) {
            rtm_heap_info_t info;
            assert_true(rtm_heap_info(rtm_freertos_heap(k), &info));
            assert_int_equal(info.free_count, counts[k] + (k == r ? 1u : 0u));
        }
    }
    rtm_sum_t after = sum_rtm();
    assert_all_freed(after, initial); /* coalescing: one block per region again */
#endif
    assert_stats_agree();
}

/* Defines regions r on a fresh module and returns the number of configASSERT
 * failures it caused. */
static unsigned define_fresh(const HeapRegion_t *r)
{
    vPortHeapResetState();
    log_clear();
    vPortDefineHeapRegions(r);
    /* The kernel does not suspend here (it runs before the scheduler). */
    assert_int_equal(g_log.suspends, 0);
    return g_log.asserts;
}

static void test_bad_region_arrays(void **state)
{
    (void)state;
    begin_raw();
    uint8_t *m = g_mem;

    /* NULL array: asserted, ignored; the module is still not initialised. */
    assert_int_equal(define_fresh(NULL), 1);
    assert_int_equal(rtm_freertos_heap_count(), 0);
    HeapRegion_t ok2[] = {{m, 4096}, {m + 8192, 4096}, {NULL, 0}};
    vPortDefineHeapRegions(ok2);
    assert_int_equal(g_log.asserts, 1); /* no new one */
    assert_int_equal(rtm_freertos_heap_count(), 2);

    /* Defined twice: the second call asserts and is ignored. */
    log_clear();
    HeapRegion_t other[] = {{m + 32768, 4096}, {NULL, 0}};
    vPortDefineHeapRegions(other);
    assert_int_equal(g_log.asserts, 1);
    assert_int_equal(rtm_freertos_heap_count(), 2);
    assert_ptr_equal(rtm_freertos_heap(0), m);

    /* Empty array: heap_5 asserts that something was defined; allocation
     * then fails normally (no heap is made up). */
    HeapRegion_t empty[] = {{m, 0}};
    assert_int_equal(define_fresh(empty), 1);
    assert_int_equal(rtm_freertos_heap_count(), 0);
    log_clear();
    assert_null(pvPortMalloc(8));
    assert_int_equal(g_log.asserts, 0); /* initialised, only empty */
    assert_int_equal(g_log.hooks, T_HOOK ? 1 : 0);

    /* Descending: the second region is refused, the first kept. */
    HeapRegion_t desc[] = {{m + 16384, 4096}, {m, 4096}, {NULL, 0}};
    assert_int_equal(define_fresh(desc), 1);
    assert_int_equal(rtm_freertos_heap_count(), 1);
    assert_ptr_equal(rtm_freertos_heap(0), m + 16384);

    /* Overlapping, and starting inside the previous one. */
    HeapRegion_t overlap[] = {{m, 8192}, {m + 4096, 8192}, {m + 8192, 4096}, {NULL, 0}};
    assert_int_equal(define_fresh(overlap), 1);
    assert_int_equal(rtm_freertos_heap_count(), 2);
    assert_ptr_equal(rtm_freertos_heap(1), m + 8192);

    /* Adjacent regions are fine; an address at the seam belongs to the
     * second. */
    HeapRegion_t adjacent[] = {{m, 4096}, {m + 4096, 4096}, {NULL, 0}};
    assert_int_equal(define_fresh(adjacent), 0);
    assert_int_equal(rtm_freertos_heap_count(), 2);

    /* NULL start, too small to hold a heap, misaligned so that alignment
     * eats it all, wrapping the address space: refused one by one. */
    uint8_t *wrap = (uint8_t *)(uintptr_t)(UINTPTR_MAX - 15u);
    HeapRegion_t junk[] = {{NULL, 4096}, {m, 16}, {m + 1025, 5}, {m + 2048, 4096}, {wrap, 64}, {NULL, 0}};
    assert_int_equal(define_fresh(junk), 4);
    assert_int_equal(rtm_freertos_heap_count(), 1);
    assert_ptr_equal(rtm_freertos_heap(0), m + 2048);

    /* The array ends at the first entry of size 0, whatever its address,
     * as heap_5's loop ends. */
    HeapRegion_t early_end[] = {{m, 4096}, {m + 8192, 0}, {m + 16384, 4096}, {NULL, 0}};
    assert_int_equal(define_fresh(early_end), 0);
    assert_int_equal(rtm_freertos_heap_count(), 1);

#if SIZE_MAX > UINT32_MAX
    /* More than 4 GiB: refused whole (rtm_heap_init checks the size before
     * it writes a byte), the next entry used. */
    HeapRegion_t huge[] = {{m, (size_t)5u << 30}, {NULL, 0}};
    assert_int_equal(define_fresh(huge), 2); /* the entry, then "nothing usable" */
    assert_int_equal(rtm_freertos_heap_count(), 0);
#endif

    /* A misaligned start is rounded up, as heap_5 does. */
    HeapRegion_t odd[] = {{m + 3, 4093}, {NULL, 0}};
    assert_int_equal(define_fresh(odd), 0);
    assert_ptr_equal(rtm_freertos_heap(0), m + 8);
    void *p = pvPortMalloc(64);
    assert_non_null(p);
    assert_int_equal(region_of(p), 0);

    /* More entries than configRTMEM_MAX_HEAP_REGIONS: the extra ones are
     * refused (one assert each), the first ones used. */
    static HeapRegion_t many[20];
    size_t want = T_MAX_REGIONS + 2u;
    assert_true(want + 1u <= TS_ARRAY_LEN(many) && want * 2048u <= MEM_BYTES);
    for (size_t i = 0; i < want; i++) {
        many[i].pucStartAddress = m + i * 2048u;
        many[i].xSizeInBytes = 2048;
    }
    many[want].pucStartAddress = NULL;
    many[want].xSizeInBytes = 0;
    assert_int_equal(define_fresh(many), 2);
    assert_int_equal(rtm_freertos_heap_count(), T_MAX_REGIONS);

#if T_UCHEAP
    /* Too late: the ucHeap heap was built by the first allocation. */
    vPortHeapResetState();
    void *u = pvPortMalloc(32);
    assert_non_null(u);
    log_clear();
    vPortDefineHeapRegions(ok2);
    assert_int_equal(g_log.asserts, 1);
    assert_int_equal(rtm_freertos_heap_count(), 1);
    assert_int_equal(region_of(u), 0);
    assert_non_null(pvPortMalloc(32)); /* still served from ucHeap */
#endif
}

/* ------------------------------------------------------------------ */
/* vPortHeapResetState                                                 */

static void test_reset_state(void **state)
{
    layout_t layout = begin(state);
    size_t initial = xPortGetFreeHeapSize();
    rtm_sum_t s0 = sum_rtm();
    for (int i = 0; i < 5; i++) {
        assert_non_null(pvPortMalloc(300));
    }
    assert_true(xPortGetFreeHeapSize() < initial);

    log_clear();
    vPortHeapResetState();
    assert_int_equal(g_log.suspends, 0);
    assert_int_equal(rtm_freertos_heap_count(), 0);
    assert_int_equal(xPortGetFreeHeapSize(), 0);
    assert_int_equal(xPortGetMinimumEverFreeHeapSize(), 0);
    HeapStats_t st = heap_stats();
    assert_int_equal(st.xNumberOfSuccessfulAllocations, 0);
    assert_int_equal(st.xAvailableHeapSpaceInBytes, 0);

    /* As after boot: the layout is built again from scratch. */
    g_log.traced_live = 0; /* the forgotten blocks are gone with the heap */
    if (layout == LAYOUT_REGIONS) {
        define_three_regions();
    } else {
        assert_null(pvPortMalloc(0));
    }
    assert_no_asserts();
    assert_int_equal(xPortGetFreeHeapSize(), initial);
    rtm_sum_t s1 = sum_rtm();
    assert_int_equal(s1.allocs, s0.allocs);
    assert_int_equal(s1.frees, 0);
    assert_int_equal(s1.min_free, initial);
    void *p = pvPortMalloc(300);
    assert_non_null(p);
    assert_int_equal(heap_stats().xNumberOfSuccessfulAllocations, s0.allocs + 1u);
    assert_stats_agree();
}

/* ------------------------------------------------------------------ */
/* rtmem_freertos.h extras                                             */

static void test_heap_access_and_check(void **state)
{
    layout_t layout = begin(state);
    size_t count = layout == LAYOUT_REGIONS ? 3u : 1u;
    assert_int_equal(rtm_freertos_heap_count(), count);
    assert_null(rtm_freertos_heap(count));
    for (size_t i = 0; i < count; i++) {
        rtm_heap_t *h = rtm_freertos_heap(i);
        assert_non_null(h);
        assert_int_equal(rtm_heap_strategy(h), T_STRATEGY);
        assert_true(rtm_heap_alignment(h) >= T_ALIGN);
    }
    uint8_t *p = pvPortMalloc(64);
    assert_non_null(p);
    log_clear();
    assert_true(rtm_freertos_heap_check(NULL));
    assert_int_equal(g_log.suspends, 1);
    assert_brackets();
    /* Damage the block header: the check finds it and says where. */
    uint8_t saved[4];
    memcpy(saved, p - 4, 4);
    memset(p - 4, 0xff, 4);
    rtm_check_report_t rep = {NULL, NULL};
    assert_false(rtm_freertos_heap_check(&rep));
    assert_non_null(rep.problem);
    memcpy(p - 4, saved, 4);
    assert_true(rtm_freertos_heap_check(NULL));
    assert_stats_agree();
}

/* ------------------------------------------------------------------ */

#define LAYOUT_TEST(fn, layout_ptr, label)                                               \
    {                                                                                      \
        label "/" #fn, fn, NULL, teardown, (void *)(uintptr_t)(layout_ptr)                \
    }

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_before_first_use, teardown),
        cmocka_unit_test_teardown(test_regions_spill_and_owner, teardown),
        cmocka_unit_test_teardown(test_bad_region_arrays, teardown),
#if T_UCHEAP
        LAYOUT_TEST(test_malloc_free, &k_ucheap, "ucheap"),
        LAYOUT_TEST(test_malloc_zero_and_too_large, &k_ucheap, "ucheap"),
        LAYOUT_TEST(test_exhaustion, &k_ucheap, "ucheap"),
        LAYOUT_TEST(test_port_calloc, &k_ucheap, "ucheap"),
        LAYOUT_TEST(test_stats_agree_random, &k_ucheap, "ucheap"),
        LAYOUT_TEST(test_stats_smallest_largest, &k_ucheap, "ucheap"),
        LAYOUT_TEST(test_min_ever_and_reset, &k_ucheap, "ucheap"),
#if T_FREES
        LAYOUT_TEST(test_clear_on_free, &k_ucheap, "ucheap"),
#endif
        LAYOUT_TEST(test_bad_free, &k_ucheap, "ucheap"),
        LAYOUT_TEST(test_bad_free_reported_after_resume, &k_ucheap, "ucheap"),
#if RTM_POISON_LEVEL >= 1
        LAYOUT_TEST(test_free_broken_canary, &k_ucheap, "ucheap"),
#endif
        LAYOUT_TEST(test_call_sites_traced, &k_ucheap, "ucheap"),
#if RTM_POISON_LEVEL >= 1
        {"ucheap/test_free_reports_name_free", test_free_reports_name_free, NULL, teardown_hooks,
         (void *)(uintptr_t)&k_ucheap},
        {"ucheap/test_nested_call_reports", test_nested_call_reports, NULL, teardown_hooks,
         (void *)(uintptr_t)&k_ucheap},
#endif
        LAYOUT_TEST(test_reset_state, &k_ucheap, "ucheap"),
        LAYOUT_TEST(test_heap_access_and_check, &k_ucheap, "ucheap"),
#endif
        LAYOUT_TEST(test_malloc_free, &k_regions, "regions"),
        LAYOUT_TEST(test_malloc_zero_and_too_large, &k_regions, "regions"),
        LAYOUT_TEST(test_exhaustion, &k_regions, "regions"),
        LAYOUT_TEST(test_port_calloc, &k_regions, "regions"),
        LAYOUT_TEST(test_stats_agree_random, &k_regions, "regions"),
        LAYOUT_TEST(test_stats_smallest_largest, &k_regions, "regions"),
        LAYOUT_TEST(test_min_ever_and_reset, &k_regions, "regions"),
#if T_FREES
        LAYOUT_TEST(test_clear_on_free, &k_regions, "regions"),
#endif
        LAYOUT_TEST(test_bad_free, &k_regions, "regions"),
        LAYOUT_TEST(test_bad_free_reported_after_resume, &k_regions, "regions"),
#if RTM_POISON_LEVEL >= 1
        LAYOUT_TEST(test_free_broken_canary, &k_regions, "regions"),
#endif
        LAYOUT_TEST(test_call_sites_traced, &k_regions, "regions"),
#if RTM_POISON_LEVEL >= 1
        {"regions/test_free_reports_name_free", test_free_reports_name_free, NULL, teardown_hooks,
         (void *)(uintptr_t)&k_regions},
        {"regions/test_nested_call_reports", test_nested_call_reports, NULL, teardown_hooks,
         (void *)(uintptr_t)&k_regions},
#endif
        LAYOUT_TEST(test_reset_state, &k_regions, "regions"),
        LAYOUT_TEST(test_heap_access_and_check, &k_regions, "regions"),
    };
    char name[64];
    (void)snprintf(name, sizeof name, "FreeRTOS heap API on rtmem (variant %d)", RTM_TEST_VARIANT);
    return cmocka_run_group_tests_name(name, tests, NULL, NULL);
}
