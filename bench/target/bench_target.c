/*
 * Instructions per heap operation on an emulated Cortex-M4F: the random
 * workload of bench/bench_heap.c (bench/workload.h, the same sequence) on
 * QEMU's mps2-an386, run by bench/cortex_m.sh.
 *
 * QEMU runs with -icount: its virtual clock advances a fixed time per
 * guest instruction executed, and the board's timer 0 (CMSDK APB timer,
 * counting down) is driven by that clock, so reading the timer before and
 * after a call counts the call's instructions, exactly and the same on
 * every run. The ticks one instruction takes are calibrated at start-up on
 * blocks of NOPs. Every allocator is called through the same pair of
 * function pointers; the "none" allocator (which only hands out a dummy
 * block) gives each operation's harness cost, subtracted from the others
 * operation by operation.
 *
 * Instructions, not cycles: QEMU models no pipeline, wait states or
 * caches. On a Cortex-M4 most of these instructions take one cycle, a
 * load two (one when pipelined with the next), a taken branch two to four.
 *
 * Built with RTM_BENCH_ANCHOR defined (a label), the program runs one
 * allocator from outside this repository instead of rtmem's, linked in
 * through rtm_bench_anchor_init/malloc/free (bench/target/CMakeLists.txt,
 * RTMEM_BENCH_ANCHORS).
 *
 * Prints one line per allocator (bench/cortex_m.sh reads them):
 *   RESULT <name> <ops> <per-op mean> <malloc mean> <free mean> <p50> <p99> <max>
 * and exits non-zero if an allocation fails or the calibration is off.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rtmem/heap.h"
#include "workload.h"

#define ARENA (256u * 1024u)
/* Per-operation counts above this share the histogram's last bin (the max
 * is kept exactly). */
#define HIST_BINS 4096u

/* CMSDK APB timer 0 of the MPS2 boards: a 32-bit down counter. */
#define TIMER0_CTRL (*(volatile uint32_t *)0x40000000u)
#define TIMER0_VALUE (*(volatile uint32_t *)0x40000004u)
#define TIMER0_RELOAD (*(volatile uint32_t *)0x40000008u)

static bench_op_t g_ops[BENCH_OPS];
static uint32_t g_harness[BENCH_OPS]; /* the none allocator's ticks per operation */
static void *g_slots[BENCH_SLOTS];
static uint32_t g_hist[HIST_BINS];
/* 16-byte aligned: what rtm_heap_init needs and what some other
 * allocators ask for (o1heap: four pointers). */
static _Alignas(16) uint8_t g_mem[ARENA];
static rtm_heap_t *g_heap;

typedef void *(*alloc_fn)(size_t size);
typedef void (*free_fn)(void *ptr);

__attribute__((noinline)) static void *none_alloc(size_t size)
{
    static _Alignas(8) uint8_t dummy[8];
    (void)size;
    __asm__ volatile("" ::: "memory");
    return dummy;
}

__attribute__((noinline)) static void none_free(void *ptr)
{
    (void)ptr;
    __asm__ volatile("" ::: "memory");
}

__attribute__((noinline)) static void *heap_alloc(size_t size)
{
    return rtm_malloc(g_heap, size);
}

__attribute__((noinline)) static void heap_free(void *ptr)
{
    rtm_free(g_heap, ptr);
}

static void timer_start(void)
{
    TIMER0_CTRL = 0;
    TIMER0_RELOAD = 0xffffffffu;
    TIMER0_VALUE = 0xffffffffu;
    TIMER0_CTRL = 1u; /* enable, no interrupt */
}

/* Ticks of 256 and 1280 NOPs with the reads around them; each in its own
 * function, so that its literal pool stays within reach of its loads. */
__attribute__((noinline)) static uint32_t ticks_of_256_nops(void)
{
    uint32_t t0 = TIMER0_VALUE;
    __asm__ volatile(".rept 256\n\tnop\n\t.endr" ::: "memory");
    return t0 - TIMER0_VALUE;
}

__attribute__((noinline)) static uint32_t ticks_of_1280_nops(void)
{
    uint32_t t0 = TIMER0_VALUE;
    __asm__ volatile(".rept 1280\n\tnop\n\t.endr" ::: "memory");
    return t0 - TIMER0_VALUE;
}

/* Ticks of 1024 instructions: the difference, in which whatever the
 * compiler puts around the NOPs cancels out. */
static uint32_t calibrate(void)
{
    return ticks_of_1280_nops() - ticks_of_256_nops();
}

typedef struct result {
    uint64_t alloc_insns, free_insns;
    uint32_t allocs, frees, failed;
    uint32_t max;
} result_t;

/* Runs the sequence, each operation between two reads of the timer. With
 * harness NULL the ticks are stored as the harness cost; otherwise the
 * harness cost is taken off and the rest, in instructions, goes to r. */
static void run(alloc_fn a, free_fn f, uint32_t ticks_per_1024, result_t *r, int harness)
{
    memset(r, 0, sizeof *r);
    memset(g_hist, 0, sizeof g_hist);
    for (uint32_t i = 0; i < BENCH_OPS; i++) {
        const bench_op_t *op = &g_ops[i];
        uint32_t t0, t1;
        if (op->size == 0) {
            t0 = TIMER0_VALUE;
            f(g_slots[op->slot]);
            t1 = TIMER0_VALUE;
            g_slots[op->slot] = NULL;
        } else {
            t0 = TIMER0_VALUE;
            void *p = a(op->size);
            t1 = TIMER0_VALUE;
            g_slots[op->slot] = p;
            r->failed += p == NULL;
        }
        uint32_t ticks = t0 - t1;
        if (harness) {
            g_harness[i] = ticks;
            continue;
        }
        uint32_t extra = ticks > g_harness[i] ? ticks - g_harness[i] : 0;
        /* ticks to instructions, rounded to the nearest */
        uint32_t insns = (uint32_t)(((uint64_t)extra * 1024u + ticks_per_1024 / 2u) / ticks_per_1024);
        if (op->size == 0) {
            r->free_insns += insns;
            r->frees++;
        } else {
            r->alloc_insns += insns;
            r->allocs++;
        }
        if (insns > r->max) {
            r->max = insns;
        }
        g_hist[insns < HIST_BINS ? insns : HIST_BINS - 1u]++;
    }
    for (uint32_t s = 0; s < BENCH_SLOTS; s++) {
        f(g_slots[s]);
        g_slots[s] = NULL;
    }
}

/* The smallest count with at least permille / 1000 of the operations at
 * or below it. */
static uint32_t percentile(uint32_t ops, uint32_t permille)
{
    uint64_t want = ((uint64_t)ops * permille + 999u) / 1000u;
    uint64_t seen = 0;
    for (uint32_t b = 0; b < HIST_BINS; b++) {
        seen += g_hist[b];
        if (seen >= want) {
            return b;
        }
    }
    return HIST_BINS - 1u;
}

static int report(const char *name, const result_t *r)
{
    uint32_t ops = r->allocs + r->frees;
    uint64_t total = r->alloc_insns + r->free_insns;
    /* Means in hundredths, printed as fixed point: no floating point in
     * the output path. */
    uint64_t mean = total * 100u / ops;
    uint64_t am = r->allocs ? r->alloc_insns * 100u / r->allocs : 0;
    uint64_t fm = r->frees ? r->free_insns * 100u / r->frees : 0;
    printf("RESULT %s %lu %lu.%02lu %lu.%02lu %lu.%02lu %lu %lu %lu\n", name, (unsigned long)ops,
           (unsigned long)(mean / 100u), (unsigned long)(mean % 100u), (unsigned long)(am / 100u),
           (unsigned long)(am % 100u), (unsigned long)(fm / 100u), (unsigned long)(fm % 100u),
           (unsigned long)percentile(ops, 500), (unsigned long)percentile(ops, 990),
           (unsigned long)r->max);
    if (r->failed != 0) {
        printf("bench_target: %s: %lu allocations failed\n", name, (unsigned long)r->failed);
        return 1;
    }
    return 0;
}

#if defined(RTM_BENCH_ANCHOR)
/* An allocator built outside this repository (bench/cortex_m.sh,
 * RTMEM_BENCH_M4_ANCHORS): its library defines these three, over the
 * memory it is given. */
bool rtm_bench_anchor_init(void *mem, size_t size);
void *rtm_bench_anchor_malloc(size_t size);
void rtm_bench_anchor_free(void *ptr);

__attribute__((noinline)) static void *anchor_alloc(size_t size)
{
    return rtm_bench_anchor_malloc(size);
}

__attribute__((noinline)) static void anchor_free(void *ptr)
{
    rtm_bench_anchor_free(ptr);
}
#endif

typedef struct heap_case {
    const char *name;
    const rtm_strategy_t *strategy;
    uint32_t flags;
} heap_case_t;

int main(void)
{
    bench_workload_stats_t st;
    bench_make_workload(g_ops, &st);
    timer_start();
    uint32_t ticks_per_1024 = calibrate();
    printf("calibration: %lu ticks per 1024 instructions\n", (unsigned long)ticks_per_1024);
    if (ticks_per_1024 < 1024u) {
        printf("bench_target: the timer ticks less than once per instruction: run QEMU with "
               "-icount shift=10 (bench/cortex_m.sh)\n");
        return 2;
    }
    result_t r;
    run(none_alloc, none_free, ticks_per_1024, &r, 1);
#if defined(RTM_BENCH_ANCHOR)
    if (!rtm_bench_anchor_init(g_mem, sizeof g_mem)) {
        printf("bench_target: %s: no heap\n", RTM_BENCH_ANCHOR);
        return 1;
    }
    run(anchor_alloc, anchor_free, ticks_per_1024, &r, 0);
    return report(RTM_BENCH_ANCHOR, &r);
#else
    static const heap_case_t cases[] = {
        {"tlsf", &rtm_strategy_tlsf, RTM_HEAP_NO_LOCK},
        {"first_fit", &rtm_strategy_first_fit, RTM_HEAP_NO_LOCK},
        {"tlsf_locked", &rtm_strategy_tlsf, 0},
    };
    int status = 0;
    for (size_t c = 0; c < sizeof cases / sizeof cases[0]; c++) {
        rtm_heap_config_t cfg = {.strategy = cases[c].strategy, .flags = cases[c].flags};
        g_heap = rtm_heap_init(g_mem, sizeof g_mem, &cfg);
        if (g_heap == NULL) {
            printf("bench_target: %s: no heap\n", cases[c].name);
            return 1;
        }
        run(heap_alloc, heap_free, ticks_per_1024, &r, 0);
        status |= report(cases[c].name, &r);
    }
    return status;
#endif
}
