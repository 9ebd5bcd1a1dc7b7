/*
 * Generic preset data (include/rtmem/presets/generic.h).
 */
#include "rtmem/presets/generic.h"

#define CAPS_RAM                                                                               \
    {RTM_CAP_DEFAULT | RTM_CAP_8BIT | RTM_CAP_32BIT | RTM_CAP_INTERNAL | RTM_CAP_DMA |          \
         RTM_CAP_EXEC,                                                                         \
     0, 0}

#if defined(RTM_PRESET_LINKER)
extern uint8_t rtm_generic_ram_start[], rtm_generic_ram_end[];
#define RAM_START rtm_generic_ram_start
#define RAM_END rtm_generic_ram_end
#else
RTM_HEAP_STORAGE(generic_ram, RTM_PRESET_GENERIC_SIZE);
#define RAM_START generic_ram
#define RAM_END (generic_ram + sizeof generic_ram)
#endif

static const rtm_caps_region_desc_t k_regions[] = {
    {"RAM", RAM_START, RAM_END, CAPS_RAM},
};

#define REGION_COUNT (sizeof k_regions / sizeof k_regions[0])

const rtm_caps_preset_t rtm_preset_generic = {
    .name = "generic",
    .regions = k_regions,
    .region_count = REGION_COUNT,
    .flags = 0,
    .cache_line = 0,
};

static rtm_caps_registry_t g_registry;
static rtm_caps_region_t g_slots[REGION_COUNT + RTM_PRESET_SPARE_REGIONS];

rtm_caps_err_t rtm_preset_generic_init(const rtm_caps_config_t *cfg)
{
    return rtm_caps_init_preset(&g_registry, g_slots, sizeof g_slots / sizeof g_slots[0],
                                &rtm_preset_generic, cfg);
}
