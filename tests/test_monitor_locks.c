/*
 * The monitor's lock rules (monitor.h, "Threads and locks"), checked from
 * inside the port:
 *   - the monitor's lock is never held while it calls a heap, capability,
 *     pool, trace, task-statistics or stack function, or the output hook:
 *     no other rtmem lock is taken while the calling thread holds it, the
 *     stack query and the output hook never run with it held;
 *   - alert callbacks run with no rtmem lock held, and may call rtmem;
 *   - the observers take the monitor's lock and no other.
 *
 * This program is the POSIX port with rtm_port_lock, rtm_port_unlock and
 * rtm_stack_usage replaced: the port's source is compiled here with those
 * three renamed, and the replacements below keep, per thread, the locks it
 * holds, note every breach of the rules, then call the port's own. Every
 * other port function is the POSIX one, so the library's own port object
 * is not linked. A breach is noted rather than failed on the spot (it may
 * happen in a library call, where cmocka's longjmp would leave locks
 * held); each test asserts that none was noted.
 */
#define rtm_port_lock rtm_posix_port_lock
#define rtm_port_unlock rtm_posix_port_unlock
#define rtm_stack_usage rtm_posix_stack_usage
#include "../src/port/posix.c"
#undef rtm_port_lock
#undef rtm_port_unlock
#undef rtm_stack_usage

#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/caps.h"
#include "rtmem/monitor.h"
#include "rtmem/observer.h"
#include "rtmem/output.h"
#include "rtmem/pool.h"
#include "rtmem/task_stats.h"
#include "rtmem/trace.h"
#include "support/test_support.h"

void rtm_port_lock(rtm_port_lock_t *lock);
void rtm_port_unlock(rtm_port_lock_t *lock);
bool rtm_stack_usage(uintptr_t task, rtm_stack_usage_t *out);

/* ------------------------------------------------------------------ */
/* Lock bookkeeping                                                    */

#define MAX_HELD 8

/* The locks the calling thread holds, oldest first. */
static _Thread_local rtm_port_lock_t *t_held[MAX_HELD];
static _Thread_local size_t t_held_count;
/* Set while the thread runs one of the monitor's observers. */
static _Thread_local bool t_in_observer;

/* The monitor under test: its lock is the one the rules are about. */
static rtm_monitor_t *g_mon;

/* One thread runs every test here (rtm_monitor_run included), so the
 * record of breaches needs no lock. */
static unsigned g_breaches;
static char g_first_breach[256];

static void breach(const char *what)
{
    if (g_breaches++ == 0) {
        snprintf(g_first_breach, sizeof g_first_breach, "%s", what);
    }
}

static bool holds(const rtm_port_lock_t *lock)
{
    for (size_t i = 0; i < t_held_count; i++) {
        if (t_held[i] == lock) {
            return true;
        }
    }
    return false;
}

static bool holds_monitor_lock(void)
{
    return g_mon != NULL && holds(&g_mon->lock);
}

void rtm_port_lock(rtm_port_lock_t *lock)
{
    if (holds(lock)) {
        breach("a lock taken again by the thread that holds it (a deadlock)");
    }
    if (holds_monitor_lock() && lock != &g_mon->lock) {
        breach("another rtmem lock taken while the monitor's lock is held");
    }
    if (t_in_observer && (g_mon == NULL || lock != &g_mon->lock)) {
        breach("a monitor observer took a lock other than the monitor's");
    }
    rtm_posix_port_lock(lock);
    if (t_held_count < MAX_HELD) {
        t_held[t_held_count] = lock;
    } else {
        breach("more than MAX_HELD locks held at once");
    }
    t_held_count++;
}

void rtm_port_unlock(rtm_port_lock_t *lock)
{
    size_t n = t_held_count < MAX_HELD ? t_held_count : MAX_HELD;
    size_t i = n;
    while (i > 0 && t_held[i - 1u] != lock) {
        i--;
    }
    if (i == 0) {
        breach("a lock released that the thread does not hold");
    } else {
        memmove(&t_held[i - 1u], &t_held[i], (n - i) * sizeof t_held[0]);
        t_held_count--;
    }
    rtm_posix_port_unlock(lock);
}

/* ------------------------------------------------------------------ */
/* The stack query: a task of the test's own with known figures        */

#define STACK_TASK ((uintptr_t)0x5a5a)
static unsigned g_stack_queries;

bool rtm_stack_usage(uintptr_t task, rtm_stack_usage_t *out)
{
    if (holds_monitor_lock()) {
        breach("rtm_stack_usage called with the monitor's lock held");
    }
    g_stack_queries++;
    if (task == STACK_TASK && out != NULL) {
        /* 95% of a 4 KiB stack used: over any max_stack_percent below. */
        out->size = 4096;
        out->peak_used = 3900;
        out->min_free = 196;
        return true;
    }
    return rtm_posix_stack_usage(task, out);
}

/* ------------------------------------------------------------------ */
/* The output hook, the alert callback and the observers               */

static unsigned g_output_lines;

static void output_hook(const char *text, size_t len, void *ctx)
{
    (void)text;
    (void)len;
    (void)ctx;
    if (holds_monitor_lock()) {
        breach("the output hook ran with the monitor's lock held");
    }
    g_output_lines++;
}

typedef struct alert_ctx {
    rtm_heap_t *heap;
    rtm_pool_t *pool;
    unsigned alerts;
    unsigned raised;
    unsigned locked_calls; /* callbacks that found a lock held */
    bool stop_monitor;     /* rtm_monitor_stop from the callback */
} alert_ctx_t;

static void on_alert(const rtm_alert_t *alert, void *ctx)
{
    alert_ctx_t *a = ctx;
    a->alerts++;
    a->raised += alert->raised;
    if (t_held_count != 0) {
        a->locked_calls++;
        breach("an alert callback ran with an rtmem lock held");
        /* Calling rtmem now could deadlock the test: rtm_monitor_run is
         * stopped by hand (this thread is the one that runs it). */
        g_mon->stop = a->stop_monitor;
        return;
    }
    /* "it may call rtmem": the watched objects and the monitor itself. */
    rtm_heap_info_t hi;
    assert_true(rtm_heap_info(a->heap, &hi));
    rtm_pool_info_t pi;
    assert_true(rtm_pool_info(a->pool, &pi));
    rtm_monitor_status_t ms;
    assert_true(rtm_monitor_status(g_mon, &ms));
    rtm_recommendation_t rec[4];
    (void)rtm_monitor_recommend(g_mon, rec, 4);
    if (a->stop_monitor) {
        rtm_monitor_stop(g_mon);
    }
}

static unsigned g_observer_calls;

static void heap_observer(const rtm_heap_event_t *event, void *ctx)
{
    t_in_observer = true;
    rtm_monitor_heap_observer(event, ctx);
    t_in_observer = false;
    g_observer_calls++;
}

static void caps_observer(const void *ptr, size_t size, rtm_caps_t caps,
                          const rtm_caps_region_t *region, void *ctx)
{
    t_in_observer = true;
    rtm_monitor_caps_observer(ptr, size, caps, region, ctx);
    t_in_observer = false;
    g_observer_calls++;
}

/* ------------------------------------------------------------------ */
/* The scene: every kind of watch, every consumer of heap events        */

static uint32_t g_now;
static uint32_t fake_clock(void)
{
    return g_now;
}

static _Alignas(16) uint8_t g_heap_mem[32 * 1024];
static _Alignas(16) uint8_t g_dram[48 * 1024];
static _Alignas(16) uint8_t g_psram[96 * 1024];
static _Alignas(16) uint8_t g_pool_mem[2048];
static _Alignas(16) uint8_t g_trace_mem[16 * 1024];
RTM_TASK_STATS_DEFINE(g_stats_mem, 8, 256);

static void reset_bookkeeping(void)
{
    g_breaches = 0;
    g_first_breach[0] = '\0';
    g_output_lines = 0;
    g_observer_calls = 0;
    g_stack_queries = 0;
}

static void assert_no_breach(void)
{
    if (g_breaches != 0) {
        fail_msg("%u breach(es) of the monitor's lock rules; the first: %s", g_breaches,
                 g_first_breach);
    }
    assert_int_equal(t_held_count, 0);
}

/* One monitor over a heap (with the monitor, a tracer and task statistics
 * observing it), two capability regions watched one by one and as a set,
 * a pool and two tasks; telemetry on. The heap leaks until the leak-trend
 * alert is raised (the tracing advice asks the tracer's state), the pool
 * runs dry, a task's stack is over its limit; recommendations printed,
 * every query asked, then everything freed so the alerts clear. */
static void test_monitor_lock_rules(void **state)
{
    (void)state;
    reset_bookkeeping();
    rtm_output_set(output_hook, NULL);

    rtm_heap_config_t hc = {0};
    hc.strategy = &rtm_strategy_tlsf;
    hc.name = "app";
    rtm_heap_t *heap = rtm_heap_init(g_heap_mem, sizeof g_heap_mem, &hc);
    assert_non_null(heap);

    static rtm_pool_t pool;
    rtm_pool_config_t pc = {0};
    pc.name = "msgs";
    pc.block_size = 32;
    pc.count = 8;
    assert_non_null(rtm_pool_init(&pool, g_pool_mem, sizeof g_pool_mem, &pc));

    rtm_trace_t *trace = rtm_trace_init(g_trace_mem, sizeof g_trace_mem);
    assert_non_null(trace);
    assert_true(rtm_trace_start(trace, RTM_TRACE_LEAKS));
    rtm_task_stats_t *stats = rtm_task_stats_init(g_stats_mem, sizeof g_stats_mem, 8, 0);
    assert_non_null(stats);

    alert_ctx_t actx = {0};
    actx.heap = heap;
    actx.pool = &pool;
    rtm_monitor_config_t cfg = RTM_MONITOR_CONFIG_DEFAULT;
    cfg.period_ms = 1; /* due on every tick of the fake clock; run sleeps 1 ms */
    cfg.trend_window_ms = 10000;
    cfg.hysteresis_percent = 10;
    cfg.max_stack_percent = 80;
    cfg.telemetry = true;
    cfg.on_alert = on_alert;
    cfg.alert_ctx = &actx;
    cfg.task_stats = stats;
    cfg.trace = trace;
    cfg.clock_ms = fake_clock;
    static rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    g_mon = &mon;

    static rtm_observer_chain_t chain;
    rtm_observer_chain_init(&chain);
    assert_true(rtm_observer_chain_add(&chain, rtm_trace_observer, trace));
    assert_true(rtm_observer_chain_add(&chain, rtm_task_stats_observer, stats));
    assert_true(rtm_observer_chain_add(&chain, heap_observer, &mon));
    rtm_observer_chain_attach(&chain, heap);

    ts_caps_dram_psram(g_dram, sizeof g_dram, g_psram, sizeof g_psram);
    rtm_caps_set_observer(caps_observer, &mon);

    static rtm_monitor_sample_t heap_hist[32], region_hist[2 * 16], set_hist[16];
    static rtm_monitor_mem_t heap_w, region_w[2], set_w;
    static rtm_monitor_pool_t pool_w;
    static rtm_monitor_task_t self_w, stack_w;
    rtm_monitor_limits_t lim = {0};
    lim.low_free = 8 * 1024;
    lim.need_block = 2048;
    lim.leak_bytes_per_min = 500;
    lim.max_frag_permille = 500;
    assert_true(rtm_monitor_watch_heap(&mon, &heap_w, heap, "app", &lim, heap_hist, 32));
    assert_int_equal(rtm_monitor_watch_regions(&mon, region_w, 2, &lim, region_hist, 16), 2);
    assert_true(rtm_monitor_watch_caps(&mon, &set_w, RTM_CAP_8BIT, "8bit", &lim, set_hist, 16));
    assert_true(rtm_monitor_watch_pool(&mon, &pool_w, &pool));
    assert_true(rtm_monitor_watch_task(&mon, &self_w, rtm_port_task_id(), "main", 0));
    assert_true(rtm_monitor_watch_task(&mon, &stack_w, STACK_TASK, "worker", 0));

    /* A leak: 100 bytes a second for 12 seconds, sampled every second;
     * large buffers with no DMA need in internal RAM. */
    void *leak[12];
    void *big[4];
    for (int i = 0; i < 12; i++) {
        leak[i] = rtm_malloc(heap, 100);
        assert_non_null(leak[i]);
        if (i < 4) {
            big[i] = rtm_caps_malloc(10 * 1024, RTM_CAP_8BIT);
            assert_non_null(big[i]);
        }
        assert_true(rtm_monitor_tick(&mon));
        g_now += 1000;
    }
    /* The pool runs dry. */
    void *blk[8];
    for (int i = 0; i < 8; i++) {
        blk[i] = rtm_pool_alloc(&pool);
        assert_non_null(blk[i]);
    }
    rtm_monitor_sample(&mon);
    g_now += 1000;

    rtm_monitor_mem_status_t st;
    assert_true(rtm_monitor_mem_status(&mon, &heap_w, &st));
    assert_true((st.alerts & (1u << RTM_ALERT_LEAK_TREND)) != 0);
    rtm_recommendation_t rec[16];
    size_t n = rtm_monitor_recommend(&mon, rec, 16);
    bool tracing_advice = false;
    for (size_t i = 0; i < n; i++) {
        tracing_advice |= rec[i].kind == RTM_REC_ENABLE_TRACING;
    }
    assert_true(tracing_advice);
    assert_true(rtm_monitor_print_recommendations(&mon) > 0);
    rtm_monitor_emit_telemetry(&mon);
    rtm_monitor_status_t ms;
    assert_true(rtm_monitor_status(&mon, &ms));
    rtm_monitor_pool_status_t ps;
    assert_true(rtm_monitor_pool_status(&mon, &pool_w, &ps));
    rtm_monitor_task_status_t ts;
    assert_true(rtm_monitor_task_status(&mon, &stack_w, &ts));
    assert_true(ts.stack_known);
    rtm_monitor_sample_t s;
    size_t kept = 0;
    assert_true(rtm_monitor_history(&mon, &heap_w, 0, &s, &kept));

    /* Everything back: the alerts clear. rtm_monitor_run, stopped by the
     * first of those callbacks, takes this sample. */
    for (int i = 0; i < 8; i++) {
        rtm_pool_free(&pool, blk[i]);
    }
    for (int i = 0; i < 12; i++) {
        rtm_free(heap, leak[i]);
    }
    for (int i = 0; i < 4; i++) {
        rtm_caps_free(big[i]);
    }
    unsigned raised = actx.raised;
    unsigned alerts = actx.alerts;
    actx.stop_monitor = true;
    rtm_monitor_run(&mon);
    assert_no_breach();
    assert_int_equal(actx.locked_calls, 0);

    /* Every path above ran: raised alerts of several kinds (low free in
     * DRAM, the leak trend, the pool, the stack), alerts cleared in the
     * run, telemetry and advice lines, observer calls, stack queries. */
    assert_true(raised >= 4);
    assert_true(actx.alerts > alerts);
    assert_true(g_output_lines > 20);
    assert_true(g_observer_calls >= 24 + 4);
    assert_true(g_stack_queries >= 2 * 14);

    rtm_caps_set_observer(NULL, NULL);
    rtm_heap_set_observer(heap, NULL, NULL);
    rtm_caps_deinit();
    rtm_monitor_deinit(&mon);
    g_mon = NULL;
    rtm_trace_stop(trace);
    rtm_trace_deinit(trace);
    rtm_task_stats_deinit(stats);
    rtm_heap_deinit(heap);
    rtm_output_set(NULL, NULL);
}

/* The bookkeeping itself: a lock taken while the monitor's is held, and an
 * output line written under it, are noted (so a passing test above means
 * something). */
static void test_bookkeeping_sees_a_breach(void **state)
{
    (void)state;
    reset_bookkeeping();
    rtm_output_set(output_hook, NULL);
    static rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, NULL));
    g_mon = &mon;
    rtm_heap_config_t hc = {0};
    rtm_heap_t *heap = rtm_heap_init(g_heap_mem, sizeof g_heap_mem, &hc);
    assert_non_null(heap);

    rtm_port_lock(&mon.lock);
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(heap, &info));
    assert_int_equal(g_breaches, 1);
    assert_non_null(strstr(g_first_breach, "while the monitor's lock is held"));
    rtm_line_t line;
    rtm_line_init(&line);
    rtm_line_str(&line, "under the monitor's lock");
    rtm_line_emit(&line);
    assert_int_equal(g_breaches, 2);
    rtm_port_unlock(&mon.lock);
    assert_int_equal(t_held_count, 0);

    rtm_heap_deinit(heap);
    rtm_monitor_deinit(&mon);
    g_mon = NULL;
    rtm_output_set(NULL, NULL);
    reset_bookkeeping();
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bookkeeping_sees_a_breach),
        cmocka_unit_test(test_monitor_lock_rules),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
