/*
 * RP2040 preset data (include/rtmem/presets/rp2040.h).
 */
#include "rtmem/presets/rp2040.h"

#define KIB 1024u

#define CAPS_SRAM                                                                              \
    {RTM_CAP_DEFAULT | RTM_CAP_8BIT | RTM_CAP_32BIT | RTM_CAP_DMA,                              \
     RTM_CAP_INTERNAL | RTM_CAP_EXEC, 0}
#define CAPS_SCRATCH                                                                           \
    {RTM_CAP_SPM, 0,                                                                           \
     RTM_CAP_8BIT | RTM_CAP_32BIT | RTM_CAP_DMA | RTM_CAP_INTERNAL | RTM_CAP_EXEC}

#if defined(RTM_PRESET_LINKER)
extern uint8_t rtm_rp2040_sram_start[], rtm_rp2040_sram_end[];
extern uint8_t rtm_rp2040_scratch_x_start[], rtm_rp2040_scratch_x_end[];
extern uint8_t rtm_rp2040_scratch_y_start[], rtm_rp2040_scratch_y_end[];
#define SRAM_START rtm_rp2040_sram_start
#define SRAM_END rtm_rp2040_sram_end
#define SCRATCH_X_START rtm_rp2040_scratch_x_start
#define SCRATCH_X_END rtm_rp2040_scratch_x_end
#define SCRATCH_Y_START rtm_rp2040_scratch_y_start
#define SCRATCH_Y_END rtm_rp2040_scratch_y_end
#else
RTM_HEAP_STORAGE(rp2040_sram, 256u * KIB);
RTM_HEAP_STORAGE(rp2040_scratch_x, 4u * KIB);
RTM_HEAP_STORAGE(rp2040_scratch_y, 4u * KIB);
#define SRAM_START rp2040_sram
#define SRAM_END (rp2040_sram + sizeof rp2040_sram)
#define SCRATCH_X_START rp2040_scratch_x
#define SCRATCH_X_END (rp2040_scratch_x + sizeof rp2040_scratch_x)
#define SCRATCH_Y_START rp2040_scratch_y
#define SCRATCH_Y_END (rp2040_scratch_y + sizeof rp2040_scratch_y)
#endif

static const rtm_caps_region_desc_t k_regions[] = {
    {"SRAM", SRAM_START, SRAM_END, CAPS_SRAM},
    {"SCRATCH_X", SCRATCH_X_START, SCRATCH_X_END, CAPS_SCRATCH},
    {"SCRATCH_Y", SCRATCH_Y_START, SCRATCH_Y_END, CAPS_SCRATCH},
};

#define REGION_COUNT (sizeof k_regions / sizeof k_regions[0])

const rtm_caps_preset_t rtm_preset_rp2040 = {
    .name = "rp2040",
    .regions = k_regions,
    .region_count = REGION_COUNT,
    .flags = 0,
    .cache_line = 0,
};

static rtm_caps_registry_t g_registry;
static rtm_caps_region_t g_slots[REGION_COUNT + RTM_PRESET_SPARE_REGIONS];

rtm_caps_err_t rtm_preset_rp2040_init(const rtm_caps_config_t *cfg)
{
    return rtm_caps_init_preset(&g_registry, g_slots, sizeof g_slots / sizeof g_slots[0],
                                &rtm_preset_rp2040, cfg);
}
