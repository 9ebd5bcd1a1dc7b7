/*
 * What `rtmem report` collects from its inputs before it writes the page:
 * telemetry (regions, tasks, pools, alerts, recommendations) gathered line
 * by line here, traces analysed by report_trace.h, leak tables by
 * leaks_group.h. Memory: about 256 KiB per region (four down-sampled
 * series, report_series.h), about 64 KiB per pool (one series), a few
 * hundred bytes per task, alert and recommendation; nothing grows with the
 * number of samples.
 */
#ifndef RTMEM_TOOL_REPORT_MODEL_H
#define RTMEM_TOOL_REPORT_MODEL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "report_series.h"
#include "telemetry.h"

#define RTM_REP_ITEMS_MAX 256u   /* regions, tasks, pools: more are counted, not kept */
#define RTM_REP_EVENTS_MAX 4096u /* alerts and recommendations kept */

typedef struct rtm_rep_region {
    rtm_tm_mem_t last;          /* the latest sample */
    uint64_t samples;
    uint64_t min_free;          /* lowest min_free seen */
    uint64_t frag_max;          /* per mille */
    rtm_series_t free, min_free_s, largest, frag;
} rtm_rep_region_t;

typedef struct rtm_rep_task {
    rtm_tm_task_t last;
    uint64_t heap_peak, stack_peak; /* largest seen */
} rtm_rep_task_t;

typedef struct rtm_rep_pool {
    rtm_tm_pool_t last;
    uint64_t peak;              /* largest peak the pool reported */
    uint64_t used_min, used_max;          /* over the samples */
    uint64_t capacity_min, capacity_max;  /* differ only if the pool was remade */
    rtm_series_t used;          /* blocks in use over time */
} rtm_rep_pool_t;

typedef struct rtm_rep_rec {
    uint64_t ms;
    char rule[32];
    char source[RTM_TM_NAME_MAX];
    char text[400];
} rtm_rep_rec_t;

typedef struct rtm_rep_telemetry {
    uint64_t lines;             /* telemetry lines read */
    uint64_t by_type[RTM_TM_OTHER + 1];
    bool have_time;
    uint64_t first_ms, last_ms; /* over every telemetry line */
    rtm_rep_region_t *regions[RTM_REP_ITEMS_MAX];
    size_t nregions;
    rtm_rep_task_t tasks[RTM_REP_ITEMS_MAX];
    size_t ntasks;
    rtm_rep_pool_t *pools[RTM_REP_ITEMS_MAX];
    size_t npools;
    uint64_t items_dropped;     /* names past RTM_REP_ITEMS_MAX */
    rtm_tm_alert_t alerts[RTM_REP_EVENTS_MAX];
    size_t nalerts;
    rtm_rep_rec_t recs[RTM_REP_EVENTS_MAX]; /* latest text per (rule, source) */
    size_t nrecs;
    uint64_t events_dropped;
} rtm_rep_telemetry_t;

/* NULL when out of memory. */
rtm_rep_telemetry_t *rtm_rep_telemetry_new(void);
void rtm_rep_telemetry_free(rtm_rep_telemetry_t *m);

/* Adds one parsed telemetry line (rtm_tm_parse gave 1). Trace lines and
 * unknown types are counted only. 0, or -1 with the typed view's message
 * in err (a known type without a required key) or "out of memory". */
int rtm_rep_telemetry_add(rtm_rep_telemetry_t *m, const rtm_tm_line_t *line, char *err,
                          size_t errlen);

/* ms relative to the first telemetry line (the time axis), 0 before it. */
uint64_t rtm_rep_rel_ms(const rtm_rep_telemetry_t *m, uint64_t ms);

#endif
