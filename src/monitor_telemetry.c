/*
 * Telemetry lines (docs/formats.md): every line kind is a list of fields,
 * and one writer turns any list into a JSON line, so framing, escaping and
 * the rule for lines that do not fit live in one place.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "monitor_internal.h"
#include "rtmem/output.h"

/* Longer than RTM_LINE_MAX: a memory line with a long name is about 250
 * bytes. */
#define TELEMETRY_LINE_MAX 384u

/* The most fields of one line (a memory line with a trend). */
#define TELEMETRY_FIELDS_MAX 13u

typedef enum field_kind { FIELD_UINT, FIELD_INT, FIELD_STR } field_kind_t;

typedef struct field {
    const char *key;
    field_kind_t kind;
    union {
        uint64_t u;
        int64_t i;
        const char *s;
    } v;
} field_t;

/* A line's fields in the order they are written. A field past the end is
 * not stored and the line is marked lost, so that a kind grown beyond
 * TELEMETRY_FIELDS_MAX loses its line rather than a key. */
typedef struct field_list {
    field_t f[TELEMETRY_FIELDS_MAX];
    size_t n;
    bool lost;
} field_list_t;

static field_t *add_field(field_list_t *l, const char *key, field_kind_t kind)
{
    if (l->n == TELEMETRY_FIELDS_MAX) {
        l->lost = true;
        return NULL;
    }
    field_t *f = &l->f[l->n++];
    f->key = key;
    f->kind = kind;
    return f;
}

static void add_uint(field_list_t *l, const char *key, uint64_t v)
{
    field_t *f = add_field(l, key, FIELD_UINT);
    if (f != NULL) {
        f->v.u = v;
    }
}

static void add_int(field_list_t *l, const char *key, int64_t v)
{
    field_t *f = add_field(l, key, FIELD_INT);
    if (f != NULL) {
        f->v.i = v;
    }
}

static void add_str(field_list_t *l, const char *key, const char *v)
{
    field_t *f = add_field(l, key, FIELD_STR);
    if (f != NULL) {
        f->v.s = v;
    }
}

/* The one writer: {"rtmem":<version>,"type":<type>,"ms":<ms>, then the
 * fields. A line that did not fit is dropped whole: a cut JSON object would
 * only mislead the reader. */
static void write_line(const char *type, uint32_t ms, const field_list_t *l)
{
    if (l->lost) {
        return;
    }
    rtm_line_t line;
    char buf[TELEMETRY_LINE_MAX];
    rtm_line_init_buffer(&line, buf, sizeof buf);
    rtm_line_str(&line, "{\"rtmem\":");
    rtm_line_uint(&line, RTM_TELEMETRY_VERSION);
    rtm_line_str(&line, ",\"type\":");
    rtm_line_json_str(&line, type);
    rtm_line_str(&line, ",\"ms\":");
    rtm_line_uint(&line, ms);
    for (size_t i = 0; i < l->n; i++) {
        const field_t *f = &l->f[i];
        rtm_line_str(&line, ",\"");
        rtm_line_str(&line, f->key);
        rtm_line_str(&line, "\":");
        switch (f->kind) {
        case FIELD_UINT:
            rtm_line_uint(&line, f->v.u);
            break;
        case FIELD_INT:
            rtm_line_int(&line, f->v.i);
            break;
        case FIELD_STR:
            rtm_line_json_str(&line, f->v.s);
            break;
        }
    }
    rtm_line_str(&line, "}");
    if (!line.truncated) {
        rtm_line_emit(&line);
    }
}

static void mem_line(const rtm_monitor_mem_t *w, uint32_t ms, uint32_t seq)
{
    const rtm_monitor_mem_status_t *st = &w->status;
    field_list_t l = {.n = 0, .lost = false};
    add_uint(&l, "seq", seq);
    add_str(&l, "name", st->name);
    add_str(&l, "kind", w->heap != NULL ? "heap" : "caps");
    add_uint(&l, "total", st->total_bytes);
    add_uint(&l, "free", st->free_bytes);
    add_uint(&l, "min_free", st->min_free_bytes);
    add_uint(&l, "largest", st->largest_free);
    add_uint(&l, "used_blocks", st->used_blocks);
    add_uint(&l, "free_blocks", st->free_blocks);
    add_uint(&l, "failed", st->failed_count);
    add_uint(&l, "frag_pm", st->frag_permille);
    if (st->trend_valid) {
        add_int(&l, "trend_bpm", st->trend_bytes_per_min);
    }
    add_uint(&l, "alerts", st->alerts);
    write_line("mem", ms, &l);
}

static void pool_line(const rtm_monitor_pool_t *w, uint32_t ms, uint32_t seq)
{
    const rtm_monitor_pool_status_t *st = &w->status;
    field_list_t l = {.n = 0, .lost = false};
    add_uint(&l, "seq", seq);
    add_str(&l, "name", st->name);
    add_uint(&l, "block", st->block_size);
    add_uint(&l, "capacity", st->capacity);
    add_uint(&l, "used", st->used);
    add_uint(&l, "peak", st->peak_used);
    add_uint(&l, "failed", st->failed_count);
    add_uint(&l, "waits", st->wait_count);
    add_uint(&l, "alerts", st->alerts);
    write_line("pool", ms, &l);
}

static void task_line(const rtm_monitor_task_t *w, uint32_t ms, uint32_t seq, bool heap)
{
    const rtm_monitor_task_status_t *st = &w->status;
    field_list_t l = {.n = 0, .lost = false};
    add_uint(&l, "seq", seq);
    add_str(&l, "name", st->name);
    add_uint(&l, "id", st->task);
    if (heap) {
        add_uint(&l, "heap", st->heap_bytes);
        add_uint(&l, "heap_peak", st->heap_peak);
    }
    if (st->stack_known) {
        add_uint(&l, "stack_size", st->stack_size);
        add_uint(&l, "stack_peak", st->stack_peak);
    }
    add_uint(&l, "alerts", st->alerts);
    write_line("task", ms, &l);
}

void rtm_monitor_telemetry_alert(const rtm_alert_t *alert)
{
    field_list_t l = {.n = 0, .lost = false};
    add_str(&l, "alert", rtm_alert_kind_str(alert->kind));
    add_str(&l, "state", alert->raised ? "raised" : "cleared");
    add_str(&l, "source", alert->source);
    add_int(&l, "value", alert->value);
    add_int(&l, "threshold", alert->threshold);
    write_line("alert", alert->ms, &l);
}

void rtm_monitor_telemetry_rec(const rtm_recommendation_t *rec, uint32_t ms, const char *text)
{
    /* The keys of v[0..4] per rule (NULL: not used by that rule). */
    static const char *const names[RTM_REC_KIND_COUNT][5] = {
        {"size", "min_free", "peak_used", "advised", "fixed"},
        {"size", "min_free", "peak_used", "advised", NULL},
        {"block", "allocs", "all_allocs", "peak_live", "count"},
        {"size", "peak_used", "advised", NULL, NULL},
        {"count", "bytes", "largest", "internal_min_free", "psram_free"},
        {"loss_bpm", "free", "tracing", NULL, NULL},
    };
    field_list_t l = {.n = 0, .lost = false};
    add_str(&l, "rule", rtm_rec_kind_str(rec->kind));
    add_str(&l, "source", rec->source);
    for (size_t i = 0; i < 5 && (unsigned)rec->kind < RTM_REC_KIND_COUNT; i++) {
        if (names[rec->kind][i] != NULL) {
            add_uint(&l, names[rec->kind][i], rec->v[i]);
        }
    }
    add_str(&l, "text", text);
    write_line("rec", ms, &l);
}

void rtm_monitor_emit_telemetry(rtm_monitor_t *mon)
{
    if (!rtm_monitor_valid(mon)) {
        return;
    }
    rtm_port_lock(&mon->lock);
    uint32_t ms = mon->last_ms;
    uint32_t seq = mon->samples;
    rtm_port_unlock(&mon->lock);
    /* A watch never sampled has no figures, only zeroes that would read
     * as an empty memory or an idle pool: it has no line. */
    for (const rtm_monitor_mem_t *w = mon->mems; w != NULL; w = w->next) {
        if (w->status.sampled) {
            mem_line(w, ms, seq);
        }
    }
    for (const rtm_monitor_pool_t *w = mon->pools; w != NULL; w = w->next) {
        if (w->status.sampled) {
            pool_line(w, ms, seq);
        }
    }
    for (const rtm_monitor_task_t *w = mon->tasks; w != NULL; w = w->next) {
        if (w->status.sampled) {
            task_line(w, ms, seq, mon->cfg.task_stats != NULL);
        }
    }
}
