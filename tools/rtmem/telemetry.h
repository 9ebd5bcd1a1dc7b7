/*
 * Reader of rtmem telemetry, version 1 (docs/formats.md, "Telemetry"): the
 * JSON lines the monitor and the tracer write, one flat object per line.
 * `rtmem report`, `rtmem top` and `rtmem export` read telemetry through it.
 *
 * Where a line is telemetry: it starts with {"rtmem": after an optional
 * prefix that a serial monitor or logger adds ("[12:00:01.123] ",
 * "I (2034) app: "): the first {"rtmem": in the line starts the object, and
 * the object must then run to the end of the line. Every other line is not
 * telemetry (a log line) and is left to the caller.
 *
 * Strict within telemetry: the grammar of docs/formats.md, nothing else.
 * A number that does not fit 64 bits, a control byte in a string, an
 * escape other than \" \\ \/ \u00XX, a duplicate key, more than
 * RTM_TM_MEMBER_MAX members, a missing "type" or "ms", a version other than
 * 1, or text after the closing brace are errors (a line cut mid-way by a
 * reset is one); so is a known type without one of its required keys
 * (rtm_tm_mem and friends). Unknown keys and unknown types are kept and
 * ignored by the typed views, as the format asks of readers.
 *
 * Memory: an rtm_tm_line_t is one fixed object (about 6 KiB); nothing
 * allocates. Cost: linear in the line.
 */
#ifndef RTMEM_TOOL_TELEMETRY_H
#define RTMEM_TOOL_TELEMETRY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTM_TM_VERSION 1
#define RTM_TM_MEMBER_MAX 32u  /* members per line, rtmem, type and ms included */
#define RTM_TM_TEXT_MAX 4200u  /* decoded keys and strings of one line */
#define RTM_TM_ERR_MAX 256u
#define RTM_TM_NAME_MAX 64u    /* names kept by the typed views, terminated */

typedef enum rtm_tm_type {
    RTM_TM_MEM = 0,
    RTM_TM_POOL,
    RTM_TM_TASK,
    RTM_TM_ALERT,
    RTM_TM_REC,
    RTM_TM_TRACE,
    RTM_TM_OTHER /* a type this reader does not know: skip it */
} rtm_tm_type_t;

typedef enum rtm_tm_kind { RTM_TM_UINT, RTM_TM_INT, RTM_TM_STRING } rtm_tm_kind_t;

typedef struct rtm_tm_member {
    const char *key;  /* decoded, terminated, inside the line's text */
    rtm_tm_kind_t kind;
    uint64_t u;       /* RTM_TM_UINT (also set for a non-negative RTM_TM_INT) */
    int64_t i;        /* RTM_TM_INT, and RTM_TM_UINT values up to INT64_MAX */
    const char *str;  /* RTM_TM_STRING: decoded (may hold bytes >= 0x80), terminated */
    size_t str_len;
} rtm_tm_member_t;

typedef struct rtm_tm_line {
    rtm_tm_type_t type;
    const char *type_name;  /* the "type" string as written */
    uint64_t ms;
    size_t prefix_len;      /* bytes before {"rtmem": (a logger's prefix) */
    size_t count;
    rtm_tm_member_t members[RTM_TM_MEMBER_MAX];
    char text[RTM_TM_TEXT_MAX];
} rtm_tm_line_t;

/* Parses line[0..len) (without its "\n"; a CR before it is ignored).
 * Returns 1 with *out filled when the line is telemetry, 0 when it is not
 * (no {"rtmem": in it), -1 with a message in err[errlen] (no file name or
 * line number: the caller adds them) when it starts telemetry but breaks
 * the grammar. out may be reused; nothing points into line afterwards. */
int rtm_tm_parse(const char *line, size_t len, rtm_tm_line_t *out, char *err, size_t errlen);

/* The member named key, or NULL. */
const rtm_tm_member_t *rtm_tm_find(const rtm_tm_line_t *t, const char *key);

/* Typed lookups: true with *out set when key is present with that kind
 * (rtm_tm_i64 accepts a uint up to INT64_MAX); false otherwise. */
bool rtm_tm_u64(const rtm_tm_line_t *t, const char *key, uint64_t *out);
bool rtm_tm_i64(const rtm_tm_line_t *t, const char *key, int64_t *out);
const char *rtm_tm_str(const rtm_tm_line_t *t, const char *key); /* NULL if absent */

/* Typed views of the known types. Each returns true when every required key
 * of the type (docs/formats.md tables) is present with its kind; false with
 * a message in err naming the missing or mistyped key. Strings longer than
 * RTM_TM_NAME_MAX - 1 bytes are cut at a UTF-8 character boundary. */
typedef struct rtm_tm_mem {
    uint64_t ms, seq;
    char name[RTM_TM_NAME_MAX];
    char kind[8];               /* "heap" or "caps" */
    uint64_t total, free, min_free, largest, used_blocks, free_blocks, failed, frag_pm;
    bool has_trend;             /* trend_bpm is optional */
    int64_t trend_bpm;
    uint64_t alerts;
} rtm_tm_mem_t;

typedef struct rtm_tm_pool {
    uint64_t ms, seq;
    char name[RTM_TM_NAME_MAX];
    uint64_t block, capacity, used, peak, failed, waits, alerts;
} rtm_tm_pool_t;

typedef struct rtm_tm_task {
    uint64_t ms, seq;
    char name[RTM_TM_NAME_MAX];
    uint64_t id;
    bool has_heap;              /* heap and heap_peak: only with task statistics */
    uint64_t heap, heap_peak;
    bool has_stack;             /* stack_size and stack_peak: only when known */
    uint64_t stack_size, stack_peak;
    uint64_t alerts;
} rtm_tm_task_t;

typedef struct rtm_tm_alert {
    uint64_t ms;
    char alert[32];             /* "low_free", ... */
    bool raised;                /* state "raised" (false: "cleared") */
    char source[RTM_TM_NAME_MAX];
    int64_t value, threshold;
} rtm_tm_alert_t;

typedef struct rtm_tm_rec {
    uint64_t ms;
    char rule[32];              /* "grow_memory", ... */
    char source[RTM_TM_NAME_MAX];
    const char *text;           /* points into the line: copy it to keep it */
} rtm_tm_rec_t;

bool rtm_tm_mem(const rtm_tm_line_t *t, rtm_tm_mem_t *out, char *err, size_t errlen);
bool rtm_tm_pool(const rtm_tm_line_t *t, rtm_tm_pool_t *out, char *err, size_t errlen);
bool rtm_tm_task(const rtm_tm_line_t *t, rtm_tm_task_t *out, char *err, size_t errlen);
bool rtm_tm_alert(const rtm_tm_line_t *t, rtm_tm_alert_t *out, char *err, size_t errlen);
bool rtm_tm_rec(const rtm_tm_line_t *t, rtm_tm_rec_t *out, char *err, size_t errlen);

/* The "line" string of a trace line (an rtmem-trace 1 line), or NULL. */
const char *rtm_tm_trace_text(const rtm_tm_line_t *t);

/* Alert names by number (rtm_alert_kind_t order), for the "alerts" bit
 * masks: "low_free" ... "pool_exhausted"; NULL past the last. */
const char *rtm_tm_alert_name(unsigned bit);

#endif
