/* Chrome trace-event JSON from telemetry and rtmem traces: see export_chrome.h. */
#define _POSIX_C_SOURCE 200809L
#include "export_chrome.h"

#include <inttypes.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "line_reader.h"
#include "sum64.h"
#include "telemetry.h"

/* ------------------------------------------------------------------ */
/* Clock                                                               */

#define HALF_RANGE_MS (UINT64_C(1) << 31)
#define WRAP_MS (UINT64_C(1) << 32)
#define MAX_RAW_MS (RTM_XCLOCK_MAX_US / 1000u)

void rtm_xclock_init(rtm_xclock_t *c)
{
    memset(c, 0, sizeof *c);
}

static uint64_t cap_add(uint64_t a, uint64_t b)
{
    return a > RTM_XCLOCK_MAX_US - (b > RTM_XCLOCK_MAX_US ? RTM_XCLOCK_MAX_US : b)
               ? RTM_XCLOCK_MAX_US
               : a + b;
}

uint64_t rtm_xclock_ms(rtm_xclock_t *c, uint64_t raw_ms, rtm_xclock_step_t *step)
{
    rtm_xclock_step_t s = RTM_XCLOCK_FORWARD;
    uint64_t raw_us = raw_ms > MAX_RAW_MS ? RTM_XCLOCK_MAX_US : raw_ms * 1000u;
    if (!c->started) {
        s = RTM_XCLOCK_FIRST;
        c->started = true;
    } else if (raw_ms < c->last_raw) {
        uint64_t back = c->last_raw - raw_ms;
        if (back > HALF_RANGE_MS && c->last_raw < WRAP_MS) {
            s = RTM_XCLOCK_WRAPPED;
            c->offset_us = cap_add(c->offset_us, WRAP_MS * 1000u);
        } else if (back <= RTM_XCLOCK_JITTER_MS) {
            s = RTM_XCLOCK_JITTER;
        } else {
            /* last_us >= raw_us here: it was at least the last raw time */
            s = RTM_XCLOCK_RESTARTED;
            c->offset_us = c->last_us - raw_us;
        }
    }
    c->last_raw = raw_ms;
    uint64_t us = cap_add(c->offset_us, raw_us);
    if (us < c->last_us) {
        us = c->last_us;
    }
    c->last_us = us;
    if (step != NULL) {
        *step = s;
    }
    return us;
}

uint64_t rtm_xclock_untimed(rtm_xclock_t *c)
{
    if (c->started && c->last_us < RTM_XCLOCK_MAX_US) {
        c->last_us++;
    }
    c->started = true;
    return c->last_us;
}

/* ------------------------------------------------------------------ */
/* Writer                                                              */

void rtm_chrome_begin(rtm_chrome_t *w, FILE *out)
{
    memset(w, 0, sizeof *w);
    w->out = out;
    fputs("{\"traceEvents\":[", out);
}

static void event_start(rtm_chrome_t *w)
{
    fputs(w->events == 0 ? "\n" : ",\n", w->out);
    w->events++;
}

void rtm_chrome_meta(rtm_chrome_t *w, const char *what, unsigned pid, unsigned tid,
                     const char *name)
{
    event_start(w);
    fprintf(w->out, "{\"name\":\"%s\",\"ph\":\"M\",\"ts\":0,\"pid\":%u,\"tid\":%u,\"args\":{\"name\":",
            what, pid, tid);
    rtm_esc_json(w->out, name);
    fputs("}}", w->out);
}

void rtm_chrome_counter(rtm_chrome_t *w, unsigned pid, uint64_t ts, const char *name,
                        const char *key, int64_t value)
{
    event_start(w);
    fputs("{\"name\":", w->out);
    rtm_esc_json(w->out, name);
    fprintf(w->out, ",\"ph\":\"C\",\"ts\":%" PRIu64 ",\"pid\":%u,\"tid\":%u,\"args\":{\"%s\":%" PRId64
                    "}}",
            ts, pid, pid, key, value);
}

/* An instant event of process scope; its args are written by the caller
 * between this and instant_end. */
static void instant_start(rtm_chrome_t *w, unsigned pid, uint64_t ts, const char *name)
{
    event_start(w);
    fputs("{\"name\":", w->out);
    rtm_esc_json(w->out, name);
    fprintf(w->out, ",\"ph\":\"i\",\"s\":\"p\",\"ts\":%" PRIu64 ",\"pid\":%u,\"tid\":%u,\"args\":{",
            ts, pid, pid);
}

static void instant_end(rtm_chrome_t *w)
{
    fputs("}}", w->out);
}

int rtm_chrome_end(rtm_chrome_t *w)
{
    if (!w->closed) {
        fputs("\n],\"displayTimeUnit\":\"ms\"}\n", w->out);
        w->closed = true;
    }
    return fflush(w->out) != 0 || ferror(w->out) ? -1 : 0;
}

/* ------------------------------------------------------------------ */
/* Tracks: a name and its live bytes, found by name                    */

#define TRACK_NAME_MAX 96u

typedef struct track {
    char name[TRACK_NAME_MAX]; /* the counter's name, "trace heap DRAM live" */
    rtm_sum64_t live;
} track_t;

/* What a live block of the trace counts against: stored in the live-ID
 * table's payload (ptr), shared by every block of the same heap and task. */
typedef struct owner {
    size_t heap, task;    /* track index + 1; 0: none */
    struct owner *next;   /* in the input's list, for freeing */
    struct owner *chain;  /* in its hash bucket */
} owner_t;

#define OWNER_BUCKETS 256u

typedef struct chrome_input {
    rtm_chrome_t *w;
    unsigned pid;
    bool lenient;
    rtm_xclock_t clock;
    rtm_line_reader_t lines;
    rtm_tm_line_t tm;
    rtm_idmap_t ids;
    bool trace_header; /* a plain "# rtmem-trace 1" was seen */
    track_t *tracks;
    size_t ntracks, captracks;
    size_t *index; /* open addressing: track index + 1, 0 empty */
    size_t capindex;
    owner_t *owners;
    owner_t *buckets[OWNER_BUCKETS];
    rtm_chrome_counts_t counts;
    char err[RTM_LINE_ERR_MAX];
} chrome_input_t;

static uint64_t hash_text(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    while (*s != '\0') {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ull;
    }
    return h;
}

static bool index_grow(chrome_input_t *x)
{
    size_t ncap = x->capindex ? x->capindex * 2u : 64u;
    size_t *n = calloc(ncap, sizeof *n);
    if (n == NULL) {
        return false;
    }
    for (size_t t = 0; t < x->ntracks; t++) {
        size_t i = (size_t)hash_text(x->tracks[t].name) & (ncap - 1u);
        while (n[i] != 0) {
            i = (i + 1u) & (ncap - 1u);
        }
        n[i] = t + 1u;
    }
    free(x->index);
    x->index = n;
    x->capindex = ncap;
    return true;
}

/* The track named name (made when new): index + 1, or 0 out of memory. */
static size_t track_of(chrome_input_t *x, const char *name)
{
    if ((x->ntracks + 1u) * 2u > x->capindex && !index_grow(x)) {
        return 0;
    }
    size_t mask = x->capindex - 1u;
    size_t i = (size_t)hash_text(name) & mask;
    while (x->index[i] != 0) {
        if (strcmp(x->tracks[x->index[i] - 1u].name, name) == 0) {
            return x->index[i];
        }
        i = (i + 1u) & mask;
    }
    if (x->ntracks == x->captracks) {
        size_t ncap = x->captracks ? x->captracks * 2u : 16u;
        track_t *n = realloc(x->tracks, ncap * sizeof *n);
        if (n == NULL) {
            return 0;
        }
        x->tracks = n;
        x->captracks = ncap;
    }
    track_t *t = &x->tracks[x->ntracks];
    (void)snprintf(t->name, sizeof t->name, "%s", name);
    t->live = (rtm_sum64_t){0, 0};
    x->index[i] = ++x->ntracks;
    return x->ntracks;
}

static owner_t *owner_of(chrome_input_t *x, size_t heap, size_t task)
{
    size_t b = (heap * 31u + task) % OWNER_BUCKETS;
    for (owner_t *o = x->buckets[b]; o != NULL; o = o->chain) {
        if (o->heap == heap && o->task == task) {
            return o;
        }
    }
    owner_t *o = malloc(sizeof *o);
    if (o == NULL) {
        return NULL;
    }
    o->heap = heap;
    o->task = task;
    o->chain = x->buckets[b];
    x->buckets[b] = o;
    o->next = x->owners;
    x->owners = o;
    return o;
}

/* ------------------------------------------------------------------ */
/* Input                                                               */

static int input_fail(chrome_input_t *x, const char *fmt, ...)
{
    char what[RTM_LINE_ERR_MAX];
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(what, sizeof what, fmt, ap);
    va_end(ap);
    (void)rtm_line_fail(&x->lines, what);
    memcpy(x->err, x->lines.err, sizeof x->err);
    return -1;
}

/* A line that does not parse: the line reader's one rule for a capture
 * cut mid-line (skipped and counted) and for everything else (an error). */
static int reject(chrome_input_t *x, const char *what)
{
    if (rtm_line_reject(&x->lines, what) < 0) {
        memcpy(x->err, x->lines.err, sizeof x->err);
        return -1;
    }
    x->counts.skipped.truncated = x->lines.truncated;
    return 0;
}

/* A log line: passed over, unless it is all the input holds, cut. */
static int skip(chrome_input_t *x, const char *what)
{
    if (rtm_line_skip(&x->lines, what) < 0) {
        memcpy(x->err, x->lines.err, sizeof x->err);
        return -1;
    }
    return 0;
}

/* The value of field key= of a trace line, %XX decoded into out[cap]
 * (cut to fit); false when absent. Fields follow the required part, and
 * IDs, sizes and keys hold no '=', so " key=" starts the field. */
static bool trace_field(const char *line, const char *key, char *out, size_t cap)
{
    size_t kl = strlen(key);
    for (const char *p = strchr(line, ' '); p != NULL; p = strchr(p + 1, ' ')) {
        if (strncmp(p + 1, key, kl) != 0 || p[1 + kl] != '=') {
            continue;
        }
        const char *v = p + 2 + kl;
        size_t vlen = strcspn(v, " ");
        size_t o = 0;
        for (size_t at = 0; at < vlen && o + 1u < cap; o++) {
            unsigned char b;
            at += rtm_pct_step(v + at, vlen - at, &b);
            out[o] = (char)b;
        }
        out[o] = '\0';
        return true;
    }
    return false;
}

static void emit_track(chrome_input_t *x, size_t track, uint64_t ts)
{
    if (track == 0) {
        return;
    }
    const track_t *t = &x->tracks[track - 1u];
    rtm_chrome_counter(x->w, x->pid, ts, t->name, "bytes",
                       rtm_sum64_get(&t->live) > INT64_MAX ? INT64_MAX
                                                           : (int64_t)rtm_sum64_get(&t->live));
}

static void credit(chrome_input_t *x, const owner_t *o, uint64_t size, bool add)
{
    size_t tr[2] = {o->heap, o->task};
    for (int i = 0; i < 2; i++) {
        if (tr[i] == 0) {
            continue;
        }
        track_t *t = &x->tracks[tr[i] - 1u];
        if (add) {
            rtm_sum64_add(&t->live, size);
        } else {
            rtm_sum64_sub(&t->live, size);
        }
    }
}

static void emit_owner(chrome_input_t *x, const owner_t *o, uint64_t ts)
{
    emit_track(x, o->heap, ts);
    emit_track(x, o->task, ts);
}

/* The owner of a block made by this line: heap= and task= fields. */
static owner_t *line_owner(chrome_input_t *x, const char *line)
{
    char v[RTM_TM_NAME_MAX], name[TRACK_NAME_MAX];
    bool damaged = strlen(line) >= 3 && strcmp(line + strlen(line) - 3, "...") == 0;
    size_t heap, task = 0;
    if (!damaged && trace_field(line, "heap", v, sizeof v)) {
        (void)snprintf(name, sizeof name, "trace heap %s live", v);
    } else {
        (void)snprintf(name, sizeof name, "trace live");
    }
    heap = track_of(x, name);
    if (heap == 0) {
        return NULL;
    }
    if (!damaged && trace_field(line, "task", v, sizeof v)) {
        (void)snprintf(name, sizeof name, "trace task %s live", v);
        task = track_of(x, name);
        if (task == 0) {
            return NULL;
        }
    }
    return owner_of(x, heap, task);
}

/* Applies one event to the live-ID table; 1 done, 0 skipped (lenient), -1 error. */
static int apply_event(chrome_input_t *x, const rtm_trace_event_t *ev, const char *line,
                       uint64_t ts)
{
    rtm_trace_payload_t old;
    const char *newid = ev->kind == RTM_TRACE_REALLOC ? ev->newid : ev->id;
    char msg[RTM_LINE_ERR_MAX / 2];
    bool id_live = rtm_idmap_find(&x->ids, ev->id) != NULL;
    bool newid_live = ev->kind == RTM_TRACE_REALLOC && rtm_idmap_find(&x->ids, ev->newid) != NULL;
    rtm_trace_ids_t wrong = rtm_trace_check_ids(ev, id_live, newid_live, true, msg, sizeof msg);
    if (wrong != RTM_TRACE_IDS_OK) {
        if (!x->lenient) {
            return input_fail(x, "%s", msg);
        }
        if (wrong == RTM_TRACE_IDS_UNKNOWN_FREE) {
            x->counts.skipped.unknown_free++;
        } else if (wrong == RTM_TRACE_IDS_UNKNOWN_REALLOC) {
            x->counts.skipped.unknown_realloc++;
        } else {
            x->counts.skipped.reused_id++;
        }
        return 0;
    }
    const owner_t *gone = NULL;
    if (ev->kind == RTM_TRACE_FREE || ev->kind == RTM_TRACE_REALLOC) {
        (void)rtm_idmap_remove(&x->ids, ev->id, &old);
        gone = old.ptr;
        credit(x, gone, old.size, false);
    }
    if (ev->kind != RTM_TRACE_FREE) {
        owner_t *o = line_owner(x, line);
        rtm_trace_payload_t *slot = o != NULL ? rtm_idmap_insert(&x->ids, newid) : NULL;
        if (slot == NULL) {
            return input_fail(x, "out of memory for the tracks or the live-ID table");
        }
        slot->ptr = o;
        slot->size = ev->size;
        credit(x, o, ev->size, true);
        if (gone != NULL && gone != o) {
            emit_owner(x, gone, ts);
        }
        emit_owner(x, o, ts);
    } else {
        emit_owner(x, gone, ts);
    }
    x->counts.trace_events++;
    return 1;
}

/* The timestamp of device time raw_ms; a clock that went back (a reset)
 * gets an instant event, so the gap it hides is visible. */
static uint64_t device_time(chrome_input_t *x, uint64_t raw_ms)
{
    rtm_xclock_step_t step;
    uint64_t ts = rtm_xclock_ms(&x->clock, raw_ms, &step);
    if (step == RTM_XCLOCK_RESTARTED) {
        x->counts.restarts++;
        instant_start(x->w, x->pid, ts, "clock restarted (device reset?)");
        fprintf(x->w->out, "\"ms\":%" PRIu64, raw_ms);
        instant_end(x->w);
    }
    return ts;
}

/* One rtmem-trace line (plain, or from a telemetry "trace" line with its
 * ms); the event letters are checked by the caller for plain lines. */
static int trace_line(chrome_input_t *x, const char *line, bool has_ms, uint64_t ms)
{
    rtm_trace_event_t ev;
    char msg[RTM_LINE_ERR_MAX / 2];
    int rc = rtm_trace_parse_line(line, strlen(line), &ev, msg, sizeof msg);
    if (rc < 0) {
        return reject(x, msg);
    }
    if (rc == 0) {
        return 0;
    }
    /* t= as the reader decoded it (every digit of it, leading zeros too;
     * a line cut at "..." has none): a copy of the field into a small
     * buffer would cut a long run of leading zeros and read another time. */
    uint64_t ts;
    if (ev.has_time) {
        ts = device_time(x, ev.time);
    } else if (has_ms) {
        ts = device_time(x, ms);
    } else {
        ts = rtm_xclock_untimed(&x->clock);
    }
    return apply_event(x, &ev, line, ts) < 0 ? -1 : 0;
}

/* The args of an instant event: every member of the telemetry line but
 * rtmem, type and ms. */
static void member_args(chrome_input_t *x, const rtm_tm_line_t *t)
{
    bool first = true;
    for (size_t i = 0; i < t->count; i++) {
        const rtm_tm_member_t *m = &t->members[i];
        if (strcmp(m->key, "rtmem") == 0 || strcmp(m->key, "type") == 0 ||
            strcmp(m->key, "ms") == 0) {
            continue;
        }
        if (!first) {
            fputc(',', x->w->out);
        }
        first = false;
        rtm_esc_json(x->w->out, m->key);
        fputc(':', x->w->out);
        if (m->kind == RTM_TM_STRING) {
            rtm_esc_json(x->w->out, m->str);
        } else if (m->kind == RTM_TM_INT) {
            fprintf(x->w->out, "%" PRId64, m->i);
        } else {
            fprintf(x->w->out, "%" PRIu64, m->u);
        }
    }
}

static void counter(chrome_input_t *x, uint64_t ts, const char *what, const char *name,
                    const char *metric, const char *key, uint64_t value)
{
    char track[TRACK_NAME_MAX + 32u];
    (void)snprintf(track, sizeof track, "%s %s %s", what, name, metric);
    rtm_chrome_counter(x->w, x->pid, ts, track, key, value > INT64_MAX ? INT64_MAX : (int64_t)value);
}

static int telemetry_line(chrome_input_t *x)
{
    const rtm_tm_line_t *t = &x->tm;
    char err[RTM_TM_ERR_MAX];
    char name[TRACK_NAME_MAX + 64u];
    x->counts.telemetry++;
    if (t->type == RTM_TM_TRACE) {
        const char *line = rtm_tm_trace_text(t);
        if (line == NULL) {
            return input_fail(x, "telemetry trace line without a \"line\" string");
        }
        return trace_line(x, line, true, t->ms);
    }
    if (t->type == RTM_TM_OTHER) {
        return 0;
    }
    uint64_t ts = device_time(x, t->ms);
    switch (t->type) {
    case RTM_TM_MEM: {
        rtm_tm_mem_t m;
        if (!rtm_tm_mem(t, &m, err, sizeof err)) {
            return input_fail(x, "%s", err);
        }
        counter(x, ts, "mem", m.name, "free", "bytes", m.free);
        counter(x, ts, "mem", m.name, "min_free", "bytes", m.min_free);
        counter(x, ts, "mem", m.name, "largest", "bytes", m.largest);
        counter(x, ts, "mem", m.name, "frag", "per_mille", m.frag_pm);
        return 0;
    }
    case RTM_TM_POOL: {
        rtm_tm_pool_t p;
        if (!rtm_tm_pool(t, &p, err, sizeof err)) {
            return input_fail(x, "%s", err);
        }
        counter(x, ts, "pool", p.name, "used", "blocks", p.used);
        return 0;
    }
    case RTM_TM_TASK: {
        rtm_tm_task_t k;
        if (!rtm_tm_task(t, &k, err, sizeof err)) {
            return input_fail(x, "%s", err);
        }
        if (k.has_heap) {
            counter(x, ts, "task", k.name, "heap", "bytes", k.heap);
        }
        if (k.has_stack) {
            counter(x, ts, "task", k.name, "stack_peak", "bytes", k.stack_peak);
        }
        return 0;
    }
    case RTM_TM_ALERT: {
        rtm_tm_alert_t a;
        if (!rtm_tm_alert(t, &a, err, sizeof err)) {
            return input_fail(x, "%s", err);
        }
        (void)snprintf(name, sizeof name, "alert %s %s %s", a.alert,
                       a.raised ? "raised" : "cleared", a.source);
        break;
    }
    case RTM_TM_REC: {
        rtm_tm_rec_t r;
        if (!rtm_tm_rec(t, &r, err, sizeof err)) {
            return input_fail(x, "%s", err);
        }
        (void)snprintf(name, sizeof name, "rec %s %s", r.rule, r.source);
        break;
    }
    default:
        return 0;
    }
    instant_start(x->w, x->pid, ts, name);
    member_args(x, t);
    instant_end(x->w);
    return 0;
}

static int one_line(chrome_input_t *x, size_t len)
{
    const char *text = x->lines.text;
    char err[RTM_TM_ERR_MAX];
    int tm = rtm_tm_parse(text, len, &x->tm, err, sizeof err);
    if (tm < 0) {
        return reject(x, err);
    }
    if (tm > 0) {
        return telemetry_line(x);
    }
    if (strncmp(text, "# rtmem-trace ", 14) == 0) {
        /* the trace reader tells a header ("1", or a version it refuses,
         * "-1" too) from a comment ("# rtmem-trace overflow ...") */
        rtm_trace_event_t ev;
        if (rtm_trace_parse_line(text, len, &ev, err, sizeof err) < 0) {
            return reject(x, err);
        }
        x->trace_header = x->trace_header || (text[14] >= '0' && text[14] <= '9');
        return 0;
    }
    if (x->trace_header && rtm_trace_looks_like_event(text)) {
        return trace_line(x, text, false, 0);
    }
    if (text[0] == '#') {
        return 0; /* a comment */
    }
    x->counts.log_lines++;
    return skip(x, "not telemetry and not an rtmem trace line");
}

int rtm_chrome_read(rtm_chrome_t *w, FILE *in, const char *name, unsigned pid, bool lenient,
                    rtm_chrome_counts_t *counts, char *err, size_t errlen)
{
    if (counts != NULL) {
        memset(counts, 0, sizeof *counts);
    }
    chrome_input_t *x = calloc(1, sizeof *x);
    if (x == NULL) {
        (void)snprintf(err, errlen, "%s: out of memory", name);
        return -1;
    }
    x->w = w;
    x->pid = pid;
    x->lenient = lenient;
    rtm_xclock_init(&x->clock);
    rtm_line_reader_init(&x->lines, in, name);
    rtm_idmap_init(&x->ids);
    rtm_chrome_meta(w, "process_name", pid, pid, name);
    rtm_chrome_meta(w, "thread_name", pid, pid, "rtmem");
    int rc = 0;
    for (;;) {
        size_t len;
        int got = rtm_line_next(&x->lines, &len);
        if (got < 0) {
            memcpy(x->err, x->lines.err, sizeof x->err);
            rc = -1;
            break;
        }
        if (got == 0) {
            break;
        }
        x->counts.lines++;
        if (one_line(x, len) != 0) {
            rc = -1;
            break;
        }
    }
    if (rc != 0) {
        (void)snprintf(err, errlen, "%s", x->err);
    }
    if (counts != NULL) {
        *counts = x->counts;
    }
    while (x->owners != NULL) {
        owner_t *next = x->owners->next;
        free(x->owners);
        x->owners = next;
    }
    rtm_idmap_free(&x->ids);
    free(x->tracks);
    free(x->index);
    free(x);
    return rc;
}
