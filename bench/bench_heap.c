/*
 * Heap strategies side by side on one random workload, in one run.
 *
 * Workload (fixed seed, identical for every allocator): 1e6 operations over
 * 2000 slots; each operation picks a slot at random and frees its block if
 * it holds one, else allocates 8..512 bytes drawn log-uniform. Arena
 * 256 KiB.
 *
 Reported per allocator:
 *   - ns per operation (an allocation or a free): median of REPEATS timed
 *     runs of the whole sequence, and its ratio to glibc malloc's and to
 *     rtmem first fit's;
 *   - per-operation latency of one more run, read with a cycle counter
 *     (latency.h): median, 99th and 99.99th percentile, maximum;
 *   - failed allocations at 256 KiB;
 *   - the minimum arena (control structures included) that completes the
 *     sequence with no failed allocation, found by bisection and confirmed
 *     by running at that size and 16 bytes below, as a ratio of the peak of
 *     live requested bytes; next to it the ideal: the peak of the live
 *     blocks each rounded up to the granularity (8) plus a 4-byte header.
 * The C library's malloc is timed as a reference (its arena cannot be
 * bounded); `--system-only` times only malloc and prints one REF line, which
 * bench/run.sh collects from runs with jemalloc and mimalloc preloaded and
 * passes back with `--refs FILE` to be shown in the same table.
 * `--time ALLOCATOR` prints only the median ns/op of one allocator (glibc or
 * an rtmem heap, named as for --count), for bench/run.sh to compare two
 * builds of rtmem.
 * A strategy whose single run takes longer than SLOW_RUN_S (best fit: no
 * coalescing, so its size-sorted list grows to thousands of slivers) is
 * timed once and its minimum-arena search is skipped, said in the table.
 */
#define _GNU_SOURCE
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "latency.h"
#include "rtmem/heap.h"
#include "workload.h"

#define OPS BENCH_OPS
#define SLOTS BENCH_SLOTS
#define ARENA (256u * 1024u)
#define REPEATS 7
#define SLOW_RUN_S 2.0

typedef bench_op_t op_t;

static op_t g_ops[OPS];
static size_t g_peak_live;
static size_t g_ideal_peak;
static void *g_slots[SLOTS];
static uint32_t g_ticks[OPS];
static double g_ns_per_tick;
RTM_HEAP_STORAGE(g_mem, 4u * ARENA);

static void make_workload(void)
{
    bench_workload_stats_t st;
    bench_make_workload(g_ops, &st);
    g_peak_live = st.peak_live;
    g_ideal_peak = st.ideal_peak;
}

/* Runs the sequence; returns failed allocations and frees what is left.
 * With `ticks`, records each operation's latency in g_ticks. */
static size_t run_heap(rtm_heap_t *h, bool ticks)
{
    size_t failed = 0;
    for (uint32_t i = 0; i < OPS; i++) {
        const op_t *op = &g_ops[i];
        uint64_t c0 = ticks ? bench_ticks() : 0;
        if (op->size == 0) {
            rtm_free(h, g_slots[op->slot]);
            g_slots[op->slot] = NULL;
        } else {
            g_slots[op->slot] = rtm_malloc(h, op->size);
            failed += g_slots[op->slot] == NULL;
        }
        if (ticks) {
            g_ticks[i] = bench_tick_delta(c0, bench_ticks());
        }
    }
    for (uint32_t s = 0; s < SLOTS; s++) {
        rtm_free(h, g_slots[s]);
        g_slots[s] = NULL;
    }
    return failed;
}

static void run_libc(bool ticks)
{
    for (uint32_t i = 0; i < OPS; i++) {
        const op_t *op = &g_ops[i];
        uint64_t c0 = ticks ? bench_ticks() : 0;
        if (op->size == 0) {
            free(g_slots[op->slot]);
            g_slots[op->slot] = NULL;
        } else {
            g_slots[op->slot] = malloc(op->size);
        }
        if (ticks) {
            g_ticks[i] = bench_tick_delta(c0, bench_ticks());
        }
    }
    for (uint32_t s = 0; s < SLOTS; s++) {
        free(g_slots[s]);
        g_slots[s] = NULL;
    }
}

static rtm_heap_t *make_heap_flags(rtm_strategy_id_t s, size_t size, uint32_t flags)
{
    rtm_heap_config_t cfg = {.strategy = rtm_strategy_by_id(s), .flags = flags};
    return rtm_heap_init(g_mem, size, &cfg);
}

static rtm_heap_t *make_heap(rtm_strategy_id_t s, size_t size)
{
    return make_heap_flags(s, size, RTM_HEAP_NO_LOCK);
}

static bool completes(rtm_strategy_id_t s, size_t size)
{
    rtm_heap_t *h = make_heap(s, size);
    return h != NULL && run_heap(h, false) == 0;
}

/* Smallest size, to 16 bytes, that completes. Failure is not monotonic in
 * size (fragmentation), so bisection gives a candidate that is then
 * confirmed with the size 16 bytes below it failing. */
static size_t min_arena(rtm_strategy_id_t s)
{
    size_t lo = rtm_heap_min_size(&(rtm_heap_config_t){.strategy = rtm_strategy_by_id(s)});
    size_t hi = sizeof g_mem;
    if (!completes(s, hi)) {
        return 0;
    }
    while (hi - lo > 16u) {
        size_t mid = (lo + (hi - lo) / 2u) & ~(size_t)15u;
        if (mid <= lo) {
            break;
        }
        if (completes(s, mid)) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    while (hi > 16u && completes(s, hi - 16u)) {
        hi -= 16u;
    }
    return hi;
}

/* --count ALLOCATOR: one run of the sequence and nothing else, for
 * bench/instructions.sh to count with callgrind. Every allocator is called
 * through the same pair of out-of-line functions, so the count of the
 * "none" allocator (which only hands out a dummy block) is the harness's
 * own cost, subtracted from the others. */
typedef struct counted {
    const char *name;
    rtm_strategy_id_t strategy; /* RTM_STRATEGY_COUNT: not an rtmem heap */
    uint32_t flags;             /* the heap's flags */
} counted_t;

/* "_locked": the heap with its lock (the default flags), to count the
 * front's locked path. The lock is the port's: on the host, POSIX's
 * pthread mutex, which takes most of the difference (a FreeRTOS critical
 * section costs a few instructions). */
static const counted_t k_counted[] = {
    {"none", RTM_STRATEGY_COUNT, 0},
    {"glibc", RTM_STRATEGY_COUNT, 0},
    {"tlsf", RTM_TLSF, RTM_HEAP_NO_LOCK},
    {"first_fit", RTM_FIRST_FIT, RTM_HEAP_NO_LOCK},
    {"best_fit", RTM_BEST_FIT, RTM_HEAP_NO_LOCK},
    {"bump", RTM_BUMP, RTM_HEAP_NO_LOCK},
    {"tlsf_locked", RTM_TLSF, 0},
    {"first_fit_locked", RTM_FIRST_FIT, 0},
};

static rtm_heap_t *g_counted_heap;
static int g_counted_kind; /* 0 none, 1 glibc, 2 rtmem */

__attribute__((noinline)) static void *counted_alloc(size_t size)
{
    static _Alignas(16) uint8_t dummy[16];
    switch (g_counted_kind) {
    case 1:
        return malloc(size);
    case 2:
        return rtm_malloc(g_counted_heap, size);
    default:
        __asm__ volatile("" ::: "memory");
        return dummy;
    }
}

__attribute__((noinline)) static void counted_free(void *p)
{
    switch (g_counted_kind) {
    case 1:
        free(p);
        break;
    case 2:
        rtm_free(g_counted_heap, p);
        break;
    default:
        __asm__ volatile("" ::: "memory");
        break;
    }
}

/* The entry of k_counted named name; NULL if none. */
static const counted_t *find_counted(const char *name)
{
    for (size_t i = 0; i < sizeof k_counted / sizeof k_counted[0]; i++) {
        if (strcmp(k_counted[i].name, name) == 0) {
            return &k_counted[i];
        }
    }
    return NULL;
}

static int run_counted(const char *name)
{
    const counted_t *c = find_counted(name);
    if (c == NULL) {
        fprintf(stderr, "bench_heap: --count: unknown allocator '%s'\n", name);
        return 2;
    }
    g_counted_kind = strcmp(name, "none") == 0 ? 0 : strcmp(name, "glibc") == 0 ? 1 : 2;
    if (g_counted_kind == 2) {
        g_counted_heap = make_heap_flags(c->strategy, ARENA, c->flags);
        if (g_counted_heap == NULL) {
            fprintf(stderr, "bench_heap: --count: no %s heap\n", name);
            return 1;
        }
    }
    size_t failed = 0;
    for (uint32_t i = 0; i < OPS; i++) {
        const op_t *op = &g_ops[i];
        if (op->size == 0) {
            counted_free(g_slots[op->slot]);
            g_slots[op->slot] = NULL;
        } else {
            g_slots[op->slot] = counted_alloc(op->size);
            failed += g_slots[op->slot] == NULL;
        }
    }
    printf("counted %s: %u ops, %zu failed\n", name, OPS, failed);
    return 0;
}

typedef struct ref {
    char name[32];
    double ns;
    bench_latency_t lat;
} ref_t;

#define MAX_REFS 8
static ref_t g_refs[MAX_REFS];
static size_t g_ref_count;

static void read_refs(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return;
    }
    char line[256];
    while (g_ref_count < MAX_REFS && fgets(line, sizeof line, f) != NULL) {
        ref_t *r = &g_refs[g_ref_count];
        if (sscanf(line, "REF random %31[^|]|%lf %lf %lf %lf %lf", r->name, &r->ns, &r->lat.p50,
                   &r->lat.p99, &r->lat.p9999, &r->lat.max) == 6) {
            g_ref_count++;
        }
    }
    fclose(f);
}

/* malloc's median ns/op over REPEATS runs and its latency over one more. */
static double time_libc(bench_latency_t *lat)
{
    double t[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        double t0 = bench_now_ns();
        run_libc(false);
        t[r] = (bench_now_ns() - t0) / OPS;
    }
    run_libc(true);
    *lat = bench_percentiles(g_ticks, OPS, g_ns_per_tick);
    return bench_median(t, REPEATS);
}

/* --time ALLOCATOR (glibc or an rtmem heap of k_counted): the median ns
 * per operation of REPEATS runs and nothing else, for bench/run.sh to
 * compare two builds of the library run by run. */
static int run_timed(const char *name)
{
    const counted_t *c = find_counted(name);
    if (c == NULL || strcmp(name, "none") == 0) {
        fprintf(stderr, "bench_heap: --time: unknown allocator '%s'\n", name);
        return 2;
    }
    double t[REPEATS];
    for (int r = 0; r < REPEATS; r++) {
        rtm_heap_t *h = NULL;
        if (c->strategy != RTM_STRATEGY_COUNT) {
            h = make_heap_flags(c->strategy, ARENA, c->flags);
            if (h == NULL) {
                fprintf(stderr, "bench_heap: --time: no %s heap\n", name);
                return 1;
            }
        }
        double t0 = bench_now_ns();
        if (h != NULL) {
            run_heap(h, false);
        } else {
            run_libc(false);
        }
        t[r] = (bench_now_ns() - t0) / OPS;
    }
    printf("timed %s: %.2f ns/op\n", name, bench_median(t, REPEATS));
    return 0;
}

static void print_latency(const bench_latency_t *l)
{
    printf(" %.0f | %.0f | %.0f | %.0f |", l->p50, l->p99, l->p9999, l->max);
    /* A median below the counter's resolution reads 0: no ratio to it. */
    if (l->p50 > 0.0) {
        printf(" %.1f |", l->p9999 / l->p50);
    } else {
        printf(" - |");
    }
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    bool system_only = false;
    for (int i = 1; i < argc; i++) {
        if (strcmp(argv[i], "--system-only") == 0) {
            system_only = true;
        } else if (strcmp(argv[i], "--refs") == 0 && i + 1 < argc) {
            read_refs(argv[++i]);
        } else if (strcmp(argv[i], "--count") == 0 && i + 1 < argc) {
            make_workload();
            return run_counted(argv[i + 1]);
        } else if (strcmp(argv[i], "--time") == 0 && i + 1 < argc) {
            make_workload();
            return run_timed(argv[i + 1]);
        } else {
            fprintf(stderr, "usage: bench_heap [--system-only] [--refs FILE] [--count ALLOCATOR] "
                            "[--time ALLOCATOR]\n");
            return 2;
        }
    }
    g_ns_per_tick = bench_ns_per_tick();
    bench_overhead_ticks = bench_tick_overhead();
    make_workload();
    bench_latency_t glat;
    if (system_only) {
        double ns = time_libc(&glat);
        printf("REF random %s|%.2f %.1f %.1f %.1f %.1f\n", system_malloc_name(), ns, glat.p50,
               glat.p99, glat.p9999, glat.max);
        return 0;
    }
    printf("workload: %u ops, %u slots, 8..512 B log-uniform, arena %u B, peak live %zu B, "
           "ideal %zu B (%.3f x peak live)\n\n",
           OPS, SLOTS, ARENA, g_peak_live, g_ideal_peak, (double)g_ideal_peak / (double)g_peak_live);
    static const rtm_strategy_id_t strategies[] = {RTM_TLSF, RTM_FIRST_FIT, RTM_BEST_FIT};
    size_t n = sizeof strategies / sizeof strategies[0];
    double ns[8] = {0};
    size_t mins[8] = {0};
    int runs[8] = {0};
    size_t failed[8] = {0};
    bench_latency_t lat[8];
    double glibc = time_libc(&glat);
    double t[REPEATS];
    for (size_t i = 0; i < n; i++) {
        for (int r = 0; r < REPEATS; r++) {
            rtm_heap_t *h = make_heap(strategies[i], ARENA);
            double t0 = bench_now_ns();
            failed[i] = run_heap(h, false);
            t[r] = (bench_now_ns() - t0) / OPS;
            runs[i]++;
            if (t[r] * OPS > SLOW_RUN_S * 1e9) {
                break;
            }
        }
        ns[i] = bench_median(t, (size_t)runs[i]);
        if (runs[i] == REPEATS) {
            run_heap(make_heap(strategies[i], ARENA), true);
            lat[i] = bench_percentiles(g_ticks, OPS, g_ns_per_tick);
            mins[i] = min_arena(strategies[i]);
        }
    }
    printf("| allocator | ns/op (median of %d) | vs glibc | vs first fit | p50 ns | p99 ns | p99.99 ns | max ns | p99.99 / p50 | failed @256 KiB | min arena | min arena / peak live |\n", REPEATS);
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    printf("| ideal | - | - | - | - | - | - | - | - | - | %zu | %.3f |\n", g_ideal_peak,
           (double)g_ideal_peak / (double)g_peak_live);
    for (size_t i = 0; i < n; i++) {
        printf("| rtmem %s | %.1f%s | %.2fx | %.2fx |", rtm_strategy_name(strategies[i]), ns[i],
               runs[i] < REPEATS ? " (1 run)" : "", ns[i] / glibc, ns[i] / ns[1]);
        if (runs[i] < REPEATS) {
            printf(" - | - | - | - | - | %zu | not searched: %.0f s per run | - |\n", failed[i],
                   ns[i] * OPS / 1e9);
            continue;
        }
        print_latency(&lat[i]);
        printf(" %zu | %zu | %.3f |\n", failed[i], mins[i], (double)mins[i] / (double)g_peak_live);
    }
    printf("| %s | %.1f | 1.00x | %.2fx |", system_malloc_name(), glibc, glibc / ns[1]);
    print_latency(&glat);
    printf(" - | - | - |\n");
    for (size_t r = 0; r < g_ref_count; r++) {
        printf("| %s | %.1f | %.2fx | %.2fx |", g_refs[r].name, g_refs[r].ns, g_refs[r].ns / glibc,
               g_refs[r].ns / ns[1]);
        print_latency(&g_refs[r].lat);
        printf(" - | - | - |\n");
    }
    double ratio = (double)mins[0] / (double)g_peak_live;
    printf("\nTargets (TLSF, this run):\n\n");
    printf("| target | measured | verdict |\n|---|---|---|\n");
    printf("| time per op <= glibc malloc's | %.1f ns vs %.1f ns (%.2fx) | %s |\n", ns[0], glibc,
           ns[0] / glibc, ns[0] <= glibc ? "met" : "missed");
    printf("| time per op <= 1/3 of first fit's | %.1f ns vs %.1f ns (%.2fx) | %s |\n", ns[0],
           ns[1], ns[0] / ns[1], ns[0] * 3.0 <= ns[1] ? "met" : "missed");
    printf("| min arena / peak live <= 1.10 | %.3f (ideal %.3f) | %s |\n", ratio,
           (double)g_ideal_peak / (double)g_peak_live, ratio <= 1.10 ? "met" : "missed");
    printf("| p99.99 <= 3 x median latency | %.0f ns vs %.0f ns (%.1fx) | %s |\n", lat[0].p9999,
           lat[0].p50, lat[0].p9999 / lat[0].p50,
           lat[0].p9999 <= 3.0 * lat[0].p50 ? "met" : "missed");
    return 0;
}
