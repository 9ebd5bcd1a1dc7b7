/*
 * Heap tracing (trace.h). Layout of the caller's memory:
 *
 *   [struct rtm_trace, padded to RTM_TRACE_CTRL_BYTES]
 *   [rtm_trace_record_t rec[capacity]]
 *   [uint32_t index[slots]]      slots = power of two >= 2 * capacity
 *
 * index[] holds record numbers of live records (EMPTY otherwise), probed
 * linearly from hash(ptr). Since at most capacity records are live, the
 * table is at most half full, so a probe sequence always ends at an EMPTY
 * slot and is short on average.
 */
#include "rtmem/trace.h"

#include <string.h>

#include "rtmem/output.h"

#define TRACE_MAGIC 0x72545243u /* "rTRC" */
#define EMPTY UINT32_MAX

struct rtm_trace {
    uint32_t magic;
    rtm_trace_mode_t mode;
    rtm_trace_state_t state;
    bool stream;
    bool stream_telemetry;
    bool overflow_reported;
    rtm_trace_record_t *rec;
    uint32_t *index;
    uint32_t capacity;
    uint32_t mask;        /* index slots - 1 */
    uint32_t shift;       /* 32 - log2(index slots) */
    uint32_t used;        /* slots handed out at least once since start */
    uint32_t free_head;   /* LEAKS: chain of released slots through rec[].size */
    uint32_t records;
    uint32_t live;
    uint32_t high_water;
    uint32_t seq;
    uint32_t allocs, frees, reallocs, unmatched, overflow, stale;
    uint64_t live_bytes, alloc_bytes;
    rtm_trace_task_name_fn namer;
    void *namer_ctx;
    rtm_port_lock_t lock;
};

_Static_assert(sizeof(struct rtm_trace) <= RTM_TRACE_CTRL_BYTES,
               "struct rtm_trace outgrew RTM_TRACE_CTRL_BYTES");
_Static_assert(RTM_TRACE_CTRL_BYTES % 8u == 0, "records must start 8-aligned");
_Static_assert(sizeof(rtm_trace_record_t) % sizeof(void *) == 0,
               "records must keep pointer alignment in an array");

static bool trace_ok(const rtm_trace_t *t)
{
    return t != NULL && t->magic == TRACE_MAGIC;
}

/* Block addresses are at least 4-aligned, so the low bits carry nothing;
 * the multiply (Fibonacci hashing) spreads every bit of the rest into the
 * top bits of the product, which are the ones kept. */
static uint32_t slot_of(const rtm_trace_t *t, const void *ptr)
{
    uint64_t p = (uint64_t)(uintptr_t)ptr;
    uint32_t x = (uint32_t)(p >> 2) ^ (uint32_t)(p >> 34);
    return (uint32_t)((x * 2654435769u) >> t->shift) & t->mask;
}

/* Index slot holding ptr's record, or EMPTY. */
static uint32_t index_find(const rtm_trace_t *t, const void *ptr)
{
    uint32_t i = slot_of(t, ptr);
    while (t->index[i] != EMPTY) {
        if (t->rec[t->index[i]].ptr == ptr) {
            return i;
        }
        i = (i + 1u) & t->mask;
    }
    return EMPTY;
}

static void index_insert(rtm_trace_t *t, uint32_t r)
{
    uint32_t i = slot_of(t, t->rec[r].ptr);
    while (t->index[i] != EMPTY) {
        i = (i + 1u) & t->mask;
    }
    t->index[i] = r;
}

/* Backward-shift deletion: entries after the hole that may move into it
 * (their home slot is not cyclically in (hole, j]) are moved back, so no
 * tombstones accumulate and lookups stay as short as at insertion. */
static void index_remove(rtm_trace_t *t, uint32_t hole)
{
    uint32_t j = hole;
    for (;;) {
        j = (j + 1u) & t->mask;
        if (t->index[j] == EMPTY) {
            break;
        }
        uint32_t home = slot_of(t, t->rec[t->index[j]].ptr);
        /* distance from home to j versus from hole to j, cyclically */
        if (((j - home) & t->mask) >= ((j - hole) & t->mask)) {
            t->index[hole] = t->index[j];
            hole = j;
        }
    }
    t->index[hole] = EMPTY;
}

static void reset_records(rtm_trace_t *t)
{
    memset(t->rec, 0, (size_t)t->capacity * sizeof t->rec[0]);
    memset(t->index, 0xff, ((size_t)t->mask + 1u) * sizeof t->index[0]);
    t->used = 0;
    t->free_head = EMPTY;
    t->records = t->live = t->high_water = 0;
    t->allocs = t->frees = t->reallocs = t->unmatched = t->overflow = t->stale = 0;
    t->live_bytes = t->alloc_bytes = 0;
    t->overflow_reported = false;
}

/* Largest n with n records + pow2(2n) index slots in avail bytes. For each
 * candidate table size s the best n is min(s/2, (avail - 4s)/record);
 * RTM_TRACE_BYTES(n) therefore gives back exactly n. */
static uint32_t capacity_for(size_t avail, uint32_t *slots)
{
    uint32_t best = 0;
    for (size_t s = 2; s <= ((size_t)1 << 31) && s <= avail / sizeof(uint32_t); s *= 2u) {
        size_t n = (avail - s * sizeof(uint32_t)) / sizeof(rtm_trace_record_t);
        if (n > s / 2u) {
            n = s / 2u;
        }
        if (n > best) {
            best = (uint32_t)n;
        }
    }
    uint32_t s = 2;
    while (s < 2u * best) {
        s *= 2u;
    }
    *slots = s;
    return best;
}

rtm_trace_t *rtm_trace_init(void *mem, size_t bytes)
{
    if (mem == NULL || ((uintptr_t)mem % RTM_TRACE_MEM_ALIGN) != 0 ||
        bytes < RTM_TRACE_BYTES(1)) {
        return NULL;
    }
    uint32_t slots = 0;
    uint32_t cap = capacity_for(bytes - RTM_TRACE_CTRL_BYTES, &slots);
    if (cap == 0) {
        return NULL;
    }
    rtm_trace_t *t = mem;
    memset(t, 0, sizeof *t);
    if (!rtm_port_lock_init(&t->lock)) {
        return NULL;
    }
    uint8_t *base = mem;
    t->rec = (rtm_trace_record_t *)(void *)(base + RTM_TRACE_CTRL_BYTES);
    t->index = (uint32_t *)(void *)(base + RTM_TRACE_CTRL_BYTES +
                                    (size_t)cap * sizeof(rtm_trace_record_t));
    t->capacity = cap;
    t->mask = slots - 1u;
    t->shift = 32u;
    for (uint32_t v = slots; v > 1u; v >>= 1) {
        t->shift--;
    }
    t->state = RTM_TRACE_STOPPED;
    reset_records(t);
    t->magic = TRACE_MAGIC;
    return t;
}

void rtm_trace_deinit(rtm_trace_t *t)
{
    if (!trace_ok(t)) {
        return;
    }
    t->magic = 0;
    rtm_port_lock_destroy(&t->lock);
}

size_t rtm_trace_capacity(const rtm_trace_t *t)
{
    return trace_ok(t) ? t->capacity : 0;
}

void rtm_trace_attach(rtm_trace_t *t, rtm_heap_t *heap)
{
    if (trace_ok(t) && heap != NULL) {
        rtm_heap_set_observer(heap, rtm_trace_observer, t);
    }
}

bool rtm_trace_start(rtm_trace_t *t, rtm_trace_mode_t mode)
{
    if (!trace_ok(t) || (mode != RTM_TRACE_LEAKS && mode != RTM_TRACE_ALL)) {
        return false;
    }
    rtm_port_lock(&t->lock);
    reset_records(t);
    t->mode = mode;
    t->state = RTM_TRACE_RUNNING;
    rtm_port_unlock(&t->lock);
    return true;
}

static void set_state(rtm_trace_t *t, rtm_trace_state_t s)
{
    if (!trace_ok(t)) {
        return;
    }
    rtm_port_lock(&t->lock);
    if (t->mode != 0) { /* never started: stays stopped */
        t->state = s;
    }
    rtm_port_unlock(&t->lock);
}

void rtm_trace_stop(rtm_trace_t *t)
{
    set_state(t, RTM_TRACE_STOPPED);
}

void rtm_trace_pause_allocs(rtm_trace_t *t)
{
    set_state(t, RTM_TRACE_PAUSED);
}

void rtm_trace_resume(rtm_trace_t *t)
{
    set_state(t, RTM_TRACE_RUNNING);
}

rtm_trace_state_t rtm_trace_state(const rtm_trace_t *t)
{
    if (!trace_ok(t)) {
        return RTM_TRACE_STOPPED;
    }
    /* Under the lock: a plain read racing set_state on another task is a
     * data race in C11 (ThreadSanitizer reports it). The lock is the
     * tracer's own mutable part; the const only promises no record
     * changes. */
    rtm_port_lock_t *lock = (rtm_port_lock_t *)&t->lock;
    rtm_port_lock(lock);
    rtm_trace_state_t s = t->state;
    rtm_port_unlock(lock);
    return s;
}

void rtm_trace_set_task_namer(rtm_trace_t *t, rtm_trace_task_name_fn fn, void *ctx)
{
    if (!trace_ok(t)) {
        return;
    }
    rtm_port_lock(&t->lock);
    t->namer = fn;
    t->namer_ctx = ctx;
    rtm_port_unlock(&t->lock);
}

/* ------------------------------------------------------------------ */
/* Text (docs/formats.md)                                              */

/* The last path component: keeps lines short; the host matches sites by
 * file name and line. */
static const char *base_name(const char *path)
{
    const char *b = path;
    for (const char *p = path; *p != '\0'; p++) {
        if (*p == '/' || *p == '\\') {
            b = p + 1;
        }
    }
    return b;
}

/* Names are cut to NAME_MAX_LEN - 1 bytes before escaping (formats.md,
 * "Length"): the task name's buffer keeps one byte for its NUL. */
#define NAME_MAX_LEN 24u

static void put_task(rtm_line_t *line, uintptr_t task, rtm_trace_task_name_fn namer, void *ctx)
{
    rtm_line_str(line, " task=");
    char name[NAME_MAX_LEN];
    if (namer != NULL && namer(task, name, sizeof name, ctx) && name[0] != '\0') {
        name[sizeof name - 1u] = '\0';
        rtm_line_token(line, name, sizeof name);
    } else {
        rtm_line_hex(line, (uint64_t)task);
    }
}

static void put_callers(rtm_line_t *line, const void *const *callers)
{
    if (callers[0] == NULL) {
        return;
    }
    rtm_line_str(line, " caller=");
    rtm_line_ptr(line, callers[0]);
    for (size_t i = 1; i < RTM_TRACE_DEPTH && callers[i] != NULL; i++) {
        rtm_line_str(line, ":");
        rtm_line_ptr(line, callers[i]);
    }
}

/* "a ID SIZE" / "A ID SIZE ALIGN" / "r OLD NEW SIZE" and the key=values of
 * an allocation. */
static void format_alloc(rtm_line_t *line, const rtm_trace_record_t *r, const void *old_ptr,
                         rtm_trace_task_name_fn namer, void *ctx)
{
    rtm_line_init(line);
    if (old_ptr != NULL) {
        rtm_line_str(line, "r ");
        rtm_line_ptr(line, old_ptr);
        rtm_line_str(line, " ");
    } else {
        rtm_line_str(line, r->align_log2 != 0 ? "A " : "a ");
    }
    rtm_line_ptr(line, r->ptr);
    rtm_line_str(line, " ");
    rtm_line_uint(line, r->size);
    if (old_ptr == NULL && r->align_log2 != 0) {
        rtm_line_str(line, " ");
        rtm_line_uint(line, (uint64_t)1u << r->align_log2);
    }
    rtm_line_str(line, " t=");
    rtm_line_uint(line, r->time);
    put_task(line, r->task, namer, ctx);
    /* An unnamed heap ("") has no field: "heap=" with no value is a
     * malformed field that every reader refuses. */
    if (r->heap != NULL && rtm_heap_name(r->heap)[0] != '\0') {
        rtm_line_str(line, " heap=");
        rtm_line_token(line, rtm_heap_name(r->heap), NAME_MAX_LEN - 1u);
    }
    put_callers(line, r->callers);
    if (r->file != NULL) {
        rtm_line_str(line, " site=");
        rtm_line_token(line, base_name(r->file), 48u);
        rtm_line_str(line, ":");
        rtm_line_uint(line, r->line);
    }
}

static void format_free(rtm_line_t *line, const void *ptr, uint32_t time, uintptr_t task,
                        const void *caller, rtm_trace_task_name_fn namer, void *ctx)
{
    rtm_line_init(line);
    rtm_line_str(line, "f ");
    rtm_line_ptr(line, ptr);
    rtm_line_str(line, " t=");
    rtm_line_uint(line, time);
    put_task(line, task, namer, ctx);
    if (caller != NULL) {
        rtm_line_str(line, " caller=");
        rtm_line_ptr(line, caller);
    }
}

static void write_str(const char *s)
{
    rtm_output_write(s, strlen(s));
}

/* The "# rtmem-record exe_base= exe_lo= exe_hi=" line that rtmem record
 * writes too: where the executable is loaded, so `rtmem leaks --elf` can
 * symbolize a position-independent program's callers. False (no line)
 * when the port does not know (firmware runs at its link addresses). */
static bool format_image(rtm_line_t *line)
{
    rtm_port_image_t img;
    if (!rtm_port_program_image(&img)) {
        return false;
    }
    rtm_line_init(line);
    rtm_line_str(line, "# rtmem-record exe_base=");
    rtm_line_hex(line, img.base);
    rtm_line_str(line, " exe_lo=");
    rtm_line_hex(line, img.lo);
    rtm_line_str(line, " exe_hi=");
    rtm_line_hex(line, img.hi);
    return true;
}

/* Writes one finished stream line, wrapped as telemetry when asked. */
static void stream_line(rtm_line_t *line, bool telemetry, uint32_t ms)
{
    if (!telemetry) {
        rtm_line_emit(line);
        return;
    }
    char buf[RTM_LINE_MAX + 64u];
    rtm_line_t wrap;
    rtm_line_init_buffer(&wrap, buf, sizeof buf);
    rtm_line_str(&wrap, "{\"rtmem\":1,\"type\":\"trace\",\"ms\":");
    rtm_line_uint(&wrap, ms);
    rtm_line_str(&wrap, ",\"line\":");
    rtm_line_json_str(&wrap, rtm_line_text(line));
    rtm_line_str(&wrap, "}");
    rtm_line_emit(&wrap);
}

void rtm_trace_set_stream_format(rtm_trace_t *t, rtm_trace_stream_format_t format)
{
    if (!trace_ok(t) || (format != RTM_TRACE_STREAM_TEXT && format != RTM_TRACE_STREAM_TELEMETRY)) {
        return;
    }
    rtm_port_lock(&t->lock);
    t->stream_telemetry = format == RTM_TRACE_STREAM_TELEMETRY;
    rtm_port_unlock(&t->lock);
}

void rtm_trace_set_stream(rtm_trace_t *t, bool on)
{
    if (!trace_ok(t)) {
        return;
    }
    /* The header goes out before the first event line can. */
    if (on) {
        rtm_port_lock(&t->lock);
        bool telemetry = t->stream_telemetry;
        rtm_port_unlock(&t->lock);
        rtm_line_t header;
        rtm_line_init(&header);
        rtm_line_str(&header, "# rtmem-trace 1");
        stream_line(&header, telemetry, rtm_port_ticks());
        if (format_image(&header)) {
            stream_line(&header, telemetry, rtm_port_ticks());
        }
    }
    rtm_port_lock(&t->lock);
    t->stream = on;
    rtm_port_unlock(&t->lock);
}

/* ------------------------------------------------------------------ */
/* The observer                                                        */

#if RTM_TRACE_FRAME_WALK && RTM_TRACE_DEPTH > 1 && (defined(__GNUC__) || defined(__clang__))
/* Walks return addresses until the application's call (site->caller) and
 * keeps the frames right after it. Every step reads one more frame, so the
 * walk stops as early as it can: at the first NULL (end of the chain, or a
 * target that cannot unwind), once callers[] is full, or after
 * RTM_TR_WALK_MAX frames (rtmem itself is at most 6 frames deep between
 * the application and here). __builtin_return_address needs a constant
 * argument, hence the unrolled steps. Kept out of line so that frame 0 is
 * this function's caller on every compiler. */
#define RTM_TR_WALK_MAX 12
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wframe-address"
__attribute__((noinline)) static void walk_frames(const void *first, const void **out)
{
    size_t have = 0; /* 0 = first not met yet; else next out[] slot */
    const void *ra;
#define RTM_TR_FRAME(k)                                        \
    ra = __builtin_return_address(k);                          \
    if (ra == NULL) {                                          \
        return;                                                \
    }                                                          \
    if (have != 0) {                                           \
        out[have++] = ra;                                      \
        if (have == RTM_TRACE_DEPTH) {                         \
            return;                                            \
        }                                                      \
    } else if (ra == first) {                                  \
        have = 1;                                              \
    }
    RTM_TR_FRAME(0) RTM_TR_FRAME(1) RTM_TR_FRAME(2) RTM_TR_FRAME(3)
    RTM_TR_FRAME(4) RTM_TR_FRAME(5) RTM_TR_FRAME(6) RTM_TR_FRAME(7)
    RTM_TR_FRAME(8) RTM_TR_FRAME(9) RTM_TR_FRAME(10) RTM_TR_FRAME(11)
#undef RTM_TR_FRAME
}
#pragma GCC diagnostic pop
#endif

/* A slot for a new record, or EMPTY when the buffer is full. */
static uint32_t take_slot(rtm_trace_t *t)
{
    if (t->free_head != EMPTY) {
        uint32_t r = t->free_head;
        t->free_head = t->rec[r].size;
        return r;
    }
    if (t->used < t->capacity) {
        return t->used++;
    }
    return EMPTY;
}

/* Ends the record in index slot i (free, realloc, or stale). */
static void end_record(rtm_trace_t *t, uint32_t i, uintptr_t task, uint32_t now,
                       const void *caller, uint8_t flag)
{
    uint32_t r = t->index[i];
    rtm_trace_record_t *rec = &t->rec[r];
    index_remove(t, i);
    t->live--;
    t->live_bytes -= rec->size;
    if (t->mode == RTM_TRACE_ALL) {
        rec->state = RTM_TRACE_REC_FREED;
        rec->free_task = task;
        rec->free_time = now;
        rec->free_caller = caller;
        rec->flags = (uint8_t)(rec->flags | flag);
    } else {
        memset(rec, 0, sizeof *rec);
        rec->state = RTM_TRACE_REC_UNUSED;
        rec->size = t->free_head; /* free chain link */
        t->free_head = r;
        t->records--;
    }
}

static uint8_t log2_of(size_t alignment)
{
    uint8_t k = 0;
    while (k < 63u && ((size_t)1 << k) < alignment) {
        k++;
    }
    return k;
}

/* Records an allocation; fills *out with the record (for the stream) and
 * returns whether it was kept. */
static bool record_alloc(rtm_trace_t *t, const rtm_trace_record_t *proto)
{
    uint32_t i = index_find(t, proto->ptr);
    if (i != EMPTY) {
        /* Its free went unseen (tracer stopped meanwhile). */
        t->stale++;
        end_record(t, i, 0, proto->time, NULL, RTM_TRACE_REC_STALE);
    }
    uint32_t r = take_slot(t);
    if (r == EMPTY) {
        t->overflow++;
        return false;
    }
    t->rec[r] = *proto;
    index_insert(t, r);
    t->records++;
    t->live++;
    t->live_bytes += proto->size;
    if (t->records > t->high_water) {
        t->high_water = t->records;
    }
    return true;
}

void rtm_trace_observer(const rtm_heap_event_t *ev, void *ctx)
{
    rtm_trace_t *t = ctx;
    /* A heap never sends an unknown kind or an event without a block; the
     * observer is public, so such an event is ignored rather than
     * recorded as a block at NULL. */
    if (!trace_ok(t) || ev == NULL || ev->ptr == NULL ||
        (ev->kind != RTM_EVENT_ALLOC && ev->kind != RTM_EVENT_FREE &&
         ev->kind != RTM_EVENT_REALLOC)) {
        return;
    }
    rtm_trace_record_t r;
    memset(&r, 0, sizeof r);
    r.ptr = ev->ptr;
    r.heap = ev->heap;
    r.task = rtm_port_task_id();
    r.time = rtm_port_ticks();
    r.size = ev->size > UINT32_MAX ? UINT32_MAX : (uint32_t)ev->size;
    r.state = RTM_TRACE_REC_LIVE;
    if (ev->kind != RTM_EVENT_FREE && ev->site != NULL) {
        r.file = ev->site->file;
        r.line = ev->site->line;
        r.callers[0] = ev->site->caller;
#if RTM_TRACE_FRAME_WALK && RTM_TRACE_DEPTH > 1 && (defined(__GNUC__) || defined(__clang__))
        if (r.callers[0] != NULL) {
            walk_frames(r.callers[0], r.callers);
        }
#endif
    }
    if (ev->kind == RTM_EVENT_ALLOC && ev->alignment > 1u) {
        r.align_log2 = log2_of(ev->alignment);
    }
    if (ev->kind == RTM_EVENT_REALLOC) {
        r.flags = RTM_TRACE_REC_FROM_REALLOC;
    }

    bool emit = false, overflow_note = false, telemetry = false;
    rtm_trace_task_name_fn namer = NULL;
    void *namer_ctx = NULL;
    rtm_port_lock(&t->lock);
    if (t->state == RTM_TRACE_STOPPED) {
        rtm_port_unlock(&t->lock);
        return;
    }
    bool recording = t->state == RTM_TRACE_RUNNING;
    if (ev->kind == RTM_EVENT_FREE) {
        uint32_t i = index_find(t, ev->ptr);
        if (i != EMPTY) {
            end_record(t, i, r.task, r.time, ev->site != NULL ? ev->site->caller : NULL, 0);
            t->frees++;
        } else {
            t->unmatched++;
        }
    } else {
        if (ev->kind == RTM_EVENT_REALLOC) {
            t->reallocs++;
            uint32_t i = index_find(t, ev->old_ptr);
            if (i != EMPTY) {
                end_record(t, i, r.task, r.time, ev->site != NULL ? ev->site->caller : NULL,
                           RTM_TRACE_REC_ENDED_BY_REALLOC);
            }
        }
        t->seq++;
        r.seq = t->seq;
        if (recording) {
            if (ev->kind == RTM_EVENT_ALLOC) {
                t->allocs++;
                t->alloc_bytes += r.size;
            }
            if (!record_alloc(t, &r) && !t->overflow_reported) {
                t->overflow_reported = true;
                overflow_note = true;
            }
        }
    }
    if (t->stream) {
        emit = true;
        telemetry = t->stream_telemetry;
        namer = t->namer;
        namer_ctx = t->namer_ctx;
    }
    uint32_t cap = t->capacity;
    rtm_port_unlock(&t->lock);

    if (overflow_note) {
        rtm_line_t note;
        rtm_line_init(&note);
        rtm_line_str(&note, "# rtmem-trace overflow capacity=");
        rtm_line_uint(&note, cap);
        rtm_line_str(&note, " (further allocations not recorded)");
        stream_line(&note, telemetry, r.time);
    }
    if (emit) {
        rtm_line_t line;
        if (ev->kind == RTM_EVENT_FREE) {
            format_free(&line, ev->ptr, r.time, r.task, ev->site != NULL ? ev->site->caller : NULL, namer,
                        namer_ctx);
        } else {
            format_alloc(&line, &r, ev->kind == RTM_EVENT_REALLOC ? ev->old_ptr : NULL, namer,
                         namer_ctx);
        }
        stream_line(&line, telemetry, r.time);
    }
}

/* ------------------------------------------------------------------ */
/* Queries                                                             */

bool rtm_trace_summary(rtm_trace_t *t, rtm_trace_summary_t *out)
{
    if (!trace_ok(t) || out == NULL) {
        return false;
    }
    rtm_port_lock(&t->lock);
    out->mode = t->mode;
    out->state = t->state;
    out->capacity = t->capacity;
    out->records = t->records;
    out->live = t->live;
    out->high_water = t->high_water;
    out->allocs = t->allocs;
    out->frees = t->frees;
    out->reallocs = t->reallocs;
    out->unmatched_frees = t->unmatched;
    out->overflow = t->overflow;
    out->stale = t->stale;
    out->live_bytes = t->live_bytes;
    out->alloc_bytes = t->alloc_bytes;
    out->seq = t->seq;
    rtm_port_unlock(&t->lock);
    return true;
}

void rtm_trace_print_summary(rtm_trace_t *t)
{
    rtm_trace_summary_t s;
    if (!rtm_trace_summary(t, &s)) {
        return;
    }
    static const char *const modes[] = {"none", "leaks", "all"};
    static const char *const states[] = {"stopped", "running", "paused"};
    rtm_line_t line;
    rtm_line_init(&line);
    rtm_line_str(&line, "# summary mode=");
    rtm_line_str(&line, modes[(unsigned)s.mode <= 2u ? (unsigned)s.mode : 0u]);
    rtm_line_str(&line, " state=");
    rtm_line_str(&line, states[(unsigned)s.state <= 2u ? (unsigned)s.state : 0u]);
    rtm_line_key_uint(&line, "records", s.records);
    rtm_line_key_uint(&line, "live", s.live);
    rtm_line_key_uint(&line, "capacity", s.capacity);
    rtm_line_key_uint(&line, "high_water", s.high_water);
    rtm_line_key_uint(&line, "overflow", s.overflow);
    rtm_line_emit(&line);
    rtm_line_init(&line);
    rtm_line_str(&line, "# totals");
    rtm_line_key_uint(&line, "allocs", s.allocs);
    rtm_line_key_uint(&line, "frees", s.frees);
    rtm_line_key_uint(&line, "reallocs", s.reallocs);
    rtm_line_key_uint(&line, "unmatched_frees", s.unmatched_frees);
    rtm_line_key_uint(&line, "stale", s.stale);
    rtm_line_key_uint(&line, "seq", s.seq);
    rtm_line_emit(&line);
    rtm_line_init(&line);
    rtm_line_str(&line, "# bytes");
    rtm_line_key_uint(&line, "live_bytes", s.live_bytes);
    rtm_line_key_uint(&line, "alloc_bytes", s.alloc_bytes);
    rtm_line_emit(&line);
}

void rtm_trace_dump(rtm_trace_t *t, bool include_freed)
{
    if (!trace_ok(t)) {
        return;
    }
    write_str("# rtmem-trace 1\n");
    rtm_line_t image;
    if (format_image(&image)) {
        rtm_line_emit(&image);
    }
    rtm_trace_print_summary(t);
    size_t lines = 0;
    for (uint32_t i = 0; i < t->capacity; i++) {
        rtm_trace_record_t r;
        rtm_port_lock(&t->lock);
        r = t->rec[i];
        rtm_trace_task_name_fn namer = t->namer;
        void *ctx = t->namer_ctx;
        rtm_port_unlock(&t->lock);
        if (r.state == RTM_TRACE_REC_UNUSED ||
            (r.state == RTM_TRACE_REC_FREED && !include_freed)) {
            continue;
        }
        rtm_line_t line;
        format_alloc(&line, &r, NULL, namer, ctx);
        rtm_line_key_uint(&line, "seq", r.seq);
        rtm_line_emit(&line);
        lines++;
        if (r.state == RTM_TRACE_REC_FREED) {
            format_free(&line, r.ptr, r.free_time, r.free_task, r.free_caller, namer, ctx);
            rtm_line_emit(&line);
        }
    }
    rtm_line_t end;
    rtm_line_init(&end);
    rtm_line_str(&end, "# end");
    rtm_line_key_uint(&end, "records", lines);
    rtm_line_emit(&end);
}

bool rtm_trace_find(rtm_trace_t *t, const void *ptr, rtm_trace_record_t *out)
{
    if (!trace_ok(t) || ptr == NULL) {
        return false;
    }
    rtm_port_lock(&t->lock);
    uint32_t i = index_find(t, ptr);
    if (i != EMPTY && out != NULL) {
        *out = t->rec[t->index[i]];
    }
    rtm_port_unlock(&t->lock);
    return i != EMPTY;
}

bool rtm_trace_owner_lookup(const void *ptr, uintptr_t *task, rtm_alloc_site_t *site, void *ctx)
{
    rtm_trace_record_t r;
    if (!rtm_trace_find(ctx, ptr, &r)) {
        return false;
    }
    if (task != NULL) {
        *task = r.task;
    }
    if (site != NULL) {
        site->file = r.file;
        site->line = r.line;
        site->caller = r.callers[0];
    }
    return true;
}

size_t rtm_trace_records(rtm_trace_t *t, size_t first, rtm_trace_record_t *out, size_t n,
                         size_t *next)
{
    if (!trace_ok(t) || (out == NULL && n > 0)) {
        if (next != NULL) {
            *next = rtm_trace_capacity(t);
        }
        return 0;
    }
    size_t got = 0, i = first < t->capacity ? first : t->capacity;
    rtm_port_lock(&t->lock);
    for (; i < t->capacity && got < n; i++) {
        if (t->rec[i].state != RTM_TRACE_REC_UNUSED) {
            out[got++] = t->rec[i];
        }
    }
    /* Skip trailing unused slots so *next says "done" when nothing is left. */
    while (i < t->capacity && t->rec[i].state == RTM_TRACE_REC_UNUSED) {
        i++;
    }
    rtm_port_unlock(&t->lock);
    if (next != NULL) {
        *next = i;
    }
    return got;
}

uint32_t rtm_trace_checkpoint(rtm_trace_t *t)
{
    if (!trace_ok(t)) {
        return 0;
    }
    rtm_port_lock(&t->lock);
    uint32_t s = t->seq;
    rtm_port_unlock(&t->lock);
    return s;
}

/* seq after cp, modulo 2^32. */
static bool after(uint32_t seq, uint32_t cp)
{
    return (uint32_t)(seq - cp - 1u) < 0x80000000u;
}

static bool same_site(const rtm_trace_leak_group_t *g, const rtm_trace_record_t *r)
{
    if (g->file != r->file || g->line != r->line) {
        return false;
    }
    for (size_t k = 0; k < RTM_TRACE_DEPTH; k++) {
        if (g->callers[k] != r->callers[k]) {
            return false;
        }
    }
    return true;
}

size_t rtm_trace_leaks_since(rtm_trace_t *t, uint32_t cp, rtm_trace_leak_group_t *groups,
                             size_t max, rtm_trace_leak_totals_t *totals)
{
    rtm_trace_leak_totals_t tot;
    memset(&tot, 0, sizeof tot);
    tot.checkpoint = cp;
    if (groups == NULL) {
        max = 0;
    }
    size_t n = 0;
    if (trace_ok(t)) {
        rtm_port_lock(&t->lock);
        tot.overflow = t->overflow;
        for (uint32_t i = 0; i < t->used; i++) {
            const rtm_trace_record_t *r = &t->rec[i];
            if (r->state != RTM_TRACE_REC_LIVE || !after(r->seq, cp)) {
                continue;
            }
            tot.blocks++;
            tot.bytes += r->size;
            size_t g = 0;
            while (g < n && !same_site(&groups[g], r)) {
                g++;
            }
            if (g == n) {
                if (n == max) {
                    /* Counted as unlisted; distinct unlisted sites are not
                     * told apart (that would need memory we do not have). */
                    tot.unlisted_blocks++;
                    tot.unlisted_bytes += r->size;
                    continue;
                }
                memset(&groups[g], 0, sizeof groups[g]);
                memcpy(groups[g].callers, r->callers, sizeof r->callers);
                groups[g].file = r->file;
                groups[g].line = r->line;
                groups[g].first_ptr = r->ptr;
                groups[g].first_seq = r->seq;
                n++;
            }
            groups[g].blocks++;
            groups[g].bytes += r->size;
            if ((uint32_t)(r->seq - cp) < (uint32_t)(groups[g].first_seq - cp)) {
                groups[g].first_seq = r->seq;
                groups[g].first_ptr = r->ptr;
            }
        }
        rtm_port_unlock(&t->lock);
    }
    /* Insertion sort, largest bytes first; ties by earliest allocation so
     * the order is deterministic. */
    for (size_t i = 1; i < n; i++) {
        rtm_trace_leak_group_t g = groups[i];
        size_t j = i;
        while (j > 0 && (groups[j - 1].bytes < g.bytes ||
                         (groups[j - 1].bytes == g.bytes &&
                          (uint32_t)(groups[j - 1].first_seq - cp) > (uint32_t)(g.first_seq - cp)))) {
            groups[j] = groups[j - 1];
            j--;
        }
        groups[j] = g;
    }
    tot.groups = n + (tot.unlisted_blocks > 0 ? 1u : 0u);
    if (totals != NULL) {
        *totals = tot;
    }
    return n;
}

void rtm_trace_print_leaks(const rtm_trace_leak_group_t *groups, size_t n,
                           const rtm_trace_leak_totals_t *totals)
{
    rtm_line_t line;
    if (totals != NULL) {
        rtm_line_init(&line);
        rtm_line_str(&line, "# leaks since=");
        rtm_line_uint(&line, totals->checkpoint);
        rtm_line_key_uint(&line, "blocks", totals->blocks);
        rtm_line_key_uint(&line, "bytes", totals->bytes);
        rtm_line_key_uint(&line, "sites", n);
        rtm_line_key_uint(&line, "unlisted_blocks", totals->unlisted_blocks);
        rtm_line_key_uint(&line, "unlisted_bytes", totals->unlisted_bytes);
        rtm_line_key_uint(&line, "overflow", totals->overflow);
        rtm_line_emit(&line);
    }
    for (size_t i = 0; groups != NULL && i < n; i++) {
        const rtm_trace_leak_group_t *g = &groups[i];
        rtm_line_init(&line);
        rtm_line_str(&line, "# leak");
        rtm_line_key_uint(&line, "blocks", g->blocks);
        rtm_line_key_uint(&line, "bytes", g->bytes);
        if (g->file != NULL) {
            rtm_line_str(&line, " site=");
            rtm_line_token(&line, base_name(g->file), 48u);
            rtm_line_str(&line, ":");
            rtm_line_uint(&line, g->line);
        }
        put_callers(&line, g->callers);
        rtm_line_str(&line, " first=");
        rtm_line_ptr(&line, g->first_ptr);
        rtm_line_emit(&line);
    }
}
