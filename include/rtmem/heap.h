/*
 * rtmem heap: one region of caller-supplied memory, one allocation strategy.
 *
 * The control block lives at the start of the region, so a heap can be a
 * static array and needs no other memory:
 *
 *     RTM_HEAP_STORAGE(app_ram, 16 * 1024);
 *     rtm_heap_t *h = rtm_heap_init(app_ram, sizeof app_ram, NULL);  // TLSF
 *     void *p = rtm_malloc(h, 100);
 *     rtm_free(h, p);
 *
 * Strategies: a heap's config names its strategy by object
 * (rtm_heap_config_t.strategy = &rtm_strategy_first_fit), so a program
 * links the strategies it names and no other, besides the one NULL means:
 * RTM_DEFAULT_STRATEGY (config.h), TLSF unless set.
 *
 *   strategy        classic name     malloc         free            overhead/block  min block
 *   RTM_TLSF        -                O(1)*          O(1)            4 bytes         16 bytes
 *   RTM_FIRST_FIT   FreeRTOS heap_4  O(free blocks) O(free blocks)  4 bytes          8 bytes
 *   RTM_BEST_FIT    FreeRTOS heap_2  O(free blocks) O(free blocks)  4 bytes          8 bytes
 *   RTM_BUMP        FreeRTOS heap_1  O(1)           refused         4 bytes          8 bytes
 *   RTM_SYSTEM      FreeRTOS heap_3  libc malloc    libc free       libc's + 0      libc's
 *
 * "min block" is the smallest span a block occupies (header included) with
 * the default 8-byte granularity; every block is a multiple of the heap's
 * granularity. Blocks keep sizes and free-list links as 32-bit offsets, so a
 * heap has the same layout on a 64-bit host as on a 32-bit target, and the
 * strategy's arena (the region less the front, rtm_heap_front_size) is at
 * most 4 GiB - 1.
 * TLSF control block: 52 + 68 * L bytes, L = floor(log2(arena bytes)) - 5
 * at granularity 8 (16 KiB heap: 596 bytes; 256 KiB: 868 bytes). Every
 * block strategy also keeps a block-start map (RTM_EXACT_POINTERS, default
 * on): one bit per granule of its arena, 16 bytes per KiB at granularity 8.
 *  * TLSF malloc is O(1) except when the only free blocks that fit are in the
 *    request's own size class, where it scans that one class; this makes
 *    malloc(n) succeed whenever any free block has n usable bytes.
 *
 * RTM_SYSTEM (heap_3) passes requests to the C library; the region passed to
 * rtm_heap_init then holds the control block and a table of live blocks
 * (16 bytes per slot on 64-bit hosts, 8 on 32-bit), which bounds how many
 * blocks may be live at once; allocated bytes are bounded by
 * rtm_heap_config_t.system_budget. It exists only when the library is built
 * with RTM_WITH_SYSTEM 1 (config.h; CMake RTMEM_WITH_SYSTEM, on for hosted
 * targets); otherwise init gives RTM_ERR_UNSUPPORTED. Since a freed pointer
 * leaves its table, a second free of it is reported as
 * RTM_MISUSE_FOREIGN_POINTER, not DOUBLE_FREE; realloc is in place only when
 * shrinking.
 *
 * Thread safety: every function takes the heap's lock (port.h) unless the
 * heap was created with RTM_HEAP_NO_LOCK. No function may be called from an
 * ISR unless the port's lock is a critical section that is safe there.
 * Hooks run after the lock is released, in the calling task.
 *
 * Bad input never gives undefined behaviour: a NULL heap gives NULL/0/false,
 * a pointer the heap did not give out is reported through the misuse hook
 * and the call has no effect. Pointer validation is exact at every
 * poisoning level: free, realloc and usable_size accept a pointer only if
 * the heap's block-start map says a live block starts there, whatever the
 * bytes around it hold (application data shaped like a block header, a
 * copy of a real block's head, stale heads of an earlier heap over the
 * same memory). Built with RTM_EXACT_POINTERS 0 (no map, the smallest
 * build), a pointer is judged by the headers and boundary tags around it,
 * which such data can fool.
 */
#ifndef RTMEM_HEAP_H
#define RTMEM_HEAP_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtmem/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Alignment that rtm_heap_init requires of its memory. */
#define RTM_HEAP_MEM_ALIGN 8u

/* Declares static storage suitably aligned for rtm_heap_init. */
#if defined(__cplusplus)
#define RTM_HEAP_STORAGE(name, bytes) alignas(RTM_HEAP_MEM_ALIGN) static uint8_t name[(bytes)]
#else
#define RTM_HEAP_STORAGE(name, bytes) static _Alignas(RTM_HEAP_MEM_ALIGN) uint8_t name[(bytes)]
#endif

typedef struct rtm_heap rtm_heap_t;

/* An allocation strategy: one of the objects below. Opaque. */
typedef struct rtm_strategy rtm_strategy_t;

extern const rtm_strategy_t rtm_strategy_tlsf;      /* default: O(1) two-level segregated fit */
extern const rtm_strategy_t rtm_strategy_first_fit; /* FreeRTOS heap_4 */
extern const rtm_strategy_t rtm_strategy_best_fit;  /* FreeRTOS heap_2 */
extern const rtm_strategy_t rtm_strategy_bump;      /* FreeRTOS heap_1 */
extern const rtm_strategy_t rtm_strategy_system;    /* FreeRTOS heap_3; only with RTM_WITH_SYSTEM */

/* A strategy's number, for names, traces, tools and loops over all of them. */
typedef enum rtm_strategy_id {
    RTM_TLSF = 0,  /* default */
    RTM_FIRST_FIT, /* heap_4 */
    RTM_BEST_FIT,  /* heap_2 */
    RTM_BUMP,      /* heap_1 */
    RTM_SYSTEM,    /* heap_3 */
    RTM_STRATEGY_COUNT
} rtm_strategy_id_t;

/* Why rtm_heap_init refused its arguments. */
typedef enum rtm_err {
    RTM_OK = 0,
    RTM_ERR_NULL,           /* mem is NULL */
    RTM_ERR_MISALIGNED,     /* mem not aligned to RTM_HEAP_MEM_ALIGN */
    RTM_ERR_TOO_SMALL,      /* below rtm_heap_min_size() */
    RTM_ERR_TOO_LARGE,      /* arena (size less the front) above 4 GiB - 1, or mem + size past the end of the address
                               space; RTM_SYSTEM: region or budget above 4 GiB - 1, or their
                               sum above SIZE_MAX */
    RTM_ERR_BAD_ALIGNMENT,  /* config alignment not a power of two >= 4 */
    RTM_ERR_BAD_STRATEGY,   /* config names no valid strategy object */
    RTM_ERR_UNSUPPORTED,    /* strategy not compiled in (RTM_SYSTEM) */
    RTM_ERR_PORT            /* the port could not create the lock */
} rtm_err_t;

/* Why an allocation returned NULL (failed-allocation hook). */
typedef enum rtm_fail_reason {
    RTM_FAIL_NO_MEMORY = 1,  /* fewer free bytes than requested */
    RTM_FAIL_FRAGMENTED,     /* enough free bytes, but no free block fits */
    RTM_FAIL_TOO_LARGE,      /* size (plus overhead) cannot fit this heap at all */
    RTM_FAIL_OVERFLOW,       /* calloc count * size overflows size_t */
    RTM_FAIL_BAD_ALIGNMENT,  /* alignment zero or not a power of two */
    RTM_FAIL_TABLE_FULL      /* RTM_SYSTEM: live-block table full */
} rtm_fail_reason_t;

/* What a caller did wrong (misuse hook). The call that was misused has no
 * effect on the heap. */
typedef enum rtm_misuse {
    RTM_MISUSE_FOREIGN_POINTER = 1, /* pointer outside this heap's region */
    RTM_MISUSE_INVALID_POINTER,     /* inside the region, not a live block's start */
    RTM_MISUSE_DOUBLE_FREE,         /* the block is already free */
    RTM_MISUSE_FREE_REFUSED,        /* free on a RTM_BUMP heap (a realloc there that shrinks or
                                       moves keeps the old bytes taken, unreported) */
    RTM_MISUSE_CORRUPT_BLOCK        /* block metadata found inconsistent */
} rtm_misuse_t;

/* Failed-allocation hook: size and alignment as requested (alignment 0
 * when the request's alignment is at most the heap's granularity, as in
 * rtm_heap_event_t), and why it failed. Runs after the heap lock is
 * released. */
typedef void (*rtm_alloc_failed_fn)(rtm_heap_t *heap, size_t size, size_t alignment,
                                    rtm_fail_reason_t reason, void *ctx);
typedef void (*rtm_misuse_fn)(rtm_heap_t *heap, rtm_misuse_t kind, const void *address,
                              void *ctx);

/* rtm_heap_config_t.flags */
#define RTM_HEAP_NO_LOCK 0x1u /* single-threaded use: no port lock taken */

typedef struct rtm_heap_config {
    const rtm_strategy_t *strategy;  /* NULL = RTM_DEFAULT_STRATEGY (config.h): TLSF */
    size_t alignment;                /* block granularity, power of two >= 4; 0 = RTM_DEFAULT_ALIGN */
    const char *name;                /* for reports; kept by pointer; NULL = "heap" */
    uint32_t flags;                  /* RTM_HEAP_* */
    rtm_alloc_failed_fn on_alloc_failed; /* NULL = none */
    rtm_misuse_fn on_misuse;         /* NULL = rtm_default_misuse_hook */
    void *hook_ctx;                  /* passed to both hooks */
    size_t system_budget;            /* RTM_SYSTEM only: byte limit, at most UINT32_MAX;
                                        0 = 4 GiB - 1 - region size */
} rtm_heap_config_t;

/* Everything FreeRTOS HeapStats_t and ESP-IDF multi_heap_info_t report can be
 * derived from this. Invariant: free_bytes + allocated_bytes + overhead_bytes
 * == total_bytes. */
typedef struct rtm_heap_info {
    size_t total_bytes;        /* the size passed to rtm_heap_init (RTM_SYSTEM: budget + control) */
    size_t free_bytes;         /* usable bytes in free blocks */
    size_t allocated_bytes;    /* usable bytes of live blocks (rtm_usable_size summed) */
    size_t overhead_bytes;     /* control block, block headers, alignment padding */
    size_t min_free_bytes;     /* lowest free_bytes since init or rtm_heap_reset_min_free */
    size_t largest_free_block; /* the largest n for which rtm_malloc(n) succeeds now: the usable
                                  bytes of the largest reusable free block (RTM_BUMP: the tail;
                                  its alignment padding is free but never reused) */
    size_t used_blocks;        /* live allocations */
    size_t free_blocks;        /* free blocks */
    size_t alloc_count;        /* successful allocations since init; a realloc that moves counts
                                  one allocation and one free (RTM_BUMP: no free, the old block
                                  stays used), one in place counts neither */
    size_t free_count;         /* successful frees since init */
    size_t failed_count;       /* allocations that returned NULL for lack of memory or bad arguments */
} rtm_heap_info_t;

typedef struct rtm_block_info {
    void *ptr;    /* the address a caller gets (or would get) */
    size_t size;  /* usable bytes */
    bool used;
} rtm_block_info_t;

/* Walk callback: return false to stop the walk. Runs with the heap lock
 * held: it must not call into the same heap. */
typedef bool (*rtm_walk_fn)(const rtm_block_info_t *block, void *ctx);

typedef struct rtm_check_report {
    const char *problem;   /* a short sentence naming the broken invariant */
    const void *address;   /* the block (or control field) where it was found */
} rtm_check_report_t;

/* Where an allocation was asked for. caller is the return address of the
 * rtmem call (the instruction after the call in the application), filled
 * in by the front when the caller passes no site; file and line come from
 * the RTM_MALLOC-style macros. */
typedef struct rtm_alloc_site {
    const char *file; /* NULL when unknown */
    uint32_t line;
    const void *caller; /* NULL when unknown */
} rtm_alloc_site_t;

typedef enum rtm_heap_event_kind {
    RTM_EVENT_ALLOC = 1, /* ptr: the new block */
    RTM_EVENT_FREE,      /* ptr: the block just freed */
    RTM_EVENT_REALLOC    /* old_ptr became ptr (equal when resized in place) */
} rtm_heap_event_kind_t;

typedef struct rtm_heap_event {
    rtm_heap_event_kind_t kind;
    rtm_heap_t *heap;
    void *ptr;
    void *old_ptr;              /* RTM_EVENT_REALLOC only, else NULL */
    size_t size;                /* requested bytes (FREE: usable bytes freed) */
    size_t alignment;           /* requested alignment, 0 = the granularity */
    const rtm_alloc_site_t *site; /* where the call came from (FREE: caller only) */
} rtm_heap_event_t;

/* Observer of successful allocations, frees and reallocations (tracing,
 * per-task accounting). Runs with the heap lock held, right after the
 * operation, so events of one heap arrive in the order they happened: it
 * must be short and bounded, and must not call into the same heap. */
typedef void (*rtm_heap_observer_fn)(const rtm_heap_event_t *event, void *ctx);

/* The strategy object of an id, for programs that choose one at run time
 * (tools, tests): NULL for an unknown id and for RTM_SYSTEM when the
 * library is built without it. Referencing this links every strategy;
 * firmware names its one strategy object instead. O(1). */
const rtm_strategy_t *rtm_strategy_by_id(rtm_strategy_id_t id);

/* The id of a strategy object; RTM_STRATEGY_COUNT for NULL. O(1). */
rtm_strategy_id_t rtm_strategy_id(const rtm_strategy_t *strategy);

/* The smallest region rtm_heap_init accepts for this config (cfg may be NULL)
 * that still holds one block of the minimum size. O(1). */
size_t rtm_heap_min_size(const rtm_heap_config_t *cfg);

/* Bytes at the start of every region taken by the heap front (hooks,
 * counters, lock); the strategy's arena (its control block and the blocks)
 * follows. The arena's layout is the same on 32- and 64-bit machines, but
 * the front is not (pointer and lock sizes). To reproduce a device heap
 * byte for byte on a host, give the host heap the same arena size
 * (region size - front size) and place the arena at an address with the
 * same alignment modulo the largest alignment the program requests. O(1). */
size_t rtm_heap_front_size(void);

/* Why rtm_heap_init(mem, size, cfg) would fail, or RTM_OK. Pure: touches
 * nothing. O(1). */
rtm_err_t rtm_heap_init_error(const void *mem, size_t size, const rtm_heap_config_t *cfg);

/* Short English text for an error, misuse or failure value. Never NULL. */
const char *rtm_err_str(rtm_err_t err);
const char *rtm_misuse_str(rtm_misuse_t kind);
const char *rtm_fail_reason_str(rtm_fail_reason_t reason);
const char *rtm_strategy_name(rtm_strategy_id_t strategy);

/* Creates a heap over mem[0..size). cfg may be NULL (TLSF, 8-byte alignment,
 * locked, default hooks). The config is copied; the name is kept by pointer.
 * Returns the heap (== mem), or NULL if rtm_heap_init_error() is not RTM_OK.
 * Cost: O(size / G) to clear the block-start map (RTM_EXACT_POINTERS, one
 * bit per granule G: a memset of 1/64 of the region at G = 8), O(size) at
 * poisoning level 2, which fills the region, and for RTM_SYSTEM, which
 * clears its table; the rest is O(1). Not from an ISR. */
rtm_heap_t *rtm_heap_init(void *mem, size_t size, const rtm_heap_config_t *cfg);

/* Ends a heap: releases its port lock. Live blocks become invalid. For
 * RTM_SYSTEM, live blocks are returned to the C library. NULL is ignored. */
void rtm_heap_deinit(rtm_heap_t *heap);

/* Dynamic form: takes size bytes from parent and creates a heap in them,
 * e.g. a private TLSF heap for one subsystem inside the system heap. NULL
 * if parent is NULL, size is below rtm_heap_min_size(cfg) or cfg is one
 * rtm_heap_init refuses (checked first: nothing is asked of the parent), or
 * the parent cannot give the bytes (its failed-allocation hook runs). A
 * RTM_BUMP parent never frees: the bytes stay taken after
 * rtm_heap_destroy, which then only deinitialises the heap (no report), as
 * for a heap carved once at boot.
 * Cost: one parent allocation plus rtm_heap_init. Not from an ISR. */
rtm_heap_t *rtm_heap_create(rtm_heap_t *parent, size_t size, const rtm_heap_config_t *cfg);

/* Ends a heap made by rtm_heap_create and gives its bytes back to the
 * parent. A heap made by rtm_heap_init is only deinitialised (its memory is
 * the caller's). NULL is ignored. */
void rtm_heap_destroy(rtm_heap_t *heap);

/* Installs (fn != NULL) or removes (fn == NULL) the heap's one observer.
 * O(1), takes the lock. */
void rtm_heap_set_observer(rtm_heap_t *heap, rtm_heap_observer_fn fn, void *ctx);

/* Replaces the hooks (NULL on_misuse = the default hook). */
void rtm_heap_set_hooks(rtm_heap_t *heap, rtm_alloc_failed_fn on_alloc_failed,
                        rtm_misuse_fn on_misuse, void *ctx);

/* Allocates size bytes aligned to the heap's granularity. size 0 gives NULL
 * and is not counted as a failure. On failure: NULL, failed_count++, and the
 * failed-allocation hook. Cost: see the strategy table above. */
void *rtm_malloc(rtm_heap_t *heap, size_t size);

/* Allocates count * size zeroed bytes. Overflow gives NULL with
 * RTM_FAIL_OVERFLOW. Cost: rtm_malloc plus the memset. */
void *rtm_calloc(rtm_heap_t *heap, size_t count, size_t size);

/* Allocates size bytes at an address that is a multiple of alignment, which
 * must be a power of two (any size; values at or below the granularity cost
 * nothing extra). Zero or non-power-of-two alignment gives NULL with
 * RTM_FAIL_BAD_ALIGNMENT. Free the result with rtm_free. Argument order as
 * C11 aligned_alloc. */
void *rtm_aligned_alloc(rtm_heap_t *heap, size_t alignment, size_t size);

/* The general entry points behind rtm_malloc/rtm_aligned_alloc and
 * rtm_realloc, for layers that pass on their own caller's site (capability
 * regions, compat APIs, the RTM_MALLOC macros). alignment 0 = the heap's
 * granularity, else as rtm_aligned_alloc. site may be NULL: the return
 * address of this call is used. Same costs and bad-input results.
 * rtm_malloc_ex is rtm_heap_alloc_ex at the granularity; unlike it, it does
 * not link the strategies' aligned allocation (src/strategy/aligned.c), so
 * prefer it where no alignment is asked for. */
void *rtm_malloc_ex(rtm_heap_t *heap, size_t size, const rtm_alloc_site_t *site);
void *rtm_heap_alloc_ex(rtm_heap_t *heap, size_t size, size_t alignment,
                        const rtm_alloc_site_t *site);
void *rtm_realloc_ex(rtm_heap_t *heap, void *ptr, size_t size, const rtm_alloc_site_t *site);
void rtm_free_ex(rtm_heap_t *heap, void *ptr, const rtm_alloc_site_t *site);

/* rtm_free_ex for layers that need the block's size as the free happens
 * (the FreeRTOS drop-in's traceFREE and configHEAP_CLEAR_MEMORY_ON_FREE):
 * returns the bytes the block held for its caller (rtm_usable_size's
 * figure), or 0 when the pointer is refused (NULL, foreign, interior,
 * freed, corrupt, or any block of a RTM_BUMP heap, reported as rtm_free
 * reports them). With clear, those bytes are zeroed before the block is
 * freed, under the heap's lock. One call, so a corruption report names the
 * free. Cost: rtm_free's general path, plus the zeroing. */
size_t rtm_free_sized_ex(rtm_heap_t *heap, void *ptr, bool clear, const rtm_alloc_site_t *site);

/* rtm_malloc and rtm_realloc that also record __FILE__ and __LINE__ for
 * tracing and leak reports. */
#define RTM_MALLOC(heap, size) \
    rtm_malloc_ex((heap), (size), &(const rtm_alloc_site_t){__FILE__, __LINE__, NULL})
#define RTM_REALLOC(heap, ptr, size) \
    rtm_realloc_ex((heap), (ptr), (size), &(const rtm_alloc_site_t){__FILE__, __LINE__, NULL})

/* Resizes a block, keeping min(old, new) bytes of contents. Shrinks in place
 * (the tail is freed where the strategy can), grows in place when the next
 * block is free and large enough, else allocates, copies and frees.
 * ptr NULL = rtm_malloc; size 0 = rtm_free and returns NULL (a report
 * about ptr still names the realloc: debug.h). On failure
 * returns NULL and the old block stays valid and unchanged. A pointer the
 * heap did not give out is reported (misuse hook) and gives NULL. The result
 * keeps only the heap's granularity (not a larger rtm_aligned_alloc
 * alignment). A move allocates, copies and frees under one hold of the
 * heap's lock (the copy is O(old size) with the lock held), so a free of
 * ptr racing it on another thread (a bug in the application) lands wholly
 * before or after it and is never made twice: after it, that free is
 * reported as a double free (RTM_SYSTEM: a foreign pointer); before it,
 * the realloc is the call reported, unless the block was handed out again
 * in between, which no heap can tell from a valid call. A heap created
 * with RTM_HEAP_NO_LOCK has no lock and no such guarantee. */
void *rtm_realloc(rtm_heap_t *heap, void *ptr, size_t size);

/* Frees a block. NULL is ignored. A foreign, interior or already-freed
 * pointer, and any free on a RTM_BUMP heap, is reported through the misuse
 * hook and has no effect (exactly so with RTM_EXACT_POINTERS, see above).
 * Cost: see the strategy table; TLSF O(1). */
void rtm_free(rtm_heap_t *heap, void *ptr);

/* Usable bytes of a live block (>= the requested size). A bad pointer is
 * reported and gives 0. O(1); at poisoning levels 1 and 2, first and best
 * fit O(free blocks) at most, as they check the list links the block's
 * free would follow (below). */
size_t rtm_usable_size(rtm_heap_t *heap, const void *ptr);

/* A heap whose blocks the application damaged (a write after free into a
 * free block's list links, an overrun, a free list made into a cycle):
 * rtm_heap_info and its shortcuts, rtm_heap_walk, rtm_heap_check and
 * rtm_heap_check_step (debug.h) still return, read nothing outside the
 * heap's region and change no byte of its blocks, and rtm_heap_check says
 * what is wrong; a damaged free list makes largest_free_block count only
 * the blocks before the damage. At poisoning levels 1 and 2, TLSF, first
 * fit and best fit also check a link before rtm_malloc, rtm_free or
 * rtm_realloc follows it: the allocation that reaches the damage fails and
 * a free that would merge with it (best fit, which never merges: walk
 * through it to the block's place in its list) is refused, each with a
 * report. At level 0 those calls trust the links. Damage to the control
 * block before the first block is mostly not covered (docs/debugging.md,
 * "Damaged heaps", says which cases are). */

/* Fills *info. O(1) for TLSF except largest_free_block, which scans the one
 * highest non-empty size class; O(free blocks) for first/best fit. False if
 * heap or info is NULL. */
bool rtm_heap_info(rtm_heap_t *heap, rtm_heap_info_t *info);

/* Shortcuts for single fields of rtm_heap_info; 0 for NULL. Free bytes and
 * the minimum-ever free bytes are O(1) for every strategy (a counter read
 * under the lock); the largest free block costs what rtm_heap_info's does. */
size_t rtm_heap_free_bytes(rtm_heap_t *heap);
size_t rtm_heap_min_free_bytes(rtm_heap_t *heap);
size_t rtm_heap_largest_free(rtm_heap_t *heap);

/* Sets the minimum-ever free mark to the current free bytes. O(1). */
void rtm_heap_reset_min_free(rtm_heap_t *heap);

/* Calls fn for every block in address order (RTM_SYSTEM: live blocks in
 * table order). Lock held throughout: O(blocks). False if heap or fn is NULL
 * or the walk met a corrupt block (then rtm_heap_check says where). */
bool rtm_heap_walk(rtm_heap_t *heap, rtm_walk_fn fn, void *ctx);

/* Verifies every invariant the strategy relies on (block sizes and bounds,
 * boundary tags, coalescing, free lists and bitmaps, counters against the
 * blocks). Returns true if all hold; otherwise false and, if report is not
 * NULL, the first broken invariant and its address. Lock held: O(blocks). */
bool rtm_heap_check(rtm_heap_t *heap, rtm_check_report_t *report);

/* rtm_heap_check that tells only its caller: at poisoning levels >= 1 a
 * problem is not sent to the corruption hook (whose default stops the
 * program), for layers that report it themselves, such as ESP-IDF's
 * integrity checks and rtm_caps_check. Same cost. */
bool rtm_heap_check_silent(rtm_heap_t *heap, rtm_check_report_t *report);

/* Strategy, name, granularity of a heap. */
rtm_strategy_id_t rtm_heap_strategy(const rtm_heap_t *heap);
const char *rtm_heap_name(const rtm_heap_t *heap);
size_t rtm_heap_alignment(const rtm_heap_t *heap);

/* The default misuse hook: writes one line through the output hook
 * (output.h) and, if RTM_ABORT_ON_MISUSE is 1, calls RTM_ABORT(). */
void rtm_default_misuse_hook(rtm_heap_t *heap, rtm_misuse_t kind, const void *address, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
