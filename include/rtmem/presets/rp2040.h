/*
 * RP2040 memory-map preset: the 256 KiB striped main SRAM and the two 4 KiB
 * scratch banks.
 *
 *     rtm_preset_rp2040_init(NULL);
 *
 * Regions in search order:
 *
 *   name       address     heap bytes  level 0                 level 1        level 2
 *   SRAM       0x20000000     262,144  DEFAULT 8BIT 32BIT DMA  INTERNAL EXEC  -
 *   SCRATCH_X  0x20040000       2,048  SPM                     -              8BIT 32BIT DMA
 *                                                                             INTERNAL EXEC
 *   SCRATCH_Y  0x20041000       2,048  SPM                     -              8BIT 32BIT DMA
 *                                                                             INTERNAL EXEC
 *
 * Heap bytes are what the Pico SDK's default linker script
 * (memmap_default.ld) leaves: each scratch bank less the 2 KiB stack it
 * holds at its top (core 1 in X, core 0 in Y), and the main SRAM where
 * newlib's heap would be, less the image's .data/.bss on the chip (the host
 * buffer is the whole 256 KiB; on a target the linker symbols say it).
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
 * Host: static buffers of the heap bytes (260 KiB of .bss, only in this
 * preset's object). Target: RTM_PRESET_LINKER and the symbols
 *   rtm_rp2040_sram_start / _end   rtm_rp2040_scratch_x_start / _end
 *   rtm_rp2040_scratch_y_start / _end
 * (with the SDK's default script: __end__ to __HeapLimit, and each scratch
 * bank from its start to __StackOneBottom / __StackBottom).
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
