/*
 * ESP-IDF multi_heap API on rtmem (compat layer; see docs/caps.md).
 *
 * A multi_heap is one rtmem heap (TLSF, 8-byte granularity): the names,
 * types and argument orders are ESP-IDF's, so code written against
 * components/heap/include/multi_heap.h compiles unchanged. Differences:
 *   - multi_heap_register aligns start up to 8 bytes (ESP-IDF: 4) and the
 *     heap has rtmem's own lock, so multi_heap_set_lock does nothing;
 *   - a bad pointer is reported through rtmem's misuse hook (heap.h) and
 *     ignored instead of asserting; a NULL handle gives NULL/0/false or
 *     does nothing, where ESP-IDF asserts in realloc, check, walk, dump;
 *   - multi_heap_realloc(heap, p, 0) counts the freed block in
 *     multi_heap_free_size (ESP-IDF v5.5.5 does not);
 *   - multi_heap_check(print_errors) and multi_heap_dump write through
 *     rtmem's output hook (output.h), not printf;
 *   - not provided: multi_heap_aligned_alloc_offs,
 *     multi_heap_restore_minimum_free_bytes, multi_heap_get_full_block_size
 *     (ESP-IDF internals).
 * Thread safety and costs are rtmem's (heap.h); none of these may be called
 * from an ISR.
 */
#ifndef RTMEM_COMPAT_MULTI_HEAP_H
#define RTMEM_COMPAT_MULTI_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

/* An rtmem heap (rtm_heap_t *). */
typedef struct rtm_heap *multi_heap_handle_t;

/* ESP-IDF's layout, field for field. */
typedef struct {
    size_t total_free_bytes;      /* free bytes */
    size_t total_allocated_bytes; /* usable bytes of live blocks */
    size_t largest_free_block;    /* largest size multi_heap_malloc can give now */
    size_t minimum_free_bytes;    /* lifetime minimum of total_free_bytes */
    size_t allocated_blocks;
    size_t free_blocks;
    size_t total_blocks;          /* allocated_blocks + free_blocks */
} multi_heap_info_t;

/* Creates a heap in start[0..size). NULL if the memory is NULL, runs past
 * the end of the address space, or is too small once aligned. O(1). */
multi_heap_handle_t multi_heap_register(void *start, size_t size);

/* Does nothing: every rtmem heap already has its own lock (port.h). */
void multi_heap_set_lock(multi_heap_handle_t heap, void *lock);

void *multi_heap_malloc(multi_heap_handle_t heap, size_t size);
/* Note ESP-IDF's argument order: size, then alignment. */
void *multi_heap_aligned_alloc(multi_heap_handle_t heap, size_t size, size_t alignment);
void multi_heap_free(multi_heap_handle_t heap, void *p);
void multi_heap_aligned_free(multi_heap_handle_t heap, void *p);
void *multi_heap_realloc(multi_heap_handle_t heap, void *p, size_t size);

/* Usable bytes of a live block (0 for a bad pointer, which is reported). */
size_t multi_heap_get_allocated_size(multi_heap_handle_t heap, void *p);

/* The start of the block (used or free) that contains ptr, or NULL.
 * O(blocks). */
void *multi_heap_find_containing_block(multi_heap_handle_t heap, void *ptr);

size_t multi_heap_free_size(multi_heap_handle_t heap);
size_t multi_heap_minimum_free_size(multi_heap_handle_t heap);
void multi_heap_get_info(multi_heap_handle_t heap, multi_heap_info_t *info);

/* Sets the minimum-ever free mark to the current free bytes and returns
 * the mark as it was. */
size_t multi_heap_reset_minimum_free_bytes(multi_heap_handle_t heap);

/* Checks the heap as heap_caps_check_integrity does (esp_heap_caps.h):
 * prints "CORRUPT HEAP: ..." with print_errors and returns false, never
 * stopping the program for what its scan sees. O(blocks). */
bool multi_heap_check(multi_heap_handle_t heap, bool print_errors);

/* One line per block through the output hook; nothing for a NULL heap. */
void multi_heap_dump(multi_heap_handle_t heap);

/* block_used of a block that failed its checks (rtmem's addition; code
 * that tests block_used as a boolean sees it as used). */
#define MULTI_HEAP_BLOCK_CORRUPT (-1)

/* Walk callback: return false to stop. block_used is 1, 0 or
 * MULTI_HEAP_BLOCK_CORRUPT. */
typedef bool (*multi_heap_walker_cb_t)(void *block_ptr, size_t block_size, int block_used,
                                       void *user_data);
/* Calls walker_func for every block in address order, as heap_caps_walk
 * does for one heap (corrupt blocks flagged, the rest of a heap with a
 * damaged header passed as one corrupt block). The heap lock is held
 * while the walk runs: the callback must not call into this heap. */
void multi_heap_walk(multi_heap_handle_t heap, multi_heap_walker_cb_t walker_func, void *user_data);

#ifdef __cplusplus
}
#endif

#endif
