/*
 * firmware_sim: a simulated ESP32 application, run on the host.
 *
 *   firmware_sim [--seconds N] [--preset NAME] [--strategy NAME] [--out DIR] [--quiet]
 *
 * Boots the chip's memory map (a capability-region preset), measures how
 * objects are created (part 1), runs seven tasks as threads with painted
 * stacks for --seconds while a monitor samples everything, then reports
 * the pool under concurrency (part 2), the leak a checkpoint finds (part
 * 3) and the monitor's status, alerts and recommendations (part 4).
 * Telemetry and the heap trace go to files for the host tools.
 * docs/demo.md describes the run.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "rtmem/observer.h"
#include "rtmem/output.h"
#include "rtmem/port.h"
#include "rtmem/presets/esp32.h"
#include "rtmem/presets/esp32s3.h"
#include "rtmem/presets/generic.h"
#include "rtmem/presets/rp2040.h"
#include "rtmem/presets/stm32h743.h"
#include "sim.h"

#define DEFAULT_SECONDS 8u
#define MAX_SECONDS 3600u

/* Sanitizers make frames larger (ASan), or want room of their own on every
 * thread's stack (TSan: about 135 KiB): give every stack room for that. */
#if defined(__SANITIZE_THREAD__)
#define STACK_SCALE 6u
#elif defined(__SANITIZE_ADDRESS__)
#define STACK_SCALE 2u
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define STACK_SCALE 6u
#elif __has_feature(address_sanitizer)
#define STACK_SCALE 2u
#endif
#endif
#ifndef STACK_SCALE
#define STACK_SCALE 1u
#endif
#define KIB(n) ((n) * 1024u * STACK_SCALE)

RTM_STACK_STORAGE(s_stack_wifi, KIB(48));
RTM_STACK_STORAGE(s_stack_imu, KIB(32));
RTM_STACK_STORAGE(s_stack_env, KIB(24));
RTM_STACK_STORAGE(s_stack_consumer, KIB(32));
RTM_STACK_STORAGE(s_stack_http, KIB(32));
RTM_STACK_STORAGE(s_stack_camera, KIB(64));
RTM_STACK_STORAGE(s_stack_mqtt, KIB(32));
RTM_STACK_STORAGE(s_stack_monitor, KIB(32));

#define SIM_TASK(task_name, fn, stack_mem, percent, seed)                                          \
    {                                                                                              \
        .name = (task_name), .body = (fn), .stack = (stack_mem), .stack_size = sizeof(stack_mem),  \
        .stack_percent = (percent), .rng = (seed)                                                  \
    }

/* The last number is how deep each task's worst call path goes, in percent
 * of its stack: what the monitor's stack figures will show. */
static sim_task_t s_tasks[] = {
    SIM_TASK("wifi", task_wifi, s_stack_wifi, 72, 11),
    SIM_TASK("imu", task_sensor_imu, s_stack_imu, 93, 12),
    SIM_TASK("env", task_sensor_env, s_stack_env, 60, 13),
    SIM_TASK("consumer", task_consumer, s_stack_consumer, 55, 14),
    SIM_TASK("http", task_http, s_stack_http, 80, 15),
    SIM_TASK("camera", task_camera, s_stack_camera, 0, 16),
    SIM_TASK("mqtt", task_reconnect, s_stack_mqtt, 30, 17),
};
#define TASK_COUNT (sizeof s_tasks / sizeof s_tasks[0])
enum { T_WIFI, T_IMU, T_ENV, T_CONSUMER, T_HTTP, T_CAMERA, T_MQTT };

/* ------------------------------------------------------------------ */
/* Options                                                             */

typedef struct preset_choice {
    const char *name;
    rtm_caps_err_t (*init)(const rtm_caps_config_t *cfg);
} preset_choice_t;

static const preset_choice_t k_presets[] = {
    {"esp32", rtm_preset_esp32_init},         {"esp32s3", rtm_preset_esp32s3_init},
    {"stm32h743", rtm_preset_stm32h743_init}, {"rp2040", rtm_preset_rp2040_init},
    {"generic", rtm_preset_generic_init},
};

static void usage(FILE *f)
{
    fprintf(f,
            "usage: firmware_sim [--seconds N] [--preset NAME] [--strategy NAME] [--out DIR] "
            "[--quiet]\n"
            "  --seconds N      how long the tasks run (1..%u, default %u)\n"
            "  --preset NAME    memory map: esp32 (default), esp32s3, stm32h743, rp2040, generic\n"
            "  --strategy NAME  allocator of every region: tlsf (default), first_fit, best_fit\n"
            "  --out DIR        where firmware_sim.telemetry.jsonl and firmware_sim.trace go "
            "(default .)\n"
            "  --quiet          only the reports, warnings and errors\n"
            "  --help           this text\n",
            MAX_SECONDS, DEFAULT_SECONDS);
}

/* 0: run, 1: --help given, 2: bad usage (message printed). */
static int parse_options(int argc, char **argv, sim_options_t *opt)
{
    *opt = (sim_options_t){.seconds = DEFAULT_SECONDS, .preset = "esp32",
                           .strategy = RTM_TLSF, .out_dir = "."};
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        const char *value = i + 1 < argc ? argv[i + 1] : NULL;
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 1;
        } else if (strcmp(a, "--quiet") == 0) {
            opt->quiet = true;
        } else if (strcmp(a, "--seconds") == 0 && value != NULL) {
            char *end = NULL;
            unsigned long n = strtoul(value, &end, 10);
            if (end == value || *end != '\0' || n < 1 || n > MAX_SECONDS) {
                fprintf(stderr, "firmware_sim: --seconds takes 1..%u, not '%s'\n", MAX_SECONDS,
                        value);
                return 2;
            }
            opt->seconds = (unsigned)n;
            i++;
        } else if (strcmp(a, "--preset") == 0 && value != NULL) {
            bool known = false;
            for (size_t p = 0; p < sizeof k_presets / sizeof k_presets[0]; p++) {
                known = known || strcmp(value, k_presets[p].name) == 0;
            }
            if (!known) {
                fprintf(stderr, "firmware_sim: unknown preset '%s'\n", value);
                usage(stderr);
                return 2;
            }
            opt->preset = value;
            i++;
        } else if (strcmp(a, "--strategy") == 0 && value != NULL) {
            if (strcmp(value, "tlsf") == 0) {
                opt->strategy = RTM_TLSF;
            } else if (strcmp(value, "first_fit") == 0) {
                opt->strategy = RTM_FIRST_FIT;
            } else if (strcmp(value, "best_fit") == 0) {
                opt->strategy = RTM_BEST_FIT;
            } else {
                fprintf(stderr, "firmware_sim: unknown strategy '%s' (tlsf, first_fit, "
                                "best_fit)\n",
                        value);
                return 2;
            }
            i++;
        } else if (strcmp(a, "--out") == 0 && value != NULL) {
            opt->out_dir = value;
            i++;
        } else {
            bool needs_value = strncmp(a, "--", 2) == 0 && value == NULL;
            fprintf(stderr, "firmware_sim: %s '%s'\n",
                    needs_value ? "missing value for" : "unknown option", a);
            usage(stderr);
            return 2;
        }
    }
    return 0;
}

/* ------------------------------------------------------------------ */
/* Observation: tracer, task statistics, monitor                        */

#define TRACE_RECORDS 4096u
#define STATS_TASKS 16u
#define STATS_BLOCKS 4096u
#define MAX_REGIONS 8u
#define HISTORY 64u

RTM_TRACE_DEFINE(s_trace_mem, TRACE_RECORDS);
RTM_TASK_STATS_DEFINE(s_stats_mem, STATS_TASKS, STATS_BLOCKS);
static rtm_observer_chain_t s_chain;
static rtm_monitor_t s_monitor;
static rtm_monitor_mem_t s_region_watch[MAX_REGIONS];
static rtm_monitor_sample_t s_region_history[MAX_REGIONS * HISTORY];
static size_t s_region_watches;
static rtm_monitor_mem_t s_dma_watch, s_internal_watch;
static rtm_monitor_sample_t s_dma_history[HISTORY], s_internal_history[HISTORY];
static rtm_monitor_pool_t s_pool_watch;
static rtm_monitor_mem_t s_http_watch;
static rtm_monitor_sample_t s_http_history[HISTORY];
static rtm_thread_t s_monitor_thread;
static rtm_monitor_task_t s_monitor_task_watch;

static unsigned s_alerts_raised[RTM_ALERT_KIND_COUNT];
static unsigned s_alerts_cleared[RTM_ALERT_KIND_COUNT];

static void on_alert(const rtm_alert_t *a, void *ctx)
{
    (void)ctx;
    if (a->kind < RTM_ALERT_KIND_COUNT) {
        (a->raised ? s_alerts_raised : s_alerts_cleared)[a->kind]++;
    }
    sim_log(a->raised ? 'W' : 'I', "monitor", "alert %s %s on %s: value %lld, threshold %lld",
            rtm_alert_kind_str(a->kind), a->raised ? "RAISED" : "cleared", a->source,
            (long long)a->value, (long long)a->threshold);
}

/* The region that serves plain malloc(): where the mqtt task leaks. */
static rtm_heap_t *default_heap(void)
{
    void *probe = rtm_caps_malloc_default(16);
    if (probe == NULL) {
        probe = rtm_caps_malloc(16, RTM_CAP_DEFAULT);
    }
    rtm_heap_t *heap = rtm_caps_region_heap(rtm_caps_region_of(probe));
    rtm_caps_free(probe);
    return heap;
}

static bool start_observing(void)
{
    g_app.trace = rtm_trace_init(s_trace_mem, sizeof s_trace_mem);
    g_app.stats = rtm_task_stats_init(s_stats_mem, sizeof s_stats_mem, STATS_TASKS, 0);
    if (g_app.trace == NULL || g_app.stats == NULL) {
        sim_log('E', "demo", "tracer or task statistics refused their memory");
        return false;
    }
    rtm_trace_set_task_namer(g_app.trace, rtm_task_stats_name_of, g_app.stats);
    rtm_task_stats_set_name(g_app.stats, rtm_port_task_id(), "main");

    rtm_monitor_config_t cfg = RTM_MONITOR_CONFIG_DEFAULT;
    cfg.period_ms = 500;
    cfg.trend_window_ms = 5000;
    cfg.on_alert = on_alert;
    cfg.task_stats = g_app.stats;
    cfg.trace = g_app.trace;
    g_app.monitor = rtm_monitor_init(&s_monitor, &cfg);
    if (g_app.monitor == NULL) {
        sim_log('E', "demo", "monitor init failed");
        return false;
    }

    rtm_observer_chain_init(&s_chain);
    rtm_observer_chain_add(&s_chain, rtm_trace_observer, g_app.trace);
    rtm_observer_chain_add(&s_chain, rtm_task_stats_observer, g_app.stats);
    rtm_observer_chain_add(&s_chain, rtm_monitor_heap_observer, g_app.monitor);
    for (size_t i = 0; i < rtm_caps_region_count(); i++) {
        rtm_observer_chain_attach(&s_chain, rtm_caps_region_heap(rtm_caps_region_at(i)));
    }
    rtm_caps_set_observer(rtm_monitor_caps_observer, g_app.monitor);

    /* Every region: a slow leak anywhere is worth an alert. */
    rtm_monitor_limits_t region_limits = {.leak_bytes_per_min = 6000};
    s_region_watches = rtm_monitor_watch_regions(g_app.monitor, s_region_watch, MAX_REGIONS,
                                                 &region_limits, s_region_history, HISTORY);
    /* The application's own needs: a TLS record must always fit in DMA
     * memory, and internal RAM keeps a quarter free. */
    size_t dma_total = rtm_caps_total_size(RTM_CAP_DMA);
    if (dma_total > 0) {
        rtm_monitor_limits_t dma = {.low_free = dma_total / 4, .need_block = 16384u + 333u,
                                    .max_frag_permille = 800};
        rtm_monitor_watch_caps(g_app.monitor, &s_dma_watch, RTM_CAP_DMA, "DMA", &dma,
                               s_dma_history, HISTORY);
    }
    size_t internal_total = rtm_caps_total_size(RTM_CAP_INTERNAL | RTM_CAP_8BIT);
    if (internal_total > 0) {
        rtm_monitor_limits_t internal = {.low_min_free = internal_total / 4};
        rtm_monitor_watch_caps(g_app.monitor, &s_internal_watch, RTM_CAP_INTERNAL | RTM_CAP_8BIT,
                               "internal", &internal, s_internal_history, HISTORY);
    }
    rtm_monitor_watch_pool(g_app.monitor, &s_pool_watch, g_app.sensor_pool);

    if (!rtm_trace_start(g_app.trace, RTM_TRACE_LEAKS)) {
        return false;
    }
    rtm_trace_set_stream(g_app.trace, true);
    return true;
}

static void stop_observing(void)
{
    rtm_trace_set_stream(g_app.trace, false);
    rtm_trace_stop(g_app.trace);
    rtm_caps_set_observer(NULL, NULL);
    for (size_t i = 0; i < rtm_caps_region_count(); i++) {
        rtm_heap_set_observer(rtm_caps_region_heap(rtm_caps_region_at(i)), NULL, NULL);
    }
    rtm_monitor_deinit(g_app.monitor);
    rtm_task_stats_deinit(g_app.stats);
    rtm_trace_deinit(g_app.trace);
}

/* ------------------------------------------------------------------ */
/* Tasks                                                               */

static void task_entry(void *arg)
{
    sim_task_t *self = arg;
    rtm_task_stats_set_name(g_app.stats, rtm_port_task_id(), self->name);
    self->body(self);
}

static size_t start_tasks(void)
{
    size_t started = 0;
    for (size_t i = 0; i < TASK_COUNT; i++) {
        sim_task_t *t = &s_tasks[i];
        if (!rtm_thread_start(&t->thread, t->name, t->stack, t->stack_size, task_entry, t)) {
            sim_log('E', "demo", "task %s did not start", t->name);
            continue;
        }
        rtm_monitor_watch_task(g_app.monitor, &t->watch, rtm_thread_task_id(&t->thread), t->name,
                               0);
        sim_log('I', "demo", "task %-8s started, stack %6zu bytes (painted 0x%02X)", t->name,
                t->stack_size, RTM_STACK_FILL);
        started++;
    }
    /* The tasks' start-up allocations (camera buffers, the first TLS
     * session) are not a trend: the monitor starts sampling after them. */
    rtm_port_sleep_ms(300);
    if (rtm_thread_start(&s_monitor_thread, "monitor", s_stack_monitor, sizeof s_stack_monitor,
                         rtm_monitor_task_main, g_app.monitor)) {
        rtm_monitor_watch_task(g_app.monitor, &s_monitor_task_watch,
                               rtm_thread_task_id(&s_monitor_thread), "monitor", 0);
    } else {
        sim_log('E', "demo", "monitor thread did not start");
    }
    return started;
}

static void stop_tasks(void)
{
    sim_stop_all();
    for (size_t i = 0; i < TASK_COUNT; i++) {
        rtm_thread_join(&s_tasks[i].thread);
    }
}

/* A status line per memory every few seconds while the tasks run. */
static void log_status(void)
{
    for (size_t i = 0; i < s_region_watches; i++) {
        rtm_monitor_mem_status_t st;
        if (!rtm_monitor_mem_status(g_app.monitor, &s_region_watch[i], &st) ||
            st.total_bytes == 0) {
            continue;
        }
        char trend[48] = "n/a";
        if (st.trend_valid) {
            snprintf(trend, sizeof trend, "%+ld B/min", (long)st.trend_bytes_per_min);
        }
        sim_log('I', "monitor", "%-8s free %7zu of %7zu, min %7zu, largest %7zu, frag %3u.%u%%, "
                                "trend %s",
                st.name, st.free_bytes, st.total_bytes, st.min_free_bytes, st.largest_free,
                (unsigned)(st.frag_permille / 10), (unsigned)(st.frag_permille % 10), trend);
    }
}

/* ------------------------------------------------------------------ */
/* Reports                                                             */

static const char *base_name(const char *path)
{
    const char *slash = path != NULL ? strrchr(path, '/') : NULL;
    return slash != NULL ? slash + 1 : path;
}

/* Part 3: what is still allocated, of what was allocated after the
 * checkpoint, once every task has stopped and released its memory. */
static bool report_leaks(uint32_t checkpoint, unsigned reconnects)
{
    rtm_trace_leak_group_t groups[16];
    rtm_trace_leak_totals_t totals;
    size_t n = rtm_trace_leaks_since(g_app.trace, checkpoint, groups, 16, &totals);
    sim_report("leaks", "checkpoint seq=%u taken after boot, before the tasks started; every task "
                        "has stopped and freed what it owns",
               (unsigned)checkpoint);
    sim_log_route_text('W', "leaks");
    rtm_trace_print_leaks(groups, n, &totals);
    sim_log_route_text('I', "rtmem");
    if (n == 0) {
        sim_report("leaks", "nothing allocated after the checkpoint is left: no leak");
        return false;
    }
    const rtm_trace_leak_group_t *worst = &groups[0];
    for (size_t i = 1; i < n; i++) {
        if (groups[i].blocks > worst->blocks) {
            worst = &groups[i];
        }
    }
    if (worst->file != NULL) {
        sim_log('E', "leaks", "LEAK at %s:%u: %zu blocks, %llu bytes still allocated (%u "
                              "reconnects: one block per reconnect)",
                base_name(worst->file), (unsigned)worst->line, worst->blocks,
                (unsigned long long)worst->bytes, reconnects);
    } else {
        sim_log('E', "leaks", "LEAK from caller %p: %zu blocks, %llu bytes", worst->callers[0],
                worst->blocks, (unsigned long long)worst->bytes);
    }
    sim_report("leaks", "the leaking call site is %s:%u (RTM_MALLOC in mqtt_reconnect); the "
                        "trace file has it too: rtmem leaks %s",
               base_name(sim_leak_file()), (unsigned)sim_leak_line(), sim_trace_path());
    return true;
}

/* Part 4: the monitor's view at the end of the run. */
static void report_monitor(void)
{
    rtm_monitor_status_t status;
    rtm_monitor_status(g_app.monitor, &status);
    sim_report("monitor", "%u samples every 500 ms over %zu memories, %zu pools, %zu tasks; "
                          "%u alerts raised now",
               (unsigned)status.samples, status.memories, status.pools, status.tasks,
               (unsigned)status.alerts_raised);
    for (size_t i = 0; i < s_region_watches; i++) {
        rtm_monitor_mem_status_t st;
        if (rtm_monitor_mem_status(g_app.monitor, &s_region_watch[i], &st)) {
            sim_report("monitor", "memory %-8s size %7zu free %7zu min-ever %7zu largest %7zu "
                                  "frag %4u/1000 blocks %zu used %zu free",
                       st.name, st.total_bytes, st.free_bytes, st.min_free_bytes, st.largest_free,
                       (unsigned)st.frag_permille, st.used_blocks, st.free_blocks);
        }
    }
    rtm_monitor_pool_status_t ps;
    if (rtm_monitor_pool_status(g_app.monitor, &s_pool_watch, &ps)) {
        sim_report("monitor", "pool %s: %zu/%zu used, peak %zu, %zu failed, %zu waits", ps.name,
                   ps.used, ps.capacity, ps.peak_used, ps.failed_count, ps.wait_count);
    }
    for (size_t i = 0; i <= TASK_COUNT; i++) {
        const rtm_monitor_task_t *w = i < TASK_COUNT ? &s_tasks[i].watch : &s_monitor_task_watch;
        rtm_monitor_task_status_t ts;
        if (rtm_monitor_task_status(g_app.monitor, w, &ts) && ts.name != NULL) {
            unsigned percent =
                ts.stack_size != 0 ? (unsigned)(ts.stack_peak * 100u / ts.stack_size) : 0u;
            sim_report("monitor", "task %-8s stack %6zu peak %6zu (%3u%%) heap now %6zu peak %6zu",
                       ts.name, ts.stack_size, ts.stack_peak, percent, ts.heap_bytes,
                       ts.heap_peak);
        }
    }
    for (size_t k = 0; k < RTM_ALERT_KIND_COUNT; k++) {
        if (s_alerts_raised[k] + s_alerts_cleared[k] > 0) {
            sim_report("monitor", "alerts %-16s raised %u, cleared %u",
                       rtm_alert_kind_str((rtm_alert_kind_t)k), s_alerts_raised[k],
                       s_alerts_cleared[k]);
        }
    }
    sim_report("monitor", "recommendations:");
    sim_log_route_text('W', "advice");
    size_t recs = rtm_monitor_print_recommendations(g_app.monitor);
    sim_log_route_text('I', "rtmem");
    sim_report("monitor", "%zu recommendations (telemetry \"rec\" lines in %s)", recs,
               sim_telemetry_path());
    rtm_monitor_emit_telemetry(g_app.monitor);
}

/* ------------------------------------------------------------------ */

int main(int argc, char **argv)
{
    sim_options_t opt;
    int rc = parse_options(argc, argv, &opt);
    if (rc != 0) {
        return rc == 1 ? 0 : 2;
    }
    setvbuf(stdout, NULL, _IOLBF, 0);
    g_app.opt = &opt;
    if (!sim_log_open(opt.out_dir, opt.quiet)) {
        return 1;
    }
    sim_report("boot", "firmware_sim: preset %s, strategy %s, %u s run", opt.preset,
               rtm_strategy_name(opt.strategy), opt.seconds);

    rtm_caps_config_t caps_cfg = {.strategy = rtm_strategy_by_id(opt.strategy)};
    rtm_caps_err_t err = RTM_CAPS_ERR_ARG;
    for (size_t p = 0; p < sizeof k_presets / sizeof k_presets[0]; p++) {
        if (strcmp(opt.preset, k_presets[p].name) == 0) {
            err = k_presets[p].init(&caps_cfg);
        }
    }
    if (err != RTM_CAPS_OK) {
        sim_log('E', "boot", "preset %s: %s", opt.preset, rtm_caps_err_str(err));
        sim_log_close();
        return 1;
    }
    g_app.has_psram = rtm_caps_total_size(RTM_CAP_SPIRAM) > 0;
    sim_log_route_text('I', "heap_init");
    if (!opt.quiet) {
        rtm_caps_print_summary(0);
    }
    sim_log_route_text('I', "rtmem");
    g_app.leak_heap = default_heap();

    sim_part_creation(g_app.leak_heap);

    if (!sim_boot_sensors() || !start_observing()) {
        sim_log_close();
        return 1;
    }
    /* Boot-time objects, traced: they live until shutdown. */
    g_app.http_heap = sim_boot_http(g_app.leak_heap);
    if (g_app.http_heap != NULL) {
        rtm_observer_chain_attach(&s_chain, g_app.http_heap);
        rtm_monitor_watch_heap(g_app.monitor, &s_http_watch, g_app.http_heap, "httpd", NULL,
                               s_http_history, HISTORY);
    }
    sim_boot_wifi();
    /* Everything allocated so far lives until shutdown. Nothing else runs
     * yet, so the checkpoint and its line in the trace file agree. */
    uint32_t checkpoint = rtm_trace_checkpoint(g_app.trace);
    char line[64];
    snprintf(line, sizeof line, "# checkpoint seq=%u", (unsigned)checkpoint);
    sim_trace_comment(line);

    sim_title("Running: 7 tasks and the monitor");
    start_tasks();
    uint32_t end = sim_ms() + opt.seconds * 1000u;
    uint32_t next_status = sim_ms() + 2000u;
    while (sim_ms() < end) {
        rtm_port_sleep_ms(100);
        if (sim_ms() >= next_status) {
            log_status();
            next_status += 2000u;
        }
    }
    /* The monitor's last sample sees the tasks still running. */
    rtm_monitor_stop(g_app.monitor);
    rtm_thread_join(&s_monitor_thread);
    rtm_monitor_sample(g_app.monitor);
    stop_tasks();
    sim_shutdown_wifi();
    sim_shutdown_sensors();

    sim_title("Part 2: pool behaviour under concurrency");
    sim_report_pools(&s_tasks[T_IMU], &s_tasks[T_ENV], &s_tasks[T_CONSUMER]);

    sim_title("Part 3: the leak, found by a checkpoint");
    report_leaks(checkpoint, s_tasks[T_MQTT].count_a);

    sim_title("Part 4: the monitor: status, alerts, recommendations");
    report_monitor();

    if (g_app.http_heap != NULL) {
        rtm_heap_set_observer(g_app.http_heap, NULL, NULL);
        rtm_heap_destroy(g_app.http_heap); /* its block leaves the trace too */
    }
    stop_observing();
    sim_title("Done");
    sim_report("demo", "telemetry: %s", sim_telemetry_path());
    sim_report("demo", "trace:     %s (rtmem leaks / rtmem replay read it)", sim_trace_path());
    sim_log_close();
    rtm_caps_deinit();
    return 0;
}
