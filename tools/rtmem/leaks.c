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
#include "leaks_group.h"
#include "leaks_parse.h"
#include "symbolize.h"

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
    "a line over 4096 bytes, a number over 64 bits, empty input: FILE:LINE named) or an\n"
    "--elf that cannot be used (the report is printed without symbols), 3 the ESP-IDF\n"
    "dump is cut off (a panic inside it, no summary after its header): its leaks are\n"
    "still listed.\n";

/* Text from the input (or from addr2line) in the table: escaped. */
static void put_text(FILE *o, const char *s)
{
    rtm_esc_write(o, s, strlen(s));
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
    /* A malformed line stops the reading, but what was read before it is
     * still reported, marked incomplete as a cut-off dump is; the exit
     * status stays 2. */
    bool bad_input = rc != 0;
    if (bad_input) {
        rtm_esc_line(stderr, in.err);
        if (in.format == LK_FMT_NONE) {
            lk_input_free(&in);
            return 2;
        }
        size_t name_len = strlen(in.name);
        const char *what = in.err;
        if (strncmp(what, in.name, name_len) == 0 && what[name_len] == ':')
            what += name_len + 1;
        /* The reason is cut to its field; the whole message went to stderr. */
        static const char stopped[] = "reading stopped at line ";
        snprintf(in.cut_reason, sizeof in.cut_reason, "%s%.*s", stopped,
                 (int)(sizeof in.cut_reason - sizeof stopped), what);
        in.cut_off = 1;
    }
    if (in.format == LK_FMT_NONE) {
        rtm_esc_msg(stderr, "%s: no rtmem trace or ESP-IDF heap trace dump found", in.name);
        lk_input_free(&in);
        return 2;
    }

    /* leaks, grouped */
    lk_leaks_t table;
    if (lk_leaks_group(&in, since, &table) != 0) {
        rtm_esc_msg(stderr, "rtmem leaks: out of memory");
        lk_input_free(&in);
        return 2;
    }
    size_t nleaks = table.nleaks, ngroups = table.ngroups;
    const lk_group_t *groups = table.groups;
    uint64_t leak_bytes = table.leak_bytes, alive_bytes = table.alive_bytes;
    uint64_t alive_blocks = table.alive_blocks;

    /* Symbols. The leaks are the result and the symbols only dress them:
     * an ELF that cannot be used (or an addr2line that fails) costs the
     * names, not the report, as for rtmem report's page. */
    sym_entry_t *syms = NULL;
    size_t nsyms = 0;
    bool no_symbols = false;
    if (elf) {
        char err[512];
        if (lk_leaks_symbolize(&in, &table, elf, a2l, &syms, &nsyms, err, sizeof err) != 0) {
            size_t elf_len = strlen(elf);
            const char *why = err;
            if (strncmp(why, elf, elf_len) == 0 && strncmp(why + elf_len, ": ", 2) == 0)
                why += elf_len + 2; /* the file is named once, below */
            rtm_esc_msg(stderr,
                        "rtmem leaks: warning: no symbols from --elf %s: %s; the report shows "
                        "addresses only (exit 2)",
                        elf, why);
            no_symbols = true;
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
            char id[LK_ID_MAX];
            rtm_json_begin_object(&j);
            rtm_json_kv_u64(&j, "bytes", G->bytes);
            rtm_json_kv_u64(&j, "blocks", G->blocks);
            rtm_json_kv_u64(&j, "min_size", G->min_size);
            rtm_json_kv_u64(&j, "max_size", G->max_size);
            if (G->has_time) {
                rtm_json_kv_u64(&j, "first_time", G->first_time);
                rtm_json_kv_u64(&j, "last_time", G->last_time);
            }
            char names[LK_GROUP_TASKS_MAX];
            rtm_json_kv_str(&j, "tasks", lk_group_tasks(&table, G, names));
            rtm_json_kv_str(&j, "regions", lk_group_regions(&table, G, names));
            rtm_json_kv_str(&j, "site", lk_rec_site(G->first));
            rtm_json_kv_str(&j, "first_id", lk_rec_id(G->first, id));
            rtm_json_key(&j, "callers");
            rtm_json_begin_array(&j);
            for (unsigned k = 0; k < lk_rec_ncallers(G->first); k++) {
                const sym_entry_t *e = syms ? lk_find_sym(syms, nsyms, lk_rec_callers(G->first)[k]) : NULL;
                rtm_json_begin_object(&j);
                rtm_json_key(&j, "addr");
                rtm_json_hex(&j, lk_rec_callers(G->first)[k]);
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
            char id[LK_ID_MAX];
            fprintf(o, "\n#%llu  %llu bytes in %llu blocks", (unsigned long long)(g + 1),
                    (unsigned long long)G->bytes, (unsigned long long)G->blocks);
            if (G->min_size == G->max_size)
                fprintf(o, " of %llu", (unsigned long long)G->min_size);
            else
                fprintf(o, " of %llu..%llu", (unsigned long long)G->min_size, (unsigned long long)G->max_size);
            char names[LK_GROUP_TASKS_MAX];
            if (lk_group_tasks(&table, G, names)[0]) {
                fprintf(o, "  %s ", esp ? "cpu" : "task");
                put_text(o, names);
            }
            if (lk_group_regions(&table, G, names)[0]) {
                fprintf(o, "  heap ");
                put_text(o, names);
            }
            if (G->has_time && esp)
                fprintf(o, "  ccount 0x%08llx..0x%08llx", (unsigned long long)G->first_time,
                        (unsigned long long)G->last_time);
            else if (G->has_time)
                fprintf(o, "  time %llu..%llu", (unsigned long long)G->first_time,
                        (unsigned long long)G->last_time);
            fprintf(o, "  first ");
            rtm_esc_line(o, lk_rec_id(G->first, id));
            if (lk_rec_site(G->first)[0]) {
                fprintf(o, "      site ");
                rtm_esc_line(o, lk_rec_site(G->first));
            }
            for (unsigned k = 0; k < lk_rec_ncallers(G->first); k++) {
                const sym_entry_t *e = syms ? lk_find_sym(syms, nsyms, lk_rec_callers(G->first)[k]) : NULL;
                fprintf(o, "    %s 0x%08llx", k ? "<-" : "at", (unsigned long long)lk_rec_callers(G->first)[k]);
                if (e) {
                    fputs("  ", o);
                    put_text(o, e->function);
                    fputc(' ', o);
                    put_text(o, e->file);
                    fprintf(o, ":%lu", e->line);
                }
                fputc('\n', o);
            }
            if (lk_rec_ncallers(G->first) == 0 && !lk_rec_site(G->first)[0])
                fprintf(o, "      (no caller recorded)\n");
        }
    }
    free(syms);
    lk_leaks_free(&table);
    lk_input_free(&in);
    if (bad_input)
        return 2;
    if (in.cut_off) {
        rtm_esc_msg(stderr, "%s: warning: incomplete dump (%s): exit %d", in.name, in.cut_reason,
                    no_symbols ? 2 : RTM_LEAKS_EXIT_CUT_OFF);
        return no_symbols ? 2 : RTM_LEAKS_EXIT_CUT_OFF;
    }
    if (no_symbols)
        return 2;
    /* a summary pasted without its records still reports leaks */
    if (nleaks == 0 && in.format != LK_FMT_RTMEM && alive_blocks == 0 && s->have_leaked &&
        s->leaked_allocs > 0)
        return 1;
    return nleaks ? 1 : 0;
}
