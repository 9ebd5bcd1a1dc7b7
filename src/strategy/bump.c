/*
 * Bump allocation (FreeRTOS heap_1 class): blocks are cut in address order
 * from the bottom of one free tail and never freed. Only the most recent
 * block may be resized, by moving the top.
 *
 * Layout (block.h): the state below sits at offset 0, blocks tile
 * [first, top), and the free tail [top, end) is one free block with a real
 * header, so walk and check see it like any other; the fewer than G bytes
 * after end belong to no block. Every block keeps its 4-byte header so
 * usable_size and walk work.
 *
 * Accounting (rtm_arena_stats_t):
 *   - free_bytes / free_blocks count the tail (end - top - 4 bytes in 1
 *     block, or nothing when the top has reached the end) and every padding
 *     block. A tail is never left below min_span: the block that would
 *     leave one takes those bytes instead.
 *   - A larger alignment than G can leave a gap below the aligned block.
 *     It becomes a padding block: free, walked as unused, but never reused,
 *     since bump only cuts from the tail. It counts as free space that no
 *     allocation can reach, which is exactly what fragmentation means, so
 *     largest_free (the tail) falls below free_bytes.
 *
 * Invariants (all verified by rtm_bump_check):
 *   - blocks tile [first, top) exactly; every span is a multiple of G and
 *     at least min_span; no header carries RTM_BLK_PREV_FREE;
 *   - a padding block is always followed by a used block;
 *   - top == end, or [top, end) is a block of at least min_span whose
 *     header is its span with RTM_BLK_FREE;
 *   - stats equal what a walk of the blocks counts.
 *
 * Costs: alloc, resize, validate, usable_size, largest_free O(1); walk
 * and check O(blocks). Overhead: 4 bytes a block, plus any padding.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "block.h"
#include "strategy.h"


typedef struct rtm_bump_state {
    rtm_arena_stats_t stats; /* first: the front reads it in place */
    uint32_t size;           /* arena bytes given to init */
    uint32_t gran;
    uint32_t min_span;
    uint32_t first; /* header of the lowest block */
    uint32_t end;   /* one past the highest block */
    uint32_t top;   /* header of the free tail; == end when there is none */
} rtm_bump_state_t;

static uint32_t rtm_bump_min_span(size_t g)
{
    return (uint32_t)rtm_align_up(8u, g);
}

static uint32_t rtm_bump_offset(const uint8_t *base, const void *ptr)
{
    return (uint32_t)((uintptr_t)ptr - (uintptr_t)base);
}

/* Takes the free tail out of the blocks and the stats (its header too). */
static void rtm_bump_drop_tail(rtm_bump_state_t *st)
{
    if (st->top != st->end) {
        st->stats.free_bytes -= st->end - st->top - RTM_BLK_HDR;
        st->stats.free_blocks--;
        st->stats.overhead_bytes -= RTM_BLK_HDR;
    }
}

/* Writes the free tail for the current top and books it. */
static void rtm_bump_set_tail(uint8_t *base, rtm_bump_state_t *st)
{
    if (st->top != st->end) {
        rtm_blk_set(base, st->top, st->end - st->top, RTM_BLK_FREE);
        st->stats.free_bytes += st->end - st->top - RTM_BLK_HDR;
        st->stats.free_blocks++;
        st->stats.overhead_bytes += RTM_BLK_HDR;
    }
}

/* A block at h that would leave fewer than min_span bytes before end takes
 * them, so the tail is either absent or a whole block. need <= end - h. */
static uint32_t rtm_bump_claim(const rtm_bump_state_t *st, uint32_t h, uint32_t need)
{
    return st->end - h - need < st->min_span ? st->end - h : need;
}

static size_t rtm_bump_min_size(size_t granularity)
{
    return rtm_blk_min_arena(sizeof(rtm_bump_state_t), granularity, rtm_bump_min_span(granularity));
}

static rtm_err_t rtm_bump_init(void *arena, size_t size, size_t granularity, size_t param)
{
    (void)param;
    uint32_t min_span = rtm_bump_min_span(granularity);
    rtm_blk_layout_t lay;
    rtm_err_t err =
        rtm_blk_lay_out(arena, size, granularity, sizeof(rtm_bump_state_t), min_span, &lay);
    if (err != RTM_OK) {
        return err;
    }
    rtm_bump_state_t *st = arena;
    st->size = lay.size;
    st->gran = (uint32_t)granularity;
    st->min_span = min_span;
    st->first = lay.first;
    st->end = lay.end;
    st->top = st->first;
    st->stats.free_bytes = 0;
    st->stats.free_blocks = 0;
    st->stats.overhead_bytes = st->first + (st->size - st->end);
    rtm_bump_set_tail(arena, st);
    return RTM_OK;
}

static void *rtm_bump_alloc(void *arena, size_t size, size_t alignment, rtm_fail_reason_t *why)
{
    rtm_bump_state_t *st = arena;
    uint8_t *base = arena;
    size_t align = alignment > st->gran ? alignment : st->gran;
    uint32_t need = rtm_blk_span_for(size, st->gran, st->min_span);
    if (need == 0 || !rtm_blk_could_fit(base, st->first, st->end, need, align, st->min_span)) {
        *why = RTM_FAIL_TOO_LARGE;
        return NULL;
    }
    uint32_t tail = st->end - st->top;
    size_t gap = rtm_blk_align_gap(base, st->top, align, st->min_span);
    if (tail == 0 || gap > tail || need > tail - gap) {
        *why = st->stats.free_bytes < size ? RTM_FAIL_NO_MEMORY : RTM_FAIL_FRAGMENTED;
        return NULL;
    }
    uint32_t h = st->top;
    rtm_bump_drop_tail(st);
    if (gap != 0) {
        rtm_blk_set(base, h, (uint32_t)gap, RTM_BLK_FREE);
        st->stats.free_bytes += (uint32_t)gap - RTM_BLK_HDR;
        st->stats.free_blocks++;
        st->stats.overhead_bytes += RTM_BLK_HDR;
        h += (uint32_t)gap;
    }
    need = rtm_bump_claim(st, h, need);
    rtm_blk_set(base, h, need, 0);
    st->stats.overhead_bytes += RTM_BLK_HDR;
    st->top = h + need;
    rtm_bump_set_tail(base, st);
    return base + h + RTM_BLK_HDR;
}

/* Nothing at or above top, and no padding block, was ever handed out, so
 * those are INVALID rather than FREED. */
static rtm_ptr_status_t rtm_bump_validate(const void *arena, const void *ptr)
{
    const rtm_bump_state_t *st = arena;
    const uint8_t *base = arena;
    uintptr_t p = (uintptr_t)ptr;
    uintptr_t b = (uintptr_t)base;
    if (p < b + st->first + RTM_BLK_HDR || p >= b + st->end) {
        return RTM_PTR_FOREIGN;
    }
    if ((p & (st->gran - 1u)) != 0) {
        return RTM_PTR_INVALID;
    }
    uint32_t h = (uint32_t)(p - b) - RTM_BLK_HDR;
    if (h >= st->top) {
        return RTM_PTR_INVALID;
    }
    uint32_t word = rtm_rd32(base, h);
    uint32_t span = word & ~RTM_BLK_FLAGS;
    if (!rtm_blk_span_ok(span, h, st->top, st->gran, st->min_span)) {
        return RTM_PTR_INVALID;
    }
    /* No header here carries PREV_FREE. */
    if ((word & RTM_BLK_PREV_FREE) != 0) {
        return RTM_PTR_INVALID;
    }
    if ((word & RTM_BLK_FREE) != 0) {
        return RTM_PTR_INVALID;
    }
    /* A sane block followed by a broken header is what an overrun of this
     * block leaves behind; the tail header is known exactly. */
    uint32_t n = h + span;
    if (n != st->top) {
        uint32_t next = rtm_rd32(base, n);
        if ((next & RTM_BLK_PREV_FREE) != 0 ||
            !rtm_blk_span_ok(next & ~RTM_BLK_FLAGS, n, st->top, st->gran, st->min_span)) {
            return RTM_PTR_CORRUPT;
        }
    } else if (n != st->end && rtm_rd32(base, n) != ((st->end - n) | RTM_BLK_FREE)) {
        return RTM_PTR_CORRUPT;
    }
    return RTM_PTR_OK;
}

/* Only the block just below top can change size: it moves the top. */
static bool rtm_bump_resize(void *arena, void *ptr, size_t size)
{
    rtm_bump_state_t *st = arena;
    uint8_t *base = arena;
    uint32_t h = rtm_bump_offset(base, ptr) - RTM_BLK_HDR;
    uint32_t span = rtm_blk_span(base, h);
    uint32_t need = rtm_blk_span_for(size, st->gran, st->min_span);
    if (h + span != st->top || need == 0 || need > st->end - h) {
        return false;
    }
    need = rtm_bump_claim(st, h, need);
    if (need != span) {
        rtm_bump_drop_tail(st);
        rtm_blk_set(base, h, need, 0);
        st->top = h + need;
        rtm_bump_set_tail(base, st);
    }
    return true;
}

static size_t rtm_bump_usable_size(const void *arena, const void *ptr)
{
    const uint8_t *base = arena;
    return rtm_blk_span(base, rtm_bump_offset(base, ptr) - RTM_BLK_HDR) - RTM_BLK_HDR;
}

static size_t rtm_bump_largest_free(const void *arena)
{
    const rtm_bump_state_t *st = arena;
    return st->top != st->end ? st->end - st->top - RTM_BLK_HDR : 0;
}

static bool rtm_bump_walk(const void *arena, rtm_walk_fn fn, void *ctx)
{
    const rtm_bump_state_t *st = arena;
    const uint8_t *base = arena;
    uint32_t span;
    for (uint32_t h = st->first; h < st->end; h += span) {
        uint32_t word = rtm_rd32(base, h);
        uint32_t limit = h < st->top ? st->top : st->end;
        span = word & ~RTM_BLK_FLAGS;
        if (!rtm_blk_span_ok(span, h, limit, st->gran, st->min_span) ||
            (h == st->top && word != ((st->end - h) | RTM_BLK_FREE))) {
            return false;
        }
        rtm_block_info_t info = {
            .ptr = (void *)(base + h + RTM_BLK_HDR),
            .size = span - RTM_BLK_HDR,
            .used = (word & RTM_BLK_FREE) == 0,
        };
        if (!fn(&info, ctx)) {
            return true;
        }
    }
    return true;
}

static bool rtm_bump_state_ok(const uint8_t *base, const rtm_bump_state_t *st)
{
    uint32_t g = st->gran;
    return rtm_blk_layout_ok(base, sizeof(rtm_bump_state_t), st->size, g, st->min_span,
                             rtm_bump_min_span(g), st->first, st->end) &&
           st->top >= st->first && st->top <= st->end && ((st->top - st->first) & (g - 1u)) == 0 &&
           (st->top == st->end || st->end - st->top >= st->min_span);
}

static bool rtm_bump_check(const void *arena, rtm_check_report_t *report)
{
    const rtm_bump_state_t *st = arena;
    const uint8_t *base = arena;
    if (!rtm_bump_state_ok(base, st)) {
        return rtm_check_fail(report, "bump state is damaged (granularity, bounds or top)", st);
    }
    size_t used = 0;
    size_t padding = 0; /* usable bytes of padding blocks */
    size_t pad_blocks = 0;
    bool after_padding = false;
    uint32_t span;
    for (uint32_t h = st->first; h < st->top; h += span) {
        uint32_t word = rtm_rd32(base, h);
        const void *at = base + h;
        span = word & ~RTM_BLK_FLAGS;
        if (!rtm_blk_span_ok(span, h, st->top, st->gran, st->min_span)) {
            return rtm_check_fail(report, "block span is not a multiple of the granularity, "
                                          "below the minimum, or past the top", at);
        }
        if ((word & RTM_BLK_PREV_FREE) != 0) {
            return rtm_check_fail(report, "block carries a flag bump never sets", at);
        }
        bool is_padding = (word & RTM_BLK_FREE) != 0;
        if (is_padding && after_padding) {
            return rtm_check_fail(report, "padding block is not followed by a used block", at);
        }
        if (is_padding) {
            padding += span - RTM_BLK_HDR;
            pad_blocks++;
        } else {
            used++;
        }
        after_padding = is_padding;
    }
    if (after_padding) {
        return rtm_check_fail(report, "padding block is not followed by a used block",
                              base + st->top);
    }
    size_t tail_headers = 0;
    size_t free_bytes = 0;
    if (st->top != st->end) {
        if (rtm_rd32(base, st->top) != ((st->end - st->top) | RTM_BLK_FREE)) {
            return rtm_check_fail(report, "free tail header disagrees with the top",
                                  base + st->top);
        }
        tail_headers = 1;
        free_bytes = st->end - st->top - RTM_BLK_HDR;
    }
    if (st->stats.free_bytes != free_bytes + padding ||
        st->stats.free_blocks != tail_headers + pad_blocks ||
        st->stats.overhead_bytes != (size_t)st->first + (st->size - st->end) +
                                        (used + pad_blocks + tail_headers) * RTM_BLK_HDR) {
        return rtm_check_fail(report, "arena stats disagree with the blocks", &st->stats);
    }
    return true;
}

const rtm_strategy_t rtm_strategy_bump = {
    .id = RTM_BUMP,
    .min_size = rtm_bump_min_size,
    .init = rtm_bump_init,
    .deinit = NULL,
    .alloc = rtm_bump_alloc,
    .validate = rtm_bump_validate,
    .free = NULL,
    .resize = rtm_bump_resize,
    .usable_size = rtm_bump_usable_size,
    .largest_free = rtm_bump_largest_free,
};

const rtm_strategy_inspect_t rtm_inspect_bump = {
    .walk = rtm_bump_walk,
    .check = rtm_bump_check,
};
