/*
 * The demo's logger (ESP-IDF style: "I (1234) TAG: message") and the rtmem
 * output hook, which sorts rtmem's lines by their first bytes:
 *   {"rtmem":...          telemetry (monitor.h)  -> the telemetry file
 *   a/A/r/f events,
 *   "# rtmem-trace ..." and
 *   "# rtmem-record ..."  the trace stream       -> the trace file
 *                         (the second: where the program is loaded, which
 *                         rtmem leaks --elf needs for this PIE's callers)
 *   anything else         reports                -> the console, as log lines
 * Lines come from every task at once (the trace stream from inside heap
 * locks), so one mutex orders them; it is taken by nothing else.
 */
#define _POSIX_C_SOURCE 200809L

#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <time.h>

#include "rtmem/output.h"
#include "sim.h"

static pthread_mutex_t g_lock = PTHREAD_MUTEX_INITIALIZER;
static FILE *g_telemetry;
static FILE *g_trace;
static bool g_quiet;
static char g_text_level = 'I';
static const char *g_text_tag = "rtmem";
static char g_telemetry_path[1024];
static char g_trace_path[1024];
static struct timespec g_start;
static bool g_started;

static void start_clock(void)
{
    if (!g_started) {
        clock_gettime(CLOCK_MONOTONIC, &g_start);
        g_started = true;
    }
}

uint32_t sim_ms(void)
{
    start_clock();
    struct timespec now;
    clock_gettime(CLOCK_MONOTONIC, &now);
    int64_t ms = (int64_t)(now.tv_sec - g_start.tv_sec) * 1000 +
                 (now.tv_nsec - g_start.tv_nsec) / 1000000;
    return (uint32_t)ms;
}

/* Caller holds g_lock. */
static void put_line(char level, const char *tag, const char *text, size_t len)
{
    while (len > 0 && (text[len - 1] == '\n' || text[len - 1] == '\r')) {
        len--;
    }
    printf("%c (%u) %s: %.*s\n", level, (unsigned)sim_ms(), tag, (int)len, text);
}

static void vlog(char level, const char *tag, bool always, const char *fmt, va_list ap)
{
    if (g_quiet && !always && level == 'I') {
        return;
    }
    char text[512];
    vsnprintf(text, sizeof text, fmt, ap);
    pthread_mutex_lock(&g_lock);
    put_line(level, tag, text, strlen(text));
    pthread_mutex_unlock(&g_lock);
}

void sim_log(char level, const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog(level, tag, false, fmt, ap);
    va_end(ap);
}

void sim_report(const char *tag, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    vlog('I', tag, true, fmt, ap);
    va_end(ap);
}

void sim_title(const char *title)
{
    sim_report("demo", "==================== %s ====================", title);
}

void sim_log_route_text(char level, const char *tag)
{
    pthread_mutex_lock(&g_lock);
    g_text_level = level;
    g_text_tag = tag;
    pthread_mutex_unlock(&g_lock);
}

static bool starts_with(const char *text, size_t len, const char *prefix)
{
    size_t n = strlen(prefix);
    return len >= n && memcmp(text, prefix, n) == 0;
}

static bool is_trace_line(const char *text, size_t len)
{
    if (len >= 2 && text[1] == ' ' &&
        (text[0] == 'a' || text[0] == 'A' || text[0] == 'r' || text[0] == 'f')) {
        return true;
    }
    return starts_with(text, len, "# rtmem-trace") || starts_with(text, len, "# rtmem-record ");
}

static void route_output(const char *text, size_t len, void *ctx)
{
    (void)ctx;
    pthread_mutex_lock(&g_lock);
    if (starts_with(text, len, "{\"rtmem\":")) {
        if (g_telemetry != NULL) {
            fwrite(text, 1, len, g_telemetry);
        }
    } else if (is_trace_line(text, len)) {
        if (g_trace != NULL) {
            fwrite(text, 1, len, g_trace);
        }
    } else if (!(g_quiet && g_text_level == 'I' && strcmp(g_text_tag, "rtmem") == 0)) {
        put_line(g_text_level, g_text_tag, text, len);
    }
    pthread_mutex_unlock(&g_lock);
}

void sim_trace_comment(const char *text)
{
    pthread_mutex_lock(&g_lock);
    if (g_trace != NULL) {
        fprintf(g_trace, "%s\n", text);
    }
    pthread_mutex_unlock(&g_lock);
}

static FILE *open_out(char *path, size_t cap, const char *dir, const char *name)
{
    int n = snprintf(path, cap, "%s/%s", dir, name);
    if (n < 0 || (size_t)n >= cap) {
        sim_log('E', "demo", "output path too long: %s/%s", dir, name);
        return NULL;
    }
    FILE *f = fopen(path, "w");
    if (f == NULL) {
        sim_log('E', "demo", "cannot write %s", path);
    }
    return f;
}

bool sim_log_open(const char *dir, bool quiet)
{
    start_clock();
    g_quiet = quiet;
    g_telemetry = open_out(g_telemetry_path, sizeof g_telemetry_path, dir,
                           "firmware_sim.telemetry.jsonl");
    g_trace = open_out(g_trace_path, sizeof g_trace_path, dir, "firmware_sim.trace");
    if (g_telemetry == NULL || g_trace == NULL) {
        sim_log_close();
        return false;
    }
    rtm_output_set(route_output, NULL);
    return true;
}

void sim_log_close(void)
{
    rtm_output_set(NULL, NULL);
    pthread_mutex_lock(&g_lock);
    if (g_telemetry != NULL) {
        fclose(g_telemetry);
        g_telemetry = NULL;
    }
    if (g_trace != NULL) {
        fclose(g_trace);
        g_trace = NULL;
    }
    pthread_mutex_unlock(&g_lock);
    fflush(stdout);
}

const char *sim_telemetry_path(void)
{
    return g_telemetry_path;
}

const char *sim_trace_path(void)
{
    return g_trace_path;
}
