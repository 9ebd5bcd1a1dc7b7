/*
 * firmware_sim: a simulated ESP32 application on the host (docs/demo.md).
 *
 * Shared pieces: the options, the ESP-IDF-style logger, the router that
 * sends rtmem's output to the console, the telemetry file or the trace
 * file, the simulated tasks and the four reports.
 */
#ifndef FIRMWARE_SIM_H
#define FIRMWARE_SIM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtmem/caps.h"
#include "rtmem/heap.h"
#include "rtmem/monitor.h"
#include "rtmem/pool.h"
#include "rtmem/stack.h"
#include "rtmem/task_stats.h"
#include "rtmem/trace.h"

/* ------------------------------------------------------------------ */
/* Options                                                             */

typedef struct sim_options {
    unsigned seconds;           /* how long the tasks run */
    const char *preset;         /* "esp32", ... */
    rtm_strategy_id_t strategy; /* of every region */
    bool quiet;                 /* reports, warnings and errors only */
    const char *out_dir;        /* where the telemetry and trace files go */
} sim_options_t;

/* ------------------------------------------------------------------ */
/* Logging (log.c)                                                     */

/* Opens the telemetry and trace files in dir and installs the rtmem
 * output hook. False (with a message) if a file cannot be opened. */
bool sim_log_open(const char *dir, bool quiet);
/* Flushes and closes both files, removes the hook. */
void sim_log_close(void);
const char *sim_telemetry_path(void);
const char *sim_trace_path(void);

/* Milliseconds since the program started. */
uint32_t sim_ms(void);

/* One line "L (ms) TAG: message" on stdout. Level 'I' lines are chatter
 * (hidden by --quiet); sim_report lines are results and always shown. */
void sim_log(char level, const char *tag, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
void sim_report(const char *tag, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 2, 3)))
#endif
    ;
/* A part's title line. */
void sim_title(const char *title);

/* rtmem text lines (leak reports, recommendations...) that are not
 * telemetry or trace events are logged with this level and tag until the
 * next call. */
void sim_log_route_text(char level, const char *tag);

/* Writes a comment line straight into the trace file ("# checkpoint ..."). */
void sim_trace_comment(const char *text);

/* ------------------------------------------------------------------ */
/* The application (app.c)                                             */

/* Everything the tasks share. Filled by main before the tasks start. */
typedef struct sim_app {
    const sim_options_t *opt;
    rtm_trace_t *trace;
    rtm_task_stats_t *stats;
    rtm_monitor_t *monitor;
    rtm_heap_t *leak_heap;      /* where the reconnect task's leak lands */
    rtm_pool_t *sensor_pool;
    rtm_heap_t *http_heap;      /* the HTTP server's private heap */
    bool has_psram;
} sim_app_t;

extern sim_app_t g_app;

/* False once the run is over: every task loop checks it. */
bool sim_running(void);
void sim_stop_all(void);

/* Touches the calling thread's stack down to `percent` of its size (the
 * deep call path of a task: a TLS handshake, a JSON parser). stack and
 * size are the thread's own. */
void sim_touch_stack(const uint8_t *stack, size_t size, unsigned percent);

/* A pseudo-random number in [0, n) from a per-task state. */
uint32_t sim_rand(uint32_t *state, uint32_t n);

/* ------------------------------------------------------------------ */
/* Tasks                                                               */

typedef struct sim_task sim_task_t;
typedef void (*sim_task_fn)(sim_task_t *self);

struct sim_task {
    const char *name;
    sim_task_fn body;
    uint8_t *stack;
    size_t stack_size;
    unsigned stack_percent;    /* how deep its worst call path goes */
    rtm_thread_t thread;
    rtm_monitor_task_t watch;
    uint32_t rng;
    /* Per-task results for the reports. */
    uint32_t count_a, count_b, count_c, count_d;
};

/* tasks_net.c */
void sim_boot_wifi(void);     /* the Wi-Fi driver's boot-time buffers */
void sim_shutdown_wifi(void);
void task_wifi(sim_task_t *self);
void task_reconnect(sim_task_t *self);
/* The file and line of the leaking allocation, for the report. */
const char *sim_leak_file(void);
uint32_t sim_leak_line(void);

/* tasks_app.c */
bool sim_boot_sensors(void); /* the sensor message pool and queue */
void sim_shutdown_sensors(void);
void task_sensor_imu(sim_task_t *self);
void task_sensor_env(sim_task_t *self);
void task_consumer(sim_task_t *self);
rtm_heap_t *sim_boot_http(rtm_heap_t *parent);
void task_http(sim_task_t *self);
void task_camera(sim_task_t *self);
void sim_report_pools(const sim_task_t *imu, const sim_task_t *env, const sim_task_t *consumer);

/* creation.c: part 1 */
void sim_part_creation(rtm_heap_t *parent);

#endif
