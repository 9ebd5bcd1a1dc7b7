/*
 * ESP32-S3 preset data (include/rtmem/presets/esp32s3.h).
 */
#include "rtmem/presets/esp32s3.h"

#define KIB 1024u

/* ESP-IDF memory types, components/heap/port/esp32s3/memory_layout.c, with
 * CONFIG_ESP_SYSTEM_MEMPROT (the default). */
#define COMMON (RTM_CAP_DEFAULT | RTM_CAP_32BIT | RTM_CAP_8BIT)
#define CAPS_SPIRAM {RTM_CAP_SPIRAM, 0, COMMON | RTM_CAP_SIMD}
#define CAPS_RTCRAM {RTM_CAP_RTCRAM, 0, COMMON | RTM_CAP_INTERNAL}
#define CAPS_DRAM {0, COMMON | RTM_CAP_INTERNAL | RTM_CAP_DMA | RTM_CAP_SIMD, 0}
#define CAPS_RAM                                                                               \
    {COMMON | RTM_CAP_INTERNAL | RTM_CAP_DMA | RTM_CAP_RETENTION | RTM_CAP_SIMD, 0, 0}

#if defined(RTM_PRESET_LINKER)
extern uint8_t rtm_esp32s3_spiram_start[], rtm_esp32s3_spiram_end[];
extern uint8_t rtm_esp32s3_rtcram_start[], rtm_esp32s3_rtcram_end[];
extern uint8_t rtm_esp32s3_dram_start[], rtm_esp32s3_dram_end[];
extern uint8_t rtm_esp32s3_ram_start[], rtm_esp32s3_ram_end[];
#define SPIRAM_START rtm_esp32s3_spiram_start
#define SPIRAM_END rtm_esp32s3_spiram_end
#define RTCRAM_START rtm_esp32s3_rtcram_start
#define RTCRAM_END rtm_esp32s3_rtcram_end
#define DRAM_START rtm_esp32s3_dram_start
#define DRAM_END rtm_esp32s3_dram_end
#define RAM_START rtm_esp32s3_ram_start
#define RAM_END rtm_esp32s3_ram_end
#define HAS_SPIRAM 1
#else
/* What ESP-IDF's heap has when app_main starts, default configuration
 * (memory protection on, 16 KiB instruction cache, 32 KiB data cache).
 * Sources: ESP-IDF master v6.1-dev (commit 102122904ade),
 * components/heap/port/esp32s3/memory_layout.c, components/esp_system/ld/
 * esp32s3/memory.ld.in, components/soc/esp32s3/include/soc/soc.h; ESP32-S3
 * TRM chapter 4 (System and Memory) for the SRAM blocks. */
#if RTM_PRESET_ESP32S3_PSRAM_SIZE > 0
RTM_HEAP_STORAGE(esp32s3_spiram, RTM_PRESET_ESP32S3_PSRAM_SIZE);
#define SPIRAM_START esp32s3_spiram
#define SPIRAM_END (esp32s3_spiram + sizeof esp32s3_spiram)
#define HAS_SPIRAM 1
#else
#define HAS_SPIRAM 0
#endif

/* D/IRAM, 0x3FC88000 (SOC_DIRAM_DRAM_LOW) up to 0x3FCEEE34, where the
 * ROM's reserved data begins (its layout table's dram0_rtos_reserved_start;
 * it runs to SOC_DIRAM_DRAM_HIGH 0x3FCF0000): 421,428 B. The ROM startup
 * stack below it (0x3FCE9710-0x3FCEB710) is heap again once app_main runs.
 * The image's IRAM code starts at 0x40374000, in the 16 KiB block the
 * instruction cache leaves IRAM-only (no heap under memory protection);
 * code past it and the image's .data/.bss come out of this heap. */
#define IRAM_CODE_PAST_ONLY_BLOCK                                                              \
    (RTM_PRESET_ESP32S3_IRAM_CODE_SIZE > 16384 ? RTM_PRESET_ESP32S3_IRAM_CODE_SIZE - 16384 : 0)
#define RAM_HEAP (421428u - IRAM_CODE_PAST_ONLY_BLOCK - RTM_PRESET_ESP32S3_STATIC_DATA_SIZE)

/* 0x3FCF0000-0x3FCF8000: the half of SRAM2 a 32 KiB data cache leaves. */
#define DRAM_HEAP (32u * KIB)

/* RTC fast memory 0x600FE000, 8 KiB, less the 24 bytes at its top that
 * rtc_reserved_seg keeps for the RTC timer (RTC_TIMER_RESERVE_RTC; the
 * bootloader's share is 0 by default). */
#define RTCRAM_HEAP (8u * KIB - 24u)

RTM_HEAP_STORAGE(esp32s3_rtcram, RTCRAM_HEAP);
RTM_HEAP_STORAGE(esp32s3_dram, DRAM_HEAP);
RTM_HEAP_STORAGE(esp32s3_ram, RAM_HEAP);
#define RTCRAM_START esp32s3_rtcram
#define RTCRAM_END (esp32s3_rtcram + sizeof esp32s3_rtcram)
#define DRAM_START esp32s3_dram
#define DRAM_END (esp32s3_dram + sizeof esp32s3_dram)
#define RAM_START esp32s3_ram
#define RAM_END (esp32s3_ram + sizeof esp32s3_ram)
#endif

static const rtm_caps_region_desc_t k_regions[] = {
#if HAS_SPIRAM
    {"SPIRAM", SPIRAM_START, SPIRAM_END, CAPS_SPIRAM},
#endif
    {"RTCRAM", RTCRAM_START, RTCRAM_END, CAPS_RTCRAM},
    {"DRAM", DRAM_START, DRAM_END, CAPS_DRAM},
    {"RAM", RAM_START, RAM_END, CAPS_RAM},
};

#define REGION_COUNT (sizeof k_regions / sizeof k_regions[0])

const rtm_caps_preset_t rtm_preset_esp32s3 = {
    .name = "esp32s3",
    .regions = k_regions,
    .region_count = REGION_COUNT,
    .flags = 0,
    .cache_line = 32u,
};

static rtm_caps_registry_t g_registry;
static rtm_caps_region_t g_slots[REGION_COUNT + RTM_PRESET_SPARE_REGIONS];

rtm_caps_err_t rtm_preset_esp32s3_init(const rtm_caps_config_t *cfg)
{
    return rtm_caps_init_preset(&g_registry, g_slots, sizeof g_slots / sizeof g_slots[0],
                                &rtm_preset_esp32s3, cfg);
}
