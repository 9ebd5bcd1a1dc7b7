/*
 * The contract between the heap front (src/heap.c) and an allocation
 * strategy. Internal: not installed.
 *
 * A strategy is a pure algorithm over one arena of memory: no locks, no
 * hooks, no statistics beyond rtm_arena_stats_t, no knowledge of caps,
 * poisoning or tracing. The front validates every pointer with validate()
 * before it calls free/resize/usable_size, takes the lock, counts, and calls
 * the hooks.
 */
#ifndef RTMEM_STRATEGY_H
#define RTMEM_STRATEGY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rtmem/heap.h"

/* Kept current by the strategy after every operation; the front reads it
 * directly (it is the first member of every strategy's state). Checked by
 * the strategy's check() against a walk of the blocks. */
typedef struct rtm_arena_stats {
    uint32_t free_bytes;     /* usable bytes of free blocks */
    uint32_t free_blocks;    /* number of free blocks */
    uint32_t overhead_bytes; /* strategy control + every block header + padding + end marker */
#if RTM_POISON_LEVEL >= 1
    uint32_t broken; /* 1 + arena offset of a free block found with damaged list links, 0 = none */
#endif
#if RTM_POISON_LEVEL >= 2
    uint32_t damaged; /* 1 + arena offset of a changed free byte that new metadata covered, 0 = none */
    uint32_t damaged_byte; /* the value found there, before the metadata covered it */
#endif
} rtm_arena_stats_t;

/* The heap front's counters, which a strategy's alloc_plain and
 * free_plain keep for it. The front keeps them just before the strategy's
 * state (rtm_books_of), so the plain entry points need no extra argument.
 * Four size_t: a multiple of 8 bytes on every target. */
typedef struct rtm_alloc_books {
    size_t min_free_bytes; /* lowest stats.free_bytes after an allocation */
    size_t alloc_count;
    size_t failed_count;
    size_t free_count;
} rtm_alloc_books_t;

static inline rtm_alloc_books_t *rtm_books_of(void *arena)
{
    return (rtm_alloc_books_t *)arena - 1;
}

typedef enum rtm_ptr_status {
    RTM_PTR_OK = 0,  /* start of a live block */
    RTM_PTR_FOREIGN, /* outside the arena */
    RTM_PTR_INVALID, /* inside, but not the start of a block */
    RTM_PTR_FREED,   /* start of a free block: double free */
    RTM_PTR_CORRUPT  /* looks like a block, but its metadata is inconsistent */
} rtm_ptr_status_t;

/* What every heap of a strategy needs, on the allocation path. The public
 * name of this table is rtm_strategy_t (heap.h): a heap's config points at
 * one, so a program links the strategies it names and no other. Nothing
 * here reaches the walk or the checker (rtm_strategy_inspect_t), so the
 * malloc path never pulls them in. */
struct rtm_strategy {
    rtm_strategy_id_t id;

    /* Smallest arena init() accepts with this granularity. */
    size_t (*min_size)(size_t granularity);

    /* Lays out state and blocks in arena[0..size). arena is 8-aligned.
     * granularity is a power of two >= 4. param: RTM_SYSTEM budget. */
    rtm_err_t (*init)(void *arena, size_t size, size_t granularity, size_t param);

    /* Gives back what init took outside the arena (RTM_SYSTEM). May be NULL. */
    void (*deinit)(void *arena);

    /* Allocates size > 0 bytes at the granularity's alignment. NULL with
     * *why set on failure. A larger alignment goes to the strategy's
     * rtm_alloc_aligned_fn (rtm_strategy_alloc_aligned). */
    void *(*alloc)(void *arena, size_t size, rtm_fail_reason_t *why);

    /* alloc(arena, size, ...) for the front's plain path (no
     * observer, no poisoning, no failure hook), which hands the whole call
     * over: with books = rtm_books_of(arena), on success
     * books->alloc_count counts it and books->min_free_bytes follows
     * stats.free_bytes down, on failure books->failed_count counts it.
     * Size 0 (which the plain path does not test for): NULL, nothing
     * counted. May be NULL. */
    void *(*alloc_plain)(void *arena, size_t size);

    /* Classifies a pointer the caller passed in, without trusting it:
     * RTM_PTR_OK only for the start of a live block of this arena. */
    rtm_ptr_status_t (*validate)(const void *arena, const void *ptr);

    /* Frees a validated live block. NULL when the strategy never frees. */
    void (*free)(void *arena, void *ptr);

    /* validate() and, on RTM_PTR_OK, free() in one pass over the block's
     * tags, with *usable set to the usable bytes the block had: the
     * front's path for a free with no observer and no poisoning. May be
     * NULL (the front then calls validate, usable_size and free). */
    rtm_ptr_status_t (*validate_free)(void *arena, void *ptr, size_t *usable);

    /* validate_free for the front's plain path (no observer, no
     * poisoning), which hands the whole call over: rtm_books_of(arena)
     * ->free_count counts a free; a refused pointer goes to
     * rtm_front_refused with its status. ptr NULL (which the plain path
     * does not test for) is refused as foreign but neither counted nor
     * reported (rtm_plain_freed). May be NULL. */
    rtm_ptr_status_t (*free_plain)(void *arena, void *ptr);

    /* alloc_plain and free_plain for an arena at granularity
     * RTM_DEFAULT_ALIGN only, which the front of such a heap calls
     * instead: they need not test the granularity on every call. May be
     * NULL (a build for size has one copy of each path). */
    void *(*alloc_plain_default)(void *arena, size_t size);
    rtm_ptr_status_t (*free_plain_default)(void *arena, void *ptr);

    /* Resizes a validated live block in place to at least size > 0 usable
     * bytes; false (and no change) when it cannot. May be NULL. */
    bool (*resize)(void *arena, void *ptr, size_t size);

    /* Usable bytes of a validated live block. */
    size_t (*usable_size)(const void *arena, const void *ptr);

    /* Usable bytes of the largest free block (what one alloc could get). */
    size_t (*largest_free)(const void *arena);

    /* Poisoning level 2 (free fill): true if every byte of a free block's
     * payload holds the free pattern except its first free_meta_head and
     * last free_meta_tail bytes (the links and footer the strategy keeps
     * there); the strategy re-fills metadata it abandons inside a free
     * block (a header absorbed by a merge) with rtm_strategy_refill. */
    bool keeps_free_fill;
    uint8_t free_meta_head;
    uint8_t free_meta_tail;
};



/* Allocates size > 0 bytes aligned to alignment, a power of two; values
 * <= granularity mean the granularity. NULL with *why set on failure. Kept
 * out of rtm_strategy_t, so that a program that never asks for a larger
 * alignment than its heaps' granularity links none of it: the front finds
 * a strategy's by its id (src/strategy/aligned.c) on the aligned entry
 * points only. */
typedef void *(*rtm_alloc_aligned_fn)(void *arena, size_t size, size_t alignment,
                                      rtm_fail_reason_t *why);

/* Each strategy's, defined next to its rtm_strategy_t. */
void *rtm_tlsf_alloc_aligned(void *arena, size_t size, size_t alignment, rtm_fail_reason_t *why);
void *rtm_first_fit_alloc_aligned(void *arena, size_t size, size_t alignment,
                                  rtm_fail_reason_t *why);
void *rtm_best_fit_alloc_aligned(void *arena, size_t size, size_t alignment,
                                 rtm_fail_reason_t *why);
void *rtm_bump_alloc_aligned(void *arena, size_t size, size_t alignment, rtm_fail_reason_t *why);
void *rtm_system_alloc_aligned(void *arena, size_t size, size_t alignment, rtm_fail_reason_t *why);

/* The aligned allocation of the strategy with this id; NULL for an id no
 * linked strategy has (src/strategy/aligned.c). */
rtm_alloc_aligned_fn rtm_strategy_alloc_aligned(rtm_strategy_id_t id);

/* The front's report of a pointer free_plain refused (status st): the
 * misuse hook and, where poisoning reports, the corruption report, as for
 * any refused rtm_free. */
void rtm_front_refused(void *arena, const void *ptr, rtm_ptr_status_t st);

/* The books an alloc_plain keeps after an allocation that gave p (NULL:
 * failed) and left free_bytes free in the arena... */
static inline void *rtm_plain_allocated(void *arena, void *p, uint32_t free_bytes)
{
    rtm_alloc_books_t *books = rtm_books_of(arena);
    if (p == NULL) {
        books->failed_count++;
        return NULL;
    }
    books->alloc_count++;
    if (free_bytes < books->min_free_bytes) {
        books->min_free_bytes = free_bytes;
    }
    return p;
}

/* ...and after a free of ptr that validation judged st. */
static inline rtm_ptr_status_t rtm_plain_freed(void *arena, const void *ptr, rtm_ptr_status_t st)
{
    if (st == RTM_PTR_OK) {
        rtm_books_of(arena)->free_count++;
    } else if (ptr != NULL) {
        /* NULL, which rtm_free's plain path passes on untested, lies
         * outside every arena and freeing it is no misuse. */
        rtm_front_refused(arena, ptr, st);
    }
    return st;
}

/* What only the walk and the checker need (src/heap_check.c), kept apart
 * from rtm_strategy_t so that a program that never walks or checks a heap
 * links none of it. heap_check.c finds a strategy's table by its id. */
typedef struct rtm_strategy_inspect {
    /* Every block in address order (RTM_SYSTEM: live blocks in table
     * order); false if stopped by a corrupt block. */
    bool (*walk)(const void *arena, rtm_walk_fn fn, void *ctx);

    /* Every invariant of the strategy, including stats vs. the blocks. */
    bool (*check)(const void *arena, rtm_check_report_t *report);

    /* Incremental check (rtm_heap_check_step): checks the one block whose
     * header is at arena offset *at (0 = the first block) as far as that
     * block and its direct neighbours and list links allow, fills *info as
     * a walk would, and moves *at to the next block (0 after the last).
     * False with the report on damage. Only block.h layouts, whose free or
     * resize of a block removes no header but its own and its successor's.
     * NULL: the front runs check() in one step. */
    bool (*check_block)(const void *arena, uint32_t *at, rtm_block_info_t *info,
                        rtm_check_report_t *report);
} rtm_strategy_inspect_t;

extern const rtm_strategy_inspect_t rtm_inspect_tlsf;
extern const rtm_strategy_inspect_t rtm_inspect_first_fit;
extern const rtm_strategy_inspect_t rtm_inspect_best_fit;
extern const rtm_strategy_inspect_t rtm_inspect_bump;
#if RTM_WITH_SYSTEM
extern const rtm_strategy_inspect_t rtm_inspect_system;
#endif

/* At poisoning levels >= 1 a strategy checks a free block's list links
 * before its allocation or free paths follow them or write through them:
 * each must lead into the arena to a free block that links back (TLSF),
 * lies higher up (first fit) or is no smaller (best fit). A write
 * after free into a freed block's first bytes, or an overrun into a free
 * neighbour, lands on them; unchecked, the next allocation or merge would
 * write wherever they point. At level 0 the links are trusted (the speed
 * of the default build; docs/debugging.md, "Damaged heaps"). */
#define RTM_CHECK_LINKS (RTM_POISON_LEVEL >= 1)

/* An allocation met free block off (arena offset of its header) with
 * damaged links and left it alone: noted in stats->broken (the first one)
 * for the front to report. Nothing at level 0. */
static inline void rtm_strategy_broken(rtm_arena_stats_t *stats, uint32_t off)
{
#if RTM_POISON_LEVEL >= 1
    if (stats->broken == 0) {
        stats->broken = off + 1u;
    }
#else
    (void)stats;
    (void)off;
#endif
}

/* Level 2 poisoning: metadata words a strategy abandons inside what is now
 * one free block get the free pattern back, so that the next allocation's
 * check of that pattern finds only user writes. Nothing at levels 0 and 1. */
static inline void rtm_strategy_refill(uint8_t *base, uint32_t off, uint32_t len)
{
#if RTM_POISON_LEVEL >= 2
    memset(base + off, (int)RTM_FILL_FREED, len); /* RTM_POISON_FREE_BYTE */
#else
    (void)base;
    (void)off;
    (void)len;
#endif
}

/* Level 2 poisoning: the strategy is about to write metadata (a header,
 * links, a footer) over [off, off + len) of a free block, bytes that hold
 * the free pattern unless the application wrote to them after freeing.
 * The write would erase the evidence, so the first changed byte is noted
 * in stats->damaged for the front to report. Nothing at levels 0 and 1. */
static inline void rtm_strategy_claim(rtm_arena_stats_t *stats, const uint8_t *base, uint32_t off,
                                      uint32_t len)
{
#if RTM_POISON_LEVEL >= 2
    for (uint32_t i = 0; i < len && stats->damaged == 0; i++) {
        if (base[off + i] != (uint8_t)RTM_FILL_FREED) {
            stats->damaged = off + i + 1u;
            stats->damaged_byte = base[off + i];
        }
    }
#else
    (void)stats;
    (void)base;
    (void)off;
    (void)len;
#endif
}

/* Records the first broken invariant; returns false so checks can
 * `return rtm_check_fail(r, "...", addr);`. */
static inline bool rtm_check_fail(rtm_check_report_t *report, const char *problem,
                                  const void *address)
{
    if (report != NULL) {
        report->problem = problem;
        report->address = address;
    }
    return false;
}

#endif
