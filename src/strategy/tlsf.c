/*
 * Two-level segregated fit (TLSF): O(1) malloc and free with immediate
 * coalescing.
 *
 * Free blocks are kept in size classes: the first level splits spans by
 * power of two, the second splits each power of two into 2^RTM_TLSF_SL_LOG2
 * equal ranges. Spans below 2^fl_shift (fl 0) get exact classes, one per
 * granularity step. Two bitmaps say which classes are non-empty, so finding
 * a class that fits is two find-first-set operations. malloc takes the
 * first fitting block among the first 1 + OWN_CLASS_SCAN of the request's
 * own class, else the head of the first class wholly above the request,
 * else (heap nearly exhausted) scans the rest of its own class.
 *
 * Block layout (block.h): 4-byte header word before the payload. A free
 * block also holds, in its payload, the offsets of the next and previous
 * free block of its class, and in its last 4 bytes a footer with its own
 * offset, which is how the block after it finds it to coalesce (flag
 * RTM_BLK_PREV_FREE in that block's header). A used block's last 4 bytes are
 * payload, so a used block costs exactly its 4-byte header.
 *
 * Invariants (all verified by tlsf_check):
 *   - blocks tile [first, end) exactly; a 4-byte end marker (span 0, used)
 *     sits at end;
 *   - every span is a multiple of the granularity and >= min_span;
 *   - no two free blocks are adjacent (coalescing is immediate);
 *   - a block's PREV_FREE flag equals the FREE flag of the block before it;
 *   - a free block's footer holds its own offset;
 *   - every free block is in exactly the list of its class, lists are
 *     doubly linked consistently, and a class's bitmap bit is set iff its
 *     list is non-empty (fl bit iff the fl's sl bitmap is non-zero);
 *   - stats equal what a walk of the blocks counts.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "block.h"
#include "strategy.h"

#define SL_LOG2 ((uint32_t)RTM_TLSF_SL_LOG2)
#define SL_COUNT (1u << SL_LOG2)

/* A free block's list links live in its payload. */
#define LINK_NEXT 4u
#define LINK_PREV 8u
/* Header + two links + footer. */
#define TLSF_MIN_SPAN 16u
/* Links and footers are stored with both flag bits set. With granularity 4
 * a G-aligned pointer into a free block's payload lands just after one of
 * them, and validate reads it as a header: the tag makes it read as free
 * (refused) instead of as a live block. */
#define LINK_TAG RTM_BLK_FLAGS
/* How many blocks of a request's own size class malloc looks at after the
 * class's head before it splits a block of a larger class: one of them
 * that fits spares a larger block (less fragmentation: docs/benchmarks.md),
 * and the bound keeps malloc O(1). */
#define OWN_CLASS_SCAN 16u

typedef struct tlsf {
    rtm_arena_stats_t stats;
    uint32_t granularity;
    uint32_t gshift;     /* log2(granularity) */
    uint32_t fl_shift;   /* spans below 1 << fl_shift are in fl 0 */
    uint32_t fl_count;   /* first-level classes this arena can need */
    uint32_t min_span;
    uint32_t first;      /* offset of the first block's header */
    uint32_t end;        /* offset of the end marker */
    uint32_t fl_bitmap;
    uint32_t block_count;
    uint32_t arena_size;
    /* Followed by uint32_t sl_bitmap[fl_count] and
     * uint32_t heads[fl_count * SL_COUNT]. */
} tlsf_t;

static uint8_t *base_of(tlsf_t *t)
{
    return (uint8_t *)t;
}

static const uint8_t *cbase_of(const tlsf_t *t)
{
    return (const uint8_t *)t;
}

static uint32_t *sl_bitmaps(tlsf_t *t)
{
    return (uint32_t *)(void *)(t + 1);
}

static const uint32_t *csl_bitmaps(const tlsf_t *t)
{
    return (const uint32_t *)(const void *)(t + 1);
}

static uint32_t *heads(tlsf_t *t)
{
    return sl_bitmaps(t) + t->fl_count;
}

static const uint32_t *cheads(const tlsf_t *t)
{
    return csl_bitmaps(t) + t->fl_count;
}

/* Index of the most significant set bit; x != 0. */
static uint32_t msb32(uint32_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return 31u - (uint32_t)__builtin_clz(x);
#else
    uint32_t n = 0;
    while (x >>= 1) {
        n++;
    }
    return n;
#endif
}

/* Index of the least significant set bit; x != 0. */
static uint32_t lsb32(uint32_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (uint32_t)__builtin_ctz(x);
#else
    return msb32(x & (~x + 1u)); /* x & -x isolates the lowest set bit */
#endif
}

static uint32_t fl_shift_for(uint32_t gshift)
{
    return SL_LOG2 + gshift;
}

static uint32_t fl_count_for(size_t arena_size, uint32_t fl_shift)
{
    if (arena_size < ((size_t)1u << fl_shift)) {
        return 1u;
    }
    uint32_t top = arena_size >= ((size_t)1u << 31) ? 31u : msb32((uint32_t)arena_size);
    return top - fl_shift + 2u;
}

static size_t control_size(uint32_t fl_count)
{
    return sizeof(tlsf_t) + (size_t)fl_count * (1u + SL_COUNT) * sizeof(uint32_t);
}

/* Size class of a span (>= min_span). Below 2^fl_shift classes are exact
 * (one per granularity step): such a span is read as if its leading one
 * were at fl_shift, which gives fl 0 and its granularity steps as sl.
 * Above, the SL_LOG2 bits after the leading one pick the second level.
 * Written without branches: spans of both kinds alternate at random. */
static void mapping(const tlsf_t *t, uint32_t span, uint32_t *fl, uint32_t *sl)
{
    uint32_t m = msb32(span);
    /* m and fl_shift are below 64: the difference's top bit is the sign. */
    uint32_t small = (m - t->fl_shift) >> 31;
    uint32_t top = m + ((t->fl_shift - m) & (0u - small));
    *fl = top - t->fl_shift + 1u - small;
    *sl = (span >> (top - SL_LOG2)) & (SL_COUNT - 1u);
}

static uint32_t read_link(const tlsf_t *t, uint32_t at)
{
    return rtm_rd32(cbase_of(t), at) & ~LINK_TAG;
}

static void write_link(tlsf_t *t, uint32_t at, uint32_t target)
{
    rtm_wr32(base_of(t), at, target | LINK_TAG);
}

static uint32_t link_next(const tlsf_t *t, uint32_t b)
{
    return read_link(t, b + LINK_NEXT);
}

static uint32_t link_prev(const tlsf_t *t, uint32_t b)
{
    return read_link(t, b + LINK_PREV);
}

/* Bits of sl_map at sl and above; none when sl is past the last class. */
static uint32_t classes_from(uint32_t sl_map, uint32_t sl)
{
    return sl < 32u ? sl_map & (~0u << sl) : 0u;
}

/* Puts free block b of the given span at the head of its class list. */
static inline void list_insert(tlsf_t *t, uint32_t b, uint32_t span)
{
    /* The two counters are updated apart: side by side, compilers merge
     * them into a vector add that costs more than two plain ones. */
    t->stats.free_blocks++;
    uint32_t fl, sl;
    mapping(t, span, &fl, &sl);
    uint32_t *head = &heads(t)[fl * SL_COUNT + sl];
    uint32_t next = *head;
    write_link(t, b + LINK_NEXT, next);
    write_link(t, b + LINK_PREV, 0);
    if (next != 0) {
        write_link(t, next + LINK_PREV, b);
    }
    *head = b;
    sl_bitmaps(t)[fl] |= 1u << sl;
    t->fl_bitmap |= 1u << fl;
    t->stats.free_bytes += span - RTM_BLK_HDR;
}

/* Takes free block b, of the given span and class index (fl * SL_COUNT +
 * sl), off its list. */
static inline void list_unlink(tlsf_t *t, uint32_t b, uint32_t span, uint32_t cls)
{
    t->stats.free_blocks--;
    uint32_t fl = cls >> SL_LOG2;
    uint32_t sl = cls & (SL_COUNT - 1u);
    uint32_t next = link_next(t, b);
    uint32_t prev = link_prev(t, b);
    if (next != 0) {
        write_link(t, next + LINK_PREV, prev);
    }
    if (prev != 0) {
        write_link(t, prev + LINK_NEXT, next);
    } else {
        heads(t)[cls] = next;
        if (next == 0) {
            uint32_t left = sl_bitmaps(t)[fl] & ~(1u << sl);
            sl_bitmaps(t)[fl] = left;
            if (left == 0) {
                t->fl_bitmap &= ~(1u << fl);
            }
        }
    }
    t->stats.free_bytes -= span - RTM_BLK_HDR;
}

static void list_remove(tlsf_t *t, uint32_t b, uint32_t span)
{
    uint32_t fl, sl;
    mapping(t, span, &fl, &sl);
    list_unlink(t, b, span, fl * SL_COUNT + sl);
}

/* Writes a free block's header, footer and the next block's PREV_FREE flag.
 * A free block's own PREV_FREE is always clear: its predecessor is used. */
static void mark_free(tlsf_t *t, uint32_t b, uint32_t span)
{
    uint8_t *base = base_of(t);
    rtm_blk_set(base, b, span, RTM_BLK_FREE);
    write_link(t, b + span - RTM_BLK_HDR, b);
    uint32_t next = b + span;
    rtm_wr32(base, next, rtm_rd32(base, next) | RTM_BLK_PREV_FREE);
}

/* Writes a used block's header (keeping its PREV_FREE flag) and clears the
 * next block's PREV_FREE flag. */
static void mark_used(tlsf_t *t, uint32_t b, uint32_t span)
{
    uint8_t *base = base_of(t);
    uint32_t prev_free = rtm_blk_flags(base, b) & RTM_BLK_PREV_FREE;
    rtm_blk_set(base, b, span, prev_free);
    uint32_t next = b + span;
    rtm_wr32(base, next, rtm_rd32(base, next) & ~RTM_BLK_PREV_FREE);
}

/* Turns [b + keep, b + span) of used block b into a free block, merging it
 * with a free block after it. keep and span - keep are >= min_span. */
static void release_tail(tlsf_t *t, uint32_t b, uint32_t keep, uint32_t span)
{
    uint8_t *base = base_of(t);
    uint32_t tail = b + keep;
    uint32_t tail_span = span - keep;
    uint32_t after = b + span;
    mark_used(t, b, keep);
    t->block_count++;
    t->stats.overhead_bytes += RTM_BLK_HDR;
    uint32_t after_word = rtm_rd32(base, after);
    if ((after_word & RTM_BLK_FREE) != 0) {
        uint32_t after_span = after_word & ~RTM_BLK_FLAGS;
        list_remove(t, after, after_span);
        tail_span += after_span;
        /* after's header and links now lie inside the tail's payload. */
        rtm_strategy_refill(base, after, RTM_BLK_HDR + 8u);
        t->block_count--;
        t->stats.overhead_bytes -= RTM_BLK_HDR;
    }
    /* The tail's predecessor is b, which is used. */
    mark_free(t, tail, tail_span);
    list_insert(t, tail, tail_span);
}

/* A free block of span >= need, with its class index in *cls; 0 if none.
 * First the first of up to 1 + OWN_CLASS_SCAN blocks of need's own class
 * that fits (classes of fl >= 1 hold a range of spans, so its head may be
 * too small); else the head of the first class whose every block fits
 * (need's own class counts when need is its lower bound); else, the heap
 * being nearly exhausted, the rest of need's own class, so that an
 * allocation fails only when no free block is large enough. */
static inline uint32_t find_free(const tlsf_t *t, uint32_t need, uint32_t *cls)
{
    const uint8_t *base = cbase_of(t);
    uint32_t fl, sl;
    mapping(t, need, &fl, &sl);
    if (fl >= t->fl_count) {
        return 0;
    }
    *cls = fl * SL_COUNT + sl;
    uint32_t c = cheads(t)[*cls];
    for (uint32_t k = 0; c != 0 && k <= OWN_CLASS_SCAN; k++) {
        if (rtm_blk_span(base, c) >= need) {
            return c;
        }
        c = link_next(t, c);
    }
    /* Classes of fl >= 1 are 2^(fl - 1) granules wide. */
    uint32_t start = sl;
    if (fl != 0 && (need & ((1u << (fl - 1u + t->gshift)) - 1u)) != 0) {
        start++;
    }
    uint32_t sl_map = classes_from(csl_bitmaps(t)[fl], start);
    if (sl_map == 0) {
        uint32_t fl_map = fl + 1u < 32u ? t->fl_bitmap & (~0u << (fl + 1u)) : 0u;
        if (fl_map != 0) {
            fl = lsb32(fl_map);
            sl_map = csl_bitmaps(t)[fl];
        }
    }
    if (sl_map != 0) {
        *cls = fl * SL_COUNT + lsb32(sl_map);
        return cheads(t)[*cls];
    }
    for (; c != 0; c = link_next(t, c)) {
        if (rtm_blk_span(base, c) >= need) {
            return c;
        }
    }
    return 0;
}

/* Makes [b, b + need) of unlisted free block b a used block and frees the
 * rest if it can stand as a block. */
static void *take(tlsf_t *t, uint32_t b, uint32_t need)
{
    uint8_t *base = base_of(t);
    uint32_t span = rtm_blk_span(base, b);
    if (span - need >= t->min_span) {
        release_tail(t, b, need, span);
    } else {
        mark_used(t, b, span);
    }
    return base + b + RTM_BLK_HDR;
}

/* take() for a block just unlinked from its class, whose header (free, no
 * PREV_FREE: free blocks never touch) and span the caller read. Its
 * successor is used and already flagged PREV_FREE, which stays true of a
 * split-off tail, and the tail's footer is b's. */
static inline void *take_listed(tlsf_t *t, uint32_t b, uint32_t span, uint32_t need)
{
    uint8_t *base = base_of(t);
    uint32_t tail_span = span - need;
    if (tail_span >= t->min_span) {
        uint32_t tail = b + need;
        rtm_blk_set(base, b, need, 0);
        rtm_blk_set(base, tail, tail_span, RTM_BLK_FREE);
        write_link(t, b + span - RTM_BLK_HDR, tail);
        t->block_count++;
        t->stats.overhead_bytes += RTM_BLK_HDR;
        list_insert(t, tail, tail_span);
    } else {
        rtm_blk_set(base, b, span, 0);
        uint32_t next = b + span;
        rtm_wr32(base, next, rtm_rd32(base, next) & ~RTM_BLK_PREV_FREE);
    }
    return base + b + RTM_BLK_HDR;
}

/* Payload offset of b advanced to the alignment, leaving a gap before it
 * that is 0 or can stand as a free block. */
static uint32_t aligned_payload(const tlsf_t *t, uint32_t b, size_t alignment)
{
    uintptr_t origin = (uintptr_t)cbase_of(t);
    uintptr_t payload = origin + b + RTM_BLK_HDR;
    uintptr_t mask = (uintptr_t)alignment - 1u;
    uintptr_t aligned = (payload + mask) & ~mask;
    if (aligned != payload && aligned - payload < t->min_span) {
        aligned = (payload + t->min_span + mask) & ~mask;
    }
    return (uint32_t)(aligned - origin);
}

static void *alloc_aligned(tlsf_t *t, uint32_t need, size_t alignment)
{
    uint8_t *base = base_of(t);
    /* Any block this large has room for the worst-case gap. */
    uint64_t padded = (uint64_t)need + t->min_span + alignment - t->granularity;
    uint32_t b = 0;
    uint32_t cls;
    if (padded <= t->end - t->first) {
        b = find_free(t, (uint32_t)padded, &cls);
    }
    if (b == 0) {
        /* Nearly exhausted: any free block where the aligned placement fits. */
        for (uint32_t fl = 0; fl < t->fl_count && b == 0; fl++) {
            for (uint32_t sl = 0; sl < SL_COUNT && b == 0; sl++) {
                for (uint32_t c = heads(t)[fl * SL_COUNT + sl]; c != 0; c = link_next(t, c)) {
                    uint32_t at = aligned_payload(t, c, alignment) - RTM_BLK_HDR;
                    if ((uint64_t)at + need <= (uint64_t)c + rtm_blk_span(base, c)) {
                        b = c;
                        break;
                    }
                }
            }
        }
        if (b == 0) {
            return NULL;
        }
    }
    uint32_t at = aligned_payload(t, b, alignment) - RTM_BLK_HDR;
    uint32_t span = rtm_blk_span(base, b);
    list_remove(t, b, span);
    if (at == b) {
        return take_listed(t, b, span, need);
    }
    /* The gap [b, at) stays a free block (its predecessor is used, since b
     * was free); the rest, starting at `at`, is taken. */
    rtm_blk_set(base, at, span - (at - b), RTM_BLK_PREV_FREE);
    mark_free(t, b, at - b);
    list_insert(t, b, at - b);
    t->block_count++;
    t->stats.overhead_bytes += RTM_BLK_HDR;
    return take(t, at, need);
}

/* Smallest arena holding the control block, worst-case padding to the
 * first payload, one block and the end marker. The control block grows
 * with the arena, so iterate to the fixed point (two or three steps). */
static size_t tlsf_min_size(size_t granularity)
{
    uint32_t fl_shift = fl_shift_for(msb32((uint32_t)granularity));
    size_t min_span = TLSF_MIN_SPAN > granularity ? TLSF_MIN_SPAN : granularity;
    size_t size = 0;
    for (;;) {
        size_t need = control_size(fl_count_for(size, fl_shift)) + granularity + min_span + RTM_BLK_HDR;
        if (need <= size) {
            return size;
        }
        size = need;
    }
}

static rtm_err_t tlsf_init(void *arena, size_t size, size_t granularity, size_t param)
{
    (void)param;
    if (size > (size_t)UINT32_MAX) {
        return RTM_ERR_TOO_LARGE;
    }
    if (size < tlsf_min_size(granularity)) {
        return RTM_ERR_TOO_SMALL;
    }
    tlsf_t *t = arena;
    uint8_t *base = base_of(t);
    uint32_t gshift = msb32((uint32_t)granularity);
    uint32_t fl_shift = fl_shift_for(gshift);
    uint32_t min_span = TLSF_MIN_SPAN > granularity ? TLSF_MIN_SPAN : (uint32_t)granularity;
    /* The class table grows with the arena, so just past a power of two the
     * levels it would need can leave no room for a block. Then take one
     * level less and cap the block area to what those levels can hold: the
     * few bytes above the cap are overhead. tlsf_min_size guarantees that
     * one level always fits. */
    uint32_t fl_count = fl_count_for(size, fl_shift);
    uint32_t first = rtm_blk_first_header(base, control_size(fl_count), granularity);
    while (fl_count > 1u && (size_t)first + min_span + RTM_BLK_HDR > size) {
        fl_count--;
        first = rtm_blk_first_header(base, control_size(fl_count), granularity);
    }
    if ((size_t)first + min_span + RTM_BLK_HDR > size) {
        return RTM_ERR_TOO_SMALL;
    }
    size_t ctrl = control_size(fl_count);
    memset(arena, 0, ctrl);
    t->granularity = (uint32_t)granularity;
    t->gshift = gshift;
    t->fl_shift = fl_shift;
    t->fl_count = fl_count;
    t->min_span = min_span;
    t->first = first;
    uint32_t span = (uint32_t)((size - RTM_BLK_HDR - t->first) & ~(size_t)(granularity - 1u));
    /* Spans the classes cover: below 2^(fl_count - 1 + fl_shift). */
    uint64_t cover = (uint64_t)1u << (fl_count - 1u + fl_shift);
    if (span >= cover) {
        span = (uint32_t)(cover - granularity);
    }
    t->end = t->first + span;
    t->block_count = 1;
    t->arena_size = (uint32_t)size;
    t->stats.overhead_bytes = (uint32_t)size - (span - RTM_BLK_HDR);
    rtm_blk_set(base, t->end, 0, 0);
    rtm_blk_set(base, t->first, 0, 0);
    mark_free(t, t->first, span);
    list_insert(t, t->first, span);
    return RTM_OK;
}

static void *tlsf_alloc(void *arena, size_t size, size_t alignment, rtm_fail_reason_t *why)
{
    tlsf_t *t = arena;
    uint32_t need = rtm_blk_span_for(size, t->granularity, t->min_span);
    void *p = NULL;
    if (need != 0 && need <= t->end - t->first) {
        if (alignment <= t->granularity) {
            uint32_t cls;
            uint32_t b = find_free(t, need, &cls);
            if (b != 0) {
                uint32_t span = rtm_blk_span(base_of(t), b);
                list_unlink(t, b, span, cls);
                p = take_listed(t, b, span, need);
            }
        } else {
            p = alloc_aligned(t, need, alignment);
        }
    }
    if (p == NULL) {
        if (need == 0 || need > t->end - t->first) {
            *why = RTM_FAIL_TOO_LARGE;
        } else if (t->stats.free_bytes < size) {
            *why = RTM_FAIL_NO_MEMORY;
        } else {
            *why = RTM_FAIL_FRAGMENTED;
        }
    }
    return p;
}

/* Is h a plausible header of a block in [first, end)? Never reads outside
 * the arena. */
static bool span_sane(const tlsf_t *t, uint32_t h, uint32_t span)
{
    return span >= t->min_span && (span & (t->granularity - 1u)) == 0 && span <= t->end - h;
}

/* validate()'s verdict on ptr; when it is RTM_PTR_OK, *hdr and *word are
 * the block's header offset and header word. Reads nothing outside the
 * arena. */
static inline rtm_ptr_status_t classify(const tlsf_t *t, const void *ptr, uint32_t *hdr,
                                        uint32_t *word_out)
{
    const uint8_t *base = cbase_of(t);
    uint32_t first = t->first;
    uint32_t end = t->end;
    /* Unsigned: a pointer below the arena wraps to a huge offset. */
    uintptr_t off = (uintptr_t)ptr - (uintptr_t)base;
    if (off - (first + RTM_BLK_HDR) >= (uintptr_t)(end - first - RTM_BLK_HDR)) {
        return RTM_PTR_FOREIGN;
    }
    if (((uintptr_t)ptr & (t->granularity - 1u)) != 0) {
        return RTM_PTR_INVALID;
    }
    uint32_t h = (uint32_t)off - RTM_BLK_HDR;
    uint32_t word = rtm_rd32(base, h);
    uint32_t span = word & ~RTM_BLK_FLAGS;
    if (!span_sane(t, h, span)) {
        return RTM_PTR_INVALID;
    }
    if ((word & RTM_BLK_FREE) != 0) {
        return RTM_PTR_FREED;
    }
    /* A live block's boundary tags must agree with its neighbours. */
    uint32_t n = h + span;
    uint32_t next = rtm_rd32(base, n);
    if ((next & RTM_BLK_PREV_FREE) != 0 ||
        (n != end && !span_sane(t, n, next & ~RTM_BLK_FLAGS))) {
        return RTM_PTR_INVALID;
    }
    if ((word & RTM_BLK_PREV_FREE) != 0) {
        if (h < first + t->min_span) {
            return RTM_PTR_INVALID;
        }
        uint32_t prev = read_link(t, h - RTM_BLK_HDR);
        if (prev < first || prev >= h || !rtm_blk_is_free(base, prev) ||
            prev + rtm_blk_span(base, prev) != h) {
            return RTM_PTR_INVALID;
        }
    }
    *hdr = h;
    *word_out = word;
    return RTM_PTR_OK;
}

static rtm_ptr_status_t tlsf_validate(const void *arena, const void *ptr)
{
    uint32_t h, word;
    return classify(arena, ptr, &h, &word);
}

/* Frees the live block whose header, at b, holds word. */
static inline void free_block(tlsf_t *t, uint32_t b, uint32_t word)
{
    uint8_t *base = base_of(t);
    uint32_t span = word & ~RTM_BLK_FLAGS;
    uint32_t merged = 0;
    /* Mark it free first: if it merges into its predecessor, this stale
     * header still reads as free, so a second free is reported as one. */
    rtm_wr32(base, b, word | RTM_BLK_FREE);
    if ((word & RTM_BLK_PREV_FREE) != 0) {
        uint32_t prev = read_link(t, b - RTM_BLK_HDR);
        uint32_t prev_span = rtm_blk_span(base, prev);
        list_remove(t, prev, prev_span);
        span += prev_span;
        /* prev's footer and this header now lie inside the merged block. */
        rtm_strategy_refill(base, b - RTM_BLK_HDR, 2u * RTM_BLK_HDR);
        b = prev;
        merged++;
    }
    uint32_t next = b + span;
    uint32_t next_word = rtm_rd32(base, next);
    if ((next_word & RTM_BLK_FREE) != 0) {
        uint32_t next_span = next_word & ~RTM_BLK_FLAGS;
        list_remove(t, next, next_span);
        span += next_span;
        rtm_strategy_refill(base, next, RTM_BLK_HDR + 8u);
        merged++;
        next += next_span;
        next_word = rtm_rd32(base, next);
    }
    t->block_count -= merged;
    t->stats.overhead_bytes -= merged * RTM_BLK_HDR;
    /* The merged block's predecessor is used: its PREV_FREE is clear. */
    rtm_blk_set(base, b, span, RTM_BLK_FREE);
    write_link(t, next - RTM_BLK_HDR, b);
    rtm_wr32(base, next, next_word | RTM_BLK_PREV_FREE);
    list_insert(t, b, span);
}

static void tlsf_free(void *arena, void *ptr)
{
    tlsf_t *t = arena;
    uint32_t b = (uint32_t)((uint8_t *)ptr - base_of(t)) - RTM_BLK_HDR;
    free_block(t, b, rtm_rd32(base_of(t), b));
}

static rtm_ptr_status_t tlsf_validate_free(void *arena, void *ptr, size_t *usable)
{
    tlsf_t *t = arena;
    uint32_t h, word;
    rtm_ptr_status_t st = classify(t, ptr, &h, &word);
    if (st == RTM_PTR_OK) {
        *usable = (word & ~RTM_BLK_FLAGS) - RTM_BLK_HDR;
        free_block(t, h, word);
    }
    return st;
}

static bool tlsf_resize(void *arena, void *ptr, size_t size)
{
    tlsf_t *t = arena;
    uint8_t *base = base_of(t);
    uint32_t b = (uint32_t)((uint8_t *)ptr - base) - RTM_BLK_HDR;
    uint32_t span = rtm_blk_span(base, b);
    uint32_t need = rtm_blk_span_for(size, t->granularity, t->min_span);
    if (need == 0) {
        return false;
    }
    if (need <= span) {
        if (span - need >= t->min_span) {
            release_tail(t, b, need, span);
        }
        return true;
    }
    uint32_t next = b + span;
    if (!rtm_blk_is_free(base, next)) {
        return false;
    }
    uint32_t next_span = rtm_blk_span(base, next);
    uint32_t joined = span + next_span;
    if (joined < need) {
        return false;
    }
    list_remove(t, next, next_span);
    t->block_count--;
    t->stats.overhead_bytes -= RTM_BLK_HDR;
    mark_used(t, b, joined);
    if (joined - need >= t->min_span) {
        release_tail(t, b, need, joined);
    }
    return true;
}

static size_t tlsf_usable_size(const void *arena, const void *ptr)
{
    const tlsf_t *t = arena;
    const uint8_t *base = cbase_of(t);
    uint32_t b = (uint32_t)((const uint8_t *)ptr - base) - RTM_BLK_HDR;
    return rtm_blk_span(base, b) - RTM_BLK_HDR;
}

/* The highest non-empty class holds the largest block; which one of its
 * blocks is largest takes a scan of that one list. */
static size_t tlsf_largest_free(const void *arena)
{
    const tlsf_t *t = arena;
    if (t->fl_bitmap == 0) {
        return 0;
    }
    uint32_t fl = msb32(t->fl_bitmap);
    uint32_t sl = msb32(csl_bitmaps(t)[fl]);
    uint32_t best = 0;
    size_t guard = t->stats.free_blocks;
    for (uint32_t c = cheads(t)[fl * SL_COUNT + sl]; c != 0 && guard > 0; c = link_next(t, c)) {
        uint32_t span = rtm_blk_span(cbase_of(t), c);
        if (span > best) {
            best = span;
        }
        guard--;
    }
    return best - RTM_BLK_HDR;
}

static bool tlsf_walk(const void *arena, rtm_walk_fn fn, void *ctx)
{
    const tlsf_t *t = arena;
    const uint8_t *base = cbase_of(t);
    for (uint32_t b = t->first; b != t->end;) {
        uint32_t span = rtm_blk_span(base, b);
        if (!span_sane(t, b, span)) {
            return false;
        }
        rtm_block_info_t info = {
            .ptr = (void *)(uintptr_t)(base + b + RTM_BLK_HDR),
            .size = span - RTM_BLK_HDR,
            .used = !rtm_blk_is_free(base, b),
        };
        if (!fn(&info, ctx)) {
            return true;
        }
        b += span;
    }
    return true;
}

/* Each listed block: free, in its class, consistently linked. Returns the
 * number of listed blocks through *listed. */
static bool check_lists(const tlsf_t *t, rtm_check_report_t *r, size_t *listed)
{
    const uint8_t *base = cbase_of(t);
    size_t count = 0;
    for (uint32_t fl = 0; fl < t->fl_count; fl++) {
        uint32_t sl_map = csl_bitmaps(t)[fl];
        if (((t->fl_bitmap >> fl) & 1u) != (sl_map != 0 ? 1u : 0u)) {
            return rtm_check_fail(r, "tlsf: first-level bitmap bit disagrees with its second-level bitmap", &csl_bitmaps(t)[fl]);
        }
        for (uint32_t sl = 0; sl < SL_COUNT; sl++) {
            const uint32_t *head = &cheads(t)[fl * SL_COUNT + sl];
            if (((sl_map >> sl) & 1u) != (*head != 0 ? 1u : 0u)) {
                return rtm_check_fail(r, "tlsf: second-level bitmap bit disagrees with its list", head);
            }
            uint32_t prev = 0;
            for (uint32_t c = *head; c != 0; c = link_next(t, c)) {
                if (c < t->first || c >= t->end || count >= t->block_count) {
                    return rtm_check_fail(r, "tlsf: free-list link outside the heap or cyclic", base + prev);
                }
                uint32_t span = rtm_blk_span(base, c);
                if (!rtm_blk_is_free(base, c) || !span_sane(t, c, span)) {
                    return rtm_check_fail(r, "tlsf: free list holds a block that is not a valid free block", base + c + RTM_BLK_HDR);
                }
                uint32_t cfl, csl;
                mapping(t, span, &cfl, &csl);
                if (cfl != fl || csl != sl) {
                    return rtm_check_fail(r, "tlsf: free block is in the list of another size class", base + c + RTM_BLK_HDR);
                }
                if (link_prev(t, c) != prev) {
                    return rtm_check_fail(r, "tlsf: free-list back link is wrong", base + c + RTM_BLK_HDR);
                }
                prev = c;
                count++;
            }
        }
    }
    if ((t->fl_bitmap >> t->fl_count) != 0 && t->fl_count < 32u) {
        return rtm_check_fail(r, "tlsf: first-level bitmap has bits beyond the arena's classes", &t->fl_bitmap);
    }
    *listed = count;
    return true;
}

static bool tlsf_check(const void *arena, rtm_check_report_t *r)
{
    const tlsf_t *t = arena;
    const uint8_t *base = cbase_of(t);
    size_t free_bytes = 0, free_blocks = 0, used_bytes = 0, blocks = 0;
    bool prev_free = false;
    uint32_t b = t->first;
    while (b != t->end) {
        const void *at = base + b + RTM_BLK_HDR;
        if (b > t->end) {
            return rtm_check_fail(r, "tlsf: blocks run past the end marker", at);
        }
        uint32_t span = rtm_blk_span(base, b);
        if (!span_sane(t, b, span)) {
            return rtm_check_fail(r, "tlsf: block size is not a valid span inside the heap", at);
        }
        bool is_free = rtm_blk_is_free(base, b);
        bool flag_prev = (rtm_blk_flags(base, b) & RTM_BLK_PREV_FREE) != 0;
        if (flag_prev != prev_free) {
            return rtm_check_fail(r, "tlsf: previous-free flag disagrees with the previous block", at);
        }
        if (is_free) {
            if (prev_free) {
                return rtm_check_fail(r, "tlsf: two adjacent free blocks (missed coalescing)", at);
            }
            if (rtm_rd32(base, b + span - RTM_BLK_HDR) != (b | LINK_TAG)) {
                return rtm_check_fail(r, "tlsf: free block footer does not point back to its header", at);
            }
            free_bytes += span - RTM_BLK_HDR;
            free_blocks++;
        } else {
            used_bytes += span - RTM_BLK_HDR;
        }
        prev_free = is_free;
        blocks++;
        b += span;
    }
    uint32_t marker = rtm_rd32(base, t->end);
    if ((marker & ~RTM_BLK_PREV_FREE) != 0 || ((marker & RTM_BLK_PREV_FREE) != 0) != prev_free) {
        return rtm_check_fail(r, "tlsf: end marker is damaged", base + t->end);
    }
    if (blocks != t->block_count) {
        return rtm_check_fail(r, "tlsf: block count disagrees with the blocks", &t->block_count);
    }
    if (free_bytes != t->stats.free_bytes || free_blocks != t->stats.free_blocks) {
        return rtm_check_fail(r, "tlsf: free statistics disagree with the blocks", &t->stats);
    }
    size_t listed = 0;
    if (!check_lists(t, r, &listed)) {
        return false;
    }
    if (listed != free_blocks) {
        return rtm_check_fail(r, "tlsf: a free block is missing from the free lists", &t->stats);
    }
    if (t->stats.overhead_bytes + free_bytes + used_bytes != t->arena_size) {
        return rtm_check_fail(r, "tlsf: overhead statistic disagrees with the blocks", &t->stats);
    }
    return true;
}

/* Is c a listed free block (a plausible free header in [first, end))? */
static bool listed_free(const tlsf_t *t, uint32_t c)
{
    return c >= t->first && c < t->end && (c & 3u) == 0 && rtm_blk_is_free(cbase_of(t), c) &&
           span_sane(t, c, rtm_blk_span(cbase_of(t), c));
}

/* One block of an incremental check: what tlsf_check verifies about it
 * that needs only the block, its neighbours and its list neighbours. */
static bool tlsf_check_block(const void *arena, uint32_t *at, rtm_block_info_t *info,
                             rtm_check_report_t *r)
{
    const tlsf_t *t = arena;
    const uint8_t *base = cbase_of(t);
    uint32_t b = *at == 0 ? t->first : *at;
    if (b < t->first || b >= t->end) {
        return rtm_check_fail(r, "tlsf: check position outside the blocks", base + b);
    }
    const void *here = base + b + RTM_BLK_HDR;
    uint32_t word = rtm_rd32(base, b);
    uint32_t span = word & ~RTM_BLK_FLAGS;
    if (!span_sane(t, b, span)) {
        return rtm_check_fail(r, "tlsf: block size is not a valid span inside the heap", here);
    }
    bool is_free = (word & RTM_BLK_FREE) != 0;
    uint32_t next = b + span;
    uint32_t nword = rtm_rd32(base, next);
    if (next == t->end ? (nword & ~RTM_BLK_PREV_FREE) != 0
                       : !span_sane(t, next, nword & ~RTM_BLK_FLAGS)) {
        return rtm_check_fail(r, "tlsf: the block after this one has a damaged header", base + next);
    }
    if (((nword & RTM_BLK_PREV_FREE) != 0) != is_free) {
        return rtm_check_fail(r, "tlsf: previous-free flag disagrees with the previous block", base + next);
    }
    if ((word & RTM_BLK_PREV_FREE) != 0) {
        uint32_t prev = b >= t->first + t->min_span ? read_link(t, b - RTM_BLK_HDR) : 0u;
        if (is_free || !listed_free(t, prev) || prev + rtm_blk_span(base, prev) != b) {
            return rtm_check_fail(r, "tlsf: previous-free flag set but no free block ends here", here);
        }
    }
    if (is_free) {
        if (rtm_rd32(base, next - RTM_BLK_HDR) != (b | LINK_TAG)) {
            return rtm_check_fail(r, "tlsf: free block footer does not point back to its header", here);
        }
        uint32_t n = link_next(t, b);
        uint32_t p = link_prev(t, b);
        if (n != 0 && (!listed_free(t, n) || link_prev(t, n) != b)) {
            return rtm_check_fail(r, "tlsf: free-list next link does not lead to a free block linking back", base + b + LINK_NEXT);
        }
        uint32_t fl, sl;
        mapping(t, span, &fl, &sl);
        if (p != 0 ? (!listed_free(t, p) || link_next(t, p) != b)
                   : (fl >= t->fl_count || cheads(t)[fl * SL_COUNT + sl] != b)) {
            return rtm_check_fail(r, "tlsf: free-list previous link (or list head) does not lead back to this block", base + b + LINK_PREV);
        }
    }
    info->ptr = (void *)(uintptr_t)here;
    info->size = span - RTM_BLK_HDR;
    info->used = !is_free;
    *at = next == t->end ? 0u : next;
    return true;
}

const rtm_strategy_t rtm_strategy_tlsf = {
    .id = RTM_TLSF,
    .min_size = tlsf_min_size,
    .init = tlsf_init,
    .deinit = NULL,
    .alloc = tlsf_alloc,
    .validate = tlsf_validate,
    .free = tlsf_free,
    .validate_free = tlsf_validate_free,
    .resize = tlsf_resize,
    .usable_size = tlsf_usable_size,
    .largest_free = tlsf_largest_free,
    .keeps_free_fill = true,
    .free_meta_head = 8u, /* next and previous links */
    .free_meta_tail = 4u, /* footer */
};

const rtm_strategy_inspect_t rtm_inspect_tlsf = {
    .walk = tlsf_walk,
    .check = tlsf_check,
    .check_block = tlsf_check_block,
};
