/* The state of `rtmem top` and its line splitter. See top_model.h. */
#include "top_model.h"

#include <stdio.h>
#include <string.h>

#include "escape.h"

/* ------------------------------------------------------------------ */
/* Line splitting                                                       */

void rtm_top_splitter_init(rtm_top_splitter_t *s)
{
    memset(s, 0, sizeof *s);
}

static void emit(rtm_top_splitter_t *s, rtm_top_line_flag_t flag, rtm_top_line_fn fn, void *ctx)
{
    size_t len = s->len;
    if (len > 0 && s->buf[len - 1u] == '\r') {
        len--;
    }
    s->buf[len] = '\0';
    s->len = 0;
    fn(ctx, s->buf, len, flag);
}

void rtm_top_split(rtm_top_splitter_t *s, const char *data, size_t len, rtm_top_line_fn fn,
                   void *ctx)
{
    size_t i = 0;
    while (i < len) {
        const char *nl = memchr(data + i, '\n', len - i);
        size_t end = nl != NULL ? (size_t)(nl - data) : len;
        size_t piece = end - i;
        bool ends_line = nl != NULL;
        if (s->skipping) {
            s->skipped_bytes += piece;
            if (ends_line) {
                s->skipping = false;
                ends_line = false;
            }
        } else {
            size_t room = RTM_TOP_LINE_MAX - s->len;
            size_t take = piece < room ? piece : room;
            memcpy(s->buf + s->len, data + i, take);
            s->len += take;
            if (take < piece) {
                /* Its first part is shown; the rest, up to "\n", is dropped. */
                s->skipped_bytes += piece - take;
                emit(s, RTM_TOP_LINE_OVERLONG, fn, ctx);
                s->skipping = !ends_line;
                ends_line = false;
            }
        }
        if (ends_line) {
            emit(s, RTM_TOP_LINE_WHOLE, fn, ctx);
        }
        i = end + 1u;
    }
}

void rtm_top_split_flush(rtm_top_splitter_t *s, rtm_top_line_fn fn, void *ctx)
{
    if (s->skipping) {
        s->skipping = false;
        return;
    }
    if (s->len > 0) {
        emit(s, RTM_TOP_LINE_CUT, fn, ctx);
    }
}
/* ------------------------------------------------------------------ */
/* State                                                                */

void rtm_top_model_init(rtm_top_model_t *m)
{
    memset(m, 0, sizeof *m);
}

static void copy_name(char *dst, size_t cap, const char *src)
{
    size_t n = strlen(src);
    if (n >= cap) {
        n = cap - 1u;
    }
    memcpy(dst, src, n);
    dst[n] = '\0';
}

/* prefix (may be NULL) then text, both escaped, into out[cap]; when they
 * do not fit, out ends after the last whole character or escape that did. */
static void esc_join(char *out, size_t cap, const char *prefix, const char *text, size_t len)
{
    size_t used = 0;
    out[0] = '\0';
    if (prefix != NULL) {
        rtm_esc_copy(out, cap, prefix, strlen(prefix));
        used = strlen(out);
    }
    rtm_esc_copy(out + used, cap - used, text, len);
}

static void log_add(rtm_top_model_t *m, rtm_top_log_kind_t kind, uint64_t number, const char *prefix,
                    const char *text, size_t len)
{
    rtm_top_log_line_t *l = &m->log[m->log_next];
    l->kind = kind;
    l->number = number;
    /* An escape or a character is at most 4 bytes, so a copy into 8 more
     * bytes than the line keeps is shorter than the line only if it is whole. */
    char wide[RTM_TOP_LOG_TEXT + 8u];
    esc_join(wide, sizeof wide, prefix, text, len);
    if (strlen(wide) >= sizeof l->text) {
        esc_join(l->text, sizeof l->text - 3u, prefix, text, len);
        strcat(l->text, "...");
    } else {
        memcpy(l->text, wide, strlen(wide) + 1u);
    }
    m->log_next = (m->log_next + 1u) % RTM_TOP_LOG_LINES;
    if (m->log_count < RTM_TOP_LOG_LINES) {
        m->log_count++;
    }
}

void rtm_top_note(rtm_top_model_t *m, const char *text)
{
    log_add(m, RTM_TOP_LOG_NOTE, 0, NULL, text, strlen(text));
}

const rtm_top_log_line_t *rtm_top_log_at(const rtm_top_model_t *m, size_t i)
{
    if (i >= m->log_count) {
        return NULL;
    }
    size_t oldest = (m->log_next + RTM_TOP_LOG_LINES - m->log_count) % RTM_TOP_LOG_LINES;
    return &m->log[(oldest + i) % RTM_TOP_LOG_LINES];
}

static void bad_line(rtm_top_model_t *m, const char *why, const char *text, size_t len)
{
    char prefix[RTM_TM_ERR_MAX + 16u];
    snprintf(prefix, sizeof prefix, "%s: ", why);
    m->counts.bad++;
    log_add(m, RTM_TOP_LOG_BAD, m->counts.lines, prefix, text, len);
}

const rtm_top_region_t *rtm_top_find_region(const rtm_top_model_t *m, const char *name)
{
    for (size_t i = 0; i < m->region_count; i++) {
        if (strcmp(m->regions[i].last.name, name) == 0) {
            return &m->regions[i];
        }
    }
    return NULL;
}

const rtm_top_pool_t *rtm_top_find_pool(const rtm_top_model_t *m, const char *name)
{
    for (size_t i = 0; i < m->pool_count; i++) {
        if (strcmp(m->pools[i].last.name, name) == 0) {
            return &m->pools[i];
        }
    }
    return NULL;
}

const rtm_top_task_t *rtm_top_find_task(const rtm_top_model_t *m, const char *name)
{
    for (size_t i = 0; i < m->task_count; i++) {
        if (strcmp(m->tasks[i].last.name, name) == 0) {
            return &m->tasks[i];
        }
    }
    return NULL;
}

static size_t alert_index(const rtm_top_model_t *m, const char *alert, const char *source)
{
    for (size_t i = 0; i < m->alert_count; i++) {
        if (strcmp(m->alerts[i].alert, alert) == 0 && strcmp(m->alerts[i].source, source) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

const rtm_top_alert_t *rtm_top_find_alert(const rtm_top_model_t *m, const char *alert,
                                          const char *source)
{
    size_t i = alert_index(m, alert, source);
    return i == SIZE_MAX ? NULL : &m->alerts[i];
}

static rtm_top_alert_t *alert_raise(rtm_top_model_t *m, const char *alert, const char *source,
                                    uint64_t ms)
{
    size_t i = alert_index(m, alert, source);
    if (i != SIZE_MAX) {
        return &m->alerts[i];
    }
    if (m->alert_count == RTM_TOP_ALERTS_MAX) {
        m->counts.dropped_names++;
        return NULL;
    }
    rtm_top_alert_t *a = &m->alerts[m->alert_count++];
    memset(a, 0, sizeof *a);
    copy_name(a->alert, sizeof a->alert, alert);
    copy_name(a->source, sizeof a->source, source);
    a->since_ms = ms;
    return a;
}

static void alert_clear(rtm_top_model_t *m, const char *alert, const char *source)
{
    size_t i = alert_index(m, alert, source);
    if (i == SIZE_MAX) {
        return;
    }
    memmove(&m->alerts[i], &m->alerts[i + 1u], (m->alert_count - i - 1u) * sizeof m->alerts[0]);
    m->alert_count--;
}

/* A sample's alerts mask is the source's whole alert state at that time. */
static void apply_mask(rtm_top_model_t *m, const char *source, uint64_t mask, uint64_t ms)
{
    for (unsigned bit = 0; bit < 64u; bit++) {
        const char *name = rtm_tm_alert_name(bit);
        if (name == NULL) {
            break;
        }
        if ((mask >> bit) & 1u) {
            alert_raise(m, name, source, ms);
        } else {
            alert_clear(m, name, source);
        }
    }
}

static void note_ms(rtm_top_model_t *m, uint64_t ms)
{
    m->last_ms = ms;
    m->has_ms = true;
}

void rtm_top_on_mem(rtm_top_model_t *m, const rtm_tm_mem_t *mem)
{
    note_ms(m, mem->ms);
    rtm_top_region_t *r = (rtm_top_region_t *)rtm_top_find_region(m, mem->name);
    if (r == NULL) {
        if (m->region_count == RTM_TOP_REGIONS_MAX) {
            m->counts.dropped_names++;
            return;
        }
        r = &m->regions[m->region_count++];
        memset(r, 0, sizeof *r);
        r->first_ms = mem->ms;
    }
    r->last = *mem;
    r->samples++;
    apply_mask(m, mem->name, mem->alerts, mem->ms);
}

void rtm_top_on_pool(rtm_top_model_t *m, const rtm_tm_pool_t *pool)
{
    note_ms(m, pool->ms);
    rtm_top_pool_t *p = (rtm_top_pool_t *)rtm_top_find_pool(m, pool->name);
    if (p == NULL) {
        if (m->pool_count == RTM_TOP_POOLS_MAX) {
            m->counts.dropped_names++;
            return;
        }
        p = &m->pools[m->pool_count++];
    }
    p->last = *pool;
    apply_mask(m, pool->name, pool->alerts, pool->ms);
}

void rtm_top_on_task(rtm_top_model_t *m, const rtm_tm_task_t *task)
{
    note_ms(m, task->ms);
    rtm_top_task_t *t = (rtm_top_task_t *)rtm_top_find_task(m, task->name);
    if (t == NULL) {
        if (m->task_count == RTM_TOP_TASKS_MAX) {
            m->counts.dropped_names++;
            return;
        }
        t = &m->tasks[m->task_count++];
    }
    t->last = *task;
    apply_mask(m, task->name, task->alerts, task->ms);
}

void rtm_top_on_alert(rtm_top_model_t *m, const rtm_tm_alert_t *alert)
{
    note_ms(m, alert->ms);
    if (!alert->raised) {
        alert_clear(m, alert->alert, alert->source);
        return;
    }
    rtm_top_alert_t *a = alert_raise(m, alert->alert, alert->source, alert->ms);
    if (a != NULL) {
        a->has_value = true;
        a->value = alert->value;
        a->threshold = alert->threshold;
    }
}

void rtm_top_on_rec(rtm_top_model_t *m, const rtm_tm_rec_t *rec)
{
    note_ms(m, rec->ms);
    m->recs_seen++;
    if (m->rec_count == RTM_TOP_RECS_MAX) {
        memmove(&m->recs[0], &m->recs[1], (RTM_TOP_RECS_MAX - 1u) * sizeof m->recs[0]);
        m->rec_count--;
    }
    rtm_top_rec_t *r = &m->recs[m->rec_count++];
    r->ms = rec->ms;
    copy_name(r->rule, sizeof r->rule, rec->rule);
    copy_name(r->source, sizeof r->source, rec->source);
    const char *text = rec->text != NULL ? rec->text : "";
    rtm_esc_copy(r->text, sizeof r->text, text, strlen(text));
}

/* A telemetry line of a known type whose typed view refused it. */
static bool typed(rtm_top_model_t *m, const rtm_tm_line_t *t, char *err, size_t errlen)
{
    switch (t->type) {
    case RTM_TM_MEM: {
        rtm_tm_mem_t v;
        if (!rtm_tm_mem(t, &v, err, errlen)) {
            return false;
        }
        rtm_top_on_mem(m, &v);
        return true;
    }
    case RTM_TM_POOL: {
        rtm_tm_pool_t v;
        if (!rtm_tm_pool(t, &v, err, errlen)) {
            return false;
        }
        rtm_top_on_pool(m, &v);
        return true;
    }
    case RTM_TM_TASK: {
        rtm_tm_task_t v;
        if (!rtm_tm_task(t, &v, err, errlen)) {
            return false;
        }
        rtm_top_on_task(m, &v);
        return true;
    }
    case RTM_TM_ALERT: {
        rtm_tm_alert_t v;
        if (!rtm_tm_alert(t, &v, err, errlen)) {
            return false;
        }
        rtm_top_on_alert(m, &v);
        return true;
    }
    case RTM_TM_REC: {
        rtm_tm_rec_t v;
        if (!rtm_tm_rec(t, &v, err, errlen)) {
            return false;
        }
        rtm_top_on_rec(m, &v);
        return true;
    }
    case RTM_TM_TRACE:
        /* Its one required key (docs/formats.md), which replay, report
         * and export require too: without it the line is bad here as
         * there, not a trace line counted. */
        if (rtm_tm_trace_text(t) == NULL) {
            snprintf(err, errlen, "telemetry trace line without a \"line\" string");
            return false;
        }
        note_ms(m, t->ms);
        m->counts.trace++;
        return true;
    case RTM_TM_OTHER:
    default:
        note_ms(m, t->ms);
        m->counts.other_types++;
        return true;
    }
}

void rtm_top_feed_line(void *model, const char *text, size_t len, rtm_top_line_flag_t flag)
{
    rtm_top_model_t *m = model;
    m->counts.lines++;
    if (flag == RTM_TOP_LINE_OVERLONG) {
        char why[64];
        snprintf(why, sizeof why, "longer than %u bytes, cut", RTM_TOP_LINE_MAX);
        bad_line(m, why, text, len);
        return;
    }
    char err[RTM_TM_ERR_MAX];
    err[0] = '\0';
    int rc = rtm_tm_parse(text, len, &m->scratch, err, sizeof err);
    if (rc == 0) {
        m->counts.log++;
        log_add(m, RTM_TOP_LOG_TEXT_LINE, m->counts.lines,
                flag == RTM_TOP_LINE_CUT ? "(cut off) " : NULL, text, len);
        return;
    }
    if (rc < 0) {
        bad_line(m, err[0] != '\0' ? err : "bad telemetry", text, len);
        return;
    }
    if (!typed(m, &m->scratch, err, sizeof err)) {
        bad_line(m, err[0] != '\0' ? err : "bad telemetry", text, len);
        return;
    }
    m->counts.telemetry++;
}

unsigned rtm_top_scale(uint64_t part, uint64_t whole, unsigned scale)
{
    if (whole == 0u || scale == 0u) {
        return 0u;
    }
    if (part > whole) {
        part = whole;
    }
    /* part * scale + whole / 2 must not wrap: keep whole below
     * UINT64_MAX / (scale + 1); the low bits so dropped are far below one
     * unit of any scale a screen uses. */
    uint64_t limit = UINT64_MAX / ((uint64_t)scale + 1u);
    while (whole > limit) {
        whole >>= 1;
        part >>= 1;
    }
    if (whole == 0u) {
        return 0u;
    }
    return (unsigned)((part * scale + whole / 2u) / whole);
}

void rtm_top_fmt_bytes(char *out, size_t cap, uint64_t b)
{
    static const char units[] = "KMGTPE";
    if (b < 1024u) {
        snprintf(out, cap, "%uB", (unsigned)b);
        return;
    }
    double v = (double)b / 1024.0;
    size_t u = 0;
    while (v >= 1024.0 && u + 1u < sizeof units - 1u) {
        v /= 1024.0;
        u++;
    }
    snprintf(out, cap, "%.1f%c", v, units[u]);
}

void rtm_top_fmt_count(char *out, size_t cap, uint64_t n)
{
    static const char units[] = "kMGTPE";
    if (n < 10000u) {
        snprintf(out, cap, "%u", (unsigned)n);
        return;
    }
    /* Integers only: with doubles the rounding at 9.95 differed on x87 */
    uint64_t div = 1000u;
    for (size_t u = 0;; u++, div *= 1000u) {
        uint64_t tenth = div / 10u;
        uint64_t tenths = n / tenth + (n % tenth >= (tenth + 1u) / 2u ? 1u : 0u);
        if (tenths < 100u) {
            snprintf(out, cap, "%u.%u%c", (unsigned)(tenths / 10u), (unsigned)(tenths % 10u),
                     units[u]);
            return;
        }
        uint64_t whole = n / div + (n % div >= (div + 1u) / 2u ? 1u : 0u);
        if (whole < 1000u || u + 2u == sizeof units) {
            snprintf(out, cap, "%u%c", (unsigned)whole, units[u]);
            return;
        }
    }
}
