/*
 * The smallest build, RTM_EXACT_POINTERS 0 (config.h): no block-start map,
 * so a pointer is judged by the header before it and its neighbours' tags.
 * Application data shaped like a header can fool that; what it must never
 * do is read or write outside the heap. Linked against a core built with
 * the option (tests/CMakeLists.txt, rtmem_inexact).
 *
 * Every strategy, three granularities, locked or not: one block takes the
 * whole heap and is filled with data that is not shaped like a header;
 * then rtm_free, rtm_usable_size and rtm_realloc of every granule-aligned
 * pointer inside it, up to and past its end (where a would-be header lies
 * within the minimum block of the end marker: TLSF read past the arena
 * there), are each reported once and change nothing.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/heap.h"

#if RTM_EXACT_POINTERS
#error "test_inexact_pointers is built against a core with RTM_EXACT_POINTERS 0"
#endif

static unsigned g_misuses;

static void count_misuse(rtm_heap_t *heap, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)heap;
    (void)kind;
    (void)address;
    (void)ctx;
    g_misuses++;
}

static void assert_info_equal(const rtm_heap_info_t *a, const rtm_heap_info_t *b)
{
    assert_int_equal(a->free_bytes, b->free_bytes);
    assert_int_equal(a->allocated_bytes, b->allocated_bytes);
    assert_int_equal(a->used_blocks, b->used_blocks);
    assert_int_equal(a->free_blocks, b->free_blocks);
    assert_int_equal(a->alloc_count, b->alloc_count);
    assert_int_equal(a->free_count, b->free_count);
    assert_int_equal(a->largest_free_block, b->largest_free_block);
}

static _Alignas(64) uint8_t g_region[2048];

static void interior_pointers(const rtm_strategy_t *strategy, size_t granularity, uint32_t flags,
                              size_t region_bytes, uint8_t fill)
{
    rtm_heap_config_t cfg = {.strategy = strategy,
                             .alignment = granularity,
                             .flags = flags,
                             .on_misuse = count_misuse};
    rtm_heap_t *h = rtm_heap_init(g_region, region_bytes, &cfg);
    assert_non_null(h);
    size_t g = rtm_heap_alignment(h);
    uint8_t *p = rtm_malloc(h, rtm_heap_largest_free(h));
    assert_non_null(p);
    size_t usable = rtm_usable_size(h, p);
    memset(p, fill, usable);
    rtm_heap_info_t before, after;
    assert_true(rtm_heap_info(h, &before));
    for (size_t k = g; k <= usable + g; k += g) {
        uint8_t *q = p + k;
        g_misuses = 0;
        rtm_free(h, q);
        assert_int_equal(g_misuses, 1);
        assert_int_equal(rtm_usable_size(h, q), 0);
        assert_int_equal(g_misuses, 2);
        assert_null(rtm_realloc(h, q, 8));
        assert_int_equal(g_misuses, 3);
        assert_true(rtm_heap_info(h, &after));
        assert_info_equal(&before, &after);
    }
    assert_true(rtm_heap_check(h, NULL));
    /* The data is the application's: untouched. */
    for (size_t i = 0; i < usable; i++) {
        assert_int_equal(p[i], fill);
    }
    if (rtm_heap_strategy(h) != RTM_BUMP) {
        g_misuses = 0;
        rtm_free(h, p);
        assert_int_equal(g_misuses, 0);
        assert_true(rtm_heap_check(h, NULL));
    }
    rtm_heap_deinit(h);
}

static void test_interior_pointers(void **state)
{
    (void)state;
    const rtm_strategy_t *strategies[] = {&rtm_strategy_tlsf, &rtm_strategy_first_fit,
                                          &rtm_strategy_best_fit, &rtm_strategy_bump};
    static const size_t granularities[] = {4u, 0u, 16u};
    static const uint32_t flags[] = {RTM_HEAP_NO_LOCK, 0u};
    /* Not shaped like a header: a zero span, a span past the heap with the
     * previous-free flag, and the free flag. */
    static const uint8_t fills[] = {0x00u, 0x5au, 0xffu, 0xa5u};
    /* Sizes whose end marker lands at several offsets modulo 16. */
    static const size_t sizes[] = {1500u, 1504u, 1512u, 2048u};
    for (size_t s = 0; s < sizeof strategies / sizeof strategies[0]; s++) {
        for (size_t gi = 0; gi < sizeof granularities / sizeof granularities[0]; gi++) {
            for (size_t f = 0; f < sizeof flags / sizeof flags[0]; f++) {
                for (size_t z = 0; z < sizeof sizes / sizeof sizes[0]; z++) {
                    for (size_t b = 0; b < sizeof fills / sizeof fills[0]; b++) {
                        print_message("strategy %zu granularity %zu flags %u size %zu fill 0x%02x\n",
                                      s, granularities[gi], (unsigned)flags[f], sizes[z],
                                      (unsigned)fills[b]);
                        interior_pointers(strategies[s], granularities[gi], flags[f], sizes[z],
                                          fills[b]);
                    }
                }
            }
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_interior_pointers),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
