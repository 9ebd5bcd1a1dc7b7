/* rtmem replay: a trace against a real rtmem heap. See docs/tools.md. */
#define _POSIX_C_SOURCE 200809L
#include "replay.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "escape.h"
#include "line_reader.h"
#include "sum64.h"
#include "rtmem/caps.h"
#include "rtmem/presets/esp32.h"
#include "rtmem/presets/esp32s3.h"
#include "rtmem/presets/generic.h"
#include "rtmem/presets/rp2040.h"
#include "rtmem/presets/stm32h743.h"

/* ------------------------------------------------------------------ */
/* Histogram                                                           */

static unsigned floor_log2(uint64_t v)
{
    unsigned e = 0;
    while (v > 1u) {
        v >>= 1;
        e++;
    }
    return e;
}

void rtm_hist_add(rtm_hist_t *h, uint64_t ns)
{
    size_t idx;
    if (ns < RTM_HIST_LINEAR) {
        idx = (size_t)ns;
    } else {
        unsigned e = floor_log2(ns); /* 10..63 */
        size_t sub = (size_t)((ns >> (e - 6u)) & (RTM_HIST_SUB - 1u));
        idx = RTM_HIST_LINEAR + (size_t)(e - 10u) * RTM_HIST_SUB + sub;
    }
    h->buckets[idx]++;
    h->count++;
    h->total_ns += ns;
    if (ns > h->max_ns) {
        h->max_ns = ns;
    }
}

static uint64_t bucket_low(size_t idx)
{
    if (idx < RTM_HIST_LINEAR) {
        return (uint64_t)idx;
    }
    size_t k = idx - RTM_HIST_LINEAR;
    unsigned e = 10u + (unsigned)(k / RTM_HIST_SUB);
    uint64_t sub = (uint64_t)(k % RTM_HIST_SUB);
    return (RTM_HIST_SUB + sub) << (e - 6u);
}

uint64_t rtm_hist_quantile(const rtm_hist_t *h, double q)
{
    if (h->count == 0) {
        return 0;
    }
    double r = q * (double)h->count;
    uint64_t rank = (uint64_t)r;
    if ((double)rank < r) {
        rank++;
    }
    if (rank == 0) {
        rank = 1;
    }
    uint64_t seen = 0;
    for (size_t i = 0; i < RTM_HIST_BUCKETS; i++) {
        seen += h->buckets[i];
        if (seen >= rank) {
            return bucket_low(i);
        }
    }
    return h->max_ns;
}

/* ------------------------------------------------------------------ */
/* Helpers                                                             */

bool rtm_tool_parse_strategy(const char *s, rtm_strategy_id_t *out)
{
    for (int i = 0; i < (int)RTM_STRATEGY_COUNT; i++) {
        rtm_strategy_id_t id = (rtm_strategy_id_t)i;
        if (strcmp(s, rtm_strategy_name(id)) == 0) {
            *out = id;
            return true;
        }
    }
    if (strcmp(s, "first-fit") == 0) {
        *out = RTM_FIRST_FIT;
        return true;
    }
    if (strcmp(s, "best-fit") == 0) {
        *out = RTM_BEST_FIT;
        return true;
    }
    return false;
}

const char *rtm_tool_fmt_ns(uint64_t ns, char *buf, size_t len)
{
    if (ns < 1000u) {
        (void)snprintf(buf, len, "%" PRIu64 " ns", ns);
    } else if (ns < 1000000u) {
        (void)snprintf(buf, len, "%.2f us", (double)ns / 1e3);
    } else if (ns < 1000000000u) {
        (void)snprintf(buf, len, "%.2f ms", (double)ns / 1e6);
    } else {
        (void)snprintf(buf, len, "%.2f s", (double)ns / 1e9);
    }
    return buf;
}

static uint64_t now_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

uint64_t rtm_tool_now_ns(void)
{
    return now_ns();
}

uint64_t rtm_tool_cpu_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    uint64_t ns = (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
    struct rusage ru;
    if (getrusage(RUSAGE_CHILDREN, &ru) == 0) {
        ns += (uint64_t)(ru.ru_utime.tv_sec + ru.ru_stime.tv_sec) * 1000000000u +
              (uint64_t)(ru.ru_utime.tv_usec + ru.ru_stime.tv_usec) * 1000u;
    }
    return ns;
}

/* ------------------------------------------------------------------ */
/* The heap under test: one heap, or the active capability registry    */

typedef struct target {
    rtm_heap_t *heap; /* NULL: capability regions */
    void *arena;
    rtm_replay_result_t *res;
    rtm_fail_reason_t last_reason;
} target_t;

static void on_fail(rtm_heap_t *heap, size_t size, size_t alignment, rtm_fail_reason_t reason,
                    void *ctx)
{
    (void)heap;
    (void)size;
    (void)alignment;
    ((target_t *)ctx)->last_reason = reason;
}

static void on_misuse(rtm_heap_t *heap, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)heap;
    (void)kind;
    (void)address;
    ((target_t *)ctx)->res->refused_frees++;
}

static void on_caps_misuse(const rtm_caps_region_t *region, rtm_misuse_t kind,
                           const void *address, void *ctx)
{
    (void)region;
    (void)kind;
    (void)address;
    ((target_t *)ctx)->res->refused_frees++;
}

typedef struct preset_entry {
    const char *name;
    rtm_caps_err_t (*init)(const rtm_caps_config_t *cfg);
} preset_entry_t;

static const preset_entry_t presets[] = {
    {"esp32", rtm_preset_esp32_init},         {"esp32s3", rtm_preset_esp32s3_init},
    {"stm32h743", rtm_preset_stm32h743_init}, {"rp2040", rtm_preset_rp2040_init},
    {"generic", rtm_preset_generic_init},
};

static int target_open(target_t *t, const rtm_replay_opts_t *o, char *err, size_t errlen)
{
    rtm_replay_result_t *res = t->res;
    if (o->preset != NULL) {
        const preset_entry_t *p = NULL;
        for (size_t i = 0; i < sizeof presets / sizeof presets[0]; i++) {
            if (strcmp(presets[i].name, o->preset) == 0) {
                p = &presets[i];
            }
        }
        if (p == NULL) {
            (void)snprintf(err, errlen,
                           "unknown preset '%s' (esp32, esp32s3, stm32h743, rp2040, generic)",
                           o->preset);
            return 2;
        }
        rtm_caps_config_t cfg = {
            .flags = RTM_CAPS_NO_LOCK,
            .strategy = rtm_strategy_by_id(o->strategy),
            .alignment = o->align,
            .on_misuse = on_caps_misuse,
            .misuse_ctx = t,
        };
        rtm_caps_err_t e = p->init(&cfg);
        if (e != RTM_CAPS_OK) {
            (void)snprintf(err, errlen, "preset %s with strategy %s: %s", o->preset,
                           rtm_strategy_name(o->strategy), rtm_caps_err_str(e));
            return 2;
        }
        rtm_caps_info_t info;
        (void)rtm_caps_get_info(RTM_CAP_INVALID, &info);
        res->heap_size = info.total_bytes;
        res->granularity = o->align != 0 ? o->align : RTM_DEFAULT_ALIGN;
        return 0;
    }
    rtm_heap_config_t cfg = {
        .strategy = rtm_strategy_by_id(o->strategy),
        .alignment = o->align,
        .name = "replay",
        .flags = RTM_HEAP_NO_LOCK,
        .on_alloc_failed = on_fail,
        .on_misuse = on_misuse,
        .hook_ctx = t,
        .system_budget = o->strategy == RTM_SYSTEM ? o->heap_size : 0,
    };
    /* The region starts on a RTM_REPLAY_ARENA_ALIGN boundary: where an
     * aligned request lands depends on the arena's address modulo the
     * alignment, so a fixed boundary makes every run give the same result. */
    rtm_err_t e = rtm_heap_init_error((void *)(uintptr_t)RTM_REPLAY_ARENA_ALIGN, o->heap_size, &cfg);
    if (e != RTM_OK) {
        (void)snprintf(err, errlen, "heap of %zu bytes, strategy %s: %s (minimum %zu)",
                       o->heap_size, rtm_strategy_name(o->strategy), rtm_err_str(e),
                       rtm_heap_min_size(&cfg));
        return 2;
    }
    size_t rounded = o->heap_size + (RTM_REPLAY_ARENA_ALIGN - 1u);
    rounded = rounded < o->heap_size ? 0 : rounded - rounded % RTM_REPLAY_ARENA_ALIGN;
    t->arena = rounded != 0 ? aligned_alloc(RTM_REPLAY_ARENA_ALIGN, rounded) : NULL;
    if (t->arena == NULL) {
        (void)snprintf(err, errlen, "cannot allocate a %zu-byte arena", o->heap_size);
        return 2;
    }
    t->heap = rtm_heap_init(t->arena, o->heap_size, &cfg);
    if (t->heap == NULL) {
        free(t->arena);
        t->arena = NULL;
        res->init_refused = true;
        (void)snprintf(err, errlen, "rtm_heap_init refused a %zu-byte heap, strategy %s",
                       o->heap_size, rtm_strategy_name(o->strategy));
        return 2;
    }
    res->heap_size = o->heap_size;
    res->granularity = rtm_heap_alignment(t->heap);
    return 0;
}

static void target_close(target_t *t)
{
    if (t->heap != NULL) {
        rtm_heap_deinit(t->heap);
        free(t->arena);
        t->heap = NULL;
        t->arena = NULL;
    } else {
        rtm_caps_deinit();
    }
}

static void target_info(target_t *t, size_t *total, size_t *free_b, size_t *largest,
                        size_t *min_free)
{
    if (t->heap != NULL) {
        rtm_heap_info_t info;
        (void)rtm_heap_info(t->heap, &info);
        *total = info.total_bytes;
        *free_b = info.free_bytes;
        *largest = info.largest_free_block;
        *min_free = info.min_free_bytes;
    } else {
        rtm_caps_info_t info;
        (void)rtm_caps_get_info(RTM_CAP_INVALID, &info);
        *total = info.total_bytes;
        *free_b = info.free_bytes;
        *largest = info.largest_free_block;
        *min_free = info.min_free_bytes;
    }
}

static void *t_alloc(target_t *t, size_t size, size_t align, bool has_caps, uint64_t caps)
{
    if (t->heap != NULL) {
        return rtm_heap_alloc_ex(t->heap, size, align, NULL);
    }
    if (has_caps) {
        return align != 0 ? rtm_caps_aligned_alloc(align, size, caps) : rtm_caps_malloc(size, caps);
    }
    return align != 0 ? rtm_caps_aligned_alloc_default(align, size) : rtm_caps_malloc_default(size);
}

static void *t_realloc(target_t *t, void *ptr, size_t size, bool has_caps, uint64_t caps)
{
    if (t->heap != NULL) {
        return rtm_realloc_ex(t->heap, ptr, size, NULL);
    }
    return has_caps ? rtm_caps_realloc(ptr, size, caps) : rtm_caps_realloc_default(ptr, size);
}

static void t_free(target_t *t, void *ptr)
{
    if (t->heap != NULL) {
        rtm_free(t->heap, ptr);
    } else {
        rtm_caps_free(ptr);
    }
}

static bool t_check(target_t *t, char *problem, size_t len)
{
    if (t->heap != NULL) {
        rtm_check_report_t rep;
        if (rtm_heap_check(t->heap, &rep)) {
            return true;
        }
        (void)snprintf(problem, len, "%s", rep.problem != NULL ? rep.problem : "?");
        return false;
    }
    rtm_caps_check_report_t rep;
    if (rtm_caps_check_all(false, &rep)) {
        return true;
    }
    (void)snprintf(problem, len, "%s: %s", rtm_caps_region_name(rep.region),
                   rep.heap.problem != NULL ? rep.heap.problem : "?");
    return false;
}

static void describe(const rtm_trace_event_t *ev, char *buf, size_t len)
{
    switch (ev->kind) {
    case RTM_TRACE_ALLOC:
        (void)snprintf(buf, len, "a %s %" PRIu64, ev->id, ev->size);
        break;
    case RTM_TRACE_ALIGNED:
        (void)snprintf(buf, len, "A %s %" PRIu64 " %" PRIu64, ev->id, ev->size, ev->align);
        break;
    case RTM_TRACE_REALLOC:
        (void)snprintf(buf, len, "r %s %s %" PRIu64, ev->id, ev->newid, ev->size);
        break;
    case RTM_TRACE_FREE:
        (void)snprintf(buf, len, "f %s", ev->id);
        break;
    }
}

/* ------------------------------------------------------------------ */
/* Replay                                                              */

/* One run's state, shared by the streaming and the in-memory loops. */
typedef struct run {
    target_t t;
    const rtm_replay_opts_t *o;
    rtm_replay_result_t *res;
    rtm_sum64_t live;     /* requested bytes live, by the trace */
    size_t blocks;        /* IDs live */
    uint64_t start_ns;    /* CPU time when the run began (pace for the deadline) */
} run_t;

/* One event (the ID bookkeeping is the caller's): slot receives the new
 * block, old is what the freed or reallocated ID held. Returns 1 to go on,
 * 0 when this was the first failed allocation (the caller writes its
 * text), -1 to stop (stop_on_fail). */
static int run_event(run_t *r, rtm_trace_kind_t kind, uint64_t size64, size_t align,
                     bool has_caps, uint64_t caps, unsigned long line, rtm_trace_payload_t *slot,
                     rtm_trace_payload_t old)
{
    rtm_replay_result_t *res = r->res;
    const rtm_replay_opts_t *o = r->o;
    bool too_big = size64 > (uint64_t)SIZE_MAX;
    size_t size = too_big ? SIZE_MAX : (size_t)size64;
    void *p = NULL;
    bool failed = false;
    uint64_t t0 = 0;
    uint64_t t1 = 0;
    r->t.last_reason = (rtm_fail_reason_t)0;
    switch (kind) {
    case RTM_TRACE_ALLOC:
    case RTM_TRACE_ALIGNED:
        if (kind == RTM_TRACE_ALLOC) {
            res->allocs++;
        } else {
            res->aligned++;
        }
        if (o->timing) {
            t0 = now_ns();
        }
        p = t_alloc(&r->t, size, align, has_caps, caps);
        if (o->timing) {
            t1 = now_ns();
        }
        failed = p == NULL && size64 > 0;
        slot->ptr = p;
        slot->size = size64;
        rtm_sum64_add(&r->live, size64);
        r->blocks++;
        if (r->blocks > res->peak_live_blocks) {
            res->peak_live_blocks = r->blocks;
        }
        break;
    case RTM_TRACE_REALLOC:
        res->reallocs++;
        if (o->timing) {
            t0 = now_ns();
        }
        p = t_realloc(&r->t, old.ptr, size, has_caps, caps);
        if (o->timing) {
            t1 = now_ns();
        }
        failed = p == NULL && size64 > 0;
        /* A failed realloc leaves the old block where it was: it stays
         * under the new ID so that its free releases it. */
        slot->ptr = failed ? old.ptr : p;
        slot->size = size64;
        rtm_sum64_sub(&r->live, old.size);
        rtm_sum64_add(&r->live, size64);
        break;
    case RTM_TRACE_FREE:
        res->frees++;
        if (o->timing) {
            t0 = now_ns();
        }
        if (old.ptr != NULL) {
            t_free(&r->t, old.ptr);
        }
        if (o->timing) {
            t1 = now_ns();
        }
        rtm_sum64_sub(&r->live, old.size);
        r->blocks--;
        break;
    }
    if (o->timing) {
        rtm_hist_add(&res->hist, t1 - t0);
    }
    int go = 1;
    if (failed) {
        res->failed++;
        if (res->first_fail_line == 0) {
            res->first_fail_line = line;
            res->first_fail_reason = too_big ? rtm_fail_reason_str(RTM_FAIL_TOO_LARGE)
                                     : r->t.last_reason != 0 ? rtm_fail_reason_str(r->t.last_reason)
                                                             : "allocation failed";
            go = 0;
        }
        if (o->stop_on_fail) {
            return -1;
        }
    }
    if (rtm_sum64_get(&r->live) > res->peak_live) {
        res->peak_live = rtm_sum64_get(&r->live);
        res->peak_line = line;
        if (!o->stop_on_fail) {
            size_t total, fr, largest, minf;
            target_info(&r->t, &total, &fr, &largest, &minf);
            res->free_at_peak = fr;
            res->largest_at_peak = largest;
            res->frag_at_peak = fr == 0 ? 0.0 : 1.0 - (double)largest / (double)fr;
        }
    }
    return go;
}

/* Every 4096 events: the progress line and the deadline. share: the part
 * of the trace done (negative: unknown). true = stop (timed out): past
 * the deadline, or at this run's pace so far it would end later than
 * twice the time left before the deadline when it began (a run that takes
 * minutes is stopped in its first seconds, not at the deadline). */
static bool run_checkpoint(run_t *r, double share)
{
    const rtm_replay_opts_t *o = r->o;
    if (o->progress != NULL) {
        rtm_progress_events(o->progress, 0x1000u);
        rtm_progress_update(o->progress,
                            o->progress_base + o->progress_span * (share > 0.0 ? share : 0.0));
    }
    if (o->deadline_ns == 0) {
        return false;
    }
    uint64_t now = rtm_tool_cpu_ns();
    bool late = now > o->deadline_ns;
    if (!late && share >= 1.0 / 64.0 && o->deadline_ns > r->start_ns) {
        double spent = (double)(now - r->start_ns);
        double left_at_start = (double)(o->deadline_ns - r->start_ns);
        late = spent / share > 2.0 * left_at_start;
    }
    if (late) {
        r->res->timed_out = true;
    }
    return late;
}

static int run_begin(run_t *r, const rtm_replay_opts_t *o, rtm_replay_result_t *res, char *err,
                     size_t errlen)
{
    memset(res, 0, sizeof *res);
    memset(r, 0, sizeof *r);
    res->strategy = rtm_strategy_name(o->strategy);
    r->o = o;
    r->res = res;
    r->t.res = res;
    r->start_ns = rtm_tool_cpu_ns();
    if (o->preset != NULL && o->strategy == RTM_SYSTEM) {
        (void)snprintf(err, errlen, "--regions needs a strategy other than system");
        return 2;
    }
    return target_open(&r->t, o, err, errlen);
}

static void run_end(run_t *r, const rtm_trace_counts_t *skipped)
{
    rtm_replay_result_t *res = r->res;
    size_t total, fr, largest, minf;
    target_info(&r->t, &total, &fr, &largest, &minf);
    res->peak_footprint = total - minf;
    res->live_blocks_at_end = r->blocks;
    res->live_bytes_at_end = rtm_sum64_get(&r->live);
    res->skipped = *skipped;
    res->completed = res->failed == 0 && !res->timed_out;
    res->check_ok = t_check(&r->t, res->check_problem, sizeof res->check_problem);
}

int rtm_replay_run(const char *path, const rtm_replay_opts_t *o, rtm_replay_result_t *res,
                   char *err, size_t errlen)
{
    run_t r;
    bool is_stdin = strcmp(path, "-") == 0;
    FILE *f = is_stdin ? stdin : fopen(path, "r");
    if (f == NULL) {
        memset(res, 0, sizeof *res);
        res->strategy = rtm_strategy_name(o->strategy);
        (void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return 2;
    }
    int rc = run_begin(&r, o, res, err, errlen);
    if (rc != 0) {
        if (!is_stdin) {
            fclose(f);
        }
        return rc;
    }
    rtm_trace_reader_t *rd = malloc(sizeof *rd);
    if (rd == NULL) {
        target_close(&r.t);
        if (!is_stdin) {
            fclose(f);
        }
        (void)snprintf(err, errlen, "out of memory");
        return 2;
    }
    rtm_trace_reader_init(rd, f, path, o->lenient);
    double file_bytes = 0.0;
    struct stat st;
    if ((o->progress != NULL || o->deadline_ns != 0) && fstat(fileno(f), &st) == 0 &&
        S_ISREG(st.st_mode)) {
        file_bytes = (double)st.st_size;
    }

    rtm_trace_event_t ev;
    int n;
    while ((n = rtm_trace_next(rd, &ev)) > 0) {
        res->ops++;
        if ((res->ops & 0xfffu) == 0) {
            long pos = file_bytes > 0.0 ? ftell(f) : -1;
            if (run_checkpoint(&r, pos >= 0 ? (double)pos / file_bytes : -1.0)) {
                break;
            }
        }
        int go = run_event(&r, ev.kind, ev.size,
                           ev.kind == RTM_TRACE_ALIGNED ? (size_t)ev.align : 0, ev.has_caps,
                           ev.caps, ev.line, ev.slot != NULL ? ev.slot : &ev.old, ev.old);
        if (go <= 0 && res->first_fail_line == ev.line && res->first_fail[0] == '\0') {
            describe(&ev, res->first_fail, sizeof res->first_fail);
        }
        if (go < 0) {
            break;
        }
    }
    if (n < 0) {
        (void)snprintf(err, errlen, "%s", rd->err);
        rc = 2;
    }
    /* A line that stops the reading leaves what was replayed before it:
     * that is still a result (rtm_replay_run in replay.h). */
    if (n >= 0 || rd->lines.err_line != 0) {
        run_end(&r, &rd->counts);
    }
    if (n < 0 && rd->lines.err_line != 0) {
        res->cut_off = true;
        res->cut_line = rd->lines.err_line;
        (void)snprintf(res->cut_reason, sizeof res->cut_reason, "%s",
                       rd->err + rd->lines.err_what);
    }
    rtm_trace_reader_fini(rd);
    free(rd);
    target_close(&r.t);
    if (!is_stdin) {
        fclose(f);
    }
    return rc;
}

int rtm_replay_mem(const rtm_trace_mem_t *m, const rtm_replay_opts_t *o,
                   rtm_replay_result_t *res, char *err, size_t errlen)
{
    run_t r;
    int rc = run_begin(&r, o, res, err, errlen);
    if (rc != 0) {
        return rc;
    }
    rtm_trace_payload_t *payloads = calloc(m->slots != 0 ? m->slots : 1u, sizeof *payloads);
    if (payloads == NULL) {
        target_close(&r.t);
        (void)snprintf(err, errlen, "out of memory");
        return 2;
    }
    const uint64_t *side = m->side;
    size_t fail_index = SIZE_MAX;
    double count = (double)m->count;
    for (size_t i = 0; i < m->count; i++) {
        const rtm_mem_event_t *e = &m->events[i];
        uint64_t size = e->size;
        uint64_t caps = 0;
        if ((e->flags & RTM_MEM_BIG_SIZE) != 0) {
            size = *side++;
        }
        if ((e->flags & RTM_MEM_HAS_CAPS) != 0) {
            caps = *side++;
        }
        res->ops++;
        if ((res->ops & 0xfffu) == 0 && run_checkpoint(&r, (double)i / count)) {
            break;
        }
        rtm_trace_payload_t *slot = &payloads[e->slot];
        size_t align = e->kind == RTM_TRACE_ALIGNED ? (size_t)1 << e->align_log2 : 0;
        int go = run_event(&r, (rtm_trace_kind_t)e->kind, size, align,
                           (e->flags & RTM_MEM_HAS_CAPS) != 0, caps, e->line, slot, *slot);
        if (go == 0 || (go < 0 && fail_index == SIZE_MAX && res->first_fail_line == e->line)) {
            fail_index = i;
        }
        if (go < 0) {
            break;
        }
    }
    run_end(&r, &m->skipped);
    if (fail_index != SIZE_MAX) {
        /* IDs are not kept in memory: the failing line is read again */
        rtm_trace_event_t ev;
        if (rtm_trace_mem_reread(m, res->first_fail_line, &ev)) {
            describe(&ev, res->first_fail, sizeof res->first_fail);
        } else {
            (void)snprintf(res->first_fail, sizeof res->first_fail, "(line %lu: not re-read)",
                           res->first_fail_line);
        }
    }
    free(payloads);
    target_close(&r.t);
    return 0;
}

int rtm_replay_src(const rtm_trace_src_t *src, const rtm_replay_opts_t *o,
                   rtm_replay_result_t *res, char *err, size_t errlen)
{
    if (src->mem != NULL) {
        return rtm_replay_mem(src->mem, o, res, err, errlen);
    }
    return rtm_replay_run(src->path, o, res, err, errlen);
}

static size_t up16(size_t n)
{
    return (n + 15u) & ~(size_t)15u;
}

static int auto_size(const rtm_trace_src_t *src, const rtm_replay_opts_t *o,
                     rtm_replay_result_t *res, unsigned *runs, char *err, size_t errlen)
{
    rtm_heap_config_t cfg = {.strategy = rtm_strategy_by_id(o->strategy), .alignment = o->align};
    size_t least = up16(rtm_heap_min_size(&cfg));
    rtm_replay_opts_t probe = *o;
    /* First run at the heap's minimum, reading to the end whatever fails:
     * it gives the trace's peak live bytes. */
    probe.heap_size = least;
    probe.timing = false;
    probe.stop_on_fail = false;
    *runs = 1;
    int rc = rtm_replay_src(src, &probe, res, err, errlen);
    /* A run cut off by a bad line (rc 2) goes on: the size is then one that
     * fits the part before the line, where every run stops. */
    if ((rc != 0 && !res->cut_off) || (res->completed && !o->timing)) {
        return rc;
    }
    if (res->completed) {
        probe.timing = true; /* completes at the minimum: once more, timed */
        (*runs)++;
        return rtm_replay_src(src, &probe, res, err, errlen);
    }
    size_t size = res->peak_live > RTM_MIN_SIZE_CAP ? RTM_MIN_SIZE_CAP : up16((size_t)res->peak_live);
    if (size < least) {
        size = least;
    }
    for (;;) {
        probe.heap_size = size;
        probe.timing = o->timing;
        (*runs)++;
        rc = rtm_replay_src(src, &probe, res, err, errlen);
        if (rc != 0 && !res->init_refused && !res->cut_off) {
            return rc;
        }
        if (((rc == 0 || res->cut_off) && res->completed) || size >= RTM_MIN_SIZE_CAP) {
            return rc;
        }
        size_t next = up16(size + size / 8u);
        size = next > RTM_MIN_SIZE_CAP ? RTM_MIN_SIZE_CAP : next;
    }
}

int rtm_replay_auto_size(const char *path, const rtm_replay_opts_t *o, rtm_replay_result_t *res,
                         unsigned *runs, char *err, size_t errlen)
{
    rtm_trace_mem_t mem;
    rtm_trace_src_t src = {.path = path};
    *runs = 0;
    int rc = rtm_input_is_stream(path) ? 1 : rtm_trace_mem_load(&mem, path, o->lenient,
                                                                o->mem_limit, err, errlen);
    /* rc 2, a load refused: streamed instead, the runs give the same error
     * (and, for a bad line, the part before it). */
    if (rc == 0) {
        src.mem = &mem;
    }
    rc = auto_size(&src, o, res, runs, err, errlen);
    if (src.mem != NULL) {
        rtm_trace_mem_free(&mem);
    }
    return rc;
}

/* ------------------------------------------------------------------ */
/* rtmem replay                                                        */

static const char replay_usage[] =
    "usage: rtmem replay TRACE [--strategy S] [--size BYTES | --regions PRESET] [--align N]\n"
    "                          [--lenient] [--json] [--quiet]\n"
    "\n"
    "Runs TRACE (rtmem-trace 1, '-' = stdin) against a real rtmem heap and reports the\n"
    "operations, failed allocations (the first failing line), peak live requested bytes,\n"
    "peak heap footprint, fragmentation at the peak and time per operation.\n"
    "\n"
    "  --strategy S       tlsf (default), first_fit, best_fit, bump, system\n"
    "  --size BYTES       heap region size, e.g. 65536, 64K, 1M (default: a size that\n"
    "                     fits: the trace's peak live bytes, grown by 1/8 until the\n"
    "                     trace completes, at most 1 GiB; said on stderr; 1M for\n"
    "                     system and for '-')\n"
    "  --regions PRESET   replay on a capability preset instead: esp32, esp32s3,\n"
    "                     stm32h743, rp2040, generic (a caps=0x... field picks the caps)\n"
    "  --align N          heap granularity, a power of two, 4..1G (default 8)\n"
    "  --lenient          skip and count inconsistent events (free of an unknown ID,\n"
    "                     reuse of a live ID) instead of stopping\n"
    "  --json             one JSON object instead of the table\n"
    "  --quiet, -q        no progress line (shown only when stderr is a terminal) and no\n"
    "                     notes on stderr\n"
    "\n"
    "Exit: 0 no failed allocation, 1 some allocation failed, 2 bad usage or input. A bad\n"
    "line (FILE:LINE on stderr) stops the reading: what was replayed before it is still\n"
    "reported, headed INCOMPLETE TRACE (--json: \"complete\":false, \"cut_off_reason\"), with\n"
    "exit 2; without --size the size is one that fits the part before the line.\n";

static bool parse_strategy_value(const char *value, void *dest)
{
    return rtm_tool_parse_strategy(value, (rtm_strategy_id_t *)dest);
}

/* rtm_heap_init's bound on a granularity (a power of two up to 2^30). */
#define MAX_ALIGN ((size_t)1u << 30)

static bool parse_align_value(const char *value, void *dest)
{
    size_t a = 0;
    if (!rtm_tool_parse_size(value, &a) || a < 4u || a > MAX_ALIGN || (a & (a - 1u)) != 0) {
        return false;
    }
    *(size_t *)dest = a;
    return true;
}

/* A --size that no heap of the chosen strategy and granularity accepts is
 * refused as the option it is, now, not later as a failed run. */
static bool size_makes_heap(const char *cmd, const rtm_tool_cli_t *c)
{
    rtm_heap_config_t cfg = {
        .strategy = rtm_strategy_by_id(c->strategy),
        .alignment = c->align,
        .flags = RTM_HEAP_NO_LOCK,
        .system_budget = c->strategy == RTM_SYSTEM ? c->size : 0,
    };
    rtm_err_t e = rtm_heap_init_error((void *)(uintptr_t)RTM_REPLAY_ARENA_ALIGN, c->size, &cfg);
    if (e == RTM_OK) {
        return true;
    }
    if (e == RTM_ERR_TOO_SMALL) {
        rtm_esc_msg(stderr, "rtmem %s: --size %zu: %s (a %s heap at granularity %zu needs %zu bytes)",
                    cmd, c->size, rtm_err_str(e), rtm_strategy_name(c->strategy),
                    c->align != 0 ? c->align : (size_t)RTM_DEFAULT_ALIGN, rtm_heap_min_size(&cfg));
    } else {
        rtm_esc_msg(stderr, "rtmem %s: --size %zu: %s", cmd, c->size, rtm_err_str(e));
    }
    return false;
}

#define MAX_BUDGET_S 86400u
#define MAX_JOBS 64u

int rtm_tool_parse_cli(const char *cmd, int argc, char **argv, rtm_tool_cli_t *c, bool many)
{
    memset(c, 0, sizeof *c);
    c->size = RTM_REPLAY_DEFAULT_SIZE;
    long cpus = sysconf(_SC_NPROCESSORS_ONLN);
    c->jobs = cpus < 1 ? 1u : cpus > 8 ? 8u : (unsigned)cpus;
    uint64_t budget_s = 0;
    const rtm_cli_opt_t opts[] = {
        {.name = "strategy", .kind = RTM_CLI_CUSTOM, .dest = &c->strategy,
         .parse = parse_strategy_value, .given = &c->strategy_set,
         .expect = "one of tlsf, first_fit, best_fit, bump, system"},
        {.name = "size", .kind = RTM_CLI_SIZE, .dest = &c->size, .min = 1, .given = &c->size_set,
         .expect = "a size in bytes of at least 1 (65536, 64K, 1M, 1G)"},
        {.name = "regions", .kind = RTM_CLI_STRING, .dest = &c->preset},
        {.name = "align", .kind = RTM_CLI_CUSTOM, .dest = &c->align, .parse = parse_align_value,
         .expect = "a power of two from 4 to 1G"},
        {.name = "lenient", .kind = RTM_CLI_FLAG, .dest = &c->lenient},
        {.name = "json", .kind = RTM_CLI_FLAG, .dest = &c->json},
        {.name = "quiet", .short_name = 'q', .kind = RTM_CLI_FLAG, .dest = &c->quiet},
        /* compare only (the table is cut before these for replay) */
        {.name = "budget", .kind = RTM_CLI_U64, .dest = &budget_s, .max = MAX_BUDGET_S,
         .given = &c->budget_set, .expect = "seconds, 0..86400 (0 = no limit)"},
        {.name = "jobs", .kind = RTM_CLI_UNSIGNED, .dest = &c->jobs, .min = 1, .max = MAX_JOBS,
         .expect = "a number of processes, 1..64"},
    };
    bool is_compare = strcmp(cmd, "compare") == 0;
    rtm_cli_spec_t spec = {
        .cmd = cmd,
        .opts = opts,
        .nopts = sizeof opts / sizeof opts[0] - (is_compare ? 0u : 2u),
        .operand = "TRACE",
        .min_operands = 1,
        .max_operands = many ? RTM_CLI_OPERANDS_MAX : 1u,
    };
    rtm_cli_args_t args;
    rtm_cli_status_t st = rtm_cli_parse(&spec, argc, argv, &args);
    if (st != RTM_CLI_RUN) {
        return st == RTM_CLI_HELP ? 3 : 2;
    }
    for (size_t i = 0; i < args.noperands; i++) {
        c->files[i] = args.operands[i];
    }
    c->nfiles = args.noperands;
    c->budget_ns = budget_s * 1000000000ull;
    if (c->preset != NULL && c->size_set) {
        rtm_esc_msg(stderr, "rtmem %s: --size and --regions exclude each other", cmd);
        return 2;
    }
    if (c->size_set && !size_makes_heap(cmd, c)) {
        return 2;
    }
    return 0;
}

static void counts_json(rtm_json_t *j, const rtm_trace_counts_t *c)
{
    rtm_json_begin_object(j);
    rtm_json_kv_u64(j, "unknown_free", c->unknown_free);
    rtm_json_kv_u64(j, "unknown_realloc", c->unknown_realloc);
    rtm_json_kv_u64(j, "reused_id", c->reused_id);
    rtm_json_kv_u64(j, "truncated", c->truncated);
    rtm_json_end_object(j);
}

void rtm_replay_json_fields(rtm_json_t *j, const char *path, const char *preset,
                            const rtm_replay_result_t *r)
{
    rtm_json_kv_str(j, "trace", path);
    rtm_json_kv_str(j, "strategy", r->strategy);
    rtm_json_kv_str(j, "regions", preset);
    rtm_json_kv_u64(j, "heap_size", r->heap_size);
    rtm_json_kv_u64(j, "granularity", r->granularity);
    rtm_json_kv_u64(j, "ops", r->ops);
    rtm_json_kv_u64(j, "allocs", r->allocs);
    rtm_json_kv_u64(j, "aligned", r->aligned);
    rtm_json_kv_u64(j, "reallocs", r->reallocs);
    rtm_json_kv_u64(j, "frees", r->frees);
    rtm_json_kv_u64(j, "failed", r->failed);
    rtm_json_key(j, "first_failure");
    if (r->first_fail_line != 0) {
        rtm_json_begin_object(j);
        rtm_json_kv_u64(j, "line", r->first_fail_line);
        rtm_json_kv_str(j, "event", r->first_fail);
        rtm_json_kv_str(j, "reason", r->first_fail_reason);
        rtm_json_end_object(j);
    } else {
        rtm_json_null(j);
    }
    rtm_json_kv_u64(j, "refused_frees", r->refused_frees);
    rtm_json_kv_u64(j, "peak_live_bytes", r->peak_live);
    rtm_json_kv_u64(j, "peak_live_line", r->peak_line);
    rtm_json_kv_u64(j, "peak_live_blocks", r->peak_live_blocks);
    rtm_json_kv_u64(j, "peak_footprint", r->peak_footprint);
    rtm_json_kv_double(j, "fragmentation_at_peak", r->frag_at_peak, 4);
    rtm_json_kv_u64(j, "free_at_peak", r->free_at_peak);
    rtm_json_kv_u64(j, "largest_free_at_peak", r->largest_at_peak);
    rtm_json_kv_u64(j, "live_blocks_at_end", r->live_blocks_at_end);
    rtm_json_kv_u64(j, "live_bytes_at_end", r->live_bytes_at_end);
    rtm_json_key(j, "skipped");
    counts_json(j, &r->skipped);
    rtm_json_key(j, "time_ns");
    rtm_json_begin_object(j);
    rtm_json_kv_u64(j, "median", rtm_hist_quantile(&r->hist, 0.5));
    rtm_json_kv_u64(j, "p999", rtm_hist_quantile(&r->hist, 0.999));
    rtm_json_kv_u64(j, "max", r->hist.max_ns);
    rtm_json_kv_u64(j, "total", r->hist.total_ns);
    rtm_json_end_object(j);
    rtm_json_kv_bool(j, "heap_check", r->check_ok);
}

static void print_human(FILE *o, const char *path, const char *preset,
                        const rtm_replay_result_t *r)
{
    char b1[32], b2[32], b3[32];
    fprintf(o, "trace           ");
    rtm_esc_line(o, path);
    if (r->cut_off) {
        rtm_esc_msg(o,
                    "INCOMPLETE TRACE: reading stopped at line %lu: %s (the results below are "
                    "those of the part before it)",
                    r->cut_line, r->cut_reason);
    }
    if (preset != NULL) {
        fprintf(o, "heap            regions of preset %s (%zu bytes), strategy %s, granularity %zu\n",
                preset, r->heap_size, r->strategy, r->granularity);
    } else {
        fprintf(o, "heap            %s, %zu bytes, granularity %zu\n", r->strategy, r->heap_size,
                r->granularity);
    }
    fprintf(o,
            "operations      %" PRIu64 " (alloc %" PRIu64 ", aligned %" PRIu64 ", realloc %" PRIu64
            ", free %" PRIu64 ")\n",
            r->ops, r->allocs, r->aligned, r->reallocs, r->frees);
    if (r->failed != 0) {
        fprintf(o, "failed allocs   %" PRIu64 ", first at ", r->failed);
        rtm_esc_msg(o, "%s:%lu: %s (%s)", path, r->first_fail_line, r->first_fail,
                    r->first_fail_reason);
    } else {
        fprintf(o, "failed allocs   0\n");
    }
    if (r->refused_frees != 0) {
        fprintf(o, "refused frees   %" PRIu64 " (the strategy does not free)\n", r->refused_frees);
    }
    fprintf(o, "peak live       %" PRIu64 " bytes requested (line %lu), %zu blocks at most\n",
            r->peak_live, r->peak_line, r->peak_live_blocks);
    fprintf(o, "peak footprint  %" PRIu64 " bytes (heap size - lowest free bytes)\n",
            r->peak_footprint);
    fprintf(o, "fragmentation   %.1f%% at the peak (largest free block %zu of %zu free bytes)\n",
            r->frag_at_peak * 100.0, r->largest_at_peak, r->free_at_peak);
    fprintf(o, "time/op         median %s, p99.9 %s, total %s\n",
            rtm_tool_fmt_ns(rtm_hist_quantile(&r->hist, 0.5), b1, sizeof b1),
            rtm_tool_fmt_ns(rtm_hist_quantile(&r->hist, 0.999), b2, sizeof b2),
            rtm_tool_fmt_ns(r->hist.total_ns, b3, sizeof b3));
    fprintf(o, "live at end     %zu blocks, %" PRIu64 " bytes\n", r->live_blocks_at_end,
            r->live_bytes_at_end);
    uint64_t sk = rtm_trace_skipped(&r->skipped);
    if (sk != 0) {
        fprintf(o,
                "skipped         %" PRIu64 " (unknown free %" PRIu64 ", unknown realloc %" PRIu64
                ", reused live ID %" PRIu64 ", truncated last line %" PRIu64 ")\n",
                sk, r->skipped.unknown_free, r->skipped.unknown_realloc, r->skipped.reused_id,
                r->skipped.truncated);
    }
    fprintf(o, "heap check      %s%s\n", r->check_ok ? "ok" : "FAILED: ",
            r->check_ok ? "" : r->check_problem);
}

int rtm_cmd_replay(int argc, char **argv)
{
    rtm_tool_cli_t c;
    int rc = rtm_tool_parse_cli("replay", argc, argv, &c, false);
    if (rc == 3) {
        fputs(replay_usage, stdout);
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    rtm_progress_t prog;
    rtm_progress_init(&prog, stderr, "rtmem replay", c.quiet);
    rtm_replay_opts_t o = {
        .strategy = c.strategy,
        .heap_size = c.size,
        .align = c.align,
        .preset = c.preset,
        .lenient = c.lenient,
        .timing = true,
        .progress = &prog,
        .progress_span = 1.0,
    };
    rtm_replay_result_t *r = malloc(sizeof *r);
    if (r == NULL) {
        rtm_esc_msg(stderr, "rtmem replay: out of memory");
        return 2;
    }
    char err[RTM_TRACE_ERR_MAX];
    bool fit = !c.size_set && c.preset == NULL && c.strategy != RTM_SYSTEM &&
               !rtm_input_is_stream(c.files[0]);
    unsigned runs = 1;
    if (fit) {
        /* Runs after the first redraw the same line from 0%: the ETA is per run. */
        rc = rtm_replay_auto_size(c.files[0], &o, r, &runs, err, sizeof err);
    } else {
        rc = rtm_replay_run(c.files[0], &o, r, err, sizeof err);
    }
    rtm_progress_done(&prog);
    if (rc != 0) {
        rtm_esc_line(stderr, err);
        /* A bad line stopped the reading: the part before it is still
         * reported, marked incomplete, and the exit status stays 2. */
        if (!r->cut_off) {
            free(r);
            return rc;
        }
    }
    if (fit && !c.quiet) {
        char part[48] = "";
        if (r->cut_off) {
            (void)snprintf(part, sizeof part, "the part before line %lu", r->cut_line);
        }
        char how[128];
        if (r->completed) {
            (void)snprintf(how, sizeof how,
                           "the first of the peak, then +1/8 steps, that completes%s%s",
                           r->cut_off ? " " : "", part);
        } else {
            /* The cap is 1 GiB unless the heap's own minimum (a huge
             * --align) is larger: name what was tried. */
            (void)snprintf(how, sizeof how, "%s, where %s still fails",
                           r->heap_size > ((size_t)1u << 30) ? "the heap's minimum size"
                                                              : "the 1 GiB cap",
                           r->cut_off ? part : "it");
        }
        fprintf(stderr,
                "rtmem replay: no --size: a %zu-byte heap, %s (peak live %" PRIu64
                " bytes; %u runs)\n",
                r->heap_size, how, r->peak_live, runs);
    }
    if (c.json) {
        char reason[RTM_TRACE_ERR_MAX + 48];
        (void)snprintf(reason, sizeof reason, "reading stopped at line %lu: %s", r->cut_line,
                       r->cut_reason);
        rtm_json_t j;
        rtm_json_begin_doc(&j, stdout, "replay");
        rtm_replay_json_fields(&j, c.files[0], c.preset, r);
        rtm_json_kv_bool(&j, "complete", !r->cut_off);
        rtm_json_kv_str(&j, "cut_off_reason", r->cut_off ? reason : NULL);
        (void)rtm_json_end_doc(&j);
    } else {
        print_human(stdout, c.files[0], c.preset, r);
    }
    rc = r->cut_off ? 2 : (r->failed != 0 || !r->check_ok) ? 1 : 0;
    if (r->failed != 0 && !c.quiet) {
        rtm_esc_msg(stderr,
                    "rtmem replay: %" PRIu64 " allocations failed; `rtmem compare %s` finds the "
                    "smallest heap with which each strategy completes the trace",
                    r->failed, c.files[0]);
    }
    free(r);
    return rc;
}
