/*
 * ESP-IDF heap_caps API on rtmem (compat layer; docs/caps.md has the full
 * mapping table).
 *
 * Code written for ESP-IDF's esp_heap_caps.h (the examples of its heap
 * documentation, drivers that ask MALLOC_CAP_DMA buffers, diagnostics that
 * print heap_caps_get_info) compiles and runs unchanged on any chip with an
 * rtmem capability registry, and on a PC with the ESP32 preset:
 *
 *     #include "esp_heap_caps.h"
 *     #include "rtmem/presets/esp32.h"
 *
 *     rtm_preset_esp32_init(NULL);          // what ESP-IDF does at boot
 *     uint8_t *buf = heap_caps_malloc(4092, MALLOC_CAP_DMA);
 *     ...
 *     heap_caps_free(buf);
 *
 * Every function works on the active registry (rtmem/caps.h) and behaves as
 * its rtm_caps_* counterpart: the same selection rule as ESP-IDF, the
 * failed-allocation callback called once per failed request with ESP-IDF's
 * function names, and the application's call site recorded for tracing.
 * Checks print and return false, walks show every block (damaged ones
 * flagged), regions can be added at run time (also inside a buffer from a
 * heap), local minimum monitoring and per-task information
 * (esp_heap_task_info.h) are there. docs/caps.md has the table of what
 * still differs from ESP-IDF and why (bad pointers are reported and
 * ignored instead of asserting; printing goes through rtmem's output hook;
 * 8-byte blocks; sizes at poisoning levels >= 1; ...).
 * Thread safety: as rtm_caps_* (caps.h). None may be called from an ISR.
 */
#ifndef RTMEM_COMPAT_ESP_HEAP_CAPS_H
#define RTMEM_COMPAT_ESP_HEAP_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "multi_heap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* esp_err.h subset, unless the real one came first. */
#ifndef ESP_OK
typedef int esp_err_t;
#define ESP_OK 0
#define ESP_FAIL (-1)
#define ESP_ERR_NO_MEM 0x101
#define ESP_ERR_INVALID_ARG 0x102
#define ESP_ERR_INVALID_STATE 0x103
#define ESP_ERR_INVALID_SIZE 0x104
#define ESP_ERR_NOT_FOUND 0x105
#endif

/* The values of ESP-IDF's esp_heap_caps.h (== RTM_CAP_*; unsigned here so
 * that bit 31 is well defined). */
#define MALLOC_CAP_EXEC (1u << 0)
#define MALLOC_CAP_32BIT (1u << 1)
#define MALLOC_CAP_8BIT (1u << 2)
#define MALLOC_CAP_DMA (1u << 3)
#define MALLOC_CAP_PID2 (1u << 4)
#define MALLOC_CAP_PID3 (1u << 5)
#define MALLOC_CAP_PID4 (1u << 6)
#define MALLOC_CAP_PID5 (1u << 7)
#define MALLOC_CAP_PID6 (1u << 8)
#define MALLOC_CAP_PID7 (1u << 9)
#define MALLOC_CAP_SPIRAM (1u << 10)
#define MALLOC_CAP_INTERNAL (1u << 11)
#define MALLOC_CAP_DEFAULT (1u << 12)
#define MALLOC_CAP_IRAM_8BIT (1u << 13)
#define MALLOC_CAP_RETENTION (1u << 14)
#define MALLOC_CAP_RTCRAM (1u << 15)
#define MALLOC_CAP_SPM (1u << 16)
#define MALLOC_CAP_TCM MALLOC_CAP_SPM /* ESP-IDF's deprecated alias */
#define MALLOC_CAP_DMA_DESC_AHB (1u << 17)
#define MALLOC_CAP_DMA_DESC_AXI (1u << 18)
#define MALLOC_CAP_CACHE_ALIGNED (1u << 19)
#define MALLOC_CAP_SIMD (1u << 20)
#define MALLOC_CAP_SPIRAM_NO_ENC (1u << 21)
#define MALLOC_CAP_INVALID (1u << 31)

/* Failed-allocation callback: requested size, caps and the name of the
 * heap_caps_* function that failed. */
typedef void (*esp_alloc_failed_hook_t)(size_t size, uint32_t caps, const char *function_name);

/* Registers the callback with the active registry. ESP_ERR_INVALID_ARG for
 * NULL, ESP_ERR_INVALID_STATE when no registry is active (initialise the
 * preset first; a later rtm_caps_init forgets it). */
esp_err_t heap_caps_register_failed_alloc_callback(esp_alloc_failed_hook_t callback);

void *heap_caps_malloc(size_t size, uint32_t caps);
void heap_caps_free(void *ptr);
void *heap_caps_realloc(void *ptr, size_t size, uint32_t caps);
/* alignment: a power of two; 0 or not a power of two, or size 0, gives
 * NULL, no callback (as ESP-IDF). */
void *heap_caps_aligned_alloc(size_t alignment, size_t size, uint32_t caps);
void heap_caps_aligned_free(void *ptr); /* = heap_caps_free (deprecated in ESP-IDF) */
/* As ESP-IDF: n * size overflowing, n or size 0, or a bad alignment give
 * NULL without a report; a failure is reported as heap_caps_aligned_alloc's
 * (the function ESP-IDF allocates through) with the product. */
void *heap_caps_aligned_calloc(size_t alignment, size_t n, size_t size, uint32_t caps);
/* As ESP-IDF, whose test is on size, not on the product: size 0 gives NULL
 * without a report; n 0 gives NULL reported with size 0; n * size
 * overflowing is reported with the product as size_t arithmetic wraps it. */
void *heap_caps_calloc(size_t n, size_t size, uint32_t caps);

/* Sums over the heaps that have every bit of caps (caps 0: every heap).
 * No heap has MALLOC_CAP_INVALID: with it in caps these give 0 and an
 * all-zero info, and print_heap_info says so, as on ESP-IDF. */
size_t heap_caps_get_total_size(uint32_t caps);
size_t heap_caps_get_free_size(uint32_t caps);
size_t heap_caps_get_minimum_free_size(uint32_t caps);
size_t heap_caps_get_largest_free_block(uint32_t caps);
void heap_caps_get_info(multi_heap_info_t *info, uint32_t caps);
void heap_caps_print_heap_info(uint32_t caps);

/* Check every heap that has all of caps (MALLOC_CAP_INVALID, or _all: every
 * heap; _addr: the heap holding addr, false if none). A problem is printed
 * (print_errors; "CORRUPT HEAP: ..." through the output hook) and gives
 * false; the program goes on whatever the debug layer's abort setting
 * (debug.h): each heap is first scanned with its walk and the canaries of
 * its live blocks, which report to no hook, and only a heap found sound
 * goes on to rtm_caps_check. What that scan cannot see (level 2 fill of
 * free blocks, free-list links, counters) still reaches the corruption
 * hook (docs/caps.md, differences). O(blocks). */
bool heap_caps_check_integrity_all(bool print_errors);
bool heap_caps_check_integrity(uint32_t caps, bool print_errors);
bool heap_caps_check_integrity_addr(intptr_t addr, bool print_errors);

/* Lets the default (malloc) family use external memory for requests
 * larger than limit: rtm_caps_extmem_enable. */
void heap_caps_malloc_extmem_enable(size_t limit);

/* num further arguments, each a uint32_t caps set, tried in order. A
 * failure (size > 0) is reported once, with the last caps set read
 * (MALLOC_CAP_DEFAULT if num is 0), as ESP-IDF. realloc_prefer with size 0
 * frees ptr if num > 0 and leaves it alone if num is 0. calloc_prefer, as
 * ESP-IDF: its report gives the element size (not n * size); size 0 gives
 * NULL without a report, n 0 or an overflowing product a failure. */
void *heap_caps_malloc_prefer(size_t size, size_t num, ...);
void *heap_caps_realloc_prefer(void *ptr, size_t size, size_t num, ...);
void *heap_caps_calloc_prefer(size_t n, size_t size, size_t num, ...);

/* Every block of the selected heaps, one line each, through the output hook. */
void heap_caps_dump(uint32_t caps);
void heap_caps_dump_all(void);

/* Usable size of a live block; 0 for NULL, 0 (reported) for a bad
 * pointer (ESP-IDF asserts on both). */
size_t heap_caps_get_allocated_size(void *ptr);
/* Usable size of the live block containing ptr (any address inside it);
 * 0 if ptr is in no live block. O(blocks of its region). */
size_t heap_caps_get_containing_block_size(void *ptr);

/* ESP-IDF's spelling, "into" included. */
typedef struct walker_heap_info {
    intptr_t start; /* region start */
    intptr_t end;   /* region end (one past) */
} walker_heap_into_t;

typedef struct walker_block_info {
    void *ptr;    /* block data */
    size_t size;  /* its bytes (see heap_caps_walk) */
    bool used;
    bool corrupt; /* rtmem's addition: the block failed its checks (see heap_caps_walk) */
} walker_block_info_t;

/* Return false to skip the rest of the current heap. */
typedef bool (*heap_caps_walker_cb_t)(walker_heap_into_t heap_info, walker_block_info_t block_info,
                                      void *user_data);

/* Calls walker_func for every block of every selected heap (caps as for
 * heap_caps_check_integrity; MALLOC_CAP_INVALID: all), in address order,
 * mostly with that heap's lock held (the callback must not call into the
 * heap it is shown). A live block whose canaries are broken (poisoning
 * levels >= 1) is passed with corrupt set, and the walk goes on; if a
 * block header is damaged, the rest of that heap from the end of the last
 * sound block is passed as one block with corrupt set, and the walk goes
 * on with the next heap. Sizes: the usable bytes of the block; at
 * poisoning levels >= 1 a live block is shown by its user pointer and
 * requested size (docs/caps.md, differences). O(blocks). */
void heap_caps_walk(uint32_t caps, heap_caps_walker_cb_t walker_func, void *user_data);
void heap_caps_walk_all(heap_caps_walker_cb_t walker_func, void *user_data);

/* From esp_heap_caps_init.h: registers [start, end) with three priority
 * levels. ESP_ERR_INVALID_ARG (NULL caps, zero or reversed range, empty
 * caps), ESP_FAIL (overlap), ESP_ERR_NO_MEM (no free region slot),
 * ESP_ERR_INVALID_SIZE (too small or too large), ESP_ERR_INVALID_STATE (no
 * registry). As on ESP-IDF, the new heap goes to the head of the search
 * order: within each priority level it is tried before every heap
 * registered before it. */
esp_err_t heap_caps_add_region_with_caps(const uint32_t caps[], intptr_t start, intptr_t end);

/* From esp_heap_caps_init.h: registers [start, end) with the caps of the
 * memory it lies in. ESP-IDF looks those up in its SoC table by address;
 * here they are the three levels of the registered region that contains
 * start, so the range must be memory the application took from that
 * region (a live block: nested registration, rtm_caps_add_region).
 * ESP_ERR_NOT_FOUND if start is in no region, ESP_ERR_INVALID_STATE if no
 * registry is active; otherwise as heap_caps_add_region_with_caps
 * (ESP_FAIL when the range is not inside one live block). */
esp_err_t heap_caps_add_region(intptr_t start, intptr_t end);

/* Minimum free from now on (start) instead of since boot, until stop
 * restores the lifetime minimum: rtm_caps_min_free_monitor_start/_stop.
 * heap_caps_get_minimum_free_size, heap_caps_get_info and
 * heap_caps_print_heap_info report the window's minimum meanwhile.
 * ESP_FAIL: start while started, stop while not started (or no registry). */
esp_err_t heap_caps_monitor_local_minimum_free_size_start(void);
esp_err_t heap_caps_monitor_local_minimum_free_size_stop(void);

#ifdef __cplusplus
}
#endif

#endif
