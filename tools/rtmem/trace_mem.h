/*
 * An rtmem-trace 1 file parsed once into memory, for tools that replay the
 * same trace many times (`rtmem compare`'s size searches and timed runs,
 * `rtmem replay` without --size): every run then walks a compact array
 * instead of re-reading, re-parsing and re-hashing the file.
 *
 * Loading goes through the streaming reader (trace_reader.h), so it accepts
 * and rejects exactly what a streaming replay does, with the same
 * "FILE:LINE: ..." messages and the same ID checks (strict: the first
 * inconsistent event is an error; lenient: skipped, counted, left out).
 *
 * IDs become dense slot numbers: an allocation takes a free slot, a realloc
 * keeps its slot (the old ID leaves it and the new ID takes it), a free
 * gives it back. A replay then keeps one payload per slot (as many as the
 * trace's peak live IDs) and indexes it directly.
 *
 * Memory: 16 bytes per event; 8 more per size above 4 GiB - 2 and per caps=
 * field; 16 bytes per RTM_TRACE_MEM_LINE_STEP lines (where to re-read the
 * text of a failing event). A 2.4M-event trace takes about 38 MB.
 */
#ifndef RTMEM_TOOL_TRACE_MEM_H
#define RTMEM_TOOL_TRACE_MEM_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "trace_reader.h"

/* Default limit of a loaded trace (events and side values): 512 MiB, about 33
 * million events. Larger traces are streamed instead (same results, each
 * run re-reads the file). */
#define RTM_TRACE_MEM_LIMIT ((size_t)512 << 20)

/* A line offset is kept every this many lines. */
#define RTM_TRACE_MEM_LINE_STEP 4096u

#define RTM_MEM_BIG_SIZE 0x1u /* size is the next side value (it does not fit 32 bits) */
#define RTM_MEM_HAS_CAPS 0x2u /* a caps=0x... field: its value is the next side value */
#define RTM_MEM_SIZE_ESCAPE UINT32_MAX

typedef struct rtm_mem_event {
    uint32_t size;      /* requested bytes (RTM_MEM_BIG_SIZE: see the side values) */
    uint32_t slot;      /* dense index of the ID (of NEWID for a realloc: the same slot) */
    uint32_t line;      /* 1-based line number in the file */
    uint8_t kind;       /* rtm_trace_kind_t: 'a', 'A', 'r', 'f' */
    uint8_t align_log2; /* 'A': log2(ALIGN) */
    uint8_t flags;      /* RTM_MEM_BIG_SIZE, RTM_MEM_HAS_CAPS (side values in that order) */
    uint8_t reserved;
} rtm_mem_event_t;

typedef struct rtm_mem_line_mark {
    uint64_t line;   /* the line after this one... */
    uint64_t offset; /* ...starts at this byte of the file */
} rtm_mem_line_mark_t;

typedef struct rtm_trace_mem {
    const char *path;          /* kept by pointer */
    rtm_mem_event_t *events;
    size_t count;
    uint64_t *side;            /* big sizes and caps, in event order */
    size_t nside;
    rtm_mem_line_mark_t *marks;
    size_t nmarks;
    size_t slots;              /* peak live IDs: payloads a replay needs */
    rtm_trace_counts_t skipped; /* lenient skips and a truncated last line, whole file
                                   (cut_off: the part before the bad line) */
    /* rtm_trace_mem_load_part only: a bad line stopped the reading, the
     * events are those before it. */
    bool cut_off;
    unsigned long cut_line;              /* the line that stopped it */
    char cut_reason[RTM_TRACE_ERR_MAX];  /* what is wrong with it, without FILE:LINE */
    size_t capacity, side_capacity, marks_capacity;
} rtm_trace_mem_t;

/* Reads path (a file; "-" is refused: it cannot be read twice) into m.
 * limit: most bytes of events and side values (0 = RTM_TRACE_MEM_LIMIT).
 * Returns 0 loaded; 1 larger than limit (or more than 2^32 - 1 lines):
 * nothing is kept, stream the file instead; 2 bad input or an unreadable
 * file, with "FILE:LINE: ..." (or "FILE: ...") in err. Cost: one pass over
 * the file, as one streaming replay without the heap. */
int rtm_trace_mem_load(rtm_trace_mem_t *m, const char *path, bool lenient, size_t limit,
                       char *err, size_t errlen);

/* rtm_trace_mem_load, except that a bad line (malformed, inconsistent, a
 * NUL byte: an error that names a line) keeps the events before it: 0,
 * with cut_off, cut_line and cut_reason set and "FILE:LINE: ..." in err,
 * so that a tool can still report the part before the line. Errors that
 * name no line (a file that does not open, a read error before any line)
 * still return 2. */
int rtm_trace_mem_load_part(rtm_trace_mem_t *m, const char *path, bool lenient, size_t limit,
                            char *err, size_t errlen);

/* Frees what a load allocated (m may be zeroed or already freed). */
void rtm_trace_mem_free(rtm_trace_mem_t *m);

/* Bytes the loaded trace takes (events, side values, line offsets). */
size_t rtm_trace_mem_bytes(const rtm_trace_mem_t *m);

/* The event on line `line` as the file has it (IDs included): re-reads
 * that line, starting from the nearest kept offset (at most
 * RTM_TRACE_MEM_LINE_STEP lines). false when the file changed or cannot be
 * re-read. */
bool rtm_trace_mem_reread(const rtm_trace_mem_t *m, unsigned long line, rtm_trace_event_t *ev);

#endif
