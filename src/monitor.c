#include "rtmem/monitor.h"

#include <string.h>

#include "rtmem/output.h"
#include "rtmem/stack.h"

#define MONITOR_MAGIC 0x4d4f4e31u /* "MON1" */

/* A telemetry line: longer than RTM_LINE_MAX (a memory snapshot with a
 * long name is about 250 bytes). */
#define TELEMETRY_LINE_MAX 384u

/* Rules of the recommendations (documented in monitor.h). */
#define GROW_BELOW_PERCENT 10u
#define SHRINK_ABOVE_PERCENT 50u
#define SHRINK_MIN_SAMPLES 10u
#define POOL_MIN_ALLOCS 100u
#define POOL_MIN_SHARE_PERCENT 30u
#define POOL_MARGIN_PERCENT 25u
/* A free is matched to a tracked size when its usable bytes exceed the
 * size by less than this: the most a block grows past the request when
 * the remainder is too small to split off, in every strategy. */
#define FREE_MATCH_SLACK 32u

static bool monitor_ok(const rtm_monitor_t *mon)
{
    return mon != NULL && mon->magic == MONITOR_MAGIC;
}

static uint32_t now_ms(const rtm_monitor_t *mon)
{
    return mon->cfg.clock_ms != NULL ? mon->cfg.clock_ms() : rtm_port_ticks();
}

static uint32_t clamp_u32(size_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

static size_t add_percent(size_t v, unsigned percent)
{
    uint64_t r = (uint64_t)v * (100u + percent) / 100u;
    return r > SIZE_MAX ? SIZE_MAX : (size_t)r;
}

static size_t round_up(size_t v, size_t to)
{
    return to == 0 ? v : (v + to - 1u) / to * to;
}

rtm_monitor_t *rtm_monitor_init(rtm_monitor_t *mon, const rtm_monitor_config_t *cfg)
{
    static const rtm_monitor_config_t defaults = RTM_MONITOR_CONFIG_DEFAULT;
    if (mon == NULL) {
        return NULL;
    }
    memset(mon, 0, sizeof *mon);
    mon->cfg = cfg != NULL ? *cfg : defaults;
    if (mon->cfg.trend_window_ms == 0) {
        mon->cfg.trend_window_ms = 60000u;
    }
    if (!rtm_port_lock_init(&mon->lock)) {
        return NULL;
    }
    mon->magic = MONITOR_MAGIC;
    return mon;
}

void rtm_monitor_deinit(rtm_monitor_t *mon)
{
    if (!monitor_ok(mon)) {
        return;
    }
    mon->magic = 0;
    rtm_port_lock_destroy(&mon->lock);
}

/* ------------------------------------------------------------------------ */
/* Watches                                                                   */

static bool mem_listed(const rtm_monitor_t *mon, const rtm_monitor_mem_t *w)
{
    for (const rtm_monitor_mem_t *m = mon->mems; m != NULL; m = m->next) {
        if (m == w) {
            return true;
        }
    }
    return false;
}

static bool add_mem(rtm_monitor_t *mon, rtm_monitor_mem_t *w, rtm_heap_t *heap, rtm_caps_t caps,
                    const char *name, const rtm_monitor_limits_t *limits,
                    rtm_monitor_sample_t *history, size_t history_len)
{
    if (!monitor_ok(mon) || w == NULL || name == NULL || history_len > UINT16_MAX ||
        (history == NULL && history_len != 0)) {
        return false;
    }
    rtm_port_lock(&mon->lock);
    bool listed = mem_listed(mon, w);
    if (!listed) {
        memset(w, 0, sizeof *w);
        w->heap = heap;
        w->caps = caps;
        w->status.name = name;
        if (limits != NULL) {
            w->limits = *limits;
        }
        w->history = history;
        w->history_len = (uint16_t)history_len;
        w->granularity = heap != NULL ? clamp_u32(rtm_heap_alignment(heap)) : RTM_DEFAULT_ALIGN;
        w->external = heap == NULL && (caps & RTM_CAP_SPIRAM) != 0;
        w->next = mon->mems;
        mon->mems = w;
    }
    rtm_port_unlock(&mon->lock);
    return !listed;
}

bool rtm_monitor_watch_heap(rtm_monitor_t *mon, rtm_monitor_mem_t *w, rtm_heap_t *heap,
                            const char *name, const rtm_monitor_limits_t *limits,
                            rtm_monitor_sample_t *history, size_t history_len)
{
    if (heap == NULL) {
        return false;
    }
    return add_mem(mon, w, heap, 0, name, limits, history, history_len);
}

bool rtm_monitor_watch_caps(rtm_monitor_t *mon, rtm_monitor_mem_t *w, rtm_caps_t caps,
                            const char *name, const rtm_monitor_limits_t *limits,
                            rtm_monitor_sample_t *history, size_t history_len)
{
    if (caps == 0) {
        return false;
    }
    return add_mem(mon, w, NULL, caps, name, limits, history, history_len);
}

size_t rtm_monitor_watch_regions(rtm_monitor_t *mon, rtm_monitor_mem_t *w, size_t count,
                                 const rtm_monitor_limits_t *limits,
                                 rtm_monitor_sample_t *history, size_t history_len)
{
    if (w == NULL) {
        return 0;
    }
    size_t regions = rtm_caps_region_count();
    size_t watched = 0;
    for (size_t i = 0; i < regions && watched < count; i++) {
        const rtm_caps_region_t *r = rtm_caps_region_at(i);
        rtm_monitor_sample_t *ring = history != NULL ? history + watched * history_len : NULL;
        if (rtm_monitor_watch_heap(mon, &w[watched], rtm_caps_region_heap(r),
                                   rtm_caps_region_name(r), limits, ring,
                                   ring != NULL ? history_len : 0)) {
            w[watched].external = (rtm_caps_region_all_caps(r) & RTM_CAP_SPIRAM) != 0;
            w[watched].fixed = true;
            watched++;
        }
    }
    return watched;
}

bool rtm_monitor_watch_pool(rtm_monitor_t *mon, rtm_monitor_pool_t *w, rtm_pool_t *pool)
{
    if (!monitor_ok(mon) || w == NULL || pool == NULL) {
        return false;
    }
    rtm_port_lock(&mon->lock);
    bool listed = false;
    for (const rtm_monitor_pool_t *p = mon->pools; p != NULL; p = p->next) {
        listed = listed || p == w;
    }
    if (!listed) {
        memset(w, 0, sizeof *w);
        w->pool = pool;
        w->status.name = rtm_pool_name(pool);
        w->next = mon->pools;
        mon->pools = w;
    }
    rtm_port_unlock(&mon->lock);
    return !listed;
}

bool rtm_monitor_watch_task(rtm_monitor_t *mon, rtm_monitor_task_t *w, uintptr_t task,
                            const char *name, size_t stack_size)
{
    if (!monitor_ok(mon) || w == NULL || name == NULL) {
        return false;
    }
    rtm_port_lock(&mon->lock);
    bool listed = false;
    for (const rtm_monitor_task_t *t = mon->tasks; t != NULL; t = t->next) {
        listed = listed || t == w;
    }
    if (!listed) {
        memset(w, 0, sizeof *w);
        w->declared_stack = stack_size;
        w->status.name = name;
        w->status.task = task;
        w->status.stack_size = stack_size;
        w->next = mon->tasks;
        mon->tasks = w;
    }
    rtm_port_unlock(&mon->lock);
    return !listed;
}

/* ------------------------------------------------------------------------ */
/* Alerts                                                                    */

typedef struct pending_alerts {
    rtm_alert_t alert[RTM_MONITOR_MAX_ALERTS_PER_TICK];
    size_t count;
    uint32_t dropped;
    uint32_t ms;
} pending_alerts_t;

static void queue_alert(pending_alerts_t *pa, rtm_alert_kind_t kind, bool raised,
                        const char *source, int64_t value, int64_t threshold)
{
    if (pa->count == RTM_MONITOR_MAX_ALERTS_PER_TICK) {
        pa->dropped++;
        return;
    }
    rtm_alert_t *a = &pa->alert[pa->count++];
    a->kind = kind;
    a->raised = raised;
    a->source = source;
    a->value = value;
    a->threshold = threshold;
    a->ms = pa->ms;
}

/* One alert's state machine: raise when `over` says the value is past the
 * threshold, clear only when `back` says it is back past the hysteresis. */
static void step_alert(pending_alerts_t *pa, uint32_t *bits, rtm_alert_kind_t kind, bool over,
                       bool back, const char *source, int64_t value, int64_t threshold)
{
    uint32_t bit = 1u << (unsigned)kind;
    if ((*bits & bit) == 0 && over) {
        *bits |= bit;
        queue_alert(pa, kind, true, source, value, threshold);
    } else if ((*bits & bit) != 0 && back) {
        *bits &= ~bit;
        queue_alert(pa, kind, false, source, value, threshold);
    }
}

/* value < limit raises; value >= limit + h% clears. limit 0: off (and a
 * raised alert clears). */
static void alert_below(pending_alerts_t *pa, uint32_t *bits, rtm_alert_kind_t kind,
                        uint64_t value, uint64_t limit, unsigned h, const char *source)
{
    uint64_t clear_at = limit + limit * h / 100u;
    step_alert(pa, bits, kind, limit != 0 && value < limit, limit == 0 || value >= clear_at, source,
               (int64_t)value, (int64_t)limit);
}

/* value > limit raises; value <= limit - h% clears. */
static void alert_above(pending_alerts_t *pa, uint32_t *bits, rtm_alert_kind_t kind,
                        uint64_t value, uint64_t limit, unsigned h, const char *source)
{
    uint64_t clear_at = limit - limit * (h > 100u ? 100u : h) / 100u;
    step_alert(pa, bits, kind, limit != 0 && value > limit, limit == 0 || value <= clear_at,
               source, (int64_t)value, (int64_t)limit);
}

/* ------------------------------------------------------------------------ */
/* Memory sampling                                                           */

static uint32_t frag_permille(size_t free_bytes, size_t largest)
{
    if (free_bytes == 0 || largest >= free_bytes) {
        return 0;
    }
    return (uint32_t)(1000u - (uint64_t)largest * 1000u / free_bytes);
}

static const rtm_monitor_sample_t *history_at(const rtm_monitor_mem_t *w, size_t i)
{
    size_t oldest = ((size_t)w->history_next + w->history_len - w->history_count) % w->history_len;
    return &w->history[(oldest + i) % w->history_len];
}

static void history_push(rtm_monitor_mem_t *w, const rtm_monitor_sample_t *s)
{
    if (w->history_len == 0) {
        return;
    }
    w->history[w->history_next] = *s;
    w->history_next = (uint16_t)((w->history_next + 1u) % w->history_len);
    if (w->history_count < w->history_len) {
        w->history_count++;
    }
}

/* Least-squares slope of free bytes over the samples inside the window
 * ending at now, in bytes per minute. Times are taken relative to the
 * oldest sample used, so 32-bit clock wrap-around does not matter. */
static bool trend(const rtm_monitor_mem_t *w, uint32_t now, uint32_t window, int32_t *out)
{
    size_t first = w->history_count;
    for (size_t i = 0; i < w->history_count; i++) {
        if ((uint32_t)(now - history_at(w, i)->ms) <= window) {
            first = i;
            break;
        }
    }
    size_t n = w->history_count - first;
    if (n < 3) {
        return false;
    }
    uint32_t t0 = history_at(w, first)->ms;
    uint32_t span = history_at(w, w->history_count - 1u)->ms - t0;
    if (span < window / 2u || span == 0) {
        return false;
    }
    int64_t sum_t = 0;
    int64_t sum_f = 0;
    for (size_t i = first; i < w->history_count; i++) {
        const rtm_monitor_sample_t *s = history_at(w, i);
        sum_t += (int64_t)(uint32_t)(s->ms - t0);
        sum_f += (int64_t)s->free_bytes;
    }
    int64_t mean_t = sum_t / (int64_t)n;
    int64_t mean_f = sum_f / (int64_t)n;
    /* Deviations are bounded by the window (ms) and the free bytes (32
     * bits); scaled to ms/16 the products of up to 65535 samples stay far
     * inside int64. */
    int64_t num = 0;
    int64_t den = 0;
    for (size_t i = first; i < w->history_count; i++) {
        const rtm_monitor_sample_t *s = history_at(w, i);
        int64_t dt = ((int64_t)(uint32_t)(s->ms - t0) - mean_t) / 16;
        int64_t df = (int64_t)s->free_bytes - mean_f;
        num += dt * df;
        den += dt * dt;
    }
    if (den == 0) {
        return false;
    }
    /* slope per (ms/16) -> per minute: x 60000 / 16 = x 3750. */
    int64_t per_min = num * 3750 / den;
    if (per_min > INT32_MAX) {
        per_min = INT32_MAX;
    } else if (per_min < INT32_MIN) {
        per_min = INT32_MIN;
    }
    *out = (int32_t)per_min;
    return true;
}

typedef struct mem_reading {
    size_t total, free_bytes, min_free, largest, used_blocks, free_blocks, failed;
} mem_reading_t;

static bool read_mem(const rtm_monitor_mem_t *w, mem_reading_t *r)
{
    if (w->heap != NULL) {
        rtm_heap_info_t info;
        if (!rtm_heap_info(w->heap, &info)) {
            return false;
        }
        *r = (mem_reading_t){info.total_bytes, info.free_bytes, info.min_free_bytes,
                             info.largest_free_block, info.used_blocks, info.free_blocks,
                             info.failed_count};
        return true;
    }
    rtm_caps_info_t info;
    if (!rtm_caps_get_info(w->caps, &info)) {
        return false;
    }
    *r = (mem_reading_t){info.total_bytes, info.free_bytes, info.min_free_bytes,
                         info.largest_free_block, info.used_blocks, info.free_blocks,
                         info.failed_count};
    return true;
}

static void sample_mem(rtm_monitor_t *mon, rtm_monitor_mem_t *w, uint32_t now,
                       pending_alerts_t *pa)
{
    mem_reading_t r;
    if (!read_mem(w, &r)) {
        return;
    }
    unsigned h = mon->cfg.hysteresis_percent;
    rtm_port_lock(&mon->lock);
    rtm_monitor_mem_status_t *st = &w->status;
    st->total_bytes = r.total;
    st->free_bytes = r.free_bytes;
    st->min_free_bytes = r.min_free;
    st->largest_free = r.largest;
    st->used_blocks = r.used_blocks;
    st->free_blocks = r.free_blocks;
    st->failed_count = r.failed;
    st->frag_permille = frag_permille(r.free_bytes, r.largest);
    rtm_monitor_sample_t s = {now, clamp_u32(r.free_bytes), clamp_u32(r.min_free),
                              clamp_u32(r.largest), clamp_u32(r.used_blocks)};
    history_push(w, &s);
    int32_t slope = 0;
    st->trend_valid = trend(w, now, mon->cfg.trend_window_ms, &slope);
    st->trend_bytes_per_min = st->trend_valid ? slope : 0;

    const rtm_monitor_limits_t *lim = &w->limits;
    alert_below(pa, &st->alerts, RTM_ALERT_LOW_FREE, r.free_bytes, lim->low_free, h, st->name);
    alert_below(pa, &st->alerts, RTM_ALERT_LOW_MIN_FREE, r.min_free, lim->low_min_free, h,
                st->name);
    alert_below(pa, &st->alerts, RTM_ALERT_BLOCK_TOO_SMALL, r.largest, lim->need_block, h,
                st->name);
    alert_above(pa, &st->alerts, RTM_ALERT_FRAGMENTED, st->frag_permille, lim->max_frag_permille,
                h, st->name);
    if (st->trend_valid || lim->leak_bytes_per_min == 0) {
        /* A falling trend is a positive loss rate; a rising one counts as 0. */
        uint64_t loss = slope < 0 ? (uint64_t)(-(int64_t)slope) : 0u;
        uint32_t bit = 1u << RTM_ALERT_LEAK_TREND;
        uint32_t before = st->alerts & bit;
        size_t queued = pa->count;
        alert_above(pa, &st->alerts, RTM_ALERT_LEAK_TREND, loss, lim->leak_bytes_per_min, h,
                    st->name);
        if (pa->count > queued && (st->alerts & bit) != before) {
            pa->alert[pa->count - 1u].value = slope;
            pa->alert[pa->count - 1u].threshold = -(int64_t)lim->leak_bytes_per_min;
        }
    }
    rtm_port_unlock(&mon->lock);
}

static void sample_pool(rtm_monitor_t *mon, rtm_monitor_pool_t *w, pending_alerts_t *pa)
{
    rtm_pool_info_t info;
    if (!rtm_pool_info(w->pool, &info)) {
        return;
    }
    unsigned h = mon->cfg.hysteresis_percent;
    rtm_port_lock(&mon->lock);
    rtm_monitor_pool_status_t *st = &w->status;
    bool new_failures = info.failed_count != w->failed_seen;
    w->failed_seen = info.failed_count;
    st->block_size = info.block_size;
    st->capacity = info.capacity;
    st->used = info.used;
    st->peak_used = info.peak_used;
    st->failed_count = info.failed_count;
    st->wait_count = info.wait_count;
    size_t clear_free = info.capacity * h / 100u;
    step_alert(pa, &st->alerts, RTM_ALERT_POOL_EXHAUSTED, info.free == 0 || new_failures,
               !new_failures && info.free > 0 && info.free >= clear_free, st->name,
               (int64_t)info.used, (int64_t)info.capacity);
    rtm_port_unlock(&mon->lock);
}

static void sample_task(rtm_monitor_t *mon, rtm_monitor_task_t *w, pending_alerts_t *pa)
{
    rtm_task_usage_t usage;
    bool have_usage = mon->cfg.task_stats != NULL &&
                      rtm_task_stats_get(mon->cfg.task_stats, w->status.task, &usage);
    rtm_stack_usage_t su;
    bool have_stack = rtm_stack_usage(w->status.task, &su);
    rtm_port_lock(&mon->lock);
    rtm_monitor_task_status_t *st = &w->status;
    if (have_usage) {
        st->heap_bytes = usage.cur_bytes;
        st->heap_peak = usage.peak_bytes;
    }
    if (have_stack) {
        size_t size = w->declared_stack != 0 ? w->declared_stack : su.size;
        size_t peak = su.size != 0 ? su.peak_used : 0;
        if (su.size == 0 && su.min_free != 0 && size > su.min_free) {
            peak = size - su.min_free;
        }
        st->stack_size = size;
        st->stack_peak = peak;
        st->stack_known = size != 0 && peak != 0;
    }
    if (st->stack_known) {
        uint64_t percent = (uint64_t)st->stack_peak * 100u / st->stack_size;
        alert_above(pa, &st->alerts, RTM_ALERT_STACK_HIGH, percent, mon->cfg.max_stack_percent,
                    mon->cfg.hysteresis_percent, st->name);
    }
    rtm_port_unlock(&mon->lock);
}

/* ------------------------------------------------------------------------ */
/* Telemetry                                                                 */

typedef struct tm_line {
    rtm_line_t line;
    char buf[TELEMETRY_LINE_MAX];
} tm_line_t;

static void tm_key(tm_line_t *t, const char *key)
{
    rtm_line_str(&t->line, ",\"");
    rtm_line_str(&t->line, key);
    rtm_line_str(&t->line, "\":");
}

static void tm_uint(tm_line_t *t, const char *key, uint64_t v)
{
    tm_key(t, key);
    rtm_line_uint(&t->line, v);
}

static void tm_int(tm_line_t *t, const char *key, int64_t v)
{
    tm_key(t, key);
    rtm_line_int(&t->line, v);
}

static void tm_str(tm_line_t *t, const char *key, const char *v)
{
    tm_key(t, key);
    rtm_line_json_str(&t->line, v);
}

static void tm_begin(tm_line_t *t, const char *type, uint32_t ms)
{
    rtm_line_init_buffer(&t->line, t->buf, sizeof t->buf);
    rtm_line_str(&t->line, "{\"rtmem\":");
    rtm_line_uint(&t->line, RTM_TELEMETRY_VERSION);
    tm_str(t, "type", type);
    tm_uint(t, "ms", ms);
}

/* A line that did not fit is dropped whole: a cut JSON object would only
 * mislead the reader. */
static void tm_end(tm_line_t *t)
{
    rtm_line_str(&t->line, "}");
    if (!t->line.truncated) {
        rtm_line_emit(&t->line);
    }
}

static void emit_mem(const rtm_monitor_mem_t *w, uint32_t ms, uint32_t seq)
{
    const rtm_monitor_mem_status_t *st = &w->status;
    tm_line_t t;
    tm_begin(&t, "mem", ms);
    tm_uint(&t, "seq", seq);
    tm_str(&t, "name", st->name);
    tm_str(&t, "kind", w->heap != NULL ? "heap" : "caps");
    tm_uint(&t, "total", st->total_bytes);
    tm_uint(&t, "free", st->free_bytes);
    tm_uint(&t, "min_free", st->min_free_bytes);
    tm_uint(&t, "largest", st->largest_free);
    tm_uint(&t, "used_blocks", st->used_blocks);
    tm_uint(&t, "free_blocks", st->free_blocks);
    tm_uint(&t, "failed", st->failed_count);
    tm_uint(&t, "frag_pm", st->frag_permille);
    if (st->trend_valid) {
        tm_int(&t, "trend_bpm", st->trend_bytes_per_min);
    }
    tm_uint(&t, "alerts", st->alerts);
    tm_end(&t);
}

static void emit_pool(const rtm_monitor_pool_t *w, uint32_t ms, uint32_t seq)
{
    const rtm_monitor_pool_status_t *st = &w->status;
    tm_line_t t;
    tm_begin(&t, "pool", ms);
    tm_uint(&t, "seq", seq);
    tm_str(&t, "name", st->name);
    tm_uint(&t, "block", st->block_size);
    tm_uint(&t, "capacity", st->capacity);
    tm_uint(&t, "used", st->used);
    tm_uint(&t, "peak", st->peak_used);
    tm_uint(&t, "failed", st->failed_count);
    tm_uint(&t, "waits", st->wait_count);
    tm_uint(&t, "alerts", st->alerts);
    tm_end(&t);
}

static void emit_task(const rtm_monitor_task_t *w, uint32_t ms, uint32_t seq, bool heap)
{
    const rtm_monitor_task_status_t *st = &w->status;
    tm_line_t t;
    tm_begin(&t, "task", ms);
    tm_uint(&t, "seq", seq);
    tm_str(&t, "name", st->name);
    tm_uint(&t, "id", st->task);
    if (heap) {
        tm_uint(&t, "heap", st->heap_bytes);
        tm_uint(&t, "heap_peak", st->heap_peak);
    }
    if (st->stack_known) {
        tm_uint(&t, "stack_size", st->stack_size);
        tm_uint(&t, "stack_peak", st->stack_peak);
    }
    tm_uint(&t, "alerts", st->alerts);
    tm_end(&t);
}

static void emit_alert(const rtm_alert_t *a)
{
    tm_line_t t;
    tm_begin(&t, "alert", a->ms);
    tm_str(&t, "alert", rtm_alert_kind_str(a->kind));
    tm_str(&t, "state", a->raised ? "raised" : "cleared");
    tm_str(&t, "source", a->source);
    tm_int(&t, "value", a->value);
    tm_int(&t, "threshold", a->threshold);
    tm_end(&t);
}

void rtm_monitor_emit_telemetry(rtm_monitor_t *mon)
{
    if (!monitor_ok(mon)) {
        return;
    }
    rtm_port_lock(&mon->lock);
    uint32_t ms = mon->last_ms;
    uint32_t seq = mon->samples;
    rtm_port_unlock(&mon->lock);
    for (const rtm_monitor_mem_t *w = mon->mems; w != NULL; w = w->next) {
        emit_mem(w, ms, seq);
    }
    for (const rtm_monitor_pool_t *w = mon->pools; w != NULL; w = w->next) {
        emit_pool(w, ms, seq);
    }
    for (const rtm_monitor_task_t *w = mon->tasks; w != NULL; w = w->next) {
        emit_task(w, ms, seq, mon->cfg.task_stats != NULL);
    }
}

/* ------------------------------------------------------------------------ */
/* Ticking                                                                   */

void rtm_monitor_sample(rtm_monitor_t *mon)
{
    if (!monitor_ok(mon)) {
        return;
    }
    pending_alerts_t pa;
    pa.count = 0;
    pa.dropped = 0;
    pa.ms = now_ms(mon);
    /* The lists change only in the ticking task (this one), so they are
     * walked without the lock; each watch's update takes it. */
    for (rtm_monitor_mem_t *w = mon->mems; w != NULL; w = w->next) {
        sample_mem(mon, w, pa.ms, &pa);
    }
    for (rtm_monitor_pool_t *w = mon->pools; w != NULL; w = w->next) {
        sample_pool(mon, w, &pa);
    }
    for (rtm_monitor_task_t *w = mon->tasks; w != NULL; w = w->next) {
        sample_task(mon, w, &pa);
    }
    rtm_port_lock(&mon->lock);
    mon->samples++;
    mon->last_ms = pa.ms;
    mon->sampled_once = true;
    mon->alerts_dropped += pa.dropped;
    rtm_port_unlock(&mon->lock);

    if (mon->cfg.telemetry) {
        rtm_monitor_emit_telemetry(mon);
        for (size_t i = 0; i < pa.count; i++) {
            emit_alert(&pa.alert[i]);
        }
    }
    if (mon->cfg.on_alert != NULL) {
        for (size_t i = 0; i < pa.count; i++) {
            mon->cfg.on_alert(&pa.alert[i], mon->cfg.alert_ctx);
        }
    }
}

bool rtm_monitor_tick(rtm_monitor_t *mon)
{
    if (!monitor_ok(mon)) {
        return false;
    }
    uint32_t now = now_ms(mon);
    rtm_port_lock(&mon->lock);
    bool due = !mon->sampled_once || (uint32_t)(now - mon->last_ms) >= mon->cfg.period_ms;
    rtm_port_unlock(&mon->lock);
    if (due) {
        rtm_monitor_sample(mon);
    }
    return due;
}

void rtm_monitor_run(rtm_monitor_t *mon)
{
    if (!monitor_ok(mon)) {
        return;
    }
    for (;;) {
        rtm_port_lock(&mon->lock);
        bool stop = mon->stop;
        mon->stop = false;
        rtm_port_unlock(&mon->lock);
        if (stop) {
            return;
        }
        rtm_monitor_sample(mon);
        rtm_port_sleep_ms(mon->cfg.period_ms != 0 ? mon->cfg.period_ms : 1000u);
    }
}

void rtm_monitor_task_main(void *mon)
{
    rtm_monitor_run(mon);
}

void rtm_monitor_stop(rtm_monitor_t *mon)
{
    if (monitor_ok(mon)) {
        rtm_port_lock(&mon->lock);
        mon->stop = true;
        rtm_port_unlock(&mon->lock);
    }
}

/* ------------------------------------------------------------------------ */
/* Observers                                                                 */

/* The "space-saving" count of frequent items: with every slot taken, a new
 * size replaces the one with the fewest allocations and inherits that
 * count as its possible error. Any size that makes more than 1/SLOTS of
 * the allocations is therefore always in the table, and allocs - error is
 * a lower bound of its true count. */
static rtm_monitor_size_slot_t *slot_for_alloc(rtm_monitor_mem_t *w, uint32_t size)
{
    rtm_monitor_size_slot_t *fewest = &w->sizes[0];
    for (size_t i = 0; i < RTM_MONITOR_SIZE_SLOTS; i++) {
        rtm_monitor_size_slot_t *s = &w->sizes[i];
        if (s->size == size && s->allocs != 0) {
            return s;
        }
        if (s->allocs < fewest->allocs) {
            fewest = s;
        }
    }
    uint32_t inherited = fewest->allocs;
    memset(fewest, 0, sizeof *fewest);
    fewest->size = size;
    fewest->allocs = inherited;
    fewest->error = inherited;
    return fewest;
}

static rtm_monitor_size_slot_t *slot_for_free(rtm_monitor_mem_t *w, size_t usable)
{
    rtm_monitor_size_slot_t *best = NULL;
    for (size_t i = 0; i < RTM_MONITOR_SIZE_SLOTS; i++) {
        rtm_monitor_size_slot_t *s = &w->sizes[i];
        if (s->live != 0 && s->size <= usable && usable - s->size < FREE_MATCH_SLACK &&
            (best == NULL || s->size > best->size)) {
            best = s;
        }
    }
    return best;
}

void rtm_monitor_heap_observer(const rtm_heap_event_t *event, void *ctx)
{
    rtm_monitor_t *mon = ctx;
    if (event == NULL || !monitor_ok(mon) || event->kind == RTM_EVENT_REALLOC) {
        return;
    }
    rtm_port_lock(&mon->lock);
    for (rtm_monitor_mem_t *w = mon->mems; w != NULL; w = w->next) {
        if (w->heap != event->heap) {
            continue;
        }
        if (event->kind == RTM_EVENT_ALLOC) {
            w->allocs_total++;
            rtm_monitor_size_slot_t *s =
                slot_for_alloc(w, clamp_u32(round_up(event->size, w->granularity)));
            s->allocs++;
            s->live++;
            if (s->live > s->peak) {
                s->peak = s->live;
            }
        } else {
            rtm_monitor_size_slot_t *s = slot_for_free(w, event->size);
            if (s != NULL) {
                s->live--;
            }
        }
    }
    rtm_port_unlock(&mon->lock);
}

void rtm_monitor_caps_observer(const void *ptr, size_t size, rtm_caps_t caps,
                               const rtm_caps_region_t *region, void *ctx)
{
    rtm_monitor_t *mon = ctx;
    (void)ptr;
    if (!monitor_ok(mon) || size < RTM_MONITOR_LARGE_BYTES ||
        (caps & (RTM_CAP_DMA | RTM_CAP_INTERNAL | RTM_CAP_EXEC)) != 0) {
        return;
    }
    rtm_heap_t *heap = rtm_caps_region_heap(region);
    rtm_port_lock(&mon->lock);
    for (rtm_monitor_mem_t *w = mon->mems; w != NULL; w = w->next) {
        if (w->heap == heap && heap != NULL && !w->external) {
            w->large_no_dma_count++;
            w->large_no_dma_bytes += size;
            if (size > w->large_no_dma_max) {
                w->large_no_dma_max = clamp_u32(size);
            }
        }
    }
    rtm_port_unlock(&mon->lock);
}

/* ------------------------------------------------------------------------ */
/* Queries                                                                   */

bool rtm_monitor_status(rtm_monitor_t *mon, rtm_monitor_status_t *out)
{
    if (!monitor_ok(mon) || out == NULL) {
        return false;
    }
    memset(out, 0, sizeof *out);
    rtm_port_lock(&mon->lock);
    out->samples = mon->samples;
    out->last_ms = mon->last_ms;
    out->alerts_dropped = mon->alerts_dropped;
    for (const rtm_monitor_mem_t *w = mon->mems; w != NULL; w = w->next) {
        out->memories++;
        for (uint32_t a = w->status.alerts; a != 0; a &= a - 1u) {
            out->alerts_raised++;
        }
    }
    for (const rtm_monitor_pool_t *w = mon->pools; w != NULL; w = w->next) {
        out->pools++;
        out->alerts_raised += w->status.alerts != 0;
    }
    for (const rtm_monitor_task_t *w = mon->tasks; w != NULL; w = w->next) {
        out->tasks++;
        out->alerts_raised += w->status.alerts != 0;
    }
    rtm_port_unlock(&mon->lock);
    return true;
}

bool rtm_monitor_mem_status(rtm_monitor_t *mon, const rtm_monitor_mem_t *w,
                            rtm_monitor_mem_status_t *out)
{
    if (!monitor_ok(mon) || w == NULL || out == NULL) {
        return false;
    }
    rtm_port_lock(&mon->lock);
    *out = w->status;
    rtm_port_unlock(&mon->lock);
    return true;
}

bool rtm_monitor_pool_status(rtm_monitor_t *mon, const rtm_monitor_pool_t *w,
                             rtm_monitor_pool_status_t *out)
{
    if (!monitor_ok(mon) || w == NULL || out == NULL) {
        return false;
    }
    rtm_port_lock(&mon->lock);
    *out = w->status;
    rtm_port_unlock(&mon->lock);
    return true;
}

bool rtm_monitor_task_status(rtm_monitor_t *mon, const rtm_monitor_task_t *w,
                             rtm_monitor_task_status_t *out)
{
    if (!monitor_ok(mon) || w == NULL || out == NULL) {
        return false;
    }
    rtm_port_lock(&mon->lock);
    *out = w->status;
    rtm_port_unlock(&mon->lock);
    return true;
}

bool rtm_monitor_history(rtm_monitor_t *mon, const rtm_monitor_mem_t *w, size_t i,
                         rtm_monitor_sample_t *out, size_t *count)
{
    if (!monitor_ok(mon) || w == NULL) {
        return false;
    }
    rtm_port_lock(&mon->lock);
    size_t kept = w->history_count;
    bool ok = out != NULL && i < kept;
    if (ok) {
        *out = *history_at(w, i);
    }
    rtm_port_unlock(&mon->lock);
    if (count != NULL) {
        *count = kept;
    }
    return ok;
}

/* ------------------------------------------------------------------------ */
/* Recommendations                                                           */

/* Recommendations are produced in order; a sink keeps those from index
 * skip on, up to cap of them, and counts all. */
typedef struct rec_sink {
    rtm_recommendation_t *out;
    size_t cap;
    size_t skip;
    size_t count;
} rec_sink_t;

static void rec_add(rec_sink_t *sink, rtm_rec_kind_t kind, const char *source, uint64_t v0,
                    uint64_t v1, uint64_t v2, uint64_t v3, uint64_t v4)
{
    if (sink->count >= sink->skip && sink->count - sink->skip < sink->cap) {
        rtm_recommendation_t *r = &sink->out[sink->count - sink->skip];
        r->kind = kind;
        r->source = source;
        r->v[0] = v0;
        r->v[1] = v1;
        r->v[2] = v2;
        r->v[3] = v3;
        r->v[4] = v4;
    }
    sink->count++;
}

static void rules_for_memory(const rtm_monitor_t *mon, const rtm_monitor_mem_t *w,
                             size_t psram_free, rec_sink_t *sink)
{
    const rtm_monitor_mem_status_t *st = &w->status;
    if (st->total_bytes == 0) {
        return;
    }
    size_t total = st->total_bytes;
    size_t peak_used = total - (st->min_free_bytes < total ? st->min_free_bytes : total);
    size_t advised = add_percent(peak_used, mon->cfg.stack_margin_percent);
    bool short_internal = (uint64_t)st->min_free_bytes * 100u < (uint64_t)total * GROW_BELOW_PERCENT;
    if (short_internal) {
        rec_add(sink, RTM_REC_GROW_MEMORY, st->name, total, st->min_free_bytes, peak_used,
                advised > total ? advised : total + total / 10u, w->fixed ? 1u : 0u);
    } else if (!w->fixed && mon->samples >= SHRINK_MIN_SAMPLES &&
               (uint64_t)st->min_free_bytes * 100u > (uint64_t)total * SHRINK_ABOVE_PERCENT) {
        rec_add(sink, RTM_REC_SHRINK_MEMORY, st->name, total, st->min_free_bytes, peak_used,
                advised, 0);
    }

    /* Judged on the count each size surely has (allocs - error). */
    const rtm_monitor_size_slot_t *top = NULL;
    for (size_t i = 0; i < RTM_MONITOR_SIZE_SLOTS; i++) {
        const rtm_monitor_size_slot_t *s = &w->sizes[i];
        if (s->allocs > s->error &&
            (top == NULL || s->allocs - s->error > top->allocs - top->error)) {
            top = s;
        }
    }
    uint32_t sure = top != NULL ? top->allocs - top->error : 0;
    if (top != NULL && w->allocs_total >= POOL_MIN_ALLOCS &&
        (uint64_t)sure * 100u >= (uint64_t)w->allocs_total * POOL_MIN_SHARE_PERCENT) {
        size_t count = add_percent(top->peak, POOL_MARGIN_PERCENT);
        if (count <= top->peak) {
            count = top->peak + 1u;
        }
        rec_add(sink, RTM_REC_POOL_FOR_SIZE, st->name, top->size, sure, w->allocs_total,
                top->peak, count);
    }

    bool low_alert = (st->alerts & ((1u << RTM_ALERT_LOW_FREE) | (1u << RTM_ALERT_LOW_MIN_FREE))) != 0;
    if (!w->external && w->large_no_dma_count != 0 && (short_internal || low_alert) &&
        psram_free > w->large_no_dma_max) {
        rec_add(sink, RTM_REC_MOVE_TO_PSRAM, st->name, w->large_no_dma_count,
                w->large_no_dma_bytes, w->large_no_dma_max, st->min_free_bytes, psram_free);
    }

    if ((st->alerts & (1u << RTM_ALERT_LEAK_TREND)) != 0) {
        bool tracing = mon->cfg.trace != NULL && rtm_trace_state(mon->cfg.trace) == RTM_TRACE_RUNNING;
        rec_add(sink, RTM_REC_ENABLE_TRACING, st->name,
                (uint64_t)(-(int64_t)st->trend_bytes_per_min), st->free_bytes, tracing ? 1u : 0u, 0,
                0);
    }
}

static void rules_for_task(const rtm_monitor_t *mon, const rtm_monitor_task_t *w,
                           rec_sink_t *sink)
{
    const rtm_monitor_task_status_t *st = &w->status;
    if (!st->stack_known) {
        return;
    }
    /* Stacks are sized in 16-byte steps: the strictest stack alignment of
     * the targets rtmem knows. */
    size_t advised = round_up(add_percent(st->stack_peak, mon->cfg.stack_margin_percent), 16u);
    if (advised > st->stack_size || advised * 2u < st->stack_size) {
        rec_add(sink, RTM_REC_STACK_SIZE, st->name, st->stack_size, st->stack_peak, advised, 0, 0);
    }
}

static size_t recommend_from(rtm_monitor_t *mon, size_t skip, rtm_recommendation_t *out,
                             size_t n)
{
    rec_sink_t sink = {out, out != NULL ? n : 0, skip, 0};
    rtm_port_lock(&mon->lock);
    size_t psram_free = 0;
    for (const rtm_monitor_mem_t *w = mon->mems; w != NULL; w = w->next) {
        if (w->external && w->status.largest_free > psram_free) {
            psram_free = w->status.largest_free;
        }
    }
    for (const rtm_monitor_mem_t *w = mon->mems; w != NULL; w = w->next) {
        rules_for_memory(mon, w, psram_free, &sink);
    }
    for (const rtm_monitor_task_t *w = mon->tasks; w != NULL; w = w->next) {
        rules_for_task(mon, w, &sink);
    }
    rtm_port_unlock(&mon->lock);
    return sink.count;
}

size_t rtm_monitor_recommend(rtm_monitor_t *mon, rtm_recommendation_t *out, size_t n)
{
    return monitor_ok(mon) ? recommend_from(mon, 0, out, n) : 0;
}

/* A bounded text builder over the caller's buffer, always terminated. */
typedef struct text_buf {
    char *buf;
    size_t len;
    size_t need;
} text_buf_t;

/* Control bytes (a name is the application's) become '?': the sentence
 * is one line of a log. */
static void text_put(text_buf_t *t, const char *s)
{
    for (; *s != '\0'; s++) {
        if (t->need + 1u < t->len) {
            t->buf[t->need] = (unsigned char)*s < 0x20u ? '?' : *s;
            t->buf[t->need + 1u] = '\0';
        }
        t->need++;
    }
}

static void text_uint(text_buf_t *t, uint64_t v)
{
    char digits[21];
    size_t n = sizeof digits - 1u;
    digits[n] = '\0';
    do {
        digits[--n] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0);
    text_put(t, &digits[n]);
}

/* Pieces of a sentence: text and numbers alternate, the numbers being
 * indices into rec->v (or -1 for none). */
static void text_parts(text_buf_t *t, const rtm_recommendation_t *rec, const char *const *parts,
                       const int *values, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        text_put(t, parts[i]);
        if (values[i] >= 0) {
            text_uint(t, rec->v[values[i]]);
        }
    }
}

size_t rtm_recommendation_text(const rtm_recommendation_t *rec, char *buf, size_t len)
{
    text_buf_t t = {buf, buf != NULL ? len : 0, 0};
    if (t.len > 0) {
        buf[0] = '\0';
    }
    if (rec == NULL) {
        return 0;
    }
    text_put(&t, rec->source != NULL ? rec->source : "?");
    text_put(&t, ": ");
    switch (rec->kind) {
    case RTM_REC_GROW_MEMORY: {
        static const char *const p[] = {"minimum free was ", " B of ", " B (peak use ",
                                        " B): raise it to at least ", " B"};
        static const char *const fixed[] = {"minimum free was ", " B of ", " B (peak use ",
                                            (" B) and its size is the chip's: move "
                                             "allocations elsewhere or use "),
                                            " B less of it"};
        static const int v[] = {1, 0, 2, 3, -1};
        if (rec->v[4] != 0) {
            rtm_recommendation_t less = *rec;
            less.v[3] = rec->v[3] > rec->v[0] ? rec->v[3] - rec->v[0] : 0;
            text_parts(&t, &less, fixed, v, 5);
        } else {
            text_parts(&t, rec, p, v, 5);
        }
        break;
    }
    case RTM_REC_SHRINK_MEMORY: {
        static const char *const p[] = {"minimum free is ", " B of ", " B (peak use ",
                                        " B): it could shrink to ", " B"};
        static const int v[] = {1, 0, 2, 3, -1};
        text_parts(&t, rec, p, v, 5);
        break;
    }
    case RTM_REC_POOL_FOR_SIZE: {
        static const char *const p[] = {"", " of ", " allocations are ",
                                        " B: serve them from a pool of ", " blocks of ",
                                        " B (peak ", " live)"};
        static const int v[] = {1, 2, 0, 4, 0, 3, -1};
        text_parts(&t, rec, p, v, 7);
        break;
    }
    case RTM_REC_STACK_SIZE: {
        static const char *const p[] = {"stack peak ", " B of ", " B: give it ", " B"};
        static const int v[] = {1, 0, 2, -1};
        text_parts(&t, rec, p, v, 4);
        break;
    }
    case RTM_REC_MOVE_TO_PSRAM: {
        static const char *const p[] = {"", " large allocations (", " B, largest ",
                                        " B) need no DMA but use internal RAM (minimum free ",
                                        " B): use MALLOC_CAP_SPIRAM (largest PSRAM block ",
                                        " B)"};
        static const int v[] = {0, 1, 2, 3, 4, -1};
        text_parts(&t, rec, p, v, 6);
        break;
    }
    case RTM_REC_ENABLE_TRACING: {
        static const char *const p[] = {"free memory falls by ", " B/min (", " B free): "};
        static const int v[] = {0, 1, -1};
        text_parts(&t, rec, p, v, 3);
        text_put(&t, rec->v[2] != 0 ? "tracing runs: take checkpoints and list the leaks since"
                                    : "start heap tracing (rtm_trace_start) and take checkpoints "
                                      "to find the leaking call site");
        break;
    }
    default:
        text_put(&t, "(unknown recommendation)");
        break;
    }
    return t.need;
}

static void emit_rec(const rtm_recommendation_t *rec, uint32_t ms, const char *text)
{
    static const char *const names[RTM_REC_KIND_COUNT][5] = {
        {"size", "min_free", "peak_used", "advised", "fixed"},
        {"size", "min_free", "peak_used", "advised", NULL},
        {"block", "allocs", "all_allocs", "peak_live", "count"},
        {"size", "peak_used", "advised", NULL, NULL},
        {"count", "bytes", "largest", "internal_min_free", "psram_free"},
        {"loss_bpm", "free", "tracing", NULL, NULL},
    };
    tm_line_t t;
    tm_begin(&t, "rec", ms);
    tm_str(&t, "rule", rtm_rec_kind_str(rec->kind));
    tm_str(&t, "source", rec->source);
    for (size_t i = 0; i < 5 && (unsigned)rec->kind < RTM_REC_KIND_COUNT; i++) {
        if (names[rec->kind][i] != NULL) {
            tm_uint(&t, names[rec->kind][i], rec->v[i]);
        }
    }
    tm_str(&t, "text", text);
    tm_end(&t);
}

size_t rtm_monitor_print_recommendations(rtm_monitor_t *mon)
{
    if (!monitor_ok(mon)) {
        return 0;
    }
    rtm_port_lock(&mon->lock);
    uint32_t ms = mon->last_ms;
    rtm_port_unlock(&mon->lock);
    size_t done = 0;
    /* A few at a time, so the stack holds a small batch; no lock is held
     * while the lines are written. */
    for (;;) {
        rtm_recommendation_t batch[4];
        size_t total = recommend_from(mon, done, batch, 4);
        if (done >= total) {
            return done;
        }
        size_t n = total - done < 4 ? total - done : 4;
        for (size_t i = 0; i < n; i++) {
            char text[200];
            rtm_recommendation_text(&batch[i], text, sizeof text);
            if (mon->cfg.telemetry) {
                emit_rec(&batch[i], ms, text);
            }
            rtm_line_t line;
            char buf[240];
            rtm_line_init_buffer(&line, buf, sizeof buf);
            rtm_line_str(&line, "rtmem monitor: ");
            rtm_line_str(&line, text);
            rtm_line_emit(&line);
        }
        done += n;
    }
}

const char *rtm_alert_kind_str(rtm_alert_kind_t kind)
{
    static const char *const names[RTM_ALERT_KIND_COUNT] = {
        "low_free",   "low_min_free", "block_too_small", "fragmented",
        "leak_trend", "stack_high",   "pool_exhausted",
    };
    return (unsigned)kind < RTM_ALERT_KIND_COUNT ? names[kind] : "unknown";
}

const char *rtm_rec_kind_str(rtm_rec_kind_t kind)
{
    static const char *const names[RTM_REC_KIND_COUNT] = {
        "grow_memory", "shrink_memory", "pool_for_size", "stack_size", "move_to_psram",
        "enable_tracing",
    };
    return (unsigned)kind < RTM_REC_KIND_COUNT ? names[kind] : "unknown";
}
