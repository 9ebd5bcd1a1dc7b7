/*
 * RTM_SYSTEM: the C library serves every block (FreeRTOS heap_3).
 *
 * The arena holds no blocks. It holds the state below and, after it, an
 * open-addressing hash table of the live blocks {pointer, requested size}.
 * The table is what lets validate() classify any pointer without touching the
 * memory behind it, and it bounds how many blocks may be live: probing stays
 * short only while the load is at most 3/4, so alloc refuses with
 * RTM_FAIL_TABLE_FULL beyond that.
 *
 * Accounting (rtm_arena_stats_t):
 *   free_bytes     budget minus the requested sizes of live blocks; the bytes
 *                  libc adds for its own headers and rounding are invisible
 *                  here and counted nowhere.
 *   free_blocks    1 while any budget is left, else 0: the budget behaves as
 *                  one free block of free_bytes, since any request up to it
 *                  can be tried; libc's own fragmentation is not observable.
 *   overhead_bytes the whole arena (state plus table), live or not, so that
 *                  free + allocated + overhead == budget + arena size.
 * largest_free is free_bytes for the same reason free_blocks is at most 1.
 */
#include "strategy.h"

#if RTM_WITH_SYSTEM

#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>

#define SYS_MIN_SLOTS 8u

typedef struct rtm_sys_slot {
    void *ptr;   /* NULL marks an empty slot */
    size_t size; /* requested bytes, which is also the usable size */
} rtm_sys_slot_t;

typedef struct rtm_sys_state {
    rtm_arena_stats_t stats; /* first: the front reads it in place */
    size_t budget;
    size_t arena_size;
    size_t granularity;
    size_t capacity; /* slots in the table */
    size_t live;     /* occupied slots */
    rtm_sys_slot_t slots[];
} rtm_sys_state_t;

_Static_assert(offsetof(rtm_sys_state_t, stats) == 0, "the front reads stats at the arena start");
_Static_assert(_Alignof(rtm_sys_state_t) <= RTM_HEAP_MEM_ALIGN,
               "the arena is only guaranteed RTM_HEAP_MEM_ALIGN alignment");

/* Largest number of live blocks a table of cap slots may hold (floor of
 * 3/4), computed without the overflow cap * 3 could hit. Always leaves an
 * empty slot, which is what ends every probe sequence. */
static size_t sys_limit(size_t cap)
{
    return (cap / 4u) * 3u + ((cap % 4u) * 3u) / 4u;
}

static size_t sys_capacity_for(size_t arena_size)
{
    return (arena_size - offsetof(rtm_sys_state_t, slots)) / sizeof(rtm_sys_slot_t);
}

/* Pointers from malloc share their low (alignment) bits and often their high
 * bits, so they are mixed (a 64-bit finalizer) before reduction; modulo, not
 * masking, because the capacity is whatever the arena holds. */
static size_t sys_home(const rtm_sys_state_t *st, const void *p)
{
    uint64_t x = (uint64_t)(uintptr_t)p;
    x ^= x >> 33;
    x *= UINT64_C(0xff51afd7ed558ccd);
    x ^= x >> 33;
    return (size_t)(x % (uint64_t)st->capacity);
}

static size_t sys_next(const rtm_sys_state_t *st, size_t i)
{
    return (i + 1u == st->capacity) ? 0u : i + 1u;
}

/* Slot of p, or capacity when p is not live. Only compares p for equality,
 * so any value is safe; the step bound keeps a damaged table (no empty slot)
 * from looping forever. */
static size_t sys_find(const rtm_sys_state_t *st, const void *p)
{
    if (p == NULL) {
        return st->capacity;
    }
    size_t i = sys_home(st, p);
    for (size_t n = 0; n < st->capacity; n++) {
        const void *q = st->slots[i].ptr;
        if (q == NULL) {
            break;
        }
        if (q == p) {
            return i;
        }
        i = sys_next(st, i);
    }
    return st->capacity;
}

/* Backward-shift deletion: later members of the probe run move up into the
 * hole so that lookups never stop early at it, and no tombstones accumulate
 * to lengthen probes over time. An entry may move into the hole only if its
 * home does not lie cyclically in (hole, j]; otherwise the move would place
 * it before its home. */
static void sys_remove_at(rtm_sys_state_t *st, size_t hole)
{
    size_t j = hole;
    for (;;) {
        j = sys_next(st, j);
        if (st->slots[j].ptr == NULL) {
            break;
        }
        size_t home = sys_home(st, st->slots[j].ptr);
        bool home_in_gap = (hole < j) ? (home > hole && home <= j) : (home > hole || home <= j);
        if (!home_in_gap) {
            st->slots[hole] = st->slots[j];
            hole = j;
        }
    }
    st->slots[hole].ptr = NULL;
    st->slots[hole].size = 0;
}

/* free_bytes <= budget <= UINT32_MAX (checked by init). */
static void sys_set_free(rtm_sys_state_t *st, size_t free_bytes)
{
    st->stats.free_bytes = (uint32_t)free_bytes;
    st->stats.free_blocks = free_bytes > 0 ? 1u : 0u;
}

/* malloc is preferred because it wastes nothing on rounding, but C17 lets it
 * align small requests only as far as their size needs, hence the check.
 * aligned_alloc as specified in C11 wants a size that is a multiple of the
 * alignment. Objects beyond PTRDIFF_MAX are refused here rather than passed
 * on, because pointer differences within them would overflow and some
 * allocators (ASan's, for one) misbehave instead of returning NULL. */
static void *sys_libc_alloc(size_t size, size_t align)
{
    if (align <= _Alignof(max_align_t)) {
        void *p = malloc(size);
        if (p == NULL || ((uintptr_t)p & (uintptr_t)(align - 1u)) == 0) {
            return p;
        }
        free(p);
    }
    if (align > (size_t)PTRDIFF_MAX || size > (size_t)PTRDIFF_MAX - (align - 1u)) {
        return NULL;
    }
    return aligned_alloc(align, (size + (align - 1u)) & ~(align - 1u));
}

static void sys_fail(rtm_fail_reason_t *why, rtm_fail_reason_t reason)
{
    if (why != NULL) {
        *why = reason;
    }
}

static size_t sys_min_size(size_t granularity)
{
    (void)granularity;
    return offsetof(rtm_sys_state_t, slots) + SYS_MIN_SLOTS * sizeof(rtm_sys_slot_t);
}

/* Budget and arena are capped at UINT32_MAX, the limit of every rtmem
 * heap (arena statistics are 32-bit so that they are laid out alike on
 * 32- and 64-bit machines); the front's total, budget + region, then
 * cannot wrap a 64-bit size_t, and the front refuses what would wrap a
 * 32-bit one. */
static rtm_err_t sys_init(void *arena, size_t size, size_t granularity, size_t param)
{
    if (arena == NULL) {
        return RTM_ERR_NULL;
    }
    if (((uintptr_t)arena & (uintptr_t)(RTM_HEAP_MEM_ALIGN - 1u)) != 0) {
        return RTM_ERR_MISALIGNED;
    }
    if (granularity < 4u || (granularity & (granularity - 1u)) != 0) {
        return RTM_ERR_BAD_ALIGNMENT;
    }
    if (size < sys_min_size(granularity)) {
        return RTM_ERR_TOO_SMALL;
    }
    size_t budget = (param == 0) ? (size_t)UINT32_MAX : param;
    if (budget > UINT32_MAX || size > UINT32_MAX) {
        return RTM_ERR_TOO_LARGE;
    }

    rtm_sys_state_t *st = arena;
    st->budget = budget;
    st->arena_size = size;
    st->granularity = granularity;
    st->capacity = sys_capacity_for(size);
    st->live = 0;
    st->stats.overhead_bytes = (uint32_t)size;
    sys_set_free(st, budget);
    /* Element by element: all-bits-zero need not be a null pointer. */
    for (size_t i = 0; i < st->capacity; i++) {
        st->slots[i].ptr = NULL;
        st->slots[i].size = 0;
    }
    return RTM_OK;
}

static void sys_deinit(void *arena)
{
    rtm_sys_state_t *st = arena;
    for (size_t i = 0; i < st->capacity; i++) {
        if (st->slots[i].ptr != NULL) {
            free(st->slots[i].ptr);
            st->slots[i].ptr = NULL;
            st->slots[i].size = 0;
        }
    }
    /* Left empty and consistent so a second deinit frees nothing twice. */
    st->live = 0;
    sys_set_free(st, st->budget);
}

void *rtm_system_alloc_aligned(void *arena, size_t size, size_t alignment, rtm_fail_reason_t *why)
{
    rtm_sys_state_t *st = arena;
    if (size > st->budget) {
        sys_fail(why, RTM_FAIL_TOO_LARGE);
        return NULL;
    }
    if (size > st->stats.free_bytes) {
        sys_fail(why, RTM_FAIL_NO_MEMORY);
        return NULL;
    }
    if (st->live >= sys_limit(st->capacity)) {
        sys_fail(why, RTM_FAIL_TABLE_FULL);
        return NULL;
    }
    size_t align = (alignment > st->granularity) ? alignment : st->granularity;
    if ((align & (align - 1u)) != 0) {
        sys_fail(why, RTM_FAIL_BAD_ALIGNMENT);
        return NULL;
    }
    /* libc reserves up to the alignment for an aligned block: an alignment
     * beyond the whole budget would take memory the budget never allowed. */
    if (align > st->budget) {
        sys_fail(why, RTM_FAIL_TOO_LARGE);
        return NULL;
    }
    void *p = sys_libc_alloc(size, align);
    if (p == NULL) {
        sys_fail(why, RTM_FAIL_NO_MEMORY);
        return NULL;
    }
    size_t i = sys_home(st, p);
    while (st->slots[i].ptr != NULL) {
        i = sys_next(st, i);
    }
    st->slots[i].ptr = p;
    st->slots[i].size = size;
    st->live++;
    sys_set_free(st, st->stats.free_bytes - size);
    return p;
}

static void *sys_alloc(void *arena, size_t size, rtm_fail_reason_t *why)
{
    return rtm_system_alloc_aligned(arena, size, 0, why);
}

/* Membership in the table is the only test: libc's headers are not ours to
 * read, so anything not live is foreign, freed or not. */
static rtm_ptr_status_t sys_validate(const void *arena, const void *ptr)
{
    const rtm_sys_state_t *st = arena;
    return sys_find(st, ptr) < st->capacity ? RTM_PTR_OK : RTM_PTR_FOREIGN;
}

static void sys_free(void *arena, void *ptr)
{
    rtm_sys_state_t *st = arena;
    size_t i = sys_find(st, ptr);
    if (i == st->capacity) {
        return;
    }
    size_t size = st->slots[i].size;
    sys_remove_at(st, i);
    st->live--;
    sys_set_free(st, st->stats.free_bytes + size);
    free(ptr);
}

/* realloc may move the block, so in place is only certain within what libc
 * already gave: at most the size recorded now. A shrink returns its tail to
 * the budget although libc keeps holding it until free; growing back later
 * goes through the front's allocate-copy-free path. */
static bool sys_resize(void *arena, void *ptr, size_t size)
{
    rtm_sys_state_t *st = arena;
    size_t i = sys_find(st, ptr);
    if (i == st->capacity || size == 0 || size > st->slots[i].size) {
        return false;
    }
    sys_set_free(st, st->stats.free_bytes + (st->slots[i].size - size));
    st->slots[i].size = size;
    return true;
}

static size_t sys_usable_size(const void *arena, const void *ptr)
{
    const rtm_sys_state_t *st = arena;
    size_t i = sys_find(st, ptr);
    return i < st->capacity ? st->slots[i].size : 0u;
}

static size_t sys_largest_free(const void *arena)
{
    const rtm_sys_state_t *st = arena;
    return st->stats.free_bytes;
}

static bool sys_walk(const void *arena, rtm_walk_fn fn, void *ctx)
{
    const rtm_sys_state_t *st = arena;
    for (size_t i = 0; i < st->capacity; i++) {
        const rtm_sys_slot_t *s = &st->slots[i];
        if ((s->ptr == NULL) != (s->size == 0)) {
            return false;
        }
        if (s->ptr == NULL) {
            continue;
        }
        rtm_block_info_t info = {s->ptr, s->size, true};
        if (!fn(&info, ctx)) {
            break;
        }
    }
    return true;
}

/* Every entry must be reachable from its home slot through occupied slots
 * (otherwise lookups miss it), so each entry's probe path is walked; the same
 * walk finds duplicates, because two copies of a pointer share one path. */
static bool sys_check_slot(const rtm_sys_state_t *st, size_t i, rtm_check_report_t *report)
{
    const rtm_sys_slot_t *s = &st->slots[i];
    if (s->ptr == NULL) {
        if (s->size != 0) {
            return rtm_check_fail(report, "empty table slot has a nonzero size", s);
        }
        return true;
    }
    if (s->size == 0 || s->size > st->budget) {
        return rtm_check_fail(report, "live block size is zero or beyond the budget", s->ptr);
    }
    for (size_t j = sys_home(st, s->ptr); j != i; j = sys_next(st, j)) {
        if (st->slots[j].ptr == NULL) {
            return rtm_check_fail(report, "empty slot between a block's home slot and its entry",
                                  s->ptr);
        }
        if (st->slots[j].ptr == s->ptr) {
            return rtm_check_fail(report, "pointer appears twice in the live-block table",
                                  s->ptr);
        }
    }
    return true;
}

static bool sys_check(const void *arena, rtm_check_report_t *report)
{
    const rtm_sys_state_t *st = arena;
    if (st->arena_size < sys_min_size(st->granularity) ||
        st->capacity != sys_capacity_for(st->arena_size)) {
        return rtm_check_fail(report, "table capacity does not match the arena size",
                              &st->capacity);
    }
    if (st->granularity < 4u || (st->granularity & (st->granularity - 1u)) != 0) {
        return rtm_check_fail(report, "granularity is not a power of two >= 4", &st->granularity);
    }
    if (st->budget == 0 || st->budget > UINT32_MAX) {
        return rtm_check_fail(report, "budget out of range", &st->budget);
    }
    if (st->stats.overhead_bytes != st->arena_size) {
        return rtm_check_fail(report, "overhead is not the arena size", &st->stats);
    }
    if (st->stats.free_bytes > st->budget) {
        return rtm_check_fail(report, "free bytes exceed the budget", &st->stats);
    }
    if (st->stats.free_blocks != (st->stats.free_bytes > 0 ? 1u : 0u)) {
        return rtm_check_fail(report, "free block count disagrees with free bytes", &st->stats);
    }
    if (st->live > sys_limit(st->capacity)) {
        return rtm_check_fail(report, "live blocks exceed the table's load limit", &st->live);
    }

    size_t count = 0;
    uint64_t sum = 0; /* 64-bit: a damaged table cannot wrap it on 32-bit targets */
    for (size_t i = 0; i < st->capacity; i++) {
        if (!sys_check_slot(st, i, report)) {
            return false;
        }
        if (st->slots[i].ptr != NULL) {
            count++;
            sum += st->slots[i].size;
            if (sum > st->budget) {
                return rtm_check_fail(report, "live block sizes exceed the budget",
                                      st->slots[i].ptr);
            }
        }
    }
    if (count != st->live) {
        return rtm_check_fail(report, "live block count disagrees with the table", &st->live);
    }
    if (sum != st->budget - st->stats.free_bytes) {
        return rtm_check_fail(report, "allocated bytes disagree with free bytes", &st->stats);
    }
    return true;
}

const rtm_strategy_t rtm_strategy_system = {
    .id = RTM_SYSTEM,
    .min_size = sys_min_size,
    .init = sys_init,
    .deinit = sys_deinit,
    .alloc = sys_alloc,
    .validate = sys_validate,
    .free = sys_free,
    .resize = sys_resize,
    .usable_size = sys_usable_size,
    .largest_free = sys_largest_free,
};

const rtm_strategy_inspect_t rtm_inspect_system = {
    .walk = sys_walk,
    .check = sys_check,
};

#else

/* Built without the C library strategy: a heap that names it is refused
 * by rtm_heap_init_error with RTM_ERR_UNSUPPORTED (no init function). */
const rtm_strategy_t rtm_strategy_system = {.id = RTM_SYSTEM};

#endif
