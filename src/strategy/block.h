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

/* rtm_strategy_claim for a carve of free block h (span bytes) by a strategy
 * whose free block keeps one 4-byte link after its header (first fit, best
 * fit): a used block of span need placed gap bytes into h, and a tail left
 * free when at least split_min bytes remain. The bytes that become a header
 * and a link, and the block's first 4 payload bytes, which the front's
 * check of the block skips as a free block's link, held fill wherever the
 * block does not start at h. Nothing at levels 0 and 1. */
static inline void rtm_strategy_claim_carve(rtm_arena_stats_t *stats, const uint8_t *base,
                                            uint32_t h, uint32_t span, uint32_t gap,
                                            uint32_t need, uint32_t split_min)
{
    if (gap != 0) {
        rtm_strategy_claim(stats, base, h + gap, RTM_BLK_HDR + 4u);
    }
    if (span - gap - need >= split_min) {
        rtm_strategy_claim(stats, base, h + gap + need, RTM_BLK_HDR + 4u);
    }
}

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

static RTM_ALWAYS_INLINE void rtm_blk_map_set(uint32_t *map, uint32_t bit)
{
#if RTM_EXACT_POINTERS
    map[bit >> 5] |= 1u << (bit & 31u);
#else
    (void)map;
    (void)bit;
#endif
}

static RTM_ALWAYS_INLINE void rtm_blk_map_clear(uint32_t *map, uint32_t bit)
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
static RTM_ALWAYS_INLINE bool rtm_blk_map_test(const uint32_t *map, uint32_t bit)
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

/* The state first fit, best fit and bump keep at offset 0 of their arena,
 * first in a strategy's own state when it needs more (state_bytes below:
 * that whole state's size, a multiple of 4). Every field is 32-bit, so the
 * state, and with it every offset after it, is the same on 32- and 64-bit
 * machines. The block-start map follows the state (at offset map), then
 * padding, then the first block: the blocks tile [first, end), and the
 * fewer than G bytes after end belong to no block. */
typedef struct rtm_blk_arena {
    rtm_arena_stats_t stats; /* first: the front reads it in place */
    uint32_t size;           /* arena bytes given to init */
    uint32_t gran;           /* G */
    uint32_t gshift;         /* log2(G): the map bit of the header at h is (h - first) >> gshift */
    uint32_t min_span;
    uint32_t map;   /* offset of the block-start map: the strategy's state bytes */
    uint32_t first; /* header of the lowest block */
    uint32_t end;   /* one past the highest block */
    /* The strategy's way into its free space. First fit: the lowest free
     * block, best fit: the smallest (0 = none); bump: the top, the header
     * of the free tail (end when there is none). */
    uint32_t head;
} rtm_blk_arena_t;

static inline uint32_t *rtm_blk_map(rtm_blk_arena_t *a)
{
    return (uint32_t *)(void *)((uint8_t *)a + a->map);
}

static inline const uint32_t *rtm_blk_cmap(const rtm_blk_arena_t *a)
{
    return (const uint32_t *)(const void *)((const uint8_t *)a + a->map);
}

/* Map bit of the header at h, first <= h < end. */
static inline uint32_t rtm_blk_bit(const rtm_blk_arena_t *a, uint32_t h)
{
    return (h - a->first) >> a->gshift;
}

/* Whether a header at h (first <= h < end) is in the map; always true
 * without the map. */
static inline bool rtm_blk_has(const rtm_blk_arena_t *a, uint32_t h)
{
    return rtm_blk_map_test(rtm_blk_cmap(a), rtm_blk_bit(a, h));
}

static inline void rtm_blk_mark(rtm_blk_arena_t *a, uint32_t h)
{
    rtm_blk_map_set(rtm_blk_map(a), rtm_blk_bit(a, h));
}

static inline void rtm_blk_unmark(rtm_blk_arena_t *a, uint32_t h)
{
    rtm_blk_map_clear(rtm_blk_map(a), rtm_blk_bit(a, h));
}

/* Index of the most significant set bit of x != 0. */
static inline uint32_t rtm_blk_msb(uint32_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return 31u ^ (uint32_t)__builtin_clz(x); /* = 31 - clz: one bsr on x86 */
#else
    uint32_t n = 0;
    while ((x >>= 1) != 0) {
        n++;
    }
    return n;
#endif
}

/* Header of the block just below the one at h > first (map only): the
 * highest set bit under h's. The first block's bit is always set, so one
 * is found; words are scanned downwards, usually one or two. */
static inline uint32_t rtm_blk_prev_header(const rtm_blk_arena_t *a, uint32_t h)
{
    const uint32_t *map = rtm_blk_cmap(a);
    uint32_t bit = rtm_blk_bit(a, h);
    uint32_t i = bit >> 5;
    uint32_t w = map[i] & ((1u << (bit & 31u)) - 1u);
    while (w == 0) {
        if (i == 0) {
            return a->first;
        }
        w = map[--i];
    }
    return a->first + (((i << 5) + rtm_blk_msb(w)) << a->gshift);
}

/* Bytes before the first block can start: the state and the map, for an
 * arena of size bytes. The map covers every granule after the state,
 * slightly more than the blocks need, which keeps this independent of
 * where the first block lands. */
static inline size_t rtm_blk_reserved(size_t size, size_t g, size_t state_bytes)
{
    size_t area = size > state_bytes ? size - state_bytes : 0u;
    return state_bytes + rtm_blk_map_bytes(area, g);
}

/* The smallest arena rtm_blk_lay_out accepts wherever an 8-aligned arena
 * lies; SIZE_MAX for a granularity it never accepts. The map grows with
 * the arena, so the bound is iterated until the map it implies stops
 * growing (at once for every arena that small). */
static inline size_t rtm_blk_min_arena(size_t g, uint32_t min_span, size_t state_bytes)
{
    if (g < 4u || !rtm_is_pow2(g) || g > RTM_BLK_MAX_GRAN) {
        return SIZE_MAX;
    }
    size_t reserved = rtm_blk_reserved(0, g, state_bytes);
    for (;;) {
        uint64_t need = rtm_blk_first_header_worst(reserved, g) + min_span;
        if (need > UINT32_MAX) {
            return SIZE_MAX;
        }
        size_t more = rtm_blk_reserved((size_t)need, g, state_bytes);
        if (more <= reserved) {
            return (size_t)need;
        }
        reserved = more;
    }
}

/* Checks an arena, lays out its state, clears its map and computes where
 * the blocks go, room for at least one block of min_span included. The
 * strategy then makes its first block at a->first and books it. */
static inline rtm_err_t rtm_blk_init_arena(void *arena, size_t size, size_t g, uint32_t min_span,
                                           size_t state_bytes)
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
    size_t reserved = rtm_blk_reserved(size, g, state_bytes);
    uintptr_t payload = (uintptr_t)arena + reserved + RTM_BLK_HDR;
    uint64_t first = reserved + (uint64_t)((~payload + 1u) & (g - 1u));
    if ((uint64_t)size < first + min_span) {
        return RTM_ERR_TOO_SMALL;
    }
    if (size > UINT32_MAX) {
        return RTM_ERR_TOO_LARGE;
    }
    rtm_blk_arena_t *a = arena;
    a->size = (uint32_t)size;
    a->gran = (uint32_t)g;
    a->gshift = rtm_blk_msb((uint32_t)g);
    a->min_span = min_span;
    a->map = (uint32_t)state_bytes;
    a->first = (uint32_t)first;
    a->end = a->first + ((a->size - a->first) & ~((uint32_t)g - 1u));
    a->head = 0;
    a->stats.free_bytes = 0;
    a->stats.free_blocks = 0;
    a->stats.overhead_bytes = a->first + (a->size - a->end);
    memset(rtm_blk_map(a), 0, reserved - state_bytes);
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

/* Where the header of a caller's pointer lies, if the pointer can be a
 * payload in [first + 4, limit): RTM_PTR_OK with *h set, else why not. */
static inline rtm_ptr_status_t rtm_blk_header_of(const rtm_blk_arena_t *a, uint32_t limit,
                                                 const void *ptr, uint32_t *h)
{
    uintptr_t p = (uintptr_t)ptr;
    uintptr_t b = (uintptr_t)a;
    if (p < b + a->first + RTM_BLK_HDR || p >= b + a->end) {
        return RTM_PTR_FOREIGN;
    }
    *h = (uint32_t)(p - b) - RTM_BLK_HDR;
    if ((p & (a->gran - 1u)) != 0 || *h >= limit) {
        return RTM_PTR_INVALID;
    }
    return RTM_PTR_OK;
}

/* Map only. Whether h, which the map says is no block's start, lies inside
 * a free block and still holds a free header: what a block freed and then merged
 * into the free block below it leaves behind (a header whose span ends
 * inside that free block), so a call on its pointer is a double free. Only
 * ever changes how a refused pointer is reported. */
static inline bool rtm_blk_stale_free(const rtm_blk_arena_t *a, uint32_t h, uint32_t word)
{
    uint32_t span = word & ~RTM_BLK_FLAGS;
    if ((word & RTM_BLK_FLAGS) != RTM_BLK_FREE || h <= a->first ||
        !rtm_blk_span_ok(span, h, a->end, a->gran, a->min_span)) {
        return false;
    }
    const uint8_t *base = (const uint8_t *)a;
    uint32_t c = rtm_blk_prev_header(a, h);
    return rtm_blk_is_free(base, c) && h + span <= c + rtm_blk_span(base, c);
}

/* Classifies a caller's pointer for the first-fit and best-fit arenas
 * (blocks tile [first, end), free-list links tagged with both flag bits),
 * reading nothing outside them. O(1).
 *
 * With the map, a pointer is a block start exactly when its header's bit
 * is set, whatever the bytes around it hold; the header's flags then tell a
 * live block from a free one, and a header that the map vouches for but
 * whose span is impossible, or whose successor is not in the map, is
 * damage (an overrun of the block, typically). Without the map the header
 * word alone decides, which a payload word that looks like a header
 * fools. */
static inline rtm_ptr_status_t rtm_blk_validate(const rtm_blk_arena_t *a, const void *ptr)
{
    uint32_t h = 0;
    rtm_ptr_status_t st = rtm_blk_header_of(a, a->end, ptr, &h);
    if (st != RTM_PTR_OK) {
        return st;
    }
    const uint8_t *base = (const uint8_t *)a;
    uint32_t word = rtm_rd32(base, h);
    uint32_t span = word & ~RTM_BLK_FLAGS;
#if RTM_EXACT_POINTERS
    if (!rtm_blk_has(a, h)) {
        return RTM_PTR_INVALID;
    }
    /* A live header is its span alone: a multiple of G (>= 4), so no flag
     * bit, at least min_span and inside the area. */
    if ((word & (a->gran - 1u)) == 0 && word >= a->min_span && word <= a->end - h) {
        uint32_t n = h + word;
        return n == a->end || rtm_blk_has(a, n) ? RTM_PTR_OK : RTM_PTR_CORRUPT;
    }
    return (word & (a->gran - 1u)) == RTM_BLK_FREE &&
                   rtm_blk_span_ok(span, h, a->end, a->gran, a->min_span)
               ? RTM_PTR_FREED
               : RTM_PTR_CORRUPT;
#else
    if (!rtm_blk_span_ok(span, h, a->end, a->gran, a->min_span)) {
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
    if (n != a->end) {
        uint32_t next = rtm_rd32(base, n);
        if ((next & RTM_BLK_PREV_FREE) != 0 ||
            !rtm_blk_span_ok(next & ~RTM_BLK_FLAGS, n, a->end, a->gran, a->min_span)) {
            return RTM_PTR_CORRUPT;
        }
    }
    return RTM_PTR_OK;
#endif
}

/* Calls fn for every block tiling [first, end), in address order; false if
 * a header is not a valid span or not in the map (the walk stops there). */
static inline bool rtm_blk_walk(const rtm_blk_arena_t *a, rtm_walk_fn fn, void *ctx)
{
    const uint8_t *base = (const uint8_t *)a;
    uint32_t span;
    for (uint32_t h = a->first; h < a->end; h += span) {
        uint32_t word = rtm_rd32(base, h);
        span = word & ~RTM_BLK_FLAGS;
        if (!rtm_blk_span_ok(span, h, a->end, a->gran, a->min_span) || !rtm_blk_has(a, h)) {
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

/* Whether a state read back from an arena is one rtm_blk_init_arena could
 * have made (check() runs this before trusting it). */
static inline bool rtm_blk_state_ok(const rtm_blk_arena_t *a, uint32_t expected_min_span,
                                    size_t state_bytes)
{
    uint32_t g = a->gran;
    return g >= 4u && (g & (g - 1u)) == 0 && g <= RTM_BLK_MAX_GRAN && (1u << a->gshift) == g &&
           a->min_span == expected_min_span && a->map == state_bytes && a->size >= state_bytes &&
           a->first >= rtm_blk_reserved(a->size, g, state_bytes) && a->first < a->end &&
           a->end <= a->size &&
           a->size - a->end < g && ((a->end - a->first) & (g - 1u)) == 0 &&
           (((uintptr_t)a + a->first + RTM_BLK_HDR) & (g - 1u)) == 0;
}

/* The map against the headers a check walked (blocks of them, each of
 * whose bits it tested): no other bit may be set. */
static inline bool rtm_blk_map_count_ok(const rtm_blk_arena_t *a, size_t blocks)
{
#if RTM_EXACT_POINTERS
    const uint32_t *map = rtm_blk_cmap(a);
    size_t words = (rtm_blk_reserved(a->size, a->gran, a->map) - a->map) / 4u;
    size_t set = 0;
    for (size_t i = 0; i < words; i++) {
        for (uint32_t w = map[i]; w != 0; w &= w - 1u) {
            set++;
        }
    }
    return set == blocks;
#else
    (void)a;
    (void)blocks;
    return true;
#endif
}

/* Whether no bit is set strictly between the headers at h and n (an
 * incremental check's look at one block). */
static inline bool rtm_blk_map_clear_between(const rtm_blk_arena_t *a, uint32_t h, uint32_t n)
{
#if RTM_EXACT_POINTERS
    const uint32_t *map = rtm_blk_cmap(a);
    uint32_t lo = rtm_blk_bit(a, h) + 1u;
    uint32_t hi = (n - a->first) >> a->gshift; /* bits [lo, hi) must be clear */
    for (uint32_t bit = lo; bit < hi;) {
        uint32_t w = map[bit >> 5] >> (bit & 31u);
        uint32_t in_word = 32u - (bit & 31u);
        uint32_t left = hi - bit;
        if (left < in_word) {
            w &= (1u << left) - 1u;
            in_word = left;
        }
        if (w != 0) {
            return false;
        }
        bit += in_word;
    }
    return true;
#else
    (void)a;
    (void)h;
    (void)n;
    return true;
#endif
}

#endif
