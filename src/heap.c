/*
 * The heap front: everything every strategy needs, written once. It checks
 * arguments, takes the lock, dispatches to the strategy, keeps the counters
 * and calls the hooks (always after the lock is released).
 *
 * The debug layer (poison.h) wraps every block: the caller's pointer
 * ("user") and the strategy's ("raw") differ by the poison head. Every
 * function here that takes or returns a user pointer translates through
 * the layer, the strategy only ever sees raw pointers and sizes, and
 * hooks, observer and walk only user ones. allocated_bytes counts what
 * callers asked for and the poison bytes are overhead; the free side
 * (free_bytes, largest_free_block) stays in strategy bytes. At level 0 the
 * layer's functions are identities that compile to nothing; this file
 * holds no level-dependent code. docs/debugging.md has the layout.
 */
#include "rtmem/heap.h"

#include <string.h>

#include "heap_internal.h"
#include "poison.h"
#include "rtmem/debug.h"
#include "rtmem/output.h"
#include "rtmem/port.h"
#include "strategy/block.h"
#include "strategy/strategy.h"
#include "util.h"

/* The strategy a config names, else RTM_DEFAULT_STRATEGY: the only strategy
 * object the front names, so it decides which one every program links. */
static const rtm_strategy_t *config_strategy(const rtm_heap_config_t *cfg)
{
    return (cfg == NULL || cfg->strategy == NULL) ? &RTM_DEFAULT_STRATEGY : cfg->strategy;
}

rtm_strategy_id_t rtm_strategy_id(const rtm_strategy_t *strategy)
{
    return strategy != NULL ? strategy->id : RTM_STRATEGY_COUNT;
}

static size_t config_granularity(const rtm_heap_config_t *cfg)
{
    return (cfg == NULL || cfg->alignment == 0) ? (size_t)RTM_DEFAULT_ALIGN : cfg->alignment;
}

/* The default RTM_SYSTEM budget makes region + budget exactly 4 GiB - 1,
 * which fits size_t on every target. size < UINT32_MAX. */
static size_t system_budget(const rtm_heap_config_t *cfg, size_t size)
{
    return cfg->system_budget != 0 ? cfg->system_budget : (size_t)UINT32_MAX - size;
}

static void report_failure(rtm_heap_t *h, size_t size, size_t alignment, rtm_fail_reason_t why)
{
    if (h->on_alloc_failed != NULL) {
        h->on_alloc_failed(h, size, alignment, why, h->hook_ctx);
    }
}

static void report_misuse(rtm_heap_t *h, rtm_misuse_t kind, const void *address)
{
    rtm_misuse_fn fn = h->on_misuse != NULL ? h->on_misuse : rtm_default_misuse_hook;
    fn(h, kind, address, h->hook_ctx);
}

static rtm_misuse_t misuse_of(rtm_ptr_status_t st)
{
    switch (st) {
    case RTM_PTR_FOREIGN:
        return RTM_MISUSE_FOREIGN_POINTER;
    case RTM_PTR_FREED:
        return RTM_MISUSE_DOUBLE_FREE;
    case RTM_PTR_CORRUPT:
        return RTM_MISUSE_CORRUPT_BLOCK;
    case RTM_PTR_INVALID:
    case RTM_PTR_OK:
    default:
        return RTM_MISUSE_INVALID_POINTER;
    }
}

static void note_free_level(rtm_heap_t *h)
{
    if (front_arena(h)->free_bytes < h->books.min_free_bytes) {
        h->books.min_free_bytes = front_arena(h)->free_bytes;
    }
}

size_t rtm_heap_front_size(void)
{
    return FRONT_BYTES;
}

/* The checks rtm_heap_min_size and rtm_heap_init_error share, in
 * rtm_heap_init_error's order; on RTM_OK *min_size is the smallest region.
 * A strategy left out of the build (RTM_SYSTEM without RTM_WITH_SYSTEM)
 * has neither init nor min_size; every other has both. */
static rtm_err_t config_error(const rtm_heap_config_t *cfg, size_t *min_size)
{
    const rtm_strategy_t *ops = config_strategy(cfg);
    size_t g = config_granularity(cfg);
    if ((unsigned)ops->id >= (unsigned)RTM_STRATEGY_COUNT) {
        return RTM_ERR_BAD_STRATEGY;
    }
    if (ops->init == NULL || ops->min_size == NULL) {
        return RTM_ERR_UNSUPPORTED;
    }
    if (!rtm_is_pow2(g) || g < 4u || g > ((size_t)1u << 30)) {
        return RTM_ERR_BAD_ALIGNMENT;
    }
    *min_size = FRONT_BYTES + ops->min_size(g) + rtm_poison_min_extra(g);
    return RTM_OK;
}

size_t rtm_heap_min_size(const rtm_heap_config_t *cfg)
{
    size_t n = 0;
    return config_error(cfg, &n) == RTM_OK ? n : 0;
}

rtm_err_t rtm_heap_init_error(const void *mem, size_t size, const rtm_heap_config_t *cfg)
{
    if (mem == NULL) {
        return RTM_ERR_NULL;
    }
    if (((uintptr_t)mem & (RTM_HEAP_MEM_ALIGN - 1u)) != 0) {
        return RTM_ERR_MISALIGNED;
    }
    size_t min_size = 0;
    rtm_err_t err = config_error(cfg, &min_size);
    if (err != RTM_OK) {
        return err;
    }
    if (size < min_size) {
        return RTM_ERR_TOO_SMALL;
    }
    /* A region that runs past the end of the address space is no memory
     * (on a 32-bit target any size near SIZE_MAX does): every offset
     * computed in it would wrap. */
    if (size > UINTPTR_MAX - (uintptr_t)mem) {
        return RTM_ERR_TOO_LARGE;
    }
    rtm_strategy_id_t id = config_strategy(cfg)->id;
    if (id != RTM_SYSTEM && size - FRONT_BYTES > (size_t)UINT32_MAX) {
        return RTM_ERR_TOO_LARGE;
    }
    /* RTM_SYSTEM: 32-bit arena statistics, and a total (region + budget)
     * that must fit size_t. */
    if (id == RTM_SYSTEM && (size >= UINT32_MAX || system_budget(cfg, size) > UINT32_MAX ||
                             size + system_budget(cfg, size) < size)) {
        return RTM_ERR_TOO_LARGE;
    }
    return RTM_OK;
}

rtm_heap_t *rtm_heap_init(void *mem, size_t size, const rtm_heap_config_t *cfg)
{
    if (cfg == NULL) {
        rtm_heap_config_t defaults = {.strategy = NULL};
        return rtm_heap_init(mem, size, &defaults);
    }
    if (rtm_heap_init_error(mem, size, cfg) != RTM_OK) {
        return NULL;
    }
    rtm_heap_t *h = mem;
    memset(h, 0, sizeof *h);
    h->ops = config_strategy(cfg);
    h->granularity = config_granularity(cfg);
    h->alloc_plain = h->ops->alloc_plain;
    h->free_plain = h->ops->free_plain;
#if !defined(__OPTIMIZE_SIZE__)
    /* A build for size has no such versions (strategy.h): no code to pick them. */
    if (h->granularity == RTM_DEFAULT_ALIGN && h->ops->alloc_plain_default != NULL) {
        h->alloc_plain = h->ops->alloc_plain_default;
        h->free_plain = h->ops->free_plain_default;
    }
#endif
    h->arena = (rtm_arena_stats_t *)(void *)((uint8_t *)mem + FRONT_BYTES);
    h->front_bytes = FRONT_BYTES;
    size_t budget = system_budget(cfg, size);
    /* Level 2: every free byte starts with the free pattern; the
     * strategy's init then writes only its control block and first
     * headers and links. */
    rtm_poison_fill_free(h->arena, size - FRONT_BYTES);
    if (h->ops->init(h->arena, size - FRONT_BYTES, h->granularity, budget) != RTM_OK) {
        return NULL;
    }
    rtm_poison_arena_ready(h->arena);
    h->flags = cfg->flags;
    if ((h->flags & RTM_HEAP_NO_LOCK) == 0 && !rtm_port_lock_init(&h->lock)) {
        if (h->ops->deinit != NULL) {
            h->ops->deinit(h->arena);
        }
        return NULL;
    }
    h->region_bytes = size;
    h->total_bytes = h->ops->id == RTM_SYSTEM ? size + budget : size;
    h->name = cfg->name != NULL ? cfg->name : "heap";
    h->on_alloc_failed = cfg->on_alloc_failed;
    h->on_misuse = cfg->on_misuse;
    h->hook_ctx = cfg->hook_ctx;
    h->books.min_free_bytes = h->arena->free_bytes;
    h->plain_head = rtm_poison_head(h->granularity, 0);
    h->max_head = h->plain_head;
    h->magic = HEAP_MAGIC;
    rtm_front_update_fast(h);
    return h;
}

void rtm_heap_deinit(rtm_heap_t *h)
{
    if (!heap_ok(h)) {
        return;
    }
    h->magic = 0;
    h->malloc_unlocked = 0;
    h->free_unlocked = 0;
    if (h->ops->deinit != NULL) {
        h->ops->deinit(h->arena);
    }
    if ((h->flags & RTM_HEAP_NO_LOCK) == 0) {
        rtm_port_lock_destroy(&h->lock);
    }
}

rtm_heap_t *rtm_heap_create(rtm_heap_t *parent, size_t size, const rtm_heap_config_t *cfg)
{
    /* A size or config that rtm_heap_init would refuse whatever bytes it
     * got is refused before the parent is asked: nothing is taken, which a
     * RTM_BUMP parent could not take back. */
    size_t min_size = rtm_heap_min_size(cfg);
    if (parent == NULL || min_size == 0 || size < min_size) {
        return NULL;
    }
    void *mem = rtm_aligned_alloc(parent, RTM_HEAP_MEM_ALIGN, size);
    if (mem == NULL) {
        return NULL;
    }
    rtm_heap_t *h = rtm_heap_init(mem, size, cfg);
    if (h == NULL) {
        rtm_free(parent, mem);
        return NULL;
    }
    h->parent = parent;
    return h;
}

void rtm_heap_destroy(rtm_heap_t *h)
{
    if (!heap_ok(h)) {
        return;
    }
    rtm_heap_t *parent = h->parent;
    rtm_heap_deinit(h);
    /* A RTM_BUMP parent never frees: its bytes stay taken, unreported. */
    if (parent != NULL && heap_ok(parent) && parent->ops->free != NULL) {
        rtm_free(parent, h);
    }
}

void rtm_heap_set_observer(rtm_heap_t *h, rtm_heap_observer_fn fn, void *ctx)
{
    if (!heap_ok(h)) {
        return;
    }
    heap_lock(h);
    h->observer = fn;
    h->observer_ctx = ctx;
    rtm_front_update_fast(h);
    heap_unlock(h);
}

void rtm_heap_set_hooks(rtm_heap_t *h, rtm_alloc_failed_fn on_alloc_failed,
                        rtm_misuse_fn on_misuse, void *ctx)
{
    if (!heap_ok(h)) {
        return;
    }
    heap_lock(h);
    h->on_alloc_failed = on_alloc_failed;
    h->on_misuse = on_misuse;
    h->hook_ctx = ctx;
    rtm_front_update_fast(h);
    heap_unlock(h);
}

static void fail_call(rtm_heap_t *h, size_t size, size_t alignment, rtm_fail_reason_t why)
{
    heap_lock(h);
    h->books.failed_count++;
    heap_unlock(h);
    report_failure(h, size, alignment, why);
}

/* Tells the observer, if any; the lock is held. */
static void notify(rtm_heap_t *h, rtm_heap_event_kind_t kind, void *ptr, void *old_ptr,
                   size_t size, size_t alignment, const rtm_alloc_site_t *site)
{
    if (h->observer != NULL) {
        rtm_heap_event_t ev = {kind, h, ptr, old_ptr, size, alignment, site};
        h->observer(&ev, h->observer_ctx);
    }
}

/* ---- debug layer glue: nothing of it is left at level 0 ---------------- */

void rtm_front_corruption(rtm_heap_t *h, rtm_corruption_t *r, rtm_debug_op_t op)
{
    /* Level 0 reports through the misuse hook and check reports only: the
     * layer's report is then a no-op. */
    r->heap = h;
    r->op = op;
    rtm_poison_report(r);
}

void rtm_front_corruption_init(rtm_corruption_t *r)
{
    memset(r, 0, sizeof *r);
}

/* A free or resize of the block at raw can remove two headers (block.h
 * layout): its own, when it merges into a free predecessor, and its
 * successor's, when that merges into it. Allocations only add headers. If
 * the incremental check's saved place is one of the two, the next step
 * restarts its pass. */
static void note_block_change(rtm_heap_t *h, const void *raw, size_t raw_usable)
{
    if (h->step_at == 0) {
        return;
    }
    uintptr_t hdr = (uintptr_t)raw - RTM_BLK_HDR - (uintptr_t)h->arena;
    if (h->step_at == hdr || h->step_at == hdr + RTM_BLK_HDR + raw_usable) {
        h->step_lost = true;
    }
}

/* The front's books for a block handed out / given back; the lock is held.
 * One place for both the checked paths and the level-0 direct ones. */
static void count_alloc(rtm_heap_t *h)
{
    h->books.alloc_count++;
    note_free_level(h);
}

static void count_free(rtm_heap_t *h, const void *raw, size_t raw_usable)
{
    note_block_change(h, raw, raw_usable);
    h->books.free_count++;
}

/* Gives a validated live raw block, whose caller asked for user_bytes,
 * back to the strategy; lock held. */
static void release_raw(rtm_heap_t *h, void *raw, size_t raw_usable, size_t user_bytes)
{
    if (RTM_POISON_WRAPS) {
        h->user_bytes -= user_bytes;
    }
    if (h->ops->keeps_free_fill) {
        rtm_poison_fill_free(raw, raw_usable);
    }
    h->ops->free(h->arena, raw);
    count_free(h, raw, raw_usable);
}

/* The allocation itself, the lock held: a strategy block for size bytes
 * and the debug layer's head and tail around them (alignment 0: the
 * granularity, else through aligned), checked, armed and counted. NULL on
 * failure with *why set (a size whose block would overflow: too large).
 * *bad must have kind 0 and gets what the checks found: reported by
 * alloc_reports once the lock is given back. */
static void *alloc_locked(rtm_heap_t *h, size_t size, size_t alignment,
                          rtm_alloc_aligned_fn aligned, rtm_fail_reason_t *why,
                          rtm_corruption_t *bad)
{
    size_t head = rtm_poison_head(h->granularity, alignment);
    size_t raw_size;
    if (!rtm_poison_raw_size(size, head, &raw_size)) {
        h->books.failed_count++;
        *why = RTM_FAIL_TOO_LARGE;
        return NULL;
    }
    void *p = alignment == 0 ? h->ops->alloc(h->arena, raw_size, why)
                             : aligned(h->arena, raw_size, alignment, why);
    if (p == NULL) {
        h->books.failed_count++;
        /* Levels >= 1: the strategy may have left a free block with
         * damaged links alone (RTM_CHECK_LINKS). */
        (void)rtm_poison_take_broken(h->arena, h->region_bytes - h->front_bytes, bad);
        return NULL;
    }
    (void)rtm_poison_verify_fresh(h->ops, h->arena, p, bad);
    if (head > h->max_head) {
        h->max_head = head;
    }
    p = rtm_poison_arm(p, size, head);
    if (RTM_POISON_WRAPS) {
        h->user_bytes += size;
    }
    count_alloc(h);
    return p;
}

/* After the lock: what alloc_locked found, as the call op made. */
static void alloc_reports(rtm_heap_t *h, void *p, size_t size, size_t alignment,
                          rtm_fail_reason_t why, rtm_corruption_t *bad, rtm_debug_op_t op)
{
    if (p == NULL) {
        if (bad->kind != 0) {
            rtm_front_corruption(h, bad, op);
        }
        report_failure(h, size, alignment, why);
    } else if (bad->kind != 0) {
        /* The block is still handed out: its bytes were refilled. */
        bad->block = p;
        rtm_front_corruption(h, bad, op);
    }
}

/* Allocation with alignment already validated (0 = the granularity); an
 * alignment above the granularity comes with the strategy's aligned
 * allocator, which only the aligned entry points look up (so a program
 * that never asks for one links none). With site NULL it tells the
 * observer nothing. op names the call the application made, for a
 * corruption report. */
static void *heap_alloc_with(rtm_heap_t *h, size_t size, size_t alignment,
                             rtm_alloc_aligned_fn aligned, const rtm_alloc_site_t *site,
                             rtm_debug_op_t op)
{
    rtm_fail_reason_t why = RTM_FAIL_NO_MEMORY;
    rtm_corruption_t bad; /* filled whole by the check only when it finds something */
    bad.kind = (rtm_corruption_kind_t)0;
    heap_lock(h);
    void *p = alloc_locked(h, size, alignment, aligned, &why, &bad);
    if (p != NULL && site != NULL) {
        notify(h, RTM_EVENT_ALLOC, p, NULL, size, alignment, site);
    }
    heap_unlock(h);
    alloc_reports(h, p, size, alignment, why, &bad, op);
    return p;
}

/* heap_alloc_with at the granularity. */
static void *heap_alloc(rtm_heap_t *h, size_t size, const rtm_alloc_site_t *site,
                        rtm_debug_op_t op)
{
    return heap_alloc_with(h, size, 0, NULL, site, op);
}

static void *alloc_checked(rtm_heap_t *h, size_t size, size_t alignment,
                           const rtm_alloc_site_t *site)
{
    if (!heap_ok(h)) {
        return NULL;
    }
    if (alignment != 0 && !rtm_is_pow2(alignment)) {
        fail_call(h, size, alignment, RTM_FAIL_BAD_ALIGNMENT);
        return NULL;
    }
    if (size == 0) {
        return NULL;
    }
    if (alignment <= h->granularity) {
        return heap_alloc(h, size, site, RTM_OP_ALLOC);
    }
    rtm_alloc_aligned_fn aligned = rtm_strategy_alloc_aligned(h->ops->id);
    if (aligned == NULL) {
        /* Cannot happen: the heap's strategy is linked, with its aligned
         * allocation in the same file. */
        fail_call(h, size, alignment, RTM_FAIL_BAD_ALIGNMENT);
        return NULL;
    }
    return heap_alloc_with(h, size, alignment, aligned, site, RTM_OP_ALLOC);
}

RTM_NOINLINE void *rtm_malloc_ex(rtm_heap_t *h, size_t size, const rtm_alloc_site_t *site)
{
    if (!heap_ok(h) || size == 0) {
        return NULL;
    }
    rtm_alloc_site_t s = rtm_site_or(site, RTM_CALLER());
    return heap_alloc(h, size, &s, RTM_OP_ALLOC);
}

RTM_NOINLINE void *rtm_heap_alloc_ex(rtm_heap_t *h, size_t size, size_t alignment,
                                     const rtm_alloc_site_t *site)
{
    rtm_alloc_site_t s = rtm_site_or(site, RTM_CALLER());
    return alloc_checked(h, size, alignment, &s);
}

void rtm_front_update_fast(rtm_heap_t *h)
{
    bool quiet = !RTM_POISON_WRAPS && h->observer == NULL && h->step_at == 0 &&
                 h->ops->validate_free != NULL;
    bool malloc_plain = quiet && h->ops->alloc_plain != NULL && h->on_alloc_failed == NULL;
    if ((h->flags & RTM_HEAP_NO_LOCK) != 0) {
        h->malloc_unlocked = malloc_plain ? FRONT_FAST_UNLOCKED : 0u;
        h->free_unlocked = quiet && h->ops->free_plain != NULL ? FRONT_FAST_UNLOCKED : 0u;
    } else {
        /* A locked heap's unlocked words keep the 0 of init: rtm_malloc
         * and rtm_free read them without the lock, so even a store of the
         * same 0 here would race with them. */
        h->malloc_locked = malloc_plain ? FRONT_FAST_LOCKED : 0u;
    }
    h->free_quiet = quiet ? FRONT_FAST_QUIET : 0u;
}

/* rtm_malloc on any heap whose strategy does not take the whole call: a
 * locked heap's plain path, else the general one (heap_alloc: no
 * alignment to check, so nothing of alloc_checked is needed). */
static RTM_NOINLINE void *malloc_other(rtm_heap_t *h, size_t size, const void *caller)
{
    if (!heap_ok(h) || size == 0) {
        return NULL;
    }
    if ((h->flags & RTM_HEAP_NO_LOCK) == 0) {
        /* A locked heap's plain path: the strategy's alloc_plain, which
         * keeps the counters, under the lock; no site to build. The port's
         * lock directly: heap_lock would test the flag again, and in a
         * build for size be a call of its own. */
        rtm_port_lock(&h->lock);
        if (h->malloc_locked == FRONT_FAST_LOCKED) {
            void *p = h->alloc_plain(front_arena(h), size);
            rtm_port_unlock(&h->lock);
            return p;
        }
        rtm_port_unlock(&h->lock);
    }
    rtm_alloc_site_t s = rtm_site_or(NULL, caller);
    return heap_alloc(h, size, &s, RTM_OP_ALLOC);
}

RTM_NOINLINE void *rtm_malloc(rtm_heap_t *h, size_t size)
{
    /* The plain path: one word says that nothing needs the call site,
     * wraps the block or hears of a failure, that the heap has no lock and
     * that the strategy takes the whole call, counters included; a tail
     * call, size 0 included (the strategy's alloc_plain returns NULL for
     * it). Everything else is out of line. A locked heap's word for it is
     * 0 for good, so reading it here races with nothing. */
    if (h != NULL && h->malloc_unlocked == FRONT_FAST_UNLOCKED) {
        return h->alloc_plain(front_arena(h), size);
    }
    return malloc_other(h, size, RTM_CALLER());
}

RTM_NOINLINE void *rtm_calloc(rtm_heap_t *h, size_t count, size_t size)
{
    if (!heap_ok(h) || count == 0 || size == 0) {
        return NULL;
    }
    if (count > SIZE_MAX / size) {
        fail_call(h, SIZE_MAX, 0, RTM_FAIL_OVERFLOW);
        return NULL;
    }
    rtm_alloc_site_t s = rtm_site_or(NULL, RTM_CALLER());
    void *p = heap_alloc(h, count * size, &s, RTM_OP_ALLOC);
    if (p != NULL) {
        memset(p, 0, count * size);
    }
    return p;
}

RTM_NOINLINE void *rtm_aligned_alloc(rtm_heap_t *h, size_t alignment, size_t size)
{
    if (alignment == 0) {
        if (heap_ok(h)) {
            fail_call(h, size, alignment, RTM_FAIL_BAD_ALIGNMENT);
        }
        return NULL;
    }
    rtm_alloc_site_t s = rtm_site_or(NULL, RTM_CALLER());
    return alloc_checked(h, size, alignment, &s);
}

/* Reports a pointer the strategy did not accept as a live block (status
 * st); the lock is released. */
static void report_bad_pointer(rtm_heap_t *h, const void *ptr, rtm_ptr_status_t st,
                               rtm_debug_op_t op)
{
    rtm_misuse_t kind = misuse_of(st);
    /* The strategy knows only its arena; the region also holds the front
     * and the strategy's control block, which no block ever starts in. */
    uintptr_t p = (uintptr_t)ptr, lo = (uintptr_t)h;
    bool in_region = p >= lo && p - lo < h->region_bytes;
    if (kind == RTM_MISUSE_FOREIGN_POINTER && in_region) {
        kind = RTM_MISUSE_INVALID_POINTER;
    }
    /* Wrapped, the strategy judged the raw address before ptr, which can
     * lie inside the region when ptr is just past its end; every block of
     * a region strategy lies inside it (RTM_SYSTEM's blocks do not). */
    if (RTM_POISON_WRAPS && !in_region && h->ops->id != RTM_SYSTEM) {
        kind = RTM_MISUSE_FOREIGN_POINTER;
        st = RTM_PTR_FOREIGN;
    }
    report_misuse(h, kind, ptr);
    /* The same verdict as the misuse hook's, as a corruption report. */
    rtm_poison_report_pointer(h, ptr, kind == RTM_MISUSE_INVALID_POINTER ? RTM_PTR_INVALID : st, op);
}

/* Validates the user pointer ptr and finds its raw block (and, when
 * poisoned, checks its canaries); the caller holds the lock. On failure
 * releases the lock, reports and returns false. */
static bool valid_locked(rtm_heap_t *h, const void *ptr, rtm_debug_op_t op, void **raw)
{
    size_t head = 0;
    rtm_ptr_status_t st = rtm_poison_resolve(h->ops, h->arena, h->plain_head, h->max_head, ptr,
                                             (uintptr_t)h, (uintptr_t)h + h->region_bytes, raw,
                                             &head);
    if (st == RTM_PTR_OK) {
        rtm_corruption_t bad;
        if (rtm_poison_check_live(ptr, head, h->ops->usable_size(h->arena, *raw), &bad)) {
            return true;
        }
        heap_unlock(h);
        rtm_front_corruption(h, &bad, op);
        return false;
    }
    heap_unlock(h);
    report_bad_pointer(h, ptr, st, op);
    return false;
}

_Static_assert(offsetof(struct rtm_heap, books) + sizeof(rtm_alloc_books_t) == FRONT_BYTES,
               "the books end where the strategy's state begins");

void rtm_front_refused(void *arena, const void *ptr, rtm_ptr_status_t st)
{
    rtm_heap_t *h = (rtm_heap_t *)(void *)((uint8_t *)arena - FRONT_BYTES);
    report_bad_pointer(h, ptr, st, RTM_OP_FREE);
}

/* The general free, the lock held: returns the bytes the block held for
 * its caller (0 when refused), zeroing them first if asked. op names the
 * call the application made (a free, or a realloc to size 0). */
static size_t free_locked(rtm_heap_t *h, void *ptr, bool clear, const rtm_alloc_site_t *site,
                          rtm_debug_op_t op)
{
    void *raw = NULL;
    if (!valid_locked(h, ptr, op, &raw)) {
        return 0;
    }
    if (h->ops->free == NULL) {
        heap_unlock(h);
        report_misuse(h, RTM_MISUSE_FREE_REFUSED, ptr);
        return 0;
    }
    size_t raw_usable = h->ops->usable_size(h->arena, raw);
    size_t n = rtm_poison_user_size(ptr, raw_usable);
    if (clear) {
        memset(ptr, 0, n);
    }
    if (h->observer != NULL) {
        notify(h, RTM_EVENT_FREE, ptr, NULL, n, 0, site);
    }
    release_raw(h, raw, raw_usable, n);
    heap_unlock(h);
    return n;
}

static size_t free_checked(rtm_heap_t *h, void *ptr, bool clear, const rtm_alloc_site_t *site)
{
    if (!heap_ok(h) || ptr == NULL) {
        return 0;
    }
    heap_lock(h);
    return free_locked(h, ptr, clear, site, RTM_OP_FREE);
}

/* rtm_free on any heap but a plain unlocked one, and realloc to size 0
 * (op names which): site (may be NULL) with caller filled in. */
static RTM_NOINLINE void free_other(rtm_heap_t *h, void *ptr, const rtm_alloc_site_t *site,
                                    const void *caller, rtm_debug_op_t op)
{
    if (!heap_ok(h) || ptr == NULL) {
        return;
    }
    heap_lock(h);
    /* The plain path: with nothing to wrap, tell or check step by step,
     * the strategy validates and frees in one pass. A misuse is reported
     * after the lock is given back: the hook may use the heap. */
    if (h->free_quiet == FRONT_FAST_QUIET) {
        size_t usable = 0;
        rtm_ptr_status_t st = h->ops->validate_free(front_arena(h), ptr, &usable);
        if (st == RTM_PTR_OK) {
            h->books.free_count++;
        }
        heap_unlock(h);
        if (st != RTM_PTR_OK) {
            report_bad_pointer(h, ptr, st, op);
        }
        return;
    }
    rtm_alloc_site_t s = rtm_site_or(site, caller);
    (void)free_locked(h, ptr, false, &s, op);
}

RTM_NOINLINE void rtm_free(rtm_heap_t *h, void *ptr)
{
    /* The plain path, as in rtm_malloc: the strategy takes NULL too, and
     * reports a refused pointer through rtm_front_refused. */
    if (h != NULL && h->free_unlocked == FRONT_FAST_UNLOCKED) {
        (void)h->free_plain(front_arena(h), ptr);
        return;
    }
    free_other(h, ptr, NULL, RTM_CALLER(), RTM_OP_FREE);
}

RTM_NOINLINE void rtm_free_ex(rtm_heap_t *h, void *ptr, const rtm_alloc_site_t *site)
{
    free_other(h, ptr, site, RTM_CALLER(), RTM_OP_FREE);
}

RTM_NOINLINE size_t rtm_free_sized_ex(rtm_heap_t *h, void *ptr, bool clear,
                                      const rtm_alloc_site_t *site)
{
    rtm_alloc_site_t s = rtm_site_or(site, RTM_CALLER());
    return free_checked(h, ptr, clear, &s);
}

static void *realloc_checked(rtm_heap_t *h, void *ptr, size_t size, const rtm_alloc_site_t *site)
{
    if (!heap_ok(h)) {
        return NULL;
    }
    if (ptr == NULL) {
        return size == 0 ? NULL : heap_alloc(h, size, site, RTM_OP_REALLOC);
    }
    if (size == 0) {
        free_other(h, ptr, site, NULL, RTM_OP_REALLOC);
        return NULL;
    }
    void *raw = NULL;
    heap_lock(h);
    if (!valid_locked(h, ptr, RTM_OP_REALLOC, &raw)) {
        return NULL;
    }
    size_t raw_old = h->ops->usable_size(h->arena, raw);
    size_t old = rtm_poison_user_size(ptr, raw_old);
    /* The block keeps its head, so an aligned block resized in place stays
     * aligned. */
    size_t head = (size_t)((uint8_t *)ptr - (uint8_t *)raw);
    size_t raw_new;
    if (!rtm_poison_raw_size(size, head, &raw_new)) {
        heap_unlock(h);
        fail_call(h, size, 0, RTM_FAIL_TOO_LARGE);
        return NULL;
    }
    /* Level 2: a shrink may turn the tail into free memory. */
    if (raw_new < raw_old && h->ops->keeps_free_fill) {
        rtm_poison_fill_free((uint8_t *)raw + raw_new, raw_old - raw_new);
    }
    note_block_change(h, raw, raw_old);
    void *result = ptr;
    rtm_corruption_t bad; /* filled whole by the check only when it finds something */
    bad.kind = (rtm_corruption_kind_t)0;
    if ((h->ops->resize != NULL && h->ops->resize(h->arena, raw, raw_new)) || raw_new <= raw_old) {
        /* In place; a strategy that cannot shrink leaves a block that fits.
         * Level 2: a block that grew over a free neighbour may have found
         * a write after free there. */
        (void)rtm_poison_verify_grown(h->arena, &bad);
        rtm_poison_rearm(ptr, old, size);
        if (RTM_POISON_WRAPS) {
            h->user_bytes = h->user_bytes - old + size;
        }
        note_free_level(h);
    } else {
        /* Moved. The lock is held from the old block's validation to its
         * free: another thread's free of ptr in between would free it
         * twice, and the copy would read a freed block (the C library's,
         * for RTM_SYSTEM). Not in place means size > old. */
        rtm_fail_reason_t why = RTM_FAIL_NO_MEMORY;
        result = alloc_locked(h, size, 0, NULL, &why, &bad);
        if (result == NULL) {
            heap_unlock(h);
            alloc_reports(h, NULL, size, 0, why, &bad, RTM_OP_REALLOC);
            return NULL;
        }
        memcpy(result, ptr, old);
        if (h->ops->free != NULL) {
            release_raw(h, raw, raw_old, old);
        }
    }
    notify(h, RTM_EVENT_REALLOC, result, ptr, size, 0, site);
    heap_unlock(h);
    if (bad.kind != 0) {
        /* The block is still resized: its new bytes were refilled above. */
        bad.block = result;
        rtm_front_corruption(h, &bad, RTM_OP_REALLOC);
    }
    return result;
}

RTM_NOINLINE void *rtm_realloc(rtm_heap_t *h, void *ptr, size_t size)
{
    rtm_alloc_site_t s = rtm_site_or(NULL, RTM_CALLER());
    return realloc_checked(h, ptr, size, &s);
}

RTM_NOINLINE void *rtm_realloc_ex(rtm_heap_t *h, void *ptr, size_t size,
                                  const rtm_alloc_site_t *site)
{
    rtm_alloc_site_t s = rtm_site_or(site, RTM_CALLER());
    return realloc_checked(h, ptr, size, &s);
}

size_t rtm_usable_size(rtm_heap_t *h, const void *ptr)
{
    return rtm_debug_usable_size(h, ptr, RTM_OP_USABLE_SIZE);
}

size_t rtm_debug_usable_size(rtm_heap_t *h, const void *ptr, rtm_debug_op_t op)
{
    void *raw = NULL;
    if (!heap_ok(h) || ptr == NULL) {
        return 0;
    }
    heap_lock(h);
    if (!valid_locked(h, ptr, op, &raw)) {
        return 0;
    }
    size_t n = rtm_poison_user_size(ptr, h->ops->usable_size(h->arena, raw));
    heap_unlock(h);
    return n;
}

/* The largest n for which rtm_malloc(n) succeeds now: the strategy's
 * largest free block less the poison head and tail a request of n carries
 * (the strategy promises that a request of its largest block succeeds). */
static size_t largest_request(const rtm_heap_t *h)
{
    size_t largest = h->ops->largest_free(h->arena);
    size_t wrap; /* what the layer adds to an empty request */
    (void)rtm_poison_raw_size(0, h->plain_head, &wrap);
    return largest > wrap ? largest - wrap : 0;
}

bool rtm_heap_info(rtm_heap_t *h, rtm_heap_info_t *info)
{
    if (!heap_ok(h) || info == NULL) {
        return false;
    }
    heap_lock(h);
    info->total_bytes = h->total_bytes;
    info->free_bytes = h->arena->free_bytes;
    /* Wrapped, the poison head and tail (and the rounding of the larger raw
     * block) are overhead: allocated bytes are what callers asked for. */
    info->allocated_bytes = RTM_POISON_WRAPS ? h->user_bytes : allocated_now(h);
    info->overhead_bytes = h->total_bytes - h->arena->free_bytes - info->allocated_bytes;
    info->min_free_bytes = h->books.min_free_bytes;
    info->largest_free_block = largest_request(h);
    info->used_blocks = used_blocks(h);
    info->free_blocks = h->arena->free_blocks;
    info->alloc_count = h->books.alloc_count;
    info->free_count = h->books.free_count;
    info->failed_count = h->books.failed_count;
    heap_unlock(h);
    return true;
}

size_t rtm_heap_free_bytes(rtm_heap_t *h)
{
    if (!heap_ok(h)) {
        return 0;
    }
    heap_lock(h);
    size_t n = h->arena->free_bytes;
    heap_unlock(h);
    return n;
}

size_t rtm_heap_min_free_bytes(rtm_heap_t *h)
{
    if (!heap_ok(h)) {
        return 0;
    }
    heap_lock(h);
    size_t n = h->books.min_free_bytes;
    heap_unlock(h);
    return n;
}

size_t rtm_heap_largest_free(rtm_heap_t *h)
{
    if (!heap_ok(h)) {
        return 0;
    }
    heap_lock(h);
    size_t n = largest_request(h);
    heap_unlock(h);
    return n;
}

void rtm_heap_reset_min_free(rtm_heap_t *h)
{
    if (!heap_ok(h)) {
        return;
    }
    heap_lock(h);
    h->books.min_free_bytes = h->arena->free_bytes;
    heap_unlock(h);
}

rtm_strategy_id_t rtm_heap_strategy(const rtm_heap_t *h)
{
    return heap_ok(h) ? h->ops->id : RTM_STRATEGY_COUNT;
}

const char *rtm_heap_name(const rtm_heap_t *h)
{
    return heap_ok(h) ? h->name : "(no heap)";
}

size_t rtm_heap_alignment(const rtm_heap_t *h)
{
    return heap_ok(h) ? h->granularity : 0;
}

void rtm_default_misuse_hook(rtm_heap_t *h, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)ctx;
    rtm_output_report(rtm_misuse_str(kind), address, "heap", rtm_heap_name(h));
#if RTM_ABORT_ON_MISUSE
    RTM_ABORT();
#endif
}

const char *rtm_misuse_str(rtm_misuse_t kind)
{
    switch (kind) {
    case RTM_MISUSE_FOREIGN_POINTER:
        return "foreign pointer (not from this heap)";
    case RTM_MISUSE_INVALID_POINTER:
        return "invalid pointer (not the start of a live block)";
    case RTM_MISUSE_DOUBLE_FREE:
        return "double free";
    case RTM_MISUSE_FREE_REFUSED:
        return "free refused (bump heap never frees)";
    case RTM_MISUSE_CORRUPT_BLOCK:
        return "corrupt block";
    default:
        return "unknown misuse";
    }
}
