/*
 * STM32H743 preset data (include/rtmem/presets/stm32h743.h).
 */
#include "rtmem/presets/stm32h743.h"

#define KIB 1024u

#define RAM_BITS (RTM_CAP_8BIT | RTM_CAP_32BIT | RTM_CAP_INTERNAL)
#define CAPS_DTCM                                                                              \
    {RTM_CAP_SPM | RTM_CAP_DEFAULT | RTM_CAP_8BIT | RTM_CAP_32BIT, RTM_CAP_INTERNAL, 0}
#define CAPS_AXI {RTM_CAP_EXEC, RTM_CAP_DEFAULT | RAM_BITS | RTM_CAP_DMA, 0}
#define CAPS_D2 {RTM_CAP_DMA, RAM_BITS, RTM_CAP_DEFAULT | RTM_CAP_EXEC}
#define CAPS_SRAM4 {RTM_CAP_BDMA, 0, RTM_CAP_DMA | RTM_CAP_DEFAULT | RAM_BITS}

#if defined(RTM_PRESET_LINKER)
extern uint8_t rtm_stm32h743_dtcm_start[], rtm_stm32h743_dtcm_end[];
extern uint8_t rtm_stm32h743_axi_sram_start[], rtm_stm32h743_axi_sram_end[];
extern uint8_t rtm_stm32h743_sram1_start[], rtm_stm32h743_sram1_end[];
extern uint8_t rtm_stm32h743_sram2_start[], rtm_stm32h743_sram2_end[];
extern uint8_t rtm_stm32h743_sram3_start[], rtm_stm32h743_sram3_end[];
extern uint8_t rtm_stm32h743_sram4_start[], rtm_stm32h743_sram4_end[];
#define DTCM_START rtm_stm32h743_dtcm_start
#define DTCM_END rtm_stm32h743_dtcm_end
#define AXI_START rtm_stm32h743_axi_sram_start
#define AXI_END rtm_stm32h743_axi_sram_end
#define SRAM1_START rtm_stm32h743_sram1_start
#define SRAM1_END rtm_stm32h743_sram1_end
#define SRAM2_START rtm_stm32h743_sram2_start
#define SRAM2_END rtm_stm32h743_sram2_end
#define SRAM3_START rtm_stm32h743_sram3_start
#define SRAM3_END rtm_stm32h743_sram3_end
#define SRAM4_START rtm_stm32h743_sram4_start
#define SRAM4_END rtm_stm32h743_sram4_end
#else
RTM_HEAP_STORAGE(h743_dtcm, 128u * KIB);
/* What STM32CubeIDE's generated linker script for the STM32H743xx
 * (STM32H743ZITX_FLASH.ld, as in STM32CubeH7's Projects) leaves: .data,
 * .bss and ._user_heap_stack go to RAM_D1 (AXI SRAM, 0x24000000, 512 KiB)
 * with _estack at its top, _Min_Stack_Size 0x400 and _Min_Heap_Size 0x200
 * (newlib's sbrk heap); DTCMRAM, RAM_D2 (SRAM1-3, 288 KiB) and RAM_D3
 * (SRAM4) hold no section. The AXI region is 512 KiB less the stack and
 * the sbrk minimum (the image's .data/.bss also come out of it on the chip;
 * not modelled here). Sizes: RM0433 section 2.3. */
#define AXI_HEAP (512u * KIB - 0x400u - 0x200u)
RTM_HEAP_STORAGE(h743_axi, AXI_HEAP);
RTM_HEAP_STORAGE(h743_sram1, 128u * KIB);
RTM_HEAP_STORAGE(h743_sram2, 128u * KIB);
RTM_HEAP_STORAGE(h743_sram3, 32u * KIB);
RTM_HEAP_STORAGE(h743_sram4, 64u * KIB);
#define DTCM_START h743_dtcm
#define DTCM_END (h743_dtcm + sizeof h743_dtcm)
#define AXI_START h743_axi
#define AXI_END (h743_axi + sizeof h743_axi)
#define SRAM1_START h743_sram1
#define SRAM1_END (h743_sram1 + sizeof h743_sram1)
#define SRAM2_START h743_sram2
#define SRAM2_END (h743_sram2 + sizeof h743_sram2)
#define SRAM3_START h743_sram3
#define SRAM3_END (h743_sram3 + sizeof h743_sram3)
#define SRAM4_START h743_sram4
#define SRAM4_END (h743_sram4 + sizeof h743_sram4)
#endif

static const rtm_caps_region_desc_t k_regions[] = {
    {"DTCM", DTCM_START, DTCM_END, CAPS_DTCM},
    {"AXI_SRAM", AXI_START, AXI_END, CAPS_AXI},
    {"SRAM1", SRAM1_START, SRAM1_END, CAPS_D2},
    {"SRAM2", SRAM2_START, SRAM2_END, CAPS_D2},
    {"SRAM3", SRAM3_START, SRAM3_END, CAPS_D2},
    {"SRAM4", SRAM4_START, SRAM4_END, CAPS_SRAM4},
};

#define REGION_COUNT (sizeof k_regions / sizeof k_regions[0])

const rtm_caps_preset_t rtm_preset_stm32h743 = {
    .name = "stm32h743",
    .regions = k_regions,
    .region_count = REGION_COUNT,
    .flags = 0,
    .cache_line = 32u,
};

static rtm_caps_registry_t g_registry;
static rtm_caps_region_t g_slots[REGION_COUNT + RTM_PRESET_SPARE_REGIONS];

rtm_caps_err_t rtm_preset_stm32h743_init(const rtm_caps_config_t *cfg)
{
    return rtm_caps_init_preset(&g_registry, g_slots, sizeof g_slots / sizeof g_slots[0],
                                &rtm_preset_stm32h743, cfg);
}
