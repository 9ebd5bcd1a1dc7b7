/*
 * Test helpers over the capability layer: only rtmem_test_support has
 * them, since the per-level cores of the poisoning suites leave caps out.
 */
#include "support/test_support.h"

void ts_caps_dram_psram(void *dram, size_t dram_size, void *psram, size_t psram_size)
{
    static rtm_caps_registry_t reg;
    static rtm_caps_region_t slots[2];
    assert_int_equal(rtm_caps_init(&reg, slots, 2, NULL), RTM_CAPS_OK);
    rtm_caps_region_config_t internal = {0};
    internal.name = "DRAM";
    internal.caps[0] = RTM_CAP_INTERNAL | RTM_CAP_DMA | RTM_CAP_8BIT | RTM_CAP_32BIT |
                       RTM_CAP_DEFAULT;
    rtm_caps_region_config_t external = {0};
    external.name = "PSRAM";
    external.caps[1] = RTM_CAP_SPIRAM | RTM_CAP_8BIT | RTM_CAP_32BIT | RTM_CAP_DEFAULT;
    assert_int_equal(rtm_caps_add_region(dram, dram_size, &internal, NULL), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_add_region(psram, psram_size, &external, NULL), RTM_CAPS_OK);
}
