/*
 * Progress line on stderr for long tool runs: "rtmem compare: 42% 1.3M
 * events/s ETA 12 s". Shown only when stderr is a terminal, the caller did
 * not ask for quiet, and the run has lasted RTM_PROGRESS_DELAY_MS (about a
 * second; the environment variable RTMEM_PROGRESS_DELAY_MS overrides it,
 * for tests). Redrawn at most every 200 ms with "\r"; rtm_progress_done
 * erases it. Single-threaded; no allocation.
 *
 * RTMEM_PROGRESS_DELAY_MS is read only when the line is enabled (a
 * terminal, not quiet). Its value must be decimal digits and nothing else,
 * 0 to RTM_PROGRESS_DELAY_MAX_MS (rtm_progress_parse_delay); an empty value
 * counts as unset. Any other value (a sign, a space, a unit, "1e3", too
 * large) is not used: the delay stays RTM_PROGRESS_DELAY_MS and one warning
 * line naming the variable goes to the line's stream, once per process.
 */
#ifndef RTMEM_TOOL_PROGRESS_H
#define RTMEM_TOOL_PROGRESS_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

#define RTM_PROGRESS_DELAY_MS 1000u
#define RTM_PROGRESS_DELAY_MAX_MS 86400000u /* a day: longer is the same as never */

typedef struct rtm_progress {
    FILE *out;           /* NULL: disabled */
    const char *what;    /* "rtmem compare" */
    uint64_t start_ns;
    uint64_t last_ns;    /* last redraw */
    uint64_t delay_ns;
    uint64_t events;     /* events replayed so far (for the rate) */
    bool shown;          /* a line is on the terminal */
} rtm_progress_t;

/* Enables the line on out when out is a terminal and !quiet (then reads
 * RTMEM_PROGRESS_DELAY_MS, see above). */
void rtm_progress_init(rtm_progress_t *p, FILE *out, const char *what, bool quiet);
/* Adds replayed events (for the rate). Cheap; never prints. */
void rtm_progress_events(rtm_progress_t *p, uint64_t n);
/* Redraws the line if due: fraction is the share of the work done
 * (0..1, clamped); the ETA is extrapolated from it. */
void rtm_progress_update(rtm_progress_t *p, double fraction);
/* Erases the line (if shown) so that later output starts on a clean line. */
void rtm_progress_done(rtm_progress_t *p);

/* The value of RTMEM_PROGRESS_DELAY_MS: true with *ms set when text is
 * 1 or more decimal digits (leading zeros are fine) worth at most
 * RTM_PROGRESS_DELAY_MAX_MS; false, *ms untouched, for anything else (NULL,
 * empty, a sign, spaces, other bytes, a larger value of any length). */
bool rtm_progress_parse_delay(const char *text, uint64_t *ms);

/* Formats the line into buf (no "\r", no newline): the percent, the rate
 * in events/s and the ETA; shared with the tests. */
void rtm_progress_format(char *buf, size_t len, const char *what, double fraction,
                         double events_per_s, double eta_s);

#endif
