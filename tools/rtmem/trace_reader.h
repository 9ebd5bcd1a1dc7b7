/*
 * Streaming reader of the `rtmem-trace 1` text format (docs/formats.md).
 *
 * One line at a time from a FILE; memory use is one line buffer plus a hash
 * table of the IDs that are live at the moment (an ID leaves the table when
 * its block is freed or reallocated under another ID), so a trace of any
 * length streams in memory proportional to its live blocks.
 *
 * The reader checks the grammar (fields too: caps=, t=, seq= and caller=
 * are decoded or checked, other keys only for their form; the keys rtmem
 * writes at most once per line) and the
 * consistency of the ID sequence:
 *   strict (default): the first bad line stops reading with
 *                     "FILE:LINE: what is wrong" (rtm_trace_next gives -1);
 *   lenient:          inconsistent events (free or realloc of an unknown ID,
 *                     allocation under an ID that is live) are skipped and
 *                     counted; malformed lines are still errors.
 * Lines come from the strict line reader (line_reader.h): a NUL byte, a
 * line over RTM_TRACE_LINE_MAX bytes, a read error and empty input are
 * errors in both modes. A last line without "\n" is accepted when it is
 * complete; if it does not parse, the line reader's rule decides
 * (rtm_line_reject): cut off (a trace truncated mid-line), skipped and
 * counted in `truncated`, in both modes, unless it is the input's only
 * line, which is an error. CR before LF is ignored. Messages quote the input escaped (escape.h).
 */
#ifndef RTMEM_TOOL_TRACE_READER_H
#define RTMEM_TOOL_TRACE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "line_reader.h"

#define RTM_TRACE_ID_MAX 32u                /* characters of an ID */
#define RTM_TRACE_LINE_MAX RTM_LINE_MAX     /* longest line accepted */
#define RTM_TRACE_ERR_MAX RTM_LINE_ERR_MAX

/* A telemetry line (docs/formats.md, {"rtmem":1,"type":...}) at the start
 * of line, read by the telemetry reader (telemetry.h, rtm_tm_parse) with
 * all its checks: for a "trace" line, its rtmem-trace line is unescaped
 * into out (NUL-terminated) and its length returned; a valid line of any
 * other type gives 0 (skip it like a comment); a line that is not valid
 * version-1 telemetry, or a trace line whose "line" is missing, holds a
 * newline or does not fit outlen, gives -1 with the reason in err. */
int rtm_telemetry_trace_line(const char *line, size_t len, char *out, size_t outlen, char *err,
                             size_t errlen);

/* For the readers that pass over log lines around a trace (leaks, export,
 * report), after its header: whether line (NUL-terminated) is one that
 * replay would read as an event, so it must be read as replay reads it
 * (and refused with its words if broken): an event letter alone or before
 * a space or a tab, also behind a byte order mark (two files joined). A
 * log line never starts so; taken for one, such a line was passed over
 * and its block went uncounted. */
bool rtm_trace_looks_like_event(const char *line);

typedef enum rtm_trace_kind {
    RTM_TRACE_ALLOC = 'a',   /* a ID SIZE */
    RTM_TRACE_ALIGNED = 'A', /* A ID SIZE ALIGN */
    RTM_TRACE_REALLOC = 'r', /* r ID NEWID SIZE */
    RTM_TRACE_FREE = 'f'     /* f ID */
} rtm_trace_kind_t;

/* What a consumer keeps per live ID (the reader stores it, untouched). */
typedef struct rtm_trace_payload {
    void *ptr;     /* the replayed block, NULL if its allocation failed */
    uint64_t size; /* requested bytes, from the trace */
} rtm_trace_payload_t;

typedef struct rtm_trace_event {
    rtm_trace_kind_t kind;
    char id[RTM_TRACE_ID_MAX + 1];
    char newid[RTM_TRACE_ID_MAX + 1]; /* realloc only */
    uint64_t size;                    /* alloc, aligned, realloc */
    uint64_t align;                   /* aligned only (a power of two) */
    bool has_caps;                    /* a caps=0x... field was present */
    uint64_t caps;
    bool has_time;                    /* a t= field was present */
    uint64_t time;
    bool has_seq;                     /* a seq= field was present */
    uint64_t seq;
    unsigned long line;               /* 1-based line number */
    /* Filled by rtm_trace_next (not by rtm_trace_parse_line):
     *   free, realloc: old = what was stored for ID (ID is no longer live);
     *   alloc, aligned, realloc: slot = where to store the payload of the
     *   new block (ID, or NEWID for realloc), valid until the next call. */
    rtm_trace_payload_t old;
    rtm_trace_payload_t *slot;
} rtm_trace_event_t;

/* Parses one line (without its line end; a trailing CR is allowed).
 * Returns 1 for an event (*ev filled, line number excluded), 0 for a
 * comment or blank line (empty, or only spaces and tabs), -1 for a
 * malformed line with a message in
 * err[errlen] (no FILE:LINE prefix). A "# rtmem-trace N" header with N > 1
 * is an error. */
int rtm_trace_parse_line(const char *line, size_t len, rtm_trace_event_t *ev, char *err,
                         size_t errlen);

/* Live-ID table: open addressing, linear probing, deletion by backward
 * shift (no tombstones), so it holds only live IDs. */
typedef struct rtm_idmap_entry {
    char id[RTM_TRACE_ID_MAX + 1]; /* "" = empty */
    rtm_trace_payload_t value;
} rtm_idmap_entry_t;

typedef struct rtm_idmap {
    rtm_idmap_entry_t *slots;
    size_t cap;   /* a power of two, or 0 */
    size_t count;
    size_t peak;  /* most IDs live at once */
} rtm_idmap_t;

void rtm_idmap_init(rtm_idmap_t *m);
void rtm_idmap_free(rtm_idmap_t *m);
rtm_trace_payload_t *rtm_idmap_find(rtm_idmap_t *m, const char *id);
/* Inserts id (must not be present); NULL when out of memory. */
rtm_trace_payload_t *rtm_idmap_insert(rtm_idmap_t *m, const char *id);
/* Removes id; false if it was not present. *out gets its value. */
bool rtm_idmap_remove(rtm_idmap_t *m, const char *id, rtm_trace_payload_t *out);

/* What is wrong with an event's IDs, if anything. */
typedef enum rtm_trace_ids {
    RTM_TRACE_IDS_OK = 0,
    RTM_TRACE_IDS_UNKNOWN_FREE,    /* f of an ID that is not live */
    RTM_TRACE_IDS_UNKNOWN_REALLOC, /* r of an ID that is not live */
    RTM_TRACE_IDS_REUSED           /* a/A (or r's NEWID) naming a live ID */
} rtm_trace_ids_t;

/* The one ID rule of every command that reads rtmem events (replay,
 * compare, export, leaks), in one set of words: may ev follow, given
 * whether its ID and (realloc) its NEWID are live? When not, msg holds the
 * reason; lenient_hint adds "--lenient skips" for the commands that have
 * that option. */
rtm_trace_ids_t rtm_trace_check_ids(const rtm_trace_event_t *ev, bool id_live, bool newid_live,
                                    bool lenient_hint, char *msg, size_t msglen);

typedef struct rtm_trace_counts {
    uint64_t unknown_free;    /* f of an ID that is not live */
    uint64_t unknown_realloc; /* r of an ID that is not live */
    uint64_t reused_id;       /* a/A (or r's NEWID) naming a live ID */
    uint64_t truncated;       /* an unparsable last line without "\n" */
} rtm_trace_counts_t;

typedef struct rtm_trace_reader {
    rtm_line_reader_t lines;
    bool lenient;
    unsigned long line;   /* of the event last returned, or of the error */
    rtm_idmap_t ids;
    rtm_trace_counts_t counts;
    char err[RTM_TRACE_ERR_MAX]; /* "FILE:LINE: ..." after an error */
} rtm_trace_reader_t;

/* file stays the caller's. name is kept by pointer. */
void rtm_trace_reader_init(rtm_trace_reader_t *r, FILE *file, const char *name, bool lenient);
void rtm_trace_reader_fini(rtm_trace_reader_t *r);

/* Next event: 1 (event in *ev), 0 (end of file), -1 (error: r->err). */
int rtm_trace_next(rtm_trace_reader_t *r, rtm_trace_event_t *ev);

/* Skipped events (lenient) plus truncated lines. */
uint64_t rtm_trace_skipped(const rtm_trace_counts_t *c);

#endif
