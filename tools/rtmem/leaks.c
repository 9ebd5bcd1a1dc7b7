/* `rtmem leaks DUMP [--elf FIRMWARE.elf] [--addr2line PATH] [--json] [--since SEQ]` */
#define _POSIX_C_SOURCE 200809L
#include "leaks.h"

#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "leaks_parse.h"
#include "replay.h"
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

static void json_str(FILE *o, const char *s)
{
    rtm_esc_json(o, s);
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
                const sym_entry_t *e = syms ? find_sym(syms, nsyms, G->first->callers[k]) : NULL;
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
