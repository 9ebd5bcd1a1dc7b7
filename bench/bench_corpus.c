/*
 * Heap strategies and malloc implementations on recorded traces, side by
 * side in one run.
 *
 *   bench_corpus [--refs FILE] TRACE...     full tables (markdown)
 *   bench_corpus --system-only TRACE...     one REF line per trace for the
 *                                           malloc this process has (run
 *                                           with LD_PRELOAD for jemalloc or
 *                                           mimalloc; bench/run.sh does)
 *
 * Per trace (rtmem-trace 1, docs/formats.md; plain text) and allocator:
 *   - minimum heap: the smallest region (front and control block included,
 *     to 16 bytes) with which the whole trace completes, by bisection and
 *     then stepping down until 16 bytes less fails; divided by the peak of
 *     live requested bytes, and by the ideal: the peak over the trace of
 *     the live blocks each rounded up to the granularity (8) plus a 4-byte
 *     header;
 *   - time: replays at the minimum + 25% (malloc: unbounded), median ns per
 *     event over REPEATS replays, and per-event latency percentiles of one
 *     more replay (median, 99th, 99.99th, max).
 * Heaps use RTM_HEAP_NO_LOCK: the algorithm is measured, not the mutex.
 */
#define _GNU_SOURCE
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "latency.h"
#include "rtmem/heap.h"

#define REPEATS 7
#define SLOW_REPEATS 3
#define GRANULE 8u
#define HEADER 4u
#define MAX_REGION (64u * 1024u * 1024u)
#define MAX_REFS 64

typedef struct event {
    char kind;      /* 'a', 'A', 'r', 'f' */
    uint32_t id;    /* slot of the block named */
    uint32_t new_id; /* 'r': slot of the result */
    uint32_t size;
    uint32_t align;
} event_t;

typedef struct trace {
    const char *name;
    event_t *ev;
    size_t count;
    size_t slots;
    size_t peak_live;
    size_t ideal_peak;
} trace_t;

typedef struct ref {
    char trace[64];
    char name[32];
    double ns;
    bench_latency_t lat;
} ref_t;

static ref_t g_refs[MAX_REFS];
static size_t g_ref_count;
static void **g_ptr;
static uint32_t *g_ticks;
static uint8_t *g_region;
static double g_ns_per_tick;
static bool g_memory_only; /* --memory-only: minimum heaps, no timing */

/* ---- trace reading ------------------------------------------------------ */

typedef struct id_table {
    char (*names)[33];
    uint32_t *index;
    size_t cap;
    size_t used;
} id_table_t;

static uint64_t hash_name(const char *s)
{
    uint64_t h = 0xcbf29ce484222325u;
    for (; *s != '\0'; s++) {
        h = (h ^ (uint8_t)*s) * 0x100000001b3u;
    }
    return h;
}

static uint32_t id_of(id_table_t *t, const char *name)
{
    if (t->used * 2u >= t->cap) {
        id_table_t n = {calloc(t->cap * 2u, 33), calloc(t->cap * 2u, sizeof(uint32_t)), t->cap * 2u, 0};
        if (n.names == NULL || n.index == NULL) {
            fprintf(stderr, "bench_corpus: out of memory\n");
            exit(2);
        }
        for (size_t i = 0; i < t->cap; i++) {
            if (t->names[i][0] != '\0') {
                size_t j = hash_name(t->names[i]) & (n.cap - 1u);
                while (n.names[j][0] != '\0') {
                    j = (j + 1u) & (n.cap - 1u);
                }
                memcpy(n.names[j], t->names[i], 33);
                n.index[j] = t->index[i];
            }
        }
        n.used = t->used;
        free(t->names);
        free(t->index);
        *t = n;
    }
    size_t j = hash_name(name) & (t->cap - 1u);
    while (t->names[j][0] != '\0') {
        if (strcmp(t->names[j], name) == 0) {
            return t->index[j];
        }
        j = (j + 1u) & (t->cap - 1u);
    }
    snprintf(t->names[j], 33, "%s", name);
    t->index[j] = (uint32_t)t->used++;
    return t->index[j];
}

static size_t ideal_span(uint32_t size)
{
    return ((size + GRANULE - 1u) & ~(size_t)(GRANULE - 1u)) + HEADER;
}

static trace_t read_trace(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        fprintf(stderr, "bench_corpus: cannot open %s\n", path);
        exit(2);
    }
    trace_t t = {0};
    const char *slash = strrchr(path, '/');
    static char names[32][64];
    static size_t n_names;
    char *name = names[n_names++ % 32];
    snprintf(name, 64, "%s", slash != NULL ? slash + 1 : path);
    char *dot = strstr(name, ".trace");
    if (dot != NULL) {
        *dot = '\0';
    }
    t.name = name;
    id_table_t ids = {calloc(1024, 33), calloc(1024, sizeof(uint32_t)), 1024, 0};
    size_t cap = 1024;
    t.ev = malloc(cap * sizeof *t.ev);
    char line[512];
    while (fgets(line, sizeof line, f) != NULL) {
        char a[40], b[40];
        unsigned long x = 0, y = 0;
        event_t e = {0};
        e.kind = line[0];
        if (e.kind == 'a' && sscanf(line, "a %32s %lu", a, &x) == 2) {
            e.id = id_of(&ids, a);
        } else if (e.kind == 'A' && sscanf(line, "A %32s %lu %lu", a, &x, &y) == 3) {
            e.id = id_of(&ids, a);
            e.align = (uint32_t)y;
        } else if (e.kind == 'r' && sscanf(line, "r %32s %32s %lu", a, b, &x) == 3) {
            e.id = id_of(&ids, a);
            e.new_id = id_of(&ids, b);
        } else if (e.kind == 'f' && sscanf(line, "f %32s", a) == 1) {
            e.id = id_of(&ids, a);
        } else {
            continue;
        }
        e.size = (uint32_t)x;
        if (t.count == cap) {
            cap *= 2u;
            t.ev = realloc(t.ev, cap * sizeof *t.ev);
        }
        if (t.ev == NULL) {
            fprintf(stderr, "bench_corpus: out of memory\n");
            exit(2);
        }
        t.ev[t.count++] = e;
    }
    fclose(f);
    t.slots = ids.used;
    free(ids.names);
    free(ids.index);
    /* Peak live requested bytes and the ideal peak. */
    uint32_t *size = calloc(t.slots, sizeof *size);
    size_t live = 0, ideal = 0;
    for (size_t i = 0; i < t.count; i++) {
        const event_t *e = &t.ev[i];
        if (e->kind == 'f' || e->kind == 'r') {
            live -= size[e->id];
            ideal -= size[e->id] != 0 ? ideal_span(size[e->id]) : 0u;
            size[e->id] = 0;
        }
        if (e->kind != 'f') {
            uint32_t slot = e->kind == 'r' ? e->new_id : e->id;
            size[slot] = e->size;
            live += e->size;
            ideal += e->size != 0 ? ideal_span(e->size) : 0u;
        }
        t.peak_live = live > t.peak_live ? live : t.peak_live;
        t.ideal_peak = ideal > t.ideal_peak ? ideal : t.ideal_peak;
    }
    free(size);
    return t;
}

/* ---- replay ------------------------------------------------------------- */

/* One event on an rtmem heap; false if an allocation failed. */
static inline bool heap_event(rtm_heap_t *h, const event_t *e)
{
    switch (e->kind) {
    case 'a':
        g_ptr[e->id] = rtm_malloc(h, e->size);
        return g_ptr[e->id] != NULL || e->size == 0;
    case 'A':
        g_ptr[e->id] = rtm_aligned_alloc(h, e->align, e->size);
        return g_ptr[e->id] != NULL || e->size == 0;
    case 'r': {
        void *p = rtm_realloc(h, g_ptr[e->id], e->size);
        if (p == NULL && e->size != 0) {
            return false;
        }
        g_ptr[e->id] = NULL;
        g_ptr[e->new_id] = p;
        return true;
    }
    default:
        rtm_free(h, g_ptr[e->id]);
        g_ptr[e->id] = NULL;
        return true;
    }
}

static inline void malloc_event(const event_t *e)
{
    switch (e->kind) {
    case 'a':
        g_ptr[e->id] = malloc(e->size);
        break;
    case 'A': {
        void *p = NULL;
        g_ptr[e->id] = posix_memalign(&p, e->align < sizeof(void *) ? sizeof(void *) : e->align,
                                      e->size) == 0 ? p : NULL;
        break;
    }
    case 'r': {
        void *p = realloc(g_ptr[e->id], e->size);
        g_ptr[e->id] = NULL;
        g_ptr[e->new_id] = p;
        break;
    }
    default:
        free(g_ptr[e->id]);
        g_ptr[e->id] = NULL;
        break;
    }
}

static rtm_heap_t *make_heap(rtm_strategy_id_t s, size_t size)
{
    rtm_heap_config_t cfg = {.strategy = rtm_strategy_by_id(s), .flags = RTM_HEAP_NO_LOCK};
    return rtm_heap_init(g_region, size, &cfg);
}

static bool completes(const trace_t *t, rtm_strategy_id_t s, size_t size)
{
    rtm_heap_t *h = make_heap(s, size);
    if (h == NULL) {
        return false;
    }
    memset(g_ptr, 0, t->slots * sizeof *g_ptr);
    for (size_t i = 0; i < t->count; i++) {
        if (!heap_event(h, &t->ev[i])) {
            return false;
        }
    }
    return true;
}

static size_t min_heap(const trace_t *t, rtm_strategy_id_t s)
{
    size_t lo = rtm_heap_min_size(&(rtm_heap_config_t){.strategy = rtm_strategy_by_id(s)});
    size_t hi = MAX_REGION;
    if (!completes(t, s, hi)) {
        return 0;
    }
    while (hi - lo > 16u) {
        size_t mid = (lo + (hi - lo) / 2u) & ~(size_t)15u;
        if (mid <= lo) {
            break;
        }
        if (completes(t, s, mid)) {
            hi = mid;
        } else {
            lo = mid;
        }
    }
    while (hi > 16u && completes(t, s, hi - 16u)) {
        hi -= 16u;
    }
    return hi;
}

/* ns per event: median of `repeats` replays; latency of one more. A heap
 * strategy replays at `size`; s < 0 means malloc. */
static double time_replay(const trace_t *t, int s, size_t size, int repeats, bench_latency_t *lat)
{
    double v[REPEATS];
    for (int r = 0; r <= repeats; r++) {
        rtm_heap_t *h = s >= 0 ? make_heap((rtm_strategy_id_t)s, size) : NULL;
        memset(g_ptr, 0, t->slots * sizeof *g_ptr);
        bool timed = r < repeats;
        double t0 = bench_now_ns();
        for (size_t i = 0; i < t->count; i++) {
            uint64_t c0 = timed ? 0 : bench_ticks();
            if (h != NULL) {
                (void)heap_event(h, &t->ev[i]);
            } else {
                malloc_event(&t->ev[i]);
            }
            if (!timed) {
                g_ticks[i] = bench_tick_delta(c0, bench_ticks());
            }
        }
        if (timed) {
            v[r] = (bench_now_ns() - t0) / (double)t->count;
        }
        if (h == NULL) {
            for (size_t i = 0; i < t->slots; i++) {
                free(g_ptr[i]);
            }
        }
    }
    *lat = bench_percentiles(g_ticks, t->count, g_ns_per_tick);
    return bench_median(v, (size_t)repeats);
}

/* ---- output --------------------------------------------------------------- */

static void read_refs(const char *path)
{
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        return;
    }
    char line[256];
    while (g_ref_count < MAX_REFS && fgets(line, sizeof line, f) != NULL) {
        ref_t *r = &g_refs[g_ref_count];
        if (sscanf(line, "REF %63s %31[^|]|%lf %lf %lf %lf %lf", r->trace, r->name, &r->ns,
                   &r->lat.p50, &r->lat.p99, &r->lat.p9999, &r->lat.max) == 7) {
            g_ref_count++;
        }
    }
    fclose(f);
}

static void print_row(const char *who, const char *min, const char *peak_ratio,
                      const char *ideal_ratio, double ns, double glibc_ns, double ff_ns,
                      const bench_latency_t *l)
{
    printf("| %s | %s | %s | %s | %.1f | %.2fx | %.2fx | %.0f | %.0f | %.0f | %.0f |\n", who, min,
           peak_ratio, ideal_ratio, ns, ns / glibc_ns, ns / ff_ns, l->p50, l->p99, l->p9999,
           l->max);
}

static const rtm_strategy_id_t k_strategies[] = {RTM_TLSF, RTM_FIRST_FIT, RTM_BEST_FIT};
#define N_STRATEGIES (sizeof k_strategies / sizeof k_strategies[0])

/* Per trace: minimum heaps of TLSF and the best of first and best fit,
 * for the summary. */
typedef struct verdict {
    const char *trace;
    size_t peak, ideal, tlsf, best_other;
    double tlsf_ns, glibc_ns, ff_ns;
} verdict_t;

static verdict_t bench_trace(const trace_t *t)
{
    verdict_t v = {t->name, t->peak_live, t->ideal_peak, 0, SIZE_MAX, 0, 0, 0};
    bench_latency_t glat = {0, 0, 0, 0};
    double glibc = g_memory_only ? 1.0 : time_replay(t, -1, 0, REPEATS, &glat);
    size_t min[N_STRATEGIES];
    double ns[N_STRATEGIES];
    bench_latency_t lat[N_STRATEGIES];
    for (size_t i = 0; i < N_STRATEGIES; i++) {
        min[i] = min_heap(t, k_strategies[i]);
        size_t run = min[i] != 0 ? ((min[i] + min[i] / 4u + 15u) & ~(size_t)15u) : MAX_REGION;
        /* Best fit walks a long list: fewer repeats keep the run short. */
        int repeats = k_strategies[i] == RTM_BEST_FIT ? SLOW_REPEATS : REPEATS;
        lat[i] = glat;
        ns[i] = g_memory_only ? 1.0 : time_replay(t, (int)k_strategies[i], run, repeats, &lat[i]);
    }
    printf("%s: %zu events, peak live %zu B, ideal %zu B (%.3f x peak live)\n\n", t->name,
           t->count, t->peak_live, t->ideal_peak, (double)t->ideal_peak / (double)t->peak_live);
    printf("| allocator | min heap (B) | / peak live | / ideal | ns/event (median) | vs glibc | vs first fit | p50 ns | p99 ns | p99.99 ns | max ns |\n");
    printf("|---|---:|---:|---:|---:|---:|---:|---:|---:|---:|---:|\n");
    char a[32], b[32], c[32];
    snprintf(a, sizeof a, "%zu", t->ideal_peak);
    snprintf(b, sizeof b, "%.3f", (double)t->ideal_peak / (double)t->peak_live);
    printf("| ideal | %s | %s | 1.000 | - | - | - | - | - | - | - |\n", a, b);
    for (size_t i = 0; i < N_STRATEGIES; i++) {
        char who[40];
        snprintf(who, sizeof who, "rtmem %s", rtm_strategy_name(k_strategies[i]));
        snprintf(a, sizeof a, "%zu", min[i]);
        snprintf(b, sizeof b, "%.3f", (double)min[i] / (double)t->peak_live);
        snprintf(c, sizeof c, "%.3f", (double)min[i] / (double)t->ideal_peak);
        print_row(who, a, b, c, ns[i], glibc, ns[1], &lat[i]);
    }
    print_row(system_malloc_name(), "-", "-", "-", glibc, glibc, ns[1], &glat);
    for (size_t r = 0; r < g_ref_count; r++) {
        if (strcmp(g_refs[r].trace, t->name) == 0) {
            print_row(g_refs[r].name, "-", "-", "-", g_refs[r].ns, glibc, ns[1], &g_refs[r].lat);
        }
    }
    printf("\n");
    v.tlsf = min[0];
    v.best_other = min[1] < min[2] ? min[1] : min[2];
    v.tlsf_ns = ns[0];
    v.glibc_ns = glibc;
    v.ff_ns = ns[1];
    return v;
}

int main(int argc, char **argv)
{
    setvbuf(stdout, NULL, _IOLBF, 0);
    bool system_only = false;
    int first = 1;
    for (; first < argc && argv[first][0] == '-'; first++) {
        if (strcmp(argv[first], "--system-only") == 0) {
            system_only = true;
        } else if (strcmp(argv[first], "--memory-only") == 0) {
            g_memory_only = true;
        } else if (strcmp(argv[first], "--refs") == 0 && first + 1 < argc) {
            read_refs(argv[++first]);
        } else {
            fprintf(stderr, "usage: bench_corpus [--system-only | --memory-only] [--refs FILE] TRACE...\n");
            return 2;
        }
    }
    g_region = aligned_alloc(RTM_HEAP_MEM_ALIGN, MAX_REGION);
    if (g_region == NULL) {
        return 2;
    }
    g_ns_per_tick = bench_ns_per_tick();
    bench_overhead_ticks = bench_tick_overhead();
    verdict_t v[32];
    size_t nv = 0;
    for (int i = first; i < argc; i++) {
        trace_t t = read_trace(argv[i]);
        g_ptr = calloc(t.slots + 1u, sizeof *g_ptr);
        g_ticks = malloc((t.count + 1u) * sizeof *g_ticks);
        if (g_ptr == NULL || g_ticks == NULL) {
            return 2;
        }
        if (system_only) {
            bench_latency_t l;
            double ns = time_replay(&t, -1, 0, REPEATS, &l);
            printf("REF %s %s|%.2f %.1f %.1f %.1f %.1f\n", t.name, system_malloc_name(), ns, l.p50,
                   l.p99, l.p9999, l.max);
        } else if (nv < 32) {
            v[nv++] = bench_trace(&t);
        }
        free(g_ptr);
        free(g_ticks);
        free(t.ev);
    }
    if (!system_only && nv > 0) {
        printf("Targets per trace (TLSF): minimum heap no more than the best of first fit and best fit; time per event at most glibc's and at most 1/3 of first fit's.\n\n");
        printf("| trace | tlsf min heap | best of first/best fit | memory target | tlsf ns / glibc ns | tlsf ns / first fit ns | time target |\n");
        printf("|---|---:|---:|---|---:|---:|---|\n");
        for (size_t i = 0; i < nv; i++) {
            bool mem_ok = v[i].tlsf <= v[i].best_other;
            bool time_ok = v[i].tlsf_ns <= v[i].glibc_ns && v[i].tlsf_ns * 3.0 <= v[i].ff_ns;
            char gap[48] = "met";
            if (!mem_ok) {
                snprintf(gap, sizeof gap, "missed by %.1f%%",
                         100.0 * ((double)v[i].tlsf / (double)v[i].best_other - 1.0));
            }
            printf("| %s | %zu | %zu | %s | %.2f | %.2f | %s |\n", v[i].trace, v[i].tlsf,
                   v[i].best_other, gap, v[i].tlsf_ns / v[i].glibc_ns, v[i].tlsf_ns / v[i].ff_ns,
                   time_ok ? "met" : "missed");
        }
    }
    free(g_region);
    return 0;
}
