/* rtmem compare: every strategy on each trace, minimum heap size, and a
 * recommendation. See docs/tools.md. */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <inttypes.h>
#include <poll.h>
#include <stdlib.h>
#include <string.h>
#include <sys/wait.h>
#include <unistd.h>

#include "commands.h"
#include "escape.h"
#include "replay.h"

#define MARGIN_NUM 5u /* heap size = minimum x 5/4 (25% margin), rounded up to 1 KiB */
#define MARGIN_DEN 4u
#define CLOSE_PERCENT 10u /* candidates: minimum size within 10% of the smallest */
#define HOPELESS_FACTOR 8u   /* a minimum above 8x the best so far is not searched */
#define BUDGET_FACTOR 5u     /* default budget: 5x the first strategy's search */
#define BUDGET_FLOOR_NS 5000000000ull
#define TIMED_RUNS 3u        /* timed runs per strategy: the median of their medians */
#define NOISE_PERCENT 100u   /* medians up to twice the fastest are a tie */

static size_t round16(size_t n)
{
    return (n + 15u) & ~(size_t)15u;
}

/* One replay at size, stopping at the first failure. 1 completes, 0 fails,
 * -1 error (err filled), -2 passed the deadline. r (optional) gets the
 * result. */
static int completes(const char *path, const rtm_replay_opts_t *base, size_t size,
                     rtm_min_size_t *out, rtm_replay_result_t *r, char *err, size_t errlen)
{
    rtm_replay_opts_t o = *base;
    o.heap_size = size;
    o.preset = NULL;
    o.timing = false;
    o.stop_on_fail = true;
    rtm_replay_result_t *own = NULL;
    if (r == NULL) {
        own = malloc(sizeof *own);
        if (own == NULL) {
            (void)snprintf(err, errlen, "out of memory");
            return -1;
        }
        r = own;
    }
    out->runs++;
    int rc = rtm_replay_run(path, &o, r, err, errlen);
    bool ok = r->completed;
    bool refused = r->init_refused;
    bool late = r->timed_out;
    free(own);
    if (rc != 0 && refused) {
        /* Some sizes above rtm_heap_min_size are refused by the strategy's
         * init (TLSF, a few sizes above its minimum): the trace cannot run
         * there, which counts as not completing. */
        return 0;
    }
    if (rc != 0) {
        return -1;
    }
    if (late) {
        out->timed_out = true;
        return -2;
    }
    return ok ? 1 : 0;
}

#define MEASURE_FIRST ((size_t)1 << 20)

int rtm_min_size_search(const char *path, const rtm_replay_opts_t *o, size_t cap,
                        rtm_min_size_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (o->strategy == RTM_SYSTEM) {
        return 0; /* no bounded arena: n/a */
    }
    cap = cap == 0 || cap > RTM_MIN_SIZE_CAP ? RTM_MIN_SIZE_CAP : cap & ~(size_t)15u;
    out->cap = cap;
    rtm_heap_config_t cfg = {.strategy = rtm_strategy_by_id(o->strategy), .alignment = o->align};
    size_t lo0 = round16(rtm_heap_min_size(&cfg));
    if (cap < lo0) {
        cap = lo0;
    }
    rtm_replay_result_t *r = malloc(sizeof *r);
    if (r == NULL) {
        (void)snprintf(err, errlen, "out of memory");
        return 2;
    }
    int status = 0;
    /* Measuring run: the smallest of 1 MiB, 4 MiB, ... cap that completes. */
    size_t measured = MEASURE_FIRST < lo0 ? lo0 : MEASURE_FIRST;
    int c;
    for (;;) {
        if (measured > cap) {
            measured = cap;
        }
        c = completes(path, o, measured, out, r, err, errlen);
        if (c != 0 || measured == cap) {
            break;
        }
        measured = measured > cap / 4u ? cap : measured * 4u;
    }
    if (c == -1) {
        status = 2;
        goto done;
    }
    if (c == -2) {
        goto done;
    }
    if (c == 0) {
        out->over_cap = true;
        goto done;
    }
    out->high_water = (size_t)r->peak_footprint;
    /* lo: a size known to fail (run, or below the peak live bytes, which
     * no heap that small can hold); hi: a size known to complete. */
    size_t hi = measured;
    size_t lo = (size_t)(r->peak_live / 16u * 16u);
    bool lo_run = false;
    if (lo < lo0) {
        c = completes(path, o, lo0, out, NULL, err, errlen);
        if (c < 0) {
            status = c == -1 ? 2 : 0;
            goto done;
        }
        if (c == 1) {
            hi = lo0; /* below lo0 rtm_heap_init refuses: 16 less fails */
            lo = lo0 - 16u;
            goto found;
        }
        lo = lo0;
        lo_run = true;
    }
    /* The high-water mark as the first upper bound, grown by a quarter of
     * the gap until it completes (or reaches the measured size). */
    size_t guess = round16(out->high_water);
    while (guess > lo && guess < hi) {
        c = completes(path, o, guess, out, NULL, err, errlen);
        if (c < 0) {
            status = c == -1 ? 2 : 0;
            goto done;
        }
        if (c == 1) {
            hi = guess;
            break;
        }
        lo = guess;
        lo_run = true;
        size_t step = round16((hi - guess) / 4u);
        guess += step < 16u ? 16u : step;
    }
    /* Bisection on multiples of 16: lo fails, hi completes. */
    while (hi - lo > 16u) {
        size_t mid = lo + ((hi - lo) / 32u) * 16u;
        c = completes(path, o, mid, out, NULL, err, errlen);
        if (c < 0) {
            status = c == -1 ? 2 : 0;
            goto done;
        }
        if (c == 1) {
            hi = mid;
        } else {
            lo = mid;
            lo_run = true;
        }
    }
    /* Failure is not monotonic in the size (fragmentation, TLSF's control
     * block growing at powers of two): a short scan below hi - 16; a size
     * that completes becomes the answer and restarts the scan below it. */
    {
        size_t s = hi >= lo0 + 32u ? hi - 32u : 0;
        unsigned steps = 0;
        unsigned total = 0;
        while (s >= lo0 && s != 0 && steps < RTM_MIN_SIZE_SCAN && total < RTM_MIN_SIZE_SCAN_MAX) {
            c = completes(path, o, s, out, NULL, err, errlen);
            if (c < 0) {
                status = c == -1 ? 2 : 0;
                goto done;
            }
            total++;
            if (c == 1) {
                hi = s;
                out->non_monotonic++;
                steps = 0;
                lo_run = false; /* hi - 16 is now unknown */
            } else {
                steps++;
                if (s == hi - 16u) {
                    lo_run = true;
                }
            }
            s -= 16u;
        }
        lo = hi - 16u;
    }
found:
    out->size = hi;
    out->size_completes = true; /* hi was replayed and completed */
    if (hi < lo0 + 16u) {
        out->below_fails = true; /* below the heap's minimum: rtm_heap_init refuses it */
    } else if (lo_run && lo == hi - 16u) {
        out->below_fails = true;
    } else {
        c = completes(path, o, hi - 16u, out, NULL, err, errlen);
        if (c < 0) {
            status = c == -1 ? 2 : 0;
            goto done;
        }
        out->below_fails = c == 0;
    }
    out->found = out->size_completes && out->below_fails;
done:
    free(r);
    return status;
}

/* ------------------------------------------------------------------ */
/* rtmem compare                                                       */

size_t rtm_compare_pick(size_t n, const bool *usable, const size_t *min_size,
                        const uint64_t *median_ns)
{
    size_t least = SIZE_MAX;
    for (size_t k = 0; k < n; k++) {
        if (usable[k] && min_size[k] < least) {
            least = min_size[k];
        }
    }
    if (least == SIZE_MAX) {
        return n;
    }
    /* Candidates: minimum within CLOSE_PERCENT of the smallest. */
    uint64_t fastest = UINT64_MAX;
    for (size_t k = 0; k < n; k++) {
        if (usable[k] && min_size[k] - least <= least / 100u * CLOSE_PERCENT &&
            median_ns[k] < fastest) {
            fastest = median_ns[k];
        }
    }
    /* Within NOISE_PERCENT of the fastest is a tie (host timing noise):
     * the smallest minimum wins it, then the list order. */
    uint64_t limit = fastest + fastest * NOISE_PERCENT / 100u; /* medians are small numbers */
    size_t pick = n;
    for (size_t k = 0; k < n; k++) {
        if (!usable[k] || min_size[k] - least > least / 100u * CLOSE_PERCENT ||
            median_ns[k] > limit) {
            continue;
        }
        if (pick == n || min_size[k] < min_size[pick]) {
            pick = k;
        }
    }
    return pick;
}

static const char compare_usage[] =
    "usage: rtmem compare TRACE... [--strategy S] [--size BYTES] [--align N] [--budget SECONDS]\n"
    "                              [--jobs N] [--lenient] [--json] [--quiet]\n"
    "\n"
    "Replays each TRACE with every strategy (or only --strategy S) and shows them side by\n"
    "side: the minimum heap size with which the strategy completes the trace (searched on\n"
    "multiples of 16 from the high-water mark of a measuring run, and checked: it completes\n"
    "at that size and fails 16 bytes below), that size as a ratio of the peak live bytes,\n"
    "and timed runs at the minimum + 25% (rounded up to 1 KiB). A strategy that needs more\n"
    "than 8x the best minimum so far is reported as hopeless ('> 8x best'), one whose search\n"
    "runs over its time budget as too slow. Ends with a recommendation: among the strategies\n"
    "whose minimum size (the largest over all traces) is within 10% of the smallest, those\n"
    "whose median time per operation is at most twice the fastest are tied (host timing\n"
    "noise), and the tie goes to the smallest heap; the heap size is its minimum + 25%,\n"
    "rounded up to 1 KiB.\n"
    "\n"
    "  --strategy S      only this strategy (tlsf, first_fit, best_fit, bump, system)\n"
    "  --size BYTES      system's budget (default 1M)\n"
    "  --align N         heap granularity, a power of two >= 4 (default 8)\n"
    "  --budget SECONDS  search time per strategy and trace (default: 5x the first\n"
    "                    strategy's search on that trace, at least 5 s; 0 = no limit)\n"
    "  --jobs N          strategies searched at once, in worker processes, after the\n"
    "                    first (default: the online CPUs, at most 8)\n"
    "  --lenient         skip and count inconsistent events\n"
    "  --json            one JSON object instead of the tables\n"
    "  --quiet, -q       no progress line (it is shown only when stderr is a terminal)\n"
    "\n"
    "Every replay re-reads the trace file (streaming; nothing is cached), so TRACE must be\n"
    "a file, not '-'.\n"
    "Exit: 0 a recommendation was made, 1 no strategy completes some trace, 2 bad usage or input.\n";


typedef enum row_status {
    ROW_FOUND,    /* a checked minimum */
    ROW_NA,       /* system: no bounded arena */
    ROW_HOPELESS, /* does not complete at HOPELESS_FACTOR x the best */
    ROW_TOO_SLOW, /* search passed its budget */
    ROW_NONE      /* no minimum below RTM_MIN_SIZE_CAP, or the check failed */
} row_status_t;

typedef struct row {
    rtm_strategy_id_t strategy;
    rtm_min_size_t min;
    row_status_t status;
    size_t run_size;
    bool ran;                 /* timed runs done */
    uint64_t median_ns;       /* median of the timed runs' medians */
    uint64_t search_ns;
    rtm_replay_result_t run;  /* the timed run with that median */
} row_t;

static const char *status_name(row_status_t s)
{
    switch (s) {
    case ROW_FOUND:
        return "ok";
    case ROW_NA:
        return "n/a";
    case ROW_HOPELESS:
        return "hopeless";
    case ROW_TOO_SLOW:
        return "too_slow";
    case ROW_NONE:
        break;
    }
    return "none";
}

static size_t recommended_size(size_t min)
{
    size_t s = min / MARGIN_DEN * MARGIN_NUM + (min % MARGIN_DEN * MARGIN_NUM + MARGIN_DEN - 1u) / MARGIN_DEN;
    return (s + 1023u) & ~(size_t)1023u;
}

static void print_table(FILE *o, const char *path, const row_t *rows, size_t n, uint64_t ops,
                        uint64_t peak_live, size_t peak_blocks, const rtm_trace_counts_t *skipped)
{
    rtm_esc_msg(o, "trace %s: %" PRIu64 " operations, peak live %" PRIu64 " bytes in %zu blocks",
                path, ops, peak_live, peak_blocks);
    fputc('\n', o);
    fprintf(o, "%-10s %10s %6s %-7s %10s %6s %10s %6s %9s %9s %9s\n", "strategy", "min size",
            "ratio", "checked", "run size", "failed", "footprint", "frag", "median", "p99.9",
            "total");
    for (size_t i = 0; i < n; i++) {
        const row_t *w = &rows[i];
        char ms[40], ratio[16], b1[24], b2[24], b3[24];
        const char *chk = "-";
        (void)snprintf(ratio, sizeof ratio, "-");
        switch (w->status) {
        case ROW_FOUND:
            (void)snprintf(ms, sizeof ms, "%zu", w->min.size);
            if (peak_live != 0) {
                (void)snprintf(ratio, sizeof ratio, "%.2f",
                               (double)w->min.size / (double)peak_live);
            }
            chk = "ok";
            break;
        case ROW_NA:
            (void)snprintf(ms, sizeof ms, "n/a");
            break;
        case ROW_HOPELESS:
            (void)snprintf(ms, sizeof ms, "> %ux best", HOPELESS_FACTOR);
            break;
        case ROW_TOO_SLOW:
            (void)snprintf(ms, sizeof ms, "too slow");
            break;
        case ROW_NONE:
            (void)snprintf(ms, sizeof ms, w->min.size != 0 ? "%zu" : "> 1 GiB", w->min.size);
            chk = w->min.size != 0 ? "FAILED" : "-";
            break;
        }
        if (!w->ran) {
            fprintf(o, "%-10s %10s %6s %-7s %10s %6s %10s %6s %9s %9s %9s\n",
                    rtm_strategy_name(w->strategy), ms, ratio, chk, "-", "-", "-", "-", "-", "-",
                    "-");
            continue;
        }
        fprintf(o, "%-10s %10s %6s %-7s %10zu %6" PRIu64 " %10" PRIu64 " %5.1f%% %9s %9s %9s\n",
                rtm_strategy_name(w->strategy), ms, ratio, chk, w->run_size, w->run.failed,
                w->run.peak_footprint, w->run.frag_at_peak * 100.0,
                rtm_tool_fmt_ns(w->median_ns, b1, sizeof b1),
                rtm_tool_fmt_ns(rtm_hist_quantile(&w->run.hist, 0.999), b2, sizeof b2),
                rtm_tool_fmt_ns(w->run.hist.total_ns, b3, sizeof b3));
    }
    for (size_t i = 0; i < n; i++) {
        const row_t *w = &rows[i];
        if (w->status == ROW_HOPELESS) {
            fprintf(o, "%s: does not complete at %zu bytes (%ux the best minimum); not searched\n",
                    rtm_strategy_name(w->strategy), w->min.cap, HOPELESS_FACTOR);
        } else if (w->status == ROW_TOO_SLOW) {
            fprintf(o, "%s: search stopped after %.1f s (its budget, see --budget)\n",
                    rtm_strategy_name(w->strategy), (double)w->search_ns / 1e9);
        }
    }
    uint64_t sk = rtm_trace_skipped(skipped);
    if (sk != 0) {
        fprintf(o, "skipped %" PRIu64 " inconsistent events (--lenient)\n", sk);
    }
    fputc('\n', o);
}

static void row_json(rtm_json_t *j, const char *path, const row_t *w, uint64_t peak_live)
{
    rtm_json_begin_object(j);
    rtm_json_kv_str(j, "strategy", rtm_strategy_name(w->strategy));
    rtm_json_kv_str(j, "status", status_name(w->status));
    if (w->status == ROW_FOUND) {
        rtm_json_kv_u64(j, "min_size", w->min.size);
        if (peak_live != 0) {
            rtm_json_kv_double(j, "min_size_ratio", (double)w->min.size / (double)peak_live, 4);
        } else {
            rtm_json_kv_null(j, "min_size_ratio");
        }
        rtm_json_kv_bool(j, "min_size_completes", w->min.size_completes);
        rtm_json_kv_bool(j, "below_fails", w->min.below_fails);
    } else {
        rtm_json_kv_null(j, "min_size");
        rtm_json_kv_null(j, "min_size_ratio");
        rtm_json_kv_null(j, "min_size_completes");
        rtm_json_kv_null(j, "below_fails");
    }
    rtm_json_kv_u64(j, "search_runs", w->min.runs);
    rtm_json_kv_u64(j, "non_monotonic", w->min.non_monotonic);
    rtm_json_kv_u64(j, "high_water", w->min.high_water);
    rtm_json_kv_u64(j, "cap", w->min.cap);
    rtm_json_kv_u64(j, "search_ms", w->search_ns / 1000000u);
    if (w->ran) {
        rtm_json_kv_u64(j, "median_ns", w->median_ns);
        rtm_json_kv_u64(j, "run_size", w->run_size);
        rtm_json_key(j, "run");
        rtm_json_begin_object(j);
        rtm_replay_json_fields(j, path, NULL, &w->run);
        rtm_json_end_object(j);
    } else {
        rtm_json_kv_null(j, "median_ns");
        rtm_json_kv_null(j, "run_size");
        rtm_json_kv_null(j, "run");
    }
    rtm_json_end_object(j);
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return x < y ? -1 : x > y;
}

/* TIMED_RUNS timed runs at w->run_size; w->run keeps the one whose median
 * is the median of the medians. 0, or 2 with err filled. */
static int timed_runs(const char *path, const rtm_replay_opts_t *base, row_t *w,
                      rtm_replay_result_t *scratch, char *err, size_t errlen)
{
    uint64_t med[TIMED_RUNS];
    rtm_replay_opts_t o = *base;
    o.heap_size = w->run_size;
    o.timing = true;
    o.deadline_ns = 0;
    for (unsigned i = 0; i < TIMED_RUNS; i++) {
        if (rtm_replay_run(path, &o, scratch, err, errlen) != 0) {
            return 2;
        }
        med[i] = rtm_hist_quantile(&scratch->hist, 0.5);
        if (i == 0) {
            w->run = *scratch;
        }
    }
    uint64_t sorted[TIMED_RUNS];
    memcpy(sorted, med, sizeof sorted);
    qsort(sorted, TIMED_RUNS, sizeof sorted[0], cmp_u64);
    w->median_ns = sorted[TIMED_RUNS / 2u];
    w->ran = true;
    return 0;
}

/* One trace's shared inputs for the rows. */
typedef struct trace_ctx {
    const char *path;
    const rtm_tool_cli_t *cli;
    rtm_progress_t *progress; /* NULL in a worker process */
    double stage0, stages;
    size_t best;              /* smallest checked minimum so far (0: none) */
    uint64_t fastest_search;  /* its search time */
} trace_ctx_t;

/* The search and timed runs of one strategy on one trace. 0, or 2 with
 * err filled. */
static int measure_row(const trace_ctx_t *t, row_t *w, size_t index, rtm_replay_result_t *scratch,
                       char *err, size_t errlen)
{
    const rtm_tool_cli_t *c = t->cli;
    double stage = t->stage0 + (double)index;
    rtm_replay_opts_t o = {
        .strategy = w->strategy,
        .heap_size = c->size,
        .align = c->align,
        .lenient = c->lenient,
        .progress = t->progress,
        /* about 20 runs of a search, then the timed runs */
        .progress_base = stage / t->stages,
        .progress_span = 1.0 / t->stages / 24.0,
    };
    if (t->progress != NULL) {
        rtm_progress_update(t->progress, o.progress_base);
    }
    uint64_t t0 = rtm_tool_now_ns();
    if (c->budget_set) {
        o.deadline_ns = c->budget_ns == 0 ? 0 : t0 + c->budget_ns;
    } else if (t->fastest_search != 0) {
        uint64_t b = t->fastest_search * BUDGET_FACTOR;
        o.deadline_ns = t0 + (b < BUDGET_FLOOR_NS ? BUDGET_FLOOR_NS : b);
    }
    size_t cap = t->best != 0 && t->best <= RTM_MIN_SIZE_CAP / HOPELESS_FACTOR
                     ? t->best * HOPELESS_FACTOR
                     : 0;
    if (rtm_min_size_search(t->path, &o, cap, &w->min, err, errlen) != 0) {
        return 2;
    }
    w->search_ns = rtm_tool_now_ns() - t0;
    if (w->strategy == RTM_SYSTEM) {
        w->status = ROW_NA;
        w->run_size = c->size;
    } else if (w->min.found) {
        w->status = ROW_FOUND;
        w->run_size = recommended_size(w->min.size);
    } else {
        w->status = w->min.timed_out                ? ROW_TOO_SLOW
                    : w->min.over_cap && cap != 0   ? ROW_HOPELESS
                                                    : ROW_NONE;
    }
    if (w->status != ROW_FOUND && w->status != ROW_NA) {
        return 0;
    }
    o.progress_base = (stage + 20.0 / 24.0) / t->stages;
    if (timed_runs(t->path, &o, w, scratch, err, errlen) != 0) {
        if (w->strategy == RTM_SYSTEM) {
            return 0; /* not compiled in (RTMEM_WITH_SYSTEM off): an empty row */
        }
        return 2;
    }
    return 0;
}

/* What a worker process sends back: its row, or an error. */
typedef struct worker_msg {
    int status;
    char err[RTM_TRACE_ERR_MAX];
    row_t row;
} worker_msg_t;

static bool write_all(int fd, const void *buf, size_t len)
{
    const char *p = buf;
    while (len > 0) {
        ssize_t n = write(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

static bool read_all(int fd, void *buf, size_t len)
{
    char *p = buf;
    while (len > 0) {
        ssize_t n = read(fd, p, len);
        if (n < 0 && errno == EINTR) {
            continue;
        }
        if (n <= 0) {
            return false;
        }
        p += n;
        len -= (size_t)n;
    }
    return true;
}

typedef struct worker {
    pid_t pid;
    int fd;
    size_t row;
} worker_t;

/* Collects one worker's row (or error) and reaps it. */
static int collect(worker_t *wk, row_t *rows, worker_msg_t *msg, char *err, size_t errlen)
{
    bool ok = read_all(wk->fd, msg, sizeof *msg);
    close(wk->fd);
    int st = 0;
    while (waitpid(wk->pid, &st, 0) < 0 && errno == EINTR) {
    }
    if (!ok) {
        (void)snprintf(err, errlen, "rtmem compare: a worker process failed");
        return 2;
    }
    if (msg->status != 0) {
        (void)snprintf(err, errlen, "%s", msg->err);
        return 2;
    }
    /* Pointers in the row point to string literals of this same program. */
    rows[wk->row] = msg->row;
    return 0;
}

/* The rows after the first, up to jobs at a time in worker processes
 * (jobs <= 1: in this process). */
static int measure_rest(trace_ctx_t *t, row_t *rows, size_t n, unsigned jobs,
                        rtm_replay_result_t *scratch, char *err, size_t errlen)
{
    if (jobs <= 1u) {
        for (size_t k = 0; k < n; k++) {
            if (measure_row(t, &rows[k], k + 1u, scratch, err, errlen) != 0) {
                return 2;
            }
        }
        return 0;
    }
    worker_msg_t *msg = malloc(sizeof *msg);
    worker_t pool[RTM_STRATEGY_COUNT];
    if (msg == NULL) {
        (void)snprintf(err, errlen, "out of memory");
        return 2;
    }
    size_t running = 0;
    size_t next = 0;
    size_t done = 0;
    int status = 0;
    fflush(NULL);
    while (done < n) {
        while (status == 0 && next < n && running < jobs) {
            int fds[2];
            if (pipe(fds) != 0) {
                (void)snprintf(err, errlen, "rtmem compare: pipe: %s", strerror(errno));
                status = 2;
                break;
            }
            pid_t pid = fork();
            if (pid < 0) {
                close(fds[0]);
                close(fds[1]);
                (void)snprintf(err, errlen, "rtmem compare: fork: %s", strerror(errno));
                status = 2;
                break;
            }
            if (pid == 0) {
                close(fds[0]);
                trace_ctx_t own = *t;
                own.progress = NULL; /* the parent draws the line */
                memset(msg, 0, sizeof *msg);
                msg->row = rows[next];
                msg->status = measure_row(&own, &msg->row, next + 1u, scratch, msg->err,
                                          sizeof msg->err);
                _exit(write_all(fds[1], msg, sizeof *msg) ? 0 : 1);
            }
            close(fds[1]);
            pool[running++] = (worker_t){.pid = pid, .fd = fds[0], .row = next};
            next++;
        }
        if (running == 0) {
            break;
        }
        /* Wait for whichever worker finishes first. */
        struct pollfd pfd[RTM_STRATEGY_COUNT];
        for (size_t i = 0; i < running; i++) {
            pfd[i] = (struct pollfd){.fd = pool[i].fd, .events = POLLIN};
        }
        int pr = poll(pfd, (nfds_t)running, 200);
        if (pr < 0 && errno != EINTR) {
            (void)snprintf(err, errlen, "rtmem compare: poll: %s", strerror(errno));
            status = 2;
            pr = 0;
        }
        for (size_t i = 0; i < running && pr > 0; i++) {
            if (pfd[i].revents == 0) {
                continue;
            }
            if (collect(&pool[i], rows, msg, err, errlen) != 0 && status == 0) {
                status = 2;
            }
            pool[i] = pool[running - 1u];
            pfd[i] = pfd[running - 1u];
            running--;
            done++;
            i--;
            pr--;
        }
        if (t->progress != NULL) {
            double share = (double)(1u + done) / (double)(1u + n);
            rtm_progress_update(t->progress, (t->stage0 + share * (double)(1u + n)) / t->stages);
        }
        if (status != 0 && running == 0) {
            break;
        }
    }
    free(msg);
    return status;
}

int rtm_cmd_compare(int argc, char **argv)
{
    rtm_tool_cli_t c;
    int rc = rtm_tool_parse_cli("compare", argc, argv, &c, true);
    if (rc == 3) {
        fputs(compare_usage, stdout);
        return 0;
    }
    if (rc != 0) {
        return rc;
    }
    if (c.preset != NULL) {
        rtm_esc_msg(stderr, "rtmem compare: --regions is not supported (the preset fixes the sizes; "
                        "use rtmem replay --regions)");
        return 2;
    }
    for (size_t i = 0; i < c.nfiles; i++) {
        if (strcmp(c.files[i], "-") == 0) {
            rtm_esc_msg(stderr, "rtmem compare: a trace must be a file (it is read many times)");
            return 2;
        }
    }
    rtm_strategy_id_t list[RTM_STRATEGY_COUNT];
    size_t nstrat = 0;
    if (c.strategy_set) {
        list[nstrat++] = c.strategy;
    } else {
        for (int s = 0; s < (int)RTM_STRATEGY_COUNT; s++) {
            list[nstrat++] = (rtm_strategy_id_t)s;
        }
    }
    /* Aggregates over traces per strategy for the recommendation. */
    size_t worst_min[RTM_STRATEGY_COUNT] = {0};
    bool all_found[RTM_STRATEGY_COUNT];
    uint64_t worst_median[RTM_STRATEGY_COUNT] = {0};
    for (size_t k = 0; k < nstrat; k++) {
        all_found[k] = list[k] != RTM_SYSTEM;
    }
    row_t *rows = calloc(nstrat, sizeof *rows);
    rtm_replay_result_t *scratch = malloc(sizeof *scratch);
    if (rows == NULL || scratch == NULL) {
        free(rows);
        free(scratch);
        rtm_esc_msg(stderr, "rtmem compare: out of memory");
        return 2;
    }
    rtm_progress_t prog;
    rtm_progress_init(&prog, stderr, "rtmem compare", c.quiet);
    double stages = (double)c.nfiles * (double)nstrat;
    char err[RTM_TRACE_ERR_MAX];
    rtm_json_t j;
    if (c.json) {
        rtm_json_begin_doc(&j, stdout, "compare");
        rtm_json_key(&j, "traces");
        rtm_json_begin_array(&j);
    }
    int status = 0;
    for (size_t f = 0; f < c.nfiles && status == 0; f++) {
        trace_ctx_t t = {.path = c.files[f], .cli = &c, .progress = &prog,
                         .stage0 = (double)(f * nstrat), .stages = stages};
        for (size_t k = 0; k < nstrat; k++) {
            memset(&rows[k], 0, sizeof rows[k]);
            rows[k].strategy = list[k];
        }
        /* The first strategy alone: its minimum is the cap's base and its
         * search time the budget's; the others in parallel after it. */
        if (measure_row(&t, &rows[0], 0, scratch, err, sizeof err) != 0) {
            status = 2;
        } else {
            if (rows[0].status == ROW_FOUND) {
                t.best = rows[0].min.size;
                t.fastest_search = rows[0].search_ns;
            }
            status = measure_rest(&t, rows + 1, nstrat - 1u, c.jobs, scratch, err, sizeof err);
        }
        if (status != 0) {
            rtm_progress_done(&prog);
            rtm_esc_line(stderr, err);
            break;
        }
        uint64_t ops = 0, peak_live = 0;
        size_t peak_blocks = 0;
        rtm_trace_counts_t skipped = {0};
        for (size_t k = 0; k < nstrat; k++) {
            row_t *w = &rows[k];
            if (w->status == ROW_FOUND && w->min.size > worst_min[k]) {
                worst_min[k] = w->min.size;
            }
            if (w->status != ROW_FOUND) {
                all_found[k] = false;
            }
            if (w->ran) {
                if (w->median_ns > worst_median[k]) {
                    worst_median[k] = w->median_ns;
                }
                ops = w->run.ops;
                peak_live = w->run.peak_live;
                peak_blocks = w->run.peak_live_blocks;
                skipped = w->run.skipped;
            }
        }
        rtm_progress_done(&prog);
        if (status != 0) {
            break;
        }
        if (c.json) {
            rtm_json_begin_object(&j);
            rtm_json_kv_str(&j, "trace", c.files[f]);
            rtm_json_kv_u64(&j, "ops", ops);
            rtm_json_kv_u64(&j, "peak_live_bytes", peak_live);
            rtm_json_key(&j, "strategies");
            rtm_json_begin_array(&j);
            for (size_t k = 0; k < nstrat; k++) {
                row_json(&j, c.files[f], &rows[k], peak_live);
            }
            rtm_json_end_array(&j);
            rtm_json_end_object(&j);
        } else {
            print_table(stdout, c.files[f], rows, nstrat, ops, peak_live, peak_blocks, &skipped);
        }
    }
    free(rows);
    free(scratch);
    if (status != 0) {
        if (c.json) { /* still a whole object: the traces done, no recommendation */
            rtm_json_end_array(&j);
            rtm_json_kv_null(&j, "recommendation");
            (void)rtm_json_end_doc(&j);
        }
        return status;
    }
    size_t best = rtm_compare_pick(nstrat, all_found, worst_min, worst_median);
    if (c.json) {
        rtm_json_end_array(&j);
        rtm_json_key(&j, "recommendation");
        if (best == nstrat) {
            rtm_json_null(&j);
        } else {
            char rule[200];
            (void)snprintf(rule, sizeof rule,
                           "among strategies whose minimum size is within %u%% of the smallest, "
                           "medians within %u%% of the fastest tie; the smallest heap wins the tie",
                           CLOSE_PERCENT, NOISE_PERCENT);
            rtm_json_begin_object(&j);
            rtm_json_kv_str(&j, "strategy", rtm_strategy_name(list[best]));
            rtm_json_kv_u64(&j, "heap_size", recommended_size(worst_min[best]));
            rtm_json_kv_u64(&j, "min_size", worst_min[best]);
            rtm_json_kv_double(&j, "margin", 0.25, 2);
            rtm_json_kv_str(&j, "rule", rule);
            rtm_json_end_object(&j);
        }
        (void)rtm_json_end_doc(&j);
    } else if (best == nstrat) {
        printf("recommendation: none (no strategy completes every trace)\n");
    } else {
        size_t hs = recommended_size(worst_min[best]);
        printf("recommendation: %s with a %zu-byte heap (%.1f KiB): its minimum %zu bytes%s "
               "+ 25%% margin, rounded up to 1 KiB (of the strategies needing at most %u%% more "
               "than the smallest minimum, the smallest heap among those with a median time "
               "within %u%% of the fastest)\n",
               rtm_strategy_name(list[best]), hs, (double)hs / 1024.0, worst_min[best],
               c.nfiles > 1 ? " (largest over the traces)" : "", CLOSE_PERCENT, NOISE_PERCENT);
    }
    return best == nstrat ? 1 : 0;
}
