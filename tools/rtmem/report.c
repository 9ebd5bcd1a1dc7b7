/* `rtmem report [-o FILE.html] [--elf FILE] INPUT...`: one self-contained
 * HTML page from telemetry, traces and ESP-IDF dumps (docs/report.md). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "cli.h"
#include "commands.h"
#include "escape.h"
#include "line_reader.h"
#include "output_file.h"
#include "replay.h"
#include "report_page.h"
#include "telemetry.h"

#define DEFAULT_OUTPUT "report.html"
#define DEFAULT_BUDGET_S 5u

static const char report_usage[] =
    "usage: rtmem report [-o FILE.html] [--elf FILE] [--addr2line PATH] [--budget SECONDS]\n"
    "                    INPUT...\n"
    "\n"
    "Writes one self-contained HTML page (inline SVG charts, no script, no network) from\n"
    "any mix of INPUTs ('-' reads stdin): telemetry JSON lines, also inside a serial log;\n"
    "rtmem traces (rtmem-trace 1, also as telemetry trace lines); ESP-IDF\n"
    "heap_trace_dump() output. Shown where the data is present: memory over time per\n"
    "region (free, minimum free, largest block, alert markers), fragmentation, alerts and\n"
    "recommendations, task heap and stack bars, pools, the leak table by call site, and\n"
    "for a trace: live bytes over operations, the strategy comparison and a heap map at\n"
    "the peak.\n"
    "\n"
    "  -o, --output FILE  the page (default report.html; '-' writes stdout)\n"
    "  --elf FILE         symbolize leak call sites with addr2line, as rtmem leaks does\n"
    "  --addr2line PATH   the addr2line to use\n"
    "  --budget SECONDS   CPU time for the strategy comparison per trace (default 5; 0: no\n"
    "                     limit): one measuring replay per strategy (its high-water mark;\n"
    "                     tlsf's always completes), then rtmem compare's checked minimum\n"
    "                     search while time is left\n"
    "\n"
    "A malformed line (a NUL byte, a line over 4096 bytes, damaged telemetry, a bad trace\n"
    "event) is named as FILE:LINE on stderr; reading that input stops there, the page is\n"
    "still written with everything read before it, and the exit status is 2.\n"
    "An INPUT that cannot be opened, or an -o FILE that is an INPUT (also stdin's file\n"
    "for '-'), is refused before anything is written. The page goes to a temporary file\n"
    "next to FILE, renamed over it once written whole: an existing FILE is kept when the\n"
    "page cannot be written.\n"
    "Exit status: 0 page written, 2 bad usage, bad input or an --elf that cannot be used\n"
    "(the page is written, without what failed), or the page could not be written.\n";

#define SPOOL_PATH_MAX 4096u

/* src to dst, flushed: 0, or the errno of what failed, the read of src
 * (*src_failed) or a write to dst. */
static int copy_stream(FILE *src, FILE *dst, bool *src_failed)
{
    char buf[16384];
    size_t n;
    *src_failed = false;
    while ((n = fread(buf, 1, sizeof buf, src)) > 0) {
        if (fwrite(buf, 1, n, dst) != n) {
            return errno != 0 ? errno : EIO;
        }
    }
    if (ferror(src)) {
        *src_failed = true;
        return errno != 0 ? errno : EIO;
    }
    return fflush(dst) != 0 ? (errno != 0 ? errno : EIO) : 0;
}

/* An input that can be read only once (stdin, a pipe, a FIFO) copied to a
 * file in $TMPDIR, since a trace is replayed several times. The copy is
 * path (SPOOL_PATH_MAX bytes), to be removed with rtm_temp_remove; NULL
 * with path "" and the message in err. A copy that cannot be made or
 * written is named, not the input: the input is fine, $TMPDIR is not. */
static FILE *spool_stream(FILE *src, const char *name, char *path, char *err, size_t errlen)
{
    const char *dir = getenv("TMPDIR");
    if (dir == NULL || *dir == '\0') {
        dir = "/tmp";
    }
    /* mkstemp may leave a name it tried in path: a message names the
     * pattern in the directory, which is what the user can act on */
    char pattern[SPOOL_PATH_MAX];
    int fd = -1;
    if (snprintf(pattern, sizeof pattern, "%s/rtmem-report-XXXXXX", dir) >= (int)sizeof pattern) {
        errno = ENAMETOOLONG;
    } else {
        memcpy(path, pattern, strlen(pattern) + 1u);
        fd = rtm_temp_create(path);
    }
    if (fd < 0) {
        (void)snprintf(err, errlen, "rtmem report: cannot copy %s to %s: %s", name, pattern,
                       strerror(errno));
        path[0] = '\0';
        return NULL;
    }
    FILE *f = fdopen(fd, "w+");
    bool src_failed = false;
    int why = f == NULL ? errno : copy_stream(src, f, &src_failed);
    if (why == 0) {
        rewind(f);
        return f;
    }
    if (src_failed) {
        (void)snprintf(err, errlen, "%s: read error: %s", name, strerror(why));
    } else {
        (void)snprintf(err, errlen, "rtmem report: cannot copy %s to %s: %s", name, path,
                       strerror(why));
    }
    if (f != NULL) {
        fclose(f);
    } else {
        close(fd);
    }
    rtm_temp_remove(path);
    path[0] = '\0';
    return NULL;
}

/* One pass over an input: telemetry into tm, everything else to the leaks
 * parser. Stops at the first malformed line (in->err). */
static void read_input(rtm_rep_input_t *in, FILE *f, rtm_rep_telemetry_t *tm, rtm_tm_line_t *line,
                       rtm_line_reader_t *r)
{
    rtm_line_reader_init(r, f, in->name);
    lk_input_init(&in->leaks_in, in->name);
    size_t len;
    int rc;
    char err[RTM_TM_ERR_MAX];
    while ((rc = rtm_line_next(r, &len)) > 0) {
        in->lines++;
        int t = rtm_tm_parse(r->text, len, line, err, sizeof err);
        if (t < 0) {
            if (rtm_line_reject(r, err) < 0) {
                break;
            }
            /* a capture cut mid-line: skipped, in the words of the leaks
             * parser that reads the other lines */
            rtm_esc_msg(stderr, "%s:%lu: warning: truncated line ignored", in->name, r->line);
            continue;
        }
        if (t > 0) {
            in->tm_lines++;
            if (rtm_rep_telemetry_add(tm, line, err, sizeof err) != 0) {
                (void)rtm_line_fail(r, err);
                break;
            }
            if (line->type != RTM_TM_TRACE) {
                in->leaks_in.lineno++; /* keeps the leaks parser's line numbers right */
                continue;
            }
        }
        if (lk_parse_reader_line(&in->leaks_in, r) != 0) {
            (void)snprintf(r->err, sizeof r->err, "%s", in->leaks_in.err);
            break;
        }
    }
    if (r->err[0] != '\0') {
        (void)snprintf(in->err, sizeof in->err, "%s", r->err);
    }
    lk_parse_finish(&in->leaks_in);
    in->have_leaks = in->leaks_in.format != LK_FMT_NONE;
}

int rtm_cmd_report(int argc, char **argv)
{
    const char *out_path = DEFAULT_OUTPUT, *elf = NULL, *a2l = NULL;
    uint64_t budget_s = DEFAULT_BUDGET_S;
    const rtm_cli_opt_t opts[] = {
        {.name = "output", .short_name = 'o', .kind = RTM_CLI_STRING, .dest = &out_path},
        {.name = "elf", .kind = RTM_CLI_STRING, .dest = &elf},
        {.name = "addr2line", .kind = RTM_CLI_STRING, .dest = &a2l},
        {.name = "budget", .kind = RTM_CLI_U64, .dest = &budget_s, .min = 0, .max = 86400,
         .expect = "whole seconds 0..86400"},
    };
    const rtm_cli_spec_t spec = {.cmd = "report", .usage = report_usage, .opts = opts,
                                 .nopts = sizeof opts / sizeof opts[0], .operand = "INPUT",
                                 .min_operands = 1, .max_operands = RTM_CLI_OPERANDS_MAX};
    rtm_cli_args_t args;
    rtm_cli_status_t st = rtm_cli_parse(&spec, argc, argv, &args);
    if (st != RTM_CLI_RUN) {
        return rtm_cli_exit_status(st);
    }
    size_t nin = args.noperands;
    if (rtm_out_refuse_input("report", out_path, args.operands, nin) ||
        rtm_out_refuse_unreadable(args.operands, nin)) {
        return 2;
    }
    rtm_rep_input_t *ins = calloc(nin, sizeof *ins);
    rtm_rep_telemetry_t *tm = rtm_rep_telemetry_new();
    rtm_tm_line_t *line = malloc(sizeof *line);
    rtm_line_reader_t *reader = malloc(sizeof *reader);
    char (*spools)[SPOOL_PATH_MAX] = calloc(nin, sizeof *spools);
    if (ins == NULL || tm == NULL || line == NULL || reader == NULL || spools == NULL) {
        rtm_esc_msg(stderr, "rtmem report: out of memory");
        free(ins), rtm_rep_telemetry_free(tm), free(line), free(reader), free(spools);
        return 2;
    }
    /* before the inputs: an -o that cannot be written fails before the
     * analysis, which can take minutes */
    rtm_out_t out;
    if (rtm_out_open(&out, "report", out_path) != 0) {
        free(ins), rtm_rep_telemetry_free(tm), free(line), free(reader), free(spools);
        return 2;
    }
    int status = 0;
    bool stdin_used = false;
    for (size_t i = 0; i < nin; i++) {
        rtm_rep_input_t *in = &ins[i];
        const char *arg = args.operands[i];
        bool is_stdin = strcmp(arg, "-") == 0;
        in->name = is_stdin ? "<stdin>" : arg;
        in->path = arg;
        if (is_stdin && stdin_used) {
            (void)snprintf(in->err, sizeof in->err, "<stdin>: given twice");
            rtm_esc_line(stderr, in->err);
            status = 2;
            continue;
        }
        stdin_used = stdin_used || is_stdin;
        FILE *f = is_stdin ? stdin : fopen(arg, "r");
        if (f == NULL) {
            (void)snprintf(in->err, sizeof in->err, "%s: %s", in->name, strerror(errno));
        } else if (rtm_input_is_stream(arg)) {
            /* read once here; the trace analysis re-reads the copy */
            FILE *src = f;
            f = spool_stream(src, in->name, spools[i], in->err, sizeof in->err);
            if (src != stdin) {
                fclose(src);
            }
            in->path = spools[i];
        }
        if (f == NULL) {
            rtm_esc_line(stderr, in->err);
            status = 2;
            continue;
        }
        read_input(in, f, tm, line, reader);
        fclose(f);
        if (in->err[0] != '\0') {
            rtm_esc_line(stderr, in->err);
            status = 2;
        }
        if (in->have_leaks) {
            if (lk_leaks_group(&in->leaks_in, 0, &in->leaks) != 0) {
                in->have_leaks = false;
            } else if (elf != NULL && in->leaks.ngroups > 0 &&
                       lk_leaks_symbolize(&in->leaks_in, &in->leaks, elf, a2l, &in->syms,
                                          &in->nsyms, in->sym_err, sizeof in->sym_err) != 0) {
                rtm_esc_msg(stderr, "rtmem report: %s", in->sym_err);
                status = 2;
            }
            if (in->leaks_in.cut_off) {
                rtm_esc_msg(stderr, "%s: warning: incomplete dump (%s)", in->name,
                            in->leaks_in.cut_reason);
            }
        }
        if (in->leaks_in.format == LK_FMT_RTMEM) {
            in->trace = malloc(sizeof *in->trace);
        }
        if (in->trace != NULL) {
            rtm_rep_trace_opts_t topts = {.budget_ns = budget_s * 1000000000ull, .search = true,
                                          .name = in->name};
            int rc = rtm_rep_trace_analyze(in->trace, in->path, &topts);
            if (rc == -1) {
                rtm_esc_msg(stderr, "rtmem report: out of memory analysing %s", in->name);
                status = 2;
            } else if (rc == 2 && in->err[0] == '\0') {
                /* read fine as a log, but not a pure trace: no replay */
                (void)snprintf(in->trace_note, sizeof in->trace_note,
                               "not replayed: %s (a replay reads rtmem-trace lines only)",
                               in->trace->err);
                rtm_esc_msg(stderr, "%s: note: %s", in->name, in->trace_note);
            } else if (rc == 2) {
                (void)snprintf(in->trace_note, sizeof in->trace_note,
                               "the operations before the malformed line; no comparison");
            }
        }
        if (spools[i][0] != '\0') {
            /* the analysis is done with it: a big stdin does not stay in
             * $TMPDIR while the next inputs are read */
            rtm_temp_remove(spools[i]);
            spools[i][0] = '\0';
        }
    }
    if (rtm_rep_page_write(out.f, tm, ins, nin, elf) != 0) {
        rtm_esc_msg(stderr, "rtmem report: cannot write %s", out_path);
        rtm_out_abandon(&out);
        status = 2;
    } else if (rtm_out_commit(&out) != 0) {
        status = 2;
    } else if (strcmp(out_path, "-") != 0) {
        rtm_esc_msg(stderr, "rtmem report: wrote %s", out_path);
    }
    free(spools);
    for (size_t i = 0; i < nin; i++) {
        lk_leaks_free(&ins[i].leaks);
        free(ins[i].syms);
        lk_input_free(&ins[i].leaks_in);
        if (ins[i].trace != NULL) {
            rtm_rep_trace_fini(ins[i].trace);
            free(ins[i].trace);
        }
    }
    free(ins), rtm_rep_telemetry_free(tm), free(line), free(reader);
    return status;
}
