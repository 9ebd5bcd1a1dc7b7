/*
 * rtmem export's pieces (tools/rtmem/export_chrome.c, export_folded.c):
 *  - the clock: 32-bit wraps unwrapped, jitter held, a restart continues,
 *    absurd times capped without overflow, untimed events 1 us apart;
 *  - frame escaping: ';' '%' control bytes and invalid UTF-8 as %XX, valid
 *    UTF-8 kept, a full buffer never cut inside an escape;
 *  - the chrome reader: an error names FILE:LINE and the JSON is still
 *    closed; lenient counts; log lines skipped; trace lines only after the
 *    header;
 *  - folded stacks: callers reversed (root first), equal stacks merged and
 *    sorted, root frames, the peak, a pipe refused at the peak;
 *  - the command at the peak: the input's warnings printed once though it
 *    is read twice, and a dump cut off after the peak still exits 3.
 * tests/export_check.py checks the whole command's output against the
 * formats.
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
#include "export_chrome.h"
#include "export_folded.h"
#include "support/tool_capture.h"

/* ------------------------------------------------------------------ */
/* Clock                                                               */

static void test_clock_wraps_and_restarts(void **state)
{
    (void)state;
    rtm_xclock_t c;
    rtm_xclock_step_t s;
    rtm_xclock_init(&c);
    assert_int_equal(rtm_xclock_ms(&c, 4294967000u, &s), UINT64_C(4294967000000));
    assert_int_equal(s, RTM_XCLOCK_FIRST);
    assert_int_equal(rtm_xclock_ms(&c, 4294967295u, &s), UINT64_C(4294967295000));
    assert_int_equal(s, RTM_XCLOCK_FORWARD);
    /* the 32-bit ms counter wrapped: 2^32 ms are added from now on */
    assert_int_equal(rtm_xclock_ms(&c, 10u, &s), (UINT64_C(1) << 32) * 1000u + 10000u);
    assert_int_equal(s, RTM_XCLOCK_WRAPPED);
    assert_int_equal(rtm_xclock_ms(&c, 1010u, &s), (UINT64_C(1) << 32) * 1000u + 1010000u);
    /* back by 1000 ms: jitter, held where it was */
    assert_int_equal(rtm_xclock_ms(&c, 10u, &s), (UINT64_C(1) << 32) * 1000u + 1010000u);
    assert_int_equal(s, RTM_XCLOCK_JITTER);
    /* the time after jitter counts from the same base again */
    assert_int_equal(rtm_xclock_ms(&c, 2010u, &s), (UINT64_C(1) << 32) * 1000u + 2010000u);
    /* back by more: a restart, continuing from the last time */
    assert_int_equal(rtm_xclock_ms(&c, 5u, &s), (UINT64_C(1) << 32) * 1000u + 2010000u);
    assert_int_equal(s, RTM_XCLOCK_RESTARTED);
    assert_int_equal(rtm_xclock_ms(&c, 7u, &s), (UINT64_C(1) << 32) * 1000u + 2012000u);
    assert_int_equal(s, RTM_XCLOCK_FORWARD);
}

static void test_clock_never_overflows(void **state)
{
    (void)state;
    rtm_xclock_t c;
    rtm_xclock_init(&c);
    assert_int_equal(rtm_xclock_ms(&c, UINT64_MAX, NULL), RTM_XCLOCK_MAX_US);
    assert_int_equal(rtm_xclock_ms(&c, UINT64_MAX - 1u, NULL), RTM_XCLOCK_MAX_US);
    assert_int_equal(rtm_xclock_untimed(&c), RTM_XCLOCK_MAX_US);
    /* a restart from the cap, then wraps again and again: still capped */
    assert_int_equal(rtm_xclock_ms(&c, 0, NULL), RTM_XCLOCK_MAX_US);
    uint64_t last = 0;
    rtm_xclock_init(&c);
    for (int i = 0; i < 5000; i++) {
        uint64_t t = rtm_xclock_ms(&c, (i % 2) ? 0u : 4294967295u, NULL);
        assert_true(t >= last);
        assert_true(t <= RTM_XCLOCK_MAX_US);
        last = t;
    }
    assert_int_equal(last, RTM_XCLOCK_MAX_US);
}

static void test_clock_untimed(void **state)
{
    (void)state;
    rtm_xclock_t c;
    rtm_xclock_init(&c);
    assert_int_equal(rtm_xclock_untimed(&c), 0);
    assert_int_equal(rtm_xclock_untimed(&c), 1);
    assert_int_equal(rtm_xclock_ms(&c, 5u, NULL), 5000u);
    assert_int_equal(rtm_xclock_untimed(&c), 5001u);
    /* a timed event in the same ms does not go back */
    assert_int_equal(rtm_xclock_ms(&c, 5u, NULL), 5001u);
}

/* ------------------------------------------------------------------ */
/* Frames                                                              */

static const char *frame(const char *s, size_t len, size_t cap)
{
    static char buf[256];
    size_t pos = 0;
    buf[0] = '\0';
    rtm_folded_frame(buf, cap, &pos, s, len);
    assert_int_equal(pos, strlen(buf));
    return buf;
}

static void test_frame_escaping(void **state)
{
    (void)state;
    assert_string_equal(frame("main", 4, 256), "main");
    assert_string_equal(frame("a;b", 3, 256), "a%3Bb");
    assert_string_equal(frame("100%", 4, 256), "100%25");
    assert_string_equal(frame("l1\nl2\r\t", 7, 256), "l1%0Al2%0D%09");
    assert_string_equal(frame("\x7f\x01", 2, 256), "%7F%01");
    assert_string_equal(frame("t\xc3\xa9st", 5, 256), "t\xc3\xa9st");
    assert_string_equal(frame("bad\xff\xc3", 5, 256), "bad%FF%C3");
    assert_string_equal(frame("\xed\xa0\x80", 3, 256), "%ED%A0%80"); /* a surrogate */
    assert_string_equal(frame("a\0b", 3, 256), "a%00b");
    assert_string_equal(frame("", 0, 256), "?");
    assert_string_equal(frame("operator new(unsigned long)", 27, 256),
                        "operator new(unsigned long)");
}

static void test_frame_never_cut_inside_an_escape(void **state)
{
    (void)state;
    assert_string_equal(frame("ab;", 3, 5), "ab");   /* "%3B" needs 3 + NUL */
    assert_string_equal(frame("ab;", 3, 6), "ab%3B");
    assert_string_equal(frame("x\xc3\xa9", 3, 3), "x"); /* not half of é */
    assert_string_equal(frame("x\xc3\xa9", 3, 4), "x\xc3\xa9");
    assert_string_equal(frame(";", 1, 1), "");
}

/* ------------------------------------------------------------------ */
/* Chrome reader                                                       */

static char g_path[64];

static FILE *input(const char *text)
{
    (void)snprintf(g_path, sizeof g_path, "/tmp/rtm_export_%ld.in", (long)getpid());
    FILE *f = fopen(g_path, "w+");
    assert_non_null(f);
    fputs(text, f);
    rewind(f);
    return f;
}

/* Runs the reader on text; the JSON written goes to out[cap]. */
static int chrome(const char *text, bool lenient, rtm_chrome_counts_t *counts, char *err,
                  char *out, size_t cap)
{
    FILE *in = input(text);
    FILE *o = tmpfile();
    assert_non_null(o);
    rtm_chrome_t w;
    rtm_chrome_begin(&w, o);
    int rc = rtm_chrome_read(&w, in, "in.log", 1, lenient, counts, err, RTM_LINE_ERR_MAX);
    assert_int_equal(rtm_chrome_end(&w), 0);
    assert_int_equal(rtm_chrome_end(&w), 0); /* closes once */
    rewind(o);
    size_t n = fread(out, 1, cap - 1u, o);
    out[n] = '\0';
    fclose(o);
    fclose(in);
    remove(g_path);
    return rc;
}

static const char k_end[] = "\n],\"displayTimeUnit\":\"ms\"}\n";

static bool ends_closed(const char *out)
{
    size_t n = strlen(out), e = strlen(k_end);
    return n >= e && strcmp(out + n - e, k_end) == 0 && strncmp(out, "{\"traceEvents\":[", 16) == 0;
}

static void test_chrome_error_closes_the_json(void **state)
{
    (void)state;
    static char out[8192];
    char err[RTM_LINE_ERR_MAX];
    rtm_chrome_counts_t c;
    int rc = chrome("{\"rtmem\":1,\"type\":\"pool\",\"ms\":5,\"seq\":1,\"name\":\"p\",\"block\":8,"
                    "\"capacity\":4,\"used\":2,\"peak\":2,\"failed\":0,\"waits\":0,\"alerts\":0}\n"
                    "{\"rtmem\":1,\"type\":\"pool\",\"ms\":6,\"name\":\"p\"}\n"
                    "{\"rtmem\":1,\"type\":\"pool\",\"ms\":7,\"seq\":1,\"name\":\"p\",\"block\":8,"
                    "\"capacity\":4,\"used\":3,\"peak\":2,\"failed\":0,\"waits\":0,\"alerts\":0}\n",
                    false, &c, err, out, sizeof out);
    assert_int_equal(rc, -1);
    assert_non_null(strstr(err, "in.log:2: "));
    assert_true(ends_closed(out));
    assert_non_null(strstr(out, "\"pool p used\",\"ph\":\"C\",\"ts\":5000,"));
    assert_null(strstr(out, "\"ts\":7000"));
    assert_int_equal(c.telemetry, 2);
}

static void test_chrome_trace_needs_its_header(void **state)
{
    (void)state;
    static char out[8192];
    char err[RTM_LINE_ERR_MAX];
    rtm_chrome_counts_t c;
    /* before the header, "a b c" is a log line; after it, an error */
    assert_int_equal(chrome("a log line\nf 1\n# rtmem-trace 1\na 1 16 heap=h\n", false, &c, err,
                            out, sizeof out),
                     0);
    assert_int_equal(c.log_lines, 2);
    assert_int_equal(c.trace_events, 1);
    assert_non_null(strstr(out, "\"trace heap h live\",\"ph\":\"C\",\"ts\":0,"));
    assert_int_equal(chrome("# rtmem-trace 1\na 1 16\na b c\n", false, &c, err, out, sizeof out),
                     -1);
    assert_non_null(strstr(err, "in.log:3: "));
    assert_true(ends_closed(out));
    assert_int_equal(chrome("# rtmem-trace 2\na 1 16\n", false, &c, err, out, sizeof out), -1);
    assert_non_null(strstr(err, "in.log:1: "));
}

/* t= is a decimal of at most 64 bits (rtm_parse_u64): 2^64 - 1 is a time
 * (capped at 2^53 us), 2^64 and a sign are not (the event is then placed
 * as an untimed one: 1 us after the one before, here at 0) */
static void test_chrome_time_bounds(void **state)
{
    (void)state;
    static char out[8192];
    char err[RTM_LINE_ERR_MAX];
    rtm_chrome_counts_t c;
    static const struct {
        const char *t;
        const char *ts;
    } cases[] = {
        {"18446744073709551615", "\"ts\":9007199254740992,"},
        {"18446744073709551610", "\"ts\":9007199254740992,"},
        {"0018446744073709551615", "\"ts\":9007199254740992,"},
        {"5", "\"ts\":5000,"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[128];
        (void)snprintf(text, sizeof text, "# rtmem-trace 1\na 1 16 t=%s\n", cases[i].t);
        assert_int_equal(chrome(text, false, &c, err, out, sizeof out), 0);
        if (strstr(out, cases[i].ts) == NULL) {
            fail_msg("t=%s: no %s in %s", cases[i].t, cases[i].ts, out);
        }
    }
    /* t= that is no decimal number of 64 bits: the trace reader refuses
     * the line, as replay and leaks do */
    static const char *const bad[] = {"18446744073709551616", "99999999999999999999", "+5", "5x"};
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        char text[128];
        (void)snprintf(text, sizeof text, "# rtmem-trace 1\na 1 16 t=%s\n", bad[i]);
        assert_int_not_equal(chrome(text, false, &c, err, out, sizeof out), 0);
        if (strstr(err, "in.log:2: t value") == NULL) {
            fail_msg("t=%s: '%s'", bad[i], err);
        }
    }
}

/* t= with more leading zeros than a short copy of the field holds: the
 * trace reader accepts them (leading zeros are fine in every number), so
 * the time is that of the digits after them, never a time read from the
 * zeros alone (which put 42 ms at 0, behind the line before it). */
static void test_chrome_time_after_many_leading_zeros(void **state)
{
    (void)state;
    static char out[8192];
    char err[RTM_LINE_ERR_MAX];
    rtm_chrome_counts_t c;
    const char *t = "# rtmem-trace 1\na 1 16 t=5\n"
                    "a 2 16 t=0000000000000000000000000000000042\n"
                    "f 1 t=00000000000000000000000000000000000000000000000000050\n";
    assert_int_equal(chrome(t, false, &c, err, out, sizeof out), 0);
    const char *at5 = strstr(out, "\"ts\":5000,");
    assert_non_null(at5);
    const char *at42 = strstr(at5, "\"ts\":42000,");
    if (at42 == NULL) {
        fail_msg("no \"ts\":42000 after 5000 in %s", out);
    }
    assert_non_null(strstr(at42, "\"ts\":50000,"));
    assert_null(strstr(out, "clock restarted"));
}

static void test_chrome_lenient_counts(void **state)
{
    (void)state;
    static char out[8192];
    char err[RTM_LINE_ERR_MAX];
    rtm_chrome_counts_t c;
    const char *t = "# rtmem-trace 1\na 1 10\nf 9\nr 8 2 5\na 1 4\nr 1 1 20\nf 1\na 3 1";
    assert_int_equal(chrome(t, false, &c, err, out, sizeof out), -1);
    assert_non_null(strstr(err, "in.log:3: free of ID 9"));
    assert_int_equal(chrome(t, true, &c, err, out, sizeof out), 0);
    assert_int_equal(c.skipped.unknown_free, 1);
    assert_int_equal(c.skipped.unknown_realloc, 1);
    assert_int_equal(c.skipped.reused_id, 1);
    assert_int_equal(c.trace_events, 4);
    /* r 1 1 20 in place: 10 - 10 + 20 */
    assert_non_null(strstr(out, "\"args\":{\"bytes\":20}"));
    assert_true(ends_closed(out));
}

/* ------------------------------------------------------------------ */
/* Folded                                                              */

/* The record of one trace line, read as `rtmem leaks` reads it into in
 * (its caller chain, site, heap and task are what the stack is made of). */
static const lk_record_t *rec(lk_input_t *in, const char *line)
{
    if (in->format != LK_FMT_RTMEM) {
        assert_int_equal(lk_parse_line(in, "# rtmem-trace 1", 0), 0);
    }
    assert_int_equal(lk_parse_line(in, line, 0), 0);
    assert_true(in->nrec > 0 && in->rec[in->nrec - 1u].in_use);
    return &in->rec[in->nrec - 1u];
}

static const char *written(rtm_folded_t *s, size_t *lines)
{
    static char out[4096];
    FILE *o = tmpfile();
    assert_non_null(o);
    *lines = rtm_folded_write(s, o);
    rewind(o);
    size_t n = fread(out, 1, sizeof out - 1u, o);
    out[n] = '\0';
    fclose(o);
    return out;
}

static void test_folded_stacks(void **state)
{
    (void)state;
    lk_input_t in;
    lk_input_init(&in, "t");
    const lk_record_t *a =
        rec(&in, "a 1 40 heap=dram task=wifi caller=0x400d1234:0x400d5678 site=wifi.c:88");
    const lk_record_t *b =
        rec(&in, "a 2 60 heap=dram task=net caller=0x400d1234:0x400d5678 site=wifi.c:88");
    const lk_record_t *c = rec(&in, "a 3 7");
    const lk_record_t *d = rec(&in, "a 4 5 heap=ps;ram task=x caller=0x400d1234");
    rtm_folded_t s;
    rtm_folded_init(&s);
    assert_int_equal(rtm_folded_add(&s, a, false, RTM_FOLDED_ROOT_HEAP, NULL, 0), 0);
    assert_int_equal(rtm_folded_add(&s, c, false, RTM_FOLDED_ROOT_HEAP, NULL, 0), 0);
    assert_int_equal(rtm_folded_add(&s, b, false, RTM_FOLDED_ROOT_HEAP, NULL, 0), 0);
    assert_int_equal(rtm_folded_add(&s, d, false, RTM_FOLDED_ROOT_HEAP, NULL, 0), 0);
    assert_int_equal(s.total, 112);
    size_t lines;
    assert_string_equal(written(&s, &lines), "heap:?;[no caller] 7\n"
                                             "heap:dram;0x400d5678;0x400d1234;wifi.c:88 100\n"
                                             "heap:ps%3Bram;0x400d1234 5\n");
    assert_int_equal(lines, 3);
    rtm_folded_free(&s);

    rtm_folded_init(&s);
    assert_int_equal(rtm_folded_add(&s, a, false, RTM_FOLDED_ROOT_TASK, NULL, 0), 0);
    assert_int_equal(rtm_folded_add(&s, b, true, RTM_FOLDED_ROOT_TASK, NULL, 0), 0);
    assert_int_equal(rtm_folded_add(&s, c, false, RTM_FOLDED_ROOT_NONE, NULL, 0), 0);
    assert_string_equal(written(&s, &lines), "[no caller] 7\n"
                                             "cpu:net;0x400d5678;0x400d1234;wifi.c:88 60\n"
                                             "task:wifi;0x400d5678;0x400d1234;wifi.c:88 40\n");
    rtm_folded_free(&s);
    lk_input_free(&in);
}

static void test_folded_symbols(void **state)
{
    (void)state;
    sym_entry_t syms[3];
    memset(syms, 0, sizeof syms);
    syms[0].addr = 0x10;
    (void)snprintf(syms[0].function, sizeof syms[0].function, "leaf;fn");
    syms[1].addr = 0x20;
    (void)snprintf(syms[1].function, sizeof syms[1].function, "??");
    syms[2].addr = 0x30;
    (void)snprintf(syms[2].function, sizeof syms[2].function, "main");
    rtm_folded_t s;
    rtm_folded_init(&s);
    lk_input_t in;
    lk_input_init(&in, "t");
    const lk_record_t *r = rec(&in, "a 1 9 heap=h caller=0x10:0x20:0x30");
    assert_int_equal(rtm_folded_add(&s, r, false, RTM_FOLDED_ROOT_NONE, syms, 3), 0);
    size_t lines;
    assert_string_equal(written(&s, &lines), "main;0x20;leaf%3Bfn 9\n");
    rtm_folded_free(&s);
    lk_input_free(&in);
}

static void test_folded_peak(void **state)
{
    (void)state;
    FILE *f = input("# rtmem-trace 1\na 1 100\na 2 50\nf 1\na 3 120\nf 2\nf 3\na 4 1\n");
    lk_input_t in;
    lk_input_init(&in, "t");
    assert_int_equal(rtm_folded_read(&in, f, RTM_FOLDED_AT_PEAK), 0);
    assert_int_equal(rtm_sum64_get(&in.live_bytes), 170); /* after "a 3 120": blocks 2 and 3 */
    lk_input_free(&in);
    rewind(f);
    lk_input_init(&in, "t");
    assert_int_equal(rtm_folded_read(&in, f, RTM_FOLDED_AT_END), 0);
    assert_int_equal(rtm_sum64_get(&in.live_bytes), 1);
    lk_input_free(&in);
    fclose(f);
    remove(g_path);

    int fds[2];
    assert_int_equal(pipe(fds), 0);
    const char text[] = "# rtmem-trace 1\na 1 100\n";
    assert_int_equal(write(fds[1], text, sizeof text - 1u), (ssize_t)(sizeof text - 1u));
    close(fds[1]);
    FILE *p = fdopen(fds[0], "r");
    assert_non_null(p);
    lk_input_init(&in, "pipe");
    assert_int_equal(rtm_folded_read(&in, p, RTM_FOLDED_AT_PEAK), -1);
    assert_non_null(strstr(in.err, "pipe: cannot read it again"));
    lk_input_free(&in);
    fclose(p);
}

/* Occurrences of needle in hay. */
static size_t count_of(const char *hay, const char *needle)
{
    size_t n = 0;
    for (const char *p = strstr(hay, needle); p != NULL; p = strstr(p + 1, needle)) {
        n++;
    }
    return n;
}

/* `rtmem export --format folded --at WHEN` on text; stdout into out,
 * stderr into err (4096 bytes each). */
static int export_folded_at(const char *when, const char *text, char *out, char *err)
{
    FILE *f = input(text);
    fclose(f);
    char out_path[96], err_path[96];
    (void)snprintf(out_path, sizeof out_path, "%s.out", g_path);
    (void)snprintf(err_path, sizeof err_path, "%s.err", g_path);
    char *argv[] = {(char *)"export", (char *)"--format", (char *)"folded", (char *)"--at",
                    (char *)(uintptr_t)when, g_path, NULL};
    const ts_capture_t c = {.out_path = out_path, .err_path = err_path, .out = out,
                            .out_cap = 4096, .err = err, .err_cap = 4096};
    int rc = ts_capture_command(&c, rtm_cmd_export, 6, argv);
    remove(g_path);
    return rc;
}

static void test_folded_peak_warns_once(void **state)
{
    (void)state;
    static char out[4096], err[4096];
    /* line 3 ends in "..." but its required part is broken: refused as
     * replay refuses it, the message once, whether the blocks are taken at
     * the end or at the peak */
    static const char damaged[] = "# rtmem-trace 1\na 1 100\na 2 zz...\na 3 50\nf 1\na 4 10\n";
    static const char *const whens[] = {"end", "peak"};
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(export_folded_at(whens[i], damaged, out, err), 2);
        assert_int_equal(count_of(err, ":3: SIZE 'zz...' is not a decimal number"), 1);
        assert_int_equal(count_of(err, "warning"), 0);
    }
    /* an ESP-IDF dump whose header promises 3 records and that ends after 2
     * without its summary: that is found when the input ends, which the
     * second reading (it stops at the peak) never reaches; cut off at the
     * peak as at the end, each warning once */
    static const char cut[] =
        "3 allocations trace (100 entry buffer)\n"
        "40 bytes (@ 0x3ffb2000) allocated CPU 0 ccount 0x00001235 caller 0x400d1234:0x400d5678\n"
        "8 bytes (@ 0x3ffb3000) allocated CPU 1 ccount 0x00002001 caller 0x400d1234:0x400d5678\n";
    for (size_t i = 0; i < 2; i++) {
        assert_int_equal(export_folded_at(whens[i], cut, out, err), 3);
        assert_string_equal(out, "heap:?;0x400d5678;0x400d1234 48\n");
        assert_int_equal(count_of(err, "warning: the heap trace dump ends without its summary\n"), 1);
        assert_int_equal(count_of(err, "warning: the dump's header says 3 records, 2 record lines"), 1);
        assert_int_equal(count_of(err, "warning: incomplete dump (the dump has no summary"), 1);
        assert_int_equal(count_of(err, "warning"), 3);
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_clock_wraps_and_restarts),
        cmocka_unit_test(test_clock_never_overflows),
        cmocka_unit_test(test_clock_untimed),
        cmocka_unit_test(test_frame_escaping),
        cmocka_unit_test(test_frame_never_cut_inside_an_escape),
        cmocka_unit_test(test_chrome_error_closes_the_json),
        cmocka_unit_test(test_chrome_trace_needs_its_header),
        cmocka_unit_test(test_chrome_time_bounds),
        cmocka_unit_test(test_chrome_time_after_many_leading_zeros),
        cmocka_unit_test(test_chrome_lenient_counts),
        cmocka_unit_test(test_folded_stacks),
        cmocka_unit_test(test_folded_symbols),
        cmocka_unit_test(test_folded_peak),
        cmocka_unit_test(test_folded_peak_warns_once),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
