/*
 * Capability regions: a registry of heaps with capability sets, and the
 * ESP-IDF selection rule over them (include/rtmem/caps.h says what and why).
 *
 * Storage. Everything lives in the caller's registry and slot array. Two
 * orders are needed over the regions:
 *   - search order, for allocation: the regions registered with
 *     search_first, newest first, then the others in registration order,
 *     i.e. slot order, because regions are only ever appended. Slots below
 *     `count` never change once published, so an allocation reads `count`
 *     under the lock and then walks slots[0..count) without it (backwards,
 *     then forwards).
 *   - address order, for free: an index of slot numbers sorted by start
 *     address, binary-searched in O(log n). It is stored spread over the
 *     slots themselves: slots[k].by_addr is the slot number of the k-th
 *     region by address. That costs one word per slot and no second array
 *     for the caller to size. It changes when a region is added (entries
 *     shift), so it is read and written only under the registry lock.
 *     Regions are disjoint except that one may lie inside a live block of
 *     another (nesting, which ESP-IDF allows); each keeps a link to the
 *     region it lies in, so the innermost region holding an address is the
 *     last one starting at or below it, or one of that one's outer regions.
 *
 * Locks. The registry lock is held only for short, bounded work on the
 * registry itself and never while a heap function runs, so the only lock
 * order is "heap lock alone", and hooks (which run with no lock held) may
 * call back into rtmem.
 */
#include "rtmem/caps.h"

#include <string.h>

#include "rtmem/debug.h"
#include "rtmem/output.h"
#include "poison.h"
#include "rtmem/port.h"
#include "util.h"

#define REGISTRY_MAGIC 0x72746d63u /* "rtmc" */
#define REGION_MAGIC 0x72746d72u   /* "rtmr" */

/* The one active registry. Written only by init/deinit, which the header
 * forbids running concurrently with anything else. */
static rtm_caps_registry_t *g_registry;

static rtm_caps_registry_t *active(void)
{
    rtm_caps_registry_t *reg = g_registry;
    return (reg != NULL && reg->magic == REGISTRY_MAGIC) ? reg : NULL;
}

static void reg_lock(rtm_caps_registry_t *reg)
{
    if ((reg->flags & RTM_CAPS_NO_LOCK) == 0) {
        rtm_port_lock(&reg->lock);
    }
}

static void reg_unlock(rtm_caps_registry_t *reg)
{
    if ((reg->flags & RTM_CAPS_NO_LOCK) == 0) {
        rtm_port_unlock(&reg->lock);
    }
}

static bool region_ok(const rtm_caps_region_t *r)
{
    return r != NULL && r->magic == REGION_MAGIC;
}

/* The number of published regions. The lock orders this read after the
 * writes that filled those slots. */
static size_t published(rtm_caps_registry_t *reg)
{
    reg_lock(reg);
    size_t n = reg->count;
    reg_unlock(reg);
    return n;
}

/* ------------------------------------------------------------------ */
/* Hooks                                                               */

static void report_misuse(rtm_caps_registry_t *reg, const rtm_caps_region_t *region,
                          rtm_misuse_t kind, const void *address)
{
    rtm_caps_misuse_fn fn = NULL;
    void *ctx = NULL;
    if (reg != NULL) {
        reg_lock(reg);
        fn = reg->on_misuse;
        ctx = reg->misuse_ctx;
        reg_unlock(reg);
    }
    if (fn == NULL) {
        fn = rtm_caps_default_misuse_hook;
    }
    fn(region, kind, address, ctx);
}

/* Installed as each region heap's misuse hook: the heap knows the pointer
 * is bad, the registry knows which region that heap is. */
static void forward_heap_misuse(rtm_heap_t *heap, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)heap;
    const rtm_caps_region_t *region = ctx;
    report_misuse(region->registry, region, kind, address);
}

static void report_failure(rtm_caps_registry_t *reg, size_t size, rtm_caps_t caps,
                           const char *function_name)
{
    if (reg == NULL || function_name == NULL) {
        return;
    }
    reg_lock(reg);
    rtm_caps_alloc_failed_fn fn = reg->on_alloc_failed;
    void *ctx = reg->alloc_failed_ctx;
    reg_unlock(reg);
    if (fn != NULL) {
        fn(size, caps, function_name, ctx);
    }
}

void rtm_caps_report_alloc_failed(size_t size, rtm_caps_t caps, const char *function_name)
{
    report_failure(active(), size, caps, function_name != NULL ? function_name : "(unknown)");
}

void rtm_caps_default_misuse_hook(const rtm_caps_region_t *region, rtm_misuse_t kind,
                                  const void *address, void *ctx)
{
    (void)ctx;
    if (region_ok(region)) {
        rtm_output_report(rtm_misuse_str(kind), address, "region", region->name);
    } else {
        rtm_output_report(rtm_misuse_str(kind), address, "no region", NULL);
    }
#if RTM_ABORT_ON_MISUSE
    RTM_ABORT();
#endif
}

void rtm_caps_set_observer(rtm_caps_observer_fn fn, void *ctx)
{
    rtm_caps_registry_t *reg = active();
    if (reg != NULL) {
        reg->observer = fn;
        reg->observer_ctx = ctx;
    }
}

void rtm_caps_set_alloc_failed_hook(rtm_caps_alloc_failed_fn fn, void *ctx)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL) {
        return;
    }
    reg_lock(reg);
    reg->on_alloc_failed = fn;
    reg->alloc_failed_ctx = ctx;
    reg_unlock(reg);
}

void rtm_caps_set_misuse_hook(rtm_caps_misuse_fn fn, void *ctx)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL) {
        return;
    }
    reg_lock(reg);
    reg->on_misuse = fn;
    reg->misuse_ctx = ctx;
    reg_unlock(reg);
}

void rtm_caps_extmem_enable(size_t limit)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL) {
        return;
    }
    reg_lock(reg);
    reg->extmem_enabled = true;
    reg->extmem_limit = limit;
    reg_unlock(reg);
}

void rtm_caps_extmem_disable(void)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL) {
        return;
    }
    reg_lock(reg);
    reg->extmem_enabled = false;
    reg_unlock(reg);
}

/* ------------------------------------------------------------------ */
/* Registry                                                            */

rtm_caps_err_t rtm_caps_init(rtm_caps_registry_t *reg, rtm_caps_region_t *slots,
                             size_t slot_count, const rtm_caps_config_t *cfg)
{
    if (reg == NULL || slots == NULL || slot_count == 0) {
        return RTM_CAPS_ERR_ARG;
    }
    if (cfg != NULL && cfg->cache_line != 0 && !rtm_is_pow2(cfg->cache_line)) {
        return RTM_CAPS_ERR_ARG;
    }
    if (active() != NULL) {
        return RTM_CAPS_ERR_ACTIVE;
    }
    memset(reg, 0, sizeof *reg);
    memset(slots, 0, slot_count * sizeof *slots);
    if (cfg != NULL) {
        reg->flags = cfg->flags;
        reg->min_region_bytes = cfg->min_region_bytes;
        reg->cache_line = cfg->cache_line;
        reg->strategy = cfg->strategy;
        reg->alignment = cfg->alignment;
        reg->on_alloc_failed = cfg->on_alloc_failed;
        reg->alloc_failed_ctx = cfg->alloc_failed_ctx;
        reg->on_misuse = cfg->on_misuse;
        reg->misuse_ctx = cfg->misuse_ctx;
    }
    if (reg->cache_line == 0) {
        reg->cache_line = RTM_DEFAULT_ALIGN;
    }
    reg->slots = slots;
    reg->capacity = slot_count;
    if ((reg->flags & RTM_CAPS_NO_LOCK) == 0 && !rtm_port_lock_init(&reg->lock)) {
        return RTM_CAPS_ERR_PORT;
    }
    reg->magic = REGISTRY_MAGIC;
    g_registry = reg;
    return RTM_CAPS_OK;
}

void rtm_caps_deinit(void)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL) {
        return;
    }
    for (size_t i = 0; i < reg->count; i++) {
        rtm_heap_deinit(reg->slots[i].heap);
        reg->slots[i].magic = 0;
    }
    reg->count = 0;
    reg->magic = 0;
    if ((reg->flags & RTM_CAPS_NO_LOCK) == 0) {
        rtm_port_lock_destroy(&reg->lock);
    }
    g_registry = NULL;
}

rtm_caps_registry_t *rtm_caps_registry(void)
{
    return active();
}

static rtm_caps_t union_of(const rtm_caps_t caps[RTM_CAPS_LEVELS])
{
    rtm_caps_t all = 0;
    for (unsigned p = 0; p < RTM_CAPS_LEVELS; p++) {
        all |= caps[p];
    }
    return all;
}

static rtm_caps_region_t *by_addr_at(const rtm_caps_registry_t *reg, size_t k)
{
    return &reg->slots[reg->slots[k].by_addr];
}

/* Address-index position of the first region starting above p; the region
 * before it (if any) is the only one that can contain p. Lock held. */
static size_t upper_bound(const rtm_caps_registry_t *reg, uintptr_t p)
{
    size_t lo = 0;
    size_t hi = reg->count;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if (by_addr_at(reg, mid)->start <= p) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    return lo;
}

/* The innermost region containing p, starting from the region with the
 * greatest start <= p: regions nest only inside live blocks of others, so
 * the ones containing p are that region and its ancestors. Lock held. */
static rtm_caps_region_t *innermost(const rtm_caps_registry_t *reg, uintptr_t p)
{
    size_t pos = upper_bound(reg, p);
    rtm_caps_region_t *r = pos > 0 ? by_addr_at(reg, pos - 1u) : NULL;
    while (r != NULL && p >= r->end) {
        r = r->parent;
    }
    return r;
}

typedef struct live_span {
    uintptr_t start;
    uintptr_t end;
    bool inside;
} live_span_t;

static bool find_live_span(const rtm_block_info_t *block, void *ctx)
{
    live_span_t *s = ctx;
    uintptr_t p = (uintptr_t)block->ptr;
    if (s->start >= p && s->start - p < block->size) {
        s->inside = block->used && s->end - p <= block->size;
        return false;
    }
    return true;
}

/* Whether [start, end) lies in one live block of region r's heap (a
 * buffer the application allocated there). Walks r: O(blocks of r). */
static bool in_live_block(const rtm_caps_region_t *r, uintptr_t start, uintptr_t end)
{
    live_span_t s = {start, end, false};
    return rtm_heap_walk(r->heap, find_live_span, &s) && s.inside;
}

static rtm_caps_err_t heap_err(rtm_err_t err)
{
    switch (err) {
    case RTM_OK:
        return RTM_CAPS_OK;
    case RTM_ERR_TOO_SMALL:
        return RTM_CAPS_ERR_TOO_SMALL;
    case RTM_ERR_TOO_LARGE:
        return RTM_CAPS_ERR_TOO_LARGE;
    case RTM_ERR_PORT:
        return RTM_CAPS_ERR_PORT;
    case RTM_ERR_NULL:
    case RTM_ERR_MISALIGNED:
        return RTM_CAPS_ERR_ARG;
    case RTM_ERR_BAD_ALIGNMENT:
    case RTM_ERR_BAD_STRATEGY:
    case RTM_ERR_UNSUPPORTED:
    default:
        return RTM_CAPS_ERR_CONFIG;
    }
}

rtm_caps_err_t rtm_caps_add_region(void *mem, size_t size, const rtm_caps_region_config_t *cfg,
                                   rtm_caps_region_t **out)
{
    if (out != NULL) {
        *out = NULL;
    }
    rtm_caps_registry_t *reg = active();
    if (reg == NULL) {
        return RTM_CAPS_ERR_NOT_INIT;
    }
    if (mem == NULL || cfg == NULL) {
        return RTM_CAPS_ERR_ARG;
    }
    uintptr_t start = (uintptr_t)mem;
    if (size > UINTPTR_MAX - start) {
        return RTM_CAPS_ERR_ARG; /* the range would wrap around the address space */
    }
    rtm_caps_t all = union_of(cfg->caps);
    if (all == 0 || (all & RTM_CAP_INVALID) != 0) {
        return RTM_CAPS_ERR_NO_CAPS;
    }
    /* An RTM_SYSTEM heap's blocks come from libc, outside the region, so
     * they could never be found by address (NULL: the default strategy,
     * which config.h lets be that one too). */
    const rtm_strategy_t *strategy = cfg->strategy != NULL ? cfg->strategy : &RTM_DEFAULT_STRATEGY;
    if (rtm_strategy_id(strategy) == RTM_SYSTEM) {
        return RTM_CAPS_ERR_CONFIG;
    }
    size_t slack =
        (size_t)((RTM_HEAP_MEM_ALIGN - (start % RTM_HEAP_MEM_ALIGN)) % RTM_HEAP_MEM_ALIGN);
    if (size < reg->min_region_bytes || size <= slack) {
        return RTM_CAPS_ERR_TOO_SMALL;
    }

    uintptr_t end = start + size;
    /* A range inside a region must lie in one live block of it (memory
     * the application took from that region and registers again, as
     * ESP-IDF allows); that is checked before the registry lock is taken,
     * because the walk takes the outer heap's lock. */
    reg_lock(reg);
    rtm_caps_region_t *outer = innermost(reg, start);
    reg_unlock(reg);
    if (outer != NULL && !in_live_block(outer, start, end)) {
        return RTM_CAPS_ERR_OVERLAP;
    }

    reg_lock(reg);
    if (reg->count == reg->capacity) {
        reg_unlock(reg);
        return RTM_CAPS_ERR_FULL;
    }
    rtm_caps_region_t *slot = &reg->slots[reg->count];
    rtm_heap_config_t hc = {
        .strategy = cfg->strategy,
        .alignment = cfg->alignment,
        .name = cfg->name != NULL ? cfg->name : "region",
        .flags = cfg->heap_flags,
        .on_alloc_failed = NULL,
        .on_misuse = forward_heap_misuse,
        .hook_ctx = slot,
    };
    size_t pos = upper_bound(reg, start);
    /* The region containing start must still be the one checked above (no
     * region was added in that block meanwhile); nothing may start inside
     * the new range. Both ends of a nested range lie in the outer block. */
    bool overlaps = innermost(reg, start) != outer ||
                    (pos < reg->count && by_addr_at(reg, pos)->start < end);
    if (overlaps) {
        reg_unlock(reg);
        return RTM_CAPS_ERR_OVERLAP;
    }
    void *heap_mem = (uint8_t *)mem + slack;
    rtm_err_t herr = rtm_heap_init_error(heap_mem, size - slack, &hc);
    if (herr != RTM_OK) {
        reg_unlock(reg);
        return heap_err(herr);
    }
    /* The heap is initialised under the lock: another add_region of an
     * overlapping range must not pass its check before this one is in the
     * index, and the heap writes into the range. */
    rtm_heap_t *heap = rtm_heap_init(heap_mem, size - slack, &hc);
    if (heap == NULL) {
        reg_unlock(reg);
        return RTM_CAPS_ERR_PORT; /* init_error said yes: only the lock can have failed */
    }
    slot->heap = heap;
    slot->name = hc.name;
    slot->start = start;
    slot->end = end;
    slot->slack = slack;
    slot->min_free_floor = SIZE_MAX;
    slot->parent = outer;
    slot->search_first = cfg->search_first;
    memcpy(slot->caps, cfg->caps, sizeof slot->caps);
    slot->all_caps = all;
    slot->registry = reg;
    slot->magic = REGION_MAGIC;
    size_t index = reg->count;
    for (size_t k = reg->count; k > pos; k--) {
        reg->slots[k].by_addr = reg->slots[k - 1u].by_addr;
    }
    reg->slots[pos].by_addr = index;
    if (cfg->search_first) {
        reg->any_search_first = true;
    }
    reg->count++; /* publishes the slot */
    reg_unlock(reg);
    if (out != NULL) {
        *out = slot;
    }
    return RTM_CAPS_OK;
}

rtm_caps_err_t rtm_caps_init_preset(rtm_caps_registry_t *reg, rtm_caps_region_t *slots,
                                    size_t slot_count, const rtm_caps_preset_t *preset,
                                    const rtm_caps_config_t *cfg)
{
    if (preset == NULL || (preset->regions == NULL && preset->region_count != 0)) {
        return RTM_CAPS_ERR_ARG;
    }
    rtm_caps_config_t c;
    if (cfg != NULL) {
        c = *cfg;
    } else {
        memset(&c, 0, sizeof c);
    }
    c.flags |= preset->flags;
    if (c.cache_line == 0) {
        c.cache_line = preset->cache_line;
    }
    rtm_caps_err_t err = rtm_caps_init(reg, slots, slot_count, &c);
    if (err != RTM_CAPS_OK) {
        return err;
    }
    for (size_t i = 0; i < preset->region_count; i++) {
        const rtm_caps_region_desc_t *d = &preset->regions[i];
        uintptr_t s = (uintptr_t)d->start;
        uintptr_t e = (uintptr_t)d->end;
        if (e == s) {
            continue;
        }
        rtm_caps_region_config_t rc = {
            .name = d->name,
            .strategy = c.strategy,
            .alignment = c.alignment,
            .heap_flags = (c.flags & RTM_CAPS_NO_LOCK) != 0 ? RTM_HEAP_NO_LOCK : 0u,
        };
        memcpy(rc.caps, d->caps, sizeof rc.caps);
        err = e < s ? RTM_CAPS_ERR_ARG : rtm_caps_add_region(d->start, (size_t)(e - s), &rc, NULL);
        if (err != RTM_CAPS_OK) {
            rtm_caps_deinit();
            return err;
        }
    }
    return RTM_CAPS_OK;
}

const char *rtm_caps_err_str(rtm_caps_err_t err)
{
    switch (err) {
    case RTM_CAPS_OK:
        return "ok";
    case RTM_CAPS_ERR_NOT_INIT:
        return "no capability registry is active";
    case RTM_CAPS_ERR_ACTIVE:
        return "a capability registry is already active";
    case RTM_CAPS_ERR_ARG:
        return "invalid argument";
    case RTM_CAPS_ERR_NO_CAPS:
        return "region capabilities are empty or contain RTM_CAP_INVALID";
    case RTM_CAPS_ERR_FULL:
        return "no free region slot";
    case RTM_CAPS_ERR_OVERLAP:
        return "region overlaps a registered region";
    case RTM_CAPS_ERR_TOO_SMALL:
        return "region is below the minimum size";
    case RTM_CAPS_ERR_TOO_LARGE:
        return "region is larger than one heap can manage";
    case RTM_CAPS_ERR_CONFIG:
        return "unusable heap configuration (RTM_SYSTEM, strategy or alignment)";
    case RTM_CAPS_ERR_PORT:
        return "port could not create a lock";
    default:
        return "unknown error";
    }
}

/* ------------------------------------------------------------------ */
/* Lookup by address                                                   */

static rtm_caps_region_t *find_region(rtm_caps_registry_t *reg, const void *ptr)
{
    reg_lock(reg);
    rtm_caps_region_t *found = innermost(reg, (uintptr_t)ptr);
    reg_unlock(reg);
    return found;
}

/* Reports ptr, which lies in no region, as foreign: to the misuse hook,
 * and at poisoning levels >= 1 as a corruption report naming op, the call
 * the application made, as a heap does for a pointer outside it
 * (debug.h). */
static void report_foreign(rtm_caps_registry_t *reg, const void *ptr, rtm_debug_op_t op)
{
    report_misuse(reg, NULL, RTM_MISUSE_FOREIGN_POINTER, ptr);
    rtm_poison_report_pointer(NULL, ptr, RTM_PTR_FOREIGN, op);
}

/* The region holding ptr, or NULL after reporting ptr as foreign. */
static rtm_caps_region_t *owner_or_report(rtm_caps_registry_t *reg, const void *ptr,
                                          rtm_debug_op_t op)
{
    rtm_caps_region_t *r = reg != NULL ? find_region(reg, ptr) : NULL;
    if (r == NULL) {
        report_foreign(reg, ptr, op);
    }
    return r;
}

/* ------------------------------------------------------------------ */
/* Selection                                                           */

/* A request after the modifiers of caps.h: the caps regions are matched
 * against, the alignment (0 = granularity) and the size to ask for. */
typedef struct request {
    rtm_caps_t caps;
    size_t alignment;
    size_t size;
} request_t;

/* Applies the request modifiers; false if the request can never succeed. */
static bool shape_request(const rtm_caps_registry_t *reg, request_t *rq)
{
    if ((reg->flags & RTM_CAPS_EXEC_IS_32BIT) != 0 && (rq->caps & RTM_CAP_EXEC) != 0) {
        if ((rq->caps & (RTM_CAP_8BIT | RTM_CAP_DMA)) != 0) {
            return false;
        }
        rq->caps |= RTM_CAP_32BIT;
    }
    if ((rq->caps & RTM_CAP_CACHE_ALIGNED) != 0) {
        rq->caps &= ~RTM_CAP_CACHE_ALIGNED;
        size_t line = reg->cache_line;
        if (rq->alignment < line) {
            rq->alignment = line;
        }
        if (rq->size > SIZE_MAX - (line - 1u)) {
            return false;
        }
        rq->size = (rq->size + line - 1u) & ~(line - 1u);
    }
    return true;
}

static bool candidate_at(const rtm_caps_region_t *r, rtm_caps_t caps, unsigned level)
{
    return (r->caps[level] & caps) != 0 && (r->all_caps & caps) == caps;
}

/* A region that qualified at a lower level has been tried already. */
static bool tried_below(const rtm_caps_region_t *r, rtm_caps_t caps, unsigned level)
{
    for (unsigned q = 0; q < level; q++) {
        if ((r->caps[q] & caps) != 0) {
            return true;
        }
    }
    return false;
}

/* The selection rule. No report. */
/* Tries region r for rq at level; NULL if it is no candidate there or
 * has no room. */
static void *try_region(rtm_caps_registry_t *reg, const rtm_caps_region_t *r, const request_t *rq,
                        unsigned level, const rtm_alloc_site_t *site)
{
    if (!candidate_at(r, rq->caps, level) || tried_below(r, rq->caps, level)) {
        return NULL;
    }
    void *p = rtm_heap_alloc_ex(r->heap, rq->size, rq->alignment, site);
    if (p != NULL && reg->observer != NULL) {
        reg->observer(p, rq->size, rq->caps, r, reg->observer_ctx);
    }
    return p;
}

/* The selection rule, in search order: regions added with search_first,
 * newest first, then the others in registration order. No report. */
static void *select_alloc(rtm_caps_registry_t *reg, const request_t *rq,
                          const rtm_alloc_site_t *site)
{
    if (rq->size == 0 || rq->caps == 0) {
        return NULL;
    }
    reg_lock(reg);
    size_t n = reg->count;
    bool any_first = reg->any_search_first;
    reg_unlock(reg);
    for (unsigned level = 0; level < RTM_CAPS_LEVELS; level++) {
        for (size_t i = n; any_first && i-- > 0;) {
            const rtm_caps_region_t *r = &reg->slots[i];
            void *p = r->search_first ? try_region(reg, r, rq, level, site) : NULL;
            if (p != NULL) {
                return p;
            }
        }
        for (size_t i = 0; i < n; i++) {
            const rtm_caps_region_t *r = &reg->slots[i];
            void *p = r->search_first ? NULL : try_region(reg, r, rq, level, site);
            if (p != NULL) {
                return p;
            }
        }
    }
    return NULL;
}

static void *alloc_base(rtm_caps_registry_t *reg, size_t alignment, size_t size, rtm_caps_t caps,
                        const rtm_alloc_site_t *site)
{
    request_t rq = {.caps = caps, .alignment = alignment, .size = size};
    if (size == 0 || !shape_request(reg, &rq)) {
        return NULL;
    }
    return select_alloc(reg, &rq, site);
}

static bool frees(const rtm_caps_region_t *r)
{
    return rtm_heap_strategy(r->heap) != RTM_BUMP;
}

/* Realloc without a failure report. *misuse is set when ptr was reported
 * as bad (then nothing else happened). */
static void *realloc_base(rtm_caps_registry_t *reg, void *ptr, size_t size, rtm_caps_t caps,
                          const rtm_alloc_site_t *site, bool *misuse)
{
    *misuse = false;
    if (ptr == NULL) {
        return alloc_base(reg, 0, size, caps, site);
    }
    rtm_caps_region_t *r = owner_or_report(reg, ptr, RTM_OP_REALLOC);
    if (r == NULL) {
        *misuse = true;
        return NULL;
    }
    if (size == 0) {
        /* The heap's realloc to 0 frees, and names the realloc in a report. */
        (void)rtm_realloc_ex(r->heap, ptr, 0, site);
        return NULL;
    }
    /* 0: the heap reported ptr, naming the realloc. */
    size_t old = rtm_debug_usable_size(r->heap, ptr, RTM_OP_REALLOC);
    if (old == 0) {
        *misuse = true;
        return NULL;
    }
    request_t rq = {.caps = caps, .alignment = 0, .size = size};
    if (!shape_request(reg, &rq)) {
        return NULL;
    }
    /* Resizing inside the region keeps only the heap's granularity, so a
     * cache-aligned request always takes a fresh block. */
    if ((r->all_caps & rq.caps) == rq.caps && rq.alignment == 0) {
        void *q = rtm_realloc_ex(r->heap, ptr, rq.size, site);
        if (q != NULL) {
            return q;
        }
    }
    void *q = select_alloc(reg, &rq, site);
    if (q == NULL) {
        return NULL;
    }
    memcpy(q, ptr, old < size ? old : size);
    if (frees(r)) {
        rtm_free_ex(r->heap, ptr, site);
    }
    return q;
}

/* ------------------------------------------------------------------ */
/* Allocation API                                                      */

/* The entry points' common bodies; site is already the application's. */
static void *caps_alloc(size_t alignment, size_t size, rtm_caps_t caps, const char *function_name,
                        const rtm_alloc_site_t *site)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL || size == 0 || (alignment != 0 && !rtm_is_pow2(alignment))) {
        return NULL;
    }
    void *p = alloc_base(reg, alignment, size, caps, site);
    if (p == NULL) {
        report_failure(reg, size, caps, function_name);
    }
    return p;
}

static void *caps_realloc(void *ptr, size_t size, rtm_caps_t caps, const char *function_name,
                          const rtm_alloc_site_t *site)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL) {
        if (ptr != NULL) {
            report_foreign(NULL, ptr, RTM_OP_REALLOC);
        }
        return NULL;
    }
    bool misuse;
    void *q = realloc_base(reg, ptr, size, caps, site, &misuse);
    if (q == NULL && !misuse && size > 0) {
        report_failure(reg, size, caps, function_name);
    }
    return q;
}

static void caps_free(void *ptr, const rtm_alloc_site_t *site)
{
    if (ptr == NULL) {
        return;
    }
    rtm_caps_region_t *r = owner_or_report(active(), ptr, RTM_OP_FREE);
    if (r != NULL) {
        rtm_free_ex(r->heap, ptr, site);
    }
}

RTM_NOINLINE void *rtm_caps_alloc_ex(size_t alignment, size_t size, rtm_caps_t caps,
                                      const char *function_name, const rtm_alloc_site_t *site)
{
    rtm_alloc_site_t s = rtm_site_or(site, RTM_CALLER());
    return caps_alloc(alignment, size, caps, function_name, &s);
}

RTM_NOINLINE void *rtm_caps_realloc_ex(void *ptr, size_t size, rtm_caps_t caps,
                                        const char *function_name, const rtm_alloc_site_t *site)
{
    rtm_alloc_site_t s = rtm_site_or(site, RTM_CALLER());
    return caps_realloc(ptr, size, caps, function_name, &s);
}

RTM_NOINLINE void rtm_caps_free_ex(void *ptr, const rtm_alloc_site_t *site)
{
    rtm_alloc_site_t s = rtm_site_or(site, RTM_CALLER());
    caps_free(ptr, &s);
}

RTM_NOINLINE void *rtm_caps_malloc(size_t size, rtm_caps_t caps)
{
    rtm_alloc_site_t s = rtm_site_or(NULL, RTM_CALLER());
    return caps_alloc(0, size, caps, "rtm_caps_malloc", &s);
}

RTM_NOINLINE void *rtm_caps_calloc(size_t n, size_t size, rtm_caps_t caps)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL || n == 0 || size == 0) {
        return NULL;
    }
    if (n > SIZE_MAX / size) {
        report_failure(reg, SIZE_MAX, caps, "rtm_caps_calloc");
        return NULL;
    }
    rtm_alloc_site_t s = rtm_site_or(NULL, RTM_CALLER());
    void *p = caps_alloc(0, n * size, caps, "rtm_caps_calloc", &s);
    if (p != NULL) {
        memset(p, 0, n * size);
    }
    return p;
}

RTM_NOINLINE void *rtm_caps_aligned_alloc(size_t alignment, size_t size, rtm_caps_t caps)
{
    if (alignment == 0) {
        return NULL; /* 0 would mean "granularity" to caps_alloc */
    }
    rtm_alloc_site_t s = rtm_site_or(NULL, RTM_CALLER());
    return caps_alloc(alignment, size, caps, "rtm_caps_aligned_alloc", &s);
}

RTM_NOINLINE void *rtm_caps_realloc(void *ptr, size_t size, rtm_caps_t caps)
{
    rtm_alloc_site_t s = rtm_site_or(NULL, RTM_CALLER());
    return caps_realloc(ptr, size, caps, "rtm_caps_realloc", &s);
}

RTM_NOINLINE void *rtm_caps_malloc_prefer_array(size_t size, const rtm_caps_t *caps_list,
                                                 size_t count)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL || size == 0) {
        return NULL;
    }
    rtm_alloc_site_t s = rtm_site_or(NULL, RTM_CALLER());
    rtm_caps_t caps = RTM_CAP_DEFAULT;
    if (caps_list != NULL) {
        for (size_t i = 0; i < count; i++) {
            caps = caps_list[i];
            void *p = alloc_base(reg, 0, size, caps, &s);
            if (p != NULL) {
                return p;
            }
        }
    }
    report_failure(reg, size, caps, "rtm_caps_malloc_prefer");
    return NULL;
}

RTM_NOINLINE void rtm_caps_free(void *ptr)
{
    rtm_alloc_site_t s = rtm_site_or(NULL, RTM_CALLER());
    caps_free(ptr, &s);
}

size_t rtm_caps_usable_size(const void *ptr)
{
    return rtm_caps_debug_usable_size(ptr, RTM_OP_USABLE_SIZE);
}

size_t rtm_caps_debug_usable_size(const void *ptr, rtm_debug_op_t op)
{
    if (ptr == NULL) {
        return 0;
    }
    rtm_caps_region_t *r = owner_or_report(active(), ptr, op);
    return r != NULL ? rtm_debug_usable_size(r->heap, ptr, op) : 0;
}

/* ------------------------------------------------------------------ */
/* Default allocation and the external-memory policy                   */

#define CAPS_INTERNAL_DEFAULT (RTM_CAP_DEFAULT | RTM_CAP_INTERNAL)
#define CAPS_EXTERNAL_DEFAULT (RTM_CAP_DEFAULT | RTM_CAP_SPIRAM)

/* The caps to try first for a default request of size bytes, and whether
 * plain DEFAULT is the fallback (policy on). */
static rtm_caps_t default_first(rtm_caps_registry_t *reg, size_t size, bool *fallback)
{
    reg_lock(reg);
    bool on = reg->extmem_enabled;
    size_t limit = reg->extmem_limit;
    reg_unlock(reg);
    *fallback = on;
    if (!on || size <= limit) {
        return CAPS_INTERNAL_DEFAULT;
    }
    return CAPS_EXTERNAL_DEFAULT;
}

static void *default_alloc(size_t alignment, size_t size, const char *function_name,
                           const rtm_alloc_site_t *site)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL || size == 0 || (alignment != 0 && !rtm_is_pow2(alignment))) {
        return NULL;
    }
    bool fallback;
    rtm_caps_t first = default_first(reg, size, &fallback);
    void *p = alloc_base(reg, alignment, size, first, site);
    if (p == NULL && fallback) {
        p = alloc_base(reg, alignment, size, RTM_CAP_DEFAULT, site);
    }
    if (p == NULL) {
        report_failure(reg, size, fallback ? RTM_CAP_DEFAULT : first, function_name);
    }
    return p;
}

RTM_NOINLINE void *rtm_caps_malloc_default(size_t size)
{
    rtm_alloc_site_t s = rtm_site_or(NULL, RTM_CALLER());
    return default_alloc(0, size, "rtm_caps_malloc_default", &s);
}

RTM_NOINLINE void *rtm_caps_calloc_default(size_t n, size_t size)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL || n == 0 || size == 0) {
        return NULL;
    }
    if (n > SIZE_MAX / size) {
        bool fallback;
        rtm_caps_t first = default_first(reg, SIZE_MAX, &fallback);
        report_failure(reg, SIZE_MAX, fallback ? RTM_CAP_DEFAULT : first,
                       "rtm_caps_calloc_default");
        return NULL;
    }
    rtm_alloc_site_t s = rtm_site_or(NULL, RTM_CALLER());
    void *p = default_alloc(0, n * size, "rtm_caps_calloc_default", &s);
    if (p != NULL) {
        memset(p, 0, n * size);
    }
    return p;
}

RTM_NOINLINE void *rtm_caps_aligned_alloc_default(size_t alignment, size_t size)
{
    if (alignment == 0) {
        return NULL;
    }
    rtm_alloc_site_t s = rtm_site_or(NULL, RTM_CALLER());
    return default_alloc(alignment, size, "rtm_caps_aligned_alloc_default", &s);
}

RTM_NOINLINE void *rtm_caps_realloc_default(void *ptr, size_t size)
{
    rtm_alloc_site_t s = rtm_site_or(NULL, RTM_CALLER());
    rtm_caps_registry_t *reg = active();
    if (reg == NULL) {
        return caps_realloc(ptr, size, CAPS_INTERNAL_DEFAULT, "rtm_caps_realloc_default", &s);
    }
    bool fallback;
    rtm_caps_t first = default_first(reg, size, &fallback);
    bool misuse;
    void *q = realloc_base(reg, ptr, size, first, &s, &misuse);
    if (q == NULL && !misuse && size > 0 && fallback) {
        q = realloc_base(reg, ptr, size, RTM_CAP_DEFAULT, &s, &misuse);
    }
    if (q == NULL && !misuse && size > 0) {
        report_failure(reg, size, fallback ? RTM_CAP_DEFAULT : first, "rtm_caps_realloc_default");
    }
    return q;
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */

static bool selects(const rtm_caps_region_t *r, rtm_caps_t caps)
{
    return (caps & RTM_CAP_INVALID) != 0 || (r->all_caps & caps) == caps;
}

/* A region's minimum free as queries report it: since the monitoring
 * start while monitoring is on, else the lifetime minimum. */
static size_t region_min_free(rtm_caps_registry_t *reg, const rtm_caps_region_t *r,
                              size_t heap_min)
{
    reg_lock(reg);
    size_t floor = reg->min_free_monitoring ? SIZE_MAX : r->min_free_floor;
    reg_unlock(reg);
    return heap_min < floor ? heap_min : floor;
}

bool rtm_caps_get_info(rtm_caps_t caps, rtm_caps_info_t *info)
{
    rtm_caps_registry_t *reg = active();
    if (info == NULL) {
        return false;
    }
    memset(info, 0, sizeof *info);
    if (reg == NULL) {
        return false;
    }
    size_t n = published(reg);
    for (size_t i = 0; i < n; i++) {
        const rtm_caps_region_t *r = &reg->slots[i];
        rtm_heap_info_t hi;
        if (!selects(r, caps) || !rtm_heap_info(r->heap, &hi)) {
            continue;
        }
        info->regions++;
        info->total_bytes += (size_t)(r->end - r->start);
        info->free_bytes += hi.free_bytes;
        info->allocated_bytes += hi.allocated_bytes;
        info->overhead_bytes += hi.overhead_bytes + r->slack;
        info->min_free_bytes += region_min_free(reg, r, hi.min_free_bytes);
        if (hi.largest_free_block > info->largest_free_block) {
            info->largest_free_block = hi.largest_free_block;
        }
        info->used_blocks += hi.used_blocks;
        info->free_blocks += hi.free_blocks;
        info->alloc_count += hi.alloc_count;
        info->free_count += hi.free_count;
        info->failed_count += hi.failed_count;
    }
    return true;
}

/* Sum of one figure over the regions that caps selects. */
static size_t sum_over(rtm_caps_t caps,
                       size_t (*figure)(rtm_caps_registry_t *reg, const rtm_caps_region_t *r))
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL) {
        return 0;
    }
    size_t n = published(reg);
    size_t total = 0;
    for (size_t i = 0; i < n; i++) {
        const rtm_caps_region_t *r = &reg->slots[i];
        if (selects(r, caps)) {
            total += figure(reg, r);
        }
    }
    return total;
}

/* Sizes never change: no heap needs to be asked. */
static size_t region_size(rtm_caps_registry_t *reg, const rtm_caps_region_t *r)
{
    (void)reg;
    return (size_t)(r->end - r->start);
}

static size_t region_free(rtm_caps_registry_t *reg, const rtm_caps_region_t *r)
{
    (void)reg;
    return rtm_heap_free_bytes(r->heap);
}

/* rtm_caps_get_info's figure, without its walk of the free list. */
static size_t region_min_free_now(rtm_caps_registry_t *reg, const rtm_caps_region_t *r)
{
    return region_min_free(reg, r, rtm_heap_min_free_bytes(r->heap));
}

size_t rtm_caps_total_size(rtm_caps_t caps)
{
    return sum_over(caps, region_size);
}

size_t rtm_caps_free_size(rtm_caps_t caps)
{
    return sum_over(caps, region_free);
}

size_t rtm_caps_min_free_size(rtm_caps_t caps)
{
    return sum_over(caps, region_min_free_now);
}

size_t rtm_caps_largest_free_block(rtm_caps_t caps)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL) {
        return 0;
    }
    size_t n = published(reg);
    size_t best = 0;
    for (size_t i = 0; i < n; i++) {
        const rtm_caps_region_t *r = &reg->slots[i];
        if (selects(r, caps)) {
            size_t largest = rtm_heap_largest_free(r->heap);
            if (largest > best) {
                best = largest;
            }
        }
    }
    return best;
}

void rtm_caps_reset_min_free(rtm_caps_t caps)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL) {
        return;
    }
    size_t n = published(reg);
    for (size_t i = 0; i < n; i++) {
        rtm_caps_region_t *r = &reg->slots[i];
        if (selects(r, caps)) {
            reg_lock(reg);
            r->min_free_floor = SIZE_MAX;
            reg_unlock(reg);
            rtm_heap_reset_min_free(r->heap);
        }
    }
}

/* Switches local-minimum monitoring; false if it already was in that state. */
static bool set_monitoring(rtm_caps_registry_t *reg, bool on)
{
    reg_lock(reg);
    bool changed = reg->min_free_monitoring != on;
    reg->min_free_monitoring = on;
    reg_unlock(reg);
    return changed;
}

bool rtm_caps_min_free_monitor_start(void)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL || !set_monitoring(reg, true)) {
        return false;
    }
    size_t n = published(reg);
    for (size_t i = 0; i < n; i++) {
        rtm_caps_region_t *r = &reg->slots[i];
        /* The heap's mark may fall between these two calls; that fall is
         * then seen by neither window (the core has no combined step). */
        size_t before = rtm_heap_min_free_bytes(r->heap);
        rtm_heap_reset_min_free(r->heap);
        reg_lock(reg);
        if (before < r->min_free_floor) {
            r->min_free_floor = before;
        }
        reg_unlock(reg);
    }
    return true;
}

bool rtm_caps_min_free_monitor_stop(void)
{
    rtm_caps_registry_t *reg = active();
    return reg != NULL && set_monitoring(reg, false);
}

/* ------------------------------------------------------------------ */
/* Integrity                                                           */

static void print_problem(const rtm_caps_region_t *region, const rtm_check_report_t *hr)
{
    rtm_line_t line;
    rtm_line_init(&line);
    rtm_line_str(&line, "rtmem caps: ");
    if (region != NULL) {
        rtm_line_str(&line, "region '");
        rtm_line_str(&line, region->name);
        rtm_line_str(&line, "': ");
    } else {
        rtm_line_str(&line, "registry: ");
    }
    rtm_line_str(&line, hr->problem);
    rtm_line_str(&line, " at ");
    rtm_line_ptr(&line, hr->address);
    rtm_line_emit(&line);
}

/* Records one problem: printed if asked, kept in *report if it is the
 * first. Returns false so callers can fold it into their result. */
static bool note_problem(const rtm_caps_region_t *region, const char *problem, const void *address,
                         bool print_errors, rtm_caps_check_report_t *report, bool *first)
{
    rtm_check_report_t hr = {.problem = problem, .address = address};
    if (print_errors) {
        print_problem(region, &hr);
    }
    if (*first && report != NULL) {
        report->region = region;
        report->heap = hr;
    }
    *first = false;
    return false;
}

/* The address index names every published slot once, in rising, disjoint
 * ranges. Lock held. */
static bool index_ok(const rtm_caps_registry_t *reg, const char **problem, const void **where)
{
    for (size_t k = 0; k < reg->count; k++) {
        size_t s = reg->slots[k].by_addr;
        if (s >= reg->count) {
            *problem = "address index names a slot that holds no region";
            *where = &reg->slots[k];
            return false;
        }
        const rtm_caps_region_t *r = &reg->slots[s];
        if (r->magic != REGION_MAGIC || r->end <= r->start) {
            *problem = "region control block is damaged";
            *where = r;
            return false;
        }
        if (r->parent != NULL && (r->parent->start >= r->start || r->parent->end < r->end)) {
            *problem = "nested region is not inside its outer region";
            *where = r;
            return false;
        }
        if (k > 0 && by_addr_at(reg, k - 1u)->start >= r->start) {
            *problem = "address index is unsorted or regions overlap";
            *where = r;
            return false;
        }
        /* Every earlier region that is not r's ancestor ends before r
         * (bounded: a damaged parent link must not loop forever). */
        size_t hops = 0;
        for (const rtm_caps_region_t *q = k > 0 ? by_addr_at(reg, k - 1u) : NULL;
             q != NULL && q != r->parent && hops <= reg->count; q = q->parent, hops++) {
            if (q->end > r->start) {
                *problem = "address index is unsorted or regions overlap";
                *where = r;
                return false;
            }
        }
    }
    return true;
}

static bool check_region(const rtm_caps_region_t *r, bool print_errors,
                         rtm_caps_check_report_t *report, bool *first)
{
    rtm_check_report_t hr = {NULL, NULL};
    /* The problem is reported here (print_errors, report), not through the
     * corruption hook, whose default stops the program. */
    if (rtm_heap_check_silent(r->heap, &hr)) {
        return true;
    }
    return note_problem(r, hr.problem, hr.address, print_errors, report, first);
}

bool rtm_caps_check(rtm_caps_t caps, bool print_errors, rtm_caps_check_report_t *report)
{
    if (report != NULL) {
        memset(report, 0, sizeof *report);
    }
    bool first = true;
    rtm_caps_registry_t *reg = active();
    if (reg == NULL) {
        return note_problem(NULL, "no capability registry is active", NULL, print_errors, report,
                            &first);
    }
    const char *problem = NULL;
    const void *where = NULL;
    reg_lock(reg);
    bool ok = index_ok(reg, &problem, &where);
    size_t n = reg->count;
    reg_unlock(reg);
    if (!ok) {
        note_problem(NULL, problem, where, print_errors, report, &first);
    }
    for (size_t i = 0; i < n; i++) {
        const rtm_caps_region_t *r = &reg->slots[i];
        if (selects(r, caps) && !check_region(r, print_errors, report, &first)) {
            ok = false;
        }
    }
    return ok;
}

bool rtm_caps_check_all(bool print_errors, rtm_caps_check_report_t *report)
{
    return rtm_caps_check(RTM_CAP_INVALID, print_errors, report);
}

bool rtm_caps_check_addr(const void *addr, bool print_errors, rtm_caps_check_report_t *report)
{
    if (report != NULL) {
        memset(report, 0, sizeof *report);
    }
    bool first = true;
    rtm_caps_registry_t *reg = active();
    const rtm_caps_region_t *r = reg != NULL ? find_region(reg, addr) : NULL;
    if (r == NULL) {
        return note_problem(NULL, "address is in no region", addr, print_errors, report, &first);
    }
    return check_region(r, print_errors, report, &first);
}

/* ------------------------------------------------------------------ */
/* Walk and summary                                                    */

typedef struct walk_ctx {
    const rtm_caps_region_t *region;
    rtm_caps_walk_fn fn;
    void *ctx;
} walk_ctx_t;

static bool walk_block(const rtm_block_info_t *block, void *ctx)
{
    walk_ctx_t *w = ctx;
    return w->fn(w->region, block, w->ctx);
}

bool rtm_caps_walk(rtm_caps_t caps, rtm_caps_walk_fn fn, void *ctx)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL || fn == NULL) {
        return false;
    }
    size_t n = published(reg);
    bool ok = true;
    for (size_t i = 0; i < n; i++) {
        const rtm_caps_region_t *r = &reg->slots[i];
        if (!selects(r, caps)) {
            continue;
        }
        walk_ctx_t w = {r, fn, ctx};
        if (!rtm_heap_walk(r->heap, walk_block, &w)) {
            ok = false;
        }
    }
    return ok;
}

/* A region's name in the summary: the first 32 bytes, so a long name
 * cannot push the figures past the end of the line (rtm_line_str writes
 * its control bytes as '?'). */
#define SUMMARY_NAME_MAX 32u

static void line_name(rtm_line_t *line, const char *name)
{
    char buf[SUMMARY_NAME_MAX + 1u];
    size_t n = 0;
    for (; n < SUMMARY_NAME_MAX && name[n] != '\0'; n++) {
        buf[n] = name[n];
    }
    buf[n] = '\0';
    rtm_line_str(line, buf);
}

static void line_field(rtm_line_t *line, const char *label, size_t value)
{
    rtm_line_str(line, label);
    rtm_line_uint(line, value);
}

void rtm_caps_print_summary(rtm_caps_t caps)
{
    rtm_caps_registry_t *reg = active();
    rtm_line_t line;
    rtm_line_init(&line);
    rtm_line_str(&line, "rtmem caps summary for ");
    rtm_line_hex(&line, caps);
    rtm_line_str(&line, reg != NULL ? ":" : ": no registry");
    rtm_line_emit(&line);
    if (reg == NULL) {
        return;
    }
    size_t n = published(reg);
    for (size_t i = 0; i < n; i++) {
        const rtm_caps_region_t *r = &reg->slots[i];
        rtm_heap_info_t hi;
        if (!selects(r, caps) || !rtm_heap_info(r->heap, &hi)) {
            continue;
        }
        rtm_line_init(&line);
        rtm_line_str(&line, "  ");
        line_name(&line, r->name);
        rtm_line_str(&line, " at ");
        rtm_line_hex(&line, (uint64_t)r->start);
        line_field(&line, " len ", (size_t)(r->end - r->start));
        line_field(&line, " free ", hi.free_bytes);
        line_field(&line, " allocated ", hi.allocated_bytes);
        line_field(&line, " min_free ", region_min_free(reg, r, hi.min_free_bytes));
        rtm_line_emit(&line);
        rtm_line_init(&line);
        line_field(&line, "    largest_free_block ", hi.largest_free_block);
        line_field(&line, " alloc_blocks ", hi.used_blocks);
        line_field(&line, " free_blocks ", hi.free_blocks);
        line_field(&line, " total_blocks ", hi.used_blocks + hi.free_blocks);
        rtm_line_emit(&line);
    }
    rtm_caps_info_t info;
    rtm_caps_get_info(caps, &info);
    rtm_line_init(&line);
    line_field(&line, "  totals: regions ", info.regions);
    line_field(&line, " total ", info.total_bytes);
    line_field(&line, " free ", info.free_bytes);
    line_field(&line, " allocated ", info.allocated_bytes);
    line_field(&line, " min_free ", info.min_free_bytes);
    line_field(&line, " largest_free_block ", info.largest_free_block);
    rtm_line_emit(&line);
}

/* ------------------------------------------------------------------ */
/* Regions                                                             */

size_t rtm_caps_region_count(void)
{
    rtm_caps_registry_t *reg = active();
    return reg != NULL ? published(reg) : 0;
}

const rtm_caps_region_t *rtm_caps_region_at(size_t i)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL || i >= published(reg)) {
        return NULL;
    }
    return &reg->slots[i];
}

const rtm_caps_region_t *rtm_caps_region_of(const void *ptr)
{
    rtm_caps_registry_t *reg = active();
    return reg != NULL ? find_region(reg, ptr) : NULL;
}

const rtm_caps_region_t *rtm_caps_region_find(const char *name)
{
    rtm_caps_registry_t *reg = active();
    if (reg == NULL || name == NULL) {
        return NULL;
    }
    size_t n = published(reg);
    for (size_t i = 0; i < n; i++) {
        if (strcmp(reg->slots[i].name, name) == 0) {
            return &reg->slots[i];
        }
    }
    return NULL;
}

rtm_heap_t *rtm_caps_region_heap(const rtm_caps_region_t *region)
{
    return region_ok(region) ? region->heap : NULL;
}

const char *rtm_caps_region_name(const rtm_caps_region_t *region)
{
    return region_ok(region) ? region->name : "(no region)";
}

const void *rtm_caps_region_start(const rtm_caps_region_t *region)
{
    return region_ok(region) ? (const void *)region->start : NULL;
}

const void *rtm_caps_region_end(const rtm_caps_region_t *region)
{
    if (!region_ok(region)) {
        return NULL;
    }
    return (const uint8_t *)rtm_caps_region_start(region) + (region->end - region->start);
}

size_t rtm_caps_region_size(const rtm_caps_region_t *region)
{
    return region_ok(region) ? (size_t)(region->end - region->start) : 0;
}

rtm_caps_t rtm_caps_region_caps(const rtm_caps_region_t *region, unsigned level)
{
    return (region_ok(region) && level < RTM_CAPS_LEVELS) ? region->caps[level] : 0;
}

rtm_caps_t rtm_caps_region_all_caps(const rtm_caps_region_t *region)
{
    return region_ok(region) ? region->all_caps : 0;
}

bool rtm_caps_region_matches(const rtm_caps_region_t *region, rtm_caps_t caps)
{
    return region_ok(region) && (region->all_caps & caps) == caps;
}
