/*
 * `rtmem export --format chrome`: Chrome trace-event JSON (the JSON Object
 * Format, {"traceEvents":[...],"displayTimeUnit":"ms"}) that Perfetto
 * (ui.perfetto.dev) and chrome://tracing open. docs/formats.md, "Chrome
 * trace export", lists every event written.
 *
 * Streaming: events are written as the input is read, nothing is kept per
 * event; memory is the tracks (one per heap, task, pool... name) plus the
 * live-ID table of an rtmem trace (its live blocks). An input error stops
 * reading, but the JSON written so far is closed by rtm_chrome_end, so the
 * file stays valid and keeps everything read before the bad line.
 */
#ifndef RTMEM_TOOL_EXPORT_CHROME_H
#define RTMEM_TOOL_EXPORT_CHROME_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "trace_reader.h"

/* ------------------------------------------------------------------ */
/* Clock: device milliseconds to a timeline that never goes back       */

/* A step back by at most this many ms is jitter (two writers of one log,
 * out of order by a little): the time stays where it was. */
#define RTM_XCLOCK_JITTER_MS 1000u
/* Timestamps are capped here (microseconds): JSON readers hold numbers
 * as doubles, exact up to 2^53. */
#define RTM_XCLOCK_MAX_US (UINT64_C(1) << 53)

typedef enum rtm_xclock_step {
    RTM_XCLOCK_FIRST,     /* the first time of the input */
    RTM_XCLOCK_FORWARD,   /* the same or later than the time before */
    RTM_XCLOCK_WRAPPED,   /* back by more than 2^31 ms: the 32-bit clock wrapped */
    RTM_XCLOCK_JITTER,    /* back by at most RTM_XCLOCK_JITTER_MS: held at the time before */
    RTM_XCLOCK_RESTARTED  /* back by more (a reset): continues from the time before */
} rtm_xclock_step_t;

typedef struct rtm_xclock {
    bool started;
    uint64_t last_raw;  /* the device time given last, ms */
    uint64_t offset_us; /* added to raw * 1000 */
    uint64_t last_us;   /* the timestamp given last */
} rtm_xclock_t;

void rtm_xclock_init(rtm_xclock_t *c);

/* The timestamp (microseconds) of device time raw_ms (telemetry "ms" or a
 * trace's t=, which wrap at 2^32): raw_ms * 1000 plus 2^32 ms per wrap
 * seen so far, never less than the timestamp given before (see
 * rtm_xclock_step_t), capped at RTM_XCLOCK_MAX_US. step (may be NULL)
 * says which case it was. Any raw_ms is accepted; O(1). */
uint64_t rtm_xclock_ms(rtm_xclock_t *c, uint64_t raw_ms, rtm_xclock_step_t *step);

/* The timestamp of an event that carries no time: 1 us after the one
 * given before (0 for the first), so a trace without t= is drawn against
 * its event count. */
uint64_t rtm_xclock_untimed(rtm_xclock_t *c);

/* ------------------------------------------------------------------ */
/* Writer                                                              */

typedef struct rtm_chrome {
    FILE *out;
    uint64_t events; /* written so far */
    bool closed;
} rtm_chrome_t;

/* Writes the opening {"traceEvents":[ to out. */
void rtm_chrome_begin(rtm_chrome_t *w, FILE *out);

/* A metadata event ("ph":"M") naming process pid (what "process_name") or
 * thread tid of pid (what "thread_name"); name is any bytes (escaped). */
void rtm_chrome_meta(rtm_chrome_t *w, const char *what, unsigned pid, unsigned tid,
                     const char *name);

/* A counter event ("ph":"C") of track name with one series: args {key: value}. */
void rtm_chrome_counter(rtm_chrome_t *w, unsigned pid, uint64_t ts, const char *name,
                        const char *key, int64_t value);

/* Closes the array and the object ("displayTimeUnit":"ms"). Once only;
 * returns 0, or -1 when out reported a write error. */
int rtm_chrome_end(rtm_chrome_t *w);

/* ------------------------------------------------------------------ */
/* One input                                                           */

typedef struct rtm_chrome_counts {
    uint64_t lines, telemetry, trace_events, log_lines;
    rtm_trace_counts_t skipped;  /* --lenient, and a cut-off last line */
    uint64_t restarts;           /* the device clock went back (a reset) */
} rtm_chrome_counts_t;

/* Reads one input (telemetry, an rtmem trace, a log with either inside)
 * through the strict line reader and writes its events as process pid,
 * named name. Trace events are plain lines after a "# rtmem-trace 1"
 * header, or telemetry "trace" lines; every other line that is not
 * telemetry is a log line and skipped. Returns 0, or -1 with "FILE:LINE:
 * what" in err (malformed telemetry or trace line, an inconsistent ID
 * sequence unless lenient, what the line reader refuses, out of memory).
 * counts (may be NULL) gets what was read, also after an error. Cost:
 * linear in the input; memory: tracks plus live blocks. */
int rtm_chrome_read(rtm_chrome_t *w, FILE *in, const char *name, unsigned pid, bool lenient,
                    rtm_chrome_counts_t *counts, char *err, size_t errlen);

#endif
