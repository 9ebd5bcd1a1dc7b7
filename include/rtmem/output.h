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

/* Line building without printf: a fixed buffer that silently truncates
 * (ending the line with "...\n" when it does). */
#define RTM_LINE_MAX 160u
typedef struct rtm_line {
    char text[RTM_LINE_MAX];
    size_t len;
    int truncated;
} rtm_line_t;

void rtm_line_init(rtm_line_t *line);
void rtm_line_str(rtm_line_t *line, const char *s); /* NULL writes "(null)" */
void rtm_line_uint(rtm_line_t *line, uint64_t v);   /* decimal */
void rtm_line_hex(rtm_line_t *line, uint64_t v);    /* 0x-prefixed lower-case hex */
void rtm_line_ptr(rtm_line_t *line, const void *p); /* as rtm_line_hex */
void rtm_line_key_uint(rtm_line_t *line, const char *key, uint64_t v); /* " key=v" */
/* Appends '\n' and writes the line through the output hook. */
void rtm_line_emit(rtm_line_t *line);

#ifdef __cplusplus
}
#endif

#endif
