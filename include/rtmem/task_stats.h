/*
 * rtmem per-task accounting: current and peak bytes and blocks per task and
 * per heap, the blocks a task owns, totals of deleted tasks.
 *
 *     RTM_TASK_STATS_DEFINE(stats_mem, 16, 512);     // 16 tasks, 512 live blocks
 *     rtm_task_stats_t *s = rtm_task_stats_init(stats_mem, sizeof stats_mem, 16,
 *                                               RTM_TASK_STATS_KEEP_DELETED);
 *     rtm_task_stats_attach(s, heap);          // or in an rtm_observer_chain
 *     rtm_task_stats_set_name(s, rtm_port_task_id(), "wifi");
 *
 * It is a heap observer (heap.h), like the tracer, and independent of it:
 * it keeps its own table block -> (owning task, requested size, heap), an
 * open-addressing hash (linear probing, at most half full, backward-shift
 * deletion), so a free is credited to the task that allocated the block,
 * whichever task frees it. To use it with the tracer on the same heap, put
 * both observers in an rtm_observer_chain (observer.h).
 *
 * Tasks are rtm_port_task_id(): FreeRTOS task handles, pthread_self() on
 * POSIX. Names come from rtm_task_stats_set_name (POSIX threads, or a
 * FreeRTOS application passing pcTaskGetName()); asking the FreeRTOS port
 * for names itself is not done yet.
 *
 * Accounting rules (all figures are requested bytes):
 *   - an allocation is credited to the calling task and to its heap;
 *   - a free is debited from the block's owner, not the freeing task;
 *   - a reallocation keeps the block's owner and changes its bytes (the
 *     block count is unchanged, also when the block moves); a realloc of
 *     a block not in the table counts as an allocation by the caller;
 *   - a block handed out at the address of one still in the table (its
 *     free went unseen: observer detached, heap made again) ends that one
 *     first, as a free by its owner.
 * Limits, all counted, never silent:
 *   - task table full: the task's blocks go to the "other" bucket
 *     (task_overflow counts those allocations);
 *   - block table full: the block is not accounted at all
 *     (untracked_blocks), and its later free is an unknown free;
 *   - more than RTM_TASK_STATS_MAX_HEAPS heaps: per-heap figures of the
 *     extra heaps are lost (heap_overflow); task figures are kept.
 *
 * Cost: each event takes the stats lock (inside the heap lock) and does a
 * scan of the task table (O(tasks), with a one-entry cache of the last
 * task) and an expected O(1) hash operation. rtm_task_stats_task_deleted
 * and rtm_task_stats_blocks_of scan the block table: O(block slots).
 * Lock order: heap lock, tracer lock, stats lock. Not from an ISR unless
 * the port lock is ISR-safe. Bad input (NULL, memory not from init) does
 * nothing and returns 0/false/NULL.
 */
#ifndef RTMEM_TASK_STATS_H
#define RTMEM_TASK_STATS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtmem/config.h"
#include "rtmem/heap.h"
#include "rtmem/port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options (config.h): RTM_TASK_NAME_LEN, bytes of a task name, NUL
 * included (longer names are cut; default 16); RTM_TASK_STATS_MAX_HEAPS,
 * heaps with their own figures per stats object (1..254, default 4). */

/* rtm_task_stats_init flags */
#define RTM_TASK_STATS_KEEP_DELETED 0x1u /* add a deleted task's allocation and
                                            free counts to the deleted bucket */

typedef struct rtm_task_stats rtm_task_stats_t;

typedef struct rtm_task_usage {
    uintptr_t task;              /* the task id (0 in the deleted and other buckets) */
    bool valid;                  /* a task entry in use (false in the buckets) */
    char name[RTM_TASK_NAME_LEN]; /* "" when none was set */
    size_t cur_bytes;
    size_t peak_bytes;
    size_t cur_blocks;
    size_t peak_blocks;
    uint32_t allocs;             /* allocations credited */
    uint32_t frees;              /* frees debited (by any task) */
} rtm_task_usage_t;

typedef struct rtm_heap_usage {
    rtm_heap_t *heap;
    size_t cur_bytes;
    size_t peak_bytes;
    size_t cur_blocks;
    size_t peak_blocks;
} rtm_heap_usage_t;

/* One entry of the block table (also what rtm_task_stats_blocks_of gives). */
typedef struct rtm_task_block {
    void *ptr;       /* NULL = empty slot */
    uint32_t size;   /* requested bytes */
    uint16_t owner;  /* task slot, or an internal bucket number */
    uint8_t heap;    /* heap slot, 0xff = beyond RTM_TASK_STATS_MAX_HEAPS */
    uint8_t reserved;
} rtm_task_block_t;

typedef struct rtm_task_stats_totals {
    size_t tasks;            /* tasks in the table */
    size_t task_capacity;
    size_t blocks;           /* blocks in the block table */
    size_t block_capacity;
    uint32_t deleted_tasks;  /* rtm_task_stats_task_deleted calls that found the task */
    uint32_t task_overflow;  /* allocations credited to "other": task table full */
    uint32_t untracked_blocks; /* allocations not accounted: block table full */
    uint32_t unknown_frees;  /* frees of blocks not in the table */
    uint32_t heap_overflow;  /* events of heaps beyond RTM_TASK_STATS_MAX_HEAPS */
    rtm_task_usage_t deleted; /* live blocks of deleted tasks (and, with KEEP_DELETED,
                                 their counts, frees after the deletion included;
                                 without it allocs and frees stay 0) */
    rtm_task_usage_t other;   /* tasks that found the table full */
} rtm_task_stats_totals_t;

#define RTM_TASK_STATS_CTRL_BYTES \
    (sizeof(rtm_port_lock_t) + 3u * sizeof(rtm_task_usage_t) + \
     RTM_TASK_STATS_MAX_HEAPS * sizeof(rtm_heap_usage_t) + 32u * sizeof(void *))
#define RTM__TS_OR(v, k) ((v) | ((v) >> (k)))
#define RTM_TASK_STATS_POW2(x)                                                            \
    (RTM__TS_OR(RTM__TS_OR(RTM__TS_OR(RTM__TS_OR(RTM__TS_OR((size_t)(x) - 1u, 1), 2), 4), \
                           8),                                                            \
                16) +                                                                     \
     1u)
/* Hash slots for `blocks` live blocks. */
#define RTM_TASK_STATS_BLOCK_SLOTS(blocks) RTM_TASK_STATS_POW2(2u * (size_t)(blocks))
/* Memory for `tasks` tasks and `blocks` live blocks (both >= 1). */
#define RTM_TASK_STATS_BYTES(tasks, blocks)                                        \
    (RTM_TASK_STATS_CTRL_BYTES + (size_t)(tasks) * sizeof(rtm_task_usage_t) + \
     RTM_TASK_STATS_BLOCK_SLOTS(blocks) * sizeof(rtm_task_block_t))
#define RTM_TASK_STATS_MEM_ALIGN 8u
#define RTM_TASK_STATS_DEFINE(name, tasks, blocks) \
    static _Alignas(RTM_TASK_STATS_MEM_ALIGN) uint8_t name[RTM_TASK_STATS_BYTES(tasks, blocks)]

/* Creates an empty stats object over mem[0..bytes) with max_tasks task
 * entries (1..65000); the rest holds the block table (capacity: half its
 * power-of-two slot count, so at least `blocks` for RTM_TASK_STATS_BYTES,
 * exactly `blocks` when that is a power of two).
 * NULL if mem is NULL or not 8-aligned, max_tasks is out of range, fewer
 * than 2 block slots fit, or the port refuses the lock. O(bytes). */
rtm_task_stats_t *rtm_task_stats_init(void *mem, size_t bytes, size_t max_tasks, uint32_t flags);

/* Releases the lock; detach from every heap first. NULL is ignored. */
void rtm_task_stats_deinit(rtm_task_stats_t *stats);

/* The observer function; ctx is the stats object. */
void rtm_task_stats_observer(const rtm_heap_event_t *event, void *ctx);

/* rtm_heap_set_observer(heap, rtm_task_stats_observer, stats). */
void rtm_task_stats_attach(rtm_task_stats_t *stats, rtm_heap_t *heap);

/* Names task (adding it to the table if absent). name NULL clears it.
 * False if the table is full or stats is NULL. O(tasks). */
bool rtm_task_stats_set_name(rtm_task_stats_t *stats, uintptr_t task, const char *name);

/* Copies task's name (NUL-terminated, cut to len) into buf: true if the
 * task has a non-empty name. Fits rtm_trace_set_task_namer (ctx = stats).
 * O(tasks). */
bool rtm_task_stats_name_of(uintptr_t task, char *buf, size_t len, void *ctx);

/* Folds task into the deleted bucket: its live blocks stay accounted there
 * (their frees are debited from it), and with RTM_TASK_STATS_KEEP_DELETED
 * its allocation and free counts are added too; its entry is freed for
 * another task. Call it when the task is deleted (FreeRTOS: before
 * vTaskDelete, or from a delete hook). False if the task is unknown.
 * O(tasks + block slots). */
bool rtm_task_stats_task_deleted(rtm_task_stats_t *stats, uintptr_t task);

/* Copies the figures of one task. False if unknown. O(tasks). */
bool rtm_task_stats_get(rtm_task_stats_t *stats, uintptr_t task, rtm_task_usage_t *out);

/* Copies up to n task entries (table order); returns how many. O(tasks). */
size_t rtm_task_stats_tasks(rtm_task_stats_t *stats, rtm_task_usage_t *out, size_t n);

/* Figures of one heap. False if the heap has had no event. O(1). */
bool rtm_task_stats_heap(rtm_task_stats_t *stats, const rtm_heap_t *heap, rtm_heap_usage_t *out);

/* Counters, capacities and the deleted/other buckets. O(1). */
bool rtm_task_stats_totals(rtm_task_stats_t *stats, rtm_task_stats_totals_t *out);

/* The live blocks task owns: copies up to n into out (out may be NULL if n
 * is 0) and returns how many it owns in all. O(block slots), lock held. */
size_t rtm_task_stats_blocks_of(rtm_task_stats_t *stats, uintptr_t task, rtm_task_block_t *out,
                                size_t n);

/* Owner of the live block ptr. Expected O(1). False if not in the table
 * (or owned by the deleted/other buckets: *task is then 0 and true). */
bool rtm_task_stats_owner(rtm_task_stats_t *stats, const void *ptr, uintptr_t *task);

/* rtm_task_stats_owner in the shape of debug.h's rtm_block_owner_fn
 * (ctx = stats), for rtm_debug_set_owner_lookup when tracing is off: gives
 * the task only (site: file NULL, line 0, caller NULL). */
bool rtm_task_stats_owner_lookup(const void *ptr, uintptr_t *task, rtm_alloc_site_t *site,
                                 void *ctx);

/* Writes "# task ...", "# heap ..." and "# tasks ..." lines
 * (docs/formats.md) through the output hook. O(tasks). */
void rtm_task_stats_print(rtm_task_stats_t *stats);

#ifdef __cplusplus
}
#endif

#endif
