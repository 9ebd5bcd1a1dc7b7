/* The poisoning level of a user's rtmem_config.h reaches the library when
 * CMake is not given RTMEM_POISON (docs/configuration.md): this program and
 * the library it links must both be at level 1. */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>

#include <cmocka.h>

#include "rtmem/config.h"
#include "rtmem/debug.h"
#include "rtmem/heap.h"

_Static_assert(RTM_POISON_LEVEL == 1, "rtmem_config.h sets RTM_POISON_LEVEL 1");

static _Alignas(RTM_HEAP_MEM_ALIGN) uint8_t g_arena[16 * 1024];

static void test_library_is_at_level_1(void **state)
{
    (void)state;
    rtm_heap_config_t cfg = {0};
    cfg.strategy = &rtm_strategy_tlsf;
    rtm_heap_t *h = rtm_heap_init(g_arena, sizeof g_arena, &cfg);
    assert_non_null(h);
    uint8_t *p = rtm_malloc(h, 13);
    assert_non_null(p);
    /* Level >= 1 keeps the requested size: level 0 would round it up. */
    assert_int_equal(rtm_usable_size(h, p), 13);
    /* Level 2 would have filled the new block with RTM_FILL_FRESH; the arena
     * was zero, so level 1 leaves zeros among the bytes handed out. */
    size_t fresh = 0;
    for (size_t i = 0; i < 13; i++) {
        fresh += p[i] == (uint8_t)RTM_FILL_FRESH;
    }
    assert_true(fresh < 13);
    rtm_free(h, p);
    assert_true(rtm_heap_check(h, NULL));
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_library_is_at_level_1),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
