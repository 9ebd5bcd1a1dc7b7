/*
 * A trace's part of `rtmem report` (docs/report.md): live bytes over the
 * operations, the strategy comparison and the heap map at the peak.
 *
 * Comparison: each strategy (system has no bounded arena and is left out)
 * gets one measuring replay at 1 MiB, x4 until it completes (as
 * `rtmem compare` starts its search), which gives its high-water mark and
 * its median time per operation; as compare calls a strategy hopeless, none
 * is replayed above RTM_REP_HOPELESS times the best high-water mark so far,
 * and one whose replay runs past its share of the time budget (below) is
 * reported too slow (first_fit and best_fit take minutes on millions of
 * events). Then, while the time budget allows (the
 * search is estimated at strat[].search_runs measuring replays), the
 * checked minimum of `rtmem compare` (rtm_min_size_search) replaces the
 * high-water mark. The recommendation is rtm_compare_pick over the checked
 * minima when every strategy has one, else over the high-water marks, and
 * the page says which. The heap map replays the trace with the
 * recommended strategy at its recommended size (the size + 25%, rounded up
 * to 1 KiB, as compare advises) up to the event where the live bytes first
 * peak, and walks that heap (rtm_heap_walk).
 */
#ifndef RTMEM_TOOL_REPORT_TRACE_H
#define RTMEM_TOOL_REPORT_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report_series.h"
#include "report_svg.h"
#include "rtmem/heap.h"
#include "trace_reader.h"

/* Replays a checked search is assumed to take: RTM_REP_SEARCH_RUNS, plus
 * RTM_REP_SCAN_RUNS per size of the downward scan's window on a trace with
 * aligned requests (where the scan replays most of its window, and again
 * below each smaller size that completes: synthetic_random took 134 to
 * 227 runs with its 128-size window, others about 21). */
#define RTM_REP_SEARCH_RUNS 25u
#define RTM_REP_SCAN_RUNS 2u
#define RTM_REP_HOPELESS 8u     /* no replay above 8x the best high-water mark so far */

typedef struct rtm_rep_strategy {
    rtm_strategy_id_t id;
    bool ran;               /* the measuring replay completed */
    size_t run_size;        /* its heap size */
    size_t high_water;      /* heap size - lowest free bytes in it */
    uint64_t median_ns;     /* its median time per operation */
    uint64_t run_ns;        /* its CPU time */
    unsigned search_runs;   /* replays like it a checked search is assumed to take */
    bool checked;           /* min_size is a checked minimum (rtm_min_size_search) */
    size_t min_size;
    const char *why;        /* no checked minimum: why not */
    char why_text[96];
} rtm_rep_strategy_t;

typedef struct rtm_rep_trace {
    const char *path;
    const char *name;       /* in messages: rtm_rep_trace_opts_t.name, or path */
    bool read_all;          /* read to the end without an error */
    char err[RTM_TRACE_ERR_MAX];
    uint64_t ops;
    uint64_t peak_live;     /* requested bytes live at most */
    uint64_t peak_op;       /* operation (1-based) where that peak was first reached */
    unsigned long peak_line;
    size_t peak_blocks;
    uint64_t end_live;
    rtm_series_t live;      /* live bytes over operations */
    /* comparison */
    bool compared;
    rtm_rep_strategy_t strat[RTM_STRATEGY_COUNT];
    size_t nstrat;
    size_t pick;            /* index into strat, or nstrat: none */
    bool pick_checked;      /* the pick is over checked minima */
    size_t heap_size;       /* recommended heap size of the pick */
    uint64_t compare_ns;
    /* heap map */
    bool mapped;
    char map_note[160];     /* why there is no map, or what to know about it */
    rtm_map_block_t *blocks;
    size_t nblocks;
    uint64_t map_total;
    uint64_t map_used, map_free; /* bytes in used and free blocks */
    uint64_t map_failed;    /* allocations that failed on the way to the peak */
} rtm_rep_trace_t;

typedef struct rtm_rep_trace_opts {
    /* CPU time for the comparison (0: no limit), as rtm_replay_opts_t's
     * deadline counts it (rtm_tool_cpu_ns), so that the machine's load does
     * not decide which strategies are shown. The first strategy's
     * measuring replay (tlsf) always runs to the end; each other one gets an
     * equal share of what is left, at least twice tlsf's time (one past it
     * is reported too slow); the checked searches get what remains. */
    uint64_t budget_ns;
    bool search;            /* false: measuring replays only */
    const char *name;       /* the input as messages name it (NULL: the path; a copy of
                               stdin is named <stdin>, not its temporary file) */
} rtm_rep_trace_opts_t;

/* Reads path (a file: it is replayed several times) and fills t. Returns
 * 0, or 2 when the trace has an error (t->err "FILE:LINE: ...", and t keeps
 * the operations read before it; comparison and map are then not made), or
 * -1 when out of memory. */
int rtm_rep_trace_analyze(rtm_rep_trace_t *t, const char *path, const rtm_rep_trace_opts_t *opts);
void rtm_rep_trace_fini(rtm_rep_trace_t *t);

/* compare's advice: min + 25%, rounded up to 1 KiB. */
size_t rtm_rep_advised_size(size_t min);

#endif
