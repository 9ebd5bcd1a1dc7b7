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

static void count_misuse(rtm_heap_t *heap, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)heap;
    (void)kind;
    (void)address;
    (void)ctx;
    g_misuse_calls++;
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

/* A heap of strategy s in a region of its own, after 160 random
 * allocations and frees (bump only allocates), with one to four bytes set
 * to random, 0x00 or 0xff values anywhere from its lowest live block's
 * header to the end of the region. False (and nothing damaged) when no
 * block was live. */
static bool damaged_heap(damaged_t *d, size_t s, uint64_t seed)
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

#if RTM_POISON_LEVEL >= 1
/* At levels >= 1 a damaged link is found before anything follows it
 * (RTM_CHECK_LINKS): a write after free into the next link of a freed
 * block, on TLSF and first fit. The allocation that reaches it fails with
 * one RTM_CORRUPT_FREE_LIST report naming the link, a free or realloc of
 * the used block before it (which would merge with it) is refused with a
 * report and has no effect, and with the link put back the heap is whole
 * again. */
static void test_damage_found_by_allocation(void **state)
{
    (void)state;
    for (size_t s = 0; s < 2u; s++) {
        print_message("%s\n", k_names[s]);
        listed_t l;
        make_listed(&l, s);
        uint8_t *victim = raw_of(l.p[5]);
        const uint32_t good = ts_rd32(victim);
        ts_wr32(victim, 0xfffffff0u);
        /* TLSF takes the last freed first (9, 7, then 5), first fit the
         * lowest (1, 3, then 5). */
        const size_t order[2][2] = {{9, 7}, {1, 3}};
        g_corruption_reports = 0;
        g_misuse_calls = 0;
        assert_ptr_equal(rtm_malloc(l.heap, SLOT_BYTES), l.p[order[s][0]]);
        assert_ptr_equal(rtm_malloc(l.heap, SLOT_BYTES), l.p[order[s][1]]);
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

        /* Slot 4 ends where the damaged block starts: its free would merge. */
        g_corruption_reports = 0;
        rtm_free(l.heap, l.p[4]);
        assert_int_equal(g_misuse_calls, 1);
        assert_int_equal(g_corruption_reports, 1);
        assert_null(rtm_realloc(l.heap, l.p[4], 2u * SLOT_BYTES));
        assert_int_equal(g_misuse_calls, 2);
        assert_true(rtm_heap_info(l.heap, &after));
        assert_int_equal(after.free_bytes, before.free_bytes);
        assert_int_equal(after.used_blocks, before.used_blocks);

        ts_wr32(victim, good);
        assert_true(rtm_heap_check(l.heap, NULL));
        assert_ptr_equal(rtm_malloc(l.heap, SLOT_BYTES), l.p[5]);
        rtm_free(l.heap, l.p[4]);
        assert_true(rtm_heap_check(l.heap, NULL));
        free(l.mem);
    }
}

/* Random damage (damaged_heap), then 300 random allocations,
 * reallocations and frees on the damaged heap: at levels >= 1 TLSF and
 * first fit read and write nothing outside the region (AddressSanitizer)
 * and every call returns; best fit keeps its list walks inside the arena
 * and bounded too. */
static void test_operations_on_damage(void **state)
{
    (void)state;
    for (size_t s = 0; s < 3u; s++) {
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
#endif

int main(void)
{
    rtm_debug_set_corruption_hook(count_corruption, NULL);
    rtm_debug_set_continue(true);
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_damaged_link),
        cmocka_unit_test(test_cyclic_list),
        cmocka_unit_test(test_random_damage),
#if RTM_POISON_LEVEL >= 1
        cmocka_unit_test(test_damage_found_by_allocation),
        cmocka_unit_test(test_operations_on_damage),
#endif
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
