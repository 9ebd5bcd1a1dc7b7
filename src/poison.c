/*
 * The debug layer: canaries around every block, fill patterns, and the
 * corruption report (include/rtmem/debug.h, docs/debugging.md).
 *
 * Block layout at levels >= 1, H = max(8, granularity, alignment):
 *
 *   raw                                  user = raw + H
 *   | marker words (H > 8 only) | size | 0xABBA1234 | size bytes | 0xBAAD5678 |
 *
 * The head canary sits right before the data so that the commonest
 * underflow, one byte before the start, is reported as a bad head. The
 * padding of a larger head is filled with the marker word H | 3: a free
 * needs the raw block of a user pointer, and the marker tells the front how
 * far back the block starts (a block start itself is then confirmed by the
 * strategy's exact validation; both low bits set is also what a live
 * header never has, which the build without the map relies on). The tail canary is only
 * 1-aligned, so it is read and written with memcpy.
 */
#include "poison.h"

#include <string.h>

#include "heap_internal.h"
#include "rtmem/output.h"
#include "util.h"

static rtm_corruption_fn corruption_hook;
static void *corruption_ctx;
static rtm_block_owner_fn owner_lookup;
static void *owner_ctx;
static bool keep_going = RTM_CORRUPTION_CONTINUE != 0;

void rtm_debug_set_corruption_hook(rtm_corruption_fn fn, void *ctx)
{
    corruption_hook = fn;
    corruption_ctx = ctx;
}

void rtm_debug_get_corruption_hook(rtm_corruption_fn *fn, void **ctx)
{
    if (fn != NULL) {
        *fn = corruption_hook;
    }
    if (ctx != NULL) {
        *ctx = corruption_ctx;
    }
}

void rtm_debug_set_owner_lookup(rtm_block_owner_fn fn, void *ctx)
{
    owner_lookup = fn;
    owner_ctx = ctx;
}

void rtm_debug_set_continue(bool on)
{
    keep_going = on;
}

int rtm_debug_poison_level(void)
{
    return RTM_POISON_LEVEL;
}

void rtm_default_corruption_hook(const rtm_corruption_t *r, void *ctx)
{
    (void)ctx;
    rtm_line_t line;
    rtm_line_init(&line);
    rtm_line_str(&line, "rtmem: CORRUPT ");
    rtm_line_str(&line, rtm_corruption_kind_str(r->kind));
    rtm_line_str(&line, " (");
    rtm_line_str(&line, rtm_debug_op_str(r->op));
    rtm_line_str(&line, ") block ");
    rtm_line_ptr(&line, r->block);
    rtm_line_str(&line, " at ");
    rtm_line_ptr(&line, r->address);
    rtm_line_str(&line, " heap '");
    rtm_line_str(&line, r->heap_name);
    rtm_line_str(&line, "'");
    if (r->detail != NULL) {
        rtm_line_str(&line, ": ");
        rtm_line_str(&line, r->detail);
    } else if (r->expected != r->found) {
        rtm_line_str(&line, " expected ");
        rtm_line_hex(&line, r->expected);
        rtm_line_str(&line, " found ");
        rtm_line_hex(&line, r->found);
    }
    if (r->owner_known) {
        rtm_line_str(&line, " task ");
        rtm_line_hex(&line, r->task);
        rtm_line_str(&line, " site ");
        if (r->site.file != NULL) {
            rtm_line_str(&line, r->site.file);
            rtm_line_str(&line, ":");
            rtm_line_uint(&line, r->site.line);
            rtm_line_str(&line, " ");
        }
        rtm_line_ptr(&line, r->site.caller);
    }
    rtm_line_emit(&line);
    if (!keep_going) {
        RTM_ABORT();
    }
}

const char *rtm_corruption_kind_str(rtm_corruption_kind_t kind)
{
    switch (kind) {
    case RTM_CORRUPT_BAD_HEAD:
        return "bad head canary";
    case RTM_CORRUPT_BAD_TAIL:
        return "bad tail canary";
    case RTM_CORRUPT_BAD_SIZE:
        return "bad size";
    case RTM_CORRUPT_WRITE_AFTER_FREE:
        return "write after free";
    case RTM_CORRUPT_DOUBLE_FREE:
        return "double free";
    case RTM_CORRUPT_FOREIGN_FREE:
        return "foreign pointer";
    case RTM_CORRUPT_INVALID_FREE:
        return "invalid pointer";
    case RTM_CORRUPT_FREE_LIST:
        return "broken heap structure";
    default:
        return "unknown corruption";
    }
}

const char *rtm_debug_op_str(rtm_debug_op_t op)
{
    switch (op) {
    case RTM_OP_ALLOC:
        return "alloc";
    case RTM_OP_FREE:
        return "free";
    case RTM_OP_REALLOC:
        return "realloc";
    case RTM_OP_USABLE_SIZE:
        return "usable_size";
    case RTM_OP_CHECK:
        return "check";
    case RTM_OP_CHECK_STEP:
        return "check_step";
    default:
        return "unknown";
    }
}

#if RTM_POISON_LEVEL >= 1

void rtm_poison_report(rtm_corruption_t *r)
{
    r->heap_name = r->heap != NULL ? r->heap->name : "(no heap)";
    r->owner_known = false;
    if (owner_lookup != NULL && r->block != NULL) {
        uintptr_t task = 0;
        rtm_alloc_site_t site = {NULL, 0, NULL};
        if (owner_lookup(r->block, &task, &site, owner_ctx)) {
            r->owner_known = true;
            r->task = task;
            r->site = site;
        }
    }
    rtm_corruption_fn fn = corruption_hook != NULL ? corruption_hook : rtm_default_corruption_hook;
    fn(r, corruption_ctx);
}

/* The corruption kind matching a pointer the strategy refused. */
static rtm_corruption_kind_t kind_of(rtm_ptr_status_t st)
{
    switch (st) {
    case RTM_PTR_FOREIGN:
        return RTM_CORRUPT_FOREIGN_FREE;
    case RTM_PTR_FREED:
        return RTM_CORRUPT_DOUBLE_FREE;
    case RTM_PTR_CORRUPT:
        return RTM_CORRUPT_FREE_LIST;
    case RTM_PTR_INVALID:
    case RTM_PTR_OK:
    default:
        return RTM_CORRUPT_INVALID_FREE;
    }
}

void rtm_poison_report_pointer(rtm_heap_t *heap, const void *ptr, rtm_ptr_status_t st,
                               rtm_debug_op_t op)
{
    rtm_corruption_t bad;
    memset(&bad, 0, sizeof bad);
    bad.kind = kind_of(st);
    bad.block = ptr;
    bad.address = ptr;
    bad.heap = heap;
    bad.op = op;
    rtm_poison_report(&bad);
}

#if RTM_POISON_LEVEL >= 2
static bool verify_free(const void *raw, size_t raw_usable, size_t skip_head, size_t skip_tail,
                        rtm_corruption_t *r);
#endif

static uint32_t marker_of(size_t head)
{
    return (uint32_t)head | 3u;
}

/* Whether w is the marker of an aligned head this heap can have. */
static bool is_marker(uint32_t w, size_t plain_head, size_t max_head)
{
    uint32_t h = w & ~3u;
    return (w & 3u) == 3u && h > plain_head && h <= max_head && (h & (h - 1u)) == 0;
}

size_t rtm_poison_head(size_t granularity, size_t alignment)
{
    size_t h = granularity > 8u ? granularity : 8u;
    return alignment > h ? alignment : h;
}

bool rtm_poison_raw_size(size_t size, size_t head, size_t *raw_size)
{
    /* Sizes are recorded in 32 bits; no arena can hold more anyway. */
    if (size > (size_t)UINT32_MAX || size > SIZE_MAX - head - 4u) {
        return false;
    }
    *raw_size = head + size + 4u;
    return true;
}

void *rtm_poison_arm(void *raw, size_t size, size_t head)
{
    uint8_t *r = raw;
    uint8_t *user = r + head;
    for (size_t at = 0; at + 8u < head; at += 4u) {
        rtm_store32(r + at, marker_of(head));
    }
    rtm_store32(user - 8, (uint32_t)size);
    rtm_store32(user - 4, RTM_POISON_HEAD_CANARY);
    rtm_store32(user + size, RTM_POISON_TAIL_CANARY);
#if RTM_POISON_LEVEL >= 2
    memset(user, RTM_POISON_FRESH_BYTE, size);
#endif
    return user;
}

void rtm_poison_rearm(void *user, size_t old_size, size_t new_size)
{
    uint8_t *u = user;
    rtm_store32(u - 8, (uint32_t)new_size);
#if RTM_POISON_LEVEL >= 2
    if (new_size > old_size) {
        memset(u + old_size, RTM_POISON_FRESH_BYTE, new_size - old_size);
    }
#else
    (void)old_size;
#endif
    rtm_store32(u + new_size, RTM_POISON_TAIL_CANARY);
}

size_t rtm_poison_min_extra(size_t granularity)
{
    /* Room for the head and tail of a 1-byte block, rounded up. */
    return rtm_poison_head(granularity, 0) + RTM_POISON_TAIL_BYTES + granularity;
}

size_t rtm_poison_user_size(const void *user, size_t raw_usable)
{
    (void)raw_usable;
    return rtm_load32((const uint8_t *)user - 8);
}

rtm_ptr_status_t rtm_poison_resolve(const rtm_strategy_t *ops, const void *arena,
                                    size_t plain_head, size_t max_head, const void *user,
                                    uintptr_t region_lo, uintptr_t region_hi, void **raw,
                                    size_t *head)
{
    uintptr_t u = (uintptr_t)user;
    rtm_ptr_status_t first = RTM_PTR_FOREIGN;
    if (u >= plain_head) {
        void *r = (void *)(u - plain_head);
        first = ops->validate(arena, r);
        /* Inside the region (the strategy found a header there). */
        bool readable = first == RTM_PTR_OK || first == RTM_PTR_CORRUPT;
        uint32_t before = readable ? rtm_load32((const uint8_t *)user - 4) : 0u;
        if (first == RTM_PTR_OK && !is_marker(before, plain_head, max_head)) {
            *raw = r;
            *head = plain_head;
            return RTM_PTR_OK;
        }
        /* Where a block of ours starts, the head canary (or, for a plain
         * block whose head was overwritten, anything but an aligned
         * block's marker) precedes the pointer. A marker there means the
         * pointer lies in the head of an aligned block; a failed strategy
         * check without the canary means it lies inside some block's data,
         * where the poison size word reads as a header. Either way it is
         * not a block's start, not a sign of corruption. */
        if (first == RTM_PTR_OK ||
            (first == RTM_PTR_CORRUPT && before != RTM_POISON_HEAD_CANARY)) {
            first = RTM_PTR_INVALID;
        }
    }
    /* A larger head: only aligned allocations make one. A plain block's
     * word at raw + plain_head - 4 is its canary, never a marker, so no
     * plain block (or its interior) passes for an aligned one. */
    for (size_t h = plain_head * 2u; h <= max_head && u >= h; h *= 2u) {
        const uint8_t *r = (const uint8_t *)(u - h);
        /* CORRUPT: a block the strategy knows, whose free or resize would
         * meet damage (a broken neighbour, a damaged list link). With the
         * aligned head's markers in place it is this block, and the damage
         * is what to report, not an invalid pointer. */
        rtm_ptr_status_t st = ops->validate(arena, r);
        if ((st == RTM_PTR_OK || st == RTM_PTR_CORRUPT) && rtm_load32(r) == marker_of(h) &&
            rtm_load32(r + plain_head - 4u) == marker_of(h) &&
            rtm_load32(r + h - 4u) == RTM_POISON_HEAD_CANARY) {
            if (st == RTM_PTR_CORRUPT) {
                return RTM_PTR_CORRUPT;
            }
            *raw = (void *)(uintptr_t)r;
            *head = h;
            return RTM_PTR_OK;
        }
    }
#if RTM_POISON_LEVEL >= 2
    /* A block freed and merged into its predecessor has lost its header to
     * the free pattern; its head reads as fill. */
    if (first == RTM_PTR_INVALID && u - region_lo >= 8u && u <= region_hi &&
        rtm_load32((const uint8_t *)user - 8) == 0xFEFEFEFEu &&
        rtm_load32((const uint8_t *)user - 4) == 0xFEFEFEFEu) {
        return RTM_PTR_FREED;
    }
#else
    (void)region_lo;
    (void)region_hi;
#endif
    return first;
}

/* Fills *r (every other field cleared) for a problem at address. */
static void problem(rtm_corruption_t *r, rtm_corruption_kind_t kind, const void *block,
                    const void *address, uint32_t expected, uint32_t found)
{
    memset(r, 0, sizeof *r);
    r->kind = kind;
    r->block = block;
    r->address = address;
    r->expected = expected;
    r->found = found;
}

bool rtm_poison_check_live(const void *user, size_t head, size_t raw_usable, rtm_corruption_t *r)
{
    const uint8_t *u = user;
    uint32_t canary = rtm_load32(u - 4);
    if (canary != RTM_POISON_HEAD_CANARY) {
        problem(r, RTM_CORRUPT_BAD_HEAD, user, u - 4, RTM_POISON_HEAD_CANARY, canary);
        return false;
    }
    uint32_t size = rtm_load32(u - 8);
    size_t room = raw_usable >= head + 4u ? raw_usable - head - 4u : 0u;
    if (size > room) {
        /* expected: the most this block can hold */
        problem(r, RTM_CORRUPT_BAD_SIZE, user, u - 8, (uint32_t)room, size);
        return false;
    }
    uint32_t tail = rtm_load32(u + size);
    if (tail != RTM_POISON_TAIL_CANARY) {
        problem(r, RTM_CORRUPT_BAD_TAIL, user, u + size, RTM_POISON_TAIL_CANARY, tail);
        return false;
    }
    return true;
}

/* User pointer and head of a raw live block found by a walk (the padding
 * marker says if the head is larger than plain_head). */
static void *user_of(void *raw, size_t raw_usable, size_t plain_head, size_t *head)
{
    uint8_t *r = raw;
    *head = plain_head;
    if (raw_usable >= plain_head && rtm_load32(r + plain_head - 4u) != RTM_POISON_HEAD_CANARY) {
        uint32_t m = rtm_load32(r);
        size_t h = m & ~(uint32_t)3u;
        if ((m & 3u) == 3u && h > plain_head && (h & (h - 1u)) == 0 && h + 4u <= raw_usable &&
            rtm_load32(r + h - 4u) == RTM_POISON_HEAD_CANARY) {
            *head = h;
        }
    }
    return r + *head;
}

void rtm_poison_user_view(size_t plain_head, rtm_block_info_t *b)
{
    if (b->used) {
        size_t head;
        b->ptr = user_of(b->ptr, b->size, plain_head, &head);
        size_t room = b->size >= head + 4u ? b->size - head - 4u : 0u;
        size_t n = rtm_load32((const uint8_t *)b->ptr - 8);
        b->size = n <= room ? n : room;
    }
}

bool rtm_poison_block_ok(const rtm_strategy_t *ops, size_t plain_head, const rtm_block_info_t *b,
                         rtm_corruption_t *bad)
{
    if (b->used) {
        size_t head;
        void *user = user_of(b->ptr, b->size, plain_head, &head);
        return rtm_poison_check_live(user, head, b->size, bad);
    }
#if RTM_POISON_LEVEL >= 2
    if (ops->keeps_free_fill &&
        !verify_free(b->ptr, b->size, ops->free_meta_head, ops->free_meta_tail, bad)) {
        bad->block = (const uint8_t *)b->ptr + plain_head;
        return false;
    }
#else
    (void)ops;
#endif
    return true;
}

bool rtm_poison_take_broken(rtm_arena_stats_t *stats, size_t arena_bytes, rtm_corruption_t *bad)
{
    if (stats->broken == 0) {
        return false;
    }
    uint32_t off = stats->broken - 1u;
    stats->broken = 0;
    if (arena_bytes < 8u || off > arena_bytes - 8u) {
        /* A list head in the control block led outside the arena: there is
         * no block to read, so the report names the strategy's state and
         * the offset the head held. */
        problem(bad, RTM_CORRUPT_FREE_LIST, NULL, stats, 0, off);
        bad->detail = "a free-list head leads outside the heap (its control block is damaged)";
        return true;
    }
    /* The block's header: its links follow it. */
    const uint8_t *at = (const uint8_t *)stats + off;
    /* A free block has no user pointer: the report names its first link. */
    problem(bad, RTM_CORRUPT_FREE_LIST, NULL, at + 4, 0, rtm_load32(at + 4));
    bad->detail = "free block's list links are damaged (left alone by an allocation)";
    return true;
}

#endif /* level >= 1 */

#if RTM_POISON_LEVEL >= 2

void rtm_poison_fill_free(void *start, size_t len)
{
    memset(start, RTM_POISON_FREE_BYTE, len);
}

static bool verify_free(const void *raw, size_t raw_usable, size_t skip_head, size_t skip_tail,
                        rtm_corruption_t *r)
{
    if (raw_usable <= skip_head + skip_tail) {
        return true;
    }
    /* 64 bytes at a time against a block of fill (memcmp is the fastest
     * compare the freestanding core has), then byte by byte to name the
     * first changed one. */
    static const uint8_t fill[64] = {
        0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE,
        0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE,
        0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE,
        0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE,
        0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE, 0xFE};
    const uint8_t *p = (const uint8_t *)raw + skip_head;
    const uint8_t *end = (const uint8_t *)raw + raw_usable - skip_tail;
    while ((size_t)(end - p) >= sizeof fill && memcmp(p, fill, sizeof fill) == 0) {
        p += sizeof fill;
    }
    for (; p < end; p++) {
        if (*p != RTM_POISON_FREE_BYTE) {
            /* The caller knows which block the bytes will belong to. */
            problem(r, RTM_CORRUPT_WRITE_AFTER_FREE, NULL, p, RTM_POISON_FREE_BYTE, *p);
            return false;
        }
    }
    return true;
}

/* The changed byte a strategy noted in stats->damaged, if any, as a write
 * after free; clears the note. */
static bool take_damage(rtm_arena_stats_t *stats, rtm_corruption_t *bad)
{
    if (stats->damaged == 0) {
        return true;
    }
    const uint8_t *at = (const uint8_t *)stats + stats->damaged - 1u;
    /* The byte as found: metadata or the block's canary now covers it. */
    problem(bad, RTM_CORRUPT_WRITE_AFTER_FREE, NULL, at, RTM_POISON_FREE_BYTE,
            (uint8_t)stats->damaged_byte);
    stats->damaged = 0;
    return false;
}

bool rtm_poison_verify_fresh(const rtm_strategy_t *ops, rtm_arena_stats_t *stats, const void *raw,
                             rtm_corruption_t *bad)
{
    bool ok = true;
    if (ops->keeps_free_fill) {
        size_t n = ops->usable_size(stats, raw);
        ok = verify_free(raw, n, ops->free_meta_head, ops->free_meta_tail, bad);
        /* Else a changed byte the strategy covered with the remainder's
         * metadata when it split the block. */
        if (ok) {
            ok = take_damage(stats, bad);
        }
        stats->damaged = 0;
    }
    return ok;
}

bool rtm_poison_verify_grown(rtm_arena_stats_t *stats, rtm_corruption_t *bad)
{
    return take_damage(stats, bad);
}

#endif /* level >= 2 */
