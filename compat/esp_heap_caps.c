/*
 * ESP-IDF heap_caps and multi_heap functions mapped onto rtmem
 * (compat/esp_heap_caps.h, compat/multi_heap.h). Real functions rather
 * than inline wrappers, so that ESP-IDF code taking their addresses (a
 * deleter that is heap_caps_free) works too. This file is outside the
 * freestanding core: it uses <stdarg.h> for ESP-IDF's variadic functions.
 */
#include "esp_heap_caps.h"

#include <stdarg.h>
#include <string.h>

#include "multi_heap.h"
#include "rtmem/caps.h"
#include "rtmem/debug.h"
#include "rtmem/heap.h"
#include "rtmem/output.h"

/* The compat values must be rtmem's. */
_Static_assert(MALLOC_CAP_EXEC == RTM_CAP_EXEC, "MALLOC_CAP_EXEC");
_Static_assert(MALLOC_CAP_32BIT == RTM_CAP_32BIT, "MALLOC_CAP_32BIT");
_Static_assert(MALLOC_CAP_8BIT == RTM_CAP_8BIT, "MALLOC_CAP_8BIT");
_Static_assert(MALLOC_CAP_DMA == RTM_CAP_DMA, "MALLOC_CAP_DMA");
_Static_assert(MALLOC_CAP_PID2 == RTM_CAP_PID2, "MALLOC_CAP_PID2");
_Static_assert(MALLOC_CAP_PID7 == RTM_CAP_PID7, "MALLOC_CAP_PID7");
_Static_assert(MALLOC_CAP_SPIRAM == RTM_CAP_SPIRAM, "MALLOC_CAP_SPIRAM");
_Static_assert(MALLOC_CAP_INTERNAL == RTM_CAP_INTERNAL, "MALLOC_CAP_INTERNAL");
_Static_assert(MALLOC_CAP_DEFAULT == RTM_CAP_DEFAULT, "MALLOC_CAP_DEFAULT");
_Static_assert(MALLOC_CAP_IRAM_8BIT == RTM_CAP_IRAM_8BIT, "MALLOC_CAP_IRAM_8BIT");
_Static_assert(MALLOC_CAP_RETENTION == RTM_CAP_RETENTION, "MALLOC_CAP_RETENTION");
_Static_assert(MALLOC_CAP_RTCRAM == RTM_CAP_RTCRAM, "MALLOC_CAP_RTCRAM");
_Static_assert(MALLOC_CAP_SPM == RTM_CAP_SPM, "MALLOC_CAP_SPM");
_Static_assert(MALLOC_CAP_DMA_DESC_AHB == RTM_CAP_DMA_DESC_AHB, "MALLOC_CAP_DMA_DESC_AHB");
_Static_assert(MALLOC_CAP_DMA_DESC_AXI == RTM_CAP_DMA_DESC_AXI, "MALLOC_CAP_DMA_DESC_AXI");
_Static_assert(MALLOC_CAP_CACHE_ALIGNED == RTM_CAP_CACHE_ALIGNED, "MALLOC_CAP_CACHE_ALIGNED");
_Static_assert(MALLOC_CAP_SIMD == RTM_CAP_SIMD, "MALLOC_CAP_SIMD");
_Static_assert(MALLOC_CAP_SPIRAM_NO_ENC == RTM_CAP_SPIRAM_NO_ENC, "MALLOC_CAP_SPIRAM_NO_ENC");
_Static_assert(MALLOC_CAP_INVALID == RTM_CAP_INVALID, "MALLOC_CAP_INVALID");

/* ------------------------------------------------------------------ */
/* Failed-allocation callback                                          */

/* ESP-IDF's callback has no context pointer, so it is kept here and
 * reached from a trampoline registered with rtmem. */
static esp_alloc_failed_hook_t g_failed_hook;

static void failed_trampoline(size_t size, rtm_caps_t caps, const char *function_name, void *ctx)
{
    (void)ctx;
    esp_alloc_failed_hook_t hook = g_failed_hook;
    if (hook != NULL) {
        hook(size, (uint32_t)caps, function_name);
    }
}

esp_err_t heap_caps_register_failed_alloc_callback(esp_alloc_failed_hook_t callback)
{
    if (callback == NULL) {
        return ESP_ERR_INVALID_ARG;
    }
    if (rtm_caps_registry() == NULL) {
        return ESP_ERR_INVALID_STATE;
    }
    g_failed_hook = callback;
    rtm_caps_set_alloc_failed_hook(failed_trampoline, NULL);
    return ESP_OK;
}

/* ------------------------------------------------------------------ */
/* Allocation                                                          */

/* Each function below is an entry point of the application: it takes its
 * caller once (kept out of line so that the return address is the
 * application's) and passes it down, so traces and leak reports name the
 * application's function, not this file. */
#if defined(__GNUC__) || defined(__clang__)
#define ESP_NOINLINE __attribute__((noinline))
#define ESP_CALLER() __builtin_return_address(0)
#else
#define ESP_NOINLINE
#define ESP_CALLER() NULL
#endif

static rtm_alloc_site_t site_of(const void *caller)
{
    rtm_alloc_site_t site = {NULL, 0, caller};
    return site;
}

ESP_NOINLINE void *heap_caps_malloc(size_t size, uint32_t caps)
{
    rtm_alloc_site_t site = site_of(ESP_CALLER());
    return rtm_caps_alloc_ex(0, size, caps, "heap_caps_malloc", &site);
}

ESP_NOINLINE void heap_caps_free(void *ptr)
{
    rtm_alloc_site_t site = site_of(ESP_CALLER());
    rtm_caps_free_ex(ptr, &site);
}

ESP_NOINLINE void heap_caps_aligned_free(void *ptr)
{
    rtm_alloc_site_t site = site_of(ESP_CALLER());
    rtm_caps_free_ex(ptr, &site);
}

ESP_NOINLINE void *heap_caps_realloc(void *ptr, size_t size, uint32_t caps)
{
    rtm_alloc_site_t site = site_of(ESP_CALLER());
    return rtm_caps_realloc_ex(ptr, size, caps, "heap_caps_realloc", &site);
}

ESP_NOINLINE void *heap_caps_aligned_alloc(size_t alignment, size_t size, uint32_t caps)
{
    if (alignment == 0) {
        return NULL; /* rtm_caps_alloc_ex would read 0 as "no extra alignment" */
    }
    rtm_alloc_site_t site = site_of(ESP_CALLER());
    return rtm_caps_alloc_ex(alignment, size, caps, "heap_caps_aligned_alloc", &site);
}

ESP_NOINLINE void *heap_caps_aligned_calloc(size_t alignment, size_t n, size_t size, uint32_t caps)
{
    if (alignment == 0 || n == 0 || size == 0) {
        return NULL;
    }
    if (n > SIZE_MAX / size) {
        return NULL; /* as ESP-IDF: an overflow is not reported */
    }
    rtm_alloc_site_t site = site_of(ESP_CALLER());
    /* ESP-IDF allocates through heap_caps_aligned_alloc: its name is the
     * one the callback gets. */
    void *p = rtm_caps_alloc_ex(alignment, n * size, caps, "heap_caps_aligned_alloc", &site);
    if (p != NULL) {
        memset(p, 0, n * size);
    }
    return p;
}

ESP_NOINLINE void *heap_caps_calloc(size_t n, size_t size, uint32_t caps)
{
    if (size == 0) {
        return NULL;
    }
    if (n == 0) {
        /* ESP-IDF looks at the element size, not the product, before it
         * reports: zero elements are a failed request of 0 bytes there. */
        rtm_caps_report_alloc_failed(0, caps, "heap_caps_calloc");
        return NULL;
    }
    if (n > SIZE_MAX / size) {
        /* ESP-IDF reports the product as size_t arithmetic gives it. */
        rtm_caps_report_alloc_failed(n * size, caps, "heap_caps_calloc");
        return NULL;
    }
    rtm_alloc_site_t site = site_of(ESP_CALLER());
    void *p = rtm_caps_alloc_ex(0, n * size, caps, "heap_caps_calloc", &site);
    if (p != NULL) {
        memset(p, 0, n * size);
    }
    return p;
}

void heap_caps_malloc_extmem_enable(size_t limit)
{
    rtm_caps_extmem_enable(limit);
}

ESP_NOINLINE void *heap_caps_malloc_prefer(size_t size, size_t num, ...)
{
    rtm_alloc_site_t site = site_of(ESP_CALLER());
    uint32_t caps = MALLOC_CAP_DEFAULT;
    void *p = NULL;
    va_list ap;
    va_start(ap, num);
    for (size_t i = 0; i < num && p == NULL && size > 0; i++) {
        caps = va_arg(ap, uint32_t);
        p = rtm_caps_alloc_ex(0, size, caps, NULL, &site);
    }
    va_end(ap);
    if (p == NULL && size > 0) {
        rtm_caps_report_alloc_failed(size, caps, "heap_caps_malloc_prefer");
    }
    return p;
}

/* Whether ptr is a live block of a region; a bad one is reported, as made
 * in a realloc (the call the application made). */
static bool realloc_pointer_ok(const void *ptr)
{
    return rtm_caps_debug_usable_size(ptr, RTM_OP_REALLOC) != 0;
}

ESP_NOINLINE void *heap_caps_realloc_prefer(void *ptr, size_t size, size_t num, ...)
{
    /* A bad pointer is reported once here, rather than once per caps set
     * tried, and is not an allocation failure. */
    if (ptr != NULL && size > 0 && !realloc_pointer_ok(ptr)) {
        return NULL;
    }
    rtm_alloc_site_t site = site_of(ESP_CALLER());
    uint32_t caps = MALLOC_CAP_DEFAULT;
    void *p = NULL;
    va_list ap;
    va_start(ap, num);
    for (size_t i = 0; i < num; i++) {
        caps = va_arg(ap, uint32_t);
        p = rtm_caps_realloc_ex(ptr, size, caps, NULL, &site);
        if (p != NULL || size == 0) {
            break; /* size 0 freed ptr: nothing left to try */
        }
    }
    va_end(ap);
    if (p == NULL && size > 0) {
        rtm_caps_report_alloc_failed(size, caps, "heap_caps_realloc_prefer");
    }
    return p;
}

ESP_NOINLINE void *heap_caps_calloc_prefer(size_t n, size_t size, size_t num, ...)
{
    rtm_alloc_site_t site = site_of(ESP_CALLER());
    bool overflow = size != 0 && n > SIZE_MAX / size;
    size_t bytes = overflow ? 0 : n * size;
    uint32_t caps = MALLOC_CAP_DEFAULT;
    void *p = NULL;
    va_list ap;
    va_start(ap, num);
    /* ESP-IDF's loop: each caps set is tried (a request of 0 bytes, or an
     * overflowing one, fails every time) until one succeeds or the element
     * size is 0; so the report below names the last set read. */
    for (size_t i = 0; i < num; i++) {
        caps = va_arg(ap, uint32_t);
        if (bytes > 0) {
            p = rtm_caps_alloc_ex(0, bytes, caps, NULL, &site);
        }
        if (p != NULL || size == 0) {
            break;
        }
    }
    va_end(ap);
    if (p != NULL) {
        memset(p, 0, bytes);
    } else if (size > 0) {
        /* As ESP-IDF: the element size, not the product. */
        rtm_caps_report_alloc_failed(size, caps, "heap_caps_calloc_prefer");
    }
    return p;
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */

/* ESP-IDF's queries count the heaps that have every bit of caps, and no
 * heap has MALLOC_CAP_INVALID; rtm_caps_* read that bit as "every region"
 * (what checks, walks and dumps mean by it on both). */
static bool selects_none(uint32_t caps)
{
    return (caps & MALLOC_CAP_INVALID) != 0;
}

size_t heap_caps_get_total_size(uint32_t caps)
{
    return selects_none(caps) ? 0 : rtm_caps_total_size(caps);
}

size_t heap_caps_get_free_size(uint32_t caps)
{
    return selects_none(caps) ? 0 : rtm_caps_free_size(caps);
}

size_t heap_caps_get_minimum_free_size(uint32_t caps)
{
    return selects_none(caps) ? 0 : rtm_caps_min_free_size(caps);
}

size_t heap_caps_get_largest_free_block(uint32_t caps)
{
    return selects_none(caps) ? 0 : rtm_caps_largest_free_block(caps);
}

void heap_caps_get_info(multi_heap_info_t *info, uint32_t caps)
{
    if (info == NULL) {
        return;
    }
    rtm_caps_info_t ci;
    if (selects_none(caps)) {
        memset(&ci, 0, sizeof ci);
    } else {
        rtm_caps_get_info(caps, &ci); /* zeroed when no registry */
    }
    info->total_free_bytes = ci.free_bytes;
    info->total_allocated_bytes = ci.allocated_bytes;
    info->largest_free_block = ci.largest_free_block;
    info->minimum_free_bytes = ci.min_free_bytes;
    info->allocated_blocks = ci.used_blocks;
    info->free_blocks = ci.free_blocks;
    info->total_blocks = ci.used_blocks + ci.free_blocks;
}

void heap_caps_print_heap_info(uint32_t caps)
{
    if (selects_none(caps)) {
        rtm_line_t line;
        rtm_line_init(&line);
        rtm_line_str(&line, "rtmem caps summary for ");
        rtm_line_hex(&line, caps);
        rtm_line_str(&line, ": no region has these caps");
        rtm_line_emit(&line);
        return;
    }
    rtm_caps_print_summary(caps);
}

size_t heap_caps_get_allocated_size(void *ptr)
{
    return rtm_caps_usable_size(ptr);
}

typedef struct find_block {
    uintptr_t target;
    void *ptr;
    size_t size;
    bool used;
} find_block_t;

static bool find_block_cb(const rtm_block_info_t *block, void *ctx)
{
    find_block_t *f = ctx;
    uintptr_t p = (uintptr_t)block->ptr;
    if (f->target >= p && f->target - p < block->size) {
        f->ptr = block->ptr;
        f->size = block->size;
        f->used = block->used;
        return false;
    }
    return true;
}

size_t heap_caps_get_containing_block_size(void *ptr)
{
    rtm_heap_t *heap = rtm_caps_region_heap(rtm_caps_region_of(ptr));
    find_block_t f = {.target = (uintptr_t)ptr};
    if (heap == NULL || !rtm_heap_walk(heap, find_block_cb, &f) || f.ptr == NULL || !f.used) {
        return 0;
    }
    return f.size;
}

/* ------------------------------------------------------------------ */
/* Walk and dump                                                       */

static void dump_block(const rtm_block_info_t *block)
{
    rtm_line_t line;
    rtm_line_init(&line);
    rtm_line_str(&line, "  block ");
    rtm_line_ptr(&line, block->ptr);
    rtm_line_str(&line, " size ");
    rtm_line_uint(&line, block->size);
    rtm_line_str(&line, block->used ? " used" : " free");
    rtm_line_emit(&line);
}

typedef struct dump_state {
    const rtm_caps_region_t *current;
} dump_state_t;

static bool dump_cb(const rtm_caps_region_t *region, const rtm_block_info_t *block, void *ctx)
{
    dump_state_t *d = ctx;
    if (region != d->current) {
        d->current = region;
        rtm_line_t line;
        rtm_line_init(&line);
        rtm_line_str(&line, "heap '");
        rtm_line_str(&line, rtm_caps_region_name(region));
        rtm_line_str(&line, "' at ");
        rtm_line_ptr(&line, rtm_caps_region_start(region));
        rtm_line_str(&line, " len ");
        rtm_line_uint(&line, rtm_caps_region_size(region));
        rtm_line_emit(&line);
    }
    dump_block(block);
    return true;
}

void heap_caps_dump(uint32_t caps)
{
    dump_state_t d = {NULL};
    (void)rtm_caps_walk(caps, dump_cb, &d);
}

void heap_caps_dump_all(void)
{
    heap_caps_dump(MALLOC_CAP_INVALID);
}

/* ------------------------------------------------------------------ */
/* Regions                                                             */

esp_err_t heap_caps_add_region_with_caps(const uint32_t caps[], intptr_t start, intptr_t end)
{
    if (caps == NULL || start == 0 || end == 0 || end <= start) {
        return ESP_ERR_INVALID_ARG;
    }
    rtm_caps_region_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.name = "added";
    cfg.search_first = true; /* ESP-IDF puts the new heap at the head of its list */
    for (unsigned p = 0; p < RTM_CAPS_LEVELS; p++) {
        cfg.caps[p] = caps[p];
    }
    size_t size = (size_t)((uintptr_t)end - (uintptr_t)start);
    switch (rtm_caps_add_region((void *)start, size, &cfg, NULL)) {
    case RTM_CAPS_OK:
        return ESP_OK;
    case RTM_CAPS_ERR_OVERLAP:
        return ESP_FAIL;
    case RTM_CAPS_ERR_FULL:
        return ESP_ERR_NO_MEM;
    case RTM_CAPS_ERR_TOO_SMALL:
    case RTM_CAPS_ERR_TOO_LARGE:
        return ESP_ERR_INVALID_SIZE;
    case RTM_CAPS_ERR_NOT_INIT:
    case RTM_CAPS_ERR_PORT:
        return ESP_ERR_INVALID_STATE;
    case RTM_CAPS_ERR_ACTIVE:
    case RTM_CAPS_ERR_ARG:
    case RTM_CAPS_ERR_NO_CAPS:
    case RTM_CAPS_ERR_CONFIG:
    default:
        return ESP_ERR_INVALID_ARG;
    }
}

esp_err_t heap_caps_add_region(intptr_t start, intptr_t end)
{
    if (start == 0 || end == 0 || end <= start) {
        return ESP_ERR_INVALID_ARG;
    }
    /* ESP-IDF takes the caps from its SoC table by address; here the
     * registered region that holds start plays that table's part. */
    const rtm_caps_region_t *home = rtm_caps_region_of((const void *)start);
    if (home == NULL) {
        return rtm_caps_registry() == NULL ? ESP_ERR_INVALID_STATE : ESP_ERR_NOT_FOUND;
    }
    uint32_t caps[RTM_CAPS_LEVELS];
    for (unsigned p = 0; p < RTM_CAPS_LEVELS; p++) {
        caps[p] = (uint32_t)rtm_caps_region_caps(home, p);
    }
    return heap_caps_add_region_with_caps(caps, start, end);
}

esp_err_t heap_caps_monitor_local_minimum_free_size_start(void)
{
    return rtm_caps_min_free_monitor_start() ? ESP_OK : ESP_FAIL;
}

esp_err_t heap_caps_monitor_local_minimum_free_size_stop(void)
{
    return rtm_caps_min_free_monitor_stop() ? ESP_OK : ESP_FAIL;
}

/* ------------------------------------------------------------------ */
/* multi_heap                                                          */

multi_heap_handle_t multi_heap_register(void *start, size_t size)
{
    /* A range past the end of the address space is no memory (the heap
     * core refuses it too; checked here before the slack is taken off). */
    if (start == NULL || size > UINTPTR_MAX - (uintptr_t)start) {
        return NULL;
    }
    size_t slack = (size_t)((RTM_HEAP_MEM_ALIGN - (uintptr_t)start % RTM_HEAP_MEM_ALIGN) %
                            RTM_HEAP_MEM_ALIGN);
    if (size <= slack) {
        return NULL;
    }
    rtm_heap_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.name = "multi_heap";
    return rtm_heap_init((uint8_t *)start + slack, size - slack, &cfg);
}

void multi_heap_set_lock(multi_heap_handle_t heap, void *lock)
{
    (void)heap;
    (void)lock;
}

ESP_NOINLINE void *multi_heap_malloc(multi_heap_handle_t heap, size_t size)
{
    rtm_alloc_site_t site = site_of(ESP_CALLER());
    return rtm_malloc_ex(heap, size, &site);
}

ESP_NOINLINE void *multi_heap_aligned_alloc(multi_heap_handle_t heap, size_t size, size_t alignment)
{
    if (alignment == 0) {
        /* rtm_heap_alloc_ex would read 0 as the granularity; this one
         * counts and reports the bad alignment, as before. */
        return rtm_aligned_alloc(heap, alignment, size);
    }
    rtm_alloc_site_t site = site_of(ESP_CALLER());
    return rtm_heap_alloc_ex(heap, size, alignment, &site);
}

ESP_NOINLINE void multi_heap_free(multi_heap_handle_t heap, void *p)
{
    rtm_alloc_site_t site = site_of(ESP_CALLER());
    rtm_free_ex(heap, p, &site);
}

ESP_NOINLINE void multi_heap_aligned_free(multi_heap_handle_t heap, void *p)
{
    rtm_alloc_site_t site = site_of(ESP_CALLER());
    rtm_free_ex(heap, p, &site);
}

ESP_NOINLINE void *multi_heap_realloc(multi_heap_handle_t heap, void *p, size_t size)
{
    rtm_alloc_site_t site = site_of(ESP_CALLER());
    return rtm_realloc_ex(heap, p, size, &site);
}

size_t multi_heap_get_allocated_size(multi_heap_handle_t heap, void *p)
{
    return rtm_usable_size(heap, p);
}

void *multi_heap_find_containing_block(multi_heap_handle_t heap, void *ptr)
{
    find_block_t f = {.target = (uintptr_t)ptr};
    if (heap == NULL || !rtm_heap_walk(heap, find_block_cb, &f)) {
        return NULL;
    }
    return f.ptr;
}

size_t multi_heap_free_size(multi_heap_handle_t heap)
{
    return rtm_heap_free_bytes(heap);
}

size_t multi_heap_minimum_free_size(multi_heap_handle_t heap)
{
    return rtm_heap_min_free_bytes(heap);
}

void multi_heap_get_info(multi_heap_handle_t heap, multi_heap_info_t *info)
{
    if (info == NULL) {
        return;
    }
    rtm_heap_info_t hi;
    if (!rtm_heap_info(heap, &hi)) {
        memset(info, 0, sizeof *info);
        return;
    }
    info->total_free_bytes = hi.free_bytes;
    info->total_allocated_bytes = hi.allocated_bytes;
    info->largest_free_block = hi.largest_free_block;
    info->minimum_free_bytes = hi.min_free_bytes;
    info->allocated_blocks = hi.used_blocks;
    info->free_blocks = hi.free_blocks;
    info->total_blocks = hi.used_blocks + hi.free_blocks;
}

size_t multi_heap_reset_minimum_free_bytes(multi_heap_handle_t heap)
{
    /* Two calls, not one atomic step: an allocation in between lowers the
     * mark after it was read. The core has no combined operation. */
    size_t old = rtm_heap_min_free_bytes(heap);
    rtm_heap_reset_min_free(heap);
    return old;
}

static bool dump_heap_cb(const rtm_block_info_t *block, void *ctx)
{
    (void)ctx;
    dump_block(block);
    return true;
}

void multi_heap_dump(multi_heap_handle_t heap)
{
    if (heap == NULL) {
        return; /* as multi_heap_walk: nothing to show */
    }
    rtm_line_t line;
    rtm_line_init(&line);
    rtm_line_str(&line, "heap '");
    rtm_line_str(&line, rtm_heap_name(heap));
    rtm_line_str(&line, "'");
    rtm_line_emit(&line);
    (void)rtm_heap_walk(heap, dump_heap_cb, NULL);
}

/* ------------------------------------------------------------------ */
/* Integrity checks and walks, ESP-IDF's way                           */
/*
 * ESP-IDF's checks print what they find and return false; its walks show
 * every block. rtm_heap_walk ends silently at a damaged block header, so a
 * heap is first scanned here: its walk (which ends false at damaged
 * structure) and, at levels >= 1, the canaries of each live block as
 * debug.h lays them out (size and head canary before the user bytes, tail
 * canary after), which name the damaged block. A live block's tail is read
 * only when the size in its head keeps it before the next block, so a
 * damaged size is caught, not followed. A heap that passes the scan gets
 * rtm_heap_check_silent, the full check that reports to no hook (the
 * default corruption hook would stop the program). The walks below deliver
 * each block one step late, once the next block bounds it, with its
 * verdict.
 */

typedef struct scan_verdict {
    const char *problem; /* NULL: the block is sound */
    const void *address;
    uint32_t expected;
    uint32_t found;
} scan_verdict_t;

static uint32_t read_word(const void *at)
{
    uint32_t w;
    memcpy(&w, at, sizeof w);
    return w;
}

/* The verdict on one block as the walk shows it, bounded by limit (the
 * next block's address or the heap's end). */
static scan_verdict_t judge_block(const rtm_block_info_t *b, uintptr_t limit)
{
    scan_verdict_t v = {NULL, NULL, 0, 0};
    if (rtm_debug_poison_level() < 1 || !b->used) {
        return v;
    }
    const uint8_t *user = b->ptr;
    uint32_t head = read_word(user - 4);
    if (head != RTM_POISON_HEAD_CANARY) {
        v.problem = "bad head canary";
        v.address = user - 4;
        v.expected = RTM_POISON_HEAD_CANARY;
        v.found = head;
        return v;
    }
    /* The walk shows the size in the head cut to what the block can hold:
     * a size that differs was cut, so it is damaged. */
    uint32_t size_word = read_word(user - 8);
    uintptr_t room = limit > (uintptr_t)user ? limit - (uintptr_t)user : 0;
    if ((size_t)size_word != b->size || room < 4u || b->size > room - 4u) {
        v.problem = "bad size (the block would reach into the next one)";
        v.address = user - 8;
        v.found = size_word;
        return v;
    }
    uint32_t tail = read_word(user + b->size);
    if (tail != RTM_POISON_TAIL_CANARY) {
        v.problem = "bad tail canary";
        v.address = user + b->size;
        v.expected = RTM_POISON_TAIL_CANARY;
        v.found = tail;
    }
    return v;
}

/* Where a block shown by the walk ends, as far as the walk can tell. */
static uintptr_t shown_end(const rtm_block_info_t *b)
{
    uintptr_t end = (uintptr_t)b->ptr + b->size;
    return (rtm_debug_poison_level() >= 1 && b->used) ? end + 4u : end;
}

/* Receives each block with its verdict; false stops the walk. */
typedef bool (*scan_fn)(const rtm_block_info_t *block, const scan_verdict_t *verdict, void *ctx);

typedef struct heap_scan {
    scan_fn fn;
    void *ctx;
    uintptr_t end;           /* the heap's end: the bound of the last block */
    rtm_block_info_t pending; /* the block before the current one... */
    scan_verdict_t verdict;   /* ...and its verdict against the heap's end */
    bool have_pending;
    bool stopped;    /* fn asked to stop */
    size_t problems; /* blocks found damaged */
} heap_scan_t;

static bool deliver(heap_scan_t *sc, const rtm_block_info_t *b, const scan_verdict_t *v)
{
    if (v->problem != NULL) {
        sc->problems++;
    }
    if (!sc->fn(b, v, sc->ctx)) {
        sc->stopped = true;
    }
    return !sc->stopped;
}

/* Every read of a block's bytes happens here, under the heap lock, with
 * the heap's end as bound; the next block, when it comes, only narrows the
 * bound of the pending one (no second read). */
static bool scan_block(const rtm_block_info_t *block, void *ctx)
{
    heap_scan_t *sc = ctx;
    bool go_on = true;
    if (sc->have_pending) {
        scan_verdict_t v = sc->verdict;
        const rtm_block_info_t *b = &sc->pending;
        uintptr_t next = (uintptr_t)block->ptr;
        if (v.problem == NULL && rtm_debug_poison_level() >= 1 && b->used &&
            (next < (uintptr_t)b->ptr + 4u || b->size > next - (uintptr_t)b->ptr - 4u)) {
            v.problem = "bad size (the block would reach into the next one)";
            v.address = (const uint8_t *)b->ptr - 8;
            v.expected = 0;
            v.found = 0;
        }
        go_on = deliver(sc, b, &v);
    }
    sc->pending = *block;
    sc->verdict = judge_block(block, sc->end);
    sc->have_pending = go_on;
    return go_on;
}

/* Scans heap, [start, end) the memory it manages (for bounds and for the
 * damaged remainder); calls fn for every block and, if the heap's
 * structure is damaged, once more for the rest of the heap from the end of
 * the last sound block (verdict "damaged block header"). Returns the
 * number of damaged blocks (0: sound as far as the scan sees). */
static size_t scan_heap(rtm_heap_t *heap, uintptr_t start, uintptr_t end, scan_fn fn, void *ctx)
{
    heap_scan_t sc;
    memset(&sc, 0, sizeof sc);
    sc.fn = fn;
    sc.ctx = ctx;
    sc.end = end;
    bool whole = rtm_heap_walk(heap, scan_block, &sc);
    if (sc.stopped) {
        return sc.problems;
    }
    if (sc.have_pending && !deliver(&sc, &sc.pending, &sc.verdict)) {
        return sc.problems;
    }
    if (!whole) {
        uintptr_t from = sc.have_pending ? shown_end(&sc.pending) : start;
        rtm_block_info_t rest = {(void *)from, end > from ? (size_t)(end - from) : 0u, true};
        scan_verdict_t v = {"damaged block header (the walk cannot go past it)", (void *)from, 0, 0};
        (void)deliver(&sc, &rest, &v);
    }
    return sc.problems;
}

static void print_corrupt(const char *heap_name, const rtm_block_info_t *b, const scan_verdict_t *v)
{
    rtm_line_t line;
    rtm_line_init(&line);
    rtm_line_str(&line, "CORRUPT HEAP: ");
    rtm_line_str(&line, v->problem);
    rtm_line_str(&line, " at ");
    rtm_line_ptr(&line, v->address);
    rtm_line_str(&line, " (block ");
    rtm_line_ptr(&line, b->ptr);
    rtm_line_str(&line, ", heap '");
    rtm_line_str(&line, heap_name);
    rtm_line_str(&line, "')");
    if (v->expected != 0) {
        rtm_line_str(&line, " expected ");
        rtm_line_hex(&line, v->expected);
        rtm_line_str(&line, " found ");
        rtm_line_hex(&line, v->found);
    }
    rtm_line_emit(&line);
}

typedef struct check_print {
    const char *heap_name;
    bool print_errors;
} check_print_t;

static bool check_block_cb(const rtm_block_info_t *block, const scan_verdict_t *v, void *ctx)
{
    check_print_t *c = ctx;
    if (v->problem != NULL && c->print_errors) {
        print_corrupt(c->heap_name, block, v);
    }
    return true;
}

/* The memory a heap from rtm_heap_init manages: the region it was given. */
static uintptr_t heap_end_of(rtm_heap_t *heap)
{
    rtm_heap_info_t hi;
    return rtm_heap_info(heap, &hi) ? (uintptr_t)heap + hi.total_bytes : (uintptr_t)heap;
}

/* The scan of one heap; true if it found nothing. */
static bool scan_ok(rtm_heap_t *heap, uintptr_t start, uintptr_t end, const char *name,
                    bool print_errors)
{
    check_print_t c = {name, print_errors};
    return scan_heap(heap, start, end, check_block_cb, &c) == 0;
}

static bool region_scan_ok(const rtm_caps_region_t *r, bool print_errors)
{
    return scan_ok(rtm_caps_region_heap(r), (uintptr_t)rtm_caps_region_start(r),
                   (uintptr_t)rtm_caps_region_end(r), rtm_caps_region_name(r), print_errors);
}

static bool esp_selects(const rtm_caps_region_t *r, uint32_t caps)
{
    return (caps & MALLOC_CAP_INVALID) != 0 || rtm_caps_region_matches(r, caps);
}

/* ESP-IDF's line for a problem the full check found in a heap. */
static void print_check_problem(const char *kind, const char *name, const rtm_check_report_t *r)
{
    rtm_line_t line;
    rtm_line_init(&line);
    rtm_line_str(&line, "CORRUPT HEAP: ");
    rtm_line_str(&line, kind);
    rtm_line_str(&line, " '");
    rtm_line_str(&line, name);
    rtm_line_str(&line, "': ");
    rtm_line_str(&line, r->problem);
    rtm_line_str(&line, " at ");
    rtm_line_ptr(&line, r->address);
    rtm_line_emit(&line);
}

/* The scan, then, for a sound one, the full check, which reports to no
 * hook (rtm_heap_check_silent). */
static bool region_check_ok(const rtm_caps_region_t *r, bool print_errors)
{
    if (!region_scan_ok(r, print_errors)) {
        return false;
    }
    rtm_check_report_t report = {NULL, NULL};
    if (rtm_heap_check_silent(rtm_caps_region_heap(r), &report)) {
        return true;
    }
    if (print_errors) {
        print_check_problem("region", rtm_caps_region_name(r), &report);
    }
    return false;
}

bool heap_caps_check_integrity(uint32_t caps, bool print_errors)
{
    bool sound = true;
    for (size_t i = 0; i < rtm_caps_region_count(); i++) {
        const rtm_caps_region_t *r = rtm_caps_region_at(i);
        if (esp_selects(r, caps) && !region_check_ok(r, print_errors)) {
            sound = false;
        }
    }
    /* The registry's own index; its heaps were checked above (and
     * rtm_caps_check reports to no hook either). */
    rtm_caps_check_report_t index = {0};
    if (sound && !rtm_caps_check(caps, false, &index)) {
        if (print_errors) {
            print_check_problem("registry", index.region != NULL ? rtm_caps_region_name(index.region) : "caps",
                                &index.heap);
        }
        sound = false;
    }
    return sound;
}

bool heap_caps_check_integrity_all(bool print_errors)
{
    return heap_caps_check_integrity(MALLOC_CAP_INVALID, print_errors);
}

bool heap_caps_check_integrity_addr(intptr_t addr, bool print_errors)
{
    const rtm_caps_region_t *r = rtm_caps_region_of((const void *)addr);
    if (r == NULL) {
        return rtm_caps_check_addr((const void *)addr, print_errors, NULL); /* says so */
    }
    return region_check_ok(r, print_errors);
}

bool multi_heap_check(multi_heap_handle_t heap, bool print_errors)
{
    if (heap != NULL &&
        !scan_ok(heap, (uintptr_t)heap, heap_end_of(heap), rtm_heap_name(heap), print_errors)) {
        return false;
    }
    rtm_check_report_t report = {NULL, NULL};
    bool ok = rtm_heap_check_silent(heap, &report);
    if (!ok && print_errors) {
        print_check_problem("multi_heap", rtm_heap_name(heap), &report);
    }
    return ok;
}

typedef struct esp_walk {
    heap_caps_walker_cb_t fn;
    void *user_data;
    walker_heap_into_t heap_info;
} esp_walk_t;

static bool esp_walk_cb(const rtm_block_info_t *block, const scan_verdict_t *v, void *ctx)
{
    esp_walk_t *w = ctx;
    walker_block_info_t info = {
        .ptr = block->ptr, .size = block->size, .used = block->used, .corrupt = v->problem != NULL};
    /* false ends this heap only, as on ESP-IDF. */
    return w->fn(w->heap_info, info, w->user_data);
}

void heap_caps_walk(uint32_t caps, heap_caps_walker_cb_t walker_func, void *user_data)
{
    if (walker_func == NULL) {
        return;
    }
    for (size_t i = 0; i < rtm_caps_region_count(); i++) {
        const rtm_caps_region_t *r = rtm_caps_region_at(i);
        if (!esp_selects(r, caps)) {
            continue;
        }
        esp_walk_t w = {walker_func, user_data,
                        {(intptr_t)(uintptr_t)rtm_caps_region_start(r),
                         (intptr_t)(uintptr_t)rtm_caps_region_end(r)}};
        (void)scan_heap(rtm_caps_region_heap(r), (uintptr_t)w.heap_info.start,
                        (uintptr_t)w.heap_info.end, esp_walk_cb, &w);
    }
}

void heap_caps_walk_all(heap_caps_walker_cb_t walker_func, void *user_data)
{
    heap_caps_walk(MALLOC_CAP_INVALID, walker_func, user_data);
}

typedef struct mh_walk {
    multi_heap_walker_cb_t fn;
    void *user_data;
} mh_walk_t;

static bool mh_walk_cb(const rtm_block_info_t *block, const scan_verdict_t *v, void *ctx)
{
    mh_walk_t *w = ctx;
    int used = v->problem != NULL ? MULTI_HEAP_BLOCK_CORRUPT : (block->used ? 1 : 0);
    return w->fn(block->ptr, block->size, used, w->user_data);
}

void multi_heap_walk(multi_heap_handle_t heap, multi_heap_walker_cb_t walker_func, void *user_data)
{
    if (walker_func == NULL || heap == NULL) {
        return;
    }
    mh_walk_t w = {walker_func, user_data};
    (void)scan_heap(heap, (uintptr_t)heap, heap_end_of(heap), mh_walk_cb, &w);
}
