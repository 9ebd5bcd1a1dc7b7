/*
 * Per-task accounting: credits and debits per task and per heap, peaks,
 * cross-task frees, reallocs, deleted tasks, table overflows, names, the
 * printed lines, and several POSIX threads allocating at once.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/heap.h"
#include "rtmem/output.h"
#include "rtmem/observer.h"
#include "rtmem/port.h"
#include "rtmem/task_stats.h"
#include "rtmem/trace.h"

RTM_HEAP_STORAGE(g_region, 128 * 1024);
RTM_HEAP_STORAGE(g_region2, 16 * 1024);
RTM_TASK_STATS_DEFINE(g_stats_mem, 8, 1024);
RTM_TRACE_DEFINE(g_trace_mem, 512);

static char g_text[16384];
static size_t g_len;

static void capture_write(const char *text, size_t len, void *ctx)
{
    (void)ctx;
    if (g_len + len < sizeof g_text) {
        memcpy(g_text + g_len, text, len);
        g_len += len;
        g_text[g_len] = '\0';
    }
}

static rtm_heap_t *make_heap(uint8_t *mem, size_t size, const char *name)
{
    rtm_heap_config_t cfg = {.strategy = &rtm_strategy_tlsf, .name = name};
    rtm_heap_t *h = rtm_heap_init(mem, size, &cfg);
    assert_non_null(h);
    return h;
}

static rtm_task_stats_t *make_stats(size_t tasks, uint32_t flags)
{
    rtm_task_stats_t *s = rtm_task_stats_init(g_stats_mem, sizeof g_stats_mem, tasks, flags);
    assert_non_null(s);
    return s;
}

static rtm_task_usage_t me(rtm_task_stats_t *s)
{
    rtm_task_usage_t u;
    assert_true(rtm_task_stats_get(s, rtm_port_task_id(), &u));
    return u;
}

static void test_init(void **state)
{
    (void)state;
    static _Alignas(8) uint8_t mem[RTM_TASK_STATS_BYTES(3, 100)];
    assert_null(rtm_task_stats_init(NULL, sizeof mem, 3, 0));
    assert_null(rtm_task_stats_init(mem + 4, sizeof mem - 8, 3, 0));
    assert_null(rtm_task_stats_init(mem, sizeof mem, 0, 0));
    assert_null(rtm_task_stats_init(mem, sizeof mem, 70000, 0));
    assert_null(rtm_task_stats_init(mem, RTM_TASK_STATS_CTRL_BYTES, 1, 0));
    rtm_task_stats_t *s = rtm_task_stats_init(mem, sizeof mem, 3, 0);
    assert_non_null(s);
    rtm_task_stats_totals_t t;
    assert_true(rtm_task_stats_totals(s, &t));
    assert_int_equal(t.task_capacity, 3);
    assert_int_equal(t.block_capacity, 128); /* pow2(200) / 2 >= 100 */
    assert_int_equal(t.tasks, 0);
    rtm_task_stats_deinit(s);
    assert_false(rtm_task_stats_totals(s, &t));
}

static void test_single_task(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "main");
    rtm_task_stats_t *s = make_stats(8, 0);
    rtm_task_stats_attach(s, h);
    void *a = rtm_malloc(h, 100);
    void *b = rtm_malloc(h, 200);
    rtm_task_usage_t u = me(s);
    assert_int_equal(u.cur_bytes, 300);
    assert_int_equal(u.cur_blocks, 2);
    assert_int_equal(u.allocs, 2);
    rtm_free(h, a);
    u = me(s);
    assert_int_equal(u.cur_bytes, 200);
    assert_int_equal(u.peak_bytes, 300);
    assert_int_equal(u.cur_blocks, 1);
    assert_int_equal(u.peak_blocks, 2);
    assert_int_equal(u.frees, 1);

    /* realloc: same owner, new bytes, block count unchanged */
    void *b2 = rtm_realloc(h, b, 5000);
    assert_non_null(b2);
    u = me(s);
    assert_int_equal(u.cur_bytes, 5000);
    assert_int_equal(u.cur_blocks, 1);
    assert_int_equal(u.peak_bytes, 5000);
    uintptr_t owner = 0;
    assert_true(rtm_task_stats_owner(s, b2, &owner));
    assert_int_equal(owner, rtm_port_task_id());
    assert_false(rtm_task_stats_owner(s, b, &owner) && b != b2);

    rtm_heap_usage_t hu;
    assert_true(rtm_task_stats_heap(s, h, &hu));
    assert_int_equal(hu.cur_bytes, 5000);
    assert_int_equal(hu.cur_blocks, 1);
    assert_int_equal(hu.peak_blocks, 2);

    rtm_task_block_t blk[4];
    assert_int_equal(rtm_task_stats_blocks_of(s, rtm_port_task_id(), blk, 4), 1);
    assert_ptr_equal(blk[0].ptr, b2);
    assert_int_equal(blk[0].size, 5000);

    uintptr_t task = 0;
    rtm_alloc_site_t site = {"x", 1, NULL};
    assert_true(rtm_task_stats_owner_lookup(b2, &task, &site, s));
    assert_int_equal(task, rtm_port_task_id());
    assert_null(site.file);

    /* A block from before attach: its free is unknown, figures untouched. */
    rtm_heap_set_observer(h, NULL, NULL);
    void *pre = rtm_malloc(h, 64);
    rtm_task_stats_attach(s, h);
    rtm_free(h, pre);
    rtm_task_stats_totals_t t;
    assert_true(rtm_task_stats_totals(s, &t));
    assert_int_equal(t.unknown_frees, 1);
    assert_int_equal(me(s).cur_bytes, 5000);

    rtm_free(h, b2);
    u = me(s);
    assert_int_equal(u.cur_bytes, 0);
    assert_int_equal(u.cur_blocks, 0);
    assert_true(rtm_task_stats_heap(s, h, &hu));
    assert_int_equal(hu.cur_bytes, 0);
    rtm_heap_set_observer(h, NULL, NULL);
    rtm_task_stats_deinit(s);
    rtm_heap_deinit(h);
}

/* ------------------------------------------------------------------ */
/* Threads                                                             */

#define THREADS 4
#define PER_THREAD 50

typedef struct worker {
    rtm_heap_t *heap;
    rtm_task_stats_t *stats;
    pthread_barrier_t *barrier;
    size_t index;
    uintptr_t id;
    void *kept[PER_THREAD];
    size_t kept_bytes;
    size_t kept_n;
    size_t peak_bytes;
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    w->id = rtm_port_task_id();
    char name[16];
    snprintf(name, sizeof name, "worker%u", (unsigned)w->index);
    rtm_task_stats_set_name(w->stats, w->id, name);
    (void)pthread_barrier_wait(w->barrier);
    /* Each thread allocates sizes only it uses, frees every other one. */
    size_t cur = 0;
    for (size_t i = 0; i < PER_THREAD; i++) {
        size_t sz = 16u * (w->index + 1u) + i;
        void *p = rtm_malloc(w->heap, sz);
        if (p == NULL) {
            continue;
        }
        cur += sz;
        if (cur > w->peak_bytes) {
            w->peak_bytes = cur;
        }
        if (i % 2u == 0) {
            rtm_free(w->heap, p);
            cur -= sz;
        } else {
            w->kept[w->kept_n++] = p;
            w->kept_bytes += sz;
        }
    }
    /* Stay alive (so no thread id is reused) until everyone is done. */
    (void)pthread_barrier_wait(w->barrier);
    (void)pthread_barrier_wait(w->barrier);
    return NULL;
}

static void test_threads(void **state)
{
    (void)state;
#if !defined(RTM_PORT_POSIX)
    skip(); /* threads need the posix port's locks and thread ids */
#endif
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "shared");
    rtm_task_stats_t *s = make_stats(8, RTM_TASK_STATS_KEEP_DELETED);
    /* The tracer shares the heap through a chain: both see every event of
     * every thread, each under its own lock. */
    rtm_trace_t *tr = rtm_trace_init(g_trace_mem, sizeof g_trace_mem);
    assert_non_null(tr);
    assert_true(rtm_trace_start(tr, RTM_TRACE_LEAKS));
    static rtm_observer_chain_t chain;
    rtm_observer_chain_init(&chain);
    assert_true(rtm_observer_chain_add(&chain, rtm_task_stats_observer, s));
    assert_true(rtm_observer_chain_add(&chain, rtm_trace_observer, tr));
    rtm_observer_chain_attach(&chain, h);
    pthread_barrier_t barrier;
    assert_int_equal(pthread_barrier_init(&barrier, NULL, THREADS + 1), 0);
    static worker_t w[THREADS];
    pthread_t th[THREADS];
    memset(w, 0, sizeof w);
    for (size_t i = 0; i < THREADS; i++) {
        w[i].heap = h;
        w[i].stats = s;
        w[i].barrier = &barrier;
        w[i].index = i;
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    (void)pthread_barrier_wait(&barrier); /* start */
    (void)pthread_barrier_wait(&barrier); /* all done, all alive */

    size_t total = 0;
    for (size_t i = 0; i < THREADS; i++) {
        rtm_task_usage_t u;
        assert_true(rtm_task_stats_get(s, w[i].id, &u));
        assert_int_equal(u.cur_bytes, w[i].kept_bytes);
        assert_int_equal(u.cur_blocks, w[i].kept_n);
        assert_int_equal(u.allocs, PER_THREAD);
        assert_int_equal(u.frees, PER_THREAD - w[i].kept_n);
        assert_int_equal(u.peak_bytes, w[i].peak_bytes);
        char name[16];
        snprintf(name, sizeof name, "worker%u", (unsigned)i);
        assert_string_equal(u.name, name);
        char got[16];
        assert_true(rtm_task_stats_name_of(w[i].id, got, sizeof got, s));
        assert_string_equal(got, name);
        assert_int_equal(rtm_task_stats_blocks_of(s, w[i].id, NULL, 0), w[i].kept_n);
        total += w[i].kept_bytes;
    }
    rtm_heap_usage_t hu;
    assert_true(rtm_task_stats_heap(s, h, &hu));
    assert_int_equal(hu.cur_bytes, total);

    /* The tracer agrees: every kept block is recorded with its thread. */
    rtm_trace_summary_t ts;
    assert_true(rtm_trace_summary(tr, &ts));
    assert_int_equal(ts.allocs, THREADS * PER_THREAD);
    assert_int_equal(ts.live_bytes, total);
    assert_int_equal(ts.overflow, 0);
    for (size_t i = 0; i < THREADS; i++) {
        for (size_t k = 0; k < w[i].kept_n; k++) {
            rtm_trace_record_t r;
            assert_true(rtm_trace_find(tr, w[i].kept[k], &r));
            assert_int_equal(r.task, w[i].id);
        }
    }

    /* A free by another task (this one) is debited from the owner. */
    rtm_free(h, w[0].kept[0]);
    rtm_task_usage_t u0;
    assert_true(rtm_task_stats_get(s, w[0].id, &u0));
    size_t sz0 = 16u * 1u + 1u; /* index 0, i = 1: the first kept block */
    assert_int_equal(u0.cur_bytes, w[0].kept_bytes - sz0);
    assert_false(rtm_task_stats_get(s, rtm_port_task_id(), &u0)); /* never allocated */

    /* Worker 1 is deleted: its live blocks and counts move to the deleted
     * bucket; a later free of its block is debited there. */
    assert_true(rtm_task_stats_task_deleted(s, w[1].id));
    assert_false(rtm_task_stats_get(s, w[1].id, &u0));
    assert_false(rtm_task_stats_task_deleted(s, w[1].id));
    rtm_task_stats_totals_t t;
    assert_true(rtm_task_stats_totals(s, &t));
    assert_int_equal(t.deleted_tasks, 1);
    assert_int_equal(t.deleted.cur_bytes, w[1].kept_bytes);
    assert_int_equal(t.deleted.cur_blocks, w[1].kept_n);
    assert_int_equal(t.deleted.allocs, PER_THREAD); /* KEEP_DELETED */
    assert_int_equal(t.tasks, THREADS - 1);
    uintptr_t owner = 1;
    assert_true(rtm_task_stats_owner(s, w[1].kept[0], &owner));
    assert_int_equal(owner, 0);
    rtm_free(h, w[1].kept[0]);
    assert_true(rtm_task_stats_totals(s, &t));
    assert_int_equal(t.deleted.cur_blocks, w[1].kept_n - 1u);
    assert_int_equal(t.deleted.frees, PER_THREAD - w[1].kept_n + 1u);

    (void)pthread_barrier_wait(&barrier); /* let them exit */
    for (size_t i = 0; i < THREADS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    pthread_barrier_destroy(&barrier);
    for (size_t i = 0; i < THREADS; i++) {
        for (size_t k = (i <= 1 ? 1u : 0u); k < w[i].kept_n; k++) {
            rtm_free(h, w[i].kept[k]);
        }
    }
    assert_true(rtm_task_stats_heap(s, h, &hu));
    assert_int_equal(hu.cur_bytes, 0);
    assert_int_equal(hu.cur_blocks, 0);
    assert_true(rtm_task_stats_totals(s, &t));
    assert_int_equal(t.blocks, 0);
    assert_int_equal(t.unknown_frees, 0);
    assert_true(rtm_trace_summary(tr, &ts));
    assert_int_equal(ts.live, 0);
    assert_int_equal(ts.unmatched_frees, 0);
    rtm_heap_set_observer(h, NULL, NULL);
    rtm_trace_deinit(tr);
    rtm_task_stats_deinit(s);
    rtm_heap_deinit(h);
}

/* Without KEEP_DELETED only the live blocks move: the bucket's allocs and
 * frees stay 0, also after its blocks are freed (frees made after the
 * deletion were counted, so the bucket showed 1 free of 0 allocations). */
static void test_deleted_without_keep(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "main");
    rtm_task_stats_t *s = make_stats(8, 0);
    rtm_task_stats_attach(s, h);
    void *a = rtm_malloc(h, 10);
    void *b = rtm_malloc(h, 20);
    rtm_free(h, a);
    assert_true(rtm_task_stats_task_deleted(s, rtm_port_task_id()));
    rtm_task_stats_totals_t t;
    assert_true(rtm_task_stats_totals(s, &t));
    assert_int_equal(t.deleted.cur_bytes, 20);
    assert_int_equal(t.deleted.allocs, 0);
    assert_int_equal(t.deleted.frees, 0);
    /* The same id allocating again is a new entry with fresh figures. */
    void *c = rtm_malloc(h, 30);
    rtm_task_usage_t u = me(s);
    assert_int_equal(u.cur_bytes, 30);
    assert_int_equal(u.allocs, 1);
    rtm_free(h, b);
    rtm_free(h, c);
    assert_true(rtm_task_stats_totals(s, &t));
    assert_int_equal(t.deleted.cur_bytes, 0);
    assert_int_equal(t.deleted.cur_blocks, 0);
    assert_int_equal(t.deleted.peak_bytes, 20);
    assert_int_equal(t.deleted.allocs, 0);
    assert_int_equal(t.deleted.frees, 0);
    assert_int_equal(me(s).cur_bytes, 0);
    assert_int_equal(me(s).frees, 1);
    rtm_heap_set_observer(h, NULL, NULL);
    rtm_task_stats_deinit(s);
    rtm_heap_deinit(h);
}

static void test_overflows(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "main");
    /* One task entry, taken by a name: this thread goes to "other". */
    static _Alignas(8) uint8_t mem[RTM_TASK_STATS_BYTES(1, 4)];
    rtm_task_stats_t *s = rtm_task_stats_init(mem, sizeof mem, 1, 0);
    assert_non_null(s);
    assert_true(rtm_task_stats_set_name(s, 12345u, "ghost"));
    assert_false(rtm_task_stats_set_name(s, 777u, "full"));
    rtm_task_stats_attach(s, h);
    void *p[6];
    for (int i = 0; i < 6; i++) {
        p[i] = rtm_malloc(h, 8);
    }
    rtm_task_stats_totals_t t;
    assert_true(rtm_task_stats_totals(s, &t));
    assert_int_equal(t.block_capacity, 4);
    assert_int_equal(t.blocks, 4);
    assert_int_equal(t.task_overflow, 4);
    assert_int_equal(t.untracked_blocks, 2);
    assert_int_equal(t.other.cur_bytes, 32);
    for (int i = 0; i < 6; i++) {
        rtm_free(h, p[i]);
    }
    assert_true(rtm_task_stats_totals(s, &t));
    assert_int_equal(t.unknown_frees, 2);
    assert_int_equal(t.other.cur_bytes, 0);
    assert_int_equal(t.blocks, 0);

    /* Heaps beyond RTM_TASK_STATS_MAX_HEAPS lose their per-heap figures. */
    static _Alignas(8) uint8_t regions[RTM_TASK_STATS_MAX_HEAPS + 1][4096];
    rtm_heap_t *hs[RTM_TASK_STATS_MAX_HEAPS + 1];
    void *q[RTM_TASK_STATS_MAX_HEAPS + 1];
    rtm_heap_set_observer(h, NULL, NULL);
    for (size_t i = 0; i <= RTM_TASK_STATS_MAX_HEAPS; i++) {
        hs[i] = make_heap(regions[i], sizeof regions[i], "r");
        rtm_task_stats_attach(s, hs[i]);
        q[i] = rtm_malloc(hs[i], 8);
    }
    assert_true(rtm_task_stats_totals(s, &t));
    /* h took the first heap entry, so the last two heaps have none. */
    assert_int_equal(t.heap_overflow, 2);
    rtm_heap_usage_t hu;
    assert_true(rtm_task_stats_heap(s, hs[RTM_TASK_STATS_MAX_HEAPS - 2], &hu));
    assert_int_equal(hu.cur_bytes, 8);
    assert_false(rtm_task_stats_heap(s, hs[RTM_TASK_STATS_MAX_HEAPS - 1], &hu));
    assert_false(rtm_task_stats_heap(s, hs[RTM_TASK_STATS_MAX_HEAPS], &hu));
    for (size_t i = 0; i <= RTM_TASK_STATS_MAX_HEAPS; i++) {
        rtm_free(hs[i], q[i]);
        rtm_heap_set_observer(hs[i], NULL, NULL);
        rtm_heap_deinit(hs[i]);
    }
    rtm_task_stats_deinit(s);
    rtm_heap_deinit(h);
}

/* The names in the printed lines are trace-format tokens: a task named
 * "wifi..." ends in %2E, not in the "..." of a cut line, and a heap named
 * "" is written by its address (as an unnamed task by its id), never as an
 * empty "heap=". */
static void test_print_names(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "");
    rtm_task_stats_t *s = make_stats(8, 0);
    rtm_task_stats_attach(s, h);
    assert_true(rtm_task_stats_set_name(s, rtm_port_task_id(), "wifi..."));
    void *a = rtm_malloc(h, 10);
    g_len = 0;
    g_text[0] = '\0';
    rtm_output_set(capture_write, NULL);
    rtm_task_stats_print(s);
    rtm_output_set(NULL, NULL);
    assert_non_null(strstr(g_text, "# task task=wifi..%2E cur_bytes=10 "));
    assert_null(strstr(g_text, "heap= "));
    char want[64];
    snprintf(want, sizeof want, "# heap heap=0x%llx cur_bytes=10 ",
             (unsigned long long)(uintptr_t)h);
    assert_non_null(strstr(g_text, want));
    rtm_free(h, a);
    rtm_heap_set_observer(h, NULL, NULL);
    rtm_task_stats_deinit(s);
    rtm_heap_deinit(h);
}

static void test_print_and_bad_input(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "main");
    rtm_heap_t *h2 = make_heap(g_region2, sizeof g_region2, "psram");
    rtm_task_stats_t *s = make_stats(8, 0);
    rtm_task_stats_attach(s, h);
    rtm_task_stats_attach(s, h2);
    assert_true(rtm_task_stats_set_name(s, rtm_port_task_id(), "main task"));
    void *a = rtm_malloc(h, 100);
    void *b = rtm_malloc(h2, 7);
    g_len = 0;
    g_text[0] = '\0';
    rtm_output_set(capture_write, NULL);
    rtm_task_stats_print(s);
    rtm_output_set(NULL, NULL);
    assert_non_null(strstr(g_text, "# task task=main%20task cur_bytes=107 peak_bytes=107 "
                                   "cur_blocks=2 peak_blocks=2 allocs=2 frees=0\n"));
    assert_non_null(strstr(g_text, "# heap heap=main cur_bytes=100 peak_bytes=100 cur_blocks=1 "
                                   "peak_blocks=1\n"));
    assert_non_null(strstr(g_text, "# heap heap=psram cur_bytes=7 "));
    assert_non_null(strstr(g_text, "# deleted cur_bytes=0 "));
    assert_non_null(strstr(g_text, "# tasks tasks=1 capacity=8 blocks=2 block_capacity=1024 "
                                   "deleted_tasks=0\n"));
    assert_non_null(strstr(g_text, "# limits task_overflow=0 untracked=0 unknown_frees=0 "
                                   "heap_overflow=0\n"));
    assert_null(strstr(g_text, "...\n"));
    rtm_task_usage_t list[8];
    assert_int_equal(rtm_task_stats_tasks(s, list, 8), 1);
    assert_string_equal(list[0].name, "main task");
    /* A name longer than RTM_TASK_NAME_LEN - 1 is cut. */
    assert_true(rtm_task_stats_set_name(s, rtm_port_task_id(), "abcdefghijklmnopqrstuvwxyz"));
    char got[64];
    assert_true(rtm_task_stats_name_of(rtm_port_task_id(), got, sizeof got, s));
    assert_int_equal(strlen(got), RTM_TASK_NAME_LEN - 1);
    assert_true(rtm_task_stats_name_of(rtm_port_task_id(), got, 4, s));
    assert_string_equal(got, "abc");
    assert_true(rtm_task_stats_set_name(s, rtm_port_task_id(), NULL));
    assert_false(rtm_task_stats_name_of(rtm_port_task_id(), got, sizeof got, s));
    rtm_free(h, a);
    rtm_free(h2, b);

    /* bad input */
    rtm_task_stats_totals_t t;
    rtm_task_usage_t u;
    rtm_heap_usage_t hu;
    assert_false(rtm_task_stats_totals(NULL, &t));
    assert_false(rtm_task_stats_totals(s, NULL));
    assert_false(rtm_task_stats_get(NULL, 1, &u));
    assert_false(rtm_task_stats_heap(s, NULL, &hu));
    assert_false(rtm_task_stats_set_name(NULL, 1, "x"));
    assert_false(rtm_task_stats_name_of(1, got, sizeof got, NULL));
    assert_false(rtm_task_stats_name_of(1, NULL, 4, s));
    assert_false(rtm_task_stats_task_deleted(NULL, 1));
    assert_false(rtm_task_stats_owner(s, NULL, NULL));
    assert_int_equal(rtm_task_stats_blocks_of(s, 1, NULL, 3), 0);
    assert_int_equal(rtm_task_stats_tasks(NULL, list, 8), 0);
    rtm_task_stats_observer(NULL, s);
    rtm_task_stats_observer(NULL, NULL);
    rtm_task_stats_print(NULL);
    rtm_task_stats_attach(NULL, h);
    rtm_task_stats_deinit(NULL);
    rtm_heap_set_observer(h, NULL, NULL);
    rtm_heap_set_observer(h2, NULL, NULL);
    rtm_task_stats_deinit(s);
    rtm_heap_deinit(h);
    rtm_heap_deinit(h2);
}

/* An allocation or a reallocation that lands on the address of a block
 * still in the table (its free went unseen: the observer was detached, the
 * heap made again over the same memory) ends that block first, as a free
 * of its owner: the table never holds one address twice, and every figure
 * goes back to 0 once the blocks are freed. */
static void test_address_handed_out_again(void **state)
{
    (void)state;
    rtm_task_stats_t *s = make_stats(4, 0);
    rtm_heap_t *h = (rtm_heap_t *)(void *)g_region2; /* only an id here */
    static uint64_t a[4], b[4];
    rtm_heap_event_t ev = {RTM_EVENT_ALLOC, h, a, NULL, 10, 0, NULL};
    rtm_task_stats_observer(&ev, s);
    ev.ptr = b;
    ev.size = 20;
    rtm_task_stats_observer(&ev, s);
    /* a freed unseen, then handed out again */
    ev.ptr = a;
    ev.size = 30;
    rtm_task_stats_observer(&ev, s);
    rtm_task_usage_t u = me(s);
    assert_int_equal(u.cur_bytes, 50);
    assert_int_equal(u.cur_blocks, 2);
    assert_int_equal(u.allocs, 3);
    assert_int_equal(u.frees, 1);
    rtm_task_stats_totals_t t;
    assert_true(rtm_task_stats_totals(s, &t));
    assert_int_equal(t.blocks, 2);
    /* a freed unseen again, b moved onto it */
    ev.kind = RTM_EVENT_REALLOC;
    ev.old_ptr = b;
    ev.ptr = a;
    ev.size = 40;
    rtm_task_stats_observer(&ev, s);
    u = me(s);
    assert_int_equal(u.cur_bytes, 40);
    assert_int_equal(u.cur_blocks, 1);
    assert_true(rtm_task_stats_totals(s, &t));
    assert_int_equal(t.blocks, 1);
    ev.kind = RTM_EVENT_FREE;
    ev.old_ptr = NULL;
    rtm_task_stats_observer(&ev, s);
    u = me(s);
    assert_int_equal(u.cur_bytes, 0);
    assert_int_equal(u.cur_blocks, 0);
    rtm_heap_usage_t hu;
    assert_true(rtm_task_stats_heap(s, h, &hu));
    assert_int_equal(hu.cur_bytes, 0);
    assert_int_equal(hu.cur_blocks, 0);
    assert_true(rtm_task_stats_totals(s, &t));
    assert_int_equal(t.blocks, 0);
    assert_int_equal(t.unknown_frees, 0);
    rtm_task_stats_deinit(s);
}

/* task_stats.h: a reallocation keeps the block's owner, whichever task
 * makes it, also when the block moves, also for a deleted task's block. */
typedef struct one_alloc {
    rtm_heap_t *heap;
    void *p;
    uintptr_t id;
} one_alloc_t;

static void *alloc_one(void *arg)
{
    one_alloc_t *o = arg;
    o->id = rtm_port_task_id();
    o->p = rtm_malloc(o->heap, 100);
    return NULL;
}

#if !defined(RTM_PORT_POSIX)
/* The none port has no tasks of its own: its task-id hook says which of
 * the application's runs. The other task is id 2 while it allocates;
 * this one is 0 (no hook) as in the other tests. */
static uintptr_t other_task_id(void)
{
    return 2;
}
#endif

/* Runs alloc_one(o) as a task other than the calling one. */
static void alloc_in_other_task(one_alloc_t *o)
{
#if defined(RTM_PORT_POSIX)
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, alloc_one, o), 0);
    assert_int_equal(pthread_join(th, NULL), 0);
#else
    rtm_port_none_set_hooks(NULL, NULL, other_task_id, NULL);
    (void)alloc_one(o);
    rtm_port_none_set_hooks(NULL, NULL, NULL, NULL);
#endif
    assert_int_not_equal(o->id, rtm_port_task_id());
}

static void test_realloc_across_tasks(void **state)
{
    (void)state;
    rtm_heap_t *h = make_heap(g_region, sizeof g_region, "main");
    rtm_task_stats_t *s = make_stats(8, 0);
    rtm_task_stats_attach(s, h);
    one_alloc_t o = {h, NULL, 0};
    alloc_in_other_task(&o);
    assert_non_null(o.p);
    void *blocker = rtm_malloc(h, 16); /* so that growing moves the block */
    void *q = rtm_realloc(h, o.p, 5000);
    assert_non_null(q);
    assert_ptr_not_equal(q, o.p);
    rtm_task_usage_t u;
    assert_true(rtm_task_stats_get(s, o.id, &u));
    assert_int_equal(u.cur_bytes, 5000);
    assert_int_equal(u.cur_blocks, 1);
    assert_int_equal(u.allocs, 1);
    assert_int_equal(u.peak_bytes, 5000);
    assert_int_equal(me(s).cur_bytes, 16);
    assert_int_equal(me(s).allocs, 1);
    uintptr_t owner = 0;
    assert_true(rtm_task_stats_owner(s, q, &owner));
    assert_int_equal(owner, o.id);
    /* The owner is deleted; its block, reallocated by this task, stays in
     * the deleted bucket. */
    assert_true(rtm_task_stats_task_deleted(s, o.id));
    q = rtm_realloc(h, q, 50);
    rtm_task_stats_totals_t t;
    assert_true(rtm_task_stats_totals(s, &t));
    assert_int_equal(t.deleted.cur_bytes, 50);
    assert_int_equal(t.deleted.cur_blocks, 1);
    assert_int_equal(me(s).cur_bytes, 16);
    rtm_free(h, q);
    rtm_free(h, blocker);
    assert_true(rtm_task_stats_totals(s, &t));
    assert_int_equal(t.deleted.cur_bytes, 0);
    assert_int_equal(t.blocks, 0);
    rtm_heap_set_observer(h, NULL, NULL);
    rtm_task_stats_deinit(s);
    rtm_heap_deinit(h);
}

/* task_stats.h, rtm_task_stats_init: the block table holds at least the
 * `blocks` of RTM_TASK_STATS_BYTES (half a power of two); one block more
 * than it holds is counted, not lost silently. */
static void test_block_capacity_at_least(void **state)
{
    (void)state;
    static _Alignas(8) uint8_t mem[RTM_TASK_STATS_BYTES(2, 5)];
    rtm_task_stats_t *s = rtm_task_stats_init(mem, sizeof mem, 2, 0);
    assert_non_null(s);
    rtm_task_stats_totals_t t;
    assert_true(rtm_task_stats_totals(s, &t));
    assert_true(t.block_capacity >= 5);
    assert_int_equal(t.block_capacity, RTM_TASK_STATS_BLOCK_SLOTS(5) / 2u);
    static uint64_t blocks[16];
    rtm_heap_event_t ev = {RTM_EVENT_ALLOC, NULL, NULL, NULL, 8, 0, NULL};
    for (size_t i = 0; i <= t.block_capacity; i++) {
        ev.ptr = &blocks[i];
        rtm_task_stats_observer(&ev, s);
    }
    assert_true(rtm_task_stats_totals(s, &t));
    assert_int_equal(t.blocks, t.block_capacity);
    assert_int_equal(t.untracked_blocks, 1);
    rtm_task_stats_deinit(s);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_init),
        cmocka_unit_test(test_single_task),
        cmocka_unit_test(test_threads),
        cmocka_unit_test(test_deleted_without_keep),
        cmocka_unit_test(test_overflows),
        cmocka_unit_test(test_print_and_bad_input),
        cmocka_unit_test(test_print_names),
        cmocka_unit_test(test_address_handed_out_again),
        cmocka_unit_test(test_realloc_across_tasks),
        cmocka_unit_test(test_block_capacity_at_least),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
