/*
 * Input parsers of `rtmem leaks`: rtmem's own trace/dump lines
 * (docs/formats.md) and ESP-IDF heap_trace_dump() output (three
 * generations), with log lines, monitor decode lines, ANSI colour codes,
 * timestamp prefixes and CRLF line ends around them ignored. Every format
 * becomes one stream of records; the ones still alive at the end (or
 * allocated after the last checkpoint marker) are the leaks.
 */
#ifndef RTMEM_TOOL_LEAKS_PARSE_H
#define RTMEM_TOOL_LEAKS_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#define LK_MAX_CALLERS 16

typedef enum {
    LK_FMT_NONE = 0,
    LK_FMT_RTMEM,      /* rtmem-trace 1 stream or dump */
    LK_FMT_IDF_V4,     /* "N allocations trace (M entry buffer)", up to v5.0 */
    LK_FMT_IDF_V51,    /* "====== Heap Trace: N records (M capacity) ======", v5.1-v5.4 */
    LK_FMT_IDF_V55     /* the same header, records with optional caller / " freed", v5.5+ */
} lk_format_t;

typedef struct {
    char id[40];                /* rtmem ID, or the ESP-IDF address as written */
    size_t size;
    char region[24];            /* heap= or the ESP-IDF label (Internal, PSRAM) */
    char task[32];
    int has_time;
    uint64_t time;              /* t= or ccount */
    uint64_t seq;               /* seq= (0: none) */
    int has_seq;
    uint64_t callers[LK_MAX_CALLERS];
    unsigned ncallers;
    char site[64];              /* site=FILE:LINE */
    int freed;
    int before_checkpoint;      /* allocated before the last checkpoint marker */
    unsigned long line;         /* input line of the allocation */
} lk_record_t;

/* The dump's own summary lines, for the cross-check (have_* say present). */
typedef struct {
    int have_leaked;   uint64_t leaked_bytes, leaked_allocs;  /* 'leaked' / alive / live_bytes+live */
    int have_total;    uint64_t total_allocs, total_frees;
    int have_records;  uint64_t records, capacity;
    int have_overflow; int overflowed;
} lk_summary_t;

typedef struct {
    const char *name;           /* file name for messages */
    lk_format_t format;
    lk_record_t *rec;           /* all records of the current dump/stream, in order */
    size_t nrec, caprec;
    size_t *hash;               /* rtmem IDs -> rec index + 1 (0: empty) */
    size_t hcap, hused;
    lk_summary_t sum;
    unsigned long lineno;
    int checkpoint_seen;
    unsigned long warnings;
    char err[320];              /* "FILE:LINE: what is wrong" after a failure */
    int have_exe;               /* "# rtmem-record exe_base= exe_lo= exe_hi=" (rtmem record) */
    uint64_t exe_base, exe_lo, exe_hi;
    lk_record_t *esp_open;      /* last ESP-IDF record (for a "freed by" line) */
    int in_esp_dump;
} lk_input_t;

void lk_input_init(lk_input_t *in, const char *name);
void lk_input_free(lk_input_t *in);

/* One line without its terminator (CR is stripped here). last_unterminated:
 * the file's final line had no newline (a truncated capture): a damaged
 * record there is skipped with a warning instead of failing.
 * Returns 0, or -1 with in->err set. */
int lk_parse_line(lk_input_t *in, const char *line, int last_unterminated);

/* The whole stream: 0, or -1 with in->err set. */
int lk_parse_file(lk_input_t *in, FILE *f);

/* Records still allocated (not freed, not before the checkpoint; with
 * since_seq > 0 only those with seq >= since_seq). */
int lk_record_is_leak(const lk_record_t *r, uint64_t since_seq);

const char *lk_format_name(lk_format_t f);

#endif
