/*
 * Tests for include/rtmem/pool.h: fixed-block pools, blocking allocation,
 * misuse detection, statistics, rtm_pool_check, the three ways of creating
 * a pool, and size-class sets. The blocking tests run real threads on the
 * posix port; on the none port they check that nothing blocks.
 */
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* pthreads, clock_gettime, nanosleep */
#endif

#include "support/test_support.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtmem/pool.h"

#if defined(RTM_PORT_POSIX)
#include <pthread.h>
#include <stdatomic.h>
#endif

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

#define ARENA_BYTES (64u * 1024u)

/* Pool storage for most tests; 64-aligned so any test alignment fits. */
static _Alignas(64) uint8_t g_storage[ARENA_BYTES];
static rtm_pool_t g_ctl;

/* What the pool hooks saw. */
typedef struct pool_rec {
    unsigned misuse_calls;
    rtm_pool_t *misuse_pool;
    rtm_misuse_t misuse_kind;
    const void *misuse_address;
    unsigned failed_calls;
    rtm_pool_t *failed_pool;
    rtm_fail_reason_t failed_reason;
    bool probe;              /* hooks call rtm_pool_info/check: they must run unlocked */
    unsigned probe_failures;
} pool_rec_t;

static pool_rec_t g_rec;

static void probe(rtm_pool_t *pool)
{
    if (g_rec.probe) {
        rtm_pool_info_t info;
        if (!rtm_pool_info(pool, &info) || !rtm_pool_check(pool, NULL)) {
            g_rec.probe_failures++;
        }
    }
}

static void rec_misuse(rtm_pool_t *pool, rtm_misuse_t kind, const void *address, void *ctx)
{
    pool_rec_t *rec = ctx;
    rec->misuse_calls++;
    rec->misuse_pool = pool;
    rec->misuse_kind = kind;
    rec->misuse_address = address;
    probe(pool);
}

static void rec_failed(rtm_pool_t *pool, rtm_fail_reason_t reason, void *ctx)
{
    pool_rec_t *rec = ctx;
    rec->failed_calls++;
    rec->failed_pool = pool;
    rec->failed_reason = reason;
    probe(pool);
}

static rtm_pool_config_t cfg_of(size_t block_size, size_t count, size_t alignment, uint32_t flags)
{
    rtm_pool_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.block_size = block_size;
    cfg.count = count;
    cfg.alignment = alignment;
    cfg.flags = flags;
    cfg.name = "test";
    cfg.on_misuse = rec_misuse;
    cfg.on_alloc_failed = rec_failed;
    cfg.hook_ctx = &g_rec;
    return cfg;
}

/* A pool at g_storage + offset (a multiple of 64) with the recorder hooks. */
static rtm_pool_t *open_pool_at(size_t offset, size_t block_size, size_t count, size_t alignment,
                                uint32_t flags)
{
    memset(&g_rec, 0, sizeof g_rec);
    rtm_pool_config_t cfg = cfg_of(block_size, count, alignment, flags);
    uint8_t *mem = g_storage + offset;
    size_t size = sizeof g_storage - offset;
    rtm_pool_err_t err = rtm_pool_init_error(&g_ctl, mem, size, &cfg);
    if (err != RTM_POOL_OK) {
        ts_fail("pool %zu x %zu align %zu refused: %s", block_size, count, alignment,
                rtm_pool_err_str(err));
    }
    rtm_pool_t *p = rtm_pool_init(&g_ctl, mem, size, &cfg);
    assert_ptr_equal(p, &g_ctl);
    return p;
}

static rtm_pool_t *open_pool(size_t block_size, size_t count, size_t alignment, uint32_t flags)
{
    return open_pool_at(0, block_size, count, alignment, flags);
}

static rtm_pool_info_t info_of(rtm_pool_t *p)
{
    rtm_pool_info_t info;
    assert_true(rtm_pool_info(p, &info));
    return info;
}

static void assert_check_at(rtm_pool_t *p, const char *file, int line)
{
    rtm_check_report_t r = {NULL, NULL};
    if (!rtm_pool_check(p, &r)) {
        ts_fail_at(file, line, "rtm_pool_check: %s at %p", r.problem, r.address);
    }
    rtm_pool_info_t info = info_of(p);
    if (info.used + info.free != info.capacity || info.peak_used < info.used) {
        ts_fail_at(file, line, "info: used %zu + free %zu != capacity %zu, or peak %zu < used",
                   info.used, info.free, info.capacity, info.peak_used);
    }
}
#define assert_check(p) assert_check_at((p), __FILE__, __LINE__)

/* Exactly one misuse of this kind at this address since the last clear. */
static void expect_misuse_at(rtm_pool_t *p, rtm_misuse_t kind, const void *address,
                             const char *file, int line)
{
    if (g_rec.misuse_calls != 1 || g_rec.misuse_kind != kind || g_rec.misuse_address != address ||
        g_rec.misuse_pool != p || g_rec.failed_calls != 0) {
        ts_fail_at(file, line,
                   "expected one misuse %d at %p; got %u calls, last kind %d at %p, %u failures",
                   (int)kind, address, g_rec.misuse_calls, (int)g_rec.misuse_kind,
                   g_rec.misuse_address, g_rec.failed_calls);
    }
    g_rec.misuse_calls = 0;
    g_rec.misuse_address = NULL;
}
#define expect_misuse(p, kind, address) expect_misuse_at((p), (kind), (address), __FILE__, __LINE__)

static void expect_no_hooks_at(const char *file, int line)
{
    if (g_rec.misuse_calls != 0 || g_rec.failed_calls != 0) {
        ts_fail_at(file, line, "unexpected hook calls: %u misuse, %u failed", g_rec.misuse_calls,
                   g_rec.failed_calls);
    }
}
#define expect_no_hooks() expect_no_hooks_at(__FILE__, __LINE__)

static int cmp_ptr(const void *a, const void *b)
{
    uintptr_t x = (uintptr_t) * (void *const *)a;
    uintptr_t y = (uintptr_t) * (void *const *)b;
    return x < y ? -1 : x > y ? 1 : 0;
}

/* All n blocks are distinct, aligned, inside the pool and at least span apart. */
static void assert_blocks_sane(rtm_pool_t *p, void **blocks, size_t n)
{
    rtm_pool_info_t info = info_of(p);
    void **sorted = malloc(n * sizeof *sorted);
    assert_non_null(sorted);
    memcpy(sorted, blocks, n * sizeof *sorted);
    qsort(sorted, n, sizeof *sorted, cmp_ptr);
    for (size_t i = 0; i < n; i++) {
        assert_non_null(sorted[i]);
        assert_true(rtm_pool_contains(p, sorted[i]));
        assert_int_equal((uintptr_t)sorted[i] % info.alignment, 0);
        if (i > 0) {
            assert_true((uintptr_t)sorted[i] - (uintptr_t)sorted[i - 1] >= info.block_size);
        }
    }
    free(sorted);
}

#if defined(RTM_PORT_POSIX)
static double now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec * 1000.0 + (double)ts.tv_nsec / 1e6;
}

static void sleep_ms(unsigned ms)
{
    struct timespec ts = {(time_t)(ms / 1000u), (long)(ms % 1000u) * 1000000L};
    nanosleep(&ts, NULL);
}
#endif

#if defined(RTM_PORT_POSIX)
static void join_leftover_waiters(void);
#endif

static int teardown(void **state)
{
    (void)state;
#if defined(RTM_PORT_POSIX)
    join_leftover_waiters();
#endif
    ts_output_release();
    ts_heap_close_all();
    return 0;
}

/* ------------------------------------------------------------------ */
/* Geometry and init                                                   */

static void test_geometry_rules(void **state)
{
    (void)state;
    static const size_t sizes[] = {1, 3, 4, 5, 7, 8, 9, 12, 13, 16, 17, 20, 24, 31, 32, 33, 63, 64, 100, 1000};
    static const size_t aligns[] = {0, 1, 2, 4, 8, 16, 32, 64};
    static const size_t counts[] = {1, 2, 31, 32, 33, 100};
    for (size_t a = 0; a < TS_ARRAY_LEN(aligns); a++) {
        size_t eff = aligns[a] == 0 ? RTM_DEFAULT_ALIGN : aligns[a] < 4 ? 4 : aligns[a];
        assert_int_equal(RTM_POOL_EFFECTIVE_ALIGN(aligns[a]), eff);
        assert_int_equal(RTM_POOL_EFFECTIVE_ALIGN(3u), 3); /* refused later, not rounded */
        for (size_t s = 0; s < TS_ARRAY_LEN(sizes); s++) {
            size_t span = RTM_POOL_SPAN(sizes[s], aligns[a]);
            ts_context("size %zu align %zu", sizes[s], aligns[a]);
            assert_true(span >= sizes[s] && span >= 4u);
            assert_int_equal(span % eff, 0);
            assert_true(span - (sizes[s] < 4 ? 4 : sizes[s]) < eff); /* the least that fits */
            for (size_t c = 0; c < TS_ARRAY_LEN(counts); c++) {
                size_t n = counts[c];
                size_t bitmap = (n + 31u) / 32u * 4u;
                assert_int_equal(RTM_POOL_STORAGE_SIZE(sizes[s], n, aligns[a]), span * n + bitmap);
                assert_int_equal(rtm_pool_storage_size(sizes[s], n, aligns[a], 0), span * n + bitmap);
                assert_int_equal(rtm_pool_storage_size(sizes[s], n, aligns[a], RTM_POOL_NO_BITMAP),
                                 span * n);
                /* And init agrees: the block size it reports is the span. */
                if (span * n + bitmap <= sizeof g_storage) {
                    rtm_pool_t *p = open_pool(sizes[s], n, aligns[a], 0);
                    rtm_pool_info_t info = info_of(p);
                    assert_int_equal(info.block_size, span);
                    assert_int_equal(rtm_pool_block_size(p), span);
                    assert_int_equal(info.alignment, eff);
                    assert_int_equal(info.capacity, n);
                    assert_int_equal(info.free, n);
                    assert_int_equal(info.used, 0);
                    assert_check(p);
                    assert_true(rtm_pool_deinit(p));
                }
            }
        }
    }
    ts_context(NULL);
}

static void test_init_errors(void **state)
{
    (void)state;
    rtm_pool_config_t cfg = cfg_of(16, 10, 8, 0);
    size_t need = rtm_pool_storage_size(16, 10, 8, 0);
    assert_int_equal(need, 16u * 10u + 4u);

    assert_int_equal(rtm_pool_init_error(NULL, g_storage, need, &cfg), RTM_POOL_ERR_NULL);
    assert_int_equal(rtm_pool_init_error(&g_ctl, NULL, need, &cfg), RTM_POOL_ERR_NULL);
    assert_int_equal(rtm_pool_init_error(&g_ctl, g_storage, need, NULL), RTM_POOL_ERR_NULL);
    assert_int_equal(rtm_pool_init_error(&g_ctl, g_storage + 4, need, &cfg), RTM_POOL_ERR_MISALIGNED);
    assert_int_equal(rtm_pool_init_error(&g_ctl, g_storage, need - 1u, &cfg), RTM_POOL_ERR_TOO_SMALL);
    assert_int_equal(rtm_pool_init_error(&g_ctl, g_storage, need, &cfg), RTM_POOL_OK);

    rtm_pool_config_t bad = cfg;
    bad.block_size = 0;
    assert_int_equal(rtm_pool_init_error(&g_ctl, g_storage, need, &bad), RTM_POOL_ERR_ZERO);
    bad = cfg;
    bad.count = 0;
    assert_int_equal(rtm_pool_init_error(&g_ctl, g_storage, need, &bad), RTM_POOL_ERR_ZERO);
    bad = cfg;
    bad.alignment = 12;
    assert_int_equal(rtm_pool_init_error(&g_ctl, g_storage, need, &bad), RTM_POOL_ERR_BAD_ALIGNMENT);
    bad.alignment = 3;
    assert_int_equal(rtm_pool_init_error(&g_ctl, g_storage, need, &bad), RTM_POOL_ERR_BAD_ALIGNMENT);
    /* 2^32 bytes of spans or more: refused, also without wrapping. */
    bad = cfg;
    bad.count = (size_t)UINT32_MAX / 16u + 1u;
    assert_int_equal(rtm_pool_init_error(&g_ctl, g_storage, SIZE_MAX, &bad), RTM_POOL_ERR_TOO_LARGE);
    assert_int_equal(rtm_pool_storage_size(16, bad.count, 8, 0), 0);
    bad.count = (size_t)UINT32_MAX / 16u; /* the largest geometry allowed... */
    if (sizeof(size_t) > 4u) {
        assert_int_equal(rtm_pool_storage_size(16, bad.count, 8, 0),
                         (uint64_t)bad.count * 16u + (bad.count + 31u) / 32u * 4u);
    } else {
        /* ...whose blocks plus bitmap exceed a 32-bit size_t: 0, not a wrap */
        assert_int_equal(rtm_pool_storage_size(16, bad.count, 8, 0), 0);
        assert_int_equal(rtm_pool_init_error(&g_ctl, g_storage, SIZE_MAX, &bad),
                         RTM_POOL_ERR_TOO_LARGE);
    }
    bad = cfg;
    bad.block_size = SIZE_MAX;
    assert_int_equal(rtm_pool_init_error(&g_ctl, g_storage, SIZE_MAX, &bad), RTM_POOL_ERR_TOO_LARGE);
    bad.block_size = SIZE_MAX - 3u;
    assert_int_equal(rtm_pool_storage_size(bad.block_size, 1, 8, 0), 0);
    bad = cfg;
    bad.alignment = (size_t)1u << 31; /* one 2 GiB block fits the 32-bit offsets, two do not */
    bad.count = 1;
    assert_int_equal(rtm_pool_init_error(&g_ctl, g_storage, SIZE_MAX, &bad), RTM_POOL_ERR_MISALIGNED);
    bad.count = 2;
    assert_int_equal(rtm_pool_init_error(&g_ctl, g_storage, SIZE_MAX, &bad), RTM_POOL_ERR_TOO_LARGE);
    assert_int_equal(rtm_pool_storage_size(16, 2, (size_t)1u << 31, 0), 0);
    assert_int_equal(rtm_pool_storage_size(0, 2, 8, 0), 0);
    assert_int_equal(rtm_pool_storage_size(8, 0, 8, 0), 0);
    assert_int_equal(rtm_pool_storage_size(8, 2, 6, 0), 0);

    /* Each refusal leaves a NULL result and the control block unusable. */
    memset(&g_ctl, 0, sizeof g_ctl);
    assert_null(rtm_pool_init(&g_ctl, g_storage, need - 1u, &cfg));
    assert_null(rtm_pool_init(&g_ctl, g_storage + 4, need, &cfg));
    assert_null(rtm_pool_alloc(&g_ctl));
    assert_false(rtm_pool_check(&g_ctl, NULL));

    /* Without the bitmap the storage is exactly the spans. */
    cfg.flags = RTM_POOL_NO_BITMAP;
    assert_int_equal(rtm_pool_init_error(&g_ctl, g_storage, 160, &cfg), RTM_POOL_OK);
    assert_non_null(rtm_pool_init(&g_ctl, g_storage, 160, &cfg));
    assert_true(rtm_pool_deinit(&g_ctl));

    /* Error strings: all different, never NULL. */
    for (int e = RTM_POOL_OK; e <= RTM_POOL_ERR_TOO_LARGE; e++) {
        assert_non_null(rtm_pool_err_str((rtm_pool_err_t)e));
        for (int f = RTM_POOL_OK; f < e; f++) {
            assert_string_not_equal(rtm_pool_err_str((rtm_pool_err_t)e),
                                    rtm_pool_err_str((rtm_pool_err_t)f));
        }
    }
    assert_non_null(rtm_pool_err_str((rtm_pool_err_t)99));
}

static void test_null_and_uninitialised(void **state)
{
    (void)state;
    rtm_pool_t zero;
    memset(&zero, 0, sizeof zero);
    rtm_pool_t *pools[] = {NULL, &zero};
    int dummy = 0;
    for (size_t i = 0; i < 2; i++) {
        rtm_pool_t *p = pools[i];
        rtm_pool_info_t info;
        assert_null(rtm_pool_alloc(p));
        assert_null(rtm_pool_alloc_wait(p, 10));
        rtm_pool_free(p, &dummy);
        assert_false(rtm_pool_info(p, &info));
        assert_false(rtm_pool_check(p, NULL));
        assert_false(rtm_pool_contains(p, &dummy));
        assert_int_equal(rtm_pool_block_size(p), 0);
        assert_string_equal(rtm_pool_name(p), "(no pool)");
        assert_false(rtm_pool_deinit(p));
        assert_false(rtm_pool_delete(p));
        rtm_pool_reset_peak(p);
        rtm_pool_set_hooks(p, NULL, NULL, NULL);
    }
    rtm_check_report_t r = {NULL, NULL};
    assert_false(rtm_pool_check(NULL, &r));
    assert_string_equal(r.problem, "pool is NULL");
    assert_false(rtm_pool_check(&zero, &r));
    assert_ptr_equal(r.address, &zero);

    rtm_pool_t *p = open_pool(16, 4, 0, 0);
    assert_false(rtm_pool_info(p, NULL));
    rtm_pool_free(p, NULL); /* ignored, not reported */
    assert_false(rtm_pool_contains(p, NULL));
    expect_no_hooks();
    assert_string_equal(rtm_pool_name(p), "test");
    assert_check(p);
}

/* ------------------------------------------------------------------ */
/* Allocation, exhaustion, recovery                                    */

static void test_alloc_all_then_exhausted(void **state)
{
    (void)state;
    static const size_t geo[][3] = {{1, 1, 0},    {4, 7, 4},    {12, 33, 4}, {20, 100, 4},
                                    {24, 64, 8},  {64, 100, 0}, {100, 50, 32}, {13, 200, 1},
                                    {48, 257, 16}};
    for (size_t g = 0; g < TS_ARRAY_LEN(geo); g++) {
        for (uint32_t flags = 0; flags <= RTM_POOL_NO_BITMAP; flags += RTM_POOL_NO_BITMAP) {
            ts_context("geometry %zu flags %u", g, (unsigned)flags);
            size_t n = geo[g][1];
            rtm_pool_t *p = open_pool(geo[g][0], n, geo[g][2], flags);
            size_t span = rtm_pool_block_size(p);
            void **blocks = calloc(n, sizeof *blocks);
            assert_non_null(blocks);
            for (size_t i = 0; i < n; i++) {
                blocks[i] = rtm_pool_alloc(p);
                assert_non_null(blocks[i]);
                /* Every byte of the span is the caller's. */
                memset(blocks[i], (int)(i & 0xffu), span);
            }
            assert_blocks_sane(p, blocks, n);
            for (size_t i = 0; i < n; i++) {
                const uint8_t *b = blocks[i];
                for (size_t k = 0; k < span; k++) {
                    assert_int_equal(b[k], i & 0xffu);
                }
            }
            assert_check(p); /* the bitmap after the blocks survived the writes */
            expect_no_hooks();

            /* Exhausted: NULL, counted, hook told. */
            assert_null(rtm_pool_alloc(p));
            assert_int_equal(g_rec.failed_calls, 1);
            assert_ptr_equal(g_rec.failed_pool, p);
            assert_int_equal(g_rec.failed_reason, RTM_FAIL_NO_MEMORY);
            g_rec.failed_calls = 0;
            rtm_pool_info_t info = info_of(p);
            assert_int_equal(info.used, n);
            assert_int_equal(info.free, 0);
            assert_int_equal(info.failed_count, 1);

            /* Recovery: a freed block is the next one handed out. */
            void *mid = blocks[n / 2];
            rtm_pool_free(p, mid);
            assert_ptr_equal(rtm_pool_alloc(p), mid);
            assert_null(rtm_pool_alloc(p));
            g_rec.failed_calls = 0;

            for (size_t i = 0; i < n; i++) {
                rtm_pool_free(p, blocks[i]);
            }
            expect_no_hooks();
            info = info_of(p);
            assert_int_equal(info.used, 0);
            assert_int_equal(info.free, n);
            assert_int_equal(info.peak_used, n);
            assert_check(p);

            /* All of them again, in any order, still distinct. */
            for (size_t i = 0; i < n; i++) {
                blocks[i] = rtm_pool_alloc(p);
            }
            assert_blocks_sane(p, blocks, n);
            assert_check(p);
            free(blocks);
            assert_true(rtm_pool_deinit(p));
        }
    }
    ts_context(NULL);
}

static void test_lifo_and_fresh_order(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool(32, 8, 0, 0);
    uint8_t *a = rtm_pool_alloc(p);
    uint8_t *b = rtm_pool_alloc(p);
    uint8_t *c = rtm_pool_alloc(p);
    /* Never-used blocks come in address order. */
    assert_ptr_equal(b, a + 32);
    assert_ptr_equal(c, b + 32);
    assert_ptr_equal(a, g_storage);
    rtm_pool_free(p, a);
    rtm_pool_free(p, c);
    /* The free list is LIFO, and is used before untouched blocks. */
    assert_ptr_equal(rtm_pool_alloc(p), c);
    assert_ptr_equal(rtm_pool_alloc(p), a);
    assert_ptr_equal(rtm_pool_alloc(p), c + 32);
    assert_check(p);
}

#if !RTM_POOL_FILL
/* The pool writes only the link word of a freed block and never touches a
 * block it hands out: O(1) whatever the block size. */
static void test_contents_untouched_without_fill(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool(64, 4, 0, 0);
    uint8_t *a = rtm_pool_alloc(p);
    memset(a, 0x5A, 64);
    rtm_pool_free(p, a);
    for (size_t k = 4; k < 64; k++) {
        assert_int_equal(a[k], 0x5A);
    }
    assert_ptr_equal(rtm_pool_alloc(p), a);
    for (size_t k = 4; k < 64; k++) {
        assert_int_equal(a[k], 0x5A);
    }
}
#else
static void test_fill_patterns(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool(64, 4, 0, 0);
    uint8_t *a = rtm_pool_alloc(p);
    for (size_t k = 0; k < 64; k++) {
        assert_int_equal(a[k], RTM_FILL_FRESH);
    }
    memset(a, 0x5A, 64);
    rtm_pool_free(p, a);
    for (size_t k = 4; k < 64; k++) { /* the first 4 bytes hold the link */
        assert_int_equal(a[k], RTM_FILL_FREED);
    }
    assert_ptr_equal(rtm_pool_alloc(p), a);
    for (size_t k = 0; k < 64; k++) {
        assert_int_equal(a[k], RTM_FILL_FRESH);
    }
    assert_check(p);

    /* 10-byte blocks at alignment 8 span 16: the whole span is the
     * block's, the padding after byte 10 included. A double free leaves
     * the block as the first free left it. */
    p = open_pool(10, 4, 8, 0);
    size_t span = rtm_pool_block_size(p);
    assert_int_equal(span, 16);
    uint8_t *b = rtm_pool_alloc(p);
    for (size_t k = 0; k < span; k++) {
        assert_int_equal(b[k], RTM_FILL_FRESH);
    }
    memset(b, 0x5A, span);
    rtm_pool_free(p, b);
    for (size_t k = 4; k < span; k++) {
        assert_int_equal(b[k], RTM_FILL_FREED);
    }
    b[8] = 0x11;
    rtm_pool_free(p, b);
    assert_int_equal(g_rec.misuse_calls, 1);
    assert_int_equal(b[8], 0x11);
    b[8] = RTM_FILL_FREED;
    g_rec.misuse_calls = 0;
    assert_check(p);
}
#endif

/* ------------------------------------------------------------------ */
/* Misuse                                                              */

static void test_misuse_foreign(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool_at(64, 24, 10, 8, 0);
    void *a = rtm_pool_alloc(p);
    assert_non_null(a);
    rtm_pool_info_t before = info_of(p);
    int on_stack = 0;
    uint8_t *blocks = g_storage + 64;
    void *bad[] = {
        &on_stack,
        blocks - 8,            /* just before */
        blocks + 24 * 10,      /* one past the last block: the bitmap */
        blocks + 24 * 10 + 4,  /* past the bitmap */
        g_storage + sizeof g_storage - 8,
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(bad); i++) {
        ts_context("pointer %zu", i);
        assert_false(rtm_pool_contains(p, bad[i]));
        rtm_pool_free(p, bad[i]);
        expect_misuse(p, RTM_MISUSE_FOREIGN_POINTER, bad[i]);
        rtm_pool_info_t after = info_of(p);
        assert_memory_equal(&before, &after, sizeof before);
        assert_check(p);
    }
    ts_context(NULL);
    rtm_pool_free(p, a);
    expect_no_hooks();
}

/* Every byte address inside the pool: only block starts of live blocks may
 * be freed; all else is reported as invalid (never handed out or interior)
 * or a double free. Exercises the divide-free index computation on spans
 * with odd parts 1, 3, 5, 7, 9, 25 and a large power of two. */
static void test_misuse_every_interior_address(void **state)
{
    (void)state;
    static const size_t spans[] = {4, 8, 12, 20, 24, 28, 36, 100, 128, 4096};
    for (size_t s = 0; s < TS_ARRAY_LEN(spans); s++) {
        size_t span = spans[s];
        size_t n = span >= 1024 ? 6 : 37;
        rtm_pool_t *p = open_pool(span, n, 4, 0);
        assert_int_equal(rtm_pool_block_size(p), span);
        /* Blocks 0..n/2 live; n/2 free again; the rest never handed out. */
        size_t live = n / 2;
        for (size_t i = 0; i <= live; i++) {
            assert_ptr_equal(rtm_pool_alloc(p), g_storage + i * span);
        }
        rtm_pool_free(p, g_storage + live * span);
        rtm_pool_info_t before = info_of(p);
        for (size_t off = 0; off < n * span; off++) {
            uint8_t *q = g_storage + off;
            size_t block = off / span;
            if (off % span == 0 && block < live) {
                continue; /* a live block: freeing it is fine, tested elsewhere */
            }
            rtm_misuse_t want = off % span != 0  ? RTM_MISUSE_INVALID_POINTER
                                : block == live ? RTM_MISUSE_DOUBLE_FREE
                                                : RTM_MISUSE_INVALID_POINTER;
            rtm_pool_free(p, q);
            if (g_rec.misuse_calls != 1 || g_rec.misuse_kind != want || g_rec.misuse_address != q) {
                ts_fail("span %zu offset %zu: %u misuse calls, kind %d, want %d", span, off,
                        g_rec.misuse_calls, (int)g_rec.misuse_kind, (int)want);
            }
            g_rec.misuse_calls = 0;
        }
        rtm_pool_info_t after = info_of(p);
        assert_memory_equal(&before, &after, sizeof before);
        assert_check(p);
        /* Still whole: every block can be handed out exactly once. */
        for (size_t i = live; i < n; i++) {
            assert_non_null(rtm_pool_alloc(p));
        }
        assert_null(rtm_pool_alloc(p));
        assert_check(p);
        assert_true(rtm_pool_deinit(p));
    }
}

static void test_misuse_double_free(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool(16, 4, 0, 0);
    void *a = rtm_pool_alloc(p);
    void *b = rtm_pool_alloc(p);
    rtm_pool_free(p, a);
    rtm_pool_free(p, b);
    rtm_pool_info_t before = info_of(p);
    rtm_pool_free(p, a); /* not the last one freed: the bitmap sees it */
    expect_misuse(p, RTM_MISUSE_DOUBLE_FREE, a);
    rtm_pool_free(p, b);
    expect_misuse(p, RTM_MISUSE_DOUBLE_FREE, b);
    rtm_pool_info_t after = info_of(p);
    assert_memory_equal(&before, &after, sizeof before);
    assert_check(p);
    /* Intact: four distinct blocks, then none. */
    void *got[4];
    for (size_t i = 0; i < 4; i++) {
        got[i] = rtm_pool_alloc(p);
    }
    assert_blocks_sane(p, got, 4);
    assert_null(rtm_pool_alloc(p));
}

static void test_misuse_without_bitmap(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool_at(64, 16, 4, 0, RTM_POOL_NO_BITMAP);
    uint8_t *a = rtm_pool_alloc(p);
    uint8_t *b = rtm_pool_alloc(p);
    assert_non_null(rtm_pool_alloc(p)); /* a third live block keeps `used` from wrapping below */
    /* Foreign and interior pointers are still caught. */
    rtm_pool_free(p, a + 1);
    expect_misuse(p, RTM_MISUSE_INVALID_POINTER, a + 1);
    rtm_pool_free(p, a - 16);
    expect_misuse(p, RTM_MISUSE_FOREIGN_POINTER, a - 16);
    /* The double free of the block freed last is caught in O(1). */
    rtm_pool_free(p, a);
    rtm_pool_free(p, a);
    expect_misuse(p, RTM_MISUSE_DOUBLE_FREE, a);
    assert_check(p);
    /* An older one is not (documented); the free list then loops, which
     * rtm_pool_check reports. */
    rtm_pool_free(p, b);
    rtm_pool_free(p, a);
    expect_no_hooks();
    rtm_check_report_t r = {NULL, NULL};
    assert_false(rtm_pool_check(p, &r));
    assert_string_equal(r.problem, "free list has a cycle");
}

static void test_check_finds_damage(void **state)
{
    (void)state;
    rtm_check_report_t r = {NULL, NULL};
    rtm_pool_t *p = open_pool(16, 40, 0, 0);
    uint8_t *blk[6];
    for (size_t i = 0; i < 6; i++) {
        blk[i] = rtm_pool_alloc(p);
    }
    rtm_pool_free(p, blk[1]);
    rtm_pool_free(p, blk[3]); /* list: 3 -> 1 -> end */
    assert_check(p);

    /* A freed block written to: its link points past the watermark. */
    uint32_t saved;
    memcpy(&saved, blk[3], 4);
    uint32_t wild = 0x7fffffffu;
    memcpy(blk[3], &wild, 4);
    assert_false(rtm_pool_check(p, &r));
    assert_string_equal(r.problem, "free-list link points outside the blocks handed out");
    memcpy(blk[3], &saved, 4);
    assert_check(p);

    /* A link to a live block. */
    uint32_t live_index = 0;
    memcpy(blk[3], &live_index, 4);
    assert_false(rtm_pool_check(p, &r));
    assert_string_equal(r.problem, "free-list block is marked allocated in the bitmap");
    memcpy(blk[3], &saved, 4);

    /* A bitmap bit flipped: the live count disagrees. */
    uint8_t *bitmap = g_storage + 16 * 40;
    bitmap[0] ^= 0x01; /* block 0 marked free while live */
    assert_false(rtm_pool_check(p, &r));
    assert_string_equal(r.problem, "bitmap count differs from the used count");
    bitmap[0] ^= 0x01;
    bitmap[4] |= 0x80; /* block 39, never handed out, marked live */
    assert_false(rtm_pool_check(p, &r));
    assert_string_equal(r.problem, "a block never handed out is marked allocated");
    bitmap[4] &= 0x7f;
    assert_check(p);

    /* Counters damaged. */
    g_ctl.used++;
    assert_false(rtm_pool_check(p, &r));
    g_ctl.used--;
    g_ctl.peak_used = 0;
    assert_false(rtm_pool_check(p, &r));
    assert_string_equal(r.problem, "peak used is below used or above the capacity");
    g_ctl.peak_used = 6;
    g_ctl.free_listed++;
    assert_false(rtm_pool_check(p, &r));
    assert_string_equal(r.problem, "free-list length differs from its count");
    g_ctl.free_listed--;
    g_ctl.span_inverse++;
    assert_false(rtm_pool_check(p, &r));
    assert_string_equal(r.problem, "span divisor constants are wrong");
    g_ctl.span_inverse--;
    assert_check(p);
}

/* Allocation never follows a link that cannot be right: it reports the
 * damage, drops the rest of the list and keeps serving good blocks. Under
 * ASan, following the wild link would be an out-of-bounds read. */
static void test_alloc_survives_corrupt_link(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool(16, 10, 0, 0);
    uint8_t *blk[4];
    for (size_t i = 0; i < 4; i++) {
        blk[i] = rtm_pool_alloc(p);
    }
    rtm_pool_free(p, blk[0]);
    rtm_pool_free(p, blk[1]); /* list: 1 -> 0 */
    uint32_t wild = 0x40000000u;
    memcpy(blk[1], &wild, 4); /* use after free */
    assert_ptr_equal(rtm_pool_alloc(p), blk[1]);
    expect_misuse(p, RTM_MISUSE_CORRUPT_BLOCK, blk[1]);
    /* blk[0] was dropped with the rest of the list: the next block is a
     * never-used one, and the check shows the pool lost a block. */
    assert_ptr_equal(rtm_pool_alloc(p), blk[3] + 16);
    expect_no_hooks();
    assert_false(rtm_pool_check(p, NULL));
    /* A link to a live block is refused the same way. */
    p = open_pool(16, 10, 0, 0);
    for (size_t i = 0; i < 4; i++) {
        blk[i] = rtm_pool_alloc(p);
    }
    rtm_pool_free(p, blk[0]);
    uint32_t live = 2;
    memcpy(blk[0], &live, 4);
    assert_ptr_equal(rtm_pool_alloc(p), blk[0]);
    expect_misuse(p, RTM_MISUSE_CORRUPT_BLOCK, blk[0]);
    assert_ptr_equal(rtm_pool_alloc(p), blk[3] + 16); /* not blk[2] a second time */
}

/* A freed block whose link was overwritten with its own index (a write
 * after free of a small counter, or a copy of the link) passes a check that
 * only asks "a block handed out before, not live": the pool would take it,
 * keep it as the list head, and hand the same block out a second time.
 * Both with and without the bitmap the self-link must be refused. */
static void test_alloc_refuses_self_link(void **state)
{
    (void)state;
    static const uint32_t flag_sets[] = {0u, RTM_POOL_NO_BITMAP};
    for (size_t f = 0; f < TS_ARRAY_LEN(flag_sets); f++) {
        ts_context("flags %u", (unsigned)flag_sets[f]);
        rtm_pool_t *p = open_pool(16, 10, 0, flag_sets[f]);
        uint8_t *blk[3];
        for (size_t i = 0; i < 3; i++) {
            blk[i] = rtm_pool_alloc(p);
        }
        rtm_pool_free(p, blk[0]);
        rtm_pool_free(p, blk[1]); /* list: 1 -> 0 */
        uint32_t self = 1;
        memcpy(blk[1], &self, 4);
        uint8_t *first = rtm_pool_alloc(p);
        assert_ptr_equal(first, blk[1]);
        expect_misuse(p, RTM_MISUSE_CORRUPT_BLOCK, blk[1]);
        memset(first, 0, 16); /* the owner uses its block: index 0 in the link word */
        uint8_t *second = rtm_pool_alloc(p);
        assert_ptr_not_equal(second, first);
        assert_ptr_equal(second, blk[2] + 16); /* the list was dropped: a never-used block */
        expect_no_hooks();
        assert_true(rtm_pool_deinit(p));
    }
    ts_context(NULL);
}

static void test_hooks_run_unlocked(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool(16, 2, 0, 0);
    g_rec.probe = true; /* each hook takes the pool lock: would deadlock if held */
    void *a = rtm_pool_alloc(p);
    assert_non_null(rtm_pool_alloc(p));
    assert_null(rtm_pool_alloc(p));
    assert_null(rtm_pool_alloc_wait(p, 0));
    assert_int_equal(g_rec.failed_calls, 2);
    rtm_pool_free(p, (uint8_t *)a + 1);
    rtm_pool_free(p, a);
    rtm_pool_free(p, a);
    assert_int_equal(g_rec.misuse_calls, 2);
    assert_int_equal(g_rec.probe_failures, 0);
}

static void test_set_hooks_and_default_hook(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool(16, 2, 0, 0);
    ts_output_t out;
    ts_output_capture(&out);
    rtm_pool_set_hooks(p, NULL, NULL, NULL); /* default misuse hook, no failure hook */
    void *a = rtm_pool_alloc(p);
    rtm_pool_free(p, a);
    rtm_pool_free(p, a);
    assert_int_equal(out.writes, 1);
    assert_non_null(strstr(out.last, "double free"));
    assert_non_null(strstr(out.last, "in pool 'test'"));
    char addr[32];
    (void)snprintf(addr, sizeof addr, "0x%llx", (unsigned long long)(uintptr_t)a);
    assert_non_null(strstr(out.last, addr));
    assert_int_equal(out.last[out.last_len - 1], '\n');
    assert_non_null(rtm_pool_alloc(p));
    assert_non_null(rtm_pool_alloc(p));
    assert_null(rtm_pool_alloc(p)); /* no failure hook: nothing written */
    assert_int_equal(out.writes, 1);
    expect_no_hooks();
    ts_output_release();
    rtm_pool_set_hooks(p, rec_failed, rec_misuse, &g_rec);
    assert_null(rtm_pool_alloc(p));
    assert_int_equal(g_rec.failed_calls, 1);
}

/* ------------------------------------------------------------------ */
/* Statistics                                                          */

static void test_statistics(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool(40, 5, 8, 0);
    rtm_pool_info_t info = info_of(p);
    assert_int_equal(info.block_size, 40);
    assert_int_equal(info.alignment, 8);
    assert_int_equal(info.capacity, 5);
    assert_int_equal(info.used + info.free + info.peak_used + info.alloc_count + info.free_count +
                         info.failed_count + info.wait_count + info.waiting,
                     5);
    void *b[5];
    for (size_t i = 0; i < 5; i++) {
        b[i] = rtm_pool_alloc(p);
    }
    assert_null(rtm_pool_alloc(p));
    assert_null(rtm_pool_alloc_wait(p, 0));
    rtm_pool_free(p, b[0]);
    rtm_pool_free(p, b[1]);
    rtm_pool_free(p, b[1]); /* misuse: counts nothing */
    info = info_of(p);
    assert_int_equal(info.used, 3);
    assert_int_equal(info.free, 2);
    assert_int_equal(info.peak_used, 5);
    assert_int_equal(info.alloc_count, 5);
    assert_int_equal(info.free_count, 2);
    assert_int_equal(info.failed_count, 2);
    assert_int_equal(info.wait_count, 0);
    rtm_pool_reset_peak(p);
    assert_int_equal(info_of(p).peak_used, 3);
    b[0] = rtm_pool_alloc(p);
    assert_int_equal(info_of(p).peak_used, 4);
    assert_check(p);
}

/* ------------------------------------------------------------------ */
/* Creation forms                                                      */

RTM_POOL_DEFINE(msg_pool, 24, 10);
RTM_POOL_DEFINE_ALIGNED(dma_pool, 10, 5, 64);

static void test_static_define(void **state)
{
    (void)state;
    /* The storage is exactly what the geometry needs: the control block and
     * the storage are plain zero-initialised statics. */
    assert_int_equal(sizeof msg_pool_rtm_storage, RTM_POOL_STORAGE_SIZE(24, 10, 0));
    assert_int_equal(msg_pool.storage_size, sizeof msg_pool_rtm_storage);
    rtm_pool_t *p = rtm_pool_init_defined(&msg_pool, NULL);
    assert_ptr_equal(p, &msg_pool_rtm_pool);
    assert_string_equal(rtm_pool_name(p), "msg_pool");
    rtm_pool_info_t info = info_of(p);
    assert_int_equal(info.block_size, 24);
    assert_int_equal(info.capacity, 10);
    void *b[10];
    for (size_t i = 0; i < 10; i++) {
        b[i] = rtm_pool_alloc(p);
        assert_true((uint8_t *)b[i] >= msg_pool_rtm_storage &&
                    (uint8_t *)b[i] + 24 <= msg_pool_rtm_storage + sizeof msg_pool_rtm_storage);
    }
    assert_blocks_sane(p, b, 10);
    assert_null(rtm_pool_alloc(p));
    for (size_t i = 0; i < 10; i++) {
        rtm_pool_free(p, b[i]);
    }
    assert_check(p);
    assert_true(rtm_pool_delete(p)); /* static: only ended */
    assert_null(rtm_pool_alloc(p));

    /* Options from a config whose geometry is left 0 or repeated. */
    memset(&g_rec, 0, sizeof g_rec);
    rtm_pool_config_t cfg = cfg_of(0, 0, 0, 0);
    cfg.name = NULL;
    p = rtm_pool_init_defined(&msg_pool, &cfg);
    assert_non_null(p);
    assert_string_equal(rtm_pool_name(p), "msg_pool");
    rtm_pool_free(p, msg_pool_rtm_storage + 1);
    expect_misuse(p, RTM_MISUSE_INVALID_POINTER, msg_pool_rtm_storage + 1);
    assert_true(rtm_pool_deinit(p));
    cfg = cfg_of(24, 10, 0, 0);
    assert_non_null(rtm_pool_init_defined(&msg_pool, &cfg));
    assert_string_equal(rtm_pool_name(p), "test");
    assert_true(rtm_pool_deinit(p));
    /* A conflicting geometry is refused. */
    cfg = cfg_of(32, 0, 0, 0);
    assert_null(rtm_pool_init_defined(&msg_pool, &cfg));
    cfg = cfg_of(0, 11, 0, 0);
    assert_null(rtm_pool_init_defined(&msg_pool, &cfg));
    cfg = cfg_of(0, 0, 16, 0);
    assert_null(rtm_pool_init_defined(&msg_pool, &cfg));
    assert_null(rtm_pool_init_defined(NULL, NULL));

    /* Aligned definition: 64-byte blocks at 64-byte boundaries. */
    p = rtm_pool_init_defined(&dma_pool, NULL);
    assert_non_null(p);
    assert_int_equal(rtm_pool_block_size(p), 64);
    for (size_t i = 0; i < 5; i++) {
        assert_int_equal((uintptr_t)rtm_pool_alloc(p) % 64u, 0);
    }
    assert_check(p);
    assert_true(rtm_pool_deinit(p));

    /* At block scope as well. */
    RTM_POOL_DEFINE(local_pool, 8, 3);
    p = rtm_pool_init_defined(&local_pool, NULL);
    assert_non_null(rtm_pool_alloc(p));
    assert_check(p);
    assert_true(rtm_pool_deinit(p));
}

static void test_dynamic_create_delete(void **state)
{
    (void)state;
    ts_heap_t *th = ts_heap_open(RTM_TLSF, 0);
    rtm_heap_t *h = th->heap;
    size_t free_before = rtm_heap_free_bytes(h);
    memset(&g_rec, 0, sizeof g_rec);
    rtm_pool_config_t cfg = cfg_of(100, 50, 32, 0);
    rtm_pool_t *p = rtm_pool_create(h, &cfg);
    assert_non_null(p);
    assert_true(rtm_heap_free_bytes(h) + rtm_pool_storage_size(100, 50, 32, 0) <= free_before);
    void *b[50];
    for (size_t i = 0; i < 50; i++) {
        b[i] = rtm_pool_alloc(p);
        assert_int_equal((uintptr_t)b[i] % 32u, 0);
        memset(b[i], 0xAB, 128); /* span is 128: all of it is ours */
    }
    assert_blocks_sane(p, b, 50);
    assert_null(rtm_pool_alloc(p));
    assert_check(p);
    assert_true(rtm_heap_check(h, NULL)); /* pool writes stayed inside the heap block */
    assert_true(rtm_pool_delete(p));
    assert_int_equal(rtm_heap_free_bytes(h), free_before);
    ts_assert_heap_sane(th, NULL);

    /* The heap cannot hold it: NULL, the heap is as it was. */
    cfg = cfg_of(1024, 1000, 0, 0);
    ts_hooks_clear(&th->rec);
    assert_null(rtm_pool_create(h, &cfg));
    assert_int_equal(th->rec.failed_calls, 1);
    assert_int_equal(rtm_heap_free_bytes(h), free_before);
    /* Invalid configs never reach the heap. */
    ts_hooks_clear(&th->rec);
    cfg = cfg_of(0, 10, 0, 0);
    assert_null(rtm_pool_create(h, &cfg));
    cfg = cfg_of(16, 10, 6, 0);
    assert_null(rtm_pool_create(h, &cfg));
    assert_null(rtm_pool_create(h, NULL));
    cfg = cfg_of(16, 10, 0, 0);
    assert_null(rtm_pool_create(NULL, &cfg));
    assert_int_equal(th->rec.failed_calls, 0);
    assert_int_equal(rtm_heap_free_bytes(h), free_before);
    ts_assert_heap_sane(th, NULL);
}

/* ------------------------------------------------------------------ */
/* Random operations against a model                                   */

static void test_random_against_model(void **state)
{
    (void)state;
    static const size_t geo[][3] = {{8, 50, 0}, {20, 97, 4}, {36, 64, 4}, {100, 33, 16}};
    ts_rng_t rng;
    for (size_t g = 0; g < TS_ARRAY_LEN(geo); g++) {
        for (uint32_t flags = 0; flags <= RTM_POOL_NO_BITMAP; flags += RTM_POOL_NO_BITMAP) {
            ts_rng_seed(&rng, 0x900dull + g * 7u + flags);
            size_t n = geo[g][1];
            rtm_pool_t *p = open_pool(geo[g][0], n, geo[g][2], flags);
            size_t span = rtm_pool_block_size(p);
            uint8_t **live = calloc(n, sizeof *live);
            assert_non_null(live);
            size_t nlive = 0;
            size_t peak = 0;
            for (unsigned step = 0; step < 4000; step++) {
                ts_context("geometry %zu flags %u step %u", g, (unsigned)flags, step);
                unsigned op = (unsigned)ts_rng_range(&rng, 0, 99);
                if (op < 50) {
                    uint8_t *q = rtm_pool_alloc(p);
                    if (nlive == n) {
                        assert_null(q);
                        g_rec.failed_calls = 0;
                    } else {
                        assert_non_null(q);
                        memset(q, (int)(step & 0xffu), span);
                        live[nlive++] = q;
                        peak = nlive > peak ? nlive : peak;
                    }
                } else if (op < 95 && nlive > 0) {
                    size_t i = ts_rng_range(&rng, 0, nlive - 1);
                    /* The block kept what its owner wrote. */
                    uint8_t first = live[i][0];
                    for (size_t k = 1; k < span; k++) {
                        assert_int_equal(live[i][k], first);
                    }
                    rtm_pool_free(p, live[i]);
                    live[i] = live[--nlive];
                } else if (nlive > 0) {
                    /* An interior pointer of a live block: reported, no effect. */
                    size_t i = ts_rng_range(&rng, 0, nlive - 1);
                    uint8_t *q = live[i] + ts_rng_range(&rng, 1, span - 1);
                    rtm_pool_free(p, q);
                    expect_misuse(p, RTM_MISUSE_INVALID_POINTER, q);
                }
                expect_no_hooks();
                rtm_pool_info_t info = info_of(p);
                assert_int_equal(info.used, nlive);
                assert_int_equal(info.peak_used, peak);
                if (step % 16u == 0) {
                    assert_check(p);
                }
            }
            assert_check(p);
            free(live);
            assert_true(rtm_pool_deinit(p));
        }
    }
    ts_context(NULL);
}

/* ------------------------------------------------------------------ */
/* Port waiters and blocking allocation                                */

#if defined(RTM_PORT_POSIX)

static void test_port_waiter_direct(void **state)
{
    (void)state;
    rtm_port_lock_t lock;
    rtm_port_waiter_t w;
    assert_true(rtm_port_can_block());
    assert_true(rtm_port_lock_init(&lock));
    rtm_port_lock(&lock);
    assert_true(rtm_port_waiter_init(&w));
    assert_false(rtm_port_wait(&w, &lock, 0)); /* 0: only asks */
    double t0 = now_ms();
    assert_false(rtm_port_wait(&w, &lock, 30));
    assert_true(now_ms() - t0 >= 29.5);
    rtm_port_signal(&w); /* before the wait: remembered */
    t0 = now_ms();
    assert_true(rtm_port_wait(&w, &lock, RTM_WAIT_FOREVER));
    assert_true(rtm_port_wait(&w, &lock, 0));
    assert_true(now_ms() - t0 < 1000.0);
    rtm_port_waiter_destroy(&w);
    rtm_port_unlock(&lock);
    rtm_port_lock_destroy(&lock);
}

typedef struct waiter_arg {
    rtm_pool_t *pool;
    uint32_t timeout_ms;
    void *result;
    double waited_ms;
} waiter_arg_t;

static void *waiter_thread(void *arg)
{
    waiter_arg_t *w = arg;
    double t0 = now_ms();
    w->result = rtm_pool_alloc_wait(w->pool, w->timeout_ms);
    w->waited_ms = now_ms() - t0;
    return NULL;
}

/* Waiter threads not joined yet. When a test fails half-way, the teardown
 * joins them (their timeouts are finite) before the next test re-uses the
 * pool, so one failure cannot hang or corrupt the rest of the suite. */
static pthread_t g_threads[8];
static bool g_thread_live[8];

static size_t start_waiter(waiter_arg_t *arg)
{
    for (size_t i = 0; i < TS_ARRAY_LEN(g_threads); i++) {
        if (!g_thread_live[i]) {
            assert_int_equal(pthread_create(&g_threads[i], NULL, waiter_thread, arg), 0);
            g_thread_live[i] = true;
            return i;
        }
    }
    ts_fail("too many waiter threads");
    return 0;
}

static void join_waiter(size_t i)
{
    assert_true(g_thread_live[i]);
    assert_int_equal(pthread_join(g_threads[i], NULL), 0);
    g_thread_live[i] = false;
}

static void join_leftover_waiters(void)
{
    for (size_t i = 0; i < TS_ARRAY_LEN(g_threads); i++) {
        if (g_thread_live[i]) {
            (void)pthread_join(g_threads[i], NULL);
            g_thread_live[i] = false;
        }
    }
}

/* Polls until `waiting` tasks are blocked on the pool (fails after 10 s). */
static void await_waiting(rtm_pool_t *p, size_t waiting)
{
    for (int i = 0; i < 10000; i++) {
        if (info_of(p).waiting == waiting) {
            return;
        }
        sleep_ms(1);
    }
    ts_fail("no %zu waiting tasks after 10 s (have %zu)", waiting, info_of(p).waiting);
}

static void test_wait_woken_by_free(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool(32, 2, 0, 0);
    void *a = rtm_pool_alloc(p);
    void *b = rtm_pool_alloc(p);
    waiter_arg_t arg = {p, 5000, NULL, 0};
    size_t t = start_waiter(&arg);
    await_waiting(p, 1);
    assert_check(p); /* a waiter while nothing is free is consistent */
    assert_false(rtm_pool_deinit(p)); /* refused while a task waits */
    rtm_pool_free(p, a);
    /* The block went straight to the waiter: nobody else can take it. */
    assert_null(rtm_pool_alloc(p));
    assert_int_equal(g_rec.failed_calls, 1);
    g_rec.failed_calls = 0;
    join_waiter(t);
    assert_ptr_equal(arg.result, a);
    assert_true(arg.waited_ms < 5000.0);
    rtm_pool_info_t info = info_of(p);
    assert_int_equal(info.used, 2);
    assert_int_equal(info.waiting, 0);
    assert_int_equal(info.wait_count, 1);
    assert_int_equal(info.alloc_count, 3);
    assert_int_equal(info.free_count, 1);
    assert_int_equal(info.failed_count, 1);
    expect_no_hooks();
    assert_check(p);
    rtm_pool_free(p, a);
    rtm_pool_free(p, b);
    assert_true(rtm_pool_deinit(p));
}

static void test_wait_forever_woken(void **state)
{
    (void)state;
    /* A pool of its own: if the wake-up were broken, the waiter would stay
     * blocked for good, and must not share a pool with later tests. */
    RTM_POOL_DEFINE(forever_pool, 32, 1);
    rtm_pool_t *p = rtm_pool_init_defined(&forever_pool, NULL);
    void *a = rtm_pool_alloc(p);
    static waiter_arg_t arg;
    arg = (waiter_arg_t){p, RTM_WAIT_FOREVER, NULL, 0};
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, waiter_thread, &arg), 0);
    await_waiting(p, 1);
    sleep_ms(20); /* it stays blocked */
    assert_int_equal(info_of(p).waiting, 1);
    rtm_pool_free(p, a);
    for (int i = 0; i < 5000 && info_of(p).waiting != 0; i++) {
        sleep_ms(1);
    }
    if (info_of(p).waiting != 0) {
        (void)pthread_detach(t);
        ts_fail("a free did not wake the task waiting forever");
    }
    assert_int_equal(pthread_join(t, NULL), 0); /* it has left the queue: returns at once */
    assert_ptr_equal(arg.result, a);
    assert_check(p);
    assert_true(rtm_pool_deinit(p));
}

static void test_wait_times_out(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool(32, 1, 0, 0);
    void *a = rtm_pool_alloc(p);
    double t0 = now_ms();
    assert_null(rtm_pool_alloc_wait(p, 60));
    double waited = now_ms() - t0;
    assert_true(waited >= 59.5);
    assert_true(waited < 5000.0);
    assert_int_equal(g_rec.failed_calls, 1);
    g_rec.failed_calls = 0;
    rtm_pool_info_t info = info_of(p);
    assert_int_equal(info.wait_count, 1);
    assert_int_equal(info.waiting, 0);
    assert_int_equal(info.failed_count, 1);
    assert_int_equal(info.used, 1);
    assert_check(p);
    /* Two timing out at once leave the queue in any order. The first waits
     * long enough that a loaded machine cannot time it out before the
     * second is done. */
    waiter_arg_t w1 = {p, 1000, NULL, 0}, w2 = {p, 40, NULL, 0};
    size_t t1 = start_waiter(&w1);
    await_waiting(p, 1);
    size_t t2 = start_waiter(&w2);
    join_waiter(t2);
    assert_null(w2.result);
    assert_int_equal(info_of(p).waiting, 1);
    assert_check(p);
    join_waiter(t1);
    assert_null(w1.result);
    assert_true(w1.waited_ms >= 999.5 && w2.waited_ms >= 39.5);
    assert_int_equal(info_of(p).waiting, 0);
    assert_int_equal(g_rec.failed_calls, 2);
    g_rec.failed_calls = 0;
    assert_check(p);
    /* And the pool still works. */
    rtm_pool_free(p, a);
    assert_ptr_equal(rtm_pool_alloc_wait(p, 10), a);
    expect_no_hooks();
}

static void test_wait_fifo(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool(32, 2, 0, 0);
    void *a = rtm_pool_alloc(p);
    void *b = rtm_pool_alloc(p);
    waiter_arg_t first = {p, 5000, NULL, 0}, second = {p, 5000, NULL, 0};
    size_t t1 = start_waiter(&first);
    await_waiting(p, 1);
    size_t t2 = start_waiter(&second);
    await_waiting(p, 2);
    rtm_pool_free(p, b);
    join_waiter(t1);
    assert_ptr_equal(first.result, b); /* the longest waiter first */
    assert_int_equal(info_of(p).waiting, 1);
    rtm_pool_free(p, a);
    join_waiter(t2);
    assert_ptr_equal(second.result, a);
    assert_check(p);
    expect_no_hooks();
}

static void test_wait_not_blocking_cases(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool(32, 1, 0, 0);
    void *a = rtm_pool_alloc_wait(p, 100); /* a block is free: no wait */
    assert_non_null(a);
    assert_null(rtm_pool_alloc_wait(p, 0)); /* timeout 0: no wait */
    assert_int_equal(info_of(p).wait_count, 0);
    assert_true(rtm_pool_deinit(p));
    /* A pool without a lock cannot let anyone else free: never blocks. */
    p = open_pool(32, 1, 0, RTM_POOL_NO_LOCK);
    a = rtm_pool_alloc(p);
    double t0 = now_ms();
    assert_null(rtm_pool_alloc_wait(p, 2000));
    assert_true(now_ms() - t0 < 1000.0);
    assert_int_equal(info_of(p).wait_count, 0);
    assert_int_equal(info_of(p).failed_count, 1);
    rtm_pool_free(p, a);
    assert_check(p);
}

/* Threads contend for fewer blocks than there are threads; every block is
 * held by one thread at a time and nothing is lost. */
typedef struct stress_arg {
    rtm_pool_t *pool;
    unsigned id;
    unsigned rounds;
    uint32_t timeout_ms;
    unsigned max_hold_us; /* each block is held for 0..max_hold_us */
    unsigned got;
    unsigned timeouts;
    unsigned corrupted;
} stress_arg_t;

static void *stress_thread(void *arg)
{
    stress_arg_t *s = arg;
    size_t span = rtm_pool_block_size(s->pool);
    for (unsigned r = 0; r < s->rounds; r++) {
        uint8_t *b = rtm_pool_alloc_wait(s->pool, s->timeout_ms);
        if (b == NULL) {
            s->timeouts++;
            continue;
        }
        s->got++;
        memset(b, (int)s->id, span);
        if (s->max_hold_us != 0) {
            unsigned us = (r * 2654435761u + s->id * 40503u) % (s->max_hold_us + 1u);
            struct timespec ts = {0, (long)us * 1000L};
            nanosleep(&ts, NULL);
        } else if ((r & 7u) == 0) {
            sched_yield();
        }
        for (size_t k = 0; k < span; k++) {
            if (b[k] != (uint8_t)s->id) {
                s->corrupted++;
                break;
            }
        }
        rtm_pool_free(s->pool, b);
    }
    return NULL;
}

/* Returns the number of allocations that timed out. */
static size_t run_stress(uint32_t timeout_ms, unsigned max_hold_us, unsigned rounds,
                         bool expect_no_timeouts)
{
    enum { THREADS = 4 };
    rtm_pool_t *p = open_pool(48, 2, 0, 0);
    rtm_pool_set_hooks(p, NULL, rec_misuse, &g_rec); /* hooks from many threads: none counted */
    pthread_t t[THREADS];
    stress_arg_t a[THREADS];
    for (unsigned i = 0; i < THREADS; i++) {
        a[i] = (stress_arg_t){p, i + 1u, rounds, timeout_ms, max_hold_us, 0, 0, 0};
        assert_int_equal(pthread_create(&t[i], NULL, stress_thread, &a[i]), 0);
    }
    size_t got = 0, timeouts = 0;
    for (unsigned i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
        assert_int_equal(a[i].corrupted, 0);
        got += a[i].got;
        timeouts += a[i].timeouts;
    }
    assert_int_equal(g_rec.misuse_calls, 0);
    if (expect_no_timeouts) {
        assert_int_equal(timeouts, 0);
    }
    rtm_pool_info_t info = info_of(p);
    assert_int_equal(got + timeouts, (size_t)THREADS * rounds);
    assert_int_equal(info.used, 0);
    assert_int_equal(info.waiting, 0);
    assert_int_equal(info.alloc_count, got);
    assert_int_equal(info.free_count, got);
    assert_int_equal(info.failed_count, timeouts);
    assert_int_equal(info.peak_used, 2);
    assert_check(p);
    /* Both blocks are back. */
    assert_non_null(rtm_pool_alloc(p));
    assert_non_null(rtm_pool_alloc(p));
    return timeouts;
}

static void test_wait_stress(void **state)
{
    (void)state;
    (void)run_stress(10000, 0, 2000, true);
}

/* 1 ms timeouts against holders that keep a block for up to 1.5 ms: many
 * waits expire, many hand-overs land just before or as they do. A block
 * given as a wait expires must reach that waiter, never vanish, and a
 * waiter that gave up must have left the queue (run_stress checks). */
static void test_wait_timeout_races(void **state)
{
    (void)state;
    size_t timeouts = run_stress(1, 1500, 400, false);
    assert_true(timeouts > 0); /* the race was really run */
    assert_true(timeouts < 4u * 400u);
}

/* Frees racing on the same blocks: threads free every block of the pool,
 * all at once, each in its own order. The pool is documented thread-safe
 * and a free of a free block is reported and has no effect, so each block
 * must be freed exactly once and every other attempt reported as a double
 * free, however the frees interleave. */
#define RACE_THREADS 4u
#define RACE_BLOCKS 8u
#define RACE_ROUNDS 500u

static rtm_pool_t *g_race_arg_pool;

static _Atomic unsigned g_race_double_frees;
static _Atomic unsigned g_race_other_misuse;
static pthread_barrier_t g_race_barrier;
static void *g_race_blocks[RACE_BLOCKS];

static void race_misuse(rtm_pool_t *pool, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)pool;
    (void)address;
    (void)ctx;
    if (kind == RTM_MISUSE_DOUBLE_FREE) {
        g_race_double_frees++;
    } else {
        g_race_other_misuse++;
    }
}

static void *race_thread(void *arg)
{
    rtm_pool_t *p = g_race_arg_pool;
    size_t me = (size_t)(uintptr_t)arg;
    for (unsigned round = 0; round < RACE_ROUNDS; round++) {
        pthread_barrier_wait(&g_race_barrier); /* blocks handed out */
        for (size_t k = 0; k < RACE_BLOCKS; k++) {
            rtm_pool_free(p, g_race_blocks[(k * (2u * me + 1u) + me) % RACE_BLOCKS]);
        }
        pthread_barrier_wait(&g_race_barrier); /* all frees done */
    }
    return NULL;
}

static void test_free_races_free(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool(24, RACE_BLOCKS, 0, 0);
    rtm_pool_set_hooks(p, rec_failed, race_misuse, &g_rec);
    g_race_arg_pool = p;
    g_race_double_frees = 0;
    g_race_other_misuse = 0;
    assert_int_equal(pthread_barrier_init(&g_race_barrier, NULL, RACE_THREADS + 1u), 0);
    pthread_t t[RACE_THREADS];
    for (size_t i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(pthread_create(&t[i], NULL, race_thread, (void *)(uintptr_t)i), 0);
    }
    for (unsigned round = 0; round < RACE_ROUNDS; round++) {
        for (size_t k = 0; k < RACE_BLOCKS; k++) {
            g_race_blocks[k] = rtm_pool_alloc(p);
            assert_non_null(g_race_blocks[k]);
        }
        pthread_barrier_wait(&g_race_barrier);
        pthread_barrier_wait(&g_race_barrier);
        rtm_pool_info_t info = info_of(p);
        if (info.used != 0 || info.free_count != (size_t)(round + 1u) * RACE_BLOCKS) {
            ts_fail("round %u: used %zu, free_count %zu", round, info.used, info.free_count);
        }
    }
    for (size_t i = 0; i < RACE_THREADS; i++) {
        assert_int_equal(pthread_join(t[i], NULL), 0);
    }
    pthread_barrier_destroy(&g_race_barrier);
    assert_int_equal(g_race_double_frees, RACE_ROUNDS * RACE_BLOCKS * (RACE_THREADS - 1u));
    assert_int_equal(g_race_other_misuse, 0);
    assert_check(p);
}

#else /* !RTM_PORT_POSIX */

static void test_wait_never_blocks_here(void **state)
{
    (void)state;
    assert_false(rtm_port_can_block());
    rtm_pool_t *p = open_pool(32, 1, 0, 0);
    void *a = rtm_pool_alloc(p);
    assert_null(rtm_pool_alloc_wait(p, RTM_WAIT_FOREVER));
    assert_int_equal(info_of(p).wait_count, 0);
    assert_int_equal(g_rec.failed_calls, 1);
    rtm_pool_free(p, a);
    assert_check(p);
}

#endif

#if RTM_PORT_LOCK_ISR_SAFE
/* A simulated interrupt controller for the none port's hooks: enter masks
 * and returns the old mask; an exit that unmasks delivers the pending
 * "interrupt", which runs the ISR at once, exactly where a real one
 * pending during the critical section would. */
typedef struct isr_sim {
    bool masked;
    bool in_isr;
    unsigned enters;
    unsigned isr_runs;
    unsigned hook_masked; /* hooks that ran with interrupts masked */
    unsigned isr_failed;  /* failed-allocation hooks run inside the ISR */
    unsigned misuses;
    rtm_pool_t *pool;
    uint8_t *stash[4];
    unsigned tick;
} isr_sim_t;

static isr_sim_t g_sim;

static void isr_body(void)
{
    /* Alternately takes a block and gives one back, tagging its own. */
    unsigned k = g_sim.tick++ % 4u;
    if (g_sim.stash[k] == NULL) {
        g_sim.stash[k] = rtm_pool_alloc(g_sim.pool);
        if (g_sim.stash[k] != NULL) {
            g_sim.stash[k][0] = 0xA0;
        }
    } else {
        if (g_sim.stash[k][0] != 0xA0) {
            g_sim.hook_masked += 1000u; /* a task wrote over the ISR's block */
        }
        rtm_pool_free(g_sim.pool, g_sim.stash[k]);
        g_sim.stash[k] = NULL;
    }
}

static uint32_t sim_enter(void)
{
    bool old = g_sim.masked;
    g_sim.masked = true;
    g_sim.enters++;
    return old ? 1u : 0u;
}

static void sim_exit(uint32_t state)
{
    g_sim.masked = state != 0;
    if (!g_sim.masked && !g_sim.in_isr && g_sim.pool != NULL) {
        g_sim.in_isr = true;
        g_sim.isr_runs++;
        isr_body();
        g_sim.in_isr = false;
    }
}

static void sim_misuse(rtm_pool_t *pool, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)pool;
    (void)kind;
    (void)address;
    (void)ctx;
    g_sim.misuses++;
    g_sim.hook_masked += g_sim.masked ? 1u : 0u;
}

static void sim_failed(rtm_pool_t *pool, rtm_fail_reason_t reason, void *ctx)
{
    (void)pool;
    (void)reason;
    (void)ctx;
    g_sim.hook_masked += g_sim.masked ? 1u : 0u;
    g_sim.isr_failed += g_sim.in_isr ? 1u : 0u;
}

/* pool.h: with RTM_PORT_LOCK_ISR_SAFE (the none port with masking hooks)
 * rtm_pool_alloc and rtm_pool_free may be called from an ISR, whose hooks
 * run there too, and hooks run after the lock is released. An ISR fires at
 * every unmask of the task's calls: each call masks, leaves interrupts as
 * it found them, never hands a block to both, and the counts add up. */
static void test_isr_alloc_free_simulated(void **state)
{
    (void)state;
    memset(&g_sim, 0, sizeof g_sim);
    rtm_port_none_set_hooks(sim_enter, sim_exit, NULL, NULL);
    rtm_pool_config_t cfg = cfg_of(24, 8, 0, 0);
    cfg.on_misuse = sim_misuse;
    cfg.on_alloc_failed = sim_failed;
    static rtm_pool_t ctl;
    rtm_pool_t *p = rtm_pool_init(&ctl, g_storage, sizeof g_storage, &cfg);
    assert_non_null(p);
    g_sim.pool = p;
    uint8_t *mine[8] = {0};
    unsigned seed = 12345u;
    for (unsigned step = 0; step < 4000u; step++) {
        seed = seed * 1103515245u + 12345u;
        unsigned k = (seed >> 16) % 8u;
        unsigned before = g_sim.enters;
        if (mine[k] == NULL) {
            mine[k] = rtm_pool_alloc(p);
            if (mine[k] != NULL) {
                assert_int_not_equal(mine[k][0], 0xA0);
                memset(mine[k], 0x11, 24);
            }
        } else {
            assert_int_equal(mine[k][0], 0x11);
            rtm_pool_free(p, mine[k]);
            if ((seed >> 8) % 16u == 0) {
                /* An interior pointer: the misuse hook. (Not a double
                 * free: the ISR may have the block again by now.) */
                rtm_pool_free(p, mine[k] + 1);
            }
            mine[k] = NULL;
        }
        assert_true(g_sim.enters > before);
        assert_false(g_sim.masked);
    }
    g_sim.pool = NULL;
    assert_true(g_sim.isr_runs > 1000u);
    assert_int_equal(g_sim.hook_masked, 0);
    assert_true(g_sim.isr_failed > 0);
    assert_true(g_sim.misuses > 0);
    for (size_t k = 0; k < 8; k++) {
        if (mine[k] != NULL) {
            rtm_pool_free(p, mine[k]);
        }
    }
    for (size_t k = 0; k < 4; k++) {
        if (g_sim.stash[k] != NULL) {
            rtm_pool_free(p, g_sim.stash[k]);
        }
    }
    rtm_pool_info_t info;
    assert_true(rtm_pool_info(p, &info));
    assert_int_equal(info.used, 0);
    assert_true(rtm_pool_check(p, NULL));
    rtm_port_none_set_hooks(NULL, NULL, NULL, NULL);
}
#endif

/* ------------------------------------------------------------------ */
/* Size-class sets                                                     */

static _Alignas(8) uint8_t g_set_storage[3][4096];
static rtm_pool_t g_set_ctl[3];
static rtm_pool_set_t g_set;

typedef struct set_rec {
    unsigned failed_calls;
    size_t failed_size;
    rtm_fail_reason_t failed_reason;
    unsigned misuse_calls;
    rtm_misuse_t misuse_kind;
    const void *misuse_address;
} set_rec_t;

static set_rec_t g_srec;

static void srec_failed(rtm_pool_set_t *set, size_t size, rtm_fail_reason_t reason, void *ctx)
{
    (void)set;
    set_rec_t *r = ctx;
    r->failed_calls++;
    r->failed_size = size;
    r->failed_reason = reason;
}

static void srec_misuse(rtm_pool_set_t *set, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)set;
    set_rec_t *r = ctx;
    r->misuse_calls++;
    r->misuse_kind = kind;
    r->misuse_address = address;
}

/* Three classes, 16 x 8, 64 x 4, 256 x 2, passed largest first. */
static rtm_pool_set_t *open_set(uint32_t flags, rtm_heap_t *fallback)
{
    static const size_t sizes[3] = {256, 16, 64};
    static const size_t counts[3] = {2, 8, 4};
    memset(&g_rec, 0, sizeof g_rec);
    memset(&g_srec, 0, sizeof g_srec);
    rtm_pool_t *pools[3];
    for (size_t i = 0; i < 3; i++) {
        rtm_pool_config_t cfg = cfg_of(sizes[i], counts[i], 0, 0);
        pools[i] = rtm_pool_init(&g_set_ctl[i], g_set_storage[i], sizeof g_set_storage[i], &cfg);
        assert_non_null(pools[i]);
    }
    rtm_pool_set_config_t scfg = {"msgs", flags, fallback, srec_failed, srec_misuse, &g_srec};
    rtm_pool_set_t *s = rtm_pool_set_init(&g_set, pools, 3, &scfg);
    assert_ptr_equal(s, &g_set);
    return s;
}

static rtm_pool_set_info_t set_info_of(rtm_pool_set_t *s)
{
    rtm_pool_set_info_t info;
    assert_true(rtm_pool_set_info(s, &info));
    return info;
}

static void test_set_picks_smallest_class(void **state)
{
    (void)state;
    rtm_pool_set_t *s = open_set(0, NULL);
    assert_int_equal(rtm_pool_block_size(rtm_pool_set_class(s, 0)), 16);
    assert_int_equal(rtm_pool_block_size(rtm_pool_set_class(s, 1)), 64);
    assert_int_equal(rtm_pool_block_size(rtm_pool_set_class(s, 2)), 256);
    assert_null(rtm_pool_set_class(s, 3));
    static const struct {
        size_t size;
        size_t cls;
    } cases[] = {{1, 0}, {15, 0}, {16, 0}, {17, 1}, {64, 1}, {65, 2}, {256, 2}};
    for (size_t i = 0; i < TS_ARRAY_LEN(cases); i++) {
        void *q = rtm_pool_set_alloc(s, cases[i].size);
        assert_non_null(q);
        for (size_t c = 0; c < 3; c++) {
            assert_int_equal(rtm_pool_contains(rtm_pool_set_class(s, c), q), c == cases[i].cls);
        }
        rtm_pool_set_free(s, q);
        assert_int_equal(info_of(rtm_pool_set_class(s, cases[i].cls)).used, 0);
    }
    /* Larger than every class, no fallback: TOO_LARGE. */
    assert_null(rtm_pool_set_alloc(s, 257));
    assert_int_equal(g_srec.failed_calls, 1);
    assert_int_equal(g_srec.failed_size, 257);
    assert_int_equal(g_srec.failed_reason, RTM_FAIL_TOO_LARGE);
    /* size 0: NULL, not a failure. */
    assert_null(rtm_pool_set_alloc(s, 0));
    assert_int_equal(g_srec.failed_calls, 1);
    rtm_pool_set_info_t info = set_info_of(s);
    assert_int_equal(info.classes, 3);
    assert_int_equal(info.pool_allocs, TS_ARRAY_LEN(cases));
    assert_int_equal(info.failed_count, 1);
    assert_int_equal(info.larger_allocs + info.fallback_allocs, 0);
    assert_true(rtm_pool_set_check(s, NULL));
    rtm_pool_set_deinit(s);
    /* The pools were the caller's: still there. */
    assert_non_null(rtm_pool_alloc(&g_set_ctl[0]));
    assert_null(rtm_pool_set_alloc(s, 8));
}

static void test_set_exhaustion_paths(void **state)
{
    (void)state;
    /* Without TRY_LARGER or fallback: an empty class fails. */
    rtm_pool_set_t *s = open_set(0, NULL);
    rtm_pool_t *small = rtm_pool_set_class(s, 0);
    void *b[8];
    for (size_t i = 0; i < 8; i++) {
        b[i] = rtm_pool_set_alloc(s, 10);
        assert_true(rtm_pool_contains(small, b[i]));
    }
    assert_null(rtm_pool_set_alloc(s, 10));
    assert_int_equal(g_srec.failed_calls, 1);
    assert_int_equal(g_srec.failed_reason, RTM_FAIL_NO_MEMORY);
    /* The class counts its shortage but its own hook stays quiet. */
    assert_int_equal(info_of(small).failed_count, 1);
    assert_int_equal(g_rec.failed_calls, 0);
    rtm_pool_set_deinit(s);

    /* TRY_LARGER: the next classes take over, then nothing. */
    s = open_set(RTM_POOL_SET_TRY_LARGER, NULL);
    small = rtm_pool_set_class(s, 0);
    for (size_t i = 0; i < 8; i++) {
        b[i] = rtm_pool_set_alloc(s, 10);
    }
    void *l[6];
    for (size_t i = 0; i < 6; i++) {
        l[i] = rtm_pool_set_alloc(s, 10);
        assert_non_null(l[i]);
        assert_true(rtm_pool_contains(rtm_pool_set_class(s, i < 4 ? 1 : 2), l[i]));
    }
    assert_null(rtm_pool_set_alloc(s, 10));
    rtm_pool_set_info_t info = set_info_of(s);
    assert_int_equal(info.pool_allocs, 8);
    assert_int_equal(info.larger_allocs, 6);
    assert_int_equal(info.failed_count, 1);
    /* Frees go back to the class that holds the block. */
    rtm_pool_set_free(s, l[0]);
    rtm_pool_set_free(s, l[5]);
    rtm_pool_set_free(s, b[3]);
    assert_int_equal(info_of(rtm_pool_set_class(s, 0)).used, 7);
    assert_int_equal(info_of(rtm_pool_set_class(s, 1)).used, 3);
    assert_int_equal(info_of(rtm_pool_set_class(s, 2)).used, 1);
    assert_int_equal(g_rec.failed_calls + g_rec.misuse_calls, 0);
    assert_true(rtm_pool_set_check(s, NULL));
    rtm_pool_set_deinit(s);
}

/* pool.h: the set's pools stay the caller's, who may deinitialise one;
 * the set then passes it over as if it were empty and never takes its lock
 * (a destroyed mutex on the posix port) or hands out its storage. */
static void test_set_deinitialised_class(void **state)
{
    (void)state;
    for (int larger = 0; larger < 2; larger++) {
        rtm_pool_set_t *s = open_set(larger != 0 ? RTM_POOL_SET_TRY_LARGER : 0, NULL);
        rtm_pool_t *small = rtm_pool_set_class(s, 0);
        assert_ptr_equal(small, &g_set_ctl[1]); /* the 16-byte class, passed second */
        assert_true(rtm_pool_deinit(small));
        const uint8_t *dead = g_set_storage[1];
        for (int i = 0; i < 3; i++) {
            uint8_t *q = rtm_pool_set_alloc(s, 10);
            if (larger == 0) {
                assert_null(q);
                continue;
            }
            assert_non_null(q);
            assert_false(q >= dead && q < dead + sizeof g_set_storage[1]);
            assert_true(rtm_pool_contains(rtm_pool_set_class(s, 1), q));
        }
        rtm_pool_set_info_t info = set_info_of(s);
        assert_int_equal(info.pool_allocs, 0);
        assert_int_equal(info.larger_allocs, larger != 0 ? 3 : 0);
        assert_int_equal(info.failed_count, larger != 0 ? 0 : 3);
        assert_int_equal(g_srec.failed_calls, larger != 0 ? 0 : 3);
        assert_false(rtm_pool_set_check(s, NULL));
        rtm_pool_set_deinit(s);
    }
}

static void test_set_fallback_heap(void **state)
{
    (void)state;
    ts_heap_t *th = ts_heap_open(RTM_TLSF, 0);
    rtm_heap_t *h = th->heap;
    rtm_pool_set_t *s = open_set(0, h);
    size_t heap_free = rtm_heap_free_bytes(h);
    /* Too large for any class: from the heap. */
    void *big = rtm_pool_set_alloc(s, 1000);
    assert_non_null(big);
    assert_true(rtm_usable_size(h, big) >= 1000);
    for (size_t c = 0; c < 3; c++) {
        assert_false(rtm_pool_contains(rtm_pool_set_class(s, c), big));
    }
    /* An empty class, no TRY_LARGER: from the heap too. */
    void *b[8];
    for (size_t i = 0; i < 8; i++) {
        b[i] = rtm_pool_set_alloc(s, 16);
    }
    void *spill = rtm_pool_set_alloc(s, 16);
    assert_non_null(spill);
    assert_false(rtm_pool_contains(rtm_pool_set_class(s, 0), spill));
    rtm_pool_set_info_t info = set_info_of(s);
    assert_int_equal(info.fallback_allocs, 2);
    assert_int_equal(info.failed_count, 0);
    assert_int_equal(g_srec.failed_calls, 0);
    rtm_pool_set_free(s, big);
    rtm_pool_set_free(s, spill);
    assert_int_equal(rtm_heap_free_bytes(h), heap_free);
    /* A pointer nobody owns goes to the heap, which reports it. */
    int on_stack = 0;
    ts_hooks_clear(&th->rec);
    rtm_pool_set_free(s, &on_stack);
    ts_expect_misuse(th, RTM_MISUSE_FOREIGN_POINTER, &on_stack);
    assert_int_equal(g_srec.misuse_calls, 0);
    for (size_t i = 0; i < 8; i++) {
        rtm_pool_set_free(s, b[i]);
    }
    ts_assert_heap_sane(th, NULL);
    assert_true(rtm_pool_set_check(s, NULL));
    rtm_pool_set_deinit(s);
}

static void test_set_misuse(void **state)
{
    (void)state;
    rtm_pool_set_t *s = open_set(0, NULL);
    int on_stack = 0;
    rtm_pool_set_free(s, &on_stack);
    assert_int_equal(g_srec.misuse_calls, 1);
    assert_int_equal(g_srec.misuse_kind, RTM_MISUSE_FOREIGN_POINTER);
    assert_ptr_equal(g_srec.misuse_address, &on_stack);
    /* Inside a class: that pool's hook. */
    uint8_t *q = rtm_pool_set_alloc(s, 40);
    rtm_pool_set_free(s, q + 4);
    expect_misuse(rtm_pool_set_class(s, 1), RTM_MISUSE_INVALID_POINTER, q + 4);
    rtm_pool_set_free(s, q);
    rtm_pool_set_free(s, q);
    expect_misuse(rtm_pool_set_class(s, 1), RTM_MISUSE_DOUBLE_FREE, q);
    rtm_pool_set_free(s, NULL);
    assert_int_equal(g_srec.misuse_calls, 1);
    /* The default set hook writes a line. */
    ts_output_t out;
    ts_output_capture(&out);
    g_set.on_misuse = NULL;
    rtm_pool_set_free(s, &on_stack);
    assert_int_equal(out.writes, 1);
    assert_non_null(strstr(out.last, "in pool set 'msgs'"));
    ts_output_release();
    assert_true(rtm_pool_set_check(s, NULL));
    rtm_pool_set_deinit(s);
}

static void test_set_init_errors(void **state)
{
    (void)state;
    rtm_pool_set_t *s = open_set(0, NULL);
    rtm_pool_set_deinit(s);
    rtm_pool_t *ok[2] = {&g_set_ctl[0], &g_set_ctl[1]};
    rtm_pool_t *dup[2] = {&g_set_ctl[0], &g_set_ctl[0]};
    rtm_pool_t *with_null[2] = {&g_set_ctl[0], NULL};
    rtm_pool_t zero;
    memset(&zero, 0, sizeof zero);
    rtm_pool_t *uninit[2] = {&g_set_ctl[0], &zero};
    rtm_pool_t *many[RTM_POOL_SET_MAX_CLASSES + 1];
    for (size_t i = 0; i < TS_ARRAY_LEN(many); i++) {
        many[i] = &g_set_ctl[0];
    }
    assert_null(rtm_pool_set_init(NULL, ok, 2, NULL));
    assert_null(rtm_pool_set_init(&g_set, NULL, 2, NULL));
    assert_null(rtm_pool_set_init(&g_set, ok, 0, NULL));
    assert_null(rtm_pool_set_init(&g_set, many, TS_ARRAY_LEN(many), NULL));
    assert_null(rtm_pool_set_init(&g_set, dup, 2, NULL));
    assert_null(rtm_pool_set_init(&g_set, with_null, 2, NULL));
    assert_null(rtm_pool_set_init(&g_set, uninit, 2, NULL));
    assert_ptr_equal(rtm_pool_set_init(&g_set, ok, 2, NULL), &g_set);
    rtm_check_report_t r = {NULL, NULL};
    assert_true(rtm_pool_set_check(&g_set, &r));
    rtm_pool_set_deinit(&g_set);
    assert_false(rtm_pool_set_check(&g_set, &r));
    assert_false(rtm_pool_set_check(NULL, &r));
    rtm_pool_set_info_t info;
    assert_false(rtm_pool_set_info(NULL, &info));
    assert_false(rtm_pool_set_info(&g_set, &info));
    assert_false(rtm_pool_set_delete(NULL));
    assert_null(rtm_pool_set_alloc(NULL, 8));
    rtm_pool_set_free(NULL, ok[0]);
    rtm_pool_set_deinit(NULL);
    assert_null(rtm_pool_set_class(NULL, 0));
}

/* A set made by rtm_pool_set_create with its own heap as fallback: the
 * set's and its pools' control blocks are live blocks of that heap, so a
 * careless rtm_pool_set_free of rtm_pool_set_class(s, i) (or of s) would
 * be a valid free for the heap, which would then reuse the memory of a
 * pool still in use. The set refuses them instead. */
static void test_set_free_own_control_blocks(void **state)
{
    (void)state;
    ts_heap_t *th = ts_heap_open(RTM_TLSF, 0);
    rtm_heap_t *h = th->heap;
    memset(&g_srec, 0, sizeof g_srec);
    static const rtm_pool_class_t classes[] = {{32, 8}, {128, 4}};
    rtm_pool_set_config_t scfg = {"net", 0, h, NULL, srec_misuse, &g_srec};
    rtm_pool_set_t *s = rtm_pool_set_create(h, classes, 2, &scfg);
    assert_non_null(s);
    void *held = rtm_pool_set_alloc(s, 20);
    assert_non_null(held);
    rtm_heap_info_t before;
    assert_true(rtm_heap_info(h, &before));
    void *own[] = {s, rtm_pool_set_class(s, 0), rtm_pool_set_class(s, 1)};
    for (size_t i = 0; i < TS_ARRAY_LEN(own); i++) {
        ts_context("control block %zu", i);
        ts_hooks_clear(&th->rec);
        g_srec.misuse_calls = 0;
        rtm_pool_set_free(s, own[i]);
        assert_int_equal(g_srec.misuse_calls, 1);
        assert_int_equal(g_srec.misuse_kind, RTM_MISUSE_INVALID_POINTER);
        assert_ptr_equal(g_srec.misuse_address, own[i]);
        ts_expect_no_hooks(th);
        rtm_heap_info_t after;
        assert_true(rtm_heap_info(h, &after));
        assert_int_equal(after.used_blocks, before.used_blocks);
        assert_int_equal(after.free_bytes, before.free_bytes);
    }
    ts_context(NULL);
    assert_true(rtm_pool_set_check(s, NULL));
    /* Still whole: the held block frees, every class still serves. */
    rtm_pool_set_free(s, held);
    for (size_t c = 0; c < 2; c++) {
        void *q = rtm_pool_set_alloc(s, c == 0 ? 32 : 128);
        assert_true(rtm_pool_contains(rtm_pool_set_class(s, c), q));
        rtm_pool_set_free(s, q);
    }
    assert_int_equal(g_srec.misuse_calls, 1);
    ts_expect_no_hooks(th);
    assert_true(rtm_pool_set_delete(s));
    ts_assert_heap_sane(th, NULL);
}

static void test_set_dynamic(void **state)
{
    (void)state;
    ts_heap_t *th = ts_heap_open(RTM_TLSF, 0);
    rtm_heap_t *h = th->heap;
    size_t heap_free = rtm_heap_free_bytes(h);
    static const rtm_pool_class_t classes[] = {{128, 16}, {32, 64}, {512, 4}};
    rtm_pool_set_config_t scfg = {"net", RTM_POOL_SET_TRY_LARGER, h, NULL, NULL, NULL};
    rtm_pool_set_t *s = rtm_pool_set_create(h, classes, 3, &scfg);
    assert_non_null(s);
    assert_int_equal(rtm_pool_block_size(rtm_pool_set_class(s, 0)), 32);
    assert_int_equal(rtm_pool_block_size(rtm_pool_set_class(s, 2)), 512);
    assert_int_equal(info_of(rtm_pool_set_class(s, 0)).capacity, 64);
    assert_string_equal(rtm_pool_name(rtm_pool_set_class(s, 1)), "net");
    assert_true(rtm_heap_free_bytes(h) < heap_free);
    void *p[100];
    for (size_t i = 0; i < 100; i++) {
        p[i] = rtm_pool_set_alloc(s, 1 + i * 7u);
        assert_non_null(p[i]);
        memset(p[i], 0x77, 1 + i * 7u);
    }
    assert_true(rtm_pool_set_check(s, NULL));
    for (size_t i = 0; i < 100; i++) {
        rtm_pool_set_free(s, p[i]);
    }
    assert_true(rtm_pool_set_check(s, NULL));
    assert_true(rtm_pool_set_delete(s));
    assert_int_equal(rtm_heap_free_bytes(h), heap_free);
    ts_assert_heap_sane(th, NULL);

    /* The heap runs out half-way: everything taken is given back. */
    static const rtm_pool_class_t huge[] = {{32, 64}, {4096, 100}};
    ts_hooks_clear(&th->rec);
    assert_null(rtm_pool_set_create(h, huge, 2, NULL));
    assert_int_equal(rtm_heap_free_bytes(h), heap_free);
    ts_assert_heap_sane(th, NULL);
    static const rtm_pool_class_t zero_class[] = {{32, 64}, {0, 4}};
    assert_null(rtm_pool_set_create(h, zero_class, 2, NULL));
    assert_null(rtm_pool_set_create(h, classes, 0, NULL));
    assert_null(rtm_pool_set_create(NULL, classes, 3, NULL));
    assert_null(rtm_pool_set_create(h, NULL, 3, NULL));
    assert_int_equal(rtm_heap_free_bytes(h), heap_free);

#if defined(RTM_PORT_POSIX)
    /* Not deleted while a task waits on one of its pools. */
    s = rtm_pool_set_create(h, classes, 3, NULL);
    rtm_pool_t *big = rtm_pool_set_class(s, 2);
    void *held[4];
    for (size_t i = 0; i < 4; i++) {
        held[i] = rtm_pool_alloc(big);
    }
    waiter_arg_t arg = {big, 5000, NULL, 0};
    size_t t = start_waiter(&arg);
    await_waiting(big, 1);
    assert_false(rtm_pool_set_delete(s));
    assert_true(rtm_pool_set_check(s, NULL));
    rtm_pool_free(big, held[0]);
    join_waiter(t);
    assert_ptr_equal(arg.result, held[0]);
    assert_true(rtm_pool_set_delete(s));
    assert_int_equal(rtm_heap_free_bytes(h), heap_free);
#endif
}

/* ------------------------------------------------------------------ */

#define T(fn) cmocka_unit_test_teardown(fn, teardown)

#if RTM_POOL_FILL && defined(RTM_PORT_POSIX)
/* pool.h (RTM_POOL_FILL): a block a free hands straight to a waiting task
 * is handed out too: the waiter sees RTM_FILL_FRESH, never the data of the
 * task that freed it. */
static void test_fill_handoff_to_waiter(void **state)
{
    (void)state;
    rtm_pool_t *p = open_pool(48, 1, 0, 0);
    uint8_t *a = rtm_pool_alloc(p);
    waiter_arg_t arg = {p, 5000, NULL, 0};
    size_t t = start_waiter(&arg);
    await_waiting(p, 1);
    memset(a, 0x5A, 48);
    rtm_pool_free(p, a);
    join_waiter(t);
    assert_ptr_equal(arg.result, a);
    for (size_t k = 0; k < 48; k++) {
        assert_int_equal(a[k], RTM_FILL_FRESH);
    }
    rtm_pool_free(p, a);
    assert_check(p);
    assert_true(rtm_pool_deinit(p));
}
#endif

int main(void)
{
    const struct CMUnitTest tests[] = {
        T(test_geometry_rules),
        T(test_init_errors),
        T(test_null_and_uninitialised),
        T(test_alloc_all_then_exhausted),
        T(test_lifo_and_fresh_order),
#if !RTM_POOL_FILL
        T(test_contents_untouched_without_fill),
#else
        T(test_fill_patterns),
#endif
        T(test_misuse_foreign),
        T(test_misuse_every_interior_address),
        T(test_misuse_double_free),
        T(test_misuse_without_bitmap),
        T(test_check_finds_damage),
        T(test_alloc_survives_corrupt_link),
        T(test_alloc_refuses_self_link),
        T(test_hooks_run_unlocked),
        T(test_set_hooks_and_default_hook),
        T(test_statistics),
        T(test_static_define),
        T(test_dynamic_create_delete),
        T(test_random_against_model),
#if defined(RTM_PORT_POSIX)
        T(test_port_waiter_direct),
        T(test_wait_woken_by_free),
        T(test_wait_forever_woken),
        T(test_wait_times_out),
        T(test_wait_fifo),
        T(test_wait_not_blocking_cases),
        T(test_wait_stress),
        T(test_wait_timeout_races),
        T(test_free_races_free),
#if RTM_POOL_FILL
        T(test_fill_handoff_to_waiter),
#endif
#else
        T(test_wait_never_blocks_here),
#endif
#if RTM_PORT_LOCK_ISR_SAFE
        T(test_isr_alloc_free_simulated),
#endif
        T(test_set_picks_smallest_class),
        T(test_set_exhaustion_paths),
        T(test_set_deinitialised_class),
        T(test_set_fallback_heap),
        T(test_set_misuse),
        T(test_set_init_errors),
        T(test_set_dynamic),
        T(test_set_free_own_control_blocks),
    };
    return cmocka_run_group_tests_name("rtmem pools", tests, NULL, NULL);
}
