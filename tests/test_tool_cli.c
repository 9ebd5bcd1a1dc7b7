/*
 * The rtmem tool's conventions: the shared command line (tools/rtmem/cli.c,
 * GNU style on getopt_long) and the shared JSON writer
 * (tools/rtmem/json_out.c). The parser on its own, with a table of every
 * option kind, is tried the way a user mistypes; then every command
 * (replay, compare, leaks, record) is run in this process to show that it
 * goes through it: --opt=value and --opt value alike, "--" ends options,
 * and the same one-line message for an unknown option. The writer's
 * documents are compared byte for byte, and its misuse checks are tried.
 * (tests/tool_json.py parses every command's real --json output.)
 */
#define _POSIX_C_SOURCE 200809L
#include <math.h>
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

#include "cli.h"
#include "commands.h"
#include "json_out.h"
#include "rtmem/heap.h"
#include "support/tool_capture.h"

static ts_scratch_t g_scratch;
static char g_path[160];
static char g_out[65536];
static char g_err[65536];

static int setup(void **state)
{
    (void)state;
    return ts_scratch_make(&g_scratch, "rtm_tool_cli");
}

static int teardown(void **state)
{
    (void)state;
    static const char *const names[] = {"out.txt", "err.txt", "t.trace", "rec.trace",
                                        "doc.json"};
    return ts_scratch_remove(&g_scratch, names, sizeof names / sizeof names[0]);
}

/* argv from a NULL-terminated list (a fresh, writable copy of the
 * pointers: getopt_long may reorder them). */
typedef struct argv_buf {
    char *v[32];
    int c;
} argv_buf_t;

static void make_argv(argv_buf_t *a, const char *const *words)
{
    a->c = 0;
    while (words[a->c] != NULL && a->c < 31) {
        a->v[a->c] = (char *)(uintptr_t)words[a->c];
        a->c++;
    }
    a->v[a->c] = NULL;
}

/* stdout into g_out and stderr into g_err, through out.txt and err.txt in
 * the scratch directory. */
static ts_capture_t into_globals(void)
{
    static char out_path[128], err_path[128];
    assert_int_equal(ts_scratch_path(&g_scratch, "out.txt", out_path, sizeof out_path), 0);
    assert_int_equal(ts_scratch_path(&g_scratch, "err.txt", err_path, sizeof err_path), 0);
    return (ts_capture_t){.out_path = out_path, .err_path = err_path, .out = g_out,
                          .out_cap = sizeof g_out, .err = g_err, .err_cap = sizeof g_err};
}

/* Runs body(argc, argv, ctx) with stdout into g_out and stderr into g_err. */
static int captured(ts_body_fn body, const char *const *words, void *ctx)
{
    argv_buf_t a;
    make_argv(&a, words);
    const ts_capture_t c = into_globals();
    return ts_capture_run(&c, body, a.c, a.v, ctx);
}

/* --- the parser on its own ----------------------------------------------------- */

typedef struct values {
    bool flag, quiet, flag_given, size_given;
    const char *output;
    size_t size;
    uint64_t big;
    unsigned count;
    int parity; /* the custom kind: an even number */
    rtm_cli_args_t args;
} values_t;

static bool parse_even(const char *value, void *dest)
{
    uint64_t v;
    if (!rtm_tool_parse_u64(value, &v) || v % 2u != 0 || v > 1000u) {
        return false;
    }
    *(int *)dest = (int)v;
    return true;
}

static const char t_usage[] = "usage: rtmem t [options] FILE...\n";

/* The spec of an imaginary command "t" over v; stop: record's mode. */
static rtm_cli_status_t parse_t(values_t *v, int argc, char **argv, bool stop, size_t max)
{
    const rtm_cli_opt_t opts[] = {
        {.name = "flag", .kind = RTM_CLI_FLAG, .dest = &v->flag, .given = &v->flag_given},
        {.name = "quiet", .short_name = 'q', .kind = RTM_CLI_FLAG, .dest = &v->quiet},
        {.name = "output", .short_name = 'o', .kind = RTM_CLI_STRING, .dest = &v->output},
        {.name = "size", .kind = RTM_CLI_SIZE, .dest = &v->size, .min = 16, .max = 1u << 20,
         .given = &v->size_given, .expect = "16 bytes..1M"},
        {.name = "sequence", .kind = RTM_CLI_U64, .dest = &v->big, .expect = "a number"},
        {.name = "count", .kind = RTM_CLI_UNSIGNED, .dest = &v->count, .min = 1, .max = 10,
         .expect = "1..10"},
        {.name = "parity", .kind = RTM_CLI_CUSTOM, .dest = &v->parity, .parse = parse_even,
         .expect = "an even number <= 1000"},
    };
    rtm_cli_spec_t spec = {
        .cmd = "t",
        .usage = t_usage,
        .opts = opts,
        .nopts = sizeof opts / sizeof opts[0],
        .operand = "FILE",
        .min_operands = 1,
        .max_operands = max,
        .stop_at_operand = stop,
    };
    return rtm_cli_parse(&spec, argc, argv, &v->args);
}

static values_t g_v;

static int body_t(int argc, char **argv, void *ctx)
{
    (void)ctx;
    memset(&g_v, 0, sizeof g_v);
    return (int)parse_t(&g_v, argc, argv, false, 3);
}

static int body_t_stop(int argc, char **argv, void *ctx)
{
    (void)ctx;
    memset(&g_v, 0, sizeof g_v);
    return (int)parse_t(&g_v, argc, argv, true, 0);
}

static int body_t_one(int argc, char **argv, void *ctx)
{
    (void)ctx;
    memset(&g_v, 0, sizeof g_v);
    return (int)parse_t(&g_v, argc, argv, false, 1);
}

#define T(...) ((const char *const[]){"t", __VA_ARGS__, NULL})

static void test_value_forms(void **state)
{
    (void)state;
    /* --opt=value and --opt value give the same, for every kind */
    const char *const *const forms[] = {
        T("--size=64K", "--sequence=18446744073709551615", "--count=7", "--parity=42",
          "--output=o.txt", "--flag", "-q", "a"),
        T("--size", "64K", "--sequence", "18446744073709551615", "--count", "7", "--parity", "42",
          "--output", "o.txt", "--flag", "--quiet", "a"),
        T("a", "-qo", "o.txt", "--siz", "64K", "--seq=18446744073709551615", "--cou", "7",
          "--par=42", "--fl"),
        T("-oo.txt", "--size=65536", "--sequence", "18446744073709551615", "--count=07",
          "--parity", "42", "--flag", "a", "-q"),
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        assert_int_equal(captured(body_t, forms[i], NULL), RTM_CLI_RUN);
        assert_string_equal(g_err, "");
        assert_true(g_v.flag && g_v.flag_given && g_v.quiet && g_v.size_given);
        assert_int_equal(g_v.size, 65536);
        assert_true(g_v.big == UINT64_MAX);
        assert_int_equal(g_v.count, 7);
        assert_int_equal(g_v.parity, 42);
        assert_string_equal(g_v.output, "o.txt");
        assert_int_equal(g_v.args.noperands, 1);
        assert_string_equal(g_v.args.operands[0], "a");
    }
    /* a value that starts with '-' is still the option's value */
    assert_int_equal(captured(body_t, T("--output", "-x", "a"), NULL), RTM_CLI_RUN);
    assert_string_equal(g_v.output, "-x");
    /* given twice: the last one counts; left alone when not given */
    assert_int_equal(captured(body_t, T("--count=2", "a", "--count", "3"), NULL), RTM_CLI_RUN);
    assert_int_equal(g_v.count, 3);
    assert_false(g_v.size_given);
    assert_int_equal(g_v.size, 0);
}

static void test_operands(void **state)
{
    (void)state;
    /* in order, options between them; "-" is an operand; "--" ends options */
    assert_int_equal(captured(body_t, T("x", "--flag", "-", "--", "--count=99", "-q"), NULL),
                     RTM_CLI_BAD);
    assert_string_equal(g_err, "rtmem t: at most 3 FILEs\n");
    assert_int_equal(captured(body_t, T("x", "--flag", "-", "--", "-q"), NULL), RTM_CLI_RUN);
    assert_int_equal(g_v.args.noperands, 3);
    assert_string_equal(g_v.args.operands[0], "x");
    assert_string_equal(g_v.args.operands[1], "-");
    assert_string_equal(g_v.args.operands[2], "-q");
    assert_true(g_v.flag);
    assert_false(g_v.quiet);
    /* POSIXLY_CORRECT does not change that options may follow operands */
    assert_int_equal(setenv("POSIXLY_CORRECT", "1", 1), 0);
    assert_int_equal(captured(body_t, T("x", "--flag"), NULL), RTM_CLI_RUN);
    assert_true(g_v.flag);
    assert_int_equal(unsetenv("POSIXLY_CORRECT"), 0);

    /* stop at the first operand: the rest is left in argv */
    assert_int_equal(captured(body_t_stop, T("-q", "prog", "--flag", "-o"), NULL), RTM_CLI_RUN);
    assert_true(g_v.quiet);
    assert_false(g_v.flag);
    assert_int_equal(g_v.args.rest, 2);
    assert_int_equal(captured(body_t_stop, T("--", "--flag"), NULL), RTM_CLI_RUN);
    assert_int_equal(g_v.args.rest, 2);
    assert_false(g_v.flag);
    assert_int_equal(captured(body_t_stop, T("-q"), NULL), RTM_CLI_RUN);
    assert_int_equal(g_v.args.rest, 2);

    /* counts */
    assert_int_equal(captured(body_t, T("--flag"), NULL), RTM_CLI_BAD);
    assert_string_equal(g_err, "rtmem t: no FILE given (see rtmem t --help)\n");
    assert_int_equal(captured(body_t_one, T("a", "b"), NULL), RTM_CLI_BAD);
    assert_string_equal(g_err, "rtmem t: one FILE only ('a' and 'b')\n");
}

typedef struct bad_case {
    const char *const *argv;
    const char *err;
} bad_case_t;

static void test_bad_usage(void **state)
{
    (void)state;
    const bad_case_t cases[] = {
        {T("a", "--x"), "rtmem t: unknown option '--x' (see rtmem t --help)\n"},
        {T("--x=1", "a"), "rtmem t: unknown option '--x' (see rtmem t --help)\n"},
        {T("--flagg", "a"), "rtmem t: unknown option '--flagg' (see rtmem t --help)\n"},
        {T("-z", "a"), "rtmem t: unknown option '-z' (see rtmem t --help)\n"},
        {T("-qz", "a"), "rtmem t: unknown option '-z' (see rtmem t --help)\n"},
        {T("-flag", "a"), "rtmem t: unknown option '-f' (see rtmem t --help)\n"},
        {T("--s", "1K", "a"), "rtmem t: ambiguous option '--s' (--size, --sequence)\n"},
        {T("a", "--size"), "rtmem t: --size needs a value\n"},
        {T("a", "-o"), "rtmem t: -o needs a value\n"},
        {T("a", "--output"), "rtmem t: --output needs a value\n"},
        {T("a", "--flag=1"), "rtmem t: --flag takes no value\n"},
        {T("a", "--help=yes"), "rtmem t: --help takes no value\n"},
        {T("a", "--output="), "rtmem t: --output needs a value, not an empty string\n"},
        /* range-checked values: overflow, negative, trailing junk, limits */
        {T("a", "--size=8"), "rtmem t: --size needs 16 bytes..1M, not '8'\n"},
        {T("a", "--size", "2M"), "rtmem t: --size needs 16 bytes..1M, not '2M'\n"},
        {T("a", "--size=-64K"), "rtmem t: --size needs 16 bytes..1M, not '-64K'\n"},
        {T("a", "--size=1T"), "rtmem t: --size needs 16 bytes..1M, not '1T'\n"},
        {T("a", "--size=99999999999999999999K"),
         "rtmem t: --size needs 16 bytes..1M, not '99999999999999999999K'\n"},
        {T("a", "--sequence=18446744073709551616"),
         "rtmem t: --sequence needs a number, not '18446744073709551616'\n"},
        {T("a", "--sequence", "-1"), "rtmem t: --sequence needs a number, not '-1'\n"},
        {T("a", "--sequence=+1"), "rtmem t: --sequence needs a number, not '+1'\n"},
        {T("a", "--sequence=1x"), "rtmem t: --sequence needs a number, not '1x'\n"},
        {T("a", "--sequence= 1"), "rtmem t: --sequence needs a number, not ' 1'\n"},
        {T("a", "--sequence=0x10"), "rtmem t: --sequence needs a number, not '0x10'\n"},
        {T("a", "--sequence="), "rtmem t: --sequence needs a number, not ''\n"},
        {T("a", "--count=0"), "rtmem t: --count needs 1..10, not '0'\n"},
        {T("a", "--count=11"), "rtmem t: --count needs 1..10, not '11'\n"},
        {T("a", "--count=4294967297"), "rtmem t: --count needs 1..10, not '4294967297'\n"},
        {T("a", "--parity=3"), "rtmem t: --parity needs an even number <= 1000, not '3'\n"},
        /* what the user typed is quoted escaped */
        {T("a", "--\x1b[2Jx"), "rtmem t: unknown option '--\\x1b[2Jx' (see rtmem t --help)\n"},
        {T("a", "--count=\x1b[2J"), "rtmem t: --count needs 1..10, not '\\x1b[2J'\n"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        int st = captured(body_t, cases[i].argv, NULL);
        if (st != RTM_CLI_BAD || strcmp(g_err, cases[i].err) != 0) {
            fail_msg("case %zu: status %d, stderr '%s', expected '%s'", i, st, g_err,
                     cases[i].err);
        }
        assert_string_equal(g_out, "");
    }
    assert_int_equal(rtm_cli_exit_status(RTM_CLI_BAD), 2);
}

static void test_help(void **state)
{
    (void)state;
    const char *const *const asks[] = {T("--help"), T("-h"), T("a", "--he"), T("-qh")};
    for (size_t i = 0; i < sizeof asks / sizeof asks[0]; i++) {
        assert_int_equal(captured(body_t, asks[i], NULL), RTM_CLI_HELP);
        assert_string_equal(g_out, t_usage);
        assert_string_equal(g_err, "");
    }
    assert_int_equal(rtm_cli_exit_status(RTM_CLI_HELP), 0);
    /* in order: a bad option before --help is reported */
    assert_int_equal(captured(body_t, T("--x", "--help"), NULL), RTM_CLI_BAD);
    /* after "--", --help is an operand */
    assert_int_equal(captured(body_t, T("--", "--help"), NULL), RTM_CLI_RUN);
    assert_string_equal(g_v.args.operands[0], "--help");
}

/* An error in the middle of a cluster ("-qz") leaves getopt inside it; the
 * next parse must start afresh all the same. */
static void test_parses_in_a_row(void **state)
{
    (void)state;
    for (int round = 0; round < 3; round++) {
        assert_int_equal(captured(body_t, T("-qzq", "a"), NULL), RTM_CLI_BAD);
        assert_int_equal(captured(body_t, T("-q", "b"), NULL), RTM_CLI_RUN);
        assert_true(g_v.quiet);
        assert_string_equal(g_v.args.operands[0], "b");
        assert_int_equal(captured(body_t_stop, T("-q", "p"), NULL), RTM_CLI_RUN);
        assert_int_equal(g_v.args.rest, 2);
        assert_int_equal(captured(body_t, T("b", "--size"), NULL), RTM_CLI_BAD);
    }
}

static int body_bad_spec(int argc, char **argv, void *ctx)
{
    int which = *(int *)ctx;
    uint64_t v = 0;
    bool f = false;
    rtm_cli_opt_t opt = {.name = "n", .kind = RTM_CLI_U64, .dest = &v}; /* no expect */
    if (which == 1) {
        opt = (rtm_cli_opt_t){.name = "x", .short_name = 'h', .kind = RTM_CLI_FLAG, .dest = &f};
    } else if (which == 2) {
        opt = (rtm_cli_opt_t){.name = "x", .kind = RTM_CLI_CUSTOM, .dest = &v, .expect = "?"};
    }
    rtm_cli_spec_t spec = {.cmd = "t", .opts = &opt, .nopts = 1, .operand = "F",
                           .max_operands = 1};
    rtm_cli_args_t args;
    return (int)rtm_cli_parse(&spec, argc, argv, &args);
}

static void test_bad_spec(void **state)
{
    (void)state;
    for (int which = 0; which < 3; which++) {
        assert_int_equal(captured(body_bad_spec, T("a"), &which), RTM_CLI_BAD);
        assert_non_null(strstr(g_err, "internal error"));
    }
}

/* --- every command goes through it -------------------------------------------- */

static int run_cmd(ts_command_fn fn, const char *const *words)
{
    argv_buf_t a;
    make_argv(&a, words);
    const ts_capture_t c = into_globals();
    return ts_capture_command(&c, fn, a.c, a.v);
}

static const char *write_trace(void)
{
    assert_int_equal(ts_scratch_path(&g_scratch, "t.trace", g_path, sizeof g_path), 0);
    FILE *f = fopen(g_path, "w");
    assert_non_null(f);
    fputs("# rtmem-trace 1\na 1 100 seq=1\na 2 200 seq=2\nf 1 seq=3\na 3 50 seq=4\n", f);
    assert_int_equal(fclose(f), 0);
    return g_path;
}

#define ARGS(...) ((const char *const[]){__VA_ARGS__, NULL})

static void test_every_command_unknown_option(void **state)
{
    (void)state;
    const char *tr = write_trace();
    static const struct {
        ts_command_fn fn;
        const char *name;
    } cmds[] = {
        {rtm_cmd_replay, "replay"},
        {rtm_cmd_compare, "compare"},
        {rtm_cmd_leaks, "leaks"},
        {rtm_cmd_record, "record"},
    };
    for (size_t i = 0; i < sizeof cmds / sizeof cmds[0]; i++) {
        char want[128];
        (void)snprintf(want, sizeof want, "rtmem %s: unknown option '--x' (see rtmem %s --help)\n",
                       cmds[i].name, cmds[i].name);
        assert_int_equal(run_cmd(cmds[i].fn, ARGS(cmds[i].name, "--x=1", tr)), 2);
        assert_string_equal(g_err, want);
        assert_int_equal(run_cmd(cmds[i].fn, ARGS(cmds[i].name, "--help")), 0);
        assert_non_null(strstr(g_out, "usage: rtmem "));
        assert_int_equal(run_cmd(cmds[i].fn, ARGS(cmds[i].name, "--json=yes", tr)), 2);
        (void)snprintf(want, sizeof want, "rtmem %s: --json takes no value\n", cmds[i].name);
        assert_string_equal(g_err, want);
    }
}

static void test_replay_options_both_forms(void **state)
{
    (void)state;
    const char *tr = write_trace();
    static const char *const want[] = {"\"strategy\":\"best_fit\"", "\"heap_size\":8192",
                                       "\"granularity\":16", "\"command\":\"replay\""};
    for (int form = 0; form < 3; form++) {
        const char *const *a =
            form == 0 ? ARGS("replay", tr, "--strategy=best_fit", "--size=8K", "--align=16",
                             "--lenient", "--json", "--quiet")
            : form == 1 ? ARGS("replay", "--strategy", "best_fit", "--size", "8K", "--align",
                               "16", "--lenient", "--json", "-q", tr)
                        : ARGS("replay", "--str=best_fit", "--si", "8K", "--al=16", "--len",
                               "--js", "-q", "--", tr);
        assert_int_equal(run_cmd(rtm_cmd_replay, a), 0);
        for (size_t k = 0; k < sizeof want / sizeof want[0]; k++) {
            assert_non_null(strstr(g_out, want[k]));
        }
    }
    assert_int_equal(run_cmd(rtm_cmd_replay, ARGS("replay", tr, "--regions=rp2040", "--json")), 0);
    assert_non_null(strstr(g_out, "\"regions\":\"rp2040\""));
    assert_int_equal(run_cmd(rtm_cmd_replay, ARGS("replay", tr, "--regions", "rp2040", "--json")),
                     0);
    assert_non_null(strstr(g_out, "\"regions\":\"rp2040\""));
    /* "--" makes a name that starts with '-' a trace */
    assert_int_equal(run_cmd(rtm_cmd_replay, ARGS("replay", "--", "-no-such.trace")), 2);
    assert_non_null(strstr(g_err, "-no-such.trace: No such file"));
    /* Values that pass as numbers but no heap takes: named with their
     * option, before anything is read. */
    assert_int_equal(run_cmd(rtm_cmd_replay, ARGS("replay", tr, "--align=2147483648")), 2);
    assert_string_equal(g_err,
                        "rtmem replay: --align needs a power of two from 4 to 1G, not '2147483648'\n");
    assert_int_equal(run_cmd(rtm_cmd_replay, ARGS("replay", tr, "--align=1G", "--size=64K")), 2);
    assert_non_null(strstr(g_err, "rtmem replay: --size 65536: region is smaller than"));
    assert_int_equal(run_cmd(rtm_cmd_replay, ARGS("replay", tr, "--size=1")), 2);
    char want_small[160];
    rtm_heap_config_t tlsf8 = {.strategy = &rtm_strategy_tlsf};
    (void)snprintf(want_small, sizeof want_small,
                   "rtmem replay: --size 1: region is smaller than rtm_heap_min_size() (a tlsf "
                   "heap at granularity 8 needs %zu bytes)\n",
                   rtm_heap_min_size(&tlsf8));
    assert_string_equal(g_err, want_small);
    assert_int_equal(run_cmd(rtm_cmd_compare, ARGS("compare", tr, "--size=1")), 2);
    assert_non_null(strstr(g_err, "rtmem compare: --size 1: region is smaller than"));
    if (SIZE_MAX > UINT32_MAX) {
        assert_int_equal(run_cmd(rtm_cmd_replay, ARGS("replay", tr, "--size=16G")), 2);
        assert_string_equal(g_err, "rtmem replay: --size 17179869184: region is larger than 4 GiB "
                                   "or runs past the end of memory\n");
    }
    /* replay takes no compare options */
    assert_int_equal(run_cmd(rtm_cmd_replay, ARGS("replay", tr, "--jobs=2")), 2);
    assert_string_equal(g_err, "rtmem replay: unknown option '--jobs' (see rtmem replay --help)\n");
}

static void test_compare_options_both_forms(void **state)
{
    (void)state;
    const char *tr = write_trace();
    for (int form = 0; form < 2; form++) {
        const char *const *a =
            form == 0 ? ARGS("compare", tr, "--strategy=tlsf", "--size=64K", "--align=8",
                             "--budget=0", "--jobs=1", "--lenient", "--json", "--quiet")
                      : ARGS("compare", "--strategy", "tlsf", "--size", "64K", "--align", "8",
                             "--budget", "0", "--jobs", "1", "--lenient", "--json", "-q", "--",
                             tr);
        assert_int_equal(run_cmd(rtm_cmd_compare, a), 0);
        assert_non_null(strstr(g_out, "{\"schema\":1,\"command\":\"compare\",\"traces\":[{"));
        assert_non_null(strstr(g_out, "\"strategies\":[{\"strategy\":\"tlsf\""));
        assert_null(strstr(g_out, "first_fit"));
    }
    static const char *const bad[][2] = {
        {"--jobs=0", "rtmem compare: --jobs needs a number of processes, 1..64, not '0'\n"},
        {"--jobs=65", "rtmem compare: --jobs needs a number of processes, 1..64, not '65'\n"},
        {"--budget=86401",
         "rtmem compare: --budget needs seconds, 0..86400 (0 = no limit), not '86401'\n"},
        {"--budget=-1", "rtmem compare: --budget needs seconds, 0..86400 (0 = no limit), not '-1'\n"},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        assert_int_equal(run_cmd(rtm_cmd_compare, ARGS("compare", tr, bad[i][0])), 2);
        assert_string_equal(g_err, bad[i][1]);
    }
}

static void test_leaks_options_both_forms(void **state)
{
    (void)state;
    const char *tr = write_trace();
    const char *const *const forms[] = {
        ARGS("leaks", tr, "--since=2", "--json"),
        ARGS("leaks", "--since", "2", "--json", tr),
        ARGS("leaks", "--si=2", "--js", "--", tr),
    };
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        assert_int_equal(run_cmd(rtm_cmd_leaks, forms[i]), 1);
        assert_non_null(strstr(g_out, "{\"schema\":1,\"command\":\"leaks\","));
        assert_non_null(strstr(g_out, "\"since_seq\":2,\"blocks\":2,"));
    }
    /* --elf and --addr2line reach the symbolizer in both forms */
    const char *const *const elf_forms[] = {
        ARGS("leaks", tr, "--elf=/no/such.elf", "--addr2line=/no/addr2line"),
        ARGS("leaks", tr, "--elf", "/no/such.elf", "--addr2line", "/no/addr2line"),
    };
    static char first[sizeof g_err];
    for (size_t i = 0; i < sizeof elf_forms / sizeof elf_forms[0]; i++) {
        assert_int_equal(run_cmd(rtm_cmd_leaks, elf_forms[i]), 2);
        assert_non_null(strstr(g_err, "rtmem leaks: "));
        if (i == 0) {
            memcpy(first, g_err, sizeof first);
        } else {
            assert_string_equal(g_err, first);
        }
    }
}

static void test_record_options_both_forms(void **state)
{
    (void)state;
    /* a preload that exists (never loaded: PROGRAM does not exist) */
    char self[512];
    ssize_t n = readlink("/proc/self/exe", self, sizeof self - 1u);
    assert_true(n > 0);
    self[n] = '\0';
    const char *old = getenv("RTMEM_PRELOAD");
    char saved[512] = "";
    if (old != NULL) {
        (void)snprintf(saved, sizeof saved, "%s", old);
    }
    assert_int_equal(setenv("RTMEM_PRELOAD", self, 1), 0);
    char out[200], out_opt[220], out_short[220];
    assert_int_equal(ts_scratch_path(&g_scratch, "rec.trace", out, sizeof out), 0);
    (void)snprintf(out_opt, sizeof out_opt, "--output=%s", out);
    (void)snprintf(out_short, sizeof out_short, "-o%s", out);
    static const char prog[] = "/nonexistent/program";
    const char *const *const forms[] = {
        ARGS("record", out_opt, "--json", "--", prog),
        ARGS("record", "--output", out, "--json", prog),
        ARGS("record", "--json", "-o", out, prog),
        ARGS("record", out_short, "--js", "--", prog),
    };
    /* a PROGRAM that cannot run is refused before -o's file is touched;
     * the message names that file, so each form's -o was taken */
    char expected[400];
    (void)snprintf(expected, sizeof expected,
                   "rtmem record: cannot run /nonexistent/program: No such file or directory "
                   "(%s left as it was)\n", out);
    for (size_t i = 0; i < sizeof forms / sizeof forms[0]; i++) {
        (void)remove(out);
        assert_int_equal(run_cmd(rtm_cmd_record, forms[i]), 2);
        assert_string_equal(g_err, expected);
        assert_int_not_equal(access(out, F_OK), 0);
    }
    /* options stop at PROGRAM: its own options are its own */
    assert_int_equal(run_cmd(rtm_cmd_record, ARGS("record", "-o", out, prog, "--x", "-o")), 2);
    assert_non_null(strstr(g_err, "cannot run /nonexistent/program"));
    /* "--" lets PROGRAM start with '-' */
    assert_int_equal(run_cmd(rtm_cmd_record, ARGS("record", "-o", out, "--", "--json")), 2);
    assert_non_null(strstr(g_err, "rtmem record: cannot run --json: No such file or directory ("));
    assert_int_equal(run_cmd(rtm_cmd_record, ARGS("record", "-o", out, "--")), 2);
    assert_string_equal(g_err, "rtmem record: no PROGRAM given (see rtmem record --help)\n");
    assert_int_equal(run_cmd(rtm_cmd_record, ARGS("record", "-o")), 2);
    assert_string_equal(g_err, "rtmem record: -o needs a value\n");
    if (old != NULL) {
        assert_int_equal(setenv("RTMEM_PRELOAD", saved, 1), 0);
    } else {
        assert_int_equal(unsetenv("RTMEM_PRELOAD"), 0);
    }
}

/* --- the JSON writer --------------------------------------------------------------- */

/* Writes a document with body(j) into a file and reads it back into g_out;
 * returns what rtm_json_end_doc returned. */
static bool json_doc(void (*body)(rtm_json_t *j))
{
    char path[160];
    assert_int_equal(ts_scratch_path(&g_scratch, "doc.json", path, sizeof path), 0);
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    rtm_json_t j;
    rtm_json_begin_doc(&j, f, "test");
    body(&j);
    bool ok = rtm_json_end_doc(&j);
    assert_int_equal(fclose(f), 0);
    (void)ts_read_file(path, g_out, sizeof g_out);
    return ok;
}

static void doc_every_kind(rtm_json_t *j)
{
    rtm_json_kv_str(j, "s", "t\xc3\xa9st \"q\" \\ \x1b \xff");
    rtm_json_kv_str(j, "none", NULL);
    rtm_json_kv_u64(j, "u", UINT64_MAX);
    rtm_json_kv_i64(j, "i", INT64_MIN);
    rtm_json_kv_double(j, "d", 0.123456, 4);
    rtm_json_kv_double(j, "nan", NAN, 2);
    rtm_json_kv_double(j, "inf", -INFINITY, 2);
    rtm_json_kv_bool(j, "t", true);
    rtm_json_kv_bool(j, "f", false);
    rtm_json_kv_null(j, "n");
    rtm_json_key(j, "h");
    rtm_json_hex(j, 0x400d1234u);
    rtm_json_key(j, "a");
    rtm_json_begin_array(j);
    rtm_json_u64(j, 1);
    rtm_json_begin_object(j);
    rtm_json_end_object(j);
    rtm_json_begin_array(j);
    rtm_json_end_array(j);
    rtm_json_begin_object(j);
    rtm_json_kv_u64(j, "x", 2);
    rtm_json_kv_str(j, "y", "");
    rtm_json_end_object(j);
    rtm_json_str(j, "z");
    rtm_json_end_array(j);
    rtm_json_key(j, "empty");
    rtm_json_begin_array(j);
    rtm_json_end_array(j);
}

static void test_json_document(void **state)
{
    (void)state;
    assert_true(json_doc(doc_every_kind));
    assert_string_equal(g_out,
                        "{\"schema\":1,\"command\":\"test\","
                        "\"s\":\"t\xc3\xa9st \\\"q\\\" \\\\ \\u001b \\ufffd\",\"none\":null,"
                        "\"u\":18446744073709551615,\"i\":-9223372036854775808,\"d\":0.1235,"
                        "\"nan\":null,\"inf\":null,\"t\":true,\"f\":false,\"n\":null,"
                        "\"h\":\"0x400d1234\","
                        "\"a\":[1,{},[],{\"x\":2,\"y\":\"\"},\"z\"],\"empty\":[]}\n");
}

static void misuse_value_without_key(rtm_json_t *j)
{
    rtm_json_u64(j, 1);
}

static void misuse_key_in_array(rtm_json_t *j)
{
    rtm_json_key(j, "a");
    rtm_json_begin_array(j);
    rtm_json_key(j, "b");
    rtm_json_end_array(j);
}

static void misuse_key_after_key(rtm_json_t *j)
{
    rtm_json_key(j, "a");
    rtm_json_key(j, "b");
    rtm_json_u64(j, 1);
}

static void misuse_wrong_end(rtm_json_t *j)
{
    rtm_json_key(j, "a");
    rtm_json_begin_array(j);
    rtm_json_end_object(j);
}

static void misuse_end_too_often(rtm_json_t *j)
{
    rtm_json_end_object(j);
    rtm_json_end_object(j);
}

static void misuse_too_deep(rtm_json_t *j)
{
    rtm_json_key(j, "a");
    for (unsigned i = 0; i < RTM_JSON_DEPTH_MAX; i++) {
        rtm_json_begin_array(j);
    }
}

static void misuse_key_without_value(rtm_json_t *j)
{
    rtm_json_key(j, "a");
}

static void left_open(rtm_json_t *j)
{
    rtm_json_key(j, "a");
    rtm_json_begin_array(j);
    rtm_json_begin_object(j);
    rtm_json_kv_u64(j, "b", 1);
}

static void test_json_misuse(void **state)
{
    (void)state;
    void (*const misuses[])(rtm_json_t *) = {
        misuse_value_without_key, misuse_key_in_array, misuse_key_after_key, misuse_wrong_end,
        misuse_end_too_often,     misuse_too_deep,     misuse_key_without_value,
    };
    for (size_t i = 0; i < sizeof misuses / sizeof misuses[0]; i++) {
        if (json_doc(misuses[i])) {
            fail_msg("misuse %zu not reported: '%s'", i, g_out);
        }
    }
    /* a key left without a value still ends in a valid document */
    assert_false(json_doc(misuse_key_without_value));
    assert_string_equal(g_out, "{\"schema\":1,\"command\":\"test\",\"a\":null}\n");
    /* levels left open (an error path) are closed: valid JSON, reported */
    assert_false(json_doc(left_open));
    assert_string_equal(g_out, "{\"schema\":1,\"command\":\"test\",\"a\":[{\"b\":1}]}\n");
}

static void test_json_write_error(void **state)
{
    (void)state;
    FILE *f = fopen("/dev/null", "r"); /* writes fail */
    assert_non_null(f);
    rtm_json_t j;
    rtm_json_begin_doc(&j, f, "test");
    rtm_json_kv_u64(&j, "a", 1);
    assert_false(rtm_json_end_doc(&j));
    fclose(f);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_value_forms),
        cmocka_unit_test(test_operands),
        cmocka_unit_test(test_bad_usage),
        cmocka_unit_test(test_help),
        cmocka_unit_test(test_parses_in_a_row),
        cmocka_unit_test(test_bad_spec),
        cmocka_unit_test(test_every_command_unknown_option),
        cmocka_unit_test(test_replay_options_both_forms),
        cmocka_unit_test(test_compare_options_both_forms),
        cmocka_unit_test(test_leaks_options_both_forms),
        cmocka_unit_test(test_record_options_both_forms),
        cmocka_unit_test(test_json_document),
        cmocka_unit_test(test_json_misuse),
        cmocka_unit_test(test_json_write_error),
    };
    return cmocka_run_group_tests(tests, setup, teardown);
}
