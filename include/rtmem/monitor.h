/*
 * rtmem monitor: memory health on a running device, continuously.
 *
 * A monitor samples what it watches on each tick and keeps, for each:
 *   memory (a heap, a capability region's heap, or a capability set):
 *     free, minimum-ever free, largest free block, used/free block counts,
 *     the fragmentation index, a history ring and the free-heap trend;
 *   pool: used, peak, failures, waits;
 *   task: heap bytes now/peak (from task statistics, when given) and the
 *     stack high-water mark (stack.h).
 * From the samples it raises and clears alerts (with hysteresis), derives
 * recommendations with the numbers behind them, and writes telemetry: one
 * JSON object per line, every line starting with {"rtmem":1, (the exact
 * format is in docs/formats.md).
 *
 * Everything is caller storage: the monitor, each watch, each history ring.
 *
 *     static rtm_monitor_t mon;
 *     static rtm_monitor_mem_t dram_watch;
 *     static rtm_monitor_sample_t dram_hist[64];
 *     rtm_monitor_config_t cfg = RTM_MONITOR_CONFIG_DEFAULT;
 *     cfg.on_alert = my_alert;
 *     rtm_monitor_init(&mon, &cfg);
 *     rtm_monitor_limits_t lim = {.low_free = 8192, .need_block = 4096};
 *     rtm_monitor_watch_heap(&mon, &dram_watch, heap, "DRAM", &lim, dram_hist, 64);
 *     ...
 *     rtm_monitor_tick(&mon);           // from a timer task, or rtm_monitor_run
 *
 * Definitions (docs/monitoring.md has them with examples):
 *   fragmentation  1 - largest_free / free, in per mille (0 when free is 0):
 *                  0 = all free memory in one block, 900 = the largest
 *                  block is a tenth of what is free.
 *   trend          least-squares slope of free bytes over the samples of the
 *                  last trend_window_ms, in bytes per minute (negative =
 *                  free memory shrinking). Valid once at least 3 samples
 *                  inside the window span at least half of it: sampled less
 *                  often than every trend_window_ms / 2, it never is.
 *   hysteresis     an alert raised at threshold T clears only when the value
 *                  is back past T by hysteresis_percent of T, rounded up to
 *                  a whole unit (for "below" alerts: value >= T + ceil(T h /
 *                  100); for "above" ones: value <= T - ceil(T min(h, 100)
 *                  / 100)), so any h > 0 leaves at least one unit between.
 *
 * Threads and locks: one task ticks (rtm_monitor_tick or rtm_monitor_run);
 * watches are added before the first tick or from that task. Queries
 * (status, recommendations) may come from any task. The monitor's lock is
 * never held while it calls a heap, capability, pool, trace,
 * task-statistics or stack function or the output hook, so the lock order
 * is always another object's lock, then the monitor's; alert callbacks run
 * with no rtmem lock held. The observers (rtm_monitor_heap_observer,
 * rtm_monitor_caps_observer) take only the monitor's lock, for
 * O(RTM_MONITOR_SIZE_SLOTS) work. Nothing here is for ISRs.
 *
 * Disabled cost: a monitor that is not ticked costs nothing; without its
 * observers attached, allocations never see it.
 */
#ifndef RTMEM_MONITOR_H
#define RTMEM_MONITOR_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtmem/caps.h"
#include "rtmem/config.h"
#include "rtmem/heap.h"
#include "rtmem/pool.h"
#include "rtmem/port.h"
#include "rtmem/task_stats.h"
#include "rtmem/trace.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options (defaults and limits in config.h): RTM_MONITOR_SIZE_SLOTS,
 * allocation sizes tracked per memory watch for the pool rule (8);
 * RTM_MONITOR_MAX_ALERTS_PER_TICK, alerts delivered per tick (16): more are
 * counted in rtm_monitor_status_t .alerts_dropped (they are raised all the
 * same, only not reported); RTM_MONITOR_LARGE_BYTES, see
 * rtm_monitor_caps_observer (4096). */

/* The telemetry format version: the value of the "rtmem" key. */
#define RTM_TELEMETRY_VERSION 1

typedef enum rtm_alert_kind {
    RTM_ALERT_LOW_FREE = 0,    /* memory: free < limits.low_free */
    RTM_ALERT_LOW_MIN_FREE,    /* memory: minimum-ever free < limits.low_min_free */
    RTM_ALERT_BLOCK_TOO_SMALL, /* memory: largest free block < limits.need_block */
    RTM_ALERT_FRAGMENTED,      /* memory: fragmentation > limits.max_frag_permille */
    RTM_ALERT_LEAK_TREND,      /* memory: free falls faster than limits.leak_bytes_per_min */
    RTM_ALERT_STACK_HIGH,      /* task: stack peak > max_stack_percent of its size */
    RTM_ALERT_POOL_EXHAUSTED,  /* pool: no block free, or an allocation failed since the
                                  last tick */
    RTM_ALERT_KIND_COUNT
} rtm_alert_kind_t;

typedef struct rtm_alert {
    rtm_alert_kind_t kind;
    bool raised;           /* true: raised now; false: cleared now */
    const char *source;    /* the watch's name */
    int64_t value;         /* the value that crossed: bytes, per mille, percent, bytes/min
                              (LEAK_TREND: the slope, negative), failures (POOL) */
    int64_t threshold;     /* the limit it crossed (LEAK_TREND: -limit) */
    uint32_t ms;           /* monitor time of the tick */
} rtm_alert_t;

/* Called once when an alert is raised and once when it clears. Runs in
 * the ticking task with no rtmem lock held; it may call rtmem. */
typedef void (*rtm_alert_fn)(const rtm_alert_t *alert, void *ctx);

typedef struct rtm_monitor_config {
    uint32_t period_ms;          /* rtm_monitor_run's sampling period; rtm_monitor_tick
                                    samples at most this often (0: on every call) */
    uint32_t trend_window_ms;    /* leak trend window (0: 60000) */
    uint8_t hysteresis_percent;  /* see above (0: none) */
    uint8_t max_stack_percent;   /* RTM_ALERT_STACK_HIGH above this (0: off) */
    uint8_t stack_margin_percent; /* stack and region-size advice: peak + this margin */
    bool telemetry;              /* write telemetry lines on every sample */
    rtm_alert_fn on_alert;       /* NULL: alerts are only written as telemetry */
    void *alert_ctx;
    rtm_task_stats_t *task_stats; /* per-task heap bytes; NULL: not reported */
    rtm_trace_t *trace;          /* whether tracing runs (the leak advice); may be NULL */
    uint32_t (*clock_ms)(void);  /* NULL: rtm_port_ticks() (ms on posix; ticks on
                                    FreeRTOS: pass a ms clock there, or tick rate 1 kHz) */
} rtm_monitor_config_t;

#define RTM_MONITOR_CONFIG_DEFAULT                                                                \
    {                                                                                          \
        1000u, 60000u, 10u, 90u, 25u, true, NULL, NULL, NULL, NULL, NULL                       \
    }

/* Per-memory limits; 0 turns that alert off. */
typedef struct rtm_monitor_limits {
    size_t low_free;             /* RTM_ALERT_LOW_FREE below this many free bytes */
    size_t low_min_free;         /* RTM_ALERT_LOW_MIN_FREE below this minimum-ever free */
    size_t need_block;           /* RTM_ALERT_BLOCK_TOO_SMALL: the largest block the
                                    application must always be able to get */
    uint32_t max_frag_permille;  /* RTM_ALERT_FRAGMENTED above this */
    uint32_t leak_bytes_per_min; /* RTM_ALERT_LEAK_TREND when the trend is below -this */
} rtm_monitor_limits_t;

/* One sample of one memory watch (history ring entry). 32-bit fields: one
 * sample is 20 bytes on every target. */
typedef struct rtm_monitor_sample {
    uint32_t ms;
    uint32_t free_bytes;
    uint32_t min_free_bytes;
    uint32_t largest_free;
    uint32_t used_blocks;
} rtm_monitor_sample_t;

/* What a memory watch knows after the last tick. */
typedef struct rtm_monitor_mem_status {
    const char *name;
    size_t total_bytes;
    size_t free_bytes;
    size_t min_free_bytes;
    size_t largest_free;
    size_t used_blocks;
    size_t free_blocks;
    size_t failed_count;
    uint32_t frag_permille;
    bool sampled;               /* false until a tick has read the memory (a watch
                                   added since the last tick), and again when its
                                   heap refuses a reading (deinitialised): every
                                   figure, alert, history sample and observer
                                   count (sizes, large blocks) is then 0 or
                                   gone, without an alert callback. Dropped the
                                   same way, then read afresh, when a reading
                                   shows another total or a failure count below
                                   the last (a heap initialised again between
                                   ticks; same size and no failures: not
                                   detected). A capability watch follows the
                                   registry instead: a region added or removed
                                   changes its figures, not its history */
    bool trend_valid;           /* >= 3 samples in the window span half of it */
    int32_t trend_bytes_per_min;
    uint32_t alerts;            /* bit (1 << rtm_alert_kind_t) per raised alert */
} rtm_monitor_mem_status_t;

/* The watch objects. Their fields are the monitor's: read them through the
 * functions below. They are complete types only so that they can be static. */
typedef struct rtm_monitor_size_slot {
    uint32_t size;   /* requested bytes rounded up to the heap's granularity */
    uint32_t allocs; /* allocations of this size (at most `error` too many) */
    uint32_t error;  /* allocations inherited from the size it replaced */
    uint32_t live;   /* live now (approximate, see rtm_monitor_heap_observer) */
    uint32_t peak;   /* highest live since it entered the table */
} rtm_monitor_size_slot_t;

typedef struct rtm_monitor_mem {
    struct rtm_monitor_mem *next;
    rtm_heap_t *heap;           /* NULL: a capability set */
    rtm_caps_t caps;
    bool external;              /* the memory is PSRAM (MALLOC_CAP_SPIRAM) */
    bool fixed;                 /* a capability region: its size is the chip's */
    rtm_monitor_limits_t limits;
    rtm_monitor_sample_t *history;
    uint16_t history_len;
    uint16_t history_count;
    uint16_t history_next;
    uint16_t samples;           /* ticks that read this memory, up to 65535 */
    rtm_monitor_mem_status_t status;
    uint32_t allocs_total;      /* allocations seen by the observer */
    uint32_t granularity;
    rtm_monitor_size_slot_t sizes[RTM_MONITOR_SIZE_SLOTS];
    /* Large allocations served here that asked for no DMA (caps observer). */
    uint32_t large_no_dma_count;
    uint32_t large_no_dma_max;
    uint64_t large_no_dma_bytes;
} rtm_monitor_mem_t;

typedef struct rtm_monitor_pool_status {
    const char *name;
    size_t block_size;
    size_t capacity;
    size_t used;
    size_t peak_used;
    size_t failed_count;
    size_t wait_count;
    uint32_t alerts;
    bool sampled;            /* false until a tick has read the pool, and again
                                when it refuses a reading (deinitialised): figures
                                and alerts 0, without an alert callback; dropped
                                so and read afresh when a reading shows another
                                block size or capacity or fewer failures than
                                the last (initialised again between ticks) */
} rtm_monitor_pool_status_t;

typedef struct rtm_monitor_pool {
    struct rtm_monitor_pool *next;
    rtm_pool_t *pool;
    size_t failed_seen;
    rtm_monitor_pool_status_t status;
} rtm_monitor_pool_t;

typedef struct rtm_monitor_task_status {
    const char *name;
    uintptr_t task;
    size_t heap_bytes;       /* 0 without task statistics */
    size_t heap_peak;
    size_t stack_size;       /* declared, or what the port knows */
    size_t stack_peak;       /* bytes; 0 when unknown */
    bool stack_known;
    bool sampled;            /* false until a tick has looked at the task: figures 0 */
    uint32_t alerts;
} rtm_monitor_task_status_t;

typedef struct rtm_monitor_task {
    struct rtm_monitor_task *next;
    size_t declared_stack;
    rtm_monitor_task_status_t status;
} rtm_monitor_task_t;

typedef struct rtm_monitor_status {
    uint32_t samples;        /* ticks that sampled */
    uint32_t last_ms;
    size_t memories;
    size_t pools;
    size_t tasks;
    uint32_t alerts_raised;  /* alerts raised now, over every watch */
    uint32_t alerts_dropped; /* alert callbacks not delivered (per-tick limit) */
} rtm_monitor_status_t;

typedef struct rtm_monitor {
    uint32_t magic;
    rtm_monitor_config_t cfg;
    rtm_port_lock_t lock;
    rtm_monitor_mem_t *mems;
    rtm_monitor_pool_t *pools;
    rtm_monitor_task_t *tasks;
    uint32_t samples;
    uint32_t last_ms;
    bool sampled_once;
    bool stop;
    uint32_t alerts_dropped;
} rtm_monitor_t;

/* Prepares mon (cfg NULL: RTM_MONITOR_CONFIG_DEFAULT; trend_window_ms 0
 * becomes 60000). Returns mon, or NULL for a NULL mon or if the port
 * refused the lock. O(1). */
rtm_monitor_t *rtm_monitor_init(rtm_monitor_t *mon, const rtm_monitor_config_t *cfg);

/* Forgets every watch and releases the lock; the observers must be
 * detached and rtm_monitor_run returned first. Afterwards every call with
 * mon is refused as for a monitor never initialised (queries give false
 * or 0) until rtm_monitor_init, after which no earlier watch is watched.
 * NULL or a monitor never initialised: nothing. O(1). */
void rtm_monitor_deinit(rtm_monitor_t *mon);

/* Watches a heap (a region: rtm_caps_region_heap()). limits may be NULL (no
 * alerts); history/history_len (<= 65535) may be NULL/0 (no trend). external
 * marks PSRAM for the PSRAM advice; rtm_monitor_watch_regions sets it from
 * the region's caps. False on NULL mon/w/heap/name, history_len over
 * 65535 or without history, or w already watched. O(watches), monitor
 * lock held. A watch object (of any kind) belongs to one monitor: one that
 * another initialised monitor watches must not be given here (that is not
 * detected, and breaks the other monitor's list of watches). */
bool rtm_monitor_watch_heap(rtm_monitor_t *mon, rtm_monitor_mem_t *w, rtm_heap_t *heap,
                            const char *name, const rtm_monitor_limits_t *limits,
                            rtm_monitor_sample_t *history, size_t history_len);

/* Watches a capability set of the registry (rtm_caps_get_info(caps));
 * external when caps has RTM_CAP_SPIRAM. As rtm_monitor_watch_heap; caps 0
 * gives false. A tick that finds no registry, or no region with those caps,
 * reads nothing: the watch is unsampled as for a deinitialised heap (no
 * alerts on a memory of size 0, no telemetry line). */
bool rtm_monitor_watch_caps(rtm_monitor_t *mon, rtm_monitor_mem_t *w, rtm_caps_t caps,
                            const char *name, const rtm_monitor_limits_t *limits,
                            rtm_monitor_sample_t *history, size_t history_len);

/* Watches every region of the capability registry, in registry order, in
 * the entries of w[0..count) not yet watched, with limits (may be NULL) for
 * all; entry i's history ring is history[i * history_len] onwards
 * (history holds count * history_len entries; may be NULL). A region
 * whose heap some watch already has is skipped, so calling it twice (or
 * again after more regions were added) watches each region once. Returns
 * how many regions it newly watches (at most count; 0 for a NULL mon or w,
 * or no registry). O(regions x watches). */
size_t rtm_monitor_watch_regions(rtm_monitor_t *mon, rtm_monitor_mem_t *w, size_t count,
                                 const rtm_monitor_limits_t *limits,
                                 rtm_monitor_sample_t *history, size_t history_len);

/* Watches a pool; the pool's name is the source name. False on NULL
 * arguments or w already watched. O(watches). */
bool rtm_monitor_watch_pool(rtm_monitor_t *mon, rtm_monitor_pool_t *w, rtm_pool_t *pool);

/* Watches a task: task is its rtm_port_task_id(); stack_size the size it was
 * created with (0: ask the port, as rtm_thread_start'ed threads know theirs).
 * name is kept by pointer. False on NULL mon/w/name or w already watched.
 * O(watches). */
bool rtm_monitor_watch_task(rtm_monitor_t *mon, rtm_monitor_task_t *w, uintptr_t task,
                            const char *name, size_t stack_size);

/* Samples everything now if period_ms has passed since the last sample (or
 * never sampled): updates histories, evaluates alerts (callbacks after the
 * sample), writes telemetry when enabled. Returns true if it sampled. Cost:
 * one info call per watch (O(1) for TLSF heaps; caps sets O(regions)), the
 * trend O(history_len), stack scans O(stack size) on posix. */
bool rtm_monitor_tick(rtm_monitor_t *mon);

/* Samples now, whatever the period (same cost as a tick that samples). */
void rtm_monitor_sample(rtm_monitor_t *mon);

/* Ticks every period_ms (rtm_port_sleep_ms) until rtm_monitor_stop; meant
 * as the body of the monitor's own task or thread (fn(arg) = this with the
 * monitor as arg, see rtm_monitor_task_main). */
void rtm_monitor_run(rtm_monitor_t *mon);
void rtm_monitor_task_main(void *mon);
/* Asks rtm_monitor_run to return after its current period. Any task. */
void rtm_monitor_stop(rtm_monitor_t *mon);

/* Heap observer (observer.h chain, or rtm_heap_set_observer with ctx = the
 * monitor): counts allocations per size for the watches of the event's
 * heap, in RTM_MONITOR_SIZE_SLOTS slots kept by the space-saving rule: any
 * size that makes more than 1/SLOTS of the allocations is always counted.
 * Live counts match a free to the largest tracked size not more than 32
 * bytes below the freed block's usable bytes, so two tracked sizes closer
 * than that can be confused. Reallocations are not counted. Takes the
 * monitor lock; O(SIZE_SLOTS). */
void rtm_monitor_heap_observer(const rtm_heap_event_t *event, void *ctx);

/* Capability observer (rtm_caps_set_observer, ctx = the monitor): counts
 * allocations of at least RTM_MONITOR_LARGE_BYTES (config.h) that asked for
 * neither DMA, EXEC nor internal memory and landed in internal memory (a
 * region without RTM_CAP_SPIRAM), in the watches of that region's heap. */
void rtm_monitor_caps_observer(const void *ptr, size_t size, rtm_caps_t caps,
                               const rtm_caps_region_t *region, void *ctx);

/* Copy the current status (of the monitor, or of one watch) under the
 * monitor lock: O(watches). False on NULL arguments or a monitor not
 * initialised (or deinitialised).
 * A watch's status: false, and *out left as it was, when w is not watched
 * by mon: never added, added to another monitor, refused by the watch call,
 * or added before mon was deinitialised or initialised again. A watch is
 * reported only by the monitor that watches it; there is no status for
 * what it does not watch. A watch that is watched but not yet sampled
 * (no tick since it was added)
 * gives true with its name, .sampled false and every figure 0; so does one
 * whose heap or pool refused the last reading (deinitialised: the figures
 * of an object that is gone are not kept). */
bool rtm_monitor_status(rtm_monitor_t *mon, rtm_monitor_status_t *out);
bool rtm_monitor_mem_status(rtm_monitor_t *mon, const rtm_monitor_mem_t *w,
                            rtm_monitor_mem_status_t *out);
bool rtm_monitor_pool_status(rtm_monitor_t *mon, const rtm_monitor_pool_t *w,
                             rtm_monitor_pool_status_t *out);
bool rtm_monitor_task_status(rtm_monitor_t *mon, const rtm_monitor_task_t *w,
                             rtm_monitor_task_status_t *out);

/* History: sample i of a watch, 0 = the oldest kept. False when out of
 * range, out is NULL, or as rtm_monitor_mem_status (w not watched by mon,
 * NULL or uninitialised mon). Returns how many are kept through *count
 * when count is not NULL: 0 whenever w is not watched by mon (or mon is
 * not initialised). O(watches), monitor lock held. */
bool rtm_monitor_history(rtm_monitor_t *mon, const rtm_monitor_mem_t *w, size_t i,
                         rtm_monitor_sample_t *out, size_t *count);

/* ------------------------------------------------------------------ */
/* Recommendations                                                     */

typedef enum rtm_rec_kind {
    RTM_REC_GROW_MEMORY = 0, /* minimum-ever free under 10% of the size:
                                v[0] size, v[1] min free, v[2] peak used, v[3] advised size,
                                v[4] 1 for a capability region (fixed size: the advice is
                                to use less of it by v[3] - v[0] bytes) */
    RTM_REC_SHRINK_MEMORY,   /* minimum-ever free over half the size after 10 samples of
                                that memory (counted afresh when it goes and comes back), for
                                memories whose size the application chooses (not regions),
                                when peak used + stack_margin_percent is below the size:
                                v[0] size, v[1] min free, v[2] peak used, v[3] advised size */
    RTM_REC_POOL_FOR_SIZE,   /* one size is >= 30% of >= 100 allocations:
                                v[0] block size, v[1] its allocations, v[2] all allocations,
                                v[3] peak live, v[4] advised block count */
    RTM_REC_STACK_SIZE,      /* stack peak + margin above the size, or below half of it:
                                v[0] size, v[1] peak used, v[2] advised size */
    RTM_REC_MOVE_TO_PSRAM,   /* internal memory short (min free < 10% or a low-free alert),
                                large non-DMA blocks land in it and a PSRAM watch has room:
                                v[0] count, v[1] bytes, v[2] largest, v[3] internal min free,
                                v[4] PSRAM free */
    RTM_REC_ENABLE_TRACING,  /* a leak trend alert is raised: v[0] -trend bytes/min,
                                v[1] free now, v[2] 1 if tracing already runs */
    RTM_REC_KIND_COUNT
} rtm_rec_kind_t;

typedef struct rtm_recommendation {
    rtm_rec_kind_t kind;
    const char *source; /* the watch's name */
    uint64_t v[5];      /* the numbers that triggered it, per kind above */
} rtm_recommendation_t;

/* Evaluates every rule over the last samples and writes up to n
 * recommendations to out. Returns how many apply (may exceed n). O(watches
 * x SIZE_SLOTS). */
size_t rtm_monitor_recommend(rtm_monitor_t *mon, rtm_recommendation_t *out, size_t n);

/* One recommendation as an English sentence with its numbers, into buf
 * (always NUL-terminated when len > 0). Returns the length it needed. */
size_t rtm_recommendation_text(const rtm_recommendation_t *rec, char *buf, size_t len);

/* Writes every recommendation: a telemetry "rec" line each when telemetry
 * is on, and always the sentence as a text line ("rtmem monitor: ...").
 * Returns how many. Any task; no lock held while writing. */
size_t rtm_monitor_print_recommendations(rtm_monitor_t *mon);

/* Writes a telemetry snapshot of every watch as of the last sample (no
 * sampling); a watch not yet sampled (.sampled false) has no line. From
 * the ticking task (it reads what that task writes). */
void rtm_monitor_emit_telemetry(rtm_monitor_t *mon);

const char *rtm_alert_kind_str(rtm_alert_kind_t kind); /* "low_free", ... */
const char *rtm_rec_kind_str(rtm_rec_kind_t kind);     /* "grow_memory", ... */

#ifdef __cplusplus
}
#endif

#endif
