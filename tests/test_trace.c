/*
 * Heap tracing: both modes, pause/stop/resume, overflow, the hash index
 * against a model, the live stream and the dump in the rtmem-trace 1
 * format (every line checked against the grammar of docs/formats.md),
 * checkpoints and the grouped leak report, several heaps, bad input.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#if defined(RTM_PORT_POSIX)
#include <pthread.h>
#endif

#include "rtmem/heap.h"
#include "rtmem/observer.h"
#include "rtmem/port.h"
#include "rtmem/output.h"
#include "rtmem/port.h"
#include "rtmem/task_stats.h"
#include "rtmem/trace.h"
#if defined(__has_include)
#if __has_include("rtmem/debug.h")
#include "rtmem/debug.h"
#define HAVE_DEBUG_H 1
#endif
#endif

RTM_HEAP_STORAGE(g_region, 64 * 1024);
RTM_HEAP_STORAGE(g_region2, 16 * 1024);
RTM_TRACE_DEFINE(g_trace_mem, 64);
RTM_TRACE_DEFINE(g_small_mem, 4);
static _Alignas(8) uint8_t g_big_mem[RTM_TRACE_BYTES(1024)];

/* ------------------------------------------------------------------ */
/* Output capture (large: dumps)                                       */

typedef struct capture {
    char text[256 * 1024];
    size_t len;
    unsigned writes;
} capture_t;

static capture_t g_out;

static void capture_write(const char *text, size_t len, void *ctx)
{
    capture_t *c = ctx;
    c->writes++;
    if (c->len + len < sizeof c->text) {
        memcpy(c->text + c->len, text, len);
        c->len += len;
        c->text[c->len] = '\0';
    }
}

static void capture_start(void)
{
    g_out.len = 0;
    g_out.writes = 0;
    g_out.text[0] = '\0';
    rtm_output_set(capture_write, &g_out);
}

static void capture_stop(void)
{
    rtm_output_set(NULL, NULL);
}

static unsigned count_lines_with_prefix(const char *text, const char *prefix)
{
    unsigned n = 0;
    size_t pl = strlen(prefix);
    const char *p = text;
    while (*p != '\0') {
        if (strncmp(p, prefix, pl) == 0) {
            n++;
        }
        const char *nl = strchr(p, '\n');
        if (nl == NULL) {
            break;
        }
        p = nl + 1;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* A checker for the rtmem-trace 1 grammar that also replays the trace:
 * an 'f' or 'r' must name a live ID, an 'a' must not reuse a live one. */

#define MAX_IDS 2048

typedef struct replay {
    char live[MAX_IDS][33];
    size_t n;
    unsigned a, A, r, f, comments;
} replay_t;

static bool id_ok(const char *s, size_t len)
{
    if (len == 0 || len > 32) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        char c = s[i];
        bool ok = (c >= '0' && c <= '9') || (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') ||
                  c == '_';
        if (!ok) {
            return false;
        }
    }
    return true;
}

static bool num_ok(const char *s, size_t len)
{
    if (len == 0) {
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        if (s[i] < '0' || s[i] > '9') {
            return false;
        }
    }
    return true;
}

static bool kv_ok(const char *s, size_t len)
{
    const char *eq = memchr(s, '=', len);
    if (eq == NULL || eq == s || eq == s + len - 1) {
        return false;
    }
    for (const char *p = s; p < s + len; p++) {
        if (*p == ' ' || *p == '#' || (p != eq && *p == '=')) {
            return false;
        }
    }
    return true;
}

static size_t find_live(const replay_t *rp, const char *id, size_t len)
{
    for (size_t i = 0; i < rp->n; i++) {
        if (strlen(rp->live[i]) == len && memcmp(rp->live[i], id, len) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

static void add_live(replay_t *rp, const char *id, size_t len)
{
    assert_true(rp->n < MAX_IDS);
    assert_int_equal(find_live(rp, id, len), SIZE_MAX);
    memcpy(rp->live[rp->n], id, len);
    rp->live[rp->n][len] = '\0';
    rp->n++;
}

static void drop_live(replay_t *rp, const char *id, size_t len)
{
    size_t i = find_live(rp, id, len);
    if (i == SIZE_MAX) {
        fail_msg("free of an ID that is not live: %.*s", (int)len, id);
    }
    memcpy(rp->live[i], rp->live[rp->n - 1], sizeof rp->live[i]);
    rp->n--;
}

/* Checks every line of text; fails the test at the first bad one. */
static void replay_text(replay_t *rp, const char *text)
{
    memset(rp, 0, sizeof *rp);
    const char *p = text;
    while (*p != '\0') {
        const char *nl = strchr(p, '\n');
        assert_non_null(nl); /* every line is complete */
        size_t len = (size_t)(nl - p);
        assert_true(len < RTM_LINE_MAX);
        if (len == 0 || p[0] == '#') {
            rp->comments++;
            p = nl + 1;
            continue;
        }
        /* split into tokens on single spaces */
        const char *tok[16];
        size_t tl[16], nt = 0;
        const char *q = p;
        while (q < nl) {
            const char *sp = memchr(q, ' ', (size_t)(nl - q));
            const char *end = sp != NULL ? sp : nl;
            assert_true(nt < 16);
            tok[nt] = q;
            tl[nt] = (size_t)(end - q);
            assert_true(tl[nt] > 0);
            nt++;
            q = end + (sp != NULL ? 1 : 0);
        }
        size_t need = 0;
        assert_int_equal(tl[0], 1);
        switch (tok[0][0]) {
        case 'a': need = 3; break;
        case 'A': need = 4; break;
        case 'r': need = 4; break;
        case 'f': need = 2; break;
        default: fail_msg("bad event letter in: %.*s", (int)len, p);
        }
        assert_true(nt >= need);
        assert_true(id_ok(tok[1], tl[1]));
        if (tok[0][0] == 'r') {
            assert_true(id_ok(tok[2], tl[2]));
            assert_true(num_ok(tok[3], tl[3]));
        } else if (tok[0][0] != 'f') {
            assert_true(num_ok(tok[2], tl[2]));
            if (tok[0][0] == 'A') {
                assert_true(num_ok(tok[3], tl[3]));
            }
        }
        for (size_t i = need; i < nt; i++) {
            if (!kv_ok(tok[i], tl[i])) {
                fail_msg("bad key=value '%.*s' in: %.*s", (int)tl[i], tok[i], (int)len, p);
            }
        }
        switch (tok[0][0]) {
        case 'a': rp->a++; add_live(rp, tok[1], tl[1]); break;
        case 'A': rp->A++; add_live(rp, tok[1], tl[1]); break;
        case 'f': rp->f++; drop_live(rp, tok[1], tl[1]); break;
        case 'r':
            rp->r++;
            drop_live(rp, tok[1], tl[1]);
            add_live(rp, tok[2], tl[2]);
            break;
        default: break;
        }
        p = nl + 1;
    }
}

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */

static void quiet_misuse(rtm_heap_t *h, rtm_misuse_t kind, const void *addr, void *ctx)
{
    (void)h;
    (void)kind;
    (void)addr;
    (void)ctx;
}

static rtm_heap_t *make_heap(uint8_t *mem, size_t size, const char *name)
{
    rtm_heap_config_t cfg = {.strategy = &rtm_strategy_tlsf, .on_misuse = quiet_misuse, .name = name};
    rtm_heap_t *h = rtm_heap_init(mem, size, &cfg);
    assert_non_null(h);
    return h;
}

static rtm_trace_t *make_trace(rtm_heap_t *h, rtm_trace_mode_t mode)
{
    rtm_trace_t *t = rtm_trace_init(g_trace_mem, sizeof g_trace_mem);
    assert_non_null(t);
    assert_int_equal(rtm_trace_capacity(t), 64);
    rtm_trace_attach(t, h);
    assert_true(rtm_trace_start(t, mode));
    return t;
}

static void finish(rtm_trace_t *t, rtm_heap_t *h)
{
    capture_stop();
    rtm_heap_set_observer(h, NULL, NULL);
    rtm_trace_deinit(t);
    rtm_heap_deinit(h);
}

static rtm_trace_summary_t summary(rtm_trace_t *t)
{
    rtm_trace_summary_t s;
    assert_true(rtm_trace_summary(t, &s));
    return s;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void test_init_sizes(void **state)
{
    (void)state;
    static _Alignas(8) uint8_t mem[RTM_TRACE_BYTES(100) + 8];
    assert_null(rtm_trace_init(NULL, sizeof mem));
    assert_null(rtm_trace_init(mem + 4, RTM_TRACE_BYTES(1)));
    assert_null(rtm_trace_init(mem, RTM_TRACE_BYTES(1) - 1u));
    static const size_t ns[] = {1, 2, 3, 5, 17, 64, 100};
    for (size_t i = 0; i < sizeof ns / sizeof ns[0]; i++) {
        rtm_trace_t *t = rtm_trace_init(mem, RTM_TRACE_BYTES(ns[i]));
        assert_non_null(t);
        assert_int_equal(rtm_trace_capacity(t), ns[i]); /* exactly n, no more, no less */
        rtm_trace_deinit(t);
    }
    /* One byte short of n records gives fewer. */
    rtm_trace_t *t = rtm_trace_init(mem, RTM_TRACE_BYTES(100) - 1u);
    assert_non_null(t);
    assert_true(rtm_trace_capacity(t) < 100);
    rtm_trace_deinit(t);
    assert_int_equal(RTM_TRACE_INDEX_SLOTS(64), 128);
    assert_int_equal(RTM_TRACE_INDEX_SLOTS(65), 256);
    assert_int_equal(RTM_TRACE_INDEX_SLOTS(1), 2);
}

static void test_leaks_mode(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "sram");
    rtm_trace_t *t = make_trace(h, RTM_TRACE_LEAKS);

    void *a = RTM_MALLOC(h, 40);
    const uint32_t a_line = __LINE__ - 1;
    void *b = rtm_aligned_alloc(h, 64, 100);
    void *c = rtm_malloc(h, 24);
    assert_non_null(a);
    assert_non_null(b);
    assert_non_null(c);

    rtm_trace_record_t r;
    assert_true(rtm_trace_find(t, a, &r));
    assert_ptr_equal(r.ptr, a);
    assert_int_equal(r.size, 40);
    assert_ptr_equal(r.heap, h);
    assert_int_equal(r.task, rtm_port_task_id());
    assert_non_null(r.file);
    assert_non_null(strstr(r.file, "test_trace.c"));
    assert_int_equal(r.line, a_line);
    assert_non_null(r.callers[0]);
    assert_int_equal(r.state, RTM_TRACE_REC_LIVE);
    assert_int_equal(r.align_log2, 0);
    uint32_t seq_a = r.seq;

    assert_true(rtm_trace_find(t, b, &r));
    assert_int_equal(r.align_log2, 6);
    assert_null(r.file);
    assert_true(rtm_trace_find(t, c, &r));
    assert_int_equal(r.seq, seq_a + 2);

    rtm_trace_summary_t s = summary(t);
    assert_int_equal(s.records, 3);
    assert_int_equal(s.live, 3);
    assert_int_equal(s.live_bytes, 164);
    assert_int_equal(s.allocs, 3);

    rtm_free(h, b);
    assert_false(rtm_trace_find(t, b, NULL));
    s = summary(t);
    assert_int_equal(s.records, 2); /* LEAKS: the record is gone */
    assert_int_equal(s.frees, 1);
    assert_int_equal(s.high_water, 3);
    assert_int_equal(s.live_bytes, 64);

    /* Realloc in place and moving: old record ends, new one begins. */
    void *a2 = rtm_realloc(h, a, 20);
    assert_ptr_equal(a2, a);
    assert_true(rtm_trace_find(t, a, &r));
    assert_int_equal(r.size, 20);
    assert_int_equal(r.flags & RTM_TRACE_REC_FROM_REALLOC, RTM_TRACE_REC_FROM_REALLOC);
    void *a3 = rtm_realloc(h, a2, 4000);
    assert_non_null(a3);
    assert_ptr_not_equal(a3, a2);
    assert_false(rtm_trace_find(t, a2, NULL));
    assert_true(rtm_trace_find(t, a3, &r));
    assert_int_equal(r.size, 4000);
    s = summary(t);
    assert_int_equal(s.records, 2);
    assert_int_equal(s.reallocs, 2);
    assert_int_equal(s.live_bytes, 4024);

    /* A block from before start: its free is unmatched, not an error. */
    rtm_trace_stop(t);
    void *old = rtm_malloc(h, 8);
    rtm_trace_resume(t);
    rtm_free(h, old);
    assert_int_equal(summary(t).unmatched_frees, 1);

    rtm_trace_record_t all[8];
    size_t next = 0;
    assert_int_equal(rtm_trace_records(t, 0, all, 8, &next), 2);
    assert_int_equal(next, rtm_trace_capacity(t));

    rtm_free(h, a3);
    rtm_free(h, c);
    s = summary(t);
    assert_int_equal(s.records, 0);
    assert_int_equal(s.live_bytes, 0);
    finish(t, h);
}

static void test_all_mode(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "sram");
    rtm_trace_t *t = make_trace(h, RTM_TRACE_ALL);
    void *a = rtm_malloc(h, 48);
    rtm_free(h, a);
    void *b = rtm_malloc(h, 48); /* TLSF gives the same block back */
    assert_ptr_equal(a, b);
    rtm_trace_summary_t s = summary(t);
    assert_int_equal(s.records, 2);
    assert_int_equal(s.live, 1);
    assert_int_equal(s.frees, 1);

    rtm_trace_record_t r[4];
    assert_int_equal(rtm_trace_records(t, 0, r, 4, NULL), 2);
    assert_int_equal(r[0].state, RTM_TRACE_REC_FREED);
    assert_int_equal(r[0].free_task, rtm_port_task_id());
    assert_true((uint32_t)(r[0].free_time - r[0].time) < 10000u);
    /* Freed by this function: a return address, not the allocating call's. */
    assert_non_null(r[0].free_caller);
    assert_ptr_not_equal(r[0].free_caller, r[0].callers[0]);
    assert_int_equal(r[1].state, RTM_TRACE_REC_LIVE);
    assert_true(r[1].seq > r[0].seq);
    /* The hash finds the live record, not the freed one. */
    rtm_trace_record_t f;
    assert_true(rtm_trace_find(t, b, &f));
    assert_int_equal(f.seq, r[1].seq);

    void *m = rtm_malloc(h, 16);
    void *m2 = rtm_realloc(h, m, 3000);
    assert_non_null(m2);
    assert_int_equal(rtm_trace_records(t, 0, r, 4, NULL), 4);
    assert_int_equal(r[2].state, RTM_TRACE_REC_FREED);
    assert_int_equal(r[2].flags & RTM_TRACE_REC_ENDED_BY_REALLOC, RTM_TRACE_REC_ENDED_BY_REALLOC);
    assert_ptr_equal(r[3].ptr, m2);

    /* Dump with freed records: a valid trace whose replay leaves exactly
     * the live blocks. */
    capture_start();
    rtm_trace_dump(t, true);
    replay_t rp;
    replay_text(&rp, g_out.text);
    assert_int_equal(rp.a, 4);
    assert_int_equal(rp.f, 2);
    assert_int_equal(rp.n, 2);
    assert_non_null(strstr(g_out.text, "# rtmem-trace 1\n"));
    assert_non_null(strstr(g_out.text, "# summary mode=all state=running records=4 live=2 "
                                       "capacity=64 high_water=4 overflow=0\n"));
    assert_non_null(strstr(g_out.text, "# end records=4\n"));
    /* Without freed records: only the live ones. */
    capture_start();
    rtm_trace_dump(t, false);
    replay_text(&rp, g_out.text);
    assert_int_equal(rp.a, 2);
    assert_int_equal(rp.f, 0);
    rtm_free(h, b);
    rtm_free(h, m2);
    finish(t, h);
}

static void test_pause_stop_resume(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "sram");
    rtm_trace_t *t = rtm_trace_init(g_trace_mem, sizeof g_trace_mem);
    rtm_trace_attach(t, h);
    /* Before the first start nothing is recorded, and resume cannot start it. */
    rtm_trace_resume(t);
    assert_int_equal(rtm_trace_state(t), RTM_TRACE_STOPPED);
    void *pre = rtm_malloc(h, 10);
    assert_int_equal(summary(t).records, 0);

    assert_true(rtm_trace_start(t, RTM_TRACE_LEAKS));
    void *a = rtm_malloc(h, 32);
    rtm_trace_pause_allocs(t);
    assert_int_equal(rtm_trace_state(t), RTM_TRACE_PAUSED);
    void *b = rtm_malloc(h, 64); /* not recorded */
    assert_false(rtm_trace_find(t, b, NULL));
    rtm_free(h, a); /* but the free is matched */
    rtm_trace_summary_t s = summary(t);
    assert_int_equal(s.records, 0);
    assert_int_equal(s.frees, 1);
    assert_int_equal(s.overflow, 0);

    rtm_trace_resume(t);
    void *c = rtm_malloc(h, 16);
    assert_true(rtm_trace_find(t, c, NULL));
    rtm_trace_stop(t);
    rtm_free(h, c); /* missed */
    void *d = rtm_malloc(h, 16);
    assert_ptr_equal(d, c);
    assert_true(rtm_trace_find(t, c, NULL)); /* stale record, kept while stopped */
    rtm_trace_resume(t);
    rtm_free(h, d);
    void *e = rtm_malloc(h, 16);
    assert_ptr_equal(e, c);
    rtm_free(h, e);
    s = summary(t);
    assert_int_equal(s.records, 0);
    assert_int_equal(s.stale, 0); /* the free of d matched the old record */

    /* Address handed out again after a missed free: the old record is
     * ended as stale, not duplicated. */
    void *g = rtm_malloc(h, 16);
    rtm_trace_stop(t);
    rtm_free(h, g);
    rtm_trace_resume(t);
    void *g2 = rtm_malloc(h, 16);
    assert_ptr_equal(g, g2);
    s = summary(t);
    assert_int_equal(s.stale, 1);
    assert_int_equal(s.records, 1);
    rtm_free(h, g2);
    rtm_free(h, b);
    rtm_free(h, pre);
    finish(t, h);
}

static void test_overflow(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "sram");
    rtm_trace_t *t = rtm_trace_init(g_small_mem, sizeof g_small_mem);
    assert_int_equal(rtm_trace_capacity(t), 4);
    rtm_trace_attach(t, h);
    for (int mode = RTM_TRACE_LEAKS; mode <= RTM_TRACE_ALL; mode++) {
        assert_true(rtm_trace_start(t, (rtm_trace_mode_t)mode));
        capture_start();
        void *p[6];
        for (int i = 0; i < 6; i++) {
            p[i] = rtm_malloc(h, 8);
            assert_non_null(p[i]);
        }
        rtm_trace_summary_t s = summary(t);
        assert_int_equal(s.records, 4);
        assert_int_equal(s.overflow, 2);
        assert_int_equal(s.allocs, 6);
        /* Reported once, through the output hook, when it first happened. */
        assert_int_equal(count_lines_with_prefix(g_out.text, "# rtmem-trace overflow capacity=4"),
                         1);
        capture_start();
        rtm_trace_print_summary(t);
        assert_non_null(strstr(g_out.text, " overflow=2\n"));

        rtm_free(h, p[0]);
        void *q = rtm_malloc(h, 8);
        s = summary(t);
        if (mode == RTM_TRACE_LEAKS) {
            /* the slot is reused */
            assert_true(rtm_trace_find(t, q, NULL));
            assert_int_equal(s.overflow, 2);
        } else {
            /* ALL keeps the freed record: still full */
            assert_false(rtm_trace_find(t, q, NULL) && q != p[0]);
            assert_int_equal(s.overflow, 3);
        }
        /* Frees of unrecorded blocks are unmatched, never corrupt the index. */
        rtm_free(h, q);
        for (int i = 1; i < 6; i++) {
            rtm_free(h, p[i]);
        }
        s = summary(t);
        assert_int_equal(s.live, 0);
        assert_int_equal(s.live_bytes, 0);
        assert_int_equal(s.high_water, 4);
        uint32_t cp = 0;
        rtm_trace_leak_totals_t tot;
        (void)rtm_trace_leaks_since(t, cp, NULL, 0, &tot);
        assert_true(tot.overflow >= 2);
    }
    finish(t, h);
}

/* Random operations against a model: the index must find every live block
 * and no freed one (exercises collisions and backward-shift deletion). */
static void test_index_model(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "sram");
    rtm_trace_t *t = rtm_trace_init(g_big_mem, sizeof g_big_mem);
    assert_int_equal(rtm_trace_capacity(t), 1024);
    rtm_trace_attach(t, h);
    assert_true(rtm_trace_start(t, RTM_TRACE_LEAKS));
    enum { N = 600 };
    static void *live[N];
    static size_t size[N];
    size_t n = 0;
    uint64_t x = 0x9e3779b97f4a7c15u;
    for (int step = 0; step < 20000; step++) {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        bool do_alloc = n == 0 || (n < N && (x % 100u) < 55u);
        if (do_alloc) {
            size_t sz = 1u + (size_t)((x >> 8) % 64u);
            void *p = rtm_malloc(h, sz);
            if (p == NULL) {
                continue;
            }
            live[n] = p;
            size[n] = sz;
            n++;
        } else {
            size_t i = (size_t)((x >> 16) % n);
            rtm_free(h, live[i]);
            assert_false(rtm_trace_find(t, live[i], NULL));
            live[i] = live[n - 1];
            size[i] = size[n - 1];
            n--;
        }
        if (step % 997 == 0) {
            uint64_t bytes = 0;
            for (size_t i = 0; i < n; i++) {
                rtm_trace_record_t r;
                assert_true(rtm_trace_find(t, live[i], &r));
                assert_int_equal(r.size, size[i]);
                bytes += size[i];
            }
            rtm_trace_summary_t s = summary(t);
            assert_int_equal(s.live, n);
            assert_int_equal(s.live_bytes, bytes);
            assert_int_equal(s.overflow, 0);
        }
    }
    for (size_t i = 0; i < n; i++) {
        rtm_free(h, live[i]);
    }
    assert_int_equal(summary(t).live, 0);
    finish(t, h);
}

static void test_stream(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "sram");
    rtm_trace_t *t = make_trace(h, RTM_TRACE_LEAKS);
    capture_start();
    rtm_trace_set_stream(t, true);
    /* the header, then where the program is loaded when the port knows
     * (posix on Linux; never on bare metal) */
    char head[200] = "# rtmem-trace 1\n";
    rtm_port_image_t img;
    size_t head_lines = 1;
    if (rtm_port_program_image(&img)) {
        head_lines = 2;
        assert_true(img.lo < img.hi);
        assert_true(img.lo <= (uint64_t)(uintptr_t)&test_stream && (uint64_t)(uintptr_t)&test_stream < img.hi);
        snprintf(head, sizeof head,
                 "# rtmem-trace 1\n# rtmem-record exe_base=0x%llx exe_lo=0x%llx exe_hi=0x%llx\n",
                 (unsigned long long)img.base, (unsigned long long)img.lo, (unsigned long long)img.hi);
    }
#if defined(RTM_PORT_POSIX) && defined(__linux__)
    assert_true(rtm_port_program_image(&img));
#endif
    assert_false(rtm_port_program_image(NULL));
    assert_string_equal(g_out.text, head);
    void *a = RTM_MALLOC(h, 40);
    const uint32_t a_line = __LINE__ - 1;
    void *b = rtm_aligned_alloc(h, 128, 10);
    void *a2 = rtm_realloc(h, a, 2000);
    rtm_free(h, b);
    rtm_free(h, a2);

    char expect[200];
    /* Exact field order: a ID SIZE t= task= heap= caller= site= */
    snprintf(expect, sizeof expect, "\na %p 40 t=", a);
    /* %p prints 0x-prefixed lower-case hex on glibc, like the tracer. */
    assert_non_null(strstr(g_out.text, expect));
    snprintf(expect, sizeof expect, " heap=sram caller=");
    assert_non_null(strstr(g_out.text, expect));
    snprintf(expect, sizeof expect, " site=test_trace.c:%u\n", (unsigned)a_line);
    assert_non_null(strstr(g_out.text, expect));
    snprintf(expect, sizeof expect, "\nA %p 10 128 t=", b);
    assert_non_null(strstr(g_out.text, expect));
    snprintf(expect, sizeof expect, "\nr %p %p 2000 t=", a, a2);
    assert_non_null(strstr(g_out.text, expect));
    snprintf(expect, sizeof expect, "\nf %p t=", b);
    assert_non_null(strstr(g_out.text, expect));
    /* A free names the freeing task and the return address of its call. */
    snprintf(expect, sizeof expect, " task=0x%lx caller=0x", (unsigned long)rtm_port_task_id());
    assert_non_null(strstr(g_out.text, expect));

    replay_t rp;
    replay_text(&rp, g_out.text);
    assert_int_equal(rp.a, 1);
    assert_int_equal(rp.A, 1);
    assert_int_equal(rp.r, 1);
    assert_int_equal(rp.f, 2);
    assert_int_equal(rp.n, 0);
    assert_int_equal(g_out.writes, head_lines + 5); /* one write per line */

    /* The stream goes on when the buffer is full, and stops when stopped. */
    rtm_trace_stop(t);
    capture_start();
    void *x = rtm_malloc(h, 8);
    rtm_free(h, x);
    assert_int_equal(g_out.len, 0);
    rtm_trace_set_stream(t, false);
    finish(t, h);
}

static void test_task_names_in_stream(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "my heap");
    rtm_trace_t *t = rtm_trace_init(g_trace_mem, sizeof g_trace_mem);
    RTM_TASK_STATS_DEFINE(stats_mem, 4, 32);
    rtm_task_stats_t *ts = rtm_task_stats_init(stats_mem, sizeof stats_mem, 4, 0);
    assert_non_null(ts);
    rtm_observer_chain_t chain;
    rtm_observer_chain_init(&chain);
    assert_true(rtm_observer_chain_add(&chain, rtm_trace_observer, t));
    assert_true(rtm_observer_chain_add(&chain, rtm_task_stats_observer, ts));
    rtm_observer_chain_attach(&chain, h);
    assert_true(rtm_task_stats_set_name(ts, rtm_port_task_id(), "wifi mgr=1"));
    rtm_trace_set_task_namer(t, rtm_task_stats_name_of, ts);
    assert_true(rtm_trace_start(t, RTM_TRACE_LEAKS));
    capture_start();
    rtm_trace_set_stream(t, true);
    void *p = rtm_malloc(h, 12);
    /* Spaces and '=' are escaped: the value stays one token. */
    assert_non_null(strstr(g_out.text, " task=wifi%20mgr%3D1 heap=my%20heap "));
    replay_t rp;
    replay_text(&rp, g_out.text);
    /* Both consumers saw the event. */
    rtm_task_usage_t u;
    assert_true(rtm_task_stats_get(ts, rtm_port_task_id(), &u));
    assert_int_equal(u.cur_bytes, 12);
    assert_true(rtm_trace_find(t, p, NULL));
    rtm_free(h, p);
    rtm_task_stats_deinit(ts);
    finish(t, h);
}

/* Two distinct call sites, each its own function so their return
 * addresses differ. */
static __attribute__((noinline)) void *site_small(rtm_heap_t *h)
{
    return RTM_MALLOC(h, 100);
}

static __attribute__((noinline)) void *site_big(rtm_heap_t *h)
{
    return rtm_malloc(h, 500);
}

/* n allocations from one call site even when the walk records the caller
 * of site_small: a volatile count keeps the loop from being unrolled into
 * several call sites. */
static volatile int g_three = 3;

static __attribute__((noinline)) void alloc_small_n(rtm_heap_t *h, void **out)
{
    for (int i = 0; i < g_three; i++) {
        out[i] = site_small(h);
    }
}

/* Writes " caller=A:B..." as the tracer does. */
static void callers_text(char *buf, size_t n, const void *const *callers)
{
    size_t len = (size_t)snprintf(buf, n, " caller=%p", callers[0]);
    for (size_t k = 1; k < RTM_TRACE_DEPTH && callers[k] != NULL && len < n; k++) {
        len += (size_t)snprintf(buf + len, n - len, ":%p", callers[k]);
    }
}

static void test_checkpoint_leaks(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "sram");
    rtm_trace_t *t = make_trace(h, RTM_TRACE_LEAKS);
    void *before = rtm_malloc(h, 1000); /* alive, but older than the checkpoint */
    uint32_t cp = rtm_trace_checkpoint(t);

    void *small[3], *big;
    alloc_small_n(h, small);
    big = site_big(h);
    void *tmp = site_small(h);
    rtm_free(h, tmp); /* freed: not a leak */
    void *tmp2 = site_big(h);
    rtm_free(h, tmp2);

    rtm_trace_leak_group_t g[4];
    rtm_trace_leak_totals_t tot;
    size_t n = rtm_trace_leaks_since(t, cp, g, 4, &tot);
    assert_int_equal(n, 2);
    assert_int_equal(tot.blocks, 4);
    assert_int_equal(tot.bytes, 800);
    assert_int_equal(tot.unlisted_blocks, 0);
    assert_int_equal(tot.checkpoint, cp);
    /* sorted by bytes: the 500-byte site first */
    assert_int_equal(g[0].blocks, 1);
    assert_int_equal(g[0].bytes, 500);
    assert_ptr_equal(g[0].first_ptr, big);
    assert_null(g[0].file);
    assert_int_equal(g[1].blocks, 3);
    assert_int_equal(g[1].bytes, 300);
    assert_ptr_equal(g[1].first_ptr, small[0]);
    assert_non_null(g[1].file);
    assert_ptr_not_equal(g[0].callers[0], g[1].callers[0]);

    /* Too small an array: the first sites met in buffer order are listed
     * (here the 100-byte site, allocated first), the rest summed, not lost. */
    n = rtm_trace_leaks_since(t, cp, g, 1, &tot);
    assert_int_equal(n, 1);
    assert_int_equal(g[0].bytes, 300);
    assert_int_equal(tot.unlisted_blocks, 1);
    assert_int_equal(tot.unlisted_bytes, 500);
    assert_int_equal(tot.blocks, 4);

    n = rtm_trace_leaks_since(t, cp, g, 4, &tot);
    capture_start();
    rtm_trace_print_leaks(g, n, &tot);
    char expect[160];
    snprintf(expect, sizeof expect,
             "# leaks since=%u blocks=4 bytes=800 sites=2 unlisted_blocks=0 unlisted_bytes=0 "
             "overflow=0\n",
             (unsigned)cp);
    assert_non_null(strstr(g_out.text, expect));
    char callers[120];
    callers_text(callers, sizeof callers, g[0].callers);
    snprintf(expect, sizeof expect, "# leak blocks=1 bytes=500%s first=%p\n", callers, big);
    assert_non_null(strstr(g_out.text, expect));
    assert_non_null(strstr(g_out.text, "# leak blocks=3 bytes=300 site=test_trace.c:"));

    /* A later checkpoint sees nothing; the earliest sees everything. */
    uint32_t cp2 = rtm_trace_checkpoint(t);
    assert_int_equal(rtm_trace_leaks_since(t, cp2, g, 4, &tot), 0);
    assert_int_equal(tot.blocks, 0);
    (void)rtm_trace_leaks_since(t, cp - 1u, g, 4, &tot);
    assert_int_equal(tot.blocks, 5);

    for (int i = 0; i < 3; i++) {
        rtm_free(h, small[i]);
    }
    rtm_free(h, big);
    rtm_free(h, before);
    assert_int_equal(rtm_trace_leaks_since(t, cp, g, 4, &tot), 0);
    finish(t, h);
}

/* RTM_TRACE_FRAME_WALK builds (with frame pointers) fill callers[1] with
 * the caller of the function that allocated; other builds leave it NULL. */
static volatile int g_sink;

static __attribute__((noinline)) void *outer_one(rtm_heap_t *h)
{
    g_sink = 1; /* the two outer functions differ, so no compiler merges them */
    void *p = site_small(h);
    __asm__ volatile("" ::: "memory"); /* keep the call from becoming a tail call */
    return p;
}

static __attribute__((noinline)) void *outer_two(rtm_heap_t *h)
{
    g_sink = 2;
    void *p = site_small(h);
    __asm__ volatile("" ::: "memory");
    return p;
}

static void test_frame_walk(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "sram");
    rtm_trace_t *t = make_trace(h, RTM_TRACE_LEAKS);
    void *p1 = outer_one(h);
    void *p2 = outer_two(h);
    rtm_trace_record_t r1, r2;
    assert_true(rtm_trace_find(t, p1, &r1));
    assert_true(rtm_trace_find(t, p2, &r2));
    assert_ptr_equal(r1.callers[0], r2.callers[0]); /* same allocating line */
#if RTM_TRACE_FRAME_WALK && RTM_TRACE_DEPTH > 1
    assert_non_null(r1.callers[1]);
    assert_non_null(r2.callers[1]);
    assert_ptr_not_equal(r1.callers[1], r2.callers[1]);
    /* each lies inside (just after a call in) its outer function */
    assert_true((uintptr_t)r1.callers[1] > (uintptr_t)outer_one);
    assert_true((uintptr_t)r1.callers[1] - (uintptr_t)outer_one < 256u);
#elif RTM_TRACE_DEPTH > 1
    assert_null(r1.callers[1]);
#endif
    rtm_free(h, p1);
    rtm_free(h, p2);
    finish(t, h);
}

static void test_owner_lookup(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "sram");
    rtm_trace_t *t = make_trace(h, RTM_TRACE_LEAKS);
#ifdef HAVE_DEBUG_H
    /* The function has exactly the debug layer's type. */
    rtm_block_owner_fn fn = rtm_trace_owner_lookup;
#else
    bool (*fn)(const void *, uintptr_t *, rtm_alloc_site_t *, void *) = rtm_trace_owner_lookup;
#endif
    void *p = RTM_MALLOC(h, 24);
    const uint32_t line = __LINE__ - 1;
    uintptr_t task = 0;
    rtm_alloc_site_t site = {NULL, 0, NULL};
    assert_true(fn(p, &task, &site, t));
    assert_int_equal(task, rtm_port_task_id());
    assert_int_equal(site.line, line);
    assert_non_null(strstr(site.file, "test_trace.c"));
    assert_non_null(site.caller);
    rtm_free(h, p);
    assert_false(fn(p, &task, &site, t));
    assert_false(fn(p, NULL, NULL, NULL));
    finish(t, h);
}

static void test_two_heaps(void **state)
{
    (void)state;
    rtm_heap_t *h1 = make_heap(g_region, sizeof g_region, "one");
    rtm_heap_t *h2 = make_heap(g_region2, sizeof g_region2, "two");
    rtm_trace_t *t = make_trace(h1, RTM_TRACE_LEAKS);
    rtm_trace_attach(t, h2);
    void *p = rtm_malloc(h1, 8);
    void *q = rtm_malloc(h2, 8);
    rtm_trace_record_t r;
    assert_true(rtm_trace_find(t, p, &r));
    assert_ptr_equal(r.heap, h1);
    assert_true(rtm_trace_find(t, q, &r));
    assert_ptr_equal(r.heap, h2);
    rtm_free(h2, q);
    rtm_free(h1, p);
    assert_int_equal(summary(t).records, 0);
    rtm_heap_set_observer(h2, NULL, NULL);
    rtm_heap_deinit(h2);
    finish(t, h1);
}

static void test_bad_input(void **state)
{
    (void)state;
    rtm_trace_summary_t s;
    assert_false(rtm_trace_start(NULL, RTM_TRACE_ALL));
    rtm_trace_stop(NULL);
    rtm_trace_pause_allocs(NULL);
    rtm_trace_resume(NULL);
    rtm_trace_set_stream(NULL, true);
    rtm_trace_dump(NULL, true);
    rtm_trace_print_summary(NULL);
    rtm_trace_observer(NULL, NULL);
    rtm_trace_attach(NULL, NULL);
    rtm_trace_deinit(NULL);
    assert_false(rtm_trace_summary(NULL, &s));
    assert_false(rtm_trace_find(NULL, &s, NULL));
    assert_int_equal(rtm_trace_capacity(NULL), 0);
    assert_int_equal(rtm_trace_checkpoint(NULL), 0);
    assert_int_equal(rtm_trace_state(NULL), RTM_TRACE_STOPPED);
    size_t next = 1;
    assert_int_equal(rtm_trace_records(NULL, 0, NULL, 0, &next), 0);
    assert_int_equal(next, 0);
    rtm_trace_leak_totals_t tot;
    assert_int_equal(rtm_trace_leaks_since(NULL, 0, NULL, 5, &tot), 0);
    assert_int_equal(tot.blocks, 0);
    rtm_trace_print_leaks(NULL, 3, NULL);

    /* Memory that is not a tracer, and a tracer after deinit. */
    static _Alignas(8) uint8_t junk[RTM_TRACE_BYTES(2)];
    memset(junk, 0x5a, sizeof junk);
    assert_false(rtm_trace_summary((rtm_trace_t *)(void *)junk, &s));
    rtm_trace_t *t = rtm_trace_init(g_trace_mem, sizeof g_trace_mem);
    assert_false(rtm_trace_start(t, (rtm_trace_mode_t)7));
    assert_false(rtm_trace_find(t, NULL, NULL));
    rtm_trace_deinit(t);
    assert_false(rtm_trace_start(t, RTM_TRACE_ALL));
    rtm_heap_event_t ev = {RTM_EVENT_FREE, NULL, junk, NULL, 8, 0, NULL};
    rtm_trace_observer(&ev, t); /* ignored */
    rtm_observer_chain_dispatch(&ev, NULL);
    assert_false(rtm_observer_chain_add(NULL, rtm_trace_observer, t));
    rtm_observer_chain_t ch;
    rtm_observer_chain_init(&ch);
    assert_false(rtm_observer_chain_add(&ch, NULL, t));
    for (int i = 0; i < RTM_OBSERVER_CHAIN_MAX; i++) {
        assert_true(rtm_observer_chain_add(&ch, rtm_trace_observer, t));
    }
    assert_false(rtm_observer_chain_add(&ch, rtm_trace_observer, t));
}

/* ------------------------------------------------------------------ */
/* Hostile use (second audit)                                          */

/* A namer that fills the whole buffer and leaves no NUL, as a careless
 * copy does. */
static bool long_namer(uintptr_t task, char *buf, size_t len, void *ctx)
{
    (void)task;
    const char *name = ctx;
    for (size_t i = 0; i < len; i++) {
        buf[i] = name[i % strlen(name)];
    }
    return true;
}

static bool empty_namer(uintptr_t task, char *buf, size_t len, void *ctx)
{
    (void)task;
    (void)ctx;
    if (len > 0) {
        buf[0] = '\0';
    }
    return true;
}

/* The value of key= in the first line of text holding it, up to the
 * next space or newline. */
static size_t value_len(const char *text, const char *key)
{
    const char *v = strstr(text, key);
    assert_non_null(v);
    v += strlen(key);
    return strcspn(v, " \n");
}

/* formats.md, "Length": names are cut to 23 bytes before escaping, file
 * names to 48; a line never exceeds 160 bytes, and a cut line ends in
 * "..." with its required part intact. */
static void test_hostile_names_in_stream(void **state)
{
    (void)state;
    static const char long_heap[] = "hhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhhh"; /* 40 */
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, long_heap);
    rtm_trace_t *t = make_trace(h, RTM_TRACE_LEAKS);
    rtm_trace_set_task_namer(t, long_namer, (void *)"t");
    capture_start();
    rtm_trace_set_stream(t, true);
    capture_start();
    void *p = rtm_malloc(h, 8);
    assert_int_equal(value_len(g_out.text, " task="), 23);
    assert_int_equal(value_len(g_out.text, " heap="), 23);
    capture_start();
    rtm_free(h, p);
    assert_int_equal(value_len(g_out.text, " task="), 23);

    /* A name that returns true but is empty: the id in hex. */
    rtm_trace_set_task_namer(t, empty_namer, NULL);
    capture_start();
    p = rtm_malloc(h, 8);
    assert_non_null(strstr(g_out.text, " task=0x"));
    rtm_free(h, p);
    rtm_trace_stop(t);
    rtm_trace_deinit(t);
    rtm_heap_set_observer(h, NULL, NULL);
    rtm_heap_deinit(h);

    /* Every byte escaped, in every name: three times the length. The
     * line is cut, never longer than 160 bytes, and keeps "a PTR SIZE". */
    static const char spaces[] = "                                        ";
    static const char ctl_file[] = "dir/\x01\x02\x03\x04\x05\x06\x07\x08\x09\x0a\x0b\x0c\x0d"
                                   "\x0e\x0f\x10\x11\x12\x13\x14\x15\x16\x17\x18\x19\x1a\x1b"
                                   "\x1c\x1d\x1e\x1f\x7f\x80\xff\"\\#=%%%%%%%%%%%%%%%%%%%%%%%%.c";
    h = make_heap(g_region, sizeof g_region, spaces);
    t = make_trace(h, RTM_TRACE_LEAKS);
    rtm_trace_set_task_namer(t, long_namer, (void *)"#= \n");
    capture_start();
    rtm_trace_set_stream(t, true);
    capture_start();
    rtm_alloc_site_t site = {ctl_file, 4000000000u, (const void *)(uintptr_t)0x1234};
    p = rtm_heap_alloc_ex(h, 24, 0, &site);
    assert_non_null(p);
    size_t len = strlen(g_out.text);
    assert_true(len <= RTM_LINE_MAX);
    assert_int_equal(g_out.writes, 1);
    assert_int_equal(g_out.text[len - 1], '\n');
    char head[64];
    snprintf(head, sizeof head, "a %p 24 t=", p);
    assert_memory_equal(g_out.text, head, strlen(head));
    assert_true(len >= 4 && memcmp(g_out.text + len - 4, "...\n", 4) == 0);
    /* Only plain bytes and escapes before the mark: no raw control
     * byte, newline, '#', '=' inside a value. */
    for (size_t i = 0; i + 1 < len; i++) {
        unsigned char c = (unsigned char)g_out.text[i];
        assert_true((c >= 0x21 && c < 0x7f) || c == ' ');
    }
    /* The dump and a telemetry stream are bounded the same way. */
    capture_start();
    rtm_trace_dump(t, true);
    for (const char *l = g_out.text; *l != '\0';) {
        const char *nl = strchr(l, '\n');
        assert_non_null(nl);
        assert_true((size_t)(nl - l) + 1u <= RTM_LINE_MAX);
        l = nl + 1;
    }
    rtm_trace_set_stream_format(t, RTM_TRACE_STREAM_TELEMETRY);
    capture_start();
    rtm_free(h, p);
    rtm_trace_set_stream(t, true);
    capture_start();
    p = rtm_heap_alloc_ex(h, 24, 0, &site);
    len = strlen(g_out.text);
    assert_int_equal(g_out.writes, 1);
    assert_int_equal(g_out.text[len - 1], '\n');
    assert_true(len <= RTM_LINE_MAX + 64u);
    assert_non_null(strstr(g_out.text, "...\"}\n"));
    rtm_free(h, p);
    finish(t, h);
}

/* trace.h, "Overflow": the live stream is never affected. */
static void test_overflow_keeps_stream(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "sram");
    rtm_trace_t *t = rtm_trace_init(g_small_mem, sizeof g_small_mem);
    rtm_trace_attach(t, h);
    assert_true(rtm_trace_start(t, RTM_TRACE_ALL));
    capture_start();
    rtm_trace_set_stream(t, true);
    void *p[9];
    for (int i = 0; i < 9; i++) {
        p[i] = rtm_malloc(h, 8);
        assert_non_null(p[i]);
    }
    for (int i = 0; i < 9; i++) {
        rtm_free(h, p[i]);
    }
    replay_t rp;
    replay_text(&rp, g_out.text);
    assert_int_equal(rp.a, 9);
    assert_int_equal(rp.f, 9);
    assert_int_equal(rp.n, 0);
    assert_int_equal(count_lines_with_prefix(g_out.text, "# rtmem-trace overflow capacity=4"), 1);
    rtm_trace_summary_t s = summary(t);
    assert_int_equal(s.overflow, 5);
    assert_int_equal(s.unmatched_frees, 5);
    assert_int_equal(s.frees, 4);
    /* Each start reports the first overflow again. */
    assert_true(rtm_trace_start(t, RTM_TRACE_LEAKS));
    capture_start();
    for (int i = 0; i < 5; i++) {
        p[i] = rtm_malloc(h, 8);
    }
    assert_int_equal(count_lines_with_prefix(g_out.text, "# rtmem-trace overflow capacity=4"), 1);
    assert_int_equal(count_lines_with_prefix(g_out.text, "a "), 5);
    for (int i = 0; i < 5; i++) {
        rtm_free(h, p[i]);
    }
    finish(t, h);
}

/* trace.h, rtm_trace_records: *next is where to go on, or the capacity
 * at the end; a cursor past the end is at the end. */
static void test_records_cursor(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "sram");
    rtm_trace_t *t = make_trace(h, RTM_TRACE_ALL);
    void *a = rtm_malloc(h, 8);
    void *b = rtm_malloc(h, 16);
    rtm_free(h, a);
    rtm_trace_record_t out[64];
    size_t next = 12345;
    assert_int_equal(rtm_trace_records(t, 0, out, 1, &next), 1);
    assert_ptr_equal(out[0].ptr, a);
    assert_int_equal(out[0].state, RTM_TRACE_REC_FREED);
    assert_int_equal(next, 1);
    assert_int_equal(rtm_trace_records(t, next, out, 1, &next), 1);
    assert_ptr_equal(out[0].ptr, b);
    assert_int_equal(next, rtm_trace_capacity(t));
    assert_int_equal(rtm_trace_records(t, next, out, 1, &next), 0);
    assert_int_equal(next, rtm_trace_capacity(t));
    static const size_t far[] = {65, 1000, SIZE_MAX};
    for (size_t i = 0; i < sizeof far / sizeof far[0]; i++) {
        next = 7;
        assert_int_equal(rtm_trace_records(t, far[i], out, 4, &next), 0);
        assert_int_equal(next, rtm_trace_capacity(t));
    }
    /* n = 0 copies nothing (out may be NULL) but still says where to go on. */
    assert_int_equal(rtm_trace_records(t, 0, NULL, 0, &next), 0);
    assert_int_equal(next, 0);
    rtm_free(h, b);
    finish(t, h);
}

/* trace.h, leak totals: groups counts the listed sites plus one for all
 * those that did not fit. */
static void test_leak_totals_unlisted_sites(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "sram");
    rtm_trace_t *t = make_trace(h, RTM_TRACE_LEAKS);
    uint32_t cp = rtm_trace_checkpoint(t);
    void *p[4];
    for (int i = 0; i < 4; i++) {
        rtm_alloc_site_t site = {"x.c", (uint32_t)i + 1u, NULL};
        p[i] = rtm_heap_alloc_ex(h, 10u * (size_t)(i + 1), 0, &site);
    }
    rtm_trace_leak_group_t g[4];
    rtm_trace_leak_totals_t tot;
    assert_int_equal(rtm_trace_leaks_since(t, cp, g, 4, &tot), 4);
    assert_int_equal(tot.groups, 4);
    assert_int_equal(rtm_trace_leaks_since(t, cp, g, 1, &tot), 1);
    assert_int_equal(tot.groups, 2);
    assert_int_equal(tot.unlisted_blocks, 3);
    assert_int_equal(tot.unlisted_bytes, 90);
    assert_int_equal(rtm_trace_leaks_since(t, cp, NULL, 3, &tot), 0);
    assert_int_equal(tot.groups, 1);
    assert_int_equal(tot.blocks, 4);
    assert_int_equal(tot.unlisted_blocks, 4);
    for (int i = 0; i < 4; i++) {
        rtm_free(h, p[i]);
    }
    finish(t, h);
}

/* A heap deinitialised while traced does not tell the tracer: its
 * records stay live (and count as leaks) until the next start; the heap
 * they name is "(no heap)" while its control block is intact; a heap made
 * again over the same memory hands the addresses out again, and those
 * records end as stale. */
static void test_heap_deinit_while_tracing(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region2, sizeof g_region2, "gone");
    rtm_heap_t *keep = make_heap(g_region, sizeof g_region, "sram");
    rtm_trace_t *t = make_trace(h, RTM_TRACE_LEAKS);
    rtm_trace_attach(t, keep);
    uint32_t cp = rtm_trace_checkpoint(t);
    void *p = rtm_malloc(h, 40);
    void *q = rtm_malloc(keep, 8);
    rtm_heap_deinit(h);
    rtm_trace_summary_t s = summary(t);
    assert_int_equal(s.live, 2);
    rtm_trace_leak_totals_t tot;
    (void)rtm_trace_leaks_since(t, cp, NULL, 0, &tot);
    assert_int_equal(tot.blocks, 2);
    capture_start();
    rtm_trace_dump(t, false);
    assert_non_null(strstr(g_out.text, " heap=%28no%20heap%29 "));
    replay_t rp;
    replay_text(&rp, g_out.text);

    h = make_heap(g_region2, sizeof g_region2, "again");
    rtm_trace_attach(t, h);
    void *p2 = rtm_malloc(h, 40);
    assert_ptr_equal(p, p2);
    s = summary(t);
    assert_int_equal(s.stale, 1);
    assert_int_equal(s.live, 2);
    rtm_trace_record_t r;
    assert_true(rtm_trace_find(t, p2, &r));
    assert_ptr_equal(r.heap, h);
    rtm_free(h, p2);
    rtm_free(keep, q);
    assert_int_equal(summary(t).live, 0);
    rtm_heap_set_observer(h, NULL, NULL);
    rtm_heap_deinit(h);
    finish(t, keep);
}

/* The output hook may query the tracer: the observer and the dump write
 * with the tracer lock released (a non-recursive port lock would
 * deadlock otherwise). */
static rtm_trace_t *g_hook_trace;
static unsigned g_hook_calls;

static void querying_write(const char *text, size_t len, void *ctx)
{
    capture_write(text, len, ctx);
    rtm_trace_summary_t s;
    assert_true(rtm_trace_summary(g_hook_trace, &s));
    (void)rtm_trace_checkpoint(g_hook_trace);
    g_hook_calls++;
}

static void test_output_hook_uses_tracer(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "sram");
    rtm_trace_t *t = rtm_trace_init(g_small_mem, sizeof g_small_mem);
    rtm_trace_attach(t, h);
    assert_true(rtm_trace_start(t, RTM_TRACE_LEAKS));
    g_hook_trace = t;
    g_hook_calls = 0;
    g_out.len = 0;
    g_out.text[0] = '\0';
    rtm_output_set(querying_write, &g_out);
    rtm_trace_set_stream(t, true);
    void *p[6];
    for (int i = 0; i < 6; i++) {
        p[i] = rtm_malloc(h, 8);
    }
    p[0] = rtm_realloc(h, p[0], 100);
    rtm_trace_dump(t, true);
    rtm_trace_print_summary(t);
    for (int i = 0; i < 6; i++) {
        rtm_free(h, p[i]);
    }
    assert_true(g_hook_calls >= 20);
    assert_int_equal(count_lines_with_prefix(g_out.text, "# rtmem-trace overflow"), 1);
    /* No hook at all: everything still works and is counted. */
    rtm_output_set(NULL, NULL);
    assert_true(rtm_trace_start(t, RTM_TRACE_ALL));
    for (int i = 0; i < 6; i++) {
        p[i] = rtm_malloc(h, 8);
    }
    rtm_trace_dump(t, true);
    for (int i = 0; i < 6; i++) {
        rtm_free(h, p[i]);
    }
    assert_int_equal(summary(t).overflow, 2);
    finish(t, h);
}

/* trace.h: several heaps may share one tracer, every function takes the
 * tracer's lock. Two threads allocate and free on their own heaps while a
 * third pauses, resumes, queries, dumps and streams; frees are matched in
 * both states, so once everything is freed nothing is left. Run under
 * ThreadSanitizer by scripts/tsan.sh. */
#if defined(RTM_PORT_POSIX)
typedef struct worker {
    rtm_heap_t *heap;
    rtm_trace_t *trace;
    unsigned seed;
} worker_t;

static void *trace_worker(void *arg)
{
    worker_t *w = arg;
    void *live[32] = {0};
    uint32_t x = w->seed;
    for (int step = 0; step < 20000; step++) {
        x = x * 1103515245u + 12345u;
        if (step % 512 == 0) {
            (void)rtm_trace_state(w->trace); /* while the main thread changes it */
        }
        size_t i = (x >> 8) % 32u;
        if (live[i] == NULL) {
            live[i] = ((x >> 20) & 1u) != 0 ? RTM_MALLOC(w->heap, 1u + (x >> 24) % 64u)
                                             : rtm_malloc(w->heap, 8);
        } else if (((x >> 20) & 3u) == 0) {
            void *n = rtm_realloc(w->heap, live[i], 1u + (x >> 22) % 200u);
            if (n != NULL) {
                live[i] = n;
            }
        } else {
            rtm_free(w->heap, live[i]);
            live[i] = NULL;
        }
    }
    for (size_t i = 0; i < 32; i++) {
        rtm_free(w->heap, live[i]);
    }
    return NULL;
}

static void counting_write(const char *text, size_t len, void *ctx)
{
    (void)text;
    (void)len;
    (void)ctx;
}

static void test_threads_share_tracer(void **state)
{
    (void)state;
    rtm_heap_t *h1 = make_heap(g_region, sizeof g_region, "one");
    rtm_heap_t *h2 = make_heap(g_region2, sizeof g_region2, "two");
    rtm_trace_t *t = rtm_trace_init(g_big_mem, sizeof g_big_mem);
    rtm_trace_attach(t, h1);
    rtm_trace_attach(t, h2);
    assert_true(rtm_trace_start(t, RTM_TRACE_LEAKS));
    rtm_output_set(counting_write, NULL);
    worker_t w1 = {h1, t, 1u}, w2 = {h2, t, 2u};
    pthread_t th1, th2;
    assert_int_equal(pthread_create(&th1, NULL, trace_worker, &w1), 0);
    assert_int_equal(pthread_create(&th2, NULL, trace_worker, &w2), 0);
    static rtm_trace_record_t recs[16];
    rtm_trace_leak_group_t g[4];
    for (int round = 0; round < 300; round++) {
        rtm_trace_pause_allocs(t);
        assert_true(rtm_trace_state(t) == RTM_TRACE_PAUSED);
        rtm_trace_set_stream(t, (round & 1) != 0);
        rtm_trace_resume(t);
        (void)rtm_trace_state(t);
        rtm_trace_summary_t s = summary(t);
        assert_true(s.live <= s.capacity);
        size_t next = 0;
        (void)rtm_trace_records(t, 0, recs, 16, &next);
        (void)rtm_trace_leaks_since(t, rtm_trace_checkpoint(t) - 100u, g, 4, NULL);
        (void)rtm_trace_find(t, recs[0].ptr, NULL);
        if (round % 50 == 0) {
            rtm_trace_dump(t, false);
        }
    }
    assert_int_equal(pthread_join(th1, NULL), 0);
    assert_int_equal(pthread_join(th2, NULL), 0);
    rtm_trace_summary_t s = summary(t);
    assert_int_equal(s.live, 0);
    assert_int_equal(s.records, 0);
    assert_int_equal(s.live_bytes, 0);
    assert_int_equal(s.overflow, 0);
    assert_int_equal(s.stale, 0);
    rtm_heap_set_observer(h2, NULL, NULL);
    rtm_heap_deinit(h2);
    finish(t, h1);
}

#else
static void test_threads_share_tracer(void **state)
{
    (void)state;
    skip(); /* threads need the posix port's locks and thread ids */
}
#endif

/* rtm_trace_observer is public: events a heap never sends (unknown kind,
 * no block) are ignored; a size of 4 GiB or more is kept as UINT32_MAX
 * (trace.h, rtm_trace_record_t.size). */
static void test_hostile_events(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "sram");
    rtm_trace_t *t = make_trace(h, RTM_TRACE_LEAKS);
    static uint8_t blocks[4][16];
    rtm_heap_event_t ev = {(rtm_heap_event_kind_t)0, h, blocks[0], NULL, 8, 0, NULL};
    rtm_trace_observer(&ev, t);
    ev.kind = (rtm_heap_event_kind_t)99;
    rtm_trace_observer(&ev, t);
    ev.kind = RTM_EVENT_ALLOC;
    ev.ptr = NULL;
    rtm_trace_observer(&ev, t);
    ev.kind = RTM_EVENT_REALLOC;
    ev.old_ptr = blocks[1];
    rtm_trace_observer(&ev, t);
    ev.kind = RTM_EVENT_FREE;
    rtm_trace_observer(&ev, t);
    rtm_trace_summary_t s = summary(t);
    assert_int_equal(s.records, 0);
    assert_int_equal(s.allocs, 0);
    assert_int_equal(s.reallocs, 0);
    assert_int_equal(s.unmatched_frees, 0);
    assert_int_equal(s.seq, 0);

    if (sizeof(size_t) > 4) {
        ev.kind = RTM_EVENT_ALLOC;
        ev.ptr = blocks[2];
        ev.old_ptr = NULL;
        ev.size = (size_t)UINT32_MAX + 2u;
        rtm_trace_observer(&ev, t);
        rtm_trace_record_t r;
        assert_true(rtm_trace_find(t, blocks[2], &r));
        assert_int_equal(r.size, UINT32_MAX);
        s = summary(t);
        assert_int_equal(s.live_bytes, UINT32_MAX);
        ev.kind = RTM_EVENT_FREE;
        rtm_trace_observer(&ev, t);
        s = summary(t);
        assert_int_equal(s.live_bytes, 0);
        assert_int_equal(s.live, 0);
    }
    finish(t, h);
}

/* formats.md, "Fields written by rtmem": a field with no value is left
 * out. A heap named "" wrote "heap=", a field every reader refuses
 * ("field 'heap=' has an empty key or value"), so no tool read the trace. */
static void test_unnamed_heap_has_no_heap_field(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "");
    rtm_trace_t *t = make_trace(h, RTM_TRACE_ALL);
    capture_start();
    rtm_trace_set_stream(t, true);
    void *p = RTM_MALLOC(h, 40);
    void *q = rtm_aligned_alloc(h, 64, 10);
    p = rtm_realloc(h, p, 400);
    rtm_free(h, q);
    assert_null(strstr(g_out.text, "heap="));
    replay_t rp;
    replay_text(&rp, g_out.text); /* every field is key=value, value not empty */
    assert_int_equal(rp.a + rp.A + rp.r + rp.f, 4);
    rtm_trace_set_stream(t, false);
    capture_start();
    rtm_trace_dump(t, true);
    assert_null(strstr(g_out.text, "heap="));
    replay_text(&rp, g_out.text);
    rtm_free(h, p);
    finish(t, h);
}

static bool dots_namer(uintptr_t task, char *buf, size_t len, void *ctx)
{
    (void)task;
    (void)ctx;
    snprintf(buf, len, "%s", "wifi...");
    return true;
}

/* formats.md, "Length": a line ending in "..." was cut by the writer and
 * its fields are skipped. A name ending in '.' must therefore never end a
 * line: without a caller (a compiler without __builtin_return_address, or
 * an event given to rtm_trace_observer) the task is the last field, and
 * "task=wifi..." made the whole uncut line read as damaged (t= and task=
 * lost). The final '.' of a name is written %2E. */
static void test_name_ending_in_dots_is_not_a_cut(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "ram...");
    rtm_trace_t *t = make_trace(h, RTM_TRACE_LEAKS);
    rtm_trace_set_task_namer(t, dots_namer, NULL);
    capture_start();
    rtm_trace_set_stream(t, true);
    static uint8_t block[16];
    rtm_heap_event_t ev = {RTM_EVENT_ALLOC, NULL, block, NULL, 8, 0, NULL};
    capture_start();
    rtm_trace_observer(&ev, t); /* no heap, no site: the task ends the line */
    char expect[96];
    snprintf(expect, sizeof expect, "a %p 8 t=", (void *)block);
    assert_memory_equal(g_out.text, expect, strlen(expect));
    assert_non_null(strstr(g_out.text, " task=wifi..%2E\n"));
    ev.kind = RTM_EVENT_FREE;
    capture_start();
    rtm_trace_observer(&ev, t);
    assert_non_null(strstr(g_out.text, " task=wifi..%2E\n"));
    /* A heap's name too; inner dots stay plain (site=file.c:LINE). */
    ev.kind = RTM_EVENT_ALLOC;
    ev.heap = h;
    capture_start();
    rtm_trace_observer(&ev, t);
    assert_non_null(strstr(g_out.text, " heap=ram..%2E\n"));
    capture_start();
    void *p = RTM_MALLOC(h, 8);
    assert_non_null(strstr(g_out.text, " site=test_trace.c:"));
    rtm_free(h, p);
    finish(t, h);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init_sizes),
        cmocka_unit_test(test_leaks_mode),
        cmocka_unit_test(test_all_mode),
        cmocka_unit_test(test_pause_stop_resume),
        cmocka_unit_test(test_overflow),
        cmocka_unit_test(test_index_model),
        cmocka_unit_test(test_stream),
        cmocka_unit_test(test_task_names_in_stream),
        cmocka_unit_test(test_checkpoint_leaks),
        cmocka_unit_test(test_frame_walk),
        cmocka_unit_test(test_owner_lookup),
        cmocka_unit_test(test_two_heaps),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_hostile_names_in_stream),
        cmocka_unit_test(test_overflow_keeps_stream),
        cmocka_unit_test(test_records_cursor),
        cmocka_unit_test(test_leak_totals_unlisted_sites),
        cmocka_unit_test(test_heap_deinit_while_tracing),
        cmocka_unit_test(test_output_hook_uses_tracer),
        cmocka_unit_test(test_threads_share_tracer),
        cmocka_unit_test(test_hostile_events),
        cmocka_unit_test(test_unnamed_heap_has_no_heap_field),
        cmocka_unit_test(test_name_ending_in_dots_is_not_a_cut),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
