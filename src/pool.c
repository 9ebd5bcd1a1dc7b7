/*
 * Fixed-block pools and size-class sets (include/rtmem/pool.h).
 *
 * A pool's state, all under its lock:
 *   - blocks [0, fresh) have been handed out at least once; each is either
 *     live (bit set in the bitmap, counted in `used`) or on the free list;
 *   - blocks [fresh, count) were never handed out and are free without
 *     being listed (the watermark keeps init O(1));
 *   - the free list is singly linked through the first 4 bytes of each free
 *     block, as 32-bit block indices, UINT32_MAX ending it;
 *   - tasks wait (FIFO) only while no block is free, and a freed block then
 *     goes to the oldest waiter without passing through the free list, so a
 *     non-blocking caller can never take it from under a waiter.
 * rtm_pool_check verifies all of this.
 */
#include "rtmem/pool.h"

#include <string.h>

#include "rtmem/output.h"
#include "util.h"
#include "strategy/block.h"    /* rtm_rd32 / rtm_wr32: alias-free 32-bit access */
#include "strategy/strategy.h" /* rtm_check_fail */

#define POOL_MAGIC 0x72746d70u     /* "rtmp" */
#define POOL_SET_MAGIC 0x72746d73u /* "rtms" */
#define NO_BLOCK UINT32_MAX

struct rtm_pool_waiter {
    rtm_pool_waiter_t *next;
    void *block; /* set by the freeing task when it hands a block over */
    rtm_port_waiter_t port;
};

/* ------------------------------------------------------------------ */
/* Geometry                                                            */

static size_t effective_alignment(size_t alignment)
{
    return RTM_POOL_EFFECTIVE_ALIGN(alignment);
}

/* The span of a block, or 0 if it does not fit 32 bits. alignment is
 * already effective (a power of two >= 4). */
static size_t span_of(size_t block_size, size_t alignment)
{
    size_t size = block_size < 4u ? 4u : block_size;
    if (alignment > (size_t)UINT32_MAX || size > (size_t)UINT32_MAX - (alignment - 1u)) {
        return 0;
    }
    return (size + alignment - 1u) & ~(alignment - 1u);
}

static size_t bitmap_bytes(size_t count)
{
    return RTM_POOL_BITMAP_BYTES(count);
}

/* Checks the config's geometry: RTM_POOL_OK and the span, or the error. */
static rtm_pool_err_t geometry_error(size_t block_size, size_t count, size_t alignment,
                                     size_t *span_out)
{
    if (block_size == 0 || count == 0) {
        return RTM_POOL_ERR_ZERO;
    }
    size_t align = effective_alignment(alignment);
    if (!rtm_is_pow2(align)) {
        return RTM_POOL_ERR_BAD_ALIGNMENT;
    }
    size_t span = span_of(block_size, align);
    /* Block offsets are 32-bit: the spans together must stay below 4 GiB. */
    if (span == 0 || count > (size_t)UINT32_MAX / span) {
        return RTM_POOL_ERR_TOO_LARGE;
    }
    *span_out = span;
    return RTM_POOL_OK;
}

size_t rtm_pool_storage_size(size_t block_size, size_t count, size_t alignment, uint32_t flags)
{
    size_t span = 0;
    if (geometry_error(block_size, count, alignment, &span) != RTM_POOL_OK) {
        return 0;
    }
    size_t blocks = span * count;
    size_t bitmap = (flags & RTM_POOL_NO_BITMAP) != 0 ? 0 : bitmap_bytes(count);
    if (blocks > SIZE_MAX - bitmap) {
        return 0; /* only on a 32-bit target, where such storage cannot exist */
    }
    return blocks + bitmap;
}

/* Pointer to block index without a divide instruction (Cortex-M0 has none,
 * and a software divide would be most of the cost of a free). The span is
 * odd << shift; for an offset that is a multiple of the span, shifting out
 * the power of two and multiplying by the odd part's inverse modulo 2^32
 * gives the exact quotient. For any other offset the product is some wrong
 * number, so the result is accepted only if it is a block index whose
 * block starts exactly at the offset: i < count and i * span == offset
 * (which cannot wrap, since count * span < 2^32). */
static uint32_t odd_inverse(uint32_t odd)
{
    uint32_t x = odd; /* right to 3 bits for any odd number */
    for (int i = 0; i < 4; i++) {
        x *= 2u - odd * x; /* Newton's step doubles the correct bits: 6, 12, 24, 48 */
    }
    return x;
}

static void set_span(rtm_pool_t *p, uint32_t span)
{
    uint32_t shift = 0;
    while (((span >> shift) & 1u) == 0) {
        shift++;
    }
    p->span = span;
    p->span_shift = shift;
    p->span_inverse = odd_inverse(span >> shift);
}

static uint8_t *block_at(const rtm_pool_t *p, uint32_t i)
{
    return p->blocks + (size_t)i * p->span;
}

static size_t blocks_bytes(const rtm_pool_t *p)
{
    return (size_t)p->count * p->span;
}

/* Whether ptr is the start of a block: its index, or the misuse it is. */
static bool locate_block(const rtm_pool_t *p, const void *ptr, uint32_t *index,
                         rtm_misuse_t *why)
{
    uintptr_t a = (uintptr_t)ptr;
    uintptr_t base = (uintptr_t)p->blocks;
    if (a < base || a - base >= blocks_bytes(p)) {
        *why = RTM_MISUSE_FOREIGN_POINTER;
        return false;
    }
    uint32_t off = (uint32_t)(a - base);
    uint32_t i = (off >> p->span_shift) * p->span_inverse;
    if (i >= p->count || i * p->span != off) {
        *why = RTM_MISUSE_INVALID_POINTER;
        return false;
    }
    *index = i;
    return true;
}

/* ------------------------------------------------------------------ */
/* Bitmap (one bit per block, 32-bit words after the blocks)           */

static bool bit_get(const rtm_pool_t *p, uint32_t i)
{
    return ((rtm_rd32(p->bitmap, (i >> 5) * 4u) >> (i & 31u)) & 1u) != 0;
}

static void bit_put(rtm_pool_t *p, uint32_t i, bool value)
{
    uint32_t off = (i >> 5) * 4u;
    uint32_t mask = UINT32_C(1) << (i & 31u);
    uint32_t word = rtm_rd32(p->bitmap, off);
    rtm_wr32(p->bitmap, off, value ? (word | mask) : (word & ~mask));
}

/* ------------------------------------------------------------------ */
/* Locking and hooks                                                   */

static bool pool_ok(const rtm_pool_t *p)
{
    return p != NULL && p->magic == POOL_MAGIC;
}

static bool pool_locked(const rtm_pool_t *p)
{
    return (p->flags & RTM_POOL_NO_LOCK) == 0;
}

static void pool_lock(rtm_pool_t *p)
{
    if (pool_locked(p)) {
        rtm_port_lock(&p->lock);
    }
}

static void pool_unlock(rtm_pool_t *p)
{
    if (pool_locked(p)) {
        rtm_port_unlock(&p->lock);
    }
}

static void report_misuse(rtm_pool_t *p, rtm_misuse_t kind, const void *address)
{
    rtm_pool_misuse_fn fn = p->on_misuse != NULL ? p->on_misuse : rtm_pool_default_misuse_hook;
    fn(p, kind, address, p->hook_ctx);
}

static void report_failure(rtm_pool_t *p)
{
    if (p->on_alloc_failed != NULL) {
        p->on_alloc_failed(p, RTM_FAIL_NO_MEMORY, p->hook_ctx);
    }
}

/* ------------------------------------------------------------------ */
/* Creating and ending                                                 */

rtm_pool_err_t rtm_pool_init_error(const rtm_pool_t *pool, const void *storage,
                                   size_t storage_size, const rtm_pool_config_t *cfg)
{
    if (pool == NULL || storage == NULL || cfg == NULL) {
        return RTM_POOL_ERR_NULL;
    }
    size_t span = 0;
    rtm_pool_err_t err = geometry_error(cfg->block_size, cfg->count, cfg->alignment, &span);
    if (err != RTM_POOL_OK) {
        return err;
    }
    if (((uintptr_t)storage & (effective_alignment(cfg->alignment) - 1u)) != 0) {
        return RTM_POOL_ERR_MISALIGNED;
    }
    size_t need = rtm_pool_storage_size(cfg->block_size, cfg->count, cfg->alignment, cfg->flags);
    if (need == 0) {
        return RTM_POOL_ERR_TOO_LARGE;
    }
    if (storage_size < need) {
        return RTM_POOL_ERR_TOO_SMALL;
    }
    /* Blocks past the end of the address space, or a control block among
     * them, would be written over by the pool's own links and bitmap. */
    uintptr_t from = (uintptr_t)storage;
    if (need > UINTPTR_MAX - from) {
        return RTM_POOL_ERR_TOO_LARGE;
    }
    uintptr_t ctl = (uintptr_t)pool;
    if (ctl < from + need && from < ctl + sizeof *pool) {
        return RTM_POOL_ERR_OVERLAP;
    }
    return RTM_POOL_OK;
}

rtm_pool_t *rtm_pool_init(rtm_pool_t *pool, void *storage, size_t storage_size,
                          const rtm_pool_config_t *cfg)
{
    if (rtm_pool_init_error(pool, storage, storage_size, cfg) != RTM_POOL_OK) {
        return NULL;
    }
    size_t align = effective_alignment(cfg->alignment);
    memset(pool, 0, sizeof *pool);
    pool->flags = cfg->flags;
    pool->blocks = storage;
    pool->alignment = (uint32_t)align;
    pool->count = (uint32_t)cfg->count;
    set_span(pool, (uint32_t)span_of(cfg->block_size, align));
    if ((cfg->flags & RTM_POOL_NO_BITMAP) == 0) {
        pool->bitmap = pool->blocks + blocks_bytes(pool);
        memset(pool->bitmap, 0, bitmap_bytes(pool->count));
    }
    pool->fresh = 0;
    pool->free_head = NO_BLOCK;
    if (pool_locked(pool) && !rtm_port_lock_init(&pool->lock)) {
        return NULL;
    }
    pool->name = cfg->name != NULL ? cfg->name : "pool";
    pool->on_alloc_failed = cfg->on_alloc_failed;
    pool->on_misuse = cfg->on_misuse;
    pool->hook_ctx = cfg->hook_ctx;
    pool->magic = POOL_MAGIC;
    return pool;
}

/* A config field that must be left 0 or repeat the definition. */
static bool agrees(size_t given, size_t defined)
{
    return given == 0 || given == defined;
}

rtm_pool_t *rtm_pool_init_defined(const rtm_pool_def_t *def, const rtm_pool_config_t *cfg)
{
    if (def == NULL) {
        return NULL;
    }
    rtm_pool_config_t merged = {0};
    if (cfg != NULL) {
        if (!agrees(cfg->block_size, def->block_size) || !agrees(cfg->count, def->count) ||
            !agrees(cfg->alignment, def->alignment)) {
            return NULL;
        }
        merged = *cfg;
    }
    merged.block_size = def->block_size;
    merged.count = def->count;
    merged.alignment = def->alignment;
    if (merged.name == NULL) {
        merged.name = def->name;
    }
    return rtm_pool_init(def->pool, def->storage, def->storage_size, &merged);
}

rtm_pool_t *rtm_pool_create(rtm_heap_t *heap, const rtm_pool_config_t *cfg)
{
    if (heap == NULL || cfg == NULL) {
        return NULL;
    }
    size_t need = rtm_pool_storage_size(cfg->block_size, cfg->count, cfg->alignment, cfg->flags);
    if (need == 0) {
        return NULL;
    }
    /* One allocation: the control block, padded so the blocks after it keep
     * their alignment. */
    size_t align = effective_alignment(cfg->alignment);
    if (align < _Alignof(rtm_pool_t)) {
        align = _Alignof(rtm_pool_t);
    }
    size_t head = (sizeof(rtm_pool_t) + align - 1u) & ~(align - 1u);
    if (need > SIZE_MAX - head) {
        return NULL;
    }
    uint8_t *mem = rtm_aligned_alloc(heap, align, head + need);
    if (mem == NULL) {
        return NULL;
    }
    rtm_pool_t *p = rtm_pool_init((rtm_pool_t *)(void *)mem, mem + head, need, cfg);
    if (p == NULL) {
        rtm_free(heap, mem);
        return NULL;
    }
    p->owner = heap;
    return p;
}

bool rtm_pool_deinit(rtm_pool_t *p)
{
    if (!pool_ok(p)) {
        return false;
    }
    pool_lock(p);
    bool busy = p->waiting != 0;
    if (!busy) {
        p->magic = 0;
    }
    pool_unlock(p);
    if (busy) {
        return false;
    }
    if (pool_locked(p)) {
        rtm_port_lock_destroy(&p->lock);
    }
    return true;
}

bool rtm_pool_delete(rtm_pool_t *p)
{
    if (!pool_ok(p)) {
        return false;
    }
    rtm_heap_t *owner = p->owner;
    if (!rtm_pool_deinit(p)) {
        return false;
    }
    if (owner != NULL) {
        rtm_free(owner, p); /* the control block starts the allocation */
    }
    return true;
}

void rtm_pool_set_hooks(rtm_pool_t *p, rtm_pool_failed_fn on_alloc_failed,
                        rtm_pool_misuse_fn on_misuse, void *ctx)
{
    if (!pool_ok(p)) {
        return;
    }
    pool_lock(p);
    p->on_alloc_failed = on_alloc_failed;
    p->on_misuse = on_misuse;
    p->hook_ctx = ctx;
    pool_unlock(p);
}

/* ------------------------------------------------------------------ */
/* Allocation                                                          */

/* Takes a free block (lock held) and counts it, or returns NULL. A link
 * that cannot be right (a block never handed out, one marked live, or the
 * block itself, which would stay the list head once handed out and be
 * handed out again) means a freed block was written to; the rest of the
 * list is dropped
 * rather than followed, *corrupt says where, and the pool stays usable
 * with the blocks it can still trust. */
static void *take_block(rtm_pool_t *p, const void **corrupt)
{
    uint32_t i = p->free_head;
    if (i != NO_BLOCK) {
        uint32_t next = rtm_rd32(block_at(p, i), 0);
        bool next_bad = next != NO_BLOCK && (next == i || next >= p->fresh ||
                                             (p->bitmap != NULL && bit_get(p, next)));
        if (next_bad) {
            *corrupt = block_at(p, i);
            p->free_head = NO_BLOCK;
            p->free_listed = 0;
        } else {
            p->free_head = next;
            p->free_listed--;
        }
    } else if (p->fresh < p->count) {
        i = p->fresh++;
    } else {
        return NULL;
    }
    if (p->bitmap != NULL) {
        bit_put(p, i, true);
    }
    p->used++;
    if (p->used > p->peak_used) {
        p->peak_used = p->used;
    }
    p->alloc_count++;
    return block_at(p, i);
}

static void enqueue_waiter(rtm_pool_t *p, rtm_pool_waiter_t *w)
{
    w->next = NULL;
    if (p->wait_tail != NULL) {
        p->wait_tail->next = w;
    } else {
        p->wait_head = w;
    }
    p->wait_tail = w;
    p->waiting++;
}

/* Removes w wherever it is in the queue (a waiter whose time ran out). */
static void remove_waiter(rtm_pool_t *p, rtm_pool_waiter_t *w)
{
    rtm_pool_waiter_t *prev = NULL;
    for (rtm_pool_waiter_t *it = p->wait_head; it != NULL; prev = it, it = it->next) {
        if (it == w) {
            if (prev != NULL) {
                prev->next = w->next;
            } else {
                p->wait_head = w->next;
            }
            if (p->wait_tail == w) {
                p->wait_tail = prev;
            }
            p->waiting--;
            return;
        }
    }
}

/* Lock held, no block free: queues the calling task and sleeps until a
 * freeing task hands it a block (counted there as still used, so only the
 * allocation is counted here) or the time runs out. */
static void *wait_for_block(rtm_pool_t *p, uint32_t timeout_ms)
{
    rtm_pool_waiter_t w;
    w.next = NULL;
    w.block = NULL;
    if (!rtm_port_waiter_init(&w.port)) {
        return NULL;
    }
    enqueue_waiter(p, &w);
    p->wait_count++;
    /* The block, not the wait's result, decides: a block handed over just
     * as the time ran out is ours. */
    (void)rtm_port_wait(&w.port, &p->lock, timeout_ms);
    if (w.block != NULL) {
        p->alloc_count++;
    } else {
        remove_waiter(p, &w);
    }
    rtm_port_waiter_destroy(&w.port);
    return w.block;
}

/* Lock released: what every allocation does after it. report_fail = false
 * keeps the failed-allocation hook quiet (a set reports for itself). */
static void *finish_alloc(rtm_pool_t *p, void *block, const void *corrupt, bool report_fail)
{
    if (corrupt != NULL) {
        report_misuse(p, RTM_MISUSE_CORRUPT_BLOCK, corrupt);
    }
    if (block == NULL) {
        if (report_fail) {
            report_failure(p);
        }
        return NULL;
    }
#if RTM_POOL_FILL
    memset(block, RTM_FILL_FRESH, p->span);
#endif
    return block;
}

/* The non-blocking allocation of rtm_pool_alloc and of the sets. */
static void *pool_alloc(rtm_pool_t *p, bool report_fail)
{
    const void *corrupt = NULL;
    pool_lock(p);
    void *block = take_block(p, &corrupt);
    if (block == NULL) {
        p->failed_count++;
    }
    pool_unlock(p);
    return finish_alloc(p, block, corrupt, report_fail);
}

void *rtm_pool_alloc(rtm_pool_t *p)
{
    if (!pool_ok(p)) {
        return NULL;
    }
    return pool_alloc(p, true);
}

void *rtm_pool_alloc_wait(rtm_pool_t *p, uint32_t timeout_ms)
{
    if (!pool_ok(p)) {
        return NULL;
    }
    /* Asked before locking: a held FreeRTOS lock suspends the scheduler,
     * which the port would take for "cannot block". */
    bool may_block = timeout_ms != 0 && pool_locked(p) && rtm_port_can_block();
    const void *corrupt = NULL;
    pool_lock(p);
    void *block = take_block(p, &corrupt);
    if (block == NULL && may_block) {
        block = wait_for_block(p, timeout_ms);
    }
    if (block == NULL) {
        p->failed_count++;
    }
    pool_unlock(p);
    return finish_alloc(p, block, corrupt, true);
}

/* ------------------------------------------------------------------ */
/* Free                                                                */

/* Lock held, block i validated as live: to the oldest waiter, else onto
 * the free list. */
static void give_block(rtm_pool_t *p, uint32_t i)
{
    uint8_t *block = block_at(p, i);
    p->free_count++;
    rtm_pool_waiter_t *w = p->wait_head;
    if (w != NULL) {
        /* Still live (bit and used unchanged), now the waiter's. */
        p->wait_head = w->next;
        if (p->wait_head == NULL) {
            p->wait_tail = NULL;
        }
        p->waiting--;
        w->block = block;
        rtm_port_signal(&w->port);
        return;
    }
#if RTM_POOL_FILL
    memset(block, RTM_FILL_FREED, p->span);
#endif
    rtm_wr32(block, 0, p->free_head);
    p->free_head = i;
    p->free_listed++;
    if (p->bitmap != NULL) {
        bit_put(p, i, false);
    }
    p->used--;
}

void rtm_pool_free(rtm_pool_t *p, void *block)
{
    if (!pool_ok(p) || block == NULL) {
        return;
    }
    uint32_t i = 0;
    rtm_misuse_t why = RTM_MISUSE_INVALID_POINTER;
    /* The geometry never changes: no lock needed to place the pointer. */
    if (!locate_block(p, block, &i, &why)) {
        report_misuse(p, why, block);
        return;
    }
    pool_lock(p);
    bool live;
    if (i >= p->fresh) {
        live = false; /* never handed out */
    } else if (p->bitmap != NULL) {
        live = bit_get(p, i);
        why = RTM_MISUSE_DOUBLE_FREE;
    } else {
        /* Without the bitmap only the most common double free, the block
         * freed last, can be seen in O(1). */
        live = i != p->free_head;
        why = RTM_MISUSE_DOUBLE_FREE;
    }
    if (live) {
        give_block(p, i);
    }
    pool_unlock(p);
    if (!live) {
        report_misuse(p, why, block);
    }
}

bool rtm_pool_contains(const rtm_pool_t *p, const void *ptr)
{
    if (!pool_ok(p) || ptr == NULL) {
        return false;
    }
    uintptr_t a = (uintptr_t)ptr;
    uintptr_t base = (uintptr_t)p->blocks;
    return a >= base && a - base < blocks_bytes(p);
}

/* ------------------------------------------------------------------ */
/* Inspecting                                                          */

size_t rtm_pool_block_size(const rtm_pool_t *p)
{
    return pool_ok(p) ? p->span : 0;
}

const char *rtm_pool_name(const rtm_pool_t *p)
{
    return pool_ok(p) ? p->name : "(no pool)";
}

bool rtm_pool_info(rtm_pool_t *p, rtm_pool_info_t *info)
{
    if (!pool_ok(p) || info == NULL) {
        return false;
    }
    pool_lock(p);
    info->block_size = p->span;
    info->alignment = p->alignment;
    info->capacity = p->count;
    info->used = p->used;
    info->free = (size_t)p->count - p->used;
    info->peak_used = p->peak_used;
    info->alloc_count = p->alloc_count;
    info->free_count = p->free_count;
    info->failed_count = p->failed_count;
    info->wait_count = p->wait_count;
    info->waiting = p->waiting;
    pool_unlock(p);
    return true;
}

void rtm_pool_reset_peak(rtm_pool_t *p)
{
    if (!pool_ok(p)) {
        return;
    }
    pool_lock(p);
    p->peak_used = p->used;
    pool_unlock(p);
}

static unsigned popcount32(uint32_t v)
{
    unsigned n = 0;
    for (; v != 0; v &= v - 1u) {
        n++;
    }
    return n;
}

static bool check_geometry(const rtm_pool_t *p, rtm_check_report_t *r)
{
    if (!rtm_is_pow2(p->alignment) || p->alignment < 4u || p->span < 4u ||
        (p->span & (p->alignment - 1u)) != 0) {
        return rtm_check_fail(r, "span or alignment is invalid", p);
    }
    if (p->count == 0 || p->count > UINT32_MAX / p->span) {
        return rtm_check_fail(r, "block count is zero or the blocks exceed 4 GiB", p);
    }
    if (((uintptr_t)p->blocks & (p->alignment - 1u)) != 0) {
        return rtm_check_fail(r, "blocks are not aligned", p->blocks);
    }
    uint32_t odd = p->span >> p->span_shift;
    if ((odd & 1u) == 0 || (odd << p->span_shift) != p->span || odd * p->span_inverse != 1u) {
        return rtm_check_fail(r, "span divisor constants are wrong", p);
    }
    if (p->bitmap != NULL && p->bitmap != p->blocks + blocks_bytes(p)) {
        return rtm_check_fail(r, "bitmap is not right after the blocks", p);
    }
    return true;
}

static bool check_free_list(const rtm_pool_t *p, rtm_check_report_t *r)
{
    uint32_t n = 0;
    const void *from = p; /* where the link being followed is stored */
    for (uint32_t i = p->free_head; i != NO_BLOCK; i = rtm_rd32(block_at(p, i), 0)) {
        if (i >= p->fresh) {
            return rtm_check_fail(r, "free-list link points outside the blocks handed out", from);
        }
        if (p->bitmap != NULL && bit_get(p, i)) {
            return rtm_check_fail(r, "free-list block is marked allocated in the bitmap",
                                  block_at(p, i));
        }
        /* More entries than blocks ever handed out: some block repeats,
         * which in a singly linked list means a cycle. */
        if (++n > p->fresh) {
            return rtm_check_fail(r, "free list has a cycle", block_at(p, i));
        }
        from = block_at(p, i);
    }
    if (n != p->free_listed) {
        return rtm_check_fail(r, "free-list length differs from its count", p);
    }
    return true;
}

static bool check_bitmap(const rtm_pool_t *p, rtm_check_report_t *r)
{
    uint32_t words = (p->count + 31u) / 32u;
    size_t set_bits = 0;
    for (uint32_t w = 0; w < words; w++) {
        uint32_t word = rtm_rd32(p->bitmap, w * 4u);
        /* Bits of blocks at or past the watermark (never handed out) and
         * past the last block must be clear. */
        uint32_t first = w * 32u;
        if (p->fresh < first + 32u) {
            uint32_t keep = p->fresh > first ? p->fresh - first : 0u;
            uint32_t stray = keep >= 32u ? 0u : word & ~((UINT32_C(1) << keep) - 1u);
            if (stray != 0) {
                return rtm_check_fail(r, "a block never handed out is marked allocated",
                                      p->bitmap + w * 4u);
            }
        }
        set_bits += popcount32(word);
    }
    if (set_bits != p->used) {
        return rtm_check_fail(r, "bitmap count differs from the used count", p->bitmap);
    }
    return true;
}

static bool check_waiters(const rtm_pool_t *p, rtm_check_report_t *r)
{
    size_t n = 0;
    const rtm_pool_waiter_t *last = NULL;
    for (const rtm_pool_waiter_t *w = p->wait_head; w != NULL; w = w->next) {
        if (++n > p->waiting) {
            return rtm_check_fail(r, "wait queue is longer than the waiting count", p);
        }
        last = w;
    }
    if (n != p->waiting || last != p->wait_tail) {
        return rtm_check_fail(r, "wait queue disagrees with the waiting count or its tail", p);
    }
    if (n != 0 && (p->free_listed != 0 || p->fresh != p->count)) {
        return rtm_check_fail(r, "a task waits while a block is free", p);
    }
    return true;
}

static bool check_locked(const rtm_pool_t *p, rtm_check_report_t *r)
{
    if (!check_geometry(p, r)) {
        return false;
    }
    if (p->fresh > p->count || p->used > p->fresh) {
        return rtm_check_fail(r, "used or watermark exceeds the blocks", p);
    }
    if (p->peak_used < p->used || p->peak_used > p->count) {
        return rtm_check_fail(r, "peak used is below used or above the capacity", p);
    }
    if (!check_free_list(p, r)) {
        return false;
    }
    if ((size_t)p->free_listed + (p->count - p->fresh) + p->used != p->count) {
        return rtm_check_fail(r, "free-list blocks + never-used blocks + used differs from the capacity",
                              p);
    }
    if (p->bitmap != NULL && !check_bitmap(p, r)) {
        return false;
    }
    return check_waiters(p, r);
}

bool rtm_pool_check(rtm_pool_t *p, rtm_check_report_t *report)
{
    if (p == NULL) {
        return rtm_check_fail(report, "pool is NULL", NULL);
    }
    if (p->magic != POOL_MAGIC) {
        return rtm_check_fail(report, "pool control block is damaged or not initialised", p);
    }
    pool_lock(p);
    bool ok = check_locked(p, report);
    pool_unlock(p);
    return ok;
}

/* One report line: "rtmem: <misuse> at <address> in <what> '<name>'". */
static void misuse_line(rtm_misuse_t kind, const void *address, const char *what,
                        const char *name)
{
    rtm_output_report(rtm_misuse_str(kind), address, what, name);
#if RTM_ABORT_ON_MISUSE
    RTM_ABORT();
#endif
}

void rtm_pool_default_misuse_hook(rtm_pool_t *p, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)ctx;
    misuse_line(kind, address, "pool", rtm_pool_name(p));
}

const char *rtm_pool_err_str(rtm_pool_err_t err)
{
    switch (err) {
    case RTM_POOL_OK:
        return "ok";
    case RTM_POOL_ERR_NULL:
        return "pool, storage or config is NULL";
    case RTM_POOL_ERR_ZERO:
        return "block size or count is zero";
    case RTM_POOL_ERR_BAD_ALIGNMENT:
        return "alignment is not a power of two";
    case RTM_POOL_ERR_MISALIGNED:
        return "storage is not aligned to the block alignment";
    case RTM_POOL_ERR_TOO_SMALL:
        return "storage is smaller than rtm_pool_storage_size()";
    case RTM_POOL_ERR_TOO_LARGE:
        return "blocks total 4 GiB or more, or run past the end of memory";
    case RTM_POOL_ERR_OVERLAP:
        return "storage overlaps the pool's control block";
    default:
        return "unknown error";
    }
}

/* ------------------------------------------------------------------ */
/* Size-class sets                                                     */

static bool set_ok(const rtm_pool_set_t *s)
{
    return s != NULL && s->magic == POOL_SET_MAGIC;
}

static void set_lock(rtm_pool_set_t *s)
{
    if ((s->flags & RTM_POOL_SET_NO_LOCK) == 0) {
        rtm_port_lock(&s->lock);
    }
}

static void set_unlock(rtm_pool_set_t *s)
{
    if ((s->flags & RTM_POOL_SET_NO_LOCK) == 0) {
        rtm_port_unlock(&s->lock);
    }
}

rtm_pool_set_t *rtm_pool_set_init(rtm_pool_set_t *set, rtm_pool_t *const *pools, size_t count,
                                  const rtm_pool_set_config_t *cfg)
{
    if (set == NULL || pools == NULL || count == 0 || count > RTM_POOL_SET_MAX_CLASSES) {
        return NULL;
    }
    for (size_t i = 0; i < count; i++) {
        if (!pool_ok(pools[i])) {
            return NULL;
        }
        for (size_t j = 0; j < i; j++) {
            if (pools[j] == pools[i]) {
                return NULL;
            }
        }
    }
    static const rtm_pool_set_config_t defaults = {0};
    if (cfg == NULL) {
        cfg = &defaults;
    }
    memset(set, 0, sizeof *set);
    /* Insertion sort by block size: stable, and count is at most 8. */
    for (size_t i = 0; i < count; i++) {
        size_t k = i;
        while (k > 0 && set->pools[k - 1]->span > pools[i]->span) {
            set->pools[k] = set->pools[k - 1];
            k--;
        }
        set->pools[k] = pools[i];
    }
    set->classes = count;
    set->flags = cfg->flags;
    if ((set->flags & RTM_POOL_SET_NO_LOCK) == 0 && !rtm_port_lock_init(&set->lock)) {
        return NULL;
    }
    set->fallback = cfg->fallback;
    set->name = cfg->name != NULL ? cfg->name : "pool set";
    set->on_alloc_failed = cfg->on_alloc_failed;
    set->on_misuse = cfg->on_misuse;
    set->hook_ctx = cfg->hook_ctx;
    set->magic = POOL_SET_MAGIC;
    return set;
}

rtm_pool_set_t *rtm_pool_set_create(rtm_heap_t *heap, const rtm_pool_class_t *classes,
                                    size_t count, const rtm_pool_set_config_t *cfg)
{
    if (heap == NULL || classes == NULL || count == 0 || count > RTM_POOL_SET_MAX_CLASSES) {
        return NULL;
    }
    rtm_pool_set_t *set = rtm_malloc(heap, sizeof *set);
    if (set == NULL) {
        return NULL;
    }
    bool one_context = cfg != NULL && (cfg->flags & RTM_POOL_SET_NO_LOCK) != 0;
    rtm_pool_t *pools[RTM_POOL_SET_MAX_CLASSES];
    size_t made = 0;
    for (; made < count; made++) {
        rtm_pool_config_t pcfg = {0};
        pcfg.block_size = classes[made].block_size;
        pcfg.count = classes[made].count;
        pcfg.name = cfg != NULL && cfg->name != NULL ? cfg->name : "pool set";
        pcfg.flags = one_context ? RTM_POOL_NO_LOCK : 0u;
        pools[made] = rtm_pool_create(heap, &pcfg);
        if (pools[made] == NULL) {
            break;
        }
    }
    if (made == count && rtm_pool_set_init(set, pools, count, cfg) != NULL) {
        set->owner = heap;
        return set;
    }
    while (made > 0) {
        (void)rtm_pool_delete(pools[--made]);
    }
    rtm_free(heap, set);
    return NULL;
}

void rtm_pool_set_deinit(rtm_pool_set_t *set)
{
    if (!set_ok(set)) {
        return;
    }
    set->magic = 0;
    if ((set->flags & RTM_POOL_SET_NO_LOCK) == 0) {
        rtm_port_lock_destroy(&set->lock);
    }
}

bool rtm_pool_set_delete(rtm_pool_set_t *set)
{
    if (!set_ok(set)) {
        return false;
    }
    rtm_heap_t *owner = set->owner;
    if (owner == NULL) {
        rtm_pool_set_deinit(set);
        return true;
    }
    /* All or nothing: no pool is deleted while any of them has a waiter. */
    for (size_t i = 0; i < set->classes; i++) {
        rtm_pool_info_t info;
        if (rtm_pool_info(set->pools[i], &info) && info.waiting != 0) {
            return false;
        }
    }
    rtm_pool_t *pools[RTM_POOL_SET_MAX_CLASSES];
    size_t n = set->classes;
    memcpy(pools, set->pools, n * sizeof pools[0]);
    rtm_pool_set_deinit(set);
    for (size_t i = 0; i < n; i++) {
        (void)rtm_pool_delete(pools[i]);
    }
    rtm_free(owner, set);
    return true;
}

typedef enum set_source {
    FROM_POOL,
    FROM_LARGER,
    FROM_FALLBACK,
    FROM_NOWHERE
} set_source_t;

/* A block of one of the set's classes; NULL, as from an empty pool, for a
 * class the caller has deinitialised since (pool.h: the pools stay the
 * caller's), whose lock and blocks are no longer the set's to use. */
static void *class_alloc(rtm_pool_t *p)
{
    return pool_ok(p) ? pool_alloc(p, false) : NULL;
}

void *rtm_pool_set_alloc(rtm_pool_set_t *set, size_t size)
{
    if (!set_ok(set) || size == 0) {
        return NULL;
    }
    size_t c = 0;
    while (c < set->classes && set->pools[c]->span < size) {
        c++;
    }
    set_source_t from = FROM_NOWHERE;
    void *p = NULL;
    if (c < set->classes) {
        p = class_alloc(set->pools[c]);
        from = FROM_POOL;
        for (size_t k = c + 1; p == NULL && (set->flags & RTM_POOL_SET_TRY_LARGER) != 0 &&
                               k < set->classes;
             k++) {
            p = class_alloc(set->pools[k]);
            from = FROM_LARGER;
        }
    }
    if (p == NULL && set->fallback != NULL) {
        p = rtm_malloc(set->fallback, size);
        from = FROM_FALLBACK;
    }
    if (p == NULL) {
        from = FROM_NOWHERE;
    }
    set_lock(set);
    switch (from) {
    case FROM_POOL:
        set->pool_allocs++;
        break;
    case FROM_LARGER:
        set->larger_allocs++;
        break;
    case FROM_FALLBACK:
        set->fallback_allocs++;
        break;
    case FROM_NOWHERE:
    default:
        set->failed_count++;
        break;
    }
    set_unlock(set);
    if (p == NULL && set->on_alloc_failed != NULL) {
        set->on_alloc_failed(set, size, c < set->classes ? RTM_FAIL_NO_MEMORY : RTM_FAIL_TOO_LARGE,
                             set->hook_ctx);
    }
    return p;
}

void rtm_pool_set_free(rtm_pool_set_t *set, void *p)
{
    if (!set_ok(set) || p == NULL) {
        return;
    }
    /* The set's own control blocks are never its blocks. They are live
     * allocations of the fallback heap when rtm_pool_set_create (or the
     * caller, with rtm_pool_create) put them there, and that heap would
     * free them. */
    bool own = p == (void *)set;
    for (size_t i = 0; i < set->classes; i++) {
        if (rtm_pool_contains(set->pools[i], p)) {
            rtm_pool_free(set->pools[i], p);
            return;
        }
        own = own || p == (void *)set->pools[i];
    }
    if (set->fallback != NULL && !own) {
        rtm_free(set->fallback, p);
        return;
    }
    rtm_pool_set_misuse_fn fn =
        set->on_misuse != NULL ? set->on_misuse : rtm_pool_set_default_misuse_hook;
    fn(set, own ? RTM_MISUSE_INVALID_POINTER : RTM_MISUSE_FOREIGN_POINTER, p, set->hook_ctx);
}

rtm_pool_t *rtm_pool_set_class(const rtm_pool_set_t *set, size_t i)
{
    return set_ok(set) && i < set->classes ? set->pools[i] : NULL;
}

bool rtm_pool_set_info(rtm_pool_set_t *set, rtm_pool_set_info_t *info)
{
    if (!set_ok(set) || info == NULL) {
        return false;
    }
    set_lock(set);
    info->classes = set->classes;
    info->pool_allocs = set->pool_allocs;
    info->larger_allocs = set->larger_allocs;
    info->fallback_allocs = set->fallback_allocs;
    info->failed_count = set->failed_count;
    set_unlock(set);
    return true;
}

bool rtm_pool_set_check(rtm_pool_set_t *set, rtm_check_report_t *report)
{
    if (set == NULL) {
        return rtm_check_fail(report, "pool set is NULL", NULL);
    }
    if (set->magic != POOL_SET_MAGIC) {
        return rtm_check_fail(report, "pool set control block is damaged or not initialised", set);
    }
    if (set->classes == 0 || set->classes > RTM_POOL_SET_MAX_CLASSES) {
        return rtm_check_fail(report, "pool set class count is out of range", set);
    }
    for (size_t i = 0; i < set->classes; i++) {
        if (!rtm_pool_check(set->pools[i], report)) {
            return false;
        }
        if (i > 0 && set->pools[i - 1]->span > set->pools[i]->span) {
            return rtm_check_fail(report, "pool set classes are not ordered by block size",
                                  set->pools[i]);
        }
    }
    return true;
}

void rtm_pool_set_default_misuse_hook(rtm_pool_set_t *set, rtm_misuse_t kind,
                                      const void *address, void *ctx)
{
    (void)ctx;
    misuse_line(kind, address, "pool set", set_ok(set) ? set->name : "(no pool set)");
}
