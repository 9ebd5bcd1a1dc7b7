/* The heap core built with RTM_WITH_FIRST_FIT/BEST_FIT/BUMP = 0 (config.h):
 * those strategies are refused as not compiled in, TLSF works, and the
 * front's answers for the refused ones match rtm_heap_init_error. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rtmem/heap.h"

#if RTM_WITH_FIRST_FIT || RTM_WITH_BEST_FIT || RTM_WITH_BUMP
#error "test_tlsf_only must be built with RTM_WITH_FIRST_FIT/BEST_FIT/BUMP = 0"
#endif

RTM_HEAP_STORAGE(g_ram, 16 * 1024);

static void test_left_out_strategies_refused(void **state)
{
    (void)state;
    const rtm_strategy_id_t out[] = {RTM_FIRST_FIT, RTM_BEST_FIT, RTM_BUMP};
    for (size_t i = 0; i < sizeof out / sizeof out[0]; i++) {
        rtm_heap_config_t cfg = {0};
        cfg.strategy = out[i];
        assert_int_equal(rtm_heap_init_error(g_ram, sizeof g_ram, &cfg), RTM_ERR_UNSUPPORTED);
        assert_null(rtm_heap_init(g_ram, sizeof g_ram, &cfg));
    }
}

static void test_tlsf_still_works(void **state)
{
    (void)state;
    rtm_heap_t *h = rtm_heap_init(g_ram, sizeof g_ram, NULL);
    assert_non_null(h);
    assert_int_equal(rtm_heap_strategy(h), RTM_TLSF);
    void *p = rtm_malloc(h, 100);
    assert_non_null(p);
    p = rtm_realloc(h, p, 3000);
    assert_non_null(p);
    rtm_free(h, p);
    rtm_check_report_t r;
    assert_true(rtm_heap_check(h, &r));
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(h, &info));
    assert_int_equal(info.used_blocks, 0);
    assert_int_equal(info.free_blocks, 1);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_left_out_strategies_refused),
        cmocka_unit_test(test_tlsf_still_works),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
