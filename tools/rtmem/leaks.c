/* `rtmem leaks DUMP [--elf FIRMWARE.elf] [--addr2line PATH] [--since SEQ] [--json]` (leaks.h) */
#define _POSIX_C_SOURCE 200809L
#include "leaks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "cli.h"
#include "escape.h"
#include "json_out.h"
#include "leaks_parse.h"
#include "symbolize.h"

typedef struct {
    const lk_record_t *first;   /* representative (oldest) record */
    size_t blocks;
    uint64_t bytes;
    uint64_t min_size, max_size;
    int has_time;
    uint64_t first_time, last_time;
    char tasks[96];
    char regions[64];
} lk_group_t;

static const char leaks_usage[] =
    "usage: rtmem leaks DUMP [--elf FIRMWARE.elf] [--addr2line PATH] [--since SEQ] [--json]\n"
    "\n"
    "Reports the blocks still allocated at the end of DUMP ('-' reads stdin), grouped by\n"
    "call site (caller chain and site), largest bytes first.\n"
    "\n"
    "DUMP is an rtmem-trace 1 stream or rtm_trace_dump output, or ESP-IDF heap_trace_dump()\n"
    "output (up to v5.0, v5.1-v5.4, v5.5+), possibly inside a serial log; a paste without\n"
    "the dump's header (records alone, records and summary, or the summary alone) is read\n"
    "too. With a '# checkpoint' line, only blocks allocated after the last one count.\n"
    "\n"
    "  --elf FILE        symbolize caller addresses with addr2line (chosen by the ELF's machine)\n"
    "  --addr2line PATH  the addr2line to use\n"
    "  --since SEQ       only records with seq= at least SEQ (rtm_trace_dump output)\n"
    "  --json            one JSON object instead of the table\n"
    "\n"
    "Exit status: 0 nothing leaked, 1 leaks found, 2 bad usage or bad input (a NUL byte,\n"
    "a line over 4096 bytes, a number over 64 bits, empty input: FILE:LINE named),\n"
    "3 the ESP-IDF dump is cut off (a panic inside it, no summary after its header):\n"
    "its leaks are still listed.\n";

static int cmp_chain(const lk_record_t *a, const lk_record_t *b)
{
    unsigned n = a->ncallers < b->ncallers ? a->ncallers : b->ncallers;
    for (unsigned i = 0; i < n; i++)
        if (a->callers[i] != b->callers[i])
            return a->callers[i] < b->callers[i] ? -1 : 1;
    if (a->ncallers != b->ncallers)
        return a->ncallers < b->ncallers ? -1 : 1;
    return strcmp(a->site, b->site);
}

static int cmp_rec_ptr(const void *pa, const void *pb)
{
    const lk_record_t *a = *(const lk_record_t *const *)pa, *b = *(const lk_record_t *const *)pb;
    int c = cmp_chain(a, b);
    if (c)
        return c;
    return a->line < b->line ? -1 : a->line > b->line;   /* input order inside a group */
}

static int cmp_group(const void *pa, const void *pb)
{
    const lk_group_t *a = pa, *b = pb;
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    if (a->blocks != b->blocks)
        return a->blocks > b->blocks ? -1 : 1;
    return a->first->line < b->first->line ? -1 : a->first->line > b->first->line;
}

static int cmp_u64(const void *pa, const void *pb)
{
    uint64_t a = *(const uint64_t *)pa, b = *(const uint64_t *)pb;
    return a < b ? -1 : a > b;
}

/* Append name to a comma list if not already in it. */
static void add_name(char *list, size_t cap, const char *name)
{
    if (!name[0])
        return;
    size_t nl = strlen(name);
    const char *p = list;
    while ((p = strstr(p, name)) != NULL) {
        if ((p == list || p[-1] == ',') && (p[nl] == ',' || p[nl] == '\0'))
            return;
        p += nl;
    }
    size_t l = strlen(list);
    if (l + nl + 2 >= cap) {
        if (l + 4 < cap && strcmp(list + (l >= 3 ? l - 3 : 0), "...") != 0)
            strcat(list, ",...");
        return;
    }
    if (l)
        strcat(list, ",");
    strcat(list, name);
}

/* Text from the input (or from addr2line) in the table: escaped. */
static void put_text(FILE *o, const char *s)
{
    rtm_esc_write(o, s, strlen(s));
}

static const sym_entry_t *find_sym(const sym_entry_t *s, size_t n, uint64_t a)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2;
        if (s[mid].addr < a)
            lo = mid + 1;
        else
            hi = mid;
    }
    return lo < n && s[lo].addr == a ? &s[lo] : NULL;
}

int rtm_cmd_leaks(int argc, char **argv)
{
    const char *elf = NULL, *a2l = NULL;
    bool json = false;
    uint64_t since = 0;
    const rtm_cli_opt_t opts[] = {
        {.name = "elf", .kind = RTM_CLI_STRING, .dest = &elf},
        {.name = "addr2line", .kind = RTM_CLI_STRING, .dest = &a2l},
        {.name = "since", .kind = RTM_CLI_U64, .dest = &since,
         .expect = "a sequence number 0..18446744073709551615"},
        {.name = "json", .kind = RTM_CLI_FLAG, .dest = &json},
    };
    const rtm_cli_spec_t spec = {
        .cmd = "leaks",
        .usage = leaks_usage,
        .opts = opts,
        .nopts = sizeof opts / sizeof opts[0],
        .operand = "DUMP",
        .min_operands = 1,
        .max_operands = 1,
    };
    rtm_cli_args_t args;
    rtm_cli_status_t st = rtm_cli_parse(&spec, argc, argv, &args);
    if (st != RTM_CLI_RUN) {
        return rtm_cli_exit_status(st);
    }
    const char *path = args.operands[0];

    FILE *f = strcmp(path, "-") == 0 ? stdin : fopen(path, "r");
    if (!f) {
        rtm_esc_msg(stderr, "%s: %s", path, strerror(errno));
        return 2;
    }
    lk_input_t in;
    lk_input_init(&in, strcmp(path, "-") == 0 ? "<stdin>" : path);
    int rc = lk_parse_file(&in, f);
    if (f != stdin)
        fclose(f);
    if (rc != 0) {
        rtm_esc_line(stderr, in.err);
        lk_input_free(&in);
        return 2;
    }
    if (in.format == LK_FMT_NONE) {
        rtm_esc_msg(stderr, "%s: no rtmem trace or ESP-IDF heap trace dump found", in.name);
        lk_input_free(&in);
        return 2;
    }

    /* leaks, grouped */
    const lk_record_t **leaks = malloc((in.live + 1) * sizeof *leaks);
    lk_group_t *groups = malloc((in.live + 1) * sizeof *groups);
    if (!leaks || !groups) {
        rtm_esc_msg(stderr, "rtmem leaks: out of memory");
        free(leaks);
        free(groups);
        lk_input_free(&in);
        return 2;
    }
    size_t nleaks = 0, ngroups = 0;
    uint64_t leak_bytes = 0, alive_bytes = 0, alive_blocks = 0;
    for (size_t i = 0; i < in.nrec; i++) {
        const lk_record_t *r = &in.rec[i];
        if (!r->in_use)
            continue;
        if (!r->freed) {
            alive_blocks++;
            alive_bytes += r->size;
        }
        if (lk_record_is_leak(r, since)) {
            leaks[nleaks++] = r;
            leak_bytes += r->size;
        }
    }
    qsort(leaks, nleaks, sizeof *leaks, cmp_rec_ptr);
    for (size_t i = 0; i < nleaks; i++) {
        const lk_record_t *r = leaks[i];
        lk_group_t *g;
        if (ngroups && cmp_chain(groups[ngroups - 1].first, r) == 0) {
            g = &groups[ngroups - 1];
        } else {
            g = &groups[ngroups++];
            memset(g, 0, sizeof *g);
            g->first = r;
            g->min_size = r->size;
        }
        g->blocks++;
        g->bytes += r->size;
        if (r->size < g->min_size)
            g->min_size = r->size;
        if (r->size > g->max_size)
            g->max_size = r->size;
        if (r->has_time) {
            if (!g->has_time || r->time < g->first_time)
                g->first_time = r->time;
            if (!g->has_time || r->time > g->last_time)
                g->last_time = r->time;
            g->has_time = 1;
        }
        add_name(g->tasks, sizeof g->tasks, r->task);
        add_name(g->regions, sizeof g->regions, r->region);
    }
    qsort(groups, ngroups, sizeof *groups, cmp_group);

    /* symbols */
    sym_entry_t *syms = NULL;
    size_t nsyms = 0;
    if (elf) {
        char err[512];
        const char *tool = sym_pick_addr2line(elf, a2l, err, sizeof err);
        if (!tool) {
            rtm_esc_msg(stderr, "rtmem leaks: %s", err);
            free(leaks);
            free(groups);
            lk_input_free(&in);
            return 2;
        }
        size_t na = 0;
        for (size_t g = 0; g < ngroups; g++)
            na += groups[g].first->ncallers;
        uint64_t *addrs = malloc((na + 1) * sizeof *addrs);
        syms = calloc(na + 1, sizeof *syms);
        if (!addrs || !syms) {
            rtm_esc_msg(stderr, "rtmem leaks: out of memory");
            free(addrs);
            free(syms);
            free(leaks);
            free(groups);
            lk_input_free(&in);
            return 2;
        }
        na = 0;
        for (size_t g = 0; g < ngroups; g++)
            for (unsigned k = 0; k < groups[g].first->ncallers; k++)
                addrs[na++] = groups[g].first->callers[k];
        qsort(addrs, na, sizeof *addrs, cmp_u64);
        for (size_t k = 0; k < na; k++)
            if (nsyms == 0 || addrs[k] != syms[nsyms - 1].addr)
                syms[nsyms++].addr = addrs[k];
        free(addrs);
        /* a trace of `rtmem record` names the program's load range: a PIE's
         * addresses go to addr2line relative to its load bias */
        if (in.have_exe && sym_elf_is_pie(elf))
            for (size_t k = 0; k < nsyms; k++)
                if (syms[k].addr >= in.exe_lo && syms[k].addr < in.exe_hi)
                    syms[k].query = syms[k].addr - in.exe_base;
        if (sym_resolve(tool, elf, syms, nsyms, err, sizeof err) != 0) {
            rtm_esc_msg(stderr, "rtmem leaks: %s", err);
            free(syms);
            free(leaks);
            free(groups);
            lk_input_free(&in);
            return 2;
        }
    }

    /* the dump's own summary */
    const lk_summary_t *s = &in.sum;
    /* no summary: nothing to agree with (JSON null) */
    int agrees = s->have_leaked && s->leaked_bytes == alive_bytes && s->leaked_allocs == alive_blocks;
    if (s->have_leaked && !agrees && in.format != LK_FMT_RTMEM && in.esp_records_read == 0)
        rtm_esc_msg(stderr, "%s: note: only the dump's summary was found (no record lines): it "
                    "says %llu bytes in %llu allocations alive; nothing to group by caller",
                    in.name, (unsigned long long)s->leaked_bytes,
                    (unsigned long long)s->leaked_allocs);
    else if (s->have_leaked && !agrees)
        rtm_esc_msg(stderr,
                "%s: warning: the dump's summary says %llu bytes in %llu allocations alive, the "
                "records read add up to %llu bytes in %llu (truncated or mixed-up input?)",
                in.name, (unsigned long long)s->leaked_bytes, (unsigned long long)s->leaked_allocs,
                (unsigned long long)alive_bytes, (unsigned long long)alive_blocks);

    FILE *o = stdout;
    int esp = in.format != LK_FMT_RTMEM;
    if (json) {
        rtm_json_t j;
        rtm_json_begin_doc(&j, o, "leaks");
        rtm_json_kv_str(&j, "input", in.name);
        rtm_json_kv_str(&j, "format", lk_format_name(in.format));
        rtm_json_kv_bool(&j, "checkpoint", in.checkpoint_seen);
        rtm_json_kv_u64(&j, "since_seq", since);
        rtm_json_kv_u64(&j, "blocks", nleaks);
        rtm_json_kv_u64(&j, "bytes", leak_bytes);
        rtm_json_kv_u64(&j, "sites", ngroups);
        rtm_json_kv_u64(&j, "alive_blocks", alive_blocks);
        rtm_json_kv_u64(&j, "alive_bytes", alive_bytes);
        if (esp)
            rtm_json_kv_u64(&j, "records_read", in.esp_records_read);
        else
            rtm_json_kv_null(&j, "records_read");
        rtm_json_key(&j, "dump_summary");
        rtm_json_begin_object(&j);
        if (s->have_leaked) {
            rtm_json_kv_u64(&j, "bytes", s->leaked_bytes);
            rtm_json_kv_u64(&j, "allocations", s->leaked_allocs);
        }
        if (s->have_records) {
            rtm_json_kv_u64(&j, "records", s->records);
            rtm_json_kv_u64(&j, "capacity", s->capacity);
        }
        if (s->have_total) {
            rtm_json_kv_u64(&j, "total_allocations", s->total_allocs);
            rtm_json_kv_u64(&j, "total_frees", s->total_frees);
        }
        if (s->have_overflow)
            rtm_json_kv_bool(&j, "overflowed", s->overflowed);
        rtm_json_end_object(&j);
        if (s->have_leaked)
            rtm_json_kv_bool(&j, "summary_agrees", agrees);
        else
            rtm_json_kv_null(&j, "summary_agrees");
        rtm_json_kv_bool(&j, "complete", !in.cut_off);
        rtm_json_kv_str(&j, "cut_off_reason", in.cut_off ? in.cut_reason : NULL);
        rtm_json_key(&j, "groups");
        rtm_json_begin_array(&j);
        for (size_t g = 0; g < ngroups; g++) {
            const lk_group_t *G = &groups[g];
            rtm_json_begin_object(&j);
            rtm_json_kv_u64(&j, "bytes", G->bytes);
            rtm_json_kv_u64(&j, "blocks", G->blocks);
            rtm_json_kv_u64(&j, "min_size", G->min_size);
            rtm_json_kv_u64(&j, "max_size", G->max_size);
            if (G->has_time) {
                rtm_json_kv_u64(&j, "first_time", G->first_time);
                rtm_json_kv_u64(&j, "last_time", G->last_time);
            }
            rtm_json_kv_str(&j, "tasks", G->tasks);
            rtm_json_kv_str(&j, "regions", G->regions);
            rtm_json_kv_str(&j, "site", G->first->site);
            rtm_json_kv_str(&j, "first_id", G->first->id);
            rtm_json_key(&j, "callers");
            rtm_json_begin_array(&j);
            for (unsigned k = 0; k < G->first->ncallers; k++) {
                const sym_entry_t *e = syms ? find_sym(syms, nsyms, G->first->callers[k]) : NULL;
                rtm_json_begin_object(&j);
                rtm_json_key(&j, "addr");
                rtm_json_hex(&j, G->first->callers[k]);
                if (e) {
                    rtm_json_kv_str(&j, "function", e->function);
                    rtm_json_kv_str(&j, "file", e->file);
                    rtm_json_kv_u64(&j, "line", e->line);
                }
                rtm_json_end_object(&j);
            }
            rtm_json_end_array(&j);
            rtm_json_end_object(&j);
        }
        rtm_json_end_array(&j);
        (void)rtm_json_end_doc(&j);
    } else {
        put_text(o, in.name);
        fprintf(o, ": %s\n", lk_format_name(in.format));
        if (in.cut_off)
            fprintf(o, "INCOMPLETE DUMP: %s (the leaks below are those of the part read)\n",
                    in.cut_reason);
        if (s->have_leaked || s->have_total || s->have_records) {
            fprintf(o, "dump summary:");
            if (s->have_leaked)
                fprintf(o, " %llu bytes alive in %llu allocations%s", (unsigned long long)s->leaked_bytes,
                        (unsigned long long)s->leaked_allocs, agrees ? " (agrees with the records)" : " (DISAGREES with the records)");
            if (s->have_records)
                fprintf(o, "%s records %llu/%llu", s->have_leaked ? "," : "", (unsigned long long)s->records,
                        (unsigned long long)s->capacity);
            if (s->have_total)
                fprintf(o, ", total allocations %llu, total frees %llu", (unsigned long long)s->total_allocs,
                        (unsigned long long)s->total_frees);
            if (s->have_overflow && s->overflowed)
                fprintf(o, ", OVERFLOWED (records lost)");
            fputc('\n', o);
        }
        fprintf(o, "%llu bytes in %llu blocks still allocated%s, %llu call sites\n",
                (unsigned long long)leak_bytes, (unsigned long long)nleaks,
                in.checkpoint_seen ? " since the checkpoint" : since ? " since the given seq" : "",
                (unsigned long long)ngroups);
        for (size_t g = 0; g < ngroups; g++) {
            const lk_group_t *G = &groups[g];
            fprintf(o, "\n#%llu  %llu bytes in %llu blocks", (unsigned long long)(g + 1),
                    (unsigned long long)G->bytes, (unsigned long long)G->blocks);
            if (G->min_size == G->max_size)
                fprintf(o, " of %llu", (unsigned long long)G->min_size);
            else
                fprintf(o, " of %llu..%llu", (unsigned long long)G->min_size, (unsigned long long)G->max_size);
            if (G->tasks[0]) {
                fprintf(o, "  %s ", esp ? "cpu" : "task");
                put_text(o, G->tasks);
            }
            if (G->regions[0]) {
                fprintf(o, "  heap ");
                put_text(o, G->regions);
            }
            if (G->has_time && esp)
                fprintf(o, "  ccount 0x%08llx..0x%08llx", (unsigned long long)G->first_time,
                        (unsigned long long)G->last_time);
            else if (G->has_time)
                fprintf(o, "  time %llu..%llu", (unsigned long long)G->first_time,
                        (unsigned long long)G->last_time);
            fprintf(o, "  first ");
            rtm_esc_line(o, G->first->id);
            if (G->first->site[0]) {
                fprintf(o, "      site ");
                rtm_esc_line(o, G->first->site);
            }
            for (unsigned k = 0; k < G->first->ncallers; k++) {
                const sym_entry_t *e = syms ? find_sym(syms, nsyms, G->first->callers[k]) : NULL;
                fprintf(o, "    %s 0x%08llx", k ? "<-" : "at", (unsigned long long)G->first->callers[k]);
                if (e) {
                    fputs("  ", o);
                    put_text(o, e->function);
                    fputc(' ', o);
                    put_text(o, e->file);
                    fprintf(o, ":%lu", e->line);
                }
                fputc('\n', o);
            }
            if (G->first->ncallers == 0 && !G->first->site[0])
                fprintf(o, "      (no caller recorded)\n");
        }
    }
    free(syms);
    free(leaks);
    free(groups);
    lk_input_free(&in);
    if (in.cut_off) {
        rtm_esc_msg(stderr, "%s: warning: incomplete dump (%s): exit %d", in.name, in.cut_reason,
                    RTM_LEAKS_EXIT_CUT_OFF);
        return RTM_LEAKS_EXIT_CUT_OFF;
    }
    /* a summary pasted without its records still reports leaks */
    if (nleaks == 0 && in.format != LK_FMT_RTMEM && alive_blocks == 0 && s->have_leaked &&
        s->leaked_allocs > 0)
        return 1;
    return nleaks ? 1 : 0;
}
