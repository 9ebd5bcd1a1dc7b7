/*
 * Shared helpers for the rtmem tests: see test_support.h.
 */
#include "support/test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* ------------------------------------------------------------------ */
/* Context and failures                                                */

static char g_context[512];

void ts_context(const char *fmt, ...)
{
    if (fmt == NULL) {
        g_context[0] = '\0';
        return;
    }
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(g_context, sizeof g_context, fmt, ap);
    va_end(ap);
}

const char *ts_context_text(void)
{
    return g_context;
}

void ts_fail_at(const char *file, int line, const char *fmt, ...)
{
    char msg[768];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    print_error("%s:%d: %s%s%s%s\n", file, line, msg, g_context[0] != '\0' ? " [" : "",
                g_context, g_context[0] != '\0' ? "]" : "");
    _fail(file, line);
}

/* ------------------------------------------------------------------ */
/* Hook recorders                                                      */

void ts_hooks_clear(ts_hooks_t *rec)
{
    bool probe = rec->probe_heap_in_hook;
    memset(rec, 0, sizeof *rec);
    rec->probe_heap_in_hook = probe;
}

static void probe_heap(ts_hooks_t *rec, rtm_heap_t *heap)
{
    if (rec->probe_heap_in_hook) {
        /* Takes the heap lock: deadlocks (posix) if the hook runs under it. */
        rtm_heap_info_t info;
        if (!rtm_heap_info(heap, &info) || !rtm_heap_check(heap, NULL)) {
            rec->probe_failures++;
        }
    }
}

void ts_on_alloc_failed(rtm_heap_t *heap, size_t size, size_t alignment,
                        rtm_fail_reason_t reason, void *ctx)
{
    ts_hooks_t *rec = ctx;
    rec->failed_calls++;
    rec->failed_heap = heap;
    rec->failed_size = size;
    rec->failed_alignment = alignment;
    rec->failed_reason = reason;
    probe_heap(rec, heap);
}

void ts_on_misuse(rtm_heap_t *heap, rtm_misuse_t kind, const void *address, void *ctx)
{
    ts_hooks_t *rec = ctx;
    rec->misuse_calls++;
    rec->misuse_heap = heap;
    rec->misuse_kind = kind;
    rec->misuse_address = address;
    probe_heap(rec, heap);
}

/* ------------------------------------------------------------------ */
/* Output capture                                                      */

static ts_output_t *g_output;

static void output_write(const char *text, size_t len, void *ctx)
{
    ts_output_t *out = ctx;
    out->writes++;
    out->last_len = len;
    size_t n = len < sizeof out->last - 1u ? len : sizeof out->last - 1u;
    memcpy(out->last, text, n);
    out->last[n] = '\0';
    size_t room = sizeof out->all - 1u - out->all_len;
    size_t m = len < room ? len : room;
    memcpy(out->all + out->all_len, text, m);
    out->all_len += m;
    out->all[out->all_len] = '\0';
}

void ts_output_capture(ts_output_t *out)
{
    memset(out, 0, sizeof *out);
    g_output = out;
    rtm_output_set(output_write, out);
}

void ts_output_release(void)
{
    g_output = NULL;
    rtm_output_set(NULL, NULL);
}

/* ------------------------------------------------------------------ */
/* PRNG                                                                */

void ts_rng_seed(ts_rng_t *rng, uint64_t seed)
{
    rng->state = seed;
}

uint64_t ts_rng_u64(ts_rng_t *rng)
{
    uint64_t z = (rng->state += UINT64_C(0x9e3779b97f4a7c15));
    z = (z ^ (z >> 30)) * UINT64_C(0xbf58476d1ce4e5b9);
    z = (z ^ (z >> 27)) * UINT64_C(0x94d049bb133111eb);
    return z ^ (z >> 31);
}

uint32_t ts_rng_u32(ts_rng_t *rng)
{
    return (uint32_t)(ts_rng_u64(rng) >> 32);
}

size_t ts_rng_range(ts_rng_t *rng, size_t lo, size_t hi)
{
    uint64_t span = (uint64_t)(hi - lo) + 1u;
    if (span == 0) { /* the whole 64-bit range */
        return (size_t)ts_rng_u64(rng);
    }
    return lo + (size_t)(ts_rng_u64(rng) % span);
}

static unsigned floor_log2(size_t v)
{
    unsigned n = 0;
    while (v > 1u) {
        v >>= 1;
        n++;
    }
    return n;
}

size_t ts_rng_log_uniform(ts_rng_t *rng, size_t lo, size_t hi)
{
    if (lo == 0) {
        lo = 1;
    }
    unsigned lo_bit = floor_log2(lo);
    unsigned hi_bit = floor_log2(hi);
    unsigned bit = lo_bit + (unsigned)ts_rng_range(rng, 0, hi_bit - lo_bit);
    size_t from = (size_t)1u << bit;
    size_t to = bit + 1u >= sizeof(size_t) * 8u ? SIZE_MAX : ((size_t)1u << (bit + 1u)) - 1u;
    if (from < lo) {
        from = lo;
    }
    if (to > hi) {
        to = hi;
    }
    return ts_rng_range(rng, from, to);
}

bool ts_rng_chance(ts_rng_t *rng, unsigned percent)
{
    return ts_rng_u64(rng) % 100u < percent;
}

size_t ts_rng_pow2(ts_rng_t *rng, size_t lo, size_t hi)
{
    unsigned a = floor_log2(lo);
    unsigned b = floor_log2(hi);
    return (size_t)1u << (a + (unsigned)ts_rng_range(rng, 0, b - a));
}

/* ------------------------------------------------------------------ */
/* Strategy traits                                                     */

bool ts_has_block_layout(rtm_strategy_id_t s)
{
    return s == RTM_TLSF || s == RTM_FIRST_FIT || s == RTM_BEST_FIT || s == RTM_BUMP;
}

bool ts_frees(rtm_strategy_id_t s)
{
    return s != RTM_BUMP;
}

bool ts_coalesces(rtm_strategy_id_t s)
{
    return s == RTM_TLSF || s == RTM_FIRST_FIT;
}

bool ts_largest_is_exact(rtm_strategy_id_t s)
{
    return s == RTM_TLSF || s == RTM_FIRST_FIT || s == RTM_BEST_FIT;
}

bool ts_shrinks_in_place(rtm_strategy_id_t s)
{
    return s == RTM_TLSF || s == RTM_FIRST_FIT || s == RTM_BEST_FIT;
}

bool ts_grows_in_place(rtm_strategy_id_t s)
{
    return s == RTM_TLSF || s == RTM_FIRST_FIT;
}

bool ts_strategy_available(rtm_strategy_id_t s)
{
    static _Alignas(RTM_HEAP_MEM_ALIGN) uint8_t probe[8];
    rtm_heap_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.strategy = rtm_strategy_by_id(s);
    /* Pure: only looks at the arguments. */
    return rtm_heap_init_error(probe, TS_ARENA_BYTES, &cfg) != RTM_ERR_UNSUPPORTED;
}

const char *ts_strategy_label(rtm_strategy_id_t s)
{
    switch (s) {
    case RTM_TLSF:
        return "tlsf";
    case RTM_FIRST_FIT:
        return "first_fit";
    case RTM_BEST_FIT:
        return "best_fit";
    case RTM_BUMP:
        return "bump";
    case RTM_SYSTEM:
        return "system";
    case RTM_STRATEGY_COUNT:
    default:
        return "unknown";
    }
}

/* ------------------------------------------------------------------ */
/* Heaps in static arenas                                              */

static _Alignas(TS_ARENA_ALIGN) uint8_t g_arenas[TS_SLOTS][TS_ARENA_BYTES];
static ts_heap_t g_slots[TS_SLOTS];
static ts_heap_opts_t g_slot_opts[TS_SLOTS];
static bool g_slot_busy[TS_SLOTS];

static size_t take_slot(void)
{
    for (size_t i = 0; i < TS_SLOTS; i++) {
        if (!g_slot_busy[i]) {
            g_slot_busy[i] = true;
            return i;
        }
    }
    ts_fail("all %u test heap slots are in use", (unsigned)TS_SLOTS);
    return 0;
}

static void slot_init(size_t i)
{
    ts_heap_t *th = &g_slots[i];
    const ts_heap_opts_t *o = &g_slot_opts[i];
    memset(th, 0, sizeof *th);
    th->arena = g_arenas[i];
    if (o->offset > TS_ARENA_BYTES || o->size > TS_ARENA_BYTES - o->offset) {
        ts_fail("test heap does not fit its arena (offset %zu, size %zu)", o->offset, o->size);
    }
    th->mem = th->arena + o->offset;
    th->size = o->size != 0 ? o->size : TS_ARENA_BYTES - o->offset;
    memset(g_arenas[i], TS_ARENA_FILL, TS_ARENA_BYTES);

    th->cfg.strategy = rtm_strategy_by_id(o->strategy);
    th->cfg.alignment = o->granularity;
    th->cfg.name = o->name != NULL ? o->name : "test";
    th->cfg.flags = o->flags;
    th->cfg.on_alloc_failed = ts_on_alloc_failed;
    th->cfg.on_misuse = o->default_misuse ? NULL : ts_on_misuse;
    th->cfg.hook_ctx = &th->rec;
    th->cfg.system_budget = o->system_budget != 0 ? o->system_budget : TS_SYSTEM_BUDGET;

    th->heap = rtm_heap_init(th->mem, th->size, &th->cfg);
    if (th->heap == NULL) {
        rtm_err_t e = rtm_heap_init_error(th->mem, th->size, &th->cfg);
        ts_fail("rtm_heap_init(%s, granularity %zu, size %zu) refused: %s (%d)",
                ts_strategy_label(o->strategy), o->granularity, th->size, rtm_err_str(e), (int)e);
    }
    if ((void *)th->heap != (void *)th->mem) {
        ts_fail("rtm_heap_init returned %p, not the region %p", (void *)th->heap, (void *)th->mem);
    }
    th->granularity = rtm_heap_alignment(th->heap);
    if (!rtm_heap_info(th->heap, &th->initial)) {
        ts_fail("rtm_heap_info failed on a new heap");
    }
}

ts_heap_t *ts_heap_open_ex(const ts_heap_opts_t *opts)
{
    size_t i = take_slot();
    g_slot_opts[i] = *opts;
    slot_init(i);
    return &g_slots[i];
}

ts_heap_t *ts_heap_open(rtm_strategy_id_t s, size_t granularity)
{
    ts_heap_opts_t o;
    memset(&o, 0, sizeof o);
    o.strategy = s;
    o.granularity = granularity;
    return ts_heap_open_ex(&o);
}

static size_t slot_of(const ts_heap_t *th)
{
    for (size_t i = 0; i < TS_SLOTS; i++) {
        if (th == &g_slots[i]) {
            return i;
        }
    }
    ts_fail("not a test heap slot");
    return 0;
}

void ts_heap_reopen(ts_heap_t *th)
{
    size_t i = slot_of(th);
    bool probe = th->rec.probe_heap_in_hook;
    unsigned period = th->shortcut_period;
    rtm_heap_deinit(th->heap);
    th->heap = NULL;
    slot_init(i);
    th->rec.probe_heap_in_hook = probe;
    th->shortcut_period = period;
}

void ts_heap_close(ts_heap_t *th)
{
    if (th == NULL) {
        return;
    }
    size_t i = slot_of(th);
    if (th->heap != NULL) {
        rtm_heap_deinit(th->heap);
        th->heap = NULL;
    }
    g_slot_busy[i] = false;
}

void ts_heap_close_all(void)
{
    for (size_t i = 0; i < TS_SLOTS; i++) {
        if (g_slot_busy[i]) {
            if (g_slots[i].heap != NULL) {
                rtm_heap_deinit(g_slots[i].heap);
                g_slots[i].heap = NULL;
            }
            g_slot_busy[i] = false;
        }
    }
    if (g_output != NULL) {
        ts_output_release();
    }
    ts_context(NULL);
}

int ts_teardown_close_all(void **state)
{
    (void)state;
    ts_heap_close_all();
    return 0;
}

uint8_t *ts_arena_reserve(void)
{
    size_t i = take_slot();
    memset(&g_slots[i], 0, sizeof g_slots[i]);
    memset(g_arenas[i], TS_ARENA_FILL, TS_ARENA_BYTES);
    return g_arenas[i];
}

/* ------------------------------------------------------------------ */
/* Statistics, walk, check                                             */

static bool walk_tally(const rtm_block_info_t *b, void *ctx)
{
    ts_walk_totals_t *t = ctx;
    if (t->blocks > 0 && (uintptr_t)b->ptr <= (uintptr_t)t->last_ptr) {
        t->ascending = false;
    }
    if (t->blocks == 0) {
        t->first = b->ptr;
    }
    t->last_ptr = b->ptr;
    t->blocks++;
    if (b->used) {
        t->used_blocks++;
        t->used_bytes += b->size;
    } else {
        t->free_blocks++;
        t->free_bytes += b->size;
        if (b->size > t->largest_free) {
            t->largest_free = b->size;
        }
    }
    return true;
}

void ts_walk_totals(rtm_heap_t *heap, ts_walk_totals_t *t)
{
    memset(t, 0, sizeof *t);
    t->ascending = true;
    t->ok = rtm_heap_walk(heap, walk_tally, t);
}

void ts_assert_heap_sane_at(ts_heap_t *th, rtm_heap_info_t *out, const char *file, int line)
{
    rtm_heap_t *h = th->heap;
    rtm_check_report_t rep = {NULL, NULL};
    if (!rtm_heap_check(h, &rep)) {
        ts_fail_at(file, line, "rtm_heap_check failed: %s at %p (heap %p)",
                   rep.problem != NULL ? rep.problem : "(no problem text)", rep.address,
                   (void *)h);
    }
    rtm_heap_info_t info;
    if (!rtm_heap_info(h, &info)) {
        ts_fail_at(file, line, "rtm_heap_info returned false");
    }
    if (info.free_bytes + info.allocated_bytes + info.overhead_bytes != info.total_bytes) {
        ts_fail_at(file, line, "free %zu + allocated %zu + overhead %zu != total %zu",
                   info.free_bytes, info.allocated_bytes, info.overhead_bytes, info.total_bytes);
    }
    if (info.total_bytes != th->initial.total_bytes) {
        ts_fail_at(file, line, "total_bytes changed from %zu to %zu", th->initial.total_bytes,
                   info.total_bytes);
    }
    if (info.min_free_bytes > info.free_bytes) {
        ts_fail_at(file, line, "min_free_bytes %zu > free_bytes %zu", info.min_free_bytes,
                   info.free_bytes);
    }
    if (info.largest_free_block > info.free_bytes) {
        ts_fail_at(file, line, "largest_free_block %zu > free_bytes %zu", info.largest_free_block,
                   info.free_bytes);
    }
    if ((info.free_blocks == 0) != (info.free_bytes == 0) && rtm_strategy_id(th->cfg.strategy) != RTM_SYSTEM) {
        ts_fail_at(file, line, "free_blocks %zu but free_bytes %zu", info.free_blocks,
                   info.free_bytes);
    }
    if (info.alloc_count - info.free_count != info.used_blocks) {
        ts_fail_at(file, line, "alloc_count %zu - free_count %zu != used_blocks %zu",
                   info.alloc_count, info.free_count, info.used_blocks);
    }
    if (th->shortcut_period <= 1u || th->sane_calls % th->shortcut_period == 0) {
        size_t v = rtm_heap_free_bytes(h);
        if (v != info.free_bytes) {
            ts_fail_at(file, line, "rtm_heap_free_bytes %zu != info %zu", v, info.free_bytes);
        }
        v = rtm_heap_min_free_bytes(h);
        if (v != info.min_free_bytes) {
            ts_fail_at(file, line, "rtm_heap_min_free_bytes %zu != info %zu", v,
                       info.min_free_bytes);
        }
        v = rtm_heap_largest_free(h);
        if (v != info.largest_free_block) {
            ts_fail_at(file, line, "rtm_heap_largest_free %zu != info %zu", v,
                       info.largest_free_block);
        }
    }
    th->sane_calls++;

    ts_walk_totals_t w;
    ts_walk_totals(h, &w);
    if (!w.ok) {
        ts_fail_at(file, line, "rtm_heap_walk returned false on a heap that passes check");
    }
    if (w.used_blocks != info.used_blocks || w.used_bytes != info.allocated_bytes) {
        ts_fail_at(file, line, "walk: %zu used blocks / %zu bytes, info: %zu / %zu",
                   w.used_blocks, w.used_bytes, info.used_blocks, info.allocated_bytes);
    }
    if (rtm_strategy_id(th->cfg.strategy) == RTM_SYSTEM) {
        /* The walk shows live blocks only (table order). */
        if (w.free_blocks != 0) {
            ts_fail_at(file, line, "RTM_SYSTEM walk reported %zu free blocks", w.free_blocks);
        }
    } else {
        if (w.free_blocks != info.free_blocks || w.free_bytes != info.free_bytes) {
            ts_fail_at(file, line, "walk: %zu free blocks / %zu bytes, info: %zu / %zu",
                       w.free_blocks, w.free_bytes, info.free_blocks, info.free_bytes);
        }
        /* Every free block can be allocated whole, except bump's padding
         * blocks (free space below an aligned block that it never reuses):
         * there largest_free_block is the tail, what one malloc can get.
         * With poisoning, walks show free blocks in strategy bytes while
         * largest_free_block is the largest request, which carries a head
         * (max(8, granularity)) and a 4-byte tail canary. */
        size_t walk_largest = w.largest_free;
#if defined(RTM_POISON_LEVEL) && RTM_POISON_LEVEL >= 1
        size_t poison = (th->granularity > 8u ? th->granularity : 8u) + 4u;
        walk_largest = walk_largest > poison ? walk_largest - poison : 0;
#endif
        if (ts_largest_is_exact(rtm_strategy_id(th->cfg.strategy)) ? walk_largest != info.largest_free_block
                                                  : walk_largest < info.largest_free_block) {
            ts_fail_at(file, line, "walk's largest free block %zu, info's %zu", w.largest_free,
                       info.largest_free_block);
        }
        if (!w.ascending) {
            ts_fail_at(file, line, "walk not in address order");
        }
    }
    if (out != NULL) {
        *out = info;
    }
}

void ts_assert_info_equal_at(const rtm_heap_info_t *a, const rtm_heap_info_t *b, const char *file,
                             int line)
{
#define TS_FIELD(f)                                                                     \
    if (a->f != b->f) {                                                                 \
        ts_fail_at(file, line, "info." #f " changed: %zu -> %zu", a->f, b->f);          \
    }
    TS_FIELD(total_bytes)
    TS_FIELD(free_bytes)
    TS_FIELD(allocated_bytes)
    TS_FIELD(overhead_bytes)
    TS_FIELD(min_free_bytes)
    TS_FIELD(largest_free_block)
    TS_FIELD(used_blocks)
    TS_FIELD(free_blocks)
    TS_FIELD(alloc_count)
    TS_FIELD(free_count)
    TS_FIELD(failed_count)
#undef TS_FIELD
}

/* ------------------------------------------------------------------ */
/* Hook expectations                                                   */

void ts_expect_misuse_at(ts_heap_t *th, unsigned kinds_mask, const void *address, const char *file,
                         int line)
{
    ts_hooks_t *r = &th->rec;
    if (r->misuse_calls != 1) {
        ts_fail_at(file, line, "misuse hook called %u times, expected once (for %p)",
                   r->misuse_calls, address);
    }
    if ((kinds_mask & TS_MISUSE_BIT(r->misuse_kind)) == 0) {
        ts_fail_at(file, line, "misuse kind %d (%s) not among the expected (mask 0x%x)",
                   (int)r->misuse_kind, rtm_misuse_str(r->misuse_kind), kinds_mask);
    }
    if (r->misuse_address != address) {
        ts_fail_at(file, line, "misuse reported at %p, expected %p", r->misuse_address, address);
    }
    if (r->misuse_heap != th->heap) {
        ts_fail_at(file, line, "misuse hook got heap %p, expected %p", (void *)r->misuse_heap,
                   (void *)th->heap);
    }
    if (r->failed_calls != 0) {
        ts_fail_at(file, line, "failed-allocation hook called %u times alongside a misuse",
                   r->failed_calls);
    }
    if (r->probe_failures != 0) {
        ts_fail_at(file, line, "heap unusable from inside the hook");
    }
    ts_hooks_clear(r);
}

void ts_expect_failure_at(ts_heap_t *th, unsigned reasons_mask, const char *file, int line)
{
    ts_hooks_t *r = &th->rec;
    if (r->failed_calls != 1) {
        ts_fail_at(file, line, "failed-allocation hook called %u times, expected once",
                   r->failed_calls);
    }
    if ((reasons_mask & TS_REASON_BIT(r->failed_reason)) == 0) {
        ts_fail_at(file, line, "failure reason %d (%s) not among the expected (mask 0x%x)",
                   (int)r->failed_reason, rtm_fail_reason_str(r->failed_reason), reasons_mask);
    }
    if (r->failed_heap != th->heap) {
        ts_fail_at(file, line, "failed hook got heap %p, expected %p", (void *)r->failed_heap,
                   (void *)th->heap);
    }
    if (r->misuse_calls != 0) {
        ts_fail_at(file, line, "misuse hook called %u times (kind %s) alongside a failure",
                   r->misuse_calls, rtm_misuse_str(r->misuse_kind));
    }
    if (r->probe_failures != 0) {
        ts_fail_at(file, line, "heap unusable from inside the hook");
    }
    ts_hooks_clear(r);
}

void ts_expect_no_hooks_at(ts_heap_t *th, const char *file, int line)
{
    ts_hooks_t *r = &th->rec;
    if (r->failed_calls != 0) {
        ts_fail_at(file, line, "unexpected failed-allocation hook call(s): %u, last reason %s size %zu",
                   r->failed_calls, rtm_fail_reason_str(r->failed_reason), r->failed_size);
    }
    if (r->misuse_calls != 0) {
        ts_fail_at(file, line, "unexpected misuse hook call(s): %u, last %s at %p", r->misuse_calls,
                   rtm_misuse_str(r->misuse_kind), r->misuse_address);
    }
}

/* ------------------------------------------------------------------ */
/* Patterns                                                            */

#define PATTERN_SPAN (128u * 1024u)
#define PATTERN_OFFSETS 4093u /* prime: seeds spread over many offsets */

static uint8_t g_pattern[PATTERN_SPAN + PATTERN_OFFSETS];
static bool g_pattern_ready;

void ts_pattern_prepare(void)
{
    if (!g_pattern_ready) {
        ts_rng_t r;
        ts_rng_seed(&r, UINT64_C(0x5eed0fa11ce));
        for (size_t i = 0; i < sizeof g_pattern; i++) {
            g_pattern[i] = (uint8_t)ts_rng_u32(&r);
        }
        g_pattern_ready = true;
    }
}

static const uint8_t *pattern_of(uint32_t seed, size_t n)
{
    ts_pattern_prepare();
    if (n > PATTERN_SPAN) {
        ts_fail("pattern of %zu bytes requested, at most %u", n, (unsigned)PATTERN_SPAN);
    }
    return g_pattern + (seed % PATTERN_OFFSETS);
}

void ts_pattern_fill(void *p, size_t n, uint32_t seed)
{
    if (n > 0) {
        memcpy(p, pattern_of(seed, n), n);
    }
}

size_t ts_pattern_check(const void *p, size_t n, uint32_t seed)
{
    if (n == 0) {
        return 0;
    }
    const uint8_t *want = pattern_of(seed, n);
    if (memcmp(p, want, n) == 0) {
        return n;
    }
    const uint8_t *got = p;
    size_t i = 0;
    while (i < n && got[i] == want[i]) {
        i++;
    }
    return i;
}

/* ------------------------------------------------------------------ */
/* Live-block model                                                    */

void ts_live_init(ts_live_t *live)
{
    live->n = 0;
    live->next_seed = 1;
}

ts_block_t *ts_live_add_at(ts_live_t *live, ts_heap_t *th, void *p, size_t req, size_t align,
                           const char *file, int line)
{
    if (p == NULL) {
        ts_fail_at(file, line, "allocation of %zu bytes (alignment %zu) returned NULL", req, align);
    }
    if (live->n >= TS_MAX_LIVE) {
        ts_fail_at(file, line, "live-block model full");
    }
    size_t need = align > th->granularity ? align : th->granularity;
    if (((uintptr_t)p & (uintptr_t)(need - 1u)) != 0) {
        ts_fail_at(file, line, "%p is not aligned to %zu", p, need);
    }
    size_t usable = rtm_usable_size(th->heap, p);
    if (usable < req) {
        ts_fail_at(file, line, "usable size %zu < requested %zu for %p", usable, req, p);
    }
    if (rtm_strategy_id(th->cfg.strategy) == RTM_SYSTEM && usable != req) {
        ts_fail_at(file, line, "RTM_SYSTEM usable size %zu != requested %zu", usable, req);
    }
    ts_block_t *b = &live->b[live->n++];
    b->ptr = p;
    b->req = req;
    b->usable = usable;
    b->align = need;
    b->seed = live->next_seed++;
    ts_pattern_fill(p, usable, b->seed);
    return b;
}

size_t ts_live_find(const ts_live_t *live, const void *p)
{
    for (size_t i = 0; i < live->n; i++) {
        if (live->b[i].ptr == p) {
            return i;
        }
    }
    return SIZE_MAX;
}

void ts_live_remove(ts_live_t *live, size_t i)
{
    live->b[i] = live->b[live->n - 1u];
    live->n--;
}

size_t ts_live_bytes(const ts_live_t *live)
{
    size_t sum = 0;
    for (size_t i = 0; i < live->n; i++) {
        sum += live->b[i].usable;
    }
    return sum;
}

void ts_live_verify_at(const ts_live_t *live, ts_heap_t *th, const rtm_heap_info_t *given,
                       const char *file, int line)
{
    bool in_region = ts_has_block_layout(rtm_strategy_id(th->cfg.strategy));
    uintptr_t lo = (uintptr_t)th->mem;
    uintptr_t hi = lo + th->size;
    unsigned misuse_before = th->rec.misuse_calls;
    for (size_t i = 0; i < live->n; i++) {
        const ts_block_t *b = &live->b[i];
        size_t ok = ts_pattern_check(b->ptr, b->usable, b->seed);
        if (ok != b->usable) {
            ts_fail_at(file, line,
                       "block %p (%zu usable, requested %zu) damaged at offset %zu: 0x%02x", 
                       (void *)b->ptr, b->usable, b->req, ok, b->ptr[ok]);
        }
        if (((uintptr_t)b->ptr & (uintptr_t)(b->align - 1u)) != 0) {
            ts_fail_at(file, line, "%p not aligned to %zu", (void *)b->ptr, b->align);
        }
        size_t u = rtm_usable_size(th->heap, b->ptr);
        if (u != b->usable) {
            ts_fail_at(file, line, "rtm_usable_size(%p) is %zu, was %zu", (void *)b->ptr, u,
                       b->usable);
        }
        if (in_region && ((uintptr_t)b->ptr < lo + 4u || (uintptr_t)b->ptr + b->usable > hi)) {
            ts_fail_at(file, line, "block %p..+%zu outside the region %p..+%zu", (void *)b->ptr,
                       b->usable, (void *)th->mem, th->size);
        }
    }
    if (th->rec.misuse_calls != misuse_before) {
        ts_fail_at(file, line, "rtm_usable_size of a live block reported misuse %s",
                   rtm_misuse_str(th->rec.misuse_kind));
    }
    /* Block-layout strategies: the 4-byte header before a payload must not
     * overlap another block either. */
    ts_assert_no_overlap_at(live->b, live->n, in_region ? 4u : 0u, file, line);

    rtm_heap_info_t info;
    if (given != NULL) {
        info = *given;
    } else if (!rtm_heap_info(th->heap, &info)) {
        ts_fail_at(file, line, "rtm_heap_info returned false");
    }
    if (info.used_blocks != live->n) {
        ts_fail_at(file, line, "used_blocks %zu, model has %zu live blocks", info.used_blocks,
                   live->n);
    }
    size_t bytes = ts_live_bytes(live);
    if (info.allocated_bytes != bytes) {
        ts_fail_at(file, line, "allocated_bytes %zu, model's usable sizes sum to %zu",
                   info.allocated_bytes, bytes);
    }
}

void ts_live_free_all(ts_live_t *live, ts_heap_t *th)
{
    while (live->n > 0) {
        rtm_free(th->heap, live->b[live->n - 1u].ptr);
        live->n--;
    }
}

typedef struct range {
    uintptr_t lo;
    uintptr_t hi;
} range_t;

static range_t g_ranges[TS_MAX_LIVE];

static int range_cmp(const void *a, const void *b)
{
    const range_t *x = a;
    const range_t *y = b;
    return (x->lo > y->lo) - (x->lo < y->lo);
}

void ts_assert_no_overlap_at(const ts_block_t *blocks, size_t n, size_t before, const char *file,
                             int line)
{
    if (n > TS_MAX_LIVE) {
        ts_fail_at(file, line, "too many blocks for the overlap check");
    }
    for (size_t i = 0; i < n; i++) {
        g_ranges[i].lo = (uintptr_t)blocks[i].ptr - before;
        g_ranges[i].hi = (uintptr_t)blocks[i].ptr + blocks[i].usable;
    }
    qsort(g_ranges, n, sizeof g_ranges[0], range_cmp);
    for (size_t i = 1; i < n; i++) {
        if (g_ranges[i].lo < g_ranges[i - 1u].hi) {
            ts_fail_at(file, line,
                       "blocks overlap: [%p, %p) and [%p, %p) (ranges include %zu header bytes)",
                       (void *)g_ranges[i - 1u].lo, (void *)g_ranges[i - 1u].hi,
                       (void *)g_ranges[i].lo, (void *)g_ranges[i].hi, before);
        }
    }
}
