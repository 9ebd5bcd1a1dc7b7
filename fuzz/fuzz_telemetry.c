/*
 * Fuzzer of the telemetry reader (tools/rtmem/telemetry.c, docs/formats.md
 * "Telemetry"). The input is split into lines; each goes through
 * rtm_tm_parse and, when it is telemetry, through every typed view.
 * Checked: no crash or sanitizer report; results are 1, 0 or -1; an error
 * message is terminated and non-empty; a parsed line has 3..32 members, the
 * version first, its type and ms among them, keys unique and terminated,
 * strings of the stated length without a NUL or control byte. Then the line
 * is written back in the canonical form and read again: the second reading
 * must give the same members (the reader and the format agree).
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "telemetry.h"

#define MAX_INPUT (64u * 1024u)

static rtm_tm_line_t g_first, g_second;
static char g_canon[3 * RTM_TM_TEXT_MAX + 64u];

/* Canonical writing of a decoded string: the escapes the monitor uses. */
static size_t put_string(char *out, size_t at, const char *s, size_t len)
{
    out[at++] = '"';
    for (size_t i = 0; i < len; i++) {
        unsigned char c = (unsigned char)s[i];
        if (c == '"' || c == '\\') {
            out[at++] = '\\';
            out[at++] = (char)c;
        } else if (c < 0x20u) {
            at += (size_t)snprintf(out + at, 7, "\\u%04x", c);
        } else {
            out[at++] = (char)c;
        }
    }
    out[at++] = '"';
    return at;
}

static size_t canonical(const rtm_tm_line_t *t, char *out)
{
    size_t at = 0;
    out[at++] = '{';
    for (size_t i = 0; i < t->count; i++) {
        const rtm_tm_member_t *m = &t->members[i];
        if (i > 0) {
            out[at++] = ',';
        }
        at = put_string(out, at, m->key, strlen(m->key));
        out[at++] = ':';
        if (m->kind == RTM_TM_STRING) {
            at = put_string(out, at, m->str, m->str_len);
        } else if (m->kind == RTM_TM_UINT) {
            at += (size_t)snprintf(out + at, 24, "%llu", (unsigned long long)m->u);
        } else {
            at += (size_t)snprintf(out + at, 24, "%lld", (long long)m->i);
        }
    }
    out[at++] = '}';
    out[at] = '\0';
    return at;
}

static void check_line(const rtm_tm_line_t *t)
{
    REQUIRE(t->count >= 3u && t->count <= RTM_TM_MEMBER_MAX);
    REQUIRE(strcmp(t->members[0].key, "rtmem") == 0);
    REQUIRE(t->members[0].kind == RTM_TM_UINT && t->members[0].u == RTM_TM_VERSION);
    REQUIRE(t->type_name != NULL && rtm_tm_str(t, "type") == t->type_name);
    uint64_t ms;
    REQUIRE(rtm_tm_u64(t, "ms", &ms) && ms == t->ms);
    for (size_t i = 0; i < t->count; i++) {
        const rtm_tm_member_t *m = &t->members[i];
        REQUIRE(rtm_tm_find(t, m->key) == m); /* keys are unique */
        if (m->kind == RTM_TM_STRING) {
            REQUIRE(strlen(m->str) == m->str_len);
            for (size_t k = 0; k < m->str_len; k++) {
                REQUIRE((unsigned char)m->str[k] >= 0x01u);
            }
        } else if (m->kind == RTM_TM_INT) {
            REQUIRE(m->i < 0);
        }
    }
}

static void check_views(const rtm_tm_line_t *t)
{
    char err[RTM_TM_ERR_MAX];
    union {
        rtm_tm_mem_t mem;
        rtm_tm_pool_t pool;
        rtm_tm_task_t task;
        rtm_tm_alert_t alert;
        rtm_tm_rec_t rec;
    } v;
    bool ok[5];
    ok[0] = rtm_tm_mem(t, &v.mem, err, sizeof err);
    REQUIRE(ok[0] ? strlen(v.mem.name) < sizeof v.mem.name : err[0] != '\0');
    ok[1] = rtm_tm_pool(t, &v.pool, err, sizeof err);
    REQUIRE(ok[1] || err[0] != '\0');
    ok[2] = rtm_tm_task(t, &v.task, err, sizeof err);
    REQUIRE(ok[2] ? v.task.has_heap == (rtm_tm_find(t, "heap") != NULL) : err[0] != '\0');
    ok[3] = rtm_tm_alert(t, &v.alert, err, sizeof err);
    REQUIRE(ok[3] || err[0] != '\0');
    ok[4] = rtm_tm_rec(t, &v.rec, err, sizeof err);
    REQUIRE(ok[4] ? v.rec.text != NULL : err[0] != '\0');
    /* A view succeeds only for its own type. */
    for (unsigned k = 0; k < 5u; k++) {
        REQUIRE(!ok[k] || (unsigned)t->type == k);
    }
    const char *trace = rtm_tm_trace_text(t);
    REQUIRE(trace == NULL || t->type == RTM_TM_TRACE);
}

static void same_members(const rtm_tm_line_t *a, const rtm_tm_line_t *b)
{
    REQUIRE(a->count == b->count && a->type == b->type && a->ms == b->ms);
    for (size_t i = 0; i < a->count; i++) {
        const rtm_tm_member_t *x = &a->members[i], *y = &b->members[i];
        REQUIRE(strcmp(x->key, y->key) == 0 && x->kind == y->kind);
        if (x->kind == RTM_TM_STRING) {
            REQUIRE(x->str_len == y->str_len && memcmp(x->str, y->str, x->str_len) == 0);
        } else {
            REQUIRE(x->u == y->u && x->i == y->i);
        }
    }
}

static void one_line(const char *line, size_t len)
{
    char err[RTM_TM_ERR_MAX];
    err[0] = '\0';
    int rc = rtm_tm_parse(line, len, &g_first, err, sizeof err);
    REQUIRE(rc >= -1 && rc <= 1);
    if (rc < 0) {
        size_t n = strnlen(err, sizeof err);
        REQUIRE(n > 0u && n < sizeof err);
        return;
    }
    if (rc == 0) {
        return;
    }
    REQUIRE(g_first.prefix_len < len);
    check_line(&g_first);
    check_views(&g_first);
    size_t n = canonical(&g_first, g_canon);
    REQUIRE(rtm_tm_parse(g_canon, n, &g_second, err, sizeof err) == 1);
    REQUIRE(g_second.prefix_len == 0u);
    same_members(&g_first, &g_second);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > MAX_INPUT) {
        return 0;
    }
    const char *text = (const char *)data;
    size_t start = 0;
    while (start <= size) {
        const char *nl = memchr(text + start, '\n', size - start);
        size_t len = nl != NULL ? (size_t)(nl - (text + start)) : size - start;
        one_line(text + start, len);
        if (nl == NULL) {
            break;
        }
        start += len + 1u;
    }
    for (unsigned bit = 0; bit < 40u; bit++) {
        const char *name = rtm_tm_alert_name(bit);
        REQUIRE(name == NULL || name[0] != '\0');
    }
    return 0;
}
