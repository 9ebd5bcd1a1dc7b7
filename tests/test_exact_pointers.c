/*
 * Exact pointer validation (RTM_EXACT_POINTERS, docs/debugging.md): free,
 * realloc and usable_size accept a pointer only if it is the start of a
 * live block of that heap, whatever the bytes around it hold.
 *
 * Every block strategy is tried, through the public API only, the way a
 * careless or hostile program would:
 *   - interior pointers with a forged header (used or free) in front of
 *     them, at every granule of a live block, issue 12's struct among them;
 *   - interior pointers with a copy of a real block's head in front;
 *   - stale pointers from an earlier heap over the same memory;
 *   - interior pointers into blocks full of ordinary data;
 *   - double frees after merges.
 * Each call must be reported once through the misuse hook (and at poisoning
 * levels 1-2 once through the corruption hook), leave rtm_heap_info and
 * the memory as they were, and leave rtm_heap_check passing.
 *
 * Also the map's cost in bytes per KiB of arena.
 *
 * Runs at every poisoning level (_L0, _L1, _L2). Needs RTM_EXACT_POINTERS
 * (the default): without the map these are the cases it exists for.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/debug.h"
#include "support/test_support.h"

#define LEVEL RTM_POISON_LEVEL

#define REGION_BYTES (32u * 1024u)

static _Alignas(4096) uint8_t g_mem[2][REGION_BYTES + 64u];
static uint8_t g_before[REGION_BYTES + 64u];

/* ------------------------------------------------------------------ */
/* Hook recorders                                                      */

typedef struct misuse_rec {
    unsigned calls;
    rtm_misuse_t kind;
    const void *address;
    unsigned reports; /* corruption hook calls (levels >= 1) */
} misuse_rec_t;

static misuse_rec_t g_rec;

static void on_misuse(rtm_heap_t *heap, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)heap;
    misuse_rec_t *rec = ctx;
    rec->calls++;
    rec->kind = kind;
    rec->address = address;
}

static void on_corruption(const rtm_corruption_t *r, void *ctx)
{
    (void)r;
    misuse_rec_t *rec = ctx;
    rec->reports++;
}

static int setup(void **state)
{
    (void)state;
    memset(&g_rec, 0, sizeof g_rec);
    rtm_debug_set_corruption_hook(on_corruption, &g_rec);
    rtm_debug_set_owner_lookup(NULL, NULL);
    rtm_debug_set_continue(true);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    rtm_debug_set_corruption_hook(NULL, NULL);
    return 0;
}

static rtm_strategy_id_t strategy_of(void **state)
{
    return *(const rtm_strategy_id_t *)*state;
}

/* ------------------------------------------------------------------ */
/* Heaps and helpers                                                   */

static rtm_heap_t *open_heap(uint8_t *mem, size_t size, rtm_strategy_id_t s, size_t g)
{
    rtm_heap_config_t cfg = {
        .strategy = rtm_strategy_by_id(s),
        .alignment = g,
        .name = "exact",
        .flags = RTM_HEAP_NO_LOCK,
        .on_misuse = on_misuse,
        .hook_ctx = &g_rec,
    };
    rtm_heap_t *h = rtm_heap_init(mem, size, &cfg);
    if (h == NULL) {
        ts_fail("%s: rtm_heap_init refused %zu bytes at %p", rtm_strategy_name(s), size,
                (void *)mem);
    }
    return h;
}

/* Bytes between the strategy's block start and the user pointer. */
static size_t poison_head(size_t g)
{
    if (LEVEL == 0) {
        return 0;
    }
    return g > 8u ? g : 8u;
}

static void check_heap_at(rtm_heap_t *h, const char *file, int line)
{
    rtm_check_report_t r = {NULL, NULL};
    if (!rtm_heap_check(h, &r)) {
        ts_fail_at(file, line, "rtm_heap_check: %s at %p", r.problem, r.address);
    }
}

enum { CALL_FREE, CALL_REALLOC, CALL_USABLE, CALL_KINDS };

/* One call of the given kind on ptr, which the heap must refuse. */
static void bad_call(rtm_heap_t *h, int call, void *ptr, const char *file, int line)
{
    switch (call) {
    case CALL_FREE:
        rtm_free(h, ptr);
        break;
    case CALL_REALLOC:
        if (rtm_realloc(h, ptr, 16) != NULL) {
            ts_fail_at(file, line, "rtm_realloc accepted %p", ptr);
        }
        break;
    default:
        if (rtm_usable_size(h, ptr) != 0) {
            ts_fail_at(file, line, "rtm_usable_size accepted %p", ptr);
        }
        break;
    }
}

static const char *call_name(int call)
{
    return call == CALL_FREE ? "free" : call == CALL_REALLOC ? "realloc" : "usable_size";
}

/* free, realloc and usable_size of ptr are each refused: one misuse report
 * of a kind in `kinds` (TS_MISUSE_BIT) at ptr, one corruption report at
 * levels >= 1, rtm_heap_info unchanged, rtm_heap_check passing, and the
 * bytes [watch, watch + n) unchanged. */
static void expect_refused_at(rtm_heap_t *h, void *ptr, unsigned kinds, const uint8_t *watch,
                              size_t n, const char *file, int line)
{
    for (int call = 0; call < CALL_KINDS; call++) {
        rtm_heap_info_t before, after;
        assert_true(rtm_heap_info(h, &before));
        memcpy(g_before, watch, n);
        memset(&g_rec, 0, sizeof g_rec);
        bad_call(h, call, ptr, file, line);
        if (g_rec.calls != 1 || g_rec.address != ptr) {
            ts_fail_at(file, line, "%s(%p) in %s: %u misuse reports (last at %p), expected one",
                       call_name(call), ptr, rtm_strategy_name(rtm_heap_strategy(h)), g_rec.calls,
                       g_rec.address);
        }
        if ((TS_MISUSE_BIT(g_rec.kind) & kinds) == 0) {
            ts_fail_at(file, line, "%s(%p) in %s: reported as '%s', not an expected kind (mask 0x%x)",
                       call_name(call), ptr, rtm_strategy_name(rtm_heap_strategy(h)),
                       rtm_misuse_str(g_rec.kind), kinds);
        }
        if (g_rec.reports != (LEVEL >= 1 ? 1u : 0u)) {
            ts_fail_at(file, line, "%s(%p): %u corruption reports at level %d", call_name(call), ptr,
                       g_rec.reports, LEVEL);
        }
        assert_true(rtm_heap_info(h, &after));
        ts_assert_info_equal_at(&before, &after, file, line);
        if (memcmp(g_before, watch, n) != 0) {
            ts_fail_at(file, line, "%s(%p) changed memory it was refused", call_name(call), ptr);
        }
        check_heap_at(h, file, line);
    }
    memset(&g_rec, 0, sizeof g_rec);
}
#define expect_refused(h, ptr, kinds, watch, n) \
    expect_refused_at((h), (ptr), (kinds), (watch), (n), __FILE__, __LINE__)

#define INVALID TS_MISUSE_BIT(RTM_MISUSE_INVALID_POINTER)
#define DOUBLE TS_MISUSE_BIT(RTM_MISUSE_DOUBLE_FREE)

typedef struct block_find {
    const uint8_t *ptr;   /* the block whose successor is wanted */
    const uint8_t *next;  /* that successor's pointer as the walk shows it */
    bool next_used;
    bool seen;
} block_find_t;

static bool find_next(const rtm_block_info_t *b, void *ctx)
{
    block_find_t *f = ctx;
    if (f->seen) {
        f->next = b->ptr;
        f->next_used = b->used;
        return false;
    }
    f->seen = (const uint8_t *)b->ptr == f->ptr;
    return true;
}

/* Where the header of the block after the live block p lies (the end of
 * p's block), or NULL if p's block is the last. */
static const uint8_t *header_after(rtm_heap_t *h, const uint8_t *p, size_t g)
{
    block_find_t f = {p, NULL, false, false};
    assert_true(rtm_heap_walk(h, find_next, &f));
    assert_true(f.seen);
    if (f.next == NULL) {
        return NULL;
    }
    /* The walk shows a live block's user pointer and a free block's raw
     * payload. */
    return f.next - 4u - (f.next_used ? poison_head(g) : 0u);
}

/* Writes, in front of q, what a block start of this build looks like: a
 * header word at the strategy's place and, at levels >= 1, the size word,
 * head canary and tail canary of an 8-byte request. */
static void forge_head(uint8_t *q, size_t g, uint32_t header)
{
    size_t head = poison_head(g);
    ts_wr32(q - head - 4u, header);
    if (LEVEL >= 1) {
        ts_wr32(q - 8, 8u);
        ts_wr32(q - 4, RTM_POISON_HEAD_CANARY);
        ts_wr32(q + 8, RTM_POISON_TAIL_CANARY);
    }
}

static void fill_block(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed + i * 7u);
    }
}

static const size_t k_grans[] = {0, 16}; /* 0: the default granularity */

/* Frees a block at the end of a test; bump never frees, so its blocks stay. */
static void release(rtm_heap_t *h, void *p)
{
    if (ts_frees(rtm_heap_strategy(h))) {
        rtm_free(h, p);
    }
}

/* ------------------------------------------------------------------ */
/* (a) forged headers                                                  */

/* Issue 12's program: a length field right before the payload reads as the
 * header of a 64-byte block. */
static void test_struct_msg(void **state)
{
    rtm_strategy_id_t s = strategy_of(state);
    rtm_heap_t *h = open_heap(g_mem[0], REGION_BYTES, s, 0);
    struct msg {
        uint32_t id;
        uint32_t len;
        uint8_t payload[56];
    } *m = rtm_malloc(h, 64);
    assert_non_null(m);
    void *after = rtm_malloc(h, 64); /* a live neighbour to overrun into */
    assert_non_null(after);
    m->id = 7;
    m->len = 64;
    memset(m->payload, 0x5a, sizeof m->payload);
    expect_refused(h, m->payload, INVALID, g_mem[0], REGION_BYTES);
    assert_int_equal(m->len, 64);
    /* Every length that looks like a span, with and without the free bit. */
    for (uint32_t len = 8; len <= 128; len += 4) {
        m->len = len;
        expect_refused(h, m->payload, INVALID, g_mem[0], REGION_BYTES);
    }
    release(h, m);
    release(h, after);
    check_heap_at(h, __FILE__, __LINE__);
    assert_int_equal(g_rec.calls, 0);
}

/* At every granule inside a live block, a forged used header and a forged
 * free header whose span reaches exactly the real next block. */
static void test_forged_headers(void **state)
{
    rtm_strategy_id_t s = strategy_of(state);
    for (size_t gi = 0; gi < sizeof k_grans / sizeof k_grans[0]; gi++) {
        rtm_heap_t *h = open_heap(g_mem[0], REGION_BYTES, s, k_grans[gi]);
        size_t g = rtm_heap_alignment(h);
        size_t head = poison_head(g);
        uint8_t *lo = rtm_malloc(h, 40);
        uint8_t *p = rtm_malloc(h, 200);
        uint8_t *hi = rtm_malloc(h, 40);
        assert_non_null(lo);
        assert_non_null(p);
        assert_non_null(hi);
        fill_block(p, 200, 1);
        const uint8_t *next_header = header_after(h, p, g);
        assert_non_null(next_header);
        for (size_t k = g; k + 12u <= 200u; k += g) {
            uint8_t *q = p + k;
            if (q - head - 4u < p) {
                continue; /* the forged head would not lie in p's data */
            }
            uint32_t span = (uint32_t)(next_header - (q - head - 4u));
            for (uint32_t flags = 0; flags <= 1u; flags++) {
                fill_block(p, 200, 1);
                forge_head(q, g, span | flags);
                expect_refused(h, q, INVALID, g_mem[0], REGION_BYTES);
                /* The smallest block shape, too. */
                forge_head(q, g, (uint32_t)(2u * g) | flags);
                expect_refused(h, q, INVALID, g_mem[0], REGION_BYTES);
            }
        }
        fill_block(p, 200, 1);
        release(h, lo);
        release(h, p);
        release(h, hi);
        check_heap_at(h, __FILE__, __LINE__);
        assert_int_equal(g_rec.calls, 0);
    }
}

/* ------------------------------------------------------------------ */
/* (b) copied heads                                                    */

/* The bytes right before a real block's user pointer (its header and, when
 * poisoned, its size word and head canary), copied in front of an
 * interior pointer of another live block, at every granule. */
static void test_copied_heads(void **state)
{
    rtm_strategy_id_t s = strategy_of(state);
    for (size_t gi = 0; gi < sizeof k_grans / sizeof k_grans[0]; gi++) {
        rtm_heap_t *h = open_heap(g_mem[0], REGION_BYTES, s, k_grans[gi]);
        size_t g = rtm_heap_alignment(h);
        size_t copy = poison_head(g) + 4u > 16u ? poison_head(g) + 4u : 16u;
        uint8_t *small[3];
        for (int i = 0; i < 3; i++) {
            small[i] = rtm_malloc(h, (size_t)24u << i);
            assert_non_null(small[i]);
            fill_block(small[i], (size_t)24u << i, (uint8_t)(40 + i));
        }
        uint8_t *big = rtm_malloc(h, 512);
        assert_non_null(big);
        for (int i = 0; i < 3; i++) {
            for (size_t k = copy; k + 16u <= 512u; k += g) {
                fill_block(big, 512, 9);
                memcpy(big + k - copy, small[i] - copy, copy);
                expect_refused(h, big + k, INVALID, g_mem[0], REGION_BYTES);
            }
        }
        /* A copy of the whole small block, head and tail canary included. */
        fill_block(big, 512, 9);
        memcpy(big + 64 - copy, small[0] - copy, copy + 24u + 8u);
        expect_refused(h, big + 64, INVALID, g_mem[0], REGION_BYTES);
        for (int i = 0; i < 3; i++) {
            release(h, small[i]);
        }
        release(h, big);
        check_heap_at(h, __FILE__, __LINE__);
        assert_int_equal(g_rec.calls, 0);
    }
}

/* ------------------------------------------------------------------ */
/* (c) stale heads                                                     */

static const rtm_strategy_id_t k_strategies[] = {RTM_TLSF, RTM_FIRST_FIT, RTM_BEST_FIT, RTM_BUMP};

#define STALE 12

/* A heap (of every block strategy) is made over a buffer and used; then a
 * new heap of the strategy under test, at the same start and 8 bytes
 * further, is made over the same buffer and given the old pointers. None
 * is a live block of the new heap. */
static void test_stale_heads(void **state)
{
    rtm_strategy_id_t s = strategy_of(state);
    for (size_t n = 0; n < sizeof k_strategies / sizeof k_strategies[0]; n++) {
        for (size_t shift = 0; shift <= 8u; shift += 8u) {
            rtm_heap_t *old = open_heap(g_mem[1], REGION_BYTES, k_strategies[n], 0);
            uint8_t *stale[STALE];
            for (int i = 0; i < STALE; i++) {
                size_t size = (size_t)(16 + 24 * i);
                stale[i] = rtm_malloc(old, size);
                assert_non_null(stale[i]);
                fill_block(stale[i], size, (uint8_t)i);
            }
            release(old, stale[3]); /* a free block's head, too */
            rtm_heap_t *h = open_heap(g_mem[1] + shift, REGION_BYTES - shift, s, 0);
            /* A few live blocks of the new heap; an old pointer that
             * happens to be one of their starts is live, not stale. */
            uint8_t *live[3];
            for (int i = 0; i < 3; i++) {
                live[i] = rtm_malloc(h, (size_t)100u << i);
                assert_non_null(live[i]);
                memset(live[i], 0x3c, (size_t)100u << i);
            }
            for (int i = 0; i < STALE; i++) {
                if (stale[i] == live[0] || stale[i] == live[1] || stale[i] == live[2]) {
                    continue;
                }
                expect_refused(h, stale[i], INVALID | DOUBLE, g_mem[1], REGION_BYTES);
            }
            for (int i = 0; i < 3; i++) {
                release(h, live[i]);
            }
            check_heap_at(h, __FILE__, __LINE__);
            assert_int_equal(g_rec.calls, 0);
            rtm_heap_deinit(h);
        }
    }
}

/* ------------------------------------------------------------------ */
/* (d) interior pointers into ordinary data                            */

#define DATA_BLOCKS 48
#define DATA_TRIES 100000

/* Blocks full of the small numbers real data is made of (lengths, counts,
 * offsets, many of which read as plausible headers); 100,000 pointers at
 * random granules inside them go to usable_size and realloc. The issue saw
 * bump accept 64,212 of them. */
static void test_ordinary_data(void **state)
{
    rtm_strategy_id_t s = strategy_of(state);
    rtm_heap_t *h = open_heap(g_mem[0], REGION_BYTES, s, 0);
    size_t g = rtm_heap_alignment(h);
    ts_rng_t rng;
    ts_rng_seed(&rng, 0x12u + (uint64_t)s);
    uint8_t *blk[DATA_BLOCKS];
    size_t len[DATA_BLOCKS];
    for (int i = 0; i < DATA_BLOCKS; i++) {
        len[i] = ts_rng_range(&rng, 16, 400);
        blk[i] = rtm_malloc(h, len[i]);
        assert_non_null(blk[i]);
        for (size_t w = 0; w + 4u <= len[i]; w += 4u) {
            uint32_t v = ts_rng_chance(&rng, 70) ? (uint32_t)ts_rng_range(&rng, 0, 600)
                                                 : ts_rng_u32(&rng) & 0x7f7f7f7fu;
            ts_wr32(blk[i] + w, v);
        }
    }
    unsigned accepted = 0;
    for (int t = 0; t < DATA_TRIES; t++) {
        int i = (int)ts_rng_range(&rng, 0, DATA_BLOCKS - 1);
        size_t granules = len[i] / g;
        if (granules < 2u) {
            continue;
        }
        uint8_t *q = blk[i] + g * ts_rng_range(&rng, 1, granules - 1u);
        uint32_t word = ts_rd32(q - 4);
        memset(&g_rec, 0, sizeof g_rec);
        bool by_realloc = (t & 1) != 0;
        if (by_realloc) {
            void *r = rtm_realloc(h, q, 8);
            accepted += r != NULL;
        } else {
            accepted += rtm_usable_size(h, q) != 0;
        }
        if (g_rec.calls != 1 || g_rec.kind != RTM_MISUSE_INVALID_POINTER ||
            g_rec.reports != (LEVEL >= 1 ? 1u : 0u) || ts_rd32(q - 4) != word) {
            ts_fail("%s(%p), offset %zu in a %zu-byte block: %u reports of '%s'",
                    by_realloc ? "realloc" : "usable_size", (void *)q, (size_t)(q - blk[i]), len[i],
                    g_rec.calls, rtm_misuse_str(g_rec.kind));
        }
        if (t % 5000 == 0) {
            check_heap_at(h, __FILE__, __LINE__);
        }
    }
    assert_int_equal(accepted, 0);
    /* And the full checks on a sample. */
    for (int t = 0; t < 200; t++) {
        int i = t % DATA_BLOCKS;
        size_t granules = len[i] / g;
        if (granules >= 2u) {
            uint8_t *q = blk[i] + g * (1u + (size_t)t % (granules - 1u));
            expect_refused(h, q, INVALID, g_mem[0], REGION_BYTES);
        }
    }
    check_heap_at(h, __FILE__, __LINE__);
}

/* ------------------------------------------------------------------ */
/* (e) double frees after merges                                       */

static void test_double_free_after_merges(void **state)
{
    rtm_strategy_id_t s = strategy_of(state);
    if (!ts_frees(s)) {
        /* bump never frees: every free is refused as such, which
         * test_heap covers; nothing here can merge. */
        rtm_heap_t *h = open_heap(g_mem[0], REGION_BYTES, s, 0);
        void *p = rtm_malloc(h, 32);
        assert_non_null(p);
        memset(&g_rec, 0, sizeof g_rec);
        rtm_free(h, p);
        assert_int_equal(g_rec.calls, 1);
        assert_int_equal(g_rec.kind, RTM_MISUSE_FREE_REFUSED);
        check_heap_at(h, __FILE__, __LINE__);
        return;
    }
    for (size_t gi = 0; gi < sizeof k_grans / sizeof k_grans[0]; gi++) {
        rtm_heap_t *h = open_heap(g_mem[0], REGION_BYTES, s, k_grans[gi]);
        uint8_t *b[6];
        for (int i = 0; i < 6; i++) {
            b[i] = rtm_malloc(h, 48);
            assert_non_null(b[i]);
            memset(b[i], 0x70 + i, 48);
        }
        /* b1, then b2 (merges into b1), then b4, then b3 (merges with
         * both), then b0 (merges with all of them). After every step, every
         * freed pointer is refused again. */
        static const int order[] = {1, 2, 4, 3, 0};
        for (size_t step = 0; step < sizeof order / sizeof order[0]; step++) {
            memset(&g_rec, 0, sizeof g_rec);
            rtm_free(h, b[order[step]]);
            assert_int_equal(g_rec.calls, 0);
            check_heap_at(h, __FILE__, __LINE__);
            for (size_t k = 0; k <= step; k++) {
                expect_refused(h, b[order[k]], DOUBLE | INVALID, g_mem[0], REGION_BYTES);
            }
        }
        /* A block that still starts a free block is a plain double free. */
        expect_refused(h, b[0], DOUBLE, g_mem[0], REGION_BYTES);
        /* The merged space is reused: stale heads inside the new block are
         * refused as interior pointers, those still in free space as
         * double frees or interior pointers. */
        uint8_t *big = rtm_malloc(h, 200);
        assert_non_null(big);
        memset(big, 0x11, 200);
        for (int i = 1; i < 5; i++) {
            if (b[i] > big && b[i] < big + 200) {
                expect_refused(h, b[i], INVALID, g_mem[0], REGION_BYTES);
            } else if (b[i] != big) {
                expect_refused(h, b[i], DOUBLE | INVALID, g_mem[0], REGION_BYTES);
            }
        }
        rtm_free(h, big);
        rtm_free(h, b[5]);
        check_heap_at(h, __FILE__, __LINE__);
        assert_int_equal(g_rec.calls, 0);
    }
}

/* ------------------------------------------------------------------ */
/* The map's cost (docs/configuration.md)                              */

static size_t empty_overhead(rtm_strategy_id_t s, size_t g, size_t size)
{
    rtm_heap_t *h = open_heap(g_mem[0], size, s, g);
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(h, &info));
    rtm_heap_deinit(h);
    return info.overhead_bytes;
}

/* One bit per granule: 8 KiB more arena costs 8192 / (8 G) bytes more
 * overhead (16 bytes per KiB at G = 8, 32 at G = 4, 8 at G = 16), and
 * free + allocated + overhead stays the total. First fit, best fit and
 * bump only: TLSF's control block also grows with the arena's size. */
static void test_map_cost(void **state)
{
    rtm_strategy_id_t s = strategy_of(state);
    static const size_t grans[] = {4, 8, 16};
    for (size_t i = 0; i < sizeof grans / sizeof grans[0]; i++) {
        size_t g = grans[i];
        size_t small = empty_overhead(s, g, 8192);
        size_t large = empty_overhead(s, g, 16384);
        assert_int_equal(large - small, RTM_EXACT_POINTERS ? 8192u / (8u * g) : 0u);
        rtm_heap_t *h = open_heap(g_mem[0], 16384, s, g);
        rtm_heap_info_t info;
        assert_true(rtm_heap_info(h, &info));
        assert_int_equal(info.free_bytes + info.allocated_bytes + info.overhead_bytes,
                         info.total_bytes);
        rtm_heap_deinit(h);
    }
}

/* rtm_heap_check compares the map with the blocks: a header's bit
 * cleared, or a bit set where no block starts, fails it. The bit of a new
 * header is found as the one bit an allocation set in the bytes between
 * the strategy's state and the first block. */
static void test_map_damage(void **state)
{
    rtm_strategy_id_t s = strategy_of(state);
    rtm_heap_t *h = open_heap(g_mem[0], REGION_BYTES, s, 0);
    uint8_t *first = rtm_malloc(h, 4000);
    assert_non_null(first);
    size_t lo = rtm_heap_front_size() + 64u; /* past the front and the state */
    size_t hi = (size_t)(first - g_mem[0]) - 16u;
    memcpy(g_before, g_mem[0], REGION_BYTES);
    assert_non_null(rtm_malloc(h, 16));
    size_t at = 0;
    uint8_t bit = 0;
    for (size_t i = lo; i < hi; i++) {
        uint8_t set = (uint8_t)(g_mem[0][i] & ~g_before[i]);
        if (set != 0 && (set & (set - 1u)) == 0 && (g_before[i] & ~g_mem[0][i]) == 0) {
            at = i;
            bit = set;
        }
    }
    assert_true(at != 0); /* the map bit of the header the allocation made */
    check_heap_at(h, __FILE__, __LINE__);
    rtm_check_report_t r = {NULL, NULL};
    g_mem[0][at] &= (uint8_t)~bit;
    assert_false(rtm_heap_check(h, &r));
    g_mem[0][at] |= bit;
    check_heap_at(h, __FILE__, __LINE__);
    /* The bit after it: a granule inside that block (at least 16 bytes). */
    size_t at2 = bit == 0x80u ? at + 1u : at;
    uint8_t bit2 = (uint8_t)(bit == 0x80u ? 1u : (unsigned)bit << 1);
    g_mem[0][at2] |= bit2;
    assert_false(rtm_heap_check(h, &r));
    g_mem[0][at2] &= (uint8_t)~bit2;
    check_heap_at(h, __FILE__, __LINE__);
    memset(&g_rec, 0, sizeof g_rec);
}

/* ------------------------------------------------------------------ */

static const rtm_strategy_id_t k_ids[] = {RTM_TLSF, RTM_FIRST_FIT, RTM_BEST_FIT, RTM_BUMP};

#define ONE(name, fn, k) {name, fn, setup, teardown, (void *)(uintptr_t)&k_ids[k]}
#define PER_STRATEGY(fn, label)                                                   \
    ONE("tlsf/" label, fn, 0), ONE("first_fit/" label, fn, 1), ONE("best_fit/" label, fn, 2), \
        ONE("bump/" label, fn, 3)

int main(void)
{
    const struct CMUnitTest tests[] = {
        PER_STRATEGY(test_struct_msg, "struct_msg"),
        PER_STRATEGY(test_forged_headers, "forged_headers"),
        PER_STRATEGY(test_copied_heads, "copied_heads"),
        PER_STRATEGY(test_stale_heads, "stale_heads"),
        PER_STRATEGY(test_ordinary_data, "ordinary_data"),
        PER_STRATEGY(test_double_free_after_merges, "double_free_after_merges"),
        ONE("first_fit/map_cost", test_map_cost, 1),
        ONE("best_fit/map_cost", test_map_cost, 2),
        ONE("bump/map_cost", test_map_cost, 3),
        ONE("first_fit/map_damage", test_map_damage, 1),
        ONE("best_fit/map_damage", test_map_damage, 2),
        ONE("bump/map_damage", test_map_damage, 3),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
