/* The trace part of `rtmem report` (report_trace.h). */
#define _POSIX_C_SOURCE 200809L
#include "report_trace.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "replay.h"
#include "sum64.h"

size_t rtm_rep_advised_size(size_t min)
{
    size_t s = min / 4u * 5u + (min % 4u * 5u + 3u) / 4u;
    return (s + 1023u) & ~(size_t)1023u;
}

/* Live bytes over operations, and where they peak. */
static int live_pass(rtm_rep_trace_t *t)
{
    FILE *f = fopen(t->path, "r");
    if (f == NULL) {
        (void)snprintf(t->err, sizeof t->err, "%s: %s", t->name, strerror(errno));
        return 2;
    }
    rtm_trace_reader_t *rd = malloc(sizeof *rd);
    if (rd == NULL) {
        fclose(f);
        return -1;
    }
    rtm_trace_reader_init(rd, f, t->name, false);
    rtm_trace_event_t ev;
    rtm_sum64_t live = {0, 0};
    int n;
    while ((n = rtm_trace_next(rd, &ev)) > 0) {
        t->ops++;
        switch (ev.kind) {
        case RTM_TRACE_ALLOC:
        case RTM_TRACE_ALIGNED:
            ev.slot->size = ev.size;
            rtm_sum64_add(&live, ev.size);
            break;
        case RTM_TRACE_REALLOC:
            ev.slot->size = ev.size;
            rtm_sum64_sub(&live, ev.old.size);
            rtm_sum64_add(&live, ev.size);
            break;
        case RTM_TRACE_FREE:
            rtm_sum64_sub(&live, ev.old.size);
            break;
        }
        if (rtm_sum64_get(&live) > t->peak_live) {
            t->peak_live = rtm_sum64_get(&live);
            t->peak_op = t->ops;
            t->peak_line = ev.line;
        }
        rtm_series_add(&t->live, t->ops, (double)rtm_sum64_get(&live));
    }
    t->end_live = rtm_sum64_get(&live);
    t->peak_blocks = rd->ids.peak;
    int rc = 0;
    if (n < 0) {
        (void)snprintf(t->err, sizeof t->err, "%s", rd->err);
        rc = 2;
    } else {
        t->read_all = true;
    }
    rtm_trace_reader_fini(rd);
    free(rd);
    fclose(f);
    return rc;
}

/* The measuring replay of one strategy: 1 MiB, x4 until it completes, up
 * to cap (compare's "hopeless" limit: 8x the best so far). */
static int measure(rtm_rep_trace_t *t, rtm_rep_strategy_t *s, rtm_replay_result_t *r, size_t cap,
                   uint64_t deadline_ns)
{
    rtm_heap_config_t cfg = {.strategy = rtm_strategy_by_id(s->id)};
    size_t size = (size_t)1 << 20;
    size_t least = rtm_heap_min_size(&cfg);
    if (size < least) {
        size = least;
    }
    char err[RTM_TRACE_ERR_MAX];
    unsigned refused = 0;
    for (;;) {
        rtm_replay_opts_t o = {.strategy = s->id, .heap_size = size, .timing = true,
                               .stop_on_fail = true, .deadline_ns = deadline_ns};
        uint64_t t0 = rtm_tool_cpu_ns();
        if (rtm_replay_run(t->path, &o, r, err, sizeof err) != 0) {
            if (r->init_refused && ++refused < 64u) {
                size += 16u; /* TLSF refuses a few sizes above its minimum */
                continue;
            }
            (void)snprintf(t->err, sizeof t->err, "%s", err);
            return 2;
        }
        s->run_ns = rtm_tool_cpu_ns() - t0;
        if (r->timed_out) {
            (void)snprintf(s->why_text, sizeof s->why_text,
                           "too slow: its replay at %zu bytes did not finish within its share of "
                           "the budget", size);
            s->why = s->why_text;
            return 0;
        }
        if (r->completed) {
            s->ran = true;
            s->run_size = size;
            s->high_water = (size_t)r->peak_footprint;
            s->median_ns = rtm_hist_quantile(&r->hist, 0.5);
            s->search_runs = RTM_REP_SEARCH_RUNS;
            if (r->aligned != 0) {
                s->search_runs += RTM_REP_SCAN_RUNS * (unsigned)rtm_min_size_scan_sizes(r);
            }
            return 0;
        }
        if (size >= cap) {
            (void)snprintf(s->why_text, sizeof s->why_text,
                           "does not complete in %zu bytes (%s)", size,
                           cap == RTM_MIN_SIZE_CAP ? "the largest size tried"
                                                   : "8x the best high-water mark");
            s->why = s->why_text;
            return 0;
        }
        size = size > cap / 4u ? cap : size * 4u;
    }
}

typedef struct map_ctx {
    rtm_rep_trace_t *t;
    uintptr_t base;
    size_t cap;
} map_ctx_t;

/* Walk callback: blocks in address order, offsets from the arena's start. */
static bool map_block(const rtm_block_info_t *b, void *ctx)
{
    map_ctx_t *m = ctx;
    rtm_rep_trace_t *t = m->t;
    if (t->nblocks == m->cap) {
        return false;
    }
    t->blocks[t->nblocks++] = (rtm_map_block_t){.offset = (uint64_t)((uintptr_t)b->ptr - m->base),
                                                .size = b->size, .used = b->used};
    if (b->used) {
        t->map_used += b->size;
    } else {
        t->map_free += b->size;
    }
    return true;
}

static bool count_block(const rtm_block_info_t *b, void *ctx)
{
    (void)b;
    (*(size_t *)ctx)++;
    return true;
}

static void ignore_failure(rtm_heap_t *heap, size_t size, size_t alignment,
                           rtm_fail_reason_t reason, void *ctx)
{
    (void)heap, (void)size, (void)alignment, (void)reason, (void)ctx;
}

static void ignore_misuse(rtm_heap_t *heap, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)heap, (void)kind, (void)address, (void)ctx;
}

/* Replays up to the peak with the recommended strategy and walks the heap. */
static int heap_map(rtm_rep_trace_t *t)
{
    const rtm_rep_strategy_t *s = &t->strat[t->pick];
    size_t size = t->heap_size;
    void *raw = malloc(size + RTM_REPLAY_ARENA_ALIGN);
    rtm_trace_reader_t *rd = malloc(sizeof *rd);
    FILE *f = fopen(t->path, "r");
    if (raw == NULL || rd == NULL || f == NULL) {
        free(raw);
        free(rd);
        if (f != NULL) {
            fclose(f);
        }
        (void)snprintf(t->map_note, sizeof t->map_note, "no heap map: out of memory or the "
                       "trace cannot be opened again");
        return 0;
    }
    char *arena = (char *)(((uintptr_t)raw + RTM_REPLAY_ARENA_ALIGN - 1u) &
                           ~(uintptr_t)(RTM_REPLAY_ARENA_ALIGN - 1u));
    rtm_heap_config_t cfg = {.strategy = rtm_strategy_by_id(s->id), .flags = RTM_HEAP_NO_LOCK,
                             .on_alloc_failed = ignore_failure, .on_misuse = ignore_misuse,
                             .name = "report"};
    rtm_heap_t *heap = rtm_heap_init(arena, size, &cfg);
    if (heap == NULL) {
        (void)snprintf(t->map_note, sizeof t->map_note, "no heap map: %s refuses %zu bytes",
                       rtm_strategy_name(s->id), size);
        free(raw);
        free(rd);
        fclose(f);
        return 0;
    }
    rtm_trace_reader_init(rd, f, t->name, false);
    rtm_trace_event_t ev;
    uint64_t ops = 0;
    while (ops < t->peak_op && rtm_trace_next(rd, &ev) > 0) {
        ops++;
        switch (ev.kind) {
        case RTM_TRACE_ALLOC:
        case RTM_TRACE_ALIGNED: {
            size_t align = ev.kind == RTM_TRACE_ALIGNED ? (size_t)ev.align : 0;
            void *p = ev.size > SIZE_MAX ? NULL : rtm_heap_alloc_ex(heap, (size_t)ev.size, align, NULL);
            t->map_failed += p == NULL && ev.size > 0;
            ev.slot->ptr = p;
            ev.slot->size = ev.size;
            break;
        }
        case RTM_TRACE_REALLOC: {
            void *p = ev.size > SIZE_MAX ? NULL
                                         : rtm_realloc_ex(heap, ev.old.ptr, (size_t)ev.size, NULL);
            bool failed = p == NULL && ev.size > 0;
            t->map_failed += failed;
            ev.slot->ptr = failed ? ev.old.ptr : p;
            ev.slot->size = ev.size;
            break;
        }
        case RTM_TRACE_FREE:
            if (ev.old.ptr != NULL) {
                rtm_free(heap, ev.old.ptr);
            }
            break;
        }
    }
    size_t count = 0;
    (void)rtm_heap_walk(heap, count_block, &count);
    t->blocks = malloc((count + 1u) * sizeof *t->blocks);
    if (t->blocks != NULL) {
        map_ctx_t m = {.t = t, .base = (uintptr_t)arena, .cap = count};
        t->map_total = size;
        (void)rtm_heap_walk(heap, map_block, &m);
        t->mapped = true;
        (void)snprintf(t->map_note, sizeof t->map_note,
                       "%s, %zu-byte heap, after operation %llu (line %lu), where the live bytes "
                       "first peak", rtm_strategy_name(s->id), size,
                       (unsigned long long)t->peak_op, t->peak_line);
    }
    rtm_heap_deinit(heap);
    rtm_trace_reader_fini(rd);
    free(rd);
    fclose(f);
    free(raw);
    return t->blocks == NULL ? -1 : 0;
}

int rtm_rep_trace_analyze(rtm_rep_trace_t *t, const char *path, const rtm_rep_trace_opts_t *opts)
{
    uint64_t budget_ns = opts->budget_ns;
    memset(t, 0, sizeof *t);
    t->path = path;
    t->name = opts->name != NULL ? opts->name : path;
    rtm_series_init(&t->live);
    int rc = live_pass(t);
    if (rc != 0 || t->ops == 0) {
        return rc;
    }
    rtm_replay_result_t *r = malloc(sizeof *r);
    if (r == NULL) {
        return -1;
    }
    uint64_t t0 = rtm_tool_cpu_ns();
    for (int id = 0; id < (int)RTM_STRATEGY_COUNT; id++) {
        if ((rtm_strategy_id_t)id == RTM_SYSTEM) {
            continue; /* no bounded arena: nothing to size */
        }
        rtm_rep_strategy_t *s = &t->strat[t->nstrat++];
        s->id = (rtm_strategy_id_t)id;
        size_t cap = RTM_MIN_SIZE_CAP;
        for (size_t k = 0; k + 1 < t->nstrat; k++) {
            if (t->strat[k].ran && t->strat[k].high_water <= RTM_MIN_SIZE_CAP / RTM_REP_HOPELESS) {
                size_t c = t->strat[k].high_water * RTM_REP_HOPELESS;
                cap = c < cap ? c : cap;
            }
        }
        /* The first strategy (tlsf, O(1) per operation) always runs to the
         * end: it is the baseline, as in compare. Each other one gets an
         * equal share of what is left of the budget, and at least twice the
         * first one's time (a loaded machine must not starve them all). */
        uint64_t deadline = 0;
        if (budget_ns != 0 && t->nstrat > 1u) {
            uint64_t now = rtm_tool_cpu_ns();
            uint64_t spent = now - t0;
            uint64_t left = spent < budget_ns ? budget_ns - spent : 0u;
            uint64_t strategies_left = (uint64_t)(RTM_STRATEGY_COUNT - 1u - (t->nstrat - 1u));
            uint64_t share = left / (strategies_left ? strategies_left : 1u);
            uint64_t floor = t->strat[0].run_ns * 2u;
            deadline = now + (share > floor ? share : floor) + 1u;
        }
        rc = measure(t, s, r, cap < ((size_t)1 << 20) ? (size_t)1 << 20 : cap, deadline);
        if (rc != 0) {
            free(r);
            return rc;
        }
    }
    /* checked minima while the budget lasts */
    for (size_t k = 0; k < t->nstrat; k++) {
        rtm_rep_strategy_t *s = &t->strat[k];
        if (!s->ran) {
            continue;
        }
        uint64_t now = rtm_tool_cpu_ns();
        uint64_t spent = now - t0;
        if (!opts->search) {
            s->why = "high-water mark of one replay (no checked search asked)";
            continue;
        }
        if (budget_ns != 0 && spent + s->run_ns * s->search_runs > budget_ns) {
            s->why = "high-water mark of one replay (a checked search would not fit the budget)";
            continue;
        }
        rtm_replay_opts_t o = {.strategy = s->id,
                               .deadline_ns = budget_ns != 0 ? t0 + budget_ns : 0};
        rtm_min_size_t m;
        char err[RTM_TRACE_ERR_MAX];
        if (rtm_min_size_search(path, &o, 0, &m, err, sizeof err) != 0) {
            (void)snprintf(t->err, sizeof t->err, "%s", err);
            free(r);
            return 2;
        }
        if (m.found) {
            s->checked = true;
            s->min_size = m.size;
        } else {
            s->why = m.timed_out ? "high-water mark of one replay (the checked search ran over "
                                   "the budget)"
                                 : "high-water mark of one replay (no checked minimum)";
        }
    }
    free(r);
    t->compare_ns = rtm_tool_cpu_ns() - t0;
    t->compared = true;
    bool usable[RTM_STRATEGY_COUNT], all_checked = true;
    size_t sizes[RTM_STRATEGY_COUNT];
    uint64_t medians[RTM_STRATEGY_COUNT];
    bool any = false;
    for (size_t k = 0; k < t->nstrat; k++) {
        const rtm_rep_strategy_t *s = &t->strat[k];
        any |= s->ran;
        if (s->ran && !s->checked) {
            all_checked = false;
        }
    }
    for (size_t k = 0; k < t->nstrat; k++) {
        const rtm_rep_strategy_t *s = &t->strat[k];
        usable[k] = all_checked ? s->checked : s->ran;
        sizes[k] = all_checked ? s->min_size : s->high_water;
        medians[k] = s->median_ns;
    }
    t->pick = any ? rtm_compare_pick(t->nstrat, usable, sizes, medians) : t->nstrat;
    t->pick_checked = all_checked && any;
    if (t->pick == t->nstrat) {
        (void)snprintf(t->map_note, sizeof t->map_note,
                       "no heap map: no strategy completed its measuring replay");
        return 0;
    }
    t->heap_size = rtm_rep_advised_size(sizes[t->pick]);
    return heap_map(t) < 0 ? -1 : 0;
}

void rtm_rep_trace_fini(rtm_rep_trace_t *t)
{
    free(t->blocks);
    t->blocks = NULL;
}
