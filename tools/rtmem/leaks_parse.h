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
 * Memory: the records of live blocks (lk_record_t), the distinct origins
 * they share and a hash of live rtmem IDs; a freed block's record is
 * released (see lk_input_t). Messages and warnings quote the input escaped
 * (escape.h).
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

/* Longest ID kept ("0x" and 37 digits of an ESP-IDF address written with
 * leading zeros is cut there), with its NUL. */
#define LK_ID_MAX 40
/* Longest site=, region and task kept, with their NUL (longer ones are cut). */
#define LK_SITE_MAX 64
#define LK_REGION_MAX 24
#define LK_TASK_MAX 32

/*
 * Where and by whom a block was allocated: its caller chain, site=FILE:LINE,
 * region (heap= or the ESP-IDF label) and task (task= or the ESP-IDF CPU).
 * Real inputs repeat a few hundred of these over millions of blocks, so
 * lk_input_t keeps each one once, shared by the records that point to it
 * and freed with the last of them (memory stays bounded by the blocks live
 * at once). Read it through lk_rec_callers() and the other lk_rec_*.
 */
typedef struct lk_origin {
    uint32_t refs;              /* records pointing here */
    uint32_t hash;
    uint8_t ncallers;
    uint8_t site_len, region_len, task_len;
    uint64_t callers[];         /* then "site\0region\0task\0" */
} lk_origin_t;

/* How lk_record_t.id holds the ID: LK_ID_TEXT, LK_ID_DEC, or LK_ID_HEX
 * with the flags and digit count that write it back as it was written. */
#define LK_ID_TEXT 0u           /* id.text: malloc'ed copy */
#define LK_ID_DEC 1u            /* id.num in decimal, no leading zero */
#define LK_ID_HEX 0x80u         /* "0x" and id.num in (LK_ID_DIGITS) hex digits */
#define LK_ID_HEX_UPPER 0x40u   /* A-F, not a-f */
#define LK_ID_HEX_BIG_X 0x20u   /* "0X", not "0x" */
#define LK_ID_DIGITS 0x1fu

/* One block, only what differs from block to block: a few words, the rest
 * in its shared origin (a record is 56 bytes on 64-bit hosts, 48 on 32-bit). */
typedef struct {
    uint64_t size;
    uint64_t time;              /* t= or ccount */
    uint64_t seq;               /* seq= (0: none) */
    union {
        uint64_t num;
        char *text;
    } id;                       /* rtmem ID, or the ESP-IDF address as written (id_form) */
    lk_origin_t *origin;        /* NULL: no caller, site, region or task */
    unsigned long line;         /* input line of the allocation */
    uint32_t next_free;         /* released slots: index + 1 of the next one (0: end) */
    uint8_t id_form;            /* LK_ID_* */
    unsigned has_time : 1;
    unsigned has_seq : 1;
    unsigned freed : 1;         /* always 0 for a record in use (freed ones are released) */
    unsigned before_checkpoint : 1; /* allocated before the last checkpoint marker */
    unsigned in_use : 1;        /* 0: a released slot of the pool */
} lk_record_t;

/* The parts of r kept in its origin ("" and 0 when it has none). */
static inline unsigned lk_rec_ncallers(const lk_record_t *r)
{
    return r->origin ? r->origin->ncallers : 0u;
}

static inline const uint64_t *lk_rec_callers(const lk_record_t *r)
{
    return r->origin ? r->origin->callers : NULL;
}

static inline const char *lk_rec_site(const lk_record_t *r)
{
    return r->origin ? (const char *)(r->origin->callers + r->origin->ncallers) : "";
}

static inline const char *lk_rec_region(const lk_record_t *r)
{
    return r->origin ? lk_rec_site(r) + r->origin->site_len + 1 : "";
}

static inline const char *lk_rec_task(const lk_record_t *r)
{
    return r->origin ? lk_rec_region(r) + r->origin->region_len + 1 : "";
}

/* r's ID as it was written: buf (LK_ID_MAX bytes) or r's own copy. */
const char *lk_rec_id(const lk_record_t *r, char buf[LK_ID_MAX]);

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
 * entries with in_use = 0 are released slots. At most UINT32_MAX - 1
 * slots (the hash and the free list hold 32-bit indexes).
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
    uint32_t *hash;             /* rtmem IDs -> rec index + 1 (0: empty) */
    size_t hcap, hused;
    lk_origin_t **origins;      /* the origins of the records in use (NULL: empty) */
    size_t ocap, oused;
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
