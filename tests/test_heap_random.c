/*
 * Model-based randomized test of the heap API, for every strategy and the
 * granularities 4, 8 and 16.
 *
 * A fixed seed per configuration drives a few thousand random operations
 * (malloc with log-uniform sizes and occasional big ones, calloc,
 * aligned_alloc, realloc up and down, free, and a sprinkle of misuse and
 * edge cases) in alternating fill and drain phases, so the heap is taken
 * to exhaustion and back many times. A model keeps every live block
 * (pointer, requested and usable size, pattern seed). After every step:
 * rtm_heap_check passes, every live block still holds its pattern, is
 * aligned and overlaps no other, and the info counters equal the model's.
 *
 * Environment (optional): RTM_RANDOM_SEED=<n> replaces every
 * configuration's seed, RTM_RANDOM_OPS=<n> the number of operations.
 * A failure prints the seed, the step and the operation.
 */
#include "support/test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#define DEFAULT_OPS 5000u
#define HEAP_BYTES (32u * 1024u)
#define SYSTEM_BUDGET (24u * 1024u)
#define SYSTEM_REGION (8u * 1024u) /* table of ~500 slots: plenty, cheap to check */
#define PHASE_LEN 300u

#define EXHAUSTION_REASONS                                                             \
    (TS_REASON_BIT(RTM_FAIL_NO_MEMORY) | TS_REASON_BIT(RTM_FAIL_FRAGMENTED) |         \
     TS_REASON_BIT(RTM_FAIL_TOO_LARGE) | TS_REASON_BIT(RTM_FAIL_TABLE_FULL))

typedef struct rcfg {
    rtm_strategy_id_t strategy;
    size_t granularity;
    uint64_t seed;
} rcfg_t;

static const rcfg_t k_configs[] = {
    {RTM_TLSF, 4, 0x7101u},      {RTM_TLSF, 8, 0x7102u},      {RTM_TLSF, 16, 0x7103u},
    {RTM_FIRST_FIT, 4, 0xF101u}, {RTM_FIRST_FIT, 8, 0xF102u}, {RTM_FIRST_FIT, 16, 0xF103u},
    {RTM_BEST_FIT, 4, 0xB101u},  {RTM_BEST_FIT, 8, 0xB102u},  {RTM_BEST_FIT, 16, 0xB103u},
    {RTM_BUMP, 4, 0xB401u},      {RTM_BUMP, 8, 0xB402u},      {RTM_BUMP, 16, 0xB403u},
    {RTM_SYSTEM, 8, 0x5501u},    {RTM_SYSTEM, 16, 0x5502u},
};

typedef struct run {
    ts_heap_t *th;
    rtm_strategy_id_t s;
    size_t gran;
    uint64_t seed;
    ts_rng_t rng;
    unsigned step;
    const char *op;
    size_t allocs;   /* expected alloc_count */
    size_t frees;    /* expected free_count */
    size_t failed;   /* expected failed_count */
    size_t min_free; /* min_free_bytes after the previous step */
    size_t restarts; /* bump heaps restarted */
    size_t failures_seen;
    size_t moves_seen;
    size_t in_place_seen;
    size_t misuse_seen;
    rtm_heap_info_t last; /* info after the previous step: the state before this one */
} run_t;

static ts_live_t g_live;

static void set_context(const run_t *r, const char *op, size_t a, size_t b)
{
    ts_context("seed 0x%llx strategy %s granularity %zu step %u op %s(%zu, %zu) live %zu",
               (unsigned long long)r->seed, ts_strategy_label(r->s), r->gran, r->step, op, a, b,
               g_live.n);
}

static rtm_heap_info_t info_now(const run_t *r)
{
    rtm_heap_info_t info;
    if (!rtm_heap_info(r->th->heap, &info)) {
        ts_fail("rtm_heap_info failed");
    }
    return info;
}

/* Exactly `failed` failed-hook calls and `misuse` misuse calls this step. */
static void expect_hook_counts(run_t *r, unsigned failed, unsigned misuse)
{
    ts_hooks_t *rec = &r->th->rec;
    if (rec->failed_calls != failed || rec->misuse_calls != misuse) {
        ts_fail("hooks: %u failed-allocation calls (last %s), %u misuse calls (last %s at %p); "
                "expected %u and %u",
                rec->failed_calls, rtm_fail_reason_str(rec->failed_reason), rec->misuse_calls,
                rtm_misuse_str(rec->misuse_kind), rec->misuse_address, failed, misuse);
    }
    if (rec->failed_heap != NULL && rec->failed_heap != r->th->heap) {
        ts_fail("failed hook got another heap");
    }
    if (rec->misuse_heap != NULL && rec->misuse_heap != r->th->heap) {
        ts_fail("misuse hook got another heap");
    }
    ts_hooks_clear(rec);
}

/* The reason a plain (granularity-aligned) allocation of n bytes must give
 * when it fails, from the info before it (heap.h: TOO_LARGE "cannot fit
 * this heap at all", NO_MEMORY "fewer free bytes than requested",
 * FRAGMENTED "enough free bytes, but no free block fits"). */
static unsigned plain_reason_mask(const run_t *r, size_t n, const rtm_heap_info_t *before)
{
    if (n > r->th->initial.largest_free_block) {
        return TS_REASON_BIT(RTM_FAIL_TOO_LARGE);
    }
    if (n > before->free_bytes) {
        return TS_REASON_BIT(RTM_FAIL_NO_MEMORY);
    }
    if (r->s == RTM_SYSTEM) {
        /* libc may refuse too, or the table may be full. */
        return TS_REASON_BIT(RTM_FAIL_TABLE_FULL) | TS_REASON_BIT(RTM_FAIL_NO_MEMORY);
    }
    return TS_REASON_BIT(RTM_FAIL_FRAGMENTED);
}

/* Strategies for which malloc(n) fails exactly when n > largest_free. */
static bool largest_decides(rtm_strategy_id_t s)
{
    return ts_largest_is_exact(s) || s == RTM_BUMP;
}

static void restart_bump(run_t *r)
{
    ts_heap_reopen(r->th);
    ts_live_init(&g_live);
    r->allocs = r->frees = r->failed = 0;
    r->min_free = r->th->initial.min_free_bytes;
    r->last = r->th->initial;
    r->restarts++;
}

/* After a plain allocation (malloc, calloc, realloc(NULL), aligned_alloc
 * at or below the granularity) of n bytes returned p. */
static void after_plain_alloc(run_t *r, void *p, size_t n, size_t zeroed,
                              const rtm_heap_info_t *before)
{
    ts_hooks_t *rec = &r->th->rec;
    if (p == NULL) {
        r->failed++;
        r->failures_seen++;
        if (rec->failed_calls != 1) {
            ts_fail("allocation failed with %u failed-hook calls", rec->failed_calls);
        }
        if (rec->failed_size != n) {
            ts_fail("failed hook size %zu, asked for %zu", rec->failed_size, n);
        }
        unsigned mask = plain_reason_mask(r, n, before);
        if ((TS_REASON_BIT(rec->failed_reason) & mask) == 0) {
            ts_fail("reason %s for %zu bytes (free %zu, largest %zu, initial largest %zu)",
                    rtm_fail_reason_str(rec->failed_reason), n, before->free_bytes,
                    before->largest_free_block, r->th->initial.largest_free_block);
        }
        if (n <= before->largest_free_block) {
            ts_fail("allocation of %zu failed (%s) though largest_free_block was %zu", n,
                    rtm_fail_reason_str(rec->failed_reason), before->largest_free_block);
        }
        expect_hook_counts(r, 1, 0);
        return;
    }
    if (largest_decides(r->s) && n > before->largest_free_block) {
        ts_fail("allocation of %zu succeeded though largest_free_block was %zu", n,
                before->largest_free_block);
    }
    for (size_t j = 0; j < zeroed; j++) {
        if (((const uint8_t *)p)[j] != 0) {
            ts_fail("calloc block byte %zu is 0x%02x", j, ((const uint8_t *)p)[j]);
        }
    }
    r->allocs++;
    expect_hook_counts(r, 0, 0);
    (void)ts_live_add(&g_live, r->th, p, n, 0);
}

static size_t random_size(run_t *r)
{
    if (ts_rng_chance(&r->rng, 3)) {
        return ts_rng_range(&r->rng, 4096, HEAP_BYTES + 1024u); /* big, maybe too big */
    }
    return ts_rng_log_uniform(&r->rng, 1, 4096);
}

static void op_malloc(run_t *r)
{
    size_t n = random_size(r);
    set_context(r, "malloc", n, 0);
    rtm_heap_info_t before = r->last;
    void *p = rtm_malloc(r->th->heap, n);
    after_plain_alloc(r, p, n, 0, &before);
}

static void op_calloc(run_t *r)
{
    size_t count = ts_rng_range(&r->rng, 1, 8);
    size_t size = ts_rng_log_uniform(&r->rng, 1, 512);
    set_context(r, "calloc", count, size);
    rtm_heap_info_t before = r->last;
    void *p = rtm_calloc(r->th->heap, count, size);
    after_plain_alloc(r, p, count * size, count * size, &before);
}

static void op_aligned(run_t *r)
{
    size_t a = ts_rng_pow2(&r->rng, 16, 512);
    size_t n = ts_rng_log_uniform(&r->rng, 1, 2048);
    set_context(r, "aligned_alloc", a, n);
    rtm_heap_info_t before = r->last;
    void *p = rtm_aligned_alloc(r->th->heap, a, n);
    if (a <= r->gran) {
        after_plain_alloc(r, p, n, 0, &before);
        return;
    }
    ts_hooks_t *rec = &r->th->rec;
    if (p == NULL) {
        r->failed++;
        r->failures_seen++;
        if (rec->failed_calls != 1 || rec->failed_size != n || rec->failed_alignment != a) {
            ts_fail("failed hook: %u calls, size %zu, alignment %zu", rec->failed_calls,
                    rec->failed_size, rec->failed_alignment);
        }
        if ((TS_REASON_BIT(rec->failed_reason) & EXHAUSTION_REASONS) == 0) {
            ts_fail("aligned_alloc failed with reason %s", rtm_fail_reason_str(rec->failed_reason));
        }
        if (n > before.free_bytes && rec->failed_reason == RTM_FAIL_FRAGMENTED) {
            ts_fail("FRAGMENTED for %zu bytes with only %zu free", n, before.free_bytes);
        }
        expect_hook_counts(r, 1, 0);
        return;
    }
    if (largest_decides(r->s) && n > before.largest_free_block) {
        ts_fail("aligned_alloc of %zu succeeded though largest_free_block was %zu", n,
                before.largest_free_block);
    }
    r->allocs++;
    expect_hook_counts(r, 0, 0);
    (void)ts_live_add(&g_live, r->th, p, n, a);
}

/* What the block physically after p looks like (block-layout strategies). */
typedef struct next_info {
    const void *target;
    bool found;
    bool have_next;
    bool next_free;
    size_t next_size;
} next_info_t;

static bool find_next(const rtm_block_info_t *b, void *ctx)
{
    next_info_t *n = ctx;
    if (n->found) {
        n->have_next = true;
        n->next_free = !b->used;
        n->next_size = b->size;
        return false;
    }
    if (b->ptr == n->target) {
        n->found = true;
    }
    return true;
}

static void op_realloc(run_t *r)
{
    if (g_live.n == 0) {
        op_malloc(r);
        return;
    }
    size_t i = ts_rng_range(&r->rng, 0, g_live.n - 1u);
    ts_block_t old = g_live.b[i];
    size_t n;
    if (ts_rng_chance(&r->rng, 50)) {
        n = ts_rng_range(&r->rng, 1, old.req); /* shrink (or same) */
    } else {
        n = ts_rng_range(&r->rng, old.req + 1u, old.req * 2u + 64u); /* grow */
        if (ts_rng_chance(&r->rng, 5)) {
            n = ts_rng_range(&r->rng, 4096, HEAP_BYTES);
        }
    }
    set_context(r, "realloc", old.req, n);

    /* Can it grow in place? (TLSF and first-fit promise it when the next
     * block is free and large enough.) */
    bool must_stay = n <= old.usable; /* every shrink is in place */
    if (!must_stay && ts_grows_in_place(r->s)) {
        next_info_t ni;
        memset(&ni, 0, sizeof ni);
        ni.target = old.ptr;
        (void)rtm_heap_walk(r->th->heap, find_next, &ni);
        if (!ni.found) {
            ts_fail("live block %p missing from the walk", (void *)old.ptr);
        }
        if (ni.have_next && ni.next_free) {
            size_t joined = old.usable + 4u + ni.next_size + 4u;
            size_t need = (n + 4u + r->gran - 1u) & ~(r->gran - 1u);
            must_stay = need <= joined;
        }
    }

    rtm_heap_info_t before = r->last;
    void *q = rtm_realloc(r->th->heap, old.ptr, n);
    ts_hooks_t *rec = &r->th->rec;
    if (q == NULL) {
        r->failed++;
        r->failures_seen++;
        if (must_stay) {
            ts_fail("realloc %zu -> %zu failed (%s) though it fits in place", old.req, n,
                    rtm_fail_reason_str(rec->failed_reason));
        }
        if (rec->failed_calls != 1 || rec->failed_size != n) {
            ts_fail("failed hook: %u calls, size %zu", rec->failed_calls, rec->failed_size);
        }
        /* The old block is still held while a new one is sought, so the
         * reason follows from the free bytes before the call. */
        if ((TS_REASON_BIT(rec->failed_reason) & plain_reason_mask(r, n, &before)) == 0) {
            ts_fail("realloc failed with reason %s (free %zu, largest %zu)",
                    rtm_fail_reason_str(rec->failed_reason), before.free_bytes,
                    before.largest_free_block);
        }
        if (largest_decides(r->s) && n <= before.largest_free_block) {
            ts_fail("realloc to %zu failed though largest_free_block was %zu", n,
                    before.largest_free_block);
        }
        expect_hook_counts(r, 1, 0);
        return; /* the old block is checked with all the others */
    }
    expect_hook_counts(r, 0, 0);
    size_t keep = old.req < n ? old.req : n;
    size_t ok = ts_pattern_check(q, keep, old.seed);
    if (ok != keep) {
        ts_fail("realloc %zu -> %zu lost contents at offset %zu (moved: %s)", old.req, n, ok,
                q != (void *)old.ptr ? "yes" : "no");
    }
    if (must_stay && q != (void *)old.ptr) {
        ts_fail("realloc %zu -> %zu moved the block although it fits in place", old.req, n);
    }
    if (q != (void *)old.ptr) {
        if (largest_decides(r->s) && n > before.largest_free_block) {
            ts_fail("realloc moved %zu bytes into a free block larger than the largest (%zu)", n,
                    before.largest_free_block);
        }
        r->moves_seen++;
        r->allocs++;
        if (ts_frees(r->s)) {
            r->frees++;
            ts_live_remove(&g_live, i);
        }
        /* bump: the old block stays live and intact */
    } else {
        r->in_place_seen++;
        ts_live_remove(&g_live, i);
        if (n <= old.usable && ts_shrinks_in_place(r->s) &&
            old.usable - n >= 64u + r->gran) {
            size_t u = rtm_usable_size(r->th->heap, q);
            if (u >= old.usable) {
                ts_fail("shrink %zu -> %zu kept all %zu usable bytes", old.req, n, old.usable);
            }
        }
    }
    (void)ts_live_add(&g_live, r->th, q, n, 0);
}

static void op_free(run_t *r)
{
    if (g_live.n == 0) {
        op_malloc(r);
        return;
    }
    size_t i = ts_rng_range(&r->rng, 0, g_live.n - 1u);
    void *p = g_live.b[i].ptr;
    set_context(r, "free", g_live.b[i].req, 0);
    if (!ts_frees(r->s)) {
        rtm_heap_info_t before = r->last;
        rtm_free(r->th->heap, p);
        ts_expect_misuse(r->th, RTM_MISUSE_FREE_REFUSED, p);
        rtm_heap_info_t after = info_now(r);
        ts_assert_info_equal(&before, &after);
        r->misuse_seen++;
        return;
    }
    rtm_free(r->th->heap, p);
    r->frees++;
    ts_live_remove(&g_live, i);
    expect_hook_counts(r, 0, 0);
    if (ts_rng_chance(&r->rng, 4)) {
        /* Immediate double free: reported, no effect. */
        set_context(r, "double free", 0, 0);
        rtm_heap_info_t before = info_now(r);
        rtm_free(r->th->heap, p);
        unsigned kinds = TS_MISUSE_BIT(RTM_MISUSE_DOUBLE_FREE) |
                         TS_MISUSE_BIT(RTM_MISUSE_INVALID_POINTER);
        if (r->s == RTM_SYSTEM) {
            kinds = TS_MISUSE_BIT(RTM_MISUSE_FOREIGN_POINTER);
        }
        ts_expect_misuse_any(r->th, kinds, p);
        rtm_heap_info_t after = info_now(r);
        ts_assert_info_equal(&before, &after);
        r->misuse_seen++;
    }
}

static void op_misc(run_t *r)
{
    unsigned k = (unsigned)ts_rng_range(&r->rng, 0, 6);
    rtm_heap_info_t before = r->last;
    switch (k) {
    case 0: { /* realloc(NULL, n) = malloc */
        size_t n = ts_rng_log_uniform(&r->rng, 1, 1024);
        set_context(r, "realloc(NULL)", n, 0);
        void *p = rtm_realloc(r->th->heap, NULL, n);
        after_plain_alloc(r, p, n, 0, &before);
        return;
    }
    case 1: { /* realloc(p, 0) = free */
        if (g_live.n == 0) {
            return;
        }
        size_t i = ts_rng_range(&r->rng, 0, g_live.n - 1u);
        void *p = g_live.b[i].ptr;
        set_context(r, "realloc(p, 0)", g_live.b[i].req, 0);
        if (rtm_realloc(r->th->heap, p, 0) != NULL) {
            ts_fail("realloc(p, 0) returned non-NULL");
        }
        if (ts_frees(r->s)) {
            r->frees++;
            ts_live_remove(&g_live, i);
            expect_hook_counts(r, 0, 0);
        } else {
            ts_expect_misuse(r->th, RTM_MISUSE_FREE_REFUSED, p);
            r->misuse_seen++;
        }
        return;
    }
    case 2: /* size 0 and NULL: nothing happens */
        set_context(r, "malloc(0)/free(NULL)", 0, 0);
        if (rtm_malloc(r->th->heap, 0) != NULL) {
            ts_fail("malloc(0) returned non-NULL");
        }
        rtm_free(r->th->heap, NULL);
        expect_hook_counts(r, 0, 0);
        {
            rtm_heap_info_t after = info_now(r);
            ts_assert_info_equal(&before, &after);
        }
        return;
    case 3: /* reset the low-water mark */
        set_context(r, "reset_min_free", 0, 0);
        rtm_heap_reset_min_free(r->th->heap);
        {
            rtm_heap_info_t after = info_now(r);
            if (after.min_free_bytes != after.free_bytes) {
                ts_fail("after reset, min_free %zu != free %zu", after.min_free_bytes,
                        after.free_bytes);
            }
            r->min_free = after.min_free_bytes;
        }
        return;
    case 4: { /* foreign pointer */
        int local = 0;
        set_context(r, "free(foreign)", 0, 0);
        rtm_free(r->th->heap, &local);
        ts_expect_misuse(r->th, RTM_MISUSE_FOREIGN_POINTER, &local);
        r->misuse_seen++;
        break;
    }
    case 5: { /* misaligned pointer into a live block */
        if (g_live.n == 0) {
            return;
        }
        size_t i = ts_rng_range(&r->rng, 0, g_live.n - 1u);
        uint8_t *x = g_live.b[i].ptr + 1;
        set_context(r, "free(p + 1)", g_live.b[i].req, 0);
        rtm_free(r->th->heap, x);
        ts_expect_misuse(r->th,
                         r->s == RTM_SYSTEM ? RTM_MISUSE_FOREIGN_POINTER
                                            : RTM_MISUSE_INVALID_POINTER,
                         x);
        r->misuse_seen++;
        break;
    }
    default: { /* invalid alignment */
        set_context(r, "aligned_alloc(bad)", 24, 16);
        if (rtm_aligned_alloc(r->th->heap, 24, 16) != NULL) {
            ts_fail("aligned_alloc with alignment 24 succeeded");
        }
        ts_expect_failure(r->th, RTM_FAIL_BAD_ALIGNMENT);
        r->failed++;
        before.failed_count++;
        break;
    }
    }
    rtm_heap_info_t after = info_now(r);
    ts_assert_info_equal(&before, &after);
}

/* Everything the model knows, after every step. */
static void verify(run_t *r)
{
    rtm_heap_info_t info;
    ts_assert_heap_sane(r->th, &info); /* check, invariants, walk totals */
    ts_live_verify_with(&g_live, r->th, &info); /* contents, alignment, overlap, used/allocated */
    if (info.alloc_count != r->allocs || info.free_count != r->frees ||
        info.failed_count != r->failed) {
        ts_fail("counts alloc/free/failed %zu/%zu/%zu, model %zu/%zu/%zu", info.alloc_count,
                info.free_count, info.failed_count, r->allocs, r->frees, r->failed);
    }
    if (info.min_free_bytes > r->min_free) {
        ts_fail("min_free_bytes rose from %zu to %zu", r->min_free, info.min_free_bytes);
    }
    r->min_free = info.min_free_bytes;
    r->last = info;
    expect_hook_counts(r, 0, 0);
}

static unsigned env_unsigned(const char *name, unsigned dflt)
{
    const char *v = getenv(name);
    if (v == NULL || *v == '\0') {
        return dflt;
    }
    return (unsigned)strtoul(v, NULL, 0);
}

static void test_random(void **state)
{
    const rcfg_t *cfg = *state;
    if (!ts_strategy_available(cfg->strategy)) {
        print_message("      %s not compiled in: skipped\n", ts_strategy_label(cfg->strategy));
        skip();
    }
    run_t r;
    memset(&r, 0, sizeof r);
    r.s = cfg->strategy;
    r.gran = cfg->granularity;
    r.seed = cfg->seed;
    const char *env_seed = getenv("RTM_RANDOM_SEED");
    if (env_seed != NULL && *env_seed != '\0') {
        r.seed = strtoull(env_seed, NULL, 0);
    }
    unsigned ops = env_unsigned("RTM_RANDOM_OPS", DEFAULT_OPS);
    ts_rng_seed(&r.rng, r.seed);

    ts_heap_opts_t o;
    memset(&o, 0, sizeof o);
    o.strategy = r.s;
    o.granularity = r.gran;
    o.size = r.s == RTM_SYSTEM ? SYSTEM_REGION : HEAP_BYTES;
    o.offset = 8u * (size_t)(r.seed % 8u); /* region start aligned to 8 only, sometimes */
    o.system_budget = SYSTEM_BUDGET;
    r.th = ts_heap_open_ex(&o);
    r.th->shortcut_period = 16;
    r.min_free = r.th->initial.min_free_bytes;
    r.last = r.th->initial;
    ts_live_init(&g_live);

    for (r.step = 0; r.step < ops; r.step++) {
        bool fill = (r.step / PHASE_LEN) % 2u == 0;
        unsigned x = (unsigned)ts_rng_range(&r.rng, 0, 99);
        /* fill: 40 malloc, 8 calloc, 10 aligned, 17 realloc, 20 free, 5 misc
         * drain: 15 malloc, 4 calloc, 5 aligned, 16 realloc, 55 free, 5 misc */
        static const unsigned fill_cut[] = {40, 48, 58, 75, 95};
        static const unsigned drain_cut[] = {15, 19, 24, 40, 95};
        const unsigned *cut = fill ? fill_cut : drain_cut;
        size_t live_before = g_live.n;
        size_t failed_before = r.failed;
        if (x < cut[0]) {
            op_malloc(&r);
        } else if (x < cut[1]) {
            op_calloc(&r);
        } else if (x < cut[2]) {
            op_aligned(&r);
        } else if (x < cut[3]) {
            op_realloc(&r);
        } else if (x < cut[4]) {
            op_free(&r);
        } else {
            op_misc(&r);
        }
        verify(&r);
        /* Bump never frees: start over when it is (nearly) full. */
        if (r.s == RTM_BUMP && r.failed > failed_before && g_live.n <= live_before &&
            info_now(&r).largest_free_block < 2048u) {
            restart_bump(&r);
            verify(&r);
        }
    }
    ts_context(NULL);
    print_message("      seed 0x%llx: %u ops, %zu failures, %zu moves, %zu in place, "
                  "%zu misuse, %zu restarts, %zu live at end\n",
                  (unsigned long long)r.seed, ops, r.failures_seen, r.moves_seen,
                  r.in_place_seen, r.misuse_seen, r.restarts, g_live.n);
    if (r.failures_seen == 0) {
        ts_fail("the run never exhausted the heap: the test is too weak for this config");
    }
    if (ts_frees(r.s)) {
        ts_live_free_all(&g_live, r.th);
        r.frees = info_now(&r).free_count;
        rtm_heap_info_t info;
        ts_assert_heap_sane(r.th, &info);
        if (info.used_blocks != 0 || info.allocated_bytes != 0) {
            ts_fail("after freeing everything: %zu used blocks, %zu bytes", info.used_blocks,
                    info.allocated_bytes);
        }
        if (ts_coalesces(r.s) &&
            (info.free_blocks != 1 ||
             info.largest_free_block != r.th->initial.largest_free_block)) {
            ts_fail("after freeing everything: %zu free blocks, largest %zu (initially %zu)",
                    info.free_blocks, info.largest_free_block, r.th->initial.largest_free_block);
        }
    }
    ts_heap_close(r.th);
}

int main(void)
{
    static struct CMUnitTest tests[TS_ARRAY_LEN(k_configs)];
    static char names[TS_ARRAY_LEN(k_configs)][48];
    for (size_t i = 0; i < TS_ARRAY_LEN(k_configs); i++) {
        (void)snprintf(names[i], sizeof names[i], "%s/granularity_%zu",
                       ts_strategy_label(k_configs[i].strategy), k_configs[i].granularity);
        tests[i].name = names[i];
        tests[i].test_func = test_random;
        tests[i].setup_func = NULL;
        tests[i].teardown_func = ts_teardown_close_all;
        tests[i].initial_state = (void *)(uintptr_t)&k_configs[i];
    }
    return cmocka_run_group_tests_name("rtmem heap randomized model", tests, NULL, NULL);
}
