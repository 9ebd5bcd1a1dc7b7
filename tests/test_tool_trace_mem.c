/*
 * The in-memory replay engine of `rtmem compare` (tools/rtmem/trace_mem.c,
 * rtm_replay_mem, the size search's plan and helpers, rtm_compare_trace):
 *  - a loaded trace replays to the same result as streaming its file, on
 *    every strategy, at sizes that complete and that fail (the failing
 *    event's text included), with aligned events, reallocs, caps= fields,
 *    sizes over 4 GiB, telemetry lines and lenient skips;
 *  - a malformed trace is refused by the load with the streaming reader's
 *    "FILE:LINE: ..." message, and rtm_compare_trace returns 2 with it;
 *    rtm_trace_mem_load_part keeps the events before the bad line and says
 *    where it stopped, and rtm_compare_trace with o.cut compares that part
 *    (a streamed trace: still 2);
 *  - a trace over the memory limit is not loaded (1) and the search then
 *    streams it, to the same minimum;
 *  - the search with helper processes decides the same minimum as one size
 *    at a time, on every strategy, and rtm_compare_trace reports it.
 */
#define _GNU_SOURCE
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "replay.h"
#include "rtmem/heap.h"
#include "trace_mem.h"
#include "support/tool_capture.h"

#ifndef RTMEM_TEST_TOOL
#error "RTMEM_TEST_TOOL: path of the rtmem binary"
#endif
#ifndef RTMEM_TEST_SOURCE_DIR
#error "RTMEM_TEST_SOURCE_DIR: the source tree"
#endif

static ts_scratch_t g_scratch;
static char g_path[128];
static char g_errf[128];
static rtm_replay_result_t *g_stream;
static rtm_replay_result_t *g_mem;
static char g_err[RTM_TRACE_ERR_MAX];
static const char *const g_corpus[] = {
    RTMEM_TEST_SOURCE_DIR "/bench/traces/synthetic_random.trace",
    RTMEM_TEST_SOURCE_DIR "/bench/traces/synthetic_robson.trace",
};

static int setup(void **state)
{
    (void)state;
    g_stream = malloc(sizeof *g_stream);
    g_mem = malloc(sizeof *g_mem);
    if (ts_scratch_make(&g_scratch, "rtm_tool_mem") != 0 || g_stream == NULL || g_mem == NULL ||
        ts_scratch_path(&g_scratch, "t.trace", g_path, sizeof g_path) != 0 ||
        ts_scratch_path(&g_scratch, "err", g_errf, sizeof g_errf) != 0) {
        return -1;
    }
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    free(g_stream);
    free(g_mem);
    static const char *const names[] = {"t.trace", "err"};
    return ts_scratch_remove(&g_scratch, names, sizeof names / sizeof names[0]);
}

static void write_trace(const char *text)
{
    FILE *f = fopen(g_path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
}

static bool strategy_available(rtm_strategy_id_t s)
{
#if RTM_WITH_SYSTEM
    (void)s;
    return true;
#else
    return s != RTM_SYSTEM;
#endif
}

/* Every field a replay reports, except times. */
static void assert_same_result(const rtm_replay_result_t *a, const rtm_replay_result_t *b)
{
    assert_string_equal(a->strategy, b->strategy);
    assert_int_equal(a->heap_size, b->heap_size);
    assert_int_equal(a->granularity, b->granularity);
    assert_int_equal(a->ops, b->ops);
    assert_int_equal(a->allocs, b->allocs);
    assert_int_equal(a->aligned, b->aligned);
    assert_int_equal(a->reallocs, b->reallocs);
    assert_int_equal(a->frees, b->frees);
    assert_int_equal(a->failed, b->failed);
    assert_int_equal(a->first_fail_line, b->first_fail_line);
    assert_string_equal(a->first_fail, b->first_fail);
    if (a->first_fail_line != 0) {
        assert_string_equal(a->first_fail_reason, b->first_fail_reason);
    }
    assert_int_equal(a->refused_frees, b->refused_frees);
    assert_int_equal(a->peak_live, b->peak_live);
    assert_int_equal(a->peak_line, b->peak_line);
    assert_int_equal(a->peak_live_blocks, b->peak_live_blocks);
    assert_int_equal(a->peak_footprint, b->peak_footprint);
    assert_true(a->frag_at_peak == b->frag_at_peak);
    assert_int_equal(a->free_at_peak, b->free_at_peak);
    assert_int_equal(a->largest_at_peak, b->largest_at_peak);
    assert_int_equal(a->live_blocks_at_end, b->live_blocks_at_end);
    assert_int_equal(a->live_bytes_at_end, b->live_bytes_at_end);
    assert_int_equal(a->completed, b->completed);
    assert_int_equal(a->check_ok, b->check_ok);
    assert_int_equal(a->hist.count, b->hist.count);
}

/* path streamed and loaded, with o: the same result (and the same rc). */
static void assert_same_both_ways(const char *path, const rtm_replay_opts_t *o)
{
    rtm_trace_mem_t m;
    assert_int_equal(rtm_trace_mem_load(&m, path, o->lenient, 0, g_err, sizeof g_err), 0);
    int rs = rtm_replay_run(path, o, g_stream, g_err, sizeof g_err);
    int rm = rtm_replay_mem(&m, o, g_mem, g_err, sizeof g_err);
    assert_int_equal(rs, rm);
    if (rs == 0) {
        assert_same_result(g_stream, g_mem);
        if (!o->stop_on_fail) {
            assert_int_equal(g_stream->skipped.unknown_free, g_mem->skipped.unknown_free);
            assert_int_equal(g_stream->skipped.reused_id, g_mem->skipped.reused_id);
            assert_int_equal(g_stream->skipped.truncated, g_mem->skipped.truncated);
        }
    }
    rtm_trace_mem_free(&m);
}

static void test_same_as_streaming_on_corpus(void **state)
{
    (void)state;
    for (size_t t = 0; t < sizeof g_corpus / sizeof g_corpus[0]; t++) {
        for (int s = 0; s < (int)RTM_STRATEGY_COUNT; s++) {
            if (!strategy_available((rtm_strategy_id_t)s)) {
                continue;
            }
            /* 1 MiB completes; 64 KiB fails part-way (a failing line's text) */
            static const size_t sizes[] = {1u << 20, 64u << 10};
            for (size_t k = 0; k < 2; k++) {
                rtm_replay_opts_t o = {.strategy = (rtm_strategy_id_t)s, .heap_size = sizes[k]};
                assert_same_both_ways(g_corpus[t], &o);
                o.stop_on_fail = true;
                assert_same_both_ways(g_corpus[t], &o);
                o.stop_on_fail = false;
                o.timing = true;
                assert_same_both_ways(g_corpus[t], &o);
            }
        }
    }
    /* and the failing event's text really was read back from the file */
    rtm_replay_opts_t o = {.strategy = RTM_TLSF, .heap_size = 64u << 10};
    assert_same_both_ways(g_corpus[0], &o);
    assert_true(g_mem->failed > 0);
    assert_true(g_mem->first_fail[0] == 'a' || g_mem->first_fail[0] == 'A' ||
                g_mem->first_fail[0] == 'r');
}

static void test_same_as_streaming_on_every_event_shape(void **state)
{
    (void)state;
    /* aligned, realloc to a new ID and to the same ID, caps=, a size over
     * 4 GiB (fails; side value), a zero size, comments, a telemetry line,
     * CRLF, a free of a failed block */
    write_trace("# rtmem-trace 1\n"
                "a 1 100 caps=0x4\n"
                "A 2 64 256\n"
                "r 1 3 300\n"
                "r 3 3 40 caps=0x1800\r\n"
                "\n"
                "# a comment\n"
                "a big 5000000000\n"
                "a z 0\n"
                "{\"rtmem\":1,\"type\":\"trace\",\"ms\":9,\"line\":\"a 7 24\"}\n"
                "f big\n"
                "A 8 5000000001 16\n"
                "f 2\n"
                "f z\n");
    for (int s = 0; s < (int)RTM_STRATEGY_COUNT; s++) {
        if (!strategy_available((rtm_strategy_id_t)s)) {
            continue;
        }
        rtm_replay_opts_t o = {.strategy = (rtm_strategy_id_t)s, .heap_size = 64u << 10};
        assert_same_both_ways(g_path, &o);
        assert_int_equal(g_mem->failed, 2);
        assert_string_equal(g_mem->first_fail, "a big 5000000000");
        assert_int_equal(g_mem->aligned, 2);
        assert_int_equal(g_mem->reallocs, 2);
    }
    rtm_trace_mem_t m;
    assert_int_equal(sizeof(rtm_mem_event_t), 16); /* docs/tools.md: 16 bytes per event */
    assert_int_equal(rtm_trace_mem_load(&m, g_path, false, 0, g_err, sizeof g_err), 0);
    assert_int_equal(m.count, 11);
    assert_int_equal(m.nside, 4); /* two caps, two big sizes */
    assert_int_equal(m.slots, 5); /* at most 5 IDs live at once (after "a 7") */
    assert_int_equal(m.events[1].align_log2, 8);
    rtm_trace_mem_free(&m);
    /* on a capability preset the caps= values reach the allocator */
    rtm_replay_opts_t o = {.strategy = RTM_TLSF, .preset = "esp32"};
    assert_same_both_ways(g_path, &o);
}

static void test_same_as_streaming_lenient(void **state)
{
    (void)state;
    write_trace("a 1 10\nf 9\na 1 20\nr 8 9 5\nf 1\na 2 30");
    rtm_replay_opts_t o = {.strategy = RTM_FIRST_FIT, .heap_size = 4096, .lenient = true};
    assert_same_both_ways(g_path, &o);
    assert_int_equal(g_mem->skipped.unknown_free, 1);
    assert_int_equal(g_mem->skipped.reused_id, 1);
    assert_int_equal(g_mem->skipped.unknown_realloc, 1);
    assert_int_equal(g_mem->ops, 3);
    /* the same file, strict: refused at line 2 by the load as by streaming */
    rtm_trace_mem_t m;
    assert_int_equal(rtm_trace_mem_load(&m, g_path, false, 0, g_err, sizeof g_err), 2);
    assert_non_null(strstr(g_err, "t.trace:2: "));
}

static const char *const g_malformed[] = {
    "a 1 10\nf 1\nx 2\n",                /* unknown event, line 3 */
    "a 1 10\na 2 99999999999999999999\n", /* overflow, line 2 */
    "a 1 10\nf 2\n",                      /* unknown ID, line 2 */
    "a 1 10\na 1 20\n",                   /* reused live ID, line 2 */
};
static const char *const g_malformed_at[] = {"t.trace:3: ", "t.trace:2: ", "t.trace:2: ",
                                             "t.trace:2: "};

/* Runs the tool with argv; stdout dropped, stderr to g_errf. */
static int run_tool(const char *const *args)
{
    const ts_tool_run_t r = {.tool = RTMEM_TEST_TOOL, .out_path = "/dev/null",
                             .err_path = g_errf, .err_fd = -1};
    return ts_run_tool(&r, args);
}

static void test_malformed_is_file_line_exit_2(void **state)
{
    (void)state;
    for (size_t i = 0; i < sizeof g_malformed / sizeof g_malformed[0]; i++) {
        write_trace(g_malformed[i]);
        char stream_err[RTM_TRACE_ERR_MAX];
        rtm_replay_opts_t o = {.strategy = RTM_TLSF, .heap_size = 4096};
        assert_int_equal(rtm_replay_run(g_path, &o, g_stream, stream_err, sizeof stream_err), 2);
        rtm_trace_mem_t m;
        memset(&m, 0x5a, sizeof m);
        assert_int_equal(rtm_trace_mem_load(&m, g_path, false, 0, g_err, sizeof g_err), 2);
        assert_null(m.events); /* nothing kept */
        assert_string_equal(g_err, stream_err);
        assert_non_null(strstr(g_err, g_malformed_at[i]));
        rtm_min_size_t ms;
        assert_int_equal(rtm_min_size_search(g_path, &o, 0, &ms, g_err, sizeof g_err), 2);
        assert_string_equal(g_err, stream_err);
        const char *args[] = {"rtmem", "compare", "--quiet", g_path, NULL};
        assert_int_equal(run_tool(args), 2);
        char buf[1024];
        (void)ts_read_file(g_errf, buf, sizeof buf);
        assert_non_null(strstr(buf, g_malformed_at[i]));
    }
    /* an empty file and a missing one: refused, not loaded as 0 events */
    write_trace("");
    rtm_trace_mem_t m;
    assert_int_equal(rtm_trace_mem_load(&m, g_path, false, 0, g_err, sizeof g_err), 2);
    assert_non_null(strstr(g_err, "empty input"));
    assert_int_equal(rtm_trace_mem_load(&m, "/nonexistent/x.trace", false, 0, g_err,
                                         sizeof g_err),
                     2);
    assert_int_equal(rtm_trace_mem_load(&m, "-", false, 0, g_err, sizeof g_err), 2);
}

static void test_over_the_limit_streams(void **state)
{
    (void)state;
    const char *path = g_corpus[0];
    rtm_trace_mem_t m;
    /* 2343 events take 16 bytes each: a 16 KiB limit is too small */
    assert_int_equal(rtm_trace_mem_load(&m, path, false, 16u << 10, g_err, sizeof g_err), 1);
    assert_null(m.events);
    assert_int_equal(rtm_trace_mem_load(&m, path, false, 64u << 10, g_err, sizeof g_err), 0);
    assert_int_equal(m.count, 2343);
    assert_true(rtm_trace_mem_bytes(&m) <= (64u << 10) + 1024u); /* + line offsets */
    rtm_trace_mem_free(&m);
    for (int s = 0; s < (int)RTM_SYSTEM; s++) {
        rtm_replay_opts_t o = {.strategy = (rtm_strategy_id_t)s};
        rtm_min_size_t loaded;
        rtm_min_size_t streamed;
        assert_int_equal(rtm_min_size_search(path, &o, 0, &loaded, g_err, sizeof g_err), 0);
        o.mem_limit = 1024;
        assert_int_equal(rtm_min_size_search(path, &o, 0, &streamed, g_err, sizeof g_err), 0);
        assert_true(loaded.found && streamed.found);
        assert_int_equal(loaded.size, streamed.size);
        assert_int_equal(loaded.runs, streamed.runs);
        unsigned runs = 0;
        assert_int_equal(rtm_replay_auto_size(path, &o, g_stream, &runs, g_err, sizeof g_err), 0);
        o.mem_limit = 0;
        unsigned runs2 = 0;
        assert_int_equal(rtm_replay_auto_size(path, &o, g_mem, &runs2, g_err, sizeof g_err), 0);
        assert_int_equal(g_stream->heap_size, g_mem->heap_size);
        assert_int_equal(runs, runs2);
    }
}

static void test_helpers_decide_the_same(void **state)
{
    (void)state;
    rtm_helper_pool_t pool;
    assert_true(rtm_helper_pool_open(&pool, 3));
    const char *path = g_corpus[0];
    for (int s = 0; s < (int)RTM_SYSTEM; s++) {
        rtm_replay_opts_t o = {.strategy = (rtm_strategy_id_t)s};
        rtm_min_size_t alone;
        rtm_min_size_t helped;
        assert_int_equal(rtm_min_size_search(path, &o, 0, &alone, g_err, sizeof g_err), 0);
        o.helpers = &pool;
        assert_int_equal(rtm_min_size_search(path, &o, 0, &helped, g_err, sizeof g_err), 0);
        assert_true(alone.found && helped.found);
        assert_int_equal(alone.size, helped.size);
        assert_int_equal(alone.non_monotonic, helped.non_monotonic);
        assert_int_equal(alone.high_water, helped.high_water);
        /* the unneeded replays count too */
        assert_true(helped.runs >= alone.runs);
    }
    /* every helper was given back: 3 bytes in the pipe, no more */
    char buf[8];
    assert_int_equal(read(pool.take_fd, buf, sizeof buf), 3);
    rtm_helper_pool_close(&pool);
    assert_int_equal(pool.take_fd, -1);
}

static void test_compare_trace_library(void **state)
{
    (void)state;
    rtm_compare_row_t rows[3] = {
        {.strategy = RTM_TLSF}, {.strategy = RTM_FIRST_FIT}, {.strategy = RTM_BUMP}};
    rtm_compare_opts_t o = {.jobs = 2};
    assert_int_equal(rtm_compare_trace(g_corpus[0], &o, rows, 3, g_err, sizeof g_err), 0);
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(rows[k].status, RTM_COMPARE_FOUND);
        assert_true(rows[k].min.size_completes && rows[k].min.below_fails);
        /* the search compare makes: after the first row, capped at 8x its
         * minimum (the cap moves the measuring run, hence the bisection,
         * and failure is not monotonic in the size) */
        rtm_replay_opts_t ro = {.strategy = rows[k].strategy};
        size_t cap = k == 0 ? 0 : rows[0].min.size * 8u;
        rtm_min_size_t m;
        assert_int_equal(rtm_min_size_search(g_corpus[0], &ro, cap, &m, g_err, sizeof g_err), 0);
        assert_int_equal(rows[k].min.size, m.size);
        assert_int_equal(rows[k].min.cap, m.cap);
        assert_true(rows[k].ran);
        assert_true(rows[k].run_size >= rows[k].min.size);
        assert_int_equal(rows[k].run.failed, 0);
        assert_int_equal(rows[k].run.ops, 2343);
    }
    /* bad input: 2 and the reader's message */
    write_trace("a 1 10\nf 2\n");
    assert_int_equal(rtm_compare_trace(g_path, &o, rows, 3, g_err, sizeof g_err), 2);
    assert_non_null(strstr(g_err, "t.trace:2: "));
    /* with o.cut: the part before the line, the rows filled, err kept */
    rtm_compare_cut_t cut;
    memset(&cut, 0xff, sizeof cut);
    o.cut = &cut;
    write_trace("a 1 10\na 2 20\nf 9\na 3 30\n");
    assert_int_equal(rtm_compare_trace(g_path, &o, rows, 3, g_err, sizeof g_err), 0);
    assert_true(cut.cut_off);
    assert_int_equal(cut.line, 3);
    assert_non_null(strstr(cut.reason, "free of ID 9"));
    assert_non_null(strstr(g_err, "t.trace:3: free of ID 9"));
    for (size_t k = 0; k < 3; k++) {
        assert_int_equal(rows[k].status, RTM_COMPARE_FOUND);
        assert_true(rows[k].ran);
        assert_int_equal(rows[k].run.ops, 2);
        assert_int_equal(rows[k].run.peak_live, 30);
    }
    /* a trace over the memory limit is streamed: there the line is an error */
    o.mem_limit = 16;
    assert_int_equal(rtm_compare_trace(g_path, &o, rows, 3, g_err, sizeof g_err), 2);
    assert_non_null(strstr(g_err, "t.trace:3: "));
    /* a whole trace: cut_off false */
    o.mem_limit = 0;
    write_trace("a 1 10\na 2 20\n");
    assert_int_equal(rtm_compare_trace(g_path, &o, rows, 3, g_err, sizeof g_err), 0);
    assert_false(cut.cut_off);
}

/* rtm_trace_mem_load_part: the events before a bad line, where it stopped;
 * errors that name no line are still errors. */
static void test_load_part(void **state)
{
    (void)state;
    rtm_trace_mem_t m;
    for (size_t i = 0; i < sizeof g_malformed / sizeof g_malformed[0]; i++) {
        write_trace(g_malformed[i]);
        assert_int_equal(rtm_trace_mem_load_part(&m, g_path, false, 0, g_err, sizeof g_err), 0);
        assert_true(m.cut_off);
        char want[32];
        (void)snprintf(want, sizeof want, "t.trace:%lu: ", m.cut_line);
        assert_non_null(strstr(g_err, want));
        assert_non_null(strstr(g_err, m.cut_reason));
        assert_int_equal(m.count, m.cut_line - 1u); /* one event a line before it */
        rtm_trace_mem_free(&m);
    }
    write_trace("a 1 x\n");
    assert_int_equal(rtm_trace_mem_load_part(&m, g_path, false, 0, g_err, sizeof g_err), 0);
    assert_int_equal(m.cut_line, 1);
    assert_int_equal(m.count, 0);
    rtm_trace_mem_free(&m);
    write_trace("a 1 10\nf 1\n");
    assert_int_equal(rtm_trace_mem_load_part(&m, g_path, false, 0, g_err, sizeof g_err), 0);
    assert_false(m.cut_off);
    assert_int_equal(m.count, 2);
    rtm_trace_mem_free(&m);
    assert_int_equal(rtm_trace_mem_load_part(&m, "/nonexistent/x.trace", false, 0, g_err,
                                             sizeof g_err),
                     2);
    assert_int_equal(rtm_trace_mem_load_part(&m, "-", false, 0, g_err, sizeof g_err), 2);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_same_as_streaming_on_corpus),
        cmocka_unit_test(test_same_as_streaming_on_every_event_shape),
        cmocka_unit_test(test_same_as_streaming_lenient),
        cmocka_unit_test(test_malformed_is_file_line_exit_2),
        cmocka_unit_test(test_over_the_limit_streams),
        cmocka_unit_test(test_helpers_decide_the_same),
        cmocka_unit_test(test_compare_trace_library),
        cmocka_unit_test(test_load_part),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
