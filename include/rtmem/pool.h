/*
 * rtmem fixed-block pools and size-class sets.
 *
 * A pool is `count` blocks of one size in one piece of storage. Allocation
 * and free are O(1) and never fragment: free blocks are linked through their
 * own first 4 bytes (an intrusive free list, no header on any block), and a
 * bitmap of allocated blocks, kept after the blocks, lets every free be
 * checked in O(1). For message buffers, packet descriptors and sensor
 * samples that come and go thousands of times a second in a few sizes:
 * Zephyr's k_mem_slab, ThreadX block pools and CMSIS-RTOS2 osMemoryPool do
 * the same job.
 *
 * Three ways to make one, the same pool afterwards:
 *
 *     // static: storage and control block in .bss, a const descriptor in
 *     // flash; no heap at all
 *     RTM_POOL_DEFINE(msg_pool, 64, 32);          // at file scope
 *     rtm_pool_t *msgs = rtm_pool_init_defined(&msg_pool, NULL);
 *
 *     // caller-supplied storage
 *     static rtm_pool_t ctl;
 *     static _Alignas(8) uint8_t mem[RTM_POOL_STORAGE_SIZE(64, 32, 0)];
 *     rtm_pool_config_t cfg = {.block_size = 64, .count = 32};
 *     rtm_pool_t *msgs = rtm_pool_init(&ctl, mem, sizeof mem, &cfg);
 *
 *     // dynamic: control block and storage from a rtmem heap
 *     rtm_pool_t *msgs = rtm_pool_create(heap, &cfg);
 *     ...
 *     rtm_pool_delete(msgs);
 *
 *     void *m = rtm_pool_alloc(msgs);                 // NULL when empty
 *     void *n = rtm_pool_alloc_wait(msgs, 100);       // blocks up to 100 ms
 *     rtm_pool_free(msgs, m);
 *
 * Layout. A block occupies a span of max(block_size, 4) bytes rounded up to
 * the alignment (a power of two, at least 4; 0 = RTM_DEFAULT_ALIGN). The
 * storage is count spans, then the bitmap: one bit per block in 32-bit
 * words (omitted with RTM_POOL_NO_BITMAP). Free-list links are 32-bit block
 * indices, so a pool has the same layout on a 64-bit host as on a 32-bit
 * MCU; the spans of one pool total at most 4 GiB - 1.
 *
 * Blocks that were never handed out are not linked at init: a watermark
 * separates them from the rest and allocation takes them in address order
 * once the free list is empty. That makes init O(1) but for the bitmap's
 * clearing (O(count / 32), rtm_pool_init) and leaves the blocks untouched
 * until they are used. The free list is LIFO: the block freed last
 * is handed out next, while it is still in the cache.
 *
 * Misuse. rtm_pool_free of a pointer outside the pool's blocks
 * (RTM_MISUSE_FOREIGN_POINTER), inside them but not at a block start or at
 * a block never handed out (RTM_MISUSE_INVALID_POINTER), or of a block that
 * is already free (RTM_MISUSE_DOUBLE_FREE) is reported through the misuse
 * hook and leaves the pool as it was. Without the bitmap only a double
 * free of the block freed last is seen; an older one corrupts the free list
 * (rtm_pool_check then finds it). A free block written to after its free
 * can break its link: allocation checks every link it follows in O(1) (a
 * link to a block never handed out, to the block itself or, with the
 * bitmap, to a live block is bad; without the bitmap a link to a live block
 * is followed and that block handed out twice) and,
 * instead of following a bad one, reports RTM_MISUSE_CORRUPT_BLOCK, drops
 * the rest of the free list (those blocks are lost; rtm_pool_check says so)
 * and goes on with the blocks it can trust.
 *
 * Thread safety. Every function takes the pool's lock (port.h) unless the
 * pool was made with RTM_POOL_NO_LOCK; only the O(1) work above is done
 * under it. rtm_pool_alloc and rtm_pool_free may be called from an ISR when
 * RTM_PORT_LOCK_ISR_SAFE is 1 (the none port with interrupt-masking hooks);
 * the hooks then run in the ISR too. rtm_pool_contains,
 * rtm_pool_block_size and rtm_pool_name take no lock and are safe anywhere.
 * No other pool function may be called from an ISR. Hooks run after the
 * lock is released.
 *
 * Bad input never gives undefined behaviour: a NULL or uninitialised pool
 * gives NULL/0/false and changes nothing; bad pointers are reported.
 */
#ifndef RTMEM_POOL_H
#define RTMEM_POOL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtmem/config.h"
#include "rtmem/heap.h"
#include "rtmem/port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Options: RTM_POOL_FILL, RTM_FILL_FREED/RTM_FILL_FRESH and
 * RTM_POOL_SET_MAX_CLASSES live in rtmem/config.h. */

/* ------------------------------------------------------------------ */
/* Geometry                                                            */

/* The alignment a pool really uses for a requested one: 0 gives
 * RTM_DEFAULT_ALIGN, 1 and 2 give 4 (a link must be 4-aligned). */
#define RTM_POOL_EFFECTIVE_ALIGN(alignment)                                                    \
    ((alignment) == 0u                        ? (size_t)RTM_DEFAULT_ALIGN                        \
     : (alignment) == 1u || (alignment) == 2u ? (size_t)4u                                        \
                                              : (size_t)(alignment))

/* Bytes one block occupies: block_size (at least 4) rounded up to the
 * effective alignment. */
#define RTM_POOL_SPAN(block_size, alignment)                                                    \
    ((((block_size) < 4u ? (size_t)4u : (size_t)(block_size)) + RTM_POOL_EFFECTIVE_ALIGN(alignment) - \
      1u) / RTM_POOL_EFFECTIVE_ALIGN(alignment) * RTM_POOL_EFFECTIVE_ALIGN(alignment))

/* Bytes of the allocated-block bitmap that follows the blocks. */
#define RTM_POOL_BITMAP_BYTES(count) ((((size_t)(count) + 31u) / 32u) * 4u)

/* Storage bytes rtm_pool_init needs (with the bitmap). A constant
 * expression when the arguments are; rtm_pool_storage_size is the same
 * rule as a function. Storage must be aligned to the effective alignment. */
#define RTM_POOL_STORAGE_SIZE(block_size, count, alignment) \
    (RTM_POOL_SPAN(block_size, alignment) * (size_t)(count) + RTM_POOL_BITMAP_BYTES(count))

/* ------------------------------------------------------------------ */
/* Types                                                               */

typedef struct rtm_pool rtm_pool_t;

/* Why rtm_pool_init refused its arguments. */
typedef enum rtm_pool_err {
    RTM_POOL_OK = 0,
    RTM_POOL_ERR_NULL,          /* pool, storage or cfg is NULL */
    RTM_POOL_ERR_ZERO,          /* block_size or count is 0 */
    RTM_POOL_ERR_BAD_ALIGNMENT, /* alignment not a power of two */
    RTM_POOL_ERR_MISALIGNED,    /* storage not aligned to the effective alignment */
    RTM_POOL_ERR_TOO_SMALL,     /* storage_size below rtm_pool_storage_size() */
    RTM_POOL_ERR_TOO_LARGE,     /* the spans total 4 GiB or more, or the storage the pool
                                   needs runs past the end of the address space */
    RTM_POOL_ERR_OVERLAP        /* the storage the pool needs overlaps its control block */
} rtm_pool_err_t;

/* Misuse hook. From rtm_pool_free: RTM_MISUSE_FOREIGN_POINTER,
 * RTM_MISUSE_INVALID_POINTER or RTM_MISUSE_DOUBLE_FREE at the address the
 * caller passed; that call had no effect. From an allocation:
 * RTM_MISUSE_CORRUPT_BLOCK at the free block whose link was overwritten
 * (see the top of this file). */
typedef void (*rtm_pool_misuse_fn)(rtm_pool_t *pool, rtm_misuse_t kind, const void *address,
                                   void *ctx);

/* Failed-allocation hook: reason is RTM_FAIL_NO_MEMORY (no free block, also
 * after a wait timed out). */
typedef void (*rtm_pool_failed_fn)(rtm_pool_t *pool, rtm_fail_reason_t reason, void *ctx);

/* rtm_pool_config_t.flags */
#define RTM_POOL_NO_LOCK 0x1u   /* one context only: no port lock taken, alloc_wait never blocks */
#define RTM_POOL_NO_BITMAP 0x2u /* no allocated-block bitmap: saves count/8 bytes, double frees go unseen */

typedef struct rtm_pool_config {
    size_t block_size;  /* bytes the caller may use in a block, > 0 */
    size_t count;       /* blocks, > 0 */
    size_t alignment;   /* of every block: power of two; 0 = RTM_DEFAULT_ALIGN, 1 and 2 mean 4 */
    const char *name;   /* for reports; kept by pointer; NULL = "pool" */
    uint32_t flags;     /* RTM_POOL_* */
    rtm_pool_failed_fn on_alloc_failed; /* NULL = none */
    rtm_pool_misuse_fn on_misuse;       /* NULL = rtm_pool_default_misuse_hook */
    void *hook_ctx;                     /* passed to both hooks */
} rtm_pool_config_t;

/* A snapshot of one pool. Invariant: used + free == capacity. */
typedef struct rtm_pool_info {
    size_t block_size;   /* usable bytes per block: the span, >= the configured size */
    size_t alignment;    /* of every block */
    size_t capacity;     /* blocks in the pool */
    size_t used;         /* blocks handed out now */
    size_t free;         /* blocks not handed out (capacity - used); after a damaged free
                            list was cut (misuse hook, rtm_pool_check), the blocks past the
                            cut still count here though no allocation reaches them */
    size_t peak_used;    /* highest used since init or rtm_pool_reset_peak */
    size_t alloc_count;  /* successful allocations since init (wraps) */
    size_t free_count;   /* successful frees since init (wraps) */
    size_t failed_count; /* allocations that returned NULL, timeouts included */
    size_t wait_count;   /* allocations that had to block (rtm_pool_alloc_wait) */
    size_t waiting;      /* tasks blocked in rtm_pool_alloc_wait now */
} rtm_pool_info_t;

/* A task blocked in rtm_pool_alloc_wait; lives on that task's stack. */
typedef struct rtm_pool_waiter rtm_pool_waiter_t;

/* The control block. Public only so that it can be placed statically
 * (RTM_POOL_DEFINE, rtm_pool_init); its fields are private: use the
 * functions. */
struct rtm_pool {
    uint32_t magic;
    uint32_t flags;
    uint8_t *blocks;        /* block i is at blocks + i * span */
    uint8_t *bitmap;        /* bit i set = block i handed out; NULL with RTM_POOL_NO_BITMAP */
    uint32_t span;
    uint32_t alignment;
    uint32_t count;
    uint32_t fresh;         /* watermark: blocks [fresh, count) were never handed out */
    uint32_t free_head;     /* first block of the free list, or UINT32_MAX */
    uint32_t free_listed;   /* length of the free list */
    uint32_t used;
    uint32_t peak_used;
    uint32_t span_shift;    /* span = odd part << span_shift */
    uint32_t span_inverse;  /* inverse of the odd part modulo 2^32 */
    size_t alloc_count;
    size_t free_count;
    size_t failed_count;
    size_t wait_count;
    size_t waiting;
    rtm_pool_waiter_t *wait_head; /* oldest waiter first */
    rtm_pool_waiter_t *wait_tail;
    const char *name;
    rtm_heap_t *owner;      /* rtm_pool_create: the heap holding this pool */
    rtm_pool_failed_fn on_alloc_failed;
    rtm_pool_misuse_fn on_misuse;
    void *hook_ctx;
    rtm_port_lock_t lock;
};

/* What RTM_POOL_DEFINE places in flash: where the .bss parts are and the
 * geometry, for rtm_pool_init_defined. */
typedef struct rtm_pool_def {
    rtm_pool_t *pool;
    void *storage;
    size_t storage_size;
    size_t block_size;
    size_t count;
    size_t alignment;
    const char *name;
} rtm_pool_def_t;

/* Defines a pool of count blocks of block_size bytes with static storage:
 * the control block and the storage go to .bss, a rtm_pool_def_t called
 * `name` to .rodata. Use at file or block scope, then
 * rtm_pool_init_defined(&name, cfg) once before use. Zero or
 * non-power-of-two arguments are compile errors. */
#define RTM_POOL_DEFINE(name, block_size, count) RTM_POOL_DEFINE_ALIGNED(name, block_size, count, 0u)

#define RTM_POOL_DEFINE_ALIGNED(name, block_size, count, alignment)                               \
    _Static_assert((block_size) > 0 && (count) > 0, "pool " #name ": block_size and count must be > 0"); \
    _Static_assert((RTM_POOL_EFFECTIVE_ALIGN(alignment) & (RTM_POOL_EFFECTIVE_ALIGN(alignment) - 1u)) == 0, \
                   "pool " #name ": alignment must be a power of two");                          \
    static _Alignas(RTM_POOL_EFFECTIVE_ALIGN(alignment)) uint8_t                                  \
        name##_rtm_storage[RTM_POOL_STORAGE_SIZE(block_size, count, alignment)];                  \
    static rtm_pool_t name##_rtm_pool;                                                            \
    static const rtm_pool_def_t name = {&name##_rtm_pool,    name##_rtm_storage,                  \
                                        sizeof name##_rtm_storage, (block_size), (count),          \
                                        (alignment),          #name}

/* ------------------------------------------------------------------ */
/* Creating and ending pools                                           */

/* Storage bytes for a pool (the blocks, plus the bitmap unless flags has
 * RTM_POOL_NO_BITMAP). 0 if the arguments are invalid (zero size or count,
 * bad alignment, 4 GiB or more of spans) or the total does not fit size_t
 * (on 32-bit targets spans under 4 GiB plus the bitmap can overflow). O(1). */
size_t rtm_pool_storage_size(size_t block_size, size_t count, size_t alignment, uint32_t flags);

/* Why rtm_pool_init(pool, storage, storage_size, cfg) would fail, or
 * RTM_POOL_OK. Pure. O(1). */
rtm_pool_err_t rtm_pool_init_error(const rtm_pool_t *pool, const void *storage,
                                   size_t storage_size, const rtm_pool_config_t *cfg);

/* Short English text for an error value. Never NULL. */
const char *rtm_pool_err_str(rtm_pool_err_t err);

/* Creates a pool in caller memory: control block *pool, blocks and bitmap
 * in storage (aligned to the effective alignment, at least
 * rtm_pool_storage_size bytes; extra bytes are unused). The config is
 * copied, the name kept by pointer. Returns pool, or NULL if
 * rtm_pool_init_error() is not RTM_POOL_OK or the port refused the lock
 * (the only failure it cannot foresee). O(1): storage is not touched
 * except the bitmap, which is cleared (O(count / 32)). Not from an ISR. */
rtm_pool_t *rtm_pool_init(rtm_pool_t *pool, void *storage, size_t storage_size,
                          const rtm_pool_config_t *cfg);

/* Creates the pool that RTM_POOL_DEFINE described. cfg may be NULL (name
 * from the definition, lock, default hooks); otherwise it gives name,
 * flags and hooks, and its block_size, count and alignment must each be 0
 * or equal the definition's (else NULL).
 * RTM_POOL_NO_BITMAP is allowed (the bitmap bytes stay unused). Same cost
 * as rtm_pool_init. Not from an ISR. */
rtm_pool_t *rtm_pool_init_defined(const rtm_pool_def_t *def, const rtm_pool_config_t *cfg);

/* Dynamic form: takes the control block and the storage from heap in one
 * allocation (aligned to the block alignment) and creates the pool there.
 * NULL if heap or cfg is NULL, the config is invalid, or the heap cannot
 * give the bytes (its failed-allocation hook runs). Cost: one heap
 * allocation plus rtm_pool_init. Not from an ISR.
 * Capability sets (e.g. DMA-capable memory) will select a heap and then do
 * exactly this: the pool records only the heap its memory came from. */
rtm_pool_t *rtm_pool_create(rtm_heap_t *heap, const rtm_pool_config_t *cfg);

/* Ends a pool: releases its lock. Blocks still handed out become invalid.
 * Refused (false, nothing changes) while a task waits in
 * rtm_pool_alloc_wait, or for a NULL or uninitialised pool. Does not give
 * memory back: see rtm_pool_delete. Not from an ISR. */
bool rtm_pool_deinit(rtm_pool_t *pool);

/* Ends a pool and, if rtm_pool_create made it, gives its memory back to
 * the heap. For a pool made by rtm_pool_init(_defined) the same as
 * rtm_pool_deinit. Same refusals. Not from an ISR. */
bool rtm_pool_delete(rtm_pool_t *pool);

/* Replaces the hooks (NULL on_misuse = the default hook). Lock held, O(1).
 * Install hooks before other tasks use the pool: a hook already being
 * called elsewhere is not waited for. NULL pool: nothing. Not from an ISR. */
void rtm_pool_set_hooks(rtm_pool_t *pool, rtm_pool_failed_fn on_alloc_failed,
                        rtm_pool_misuse_fn on_misuse, void *ctx);

/* ------------------------------------------------------------------ */
/* Allocating and freeing                                              */

/* Takes a free block, or returns NULL (failed_count++, failed-allocation
 * hook) when none is free. Never blocks. O(1), lock held for O(1). ISR: see
 * the top of this file. NULL pool gives NULL without a hook. */
void *rtm_pool_alloc(rtm_pool_t *pool);

/* Takes a free block; when none is free, blocks the calling task until
 * another task frees one or timeout_ms pass (RTM_WAIT_FOREVER: no limit).
 * Waiting tasks are served in the order they started waiting: a freed
 * block goes straight to the longest waiter. Returns NULL on timeout (the
 * failed-allocation hook runs). Does not block, and behaves as
 * rtm_pool_alloc, when timeout_ms is 0, the pool has RTM_POOL_NO_LOCK, or
 * rtm_port_can_block() is false (none port; FreeRTOS before the scheduler
 * starts or while it is suspended). O(1) plus, on a timeout, O(waiting
 * tasks) to leave the queue. Never from an ISR. */
void *rtm_pool_alloc_wait(rtm_pool_t *pool, uint32_t timeout_ms);

/* Gives a block back, or to the longest waiter if a task is waiting. NULL
 * is ignored. A foreign, interior or already-free pointer is reported
 * through the misuse hook and has no effect. O(1) (pointer to index by
 * multiplication: no divide, which Cortex-M0 lacks). ISR: see the top. */
void rtm_pool_free(rtm_pool_t *pool, void *block);

/* Whether ptr lies inside the pool's blocks (any byte of any block, free or
 * not). O(1), no lock: the geometry never changes. False for NULL. */
bool rtm_pool_contains(const rtm_pool_t *pool, const void *ptr);

/* ------------------------------------------------------------------ */
/* Inspecting                                                          */

/* Usable bytes per block (the span); 0 for NULL. O(1), no lock. */
size_t rtm_pool_block_size(const rtm_pool_t *pool);

/* Name given at init ("pool" by default); "(no pool)" for NULL. */
const char *rtm_pool_name(const rtm_pool_t *pool);

/* Fills *info. O(1), lock held. False if pool or info is NULL. Not from an
 * ISR. */
bool rtm_pool_info(rtm_pool_t *pool, rtm_pool_info_t *info);

/* Sets peak_used to the current used count. O(1), lock held. NULL pool:
 * nothing. Not from an ISR. */
void rtm_pool_reset_peak(rtm_pool_t *pool);

/* Verifies the invariants: the control block's geometry; every free-list
 * entry is a block that was handed out before, the list has no cycle and
 * its length plus the never-used blocks plus used equals the capacity; the
 * bitmap has exactly `used` bits set, none for a listed or never-used
 * block; peak >= used; tasks wait only while no block is free, and the
 * wait queue has `waiting` entries. True if all hold; otherwise false and,
 * if report is not NULL, the first broken invariant and where. Lock held:
 * O(count). NULL or uninitialised pool: false with that as the problem. Not
 * from an ISR. */
bool rtm_pool_check(rtm_pool_t *pool, rtm_check_report_t *report);

/* The default misuse hook: one line through the output hook (output.h)
 * naming the misuse, the address and the pool; then RTM_ABORT() if
 * RTM_ABORT_ON_MISUSE is 1. */
void rtm_pool_default_misuse_hook(rtm_pool_t *pool, rtm_misuse_t kind, const void *address,
                                  void *ctx);

/* ------------------------------------------------------------------ */
/* Size-class sets                                                     */
/*
 * Several pools of increasing block size behind one alloc(size), as the
 * message-buffer allocators of network stacks do: a request goes to the
 * smallest class whose blocks fit it; with RTM_POOL_SET_TRY_LARGER an empty
 * class passes it on to the next larger ones; after that, if a fallback
 * heap is set, to rtm_malloc on it. rtm_pool_set_free finds the owner by
 * address (a class, else the fallback heap).
 *
 *     static rtm_pool_set_t set;                   // static form: pools made any way
 *     rtm_pool_t *classes[] = {small, medium, large};
 *     rtm_pool_set_config_t scfg = {.fallback = heap};
 *     rtm_pool_set_init(&set, classes, 3, &scfg);
 *
 *     rtm_pool_class_t sizes[] = {{32, 64}, {128, 16}, {512, 4}};
 *     rtm_pool_set_t *s = rtm_pool_set_create(heap, sizes, 3, &scfg);  // dynamic
 *     void *p = rtm_pool_set_alloc(s, 100);        // from the 128-byte class
 *     rtm_pool_set_free(s, p);
 *     rtm_pool_set_delete(s);
 *
 * The set's own lock guards only its counters; each class keeps its own.
 */

typedef struct rtm_pool_set rtm_pool_set_t;

/* Set misuse hook: a pointer in no class and no fallback heap
 * (RTM_MISUSE_FOREIGN_POINTER), or the set's own control block or one of
 * its pools' (RTM_MISUSE_INVALID_POINTER; with rtm_pool_set_create those
 * are live blocks of the heap, which would otherwise free them). Misuse
 * inside a class is reported by that pool's hook, inside the fallback by
 * the heap's. */
typedef void (*rtm_pool_set_misuse_fn)(rtm_pool_set_t *set, rtm_misuse_t kind,
                                       const void *address, void *ctx);
/* Set failed-allocation hook: no class and no fallback could serve size.
 * RTM_FAIL_TOO_LARGE if no class is large enough, else RTM_FAIL_NO_MEMORY. */
typedef void (*rtm_pool_set_failed_fn)(rtm_pool_set_t *set, size_t size, rtm_fail_reason_t reason,
                                       void *ctx);

/* rtm_pool_set_config_t.flags */
#define RTM_POOL_SET_TRY_LARGER 0x1u /* an empty class passes the request to larger classes */
#define RTM_POOL_SET_NO_LOCK 0x2u    /* one context only: the set's counters are not locked */

typedef struct rtm_pool_set_config {
    const char *name;      /* for reports; kept by pointer; NULL = "pool set" */
    uint32_t flags;        /* RTM_POOL_SET_* */
    rtm_heap_t *fallback;  /* NULL = none: requests no class can serve fail */
    rtm_pool_set_failed_fn on_alloc_failed; /* NULL = none */
    rtm_pool_set_misuse_fn on_misuse;       /* NULL = rtm_pool_set_default_misuse_hook */
    void *hook_ctx;
} rtm_pool_set_config_t;

/* One class for rtm_pool_set_create. */
typedef struct rtm_pool_class {
    size_t block_size;
    size_t count;
} rtm_pool_class_t;

typedef struct rtm_pool_set_info {
    size_t classes;          /* pools in the set */
    size_t pool_allocs;      /* requests served by the smallest fitting class */
    size_t larger_allocs;    /* ... by a larger class (RTM_POOL_SET_TRY_LARGER) */
    size_t fallback_allocs;  /* ... by the fallback heap */
    size_t failed_count;     /* requests that got NULL (size 0 excluded) */
} rtm_pool_set_info_t;

/* The control block; public for static placement, fields private. */
struct rtm_pool_set {
    uint32_t magic;
    uint32_t flags;
    size_t classes;
    rtm_pool_t *pools[RTM_POOL_SET_MAX_CLASSES]; /* by block size, smallest first */
    rtm_heap_t *fallback;
    rtm_heap_t *owner;  /* rtm_pool_set_create: the heap holding the set and its pools */
    const char *name;
    size_t pool_allocs;
    size_t larger_allocs;
    size_t fallback_allocs;
    size_t failed_count;
    rtm_pool_set_failed_fn on_alloc_failed;
    rtm_pool_set_misuse_fn on_misuse;
    void *hook_ctx;
    rtm_port_lock_t lock;
};

/* Creates a set over count existing pools (1..RTM_POOL_SET_MAX_CLASSES),
 * made any way, given in any order: the set sorts them by block size. The
 * pools stay the caller's (rtm_pool_set_deinit does not end them) and may
 * still be used directly; one the caller deinitialises is then passed
 * over by rtm_pool_set_alloc as if it were empty (the next class with
 * RTM_POOL_SET_TRY_LARGER, then the fallback), and fails
 * rtm_pool_set_check. cfg may be NULL (no fallback, no flags). NULL if
 * set or pools is NULL, count is out of range, a pool is NULL or not
 * initialised, or appears twice, or the port refuses the lock. O(count^2),
 * count <= 8. Not from an ISR. */
rtm_pool_set_t *rtm_pool_set_init(rtm_pool_set_t *set, rtm_pool_t *const *pools, size_t count,
                                  const rtm_pool_set_config_t *cfg);

/* Dynamic form: creates count pools (default alignment, named after the
 * set) and the set's control block from heap. Same cfg rules; classes need
 * not be sorted. NULL if any argument is invalid or the heap runs out
 * (everything taken so far is given back). Cost: count + 1 heap
 * allocations. Not from an ISR. */
rtm_pool_set_t *rtm_pool_set_create(rtm_heap_t *heap, const rtm_pool_class_t *classes,
                                    size_t count, const rtm_pool_set_config_t *cfg);

/* Ends a set (its lock). The pools are not touched. NULL is ignored. */
void rtm_pool_set_deinit(rtm_pool_set_t *set);

/* Ends a set made by rtm_pool_set_create: deletes its pools and gives all
 * the memory back. False, and nothing changes, if a task waits on one of
 * its pools. For a set made by rtm_pool_set_init the same as
 * rtm_pool_set_deinit (true). False for NULL. */
bool rtm_pool_set_delete(rtm_pool_set_t *set);

/* Allocates at least size bytes as described above. size 0 gives NULL and
 * is not a failure. A class found empty counts it in its own failed_count
 * (a sign that class is too small) but its hook is not called; if the
 * whole request fails: NULL, the set's failed_count++ and the set's
 * failed-allocation hook. Cost:
 * O(classes) to pick the class, then rtm_pool_alloc; the fallback costs an
 * rtm_malloc. Never blocks. ISR: as rtm_pool_alloc, and only without a
 * fallback heap. */
void *rtm_pool_set_alloc(rtm_pool_set_t *set, size_t size);

/* Frees p to the class whose blocks contain it, else to the fallback heap;
 * with neither it is reported (set misuse hook, RTM_MISUSE_FOREIGN_POINTER),
 * and so is the address of the set or of one of its pools
 * (RTM_MISUSE_INVALID_POINTER), which is never given to the heap.
 * NULL is ignored. O(classes) plus the free. ISR: as rtm_pool_set_alloc. */
void rtm_pool_set_free(rtm_pool_set_t *set, void *p);

/* Class i (0 = smallest block size), or NULL if i is out of range. */
rtm_pool_t *rtm_pool_set_class(const rtm_pool_set_t *set, size_t i);

/* Fills *info (the set's own counters; per class: rtm_pool_info on
 * rtm_pool_set_class). O(1). False if set or info is NULL. */
bool rtm_pool_set_info(rtm_pool_set_t *set, rtm_pool_set_info_t *info);

/* rtm_pool_check on every class, plus the set's order (block sizes never
 * decreasing). O(total blocks). */
bool rtm_pool_set_check(rtm_pool_set_t *set, rtm_check_report_t *report);

/* The default set misuse hook: one line through the output hook, then
 * RTM_ABORT() if RTM_ABORT_ON_MISUSE is 1. */
void rtm_pool_set_default_misuse_hook(rtm_pool_set_t *set, rtm_misuse_t kind,
                                      const void *address, void *ctx);

#ifdef __cplusplus
}
#endif

#endif
