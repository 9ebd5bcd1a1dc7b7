/*
 * First fit (FreeRTOS heap_4 class): one free list in address order, the
 * lowest free block that fits is taken, and a freed block merges at once
 * with free neighbours on both sides.
 *
 * Layout (block.h): the state below sits at offset 0, blocks tile
 * [first, end), and the fewer than G bytes after end belong to no block. A
 * free block holds the offset of the next free block (0 = none) in the
 * first 4 bytes of its payload, hence min_span = align_up(8, G).
 *
 * Invariants (all verified by rtm_ff_check):
 *   - blocks tile [first, end) exactly; every span is a multiple of G and
 *     at least min_span; no header carries RTM_BLK_PREV_FREE;
 *   - no two free blocks are adjacent;
 *   - the free list holds every free block exactly once, in strictly
 *     rising address order;
 *   - stats equal what a walk of the blocks counts.
 *
 * Costs: alloc, free, resize and largest_free O(free blocks); validate and
 * usable_size O(1); walk and check O(blocks). Overhead: 4 bytes a block.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "block.h"
#include "strategy.h"

typedef struct rtm_ff_state {
    rtm_arena_stats_t stats; /* first: the front reads it in place */
    uint32_t size;           /* arena bytes given to init */
    uint32_t gran;
    uint32_t min_span;
    uint32_t first; /* header of the lowest block */
    uint32_t end;   /* one past the highest block */
    uint32_t head;  /* lowest free block, 0 = none */
} rtm_ff_state_t;

static uint32_t rtm_ff_min_span(size_t g)
{
    return (uint32_t)rtm_align_up(8u, g);
}

static uint32_t rtm_ff_offset(const uint8_t *base, const void *ptr)
{
    return (uint32_t)((uintptr_t)ptr - (uintptr_t)base);
}

/* Stats move in whole free blocks; header bytes are booked separately in
 * overhead_bytes by whoever creates or absorbs a header. */
static void rtm_ff_gain(rtm_arena_stats_t *s, uint32_t span)
{
    s->free_bytes += span - RTM_BLK_HDR;
    s->free_blocks++;
}

static void rtm_ff_lose(rtm_arena_stats_t *s, uint32_t span)
{
    s->free_bytes -= span - RTM_BLK_HDR;
    s->free_blocks--;
}

/* Two adjacent free blocks become one: one header's bytes turn usable. */
static uint32_t rtm_ff_join(rtm_arena_stats_t *s, uint32_t a, uint32_t b)
{
    rtm_ff_lose(s, a);
    rtm_ff_lose(s, b);
    rtm_ff_gain(s, a + b);
    s->overhead_bytes -= RTM_BLK_HDR;
    return a + b;
}

/* A free block's link word carries both flag bits. validate() reads the
 * word 4 bytes before any pointer it is given, so for a pointer 4 bytes
 * into a free block it reads this link; tagged, the link never passes for
 * the header of a live block. Offsets are multiples of 4, so no bits are
 * lost. */
static uint32_t rtm_ff_rd_link(const uint8_t *base, uint32_t h)
{
    return rtm_rd32(base, h + RTM_BLK_HDR) & ~RTM_BLK_FLAGS;
}

static void rtm_ff_wr_link(uint8_t *base, uint32_t h, uint32_t n)
{
    rtm_wr32(base, h + RTM_BLK_HDR, n | RTM_BLK_FLAGS);
}

/* A link that does not point above `after` and inside the area can only
 * come from a damaged heap; ending the list there keeps every access inside
 * the arena and every list walk finite, since offsets must rise. */
static uint32_t rtm_ff_sane_link(const rtm_ff_state_t *st, uint32_t after, uint32_t n)
{
    return (n > after && n <= st->end - st->min_span) ? n : 0;
}

static uint32_t rtm_ff_head(const rtm_ff_state_t *st)
{
    return rtm_ff_sane_link(st, st->first - 1u, st->head);
}

static uint32_t rtm_ff_next(const uint8_t *base, const rtm_ff_state_t *st, uint32_t h)
{
    return rtm_ff_sane_link(st, h, rtm_ff_rd_link(base, h));
}

static void rtm_ff_set_next(uint8_t *base, rtm_ff_state_t *st, uint32_t prev, uint32_t n)
{
    if (prev == 0) {
        st->head = n;
    } else {
        rtm_ff_wr_link(base, prev, n);
    }
}

static void rtm_ff_mark_free(uint8_t *base, uint32_t h, uint32_t span, uint32_t next)
{
    rtm_blk_set(base, h, span, RTM_BLK_FREE);
    rtm_ff_wr_link(base, h, next);
}

/* Span of a listed block, or 0 if its header is not sane (damaged heap). */
static uint32_t rtm_ff_listed_span(const uint8_t *base, const rtm_ff_state_t *st, uint32_t h)
{
    uint32_t span = rtm_blk_span(base, h);
    return rtm_blk_span_ok(span, h, st->end, st->gran, st->min_span) ? span : 0;
}

/* The highest free block below offset h, 0 if none: h's list predecessor. */
static uint32_t rtm_ff_pred(const uint8_t *base, const rtm_ff_state_t *st, uint32_t h)
{
    uint32_t prev = 0;
    for (uint32_t c = rtm_ff_head(st); c != 0 && c < h; c = rtm_ff_next(base, st, c)) {
        prev = c;
    }
    return prev;
}

static size_t rtm_ff_min_size(size_t granularity)
{
    return rtm_blk_min_arena(sizeof(rtm_ff_state_t), granularity, rtm_ff_min_span(granularity));
}

static rtm_err_t rtm_ff_init(void *arena, size_t size, size_t granularity, size_t param)
{
    (void)param;
    uint32_t min_span = rtm_ff_min_span(granularity);
    rtm_blk_layout_t lay;
    rtm_err_t err =
        rtm_blk_lay_out(arena, size, granularity, sizeof(rtm_ff_state_t), min_span, &lay);
    if (err != RTM_OK) {
        return err;
    }
    rtm_ff_state_t *st = arena;
    uint8_t *base = arena;
    st->size = lay.size;
    st->gran = (uint32_t)granularity;
    st->min_span = min_span;
    st->first = lay.first;
    st->end = lay.end;
    st->head = st->first;
    rtm_ff_mark_free(base, st->first, st->end - st->first, 0);
    st->stats.free_bytes = 0;
    st->stats.free_blocks = 0;
    st->stats.overhead_bytes = st->first + RTM_BLK_HDR + (st->size - st->end);
    rtm_ff_gain(&st->stats, st->end - st->first);
    return RTM_OK;
}

/* Turns free block h (list predecessor prev) into a used block of span
 * need whose header lies gap bytes into it. The gap and any tail of at least
 * min_span stay free in h's place in the list, which keeps address order. */
static void *rtm_ff_take(uint8_t *base, rtm_ff_state_t *st, uint32_t prev, uint32_t h,
                         uint32_t gap, uint32_t need)
{
    uint32_t span = rtm_blk_span(base, h);
    uint32_t next = rtm_ff_next(base, st, h);
    rtm_ff_lose(&st->stats, span);
    if (gap != 0) {
        rtm_ff_mark_free(base, h, gap, 0);
        rtm_ff_gain(&st->stats, gap);
        st->stats.overhead_bytes += RTM_BLK_HDR;
        prev = h;
        h += gap;
        span -= gap;
    }
    if (span - need >= st->min_span) {
        rtm_ff_mark_free(base, h + need, span - need, next);
        rtm_ff_gain(&st->stats, span - need);
        st->stats.overhead_bytes += RTM_BLK_HDR;
        next = h + need;
        span = need;
    }
    rtm_ff_set_next(base, st, prev, next);
    rtm_blk_set(base, h, span, 0);
    return base + h + RTM_BLK_HDR;
}

static void *rtm_ff_alloc(void *arena, size_t size, size_t alignment, rtm_fail_reason_t *why)
{
    rtm_ff_state_t *st = arena;
    uint8_t *base = arena;
    size_t align = alignment > st->gran ? alignment : st->gran;
    uint32_t need = rtm_blk_span_for(size, st->gran, st->min_span);
    if (need == 0 || !rtm_blk_could_fit(base, st->first, st->end, need, align, st->min_span)) {
        *why = RTM_FAIL_TOO_LARGE;
        return NULL;
    }
    uint32_t prev = 0;
    for (uint32_t h = rtm_ff_head(st); h != 0; prev = h, h = rtm_ff_next(base, st, h)) {
        uint32_t span = rtm_ff_listed_span(base, st, h);
        if (span == 0) {
            break;
        }
        size_t gap = rtm_blk_align_gap(base, h, align, st->min_span);
        if (gap <= span && need <= span - gap) {
            return rtm_ff_take(base, st, prev, h, (uint32_t)gap, need);
        }
    }
    *why = st->stats.free_bytes < size ? RTM_FAIL_NO_MEMORY : RTM_FAIL_FRAGMENTED;
    return NULL;
}

static rtm_ptr_status_t rtm_ff_validate(const void *arena, const void *ptr)
{
    const rtm_ff_state_t *st = arena;
    return rtm_blk_validate(arena, st->first, st->end, st->gran, st->min_span, ptr);
}

static void rtm_ff_free(void *arena, void *ptr)
{
    rtm_ff_state_t *st = arena;
    uint8_t *base = arena;
    uint32_t h = rtm_ff_offset(base, ptr) - RTM_BLK_HDR;
    uint32_t span = rtm_blk_span(base, h);
    uint32_t prev = rtm_ff_pred(base, st, h);
    uint32_t next = prev != 0 ? rtm_ff_next(base, st, prev) : rtm_ff_head(st);
    rtm_ff_gain(&st->stats, span);
    if (next != 0 && h + span == next) {
        uint32_t after = rtm_ff_next(base, st, next);
        span = rtm_ff_join(&st->stats, span, rtm_blk_span(base, next));
        /* next's header and link now lie inside h's payload. */
        rtm_strategy_refill(base, next, 2u * RTM_BLK_HDR);
        next = after;
    }
    /* Written even when h merges into prev below: the stale header then
     * still says free, so a second free of ptr reads as a double free
     * (except with the free fill, which covers it: see poison.c). */
    rtm_ff_mark_free(base, h, span, next);
    if (prev != 0 && prev + rtm_blk_span(base, prev) == h) {
        span = rtm_ff_join(&st->stats, rtm_blk_span(base, prev), span);
        rtm_ff_mark_free(base, prev, span, next);
        rtm_strategy_refill(base, h, 2u * RTM_BLK_HDR);
    } else {
        rtm_ff_set_next(base, st, prev, h);
    }
}

/* Gives back the tail of used block h beyond need bytes of span. */
static void rtm_ff_shrink(uint8_t *base, rtm_ff_state_t *st, uint32_t h, uint32_t span,
                          uint32_t need)
{
    uint32_t rem = span - need;
    uint32_t n = h + span;
    if (rem == 0) {
        return;
    }
    if (n != st->end && rtm_blk_is_free(base, n)) {
        /* The free block after h moves down over the tail, which therefore
         * need not reach min_span. Everything is read before the new header
         * is written, since that may land on n's own header or link. */
        uint32_t nspan = rtm_blk_span(base, n);
        uint32_t prev = rtm_ff_pred(base, st, n);
        uint32_t after = rtm_ff_next(base, st, n);
        rtm_ff_lose(&st->stats, nspan);
        rtm_ff_gain(&st->stats, nspan + rem);
        /* n's header and link end up inside the moved block (the new
         * header below may land on part of them). */
        rtm_strategy_refill(base, n, 2u * RTM_BLK_HDR);
        rtm_ff_mark_free(base, h + need, nspan + rem, after);
        rtm_ff_set_next(base, st, prev, h + need);
        rtm_blk_set(base, h, need, 0);
    } else if (rem >= st->min_span) {
        uint32_t prev = rtm_ff_pred(base, st, h);
        uint32_t next = prev != 0 ? rtm_ff_next(base, st, prev) : rtm_ff_head(st);
        rtm_ff_mark_free(base, h + need, rem, next);
        rtm_ff_set_next(base, st, prev, h + need);
        rtm_ff_gain(&st->stats, rem);
        st->stats.overhead_bytes += RTM_BLK_HDR;
        rtm_blk_set(base, h, need, 0);
    }
}

static bool rtm_ff_resize(void *arena, void *ptr, size_t size)
{
    rtm_ff_state_t *st = arena;
    uint8_t *base = arena;
    uint32_t h = rtm_ff_offset(base, ptr) - RTM_BLK_HDR;
    uint32_t span = rtm_blk_span(base, h);
    uint32_t need = rtm_blk_span_for(size, st->gran, st->min_span);
    if (need == 0) {
        return false;
    }
    if (need <= span) {
        rtm_ff_shrink(base, st, h, span, need);
        return true;
    }
    uint32_t n = h + span;
    if (n == st->end || !rtm_blk_is_free(base, n)) {
        return false;
    }
    uint32_t nspan = rtm_blk_span(base, n);
    if (nspan < need - span) {
        return false;
    }
    uint32_t prev = rtm_ff_pred(base, st, n);
    uint32_t after = rtm_ff_next(base, st, n);
    uint32_t total = span + nspan;
    rtm_ff_lose(&st->stats, nspan);
    st->stats.overhead_bytes -= RTM_BLK_HDR;
    if (total - need >= st->min_span) {
        rtm_ff_mark_free(base, h + need, total - need, after);
        rtm_ff_gain(&st->stats, total - need);
        st->stats.overhead_bytes += RTM_BLK_HDR;
        rtm_ff_set_next(base, st, prev, h + need);
        total = need;
    } else {
        rtm_ff_set_next(base, st, prev, after);
    }
    rtm_blk_set(base, h, total, 0);
    return true;
}

static size_t rtm_ff_usable_size(const void *arena, const void *ptr)
{
    const uint8_t *base = arena;
    return rtm_blk_span(base, rtm_ff_offset(base, ptr) - RTM_BLK_HDR) - RTM_BLK_HDR;
}

static size_t rtm_ff_largest_free(const void *arena)
{
    const rtm_ff_state_t *st = arena;
    const uint8_t *base = arena;
    uint32_t best = 0;
    for (uint32_t h = rtm_ff_head(st); h != 0; h = rtm_ff_next(base, st, h)) {
        uint32_t span = rtm_ff_listed_span(base, st, h);
        if (span == 0) {
            break;
        }
        if (span > best) {
            best = span;
        }
    }
    return best != 0 ? best - RTM_BLK_HDR : 0;
}

static bool rtm_ff_walk(const void *arena, rtm_walk_fn fn, void *ctx)
{
    const rtm_ff_state_t *st = arena;
    return rtm_blk_walk(arena, st->first, st->end, st->gran, st->min_span, fn, ctx);
}

static bool rtm_ff_state_ok(const uint8_t *base, const rtm_ff_state_t *st)
{
    return rtm_blk_layout_ok(base, sizeof(rtm_ff_state_t), st->size, st->gran, st->min_span,
                             rtm_ff_min_span(st->gran), st->first, st->end);
}

/* The list is in address order, so it is checked in step with the walk of
 * the blocks: each free block met must be the list's next entry. */
static bool rtm_ff_check(const void *arena, rtm_check_report_t *report)
{
    const rtm_ff_state_t *st = arena;
    const uint8_t *base = arena;
    if (!rtm_ff_state_ok(base, st)) {
        return rtm_check_fail(report, "first-fit state is damaged (granularity or bounds)", st);
    }
    size_t blocks = 0;
    size_t free_blocks = 0;
    size_t free_bytes = 0;
    uint32_t expect = st->head;
    const void *link_at = &st->head;
    bool prev_free = false;
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
            return rtm_check_fail(report, "block carries a flag first fit never sets", at);
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
            if ((link & RTM_BLK_FLAGS) != RTM_BLK_FLAGS) {
                return rtm_check_fail(report, "free block's list link lost its tag bits", link_at);
            }
            expect = link & ~RTM_BLK_FLAGS;
            free_blocks++;
            free_bytes += span - RTM_BLK_HDR;
        }
        prev_free = is_free;
    }
    if (expect != 0) {
        return rtm_check_fail(report, "free list goes on past the last free block", link_at);
    }
    if (st->stats.free_bytes != free_bytes || st->stats.free_blocks != free_blocks ||
        st->stats.overhead_bytes !=
            (size_t)st->first + blocks * RTM_BLK_HDR + (st->size - st->end)) {
        return rtm_check_fail(report, "arena stats disagree with the blocks", &st->stats);
    }
    return true;
}

/* One block of an incremental check: its span and flags, no free
 * neighbour after a free block, and a free block's link, which must be
 * tagged and lead to a later free block (the list is in address order). */
static bool rtm_ff_check_block(const void *arena, uint32_t *at, rtm_block_info_t *info,
                               rtm_check_report_t *report)
{
    const rtm_ff_state_t *st = arena;
    const uint8_t *base = arena;
    uint32_t h = *at == 0 ? st->first : *at;
    if (!rtm_ff_state_ok(base, st) || h < st->first || h >= st->end) {
        return rtm_check_fail(report, "first-fit state or check position is damaged", st);
    }
    uint32_t word = rtm_rd32(base, h);
    uint32_t span = word & ~RTM_BLK_FLAGS;
    if (!rtm_blk_span_ok(span, h, st->end, st->gran, st->min_span) ||
        (word & RTM_BLK_PREV_FREE) != 0) {
        return rtm_check_fail(report, "block header is damaged (span or flags)", base + h);
    }
    bool is_free = (word & RTM_BLK_FREE) != 0;
    uint32_t n = h + span;
    if (n != st->end) {
        uint32_t nword = rtm_rd32(base, n);
        if (!rtm_blk_span_ok(nword & ~RTM_BLK_FLAGS, n, st->end, st->gran, st->min_span) ||
            (nword & RTM_BLK_PREV_FREE) != 0) {
            return rtm_check_fail(report, "the block after this one has a damaged header", base + n);
        }
        if (is_free && (nword & RTM_BLK_FREE) != 0) {
            return rtm_check_fail(report, "two adjacent free blocks were not merged", base + n);
        }
    }
    if (is_free) {
        uint32_t link = rtm_rd32(base, h + RTM_BLK_HDR);
        uint32_t to = link & ~RTM_BLK_FLAGS;
        if ((link & RTM_BLK_FLAGS) != RTM_BLK_FLAGS ||
            (to != 0 && (to <= n || to >= st->end || !rtm_blk_is_free(base, to) ||
                         (rtm_rd32(base, to) & RTM_BLK_PREV_FREE) != 0))) {
            return rtm_check_fail(report, "free-list link does not lead to a later free block",
                                  base + h + RTM_BLK_HDR);
        }
    }
    info->ptr = (void *)(uintptr_t)(base + h + RTM_BLK_HDR);
    info->size = span - RTM_BLK_HDR;
    info->used = !is_free;
    *at = n == st->end ? 0u : n;
    return true;
}

const rtm_strategy_t rtm_strategy_first_fit = {
    .id = RTM_FIRST_FIT,
    .min_size = rtm_ff_min_size,
    .init = rtm_ff_init,
    .deinit = NULL,
    .alloc = rtm_ff_alloc,
    .validate = rtm_ff_validate,
    .free = rtm_ff_free,
    .resize = rtm_ff_resize,
    .usable_size = rtm_ff_usable_size,
    .largest_free = rtm_ff_largest_free,
    .keeps_free_fill = true,
    .free_meta_head = 4u, /* the list link */
    .free_meta_tail = 0u,
};

const rtm_strategy_inspect_t rtm_inspect_first_fit = {
    .walk = rtm_ff_walk,
    .check = rtm_ff_check,
    .check_block = rtm_ff_check_block,
};
