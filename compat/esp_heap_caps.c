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
    void *p = rtm_caps_alloc_ex(alignment, n * size, caps, "heap_caps_aligned_calloc", &site);
    if (p != NULL) {
        memset(p, 0, n * size);
    }
    return p;
}

ESP_NOINLINE void *heap_caps_calloc(size_t n, size_t size, uint32_t caps)
{
    if (n == 0 || size == 0) {
        return NULL;
    }
    if (n > SIZE_MAX / size) {
        rtm_caps_report_alloc_failed(SIZE_MAX, caps, "heap_caps_calloc");
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

ESP_NOINLINE void *heap_caps_realloc_prefer(void *ptr, size_t size, size_t num, ...)
{
    /* A bad pointer is reported once here, rather than once per caps set
     * tried, and is not an allocation failure. */
    if (ptr != NULL && size > 0 && rtm_caps_usable_size(ptr) == 0) {
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
    size_t bytes = overflow ? SIZE_MAX : n * size;
    uint32_t caps = MALLOC_CAP_DEFAULT;
    void *p = NULL;
    va_list ap;
    va_start(ap, num);
    for (size_t i = 0; i < num && p == NULL && bytes > 0; i++) {
        caps = va_arg(ap, uint32_t); /* read even on overflow: the report names the last */
        if (!overflow) {
            p = rtm_caps_alloc_ex(0, bytes, caps, NULL, &site);
        }
    }
    va_end(ap);
    if (p != NULL) {
        memset(p, 0, bytes);
    } else if (bytes > 0) {
        rtm_caps_report_alloc_failed(bytes, caps, "heap_caps_calloc_prefer");
    }
    return p;
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */

size_t heap_caps_get_total_size(uint32_t caps)
{
    return rtm_caps_total_size(caps);
}

size_t heap_caps_get_free_size(uint32_t caps)
{
    return rtm_caps_free_size(caps);
}

size_t heap_caps_get_minimum_free_size(uint32_t caps)
{
    return rtm_caps_min_free_size(caps);
}

size_t heap_caps_get_largest_free_block(uint32_t caps)
{
    return rtm_caps_largest_free_block(caps);
}

void heap_caps_get_info(multi_heap_info_t *info, uint32_t caps)
{
    if (info == NULL) {
        return;
    }
    rtm_caps_info_t ci;
    rtm_caps_get_info(caps, &ci); /* zeroed when no registry */
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
    rtm_caps_print_summary(caps);
}

bool heap_caps_check_integrity_all(bool print_errors)
{
    return rtm_caps_check_all(print_errors, NULL);
}

bool heap_caps_check_integrity(uint32_t caps, bool print_errors)
{
    return rtm_caps_check(caps, print_errors, NULL);
}

bool heap_caps_check_integrity_addr(intptr_t addr, bool print_errors)
{
    return rtm_caps_check_addr((const void *)addr, print_errors, NULL);
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

typedef struct esp_walk {
    heap_caps_walker_cb_t fn;
    void *user_data;
} esp_walk_t;

static bool esp_walk_cb(const rtm_caps_region_t *region, const rtm_block_info_t *block, void *ctx)
{
    esp_walk_t *w = ctx;
    walker_heap_into_t heap_info = {
        .start = (intptr_t)(uintptr_t)rtm_caps_region_start(region),
        .end = (intptr_t)(uintptr_t)rtm_caps_region_end(region),
    };
    walker_block_info_t block_info = {.ptr = block->ptr, .size = block->size, .used = block->used};
    /* rtmem's walk has ESP-IDF's meaning: false ends this region only. */
    return w->fn(heap_info, block_info, w->user_data);
}

void heap_caps_walk(uint32_t caps, heap_caps_walker_cb_t walker_func, void *user_data)
{
    if (walker_func == NULL) {
        return;
    }
    esp_walk_t w = {walker_func, user_data};
    (void)rtm_caps_walk(caps, esp_walk_cb, &w);
}

void heap_caps_walk_all(heap_caps_walker_cb_t walker_func, void *user_data)
{
    heap_caps_walk(MALLOC_CAP_INVALID, walker_func, user_data);
}

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

/* ------------------------------------------------------------------ */
/* multi_heap                                                          */

multi_heap_handle_t multi_heap_register(void *start, size_t size)
{
    if (start == NULL) {
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
    return rtm_heap_alloc_ex(heap, size, 0, &site);
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

bool multi_heap_check(multi_heap_handle_t heap, bool print_errors)
{
    rtm_check_report_t report = {NULL, NULL};
    bool ok = rtm_heap_check(heap, &report);
    if (!ok && print_errors) {
        rtm_line_t line;
        rtm_line_init(&line);
        rtm_line_str(&line, "multi_heap '");
        rtm_line_str(&line, rtm_heap_name(heap));
        rtm_line_str(&line, "': ");
        rtm_line_str(&line, report.problem);
        rtm_line_str(&line, " at ");
        rtm_line_ptr(&line, report.address);
        rtm_line_emit(&line);
    }
    return ok;
}

static bool dump_heap_cb(const rtm_block_info_t *block, void *ctx)
{
    (void)ctx;
    dump_block(block);
    return true;
}

void multi_heap_dump(multi_heap_handle_t heap)
{
    rtm_line_t line;
    rtm_line_init(&line);
    rtm_line_str(&line, "heap '");
    rtm_line_str(&line, rtm_heap_name(heap));
    rtm_line_str(&line, "'");
    rtm_line_emit(&line);
    (void)rtm_heap_walk(heap, dump_heap_cb, NULL);
}

typedef struct mh_walk {
    multi_heap_walker_cb_t fn;
    void *user_data;
} mh_walk_t;

static bool mh_walk_cb(const rtm_block_info_t *block, void *ctx)
{
    mh_walk_t *w = ctx;
    return w->fn(block->ptr, block->size, block->used ? 1 : 0, w->user_data);
}

void multi_heap_walk(multi_heap_handle_t heap, multi_heap_walker_cb_t walker_func, void *user_data)
{
    if (walker_func == NULL) {
        return;
    }
    mh_walk_t w = {walker_func, user_data};
    (void)rtm_heap_walk(heap, mh_walk_cb, &w);
}
