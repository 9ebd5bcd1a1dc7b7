/*
 * The debug layer (poisoning, docs/debugging.md) as the heap front sees
 * it. Internal: not installed.
 *
 * The layer wraps every block the front hands out: the strategy's block
 * ("raw") holds a head and a tail canary around the caller's bytes
 * ("user"). The front calls the functions below at every place where a
 * user pointer or size meets a strategy pointer or size, and knows
 * nothing of the layout. Every function exists at every level: at
 * RTM_POISON_LEVEL 0 they are the inline identities and no-ops at the end
 * of this file, which compile to nothing, so the level-0 front is the
 * plain front and links nothing of poison.c but the hook setters of
 * debug.h. Level 2 adds fill patterns to level 1.
 */
#ifndef RTMEM_POISON_H
#define RTMEM_POISON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtmem/debug.h"
#include "strategy/strategy.h"

/* Whether the layer wraps blocks (level >= 1): the front then counts the
 * bytes callers asked for, which differ from the strategy's usable
 * bytes. A constant, so the front's `if` on it compiles away. */
#define RTM_POISON_WRAPS (RTM_POISON_LEVEL >= 1)

/* The tail canary after the user bytes. */
#define RTM_POISON_TAIL_BYTES 4u

#if RTM_POISON_LEVEL >= 1

/* Sends a report to the corruption hook after asking the owner lookup for
 * the task and site; names the heap. No lock may be held. */
void rtm_poison_report(rtm_corruption_t *report);

/* The report for a pointer the front refused (st its verdict). */
void rtm_poison_report_pointer(rtm_heap_t *heap, const void *ptr, rtm_ptr_status_t st,
                               rtm_debug_op_t op);

/* Head bytes before the user pointer: max(8, granularity, alignment). */
size_t rtm_poison_head(size_t granularity, size_t alignment);

/* Region bytes beyond the strategy's minimum that hold one poisoned
 * 1-byte block. */
size_t rtm_poison_min_extra(size_t granularity);

/* Bytes to ask the strategy for: head + size + tail canary; false if that
 * overflows (the request can never succeed). */
bool rtm_poison_raw_size(size_t size, size_t head, size_t *raw_size);

/* Writes padding marker, head canary, size and tail canary into a fresh raw
 * block (level 2: the user bytes get the fresh pattern); returns the user
 * pointer. */
void *rtm_poison_arm(void *raw, size_t size, size_t head);

/* Re-writes size and tail canary after an in-place resize (level 2: new
 * bytes beyond the old size get the fresh pattern). */
void rtm_poison_rearm(void *user, size_t old_size, size_t new_size);

/* The size the caller asked for, recorded in a block's head (trusted only
 * after check_live). */
size_t rtm_poison_user_size(const void *user, size_t raw_usable);

/* Finds the raw block of a user pointer without trusting it: the block
 * start H bytes before it for the plain head and, if the heap ever gave out
 * a larger head, for each power of two up to max_head. Returns the
 * strategy's verdict; on RTM_PTR_OK *raw and *head are set. region_lo/hi
 * bound the bytes that may be read for the double-free heuristic. */
rtm_ptr_status_t rtm_poison_resolve(const rtm_strategy_t *ops, const void *arena,
                                    size_t plain_head, size_t max_head, const void *user,
                                    uintptr_t region_lo, uintptr_t region_hi, void **raw,
                                    size_t *head);

/* Checks the head canary, size and tail canary of a live block whose raw
 * usable size is raw_usable; on a problem fills *r (kind, block, address,
 * expected, found; the rest cleared) and returns false. */
bool rtm_poison_check_live(const void *user, size_t head, size_t raw_usable, rtm_corruption_t *r);

/* What a walk callback is shown of a raw block: a live block's user
 * pointer and requested size. Free blocks stay in strategy bytes, like
 * free_bytes and largest_free_block, so that a walk and rtm_heap_info keep
 * adding up. */
void rtm_poison_user_view(size_t plain_head, rtm_block_info_t *b);

/* The poisoning of one raw block found by a walk or check step: a live
 * block's canaries, a free block's fill. False with *bad set. */
bool rtm_poison_block_ok(const rtm_strategy_t *ops, size_t plain_head, const rtm_block_info_t *b,
                         rtm_corruption_t *bad);

/* The free block with damaged links an allocation noted in stats->broken
 * (RTM_CHECK_LINKS), if any, as a RTM_CORRUPT_FREE_LIST problem in *bad;
 * clears the note. A noted offset that lies outside the arena's
 * arena_bytes (a damaged list head) is reported without being read. False
 * when there is none. */
bool rtm_poison_take_broken(rtm_arena_stats_t *stats, size_t arena_bytes, rtm_corruption_t *bad);

#else /* level 0: identities */

static inline bool rtm_poison_take_broken(rtm_arena_stats_t *stats, size_t arena_bytes,
                                          rtm_corruption_t *bad)
{
    (void)stats;
    (void)arena_bytes;
    (void)bad;
    return false;
}

static inline void rtm_poison_report(rtm_corruption_t *report)
{
    (void)report;
}

static inline void rtm_poison_report_pointer(rtm_heap_t *heap, const void *ptr,
                                             rtm_ptr_status_t st, rtm_debug_op_t op)
{
    (void)heap;
    (void)ptr;
    (void)st;
    (void)op;
}

static inline size_t rtm_poison_head(size_t granularity, size_t alignment)
{
    (void)granularity;
    (void)alignment;
    return 0;
}

static inline size_t rtm_poison_min_extra(size_t granularity)
{
    (void)granularity;
    return 0;
}

static inline bool rtm_poison_raw_size(size_t size, size_t head, size_t *raw_size)
{
    (void)head;
    *raw_size = size;
    return true;
}

static inline void *rtm_poison_arm(void *raw, size_t size, size_t head)
{
    (void)size;
    (void)head;
    return raw;
}

static inline void rtm_poison_rearm(void *user, size_t old_size, size_t new_size)
{
    (void)user;
    (void)old_size;
    (void)new_size;
}

static inline size_t rtm_poison_user_size(const void *user, size_t raw_usable)
{
    (void)user;
    return raw_usable;
}

static inline rtm_ptr_status_t rtm_poison_resolve(const rtm_strategy_t *ops, const void *arena,
                                                  size_t plain_head, size_t max_head,
                                                  const void *user, uintptr_t region_lo,
                                                  uintptr_t region_hi, void **raw, size_t *head)
{
    (void)plain_head;
    (void)max_head;
    (void)region_lo;
    (void)region_hi;
    *raw = (void *)(uintptr_t)user;
    *head = 0;
    return ops->validate(arena, user);
}

static inline bool rtm_poison_check_live(const void *user, size_t head, size_t raw_usable,
                                         rtm_corruption_t *r)
{
    (void)user;
    (void)head;
    (void)raw_usable;
    (void)r;
    return true;
}

static inline void rtm_poison_user_view(size_t plain_head, rtm_block_info_t *b)
{
    (void)plain_head;
    (void)b;
}

static inline bool rtm_poison_block_ok(const rtm_strategy_t *ops, size_t plain_head,
                                       const rtm_block_info_t *b, rtm_corruption_t *bad)
{
    (void)ops;
    (void)plain_head;
    (void)b;
    (void)bad;
    return true;
}

#endif /* level >= 1 */

#if RTM_POISON_LEVEL >= 2

/* Fills bytes about to become free memory. */
void rtm_poison_fill_free(void *start, size_t len);

/* Verifies that a block the strategy just handed out still has the free
 * pattern everywhere except the strategy's links (its first free_meta_head
 * and last free_meta_tail bytes), and that the rest of a block it split
 * had it where the remainder's metadata now lies (stats->damaged, which
 * this clears); false with *bad filled (block NULL) on the first changed
 * byte. */
bool rtm_poison_verify_fresh(const rtm_strategy_t *ops, rtm_arena_stats_t *stats, const void *raw,
                             rtm_corruption_t *bad);

/* After a block grew in place over a free neighbour: whether the bytes
 * of that neighbour the resize claimed (those that became the block's and
 * those the remainder's metadata now covers: stats->damaged, which this
 * clears) still had the free pattern; false with *bad filled (block NULL)
 * on the first changed byte. */
bool rtm_poison_verify_grown(rtm_arena_stats_t *stats, rtm_corruption_t *bad);

/* A strategy's arena was just laid out: nothing is damaged yet. */
static inline void rtm_poison_arena_ready(rtm_arena_stats_t *stats)
{
    stats->damaged = 0;
    stats->broken = 0;
}

#else /* levels 0 and 1: no fill */

static inline bool rtm_poison_verify_grown(rtm_arena_stats_t *stats, rtm_corruption_t *bad)
{
    (void)stats;
    (void)bad;
    return true;
}

static inline void rtm_poison_arena_ready(rtm_arena_stats_t *stats)
{
#if RTM_POISON_LEVEL >= 1
    stats->broken = 0;
#else
    (void)stats;
#endif
}

static inline void rtm_poison_fill_free(void *start, size_t len)
{
    (void)start;
    (void)len;
}

static inline bool rtm_poison_verify_fresh(const rtm_strategy_t *ops, rtm_arena_stats_t *stats,
                                           const void *raw, rtm_corruption_t *bad)
{
    (void)ops;
    (void)stats;
    (void)raw;
    (void)bad;
    return true;
}

#endif /* level >= 2 */

#endif
