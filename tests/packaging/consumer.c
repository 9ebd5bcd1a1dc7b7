/*
 * The program every packaging test builds against rtmem as a user would
 * (tests/packaging/packaging.py): one heap on a static buffer, an
 * allocation, a check. Prints "rtmem consumer ok" and returns 0 on success.
 * RTM_CONSUMER_HEADER names the header to include (the Arduino bundle's
 * entry header); the default is the public umbrella header.
 */
#include <stdio.h>
#include <string.h>

#if defined(RTM_CONSUMER_ARDUINO_HEADER)
#include "rtmem.h"
#else
#include "rtmem/rtmem.h"
#endif

RTM_HEAP_STORAGE(consumer_ram, 8 * 1024);

int main(void)
{
    rtm_heap_config_t cfg = {.strategy = &rtm_strategy_tlsf, .name = "consumer"};
    rtm_heap_t *heap = rtm_heap_init(consumer_ram, sizeof consumer_ram, &cfg);
    if (heap == NULL) {
        puts("rtm_heap_init failed");
        return 1;
    }
    char *text = rtm_malloc(heap, 64);
    if (text == NULL) {
        puts("rtm_malloc failed");
        return 1;
    }
    memset(text, 'x', 64);
    bool ok = rtm_heap_check(heap, NULL);
    rtm_free(heap, text);
    rtm_heap_deinit(heap);
    if (!ok) {
        puts("rtm_heap_check failed");
        return 1;
    }
    puts("rtmem consumer ok");
    return 0;
}
