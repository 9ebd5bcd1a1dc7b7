/*
 * Part 1: static versus dynamic creation. Each object kind is made both
 * ways many times; the report gives the heap bytes each form takes from
 * its parent, the static memory it needs instead, and the median creation
 * time. Runs before the tasks start, on an idle parent heap.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "sim.h"

#define RUNS 201 /* odd: the median is one sample */

#define HEAP_BYTES (16u * 1024u)
#define POOL_BLOCK 64u
#define POOL_COUNT 32u
#define TRACE_RECORDS 256u
#define STATS_TASKS 8u
#define STATS_BLOCKS 128u

RTM_HEAP_STORAGE(s_heap_mem, HEAP_BYTES);
RTM_POOL_DEFINE(s_msg_pool, POOL_BLOCK, POOL_COUNT);
RTM_POOL_DEFINE(s_small_pool, 32, 64);
RTM_POOL_DEFINE(s_medium_pool, 128, 16);
RTM_POOL_DEFINE(s_large_pool, 512, 4);
RTM_TRACE_DEFINE(s_trace_mem, TRACE_RECORDS);
RTM_TASK_STATS_DEFINE(s_stats_mem, STATS_TASKS, STATS_BLOCKS);
static rtm_pool_set_t s_set;

static const rtm_pool_class_t k_classes[] = {{32, 64}, {128, 16}, {512, 4}};

typedef struct measure {
    uint64_t ns[RUNS];
    size_t heap_used; /* parent bytes held while the object lives */
    bool failed;
} measure_t;

static uint64_t now_ns(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000000000u + (uint64_t)ts.tv_nsec;
}

static int cmp_u64(const void *a, const void *b)
{
    uint64_t x = *(const uint64_t *)a;
    uint64_t y = *(const uint64_t *)b;
    return (x > y) - (x < y);
}

static uint64_t median(measure_t *m)
{
    qsort(m->ns, RUNS, sizeof m->ns[0], cmp_u64);
    return m->ns[RUNS / 2];
}

/* One object kind, both forms: make() returns the object (NULL on
 * failure), end() destroys it. The parent's free bytes are read while the
 * object lives, so the figure includes the parent's block overhead. */
typedef void *(*make_fn)(rtm_heap_t *parent);
typedef void (*end_fn)(void *obj);

static void run(measure_t *m, rtm_heap_t *parent, make_fn make, end_fn end)
{
    memset(m, 0, sizeof *m);
    size_t before = rtm_heap_free_bytes(parent);
    for (size_t i = 0; i < RUNS; i++) {
        uint64_t t0 = now_ns();
        void *obj = make(parent);
        uint64_t t1 = now_ns();
        if (obj == NULL) {
            m->failed = true;
            return;
        }
        m->ns[i] = t1 - t0;
        if (i == 0) {
            size_t during = rtm_heap_free_bytes(parent);
            m->heap_used = before > during ? before - during : 0;
        }
        end(obj);
    }
}

/* --- heap ------------------------------------------------------------- */

static void *heap_static(rtm_heap_t *parent)
{
    (void)parent;
    rtm_heap_config_t cfg = {.strategy = &rtm_strategy_tlsf, .name = "scratch"};
    return rtm_heap_init(s_heap_mem, sizeof s_heap_mem, &cfg);
}

static void *heap_dynamic(rtm_heap_t *parent)
{
    rtm_heap_config_t cfg = {.strategy = &rtm_strategy_tlsf, .name = "scratch"};
    return rtm_heap_create(parent, HEAP_BYTES, &cfg);
}

static void heap_end(void *obj)
{
    rtm_heap_destroy(obj);
}

/* --- pool ------------------------------------------------------------- */

static void *pool_static(rtm_heap_t *parent)
{
    (void)parent;
    return rtm_pool_init_defined(&s_msg_pool, NULL);
}

static void *pool_dynamic(rtm_heap_t *parent)
{
    rtm_pool_config_t cfg = {.block_size = POOL_BLOCK, .count = POOL_COUNT, .name = "msg"};
    return rtm_pool_create(parent, &cfg);
}

static void pool_end(void *obj)
{
    (void)rtm_pool_delete(obj);
}

/* --- pool set ----------------------------------------------------------- */

/* The static form includes making its three pools, as the dynamic one does. */
static void *set_static(rtm_heap_t *parent)
{
    rtm_pool_t *pools[] = {
        rtm_pool_init_defined(&s_small_pool, NULL),
        rtm_pool_init_defined(&s_medium_pool, NULL),
        rtm_pool_init_defined(&s_large_pool, NULL),
    };
    rtm_pool_set_config_t cfg = {.name = "net", .fallback = parent};
    return rtm_pool_set_init(&s_set, pools, 3, &cfg);
}

static void set_static_end(void *obj)
{
    rtm_pool_set_deinit(obj);
    (void)rtm_pool_deinit(s_small_pool.pool);
    (void)rtm_pool_deinit(s_medium_pool.pool);
    (void)rtm_pool_deinit(s_large_pool.pool);
}

static void *set_dynamic(rtm_heap_t *parent)
{
    rtm_pool_set_config_t cfg = {.name = "net", .fallback = parent};
    return rtm_pool_set_create(parent, k_classes, 3, &cfg);
}

static void set_dynamic_end(void *obj)
{
    (void)rtm_pool_set_delete(obj);
}

/* --- tracer: dynamic = its memory comes from the parent ------------------ */

static rtm_heap_t *s_mem_parent; /* where the dynamic tracer/stats memory came from */

static void *trace_static(rtm_heap_t *parent)
{
    (void)parent;
    return rtm_trace_init(s_trace_mem, sizeof s_trace_mem);
}

static void trace_static_end(void *obj)
{
    rtm_trace_deinit(obj);
}

typedef struct dyn_obj {
    void *obj;
    void *mem;
} dyn_obj_t;

static dyn_obj_t s_dyn;

static void *trace_dynamic(rtm_heap_t *parent)
{
    s_mem_parent = parent;
    s_dyn.mem = rtm_malloc(parent, RTM_TRACE_BYTES(TRACE_RECORDS));
    s_dyn.obj = rtm_trace_init(s_dyn.mem, RTM_TRACE_BYTES(TRACE_RECORDS));
    if (s_dyn.obj == NULL) {
        rtm_free(parent, s_dyn.mem);
        return NULL;
    }
    return &s_dyn;
}

static void trace_dynamic_end(void *obj)
{
    dyn_obj_t *d = obj;
    rtm_trace_deinit(d->obj);
    rtm_free(s_mem_parent, d->mem);
}

/* --- task statistics ------------------------------------------------------ */

static void *stats_static(rtm_heap_t *parent)
{
    (void)parent;
    return rtm_task_stats_init(s_stats_mem, sizeof s_stats_mem, STATS_TASKS, 0);
}

static void stats_static_end(void *obj)
{
    rtm_task_stats_deinit(obj);
}

static void *stats_dynamic(rtm_heap_t *parent)
{
    s_mem_parent = parent;
    size_t bytes = RTM_TASK_STATS_BYTES(STATS_TASKS, STATS_BLOCKS);
    s_dyn.mem = rtm_malloc(parent, bytes);
    s_dyn.obj = rtm_task_stats_init(s_dyn.mem, bytes, STATS_TASKS, 0);
    if (s_dyn.obj == NULL) {
        rtm_free(parent, s_dyn.mem);
        return NULL;
    }
    return &s_dyn;
}

static void stats_dynamic_end(void *obj)
{
    dyn_obj_t *d = obj;
    rtm_task_stats_deinit(d->obj);
    rtm_free(s_mem_parent, d->mem);
}

/* ------------------------------------------------------------------ */

typedef struct object_kind {
    const char *name;
    const char *static_call;
    const char *dynamic_call;
    size_t static_bytes; /* .bss the static form needs */
    make_fn make_static;
    end_fn end_static;
    make_fn make_dynamic;
    end_fn end_dynamic;
} object_kind_t;

void sim_part_creation(rtm_heap_t *parent)
{
    static const object_kind_t kinds[] = {
        {"heap 16 KiB TLSF", "rtm_heap_init", "rtm_heap_create", sizeof s_heap_mem, heap_static,
         heap_end, heap_dynamic, heap_end},
        {"pool 32 x 64 B", "rtm_pool_init_defined", "rtm_pool_create",
         sizeof s_msg_pool_rtm_storage + sizeof s_msg_pool_rtm_pool, pool_static, pool_end,
         pool_dynamic, pool_end},
        {"pool set 3 classes", "rtm_pool_set_init", "rtm_pool_set_create",
         sizeof s_small_pool_rtm_storage + sizeof s_medium_pool_rtm_storage +
             sizeof s_large_pool_rtm_storage + 3 * sizeof(rtm_pool_t) + sizeof s_set,
         set_static, set_static_end, set_dynamic, set_dynamic_end},
        {"tracer 256 records", "rtm_trace_init(static)", "rtm_trace_init(heap)",
         sizeof s_trace_mem, trace_static, trace_static_end, trace_dynamic, trace_dynamic_end},
        {"task stats 8/128", "rtm_task_stats_init(static)", "rtm_task_stats_init(heap)",
         sizeof s_stats_mem, stats_static, stats_static_end, stats_dynamic, stats_dynamic_end},
    };

    sim_title("Part 1: static versus dynamic creation");
    sim_report("create", "parent heap for the dynamic forms: %s (%s), %d runs each, median time",
               rtm_heap_name(parent), rtm_strategy_name(rtm_heap_strategy(parent)), RUNS);
    sim_report("create", "%-20s %-7s %-28s %10s %12s %10s", "object", "form", "call", "heap used",
               "static mem", "create ns");
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        const object_kind_t *o = &kinds[k];
        measure_t m;
        run(&m, parent, o->make_static, o->end_static);
        if (m.failed) {
            sim_log('E', "create", "%s: static form failed", o->name);
        } else {
            sim_report("create", "%-20s %-7s %-28s %10zu %12zu %10llu", o->name, "static",
                       o->static_call, m.heap_used, o->static_bytes,
                       (unsigned long long)median(&m));
        }
        run(&m, parent, o->make_dynamic, o->end_dynamic);
        if (m.failed) {
            sim_log('E', "create", "%s: dynamic form failed (parent too small?)", o->name);
        } else {
            sim_report("create", "%-20s %-7s %-28s %10zu %12d %10llu", o->name, "dynamic",
                       o->dynamic_call, m.heap_used, 0, (unsigned long long)median(&m));
        }
    }
    sim_report("create", "heap used = parent free bytes before minus while the object lives "
                         "(block headers included); static mem = .bss of the static form");
}
