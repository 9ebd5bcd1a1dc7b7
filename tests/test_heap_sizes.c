/*
 * rtm_heap_init accepts exactly what rtm_heap_init_error accepts, for every
 * region size from the minimum up to a few KiB, every strategy, granularity
 * and 8-aligned start: the TLSF class table grows at each power of two of
 * the arena, and sizes just past one are where an init could fail although
 * the size check said yes. Each heap made must serve a block and pass its
 * check.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include <cmocka.h>

#include "rtmem/heap.h"

static _Alignas(4096) uint8_t g_region[16384];

static void sweep(rtm_strategy_id_t strategy)
{
    for (size_t g = 4; g <= 64; g *= 2) {
        rtm_heap_config_t cfg = {.strategy = rtm_strategy_by_id(strategy), .alignment = g, .flags = RTM_HEAP_NO_LOCK};
        size_t min = rtm_heap_min_size(&cfg);
        assert_true(min > 0);
        for (size_t offset = 0; offset < 64; offset += 8) {
            uint8_t *mem = g_region + offset;
            assert_int_equal(rtm_heap_init_error(mem, min - 1u, &cfg), RTM_ERR_TOO_SMALL);
            for (size_t size = min; size < min + 4200u; size += 4) {
                rtm_err_t err = rtm_heap_init_error(mem, size, &cfg);
                rtm_heap_t *h = rtm_heap_init(mem, size, &cfg);
                if ((err == RTM_OK) != (h != NULL)) {
                    print_error("%s: granularity %zu, offset %zu, size %zu: init_error %d, heap %p\n",
                                rtm_strategy_name(strategy), g, offset, size, (int)err, (void *)h);
                    fail();
                }
                assert_non_null(h);
                void *p = rtm_malloc(h, 1);
                assert_non_null(p);
                assert_true(rtm_heap_check(h, NULL));
                rtm_free(h, p);
                rtm_heap_deinit(h);
            }
        }
    }
}

static void test_tlsf_sizes(void **state)
{
    (void)state;
    sweep(RTM_TLSF);
}

static void test_first_fit_sizes(void **state)
{
    (void)state;
    sweep(RTM_FIRST_FIT);
}

static void test_best_fit_sizes(void **state)
{
    (void)state;
    sweep(RTM_BEST_FIT);
}

static void test_bump_sizes(void **state)
{
    (void)state;
    sweep(RTM_BUMP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tlsf_sizes),
        cmocka_unit_test(test_first_fit_sizes),
        cmocka_unit_test(test_best_fit_sizes),
        cmocka_unit_test(test_bump_sizes),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
