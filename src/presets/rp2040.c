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
/* What the Raspberry Pi Pico SDK's default linker script
 * (src/rp2_common/pico_crt0/rp2040/memmap_default.ld, SDK 1.5/2.x) leaves:
 * RAM 0x20000000, 256 KiB, holds the image's .data/.bss and then newlib's
 * heap up to __HeapLimit (the end of RAM): rtmem takes newlib's place, so
 * the region is RAM less the image's static data (not modelled here: the
 * host buffer is the whole 256 KiB). SCRATCH_Y (0x20041000) keeps core 0's
 * stack at its top and SCRATCH_X (0x20040000) core 1's, PICO_STACK_SIZE and
 * PICO_CORE1_STACK_SIZE 0x800 each by default: 2 KiB of each bank stay. */
#define SCRATCH_HEAP (4u * KIB - 0x800u)
RTM_HEAP_STORAGE(rp2040_sram, 256u * KIB);
RTM_HEAP_STORAGE(rp2040_scratch_x, SCRATCH_HEAP);
RTM_HEAP_STORAGE(rp2040_scratch_y, SCRATCH_HEAP);
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
