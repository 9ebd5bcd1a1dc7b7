/*
 * rtmem heap tracing: a record per allocation, leak checkpoints, a live
 * text stream. Modelled on ESP-IDF heap_trace (modes ALL and LEAKS, start,
 * stop, pause, resume), but the tracer is an object over caller memory and
 * needs no heap.
 *
 *     RTM_TRACE_DEFINE(trace_mem, 256);                 // 256 records, in .bss
 *     rtm_trace_t *t = rtm_trace_init(trace_mem, sizeof trace_mem);
 *     rtm_trace_attach(t, heap);                        // heap's one observer
 *     rtm_trace_start(t, RTM_TRACE_LEAKS);
 *     uint32_t cp = rtm_trace_checkpoint(t);
 *     reconnect();
 *     rtm_trace_leak_group_t g[8];
 *     rtm_trace_leak_totals_t tot;
 *     size_t n = rtm_trace_leaks_since(t, cp, g, 8, &tot);
 *     rtm_trace_print_leaks(g, n, &tot);
 *
 * Dynamic form: rtm_trace_init(p, bytes) over any 8-aligned memory (for
 * example taken once from a heap that is not traced); the capacity is the
 * largest record count that fits (rtm_trace_capacity).
 *
 * How it works. The tracer is a heap observer (heap.h): every successful
 * allocation, free and reallocation of an attached heap reaches
 * rtm_trace_observer under that heap's lock. The tracer has its own port
 * lock, taken inside the heap lock, so several heaps may share one tracer.
 * Records live in an array; an open-addressing hash table (linear probing,
 * power-of-two size at least twice the record count, backward-shift
 * deletion, no tombstones) maps a live block's address to its record, so a
 * free is an expected O(1) lookup at load factor <= 1/2.
 *
 * Modes:
 *   RTM_TRACE_LEAKS  a freed block's record is removed and its slot reused:
 *                    the buffer holds exactly the live blocks.
 *   RTM_TRACE_ALL    a freed block's record is kept, marked freed with the
 *                    task and time of the free, and only its hash entry is
 *                    dropped; slots are never reused, so the buffer fills.
 * A reallocation ends the old block's record (as a free) and starts a new
 * one for the result (with the realloc's call site and a new sequence
 * number), also when the block was resized in place.
 *
 * Overflow: an allocation that finds no free slot is not recorded; it is
 * counted (rtm_trace_summary_t.overflow), the first one after each start
 * writes "# rtmem-trace overflow ..." through the output hook, and every
 * summary and dump repeats the count. The live stream is never affected.
 *
 * Callers: record.callers[0] is always the site's caller (the return address
 * of the rtmem call, or what a layer passed in rtm_alloc_site_t). With
 * RTM_TRACE_FRAME_WALK 1 (gcc/clang only) the observer also walks the
 * return-address chain with __builtin_return_address(n), n = 0..11, until it
 * meets callers[0], and stores the frames after it in callers[1..]. That
 * chain is only safe to walk when every frame from the application down to
 * the tracer keeps a frame pointer (-fno-omit-frame-pointer for the
 * application and rtmem); on ARM Thumb gcc it yields 0 and the walk stops
 * at the first 0. If callers[0] is not found within 12 frames (a layer
 * passed its own caller's site) the extra slots stay NULL.
 *
 * Freed-by: a freed record keeps the task, time and caller (return address
 * of the rtm_free call) of the free.
 *
 * Heaps that go away: rtm_heap_deinit does not tell the tracer, so the
 * records of its live blocks stay live (and count as leaks) until the next
 * rtm_trace_start; while the heap's control block is intact a dump names
 * their heap "(no heap)". A heap made again over the same memory hands
 * the addresses out again, and those records end as STALE.
 *
 * Locks and ISRs: every function takes the tracer's lock for bounded work
 * except where noted; none may be called from an ISR unless the port lock
 * is ISR-safe (port.h). Lock order: heap lock, then tracer lock, then the
 * task-name callback's own lock (task_stats). Bad input (NULL tracer,
 * memory not from rtm_trace_init) does nothing and returns 0/false/NULL.
 */
#ifndef RTMEM_TRACE_H
#define RTMEM_TRACE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtmem/config.h"
#include "rtmem/heap.h"
#include "rtmem/port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options (config.h): RTM_TRACE_DEPTH, caller addresses kept per record
 * (1..8, default 2; each costs one pointer per record; without
 * RTM_TRACE_FRAME_WALK only callers[0] is ever filled), and
 * RTM_TRACE_FRAME_WALK, 1 = fill callers[1..] by walking frames (see above;
 * needs frame pointers everywhere; default 0: never walks). */

typedef struct rtm_trace rtm_trace_t;

typedef enum rtm_trace_mode {
    RTM_TRACE_LEAKS = 1, /* keep live blocks only */
    RTM_TRACE_ALL        /* keep freed blocks too, until the buffer is full */
} rtm_trace_mode_t;

typedef enum rtm_trace_state {
    RTM_TRACE_STOPPED = 0, /* nothing recorded or streamed */
    RTM_TRACE_RUNNING,     /* everything recorded */
    RTM_TRACE_PAUSED       /* frees matched, new allocations not recorded */
} rtm_trace_state_t;

/* rtm_trace_record_t.state */
#define RTM_TRACE_REC_UNUSED 0u
#define RTM_TRACE_REC_LIVE 1u
#define RTM_TRACE_REC_FREED 2u /* RTM_TRACE_ALL only */

/* rtm_trace_record_t.flags */
#define RTM_TRACE_REC_FROM_REALLOC 0x1u /* made by a reallocation */
#define RTM_TRACE_REC_ENDED_BY_REALLOC 0x2u /* freed by a reallocation */
#define RTM_TRACE_REC_STALE 0x4u /* its address was handed out again before
                                    a free was seen (freed while stopped) */

typedef struct rtm_trace_record {
    void *ptr;              /* the block */
    rtm_heap_t *heap;       /* the heap (region) it came from */
    uintptr_t task;         /* rtm_port_task_id() of the allocating task */
    const char *file;       /* RTM_MALLOC-style macros, else NULL */
    const void *callers[RTM_TRACE_DEPTH]; /* see "Callers" above; NULL = unknown */
    uintptr_t free_task;    /* FREED: task that freed it */
    const void *free_caller; /* FREED: return address of the free call; NULL = unknown */
    uint32_t size;          /* requested bytes; UINT32_MAX for 4 GiB or more */
    uint32_t seq;           /* allocation sequence number (checkpoints) */
    uint32_t time;          /* rtm_port_ticks() at allocation */
    uint32_t line;          /* with file */
    uint32_t free_time;     /* FREED: ticks at the free */
    uint8_t align_log2;     /* requested alignment as log2; 0 = the heap's granularity */
    uint8_t state;          /* RTM_TRACE_REC_* */
    uint8_t flags;          /* RTM_TRACE_REC_FROM_REALLOC ... */
    uint8_t reserved;
} rtm_trace_record_t;

/* Bytes of the control block at the start of the tracer's memory. */
#define RTM_TRACE_CTRL_BYTES (sizeof(rtm_port_lock_t) + 36u * sizeof(void *) + 64u)

/* Smallest power of two >= x, for 1 <= x <= 2^31, as a constant expression. */
#define RTM__TR_OR(v, k) ((v) | ((v) >> (k)))
#define RTM_TRACE_POW2(x)                                                                 \
    (RTM__TR_OR(RTM__TR_OR(RTM__TR_OR(RTM__TR_OR(RTM__TR_OR((size_t)(x) - 1u, 1), 2), 4), \
                           8),                                                            \
                16) +                                                                     \
     1u)

/* Hash slots for n records (4 bytes each). */
#define RTM_TRACE_INDEX_SLOTS(n) RTM_TRACE_POW2(2u * (size_t)(n))

/* Memory that rtm_trace_init turns into exactly n records (n >= 1). */
#define RTM_TRACE_BYTES(n)                                                   \
    (RTM_TRACE_CTRL_BYTES + (size_t)(n) * sizeof(rtm_trace_record_t) + \
     RTM_TRACE_INDEX_SLOTS(n) * sizeof(uint32_t))

/* Alignment rtm_trace_init requires. */
#define RTM_TRACE_MEM_ALIGN 8u

/* Static storage for a tracer of n records: pass name, sizeof name to
 * rtm_trace_init. */
#define RTM_TRACE_DEFINE(name, n) \
    static _Alignas(RTM_TRACE_MEM_ALIGN) uint8_t name[RTM_TRACE_BYTES(n)]

/* Creates a stopped tracer over mem[0..bytes). NULL if mem is NULL or not
 * 8-aligned, fewer than RTM_TRACE_BYTES(1) bytes, or the port refuses the
 * lock. O(index slots) (clears the hash table). Not from an ISR. */
rtm_trace_t *rtm_trace_init(void *mem, size_t bytes);

/* Releases the lock. Detach the tracer from every heap first (the memory
 * may be reused afterwards). NULL is ignored. */
void rtm_trace_deinit(rtm_trace_t *trace);

/* Records the memory holds. O(1). 0 for NULL. */
size_t rtm_trace_capacity(const rtm_trace_t *trace);

/* The observer function; ctx is the tracer. Events no heap sends (an
 * unknown kind, a NULL block) are ignored. Use it directly, through
 * rtm_trace_attach, or in an rtm_observer_chain (observer.h) shared with
 * task statistics. Bounded: expected O(1) hash work, plus formatting and
 * one output-hook call when streaming (under the heap lock: the output
 * hook must not use a traced heap). */
void rtm_trace_observer(const rtm_heap_event_t *event, void *ctx);

/* rtm_heap_set_observer(heap, rtm_trace_observer, trace): replaces the
 * heap's observer. Detach with rtm_heap_set_observer(heap, NULL, NULL). */
void rtm_trace_attach(rtm_trace_t *trace, rtm_heap_t *heap);

/* Clears every record and counter and starts recording in mode. The
 * checkpoint sequence keeps counting (old checkpoints stay comparable).
 * False for NULL or an unknown mode. O(capacity + index slots). */
bool rtm_trace_start(rtm_trace_t *trace, rtm_trace_mode_t mode);

/* Stops recording and streaming; records are kept for dump and queries.
 * Frees that happen while stopped are missed: their records stay live
 * (a later allocation at the same address marks them STALE). O(1). */
void rtm_trace_stop(rtm_trace_t *trace);

/* Keeps matching frees (and streaming) but records no new allocation. O(1). */
void rtm_trace_pause_allocs(rtm_trace_t *trace);

/* Back to RUNNING after stop or pause, records kept. No effect before the
 * first start. O(1). */
void rtm_trace_resume(rtm_trace_t *trace);

/* The state. O(1), takes the lock; RTM_TRACE_STOPPED for NULL. */
rtm_trace_state_t rtm_trace_state(const rtm_trace_t *trace);

/* Live stream: on = write "# rtmem-trace 1" now, then one line per event
 * (docs/formats.md) through the output hook while the tracer is RUNNING or
 * PAUSED, whether or not the event fits in the buffer. O(1). */
void rtm_trace_set_stream(rtm_trace_t *trace, bool on);

typedef enum rtm_trace_stream_format {
    RTM_TRACE_STREAM_TEXT = 0,  /* rtmem-trace lines (the default) */
    RTM_TRACE_STREAM_TELEMETRY  /* each of those lines wrapped in a telemetry object,
                                   {"rtmem":1,"type":"trace","ms":T,"line":"..."}, so
                                   it can share a stream with the monitor's lines */
} rtm_trace_stream_format_t;

/* Chooses how the live stream is written (docs/formats.md). Call before
 * rtm_trace_set_stream(trace, true): the header line is written in the
 * format in force then. Unknown values are ignored. O(1). */
void rtm_trace_set_stream_format(rtm_trace_t *trace, rtm_trace_stream_format_t format);

/* Optional task names for the task= field: fn copies a NUL-terminated name
 * of task into buf[0..len) and returns true, or returns false (the id is
 * written in hex). Called without the tracer lock, under the heap lock.
 * rtm_task_stats_name_of (task_stats.h) fits. NULL removes it. */
typedef bool (*rtm_trace_task_name_fn)(uintptr_t task, char *buf, size_t len, void *ctx);
void rtm_trace_set_task_namer(rtm_trace_t *trace, rtm_trace_task_name_fn fn, void *ctx);

typedef struct rtm_trace_summary {
    rtm_trace_mode_t mode;     /* 0 before the first start */
    rtm_trace_state_t state;
    size_t capacity;           /* records the buffer holds */
    size_t records;            /* records in the buffer (LEAKS: == live) */
    size_t live;               /* records of live blocks */
    size_t high_water;         /* most records at once since start */
    uint32_t allocs;           /* allocation events while RUNNING, recorded or not */
    uint32_t frees;            /* free events that matched a record */
    uint32_t reallocs;         /* realloc events while RUNNING or PAUSED */
    uint32_t unmatched_frees;  /* frees of blocks with no record (from before start) */
    uint32_t overflow;         /* allocations not recorded: buffer full */
    uint32_t stale;            /* records ended because their address came back */
    uint64_t live_bytes;       /* requested bytes of live records */
    uint64_t alloc_bytes;      /* requested bytes of all allocation events while RUNNING */
    uint32_t seq;              /* the current sequence number (= rtm_trace_checkpoint) */
} rtm_trace_summary_t;

/* Fills *out. O(1). False for NULL arguments. */
bool rtm_trace_summary(rtm_trace_t *trace, rtm_trace_summary_t *out);

/* Writes the summary comment lines (docs/formats.md) through the output
 * hook. O(1). */
void rtm_trace_print_summary(rtm_trace_t *trace);

/* Writes "# rtmem-trace 1", the summary lines, then one 'a'/'A' line per
 * live record and, if include_freed (ALL mode), an 'a'/'A' line followed by
 * an 'f' line per freed record, in buffer order, then "# end". Takes the
 * lock once per record, never while writing: O(capacity), and a dump taken
 * while other tasks allocate is not a snapshot. */
void rtm_trace_dump(rtm_trace_t *trace, bool include_freed);

/* Copies the live record of ptr into *out. Expected O(1). */
bool rtm_trace_find(rtm_trace_t *trace, const void *ptr, rtm_trace_record_t *out);

/* Owner of a live block for the debug layer's corruption reports: the
 * allocating task and site (file, line, callers[0]) of ptr's record.
 * Same type as rtm_block_owner_fn in debug.h; register it with
 * rtm_debug_set_owner_lookup(rtm_trace_owner_lookup, trace). ctx is the
 * tracer. False if ptr has no live record. Expected O(1), takes the tracer
 * lock (debug.h calls it with no heap lock held). */
bool rtm_trace_owner_lookup(const void *ptr, uintptr_t *task, rtm_alloc_site_t *site, void *ctx);

/* Copies up to n records from buffer slot first on (unused slots skipped)
 * into out; returns how many; *next (if not NULL) is where to go on, or
 * rtm_trace_capacity() at the end (also for a first past the end).
 * O(slots visited), lock held. */
size_t rtm_trace_records(rtm_trace_t *trace, size_t first, rtm_trace_record_t *out, size_t n,
                         size_t *next);

/* The current sequence number: allocations recorded after this call have a
 * larger one. Counts allocation events while RUNNING or PAUSED; compared
 * modulo 2^32 (valid for 2^31 allocations). O(1). 0 for NULL. */
uint32_t rtm_trace_checkpoint(rtm_trace_t *trace);

/* One call site's leaks. */
typedef struct rtm_trace_leak_group {
    const void *callers[RTM_TRACE_DEPTH];
    const char *file;       /* NULL when the allocation gave no file */
    uint32_t line;
    size_t blocks;
    uint64_t bytes;         /* requested bytes */
    const void *first_ptr;  /* the block of the group with the lowest sequence number */
    uint32_t first_seq;
} rtm_trace_leak_group_t;

typedef struct rtm_trace_leak_totals {
    uint32_t checkpoint;
    size_t groups;            /* sites listed, plus 1 when some did not fit
                                 (how many those are is not counted) */
    size_t blocks;            /* all live blocks after the checkpoint */
    uint64_t bytes;
    size_t unlisted_blocks;   /* in sites that did not fit the array */
    uint64_t unlisted_bytes;
    uint32_t overflow;        /* allocations the buffer lost: the report may be short */
} rtm_trace_leak_totals_t;

/* Live records allocated after checkpoint, grouped by (callers, file,
 * line) into groups[0..max), sorted by bytes (largest first). Returns the
 * number of groups written. When there are more sites than max, the first
 * max sites met in buffer order are listed and the others are summed in
 * totals->unlisted_* (so size max generously, or narrow the checkpoint). totals may be NULL; groups may be NULL if max is 0.
 * Lock held throughout: O(records * max + max^2). */
size_t rtm_trace_leaks_since(rtm_trace_t *trace, uint32_t checkpoint,
                             rtm_trace_leak_group_t *groups, size_t max,
                             rtm_trace_leak_totals_t *totals);

/* Writes the report of rtm_trace_leaks_since through the output hook
 * (docs/formats.md, "Leak report"). No lock. totals may be NULL. */
void rtm_trace_print_leaks(const rtm_trace_leak_group_t *groups, size_t n,
                           const rtm_trace_leak_totals_t *totals);

#ifdef __cplusplus
}
#endif

#endif
