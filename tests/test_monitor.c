/* The monitor: sampling against known heap states, history and trends,
 * every alert raised and cleared once with hysteresis, each recommendation
 * rule triggered and silent, telemetry lines checked against the format of
 * docs/formats.md, task stacks through the POSIX port. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdatomic.h>
#include <inttypes.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/caps.h"
#include "rtmem/monitor.h"
#include "rtmem/port.h"
#include "rtmem/observer.h"
#include "rtmem/stack.h"
#include "support/test_support.h"

/* ------------------------------------------------------------------ */
/* A clock the tests move by hand                                      */

static uint32_t g_now;
static uint32_t fake_clock(void)
{
    return g_now;
}

/* ------------------------------------------------------------------ */
/* Alert recorder                                                      */

typedef struct alert_log {
    rtm_alert_t a[64];
    size_t n;
} alert_log_t;

static void on_alert(const rtm_alert_t *alert, void *ctx)
{
    alert_log_t *log = ctx;
    if (log->n < TS_ARRAY_LEN(log->a)) {
        log->a[log->n++] = *alert;
    }
}

static size_t count_alerts(const alert_log_t *log, rtm_alert_kind_t kind, bool raised)
{
    size_t n = 0;
    for (size_t i = 0; i < log->n; i++) {
        n += log->a[i].kind == kind && log->a[i].raised == raised;
    }
    return n;
}

/* ------------------------------------------------------------------ */
/* Output capture, line by line, large enough for telemetry            */

static char g_out[256 * 1024];
static size_t g_out_len;

static void capture(const char *text, size_t len, void *ctx)
{
    (void)ctx;
    if (g_out_len + len < sizeof g_out) {
        memcpy(g_out + g_out_len, text, len);
        g_out_len += len;
        g_out[g_out_len] = '\0';
    }
}

static void capture_start(void)
{
    g_out_len = 0;
    g_out[0] = '\0';
    rtm_output_set(capture, NULL);
}

static rtm_monitor_config_t test_config(alert_log_t *log)
{
    rtm_monitor_config_t cfg = RTM_MONITOR_CONFIG_DEFAULT;
    cfg.period_ms = 1000;
    cfg.trend_window_ms = 10000;
    cfg.hysteresis_percent = 10;
    cfg.telemetry = false;
    cfg.on_alert = on_alert;
    cfg.alert_ctx = log;
    cfg.clock_ms = fake_clock;
    return cfg;
}

static _Alignas(16) uint8_t g_arena[64 * 1024];

static rtm_heap_t *make_heap(size_t size)
{
    rtm_heap_config_t hc = {0};
    hc.strategy = &rtm_strategy_tlsf;
    rtm_heap_t *h = rtm_heap_init(g_arena, size, &hc);
    assert_non_null(h);
    return h;
}

/* ------------------------------------------------------------------ */
/* Sampling                                                            */

static void test_sample_matches_heap(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(32 * 1024);
    rtm_monitor_mem_t w;
    rtm_monitor_sample_t hist[4];
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", NULL, hist, 4));
    assert_false(rtm_monitor_watch_heap(&mon, &w, h, "ram", NULL, hist, 4)); /* twice */

    /* Fragment: 16 blocks of 512, every other one freed. */
    void *p[16];
    for (int i = 0; i < 16; i++) {
        p[i] = rtm_malloc(h, 512);
        assert_non_null(p[i]);
    }
    for (int i = 0; i < 16; i += 2) {
        rtm_free(h, p[i]);
    }
    g_now = 5000;
    rtm_monitor_sample(&mon);
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(h, &info));
    rtm_monitor_mem_status_t st;
    assert_true(rtm_monitor_mem_status(&mon, &w, &st));
    assert_string_equal(st.name, "ram");
    assert_int_equal(st.total_bytes, info.total_bytes);
    assert_int_equal(st.free_bytes, info.free_bytes);
    assert_int_equal(st.min_free_bytes, info.min_free_bytes);
    assert_int_equal(st.largest_free, info.largest_free_block);
    assert_int_equal(st.used_blocks, 8);
    assert_int_equal(st.free_blocks, info.free_blocks);
    uint32_t expect = (uint32_t)(1000u - (uint64_t)info.largest_free_block * 1000u / info.free_bytes);
    assert_int_equal(st.frag_permille, expect);
    assert_true(st.frag_permille > 0);
    assert_false(st.trend_valid);

    /* History keeps the last 4, oldest first. */
    for (uint32_t i = 1; i <= 5; i++) {
        g_now = 5000 + i * 1000;
        rtm_monitor_sample(&mon);
    }
    size_t kept = 0;
    rtm_monitor_sample_t s;
    assert_true(rtm_monitor_history(&mon, &w, 0, &s, &kept));
    assert_int_equal(kept, 4);
    assert_int_equal(s.ms, 7000);
    assert_true(rtm_monitor_history(&mon, &w, 3, &s, NULL));
    assert_int_equal(s.ms, 10000);
    assert_int_equal(s.free_bytes, info.free_bytes);
    assert_int_equal(s.used_blocks, 8);
    assert_false(rtm_monitor_history(&mon, &w, 4, &s, NULL));

    /* All free: one block, no fragmentation. */
    for (int i = 1; i < 16; i += 2) {
        rtm_free(h, p[i]);
    }
    rtm_monitor_sample(&mon);
    assert_true(rtm_monitor_mem_status(&mon, &w, &st));
    assert_int_equal(st.frag_permille, 0);
    assert_int_equal(st.used_blocks, 0);

    rtm_monitor_status_t ms;
    assert_true(rtm_monitor_status(&mon, &ms));
    assert_int_equal(ms.samples, 7);
    assert_int_equal(ms.memories, 1);
    assert_int_equal(log.n, 0); /* no limits, no alerts */
    rtm_monitor_deinit(&mon);
}

static void test_tick_period(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    g_now = 100;
    assert_true(rtm_monitor_tick(&mon));  /* first: always */
    g_now = 1099;
    assert_false(rtm_monitor_tick(&mon));
    g_now = 1100;
    assert_true(rtm_monitor_tick(&mon));
    g_now = 50; /* the clock wrapped past 2^32 since: 4294966246 ms later */
    assert_true(rtm_monitor_tick(&mon));
    rtm_monitor_status_t ms;
    assert_true(rtm_monitor_status(&mon, &ms));
    assert_int_equal(ms.samples, 3);
    rtm_monitor_deinit(&mon);
}

static void test_bad_input(void **state)
{
    (void)state;
    rtm_monitor_t mon;
    rtm_monitor_mem_t w;
    rtm_monitor_pool_t pw;
    rtm_monitor_task_t tw;
    rtm_monitor_sample_t hist[2];
    assert_null(rtm_monitor_init(NULL, NULL));
    memset(&mon, 0, sizeof mon);
    assert_false(rtm_monitor_tick(&mon)); /* never initialised */
    assert_non_null(rtm_monitor_init(&mon, NULL));
    rtm_heap_t *h = make_heap(8 * 1024);
    assert_false(rtm_monitor_watch_heap(&mon, &w, NULL, "x", NULL, NULL, 0));
    assert_false(rtm_monitor_watch_heap(&mon, NULL, h, "x", NULL, NULL, 0));
    assert_false(rtm_monitor_watch_heap(&mon, &w, h, NULL, NULL, NULL, 0));
    assert_false(rtm_monitor_watch_heap(&mon, &w, h, "x", NULL, NULL, 2)); /* ring without memory */
    assert_false(rtm_monitor_watch_heap(&mon, &w, h, "x", NULL, hist, 70000));
    assert_false(rtm_monitor_watch_caps(&mon, &w, 0, "x", NULL, NULL, 0));
    assert_false(rtm_monitor_watch_pool(&mon, &pw, NULL));
    assert_false(rtm_monitor_watch_task(&mon, &tw, 1, NULL, 0));
    assert_false(rtm_monitor_status(&mon, NULL));
    assert_int_equal(rtm_monitor_recommend(NULL, NULL, 0), 0);
    assert_int_equal(rtm_recommendation_text(NULL, NULL, 0), 0);
    rtm_monitor_heap_observer(NULL, &mon);
    rtm_monitor_deinit(&mon);
    assert_false(rtm_monitor_status(&mon, &(rtm_monitor_status_t){0}));
    assert_string_equal(rtm_alert_kind_str(RTM_ALERT_KIND_COUNT), "unknown");
    assert_string_equal(rtm_rec_kind_str(RTM_REC_POOL_FOR_SIZE), "pool_for_size");
}

/* ------------------------------------------------------------------ */
/* Status of what a monitor does not watch                             */

/* Byte patterns that tell whether a query wrote its output. */
#define UNTOUCHED 0xA5

static bool all_bytes(const void *p, size_t n, uint8_t v)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != v) {
            return false;
        }
    }
    return true;
}

/* Every per-watch query of mon on these three watches and ring says "not
 * watched": false, the output left as it was, a history count of 0. */
static void expect_not_watched(rtm_monitor_t *mon, const rtm_monitor_mem_t *mw,
                               const rtm_monitor_pool_t *pw, const rtm_monitor_task_t *tw)
{
    rtm_monitor_mem_status_t ms;
    rtm_monitor_pool_status_t ps;
    rtm_monitor_task_status_t ts;
    rtm_monitor_sample_t sample;
    memset(&ms, UNTOUCHED, sizeof ms);
    memset(&ps, UNTOUCHED, sizeof ps);
    memset(&ts, UNTOUCHED, sizeof ts);
    memset(&sample, UNTOUCHED, sizeof sample);
    assert_false(rtm_monitor_mem_status(mon, mw, &ms));
    assert_true(all_bytes(&ms, sizeof ms, UNTOUCHED));
    assert_false(rtm_monitor_pool_status(mon, pw, &ps));
    assert_true(all_bytes(&ps, sizeof ps, UNTOUCHED));
    assert_false(rtm_monitor_task_status(mon, tw, &ts));
    assert_true(all_bytes(&ts, sizeof ts, UNTOUCHED));
    size_t count = 99;
    assert_false(rtm_monitor_history(mon, mw, 0, &sample, &count));
    assert_int_equal(count, 0);
    assert_true(all_bytes(&sample, sizeof sample, UNTOUCHED));
    count = 99;
    assert_false(rtm_monitor_history(mon, mw, 0, NULL, &count));
    assert_int_equal(count, 0);
}

/* monitor.h: a watch's status is reported only by the monitor that
 * watches it. Never added (zeroed, as a static watch is), refused by the
 * watch call, added to another monitor, or added before a deinit or a
 * second init: false, *out untouched, no history; never a status of
 * zeroes that reads as "all fine, no alerts". */
static void test_status_of_unwatched(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    rtm_monitor_t other;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    assert_non_null(rtm_monitor_init(&other, &cfg));
    rtm_heap_t *h = make_heap(16 * 1024);
    static _Alignas(16) uint8_t storage[1024];
    static rtm_pool_t pool;
    rtm_pool_config_t pc = {0};
    pc.name = "msgs";
    pc.block_size = 32;
    pc.count = 4;
    assert_non_null(rtm_pool_init(&pool, storage, sizeof storage, &pc));

    /* Never added, as a static watch starts. */
    static rtm_monitor_mem_t never_mem;
    static rtm_monitor_pool_t never_pool;
    static rtm_monitor_task_t never_task;
    expect_not_watched(&mon, &never_mem, &never_pool, &never_task);
    rtm_monitor_sample(&mon);
    expect_not_watched(&mon, &never_mem, &never_pool, &never_task);

    /* Refused by the watch call. */
    rtm_monitor_mem_t refused_mem = {0};
    rtm_monitor_pool_t refused_pool = {0};
    rtm_monitor_task_t refused_task = {0};
    assert_false(rtm_monitor_watch_heap(&mon, &refused_mem, NULL, "x", NULL, NULL, 0));
    assert_false(rtm_monitor_watch_pool(&mon, &refused_pool, NULL));
    assert_false(rtm_monitor_watch_task(&mon, &refused_task, 1, NULL, 0));
    expect_not_watched(&mon, &refused_mem, &refused_pool, &refused_task);

    /* Watched by `other`, with a raised alert in each: `mon` knows none. */
    rtm_monitor_mem_t mw;
    rtm_monitor_pool_t pw;
    rtm_monitor_task_t tw;
    rtm_monitor_sample_t hist[4];
    rtm_monitor_limits_t lim = {.low_free = 64 * 1024};
    assert_true(rtm_monitor_watch_heap(&other, &mw, h, "ram", &lim, hist, 4));
    assert_true(rtm_monitor_watch_pool(&other, &pw, &pool));
    assert_true(rtm_monitor_watch_task(&other, &tw, 7, "worker", 1024));
    void *blocks[4];
    for (size_t i = 0; i < 4; i++) {
        blocks[i] = rtm_pool_alloc(&pool);
        assert_non_null(blocks[i]);
    }
    rtm_monitor_sample(&other);
    rtm_monitor_sample(&mon);
    rtm_monitor_mem_status_t ms;
    rtm_monitor_pool_status_t ps;
    assert_true(rtm_monitor_mem_status(&other, &mw, &ms));
    assert_true((ms.alerts & (1u << RTM_ALERT_LOW_FREE)) != 0);
    assert_true(rtm_monitor_pool_status(&other, &pw, &ps));
    assert_true((ps.alerts & (1u << RTM_ALERT_POOL_EXHAUSTED)) != 0);
    size_t kept = 0;
    assert_true(rtm_monitor_history(&other, &mw, 0, NULL, &kept) == false && kept == 1);
    expect_not_watched(&mon, &mw, &pw, &tw);

    /* A NULL or uninitialised monitor: not watched either. */
    expect_not_watched(NULL, &mw, &pw, &tw);
    rtm_monitor_t zeroed;
    memset(&zeroed, 0, sizeof zeroed);
    expect_not_watched(&zeroed, &mw, &pw, &tw);

    /* Deinitialised, then initialised again: the old watches are gone. */
    rtm_monitor_deinit(&other);
    expect_not_watched(&other, &mw, &pw, &tw);
    assert_non_null(rtm_monitor_init(&other, &cfg));
    expect_not_watched(&other, &mw, &pw, &tw);
    rtm_monitor_status_t st;
    assert_true(rtm_monitor_status(&other, &st));
    assert_int_equal(st.memories + st.pools + st.tasks, 0);
    assert_int_equal(st.alerts_raised, 0);

    /* Watched again but not sampled yet: true, the name, .sampled false,
     * every figure 0; a tick samples them. */
    assert_true(rtm_monitor_watch_heap(&other, &mw, h, "ram", &lim, hist, 4));
    assert_true(rtm_monitor_watch_pool(&other, &pw, &pool));
    assert_true(rtm_monitor_watch_task(&other, &tw, 7, "worker", 0));
    assert_true(rtm_monitor_mem_status(&other, &mw, &ms));
    assert_string_equal(ms.name, "ram");
    assert_false(ms.sampled);
    assert_int_equal(ms.total_bytes, 0);
    assert_int_equal(ms.alerts, 0);
    assert_true(rtm_monitor_pool_status(&other, &pw, &ps));
    assert_string_equal(ps.name, "msgs");
    assert_false(ps.sampled);
    assert_int_equal(ps.capacity, 0);
    rtm_monitor_task_status_t ts;
    assert_true(rtm_monitor_task_status(&other, &tw, &ts));
    assert_string_equal(ts.name, "worker");
    assert_false(ts.sampled);
    assert_false(ts.stack_known);
    kept = 99;
    assert_false(rtm_monitor_history(&other, &mw, 0, NULL, &kept));
    assert_int_equal(kept, 0);
    expect_not_watched(&mon, &mw, &pw, &tw);
    rtm_monitor_sample(&other);
    assert_true(rtm_monitor_mem_status(&other, &mw, &ms));
    assert_true(ms.sampled);
    assert_int_equal(ms.total_bytes, 16 * 1024);
    assert_true(rtm_monitor_pool_status(&other, &pw, &ps));
    assert_true(ps.sampled);
    assert_int_equal(ps.capacity, 4);
    assert_true(rtm_monitor_task_status(&other, &tw, &ts));
    assert_true(ts.sampled);

    for (size_t i = 0; i < 4; i++) {
        rtm_pool_free(&pool, blocks[i]);
    }
    rtm_monitor_deinit(&other);
    rtm_monitor_deinit(&mon);
}

static size_t count_lines_with(const char *text, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(text, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* monitor.h: rtm_monitor_emit_telemetry writes every watch as of the last
 * sample, and a watch not sampled yet has no line: not one of zeroes that
 * reads as a memory with nothing free or a pool of no blocks. Neither has
 * a watch whose heap refuses every reading (deinitialised before the
 * first tick): it stays unsampled, tick after tick. */
static void test_telemetry_skips_unsampled(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(16 * 1024);
    static _Alignas(16) uint8_t gone_arena[4096];
    rtm_heap_t *gone = rtm_heap_init(gone_arena, sizeof gone_arena, NULL);
    assert_non_null(gone);
    static _Alignas(16) uint8_t storage[1024];
    static rtm_pool_t pool;
    rtm_pool_config_t pc = {0};
    pc.name = "msgs";
    pc.block_size = 32;
    pc.count = 4;
    assert_non_null(rtm_pool_init(&pool, storage, sizeof storage, &pc));

    rtm_monitor_mem_t first;
    assert_true(rtm_monitor_watch_heap(&mon, &first, h, "first", NULL, NULL, 0));
    capture_start();
    rtm_monitor_emit_telemetry(&mon); /* before any sample: nothing to say */
    assert_string_equal(g_out, "");
    g_now = 1000;
    rtm_monitor_sample(&mon);

    rtm_monitor_mem_t later;
    rtm_monitor_mem_t dead;
    rtm_monitor_pool_t pw;
    rtm_monitor_task_t tw;
    assert_true(rtm_monitor_watch_heap(&mon, &later, h, "later", NULL, NULL, 0));
    assert_true(rtm_monitor_watch_heap(&mon, &dead, gone, "dead", NULL, NULL, 0));
    rtm_heap_deinit(gone);
    assert_true(rtm_monitor_watch_pool(&mon, &pw, &pool));
    assert_true(rtm_monitor_watch_task(&mon, &tw, 9, "worker", 2048));
    capture_start();
    rtm_monitor_emit_telemetry(&mon);
    assert_int_equal(count_lines_with(g_out, "\"type\":\"mem\""), 1);
    assert_int_equal(count_lines_with(g_out, "\"name\":\"first\""), 1);
    assert_int_equal(count_lines_with(g_out, "\"name\":\"later\""), 0);
    assert_int_equal(count_lines_with(g_out, "\"type\":\"pool\""), 0);
    assert_int_equal(count_lines_with(g_out, "\"type\":\"task\""), 0);

    for (int i = 0; i < 3; i++) {
        g_now += 1000;
        rtm_monitor_sample(&mon);
    }
    capture_start();
    rtm_monitor_emit_telemetry(&mon);
    rtm_output_set(NULL, NULL);
    assert_int_equal(count_lines_with(g_out, "\"type\":\"mem\""), 2);
    assert_int_equal(count_lines_with(g_out, "\"name\":\"later\""), 1);
    assert_int_equal(count_lines_with(g_out, "\"name\":\"dead\""), 0);
    assert_int_equal(count_lines_with(g_out, "\"type\":\"pool\""), 1);
    assert_int_equal(count_lines_with(g_out, "\"type\":\"task\""), 1);
    rtm_monitor_mem_status_t ms;
    assert_true(rtm_monitor_mem_status(&mon, &dead, &ms));
    assert_false(ms.sampled);
    assert_int_equal(ms.total_bytes, 0);

    /* A heap and a pool that go away after being sampled, with alerts
     * raised: their watches are unsampled again, with no figures, alerts,
     * history or telemetry line of the object that is gone. */
    static _Alignas(16) uint8_t late_arena[4096];
    rtm_heap_t *late = rtm_heap_init(late_arena, sizeof late_arena, NULL);
    assert_non_null(late);
    static rtm_monitor_sample_t late_hist[8];
    rtm_monitor_limits_t lim = {.low_free = 1u << 20};
    rtm_monitor_mem_t goes;
    assert_true(rtm_monitor_watch_heap(&mon, &goes, late, "goes", &lim, late_hist, 8));
    for (int i = 0; i < 4; i++) {
        assert_non_null(rtm_pool_alloc(&pool)); /* the pool's 4 blocks */
    }
    for (int i = 0; i < 3; i++) {
        g_now += 1000;
        rtm_monitor_sample(&mon);
    }
    assert_true(rtm_monitor_mem_status(&mon, &goes, &ms));
    assert_true(ms.sampled);
    assert_true((ms.alerts & (1u << RTM_ALERT_LOW_FREE)) != 0);
    rtm_monitor_pool_status_t ps;
    assert_true(rtm_monitor_pool_status(&mon, &pw, &ps));
    assert_true((ps.alerts & (1u << RTM_ALERT_POOL_EXHAUSTED)) != 0);
    size_t kept = 0;
    rtm_monitor_sample_t hs;
    assert_true(rtm_monitor_history(&mon, &goes, 0, &hs, &kept));
    assert_true(kept > 0);

    rtm_heap_deinit(late);
    assert_true(rtm_pool_deinit(&pool));
    size_t alerts_before = log.n;
    g_now += 1000;
    rtm_monitor_sample(&mon);
    assert_int_equal(log.n, alerts_before); /* no "cleared" for what is gone */
    assert_true(rtm_monitor_mem_status(&mon, &goes, &ms));
    assert_false(ms.sampled);
    assert_int_equal(ms.total_bytes, 0);
    assert_int_equal(ms.alerts, 0);
    assert_string_equal(ms.name, "goes");
    assert_false(rtm_monitor_history(&mon, &goes, 0, &hs, &kept));
    assert_int_equal(kept, 0);
    assert_true(rtm_monitor_pool_status(&mon, &pw, &ps));
    assert_false(ps.sampled);
    assert_int_equal(ps.alerts, 0);
    assert_int_equal(ps.capacity, 0);
    capture_start();
    rtm_monitor_emit_telemetry(&mon);
    rtm_output_set(NULL, NULL);
    assert_int_equal(count_lines_with(g_out, "\"name\":\"goes\""), 0);
    assert_int_equal(count_lines_with(g_out, "\"type\":\"pool\""), 0);
    assert_int_equal(count_lines_with(g_out, "\"name\":\"later\""), 1);
    rtm_monitor_deinit(&mon);
}

/* ------------------------------------------------------------------ */
/* Trends                                                              */

/* A heap or pool ended and initialised again at the same address between
 * two ticks never refuses a reading, so the watch would go on as if it
 * were the same object: a smaller heap's free bytes continued the old
 * history as a fall (a leak trend alert), and a fresh pool's failure count
 * of 0 against the old one read as new failures (an exhausted alert on an
 * empty pool). A reading with another size (a pool: block size or
 * capacity) or a failure count below the last is of a new object: the
 * watch is dropped as for a refusal, then reads it as its first sample. */
static void test_reinit_between_ticks_is_a_new_object(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    cfg.trend_window_ms = 20000;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(32 * 1024);
    rtm_monitor_mem_t w;
    rtm_monitor_sample_t hist[64];
    rtm_monitor_limits_t lim = {0};
    lim.leak_bytes_per_min = 2000;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", &lim, hist, 64));
    static _Alignas(16) uint8_t storage[1024];
    static rtm_pool_t pool;
    rtm_pool_config_t pc = {0};
    pc.name = "msgs";
    pc.block_size = 32;
    pc.count = 4;
    assert_non_null(rtm_pool_init(&pool, storage, sizeof storage, &pc));
    rtm_monitor_pool_t pw;
    assert_true(rtm_monitor_watch_pool(&mon, &pw, &pool));

    /* The pool fails once, raising its alert, and recovers. */
    void *b[4];
    for (int i = 0; i < 4; i++) {
        b[i] = rtm_pool_alloc(&pool);
        assert_non_null(b[i]);
    }
    assert_null(rtm_pool_alloc(&pool));
    for (int i = 0; i < 4; i++) {
        rtm_pool_free(&pool, b[i]);
    }
    g_now = 0;
    for (int i = 0; i < 12; i++) {
        g_now += 1000;
        rtm_monitor_sample(&mon);
    }
    assert_int_equal(count_alerts(&log, RTM_ALERT_POOL_EXHAUSTED, true), 1);
    assert_int_equal(count_alerts(&log, RTM_ALERT_POOL_EXHAUSTED, false), 1);
    rtm_monitor_mem_status_t ms;
    assert_true(rtm_monitor_mem_status(&mon, &w, &ms));
    assert_true(ms.trend_valid);
    size_t kept = 0;
    assert_true(rtm_monitor_history(&mon, &w, 0, &hist[63], &kept));
    assert_int_equal(kept, 12);

    /* Both end and start again at the same addresses, the heap smaller. */
    rtm_heap_deinit(h);
    h = make_heap(8 * 1024);
    assert_true(rtm_pool_deinit(&pool));
    assert_non_null(rtm_pool_init(&pool, storage, sizeof storage, &pc));
    size_t before = log.n;
    g_now += 1000;
    rtm_monitor_sample(&mon);
    assert_int_equal(log.n, before);
    assert_true(rtm_monitor_mem_status(&mon, &w, &ms));
    assert_true(ms.sampled);
    assert_int_equal(ms.total_bytes, 8 * 1024);
    assert_false(ms.trend_valid);
    assert_true(rtm_monitor_history(&mon, &w, 0, &hist[63], &kept));
    assert_int_equal(kept, 1);
    assert_int_equal(hist[63].free_bytes, rtm_heap_free_bytes(h));
    rtm_monitor_pool_status_t ps;
    assert_true(rtm_monitor_pool_status(&mon, &pw, &ps));
    assert_true(ps.sampled);
    assert_int_equal(ps.used, 0);
    assert_int_equal(ps.failed_count, 0);
    assert_int_equal(ps.alerts, 0);

    /* The new heap's steady ticks show no trend from the old one. */
    for (int i = 0; i < 12; i++) {
        g_now += 1000;
        rtm_monitor_sample(&mon);
    }
    assert_int_equal(log.n, before);
    assert_true(rtm_monitor_mem_status(&mon, &w, &ms));
    assert_true(ms.trend_valid);
    assert_int_equal(ms.trend_bytes_per_min, 0);
    assert_true(rtm_pool_deinit(&pool));
    rtm_monitor_deinit(&mon);
}

static void test_leak_trend(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    cfg.trend_window_ms = 20000;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(64 * 1024);
    rtm_monitor_mem_t w;
    rtm_monitor_sample_t hist[64];
    rtm_monitor_limits_t lim = {0};
    lim.leak_bytes_per_min = 2000;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", &lim, hist, 64));

    /* A steady cycle (allocate, free) shows no trend and no alert. */
    rtm_monitor_mem_status_t st;
    g_now = 0;
    for (int i = 0; i < 30; i++) {
        void *p = rtm_malloc(h, (size_t)(100 + (i % 3) * 300));
        g_now += 1000;
        rtm_monitor_sample(&mon);
        rtm_free(h, p);
    }
    assert_true(rtm_monitor_mem_status(&mon, &w, &st));
    assert_true(st.trend_valid);
    assert_true(st.trend_bytes_per_min > -1000 && st.trend_bytes_per_min < 1000);
    assert_int_equal(log.n, 0);

    /* A leak of 64 B (+ overhead) a second = about -4100 B/min. */
    for (int i = 0; i < 30; i++) {
        assert_non_null(rtm_malloc(h, 64));
        g_now += 1000;
        rtm_monitor_sample(&mon);
    }
    assert_true(rtm_monitor_mem_status(&mon, &w, &st));
    assert_true(st.trend_valid);
    assert_true(st.trend_bytes_per_min <= -3840 && st.trend_bytes_per_min >= -4800);
    assert_int_equal(count_alerts(&log, RTM_ALERT_LEAK_TREND, true), 1);
    assert_true(log.a[0].value < -2000);
    assert_int_equal(log.a[0].threshold, -2000);
    assert_string_equal(log.a[0].source, "ram");
    assert_true((st.alerts & (1u << RTM_ALERT_LEAK_TREND)) != 0);

    /* The leak stops: once the window holds only flat samples it clears. */
    for (int i = 0; i < 30; i++) {
        g_now += 1000;
        rtm_monitor_sample(&mon);
    }
    assert_int_equal(count_alerts(&log, RTM_ALERT_LEAK_TREND, true), 1);
    assert_int_equal(count_alerts(&log, RTM_ALERT_LEAK_TREND, false), 1);
    rtm_monitor_deinit(&mon);
}

static void test_trend_needs_half_window(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    cfg.trend_window_ms = 60000;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(64 * 1024);
    rtm_monitor_mem_t w;
    rtm_monitor_sample_t hist[128];
    rtm_monitor_limits_t lim = {0};
    lim.leak_bytes_per_min = 100;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", &lim, hist, 128));
    rtm_monitor_mem_status_t st;
    g_now = 0;
    /* 29 s of a fast leak: not yet half of the 60 s window. */
    for (int i = 0; i < 30; i++) {
        assert_non_null(rtm_malloc(h, 256));
        rtm_monitor_sample(&mon);
        g_now += 1000;
    }
    assert_true(rtm_monitor_mem_status(&mon, &w, &st));
    assert_false(st.trend_valid);
    assert_int_equal(log.n, 0);
    assert_non_null(rtm_malloc(h, 256));
    rtm_monitor_sample(&mon); /* 30 s: valid now */
    assert_true(rtm_monitor_mem_status(&mon, &w, &st));
    assert_true(st.trend_valid);
    assert_int_equal(count_alerts(&log, RTM_ALERT_LEAK_TREND, true), 1);
    rtm_monitor_deinit(&mon);
}

/* ------------------------------------------------------------------ */
/* Alerts with hysteresis                                              */

/* Allocates from h until its free bytes are below target (returns the
 * blocks through out, count through n). */
static void fill_below(rtm_heap_t *h, size_t target, void **out, size_t *n, size_t cap,
                       size_t step)
{
    while (rtm_heap_free_bytes(h) >= target && *n < cap) {
        out[*n] = rtm_malloc(h, step);
        assert_non_null(out[*n]);
        (*n)++;
    }
}

static void test_low_free_hysteresis(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(32 * 1024);
    size_t base = rtm_heap_free_bytes(h);
    rtm_monitor_limits_t lim = {0};
    lim.low_free = base / 2;
    lim.low_min_free = base / 2;
    rtm_monitor_mem_t w;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", &lim, NULL, 0));
    void *blocks[256];
    size_t n = 0;
    fill_below(h, lim.low_free, blocks, &n, 256, 200);
    rtm_monitor_sample(&mon);
    rtm_monitor_sample(&mon); /* still low: not raised twice */
    assert_int_equal(count_alerts(&log, RTM_ALERT_LOW_FREE, true), 1);
    assert_int_equal(count_alerts(&log, RTM_ALERT_LOW_MIN_FREE, true), 1);
    const rtm_alert_t *a = &log.a[0];
    assert_true(a->value < a->threshold);
    assert_int_equal(a->threshold, (int64_t)lim.low_free);

    /* Back above the threshold but inside the 10% band: stays raised. */
    size_t clear_at = lim.low_free + lim.low_free / 10u;
    while (rtm_heap_free_bytes(h) < lim.low_free) {
        rtm_free(h, blocks[--n]);
    }
    assert_true(rtm_heap_free_bytes(h) < clear_at);
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_LOW_FREE, false), 0);
    /* Past the band: cleared once. */
    while (rtm_heap_free_bytes(h) < clear_at) {
        rtm_free(h, blocks[--n]);
    }
    rtm_monitor_sample(&mon);
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_LOW_FREE, false), 1);
    /* The minimum-ever stays low until it is reset. */
    assert_int_equal(count_alerts(&log, RTM_ALERT_LOW_MIN_FREE, false), 0);
    rtm_heap_reset_min_free(h);
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_LOW_MIN_FREE, false), 1);
    while (n > 0) {
        rtm_free(h, blocks[--n]);
    }
    rtm_monitor_deinit(&mon);
}

static void test_block_and_fragmentation_alerts(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(32 * 1024);
    rtm_monitor_limits_t lim = {0};
    lim.need_block = 4096;
    lim.max_frag_permille = 500;
    rtm_monitor_mem_t w;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", &lim, NULL, 0));
    rtm_monitor_sample(&mon);
    assert_int_equal(log.n, 0);

    /* Checkerboard of 1 KiB blocks: plenty free, nothing of 4 KiB. */
    void *p[40];
    size_t n = 0;
    while (n < 40 && (p[n] = rtm_malloc(h, 1024)) != NULL) {
        n++;
    }
    for (size_t i = 0; i < n; i += 2) {
        rtm_free(h, p[i]);
        p[i] = NULL;
    }
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_BLOCK_TOO_SMALL, true), 1);
    assert_int_equal(count_alerts(&log, RTM_ALERT_FRAGMENTED, true), 1);
    rtm_monitor_mem_status_t st;
    assert_true(rtm_monitor_mem_status(&mon, &w, &st));
    assert_true(st.frag_permille > 500);
    assert_true(st.largest_free < 4096);

    for (size_t i = 1; i < n; i += 2) {
        rtm_free(h, p[i]);
    }
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_BLOCK_TOO_SMALL, false), 1);
    assert_int_equal(count_alerts(&log, RTM_ALERT_FRAGMENTED, false), 1);
    assert_int_equal(log.n, 4);
    rtm_monitor_deinit(&mon);
}

static void test_pool_exhausted(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    cfg.hysteresis_percent = 25;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    static _Alignas(16) uint8_t storage[4096];
    static rtm_pool_t pool;
    rtm_pool_config_t pc = {0};
    pc.name = "msgs";
    pc.block_size = 32;
    pc.count = 8;
    assert_non_null(rtm_pool_init(&pool, storage, sizeof storage, &pc));
    rtm_monitor_pool_t w;
    assert_true(rtm_monitor_watch_pool(&mon, &w, &pool));
    void *b[8];
    for (int i = 0; i < 8; i++) {
        b[i] = rtm_pool_alloc(&pool);
        assert_non_null(b[i]);
    }
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_POOL_EXHAUSTED, true), 1);
    assert_string_equal(log.a[0].source, "msgs");
    /* One block back: below the 25% band (2 of 8), still raised. */
    rtm_pool_free(&pool, b[7]);
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_POOL_EXHAUSTED, false), 0);
    rtm_pool_free(&pool, b[6]);
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_POOL_EXHAUSTED, false), 1);

    /* A failure between two ticks raises it even though blocks are free
     * again by the time of the sample. */
    b[6] = rtm_pool_alloc(&pool);
    b[7] = rtm_pool_alloc(&pool);
    assert_null(rtm_pool_alloc(&pool));
    rtm_pool_free(&pool, b[7]);
    rtm_pool_free(&pool, b[6]);
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_POOL_EXHAUSTED, true), 2);
    /* its value is the blocks in use at the sample (6 of 8), below the
     * capacity it is measured against (formats.md) */
    assert_int_equal(log.a[log.n - 1u].kind, RTM_ALERT_POOL_EXHAUSTED);
    assert_int_equal(log.a[log.n - 1u].value, 6);
    assert_int_equal(log.a[log.n - 1u].threshold, 8);
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_POOL_EXHAUSTED, false), 2);
    rtm_monitor_pool_status_t ps;
    assert_true(rtm_monitor_pool_status(&mon, &w, &ps));
    assert_int_equal(ps.capacity, 8);
    assert_int_equal(ps.peak_used, 8);
    assert_int_equal(ps.failed_count, 1);
    for (int i = 0; i < 6; i++) {
        rtm_pool_free(&pool, b[i]);
    }
    rtm_monitor_deinit(&mon);
}

/* ------------------------------------------------------------------ */
/* Tasks: stacks through the POSIX port                                */

#if defined(RTM_PORT_POSIX)

/* ThreadSanitizer takes about 135 KiB of any caller stack for itself. */
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
#if defined(UNDER_TSAN)
#define TASK_STACK (512u * 1024u)
#define DEEP_KIB 420u
#else
#define TASK_STACK (128u * 1024u)
#define DEEP_KIB 100u
#endif
RTM_STACK_STORAGE(g_task_stack, TASK_STACK);

typedef struct task_ctl {
    atomic_int go_deep;
    atomic_int done_deep;
    atomic_int quit;
} task_ctl_t;

static size_t touch_stack(size_t kib)
{
    volatile uint8_t buf[1024];
    memset((void *)buf, 1, sizeof buf);
    return kib > 1 ? buf[kib % 1024] + touch_stack(kib - 1) : buf[0];
}

static void task_body(void *arg)
{
    task_ctl_t *ctl = arg;
    while (!atomic_load(&ctl->quit)) {
        if (atomic_load(&ctl->go_deep) && !atomic_load(&ctl->done_deep)) {
            (void)touch_stack(DEEP_KIB);
            atomic_store(&ctl->done_deep, 1);
        }
        rtm_port_sleep_ms(1);
    }
}

static void test_task_stack(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    cfg.max_stack_percent = 60;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    task_ctl_t ctl;
    atomic_init(&ctl.go_deep, 0);
    atomic_init(&ctl.done_deep, 0);
    atomic_init(&ctl.quit, 0);
    rtm_thread_t t;
    assert_true(rtm_thread_start(&t, "worker", g_task_stack, TASK_STACK, task_body, &ctl));
    rtm_monitor_task_t tw;
    assert_true(rtm_monitor_watch_task(&mon, &tw, rtm_thread_task_id(&t), "worker", 0));
    rtm_port_sleep_ms(20);
    rtm_monitor_sample(&mon);
    rtm_monitor_task_status_t ts;
    assert_true(rtm_monitor_task_status(&mon, &tw, &ts));
    assert_true(ts.stack_known);
    assert_int_equal(ts.stack_size, TASK_STACK);
    assert_true(ts.stack_peak < 60u * TASK_STACK / 100u);
    assert_int_equal(count_alerts(&log, RTM_ALERT_STACK_HIGH, true), 0);
    /* Most of the stack unused: a smaller stack is advised. */
    rtm_recommendation_t rec[8];
    size_t n = rtm_monitor_recommend(&mon, rec, 8);
    assert_int_equal(n, 1);
    assert_int_equal(rec[0].kind, RTM_REC_STACK_SIZE);
    assert_int_equal(rec[0].v[0], TASK_STACK);
    assert_int_equal(rec[0].v[1], ts.stack_peak);
    assert_true(rec[0].v[2] >= ts.stack_peak + ts.stack_peak / 4 && rec[0].v[2] % 16 == 0);

    atomic_store(&ctl.go_deep, 1);
    while (!atomic_load(&ctl.done_deep)) {
        rtm_port_sleep_ms(1);
    }
    rtm_monitor_sample(&mon);
    assert_true(rtm_monitor_task_status(&mon, &tw, &ts));
    assert_true(ts.stack_peak >= DEEP_KIB * 1024u);
    assert_int_equal(count_alerts(&log, RTM_ALERT_STACK_HIGH, true), 1);
    /* The deep call + margin does not fit: a bigger stack is advised. */
    n = rtm_monitor_recommend(&mon, rec, 8);
    assert_int_equal(n, 1);
    assert_true(rec[0].v[2] > TASK_STACK);

    /* A declared size that already fits peak + margin: silent. */
    rtm_monitor_task_t tw2;
    size_t fits = (size_t)(ts.stack_peak * 3 / 2);
    assert_true(rtm_monitor_watch_task(&mon, &tw2, rtm_thread_task_id(&t), "declared", fits));
    rtm_monitor_sample(&mon);
    n = rtm_monitor_recommend(&mon, rec, 8);
    assert_int_equal(n, 1); /* only the first watch's advice */
    assert_string_equal(rec[0].source, "worker");

    /* Just past the limit: peak * 100 > 60 * size, although
     * peak * 100 / size rounds down to 60. */
    rtm_monitor_task_t tw3;
    size_t just = (ts.stack_peak * 100u - 1u) / 60u;
    assert_int_equal(ts.stack_peak * 100u / just, 60u);
    assert_true(rtm_monitor_watch_task(&mon, &tw3, rtm_thread_task_id(&t), "just_above", just));
    log.n = 0;
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_STACK_HIGH, true), 1);
    assert_string_equal(log.a[0].source, "just_above");

    atomic_store(&ctl.quit, 1);
    assert_true(rtm_thread_join(&t));
    rtm_monitor_deinit(&mon);
}

#else /* !RTM_PORT_POSIX */

static uint32_t g_port_ticks;
static uint32_t port_ticks(void)
{
    return g_port_ticks;
}

static void stop_on_alert(const rtm_alert_t *alert, void *ctx)
{
    (void)alert;
    rtm_monitor_stop(ctx);
}

/* The none port (monitor.h, port.h): with no clock_ms the monitor's time is
 * the port's tick hook; the port knows no stacks, so a task watch keeps
 * its declared size, never knows a peak and never raises STACK_HIGH; and
 * rtm_monitor_run, whose sleep returns at once there, still returns after
 * the period in which rtm_monitor_stop was called (here by an alert
 * callback of its own first sample). */
static void test_none_port_time_tasks_and_run(void **state)
{
    (void)state;
    rtm_port_none_set_hooks(NULL, NULL, NULL, port_ticks);
    rtm_monitor_config_t cfg = RTM_MONITOR_CONFIG_DEFAULT;
    cfg.period_ms = 1000;
    cfg.telemetry = false;
    cfg.max_stack_percent = 1;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(8 * 1024);
    rtm_monitor_mem_t w;
    rtm_monitor_sample_t hist[4];
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", NULL, hist, 4));
    rtm_monitor_task_t tw;
    assert_true(rtm_monitor_watch_task(&mon, &tw, 5, "worker", 2048));
    g_port_ticks = 40000;
    assert_true(rtm_monitor_tick(&mon));
    g_port_ticks = 40999;
    assert_false(rtm_monitor_tick(&mon));
    g_port_ticks = 41000;
    assert_true(rtm_monitor_tick(&mon));
    rtm_monitor_sample_t s;
    assert_true(rtm_monitor_history(&mon, &w, 1, &s, NULL));
    assert_int_equal(s.ms, 41000);
    rtm_monitor_task_status_t ts;
    assert_true(rtm_monitor_task_status(&mon, &tw, &ts));
    assert_false(ts.stack_known);
    assert_int_equal(ts.stack_size, 2048);
    assert_int_equal(ts.stack_peak, 0);
    assert_int_equal(ts.alerts, 0);
    rtm_monitor_deinit(&mon);

    cfg.on_alert = stop_on_alert;
    cfg.alert_ctx = &mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_monitor_limits_t lim = {.low_free = 64 * 1024};
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", &lim, NULL, 0));
    rtm_monitor_run(&mon);
    rtm_monitor_status_t st;
    assert_true(rtm_monitor_status(&mon, &st));
    assert_int_equal(st.samples, 1);
    assert_int_equal(st.alerts_raised, 1);
    rtm_monitor_deinit(&mon);
    rtm_port_none_set_hooks(NULL, NULL, NULL, NULL);
}

#endif /* RTM_PORT_POSIX */

/* ------------------------------------------------------------------ */
/* Recommendations                                                     */

static size_t find_rec(const rtm_recommendation_t *rec, size_t n, rtm_rec_kind_t kind)
{
    for (size_t i = 0; i < n; i++) {
        if (rec[i].kind == kind) {
            return i;
        }
    }
    return SIZE_MAX;
}

static void test_pool_for_dominant_size(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(64 * 1024);
    rtm_heap_set_observer(h, rtm_monitor_heap_observer, &mon);
    rtm_monitor_mem_t w;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", NULL, NULL, 0));

    /* Eight sizes equally often: no size dominates. */
    void *live[64];
    for (int round = 0; round < 20; round++) {
        for (int s = 0; s < 8; s++) {
            live[s] = rtm_malloc(h, (size_t)(40 + s * 64));
            assert_non_null(live[s]);
        }
        for (int s = 0; s < 8; s++) {
            rtm_free(h, live[s]);
        }
    }
    rtm_monitor_sample(&mon);
    rtm_recommendation_t rec[8];
    size_t n = rtm_monitor_recommend(&mon, rec, 8);
    assert_int_equal(find_rec(rec, n, RTM_REC_POOL_FOR_SIZE), SIZE_MAX);

    /* Now 45-byte requests, up to 20 live at once, outnumber the rest. */
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 20; i++) {
            live[i] = rtm_malloc(h, 45);
            assert_non_null(live[i]);
        }
        for (int i = 0; i < 20; i++) {
            rtm_free(h, live[i]);
        }
    }
    rtm_monitor_sample(&mon);
    n = rtm_monitor_recommend(&mon, rec, 8);
    size_t k = find_rec(rec, n, RTM_REC_POOL_FOR_SIZE);
    assert_true(k != SIZE_MAX);
    assert_int_equal(rec[k].v[0], 48); /* 45 rounded to the 8-byte granularity */
    assert_int_equal(rec[k].v[1], 200);
    assert_int_equal(rec[k].v[2], 360);
    assert_int_equal(rec[k].v[3], 20);
    assert_int_equal(rec[k].v[4], 25);
    char text[200];
    size_t len = rtm_recommendation_text(&rec[k], text, sizeof text);
    assert_int_equal(len, strlen(text));
    assert_string_equal(text, "ram: 200 of 360 allocations are 48 B: serve them from a pool of "
                              "25 blocks of 48 B (peak 20 live)");
    /* A short buffer is cut but terminated, and the needed length returned. */
    char small[10];
    assert_int_equal(rtm_recommendation_text(&rec[k], small, sizeof small), len);
    assert_int_equal(strlen(small), 9);
    rtm_heap_set_observer(h, NULL, NULL);
    rtm_monitor_deinit(&mon);
}

/* More sizes than slots, all kept live: the dominant size still wins its
 * slot (space-saving), with its sure count. */
/* The allocation counts the observers gave a watch are figures of the
 * object too: a heap that goes takes them along, so that the heap started
 * again at its place (with no observer, or one that has seen nothing yet)
 * is not advised a pool for the old heap's sizes. */
static void test_gone_heap_takes_its_size_counts(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(64 * 1024);
    rtm_heap_set_observer(h, rtm_monitor_heap_observer, &mon);
    rtm_monitor_mem_t w;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", NULL, NULL, 0));
    for (int i = 0; i < 200; i++) {
        void *p = rtm_malloc(h, 45);
        assert_non_null(p);
        rtm_free(h, p);
    }
    rtm_monitor_sample(&mon);
    rtm_recommendation_t rec[8];
    size_t n = rtm_monitor_recommend(&mon, rec, 8);
    assert_int_not_equal(find_rec(rec, n, RTM_REC_POOL_FOR_SIZE), SIZE_MAX);

    rtm_heap_deinit(h);
    rtm_monitor_sample(&mon);
    assert_int_equal(rtm_monitor_recommend(&mon, rec, 8), 0);
    h = make_heap(64 * 1024);
    rtm_monitor_sample(&mon);
    n = rtm_monitor_recommend(&mon, rec, 8);
    assert_int_equal(find_rec(rec, n, RTM_REC_POOL_FOR_SIZE), SIZE_MAX);
    rtm_heap_deinit(h);
    rtm_monitor_deinit(&mon);
}

static void test_pool_advice_with_many_live_sizes(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(64 * 1024);
    rtm_heap_set_observer(h, rtm_monitor_heap_observer, &mon);
    rtm_monitor_mem_t w;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", NULL, NULL, 0));
    void *held[3 * RTM_MONITOR_SIZE_SLOTS];
    size_t nh = 0;
    for (int rep = 0; rep < 3; rep++) {
        for (size_t k = 0; k < RTM_MONITOR_SIZE_SLOTS; k++) {
            held[nh] = rtm_malloc(h, 200 + 64 * k + (size_t)rep * 8);
            assert_non_null(held[nh]);
            nh++;
        }
    }
    void *live[16];
    for (int round = 0; round < 10; round++) {
        for (int i = 0; i < 16; i++) {
            live[i] = rtm_malloc(h, 56);
            assert_non_null(live[i]);
        }
        for (int i = 0; i < 16; i++) {
            rtm_free(h, live[i]);
        }
    }
    rtm_monitor_sample(&mon);
    rtm_recommendation_t rec[8];
    size_t n = rtm_monitor_recommend(&mon, rec, 8);
    size_t k = find_rec(rec, n, RTM_REC_POOL_FOR_SIZE);
    assert_true(k != SIZE_MAX);
    assert_int_equal(rec[k].v[0], 56);
    assert_int_equal(rec[k].v[1], 160);
    assert_int_equal(rec[k].v[2], 160 + nh);
    assert_int_equal(rec[k].v[3], 16);
    assert_int_equal(rec[k].v[4], 20);
    while (nh > 0) {
        rtm_free(h, held[--nh]);
    }
    rtm_heap_set_observer(h, NULL, NULL);
    rtm_monitor_deinit(&mon);
}

/* shrink_memory waits for 10 samples of the memory itself: a watch added
 * after the monitor has ticked for a while, or one whose heap was started
 * again (its minimum-ever free is only a moment old), is not judged on
 * its first sample. */
static void test_shrink_counts_the_watch_samples(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_monitor_task_t tw;
    assert_true(rtm_monitor_watch_task(&mon, &tw, 3, "idle", 0));
    for (int i = 0; i < 12; i++) {
        rtm_monitor_sample(&mon);
    }
    rtm_heap_t *h = make_heap(32 * 1024);
    rtm_monitor_mem_t w;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", NULL, NULL, 0));
    rtm_recommendation_t rec[8];
    for (int i = 0; i < 9; i++) {
        rtm_monitor_sample(&mon);
        assert_int_equal(rtm_monitor_recommend(&mon, rec, 8), 0);
    }
    rtm_monitor_sample(&mon);
    size_t n = rtm_monitor_recommend(&mon, rec, 8);
    assert_int_equal(n, 1);
    assert_int_equal(rec[0].kind, RTM_REC_SHRINK_MEMORY);

    /* Started again with another size: a new memory, counted afresh. */
    rtm_heap_deinit(h);
    h = make_heap(16 * 1024);
    for (int i = 0; i < 9; i++) {
        rtm_monitor_sample(&mon);
        assert_int_equal(rtm_monitor_recommend(&mon, rec, 8), 0);
    }
    rtm_monitor_sample(&mon);
    n = rtm_monitor_recommend(&mon, rec, 8);
    assert_int_equal(n, 1);
    assert_int_equal(rec[0].v[0], 16 * 1024);
    rtm_heap_deinit(h);
    rtm_monitor_deinit(&mon);
}

static void test_region_size_rules(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(32 * 1024);
    rtm_monitor_mem_t w;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", NULL, NULL, 0));
    rtm_recommendation_t rec[8];

    /* Barely used, but too few samples to judge: silent. */
    for (int i = 0; i < 9; i++) {
        rtm_monitor_sample(&mon);
    }
    assert_int_equal(rtm_monitor_recommend(&mon, rec, 8), 0);
    rtm_monitor_sample(&mon);
    size_t n = rtm_monitor_recommend(&mon, rec, 8);
    assert_int_equal(n, 1);
    assert_int_equal(rec[0].kind, RTM_REC_SHRINK_MEMORY);
    assert_int_equal(rec[0].v[0], 32 * 1024);
    assert_int_equal(rec[0].v[2], 32 * 1024 - rec[0].v[1]);
    assert_int_equal(rec[0].v[3], rec[0].v[2] + rec[0].v[2] / 4);

    /* Between 10% and 50% free at the minimum: silent. */
    void *blocks[512];
    size_t nb = 0;
    fill_below(h, 32 * 1024 * 40 / 100, blocks, &nb, 512, 256);
    rtm_monitor_sample(&mon);
    assert_int_equal(rtm_monitor_recommend(&mon, rec, 8), 0);

    /* Under 10%: grow to peak + 25%. */
    fill_below(h, 32 * 1024 * 5 / 100, blocks, &nb, 512, 256);
    rtm_monitor_sample(&mon);
    n = rtm_monitor_recommend(&mon, rec, 8);
    assert_int_equal(n, 1);
    assert_int_equal(rec[0].kind, RTM_REC_GROW_MEMORY);
    assert_int_equal(rec[0].v[4], 0); /* a heap: its size is the application's */
    assert_true(rec[0].v[1] < 32 * 1024 / 10);
    assert_true(rec[0].v[3] > 32 * 1024);
    assert_int_equal(rec[0].v[3], rec[0].v[2] + rec[0].v[2] / 4);
    while (nb > 0) {
        rtm_free(h, blocks[--nb]);
    }
    rtm_monitor_deinit(&mon);
}

static _Alignas(16) uint8_t g_internal[48 * 1024];
static _Alignas(16) uint8_t g_psram[128 * 1024];

/* A capability watch reads the regions its caps select. With none
 * selected (no such memory on this chip, or the registry gone) there is
 * nothing to read: the watch stays unsampled, with no alert on "0 bytes
 * free" and no telemetry line of a memory of size 0. */
static void test_caps_watch_without_memory(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    static rtm_caps_registry_t reg;
    static rtm_caps_region_t slots[2];
    assert_int_equal(rtm_caps_init(&reg, slots, 2, NULL), RTM_CAPS_OK);
    rtm_caps_region_config_t internal = {0};
    internal.name = "DRAM";
    internal.caps[0] = RTM_CAP_INTERNAL | RTM_CAP_8BIT | RTM_CAP_32BIT | RTM_CAP_DEFAULT;
    assert_int_equal(rtm_caps_add_region(g_internal, sizeof g_internal, &internal, NULL),
                     RTM_CAPS_OK);
    rtm_monitor_limits_t lim = {.low_free = 1024, .low_min_free = 1024, .need_block = 64};
    rtm_monitor_mem_t psram;
    rtm_monitor_mem_t dram;
    assert_true(rtm_monitor_watch_caps(&mon, &psram, RTM_CAP_SPIRAM, "psram", &lim, NULL, 0));
    assert_true(rtm_monitor_watch_caps(&mon, &dram, RTM_CAP_INTERNAL, "dram", &lim, NULL, 0));
    capture_start();
    g_now = 1000;
    rtm_monitor_sample(&mon);
    rtm_monitor_emit_telemetry(&mon);
    rtm_output_set(NULL, NULL);
    assert_int_equal(log.n, 0);
    assert_int_equal(count_lines_with(g_out, "\"name\":\"psram\""), 0);
    assert_int_not_equal(count_lines_with(g_out, "\"name\":\"dram\""), 0);
    rtm_monitor_mem_status_t ms;
    assert_true(rtm_monitor_mem_status(&mon, &psram, &ms));
    assert_false(ms.sampled);
    assert_int_equal(ms.alerts, 0);

    /* The registry goes: both are unsampled. */
    rtm_caps_deinit();
    g_now += 1000;
    rtm_monitor_sample(&mon);
    assert_true(rtm_monitor_mem_status(&mon, &dram, &ms));
    assert_false(ms.sampled);
    assert_int_equal(ms.total_bytes, 0);
    assert_int_equal(log.n, 0);

    /* A registry with PSRAM: the watch reads it. */
    static rtm_monitor_sample_t low_hist[8];
    rtm_monitor_limits_t high = {.low_free = (size_t)1 << 30};
    rtm_monitor_mem_t psram_low;
    assert_true(rtm_monitor_watch_caps(&mon, &psram_low, RTM_CAP_SPIRAM, "psram_low", &high,
                                       low_hist, 8));
    assert_int_equal(rtm_caps_init(&reg, slots, 2, NULL), RTM_CAPS_OK);
    rtm_caps_region_config_t ext = {0};
    ext.name = "PSRAM";
    ext.caps[0] = RTM_CAP_SPIRAM | RTM_CAP_8BIT | RTM_CAP_32BIT;
    assert_int_equal(rtm_caps_add_region(g_psram, sizeof g_psram, &ext, NULL), RTM_CAPS_OK);
    g_now += 1000;
    rtm_monitor_sample(&mon);
    assert_true(rtm_monitor_mem_status(&mon, &psram, &ms));
    assert_true(ms.sampled);
    assert_int_equal(ms.total_bytes, rtm_caps_total_size(RTM_CAP_SPIRAM));
    assert_true(rtm_monitor_mem_status(&mon, &dram, &ms));
    assert_false(ms.sampled);
    assert_int_equal(count_alerts(&log, RTM_ALERT_LOW_FREE, true), 1); /* psram_low */
    size_t alerts_before = log.n;

    /* A second PSRAM region: the same memory grew. The capability watch
     * keeps its history and its raised alert (no second "raised"), and
     * reads the new total. */
    size_t before_total = rtm_caps_total_size(RTM_CAP_SPIRAM);
    ext.name = "PSRAM2";
    assert_int_equal(rtm_caps_add_region(g_internal, sizeof g_internal, &ext, NULL), RTM_CAPS_OK);
    assert_true(rtm_caps_total_size(RTM_CAP_SPIRAM) > before_total);
    g_now += 1000;
    rtm_monitor_sample(&mon);
    assert_true(rtm_monitor_mem_status(&mon, &psram_low, &ms));
    assert_true(ms.sampled);
    assert_int_equal(ms.total_bytes, rtm_caps_total_size(RTM_CAP_SPIRAM));
    assert_true((ms.alerts & (1u << RTM_ALERT_LOW_FREE)) != 0);
    assert_int_equal(log.n, alerts_before);
    size_t kept = 0;
    rtm_monitor_sample_t hs;
    assert_true(rtm_monitor_history(&mon, &psram_low, 0, &hs, &kept));
    assert_int_equal(kept, 2);
    rtm_caps_deinit();
    rtm_monitor_deinit(&mon);
}

static void test_move_to_psram(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    ts_caps_dram_psram(g_internal, sizeof g_internal, g_psram, sizeof g_psram);
    rtm_caps_set_observer(rtm_monitor_caps_observer, &mon);
    rtm_monitor_mem_t w[2];
    assert_int_equal(rtm_monitor_watch_regions(&mon, w, 2, NULL, NULL, 0), 2);

    /* DMA buffers fill internal RAM: short, but they must stay there. */
    void *p[16];
    size_t n = 0;
    for (; n < 9; n++) {
        p[n] = rtm_caps_malloc(4096, RTM_CAP_DMA);
        assert_non_null(p[n]);
    }
    rtm_monitor_sample(&mon);
    rtm_recommendation_t rec[8];
    size_t nr = rtm_monitor_recommend(&mon, rec, 8);
    assert_int_equal(find_rec(rec, nr, RTM_REC_MOVE_TO_PSRAM), SIZE_MAX);

    /* Two large buffers with no DMA need land in internal RAM too. */
    for (; n < 11; n++) {
        p[n] = rtm_caps_malloc(4096, RTM_CAP_8BIT);
        assert_non_null(p[n]);
        assert_string_equal(rtm_caps_region_name(rtm_caps_region_of(p[n])), "DRAM");
    }
    rtm_monitor_sample(&mon);
    nr = rtm_monitor_recommend(&mon, rec, 8);
    size_t k = find_rec(rec, nr, RTM_REC_MOVE_TO_PSRAM);
    assert_true(k != SIZE_MAX);
    assert_string_equal(rec[k].source, "DRAM");
    assert_int_equal(rec[k].v[0], 2);
    assert_int_equal(rec[k].v[1], 8192);
    assert_int_equal(rec[k].v[2], 4096);
    assert_true(rec[k].v[3] < sizeof g_internal / 10);
    assert_true(rec[k].v[4] > 100 * 1024);
    /* DRAM is short, but a region's size is the chip's: use less of it. */
    size_t g = find_rec(rec, nr, RTM_REC_GROW_MEMORY);
    assert_true(g != SIZE_MAX);
    assert_string_equal(rec[g].source, "DRAM");
    assert_int_equal(rec[g].v[4], 1);
    char text[200];
    rtm_recommendation_text(&rec[g], text, sizeof text);
    assert_non_null(strstr(text, "its size is the chip's"));
    /* PSRAM stays nearly empty, yet no shrink advice for a region. */
    for (int i = 0; i < 10; i++) {
        rtm_monitor_sample(&mon);
    }
    nr = rtm_monitor_recommend(&mon, rec, 8);
    assert_int_equal(find_rec(rec, nr, RTM_REC_SHRINK_MEMORY), SIZE_MAX);

    while (n > 0) {
        rtm_caps_free(p[--n]);
    }
    rtm_caps_set_observer(NULL, NULL);
    rtm_caps_deinit();
    rtm_monitor_deinit(&mon);
}

static void test_tracing_advice(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    static _Alignas(16) uint8_t trace_mem[8192];
    rtm_trace_t *trace = rtm_trace_init(trace_mem, sizeof trace_mem);
    assert_non_null(trace);
    cfg.trace = trace;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(64 * 1024);
    rtm_monitor_mem_t w;
    rtm_monitor_sample_t hist[32];
    rtm_monitor_limits_t lim = {0};
    lim.leak_bytes_per_min = 500;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", &lim, hist, 32));
    g_now = 0;
    for (int i = 0; i < 12; i++) {
        rtm_monitor_sample(&mon);
        g_now += 1000;
    }
    rtm_recommendation_t rec[8];
    assert_int_equal(find_rec(rec, rtm_monitor_recommend(&mon, rec, 8), RTM_REC_ENABLE_TRACING),
                     SIZE_MAX);
    for (int i = 0; i < 12; i++) {
        assert_non_null(rtm_malloc(h, 100));
        rtm_monitor_sample(&mon);
        g_now += 1000;
    }
    size_t n = rtm_monitor_recommend(&mon, rec, 8);
    size_t k = find_rec(rec, n, RTM_REC_ENABLE_TRACING);
    assert_true(k != SIZE_MAX);
    assert_true(rec[k].v[0] > 500);
    assert_int_equal(rec[k].v[2], 0);
    char text[200];
    rtm_recommendation_text(&rec[k], text, sizeof text);
    assert_non_null(strstr(text, "rtm_trace_start"));
    assert_true(rtm_trace_start(trace, RTM_TRACE_LEAKS));
    n = rtm_monitor_recommend(&mon, rec, 8);
    k = find_rec(rec, n, RTM_REC_ENABLE_TRACING);
    assert_int_equal(rec[k].v[2], 1);
    rtm_trace_stop(trace);
    rtm_monitor_deinit(&mon);
}

/* ------------------------------------------------------------------ */
/* Telemetry format (docs/formats.md)                                  */

/* A flat JSON object of string and integer values, as the monitor writes
 * it. Returns the number of members, or -1 if the text is not one. */
typedef struct json_member {
    char key[32];
    char str[256];
    long long num;
    bool is_str;
} json_member_t;

static int parse_flat_json(const char *s, json_member_t *m, int cap)
{
    int n = 0;
    if (*s++ != '{') {
        return -1;
    }
    for (;;) {
        if (n == cap || *s++ != '"') {
            return -1;
        }
        size_t k = 0;
        while (*s != '"' && *s != '\0' && k + 1 < sizeof m[n].key) {
            m[n].key[k++] = *s++;
        }
        m[n].key[k] = '\0';
        if (*s++ != '"' || *s++ != ':') {
            return -1;
        }
        if (*s == '"') {
            s++;
            size_t j = 0;
            while (*s != '"') {
                if (*s == '\0' || (unsigned char)*s < 0x20) {
                    return -1;
                }
                if (*s == '\\') {
                    s++;
                    if (*s == 'u') {
                        for (int d = 1; d <= 4; d++) {
                            if (strchr("0123456789abcdef", s[d]) == NULL || s[d] == '\0') {
                                return -1;
                            }
                        }
                        s += 4;
                    } else if (*s != '"' && *s != '\\') {
                        return -1;
                    }
                }
                if (j + 1 < sizeof m[n].str) {
                    m[n].str[j++] = *s;
                }
                s++;
            }
            m[n].str[j] = '\0';
            m[n].is_str = true;
            s++;
        } else {
            char *end;
            m[n].num = strtoll(s, &end, 10);
            if (end == s || (*s == '0' && end - s > 1) || (*s == '-' && s[1] == '0')) {
                return -1;
            }
            m[n].is_str = false;
            s = end;
        }
        n++;
        if (*s == '}') {
            return s[1] == '\0' ? n : -1;
        }
        if (*s++ != ',') {
            return -1;
        }
    }
}

static const json_member_t *member(const json_member_t *m, int n, const char *key)
{
    for (int i = 0; i < n; i++) {
        if (strcmp(m[i].key, key) == 0) {
            return &m[i];
        }
    }
    return NULL;
}

/* The keys each line type must have (docs/formats.md), and whether each
 * is a string. */
typedef struct line_schema {
    const char *type;
    const char *keys[16];
    const char *strings;
} line_schema_t;

static const line_schema_t k_schemas[] = {
    {"mem",
     {"seq", "name", "kind", "total", "free", "min_free", "largest", "used_blocks", "free_blocks",
      "failed", "frag_pm", "alerts", NULL},
     ",name,kind,"},
    {"pool", {"seq", "name", "block", "capacity", "used", "peak", "failed", "waits", "alerts", NULL},
     ",name,"},
    {"task", {"seq", "name", "id", "alerts", NULL}, ",name,"},
    {"alert", {"alert", "state", "source", "value", "threshold", NULL}, ",alert,state,source,"},
    {"rec", {"rule", "source", "text", NULL}, ",rule,source,text,"},
    {"trace", {"line", NULL}, ",line,"},
};

static void check_line(const char *line, int *types_seen)
{
    json_member_t m[24];
    int n = parse_flat_json(line, m, 24);
    if (n < 0) {
        ts_fail("not a flat JSON object: %s", line);
    }
    assert_true(strncmp(line, "{\"rtmem\":1,\"type\":\"", 19) == 0);
    const json_member_t *ms = member(m, n, "ms");
    assert_non_null(ms);
    assert_false(ms->is_str);
    const json_member_t *type = member(m, n, "type");
    assert_non_null(type);
    for (size_t s = 0; s < TS_ARRAY_LEN(k_schemas); s++) {
        if (strcmp(type->str, k_schemas[s].type) != 0) {
            continue;
        }
        types_seen[s]++;
        for (size_t k = 0; k_schemas[s].keys[k] != NULL; k++) {
            const json_member_t *v = member(m, n, k_schemas[s].keys[k]);
            if (v == NULL) {
                ts_fail("'%s' line without '%s': %s", type->str, k_schemas[s].keys[k], line);
                return;
            }
            char probe[sizeof v->key + 2];
            probe[0] = ',';
            strcpy(probe + 1, v->key);
            strcat(probe, ",");
            assert_int_equal(v->is_str, strstr(k_schemas[s].strings, probe) != NULL);
        }
        for (int i = 0; i < n; i++) {
            if (!m[i].is_str && m[i].num < 0 && strcmp(m[i].key, "trend_bpm") != 0 &&
                strcmp(m[i].key, "value") != 0 && strcmp(m[i].key, "threshold") != 0) {
                ts_fail("negative '%s': %s", m[i].key, line);
            }
        }
        return;
    }
    ts_fail("unknown line type: %s", line);
}

static void test_telemetry_lines(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    cfg.telemetry = true;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(32 * 1024);
    /* Trace events share the stream, as telemetry lines. */
    static _Alignas(16) uint8_t trace_mem[16384];
    rtm_trace_t *trace = rtm_trace_init(trace_mem, sizeof trace_mem);
    assert_non_null(trace);
    rtm_observer_chain_t chain;
    rtm_observer_chain_init(&chain);
    assert_true(rtm_observer_chain_add(&chain, rtm_monitor_heap_observer, &mon));
    assert_true(rtm_observer_chain_add(&chain, rtm_trace_observer, trace));
    rtm_observer_chain_attach(&chain, h);
    rtm_monitor_limits_t lim = {0};
    lim.low_free = 20 * 1024;
    lim.leak_bytes_per_min = 100;
    rtm_monitor_mem_t w;
    rtm_monitor_sample_t hist[16];
    /* A name that needs escaping. */
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram \"main\"\\\n", &lim, hist, 16));
    static _Alignas(16) uint8_t storage[1024];
    static rtm_pool_t pool;
    rtm_pool_config_t pc = {0};
    pc.name = "p";
    pc.block_size = 16;
    pc.count = 4;
    assert_non_null(rtm_pool_init(&pool, storage, sizeof storage, &pc));
    rtm_monitor_pool_t pw;
    assert_true(rtm_monitor_watch_pool(&mon, &pw, &pool));
    rtm_monitor_task_t tw;
    assert_true(rtm_monitor_watch_task(&mon, &tw, 12345, "nostack", 0));

    capture_start();
    rtm_trace_set_stream_format(trace, RTM_TRACE_STREAM_TELEMETRY);
    rtm_trace_set_stream(trace, true);
    assert_true(rtm_trace_start(trace, RTM_TRACE_LEAKS));
    g_now = 0;
    for (int i = 0; i < 40; i++) {
        for (int j = 0; j < 3; j++) {
            assert_non_null(rtm_malloc(h, 120));
        }
        rtm_monitor_sample(&mon);
        g_now += 1000;
    }
    size_t recs = rtm_monitor_print_recommendations(&mon);
    rtm_output_set(NULL, NULL);
    assert_true(recs >= 2); /* grow + tracing + pool */

    int seen[TS_ARRAY_LEN(k_schemas)] = {0};
    size_t text_lines = 0;
    /* The load-address line comes only from a port that knows the image
     * (posix; not the none port: firmware runs where it was linked). */
    rtm_port_image_t image;
    int first_event_line = rtm_port_program_image(&image) ? 3 : 2;
    for (char *line = g_out, *nl; *line != '\0'; line = nl + 1) {
        nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        if (strncmp(line, "{\"rtmem\":", 9) == 0) {
            check_line(line, seen);
            if (strstr(line, "\"type\":\"trace\"") != NULL && seen[5] == 1) {
                assert_non_null(strstr(line, "\"line\":\"# rtmem-trace 1\"}"));
            } else if (strstr(line, "\"type\":\"trace\"") != NULL && seen[5] < first_event_line) {
                /* the executable's load address, for symbolization */
                assert_non_null(strstr(line, "\"line\":\"# rtmem-record exe_base=0x"));
            } else if (strstr(line, "\"type\":\"trace\"") != NULL) {
                assert_non_null(strstr(line, "\"line\":\"a 0x"));
                assert_non_null(strstr(line, " 120 t="));
            }
            if (strstr(line, "\"type\":\"mem\"") != NULL) {
                assert_non_null(strstr(line, "\"name\":\"ram \\\"main\\\"\\\\\\u000a\""));
            }
        } else {
            if (strncmp(line, "rtmem monitor: ", 15) != 0) {
                ts_fail("neither telemetry nor advice: %s", line);
            }
            text_lines++;
        }
    }
    assert_int_equal(seen[0], 40); /* mem */
    assert_int_equal(seen[1], 40); /* pool */
    assert_int_equal(seen[2], 40); /* task */
    assert_true(seen[3] >= 2);     /* low_free and leak_trend raised */
    assert_int_equal((size_t)seen[4], recs);
    assert_int_equal(text_lines, recs);
    /* the header, the load address line when the port knows it, every allocation */
    rtm_port_image_t img;
    assert_int_equal(seen[5], (rtm_port_program_image(&img) ? 2 : 1) + 120);
    rtm_trace_stop(trace);
    rtm_heap_set_observer(h, NULL, NULL);
    rtm_monitor_deinit(&mon);
}

/* Takes the next captured line (without its newline) from *cursor. */
static const char *next_line(char **cursor)
{
    char *line = *cursor;
    char *nl = strchr(line, '\n');
    assert_non_null(nl);
    *nl = '\0';
    *cursor = nl + 1;
    return line;
}

/* json_name: the watch's name as the line must escape it. */
static void expect_mem_line(const char *line, uint32_t ms, uint32_t seq, const char *json_name,
                            const rtm_monitor_mem_status_t *st)
{
    char trend[40] = "";
    if (st->trend_valid) {
        snprintf(trend, sizeof trend, ",\"trend_bpm\":%" PRId32, st->trend_bytes_per_min);
    }
    char want[512];
    snprintf(want, sizeof want,
             "{\"rtmem\":1,\"type\":\"mem\",\"ms\":%" PRIu32 ",\"seq\":%" PRIu32
             ",\"name\":\"%s\",\"kind\":\"heap\",\"total\":%zu,\"free\":%zu,\"min_free\":%zu"
             ",\"largest\":%zu,\"used_blocks\":%zu,\"free_blocks\":%zu,\"failed\":%zu"
             ",\"frag_pm\":%" PRIu32 "%s,\"alerts\":%" PRIu32 "}",
             ms, seq, json_name, st->total_bytes, st->free_bytes, st->min_free_bytes,
             st->largest_free, st->used_blocks, st->free_blocks, st->failed_count,
             st->frag_permille, trend, st->alerts);
    assert_string_equal(line, want);
}

/* One line of each kind, byte for byte as docs/formats.md shows them:
 * key order, punctuation, optional keys, escaping. The numbers that depend
 * on the heap layout of the build come from the status calls. */
static void test_telemetry_exact_lines(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    cfg.telemetry = true;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(16 * 1024);
    rtm_monitor_limits_t lim = {0};
    lim.low_free = 64 * 1024; /* always below: raised on the first sample */
    rtm_monitor_mem_t w;
    rtm_monitor_sample_t hist[8];
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram\t1", &lim, hist, 8));
    static _Alignas(16) uint8_t storage[512];
    static rtm_pool_t pool;
    rtm_pool_config_t pc = {0};
    pc.name = "msgs";
    pc.block_size = 16;
    pc.count = 4;
    assert_non_null(rtm_pool_init(&pool, storage, sizeof storage, &pc));
    rtm_monitor_pool_t pw;
    assert_true(rtm_monitor_watch_pool(&mon, &pw, &pool));
    rtm_monitor_task_t tw;
    assert_true(rtm_monitor_watch_task(&mon, &tw, 12345, "idle", 0));
    /* Most of the heap in use: minimum free under 10%, so grow advice. */
    rtm_heap_info_t hi;
    assert_true(rtm_heap_info(h, &hi));
    assert_true(hi.largest_free_block > 1024);
    assert_non_null(rtm_malloc(h, hi.largest_free_block - 512));
    void *b = rtm_pool_alloc(&pool);
    assert_non_null(b);

    g_now = 5000;
    capture_start();
    rtm_monitor_sample(&mon);
    rtm_output_set(NULL, NULL);
    rtm_monitor_mem_status_t ms;
    assert_true(rtm_monitor_mem_status(&mon, &w, &ms));
    assert_false(ms.trend_valid);
    char *cursor = g_out;
    expect_mem_line(next_line(&cursor), 5000, 1, "ram\\u00091", &ms);
    assert_string_equal(next_line(&cursor),
                        "{\"rtmem\":1,\"type\":\"pool\",\"ms\":5000,\"seq\":1,\"name\":\"msgs\","
                        "\"block\":16,\"capacity\":4,\"used\":1,\"peak\":1,\"failed\":0,"
                        "\"waits\":0,\"alerts\":0}");
    assert_string_equal(next_line(&cursor),
                        "{\"rtmem\":1,\"type\":\"task\",\"ms\":5000,\"seq\":1,\"name\":\"idle\","
                        "\"id\":12345,\"alerts\":0}");
    char want[512];
    snprintf(want, sizeof want,
             "{\"rtmem\":1,\"type\":\"alert\",\"ms\":5000,\"alert\":\"low_free\","
             "\"state\":\"raised\",\"source\":\"ram\\u00091\",\"value\":%zu,\"threshold\":65536}",
             ms.free_bytes);
    assert_string_equal(next_line(&cursor), want);
    assert_string_equal(cursor, "");

    /* Enough samples for a trend: the optional key sits before "alerts". */
    for (int i = 0; i < 6; i++) {
        g_now += 1000;
        rtm_monitor_sample(&mon);
    }
    assert_true(rtm_monitor_mem_status(&mon, &w, &ms));
    assert_true(ms.trend_valid);
    capture_start();
    rtm_monitor_emit_telemetry(&mon);
    rtm_output_set(NULL, NULL);
    cursor = g_out;
    expect_mem_line(next_line(&cursor), 11000, 7, "ram\\u00091", &ms);

    rtm_recommendation_t rec[4];
    assert_int_equal(rtm_monitor_recommend(&mon, rec, 4), 1);
    assert_int_equal(rec[0].kind, RTM_REC_GROW_MEMORY);
    char text[200];
    rtm_recommendation_text(&rec[0], text, sizeof text);
    capture_start();
    assert_int_equal(rtm_monitor_print_recommendations(&mon), 1);
    rtm_output_set(NULL, NULL);
    cursor = g_out;
    snprintf(want, sizeof want,
             "{\"rtmem\":1,\"type\":\"rec\",\"ms\":11000,\"rule\":\"grow_memory\","
             "\"source\":\"ram\\u00091\",\"size\":%" PRIu64 ",\"min_free\":%" PRIu64
             ",\"peak_used\":%" PRIu64 ",\"advised\":%" PRIu64 ",\"fixed\":0,\"text\":\"%s\"}",
             rec[0].v[0], rec[0].v[1], rec[0].v[2], rec[0].v[3], text);
    assert_null(strchr(text, '"'));
    assert_string_equal(next_line(&cursor), want);
    snprintf(want, sizeof want, "rtmem monitor: %s", text);
    assert_string_equal(next_line(&cursor), want);
    assert_string_equal(cursor, "");
    rtm_pool_free(&pool, b);
    rtm_monitor_deinit(&mon);
}

#if defined(RTM_PORT_POSIX)
static void test_run_in_thread(void **state)
{
    (void)state;
    rtm_monitor_config_t cfg = RTM_MONITOR_CONFIG_DEFAULT;
    cfg.period_ms = 5;
    cfg.telemetry = false;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(8 * 1024);
    rtm_monitor_mem_t w;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", NULL, NULL, 0));
    rtm_thread_t t;
    assert_true(rtm_thread_start(&t, "monitor", g_task_stack, TASK_STACK, rtm_monitor_task_main,
                                 &mon));
    rtm_monitor_status_t st;
    do {
        rtm_port_sleep_ms(5);
        assert_true(rtm_monitor_status(&mon, &st));
    } while (st.samples < 3);
    rtm_monitor_stop(&mon);
    assert_true(rtm_thread_join(&t));
    rtm_monitor_deinit(&mon);
}
#endif

/* ------------------------------------------------------------------ */
/* Hostile use (second audit)                                          */

/* monitor.h: free < low_free, largest < need_block, fragmentation >
 * max_frag_permille: a value exactly at its limit raises nothing, one
 * unit past it raises. Several watches of one heap read the same state. */
static void test_alerts_at_exact_threshold(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(32 * 1024);
    void *p[40];
    size_t n = 0;
    while (n < 40 && (p[n] = rtm_malloc(h, 1000)) != NULL) {
        n++;
    }
    for (size_t i = 0; i < n; i += 2) {
        rtm_free(h, p[i]);
        p[i] = NULL;
    }
    rtm_monitor_mem_t probe;
    assert_true(rtm_monitor_watch_heap(&mon, &probe, h, "probe", NULL, NULL, 0));
    rtm_monitor_sample(&mon);
    rtm_monitor_mem_status_t st;
    assert_true(rtm_monitor_mem_status(&mon, &probe, &st));
    assert_true(st.frag_permille > 1 && st.free_bytes > st.largest_free);
    assert_int_equal(st.frag_permille, 1000u - st.largest_free * 1000u / st.free_bytes);

    rtm_monitor_limits_t at = {st.free_bytes, st.min_free_bytes, st.largest_free,
                               st.frag_permille, 0};
    rtm_monitor_limits_t past = {st.free_bytes + 1u, st.min_free_bytes + 1u,
                                 st.largest_free + 1u, st.frag_permille - 1u, 0};
    rtm_monitor_mem_t w_at, w_past;
    assert_true(rtm_monitor_watch_heap(&mon, &w_at, h, "at", &at, NULL, 0));
    assert_true(rtm_monitor_watch_heap(&mon, &w_past, h, "past", &past, NULL, 0));
    rtm_monitor_sample(&mon);
    for (size_t i = 0; i < log.n; i++) {
        assert_string_equal(log.a[i].source, "past");
    }
    assert_int_equal(count_alerts(&log, RTM_ALERT_LOW_FREE, true), 1);
    assert_int_equal(count_alerts(&log, RTM_ALERT_LOW_MIN_FREE, true), 1);
    assert_int_equal(count_alerts(&log, RTM_ALERT_BLOCK_TOO_SMALL, true), 1);
    assert_int_equal(count_alerts(&log, RTM_ALERT_FRAGMENTED, true), 1);
    assert_int_equal(log.n, 4);
    for (size_t i = 1; i < n; i += 2) {
        rtm_free(h, p[i]);
    }
    rtm_monitor_deinit(&mon);
}

/* monitor.h, hysteresis: the band is h% of the limit rounded up to a
 * whole unit, so a limit below 100 / h still has one: fragmentation
 * going back and forth between one unit above its limit and exactly the
 * limit raises once and never clears (rounded down, the band was 0 and
 * the alert flapped on every sample). */
static void test_small_limit_hysteresis(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(64 * 1024);
    /* A hole of 64 or of 32 bytes before the one large free block. */
    void *hole64 = rtm_malloc(h, 64);
    void *guard1 = rtm_malloc(h, 16);
    void *hole32 = rtm_malloc(h, 32);
    void *guard2 = rtm_malloc(h, 16);
    assert_non_null(guard1);
    assert_non_null(guard2);
    rtm_free(h, hole64);
    rtm_monitor_mem_t probe;
    assert_true(rtm_monitor_watch_heap(&mon, &probe, h, "probe", NULL, NULL, 0));
    rtm_monitor_mem_status_t st;
    rtm_monitor_sample(&mon);
    assert_true(rtm_monitor_mem_status(&mon, &probe, &st));
    uint32_t high = st.frag_permille;
    rtm_free(h, hole32);
    hole64 = rtm_malloc(h, 64);
    rtm_monitor_sample(&mon);
    assert_true(rtm_monitor_mem_status(&mon, &probe, &st));
    uint32_t low = st.frag_permille;
    /* The case: a limit whose 10% is below one unit. */
    assert_true(low >= 1 && low < 10 && high > low);

    rtm_monitor_limits_t lim = {0};
    lim.max_frag_permille = low;
    rtm_monitor_mem_t w;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", &lim, NULL, 0));
    for (int round = 0; round < 4; round++) {
        rtm_free(h, hole64); /* the 64-byte hole: above the limit */
        hole32 = rtm_malloc(h, 32);
        g_now += 1000;
        rtm_monitor_sample(&mon);
        assert_true(rtm_monitor_mem_status(&mon, &w, &st));
        assert_int_equal(st.frag_permille, high);
        rtm_free(h, hole32); /* the 32-byte hole: exactly the limit */
        hole64 = rtm_malloc(h, 64);
        g_now += 1000;
        rtm_monitor_sample(&mon);
        assert_true(rtm_monitor_mem_status(&mon, &w, &st));
        assert_int_equal(st.frag_permille, low);
    }
    assert_int_equal(count_alerts(&log, RTM_ALERT_FRAGMENTED, true), 1);
    assert_int_equal(count_alerts(&log, RTM_ALERT_FRAGMENTED, false), 0);
    rtm_monitor_deinit(&mon);
}

/* monitor.h, fragmentation: 0 when nothing is free, 0 for one free block
 * (an empty heap). */
static void test_fragmentation_edges(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(16 * 1024);
    rtm_monitor_limits_t lim = {0};
    lim.max_frag_permille = 1;
    rtm_monitor_mem_t w;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", &lim, NULL, 0));
    rtm_monitor_sample(&mon);
    rtm_monitor_mem_status_t st;
    assert_true(rtm_monitor_mem_status(&mon, &w, &st));
    assert_int_equal(st.free_blocks, 1);
    assert_int_equal(st.frag_permille, 0);
    /* Full: take the largest block until nothing is left. */
    void *p[64];
    size_t n = 0;
    for (size_t size = rtm_heap_largest_free(h); size > 0 && n < 64;
         size = rtm_heap_largest_free(h)) {
        p[n] = rtm_malloc(h, size);
        if (p[n] == NULL) {
            break;
        }
        n++;
    }
    rtm_monitor_sample(&mon);
    assert_true(rtm_monitor_mem_status(&mon, &w, &st));
    assert_int_equal(st.largest_free, 0);
    if (st.free_bytes == 0) {
        assert_int_equal(st.frag_permille, 0);
    }
    assert_int_equal(count_alerts(&log, RTM_ALERT_FRAGMENTED, true),
                     st.free_bytes == 0 ? 0u : 1u);
    while (n > 0) {
        rtm_free(h, p[--n]);
    }
    rtm_monitor_deinit(&mon);
}

/* A limit no memory can reach ("always alert", or a size_t from a bad
 * calculation): raised once and kept, not raised and cleared by turns
 * because limit + h% wrapped around. */
static void test_alert_with_huge_limits(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(16 * 1024);
    rtm_monitor_limits_t lim = {SIZE_MAX, SIZE_MAX, SIZE_MAX, UINT32_MAX, UINT32_MAX};
#if SIZE_MAX > UINT32_MAX
    /* limit + 10% of it is 1100 modulo 2^64. */
    lim.low_free = (size_t)UINT64_C(0xfdac37dac37db020);
#endif
    rtm_monitor_mem_t w;
    rtm_monitor_sample_t hist[8];
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", &lim, hist, 8));
    for (int i = 0; i < 6; i++) {
        rtm_monitor_sample(&mon);
        g_now += 1000;
    }
    assert_int_equal(count_alerts(&log, RTM_ALERT_LOW_FREE, true), 1);
    assert_int_equal(count_alerts(&log, RTM_ALERT_LOW_MIN_FREE, true), 1);
    assert_int_equal(count_alerts(&log, RTM_ALERT_BLOCK_TOO_SMALL, true), 1);
    assert_int_equal(count_alerts(&log, RTM_ALERT_FRAGMENTED, true), 0);
    assert_int_equal(count_alerts(&log, RTM_ALERT_LEAK_TREND, true), 0);
    assert_int_equal(log.n, 3);
    rtm_monitor_deinit(&mon);
}

/* monitoring.md: the trend needs at least 3 samples inside the window
 * spanning half of it; sampled less often than every half window it never
 * becomes valid, however long the history. */
static void test_trend_needs_three_samples(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    cfg.trend_window_ms = 60000;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(64 * 1024);
    rtm_monitor_mem_t w;
    rtm_monitor_sample_t hist[16];
    rtm_monitor_limits_t lim = {0};
    lim.leak_bytes_per_min = 1;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", &lim, hist, 16));
    rtm_monitor_mem_status_t st;
    g_now = 0;
    for (int i = 0; i < 12; i++) {
        assert_non_null(rtm_malloc(h, 512));
        rtm_monitor_sample(&mon);
        assert_true(rtm_monitor_mem_status(&mon, &w, &st));
        assert_false(st.trend_valid);
        g_now += 30001;
    }
    assert_int_equal(log.n, 0);
    /* Every half window exactly: three samples span the whole window. */
    g_now -= 1;
    for (int i = 0; i < 3; i++) {
        assert_non_null(rtm_malloc(h, 512));
        rtm_monitor_sample(&mon);
        g_now += 30000;
    }
    assert_true(rtm_monitor_mem_status(&mon, &w, &st));
    assert_true(st.trend_valid);
    assert_true(st.trend_bytes_per_min < 0);
    assert_int_equal(count_alerts(&log, RTM_ALERT_LEAK_TREND, true), 1);
    rtm_monitor_deinit(&mon);
}

/* formats.md: a telemetry line longer than 384 bytes is dropped whole,
 * never cut; the other lines of the sample are written; the alert
 * callback still runs. Names are escaped (quotes, backslashes, control
 * bytes), and a name that is not UTF-8 still gives a line of UTF-8. */
static bool utf8_ok(const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    while (*p != 0) {
        size_t k;
        uint32_t c;
        if (*p < 0x80) {
            p++;
            continue;
        } else if ((*p & 0xe0) == 0xc0) {
            k = 1;
            c = *p & 0x1fu;
        } else if ((*p & 0xf0) == 0xe0) {
            k = 2;
            c = *p & 0x0fu;
        } else if ((*p & 0xf8) == 0xf0) {
            k = 3;
            c = *p & 0x07u;
        } else {
            return false;
        }
        for (size_t i = 1; i <= k; i++) {
            if ((p[i] & 0xc0) != 0x80) {
                return false;
            }
            c = (c << 6) | (p[i] & 0x3fu);
        }
        static const uint32_t min_of[4] = {0, 0x80, 0x800, 0x10000};
        if (c < min_of[k] || c > 0x10ffff || (c >= 0xd800 && c <= 0xdfff)) {
            return false;
        }
        p += k + 1;
    }
    return true;
}

static void test_telemetry_hostile_names(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    cfg.telemetry = true;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(16 * 1024);
    static char long_name[400];
    memset(long_name, 'n', sizeof long_name - 1u);
    static char ctl_name[61];
    for (size_t i = 0; i + 1 < sizeof ctl_name; i++) {
        ctl_name[i] = (char)(1 + i % 31);
    }
    static const char *const names[] = {
        long_name, ctl_name, "ok",
        "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80",   /* UTF-8: passes unchanged */
        "bad\xff\xfe\xc3(\xe2\x82\xed\xa0\x80\xc0\xaf\xf4\x90\x80\x80" "end", /* not UTF-8 */
    };
    enum { NW = sizeof names / sizeof names[0] };
    rtm_monitor_mem_t w[NW];
    rtm_monitor_limits_t lim = {0};
    lim.low_free = 1u << 30;
    for (size_t i = 0; i < NW; i++) {
        assert_true(rtm_monitor_watch_heap(&mon, &w[i], h, names[i], &lim, NULL, 0));
    }
    capture_start();
    rtm_monitor_sample(&mon);
    rtm_output_set(NULL, NULL);
    assert_int_equal(count_alerts(&log, RTM_ALERT_LOW_FREE, true), NW);
    size_t mem_lines = 0, alert_lines = 0;
    bool saw_bad = false;
    int types_seen[8] = {0};
    for (char *line = g_out; *line != '\0';) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        *nl = '\0';
        assert_true(strlen(line) + 1u <= 384u);
        assert_true(utf8_ok(line));
        check_line(line, types_seen);
        assert_null(strstr(line, "nnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnnn"));
        mem_lines += strstr(line, "\"type\":\"mem\"") != NULL;
        alert_lines += strstr(line, "\"type\":\"alert\"") != NULL;
        if (strstr(line, "\"name\":\"bad") != NULL) {
            /* one '?' per byte of each ill-formed sequence */
            assert_non_null(strstr(line, "\"name\":\"bad??" "?(??" "?????????end\""));
            saw_bad = true;
        }
        if (strstr(line, "\"name\":\"caf") != NULL) {
            assert_non_null(strstr(line, "\"name\":\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""));
        }
        line = nl + 1;
    }
    /* The 400-byte name and the 60 control bytes (6 bytes each escaped)
     * lose their lines; the three others keep theirs. */
    assert_int_equal(mem_lines, 3);
    assert_int_equal(alert_lines, 3);
    assert_true(saw_bad);
    rtm_monitor_deinit(&mon);
}

/* monitor.h, rtm_recommendation_text: NUL-terminated whenever len > 0,
 * the length it needed whatever len is, every len giving a prefix of the
 * whole sentence; control bytes of a name become '?'; every kind, an
 * unknown one and numbers at their widest included. */
static void test_recommendation_text_bounds(void **state)
{
    (void)state;
    static char full[512], part[512];
    for (int kind = 0; kind <= RTM_REC_KIND_COUNT; kind++) {
        for (int fixed = 0; fixed < 2; fixed++) {
            rtm_recommendation_t rec;
            rec.kind = (rtm_rec_kind_t)kind;
            rec.source = "we\x01ird\n\"name\"\x7f";
            for (int i = 0; i < 5; i++) {
                rec.v[i] = UINT64_MAX - (uint64_t)i;
            }
            rec.v[4] = (uint64_t)fixed;
            size_t need = rtm_recommendation_text(&rec, full, sizeof full);
            assert_true(need > 0 && need < sizeof full);
            assert_int_equal(strlen(full), need);
            /* DEL is a control byte too (as in caps' summary). */
            assert_memory_equal(full, "we?ird?\"name\"?: ", 16);
            for (size_t i = 0; i < need; i++) {
                assert_true((unsigned char)full[i] >= 0x20 && (unsigned char)full[i] != 0x7f);
            }
            if (kind < RTM_REC_KIND_COUNT) {
                assert_non_null(strstr(full, "1844674407370955161"));
            }
            for (size_t len = 0; len <= need + 1u; len++) {
                memset(part, 'x', sizeof part);
                assert_int_equal(rtm_recommendation_text(&rec, part, len), need);
                if (len == 0) {
                    assert_int_equal(part[0], 'x');
                    continue;
                }
                size_t got = strlen(part);
                assert_int_equal(got, len - 1u < need ? len - 1u : need);
                assert_memory_equal(part, full, got);
                assert_int_equal(part[got + 1u], 'x');
            }
            assert_int_equal(rtm_recommendation_text(&rec, NULL, 100), need);
        }
    }
}

/* monitor.h: more alerts in one tick than RTM_MONITOR_MAX_ALERTS_PER_TICK
 * are counted in alerts_dropped and raised all the same (status bits,
 * alerts_raised); no callback or telemetry line for them. */
static void test_alerts_dropped_per_tick(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    cfg.telemetry = true;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_t *h = make_heap(16 * 1024);
    enum { NW = RTM_MONITOR_MAX_ALERTS_PER_TICK + 5 };
    static rtm_monitor_mem_t w[NW];
    rtm_monitor_limits_t lim = {0};
    lim.low_free = 1u << 30;
    for (size_t i = 0; i < NW; i++) {
        assert_true(rtm_monitor_watch_heap(&mon, &w[i], h, "m", &lim, NULL, 0));
    }
    capture_start();
    rtm_monitor_sample(&mon);
    rtm_output_set(NULL, NULL);
    assert_int_equal(log.n, RTM_MONITOR_MAX_ALERTS_PER_TICK);
    size_t alert_lines = 0;
    for (const char *p = g_out; (p = strstr(p, "\"type\":\"alert\"")) != NULL; p++) {
        alert_lines++;
    }
    assert_int_equal(alert_lines, RTM_MONITOR_MAX_ALERTS_PER_TICK);
    rtm_monitor_status_t st;
    assert_true(rtm_monitor_status(&mon, &st));
    assert_int_equal(st.alerts_dropped, 5);
    assert_int_equal(st.alerts_raised, NW);
    for (size_t i = 0; i < NW; i++) {
        rtm_monitor_mem_status_t ms;
        assert_true(rtm_monitor_mem_status(&mon, &w[i], &ms));
        assert_int_equal(ms.alerts, 1u << RTM_ALERT_LOW_FREE);
    }
    /* Still low: nothing new, nothing dropped. */
    rtm_monitor_sample(&mon);
    assert_int_equal(log.n, RTM_MONITOR_MAX_ALERTS_PER_TICK);
    assert_true(rtm_monitor_status(&mon, &st));
    assert_int_equal(st.alerts_dropped, 5);
    rtm_monitor_deinit(&mon);
}

/* monitor.h: trend_window_ms is any 32-bit value. A window of 49 days
 * sampled 2048 times (every 35 minutes) gives the slope of a steady
 * leak, not an overflowed sum (the least-squares sums of ms deviations
 * passed 2^63 with /16 scaling). */
static _Alignas(16) uint8_t g_big_arena[512 * 1024];

static void test_trend_long_window(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    cfg.trend_window_ms = UINT32_MAX;
    cfg.period_ms = 0;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_heap_config_t hc = {.strategy = &rtm_strategy_tlsf, .name = "big"};
    rtm_heap_t *h = rtm_heap_init(g_big_arena, sizeof g_big_arena, &hc);
    assert_non_null(h);
    enum { N = 2048 };
    static rtm_monitor_sample_t hist[N];
    rtm_monitor_limits_t lim = {0};
    lim.leak_bytes_per_min = 1;
    rtm_monitor_mem_t w;
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "big", &lim, hist, N));
    g_now = 0;
    size_t before = rtm_heap_free_bytes(h);
    for (int i = 0; i < N; i++) {
        assert_non_null(rtm_malloc(h, 128));
        rtm_monitor_sample(&mon);
        g_now += 1u << 21;
    }
    size_t lost = before - rtm_heap_free_bytes(h);
    rtm_monitor_mem_status_t st;
    assert_true(rtm_monitor_mem_status(&mon, &w, &st));
    assert_true(st.trend_valid);
    /* bytes per 2^21 ms, per minute */
    int64_t expect = -(int64_t)(lost / N) * 60000 / (1 << 21);
    if (st.trend_bytes_per_min < expect - 1 || st.trend_bytes_per_min > expect + 1) {
        ts_fail("trend %d bytes/min, expected %lld", (int)st.trend_bytes_per_min,
                (long long)expect);
    }
    assert_int_equal(count_alerts(&log, RTM_ALERT_LEAK_TREND, true), 1);
    rtm_monitor_deinit(&mon);
}

/* docs/monitoring.md: pool_exhausted clears with at least max(1, min(h,
 * 100)% of capacity) blocks free. 15% of 10 blocks is 1.5: one free block
 * is not enough (it was: the band rounded down to 1). */
static void test_pool_hysteresis_rounds_up(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    cfg.hysteresis_percent = 15;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    static _Alignas(16) uint8_t storage[4096];
    static rtm_pool_t pool;
    rtm_pool_config_t pc = {0};
    pc.name = "p10";
    pc.block_size = 16;
    pc.count = 10;
    assert_non_null(rtm_pool_init(&pool, storage, sizeof storage, &pc));
    rtm_monitor_pool_t w;
    assert_true(rtm_monitor_watch_pool(&mon, &w, &pool));
    void *b[10];
    for (int i = 0; i < 10; i++) {
        b[i] = rtm_pool_alloc(&pool);
        assert_non_null(b[i]);
    }
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_POOL_EXHAUSTED, true), 1);
    rtm_pool_free(&pool, b[9]);
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_POOL_EXHAUSTED, false), 0);
    rtm_pool_free(&pool, b[8]);
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_POOL_EXHAUSTED, false), 1);

    /* h = 0: the max(1, ...) floor, one free block clears it. */
    for (int i = 8; i < 10; i++) {
        b[i] = rtm_pool_alloc(&pool);
    }
    rtm_monitor_deinit(&mon);
    cfg.hysteresis_percent = 0;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    assert_true(rtm_monitor_watch_pool(&mon, &w, &pool));
    rtm_monitor_sample(&mon);
    rtm_pool_free(&pool, b[9]);
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_POOL_EXHAUSTED, true), 2);
    assert_int_equal(count_alerts(&log, RTM_ALERT_POOL_EXHAUSTED, false), 2);

    /* h above 100: the band is at most 100%, so every block back clears
     * it. It never cleared: 10 blocks at 200% asked for 20 free. */
    b[9] = rtm_pool_alloc(&pool);
    rtm_monitor_deinit(&mon);
    cfg.hysteresis_percent = 200;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    assert_true(rtm_monitor_watch_pool(&mon, &w, &pool));
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_POOL_EXHAUSTED, true), 3);
    for (int i = 0; i < 9; i++) {
        rtm_pool_free(&pool, b[i]);
    }
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_POOL_EXHAUSTED, false), 2);
    rtm_pool_free(&pool, b[9]);
    rtm_monitor_sample(&mon);
    assert_int_equal(count_alerts(&log, RTM_ALERT_POOL_EXHAUSTED, false), 3);
    rtm_monitor_deinit(&mon);
}

static size_t count_mems_named(rtm_monitor_t *mon, rtm_monitor_mem_t *w, size_t n,
                               const char *name)
{
    size_t found = 0;
    for (size_t i = 0; i < n; i++) {
        rtm_monitor_mem_status_t st;
        if (rtm_monitor_mem_status(mon, &w[i], &st) && st.name != NULL &&
            strcmp(st.name, name) == 0) {
            found++;
        }
    }
    return found;
}

/* monitor.h: rtm_monitor_watch_regions called again (a larger array, a
 * second array, regions added since) watches each region once, in the
 * entries of w not yet watched. The old code stopped at the first entry
 * already watched (0 new) and watched every region again from a second
 * array (its alerts and advice twice). */
static void test_watch_regions_twice(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    static rtm_caps_registry_t reg;
    static rtm_caps_region_t slots[3];
    assert_int_equal(rtm_caps_init(&reg, slots, 3, NULL), RTM_CAPS_OK);
    rtm_caps_region_config_t a = {0};
    a.name = "A";
    a.caps[0] = RTM_CAP_INTERNAL | RTM_CAP_8BIT | RTM_CAP_DEFAULT;
    rtm_caps_region_config_t b = a;
    b.name = "B";
    rtm_caps_region_config_t c = {0};
    c.name = "C";
    c.caps[0] = RTM_CAP_SPIRAM | RTM_CAP_8BIT;
    static _Alignas(16) uint8_t ra[8192], rb[8192], rc[8192];
    assert_int_equal(rtm_caps_add_region(ra, sizeof ra, &a, NULL), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_add_region(rb, sizeof rb, &b, NULL), RTM_CAPS_OK);
    static rtm_monitor_mem_t w[3], w2[3];
    static rtm_monitor_sample_t hist[3 * 4];
    assert_int_equal(rtm_monitor_watch_regions(&mon, w, 1, NULL, hist, 4), 1);
    assert_int_equal(rtm_monitor_watch_regions(&mon, w, 3, NULL, hist, 4), 1);
    assert_int_equal(rtm_monitor_watch_regions(&mon, w, 3, NULL, hist, 4), 0);
    assert_int_equal(rtm_monitor_watch_regions(&mon, w2, 3, NULL, NULL, 0), 0);
    assert_int_equal(rtm_caps_add_region(rc, sizeof rc, &c, NULL), RTM_CAPS_OK);
    assert_int_equal(rtm_monitor_watch_regions(&mon, w2, 3, NULL, NULL, 0), 1);
    assert_int_equal(rtm_monitor_watch_regions(&mon, w, 3, NULL, hist, 4), 0);
    assert_int_equal(count_mems_named(&mon, w, 3, "A"), 1);
    assert_int_equal(count_mems_named(&mon, w, 3, "B"), 1);
    assert_int_equal(count_mems_named(&mon, w2, 3, "C"), 1);
    assert_int_equal(count_mems_named(&mon, w, 3, "C") + count_mems_named(&mon, w2, 3, "A") +
                         count_mems_named(&mon, w2, 3, "B"),
                     0);
    /* Entry i's ring is hist[i * 4]: a sample lands in w[1]'s own ring. */
    rtm_monitor_sample(&mon);
    assert_true(hist[4].free_bytes > 0 && hist[4].free_bytes <= sizeof rb);
    assert_true(hist[0].free_bytes > 0 && hist[0].free_bytes <= sizeof ra);
    /* C is PSRAM: external, so a region grown short there is no PSRAM room. */
    assert_true(w2[0].external);
    assert_false(w[0].external);
    assert_int_equal(rtm_monitor_watch_regions(NULL, w, 3, NULL, NULL, 0), 0);
    rtm_caps_deinit();
    rtm_monitor_deinit(&mon);
}

/* monitor.h: shrink_memory advises a smaller size. With a margin of up to
 * 255% a heap used 40% at its peak got "it could shrink to" more than its
 * size; the rule stays silent when peak + margin is not below the size,
 * and still fires once the margin fits. */
static void test_shrink_never_advises_growth(void **state)
{
    (void)state;
    for (int pass = 0; pass < 2; pass++) {
        alert_log_t log = {0};
        rtm_monitor_config_t cfg = test_config(&log);
        cfg.stack_margin_percent = pass == 0 ? 255u : 20u;
        rtm_monitor_t mon;
        assert_non_null(rtm_monitor_init(&mon, &cfg));
        rtm_heap_t *h = make_heap(32 * 1024);
        rtm_monitor_mem_t w;
        assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram", NULL, NULL, 0));
        void *blocks[128];
        size_t nb = 0;
        fill_below(h, 32 * 1024 * 60 / 100, blocks, &nb, 128, 256);
        for (int i = 0; i < 10; i++) {
            rtm_monitor_sample(&mon);
        }
        rtm_recommendation_t rec[8];
        size_t nr = rtm_monitor_recommend(&mon, rec, 8);
        size_t k = find_rec(rec, nr, RTM_REC_SHRINK_MEMORY);
        if (pass == 0) {
            assert_int_equal(k, SIZE_MAX);
        } else {
            assert_true(k != SIZE_MAX);
            assert_true(rec[k].v[3] < rec[k].v[0]);
            assert_int_equal(rec[k].v[3], rec[k].v[2] + rec[k].v[2] / 5);
        }
        while (nb > 0) {
            rtm_free(h, blocks[--nb]);
        }
        rtm_monitor_deinit(&mon);
    }
}

/* monitor.h: the caps observer counts large non-DMA allocations that
 * "landed in internal memory". A PSRAM region watched with
 * rtm_monitor_watch_heap (external not set by hand) counted its own
 * PSRAM blocks as internal ones; and requests for EXEC, DMA or INTERNAL,
 * or under RTM_MONITOR_LARGE_BYTES, are never counted. */
static void test_caps_observer_counts_internal_only(void **state)
{
    (void)state;
    alert_log_t log = {0};
    rtm_monitor_config_t cfg = test_config(&log);
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    static rtm_caps_registry_t reg;
    static rtm_caps_region_t slots[2];
    assert_int_equal(rtm_caps_init(&reg, slots, 2, NULL), RTM_CAPS_OK);
    rtm_caps_region_config_t internal = {0};
    internal.name = "DRAM";
    internal.caps[0] = RTM_CAP_INTERNAL | RTM_CAP_DMA | RTM_CAP_8BIT | RTM_CAP_32BIT |
                       RTM_CAP_EXEC | RTM_CAP_DEFAULT;
    rtm_caps_region_config_t psram = {0};
    psram.name = "PSRAM";
    psram.caps[0] = RTM_CAP_SPIRAM | RTM_CAP_8BIT | RTM_CAP_32BIT;
    assert_int_equal(rtm_caps_add_region(g_internal, sizeof g_internal, &internal, NULL),
                     RTM_CAPS_OK);
    assert_int_equal(rtm_caps_add_region(g_psram, sizeof g_psram, &psram, NULL), RTM_CAPS_OK);
    rtm_monitor_mem_t wd, wp;
    assert_true(rtm_monitor_watch_heap(&mon, &wd, rtm_caps_region_heap(rtm_caps_region_at(0)),
                                       "DRAM", NULL, NULL, 0));
    assert_true(rtm_monitor_watch_heap(&mon, &wp, rtm_caps_region_heap(rtm_caps_region_at(1)),
                                       "PSRAM", NULL, NULL, 0));
    rtm_caps_set_observer(rtm_monitor_caps_observer, &mon);
    void *p[6];
    p[0] = rtm_caps_malloc(RTM_MONITOR_LARGE_BYTES, RTM_CAP_SPIRAM);
    p[1] = rtm_caps_malloc(RTM_MONITOR_LARGE_BYTES, RTM_CAP_8BIT | RTM_CAP_DEFAULT);
    p[2] = rtm_caps_malloc(RTM_MONITOR_LARGE_BYTES, RTM_CAP_EXEC);
    p[3] = rtm_caps_malloc(RTM_MONITOR_LARGE_BYTES, RTM_CAP_INTERNAL);
    p[4] = rtm_caps_malloc(RTM_MONITOR_LARGE_BYTES, RTM_CAP_DMA);
    p[5] = rtm_caps_malloc(RTM_MONITOR_LARGE_BYTES - 1u, RTM_CAP_8BIT);
    for (int i = 0; i < 6; i++) {
        assert_non_null(p[i]);
    }
    assert_string_equal(rtm_caps_region_name(rtm_caps_region_of(p[0])), "PSRAM");
    assert_string_equal(rtm_caps_region_name(rtm_caps_region_of(p[1])), "DRAM");
    assert_int_equal(wp.large_no_dma_count, 0);
    assert_int_equal(wd.large_no_dma_count, 1);
    assert_int_equal(wd.large_no_dma_bytes, RTM_MONITOR_LARGE_BYTES);
    for (int i = 0; i < 6; i++) {
        rtm_caps_free(p[i]);
    }
    rtm_caps_set_observer(NULL, NULL);
    rtm_caps_deinit();
    rtm_monitor_deinit(&mon);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_sample_matches_heap),
        cmocka_unit_test(test_tick_period),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_status_of_unwatched),
        cmocka_unit_test(test_telemetry_skips_unsampled),
        cmocka_unit_test(test_reinit_between_ticks_is_a_new_object),
        cmocka_unit_test(test_leak_trend),
        cmocka_unit_test(test_trend_needs_half_window),
        cmocka_unit_test(test_low_free_hysteresis),
        cmocka_unit_test(test_block_and_fragmentation_alerts),
        cmocka_unit_test(test_pool_exhausted),
#if defined(RTM_PORT_POSIX)
        cmocka_unit_test(test_task_stack),
#else
        cmocka_unit_test(test_none_port_time_tasks_and_run),
#endif
        cmocka_unit_test(test_pool_for_dominant_size),
        cmocka_unit_test(test_gone_heap_takes_its_size_counts),
        cmocka_unit_test(test_pool_advice_with_many_live_sizes),
        cmocka_unit_test(test_region_size_rules),
        cmocka_unit_test(test_shrink_counts_the_watch_samples),
        cmocka_unit_test(test_move_to_psram),
        cmocka_unit_test(test_caps_watch_without_memory),
        cmocka_unit_test(test_tracing_advice),
        cmocka_unit_test(test_telemetry_lines),
        cmocka_unit_test(test_telemetry_exact_lines),
#if defined(RTM_PORT_POSIX)
        cmocka_unit_test(test_run_in_thread),
#endif
        cmocka_unit_test(test_alerts_at_exact_threshold),
        cmocka_unit_test(test_fragmentation_edges),
        cmocka_unit_test(test_alert_with_huge_limits),
        cmocka_unit_test(test_trend_needs_three_samples),
        cmocka_unit_test(test_telemetry_hostile_names),
        cmocka_unit_test(test_recommendation_text_bounds),
        cmocka_unit_test(test_alerts_dropped_per_tick),
        cmocka_unit_test(test_trend_long_window),
        cmocka_unit_test(test_pool_hysteresis_rounds_up),
        cmocka_unit_test(test_small_limit_hysteresis),
        cmocka_unit_test(test_watch_regions_twice),
        cmocka_unit_test(test_shrink_never_advises_growth),
        cmocka_unit_test(test_caps_observer_counts_internal_only),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
