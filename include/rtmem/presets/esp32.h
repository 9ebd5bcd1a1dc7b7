/*
 * ESP32 memory-map preset: ESP-IDF's memory types and priority tables
 * (components/heap/port/esp32/memory_layout.c), one region per memory.
 *
 *     rtm_preset_esp32_init(NULL);   // the whole map, one call
 *
 * Regions in search order (the order regions are tried within a level):
 *
 *   name      chip address  heap bytes  level 0              level 1               level 2
 *   SPIRAM    0x3F800000    4,194,304   SPIRAM DEFAULT       -                     8BIT 32BIT
 *   RTCRAM    0x3FF80000        8,192   RTCRAM               8BIT DEFAULT          INTERNAL 32BIT EXEC
 *   RTC_SLOW  0x50000000        8,192   RTC_SLOW             -                     8BIT 32BIT INTERNAL
 *   IRAM      0x40080000       93,108   INTERNAL EXEC 32BIT  -                     -
 *   D/IRAM    0x3FFE0000      128,912   -                    DMA 8BIT INTERNAL     32BIT EXEC
 *                                                            DEFAULT
 *   DRAM      0x3FFAE000      191,064   8BIT DEFAULT         INTERNAL DMA 32BIT    -
 *
 * Heap bytes are what ESP-IDF's heap has when app_main starts, default
 * configuration (dual core, Bluetooth off, no trace memory), for the image
 * of ESP-IDF's documented boot log: IRAM is 128 KiB less the image's IRAM
 * code (RTM_PRESET_ESP32_IRAM_CODE_SIZE, 37,964 B), D/IRAM is SRAM1 less the
 * ROM's data (2,160 B), DRAM is SRAM2 and SRAM1's data part less the ROM's
 * data (1,760 B) and the image's .data/.bss
 * (RTM_PRESET_ESP32_STATIC_DATA_SIZE, 11,976 B). RTM_PRESET_ESP32_BT_RESERVE
 * takes out the Bluetooth controller's 38,412 B of DRAM. src/presets/esp32.c
 * has the addresses and sources, docs/targets.md the per-capability sums.
 * RTCRAM and RTC_SLOW are whole: ESP-IDF's default (dual-core)
 * configuration gives its heap no RTC memory (RTC fast memory only in
 * single-core mode, RTC slow memory never), so a real ESP32 reports 16 KiB
 * less of INTERNAL, 8BIT and 32BIT memory, and 8 KiB less of EXEC and
 * DEFAULT, than this preset.
 *
 * The order is the one ESP-IDF ends up with: it sorts the heaps it
 * registers at boot by ascending size and PSRAM, added later with
 * heap_caps_add_region_with_caps, goes to the head of the list.
 * RTC_SLOW is rtmem's addition (ESP-IDF keeps RTC slow memory out of the
 * heap): only requests naming RTM_CAP_RTC_SLOW, or 8BIT/32BIT/INTERNAL
 * requests as the very last resort, reach it. The registry gets
 * RTM_CAPS_EXEC_IS_32BIT (EXEC implies 32BIT; EXEC with 8BIT or DMA fails)
 * and a 32-byte cache line for RTM_CAP_CACHE_ALIGNED.
 *
 * What follows from the tables (tested in tests/test_caps.c):
 *   - rtm_caps_malloc_default (malloc): DRAM, then RTCRAM, then D/IRAM;
 *     PSRAM only under the external-memory policy (rtm_caps_extmem_enable),
 *     for requests above its limit.
 *   - DMA: D/IRAM, then DRAM; never PSRAM, IRAM or RTC memory.
 *   - EXEC: IRAM, then RTCRAM and D/IRAM (executable through their
 *     instruction-bus aliases on the chip); never DRAM or PSRAM.
 *   - 8BIT: never IRAM. 32BIT: IRAM first.
 *   - RTM_CAP_INTERNAL alone: IRAM first (INTERNAL sits at IRAM's level 0,
 *     as on ESP-IDF); ask INTERNAL | 8BIT for byte-accessible memory.
 * ESP-IDF options not modelled: CONFIG_ESP32_IRAM_AS_8BIT_ACCESSIBLE_MEMORY
 * (IRAM_8BIT), and the instruction-bus address translation of EXEC blocks
 * from D/IRAM (rtmem returns the data-bus address).
 *
 * Host (default): each region is a static buffer of its heap bytes (about
 * 4.4 MiB of .bss, in this file's object only, which the linker drops
 * unless rtm_preset_esp32 or rtm_preset_esp32_init is used). Set the image
 * sizes from your map file (idf.py size) to see your firmware's figures.
 *
 * Target: build with RTM_PRESET_LINKER defined; the linker script must then
 * define, for each region, the bounds of the part left for the heap:
 *   rtm_esp32_spiram_start / _end      rtm_esp32_rtcram_start / _end
 *   rtm_esp32_rtc_slow_start / _end    rtm_esp32_iram_start / _end
 *   rtm_esp32_diram_start / _end       rtm_esp32_dram_start / _end
 * (start == end drops a region, e.g. a board without PSRAM). To give the
 * heap what ESP-IDF's would have: IRAM from _iram_end to 0x400A0000, DRAM
 * from _heap_start to 0x3FFE0000, D/IRAM from 0x3FFE4350 to 0x40000000
 * (ESP-IDF's larger D/IRAM heap); the pieces below the ROM's data
 * (0x3FFAE6E0-0x3FFB0000, 0x3FFE0440-0x3FFE3F20) can be added with
 * rtm_caps_add_region.
 */
#ifndef RTMEM_PRESETS_ESP32_H
#define RTMEM_PRESETS_ESP32_H

#include "rtmem/caps.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Host builds, config.h: RTM_PRESET_ESP32_PSRAM_SIZE (default 4 MiB, 0 = no
 * SPIRAM region), RTM_PRESET_ESP32_IRAM_CODE_SIZE and
 * RTM_PRESET_ESP32_STATIC_DATA_SIZE (the image's IRAM code and .data/.bss,
 * from its map file), RTM_PRESET_ESP32_BT_RESERVE (1 = Bluetooth enabled). */

extern const rtm_caps_preset_t rtm_preset_esp32;

/* Makes the ESP32 map the active registry, with static storage for the
 * registry and its slots (the regions plus RTM_PRESET_SPARE_REGIONS for
 * rtm_caps_add_region). cfg as rtm_caps_init_preset (NULL = defaults).
 * Errors as rtm_caps_init_preset. End it with rtm_caps_deinit; it may then
 * be called again (the regions start empty). */
rtm_caps_err_t rtm_preset_esp32_init(const rtm_caps_config_t *cfg);

#ifdef __cplusplus
}
#endif

#endif
