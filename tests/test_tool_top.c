/*
 * `rtmem top` without a terminal (tools/rtmem/top_model.c, top_source.c):
 * the line splitter against cut, split and overlong lines; the state the
 * docs' telemetry example builds; alerts from alert lines and from the
 * alerts masks; garbage (escape sequences, NUL, invalid UTF-8, a line cut by
 * a reset) kept out of the screen and counted; full tables; and the
 * sources: a followed file, a pipe that ends, a pseudo-terminal that goes
 * away. The screen itself is tested under tmux (tests/tool_top_tmux.py).
 */
#define _XOPEN_SOURCE 700
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>
#include <fcntl.h>
#include <termios.h>
#include <time.h>
#include <unistd.h>

#include "commands.h"
#include "top_model.h"
#include "top_source.h"

/* ------------------------------------------------------------------ */
/* Splitter                                                             */

typedef struct seen {
    size_t count;
    char text[8][RTM_TOP_LINE_MAX + 1u];
    size_t len[8];
    rtm_top_line_flag_t flag[8];
} seen_t;

static void collect(void *ctx, const char *text, size_t len, rtm_top_line_flag_t flag)
{
    seen_t *s = ctx;
    assert_true(s->count < 8u);
    assert_int_equal(text[len], '\0');
    memcpy(s->text[s->count], text, len + 1u);
    s->len[s->count] = len;
    s->flag[s->count] = flag;
    s->count++;
}

static rtm_top_splitter_t g_split;
static seen_t g_seen;

static void split_str(const char *s)
{
    rtm_top_split(&g_split, s, strlen(s), collect, &g_seen);
}

static void test_split_pieces(void **state)
{
    (void)state;
    /* The same stream whole and one byte at a time gives the same lines. */
    static const char stream[] = "first\r\nsecond\n\nthird line\r\n";
    for (int bytewise = 0; bytewise < 2; bytewise++) {
        rtm_top_splitter_init(&g_split);
        memset(&g_seen, 0, sizeof g_seen);
        if (bytewise) {
            for (size_t i = 0; i < sizeof stream - 1u; i++) {
                rtm_top_split(&g_split, stream + i, 1, collect, &g_seen);
            }
        } else {
            split_str(stream);
        }
        assert_int_equal(g_seen.count, 4);
        assert_string_equal(g_seen.text[0], "first");
        assert_string_equal(g_seen.text[1], "second");
        assert_string_equal(g_seen.text[2], "");
        assert_string_equal(g_seen.text[3], "third line");
        for (size_t i = 0; i < 4; i++) {
            assert_int_equal(g_seen.flag[i], RTM_TOP_LINE_WHOLE);
        }
    }
}

static void test_split_cut_and_nul(void **state)
{
    (void)state;
    rtm_top_splitter_init(&g_split);
    memset(&g_seen, 0, sizeof g_seen);
    /* A NUL inside a line is part of it; the length says so. */
    rtm_top_split(&g_split, "a\0b\n{\"rtmem\":1,\"ty", 18, collect, &g_seen);
    assert_int_equal(g_seen.count, 1);
    assert_int_equal(g_seen.len[0], 3);
    assert_memory_equal(g_seen.text[0], "a\0b", 3);
    /* The source ends mid-line: the rest comes out as cut, once. */
    rtm_top_split_flush(&g_split, collect, &g_seen);
    rtm_top_split_flush(&g_split, collect, &g_seen);
    assert_int_equal(g_seen.count, 2);
    assert_string_equal(g_seen.text[1], "{\"rtmem\":1,\"ty");
    assert_int_equal(g_seen.flag[1], RTM_TOP_LINE_CUT);
}

static void test_split_overlong(void **state)
{
    (void)state;
    static char big[3u * RTM_TOP_LINE_MAX];
    rtm_top_splitter_init(&g_split);
    memset(&g_seen, 0, sizeof g_seen);
    /* Exactly RTM_TOP_LINE_MAX bytes is a whole line. */
    memset(big, 'x', RTM_TOP_LINE_MAX);
    big[RTM_TOP_LINE_MAX] = '\n';
    rtm_top_split(&g_split, big, RTM_TOP_LINE_MAX + 1u, collect, &g_seen);
    assert_int_equal(g_seen.count, 1);
    assert_int_equal(g_seen.len[0], RTM_TOP_LINE_MAX);
    assert_int_equal(g_seen.flag[0], RTM_TOP_LINE_WHOLE);
    /* Two and a half times that, in pieces: its first RTM_TOP_LINE_MAX
     * bytes come out as overlong, the rest is dropped up to "\n", and the
     * next line is whole again. */
    memset(big, 'y', sizeof big);
    size_t n = 5u * RTM_TOP_LINE_MAX / 2u;
    rtm_top_split(&g_split, big, 1000, collect, &g_seen);
    rtm_top_split(&g_split, big + 1000, n - 1000, collect, &g_seen);
    assert_int_equal(g_seen.count, 2);
    assert_int_equal(g_seen.flag[1], RTM_TOP_LINE_OVERLONG);
    assert_int_equal(g_seen.len[1], RTM_TOP_LINE_MAX);
    split_str("yyy\nnext\n");
    assert_int_equal(g_seen.count, 3);
    assert_string_equal(g_seen.text[2], "next");
    assert_int_equal(g_split.skipped_bytes, n - RTM_TOP_LINE_MAX + 3u);
    /* Overlong and then the source ends: nothing more comes out. */
    rtm_top_split(&g_split, big, RTM_TOP_LINE_MAX + 10u, collect, &g_seen);
    rtm_top_split_flush(&g_split, collect, &g_seen);
    assert_int_equal(g_seen.count, 4);
    assert_int_equal(g_seen.flag[3], RTM_TOP_LINE_OVERLONG);
}

/* ------------------------------------------------------------------ */
/* Model                                                                */

static rtm_top_model_t *g_m;

static int setup_model(void **state)
{
    (void)state;
    g_m = calloc(1, sizeof *g_m);
    if (g_m == NULL) {
        return -1;
    }
    rtm_top_model_init(g_m);
    return 0;
}

static int teardown_model(void **state)
{
    (void)state;
    free(g_m);
    g_m = NULL;
    return 0;
}

static void feed(const char *line)
{
    rtm_top_feed_line(g_m, line, strlen(line), RTM_TOP_LINE_WHOLE);
}

static void feed_stream(const char *bytes, size_t len)
{
    rtm_top_splitter_init(&g_split);
    rtm_top_split(&g_split, bytes, len, rtm_top_feed_line, g_m);
    rtm_top_split_flush(&g_split, rtm_top_feed_line, g_m);
}

static const char *last_log(void)
{
    const rtm_top_log_line_t *l = rtm_top_log_at(g_m, g_m->log_count - 1u);
    assert_non_null(l);
    return l->text;
}

/* No byte a terminal would act on: controls, DEL, ESC. */
static void assert_terminal_safe(const char *s)
{
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        assert_true(c >= 0x20u && c != 0x7fu);
    }
}

static const char doc_example[] =
    "I (2034) wifi: connected\n"
    "{\"rtmem\":1,\"type\":\"mem\",\"ms\":2000,\"seq\":2,\"name\":\"DRAM\",\"kind\":\"heap\","
    "\"total\":125824,\"free\":61240,\"min_free\":52112,\"largest\":31744,\"used_blocks\":41,"
    "\"free_blocks\":6,\"failed\":0,\"frag_pm\":481,\"alerts\":0}\n"
    "{\"rtmem\":1,\"type\":\"pool\",\"ms\":2000,\"seq\":2,\"name\":\"sensor_msgs\",\"block\":32,"
    "\"capacity\":16,\"used\":3,\"peak\":16,\"failed\":2,\"waits\":7,\"alerts\":0}\n"
    "{\"rtmem\":1,\"type\":\"task\",\"ms\":2000,\"seq\":2,\"name\":\"wifi\",\"id\":140245,"
    "\"heap\":20480,\"heap_peak\":40960,\"stack_size\":65536,\"stack_peak\":9120,\"alerts\":0}\n"
    "{\"rtmem\":1,\"type\":\"alert\",\"ms\":9000,\"alert\":\"leak_trend\",\"state\":\"raised\","
    "\"source\":\"DRAM\",\"value\":-2304,\"threshold\":-1024}\n"
    "{\"rtmem\":1,\"type\":\"trace\",\"ms\":9012,\"line\":\"a 0x55d0c2a01b40 48 t=9012 task=net "
    "heap=DRAM caller=0x55d0c1e0a1f3 site=net.c:88\"}\n"
    "{\"rtmem\":1,\"type\":\"rec\",\"ms\":10000,\"rule\":\"pool_for_size\",\"source\":\"DRAM\","
    "\"block\":48,\"allocs\":2210,\"all_allocs\":3120,\"peak_live\":24,\"count\":30,\"text\":"
    "\"DRAM: 2210 of 3120 allocations are 48 B: serve them from a pool of 30 blocks of 48 B "
    "(peak 24 live)\"}\n";

static void test_doc_example(void **state)
{
    (void)state;
    feed_stream(doc_example, sizeof doc_example - 1u);
    assert_int_equal(g_m->counts.lines, 7);
    assert_int_equal(g_m->counts.telemetry, 6);
    assert_int_equal(g_m->counts.trace, 1);
    assert_int_equal(g_m->counts.log, 1);
    assert_int_equal(g_m->counts.bad, 0);
    assert_int_equal(g_m->last_ms, 10000);

    const rtm_top_region_t *r = rtm_top_find_region(g_m, "DRAM");
    assert_non_null(r);
    assert_int_equal(r->last.total, 125824);
    assert_int_equal(r->last.free, 61240);
    assert_int_equal(r->last.min_free, 52112);
    assert_int_equal(r->last.largest, 31744);
    assert_int_equal(r->samples, 1);

    const rtm_top_pool_t *p = rtm_top_find_pool(g_m, "sensor_msgs");
    assert_non_null(p);
    assert_int_equal(p->last.used, 3);
    assert_int_equal(p->last.peak, 16);
    assert_int_equal(p->last.failed, 2);
    assert_int_equal(p->last.waits, 7);

    const rtm_top_task_t *t = rtm_top_find_task(g_m, "wifi");
    assert_non_null(t);
    assert_true(t->last.has_heap && t->last.has_stack);
    assert_int_equal(t->last.heap_peak, 40960);
    assert_int_equal(t->last.stack_peak, 9120);

    const rtm_top_alert_t *a = rtm_top_find_alert(g_m, "leak_trend", "DRAM");
    assert_non_null(a);
    assert_true(a->has_value);
    assert_int_equal(a->value, -2304);
    assert_int_equal(a->threshold, -1024);

    assert_int_equal(g_m->rec_count, 1);
    assert_string_equal(g_m->recs[0].rule, "pool_for_size");
    assert_non_null(strstr(g_m->recs[0].text, "pool of 30 blocks"));

    /* Only the log line reached the log pane: not the trace line. */
    assert_int_equal(g_m->log_count, 1);
    assert_string_equal(last_log(), "I (2034) wifi: connected");
}

static void test_updates_replace(void **state)
{
    (void)state;
    feed_stream(doc_example, sizeof doc_example - 1u);
    feed("[12:00:01.123] {\"rtmem\":1,\"type\":\"mem\",\"ms\":3000,\"seq\":3,\"name\":\"DRAM\","
         "\"kind\":\"heap\",\"total\":125824,\"free\":1000,\"min_free\":900,\"largest\":800,"
         "\"used_blocks\":41,\"free_blocks\":6,\"failed\":3,\"frag_pm\":200,\"trend_bpm\":-4096,"
         "\"alerts\":0}");
    assert_int_equal(g_m->region_count, 1);
    const rtm_top_region_t *r = rtm_top_find_region(g_m, "DRAM");
    assert_int_equal(r->last.free, 1000);
    assert_true(r->last.has_trend);
    assert_int_equal(r->last.trend_bpm, -4096);
    assert_int_equal(r->samples, 2);
    assert_int_equal(r->first_ms, 2000);
    /* Its alerts mask is 0: the leak_trend alert of DRAM is over. */
    assert_null(rtm_top_find_alert(g_m, "leak_trend", "DRAM"));
}

static void test_alerts_from_lines_and_masks(void **state)
{
    (void)state;
    feed("{\"rtmem\":1,\"type\":\"alert\",\"ms\":1,\"alert\":\"stack_high\",\"state\":\"raised\","
         "\"source\":\"imu\",\"value\":93,\"threshold\":90}");
    feed("{\"rtmem\":1,\"type\":\"alert\",\"ms\":1,\"alert\":\"pool_exhausted\",\"state\":"
         "\"raised\",\"source\":\"msgs\",\"value\":12,\"threshold\":12}");
    assert_int_equal(g_m->alert_count, 2);
    /* Raised twice is one alert. */
    feed("{\"rtmem\":1,\"type\":\"alert\",\"ms\":2,\"alert\":\"stack_high\",\"state\":\"raised\","
         "\"source\":\"imu\",\"value\":95,\"threshold\":90}");
    assert_int_equal(g_m->alert_count, 2);
    assert_int_equal(rtm_top_find_alert(g_m, "stack_high", "imu")->value, 95);
    feed("{\"rtmem\":1,\"type\":\"alert\",\"ms\":3,\"alert\":\"pool_exhausted\",\"state\":"
         "\"cleared\",\"source\":\"msgs\",\"value\":2,\"threshold\":12}");
    assert_int_equal(g_m->alert_count, 1);
    assert_null(rtm_top_find_alert(g_m, "pool_exhausted", "msgs"));
    /* Cleared without being raised: nothing happens. */
    feed("{\"rtmem\":1,\"type\":\"alert\",\"ms\":3,\"alert\":\"low_free\",\"state\":\"cleared\","
         "\"source\":\"DRAM\",\"value\":2,\"threshold\":12}");
    assert_int_equal(g_m->alert_count, 1);

    /* A mask raises what no alert line announced (a monitor started before
     * the capture), bit 1 << n for alert n, and clears what it lacks. */
    feed("{\"rtmem\":1,\"type\":\"mem\",\"ms\":4,\"seq\":1,\"name\":\"internal\",\"kind\":\"caps\","
         "\"total\":100,\"free\":10,\"min_free\":5,\"largest\":10,\"used_blocks\":1,\"free_blocks\""
         ":1,\"failed\":0,\"frag_pm\":0,\"alerts\":3}");
    assert_int_equal(g_m->alert_count, 3);
    const rtm_top_alert_t *a = rtm_top_find_alert(g_m, rtm_tm_alert_name(0), "internal");
    assert_non_null(a);
    assert_false(a->has_value);
    assert_non_null(rtm_top_find_alert(g_m, rtm_tm_alert_name(1), "internal"));
    feed("{\"rtmem\":1,\"type\":\"task\",\"ms\":5,\"seq\":2,\"name\":\"imu\",\"id\":7,"
         "\"alerts\":0}");
    assert_null(rtm_top_find_alert(g_m, "stack_high", "imu"));
    feed("{\"rtmem\":1,\"type\":\"mem\",\"ms\":6,\"seq\":2,\"name\":\"internal\",\"kind\":\"caps\","
         "\"total\":100,\"free\":10,\"min_free\":5,\"largest\":10,\"used_blocks\":1,\"free_blocks\""
         ":1,\"failed\":0,\"frag_pm\":0,\"alerts\":2}");
    assert_int_equal(g_m->alert_count, 1);
    assert_string_equal(g_m->alerts[0].alert, rtm_tm_alert_name(1));
    /* A task without stack or heap figures is still a task. */
    const rtm_top_task_t *t = rtm_top_find_task(g_m, "imu");
    assert_non_null(t);
    assert_false(t->last.has_heap);
    assert_false(t->last.has_stack);
}

static void test_garbage_stays_off_the_screen(void **state)
{
    (void)state;
    /* An escape sequence that would clear the screen, NUL, DEL, invalid
     * UTF-8, a C1 control, and valid UTF-8 that must stay. */
    static const char garbage[] = "boot \x1b[2J\x1b]0;pwned\x07 \0 \x7f \xff\xfe \xc2\x9b ok t\xc3\xa9st\n";
    feed_stream(garbage, sizeof garbage - 1u);
    assert_int_equal(g_m->counts.log, 1);
    const char *shown = last_log();
    assert_terminal_safe(shown);
    assert_non_null(strstr(shown, "\\x1b[2J"));
    assert_non_null(strstr(shown, "\\x00"));
    assert_non_null(strstr(shown, "\\xff\\xfe"));
    assert_non_null(strstr(shown, "t\xc3\xa9st"));

    /* A reset mid-line: the telemetry line stops and the boot banner goes
     * on on the same line. A bad line, counted and shown with the reason;
     * the region keeps its last good values. */
    feed("{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"seq\":1,\"name\":\"DRAM\",\"kind\":\"heap\","
         "\"total\":100,\"free\":50,\"min_free\":40,\"largest\":50,\"used_blocks\":1,"
         "\"free_blocks\":1,\"failed\":0,\"frag_pm\":0,\"alerts\":0}");
    feed("{\"rtmem\":1,\"type\":\"mem\",\"ms\":2,\"seq\":2,\"name\":\"DRAM\",\"kind\":\"heap\","
         "\"total\":100,\"fr\x1b[31mets Jul 29 2019 12:21:46");
    assert_int_equal(g_m->counts.bad, 1);
    assert_int_equal(rtm_top_find_region(g_m, "DRAM")->last.free, 50);
    const rtm_top_log_line_t *l = rtm_top_log_at(g_m, g_m->log_count - 1u);
    assert_int_equal(l->kind, RTM_TOP_LOG_BAD);
    assert_int_equal(l->number, g_m->counts.lines);
    assert_terminal_safe(l->text);
    assert_non_null(strstr(l->text, "\\x1b[31m"));

    /* A known type without a required key is bad too, and so is a cut line
     * at the end of the source that was telemetry. */
    feed("{\"rtmem\":1,\"type\":\"pool\",\"ms\":3,\"seq\":1,\"name\":\"p\",\"block\":8}");
    assert_int_equal(g_m->counts.bad, 2);
    assert_null(rtm_top_find_pool(g_m, "p"));
    static const char cut[] = "{\"rtmem\":1,\"type\":\"task\",\"ms\":3,\"seq\":1,\"na";
    feed_stream(cut, sizeof cut - 1u);
    assert_int_equal(g_m->counts.bad, 3);
    /* A trace line needs its "line" string, as in replay, report and
     * export; it was counted as a trace line without it. */
    feed("{\"rtmem\":1,\"type\":\"trace\",\"ms\":3,\"line\":\"a 1 2\"}");
    assert_int_equal(g_m->counts.trace, 1);
    feed("{\"rtmem\":1,\"type\":\"trace\",\"ms\":3}");
    feed("{\"rtmem\":1,\"type\":\"trace\",\"ms\":3,\"line\":7}");
    assert_int_equal(g_m->counts.bad, 5);
    assert_int_equal(g_m->counts.trace, 1);
    assert_non_null(strstr(last_log(), "without a \"line\" string"));
    /* A log line cut off at the end of the source is still shown. */
    feed_stream("I (99) half a li", 16);
    assert_int_equal(g_m->counts.bad, 5);
    assert_string_equal(last_log(), "(cut off) I (99) half a li");

    /* An overlong line is bad, and its shown part ends in "...". */
    static char big[RTM_TOP_LINE_MAX + 100u];
    memset(big, '\x1b', sizeof big);
    big[sizeof big - 1u] = '\n';
    feed_stream(big, sizeof big);
    assert_int_equal(g_m->counts.bad, 6);
    l = rtm_top_log_at(g_m, g_m->log_count - 1u);
    assert_int_equal(l->kind, RTM_TOP_LOG_BAD);
    size_t n = strlen(l->text);
    assert_true(n < RTM_TOP_LOG_TEXT);
    assert_string_equal(l->text + n - 3u, "...");
    /* Cut after a whole escape, never inside one. */
    assert_memory_equal(l->text + n - 7u, "\\x1b", 4);
    assert_terminal_safe(l->text);
    /* Names and recommendation texts are decoded JSON: they may hold
     * control bytes, which stay escaped on the way to the screen. */
    feed("{\"rtmem\":1,\"type\":\"rec\",\"ms\":4,\"rule\":\"grow_memory\",\"source\":\"x\","
         "\"text\":\"a\\u001b[2Jb\"}");
    assert_int_equal(g_m->rec_count, 1);
    assert_string_equal(g_m->recs[0].text, "a\\x1b[2Jb");
}

static void test_tables_and_rings_are_bounded(void **state)
{
    (void)state;
    char line[512];
    for (unsigned i = 0; i < RTM_TOP_REGIONS_MAX + 8u; i++) {
        snprintf(line, sizeof line,
                 "{\"rtmem\":1,\"type\":\"mem\",\"ms\":%u,\"seq\":1,\"name\":\"r%u\",\"kind\":"
                 "\"heap\",\"total\":100,\"free\":50,\"min_free\":40,\"largest\":50,\"used_blocks\""
                 ":1,\"free_blocks\":1,\"failed\":0,\"frag_pm\":0,\"alerts\":0}",
                 i, i);
        feed(line);
    }
    assert_int_equal(g_m->region_count, RTM_TOP_REGIONS_MAX);
    assert_int_equal(g_m->counts.dropped_names, 8);
    assert_null(rtm_top_find_region(g_m, "r35"));
    /* The log keeps its last RTM_TOP_LOG_LINES lines, in order. */
    for (unsigned i = 0; i < RTM_TOP_LOG_LINES + 100u; i++) {
        snprintf(line, sizeof line, "log %u", i);
        feed(line);
    }
    assert_int_equal(g_m->log_count, RTM_TOP_LOG_LINES);
    assert_string_equal(rtm_top_log_at(g_m, 0)->text, "log 100");
    assert_string_equal(last_log(), "log 611");
    assert_null(rtm_top_log_at(g_m, RTM_TOP_LOG_LINES));
    /* Pools, tasks and active alerts are bounded the same way. */
    for (unsigned i = 0; i < RTM_TOP_POOLS_MAX + 2u; i++) {
        snprintf(line, sizeof line,
                 "{\"rtmem\":1,\"type\":\"pool\",\"ms\":1,\"seq\":1,\"name\":\"p%u\",\"block\":8,"
                 "\"capacity\":4,\"used\":1,\"peak\":2,\"failed\":0,\"waits\":0,\"alerts\":0}",
                 i);
        feed(line);
    }
    assert_int_equal(g_m->pool_count, RTM_TOP_POOLS_MAX);
    for (unsigned i = 0; i < RTM_TOP_TASKS_MAX + 2u; i++) {
        snprintf(line, sizeof line,
                 "{\"rtmem\":1,\"type\":\"task\",\"ms\":1,\"seq\":1,\"name\":\"t%u\",\"id\":%u,"
                 "\"alerts\":0}",
                 i, i);
        feed(line);
    }
    assert_int_equal(g_m->task_count, RTM_TOP_TASKS_MAX);
    for (unsigned i = 0; i < RTM_TOP_ALERTS_MAX + 2u; i++) {
        snprintf(line, sizeof line,
                 "{\"rtmem\":1,\"type\":\"alert\",\"ms\":1,\"alert\":\"low_free\",\"state\":"
                 "\"raised\",\"source\":\"s%u\",\"value\":1,\"threshold\":2}",
                 i);
        feed(line);
    }
    assert_int_equal(g_m->alert_count, RTM_TOP_ALERTS_MAX);
    assert_int_equal(g_m->counts.dropped_names, 8u + 2u + 2u + 2u);
    /* Recommendations: the last RTM_TOP_RECS_MAX. */
    for (unsigned i = 0; i < RTM_TOP_RECS_MAX + 4u; i++) {
        snprintf(line, sizeof line,
                 "{\"rtmem\":1,\"type\":\"rec\",\"ms\":%u,\"rule\":\"stack_size\",\"source\":"
                 "\"t\",\"text\":\"advice %u\"}",
                 i, i);
        feed(line);
    }
    assert_int_equal(g_m->recs_seen, RTM_TOP_RECS_MAX + 4u);
    assert_int_equal(g_m->rec_count, RTM_TOP_RECS_MAX);
    assert_string_equal(g_m->recs[0].text, "advice 4");
    assert_string_equal(g_m->recs[RTM_TOP_RECS_MAX - 1u].text, "advice 19");
}

/* Sizes near 2^64 (a damaged line, a hostile source) give the percentages
 * and bar cells of their true ratio: part * scale must not wrap. */
static void test_shares_near_2_pow_64(void **state)
{
    (void)state;
    feed("{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"seq\":1,\"name\":\"HUGE\",\"kind\":\"heap\","
         "\"total\":18446744073709551615,\"free\":0,\"min_free\":0,"
         "\"largest\":9223372036854775807,\"used_blocks\":1,\"free_blocks\":0,"
         "\"failed\":0,\"frag_pm\":0,\"alerts\":0}");
    const rtm_top_region_t *r = rtm_top_find_region(g_m, "HUGE");
    assert_non_null(r);
    assert_true(r->last.total == UINT64_MAX);
    assert_true(r->last.largest == UINT64_MAX / 2u);
    assert_int_equal(rtm_top_scale(r->last.total - r->last.free, r->last.total, 100u), 100);
    assert_int_equal(rtm_top_scale(r->last.largest, r->last.total, 100u), 50);
    assert_int_equal(rtm_top_scale(r->last.largest, r->last.total, 1000u), 500);
    assert_int_equal(rtm_top_scale(UINT64_MAX - 1u, UINT64_MAX, 40u), 40);
    assert_int_equal(rtm_top_scale(UINT64_MAX / 4u, UINT64_MAX, 4000u), 1000);
    assert_int_equal(rtm_top_scale(UINT64_MAX, UINT64_MAX / 3u, 7u), 7); /* part > whole */
    assert_int_equal(rtm_top_scale(1u, UINT64_MAX, 100u), 0);
    assert_int_equal(rtm_top_scale(5u, 0u, 100u), 0);
    assert_int_equal(rtm_top_scale(5u, 10u, 0u), 0);
    /* below the limit it is exact, rounded to nearest */
    assert_int_equal(rtm_top_scale(1u, 3u, 100u), 33);
    assert_int_equal(rtm_top_scale(2u, 3u, 100u), 67);
    assert_int_equal(rtm_top_scale(1u, 200u, 1u), 0);
    assert_int_equal(rtm_top_scale(1u, 2u, 1u), 1);
    for (unsigned scale = 1u; scale <= 4000u; scale = scale * 3u + 1u) {
        for (uint64_t whole = UINT64_MAX; whole > (1u << 20); whole /= 7u) {
            assert_true(rtm_top_scale(whole, whole, scale) == scale);
            assert_true(rtm_top_scale(whole / 2u, whole, scale) <= scale / 2u + 1u);
            assert_true(rtm_top_scale(whole / 2u, whole, scale) + 1u >= scale / 2u);
        }
    }
}

/* Every size fits the 7 columns the screen gives it, and every pool count
 * its 4, whole: a cut "17179869184.0G" read as "1717986". */
static void test_sizes_fit_seven_columns(void **state)
{
    (void)state;
    char out[32];
    static const struct {
        uint64_t b;
        const char *text;
    } cases[] = {
        {0u, "0B"},
        {1023u, "1023B"},
        {1024u, "1.0K"},
        {31744u, "31.0K"},
        {4194304u, "4.0M"},
        {1536ull << 20, "1.5G"},
        {1023ull << 30, "1023.0G"},
        {1ull << 40, "1.0T"},
        {5ull << 50, "5.0P"},
        {1ull << 60, "1.0E"},
        {UINT64_MAX, "16.0E"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        rtm_top_fmt_bytes(out, sizeof out, cases[i].b);
        assert_string_equal(out, cases[i].text);
    }
    for (uint64_t b = UINT64_MAX; b > 0u; b /= 3u) {
        rtm_top_fmt_bytes(out, sizeof out, b);
        assert_true(strlen(out) <= 7u);
        rtm_top_fmt_bytes(out, sizeof out, b - 1u);
        assert_true(strlen(out) <= 7u);
    }
    /* pool counts: 4 columns */
    static const struct {
        uint64_t n;
        const char *text;
    } counts[] = {
        {0u, "0"},          {9999u, "9999"},     {10000u, "10k"},      {999499u, "999k"},
        {999500u, "1.0M"},  {9949999u, "9.9M"},  {9950000u, "10M"},    {12345678u, "12M"},
        {UINT64_MAX, "18E"},
    };
    for (size_t i = 0; i < sizeof counts / sizeof counts[0]; i++) {
        rtm_top_fmt_count(out, sizeof out, counts[i].n);
        assert_string_equal(out, counts[i].text);
    }
    for (uint64_t n = UINT64_MAX; n > 0u; n /= 3u) {
        rtm_top_fmt_count(out, sizeof out, n);
        assert_true(strlen(out) <= 4u);
        rtm_top_fmt_count(out, sizeof out, n - 1u);
        assert_true(strlen(out) <= 4u);
    }
    for (uint64_t n = 9990u; n < 2000000u; n += 7u) {
        rtm_top_fmt_count(out, sizeof out, n);
        assert_true(strlen(out) <= 4u);
    }
}

/* ------------------------------------------------------------------ */
/* Sources                                                              */

static void pause_1ms(void)
{
    struct timespec ts = {0, 1000000L};
    nanosleep(&ts, NULL);
}

static void test_baud_rates(void **state)
{
    (void)state;
    speed_t sp;
    assert_true(rtm_top_baud_speed(9600, &sp));
    assert_int_equal(sp, B9600);
    assert_true(rtm_top_baud_speed(115200, &sp));
    assert_int_equal(sp, B115200);
    assert_false(rtm_top_baud_speed(0, &sp));
    assert_false(rtm_top_baud_speed(115201, &sp));
    assert_false(rtm_top_baud_speed(12345, &sp));
    char err[256];
    rtm_top_source_t s;
    assert_int_equal(rtm_top_source_open(&s, "/dev/null", 12345, err, sizeof err), -1);
    assert_non_null(strstr(err, "12345"));
    assert_int_equal(rtm_top_source_open(&s, "/nonexistent/rtmem", 115200, err, sizeof err), -1);
    assert_non_null(strstr(err, "/nonexistent/rtmem"));
    assert_int_equal(rtm_top_source_open(&s, "/", 115200, err, sizeof err), -1);
    assert_non_null(strstr(err, "directory"));
}

static long read_all(rtm_top_source_t *s, char *buf, size_t cap)
{
    long total = 0;
    for (;;) {
        long n = rtm_top_source_read(s, buf + total, cap - (size_t)total, 0);
        if (n <= 0) {
            return n < 0 && total == 0 ? -1 : total;
        }
        total += n;
    }
}

static void test_file_is_followed(void **state)
{
    (void)state;
    char path[] = "/tmp/rtmem_top_testXXXXXX";
    int fd = mkstemp(path);
    assert_true(fd >= 0);
    assert_int_equal(write(fd, "one\n", 4), 4);
    rtm_top_source_t s;
    char err[256], buf[256];
    assert_int_equal(rtm_top_source_open(&s, path, 115200, err, sizeof err), 0);
    assert_int_equal(s.kind, RTM_TOP_SOURCE_FILE);
    assert_int_equal(rtm_top_source_fd(&s), -1);
    assert_int_equal(read_all(&s, buf, sizeof buf), 4);
    /* At its end for now: nothing, and still open. */
    assert_int_equal(rtm_top_source_read(&s, buf, sizeof buf, 0), 0);
    assert_int_equal(s.state, RTM_TOP_SOURCE_OPEN);
    assert_int_equal(write(fd, "two\n", 4), 4);
    assert_int_equal(read_all(&s, buf, sizeof buf), 4);
    assert_memory_equal(buf, "two\n", 4);
    /* Truncated and rewritten (a new run): read again from its start. */
    assert_int_equal(ftruncate(fd, 0), 0);
    assert_int_equal(pwrite(fd, "new\n", 4, 0), 4);
    assert_int_equal(read_all(&s, buf, sizeof buf), 4);
    assert_memory_equal(buf, "new\n", 4);
    rtm_top_source_close(&s);
    close(fd);
    unlink(path);
}

static void test_pipe_ends(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    char path[32], err[256], buf[64];
    snprintf(path, sizeof path, "/dev/fd/%d", p[0]);
    rtm_top_source_t s;
    assert_int_equal(rtm_top_source_open(&s, path, 115200, err, sizeof err), 0);
    assert_int_equal(s.kind, RTM_TOP_SOURCE_STREAM);
    assert_true(rtm_top_source_fd(&s) >= 0);
    /* Nothing yet: returns at once. */
    assert_int_equal(rtm_top_source_read(&s, buf, sizeof buf, 0), 0);
    assert_int_equal(write(p[1], "abc", 3), 3);
    assert_int_equal(rtm_top_source_read(&s, buf, sizeof buf, 0), 3);
    close(p[1]);
    assert_int_equal(rtm_top_source_read(&s, buf, sizeof buf, 0), -1);
    assert_int_equal(s.state, RTM_TOP_SOURCE_ENDED);
    assert_int_equal(rtm_top_source_fd(&s), -1);
    /* Ended for good: no reopening. */
    assert_false(rtm_top_source_retry(&s, 100000));
    rtm_top_source_close(&s);
    close(p[0]);
}

/* The device is raw at the asked speed while open, and as it was after. */
static void test_device_settings_put_back(void **state)
{
    (void)state;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    char path[128], err[256];
    snprintf(path, sizeof path, "%s", ptsname(master));
    int ours = open(path, O_RDWR | O_NOCTTY);
    assert_true(ours >= 0);
    struct termios before, during, after;
    assert_int_equal(tcgetattr(ours, &before), 0);
    assert_true((before.c_lflag & ICANON) != 0);
    rtm_top_source_t s;
    assert_int_equal(rtm_top_source_open(&s, path, 9600, err, sizeof err), 0);
    assert_int_equal(tcgetattr(ours, &during), 0);
    assert_int_equal(during.c_lflag & (ICANON | ECHO | ISIG), 0);
    assert_int_equal(during.c_cflag & CSIZE, CS8);
    assert_int_equal(during.c_cflag & PARENB, 0);
    assert_int_equal(during.c_iflag & (IXON | ICRNL), 0);
    assert_int_equal(cfgetispeed(&during), B9600);
    rtm_top_source_close(&s);
    assert_int_equal(tcgetattr(ours, &after), 0);
    assert_int_equal(after.c_lflag, before.c_lflag);
    assert_int_equal(after.c_iflag, before.c_iflag);
    assert_int_equal(after.c_cflag, before.c_cflag);
    assert_int_equal(cfgetispeed(&after), cfgetispeed(&before));
    close(ours);
    close(master);
}

static void test_device_goes_away(void **state)
{
    (void)state;
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    char path[128], err[256], buf[64];
    snprintf(path, sizeof path, "%s", ptsname(master));
    rtm_top_source_t s;
    assert_int_equal(rtm_top_source_open(&s, path, 921600, err, sizeof err), 0);
    assert_int_equal(s.kind, RTM_TOP_SOURCE_DEVICE);
    /* Raw: a CR and a Ctrl-C arrive as bytes, not as a signal or a newline. */
    assert_int_equal(write(master, "a\r\x03z\n", 5), 5);
    long got = 0;
    for (int tries = 0; tries < 1000 && got < 5; tries++) {
        long n = rtm_top_source_read(&s, buf + got, sizeof buf - (size_t)got, 0);
        assert_true(n >= 0);
        got += n;
        if (n == 0) {
            pause_1ms();
        }
    }
    assert_int_equal(got, 5);
    assert_memory_equal(buf, "a\r\x03z\n", 5);
    /* The other end closes (a USB adapter pulled out): lost, not ended. */
    close(master);
    long n = 0;
    for (int tries = 0; tries < 1000 && n == 0; tries++) {
        n = rtm_top_source_read(&s, buf, sizeof buf, 5000);
        if (n == 0) {
            pause_1ms();
        }
    }
    assert_int_equal(n, -1);
    assert_int_equal(s.state, RTM_TOP_SOURCE_LOST);
    assert_true(s.why[0] != '\0');
    assert_int_equal(rtm_top_source_fd(&s), -1);
    /* Reopened at most once per RTM_TOP_REOPEN_MS; the device is gone. */
    assert_false(rtm_top_source_retry(&s, 5000 + RTM_TOP_REOPEN_MS - 1u));
    assert_int_equal(s.tries, 0);
    assert_false(rtm_top_source_retry(&s, 5000 + RTM_TOP_REOPEN_MS));
    assert_int_equal(s.tries, 1);
    assert_true(s.retry_why[0] != '\0');
    assert_int_equal(s.state, RTM_TOP_SOURCE_LOST);
    rtm_top_source_close(&s);
}

/* A build without ncurses (tools/rtmem/top_missing.c, linked here): the
 * command says what to install and exits 2. */
static void test_without_ncurses(void **state)
{
    (void)state;
    int p[2];
    assert_int_equal(pipe(p), 0);
    fflush(stderr);
    int saved = dup(STDERR_FILENO);
    assert_true(saved >= 0);
    assert_true(dup2(p[1], STDERR_FILENO) >= 0);
    char name[] = "top", file[] = "/dev/ttyUSB0";
    char *argv[] = {name, file, NULL};
    int rc = rtm_cmd_top(2, argv);
    fflush(stderr);
    dup2(saved, STDERR_FILENO);
    close(saved);
    close(p[1]);
    char text[1024];
    ssize_t n = read(p[0], text, sizeof text - 1u);
    close(p[0]);
    assert_true(n > 0);
    text[n] = '\0';
    assert_int_equal(rc, 2);
    assert_non_null(strstr(text, "apt-get install libncurses-dev"));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_split_pieces),
        cmocka_unit_test(test_split_cut_and_nul),
        cmocka_unit_test(test_split_overlong),
        cmocka_unit_test_setup_teardown(test_doc_example, setup_model, teardown_model),
        cmocka_unit_test_setup_teardown(test_updates_replace, setup_model, teardown_model),
        cmocka_unit_test_setup_teardown(test_alerts_from_lines_and_masks, setup_model,
                                        teardown_model),
        cmocka_unit_test_setup_teardown(test_garbage_stays_off_the_screen, setup_model,
                                        teardown_model),
        cmocka_unit_test_setup_teardown(test_tables_and_rings_are_bounded, setup_model,
                                        teardown_model),
        cmocka_unit_test_setup_teardown(test_shares_near_2_pow_64, setup_model, teardown_model),
        cmocka_unit_test(test_sizes_fit_seven_columns),
        cmocka_unit_test(test_baud_rates),
        cmocka_unit_test(test_file_is_followed),
        cmocka_unit_test(test_pipe_ends),
        cmocka_unit_test(test_device_settings_put_back),
        cmocka_unit_test(test_device_goes_away),
        cmocka_unit_test(test_without_ncurses),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
