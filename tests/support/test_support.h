/*
 * Shared helpers for the rtmem test programs (cmocka).
 *
 *   - hook recorders: count failed-allocation and misuse hook calls and keep
 *     the arguments of the last one;
 *   - an output capture for rtm_output_set;
 *   - a deterministic PRNG (splitmix64);
 *   - heaps of any strategy in static, 4 KiB-aligned arenas that are torn
 *     down by ts_heap_close_all() (call it from a teardown so that a failed
 *     test does not leak RTM_SYSTEM blocks or port locks);
 *   - block patterns, a live-block model, and asserters for the heap
 *     statistics invariants, walk totals and overlap.
 *
 * Every asserter fails the current cmocka test with the caller's file and
 * line and prints the text set by ts_context() (seed, step, operation...).
 */
#ifndef RTM_TEST_SUPPORT_H
#define RTM_TEST_SUPPORT_H

#include <setjmp.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/caps.h"
#include "rtmem/heap.h"
#include "rtmem/output.h"

#define TS_ARRAY_LEN(a) (sizeof(a) / sizeof((a)[0]))

/* A 32-bit word of heap memory (a header, a link, a canary) read or written
 * where it lies, with no alignment or aliasing assumption. */
static inline uint32_t ts_rd32(const void *p)
{
    uint32_t v;
    memcpy(&v, p, sizeof v);
    return v;
}

static inline void ts_wr32(void *p, uint32_t v)
{
    memcpy(p, &v, sizeof v);
}

/* ------------------------------------------------------------------ */
/* Context printed with every helper failure                           */

/* printf-style; the text is kept until the next call. NULL clears it. */
void ts_context(const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 1, 2)))
#endif
    ;
const char *ts_context_text(void);

/* Prints "file:line: message [context]" and fails the current test. */
void ts_fail_at(const char *file, int line, const char *fmt, ...)
#if defined(__GNUC__)
    __attribute__((format(printf, 3, 4)))
#endif
    ;
#define ts_fail(...) ts_fail_at(__FILE__, __LINE__, __VA_ARGS__)

/* ------------------------------------------------------------------ */
/* Hook recorders                                                      */

typedef struct ts_hooks {
    /* failed-allocation hook */
    unsigned failed_calls;
    rtm_heap_t *failed_heap;
    size_t failed_size;
    size_t failed_alignment;
    rtm_fail_reason_t failed_reason;
    /* misuse hook */
    unsigned misuse_calls;
    rtm_heap_t *misuse_heap;
    rtm_misuse_t misuse_kind;
    const void *misuse_address;
    /* When set, each hook calls rtm_heap_check on the heap it was given:
     * hooks must run with the heap lock released. */
    bool probe_heap_in_hook;
    unsigned probe_failures;
} ts_hooks_t;

void ts_hooks_clear(ts_hooks_t *rec);
/* Hook functions; ctx must be a ts_hooks_t *. */
void ts_on_alloc_failed(rtm_heap_t *heap, size_t size, size_t alignment,
                        rtm_fail_reason_t reason, void *ctx);
void ts_on_misuse(rtm_heap_t *heap, rtm_misuse_t kind, const void *address, void *ctx);

/* ------------------------------------------------------------------ */
/* Output capture                                                      */

typedef struct ts_output {
    unsigned writes;       /* calls of the output hook */
    char last[512];        /* text of the last write, NUL-terminated */
    size_t last_len;       /* its length as passed (may exceed the copy) */
    char all[4096];        /* every write appended, NUL-terminated, truncated */
    size_t all_len;
} ts_output_t;

/* Installs a capture into *out (cleared) with rtm_output_set. */
void ts_output_capture(ts_output_t *out);
/* Removes it (rtm_output_set(NULL, NULL)). */
void ts_output_release(void);

/* ------------------------------------------------------------------ */
/* PRNG: splitmix64, deterministic for a seed on every platform        */

typedef struct ts_rng {
    uint64_t state;
} ts_rng_t;

void ts_rng_seed(ts_rng_t *rng, uint64_t seed);
uint64_t ts_rng_u64(ts_rng_t *rng);
uint32_t ts_rng_u32(ts_rng_t *rng);
/* Uniform in [lo, hi] (inclusive); lo <= hi. */
size_t ts_rng_range(ts_rng_t *rng, size_t lo, size_t hi);
/* Log-uniform in [lo, hi]: a uniform power-of-two bucket, then uniform in
 * it. lo >= 1. */
size_t ts_rng_log_uniform(ts_rng_t *rng, size_t lo, size_t hi);
/* True with the given percent probability (0..100). */
bool ts_rng_chance(ts_rng_t *rng, unsigned percent);
/* A power of two in [lo, hi], both powers of two. */
size_t ts_rng_pow2(ts_rng_t *rng, size_t lo, size_t hi);

/* ------------------------------------------------------------------ */
/* Strategy traits                                                     */

/* Strategies whose blocks sit in the region with a 4-byte header before
 * the payload (block.h): TLSF, first-fit, best-fit, bump. */
bool ts_has_block_layout(rtm_strategy_id_t s);
/* Every strategy but bump frees. */
bool ts_frees(rtm_strategy_id_t s);
/* Free neighbours are merged (TLSF, first-fit). */
bool ts_coalesces(rtm_strategy_id_t s);
/* largest_free_block is exact: malloc(largest + granularity) fails
 * (TLSF, first-fit, best-fit). */
bool ts_largest_is_exact(rtm_strategy_id_t s);
/* Shrinks and grows in place where the documentation promises it. */
bool ts_shrinks_in_place(rtm_strategy_id_t s); /* TLSF, first-fit, best-fit */
bool ts_grows_in_place(rtm_strategy_id_t s);   /* TLSF, first-fit */
/* The library was built with this strategy (RTM_SYSTEM may be absent). */
bool ts_strategy_available(rtm_strategy_id_t s);
/* Short lower-case label for test names: "tlsf", "first_fit"... */
const char *ts_strategy_label(rtm_strategy_id_t s);

/* ------------------------------------------------------------------ */
/* Heaps in static arenas                                              */

#define TS_ARENA_BYTES (64u * 1024u)  /* usable by one heap: size + offset */
#define TS_ARENA_ALIGN 4096u          /* each arena starts 4 KiB-aligned */
#define TS_SLOTS 4u                   /* heaps open at the same time */
#define TS_SYSTEM_BUDGET (32u * 1024u) /* default RTM_SYSTEM budget */
#define TS_ARENA_FILL 0xA5u           /* arenas are filled with this before init */

typedef struct ts_heap_opts {
    rtm_strategy_id_t strategy;
    size_t granularity;    /* config alignment, 0 = default */
    size_t size;           /* region bytes; 0 = TS_ARENA_BYTES - offset */
    size_t offset;         /* region start inside the 4 KiB-aligned arena */
    uint32_t flags;        /* RTM_HEAP_* */
    size_t system_budget;  /* 0 = TS_SYSTEM_BUDGET */
    const char *name;      /* NULL = "test" */
    bool default_misuse;   /* true: leave on_misuse NULL (default hook) */
} ts_heap_opts_t;

typedef struct ts_heap {
    rtm_heap_t *heap;      /* NULL when closed */
    uint8_t *arena;        /* the slot's 4 KiB-aligned arena */
    uint8_t *mem;          /* region start (arena + offset) */
    size_t size;           /* region bytes */
    rtm_heap_config_t cfg; /* as passed to rtm_heap_init */
    ts_hooks_t rec;        /* the recorder wired to both hooks */
    size_t granularity;    /* rtm_heap_alignment() */
    rtm_heap_info_t initial; /* rtm_heap_info right after init */
    /* ts_assert_heap_sane compares the single-field shortcuts
     * (rtm_heap_free_bytes...) with the info on every call when this is 0
     * or 1, else on every n-th call: each costs an O(free blocks) scan on
     * first/best fit, which a long randomized run can spare. */
    unsigned shortcut_period;
    unsigned sane_calls;
} ts_heap_t;

/* Opens a heap in a free slot (fails the test if none is free or init is
 * refused). The slot's arena is filled with TS_ARENA_FILL first. */
ts_heap_t *ts_heap_open_ex(const ts_heap_opts_t *opts);
/* Whole arena, offset 0, recorder hooks. */
ts_heap_t *ts_heap_open(rtm_strategy_id_t s, size_t granularity);
/* Re-initialises the heap in its slot with the same options (bump restart). */
void ts_heap_reopen(ts_heap_t *th);
/* Deinitialises the heap and frees its slot. NULL is ignored. */
void ts_heap_close(ts_heap_t *th);
/* Closes every open slot; use as a cmocka teardown or call directly. */
void ts_heap_close_all(void);
int ts_teardown_close_all(void **state);
/* A raw arena of a free slot (for init tests that call rtm_heap_init
 * themselves); the slot stays reserved until ts_heap_close_all(). */
uint8_t *ts_arena_reserve(void);

/* ------------------------------------------------------------------ */
/* Statistics, walk, check                                             */

typedef struct ts_walk_totals {
    size_t blocks;
    size_t used_blocks;
    size_t used_bytes;
    size_t free_blocks;
    size_t free_bytes;
    size_t largest_free;
    bool ascending;        /* every block's ptr above the previous one */
    const void *first;     /* first block's ptr */
    const void *last_ptr;  /* last block's ptr */
    bool ok;               /* rtm_heap_walk's result */
} ts_walk_totals_t;

void ts_walk_totals(rtm_heap_t *heap, ts_walk_totals_t *t);

/* rtm_heap_check passes; free + allocated + overhead == total;
 * min_free <= free; largest_free <= free; the shortcuts equal the info;
 * the walk succeeds and its totals equal the info's (live blocks only for
 * RTM_SYSTEM). Fills *out if not NULL. */
void ts_assert_heap_sane_at(ts_heap_t *th, rtm_heap_info_t *out, const char *file, int line);
#define ts_assert_heap_sane(th, out) ts_assert_heap_sane_at((th), (out), __FILE__, __LINE__)

/* Every field equal. */
void ts_assert_info_equal_at(const rtm_heap_info_t *a, const rtm_heap_info_t *b, const char *file,
                             int line);
#define ts_assert_info_equal(a, b) ts_assert_info_equal_at((a), (b), __FILE__, __LINE__)

/* ------------------------------------------------------------------ */
/* Hook expectations (each clears the recorder afterwards)             */

#define TS_MISUSE_BIT(k) (1u << (unsigned)(k))

/* Exactly one misuse call since the last clear, of one of the kinds in
 * kinds_mask (TS_MISUSE_BIT), at address, on th's heap; no failed call. */
void ts_expect_misuse_at(ts_heap_t *th, unsigned kinds_mask, const void *address, const char *file,
                         int line);
#define ts_expect_misuse(th, kind, address) \
    ts_expect_misuse_at((th), TS_MISUSE_BIT(kind), (address), __FILE__, __LINE__)
#define ts_expect_misuse_any(th, mask, address) \
    ts_expect_misuse_at((th), (mask), (address), __FILE__, __LINE__)

/* Exactly one failed-allocation call since the last clear, with one of the
 * reasons in reasons_mask (1u << reason), on th's heap; no misuse call. */
void ts_expect_failure_at(ts_heap_t *th, unsigned reasons_mask, const char *file, int line);
#define TS_REASON_BIT(r) (1u << (unsigned)(r))
#define ts_expect_failure(th, reason) \
    ts_expect_failure_at((th), TS_REASON_BIT(reason), __FILE__, __LINE__)
#define ts_expect_failure_any(th, mask) ts_expect_failure_at((th), (mask), __FILE__, __LINE__)

/* No hook call since the last clear. */
void ts_expect_no_hooks_at(ts_heap_t *th, const char *file, int line);
#define ts_expect_no_hooks(th) ts_expect_no_hooks_at((th), __FILE__, __LINE__)

/* ------------------------------------------------------------------ */
/* Patterns and the live-block model                                   */

/* Builds the shared pattern table (done lazily otherwise; call it before
 * threads use patterns). */
void ts_pattern_prepare(void);
/* Writes / verifies the pattern of seed over n bytes (n <= 128 KiB). */
void ts_pattern_fill(void *p, size_t n, uint32_t seed);
/* Returns n if intact, else the offset of the first wrong byte. */
size_t ts_pattern_check(const void *p, size_t n, uint32_t seed);

typedef struct ts_block {
    uint8_t *ptr;
    size_t req;      /* requested bytes */
    size_t usable;   /* rtm_usable_size when recorded */
    size_t align;    /* required alignment of ptr */
    uint32_t seed;   /* pattern over usable bytes */
} ts_block_t;

#define TS_MAX_LIVE 4096u

typedef struct ts_live {
    ts_block_t b[TS_MAX_LIVE];
    size_t n;
    uint32_t next_seed;
} ts_live_t;

void ts_live_init(ts_live_t *live);
/* Records p (asserting it is non-NULL, aligned to max(align, granularity),
 * with usable_size >= req) and fills its usable bytes with a fresh pattern. */
ts_block_t *ts_live_add_at(ts_live_t *live, ts_heap_t *th, void *p, size_t req, size_t align,
                           const char *file, int line);
#define ts_live_add(live, th, p, req, align) \
    ts_live_add_at((live), (th), (p), (req), (align), __FILE__, __LINE__)
/* Index of the block starting at p, or SIZE_MAX. */
size_t ts_live_find(const ts_live_t *live, const void *p);
/* Removes entry i (order not kept). */
void ts_live_remove(ts_live_t *live, size_t i);
/* Sum of usable bytes. */
size_t ts_live_bytes(const ts_live_t *live);

/* All patterns intact, usable sizes unchanged, alignment, no overlap, every
 * block inside the region (block-layout strategies), and info.used_blocks /
 * allocated_bytes equal the model's. */
void ts_live_verify_at(const ts_live_t *live, ts_heap_t *th, const rtm_heap_info_t *info,
                       const char *file, int line);
#define ts_live_verify(live, th) ts_live_verify_at((live), (th), NULL, __FILE__, __LINE__)
/* Same, against an info just taken (saves an O(free blocks) rtm_heap_info). */
#define ts_live_verify_with(live, th, info) \
    ts_live_verify_at((live), (th), (info), __FILE__, __LINE__)

/* Frees every live block (not for bump) and empties the model. */
void ts_live_free_all(ts_live_t *live, ts_heap_t *th);

/* Sorts the ranges [ptr - before, ptr + usable) by address and fails if any
 * two overlap (before = RTM_BLK_HDR-like header bytes, or 0). */
void ts_assert_no_overlap_at(const ts_block_t *blocks, size_t n, size_t before, const char *file,
                             int line);
#define ts_assert_no_overlap(b, n, before) \
    ts_assert_no_overlap_at((b), (n), (before), __FILE__, __LINE__)

/* Initialises the capability registry (static storage, two slots) with two
 * regions over the buffers given: "DRAM" (internal, DMA, 8- and 32-bit,
 * default) at priority 0 and "PSRAM" (SPIRAM, 8- and 32-bit, default) at
 * priority 1, an ESP32 with PSRAM in small. Fails the test if any step is
 * refused. In rtmem_test_support only (support/test_caps_support.c): the
 * poisoning suites' cores have no capability layer. */
void ts_caps_dram_psram(void *dram, size_t dram_size, void *psram, size_t psram_size);

#endif
