/*
 * A program written for ESP-IDF's heap API, built against an installed
 * rtmem's ESP-IDF names (rtmem::esp_compat, pkg-config rtmem-esp-compat;
 * tests/packaging/packaging.py): one capability region, heap_caps_malloc
 * and a check, a multi_heap of its own. Prints "rtmem consumer ok" and
 * returns 0 on success.
 */
#include <stdalign.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "esp_heap_caps.h"
#include "multi_heap.h"
#include "rtmem/caps.h"

static alignas(16) uint8_t region_ram[16 * 1024];
static alignas(16) uint8_t multi_ram[8 * 1024];

int main(void)
{
    static rtm_caps_registry_t reg;
    static rtm_caps_region_t slots[1];
    if (rtm_caps_init(&reg, slots, 1, NULL) != RTM_CAPS_OK) {
        puts("rtm_caps_init failed");
        return 1;
    }
    rtm_caps_region_config_t dram = {0};
    dram.name = "DRAM";
    dram.caps[0] = MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT | MALLOC_CAP_32BIT | MALLOC_CAP_DEFAULT;
    if (rtm_caps_add_region(region_ram, sizeof region_ram, &dram, NULL) != RTM_CAPS_OK) {
        puts("rtm_caps_add_region failed");
        return 1;
    }
    char *text = heap_caps_malloc(100, MALLOC_CAP_8BIT);
    if (text == NULL) {
        puts("heap_caps_malloc failed");
        return 1;
    }
    memset(text, 'x', 100);
    bool ok = heap_caps_check_integrity_all(true) &&
              heap_caps_get_free_size(MALLOC_CAP_8BIT) < sizeof region_ram;
    heap_caps_free(text);

    multi_heap_handle_t mh = multi_heap_register(multi_ram, sizeof multi_ram);
    void *block = mh != NULL ? multi_heap_malloc(mh, 64) : NULL;
    ok = ok && block != NULL && multi_heap_check(mh, true);
    if (block != NULL) {
        multi_heap_free(mh, block);
    }
    rtm_caps_deinit();
    if (!ok) {
        puts("the ESP-IDF names failed");
        return 1;
    }
    puts("rtmem consumer ok");
    return 0;
}
