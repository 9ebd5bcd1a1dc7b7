/*
 * Replay of an rtmem-trace 1 file against a real rtmem heap, and the
 * minimum-heap-size search built on it (tool internals shared by
 * `rtmem replay`, `rtmem compare` and the tests).
 */
#ifndef RTMEM_TOOL_REPLAY_H
#define RTMEM_TOOL_REPLAY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "cli.h"
#include "json_out.h"
#include "progress.h"
#include "rtmem/heap.h"
#include "trace_mem.h"
#include "trace_reader.h"

/* Default region size of replay (and of the timed runs of compare when
 * the minimum size cannot be found): 1 MiB. */
#define RTM_REPLAY_DEFAULT_SIZE (1024u * 1024u)

/* The replayed region starts on this boundary (results then do not depend
 * on where the host's malloc put it). */
#define RTM_REPLAY_ARENA_ALIGN ((size_t)4096)

/* Log-linear histogram of nanoseconds: 1 ns buckets below 1024 ns, then 64
 * buckets per power of two (relative resolution 1/64, about 1.6%). Fixed
 * size (35 KiB), so timing memory does not grow with the trace. */
#define RTM_HIST_LINEAR 1024u
#define RTM_HIST_SUB 64u
#define RTM_HIST_BUCKETS (RTM_HIST_LINEAR + 54u * RTM_HIST_SUB)

typedef struct rtm_hist {
    uint64_t count;
    uint64_t total_ns;
    uint64_t max_ns;
    uint64_t buckets[RTM_HIST_BUCKETS];
} rtm_hist_t;

void rtm_hist_add(rtm_hist_t *h, uint64_t ns);
/* The q-quantile (0 < q <= 1): the lower bound of the bucket holding the
 * sample of rank ceil(q * count). 0 when empty. */
uint64_t rtm_hist_quantile(const rtm_hist_t *h, double q);

/* Helper processes a size search may fork to replay several sizes at once:
 * a pipe holding one byte per helper allowed to run, shared by every search
 * forked from one compare (as make's jobserver), so that searches running
 * side by side never have more than its bytes in helpers together. */
typedef struct rtm_helper_pool {
    int take_fd; /* read end, non-blocking */
    int give_fd; /* write end */
} rtm_helper_pool_t;

/* A pool of n helpers (rtm_helper_pool_close frees it); false when the
 * pipe cannot be made (then search one size at a time). */
bool rtm_helper_pool_open(rtm_helper_pool_t *p, unsigned n);
void rtm_helper_pool_close(rtm_helper_pool_t *p);

typedef struct rtm_replay_opts {
    rtm_strategy_id_t strategy; /* single heap; for --regions the regions' strategy */
    size_t heap_size;           /* bytes of the region given to rtm_heap_init */
    size_t align;               /* heap granularity (rtm_heap_config_t.alignment); 0 = default */
    const char *preset;         /* non-NULL: replay on this capability preset (ignores heap_size) */
    bool lenient;               /* skip and count inconsistent events */
    bool timing;                /* time every operation */
    bool stop_on_fail;          /* stop at the first failed allocation (minimum-size search) */
    /* Optional progress line: every 4096 events the run adds them to it and
     * redraws it at progress_base + progress_span x (share of the file read). */
    rtm_progress_t *progress;
    double progress_base, progress_span;
    /* Nonzero: stop the run once this process's CPU time
     * (rtm_tool_cpu_ns: a budget that a loaded machine does not eat) passes
     * this (ns), or
     * early, once a sixty-fourth of the trace is done, when at its pace so
     * far the run would take more than twice the time that was left before
     * the deadline when it began; the result then has timed_out set and
     * completed false. */
    uint64_t deadline_ns;
    /* Functions that replay a path many times (rtm_min_size_search,
     * rtm_replay_auto_size) load it into memory first when it takes at most
     * this many bytes there (trace_mem.h; 0 = RTM_TRACE_MEM_LIMIT), and
     * stream it on every run otherwise. Same results either way. */
    size_t mem_limit;
    /* rtm_min_size_search: when not NULL, each step replays as many sizes
     * at once as it can take helpers from this pool (one more in this
     * process): the bisection splits its interval in that many + 1 parts,
     * the downward scan runs that many sizes together. NULL: one at a time. */
    const rtm_helper_pool_t *helpers;
} rtm_replay_opts_t;

typedef struct rtm_replay_result {
    const char *strategy;        /* rtm_strategy_name */
    size_t heap_size;            /* region bytes (presets: sum of region sizes) */
    size_t granularity;
    uint64_t ops;                /* events replayed: allocs + aligned + reallocs + frees */
    uint64_t allocs, aligned, reallocs, frees;
    uint64_t failed;             /* allocations (a, A, r with SIZE > 0) that returned NULL */
    unsigned long first_fail_line; /* 0 = none */
    char first_fail[80];         /* the first failing event, as in the trace */
    const char *first_fail_reason;
    uint64_t refused_frees;      /* frees the heap refused (RTM_BUMP) or reported as misuse */
    uint64_t peak_live;          /* most requested bytes live at once, by the trace */
    unsigned long peak_line;     /* line where that peak was first reached */
    size_t peak_live_blocks;     /* most IDs live at once */
    uint64_t peak_footprint;     /* heap size - lowest free bytes ever (rtm_heap_info) */
    double frag_at_peak;         /* 1 - largest free / free, when live bytes first peaked */
    size_t free_at_peak, largest_at_peak;
    size_t live_blocks_at_end;
    uint64_t live_bytes_at_end;
    rtm_trace_counts_t skipped;  /* lenient skips and a truncated last line */
    bool init_refused;           /* rtm_heap_init returned NULL although
                                    rtm_heap_init_error accepted the size (run returned 2) */
    bool completed;              /* read to the end (cut_off: to the bad line) without a
                                    failed allocation */
    /* A bad line (malformed, inconsistent, a NUL byte, a read error) stopped
     * the reading: everything above is of the events before it, and the
     * run still returned 2 with "FILE:LINE: ..." in err. */
    bool cut_off;
    unsigned long cut_line;      /* the line that stopped it */
    char cut_reason[RTM_TRACE_ERR_MAX]; /* what is wrong with it, without FILE:LINE */
    bool timed_out;              /* stopped at opts.deadline_ns */
    bool check_ok;               /* rtm_heap_check (every region) at the end */
    char check_problem[96];
    rtm_hist_t hist;             /* per-operation times (opts.timing) */
} rtm_replay_result_t;

/* Replays path ("-" = stdin) with o, streaming it (memory: the live IDs).
 * Returns 0 when the trace was read to the end (or, with stop_on_fail, to
 * its first failed allocation), 2 on bad input or a refused configuration,
 * with "FILE:LINE: ..." or another one-line message in err. When a line
 * stopped the reading (the error names a line), res still holds the run
 * up to it, with cut_off set; otherwise (a file that does not open, empty
 * input, a read error before the first line as for a directory, a refused
 * configuration) res holds nothing read. */
int rtm_replay_run(const char *path, const rtm_replay_opts_t *o, rtm_replay_result_t *res,
                   char *err, size_t errlen);

/* The same run over a loaded trace (trace_mem.h): the same result as
 * rtm_replay_run on its file, except that `skipped` counts the whole trace
 * even when the run stopped early. The text of a failing event is read
 * again from the file (about a millisecond). Returns 0, or 2 for a refused
 * configuration (bad input was refused by the load). */
int rtm_replay_mem(const rtm_trace_mem_t *m, const rtm_replay_opts_t *o,
                   rtm_replay_result_t *res, char *err, size_t errlen);

/* What a search or a series of runs reads: the loaded trace mem when not
 * NULL, else the file path, streamed on every run. */
typedef struct rtm_trace_src {
    const char *path;
    const rtm_trace_mem_t *mem;
} rtm_trace_src_t;

/* rtm_replay_mem or rtm_replay_run, as src says. */
int rtm_replay_src(const rtm_trace_src_t *src, const rtm_replay_opts_t *o,
                   rtm_replay_result_t *res, char *err, size_t errlen);

/* The minimum region size (multiple of 16) with which the trace completes,
 * for o's strategy and granularity (o->heap_size and o->preset ignored).
 *
 * A measuring run at a generous size (1 MiB, x4 until it completes, at
 * most cap) gives the high-water mark (region bytes in use at the peak) as
 * the first upper bound and the peak live bytes as the lower one (no heap
 * smaller than that can hold them); bisection between them. Failure is not
 * monotonic in the size, so a downward scan follows: every multiple of 16
 * below the answer is replayed, a size that completes becoming the answer,
 * until `window` bytes below the answer have all failed (or the sizes below
 * are known to fail: under the heap's minimum or the peak live bytes), or
 * RTM_MIN_SIZE_SCAN_RUNS x the window's sizes failed (sizes that complete
 * lower the answer and do not count; 1024 sizes at most). The window:
 * RTM_MIN_SIZE_SCAN sizes (128 bytes); for a trace with aligned requests
 * ('A' lines: they complete and fail in bands of sizes) as many as
 * RTM_MIN_SIZE_SCAN_EVENTS events allow (that many / the trace's
 * events), between RTM_MIN_SIZE_SCAN and RTM_MIN_SIZE_WINDOW sizes.
 *
 * What a found minimum guarantees, every size replayed: the trace completes
 * at size, and at no multiple of 16 in [size - checked_below, size)
 * (checked_below >= 16; checked_below == size: at no smaller size at all).
 * It does not say that no size below that completes. A size is replayed
 * once per search (replays are deterministic). With o->helpers, the sizes
 * the next steps would need under either outcome are replayed at once
 * in helper processes: the same sizes are decided in the same order, so
 * the result is that of the search one size at a time; only the wall time
 * and `runs` (which counts the unneeded replays too) differ. With
 * o->deadline_ns, the search also gives up (timed_out) right after the
 * measuring run when RTM_MIN_SIZE_SCAN more runs as long as it would pass
 * the deadline: the rest needs at least that many. */
typedef struct rtm_min_size {
    bool found;          /* false: over the cap, timed out, or strategy n/a */
    size_t size;         /* the minimum found */
    bool size_completes; /* replayed: the trace completes at size */
    bool below_fails;    /* replayed: it fails at size - 16 (or size - 16 is below the minimum) */
    size_t checked_below; /* it fails at every multiple of 16 in [size - this, size) */
    size_t window;       /* the checked_below the scan aims for (bytes) */
    unsigned runs;       /* replays the search took */
    unsigned non_monotonic; /* smaller sizes found by the downward scan after bisection */
    size_t high_water;   /* of the measuring run: heap size - lowest free bytes */
    size_t cap;          /* the cap searched under */
    bool over_cap;       /* the trace does not complete even at cap */
    bool timed_out;      /* a run passed o->deadline_ns: no minimum */
} rtm_min_size_t;

#define RTM_MIN_SIZE_CAP ((size_t)1 << 30)       /* 1 GiB */
#define RTM_MIN_SIZE_SCAN 8u                      /* the scan's window: 8 sizes (128 bytes)... */
#define RTM_MIN_SIZE_WINDOW 128u                  /* ...up to 128 (2 KiB) with aligned requests, */
#define RTM_MIN_SIZE_SCAN_EVENTS ((uint64_t)1 << 21) /* as this many events / the trace's allow */
#define RTM_MIN_SIZE_SCAN_RUNS 4u                 /* the scan stops after 4x its window failed */

/* The downward scan's window in sizes (multiples of 16) for a trace whose
 * whole-trace run gave measured (its ops and aligned counts): see
 * rtm_min_size_search_src above. Between RTM_MIN_SIZE_SCAN and
 * RTM_MIN_SIZE_WINDOW. Cost O(1). */
size_t rtm_min_size_scan_sizes(const rtm_replay_result_t *measured);

/* cap: largest size tried (0 = RTM_MIN_SIZE_CAP). Returns 0, or 2 on bad
 * input (err filled). Loads path into memory first (o->mem_limit). */
int rtm_min_size_search(const char *path, const rtm_replay_opts_t *o, size_t cap,
                        rtm_min_size_t *out, char *err, size_t errlen);

/* The same search over src (a loaded trace: no file reading at all). */
int rtm_min_size_search_src(const rtm_trace_src_t *src, const rtm_replay_opts_t *o, size_t cap,
                            rtm_min_size_t *out, char *err, size_t errlen);

/* replay without --size: the smallest size among peak, peak x 9/8,
 * peak x (9/8)^2, ... (multiples of 16, at least the heap's minimum; peak
 * = the trace's peak live bytes, from a first run) with which the trace
 * completes, up to RTM_MIN_SIZE_CAP; res is the timed run at that size
 * (or, if none completes, at the cap). *runs counts the replays. The
 * trace is loaded into memory first (o->mem_limit; "-" is streamed).
 * Returns as rtm_replay_run. A trace with a bad line cannot be loaded: it
 * is then streamed, every run stopping at that line, so the size is one
 * that fits the part before it, and res is that run, cut_off (returns 2). */
int rtm_replay_auto_size(const char *path, const rtm_replay_opts_t *o, rtm_replay_result_t *res,
                         unsigned *runs, char *err, size_t errlen);

/* CLOCK_MONOTONIC in ns. */
uint64_t rtm_tool_now_ns(void);
/* CPU time in ns of this process and of its children waited for
 * (CLOCK_PROCESS_CPUTIME_ID + RUSAGE_CHILDREN: a size search's helpers
 * count once reaped), for deadline_ns; a forked process starts again from
 * about 0. */
uint64_t rtm_tool_cpu_ns(void);

/* The recommendation of compare, over n strategies: usable[k] (a checked
 * minimum on every trace), min_size[k] (largest over the traces),
 * median_ns[k] (slowest median over the traces). Among the usable ones
 * whose minimum is within 10% of the smallest, those whose median is
 * within 25% of the fastest tie, and the smallest minimum wins (then the
 * lowest index). Returns the index, or n when none is usable. */
size_t rtm_compare_pick(size_t n, const bool *usable, const size_t *min_size,
                        const uint64_t *median_ns);

/* What rtm_compare_trace found for one strategy. */
typedef enum rtm_compare_status {
    RTM_COMPARE_FOUND,    /* a checked minimum */
    RTM_COMPARE_NA,       /* system: no bounded arena */
    RTM_COMPARE_HOPELESS, /* does not complete at 8x the best minimum found before it */
    RTM_COMPARE_TOO_SLOW, /* its search passed its time budget */
    RTM_COMPARE_NONE      /* no minimum below RTM_MIN_SIZE_CAP, or the check failed */
} rtm_compare_status_t;

typedef struct rtm_compare_row {
    rtm_strategy_id_t strategy;  /* set by the caller */
    rtm_min_size_t min;
    rtm_compare_status_t status;
    size_t run_size;             /* of the timed runs: minimum + 25%, rounded up to 1 KiB */
    bool ran;                    /* timed runs done */
    uint64_t median_ns;          /* median of the timed runs' medians */
    uint64_t search_ns;          /* wall time of the search */
    uint64_t search_cpu_ns;      /* its CPU time (rtm_tool_cpu_ns: helpers included) */
    rtm_replay_result_t run;     /* the first timed run */
} rtm_compare_row_t;

typedef struct rtm_compare_opts {
    size_t system_size;   /* budget of the system strategy (0 = RTM_REPLAY_DEFAULT_SIZE) */
    size_t align;         /* heap granularity; 0 = default */
    bool lenient;
    bool budget_set;      /* false: 10x the first row's search CPU time, at least 5 s */
    uint64_t budget_ns;   /* with budget_set: CPU time per row; 0 = no limit */
    unsigned jobs;        /* rows after the first searched at once in worker processes,
                             and jobs - 1 helpers; 0, 1 = none */
    size_t mem_limit;     /* as rtm_replay_opts_t.mem_limit */
    rtm_progress_t *progress; /* NULL: no progress line */
    double progress_base, progress_span; /* the share of the line this trace takes */
    /* Not NULL: a trace with a bad line is compared on the part before it
     * (rtm_trace_mem_load_part), *cut says where it stopped. NULL: a bad
     * line is an error (2). */
    struct rtm_compare_cut *cut;
} rtm_compare_opts_t;

/* Where a bad line stopped the reading of a compared trace. */
typedef struct rtm_compare_cut {
    bool cut_off;                        /* false: the trace was read to its end */
    unsigned long line;
    char reason[RTM_TRACE_ERR_MAX];      /* without FILE:LINE */
} rtm_compare_cut_t;

/* `rtmem compare` on one trace, without printing: fills rows[0..n) (each
 * with .strategy set by the caller, the rest zeroed here). The trace is
 * read once into memory (then shared by the worker processes) unless it is
 * larger than o->mem_limit, then streamed on every run. rows[0] is searched
 * first: a later row is hopeless when it does not complete at 8 times
 * rows[0]'s minimum, and (without budget_set) its budget is 10 times
 * rows[0]'s search CPU time, at least 5 s of CPU time. A found row's minimum is checked (it
 * completes there and fails at every multiple of 16 in the min.checked_below
 * bytes below, see rtm_min_size_t); found and n/a rows get
 * three timed runs at run_size. With jobs >= 2 the searches also share
 * jobs - 1 helper processes (rtm_helper_pool_t). Returns 0, or 2 with err filled
 * ("FILE:LINE: ..." on bad input). With o->cut, a bad line in a trace that
 * fits o->mem_limit returns 0 instead: the rows are those of the part
 * before the line, o->cut is filled and err holds "FILE:LINE: ..." (a
 * streamed trace, larger than the limit, still returns 2 there). Forks and waits for its workers; not
 * for a multithreaded caller. Cost: on a 2.4M-event trace, about 20 s of
 * CPU for the five strategies. */
int rtm_compare_trace(const char *path, const rtm_compare_opts_t *o, rtm_compare_row_t *rows,
                      size_t n, char *err, size_t errlen);

/* A strategy by name (rtm_strategy_name, or first-fit / best-fit);
 * false for anything else. Sizes and numbers: cli.h. */
bool rtm_tool_parse_strategy(const char *s, rtm_strategy_id_t *out);
/* Formats ns as "812 ns", "3.41 us", "1.20 ms", "2.50 s". */
const char *rtm_tool_fmt_ns(uint64_t ns, char *buf, size_t len);

/* Options of replay and compare (parsed by rtm_tool_parse_cli). */
typedef struct rtm_tool_cli {
    const char *files[64];
    size_t nfiles;
    rtm_strategy_id_t strategy;
    bool strategy_set;
    size_t size; /* RTM_REPLAY_DEFAULT_SIZE unless --size */
    bool size_set;
    const char *preset;
    size_t align;
    bool lenient;
    bool json;
    bool quiet; /* --quiet / -q: no progress line, no notes on stderr */
    bool budget_set;    /* compare --budget */
    uint64_t budget_ns; /* 0 = no limit */
    unsigned jobs;      /* compare --jobs: strategies searched at once (default: online CPUs, at most 8) */
} rtm_tool_cli_t;

/* The command line of replay (cmd "replay") or compare ("compare", which
 * adds --budget and --jobs), through rtm_cli_parse (cli.h): every option
 * as --opt=value or --opt value, values range-checked. 0 = parsed, 2 = bad
 * usage (message on stderr), 3 = --help asked (nothing printed). many:
 * up to RTM_CLI_OPERANDS_MAX trace files, else exactly one. */
int rtm_tool_parse_cli(const char *cmd, int argc, char **argv, rtm_tool_cli_t *c, bool many);

/* A replay result's members, written into the JSON object open in j
 * (replay's document, compare's "run" objects); docs/tools.md lists them. */
void rtm_replay_json_fields(rtm_json_t *j, const char *path, const char *preset,
                            const rtm_replay_result_t *r);

#endif
