/*
 * First fit (FreeRTOS heap_4 class): one free list in address order, the
 * lowest free block that fits is taken, and a freed block merges at once
 * with free neighbours on both sides.
 *
 * Layout (block.h): the shared state rtm_blk_arena_t at offset 0 (head:
 * the lowest free block, 0 = none), the block-start map after it, then
 * blocks tiling [first, end). A free block holds the offset of the next
 * free block (0 = none) in the first 4 bytes of its payload, hence
 * min_span = align_up(8, G). Like heap_4, a block taken for an allocation
 * is split only if the rest is at least FF_SPLIT_MIN bytes (twice a free
 * block's header and link): smaller slivers would sit at the head of the
 * list, where every search has to step over them.
 *
 * Pointers are validated at the API (validate(), with the map) and by
 * check(). At level 0 the list walks of alloc, free and resize trust the
 * links, so a heap damaged by stray writes is found by rtm_heap_check, not
 * by them; at levels >= 1 (RTM_CHECK_LINKS) they stop at a link that does
 * not lead higher up to a free block, and validate() refuses a block whose
 * free or resize would follow one. largest_free, which rtm_heap_info and
 * the monitors call, stops there at every level.
 *
 * Invariants (all verified by ff_check):
 *   - blocks tile [first, end) exactly; every span is a multiple of G and
 *     at least min_span; no header carries RTM_BLK_PREV_FREE;
 *   - the map has the bit of every header and no other (RTM_EXACT_POINTERS);
 *   - no two free blocks are adjacent;
 *   - the free list holds every free block exactly once, in strictly
 *     rising address order;
 *   - stats equal what a walk of the blocks counts.
 *
 * Costs: alloc O(free blocks), from the search hint of its size class
 * (below); free and resize find a block's list predecessor in a few steps
 * down the map, at most FF_BACK_STEPS of them before they walk the list
 * (O(free blocks); always so without the map), plus O(FF_CLASSES) for the
 * hints; largest_free O(free blocks); validate and usable_size O(1); walk
 * and check O(blocks). Overhead: 4 bytes a block, the map and 16 bytes of
 * hints.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "block.h"
#include "strategy.h"

/* The smallest remainder a split leaves: a free block's header and link,
 * twice (heap_4's heapMINIMUM_BLOCK_SIZE rule). */
#define FF_SPLIT_MIN 16u

/* Blocks free() steps down through the map looking for the free block
 * below it before it walks the free list from its head instead. */
#define FF_BACK_STEPS 8u

/* Search hints: a request whose span is at least FF_CLASS_MIN << k starts
 * at hint[k] (the largest such k below FF_CLASSES), which skips the run of
 * smaller blocks that low addresses collect. The placement is exactly the
 * lowest block that fits, as without hints. */
#define FF_CLASSES 3u
#define FF_CLASS_MIN 64u

typedef struct ff_state {
    rtm_blk_arena_t blk; /* first: the shared state */
    /* 0 (search from the head), or a listed free block such that every
     * free block at or below it spans less than FF_CLASS_MIN << k. A hint
     * that holds for a class holds for every larger one, so the hints are
     * kept rising with k: a change above the last moves none. */
    uint32_t hint[FF_CLASSES];
} ff_state_t;

static uint32_t ff_min_span(size_t g)
{
    return (uint32_t)rtm_align_up(8u, g);
}

static uint32_t ff_split_min(const rtm_blk_arena_t *a)
{
    return a->min_span > FF_SPLIT_MIN ? a->min_span : FF_SPLIT_MIN;
}

static ff_state_t *ff_state(rtm_blk_arena_t *a)
{
    return (ff_state_t *)(void *)a;
}

static uint32_t ff_class_span(uint32_t k)
{
    return FF_CLASS_MIN << k;
}

/* A free block of span s at x, whose list predecessor is xprev, has
 * appeared or grown, maybe absorbing listed blocks: a hint at or above x
 * stays true only if s is below its class and the hint's block still
 * exists. When xprev is not known (FF_UNKNOWN), the highest hint below x
 * stands in for it: the blocks at or below it are smaller still. Only the
 * hints at or above x change, the top ones. */
#define FF_UNKNOWN UINT32_MAX

static void ff_hints_free(rtm_blk_arena_t *a, uint32_t x, uint32_t xprev, uint32_t s)
{
    ff_state_t *st = ff_state(a);
    uint32_t k = FF_CLASSES;
    while (k > 0 && st->hint[k - 1u] >= x) {
        k--;
    }
    if (xprev == FF_UNKNOWN) {
        xprev = k > 0 ? st->hint[k - 1u] : 0u;
    }
    for (; k < FF_CLASSES; k++) {
        uint32_t p = st->hint[k];
        if (s >= ff_class_span(k)) {
            st->hint[k] = xprev;
        } else if (p < x + s) {
            st->hint[k] = x;
        }
    }
}

/* Hint k moves up to p (a search found every block up to p smaller than
 * its class): the larger classes' hints rise with it. */
static void ff_raise_hint(ff_state_t *st, uint32_t k, uint32_t p)
{
    for (; k < FF_CLASSES && st->hint[k] < p; k++) {
        st->hint[k] = p;
    }
}

/* Listed block h leaves the list; repl is what takes its place there (the
 * smaller free rest of it), or its list predecessor when nothing does. The
 * hints equal to h are neighbours in the table, and repl keeps the order. */
static void ff_hints_gone(rtm_blk_arena_t *a, uint32_t h, uint32_t repl)
{
    ff_state_t *st = ff_state(a);
    if (h > st->hint[FF_CLASSES - 1u]) {
        return;
    }
    for (uint32_t k = 0; k < FF_CLASSES; k++) {
        if (st->hint[k] == h) {
            st->hint[k] = repl;
        }
    }
}

static uint32_t ff_offset(const rtm_blk_arena_t *a, const void *ptr)
{
    return (uint32_t)((uintptr_t)ptr - (uintptr_t)a);
}

/* Stats move in whole free blocks; header bytes are booked separately in
 * overhead_bytes by whoever creates or absorbs a header. */
static void ff_gain(rtm_arena_stats_t *s, uint32_t span)
{
    s->free_bytes += span - RTM_BLK_HDR;
    s->free_blocks++;
}

static void ff_lose(rtm_arena_stats_t *s, uint32_t span)
{
    s->free_bytes -= span - RTM_BLK_HDR;
    s->free_blocks--;
}

/* Two adjacent free blocks of spans a and b become one: one header's bytes
 * turn usable. */
static uint32_t ff_join(rtm_arena_stats_t *s, uint32_t a, uint32_t b)
{
    s->free_bytes += RTM_BLK_HDR;
    s->free_blocks--;
    s->overhead_bytes -= RTM_BLK_HDR;
    return a + b;
}

/* Without the map, a free block's link word carries both flag bits, so
 * that validate(), which then judges a pointer by the word 4 bytes before
 * it, never takes a link for the header of a live block (offsets are
 * multiples of 4, so no bits are lost). With the map nothing reads a link
 * as a header, and a link is the plain offset. */
#define FF_LINK_TAG (RTM_EXACT_POINTERS ? 0u : RTM_BLK_FLAGS)

static uint32_t ff_link(const uint8_t *base, uint32_t h)
{
    /* base + h first: the offset then needs no 32-bit wrap of h + 4, and
     * the load folds into one instruction on the search loops. */
    uint32_t v;
    memcpy(&v, base + h + RTM_BLK_HDR, sizeof v);
    return v & ~FF_LINK_TAG;
}

static void ff_set_link(uint8_t *base, uint32_t h, uint32_t n)
{
    rtm_wr32(base, h + RTM_BLK_HDR, n | FF_LINK_TAG);
}

/* A listed block's header word is its span with RTM_BLK_FREE, so for a
 * multiple of 4 such as a span or a class, word >= v exactly when
 * span >= v: the searches compare the word as it is. */
static uint32_t ff_word(const uint8_t *base, uint32_t h)
{
    return rtm_rd32(base, h);
}

static uint32_t ff_next_of(const rtm_blk_arena_t *a, uint32_t prev)
{
    return prev != 0 ? ff_link((const uint8_t *)a, prev) : a->head;
}

static void ff_set_next(rtm_blk_arena_t *a, uint32_t prev, uint32_t n)
{
    if (prev == 0) {
        a->head = n;
    } else {
        ff_set_link((uint8_t *)a, prev, n);
    }
}

static void ff_mark_free(uint8_t *base, uint32_t h, uint32_t span, uint32_t next)
{
    rtm_blk_set(base, h, span, RTM_BLK_FREE);
    ff_set_link(base, h, next);
}

#if defined(__GNUC__) || defined(__clang__)
#define FF_COLD __attribute__((noinline, cold))
#define FF_INLINE inline __attribute__((always_inline))
#else
#define FF_COLD
#define FF_INLINE inline
#endif

/* Is h, reached from list entry prev (0: the head), a listed free block:
 * above prev (the list rises), a block start below end (the map says so)
 * whose header says free with a sane span? */
static bool ff_listed(const rtm_blk_arena_t *a, uint32_t prev, uint32_t h)
{
    const uint8_t *base = (const uint8_t *)a;
    return h > prev && h >= a->first && h < a->end && ((h - a->first) & (a->gran - 1u)) == 0 &&
           rtm_blk_has(a, h) && rtm_blk_is_free(base, h) &&
           rtm_blk_span_ok(rtm_blk_span(base, h), h, a->end, a->gran, a->min_span);
}

/* What ff_pred gives at levels >= 1 when its walk of the list met a link
 * that does not lead higher up to a free block (RTM_CHECK_LINKS): only
 * validation asks it then, and refuses the pointer. */
#define FF_BROKEN (UINT32_MAX - 1u)

/* The highest free block below offset h, 0 if none: h's list predecessor.
 * With the map it is usually a few blocks down, found block by block. */
static FF_INLINE uint32_t ff_pred(const rtm_blk_arena_t *a, uint32_t h)
{
    const uint8_t *base = (const uint8_t *)a;
#if RTM_EXACT_POINTERS
    /* The headers below h, highest first, straight from the map words;
     * row is the offset that bit 0 of the current word stands for. */
    const uint32_t *map = rtm_blk_cmap(a);
    uint32_t gshift = a->gshift;
    uint32_t bit = rtm_blk_bit(a, h);
    uint32_t i = bit >> 5;
    uint32_t w = map[i] & ((1u << (bit & 31u)) - 1u);
    uint32_t row = a->first + ((i << 5) << gshift);
    for (uint32_t step = 0; step < FF_BACK_STEPS; step++) {
        while (w == 0) {
            if (i == 0) {
                return 0;
            }
            w = map[--i];
            row -= 32u << gshift;
        }
        uint32_t b = rtm_blk_msb(w);
        uint32_t q = row + (b << gshift);
        if (rtm_blk_is_free(base, q)) {
            return q;
        }
        w ^= 1u << b;
    }
#endif
    size_t prev = 0;
    for (size_t c = a->head; c != 0 && c < h; c = ff_link(base, (uint32_t)c)) {
        if (RTM_CHECK_LINKS && !ff_listed(a, (uint32_t)prev, (uint32_t)c)) {
            return FF_BROKEN;
        }
        prev = c;
    }
    return (uint32_t)prev;
}

static size_t ff_min_size(size_t granularity)
{
    return rtm_blk_min_arena(granularity, ff_min_span(granularity), sizeof(ff_state_t));
}

static rtm_err_t ff_init(void *arena, size_t size, size_t granularity, size_t param)
{
    (void)param;
    rtm_err_t err = rtm_blk_init_arena(arena, size, granularity, ff_min_span(granularity),
                                       sizeof(ff_state_t));
    if (err != RTM_OK) {
        return err;
    }
    rtm_blk_arena_t *a = arena;
    memset(ff_state(a)->hint, 0, sizeof ff_state(a)->hint);
    a->head = a->first;
    ff_mark_free(arena, a->first, a->end - a->first, 0);
    rtm_blk_mark(a, a->first);
    a->stats.overhead_bytes += RTM_BLK_HDR;
    ff_gain(&a->stats, a->end - a->first);
    return RTM_OK;
}

/* Turns free block h (list predecessor prev) into a used block of span
 * need whose header lies gap bytes into it. The gap and any tail of at least
 * the split minimum stay free in h's place in the list, which keeps address
 * order. */
static void *ff_take(rtm_blk_arena_t *a, uint32_t prev, uint32_t h, uint32_t gap, uint32_t need)
{
    uint8_t *base = (uint8_t *)a;
    uint32_t span = rtm_blk_span(base, h);
    uint32_t next = ff_link(base, h);
    rtm_strategy_claim_carve(&a->stats, base, h, span, gap, need, ff_split_min(a));
    if (gap != 0) {
        /* h stays listed as the gap; the block goes after it. */
        ff_lose(&a->stats, span);
        ff_mark_free(base, h, gap, 0);
        ff_gain(&a->stats, gap);
        a->stats.overhead_bytes += RTM_BLK_HDR;
        prev = h;
        h += gap;
        span -= gap;
        rtm_blk_mark(a, h);
        ff_gain(&a->stats, span);
    } else if (span - need >= ff_split_min(a)) {
        ff_hints_gone(a, h, h + need);
    } else {
        ff_hints_gone(a, h, prev);
    }
    if (span - need >= ff_split_min(a)) {
        /* The rest stays free in h's place: need bytes leave the free
         * space and one header joins the overhead. */
        ff_mark_free(base, h + need, span - need, next);
        rtm_blk_mark(a, h + need);
        a->stats.free_bytes -= need;
        a->stats.overhead_bytes += RTM_BLK_HDR;
        next = h + need;
        span = need;
    } else {
        ff_lose(&a->stats, span);
    }
    ff_set_next(a, prev, next);
    rtm_blk_set(base, h, span, 0);
    return base + h + RTM_BLK_HDR;
}

/* From listed block h, whose list predecessor is *prev, the first listed
 * block of span at least v (a multiple of 4), 0 if none; *prev becomes its
 * predecessor. The search loop of every allocation: size_t offsets keep it
 * free of 32-bit wrap-around moves. */
static uint32_t ff_first_at_least(rtm_blk_arena_t *a, uint32_t *prev, uint32_t h, uint32_t v)
{
    const uint8_t *base = (const uint8_t *)a;
    size_t p = *prev;
    size_t c = h;
    while (c != 0) {
        if (RTM_CHECK_LINKS && !ff_listed(a, (uint32_t)p, (uint32_t)c)) {
            rtm_strategy_broken(&a->stats, (uint32_t)(p != 0 ? p : c));
            c = 0;
            break;
        }
        if (ff_word(base, (uint32_t)c) >= v) {
            break;
        }
        p = c;
        c = ff_link(base, (uint32_t)c);
    }
    /* Levels >= 1: the block found hands its link to the list (ff_take). */
    if (RTM_CHECK_LINKS && c != 0 && ff_link(base, (uint32_t)c) != 0 &&
        !ff_listed(a, (uint32_t)c, ff_link(base, (uint32_t)c))) {
        rtm_strategy_broken(&a->stats, (uint32_t)c);
        c = 0;
    }
    *prev = (uint32_t)p;
    return (uint32_t)c;
}

static void *ff_alloc(void *arena, size_t size, rtm_fail_reason_t *why)
{
    rtm_blk_arena_t *a = arena;
    uint32_t need = rtm_blk_span_for(size, a->gran, a->min_span);
    /* Every payload is G-aligned: no gap to place. */
    if (need == 0 || need > a->end - a->first) {
        *why = RTM_FAIL_TOO_LARGE;
        return NULL;
    }
    uint32_t prev = 0;
    uint32_t h = a->head;
    if (need >= FF_CLASS_MIN) {
        uint32_t k = rtm_blk_msb(need / FF_CLASS_MIN);
        k = k < FF_CLASSES ? k : FF_CLASSES - 1u;
        ff_state_t *st = ff_state(a);
        prev = st->hint[k];
        h = ff_first_at_least(a, &prev, ff_next_of(a, prev), ff_class_span(k));
        ff_raise_hint(st, k, prev);
    }
    h = ff_first_at_least(a, &prev, h, need);
    if (h != 0) {
        return ff_take(a, prev, h, 0, need);
    }
    *why = a->stats.free_bytes < size ? RTM_FAIL_NO_MEMORY : RTM_FAIL_FRAGMENTED;
    return NULL;
}

/* A larger alignment than G: the first block, in address order, that holds
 * need bytes past the gap the alignment leaves (the hints index spans, not
 * aligned fits). */
void *rtm_first_fit_alloc_aligned(void *arena, size_t size, size_t alignment,
                                  rtm_fail_reason_t *why)
{
    rtm_blk_arena_t *a = arena;
    if (alignment <= a->gran) {
        return ff_alloc(arena, size, why);
    }
    uint8_t *base = arena;
    uint32_t need = rtm_blk_span_for(size, a->gran, a->min_span);
    if (need == 0 || !rtm_blk_could_fit(base, a->first, a->end, need, alignment, a->min_span)) {
        *why = RTM_FAIL_TOO_LARGE;
        return NULL;
    }
    uint32_t prev = 0;
    for (uint32_t h = a->head; h != 0; prev = h, h = ff_link(base, h)) {
        if (RTM_CHECK_LINKS && !ff_listed(a, prev, h)) {
            rtm_strategy_broken(&a->stats, prev != 0 ? prev : h);
            break;
        }
        uint32_t span = rtm_blk_span(base, h);
        size_t gap = rtm_blk_align_gap(base, h, alignment, a->min_span);
        if (gap <= span && need <= span - gap) {
            uint32_t next = ff_link(base, h);
            if (RTM_CHECK_LINKS && next != 0 && !ff_listed(a, h, next)) {
                rtm_strategy_broken(&a->stats, h);
                break;
            }
            return ff_take(a, prev, h, (uint32_t)gap, need);
        }
    }
    *why = a->stats.free_bytes < size ? RTM_FAIL_NO_MEMORY : RTM_FAIL_FRAGMENTED;
    return NULL;
}

/* A refused pointer that is the stale head of a block merged into the free
 * block below it is a double free (block.h). Kept out of line, off the
 * path of every good pointer. */
static FF_COLD rtm_ptr_status_t ff_refused(const rtm_blk_arena_t *a, const void *ptr)
{
#if RTM_EXACT_POINTERS
    uint32_t h = 0;
    if (rtm_blk_header_of(a, a->end, ptr, &h) == RTM_PTR_OK &&
        rtm_blk_stale_free(a, h, rtm_rd32((const uint8_t *)a, h))) {
        return RTM_PTR_FREED;
    }
#else
    (void)a;
    (void)ptr;
#endif
    return RTM_PTR_INVALID;
}

/* Levels >= 1 (RTM_CHECK_LINKS): whether the list links that a free or a
 * resize of live block h (of span span) will follow are intact: the walk
 * to h's list predecessor, the predecessor's link (to 0 or above h), and,
 * when the block after h is free, that it is that link's block and its own
 * link leads higher up. A write after free or an overrun into a free
 * neighbour lands on them; the merge would write where they point. */
static bool ff_links_ok(const rtm_blk_arena_t *a, uint32_t h, uint32_t span)
{
    const uint8_t *base = (const uint8_t *)a;
    uint32_t prev = ff_pred(a, h);
    if (prev == FF_BROKEN) {
        return false;
    }
    uint32_t next = ff_next_of(a, prev);
    if (next != 0 && (next <= h || !ff_listed(a, prev, next))) {
        return false;
    }
    uint32_t n = h + span;
    if (n != a->end && rtm_blk_is_free(base, n)) {
        uint32_t after = ff_link(base, n);
        return next == n && (after == 0 || ff_listed(a, n, after));
    }
    return true;
}

static rtm_ptr_status_t ff_validate(const void *arena, const void *ptr)
{
    rtm_ptr_status_t st = rtm_blk_validate(arena, ptr);
    if (st == RTM_PTR_OK && RTM_CHECK_LINKS) {
        const rtm_blk_arena_t *a = arena;
        uint32_t h = ff_offset(a, ptr) - RTM_BLK_HDR;
        return ff_links_ok(a, h, rtm_blk_span(arena, h)) ? RTM_PTR_OK : RTM_PTR_CORRUPT;
    }
    return st == RTM_PTR_INVALID ? ff_refused(arena, ptr) : st;
}

/* Frees the live block at h of span span. */
static void ff_release(rtm_blk_arena_t *a, uint32_t h, uint32_t span)
{
    uint8_t *base = (uint8_t *)a;
    uint32_t prev = ff_pred(a, h);
    uint32_t next = ff_next_of(a, prev);
    ff_gain(&a->stats, span);
    if (next != 0 && h + span == next) {
        uint32_t after = ff_link(base, next);
        span = ff_join(&a->stats, span, rtm_blk_span(base, next));
        rtm_blk_unmark(a, next);
        /* next's header and link now lie inside h's payload. */
        rtm_strategy_refill(base, next, 2u * RTM_BLK_HDR);
        next = after;
    }
    uint32_t pspan = prev != 0 ? rtm_blk_span(base, prev) : 0u;
    if (prev != 0 && prev + pspan == h) {
        /* h's header stays, saying free: a second free of the pointer then
         * reads as a double free (block.h; with the free fill, which covers
         * it, see poison.c). */
        rtm_blk_set(base, h, span, RTM_BLK_FREE);
        span = ff_join(&a->stats, pspan, span);
        rtm_blk_unmark(a, h);
        ff_mark_free(base, prev, span, next);
        rtm_strategy_refill(base, h, 2u * RTM_BLK_HDR);
        ff_hints_free(a, prev, FF_UNKNOWN, span);
    } else {
        ff_mark_free(base, h, span, next);
        ff_set_next(a, prev, h);
        ff_hints_free(a, h, prev, span);
    }
}

static void ff_free(void *arena, void *ptr)
{
    rtm_blk_arena_t *a = arena;
    uint32_t h = ff_offset(a, ptr) - RTM_BLK_HDR;
    ff_release(a, h, rtm_blk_span(arena, h));
}

static rtm_ptr_status_t ff_validate_free(void *arena, void *ptr, size_t *usable)
{
    rtm_blk_arena_t *a = arena;
    rtm_ptr_status_t st = rtm_blk_validate(a, ptr);
    if (st != RTM_PTR_OK) {
        return st == RTM_PTR_INVALID ? ff_refused(a, ptr) : st;
    }
    uint32_t h = ff_offset(a, ptr) - RTM_BLK_HDR;
    uint32_t span = rtm_blk_span(arena, h);
    *usable = span - RTM_BLK_HDR;
    ff_release(a, h, span);
    return RTM_PTR_OK;
}

static rtm_ptr_status_t ff_free_plain(void *arena, void *ptr)
{
    size_t usable;
    return rtm_plain_freed(arena, ptr, ff_validate_free(arena, ptr, &usable));
}

static void *ff_alloc_plain(void *arena, size_t size)
{
    if (size == 0) {
        return NULL;
    }
    rtm_fail_reason_t why;
    void *p = ff_alloc(arena, size, &why);
    return rtm_plain_allocated(arena, p, ((rtm_blk_arena_t *)arena)->stats.free_bytes);
}

/* Gives back the tail of used block h beyond need bytes of span. */
static void ff_shrink(rtm_blk_arena_t *a, uint32_t h, uint32_t span, uint32_t need)
{
    uint8_t *base = (uint8_t *)a;
    uint32_t rem = span - need;
    uint32_t n = h + span;
    if (rem == 0) {
        return;
    }
    if (n != a->end && rtm_blk_is_free(base, n)) {
        /* The free block after h moves down over the tail, which therefore
         * need not reach min_span. Everything is read before the new header
         * is written, since that may land on n's own header or link. */
        uint32_t nspan = rtm_blk_span(base, n);
        uint32_t prev = ff_pred(a, n);
        uint32_t after = ff_link(base, n);
        ff_lose(&a->stats, nspan);
        ff_gain(&a->stats, nspan + rem);
        /* n's header and link end up inside the moved block (the new
         * header below may land on part of them). */
        rtm_strategy_refill(base, n, 2u * RTM_BLK_HDR);
        rtm_blk_unmark(a, n);
        ff_mark_free(base, h + need, nspan + rem, after);
        rtm_blk_mark(a, h + need);
        ff_set_next(a, prev, h + need);
        rtm_blk_set(base, h, need, 0);
        ff_hints_free(a, h + need, prev, nspan + rem);
    } else if (rem >= a->min_span) {
        uint32_t prev = ff_pred(a, h);
        ff_mark_free(base, h + need, rem, ff_next_of(a, prev));
        rtm_blk_mark(a, h + need);
        ff_set_next(a, prev, h + need);
        ff_gain(&a->stats, rem);
        a->stats.overhead_bytes += RTM_BLK_HDR;
        rtm_blk_set(base, h, need, 0);
        ff_hints_free(a, h + need, prev, rem);
    }
}

static bool ff_resize(void *arena, void *ptr, size_t size)
{
    rtm_blk_arena_t *a = arena;
    uint8_t *base = arena;
    uint32_t h = ff_offset(a, ptr) - RTM_BLK_HDR;
    uint32_t span = rtm_blk_span(base, h);
    uint32_t need = rtm_blk_span_for(size, a->gran, a->min_span);
    if (need == 0) {
        return false;
    }
    if (need <= span) {
        ff_shrink(a, h, span, need);
        return true;
    }
    uint32_t n = h + span;
    if (n == a->end || !rtm_blk_is_free(base, n)) {
        return false;
    }
    uint32_t nspan = rtm_blk_span(base, n);
    if (nspan < need - span) {
        return false;
    }
    /* Level 2: what of n becomes the block's (all of it, or up to the tail
     * split off) and what the tail's new header and link cover must still
     * hold the free pattern; the front reports a changed byte. */
    uint32_t claim_from = n + RTM_BLK_HDR + 4u;
    uint32_t claim_to = span + nspan - need >= a->min_span ? h + need + RTM_BLK_HDR + 4u : n + nspan;
    if (claim_to > claim_from) {
        rtm_strategy_claim(&a->stats, base, claim_from, claim_to - claim_from);
    }
    uint32_t prev = ff_pred(a, n);
    uint32_t after = ff_link(base, n);
    uint32_t total = span + nspan;
    ff_lose(&a->stats, nspan);
    a->stats.overhead_bytes -= RTM_BLK_HDR;
    rtm_blk_unmark(a, n);
    if (total - need >= a->min_span) {
        ff_mark_free(base, h + need, total - need, after);
        rtm_blk_mark(a, h + need);
        ff_gain(&a->stats, total - need);
        a->stats.overhead_bytes += RTM_BLK_HDR;
        ff_set_next(a, prev, h + need);
        ff_hints_gone(a, n, h + need);
        total = need;
    } else {
        ff_set_next(a, prev, after);
        ff_hints_gone(a, n, prev);
    }
    rtm_blk_set(base, h, total, 0);
    return true;
}

static size_t ff_usable_size(const void *arena, const void *ptr)
{
    const uint8_t *base = arena;
    return rtm_blk_span(base, ff_offset(arena, ptr) - RTM_BLK_HDR) - RTM_BLK_HDR;
}

/* The one scan of the list that only reads, for rtm_heap_info and the
 * monitors: a damaged link (a write after free, an overrun) ends it, so
 * it reads nothing outside the arena and, the list rising, stops.
 * rtm_heap_check names the damage. */
static size_t ff_largest_free(const void *arena)
{
    const rtm_blk_arena_t *a = arena;
    const uint8_t *base = arena;
    uint32_t best = 0;
    for (uint32_t prev = 0, h = a->head; h != 0 && ff_listed(a, prev, h);
         prev = h, h = ff_link(base, h)) {
        uint32_t span = rtm_blk_span(base, h);
        if (span > best) {
            best = span;
        }
    }
    return best != 0 ? best - RTM_BLK_HDR : 0;
}

static bool ff_walk(const void *arena, rtm_walk_fn fn, void *ctx)
{
    return rtm_blk_walk(arena, fn, ctx);
}

/* The list is in address order, so it is checked in step with the walk of
 * the blocks: each free block met must be the list's next entry. */
static bool ff_check(const void *arena, rtm_check_report_t *report)
{
    const rtm_blk_arena_t *a = arena;
    const uint8_t *base = arena;
    if (!rtm_blk_state_ok(a, ff_min_span(a->gran), sizeof(ff_state_t))) {
        return rtm_check_fail(report, "first-fit state is damaged (granularity or bounds)", a);
    }
    const ff_state_t *st = (const ff_state_t *)arena;
    uint32_t hints_seen = 0;
    size_t blocks = 0;
    size_t free_blocks = 0;
    size_t free_bytes = 0;
    uint32_t expect = a->head;
    const void *link_at = &a->head;
    bool prev_free = false;
    uint32_t span;
    for (uint32_t h = a->first; h < a->end; h += span) {
        uint32_t word = rtm_rd32(base, h);
        const void *at = base + h;
        span = word & ~RTM_BLK_FLAGS;
        if (!rtm_blk_span_ok(span, h, a->end, a->gran, a->min_span)) {
            return rtm_check_fail(report, "block span is not a multiple of the granularity, "
                                          "below the minimum, or past the end", at);
        }
        if ((word & RTM_BLK_PREV_FREE) != 0) {
            return rtm_check_fail(report, "block carries a flag first fit never sets", at);
        }
        if (!rtm_blk_has(a, h)) {
            return rtm_check_fail(report, "block header is missing from the block-start map", at);
        }
        blocks++;
        bool is_free = (word & RTM_BLK_FREE) != 0;
        if (is_free) {
            if (prev_free) {
                return rtm_check_fail(report, "two adjacent free blocks were not merged", at);
            }
            if (expect == 0 || expect > h) {
                return rtm_check_fail(report, "free block is missing from the free list", at);
            }
            if (expect < h) {
                return rtm_check_fail(report, "free list entry is not a free block, or the "
                                              "list is out of address order", link_at);
            }
            link_at = base + h + RTM_BLK_HDR;
            uint32_t link = rtm_rd32(base, h + RTM_BLK_HDR);
            if ((link & RTM_BLK_FLAGS) != FF_LINK_TAG) {
                return rtm_check_fail(report, "free block's list link has wrong tag bits", link_at);
            }
            expect = link & ~RTM_BLK_FLAGS;
            for (uint32_t k = 0; k < FF_CLASSES; k++) {
                if (h <= st->hint[k] && span >= ff_class_span(k)) {
                    return rtm_check_fail(report, "search hint skips a free block that fits its "
                                                  "class", &st->hint[k]);
                }
                hints_seen |= (uint32_t)(st->hint[k] == h) << k;
            }
            free_blocks++;
            free_bytes += span - RTM_BLK_HDR;
        }
        prev_free = is_free;
    }
    if (expect != 0) {
        return rtm_check_fail(report, "free list goes on past the last free block", link_at);
    }
    for (uint32_t k = 0; k < FF_CLASSES; k++) {
        if (st->hint[k] != 0 && (hints_seen & (1u << k)) == 0) {
            return rtm_check_fail(report, "search hint is not a free block", &st->hint[k]);
        }
        if (k > 0 && st->hint[k] < st->hint[k - 1u]) {
            return rtm_check_fail(report, "search hints are out of order", &st->hint[k]);
        }
    }
    if (!rtm_blk_map_count_ok(a, blocks)) {
        return rtm_check_fail(report, "block-start map marks an address where no block starts",
                              rtm_blk_cmap(a));
    }
    if (a->stats.free_bytes != free_bytes || a->stats.free_blocks != free_blocks ||
        a->stats.overhead_bytes !=
            (size_t)a->first + blocks * RTM_BLK_HDR + (a->size - a->end)) {
        return rtm_check_fail(report, "arena stats disagree with the blocks", &a->stats);
    }
    return true;
}

/* One block of an incremental check: its span and flags, its map bit and
 * the clear bits up to the next block's, no free neighbour after a free
 * block, and a free block's link, which must be tagged and lead to a later
 * free block (the list is in address order). */
static bool ff_check_block(const void *arena, uint32_t *at, rtm_block_info_t *info,
                           rtm_check_report_t *report)
{
    const rtm_blk_arena_t *a = arena;
    const uint8_t *base = arena;
    uint32_t h = *at == 0 ? a->first : *at;
    if (!rtm_blk_state_ok(a, ff_min_span(a->gran), sizeof(ff_state_t)) || h < a->first || h >= a->end) {
        return rtm_check_fail(report, "first-fit state or check position is damaged", a);
    }
    uint32_t word = rtm_rd32(base, h);
    uint32_t span = word & ~RTM_BLK_FLAGS;
    if (!rtm_blk_span_ok(span, h, a->end, a->gran, a->min_span) ||
        (word & RTM_BLK_PREV_FREE) != 0) {
        return rtm_check_fail(report, "block header is damaged (span or flags)", base + h);
    }
    bool is_free = (word & RTM_BLK_FREE) != 0;
    uint32_t n = h + span;
    if (!rtm_blk_has(a, h) || !rtm_blk_map_clear_between(a, h, n)) {
        return rtm_check_fail(report, "block-start map disagrees with this block", base + h);
    }
    if (n != a->end) {
        uint32_t nword = rtm_rd32(base, n);
        if (!rtm_blk_span_ok(nword & ~RTM_BLK_FLAGS, n, a->end, a->gran, a->min_span) ||
            (nword & RTM_BLK_PREV_FREE) != 0 || !rtm_blk_has(a, n)) {
            return rtm_check_fail(report, "the block after this one has a damaged header", base + n);
        }
        if (is_free && (nword & RTM_BLK_FREE) != 0) {
            return rtm_check_fail(report, "two adjacent free blocks were not merged", base + n);
        }
    }
    if (is_free) {
        uint32_t link = rtm_rd32(base, h + RTM_BLK_HDR);
        uint32_t to = link & ~RTM_BLK_FLAGS;
        if ((link & RTM_BLK_FLAGS) != FF_LINK_TAG ||
            (to != 0 && (to <= n || to >= a->end || !rtm_blk_is_free(base, to) ||
                         (rtm_rd32(base, to) & RTM_BLK_PREV_FREE) != 0))) {
            return rtm_check_fail(report, "free-list link does not lead to a later free block",
                                  base + h + RTM_BLK_HDR);
        }
    }
    info->ptr = (void *)(uintptr_t)(base + h + RTM_BLK_HDR);
    info->size = span - RTM_BLK_HDR;
    info->used = !is_free;
    *at = n == a->end ? 0u : n;
    return true;
}

const rtm_strategy_t rtm_strategy_first_fit = {
    .id = RTM_FIRST_FIT,
    .min_size = ff_min_size,
    .init = ff_init,
    .deinit = NULL,
    .alloc = ff_alloc,
    .alloc_plain = ff_alloc_plain,
    .validate = ff_validate,
    .free = ff_free,
    .validate_free = ff_validate_free,
    .free_plain = ff_free_plain,
    .resize = ff_resize,
    .usable_size = ff_usable_size,
    .largest_free = ff_largest_free,
    .keeps_free_fill = true,
    .free_meta_head = 4u, /* the list link */
    .free_meta_tail = 0u,
};

const rtm_strategy_inspect_t rtm_inspect_first_fit = {
    .walk = ff_walk,
    .check = ff_check,
    .check_block = ff_check_block,
};
