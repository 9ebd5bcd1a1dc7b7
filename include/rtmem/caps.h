/*
 * rtmem capability regions: one allocator over RAM that is not all alike.
 *
 * Embedded RAM is several memories with different properties: on an ESP32
 * only internal DRAM feeds DMA, IRAM takes 32-bit accesses only, PSRAM is
 * large and slow; on an STM32H7 the DTCM is fast and invisible to DMA. Each
 * such memory is registered here as a *region*: one rtmem heap (any strategy
 * but RTM_SYSTEM) with a name and a capability set. Callers ask for
 * properties, not places:
 *
 *     rtm_preset_esp32_init(NULL);                      // presets/esp32.h
 *     uint8_t *rx = rtm_caps_malloc(1536, RTM_CAP_DMA); // never PSRAM, never IRAM
 *     void *big = rtm_caps_malloc(256 * 1024, RTM_CAP_SPIRAM);
 *     rtm_caps_free(rx);                                // the region is found by address
 *
 * The model, the capability values and the selection rule are ESP-IDF's
 * heap_caps, so ESP-IDF code runs unchanged through compat/esp_heap_caps.h;
 * the presets (include/rtmem/presets/) bring ESP-IDF's tables for ESP32 and
 * ESP32-S3 and equivalent tables for STM32H743, RP2040 and a plain MCU.
 *
 * ---------------------------------------------------------------------------
 * Capabilities
 *
 * rtm_caps_t is 64 bits. Bits 0..31 have exactly the values of ESP-IDF's
 * MALLOC_CAP_* (RTM_CAP_DMA == MALLOC_CAP_DMA, ...); bits 22..30 are kept
 * free for bits ESP-IDF may add. Bits 32..55 are yours (RTM_CAP_USER(n));
 * bits 56..63 are rtmem's own (RTM_CAP_RTC_SLOW, RTM_CAP_BDMA).
 *
 * Each region has RTM_CAPS_LEVELS (3) priority levels of capabilities,
 * caps[0] the highest. Their union is what the region *can* serve; the level
 * a capability sits at says how eagerly the region serves requests naming it.
 *
 * ---------------------------------------------------------------------------
 * Selection rule (ESP-IDF's heap_caps_malloc rule, exactly)
 *
 * A request for capability set C (non-empty) is served like this:
 *
 *   for level p = 0, 1, 2:
 *       for each region R, in search order (below):
 *           if (R.caps[p] & C) != 0                           -- R names at least one
 *                                                                bit of C at level p
 *           and (R.caps[0] | R.caps[1] | R.caps[2]) ⊇ C      -- R has every bit of C
 *           and R was not already tried at a level below p:
 *               try R's heap; return the block if it gives one
 *   fail: NULL, and the failed-allocation hook runs once
 *
 * So a region is a candidate at the first level where it lists *any* of the
 * requested bits, provided it has *all* of them somewhere. Consequences worth
 * knowing (all as on ESP-IDF):
 *   - C == 0 matches no region: rtm_caps_malloc(n, 0) fails. Use
 *     RTM_CAP_DEFAULT (or the _default functions) for "any normal RAM".
 *   - Within a level, regions are tried in search order: those registered
 *     with search_first (rtm_caps_region_config_t; what ESP-IDF does with a
 *     heap added at run time), newest first, then the others in the order
 *     they were registered (a preset's table order). A region is tried once
 *     per request even if it qualifies at several levels.
 *   - Only bits that appear at a region's levels steer; e.g. on the ESP32
 *     table, RTM_CAP_INTERNAL alone selects IRAM first (INTERNAL is at IRAM's
 *     level 0): ask INTERNAL | 8BIT for byte-accessible internal RAM.
 *
 * Request modifiers applied before the rule:
 *   - RTM_CAPS_EXEC_IS_32BIT registries (ESP32): executable RAM is reached
 *     through a 32-bit-only instruction bus, so a request with RTM_CAP_EXEC
 *     and RTM_CAP_8BIT or RTM_CAP_DMA fails at once, and RTM_CAP_EXEC adds
 *     RTM_CAP_32BIT.
 *   - RTM_CAP_CACHE_ALIGNED is not a region property: it is removed from C,
 *     and the block's address and size are rounded up to the registry's
 *     cache_line (rtm_caps_config_t).
 *
 * "Default" allocation (what malloc() is on ESP-IDF, rtm_caps_malloc_default):
 *   - external-memory policy off (the default): caps DEFAULT | INTERNAL;
 *   - policy on with limit L (rtm_caps_extmem_enable): size <= L first tries
 *     DEFAULT | INTERNAL, size > L first tries DEFAULT | SPIRAM; if that
 *     fails, DEFAULT alone. The hook runs once, after the last try.
 * A region meant for plain malloc therefore needs DEFAULT and INTERNAL (or,
 * for external RAM under the policy, DEFAULT and SPIRAM).
 *
 * ---------------------------------------------------------------------------
 * Storage, locking, ISRs
 *
 * One registry is active per program (the memory map is one per chip); every
 * rtm_caps_* function works on it. Its control block, the array of region
 * control blocks (slots) and the regions' memory all belong to the caller,
 * so nothing here allocates:
 *
 *     static rtm_caps_registry_t reg;
 *     static rtm_caps_region_t slots[4];
 *     RTM_HEAP_STORAGE(fast_ram, 32 * 1024);
 *     rtm_caps_init(&reg, slots, 4, NULL);
 *     rtm_caps_region_config_t fast = {.name = "fast",
 *         .caps = {RTM_CAP_DEFAULT | RTM_CAP_8BIT, RTM_CAP_INTERNAL | RTM_CAP_32BIT, 0}};
 *     rtm_caps_add_region(fast_ram, sizeof fast_ram, &fast, NULL);
 *
 * Regions are added, never removed (until rtm_caps_deinit). A region's
 * control block is filled completely before it is published by raising the
 * region count under the registry lock; its name, range, caps and heap never
 * change afterwards. Readers take the registry lock only to read the count
 * (allocation) or to binary-search the address index (free, usable_size,
 * realloc, check_addr) and release it before touching any heap, so the only
 * lock held while a heap works is that heap's own. No hook ever runs with a
 * lock held: hooks may call back into rtmem.
 *
 * rtm_caps_init / rtm_caps_deinit must not run concurrently with any other
 * rtm_caps_* call (call them before tasks start / after they stop). Every
 * other function is thread-safe. None may be called from an ISR (the heap
 * locks are task-level; see port.h).
 *
 * Bad input never gives undefined behaviour: with no active registry
 * functions return NULL/0/false (rtm_caps_free of a non-NULL pointer is then
 * reported through rtm_caps_default_misuse_hook); a pointer that lies in no
 * region is reported through the misuse hook with region NULL; a bad pointer
 * inside a region is reported by that region's heap through the same hook.
 */
#ifndef RTMEM_CAPS_H
#define RTMEM_CAPS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtmem/config.h"
#include "rtmem/debug.h"
#include "rtmem/heap.h"
#include "rtmem/port.h"

#ifdef __cplusplus
extern "C" {
#endif

/* ------------------------------------------------------------------ */
/* Capability bits                                                     */

typedef uint64_t rtm_caps_t;

/* ESP-IDF's MALLOC_CAP_* values (esp_heap_caps.h). */
#define RTM_CAP_EXEC          (UINT64_C(1) << 0)  /* can hold executable code */
#define RTM_CAP_32BIT         (UINT64_C(1) << 1)  /* allows aligned 32-bit accesses */
#define RTM_CAP_8BIT          (UINT64_C(1) << 2)  /* allows 8/16/32-bit accesses */
#define RTM_CAP_DMA           (UINT64_C(1) << 3)  /* reachable by (general-purpose) DMA */
#define RTM_CAP_PID2          (UINT64_C(1) << 4)  /* mapped to process id 2 (ESP32 PIDs) */
#define RTM_CAP_PID3          (UINT64_C(1) << 5)
#define RTM_CAP_PID4          (UINT64_C(1) << 6)
#define RTM_CAP_PID5          (UINT64_C(1) << 7)
#define RTM_CAP_PID6          (UINT64_C(1) << 8)
#define RTM_CAP_PID7          (UINT64_C(1) << 9)
#define RTM_CAP_SPIRAM        (UINT64_C(1) << 10) /* external (PSRAM) memory */
#define RTM_CAP_INTERNAL      (UINT64_C(1) << 11) /* on-chip; stays when caches are off */
#define RTM_CAP_DEFAULT       (UINT64_C(1) << 12) /* may serve non-specific (malloc) requests */
#define RTM_CAP_IRAM_8BIT     (UINT64_C(1) << 13) /* IRAM that allows unaligned access */
#define RTM_CAP_RETENTION     (UINT64_C(1) << 14) /* reachable by retention DMA */
#define RTM_CAP_RTCRAM        (UINT64_C(1) << 15) /* RTC fast memory (survives deep sleep) */
#define RTM_CAP_SPM           (UINT64_C(1) << 16) /* scratchpad / tightly coupled memory */
#define RTM_CAP_DMA_DESC_AHB  (UINT64_C(1) << 17) /* can hold AHB DMA descriptors */
#define RTM_CAP_DMA_DESC_AXI  (UINT64_C(1) << 18) /* can hold AXI DMA descriptors */
#define RTM_CAP_CACHE_ALIGNED (UINT64_C(1) << 19) /* request modifier: cache-line aligned */
#define RTM_CAP_SIMD          (UINT64_C(1) << 20) /* usable by SIMD instructions */
#define RTM_CAP_SPIRAM_NO_ENC (UINT64_C(1) << 21) /* PSRAM exempt from flash encryption */
#define RTM_CAP_INVALID       (UINT64_C(1) << 31) /* no region has it; in queries: all regions */

/* Capability bits for your own memories: n = 0..23 (bits 32..55). */
#define RTM_CAP_USER(n) (UINT64_C(1) << (32 + (n)))

/* rtmem's own bits (56..63) for memories ESP-IDF has no bit for. */
#define RTM_CAP_RTC_SLOW (UINT64_C(1) << 56) /* RTC slow memory (ESP32): survives deep
                                                sleep, reachable by the ULP coprocessor */
#define RTM_CAP_BDMA     (UINT64_C(1) << 57) /* reachable by the STM32H7 BDMA (D3 domain
                                                SRAM4, the only RAM the BDMA can reach) */

/* Priority levels per region (ESP-IDF: SOC_MEMORY_TYPE_NO_PRIOS). */
#define RTM_CAPS_LEVELS 3u

/* ------------------------------------------------------------------ */
/* Types                                                               */

typedef struct rtm_caps_region rtm_caps_region_t;
typedef struct rtm_caps_registry rtm_caps_registry_t;

/* Why a registry or region call was refused. */
typedef enum rtm_caps_err {
    RTM_CAPS_OK = 0,
    RTM_CAPS_ERR_NOT_INIT,  /* no registry is active */
    RTM_CAPS_ERR_ACTIVE,    /* rtm_caps_init while a registry is active */
    RTM_CAPS_ERR_ARG,       /* NULL argument, zero slots, or a range that wraps around */
    RTM_CAPS_ERR_NO_CAPS,   /* region caps empty at every level, or containing RTM_CAP_INVALID */
    RTM_CAPS_ERR_FULL,      /* every slot holds a region */
    RTM_CAPS_ERR_OVERLAP,   /* the range overlaps a registered region (touching is fine),
                               other than inside one live block of it */
    RTM_CAPS_ERR_TOO_SMALL, /* below the registry's minimum or the heap's minimum size */
    RTM_CAPS_ERR_TOO_LARGE, /* more than one heap can manage (4 GiB) */
    RTM_CAPS_ERR_CONFIG,    /* strategy RTM_SYSTEM (its blocks are not in the region),
                               a strategy not compiled in, or a bad heap alignment */
    RTM_CAPS_ERR_PORT       /* the port could not create a lock */
} rtm_caps_err_t;

/* Failed-allocation hook: size and caps as requested, function_name the
 * public function that failed ("rtm_caps_malloc", or the compat layer's
 * "heap_caps_malloc"...). Runs once per failed request, after every
 * candidate region failed, with no lock held. */
typedef void (*rtm_caps_alloc_failed_fn)(size_t size, rtm_caps_t caps, const char *function_name,
                                         void *ctx);

typedef void (*rtm_caps_observer_fn)(const void *ptr, size_t size, rtm_caps_t caps,
                                     const rtm_caps_region_t *region, void *ctx);

/* Misuse hook: region is the region the pointer lies in, or NULL when it
 * lies in none (kind is then RTM_MISUSE_FOREIGN_POINTER). */
typedef void (*rtm_caps_misuse_fn)(const rtm_caps_region_t *region, rtm_misuse_t kind,
                                   const void *address, void *ctx);

/* rtm_caps_config_t.flags */
#define RTM_CAPS_NO_LOCK       0x1u /* single-threaded: no registry lock (region heaps
                                       made by rtm_caps_init_preset get RTM_HEAP_NO_LOCK) */
#define RTM_CAPS_EXEC_IS_32BIT 0x2u /* EXEC requests imply 32BIT; EXEC with 8BIT or DMA
                                       fails (ESP32's IRAM) */

typedef struct rtm_caps_config {
    uint32_t flags;                          /* RTM_CAPS_* */
    size_t min_region_bytes;                 /* add_region refuses less; 0 = the heap's minimum */
    size_t cache_line;                       /* RTM_CAP_CACHE_ALIGNED rounding, a power of two;
                                                0 = RTM_DEFAULT_ALIGN (presets set their own) */
    const rtm_strategy_t *strategy;          /* heaps made by rtm_caps_init_preset; NULL = RTM_DEFAULT_STRATEGY */
    size_t alignment;                        /* their granularity; 0 = RTM_DEFAULT_ALIGN */
    rtm_caps_alloc_failed_fn on_alloc_failed; /* NULL = none */
    void *alloc_failed_ctx;
    rtm_caps_misuse_fn on_misuse;            /* NULL = rtm_caps_default_misuse_hook */
    void *misuse_ctx;
} rtm_caps_config_t;

typedef struct rtm_caps_region_config {
    const char *name;                   /* kept by pointer; NULL = "region" */
    rtm_caps_t caps[RTM_CAPS_LEVELS];   /* priority levels, [0] highest */
    const rtm_strategy_t *strategy;     /* NULL = RTM_DEFAULT_STRATEGY; rtm_strategy_system refused */
    size_t alignment;                   /* heap granularity; 0 = RTM_DEFAULT_ALIGN */
    uint32_t heap_flags;                /* RTM_HEAP_NO_LOCK for a region used by one task */
    bool search_first;                  /* true: searched before every region registered
                                           earlier (ESP-IDF puts a heap added at run time
                                           at the head of its list); false: after them */
} rtm_caps_region_config_t;

/* One row of a preset: a memory, where it is and what it can do. On the
 * host start/end point into a static buffer of the memory's real size; on a
 * target (RTM_PRESET_LINKER) they are linker symbols. */
typedef struct rtm_caps_region_desc {
    const char *name;
    void *start;
    void *end;
    rtm_caps_t caps[RTM_CAPS_LEVELS];
} rtm_caps_region_desc_t;

typedef struct rtm_caps_preset {
    const char *name;                       /* "esp32", ... */
    const rtm_caps_region_desc_t *regions;  /* in search order */
    size_t region_count;
    uint32_t flags;                         /* RTM_CAPS_* the chip needs */
    size_t cache_line;                      /* the chip's data cache line, 0 = none */
} rtm_caps_preset_t;

/* Totals over the regions a query selects. Invariant: free_bytes +
 * allocated_bytes + overhead_bytes == total_bytes. */
typedef struct rtm_caps_info {
    size_t regions;            /* regions selected */
    size_t total_bytes;        /* sum of region sizes as registered */
    size_t free_bytes;         /* sum of free bytes */
    size_t allocated_bytes;    /* sum of usable bytes of live blocks */
    size_t overhead_bytes;     /* control blocks, headers, padding, alignment slack */
    size_t min_free_bytes;     /* sum of each region's minimum-ever free bytes; regions reach
                                  their minimum at different times, so this is a lower bound
                                  of the true minimum of the sum */
    size_t largest_free_block; /* the largest of the regions' largest free blocks */
    size_t used_blocks;
    size_t free_blocks;
    size_t alloc_count;        /* per-region counters summed (see rtm_heap_info_t) */
    size_t free_count;
    size_t failed_count;       /* failed region attempts: a request that tries three regions
                                  and fails counts three */
} rtm_caps_info_t;

typedef struct rtm_caps_check_report {
    const rtm_caps_region_t *region; /* first broken region; NULL if the registry itself */
    rtm_check_report_t heap;         /* what was wrong and where */
} rtm_caps_check_report_t;

/* Walk callback: called for every block of every selected region with the
 * region's heap lock held (it must not call into that region). Return
 * false to skip the rest of this region; the walk goes on with the next
 * region (ESP-IDF's heap_caps_walk semantics). */
typedef bool (*rtm_caps_walk_fn)(const rtm_caps_region_t *region, const rtm_block_info_t *block,
                                 void *ctx);

/* Control blocks, public only so that callers can provide the storage.
 * Their fields are private: use the functions below. */
struct rtm_caps_region {
    uint32_t magic;
    rtm_heap_t *heap;
    const char *name;
    uintptr_t start;          /* [start, end) as registered */
    uintptr_t end;
    size_t slack;             /* bytes skipped at start to align the heap */
    rtm_caps_t caps[RTM_CAPS_LEVELS];
    rtm_caps_t all_caps;
    bool search_first;
    size_t by_addr;           /* entry of the address index (see caps.c) */
    rtm_caps_region_t *parent; /* the region whose live block holds this one, or NULL */
    size_t min_free_floor;    /* lowest free bytes before the last monitoring start */
    rtm_caps_registry_t *registry;
};

struct rtm_caps_registry {
    uint32_t magic;
    uint32_t flags;
    rtm_caps_region_t *slots;
    size_t capacity;
    size_t count;
    size_t min_region_bytes;
    size_t cache_line;
    const rtm_strategy_t *strategy;
    size_t alignment;
    bool extmem_enabled;
    size_t extmem_limit;
    rtm_caps_alloc_failed_fn on_alloc_failed;
    void *alloc_failed_ctx;
    rtm_caps_misuse_fn on_misuse;
    void *misuse_ctx;
    rtm_caps_observer_fn observer;
    void *observer_ctx;
    bool min_free_monitoring;
    bool any_search_first;
    rtm_port_lock_t lock;
};

/* ------------------------------------------------------------------ */
/* Registry                                                            */

/* Makes reg, with slot_count region slots in slots[], the active registry,
 * with no regions. cfg may be NULL (defaults, no hooks). Refused:
 * RTM_CAPS_ERR_ARG (reg or slots NULL, slot_count 0, cache_line not a
 * power of two), RTM_CAPS_ERR_ACTIVE (one is active), RTM_CAPS_ERR_PORT.
 * O(1). Not concurrently with other rtm_caps_* calls. */
rtm_caps_err_t rtm_caps_init(rtm_caps_registry_t *reg, rtm_caps_region_t *slots,
                             size_t slot_count, const rtm_caps_config_t *cfg);

/* rtm_caps_init, then one region per preset row in table order, with the
 * preset's flags added to cfg's and its cache line unless cfg sets one.
 * Rows of size 0 are skipped (a linker map without PSRAM). On any error the
 * registry is deinitialised and the error returned. O(rows^2) for the
 * address index. The presets' own rtm_preset_*_init(cfg) call this with
 * static storage. */
rtm_caps_err_t rtm_caps_init_preset(rtm_caps_registry_t *reg, rtm_caps_region_t *slots,
                                    size_t slot_count, const rtm_caps_preset_t *preset,
                                    const rtm_caps_config_t *cfg);

/* Ends the active registry: deinitialises every region's heap (live blocks
 * become invalid) and leaves no registry active. No-op if none. */
void rtm_caps_deinit(void);

/* The active registry, or NULL. */
rtm_caps_registry_t *rtm_caps_registry(void);

/* Registers mem[0..size) as a new region: at the end of the search order,
 * or with cfg->search_first at its head.
 * Checked: an active registry, a free slot, caps not empty and without
 * RTM_CAP_INVALID, no overlap with any region (adjacent is fine) except
 * nesting: a range that lies inside one live block of a region (memory the
 * application allocated there and registers again, as ESP-IDF allows) is
 * accepted and becomes the innermost region for its addresses (free, size
 * and check lookups find it; the outer region keeps counting the block as
 * allocated; freeing that block while the inner region lives is the
 * caller's error, as on ESP-IDF). A nested range is checked by a walk of
 * the outer region (O(its blocks), its lock only). Also checked: at least
 * the registry's minimum and the heap's minimum size, a strategy whose
 * blocks lie in the region (not RTM_SYSTEM). mem need not be aligned: the
 * heap starts at the next 8-byte boundary and the slack counts as overhead.
 * On success *out (if not NULL) is the region. The region's heap is named
 * cfg->name; its misuse reports go to the registry's misuse hook, its own
 * failed-allocation hook is unused (the registry reports). Registry lock
 * held: O(regions) (index insertion) plus rtm_heap_init. */
rtm_caps_err_t rtm_caps_add_region(void *mem, size_t size, const rtm_caps_region_config_t *cfg,
                                   rtm_caps_region_t **out);

/* Short English text for an error value. Never NULL. */
const char *rtm_caps_err_str(rtm_caps_err_t err);

/* Observer of successful capability allocations (the monitor's PSRAM
 * advice): ptr, the requested size and caps, and the region that served
 * it. Called from rtm_caps_malloc and its family (realloc only when the
 * block moves region or is new) after the region's heap returned, with no
 * lock held. Not synchronised: install it before allocations start, NULL
 * removes it. One pointer test per allocation when none is installed. */
void rtm_caps_set_observer(rtm_caps_observer_fn fn, void *ctx);

/* Replace the hooks (NULL on_misuse = rtm_caps_default_misuse_hook). Safe at
 * any time; a hook call already under way finishes with the old hook. */
void rtm_caps_set_alloc_failed_hook(rtm_caps_alloc_failed_fn fn, void *ctx);
void rtm_caps_set_misuse_hook(rtm_caps_misuse_fn fn, void *ctx);

/* Writes one line through the output hook naming the misuse, the address
 * and the region (or "no region"); then RTM_ABORT() if RTM_ABORT_ON_MISUSE. */
void rtm_caps_default_misuse_hook(const rtm_caps_region_t *region, rtm_misuse_t kind,
                                  const void *address, void *ctx);

/* External-memory policy for the _default functions (ESP-IDF's
 * heap_caps_malloc_extmem_enable): enable with a limit (requests larger
 * than limit prefer SPIRAM), or disable (default: internal memory only). */
void rtm_caps_extmem_enable(size_t limit);
void rtm_caps_extmem_disable(void);

/* ------------------------------------------------------------------ */
/* Allocation                                                          */
/*
 * Cost of every allocation: O(RTM_CAPS_LEVELS x regions) for the selection
 * plus the strategy's malloc in each region tried (heap.h). Each region's
 * lock is held only while that region is tried. size 0 gives NULL without a
 * report. Results are aligned to the region heap's granularity (8 bytes by
 * default). A failed request returns NULL and calls the failed-allocation
 * hook once.
 */

/* size bytes from the first region, by the selection rule, with all caps. */
void *rtm_caps_malloc(size_t size, rtm_caps_t caps);

/* n * size zeroed bytes. Overflow gives NULL and reports size SIZE_MAX. */
void *rtm_caps_calloc(size_t n, size_t size, rtm_caps_t caps);

/* size bytes at a multiple of alignment (a power of two; otherwise NULL
 * without a report, as ESP-IDF). Argument order as C11 aligned_alloc. */
void *rtm_caps_aligned_alloc(size_t alignment, size_t size, rtm_caps_t caps);

/* Resizes a block from any region, keeping min(old usable, size) bytes.
 * If ptr's region has every bit of caps (always true for caps 0), it is
 * first resized inside that region (in place when the strategy can), even
 * if a fresh request with these caps would prefer another region (as
 * ESP-IDF); otherwise, or when that fails, a block is taken by the
 * selection rule, the contents copied and ptr freed: the block moves into
 * memory with the new caps (a block in a RTM_BUMP region stays allocated
 * there, unreported). RTM_CAP_CACHE_ALIGNED always takes a fresh block.
 * Cost: O(log regions) lookup, then as rtm_realloc or as an allocation
 * plus the copy. ptr NULL = rtm_caps_malloc;
 * size 0 = rtm_caps_free and NULL (a report about ptr names the realloc).
 * On failure NULL, ptr untouched, the hook
 * runs once. A pointer in no region, or not a live block, is reported
 * through the misuse hook and gives NULL (no failed-allocation report). */
void *rtm_caps_realloc(void *ptr, size_t size, rtm_caps_t caps);

/* Tries caps_list[0], then [1], ... up to count entries; the first that
 * gives memory wins. On failure the hook runs once, with the last caps
 * tried (RTM_CAP_DEFAULT if count is 0). */
void *rtm_caps_malloc_prefer_array(size_t size, const rtm_caps_t *caps_list, size_t count);

/* rtm_caps_malloc_prefer(size, n, caps1, caps2, ...): ESP-IDF's variadic
 * form (C only), as a macro because the core does not use <stdarg.h>:
 * tries the first n of the caps given (at least one must be given). */
static inline size_t rtm_caps_prefer_count(size_t n, size_t given)
{
    return n < given ? n : given;
}
#define rtm_caps_malloc_prefer(size, n, ...)                                                   \
    rtm_caps_malloc_prefer_array(                                                              \
        (size), (const rtm_caps_t[]){__VA_ARGS__},                                             \
        rtm_caps_prefer_count((n), sizeof((const rtm_caps_t[]){__VA_ARGS__}) / sizeof(rtm_caps_t)))

/* Frees a block from any region: the region is found by address in
 * O(log regions) under the registry lock, then the block is freed by the
 * region's heap (its cost, heap.h). NULL is ignored. A pointer in no region
 * is reported (misuse hook, region NULL, RTM_MISUSE_FOREIGN_POINTER; at
 * poisoning levels >= 1 also a corruption report, RTM_CORRUPT_FOREIGN_FREE,
 * naming the call, as a heap reports a pointer outside it); a double free
 * or interior pointer is reported by the region's heap. */
void rtm_caps_free(void *ptr);

/* Usable bytes of a live block from any region; 0 (reported as for
 * rtm_caps_free) for a bad pointer. O(log regions). */
size_t rtm_caps_usable_size(const void *ptr);

/* rtm_caps_usable_size for a layer that checks a pointer on behalf of
 * another call it implements (a realloc that tries several caps sets): a
 * bad pointer, in no region or refused by its region's heap, is reported
 * as made in op, the call the application made (rtm_debug_usable_size,
 * debug.h). rtm_caps_usable_size is this with RTM_OP_USABLE_SIZE. */
size_t rtm_caps_debug_usable_size(const void *ptr, rtm_debug_op_t op);

/* The "default" family: what malloc() is on ESP-IDF. Capabilities by the
 * external-memory policy (see the selection rule above); the hook gets caps
 * DEFAULT | INTERNAL when the policy is off, DEFAULT when it is on. */
void *rtm_caps_malloc_default(size_t size);
void *rtm_caps_calloc_default(size_t n, size_t size);
void *rtm_caps_realloc_default(void *ptr, size_t size);
void *rtm_caps_aligned_alloc_default(size_t alignment, size_t size);

/* Call sites. Every allocation and free above records, in the region
 * heap's events (tracing, task statistics, corruption owners), the return
 * address of the application's call into it (gcc/clang; other compilers
 * record none): each entry point takes its caller once and passes it down
 * to the region heap's _ex functions (heap.h), so leak reports group by the
 * application's functions, not by rtmem's selection loop. */

/* Building blocks for wrappers (the ESP-IDF compat layer, an RTOS port):
 * the same operations with the function name the failed-allocation hook
 * receives and the site to record; function_name NULL means "do not
 * report", for wrappers that try several cap sets and then call
 * rtm_caps_report_alloc_failed once. site: the wrapper's own caller (and
 * file/line if it has them), so the trace names the application; NULL, or
 * a site whose caller is NULL, records the return address of this call.
 * alignment 0 = the region heap's granularity; otherwise a power of two
 * (else NULL, no report). rtm_caps_realloc_ex never reports a misused
 * pointer as a failed allocation. Costs and bad input as the functions
 * above. */
void *rtm_caps_alloc_ex(size_t alignment, size_t size, rtm_caps_t caps, const char *function_name,
                        const rtm_alloc_site_t *site);
void *rtm_caps_realloc_ex(void *ptr, size_t size, rtm_caps_t caps, const char *function_name,
                          const rtm_alloc_site_t *site);
void rtm_caps_free_ex(void *ptr, const rtm_alloc_site_t *site);
void rtm_caps_report_alloc_failed(size_t size, rtm_caps_t caps, const char *function_name);

/* ------------------------------------------------------------------ */
/* Queries                                                             */
/*
 * A query selects every region that has all bits of caps; caps 0, or any
 * caps containing RTM_CAP_INVALID, select every region. Each takes each
 * selected region's lock in turn (never two at once), so the totals are a
 * sum of per-region snapshots. Costs per region: O(1) for the free and
 * minimum free sizes; the largest free block and rtm_caps_get_info cost
 * what rtm_heap_info does (heap.h): O(1) for TLSF but largest_free_block,
 * O(free blocks) for first/best fit.
 */

size_t rtm_caps_total_size(rtm_caps_t caps);      /* sum of region sizes */
size_t rtm_caps_free_size(rtm_caps_t caps);       /* sum of free bytes */
size_t rtm_caps_min_free_size(rtm_caps_t caps);   /* sum of per-region minimum free */
size_t rtm_caps_largest_free_block(rtm_caps_t caps); /* the largest free block of a selected
                                                        region, as rtm_heap_info's (what a
                                                        malloc can get there; the selection
                                                        rules of an allocation, caps 0 and
                                                        the modifier bits, do not apply) */

/* Fills *info (zeroed first). False if info is NULL or no registry. */
bool rtm_caps_get_info(rtm_caps_t caps, rtm_caps_info_t *info);

/* Sets each selected region's minimum-ever free mark to its free bytes. */
void rtm_caps_reset_min_free(rtm_caps_t caps);

/* Local minimum (ESP-IDF's heap_caps_monitor_local_minimum_free_size_*):
 * start makes every region's minimum free, as every query above reports
 * it, the lowest free bytes since this call; stop makes it the lifetime
 * minimum again (the lower of the minimum before start and the one since).
 * Regions added meanwhile start with their free bytes. Under load, a dip
 * that begins and ends while start visits a region (between reading its
 * mark and resetting it) is seen by neither minimum. start: false if no
 * registry or monitoring is already on; stop: false if it is not on.
 * O(regions), each region's lock in turn. */
bool rtm_caps_min_free_monitor_start(void);
bool rtm_caps_min_free_monitor_stop(void);

/* Verifies the registry's own index (sorted; regions disjoint or nested) and
 * rtm_heap_check_silent of every selected region; every region is checked
 * even after a failure. Problems are reported here, never to the
 * corruption hook: with print_errors, one line per problem goes through
 * the output hook; report (may be NULL) gets the first problem. True if all
 * hold. O(regions + blocks), each region's lock held while it is checked. */
bool rtm_caps_check(rtm_caps_t caps, bool print_errors, rtm_caps_check_report_t *report);
bool rtm_caps_check_all(bool print_errors, rtm_caps_check_report_t *report);

/* Checks the one region containing addr (the whole region). False if addr
 * is in no region (report->region NULL, problem says so). */
bool rtm_caps_check_addr(const void *addr, bool print_errors, rtm_caps_check_report_t *report);

/* Calls fn for every block of the selected regions, region by region in
 * registration order, blocks in address order. False if fn is NULL, no registry,
 * or a region's walk met a corrupt block (rtm_caps_check says where). */
bool rtm_caps_walk(rtm_caps_t caps, rtm_caps_walk_fn fn, void *ctx);

/* Writes a summary of the selected regions through the output hook: a
 * header, two lines per region (range, size, free, allocated, minimum free,
 * largest free block, block counts), then a totals line. A region's name
 * is written cut to 32 bytes, control bytes as '?'. */
void rtm_caps_print_summary(rtm_caps_t caps);

/* ------------------------------------------------------------------ */
/* Regions                                                             */
/*
 * Region pointers stay valid until rtm_caps_deinit. Functions taking a
 * region return 0/NULL/false for NULL or a slot that holds no region.
 */

size_t rtm_caps_region_count(void);
/* The i-th region in registration order, or NULL. O(1). */
const rtm_caps_region_t *rtm_caps_region_at(size_t i);
/* The innermost region whose range contains ptr, or NULL; nothing is
 * reported. O(log regions + nesting depth). */
const rtm_caps_region_t *rtm_caps_region_of(const void *ptr);
/* The first region (registration order) with this name, or NULL. O(regions). */
const rtm_caps_region_t *rtm_caps_region_find(const char *name);

rtm_heap_t *rtm_caps_region_heap(const rtm_caps_region_t *region);
const char *rtm_caps_region_name(const rtm_caps_region_t *region); /* "(no region)" for NULL */
const void *rtm_caps_region_start(const rtm_caps_region_t *region);
const void *rtm_caps_region_end(const rtm_caps_region_t *region); /* one past the last byte */
size_t rtm_caps_region_size(const rtm_caps_region_t *region);
/* caps[level] (0 for level >= RTM_CAPS_LEVELS) and the union of the levels. */
rtm_caps_t rtm_caps_region_caps(const rtm_caps_region_t *region, unsigned level);
rtm_caps_t rtm_caps_region_all_caps(const rtm_caps_region_t *region);
/* The region has every bit of caps (what queries select by). */
bool rtm_caps_region_matches(const rtm_caps_region_t *region, rtm_caps_t caps);

/* ------------------------------------------------------------------ */
/* Presets                                                             */

/* The presets' one-call init functions reserve RTM_PRESET_SPARE_REGIONS
 * extra slots (config.h, default 4) for rtm_caps_add_region at run time. */

#ifdef __cplusplus
}
#endif

#endif
