/*
 * Best fit without coalescing (FreeRTOS heap_2 class): one free list sorted
 * by span, the smallest free block that fits is taken and split, and a
 * freed block goes back as it is. Freed neighbours are never merged, so a
 * heap that allocates a few fixed sizes stays fast and predictable, while
 * varied sizes fragment it; that trade is the point of this strategy.
 *
 * Layout (block.h): the shared state rtm_blk_arena_t at offset 0 (head:
 * the smallest free block, 0 = none), the block-start map after it, then
 * blocks tiling [first, end); the fewer than G bytes after end belong to
 * no block. A free block holds the offset of the next free block (0 =
 * none) in the first 4 bytes of its payload, hence min_span =
 * align_up(8, G).
 *
 * Pointers are validated at the API (validate(), with the map) and by
 * check(). At level 0 the list walks of alloc, free and resize end at a
 * link outside the area or to a block whose span is not sane, and after
 * as many blocks as the heap has free, but otherwise trust the links; at
 * levels >= 1 (RTM_CHECK_LINKS) alloc stops at any link that does not lead
 * to a listed free block (bf_step) and fails, and validate() refuses a
 * block whose free or shrink would follow one. largest_free stays within
 * the level-0 bounds at every level.
 *
 * Invariants (all verified by bf_check):
 *   - blocks tile [first, end) exactly; every span is a multiple of G and
 *     at least min_span; no header carries RTM_BLK_PREV_FREE;
 *   - the map has the bit of every header and no other (RTM_EXACT_POINTERS);
 *   - the free list holds every free block exactly once, spans never
 *     decreasing along it;
 *   - stats equal what a walk of the blocks counts.
 *
 * Costs: alloc, free, shrink and largest_free O(free blocks); growing in
 * place is not offered; validate and usable_size O(1) (validate O(free
 * blocks) at levels >= 1, which walks the list as free would); walk and
 * check O(blocks). Overhead: 4 bytes a block, and the map.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "block.h"
#include "strategy.h"

static uint32_t bf_min_span(size_t g)
{
    return (uint32_t)rtm_align_up(8u, g);
}

static uint32_t bf_offset(const uint8_t *base, const void *ptr)
{
    return (uint32_t)((uintptr_t)ptr - (uintptr_t)base);
}

/* Stats move in whole free blocks; header bytes are booked separately in
 * overhead_bytes by whoever creates a header. */
static void bf_gain(rtm_arena_stats_t *s, uint32_t span)
{
    s->free_bytes += span - RTM_BLK_HDR;
    s->free_blocks++;
}

static void bf_lose(rtm_arena_stats_t *s, uint32_t span)
{
    s->free_bytes -= span - RTM_BLK_HDR;
    s->free_blocks--;
}

/* A free block's link word carries both flag bits. validate() reads the
 * word 4 bytes before any pointer it is given, so for a pointer 4 bytes
 * into a free block it reads this link; tagged, the link never passes for
 * the header of a live block. Offsets are multiples of 4, so no bits are
 * lost. */
static uint32_t bf_rd_link(const uint8_t *base, uint32_t h)
{
    return rtm_rd32(base, h + RTM_BLK_HDR) & ~RTM_BLK_FLAGS;
}

static void bf_wr_link(uint8_t *base, uint32_t h, uint32_t n)
{
    rtm_wr32(base, h + RTM_BLK_HDR, n | RTM_BLK_FLAGS);
}

/* A link outside the area can only come from a damaged heap; ending the
 * list there keeps every access inside the arena. List walks are also
 * bounded by free_blocks, as a damaged list may loop. */
static uint32_t bf_sane_link(const rtm_blk_arena_t *st, uint32_t n)
{
    return (n >= st->first && n <= st->end - st->min_span) ? n : 0;
}

static uint32_t bf_next(const uint8_t *base, const rtm_blk_arena_t *st, uint32_t h)
{
    return bf_sane_link(st, bf_rd_link(base, h));
}

static void bf_set_next(uint8_t *base, rtm_blk_arena_t *st, uint32_t prev, uint32_t n)
{
    if (prev == 0) {
        st->head = n;
    } else {
        bf_wr_link(base, prev, n);
    }
}

/* Span of a listed block, or 0 if its header is not sane (damaged heap). */
static uint32_t bf_listed_span(const uint8_t *base, const rtm_blk_arena_t *st, uint32_t h)
{
    uint32_t span = rtm_blk_span(base, h);
    return rtm_blk_span_ok(span, h, st->end, st->gran, st->min_span) ? span : 0;
}

/* What bf_first and bf_step give at levels >= 1 for a damaged link
 * (RTM_CHECK_LINKS). Every block lies below end, so no block has it. */
#define BF_BROKEN UINT32_MAX

/* Levels >= 1: whether n, the link read from listed block prev of span
 * pspan (prev 0: the head), leads to a listed free block: a block start in
 * the area that the map knows, not prev itself, whose header says free
 * with a sane span no smaller than pspan (the list is sorted by span). */
static bool bf_listed(const rtm_blk_arena_t *st, uint32_t prev, uint32_t pspan, uint32_t n)
{
    if (n == prev || n < st->first || n >= st->end || ((n - st->first) & (st->gran - 1u)) != 0 ||
        !rtm_blk_has(st, n)) {
        return false;
    }
    uint32_t word = rtm_rd32((const uint8_t *)st, n);
    uint32_t span = word & ~RTM_BLK_FLAGS;
    return (word & RTM_BLK_FLAGS) == RTM_BLK_FREE && span >= pspan &&
           rtm_blk_span_ok(span, n, st->end, st->gran, st->min_span);
}

/* The first entry of the list, 0 if none. At level 0 as bf_sane_link
 * gives it; at levels >= 1 BF_BROKEN unless the head leads to a listed
 * block, or is 0, exactly when no block is free. */
static uint32_t bf_first(const rtm_blk_arena_t *st)
{
    if (!RTM_CHECK_LINKS) {
        return bf_sane_link(st, st->head);
    }
    uint32_t n = st->head;
    if ((n == 0) != (st->stats.free_blocks == 0) || (n != 0 && !bf_listed(st, 0, 0, n))) {
        return BF_BROKEN;
    }
    return n;
}

/* The entry after listed block h of span span, the list's entry number k
 * (from 0); 0 after the last. At level 0 as bf_next gives it. At levels
 * >= 1 BF_BROKEN for a link that lost its tag bits or does not lead to a
 * listed block, and for a list that ends before its free_blocks-th entry
 * or goes on after it. The count is what finds a cycle through blocks of
 * one span, which no single link gives away (equal spans may come in any
 * order), and a link overwritten with an end that hides the rest. */
static uint32_t bf_step(const uint8_t *base, const rtm_blk_arena_t *st, uint32_t h, uint32_t span,
                        size_t k)
{
    if (!RTM_CHECK_LINKS) {
        return bf_next(base, st, h);
    }
    uint32_t word = rtm_rd32(base, h + RTM_BLK_HDR);
    uint32_t n = word & ~RTM_BLK_FLAGS;
    bool last = k + 1u == st->stats.free_blocks;
    if ((word & RTM_BLK_FLAGS) != RTM_BLK_FLAGS || (n == 0) != last ||
        (n != 0 && !bf_listed(st, h, span, n))) {
        return BF_BROKEN;
    }
    return n;
}

/* Levels >= 1: an allocation met a damaged link after entry prev and
 * leaves the list as it is; noted for the front, which reports the word 4
 * bytes past the offset noted, prev's link. When the head fails (prev 0),
 * the block it leads to is noted, as first fit does, if it lies in the
 * area: an overrun of the block below into that block's header is what
 * makes a head fail. A head outside the area is damage to the state,
 * which no block's link can name; the offset noted then lies 4 bytes
 * before the head, which is reported itself. */
static void bf_broken(rtm_blk_arena_t *st, uint32_t prev)
{
    if (prev == 0) {
        prev = bf_sane_link(st, st->head);
    }
    if (prev == 0) {
        prev = (uint32_t)offsetof(rtm_blk_arena_t, head) - RTM_BLK_HDR;
    }
    rtm_strategy_broken(&st->stats, prev);
}

/* Makes [h, h + span) a free block ahead of the first listed block at least
 * as large, and books it in the stats. */
static void bf_insert(uint8_t *base, rtm_blk_arena_t *st, uint32_t h, uint32_t span)
{
    uint32_t prev = 0;
    uint32_t c = bf_sane_link(st, st->head);
    for (size_t k = 0; c != 0 && k < st->stats.free_blocks; k++) {
        uint32_t cspan = bf_listed_span(base, st, c);
        if (cspan == 0 || cspan >= span) {
            break;
        }
        prev = c;
        c = bf_next(base, st, c);
    }
    rtm_blk_set(base, h, span, RTM_BLK_FREE);
    bf_wr_link(base, h, c);
    bf_set_next(base, st, prev, h);
    bf_gain(&st->stats, span);
}

static size_t bf_min_size(size_t granularity)
{
    return rtm_blk_min_arena(granularity, bf_min_span(granularity), sizeof(rtm_blk_arena_t));
}

static rtm_err_t bf_init(void *arena, size_t size, size_t granularity, size_t param)
{
    (void)param;
    rtm_err_t err = rtm_blk_init_arena(arena, size, granularity, bf_min_span(granularity),
                                       sizeof(rtm_blk_arena_t));
    if (err != RTM_OK) {
        return err;
    }
    rtm_blk_arena_t *st = arena;
    st->stats.overhead_bytes += RTM_BLK_HDR;
    rtm_blk_mark(st, st->first);
    bf_insert(arena, st, st->first, st->end - st->first);
    return RTM_OK;
}

/* Turns free block h (list predecessor prev) into a used block of span
 * need whose header lies gap bytes into it; the gap and any tail of at
 * least min_span go back on the list as free blocks of their own. */
static void *bf_take(uint8_t *base, rtm_blk_arena_t *st, uint32_t prev, uint32_t h,
                         uint32_t gap, uint32_t need)
{
    uint32_t span = rtm_blk_span(base, h);
    rtm_strategy_claim_carve(&st->stats, base, h, span, gap, need, st->min_span);
    bf_set_next(base, st, prev, bf_next(base, st, h));
    bf_lose(&st->stats, span);
    if (gap != 0) {
        bf_insert(base, st, h, gap);
        st->stats.overhead_bytes += RTM_BLK_HDR;
        h += gap;
        span -= gap;
        rtm_blk_mark(st, h);
    }
    if (span - need >= st->min_span) {
        bf_insert(base, st, h + need, span - need);
        rtm_blk_mark(st, h + need);
        st->stats.overhead_bytes += RTM_BLK_HDR;
        span = need;
    }
    rtm_blk_set(base, h, span, 0);
    return base + h + RTM_BLK_HDR;
}

/* The list is sorted by span, so the first block an aligned placement fits
 * in is the smallest such block. */
void *rtm_best_fit_alloc_aligned(void *arena, size_t size, size_t alignment, rtm_fail_reason_t *why)
{
    rtm_blk_arena_t *st = arena;
    uint8_t *base = arena;
    size_t align = alignment > st->gran ? alignment : st->gran;
    uint32_t need = rtm_blk_span_for(size, st->gran, st->min_span);
    if (need == 0 || !rtm_blk_could_fit(base, st->first, st->end, need, align, st->min_span)) {
        *why = RTM_FAIL_TOO_LARGE;
        return NULL;
    }
    uint32_t prev = 0;
    uint32_t h = bf_first(st);
    if (RTM_CHECK_LINKS && h == BF_BROKEN) {
        bf_broken(st, 0);
        h = 0;
    }
    for (size_t k = 0; h != 0 && k < st->stats.free_blocks; k++) {
        uint32_t span = bf_listed_span(base, st, h);
        if (span == 0) {
            break;
        }
        if (span >= need) {
            size_t gap = rtm_blk_align_gap(base, h, align, st->min_span);
            if (gap <= span && need <= span - gap) {
                /* Levels >= 1: bf_take hands h's link to prev. The
                 * inserts of the gap and the tail, both smaller than h,
                 * then follow no link that this walk has not checked. */
                if (RTM_CHECK_LINKS && bf_step(base, st, h, span, k) == BF_BROKEN) {
                    bf_broken(st, h);
                    break;
                }
                return bf_take(base, st, prev, h, (uint32_t)gap, need);
            }
        }
        prev = h;
        h = bf_step(base, st, h, span, k);
        if (RTM_CHECK_LINKS && h == BF_BROKEN) {
            bf_broken(st, prev);
            break;
        }
    }
    *why = st->stats.free_bytes < size ? RTM_FAIL_NO_MEMORY : RTM_FAIL_FRAGMENTED;
    return NULL;
}

static void *bf_alloc(void *arena, size_t size, rtm_fail_reason_t *why)
{
    return rtm_best_fit_alloc_aligned(arena, size, 0, why);
}

/* Levels >= 1: whether the links that a free of a block of span span
 * follows to its place in the list are intact: from the head up to the
 * first listed block at least as large. A shrink's tail, being smaller,
 * stops no later. */
static bool bf_links_ok(const rtm_blk_arena_t *st, uint32_t span)
{
    const uint8_t *base = (const uint8_t *)st;
    uint32_t h = bf_first(st);
    for (size_t k = 0; h != 0 && h != BF_BROKEN; k++) {
        uint32_t hspan = rtm_blk_span(base, h);
        if (hspan >= span) {
            return true;
        }
        h = bf_step(base, st, h, hspan, k);
    }
    return h == 0;
}

static rtm_ptr_status_t bf_validate(const void *arena, const void *ptr)
{
    rtm_ptr_status_t status = rtm_blk_validate(arena, ptr);
    if (status == RTM_PTR_OK && RTM_CHECK_LINKS) {
        const rtm_blk_arena_t *st = arena;
        uint32_t span = rtm_blk_span(arena, bf_offset(arena, ptr) - RTM_BLK_HDR);
        return bf_links_ok(st, span) ? RTM_PTR_OK : RTM_PTR_CORRUPT;
    }
    return status;
}

static void bf_free(void *arena, void *ptr)
{
    rtm_blk_arena_t *st = arena;
    uint8_t *base = arena;
    uint32_t h = bf_offset(base, ptr) - RTM_BLK_HDR;
    bf_insert(base, st, h, rtm_blk_span(base, h));
}

static rtm_ptr_status_t bf_validate_free(void *arena, void *ptr, size_t *usable)
{
    rtm_ptr_status_t st = bf_validate(arena, ptr);
    if (st == RTM_PTR_OK) {
        uint32_t h = bf_offset(arena, ptr) - RTM_BLK_HDR;
        *usable = rtm_blk_span(arena, h) - RTM_BLK_HDR;
        bf_free(arena, ptr);
    }
    return st;
}

/* Shrinks by splitting off a free tail of at least min_span (else the block
 * keeps its span, which still holds size bytes). Growing would need the
 * neighbour merged, which this strategy never does. */
static bool bf_resize(void *arena, void *ptr, size_t size)
{
    rtm_blk_arena_t *st = arena;
    uint8_t *base = arena;
    uint32_t h = bf_offset(base, ptr) - RTM_BLK_HDR;
    uint32_t span = rtm_blk_span(base, h);
    uint32_t need = rtm_blk_span_for(size, st->gran, st->min_span);
    if (need == 0 || need > span) {
        return false;
    }
    if (span - need >= st->min_span) {
        rtm_blk_set(base, h, need, 0);
        bf_insert(base, st, h + need, span - need);
        rtm_blk_mark(st, h + need);
        st->stats.overhead_bytes += RTM_BLK_HDR;
    }
    return true;
}

static size_t bf_usable_size(const void *arena, const void *ptr)
{
    const uint8_t *base = arena;
    return rtm_blk_span(base, bf_offset(base, ptr) - RTM_BLK_HDR) - RTM_BLK_HDR;
}

static size_t bf_largest_free(const void *arena)
{
    const rtm_blk_arena_t *st = arena;
    const uint8_t *base = arena;
    uint32_t best = 0;
    /* At levels >= 1 the walk stops at a damaged link as an allocation
     * does (bf_first, bf_step), so a link into a used block cannot make
     * that block count as free; level 0 keeps the walk's bounds alone. */
    uint32_t h = bf_first(st);
    for (size_t k = 0; h != 0 && h != BF_BROKEN && k < st->stats.free_blocks; k++) {
        uint32_t span = bf_listed_span(base, st, h);
        if (span == 0) {
            break;
        }
        if (span > best) {
            best = span;
        }
        h = bf_step(base, st, h, span, k);
    }
    return best != 0 ? best - RTM_BLK_HDR : 0;
}

static bool bf_walk(const void *arena, rtm_walk_fn fn, void *ctx)
{
    return rtm_blk_walk(arena, fn, ctx);
}

/* Distinct offsets give distinct sums of this mix except by astronomical
 * chance, which lets the check compare the list with the blocks as sets in
 * O(blocks) time and no memory. */
static uint64_t bf_mix(uint32_t h)
{
    uint64_t x = (uint64_t)h * 0x9E3779B97F4A7C15u;
    x ^= x >> 29;
    x *= 0xBF58476D1CE4E5B9u;
    return x ^ (x >> 32);
}

/* Walks the free list, checking each entry and the sort order, and sums it
 * the way bf_check sums the free blocks it walks. */
static bool bf_check_list(const uint8_t *base, const rtm_blk_arena_t *st, size_t free_blocks,
                              uint64_t *fingerprint, rtm_check_report_t *report)
{
    const void *link_at = &st->head;
    uint32_t h = st->head;
    uint32_t prev_span = 0;
    size_t listed = 0;
    *fingerprint = 0;
    while (h != 0) {
        if (listed == free_blocks) {
            return rtm_check_fail(report, "free list is longer than the number of free blocks "
                                          "(a loop or a stray entry)", link_at);
        }
        if (h < st->first || h > st->end - st->min_span ||
            (((uintptr_t)base + h + RTM_BLK_HDR) & (st->gran - 1u)) != 0) {
            return rtm_check_fail(report, "free list entry is outside the block area or "
                                          "misaligned", link_at);
        }
        uint32_t word = rtm_rd32(base, h);
        uint32_t span = word & ~RTM_BLK_FLAGS;
        if ((word & RTM_BLK_FLAGS) != RTM_BLK_FREE ||
            !rtm_blk_span_ok(span, h, st->end, st->gran, st->min_span)) {
            return rtm_check_fail(report, "free list entry is not a free block", link_at);
        }
        if (span < prev_span) {
            return rtm_check_fail(report, "free list is not sorted by size", link_at);
        }
        prev_span = span;
        listed++;
        *fingerprint += bf_mix(h);
        link_at = base + h + RTM_BLK_HDR;
        uint32_t link = rtm_rd32(base, h + RTM_BLK_HDR);
        if ((link & RTM_BLK_FLAGS) != RTM_BLK_FLAGS) {
            return rtm_check_fail(report, "free block's list link lost its tag bits", link_at);
        }
        h = link & ~RTM_BLK_FLAGS;
    }
    if (listed != free_blocks) {
        return rtm_check_fail(report, "a free block is missing from the free list", &st->head);
    }
    return true;
}

static bool bf_check(const void *arena, rtm_check_report_t *report)
{
    const rtm_blk_arena_t *st = arena;
    const uint8_t *base = arena;
    if (!rtm_blk_state_ok(st, bf_min_span(st->gran), sizeof(rtm_blk_arena_t))) {
        return rtm_check_fail(report, "best-fit state is damaged (granularity or bounds)", st);
    }
    size_t blocks = 0;
    size_t free_blocks = 0;
    size_t free_bytes = 0;
    uint64_t fingerprint = 0;
    uint32_t span;
    for (uint32_t h = st->first; h < st->end; h += span) {
        uint32_t word = rtm_rd32(base, h);
        const void *at = base + h;
        span = word & ~RTM_BLK_FLAGS;
        if (!rtm_blk_span_ok(span, h, st->end, st->gran, st->min_span)) {
            return rtm_check_fail(report, "block span is not a multiple of the granularity, "
                                          "below the minimum, or past the end", at);
        }
        if ((word & RTM_BLK_PREV_FREE) != 0) {
            return rtm_check_fail(report, "block carries a flag best fit never sets", at);
        }
        if (!rtm_blk_has(st, h)) {
            return rtm_check_fail(report, "block header is missing from the block-start map", at);
        }
        blocks++;
        if ((word & RTM_BLK_FREE) != 0) {
            free_blocks++;
            free_bytes += span - RTM_BLK_HDR;
            fingerprint += bf_mix(h);
        }
    }
    if (!rtm_blk_map_count_ok(st, blocks)) {
        return rtm_check_fail(report, "block-start map marks an address where no block starts",
                              rtm_blk_cmap(st));
    }
    uint64_t listed_fingerprint;
    if (!bf_check_list(base, st, free_blocks, &listed_fingerprint, report)) {
        return false;
    }
    if (listed_fingerprint != fingerprint) {
        return rtm_check_fail(report, "free list entries are not the free blocks "
                                      "(an entry points inside a block)", &st->head);
    }
    if (st->stats.free_bytes != free_bytes || st->stats.free_blocks != free_blocks ||
        st->stats.overhead_bytes !=
            (size_t)st->first + blocks * RTM_BLK_HDR + (st->size - st->end)) {
        return rtm_check_fail(report, "arena stats disagree with the blocks", &st->stats);
    }
    return true;
}

const rtm_strategy_t rtm_strategy_best_fit = {
    .id = RTM_BEST_FIT,
    .min_size = bf_min_size,
    .init = bf_init,
    .deinit = NULL,
    .alloc = bf_alloc,
    .validate = bf_validate,
    .free = bf_free,
    .validate_free = bf_validate_free,
    .resize = bf_resize,
    .usable_size = bf_usable_size,
    .largest_free = bf_largest_free,
    .keeps_free_fill = true, /* never merges: no metadata is abandoned */
    .free_meta_head = 4u,    /* the list link */
    .free_meta_tail = 0u,
};

const rtm_strategy_inspect_t rtm_inspect_best_fit = {
    .walk = bf_walk,
    .check = bf_check,
    .check_block = NULL, /* the full check runs in one step */
};
