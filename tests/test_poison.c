/*
 * Fault injection for the debug layer (include/rtmem/debug.h).
 *
 * Built once per poisoning level (RTM_POISON_LEVEL 0, 1, 2) against a
 * library built at the same level. Every fault of the issue is injected on
 * every strategy that frees blocks in the region (TLSF, first fit, best
 * fit); at the level that should catch it the test asserts the exact
 * report (kind, call, block, address, expected/found), below that level it
 * asserts that nothing is reported. Reporting is set to continue (a
 * recording hook), and after each fault the heap must keep working: the
 * damage is undone, the block freed, and rtm_heap_check passes.
 */
#define _POSIX_C_SOURCE 200809L /* fork, waitpid */

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <signal.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

#include "rtmem/debug.h"
#include "support/test_support.h"

#define LEVEL RTM_POISON_LEVEL

/* ------------------------------------------------------------------ */
/* Corruption hook recorder                                            */

typedef struct rec {
    unsigned calls;
    rtm_corruption_t last;
} rec_t;

static rec_t g_rec;

static void on_corruption(const rtm_corruption_t *r, void *ctx)
{
    rec_t *rec = ctx;
    rec->calls++;
    rec->last = *r;
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
    rtm_debug_set_corruption_hook(NULL, NULL);
    rtm_debug_set_owner_lookup(NULL, NULL);
    return ts_teardown_close_all(state);
}

static rtm_strategy_id_t strategy_of(void **state)
{
    return *(const rtm_strategy_id_t *)*state;
}

/* At or above `level`: exactly one report with these fields; below it:
 * none. block/address NULL = not compared. Clears the recorder. */
static void expect_report_at(int level, rtm_corruption_kind_t kind, rtm_debug_op_t op,
                             const void *block, const void *address, const char *file, int line)
{
    if (LEVEL < level) {
        if (g_rec.calls != 0) {
            ts_fail_at(file, line, "level %d: unexpected report '%s' at %p", LEVEL,
                       rtm_corruption_kind_str(g_rec.last.kind), g_rec.last.address);
        }
        return;
    }
    if (g_rec.calls != 1) {
        ts_fail_at(file, line, "%u corruption reports, expected one '%s'", g_rec.calls,
                   rtm_corruption_kind_str(kind));
    }
    const rtm_corruption_t *r = &g_rec.last;
    if (r->kind != kind || r->op != op) {
        ts_fail_at(file, line, "report '%s' in %s, expected '%s' in %s",
                   rtm_corruption_kind_str(r->kind), rtm_debug_op_str(r->op),
                   rtm_corruption_kind_str(kind), rtm_debug_op_str(op));
    }
    if ((block != NULL && r->block != block) || (address != NULL && r->address != address)) {
        ts_fail_at(file, line, "report block %p at %p, expected block %p at %p", r->block,
                   r->address, block, address);
    }
    if (r->heap == NULL || r->heap_name == NULL || strcmp(r->heap_name, "test") != 0) {
        ts_fail_at(file, line, "report does not name the heap");
    }
    memset(&g_rec, 0, sizeof g_rec);
}
#define expect_report(level, kind, op, block, address) \
    expect_report_at((level), (kind), (op), (block), (address), __FILE__, __LINE__)

static void expect_no_report_at(const char *file, int line)
{
    if (g_rec.calls != 0) {
        ts_fail_at(file, line, "unexpected report '%s' at %p",
                   rtm_corruption_kind_str(g_rec.last.kind), g_rec.last.address);
    }
}
#define expect_no_report() expect_no_report_at(__FILE__, __LINE__)

/* Bytes between a block's raw start (the strategy's pointer) and the
 * pointer the caller gets, for a plain allocation. */
static size_t plain_head(const ts_heap_t *th)
{
    if (LEVEL == 0) {
        return 0;
    }
    return th->granularity > 8u ? th->granularity : 8u;
}

/* The heap works: allocations and frees succeed, the check passes, and no
 * hook ran. */
static void assert_heap_usable(ts_heap_t *th)
{
    void *a = rtm_malloc(th->heap, 40);
    void *b = rtm_malloc(th->heap, 200);
    assert_non_null(a);
    assert_non_null(b);
    memset(a, 1, 40);
    memset(b, 2, 200);
    rtm_free(th->heap, a);
    rtm_free(th->heap, b);
    rtm_check_report_t r = {NULL, NULL};
    if (!rtm_heap_check(th->heap, &r)) {
        ts_fail("heap check failed after recovery: %s at %p", r.problem, r.address);
    }
    ts_assert_heap_sane(th, NULL);
    ts_expect_no_hooks(th);
    expect_no_report();
}

/* Three adjacent live blocks; the middle one is the victim, so that it
 * has used neighbours on both sides. */
typedef struct trio {
    uint8_t *a, *p, *c;
} trio_t;

static trio_t trio(ts_heap_t *th, size_t size)
{
    trio_t t;
    t.a = rtm_malloc(th->heap, size);
    t.p = rtm_malloc(th->heap, size);
    t.c = rtm_malloc(th->heap, size);
    assert_non_null(t.a);
    assert_non_null(t.p);
    assert_non_null(t.c);
    memset(t.a, 0x11, size);
    memset(t.p, 0x22, size);
    memset(t.c, 0x33, size);
    return t;
}

static void trio_free(ts_heap_t *th, trio_t *t)
{
    rtm_free(th->heap, t->a);
    rtm_free(th->heap, t->p);
    rtm_free(th->heap, t->c);
}

/* ------------------------------------------------------------------ */
/* Layout and translation                                              */

static void test_layout(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    trio_t t = trio(th, 24);
    uint8_t *p = t.p;
    if (LEVEL >= 1) {
        assert_int_equal(rtm_usable_size(th->heap, p), 24u);
    } else {
        assert_true(rtm_usable_size(th->heap, p) >= 24u);
    }
#if LEVEL >= 1
    assert_int_equal(ts_rd32(p - 4), RTM_POISON_HEAD_CANARY);
    assert_int_equal(ts_rd32(p - 8), 24u);
    assert_int_equal(ts_rd32(p + 24), RTM_POISON_TAIL_CANARY);
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(th->heap, &info));
    assert_int_equal(info.allocated_bytes, 72u); /* what was asked for */
#endif
#if LEVEL >= 2
    uint8_t *fresh = rtm_malloc(th->heap, 50);
    for (size_t i = 0; i < 50; i++) {
        assert_int_equal(fresh[i], RTM_POISON_FRESH_BYTE);
    }
    rtm_free(th->heap, fresh);
#endif
    rtm_free(th->heap, p);
#if LEVEL >= 2
    /* The freed block keeps its links before p; the data is fill. */
    for (size_t i = 0; i < 24; i++) {
        assert_int_equal(p[i], RTM_POISON_FREE_BYTE);
    }
#endif
    rtm_free(th->heap, t.a);
    rtm_free(th->heap, t.c);
    assert_heap_usable(th);
}

static void test_calloc_realloc(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    uint8_t *z = rtm_calloc(th->heap, 10, 7);
    assert_non_null(z);
    for (size_t i = 0; i < 70; i++) {
        assert_int_equal(z[i], 0);
    }
    /* Shrink in place, then grow (in place or moved): contents kept,
     * canaries follow the size. */
    uint8_t *r = rtm_realloc(th->heap, z, 30);
    assert_ptr_equal(r, z);
    assert_int_equal(rtm_usable_size(th->heap, r), LEVEL >= 1 ? 30u : rtm_usable_size(th->heap, r));
    r = rtm_realloc(th->heap, r, 300);
    assert_non_null(r);
    for (size_t i = 0; i < 30; i++) {
        assert_int_equal(r[i], 0);
    }
#if LEVEL >= 1
    assert_int_equal(ts_rd32(r + 300), RTM_POISON_TAIL_CANARY);
    assert_int_equal(rtm_usable_size(th->heap, r), 300u);
#endif
#if LEVEL >= 2
    assert_int_equal(r[30], RTM_POISON_FRESH_BYTE);
    assert_int_equal(r[299], RTM_POISON_FRESH_BYTE);
#endif
    rtm_free(th->heap, r);
    assert_heap_usable(th);
}

static void test_aligned(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    static const size_t aligns[] = {16, 64, 256};
    uint8_t *p[3];
    for (size_t i = 0; i < 3; i++) {
        p[i] = rtm_aligned_alloc(th->heap, aligns[i], 40);
        assert_non_null(p[i]);
        assert_int_equal((uintptr_t)p[i] & (aligns[i] - 1u), 0);
        memset(p[i], 0x5A, 40);
        assert_int_equal(rtm_usable_size(th->heap, p[i]), LEVEL >= 1 ? 40u : rtm_usable_size(th->heap, p[i]));
    }
    /* Shrinking in place keeps the alignment. */
    uint8_t *s = rtm_realloc(th->heap, p[2], 20);
    assert_ptr_equal(s, p[2]);
    /* An interior pointer of an aligned block is refused like any other. */
    rtm_free(th->heap, p[1] + 16);
    ts_expect_misuse(th, RTM_MISUSE_INVALID_POINTER, p[1] + 16);
    expect_report(1, RTM_CORRUPT_INVALID_FREE, RTM_OP_FREE, p[1] + 16, p[1] + 16);
#if LEVEL >= 1
    /* Overflow of an aligned block is caught too. */
    p[0][40] = 0;
    rtm_free(th->heap, p[0]);
    expect_report(1, RTM_CORRUPT_BAD_TAIL, RTM_OP_FREE, p[0], p[0] + 40);
    ts_wr32(p[0] + 40, RTM_POISON_TAIL_CANARY);
#endif
    for (size_t i = 0; i < 3; i++) {
        rtm_free(th->heap, p[i]);
    }
    ts_expect_no_hooks(th);
    assert_heap_usable(th);
}

/* Sizes whose block, with the debug layer's head and tail, would pass
 * SIZE_MAX: each call fails as too large, once through the failure hook
 * and once in the failure count, and the heap is unchanged, at every
 * level (levels >= 1 add the canaries the size cannot hold). */
static void test_size_past_the_layer(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    rtm_heap_info_t before;
    ts_assert_heap_sane(th, &before);
    static const size_t sizes[] = {SIZE_MAX, SIZE_MAX - 2u, SIZE_MAX - 64u};
    for (size_t i = 0; i < TS_ARRAY_LEN(sizes); i++) {
        assert_null(rtm_malloc(th->heap, sizes[i]));
        ts_expect_failure(th, RTM_FAIL_TOO_LARGE);
        assert_null(rtm_aligned_alloc(th->heap, 64, sizes[i]));
        ts_expect_failure(th, RTM_FAIL_TOO_LARGE);
        assert_null(rtm_malloc_ex(th->heap, sizes[i], NULL));
        ts_expect_failure(th, RTM_FAIL_TOO_LARGE);
    }
    rtm_heap_info_t after;
    ts_assert_heap_sane(th, &after);
    assert_int_equal(after.failed_count, before.failed_count + 3u * TS_ARRAY_LEN(sizes));
    assert_int_equal(after.free_bytes, before.free_bytes);
    assert_int_equal(after.alloc_count, before.alloc_count);
}

static void test_granularity_16(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 16);
    uint8_t *p = rtm_malloc(th->heap, 10);
    uint8_t *q = rtm_malloc(th->heap, 33);
    assert_int_equal((uintptr_t)p & 15u, 0);
    assert_int_equal((uintptr_t)q & 15u, 0);
    p[10] = 0x42; /* one past the end */
    rtm_free(th->heap, p);
    expect_report(1, RTM_CORRUPT_BAD_TAIL, RTM_OP_FREE, p, p + 10);
#if LEVEL >= 1
    ts_wr32(p + 10, RTM_POISON_TAIL_CANARY);
    rtm_free(th->heap, p);
#endif
    rtm_free(th->heap, q);
    assert_heap_usable(th);
}

typedef struct seen {
    const void *want;
    size_t size;
    bool found;
} seen_t;

static bool find_block(const rtm_block_info_t *b, void *ctx)
{
    seen_t *s = ctx;
    if (b->used && b->ptr == s->want) {
        s->found = true;
        s->size = b->size;
    }
    return true;
}

typedef struct events {
    unsigned n;
    rtm_heap_event_t last;
} events_t;

static void on_event(const rtm_heap_event_t *ev, void *ctx)
{
    events_t *e = ctx;
    e->n++;
    e->last = *ev;
}

static void test_walk_and_observer(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    events_t ev = {0, {0, NULL, NULL, NULL, 0, 0, NULL}};
    rtm_heap_set_observer(th->heap, on_event, &ev);
    uint8_t *p = rtm_malloc(th->heap, 21);
    assert_int_equal(ev.last.kind, RTM_EVENT_ALLOC);
    assert_ptr_equal(ev.last.ptr, p);
    assert_int_equal(ev.last.size, 21);
    seen_t s = {p, 0, false};
    assert_true(rtm_heap_walk(th->heap, find_block, &s));
    assert_true(s.found);
    assert_int_equal(s.size, rtm_usable_size(th->heap, p));
    rtm_free(th->heap, p);
    assert_int_equal(ev.last.kind, RTM_EVENT_FREE);
    assert_ptr_equal(ev.last.ptr, p);
    assert_int_equal(ev.last.size, LEVEL >= 1 ? 21u : ev.last.size);
    rtm_heap_set_observer(th->heap, NULL, NULL);
    assert_heap_usable(th);
}

/* ------------------------------------------------------------------ */
/* The faults                                                          */

/* 1-byte overflow past the end: caught at level 1 by free, realloc,
 * usable-size and the check. */
static void test_overflow_1(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    trio_t t = trio(th, 24);
    uint8_t *p = t.p;
    uint8_t saved = p[24]; /* level 0: slack inside the block, harmless */
    p[24] = (uint8_t)(saved ^ 0xFFu);
    rtm_heap_info_t before;
    assert_true(rtm_heap_info(th->heap, &before));

    assert_int_equal(rtm_usable_size(th->heap, p), LEVEL >= 1 ? 0u : rtm_usable_size(th->heap, p));
    expect_report(1, RTM_CORRUPT_BAD_TAIL, RTM_OP_USABLE_SIZE, p, p + 24);
#if LEVEL >= 1
    assert_null(rtm_realloc(th->heap, p, 100));
    expect_report(1, RTM_CORRUPT_BAD_TAIL, RTM_OP_REALLOC, p, p + 24);
    rtm_check_report_t cr = {NULL, NULL};
    assert_false(rtm_heap_check(th->heap, &cr));
    assert_ptr_equal(cr.address, p + 24);
    expect_report(1, RTM_CORRUPT_BAD_TAIL, RTM_OP_CHECK, p, p + 24);
    rtm_free(th->heap, p);
    expect_report(1, RTM_CORRUPT_BAD_TAIL, RTM_OP_FREE, p, p + 24);
    assert_int_equal(g_rec.calls, 0);
    /* The free had no effect: the block is still allocated. */
    rtm_heap_info_t after;
    assert_true(rtm_heap_info(th->heap, &after));
    assert_int_equal(after.used_blocks, before.used_blocks);
    assert_int_equal(after.free_count, before.free_count);
    /* Expected and found name the canary. */
    rtm_free(th->heap, p);
    assert_int_equal(g_rec.last.expected, RTM_POISON_TAIL_CANARY);
    assert_int_equal(g_rec.last.found, RTM_POISON_TAIL_CANARY ^ 0xFFu);
    memset(&g_rec, 0, sizeof g_rec);
    /* Other blocks keep working meanwhile. */
    void *x = rtm_malloc(th->heap, 100);
    assert_non_null(x);
    rtm_free(th->heap, x);
    expect_no_report();
#endif
    p[24] = saved;
    trio_free(th, &t);
    assert_heap_usable(th);
}

/* 1-byte underflow before the start hits the head canary (level 1). At
 * level 0 the byte is the block's header, so it is not injected there. */
static void test_underflow_1(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    trio_t t = trio(th, 32);
#if LEVEL >= 1
    uint8_t *p = t.p;
    uint8_t saved = p[-1];
    p[-1] = 0;
    rtm_free(th->heap, p);
    expect_report(1, RTM_CORRUPT_BAD_HEAD, RTM_OP_FREE, p, p - 4);
    uint32_t want = RTM_POISON_HEAD_CANARY;
    uint8_t *wb = (uint8_t *)&want;
    wb[3] = 0; /* the byte just before p, in memory order */
    rtm_free(th->heap, p);
    assert_int_equal(g_rec.last.found, want);
    assert_int_equal(g_rec.last.expected, RTM_POISON_HEAD_CANARY);
    memset(&g_rec, 0, sizeof g_rec);
    p[-1] = saved;
    /* Further down: the recorded size. */
    uint32_t size = ts_rd32(p - 8);
    ts_wr32(p - 8, 0x7FFFFFF0u);
    rtm_free(th->heap, p);
    expect_report(1, RTM_CORRUPT_BAD_SIZE, RTM_OP_FREE, p, p - 8);
    ts_wr32(p - 8, size);
#endif
    trio_free(th, &t);
    assert_heap_usable(th);
}

/* Double free: the misuse hook at every level, a report from level 1;
 * also when the first free merged the block into a free neighbour. */
static void test_double_free(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    trio_t t = trio(th, 48);
    rtm_free(th->heap, t.p);
    ts_expect_no_hooks(th);
    rtm_free(th->heap, t.p);
    ts_expect_misuse(th, RTM_MISUSE_DOUBLE_FREE, t.p);
    expect_report(1, RTM_CORRUPT_DOUBLE_FREE, RTM_OP_FREE, t.p, t.p);
    /* c merges into the free block before it (TLSF, first fit). */
    rtm_free(th->heap, t.c);
    ts_expect_no_hooks(th);
    rtm_free(th->heap, t.c);
    ts_expect_misuse(th, RTM_MISUSE_DOUBLE_FREE, t.c);
    expect_report(1, RTM_CORRUPT_DOUBLE_FREE, RTM_OP_FREE, t.c, t.c);
    rtm_free(th->heap, t.a);
    assert_heap_usable(th);
}

static void test_foreign_free(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    uint64_t local[4] = {0, 0, 0, 0};
    rtm_free(th->heap, &local[2]);
    ts_expect_misuse(th, RTM_MISUSE_FOREIGN_POINTER, &local[2]);
    expect_report(1, RTM_CORRUPT_FOREIGN_FREE, RTM_OP_FREE, &local[2], &local[2]);
    /* Just past the end of the region. */
    uint8_t *past = th->mem + th->size + 8;
    rtm_free(th->heap, past);
    ts_expect_misuse(th, RTM_MISUSE_FOREIGN_POINTER, past);
    expect_report(1, RTM_CORRUPT_FOREIGN_FREE, RTM_OP_FREE, past, past);
    assert_heap_usable(th);
}

/* Never allocated: inside the region but never a block. */
static void test_never_allocated(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    trio_t t = trio(th, 16);
    uint8_t *ctl = th->mem + 64; /* the heap's control block */
    rtm_free(th->heap, ctl);
    ts_expect_misuse(th, RTM_MISUSE_INVALID_POINTER, ctl);
    expect_report(1, RTM_CORRUPT_INVALID_FREE, RTM_OP_FREE, ctl, ctl);
    /* Memory no block ever used, near the end of the region. At level 2
     * it holds the free pattern, which is what a freed block looks like:
     * the report calls it a double free (see docs/debugging.md). */
    uint8_t *unused = th->mem + ((th->size - 512) & ~(size_t)63);
    rtm_free(th->heap, unused);
    rtm_misuse_t want = LEVEL >= 2 ? RTM_MISUSE_DOUBLE_FREE : RTM_MISUSE_INVALID_POINTER;
    ts_expect_misuse(th, want, unused);
    expect_report(1, LEVEL >= 2 ? RTM_CORRUPT_DOUBLE_FREE : RTM_CORRUPT_INVALID_FREE, RTM_OP_FREE,
                  unused, unused);
    trio_free(th, &t);
    assert_heap_usable(th);
}

static void test_interior_free(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    trio_t t = trio(th, 64);
    static const size_t offs[] = {4, 8, 16, 40};
    for (size_t i = 0; i < TS_ARRAY_LEN(offs); i++) {
        uint8_t *x = t.p + offs[i];
        rtm_free(th->heap, x);
        ts_expect_misuse(th, RTM_MISUSE_INVALID_POINTER, x);
        expect_report(1, RTM_CORRUPT_INVALID_FREE, RTM_OP_FREE, x, x);
    }
    for (size_t i = 0; i < 64; i++) {
        assert_int_equal(t.p[i], 0x22); /* untouched */
    }
    trio_free(th, &t);
    assert_heap_usable(th);
}

/* Granularity 4: at poisoning levels 1 and 2 the size word in front of
 * p + 4 reads like a block header whose successor is broken; it is still
 * an interior pointer, not corruption (found by fuzz_heap_poison). */
static void test_interior_free_granularity_4(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 4);
    uint8_t *p = rtm_malloc(th->heap, 12);
    assert_non_null(p);
    memset(p, 0x5a, 12);
    uint8_t *x = p + 4;
    rtm_free(th->heap, x);
    ts_expect_misuse(th, RTM_MISUSE_INVALID_POINTER, x);
    expect_report(1, RTM_CORRUPT_INVALID_FREE, RTM_OP_FREE, x, x);
    assert_int_equal(rtm_usable_size(th->heap, x), 0);
    ts_expect_misuse(th, RTM_MISUSE_INVALID_POINTER, x);
    g_rec.calls = 0;
    rtm_free(th->heap, p);
    ts_expect_no_hooks(th);
    assert_heap_usable(th);
}

/* A stale pointer that now lies inside the head of a live aligned block
 * (TLSF, granularity 4) is refused through the misuse hook, never taken
 * for that block (found by fuzz_heap_poison). The aligned block is made to
 * start where the freed one did: its alignment is the largest power of two
 * that divides that start, so its head (markers, size, canary) covers the
 * old pointer. */
static void test_double_free_into_aligned_head(void **state)
{
    if (LEVEL == 0) {
        skip(); /* no heads without poisoning */
    }
    /* The control block and the block-start map grow with the region, so
     * some region size a few bytes up puts the first block at a 16-byte
     * boundary. */
    ts_heap_t *th = NULL;
    uint8_t *p = NULL;
    uintptr_t raw = 0;
    size_t align = 0;
    for (size_t size = 4096; size <= 65536 && align < 16u; size += 4u) {
        ts_heap_close(th);
        ts_heap_opts_t o = {.strategy = strategy_of(state), .granularity = 4, .size = size};
        th = ts_heap_open_ex(&o);
        p = rtm_malloc(th->heap, rtm_heap_largest_free(th->heap));
        assert_non_null(p);
        rtm_free(th->heap, p);
        raw = (uintptr_t)p - 8u; /* the plain head at granularity 4 */
        align = (size_t)(raw & (~raw + 1u));
        align = align > 4096u ? 4096u : align;
    }
    assert_true(align >= 16u);
    uint8_t *q = rtm_aligned_alloc(th->heap, align, 6);
    assert_non_null(q);
    assert_ptr_equal(q, (uint8_t *)raw + align); /* p now lies in q's head */
    memset(q, 0x33, 6);
    ts_expect_no_hooks(th);
    rtm_heap_info_t before, after;
    assert_true(rtm_heap_info(th->heap, &before));
    rtm_free(th->heap, p);
    ts_expect_misuse(th, RTM_MISUSE_INVALID_POINTER, p);
    expect_report(1, RTM_CORRUPT_INVALID_FREE, RTM_OP_FREE, p, p);
    assert_true(rtm_heap_info(th->heap, &after));
    assert_int_equal(after.used_blocks, before.used_blocks);
    assert_int_equal(after.free_bytes, before.free_bytes);
    for (size_t i = 0; i < 6; i++) {
        assert_int_equal(q[i], 0x33);
    }
    g_rec.calls = 0;
    rtm_free(th->heap, q);
    ts_expect_no_hooks(th);
    assert_heap_usable(th);
}

/* Write after free: level 2 finds it at the check and at the allocation
 * that reuses the block, at the exact byte. */
static void test_write_after_free(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    trio_t t = trio(th, 64);
    uint8_t *p = t.p;
    rtm_free(th->heap, p);
    uint8_t saved = p[10];
    p[10] = 0x77;
    rtm_check_report_t cr = {NULL, NULL};
    bool ok = rtm_heap_check(th->heap, &cr);
    assert_int_equal(ok, LEVEL < 2);
    expect_report(2, RTM_CORRUPT_WRITE_AFTER_FREE, RTM_OP_CHECK, p, p + 10);
#if LEVEL >= 2
    assert_ptr_equal(cr.address, p + 10);
#endif
    /* The same size reuses the same block in every strategy here. */
    uint8_t *q = rtm_malloc(th->heap, 64);
    assert_ptr_equal(q, p);
    expect_report(2, RTM_CORRUPT_WRITE_AFTER_FREE, RTM_OP_ALLOC, q, p + 10);
#if LEVEL >= 2
    /* Still handed out, refilled: the stray byte is gone. */
    for (size_t i = 0; i < 64; i++) {
        assert_int_equal(q[i], RTM_POISON_FRESH_BYTE);
    }
    rtm_free(th->heap, q);
    rtm_free(th->heap, rtm_malloc(th->heap, 64));
    assert_int_equal(g_rec.calls, 0);
    (void)saved;
    q = rtm_malloc(th->heap, 64);
#else
    (void)saved;
#endif
    assert_non_null(q);
    t.p = q;
    trio_free(th, &t);
    assert_heap_usable(th);
}

/* Level 2: a write after free into the bytes that a split turns into the
 * remainder's header and links is reported by the allocation that splits
 * the block, at the exact byte, although the remainder's new metadata
 * then covers it: allocate 64, 200 and 64 bytes, free the 200, write into
 * its middle, allocate 88 from its front. */
static void test_write_after_free_under_split(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    uint8_t *a = rtm_malloc(th->heap, 64);
    uint8_t *p = rtm_malloc(th->heap, 200);
    uint8_t *c = rtm_malloc(th->heap, 64);
    assert_non_null(a);
    assert_non_null(p);
    assert_non_null(c);
    rtm_free(th->heap, p);
    p[100] = 0x77;
    uint8_t *q = rtm_malloc(th->heap, 88);
    assert_ptr_equal(q, p);
    expect_report(2, RTM_CORRUPT_WRITE_AFTER_FREE, RTM_OP_ALLOC, q, p + 100);
#if LEVEL >= 2
    for (size_t i = 0; i < 88; i++) {
        assert_int_equal(q[i], RTM_POISON_FRESH_BYTE);
    }
#endif
    g_rec.calls = 0;
    rtm_free(th->heap, q);
    rtm_free(th->heap, a);
    rtm_free(th->heap, c);
    ts_expect_no_hooks(th);
    assert_heap_usable(th);
}

/* Level 2: one byte of a freed block written after the free, whichever
 * byte it is, and whatever allocation then splits the block (a front part,
 * a small one, nearly all of it, aligned ones that leave a free gap before
 * them), is reported exactly once: by that allocation when the byte is
 * handed out or covered by new metadata (a header, links, a footer, the
 * canaries), else by the check of the free remainder that still holds it.
 * Always at the byte written and with its value, never erased silently. */
typedef struct waf_alloc {
    size_t alignment; /* 0: rtm_malloc */
    size_t size;
} waf_alloc_t;

static void test_write_after_free_any_byte(void **state)
{
#if LEVEL >= 2
    static const waf_alloc_t k_allocs[] = {
        {0, 88}, {0, 8}, {0, 150}, {0, 190}, {16, 60}, {32, 100}, {64, 46}, {128, 30},
    };
    rtm_strategy_id_t s = strategy_of(state);
    for (size_t a = 0; a < sizeof k_allocs / sizeof k_allocs[0]; a++) {
        for (size_t k = 0; k < 200; k++) {
            ts_context("allocation %zu (alignment %zu, size %zu), p[%zu] written", a,
                       k_allocs[a].alignment, k_allocs[a].size, k);
            ts_heap_t *th = ts_heap_open(s, 0);
            uint8_t *before = rtm_malloc(th->heap, 64);
            uint8_t *p = rtm_malloc(th->heap, 200);
            uint8_t *after = rtm_malloc(th->heap, 64);
            assert_non_null(before);
            assert_non_null(p);
            assert_non_null(after);
            rtm_free(th->heap, p);
            uint8_t written = (uint8_t)(0x11u + k);
            p[k] = written;
            void *q = k_allocs[a].alignment == 0
                          ? rtm_malloc(th->heap, k_allocs[a].size)
                          : rtm_aligned_alloc(th->heap, k_allocs[a].alignment, k_allocs[a].size);
            assert_non_null(q);
            unsigned by_alloc = g_rec.calls;
            rtm_check_report_t cr = {NULL, NULL};
            bool clean = rtm_heap_check(th->heap, &cr);
            if (g_rec.calls != 1 || clean != (by_alloc == 1)) {
                ts_fail_at(__FILE__, __LINE__, "%u reports (%u by the allocation), check %s",
                           g_rec.calls, by_alloc, clean ? "passed" : "failed");
            }
            const rtm_corruption_t *r = &g_rec.last;
            if (r->kind != RTM_CORRUPT_WRITE_AFTER_FREE || r->address != p + k ||
                r->found != written || r->op != (by_alloc == 1 ? RTM_OP_ALLOC : RTM_OP_CHECK)) {
                ts_fail_at(__FILE__, __LINE__, "report '%s' in %s at %p found 0x%x",
                           rtm_corruption_kind_str(r->kind), rtm_debug_op_str(r->op), r->address,
                           (unsigned)r->found);
            }
            memset(&g_rec, 0, sizeof g_rec);
            ts_heap_close(th);
        }
    }
#else
    (void)state;
    skip();
#endif
}

/* A smashed free-list link is found by the full check at every level
 * (the report at levels >= 1), and precisely by the incremental check. */
static void test_smashed_link(void **state)
{
    rtm_strategy_id_t s = strategy_of(state);
    ts_heap_t *th = ts_heap_open(s, 0);
    trio_t t = trio(th, 64);
    rtm_free(th->heap, t.p);
    uint8_t *raw = t.p - plain_head(th);
    /* The first link word of the free block's payload (all three keep one
     * there), pointed far outside the arena, tag bits kept. */
    uint32_t saved = ts_rd32(raw);
    ts_wr32(raw, 0xFFFFFF00u | (saved & 3u));
    rtm_check_report_t cr = {NULL, NULL};
    assert_false(rtm_heap_check(th->heap, &cr));
    /* TLSF and best fit name the damaged block; first fit's check, which
     * follows the list in step with the blocks, names the free block the
     * bad link skipped: the next one after it. */
    const uint8_t *at = cr.address;
    if (s == RTM_FIRST_FIT) {
        assert_true(at > raw && at < th->mem + th->size);
    } else {
        assert_true(at >= raw - 4 && at < raw + 8);
    }
    expect_report(1, RTM_CORRUPT_FREE_LIST, RTM_OP_CHECK, cr.address, cr.address);
    if (s == RTM_TLSF || s == RTM_FIRST_FIT) {
        rtm_check_status_t st;
        do {
            st = rtm_heap_check_step(th->heap, 2, &cr);
        } while (st == RTM_CHECK_IN_PROGRESS);
        assert_int_equal(st, RTM_CHECK_FAILED);
        assert_ptr_equal(cr.address, raw);
        expect_report(1, RTM_CORRUPT_FREE_LIST, RTM_OP_CHECK_STEP, raw, raw);
    }
    ts_wr32(raw, saved);
    t.p = rtm_malloc(th->heap, 64);
    trio_free(th, &t);
    assert_heap_usable(th);
}

/* Every bad pointer is reported with the call that was given it: an
 * interior or foreign pointer to realloc and usable_size as to free (the
 * misuse hook at every level, the matching corruption kind from level 1),
 * and the call has no effect. */
static void test_bad_pointers_name_their_call(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    trio_t t = trio(th, 64);
    uint64_t local[2] = {0, 0};
    uint8_t *interior = t.p + 16;
    rtm_heap_info_t before, after;
    assert_true(rtm_heap_info(th->heap, &before));

    assert_null(rtm_realloc(th->heap, interior, 200));
    ts_expect_misuse(th, RTM_MISUSE_INVALID_POINTER, interior);
    expect_report(1, RTM_CORRUPT_INVALID_FREE, RTM_OP_REALLOC, interior, interior);
    assert_int_equal(rtm_usable_size(th->heap, interior), 0);
    ts_expect_misuse(th, RTM_MISUSE_INVALID_POINTER, interior);
    expect_report(1, RTM_CORRUPT_INVALID_FREE, RTM_OP_USABLE_SIZE, interior, interior);
    /* Realloc to 0 frees, and is still the call the report names. */
    assert_null(rtm_realloc(th->heap, interior, 0));
    ts_expect_misuse(th, RTM_MISUSE_INVALID_POINTER, interior);
    expect_report(1, RTM_CORRUPT_INVALID_FREE, RTM_OP_REALLOC, interior, interior);
    assert_null(rtm_realloc_ex(th->heap, interior, 0, NULL));
    ts_expect_misuse(th, RTM_MISUSE_INVALID_POINTER, interior);
    expect_report(1, RTM_CORRUPT_INVALID_FREE, RTM_OP_REALLOC, interior, interior);

    assert_null(rtm_realloc(th->heap, &local[1], 200));
    ts_expect_misuse(th, RTM_MISUSE_FOREIGN_POINTER, &local[1]);
    expect_report(1, RTM_CORRUPT_FOREIGN_FREE, RTM_OP_REALLOC, &local[1], &local[1]);
    assert_int_equal(rtm_usable_size(th->heap, &local[1]), 0);
    ts_expect_misuse(th, RTM_MISUSE_FOREIGN_POINTER, &local[1]);
    expect_report(1, RTM_CORRUPT_FOREIGN_FREE, RTM_OP_USABLE_SIZE, &local[1], &local[1]);

    assert_true(rtm_heap_info(th->heap, &after));
    assert_int_equal(after.used_blocks, before.used_blocks);
    assert_int_equal(after.free_bytes, before.free_bytes);
    for (size_t i = 0; i < 64; i++) {
        assert_int_equal(t.p[i], 0x22);
    }
#if LEVEL >= 1
    /* A damaged block and a second free, through realloc to 0 (after the
     * statistics above: best fit keeps the split this leaves). */
    uint8_t *q = rtm_malloc(th->heap, 40);
    assert_non_null(q);
    q[40] ^= 0x01; /* the tail canary */
    assert_null(rtm_realloc(th->heap, q, 0));
    expect_report(1, RTM_CORRUPT_BAD_TAIL, RTM_OP_REALLOC, q, q + 40);
    q[40] ^= 0x01;
    assert_null(rtm_realloc(th->heap, q, 0));
    expect_no_report();
    assert_null(rtm_realloc(th->heap, q, 0));
    ts_expect_misuse(th, RTM_MISUSE_DOUBLE_FREE, q);
    expect_report(1, RTM_CORRUPT_DOUBLE_FREE, RTM_OP_REALLOC, q, q);
#endif
    trio_free(th, &t);
    assert_heap_usable(th);
}

/* A realloc that moves the block takes a new one like malloc does, and a
 * write after free found there is reported as the realloc it is. */
static void test_write_after_free_found_by_realloc_move(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    trio_t t = trio(th, 64);
    uint8_t *small = rtm_malloc(th->heap, 32);
    uint8_t *guard = rtm_malloc(th->heap, 32);
    assert_non_null(small);
    assert_non_null(guard);
    memset(small, 0x44, 32);
    rtm_free(th->heap, t.p);
    t.p[10] = 0x77;
    uint8_t *moved = rtm_realloc(th->heap, small, 64);
    assert_ptr_equal(moved, t.p);
    expect_report(2, RTM_CORRUPT_WRITE_AFTER_FREE, RTM_OP_REALLOC, moved, t.p + 10);
    g_rec.calls = 0;
    for (size_t i = 0; i < 32; i++) {
        assert_int_equal(moved[i], 0x44);
    }
    t.p = moved;
    rtm_free(th->heap, guard);
    trio_free(th, &t);
    ts_expect_no_hooks(th);
    assert_heap_usable(th);
}

/* A realloc that grows in place over a free neighbour checks the bytes it
 * takes from it, as an allocation checks the block it takes. */
static void test_write_after_free_found_by_realloc_in_place(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    trio_t t = trio(th, 64);
    uint8_t *guard = rtm_malloc(th->heap, 64); /* keeps c's block from merging with the rest */
    assert_non_null(guard);
    rtm_free(th->heap, t.c);
    t.c[20] = 0x77;
    uint8_t *q = rtm_realloc(th->heap, t.p, 100);
    assert_ptr_equal(q, t.p);
    expect_report(2, RTM_CORRUPT_WRITE_AFTER_FREE, RTM_OP_REALLOC, q, t.c + 20);
    g_rec.calls = 0;
    rtm_free(th->heap, guard);
    rtm_free(th->heap, q);
    rtm_free(th->heap, t.a);
    ts_expect_no_hooks(th);
    assert_heap_usable(th);
}

/* The first free block after `after` (its payload, where the strategy
 * keeps its links), found by a walk. */
typedef struct free_after {
    const uint8_t *after;
    uint8_t *found;
} free_after_t;

static bool find_free_after(const rtm_block_info_t *b, void *ctx)
{
    free_after_t *f = ctx;
    if (!b->used && (const uint8_t *)b->ptr > f->after) {
        f->found = b->ptr;
        return false;
    }
    return true;
}

/* trio(200) with a guard after it, c freed, then p grown by 64 bytes in
 * place: p takes c's first bytes and a tail of c's block stays free. */
static uint8_t *grow_into_c(ts_heap_t *th, trio_t *t, uint8_t **guard, uint8_t *damage_at)
{
    *t = trio(th, 200);
    *guard = rtm_malloc(th->heap, 64);
    assert_non_null(*guard);
    rtm_free(th->heap, t->c);
    if (damage_at != NULL) {
        *damage_at = 0x77;
    }
    uint8_t *q = rtm_realloc(th->heap, t->p, rtm_usable_size(th->heap, t->p) + 64);
    assert_ptr_equal(q, t->p);
    return q;
}

/* The same where the grown block leaves a tail: a changed byte where the
 * tail's new header and links now lie is reported too, though it stays in
 * free memory (they cover it). */
static void test_write_after_free_under_realloc_tail(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    trio_t t;
    uint8_t *guard;
    /* A first pass finds where the tail's links go; the heap laid out
     * again over the same memory puts them there again. */
    uint8_t *q = grow_into_c(th, &t, &guard, NULL);
    free_after_t f = {q, NULL};
    assert_true(rtm_heap_walk(th->heap, find_free_after, &f));
    assert_non_null(f.found);
    assert_true(f.found > t.c + 8 && f.found < t.c + 200);
    uint8_t *links = f.found + 1;
    ts_expect_no_hooks(th);
    ts_heap_reopen(th);
    q = grow_into_c(th, &t, &guard, links);
    expect_report(2, RTM_CORRUPT_WRITE_AFTER_FREE, RTM_OP_REALLOC, q, links);
    g_rec.calls = 0;
    rtm_free(th->heap, guard);
    rtm_free(th->heap, q);
    rtm_free(th->heap, t.a);
    ts_expect_no_hooks(th);
    assert_heap_usable(th);
}

/* realloc of a freed block: refused, the old contents untouched. */
static void test_realloc_freed(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    trio_t t = trio(th, 40);
    rtm_free(th->heap, t.p);
    assert_null(rtm_realloc(th->heap, t.p, 100));
    ts_expect_misuse(th, RTM_MISUSE_DOUBLE_FREE, t.p);
    expect_report(1, RTM_CORRUPT_DOUBLE_FREE, RTM_OP_REALLOC, t.p, t.p);
    assert_int_equal(rtm_usable_size(th->heap, t.p), 0);
    ts_expect_misuse(th, RTM_MISUSE_DOUBLE_FREE, t.p);
    expect_report(1, RTM_CORRUPT_DOUBLE_FREE, RTM_OP_USABLE_SIZE, t.p, t.p);
    rtm_free(th->heap, t.a);
    rtm_free(th->heap, t.c);
    assert_heap_usable(th);
}

/* ------------------------------------------------------------------ */
/* Default hook, owner lookup, abort                                   */

static bool owner(const void *user, uintptr_t *task, rtm_alloc_site_t *site, void *ctx)
{
    const void *const *known = ctx;
    if (user != *known) {
        return false;
    }
    *task = 0x1234u;
    site->file = "app.c";
    site->line = 77;
    site->caller = (const void *)(uintptr_t)0x8000u;
    return true;
}

static void test_default_hook_and_owner(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    uint8_t *p = rtm_malloc(th->heap, 24);
    const void *known = p;
    rtm_debug_set_corruption_hook(NULL, NULL);
    rtm_debug_set_owner_lookup(owner, &known);
    ts_output_t out;
    ts_output_capture(&out);
    uint8_t saved = p[24];
    p[24] = (uint8_t)(saved ^ 0x0Fu);
    rtm_free(th->heap, p);
    ts_output_release();
#if LEVEL >= 1
    assert_int_equal(out.writes, 1);
    assert_non_null(strstr(out.last, "rtmem: CORRUPT bad tail canary (free) block "));
    assert_non_null(strstr(out.last, "heap 'test' expected 0xbaad5678 found 0xbaad5677"));
    assert_non_null(strstr(out.last, "task 0x1234 site app.c:77 0x8000"));
    assert_true(out.last[out.last_len - 1] == '\n');
#else
    assert_int_equal(out.writes, 0);
#endif
    /* The recorder sees the owner too. */
    rtm_debug_set_corruption_hook(on_corruption, &g_rec);
#if LEVEL >= 1
    rtm_free(th->heap, p);
    assert_true(g_rec.last.owner_known);
    assert_int_equal(g_rec.last.task, 0x1234u);
    assert_int_equal(g_rec.last.site.line, 77);
    memset(&g_rec, 0, sizeof g_rec);
    p[24] = saved;
    rtm_free(th->heap, p);
#endif
    rtm_debug_set_owner_lookup(NULL, NULL);
    assert_heap_usable(th);
}

#if defined(RTM_PORT_POSIX)
/* Without continuing, the default hook stops the program (in a child). */
static void test_default_hook_aborts(void **state)
{
    ts_heap_t *th = ts_heap_open(strategy_of(state), 0);
    uint8_t *p = rtm_malloc(th->heap, 24);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        /* cmocka catches these; the child must die of them. */
        signal(SIGILL, SIG_DFL);
        signal(SIGTRAP, SIG_DFL);
        signal(SIGABRT, SIG_DFL);
        rtm_debug_set_corruption_hook(NULL, NULL);
        rtm_debug_set_continue(false);
        p[24] ^= 0xFFu;
        rtm_free(th->heap, p);
        _exit(0); /* level 0: not detected, the child ends normally */
    }
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (LEVEL >= 1) {
        assert_true(WIFSIGNALED(status));
    } else {
        assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    }
    rtm_free(th->heap, p);
    assert_heap_usable(th);
}
#endif

/* What rtm_debug_get_corruption_hook gives back puts the reports where
 * they went before: the recorder (from setup), then the default (NULL). */
static void test_get_corruption_hook(void **state)
{
    (void)state;
    rtm_corruption_fn fn = NULL;
    void *ctx = NULL;
    rtm_debug_get_corruption_hook(&fn, &ctx);
    assert_true(fn == on_corruption);
    assert_ptr_equal(ctx, &g_rec);
    rtm_debug_get_corruption_hook(NULL, NULL);
    rtm_debug_set_corruption_hook(NULL, NULL);
    rtm_debug_get_corruption_hook(&fn, &ctx);
    assert_true(fn == NULL);
    assert_null(ctx);
}

static void test_strings(void **state)
{
    (void)state;
    assert_int_equal(rtm_debug_poison_level(), LEVEL);
    for (int k = RTM_CORRUPT_BAD_HEAD; k <= RTM_CORRUPT_FREE_LIST; k++) {
        assert_string_not_equal(rtm_corruption_kind_str((rtm_corruption_kind_t)k), "unknown corruption");
    }
    assert_string_equal(rtm_corruption_kind_str((rtm_corruption_kind_t)99), "unknown corruption");
    assert_string_equal(rtm_debug_op_str(RTM_OP_CHECK_STEP), "check_step");
    assert_int_equal(RTM_POISON_OVERHEAD, LEVEL >= 1 ? 12u : 0u);
}

/* ------------------------------------------------------------------ */

static const rtm_strategy_id_t k_tlsf = RTM_TLSF;
static const rtm_strategy_id_t k_ff = RTM_FIRST_FIT;
static const rtm_strategy_id_t k_bf = RTM_BEST_FIT;

#define ONE(name, fn, s) \
    {name, fn, setup, teardown, (void *)(uintptr_t)&(s)}
#define ALL(label, fn) \
    ONE("tlsf/" label, fn, k_tlsf), ONE("first_fit/" label, fn, k_ff), ONE("best_fit/" label, fn, k_bf)

int main(void)
{
    const struct CMUnitTest tests[] = {
        ONE("strings", test_strings, k_tlsf),
        ONE("get_corruption_hook", test_get_corruption_hook, k_tlsf),
        ALL("layout", test_layout),
        ALL("calloc_realloc", test_calloc_realloc),
        ALL("aligned", test_aligned),
        ALL("granularity_16", test_granularity_16),
        ALL("size_past_the_layer", test_size_past_the_layer),
        ALL("walk_and_observer", test_walk_and_observer),
        ALL("overflow_1", test_overflow_1),
        ALL("underflow_1", test_underflow_1),
        ALL("double_free", test_double_free),
        ALL("foreign_free", test_foreign_free),
        ALL("never_allocated", test_never_allocated),
        ALL("interior_free", test_interior_free),
        ALL("write_after_free", test_write_after_free),
        ALL("smashed_link", test_smashed_link),
        ALL("realloc_freed", test_realloc_freed),
        ALL("write_after_free_found_by_realloc_move", test_write_after_free_found_by_realloc_move),
        ONE("tlsf/write_after_free_found_by_realloc_in_place",
            test_write_after_free_found_by_realloc_in_place, k_tlsf),
        ONE("first_fit/write_after_free_found_by_realloc_in_place",
            test_write_after_free_found_by_realloc_in_place, k_ff),
        ONE("tlsf/write_after_free_under_realloc_tail", test_write_after_free_under_realloc_tail,
            k_tlsf),
        ONE("first_fit/write_after_free_under_realloc_tail",
            test_write_after_free_under_realloc_tail, k_ff),
        ALL("bad_pointers_name_their_call", test_bad_pointers_name_their_call),
        ALL("default_hook_and_owner", test_default_hook_and_owner),
        ALL("interior_free_granularity_4", test_interior_free_granularity_4),
        ONE("tlsf/double_free_into_aligned_head", test_double_free_into_aligned_head, k_tlsf),
        ONE("tlsf/write_after_free_under_split", test_write_after_free_under_split, k_tlsf),
        ALL("write_after_free_any_byte", test_write_after_free_any_byte),
#if defined(RTM_PORT_POSIX)
        ONE("tlsf/default_hook_aborts", test_default_hook_aborts, k_tlsf),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
