/* rtmem compare: every strategy on each trace, minimum heap size, and a
 * recommendation. See docs/tools.md. */
#define _POSIX_C_SOURCE 200809L
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "commands.h"
#include "escape.h"
#include "replay.h"

#define MARGIN_NUM 5u /* heap size = minimum x 5/4 (25% margin), rounded up to 1 KiB */
#define MARGIN_DEN 4u
#define CLOSE_PERCENT 10u /* candidates: minimum size within 10% of the smallest */

static size_t round16(size_t n)
{
    return (n + 15u) & ~(size_t)15u;
}

/* 1 completes, 0 fails, -1 error (err filled). */
static int completes(const char *path, const rtm_replay_opts_t *base, size_t size,
                     rtm_min_size_t *out, char *err, size_t errlen)
{
    rtm_replay_opts_t o = *base;
    o.heap_size = size;
    o.preset = NULL;
    o.timing = false;
    o.stop_on_fail = true;
    rtm_replay_result_t *r = malloc(sizeof *r);
    if (r == NULL) {
        (void)snprintf(err, errlen, "out of memory");
        return -1;
    }
    out->runs++;
    int rc = rtm_replay_run(path, &o, r, err, errlen);
    bool ok = r->completed;
    bool refused = r->init_refused;
    free(r);
    if (rc != 0 && refused) {
        /* Some sizes above rtm_heap_min_size are refused by the strategy's
         * init (TLSF, a few sizes above its minimum): the trace cannot run
         * there, which counts as not completing. */
        return 0;
    }
    if (rc != 0) {
        return -1;
    }
    return ok ? 1 : 0;
}

int rtm_min_size_search(const char *path, const rtm_replay_opts_t *o, size_t hint,
                        rtm_min_size_t *out, char *err, size_t errlen)
{
    memset(out, 0, sizeof *out);
    if (o->strategy == RTM_SYSTEM) {
        return 0; /* no bounded arena: n/a */
    }
    rtm_heap_config_t cfg = {.strategy = rtm_strategy_by_id(o->strategy), .alignment = o->align};
    size_t lo0 = round16(rtm_heap_min_size(&cfg));
    int c = completes(path, o, lo0, out, err, errlen);
    if (c < 0) {
        return 2;
    }
    size_t hi = lo0;
    if (c == 0) {
        /* Find a size that completes: from the hint, doubling. */
        size_t lo = lo0;
        hi = round16(hint > lo0 ? hint : lo0 * 2u);
        for (;;) {
            c = completes(path, o, hi, out, err, errlen);
            if (c < 0) {
                return 2;
            }
            if (c == 1) {
                break;
            }
            lo = hi;
            if (hi >= RTM_MIN_SIZE_CAP) {
                return 0; /* not found below the cap */
            }
            hi = hi * 2u > RTM_MIN_SIZE_CAP ? RTM_MIN_SIZE_CAP : hi * 2u;
        }
        /* Bisection on multiples of 16: lo fails, hi completes. */
        while (hi - lo > 16u) {
            size_t mid = lo + ((hi - lo) / 32u) * 16u;
            c = completes(path, o, mid, out, err, errlen);
            if (c < 0) {
                return 2;
            }
            if (c == 1) {
                hi = mid;
            } else {
                lo = mid;
            }
        }
        /* Failure is not monotonic in the size (fragmentation, TLSF's
         * control block growing at powers of two): scan RTM_MIN_SIZE_SCAN
         * steps below hi - 16 (which fails); every smaller size that
         * completes becomes the answer and restarts the scan below it. */
        size_t s = hi >= lo0 + 32u ? hi - 32u : 0;
        unsigned steps = 0;
        while (s >= lo0 && s != 0 && steps < RTM_MIN_SIZE_SCAN) {
            c = completes(path, o, s, out, err, errlen);
            if (c < 0) {
                return 2;
            }
            if (c == 1) {
                hi = s;
                out->non_monotonic++;
                steps = 0;
            } else {
                steps++;
            }
            s -= 16u;
        }
    }
    out->found = true;
    out->size = hi;
    c = completes(path, o, hi, out, err, errlen);
    if (c < 0) {
        return 2;
    }
    out->size_completes = c == 1;
    if (hi < lo0 + 16u) {
        out->below_fails = true; /* below the heap's minimum: rtm_heap_init refuses it */
    } else {
        c = completes(path, o, hi - 16u, out, err, errlen);
        if (c < 0) {
            return 2;
        }
        out->below_fails = c == 0;
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* rtmem compare                                                       */

static const char compare_usage[] =
    "usage: rtmem compare TRACE... [--strategy S] [--size BYTES] [--align N] [--lenient] [--json]\n"
    "\n"
    "Replays each TRACE with every strategy (or only --strategy S) and shows them side by\n"
    "side: the minimum heap size with which the strategy completes the trace (searched on\n"
    "multiples of 16 and checked: it completes at that size and fails 16 bytes below), that\n"
    "size as a ratio of the peak live bytes, and a timed run at the minimum + 25% (rounded\n"
    "up to 1 KiB). Ends with a recommendation: among the strategies whose minimum size (the\n"
    "largest over all traces) is within 10% of the smallest, the one with the lowest median\n"
    "time per operation, and a heap size of its minimum + 25%, rounded up to 1 KiB.\n"
    "\n"
    "  --strategy S   only this strategy (tlsf, first_fit, best_fit, bump, system)\n"
    "  --size BYTES   heap of the timed run when no minimum is found, and system's budget\n"
    "                 (default 1M)\n"
    "  --align N      heap granularity, a power of two >= 4 (default 8)\n"
    "  --lenient      skip and count inconsistent events\n"
    "  --json         one JSON object instead of the tables\n"
    "\n"
    "Every replay re-reads the trace file (streaming; nothing is cached), so TRACE must be\n"
    "a file, not '-'.\n"
    "Exit: 0 a recommendation was made, 1 no strategy completes some trace, 2 bad usage or input.\n";

typedef struct row {
    rtm_strategy_id_t strategy;
    rtm_min_size_t min;
    size_t run_size;
    rtm_replay_result_t run;
} row_t;

static size_t recommended_size(size_t min)
{
    size_t s = min / MARGIN_DEN * MARGIN_NUM + (min % MARGIN_DEN * MARGIN_NUM + MARGIN_DEN - 1u) / MARGIN_DEN;
    return (s + 1023u) & ~(size_t)1023u;
}

static void print_table(FILE *o, const char *path, const row_t *rows, size_t n)
{
    const rtm_replay_result_t *any = &rows[0].run;
    rtm_esc_msg(o, "trace %s: %" PRIu64 " operations, peak live %" PRIu64 " bytes in %zu blocks",
                path, any->ops, any->peak_live, any->peak_live_blocks);
    fputc('\n', o);
    fprintf(o, "%-10s %10s %6s %-7s %10s %6s %10s %6s %9s %9s %9s\n", "strategy", "min size",
            "ratio", "checked", "run size", "failed", "footprint", "frag", "median", "p99.9",
            "total");
    for (size_t i = 0; i < n; i++) {
        const row_t *w = &rows[i];
        char ms[24], ratio[16], b1[24], b2[24], b3[24];
        const char *chk = "-";
        if (w->min.found) {
            (void)snprintf(ms, sizeof ms, "%zu", w->min.size);
            if (w->run.peak_live != 0) {
                (void)snprintf(ratio, sizeof ratio, "%.2f",
                               (double)w->min.size / (double)w->run.peak_live);
            } else {
                (void)snprintf(ratio, sizeof ratio, "-");
            }
            chk = w->min.size_completes && w->min.below_fails ? "ok" : "FAILED";
        } else {
            (void)snprintf(ms, sizeof ms, w->strategy == RTM_SYSTEM ? "n/a" : "> 1 GiB");
            (void)snprintf(ratio, sizeof ratio, "-");
        }
        fprintf(o, "%-10s %10s %6s %-7s %10zu %6" PRIu64 " %10" PRIu64 " %5.1f%% %9s %9s %9s\n",
                w->run.strategy, ms, ratio, chk, w->run_size, w->run.failed,
                w->run.peak_footprint, w->run.frag_at_peak * 100.0,
                rtm_tool_fmt_ns(rtm_hist_quantile(&w->run.hist, 0.5), b1, sizeof b1),
                rtm_tool_fmt_ns(rtm_hist_quantile(&w->run.hist, 0.999), b2, sizeof b2),
                rtm_tool_fmt_ns(w->run.hist.total_ns, b3, sizeof b3));
    }
    uint64_t sk = rtm_trace_skipped(&any->skipped);
    if (sk != 0) {
        fprintf(o, "skipped %" PRIu64 " inconsistent events (--lenient)\n", sk);
    }
    fputc('\n', o);
}

static void print_row_json(FILE *o, const char *path, const row_t *w)
{
    fprintf(o, "{\"strategy\":\"%s\",\"min_size\":", rtm_strategy_name(w->strategy));
    if (w->min.found) {
        fprintf(o, "%zu,\"min_size_ratio\":", w->min.size);
        if (w->run.peak_live != 0) {
            fprintf(o, "%.4f", (double)w->min.size / (double)w->run.peak_live);
        } else {
            fprintf(o, "null");
        }
        fprintf(o, ",\"min_size_completes\":%s,\"below_fails\":%s",
                w->min.size_completes ? "true" : "false", w->min.below_fails ? "true" : "false");
    } else {
        fprintf(o, "null,\"min_size_ratio\":null,\"min_size_completes\":null,\"below_fails\":null");
    }
    fprintf(o, ",\"search_runs\":%u,\"non_monotonic\":%u,\"run_size\":%zu,\"run\":", w->min.runs,
            w->min.non_monotonic, w->run_size);
    rtm_replay_print_json(o, path, NULL, &w->run);
    fputc('}', o);
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
    bool usable_any = false;
    for (size_t k = 0; k < nstrat; k++) {
        all_found[k] = true;
    }
    row_t *rows = calloc(nstrat, sizeof *rows);
    if (rows == NULL) {
        rtm_esc_msg(stderr, "rtmem compare: out of memory");
        return 2;
    }
    char err[RTM_TRACE_ERR_MAX];
    if (c.json) {
        fprintf(stdout, "{\"traces\":[");
    }
    int status = 0;
    for (size_t f = 0; f < c.nfiles && status == 0; f++) {
        size_t hint = 0;
        for (size_t k = 0; k < nstrat; k++) {
            row_t *w = &rows[k];
            memset(w, 0, sizeof *w);
            w->strategy = list[k];
            rtm_replay_opts_t o = {
                .strategy = list[k],
                .heap_size = c.size,
                .align = c.align,
                .lenient = c.lenient,
                .timing = true,
            };
            if (rtm_min_size_search(c.files[f], &o, hint, &w->min, err, sizeof err) != 0) {
                rtm_esc_line(stderr, err);
                status = 2;
                break;
            }
            if (w->min.found) {
                hint = w->min.size;
                w->run_size = recommended_size(w->min.size);
            } else {
                w->run_size = c.size;
                if (list[k] != RTM_SYSTEM) {
                    all_found[k] = false;
                }
            }
            o.heap_size = w->run_size;
            if (rtm_replay_run(c.files[f], &o, &w->run, err, sizeof err) != 0) {
                if (list[k] == RTM_SYSTEM) {
                    /* not compiled in (RTMEM_WITH_SYSTEM off): an empty row */
                    w->run.strategy = rtm_strategy_name(list[k]);
                    continue;
                }
                rtm_esc_line(stderr, err);
                status = 2;
                break;
            }
            uint64_t med = rtm_hist_quantile(&w->run.hist, 0.5);
            if (med > worst_median[k]) {
                worst_median[k] = med;
            }
            if (w->min.found && w->min.size > worst_min[k]) {
                worst_min[k] = w->min.size;
            }
        }
        if (status != 0) {
            break;
        }
        if (c.json) {
            fprintf(stdout, "%s{\"trace\":", f == 0 ? "" : ",");
            rtm_tool_json_str(stdout, c.files[f]);
            fprintf(stdout, ",\"ops\":%" PRIu64 ",\"peak_live_bytes\":%" PRIu64 ",\"strategies\":[",
                    rows[0].run.ops, rows[0].run.peak_live);
            for (size_t k = 0; k < nstrat; k++) {
                if (k != 0) {
                    fputc(',', stdout);
                }
                print_row_json(stdout, c.files[f], &rows[k]);
            }
            fprintf(stdout, "]}");
        } else {
            print_table(stdout, c.files[f], rows, nstrat);
        }
    }
    free(rows);
    if (status != 0) {
        if (c.json) {
            fprintf(stdout, "]}\n");
        }
        return status;
    }
    /* Recommendation: candidates complete every trace below the cap. The
     * smallest worst-case minimum M wins memory; among the candidates whose
     * minimum is within 10% of M, the one with the lowest median time per
     * operation wins (host timing is noisy, memory is not: memory decides
     * first). */
    size_t least = SIZE_MAX;
    for (size_t k = 0; k < nstrat; k++) {
        if (list[k] != RTM_SYSTEM && all_found[k] && worst_min[k] < least) {
            least = worst_min[k];
            usable_any = true;
        }
    }
    size_t best = nstrat;
    for (size_t k = 0; k < nstrat && usable_any; k++) {
        if (list[k] == RTM_SYSTEM || !all_found[k] ||
            worst_min[k] - least > least / 100u * CLOSE_PERCENT) {
            continue;
        }
        if (best == nstrat || worst_median[k] < worst_median[best] ||
            (worst_median[k] == worst_median[best] && worst_min[k] < worst_min[best])) {
            best = k;
        }
    }
    if (c.json) {
        fprintf(stdout, "],\"recommendation\":");
        if (best == nstrat) {
            fprintf(stdout, "null}\n");
        } else {
            fprintf(stdout,
                    "{\"strategy\":\"%s\",\"heap_size\":%zu,\"min_size\":%zu,\"margin\":0.25,"
                    "\"rule\":\"fastest median among strategies whose minimum size is within 10%% of "
                    "the smallest\"}}\n",
                    rtm_strategy_name(list[best]), recommended_size(worst_min[best]),
                    worst_min[best]);
        }
    } else if (best == nstrat) {
        printf("recommendation: none (no strategy completes every trace below 1 GiB)\n");
    } else {
        size_t hs = recommended_size(worst_min[best]);
        printf("recommendation: %s with a %zu-byte heap (%.1f KiB): its minimum %zu bytes%s "
               "+ 25%% margin, rounded up to 1 KiB (fastest of the strategies needing at most "
               "%u%% more than the smallest minimum)\n",
               rtm_strategy_name(list[best]), hs, (double)hs / 1024.0, worst_min[best],
               c.nfiles > 1 ? " (largest over the traces)" : "", CLOSE_PERCENT);
    }
    return best == nstrat ? 1 : 0;
}
