/* Reader of rtmem telemetry version 1 (telemetry.h, docs/formats.md). */
#include "telemetry.h"

#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"

static const char tm_prefix[] = "{\"rtmem\":";
#define TM_PREFIX_LEN (sizeof tm_prefix - 1u)

static const char *const tm_type_names[] = {"mem", "pool", "task", "alert", "rec", "trace"};
/* rtm_alert_kind_t's names (monitor.h), kept here so that the reader needs
 * no monitor code (the fuzz build links the core only); the unit test
 * holds the two lists equal. */
static const char *const tm_alert_names[] = {"low_free",   "low_min_free", "block_too_small",
                                             "fragmented", "leak_trend",   "stack_high",
                                             "pool_exhausted"};

/* The parser's cursor over one line and the decoded text being built. */
typedef struct tm_cursor {
    const char *p, *end;
    rtm_tm_line_t *out;
    size_t used; /* bytes of out->text taken */
    char *err;
    size_t errlen;
} tm_cursor_t;

#if defined(__GNUC__)
__attribute__((format(printf, 3, 4)))
#endif
static int tm_fail(char *err, size_t errlen, const char *fmt, ...)
{
    if (err != NULL && errlen > 0) {
        va_list ap;
        va_start(ap, fmt);
        vsnprintf(err, errlen, fmt, ap);
        va_end(ap);
    }
    return -1;
}

static bool tm_eat(tm_cursor_t *c, char ch)
{
    if (c->p < c->end && *c->p == ch) {
        c->p++;
        return true;
    }
    return false;
}

/* A JSON string at the cursor, decoded into out->text. Bytes >= 0x80 pass
 * unchanged (the writer passes UTF-8 through); \u00XX may only name ASCII
 * because the writer escapes nothing else, and \u0000 would cut the C
 * string the reader hands out. */
static int tm_string(tm_cursor_t *c, const char **s, size_t *slen)
{
    if (!tm_eat(c, '"')) {
        return tm_fail(c->err, c->errlen, c->p >= c->end ? "line cut off where a string starts"
                                                         : "expected a string");
    }
    char *dst = c->out->text + c->used;
    size_t room = RTM_TM_TEXT_MAX - c->used;
    size_t n = 0;
    for (;;) {
        if (c->p >= c->end) {
            return tm_fail(c->err, c->errlen, "unterminated string (line cut off?)");
        }
        unsigned char ch = (unsigned char)*c->p++;
        if (ch == '"') {
            break;
        }
        if (ch < 0x20u) {
            return tm_fail(c->err, c->errlen, "control byte 0x%02x in a string", ch);
        }
        if (ch == '\\') {
            if (c->p >= c->end) {
                return tm_fail(c->err, c->errlen, "unterminated string (line cut off?)");
            }
            char e = *c->p++;
            if (e == 'u') {
                int h[4];
                for (int i = 0; i < 4; i++) {
                    h[i] = c->p + i < c->end ? rtm_hex_digit(c->p[i]) : -1;
                }
                if (h[0] != 0 || h[1] != 0 || h[2] < 0 || h[2] > 7 || h[3] < 0) {
                    return tm_fail(c->err, c->errlen, "escape other than \\u0001-\\u007f");
                }
                ch = (unsigned char)(h[2] * 16 + h[3]);
                if (ch == 0) {
                    return tm_fail(c->err, c->errlen, "\\u0000 in a string");
                }
                c->p += 4;
            } else if (e == '"' || e == '\\' || e == '/') {
                ch = (unsigned char)e;
            } else {
                return tm_fail(c->err, c->errlen, "bad escape in a string");
            }
        }
        if (n + 1u >= room) {
            return tm_fail(c->err, c->errlen, "line too long");
        }
        dst[n++] = (char)ch;
    }
    dst[n] = '\0';
    c->used += n + 1u;
    *s = dst;
    *slen = n;
    return 0;
}

/* uint = "0" | [1-9] *DIGIT, fitting 64 bits. */
static int tm_uint(tm_cursor_t *c, uint64_t *v)
{
    if (c->p >= c->end || *c->p < '0' || *c->p > '9') {
        return tm_fail(c->err, c->errlen, "expected a number");
    }
    if (*c->p == '0' && c->p + 1 < c->end && c->p[1] >= '0' && c->p[1] <= '9') {
        return tm_fail(c->err, c->errlen, "number with a leading zero");
    }
    uint64_t x = 0;
    bool over = false;
    c->p += rtm_parse_u64(c->p, (size_t)(c->end - c->p), &x, &over);
    if (over) {
        return tm_fail(c->err, c->errlen, "number does not fit 64 bits");
    }
    if (c->p < c->end && (*c->p == '.' || *c->p == 'e' || *c->p == 'E')) {
        return tm_fail(c->err, c->errlen, "floating-point number (telemetry has integers only)");
    }
    *v = x;
    return 0;
}

static int tm_value(tm_cursor_t *c, rtm_tm_member_t *m)
{
    m->u = 0;
    m->i = 0;
    m->str = NULL;
    m->str_len = 0;
    if (c->p < c->end && *c->p == '"') {
        m->kind = RTM_TM_STRING;
        return tm_string(c, &m->str, &m->str_len);
    }
    bool negative = tm_eat(c, '-');
    uint64_t x = 0; /* gcc 12 -O2 sees a path where tm_uint leaves it unset */
    if (tm_uint(c, &x) != 0) {
        return -1;
    }
    if (!negative) {
        m->kind = RTM_TM_UINT;
        m->u = x;
        m->i = x <= (uint64_t)INT64_MAX ? (int64_t)x : 0;
        return 0;
    }
    if (x == 0) {
        return tm_fail(c->err, c->errlen, "\"-0\" is not a telemetry number");
    }
    if (x > (uint64_t)INT64_MAX + 1u) {
        return tm_fail(c->err, c->errlen, "number does not fit 64 bits");
    }
    m->kind = RTM_TM_INT;
    /* -(x - 1) - 1 reaches INT64_MIN without overflowing. */
    m->i = -(int64_t)(x - 1u) - 1;
    return 0;
}

static rtm_tm_type_t tm_type_of(const char *name)
{
    for (size_t i = 0; i < sizeof tm_type_names / sizeof tm_type_names[0]; i++) {
        if (strcmp(name, tm_type_names[i]) == 0) {
            return (rtm_tm_type_t)i;
        }
    }
    return RTM_TM_OTHER;
}

/* Offset of the first {"rtmem": in line[0..len), or len when none. */
static size_t tm_locate(const char *line, size_t len)
{
    for (size_t i = 0; i + TM_PREFIX_LEN <= len; i++) {
        const char *q = memchr(line + i, '{', len - i);
        if (q == NULL) {
            break;
        }
        i = (size_t)(q - line);
        if (i + TM_PREFIX_LEN <= len && memcmp(q, tm_prefix, TM_PREFIX_LEN) == 0) {
            return i;
        }
    }
    return len;
}

int rtm_tm_parse(const char *line, size_t len, rtm_tm_line_t *out, char *err, size_t errlen)
{
    while (len > 0 && (line[len - 1] == '\r' || line[len - 1] == ' ' || line[len - 1] == '\t')) {
        len--;
    }
    size_t at = tm_locate(line, len);
    if (at == len) {
        return 0;
    }
    memset(out, 0, offsetof(rtm_tm_line_t, text));
    out->prefix_len = at;
    tm_cursor_t c = {line + at + 1u, line + len, out, 0, err, errlen};
    bool have_type = false, have_ms = false;
    for (;;) {
        if (out->count == RTM_TM_MEMBER_MAX) {
            return tm_fail(err, errlen, "more than %u members", RTM_TM_MEMBER_MAX);
        }
        rtm_tm_member_t *m = &out->members[out->count];
        size_t klen;
        if (tm_string(&c, &m->key, &klen) != 0) {
            return -1;
        }
        if (!tm_eat(&c, ':')) {
            return tm_fail(err, errlen, "expected ':' after \"%s\"", m->key);
        }
        if (tm_value(&c, m) != 0) {
            return -1;
        }
        for (size_t i = 0; i < out->count; i++) {
            if (strcmp(out->members[i].key, m->key) == 0) {
                return tm_fail(err, errlen, "key \"%s\" twice", m->key);
            }
        }
        out->count++;
        if (out->count == 1u) {
            if (m->kind != RTM_TM_UINT || m->u != RTM_TM_VERSION) {
                return tm_fail(err, errlen, "telemetry version other than %d (this reader knows %d)",
                               RTM_TM_VERSION, RTM_TM_VERSION);
            }
        } else if (strcmp(m->key, "type") == 0) {
            if (m->kind != RTM_TM_STRING) {
                return tm_fail(err, errlen, "\"type\" is not a string");
            }
            out->type_name = m->str;
            out->type = tm_type_of(m->str);
            have_type = true;
        } else if (strcmp(m->key, "ms") == 0) {
            if (m->kind != RTM_TM_UINT) {
                return tm_fail(err, errlen, "\"ms\" is not an unsigned number");
            }
            out->ms = m->u;
            have_ms = true;
        }
        if (tm_eat(&c, ',')) {
            continue;
        }
        if (tm_eat(&c, '}')) {
            break;
        }
        return tm_fail(err, errlen, c.p >= c.end ? "line cut off before '}'"
                                                 : "expected ',' or '}' after a value");
    }
    if (c.p != c.end) {
        return tm_fail(err, errlen, "text after the closing '}'");
    }
    if (!have_type || !have_ms) {
        return tm_fail(err, errlen, "telemetry without \"%s\"", have_type ? "ms" : "type");
    }
    return 1;
}

const rtm_tm_member_t *rtm_tm_find(const rtm_tm_line_t *t, const char *key)
{
    for (size_t i = 0; i < t->count; i++) {
        if (strcmp(t->members[i].key, key) == 0) {
            return &t->members[i];
        }
    }
    return NULL;
}

bool rtm_tm_u64(const rtm_tm_line_t *t, const char *key, uint64_t *out)
{
    const rtm_tm_member_t *m = rtm_tm_find(t, key);
    if (m == NULL || m->kind != RTM_TM_UINT) {
        return false;
    }
    *out = m->u;
    return true;
}

bool rtm_tm_i64(const rtm_tm_line_t *t, const char *key, int64_t *out)
{
    const rtm_tm_member_t *m = rtm_tm_find(t, key);
    if (m == NULL || m->kind == RTM_TM_STRING ||
        (m->kind == RTM_TM_UINT && m->u > (uint64_t)INT64_MAX)) {
        return false;
    }
    *out = m->i;
    return true;
}

const char *rtm_tm_str(const rtm_tm_line_t *t, const char *key)
{
    const rtm_tm_member_t *m = rtm_tm_find(t, key);
    return m != NULL && m->kind == RTM_TM_STRING ? m->str : NULL;
}

/* Checks of the typed views: each records the first problem in err. */
typedef struct tm_view {
    const rtm_tm_line_t *t;
    const char *type;
    bool ok;
    char *err;
    size_t errlen;
} tm_view_t;

static void tm_missing(tm_view_t *v, const char *key, const char *what)
{
    if (v->ok) {
        tm_fail(v->err, v->errlen, "%s line without %s \"%s\"", v->type, what, key);
        v->ok = false;
    }
}

static uint64_t tm_need_u64(tm_view_t *v, const char *key)
{
    uint64_t x = 0;
    if (!rtm_tm_u64(v->t, key, &x)) {
        tm_missing(v, key, "the unsigned number");
    }
    return x;
}

static int64_t tm_need_i64(tm_view_t *v, const char *key)
{
    int64_t x = 0;
    if (!rtm_tm_i64(v->t, key, &x)) {
        tm_missing(v, key, "the number");
    }
    return x;
}

/* Copies the string member key into dst[cap], cut at a UTF-8 boundary. */
static void tm_need_str(tm_view_t *v, const char *key, char *dst, size_t cap)
{
    const rtm_tm_member_t *m = rtm_tm_find(v->t, key);
    dst[0] = '\0';
    if (m == NULL || m->kind != RTM_TM_STRING) {
        tm_missing(v, key, "the string");
        return;
    }
    size_t n = 0;
    while (n < m->str_len) {
        size_t step = rtm_utf8_seq_len((const unsigned char *)m->str + n, m->str_len - n);
        if (step == 0) {
            step = 1; /* an invalid byte is kept alone; escaping happens on output */
        }
        if (n + step >= cap) {
            break;
        }
        n += step;
    }
    memcpy(dst, m->str, n);
    dst[n] = '\0';
}

/* An optional pair of unsigned members: present only together. */
static bool tm_opt_pair(tm_view_t *v, const char *a, const char *b, uint64_t *va, uint64_t *vb)
{
    bool has_a = rtm_tm_find(v->t, a) != NULL;
    bool has_b = rtm_tm_find(v->t, b) != NULL;
    if (!has_a && !has_b) {
        *va = 0;
        *vb = 0;
        return false;
    }
    *va = tm_need_u64(v, a);
    *vb = tm_need_u64(v, b);
    return v->ok;
}

static bool tm_view_start(tm_view_t *v, const rtm_tm_line_t *t, rtm_tm_type_t type, char *err,
                          size_t errlen)
{
    v->t = t;
    v->type = tm_type_names[type];
    v->ok = true;
    v->err = err;
    v->errlen = errlen;
    if (t->type != type) {
        tm_fail(err, errlen, "a %s line read as %s", t->type_name != NULL ? t->type_name : "?",
                v->type);
        v->ok = false;
    }
    return v->ok;
}

bool rtm_tm_mem(const rtm_tm_line_t *t, rtm_tm_mem_t *out, char *err, size_t errlen)
{
    tm_view_t v;
    memset(out, 0, sizeof *out);
    if (!tm_view_start(&v, t, RTM_TM_MEM, err, errlen)) {
        return false;
    }
    out->ms = t->ms;
    out->seq = tm_need_u64(&v, "seq");
    tm_need_str(&v, "name", out->name, sizeof out->name);
    tm_need_str(&v, "kind", out->kind, sizeof out->kind);
    out->total = tm_need_u64(&v, "total");
    out->free = tm_need_u64(&v, "free");
    out->min_free = tm_need_u64(&v, "min_free");
    out->largest = tm_need_u64(&v, "largest");
    out->used_blocks = tm_need_u64(&v, "used_blocks");
    out->free_blocks = tm_need_u64(&v, "free_blocks");
    out->failed = tm_need_u64(&v, "failed");
    out->frag_pm = tm_need_u64(&v, "frag_pm");
    if (rtm_tm_find(t, "trend_bpm") != NULL) {
        out->trend_bpm = tm_need_i64(&v, "trend_bpm");
        out->has_trend = v.ok;
    }
    out->alerts = tm_need_u64(&v, "alerts");
    return v.ok;
}

bool rtm_tm_pool(const rtm_tm_line_t *t, rtm_tm_pool_t *out, char *err, size_t errlen)
{
    tm_view_t v;
    memset(out, 0, sizeof *out);
    if (!tm_view_start(&v, t, RTM_TM_POOL, err, errlen)) {
        return false;
    }
    out->ms = t->ms;
    out->seq = tm_need_u64(&v, "seq");
    tm_need_str(&v, "name", out->name, sizeof out->name);
    out->block = tm_need_u64(&v, "block");
    out->capacity = tm_need_u64(&v, "capacity");
    out->used = tm_need_u64(&v, "used");
    out->peak = tm_need_u64(&v, "peak");
    out->failed = tm_need_u64(&v, "failed");
    out->waits = tm_need_u64(&v, "waits");
    out->alerts = tm_need_u64(&v, "alerts");
    return v.ok;
}

bool rtm_tm_task(const rtm_tm_line_t *t, rtm_tm_task_t *out, char *err, size_t errlen)
{
    tm_view_t v;
    memset(out, 0, sizeof *out);
    if (!tm_view_start(&v, t, RTM_TM_TASK, err, errlen)) {
        return false;
    }
    out->ms = t->ms;
    out->seq = tm_need_u64(&v, "seq");
    tm_need_str(&v, "name", out->name, sizeof out->name);
    out->id = tm_need_u64(&v, "id");
    out->has_heap = tm_opt_pair(&v, "heap", "heap_peak", &out->heap, &out->heap_peak);
    out->has_stack = tm_opt_pair(&v, "stack_size", "stack_peak", &out->stack_size,
                                 &out->stack_peak);
    out->alerts = tm_need_u64(&v, "alerts");
    return v.ok;
}

bool rtm_tm_alert(const rtm_tm_line_t *t, rtm_tm_alert_t *out, char *err, size_t errlen)
{
    tm_view_t v;
    memset(out, 0, sizeof *out);
    if (!tm_view_start(&v, t, RTM_TM_ALERT, err, errlen)) {
        return false;
    }
    out->ms = t->ms;
    tm_need_str(&v, "alert", out->alert, sizeof out->alert);
    const char *state = rtm_tm_str(t, "state");
    if (state == NULL) {
        tm_missing(&v, "state", "the string");
    } else if (strcmp(state, "raised") == 0) {
        out->raised = true;
    } else if (strcmp(state, "cleared") != 0 && v.ok) {
        tm_fail(err, errlen, "alert line with a state other than \"raised\" or \"cleared\"");
        v.ok = false;
    }
    tm_need_str(&v, "source", out->source, sizeof out->source);
    out->value = tm_need_i64(&v, "value");
    out->threshold = tm_need_i64(&v, "threshold");
    return v.ok;
}

bool rtm_tm_rec(const rtm_tm_line_t *t, rtm_tm_rec_t *out, char *err, size_t errlen)
{
    tm_view_t v;
    memset(out, 0, sizeof *out);
    if (!tm_view_start(&v, t, RTM_TM_REC, err, errlen)) {
        return false;
    }
    out->ms = t->ms;
    tm_need_str(&v, "rule", out->rule, sizeof out->rule);
    tm_need_str(&v, "source", out->source, sizeof out->source);
    out->text = rtm_tm_str(t, "text");
    if (out->text == NULL) {
        tm_missing(&v, "text", "the string");
    }
    return v.ok;
}

const char *rtm_tm_trace_text(const rtm_tm_line_t *t)
{
    return t->type == RTM_TM_TRACE ? rtm_tm_str(t, "line") : NULL;
}

const char *rtm_tm_alert_name(unsigned bit)
{
    return bit < sizeof tm_alert_names / sizeof tm_alert_names[0] ? tm_alert_names[bit] : NULL;
}
