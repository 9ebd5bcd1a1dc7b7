/* `rtmem export --format chrome|folded [-o FILE] [--elf FILE] INPUT...`:
 * rtmem's data in the formats of viewers people already have
 * (export_chrome.h, export_folded.h; docs/tools.md, "rtmem export"). */
#define _POSIX_C_SOURCE 200809L
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "escape.h"
#include "export_chrome.h"
#include "export_folded.h"
#include "leaks.h"
#include "line_reader.h"
#include "output_file.h"

static const char export_usage[] =
    "usage: rtmem export --format chrome|folded [-o FILE | --output FILE] [--elf FILE]\n"
    "                    [--addr2line PATH] [--at end|peak] [--root heap|task|none] [--lenient]\n"
    "                    INPUT...\n"
    "\n"
    "Writes INPUT ('-' reads stdin) in a format other viewers open.\n"
    "\n"
    "  --format chrome   Chrome trace-event JSON for Perfetto (ui.perfetto.dev) and\n"
    "                    chrome://tracing: telemetry as counter tracks per heap/region\n"
    "                    (free, min_free, largest, frag), task (heap, stack_peak) and pool\n"
    "                    (used), alerts and recommendations as instant events, an rtmem\n"
    "                    trace as live bytes per heap and per task; one process per INPUT\n"
    "  --format folded   collapsed stacks (flamegraph.pl, inferno, speedscope): live bytes\n"
    "                    by call chain of an rtmem trace or an ESP-IDF heap trace dump\n"
    "  -o, --output FILE write to FILE instead of stdout (through a temporary file next to\n"
    "                    it, renamed over FILE at the end: a write error keeps the old FILE;\n"
    "                    a FILE that is an INPUT, also stdin's file for '-', is refused)\n"
    "  --elf FILE        (folded) name frames with addr2line, as rtmem leaks --elf does\n"
    "  --addr2line PATH  the addr2line to use\n"
    "  --at end|peak     (folded) the blocks live at the end (default) or when the live\n"
    "                    bytes were highest (reads each INPUT twice: '-' is spooled)\n"
    "  --root heap|task|none  (folded) the root frame: heap:NAME (default), task:NAME\n"
    "                    (cpu:N for ESP-IDF), or none\n"
    "  --lenient         (chrome) skip and count inconsistent trace events\n"
    "\n"
    "An INPUT that cannot be opened is refused before anything is written.\n"
    "Exit status: 0 written, 2 bad usage or bad input (FILE:LINE named; a chrome file is\n"
    "still closed as valid JSON holding everything read before the bad line), 3 (folded)\n"
    "an ESP-IDF dump is cut off (its stacks are still written).\n";

typedef enum { FORMAT_NONE, FORMAT_CHROME, FORMAT_FOLDED } format_t;

typedef struct options {
    format_t format;
    const char *out, *elf, *addr2line;
    rtm_folded_when_t when;
    rtm_folded_root_t root;
    bool lenient;
} options_t;

static const char *input_name(const char *path)
{
    return strcmp(path, "-") == 0 ? "<stdin>" : path;
}

static FILE *open_input(const char *path)
{
    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (f == NULL) {
        rtm_esc_msg(stderr, "%s: %s", path, strerror(errno));
    }
    return f;
}

static void close_input(FILE *f)
{
    if (f != NULL && f != stdin) {
        fclose(f);
    }
}

static int export_chrome(const options_t *o, FILE *out, const char *const *inputs, int n)
{
    rtm_chrome_t w;
    rtm_chrome_begin(&w, out);
    int rc = 0;
    for (int i = 0; i < n && rc == 0; i++) {
        FILE *f = open_input(inputs[i]);
        if (f == NULL) {
            rc = 2;
            break;
        }
        char err[RTM_LINE_ERR_MAX];
        rtm_chrome_counts_t c;
        if (rtm_chrome_read(&w, f, input_name(inputs[i]), (unsigned)i + 1u, o->lenient, &c, err,
                            sizeof err) != 0) {
            rtm_esc_line(stderr, err);
            rc = 2;
        } else if (c.telemetry == 0 && c.trace_events == 0) {
            rtm_esc_msg(stderr, "%s: warning: no telemetry and no trace events in it",
                        input_name(inputs[i]));
        }
        uint64_t skipped = rtm_trace_skipped(&c.skipped);
        if (skipped > 0) {
            rtm_esc_msg(stderr,
                        "%s: warning: %llu lines skipped (%llu unknown frees, %llu unknown "
                        "reallocs, %llu reused IDs, %llu cut off)",
                        input_name(inputs[i]), (unsigned long long)skipped,
                        (unsigned long long)c.skipped.unknown_free,
                        (unsigned long long)c.skipped.unknown_realloc,
                        (unsigned long long)c.skipped.reused_id,
                        (unsigned long long)c.skipped.truncated);
        }
        close_input(f);
    }
    if (rtm_chrome_end(&w) != 0) {
        rtm_esc_msg(stderr, "rtmem export: cannot write the output");
        return 2;
    }
    return rc;
}

static int cmp_sym(const void *a, const void *b)
{
    uint64_t x = ((const sym_entry_t *)a)->addr, y = ((const sym_entry_t *)b)->addr;
    return x < y ? -1 : x > y;
}

/* Symbols of every caller of in's live records; *syms NULL when none. */
static int symbolize(const options_t *o, const lk_input_t *in, sym_entry_t **syms, size_t *nsyms)
{
    *syms = NULL;
    *nsyms = 0;
    size_t n = 0;
    for (size_t i = 0; i < in->nrec; i++) {
        if (in->rec[i].in_use && !in->rec[i].freed) {
            n += lk_rec_ncallers(&in->rec[i]);
        }
    }
    if (o->elf == NULL || n == 0) {
        return 0;
    }
    char err[512];
    const char *tool = sym_pick_addr2line(o->elf, o->addr2line, err, sizeof err);
    if (tool == NULL) {
        rtm_esc_msg(stderr, "rtmem export: %s", err);
        return -1;
    }
    sym_entry_t *s = calloc(n, sizeof *s);
    if (s == NULL) {
        rtm_esc_msg(stderr, "rtmem export: out of memory");
        return -1;
    }
    n = 0;
    for (size_t i = 0; i < in->nrec; i++) {
        const lk_record_t *r = &in->rec[i];
        if (r->in_use && !r->freed) {
            for (unsigned k = 0; k < lk_rec_ncallers(r); k++) {
                s[n++].addr = lk_rec_callers(r)[k];
            }
        }
    }
    qsort(s, n, sizeof *s, cmp_sym);
    size_t u = 0;
    for (size_t i = 0; i < n; i++) {
        if (u == 0 || s[i].addr != s[u - 1].addr) {
            s[u++] = s[i];
        }
    }
    /* a trace of `rtmem record` names the program's load range: a PIE's
     * addresses go to addr2line relative to its load bias */
    if (in->have_exe && sym_elf_is_pie(o->elf)) {
        for (size_t i = 0; i < u; i++) {
            if (s[i].addr >= in->exe_lo && s[i].addr < in->exe_hi) {
                s[i].query = s[i].addr - in->exe_base;
            }
        }
    }
    if (sym_resolve(tool, o->elf, s, u, err, sizeof err) != 0) {
        rtm_esc_msg(stderr, "rtmem export: %s", err);
        free(s);
        return -1;
    }
    *syms = s;
    *nsyms = u;
    return 0;
}

/* An input that can be read only once (stdin, a pipe, a FIFO) copied to a
 * temporary file, which --at peak can read twice. */
static FILE *spool_stream(FILE *src, const char *name)
{
    FILE *t = tmpfile();
    if (t == NULL) {
        rtm_esc_msg(stderr, "rtmem export: no temporary file for %s: %s", name, strerror(errno));
        return NULL;
    }
    char buf[16384];
    size_t n;
    while ((n = fread(buf, 1, sizeof buf, src)) > 0) {
        if (fwrite(buf, 1, n, t) != n) {
            rtm_esc_msg(stderr, "rtmem export: cannot copy %s: %s", name, strerror(errno));
            fclose(t);
            return NULL;
        }
    }
    if (ferror(src)) {
        rtm_esc_msg(stderr, "%s: read error: %s", name, strerror(errno != 0 ? errno : EIO));
        fclose(t);
        return NULL;
    }
    rewind(t);
    return t;
}

/* One input's stacks into s: 0, 2 bad input, 3 a cut-off ESP-IDF dump. */
static int folded_input(const options_t *o, const char *path, rtm_folded_t *s)
{
    bool spooled = o->when == RTM_FOLDED_AT_PEAK && rtm_input_is_stream(path);
    FILE *f = open_input(path);
    if (spooled && f != NULL) {
        FILE *src = f;
        f = spool_stream(src, input_name(path));
        close_input(src);
    }
    if (f == NULL) {
        return 2;
    }
    lk_input_t in;
    lk_input_init(&in, input_name(path));
    int rc = rtm_folded_read(&in, f, o->when);
    if (spooled) {
        fclose(f);
    } else {
        close_input(f);
    }
    if (rc != 0) {
        /* the blocks read before the bad line are still written */
        rtm_esc_line(stderr, in.err);
        rc = 2;
    } else if (in.format == LK_FMT_NONE) {
        rtm_esc_msg(stderr, "%s: no rtmem trace or ESP-IDF heap trace dump found", in.name);
        lk_input_free(&in);
        return 2;
    }
    sym_entry_t *syms = NULL;
    size_t nsyms = 0;
    if (rc == 0 && symbolize(o, &in, &syms, &nsyms) != 0) {
        lk_input_free(&in);
        return 2;
    }
    bool esp = in.format != LK_FMT_RTMEM;
    for (size_t i = 0; i < in.nrec; i++) {
        const lk_record_t *r = &in.rec[i];
        if (r->in_use && !r->freed && rtm_folded_add(s, r, esp, o->root, syms, nsyms) != 0) {
            rtm_esc_msg(stderr, "rtmem export: out of memory");
            rc = 2;
            break;
        }
    }
    free(syms);
    if (rc == 0 && in.cut_off) {
        rtm_esc_msg(stderr, "%s: warning: incomplete dump (%s): exit %d", in.name, in.cut_reason,
                    RTM_LEAKS_EXIT_CUT_OFF);
        rc = RTM_LEAKS_EXIT_CUT_OFF;
    }
    lk_input_free(&in);
    return rc;
}

static int export_folded(const options_t *o, FILE *out, const char *const *inputs, int n)
{
    rtm_folded_t s;
    rtm_folded_init(&s);
    int rc = 0;
    for (int i = 0; i < n; i++) {
        int r = folded_input(o, inputs[i], &s);
        if (r > rc) {
            rc = r;
        }
        if (r == 2) {
            break;
        }
    }
    (void)rtm_folded_write(&s, out);
    rtm_folded_free(&s);
    if (fflush(out) != 0 || ferror(out)) {
        rtm_esc_msg(stderr, "rtmem export: cannot write the output");
        return 2;
    }
    return rc;
}

static bool parse_format(const char *v, void *dest)
{
    format_t *f = dest;
    if (strcmp(v, "chrome") == 0) {
        *f = FORMAT_CHROME;
    } else if (strcmp(v, "folded") == 0) {
        *f = FORMAT_FOLDED;
    } else {
        return false;
    }
    return true;
}

static bool parse_when(const char *v, void *dest)
{
    rtm_folded_when_t *w = dest;
    if (strcmp(v, "end") == 0) {
        *w = RTM_FOLDED_AT_END;
    } else if (strcmp(v, "peak") == 0) {
        *w = RTM_FOLDED_AT_PEAK;
    } else {
        return false;
    }
    return true;
}

static bool parse_root(const char *v, void *dest)
{
    rtm_folded_root_t *r = dest;
    if (strcmp(v, "heap") == 0) {
        *r = RTM_FOLDED_ROOT_HEAP;
    } else if (strcmp(v, "task") == 0) {
        *r = RTM_FOLDED_ROOT_TASK;
    } else if (strcmp(v, "none") == 0) {
        *r = RTM_FOLDED_ROOT_NONE;
    } else {
        return false;
    }
    return true;
}

int rtm_cmd_export(int argc, char **argv)
{
    options_t o = {FORMAT_NONE, NULL, NULL, NULL, RTM_FOLDED_AT_END, RTM_FOLDED_ROOT_HEAP, false};
    bool at_given = false, root_given = false;
    const rtm_cli_opt_t opts[] = {
        {.name = "format", .kind = RTM_CLI_CUSTOM, .dest = &o.format, .parse = parse_format,
         .expect = "chrome or folded"},
        {.name = "output", .short_name = 'o', .kind = RTM_CLI_STRING, .dest = &o.out},
        {.name = "elf", .kind = RTM_CLI_STRING, .dest = &o.elf},
        {.name = "addr2line", .kind = RTM_CLI_STRING, .dest = &o.addr2line},
        {.name = "at", .kind = RTM_CLI_CUSTOM, .dest = &o.when, .parse = parse_when,
         .expect = "end or peak", .given = &at_given},
        {.name = "root", .kind = RTM_CLI_CUSTOM, .dest = &o.root, .parse = parse_root,
         .expect = "heap, task or none", .given = &root_given},
        {.name = "lenient", .kind = RTM_CLI_FLAG, .dest = &o.lenient},
    };
    const rtm_cli_spec_t spec = {
        .cmd = "export",
        .usage = export_usage,
        .opts = opts,
        .nopts = sizeof opts / sizeof opts[0],
        .operand = "INPUT",
        .min_operands = 1,
        .max_operands = RTM_CLI_OPERANDS_MAX,
    };
    rtm_cli_args_t args;
    rtm_cli_status_t st = rtm_cli_parse(&spec, argc, argv, &args);
    if (st != RTM_CLI_RUN) {
        return rtm_cli_exit_status(st);
    }
    int n = (int)args.noperands;
    const char *const *inputs = args.operands;
    if (o.format == FORMAT_NONE) {
        rtm_esc_msg(stderr, "rtmem export: --format chrome or --format folded is required "
                            "(see rtmem export --help)");
        return 2;
    }
    int stdin_uses = 0;
    for (int i = 0; i < n; i++) {
        stdin_uses += strcmp(inputs[i], "-") == 0;
    }
    if (stdin_uses > 1) {
        rtm_esc_msg(stderr, "rtmem export: '-' (stdin) can be read once only");
        return 2;
    }
    if (o.format == FORMAT_CHROME && (o.elf != NULL || o.addr2line != NULL || at_given ||
                                      root_given)) {
        rtm_esc_msg(stderr, "rtmem export: --elf, --addr2line, --at and --root are for "
                            "--format folded");
        return 2;
    }
    if (o.format == FORMAT_FOLDED && o.lenient) {
        rtm_esc_msg(stderr, "rtmem export: --lenient is for --format chrome (folded reads as "
                            "rtmem leaks does, which never stops at an inconsistent event)");
        return 2;
    }
    const char *out_path = o.out != NULL ? o.out : "-";
    if (rtm_out_refuse_input("export", out_path, inputs, (size_t)n) ||
        rtm_out_refuse_unreadable(inputs, (size_t)n)) {
        return 2;
    }
    rtm_out_t out;
    if (rtm_out_open(&out, "export", out_path) != 0) {
        return 2;
    }
    int rc = o.format == FORMAT_CHROME ? export_chrome(&o, out.f, inputs, n)
                                       : export_folded(&o, out.f, inputs, n);
    if (ferror(out.f)) {
        /* "cannot write the output" was said; an existing FILE stays */
        rtm_out_abandon(&out);
        return 2;
    }
    if (rtm_out_commit(&out) != 0) {
        return 2;
    }
    return rc;
}
