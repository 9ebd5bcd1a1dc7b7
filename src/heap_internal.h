/*
 * The heap front's control block and the few helpers that the front
 * (heap.c) and the walk and checker (heap_check.c) share. Internal.
 */
#ifndef RTMEM_HEAP_INTERNAL_H
#define RTMEM_HEAP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtmem/debug.h"
#include "rtmem/heap.h"
#include "rtmem/port.h"
#include "strategy/strategy.h"
#include "util.h"

#define HEAP_MAGIC 0x72746d68u /* "rtmh" */

struct rtm_heap {
    uint32_t magic;
    /* Locked heaps: FRONT_FAST_LOCKED when rtm_malloc may, under the
     * lock, hand the call to the strategy's alloc_plain (the conditions of
     * malloc_unlocked below but the lock). Changes under the lock only,
     * and is read only under it. */
    uint32_t malloc_locked;
    /* FRONT_FAST_QUIET when rtm_free may validate and free a block in one
     * strategy call (validate_free) and count it, locked or not: nothing
     * wraps blocks, listens or checks step by step. Changes under the lock
     * only, and is read only under it. */
    uint32_t free_quiet;
    /* Heaps made with RTM_HEAP_NO_LOCK: FRONT_FAST_UNLOCKED when rtm_malloc
     * may hand the whole call to the strategy's alloc_plain: it has one,
     * nothing needs the call site or wraps the block, and no failure hook
     * needs the request. A locked heap's stays 0 for its life, so the
     * plain path reads it without a lock and without looking at the flags
     * first. */
    uint32_t malloc_unlocked;
    /* The same for rtm_free and the strategy's free_plain. */
    uint32_t free_unlocked;
    uint32_t flags;
    /* ops->alloc_plain and ops->free_plain, or their versions for the
     * default granularity when the heap has it, chosen at init: the plain
     * path then loads its call from the front it has already read. After
     * the six words above, so that no padding comes with them. */
    void *(*alloc_plain)(void *arena, size_t size);
    rtm_ptr_status_t (*free_plain)(void *arena, void *ptr);
    const rtm_strategy_t *ops;
    rtm_arena_stats_t *arena; /* the strategy state; its stats come first */
    const char *name;
    size_t total_bytes;
    size_t region_bytes; /* the size passed to rtm_heap_init */
    size_t front_bytes; /* this struct, rounded up: part of the overhead */
    size_t granularity;
    rtm_heap_t *parent; /* set by rtm_heap_create: where the region came from */
    rtm_alloc_failed_fn on_alloc_failed;
    rtm_misuse_fn on_misuse;
    void *hook_ctx;
    rtm_heap_observer_fn observer;
    void *observer_ctx;
    size_t user_bytes;    /* levels >= 1: requested bytes of live blocks (rtm_usable_size summed) */
    size_t plain_head;    /* poison head of a block without extra alignment (0 at level 0) */
    size_t max_head;      /* largest poison head given out: bounds the search in resolve */
    uint32_t step_at;     /* rtm_heap_check_step: arena offset of the next block, 0 = start */
    bool step_lost;       /* that block's header may have gone: restart the pass */
    size_t step_passes;
    size_t step_restarts;
    rtm_port_lock_t lock;
    /* Last, ending where the strategy's state begins (rtm_books_of). */
    _Alignas(8) rtm_alloc_books_t books;
};

/* The strategy's arena starts here, 8-aligned like the region itself. */
#define FRONT_BYTES ((sizeof(struct rtm_heap) + 7u) & ~(size_t)7u)

/* The plain path of rtm_malloc and rtm_free hands the whole call to the
 * strategy: a heap without a lock, no poisoning (level 0), no observer, no
 * incremental check under way (step_at 0), a strategy that validates and
 * frees in one call. rtm_front_update_fast keeps `malloc_unlocked` and
 * `free_unlocked` at this exactly then and at 0 otherwise, so the hot path
 * tests one word. */
#define FRONT_FAST_UNLOCKED 0x66617375u
#define FRONT_FAST_LOCKED 0x6661736cu
#define FRONT_FAST_QUIET 0x66617371u

/* The strategy's state: it always starts FRONT_BYTES after the front, so
 * the hot path computes it instead of loading h->arena. */
static inline rtm_arena_stats_t *front_arena(rtm_heap_t *h)
{
    return (rtm_arena_stats_t *)(void *)((uint8_t *)h + FRONT_BYTES);
}

/* Recomputes the plain-path words after a change to what it depends on; lock held. */
void rtm_front_update_fast(rtm_heap_t *h);

/* Live blocks: every allocation and free is counted. */
static inline size_t used_blocks(const rtm_heap_t *h)
{
    return h->books.alloc_count - h->books.free_count;
}

static RTM_ALWAYS_INLINE bool heap_ok(const rtm_heap_t *h)
{
    return h != NULL && h->magic == HEAP_MAGIC;
}

static inline void heap_lock(rtm_heap_t *h)
{
    if ((h->flags & RTM_HEAP_NO_LOCK) == 0) {
        rtm_port_lock(&h->lock);
    }
}

static inline void heap_unlock(rtm_heap_t *h)
{
    if ((h->flags & RTM_HEAP_NO_LOCK) == 0) {
        rtm_port_unlock(&h->lock);
    }
}

/* Every byte of the region is free, overhead or allocated, and the
 * strategy keeps the first two exact, so the third needs no bookkeeping on
 * the hot path. rtm_heap_check verifies it against a walk. */
static inline size_t allocated_now(const rtm_heap_t *h)
{
    return h->total_bytes - h->front_bytes - h->arena->overhead_bytes - h->arena->free_bytes;
}

/* Sends a corruption report (levels >= 1; nothing at level 0); the lock
 * must be released. */
void rtm_front_corruption(rtm_heap_t *h, rtm_corruption_t *r, rtm_debug_op_t op);

/* Clears a corruption report before a check fills it. */
void rtm_front_corruption_init(rtm_corruption_t *r);

#endif
