/*
 * rtmem report's pieces: the down-sampling of a series (peaks kept, bounded
 * points), the SVG path and axis ticks, HTML escaping of names from the
 * input (a task named <script> must stay text), the hover readouts, the
 * trace analysis (comparison, heap map), and the command end to end: a page
 * written from generated telemetry, a trace and an ESP-IDF dump, and from
 * an input with a malformed line (exit 2, the page still holds what came
 * before it); the pools over time, the readouts' values, the page's bound
 * on hours of telemetry, and hostile pool names.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <math.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "commands.h"
#include "report_series.h"
#include "report_svg.h"
#include "report_trace.h"

static char *capture_text;
static size_t capture_len;

static FILE *capture(void)
{
    FILE *f = open_memstream(&capture_text, &capture_len);
    assert_non_null(f);
    return f;
}

static char *captured(FILE *f)
{
    assert_int_equal(fclose(f), 0);
    return capture_text;
}

static char *slurp(const char *path)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    fseek(f, 0, SEEK_END);
    long n = ftell(f);
    rewind(f);
    char *s = malloc((size_t)n + 1u);
    assert_non_null(s);
    assert_int_equal(fread(s, 1, (size_t)n, f), (size_t)n);
    s[n] = '\0';
    fclose(f);
    return s;
}

static size_t count(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = hay; (p = strstr(p, needle)) != NULL; p++) {
        n++;
    }
    return n;
}

/* ---- down-sampling ---------------------------------------------------- */

static void test_series_small_kept_exactly(void **state)
{
    (void)state;
    static rtm_series_t s;
    static rtm_point_t p[RTM_SERIES_POINTS_MAX];
    rtm_series_init(&s);
    for (uint64_t x = 0; x < 10; x++) {
        rtm_series_add(&s, 100 + x * 7, (double)(x * x));
    }
    size_t n = rtm_series_points(&s, p, RTM_SERIES_POINTS_MAX);
    assert_int_equal(n, 10);
    for (size_t i = 0; i < n; i++) {
        assert_true(p[i].x == (double)(100 + i * 7));
        assert_true(p[i].y == (double)(i * i));
    }
}

static void test_series_million_points_keep_peak_and_dip(void **state)
{
    (void)state;
    static rtm_series_t s;
    static rtm_point_t p[RTM_SERIES_POINTS_MAX];
    rtm_series_init(&s);
    for (uint64_t x = 0; x < 1000000; x++) {
        double y = (double)(x % 1000);
        if (x == 654321) {
            y = 1e9;   /* one spike */
        }
        if (x == 123457) {
            y = -5.0;  /* one dip */
        }
        rtm_series_add(&s, x, y);
    }
    assert_true(s.used >= RTM_SERIES_BUCKETS / 2u && s.used <= RTM_SERIES_BUCKETS);
    size_t n = rtm_series_points(&s, p, RTM_SERIES_POINTS_MAX);
    assert_true(n <= RTM_SERIES_POINTS_MAX);
    assert_true(n > RTM_SERIES_BUCKETS / 2u);
    bool spike = false, dip = false;
    for (size_t i = 0; i < n; i++) {
        if (i > 0) {
            assert_true(p[i].x >= p[i - 1].x);
        }
        spike |= p[i].y == 1e9 && p[i].x == 654321.0;
        dip |= p[i].y == -5.0 && p[i].x == 123457.0;
    }
    assert_true(spike);
    assert_true(dip);
    assert_true(p[0].x == 0.0 && p[n - 1].x == 999999.0);
    /* a small out buffer is filled, never overrun */
    rtm_point_t few[3] = {{0, 0}, {0, 0}, {0, 0}};
    assert_int_equal(rtm_series_points(&s, few, 2), 2);
    assert_true(few[2].x == 0.0 && few[2].y == 0.0);
}

static void test_series_hostile_values(void **state)
{
    (void)state;
    static rtm_series_t s;
    static rtm_point_t p[RTM_SERIES_POINTS_MAX];
    rtm_series_init(&s);
    rtm_series_add(&s, 1000, 1.0);
    rtm_series_add(&s, 10, 2.0);       /* before the first x: counted at it */
    rtm_series_add(&s, 2000, NAN);     /* ignored */
    rtm_series_add(&s, 3000, INFINITY);
    rtm_series_add(&s, UINT64_MAX, 3.0);
    size_t n = rtm_series_points(&s, p, RTM_SERIES_POINTS_MAX);
    assert_int_equal(s.count, 3);
    for (size_t i = 0; i < n; i++) {
        assert_true(isfinite(p[i].y));
        assert_true(p[i].x >= 1000.0);
    }
    assert_true(p[n - 1].y == 3.0);
}

/* ---- SVG ---------------------------------------------------------------- */

static void test_svg_path_maps_and_clamps(void **state)
{
    (void)state;
    FILE *f = capture();
    rtm_chart_t c;
    rtm_chart_begin(&c, f, "t", "t", 600.0, 250.0, 0.0, 10.0, RTM_UNIT_COUNT, "x", 0.0, 100.0,
                    RTM_UNIT_COUNT, "y");
    fflush(f);
    size_t before = capture_len;
    const rtm_point_t pts[] = {{0, 0}, {5, 50}, {NAN, 1}, {10, 100}, {20, 200}, {-1, -50}};
    assert_int_equal(rtm_chart_path(&c, pts, 6), 5);
    fflush(f);
    char path[256];
    snprintf(path, sizeof path, "%.*s", (int)(capture_len - before), capture_text + before);
    /* plot area: x 68..586, y 194 (bottom)..12 (top) */
    assert_string_equal(path, "M68.0 194.0L327.0 103.0L586.0 12.0L586.0 12.0L68.0 194.0");
    free(captured(f));
}

static void test_svg_line_counts_points(void **state)
{
    (void)state;
    FILE *f = capture();
    rtm_chart_t c;
    rtm_chart_begin(&c, f, "id-1", "label", 600.0, 250.0, 0.0, 10.0, RTM_UNIT_SECONDS, "time",
                    0.0, 4096.0, RTM_UNIT_BYTES, "bytes");
    const rtm_point_t pts[] = {{0, 0}, {5, 50}, {10, 100}};
    rtm_chart_line(&c, pts, 3, "free", "a & b");
    rtm_chart_marker(&c, 5.0, "raised", "<alert>");
    static const char *const cls[] = {"free"};
    static const char *const txt[] = {"free"};
    rtm_chart_end(&c, cls, txt, 1);
    char *s = captured(f);
    assert_non_null(strstr(s, "<svg class=\"rtm-chart\" id=\"id-1\""));
    assert_non_null(strstr(s, "<path class=\"line free\" data-points=\"3\" d=\"M"));
    assert_non_null(strstr(s, "<title>a &amp; b</title>"));
    assert_non_null(strstr(s, "<title>&lt;alert&gt;</title>"));
    assert_non_null(strstr(s, ">4 KiB</text>")); /* y ticks in KiB */
    assert_non_null(strstr(s, " s</text>"));  /* x ticks in seconds */
    assert_int_equal(count(s, "<svg"), 1);
    assert_int_equal(count(s, "</svg>"), 1);
    free(s);
}

/* Readouts: rows per line up to 8 (the rest counted), a flat stretch is
 * one rect reaching to the next value, a spike and a dip in one column are
 * both shown, (full) at the reference. */
static void test_readouts_rows_merge_and_reach(void **state)
{
    (void)state;
    FILE *f = capture();
    rtm_chart_t c;
    rtm_chart_begin(&c, f, "r", "r", 600.0, 250.0, 0.0, 10000.0, RTM_UNIT_SECONDS, "t", 0.0,
                    100.0, RTM_UNIT_COUNT, "y");
    static rtm_readouts_t ro;
    rtm_readouts_begin(&ro, &c, RTM_UNIT_SECONDS);
    assert_int_equal(ro.ncols, 64); /* a 518 px plot: 8 px columns at least */
    const rtm_point_t p[] = {{0, 7},    {1000, 7}, {2000, 7},  {5000, 7},
                             {6000, 9}, {8000, 40}, {8010, 3}, {NAN, 1}};
    for (int k = 0; k < 10; k++) {
        char name[16];
        snprintf(name, sizeof name, "l%d", k);
        rtm_readouts_add(&ro, p, 8, name, RTM_UNIT_COUNT, 40.0, " blocks");
    }
    rtm_readouts_end(&ro);
    char *s = captured(f);
    assert_int_equal(count(s, "<rect class=\"hit\""), 3);
    assert_int_equal(count(s, "<g class=\"hits\" fill-opacity=\"0\">"), 1);
    /* 0 to 5 s is one rect, reaching to the 6 s column (38 columns of
     * 518/64 px) */
    assert_non_null(strstr(s, "<rect class=\"hit\" x=\"68.0\" y=\"12.0\" width=\"307.6\" "
                              "height=\"182.0\"><title>0 to 5 s\nl0: 7 of 40 blocks\nl1: "));
    assert_non_null(strstr(s, "\nl7: 7 of 40 blocks\nand 2 more lines</title>"));
    assert_null(strstr(s, "l8:"));
    assert_non_null(strstr(s, "<title>6 s\nl0: 9 of 40 blocks\n"));
    assert_non_null(strstr(s, "<title>8 to 8.01 s\nl0: 3 to 40 of 40 blocks (full)\n"));
    free(s);
}

static void test_nice_ticks(void **state)
{
    (void)state;
    double t[16], top = 0;
    size_t n = rtm_nice_ticks(0.0, 191064.0, RTM_UNIT_BYTES, t, 16, &top);
    assert_int_equal(n, 5);   /* 0, 50, 100, 150, 200 KiB */
    assert_true(t[1] == 50.0 * 1024.0);
    assert_true(top == 200.0 * 1024.0);
    char b[32];
    assert_string_equal(rtm_fmt_tick(t[1], top, RTM_UNIT_BYTES, b, sizeof b), "50 KiB");
    n = rtm_nice_ticks(0.0, 572.0, RTM_UNIT_PERMILLE, t, 16, &top);
    assert_true(top >= 572.0 && n >= 3 && n <= 12);
    assert_string_equal(rtm_fmt_tick(200.0, 200.0, RTM_UNIT_PERMILLE, b, sizeof b), "20%");
    assert_string_equal(rtm_fmt_tick(2500.0, 500.0, RTM_UNIT_SECONDS, b, sizeof b), "2.5 s");
    assert_string_equal(rtm_fmt_tick(1500000.0, 500000.0, RTM_UNIT_COUNT, b, sizeof b), "1.5M");
    /* bad ranges give a usable axis, never a loop or NaN */
    n = rtm_nice_ticks(5.0, 5.0, RTM_UNIT_COUNT, t, 16, &top);
    assert_true(n >= 2 && top > 5.0);
    n = rtm_nice_ticks(NAN, INFINITY, RTM_UNIT_BYTES, t, 16, &top);
    assert_true(n >= 2 && isfinite(top));
    assert_string_equal(rtm_fmt_bytes(812, b, sizeof b), "812 B");
    assert_string_equal(rtm_fmt_bytes(37572, b, sizeof b), "36.7 KiB");
    assert_string_equal(rtm_fmt_bytes(3820156, b, sizeof b), "3.64 MiB");
}

static void test_html_escaping(void **state)
{
    (void)state;
    FILE *f = capture();
    rtm_html_text(f, "<script>alert('x')</script> & \"q\"");
    fputc('|', f);
    rtm_html_text(f, "t\xc3\xa9st");          /* UTF-8 passes */
    fputc('|', f);
    rtm_html_text(f, "a\x01" "b\xff" "c\x7f"); /* controls and a stray byte */
    fputc('|', f);
    rtm_html_text_n(f, "\xe2\x82", 2);        /* a cut-off sequence */
    char *s = captured(f);
    assert_string_equal(s, "&lt;script&gt;alert(&#39;x&#39;)&lt;/script&gt; &amp; &quot;q&quot;|"
                           "t\xc3\xa9st|a\xef\xbf\xbd" "b\xef\xbf\xbd" "c\xef\xbf\xbd|"
                           "\xef\xbf\xbd\xef\xbf\xbd");
    free(s);
}

static void test_heap_map_many_blocks_is_bounded(void **state)
{
    (void)state;
    size_t n = 100000;
    rtm_map_block_t *b = calloc(n, sizeof *b);
    assert_non_null(b);
    for (size_t i = 0; i < n; i++) {
        b[i] = (rtm_map_block_t){.offset = 64 + i * 40, .size = 32, .used = (int)(i % 3 != 0)};
    }
    FILE *f = capture();
    rtm_svg_heap_map(f, "m", "map", b, n, 64 + n * 40, 1140.0);
    char *s = captured(f);
    /* runs of cells, not one element per block */
    assert_true(count(s, "<rect") < 8u * 1200u + 8u);
    assert_true(count(s, "class=\"blk u") > 0);
    free(s);
    free(b);
    /* few blocks: one titled rect each */
    const rtm_map_block_t few[] = {{16, 100, 1}, {116, 400, 0}, {516, 508, 1}};
    f = capture();
    rtm_svg_heap_map(f, "m2", "map", few, 3, 1024, 600.0);
    s = captured(f);
    assert_int_equal(count(s, "<title>"), 3);
    assert_non_null(strstr(s, "<title>+0x74: 400 B free</title>"));
    free(s);
}

/* ---- the trace analysis ---------------------------------------------- */

static char dir[128];

static char *in_dir(const char *name)
{
    static char paths[8][256];
    static unsigned next;
    char *p = paths[next++ % 8u];
    snprintf(p, 256, "%s/%s", dir, name);
    return p;
}

static void write_file(const char *path, const char *text)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    fputs(text, f);
    fclose(f);
}

/* 400 live blocks built up, churned, then mostly freed: peak at op 400ish. */
static void write_trace(const char *path, int leak)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# rtmem-trace 1\n");
    for (int i = 0; i < 400; i++) {
        fprintf(f, "a %d %d task=w%d caller=0x%x\n", i, 16 + (i * 37) % 300, i % 3,
                0x1000 + (i % 4) * 16);
    }
    for (int i = 0; i < 400; i += 2) {
        fprintf(f, "f %d\n", i);
    }
    for (int i = 400; i < 600; i++) {
        fprintf(f, "a %d %d caller=0x2000\n", i, 8 + (i * 13) % 100);
    }
    for (int i = 1; i < 400; i += 2) {
        if (!leak || i > 20) {
            fprintf(f, "f %d\n", i);
        }
    }
    for (int i = 400; i < 600; i++) {
        fprintf(f, "f %d\n", i);
    }
    fclose(f);
}

static void test_trace_analysis_checked(void **state)
{
    (void)state;
    const char *path = in_dir("t.trace");
    write_trace(path, 0);
    rtm_rep_trace_t *t = malloc(sizeof *t);
    assert_non_null(t);
    rtm_rep_trace_opts_t o = {.budget_ns = 0, .search = true};
    assert_int_equal(rtm_rep_trace_analyze(t, path, &o), 0);
    assert_true(t->read_all);
    assert_int_equal(t->ops, 1200);
    assert_int_equal(t->end_live, 0);
    assert_true(t->peak_op == 400);
    assert_true(t->compared && t->pick_checked);
    assert_true(t->pick < t->nstrat);
    for (size_t k = 0; k < t->nstrat; k++) {
        assert_true(t->strat[k].id != RTM_SYSTEM);
        assert_true(t->strat[k].ran && t->strat[k].checked);
        assert_true(t->strat[k].min_size >= t->peak_live);
        assert_true(t->strat[k].high_water >= t->strat[k].min_size / 2u);
    }
    assert_true(t->heap_size == rtm_rep_advised_size(t->strat[t->pick].min_size));
    assert_true(t->mapped);
    /* the map at the peak: every live block, in address order, inside the heap */
    size_t used = 0;
    for (size_t i = 0; i < t->nblocks; i++) {
        used += t->blocks[i].used != 0;
        assert_true(t->blocks[i].offset + t->blocks[i].size <= t->map_total);
        if (i > 0) {
            assert_true(t->blocks[i].offset >= t->blocks[i - 1].offset + t->blocks[i - 1].size);
        }
    }
    assert_int_equal(used, 400);
    assert_true(t->map_used >= t->peak_live);
    rtm_rep_trace_fini(t);
    free(t);
    unlink(path);
}

static void test_trace_analysis_without_budget_is_labelled(void **state)
{
    (void)state;
    const char *path = in_dir("t0.trace");
    write_trace(path, 0);
    rtm_rep_trace_t *t = malloc(sizeof *t);
    assert_non_null(t);
    rtm_rep_trace_opts_t o = {.budget_ns = 0, .search = false};
    assert_int_equal(rtm_rep_trace_analyze(t, path, &o), 0);
    assert_false(t->pick_checked);
    for (size_t k = 0; k < t->nstrat; k++) {
        assert_false(t->strat[k].checked);
        assert_non_null(t->strat[k].why);
        assert_non_null(strstr(t->strat[k].why, "high-water"));
    }
    assert_true(t->pick < t->nstrat && t->mapped);
    rtm_rep_trace_fini(t);
    free(t);
    unlink(path);
}

static void test_trace_analysis_bad_line_keeps_what_came_before(void **state)
{
    (void)state;
    const char *path = in_dir("bad.trace");
    write_file(path, "# rtmem-trace 1\na 1 100\na 2 200\nf 1\nq nonsense\na 3 50\n");
    rtm_rep_trace_t *t = malloc(sizeof *t);
    assert_non_null(t);
    rtm_rep_trace_opts_t o = {.budget_ns = 1000000000ull, .search = true};
    assert_int_equal(rtm_rep_trace_analyze(t, path, &o), 2);
    assert_non_null(strstr(t->err, "bad.trace:5:"));
    assert_int_equal(t->ops, 3);
    assert_int_equal(t->peak_live, 300);
    assert_false(t->compared);
    rtm_rep_trace_fini(t);
    free(t);
    unlink(path);
}

/* ---- the command ------------------------------------------------------ */

static int run_report(int n, const char *const *args)
{
    char *argv[16];
    argv[0] = (char *)"report";
    for (int i = 0; i < n; i++) {
        argv[i + 1] = (char *)args[i];
    }
    argv[n + 1] = NULL;
    /* the command's notes go to stderr: keep the test log readable */
    fflush(stderr);
    return rtm_cmd_report(n + 1, argv);
}

static const char telemetry[] =
    "I (10) app: booting\n"
    "{\"rtmem\":1,\"type\":\"mem\",\"ms\":1000,\"seq\":1,\"name\":\"DRAM\",\"kind\":\"heap\","
    "\"total\":65536,\"free\":30000,\"min_free\":28000,\"largest\":20000,\"used_blocks\":9,"
    "\"free_blocks\":3,\"failed\":0,\"frag_pm\":333,\"alerts\":0}\n"
    "[00:00:01.500] {\"rtmem\":1,\"type\":\"mem\",\"ms\":1500,\"seq\":2,\"name\":\"DRAM\","
    "\"kind\":\"heap\",\"total\":65536,\"free\":25000,\"min_free\":24000,\"largest\":9000,"
    "\"used_blocks\":12,\"free_blocks\":5,\"failed\":1,\"frag_pm\":640,\"alerts\":1}\n"
    "{\"rtmem\":1,\"type\":\"alert\",\"ms\":1500,\"alert\":\"fragmented\",\"state\":\"raised\","
    "\"source\":\"DRAM\",\"value\":640,\"threshold\":500}\n"
    "{\"rtmem\":1,\"type\":\"task\",\"ms\":1500,\"seq\":2,\"name\":\"<script>alert(1)</script>\","
    "\"id\":7,\"heap\":100,\"heap_peak\":300,\"stack_size\":4096,\"stack_peak\":1024,"
    "\"alerts\":0}\n"
    "{\"rtmem\":1,\"type\":\"pool\",\"ms\":1500,\"seq\":2,\"name\":\"\\\"><img src=x onerror=alert(2)>\","
    "\"block\":32,\"capacity\":8,\"used\":3,\"peak\":8,\"failed\":2,\"waits\":1,\"alerts\":0}\n"
    "{\"rtmem\":1,\"type\":\"rec\",\"ms\":1500,\"rule\":\"grow_memory\",\"source\":\"DRAM\","
    "\"size\":65536,\"min_free\":24000,\"peak_used\":41536,\"advised\":51920,\"fixed\":0,"
    "\"text\":\"DRAM: raise it to at least 51920 B\"}\n";

static void test_report_end_to_end(void **state)
{
    (void)state;
    const char *tm = in_dir("uart.log");
    const char *tr = in_dir("leaky.trace");
    const char *esp = in_dir("esp.txt");
    const char *out = in_dir("out.html");
    write_file(tm, telemetry);
    write_trace(tr, 1);
    write_file(esp, "====== Heap Trace: 2 records (100 capacity) ======\n"
                    "    64 bytes (@ 0x3ffb4f20, Internal) allocated CPU 0 ccount 0x11111111 "
                    "caller 0x400d1234:0x400d5678\n"
                    "    32 bytes (@ 0x3ffb5000, Internal) allocated CPU 0 ccount 0x22222222 "
                    "caller 0x400d1234:0x400d5678\n"
                    "====== Heap Trace Summary ======\n"
                    "Mode: Heap Trace All\n"
                    "96 bytes alive in trace (2/2 allocations)\n"
                    "records: 2 (100 capacity, 2 high water mark)\n"
                    "total allocations: 2\n"
                    "total frees: 0\n"
                    "================================\n");
    const char *args[] = {"-o", out, "--budget", "30", tm, tr, esp};
    assert_int_equal(run_report(7, args), 0);
    char *s = slurp(out);
    /* names from the input never become markup */
    assert_null(strstr(s, "<script>alert"));
    assert_null(strstr(s, "<img src=x"));
    assert_non_null(strstr(s, "&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert_non_null(strstr(s, "&quot;&gt;&lt;img src=x onerror=alert(2)&gt;"));
    assert_null(strstr(s, "<script")); /* and the page has no script at all */
    assert_null(strstr(s, "src=\"http"));  /* nothing loaded from the network */
    assert_null(strstr(s, "href=\"http"));
    /* every section with its data */
    assert_non_null(strstr(s, "id=\"mem-0\""));
    assert_non_null(strstr(s, "id=\"fragmentation-chart\""));
    assert_non_null(strstr(s, "<g class=\"marker raised\"><title>0.5 s: fragmented raised on DRAM"));
    assert_non_null(strstr(s, "DRAM: raise it to at least 51920 B"));
    assert_non_null(strstr(s, "id=\"task-heap\""));
    assert_non_null(strstr(s, "id=\"task-stack\""));
    assert_non_null(strstr(s, "id=\"pools-chart\""));
    assert_non_null(strstr(s, "<rect class=\"bar warn\""));  /* the pool reached capacity */
    assert_int_equal(count(s, "<rect class=\"bar warn\""), 1); /* the stack at 25% did not */
    assert_non_null(strstr(s, "id=\"trace-1-live\""));
    assert_non_null(strstr(s, "id=\"trace-1-compare\""));
    assert_non_null(strstr(s, "id=\"trace-1-heapmap\""));
    /* leaks: the trace's 10 odd IDs 1..19 (sizes 53..), and the dump's 2 blocks */
    assert_non_null(strstr(s, "in 10 blocks still allocated"));
    assert_non_null(strstr(s, "96 B in 2 blocks still allocated"));
    free(s);
    unlink(tm), unlink(tr), unlink(esp), unlink(out);
}

static void test_report_malformed_line_keeps_the_rest(void **state)
{
    (void)state;
    const char *tm = in_dir("cut.log");
    const char *out = in_dir("cut.html");
    char text[4096];
    snprintf(text, sizeof text, "%s%s", telemetry,
             "{\"rtmem\":1,\"type\":\"mem\",\"ms\":2000,\"seq\":3,\"name\":\"DRAM\",\"kin\n"
             "{\"rtmem\":1,\"type\":\"mem\",\"ms\":3000,\"seq\":4,\"name\":\"LATE\",\"kind\":"
             "\"heap\",\"total\":1,\"free\":1,\"min_free\":1,\"largest\":1,\"used_blocks\":0,"
             "\"free_blocks\":1,\"failed\":0,\"frag_pm\":0,\"alerts\":0}\n");
    write_file(tm, text);
    const char *args[] = {"-o", out, tm};
    assert_int_equal(run_report(3, args), 2);
    char *s = slurp(out);
    assert_non_null(strstr(s, "cut.log:8:"));         /* the damaged line, named */
    assert_non_null(strstr(s, "id=\"mem-0\""));        /* DRAM, read before it */
    assert_non_null(strstr(s, "id=\"task-heap\""));
    assert_null(strstr(s, "LATE"));                    /* reading stopped there */
    free(s);
    /* a NUL byte */
    const char *nul = in_dir("nul.log");
    FILE *f = fopen(nul, "wb");
    assert_non_null(f);
    fwrite(telemetry, 1, strlen(telemetry), f);
    fwrite("abc\0def\n", 1, 8, f);
    fclose(f);
    const char *args2[] = {"-o", out, nul};
    assert_int_equal(run_report(3, args2), 2);
    s = slurp(out);
    assert_non_null(strstr(s, "nul.log:8:"));
    assert_non_null(strstr(s, "id=\"mem-0\""));
    /* a file that does not exist next to a good one: refused before the
     * page is touched, so the page written before stays as it was */
    const char *args3[] = {"-o", out, nul, in_dir("missing.log")};
    assert_int_equal(run_report(4, args3), 2);
    char *again = slurp(out);
    assert_string_equal(again, s);
    free(again);
    free(s);
    unlink(tm), unlink(nul), unlink(out);
}

static void test_trace_analysis_tiny_budget_keeps_the_baseline(void **state)
{
    (void)state;
    const char *path = in_dir("long.trace");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# rtmem-trace 1\n");
    for (int i = 0; i < 6000; i++) {
        fprintf(f, "a %d 24\nf %d\n", i, i);
    }
    fclose(f);
    rtm_rep_trace_t *t = malloc(sizeof *t);
    assert_non_null(t);
    rtm_rep_trace_opts_t o = {.budget_ns = 1, .search = true};
    assert_int_equal(rtm_rep_trace_analyze(t, path, &o), 0);
    assert_int_equal(t->ops, 12000);
    /* tlsf, the baseline, always completes; the others get at least twice
     * its time, which a 1 ns budget does not stretch */
    assert_int_equal(t->strat[0].id, RTM_TLSF);
    assert_true(t->strat[0].ran);
    assert_false(t->strat[0].checked); /* no time left for a checked search */
    assert_non_null(strstr(t->strat[0].why, "high-water"));
    assert_false(t->pick_checked);
    assert_true(t->pick < t->nstrat && t->mapped);
    rtm_rep_trace_fini(t);
    free(t);
    unlink(path);
}

/* A strategy far slower than tlsf on a trace is cut at its share of the
 * budget, counted in CPU time as rtm_replay_opts_t's deadline is: best fit
 * walks 8000 16-byte holes for each of 8000 64-byte requests (about 6e7
 * list steps), tlsf serves each in O(1). With a 1 ns budget best fit gets
 * twice tlsf's time, and its pace says it would need far more. */
static void test_trace_analysis_cuts_a_slow_strategy(void **state)
{
    (void)state;
    const char *path = in_dir("holes.trace");
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# rtmem-trace 1\n");
    for (int i = 0; i < 16000; i++) {
        fprintf(f, "a %d 16\n", i);
    }
    for (int i = 0; i < 16000; i += 2) {
        fprintf(f, "f %d\n", i);
    }
    for (int i = 0; i < 8000; i++) {
        fprintf(f, "a b%d 64\n", i);
    }
    fclose(f);
    rtm_rep_trace_t *t = malloc(sizeof *t);
    assert_non_null(t);
    rtm_rep_trace_opts_t o = {.budget_ns = 1, .search = true};
    assert_int_equal(rtm_rep_trace_analyze(t, path, &o), 0);
    assert_true(t->strat[0].id == RTM_TLSF && t->strat[0].ran);
    bool seen = false;
    for (size_t k = 0; k < t->nstrat; k++) {
        if (t->strat[k].id == RTM_BEST_FIT) {
            seen = true;
            assert_false(t->strat[k].ran);
            assert_non_null(strstr(t->strat[k].why_text, "slow"));
        }
    }
    assert_true(seen);
    rtm_rep_trace_fini(t);
    free(t);
    unlink(path);
}

/* Two telemetry files are one stream; stdin works; the latest advice per
 * rule and source is kept; sections without data are left out. */
static void test_report_inputs_merge(void **state)
{
    (void)state;
    const char *a = in_dir("a.log");
    const char *b = in_dir("b.log");
    const char *out = in_dir("m.html");
    write_file(a, telemetry);
    write_file(b, "{\"rtmem\":1,\"type\":\"mem\",\"ms\":9000,\"seq\":9,\"name\":\"DRAM\","
                  "\"kind\":\"heap\",\"total\":65536,\"free\":1000,\"min_free\":900,"
                  "\"largest\":800,\"used_blocks\":1,\"free_blocks\":1,\"failed\":0,"
                  "\"frag_pm\":200,\"alerts\":0}\n"
                  "{\"rtmem\":1,\"type\":\"rec\",\"ms\":9000,\"rule\":\"grow_memory\","
                  "\"source\":\"DRAM\",\"size\":65536,\"min_free\":900,\"peak_used\":64636,"
                  "\"advised\":80795,\"fixed\":0,\"text\":\"DRAM: now raise it to 80795 B\"}\n");
    FILE *saved = stdin;
    assert_non_null(freopen(b, "r", stdin));
    const char *args[] = {"-o", out, a, "-"};
    assert_int_equal(run_report(4, args), 0);
    stdin = saved;
    char *s = slurp(out);
    assert_non_null(strstr(s, "id=\"mem-0\""));
    assert_null(strstr(s, "id=\"mem-1\""));          /* one region, both files */
    assert_non_null(strstr(s, "3 samples)"));
    assert_non_null(strstr(s, "&lt;stdin&gt;"));
    assert_non_null(strstr(s, "DRAM: now raise it to 80795 B"));
    assert_null(strstr(s, "at least 51920 B"));     /* the older advice replaced */
    assert_null(strstr(s, "class=\"trace\""));      /* no trace given */
    assert_null(strstr(s, "class=\"leaks\""));
    free(s);
    /* a trace alone: no telemetry sections */
    const char *tr = in_dir("only.trace");
    write_trace(tr, 0);
    const char *args2[] = {"-o", out, "--budget", "0", tr};
    assert_int_equal(run_report(5, args2), 0);
    s = slurp(out);
    assert_null(strstr(s, "id=\"memory\""));
    assert_null(strstr(s, "id=\"tasks\""));
    assert_null(strstr(s, "id=\"pools\""));
    assert_non_null(strstr(s, "id=\"trace-0-live\""));
    free(s);
    unlink(a), unlink(b), unlink(tr), unlink(out);
}

/* A serial log mixing trace lines with log lines: its leaks, no replay. */
static void test_report_trace_in_a_log(void **state)
{
    (void)state;
    const char *log = in_dir("mixed.log");
    const char *out = in_dir("mixed.html");
    FILE *f = fopen(log, "w");
    assert_non_null(f);
    fprintf(f, "I (1) app: start\n# rtmem-trace 1\n");
    for (int i = 0; i < 205; i++) {
        fprintf(f, "a %d %d caller=0x%x\n", i, 16 + i, 0x10000 + i * 16);
        if (i % 50 == 0) {
            fprintf(f, "W (%d) app: tick\n", i);
        }
    }
    fclose(f);
    const char *args[] = {"-o", out, log};
    assert_int_equal(run_report(3, args), 0);
    char *s = slurp(out);
    assert_non_null(strstr(s, "in 205 blocks still allocated"));
    assert_non_null(strstr(s, "not replayed: "));
    assert_non_null(strstr(s, "5 more call sites")); /* 200 listed */
    assert_int_equal(count(s, "<tr><td class=\"num\">"), 200);
    free(s);
    /* The same log on stdin: the note names <stdin>, not the temporary
     * copy the trace analysis reads (it did). */
    FILE *saved = stdin;
    assert_non_null(freopen(log, "r", stdin));
    const char *args2[] = {"-o", out, "-"};
    assert_int_equal(run_report(3, args2), 0);
    stdin = saved;
    s = slurp(out);
    assert_non_null(strstr(s, "not replayed: &lt;stdin&gt;:"));
    assert_null(strstr(s, "rtmem-report-"));
    free(s);
    unlink(log), unlink(out);
}

/* Telemetry and a dump alone give the same page on every run. */
/* An --elf that is not an ELF: exit 2, the page still has its leak table. */
static void test_report_bad_elf(void **state)
{
    (void)state;
    const char *tr = in_dir("e.trace");
    const char *elf = in_dir("not.elf");
    const char *out = in_dir("e.html");
    write_trace(tr, 1);
    write_file(elf, "this is not an ELF file\n");
    const char *args[] = {"-o", out, "--elf", elf, "--budget", "0", tr};
    assert_int_equal(run_report(7, args), 2);
    char *s = slurp(out);
    assert_non_null(strstr(s, "Not symbolized: "));
    assert_non_null(strstr(s, "in 10 blocks still allocated"));
    free(s);
    unlink(tr), unlink(elf), unlink(out);
}

static void test_report_is_deterministic(void **state)
{
    (void)state;
    const char *tm = in_dir("det.log");
    const char *o1 = in_dir("det1.html");
    const char *o2 = in_dir("det2.html");
    write_file(tm, telemetry);
    const char *a1[] = {"-o", o1, tm};
    const char *a2[] = {"-o", o2, tm};
    assert_int_equal(run_report(3, a1), 0);
    assert_int_equal(run_report(3, a2), 0);
    char *s1 = slurp(o1), *s2 = slurp(o2);
    assert_string_equal(s1, s2);
    free(s1), free(s2);
    unlink(tm), unlink(o1), unlink(o2);
}

static void pool_line(FILE *f, uint64_t ms, const char *name, uint64_t cap, uint64_t used,
                      uint64_t peak)
{
    fprintf(f, "{\"rtmem\":1,\"type\":\"pool\",\"ms\":%llu,\"seq\":1,\"name\":\"%s\",\"block\":32,"
               "\"capacity\":%llu,\"used\":%llu,\"peak\":%llu,\"failed\":0,\"waits\":0,"
               "\"alerts\":0}\n", (unsigned long long)ms, name, (unsigned long long)cap,
            (unsigned long long)used, (unsigned long long)peak);
}

static void mem_line(FILE *f, uint64_t ms, const char *name, uint64_t free_b, uint64_t min_free,
                     uint64_t largest)
{
    fprintf(f, "{\"rtmem\":1,\"type\":\"mem\",\"ms\":%llu,\"seq\":1,\"name\":\"%s\",\"kind\":"
               "\"heap\",\"total\":65536,\"free\":%llu,\"min_free\":%llu,\"largest\":%llu,"
               "\"used_blocks\":1,\"free_blocks\":1,\"failed\":0,\"frag_pm\":%llu,\"alerts\":0}\n",
            (unsigned long long)ms, name, (unsigned long long)free_b,
            (unsigned long long)min_free, (unsigned long long)largest,
            free_b ? (unsigned long long)(1000u - largest * 1000u / free_b) : 0ull);
}

/* The part of s from the element with id="ID" to its </svg>, or NULL. */
static char *chart_of(const char *s, const char *id)
{
    char key[96];
    snprintf(key, sizeof key, "id=\"%s\"", id);
    const char *a = strstr(s, key);
    if (a == NULL) {
        return NULL;
    }
    const char *b = strstr(a, "</svg>");
    assert_non_null(b);
    char *c = malloc((size_t)(b - a) + 1u);
    assert_non_null(c);
    memcpy(c, a, (size_t)(b - a));
    c[b - a] = '\0';
    return c;
}

/* 300 pools: the first 256 are kept (a chart per 8, 32 charts), and the
 * page says that the others were left out, with their lines. */
static void test_report_pools_past_the_limit_are_named(void **state)
{
    (void)state;
    const char *tm = in_dir("many_pools.log");
    const char *out = in_dir("many_pools.html");
    FILE *f = fopen(tm, "w");
    assert_non_null(f);
    for (unsigned round = 0; round < 2; round++) {
        for (unsigned i = 0; i < 300; i++) {
            char name[16];
            snprintf(name, sizeof name, "p%u", i);
            pool_line(f, 1000u + round * 1000u, name, 8, i % 9u, 8);
        }
    }
    fclose(f);
    const char *args[] = {"-o", out, tm};
    assert_int_equal(run_report(3, args), 0);
    char *s = slurp(out);
    assert_non_null(strstr(s, "id=\"pools-time-31\""));
    assert_null(strstr(s, "id=\"pools-time-32\""));
    assert_non_null(strstr(s, ">p255<"));
    assert_null(strstr(s, ">p256<"));
    assert_non_null(strstr(s, "Only the first 256 regions, 256 tasks and 256 pools (by name) are "
                              "shown: 88 lines of others were left out."));
    free(s);
    unlink(tm), unlink(out);
}

/* Two pools whose use changes: one chart of blocks in use over time with
 * both, their capacities, the exhaustion alert, and readouts per time. */
static void test_report_pools_over_time(void **state)
{
    (void)state;
    const char *tm = in_dir("pools.log");
    const char *out = in_dir("pools.html");
    static const uint64_t rx[] = {1, 5, 8, 3, 2}, tx[] = {0, 1, 2, 4, 1};
    FILE *f = fopen(tm, "w");
    assert_non_null(f);
    uint64_t rx_peak = 0, tx_peak = 0;
    for (unsigned i = 0; i < 5; i++) {
        rx_peak = rx[i] > rx_peak ? rx[i] : rx_peak;
        tx_peak = tx[i] > tx_peak ? tx[i] : tx_peak;
        pool_line(f, 1000 + i * 1000u, "rx", 8, rx[i], rx_peak);
        pool_line(f, 1000 + i * 1000u, "tx", 4, tx[i], tx_peak);
        if (i == 2) {
            fprintf(f, "{\"rtmem\":1,\"type\":\"alert\",\"ms\":3000,\"alert\":\"pool_exhausted\","
                       "\"state\":\"raised\",\"source\":\"rx\",\"value\":8,\"threshold\":8}\n");
        }
        if (i == 3) {
            fprintf(f, "{\"rtmem\":1,\"type\":\"alert\",\"ms\":4000,\"alert\":\"pool_exhausted\","
                       "\"state\":\"cleared\",\"source\":\"rx\",\"value\":3,\"threshold\":8}\n");
        }
    }
    fclose(f);
    const char *args[] = {"-o", out, tm};
    assert_int_equal(run_report(3, args), 0);
    char *s = slurp(out);
    char *c = chart_of(s, "pools-time-0");
    assert_non_null(c);
    /* one line per pool with its extremes, and its capacity as a line */
    assert_non_null(strstr(c, "<path class=\"line c0\" data-points=\"5\""));
    assert_non_null(strstr(c, "<path class=\"line c1\" data-points=\"5\""));
    assert_non_null(strstr(c, "<title>rx blocks in use: from 1 to 8 of 8, last 2</title>"));
    assert_non_null(strstr(c, "<title>tx blocks in use: from 0 to 4 of 4, last 1</title>"));
    assert_non_null(strstr(c, "<path class=\"line cap c0\" data-points=\"2\""));
    assert_non_null(strstr(c, "<title>rx capacity: 8 blocks</title>"));
    assert_non_null(strstr(c, "<title>tx capacity: 4 blocks</title>"));
    assert_non_null(strstr(c, ">rx</text>"));
    assert_non_null(strstr(c, ">tx</text>"));
    /* the exhaustion alert as markers */
    assert_non_null(strstr(c, "<g class=\"marker raised\"><title>2.0 s: pool_exhausted raised "
                              "on rx (value 8, threshold 8)</title>"));
    assert_non_null(strstr(c, "<g class=\"marker cleared\"><title>3.0 s: pool_exhausted cleared"));
    /* a readout per sample time, every pool's value in it */
    assert_non_null(strstr(c, "<title>0 s\nrx: 1 of 8 blocks\ntx: 0 of 4 blocks</title>"));
    assert_non_null(strstr(c, "<title>2 s\nrx: 8 of 8 blocks (full)\ntx: 2 of 4 blocks</title>"));
    assert_non_null(strstr(c, "<title>3 s\nrx: 3 of 8 blocks\ntx: 4 of 4 blocks (full)</title>"));
    assert_int_equal(count(c, "class=\"hit\""), 5);
    assert_non_null(strstr(c, ">8</text>"));   /* the y axis ends at the largest capacity */
    assert_null(strstr(c, ">10</text>"));
    free(c);
    /* the peak against capacity bars are still there */
    assert_non_null(strstr(s, "id=\"pools-chart\""));
    free(s);
    unlink(tm), unlink(out);
}

/* The memory, fragmentation and trace charts read their values on hover:
 * one titled column per time (or operation), the exact figures. */
static void test_report_readouts(void **state)
{
    (void)state;
    const char *tm = in_dir("ro.log");
    const char *tr = in_dir("ro.trace");
    const char *out = in_dir("ro.html");
    write_file(tm, telemetry);
    write_trace(tr, 0);
    const char *args[] = {"-o", out, "--budget", "0", tm, tr};
    assert_int_equal(run_report(6, args), 0);
    char *s = slurp(out);
    char *c = chart_of(s, "mem-0");
    assert_non_null(c);
    assert_non_null(strstr(c, "<title>0 s\nlargest block: 19.5 KiB\nfree: 29.3 KiB\n"
                              "minimum free: 27.3 KiB</title>"));
    assert_non_null(strstr(c, "<title>0.5 s\nlargest block: 8.8 KiB\nfree: 24.4 KiB\n"
                              "minimum free: 23.4 KiB</title>"));
    assert_int_equal(count(c, "class=\"hit\""), 2);
    /* the alert marker stays above the readouts: drawn after them */
    assert_true(strstr(c, "class=\"marker raised\"") > strstr(c, "class=\"hit\""));
    free(c);
    c = chart_of(s, "fragmentation-chart");
    assert_non_null(c);
    assert_non_null(strstr(c, "<title>0 s\nDRAM: 33.3%</title>"));
    assert_non_null(strstr(c, "<title>0.5 s\nDRAM: 64.0%</title>"));
    free(c);
    /* the trace: 1200 operations in at most 128 columns; the peak's column
     * names it */
    c = chart_of(s, "trace-1-live");
    assert_non_null(c);
    size_t hits = count(c, "class=\"hit\"");
    assert_true(hits > 64 && hits <= 128);
    uint64_t peak = 0;
    for (int i = 0; i < 400; i++) {
        peak += 16u + (uint64_t)((i * 37) % 300);
    }
    char want[64], b[32];
    snprintf(want, sizeof want, " to %s</title>", rtm_fmt_bytes((double)peak, b, sizeof b));
    const char *at = strstr(c, want);
    assert_non_null(at);
    const char *title = at;
    while (title > c && strncmp(title, "<title>", 7) != 0) {
        title--;
    }
    assert_true(strncmp(title, "<title>operations ", 18) == 0);
    assert_non_null(strstr(title, "\nlive bytes: "));
    free(c);
    free(s);
    unlink(tm), unlink(tr), unlink(out);
}

/* Hours of telemetry: the page stays under the bound docs/report.md
 * states (per chart: its lines' points and at most 128 readouts). */
static void test_report_long_stream_is_bounded(void **state)
{
    (void)state;
    const char *tm = in_dir("long.log");
    const char *out = in_dir("long.html");
    FILE *f = fopen(tm, "w");
    assert_non_null(f);
    /* six hours, a sample every two seconds, values that never repeat */
    uint64_t r = 12345;
    for (uint64_t t = 0; t < 6u * 3600u; t += 2) {
        r = r * 6364136223846793005ull + 1442695040888963407ull;
        uint64_t noise = (r >> 33) % 4096u;
        uint64_t ms = 1000000 + t * 1000u;
        mem_line(f, ms, "DRAM", 20000 + noise, 19000 + noise / 2, 10000 + noise / 3);
        mem_line(f, ms, "PSRAM", 40000 - noise, 30000, 20000);
        pool_line(f, ms, "rx", 64, noise % 65u, 64);
        pool_line(f, ms, "tx", 32, (noise / 7u) % 33u, 32);
    }
    fclose(f);
    const char *args[] = {"-o", out, tm};
    assert_int_equal(run_report(3, args), 0);
    char *s = slurp(out);
    size_t lines = count(s, "<path class=\"line ");
    size_t charts = count(s, "<svg class=\"rtm-chart\"");
    assert_int_equal(count(s, "<path class=\"line c0\" data-points=\""), 2); /* frag and pools */
    assert_non_null(strstr(s, "id=\"pools-time-0\""));
    /* docs/report.md, "Big inputs": 16 KiB around the charts; per chart
     * 16 KiB (its frame and readout rects); per line 56 KiB of path and 128
     * readout rows of 40 bytes plus its name (here at most 13 bytes) */
    size_t bound = 16u * 1024u + charts * 16u * 1024u + lines * (56u * 1024u + 128u * 53u);
    assert_true(strlen(s) < bound);
    for (const char *p = s; (p = strstr(p, "<svg class=\"rtm-chart\"")) != NULL; p++) {
        const char *e = strstr(p, "</svg>");
        size_t n = 0;
        for (const char *h = p; (h = strstr(h, "class=\"hit\"")) != NULL && h < e; h++) {
            n++;
        }
        assert_true(n <= 128u);
    }
    /* and it is the bound that holds, not a small input: the lines are
     * down-sampled, the readouts per chart are many */
    char *c = chart_of(s, "pools-time-0");
    assert_non_null(c);
    assert_true(count(c, "class=\"hit\"") >= 100u);
    free(c);
    free(s);
    unlink(tm), unlink(out);
}

/* Names from the input in the new titles and legends are text. */
static void test_report_pool_names_escaped(void **state)
{
    (void)state;
    const char *tm = in_dir("hostile.log");
    const char *out = in_dir("hostile.html");
    FILE *f = fopen(tm, "w");
    assert_non_null(f);
    /* <b>&"' and a byte that is not UTF-8, as JSON */
    pool_line(f, 1000, "<b>&\\\"'\xff", 4, 1, 1);
    pool_line(f, 2000, "<b>&\\\"'\xff", 4, 4, 4);
    fclose(f);
    const char *args[] = {"-o", out, tm};
    assert_int_equal(run_report(3, args), 0);
    char *s = slurp(out);
    char *c = chart_of(s, "pools-time-0");
    assert_non_null(c);
    const char *esc = "&lt;b&gt;&amp;&quot;&#39;\xef\xbf\xbd";
    char want[160];
    snprintf(want, sizeof want, ">%s</text>", esc);                 /* the legend */
    assert_non_null(strstr(c, want));
    snprintf(want, sizeof want, "<title>%s blocks in use: from 1 to 4 of 4, last 4</title>", esc);
    assert_non_null(strstr(c, want));
    snprintf(want, sizeof want, "<title>1 s\n%s: 4 of 4 blocks (full)</title>", esc);
    assert_non_null(strstr(c, want));
    assert_null(strstr(c, "<b>"));
    assert_null(strstr(c, "\xff"));
    free(c);
    free(s);
    /* nine pools: eight on the first chart, the ninth on a second */
    f = fopen(tm, "w");
    assert_non_null(f);
    for (unsigned i = 0; i < 9; i++) {
        char name[16];
        snprintf(name, sizeof name, "p%u", i);
        pool_line(f, 1000, name, 4, 1, 1);
        pool_line(f, 2000, name, 4, 2, 2);
    }
    fclose(f);
    assert_int_equal(run_report(3, args), 0);
    s = slurp(out);
    c = chart_of(s, "pools-time-0");
    assert_non_null(c);
    assert_non_null(strstr(c, ">p7</text>"));
    assert_null(strstr(c, ">p8</text>"));
    free(c);
    c = chart_of(s, "pools-time-1");
    assert_non_null(c);
    assert_non_null(strstr(c, ">p8</text>"));
    assert_non_null(strstr(c, "<path class=\"line c0\""));
    free(c);
    free(s);
    unlink(tm), unlink(out);
}

static void test_report_usage(void **state)
{
    (void)state;
    const char *none[] = {"--budget", "x", "a"};
    assert_int_equal(run_report(3, none), 2);
    const char *unknown[] = {"--frobnicate", "a"};
    assert_int_equal(run_report(2, unknown), 2);
    assert_int_equal(run_report(0, NULL), 2);
    const char *out = in_dir("nowhere/x.html");
    const char *tm = in_dir("ok.log");
    write_file(tm, telemetry);
    const char *unwritable[] = {"-o", out, tm};
    assert_int_equal(run_report(3, unwritable), 2);
    unlink(tm);
}

int main(void)
{
    snprintf(dir, sizeof dir, "/tmp/rtmem_report_%ld", (long)getpid());
    char cmd[200];
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    if (system(cmd) != 0) {
        return 1;
    }
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_series_small_kept_exactly),
        cmocka_unit_test(test_series_million_points_keep_peak_and_dip),
        cmocka_unit_test(test_series_hostile_values),
        cmocka_unit_test(test_svg_path_maps_and_clamps),
        cmocka_unit_test(test_svg_line_counts_points),
        cmocka_unit_test(test_readouts_rows_merge_and_reach),
        cmocka_unit_test(test_nice_ticks),
        cmocka_unit_test(test_html_escaping),
        cmocka_unit_test(test_heap_map_many_blocks_is_bounded),
        cmocka_unit_test(test_trace_analysis_checked),
        cmocka_unit_test(test_trace_analysis_without_budget_is_labelled),
        cmocka_unit_test(test_trace_analysis_bad_line_keeps_what_came_before),
        cmocka_unit_test(test_report_end_to_end),
        cmocka_unit_test(test_report_malformed_line_keeps_the_rest),
        cmocka_unit_test(test_trace_analysis_tiny_budget_keeps_the_baseline),
        cmocka_unit_test(test_trace_analysis_cuts_a_slow_strategy),
        cmocka_unit_test(test_report_inputs_merge),
        cmocka_unit_test(test_report_trace_in_a_log),
        cmocka_unit_test(test_report_bad_elf),
        cmocka_unit_test(test_report_is_deterministic),
        cmocka_unit_test(test_report_usage),
        cmocka_unit_test(test_report_pools_over_time),
        cmocka_unit_test(test_report_pools_past_the_limit_are_named),
        cmocka_unit_test(test_report_readouts),
        cmocka_unit_test(test_report_long_stream_is_bounded),
        cmocka_unit_test(test_report_pool_names_escaped),
    };
    int rc = cmocka_run_group_tests(tests, NULL, NULL);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    (void)system(cmd);
    return rc;
}
