/*
 * The rtmem tool's replay and minimum-size search (tools/rtmem/replay.c,
 * compare.c): results against hand-computed small traces on every
 * strategy, the first failing line, capability presets and caps= fields,
 * the latency histogram, the minimum size checked by replaying at it and
 * 16 bytes below, and the commands' exit codes for bad usage and input.
 */
#define _POSIX_C_SOURCE 200809L
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "commands.h"
#include "replay.h"
#include "rtmem/config.h"
#include "rtmem/heap.h"
#include "support/random_trace.h"
#include "support/tool_capture.h"

static char g_dir[64];
static char g_path[128];
static char g_path2[128];
static rtm_replay_result_t *g_res;
static char g_err[RTM_TRACE_ERR_MAX];

static int setup(void **state)
{
    (void)state;
    (void)snprintf(g_dir, sizeof g_dir, "/tmp/rtm_tool_replay_XXXXXX");
    g_res = malloc(sizeof *g_res);
    return mkdtemp(g_dir) != NULL && g_res != NULL ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    (void)unlink(g_path);
    (void)unlink(g_path2);
    free(g_res);
    return rmdir(g_dir);
}

static const char *write_to(char *path, size_t len, const char *name, const char *text)
{
    (void)snprintf(path, len, "%s/%s", g_dir, name);
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_true(fputs(text, f) >= 0);
    assert_int_equal(fclose(f), 0);
    return path;
}

static const char *write_trace(const char *text)
{
    return write_to(g_path, sizeof g_path, "t.trace", text);
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

static int replay(const char *path, rtm_strategy_id_t s, size_t size)
{
    rtm_replay_opts_t o = {.strategy = s, .heap_size = size, .timing = true};
    return rtm_replay_run(path, &o, g_res, g_err, sizeof g_err);
}

/* a 1 100 / a 2 200 / f 1 / a 3 50: 4 ops, peak live 300 at line 2,
 * 250 bytes in 2 blocks at the end, on every strategy. */
static void test_hand_computed_small_trace(void **state)
{
    (void)state;
    const char *path = write_trace("a 1 100\na 2 200\nf 1\na 3 50\n");
    for (int s = 0; s < (int)RTM_STRATEGY_COUNT; s++) {
        if (!strategy_available((rtm_strategy_id_t)s)) {
            continue;
        }
        assert_int_equal(replay(path, (rtm_strategy_id_t)s, 64 * 1024), 0);
        rtm_replay_result_t *r = g_res;
        assert_int_equal(r->ops, 4);
        assert_int_equal(r->allocs, 3);
        assert_int_equal(r->frees, 1);
        assert_int_equal(r->failed, 0);
        assert_int_equal(r->first_fail_line, 0);
        assert_int_equal(r->peak_live, 300);
        assert_int_equal(r->peak_line, 2);
        assert_int_equal(r->peak_live_blocks, 2);
        assert_int_equal(r->live_blocks_at_end, 2);
        assert_int_equal(r->live_bytes_at_end, 250);
        assert_true(r->completed);
        assert_true(r->check_ok);
        assert_int_equal(r->hist.count, 4);
        assert_true(r->peak_footprint >= 300);
        assert_true(r->frag_at_peak >= 0.0 && r->frag_at_peak <= 1.0);
        assert_int_equal(r->refused_frees, s == RTM_BUMP ? 1 : 0);
        assert_string_equal(r->strategy, rtm_strategy_name((rtm_strategy_id_t)s));
    }
}

/* Footprint and fragmentation by hand on first-fit, granularity 8, 4-byte
 * headers: blocks of 104 and 204 bytes at the peak, nothing freed yet, so
 * one free block (the tail): fragmentation 0. */
static void test_footprint_and_fragmentation(void **state)
{
    (void)state;
    const char *path = write_trace("a 1 100\na 2 200\nf 1\na 3 50\n");
    assert_int_equal(replay(path, RTM_FIRST_FIT, 4096), 0);
    rtm_replay_result_t *r = g_res;
    assert_true(r->frag_at_peak < 1e-9);
    assert_int_equal(r->free_at_peak, r->largest_at_peak);
    /* Fragmented peak: a hole of 100 bytes before the live blocks. */
    path = write_trace("a 1 100\na 2 8\nf 1\na 3 4000\n");
    assert_int_equal(replay(path, RTM_FIRST_FIT, 8192), 0);
    assert_int_equal(r->peak_live, 4008);
    assert_int_equal(r->peak_line, 4);
    assert_true(r->frag_at_peak > 0.0);
    assert_true(r->largest_at_peak < r->free_at_peak);
    /* 1 - largest/free, as defined */
    double want = 1.0 - (double)r->largest_at_peak / (double)r->free_at_peak;
    assert_true(r->frag_at_peak > want - 1e-9 && r->frag_at_peak < want + 1e-9);
    size_t total = r->heap_size;
    assert_true(r->peak_footprint > 4008 + 8 && r->peak_footprint < total);
}

static void test_realloc_and_aligned(void **state)
{
    (void)state;
    /* peak: 100 -> 300 (line 2), +50 = 350 (line 3), then 300 + 64 = 364 at line 5 */
    const char *path = write_trace("a 1 100\nr 1 2 300\na 3 50\nf 3\nA 4 64 256\nr 2 2 10\n"
                                   "f 4\nf 2\n");
    for (int s = 0; s < (int)RTM_SYSTEM; s++) {
        assert_int_equal(replay(path, (rtm_strategy_id_t)s, 64 * 1024), 0);
        rtm_replay_result_t *r = g_res;
        assert_int_equal(r->ops, 8);
        assert_int_equal(r->reallocs, 2);
        assert_int_equal(r->aligned, 1);
        assert_int_equal(r->peak_live, 364);
        assert_int_equal(r->peak_line, 5);
        assert_int_equal(r->live_blocks_at_end, 0);
        assert_int_equal(r->live_bytes_at_end, 0);
        assert_int_equal(r->failed, 0);
        assert_true(r->check_ok);
    }
}

/* At a 1 KiB heap the 2000-byte request on line 4 is the first to fail. */
static void test_first_failing_line(void **state)
{
    (void)state;
    rtm_heap_config_t cfg = {.strategy = &rtm_strategy_first_fit};
    assert_true(rtm_heap_min_size(&cfg) <= 1024);
    const char *path = write_trace("# rtmem-trace 1\na 1 200\na 2 300\na 3 2000\nf 1\na 4 3000\n"
                                   "f 2\n");
    assert_int_equal(replay(path, RTM_FIRST_FIT, 1024), 0);
    rtm_replay_result_t *r = g_res;
    assert_int_equal(r->failed, 2);
    assert_int_equal(r->first_fail_line, 4);
    assert_string_equal(r->first_fail, "a 3 2000");
    assert_non_null(r->first_fail_reason);
    assert_false(r->completed);
    assert_true(r->check_ok);
    assert_int_equal(r->ops, 6); /* the failed blocks' frees and the rest still run */
    assert_int_equal(r->peak_live, 5300); /* 200 + 300 + 2000 - 200 + 3000, line 6 */
    assert_int_equal(r->peak_line, 6);
    /* stop_on_fail stops there */
    rtm_replay_opts_t o = {.strategy = RTM_FIRST_FIT, .heap_size = 1024, .stop_on_fail = true};
    assert_int_equal(rtm_replay_run(path, &o, r, g_err, sizeof g_err), 0);
    assert_int_equal(r->ops, 3);
    assert_int_equal(r->first_fail_line, 4);
    /* A failed realloc keeps the old block under the new ID. */
    path = write_trace("a 1 100\nr 1 2 5000\nf 2\n");
    assert_int_equal(replay(path, RTM_TLSF, 2048), 0);
    assert_int_equal(r->failed, 1);
    assert_int_equal(r->first_fail_line, 2);
    assert_string_equal(r->first_fail, "r 1 2 5000");
    assert_int_equal(r->refused_frees, 0);
    assert_true(r->check_ok);
}

static void test_lenient_replay(void **state)
{
    (void)state;
    const char *path = write_trace("a 1 100\nf 9\na 1 50\nr 8 7 10\nf 1\n");
    rtm_replay_opts_t o = {.strategy = RTM_TLSF, .heap_size = 8192, .lenient = true};
    assert_int_equal(rtm_replay_run(path, &o, g_res, g_err, sizeof g_err), 0);
    assert_int_equal(g_res->ops, 2);
    assert_int_equal(g_res->skipped.unknown_free, 1);
    assert_int_equal(g_res->skipped.reused_id, 1);
    assert_int_equal(g_res->skipped.unknown_realloc, 1);
    assert_int_equal(g_res->live_blocks_at_end, 0);
    o.lenient = false;
    assert_int_equal(rtm_replay_run(path, &o, g_res, g_err, sizeof g_err), 2);
    char want[192];
    (void)snprintf(want, sizeof want, "%s:2: free of ID 9", path);
    assert_memory_equal(g_err, want, strlen(want));
}

static void test_bad_input_and_config(void **state)
{
    (void)state;
    const char *path = write_trace("a 1 100\na 2 x\n");
    assert_int_equal(replay(path, RTM_TLSF, 8192), 2);
    char want[192];
    (void)snprintf(want, sizeof want, "%s:2: SIZE 'x'", path);
    assert_memory_equal(g_err, want, strlen(want));
    /* the part before the bad line is still the result */
    assert_true(g_res->cut_off);
    assert_int_equal(g_res->cut_line, 2);
    assert_string_equal(g_res->cut_reason, "SIZE 'x' is not a decimal number");
    assert_int_equal(g_res->ops, 1);
    assert_int_equal(g_res->live_bytes_at_end, 100);
    assert_true(g_res->check_ok);
    /* the size that fits: streamed (the load refuses the file), every run
     * stopping at line 2 */
    rtm_replay_opts_t fit = {.strategy = RTM_TLSF, .timing = true};
    unsigned runs = 0;
    assert_int_equal(rtm_replay_auto_size(path, &fit, g_res, &runs, g_err, sizeof g_err), 2);
    assert_memory_equal(g_err, want, strlen(want));
    assert_true(g_res->cut_off && g_res->completed);
    assert_int_equal(g_res->ops, 1);
    assert_true(g_res->heap_size >= 100 && g_res->heap_size < 4096);
    assert_true(runs >= 1);
    assert_int_equal(replay("/nonexistent/rtm.trace", RTM_TLSF, 8192), 2);
    assert_non_null(strstr(g_err, "/nonexistent/rtm.trace: "));
    assert_false(g_res->cut_off);
    assert_int_equal(rtm_replay_auto_size("/nonexistent/rtm.trace", &fit, g_res, &runs, g_err,
                                          sizeof g_err),
                     2);
    assert_false(g_res->cut_off);
    path = write_trace("a 1 100\n");
    assert_int_equal(replay(path, RTM_TLSF, 16), 2); /* below the heap's minimum */
    assert_non_null(strstr(g_err, "minimum"));
    assert_false(g_res->cut_off);
    rtm_replay_opts_t o = {.strategy = RTM_TLSF, .preset = "esp33"};
    assert_int_equal(rtm_replay_run(path, &o, g_res, g_err, sizeof g_err), 2);
    assert_non_null(strstr(g_err, "unknown preset"));
    o.preset = "generic";
    o.strategy = RTM_SYSTEM;
    assert_int_equal(rtm_replay_run(path, &o, g_res, g_err, sizeof g_err), 2);
}

static void test_regions_and_caps(void **state)
{
    (void)state;
    /* generic: one 64 KiB region with DEFAULT 8BIT 32BIT INTERNAL DMA EXEC, no SPIRAM. */
    const char *path = write_trace("a 1 1000\na 2 100 caps=0x8\nA 3 100 64 caps=0x1000\n"
                                   "a 4 100 caps=0x400\nf 1\nf 2\nf 3\nf 4\n");
    rtm_replay_opts_t o = {.strategy = RTM_TLSF, .preset = "generic", .timing = true};
    assert_int_equal(rtm_replay_run(path, &o, g_res, g_err, sizeof g_err), 0);
    assert_int_equal(g_res->ops, 8);
    assert_int_equal(g_res->failed, 1); /* SPIRAM: no such region */
    assert_int_equal(g_res->first_fail_line, 4);
    assert_true(g_res->check_ok);
    assert_true(g_res->heap_size >= 60 * 1024);
    /* esp32: SPIRAM exists there */
    o.preset = "esp32";
    o.strategy = RTM_FIRST_FIT;
    assert_int_equal(rtm_replay_run(path, &o, g_res, g_err, sizeof g_err), 0);
    assert_int_equal(g_res->failed, 0);
    assert_true(g_res->check_ok);
}

static void test_histogram(void **state)
{
    (void)state;
    rtm_hist_t *h = calloc(1, sizeof *h);
    assert_non_null(h);
    assert_int_equal(rtm_hist_quantile(h, 0.5), 0);
    for (uint64_t v = 1; v <= 1000; v++) {
        rtm_hist_add(h, v);
    }
    assert_int_equal(rtm_hist_quantile(h, 0.5), 500);
    assert_int_equal(rtm_hist_quantile(h, 0.999), 999);
    assert_int_equal(rtm_hist_quantile(h, 1.0), 1000);
    assert_int_equal(h->total_ns, 500500);
    /* Coarse buckets: within 1/64 below the value. */
    static const uint64_t big[] = {1024, 1500, 65537, 1000000007ull, UINT64_MAX / 3u};
    for (size_t i = 0; i < sizeof big / sizeof big[0]; i++) {
        memset(h, 0, sizeof *h);
        rtm_hist_add(h, big[i]);
        uint64_t q = rtm_hist_quantile(h, 0.5);
        assert_true(q <= big[i]);
        assert_true(q >= big[i] - big[i] / 64u);
    }
    free(h);
}

static void test_cli_helpers(void **state)
{
    (void)state;
    size_t n = 0;
    assert_true(rtm_tool_parse_size("4096", &n) && n == 4096);
    assert_true(rtm_tool_parse_size("64K", &n) && n == 65536);
    assert_true(rtm_tool_parse_size("64KiB", &n) && n == 65536);
    assert_true(rtm_tool_parse_size("1M", &n) && n == 1048576);
    assert_true(rtm_tool_parse_size("1G", &n) && n == 1073741824u);
    assert_false(rtm_tool_parse_size("", &n));
    assert_false(rtm_tool_parse_size("-1", &n));
    assert_false(rtm_tool_parse_size("12Q", &n));
    assert_false(rtm_tool_parse_size("99999999999999999999999", &n));
    rtm_strategy_id_t s;
    assert_true(rtm_tool_parse_strategy("best_fit", &s) && s == RTM_BEST_FIT);
    assert_true(rtm_tool_parse_strategy("first-fit", &s) && s == RTM_FIRST_FIT);
    assert_false(rtm_tool_parse_strategy("buddy", &s));
}

/* A random trace (fixed seed) with frees in random order. */
static const char *write_random_trace(unsigned seed, unsigned steps)
{
    (void)snprintf(g_path2, sizeof g_path2, "%s/random.trace", g_dir);
    ts_write_random_trace(g_path2, seed, steps, false, false);
    return g_path2;
}

/* The minimum size: the trace completes at it and fails 16 bytes below
 * (both replayed here independently of the search's own check). */
static void test_min_size_search_checked(void **state)
{
    (void)state;
    static const unsigned seeds[] = {1, 7, 42};
    for (size_t i = 0; i < sizeof seeds / sizeof seeds[0]; i++) {
        const char *path = write_random_trace(seeds[i], 600);
        for (int s = 0; s < (int)RTM_SYSTEM; s++) {
            rtm_replay_opts_t o = {.strategy = (rtm_strategy_id_t)s};
            rtm_min_size_t m;
            assert_int_equal(rtm_min_size_search(path, &o, 0, &m, g_err, sizeof g_err), 0);
            assert_true(m.found);
            assert_int_equal(m.size % 16u, 0);
            assert_true(m.size_completes);
            assert_true(m.below_fails);
            assert_int_equal(replay(path, (rtm_strategy_id_t)s, m.size), 0);
            assert_int_equal(g_res->failed, 0);
            uint64_t peak = g_res->peak_live;
            assert_true(m.size > peak);
            assert_int_equal(replay(path, (rtm_strategy_id_t)s, m.size - 16u), 0);
            assert_true(g_res->failed > 0);
            /* with a hint far above */
            rtm_min_size_t m2;
            assert_int_equal(rtm_min_size_search(path, &o, 1u << 20, &m2, g_err, sizeof g_err), 0);
            assert_true(m2.found && m2.size_completes && m2.below_fails);
        }
    }
    /* system: no bounded arena, n/a */
    rtm_replay_opts_t o = {.strategy = RTM_SYSTEM};
    rtm_min_size_t m;
    assert_int_equal(rtm_min_size_search(g_path2, &o, 0, &m, g_err, sizeof g_err), 0);
    assert_false(m.found);
    /* A trace that needs no block completes at the heap's minimum. */
    const char *path = write_trace("# nothing\n");
    o.strategy = RTM_TLSF;
    assert_int_equal(rtm_min_size_search(path, &o, 0, &m, g_err, sizeof g_err), 0);
    assert_true(m.found && m.size_completes && m.below_fails);
    /* Bad input stops the search with exit status 2. */
    path = write_trace("a 1 100\nf 2\n");
    assert_int_equal(rtm_min_size_search(path, &o, 0, &m, g_err, sizeof g_err), 2);
}

static int run_cmd(int (*fn)(int, char **), int argc, const char *const *args)
{
    char *argv[16];
    assert_true(argc < 16);
    for (int i = 0; i < argc; i++) {
        argv[i] = (char *)(uintptr_t)args[i];
    }
    argv[argc] = NULL;
    fflush(stdout);
    return fn(argc, argv);
}

/* rtm_cmd_replay on args, stdout into g_out and stderr into g_errout. */
static char g_out[8192];
static char g_errout[4096];

static int run_captured(int argc, const char *const *args)
{
    char *argv[16];
    assert_true(argc < 16);
    for (int i = 0; i < argc; i++) {
        argv[i] = (char *)(uintptr_t)args[i];
    }
    argv[argc] = NULL;
    char out_path[128], err_path[128];
    (void)snprintf(out_path, sizeof out_path, "%s/out.txt", g_dir);
    (void)snprintf(err_path, sizeof err_path, "%s/err.txt", g_dir);
    const ts_capture_t c = {.out_path = out_path, .err_path = err_path, .out = g_out,
                            .out_cap = sizeof g_out, .err = g_errout,
                            .err_cap = sizeof g_errout};
    return ts_capture_command(&c, rtm_cmd_replay, argc, argv);
}

static void expect_in(const char *haystack, const char *needle, const char *what)
{
    if (strstr(haystack, needle) == NULL) {
        fail_msg("%s: '%s' not found in:\n%s", what, needle, haystack);
    }
}

/* A malformed or inconsistent line stops the reading, but what was
 * replayed before it is reported, marked incomplete (text: INCOMPLETE
 * TRACE; JSON: complete false and cut_off_reason), with exit 2 and the
 * FILE:LINE error on stderr, in every mode: --size (streamed), --regions,
 * and without --size (the size that fits the part before the line). */
static void test_malformed_line_keeps_the_part_replayed(void **state)
{
    (void)state;
    /* the middle: three events, then a bad SIZE on line 5 */
    const char *path = write_trace("# rtmem-trace 1\na 1 100\na 2 200\nf 1\na 3 x\na 4 50\n");
    char err_want[192];
    (void)snprintf(err_want, sizeof err_want, "%s:5: SIZE 'x' is not a decimal number", path);
    static const char reason[] = "reading stopped at line 5: SIZE 'x' is not a decimal number";
    static const char *const modes[][4] = {
        {"--size", "64K", NULL, NULL},
        {"--regions", "rp2040", NULL, NULL},
        {"--strategy", "first_fit", NULL, NULL}, /* no --size: a size that fits */
    };
    size_t nmodes = sizeof modes / sizeof modes[0];
    for (size_t m = 0; m < nmodes + 1u; m++) {
        static const char *const system_mode[4] = {"--strategy", "system", NULL, NULL};
        if (m == nmodes && !strategy_available(RTM_SYSTEM)) {
            break;
        }
        const char *const *mode = m < nmodes ? modes[m] : system_mode;
        const char *a[8] = {"replay", path};
        int argc = 2;
        for (size_t k = 0; mode[k] != NULL; k++) {
            a[argc++] = mode[k];
        }
        assert_int_equal(run_captured(argc, a), 2);
        expect_in(g_errout, err_want, "stderr");
        expect_in(g_out, "INCOMPLETE TRACE: reading stopped at line 5: SIZE 'x' is not a "
                         "decimal number (the results below are those of the part before it)",
                  "text");
        expect_in(g_out, "operations      3 (alloc 2, aligned 0, realloc 0, free 1)\n", "text");
        expect_in(g_out, "peak live       300 bytes requested (line 3), 2 blocks at most\n",
                  "text");
        expect_in(g_out, "live at end     1 blocks, 200 bytes\n", "text");
        expect_in(g_out, "heap check      ok\n", "text");
        a[argc++] = "--json";
        assert_int_equal(run_captured(argc, a), 2);
        expect_in(g_errout, err_want, "stderr, --json");
        expect_in(g_out, "\"ops\":3,", "json");
        expect_in(g_out, "\"live_bytes_at_end\":200,", "json");
        expect_in(g_out, "\"heap_check\":true,\"complete\":false,\"cut_off_reason\":\"", "json");
        expect_in(g_out, reason, "json");
        assert_int_equal(g_out[strlen(g_out) - 2], '}'); /* the object ends */
    }
    /* without --size the note says which part the size fits */
    {
        const char *a[] = {"replay", path};
        assert_int_equal(run_captured(2, a), 2);
        expect_in(g_errout, "rtmem replay: no --size: a ", "stderr");
        expect_in(g_errout, "the part before line 5", "stderr");
    }

    /* line 1: nothing was replayed; the report says so (0 operations) */
    path = write_trace("a 1 x\na 2 10\n");
    {
        const char *a[] = {"replay", path, "--size", "64K"};
        assert_int_equal(run_captured(4, a), 2);
        expect_in(g_out, "INCOMPLETE TRACE: reading stopped at line 1: SIZE 'x'", "line 1");
        expect_in(g_out, "operations      0 (", "line 1");
        const char *j[] = {"replay", path, "--json"};
        assert_int_equal(run_captured(3, j), 2);
        expect_in(g_out, "\"ops\":0,", "line 1, json");
        expect_in(g_out, "\"complete\":false,\"cut_off_reason\":\"reading stopped at line 1: ",
                  "line 1, json");
    }

    /* the last line, without "\n": a line that parses but is inconsistent
     * is an error there too */
    path = write_trace("a 1 100\na 2 20\nf 9");
    {
        const char *a[] = {"replay", path, "--size", "64K", "--json"};
        assert_int_equal(run_captured(5, a), 2);
        expect_in(g_out, "\"ops\":2,", "last line");
        expect_in(g_out, "\"live_bytes_at_end\":120,", "last line");
        expect_in(g_out, "\"cut_off_reason\":\"reading stopped at line 3: free of ID 9, which is "
                         "not live (--lenient skips)\"",
                  "last line");
    }

    /* a truncated trace (cut mid-line: its last line does not parse) is
     * not an error: the cut line is skipped and counted, the rest complete */
    path = write_trace("a 1 100\na 2 20\nf 1\nA 3 6");
    {
        const char *a[] = {"replay", path, "--size", "64K", "--json"};
        assert_int_equal(run_captured(5, a), 0);
        expect_in(g_out, "\"ops\":3,", "truncated");
        expect_in(g_out, "\"truncated\":1}", "truncated");
        expect_in(g_out, "\"complete\":true,\"cut_off_reason\":null}", "truncated");
        const char *t[] = {"replay", path, "--size", "64K"};
        assert_int_equal(run_captured(4, t), 0);
        assert_null(strstr(g_out, "INCOMPLETE"));
    }

    /* a NUL byte in the middle (the line reader's error) cuts the same way */
    (void)snprintf(g_path, sizeof g_path, "%s/t.trace", g_dir);
    FILE *f = fopen(g_path, "wb");
    assert_non_null(f);
    static const char nul[] = "a 1 100\na 2 2\0000\nf 1\n";
    assert_int_equal(fwrite(nul, 1, sizeof nul - 1u, f), sizeof nul - 1u);
    assert_int_equal(fclose(f), 0);
    {
        const char *a[] = {"replay", g_path, "--size", "64K"};
        assert_int_equal(run_captured(4, a), 2);
        expect_in(g_out, "INCOMPLETE TRACE: reading stopped at line 2: NUL byte at column 6",
                  "NUL");
        expect_in(g_out, "operations      1 (", "NUL");
    }

    /* a file that cannot be read or holds nothing has no part read: only
     * the error, nothing on stdout */
    path = write_trace("\n\n");
    {
        const char *a[] = {"replay", path, "--size", "64K"};
        assert_int_equal(run_captured(4, a), 2);
        expect_in(g_errout, "empty input", "empty");
        assert_string_equal(g_out, "");
        const char *n[] = {"replay", "/nonexistent/x.trace", "--json"};
        assert_int_equal(run_captured(3, n), 2);
        assert_string_equal(g_out, "");
    }
}

static void test_command_exit_codes(void **state)
{
    (void)state;
    const char *ok = write_trace("a 1 100\na 2 200\nf 1\na 3 50\nf 2\nf 3\n");
    char okp[128];
    (void)snprintf(okp, sizeof okp, "%s", ok);
    {
        const char *a[] = {"replay", okp};
        assert_int_equal(run_cmd(rtm_cmd_replay, 2, a), 0);
    }
    {
        const char *a[] = {"replay", okp, "--json", "--strategy", "best_fit", "--size=8K"};
        assert_int_equal(run_cmd(rtm_cmd_replay, 6, a), 0);
    }
    {
        const char *a[] = {"replay", okp, "--size", "1K", "--strategy", "first_fit",
                           "--align", "16"};
        assert_int_equal(run_cmd(rtm_cmd_replay, 8, a), 0);
    }
    {
        const char *a[] = {"replay", okp, "--regions", "rp2040"};
        assert_int_equal(run_cmd(rtm_cmd_replay, 4, a), 0);
    }
    {
        const char *a[] = {"replay", "--help"};
        assert_int_equal(run_cmd(rtm_cmd_replay, 2, a), 0);
    }
    {
        const char *a[] = {"compare", "--help"};
        assert_int_equal(run_cmd(rtm_cmd_compare, 2, a), 0);
    }
    /* bad usage */
    static const char *const bad[][4] = {
        {"replay", NULL, NULL, NULL},
        {"replay", "x.trace", "--strategy", "buddy"},
        {"replay", "x.trace", "--size", "12Q"},
        {"replay", "x.trace", "--align", "3"},
        {"replay", "x.trace", "--bogus", NULL},
        {"replay", "x.trace", "y.trace", NULL},
        {"replay", "x.trace", "--size", NULL},
        {"replay", "/nonexistent/x.trace", NULL, NULL},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        int argc = 0;
        while (argc < 4 && bad[i][argc] != NULL) {
            argc++;
        }
        assert_int_equal(run_cmd(rtm_cmd_replay, argc, bad[i]), 2);
    }
    {
        const char *a[] = {"replay", okp, "--size", "64K", "--regions", "esp32"};
        assert_int_equal(run_cmd(rtm_cmd_replay, 6, a), 2);
    }
    {
        const char *a[] = {"compare", okp, "--regions", "esp32"};
        assert_int_equal(run_cmd(rtm_cmd_compare, 4, a), 2);
    }
    {
        const char *a[] = {"compare", "-"};
        assert_int_equal(run_cmd(rtm_cmd_compare, 2, a), 2);
    }
    /* compare: a recommendation on two traces, table and JSON */
    const char *rnd = write_random_trace(3, 300);
    {
        const char *a[] = {"compare", okp, rnd};
        assert_int_equal(run_cmd(rtm_cmd_compare, 3, a), 0);
    }
    {
        const char *a[] = {"compare", rnd, "--json", "--strategy", "tlsf"};
        assert_int_equal(run_cmd(rtm_cmd_compare, 5, a), 0);
    }
    /* findings: a failed allocation */
    const char *fails = write_trace("a 1 100000\nf 1\n");
    {
        const char *a[] = {"replay", fails, "--size", "4K"};
        assert_int_equal(run_cmd(rtm_cmd_replay, 4, a), 1);
    }
    /* bad input: malformed line, strict inconsistency; --lenient passes */
    const char *bad_line = write_trace("a 1 100\nf 2\n");
    {
        const char *a[] = {"replay", bad_line};
        assert_int_equal(run_cmd(rtm_cmd_replay, 2, a), 2);
    }
    {
        const char *a[] = {"replay", bad_line, "--lenient"};
        assert_int_equal(run_cmd(rtm_cmd_replay, 3, a), 0);
    }
    {
        const char *a[] = {"compare", bad_line};
        assert_int_equal(run_cmd(rtm_cmd_compare, 2, a), 2);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_hand_computed_small_trace),
        cmocka_unit_test(test_footprint_and_fragmentation),
        cmocka_unit_test(test_realloc_and_aligned),
        cmocka_unit_test(test_first_failing_line),
        cmocka_unit_test(test_lenient_replay),
        cmocka_unit_test(test_bad_input_and_config),
        cmocka_unit_test(test_regions_and_caps),
        cmocka_unit_test(test_histogram),
        cmocka_unit_test(test_cli_helpers),
        cmocka_unit_test(test_min_size_search_checked),
        cmocka_unit_test(test_command_exit_codes),
        cmocka_unit_test(test_malformed_line_keeps_the_part_replayed),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
