/*
 * Bump allocation (FreeRTOS heap_1 class): blocks are cut in address order
 * from the bottom of one free tail and never freed. Only the most recent
 * block may be resized, by moving the top.
 *
 * Layout (block.h): the shared state rtm_blk_arena_t at offset 0 (head:
 * the top), the block-start map after it, then blocks tiling [first, top);
 * the free tail [top, end) is one free block with a real header, so walk
 * and check see it like any other; the fewer than G bytes after end belong
 * to no block. Every block keeps its 4-byte header so usable_size and walk
 * work, and every header, the tail's included, has its bit in the map.
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
 * Invariants (all verified by bump_check):
 *   - blocks tile [first, top) exactly; every span is a multiple of G and
 *     at least min_span; no header carries RTM_BLK_PREV_FREE;
 *   - a padding block is always followed by a used block;
 *   - top == end, or [top, end) is a block of at least min_span whose
 *     header is its span with RTM_BLK_FREE;
 *   - the map has the bit of every header and no other (RTM_EXACT_POINTERS);
 *   - stats equal what a walk of the blocks counts.
 *
 * Costs: alloc, resize, validate, usable_size, largest_free O(1); walk
 * and check O(blocks). Overhead: 4 bytes a block, plus any padding, and
 * the map.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "block.h"
#include "strategy.h"

static uint32_t bump_min_span(size_t g)
{
    return (uint32_t)rtm_align_up(8u, g);
}

static uint32_t bump_offset(const rtm_blk_arena_t *a, const void *ptr)
{
    return (uint32_t)((uintptr_t)ptr - (uintptr_t)a);
}

/* Takes the free tail out of the blocks, the map and the stats (its header
 * too). */
static void bump_drop_tail(rtm_blk_arena_t *a)
{
    if (a->head != a->end) {
        a->stats.free_bytes -= a->end - a->head - RTM_BLK_HDR;
        a->stats.free_blocks--;
        a->stats.overhead_bytes -= RTM_BLK_HDR;
        rtm_blk_unmark(a, a->head);
    }
}

/* Writes the free tail for the current top and books it. */
static void bump_set_tail(rtm_blk_arena_t *a)
{
    if (a->head != a->end) {
        rtm_blk_set((uint8_t *)a, a->head, a->end - a->head, RTM_BLK_FREE);
        rtm_blk_mark(a, a->head);
        a->stats.free_bytes += a->end - a->head - RTM_BLK_HDR;
        a->stats.free_blocks++;
        a->stats.overhead_bytes += RTM_BLK_HDR;
    }
}

/* A block at h that would leave fewer than min_span bytes before end takes
 * them, so the tail is either absent or a whole block. need <= end - h. */
static uint32_t bump_claim(const rtm_blk_arena_t *a, uint32_t h, uint32_t need)
{
    return a->end - h - need < a->min_span ? a->end - h : need;
}

static size_t bump_min_size(size_t granularity)
{
    return rtm_blk_min_arena(granularity, bump_min_span(granularity), sizeof(rtm_blk_arena_t));
}

static rtm_err_t bump_init(void *arena, size_t size, size_t granularity, size_t param)
{
    (void)param;
    rtm_err_t err = rtm_blk_init_arena(arena, size, granularity, bump_min_span(granularity),
                                       sizeof(rtm_blk_arena_t));
    if (err != RTM_OK) {
        return err;
    }
    rtm_blk_arena_t *a = arena;
    a->head = a->first;
    bump_set_tail(a);
    return RTM_OK;
}

void *rtm_bump_alloc_aligned(void *arena, size_t size, size_t alignment, rtm_fail_reason_t *why)
{
    rtm_blk_arena_t *a = arena;
    uint8_t *base = arena;
    size_t align = alignment > a->gran ? alignment : a->gran;
    uint32_t need = rtm_blk_span_for(size, a->gran, a->min_span);
    if (need == 0 || !rtm_blk_could_fit(base, a->first, a->end, need, align, a->min_span)) {
        *why = RTM_FAIL_TOO_LARGE;
        return NULL;
    }
    uint32_t tail = a->end - a->head;
    size_t gap = rtm_blk_align_gap(base, a->head, align, a->min_span);
    if (tail == 0 || gap > tail || need > tail - gap) {
        *why = a->stats.free_bytes < size ? RTM_FAIL_NO_MEMORY : RTM_FAIL_FRAGMENTED;
        return NULL;
    }
    uint32_t h = a->head;
    bump_drop_tail(a);
    if (gap != 0) {
        rtm_blk_set(base, h, (uint32_t)gap, RTM_BLK_FREE);
        rtm_blk_mark(a, h);
        a->stats.free_bytes += (uint32_t)gap - RTM_BLK_HDR;
        a->stats.free_blocks++;
        a->stats.overhead_bytes += RTM_BLK_HDR;
        h += (uint32_t)gap;
    }
    need = bump_claim(a, h, need);
    rtm_blk_set(base, h, need, 0);
    rtm_blk_mark(a, h);
    a->stats.overhead_bytes += RTM_BLK_HDR;
    a->head = h + need;
    bump_set_tail(a);
    return base + h + RTM_BLK_HDR;
}

static void *bump_alloc(void *arena, size_t size, rtm_fail_reason_t *why)
{
    return rtm_bump_alloc_aligned(arena, size, 0, why);
}

/* Nothing at or above top, and no padding block, was ever handed out, so
 * those are INVALID rather than FREED. With the map (block.h) a pointer is
 * a block start exactly when its header's bit is set; without it the
 * header word decides, which payload data that looks like a header fools. */
static rtm_ptr_status_t bump_validate(const void *arena, const void *ptr)
{
    const rtm_blk_arena_t *a = arena;
    const uint8_t *base = arena;
    uint32_t h = 0;
    rtm_ptr_status_t st = rtm_blk_header_of(a, a->head, ptr, &h);
    if (st != RTM_PTR_OK) {
        return st;
    }
    uint32_t word = rtm_rd32(base, h);
    uint32_t span = word & ~RTM_BLK_FLAGS;
#if RTM_EXACT_POINTERS
    if (!rtm_blk_has(a, h) || (word & RTM_BLK_FREE) != 0) {
        return RTM_PTR_INVALID;
    }
    if (!rtm_blk_span_ok(span, h, a->head, a->gran, a->min_span) ||
        (word & RTM_BLK_PREV_FREE) != 0) {
        return RTM_PTR_CORRUPT;
    }
    uint32_t n = h + span;
    if (n != a->head) {
        return rtm_blk_has(a, n) ? RTM_PTR_OK : RTM_PTR_CORRUPT;
    }
#else
    if (!rtm_blk_span_ok(span, h, a->head, a->gran, a->min_span) ||
        (word & (RTM_BLK_PREV_FREE | RTM_BLK_FREE)) != 0) {
        return RTM_PTR_INVALID;
    }
    /* A sane block followed by a broken header is what an overrun of this
     * block leaves behind. */
    uint32_t n = h + span;
    if (n != a->head) {
        uint32_t next = rtm_rd32(base, n);
        if ((next & RTM_BLK_PREV_FREE) != 0 ||
            !rtm_blk_span_ok(next & ~RTM_BLK_FLAGS, n, a->head, a->gran, a->min_span)) {
            return RTM_PTR_CORRUPT;
        }
        return RTM_PTR_OK;
    }
#endif
    /* The tail header is known exactly. */
    if (n != a->end && rtm_rd32(base, n) != ((a->end - n) | RTM_BLK_FREE)) {
        return RTM_PTR_CORRUPT;
    }
    return RTM_PTR_OK;
}

/* Only the block just below top can change size: it moves the top. */
static bool bump_resize(void *arena, void *ptr, size_t size)
{
    rtm_blk_arena_t *a = arena;
    uint8_t *base = arena;
    uint32_t h = bump_offset(a, ptr) - RTM_BLK_HDR;
    uint32_t span = rtm_blk_span(base, h);
    uint32_t need = rtm_blk_span_for(size, a->gran, a->min_span);
    if (h + span != a->head || need == 0 || need > a->end - h) {
        return false;
    }
    need = bump_claim(a, h, need);
    if (need != span) {
        bump_drop_tail(a);
        rtm_blk_set(base, h, need, 0);
        a->head = h + need;
        bump_set_tail(a);
    }
    return true;
}

static size_t bump_usable_size(const void *arena, const void *ptr)
{
    const uint8_t *base = arena;
    return rtm_blk_span(base, bump_offset(arena, ptr) - RTM_BLK_HDR) - RTM_BLK_HDR;
}

static size_t bump_largest_free(const void *arena)
{
    const rtm_blk_arena_t *a = arena;
    return a->head != a->end ? a->end - a->head - RTM_BLK_HDR : 0;
}

static bool bump_walk(const void *arena, rtm_walk_fn fn, void *ctx)
{
    const rtm_blk_arena_t *a = arena;
    const uint8_t *base = arena;
    uint32_t span;
    for (uint32_t h = a->first; h < a->end; h += span) {
        uint32_t word = rtm_rd32(base, h);
        uint32_t limit = h < a->head ? a->head : a->end;
        span = word & ~RTM_BLK_FLAGS;
        if (!rtm_blk_span_ok(span, h, limit, a->gran, a->min_span) || !rtm_blk_has(a, h) ||
            (h == a->head && word != ((a->end - h) | RTM_BLK_FREE))) {
            return false;
        }
        rtm_block_info_t info = {
            .ptr = (void *)(uintptr_t)(base + h + RTM_BLK_HDR),
            .size = span - RTM_BLK_HDR,
            .used = (word & RTM_BLK_FREE) == 0,
        };
        if (!fn(&info, ctx)) {
            return true;
        }
    }
    return true;
}

static bool bump_state_ok(const rtm_blk_arena_t *a)
{
    uint32_t g = a->gran;
    return rtm_blk_state_ok(a, bump_min_span(g), sizeof(rtm_blk_arena_t)) && a->head >= a->first && a->head <= a->end &&
           ((a->head - a->first) & (g - 1u)) == 0 &&
           (a->head == a->end || a->end - a->head >= a->min_span);
}

static bool bump_check(const void *arena, rtm_check_report_t *report)
{
    const rtm_blk_arena_t *a = arena;
    const uint8_t *base = arena;
    if (!bump_state_ok(a)) {
        return rtm_check_fail(report, "bump state is damaged (granularity, bounds or top)", a);
    }
    size_t used = 0;
    size_t padding = 0; /* usable bytes of padding blocks */
    size_t pad_blocks = 0;
    bool after_padding = false;
    uint32_t span;
    for (uint32_t h = a->first; h < a->head; h += span) {
        uint32_t word = rtm_rd32(base, h);
        const void *at = base + h;
        span = word & ~RTM_BLK_FLAGS;
        if (!rtm_blk_span_ok(span, h, a->head, a->gran, a->min_span)) {
            return rtm_check_fail(report, "block span is not a multiple of the granularity, "
                                          "below the minimum, or past the top", at);
        }
        if ((word & RTM_BLK_PREV_FREE) != 0) {
            return rtm_check_fail(report, "block carries a flag bump never sets", at);
        }
        if (!rtm_blk_has(a, h)) {
            return rtm_check_fail(report, "block header is missing from the block-start map", at);
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
                              base + a->head);
    }
    size_t tail_headers = 0;
    size_t free_bytes = 0;
    if (a->head != a->end) {
        if (rtm_rd32(base, a->head) != ((a->end - a->head) | RTM_BLK_FREE)) {
            return rtm_check_fail(report, "free tail header disagrees with the top",
                                  base + a->head);
        }
        if (!rtm_blk_has(a, a->head)) {
            return rtm_check_fail(report, "free tail header is missing from the block-start map",
                                  base + a->head);
        }
        tail_headers = 1;
        free_bytes = a->end - a->head - RTM_BLK_HDR;
    }
    if (!rtm_blk_map_count_ok(a, used + pad_blocks + tail_headers)) {
        return rtm_check_fail(report, "block-start map marks an address where no block starts",
                              rtm_blk_cmap(a));
    }
    if (a->stats.free_bytes != free_bytes + padding ||
        a->stats.free_blocks != tail_headers + pad_blocks ||
        a->stats.overhead_bytes != (size_t)a->first + (a->size - a->end) +
                                       (used + pad_blocks + tail_headers) * RTM_BLK_HDR) {
        return rtm_check_fail(report, "arena stats disagree with the blocks", &a->stats);
    }
    return true;
}

const rtm_strategy_t rtm_strategy_bump = {
    .id = RTM_BUMP,
    .min_size = bump_min_size,
    .init = bump_init,
    .deinit = NULL,
    .alloc = bump_alloc,
    .validate = bump_validate,
    .free = NULL,
    .resize = bump_resize,
    .usable_size = bump_usable_size,
    .largest_free = bump_largest_free,
};

const rtm_strategy_inspect_t rtm_inspect_bump = {
    .walk = bump_walk,
    .check = bump_check,
};
