/* Streaming reader of rtmem-trace 1: see trace_reader.h. */
#define _POSIX_C_SOURCE 200809L
#include "trace_reader.h"

#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "telemetry.h"

/* ------------------------------------------------------------------ */
/* Line parser                                                         */

static int fail(char *err, size_t errlen, const char *fmt, ...)
{
    va_list ap;
    va_start(ap, fmt);
    (void)vsnprintf(err, errlen, fmt, ap);
    va_end(ap);
    return -1;
}

static bool is_id_char(char c)
{
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_';
}

/* One token: [p, end) up to the next space. */
typedef struct tok {
    const char *p;
    size_t n;
} tok_t;

static bool next_tok(const char **cur, const char *end, tok_t *t)
{
    const char *p = *cur;
    if (p >= end) {
        return false;
    }
    const char *q = p;
    while (q < end && *q != ' ') {
        q++;
    }
    t->p = p;
    t->n = (size_t)(q - p);
    *cur = q < end ? q + 1 : q; /* past exactly one space */
    return true;
}

static int parse_id(const tok_t *t, char *out, const char *what, char *err, size_t errlen)
{
    if (t->n == 0) {
        return fail(err, errlen, "empty %s (two spaces?)", what);
    }
    if (t->n > RTM_TRACE_ID_MAX) {
        return fail(err, errlen, "%s longer than %u characters", what, RTM_TRACE_ID_MAX);
    }
    for (size_t i = 0; i < t->n; i++) {
        if (!is_id_char(t->p[i])) {
            return fail(err, errlen, "%s '%.*s' has a character other than A-Z a-z 0-9 _", what,
                        (int)t->n, t->p);
        }
    }
    memcpy(out, t->p, t->n);
    out[t->n] = '\0';
    return 0;
}

static int parse_num(const tok_t *t, uint64_t *out, const char *what, char *err, size_t errlen)
{
    if (t->n == 0) {
        return fail(err, errlen, "empty %s (two spaces?)", what);
    }
    uint64_t v = 0;
    bool over = false;
    size_t digits = rtm_parse_u64(t->p, t->n, &v, &over);
    /* an overflow comes before any byte that is not a digit: "too large" */
    if (over) {
        return fail(err, errlen, "%s '%.*s' is too large", what, (int)t->n, t->p);
    }
    if (digits != t->n) {
        return fail(err, errlen, "%s '%.*s' is not a decimal number", what, (int)t->n, t->p);
    }
    *out = v;
    return 0;
}

/* The value of caps= (docs/formats.md): "0x" or "0X" and hex digits to the
 * end of the value, leading zeros allowed, at most 64 bits. Once per line:
 * two values would leave which one counts to the order of the fields. */
static int parse_caps(const tok_t *t, const char *v, size_t vlen, rtm_trace_event_t *ev,
                      char *err, size_t errlen)
{
    if (ev->has_caps) {
        return fail(err, errlen, "field '%.*s' gives caps a second time", (int)t->n, t->p);
    }
    if (vlen < 3 || v[0] != '0' || (v[1] != 'x' && v[1] != 'X')) {
        return fail(err, errlen, "caps value '%.*s' is not 0x and hex digits", (int)vlen, v);
    }
    uint64_t c = 0;
    bool over = false;
    size_t digits = rtm_parse_hex_u64(v + 2, vlen - 2u, &c, &over);
    /* as for decimals: an overflow comes before any byte that is not a digit */
    if (over) {
        return fail(err, errlen, "caps value '%.*s' is too large (over 64 bits)", (int)vlen, v);
    }
    if (digits != vlen - 2u) {
        return fail(err, errlen, "caps value '%.*s' is not hex", (int)vlen, v);
    }
    ev->has_caps = true;
    ev->caps = c;
    return 0;
}

/* The value of t= or seq= (docs/formats.md): decimal digits, at most 64
 * bits, once per line (two would make the order of the fields count). */
static int parse_number_field(const char *key, const char *v, size_t vlen, bool *has,
                              uint64_t *out, char *err, size_t errlen)
{
    if (*has) {
        return fail(err, errlen, "field '%s=%.*s' gives %s a second time", key, (int)vlen, v,
                    key);
    }
    uint64_t n = 0;
    bool over = false;
    size_t digits = rtm_parse_u64(v, vlen, &n, &over);
    if (over) {
        return fail(err, errlen, "%s value '%.*s' is too large (over 64 bits)", key, (int)vlen, v);
    }
    if (digits != vlen) {
        return fail(err, errlen, "%s value '%.*s' is not a decimal number", key, (int)vlen, v);
    }
    *has = true;
    *out = n;
    return 0;
}

/* The value of caller= (docs/formats.md): addresses "0x" and hex digits,
 * each at most 64 bits, joined by ':'. */
static int parse_caller(const char *v, size_t vlen, char *err, size_t errlen)
{
    size_t at = 0;
    for (;;) {
        if (vlen - at < 3u || v[at] != '0' || (v[at + 1u] != 'x' && v[at + 1u] != 'X')) {
            break;
        }
        uint64_t a = 0;
        bool over = false;
        size_t digits = rtm_parse_hex_u64(v + at + 2u, vlen - at - 2u, &a, &over);
        if (over) {
            return fail(err, errlen, "caller value '%.*s' has an address over 64 bits", (int)vlen,
                        v);
        }
        if (digits == 0) {
            break;
        }
        at += 2u + digits;
        if (at == vlen) {
            return 0;
        }
        if (v[at] != ':') {
            break;
        }
        at++;
    }
    return fail(err, errlen, "caller value '%.*s' is not 0x addresses joined by ':'", (int)vlen,
                v);
}

/* The other keys rtmem writes: each at most once per line, as t=, seq=
 * and caps=. With two, which one counts was left to each command: leaks
 * and export --format folded took the last heap=, task= and site= (and
 * joined two caller= lists), export --format chrome the first. */
static const char *const once_keys[] = {"task", "heap", "site", "caller"};

static int check_once(const char *key, size_t klen, const char *v, size_t vlen, unsigned *seen,
                      char *err, size_t errlen)
{
    for (unsigned i = 0; i < sizeof once_keys / sizeof once_keys[0]; i++) {
        if (strlen(once_keys[i]) == klen && memcmp(once_keys[i], key, klen) == 0) {
            if ((*seen & (1u << i)) != 0) {
                return fail(err, errlen, "field '%.*s=%.*s' gives %s a second time", (int)klen,
                            key, (int)vlen, v, once_keys[i]);
            }
            *seen |= 1u << i;
        }
    }
    return 0;
}

/* A name is a C string wherever it is read (leaks, export, report): %00
 * would end it there, so "task=%00" read as no task at all and
 * "task=ab%00cd" as "ab". No writer puts a NUL in a name (the device's
 * names are C strings): the field is damage, refused like any other. */
static int check_name(const char *key, size_t klen, const char *v, size_t vlen, char *err,
                      size_t errlen)
{
    static const char *const names[] = {"task", "heap", "site"};
    bool is_name = false;
    for (size_t i = 0; i < sizeof names / sizeof names[0]; i++) {
        is_name = is_name || (strlen(names[i]) == klen && memcmp(names[i], key, klen) == 0);
    }
    for (size_t at = 0; is_name && at < vlen;) {
        unsigned char b;
        at += rtm_pct_step(v + at, vlen - at, &b);
        if (b == 0) {
            return fail(err, errlen, "a NUL byte (%%00) in the name '%.*s=%.*s'", (int)klen,
                        key, (int)vlen, v);
        }
    }
    return 0;
}

/* key=value; caps=, t=, seq= and caller= are decoded or checked. */
static int parse_field(const tok_t *t, rtm_trace_event_t *ev, unsigned *seen, char *err,
                       size_t errlen)
{
    const char *eq = memchr(t->p, '=', t->n);
    if (t->n == 0) {
        return fail(err, errlen, "empty field (two spaces or a space at the end?)");
    }
    if (eq == NULL) {
        return fail(err, errlen, "field '%.*s' is not key=value", (int)t->n, t->p);
    }
    size_t klen = (size_t)(eq - t->p);
    size_t vlen = t->n - klen - 1u;
    if (klen == 0 || vlen == 0) {
        return fail(err, errlen, "field '%.*s' has an empty key or value", (int)t->n, t->p);
    }
    for (size_t i = 0; i < klen; i++) {
        if (!is_id_char(t->p[i])) {
            return fail(err, errlen, "field key '%.*s' is not A-Z a-z 0-9 _", (int)klen, t->p);
        }
    }
    for (size_t i = 0; i < vlen; i++) {
        char c = eq[1 + i];
        if (c == '=' || c == '#') {
            return fail(err, errlen, "field '%.*s' has '%c' in its value", (int)t->n, t->p, c);
        }
    }
    if (check_once(t->p, klen, eq + 1, vlen, seen, err, errlen) != 0 ||
        check_name(t->p, klen, eq + 1, vlen, err, errlen) != 0) {
        return -1;
    }
    if (klen == 4 && memcmp(t->p, "caps", 4) == 0) {
        return parse_caps(t, eq + 1, vlen, ev, err, errlen);
    }
    if (klen == 1 && t->p[0] == 't') {
        return parse_number_field("t", eq + 1, vlen, &ev->has_time, &ev->time, err, errlen);
    }
    if (klen == 3 && memcmp(t->p, "seq", 3) == 0) {
        return parse_number_field("seq", eq + 1, vlen, &ev->has_seq, &ev->seq, err, errlen);
    }
    if (klen == 6 && memcmp(t->p, "caller", 6) == 0) {
        return parse_caller(eq + 1, vlen, err, errlen);
    }
    return 0;
}

static int parse_header(const char *line, size_t len, char *err, size_t errlen)
{
    static const char tag[] = "# rtmem-trace ";
    size_t tl = sizeof tag - 1u;
    if (len < tl || memcmp(line, tag, tl) != 0) {
        return 0;
    }
    const char *p = line + tl;
    const char *end = line + len;
    /* a signed number is a version too (one that never existed), not a
     * comment that would let a command read on without a header */
    if (p < end && (*p == '-' || *p == '+') && p + 1 < end && p[1] >= '0' && p[1] <= '9') {
        size_t n = 1u;
        while (p + n < end && p[n] >= '0' && p[n] <= '9') {
            n++;
        }
        return fail(err, errlen, "trace format version %.*s%s; this reader knows version 1",
                    n > 24u ? 24 : (int)n, p, n > 24u ? "..." : "");
    }
    if (p >= end || *p < '0' || *p > '9') {
        return 0; /* "# rtmem-trace overflow ..." and similar comments */
    }
    const char *digits = p;
    while (p < end && *p >= '0' && *p <= '9') {
        p++;
    }
    size_t ndigits = (size_t)(p - digits);
    size_t zeros = 0; /* leading zeros are fine, as in every number */
    while (zeros + 1u < ndigits && digits[zeros] == '0') {
        zeros++;
    }
    if (ndigits - zeros != 1u || digits[zeros] != '1') {
        /* quoted as written: a number of any length, no conversion to wrap */
        return fail(err, errlen, "trace format version %.*s%s; this reader knows version 1",
                    ndigits > 24u ? 24 : (int)ndigits, digits, ndigits > 24u ? "..." : "");
    }
    return 0;
}

static int parse_plain_line(const char *line, size_t len, rtm_trace_event_t *ev, char *err,
                            size_t errlen);

int rtm_telemetry_trace_line(const char *line, size_t len, char *out, size_t outlen, char *err,
                             size_t errlen)
{
    static const char prefix[] = "{\"rtmem\":";
    size_t pl = sizeof prefix - 1u;
    if (len < pl || memcmp(line, prefix, pl) != 0) {
        return fail(err, errlen, "a line starting with '{' must be telemetry ({\"rtmem\":...)");
    }
    /* The whole line through the one telemetry reader of report, top and
     * export (telemetry.h), so that every command refuses the same lines:
     * a scan for the "line" string alone took lines cut before '}', with
     * text after it, a key twice or a float, and skipped a trace line with
     * a space after a ',' as if it were of another type. */
    rtm_tm_line_t tm;
    if (rtm_tm_parse(line, len, &tm, err, errlen) < 0) {
        return -1;
    }
    if (tm.type != RTM_TM_TRACE) {
        return 0;
    }
    const rtm_tm_member_t *m = rtm_tm_find(&tm, "line");
    if (m == NULL || m->kind != RTM_TM_STRING) {
        return fail(err, errlen, "telemetry trace line without a \"line\" string");
    }
    if (memchr(m->str, '\n', m->str_len) != NULL || m->str_len >= outlen ||
        m->str_len > (size_t)INT32_MAX) {
        return fail(err, errlen, "telemetry trace line too long or with a newline");
    }
    memcpy(out, m->str, m->str_len + 1u);
    return (int)m->str_len;
}

bool rtm_trace_looks_like_event(const char *line)
{
    if (strncmp(line, "\xef\xbb\xbf", 3) == 0) {
        line += 3;
    }
    return (line[0] == 'a' || line[0] == 'A' || line[0] == 'r' || line[0] == 'f') &&
           (line[1] == ' ' || line[1] == '\t' || line[1] == '\0');
}

int rtm_trace_parse_line(const char *line, size_t len, rtm_trace_event_t *ev, char *err,
                         size_t errlen)
{
    if (len > 0 && line[0] == '{') {
        /* A telemetry file, or a log mixing both: the trace lines inside
         * telemetry are read like plain ones (but never nest). */
        char inner[RTM_TRACE_LINE_MAX + 1u];
        int n = rtm_telemetry_trace_line(line, len, inner, sizeof inner, err, errlen);
        if (n <= 0) {
            return n;
        }
        return parse_plain_line(inner, (size_t)n, ev, err, errlen);
    }
    return parse_plain_line(line, len, ev, err, errlen);
}

static int parse_plain_line(const char *line, size_t len, rtm_trace_event_t *ev, char *err,
                            size_t errlen)
{
    if (len > 0 && line[len - 1] == '\r') {
        len--;
    }
    size_t blanks = 0;
    while (blanks < len && (line[blanks] == ' ' || line[blanks] == '\t')) {
        blanks++;
    }
    if (blanks == len) {
        return 0; /* a blank line, also one of spaces and tabs */
    }
    if (line[0] == '#') {
        return parse_header(line, len, err, errlen);
    }
    if (memchr(line, '\0', len) != NULL) {
        return fail(err, errlen, "NUL byte in line");
    }
    memset(ev, 0, sizeof *ev);
    const char *end = line + len;
    /* A line ending in "..." was cut by the writer: keep its required part. */
    bool damaged = len >= 3 && memcmp(end - 3, "...", 3) == 0;
    const char *cur = line;
    tok_t op = {line, 0};
    tok_t t = {line, 0};
    (void)next_tok(&cur, end, &op);
    if (op.n != 1 || (op.p[0] != 'a' && op.p[0] != 'A' && op.p[0] != 'r' && op.p[0] != 'f')) {
        return fail(err, errlen, "unknown event '%.*s' (expected a, A, r, f or #)",
                    (int)(op.n > 20 ? 20 : op.n), op.p);
    }
    ev->kind = (rtm_trace_kind_t)op.p[0];
    switch (ev->kind) {
    case RTM_TRACE_ALLOC:
    case RTM_TRACE_ALIGNED:
        if (!next_tok(&cur, end, &t)) {
            return fail(err, errlen, "'%c' needs an ID", op.p[0]);
        }
        if (parse_id(&t, ev->id, "ID", err, errlen) != 0) {
            return -1;
        }
        if (!next_tok(&cur, end, &t)) {
            return fail(err, errlen, "'%c' needs a SIZE", op.p[0]);
        }
        if (t.n > 0 && t.p[0] == '-') {
            return fail(err, errlen, "negative SIZE '%.*s'", (int)t.n, t.p);
        }
        if (parse_num(&t, &ev->size, "SIZE", err, errlen) != 0) {
            return -1;
        }
        if (ev->kind == RTM_TRACE_ALIGNED) {
            if (!next_tok(&cur, end, &t)) {
                return fail(err, errlen, "'A' needs an ALIGN");
            }
            if (parse_num(&t, &ev->align, "ALIGN", err, errlen) != 0) {
                return -1;
            }
            if (ev->align == 0 || (ev->align & (ev->align - 1u)) != 0) {
                return fail(err, errlen, "ALIGN %llu is not a power of two",
                            (unsigned long long)ev->align);
            }
        }
        break;
    case RTM_TRACE_REALLOC:
        if (!next_tok(&cur, end, &t)) {
            return fail(err, errlen, "'r' needs an ID");
        }
        if (parse_id(&t, ev->id, "ID", err, errlen) != 0) {
            return -1;
        }
        if (!next_tok(&cur, end, &t)) {
            return fail(err, errlen, "'r' needs a NEWID");
        }
        if (parse_id(&t, ev->newid, "NEWID", err, errlen) != 0) {
            return -1;
        }
        if (!next_tok(&cur, end, &t)) {
            return fail(err, errlen, "'r' needs a SIZE");
        }
        if (t.n > 0 && t.p[0] == '-') {
            return fail(err, errlen, "negative SIZE '%.*s'", (int)t.n, t.p);
        }
        if (parse_num(&t, &ev->size, "SIZE", err, errlen) != 0) {
            return -1;
        }
        break;
    case RTM_TRACE_FREE:
        if (!next_tok(&cur, end, &t)) {
            return fail(err, errlen, "'f' needs an ID");
        }
        if (parse_id(&t, ev->id, "ID", err, errlen) != 0) {
            return -1;
        }
        break;
    }
    if (damaged) {
        return 1;
    }
    if (cur == end && end[-1] == ' ') {
        return fail(err, errlen, "space at the end of the line");
    }
    unsigned seen = 0;
    while (next_tok(&cur, end, &t)) {
        if (parse_field(&t, ev, &seen, err, errlen) != 0) {
            return -1;
        }
        if (cur == end && end[-1] == ' ') {
            return fail(err, errlen, "space at the end of the line");
        }
    }
    return 1;
}

/* ------------------------------------------------------------------ */
/* Live-ID table                                                       */

static uint64_t hash_id(const char *s)
{
    uint64_t h = 1469598103934665603ull; /* FNV-1a */
    while (*s != '\0') {
        h ^= (unsigned char)*s++;
        h *= 1099511628211ull;
    }
    return h;
}

void rtm_idmap_init(rtm_idmap_t *m)
{
    memset(m, 0, sizeof *m);
}

void rtm_idmap_free(rtm_idmap_t *m)
{
    free(m->slots);
    memset(m, 0, sizeof *m);
}

static size_t probe(const rtm_idmap_t *m, const char *id)
{
    size_t mask = m->cap - 1u;
    size_t i = (size_t)hash_id(id) & mask;
    while (m->slots[i].id[0] != '\0' && strcmp(m->slots[i].id, id) != 0) {
        i = (i + 1u) & mask;
    }
    return i;
}

rtm_trace_payload_t *rtm_idmap_find(rtm_idmap_t *m, const char *id)
{
    if (m->cap == 0) {
        return NULL;
    }
    size_t i = probe(m, id);
    return m->slots[i].id[0] != '\0' ? &m->slots[i].value : NULL;
}

static bool grow(rtm_idmap_t *m)
{
    size_t ncap = m->cap == 0 ? 64u : m->cap * 2u;
    if (ncap == 0 || ncap > SIZE_MAX / sizeof(rtm_idmap_entry_t)) {
        return false;
    }
    rtm_idmap_entry_t *ns = calloc(ncap, sizeof *ns);
    if (ns == NULL) {
        return false;
    }
    rtm_idmap_t old = *m;
    m->slots = ns;
    m->cap = ncap;
    for (size_t i = 0; i < old.cap; i++) {
        if (old.slots[i].id[0] != '\0') {
            m->slots[probe(m, old.slots[i].id)] = old.slots[i];
        }
    }
    free(old.slots);
    return true;
}

rtm_trace_payload_t *rtm_idmap_insert(rtm_idmap_t *m, const char *id)
{
    if ((m->count + 1u) * 2u > m->cap && !grow(m)) {
        return NULL;
    }
    size_t i = probe(m, id);
    rtm_idmap_entry_t *e = &m->slots[i];
    strcpy(e->id, id);
    memset(&e->value, 0, sizeof e->value);
    m->count++;
    if (m->count > m->peak) {
        m->peak = m->count;
    }
    return &e->value;
}

bool rtm_idmap_remove(rtm_idmap_t *m, const char *id, rtm_trace_payload_t *out)
{
    if (m->cap == 0) {
        return false;
    }
    size_t mask = m->cap - 1u;
    size_t i = probe(m, id);
    if (m->slots[i].id[0] == '\0') {
        return false;
    }
    if (out != NULL) {
        *out = m->slots[i].value;
    }
    /* Backward-shift deletion keeps every probe chain unbroken. */
    size_t j = i;
    for (;;) {
        m->slots[i].id[0] = '\0';
        for (;;) {
            j = (j + 1u) & mask;
            if (m->slots[j].id[0] == '\0') {
                m->count--;
                return true;
            }
            size_t home = (size_t)hash_id(m->slots[j].id) & mask;
            /* Move j into the hole at i unless its home lies cyclically in (i, j]. */
            bool stays = (i <= j) ? (i < home && home <= j) : (i < home || home <= j);
            if (!stays) {
                break;
            }
        }
        m->slots[i] = m->slots[j];
        i = j;
    }
}

/* ------------------------------------------------------------------ */
/* Reader                                                              */

void rtm_trace_reader_init(rtm_trace_reader_t *r, FILE *file, const char *name, bool lenient)
{
    memset(r, 0, sizeof *r);
    rtm_line_reader_init(&r->lines, file, name);
    r->lenient = lenient;
    rtm_idmap_init(&r->ids);
}

void rtm_trace_reader_fini(rtm_trace_reader_t *r)
{
    rtm_idmap_free(&r->ids);
}

uint64_t rtm_trace_skipped(const rtm_trace_counts_t *c)
{
    return c->unknown_free + c->unknown_realloc + c->reused_id + c->truncated;
}

static int reader_error(rtm_trace_reader_t *r, const char *what)
{
    (void)rtm_line_fail(&r->lines, what);
    memcpy(r->err, r->lines.err, sizeof r->err);
    return -1;
}

rtm_trace_ids_t rtm_trace_check_ids(const rtm_trace_event_t *ev, bool id_live, bool newid_live,
                                    bool lenient_hint, char *msg, size_t msglen)
{
    const char *skips = lenient_hint ? " (--lenient skips)" : "";
    const char *no_free = lenient_hint ? "no free before; --lenient skips" : "no free before";
    switch (ev->kind) {
    case RTM_TRACE_ALLOC:
    case RTM_TRACE_ALIGNED:
        if (id_live) {
            (void)snprintf(msg, msglen, "ID %s is allocated again while live (%s)", ev->id,
                           no_free);
            return RTM_TRACE_IDS_REUSED;
        }
        break;
    case RTM_TRACE_FREE:
        if (!id_live) {
            (void)snprintf(msg, msglen, "free of ID %s, which is not live%s", ev->id, skips);
            return RTM_TRACE_IDS_UNKNOWN_FREE;
        }
        break;
    case RTM_TRACE_REALLOC:
        if (!id_live) {
            (void)snprintf(msg, msglen, "realloc of ID %s, which is not live%s", ev->id, skips);
            return RTM_TRACE_IDS_UNKNOWN_REALLOC;
        }
        if (strcmp(ev->id, ev->newid) != 0 && newid_live) {
            (void)snprintf(msg, msglen, "realloc result %s is an ID that is live%s", ev->newid,
                           skips);
            return RTM_TRACE_IDS_REUSED;
        }
        break;
    }
    return RTM_TRACE_IDS_OK;
}

/* An inconsistent event: counted and skipped (0) when lenient, else -1. */
static int skip_or_fail(rtm_trace_reader_t *r, uint64_t *count, const char *msg)
{
    if (!r->lenient) {
        return reader_error(r, msg);
    }
    (*count)++;
    return 0;
}

/* Consistency of the ID sequence; 1 = deliver, 0 = skipped, -1 = error. */
static int apply_ids(rtm_trace_reader_t *r, rtm_trace_event_t *ev)
{
    char msg[RTM_TRACE_ERR_MAX / 2];
    bool id_live = rtm_idmap_find(&r->ids, ev->id) != NULL;
    bool newid_live = ev->kind == RTM_TRACE_REALLOC && rtm_idmap_find(&r->ids, ev->newid) != NULL;
    switch (rtm_trace_check_ids(ev, id_live, newid_live, true, msg, sizeof msg)) {
    case RTM_TRACE_IDS_OK:
        break;
    case RTM_TRACE_IDS_UNKNOWN_FREE:
        return skip_or_fail(r, &r->counts.unknown_free, msg);
    case RTM_TRACE_IDS_UNKNOWN_REALLOC:
        return skip_or_fail(r, &r->counts.unknown_realloc, msg);
    case RTM_TRACE_IDS_REUSED:
        return skip_or_fail(r, &r->counts.reused_id, msg);
    }
    if (ev->kind == RTM_TRACE_FREE) {
        (void)rtm_idmap_remove(&r->ids, ev->id, &ev->old);
        return 1;
    }
    if (ev->kind == RTM_TRACE_REALLOC) {
        (void)rtm_idmap_remove(&r->ids, ev->id, &ev->old);
        ev->slot = rtm_idmap_insert(&r->ids, ev->newid);
    } else {
        ev->slot = rtm_idmap_insert(&r->ids, ev->id);
    }
    if (ev->slot == NULL) {
        return reader_error(r, "out of memory for the live-ID table");
    }
    return 1;
}

int rtm_trace_next(rtm_trace_reader_t *r, rtm_trace_event_t *ev)
{
    for (;;) {
        size_t len;
        int got = rtm_line_next(&r->lines, &len);
        r->line = r->lines.line;
        if (got < 0) {
            memcpy(r->err, r->lines.err, sizeof r->err);
            return -1;
        }
        if (got == 0) {
            return 0;
        }
        char msg[RTM_TRACE_ERR_MAX / 2];
        int rc = rtm_trace_parse_line(r->lines.text, len, ev, msg, sizeof msg);
        if (rc < 0) {
            if (rtm_line_reject(&r->lines, msg) < 0) {
                memcpy(r->err, r->lines.err, sizeof r->err);
                return -1;
            }
            r->counts.truncated = r->lines.truncated;
            return 0;
        }
        if (rc == 0) {
            continue;
        }
        ev->line = r->line;
        rc = apply_ids(r, ev);
        if (rc != 0) {
            return rc;
        }
    }
}
