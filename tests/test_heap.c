/*
 * Conformance suite for include/rtmem/heap.h, run once per strategy.
 *
 * Every test is registered once for each strategy (names "tlsf/...",
 * "first_fit/...", ...). A test that a strategy documents it does not
 * support is skipped for it, and the refusal is tested instead where the
 * contract says what it is (free on bump: RTM_MISUSE_FREE_REFUSED).
 * RTM_SYSTEM tests are skipped when the library was built without it (its
 * init test then checks RTM_ERR_UNSUPPORTED).
 */
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* alarm(), pthreads */
#endif

#include "support/test_support.h"

/* The strategy's ops table, to count what the front asks of it. */
#include "strategy/strategy.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#if defined(RTM_PORT_POSIX)
#include <pthread.h>
#include <unistd.h>
#endif

#define ALL_REASONS_OF_EXHAUSTION                                                      \
    (TS_REASON_BIT(RTM_FAIL_NO_MEMORY) | TS_REASON_BIT(RTM_FAIL_FRAGMENTED) |         \
     TS_REASON_BIT(RTM_FAIL_TOO_LARGE) | TS_REASON_BIT(RTM_FAIL_TABLE_FULL))

static const rtm_strategy_id_t k_strategies[] = {RTM_TLSF, RTM_FIRST_FIT, RTM_BEST_FIT, RTM_BUMP,
                                                 RTM_SYSTEM};

/* The strategy of this test instance; skips the test when the library was
 * built without it. */
static rtm_strategy_id_t begin(void **state)
{
    rtm_strategy_id_t s = *(const rtm_strategy_id_t *)*state;
    ts_context("strategy %s", ts_strategy_label(s));
    if (!ts_strategy_available(s)) {
        print_message("      %s not compiled in: skipped\n", ts_strategy_label(s));
        skip();
    }
    return s;
}

/* The misuse kinds a strategy can report for a pointer it does not hold:
 * RTM_SYSTEM only knows its live-block table, so to it every pointer that
 * is not live is foreign. */
static unsigned kinds_for(rtm_strategy_id_t s, rtm_misuse_t kind)
{
    unsigned mask = TS_MISUSE_BIT(kind);
    if (s == RTM_SYSTEM && (kind == RTM_MISUSE_DOUBLE_FREE || kind == RTM_MISUSE_INVALID_POINTER)) {
        mask |= TS_MISUSE_BIT(RTM_MISUSE_FOREIGN_POINTER);
    }
    return mask;
}

static rtm_heap_info_t info_of(rtm_heap_t *h)
{
    rtm_heap_info_t info;
    memset(&info, 0, sizeof info);
    assert_true(rtm_heap_info(h, &info));
    return info;
}

static ts_live_t g_live;

/* Replaces model entry i after rtm_realloc(ptr, size) returned q (non-NULL):
 * checks the kept contents and the counters, then refills. */
static void model_realloc(ts_live_t *live, ts_heap_t *th, size_t i, void *q, size_t size,
                          const rtm_heap_info_t *before)
{
    ts_block_t old = live->b[i];
    assert_non_null(q);
    size_t keep = old.req < size ? old.req : size;
    size_t ok = ts_pattern_check(q, keep, old.seed);
    if (ok != keep) {
        ts_fail("realloc %zu -> %zu lost contents at offset %zu", old.req, size, ok);
    }
    rtm_heap_info_t after = info_of(th->heap);
    bool moved = q != (void *)old.ptr;
    if (moved) {
        assert_int_equal(after.alloc_count, before->alloc_count + 1u);
        if (ts_frees(rtm_strategy_id(th->cfg.strategy))) {
            assert_int_equal(after.free_count, before->free_count + 1u);
            ts_live_remove(live, i);
        } else {
            /* Bump never frees: the old block stays live and intact. */
            assert_int_equal(after.free_count, before->free_count);
        }
    } else {
        assert_int_equal(after.alloc_count, before->alloc_count);
        assert_int_equal(after.free_count, before->free_count);
        ts_live_remove(live, i);
    }
    (void)ts_live_add(live, th, q, size, 0);
}

/* Everything freed: the free bytes are back (best-fit does not merge, so
 * there every free block beyond the first keeps its 4-byte header). */
static void assert_free_restored(const ts_heap_t *th, const rtm_heap_info_t *info)
{
    assert_int_equal(info->used_blocks, 0);
    assert_int_equal(info->allocated_bytes, 0);
    if (rtm_strategy_id(th->cfg.strategy) == RTM_BEST_FIT) {
        assert_true(info->free_blocks >= 1u);
        if (info->free_bytes + 4u * (info->free_blocks - 1u) != th->initial.free_bytes) {
            ts_fail("best-fit: %zu free bytes in %zu blocks, initially %zu in 1", info->free_bytes,
                    info->free_blocks, th->initial.free_bytes);
        }
    } else if (info->free_bytes != th->initial.free_bytes) {
        ts_fail("free bytes %zu after freeing everything, initially %zu", info->free_bytes,
                th->initial.free_bytes);
    }
}

/* ------------------------------------------------------------------ */
/* init                                                                */

static void check_untouched(const uint8_t *p, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != TS_ARENA_FILL) {
            ts_fail("a refused rtm_heap_init wrote to its memory (offset %zu)", i);
        }
    }
}

static void test_init_arguments(void **state)
{
    rtm_strategy_id_t s = *(const rtm_strategy_id_t *)*state;
    ts_context("strategy %s", ts_strategy_label(s));
    uint8_t *arena = ts_arena_reserve();
    rtm_heap_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.strategy = rtm_strategy_by_id(s);
    cfg.system_budget = TS_SYSTEM_BUDGET;

    if (!ts_strategy_available(s)) {
        assert_int_equal(rtm_heap_init_error(arena, TS_ARENA_BYTES, &cfg), RTM_ERR_UNSUPPORTED);
        assert_null(rtm_heap_init(arena, TS_ARENA_BYTES, &cfg));
        check_untouched(arena, 256);
        return;
    }

    size_t min = rtm_heap_min_size(&cfg);
    assert_true(min > 0);
    assert_true(min < TS_ARENA_BYTES / 4u);

    assert_int_equal(rtm_heap_init_error(NULL, TS_ARENA_BYTES, &cfg), RTM_ERR_NULL);
    assert_null(rtm_heap_init(NULL, TS_ARENA_BYTES, &cfg));

    static const size_t misaligned[] = {1, 2, 3, 4, 7};
    for (size_t i = 0; i < TS_ARRAY_LEN(misaligned); i++) {
        uint8_t *m = arena + misaligned[i];
        assert_int_equal(rtm_heap_init_error(m, TS_ARENA_BYTES - 8u, &cfg), RTM_ERR_MISALIGNED);
        assert_null(rtm_heap_init(m, TS_ARENA_BYTES - 8u, &cfg));
    }
    check_untouched(arena, 256);

    assert_int_equal(rtm_heap_init_error(arena, 0, &cfg), RTM_ERR_TOO_SMALL);
    assert_int_equal(rtm_heap_init_error(arena, min - 1u, &cfg), RTM_ERR_TOO_SMALL);
    assert_null(rtm_heap_init(arena, min - 1u, &cfg));
    check_untouched(arena, 256);

    static const size_t bad_align[] = {1, 2, 3, 6, 12, 24, 100};
    for (size_t i = 0; i < TS_ARRAY_LEN(bad_align); i++) {
        rtm_heap_config_t c = cfg;
        c.alignment = bad_align[i];
        assert_int_equal(rtm_heap_init_error(arena, TS_ARENA_BYTES, &c), RTM_ERR_BAD_ALIGNMENT);
        assert_null(rtm_heap_init(arena, TS_ARENA_BYTES, &c));
    }
    check_untouched(arena, 256);

    static const unsigned bad_ids[] = {(unsigned)RTM_STRATEGY_COUNT, 99u, 0xffffffffu};
    for (size_t i = 0; i < TS_ARRAY_LEN(bad_ids); i++) {
        /* No object for an id that names no strategy. */
        assert_null(rtm_strategy_by_id((rtm_strategy_id_t)bad_ids[i]));
    }
    assert_int_equal(rtm_strategy_id(NULL), RTM_STRATEGY_COUNT);
    check_untouched(arena, 256);

#if SIZE_MAX > UINT32_MAX
    if (ts_has_block_layout(s)) {
        /* Pure: nothing at arena is touched, whatever the size claims. */
        size_t huge = (size_t)UINT32_MAX + 4096u * 1024u;
        assert_int_equal(rtm_heap_init_error(arena, huge, &cfg), RTM_ERR_TOO_LARGE);
    }
#endif

    /* rtm_heap_min_size is exact for every granularity, at any 8-aligned
     * placement: min accepted (and holds a minimum block), min - 1 refused. */
    static const size_t grans[] = {0, 4, 8, 16, 64};
    static const size_t offsets[] = {0, 8, 16, 24, 32, 40, 48, 56};
    for (size_t gi = 0; gi < TS_ARRAY_LEN(grans); gi++) {
        rtm_heap_config_t c = cfg;
        c.alignment = grans[gi];
        size_t gmin = rtm_heap_min_size(&c);
        assert_true(gmin > 0);
        for (size_t oi = 0; oi < TS_ARRAY_LEN(offsets); oi++) {
            uint8_t *m = arena + offsets[oi];
            ts_context("strategy %s granularity %zu offset %zu min %zu", ts_strategy_label(s),
                       grans[gi], offsets[oi], gmin);
            if (rtm_heap_init_error(m, gmin - 1u, &c) != RTM_ERR_TOO_SMALL) {
                ts_fail("min_size - 1 not refused as too small");
            }
            assert_null(rtm_heap_init(m, gmin - 1u, &c));
            if (rtm_heap_init_error(m, gmin, &c) != RTM_OK) {
                ts_fail("min_size refused: %s", rtm_err_str(rtm_heap_init_error(m, gmin, &c)));
            }
            rtm_heap_t *h = rtm_heap_init(m, gmin, &c);
            if (h == NULL) {
                ts_fail("rtm_heap_init refused rtm_heap_min_size() bytes though "
                        "rtm_heap_init_error said RTM_OK");
            }
            assert_ptr_equal(h, m);
            assert_true(rtm_heap_check(h, NULL));
            void *p = rtm_malloc(h, 1);
            if (p == NULL) {
                ts_fail("a heap of rtm_heap_min_size() bytes cannot hold one 1-byte block");
            }
            size_t g = rtm_heap_alignment(h);
            assert_int_equal(g, grans[gi] == 0 ? (size_t)RTM_DEFAULT_ALIGN : grans[gi]);
            assert_int_equal((uintptr_t)p & (g - 1u), 0);
            assert_true(rtm_usable_size(h, p) >= 1u);
            assert_true(rtm_heap_check(h, NULL));
            if (ts_frees(s)) {
                rtm_free(h, p);
                assert_true(rtm_heap_check(h, NULL));
            }
            rtm_heap_deinit(h);
        }
    }
    ts_context("strategy %s", ts_strategy_label(s));

    /* Accessors and the config copy. */
    memset(arena, TS_ARENA_FILL, 64);
    rtm_heap_config_t c = cfg;
    static const char name[] = "named";
    c.name = name;
    c.alignment = 16;
    rtm_heap_t *h = rtm_heap_init(arena, TS_ARENA_BYTES, &c);
    assert_non_null(h);
    memset(&c, 0, sizeof c); /* the heap keeps a copy */
    assert_int_equal(rtm_heap_strategy(h), s);
    assert_ptr_equal(rtm_heap_name(h), name);
    assert_int_equal(rtm_heap_alignment(h), 16);
    rtm_heap_info_t info = info_of(h);
    if (s == RTM_SYSTEM) {
        assert_int_equal(info.total_bytes, (size_t)TS_ARENA_BYTES + TS_SYSTEM_BUDGET);
    } else {
        assert_int_equal(info.total_bytes, TS_ARENA_BYTES);
    }
    rtm_heap_deinit(h);

    c = cfg;
    c.name = NULL;
    h = rtm_heap_init(arena, TS_ARENA_BYTES, &c);
    assert_non_null(h);
    assert_string_equal(rtm_heap_name(h), "heap");
    assert_int_equal(rtm_heap_alignment(h), RTM_DEFAULT_ALIGN);
    rtm_heap_deinit(h);

    if (s == RTM_TLSF) {
        /* cfg NULL: TLSF, default alignment, name "heap". */
        rtm_heap_config_t zero;
        memset(&zero, 0, sizeof zero);
        assert_int_equal(rtm_heap_min_size(NULL), rtm_heap_min_size(&zero));
        assert_int_equal(rtm_heap_init_error(arena, TS_ARENA_BYTES, NULL), RTM_OK);
        h = rtm_heap_init(arena, TS_ARENA_BYTES, NULL);
        assert_non_null(h);
        assert_int_equal(rtm_heap_strategy(h), RTM_TLSF);
        assert_int_equal(rtm_heap_alignment(h), RTM_DEFAULT_ALIGN);
        assert_string_equal(rtm_heap_name(h), "heap");
        void *p = rtm_malloc(h, 10);
        assert_non_null(p);
        rtm_free(h, p);
        assert_true(rtm_heap_check(h, NULL));
        rtm_heap_deinit(h);
    }

    /* RTM_HEAP_NO_LOCK heaps work the same single-threaded. */
    c = cfg;
    c.flags = RTM_HEAP_NO_LOCK;
    h = rtm_heap_init(arena, TS_ARENA_BYTES, &c);
    assert_non_null(h);
    void *p = rtm_malloc(h, 100);
    assert_non_null(p);
    assert_true(rtm_heap_check(h, NULL));
    if (ts_frees(s)) {
        rtm_free(h, p);
        info = info_of(h);
        assert_int_equal(info.used_blocks, 0);
        assert_int_equal(info.free_count, 1);
    }
    rtm_heap_deinit(h);
}

static void check_strings(const char *(*fn)(int), const int *valid, size_t n, const char *what)
{
    for (size_t i = 0; i < n; i++) {
        const char *a = fn(valid[i]);
        if (a == NULL || a[0] == '\0') {
            ts_fail("%s(%d) is NULL or empty", what, valid[i]);
        }
        for (size_t j = 0; j < i; j++) {
            if (strcmp(a, fn(valid[j])) == 0) {
                ts_fail("%s(%d) and %s(%d) are both \"%s\"", what, valid[i], what, valid[j], a);
            }
        }
    }
    static const int bogus[] = {-1, 99, 12345};
    for (size_t i = 0; i < TS_ARRAY_LEN(bogus); i++) {
        const char *a = fn(bogus[i]);
        if (a == NULL || a[0] == '\0') {
            ts_fail("%s(%d) is NULL or empty", what, bogus[i]);
        }
    }
}

static const char *err_str_i(int v)
{
    return rtm_err_str((rtm_err_t)v);
}
static const char *misuse_str_i(int v)
{
    return rtm_misuse_str((rtm_misuse_t)v);
}
static const char *fail_str_i(int v)
{
    return rtm_fail_reason_str((rtm_fail_reason_t)v);
}
static const char *strategy_name_i(int v)
{
    return rtm_strategy_name((rtm_strategy_id_t)v);
}

static void test_strings(void **state)
{
    rtm_strategy_id_t s = begin(state);
    static const int errs[] = {RTM_OK, RTM_ERR_NULL, RTM_ERR_MISALIGNED, RTM_ERR_TOO_SMALL,
                               RTM_ERR_TOO_LARGE, RTM_ERR_BAD_ALIGNMENT, RTM_ERR_BAD_STRATEGY,
                               RTM_ERR_UNSUPPORTED, RTM_ERR_PORT};
    static const int misuses[] = {RTM_MISUSE_FOREIGN_POINTER, RTM_MISUSE_INVALID_POINTER,
                                  RTM_MISUSE_DOUBLE_FREE, RTM_MISUSE_FREE_REFUSED,
                                  RTM_MISUSE_CORRUPT_BLOCK};
    static const int fails[] = {RTM_FAIL_NO_MEMORY, RTM_FAIL_FRAGMENTED, RTM_FAIL_TOO_LARGE,
                                RTM_FAIL_OVERFLOW, RTM_FAIL_BAD_ALIGNMENT, RTM_FAIL_TABLE_FULL};
    static const int strategies[] = {RTM_TLSF, RTM_FIRST_FIT, RTM_BEST_FIT, RTM_BUMP, RTM_SYSTEM};
    check_strings(err_str_i, errs, TS_ARRAY_LEN(errs), "rtm_err_str");
    check_strings(misuse_str_i, misuses, TS_ARRAY_LEN(misuses), "rtm_misuse_str");
    check_strings(fail_str_i, fails, TS_ARRAY_LEN(fails), "rtm_fail_reason_str");
    check_strings(strategy_name_i, strategies, TS_ARRAY_LEN(strategies), "rtm_strategy_name");
    assert_non_null(rtm_misuse_str((rtm_misuse_t)0));
    assert_non_null(rtm_fail_reason_str((rtm_fail_reason_t)0));
    assert_non_null(rtm_strategy_name(RTM_STRATEGY_COUNT));
    assert_non_null(rtm_err_str((rtm_err_t)RTM_STRATEGY_COUNT));
    (void)s;
}

/* ------------------------------------------------------------------ */
/* NULL heap, NULL arguments, size 0                                   */

static bool count_blocks(const rtm_block_info_t *b, void *ctx)
{
    (void)b;
    (*(size_t *)ctx)++;
    return true;
}

static void test_null_heap(void **state)
{
    rtm_strategy_id_t s = begin(state);
    int local = 0;
    rtm_heap_info_t info;
    rtm_check_report_t rep = {NULL, NULL};
    size_t n = 0;

    assert_null(rtm_malloc(NULL, 16));
    assert_null(rtm_calloc(NULL, 2, 16));
    assert_null(rtm_aligned_alloc(NULL, 16, 16));
    assert_null(rtm_aligned_alloc(NULL, 3, 16));
    assert_null(rtm_realloc(NULL, NULL, 16));
    assert_null(rtm_realloc(NULL, &local, 16));
    rtm_free(NULL, &local);
    rtm_free(NULL, NULL);
    assert_int_equal(rtm_usable_size(NULL, &local), 0);
    assert_false(rtm_heap_info(NULL, &info));
    assert_int_equal(rtm_heap_free_bytes(NULL), 0);
    assert_int_equal(rtm_heap_min_free_bytes(NULL), 0);
    assert_int_equal(rtm_heap_largest_free(NULL), 0);
    rtm_heap_reset_min_free(NULL);
    assert_false(rtm_heap_walk(NULL, count_blocks, &n));
    assert_int_equal(n, 0);
    assert_false(rtm_heap_check(NULL, &rep));
    assert_false(rtm_heap_check(NULL, NULL));
    rtm_heap_set_hooks(NULL, ts_on_alloc_failed, ts_on_misuse, NULL);
    rtm_heap_deinit(NULL);
    assert_int_equal(rtm_heap_alignment(NULL), 0);
    (void)rtm_heap_name(NULL);
    (void)rtm_heap_strategy(NULL);
    assert_int_equal(local, 0);

    /* NULL arguments on a real heap. */
    ts_heap_t *th = ts_heap_open(s, 0);
    rtm_heap_info_t before;
    ts_assert_heap_sane(th, &before);
    assert_false(rtm_heap_info(th->heap, NULL));
    assert_false(rtm_heap_walk(th->heap, NULL, NULL));
    assert_true(rtm_heap_check(th->heap, NULL));
    rtm_free(th->heap, NULL); /* ignored, not misuse */
    ts_expect_no_hooks(th);
    rtm_heap_info_t after;
    ts_assert_heap_sane(th, &after);
    ts_assert_info_equal(&before, &after);
}

static void test_size_zero(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    rtm_heap_info_t before, after;
    ts_assert_heap_sane(th, &before);

    /* size 0 gives NULL and is not a failure: no count, no hook. */
    assert_null(rtm_malloc(th->heap, 0));
    assert_null(rtm_realloc(th->heap, NULL, 0)); /* = rtm_malloc(0) */
    assert_null(rtm_calloc(th->heap, 0, 16));    /* = rtm_malloc(0 * 16) */
    assert_null(rtm_calloc(th->heap, 16, 0));
    ts_expect_no_hooks(th);
    ts_assert_heap_sane(th, &after);
    ts_assert_info_equal(&before, &after);
}

/* ------------------------------------------------------------------ */
/* Alignment                                                           */

static void test_alignment_granularity(void **state)
{
    rtm_strategy_id_t s = begin(state);
    static const size_t grans[] = {4, 8, 16, 64};
    static const size_t offsets[] = {0, 8}; /* region start 4 KiB- or only 8-aligned */
    static const size_t sizes[] = {1,  2,  3,  4,  5,  7,   8,   9,   15,  16,  17,  31,  32,
                                   33, 63, 64, 65, 100, 127, 128, 129, 255, 256, 257, 1000};
    for (size_t gi = 0; gi < TS_ARRAY_LEN(grans); gi++) {
        for (size_t oi = 0; oi < TS_ARRAY_LEN(offsets); oi++) {
            ts_context("strategy %s granularity %zu offset %zu", ts_strategy_label(s), grans[gi],
                       offsets[oi]);
            ts_heap_opts_t o;
            memset(&o, 0, sizeof o);
            o.strategy = s;
            o.granularity = grans[gi];
            o.offset = offsets[oi];
            ts_heap_t *th = ts_heap_open_ex(&o);
            assert_int_equal(th->granularity, grans[gi]);
            ts_live_init(&g_live);
            for (size_t i = 0; i < TS_ARRAY_LEN(sizes); i++) {
                (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, sizes[i]), sizes[i], 0);
                ts_live_verify(&g_live, th);
            }
            for (size_t i = 0; i < 5; i++) {
                size_t sz = sizes[i * 3u];
                void *p = rtm_calloc(th->heap, 3, sz);
                (void)ts_live_add(&g_live, th, p, 3u * sz, 0);
            }
            if (ts_frees(s)) {
                /* Free every other block, allocate again into the holes. */
                for (size_t i = g_live.n; i-- > 0;) {
                    if (i % 2u == 0) {
                        rtm_free(th->heap, g_live.b[i].ptr);
                        ts_live_remove(&g_live, i);
                    }
                }
                ts_live_verify(&g_live, th);
                for (size_t i = 0; i < TS_ARRAY_LEN(sizes); i += 2u) {
                    (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, sizes[i]), sizes[i], 0);
                }
            }
            /* Realloc results keep the granularity. */
            for (size_t i = 0; i < 4 && i < g_live.n; i++) {
                rtm_heap_info_t before = info_of(th->heap);
                size_t nsz = g_live.b[i].req * 3u + 5u;
                void *q = rtm_realloc(th->heap, g_live.b[i].ptr, nsz);
                model_realloc(&g_live, th, i, q, nsz, &before);
            }
            ts_live_verify(&g_live, th);
            ts_expect_no_hooks(th);
            ts_assert_heap_sane(th, NULL);
            if (ts_frees(s)) {
                ts_live_free_all(&g_live, th);
                ts_assert_heap_sane(th, NULL);
                ts_expect_no_hooks(th);
            }
            ts_heap_close(th);
        }
    }
}

static void test_aligned_alloc(void **state)
{
    rtm_strategy_id_t s = begin(state);
    static const size_t grans[] = {8, 16};
    static const size_t sizes[] = {1, 24, 100, 1000};
    for (size_t gi = 0; gi < TS_ARRAY_LEN(grans); gi++) {
        ts_heap_t *th = ts_heap_open(s, grans[gi]);
        for (size_t a = 16; a <= 4096u; a *= 2u) {
            ts_context("strategy %s granularity %zu alignment %zu", ts_strategy_label(s),
                       grans[gi], a);
            if (!ts_frees(s)) {
                ts_heap_reopen(th); /* padding would exhaust a bump heap */
            }
            ts_live_init(&g_live);
            for (size_t i = 0; i < TS_ARRAY_LEN(sizes); i++) {
                void *p = rtm_aligned_alloc(th->heap, a, sizes[i]);
                (void)ts_live_add(&g_live, th, p, sizes[i], a);
                ts_live_verify(&g_live, th);
                ts_assert_heap_sane(th, NULL);
                /* A plain block between aligned ones. */
                (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, 40), 40, 0);
            }
            ts_live_verify(&g_live, th);
            ts_expect_no_hooks(th);
            if (ts_frees(s)) {
                ts_live_free_all(&g_live, th);
                ts_assert_heap_sane(th, NULL);
                rtm_heap_info_t info = info_of(th->heap);
                if (ts_coalesces(s)) {
                    assert_int_equal(info.free_bytes, th->initial.free_bytes);
                    assert_int_equal(info.free_blocks, 1);
                }
            }
        }
        ts_context("strategy %s granularity %zu", ts_strategy_label(s), grans[gi]);

        /* Alignments at or below the granularity are valid and cost
         * nothing more than rtm_malloc. */
        static const size_t small_align[] = {1, 2, 4, 8};
        for (size_t i = 0; i < TS_ARRAY_LEN(small_align); i++) {
            /* Both measured on a fresh heap. */
            ts_heap_reopen(th);
            rtm_heap_info_t i0 = info_of(th->heap);
            void *p = rtm_malloc(th->heap, 52);
            assert_non_null(p);
            rtm_heap_info_t i1 = info_of(th->heap);
            ts_heap_reopen(th);
            rtm_heap_info_t i2 = info_of(th->heap);
            void *q = rtm_aligned_alloc(th->heap, small_align[i], 52);
            assert_non_null(q);
            assert_int_equal((uintptr_t)q & (th->granularity - 1u), 0);
            rtm_heap_info_t i3 = info_of(th->heap);
            assert_int_equal(i0.free_bytes - i1.free_bytes, i2.free_bytes - i3.free_bytes);
            assert_int_equal(i1.overhead_bytes - i0.overhead_bytes,
                             i3.overhead_bytes - i2.overhead_bytes);
            assert_int_equal(i1.allocated_bytes, i3.allocated_bytes);
            ts_expect_no_hooks(th);
        }

        /* Invalid alignments: NULL, RTM_FAIL_BAD_ALIGNMENT, failed_count++. */
        static const size_t bad[] = {0, 3, 24, 48, 100, 4097, SIZE_MAX};
        for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
            rtm_heap_info_t before, after;
            ts_assert_heap_sane(th, &before);
            assert_null(rtm_aligned_alloc(th->heap, bad[i], 64));
            assert_int_equal(th->rec.failed_alignment, bad[i]);
            ts_expect_failure(th, RTM_FAIL_BAD_ALIGNMENT);
            ts_assert_heap_sane(th, &after);
            before.failed_count++;
            ts_assert_info_equal(&before, &after);
        }

        /* An alignment no region this size can satisfy fails cleanly. */
        if (s != RTM_SYSTEM) {
            rtm_heap_info_t before, after;
            ts_assert_heap_sane(th, &before);
#if SIZE_MAX > UINT32_MAX
            size_t huge = (size_t)1u << 40;
#else
            size_t huge = (size_t)1u << 31;
#endif
            assert_null(rtm_aligned_alloc(th->heap, huge, 16));
            ts_expect_failure_any(th, TS_REASON_BIT(RTM_FAIL_NO_MEMORY) |
                                          TS_REASON_BIT(RTM_FAIL_FRAGMENTED) |
                                          TS_REASON_BIT(RTM_FAIL_TOO_LARGE));
            ts_assert_heap_sane(th, &after);
            before.failed_count++;
            ts_assert_info_equal(&before, &after);
        }
        ts_heap_close(th);
    }
}

/* ------------------------------------------------------------------ */
/* Overlap and patterns                                                */

static void test_no_overlap(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    ts_rng_t rng;
    ts_rng_seed(&rng, 0xC0FFEEu + (uint64_t)s);
    ts_live_init(&g_live);
    for (unsigned step = 0; step < 600; step++) {
        ts_context("strategy %s step %u live %zu", ts_strategy_label(s), step, g_live.n);
        bool do_free = ts_frees(s) && g_live.n > 0 && (g_live.n > 60 || ts_rng_chance(&rng, 40));
        if (do_free) {
            size_t i = ts_rng_range(&rng, 0, g_live.n - 1u);
            rtm_free(th->heap, g_live.b[i].ptr);
            ts_live_remove(&g_live, i);
        } else {
            size_t sz = ts_rng_log_uniform(&rng, 1, 700);
            void *p = rtm_malloc(th->heap, sz);
            if (p == NULL) {
                if (ts_frees(s)) {
                    ts_fail("malloc(%zu) failed with %zu live blocks", sz, g_live.n);
                }
                ts_expect_failure_any(th, ALL_REASONS_OF_EXHAUSTION);
                break; /* bump is full */
            }
            (void)ts_live_add(&g_live, th, p, sz, 0);
        }
        ts_live_verify(&g_live, th);
        ts_assert_heap_sane(th, NULL);
    }
    ts_expect_no_hooks(th);
}

/* ------------------------------------------------------------------ */
/* calloc                                                              */

static void test_calloc_zeroes(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    static const size_t sizes[] = {16, 100, 1000, 3000, 5};
    static const size_t counts[] = {1, 10, 7, 3, 3};

    /* Dirty the heap: (the arena starts filled with TS_ARENA_FILL) blocks
     * filled with 0xFF, then freed. */
    if (ts_frees(s)) {
        void *dirty[TS_ARRAY_LEN(sizes)];
        for (size_t i = 0; i < TS_ARRAY_LEN(sizes); i++) {
            dirty[i] = rtm_malloc(th->heap, sizes[i] * counts[i]);
            assert_non_null(dirty[i]);
            memset(dirty[i], 0xFF, rtm_usable_size(th->heap, dirty[i]));
        }
        for (size_t i = 0; i < TS_ARRAY_LEN(sizes); i++) {
            rtm_free(th->heap, dirty[i]);
        }
    }
    for (size_t i = 0; i < TS_ARRAY_LEN(sizes); i++) {
        size_t n = sizes[i] * counts[i];
        rtm_heap_info_t before = info_of(th->heap);
        uint8_t *p = rtm_calloc(th->heap, counts[i], sizes[i]);
        assert_non_null(p);
        assert_int_equal((uintptr_t)p & (th->granularity - 1u), 0);
        assert_true(rtm_usable_size(th->heap, p) >= n);
        for (size_t j = 0; j < n; j++) {
            if (p[j] != 0) {
                ts_fail("calloc(%zu, %zu) byte %zu is 0x%02x", counts[i], sizes[i], j, p[j]);
            }
        }
        rtm_heap_info_t after = info_of(th->heap);
        assert_int_equal(after.alloc_count, before.alloc_count + 1u);
        memset(p, 0xFF, n); /* dirty again for the next one */
        if (ts_frees(s)) {
            rtm_free(th->heap, p);
        }
    }
    ts_expect_no_hooks(th);

    /* Overflow of count * size. */
    static const size_t ovf[][2] = {
        {SIZE_MAX / 2u + 1u, 2}, {2, SIZE_MAX / 2u + 1u}, {SIZE_MAX, SIZE_MAX},
        {SIZE_MAX / 16u + 1u, 16},
        {(size_t)1u << (sizeof(size_t) * 4u), (size_t)1u << (sizeof(size_t) * 4u)},
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(ovf); i++) {
        rtm_heap_info_t before, after;
        ts_assert_heap_sane(th, &before);
        assert_null(rtm_calloc(th->heap, ovf[i][0], ovf[i][1]));
        ts_expect_failure(th, RTM_FAIL_OVERFLOW);
        ts_assert_heap_sane(th, &after);
        before.failed_count++;
        ts_assert_info_equal(&before, &after);
    }

    /* No overflow, but far too large: TOO_LARGE. */
    rtm_heap_info_t before, after;
    ts_assert_heap_sane(th, &before);
    assert_null(rtm_calloc(th->heap, 1024, 1024));
    ts_expect_failure(th, RTM_FAIL_TOO_LARGE);
    ts_assert_heap_sane(th, &after);
    before.failed_count++;
    ts_assert_info_equal(&before, &after);
}

static void test_huge_requests(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    /* Sizes near the limits of size_t and of the 32-bit block offsets must
     * not wrap into small requests. */
    const size_t huge[] = {SIZE_MAX, SIZE_MAX - 1u, SIZE_MAX - 7u, SIZE_MAX / 2u,
                           (size_t)UINT32_MAX, (size_t)UINT32_MAX - 3u, (size_t)UINT32_MAX - 8u,
                           TS_ARENA_BYTES, TS_ARENA_BYTES + 1u};
    for (size_t i = 0; i < TS_ARRAY_LEN(huge); i++) {
        ts_context("strategy %s size %zu", ts_strategy_label(s), huge[i]);
        rtm_heap_info_t before, after;
        ts_assert_heap_sane(th, &before);
        assert_null(rtm_malloc(th->heap, huge[i]));
        ts_expect_failure(th, RTM_FAIL_TOO_LARGE);
        assert_null(rtm_aligned_alloc(th->heap, 64, huge[i]));
        ts_expect_failure(th, RTM_FAIL_TOO_LARGE);
        ts_assert_heap_sane(th, &after);
        before.failed_count += 2u;
        ts_assert_info_equal(&before, &after);
    }
    /* The hook is told the size asked for. */
    assert_null(rtm_malloc(th->heap, SIZE_MAX - 1u));
    assert_int_equal(th->rec.failed_size, SIZE_MAX - 1u);
    ts_expect_failure(th, RTM_FAIL_TOO_LARGE);

    /* Grows of a live block by such sizes fail and keep the block. */
    ts_live_init(&g_live);
    (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, 100), 100, 0);
    for (size_t i = 0; i < TS_ARRAY_LEN(huge); i++) {
        ts_context("strategy %s realloc to %zu", ts_strategy_label(s), huge[i]);
        rtm_heap_info_t before, after;
        ts_assert_heap_sane(th, &before);
        assert_null(rtm_realloc(th->heap, g_live.b[0].ptr, huge[i]));
        ts_expect_failure(th, RTM_FAIL_TOO_LARGE);
        ts_live_verify(&g_live, th);
        ts_assert_heap_sane(th, &after);
        before.failed_count++;
        ts_assert_info_equal(&before, &after);
    }
}

/* ------------------------------------------------------------------ */
/* realloc                                                             */

static void test_realloc_basic(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    ts_live_init(&g_live);

    /* NULL pointer: rtm_malloc. */
    rtm_heap_info_t before = info_of(th->heap);
    void *p = rtm_realloc(th->heap, NULL, 100);
    (void)ts_live_add(&g_live, th, p, 100, 0);
    rtm_heap_info_t after = info_of(th->heap);
    assert_int_equal(after.alloc_count, before.alloc_count + 1u);
    assert_int_equal(after.used_blocks, before.used_blocks + 1u);
    ts_assert_heap_sane(th, NULL);

    /* Neighbours so that a grow has to move at some point. */
    (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, 48), 48, 0);

    static const size_t steps[] = {300, 1000, 2000, 40, 3000, 8, 1, 600, 5000, 100};
    for (size_t k = 0; k < TS_ARRAY_LEN(steps); k++) {
        ts_context("strategy %s realloc step %zu -> %zu", ts_strategy_label(s), k, steps[k]);
        size_t i = ts_live_find(&g_live, p);
        assert_true(i != SIZE_MAX);
        before = info_of(th->heap);
        void *q = rtm_realloc(th->heap, p, steps[k]);
        model_realloc(&g_live, th, i, q, steps[k], &before);
        ts_live_verify(&g_live, th);
        ts_assert_heap_sane(th, NULL);
        ts_expect_no_hooks(th);
        p = q;
    }

    /* size 0 frees (bump: refused, block kept). */
    size_t i = ts_live_find(&g_live, p);
    before = info_of(th->heap);
    assert_null(rtm_realloc(th->heap, p, 0));
    after = info_of(th->heap);
    if (ts_frees(s)) {
        ts_expect_no_hooks(th);
        assert_int_equal(after.free_count, before.free_count + 1u);
        assert_int_equal(after.used_blocks, before.used_blocks - 1u);
        ts_live_remove(&g_live, i);
    } else {
        ts_expect_misuse(th, RTM_MISUSE_FREE_REFUSED, p);
        ts_assert_info_equal(&before, &after);
    }
    ts_live_verify(&g_live, th);
    ts_assert_heap_sane(th, NULL);
}

static void test_realloc_in_place(void **state)
{
    rtm_strategy_id_t s = begin(state);
    if (!ts_shrinks_in_place(s)) {
        print_message("      %s does not promise in-place resizing: skipped\n",
                      ts_strategy_label(s));
        skip();
    }
    ts_heap_t *th = ts_heap_open(s, 0);
    ts_live_init(&g_live);

    /* Shrink keeps the address and gives the tail back. */
    void *a = rtm_malloc(th->heap, 256);
    (void)ts_live_add(&g_live, th, a, 256, 0);
    (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, 32), 32, 0); /* barrier */
    rtm_heap_info_t before;
    ts_assert_heap_sane(th, &before);
    size_t old_usable = g_live.b[0].usable;
    void *a2 = rtm_realloc(th->heap, a, 16);
    assert_ptr_equal(a2, a);
    rtm_heap_info_t after;
    ts_assert_heap_sane(th, &after);
    assert_true(rtm_usable_size(th->heap, a2) < old_usable);
    assert_true(after.free_bytes > before.free_bytes);
    assert_int_equal(after.alloc_count, before.alloc_count);
    assert_int_equal(after.free_count, before.free_count);
    model_realloc(&g_live, th, 0, a2, 16, &before);
    ts_live_verify(&g_live, th);

    if (ts_grows_in_place(s)) {
        /* Grow into a free successor keeps the address. On a fresh heap
         * x, y, z are carved one after the other from the one free block. */
        ts_heap_reopen(th);
        ts_live_init(&g_live);
        void *x = rtm_malloc(th->heap, 64);
        void *y = rtm_malloc(th->heap, 64);
        void *z = rtm_malloc(th->heap, 64);
        (void)ts_live_add(&g_live, th, x, 64, 0);
        (void)ts_live_add(&g_live, th, z, 64, 0);
        assert_non_null(y);
        if ((uint8_t *)y != (uint8_t *)x + g_live.b[0].usable + 4u ||
            (uint8_t *)z != (uint8_t *)y + rtm_usable_size(th->heap, y) + 4u) {
            ts_fail("setup: blocks of a fresh heap not adjacent: %p %p %p", x, y, z);
        }
        rtm_free(th->heap, y);
        ts_assert_heap_sane(th, &before);
        void *x2 = rtm_realloc(th->heap, x, 120);
        assert_ptr_equal(x2, x);
        model_realloc(&g_live, th, 0, x2, 120, &before);
        ts_live_verify(&g_live, th);
        ts_assert_heap_sane(th, NULL);

        /* The last block grows into the free space after it. */
        void *w = rtm_malloc(th->heap, 64);
        (void)ts_live_add(&g_live, th, w, 64, 0);
        assert_true((uintptr_t)w > (uintptr_t)z);
        ts_assert_heap_sane(th, &before);
        size_t wi = ts_live_find(&g_live, w);
        void *w2 = rtm_realloc(th->heap, w, 4000);
        assert_ptr_equal(w2, w);
        model_realloc(&g_live, th, wi, w2, 4000, &before);
        ts_live_verify(&g_live, th);
        ts_assert_heap_sane(th, NULL);
    }
    ts_expect_no_hooks(th);
}

static void test_realloc_failure(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_opts_t o;
    memset(&o, 0, sizeof o);
    o.strategy = s;
    o.size = 16u * 1024u;
    ts_heap_t *th = ts_heap_open_ex(&o);
    ts_live_init(&g_live);
    (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, 100), 100, 0);
    void *p = g_live.b[0].ptr;

    /* Too large for the heap. */
    rtm_heap_info_t before, after;
    ts_assert_heap_sane(th, &before);
    assert_null(rtm_realloc(th->heap, p, 64u * 1024u));
    ts_expect_failure(th, RTM_FAIL_TOO_LARGE);
    ts_live_verify(&g_live, th);
    ts_assert_heap_sane(th, &after);
    before.failed_count++;
    ts_assert_info_equal(&before, &after);

    /* Fill the heap, then a grow that no longer fits. */
    for (unsigned n = 0; n < 10000u; n++) {
        void *q = rtm_malloc(th->heap, 200);
        if (q == NULL) {
            break;
        }
        (void)ts_live_add(&g_live, th, q, 200, 0);
    }
    ts_hooks_clear(&th->rec);
    ts_assert_heap_sane(th, &before);
    assert_null(rtm_realloc(th->heap, p, 2000));
    ts_expect_failure_any(th, ALL_REASONS_OF_EXHAUSTION & ~TS_REASON_BIT(RTM_FAIL_TOO_LARGE));
    ts_live_verify(&g_live, th);
    ts_assert_heap_sane(th, &after);
    before.failed_count++;
    ts_assert_info_equal(&before, &after);

    /* A pointer the heap did not give out: reported, NULL, no effect (not
     * a failed allocation either). */
    int local = 0;
    ts_assert_heap_sane(th, &before);
    assert_null(rtm_realloc(th->heap, &local, 8));
    ts_expect_misuse(th, RTM_MISUSE_FOREIGN_POINTER, &local);
    uint8_t *interior = (uint8_t *)p + 8;
    assert_null(rtm_realloc(th->heap, interior, 8));
    ts_expect_misuse_any(th, kinds_for(s, RTM_MISUSE_INVALID_POINTER), interior);
    if (ts_frees(s)) {
        void *f = g_live.b[1].ptr;
        rtm_free(th->heap, f);
        ts_live_remove(&g_live, 1);
        ts_assert_heap_sane(th, &before);
        assert_null(rtm_realloc(th->heap, f, 8));
        ts_expect_misuse_any(th, kinds_for(s, RTM_MISUSE_DOUBLE_FREE), f);
        assert_null(rtm_realloc(th->heap, f, 1000));
        ts_expect_misuse_any(th, kinds_for(s, RTM_MISUSE_DOUBLE_FREE), f);
    }
    ts_live_verify(&g_live, th);
    ts_assert_heap_sane(th, &after);
    ts_assert_info_equal(&before, &after);
    assert_int_equal(local, 0);
}

/* ------------------------------------------------------------------ */
/* Statistics                                                          */

static void test_statistics(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    size_t g = th->granularity;
    rtm_heap_info_t i0;
    ts_assert_heap_sane(th, &i0);

    /* A new heap. */
    assert_int_equal(i0.used_blocks, 0);
    assert_int_equal(i0.allocated_bytes, 0);
    assert_int_equal(i0.alloc_count, 0);
    assert_int_equal(i0.free_count, 0);
    assert_int_equal(i0.failed_count, 0);
    assert_int_equal(i0.free_blocks, 1);
    assert_int_equal(i0.min_free_bytes, i0.free_bytes);
    assert_int_equal(i0.largest_free_block, i0.free_bytes);
    if (s == RTM_SYSTEM) {
        assert_int_equal(i0.total_bytes, (size_t)TS_ARENA_BYTES + TS_SYSTEM_BUDGET);
        assert_int_equal(i0.free_bytes, TS_SYSTEM_BUDGET);
    } else {
        assert_int_equal(i0.total_bytes, TS_ARENA_BYTES);
        assert_true(i0.free_bytes > TS_ARENA_BYTES - 2048u);
    }

    /* Nothing fits beyond the empty heap's largest block: TOO_LARGE. */
    assert_null(rtm_malloc(th->heap, i0.largest_free_block + g));
    ts_expect_failure(th, RTM_FAIL_TOO_LARGE);
    assert_null(rtm_malloc(th->heap, i0.largest_free_block + 1u));
    ts_expect_failure(th, RTM_FAIL_TOO_LARGE);
    size_t failed = 2;

    ts_live_init(&g_live);
    size_t allocs = 0, frees = 0;
    size_t min_free = i0.free_bytes;
    rtm_heap_info_t info;
    for (size_t k = 0; k < 12; k++) {
        size_t sz = 24u + k * 37u;
        (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, sz), sz, 0);
        allocs++;
        ts_assert_heap_sane(th, &info);
        ts_live_verify(&g_live, th);
        assert_true(info.min_free_bytes <= min_free);
        min_free = info.min_free_bytes;
        assert_int_equal(info.min_free_bytes, info.free_bytes); /* only allocations so far */
        assert_int_equal(info.alloc_count, allocs);
    }
    /* One free block at the end: more than it holds is NO_MEMORY. */
    if (s != RTM_SYSTEM) {
        assert_int_equal(info.free_blocks, 1);
        assert_int_equal(info.largest_free_block, info.free_bytes);
    }
    assert_null(rtm_malloc(th->heap, info.largest_free_block + g));
    ts_expect_failure(th, RTM_FAIL_NO_MEMORY);
    failed++;

    if (ts_frees(s)) {
        for (size_t k = 0; k < 4; k++) {
            rtm_free(th->heap, g_live.b[k * 2u].ptr);
            frees++;
        }
        for (size_t k = 4; k-- > 0;) {
            ts_live_remove(&g_live, k * 2u);
        }
        ts_assert_heap_sane(th, &info);
        ts_live_verify(&g_live, th);
        assert_int_equal(info.min_free_bytes, min_free); /* freeing never raises it */
        assert_true(info.free_bytes > min_free);
        assert_int_equal(info.free_count, frees);
    }

    /* Failures of every kind count. */
    assert_null(rtm_malloc(th->heap, SIZE_MAX));
    assert_null(rtm_aligned_alloc(th->heap, 3, 8));
    assert_null(rtm_calloc(th->heap, SIZE_MAX, 4));
    failed += 3;
    ts_hooks_clear(&th->rec);
    ts_assert_heap_sane(th, &info);
    assert_int_equal(info.failed_count, failed);
    assert_int_equal(info.alloc_count, allocs);
    assert_int_equal(info.free_count, frees);
    assert_int_equal(info.used_blocks, g_live.n);

    /* A realloc that moves counts one allocation and one free; one in
     * place counts neither. */
    if (ts_frees(s)) {
        size_t i = g_live.n - 2u;
        rtm_heap_info_t before = info_of(th->heap);
        void *q = rtm_realloc(th->heap, g_live.b[i].ptr, 3000);
        assert_non_null(q);
        bool moved = q != (void *)g_live.b[i].ptr;
        model_realloc(&g_live, th, i, q, 3000, &before);
        if (moved) {
            allocs++;
            frees++;
        }
        ts_assert_heap_sane(th, &info);
        assert_int_equal(info.alloc_count, allocs);
        assert_int_equal(info.free_count, frees);
        ts_live_verify(&g_live, th);
        min_free = info.min_free_bytes;
    }

    /* reset_min_free: the mark becomes the current free bytes, then only
     * falls. */
    rtm_heap_reset_min_free(th->heap);
    ts_assert_heap_sane(th, &info);
    assert_int_equal(info.min_free_bytes, info.free_bytes);
    assert_true(info.min_free_bytes >= min_free);
    size_t mark = info.min_free_bytes;
    (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, 500), 500, 0);
    allocs++;
    ts_assert_heap_sane(th, &info);
    assert_true(info.min_free_bytes < mark);
    assert_int_equal(info.min_free_bytes, info.free_bytes);
    mark = info.min_free_bytes;
    if (ts_frees(s)) {
        rtm_free(th->heap, g_live.b[g_live.n - 1u].ptr);
        ts_live_remove(&g_live, g_live.n - 1u);
        frees++;
        ts_assert_heap_sane(th, &info);
        assert_int_equal(info.min_free_bytes, mark);
        assert_true(info.free_bytes > mark);
    }

    /* largest_free_block: that much is allocatable; for the exact
     * strategies a granule more is not. */
    ts_assert_heap_sane(th, &info);
    size_t largest = info.largest_free_block;
    assert_true(largest > 0);
    void *big = rtm_malloc(th->heap, largest);
    if (big == NULL) {
        ts_fail("malloc(largest_free_block = %zu) failed: %s", largest,
                rtm_fail_reason_str(th->rec.failed_reason));
    }
    allocs++;
    assert_true(rtm_usable_size(th->heap, big) >= largest);
    ts_assert_heap_sane(th, &info);
    assert_int_equal(info.min_free_bytes, info.free_bytes);
    if (ts_frees(s)) {
        rtm_free(th->heap, big);
        frees++;
        ts_assert_heap_sane(th, &info);
        assert_int_equal(info.largest_free_block, largest);
    } else {
        (void)ts_live_add(&g_live, th, big, largest, 0);
    }
    if (ts_largest_is_exact(s)) {
        assert_null(rtm_malloc(th->heap, largest + g));
        ts_expect_failure_any(th, TS_REASON_BIT(RTM_FAIL_NO_MEMORY) |
                                      TS_REASON_BIT(RTM_FAIL_FRAGMENTED));
        assert_null(rtm_malloc(th->heap, largest + 1u));
        ts_expect_failure_any(th, TS_REASON_BIT(RTM_FAIL_NO_MEMORY) |
                                      TS_REASON_BIT(RTM_FAIL_FRAGMENTED));
        failed += 2;
    }
    ts_expect_no_hooks(th);
    ts_assert_heap_sane(th, &info);
    assert_int_equal(info.alloc_count, allocs);
    assert_int_equal(info.free_count, frees);
    assert_int_equal(info.failed_count, failed);
    ts_live_verify(&g_live, th);
}

static int block_addr_cmp(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t)((const ts_block_t *)a)->ptr;
    uintptr_t y = (uintptr_t)((const ts_block_t *)b)->ptr;
    return (x > y) - (x < y);
}

/* Fragmentation: plenty of free bytes, no block that fits. */
static void test_fragmentation(void **state)
{
    rtm_strategy_id_t s = begin(state);
    if (!ts_largest_is_exact(s)) {
        print_message("      %s: fragmentation is not observable: skipped\n", ts_strategy_label(s));
        skip();
    }
    ts_heap_opts_t o;
    memset(&o, 0, sizeof o);
    o.strategy = s;
    o.size = 16u * 1024u;
    ts_heap_t *th = ts_heap_open_ex(&o);
    ts_live_init(&g_live);
    for (unsigned n = 0; n < 10000u; n++) {
        void *p = rtm_malloc(th->heap, 200);
        if (p == NULL) {
            break;
        }
        (void)ts_live_add(&g_live, th, p, 200, 0);
    }
    ts_hooks_clear(&th->rec);
    /* Use up any tail too small for 200 bytes. */
    for (unsigned n = 0; n < 100u; n++) {
        void *p = rtm_malloc(th->heap, 8);
        if (p == NULL) {
            break;
        }
        (void)ts_live_add(&g_live, th, p, 8, 0);
    }
    ts_hooks_clear(&th->rec);
    assert_true(g_live.n > 40);
    /* Free every other 200-byte block in address order: no two freed
     * blocks are neighbours. */
    static ts_block_t order[TS_MAX_LIVE];
    size_t n200 = 0;
    for (size_t i = 0; i < g_live.n; i++) {
        if (g_live.b[i].req == 200) {
            order[n200++] = g_live.b[i];
        }
    }
    qsort(order, n200, sizeof order[0], block_addr_cmp);
    for (size_t i = 1; i < n200; i += 2) {
        rtm_free(th->heap, order[i].ptr);
        ts_live_remove(&g_live, ts_live_find(&g_live, order[i].ptr));
    }
    rtm_heap_info_t info;
    ts_assert_heap_sane(th, &info);
    ts_live_verify(&g_live, th);
    assert_true(info.free_blocks >= 10);
    assert_true(info.free_bytes >= 2000u);
    assert_true(info.largest_free_block < 600u);
    size_t largest = info.largest_free_block;

    assert_null(rtm_malloc(th->heap, 600));
    ts_expect_failure(th, RTM_FAIL_FRAGMENTED);
    assert_null(rtm_malloc(th->heap, largest + 1u));
    ts_expect_failure(th, RTM_FAIL_FRAGMENTED);
    assert_null(rtm_malloc(th->heap, info.free_bytes + 1u));
    ts_expect_failure(th, RTM_FAIL_NO_MEMORY);
    void *p = rtm_malloc(th->heap, largest);
    assert_non_null(p);
    (void)ts_live_add(&g_live, th, p, largest, 0);
    ts_live_verify(&g_live, th);
    ts_assert_heap_sane(th, NULL);
    ts_expect_no_hooks(th);
}

/* ------------------------------------------------------------------ */
/* Exhaustion                                                          */

/* The counters and the failure hook are the same whichever way malloc
 * goes: a heap without a lock or a failure hook (where TLSF takes the whole
 * call) against a locked one with a hook, step by step; then a failure hook
 * set, and taken away again, on the first one. */
static void test_plain_counters(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_opts_t o;
    memset(&o, 0, sizeof o);
    o.strategy = s;
    o.size = 16u * 1024u;
    o.system_budget = 12u * 1024u;
    o.flags = RTM_HEAP_NO_LOCK;
    ts_heap_t *bare = ts_heap_open_ex(&o);
    rtm_heap_set_hooks(bare->heap, NULL, ts_on_misuse, &bare->rec);
    o.flags = 0;
    ts_heap_t *hooked = ts_heap_open_ex(&o);
    static const size_t sizes[] = {24, 200, 1000, 64, 333, 8000, 5};
    void *kept[2][64];
    size_t n = 0;
    for (size_t i = 0; i < 64 && n < 64; i++) {
        size_t sz = sizes[i % TS_ARRAY_LEN(sizes)];
        kept[0][n] = rtm_malloc(bare->heap, sz);
        kept[1][n] = rtm_malloc(hooked->heap, sz);
        assert_true((kept[0][n] == NULL) == (kept[1][n] == NULL));
        if (kept[0][n] != NULL) {
            n++;
        }
        if (ts_frees(s) && i % 3 == 2 && n > 0) {
            n--;
            rtm_free(bare->heap, kept[0][n]);
            rtm_free(hooked->heap, kept[1][n]);
        }
        rtm_heap_info_t a = info_of(bare->heap);
        rtm_heap_info_t b = info_of(hooked->heap);
        assert_int_equal(a.alloc_count, b.alloc_count);
        assert_int_equal(a.free_count, b.free_count);
        assert_int_equal(a.failed_count, b.failed_count);
        assert_int_equal(a.min_free_bytes, b.min_free_bytes);
        assert_int_equal(a.free_bytes, b.free_bytes);
        assert_true(rtm_heap_check(bare->heap, NULL));
    }
    assert_int_equal(bare->rec.failed_calls, 0);
    assert_true(hooked->rec.failed_calls > 0 || info_of(hooked->heap).failed_count == 0);
    size_t failed = info_of(bare->heap).failed_count;
    size_t too_big = 1u << 20;
    rtm_heap_set_hooks(bare->heap, ts_on_alloc_failed, ts_on_misuse, &bare->rec);
    assert_null(rtm_malloc(bare->heap, too_big));
    assert_int_equal(bare->rec.failed_calls, 1);
    assert_int_equal(bare->rec.failed_size, too_big);
    rtm_heap_set_hooks(bare->heap, NULL, ts_on_misuse, &bare->rec);
    assert_null(rtm_malloc(bare->heap, too_big));
    assert_int_equal(bare->rec.failed_calls, 1);
    assert_int_equal(info_of(bare->heap).failed_count, failed + 2);
    /* A refused free on the unlocked heap reaches the misuse hook too and
     * changes nothing (RTM_SYSTEM's blocks lie outside the region: an
     * interior pointer is foreign there, tested elsewhere). */
    if (ts_frees(s) && s != RTM_SYSTEM) {
        while (n > 0) {
            n--;
            rtm_free(bare->heap, kept[0][n]);
        }
        uint8_t *p = rtm_malloc(bare->heap, 64);
        assert_non_null(p);
        rtm_heap_info_t before = info_of(bare->heap);
        unsigned calls = bare->rec.misuse_calls;
        rtm_free(bare->heap, p + 8);
        assert_int_equal(bare->rec.misuse_calls, calls + 1);
        assert_int_equal(bare->rec.misuse_kind, RTM_MISUSE_INVALID_POINTER);
        assert_ptr_equal(bare->rec.misuse_address, p + 8);
        rtm_heap_info_t after = info_of(bare->heap);
        ts_assert_info_equal(&before, &after);
        rtm_free(bare->heap, p);
        rtm_free(bare->heap, p);
        assert_int_equal(bare->rec.misuse_calls, calls + 2);
        assert_int_equal(bare->rec.misuse_kind, RTM_MISUSE_DOUBLE_FREE);
        assert_int_equal(info_of(bare->heap).free_count, before.free_count + 1);
        assert_true(rtm_heap_check(bare->heap, NULL));
    }
}

static void test_exhaustion(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_opts_t o;
    memset(&o, 0, sizeof o);
    o.strategy = s;
    o.size = 16u * 1024u;
    o.system_budget = 12u * 1024u;
    ts_heap_t *th = ts_heap_open_ex(&o);
    ts_live_init(&g_live);
    static const size_t sizes[] = {24, 200, 1000, 64, 333};

    for (int round = 0; round < 3; round++) {
        ts_context("strategy %s round %d", ts_strategy_label(s), round);
        /* Mixed sizes until the first NULL. */
        size_t k = 0;
        void *p;
        rtm_heap_info_t before;
        for (;;) {
            size_t sz = sizes[k % TS_ARRAY_LEN(sizes)];
            ts_assert_heap_sane(th, &before);
            p = rtm_malloc(th->heap, sz);
            if (p == NULL) {
                assert_int_equal(th->rec.failed_size, sz);
                /* rtm_malloc asks for no particular alignment: 0 or the
                 * granularity are both fair reports of it. */
                assert_true(th->rec.failed_alignment == 0 ||
                            th->rec.failed_alignment == th->granularity);
                ts_expect_failure_any(th, ALL_REASONS_OF_EXHAUSTION);
                rtm_heap_info_t after;
                ts_assert_heap_sane(th, &after);
                before.failed_count++;
                ts_assert_info_equal(&before, &after);
                break;
            }
            (void)ts_live_add(&g_live, th, p, sz, 0);
            k++;
            assert_true(k < 5000u);
        }
        ts_live_verify(&g_live, th);
        /* Then the smallest requests until nothing at all is left. */
        for (;;) {
            p = rtm_malloc(th->heap, 1);
            if (p == NULL) {
                ts_expect_failure_any(th, ALL_REASONS_OF_EXHAUSTION);
                break;
            }
            (void)ts_live_add(&g_live, th, p, 1, 0);
            assert_true(g_live.n < TS_MAX_LIVE);
        }
        ts_live_verify(&g_live, th);
        ts_assert_heap_sane(th, NULL);

        if (!ts_frees(s)) {
            /* Bump: frees refused, still full; restart. */
            void *victim = g_live.b[0].ptr;
            rtm_heap_info_t b2, a2;
            ts_assert_heap_sane(th, &b2);
            rtm_free(th->heap, victim);
            ts_expect_misuse(th, RTM_MISUSE_FREE_REFUSED, victim);
            ts_assert_heap_sane(th, &a2);
            ts_assert_info_equal(&b2, &a2);
            assert_null(rtm_malloc(th->heap, 1));
            ts_expect_failure_any(th, ALL_REASONS_OF_EXHAUSTION);
            ts_live_verify(&g_live, th);
            ts_heap_reopen(th);
            ts_live_init(&g_live);
            continue;
        }

        /* Frees succeed, and allocations succeed again. */
        rtm_heap_info_t info = info_of(th->heap);
        size_t frees = info.free_count;
        size_t n = 0;
        for (size_t i = g_live.n; i-- > 0;) {
            if (i % 3u == 0) {
                rtm_free(th->heap, g_live.b[i].ptr);
                ts_live_remove(&g_live, i);
                n++;
            }
        }
        ts_expect_no_hooks(th);
        ts_assert_heap_sane(th, &info);
        assert_int_equal(info.free_count, frees + n);
        ts_live_verify(&g_live, th);
        for (size_t j = 0; j < 20; j++) {
            (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, 8), 8, 0);
        }
        ts_live_verify(&g_live, th);
        ts_live_free_all(&g_live, th);
        ts_expect_no_hooks(th);
        ts_assert_heap_sane(th, &info);
        assert_free_restored(th, &info);
    }
}

/* ------------------------------------------------------------------ */
/* Freeing everything                                                  */

typedef struct one_free {
    size_t free_blocks;
    size_t free_size;
    size_t used_blocks;
} one_free_t;

static bool tally_one(const rtm_block_info_t *b, void *ctx)
{
    one_free_t *t = ctx;
    if (b->used) {
        t->used_blocks++;
    } else {
        t->free_blocks++;
        t->free_size = b->size;
    }
    return true;
}

static void test_free_all_restores(void **state)
{
    rtm_strategy_id_t s = begin(state);
    if (!ts_frees(s)) {
        print_message("      %s never frees: skipped (refusal tested elsewhere)\n",
                      ts_strategy_label(s));
        skip();
    }
    static const size_t grans[] = {4, 8, 16};
    for (size_t gi = 0; gi < TS_ARRAY_LEN(grans); gi++) {
        ts_heap_t *th = ts_heap_open(s, grans[gi]);
        ts_rng_t rng;
        ts_rng_seed(&rng, 1234u + gi);
        ts_live_init(&g_live);
        for (unsigned round = 0; round < 3; round++) {
            ts_context("strategy %s granularity %zu round %u", ts_strategy_label(s), grans[gi],
                       round);
            for (unsigned k = 0; k < 150; k++) {
                unsigned op = (unsigned)ts_rng_range(&rng, 0, 9);
                void *p;
                size_t sz = ts_rng_log_uniform(&rng, 1, 1500);
                if (op < 5) {
                    p = rtm_malloc(th->heap, sz);
                    if (p != NULL) {
                        (void)ts_live_add(&g_live, th, p, sz, 0);
                    }
                } else if (op < 7) {
                    size_t a = ts_rng_pow2(&rng, 16, 512);
                    p = rtm_aligned_alloc(th->heap, a, sz);
                    if (p != NULL) {
                        (void)ts_live_add(&g_live, th, p, sz, a);
                    }
                } else if (op < 8) {
                    p = rtm_calloc(th->heap, 2, sz);
                    if (p != NULL) {
                        (void)ts_live_add(&g_live, th, p, 2u * sz, 0);
                    }
                } else if (g_live.n > 0) {
                    size_t i = ts_rng_range(&rng, 0, g_live.n - 1u);
                    if (op == 8) {
                        rtm_free(th->heap, g_live.b[i].ptr);
                        ts_live_remove(&g_live, i);
                    } else {
                        rtm_heap_info_t before = info_of(th->heap);
                        p = rtm_realloc(th->heap, g_live.b[i].ptr, sz);
                        if (p != NULL) {
                            model_realloc(&g_live, th, i, p, sz, &before);
                        }
                    }
                }
            }
            ts_hooks_clear(&th->rec); /* exhaustion on the way is fine */
            ts_live_verify(&g_live, th);
            ts_assert_heap_sane(th, NULL);
            /* Free all in random order. */
            while (g_live.n > 0) {
                size_t i = ts_rng_range(&rng, 0, g_live.n - 1u);
                rtm_free(th->heap, g_live.b[i].ptr);
                ts_live_remove(&g_live, i);
            }
            ts_expect_no_hooks(th);
            rtm_heap_info_t info;
            ts_assert_heap_sane(th, &info);
            assert_int_equal(info.used_blocks, 0);
            assert_int_equal(info.allocated_bytes, 0);
            assert_free_restored(th, &info);
            if (ts_coalesces(s) || s == RTM_SYSTEM) {
                assert_int_equal(info.free_blocks, 1);
                assert_int_equal(info.largest_free_block, th->initial.largest_free_block);
                assert_int_equal(info.overhead_bytes, th->initial.overhead_bytes);
            }
            if (ts_coalesces(s)) {
                one_free_t t = {0, 0, 0};
                assert_true(rtm_heap_walk(th->heap, tally_one, &t));
                assert_int_equal(t.free_blocks, 1);
                assert_int_equal(t.used_blocks, 0);
                assert_int_equal(t.free_size, th->initial.largest_free_block);
            }
        }
        ts_heap_close(th);
    }
}

/* ------------------------------------------------------------------ */
/* Misuse                                                              */

static void test_misuse_double_free(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    ts_live_init(&g_live);
    for (int k = 0; k < 5; k++) {
        (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, 64), 64, 0);
    }
    void *p = g_live.b[1].ptr;
    void *q = g_live.b[2].ptr;
    rtm_heap_info_t before, after;

    if (!ts_frees(s)) {
        /* Every free is refused, the second as the first. */
        for (int k = 0; k < 2; k++) {
            ts_assert_heap_sane(th, &before);
            rtm_free(th->heap, q);
            ts_expect_misuse(th, RTM_MISUSE_FREE_REFUSED, q);
            ts_assert_heap_sane(th, &after);
            ts_assert_info_equal(&before, &after);
            ts_live_verify(&g_live, th);
        }
        return;
    }

    rtm_free(th->heap, q);
    ts_live_remove(&g_live, 2);
    ts_expect_no_hooks(th);
    ts_assert_heap_sane(th, &before);
    rtm_free(th->heap, q);
    ts_expect_misuse_any(th, kinds_for(s, RTM_MISUSE_DOUBLE_FREE), q);
    assert_int_equal(rtm_usable_size(th->heap, q), 0);
    ts_expect_misuse_any(th, kinds_for(s, RTM_MISUSE_DOUBLE_FREE), q);
    ts_assert_heap_sane(th, &after);
    ts_assert_info_equal(&before, &after);
    ts_live_verify(&g_live, th);

    /* p's free merges q into it (coalescing strategies); freeing q again
     * must still be caught, as must a second free of p. */
    rtm_free(th->heap, p);
    ts_live_remove(&g_live, ts_live_find(&g_live, p));
    ts_expect_no_hooks(th);
    ts_assert_heap_sane(th, &before);
    rtm_free(th->heap, q);
    ts_expect_misuse_any(th,
                         kinds_for(s, RTM_MISUSE_DOUBLE_FREE) |
                             kinds_for(s, RTM_MISUSE_INVALID_POINTER),
                         q);
    rtm_free(th->heap, p);
    ts_expect_misuse_any(th, kinds_for(s, RTM_MISUSE_DOUBLE_FREE), p);
    ts_assert_heap_sane(th, &after);
    ts_assert_info_equal(&before, &after);
    ts_live_verify(&g_live, th);

    /* The freed space is still usable normally. */
    (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, 100), 100, 0);
    ts_live_verify(&g_live, th);
    ts_assert_heap_sane(th, NULL);
    ts_expect_no_hooks(th);
}

/* rtm_free_sized_ex: the bytes rtm_usable_size gave, zeroed first when
 * asked; 0 and nothing done for NULL, a double free, an interior pointer
 * and (bump) every block. */
static void test_free_sized(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    uint8_t *p = rtm_malloc(th->heap, 100);
    uint8_t *q = rtm_malloc(th->heap, 40);
    assert_non_null(p);
    assert_non_null(q);
    size_t usable = rtm_usable_size(th->heap, p);
    memset(p, 0x5a, usable);
    rtm_heap_info_t before, after;
    assert_int_equal(rtm_free_sized_ex(th->heap, NULL, true, NULL), 0);
    ts_expect_no_hooks(th);
    ts_assert_heap_sane(th, &before);
    assert_int_equal(rtm_free_sized_ex(th->heap, p + 8, true, NULL), 0);
    ts_expect_misuse_any(th, kinds_for(s, RTM_MISUSE_INVALID_POINTER), p + 8);
    for (size_t i = 0; i < usable; i++) {
        assert_int_equal(p[i], 0x5a); /* refused: not zeroed either */
    }
    ts_assert_heap_sane(th, &after);
    ts_assert_info_equal(&before, &after);
    if (!ts_frees(s)) {
        assert_int_equal(rtm_free_sized_ex(th->heap, p, true, NULL), 0);
        ts_expect_misuse(th, RTM_MISUSE_FREE_REFUSED, p);
        assert_int_equal(p[0], 0x5a);
        return;
    }
    /* The zeroing is seen through the allocator's own bytes only where
     * they stay the caller's: q keeps no metadata, so check it instead. */
    size_t qn = rtm_usable_size(th->heap, q);
    memset(q, 0x77, qn);
    assert_int_equal(rtm_free_sized_ex(th->heap, q, true, NULL), qn);
    ts_expect_no_hooks(th);
    if (s != RTM_SYSTEM) { /* libc's freed memory is not ours to read */
        size_t zeros = 0;
        for (size_t i = 0; i < qn; i++) {
            zeros += q[i] == 0;
        }
        assert_true(zeros >= qn - 16u); /* all but the strategy's free-block links */
    }
    assert_int_equal(rtm_free_sized_ex(th->heap, p, false, NULL), usable);
    ts_expect_no_hooks(th);
    assert_int_equal(rtm_free_sized_ex(th->heap, p, false, NULL), 0);
    ts_expect_misuse_any(th, kinds_for(s, RTM_MISUSE_DOUBLE_FREE), p);
    ts_assert_heap_sane(th, NULL);
}

static void test_misuse_foreign(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_opts_t o;
    memset(&o, 0, sizeof o);
    o.strategy = s;
    o.offset = 256; /* so that bytes just before the region are ours */
    o.size = 16u * 1024u;
    ts_heap_t *th = ts_heap_open_ex(&o);
    ts_heap_t *other = ts_heap_open(s == RTM_TLSF ? RTM_FIRST_FIT : RTM_TLSF, 0);
    ts_live_init(&g_live);
    (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, 64), 64, 0);
    void *theirs = rtm_malloc(other->heap, 64);
    assert_non_null(theirs);
    ts_pattern_fill(theirs, 64, 777);
    int local = 0;
    static uint64_t global_var;

    const void *foreign[] = {
        &local,
        &global_var,
        theirs,
        th->mem - 64,                                         /* just before the region */
        (void *)((uintptr_t)th->mem + th->size),              /* one past the end */
        (void *)((uintptr_t)th->mem + th->size + 4096u),      /* well past it */
        (void *)(uintptr_t)16u,                               /* near NULL */
    };
    rtm_heap_info_t before, after;
    ts_assert_heap_sane(th, &before);
    for (size_t i = 0; i < TS_ARRAY_LEN(foreign); i++) {
        ts_context("strategy %s foreign pointer #%zu %p", ts_strategy_label(s), i, foreign[i]);
        void *f = (void *)(uintptr_t)foreign[i];
        rtm_free(th->heap, f);
        ts_expect_misuse(th, RTM_MISUSE_FOREIGN_POINTER, f);
        assert_int_equal(rtm_usable_size(th->heap, f), 0);
        ts_expect_misuse(th, RTM_MISUSE_FOREIGN_POINTER, f);
        assert_null(rtm_realloc(th->heap, f, 32));
        ts_expect_misuse(th, RTM_MISUSE_FOREIGN_POINTER, f);
    }
    ts_assert_heap_sane(th, &after);
    ts_assert_info_equal(&before, &after);
    ts_live_verify(&g_live, th);
    /* The other heap's block is untouched and still its own. */
    assert_int_equal(ts_pattern_check(theirs, 64, 777), 64);
    assert_true(rtm_usable_size(other->heap, theirs) >= 64u);
    assert_true(rtm_heap_check(other->heap, NULL));
    ts_expect_no_hooks(other);

    assert_int_equal(local, 0);
    assert_int_equal(global_var, 0);
}

/* heap.h: FOREIGN is "outside this heap's region", INVALID "inside the
 * region, not a live block's start"; the region is mem[0..size), control
 * block included. */
static void test_misuse_control_block(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    ts_live_init(&g_live);
    (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, 64), 64, 0);
    rtm_heap_info_t before, after;
    ts_assert_heap_sane(th, &before);
    static const size_t offs[] = {0, 8, 16, 64};
    for (size_t i = 0; i < TS_ARRAY_LEN(offs); i++) {
        ts_context("strategy %s region start + %zu", ts_strategy_label(s), offs[i]);
        uint8_t *ctl = th->mem + offs[i];
        rtm_free(th->heap, ctl);
        ts_expect_misuse_any(th, kinds_for(s, RTM_MISUSE_INVALID_POINTER), ctl);
        assert_int_equal(rtm_usable_size(th->heap, ctl), 0);
        ts_expect_misuse_any(th, kinds_for(s, RTM_MISUSE_INVALID_POINTER), ctl);
    }
    ts_assert_heap_sane(th, &after);
    ts_assert_info_equal(&before, &after);
    ts_live_verify(&g_live, th);
}

static void test_misuse_interior(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    ts_live_init(&g_live);
    for (int k = 0; k < 3; k++) {
        (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, 64), 64, 0);
    }
    uint8_t *p = g_live.b[1].ptr;
    /* Bump validates before refusing, but either report is a correct one. */
    unsigned kinds = kinds_for(s, RTM_MISUSE_INVALID_POINTER);
    if (s == RTM_BUMP) {
        kinds |= TS_MISUSE_BIT(RTM_MISUSE_FREE_REFUSED);
    }
    static const size_t offs[] = {1, 2, 4, 8, 16, 32, 63};
    rtm_heap_info_t before, after;
    ts_assert_heap_sane(th, &before);
    for (size_t i = 0; i < TS_ARRAY_LEN(offs); i++) {
        ts_context("strategy %s interior +%zu", ts_strategy_label(s), offs[i]);
        uint8_t *x = p + offs[i];
        rtm_free(th->heap, x);
        ts_expect_misuse_any(th, kinds, x);
        assert_int_equal(rtm_usable_size(th->heap, x), 0);
        ts_expect_misuse_any(th, kinds_for(s, RTM_MISUSE_INVALID_POINTER), x);
        assert_null(rtm_realloc(th->heap, x, 16));
        ts_expect_misuse_any(th, kinds_for(s, RTM_MISUSE_INVALID_POINTER), x);
        ts_live_verify(&g_live, th);
    }
    if (ts_has_block_layout(s)) {
        /* The header address itself. */
        uint8_t *hdr = p - 4;
        rtm_free(th->heap, hdr);
        ts_expect_misuse_any(th, kinds, hdr);
    }
    ts_assert_heap_sane(th, &after);
    ts_assert_info_equal(&before, &after);

    if (ts_frees(s)) {
        /* Interior of a free block. */
        uint8_t *q = g_live.b[1].ptr;
        rtm_free(th->heap, q);
        ts_live_remove(&g_live, 1);
        ts_assert_heap_sane(th, &before);
        for (size_t i = 0; i < TS_ARRAY_LEN(offs); i++) {
            uint8_t *x = q + offs[i];
            rtm_free(th->heap, x);
            ts_expect_misuse_any(th, kinds_for(s, RTM_MISUSE_INVALID_POINTER), x);
        }
        ts_assert_heap_sane(th, &after);
        ts_assert_info_equal(&before, &after);
    }
    ts_live_verify(&g_live, th);
}

static void test_bump_free_refused(void **state)
{
    rtm_strategy_id_t s = begin(state);
    if (s != RTM_BUMP) {
        print_message("      bump only: skipped\n");
        skip();
    }
    ts_heap_t *th = ts_heap_open(s, 0);
    ts_live_init(&g_live);
    (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, 100), 100, 0);
    (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, 100), 100, 0);
    void *p = g_live.b[1].ptr; /* the last block: a rewind would be possible */
    rtm_heap_info_t before, after;
    ts_assert_heap_sane(th, &before);
    rtm_free(th->heap, p);
    ts_expect_misuse(th, RTM_MISUSE_FREE_REFUSED, p);
    assert_null(rtm_realloc(th->heap, p, 0));
    ts_expect_misuse(th, RTM_MISUSE_FREE_REFUSED, p);
    rtm_free(th->heap, NULL);
    ts_expect_no_hooks(th);
    ts_assert_heap_sane(th, &after);
    ts_assert_info_equal(&before, &after);
    ts_live_verify(&g_live, th);
    assert_int_equal(after.free_count, 0);
}

static void test_default_misuse_hook(void **state)
{
    rtm_strategy_id_t s = begin(state);
#if RTM_ABORT_ON_MISUSE
    print_message("      RTM_ABORT_ON_MISUSE: the default hook stops the program: skipped\n");
    skip();
#endif
    ts_output_t out;
    ts_output_capture(&out);
    ts_heap_opts_t o;
    memset(&o, 0, sizeof o);
    o.strategy = s;
    o.default_misuse = true;
    o.name = "dflt-heap";
    ts_heap_t *th = ts_heap_open_ex(&o);
    int local = 0;
    rtm_heap_info_t before, after;
    ts_assert_heap_sane(th, &before);

    rtm_free(th->heap, &local);
    assert_int_equal(out.writes, 1);
    assert_true(out.last_len > 1u);
    assert_int_equal(out.last[out.last_len - 1u], '\n');
    assert_null(memchr(out.last, '\n', out.last_len - 1u)); /* one line */
    if (strstr(out.last, rtm_misuse_str(RTM_MISUSE_FOREIGN_POINTER)) == NULL) {
        ts_fail("default misuse line does not name the kind: \"%s\"", out.last);
    }
    ts_assert_heap_sane(th, &after);
    ts_assert_info_equal(&before, &after); /* it returned: no effect */
    assert_int_equal(th->rec.misuse_calls, 0);

    /* Called directly, for every kind. */
    static const rtm_misuse_t kinds[] = {RTM_MISUSE_FOREIGN_POINTER, RTM_MISUSE_INVALID_POINTER,
                                         RTM_MISUSE_DOUBLE_FREE, RTM_MISUSE_FREE_REFUSED,
                                         RTM_MISUSE_CORRUPT_BLOCK};
    for (size_t i = 0; i < TS_ARRAY_LEN(kinds); i++) {
        unsigned w = out.writes;
        rtm_default_misuse_hook(th->heap, kinds[i], &local, NULL);
        assert_int_equal(out.writes, w + 1u);
        assert_int_equal(out.last[out.last_len - 1u], '\n');
        if (strstr(out.last, rtm_misuse_str(kinds[i])) == NULL) {
            ts_fail("default misuse line does not name %s: \"%s\"", rtm_misuse_str(kinds[i]),
                    out.last);
        }
    }

    /* Hooks replaced: the recorder gets the call and its ctx. */
    ts_hooks_t rec2;
    memset(&rec2, 0, sizeof rec2);
    rtm_heap_set_hooks(th->heap, ts_on_alloc_failed, ts_on_misuse, &rec2);
    unsigned w = out.writes;
    rtm_free(th->heap, &local);
    assert_int_equal(out.writes, w);
    assert_int_equal(rec2.misuse_calls, 1);
    assert_int_equal(rec2.misuse_kind, RTM_MISUSE_FOREIGN_POINTER);
    assert_ptr_equal(rec2.misuse_address, &local);
    assert_ptr_equal(rec2.misuse_heap, th->heap);
    assert_null(rtm_malloc(th->heap, SIZE_MAX));
    assert_int_equal(rec2.failed_calls, 1);
    assert_int_equal(rec2.failed_reason, RTM_FAIL_TOO_LARGE);

    /* NULL hooks: default misuse hook again, no failed hook. */
    rtm_heap_set_hooks(th->heap, NULL, NULL, NULL);
    rtm_free(th->heap, &local);
    assert_int_equal(out.writes, w + 1u);
    assert_null(rtm_malloc(th->heap, SIZE_MAX));
    assert_int_equal(rec2.failed_calls, 1);
    assert_int_equal(rec2.misuse_calls, 1);
    assert_int_equal(th->rec.misuse_calls + th->rec.failed_calls, 0);

    /* No output hook: the line is dropped, nothing breaks. */
    ts_output_release();
    rtm_free(th->heap, &local);
    assert_int_equal(out.writes, w + 1u);
    ts_assert_heap_sane(th, NULL);
}

#if defined(RTM_PORT_POSIX)
static void test_hooks_outside_lock(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    /* Each hook calls back into the heap (rtm_heap_info, rtm_heap_check).
     * If a hook ran with the (non-recursive) lock held this deadlocks:
     * the alarm then ends the program. */
    th->rec.probe_heap_in_hook = true;
    alarm(30);
    int local = 0;
    rtm_free(th->heap, &local);
    ts_expect_misuse(th, RTM_MISUSE_FOREIGN_POINTER, &local);
    assert_null(rtm_malloc(th->heap, SIZE_MAX));
    ts_expect_failure(th, RTM_FAIL_TOO_LARGE);
    assert_null(rtm_aligned_alloc(th->heap, 3, 8));
    ts_expect_failure(th, RTM_FAIL_BAD_ALIGNMENT);
    assert_null(rtm_calloc(th->heap, SIZE_MAX, SIZE_MAX));
    ts_expect_failure(th, RTM_FAIL_OVERFLOW);
    void *p = rtm_malloc(th->heap, 32);
    assert_non_null(p);
    assert_null(rtm_realloc(th->heap, (uint8_t *)p + 1, 64));
    ts_expect_misuse_any(th, kinds_for(s, RTM_MISUSE_INVALID_POINTER), (uint8_t *)p + 1);
    assert_null(rtm_realloc(th->heap, p, SIZE_MAX / 2u));
    ts_expect_failure(th, RTM_FAIL_TOO_LARGE);
    rtm_free(th->heap, p);
    if (ts_frees(s)) {
        ts_expect_no_hooks(th);
        rtm_free(th->heap, p);
        ts_expect_misuse_any(th, kinds_for(s, RTM_MISUSE_DOUBLE_FREE), p);
    } else {
        ts_expect_misuse(th, RTM_MISUSE_FREE_REFUSED, p);
    }
    alarm(0);
    ts_assert_heap_sane(th, NULL);
}
#endif

/* ------------------------------------------------------------------ */
/* rtm_heap_check detects corruption                                   */

static void expect_corrupt(ts_heap_t *th, const char *what)
{
    rtm_check_report_t rep = {NULL, NULL};
    if (rtm_heap_check(th->heap, &rep)) {
        ts_fail("rtm_heap_check passed a heap with %s", what);
    }
    if (rep.address == NULL || rep.problem == NULL || rep.problem[0] == '\0') {
        ts_fail("rtm_heap_check report for %s: problem \"%s\" address %p", what,
                rep.problem != NULL ? rep.problem : "(null)", rep.address);
    }
}

static void test_check_detects_corruption(void **state)
{
    rtm_strategy_id_t s = begin(state);
    if (!ts_has_block_layout(s)) {
        print_message("      %s has no block headers in the region: skipped\n",
                      ts_strategy_label(s));
        skip();
    }
    static const size_t grans[] = {8, 16};
    for (size_t gi = 0; gi < TS_ARRAY_LEN(grans); gi++) {
        ts_heap_t *th = ts_heap_open(s, grans[gi]);
        ts_live_init(&g_live);
        for (int k = 0; k < 6; k++) {
            (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, 64), 64, 0);
        }
        ts_assert_heap_sane(th, NULL);
        uint8_t *q = g_live.b[2].ptr;
        uint8_t saved[4];
        memcpy(saved, q - 4, 4);
        uint32_t word;
        memcpy(&word, saved, 4);

        /* Garbage span, flags clear. */
        static const uint32_t smash[] = {0xFFFFFFF0u, 0x7FFFFFF8u, 0, 8u};
        for (size_t i = 0; i < TS_ARRAY_LEN(smash); i++) {
            ts_context("strategy %s granularity %zu header 0x%08x", ts_strategy_label(s),
                       grans[gi], (unsigned)smash[i]);
            memcpy(q - 4, &smash[i], 4);
            expect_corrupt(th, "a smashed block header");
            size_t n = 0;
            (void)rtm_heap_walk(th->heap, count_blocks, &n); /* must not crash */
            /* Freeing a block whose span leaves the heap (or is 0) is
             * refused, not acted on. */
            if (smash[i] != 8u && ts_frees(s)) {
                rtm_free(th->heap, q);
                ts_expect_misuse_any(th, TS_MISUSE_BIT(RTM_MISUSE_CORRUPT_BLOCK) |
                                             TS_MISUSE_BIT(RTM_MISUSE_INVALID_POINTER),
                                     q);
            } else {
                ts_hooks_clear(&th->rec);
            }
            memcpy(q - 4, saved, 4);
            ts_assert_heap_sane(th, NULL);
        }
        ts_context("strategy %s granularity %zu", ts_strategy_label(s), grans[gi]);

        /* A span that is off by one granule. */
        uint32_t w2 = word + (uint32_t)grans[gi];
        memcpy(q - 4, &w2, 4);
        expect_corrupt(th, "a block span one granule too long");
        w2 = word - (uint32_t)grans[gi];
        memcpy(q - 4, &w2, 4);
        expect_corrupt(th, "a block span one granule too short");
        memcpy(q - 4, saved, 4);
        ts_assert_heap_sane(th, NULL);

        /* A used block marked free. */
        w2 = word | 1u;
        memcpy(q - 4, &w2, 4);
        expect_corrupt(th, "a used block flagged free");
        memcpy(q - 4, saved, 4);
        ts_assert_heap_sane(th, NULL);

        /* Walk of a smashed heap reports it. */
        w2 = 0xFFFFFFF0u;
        memcpy(q - 4, &w2, 4);
        size_t n = 0;
        assert_false(rtm_heap_walk(th->heap, count_blocks, &n));
        memcpy(q - 4, saved, 4);

        if (ts_frees(s)) {
            /* A free block's header and its free-list links. */
            uint8_t *f = g_live.b[3].ptr;
            rtm_free(th->heap, f);
            ts_live_remove(&g_live, 3);
            ts_assert_heap_sane(th, NULL);
            memcpy(saved, f - 4, 4);
            w2 = 0xFFFFFFF0u;
            memcpy(f - 4, &w2, 4);
            expect_corrupt(th, "a smashed free block header");
            memcpy(f - 4, saved, 4);
            ts_assert_heap_sane(th, NULL);
            w2 = 0;
            memcpy(f - 4, &w2, 4);
            expect_corrupt(th, "a zeroed free block header");
            memcpy(f - 4, saved, 4);
            ts_assert_heap_sane(th, NULL);
            uint8_t links[8];
            memcpy(links, f, 8);
            memset(f, 0xEE, 8);
            expect_corrupt(th, "smashed free-list links");
            memcpy(f, links, 8);
            ts_assert_heap_sane(th, NULL);
        }
        ts_live_verify(&g_live, th);
        ts_heap_close(th);
    }
}

/* ------------------------------------------------------------------ */
/* Walk                                                                */

typedef struct walk_seen {
    size_t calls;
    size_t stop_after;
    size_t matched;
    const ts_live_t *live;
    bool size_mismatch;
} walk_seen_t;

static bool walk_match(const rtm_block_info_t *b, void *ctx)
{
    walk_seen_t *w = ctx;
    w->calls++;
    if (b->used) {
        size_t i = ts_live_find(w->live, b->ptr);
        if (i != SIZE_MAX) {
            w->matched++;
            if (w->live->b[i].usable != b->size) {
                w->size_mismatch = true;
            }
        }
    }
    return w->stop_after == 0 || w->calls < w->stop_after;
}

static void test_walk(void **state)
{
    rtm_strategy_id_t s = begin(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    ts_live_init(&g_live);
    for (int k = 0; k < 10; k++) {
        size_t sz = 16u + (size_t)k * 50u;
        (void)ts_live_add(&g_live, th, rtm_malloc(th->heap, sz), sz, 0);
    }
    if (ts_frees(s)) {
        rtm_free(th->heap, g_live.b[4].ptr);
        ts_live_remove(&g_live, 4);
    }
    walk_seen_t w;
    memset(&w, 0, sizeof w);
    w.live = &g_live;
    assert_true(rtm_heap_walk(th->heap, walk_match, &w));
    assert_int_equal(w.matched, g_live.n); /* every live block, with its usable size */
    assert_false(w.size_mismatch);
    assert_true(w.calls >= g_live.n);

    /* Returning false stops the walk; that is not a corrupt heap. */
    memset(&w, 0, sizeof w);
    w.live = &g_live;
    w.stop_after = 1;
    assert_true(rtm_heap_walk(th->heap, walk_match, &w));
    assert_int_equal(w.calls, 1);
    memset(&w, 0, sizeof w);
    w.live = &g_live;
    w.stop_after = 3;
    assert_true(rtm_heap_walk(th->heap, walk_match, &w));
    assert_int_equal(w.calls, 3);

    if (ts_has_block_layout(s)) {
        ts_walk_totals_t t;
        ts_walk_totals(th->heap, &t);
        assert_true(t.ascending);
        assert_true((uintptr_t)t.first > (uintptr_t)th->mem);
    }
    ts_assert_heap_sane(th, NULL);
    ts_expect_no_hooks(th);
}

/* ------------------------------------------------------------------ */
/* Heaps inside heaps                                                  */

static void test_heap_create(void **state)
{
    rtm_strategy_id_t s = begin(state);
    assert_null(rtm_heap_create(NULL, 4096, NULL));
    rtm_heap_destroy(NULL);
    ts_heap_t *th = ts_heap_open(s, 0);
    static const rtm_strategy_id_t kids[] = {RTM_TLSF, RTM_FIRST_FIT, RTM_BUMP};
    for (size_t k = 0; k < TS_ARRAY_LEN(kids); k++) {
        ts_context("parent %s child %s", ts_strategy_label(s), ts_strategy_label(kids[k]));
        rtm_heap_info_t before, after;
        ts_assert_heap_sane(th, &before);
        rtm_heap_config_t cfg;
        memset(&cfg, 0, sizeof cfg);
        cfg.strategy = rtm_strategy_by_id(kids[k]);
        cfg.name = "child";
        cfg.on_alloc_failed = ts_on_alloc_failed;
        cfg.on_misuse = ts_on_misuse;
        ts_hooks_t child_rec;
        memset(&child_rec, 0, sizeof child_rec);
        cfg.hook_ctx = &child_rec;
        rtm_heap_t *child = rtm_heap_create(th->heap, 8192, &cfg);
        assert_non_null(child);
        ts_expect_no_hooks(th);
        assert_int_equal((uintptr_t)child & (RTM_HEAP_MEM_ALIGN - 1u), 0);
        assert_int_equal(rtm_heap_strategy(child), kids[k]);
        assert_string_equal(rtm_heap_name(child), "child");
        ts_assert_heap_sane(th, &after);
        assert_int_equal(after.used_blocks, before.used_blocks + 1u);
        assert_int_equal(after.alloc_count, before.alloc_count + 1u);
        assert_true(rtm_usable_size(th->heap, child) >= 8192u);
        ts_expect_no_hooks(th);
        rtm_heap_info_t ci;
        assert_true(rtm_heap_info(child, &ci));
        assert_int_equal(ci.total_bytes, 8192);
        assert_int_equal(ci.free_bytes + ci.allocated_bytes + ci.overhead_bytes, ci.total_bytes);

        /* The child works, and its blocks lie inside the parent's block. */
        void *a = rtm_malloc(child, 1000);
        void *b = rtm_calloc(child, 10, 10);
        assert_non_null(a);
        assert_non_null(b);
        assert_true((uintptr_t)a > (uintptr_t)child);
        assert_true((uintptr_t)a + 1000u <= (uintptr_t)child + 8192u);
        memset(a, 0x5A, 1000);
        assert_null(rtm_malloc(child, 8192));
        assert_int_equal(child_rec.failed_calls, 1);
        assert_int_equal(child_rec.failed_reason, RTM_FAIL_TOO_LARGE);
        if (ts_frees(kids[k])) {
            rtm_free(child, a);
        }
        assert_true(rtm_heap_check(child, NULL));
        assert_true(rtm_heap_check(th->heap, NULL));
        ts_expect_no_hooks(th); /* the child's failure went to the child's hook */

        /* Destroy gives the bytes back to the parent; a bump parent, which
         * never frees, keeps them, and nothing is reported. */
        rtm_heap_destroy(child);
        ts_expect_no_hooks(th);
        ts_assert_heap_sane(th, &after);
        if (!ts_frees(s)) {
            assert_int_equal(after.used_blocks, before.used_blocks + 1u);
            assert_int_equal(after.free_count, before.free_count);
            continue;
        }
        assert_int_equal(after.used_blocks, before.used_blocks);
        assert_int_equal(after.allocated_bytes, before.allocated_bytes);
        assert_int_equal(after.free_count, before.free_count + 1u);
        if (ts_coalesces(s) || s == RTM_SYSTEM) {
            assert_int_equal(after.free_bytes, before.free_bytes);
        }
    }
    ts_context("parent %s", ts_strategy_label(s));

    /* The parent cannot give the bytes: NULL, the parent's hook runs. */
    rtm_heap_info_t before, after;
    ts_assert_heap_sane(th, &before);
    assert_null(rtm_heap_create(th->heap, 1024u * 1024u, NULL));
    ts_expect_failure(th, RTM_FAIL_TOO_LARGE);
    ts_assert_heap_sane(th, &after);
    before.failed_count++;
    ts_assert_info_equal(&before, &after);

    /* rtm_heap_init would refuse the bytes: NULL, and the parent is not
     * asked for them (a bump parent could not take them back). */
    ts_assert_heap_sane(th, &before);
    assert_null(rtm_heap_create(th->heap, 16, NULL));
    ts_expect_no_hooks(th);
    ts_assert_heap_sane(th, &after);
    ts_assert_info_equal(&before, &after);

    /* rtm_heap_destroy of a heap made by rtm_heap_init only deinitialises
     * it: its memory is the caller's, the other heap is not touched. */
    ts_heap_t *plain = ts_heap_open(RTM_TLSF, 0);
    ts_assert_heap_sane(th, &before);
    rtm_heap_destroy(plain->heap);
    plain->heap = NULL;
    ts_assert_heap_sane(th, &after);
    ts_assert_info_equal(&before, &after);
    ts_expect_no_hooks(th);
}

/* ------------------------------------------------------------------ */
/* Threads                                                             */

#if defined(RTM_PORT_POSIX)
#define THREADS 4
#define THREAD_OPS 4000u
#define THREAD_SLOTS 24u

typedef struct thread_arg {
    rtm_heap_t *heap;
    unsigned id;
    size_t allocs;
    size_t frees;
    size_t failures;
    size_t damaged;
} thread_arg_t;

static void *thread_main(void *argp)
{
    thread_arg_t *a = argp;
    ts_rng_t rng;
    ts_rng_seed(&rng, 0xABCDu * (a->id + 1u));
    uint8_t *slot[THREAD_SLOTS];
    size_t len[THREAD_SLOTS];
    uint32_t seed[THREAD_SLOTS];
    memset(slot, 0, sizeof slot);
    for (unsigned k = 0; k < THREAD_OPS; k++) {
        size_t i = ts_rng_range(&rng, 0, THREAD_SLOTS - 1u);
        if (slot[i] != NULL) {
            if (ts_pattern_check(slot[i], len[i], seed[i]) != len[i]) {
                a->damaged++;
            }
            if (ts_rng_chance(&rng, 20)) {
                size_t n = ts_rng_log_uniform(&rng, 1, 600);
                uint8_t *q = rtm_realloc(a->heap, slot[i], n);
                if (q == NULL) {
                    a->failures++;
                    continue;
                }
                size_t keep = n < len[i] ? n : len[i];
                if (ts_pattern_check(q, keep, seed[i]) != keep) {
                    a->damaged++;
                }
                if (q != slot[i]) {
                    a->allocs++;
                    a->frees++;
                }
                slot[i] = q;
                len[i] = n;
                seed[i] = a->id * 100000u + k;
                ts_pattern_fill(q, n, seed[i]);
            } else {
                rtm_free(a->heap, slot[i]);
                slot[i] = NULL;
                a->frees++;
            }
        } else {
            size_t n = ts_rng_log_uniform(&rng, 1, 600);
            uint8_t *p = ts_rng_chance(&rng, 20) ? rtm_aligned_alloc(a->heap, 64, n)
                                                 : rtm_malloc(a->heap, n);
            if (p == NULL) {
                a->failures++;
                continue;
            }
            a->allocs++;
            slot[i] = p;
            len[i] = n;
            seed[i] = a->id * 100000u + k;
            ts_pattern_fill(p, n, seed[i]);
        }
    }
    for (size_t i = 0; i < THREAD_SLOTS; i++) {
        if (slot[i] != NULL) {
            if (ts_pattern_check(slot[i], len[i], seed[i]) != len[i]) {
                a->damaged++;
            }
            rtm_free(a->heap, slot[i]);
            a->frees++;
        }
    }
    return NULL;
}
#endif

static void test_threads(void **state)
{
    rtm_strategy_id_t s = begin(state);
#if defined(RTM_PORT_POSIX)
    if (!ts_frees(s)) {
        print_message("      %s never frees: skipped\n", ts_strategy_label(s));
        skip();
    }
    ts_heap_t *th = ts_heap_open(s, 0);
    /* The recorder is not thread-safe: no failed hook; misuse must not
     * happen at all. */
    rtm_heap_set_hooks(th->heap, NULL, ts_on_misuse, &th->rec);
    ts_pattern_prepare();
    pthread_t tid[THREADS];
    thread_arg_t args[THREADS];
    for (unsigned t = 0; t < THREADS; t++) {
        memset(&args[t], 0, sizeof args[t]);
        args[t].heap = th->heap;
        args[t].id = t;
        assert_int_equal(pthread_create(&tid[t], NULL, thread_main, &args[t]), 0);
    }
    size_t allocs = 0, frees = 0, failures = 0, damaged = 0;
    for (unsigned t = 0; t < THREADS; t++) {
        assert_int_equal(pthread_join(tid[t], NULL), 0);
        allocs += args[t].allocs;
        frees += args[t].frees;
        failures += args[t].failures;
        damaged += args[t].damaged;
    }
    assert_int_equal(damaged, 0);
    ts_expect_no_hooks(th);
    rtm_heap_info_t info;
    ts_assert_heap_sane(th, &info);
    assert_int_equal(info.used_blocks, 0);
    assert_int_equal(info.allocated_bytes, 0);
    assert_int_equal(info.alloc_count, allocs);
    assert_int_equal(info.free_count, frees);
    assert_int_equal(info.failed_count, failures);
    assert_free_restored(th, &info);
    assert_true(allocs > (size_t)THREADS * THREAD_OPS / 4u);
    if (ts_coalesces(s)) {
        assert_int_equal(info.free_blocks, 1);
        assert_int_equal(info.largest_free_block, th->initial.largest_free_block);
    }
#else
    (void)s;
    print_message("      not the posix port: skipped\n");
    skip();
#endif
}


/* heap.h: rtm_heap_free_bytes and rtm_heap_min_free_bytes are O(1) for
 * every strategy, a counter read under the lock. First and best fit find
 * their largest free block by walking the free list, so a shortcut that
 * went through rtm_heap_info (as rtm_heap_free_bytes did) cost O(free
 * blocks) with the lock held: FreeRTOS's xPortGetFreeHeapSize, with the
 * scheduler suspended. The heap runs on a copy of the strategy's ops
 * table whose largest_free counts its calls: the two shortcuts must make
 * none and agree with rtm_heap_info, which makes one. */
static const rtm_strategy_t *g_counted_ops;
static unsigned g_largest_free_calls;

static size_t counting_largest_free(const void *arena)
{
    g_largest_free_calls++;
    return g_counted_ops->largest_free(arena);
}

static void test_counter_shortcuts(void **state)
{
    rtm_strategy_id_t s = begin(state);
    g_counted_ops = rtm_strategy_by_id(s);
    assert_non_null(g_counted_ops);
    rtm_strategy_t counting = *g_counted_ops;
    counting.largest_free = counting_largest_free;
    RTM_HEAP_STORAGE(region, 16384);
    rtm_heap_config_t cfg = {.strategy = &counting, .flags = RTM_HEAP_NO_LOCK};
    rtm_heap_t *h = rtm_heap_init(region, sizeof region, &cfg);
    assert_non_null(h);
    void *p[40];
    for (size_t i = 0; i < TS_ARRAY_LEN(p); i++) {
        p[i] = rtm_malloc(h, 24u + 8u * (i % 5u));
        assert_non_null(p[i]);
    }
    if (s != RTM_BUMP) {
        /* Every other block: as many free blocks as a list can hold. */
        for (size_t i = 0; i < TS_ARRAY_LEN(p); i += 2u) {
            rtm_free(h, p[i]);
        }
    }
    g_largest_free_calls = 0;
    size_t free_bytes = rtm_heap_free_bytes(h);
    size_t min_free = rtm_heap_min_free_bytes(h);
    assert_int_equal(g_largest_free_calls, 0);
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(h, &info));
    assert_int_equal(g_largest_free_calls, 1);
    assert_int_equal(free_bytes, info.free_bytes);
    assert_int_equal(min_free, info.min_free_bytes);
    assert_int_equal(rtm_heap_largest_free(h), info.largest_free_block);
    assert_int_equal(g_largest_free_calls, 2);
    rtm_heap_deinit(h);
}

/* ------------------------------------------------------------------ */

typedef struct test_def {
    const char *name;
    CMUnitTestFunction fn;
} test_def_t;

static const test_def_t k_tests[] = {
    {"init_arguments", test_init_arguments},
    {"strings", test_strings},
    {"null_heap", test_null_heap},
    {"size_zero", test_size_zero},
    {"alignment_granularity", test_alignment_granularity},
    {"aligned_alloc", test_aligned_alloc},
    {"no_overlap", test_no_overlap},
    {"calloc", test_calloc_zeroes},
    {"huge_requests", test_huge_requests},
    {"realloc_basic", test_realloc_basic},
    {"realloc_in_place", test_realloc_in_place},
    {"realloc_failure", test_realloc_failure},
    {"statistics", test_statistics},
    {"counter_shortcuts", test_counter_shortcuts},
    {"fragmentation", test_fragmentation},
    {"exhaustion", test_exhaustion},
    {"plain_counters", test_plain_counters},
    {"free_all_restores", test_free_all_restores},
    {"misuse_double_free", test_misuse_double_free},
    {"free_sized", test_free_sized},
    {"misuse_foreign", test_misuse_foreign},
    {"misuse_control_block", test_misuse_control_block},
    {"misuse_interior", test_misuse_interior},
    {"bump_free_refused", test_bump_free_refused},
    {"default_misuse_hook", test_default_misuse_hook},
#if defined(RTM_PORT_POSIX)
    {"hooks_outside_lock", test_hooks_outside_lock},
#endif
    {"check_detects_corruption", test_check_detects_corruption},
    {"walk", test_walk},
    {"heap_create", test_heap_create},
    {"threads", test_threads},
};

#define N_STRATEGIES TS_ARRAY_LEN(k_strategies)
#define N_TESTS TS_ARRAY_LEN(k_tests)

int main(void)
{
    static struct CMUnitTest tests[N_STRATEGIES * N_TESTS];
    static char names[N_STRATEGIES * N_TESTS][64];
    size_t n = 0;
    for (size_t si = 0; si < N_STRATEGIES; si++) {
        for (size_t ti = 0; ti < N_TESTS; ti++) {
            (void)snprintf(names[n], sizeof names[n], "%s/%s",
                           ts_strategy_label(k_strategies[si]), k_tests[ti].name);
            tests[n].name = names[n];
            tests[n].test_func = k_tests[ti].fn;
            tests[n].setup_func = NULL;
            tests[n].teardown_func = ts_teardown_close_all;
            tests[n].initial_state = (void *)(uintptr_t)&k_strategies[si];
            n++;
        }
    }
    return cmocka_run_group_tests_name("rtmem heap conformance", tests, NULL, NULL);
}
