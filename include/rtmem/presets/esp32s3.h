/*
 * ESP32-S3 memory-map preset: ESP-IDF's memory types and priority tables
 * (components/heap/port/esp32s3/memory_layout.c) for its default
 * configuration: memory protection on (so no EXEC heap: ESP-IDF offers no
 * MALLOC_CAP_EXEC memory then), 16 KiB instruction cache, 32 KiB data cache.
 *
 *     rtm_preset_esp32s3_init(NULL);
 *
 * Regions in search order:
 *
 *   name    chip address  heap bytes  level 0                  level 1             level 2
 *   SPIRAM  0x3C000000    8,388,608   SPIRAM                   -                   DEFAULT 8BIT 32BIT
 *                                                                                  SIMD
 *   RTCRAM  0x600FE000        8,168   RTCRAM                   -                   DEFAULT 8BIT 32BIT
 *                                                                                  INTERNAL
 *   DRAM    0x3FCF0000       32,768   -                        DEFAULT 8BIT 32BIT  -
 *                                                              INTERNAL DMA SIMD
 *   RAM     0x3FC88000      378,404   DEFAULT 8BIT 32BIT       -                   -
 *                                     INTERNAL DMA RETENTION
 *                                     SIMD
 *
 * Heap bytes are what ESP-IDF's heap has when app_main starts: RAM is the
 * D/IRAM up to the ROM's reserved data (421,428 B, the ROM startup stack
 * included: it is heap once app_main runs) less the image's .data/.bss
 * (RTM_PRESET_ESP32S3_STATIC_DATA_SIZE, default 43,024 B) and its IRAM code
 * past the 16 KiB IRAM-only block (RTM_PRESET_ESP32S3_IRAM_CODE_SIZE,
 * default 16 KiB: none past it); RTCRAM loses the RTC timer's 24 bytes.
 * Sources in src/presets/esp32s3.c, sums in docs/targets.md.
 *
 * "RAM" is the D/IRAM (SRAM1), "DRAM" the half of SRAM2 the 32 KiB data
 * cache leaves. Order as ESP-IDF: PSRAM (added at run time) first, the rest
 * by ascending size. Unlike the ESP32, the S3's PSRAM lists DEFAULT only at
 * level 2, so even a plain RTM_CAP_DEFAULT request takes internal RAM first.
 * Cache line 32 bytes (RTM_CAP_CACHE_ALIGNED).
 *
 * Host: static buffers of the heap bytes (about 8.4 MiB of .bss, only in
 * this preset's object). Target: RTM_PRESET_LINKER and the symbols
 *   rtm_esp32s3_spiram_start / _end   rtm_esp32s3_rtcram_start / _end
 *   rtm_esp32s3_dram_start / _end     rtm_esp32s3_ram_start / _end
 * (RAM as ESP-IDF's heap has it: from _heap_start to 0x3FCEEE34; the ROM
 * startup stack inside it is in use until the scheduler starts, so call
 * the init from a task)
 */
#ifndef RTMEM_PRESETS_ESP32S3_H
#define RTMEM_PRESETS_ESP32S3_H

#include "rtmem/caps.h"

#ifdef __cplusplus
extern "C" {
#endif

/* Host PSRAM size in bytes (0 = no SPIRAM region):
 * RTM_PRESET_ESP32S3_PSRAM_SIZE, config.h. Default 8 MiB: the octal PSRAM
 * of the common N8R8/N16R8 modules. The image's IRAM code and .data/.bss
 * (from its map file): RTM_PRESET_ESP32S3_IRAM_CODE_SIZE and
 * RTM_PRESET_ESP32S3_STATIC_DATA_SIZE. */

extern const rtm_caps_preset_t rtm_preset_esp32s3;

/* As rtm_preset_esp32_init, for this map. */
rtm_caps_err_t rtm_preset_esp32s3_init(const rtm_caps_config_t *cfg);

#ifdef __cplusplus
}
#endif

#endif
