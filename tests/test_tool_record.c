/*
 * rtmem record: runs tool_record_prog under the LD_PRELOAD recorder and
 * checks the trace: the known allocations in order, frees matched to their
 * IDs, IDs in allocation order, no event lost with 4 threads; and what
 * becomes of an earlier trace FILE (kept unless events were recorded and
 * PROGRAM ended, a crash included; kept when record itself is interrupted,
 * with no temporary left). RTMEM_TEST_TOOL is the built tool, run as a
 * process of its own for those.
 *
 * RTMEM_TEST_PRELOAD and RTMEM_TEST_RECORD_PROG (paths) come from CMake.
 * When the build's programs run under an emulator (an -m32 build on a
 * kernel without i386 execution: CMAKE_CROSSCOMPILING_EMULATOR, see
 * scripts/test.sh), CMake also gives RTMEM_TEST_EMULATOR_ARGV, the
 * emulator's command words, and the program is recorded through it: the
 * kernel could not exec it directly. The emulator passes LD_PRELOAD on to
 * the program's own loader.
 * Under AddressSanitizer the suite skips: ASan's runtime must come first in
 * the process and replaces malloc itself, so an LD_PRELOAD malloc shim and
 * ASan cannot be combined.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdbool.h>
#include <time.h>
#include <sys/stat.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include "leaks.h"
#include "record.h"
#include "support/tool_capture.h"

#if defined(__SANITIZE_ADDRESS__)
#define RTM_TEST_ASAN 1
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define RTM_TEST_ASAN 1
#endif
#endif

static int run_record(const char *a1, const char *a2, const char *a3, const char *a4, const char *a5)
{
    char *argv[8];
    int argc = 0;
    argv[argc++] = (char *)"record";
    const char *in[5] = {a1, a2, a3, a4, a5};
    for (int i = 0; i < 5 && in[i]; i++)
        argv[argc++] = (char *)in[i];
    argv[argc] = NULL;
    return rtm_cmd_record(argc, argv);
}

#ifndef RTM_TEST_ASAN
/* rtmem record [--json] -o OUT -- [emulator...] PROG [MODE]; with
 * captured != NULL, stdout is captured into it (cap bytes). */
static int record_prog_as(const char *prog, const char *out, const char *mode, int json, char *captured,
                          size_t cap)
{
    char *argv[20];
    int argc = 0;
    argv[argc++] = (char *)"record";
    if (json)
        argv[argc++] = (char *)"--json";
    argv[argc++] = (char *)"-o";
    argv[argc++] = (char *)out;
    argv[argc++] = (char *)"--";
#ifdef RTMEM_TEST_EMULATOR_ARGV
    static const char *const emulator[] = {RTMEM_TEST_EMULATOR_ARGV};
    for (size_t i = 0; i < sizeof emulator / sizeof emulator[0] && argc < 16; i++)
        argv[argc++] = (char *)emulator[i];
#endif
    argv[argc++] = (char *)prog;
    if (mode)
        argv[argc++] = (char *)mode;
    argv[argc] = NULL;
    if (!captured)
        return rtm_cmd_record(argc, argv);
    char cap_path[300];
    snprintf(cap_path, sizeof cap_path, "%s.stdout", out);
    const ts_capture_t c = {.out_path = cap_path, .out = captured, .out_cap = cap};
    return ts_capture_command(&c, rtm_cmd_record, argc, argv);
}

static int record_test_prog(const char *out)
{
    return record_prog_as(RTMEM_TEST_RECORD_PROG, out, NULL, 0, NULL, 0);
}

#define MAX_EV 20000

typedef struct {
    char type;
    unsigned long id, nid, size, align;
    char task[16];
} ev_t;

static ev_t ev[MAX_EV];
static size_t nev;
static char trace_path[256];

static void load_trace(void)
{
    FILE *f = fopen(trace_path, "r");
    assert_non_null(f);
    char line[512];
    assert_non_null(fgets(line, sizeof line, f));
    assert_string_equal(line, "# rtmem-trace 1\n");
    nev = 0;
    while (fgets(line, sizeof line, f)) {
        assert_true(strchr(line, '\n') != NULL); /* every line complete */
        if (line[0] == '#')
            continue;
        assert_true(nev < MAX_EV);
        ev_t *e = &ev[nev];
        memset(e, 0, sizeof *e);
        e->type = line[0];
        int n = 0;
        switch (line[0]) {
        case 'a': n = sscanf(line, "a %lu %lu", &e->id, &e->size); assert_int_equal(n, 2); break;
        case 'A': n = sscanf(line, "A %lu %lu %lu", &e->id, &e->size, &e->align); assert_int_equal(n, 3); break;
        case 'r': n = sscanf(line, "r %lu %lu %lu", &e->id, &e->nid, &e->size); assert_int_equal(n, 3); break;
        case 'f': n = sscanf(line, "f %lu", &e->id); assert_int_equal(n, 1); break;
        default: fail_msg("unexpected line: %s", line);
        }
        const char *t = strstr(line, " task=");
        assert_non_null(t);
        sscanf(t, " task=%15s", e->task);
        assert_non_null(strstr(line, " t="));
        assert_non_null(strstr(line, " caller=0x"));
        nev++;
    }
    fclose(f);
}

#endif /* !RTM_TEST_ASAN */

static void test_record_program(void **state)
{
    (void)state;
#ifdef RTM_TEST_ASAN
    print_message("SKIPPED: built with AddressSanitizer, which cannot run under an LD_PRELOAD malloc "
                  "shim (ASan must be the first library and owns malloc)\n");
    skip();
#else
    snprintf(trace_path, sizeof trace_path, "/tmp/rtmem_record_%ld.trace", (long)getpid());
    setenv("RTMEM_PRELOAD", RTMEM_TEST_PRELOAD, 1);
    assert_int_equal(record_test_prog(trace_path), 0);
    load_trace();

    /* IDs in allocation order; frees and reallocs refer to live IDs */
    static unsigned char live[MAX_EV + 2];
    memset(live, 0, sizeof live);
    unsigned long max_id = 0;
    for (size_t i = 0; i < nev; i++) {
        ev_t *e = &ev[i];
        if (e->type == 'a' || e->type == 'A') {
            assert_int_equal(e->id, max_id + 1);
            max_id = e->id;
            live[e->id] = 1;
        } else if (e->type == 'r') {
            assert_true(live[e->id]);
            live[e->id] = 0;
            if (e->nid != e->id) {
                assert_int_equal(e->nid, max_id + 1);
                max_id = e->nid;
            }
            live[e->nid] = 1;
        } else {
            assert_true(live[e->id]);
            live[e->id] = 0;
        }
        assert_true(max_id <= MAX_EV);
    }

    /* the known sequence right after the marker */
    size_t m = 0;
    while (m < nev && !(ev[m].type == 'a' && ev[m].size == 12345))
        m++;
    assert_true(m + 10 <= nev);
    unsigned long marker = ev[m].id;
    assert_true(ev[m + 1].type == 'a' && ev[m + 1].size == 11);
    unsigned long a = ev[m + 1].id;
    assert_true(ev[m + 2].type == 'a' && ev[m + 2].size == 21);
    assert_true(ev[m + 3].type == 'r' && ev[m + 3].id == ev[m + 2].id && ev[m + 3].size == 33);
    unsigned long b = ev[m + 3].nid;
    assert_true(ev[m + 4].type == 'A' && ev[m + 4].size == 100 && ev[m + 4].align == 64);
    unsigned long c = ev[m + 4].id;
    assert_true(ev[m + 5].type == 'A' && ev[m + 5].size == 64 && ev[m + 5].align == 32);
    unsigned long d = ev[m + 5].id;
    assert_true(ev[m + 6].type == 'A' && ev[m + 6].size == 48 && ev[m + 6].align == 16);
    unsigned long e6 = ev[m + 6].id;
    assert_true(ev[m + 7].type == 'f' && ev[m + 7].id == a);
    assert_true(ev[m + 8].type == 'f' && ev[m + 8].id == c);
    assert_true(ev[m + 9].type == 'f' && ev[m + 9].id == e6);
    assert_true(ev[m + 10].type == 'f' && ev[m + 10].id == marker);
    assert_true(live[b]);
    assert_true(live[d]);

    /* 4 threads x 1000 pairs + one kept block each: nothing lost */
    size_t n777 = 0, f777 = 0, n555 = 0, live555 = 0;
    static unsigned char is777[MAX_EV + 2];
    memset(is777, 0, sizeof is777);
    char tasks[4][16];
    size_t ntasks = 0;
    for (size_t i = 0; i < nev; i++) {
        if (ev[i].type == 'a' && ev[i].size == 777) {
            n777++;
            is777[ev[i].id] = 1;
            int seen = 0;
            for (size_t k = 0; k < ntasks; k++)
                seen |= strcmp(tasks[k], ev[i].task) == 0;
            if (!seen && ntasks < 4)
                strcpy(tasks[ntasks++], ev[i].task);
        } else if (ev[i].type == 'f' && is777[ev[i].id]) {
            f777++;
        } else if (ev[i].type == 'a' && ev[i].size == 555) {
            n555++;
            live555 += live[ev[i].id];
        }
    }
    assert_int_equal(n777, 4000);
    assert_int_equal(f777, 4000);
    assert_int_equal(n555, 4);
    assert_int_equal(live555, 4);
    assert_int_equal(ntasks, 4); /* four distinct threads named */

    /* rtmem leaks reads it back and, with the program's ELF, names the sites
     * (the trace carries the PIE's load range) */
    if (system("command -v addr2line >/dev/null 2>&1") == 0) {
        char cap_path[300], out[16384];
        snprintf(cap_path, sizeof cap_path, "%s.out", trace_path);
        char *largv[] = {(char *)"leaks", trace_path, (char *)"--json", (char *)"--elf",
                         (char *)RTMEM_TEST_RECORD_PROG, NULL};
        const ts_capture_t leaks_out = {.out_path = cap_path, .out = out, .out_cap = sizeof out};
        int rc = ts_capture_command(&leaks_out, rtm_cmd_leaks, 5, largv);
        assert_int_equal(rc, 1);
        assert_non_null(strstr(out, "{\"bytes\":2220,\"blocks\":4,\"min_size\":555"));
        assert_non_null(strstr(out, "\"function\":\"worker\""));
        assert_non_null(strstr(out, "tool_record_prog.c"));
    } else {
        print_message("addr2line not on PATH: symbolization of the recorded trace not checked\n");
    }
    remove(trace_path);
#endif
}

/* A program that ends without running destructors still leaves its
 * buffered events in the trace: _exit, _Exit, abort, SIGTERM, SIGSEGV. */
static void test_record_abrupt_endings(void **state)
{
    (void)state;
#ifdef RTM_TEST_ASAN
    print_message("SKIPPED: built with AddressSanitizer (see test_record_program)\n");
    skip();
#else
    static const struct {
        const char *mode;
        const char *json_end; /* exit status and signal in --json */
    } endings[] = {
        {"_exit", "\"exit_status\":3,\"signal\":0,"},
        {"_Exit", "\"exit_status\":4,\"signal\":0,"},
        {"abort", "\"exit_status\":-1,\"signal\":6,"},
        {"sigterm", "\"exit_status\":-1,\"signal\":15,"},
        {"segv", "\"exit_status\":-1,\"signal\":11,"},
    };
    snprintf(trace_path, sizeof trace_path, "/tmp/rtmem_record_end_%ld.trace", (long)getpid());
    setenv("RTMEM_PRELOAD", RTMEM_TEST_PRELOAD, 1);
    for (size_t k = 0; k < sizeof endings / sizeof endings[0]; k++) {
        char out[4096];
        int rc = record_prog_as(RTMEM_TEST_RECORD_PROG, trace_path, endings[k].mode, 1, out, sizeof out);
        print_message("%s: %s", endings[k].mode, out);
        assert_int_equal(rc, 1); /* the program failed; the trace is there */
        assert_non_null(strstr(out, "\"recorded\":true"));
        assert_non_null(strstr(out, endings[k].json_end));
        assert_non_null(strstr(out, "\"cause\":null"));
        load_trace();
        size_t found = 0;
        for (size_t i = 0; i < nev; i++)
            if (ev[i].type == 'a' && ev[i].size >= 4001 && ev[i].size <= 4003)
                found |= (size_t)1 << (ev[i].size - 4001);
        assert_int_equal(found, 7); /* all three kept blocks */
    }
    /* exec replaces the process without a destructor: the buffer is
     * written before it, whichever exec function the program calls (glibc
     * runs the list forms and fexecve through its internal execve) */
    static const char *const execs[] = {"exec", "execl", "execlp", "execle", "fexecve"};
    for (size_t k = 0; k < sizeof execs / sizeof execs[0]; k++) {
        char out[4096];
        int rc = record_prog_as(RTMEM_TEST_RECORD_PROG, trace_path, execs[k], 1, out, sizeof out);
        print_message("%s: %s", execs[k], out);
        assert_int_equal(rc, 0); /* 8 if the exec itself failed */
        assert_non_null(strstr(out, "\"recorded\":true"));
        load_trace();
        size_t kept = 0;
        for (size_t i = 0; i < nev; i++)
            if (ev[i].type == 'a' && ev[i].size >= 4001 && ev[i].size <= 4003)
                kept++;
        assert_int_equal(kept, 3);
    }
    /* an exec that fails returns to a program still recorded, and the
     * lines written before it are not written twice */
    char out[4096];
    int rc = record_prog_as(RTMEM_TEST_RECORD_PROG, trace_path, "execl_fails", 1, out, sizeof out);
    print_message("execl_fails: %s", out);
    assert_int_equal(rc, 0);
    load_trace();
    size_t seen[4] = {0};
    for (size_t i = 0; i < nev; i++)
        if (ev[i].type == 'a' && ev[i].size >= 4001 && ev[i].size <= 4004)
            seen[ev[i].size - 4001]++;
    for (size_t k = 0; k < 4; k++)
        assert_int_equal(seen[k], 1);
    remove(trace_path);
#endif
}

/* A program that takes over the recorder's descriptor (closes it and opens
 * its own file under the number, dup2 onto it: what a daemon closing
 * every descriptor does) keeps its file clean and loses no event; a
 * program started with stdout closed does not write into the trace. */
static void test_record_descriptors_taken(void **state)
{
    (void)state;
#ifdef RTM_TEST_ASAN
    print_message("SKIPPED: built with AddressSanitizer (see test_record_program)\n");
    skip();
#else
    snprintf(trace_path, sizeof trace_path, "/tmp/rtmem_record_fd_%ld.trace", (long)getpid());
    setenv("RTMEM_PRELOAD", RTMEM_TEST_PRELOAD, 1);
    char out[4096];
    int rc = record_prog_as(RTMEM_TEST_RECORD_PROG, trace_path, "dup2_over", 1, out, sizeof out);
    print_message("dup2_over: %s", out);
    assert_non_null(strstr(out, "\"exit_status\":0,")); /* 6: trace lines in its file */
    assert_int_equal(rc, 0);
    load_trace();
    size_t kept = 0, pairs = 0, frees = 0;
    for (size_t i = 0; i < nev; i++) {
        if (ev[i].type == 'a' && ev[i].size >= 4001 && ev[i].size <= 4003)
            kept++;
        if (ev[i].type == 'a' && ev[i].size == 999)
            pairs++;
        if (ev[i].type == 'f')
            frees++;
    }
    assert_int_equal(kept, 3);
    assert_int_equal(pairs, 2000);
    assert_true(frees >= 2000u);

    /* stdout closed when the program starts: the recorder's file must not
     * take descriptor 1, or the program's output lands in the trace */
    fflush(stdout);
    int saved = dup(1);
    assert_true(saved >= 0);
    close(1);
    rc = record_prog_as(RTMEM_TEST_RECORD_PROG, trace_path, "stdout", 0, NULL, 0);
    fflush(stdout);
    clearerr(stdout);
    assert_int_equal(dup2(saved, 1), 1);
    close(saved);
    assert_int_equal(rc, 0);
    load_trace(); /* fails on a line that is not an event */
    kept = 0;
    for (size_t i = 0; i < nev; i++)
        if (ev[i].type == 'a' && ev[i].size >= 4001 && ev[i].size <= 4003)
            kept++;
    assert_int_equal(kept, 3);
    remove(trace_path);
#endif
}

/* Nothing recorded is exit 2, and the message names the cause. */
static void test_record_nothing(void **state)
{
    (void)state;
#ifdef RTM_TEST_ASAN
    print_message("SKIPPED: built with AddressSanitizer (see test_record_program)\n");
    skip();
#else
    char path[256], out[4096];
    snprintf(path, sizeof path, "/tmp/rtmem_record_%ld.none", (long)getpid());
    setenv("RTMEM_PRELOAD", RTMEM_TEST_PRELOAD, 1);
    /* the program ran, exit status 0, but made no allocation */
    assert_int_equal(record_prog_as(RTMEM_TEST_RECORD_PROG, path, "none", 1, out, sizeof out), 2);
    assert_non_null(strstr(out, "\"recorded\":false,\"allocs\":0,"));
    assert_non_null(strstr(out, "\"exit_status\":0,"));
    assert_non_null(strstr(out, "\"cause\":\"no_allocation\""));
#if defined(RTMEM_TEST_RECORD_PROG_STATIC) && !defined(RTMEM_TEST_EMULATOR_ARGV)
    /* statically linked: the loader never ran the recorder */
    assert_int_equal(record_prog_as(RTMEM_TEST_RECORD_PROG_STATIC, path, NULL, 1, out, sizeof out), 2);
    assert_non_null(strstr(out, "\"recorded\":false,"));
    assert_non_null(strstr(out, "\"cause\":\"static\""));
#else
    print_message("no static C library (or an emulator runs the programs): the statically linked "
                  "case is not checked\n");
#endif
    remove(path);

    /* The shim's side of the status pipe: loaded, but the trace file could
     * not be opened -> it sends that open's errno (record.c then names the
     * file and the reason, cause "file_not_written"). */
    int fds[2];
    assert_int_equal(pipe(fds), 0);
    fflush(NULL);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        char fdnum[16];
        close(fds[0]);
        snprintf(fdnum, sizeof fdnum, "%d", fds[1]);
        setenv("LD_PRELOAD", RTMEM_TEST_PRELOAD, 1);
        setenv("RTMEM_RECORD_FILE", "/nonexistent-rtmem-dir/trace", 1);
        setenv("RTMEM_RECORD_STATUS_FD", fdnum, 1);
        char *argv[12];
        int argc = 0;
#ifdef RTMEM_TEST_EMULATOR_ARGV
        static const char *const emulator[] = {RTMEM_TEST_EMULATOR_ARGV};
        for (size_t i = 0; i < sizeof emulator / sizeof emulator[0] && argc < 8; i++)
            argv[argc++] = (char *)emulator[i];
#endif
        argv[argc++] = (char *)RTMEM_TEST_RECORD_PROG;
        argv[argc++] = (char *)"none";
        argv[argc] = NULL;
        execvp(argv[0], argv);
        _exit(127);
    }
    close(fds[1]);
    int status = 0, sent = -1;
    assert_int_equal(waitpid(pid, &status, 0), pid);
    assert_true(WIFEXITED(status) && WEXITSTATUS(status) == 0);
    assert_int_equal(read(fds[0], &sent, sizeof sent), (ssize_t)sizeof sent);
    assert_int_equal(sent, ENOENT);
    close(fds[0]);
#endif
}

#if !defined(RTM_TEST_ASAN)
/* `rtmem record -o OUT -- [emulator...] PROG MODE [EXTRA]` into a (at most
 * cap - 1 words, then NULL), as ts_run_tool and ts_exec_tool take it. */
static void record_tool_args(const char **a, size_t cap, const char *out, const char *mode,
                             const char *extra)
{
    size_t n = 0;
    a[n++] = "rtmem";
    a[n++] = "record";
    a[n++] = "-o";
    a[n++] = out;
    a[n++] = "--";
#ifdef RTMEM_TEST_EMULATOR_ARGV
    static const char *const emulator[] = {RTMEM_TEST_EMULATOR_ARGV};
    for (size_t i = 0; i < sizeof emulator / sizeof emulator[0]; i++) {
        assert_true(n + 4u < cap);
        a[n++] = emulator[i];
    }
#endif
    assert_true(n + 4u <= cap);
    a[n++] = RTMEM_TEST_RECORD_PROG;
    a[n++] = mode;
    if (extra != NULL)
        a[n++] = extra;
    a[n] = NULL;
}

/* true when dir holds a hidden file: a temporary trace of record's. */
static bool hidden_file_in(const char *dir)
{
    DIR *d = opendir(dir);
    assert_non_null(d);
    bool found = false;
    struct dirent *e;
    while (!found && (e = readdir(d)) != NULL)
        found = e->d_name[0] == '.' && strcmp(e->d_name, ".") != 0 && strcmp(e->d_name, "..") != 0;
    closedir(d);
    return found;
}

static const char earlier[] = "# rtmem-trace 1\na 1 8 t=0 task=T1 caller=0x1\n";

static bool holds_earlier(const char *path)
{
    char back[256];
    size_t n = ts_read_file(path, back, sizeof back);
    return n == sizeof earlier - 1u && memcmp(back, earlier, n) == 0;
}

static void write_earlier(const char *path)
{
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    assert_int_equal(fputs(earlier, f) >= 0, 1);
    assert_int_equal(fclose(f), 0);
}
#endif

/* FILE is replaced only by a trace that holds events, once PROGRAM has
 * ended: one that records nothing leaves an earlier trace as it was (it
 * was emptied to a header), and a crash still puts what was recorded in
 * place, saying so. Nothing is left next to FILE either way. */
static void test_record_replaces_only_with_events(void **state)
{
    (void)state;
#ifdef RTM_TEST_ASAN
    print_message("SKIPPED: built with AddressSanitizer (see test_record_program)\n");
    skip();
#else
    ts_scratch_t sc;
    assert_int_equal(ts_scratch_make(&sc, "rtm_record_keep"), 0);
    char out[128], outf[128], errf[128];
    assert_int_equal(ts_scratch_path(&sc, "t.trace", out, sizeof out), 0);
    assert_int_equal(ts_scratch_path(&sc, "stdout", outf, sizeof outf), 0);
    assert_int_equal(ts_scratch_path(&sc, "stderr", errf, sizeof errf), 0);
    setenv("RTMEM_PRELOAD", RTMEM_TEST_PRELOAD, 1);
    const ts_tool_run_t r = {.tool = RTMEM_TEST_TOOL, .out_path = outf, .err_path = errf,
                             .err_fd = -1};
    static char said[8192], complaint[8192];
    const char *args[24];

    write_earlier(out);
    record_tool_args(args, 24, out, "none", NULL);
    int rc = ts_run_tool(&r, args);
    (void)ts_read_file(errf, complaint, sizeof complaint);
    if (rc != 2 || !holds_earlier(out) || hidden_file_in(sc.dir) ||
        strstr(complaint, "nothing recorded (") == NULL ||
        strstr(complaint, "left as it was): ") == NULL)
        fail_msg("no allocation: exit %d, earlier trace %s, stderr '%s'", rc,
                 holds_earlier(out) ? "kept" : "lost", complaint);

    record_tool_args(args, 24, out, "segv", NULL);
    rc = ts_run_tool(&r, args);
    (void)ts_read_file(outf, said, sizeof said);
    assert_int_equal(rc, 1);
    assert_non_null(strstr(said, "was killed by signal 11 ("));
    assert_non_null(strstr(said, "holds the events recorded until then"));
    assert_false(hidden_file_in(sc.dir));
    snprintf(trace_path, sizeof trace_path, "%s", out);
    load_trace();
    size_t kept = 0;
    for (size_t i = 0; i < nev; i++)
        kept += ev[i].type == 'a' && ev[i].size >= 4001 && ev[i].size <= 4003;
    assert_int_equal(kept, 3);

    static const char *const names[] = {"t.trace", "stdout", "stderr"};
    assert_int_equal(ts_scratch_remove(&sc, names, sizeof names / sizeof names[0]), 0);
#endif
}

/* Ctrl-C or SIGTERM to rtmem record itself abandons the recording: FILE
 * keeps the earlier trace (it had been emptied when record started) and
 * the temporary is removed, also when PROGRAM, which did not get the
 * signal, runs on and its recorder opens the trace's path again (it
 * made a new file there). */
static void test_record_interrupted_keeps_earlier_trace(void **state)
{
    (void)state;
#if defined(RTM_TEST_ASAN) || !defined(__linux__)
    print_message("SKIPPED: AddressSanitizer (see test_record_program), or no /proc\n");
    skip();
#else
    ts_scratch_t sc;
    assert_int_equal(ts_scratch_make(&sc, "rtm_record_int"), 0);
    char out[128], marker[128], started[160], done[160];
    assert_int_equal(ts_scratch_path(&sc, "t.trace", out, sizeof out), 0);
    assert_int_equal(ts_scratch_path(&sc, "m", marker, sizeof marker), 0);
    snprintf(started, sizeof started, "%s.started", marker);
    snprintf(done, sizeof done, "%s.done", marker);
    setenv("RTMEM_PRELOAD", RTMEM_TEST_PRELOAD, 1);
    write_earlier(out);
    static const int sigs[] = {SIGINT, SIGTERM};
    for (size_t k = 0; k < sizeof sigs / sizeof sigs[0]; k++) {
        const char *args[24];
        record_tool_args(args, 24, out, "orphan", marker);
        fflush(NULL);
        pid_t rec = fork();
        assert_true(rec >= 0);
        if (rec == 0) {
            int devnull = open("/dev/null", O_WRONLY);
            if (devnull < 0 || dup2(devnull, STDOUT_FILENO) < 0 ||
                dup2(devnull, STDERR_FILENO) < 0)
                _exit(99);
            (void)signal(sigs[k], SIG_DFL);
            ts_exec_tool(RTMEM_TEST_TOOL, args);
            _exit(98);
        }
        const struct timespec ten_ms = {0, 10000000L};
        for (int i = 0; i < 3000 && access(started, F_OK) != 0; i++)
            (void)nanosleep(&ten_ms, NULL);
        char text[32] = "";
        (void)ts_read_file(started, text, sizeof text);
        long prog = atol(text);
        assert_true(prog > 0);
        bool made = hidden_file_in(sc.dir); /* the trace in the making */
        assert_int_equal(kill(rec, sigs[k]), 0);
        int status = 0;
        assert_int_equal(waitpid(rec, &status, 0), rec);
        if (!made || !WIFSIGNALED(status) || WTERMSIG(status) != sigs[k] || !holds_earlier(out))
            fail_msg("signal %d: temporary trace %s, record's status 0x%x, earlier trace %s",
                     sigs[k], made ? "made" : "never made", (unsigned)status,
                     holds_earlier(out) ? "kept" : "lost");
        /* PROGRAM, now without record, takes the recorder's descriptor and
         * allocates on; then it ends */
        for (int i = 0; i < 3000 && access(done, F_OK) != 0; i++)
            (void)nanosleep(&ten_ms, NULL);
        assert_int_equal(access(done, F_OK), 0);
        char stat_path[64];
        snprintf(stat_path, sizeof stat_path, "/proc/%ld/stat", prog);
        bool gone = false;
        for (int i = 0; i < 3000 && !gone; i++) {
            char st[512] = "";
            FILE *f = fopen(stat_path, "r");
            size_t n = f ? fread(st, 1, sizeof st - 1u, f) : 0;
            if (f)
                fclose(f);
            st[n] = '\0';
            const char *close_paren = strrchr(st, ')');
            gone = f == NULL || (close_paren && (close_paren[2] == 'Z' || close_paren[2] == 'X'));
            if (!gone)
                (void)nanosleep(&ten_ms, NULL);
        }
        assert_true(gone);
        if (hidden_file_in(sc.dir) || !holds_earlier(out))
            fail_msg("signal %d: after PROGRAM ended, a temporary %s next to FILE, earlier "
                     "trace %s", sigs[k], hidden_file_in(sc.dir) ? "is" : "is not",
                     holds_earlier(out) ? "kept" : "lost");
        assert_int_equal(unlink(started), 0);
        assert_int_equal(unlink(done), 0);
    }
    static const char *const names[] = {"t.trace"};
    assert_int_equal(ts_scratch_remove(&sc, names, 1), 0);
#endif
}

static void test_record_usage(void **state)
{
    (void)state;
    assert_int_equal(run_record("--help", NULL, NULL, NULL, NULL), 0);
    assert_int_equal(run_record(NULL, NULL, NULL, NULL, NULL), 2);
    assert_int_equal(run_record("--bogus", "--", "true", NULL, NULL), 2);
    assert_int_equal(run_record("-o", NULL, NULL, NULL, NULL), 2);
#ifndef RTM_TEST_ASAN
    char path[256];
    snprintf(path, sizeof path, "/tmp/rtmem_record_%ld.bad", (long)getpid());
    setenv("RTMEM_PRELOAD", RTMEM_TEST_PRELOAD, 1);
    /* A PROGRAM that cannot run is refused before FILE is touched: an
     * earlier trace survives a typo. */
    FILE *f = fopen(path, "w");
    assert_non_null(f);
    fputs("# rtmem-trace 1\na 1 8 t=0 task=T1 caller=0x1\n", f);
    fclose(f);
    char not_exec[300];
    snprintf(not_exec, sizeof not_exec, "%s.notexec", path);
    f = fopen(not_exec, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\nexit 0\n", f);
    fclose(f);
    const char *const cannot[] = {"/nonexistent/program", "rtmem-no-such-program-on-path", "/tmp",
                                  not_exec, ""};
    for (size_t k = 0; k < sizeof cannot / sizeof cannot[0]; k++) {
        assert_int_equal(run_record("-o", path, "--", cannot[k], NULL), 2);
        char kept[128] = "";
        f = fopen(path, "r");
        assert_non_null(f);
        size_t got = fread(kept, 1, sizeof kept - 1u, f);
        kept[got] = '\0';
        fclose(f);
        assert_string_equal(kept, "# rtmem-trace 1\na 1 8 t=0 task=T1 caller=0x1\n");
    }
    remove(not_exec);
    /* A relative FILE whose absolute path would not fit is refused before
     * it is touched; the path is never cut (a cut one names another
     * file). The directory is made deep one step at a time, from inside. */
    char home[PATH_MAX];
    assert_non_null(getcwd(home, sizeof home));
    char deep_root[64];
    snprintf(deep_root, sizeof deep_root, "/tmp/rtmem_record_deep_%ld", (long)getpid());
    assert_int_equal(mkdir(deep_root, 0700), 0);
    assert_int_equal(chdir(deep_root), 0);
    char step[201];
    memset(step, 'd', 200);
    step[200] = '\0';
    int depth = 0;
    for (; depth < 20; depth++) {
        assert_int_equal(mkdir(step, 0700), 0);
        assert_int_equal(chdir(step), 0);
    }
    char name[241];
    memset(name, 'f', 240);
    name[240] = '\0';
    f = fopen(name, "w");
    assert_non_null(f);
    fputs("# rtmem-trace 1\n", f);
    fclose(f);
    assert_int_equal(run_record("-o", name, "--", RTMEM_TEST_RECORD_PROG, NULL), 2);
    f = fopen(name, "r");
    assert_non_null(f);
    char first[32] = "";
    assert_non_null(fgets(first, sizeof first, f));
    assert_int_equal(fgetc(f), EOF);
    fclose(f);
    assert_string_equal(first, "# rtmem-trace 1\n");
    assert_int_equal(remove(name), 0);
    for (; depth > 0; depth--) {
        assert_int_equal(chdir(".."), 0);
        assert_int_equal(rmdir(step), 0);
    }
    assert_int_equal(chdir(home), 0);
    assert_int_equal(rmdir(deep_root), 0);
    setenv("RTMEM_PRELOAD", "/nonexistent/librtmem_preload.so", 1);
    assert_int_equal(run_record("-o", path, "--", RTMEM_TEST_RECORD_PROG, NULL), 2);
    remove(path);
#endif
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_record_program),
        cmocka_unit_test(test_record_abrupt_endings),
        cmocka_unit_test(test_record_descriptors_taken),
        cmocka_unit_test(test_record_nothing),
        cmocka_unit_test(test_record_replaces_only_with_events),
        cmocka_unit_test(test_record_interrupted_keeps_earlier_trace),
        cmocka_unit_test(test_record_usage),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
