/*
 * rtmem debug layer: heap poisoning, corruption reports, incremental checks.
 *
 * The poisoning level is chosen per build (RTM_POISON_LEVEL: config.h and
 * your rtmem_config.h, or CMake -DRTMEM_POISON=none|light|comprehensive);
 * docs/debugging.md has the full story. In short:
 *
 *   level            per block (default 8-byte granularity)     catches
 *   0 none           nothing                                    pointer misuse only
 *   1 light          8-byte head (canary + size), 4-byte tail   overflow, underflow, bad size
 *                    canary (+ rounding to the granularity)     on free/realloc/usable/check
 *   2 comprehensive  as light; free memory filled with 0xFE,    + write after free, on
 *                    fresh memory with 0xCE                     every allocation and check
 *
 * A block looks like this to the strategy (user = the pointer the caller
 * gets, H = max(8, granularity, requested alignment)):
 *
 *   raw [H-8 bytes of marker words] [size] [0xABBA1234] user[0..size) [0xBAAD5678]
 *
 * (the canary right before the data, so a 1-byte underflow is a bad head).
 * At levels >= 1, rtm_usable_size returns the requested size, walks and
 * observer events show user pointers and requested sizes, and
 * rtm_heap_info.allocated_bytes counts requested bytes (the poison bytes are
 * overhead); free_bytes and largest_free_block stay in strategy bytes, so a
 * request needs RTM_POISON_OVERHEAD more than largest_free_block says.
 * rtm_heap_check also verifies every live block's canaries (level 2: every
 * free block's fill) and sends what it finds to the corruption hook too.
 *
 * Every problem found is described by one rtm_corruption_t and handed to
 * the corruption hook (one for the whole program, see below). The default
 * hook prints one line through the output hook (output.h) and then calls
 * RTM_ABORT() unless continuing is configured (RTM_CORRUPTION_CONTINUE or
 * rtm_debug_set_continue). When it returns, the call that found the problem
 * has no effect on the heap: a free of a block with a broken canary leaves
 * the block allocated, rtm_usable_size gives 0, rtm_realloc gives NULL. An
 * allocation that finds a write after free still returns its block (whose
 * contents it refills).
 *
 * Misuse and corruption: a bad pointer (foreign, interior, already freed)
 * reaches the heap's misuse hook (heap.h) exactly as at level 0, and at
 * levels >= 1 also produces a corruption report of the matching kind, so a
 * debug build stops on it by default. Damaged canaries, sizes, fill and
 * heap structure go to the corruption hook only.
 *
 * The hooks here are global, not per heap: corruption is a program-level
 * event whose handler (log and reboot, break into the debugger) is the same
 * for every heap, and it must be installable before any heap exists. The
 * report names the heap.
 */
#ifndef RTMEM_DEBUG_H
#define RTMEM_DEBUG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtmem/config.h"
#include "rtmem/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The byte patterns and canaries, ESP-IDF's values so that dumps look
 * familiar. */
#define RTM_POISON_FREE_BYTE ((uint8_t)RTM_FILL_FREED)  /* level 2: every byte of free memory */
#define RTM_POISON_FRESH_BYTE ((uint8_t)RTM_FILL_FRESH) /* level 2: a new block's bytes */
#define RTM_POISON_HEAD_CANARY 0xABBA1234u
#define RTM_POISON_TAIL_CANARY 0xBAAD5678u

/* Bytes the debug layer adds to every block at this build's level and the
 * heap's default granularity (rounding to the granularity comes on top). */
#if RTM_POISON_LEVEL >= 1
#define RTM_POISON_OVERHEAD 12u
#else
#define RTM_POISON_OVERHEAD 0u
#endif

typedef enum rtm_corruption_kind {
    RTM_CORRUPT_BAD_HEAD = 1,     /* head canary overwritten (underflow) */
    RTM_CORRUPT_BAD_TAIL,         /* tail canary overwritten (overflow) */
    RTM_CORRUPT_BAD_SIZE,         /* recorded size does not fit the block (underflow) */
    RTM_CORRUPT_WRITE_AFTER_FREE, /* a free block's fill was changed */
    RTM_CORRUPT_DOUBLE_FREE,      /* free, realloc or usable-size of a freed block */
    RTM_CORRUPT_FOREIGN_FREE,     /* pointer outside the heap */
    RTM_CORRUPT_INVALID_FREE,     /* inside the heap, not the start of a block (interior) */
    RTM_CORRUPT_FREE_LIST         /* heap structure broken: free list, block header, counters */
} rtm_corruption_kind_t;

/* Which call found the problem. */
typedef enum rtm_debug_op {
    RTM_OP_ALLOC = 1,
    RTM_OP_FREE,
    RTM_OP_REALLOC,
    RTM_OP_USABLE_SIZE,
    RTM_OP_CHECK,      /* rtm_heap_check */
    RTM_OP_CHECK_STEP  /* rtm_heap_check_step */
} rtm_debug_op_t;

typedef struct rtm_corruption {
    rtm_corruption_kind_t kind;
    rtm_debug_op_t op;
    rtm_heap_t *heap;
    const char *heap_name;   /* rtm_heap_name(heap): the region for capability regions */
    const void *block;       /* user pointer of the block concerned (as passed for misuse) */
    const void *address;     /* exact address of the bad bytes (== block for pointer misuse) */
    uint32_t expected;       /* canary, size bound or fill pattern; 0 when not applicable */
    uint32_t found;          /* what was there */
    const char *detail;      /* for RTM_CORRUPT_FREE_LIST: the broken invariant; else NULL */
    bool owner_known;        /* task and site below come from the owner lookup */
    uintptr_t task;          /* task that allocated the block */
    rtm_alloc_site_t site;   /* where it was allocated */
} rtm_corruption_t;

/* Called for every corruption report, with no heap lock held, in the task
 * whose call found the problem. May return (the call then has no effect,
 * see above) or not. */
typedef void (*rtm_corruption_fn)(const rtm_corruption_t *report, void *ctx);

/* Supplies the allocating task and site of a live block (registered by the
 * tracing module). Called with no heap lock held; returns false if it does
 * not know the block. */
typedef bool (*rtm_block_owner_fn)(const void *user_ptr, uintptr_t *task, rtm_alloc_site_t *site,
                                   void *ctx);

/* Installs the corruption hook (NULL = rtm_default_corruption_hook). Not
 * synchronised: install before other tasks use the heaps. O(1). */
void rtm_debug_set_corruption_hook(rtm_corruption_fn fn, void *ctx);

/* The hook and context installed now (fn NULL: the default hook), so that
 * a wrapper can put them back after diverting reports for a while (the
 * FreeRTOS drop-in holds reports found with the scheduler suspended and
 * delivers them after it resumes). Either pointer may be NULL. Same rules
 * as installing. O(1). */
void rtm_debug_get_corruption_hook(rtm_corruption_fn *fn, void **ctx);

/* Installs the owner lookup (NULL = none). Same rules. */
void rtm_debug_set_owner_lookup(rtm_block_owner_fn fn, void *ctx);

/* Whether the default hook returns instead of aborting; starts at
 * RTM_CORRUPTION_CONTINUE. */
void rtm_debug_set_continue(bool keep_going);

/* Prints one line through the output hook:
 *   rtmem: CORRUPT bad tail canary in free of 0x... at 0x... heap 'app'
 *          expected 0xbaad5678 found 0xbaad56aa [task 0x... site file:line 0x...]
 * and calls RTM_ABORT() unless continuing is set. */
void rtm_default_corruption_hook(const rtm_corruption_t *report, void *ctx);

/* Short English names. Never NULL. */
const char *rtm_corruption_kind_str(rtm_corruption_kind_t kind);
const char *rtm_debug_op_str(rtm_debug_op_t op);

/* The poisoning level this library was built with (RTM_POISON_LEVEL). */
int rtm_debug_poison_level(void);

/* rtm_usable_size for a layer that checks a pointer on behalf of another
 * call it implements (the capability layer's realloc, which needs the old
 * size to move a block to another region): a bad pointer is reported, to
 * the misuse hook and as a corruption report, as made in op, the call the
 * application made. Results and cost as rtm_usable_size (heap.h), which is
 * this with RTM_OP_USABLE_SIZE. */
size_t rtm_debug_usable_size(rtm_heap_t *heap, const void *ptr, rtm_debug_op_t op);

/* Incremental integrity check (rtm_heap_check_step). */
typedef enum rtm_check_status {
    RTM_CHECK_DONE = 0,    /* a pass over every block finished with no problem found */
    RTM_CHECK_IN_PROGRESS, /* budget used up; call again */
    RTM_CHECK_FAILED       /* a problem was found (report filled, corruption hook at levels >= 1) */
} rtm_check_status_t;

/* Checks up to budget blocks (0 counts as 1) from where the previous call
 * stopped, each under the heap lock, which is released when the call
 * returns: an idle task calling this in a loop checks a large heap without
 * a long critical section. Per block: its header, span and tiling, a free
 * block's footer and list links (they must lead to free blocks that link
 * back), and at levels >= 1 the canaries of a used block and at level 2 the
 * fill of a free block.
 *
 * Other tasks may allocate and free between calls. A pass keeps its place
 * by block offset; the only headers an allocation or free can remove are
 * those of the block freed or resized and of the block after it, and the
 * front notes when that hits the saved place, so the next call restarts the
 * pass from the first block (counted in *restarts of rtm_heap_check_progress).
 * Blocks checked before a change are not rechecked in that pass.
 *
 * Counters and whole-list invariants (every free block listed once, bitmap
 * agreement, statistics) need the heap to hold still: they belong to
 * rtm_heap_check, which also runs here, in one step, for strategies with no
 * per-block check (RTM_BUMP, RTM_SYSTEM).
 *
 * Returns RTM_CHECK_FAILED for a NULL or damaged heap. A failed pass
 * starts again at the first block on the next call. Cost per call:
 * O(budget) blocks, plus O(block bytes) each at level 2 for free blocks.
 * report may be NULL. Not from an ISR. */
rtm_check_status_t rtm_heap_check_step(rtm_heap_t *heap, size_t budget,
                                       rtm_check_report_t *report);

/* Passes completed and restarts since init (for tests and monitoring).
 * False if heap is NULL. O(1), takes the lock. */
bool rtm_heap_check_progress(rtm_heap_t *heap, size_t *passes, size_t *restarts);

#ifdef __cplusplus
}
#endif

#endif
