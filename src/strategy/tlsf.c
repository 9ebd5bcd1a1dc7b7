/*
 * Two-level segregated fit (TLSF): O(1) malloc and free with immediate
 * coalescing.
 *
 * Free blocks are kept in size classes: the first level splits spans by
 * power of two, the second splits each power of two into 2^RTM_TLSF_SL_LOG2
 * equal ranges. Spans below 2^FL_SHIFT (fl 0) get classes one
 * RTM_DEFAULT_ALIGN step wide: exact at the default granularity. The
 * layout is fixed at compile time, whatever a heap's granularity, so the
 * class of a span costs a handful of instructions with constant shifts;
 * classes narrower than a coarser granularity stay empty. Two bitmaps say which classes are non-empty, so finding
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
 * Arena: the state below, the class heads, the second-level bitmaps and the
 * block-start map (block.h, RTM_EXACT_POINTERS), then the blocks and a
 * 4-byte end marker. Pointer validation is exact: a pointer is a live
 * block's start iff its header's bit is set in the map and the header says
 * used; the map is updated where a split makes a header and a merge
 * absorbs one. At poisoning levels >= 1 (RTM_CHECK_LINKS) allocation and
 * validation also check each free-list link before following it: a
 * damaged one fails the allocation or refuses the pointer, with a report
 * (docs/debugging.md, "Damaged heaps").
 *
 * Invariants (all verified by tlsf_check):
 *   - blocks tile [first, end) exactly; a 4-byte end marker (span 0, used)
 *     sits at end; capacity is end - first, sl_off the offset of the
 *     second-level bitmaps after 1 to 32 levels of class heads, and
 *     map_off where those bitmaps end;
 *   - every span is a multiple of the granularity and >= min_span;
 *   - the map has exactly the bits of the block headers;
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
/* Without the block-start map, links and footers are stored with both flag
 * bits set: a G-aligned pointer into a free block's payload can land just
 * after one of them, and the header checks read it as a header; the tag
 * makes it read as free (refused) instead of as a live block. The map makes
 * the tag unnecessary. */
#define LINK_TAG (RTM_EXACT_POINTERS ? 0u : RTM_BLK_FLAGS)
/* How many blocks of a request's own size class malloc looks at after the
 * class's head before it splits a block of a larger class: one of them
 * that fits spares a larger block (less fragmentation: docs/benchmarks.md),
 * and the bound keeps malloc O(1). */
#define OWN_CLASS_SCAN 16u

/* The hot path's helpers are inlined into malloc and free even where the
 * compiler's heuristics would not, so that their view of the state stays
 * in registers; except in a build for size (-Os), where the compiler's
 * choice keeps one copy of each. */
#if (defined(__GNUC__) || defined(__clang__)) && !defined(__OPTIMIZE_SIZE__)
#define RTM_TLSF_INLINE inline __attribute__((always_inline))
#else
#define RTM_TLSF_INLINE inline
#endif
/* Inlined in every build, a build for size included: helpers smaller than
 * a call (class_in, vstart), malloc's steps that have one caller each
 * (find_free, take), where inlining costs no bytes, and the view of
 * malloc and free (view_inline). Left to -Os, each was a call that saved
 * and reloaded what the caller had in registers: on the Cortex-M4F
 * (bench/cortex_m.sh), TLSF at -Os went from 212 to 173 instructions per
 * operation for 6 bytes of code. */
#define RTM_TLSF_TINY RTM_ALWAYS_INLINE
/* A path kept out of the default heap's hot functions, so that what it
 * loads and keeps live does not cost them; in a build for size, where
 * there is one copy of each path, the compiler decides. */
#if !defined(__OPTIMIZE_SIZE__)
#define RTM_TLSF_APART RTM_NOINLINE
#else
#define RTM_TLSF_APART
#endif

typedef struct tlsf {
    rtm_arena_stats_t stats;
    uint32_t gshift;     /* log2 of the granularity */
    uint32_t sink;       /* written, never read (SINK) */
    uint32_t min_span;
    uint32_t first;      /* offset of the first block's header */
    uint32_t end;        /* offset of the end marker */
    uint32_t capacity;   /* end - first: no block is larger (read by the hot paths) */
    uint32_t sl_off;     /* byte offset of sl_bitmap[] from the state: after the class
                            heads of the first-level classes the arena can need
                            (fl_count_of) */
    uint32_t fl_bitmap;
    uint32_t arena_size;
    uint32_t map_off;    /* offset of the block-start map */
    /* Followed by uint32_t heads[fl_count * SL_COUNT],
     * uint32_t sl_bitmap[fl_count] and the map. */
} tlsf_t;

/* The first-level classes the arena can need, from where their heads end. */
static inline uint32_t fl_count_of(const tlsf_t *t)
{
    return (t->sl_off - (uint32_t)sizeof(tlsf_t)) / (SL_COUNT * (uint32_t)sizeof(uint32_t));
}

static inline uint8_t *base_of(tlsf_t *t)
{
    return (uint8_t *)t;
}

static inline const uint8_t *cbase_of(const tlsf_t *t)
{
    return (const uint8_t *)t;
}

static inline uint32_t *heads(tlsf_t *t)
{
    return (uint32_t *)(void *)(t + 1);
}

static inline const uint32_t *cheads(const tlsf_t *t)
{
    return (const uint32_t *)(const void *)(t + 1);
}

static inline const uint32_t *csl_bitmaps(const tlsf_t *t)
{
    return (const uint32_t *)(const void *)(cbase_of(t) + t->sl_off);
}

static inline uint32_t *block_map(tlsf_t *t)
{
    return (uint32_t *)(void *)(base_of(t) + t->map_off);
}

static inline const uint32_t *cblock_map(const tlsf_t *t)
{
    return (const uint32_t *)(const void *)(cbase_of(t) + t->map_off);
}

/* The map bit of the header at h (h in [first, end]). */
static inline uint32_t map_bit(const tlsf_t *t, uint32_t h)
{
    return (h - t->first) >> t->gshift;
}

/* Blocks in the arena: each has a 4-byte header in the overhead, on top of
 * what lies outside [first, end). */
static uint32_t block_count(const tlsf_t *t)
{
    return (t->stats.overhead_bytes - (t->arena_size - (t->end - t->first))) / RTM_BLK_HDR;
}

static inline uint32_t granularity_of(const tlsf_t *t)
{
    /* Masked: a gshift damaged by a wild write (which tlsf_check reports)
     * still makes a defined shift. */
    return 1u << (t->gshift & 31u);
}

static inline bool is_block_start(const tlsf_t *t, uint32_t h)
{
    return rtm_blk_map_test(cblock_map(t), map_bit(t, h));
}

/* Index of the most significant set bit; x != 0. */
static inline uint32_t msb32(uint32_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return 31u ^ (uint32_t)__builtin_clz(x); /* = 31 - clz: one bsr on x86 */
#else
    uint32_t n = 0;
    while (x >>= 1) {
        n++;
    }
    return n;
#endif
}

/* Index of the least significant set bit; x != 0. */
static inline uint32_t lsb32(uint32_t x)
{
#if defined(__GNUC__) || defined(__clang__)
    return (uint32_t)__builtin_ctz(x);
#else
    return msb32(x & (~x + 1u)); /* x & -x isolates the lowest set bit */
#endif
}

/* log2(RTM_DEFAULT_ALIGN) as a constant expression (config.h makes it a
 * power of two; the sum counts its bits below the top one, up to 2^16). */
#define UNIT_SHIFT                                                                             \
    ((uint32_t)((RTM_DEFAULT_ALIGN >> 1) != 0) + ((RTM_DEFAULT_ALIGN >> 2) != 0) +             \
     ((RTM_DEFAULT_ALIGN >> 3) != 0) + ((RTM_DEFAULT_ALIGN >> 4) != 0) +                       \
     ((RTM_DEFAULT_ALIGN >> 5) != 0) + ((RTM_DEFAULT_ALIGN >> 6) != 0) +                       \
     ((RTM_DEFAULT_ALIGN >> 7) != 0) + ((RTM_DEFAULT_ALIGN >> 8) != 0) +                       \
     ((RTM_DEFAULT_ALIGN >> 9) != 0) + ((RTM_DEFAULT_ALIGN >> 10) != 0) +                      \
     ((RTM_DEFAULT_ALIGN >> 11) != 0) + ((RTM_DEFAULT_ALIGN >> 12) != 0) +                     \
     ((RTM_DEFAULT_ALIGN >> 13) != 0) + ((RTM_DEFAULT_ALIGN >> 14) != 0) +                     \
     ((RTM_DEFAULT_ALIGN >> 15) != 0) + ((RTM_DEFAULT_ALIGN >> 16) != 0))
/* Spans below 2^FL_SHIFT are in fl 0. */
#define FL_SHIFT (SL_LOG2 + UNIT_SHIFT)

static uint32_t fl_count_for(size_t arena_size)
{
    if (arena_size < ((size_t)1u << FL_SHIFT)) {
        return 1u;
    }
    uint32_t top = arena_size >= ((size_t)1u << 31) ? 31u : msb32((uint32_t)arena_size);
    return top - FL_SHIFT + 2u;
}

/* Where the second-level bitmaps start: after the state and the class
 * heads of fl_count levels (tlsf_t.sl_off). */
static size_t sl_offset(uint32_t fl_count)
{
    return sizeof(tlsf_t) + (size_t)fl_count * SL_COUNT * sizeof(uint32_t);
}

/* State, class heads and second-level bitmaps. */
static size_t control_size(uint32_t fl_count)
{
    return sl_offset(fl_count) + (size_t)fl_count * sizeof(uint32_t);
}

/* The state fields that block operations read, loaded once per call.
 * Blocks are written through byte pointers, which a compiler must assume
 * may alias the state, so reading the fields from the state after each
 * such store would reload them every time; a local copy stays in
 * registers. */
typedef struct view {
    tlsf_t *t;
    uint8_t *base;
    uint32_t *heads;
    uint32_t *map;
    uint32_t first;
    uint32_t end;
    uint32_t capacity; /* end - first */
    uint32_t min_span;
    uint32_t gmask; /* granularity - 1 */
    uint32_t gshift;
} view_t;

static RTM_TLSF_TINY view_t view_inline(tlsf_t *t)
{
    view_t v = {t,           base_of(t),          heads(t),  block_map(t), t->first, t->end,
                t->capacity, t->min_span, granularity_of(t) - 1u, t->gshift};
    return v;
}

/* The same where the compiler decides: in a build for size, one copy that
 * the cold paths call (view_inline is for malloc's and free's: inlined
 * there, the view is built in registers instead of on the stack). */
static inline view_t view_of(tlsf_t *t)
{
    return view_inline(t);
}

/* view_of for a heap at the default granularity: the mask, the shifts and
 * the minimum span become immediates, which frees three registers on the
 * hot paths. */
static RTM_TLSF_INLINE view_t view_at_default(tlsf_t *t)
{
    view_t v = {t,
                base_of(t),
                heads(t),
                block_map(t),
                t->first,
                t->end,
                t->capacity,
                RTM_DEFAULT_ALIGN > TLSF_MIN_SPAN ? RTM_DEFAULT_ALIGN : TLSF_MIN_SPAN,
                RTM_DEFAULT_ALIGN - 1u,
                UNIT_SHIFT};
    return v;
}

/* Whether to run a hot path's copy built for the default granularity
 * (RTM_DEFAULT_ALIGN, the granularity of every heap that does not ask for
 * another): always false in a build for size (-Os), which keeps one copy
 * of each path. */
static inline bool at_default_granularity(const tlsf_t *t)
{
#if defined(__OPTIMIZE_SIZE__)
    (void)t;
    return false;
#else
    return t->gshift == UNIT_SHIFT;
#endif
}

/* Size class of a span (>= min_span) as one index, fl * SL_COUNT + sl.
 * Below 2^FL_SHIFT: fl 0, and sl the span in units of RTM_DEFAULT_ALIGN.
 * Above, fl is 1 + the power of two above FL_SHIFT and sl the SL_LOG2 bits
 * after the leading one m. Then span >> (m - SL_LOG2) is SL_COUNT + sl, and
 * (m - FL_SHIFT) * SL_COUNT plus that is fl * SL_COUNT + sl. Or-ing in
 * 2^FL_SHIFT makes a small span read as m = FL_SHIFT, which turns the same
 * formula into span >> UNIT_SHIFT, its fl-0 class. */
static RTM_TLSF_TINY size_t class_in(uint32_t span)
{
    uint32_t m = msb32(span | (1u << FL_SHIFT));
    /* In size_t: the class indexes the heads at once, unwidened. */
    return ((size_t)(m - FL_SHIFT) << SL_LOG2) + ((size_t)span >> (m - SL_LOG2));
}

static inline uint32_t class_of(const tlsf_t *t, uint32_t span)
{
    (void)t;
    return (uint32_t)class_in(span);
}

static inline uint32_t read_link(const tlsf_t *t, uint32_t at)
{
    return rtm_rd32(cbase_of(t), at) & ~LINK_TAG;
}

static inline uint32_t link_next(const tlsf_t *t, uint32_t b)
{
    return read_link(t, b + LINK_NEXT);
}

static inline uint32_t link_prev(const tlsf_t *t, uint32_t b)
{
    return read_link(t, b + LINK_PREV);
}

static RTM_TLSF_INLINE uint32_t vread(const view_t *v, uint32_t at)
{
    return rtm_rd32(v->base, at);
}

static RTM_TLSF_INLINE void vwrite(const view_t *v, uint32_t at, uint32_t word)
{
    rtm_wr32(v->base, at, word);
}

/* The word k bytes past offset b. The sum is taken on the pointer, not as
 * b + k in 32 bits: the address is the same (every offset lies inside the
 * arena), but a 64-bit target can then fold k into the access instead of
 * adding and widening the sum first. */
static RTM_TLSF_INLINE uint32_t vread_at(const view_t *v, uint32_t b, uint32_t k)
{
    return rtm_load32(v->base + b + k);
}

static RTM_TLSF_INLINE void vwrite_at(const view_t *v, uint32_t b, uint32_t k, uint32_t word)
{
    rtm_store32(v->base + b + k, word);
}

/* Block b's link at LINK_NEXT or LINK_PREV. */
static RTM_TLSF_INLINE uint32_t vlink_of(const view_t *v, uint32_t b, uint32_t link)
{
    return vread_at(v, b, link) & ~LINK_TAG;
}

static RTM_TLSF_INLINE void vset_link_of(const view_t *v, uint32_t b, uint32_t link, uint32_t target)
{
    vwrite_at(v, b, link, target | LINK_TAG);
}

static RTM_TLSF_INLINE uint32_t vlink(const view_t *v, uint32_t at)
{
    return vread(v, at) & ~LINK_TAG;
}

static RTM_TLSF_INLINE void vset_link(const view_t *v, uint32_t at, uint32_t target)
{
    vwrite(v, at, target | LINK_TAG);
}

static RTM_TLSF_INLINE uint32_t vspan(const view_t *v, uint32_t h)
{
    return vread(v, h) & ~RTM_BLK_FLAGS;
}

/* The second-level bitmaps. Their offset is read from the state where
 * they are needed, not kept in the view: only a list that empties or
 * fills needs them, and a register held for it through every operation
 * cost spills on the hot paths. */
static RTM_TLSF_INLINE uint32_t *sl_maps_of(const view_t *v)
{
    return (uint32_t *)(void *)(v->base + v->t->sl_off);
}

/* Bits of sl_map at sl and above; none when sl is past the last class. */
static inline uint32_t classes_from(uint32_t sl_map, uint32_t sl)
{
    return sl < 32u ? sl_map & (~0u << sl) : 0u;
}

/* The offset whose LINK_PREV word is tlsf_t.sink: where the list
 * operations write "the next block's previous link" when there is no next
 * block, with RTM_TLSF_BRANCH_FREE (config.h), instead of testing for it. */
#define SINK ((uint32_t)offsetof(tlsf_t, sink) - LINK_PREV)

/* Sets the previous link of block next to prev; nothing if next is 0. */
static RTM_TLSF_INLINE void set_prev_of(const view_t *v, uint32_t next, uint32_t prev)
{
    if (RTM_TLSF_BRANCH_FREE) {
        vset_link_of(v, next != 0 ? next : SINK, LINK_PREV, prev);
    } else if (next != 0) {
        vset_link_of(v, next, LINK_PREV, prev);
    }
}

/* Puts free block b of the given span at the head of its class list. The
 * bitmap bits need setting only when the list was empty; setting them
 * again changes nothing, which the branch-free version relies on. The
 * list operations leave the statistics alone: each operation updates them
 * once for its net effect. */
static RTM_TLSF_INLINE void list_insert(const view_t *v, uint32_t b, uint32_t span)
{
    tlsf_t *t = v->t;
    size_t cls = class_in(span);
    uint32_t next = v->heads[cls];
    vset_link_of(v, b, LINK_NEXT, next);
    vset_link_of(v, b, LINK_PREV, 0);
    set_prev_of(v, next, b);
    if (RTM_TLSF_BRANCH_FREE || next == 0) {
        uint32_t fl = (uint32_t)(cls >> SL_LOG2);
        sl_maps_of(v)[fl] |= 1u << (cls & (SL_COUNT - 1u));
        t->fl_bitmap |= 1u << fl;
    }
    v->heads[cls] = b;
}

/* The head of class cls, a list whose head was just taken off, is now
 * next; an empty list clears its bitmap bits (branch-free: the bit
 * cleared is 0, nothing, when next is a block; a first level left with no
 * class at all is rare, and its branch well predicted). */
static RTM_TLSF_INLINE void new_head(const view_t *v, size_t cls, uint32_t next)
{
    v->heads[cls] = next;
    if (RTM_TLSF_BRANCH_FREE || next == 0) {
        uint32_t fl = (uint32_t)(cls >> SL_LOG2);
        uint32_t *sl_map = &sl_maps_of(v)[fl];
        uint32_t left = *sl_map & ~((uint32_t)(next == 0) << (cls & (SL_COUNT - 1u)));
        *sl_map = left;
        if (left == 0) {
            v->t->fl_bitmap &= ~(1u << fl);
        }
    }
}

/* Takes the head b of class cls off its list. */
static RTM_TLSF_INLINE void list_pop(const view_t *v, uint32_t b, size_t cls)
{
    uint32_t next = vlink_of(v, b, LINK_NEXT);
    set_prev_of(v, next, 0);
    new_head(v, cls, next);
}

/* Takes free block b of the given span off its list, wherever it is in
 * it; the class is needed only when b is its list's head. */
static RTM_TLSF_INLINE void list_remove(const view_t *v, uint32_t b, uint32_t span)
{
    uint32_t next = vlink_of(v, b, LINK_NEXT);
    uint32_t prev = vlink_of(v, b, LINK_PREV);
    set_prev_of(v, next, prev);
    if (prev != 0) {
        vset_link_of(v, prev, LINK_NEXT, next);
    } else {
        new_head(v, class_in(span), next);
    }
}

/* A header at h now starts a block / no longer does. The overhead is the
 * fixed part (state, map, padding, end marker) plus 4 bytes a block. */
static RTM_TLSF_INLINE void add_block(const view_t *v, uint32_t h)
{
    rtm_blk_map_set(v->map, (h - v->first) >> v->gshift);
    v->t->stats.overhead_bytes += RTM_BLK_HDR;
}

static RTM_TLSF_INLINE void drop_block(const view_t *v, uint32_t h)
{
    rtm_blk_map_clear(v->map, (h - v->first) >> v->gshift);
    v->t->stats.overhead_bytes -= RTM_BLK_HDR;
}

/* A free block merged into its free neighbour: its header becomes free
 * payload. */
static RTM_TLSF_INLINE void absorb_free(const view_t *v, uint32_t h)
{
    drop_block(v, h);
    v->t->stats.free_bytes += RTM_BLK_HDR;
    v->t->stats.free_blocks--;
}

/* Writes a free block's header, footer and the next block's PREV_FREE flag.
 * A free block's own PREV_FREE is always clear: its predecessor is used. */
static void mark_free(const view_t *v, uint32_t b, uint32_t span)
{
    rtm_blk_set(v->base, b, span, RTM_BLK_FREE);
    vset_link(v, b + span - RTM_BLK_HDR, b);
    uint32_t next = b + span;
    vwrite(v, next, vread(v, next) | RTM_BLK_PREV_FREE);
}

/* Writes a used block's header (keeping its PREV_FREE flag) and clears the
 * next block's PREV_FREE flag. */
static void mark_used(const view_t *v, uint32_t b, uint32_t span)
{
    uint32_t prev_free = vread(v, b) & RTM_BLK_PREV_FREE;
    rtm_blk_set(v->base, b, span, prev_free);
    uint32_t next = b + span;
    vwrite(v, next, vread(v, next) & ~RTM_BLK_PREV_FREE);
}

/* Turns [b + keep, b + span) of used block b into a free block, merging it
 * with a free block after it. keep and span - keep are >= min_span. */
static void release_tail(const view_t *v, uint32_t b, uint32_t keep, uint32_t span)
{
    uint32_t tail = b + keep;
    uint32_t tail_span = span - keep;
    uint32_t after = b + span;
    mark_used(v, b, keep);
    add_block(v, tail);
    v->t->stats.free_bytes += tail_span - RTM_BLK_HDR;
    v->t->stats.free_blocks++;
    uint32_t after_word = vread(v, after);
    if ((after_word & RTM_BLK_FREE) != 0) {
        uint32_t after_span = after_word & ~RTM_BLK_FLAGS;
        list_remove(v, after, after_span);
        absorb_free(v, after);
        tail_span += after_span;
        /* after's header and links now lie inside the tail's payload. */
        rtm_strategy_refill(v->base, after, RTM_BLK_HDR + 8u);
    }
    /* The tail's predecessor is b, which is used. */
    mark_free(v, tail, tail_span);
    list_insert(v, tail, tail_span);
}

/* Is span a plausible span for a header at h? Never lets a read leave the
 * arena. */
static inline bool span_sane(const tlsf_t *t, uint32_t h, uint32_t span)
{
    return span >= t->min_span && (span & (granularity_of(t) - 1u)) == 0 && span <= t->end - h;
}

/* Is c a listed free block: a block start in [first, end) (the map says
 * so) whose header says free with a sane span? What a list link must lead
 * to before anything reads through it on the paths that check links (the
 * checker, largest_free, and at levels >= 1 allocation and free). */
static bool listed_free(const tlsf_t *t, uint32_t c)
{
    return c - t->first < t->end - t->first && ((c - t->first) & (granularity_of(t) - 1u)) == 0 &&
           is_block_start(t, c) && rtm_blk_is_free(cbase_of(t), c) &&
           span_sane(t, c, rtm_blk_span(cbase_of(t), c));
}

/* Does free block b's next link lead to a listed free block that links
 * back to b (or end the list)? */
static bool next_link_intact(const tlsf_t *t, uint32_t b)
{
    uint32_t next = link_next(t, b);
    return next == 0 || (listed_free(t, next) && link_prev(t, next) == b);
}

/* Does free block b's previous link (b of span span) lead to a listed free
 * block that links on to b, or, when there is none, is b its class's list
 * head? */
static bool prev_link_intact(const tlsf_t *t, uint32_t b, uint32_t span)
{
    uint32_t prev = link_prev(t, b);
    if (prev != 0) {
        return listed_free(t, prev) && link_next(t, prev) == b;
    }
    uint32_t cls = class_of(t, span);
    return (cls >> SL_LOG2) < fl_count_of(t) && cheads(t)[cls] == b;
}

/* Both: what the checker verifies of every free block, and what
 * RTM_CHECK_LINKS asks before a block is unlinked (strategy.h). */
static bool links_intact(const tlsf_t *t, uint32_t b, uint32_t span)
{
    return next_link_intact(t, b) && prev_link_intact(t, b, span);
}

/* Whether listed block b may be unlinked: always at level 0, which trusts
 * the links; at levels >= 1 only a listed free block whose links are
 * intact. */
static inline bool unlink_ok(const tlsf_t *t, uint32_t b)
{
    return !RTM_CHECK_LINKS ||
           (listed_free(t, b) && links_intact(t, b, rtm_blk_span(cbase_of(t), b)));
}

/* Whether a block reached through a free list may be read as one: always
 * at level 0, which trusts the links; at levels >= 1 only a listed free
 * block (RTM_CHECK_LINKS). */
static inline bool reached_ok(const tlsf_t *t, uint32_t c)
{
    return !RTM_CHECK_LINKS || listed_free(t, c);
}

/* Notes free block b as met with damaged links (levels >= 1) and gives
 * the 0 of "no block". */
static uint32_t broken_at(tlsf_t *t, uint32_t b)
{
    rtm_strategy_broken(&t->stats, b);
    return 0;
}

/* A free block of span >= need, with its class in *cls; 0 if none. First
 * the first of up to 1 + OWN_CLASS_SCAN blocks of need's own class that
 * fits (classes of fl >= 1 hold a range of spans, so its head may be too
 * small); else the head of the first class whose every block fits (need's
 * own class counts when need is its lower bound); else, the heap being
 * nearly exhausted, the rest of need's own class, so that an allocation
 * fails only when no free block is large enough. */
static RTM_TLSF_TINY uint32_t find_free(const view_t *v, uint32_t need, uint32_t *cls)
{
    /* Every caller checks need <= end - first, which the classes cover:
     * fl < fl_count. */
    size_t own = class_in(need);
    uint32_t fl = (uint32_t)(own >> SL_LOG2);
    *cls = (uint32_t)own;
    uint32_t c = v->heads[own];
    uint32_t from = c; /* the block whose link led to c */
    for (uint32_t k = 0; c != 0 && k <= OWN_CLASS_SCAN; k++) {
        if (!reached_ok(v->t, c)) {
            return broken_at(v->t, from);
        }
        if (vspan(v, c) >= need) {
            return c;
        }
        from = c;
        c = vlink(v, c + LINK_NEXT);
    }
    /* Classes of fl >= 1 are 2^(fl - 1) units wide, those of fl 0 one;
     * need's own class is certain to fit only when need is its lower
     * bound. */
    uint32_t start = own & (SL_COUNT - 1u);
    uint32_t width_shift = (fl != 0 ? fl - 1u : 0u) + UNIT_SHIFT;
    if ((need & ((1u << width_shift) - 1u)) != 0) {
        start++;
    }
    const uint32_t *sl_maps = sl_maps_of(v);
    uint32_t sl_map = classes_from(sl_maps[fl], start);
    if (sl_map == 0) {
        uint32_t fl_map = fl + 1u < 32u ? v->t->fl_bitmap & (~0u << (fl + 1u)) : 0u;
        if (fl_map != 0) {
            fl = lsb32(fl_map);
            sl_map = sl_maps[fl];
        }
    }
    if (sl_map != 0) {
        *cls = fl * SL_COUNT + lsb32(sl_map);
        return v->heads[*cls];
    }
    for (; c != 0; from = c, c = vlink(v, c + LINK_NEXT)) {
        if (!reached_ok(v->t, c)) {
            return broken_at(v->t, from);
        }
        if (vspan(v, c) >= need) {
            return c;
        }
    }
    return 0;
}

/* Makes [b, b + need) of free block b, just taken off its list (still
 * counted free) and of the given span, a used block whose header carries
 * flags (its PREV_FREE), and lists the rest as a free block if it can
 * stand as one. b's successor is used and flagged PREV_FREE, which stays
 * true of a split-off tail, and the tail's footer is b's. */
static RTM_TLSF_TINY void *take(const view_t *v, uint32_t b, uint32_t span, uint32_t need, uint32_t flags)
{
    tlsf_t *t = v->t;
    uint32_t tail_span = span - need;
    if (tail_span >= v->min_span) {
        uint32_t tail = b + need;
        /* Level 2: the tail's header and links, and the block's last 4
         * bytes, which the front's check of the block skips as a free
         * block's footer but were fill here. */
        rtm_strategy_claim(&t->stats, v->base, tail - RTM_BLK_HDR, 2u * RTM_BLK_HDR + 8u);
        rtm_blk_set(v->base, b, need, flags);
        rtm_blk_set(v->base, tail, tail_span, RTM_BLK_FREE);
        vset_link(v, b + span - RTM_BLK_HDR, tail);
        add_block(v, tail);
        list_insert(v, tail, tail_span);
        t->stats.free_bytes -= need; /* span - 4 leave, tail_span - 4 come back */
    } else {
        rtm_blk_set(v->base, b, span, flags);
        uint32_t next = b + span;
        vwrite(v, next, vread(v, next) & ~RTM_BLK_PREV_FREE);
        t->stats.free_bytes -= span - RTM_BLK_HDR;
        t->stats.free_blocks--;
    }
    return v->base + b + RTM_BLK_HDR;
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
    view_t v = view_of(t);
    /* Any block this large has room for the worst-case gap. */
    uint64_t padded = (uint64_t)need + v.min_span + alignment - granularity_of(t);
    uint32_t b = 0;
    uint32_t cls;
    if (padded <= v.end - v.first) {
        b = find_free(&v, (uint32_t)padded, &cls);
    }
    if (b == 0) {
        /* Nearly exhausted: any free block where the aligned placement fits. */
        for (uint32_t c_cls = 0; c_cls < fl_count_of(t) * SL_COUNT && b == 0; c_cls++) {
            uint32_t from = v.heads[c_cls];
            for (uint32_t c = from; c != 0; from = c, c = vlink(&v, c + LINK_NEXT)) {
                if (!reached_ok(t, c)) {
                    (void)broken_at(t, from);
                    return NULL;
                }
                uint32_t at = aligned_payload(t, c, alignment) - RTM_BLK_HDR;
                if ((uint64_t)at + need <= (uint64_t)c + vspan(&v, c)) {
                    b = c;
                    break;
                }
            }
        }
        if (b == 0) {
            return NULL;
        }
    }
    if (!unlink_ok(t, b)) {
        (void)broken_at(t, b);
        return NULL;
    }
    uint32_t at = aligned_payload(t, b, alignment) - RTM_BLK_HDR;
    uint32_t span = vspan(&v, b);
    list_remove(&v, b, span);
    if (at == b) {
        return take(&v, b, span, need, 0);
    }
    /* The gap [b, at) stays a free block (its predecessor is used, since b
     * was free); the rest, starting at `at`, is taken. The gap's footer and
     * at's header are new metadata, and at's first 8 payload bytes, which
     * the front's check of the block skips as a free block's links, were
     * fill. */
    rtm_strategy_claim(&t->stats, v.base, at - RTM_BLK_HDR, 2u * RTM_BLK_HDR + 8u);
    mark_free(&v, b, at - b);
    list_insert(&v, b, at - b);
    add_block(&v, at);
    /* Two free blocks where there was one: take() sees `at` as free. */
    t->stats.free_bytes -= RTM_BLK_HDR;
    t->stats.free_blocks++;
    return take(&v, at, span - (at - b), need, RTM_BLK_PREV_FREE);
}

/* The arena offset where the map starts and its bytes, for an arena of
 * size bytes with fl_count levels. */
static size_t map_bytes_for(size_t size, uint32_t fl_count, size_t granularity)
{
    size_t ctrl = control_size(fl_count);
    return size > ctrl ? rtm_blk_map_bytes(size - ctrl, granularity) : 0u;
}

/* Smallest arena holding the control block, the map, worst-case padding to
 * the first payload, one block and the end marker. The control block and
 * the map grow with the arena, so iterate to the fixed point. */
static size_t tlsf_min_size(size_t granularity)
{
    size_t min_span = TLSF_MIN_SPAN > granularity ? TLSF_MIN_SPAN : granularity;
    size_t size = 0;
    for (;;) {
        uint32_t fl_count = fl_count_for(size);
        size_t need = control_size(fl_count) + map_bytes_for(size, fl_count, granularity) +
                      granularity + min_span + RTM_BLK_HDR;
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
    uint32_t min_span = TLSF_MIN_SPAN > granularity ? TLSF_MIN_SPAN : (uint32_t)granularity;
    /* The class table grows with the arena, so just past a power of two the
     * levels it would need can leave no room for a block. Then take one
     * level less and cap the block area to what those levels can hold: the
     * few bytes above the cap are overhead. tlsf_min_size guarantees that
     * one level always fits. */
    uint32_t fl_count = fl_count_for(size) + 1u;
    uint32_t first;
    do {
        fl_count--;
        size_t map_bytes = map_bytes_for(size, fl_count, granularity);
        first = rtm_blk_first_header(base, control_size(fl_count) + map_bytes, granularity);
    } while (fl_count > 1u && (size_t)first + min_span + RTM_BLK_HDR > size);
    if ((size_t)first + min_span + RTM_BLK_HDR > size) {
        return RTM_ERR_TOO_SMALL;
    }
    size_t ctrl = control_size(fl_count);
    /* Up to the first header: check_map counts every word before it. */
    memset(arena, 0, first);
    t->gshift = gshift;
    t->sl_off = (uint32_t)sl_offset(fl_count);
    t->min_span = min_span;
    t->first = first;
    t->map_off = (uint32_t)ctrl;
    uint32_t span = (uint32_t)((size - RTM_BLK_HDR - t->first) & ~(size_t)(granularity - 1u));
    /* Spans the classes cover: below 2^(fl_count - 1 + FL_SHIFT). */
    uint64_t cover = (uint64_t)1u << (fl_count - 1u + FL_SHIFT);
    if (span >= cover) {
        span = (uint32_t)(cover - granularity);
    }
    t->end = t->first + span;
    t->capacity = span;
    t->arena_size = (uint32_t)size;
    t->stats.overhead_bytes = (uint32_t)size - span; /* add_block counts the header */
    rtm_blk_set(base, t->end, 0, 0);
    rtm_blk_set(base, t->first, 0, 0);
    view_t v = view_of(t);
    /* The end marker has a bit too, so that "a block starts where this
     * one ends" is one test for every block. */
    rtm_blk_map_set(v.map, (t->end - t->first) >> gshift);
    add_block(&v, t->first);
    mark_free(&v, t->first, span);
    list_insert(&v, t->first, span);
    t->stats.free_bytes = span - RTM_BLK_HDR;
    t->stats.free_blocks = 1;
    return RTM_OK;
}

/* Why an allocation of size bytes (span need, 0 if it overflows) failed. */
static rtm_fail_reason_t failure_reason(const tlsf_t *t, size_t size, uint32_t need)
{
    if (need == 0 || need > t->end - t->first) {
        return RTM_FAIL_TOO_LARGE;
    }
    return t->stats.free_bytes < size ? RTM_FAIL_NO_MEMORY : RTM_FAIL_FRAGMENTED;
}

/* A block of span need (0 < need <= end - first) at the granularity's
 * alignment, off its list and taken; NULL if no free block fits. */
static RTM_TLSF_INLINE void *alloc_span(const view_t *v, uint32_t need)
{
    uint32_t cls;
    uint32_t b = find_free(v, need, &cls);
    if (b == 0) {
        return NULL;
    }
    if (!unlink_ok(v->t, b)) {
        (void)broken_at(v->t, b);
        return NULL;
    }
    /* A listed block is free with PREV_FREE clear: its header word is its
     * span plus RTM_BLK_FREE. */
    uint32_t span = vread(v, b) - RTM_BLK_FREE;
    if (v->heads[cls] == b) {
        list_pop(v, b, cls);
    } else {
        list_remove(v, b, span);
    }
    return take(v, b, span, need, 0);
}

/* An allocation on heap t at its granularity; at_default (a constant at
 * every call) says whether t is at the default granularity. */
static RTM_TLSF_INLINE void *alloc_in(tlsf_t *t, bool at_default, size_t size,
                                      rtm_fail_reason_t *why)
{
    view_t view = at_default ? view_at_default(t) : view_inline(t);
    const view_t *v = &view;
    uint32_t need = rtm_blk_span_for(size, v->gmask + 1u, v->min_span);
    void *p = NULL;
    if (need != 0 && need <= v->end - v->first) {
        p = alloc_span(v, need);
    }
    if (p == NULL) {
        *why = failure_reason(t, size, need);
    }
    return p;
}

static void *tlsf_alloc(void *arena, size_t size, rtm_fail_reason_t *why)
{
    if (at_default_granularity(arena)) {
        return alloc_in(arena, true, size, why);
    }
    return alloc_in(arena, false, size, why);
}

void *rtm_tlsf_alloc_aligned(void *arena, size_t size, size_t alignment, rtm_fail_reason_t *why)
{
    tlsf_t *t = arena;
    if (alignment <= granularity_of(t)) {
        return tlsf_alloc(arena, size, why);
    }
    uint32_t need = rtm_blk_span_for(size, granularity_of(t), t->min_span);
    void *p = NULL;
    if (need != 0 && need <= t->end - t->first) {
        p = alloc_aligned(t, need, alignment);
    }
    if (p == NULL) {
        *why = failure_reason(t, size, need);
    }
    return p;
}

/* The plain allocation on a heap at any granularity: the whole of it, out
 * of line so that the default heap's path loads nothing it does not use. */
static RTM_TLSF_APART void *alloc_plain_other(tlsf_t *t, size_t size)
{
    if (size == 0) {
        return NULL;
    }
    rtm_fail_reason_t why;
    /* Apart: the free bytes are read after the allocation. */
    void *p = alloc_in(t, false, size, &why);
    return rtm_plain_allocated(t, p, t->stats.free_bytes);
}

#if !defined(__OPTIMIZE_SIZE__)
/* What the default heap's plain allocation of span need (0 < need <=
 * end - first) does when its own class's head is not a block to take
 * whole: the whole search and the split. */
static RTM_TLSF_APART void *alloc_plain_rest(tlsf_t *t, uint32_t need)
{
    view_t v = view_at_default(t);
    void *p = alloc_span(&v, need);
    return rtm_plain_allocated(t, p, t->stats.free_bytes);
}

/* The default heap's plain allocation of span need when its own class,
 * own, is empty: find_free's search of the classes above it, whose every
 * block fits, and the split. */
static RTM_TLSF_APART void *alloc_plain_above(tlsf_t *t, uint32_t need, uint32_t own)
{
    view_t v = view_at_default(t);
    uint32_t fl = own >> SL_LOG2;
    const uint32_t *sl_maps = sl_maps_of(&v);
    /* own's bit is clear: the classes from own up are those above it. */
    uint32_t sl_map = sl_maps[fl] & (~0u << (own & (SL_COUNT - 1u)));
    if (sl_map == 0) {
        uint32_t fl_map = fl + 1u < 32u ? t->fl_bitmap & (~0u << (fl + 1u)) : 0u;
        if (fl_map == 0) {
            return alloc_plain_rest(t, need);
        }
        fl = lsb32(fl_map);
        sl_map = sl_maps[fl];
    }
    uint32_t cls = fl * SL_COUNT + lsb32(sl_map);
    uint32_t b = v.heads[cls];
    uint32_t span = vread(&v, b) - RTM_BLK_FREE;
    list_pop(&v, b, cls);
    void *p = take(&v, b, span, need, 0);
    return rtm_plain_allocated(t, p, t->stats.free_bytes);
}

/* The plain allocation on a heap at the default granularity. Most take
 * the head of their own class, whole (the rest of it would be too small
 * to stand as a block): that case is done here and nothing else, so the
 * few values it needs fit in scratch registers, with no register saved
 * and nothing spilled. The rest goes out of line, with need: an empty
 * own class (about a quarter of mallocs in bench/bench_heap.c) to
 * alloc_plain_above, anything else to alloc_plain_rest. */
static RTM_TLSF_INLINE void *alloc_plain_default(tlsf_t *t, size_t size)
{
    view_t v = view_at_default(t);
    /* size - 1 wraps for 0: one test sends both the empty request and one
     * whose span would overflow to alloc_plain_other. */
    if (size - 1u >= (size_t)UINT32_MAX - RTM_BLK_HDR - RTM_DEFAULT_ALIGN) {
        return alloc_plain_other(t, size);
    }
    uint32_t need = rtm_blk_span_for(size, RTM_DEFAULT_ALIGN, v.min_span);
    if (need > v.capacity) {
        /* No block could hold it: the general path fails it. */
        return alloc_plain_other(t, size);
    }
    size_t own = class_in(need);
    uint32_t b = v.heads[own];
    if (b == 0) {
        return alloc_plain_above(t, need, (uint32_t)own);
    }
    /* A listed block's header is its span plus RTM_BLK_FREE (its
     * predecessor is used). */
    uint32_t span = vread(&v, b) - RTM_BLK_FREE;
    /* Unsigned: a span below need wraps past the bound too. */
    if (span - need >= v.min_span) {
        return alloc_plain_rest(t, need);
    }
    list_pop(&v, b, own);
    /* take()'s whole-block case: used, PREV_FREE clear like b's. */
    vwrite(&v, b, span);
    vwrite_at(&v, b, span, vread_at(&v, b, span) & ~RTM_BLK_PREV_FREE);
    t->stats.free_bytes -= span - RTM_BLK_HDR;
    t->stats.free_blocks--;
    return rtm_plain_allocated(t, v.base + b + RTM_BLK_HDR, t->stats.free_bytes);
}
#endif

static void *tlsf_alloc_plain(void *arena, size_t size)
{
#if !defined(__OPTIMIZE_SIZE__)
    if (at_default_granularity(arena)) {
        return alloc_plain_default(arena, size);
    }
#endif
    return alloc_plain_other(arena, size);
}

/* span_sane on a view. */
static RTM_TLSF_INLINE bool vspan_sane(const view_t *v, uint32_t h, uint32_t span)
{
    /* Both bounds: h may lie within min_span of the end (h <= end). */
    return span >= v->min_span && span <= v->end - h && (span & v->gmask) == 0;
}

static RTM_TLSF_TINY bool vstart(const view_t *v, uint32_t h)
{
    return rtm_blk_map_test(v->map, (h - v->first) >> v->gshift);
}

#if RTM_EXACT_POINTERS
/* The header of the block that holds offset h, which is not itself a
 * block start: the nearest map bit below h's. O(distance / (32 G)): only
 * refused pointers get here. */
static uint32_t block_below(const tlsf_t *t, uint32_t h)
{
    const uint32_t *map = cblock_map(t);
    uint32_t bit = map_bit(t, h);
    uint32_t w = bit >> 5;
    uint32_t bits = map[w] & ((1u << (bit & 31u)) - 1u); /* the bits below h's in its word */
    while (bits == 0) {
        if (w == 0) {
            return t->first;
        }
        bits = map[--w];
    }
    return t->first + ((w * 32u + msb32(bits)) << t->gshift);
}
#endif

/* The verdict on a pointer that is not a live block's start, for the
 * report. A second free: a free block's own header, or (with the map) a
 * header marked free that a merge left inside the free block below it.
 * Anything else is an invalid pointer, whatever the bytes before it say. */
static rtm_ptr_status_t refused(const tlsf_t *t, uint32_t h)
{
    const uint8_t *base = cbase_of(t);
    uint32_t word = rtm_rd32(base, h);
    if ((word & RTM_BLK_FREE) == 0 || !span_sane(t, h, word & ~RTM_BLK_FLAGS)) {
        return RTM_PTR_INVALID;
    }
#if RTM_EXACT_POINTERS
    if (!is_block_start(t, h)) {
        uint32_t q = block_below(t, h);
        if (!rtm_blk_is_free(base, q) || h >= q + rtm_blk_span(base, q)) {
            return RTM_PTR_INVALID;
        }
    }
#endif
    return RTM_PTR_FREED;
}

/* What a header the map vouches for but the tags contradict means: with
 * the map, damage (an overrun); without it, most likely not a header. */
#define TAGS_DISAGREE (RTM_EXACT_POINTERS ? RTM_PTR_CORRUPT : RTM_PTR_INVALID)

/* validate()'s verdict on ptr; when it is RTM_PTR_OK, *hdr and *word are
 * the block's header offset and header word. Exact with the block-start
 * map: only a header in the map that says used passes. Then the tags free
 * will trust are checked, so that damage from an overrun is caught before
 * a merge spreads it: the span must end where a block starts (the end
 * marker has a bit too), the next block must not say its predecessor is
 * free, a free next block's span must be sane, and a free predecessor's
 * footer must lead to a free block ending here. Reads nothing outside the
 * arena. */
static RTM_TLSF_INLINE rtm_ptr_status_t classify(const view_t *v, const void *ptr, uint32_t *hdr,
                                                 uint32_t *word_out)
{
    /* Unsigned: a pointer below the arena wraps to a huge offset. */
    uintptr_t off = (uintptr_t)ptr - (uintptr_t)v->base;
    if (off - (v->first + RTM_BLK_HDR) >= (uintptr_t)(v->end - v->first - RTM_BLK_HDR)) {
        return RTM_PTR_FOREIGN;
    }
    uint32_t h = (uint32_t)off - RTM_BLK_HDR;
    /* Headers lie a multiple of G from the first one. */
    if (((h - v->first) & v->gmask) != 0) {
        return RTM_PTR_INVALID;
    }
    uint32_t word = vread(v, h);
    if (!vstart(v, h) || (word & RTM_BLK_FREE) != 0) {
        return refused(v->t, h);
    }
    uint32_t span = word & ~RTM_BLK_FLAGS;
    if (!vspan_sane(v, h, span)) {
        return TAGS_DISAGREE;
    }
    uint32_t n = h + span;
    uint32_t next = vread(v, n);
    if (!vstart(v, n) || (next & RTM_BLK_PREV_FREE) != 0 ||
        ((next & RTM_BLK_FREE) != 0 &&
         (!vspan_sane(v, n, next & ~RTM_BLK_FLAGS) ||
          (RTM_CHECK_LINKS && !links_intact(v->t, n, next & ~RTM_BLK_FLAGS))))) {
        return TAGS_DISAGREE;
    }
    if ((word & RTM_BLK_PREV_FREE) != 0) {
        uint32_t prev = h - v->first >= v->min_span ? vlink(v, h - RTM_BLK_HDR) : h;
        if (prev - v->first >= h - v->first || !vstart(v, prev) ||
            (vread(v, prev) & RTM_BLK_FREE) == 0 || prev + vspan(v, prev) != h ||
            (RTM_CHECK_LINKS && !links_intact(v->t, prev, vspan(v, prev)))) {
            return TAGS_DISAGREE;
        }
    }
    *hdr = h;
    *word_out = word;
    return RTM_PTR_OK;
}

static rtm_ptr_status_t tlsf_validate(const void *arena, const void *ptr)
{
    /* classify only reads through the view. */
    view_t v = view_of((tlsf_t *)(uintptr_t)arena);
    uint32_t h = 0, word = 0;
    return classify(&v, ptr, &h, &word);
}

/* Frees the live block whose header, at b, holds word; next_word is the
 * header of the block after it. */
static RTM_TLSF_INLINE void free_block(const view_t *v, uint32_t b, uint32_t word,
                                       uint32_t next_word)
{
    uint32_t span = word & ~RTM_BLK_FLAGS;
    v->t->stats.free_bytes += span - RTM_BLK_HDR;
    v->t->stats.free_blocks++;
    if ((word & RTM_BLK_PREV_FREE) != 0) {
        /* Marked free first: merged into its predecessor, this stale
         * header still reads as free, so a second free is reported as
         * one. */
        vwrite(v, b, word | RTM_BLK_FREE);
        uint32_t prev = vlink(v, b - RTM_BLK_HDR);
        uint32_t prev_span = vspan(v, prev);
        list_remove(v, prev, prev_span);
        absorb_free(v, b);
        span += prev_span;
        /* prev's footer and this header now lie inside the merged block. */
        rtm_strategy_refill(v->base, b - RTM_BLK_HDR, 2u * RTM_BLK_HDR);
        b = prev;
    }
    uint32_t next = b + span;
    if ((next_word & RTM_BLK_FREE) != 0) {
        uint32_t next_span = next_word & ~RTM_BLK_FLAGS;
        list_remove(v, next, next_span);
        absorb_free(v, next);
        span += next_span;
        rtm_strategy_refill(v->base, next, RTM_BLK_HDR + 8u);
        next += next_span;
        next_word = vread(v, next);
    }
    /* The merged block's predecessor is used: its PREV_FREE is clear. */
    rtm_blk_set(v->base, b, span, RTM_BLK_FREE);
    vset_link(v, next - RTM_BLK_HDR, b);
    vwrite(v, next, next_word | RTM_BLK_PREV_FREE);
    list_insert(v, b, span);
}

static void tlsf_free(void *arena, void *ptr)
{
    view_t v = view_of(arena);
    uint32_t b = (uint32_t)((uint8_t *)ptr - v.base) - RTM_BLK_HDR;
    uint32_t word = vread(&v, b);
    free_block(&v, b, word, vread(&v, b + (word & ~RTM_BLK_FLAGS)));
}

/* classify, then the free if the pointer passed: the way validate_free
 * goes when its fast test fails, to find out why. usable may be NULL (the
 * plain free, which has no use for it), here and in the validate_free_*
 * helpers below. */
static RTM_NOINLINE rtm_ptr_status_t validate_free_slow(void *arena, void *ptr, size_t *usable)
{
    view_t v = view_inline(arena);
    uint32_t h = 0, word = 0;
    rtm_ptr_status_t st = classify(&v, ptr, &h, &word);
    if (st == RTM_PTR_OK) {
        if (usable != NULL) {
            *usable = (word & ~RTM_BLK_FLAGS) - RTM_BLK_HDR;
        }
        free_block(&v, h, word, vread(&v, h + (word & ~RTM_BLK_FLAGS)));
    }
    return st;
}

#if !defined(__OPTIMIZE_SIZE__)
/* classify's tests for the common case, ordered to share their
 * arithmetic: a G-aligned pointer in range whose header is in the map and
 * reads used with a span that is a multiple of G (one mask test: the span's
 * low bits and the free flag), ending where the map has a header that does
 * not say its predecessor is free, a free successor's span sane, and a
 * free predecessor's footer leading to a free block that ends here. What
 * passes is exactly a pointer classify accepts; everything else goes to
 * classify for the verdict. validate_free_at has the tests from the header
 * on, for a pointer whose header h is in the map and at least min_span
 * before the end marker (its callers' range test; its span test would
 * wrap otherwise); validate_free_with all of them. */
static RTM_TLSF_INLINE rtm_ptr_status_t validate_free_at(const view_t *v, uint32_t h,
                                                         size_t *usable)
{
    uint32_t rel = h - v->first;
    void *ptr = v->base + h + RTM_BLK_HDR;
    uint32_t word = vread(v, h);
    uint32_t span = word & ~RTM_BLK_PREV_FREE;
    if ((word & (v->gmask & ~RTM_BLK_PREV_FREE)) != 0 ||
        span - v->min_span > v->end - h - v->min_span ||
        !rtm_blk_map_test(v->map, (rel + span) >> v->gshift)) {
        return validate_free_slow(v->t, ptr, usable);
    }
    uint32_t n = h + span;
    uint32_t next_word = vread(v, n);
    if ((next_word & RTM_BLK_PREV_FREE) != 0 ||
        ((next_word & RTM_BLK_FREE) != 0 && !vspan_sane(v, n, next_word & ~RTM_BLK_FLAGS))) {
        return validate_free_slow(v->t, ptr, usable);
    }
    if ((word & RTM_BLK_PREV_FREE) != 0) {
        uint32_t prev = rel >= v->min_span ? vlink(v, h - RTM_BLK_HDR) : h;
        if (prev - v->first >= rel || !vstart(v, prev) ||
            (vread(v, prev) & RTM_BLK_FREE) == 0 || prev + vspan(v, prev) != h) {
            return validate_free_slow(v->t, ptr, usable);
        }
    }
    if (usable != NULL) {
        *usable = span - RTM_BLK_HDR;
    }
    free_block(v, h, word, next_word);
    return RTM_PTR_OK;
}

static RTM_TLSF_INLINE rtm_ptr_status_t validate_free_with(view_t v, void *ptr, size_t *usable)
{
    uintptr_t rel = (uintptr_t)ptr - (uintptr_t)v.base - v.first - RTM_BLK_HDR;
    /* As in free_default: no block starts within min_span of the end. */
    if (rel > (uintptr_t)(v.capacity - v.min_span) || (rel & v.gmask) != 0 ||
        !rtm_blk_map_test(v.map, (uint32_t)rel >> v.gshift)) {
        return validate_free_slow(v.t, ptr, usable);
    }
    return validate_free_at(&v, v.first + (uint32_t)rel, usable);
}

/* The copies of validate_free for a heap at another granularity than the
 * default, out of line: inlined, the state they load would be loaded
 * before the granularity test, on the default heap's path too. (A build
 * for size keeps classify's copy alone.) */
static RTM_TLSF_APART rtm_ptr_status_t validate_free_other(void *arena, void *ptr, size_t *usable)
{
    return validate_free_with(view_of(arena), ptr, usable);
}

static RTM_TLSF_APART rtm_ptr_status_t free_plain_other(void *arena, void *ptr)
{
    return rtm_plain_freed(arena, ptr, validate_free_with(view_of(arena), ptr, NULL));
}

/* What free_default leaves on a heap at the default granularity, whole:
 * validate_free's and the plain free's. */
static RTM_TLSF_APART rtm_ptr_status_t validate_free_rest(void *arena, void *ptr, size_t *usable)
{
    return validate_free_with(view_at_default(arena), ptr, usable);
}

static RTM_TLSF_APART rtm_ptr_status_t free_plain_rest(void *arena, void *ptr)
{
    return rtm_plain_freed(arena, ptr, validate_free_with(view_at_default(arena), ptr, NULL));
}

/* The same from the header on, for a pointer whose header h is in the map
 * (a merge, mostly). */
static RTM_TLSF_APART rtm_ptr_status_t validate_free_rest_at(tlsf_t *t, uint32_t h,
                                                            size_t *usable)
{
    view_t v = view_at_default(t);
    return validate_free_at(&v, h, usable);
}

static RTM_TLSF_APART rtm_ptr_status_t free_plain_rest_at(tlsf_t *t, uint32_t h)
{
    view_t v = view_at_default(t);
    return rtm_plain_freed(t, v.base + h + RTM_BLK_HDR, validate_free_at(&v, h, NULL));
}

#endif

/* What free_unmerged did: freed the block, or left it to the full tests,
 * from the start or from the header it found in the map. */
typedef enum free_path {
    FREE_DONE,
    FREE_FROM_START,
    FREE_FROM_HEADER
} free_path_t;

/* The free of a block that merges with neither neighbour (most frees),
 * with validate_free_with's tests for that case (its predecessor and
 * free-successor tests have nothing to test); anything else, a merge or a
 * refusal, is left to the caller's full tests (*h set for
 * FREE_FROM_HEADER). usable as for validate_free; with usable NULL the
 * plain free, counted in the front's books. */
static RTM_TLSF_INLINE free_path_t free_unmerged(tlsf_t *t, const view_t *v, void *ptr,
                                                 size_t *usable, uint32_t *h_out)
{
    uintptr_t rel = (uintptr_t)ptr - (uintptr_t)v->base - v->first - RTM_BLK_HDR;
    /* Every block starts at least min_span before the end marker: a header
     * past that is left to the full tests, and the span test below, which
     * relies on it, cannot wrap (with RTM_EXACT_POINTERS 0, where no map
     * bit stops such a pointer, it would read past the arena). */
    if (rel > (uintptr_t)(v->capacity - v->min_span) || (rel & v->gmask) != 0 ||
        !rtm_blk_map_test(v->map, (uint32_t)rel >> v->gshift)) {
        return FREE_FROM_START;
    }
    uint32_t h = v->first + (uint32_t)rel;
    uint32_t span = vread(v, h);
    uint32_t next_word = RTM_BLK_FLAGS;
    /* One mask test on the header: the span a multiple of G, so no flag
     * set either (the block is used and its predecessor is not free).
     * The block ends by the end marker: capacity - rel is end - h. */
    if ((span & v->gmask) == 0 && span - v->min_span <= v->capacity - (uint32_t)rel - v->min_span &&
        rtm_blk_map_test(v->map, ((uint32_t)rel + span) >> v->gshift)) {
        next_word = vread_at(v, h, span);
    }
    /* Neither free nor flagged as after a free block: no merge. */
    if ((next_word & RTM_BLK_FLAGS) != 0) {
        *h_out = h;
        return FREE_FROM_HEADER;
    }
    t->stats.free_bytes += span - RTM_BLK_HDR;
    t->stats.free_blocks++;
    rtm_blk_set(v->base, h, span, RTM_BLK_FREE);
    /* The footer, then the next header (see vread_at). */
    rtm_store32(v->base + h + span - RTM_BLK_HDR, h | LINK_TAG);
    vwrite_at(v, h, span, next_word | RTM_BLK_PREV_FREE);
    list_insert(v, h, span);
    if (usable != NULL) {
        *usable = span - RTM_BLK_HDR;
    } else {
        rtm_books_of(t)->free_count++;
    }
    return FREE_DONE;
}

#if !defined(__OPTIMIZE_SIZE__)
/* validate_free on a heap at the default granularity, or with usable NULL
 * (a constant at each call) the plain free: free_unmerged, and nothing
 * else in the function, so that the few values it needs fit in scratch
 * registers, with no register saved and nothing spilled. Any other pointer
 * or block, a merge or a refusal, goes out of line to validate_free_with's
 * tests: from the start, or from the header when its map bit was set. */
static RTM_TLSF_INLINE rtm_ptr_status_t free_default(tlsf_t *t, void *ptr, size_t *usable)
{
    view_t v = view_at_default(t);
    uint32_t h = 0;
    switch (free_unmerged(t, &v, ptr, usable, &h)) {
    case FREE_DONE:
        return RTM_PTR_OK;
    case FREE_FROM_START:
        return usable != NULL ? validate_free_rest(t, ptr, usable) : free_plain_rest(t, ptr);
    default:
        return usable != NULL ? validate_free_rest_at(t, h, usable) : free_plain_rest_at(t, h);
    }
}
#endif

#if defined(__OPTIMIZE_SIZE__)
/* A build for size keeps one copy of validate_free and of the plain free
 * (usable NULL), for heaps at any granularity: free_unmerged for the free
 * that merges with neither neighbour (most of them), classify's for any
 * other. Left wholly to classify, a free on the Cortex-M4F
 * (bench/cortex_m.sh) took 204 instructions instead of 165 on a heap
 * without a lock and 258 instead of 224 with one, for 238 bytes less. */
static rtm_ptr_status_t free_small(void *arena, void *ptr, size_t *usable)
{
    view_t v = view_inline(arena);
    uint32_t h = 0;
    if (free_unmerged(arena, &v, ptr, usable, &h) == FREE_DONE) {
        return RTM_PTR_OK;
    }
    rtm_ptr_status_t st = validate_free_slow(arena, ptr, usable);
    return usable != NULL ? st : rtm_plain_freed(arena, ptr, st);
}
#endif

static rtm_ptr_status_t tlsf_validate_free(void *arena, void *ptr, size_t *usable)
{
#if defined(__OPTIMIZE_SIZE__)
    return free_small(arena, ptr, usable);
#else
    if (at_default_granularity(arena)) {
        return free_default(arena, ptr, usable);
    }
    return validate_free_other(arena, ptr, usable);
#endif
}

static rtm_ptr_status_t tlsf_free_plain(void *arena, void *ptr)
{
#if defined(__OPTIMIZE_SIZE__)
    return free_small(arena, ptr, NULL);
#else
    if (at_default_granularity(arena)) {
        return free_default(arena, ptr, NULL);
    }
    return free_plain_other(arena, ptr);
#endif
}

#if !defined(__OPTIMIZE_SIZE__)
/* The same for a heap the front knows to be at the default granularity. */
static void *tlsf_alloc_plain_default(void *arena, size_t size)
{
    return alloc_plain_default(arena, size);
}

static rtm_ptr_status_t tlsf_free_plain_default(void *arena, void *ptr)
{
    return free_default(arena, ptr, NULL);
}
#endif

static bool tlsf_resize(void *arena, void *ptr, size_t size)
{
    tlsf_t *t = arena;
    uint8_t *base = base_of(t);
    uint32_t b = (uint32_t)((uint8_t *)ptr - base) - RTM_BLK_HDR;
    uint32_t span = rtm_blk_span(base, b);
    uint32_t need = rtm_blk_span_for(size, granularity_of(t), t->min_span);
    if (need == 0) {
        return false;
    }
    view_t v = view_of(t);
    if (need <= span) {
        if (span - need >= t->min_span) {
            release_tail(&v, b, need, span);
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
    /* Level 2: what of next becomes the block's (up to its footer, or to
     * the tail split off) and what the tail's new header and links cover
     * must still hold the free pattern; the front reports a changed byte. */
    uint32_t claim_from = next + RTM_BLK_HDR + 8u;
    uint32_t claim_to = joined - need >= t->min_span ? b + need + RTM_BLK_HDR + 8u
                                                     : next + next_span - RTM_BLK_HDR;
    if (claim_to > claim_from) {
        rtm_strategy_claim(&t->stats, base, claim_from, claim_to - claim_from);
    }
    list_remove(&v, next, next_span);
    drop_block(&v, next);
    t->stats.free_bytes -= next_span - RTM_BLK_HDR;
    t->stats.free_blocks--;
    mark_used(&v, b, joined);
    if (joined - need >= t->min_span) {
        release_tail(&v, b, need, joined);
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
    /* A damaged link (a write after free, an overrun) ends the scan: it
     * reads nothing outside the arena and stops after as many blocks as
     * the heap has free. rtm_heap_check names the damage. */
    for (uint32_t c = cheads(t)[fl * SL_COUNT + sl]; c != 0 && guard > 0 && listed_free(t, c);
         c = link_next(t, c)) {
        uint32_t span = rtm_blk_span(cbase_of(t), c);
        if (span > best) {
            best = span;
        }
        guard--;
    }
    return best != 0 ? best - RTM_BLK_HDR : 0;
}

static bool tlsf_walk(const void *arena, rtm_walk_fn fn, void *ctx)
{
    const tlsf_t *t = arena;
    const uint8_t *base = cbase_of(t);
    for (uint32_t b = t->first; b != t->end;) {
        uint32_t span = rtm_blk_span(base, b);
        if (!span_sane(t, b, span) || !is_block_start(t, b)) {
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
    uint32_t fl_count = fl_count_of(t); /* 1..32: tlsf_check tested it */
    for (uint32_t fl = 0; fl < fl_count; fl++) {
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
                if (c < t->first || c >= t->end || count >= block_count(t)) {
                    return rtm_check_fail(r, "tlsf: free-list link outside the heap or cyclic", base + prev);
                }
                uint32_t span = rtm_blk_span(base, c);
                if (!rtm_blk_is_free(base, c) || !span_sane(t, c, span) || !is_block_start(t, c)) {
                    return rtm_check_fail(r, "tlsf: free list holds a block that is not a valid free block", base + c + RTM_BLK_HDR);
                }
                if (class_of(t, span) != fl * SL_COUNT + sl) {
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
    if (fl_count < 32u && (t->fl_bitmap >> fl_count) != 0) {
        return rtm_check_fail(r, "tlsf: first-level bitmap has bits beyond the arena's classes", &t->fl_bitmap);
    }
    *listed = count;
    return true;
}

/* The map holds exactly a bit per block and the end marker's (each
 * block's own was checked by the walk). */
static bool check_map(const tlsf_t *t, rtm_check_report_t *r)
{
#if RTM_EXACT_POINTERS
    const uint32_t *map = cblock_map(t);
    size_t words = (t->first - t->map_off) / 4u;
    size_t bits = 0;
    for (size_t i = 0; i < words; i++) {
        for (uint32_t w = map[i]; w != 0; w &= w - 1u) { /* clears the lowest set bit */
            bits++;
        }
    }
    if (bits != block_count(t) + 1u) { /* and the end marker's */
        return rtm_check_fail(r, "tlsf: block-start map has bits where no block starts", map);
    }
#else
    (void)t;
    (void)r;
#endif
    return true;
}

static bool tlsf_check(const void *arena, rtm_check_report_t *r)
{
    const tlsf_t *t = arena;
    const uint8_t *base = cbase_of(t);
    size_t free_bytes = 0, free_blocks = 0, used_bytes = 0, blocks = 0;
    bool prev_free = false;
    if (t->capacity != t->end - t->first) {
        return rtm_check_fail(r, "tlsf: capacity disagrees with the first block and the end marker",
                              &t->capacity);
    }
    if (t->gshift < 2u || t->gshift > 30u ||
        t->min_span != (TLSF_MIN_SPAN > granularity_of(t) ? TLSF_MIN_SPAN : granularity_of(t))) {
        return rtm_check_fail(r, "tlsf: granularity or minimum span out of range", &t->gshift);
    }
    /* sl_off < sl_offset(1) wraps fl_count_of to far above 32. */
    uint32_t fl_count = fl_count_of(t);
    if (fl_count == 0 || fl_count > 32u || t->sl_off != sl_offset(fl_count) ||
        t->map_off != control_size(fl_count)) {
        return rtm_check_fail(r, "tlsf: second-level bitmaps' offset disagrees with the class count",
                              &t->sl_off);
    }
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
        if (!is_block_start(t, b)) {
            return rtm_check_fail(r, "tlsf: block header missing from the block-start map", at);
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
    if (blocks != block_count(t)) {
        return rtm_check_fail(r, "tlsf: overhead statistic disagrees with the block count", &t->stats);
    }
    if (!check_map(t, r)) {
        return false;
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
    if (!is_block_start(t, b)) {
        return rtm_check_fail(r, "tlsf: block header missing from the block-start map", here);
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
        if (!next_link_intact(t, b)) {
            return rtm_check_fail(r, "tlsf: free-list next link does not lead to a free block linking back", base + b + LINK_NEXT);
        }
        if (!prev_link_intact(t, b, span)) {
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
    .alloc_plain = tlsf_alloc_plain,
    .validate = tlsf_validate,
    .free = tlsf_free,
    .validate_free = tlsf_validate_free,
    .free_plain = tlsf_free_plain,
#if !defined(__OPTIMIZE_SIZE__)
    .alloc_plain_default = tlsf_alloc_plain_default,
    .free_plain_default = tlsf_free_plain_default,
#endif
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
