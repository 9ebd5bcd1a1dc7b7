/*
 * A heap whose blocks were damaged by the application: a write after free
 * into a free block's list link, a link made to point back into its own
 * list (a cycle), stray bytes anywhere among the blocks. heap.h promises
 * that the calls which only read a heap, rtm_heap_info,
 * rtm_heap_largest_free, rtm_heap_walk, rtm_heap_check and
 * rtm_heap_check_step, return on such a heap, read nothing outside its
 * region and write nothing in it, and that rtm_heap_check finds damaged
 * links. A monitor calls the first two on every tick; a heap damaged by
 * one bad write must not take the monitor down with it.
 *
 * Every region here is its own heap buffer of exactly its size, so that
 * under AddressSanitizer (scripts/test.sh's san configuration) a read past
 * either end is an error, and a wild read far away faults everywhere.
 * Runs at every poisoning level (_L0, _L1, _L2); at levels 1 and 2 the
 * check's corruption reports go to a counting hook and the program goes
 * on.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/debug.h"
#include "rtmem/heap.h"
#include "support/test_support.h"

static const rtm_strategy_t *const k_strategies[] = {
    &rtm_strategy_tlsf, &rtm_strategy_first_fit, &rtm_strategy_best_fit, &rtm_strategy_bump};
static const char *const k_names[] = {"tlsf", "first_fit", "best_fit", "bump"};

static unsigned g_misuse_calls;
static rtm_misuse_t g_last_misuse;

static void count_misuse(rtm_heap_t *heap, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)heap;
    (void)address;
    (void)ctx;
    g_misuse_calls++;
    g_last_misuse = kind;
}

static unsigned g_corruption_reports;
static rtm_corruption_t g_last_report;

static void count_corruption(const rtm_corruption_t *report, void *ctx)
{
    (void)ctx;
    g_corruption_reports++;
    g_last_report = *report;
}

static bool count_block(const rtm_block_info_t *block, void *ctx)
{
    (void)block;
    (*(size_t *)ctx)++;
    return true;
}

static uint64_t g_rng;

/* splitmix64: the same damage for a seed on every build. */
static uint64_t next_random(void)
{
    uint64_t z = (g_rng += 0x9e3779b97f4a7c15u);
    z = (z ^ (z >> 30)) * 0xbf58476d1ce4e5b9u;
    z = (z ^ (z >> 27)) * 0x94d049bb133111ebu;
    return z ^ (z >> 31);
}

/* size: a multiple of 16. */
static uint8_t *region_new(size_t size)
{
    uint8_t *mem = aligned_alloc(16, size);
    assert_non_null(mem);
    return mem;
}

static rtm_heap_t *heap_in(uint8_t *mem, size_t size, size_t strategy)
{
    rtm_heap_config_t cfg = {.strategy = k_strategies[strategy],
                             .name = k_names[strategy],
                             .flags = RTM_HEAP_NO_LOCK,
                             .on_misuse = count_misuse};
    rtm_heap_t *heap = rtm_heap_init(mem, size, &cfg);
    assert_non_null(heap);
    return heap;
}

/* Every call that only reads the heap, with the damage in place. Returns
 * whether rtm_heap_check passed. The check steps stop at the first failed
 * or finished pass; a pass takes at most one step per block, and a heap
 * of size bytes has fewer than size / 8 blocks. */
static bool read_everything(rtm_heap_t *heap, size_t size)
{
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(heap, &info));
    assert_true(info.largest_free_block <= info.total_bytes);
    assert_true(rtm_heap_largest_free(heap) <= info.total_bytes);
    size_t blocks = 0;
    (void)rtm_heap_walk(heap, count_block, &blocks);
    assert_true(blocks <= size / 8u);
    rtm_check_report_t report = {0};
    g_corruption_reports = 0;
    bool ok = rtm_heap_check(heap, &report);
    if (!ok) {
        assert_non_null(report.problem);
    }
    assert_int_equal(g_corruption_reports, !ok && RTM_POISON_LEVEL >= 1 ? 1 : 0);
    size_t steps = 0;
    rtm_check_status_t st;
    do {
        st = rtm_heap_check_step(heap, 1, &report);
        steps++;
    } while (st == RTM_CHECK_IN_PROGRESS && steps <= size / 8u + 1u);
    assert_true(st != RTM_CHECK_IN_PROGRESS);
    return ok;
}

/* ------------------------------------------------------------------ */

enum { SLOTS = 12, SLOT_BYTES = 64 };

/* Where the strategy's block starts, before the pointer the caller got: the
 * poison head at levels 1 and 2 (docs/debugging.md, 8 bytes at the default
 * granularity). A free block's first link is the first word there. */
#define RAW_HEAD (RTM_POISON_LEVEL >= 1 ? 8u : 0u)

static uint8_t *raw_of(void *p)
{
    return (uint8_t *)p - RAW_HEAD;
}

typedef struct listed {
    uint8_t *mem;
    rtm_heap_t *heap;
    void *p[SLOTS];
    /* A link holds a block's offset from a base the API does not show:
     * the value that names the block whose raw payload is r is
     * r + link_bias. */
    uintptr_t link_bias;
} listed_t;

/* Twelve 64-byte blocks in a row, the odd ones freed: four free blocks of
 * one size, none adjacent to another, so each strategy's list links them
 * in its order (TLSF and best fit last freed first, first fit by
 * address). Their first payload words hold the list's next links. */
static void make_listed(listed_t *l, size_t strategy)
{
    const size_t size = 16u * 1024u;
    l->mem = region_new(size);
    l->heap = heap_in(l->mem, size, strategy);
    for (size_t i = 0; i < SLOTS; i++) {
        l->p[i] = rtm_malloc(l->heap, SLOT_BYTES);
        assert_non_null(l->p[i]);
    }
    for (size_t i = 1; i < SLOTS - 2u; i += 2u) {
        rtm_free(l->heap, l->p[i]);
    }
    assert_true(rtm_heap_check(l->heap, NULL));
    /* First fit lists by address, so slot 1 links to slot 3; TLSF and best
     * fit put the last freed of a size first, so slot 9 links to slot 7.
     * That pair gives the bias; every other link of the row must agree. */
    bool by_address = strategy == 1u;
    size_t from = by_address ? 1u : 9u;
    size_t to = by_address ? 3u : 7u;
    l->link_bias = (uintptr_t)ts_rd32(raw_of(l->p[from])) - (uintptr_t)raw_of(l->p[to]);
    for (size_t j = 3; j <= 7u; j += 2u) {
        size_t named = by_address ? j + 2u : j - 2u;
        assert_int_equal(ts_rd32(raw_of(l->p[j])),
                         (uint32_t)((uintptr_t)raw_of(l->p[named]) + l->link_bias));
    }
    assert_true(l->link_bias != 0);
}

static uint32_t link_to(const listed_t *l, size_t slot)
{
    return (uint32_t)((uintptr_t)raw_of(l->p[slot]) + l->link_bias);
}

/* A write after free into the next link of a listed block: values outside
 * the heap, misaligned, a used block, and the block itself (a cycle). The
 * read calls return and stay in the region; the check fails; with the word
 * put back the heap checks clean, so nothing else was written. */
static void test_damaged_link(void **state)
{
    (void)state;
    for (size_t s = 0; s < 3u; s++) {
        listed_t l;
        make_listed(&l, s);
        uint8_t *victim = raw_of(l.p[5]);
        const uint32_t good = ts_rd32(victim);
        const uint32_t values[] = {0xfffffff0u, 0x7ffffff8u, 0x80000000u, link_to(&l, 5) + 2u,
                                   link_to(&l, 4), link_to(&l, 5), link_to(&l, 1) + 8u};
        for (size_t v = 0; v < sizeof values / sizeof values[0]; v++) {
            print_message("%s: next link of a free block := 0x%08x\n", k_names[s], values[v]);
            ts_wr32(victim, values[v]);
            g_misuse_calls = 0;
            assert_false(read_everything(l.heap, 16u * 1024u));
            assert_int_equal(g_misuse_calls, 0);
            ts_wr32(victim, good);
            assert_true(rtm_heap_check(l.heap, NULL));
        }
        free(l.mem);
    }
}

/* A cycle of listed blocks: the lowest freed block's link made to lead
 * back to a block before it in its list, so the list never ends. */
static void test_cyclic_list(void **state)
{
    (void)state;
    for (size_t s = 0; s < 3u; s++) {
        listed_t l;
        make_listed(&l, s);
        for (size_t j = 1; j < SLOTS - 2u; j += 2u) {
            for (size_t k = 1; k < SLOTS - 2u; k += 2u) {
                uint8_t *link = raw_of(l.p[j]);
                const uint32_t good = ts_rd32(link);
                ts_wr32(link, link_to(&l, k));
                if (ts_rd32(link) != good) {
                    assert_false(read_everything(l.heap, 16u * 1024u));
                }
                ts_wr32(link, good);
                assert_true(rtm_heap_check(l.heap, NULL));
            }
        }
        free(l.mem);
    }
}

/* A randomly damaged heap (damaged_heap): its region, its live blocks and
 * the stretch [from, from + span) where bytes may have been changed. */
typedef struct damaged {
    uint8_t *mem;
    size_t size;
    rtm_heap_t *heap;
    void *live[48];
    uint8_t *from;
    size_t span;
} damaged_t;

/* A heap of strategy s in a region of its own (d's mem, size, heap and
 * live), after 160 random allocations and frees (bump only allocates),
 * not damaged yet. Returns its lowest live block, NULL if none. The
 * random stream goes on from g_rng. */
static uint8_t *busy_heap(damaged_t *d, size_t s, uint64_t seed)
{
    g_rng = seed;
    d->size = 4096u + (size_t)(next_random() % 512u) * 16u;
    d->mem = region_new(d->size);
    d->heap = heap_in(d->mem, d->size, s);
    memset(d->live, 0, sizeof d->live);
    for (int op = 0; op < 160; op++) {
        size_t k = (size_t)(next_random() % 48u);
        if (d->live[k] != NULL && s != 3u) {
            rtm_free(d->heap, d->live[k]);
            d->live[k] = NULL;
        } else if (d->live[k] == NULL) {
            d->live[k] = rtm_malloc(d->heap, 1u + (size_t)(next_random() % 300u));
        }
    }
    uint8_t *lowest = NULL;
    for (size_t k = 0; k < 48u; k++) {
        if (d->live[k] != NULL && (lowest == NULL || (uint8_t *)d->live[k] < lowest)) {
            lowest = d->live[k];
        }
    }
    return lowest;
}

/* A busy_heap with one to four bytes set to random, 0x00 or 0xff values
 * anywhere from its lowest live block's header to the end of the region.
 * False (and nothing damaged) when no block was live. */
static bool damaged_heap(damaged_t *d, size_t s, uint64_t seed)
{
    uint8_t *lowest = busy_heap(d, s, seed);
    if (lowest == NULL) {
        return false;
    }
    d->from = raw_of(lowest) - 4;
    d->span = (size_t)(d->mem + d->size - d->from);
    int bytes = 1 + (int)(next_random() % 4u);
    for (int b = 0; b < bytes; b++) {
        size_t at = (size_t)(next_random() % d->span);
        unsigned kind = (unsigned)(next_random() % 3u);
        d->from[at] = kind == 0 ? (uint8_t)next_random() : kind == 1 ? 0x00 : 0xff;
    }
    return true;
}

/* Random damage (damaged_heap) on 400 heaps of every strategy: the read
 * calls must return and change no byte of the blocks. */
static void test_random_damage(void **state)
{
    (void)state;
    for (size_t s = 0; s < 4u; s++) {
        unsigned failed = 0;
        for (uint64_t seed = 1; seed <= 400u; seed++) {
            damaged_t d;
            if (damaged_heap(&d, s, seed * 7919u + s)) {
                uint8_t *copy = malloc(d.span);
                assert_non_null(copy);
                memcpy(copy, d.from, d.span);
                if (!read_everything(d.heap, d.size)) {
                    failed++;
                }
                assert_memory_equal(copy, d.from, d.span);
                free(copy);
            }
            free(d.mem);
        }
        print_message("%s: 400 damaged heaps, the check failed on %u\n", k_names[s], failed);
        assert_true(failed > 0);
    }
}

/* Random damage (damaged_heap), then 300 random allocations,
 * reallocations and frees on the damaged heap: at levels >= 1 TLSF, first
 * fit and best fit read and write nothing outside the region
 * (AddressSanitizer) and every call returns; at level 0, which trusts the
 * links, best fit alone, whose walks stay inside the arena and bounded. */
static void test_operations_on_damage(void **state)
{
    (void)state;
    for (size_t s = RTM_POISON_LEVEL >= 1 ? 0u : 2u; s < 3u; s++) {
        for (uint64_t seed = 1; seed <= 300u; seed++) {
            damaged_t d;
            if (damaged_heap(&d, s, seed * 104729u + s)) {
                for (int op = 0; op < 300; op++) {
                    size_t k = (size_t)(next_random() % 48u);
                    if (d.live[k] != NULL && (next_random() & 1u) != 0) {
                        rtm_free(d.heap, d.live[k]);
                        d.live[k] = NULL;
                    } else if (d.live[k] != NULL) {
                        void *q = rtm_realloc(d.heap, d.live[k], 1u + (size_t)(next_random() % 400u));
                        d.live[k] = q != NULL ? q : d.live[k];
                    } else {
                        d.live[k] = rtm_malloc(d.heap, 1u + (size_t)(next_random() % 300u));
                    }
                }
                (void)read_everything(d.heap, d.size);
            }
            free(d.mem);
        }
    }
}


/* An underrun of the first block past its header: the block-start map ends
 * just before the first header (docs/debugging.md, "Damaged heaps"), so a
 * write 1 to 32 bytes below the header lands in the map or in the padding
 * before the header. Each byte flipped in turn, on every strategy: the read
 * calls and 40 allocations and frees stay inside the region (the region is
 * an exact heap buffer: AddressSanitizer), and the check finds the damage
 * for most of the bytes (28 to 32 of them here: the map's last words hold
 * the bits of the heap's top, mostly clear, so a flipped byte sets bits
 * where no header is). */
static void test_first_block_underrun(void **state)
{
    (void)state;
    const size_t size = 8192u;
    for (size_t s = 0; s < 4u; s++) {
        unsigned found = 0;
        for (size_t k = 1; k <= 32u; k++) {
            uint8_t *mem = region_new(size);
            rtm_heap_t *heap = heap_in(mem, size, s);
            void *first = rtm_malloc(heap, 40);
            assert_non_null(first);
            /* Below the first block's 4-byte header. */
            uint8_t *victim = raw_of(first) - 4u - k;
            *victim = (uint8_t)(*victim ^ 0xffu);
            if (!read_everything(heap, size)) {
                found++;
            }
            void *live[8] = {0};
            g_rng = k * 31u + s;
            for (int op = 0; op < 40; op++) {
                size_t i = (size_t)(next_random() % 8u);
                if (live[i] != NULL && s != 3u) {
                    rtm_free(heap, live[i]);
                    live[i] = NULL;
                } else if (live[i] == NULL) {
                    live[i] = rtm_malloc(heap, 1u + (size_t)(next_random() % 200u));
                }
            }
            free(mem);
        }
        print_message("%s: %u of 32 bytes below the first header found by the check\n",
                      k_names[s], found);
        assert_true(found >= 24u);
    }
}

#if RTM_POISON_LEVEL >= 1
/* Which listed blocks the first two allocations of SLOT_BYTES take, per
 * strategy: TLSF and best fit take the last freed first (9, 7, then 5),
 * first fit the lowest (1, 3, then 5). */
static const size_t k_taken_first[3][2] = {{9, 7}, {1, 3}, {9, 7}};

enum { MAX_BLOCKS = 1024 };

typedef struct blocks {
    uint8_t *raw[MAX_BLOCKS];
    bool used[MAX_BLOCKS];
    size_t n;
} blocks_t;

static bool note_block(const rtm_block_info_t *b, void *ctx)
{
    blocks_t *bl = ctx;
    assert_true(bl->n < MAX_BLOCKS);
    bl->raw[bl->n] = b->used ? raw_of(b->ptr) : (uint8_t *)b->ptr;
    bl->used[bl->n] = b->used;
    bl->n++;
    return true;
}

/* Whether a free block of the heap has its raw payload at r. */
static bool free_block_at(rtm_heap_t *heap, const uint8_t *r)
{
    blocks_t bl = {.n = 0};
    assert_true(rtm_heap_walk(heap, note_block, &bl));
    for (size_t i = 0; i < bl.n; i++) {
        if (bl.raw[i] == r) {
            return !bl.used[i];
        }
    }
    return false;
}

/* At levels >= 1 a damaged link is found before anything follows it
 * (RTM_CHECK_LINKS): a write after free into the next link of a freed
 * block, on TLSF, first fit and best fit. The allocation that reaches it
 * fails with one RTM_CORRUPT_FREE_LIST report naming the link; a free,
 * realloc or usable_size of a used block whose free would follow the link
 * is refused with a report and has no effect; and with the link put back
 * the heap is whole again. */
static void test_damage_found_by_allocation(void **state)
{
    (void)state;
    for (size_t s = 0; s < 3u; s++) {
        print_message("%s\n", k_names[s]);
        listed_t l;
        make_listed(&l, s);
        /* Larger than the listed blocks: best fit's free of it walks past
         * them to its place in the size-sorted list. */
        void *large = rtm_malloc(l.heap, 3u * SLOT_BYTES);
        assert_non_null(large);
        uint8_t *victim = raw_of(l.p[5]);
        const uint32_t good = ts_rd32(victim);
        ts_wr32(victim, 0xfffffff0u);
        g_corruption_reports = 0;
        g_misuse_calls = 0;
        assert_ptr_equal(rtm_malloc(l.heap, SLOT_BYTES), l.p[k_taken_first[s][0]]);
        assert_ptr_equal(rtm_malloc(l.heap, SLOT_BYTES), l.p[k_taken_first[s][1]]);
        assert_int_equal(g_corruption_reports, 0);
        rtm_heap_info_t before;
        assert_true(rtm_heap_info(l.heap, &before));
        assert_null(rtm_malloc(l.heap, SLOT_BYTES));
        assert_int_equal(g_corruption_reports, 1);
        assert_int_equal(g_last_report.kind, RTM_CORRUPT_FREE_LIST);
        assert_int_equal(g_last_report.op, RTM_OP_ALLOC);
        assert_ptr_equal(g_last_report.address, victim);
        assert_int_equal(g_last_report.found, 0xfffffff0u);
        assert_int_equal(g_misuse_calls, 0);
        rtm_heap_info_t after;
        assert_true(rtm_heap_info(l.heap, &after));
        assert_int_equal(after.free_bytes, before.free_bytes);
        assert_int_equal(after.failed_count, before.failed_count + 1u);

        /* TLSF and first fit: slot 4 ends where the damaged block starts,
         * so its free would merge with it. Best fit never merges; its
         * free of the large block walks through the damaged link. */
        void *follower = s == 2u ? large : l.p[4];
        g_corruption_reports = 0;
        rtm_free(l.heap, follower);
        assert_int_equal(g_misuse_calls, 1);
        assert_int_equal(g_corruption_reports, 1);
        assert_null(rtm_realloc(l.heap, follower, 2u * SLOT_BYTES));
        assert_int_equal(g_misuse_calls, 2);
        assert_int_equal(rtm_usable_size(l.heap, follower), 0);
        assert_int_equal(g_misuse_calls, 3);
        assert_int_equal(g_corruption_reports, 3);
        assert_true(rtm_heap_info(l.heap, &after));
        assert_int_equal(after.free_bytes, before.free_bytes);
        assert_int_equal(after.used_blocks, before.used_blocks);

        if (s == 2u) {
            /* A free whose walk stops before the damaged block (slot 4's
             * span is the damaged block's own: it goes in ahead of it)
             * follows no damaged link and is not refused. */
            rtm_free(l.heap, l.p[4]);
            assert_ptr_equal(rtm_malloc(l.heap, SLOT_BYTES), l.p[4]);
            assert_int_equal(g_misuse_calls, 3);
            assert_int_equal(g_corruption_reports, 3);
        }

        ts_wr32(victim, good);
        assert_true(rtm_heap_check(l.heap, NULL));
        assert_ptr_equal(rtm_malloc(l.heap, SLOT_BYTES), l.p[5]);
        rtm_free(l.heap, follower);
        assert_true(rtm_heap_check(l.heap, NULL));
        free(l.mem);
    }
}

/* A listed heap's link to the block whose raw payload is at r. */
static uint32_t link_at(const listed_t *l, const void *r)
{
    return (uint32_t)((uintptr_t)r + l->link_bias);
}

/* The damage each link check is there for, written over the next link of
 * free block 5 with the tag bits the link had (best fit tags its links):
 * outside the heap, misaligned, a used block's header and its inside, the
 * block itself, the inside of a free block, a used block's data where the
 * application wrote what reads as a free block's header (only the
 * block-start map tells it from one), and 4 bytes into a used block, where
 * the poison size word of a 257-byte request reads as a free header of
 * span 256 (only the alignment tells). The third allocation of SLOT_BYTES
 * reaches block 5 and fails with one report naming the link and what it
 * holds, on TLSF, first fit and best fit. Best fit also counts its list
 * and keeps it sorted by span: it reports a link overwritten with the
 * list's end while blocks are still to come, a link that lost its tag
 * bits, and a link to a smaller free block. */
enum { BAD_LINK_CASES = 12, BEST_FIT_ONLY_FROM = 9 };

static void test_bad_links_found_by_allocation(void **state)
{
    (void)state;
    for (size_t s = 0; s < 3u; s++) {
        for (size_t v = 0; v < BAD_LINK_CASES; v++) {
            if ((v >= BEST_FIT_ONLY_FROM && s != 2u) || (v == 7u && !RTM_EXACT_POINTERS)) {
                continue;
            }
            listed_t l;
            make_listed(&l, s);
            uint8_t *victim = raw_of(l.p[5]);
            const uint32_t good = ts_rd32(victim);
            uint32_t bad = 0;
            switch (v) {
            case 0:
                bad = 0xfffffff0u;
                break;
            case 1:
                bad = 0x80000000u;
                break;
            case 2:
                bad = link_to(&l, 5) + 4u;
                break;
            case 3:
                bad = link_to(&l, 4);
                break;
            case 4:
                bad = link_to(&l, 4) + 8u;
                break;
            case 5:
                bad = link_to(&l, 5);
                break;
            case 6:
                bad = link_to(&l, 1) + 8u;
                break;
            case 7:
                /* A header lies 4 bytes before its raw block, and the
                 * raw block 8 (the poison head) before the data: slot 4's
                 * data 4 bytes in is 16 past its header, where a header
                 * of the next granules could lie. */
                ts_wr32((uint8_t *)l.p[4] + 4, ts_rd32(victim - 4));
                bad = link_to(&l, 4) + 16u;
                break;
            case 8: {
                void *odd = rtm_malloc(l.heap, 0x101u);
                assert_non_null(odd);
                assert_int_equal(ts_rd32(raw_of(odd)), 0x101u);
                bad = link_at(&l, raw_of(odd)) + 4u;
                break;
            }
            case 9:
                bad = 0u;
                break;
            case 10:
                bad = good & ~3u;
                break;
            default: {
                /* Slot 10 shrunk: its tail is a free block smaller than
                 * the listed ones, at the head of best fit's list. */
                assert_ptr_equal(rtm_realloc(l.heap, l.p[10], 16u), l.p[10]);
                assert_true(free_block_at(l.heap, raw_of(l.p[10]) + 32u));
                bad = link_at(&l, raw_of(l.p[10]) + 32u);
                break;
            }
            }
            if (v != 10u) {
                bad |= good & 3u;
            }
            print_message("%s: next link of free block 5 := 0x%08x\n", k_names[s], bad);
            assert_true(rtm_heap_check(l.heap, NULL));
            ts_wr32(victim, bad);
            g_corruption_reports = 0;
            g_misuse_calls = 0;
            assert_ptr_equal(rtm_malloc(l.heap, SLOT_BYTES), l.p[k_taken_first[s][0]]);
            assert_ptr_equal(rtm_malloc(l.heap, SLOT_BYTES), l.p[k_taken_first[s][1]]);
            assert_int_equal(g_corruption_reports, 0);
            assert_null(rtm_malloc(l.heap, SLOT_BYTES));
            assert_int_equal(g_corruption_reports, 1);
            assert_int_equal(g_last_report.kind, RTM_CORRUPT_FREE_LIST);
            assert_int_equal(g_last_report.op, RTM_OP_ALLOC);
            assert_ptr_equal(g_last_report.address, victim);
            assert_int_equal(g_last_report.found, bad);
            assert_int_equal(g_misuse_calls, 0);
            ts_wr32(victim, good);
            assert_true(rtm_heap_check(l.heap, NULL));
            assert_ptr_equal(rtm_malloc(l.heap, SLOT_BYTES), l.p[5]);
            free(l.mem);
        }
    }
}

/* An overrun into the header of a listed free block (made to read as a
 * used block, or all ones): the block is reached through a link, and the
 * allocation whose walk or take follows that link fails with one report
 * naming the link, which still holds the block's offset. For the first
 * block of the list, which the head leads to, the report names the
 * damaged block's own link, as for a damaged link there. On TLSF, first
 * fit and best fit. */
static void test_damaged_header_found_by_allocation(void **state)
{
    (void)state;
    for (size_t s = 0; s < 3u; s++) {
        for (size_t at = 0; at < 2u; at++) {
            for (size_t v = 0; v < 2u; v++) {
                listed_t l;
                make_listed(&l, s);
                /* The head's block, or block 5, which the list's second
                 * block links to. */
                size_t hit = at == 0 ? k_taken_first[s][0] : 5u;
                uint8_t *header = raw_of(l.p[hit]) - 4;
                const uint32_t good = ts_rd32(header);
                const uint32_t bad = v == 0 ? good & ~1u : 0xffffffffu;
                print_message("%s: header of free block %zu := 0x%08x\n", k_names[s], hit, bad);
                ts_wr32(header, bad);
                size_t holder = at == 0 ? hit : k_taken_first[s][1];
                g_corruption_reports = 0;
                g_misuse_calls = 0;
                if (at == 1) {
                    assert_ptr_equal(rtm_malloc(l.heap, SLOT_BYTES), l.p[k_taken_first[s][0]]);
                    assert_int_equal(g_corruption_reports, 0);
                }
                assert_null(rtm_malloc(l.heap, SLOT_BYTES));
                assert_int_equal(g_corruption_reports, 1);
                assert_int_equal(g_last_report.kind, RTM_CORRUPT_FREE_LIST);
                assert_ptr_equal(g_last_report.address, raw_of(l.p[holder]));
                assert_int_equal(g_last_report.found, ts_rd32(raw_of(l.p[holder])));
                assert_int_equal(g_misuse_calls, 0);
                ts_wr32(header, good);
                assert_true(rtm_heap_check(l.heap, NULL));
                free(l.mem);
            }
        }
    }
}

/* A cycle: free block 5's link pointed back at the first block of its
 * list, and an allocation larger than the listed blocks, which walks past
 * all of them, on first fit and best fit (TLSF's allocation takes the head
 * of a larger class and never walks this list). It fails with one report.
 * First fit's list rises, so the report names block 5's link; best fit's
 * blocks of one span may come in any order, so it finds the cycle by
 * counting, and names a link on the cycle. */
static void test_cycle_found_by_allocation(void **state)
{
    (void)state;
    for (size_t s = 1; s < 3u; s++) {
        print_message("%s\n", k_names[s]);
        listed_t l;
        make_listed(&l, s);
        uint8_t *victim = raw_of(l.p[5]);
        const uint32_t good = ts_rd32(victim);
        const size_t head = k_taken_first[s][0];
        ts_wr32(victim, link_to(&l, head));
        g_corruption_reports = 0;
        g_misuse_calls = 0;
        assert_null(rtm_malloc(l.heap, 2u * SLOT_BYTES));
        assert_int_equal(g_corruption_reports, 1);
        assert_int_equal(g_last_report.kind, RTM_CORRUPT_FREE_LIST);
        assert_int_equal(g_last_report.op, RTM_OP_ALLOC);
        assert_int_equal(g_misuse_calls, 0);
        if (s == 1u) {
            assert_ptr_equal(g_last_report.address, victim);
        } else {
            /* The cycle: head, the block after it, block 5. */
            const uint8_t *at = g_last_report.address;
            assert_true(at == raw_of(l.p[head]) || at == raw_of(l.p[k_taken_first[s][1]]) ||
                        at == victim);
        }
        ts_wr32(victim, good);
        assert_true(rtm_heap_check(l.heap, NULL));
        assert_non_null(rtm_malloc(l.heap, 2u * SLOT_BYTES));
        assert_true(rtm_heap_check(l.heap, NULL));
        free(l.mem);
    }
}


/* Links are arena offsets, and the arena lies a fixed distance into the
 * heap's region: the link that names the block whose raw payload is r, in
 * a heap of strategy s whose region is mem, is r - mem plus this constant
 * (tag bits included), which a listed heap gives away. */
static uint32_t link_constant(size_t s)
{
    listed_t l;
    make_listed(&l, s);
    uint32_t c = (uint32_t)(l.link_bias + (uintptr_t)l.mem);
    free(l.mem);
    return c;
}

static uint8_t fill_of(size_t slot)
{
    return (uint8_t)(0x40u + slot);
}

/* Whether the n bytes at p still hold slot's fill. */
static bool holds_fill(const void *p, size_t n, size_t slot)
{
    const uint8_t *b = p;
    for (size_t i = 0; i < n; i++) {
        if (b[i] != fill_of(slot)) {
            print_message("slot %zu: byte %zu of %zu is 0x%02x\n", slot, i, n, b[i]);
            return false;
        }
    }
    return true;
}

/* Whether slot's block of n bytes at p shares no byte with another live
 * block. */
static bool apart(const damaged_t *d, const size_t *sizes, size_t slot, const void *p, size_t n)
{
    uintptr_t lo = (uintptr_t)p;
    for (size_t j = 0; j < 48u; j++) {
        uintptr_t o = (uintptr_t)d->live[j];
        if (j != slot && d->live[j] != NULL && lo < o + sizes[j] && o < lo + n) {
            print_message("slot %zu's new block overlaps slot %zu's\n", slot, j);
            return false;
        }
    }
    return true;
}

/* One or two free blocks of a busy heap with their first link (the one
 * RTM_CHECK_LINKS guards) set to a random value, the list's end, or a
 * link to a block of the heap (used or free, the block itself included),
 * four to twelve bytes past one, or another free block's link. */
static void damage_links(damaged_t *d, uint32_t link_c)
{
    blocks_t bl = {.n = 0};
    (void)rtm_heap_walk(d->heap, note_block, &bl);
    size_t free_at[MAX_BLOCKS];
    size_t nfree = 0;
    for (size_t i = 0; i < bl.n; i++) {
        if (!bl.used[i]) {
            free_at[nfree++] = i;
        }
    }
    /* link_c names every free block's intact first link's target, which
     * is a free block itself. */
    for (size_t f = 0; f < nfree; f++) {
        uint32_t v = ts_rd32(bl.raw[free_at[f]]);
        if ((v & ~3u) != 0) {
            uint8_t *named = d->mem + (uint32_t)(v - link_c);
            bool found = false;
            for (size_t g = 0; g < nfree && !found; g++) {
                found = bl.raw[free_at[g]] == named;
            }
            assert_true(found);
        }
    }
    if (nfree == 0) {
        return;
    }
    int count = 1 + (int)(next_random() % 2u);
    for (int c = 0; c < count; c++) {
        uint8_t *victim = bl.raw[free_at[next_random() % nfree]];
        uint32_t tag = ts_rd32(victim) & 3u;
        uint8_t *target = bl.raw[next_random() % bl.n];
        uint32_t link = (uint32_t)((uintptr_t)target - (uintptr_t)d->mem) + link_c;
        uint32_t value;
        switch (next_random() % 5u) {
        case 0:
            value = (uint32_t)next_random();
            break;
        case 1:
            value = tag;
            break;
        case 2:
            value = link;
            break;
        case 3:
            value = (link + 4u * (uint32_t)(1u + next_random() % 3u)) | tag;
            break;
        default:
            value = ts_rd32(bl.raw[free_at[next_random() % nfree]]);
            break;
        }
        ts_wr32(victim, value);
    }
}

/* Damage to free-list links only (damage_links) on 200 busy heaps per
 * strategy, then 300 random allocations, reallocations and frees with
 * every live block filled with its own byte: at levels >= 1 no call hands
 * out a block that shares a byte with a live one, and no call changes a
 * live block's bytes (a free or realloc refused leaves its block live),
 * on TLSF, first fit and best fit (level 0 trusts the links). And the
 * damage is found: some calls report it. */
static void test_link_damage_spares_live_blocks(void **state)
{
    (void)state;
    for (size_t s = 0; s < 3u; s++) {
        const uint32_t link_c = link_constant(s);
        unsigned reports = 0;
        for (uint64_t seed = 1; seed <= 200u; seed++) {
            damaged_t d;
            size_t sizes[48] = {0};
            if (busy_heap(&d, s, seed * 15485863u + s) != NULL) {
                for (size_t k = 0; k < 48u; k++) {
                    if (d.live[k] != NULL) {
                        sizes[k] = rtm_usable_size(d.heap, d.live[k]);
                        memset(d.live[k], fill_of(k), sizes[k]);
                    }
                }
                damage_links(&d, link_c);
                g_corruption_reports = 0;
                for (int op = 0; op < 300; op++) {
                    size_t k = (size_t)(next_random() % 48u);
                    size_t n;
                    if (d.live[k] != NULL && (next_random() & 1u) != 0) {
                        unsigned misuse = g_misuse_calls;
                        rtm_free(d.heap, d.live[k]);
                        d.live[k] = g_misuse_calls == misuse ? NULL : d.live[k];
                    } else if (d.live[k] != NULL) {
                        n = 1u + (size_t)(next_random() % 400u);
                        uint8_t *q = rtm_realloc(d.heap, d.live[k], n);
                        if (q != NULL) {
                            assert_true(holds_fill(q, n < sizes[k] ? n : sizes[k], k));
                            assert_true(apart(&d, sizes, k, q, n));
                            memset(q, fill_of(k), n);
                            d.live[k] = q;
                            sizes[k] = n;
                        }
                    } else {
                        n = 1u + (size_t)(next_random() % 300u);
                        uint8_t *p = rtm_malloc(d.heap, n);
                        if (p != NULL) {
                            assert_true(apart(&d, sizes, k, p, n));
                            memset(p, fill_of(k), n);
                            d.live[k] = p;
                            sizes[k] = n;
                        }
                    }
                    if (op % 16 == 15 || op == 299) {
                        for (size_t j = 0; j < 48u; j++) {
                            assert_true(d.live[j] == NULL || holds_fill(d.live[j], sizes[j], j));
                        }
                    }
                }
                reports += g_corruption_reports;
                (void)read_everything(d.heap, d.size);
            }
            free(d.mem);
        }
        print_message("%s: 200 heaps with damaged links, %u reports\n", k_names[s], reports);
        assert_true(reports > 0);
    }
}

/* An aligned block, whose poison head is larger than a plain block's, is
 * refused as corrupt when its free would meet damage, as a plain block is
 * (test_damage_found_by_allocation), not as an invalid pointer: on best
 * fit, the free of a block larger than the damaged listed ones walks
 * through the damaged link to the block's place in the list. */
static void test_aligned_block_meets_damage(void **state)
{
    (void)state;
    listed_t l;
    make_listed(&l, 2u);
    void *large = rtm_aligned_alloc(l.heap, 64u, 3u * SLOT_BYTES);
    assert_non_null(large);
    assert_int_equal((uintptr_t)large % 64u, 0);
    uint8_t *victim = raw_of(l.p[5]);
    const uint32_t good = ts_rd32(victim);
    ts_wr32(victim, 0xfffffff0u);
    g_misuse_calls = 0;
    g_corruption_reports = 0;
    rtm_free(l.heap, large);
    assert_int_equal(g_misuse_calls, 1);
    assert_int_equal(g_last_misuse, RTM_MISUSE_CORRUPT_BLOCK);
    assert_int_equal(g_corruption_reports, 1);
    assert_int_equal(rtm_usable_size(l.heap, large), 0);
    assert_int_equal(g_last_misuse, RTM_MISUSE_CORRUPT_BLOCK);
    ts_wr32(victim, good);
    rtm_free(l.heap, large);
    assert_int_equal(g_misuse_calls, 2);
    assert_true(rtm_heap_check(l.heap, NULL));
    free(l.mem);
}

/* largest_free_block counts only the blocks before a damaged link: first
 * fit stops at a link to a block that is not free at every level, best fit
 * at levels >= 1 at any link its allocation refuses. A link to a used
 * block larger than every listed one must not make that block count: the
 * answer is a listed block's size, not the used one's. */
static void test_largest_free_stops_at_damage(void **state)
{
    (void)state;
    for (size_t s = 1; s < 3u; s++) {
        print_message("%s\n", k_names[s]);
        listed_t l;
        make_listed(&l, s);
        void *large = rtm_malloc(l.heap, 3u * SLOT_BYTES);
        assert_non_null(large);
        uint8_t *victim = raw_of(l.p[5]);
        const uint32_t good = ts_rd32(victim);
        ts_wr32(victim, link_at(&l, raw_of(large)));
        size_t largest = rtm_heap_largest_free(l.heap);
        assert_true(largest < 3u * SLOT_BYTES);
        rtm_heap_info_t info;
        assert_true(rtm_heap_info(l.heap, &info));
        assert_int_equal(info.largest_free_block, largest);
        ts_wr32(victim, good);
        assert_true(rtm_heap_check(l.heap, NULL));
        assert_true(rtm_heap_largest_free(l.heap) > 3u * SLOT_BYTES);
        free(l.mem);
    }
}

/* Damage to the control block: a wild write over the list head of a size
 * (TLSF's class head, first and best fit's list head) with an offset far
 * outside the heap. At levels >= 1 the allocation that would follow it
 * fails with one RTM_CORRUPT_FREE_LIST report that names a word of the
 * region (the strategy's state or the head itself) and reads nothing
 * outside it: the report used to read the "block" the head named, far out
 * of the region (AddressSanitizer). With the head put back the heap is
 * whole. The head is found by its value, the link to the list's first
 * block, among the words before the first block; the test needs exactly
 * one such word. */
static void test_damaged_head_found_by_allocation(void **state)
{
    (void)state;
    for (size_t s = 0; s < 3u; s++) {
        print_message("%s\n", k_names[s]);
        listed_t l;
        make_listed(&l, s);
        size_t first_listed = s == 1u ? 1u : 9u;
        /* Best fit tags the links in its blocks (both flag bits), not its head. */
        uint32_t head = link_to(&l, first_listed) & (s == 2u ? ~3u : ~0u);
        const uint8_t *control_end = raw_of(l.p[0]) - 8u;
        uint8_t *at = NULL;
        size_t found = 0;
        for (uint8_t *w = l.mem; w + 4 <= control_end; w += 4) {
            if (ts_rd32(w) == head) {
                at = w;
                found++;
            }
        }
        assert_int_equal(found, 1);
        ts_wr32(at, 0x7ffffff0u);
        g_corruption_reports = 0;
        assert_null(rtm_malloc(l.heap, SLOT_BYTES));
        assert_int_equal(g_corruption_reports, 1);
        assert_int_equal(g_last_report.kind, RTM_CORRUPT_FREE_LIST);
        assert_true((const uint8_t *)g_last_report.address >= l.mem &&
                    (const uint8_t *)g_last_report.address < control_end);
        ts_wr32(at, head);
        assert_true(rtm_heap_check(l.heap, NULL));
        assert_non_null(rtm_malloc(l.heap, SLOT_BYTES));
        free(l.mem);
    }
}
#endif

/* TLSF's capacity (end - first, which malloc and free read instead of
 * both), the offset of its second-level bitmaps and its granularity's
 * log2, each damaged by a wild write: rtm_heap_check names it; put back, the heap checks whole. The word is found as the one after the pair first,
 * end whose difference it is. */
static void test_tlsf_capacity_checked(void **state)
{
    (void)state;
    ts_heap_t *th = ts_heap_open(RTM_TLSF, 0);
    uint8_t *at = NULL;
    size_t found = 0;
    for (uint8_t *w = th->mem + 8; w + 4 <= th->mem + 1024; w += 4) {
        uint32_t first = ts_rd32(w - 8), end = ts_rd32(w - 4);
        if (first != 0 && end > first && end <= th->size && ts_rd32(w) == end - first) {
            at = w;
            found++;
        }
    }
    assert_int_equal(found, 1);
    uint32_t capacity = ts_rd32(at);
    rtm_check_report_t r;
    assert_true(rtm_heap_check(th->heap, &r));
    ts_wr32(at, capacity - 8u);
    g_corruption_reports = 0;
    assert_false(rtm_heap_check_silent(th->heap, &r));
    assert_non_null(strstr(r.problem, "capacity"));
    ts_wr32(at, capacity);
    assert_true(rtm_heap_check(th->heap, &r));
    /* The next word, where the second-level bitmaps are, likewise. */
    uint32_t sl_off = ts_rd32(at + 4);
    ts_wr32(at + 4, sl_off + 4u);
    assert_false(rtm_heap_check_silent(th->heap, &r));
    assert_non_null(strstr(r.problem, "second-level"));
    ts_wr32(at + 4, sl_off);
    assert_true(rtm_heap_check(th->heap, &r));
    /* Five words before capacity, the granularity's log2 (3 here): a shift
     * of 31 would be one the allocator cannot make. */
    uint8_t *gshift = at - 20;
    assert_int_equal(ts_rd32(gshift), 3);
    ts_wr32(gshift, 31u);
    assert_false(rtm_heap_check_silent(th->heap, &r));
    assert_non_null(strstr(r.problem, "granularity"));
    ts_wr32(gshift, 3u);
    assert_true(rtm_heap_check(th->heap, &r));
    ts_heap_close(th);
}

int main(void)
{
    rtm_debug_set_corruption_hook(count_corruption, NULL);
    rtm_debug_set_continue(true);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_damaged_link),
        cmocka_unit_test(test_cyclic_list),
        cmocka_unit_test(test_random_damage),
        cmocka_unit_test(test_operations_on_damage),
        cmocka_unit_test(test_first_block_underrun),
        cmocka_unit_test(test_tlsf_capacity_checked),
#if RTM_POISON_LEVEL >= 1
        cmocka_unit_test(test_damage_found_by_allocation),
        cmocka_unit_test(test_bad_links_found_by_allocation),
        cmocka_unit_test(test_damaged_header_found_by_allocation),
        cmocka_unit_test(test_cycle_found_by_allocation),
        cmocka_unit_test(test_link_damage_spares_live_blocks),
        cmocka_unit_test(test_damaged_head_found_by_allocation),
        cmocka_unit_test(test_aligned_block_meets_damage),
        cmocka_unit_test(test_largest_free_stops_at_damage),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
