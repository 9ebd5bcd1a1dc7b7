/*
 * What firmware that uses one TLSF heap links: init, malloc, realloc,
 * free and the statistics. scripts/code_size.sh links this with
 * --gc-sections and counts the bytes that come from the library, which is
 * the "core" figure of docs/benchmarks.md. Never run; only linked.
 * Built with CORE_WITH_ALIGNED it also makes one aligned allocation
 * (tests/check_link.cmake, ALIGNED); with CORE_STRATEGY its heap uses that
 * strategy object instead of TLSF.
 */
#include <stddef.h>

#include "rtmem/heap.h"

#ifndef CORE_STRATEGY
#define CORE_STRATEGY rtm_strategy_tlsf
#endif

RTM_HEAP_STORAGE(g_ram, 8 * 1024);

/* Results go here so the compiler cannot drop the calls. */
volatile size_t g_sink;

int main(void);

int main(void)
{
    rtm_heap_config_t cfg = {.strategy = &CORE_STRATEGY, .name = "app"};
    rtm_heap_t *heap = rtm_heap_init(g_ram, sizeof g_ram, &cfg);
    void *p = rtm_malloc(heap, 100);
#if defined(CORE_WITH_ALIGNED)
    rtm_free(heap, p);
    p = rtm_aligned_alloc(heap, 64, 100);
#endif
    void *q = rtm_realloc(heap, p, 200);
    rtm_heap_info_t info;
    if (rtm_heap_info(heap, &info)) {
        g_sink = info.free_bytes;
    }
    rtm_free(heap, q);
    return 0;
}
