/*
 * Recommendations: rules over what the last samples and the observers saw
 * (documented with their thresholds in monitor.h and docs/monitoring.md),
 * and each one as an English sentence with its numbers.
 */
#include <stddef.h>
#include <stdint.h>

#include "monitor_internal.h"
#include "rtmem/output.h"

/* Rules of the recommendations (documented in monitor.h). */
#define GROW_BELOW_PERCENT 10u
#define SHRINK_ABOVE_PERCENT 50u
#define SHRINK_MIN_SAMPLES 10u
#define POOL_MIN_ALLOCS 100u
#define POOL_MIN_SHARE_PERCENT 30u
#define POOL_MARGIN_PERCENT 25u

static size_t add_percent(size_t v, unsigned percent)
{
    uint64_t r = (uint64_t)v * (100u + percent) / 100u;
    return r > SIZE_MAX ? SIZE_MAX : (size_t)r;
}

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
                             size_t psram_free, bool tracing, rec_sink_t *sink)
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
    } else if (!w->fixed && w->samples >= SHRINK_MIN_SAMPLES &&
               (uint64_t)st->min_free_bytes * 100u > (uint64_t)total * SHRINK_ABOVE_PERCENT &&
               advised < total) {
        /* A margin over 100% can put peak + margin past the size even for
         * a memory more than half unused: that is no shrink. */
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
    size_t advised = rtm_monitor_round_up(add_percent(st->stack_peak, mon->cfg.stack_margin_percent), 16u);
    if (advised > st->stack_size || advised * 2u < st->stack_size) {
        rec_add(sink, RTM_REC_STACK_SIZE, st->name, st->stack_size, st->stack_peak, advised, 0, 0);
    }
}

static size_t recommend_from(rtm_monitor_t *mon, size_t skip, rtm_recommendation_t *out,
                             size_t n)
{
    rec_sink_t sink = {out, out != NULL ? n : 0, skip, 0};
    /* The tracer's state takes the tracer's lock: asked before the
     * monitor's lock is taken, which is never held while another module
     * runs (monitor.h). */
    bool tracing = mon->cfg.trace != NULL && rtm_trace_state(mon->cfg.trace) == RTM_TRACE_RUNNING;
    rtm_port_lock(&mon->lock);
    size_t psram_free = 0;
    for (const rtm_monitor_mem_t *w = mon->mems; w != NULL; w = w->next) {
        if (w->external && w->status.largest_free > psram_free) {
            psram_free = w->status.largest_free;
        }
    }
    for (const rtm_monitor_mem_t *w = mon->mems; w != NULL; w = w->next) {
        rules_for_memory(mon, w, psram_free, tracing, &sink);
    }
    for (const rtm_monitor_task_t *w = mon->tasks; w != NULL; w = w->next) {
        rules_for_task(mon, w, &sink);
    }
    rtm_port_unlock(&mon->lock);
    return sink.count;
}

size_t rtm_monitor_recommend(rtm_monitor_t *mon, rtm_recommendation_t *out, size_t n)
{
    return rtm_monitor_valid(mon) ? recommend_from(mon, 0, out, n) : 0;
}

/* A bounded text builder over the caller's buffer, always terminated. */
typedef struct text_buf {
    char *buf;
    size_t len;
    size_t need;
} text_buf_t;

/* Control bytes (a name is the application's), DEL among them, become
 * '?': the sentence is one line of a log. */
static void text_put(text_buf_t *t, const char *s)
{
    for (; *s != '\0'; s++) {
        if (t->need + 1u < t->len) {
            unsigned char c = (unsigned char)*s;
            t->buf[t->need] = c < 0x20u || c == 0x7fu ? '?' : *s;
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

size_t rtm_monitor_print_recommendations(rtm_monitor_t *mon)
{
    if (!rtm_monitor_valid(mon)) {
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
                rtm_monitor_telemetry_rec(&batch[i], ms, text);
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

const char *rtm_rec_kind_str(rtm_rec_kind_t kind)
{
    static const char *const names[RTM_REC_KIND_COUNT] = {
        "grow_memory", "shrink_memory", "pool_for_size", "stack_size", "move_to_psram",
        "enable_tracing",
    };
    return (unsigned)kind < RTM_REC_KIND_COUNT ? names[kind] : "unknown";
}
