/*
 * Internal interface between the heap front (heap.c) and the debug layer
 * (poison.c). Internal: not installed.
 *
 * The front calls these at every place a user pointer meets a strategy
 * pointer ("raw"). At RTM_POISON_LEVEL 0 they are inline identities that
 * compile to nothing, so the level-0 front is the plain front; poison.c
 * then holds only the hook setters of debug.h.
 */
#ifndef RTMEM_POISON_H
#define RTMEM_POISON_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtmem/debug.h"
#include "strategy/strategy.h"

/* Sends a report to the corruption hook after asking the owner lookup for
 * the task and site. No lock may be held. Exists at every level. */
void rtm_poison_report(rtm_corruption_t *report);

/* The corruption kind matching a pointer the strategy refused. */
rtm_corruption_kind_t rtm_poison_kind_of(rtm_ptr_status_t st);

#if RTM_POISON_LEVEL >= 1

/* The tail canary after the user bytes. */
#define RTM_POISON_TAIL_BYTES 4u

/* Head bytes before the user pointer: max(8, granularity, alignment). */
size_t rtm_poison_head(size_t granularity, size_t alignment);

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

/* The size recorded in a block's head (trusted only after check_live). */
size_t rtm_poison_size(const void *user);

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

/* User pointer and head of a raw live block found by a walk (the padding
 * marker says if the head is larger than plain_head). */
void *rtm_poison_user_of(void *raw, size_t raw_usable, size_t plain_head, size_t *head);

#endif /* level >= 1 */

#if RTM_POISON_LEVEL >= 2

/* Fills bytes about to become free memory. */
void rtm_poison_fill_free(void *start, size_t len);

/* Verifies that a block the strategy just handed out (or holds free) still
 * has the free pattern everywhere except its first skip_head and last
 * skip_tail bytes (the strategy's links); false with *r filled as by
 * check_live (block NULL) on the first changed byte. */
bool rtm_poison_verify_free(const void *raw, size_t raw_usable, size_t skip_head, size_t skip_tail,
                            rtm_corruption_t *r);

#endif /* level >= 2 */

#endif
