/* Telemetry gathered for `rtmem report` (report_model.h). */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "report_model.h"

rtm_rep_telemetry_t *rtm_rep_telemetry_new(void)
{
    return calloc(1, sizeof(rtm_rep_telemetry_t));
}

void rtm_rep_telemetry_free(rtm_rep_telemetry_t *m)
{
    if (m == NULL) {
        return;
    }
    for (size_t i = 0; i < m->nregions; i++) {
        free(m->regions[i]);
    }
    for (size_t i = 0; i < m->npools; i++) {
        free(m->pools[i]);
    }
    free(m);
}

uint64_t rtm_rep_rel_ms(const rtm_rep_telemetry_t *m, uint64_t ms)
{
    return m->have_time && ms > m->first_ms ? ms - m->first_ms : 0;
}

static rtm_rep_region_t *region_for(rtm_rep_telemetry_t *m, const char *name, bool *oom)
{
    for (size_t i = 0; i < m->nregions; i++) {
        if (strcmp(m->regions[i]->last.name, name) == 0) {
            return m->regions[i];
        }
    }
    if (m->nregions == RTM_REP_ITEMS_MAX) {
        m->items_dropped++;
        return NULL;
    }
    rtm_rep_region_t *r = malloc(sizeof *r);
    if (r == NULL) {
        *oom = true;
        return NULL;
    }
    memset(&r->last, 0, sizeof r->last);
    r->samples = 0;
    r->frag_max = 0;
    rtm_series_init(&r->free);
    rtm_series_init(&r->min_free_s);
    rtm_series_init(&r->largest);
    rtm_series_init(&r->frag);
    m->regions[m->nregions++] = r;
    return r;
}

static int add_mem(rtm_rep_telemetry_t *m, const rtm_tm_line_t *line, char *err, size_t errlen)
{
    rtm_tm_mem_t v;
    if (!rtm_tm_mem(line, &v, err, errlen)) {
        return -1;
    }
    bool oom = false;
    rtm_rep_region_t *r = region_for(m, v.name, &oom);
    if (r == NULL) {
        if (oom) {
            (void)snprintf(err, errlen, "out of memory");
            return -1;
        }
        return 0;
    }
    uint64_t x = rtm_rep_rel_ms(m, v.ms);
    if (r->samples == 0 || v.min_free < r->min_free) {
        r->min_free = v.min_free;
    }
    if (v.frag_pm > r->frag_max) {
        r->frag_max = v.frag_pm;
    }
    r->samples++;
    r->last = v;
    rtm_series_add(&r->free, x, (double)v.free);
    rtm_series_add(&r->min_free_s, x, (double)v.min_free);
    rtm_series_add(&r->largest, x, (double)v.largest);
    rtm_series_add(&r->frag, x, (double)v.frag_pm);
    return 0;
}

static int add_task(rtm_rep_telemetry_t *m, const rtm_tm_line_t *line, char *err, size_t errlen)
{
    rtm_tm_task_t v;
    if (!rtm_tm_task(line, &v, err, errlen)) {
        return -1;
    }
    rtm_rep_task_t *t = NULL;
    for (size_t i = 0; i < m->ntasks && t == NULL; i++) {
        if (strcmp(m->tasks[i].last.name, v.name) == 0) {
            t = &m->tasks[i];
        }
    }
    if (t == NULL) {
        if (m->ntasks == RTM_REP_ITEMS_MAX) {
            m->items_dropped++;
            return 0;
        }
        t = &m->tasks[m->ntasks++];
        memset(t, 0, sizeof *t);
    }
    t->last = v;
    if (v.has_heap && v.heap_peak > t->heap_peak) {
        t->heap_peak = v.heap_peak;
    }
    if (v.has_stack && v.stack_peak > t->stack_peak) {
        t->stack_peak = v.stack_peak;
    }
    return 0;
}

static int add_pool(rtm_rep_telemetry_t *m, const rtm_tm_line_t *line, char *err, size_t errlen)
{
    rtm_tm_pool_t v;
    if (!rtm_tm_pool(line, &v, err, errlen)) {
        return -1;
    }
    rtm_rep_pool_t *p = NULL;
    for (size_t i = 0; i < m->npools && p == NULL; i++) {
        if (strcmp(m->pools[i]->last.name, v.name) == 0) {
            p = m->pools[i];
        }
    }
    bool first = p == NULL;
    if (first) {
        if (m->npools == RTM_REP_ITEMS_MAX) {
            m->items_dropped++;
            return 0;
        }
        p = malloc(sizeof *p);
        if (p == NULL) {
            (void)snprintf(err, errlen, "out of memory");
            return -1;
        }
        memset(&p->last, 0, sizeof p->last);
        p->peak = 0;
        p->used_min = p->used_max = v.used;
        p->capacity_min = p->capacity_max = v.capacity;
        rtm_series_init(&p->used);
        m->pools[m->npools++] = p;
    }
    p->last = v;
    if (v.peak > p->peak) {
        p->peak = v.peak;
    }
    p->used_min = v.used < p->used_min ? v.used : p->used_min;
    p->used_max = v.used > p->used_max ? v.used : p->used_max;
    p->capacity_min = v.capacity < p->capacity_min ? v.capacity : p->capacity_min;
    p->capacity_max = v.capacity > p->capacity_max ? v.capacity : p->capacity_max;
    rtm_series_add(&p->used, rtm_rep_rel_ms(m, v.ms), (double)v.used);
    return 0;
}

static int add_rec(rtm_rep_telemetry_t *m, const rtm_tm_line_t *line, char *err, size_t errlen)
{
    rtm_tm_rec_t v;
    if (!rtm_tm_rec(line, &v, err, errlen)) {
        return -1;
    }
    rtm_rep_rec_t *r = NULL;
    for (size_t i = 0; i < m->nrecs && r == NULL; i++) {
        if (strcmp(m->recs[i].rule, v.rule) == 0 && strcmp(m->recs[i].source, v.source) == 0) {
            r = &m->recs[i]; /* advice repeated by a later sample: keep the latest */
        }
    }
    if (r == NULL) {
        if (m->nrecs == RTM_REP_EVENTS_MAX) {
            m->events_dropped++;
            return 0;
        }
        r = &m->recs[m->nrecs++];
    }
    r->ms = v.ms;
    (void)snprintf(r->rule, sizeof r->rule, "%s", v.rule);
    (void)snprintf(r->source, sizeof r->source, "%s", v.source);
    (void)snprintf(r->text, sizeof r->text, "%s", v.text != NULL ? v.text : "");
    return 0;
}

int rtm_rep_telemetry_add(rtm_rep_telemetry_t *m, const rtm_tm_line_t *line, char *err,
                          size_t errlen)
{
    m->lines++;
    m->by_type[line->type <= RTM_TM_OTHER ? line->type : RTM_TM_OTHER]++;
    if (!m->have_time) {
        m->have_time = true;
        m->first_ms = line->ms;
    }
    if (line->ms > m->last_ms) {
        m->last_ms = line->ms;
    }
    switch (line->type) {
    case RTM_TM_MEM:
        return add_mem(m, line, err, errlen);
    case RTM_TM_TASK:
        return add_task(m, line, err, errlen);
    case RTM_TM_POOL:
        return add_pool(m, line, err, errlen);
    case RTM_TM_REC:
        return add_rec(m, line, err, errlen);
    case RTM_TM_ALERT:
        if (m->nalerts == RTM_REP_EVENTS_MAX) {
            rtm_tm_alert_t scratch;
            m->events_dropped++;
            return rtm_tm_alert(line, &scratch, err, errlen) ? 0 : -1;
        }
        if (!rtm_tm_alert(line, &m->alerts[m->nalerts], err, errlen)) {
            return -1;
        }
        m->nalerts++;
        return 0;
    case RTM_TM_TRACE:
    case RTM_TM_OTHER:
        break;
    }
    return 0;
}
