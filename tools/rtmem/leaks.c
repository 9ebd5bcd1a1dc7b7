/* `rtmem leaks DUMP [--elf FIRMWARE.elf] [--addr2line PATH] [--json] [--since SEQ]` */
#define _POSIX_C_SOURCE 200809L
#include "leaks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "leaks_group.h"
#include "leaks_parse.h"
#include "replay.h"
#include "symbolize.h"

static void usage(FILE *f)
{
    fputs("usage: rtmem leaks DUMP [--elf FIRMWARE.elf] [--addr2line PATH] [--since SEQ] [--json]\n"
          "\n"
          "Reports the blocks still allocated at the end of DUMP ('-' reads stdin), grouped by\n"
          "call site (caller chain and site), largest bytes first.\n"
          "\n"
          "DUMP is an rtmem-trace 1 stream or rtm_trace_dump output, or ESP-IDF heap_trace_dump()\n"
          "output (up to v5.0, v5.1-v5.4, v5.5+), possibly inside a serial log; a paste without\n"
          "the dump's header (records alone, records and summary, or the summary alone) is read\n"
          "too. With a '# checkpoint' line, only blocks allocated after the last one count.\n"
          "\n"          "  --elf FILE        symbolize caller addresses with addr2line (chosen by the ELF's machine)\n"
          "  --addr2line PATH  the addr2line to use\n"
          "  --since SEQ       only records with seq= at least SEQ (rtm_trace_dump output)\n"
          "  --json            one JSON object instead of the table\n"
          "\n"
          "Exit status: 0 nothing leaked, 1 leaks found, 2 bad usage or bad input (a NUL byte,\n"
          "a line over 4096 bytes, a number over 64 bits, empty input: FILE:LINE named),\n"
          "3 the ESP-IDF dump is cut off (a panic inside it, no summary after its header):\n"
          "its leaks are still listed.\n",
          f);
}

static void json_str(FILE *o, const char *s)
{
    rtm_esc_json(o, s);
}

/* Text from the input (or from addr2line) in the table: escaped. */
static void put_text(FILE *o, const char *s)
{
    rtm_esc_write(o, s, strlen(s));
}

int rtm_cmd_leaks(int argc, char **argv)
{
    const char *path = NULL, *elf = NULL, *a2l = NULL;
    int json = 0;
    uint64_t since = 0;
    for (int i = 1; i < argc; i++) {
        const char *a = argv[i];
        if (strcmp(a, "--help") == 0 || strcmp(a, "-h") == 0) {
            usage(stdout);
            return 0;
        } else if (strcmp(a, "--json") == 0) {
            json = 1;
        } else if ((strcmp(a, "--elf") == 0 || strcmp(a, "--addr2line") == 0 || strcmp(a, "--since") == 0)) {
            if (i + 1 >= argc) {
                rtm_esc_msg(stderr, "rtmem leaks: %s needs a value", a);
                return 2;
            }
            const char *v = argv[++i];
            if (a[2] == 'e') {
                elf = v;
            } else if (a[2] == 'a') {
                a2l = v;
            } else {
                if (!rtm_tool_parse_u64(v, &since)) {
                    rtm_esc_msg(stderr,
                                "rtmem leaks: --since needs a sequence number 0..%llu, not '%s'",
                                (unsigned long long)UINT64_MAX, v);
                    return 2;
                }
            }
        } else if (a[0] == '-' && a[1] != '\0') {
            rtm_esc_msg(stderr, "rtmem leaks: unknown option '%s' (see rtmem leaks --help)", a);
            return 2;
        } else if (!path) {
            path = a;
        } else {
            rtm_esc_msg(stderr, "rtmem leaks: one input only ('%s' and '%s')", path, a);
            return 2;
        }
    }
    if (!path) {
        usage(stderr);
        return 2;
    }

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

    /* symbols */
    sym_entry_t *syms = NULL;
    size_t nsyms = 0;
    if (elf) {
        char err[512];
        if (lk_leaks_symbolize(&in, &table, elf, a2l, &syms, &nsyms, err, sizeof err) != 0) {
            rtm_esc_msg(stderr, "rtmem leaks: %s", err);
            lk_leaks_free(&table);
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
        fprintf(o, "{\"input\":");
        json_str(o, in.name);
        fprintf(o, ",\"format\":");
        json_str(o, lk_format_name(in.format));
        fprintf(o, ",\"checkpoint\":%s,\"since_seq\":%llu", in.checkpoint_seen ? "true" : "false",
                (unsigned long long)since);
        fprintf(o, ",\"blocks\":%llu,\"bytes\":%llu,\"sites\":%llu", (unsigned long long)nleaks,
                (unsigned long long)leak_bytes, (unsigned long long)ngroups);
        fprintf(o, ",\"alive_blocks\":%llu,\"alive_bytes\":%llu", (unsigned long long)alive_blocks,
                (unsigned long long)alive_bytes);
        if (esp)
            fprintf(o, ",\"records_read\":%llu", (unsigned long long)in.esp_records_read);
        fprintf(o, ",\"dump_summary\":{");
        int comma = 0;
        if (s->have_leaked) {
            fprintf(o, "\"bytes\":%llu,\"allocations\":%llu", (unsigned long long)s->leaked_bytes,
                    (unsigned long long)s->leaked_allocs);
            comma = 1;
        }
        if (s->have_records) {
            fprintf(o, "%s\"records\":%llu,\"capacity\":%llu", comma ? "," : "",
                    (unsigned long long)s->records, (unsigned long long)s->capacity);
            comma = 1;
        }
        if (s->have_total) {
            fprintf(o, "%s\"total_allocations\":%llu,\"total_frees\":%llu", comma ? "," : "",
                    (unsigned long long)s->total_allocs, (unsigned long long)s->total_frees);
            comma = 1;
        }
        if (s->have_overflow)
            fprintf(o, "%s\"overflowed\":%s", comma ? "," : "", s->overflowed ? "true" : "false");
        fprintf(o, "},\"summary_agrees\":%s", !s->have_leaked ? "null" : agrees ? "true" : "false");
        fprintf(o, ",\"complete\":%s,\"cut_off_reason\":", in.cut_off ? "false" : "true");
        if (in.cut_off)
            json_str(o, in.cut_reason);
        else
            fputs("null", o);
        fprintf(o, ",\"groups\":[");
        for (size_t g = 0; g < ngroups; g++) {
            const lk_group_t *G = &groups[g];
            fprintf(o, "%s{\"bytes\":%llu,\"blocks\":%llu,\"min_size\":%llu,\"max_size\":%llu",
                    g ? "," : "", (unsigned long long)G->bytes, (unsigned long long)G->blocks,
                    (unsigned long long)G->min_size, (unsigned long long)G->max_size);
            if (G->has_time)
                fprintf(o, ",\"first_time\":%llu,\"last_time\":%llu",
                        (unsigned long long)G->first_time, (unsigned long long)G->last_time);
            fprintf(o, ",\"tasks\":");
            json_str(o, G->tasks);
            fprintf(o, ",\"regions\":");
            json_str(o, G->regions);
            fprintf(o, ",\"site\":");
            json_str(o, G->first->site);
            fprintf(o, ",\"first_id\":");
            json_str(o, G->first->id);
            fprintf(o, ",\"callers\":[");
            for (unsigned k = 0; k < G->first->ncallers; k++) {
                char hex[24];
                snprintf(hex, sizeof hex, "0x%llx", (unsigned long long)G->first->callers[k]);
                fprintf(o, "%s{\"addr\":", k ? "," : "");
                json_str(o, hex);
                const sym_entry_t *e = syms ? lk_find_sym(syms, nsyms, G->first->callers[k]) : NULL;
                if (e) {
                    fprintf(o, ",\"function\":");
                    json_str(o, e->function);
                    fprintf(o, ",\"file\":");
                    json_str(o, e->file);
                    fprintf(o, ",\"line\":%lu", e->line);
                }
                fputc('}', o);
            }
            fprintf(o, "]}");
        }
        fprintf(o, "]}\n");
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
                const sym_entry_t *e = syms ? lk_find_sym(syms, nsyms, G->first->callers[k]) : NULL;
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
    lk_leaks_free(&table);
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
