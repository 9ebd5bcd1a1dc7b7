/*
 * Differential heap fuzzer: one sequence of operations, decoded from the
 * input, runs on every block strategy (TLSF, first fit, best fit, bump and,
 * when compiled in, system) and on a fixed-block pool and a two-region
 * capability registry beside it. A shadow model holds every live block
 * (range, requested and usable size, a content pattern from its id); after
 * every operation the heap must agree with it: blocks inside the arena,
 * disjoint, aligned, contents intact, rtm_heap_info / rtm_pool_info /
 * rtm_caps_get_info equal to the model's counts, the block walk listing
 * exactly the model's blocks, and rtm_heap_check (pool, caps) passing.
 * A deliberately bad free must be reported once through the misuse hook
 * and change nothing. Any disagreement aborts. docs/fuzzing.md has the
 * input layout.
 */
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "rtmem/caps.h"
#include "rtmem/debug.h"
#include "rtmem/heap.h"
#include "rtmem/output.h"
#include "rtmem/pool.h"

#define MAX_OPS 2000u
#define MAX_BLOCKS 256u
#define ARENA_MAX (200u * 1024u)
#define ARENA_OFFSET_MAX 512u
#define POOL_STORAGE_MAX (64u * 1024u)
#define CAPS_REGION_MAX (16u * 1024u)
#define FREED_HISTORY 16u
#define CACHE_LINE 32u
#define SYSTEM_REGION_MAX (6u * 1024u)
/* Largest usable size any block can have: the pattern ramp covers it. */
#define PATTERN_MAX (ARENA_MAX + POOL_STORAGE_MAX)

/* Aligned to the largest alignment requested, so that a run does not depend
 * on where the loader put the buffer. */
static _Alignas(65536) uint8_t g_arena[ARENA_MAX + ARENA_OFFSET_MAX];
static _Alignas(64) uint8_t g_pool_storage[POOL_STORAGE_MAX];
static _Alignas(8) uint8_t g_caps_mem[2][CAPS_REGION_MAX + 8u];
static uint8_t g_outside[64]; /* a pointer no heap, pool or region ever owns */
/* g_ramp[i] = 0x80 | (i & 0x7f): a block with pattern seed s holds
 * g_ramp[s .. s + usable). Every byte has its top bit set, so no four
 * bytes of a live block ever read as a plausible block header (a size
 * above 2 GiB): an interior pointer stays recognisably interior. */
static uint8_t g_ramp[128u + PATTERN_MAX];

/* ---- failure --------------------------------------------------------- */

static const char *g_phase = "setup";
static bool g_teardown;
static size_t g_step;

/* The failed check's context: which pass and step. */
static void print_context(FILE *out)
{
    fprintf(out, "fuzz_heap: %s%s, step %zu", g_phase, g_teardown ? " (teardown)" : "", g_step);
}


/* ---- input ----------------------------------------------------------- */

typedef struct reader {
    const uint8_t *data;
    size_t size;
    size_t pos;
} reader_t;

static uint8_t rd_u8(reader_t *r)
{
    return r->pos < r->size ? r->data[r->pos++] : 0u;
}

static uint16_t rd_u16(reader_t *r)
{
    uint16_t lo = rd_u8(r);
    uint16_t hi = rd_u8(r);
    return (uint16_t)(lo | (uint16_t)(hi << 8));
}

/* Sizes: mostly small, sometimes up to 128 KiB (which mostly fails). */
static size_t decode_size(uint16_t v)
{
    switch (v >> 14) {
    case 0: return v & 63u;
    case 1: return v & 511u;
    case 2: return v & 4095u;
    default: return (size_t)(v & 0x3fffu) * 8u;
    }
}

/* Alignments: powers of two 1 .. 64 KiB, rarely an invalid one. */
static size_t decode_alignment(uint8_t b)
{
    static const size_t invalid[] = {0u, 3u, 24u, 48u, 100u, SIZE_MAX};
    if (b >= 250u) {
        return invalid[b - 250u];
    }
    return (size_t)1u << (b % 17u);
}

static bool is_pow2(size_t v)
{
    return v != 0u && (v & (v - 1u)) == 0u;
}

/* ---- shadow model ---------------------------------------------------- */

typedef struct block {
    uint8_t *addr;
    size_t req;
    size_t usable;
    uint32_t id;
} block_t;

/* Live blocks sorted by address; disjointness is checked on insertion. */
typedef struct blocks {
    block_t b[MAX_BLOCKS];
    size_t n;
} blocks_t;

static size_t seed_of(uint32_t id)
{
    return (size_t)((id * 37u) & 0x7fu);
}

static void fill_pattern(const block_t *b)
{
    memcpy(b->addr, g_ramp + seed_of(b->id), b->usable);
}

static bool pattern_ok(const uint8_t *addr, uint32_t id, size_t len)
{
    return memcmp(addr, g_ramp + seed_of(id), len) == 0;
}

/* Index of the first block whose address is >= addr. */
static size_t blocks_lower(const blocks_t *s, const uint8_t *addr)
{
    size_t lo = 0, hi = s->n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if ((uintptr_t)s->b[mid].addr < (uintptr_t)addr) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    return lo;
}

static size_t blocks_find(const blocks_t *s, const uint8_t *addr)
{
    size_t i = blocks_lower(s, addr);
    return i < s->n && s->b[i].addr == addr ? i : SIZE_MAX;
}

static void blocks_insert(blocks_t *s, const block_t *nb)
{
    REQUIRE(s->n < MAX_BLOCKS);
    size_t i = blocks_lower(s, nb->addr);
    uintptr_t lo = (uintptr_t)nb->addr, hi = lo + nb->usable;
    /* a new block must not overlap any live one: checking the neighbours
     * suffices because the live set is sorted and disjoint */
    REQUIRE(i == 0u || (uintptr_t)s->b[i - 1u].addr + s->b[i - 1u].usable <= lo);
    REQUIRE(i == s->n || (uintptr_t)s->b[i].addr >= hi);
    memmove(&s->b[i + 1u], &s->b[i], (s->n - i) * sizeof s->b[0]);
    s->b[i] = *nb;
    s->n++;
}

static block_t blocks_remove(blocks_t *s, size_t i)
{
    block_t out = s->b[i];
    memmove(&s->b[i], &s->b[i + 1u], (s->n - i - 1u) * sizeof s->b[0]);
    s->n--;
    return out;
}

static bool blocks_contain(const blocks_t *s, const uint8_t *addr)
{
    size_t i = blocks_lower(s, addr);
    if (i < s->n && s->b[i].addr == addr) {
        return true;
    }
    return i > 0u && (uintptr_t)addr < (uintptr_t)s->b[i - 1u].addr + s->b[i - 1u].usable;
}

static void blocks_verify(const blocks_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        REQUIRE(pattern_ok(s->b[i].addr, s->b[i].id, s->b[i].usable));
    }
}

typedef struct history {
    uint8_t *addr[FREED_HISTORY];
    size_t n, next;
} history_t;

static void history_add(history_t *h, uint8_t *addr)
{
    h->addr[h->next] = addr;
    h->next = (h->next + 1u) % FREED_HISTORY;
    if (h->n < FREED_HISTORY) {
        h->n++;
    }
}

/* ---- one pass: a strategy with its pool and registry ------------------ */

typedef struct misuse_log {
    size_t calls;
    rtm_misuse_t kind;
    const void *addr;
    bool region_known; /* caps: the hook named a region */
} misuse_log_t;

typedef struct pass {
    rtm_strategy_id_t strategy;
    rtm_heap_t *heap;
    uint8_t *mem;
    size_t mem_size;
    size_t granularity;
    blocks_t live;
    history_t freed;
    size_t alloc_count, free_count, failed_count;
    size_t fail_hook_calls;
    misuse_log_t misuse;
    size_t initial_free, initial_free_blocks, last_min_free;
    uint32_t next_id;

    bool pool_on;
    rtm_pool_t pool_ctl;
    rtm_pool_t *pool;
    size_t pool_span, pool_count, pool_align, pool_block_size;
    blocks_t pool_live;
    uint64_t pool_ever; /* bit i: block i was handed out at least once */
    size_t pool_alloc, pool_free, pool_failed, pool_fail_hook;
    misuse_log_t pool_misuse;

    bool caps_on;
    rtm_caps_registry_t caps_reg;
    rtm_caps_region_t caps_slots[2];
    uint8_t *caps_lo[2], *caps_hi[2];
    rtm_caps_t caps_all[2];
    rtm_strategy_id_t caps_strategy;
    blocks_t caps_live;
    size_t caps_fail_expected, caps_fail_hook;
    misuse_log_t caps_misuse;
} pass_t;

static pass_t g_pass;

static void on_heap_failed(rtm_heap_t *heap, size_t size, size_t alignment, rtm_fail_reason_t reason,
                           void *ctx)
{
    (void)heap;
    (void)size;
    (void)alignment;
    (void)reason;
    ((pass_t *)ctx)->fail_hook_calls++;
}

static void on_heap_misuse(rtm_heap_t *heap, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)heap;
    misuse_log_t *m = &((pass_t *)ctx)->misuse;
    m->calls++;
    m->kind = kind;
    m->addr = address;
}

static void on_pool_failed(rtm_pool_t *pool, rtm_fail_reason_t reason, void *ctx)
{
    (void)pool;
    REQUIRE(reason == RTM_FAIL_NO_MEMORY);
    ((pass_t *)ctx)->pool_fail_hook++;
}

static void on_pool_misuse(rtm_pool_t *pool, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)pool;
    misuse_log_t *m = &((pass_t *)ctx)->pool_misuse;
    m->calls++;
    m->kind = kind;
    m->addr = address;
}

static void on_caps_failed(size_t size, rtm_caps_t caps, const char *function_name, void *ctx)
{
    (void)size;
    (void)caps;
    (void)function_name;
    ((pass_t *)ctx)->caps_fail_hook++;
}

static void on_caps_misuse(const rtm_caps_region_t *region, rtm_misuse_t kind, const void *address,
                           void *ctx)
{
    misuse_log_t *m = &((pass_t *)ctx)->caps_misuse;
    m->calls++;
    m->kind = kind;
    m->addr = address;
    m->region_known = region != NULL;
}

/* Corruption reports (poisoning levels >= 1): a bad pointer produces one
 * beside its misuse report; nothing else ever may. */
static size_t g_corruptions;

static void on_corruption(const rtm_corruption_t *report, void *ctx)
{
    (void)report;
    (void)ctx;
    g_corruptions++;
}

/* After a refused pointer: the corruption report that goes with it. */
static void take_bad_pointer_report(void)
{
    REQUIRE(g_corruptions == (rtm_debug_poison_level() >= 1 ? 1u : 0u));
    g_corruptions = 0;
}

static void discard_output(const char *text, size_t len, void *ctx)
{
    (void)text;
    (void)len;
    (void)ctx;
}

static bool is_system(const pass_t *p)
{
    return p->strategy == RTM_SYSTEM;
}

static bool frees(rtm_strategy_id_t s)
{
    return s != RTM_BUMP;
}

/* ---- heap checks ----------------------------------------------------- */

typedef struct walk_state {
    const pass_t *pass;
    size_t index;      /* next model block expected (address order) */
    size_t used_seen;
    size_t free_sum;
} walk_state_t;

static bool walk_block(const rtm_block_info_t *b, void *ctx)
{
    walk_state_t *w = ctx;
    const blocks_t *live = &w->pass->live;
    if (!b->used) {
        w->free_sum += b->size;
        return true;
    }
    size_t i;
    if (is_system(w->pass)) {
        i = blocks_find(live, b->ptr); /* table order, not address order */
    } else {
        i = w->index < live->n && live->b[w->index].addr == b->ptr ? w->index : SIZE_MAX;
        w->index++;
    }
    REQUIRE(i != SIZE_MAX);
    REQUIRE(b->size == live->b[i].usable);
    w->used_seen++;
    return true;
}

static bool info_equal(const rtm_heap_info_t *a, const rtm_heap_info_t *b)
{
    return a->total_bytes == b->total_bytes && a->free_bytes == b->free_bytes &&
           a->allocated_bytes == b->allocated_bytes && a->overhead_bytes == b->overhead_bytes &&
           a->min_free_bytes == b->min_free_bytes && a->largest_free_block == b->largest_free_block &&
           a->used_blocks == b->used_blocks && a->free_blocks == b->free_blocks &&
           a->alloc_count == b->alloc_count && a->free_count == b->free_count &&
           a->failed_count == b->failed_count;
}

static void check_heap(pass_t *p)
{
    rtm_heap_info_t info;
    REQUIRE(rtm_heap_info(p->heap, &info));
    size_t allocated = 0;
    for (size_t i = 0; i < p->live.n; i++) {
        allocated += p->live.b[i].usable;
    }
    REQUIRE(info.used_blocks == p->live.n);
    REQUIRE(info.allocated_bytes == allocated);
    REQUIRE(info.alloc_count == p->alloc_count);
    REQUIRE(info.free_count == p->free_count);
    REQUIRE(info.failed_count == p->failed_count);
    REQUIRE(p->fail_hook_calls == p->failed_count);
    REQUIRE(info.free_bytes + info.allocated_bytes + info.overhead_bytes == info.total_bytes);
    REQUIRE(info.min_free_bytes <= info.free_bytes);
    REQUIRE(info.min_free_bytes <= p->last_min_free);
    REQUIRE(info.largest_free_block <= info.free_bytes);
    if (!is_system(p)) {
        REQUIRE(info.total_bytes == p->mem_size);
    }
    p->last_min_free = info.min_free_bytes;

    rtm_check_report_t rep = {NULL, NULL};
    if (!rtm_heap_check(p->heap, &rep)) {
        fprintf(stderr, "fuzz_heap: rtm_heap_check: %s at %p\n", rep.problem ? rep.problem : "?",
                rep.address);
        fuzz_fail_at(__FILE__, __LINE__, "rtm_heap_check failed");
    }

    walk_state_t w = {p, 0, 0, 0};
    REQUIRE(rtm_heap_walk(p->heap, walk_block, &w));
    REQUIRE(w.used_seen == p->live.n);
    if (!is_system(p)) {
        REQUIRE(w.free_sum == info.free_bytes);
    }
    blocks_verify(&p->live);
}

/* ---- pool checks ----------------------------------------------------- */

static void check_pool(pass_t *p)
{
    if (!p->pool_on) {
        return;
    }
    rtm_pool_info_t info;
    REQUIRE(rtm_pool_info(p->pool, &info));
    REQUIRE(info.capacity == p->pool_count);
    REQUIRE(info.used == p->pool_live.n);
    REQUIRE(info.used + info.free == info.capacity);
    REQUIRE(info.block_size == p->pool_span);
    REQUIRE(info.peak_used >= info.used);
    REQUIRE(info.alloc_count == p->pool_alloc);
    REQUIRE(info.free_count == p->pool_free);
    REQUIRE(info.failed_count == p->pool_failed);
    REQUIRE(p->pool_fail_hook == p->pool_failed);
    rtm_check_report_t rep = {NULL, NULL};
    if (!rtm_pool_check(p->pool, &rep)) {
        fprintf(stderr, "fuzz_heap: rtm_pool_check: %s at %p\n", rep.problem ? rep.problem : "?",
                rep.address);
        fuzz_fail_at(__FILE__, __LINE__, "rtm_pool_check failed");
    }
    blocks_verify(&p->pool_live);
}

/* ---- caps checks ----------------------------------------------------- */

static int caps_region_of(const pass_t *p, const uint8_t *addr, size_t len)
{
    for (int r = 0; r < 2; r++) {
        if ((uintptr_t)addr >= (uintptr_t)p->caps_lo[r] &&
            (uintptr_t)addr + len <= (uintptr_t)p->caps_hi[r]) {
            return r;
        }
    }
    return -1;
}

static void check_caps(pass_t *p)
{
    if (!p->caps_on) {
        return;
    }
    rtm_caps_info_t info;
    REQUIRE(rtm_caps_get_info(0, &info));
    size_t allocated = 0;
    for (size_t i = 0; i < p->caps_live.n; i++) {
        allocated += p->caps_live.b[i].usable;
    }
    REQUIRE(info.regions == 2u);
    REQUIRE(info.used_blocks == p->caps_live.n);
    REQUIRE(info.allocated_bytes == allocated);
    REQUIRE(info.free_bytes + info.allocated_bytes + info.overhead_bytes == info.total_bytes);
    REQUIRE(p->caps_fail_hook == p->caps_fail_expected);
    rtm_caps_check_report_t rep;
    memset(&rep, 0, sizeof rep);
    if (!rtm_caps_check_all(false, &rep)) {
        fprintf(stderr, "fuzz_heap: rtm_caps_check_all: %s at %p\n",
                rep.heap.problem ? rep.heap.problem : "?", rep.heap.address);
        fuzz_fail_at(__FILE__, __LINE__, "rtm_caps_check_all failed");
    }
    blocks_verify(&p->caps_live);
}

/* ---- heap operations ------------------------------------------------- */

static void expect_failure(pass_t *p, size_t hook_before)
{
    p->failed_count++;
    REQUIRE(p->fail_hook_calls == hook_before + 1u);
}

/* A block the heap just gave out for req bytes, aligned to align. */
static block_t admit_heap_block(pass_t *p, void *ptr, size_t req, size_t align)
{
    block_t b = {ptr, req, rtm_usable_size(p->heap, ptr), p->next_id++};
    REQUIRE(p->misuse.calls == 0u);
    REQUIRE(b.usable >= req);
    REQUIRE((uintptr_t)ptr % (align > p->granularity ? align : p->granularity) == 0u);
    if (!is_system(p)) {
        REQUIRE((uintptr_t)ptr >= (uintptr_t)p->mem);
        REQUIRE((uintptr_t)ptr + b.usable <= (uintptr_t)p->mem + p->mem_size);
    }
    REQUIRE(b.usable <= PATTERN_MAX);
    return b;
}

static void add_heap_block(pass_t *p, void *ptr, size_t req, size_t align)
{
    block_t b = admit_heap_block(p, ptr, req, align);
    blocks_insert(&p->live, &b);
    fill_pattern(&b);
    p->alloc_count++;
}

static void op_malloc(pass_t *p, size_t size)
{
    size_t hook = p->fail_hook_calls;
    void *ptr = rtm_malloc(p->heap, size);
    if (size == 0u) {
        REQUIRE(ptr == NULL);
        REQUIRE(p->fail_hook_calls == hook);
    } else if (ptr == NULL) {
        expect_failure(p, hook);
    } else {
        add_heap_block(p, ptr, size, 0);
    }
}

static void op_calloc(pass_t *p, reader_t *r)
{
    uint8_t b = rd_u8(r);
    size_t size = decode_size(rd_u16(r));
    size_t count = b % 8u;
    if (b >= 0xf0u) {
        count = SIZE_MAX / 2u + 1u; /* count * size overflows for size >= 2 */
        size = size < 2u ? 2u : size;
    }
    size_t hook = p->fail_hook_calls;
    uint8_t *ptr = rtm_calloc(p->heap, count, size);
    if (count == 0u || size == 0u) {
        REQUIRE(ptr == NULL);
        REQUIRE(p->fail_hook_calls == hook);
        return;
    }
    if (ptr == NULL) {
        expect_failure(p, hook);
        return;
    }
    REQUIRE(b < 0xf0u);
    for (size_t i = 0; i < count * size; i++) {
        REQUIRE(ptr[i] == 0u);
    }
    add_heap_block(p, ptr, count * size, 0);
}

static void op_aligned(pass_t *p, reader_t *r)
{
    size_t align = decode_alignment(rd_u8(r));
    size_t size = decode_size(rd_u16(r));
    size_t hook = p->fail_hook_calls;
    void *ptr = rtm_aligned_alloc(p->heap, align, size);
    if (!is_pow2(align)) {
        REQUIRE(ptr == NULL);
        expect_failure(p, hook);
    } else if (size == 0u) {
        REQUIRE(ptr == NULL);
        REQUIRE(p->fail_hook_calls == hook);
    } else if (ptr == NULL) {
        expect_failure(p, hook);
    } else {
        add_heap_block(p, ptr, size, align);
    }
}

/* The block at index i is freed (or handed back through realloc 0). */
static void model_free(pass_t *p, size_t i)
{
    if (frees(p->strategy)) {
        block_t b = blocks_remove(&p->live, i);
        history_add(&p->freed, b.addr);
        p->free_count++;
        REQUIRE(p->misuse.calls == 0u);
    } else {
        REQUIRE(p->misuse.calls == 1u);
        REQUIRE(p->misuse.kind == RTM_MISUSE_FREE_REFUSED);
        REQUIRE(p->misuse.addr == p->live.b[i].addr);
        p->misuse.calls = 0;
    }
}

static void op_free(pass_t *p, uint8_t sel)
{
    if (p->live.n == 0u) {
        rtm_free(p->heap, NULL); /* ignored */
        REQUIRE(p->misuse.calls == 0u);
        return;
    }
    size_t i = sel % p->live.n;
    rtm_free(p->heap, p->live.b[i].addr);
    model_free(p, i);
}

static void op_realloc(pass_t *p, reader_t *r)
{
    uint8_t sel = rd_u8(r);
    size_t size = decode_size(rd_u16(r));
    size_t hook = p->fail_hook_calls;
    if (p->live.n >= MAX_BLOCKS) {
        return; /* no room in the model for a new block */
    }
    if (p->live.n == 0u || sel >= 0xf8u) {
        void *ptr = rtm_realloc(p->heap, NULL, size); /* = rtm_malloc */
        if (size == 0u) {
            REQUIRE(ptr == NULL);
            REQUIRE(p->fail_hook_calls == hook);
        } else if (ptr == NULL) {
            expect_failure(p, hook);
        } else {
            add_heap_block(p, ptr, size, 0);
        }
        return;
    }
    size_t i = sel % p->live.n;
    block_t old = p->live.b[i];
    void *ptr = rtm_realloc(p->heap, old.addr, size);
    if (size == 0u) {
        REQUIRE(ptr == NULL);
        REQUIRE(p->fail_hook_calls == hook);
        model_free(p, i);
        return;
    }
    REQUIRE(p->misuse.calls == 0u);
    if (ptr == NULL) {
        expect_failure(p, hook); /* the old block stays as it was */
        return;
    }
    size_t keep = old.usable < size ? old.usable : size;
    block_t nb = admit_heap_block(p, ptr, size, 0);
    if (ptr == old.addr) {
        REQUIRE(pattern_ok(ptr, old.id, keep));
        blocks_remove(&p->live, i);
        nb.id = old.id;
    } else {
        REQUIRE(pattern_ok(ptr, old.id, keep));
        p->alloc_count++;
        if (frees(p->strategy)) {
            blocks_remove(&p->live, i);
            history_add(&p->freed, old.addr);
            p->free_count++;
        } /* else RTM_BUMP: the old block stays allocated */
    }
    blocks_insert(&p->live, &nb);
    fill_pattern(&nb);
}

/* A free, realloc or usable_size of a pointer the heap must refuse: one
 * misuse report, nothing else changes. */
static void op_bad_heap(pass_t *p, reader_t *r)
{
    uint8_t kind = rd_u8(r), sel = rd_u8(r), how = rd_u8(r);
    uint8_t *target = NULL;
    bool inside = false; /* within the heap's region */
    switch (kind % 4u) {
    case 0: /* double free: a freed address that is no live block's start */
        if (p->freed.n == 0u) {
            return;
        }
        target = p->freed.addr[sel % p->freed.n];
        if (blocks_find(&p->live, target) != SIZE_MAX) {
            return;
        }
        inside = !is_system(p);
        break;
    case 1: { /* interior pointer */
        if (p->live.n == 0u) {
            return;
        }
        const block_t *b = &p->live.b[sel % p->live.n];
        if (b->usable < 2u) {
            return;
        }
        target = b->addr + 1u + how % (b->usable - 1u);
        inside = !is_system(p);
        break;
    }
    case 2: /* foreign */
        target = g_outside + sel % sizeof g_outside;
        break;
    default: /* the region's front and control block */
        target = p->mem + 4u * (sel % 8u);
        inside = true;
        if (blocks_contain(&p->live, target)) {
            return;
        }
        break;
    }
    rtm_heap_info_t before, after;
    REQUIRE(rtm_heap_info(p->heap, &before));
    size_t hook = p->fail_hook_calls;
    switch (how % 3u) {
    case 0: rtm_free(p->heap, target); break;
    case 1: REQUIRE(rtm_realloc(p->heap, target, 16) == NULL); break;
    default: REQUIRE(rtm_usable_size(p->heap, target) == 0u); break;
    }
    REQUIRE(p->misuse.calls == 1u);
    REQUIRE(p->misuse.addr == target);
    if (inside) {
        REQUIRE(p->misuse.kind == RTM_MISUSE_INVALID_POINTER ||
                p->misuse.kind == RTM_MISUSE_DOUBLE_FREE);
    } else {
        REQUIRE(p->misuse.kind == RTM_MISUSE_FOREIGN_POINTER ||
                (is_system(p) && p->misuse.kind == RTM_MISUSE_INVALID_POINTER));
    }
    p->misuse.calls = 0;
    take_bad_pointer_report();
    REQUIRE(p->fail_hook_calls == hook);
    REQUIRE(rtm_heap_info(p->heap, &after));
    REQUIRE(info_equal(&before, &after));
}

/* largest_free_block is the largest n for which rtm_malloc(n) succeeds. */
static void op_probe_largest(pass_t *p)
{
    if (is_system(p) || p->live.n >= MAX_BLOCKS) {
        return;
    }
    rtm_heap_info_t info;
    REQUIRE(rtm_heap_info(p->heap, &info));
    size_t n = info.largest_free_block;
    size_t hook = p->fail_hook_calls;
    void *over = rtm_malloc(p->heap, n + 1u);
    REQUIRE(over == NULL);
    expect_failure(p, hook);
    if (n == 0u) {
        return;
    }
    void *ptr = rtm_malloc(p->heap, n);
    REQUIRE(ptr != NULL);
    add_heap_block(p, ptr, n, 0);
}

/* ---- pool operations ------------------------------------------------- */

static void op_pool_alloc(pass_t *p)
{
    if (!p->pool_on) {
        return;
    }
    size_t hook = p->pool_fail_hook;
    uint8_t *ptr = rtm_pool_alloc(p->pool);
    if (ptr == NULL) {
        REQUIRE(p->pool_live.n == p->pool_count);
        p->pool_failed++;
        REQUIRE(p->pool_fail_hook == hook + 1u);
        return;
    }
    REQUIRE(p->pool_misuse.calls == 0u);
    REQUIRE(ptr >= g_pool_storage);
    size_t off = (size_t)(ptr - g_pool_storage);
    REQUIRE(off % p->pool_span == 0u);
    REQUIRE(off / p->pool_span < p->pool_count);
    REQUIRE((uintptr_t)ptr % p->pool_align == 0u);
    REQUIRE(rtm_pool_contains(p->pool, ptr));
    block_t b = {ptr, p->pool_block_size, p->pool_span, p->next_id++};
    blocks_insert(&p->pool_live, &b);
    fill_pattern(&b);
    p->pool_ever |= UINT64_C(1) << (off / p->pool_span);
    p->pool_alloc++;
}

static void op_pool_free(pass_t *p, uint8_t sel)
{
    if (!p->pool_on || p->pool_live.n == 0u) {
        return;
    }
    block_t b = blocks_remove(&p->pool_live, sel % p->pool_live.n);
    rtm_pool_free(p->pool, b.addr);
    REQUIRE(p->pool_misuse.calls == 0u);
    p->pool_free++;
}

static void op_pool_bad(pass_t *p, reader_t *r)
{
    uint8_t kind = rd_u8(r), sel = rd_u8(r);
    if (!p->pool_on) {
        return;
    }
    uint8_t *target;
    rtm_misuse_t expect;
    switch (kind % 3u) {
    case 0: { /* a block start that is not live: freed before, or never handed out */
        size_t idx = sel % p->pool_count;
        target = g_pool_storage + idx * p->pool_span;
        if (blocks_find(&p->pool_live, target) != SIZE_MAX) {
            return;
        }
        expect = (p->pool_ever >> idx) & 1u ? RTM_MISUSE_DOUBLE_FREE : RTM_MISUSE_INVALID_POINTER;
        break;
    }
    case 1: /* interior */
        if (p->pool_span < 2u) {
            return;
        }
        target = g_pool_storage + (sel % p->pool_count) * p->pool_span + 1u +
                 (size_t)kind % (p->pool_span - 1u);
        expect = RTM_MISUSE_INVALID_POINTER;
        break;
    default: /* foreign: outside the spans */
        target = sel & 1u ? g_outside : g_pool_storage + p->pool_span * p->pool_count;
        expect = RTM_MISUSE_FOREIGN_POINTER;
        break;
    }
    rtm_pool_info_t before, after;
    REQUIRE(rtm_pool_info(p->pool, &before));
    rtm_pool_free(p->pool, target);
    REQUIRE(p->pool_misuse.calls == 1u);
    REQUIRE(p->pool_misuse.kind == expect);
    REQUIRE(p->pool_misuse.addr == target);
    p->pool_misuse.calls = 0;
    REQUIRE(rtm_pool_info(p->pool, &after));
    REQUIRE(memcmp(&before, &after, sizeof before) == 0);
}

/* ---- caps operations ------------------------------------------------- */

static const rtm_caps_t caps_requests[] = {
    RTM_CAP_DEFAULT,
    RTM_CAP_DMA,
    RTM_CAP_SPIRAM,
    RTM_CAP_INTERNAL | RTM_CAP_8BIT,
    RTM_CAP_8BIT,
    RTM_CAP_32BIT | RTM_CAP_DMA,
    RTM_CAP_DEFAULT | RTM_CAP_CACHE_ALIGNED,
    0,
    RTM_CAP_DMA | RTM_CAP_SPIRAM, /* no region has both */
};
#define CAPS_REQUESTS (sizeof caps_requests / sizeof caps_requests[0])

/* A block the registry gave for caps: in a region that has them all. */
static block_t admit_caps_block(pass_t *p, void *ptr, size_t req, rtm_caps_t caps)
{
    block_t b = {ptr, req, rtm_caps_usable_size(ptr), p->next_id++};
    REQUIRE(p->caps_misuse.calls == 0u);
    REQUIRE(b.usable >= req);
    int region = caps_region_of(p, ptr, b.usable);
    REQUIRE(region >= 0);
    rtm_caps_t need = caps & ~RTM_CAP_CACHE_ALIGNED;
    REQUIRE((p->caps_all[region] & need) == need);
    if ((caps & RTM_CAP_CACHE_ALIGNED) != 0u) {
        REQUIRE((uintptr_t)ptr % CACHE_LINE == 0u);
    }
    return b;
}

static void op_caps_alloc(pass_t *p, reader_t *r)
{
    uint8_t sel = rd_u8(r);
    size_t size = decode_size(rd_u16(r)) % 4096u;
    if (!p->caps_on || p->caps_live.n >= MAX_BLOCKS) {
        return;
    }
    rtm_caps_t caps = caps_requests[sel % CAPS_REQUESTS];
    size_t align = (sel & 0x80u) ? (size_t)1u << (sel % 10u) : 0u;
    void *ptr = align != 0u ? rtm_caps_aligned_alloc(align, size, caps) : rtm_caps_malloc(size, caps);
    if (size == 0u) {
        REQUIRE(ptr == NULL);
        return;
    }
    if (ptr == NULL) {
        p->caps_fail_expected++;
        return;
    }
    REQUIRE(caps != 0u && caps != (RTM_CAP_DMA | RTM_CAP_SPIRAM));
    if (align != 0u) {
        REQUIRE((uintptr_t)ptr % align == 0u);
    }
    block_t b = admit_caps_block(p, ptr, size, caps);
    blocks_insert(&p->caps_live, &b);
    fill_pattern(&b);
}

static bool caps_frees(const pass_t *p)
{
    return frees(p->caps_strategy);
}

static void op_caps_free(pass_t *p, uint8_t sel)
{
    if (!p->caps_on || p->caps_live.n == 0u) {
        return;
    }
    size_t i = sel % p->caps_live.n;
    uint8_t *addr = p->caps_live.b[i].addr;
    rtm_caps_free(addr);
    if (caps_frees(p)) {
        blocks_remove(&p->caps_live, i);
        REQUIRE(p->caps_misuse.calls == 0u);
    } else {
        REQUIRE(p->caps_misuse.calls == 1u);
        REQUIRE(p->caps_misuse.kind == RTM_MISUSE_FREE_REFUSED);
        p->caps_misuse.calls = 0;
    }
}

static void op_caps_realloc(pass_t *p, reader_t *r)
{
    uint8_t sel = rd_u8(r), csel = rd_u8(r);
    size_t size = decode_size(rd_u16(r)) % 4096u;
    if (!p->caps_on || p->caps_live.n == 0u || p->caps_live.n >= MAX_BLOCKS) {
        return;
    }
    rtm_caps_t caps = caps_requests[csel % CAPS_REQUESTS];
    size_t i = sel % p->caps_live.n;
    block_t old = p->caps_live.b[i];
    void *ptr = rtm_caps_realloc(old.addr, size, caps);
    if (size == 0u) {
        REQUIRE(ptr == NULL);
        if (caps_frees(p)) {
            blocks_remove(&p->caps_live, i);
            REQUIRE(p->caps_misuse.calls == 0u);
        } else {
            REQUIRE(p->caps_misuse.calls == 1u);
            p->caps_misuse.calls = 0;
        }
        return;
    }
    REQUIRE(p->caps_misuse.calls == 0u);
    if (ptr == NULL) {
        p->caps_fail_expected++;
        return;
    }
    size_t keep = old.usable < size ? old.usable : size;
    REQUIRE(pattern_ok(ptr, old.id, keep));
    block_t nb = admit_caps_block(p, ptr, size, caps);
    nb.id = old.id;
    if (ptr == old.addr || caps_frees(p)) {
        blocks_remove(&p->caps_live, i);
    }
    blocks_insert(&p->caps_live, &nb);
    fill_pattern(&nb);
}

static void op_caps_bad(pass_t *p, reader_t *r)
{
    uint8_t sel = rd_u8(r), how = rd_u8(r);
    if (!p->caps_on) {
        return;
    }
    uint8_t *target;
    bool foreign = false;
    if (p->caps_live.n > 0u && (how & 1u) == 0u && p->caps_live.b[sel % p->caps_live.n].usable > 1u) {
        const block_t *b = &p->caps_live.b[sel % p->caps_live.n];
        target = b->addr + 1u + how % (b->usable - 1u);
    } else {
        target = g_outside + sel % sizeof g_outside;
        foreign = true;
    }
    rtm_caps_info_t before, after;
    REQUIRE(rtm_caps_get_info(0, &before));
    size_t hook = p->caps_fail_hook;
    if (how & 2u) {
        rtm_caps_free(target);
    } else {
        REQUIRE(rtm_caps_realloc(target, 32, RTM_CAP_DEFAULT) == NULL);
    }
    REQUIRE(p->caps_misuse.calls == 1u);
    REQUIRE(p->caps_misuse.addr == target);
    REQUIRE(p->caps_misuse.region_known == !foreign);
    REQUIRE(foreign ? p->caps_misuse.kind == RTM_MISUSE_FOREIGN_POINTER
                    : p->caps_misuse.kind == RTM_MISUSE_INVALID_POINTER);
    p->caps_misuse.calls = 0;
    /* In no region too: reported like a pointer outside a heap. */
    take_bad_pointer_report();
    REQUIRE(p->caps_fail_hook == hook);
    REQUIRE(rtm_caps_get_info(0, &after));
    REQUIRE(memcmp(&before, &after, sizeof before) == 0);
}

/* ---- setup and teardown ---------------------------------------------- */

typedef struct setup {
    uint16_t arena_sel;
    uint8_t offset_sel, flags;
    uint8_t pool_size, pool_count, pool_align;
    uint8_t caps_a, caps_b;
} setup_t;

static const size_t granularities[] = {0u, 4u, 8u, 16u, 32u, 64u, 8u, 0u};

static bool open_heap(pass_t *p, const setup_t *s)
{
    rtm_heap_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.strategy = rtm_strategy_by_id(p->strategy);
    cfg.alignment = granularities[s->flags & 7u];
    cfg.name = "fuzz";
    cfg.flags = (s->flags & 8u) ? 0u : RTM_HEAP_NO_LOCK;
    cfg.on_alloc_failed = on_heap_failed;
    cfg.on_misuse = on_heap_misuse;
    cfg.hook_ctx = p;
    cfg.system_budget = 64u * 1024u;

    size_t size;
    if (s->arena_sel & 0x8000u) {
        size = 65536u + (size_t)(s->arena_sel & 0x7fffu) * 4u;
    } else {
        size = s->arena_sel;
    }
    size_t min = rtm_heap_min_size(&cfg);
    if (size < min) {
        size = min;
    }
    if (size > ARENA_MAX) {
        size = ARENA_MAX;
    }
    /* RTM_SYSTEM's region is only its table of live blocks, which its walk
     * and check scan whole: a few hundred slots keep every step cheap. */
    if (p->strategy == RTM_SYSTEM && size > SYSTEM_REGION_MAX) {
        size = min > SYSTEM_REGION_MAX ? min : SYSTEM_REGION_MAX;
    }
    p->mem = g_arena + 8u * (s->offset_sel % (ARENA_OFFSET_MAX / 8u));
    p->mem_size = size;
    rtm_err_t err = rtm_heap_init_error(p->mem, size, &cfg);
    if (err == RTM_ERR_UNSUPPORTED && p->strategy == RTM_SYSTEM) {
        return false;
    }
    REQUIRE(err == RTM_OK);
    p->heap = rtm_heap_init(p->mem, size, &cfg);
    REQUIRE(p->heap != NULL);
    p->granularity = rtm_heap_alignment(p->heap);
    REQUIRE(is_pow2(p->granularity));
    rtm_heap_info_t info;
    REQUIRE(rtm_heap_info(p->heap, &info));
    REQUIRE(info.used_blocks == 0u && info.alloc_count == 0u && info.allocated_bytes == 0u);
    p->initial_free = info.free_bytes;
    p->initial_free_blocks = info.free_blocks;
    p->last_min_free = info.min_free_bytes;
    return true;
}

static void open_pool(pass_t *p, const setup_t *s)
{
    p->pool_on = (s->flags & 0x20u) != 0u;
    if (!p->pool_on) {
        return;
    }
    static const size_t aligns[] = {0u, 1u, 2u, 4u, 8u, 16u, 32u, 64u};
    rtm_pool_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.block_size = 1u + s->pool_size;
    cfg.count = 1u + s->pool_count % 64u;
    cfg.alignment = aligns[(s->pool_count >> 6) | ((s->pool_align & 1u) << 2)];
    cfg.name = "fuzz-pool";
    cfg.flags = RTM_POOL_NO_LOCK;
    cfg.on_alloc_failed = on_pool_failed;
    cfg.on_misuse = on_pool_misuse;
    cfg.hook_ctx = p;
    size_t need = rtm_pool_storage_size(cfg.block_size, cfg.count, cfg.alignment, 0);
    REQUIRE(need != 0u && need <= sizeof g_pool_storage);
    p->pool = rtm_pool_init(&p->pool_ctl, g_pool_storage, need + (s->pool_align >> 4), &cfg);
    REQUIRE(p->pool != NULL);
    p->pool_align = RTM_POOL_EFFECTIVE_ALIGN(cfg.alignment);
    p->pool_span = RTM_POOL_SPAN(cfg.block_size, cfg.alignment);
    p->pool_count = cfg.count;
    p->pool_block_size = cfg.block_size;
}

static void open_caps(pass_t *p, const setup_t *s)
{
    p->caps_on = (s->flags & 0x10u) != 0u;
    if (!p->caps_on) {
        return;
    }
    p->caps_strategy = p->strategy == RTM_SYSTEM ? RTM_TLSF : p->strategy;
    rtm_caps_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.flags = RTM_CAPS_NO_LOCK;
    cfg.cache_line = CACHE_LINE;
    cfg.on_alloc_failed = on_caps_failed;
    cfg.alloc_failed_ctx = p;
    cfg.on_misuse = on_caps_misuse;
    cfg.misuse_ctx = p;
    REQUIRE(rtm_caps_init(&p->caps_reg, p->caps_slots, 2, &cfg) == RTM_CAPS_OK);
    static const rtm_caps_region_config_t regions[2] = {
        {"fast", {RTM_CAP_DEFAULT | RTM_CAP_INTERNAL | RTM_CAP_8BIT | RTM_CAP_32BIT, RTM_CAP_DMA, 0},
         &rtm_strategy_tlsf, 0, RTM_HEAP_NO_LOCK, false},
        {"slow", {RTM_CAP_SPIRAM | RTM_CAP_8BIT | RTM_CAP_32BIT, RTM_CAP_DEFAULT, 0}, &rtm_strategy_tlsf, 0,
         RTM_HEAP_NO_LOCK, false},
    };
    const uint8_t sel[2] = {s->caps_a, s->caps_b};
    for (int r = 0; r < 2; r++) {
        rtm_caps_region_config_t rc = regions[r];
        rc.strategy = rtm_strategy_by_id(p->caps_strategy);
        size_t size = 1024u + (size_t)(sel[r] & 0x3fu) * 240u;
        uint8_t *mem = g_caps_mem[r] + (sel[r] >> 6); /* need not be aligned */
        REQUIRE(rtm_caps_add_region(mem, size, &rc, NULL) == RTM_CAPS_OK);
        p->caps_lo[r] = mem;
        p->caps_hi[r] = mem + size;
        p->caps_all[r] = rc.caps[0] | rc.caps[1] | rc.caps[2];
    }
}

/* Gives everything back and checks that the heap is whole again. */
static void close_pass(pass_t *p)
{
    g_teardown = true;
    if (frees(p->strategy)) {
        while (p->live.n > 0u) {
            rtm_free(p->heap, p->live.b[p->live.n - 1u].addr);
            model_free(p, p->live.n - 1u);
        }
        rtm_heap_info_t info;
        REQUIRE(rtm_heap_info(p->heap, &info));
        REQUIRE(info.used_blocks == 0u && info.allocated_bytes == 0u);
        /* Best fit never merges neighbours: its headers stay. */
        if (p->strategy != RTM_BEST_FIT) {
            REQUIRE(info.free_bytes == p->initial_free);
            REQUIRE(info.free_blocks == p->initial_free_blocks);
        }
        check_heap(p);
    }
    rtm_heap_deinit(p->heap);
    if (p->pool_on) {
        while (p->pool_live.n > 0u) {
            op_pool_free(p, 0);
        }
        check_pool(p);
        REQUIRE(rtm_pool_deinit(p->pool));
    }
    if (p->caps_on) {
        if (caps_frees(p)) {
            while (p->caps_live.n > 0u) {
                op_caps_free(p, 0);
            }
        }
        check_caps(p);
        rtm_caps_deinit();
    }
}

/* ---- driver ---------------------------------------------------------- */

static void run_op(pass_t *p, reader_t *r)
{
    uint8_t op = rd_u8(r);
    bool full = p->live.n >= MAX_BLOCKS;
    switch (op % 20u) {
    case 0:
    case 1:
    case 2:
        if (full) {
            op_free(p, op);
        } else {
            op_malloc(p, decode_size(rd_u16(r)));
        }
        break;
    case 3:
        if (full) {
            op_free(p, op);
        } else {
            op_calloc(p, r);
        }
        break;
    case 4:
        if (full) {
            op_free(p, op);
        } else {
            op_aligned(p, r);
        }
        break;
    case 5:
    case 6: op_realloc(p, r); break;
    case 7:
    case 8:
    case 9: op_free(p, rd_u8(r)); break;
    case 10: op_bad_heap(p, r); break;
    case 11: op_pool_alloc(p); break;
    case 12: op_pool_free(p, rd_u8(r)); break;
    case 13: op_pool_bad(p, r); break;
    case 14: op_caps_alloc(p, r); break;
    case 15: op_caps_free(p, rd_u8(r)); break;
    case 16: op_caps_realloc(p, r); break;
    case 17: op_caps_bad(p, r); break;
    case 18: op_probe_largest(p); break;
    default:
        if (!full) {
            op_malloc(p, rd_u8(r) % 48u);
        }
        break;
    }
}

static void run_pass(rtm_strategy_id_t strategy, const setup_t *s, const uint8_t *ops, size_t len)
{
    pass_t *p = &g_pass;
    memset(p, 0, sizeof *p);
    p->strategy = strategy;
    g_phase = rtm_strategy_name(strategy);
    g_teardown = false;
    g_step = 0;
    if (!open_heap(p, s)) {
        return;
    }
    open_pool(p, s);
    open_caps(p, s);
    reader_t r = {ops, len, 0};
    for (g_step = 1; g_step <= MAX_OPS && r.pos < r.size; g_step++) {
        run_op(p, &r);
        REQUIRE(g_corruptions == 0u);
        check_heap(p);
        check_pool(p);
        check_caps(p);
    }
    close_pass(p);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    fuzz_context = print_context;
    if (g_ramp[0] == 0u) {
        for (size_t i = 0; i < sizeof g_ramp; i++) {
            g_ramp[i] = (uint8_t)(0x80u | (i & 0x7fu));
        }
        rtm_output_set(discard_output, NULL);
        rtm_debug_set_corruption_hook(on_corruption, NULL);
    }
    reader_t r = {data, size, 0};
    setup_t s;
    s.arena_sel = rd_u16(&r);
    s.offset_sel = rd_u8(&r);
    s.flags = rd_u8(&r);
    s.pool_size = rd_u8(&r);
    s.pool_count = rd_u8(&r);
    s.pool_align = rd_u8(&r);
    s.caps_a = rd_u8(&r);
    s.caps_b = rd_u8(&r);
    const uint8_t *ops = data + r.pos;
    size_t len = size - r.pos;
    for (int st = 0; st < (int)RTM_STRATEGY_COUNT; st++) {
        run_pass((rtm_strategy_id_t)st, &s, ops, len);
    }
    return 0;
}
