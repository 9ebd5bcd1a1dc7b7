/*
 * rtmem output hook: the one way the library writes text.
 *
 * The core never calls printf or the OS. Reports (default misuse hook, later
 * summaries, traces, telemetry) are formatted into a small stack buffer and
 * handed to the hook installed here, one complete line per call (ending in
 * '\n'), so a UART driver, a log system or a file can take them. With no hook
 * installed, output is dropped.
 */
#ifndef RTMEM_OUTPUT_H
#define RTMEM_OUTPUT_H

#include <stddef.h>
#include <stdint.h>

#ifdef __cplusplus
extern "C" {
#endif

typedef void (*rtm_write_fn)(const char *text, size_t len, void *ctx);

/* Installs the output hook (NULL = drop output). Not synchronised with
 * concurrent writers: install it before other tasks start. */
void rtm_output_set(rtm_write_fn write, void *ctx);

/* Writes len bytes through the hook, if any. Safe from any task; the hook
 * decides whether it is safe from an ISR. */
void rtm_output_write(const char *text, size_t len);

/* One report line, "rtmem: <what> at <address> in <owner> '<name>'\n"
 * (without " '<name>'" when name is NULL; a NULL what or owner is written
 * "(null)", and every string as rtm_line_str writes it), through the
 * hook: the default misuse hooks of heaps, pools and capability regions
 * write theirs with it. The line is built only while a hook is installed,
 * and only rtm_output_set refers to the code that builds it, so a program
 * that never installs a hook does not link it. O(length of the strings);
 * no lock; as rtm_output_write otherwise. */
void rtm_output_report(const char *what, const void *address, const char *owner,
                       const char *name);

/* Line building without printf: a fixed buffer that silently truncates
 * (ending the line with "...\n" when it does). */
#define RTM_LINE_MAX 160u
typedef struct rtm_line {
    char *text; /* storage, or the caller's buffer (rtm_line_init_buffer) */
    size_t cap;
    size_t len;
    int truncated;
    char storage[RTM_LINE_MAX];
} rtm_line_t;

/* An empty line in its own RTM_LINE_MAX bytes. */
void rtm_line_init(rtm_line_t *line);
/* An empty line in the caller's buffer of cap bytes (at least 8: the
 * truncation mark and the newline), for lines longer than RTM_LINE_MAX
 * (telemetry). A smaller cap falls back to the line's own storage. */
void rtm_line_init_buffer(rtm_line_t *line, char *buf, size_t cap);
/* s, with every byte below 0x20 and 0x7f written '?': a string (a heap,
 * pool or region name the application gave) can neither end the line nor
 * start one of its own, such as a trace line in a UART capture that the
 * host tools read. Other bytes as given. NULL writes "(null)". */
void rtm_line_str(rtm_line_t *line, const char *s);
/* The first max bytes of s as one token of the trace format
 * (docs/formats.md, "Escaping"): every byte outside [A-Za-z0-9_.:/+-],
 * and a '.' that ends the token, written %XX, so the value holds no space,
 * '=' or '#', never ends in "..." (a cut line's mark) and is undone
 * exactly by the host tools. NULL writes nothing. */
void rtm_line_token(rtm_line_t *line, const char *s, size_t max);
void rtm_line_uint(rtm_line_t *line, uint64_t v);   /* decimal */
void rtm_line_hex(rtm_line_t *line, uint64_t v);    /* 0x-prefixed lower-case hex */
void rtm_line_ptr(rtm_line_t *line, const void *p); /* as rtm_line_hex */
void rtm_line_int(rtm_line_t *line, int64_t v);     /* decimal, '-' when negative */
void rtm_line_key_uint(rtm_line_t *line, const char *key, uint64_t v); /* " key=v" */
/* A JSON string: s in double quotes, with '"', '\\' and bytes below 0x20
 * escaped (\u00XX), well-formed UTF-8 kept and every byte of anything
 * else written '?', so the line is UTF-8 as RFC 8259 asks; NULL writes "".
 * For telemetry lines. */
void rtm_line_json_str(rtm_line_t *line, const char *s);
/* The line as rtm_line_emit would write it, without the '\n', as a C
 * string (truncation marked); the line may be extended afterwards only if
 * it was not truncated. */
const char *rtm_line_text(rtm_line_t *line);
/* Appends '\n' and writes the line through the output hook. */
void rtm_line_emit(rtm_line_t *line);

#ifdef __cplusplus
}
#endif

#endif
