/*
 * RP2040 memory-map preset: the 256 KiB striped main SRAM and the two 4 KiB
 * scratch banks.
 *
 *     rtm_preset_rp2040_init(NULL);
 *
 * Regions in search order:
 *
 *   name       address     size     level 0                 level 1          level 2
 *   SRAM       0x20000000  256 KiB  DEFAULT 8BIT 32BIT DMA  INTERNAL EXEC    -
 *   SCRATCH_X  0x20040000    4 KiB  SPM                     -                8BIT 32BIT DMA
 *                                                                            INTERNAL EXEC
 *   SCRATCH_Y  0x20041000    4 KiB  SPM                     -                8BIT 32BIT DMA
 *                                                                            INTERNAL EXEC
 *
 * SRAM0-3 are word-striped over four banks at 0x20000000, so concurrent
 * masters rarely collide there: it serves malloc and DMA. SCRATCH_X and
 * SCRATCH_Y (SRAM4, SRAM5) are separate banks on their own bus ports, used
 * by the Pico SDK for the two cores' stacks (core 1 in X, core 0 in Y) and
 * for per-core hot data; they never serve malloc (no DEFAULT) and are
 * selected with RTM_CAP_SPM (X first), or reached as the last resort of
 * 8BIT/32BIT/DMA/EXEC requests. To pick one bank, allocate from its heap:
 * rtm_malloc(rtm_caps_region_heap(rtm_caps_region_find("SCRATCH_Y")), n);
 * rtm_caps_free still finds it. Every RP2040 RAM can execute code and is
 * reachable by its DMA. No data cache: RTM_CAP_CACHE_ALIGNED rounds to the
 * default 8 bytes.
 *
 * Host: static buffers of the full sizes (264 KiB of .bss, only in this
 * preset's object). Target: RTM_PRESET_LINKER and the symbols
 *   rtm_rp2040_sram_start / _end   rtm_rp2040_scratch_x_start / _end
 *   rtm_rp2040_scratch_y_start / _end
 * (with the SDK's default linker script the scratch banks keep 2 KiB each
 * after the stacks).
 */
#ifndef RTMEM_PRESETS_RP2040_H
#define RTMEM_PRESETS_RP2040_H

#include "rtmem/caps.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const rtm_caps_preset_t rtm_preset_rp2040;

/* As rtm_preset_esp32_init, for this map. */
rtm_caps_err_t rtm_preset_rp2040_init(const rtm_caps_config_t *cfg);

#ifdef __cplusplus
}
#endif

#endif
