/*
 * The monitor's sampling side: watches, the tick, history rings and trends,
 * alerts raised and cleared with hysteresis, the allocation observers and
 * the status queries. Advice is in monitor_advice.c, every telemetry line
 * in monitor_telemetry.c.
 */
#include "rtmem/monitor.h"

#include <string.h>

#include "monitor_internal.h"
#include "rtmem/stack.h"

/* A free is matched to a tracked size when its usable bytes exceed the
 * size by less than this: the most a block grows past the request when
 * the remainder is too small to split off, in every strategy. */
#define FREE_MATCH_SLACK 32u

static uint32_t now_ms(const rtm_monitor_t *mon)
{
    return mon->cfg.clock_ms != NULL ? mon->cfg.clock_ms() : rtm_port_ticks();
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
    mon->magic = RTM_MONITOR_MAGIC;
    return mon;
}

void rtm_monitor_deinit(rtm_monitor_t *mon)
{
    if (!rtm_monitor_valid(mon)) {
        return;
    }
    mon->magic = 0;
    mon->mems = NULL;
    mon->pools = NULL;
    mon->tasks = NULL;
    rtm_port_lock_destroy(&mon->lock);
}

/* ------------------------------------------------------------------------ */
/* Watches                                                                   */

/* Whether w is on mon's list; with the monitor lock held. The queries ask
 * this before reading a watch, so a watch that was never added (or was
 * added to another monitor, or before the monitor was initialised again)
 * gives false instead of whatever its memory holds. */
static bool mem_listed(const rtm_monitor_t *mon, const rtm_monitor_mem_t *w)
{
    for (const rtm_monitor_mem_t *m = mon->mems; m != NULL; m = m->next) {
        if (m == w) {
            return true;
        }
    }
    return false;
}

static bool pool_listed(const rtm_monitor_t *mon, const rtm_monitor_pool_t *w)
{
    for (const rtm_monitor_pool_t *p = mon->pools; p != NULL; p = p->next) {
        if (p == w) {
            return true;
        }
    }
    return false;
}

static bool task_listed(const rtm_monitor_t *mon, const rtm_monitor_task_t *w)
{
    for (const rtm_monitor_task_t *t = mon->tasks; t != NULL; t = t->next) {
        if (t == w) {
            return true;
        }
    }
    return false;
}

static bool add_mem(rtm_monitor_t *mon, rtm_monitor_mem_t *w, rtm_heap_t *heap, rtm_caps_t caps,
                    const char *name, const rtm_monitor_limits_t *limits,
                    rtm_monitor_sample_t *history, size_t history_len)
{
    if (!rtm_monitor_valid(mon) || w == NULL || name == NULL || history_len > UINT16_MAX ||
        (history == NULL && history_len != 0)) {
        return false;
    }
    /* Asked before the lock: the monitor's lock is never held while
     * another module runs (monitor.h). */
    uint32_t granularity =
        heap != NULL ? rtm_monitor_clamp_u32(rtm_heap_alignment(heap)) : RTM_DEFAULT_ALIGN;
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
        w->granularity = granularity;
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

static bool heap_watched(rtm_monitor_t *mon, const rtm_heap_t *heap)
{
    rtm_port_lock(&mon->lock);
    bool found = false;
    for (const rtm_monitor_mem_t *m = mon->mems; m != NULL && !found; m = m->next) {
        found = m->heap == heap;
    }
    rtm_port_unlock(&mon->lock);
    return found;
}

size_t rtm_monitor_watch_regions(rtm_monitor_t *mon, rtm_monitor_mem_t *w, size_t count,
                                 const rtm_monitor_limits_t *limits,
                                 rtm_monitor_sample_t *history, size_t history_len)
{
    if (w == NULL || !rtm_monitor_valid(mon)) {
        return 0;
    }
    /* A second call (more regions registered since, or a larger array)
     * must neither watch a region twice, which doubled its alerts and
     * advice, nor stop at the first entry of w the first call used. */
    size_t regions = rtm_caps_region_count();
    size_t watched = 0;
    size_t slot = 0;
    for (size_t i = 0; i < regions && slot < count; i++) {
        const rtm_caps_region_t *r = rtm_caps_region_at(i);
        rtm_heap_t *heap = rtm_caps_region_heap(r);
        if (heap_watched(mon, heap)) {
            continue;
        }
        for (; slot < count; slot++) {
            rtm_monitor_sample_t *ring = history != NULL ? history + slot * history_len : NULL;
            if (rtm_monitor_watch_heap(mon, &w[slot], heap, rtm_caps_region_name(r), limits, ring,
                                       ring != NULL ? history_len : 0)) {
                w[slot].external = (rtm_caps_region_all_caps(r) & RTM_CAP_SPIRAM) != 0;
                w[slot].fixed = true;
                watched++;
                slot++;
                break;
            }
        }
    }
    return watched;
}

bool rtm_monitor_watch_pool(rtm_monitor_t *mon, rtm_monitor_pool_t *w, rtm_pool_t *pool)
{
    if (!rtm_monitor_valid(mon) || w == NULL || pool == NULL) {
        return false;
    }
    const char *name = rtm_pool_name(pool);
    rtm_port_lock(&mon->lock);
    bool listed = pool_listed(mon, w);
    if (!listed) {
        memset(w, 0, sizeof *w);
        w->pool = pool;
        w->status.name = name;
        w->next = mon->pools;
        mon->pools = w;
    }
    rtm_port_unlock(&mon->lock);
    return !listed;
}

bool rtm_monitor_watch_task(rtm_monitor_t *mon, rtm_monitor_task_t *w, uintptr_t task,
                            const char *name, size_t stack_size)
{
    if (!rtm_monitor_valid(mon) || w == NULL || name == NULL) {
        return false;
    }
    rtm_port_lock(&mon->lock);
    bool listed = task_listed(mon, w);
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

/* An alert's band at limit: h% of it, rounded up, so that any h > 0 keeps
 * at least one unit between raising and clearing (rounded down, a limit
 * below 100 / h had no band and its alert flapped on every sample).
 * Saturated: a limit near 2^64 must not wrap its band round to a small
 * value (the alert would clear on the next sample and flap); limit / 100
 * and limit % 100 are scaled apart so that no product wraps. */
static uint64_t hysteresis_band(uint64_t limit, unsigned h)
{
    uint64_t whole = limit / 100u;
    uint64_t rest = (limit % 100u * h + 99u) / 100u;
    if (h != 0 && whole > (UINT64_MAX - rest) / h) {
        return UINT64_MAX;
    }
    return whole * h + rest;
}

/* value < limit raises; value >= limit + h% clears. limit 0: off (and a
 * raised alert clears). */
static void alert_below(pending_alerts_t *pa, uint32_t *bits, rtm_alert_kind_t kind,
                        uint64_t value, uint64_t limit, unsigned h, const char *source)
{
    uint64_t band = hysteresis_band(limit, h);
    uint64_t clear_at = band <= UINT64_MAX - limit ? limit + band : UINT64_MAX;
    step_alert(pa, bits, kind, limit != 0 && value < limit, limit == 0 || value >= clear_at, source,
               (int64_t)value, (int64_t)limit);
}

/* value > limit raises; value <= limit - h% clears. */
static void alert_above(pending_alerts_t *pa, uint32_t *bits, rtm_alert_kind_t kind,
                        uint64_t value, uint64_t limit, unsigned h, const char *source)
{
    /* At most 100%: the band is then at most the limit. */
    uint64_t clear_at = limit - hysteresis_band(limit, h > 100u ? 100u : h);
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
    /* Time deviations are counted in units of 2^k ms, k >= 4, with k
     * large enough that every one is below 2^14 (a deviation is at most
     * the span): with free bytes below 2^32 and at most 65535 samples,
     * sum(dt * df) < 2^62 and sum(dt * dt) < 2^44, whatever the window
     * (with a fixed ms/16 a window of weeks overflowed them). */
    unsigned k = 4;
    while (k < 31u && (span >> k) >= (1u << 14)) {
        k++;
    }
    int64_t num = 0;
    int64_t den = 0;
    for (size_t i = first; i < w->history_count; i++) {
        const rtm_monitor_sample_t *s = history_at(w, i);
        int64_t dt = ((int64_t)(uint32_t)(s->ms - t0) - mean_t) / ((int64_t)1 << k);
        int64_t df = (int64_t)s->free_bytes - mean_f;
        num += dt * df;
        den += dt * dt;
    }
    if (den == 0) {
        return false;
    }
    /* Slope per 2^k ms -> per minute: num * 60000 / (den * 2^k), exactly
     * when num * 60000 fits (always for windows of minutes); else from
     * the quotient and the remainder, each of which fits. */
    int64_t per_min;
    int64_t scaled_den = den * ((int64_t)1 << k);
    if (num <= INT64_MAX / 60000 && num >= -(INT64_MAX / 60000)) {
        per_min = num * 60000 / scaled_den;
    } else {
        int64_t q = num / den;
        int64_t r = num % den;
        if (q > INT64_MAX / 60000) {
            per_min = INT64_MAX;
        } else if (q < -(INT64_MAX / 60000)) {
            per_min = INT64_MIN;
        } else {
            per_min = (q * 60000 + r * 60000 / den) / ((int64_t)1 << k);
        }
    }
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
    /* No region selected (none has those caps, or their heaps refuse):
     * there is no memory to read, not a memory with nothing free. */
    if (!rtm_caps_get_info(w->caps, &info) || info.regions == 0) {
        return false;
    }
    *r = (mem_reading_t){info.total_bytes, info.free_bytes, info.min_free_bytes,
                         info.largest_free_block, info.used_blocks, info.free_blocks,
                         info.failed_count};
    return true;
}

/* A watch whose heap or pool refuses a reading (deinitialised, or memory
 * that no longer holds one) is unsampled again: its last figures, alerts,
 * history and observer counts describe an object that is gone, and
 * telemetry would repeat them every tick. The alerts end without a
 * callback: their condition did not clear, its subject went away. */
static void forget_mem(rtm_monitor_t *mon, rtm_monitor_mem_t *w)
{
    rtm_port_lock(&mon->lock);
    const char *name = w->status.name;
    memset(&w->status, 0, sizeof w->status);
    w->status.name = name;
    w->history_count = 0;
    w->history_next = 0;
    w->samples = 0;
    /* What the observers counted was allocated in the object that went. */
    memset(w->sizes, 0, sizeof w->sizes);
    w->allocs_total = 0;
    w->large_no_dma_count = 0;
    w->large_no_dma_max = 0;
    w->large_no_dma_bytes = 0;
    rtm_port_unlock(&mon->lock);
}

static void sample_mem(rtm_monitor_t *mon, rtm_monitor_mem_t *w, uint32_t now,
                       pending_alerts_t *pa)
{
    mem_reading_t r;
    if (!read_mem(w, &r)) {
        forget_mem(mon, w);
        return;
    }
    /* Another size, or a failure count that went down (it only grows
     * from init), is a heap initialised again between ticks: a new
     * object, whose figures must not continue the old one's history and
     * alerts. Not for a capability watch: its memory is whatever the
     * registry holds, and a region added or removed changes the same
     * memory's size. (Only this task writes the status: no lock to read
     * it.) */
    if (w->heap != NULL && w->status.sampled &&
        (r.total != w->status.total_bytes || r.failed < w->status.failed_count)) {
        forget_mem(mon, w);
    }
    unsigned h = mon->cfg.hysteresis_percent;
    rtm_port_lock(&mon->lock);
    rtm_monitor_mem_status_t *st = &w->status;
    st->sampled = true;
    if (w->samples < UINT16_MAX) {
        w->samples++;
    }
    st->total_bytes = r.total;
    st->free_bytes = r.free_bytes;
    st->min_free_bytes = r.min_free;
    st->largest_free = r.largest;
    st->used_blocks = r.used_blocks;
    st->free_blocks = r.free_blocks;
    st->failed_count = r.failed;
    st->frag_permille = frag_permille(r.free_bytes, r.largest);
    rtm_monitor_sample_t s = {now, rtm_monitor_clamp_u32(r.free_bytes),
                              rtm_monitor_clamp_u32(r.min_free), rtm_monitor_clamp_u32(r.largest),
                              rtm_monitor_clamp_u32(r.used_blocks)};
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

/* As forget_mem, for a pool that refuses a reading. */
static void forget_pool(rtm_monitor_t *mon, rtm_monitor_pool_t *w)
{
    rtm_port_lock(&mon->lock);
    const char *name = w->status.name;
    memset(&w->status, 0, sizeof w->status);
    w->status.name = name;
    w->failed_seen = 0;
    rtm_port_unlock(&mon->lock);
}

static void sample_pool(rtm_monitor_t *mon, rtm_monitor_pool_t *w, pending_alerts_t *pa)
{
    rtm_pool_info_t info;
    if (!rtm_pool_info(w->pool, &info)) {
        forget_pool(mon, w);
        return;
    }
    /* A pool initialised again between ticks, as for a heap: another
     * geometry, or fewer failures than the last reading. */
    if (w->status.sampled &&
        (info.block_size != w->status.block_size || info.capacity != w->status.capacity ||
         info.failed_count < w->failed_seen)) {
        forget_pool(mon, w);
    }
    unsigned h = mon->cfg.hysteresis_percent;
    rtm_port_lock(&mon->lock);
    rtm_monitor_pool_status_t *st = &w->status;
    st->sampled = true;
    bool new_failures = info.failed_count != w->failed_seen;
    w->failed_seen = info.failed_count;
    st->block_size = info.block_size;
    st->capacity = info.capacity;
    st->used = info.used;
    st->peak_used = info.peak_used;
    st->failed_count = info.failed_count;
    st->wait_count = info.wait_count;
    /* The band of the other alerts: h% of 10 blocks at 15% is 1.5, so 2
     * must be free (1 would clear with no band at all); at most 100%, so
     * that a pool with every block free always clears. */
    uint64_t clear_free = hysteresis_band(info.capacity, h > 100u ? 100u : h);
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
    st->sampled = true;
    if (have_usage) {
        st->heap_bytes = usage.cur_bytes;
        st->heap_peak = usage.peak_bytes;
    }
    if (have_stack) {
        size_t size = w->declared_stack != 0 ? w->declared_stack : su.size;
        size_t peak = su.size != 0 ? su.peak_used : 0;
        /* A port that knows only min_free (FreeRTOS): the peak is the
         * declared size less it. min_free 0 is the kernel saying every byte
         * was used, an overflow most likely: a full stack, not an unknown. */
        if (su.size == 0 && size > su.min_free) {
            peak = size - su.min_free;
        }
        st->stack_size = size;
        st->stack_peak = peak;
        st->stack_known = size != 0 && peak != 0;
    }
    if (st->stack_known) {
        /* Rounded up: the alert is for a peak above max_stack_percent of
         * the size, and ceil(x) > M exactly when x > M (rounding down
         * missed 60.9% against a limit of 60). */
        uint64_t percent =
            ((uint64_t)st->stack_peak * 100u + st->stack_size - 1u) / st->stack_size;
        alert_above(pa, &st->alerts, RTM_ALERT_STACK_HIGH, percent, mon->cfg.max_stack_percent,
                    mon->cfg.hysteresis_percent, st->name);
    }
    rtm_port_unlock(&mon->lock);
}

/* ------------------------------------------------------------------------ */
/* Ticking                                                                   */

void rtm_monitor_sample(rtm_monitor_t *mon)
{
    if (!rtm_monitor_valid(mon)) {
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
            rtm_monitor_telemetry_alert(&pa.alert[i]);
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
    if (!rtm_monitor_valid(mon)) {
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
    if (!rtm_monitor_valid(mon)) {
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
    if (rtm_monitor_valid(mon)) {
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
    if (event == NULL || !rtm_monitor_valid(mon) || event->kind == RTM_EVENT_REALLOC) {
        return;
    }
    rtm_port_lock(&mon->lock);
    for (rtm_monitor_mem_t *w = mon->mems; w != NULL; w = w->next) {
        if (w->heap != event->heap) {
            continue;
        }
        if (event->kind == RTM_EVENT_ALLOC) {
            w->allocs_total++;
            size_t rounded = rtm_monitor_round_up(event->size, w->granularity);
            rtm_monitor_size_slot_t *s = slot_for_alloc(w, rtm_monitor_clamp_u32(rounded));
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
    if (!rtm_monitor_valid(mon) || size < RTM_MONITOR_LARGE_BYTES ||
        (caps & (RTM_CAP_DMA | RTM_CAP_INTERNAL | RTM_CAP_EXEC)) != 0) {
        return;
    }
    /* The region's own caps say where it landed: a PSRAM region watched
     * with rtm_monitor_watch_heap has no external flag unless set by hand. */
    if ((rtm_caps_region_all_caps(region) & RTM_CAP_SPIRAM) != 0) {
        return;
    }
    rtm_heap_t *heap = rtm_caps_region_heap(region);
    rtm_port_lock(&mon->lock);
    for (rtm_monitor_mem_t *w = mon->mems; w != NULL; w = w->next) {
        if (w->heap == heap && heap != NULL && !w->external) {
            w->large_no_dma_count++;
            w->large_no_dma_bytes += size;
            if (size > w->large_no_dma_max) {
                w->large_no_dma_max = rtm_monitor_clamp_u32(size);
            }
        }
    }
    rtm_port_unlock(&mon->lock);
}

/* ------------------------------------------------------------------------ */
/* Queries                                                                   */

bool rtm_monitor_status(rtm_monitor_t *mon, rtm_monitor_status_t *out)
{
    if (!rtm_monitor_valid(mon) || out == NULL) {
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
    if (!rtm_monitor_valid(mon) || w == NULL || out == NULL) {
        return false;
    }
    rtm_port_lock(&mon->lock);
    bool listed = mem_listed(mon, w);
    if (listed) {
        *out = w->status;
    }
    rtm_port_unlock(&mon->lock);
    return listed;
}

bool rtm_monitor_pool_status(rtm_monitor_t *mon, const rtm_monitor_pool_t *w,
                             rtm_monitor_pool_status_t *out)
{
    if (!rtm_monitor_valid(mon) || w == NULL || out == NULL) {
        return false;
    }
    rtm_port_lock(&mon->lock);
    bool listed = pool_listed(mon, w);
    if (listed) {
        *out = w->status;
    }
    rtm_port_unlock(&mon->lock);
    return listed;
}

bool rtm_monitor_task_status(rtm_monitor_t *mon, const rtm_monitor_task_t *w,
                             rtm_monitor_task_status_t *out)
{
    if (!rtm_monitor_valid(mon) || w == NULL || out == NULL) {
        return false;
    }
    rtm_port_lock(&mon->lock);
    bool listed = task_listed(mon, w);
    if (listed) {
        *out = w->status;
    }
    rtm_port_unlock(&mon->lock);
    return listed;
}

bool rtm_monitor_history(rtm_monitor_t *mon, const rtm_monitor_mem_t *w, size_t i,
                         rtm_monitor_sample_t *out, size_t *count)
{
    if (count != NULL) {
        *count = 0;
    }
    if (!rtm_monitor_valid(mon) || w == NULL) {
        return false;
    }
    rtm_port_lock(&mon->lock);
    size_t kept = mem_listed(mon, w) ? w->history_count : 0u;
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

const char *rtm_alert_kind_str(rtm_alert_kind_t kind)
{
    static const char *const names[RTM_ALERT_KIND_COUNT] = {
        "low_free",   "low_min_free", "block_too_small", "fragmented",
        "leak_trend", "stack_high",   "pool_exhausted",
    };
    return (unsigned)kind < RTM_ALERT_KIND_COUNT ? names[kind] : "unknown";
}

