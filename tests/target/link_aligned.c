/*
 * The core program of code_size_core.c plus one aligned allocation: with
 * --gc-sections it must link TLSF's aligned allocation and no other
 * strategy's (src/strategy/aligned.c; tests/check_link.cmake with ALIGNED).
 * Never run; only linked.
 */
#include <stddef.h>

#include "rtmem/heap.h"

RTM_HEAP_STORAGE(g_ram, 8 * 1024);

volatile size_t g_sink;

int main(void);

int main(void)
{
    rtm_heap_config_t cfg = {.strategy = &rtm_strategy_tlsf, .name = "app"};
    rtm_heap_t *heap = rtm_heap_init(g_ram, sizeof g_ram, &cfg);
    void *p = rtm_aligned_alloc(heap, 64, 100);
    void *q = rtm_realloc(heap, p, 200);
    rtm_free(heap, rtm_malloc(heap, 40));
    rtm_heap_info_t info;
    if (rtm_heap_info(heap, &info)) {
        g_sink = info.free_bytes;
    }
    rtm_free(heap, q);
    return 0;
}
