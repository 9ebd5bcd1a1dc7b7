/*
 * A heap whose config names no strategy (NULL, or no config at all) uses
 * RTM_DEFAULT_STRATEGY (config.h). Built twice: against the library as it
 * is (TLSF) and against a core built with RTM_DEFAULT_STRATEGY naming first
 * fit (EXPECT_FIRST_FIT), where the same calls must give first-fit heaps.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rtmem/heap.h"

#if defined(EXPECT_FIRST_FIT)
#define EXPECTED RTM_FIRST_FIT
#else
#define EXPECTED RTM_TLSF
#endif

RTM_HEAP_STORAGE(g_mem, 16 * 1024);

static void check_heap(rtm_heap_t *h)
{
    assert_non_null(h);
    assert_int_equal(rtm_heap_strategy(h), EXPECTED);
    void *p = rtm_malloc(h, 100);
    void *q = rtm_malloc(h, 300);
    assert_non_null(p);
    assert_non_null(q);
    rtm_free(h, p);
    rtm_free(h, q);
    assert_true(rtm_heap_check(h, NULL));
    rtm_heap_deinit(h);
}

static void test_null_strategy(void **state)
{
    (void)state;
    rtm_heap_config_t cfg = {.strategy = NULL, .name = "default"};
    check_heap(rtm_heap_init(g_mem, sizeof g_mem, &cfg));
}

static void test_no_config(void **state)
{
    (void)state;
    check_heap(rtm_heap_init(g_mem, sizeof g_mem, NULL));
}

static void test_macro_names_the_object(void **state)
{
    (void)state;
    assert_int_equal(rtm_strategy_id(&RTM_DEFAULT_STRATEGY), EXPECTED);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_null_strategy),
        cmocka_unit_test(test_no_config),
        cmocka_unit_test(test_macro_names_the_object),
    };
    return cmocka_run_group_tests_name("default_strategy", tests, NULL, NULL);
}
