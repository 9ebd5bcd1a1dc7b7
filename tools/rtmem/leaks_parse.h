/*
 * Input parsers of `rtmem leaks`: rtmem's own trace/dump lines
 * (docs/formats.md) and ESP-IDF heap_trace_dump() output (three
 * generations, also pasted without its header: records alone, records and
 * summary, the summary alone), with log lines, monitor decode lines, ANSI
 * colour codes, timestamp prefixes and CRLF line ends around them ignored.
 * Every format becomes one stream of records; the ones still alive at the
 * end (or allocated after the last checkpoint marker) are the leaks.
 *
 * Lines come through the strict line reader (line_reader.h). A number that
 * does not fit 64 bits is an error naming the line. An ESP-IDF dump that is
 * cut off (a panic or reset inside it, a record line run into by other
 * output, no summary after its header) is marked (cut_off, cut_reason)
 * with a warning on stderr; its records up to there are kept.
 * Memory: the records of live blocks plus a hash of live rtmem IDs; a
 * freed block's record is released (see lk_input_t). Messages and warnings
 * quote the input escaped (escape.h).
 */
#ifndef RTMEM_TOOL_LEAKS_PARSE_H
#define RTMEM_TOOL_LEAKS_PARSE_H

#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "line_reader.h"
#include "sum64.h"

#define LK_MAX_CALLERS 16

typedef enum {
    LK_FMT_NONE = 0,
    LK_FMT_RTMEM,      /* rtmem-trace 1 stream or dump */
    LK_FMT_IDF_V4,     /* up to v5.0 ("N allocations trace (M entry buffer)") */
    LK_FMT_IDF_V51,    /* v5.1-v5.4 */
    LK_FMT_IDF_V55,    /* v5.5+ */
    LK_FMT_IDF_V5,     /* v5.1+, nothing that tells v5.1-v5.4 from v5.5+ */
    LK_FMT_IDF_ANY     /* no line that names a generation */
} lk_format_t;

/* The ESP-IDF generations that print a line (lk_input_t.idf_gens): each
 * dump line narrows the set of generations that could have printed the
 * whole dump. Checked against heap_trace_standalone.c of every tag. */
#define LK_GEN_V4 1u     /* up to v5.0 */
#define LK_GEN_V51 2u    /* v5.1-v5.4 */
#define LK_GEN_V55 4u    /* v5.5+ */
#define LK_GEN_ANY (LK_GEN_V4 | LK_GEN_V51 | LK_GEN_V55)

typedef struct {
    char id[40];                /* rtmem ID, or the ESP-IDF address as written */
    uint64_t size;
    char region[24];            /* heap= or the ESP-IDF label (Internal, PSRAM) */
    char task[32];
    int has_time;
    uint64_t time;              /* t= or ccount */
    uint64_t seq;               /* seq= (0: none) */
    int has_seq;
    uint64_t callers[LK_MAX_CALLERS];
    unsigned ncallers;
    char site[64];              /* site=FILE:LINE */
    int freed;                  /* always 0 for a record in use (freed ones are released) */
    int before_checkpoint;      /* allocated before the last checkpoint marker */
    int in_use;                 /* 0: a released slot of the pool */
    size_t next_free;           /* released slots: index + 1 of the next one (0: end) */
    unsigned long line;         /* input line of the allocation */
} lk_record_t;

/* The dump's own summary lines, for the cross-check (have_* say present). */
typedef struct {
    int have_leaked;   uint64_t leaked_bytes, leaked_allocs;  /* 'leaked' / alive / live_bytes+live */
    int have_total;    uint64_t total_allocs, total_frees;
    int have_records;  uint64_t records, capacity;            /* header, or "records:" line */
    int have_overflow; int overflowed;
} lk_summary_t;

/*
 * Records are kept while their block is live: a free (f, r, an ESP-IDF
 * "freed by" line or " freed" marker) releases the record into a free list
 * that the next allocation reuses, so memory is bounded by the blocks live
 * at once, not by the length of the input. rec[0..nrec) is the pool;
 * entries with in_use = 0 are released slots.
 */
typedef struct {
    const char *name;           /* file name for messages */
    lk_format_t format;
    lk_record_t *rec;           /* pool of records; in_use ones are live, in input order by line */
    size_t nrec, caprec;        /* slots used so far, allocated */
    size_t free_head;           /* index + 1 of the first released slot (0: none) */
    size_t live;                /* records in use */
    size_t peak_live;           /* most records in use at once */
    rtm_sum64_t live_bytes;     /* requested bytes of the records in use (rtm_sum64_get) */
    size_t *hash;               /* rtmem IDs -> rec index + 1 (0: empty) */
    size_t hcap, hused;
    lk_summary_t sum;
    unsigned long lineno;
    int checkpoint_seen;
    unsigned long warnings;
    int quiet;                  /* warnings are counted, not printed (set by a caller that
                                   reads an input it has already read once) */
    char err[RTM_LINE_ERR_MAX]; /* "FILE:LINE: what is wrong" after a failure */
    char err_what[RTM_LINE_ERR_MAX]; /* its "what", for the line reader's rule */
    int line_taken;             /* the last line was read as data, not skipped as a log line */
    uint64_t id_mismatches;     /* rtmem events against the live IDs (rtm_trace_check_ids) */
    unsigned long id_mismatch_line; /* the first one's line and words */
    char id_mismatch_first[RTM_LINE_ERR_MAX];
    int have_exe;               /* "# rtmem-record exe_base= exe_lo= exe_hi=" (rtmem record) */
    uint64_t exe_base, exe_lo, exe_hi;
    size_t esp_open;            /* index + 1 of the last ESP-IDF record (for "freed by") */
    int in_esp_dump;            /* between a dump's first line and its closing "=====" */
    int esp_header;             /* the current ESP-IDF dump began with its header line */
    int esp_summary;            /* ... and its summary block was seen */
    unsigned idf_gens;          /* LK_GEN_* that print every line of the current dump */
    unsigned long idf_gens_line; /* the line that last narrowed idf_gens */
    unsigned long esp_record_line; /* line of the last record read whole (0: none) */
    unsigned long esp_freed_by_line; /* line of the last "freed by" line read (0: none) */
    uint64_t esp_records_read;  /* record lines of the current dump (freed ones too) */
    int cut_off;                /* the dump ends early (panic, no summary, damaged record) */
    char cut_reason[96];
    int number_overflow;        /* a number of the current line does not fit 64 bits */
} lk_input_t;

void lk_input_init(lk_input_t *in, const char *name);
void lk_input_free(lk_input_t *in);

/* One line without its terminator (CR is stripped here). last_unterminated:
 * the file's final line had no newline (a truncated capture): a damaged
 * ESP-IDF record there is skipped with a warning instead of failing (a
 * broken rtmem or telemetry line fails: lk_parse_reader_line decides).
 * Returns 0, or -1 with in->err set (a malformed rtmem event, a number that
 * does not fit 64 bits, an unsupported version). */
int lk_parse_line(lk_input_t *in, const char *line, int last_unterminated);

/* The line lr returned last, through lk_parse_line and the line reader's
 * one rule (line_reader.h): a line that does not parse is an error, or,
 * cut off at the end of the input, skipped with a warning (rtm_line_reject);
 * a log line is skipped unless it is the input's only line, cut
 * (rtm_line_skip). 0, or -1 with in->err set. Every reader of this parser
 * (leaks, export --format folded, report) goes through here. */
int lk_parse_reader_line(lk_input_t *in, rtm_line_reader_t *lr);

/* The end of the input: an ESP-IDF dump that began with its header but has
 * no summary is cut off; a header count that differs from the record lines
 * read is warned about. Called by lk_parse_file. */
void lk_parse_finish(lk_input_t *in);

/* The whole stream through the strict line reader (line_reader.h): 0, or
 * -1 with in->err set (also for a NUL byte, an over-long line, empty input). */
int lk_parse_file(lk_input_t *in, FILE *f);

/* Records still allocated (in use, not before the checkpoint; with
 * since_seq > 0 only those with seq >= since_seq). */
int lk_record_is_leak(const lk_record_t *r, uint64_t since_seq);

const char *lk_format_name(lk_format_t f);

#endif
