/*
 * Fuzzer of the rtmem-trace 1 reader (tools/rtmem/trace_reader.c,
 * docs/formats.md). The input is a trace file:
 *   1. every line goes through rtm_trace_parse_line on its own;
 *   2. the whole input is read with rtm_trace_next from a memory stream,
 *      strict and lenient, while a simple model of the live IDs follows
 *      the events.
 * Checked: no crash or sanitizer report; every event has a known kind, IDs
 * of 1..32 characters A-Z a-z 0-9 _, a power-of-two alignment for 'A'; the
 * reader hands back, for a free or realloc, exactly the payload stored for
 * that ID, refuses (strict) or skips (lenient) every inconsistent event, and
 * its live-ID count equals the model's; a caps value is the one caps= field
 * of its line, in hex; errors are terminated, non-empty messages.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "trace_reader.h"

#define MAX_INPUT (64u * 1024u)
#define MAX_LIVE 4096u


static bool id_ok(const char *id)
{
    size_t n = strnlen(id, RTM_TRACE_ID_MAX + 1u);
    if (n == 0u || n > RTM_TRACE_ID_MAX) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        char c = id[i];
        if (!((c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
              c == '_')) {
            return false;
        }
    }
    return true;
}

static void check_event_fields(const rtm_trace_event_t *ev)
{
    REQUIRE(ev->kind == RTM_TRACE_ALLOC || ev->kind == RTM_TRACE_ALIGNED ||
            ev->kind == RTM_TRACE_REALLOC || ev->kind == RTM_TRACE_FREE);
    REQUIRE(id_ok(ev->id));
    if (ev->kind == RTM_TRACE_REALLOC) {
        REQUIRE(id_ok(ev->newid));
    }
    if (ev->kind == RTM_TRACE_ALIGNED) {
        REQUIRE(ev->align != 0u && (ev->align & (ev->align - 1u)) == 0u);
    }
}

/* caps of a plain line (not telemetry, whose other members could hold the
 * text): when given, the line's only " caps=" field is "0x" or "0X",
 * leading zeros and the value in hex, either case. */
static void check_caps(const char *line, size_t len, const rtm_trace_event_t *ev)
{
    static const char key[] = " caps=";
    if (!ev->has_caps) {
        return;
    }
    const char *v = NULL;
    for (size_t i = 0; i + sizeof key - 1u <= len; i++) {
        if (memcmp(line + i, key, sizeof key - 1u) == 0) {
            REQUIRE(v == NULL);
            v = line + i + sizeof key - 1u;
        }
    }
    REQUIRE(v != NULL && v[0] == '0' && (v[1] == 'x' || v[1] == 'X'));
    const char *end = line + len;
    if (end > line && end[-1] == '\r') {
        end--;
    }
    const char *p = v + 2;
    while (p + 1 < end && p[0] == '0' && p[1] != ' ') {
        p++;
    }
    char want[24];
    int n = snprintf(want, sizeof want, "%llx", (unsigned long long)ev->caps);
    REQUIRE(n > 0 && (size_t)(end - p) >= (size_t)n);
    for (int i = 0; i < n; i++) {
        char c = p[i] >= 'A' && p[i] <= 'F' ? (char)(p[i] - 'A' + 'a') : p[i];
        REQUIRE(c == want[i]);
    }
    REQUIRE(p + n == end || p[n] == ' ');
}

static void check_message(const char *msg, size_t cap)
{
    size_t n = strnlen(msg, cap);
    REQUIRE(n > 0u && n < cap);
}

/* ---- 1: line by line ------------------------------------------------- */

static void parse_lines(const char *text, size_t size)
{
    size_t start = 0;
    while (start <= size) {
        const char *nl = memchr(text + start, '\n', size - start);
        size_t len = nl != NULL ? (size_t)(nl - (text + start)) : size - start;
        rtm_trace_event_t ev;
        char err[128];
        memset(&ev, 0, sizeof ev);
        err[0] = '\0';
        int rc = rtm_trace_parse_line(text + start, len, &ev, err, sizeof err);
        REQUIRE(rc >= -1 && rc <= 1);
        if (rc == 1) {
            check_event_fields(&ev);
            if (len > 0 && text[start] != '{') {
                check_caps(text + start, len, &ev);
            }
        } else if (rc < 0) {
            check_message(err, sizeof err);
        }
        if (nl == NULL) {
            break;
        }
        start += len + 1u;
    }
}

/* ---- 2: the streaming reader with a model of live IDs ----------------- */

typedef struct live_ids {
    char id[MAX_LIVE][RTM_TRACE_ID_MAX + 1u];
    uint64_t size[MAX_LIVE];
    size_t n;
} live_ids_t;

static live_ids_t g_live;

static size_t live_find(const live_ids_t *l, const char *id)
{
    for (size_t i = 0; i < l->n; i++) {
        if (strcmp(l->id[i], id) == 0) {
            return i;
        }
    }
    return SIZE_MAX;
}

static void live_remove(live_ids_t *l, size_t i)
{
    l->n--;
    if (i != l->n) {
        memcpy(l->id[i], l->id[l->n], sizeof l->id[i]);
        l->size[i] = l->size[l->n];
    }
}

static void live_add(live_ids_t *l, const char *id, uint64_t size)
{
    REQUIRE(l->n < MAX_LIVE);
    memcpy(l->id[l->n], id, strlen(id) + 1u);
    l->size[l->n] = size;
    l->n++;
}

static void read_stream(char *text, size_t size, bool lenient)
{
    FILE *f = fmemopen(text, size, "r");
    if (f == NULL) {
        return;
    }
    rtm_trace_reader_t *r = malloc(sizeof *r);
    REQUIRE(r != NULL);
    rtm_trace_reader_init(r, f, "fuzz", lenient);
    g_live.n = 0;
    unsigned long last_line = 0;
    int rc;
    rtm_trace_event_t ev;
    /* every event consumes at least one input line */
    for (size_t guard = 0; guard <= size + 1u; guard++) {
        memset(&ev, 0, sizeof ev);
        rc = rtm_trace_next(r, &ev);
        if (rc <= 0) {
            break;
        }
        REQUIRE(rc == 1);
        check_event_fields(&ev);
        REQUIRE(ev.line > last_line && ev.line == r->line);
        last_line = ev.line;
        size_t at = live_find(&g_live, ev.id);
        switch (ev.kind) {
        case RTM_TRACE_ALLOC:
        case RTM_TRACE_ALIGNED:
            REQUIRE(at == SIZE_MAX);
            REQUIRE(ev.slot != NULL);
            ev.slot->size = ev.size;
            ev.slot->ptr = NULL;
            live_add(&g_live, ev.id, ev.size);
            break;
        case RTM_TRACE_FREE:
            REQUIRE(at != SIZE_MAX);
            REQUIRE(ev.old.size == g_live.size[at]);
            live_remove(&g_live, at);
            break;
        default: /* realloc */
            REQUIRE(at != SIZE_MAX);
            REQUIRE(ev.old.size == g_live.size[at]);
            live_remove(&g_live, at);
            REQUIRE(live_find(&g_live, ev.newid) == SIZE_MAX);
            REQUIRE(ev.slot != NULL);
            ev.slot->size = ev.size;
            live_add(&g_live, ev.newid, ev.size);
            break;
        }
        REQUIRE(r->ids.count == g_live.n);
        REQUIRE(r->ids.peak >= r->ids.count);
    }
    REQUIRE(rc <= 0);
    if (rc < 0) {
        check_message(r->err, sizeof r->err);
    }
    if (!lenient) {
        REQUIRE(r->counts.unknown_free == 0u && r->counts.unknown_realloc == 0u &&
                r->counts.reused_id == 0u);
    }
    REQUIRE(rtm_trace_skipped(&r->counts) >= r->counts.truncated);
    rtm_trace_reader_fini(r);
    free(r);
    fclose(f);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0u || size > MAX_INPUT) {
        return 0;
    }
    char *text = malloc(size);
    REQUIRE(text != NULL);
    memcpy(text, data, size);
    parse_lines(text, size);
    read_stream(text, size, false);
    read_stream(text, size, true);
    free(text);
    return 0;
}
