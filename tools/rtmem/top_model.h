/*
 * What `rtmem top` shows, without the terminal: the line splitter that cuts
 * a byte stream from a serial port, a growing file or a pipe into lines, and
 * the state those lines build (regions, pools, tasks, active alerts, the
 * last recommendations, the log pane). tools/rtmem/top.c draws it with
 * ncurses; tests/test_tool_top.c checks it without a terminal.
 *
 * Tolerant, unlike the strict line reader of the other commands: a live
 * stream has garbage after a reset, lines cut mid-way and binary noise, and
 * the view must go on. Nothing here fails: a line that is not telemetry goes
 * to the log pane, escaped (tools/rtmem/escape.h: no control byte or invalid
 * UTF-8 is kept); a telemetry line that does not parse (a line cut mid-way
 * by a reset is one) and a line longer than RTM_TOP_LINE_MAX are counted as
 * bad lines and shown escaped with the reason; trace lines are counted, not
 * shown. A log line longer than the pane keeps (RTM_TOP_LOG_TEXT escaped
 * bytes) ends in "...".
 *
 * Memory: fixed tables (RTM_TOP_*_MAX entries; a name beyond them is not
 * stored, its lines are counted in `dropped_names`), about 250 KiB in all: allocate
 * the model, not on the stack. Nothing allocates after that. Not thread-safe.
 */
#ifndef RTMEM_TOOL_TOP_MODEL_H
#define RTMEM_TOOL_TOP_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "telemetry.h"

#define RTM_TOP_LINE_MAX 4096u    /* longer lines are cut there and counted bad */
#define RTM_TOP_REGIONS_MAX 32u
#define RTM_TOP_POOLS_MAX 32u
#define RTM_TOP_TASKS_MAX 64u
#define RTM_TOP_ALERTS_MAX 64u
#define RTM_TOP_RECS_MAX 16u      /* the last recommendations kept */
#define RTM_TOP_LOG_LINES 512u    /* the last log lines kept */
#define RTM_TOP_LOG_TEXT 400u     /* escaped bytes kept of one log line */
#define RTM_TOP_REC_TEXT 320u

/* ------------------------------------------------------------------ */
/* Line splitting                                                       */

typedef enum rtm_top_line_flag {
    RTM_TOP_LINE_WHOLE = 0,   /* ended by "\n" */
    RTM_TOP_LINE_OVERLONG,    /* the first RTM_TOP_LINE_MAX bytes of a longer line */
    RTM_TOP_LINE_CUT          /* the source ended (or was lost) before its "\n" */
} rtm_top_line_flag_t;

/* Called once per line: text[0..len) without "\n" and one CR before it;
 * text is terminated, may hold NUL bytes, and is valid only during the call. */
typedef void (*rtm_top_line_fn)(void *ctx, const char *text, size_t len, rtm_top_line_flag_t flag);

typedef struct rtm_top_splitter {
    size_t len;               /* bytes of the line in progress */
    bool skipping;            /* after an overlong line: drop bytes up to "\n" */
    uint64_t skipped_bytes;   /* bytes so dropped, in all */
    char buf[RTM_TOP_LINE_MAX + 1u];
} rtm_top_splitter_t;

void rtm_top_splitter_init(rtm_top_splitter_t *s);

/* Cuts data[0..len) into lines, calling fn for each complete one; the rest
 * waits for the next call. Cost: linear in len. */
void rtm_top_split(rtm_top_splitter_t *s, const char *data, size_t len, rtm_top_line_fn fn,
                   void *ctx);

/* The source ended or was lost: a line in progress is passed to fn as
 * RTM_TOP_LINE_CUT (nothing happens when there is none). */
void rtm_top_split_flush(rtm_top_splitter_t *s, rtm_top_line_fn fn, void *ctx);

/* ------------------------------------------------------------------ */
/* State                                                                */

typedef struct rtm_top_region {
    rtm_tm_mem_t last;        /* the latest mem line of this name */
    uint64_t samples;
    uint64_t first_ms;
} rtm_top_region_t;

typedef struct rtm_top_pool {
    rtm_tm_pool_t last;
} rtm_top_pool_t;

typedef struct rtm_top_task {
    rtm_tm_task_t last;
} rtm_top_task_t;

/* An alert raised and not cleared, by an alert line or an alerts bit mask. */
typedef struct rtm_top_alert {
    char alert[32];
    char source[RTM_TM_NAME_MAX];
    uint64_t since_ms;
    bool has_value;           /* value and threshold: only from an alert line */
    int64_t value, threshold;
} rtm_top_alert_t;

typedef struct rtm_top_rec {
    uint64_t ms;
    char rule[32];
    char source[RTM_TM_NAME_MAX];
    char text[RTM_TOP_REC_TEXT]; /* escaped for a terminal */
} rtm_top_rec_t;

typedef enum rtm_top_log_kind {
    RTM_TOP_LOG_TEXT_LINE = 0, /* a line that is not telemetry */
    RTM_TOP_LOG_BAD,           /* a bad line, with the reason */
    RTM_TOP_LOG_NOTE           /* a message of rtmem top itself (source lost, ...) */
} rtm_top_log_kind_t;

typedef struct rtm_top_log_line {
    rtm_top_log_kind_t kind;
    uint64_t number;          /* line number in the source (0 for a note) */
    char text[RTM_TOP_LOG_TEXT]; /* escaped for a terminal; "..." ends a cut one */
} rtm_top_log_line_t;

typedef struct rtm_top_counts {
    uint64_t lines;           /* every line seen */
    uint64_t telemetry;       /* telemetry lines used (trace lines included) */
    uint64_t trace;           /* trace lines: counted, not shown */
    uint64_t other_types;     /* telemetry of a type this reader does not know */
    uint64_t log;             /* lines that are not telemetry */
    uint64_t bad;             /* telemetry that did not parse, overlong and cut lines */
    uint64_t dropped_names;   /* samples of a name past the tables' room */
} rtm_top_counts_t;

typedef struct rtm_top_model {
    rtm_top_counts_t counts;
    uint64_t last_ms;         /* ms of the latest telemetry line */
    bool has_ms;
    size_t region_count, pool_count, task_count, alert_count;
    rtm_top_region_t regions[RTM_TOP_REGIONS_MAX]; /* in order of first appearance */
    rtm_top_pool_t pools[RTM_TOP_POOLS_MAX];
    rtm_top_task_t tasks[RTM_TOP_TASKS_MAX];
    rtm_top_alert_t alerts[RTM_TOP_ALERTS_MAX];    /* in order raised */
    size_t rec_count;         /* kept, at most RTM_TOP_RECS_MAX */
    uint64_t recs_seen;
    rtm_top_rec_t recs[RTM_TOP_RECS_MAX];          /* oldest first */
    size_t log_count;         /* kept, at most RTM_TOP_LOG_LINES */
    size_t log_next;          /* ring index of the next line to write */
    rtm_top_log_line_t log[RTM_TOP_LOG_LINES];
    rtm_tm_line_t scratch;    /* the parser's line, reused */
} rtm_top_model_t;

void rtm_top_model_init(rtm_top_model_t *m);

/* One line of the source (an rtm_top_line_fn with the model as ctx):
 * telemetry updates the tables, anything else goes to the log pane. */
void rtm_top_feed_line(void *model, const char *text, size_t len, rtm_top_line_flag_t flag);

/* The updates one telemetry line makes, for callers that already parsed it. */
void rtm_top_on_mem(rtm_top_model_t *m, const rtm_tm_mem_t *mem);
void rtm_top_on_pool(rtm_top_model_t *m, const rtm_tm_pool_t *pool);
void rtm_top_on_task(rtm_top_model_t *m, const rtm_tm_task_t *task);
void rtm_top_on_alert(rtm_top_model_t *m, const rtm_tm_alert_t *alert);
void rtm_top_on_rec(rtm_top_model_t *m, const rtm_tm_rec_t *rec);

/* Adds a note of rtmem top itself to the log pane (escaped). */
void rtm_top_note(rtm_top_model_t *m, const char *text);

/* The i-th log line kept, 0 the oldest; NULL past the last. */
const rtm_top_log_line_t *rtm_top_log_at(const rtm_top_model_t *m, size_t i);

/* The region, pool or task of that name, or NULL. */
const rtm_top_region_t *rtm_top_find_region(const rtm_top_model_t *m, const char *name);
const rtm_top_pool_t *rtm_top_find_pool(const rtm_top_model_t *m, const char *name);
const rtm_top_task_t *rtm_top_find_task(const rtm_top_model_t *m, const char *name);
const rtm_top_alert_t *rtm_top_find_alert(const rtm_top_model_t *m, const char *alert,
                                          const char *source);

/* part / whole in units of `scale` (a percentage with 100, a bar's cells
 * with its width), rounded to nearest; part above whole counts as whole,
 * whole 0 gives 0. Exact while whole * scale fits in 64 bits; past that
 * (sizes near 2^64 from damaged or hostile telemetry) both are shifted right
 * first, so it never wraps and never exceeds scale. O(1). */
unsigned rtm_top_scale(uint64_t part, uint64_t whole, unsigned scale);

/* b bytes in at most 7 characters: "1023B", "31.0K", "4.0M", "1.5G", then
 * T, P and E (2^64 - 1 is "16.0E"), so the columns never cut a number. */
void rtm_top_fmt_bytes(char *out, size_t cap, uint64_t b);

/* A count in at most 4 characters: as it is below 10000, then in powers of
 * 1000 ("12k", "456k", "1.2M", "45M", ... 2^64 - 1 is "18E"). */
void rtm_top_fmt_count(char *out, size_t cap, uint64_t n);

#endif
