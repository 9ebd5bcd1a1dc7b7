/*
 * The rtmem tool's input discipline, the same for every command (replay,
 * compare, leaks): the strict line reader (tools/rtmem/line_reader.c: NUL
 * bytes, over-long lines, empty input, CR, lines across read chunks),
 * numbers over 64 bits, range-checked option values, and the escaping of
 * input text on its way to the terminal and into JSON
 * (tools/rtmem/escape.c), with valid UTF-8 passed through; the hex
 * decoder and the one environment variable read as a number
 * (RTMEM_PROGRESS_DELAY_MS).
 * Each command runs in this process with stdout and stderr captured.
 */
#define _POSIX_C_SOURCE 200809L
#define _XOPEN_SOURCE 700 /* posix_openpt */
#include <fcntl.h>
#include <inttypes.h>
#include <poll.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <cmocka.h>

#include "commands.h"
#include "escape.h"
#include "leaks.h"
#include "line_reader.h"
#include "progress.h"
#include "replay.h"
#include "support/tool_capture.h"

static ts_scratch_t g_scratch;
static char g_path[128];
static char g_out[65536];
static char g_err[65536];

static int setup(void **state)
{
    (void)state;
    return ts_scratch_make(&g_scratch, "rtm_tool_input");
}

static int teardown(void **state)
{
    (void)state;
    static const char *const names[] = {"in.txt", "out.txt", "err.txt"};
    return ts_scratch_remove(&g_scratch, names, sizeof names / sizeof names[0]);
}

static const char *write_bytes(const char *text, size_t len)
{
    assert_int_equal(ts_scratch_path(&g_scratch, "in.txt", g_path, sizeof g_path), 0);
    FILE *f = fopen(g_path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
    return g_path;
}

static const char *write_str(const char *text)
{
    return write_bytes(text, strlen(text));
}

/* Runs fn with argv {cmd, file, extra...}; stdout into g_out, stderr into g_err. */
static int run(int (*fn)(int, char **), const char *cmd, const char *file, const char *x1,
               const char *x2)
{
    char *argv[6];
    int argc = 0;
    argv[argc++] = (char *)(uintptr_t)cmd;
    if (file != NULL) {
        argv[argc++] = (char *)(uintptr_t)file;
    }
    if (x1 != NULL) {
        argv[argc++] = (char *)(uintptr_t)x1;
    }
    if (x2 != NULL) {
        argv[argc++] = (char *)(uintptr_t)x2;
    }
    argv[argc] = NULL;
    char out_path[128], err_path[128];
    assert_int_equal(ts_scratch_path(&g_scratch, "out.txt", out_path, sizeof out_path), 0);
    assert_int_equal(ts_scratch_path(&g_scratch, "err.txt", err_path, sizeof err_path), 0);
    const ts_capture_t c = {.out_path = out_path, .err_path = err_path, .out = g_out,
                            .out_cap = sizeof g_out, .err = g_err, .err_cap = sizeof g_err};
    return ts_capture_command(&c, fn, argc, argv);
}

typedef struct command {
    int (*fn)(int, char **);
    const char *name;
} command_t;

static const command_t commands[] = {
    {rtm_cmd_replay, "replay"},
    {rtm_cmd_compare, "compare"},
    {rtm_cmd_leaks, "leaks"},
};

#define NCOMMANDS (sizeof commands / sizeof commands[0])

/* Every command: exit 2, stderr names "FILE:LINE: " and holds what. The
 * input is an rtmem trace, so leaks reads it like replay does. */
static void expect_all_refuse(const char *text, size_t len, unsigned long line, const char *what)
{
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const char *path = write_bytes(text, len);
        int rc = run(commands[i].fn, commands[i].name, path, NULL, NULL);
        char prefix[192];
        if (line != 0) {
            (void)snprintf(prefix, sizeof prefix, "%s:%lu: ", path, line);
        } else {
            (void)snprintf(prefix, sizeof prefix, "%s: ", path);
        }
        if (rc != 2 || strstr(g_err, prefix) == NULL || strstr(g_err, what) == NULL) {
            fail_msg("%s: expected exit 2 and '%s...%s', got %d and '%s'", commands[i].name,
                     prefix, what, rc, g_err);
        }
    }
}

/* --- the line reader ------------------------------------------------------- */

static int read_lines(const char *text, size_t len, char lines[][64], size_t max, size_t *n,
                      char *err, size_t errlen)
{
    const char *path = write_bytes(text, len);
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    rtm_line_reader_t *r = malloc(sizeof *r);
    assert_non_null(r);
    rtm_line_reader_init(r, f, "in.txt");
    size_t l;
    int rc;
    *n = 0;
    while ((rc = rtm_line_next(r, &l)) > 0) {
        assert_true(*n < max);
        assert_int_equal(strlen(r->text), l);
        char *dst = lines[(*n)++];
        size_t keep = l < 40u ? l : 40u; /* long lines: their start is enough */
        memcpy(dst, r->text, keep);
        (void)snprintf(dst + keep, 64u - keep, "%s", r->unterminated ? "<EOF>" : "");
    }
    (void)snprintf(err, errlen, "%s", r->err);
    assert_int_equal(rtm_line_next(r, &l), rc); /* stays at its end or error */
    free(r);
    fclose(f);
    return rc;
}

static void test_line_reader(void **state)
{
    (void)state;
    char lines[8][64];
    char err[RTM_LINE_ERR_MAX];
    size_t n;
    assert_int_equal(read_lines("a\r\n\r\nb\rc\nlast", 13, lines, 8, &n, err, sizeof err), 0);
    assert_int_equal(n, 4);
    assert_string_equal(lines[0], "a");
    assert_string_equal(lines[1], "");
    assert_string_equal(lines[2], "b\rc"); /* only a CR before LF is a line end */
    assert_string_equal(lines[3], "last<EOF>");

    /* empty input, with and without blank lines, is an error without a line */
    assert_int_equal(read_lines("", 0, lines, 8, &n, err, sizeof err), -1);
    assert_string_equal(err, "in.txt: empty input (0 bytes): nothing to read");
    assert_int_equal(read_lines(" \r\n\t\n\n", 6, lines, 8, &n, err, sizeof err), -1);
    assert_int_equal(n, 3);
    assert_non_null(strstr(err, "in.txt: empty input (only blank lines)"));

    /* a NUL byte: the line and the column */
    assert_int_equal(read_lines("ok\nab\0c\nnext\n", 13, lines, 8, &n, err, sizeof err), -1);
    assert_int_equal(n, 1);
    assert_string_equal(err, "in.txt:2: NUL byte at column 3 (binary or damaged input)");
    assert_int_equal(read_lines("ok\n\0", 4, lines, 8, &n, err, sizeof err), -1);
    assert_non_null(strstr(err, "in.txt:2: NUL byte at column 1"));

    /* RTM_LINE_MAX bytes (plus a CR) pass; one more is refused; both across
     * the reader's chunks (lines start at odd offsets) */
    size_t big = 5u * RTM_LINE_CHUNK;
    char *text = malloc(big);
    assert_non_null(text);
    size_t at = 0;
    text[at++] = 'x';
    text[at++] = '\n';
    for (int k = 0; k < 3; k++) {
        memset(text + at, 'y', RTM_LINE_MAX);
        at += RTM_LINE_MAX;
        text[at++] = '\r';
        text[at++] = '\n';
    }
    size_t ok_len = at;
    assert_int_equal(read_lines(text, ok_len, lines, 8, &n, err, sizeof err), 0);
    assert_int_equal(n, 4);
    memset(text + at, 'z', RTM_LINE_MAX + 1u);
    at += RTM_LINE_MAX + 1u;
    text[at++] = '\n';
    assert_int_equal(read_lines(text, at, lines, 8, &n, err, sizeof err), -1);
    assert_string_equal(err, "in.txt:5: line longer than 4096 bytes");
    /* the same as the unterminated last line */
    assert_int_equal(read_lines(text, at - 1u, lines, 8, &n, err, sizeof err), -1);
    assert_string_equal(err, "in.txt:5: line longer than 4096 bytes");
    free(text);
}

/* --- every command, the same answer -------------------------------------------- */

static void test_every_command_strict(void **state)
{
    (void)state;
    static const char nul[] = "# rtmem-trace 1\na 1 10\nf 1\0 junk\na 2 20\n";
    expect_all_refuse(nul, sizeof nul - 1u, 3, "NUL byte at column 4");
    expect_all_refuse("", 0, 0, "empty input (0 bytes)");
    expect_all_refuse("\n  \r\n", 5, 0, "empty input (only blank lines)");

    /* a header alone is a trace without events, not empty input; blank
     * lines may hold spaces and tabs */
    for (size_t i = 0; i < NCOMMANDS; i++) {
        const char *path = write_str("# rtmem-trace 1\n");
        assert_int_equal(run(commands[i].fn, commands[i].name, path, NULL, NULL), 0);
        path = write_str("# rtmem-trace 1\na 1 10\n \t \nf 1\n");
        assert_int_equal(run(commands[i].fn, commands[i].name, path, NULL, NULL), 0);
    }

    /* an over-long line before a leaked block: refused, not skipped */
    size_t len = RTM_LINE_MAX + 64u;
    char *text = malloc(len + 64u);
    assert_non_null(text);
    strcpy(text, "# rtmem-trace 1\n# ");
    size_t at = strlen(text);
    memset(text + at, 'c', RTM_LINE_MAX);
    at += RTM_LINE_MAX;
    strcpy(text + at, "\na 7 100\n");
    expect_all_refuse(text, strlen(text), 2, "line longer than 4096 bytes");
    free(text);

    /* a number over 64 bits never wraps: replay and leaks read an rtmem
     * trace line with the same reader, so both say "too large" of line 3 */
    const char *wide = write_str("# rtmem-trace 1\na 1 10\na 2 99999999999999999999\n");
    assert_int_equal(run(rtm_cmd_replay, "replay", wide, NULL, NULL), 2);
    assert_non_null(strstr(g_err, ":3: SIZE '99999999999999999999' is too large"));
    assert_int_equal(run(rtm_cmd_leaks, "leaks", wide, NULL, NULL), 2);
    assert_non_null(strstr(g_err, ":3: SIZE '99999999999999999999' is too large"));
    /* UINT64_MAX itself is a number */
    const char *max = write_str("# rtmem-trace 1\na 1 18446744073709551615\n");
    assert_int_equal(run(rtm_cmd_leaks, "leaks", max, "--json", NULL), 1);
    assert_non_null(strstr(g_out, "\"bytes\":18446744073709551615"));
}

/* --- one rule for a cut or odd capture, every reading command ------------------ */

/* Every command that reads a capture, as a user runs it on one file. */
typedef struct reader_cmd {
    int (*fn)(int, char **);
    const char *name;
    const char *x1, *x2;
} reader_cmd_t;

static const reader_cmd_t readers[] = {
    {rtm_cmd_replay, "replay", NULL, NULL},
    {rtm_cmd_compare, "compare", NULL, NULL},
    {rtm_cmd_leaks, "leaks", NULL, NULL},
    {rtm_cmd_export, "export", "--format", "folded"},
    {rtm_cmd_export, "export", "--format", "chrome"},
    {rtm_cmd_report, "report", "-o", NULL}, /* x2: the page, in the scratch directory */
};

#define NREADERS (sizeof readers / sizeof readers[0])

static int run_reader(const reader_cmd_t *c, const char *path)
{
    char page[128];
    const char *x2 = c->x2;
    if (c->fn == rtm_cmd_report) {
        assert_int_equal(ts_scratch_path(&g_scratch, "out.txt", page, sizeof page), 0);
        x2 = page;
    }
    return run(c->fn, c->name, path, c->x1, x2);
}

/* Every reading command: exit 2 and "FILE:LINE: ...what" on stderr. */
static void expect_readers_refuse(const char *text, size_t len, unsigned long line,
                                  const char *what)
{
    for (size_t i = 0; i < NREADERS; i++) {
        const char *path = write_bytes(text, len);
        int rc = run_reader(&readers[i], path);
        char prefix[192];
        (void)snprintf(prefix, sizeof prefix, "%s:%lu: ", path, line);
        const char *at = strstr(g_err, prefix);
        if (rc != 2 || at == NULL || strstr(at, what) == NULL) {
            fail_msg("%s %s: expected exit 2 and '%s...%s', got %d and '%s'", readers[i].name,
                     readers[i].x2 != NULL ? readers[i].x2 : "", prefix, what, rc, g_err);
        }
    }
}

/* A telemetry capture cut inside its last line (the device stopped while
 * writing): every command skips that line and reads the rest, where some
 * failed with the telemetry parser's "unterminated string". */
static void test_cut_last_telemetry_line_one_verdict(void **state)
{
    (void)state;
    static const char cut[] =
        "{\"rtmem\":1,\"type\":\"trace\",\"ms\":1,\"line\":\"# rtmem-trace 1\"}\n"
        "{\"rtmem\":1,\"type\":\"trace\",\"ms\":2,\"line\":\"a 1 100 t=80\"}\n"
        "{\"rtmem\":1,\"type\":\"trace\",\"ms\":3,\"line\":\"a 2 100 t=90";
    for (size_t i = 0; i < NREADERS; i++) {
        const char *path = write_str(cut);
        int rc = run_reader(&readers[i], path);
        /* leaks finds block 1 (exit 1); the cut line's block 2 is in no answer */
        int want = readers[i].fn == rtm_cmd_leaks ? 1 : 0;
        if (rc != want || strstr(g_err, "unterminated string") != NULL) {
            fail_msg("%s %s: expected exit %d without an error, got %d and '%s'",
                     readers[i].name, readers[i].x2 != NULL ? readers[i].x2 : "", want, rc,
                     g_err);
        }
    }
    const char *path = write_str(cut);
    assert_int_equal(run(rtm_cmd_leaks, "leaks", path, "--json", NULL), 1);
    assert_non_null(strstr(g_out, "\"bytes\":100,"));
    assert_non_null(strstr(g_err, ":3: warning: truncated line ignored"));
    assert_int_equal(run(rtm_cmd_replay, "replay", path, "--json", NULL), 0);
    assert_non_null(strstr(g_out, "\"truncated\":1"));
}

/* A file that is one line without a newline, which no command can read:
 * nothing at all was read, so it is a failed capture (as empty input is),
 * not a trace without events; skipping it as a cut last line gave replay 0
 * operations and compare a recommendation. */
static void test_only_line_cut_is_refused(void **state)
{
    (void)state;
    expect_readers_refuse("hello world", 11, 1, "the input's only line, without a newline");
    expect_readers_refuse("{\"schema\":1}", 12, 1, "the input's only line, without a newline");
    static const char noise[] = "\x93\xfa\x01garbage\x7f\xc3(";
    expect_readers_refuse(noise, sizeof noise - 1u, 1, "the input's only line, without a newline");
    /* blank lines before it change nothing but the line number */
    expect_readers_refuse("\n \nhello", 8, 3, "the input's only line, without a newline");
    /* a complete one-line trace is still read */
    const char *path = write_str("a 1 10");
    assert_int_equal(run(rtm_cmd_replay, "replay", path, "--json", NULL), 0);
    assert_non_null(strstr(g_out, "\"truncated\":0"));
}

/* Lines ended by CR alone: the whole file was one line, skipped as cut off
 * (replay: 0 operations, exit 0) or read as garbage (leaks: nothing
 * leaked). Refused, naming the line and the column of the first CR. */
static void test_cr_only_line_ends_refused(void **state)
{
    (void)state;
    static const char cr[] = "# rtmem-trace 1\ra 1 100\rf 1\r";
    expect_readers_refuse(cr, sizeof cr - 1u, 1, "CR without LF at column 16");
    /* after LF-ended lines, from the line where they start */
    static const char mixed[] = "# rtmem-trace 1\na 1 100\ra 2 10\r";
    expect_readers_refuse(mixed, sizeof mixed - 1u, 2, "CR without LF at column 8");
    /* longer than a line may be: the CR is named, not the length */
    size_t len = 3u * RTM_LINE_MAX;
    char *text = malloc(len);
    assert_non_null(text);
    for (size_t at = 0; at < len; at += 8u) {
        memcpy(text + at, "a 1 10\rf", 8);
    }
    expect_readers_refuse(text, len, 1, "CR without LF at column 7");
    free(text);
    /* CR before LF, and a lone CR inside an LF-ended line, are as before */
    for (size_t i = 0; i < NREADERS; i++) {
        const char *path = write_str("# rtmem-trace 1\r\na 1 10\r\nf 1\r\n");
        assert_int_equal(run_reader(&readers[i], path), 0);
    }
}

/* Lines replay refuses for their form are refused by every command in
 * replay's words: leaks skipped tab-separated and BOM-prefixed event lines
 * as log lines (their blocks uncounted) and read on past a negative
 * version header, which replay took for a comment. */
static void test_replay_refusals_everywhere(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned long line;
        const char *what;
    } bad[] = {
        {"# rtmem-trace 1\na\t1\t10\n", 2, "unknown event 'a\\x091\\x0910'"},
        {"# rtmem-trace 1\na 1 10\n\xef\xbb\xbf" "a 2 10\n", 3, "unknown event '"},
        {"# rtmem-trace -1\na 1 10\n", 1, "trace format version -1; this reader knows version 1"},
        {"# rtmem-trace +1\na 1 10\n", 1, "trace format version +1; this reader knows version 1"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_readers_refuse(bad[i].text, strlen(bad[i].text), bad[i].line, bad[i].what);
    }
}

/* %00 in a name decodes to a NUL byte, which ends the C string every
 * command keeps the name in: task=%00 was read as no task at all,
 * task=ab%00cd as "ab". Refused by every command at its line, plain or in
 * a telemetry trace line, for each field that is a name; a '%' written
 * %25 before "00" is a name of its own and read as such. */
static void test_nul_in_a_name_refused_everywhere(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned long line;
        const char *what;
    } bad[] = {
        {"# rtmem-trace 1\na 1 10 task=%00\n", 2, "a NUL byte (%00) in the name 'task=%00'"},
        {"# rtmem-trace 1\na 1 10 task=T1\na 2 10 task=ab%00cd\n", 3,
         "a NUL byte (%00) in the name 'task=ab%00cd'"},
        {"# rtmem-trace 1\na 1 10 heap=dram%00\n", 2, "a NUL byte (%00) in the name 'heap=dram%00'"},
        {"# rtmem-trace 1\na 1 10 site=a%00.c:3\n", 2,
         "a NUL byte (%00) in the name 'site=a%00.c:3'"},
        /* a '%' that is not an escape is itself; the %00 after it is one */
        {"# rtmem-trace 1\na 1 10\nf 1 task=a%%00\n", 3, "a NUL byte (%00) in the name 'task=a%%00'"},
        {"{\"rtmem\":1,\"type\":\"trace\",\"ms\":1,\"line\":\"# rtmem-trace 1\"}\n"
         "{\"rtmem\":1,\"type\":\"trace\",\"ms\":2,\"line\":\"a 1 100 task=x%00\"}\n",
         2, "a NUL byte (%00) in the name 'task=x%00'"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        expect_readers_refuse(bad[i].text, strlen(bad[i].text), bad[i].line, bad[i].what);
    }
    /* the one decoding step behind both */
    unsigned char b = 1;
    assert_int_equal(rtm_pct_step("%00", 3, &b), 3);
    assert_int_equal(b, 0);
    assert_int_equal(rtm_pct_step("%3d", 3, &b), 3);
    assert_int_equal(b, '=');
    assert_int_equal(rtm_pct_step("%0", 2, &b), 1);
    assert_int_equal(b, '%');
    assert_int_equal(rtm_pct_step("%00", 2, &b), 1); /* the value ends before the 2nd digit */
    assert_int_equal(rtm_pct_step("%g0", 3, &b), 1);
    assert_int_equal(rtm_pct_step("", 0, &b), 0);
    /* %2500 is the name "%00"; %30 is "0"; a key that is no name keeps
     * its value undecoded */
    static const char fine[] = "# rtmem-trace 1\na 1 10 task=%2500 heap=%30 other=%00\n";
    for (size_t i = 0; i < NREADERS; i++) {
        const char *path = write_str(fine);
        int rc = run_reader(&readers[i], path);
        int want = readers[i].fn == rtm_cmd_leaks ? 1 : 0;
        if (rc != want) {
            fail_msg("%s %s: expected exit %d, got %d and '%s'", readers[i].name,
                     readers[i].x2 != NULL ? readers[i].x2 : "", want, rc, g_err);
        }
    }
    const char *path = write_str(fine);
    assert_int_equal(run(rtm_cmd_leaks, "leaks", path, "--json", NULL), 1);
    assert_non_null(strstr(g_out, "\"tasks\":\"%00\",\"regions\":\"0\""));
    assert_int_equal(run(rtm_cmd_export, "export", path, "--format", "chrome"), 0);
    assert_non_null(strstr(g_out, "\"trace task %00 live\""));
    assert_non_null(strstr(g_out, "\"trace heap 0 live\""));
}

/* Events against the live IDs: replay, compare and export chrome (which
 * have --lenient) stop at them; leaks, export folded and report read them
 * as a stream started after boot holds them, and say so in a warning with
 * replay's words and the first line, never silently. Leaks took
 * "a 1 100 / a 1 200 / f 1" as 0 leaks without a word. */
static void test_id_mismatches_one_wording(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        unsigned long line;
        const char *what;
    } odd[] = {
        {"# rtmem-trace 1\na 1 100\na 1 200\nf 1\n", 3,
         "ID 1 is allocated again while live (no free before"},
        {"# rtmem-trace 1\na 1 100\nf 7\n", 3, "free of ID 7, which is not live"},
        {"# rtmem-trace 1\na 1 100\nr 7 8 10\n", 3, "realloc of ID 7, which is not live"},
        {"# rtmem-trace 1\na 1 100\na 2 5\nr 1 2 10\n", 4,
         "realloc result 2 is an ID that is live"},
    };
    for (size_t i = 0; i < sizeof odd / sizeof odd[0]; i++) {
        for (size_t k = 0; k < NREADERS; k++) {
            const reader_cmd_t *c = &readers[k];
            const char *path = write_str(odd[i].text);
            int rc = run_reader(c, path);
            bool strict = c->fn == rtm_cmd_replay || c->fn == rtm_cmd_compare ||
                          (c->x2 != NULL && strcmp(c->x2, "chrome") == 0);
            char where[192];
            if (strict) {
                (void)snprintf(where, sizeof where, "%s:%lu: %s", path, odd[i].line, odd[i].what);
            } else {
                (void)snprintf(where, sizeof where, "(first, line %lu: %s", odd[i].line,
                               odd[i].what);
            }
            if ((strict ? rc != 2 : rc == 2) || strstr(g_err, where) == NULL) {
                fail_msg("%s %s, input %zu: expected %s '%s', got %d and '%s'", c->name,
                         c->x2 != NULL ? c->x2 : "", i, strict ? "exit 2 and" : "a warning",
                         where, rc, g_err);
            }
        }
    }
}

static void test_leaks_numbers_over_64_bits(void **state)
{
    (void)state;
    /* seq=, t= and caller= of an rtmem line: the trace reader's words,
     * as replay gives them */
    static const struct {
        const char *text;
        const char *msg;
    } rtmem[] = {
        {"# rtmem-trace 1\na 1 10 seq=18446744073709551616\n",
         ":2: seq value '18446744073709551616' is too large (over 64 bits)"},
        {"# rtmem-trace 1\na 1 10 t=99999999999999999999\n",
         ":2: t value '99999999999999999999' is too large (over 64 bits)"},
        {"# rtmem-trace 1\na 1 10 caller=0x400d1234:0x1400d12345678abcd\n",
         ":2: caller value '0x400d1234:0x1400d12345678abcd' has an address over 64 bits"},
    };
    for (size_t i = 0; i < sizeof rtmem / sizeof rtmem[0]; i++) {
        const char *path = write_str(rtmem[i].text);
        int rc = run(rtm_cmd_leaks, "leaks", path, NULL, NULL);
        if (rc != 2 || strstr(g_err, rtmem[i].msg) == NULL) {
            fail_msg("leaks %zu: expected exit 2 '%s', got %d '%s'", i, rtmem[i].msg, rc, g_err);
        }
        rc = run(rtm_cmd_replay, "replay", path, NULL, NULL);
        if (rc != 2 || strstr(g_err, rtmem[i].msg) == NULL) {
            fail_msg("replay %zu: expected exit 2 '%s', got %d '%s'", i, rtmem[i].msg, rc, g_err);
        }
    }
    static const char *const bad[] = {
        /* ESP-IDF: size, address, caller wider than 64 bits (a ccount has 8 digits) */
        "====== Heap Trace: 1 records (8 capacity) ======\n"
        "99999999999999999999 bytes (@ 0x3fca0000, Internal) allocated CPU 0 ccount 0x00000100 caller 0x42001234\n",
        "====== Heap Trace: 1 records (8 capacity) ======\n"
        "    32 bytes (@ 0x123456789abcdef0123, Internal) allocated CPU 0 ccount 0x00000100 caller 0x42001234\n",
        "====== Heap Trace: 1 records (8 capacity) ======\n"
        "    32 bytes (@ 0x3fca0000, Internal) allocated CPU 0 ccount 0x00000100 caller 0x142001234aaaaaaaa\n",
        /* summary counts */
        "====== Heap Trace: 1 records (8 capacity) ======\n"
        "    32 bytes (@ 0x3fca0000, Internal) allocated CPU 0 ccount 0x00000100 caller 0x42001234\n"
        "32 bytes 'leaked' in trace (18446744073709551617 allocations)\n",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        const char *path = write_str(bad[i]);
        int rc = run(rtm_cmd_leaks, "leaks", path, NULL, NULL);
        if (rc != 2 || strstr(g_err, "number wider than 64 bits") == NULL) {
            fail_msg("input %zu: expected exit 2 'number wider than 64 bits', got %d '%s'", i, rc,
                     g_err);
        }
    }
    /* leading zeros are no overflow */
    const char *zeros = write_str("# rtmem-trace 1\na 1 10 caller=0x00000000400d1234 "
                                  "t=000000000000000000000000042\n");
    assert_int_equal(run(rtm_cmd_leaks, "leaks", zeros, "--json", NULL), 1);
    assert_non_null(strstr(g_out, "\"addr\":\"0x400d1234\""));
    assert_non_null(strstr(g_out, "\"first_time\":42"));
}

static void test_option_ranges(void **state)
{
    (void)state;
    const char *path = write_str("# rtmem-trace 1\na 1 10 seq=5\n");
    static const char *const since_bad[] = {"-1", "+1", "", "1x", " 1", "18446744073709551616",
                                            "0x10"};
    for (size_t i = 0; i < sizeof since_bad / sizeof since_bad[0]; i++) {
        int rc = run(rtm_cmd_leaks, "leaks", path, "--since", since_bad[i]);
        if (rc != 2 || strstr(g_err, "--since needs a sequence number") == NULL) {
            fail_msg("--since '%s': expected exit 2, got %d '%s'", since_bad[i], rc, g_err);
        }
    }
    assert_int_equal(run(rtm_cmd_leaks, "leaks", path, "--since", "18446744073709551615"), 0);
    assert_int_equal(run(rtm_cmd_leaks, "leaks", path, "--since", "5"), 1);
    assert_int_equal(run(rtm_cmd_leaks, "leaks", path, "--since", "6"), 0);

    uint64_t v = 7;
    assert_true(rtm_tool_parse_u64("0", &v) && v == 0);
    assert_true(rtm_tool_parse_u64("18446744073709551615", &v) && v == UINT64_MAX);
    assert_false(rtm_tool_parse_u64("-1", &v));
    assert_false(rtm_tool_parse_u64(NULL, &v));

    static const char *const size_bad[] = {"-1", "0", "-64K", "1T", "99999999999999999999"};
    for (size_t i = 0; i < sizeof size_bad / sizeof size_bad[0]; i++) {
        assert_int_equal(run(rtm_cmd_replay, "replay", path, "--size", size_bad[i]), 2);
        assert_int_equal(run(rtm_cmd_compare, "compare", path, "--size", size_bad[i]), 2);
    }
    static const char *const align_bad[] = {"-8", "0", "2", "12"};
    for (size_t i = 0; i < sizeof align_bad / sizeof align_bad[0]; i++) {
        assert_int_equal(run(rtm_cmd_replay, "replay", path, "--align", align_bad[i]), 2);
    }
}

/* --- the one decimal decoder ---------------------------------------------------- */

typedef struct u64_case {
    const char *text;
    size_t len;      /* SIZE_MAX: the terminated string */
    size_t digits;   /* what rtm_parse_u64 returns */
    uint64_t value;
    bool overflow;
} u64_case_t;

static void test_parse_u64(void **state)
{
    (void)state;
    static const u64_case_t cases[] = {
        {"0", SIZE_MAX, 1, 0, false},
        {"18446744073709551615", SIZE_MAX, 20, UINT64_MAX, false},   /* 2^64 - 1 */
        {"18446744073709551616", SIZE_MAX, 20, UINT64_MAX, true},    /* 2^64 */
        {"18446744073709551620", SIZE_MAX, 20, UINT64_MAX, true},
        {"99999999999999999999", SIZE_MAX, 20, UINT64_MAX, true},
        {"184467440737095516150", SIZE_MAX, 21, UINT64_MAX, true},   /* read to its end */
        {"99999999999999999999x", SIZE_MAX, 20, UINT64_MAX, true},
        {"1844674407370955161", SIZE_MAX, 19, 1844674407370955161u, false},
        {"000000000000000000000000018446744073709551615", SIZE_MAX, 45, UINT64_MAX, false},
        {"007", SIZE_MAX, 3, 7, false},
        {"12x", SIZE_MAX, 2, 12, false},
        {"12 34", SIZE_MAX, 2, 12, false},
        {"1234", 2, 2, 12, false},                                   /* len ends the run */
        {"18446744073709551616", 19, 19, 1844674407370955161u, false},
        {"", SIZE_MAX, 0, 0, false},                                 /* empty */
        {"5", 0, 0, 0, false},
        {"+1", SIZE_MAX, 0, 0, false},                               /* no sign... */
        {"-1", SIZE_MAX, 0, 0, false},
        {" 1", SIZE_MAX, 0, 0, false},                               /* ...no space */
        {"\t1", SIZE_MAX, 0, 0, false},
        {"0x10", SIZE_MAX, 1, 0, false},                             /* ...no base prefix */
        {"x", SIZE_MAX, 0, 0, false},
        {"\xd9\xa3", SIZE_MAX, 0, 0, false},                         /* a digit of another script */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const u64_case_t *c = &cases[i];
        uint64_t v = 12345;
        bool over = !c->overflow;
        size_t n = rtm_parse_u64(c->text, c->len, &v, &over);
        if (n != c->digits || v != c->value || over != c->overflow) {
            fail_msg("'%s' (len %zu): %zu digits, %" PRIu64 ", overflow %d; expected %zu, %" PRIu64
                     ", %d",
                     c->text, c->len, n, v, (int)over, c->digits, c->value, (int)c->overflow);
        }
    }

    /* each reader on the boundary, with its own words: the trace reader */
    rtm_trace_event_t ev;
    char err[256];
    static const char max_line[] = "a 1 18446744073709551615";
    assert_int_equal(rtm_trace_parse_line(max_line, strlen(max_line), &ev, err, sizeof err), 1);
    assert_true(ev.size == UINT64_MAX);
    static const char over_line[] = "a 1 18446744073709551616";
    assert_int_equal(rtm_trace_parse_line(over_line, strlen(over_line), &ev, err, sizeof err), -1);
    assert_string_equal(err, "SIZE '18446744073709551616' is too large");
    static const char plus_line[] = "a 1 +5";
    assert_int_equal(rtm_trace_parse_line(plus_line, strlen(plus_line), &ev, err, sizeof err), -1);
    assert_string_equal(err, "SIZE '+5' is not a decimal number");
    static const char late_line[] = "a 1 5x";
    assert_int_equal(rtm_trace_parse_line(late_line, strlen(late_line), &ev, err, sizeof err), -1);
    assert_string_equal(err, "SIZE '5x' is not a decimal number");
    /* an overflow before the bad byte is "too large", as before */
    static const char both_line[] = "a 1 99999999999999999999x";
    assert_int_equal(rtm_trace_parse_line(both_line, strlen(both_line), &ev, err, sizeof err), -1);
    assert_string_equal(err, "SIZE '99999999999999999999x' is too large");

    /* the command line: the whole value, nothing else */
    uint64_t v = 7;
    assert_true(rtm_tool_parse_u64("18446744073709551615", &v) && v == UINT64_MAX);
    assert_false(rtm_tool_parse_u64("18446744073709551616", &v));
    assert_false(rtm_tool_parse_u64("", &v));
    assert_false(rtm_tool_parse_u64("+1", &v));
    assert_false(rtm_tool_parse_u64("1 ", &v));
    size_t z = 0;
    assert_int_equal(rtm_tool_parse_size("0018446744073709551615", &z), SIZE_MAX == UINT64_MAX);
    assert_true(rtm_tool_parse_size("16K", &z) && z == 16384u);
    assert_true(rtm_tool_parse_size("1MiB", &z) && z == 1048576u);
    /* the suffixes tools.md names: K/M/G either case, then B or iB exactly */
    assert_true(rtm_tool_parse_size("64KB", &z) && z == 65536u);
    assert_true(rtm_tool_parse_size("64kiB", &z) && z == 65536u);
    assert_true(rtm_tool_parse_size("1g", &z) && z == 1073741824u);
    assert_false(rtm_tool_parse_size("64kb", &z));
    assert_false(rtm_tool_parse_size("64KIB", &z));
    assert_false(rtm_tool_parse_size("64B", &z));
    assert_false(rtm_tool_parse_size("64Ki", &z));
    assert_false(rtm_tool_parse_size("18446744073709551616", &z));
    assert_false(rtm_tool_parse_size("17179869184G", &z)); /* 2^34 x 2^30 */
    assert_false(rtm_tool_parse_size("+1", &z));
    assert_false(rtm_tool_parse_size("", &z));
}

/* --- nothing from the input reaches the terminal unescaped --------------------- */

static bool has_raw_control(const char *s)
{
    for (const unsigned char *p = (const unsigned char *)s; *p != '\0'; p++) {
        if ((*p < 0x20u && *p != '\n') || *p == 0x7fu) {
            return true;
        }
    }
    return false;
}

static void test_escape(void **state)
{
    (void)state;
    char out[64];
    /* valid UTF-8 passes, including 4-byte sequences */
    assert_string_equal(rtm_esc_copy(out, sizeof out, "t\xc3\xa9st \xe6\x97\xa5 \xf0\x9f\x98\x80", 14),
                        "t\xc3\xa9st \xe6\x97\xa5 \xf0\x9f\x98\x80");
    /* C0, DEL, C1 (U+009B, the 8-bit CSI) */
    assert_string_equal(rtm_esc_copy(out, sizeof out, "\x1b[2J\x7f\xc2\x9b", 7),
                        "\\x1b[2J\\x7f\\xc2\\x9b");
    /* invalid: lone continuation, 0xff, overlong '/', surrogate, > U+10FFFF, cut off */
    assert_string_equal(rtm_esc_copy(out, sizeof out, "\x80\xff\xc0\xaf", 4),
                        "\\x80\\xff\\xc0\\xaf");
    assert_string_equal(rtm_esc_copy(out, sizeof out, "\xed\xa0\x80", 3), "\\xed\\xa0\\x80");
    assert_string_equal(rtm_esc_copy(out, sizeof out, "\xf4\x90\x80\x80", 4),
                        "\\xf4\\x90\\x80\\x80");
    assert_string_equal(rtm_esc_copy(out, sizeof out, "a\xe2\x82", 3), "a\\xe2\\x82");
    /* truncation keeps whole pieces */
    assert_string_equal(rtm_esc_copy(out, 6, "ab\x01" "cd", 5), "ab");
    assert_string_equal(rtm_esc_copy(out, 7, "ab\x01" "cd", 5), "ab\\x01");
    assert_string_equal(rtm_esc_copy(out, 4, "a\xc3\xa9", 3), "a\xc3\xa9");
    assert_string_equal(rtm_esc_copy(out, 3, "a\xc3\xa9", 3), "a");

    /* JSON: UTF-8 kept, controls as \u00XX, invalid bytes as U+FFFD */
    char path[128];
    assert_int_equal(ts_scratch_path(&g_scratch, "out.txt", path, sizeof path), 0);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    rtm_esc_json(f, "t\xc3\xa9st \"q\" \\ \x1b \x7f \xff");
    fclose(f);
    (void)ts_read_file(path, g_out, sizeof g_out);
    assert_string_equal(g_out, "\"t\xc3\xa9st \\\"q\\\" \\\\ \\u001b \\u007f \\ufffd\"");
}

static void test_no_raw_bytes_on_the_terminal(void **state)
{
    (void)state;
    /* garbage with escape sequences: the message quotes it escaped */
    static const char garbage[] = "\x1b[2J\x1b]0;pwned\x07 \xff\xfe\n";
    for (size_t i = 0; i < 2; i++) {
        const char *path = write_bytes(garbage, sizeof garbage - 1u);
        assert_int_equal(run(commands[i].fn, commands[i].name, path, NULL, NULL), 2);
        assert_false(has_raw_control(g_err));
        assert_non_null(strstr(g_err, "\\x1b[2J"));
        assert_null(strstr(g_err, "\xff"));
    }
    /* leaks: a task and a site with control bytes and UTF-8, table and JSON */
    const char *path = write_str("# rtmem-trace 1\n"
                                 "a 1 10 task=t%C3%A9st%1B%5B31m site=%E6%97%A5.c:3%07\n");
    assert_int_equal(run(rtm_cmd_leaks, "leaks", path, NULL, NULL), 1);
    assert_false(has_raw_control(g_out));
    assert_non_null(strstr(g_out, "task t\xc3\xa9st\\x1b[31m"));
    assert_non_null(strstr(g_out, "site \xe6\x97\xa5.c:3\\x07"));
    assert_int_equal(run(rtm_cmd_leaks, "leaks", path, "--json", NULL), 1);
    assert_false(has_raw_control(g_out));
    assert_non_null(strstr(g_out, "\"tasks\":\"t\xc3\xa9st\\u001b[31m\""));
    assert_non_null(strstr(g_out, "\"site\":\"\xe6\x97\xa5.c:3\\u0007\""));
    /* a malformed rtmem event quoting control bytes */
    path = write_str("# rtmem-trace 1\na 1 1\x1b[31m0\n");
    assert_int_equal(run(rtm_cmd_replay, "replay", path, NULL, NULL), 2);
    assert_false(has_raw_control(g_err));
    assert_non_null(strstr(g_err, "\\x1b[31m"));
    /* an unknown option and a file name with control bytes */
    assert_int_equal(run(rtm_cmd_leaks, "leaks", path, "--\x1b[31mx", NULL), 2);
    assert_false(has_raw_control(g_err));
    assert_int_equal(run(rtm_cmd_replay, "replay", "/nonexistent/\x1b[2J", NULL, NULL), 2);
    assert_false(has_raw_control(g_err));
    assert_int_equal(run(rtm_cmd_leaks, "leaks", "/nonexistent/\x1b[2J", NULL, NULL), 2);
    assert_false(has_raw_control(g_err));
    assert_non_null(strstr(g_err, "\\x1b[2J"));
}

/* --- the one hex decoder ---------------------------------------------------- */

static void test_parse_hex_u64(void **state)
{
    (void)state;
    static const u64_case_t cases[] = {
        {"0", SIZE_MAX, 1, 0, false},
        {"80c", SIZE_MAX, 3, 0x80c, false},
        {"80C", SIZE_MAX, 3, 0x80c, false},
        {"aBcDeF", SIZE_MAX, 6, 0xabcdef, false},
        {"ffffffffffffffff", SIZE_MAX, 16, UINT64_MAX, false},           /* 2^64 - 1 */
        {"10000000000000000", SIZE_MAX, 17, UINT64_MAX, true},           /* 2^64 */
        {"1fffffffffffffffff", SIZE_MAX, 18, UINT64_MAX, true},
        {"100000000000000000000000000", SIZE_MAX, 27, UINT64_MAX, true}, /* read to its end */
        {"10000000000000000g", SIZE_MAX, 17, UINT64_MAX, true},
        {"0000000000000000000000ffffffffffffffff", SIZE_MAX, 38, UINT64_MAX, false},
        {"fffffffffffffffff", 16, 16, UINT64_MAX, false},                /* len ends the run */
        {"12g", SIZE_MAX, 2, 0x12, false},
        {"12 34", SIZE_MAX, 2, 0x12, false},
        {"", SIZE_MAX, 0, 0, false},
        {"5", 0, 0, 0, false},
        {"0x10", SIZE_MAX, 1, 0, false}, /* the prefix is the caller's */
        {"x10", SIZE_MAX, 0, 0, false},
        {"-1", SIZE_MAX, 0, 0, false},
        {"+1", SIZE_MAX, 0, 0, false},
        {" 1", SIZE_MAX, 0, 0, false},
        {"g", SIZE_MAX, 0, 0, false},
        {"\xef\xbc\xa1", SIZE_MAX, 0, 0, false}, /* a fullwidth A */
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const u64_case_t *c = &cases[i];
        uint64_t v = 12345;
        bool over = !c->overflow;
        size_t n = rtm_parse_hex_u64(c->text, c->len, &v, &over);
        if (n != c->digits || v != c->value || over != c->overflow) {
            fail_msg("'%s' (len %zu): %zu digits, %" PRIx64 ", overflow %d; expected %zu, %" PRIx64
                     ", %d",
                     c->text, c->len, n, v, (int)over, c->digits, c->value, (int)c->overflow);
        }
    }
}

/* --- RTMEM_PROGRESS_DELAY_MS ---------------------------------------------------- */

/* What was written to tty since the last call, as its pseudo-terminal's
 * other end master got it: a marker is written after it and read up to, so
 * that "nothing" is known without waiting (the terminal passes bytes on
 * asynchronously). */
static size_t pty_take(FILE *tty, int master, char *buf, size_t len)
{
    static const char marker[] = "<end of output>";
    fprintf(tty, "%s", marker);
    assert_int_equal(fflush(tty), 0);
    size_t n = 0;
    char *end = NULL;
    while (end == NULL) {
        struct pollfd pf = {.fd = master, .events = POLLIN};
        assert_int_equal(poll(&pf, 1, 10000), 1);
        ssize_t r = read(master, buf + n, len - 1u - n);
        assert_true(r > 0);
        n += (size_t)r;
        buf[n] = '\0';
        end = strstr(buf, marker);
    }
    *end = '\0';
    return (size_t)(end - buf);
}

/* The progress line's delay (progress.h, docs/tools.md "Progress"): decimal
 * milliseconds 0 to a day, or the default and one warning naming the
 * variable; never a wrapped, truncated or negative-turned-huge delay. */
static void test_progress_delay_variable(void **state)
{
    (void)state;
    static const struct {
        const char *text;
        uint64_t ms;
    } good[] = {{"0", 0}, {"1500", 1500}, {"007", 7}, {"86400000", RTM_PROGRESS_DELAY_MAX_MS}};
    for (size_t i = 0; i < sizeof good / sizeof good[0]; i++) {
        uint64_t ms = 1;
        assert_true(rtm_progress_parse_delay(good[i].text, &ms));
        assert_int_equal(ms, good[i].ms);
    }
    static const char *const bad[] = {
        "",       "-1",       "+5",       " 5",       "5 ",
        "5ms",    "1e3",      "0x10",     "1.5",      "86400001",
        "4294967296000", "18446744073709551615", "18446744073709551616",
        "99999999999999999999999999999999",       "\xd9\xa3",
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        uint64_t ms = 77;
        if (rtm_progress_parse_delay(bad[i], &ms) || ms != 77) {
            fail_msg("'%s' taken as %" PRIu64 " ms", bad[i], ms);
        }
    }
    uint64_t ms = 77;
    assert_false(rtm_progress_parse_delay(NULL, &ms));

    /* rtm_progress_init on a terminal reads the variable */
    int master = posix_openpt(O_RDWR | O_NOCTTY);
    assert_true(master >= 0);
    assert_int_equal(grantpt(master), 0);
    assert_int_equal(unlockpt(master), 0);
    int slave = open(ptsname(master), O_RDWR | O_NOCTTY);
    assert_true(slave >= 0);
    FILE *tty = fdopen(slave, "w");
    assert_non_null(tty);
    static char buf[4096];
    const uint64_t dflt = (uint64_t)RTM_PROGRESS_DELAY_MS * 1000000u;
    rtm_progress_t p;

    assert_int_equal(setenv("RTMEM_PROGRESS_DELAY_MS", "250", 1), 0);
    rtm_progress_init(&p, tty, "t", false);
    assert_true(p.out == tty);
    assert_true(p.delay_ns == 250000000u);
    assert_int_equal(pty_take(tty, master, buf, sizeof buf), 0);

    /* empty counts as unset: the default, nothing said */
    assert_int_equal(setenv("RTMEM_PROGRESS_DELAY_MS", "", 1), 0);
    rtm_progress_init(&p, tty, "t", false);
    assert_true(p.delay_ns == dflt);
    assert_int_equal(pty_take(tty, master, buf, sizeof buf), 0);

    /* past 64 bits (and past 2^64 ns): the default, and it is said, the
     * value quoted escaped */
    assert_int_equal(setenv("RTMEM_PROGRESS_DELAY_MS", "99999999999999999999\033[2J", 1), 0);
    rtm_progress_init(&p, tty, "t", false);
    assert_true(p.delay_ns == dflt);
    assert_true(pty_take(tty, master, buf, sizeof buf) > 0);
    assert_non_null(strstr(buf, "RTMEM_PROGRESS_DELAY_MS='99999999999999999999\\x1b[2J' is not a "
                                "number of milliseconds from 0 to 86400000; using 1000"));
    assert_null(strchr(buf, '\033'));

    /* every other bad value: the default too, and no second warning */
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(setenv("RTMEM_PROGRESS_DELAY_MS", bad[i], 1), 0);
        rtm_progress_init(&p, tty, "t", false);
        if (p.delay_ns != dflt) {
            fail_msg("'%s' gave a delay of %" PRIu64 " ns", bad[i], p.delay_ns);
        }
    }
    assert_int_equal(pty_take(tty, master, buf, sizeof buf), 0);

    /* no variable: the default */
    assert_int_equal(unsetenv("RTMEM_PROGRESS_DELAY_MS"), 0);
    rtm_progress_init(&p, tty, "t", false);
    assert_true(p.delay_ns == dflt);

    /* quiet, or not a terminal: the line is off and the variable unread */
    assert_int_equal(setenv("RTMEM_PROGRESS_DELAY_MS", "0", 1), 0);
    rtm_progress_init(&p, tty, "t", true);
    assert_null(p.out);
    assert_true(p.delay_ns == dflt);
    FILE *file = tmpfile();
    assert_non_null(file);
    rtm_progress_init(&p, file, "t", false);
    assert_null(p.out);
    assert_true(p.delay_ns == dflt);
    fclose(file);
    assert_int_equal(unsetenv("RTMEM_PROGRESS_DELAY_MS"), 0);
    fclose(tty);
    close(master);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_line_reader),
        cmocka_unit_test(test_every_command_strict),
        cmocka_unit_test(test_cut_last_telemetry_line_one_verdict),
        cmocka_unit_test(test_only_line_cut_is_refused),
        cmocka_unit_test(test_cr_only_line_ends_refused),
        cmocka_unit_test(test_replay_refusals_everywhere),
        cmocka_unit_test(test_nul_in_a_name_refused_everywhere),
        cmocka_unit_test(test_id_mismatches_one_wording),
        cmocka_unit_test(test_leaks_numbers_over_64_bits),
        cmocka_unit_test(test_option_ranges),
        cmocka_unit_test(test_parse_u64),
        cmocka_unit_test(test_parse_hex_u64),
        cmocka_unit_test(test_progress_delay_variable),
        cmocka_unit_test(test_escape),
        cmocka_unit_test(test_no_raw_bytes_on_the_terminal),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
