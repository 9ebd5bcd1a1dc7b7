/*
 * ESP32 preset data (include/rtmem/presets/esp32.h). One file per preset so
 * that a program that does not use it links none of its buffers.
 */
#include "rtmem/presets/esp32.h"

#define KIB 1024u

/* ESP-IDF memory types, components/heap/port/esp32/memory_layout.c. */
#define CAPS_SPIRAM {RTM_CAP_SPIRAM | RTM_CAP_DEFAULT, 0, RTM_CAP_8BIT | RTM_CAP_32BIT}
#define CAPS_RTCRAM                                                                            \
    {RTM_CAP_RTCRAM, RTM_CAP_8BIT | RTM_CAP_DEFAULT,                                            \
     RTM_CAP_INTERNAL | RTM_CAP_32BIT | RTM_CAP_EXEC}
#define CAPS_RTC_SLOW {RTM_CAP_RTC_SLOW, 0, RTM_CAP_8BIT | RTM_CAP_32BIT | RTM_CAP_INTERNAL}
#define CAPS_IRAM {RTM_CAP_INTERNAL | RTM_CAP_EXEC | RTM_CAP_32BIT, 0, 0}
#define CAPS_DIRAM                                                                             \
    {0, RTM_CAP_DMA | RTM_CAP_8BIT | RTM_CAP_INTERNAL | RTM_CAP_DEFAULT,                        \
     RTM_CAP_32BIT | RTM_CAP_EXEC}
#define CAPS_DRAM                                                                              \
    {RTM_CAP_8BIT | RTM_CAP_DEFAULT, RTM_CAP_INTERNAL | RTM_CAP_DMA | RTM_CAP_32BIT, 0}

#if defined(RTM_PRESET_LINKER)
extern uint8_t rtm_esp32_spiram_start[], rtm_esp32_spiram_end[];
extern uint8_t rtm_esp32_rtcram_start[], rtm_esp32_rtcram_end[];
extern uint8_t rtm_esp32_rtc_slow_start[], rtm_esp32_rtc_slow_end[];
extern uint8_t rtm_esp32_iram_start[], rtm_esp32_iram_end[];
extern uint8_t rtm_esp32_diram_start[], rtm_esp32_diram_end[];
extern uint8_t rtm_esp32_dram_start[], rtm_esp32_dram_end[];
#define SPIRAM_START rtm_esp32_spiram_start
#define SPIRAM_END rtm_esp32_spiram_end
#define RTCRAM_START rtm_esp32_rtcram_start
#define RTCRAM_END rtm_esp32_rtcram_end
#define RTC_SLOW_START rtm_esp32_rtc_slow_start
#define RTC_SLOW_END rtm_esp32_rtc_slow_end
#define IRAM_START rtm_esp32_iram_start
#define IRAM_END rtm_esp32_iram_end
#define DIRAM_START rtm_esp32_diram_start
#define DIRAM_END rtm_esp32_diram_end
#define DRAM_START rtm_esp32_dram_start
#define DRAM_END rtm_esp32_dram_end
#define HAS_SPIRAM 1
#else
/* The memories' full sizes: SRAM2 (DRAM), SRAM1 (D/IRAM), SRAM0 less the
 * 64 KiB the flash cache takes (IRAM), RTC fast and slow, 4 MiB PSRAM. */
#if RTM_PRESET_ESP32_PSRAM_SIZE > 0
RTM_HEAP_STORAGE(esp32_spiram, RTM_PRESET_ESP32_PSRAM_SIZE);
#define SPIRAM_START esp32_spiram
#define SPIRAM_END (esp32_spiram + sizeof esp32_spiram)
#define HAS_SPIRAM 1
#else
#define HAS_SPIRAM 0
#endif
RTM_HEAP_STORAGE(esp32_rtcram, 8u * KIB);
RTM_HEAP_STORAGE(esp32_rtc_slow, 8u * KIB);
RTM_HEAP_STORAGE(esp32_iram, 128u * KIB);
RTM_HEAP_STORAGE(esp32_diram, 128u * KIB);
RTM_HEAP_STORAGE(esp32_dram, 200u * KIB);
#define RTCRAM_START esp32_rtcram
#define RTCRAM_END (esp32_rtcram + sizeof esp32_rtcram)
#define RTC_SLOW_START esp32_rtc_slow
#define RTC_SLOW_END (esp32_rtc_slow + sizeof esp32_rtc_slow)
#define IRAM_START esp32_iram
#define IRAM_END (esp32_iram + sizeof esp32_iram)
#define DIRAM_START esp32_diram
#define DIRAM_END (esp32_diram + sizeof esp32_diram)
#define DRAM_START esp32_dram
#define DRAM_END (esp32_dram + sizeof esp32_dram)
#endif

static const rtm_caps_region_desc_t k_regions[] = {
#if HAS_SPIRAM
    {"SPIRAM", SPIRAM_START, SPIRAM_END, CAPS_SPIRAM},
#endif
    {"RTCRAM", RTCRAM_START, RTCRAM_END, CAPS_RTCRAM},
    {"RTC_SLOW", RTC_SLOW_START, RTC_SLOW_END, CAPS_RTC_SLOW},
    {"IRAM", IRAM_START, IRAM_END, CAPS_IRAM},
    {"D/IRAM", DIRAM_START, DIRAM_END, CAPS_DIRAM},
    {"DRAM", DRAM_START, DRAM_END, CAPS_DRAM},
};

#define REGION_COUNT (sizeof k_regions / sizeof k_regions[0])

const rtm_caps_preset_t rtm_preset_esp32 = {
    .name = "esp32",
    .regions = k_regions,
    .region_count = REGION_COUNT,
    .flags = RTM_CAPS_EXEC_IS_32BIT,
    .cache_line = 32u,
};

static rtm_caps_registry_t g_registry;
static rtm_caps_region_t g_slots[REGION_COUNT + RTM_PRESET_SPARE_REGIONS];

rtm_caps_err_t rtm_preset_esp32_init(const rtm_caps_config_t *cfg)
{
    return rtm_caps_init_preset(&g_registry, g_slots, sizeof g_slots / sizeof g_slots[0],
                                &rtm_preset_esp32, cfg);
}
