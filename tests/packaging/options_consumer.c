/*
 * A user of an installed rtmem built with options (tests/packaging/
 * packaging.py, installed-options): an rtmem_config.h in RTMEM_CONFIG_DIR
 * (tests/packaging/options_config/) and RTMEM_EXTRA_DEFINES. Built once
 * through pkg-config, once through find_package(rtmem): both must give it
 * the library's options. Prints "rtmem consumer ok" and returns 0.
 */
#include <stdio.h>

#include "rtmem/rtmem.h"

_Static_assert(RTM_POISON_LEVEL == 1, "the installed rtmem_config.h sets RTM_POISON_LEVEL 1");
_Static_assert(RTM_TRACE_DEPTH == 3, "the installed rtmem_config.h sets RTM_TRACE_DEPTH 3");
_Static_assert(RTM_TASK_NAME_LEN == 24, "RTMEM_EXTRA_DEFINES sets RTM_TASK_NAME_LEN 24");
_Static_assert(RTM_MONITOR_LARGE_BYTES == 3072u,
               "RTMEM_EXTRA_DEFINES sets RTM_MONITOR_LARGE_BYTES (1024u+2048u)");

RTM_HEAP_STORAGE(options_ram, 8 * 1024);

int main(void)
{
    rtm_heap_config_t cfg = {.strategy = &rtm_strategy_tlsf, .name = "options"};
    rtm_heap_t *heap = rtm_heap_init(options_ram, sizeof options_ram, &cfg);
    if (heap == NULL) {
        puts("rtm_heap_init failed");
        return 1;
    }
    char *p = rtm_malloc(heap, 13);
    /* The library is at level 1 too: it keeps the requested size (level 0
     * rounds it up to its granularity). */
    size_t usable = p != NULL ? rtm_usable_size(heap, p) : 0;
    rtm_free(heap, p);
    bool ok = rtm_heap_check(heap, NULL);
    rtm_heap_deinit(heap);
    if (usable != 13 || !ok) {
        printf("usable size %zu (expected 13: the library is not at level 1), check %d\n", usable,
               ok);
        return 1;
    }
    puts("rtmem consumer ok");
    return 0;
}
