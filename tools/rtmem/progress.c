/* Progress line on stderr (progress.h). */
#define _POSIX_C_SOURCE 200809L
#include "progress.h"

#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "escape.h"

#define REDRAW_NS 200000000ull

static uint64_t mono_ns(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000ull + (uint64_t)ts.tv_nsec;
}

bool rtm_progress_parse_delay(const char *text, uint64_t *ms)
{
    if (text == NULL) {
        return false;
    }
    uint64_t v = 0;
    bool over = false;
    size_t digits = rtm_parse_u64(text, SIZE_MAX, &v, &over);
    if (digits == 0 || text[digits] != '\0' || over || v > RTM_PROGRESS_DELAY_MAX_MS) {
        return false;
    }
    *ms = v;
    return true;
}

/* The delay before the line appears, from the environment (progress.h). */
static uint64_t delay_from_env(FILE *out)
{
    static bool warned;
    uint64_t ms = RTM_PROGRESS_DELAY_MS;
    const char *env = getenv("RTMEM_PROGRESS_DELAY_MS");
    if (env != NULL && env[0] != '\0' && !rtm_progress_parse_delay(env, &ms) && !warned) {
        warned = true;
        rtm_esc_msg(out,
                    "rtmem: RTMEM_PROGRESS_DELAY_MS='%s' is not a number of milliseconds "
                    "from 0 to %u; using %u",
                    env, RTM_PROGRESS_DELAY_MAX_MS, RTM_PROGRESS_DELAY_MS);
    }
    return ms * 1000000ull;
}

void rtm_progress_init(rtm_progress_t *p, FILE *out, const char *what, bool quiet)
{
    memset(p, 0, sizeof *p);
    p->what = what;
    p->delay_ns = (uint64_t)RTM_PROGRESS_DELAY_MS * 1000000ull;
    if (!quiet && out != NULL && isatty(fileno(out))) {
        p->out = out;
        p->delay_ns = delay_from_env(out);
    }
    p->start_ns = mono_ns();
}

void rtm_progress_events(rtm_progress_t *p, uint64_t n)
{
    p->events += n;
}

static const char *scaled(double v, char *buf, size_t len)
{
    if (v >= 1e6) {
        (void)snprintf(buf, len, "%.1fM", v / 1e6);
    } else if (v >= 1e3) {
        (void)snprintf(buf, len, "%.1fk", v / 1e3);
    } else {
        (void)snprintf(buf, len, "%.0f", v);
    }
    return buf;
}

void rtm_progress_format(char *buf, size_t len, const char *what, double fraction,
                         double events_per_s, double eta_s)
{
    char rate[32];
    char eta[32];
    if (eta_s < 0.0) {
        (void)snprintf(eta, sizeof eta, "?");
    } else if (eta_s < 120.0) {
        (void)snprintf(eta, sizeof eta, "%.0f s", eta_s);
    } else {
        (void)snprintf(eta, sizeof eta, "%.0f min", eta_s / 60.0);
    }
    (void)snprintf(buf, len, "%s: %3.0f%% %s events/s ETA %s", what, fraction * 100.0,
                   scaled(events_per_s, rate, sizeof rate), eta);
}

void rtm_progress_update(rtm_progress_t *p, double fraction)
{
    if (p->out == NULL) {
        return;
    }
    uint64_t now = mono_ns();
    uint64_t elapsed = now - p->start_ns;
    if (elapsed < p->delay_ns || (p->shown && now - p->last_ns < REDRAW_NS)) {
        return;
    }
    if (fraction < 0.0) {
        fraction = 0.0;
    } else if (fraction > 1.0) {
        fraction = 1.0;
    }
    double secs = (double)elapsed / 1e9;
    double eta = fraction > 0.001 ? secs * (1.0 - fraction) / fraction : -1.0;
    char line[128];
    rtm_progress_format(line, sizeof line, p->what, fraction, (double)p->events / secs, eta);
    /* Clear to the end of the line: the previous line may have been longer. */
    fprintf(p->out, "\r%s\033[K", line);
    fflush(p->out);
    p->shown = true;
    p->last_ns = now;
}

void rtm_progress_done(rtm_progress_t *p)
{
    if (p->out != NULL && p->shown) {
        fputs("\r\033[K", p->out);
        fflush(p->out);
    }
    p->shown = false;
}
