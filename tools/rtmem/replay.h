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

#include "rtmem/heap.h"
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

typedef struct rtm_replay_opts {
    rtm_strategy_id_t strategy; /* single heap; for --regions the regions' strategy */
    size_t heap_size;           /* bytes of the region given to rtm_heap_init */
    size_t align;               /* heap granularity (rtm_heap_config_t.alignment); 0 = default */
    const char *preset;         /* non-NULL: replay on this capability preset (ignores heap_size) */
    bool lenient;               /* skip and count inconsistent events */
    bool timing;                /* time every operation */
    bool stop_on_fail;          /* stop at the first failed allocation (minimum-size search) */
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
    bool completed;              /* read to the end without a failed allocation */
    bool check_ok;               /* rtm_heap_check (every region) at the end */
    char check_problem[96];
    rtm_hist_t hist;             /* per-operation times (opts.timing) */
} rtm_replay_result_t;

/* Replays path ("-" = stdin) with o. Returns 0 when the trace was read to
 * the end (or, with stop_on_fail, to its first failed allocation), 2 on bad
 * input or a refused configuration, with "FILE:LINE: ..." or another
 * one-line message in err. */
int rtm_replay_run(const char *path, const rtm_replay_opts_t *o, rtm_replay_result_t *res,
                   char *err, size_t errlen);

/* The minimum region size (multiple of 16) with which the trace completes,
 * for o's strategy and granularity (o->heap_size and o->preset ignored). */
typedef struct rtm_min_size {
    bool found;          /* false: not even at the cap (RTM_MIN_SIZE_CAP) or strategy n/a */
    size_t size;         /* the minimum found */
    bool size_completes; /* re-checked: the trace completes at size */
    bool below_fails;    /* re-checked: it fails at size - 16 */
    unsigned runs;       /* replays the search took */
    unsigned non_monotonic; /* smaller sizes found by the downward scan after bisection */
} rtm_min_size_t;

#define RTM_MIN_SIZE_CAP ((size_t)1 << 30)  /* 1 GiB */
#define RTM_MIN_SIZE_SCAN 64u                /* downward scan: 64 steps of 16 bytes */

int rtm_min_size_search(const char *path, const rtm_replay_opts_t *o, size_t hint,
                        rtm_min_size_t *out, char *err, size_t errlen);

/* Shared command-line helpers. */
bool rtm_tool_parse_size(const char *s, size_t *out);        /* 4096, 64K, 64KiB, 1M, 1G */
/* Decimal digits only (no sign, no space), at most UINT64_MAX: "-1",
 * "+1", "1e3", "" and 18446744073709551616 are refused (false). */
bool rtm_tool_parse_u64(const char *s, uint64_t *out);
bool rtm_tool_parse_strategy(const char *s, rtm_strategy_id_t *out);
void rtm_tool_json_str(FILE *f, const char *s);              /* a JSON string literal */
/* Formats ns as "812 ns", "3.41 us", "1.20 ms", "2.50 s". */
const char *rtm_tool_fmt_ns(uint64_t ns, char *buf, size_t len);

/* Options common to replay and compare (parsed by rtm_tool_parse_cli). */
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
} rtm_tool_cli_t;

/* 0 = parsed, 2 = bad usage (message on stderr), 3 = --help asked. many:
 * more than one trace file allowed. */
int rtm_tool_parse_cli(const char *cmd, int argc, char **argv, rtm_tool_cli_t *c, bool many);

/* One JSON object (no newline) for a replay result. */
void rtm_replay_print_json(FILE *o, const char *path, const char *preset,
                           const rtm_replay_result_t *r);

#endif
