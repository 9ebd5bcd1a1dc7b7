#include <stdio.h>

#include "rtmem/heap.h"

RTM_HEAP_STORAGE(app_ram, 16 * 1024); /* the heap is a static array */

int main(void)
{
    rtm_heap_config_t cfg = {.strategy = &rtm_strategy_tlsf, .name = "app"};
    rtm_heap_t *heap = rtm_heap_init(app_ram, sizeof app_ram, &cfg);
    if (heap == NULL) {
        return 1; /* rtm_heap_init_error() says why */
    }

    char *msg = rtm_malloc(heap, 100);
    void *dma = rtm_aligned_alloc(heap, 64, 256); /* 64-byte aligned */
    char *longer = rtm_realloc(heap, msg, 400);   /* on NULL, msg stays valid */
    if (longer != NULL) {
        msg = longer;
    }

    rtm_heap_info_t info;
    rtm_heap_info(heap, &info);
    printf("free %zu of %zu bytes, largest block %zu, lowest ever %zu, check %s\n",
           info.free_bytes, info.total_bytes, info.largest_free_block, info.min_free_bytes,
           rtm_heap_check(heap, NULL) ? "ok" : "FAILED");

    rtm_free(heap, dma);
    rtm_free(heap, msg);
    rtm_heap_deinit(heap);
    return 0;
}
