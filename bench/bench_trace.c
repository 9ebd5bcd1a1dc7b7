/*
 * Cost of tracing and per-task accounting per heap event.
 *
 * Workload (fixed seed): OPS operations over SLOTS slots on a 256 KiB TLSF
 * heap; each picks a slot at random, frees its block if it holds one, else
 * allocates 8..256 bytes. The same sequence runs with:
 *   none         no observer (baseline)
 *   leaks        tracer in RTM_TRACE_LEAKS mode (capacity >= live blocks)
 *   all          tracer in RTM_TRACE_ALL mode (capacity >= every allocation)
 *   leaks+stream LEAKS and the live stream formatted and handed to an
 *                output hook that discards it (the UART time is not counted)
 *   task_stats   per-task accounting alone
 *   chain        tracer (LEAKS) and task stats through rtm_observer_chain
 * Reported: median ns per operation of REPEATS runs (variants interleaved
 * run by run, so drifts of the machine hit all alike), and the extra ns per
 * event over the baseline (every operation is exactly one event).
 *
 * Build (host, optimised):
 *   gcc -O2 -std=c11 -Iinclude -DRTM_PORT_POSIX bench/bench_trace.c src/heap.c src/output.c \
 *       src/trace.c src/task_stats.c src/observer.c src/strategy/[a-z]*.c src/port/posix.c \
 *       -lpthread -o bench_trace
 * (add src/poison.c when heap.c needs it).
 */
#define _POSIX_C_SOURCE 200809L
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtmem/heap.h"
#include "rtmem/observer.h"
#include "rtmem/output.h"
#include "rtmem/task_stats.h"
#include "rtmem/trace.h"

#define OPS 400000u
#define SLOTS 512u
#define ARENA (256u * 1024u)
#define REPEATS 15

typedef struct op {
    uint16_t slot;
    uint16_t size; /* 0 on a free */
} op_t;

static op_t g_ops[OPS];
static size_t g_allocs;
static void *g_slots[SLOTS];
RTM_HEAP_STORAGE(g_heap_mem, ARENA);
RTM_TRACE_DEFINE(g_leaks_mem, SLOTS);
static uint8_t *g_all_mem;
static size_t g_all_bytes;
RTM_TASK_STATS_DEFINE(g_stats_mem, 8, SLOTS);

static uint64_t g_rng = 0x9e3779b97f4a7c15u;

static uint64_t next_random(void)
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

static void make_workload(void)
{
    bool used[SLOTS] = {false};
    for (size_t i = 0; i < OPS; i++) {
        uint16_t slot = (uint16_t)(next_random() % SLOTS);
        g_ops[i].slot = slot;
        if (used[slot]) {
            g_ops[i].size = 0;
            used[slot] = false;
        } else {
            g_ops[i].size = (uint16_t)(8u + next_random() % 249u);
            used[slot] = true;
            g_allocs++;
        }
    }
}

static double now_s(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec * 1e-9;
}

static void discard(const char *text, size_t len, void *ctx)
{
    (void)text;
    (void)ctx;
    *(volatile size_t *)&g_allocs += 0 * len; /* keep the call */
}

enum { V_NONE, V_LEAKS, V_ALL, V_STREAM, V_STATS, V_CHAIN, V_COUNT };
static const char *const k_names[V_COUNT] = {"none", "leaks", "all", "leaks+stream",
                                             "task_stats", "chain"};

static double run_once(int variant)
{
    rtm_heap_t *h = rtm_heap_init(g_heap_mem, sizeof g_heap_mem, NULL);
    rtm_trace_t *t = NULL;
    rtm_task_stats_t *s = NULL;
    static rtm_observer_chain_t chain;
    if (h == NULL) {
        abort();
    }
    switch (variant) {
    case V_LEAKS:
    case V_STREAM:
    case V_CHAIN:
        t = rtm_trace_init(g_leaks_mem, sizeof g_leaks_mem);
        rtm_trace_start(t, RTM_TRACE_LEAKS);
        break;
    case V_ALL:
        t = rtm_trace_init(g_all_mem, g_all_bytes);
        rtm_trace_start(t, RTM_TRACE_ALL);
        break;
    default:
        break;
    }
    if (variant == V_STATS || variant == V_CHAIN) {
        s = rtm_task_stats_init(g_stats_mem, sizeof g_stats_mem, 8, 0);
    }
    if (variant == V_CHAIN) {
        rtm_observer_chain_init(&chain);
        rtm_observer_chain_add(&chain, rtm_trace_observer, t);
        rtm_observer_chain_add(&chain, rtm_task_stats_observer, s);
        rtm_observer_chain_attach(&chain, h);
    } else if (t != NULL) {
        rtm_trace_attach(t, h);
    } else if (s != NULL) {
        rtm_task_stats_attach(s, h);
    }
    if (variant == V_STREAM) {
        rtm_output_set(discard, NULL);
        rtm_trace_set_stream(t, true);
    }
    memset(g_slots, 0, sizeof g_slots);
    double t0 = now_s();
    for (size_t i = 0; i < OPS; i++) {
        const op_t *op = &g_ops[i];
        if (op->size == 0) {
            rtm_free(h, g_slots[op->slot]);
            g_slots[op->slot] = NULL;
        } else {
            g_slots[op->slot] = rtm_malloc(h, op->size);
        }
    }
    double dt = now_s() - t0;
    rtm_trace_summary_t sum;
    if (t != NULL && rtm_trace_summary(t, &sum) && sum.overflow != 0) {
        fprintf(stderr, "%s: overflow %u (capacity too small)\n", k_names[variant],
                (unsigned)sum.overflow);
    }
    rtm_output_set(NULL, NULL);
    rtm_heap_set_observer(h, NULL, NULL);
    rtm_trace_deinit(t);
    rtm_task_stats_deinit(s);
    rtm_heap_deinit(h);
    return dt;
}

static int cmp_double(const void *a, const void *b)
{
    double x = *(const double *)a, y = *(const double *)b;
    return (x > y) - (x < y);
}

int main(void)
{
    make_workload();
    g_all_bytes = RTM_TRACE_BYTES(g_allocs);
    g_all_mem = aligned_alloc(8, (g_all_bytes + 7u) & ~(size_t)7u);
    if (g_all_mem == NULL) {
        return 1;
    }
    printf("ops=%u slots=%u allocations=%zu record=%zu bytes index=4 bytes/slot "
           "(RTM_TRACE_DEPTH=%d)\n",
           OPS, SLOTS, g_allocs, sizeof(rtm_trace_record_t), RTM_TRACE_DEPTH);
    static double r[V_COUNT][REPEATS];
    for (int k = 0; k < REPEATS; k++) {
        for (int v = 0; v < V_COUNT; v++) {
            r[v][k] = run_once(v);
        }
    }
    double base = 0;
    for (int v = 0; v < V_COUNT; v++) {
        qsort(r[v], REPEATS, sizeof r[v][0], cmp_double);
        double ns = r[v][REPEATS / 2] * 1e9 / OPS;
        if (v == V_NONE) {
            base = ns;
        }
        printf("%-13s %7.1f ns/op  %+7.1f ns/event\n", k_names[v], ns, ns - base);
    }
    free(g_all_mem);
    return 0;
}
