/* Leaks grouped by call site, shared by `rtmem leaks` and `rtmem report`. */
#include "leaks_group.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "sum64.h"

static int cmp_chain(const lk_record_t *a, const lk_record_t *b)
{
    if (a->origin == b->origin)
        return 0; /* shared: the same chain and site */
    unsigned na = lk_rec_ncallers(a), nb = lk_rec_ncallers(b);
    const uint64_t *ca = lk_rec_callers(a), *cb = lk_rec_callers(b);
    unsigned n = na < nb ? na : nb;
    for (unsigned i = 0; i < n; i++)
        if (ca[i] != cb[i])
            return ca[i] < cb[i] ? -1 : 1;
    if (na != nb)
        return na < nb ? -1 : 1;
    return strcmp(lk_rec_site(a), lk_rec_site(b));
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

int lk_leaks_group(const lk_input_t *in, uint64_t since, lk_leaks_t *out)
{
    memset(out, 0, sizeof *out);
    out->leaks = malloc((in->live + 1) * sizeof *out->leaks);
    out->groups = malloc((in->live + 1) * sizeof *out->groups);
    if (!out->leaks || !out->groups) {
        lk_leaks_free(out);
        return -1;
    }
    for (size_t i = 0; i < in->nrec; i++) {
        const lk_record_t *r = &in->rec[i];
        if (!r->in_use)
            continue;
        if (!r->freed) {
            out->alive_blocks++;
            out->alive_bytes = rtm_sat_add(out->alive_bytes, r->size);
        }
        if (lk_record_is_leak(r, since)) {
            out->leaks[out->nleaks++] = r;
            out->leak_bytes = rtm_sat_add(out->leak_bytes, r->size);
        }
    }
    qsort(out->leaks, out->nleaks, sizeof *out->leaks, cmp_rec_ptr);
    for (size_t i = 0; i < out->nleaks; i++) {
        const lk_record_t *r = out->leaks[i];
        lk_group_t *g;
        if (out->ngroups && cmp_chain(out->groups[out->ngroups - 1].first, r) == 0) {
            g = &out->groups[out->ngroups - 1];
        } else {
            g = &out->groups[out->ngroups++];
            memset(g, 0, sizeof *g);
            g->first = r;
            g->start = i;
            g->min_size = r->size;
        }
        g->blocks++;
        g->bytes = rtm_sat_add(g->bytes, r->size);
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
    }
    qsort(out->groups, out->ngroups, sizeof *out->groups, cmp_group);
    return 0;
}

/* The comma list of name(r) over g's blocks. Blocks of one origin have
 * the same names: only a change of origin can add one. */
static const char *group_names(const lk_leaks_t *l, const lk_group_t *g, char *buf, size_t cap,
                               const char *(*name)(const lk_record_t *))
{
    buf[0] = '\0';
    const lk_origin_t *last = NULL;
    for (size_t i = g->start; i < g->start + g->blocks; i++) {
        const lk_record_t *r = l->leaks[i];
        if (i > g->start && r->origin == last)
            continue;
        last = r->origin;
        add_name(buf, cap, name(r));
    }
    return buf;
}

const char *lk_group_tasks(const lk_leaks_t *l, const lk_group_t *g,
                           char buf[LK_GROUP_TASKS_MAX])
{
    return group_names(l, g, buf, LK_GROUP_TASKS_MAX, lk_rec_task);
}

const char *lk_group_regions(const lk_leaks_t *l, const lk_group_t *g,
                             char buf[LK_GROUP_REGIONS_MAX])
{
    return group_names(l, g, buf, LK_GROUP_REGIONS_MAX, lk_rec_region);
}

void lk_leaks_free(lk_leaks_t *l)
{
    free(l->leaks);
    free(l->groups);
    memset(l, 0, sizeof *l);
}

int lk_leaks_symbolize(const lk_input_t *in, const lk_leaks_t *l, const char *elf,
                       const char *a2l, sym_entry_t **syms_out, size_t *nsyms_out, char *err,
                       size_t errlen)
{
    *syms_out = NULL;
    *nsyms_out = 0;
    const char *tool = sym_pick_addr2line(elf, a2l, err, errlen);
    if (!tool)
        return -1;
    size_t na = 0;
    for (size_t g = 0; g < l->ngroups; g++)
        na += lk_rec_ncallers(l->groups[g].first);
    uint64_t *addrs = malloc((na + 1) * sizeof *addrs);
    sym_entry_t *syms = calloc(na + 1, sizeof *syms);
    if (!addrs || !syms) {
        free(addrs);
        free(syms);
        (void)snprintf(err, errlen, "out of memory");
        return -1;
    }
    na = 0;
    for (size_t g = 0; g < l->ngroups; g++)
        for (unsigned k = 0; k < lk_rec_ncallers(l->groups[g].first); k++)
            addrs[na++] = lk_rec_callers(l->groups[g].first)[k];
    qsort(addrs, na, sizeof *addrs, cmp_u64);
    size_t nsyms = 0;
    for (size_t k = 0; k < na; k++)
        if (nsyms == 0 || addrs[k] != syms[nsyms - 1].addr)
            syms[nsyms++].addr = addrs[k];
    free(addrs);
    /* a trace of `rtmem record` names the program's load range: a PIE's
     * addresses go to addr2line relative to its load bias */
    if (in->have_exe && sym_elf_is_pie(elf))
        for (size_t k = 0; k < nsyms; k++)
            if (syms[k].addr >= in->exe_lo && syms[k].addr < in->exe_hi)
                syms[k].query = syms[k].addr - in->exe_base;
    if (sym_resolve(tool, elf, syms, nsyms, err, errlen) != 0) {
        free(syms);
        return -1;
    }
    *syms_out = syms;
    *nsyms_out = nsyms;
    return 0;
}

const sym_entry_t *lk_find_sym(const sym_entry_t *s, size_t n, uint64_t a)
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
