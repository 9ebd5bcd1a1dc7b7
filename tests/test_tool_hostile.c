/*
 * The rtmem tool given the inputs users and attackers actually hand it,
 * beyond the line-level cases of test_tool_input.c:
 *
 *   - a file saved by a Windows editor: a UTF-8 byte order mark before the
 *     header, CRLF line ends (every command reads it; a BOM later in the
 *     file is still refused);
 *   - a header of another version (0, 2, a number past 64 bits): every
 *     command refuses it at FILE:1, quoting the version as written;
 *   - an input that can be read only once: a FIFO, as a shell's <(...)
 *     gives (replay without --size, report and export --format folded
 *     --at peak read it, compare refuses it; none may wait forever
 *     re-opening it);
 *   - sizes whose sum passes 2^64 - 1: bytes live, peak and leaked are
 *     reported saturated, never wrapped round to a small number;
 *   - telemetry whose numbers contradict each other (min_free far above
 *     total, counters at 2^64 - 1, a capacity of 0): report and export
 *     draw what they can, they do not crash;
 *   - report -o naming one of its inputs (under another spelling), and
 *     report and export -o FILE with stdin read from FILE: refused before
 *     anything is written, the input left as it was;
 *   - an existing -o FILE: an INPUT that cannot be read and an output that
 *     cannot be written whole leave it as it was; a malformed line
 *     replaces it with what the docs promise (the part before the line);
 *     an -o in a missing directory is refused before any INPUT is opened;
 *   - report reading stdin (which it copies to $TMPDIR): Ctrl-C or
 *     SIGTERM removes that copy too; a $TMPDIR where the copy cannot be
 *     made is named in the message, with the reason;
 *   - a directory given as the trace: its first read fails before any
 *     line, so replay and compare print only the error (no INCOMPLETE
 *     TRACE report of a "part before line 1", no JSON trace object);
 *   - a long trace through the commands that promise to stream it (replay
 *     with --size, leaks, export --format folded at the end and at the
 *     peak): their peak RSS does not grow with its length.
 *
 * The built tool runs as a child process (RTMEM_TEST_TOOL), as a user runs it.
 */
#define _POSIX_C_SOURCE 200809L
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdbool.h>
#include <setjmp.h>
#include <signal.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cmocka.h>

#include "support/tool_capture.h"

#ifndef RTMEM_TEST_TOOL
#error "RTMEM_TEST_TOOL: path of the rtmem binary"
#endif

static ts_scratch_t g_scratch;
static char g_in[128], g_fifo[128], g_outf[128], g_errf[128], g_html[128];
static char g_out[65536];
static char g_err[16384];

static const char *const scratch_names[] = {"in.trace", "fifo", "out.txt", "err.txt",
                                            "page.html", "short.trace", "long.trace",
                                            "tmpdir", "not-a-dir"};

static int setup(void **state)
{
    (void)state;
    if (ts_scratch_make(&g_scratch, "rtm_tool_hostile") != 0) {
        return -1;
    }
    return ts_scratch_path(&g_scratch, "in.trace", g_in, sizeof g_in) |
           ts_scratch_path(&g_scratch, "fifo", g_fifo, sizeof g_fifo) |
           ts_scratch_path(&g_scratch, "out.txt", g_outf, sizeof g_outf) |
           ts_scratch_path(&g_scratch, "err.txt", g_errf, sizeof g_errf) |
           ts_scratch_path(&g_scratch, "page.html", g_html, sizeof g_html);
}

static int teardown(void **state)
{
    (void)state;
    return ts_scratch_remove(&g_scratch, scratch_names,
                             sizeof scratch_names / sizeof scratch_names[0]);
}

static void write_file(const char *path, const char *text, size_t len)
{
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(text, 1, len, f), len);
    assert_int_equal(fclose(f), 0);
}

/* Runs the tool with args (args[0] "rtmem", NULL-terminated) and stdin
 * read from in_path (NULL: left alone); stdout into g_out, stderr into
 * g_err. Returns its exit status. */
static int tool_argv_in(const char *in_path, const char *const *args)
{
    const ts_tool_run_t r = {.tool = RTMEM_TEST_TOOL, .out_path = g_outf, .err_path = g_errf,
                             .err_fd = -1, .env = NULL, .in_path = in_path};
    int rc = ts_run_tool(&r, args);
    (void)ts_read_file(g_outf, g_out, sizeof g_out);
    (void)ts_read_file(g_errf, g_err, sizeof g_err);
    return rc;
}

static int tool_argv(const char *const *args)
{
    return tool_argv_in(NULL, args);
}

/* The arguments after first (at most 8, then NULL) into args, after
 * "rtmem" and first. */
static void collect_args(const char **args, const char *first, va_list ap)
{
    args[0] = "rtmem";
    args[1] = first;
    size_t n = 2;
    const char *a;
    while ((a = va_arg(ap, const char *)) != NULL) {
        assert_true(n < 9u);
        args[n++] = a;
    }
    args[n] = NULL;
}

/* Runs the tool with the arguments given (at most 8, then NULL); stdout
 * into g_out, stderr into g_err. Returns its exit status. */
static int tool(const char *first, ...)
{
    const char *args[10];
    va_list ap;
    va_start(ap, first);
    collect_args(args, first, ap);
    va_end(ap);
    return tool_argv(args);
}

/* The same with stdin read from in_path, as `rtmem ... < in_path`. */
static int tool_in(const char *in_path, const char *first, ...)
{
    const char *args[10];
    va_list ap;
    va_start(ap, first);
    collect_args(args, first, ap);
    va_end(ap);
    return tool_argv_in(in_path, args);
}

/* --- a Windows editor's file ----------------------------------------------- */

static void test_bom_and_crlf(void **state)
{
    (void)state;
    static const char text[] = "\xef\xbb\xbf# rtmem-trace 1\r\na 1 10\r\na 2 20\r\nf 1\r\n";
    write_file(g_in, text, sizeof text - 1u);

    assert_int_equal(tool("replay", g_in, "--json", "--quiet", NULL), 0);
    assert_non_null(strstr(g_out, "\"ops\":3,"));
    assert_non_null(strstr(g_out, "\"live_bytes_at_end\":20,"));

    /* leaks finds the header behind the BOM, so the trace's leak counts */
    assert_int_equal(tool("leaks", g_in, "--json", NULL), 1);
    assert_non_null(strstr(g_out, "\"format\":\"rtmem-trace 1\""));
    assert_non_null(strstr(g_out, "\"bytes\":20,"));

    assert_int_equal(tool("export", "--format", "folded", g_in, NULL), 0);
    assert_string_equal(g_out, "heap:?;[no caller] 20\n");

    assert_int_equal(tool("export", "--format", "chrome", g_in, NULL), 0);
    assert_non_null(strstr(g_out, "\"args\":{\"bytes\":30}"));

    /* only the file's first bytes may be a BOM: one on line 2 is refused */
    static const char late[] = "# rtmem-trace 1\n\xef\xbb\xbf" "a 1 10\n";
    write_file(g_in, late, sizeof late - 1u);
    assert_int_equal(tool("replay", g_in, "--quiet", NULL), 2);
    assert_non_null(strstr(g_err, ":2: unknown event"));
}

/* --- a directory as the trace ----------------------------------------------- */

/* Its first read fails (EISDIR): nothing was read, so there is no part
 * before a bad line to report. Each command names the input without a
 * line number and exits 2, and nothing reaches stdout but JSON's empty
 * document (before: "FILE:1: read error", and replay and compare reported
 * an INCOMPLETE TRACE of 0 operations, compare with a whole table). */
static void test_directory_as_trace(void **state)
{
    (void)state;
    const char *dir = g_scratch.dir;
    char want[160];
    (void)snprintf(want, sizeof want, "%s: read error: ", dir);
    static const char *const modes[][6] = {
        {"replay", "--quiet", "--size", "4K", NULL},
        {"replay", "--quiet", NULL},
        {"replay", "--quiet", "--json", "--size", "4K", NULL},
        {"leaks", NULL},
        {"compare", "--quiet", "--strategy", "tlsf", NULL},
        {"compare", "--quiet", "--json", "--strategy", "tlsf", NULL}, /* last: see below */
    };
    for (size_t i = 0; i < sizeof modes / sizeof modes[0]; i++) {
        const char *args[10] = {"rtmem"};
        size_t n = 1;
        for (size_t k = 0; modes[i][k] != NULL; k++) {
            args[n++] = modes[i][k];
        }
        args[n++] = dir;
        args[n] = NULL;
        int rc = tool_argv(args);
        if (rc != 2 || strstr(g_err, want) == NULL || strstr(g_out, "INCOMPLETE") != NULL ||
            strstr(g_out, "complete") != NULL || strstr(g_out, "operations") != NULL) {
            fail_msg("rtmem %s %s: exit %d, stderr '%s', stdout '%s'", modes[i][0], dir, rc,
                     g_err, g_out);
        }
    }
    /* compare's JSON still ends as one object, with no trace in it */
    assert_non_null(strstr(g_out, "\"traces\":[],\"recommendation\":null}"));
}

/* --- header versions ------------------------------------------------------------- */

static void test_header_versions(void **state)
{
    (void)state;
    static const char *const refused[] = {"0", "00", "2", "10", "99999999999999999999999"};
    static const char *const cmds[][4] = {
        {"replay", "--quiet", NULL},
        {"leaks", NULL},
        {"export", "--format", "chrome", NULL},
        {"export", "--format", "folded", NULL},
    };
    char text[128], want[192];
    for (size_t v = 0; v < sizeof refused / sizeof refused[0]; v++) {
        int n = snprintf(text, sizeof text, "# rtmem-trace %s\na 1 10\n", refused[v]);
        write_file(g_in, text, (size_t)n);
        (void)snprintf(want, sizeof want, "%s:1: ", g_in);
        for (size_t c = 0; c < sizeof cmds / sizeof cmds[0]; c++) {
            const char *args[8] = {"rtmem"};
            size_t k = 1;
            for (size_t a = 0; cmds[c][a] != NULL; a++) {
                args[k++] = cmds[c][a];
            }
            args[k++] = g_in;
            args[k] = NULL;
            int rc = tool_argv(args);
            if (rc != 2 || strstr(g_err, want) == NULL) {
                fail_msg("version %s, %s %s: exit %d, stderr '%s'", refused[v], cmds[c][0],
                         cmds[c][1] != NULL ? cmds[c][1] : "", rc, g_err);
            }
        }
        /* replay quotes the version as written, not a wrapped or capped number */
        (void)tool("replay", "--quiet", g_in, NULL);
        (void)snprintf(want, sizeof want, "trace format version %s;", refused[v]);
        assert_non_null(strstr(g_err, want));
    }
    /* leading zeros are fine, as in every number; a minor part is not checked */
    static const char *const accepted[] = {"1", "01", "001", "1.5"};
    for (size_t v = 0; v < sizeof accepted / sizeof accepted[0]; v++) {
        int n = snprintf(text, sizeof text, "# rtmem-trace %s\na 1 10\n", accepted[v]);
        write_file(g_in, text, (size_t)n);
        assert_int_equal(tool("replay", "--quiet", g_in, NULL), 0);
        assert_int_equal(tool("leaks", g_in, NULL), 1);
        assert_int_equal(tool("export", "--format", "chrome", g_in, NULL), 0);
    }
}

/* --- inputs that can be read only once --------------------------------------- */

/* A child that opens the FIFO for writing (waiting for a reader), writes
 * text and exits. */
static pid_t fifo_writer(const char *text)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int fd = open(g_fifo, O_WRONLY);
        size_t len = strlen(text);
        size_t done = 0;
        while (fd >= 0 && done < len) {
            ssize_t n = write(fd, text + done, len - done);
            if (n <= 0) {
                _exit(1);
            }
            done += (size_t)n;
        }
        _exit(fd >= 0 ? 0 : 1);
    }
    /* a tool that re-opens the FIFO waits for a writer for ever: the alarm
     * ends this suite (a failure) instead of waiting for ctest's timeout */
    alarm(60);
    return pid;
}

/* The writer has written (or, when nothing read the FIFO, is let go). */
static void fifo_writer_done(pid_t pid)
{
    alarm(0);
    int fd = open(g_fifo, O_RDONLY | O_NONBLOCK); /* releases a writer still waiting */
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    if (fd >= 0) {
        close(fd);
    }
}

/* A trace whose replay at its peak live bytes fails (a hole too small for
 * the last blocks): replay without --size then needs several runs and
 * compare's search reads the failing line's text again. */
static char *fragmenting_trace(void)
{
    size_t cap = 64u * 1024u;
    char *t = malloc(cap);
    assert_non_null(t);
    size_t at = (size_t)snprintf(t, cap, "# rtmem-trace 1\n");
    for (int i = 1; i < 200; i++) {
        at += (size_t)snprintf(t + at, cap - at, "a %d %d\n", i, i * 37 % 500 + 1);
    }
    for (int i = 1; i < 200; i += 2) {
        at += (size_t)snprintf(t + at, cap - at, "f %d\n", i);
    }
    for (int i = 200; i < 300; i++) {
        at += (size_t)snprintf(t + at, cap - at, "a %d %d\n", i, i * 53 % 900 + 1);
    }
    return t;
}

static void test_fifo_inputs(void **state)
{
    (void)state;
    (void)unlink(g_fifo);
    assert_int_equal(mkfifo(g_fifo, 0600), 0);
    char *text = fragmenting_trace();

    /* replay without --size reads a FIFO once, as it reads stdin: the
     * region stays 1 MiB (before, the first failing run re-opened the FIFO
     * and waited for a writer that never came) */
    pid_t w = fifo_writer(text);
    assert_int_equal(tool("replay", g_fifo, "--json", "--quiet", NULL), 0);
    fifo_writer_done(w);
    assert_non_null(strstr(g_out, "\"heap_size\":1048576,"));
    assert_non_null(strstr(g_out, "\"ops\":399,"));

    /* a bad line in a FIFO (read once, like stdin): the part before it is
     * still reported, marked incomplete, exit 2 */
    w = fifo_writer("# rtmem-trace 1\na 1 100\na 2 200\nf 9\na 3 300\n");
    assert_int_equal(tool("replay", g_fifo, "--json", "--quiet", NULL), 2);
    fifo_writer_done(w);
    assert_non_null(strstr(g_err, ":4: free of ID 9, which is not live"));
    assert_non_null(strstr(g_out, "\"heap_size\":1048576,"));
    assert_non_null(strstr(g_out, "\"ops\":2,"));
    assert_non_null(strstr(g_out, "\"complete\":false,\"cut_off_reason\":\"reading stopped at "
                                  "line 4: free of ID 9"));

    /* compare reads every trace many times: a FIFO is refused, by name */
    w = fifo_writer(text);
    assert_int_equal(tool("compare", g_fifo, "--jobs", "1", NULL), 2);
    fifo_writer_done(w);
    assert_non_null(strstr(g_err, "a trace must be a file, not a pipe"));
    assert_non_null(strstr(g_err, g_fifo));

    /* report copies it, replays the copy and removes it */
    w = fifo_writer(text);
    assert_int_equal(tool("report", "-o", g_html, "--budget", "1", g_fifo, NULL), 0);
    fifo_writer_done(w);
    char *page = malloc(1u << 20);
    assert_non_null(page);
    size_t n = ts_read_file(g_html, page, 1u << 20);
    assert_true(n > 20u);
    assert_non_null(strstr(page, "</html>"));
    assert_null(strstr(g_err, "not replayed"));
    free(page);

    /* export --at peak reads each input twice: a FIFO is copied, like stdin */
    w = fifo_writer(text);
    assert_int_equal(tool("export", "--format", "folded", "--at", "peak", g_fifo, NULL), 0);
    fifo_writer_done(w);
    assert_non_null(strstr(g_out, "heap:?;[no caller] "));

    free(text);
    assert_int_equal(unlink(g_fifo), 0);
}

/* --- sums past 64 bits ---------------------------------------------------------- */

static void test_sums_past_64_bits(void **state)
{
    (void)state;
    /* two blocks of 2^63 bytes and one of 5: 2^64 + 5 bytes live, which a
     * 64-bit sum wraps to 5 */
    static const char text[] = "# rtmem-trace 1\n"
                               "a 1 9223372036854775808\n"
                               "a 2 9223372036854775808\n"
                               "a 3 5\n";
    write_file(g_in, text, sizeof text - 1u);
    assert_int_equal(tool("replay", g_in, "--size", "64K", "--json", "--quiet", NULL), 1);
    assert_non_null(strstr(g_out, "\"peak_live_bytes\":18446744073709551615,"));
    assert_non_null(strstr(g_out, "\"live_bytes_at_end\":18446744073709551615,"));

    assert_int_equal(tool("leaks", g_in, "--json", NULL), 1);
    assert_non_null(strstr(g_out, "\"bytes\":18446744073709551615,"));
    assert_non_null(strstr(g_out, "\"alive_bytes\":18446744073709551615,"));

    assert_int_equal(tool("export", "--format", "folded", g_in, NULL), 0);
    assert_string_equal(g_out, "heap:?;[no caller] 18446744073709551615\n");
    assert_int_equal(tool("export", "--format", "folded", "--at", "peak", g_in, NULL), 0);
    assert_string_equal(g_out, "heap:?;[no caller] 18446744073709551615\n");

    /* the sum is kept exactly below the saturation: freeing both big blocks
     * leaves the 5 bytes, not 0 and not 2^64 - 1 */
    static const char back[] = "# rtmem-trace 1\n"
                               "a 1 9223372036854775808\n"
                               "a 2 9223372036854775808\n"
                               "a 3 5\n"
                               "f 1\n"
                               "r 2 4 7\n";
    write_file(g_in, back, sizeof back - 1u);
    assert_int_equal(tool("replay", g_in, "--size", "64K", "--json", "--quiet", NULL), 1);
    assert_non_null(strstr(g_out, "\"peak_live_bytes\":18446744073709551615,"));
    assert_non_null(strstr(g_out, "\"live_bytes_at_end\":12,"));
    assert_int_equal(tool("leaks", g_in, "--json", NULL), 1);
    assert_non_null(strstr(g_out, "\"bytes\":12,"));
    assert_int_equal(tool("export", "--format", "folded", "--at", "peak", g_in, NULL), 0);
    assert_string_equal(g_out, "heap:?;[no caller] 18446744073709551615\n");
    /* the chrome counter: clamped to what a JSON integer holds at the peak,
     * and exact again at the end */
    assert_int_equal(tool("export", "--format", "chrome", g_in, NULL), 0);
    assert_non_null(strstr(g_out, "\"args\":{\"bytes\":9223372036854775807}"));
    const char *last = strstr(g_out, "\"ts\":4,");
    assert_non_null(last);
    assert_non_null(strstr(last, "\"args\":{\"bytes\":12}"));
}

/* --- telemetry that contradicts itself ------------------------------------------- */

static const char mem_line[] =
    "{\"rtmem\":1,\"type\":\"mem\",\"ms\":%s,\"seq\":2,\"name\":\"DRAM\",\"kind\":\"heap\","
    "\"total\":%s,\"free\":%s,\"min_free\":%s,\"largest\":%s,\"used_blocks\":41,"
    "\"free_blocks\":6,\"failed\":0,\"frag_pm\":%s,\"alerts\":0}\n";

static void test_contradictory_telemetry(void **state)
{
    (void)state;
    static const char *const cases[][6] = {
        /* ms, total, free, min_free, largest, frag_pm */
        {"2000", "1", "61240", "52112", "31744", "481"}, /* min_free 52112 times total */
        {"2000", "0", "0", "0", "0", "0"},
        {"2000", "125824", "18446744073709551615", "18446744073709551615",
         "18446744073709551615", "18446744073709551615"},
        {"18446744073709551615", "18446744073709551615", "1", "0", "1", "1000"},
    };
    static const char pool_task[] =
        "{\"rtmem\":1,\"type\":\"pool\",\"ms\":2000,\"seq\":2,\"name\":\"msgs\",\"block\":32,"
        "\"capacity\":0,\"used\":18446744073709551615,\"peak\":18446744073709551615,"
        "\"failed\":2,\"waits\":7,\"alerts\":0}\n"
        "{\"rtmem\":1,\"type\":\"task\",\"ms\":2000,\"seq\":2,\"name\":\"wifi\",\"id\":1,"
        "\"heap\":20480,\"heap_peak\":18446744073709551615,\"stack_size\":0,"
        "\"stack_peak\":18446744073709551615,\"alerts\":0}\n";
    static char page[1u << 20];
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        char text[2048];
        int n = snprintf(text, sizeof text, mem_line, "1000", "125824", "61240", "52112", "31744",
                         "481");
        n += snprintf(text + n, sizeof text - (size_t)n, mem_line, cases[i][0], cases[i][1],
                      cases[i][2], cases[i][3], cases[i][4], cases[i][5]);
        n += snprintf(text + n, sizeof text - (size_t)n, "%s", pool_task);
        assert_true(n > 0 && (size_t)n < sizeof text);
        write_file(g_in, text, (size_t)n);
        int rc = tool("report", "-o", g_html, g_in, NULL);
        size_t len = ts_read_file(g_html, page, sizeof page);
        if (rc != 0 || len < 8u || strcmp(page + len - 8u, "</html>\n") != 0) {
            fail_msg("case %zu: report exit %d, page of %zu bytes; stderr '%s'", i, rc, len, g_err);
        }
        rc = tool("export", "--format", "chrome", g_in, NULL);
        size_t olen = strlen(g_out);
        if (rc != 0 || olen < 3u || strcmp(g_out + olen - 3u, "\"}\n") != 0) {
            fail_msg("case %zu: export exit %d; stderr '%s'", i, rc, g_err);
        }
    }
}

/* --- report -o over an input ---------------------------------------------------- */

static void test_report_output_is_input(void **state)
{
    (void)state;
    static const char text[] = "# rtmem-trace 1\na 1 10\na 2 20\nf 1\n";
    write_file(g_in, text, sizeof text - 1u);
    char other[160];
    (void)snprintf(other, sizeof other, "%s/./in.trace", g_scratch.dir);
    const char *outs[] = {g_in, other};
    for (size_t i = 0; i < 2; i++) {
        int rc = tool("report", "--budget", "1", g_in, "-o", outs[i], NULL);
        char back[128];
        size_t n = ts_read_file(g_in, back, sizeof back);
        if (rc != 2 || n != sizeof text - 1u || memcmp(back, text, n) != 0 ||
            strstr(g_err, "is also an INPUT") == NULL) {
            fail_msg("-o %s: exit %d, the input now %zu bytes; stderr '%s'", outs[i], rc, n,
                     g_err);
        }
    }
    /* a page next to it is written as usual */
    assert_int_equal(tool("report", "--budget", "1", g_in, "-o", g_html, NULL), 0);
}

/* --- -o over stdin's file, and an existing output kept ------------------------- */

/* The commands that write an -o FILE from INPUTs. */
static const char *const writers[][3] = {
    {"report", "--budget", "1"},
    {"export", "--format", "folded"},
    {"export", "--format", "chrome"},
};
#define NWRITERS (sizeof writers / sizeof writers[0])

static const char precious[] = "PRECIOUS\n";

/* true when path holds exactly len bytes of text. */
static bool holds(const char *path, const char *text, size_t len)
{
    static char back[65536];
    size_t n = ts_read_file(path, back, sizeof back);
    return n == len && memcmp(back, text, n) == 0;
}

/* true when the scratch directory holds a hidden file (a temporary output). */
static bool temporary_present(void)
{
    DIR *d = opendir(g_scratch.dir);
    assert_non_null(d);
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL) {
        found = e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    }
    closedir(d);
    return found;
}

/* `rtmem CMD -o FILE - < FILE`: stdin is the output's file, so writing it
 * would replace the input (before: the trace was emptied, or replaced by
 * the page, with exit 0 for report). Refused, the file left byte for byte;
 * the same input on stdin with another -o is still read. */
static void test_output_is_stdin(void **state)
{
    (void)state;
    static const char text[] = "# rtmem-trace 1\na 1 10\na 2 20\nf 1\n";
    char other[160];
    (void)snprintf(other, sizeof other, "%s/./in.trace", g_scratch.dir);
    const char *outs[] = {g_in, other};
    for (size_t c = 0; c < NWRITERS; c++) {
        for (size_t i = 0; i < 2; i++) {
            write_file(g_in, text, sizeof text - 1u);
            int rc = tool_in(g_in, writers[c][0], writers[c][1], writers[c][2], "-o", outs[i],
                             "-", NULL);
            if (rc != 2 || !holds(g_in, text, sizeof text - 1u) ||
                strstr(g_err, "is also an INPUT") == NULL || strstr(g_err, outs[i]) == NULL) {
                fail_msg("rtmem %s %s %s -o %s - < %s: exit %d; stderr '%s'",
                         writers[c][0], writers[c][1], writers[c][2], outs[i], g_in, rc, g_err);
            }
        }
        if (tool_in(g_in, writers[c][0], writers[c][1], writers[c][2], "-o", g_html, "-",
                    NULL) != 0) {
            fail_msg("rtmem %s %s %s -o %s - < %s: stderr '%s'", writers[c][0], writers[c][1],
                     writers[c][2], g_html, g_in, g_err);
        }
    }
    (void)unlink(g_html);
    /* a pipe on stdin is never the output's file: `cat FILE | ... -o FILE -`
     * reads it whole, then replaces it */
    (void)unlink(g_fifo);
    assert_int_equal(mkfifo(g_fifo, 0600), 0);
    write_file(g_in, text, sizeof text - 1u);
    pid_t w = fifo_writer(text);
    int rc = tool_in(g_fifo, "export", "--format", "folded", "-o", g_in, "-", NULL);
    fifo_writer_done(w);
    static const char folded[] = "heap:?;[no caller] 20\n";
    if (rc != 0 || !holds(g_in, folded, sizeof folded - 1u)) {
        fail_msg("export -o FILE - from a pipe: exit %d; stderr '%s'", rc, g_err);
    }
    (void)unlink(g_fifo);
}

/* An INPUT that cannot be read (a mistyped name, a directory), alone or
 * after a good one: refused before the output is touched, so an existing
 * -o FILE keeps its content and a new one is not created (before: FILE
 * became an empty page, an empty folded file, an empty JSON document). */
static void test_unreadable_input_keeps_output(void **state)
{
    (void)state;
    static const char text[] = "# rtmem-trace 1\na 1 10\n";
    write_file(g_in, text, sizeof text - 1u);
    char missing[160];
    (void)snprintf(missing, sizeof missing, "%s/no-such.trace", g_scratch.dir);
    const char *bad[] = {missing, g_scratch.dir};
    for (size_t c = 0; c < NWRITERS; c++) {
        for (size_t b = 0; b < 2; b++) {
            for (int after_good = 0; after_good < 2; after_good++) {
                const char *first = after_good ? g_in : bad[b];
                const char *second = after_good ? bad[b] : NULL;
                write_file(g_html, precious, sizeof precious - 1u);
                int rc = tool(writers[c][0], writers[c][1], writers[c][2], "-o", g_html, first,
                              second, NULL);
                if (rc != 2 || !holds(g_html, precious, sizeof precious - 1u) ||
                    strstr(g_err, bad[b]) == NULL) {
                    fail_msg("rtmem %s %s %s -o FILE %s %s: exit %d; stderr '%s'",
                             writers[c][0], writers[c][1], writers[c][2], first,
                             second != NULL ? second : "", rc, g_err);
                }
                assert_false(temporary_present());
            }
        }
        (void)unlink(g_html);
        assert_int_equal(tool(writers[c][0], writers[c][1], writers[c][2], "-o", g_html, missing,
                              NULL), 2);
        assert_int_equal(access(g_html, F_OK), -1);
    }
}

/* A malformed line after a good part: the docs promise what was read
 * before it (the page with the error, the stacks, the closed JSON), and
 * that is what replaces an existing -o FILE, with exit 2. */
static void test_malformed_input_replaces_output_with_its_good_part(void **state)
{
    (void)state;
    static const char text[] = "# rtmem-trace 1\na 1 10\na 2 20\na 3 3\0\n";
    write_file(g_in, text, sizeof text - 1u);
    char where[160];
    (void)snprintf(where, sizeof where, "%s:4:", g_in);
    static char back[65536];
    for (size_t c = 0; c < NWRITERS; c++) {
        write_file(g_html, precious, sizeof precious - 1u);
        int rc = tool(writers[c][0], writers[c][1], writers[c][2], "-o", g_html, g_in, NULL);
        size_t n = ts_read_file(g_html, back, sizeof back);
        const char *want = c == 0 ? "</html>\n" : c == 1 ? "heap:?;[no caller] 30\n" : "}\n";
        size_t wlen = strlen(want);
        if (rc != 2 || strstr(g_err, where) == NULL || n < wlen ||
            strcmp(back + n - wlen, want) != 0 || (c == 0 && strstr(back, where) == NULL) ||
            (c == 2 && strstr(back, "\"bytes\":30") == NULL)) {
            fail_msg("rtmem %s %s %s: exit %d, stderr '%s', FILE now '%.200s'",
                     writers[c][0], writers[c][1], writers[c][2], rc, g_err, back);
        }
        assert_false(temporary_present());
    }
    (void)unlink(g_html);
}

/* A child that waits for a reader on the FIFO by polling a non-blocking
 * open (a reader waiting in open() counts), then writes text and exits 0. */
static pid_t fifo_reader_watch(const char *text)
{
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        for (int tries = 0; tries < 3000; tries++) {
            int fd = open(g_fifo, O_WRONLY | O_NONBLOCK);
            if (fd >= 0) {
                ssize_t n = write(fd, text, strlen(text));
                _exit(n == (ssize_t)strlen(text) ? 0 : 1);
            }
            const struct timespec ten_ms = {0, 10000000L};
            (void)nanosleep(&ten_ms, NULL);
        }
        _exit(1);
    }
    return pid;
}

/* -o in a directory that does not exist: refused before any INPUT is
 * opened (before: report read and analysed every input first, which for a
 * long trace is minutes). A FIFO input shows it: nothing opens it. */
static void test_unwritable_output_refused_before_reading(void **state)
{
    (void)state;
    (void)unlink(g_fifo);
    assert_int_equal(mkfifo(g_fifo, 0600), 0);
    char out[160];
    (void)snprintf(out, sizeof out, "%s/no-such-dir/x.out", g_scratch.dir);
    for (size_t c = 0; c < NWRITERS; c++) {
        pid_t w = fifo_reader_watch("# rtmem-trace 1\na 1 10\n");
        alarm(60);
        int rc = tool(writers[c][0], writers[c][1], writers[c][2], "-o", out, g_fifo, NULL);
        alarm(0);
        (void)kill(w, SIGKILL);
        int status = 0;
        assert_int_equal(waitpid(w, &status, 0), w);
        if (rc != 2 || strstr(g_err, out) == NULL || (WIFEXITED(status) &&
                                                       WEXITSTATUS(status) == 0)) {
            fail_msg("rtmem %s %s %s -o %s FIFO: exit %d, the FIFO %s; stderr '%s'",
                     writers[c][0], writers[c][1], writers[c][2], out, rc,
                     WIFEXITED(status) ? "was opened" : "was not opened", g_err);
        }
    }
    (void)unlink(g_fifo);
}

/* The output cannot be written whole (a file size limit, as a full disk):
 * exit 2 and the existing -o FILE is left as it was (before: it was cut to
 * the part written). */
static void test_write_error_keeps_output(void **state)
{
    (void)state;
    const rlim_t limit = 4096;
    size_t cap = 64u * 1024u, at = 0;
    char *text = malloc(cap);
    assert_non_null(text);
    at += (size_t)snprintf(text, cap, "# rtmem-trace 1\n");
    for (int i = 1; i <= 400; i++) { /* distinct callers: distinct stacks */
        at += (size_t)snprintf(text + at, cap - at, "a %d 10 caller=0x%x\n", i, 0x1000 + i * 16);
    }
    write_file(g_in, text, at);
    free(text);
    struct stat st;
    for (size_t c = 0; c < NWRITERS; c++) {
        assert_int_equal(tool(writers[c][0], writers[c][1], writers[c][2], "-o", g_html, g_in,
                              NULL), 0);
        assert_int_equal(stat(g_html, &st), 0);
        assert_true(st.st_size > (off_t)limit);

        write_file(g_html, precious, sizeof precious - 1u);
        struct rlimit old, small;
        assert_int_equal(getrlimit(RLIMIT_FSIZE, &old), 0);
        small = old;
        small.rlim_cur = limit;
        void (*old_xfsz)(int) = signal(SIGXFSZ, SIG_IGN);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &small), 0);
        int rc = tool(writers[c][0], writers[c][1], writers[c][2], "-o", g_html, g_in, NULL);
        assert_int_equal(setrlimit(RLIMIT_FSIZE, &old), 0);
        (void)signal(SIGXFSZ, old_xfsz);
        if (rc != 2 || !holds(g_html, precious, sizeof precious - 1u) ||
            strstr(g_err, "cannot write") == NULL) {
            fail_msg("rtmem %s %s %s over a size limit: exit %d; stderr '%s'", writers[c][0],
                     writers[c][1], writers[c][2], rc, g_err);
        }
        assert_false(temporary_present());
    }
    (void)unlink(g_html);
}

/* What the rename keeps and what it does not: a symbolic link -o is
 * followed (the link stays, its target gets the output); an existing
 * FILE's permission bits stay; a new FILE gets 0666 less the umask;
 * another hard link to the old FILE keeps the old content. */
static void test_output_replaced_in_place(void **state)
{
    (void)state;
    static const char text[] = "# rtmem-trace 1\na 1 10\na 2 20\n";
    write_file(g_in, text, sizeof text - 1u);
    char sym[160], twin[160];
    (void)snprintf(sym, sizeof sym, "%s/link.out", g_scratch.dir);
    (void)snprintf(twin, sizeof twin, "%s/twin.out", g_scratch.dir);
    for (size_t c = 0; c < NWRITERS; c++) {
        write_file(g_html, precious, sizeof precious - 1u);
        assert_int_equal(chmod(g_html, 0640), 0);
        assert_int_equal(symlink(g_html, sym), 0);
        assert_int_equal(link(g_html, twin), 0);
        assert_int_equal(tool(writers[c][0], writers[c][1], writers[c][2], "-o", sym, g_in,
                              NULL), 0);
        struct stat st;
        assert_int_equal(lstat(sym, &st), 0);
        assert_true(S_ISLNK(st.st_mode));
        assert_int_equal(stat(g_html, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_false(holds(g_html, precious, sizeof precious - 1u));
        assert_true(holds(twin, precious, sizeof precious - 1u));
        assert_int_equal(unlink(sym), 0);
        assert_int_equal(unlink(twin), 0);
        assert_int_equal(unlink(g_html), 0);

        mode_t mask = umask(027);
        int rc = tool(writers[c][0], writers[c][1], writers[c][2], "-o", g_html, g_in, NULL);
        (void)umask(mask);
        assert_int_equal(rc, 0);
        assert_int_equal(stat(g_html, &st), 0);
        assert_int_equal(st.st_mode & 07777, 0640);
        assert_int_equal(unlink(g_html), 0);
    }
    assert_false(temporary_present());
}

/* Ctrl-C (and SIGTERM, SIGHUP) while the command reads (here: waiting on
 * a FIFO no one writes) ends it by the signal and removes its temporary
 * output; an existing -o FILE is left as it was. */
static void test_interrupt_removes_temporary(void **state)
{
    (void)state;
    (void)unlink(g_fifo);
    assert_int_equal(mkfifo(g_fifo, 0600), 0);
    write_file(g_html, precious, sizeof precious - 1u);
    static const int sigs[NWRITERS] = {SIGINT, SIGTERM, SIGHUP};
    for (size_t c = 0; c < NWRITERS; c++) {
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            if (devnull < 0 || dup2(devnull, STDERR_FILENO) < 0) {
                _exit(99);
            }
            (void)signal(sigs[c], SIG_DFL);
            const char *const args[] = {"rtmem",      writers[c][0], writers[c][1], writers[c][2],
                                        "-o",         g_html,        g_fifo,        NULL};
            ts_exec_tool(RTMEM_TEST_TOOL, args);
            _exit(98);
        }
        for (int tries = 0; tries < 3000 && !temporary_present(); tries++) {
            const struct timespec ten_ms = {0, 10000000L};
            (void)nanosleep(&ten_ms, NULL);
        }
        bool made = temporary_present();
        assert_int_equal(kill(pid, sigs[c]), 0);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        if (!made || !WIFSIGNALED(status) || WTERMSIG(status) != sigs[c] ||
            !holds(g_html, precious, sizeof precious - 1u)) {
            fail_msg("rtmem %s %s %s: temporary %s, status 0x%x", writers[c][0], writers[c][1],
                     writers[c][2], made ? "made" : "never made", (unsigned)status);
        }
        assert_false(temporary_present());
    }
    (void)unlink(g_fifo);
    (void)unlink(g_html);
}

/* The files in dir whose name starts with prefix. */
static size_t count_named(const char *dir, const char *prefix)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    size_t n = 0;
    struct dirent *e;
    while ((e = readdir(d)) != NULL) {
        n += strncmp(e->d_name, prefix, strlen(prefix)) == 0;
    }
    closedir(d);
    return n;
}

/* report copies stdin to $TMPDIR to read it again: Ctrl-C (or SIGTERM)
 * while stdin is still open ends it by the signal and removes that copy
 * too (it stayed behind), as well as its -o temporary. */
static void test_interrupt_removes_stdin_copy(void **state)
{
    (void)state;
    char tmpdir[128];
    assert_int_equal(ts_scratch_path(&g_scratch, "tmpdir", tmpdir, sizeof tmpdir), 0);
    assert_int_equal(mkdir(tmpdir, 0700), 0);
    write_file(g_html, precious, sizeof precious - 1u);
    static const int sigs[] = {SIGINT, SIGTERM};
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        int feed[2];
        assert_int_equal(pipe(feed), 0);
        fflush(stdout);
        fflush(stderr);
        pid_t pid = fork();
        assert_true(pid >= 0);
        if (pid == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            if (devnull < 0 || dup2(devnull, STDERR_FILENO) < 0 ||
                dup2(feed[0], STDIN_FILENO) < 0 || setenv("TMPDIR", tmpdir, 1) != 0) {
                _exit(99);
            }
            close(feed[0]);
            close(feed[1]);
            (void)signal(sigs[k], SIG_DFL);
            const char *const args[] = {"rtmem", "report", "-o", g_html, "-", NULL};
            ts_exec_tool(RTMEM_TEST_TOOL, args);
            _exit(98);
        }
        close(feed[0]);
        static const char start[] = "# rtmem-trace 1\na 1 100\n";
        assert_int_equal(write(feed[1], start, sizeof start - 1u), (ssize_t)(sizeof start - 1u));
        for (int tries = 0; tries < 3000 && count_named(tmpdir, "rtmem-report-") == 0; tries++) {
            const struct timespec ten_ms = {0, 10000000L};
            (void)nanosleep(&ten_ms, NULL);
        }
        bool made = count_named(tmpdir, "rtmem-report-") == 1;
        assert_int_equal(kill(pid, sigs[k]), 0);
        int status = 0;
        assert_int_equal(waitpid(pid, &status, 0), pid);
        close(feed[1]);
        size_t left = count_named(tmpdir, "");
        if (!made || !WIFSIGNALED(status) || WTERMSIG(status) != sigs[k] || left != 2u ||
            temporary_present() || !holds(g_html, precious, sizeof precious - 1u)) {
            fail_msg("signal %d: copy of stdin %s, status 0x%x, %zu entries left in TMPDIR "
                     "(2: '.' and '..')",
                     sigs[k], made ? "made" : "never made", (unsigned)status, left);
        }
    }
    assert_int_equal(rmdir(tmpdir), 0);
    (void)unlink(g_html);
}

/* report cannot copy stdin when $TMPDIR cannot hold a file: the message
 * names the file it could not make, in that directory, and why (it named
 * <stdin> with the reason of the copy's failure). */
static void test_unusable_tmpdir_named(void **state)
{
    (void)state;
    char not_dir[128], env[192];
    assert_int_equal(ts_scratch_path(&g_scratch, "not-a-dir", not_dir, sizeof not_dir), 0);
    write_file(not_dir, "x", 1);
    write_file(g_in, "# rtmem-trace 1\na 1 100\n", 24);
    static const struct {
        const char *sub; /* under the scratch directory; NULL: not-a-dir itself */
        const char *why;
    } cases[] = {
        {NULL, "Not a directory"},
        {"missing", "No such file or directory"},
    };
    for (size_t k = 0; k < sizeof cases / sizeof cases[0]; k++) {
        char dir[160];
        if (cases[k].sub != NULL) {
            (void)snprintf(dir, sizeof dir, "%s/%s", g_scratch.dir, cases[k].sub);
        } else {
            (void)snprintf(dir, sizeof dir, "%s", not_dir);
        }
        (void)snprintf(env, sizeof env, "TMPDIR=%s", dir);
        const ts_tool_run_t r = {.tool = RTMEM_TEST_TOOL, .out_path = g_outf,
                                 .err_path = g_errf, .err_fd = -1, .env = env, .in_path = g_in};
        const char *const args[] = {"rtmem", "report", "-o", g_html, "-", NULL};
        int rc = ts_run_tool(&r, args);
        (void)ts_read_file(g_errf, g_err, sizeof g_err);
        char want[320];
        (void)snprintf(want, sizeof want, "cannot copy <stdin> to %s/rtmem-report-XXXXXX: %s",
                       dir, cases[k].why);
        if (rc != 2 || strstr(g_err, want) == NULL) {
            fail_msg("TMPDIR=%s: expected exit 2 and '%s', got %d and '%s'", dir, want, rc,
                     g_err);
        }
    }
    (void)unlink(not_dir);
    (void)unlink(g_html);
}

/* --- streaming: memory bounded by the live blocks ------------------------------ */

/* A trace of pairs alloc/free with 64 blocks live at most, ending with
 * them live (so leaks and folded have something to report). */
static void write_churn(const char *path, unsigned long pairs)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fprintf(f, "# rtmem-trace 1\n");
    for (unsigned long i = 1; i <= pairs; i++) {
        fprintf(f, "a %lu %lu caller=0x%lx\n", i, 16u + i % 200u, 0x1000ul + i % 7u);
        if (i > 64u) {
            fprintf(f, "f %lu\n", i - 64u);
        }
    }
    assert_int_equal(fclose(f), 0);
}

/* The peak RSS (KiB) of one run of the tool: a child runs it and reports
 * its own children's figure, so each run is measured alone. */
static long run_maxrss(const char *const *args)
{
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        close(fds[0]);
        const ts_tool_run_t r = {.tool = RTMEM_TEST_TOOL, .out_path = "/dev/null",
                                 .err_path = "/dev/null", .err_fd = -1, .env = NULL};
        int rc = ts_run_tool(&r, args);
        struct rusage ru;
        long kb = getrusage(RUSAGE_CHILDREN, &ru) == 0 && rc <= 1 ? ru.ru_maxrss : -1;
        _exit(write(fds[1], &kb, sizeof kb) == (ssize_t)sizeof kb ? 0 : 1);
    }
    close(fds[1]);
    long kb = -1;
    assert_int_equal(read(fds[0], &kb, sizeof kb), (ssize_t)sizeof kb);
    close(fds[0]);
    int status = 0;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(kb > 0);
    return kb;
}

static void test_streaming_memory_bounded(void **state)
{
    (void)state;
    char small[128], big[128];
    assert_int_equal(ts_scratch_path(&g_scratch, "short.trace", small, sizeof small), 0);
    assert_int_equal(ts_scratch_path(&g_scratch, "long.trace", big, sizeof big), 0);
    write_churn(small, 2000u);
    /* 1.2 million events (about 17 MB): loading them (16 bytes each) or
     * keeping a record per freed block would add well over the margin */
    write_churn(big, 600000u);
    static const char *const modes[][6] = {
        {"replay", "--size", "1M", "--quiet", NULL},
        {"leaks", NULL},
        {"export", "--format", "folded", NULL},
        {"export", "--format", "folded", "--at", "peak", NULL},
    };
    for (size_t m = 0; m < sizeof modes / sizeof modes[0]; m++) {
        long kb[2];
        for (int which = 0; which < 2; which++) {
            const char *args[10] = {"rtmem"};
            size_t n = 1;
            for (size_t k = 0; modes[m][k] != NULL; k++) {
                args[n++] = modes[m][k];
            }
            args[n++] = which == 0 ? small : big;
            args[n] = NULL;
            kb[which] = run_maxrss(args);
        }
        if (kb[1] > kb[0] + 4096) {
            fail_msg("rtmem %s %s: peak RSS %ld KiB on the long trace, %ld KiB on the short one",
                     modes[m][0], modes[m][1] != NULL ? modes[m][1] : "", kb[1], kb[0]);
        }
    }
    (void)unlink(small);
    (void)unlink(big);
}

int main(void)
{
    signal(SIGPIPE, SIG_IGN);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_bom_and_crlf),
        cmocka_unit_test(test_header_versions),
        cmocka_unit_test(test_directory_as_trace),
        cmocka_unit_test(test_fifo_inputs),
        cmocka_unit_test(test_sums_past_64_bits),
        cmocka_unit_test(test_contradictory_telemetry),
        cmocka_unit_test(test_report_output_is_input),
        cmocka_unit_test(test_output_is_stdin),
        cmocka_unit_test(test_unreadable_input_keeps_output),
        cmocka_unit_test(test_malformed_input_replaces_output_with_its_good_part),
        cmocka_unit_test(test_unwritable_output_refused_before_reading),
        cmocka_unit_test(test_write_error_keeps_output),
        cmocka_unit_test(test_output_replaced_in_place),
        cmocka_unit_test(test_interrupt_removes_temporary),
        cmocka_unit_test(test_interrupt_removes_stdin_copy),
        cmocka_unit_test(test_unusable_tmpdir_named),
        cmocka_unit_test(test_streaming_memory_bounded),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
