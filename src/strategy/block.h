/*
 * Block layout shared by the TLSF, first-fit, best-fit and bump strategies.
 * Internal.
 *
 * Blocks are addressed by 32-bit offsets from the arena start, so the layout
 * is identical on 32- and 64-bit machines. A block whose header is at offset
 * H spans [H, H + span): a 4-byte header word, then the payload the caller
 * sees at H + 4. span is a multiple of the granularity G and H + 4 is a
 * multiple of G in absolute address terms, so every payload is G-aligned.
 *
 * Header word: span | flags. span is a multiple of G >= 4, which leaves the
 * two low bits for flags.
 *   RTM_BLK_FREE       this block is free
 *   RTM_BLK_PREV_FREE  the block before it is free (TLSF boundary tags)
 * Offset 0 is never a block (the strategy's state lives there), so 0 is the
 * null link.
 */
#ifndef RTMEM_BLOCK_H
#define RTMEM_BLOCK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "rtmem/heap.h"
#include "strategy.h"
#include "../util.h"

#define RTM_BLK_HDR 4u
#define RTM_BLK_FREE 0x1u
#define RTM_BLK_PREV_FREE 0x2u
#define RTM_BLK_FLAGS 0x3u

static inline uint32_t rtm_blk_span(const uint8_t *base, uint32_t h)
{
    return rtm_rd32(base, h) & ~RTM_BLK_FLAGS;
}

static inline uint32_t rtm_blk_flags(const uint8_t *base, uint32_t h)
{
    return rtm_rd32(base, h) & RTM_BLK_FLAGS;
}

static inline bool rtm_blk_is_free(const uint8_t *base, uint32_t h)
{
    return (rtm_rd32(base, h) & RTM_BLK_FREE) != 0;
}

static inline void rtm_blk_set(uint8_t *base, uint32_t h, uint32_t span, uint32_t flags)
{
    rtm_wr32(base, h, span | flags);
}

/* Offset of the first header such that the payload after it is aligned to g
 * in absolute address terms, at or after offset `from`. */
static inline uint32_t rtm_blk_first_header(const uint8_t *base, size_t from, size_t g)
{
    uintptr_t payload = (uintptr_t)base + from + RTM_BLK_HDR;
    uintptr_t aligned = (payload + (g - 1u)) & ~(uintptr_t)(g - 1u);
    return (uint32_t)(aligned - (uintptr_t)base - RTM_BLK_HDR);
}

/* Span needed for a payload of size bytes, or 0 if it overflows 32 bits. */
static inline uint32_t rtm_blk_span_for(size_t size, size_t g, uint32_t min_span)
{
    if (size > (size_t)UINT32_MAX - RTM_BLK_HDR - g) {
        return 0;
    }
    size_t span = rtm_align_up(size + RTM_BLK_HDR, g);
    if (span < min_span) {
        span = min_span;
    }
    return (uint32_t)span;
}

/* The most rtm_blk_first_header(base, from, g) can return over every base
 * aligned to 8 (RTM_HEAP_MEM_ALIGN), so min_size() can promise a size that
 * works wherever the arena lies. 64-bit so that a huge g cannot wrap. */
static inline uint64_t rtm_blk_first_header_worst(size_t from, size_t g)
{
    uint64_t start = (uint64_t)from + RTM_BLK_HDR;
    uint64_t g64 = g;
    if (g64 <= 8u) {
        return (uint64_t)from + ((g64 - (start & (g64 - 1u))) & (g64 - 1u));
    }
    /* base % g can be any multiple of 8, so the unpadded payload's residue
     * can be any value congruent to start mod 8; the smallest non-zero one
     * needs the most padding. */
    uint64_t r = start & 7u;
    return (uint64_t)from + g64 - (r != 0 ? r : 8u);
}

/* Whether span can belong to a block whose header is at h < end: a multiple
 * of g, at least min_span, and ending at or before end. */
static inline bool rtm_blk_span_ok(uint32_t span, uint32_t h, uint32_t end, uint32_t g,
                                   uint32_t min_span)
{
    return (span & (g - 1u)) == 0 && span >= min_span && span <= end - h;
}

/* Bytes from a header at h to the first header at or after it whose payload
 * is aligned to align (a power of two, >= min_span if above g), with a gap
 * of 0 or at least min_span so the gap can itself be a block. The result is
 * below 2 * align, so it cannot wrap. */
static inline size_t rtm_blk_align_gap(const uint8_t *base, uint32_t h, size_t align,
                                       uint32_t min_span)
{
    uintptr_t payload = (uintptr_t)base + h + RTM_BLK_HDR;
    uintptr_t mask = (uintptr_t)align - 1u;
    size_t gap = (size_t)((~payload + 1u) & mask);
    if (gap != 0 && gap < min_span) {
        gap += align;
    }
    return gap;
}

/* The block-start map (RTM_EXACT_POINTERS): one bit per granule of an
 * arena's block area, set iff a block header (free or used) lies there:
 * bit (h - first) >> gshift for the header at offset h. Blocks are G
 * apart at least, so no two share a bit. It lives in the arena, after the
 * strategy's state and before the first block, where no caller's pointer
 * can reach it; a strategy sets a bit when a split makes a block and
 * clears it when a merge absorbs one, so validation can tell a live
 * block's start from any other address exactly, in O(1), whatever the
 * payload bytes around it hold. With RTM_EXACT_POINTERS 0 the map has no
 * bytes and these do nothing. */
static inline size_t rtm_blk_map_bytes(size_t area_bytes, size_t g)
{
#if RTM_EXACT_POINTERS
    size_t granules = area_bytes / g + 1u;
    return ((granules + 31u) / 32u) * 4u;
#else
    (void)area_bytes;
    (void)g;
    return 0;
#endif
}

static inline void rtm_blk_map_set(uint32_t *map, uint32_t bit)
{
#if RTM_EXACT_POINTERS
    map[bit >> 5] |= 1u << (bit & 31u);
#else
    (void)map;
    (void)bit;
#endif
}

static inline void rtm_blk_map_clear(uint32_t *map, uint32_t bit)
{
#if RTM_EXACT_POINTERS
    map[bit >> 5] &= ~(1u << (bit & 31u));
#else
    (void)map;
    (void)bit;
#endif
}

/* True if a block starts at this bit (always true without the map: the
 * caller's header checks then decide alone). */
static inline bool rtm_blk_map_test(const uint32_t *map, uint32_t bit)
{
#if RTM_EXACT_POINTERS
    return ((map[bit >> 5] >> (bit & 31u)) & 1u) != 0;
#else
    (void)map;
    (void)bit;
    return true;
#endif
}

/* Largest granularity a block strategy accepts: spans stay 32-bit. */
#define RTM_BLK_MAX_GRAN ((size_t)1u << 31)

/* Where the blocks of an arena go: the strategy's state takes
 * [0, state_bytes), blocks tile [first, end), and the fewer than G bytes
 * after end belong to no block. */
typedef struct rtm_blk_layout {
    uint32_t size;  /* arena bytes */
    uint32_t first; /* header of the first block */
    uint32_t end;   /* one past the last block */
} rtm_blk_layout_t;

/* The smallest arena rtm_blk_lay_out accepts wherever an 8-aligned arena
 * lies; SIZE_MAX for a granularity it never accepts. */
static inline size_t rtm_blk_min_arena(size_t state_bytes, size_t g, uint32_t min_span)
{
    if (g < 4u || !rtm_is_pow2(g) || g > RTM_BLK_MAX_GRAN) {
        return SIZE_MAX;
    }
    uint64_t need = rtm_blk_first_header_worst(state_bytes, g) + min_span;
    return need > UINT32_MAX ? SIZE_MAX : (size_t)need;
}

/* Checks an arena and computes its layout, room for at least one block of
 * min_span included. */
static inline rtm_err_t rtm_blk_lay_out(void *arena, size_t size, size_t g, size_t state_bytes,
                                        uint32_t min_span, rtm_blk_layout_t *out)
{
    if (arena == NULL) {
        return RTM_ERR_NULL;
    }
    if (((uintptr_t)arena & 7u) != 0) {
        return RTM_ERR_MISALIGNED;
    }
    if (g < 4u || !rtm_is_pow2(g)) {
        return RTM_ERR_BAD_ALIGNMENT;
    }
    if (g > RTM_BLK_MAX_GRAN) {
        return size > UINT32_MAX ? RTM_ERR_TOO_LARGE : RTM_ERR_TOO_SMALL;
    }
    /* Computed here rather than with rtm_blk_first_header so that an arena
     * near the top of the address space cannot wrap the sum. */
    uintptr_t payload = (uintptr_t)arena + state_bytes + RTM_BLK_HDR;
    uint64_t first = state_bytes + (uint64_t)((~payload + 1u) & (g - 1u));
    if ((uint64_t)size < first + min_span) {
        return RTM_ERR_TOO_SMALL;
    }
    if (size > UINT32_MAX) {
        return RTM_ERR_TOO_LARGE;
    }
    out->size = (uint32_t)size;
    out->first = (uint32_t)first;
    out->end = out->first + ((out->size - out->first) & ~((uint32_t)g - 1u));
    return RTM_OK;
}

/* Whether a block of span need at the given alignment could ever fit the
 * area [first, end) of an empty arena. */
static inline bool rtm_blk_could_fit(const uint8_t *base, uint32_t first, uint32_t end,
                                     uint32_t need, size_t align, uint32_t min_span)
{
    uint32_t area = end - first;
    size_t gap = rtm_blk_align_gap(base, first, align, min_span);
    return gap <= area && need <= area - gap;
}

/* Classifies a caller's pointer for the first-fit and best-fit arenas
 * (blocks tile [first, end), free-list links tagged with both flag bits),
 * reading nothing outside them. O(1). */
static inline rtm_ptr_status_t rtm_blk_validate(const uint8_t *base, uint32_t first, uint32_t end,
                                                uint32_t g, uint32_t min_span, const void *ptr)
{
    uintptr_t p = (uintptr_t)ptr;
    uintptr_t b = (uintptr_t)base;
    if (p < b + first + RTM_BLK_HDR || p >= b + end) {
        return RTM_PTR_FOREIGN;
    }
    if ((p & (g - 1u)) != 0) {
        return RTM_PTR_INVALID;
    }
    uint32_t h = (uint32_t)(p - b) - RTM_BLK_HDR;
    uint32_t word = rtm_rd32(base, h);
    uint32_t span = word & ~RTM_BLK_FLAGS;
    if (!rtm_blk_span_ok(span, h, end, g, min_span)) {
        return RTM_PTR_INVALID;
    }
    /* No header here carries PREV_FREE; a tagged free-list link does. */
    if ((word & RTM_BLK_PREV_FREE) != 0) {
        return RTM_PTR_INVALID;
    }
    if ((word & RTM_BLK_FREE) != 0) {
        return RTM_PTR_FREED;
    }
    /* A sane block followed by a broken header is what an overrun of this
     * block leaves behind. */
    uint32_t n = h + span;
    if (n != end) {
        uint32_t next = rtm_rd32(base, n);
        if ((next & RTM_BLK_PREV_FREE) != 0 ||
            !rtm_blk_span_ok(next & ~RTM_BLK_FLAGS, n, end, g, min_span)) {
            return RTM_PTR_CORRUPT;
        }
    }
    return RTM_PTR_OK;
}

/* Calls fn for every block tiling [first, end), in address order; false if
 * a header is not a valid span (the walk stops there). */
static inline bool rtm_blk_walk(const uint8_t *base, uint32_t first, uint32_t end, uint32_t g,
                                uint32_t min_span, rtm_walk_fn fn, void *ctx)
{
    uint32_t span;
    for (uint32_t h = first; h < end; h += span) {
        uint32_t word = rtm_rd32(base, h);
        span = word & ~RTM_BLK_FLAGS;
        if (!rtm_blk_span_ok(span, h, end, g, min_span)) {
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

/* Whether a layout read back from an arena's state is one rtm_blk_lay_out
 * could have made (check() runs this before trusting the state). */
static inline bool rtm_blk_layout_ok(const uint8_t *base, size_t state_bytes, uint32_t size,
                                     uint32_t g, uint32_t min_span, uint32_t expected_min_span,
                                     uint32_t first, uint32_t end)
{
    return g >= 4u && (g & (g - 1u)) == 0 && g <= RTM_BLK_MAX_GRAN &&
           min_span == expected_min_span && first >= state_bytes && first < end && end <= size &&
           size - end < g && ((end - first) & (g - 1u)) == 0 &&
           (((uintptr_t)base + first + RTM_BLK_HDR) & (g - 1u)) == 0;
}

#endif
