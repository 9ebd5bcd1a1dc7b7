/*
 * Generic single-region preset: one RAM that can do everything, for MCUs
 * with a single SRAM and for code that wants the caps API (or the ESP-IDF
 * compat layer) without caring about the chip.
 *
 *     rtm_preset_generic_init(NULL);
 *
 *   name  size                        level 0
 *   RAM   RTM_PRESET_GENERIC_SIZE     DEFAULT 8BIT 32BIT INTERNAL DMA EXEC
 *
 * Every request that names only these bits is served from it; requests for
 * SPIRAM, RTCRAM, SPM... fail (there is no such memory).
 *
 * Host: a static buffer of RTM_PRESET_GENERIC_SIZE bytes (only in this
 * preset's object). Target: RTM_PRESET_LINKER and the symbols
 * rtm_generic_ram_start / rtm_generic_ram_end (e.g. end of .bss to the
 * bottom of the main stack).
 */
#ifndef RTMEM_PRESETS_GENERIC_H
#define RTMEM_PRESETS_GENERIC_H

#include "rtmem/caps.h"

#ifdef __cplusplus
extern "C" {
#endif

/* RTM_PRESET_GENERIC_SIZE: config.h (default 64 KiB). */

extern const rtm_caps_preset_t rtm_preset_generic;

/* As rtm_preset_esp32_init, for this map. */
rtm_caps_err_t rtm_preset_generic_init(const rtm_caps_config_t *cfg);

#ifdef __cplusplus
}
#endif

#endif
