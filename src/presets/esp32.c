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
/* What ESP-IDF's heap has when app_main starts, default configuration
 * (dual core, Bluetooth off, no trace memory). Sources: ESP-IDF master
 * v6.1-dev (commit 102122904ade), components/heap/port/esp32/memory_layout.c
 * (regions and SOC_RESERVE_MEMORY_REGION), components/esp_system/ld/esp32/
 * memory.ld.in (dram0_0_seg), components/bt/include/esp32/include/esp_bt.h
 * (SOC_MEM_BT_*); ESP32 TRM section 3.3 for the SRAM blocks. */
#if RTM_PRESET_ESP32_PSRAM_SIZE > 0
RTM_HEAP_STORAGE(esp32_spiram, RTM_PRESET_ESP32_PSRAM_SIZE);
#define SPIRAM_START esp32_spiram
#define SPIRAM_END (esp32_spiram + sizeof esp32_spiram)
#define HAS_SPIRAM 1
#else
#define HAS_SPIRAM 0
#endif

/* SRAM0's IRAM, 0x40080000-0x400A0000 (its first 64 KiB are the two CPUs'
 * flash caches, reserved as cpu0_cache/cpu1_cache); iram_code reserves
 * what the image's IRAM code occupies from the bottom. */
#define IRAM_HEAP (128u * KIB - RTM_PRESET_ESP32_IRAM_CODE_SIZE)

/* SRAM1 as data, 0x3FFE0000-0x40000000, less the ROM's data: rom_pro_data
 * 0x3FFE0000-0x3FFE0440 (1,088 B) and rom_app_data 0x3FFE3F20-0x3FFE4350
 * (1,072 B, reserved unless single-core). ESP-IDF makes two heaps of the
 * rest (15,072 + 113,840 B). */
#define DIRAM_HEAP (128u * KIB - 1088u - 1072u)

/* SRAM2 (0x3FFAE000-0x3FFB0000) and SRAM1's first part up to 0x3FFE0000.
 * rom_data keeps 0x3FFAE000-0x3FFAE6E0, so 6,432 B stay below 0x3FFB0000;
 * from 0x3FFB0000 (dram0_0_seg) the image's .data/.bss come first, the
 * heap takes the rest up to 0x3FFE0000 (196,608 B less them).
 * With Bluetooth the controller's reservations (BLE-only default, no
 * BR/EDR sync links) take 38,412 B more: SOC_MEM_BT_DATA 0x3FFAE6E0-
 * 0x3FFAFF10 (6,192), EM 0x3FFB0000-0x3FFB6388 (25,480), BSS
 * 0x3FFB8000-0x3FFB9A20 (6,688) and MISC 0x3FFBDB28-0x3FFBDB5C (52), and
 * dram0_0_seg starts at 0x3FFBDB5C (CONFIG_BTDM_RESERVE_DRAM 0xDB5C): the
 * gaps left (240 + 7,288 + 16,648 B) stay heap. */
#define DRAM_BT_RESERVED (6192u + 25480u + 6688u + 52u)
#define DRAM_HEAP                                                                              \
    (6432u + 196608u - DRAM_BT_RESERVED * RTM_PRESET_ESP32_BT_RESERVE -                          \
     RTM_PRESET_ESP32_STATIC_DATA_SIZE)

RTM_HEAP_STORAGE(esp32_rtcram, 8u * KIB);
RTM_HEAP_STORAGE(esp32_rtc_slow, 8u * KIB);
RTM_HEAP_STORAGE(esp32_iram, IRAM_HEAP);
RTM_HEAP_STORAGE(esp32_diram, DIRAM_HEAP);
RTM_HEAP_STORAGE(esp32_dram, DRAM_HEAP);
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
