/*
 * The tool's telemetry reader (tools/rtmem/telemetry.c), the one parser of
 * `rtmem report`, `rtmem top` and `rtmem export`: every line type of
 * docs/formats.md, lines the library's monitor writes read back to the
 * values it sampled, and the lines a UART or a careless edit produces
 * (cut off, garbage, overflow, duplicates, wrong versions, logger prefixes).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/heap.h"
#include "rtmem/monitor.h"
#include "rtmem/output.h"
#include "telemetry.h"

static rtm_tm_line_t g_line;
static char g_err[RTM_TM_ERR_MAX];

static int parse(const char *text)
{
    g_err[0] = '\0';
    return rtm_tm_parse(text, strlen(text), &g_line, g_err, sizeof g_err);
}

/* The example of docs/formats.md, one line of each type. */
static const char doc_mem[] =
    "{\"rtmem\":1,\"type\":\"mem\",\"ms\":2000,\"seq\":2,\"name\":\"DRAM\",\"kind\":\"heap\","
    "\"total\":125824,\"free\":61240,\"min_free\":52112,\"largest\":31744,\"used_blocks\":41,"
    "\"free_blocks\":6,\"failed\":0,\"frag_pm\":481,\"alerts\":0}";
static const char doc_pool[] =
    "{\"rtmem\":1,\"type\":\"pool\",\"ms\":2000,\"seq\":2,\"name\":\"sensor_msgs\",\"block\":32,"
    "\"capacity\":16,\"used\":3,\"peak\":16,\"failed\":2,\"waits\":7,\"alerts\":0}";
static const char doc_task[] =
    "{\"rtmem\":1,\"type\":\"task\",\"ms\":2000,\"seq\":2,\"name\":\"wifi\",\"id\":140245,"
    "\"heap\":20480,\"heap_peak\":40960,\"stack_size\":65536,\"stack_peak\":9120,\"alerts\":0}";
static const char doc_alert[] =
    "{\"rtmem\":1,\"type\":\"alert\",\"ms\":9000,\"alert\":\"leak_trend\",\"state\":\"raised\","
    "\"source\":\"DRAM\",\"value\":-2304,\"threshold\":-1024}";
static const char doc_trace[] =
    "{\"rtmem\":1,\"type\":\"trace\",\"ms\":9012,\"line\":\"a 0x55d0c2a01b40 48 t=9012 task=net "
    "heap=DRAM caller=0x55d0c1e0a1f3 site=net.c:88\"}";
static const char doc_rec[] =
    "{\"rtmem\":1,\"type\":\"rec\",\"ms\":10000,\"rule\":\"pool_for_size\",\"source\":\"DRAM\","
    "\"block\":48,\"allocs\":2210,\"all_allocs\":3120,\"peak_live\":24,\"count\":30,\"text\":\"DRAM: "
    "2210 of 3120 allocations are 48 B: serve them from a pool of 30 blocks of 48 B (peak 24 "
    "live)\"}";

static void test_doc_examples(void **state)
{
    (void)state;
    assert_int_equal(parse(doc_mem), 1);
    rtm_tm_mem_t m;
    assert_true(rtm_tm_mem(&g_line, &m, g_err, sizeof g_err));
    assert_int_equal(m.ms, 2000);
    assert_int_equal(m.seq, 2);
    assert_string_equal(m.name, "DRAM");
    assert_string_equal(m.kind, "heap");
    assert_int_equal(m.total, 125824);
    assert_int_equal(m.free, 61240);
    assert_int_equal(m.min_free, 52112);
    assert_int_equal(m.largest, 31744);
    assert_int_equal(m.used_blocks, 41);
    assert_int_equal(m.free_blocks, 6);
    assert_int_equal(m.frag_pm, 481);
    assert_false(m.has_trend);

    assert_int_equal(parse(doc_pool), 1);
    rtm_tm_pool_t p;
    assert_true(rtm_tm_pool(&g_line, &p, g_err, sizeof g_err));
    assert_string_equal(p.name, "sensor_msgs");
    assert_int_equal(p.block, 32);
    assert_int_equal(p.capacity, 16);
    assert_int_equal(p.used, 3);
    assert_int_equal(p.peak, 16);
    assert_int_equal(p.failed, 2);
    assert_int_equal(p.waits, 7);

    assert_int_equal(parse(doc_task), 1);
    rtm_tm_task_t t;
    assert_true(rtm_tm_task(&g_line, &t, g_err, sizeof g_err));
    assert_string_equal(t.name, "wifi");
    assert_int_equal(t.id, 140245);
    assert_true(t.has_heap);
    assert_int_equal(t.heap, 20480);
    assert_int_equal(t.heap_peak, 40960);
    assert_true(t.has_stack);
    assert_int_equal(t.stack_size, 65536);
    assert_int_equal(t.stack_peak, 9120);

    assert_int_equal(parse(doc_alert), 1);
    rtm_tm_alert_t a;
    assert_true(rtm_tm_alert(&g_line, &a, g_err, sizeof g_err));
    assert_string_equal(a.alert, "leak_trend");
    assert_true(a.raised);
    assert_string_equal(a.source, "DRAM");
    assert_int_equal(a.value, -2304);
    assert_int_equal(a.threshold, -1024);

    assert_int_equal(parse(doc_trace), 1);
    assert_int_equal(g_line.type, RTM_TM_TRACE);
    assert_string_equal(rtm_tm_trace_text(&g_line),
                        "a 0x55d0c2a01b40 48 t=9012 task=net heap=DRAM caller=0x55d0c1e0a1f3 "
                        "site=net.c:88");

    assert_int_equal(parse(doc_rec), 1);
    rtm_tm_rec_t r;
    assert_true(rtm_tm_rec(&g_line, &r, g_err, sizeof g_err));
    assert_string_equal(r.rule, "pool_for_size");
    assert_string_equal(r.source, "DRAM");
    assert_non_null(strstr(r.text, "pool of 30 blocks"));
    uint64_t count;
    assert_true(rtm_tm_u64(&g_line, "count", &count));
    assert_int_equal(count, 30);
}

static void test_not_telemetry(void **state)
{
    (void)state;
    assert_int_equal(parse(""), 0);
    assert_int_equal(parse("I (2034) wifi: connected"), 0);
    assert_int_equal(parse("a 0x1000 16 t=1"), 0);
    assert_int_equal(parse("{\"json\":1}"), 0);
    assert_int_equal(parse("{\"rtmem\""), 0); /* too short to start telemetry */
    /* A wrong view of a line is refused, not misread. */
    assert_int_equal(parse(doc_pool), 1);
    rtm_tm_mem_t m;
    assert_false(rtm_tm_mem(&g_line, &m, g_err, sizeof g_err));
    assert_non_null(strstr(g_err, "pool line read as mem"));
}

/* Serial monitors and loggers put text in front of a line; CR ends it. */
static void test_prefix_and_line_ends(void **state)
{
    (void)state;
    char buf[1024];
    (void)snprintf(buf, sizeof buf, "[12:00:01.123] %s\r", doc_mem);
    assert_int_equal(parse(buf), 1);
    assert_int_equal(g_line.prefix_len, strlen("[12:00:01.123] "));
    assert_int_equal(g_line.type, RTM_TM_MEM);
    /* A '{' of the log text before the telemetry does not confuse it. */
    (void)snprintf(buf, sizeof buf, "I (5) x: {a} %s  \t", doc_pool);
    assert_int_equal(parse(buf), 1);
    assert_int_equal(g_line.type, RTM_TM_POOL);
}

/* Every way a line can be damaged, each an error with a message. */
static void test_broken_lines(void **state)
{
    (void)state;
    static const struct {
        const char *line;
        const char *msg;
    } bad[] = {
        {"{\"rtmem\":2,\"type\":\"mem\",\"ms\":1}", "version"},
        {"{\"rtmem\":\"1\",\"type\":\"mem\",\"ms\":1}", "version"},
        {"{\"rtmem\":1,\"ms\":1}", "without \"type\""},
        {"{\"rtmem\":1,\"type\":\"mem\"}", "without \"ms\""},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":-1}", "\"ms\""},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"free\":99999999999999999999}", "64 bits"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"v\":-9223372036854775809}", "64 bits"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"v\":-0}", "-0"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"v\":007}", "leading zero"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"v\":1.5}", "floating"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"v\":true}", "number"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"v\":null}", "number"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"v\":{}}", "number"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"v\":1,\"v\":2}", "twice"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"name\":\"DR", "cut off"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"free\":12", "cut off"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,", "cut off"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1} trailing", "after the closing"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1}}", "after the closing"},
        {"{\"rtmem\":1, \"type\":\"mem\",\"ms\":1}", "string"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"n\":\"a\tb\"}", "control byte"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"n\":\"a\\nb\"}", "bad escape"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"n\":\"\\u0000\"}", "\\u0000"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"n\":\"\\u00e9\"}", "escape other"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"n\":\"\\u00\"}", "escape other"},
        {"{\"rtmem\":1,\"type\":7,\"ms\":1}", "\"type\" is not a string"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1 \"x\":1}", "expected ','"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,x:1}", "expected a string"},
        {"{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"x\"1}", "expected ':'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int rc = parse(bad[i].line);
        if (rc != -1 || strstr(g_err, bad[i].msg) == NULL) {
            fail_msg("line %zu: %s -> %d '%s' (wanted '%s')", i, bad[i].line, rc, g_err,
                     bad[i].msg);
        }
    }
    /* More members than the reader holds: an error, not an overrun. */
    char buf[2048];
    int n = snprintf(buf, sizeof buf, "{\"rtmem\":1,\"type\":\"x\",\"ms\":1");
    for (unsigned i = 0; i < RTM_TM_MEMBER_MAX; i++) {
        n += snprintf(buf + n, sizeof buf - (size_t)n, ",\"k%u\":%u", i, i);
    }
    (void)snprintf(buf + n, sizeof buf - (size_t)n, "}");
    assert_int_equal(parse(buf), -1);
    assert_non_null(strstr(g_err, "members"));
    /* The edges of the numbers are accepted. */
    assert_int_equal(parse("{\"rtmem\":1,\"type\":\"x\",\"ms\":0,\"a\":18446744073709551615,"
                           "\"b\":-9223372036854775808}"),
                     1);
    uint64_t a;
    int64_t b;
    assert_true(rtm_tm_u64(&g_line, "a", &a));
    assert_true(a == UINT64_MAX);
    assert_false(rtm_tm_i64(&g_line, "a", &b)); /* does not fit int64 */
    assert_true(rtm_tm_i64(&g_line, "b", &b));
    assert_true(b == INT64_MIN);
    assert_false(rtm_tm_u64(&g_line, "b", &a));
    assert_null(rtm_tm_str(&g_line, "a"));
}

/* Unknown types and keys are kept and skipped; known types need their keys. */
static void test_unknown_and_missing(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"rtmem\":1,\"type\":\"gpu\",\"ms\":5,\"x\":\"y\"}"), 1);
    assert_int_equal(g_line.type, RTM_TM_OTHER);
    assert_string_equal(g_line.type_name, "gpu");
    assert_string_equal(rtm_tm_str(&g_line, "x"), "y");

    /* A later minor version's extra key is ignored by the typed view. */
    char buf[1024];
    (void)snprintf(buf, sizeof buf, "%.*s,\"new_key\":\"v\"}", (int)(sizeof doc_pool - 2u),
                   doc_pool);
    assert_int_equal(parse(buf), 1);
    rtm_tm_pool_t p;
    assert_true(rtm_tm_pool(&g_line, &p, g_err, sizeof g_err));

    assert_int_equal(parse("{\"rtmem\":1,\"type\":\"mem\",\"ms\":5,\"seq\":1,\"name\":\"x\"}"), 1);
    rtm_tm_mem_t m;
    assert_false(rtm_tm_mem(&g_line, &m, g_err, sizeof g_err));
    assert_non_null(strstr(g_err, "\"kind\""));
    /* A string where a number belongs. */
    assert_int_equal(parse("{\"rtmem\":1,\"type\":\"pool\",\"ms\":5,\"seq\":\"1\",\"name\":\"x\","
                           "\"block\":1,\"capacity\":1,\"used\":1,\"peak\":1,\"failed\":0,"
                           "\"waits\":0,\"alerts\":0}"),
                     1);
    assert_false(rtm_tm_pool(&g_line, &p, g_err, sizeof g_err));
    assert_non_null(strstr(g_err, "\"seq\""));
    /* Half of an optional pair is an error; neither half is fine. */
    assert_int_equal(parse("{\"rtmem\":1,\"type\":\"task\",\"ms\":5,\"seq\":1,\"name\":\"t\","
                           "\"id\":3,\"heap\":5,\"alerts\":0}"),
                     1);
    rtm_tm_task_t t;
    assert_false(rtm_tm_task(&g_line, &t, g_err, sizeof g_err));
    assert_non_null(strstr(g_err, "heap_peak"));
    assert_int_equal(parse("{\"rtmem\":1,\"type\":\"task\",\"ms\":5,\"seq\":1,\"name\":\"t\","
                           "\"id\":3,\"alerts\":0}"),
                     1);
    assert_true(rtm_tm_task(&g_line, &t, g_err, sizeof g_err));
    assert_false(t.has_heap);
    assert_false(t.has_stack);
    /* An alert state other than the two. */
    assert_int_equal(parse("{\"rtmem\":1,\"type\":\"alert\",\"ms\":5,\"alert\":\"low_free\","
                           "\"state\":\"maybe\",\"source\":\"s\",\"value\":1,\"threshold\":2}"),
                     1);
    rtm_tm_alert_t a;
    assert_false(rtm_tm_alert(&g_line, &a, g_err, sizeof g_err));
    assert_non_null(strstr(g_err, "state"));
}

/* Names: escapes decoded, UTF-8 kept, long names cut on a character. */
static void test_strings(void **state)
{
    (void)state;
    assert_int_equal(parse("{\"rtmem\":1,\"type\":\"pool\",\"ms\":5,\"seq\":1,"
                           "\"name\":\"q\\\"\\\\\\/\\u001b[2J\xc3\xa9\",\"block\":1,\"capacity\":1,"
                           "\"used\":1,\"peak\":1,\"failed\":0,\"waits\":0,\"alerts\":0}"),
                     1);
    rtm_tm_pool_t p;
    assert_true(rtm_tm_pool(&g_line, &p, g_err, sizeof g_err));
    assert_string_equal(p.name, "q\"\\/\x1b[2J\xc3\xa9");

    char buf[1024];
    char name[200];
    memset(name, 'x', sizeof name);
    /* 62 x then a 2-byte character: it does not fit the 63 bytes kept. */
    (void)memcpy(name + 62, "\xc3\xa9", 2);
    name[64] = '\0';
    (void)snprintf(buf, sizeof buf,
                   "{\"rtmem\":1,\"type\":\"pool\",\"ms\":5,\"seq\":1,\"name\":\"%s\",\"block\":1,"
                   "\"capacity\":1,\"used\":1,\"peak\":1,\"failed\":0,\"waits\":0,\"alerts\":0}",
                   name);
    assert_int_equal(parse(buf), 1);
    assert_true(rtm_tm_pool(&g_line, &p, g_err, sizeof g_err));
    assert_int_equal(strlen(p.name), 62);
}

static void test_alert_names(void **state)
{
    (void)state;
    /* The reader's copy of the names is the library's list. */
    for (unsigned k = 0; k < (unsigned)RTM_ALERT_KIND_COUNT; k++) {
        assert_non_null(rtm_tm_alert_name(k));
        assert_string_equal(rtm_tm_alert_name(k), rtm_alert_kind_str((rtm_alert_kind_t)k));
    }
    assert_null(rtm_tm_alert_name(RTM_ALERT_KIND_COUNT));
    assert_null(rtm_tm_alert_name(1000));
}

/* What the library's monitor writes reads back to what it sampled. */
static char g_out[16384];
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

static uint32_t g_now;
static uint32_t fake_clock(void)
{
    return g_now;
}

static _Alignas(16) uint8_t g_arena[32 * 1024];

static void test_monitor_round_trip(void **state)
{
    (void)state;
    rtm_heap_config_t hc = {0};
    rtm_heap_t *h = rtm_heap_init(g_arena, sizeof g_arena, &hc);
    assert_non_null(h);
    rtm_monitor_config_t cfg = RTM_MONITOR_CONFIG_DEFAULT;
    cfg.clock_ms = fake_clock;
    cfg.telemetry = true;
    rtm_monitor_t mon;
    assert_non_null(rtm_monitor_init(&mon, &cfg));
    rtm_monitor_mem_t w;
    rtm_monitor_limits_t lim = {0};
    lim.low_free = sizeof g_arena; /* always below: an alert line too */
    assert_true(rtm_monitor_watch_heap(&mon, &w, h, "ram \"x\"", &lim, NULL, 0));
    void *p = rtm_malloc(h, 1000);
    assert_non_null(p);

    g_out_len = 0;
    rtm_output_set(capture, NULL);
    g_now = 4242;
    rtm_monitor_sample(&mon);
    rtm_output_set(NULL, NULL);

    rtm_monitor_mem_status_t st;
    assert_true(rtm_monitor_mem_status(&mon, &w, &st));
    unsigned mems = 0, alerts = 0;
    for (char *line = g_out; *line != '\0';) {
        char *nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_int_equal(rtm_tm_parse(line, (size_t)(nl - line), &g_line, g_err, sizeof g_err),
                         1);
        if (g_line.type == RTM_TM_MEM) {
            rtm_tm_mem_t m;
            assert_true(rtm_tm_mem(&g_line, &m, g_err, sizeof g_err));
            assert_string_equal(m.name, "ram \"x\"");
            assert_int_equal(m.ms, 4242);
            assert_int_equal(m.total, st.total_bytes);
            assert_int_equal(m.free, st.free_bytes);
            assert_int_equal(m.min_free, st.min_free_bytes);
            assert_int_equal(m.largest, st.largest_free);
            assert_int_equal(m.used_blocks, st.used_blocks);
            assert_int_equal(m.alerts, st.alerts);
            assert_true(m.alerts & (1u << RTM_ALERT_LOW_FREE));
            mems++;
        } else if (g_line.type == RTM_TM_ALERT) {
            rtm_tm_alert_t a;
            assert_true(rtm_tm_alert(&g_line, &a, g_err, sizeof g_err));
            assert_string_equal(a.alert, rtm_tm_alert_name(RTM_ALERT_LOW_FREE));
            assert_true(a.raised);
            alerts++;
        }
        line = nl + 1;
    }
    assert_int_equal(mems, 1);
    assert_int_equal(alerts, 1);
    rtm_free(h, p);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_doc_examples),
        cmocka_unit_test(test_not_telemetry),
        cmocka_unit_test(test_prefix_and_line_ends),
        cmocka_unit_test(test_broken_lines),
        cmocka_unit_test(test_unknown_and_missing),
        cmocka_unit_test(test_strings),
        cmocka_unit_test(test_alert_names),
        cmocka_unit_test(test_monitor_round_trip),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
