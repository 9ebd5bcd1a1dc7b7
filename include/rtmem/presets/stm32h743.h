/*
 * STM32H743 memory-map preset (RM0433): the TCM, AXI and domain SRAMs of
 * the H743/H753 as capability regions.
 *
 *     rtm_preset_stm32h743_init(NULL);
 *     uint8_t *rx = rtm_caps_malloc(512, RTM_CAP_DMA);      // D2 SRAM, never DTCM
 *     float *fir = rtm_caps_malloc(4096, RTM_CAP_SPM);      // DTCM: zero-wait-state
 *
 * Regions in search order:
 *
 *   name      address     heap bytes  level 0                 level 1              level 2
 *   DTCM      0x20000000     131,072  SPM DEFAULT 8BIT 32BIT  INTERNAL             -
 *   AXI_SRAM  0x24000000     522,752  EXEC                    DEFAULT 8BIT 32BIT   -
 *                                                             INTERNAL DMA
 *   SRAM1     0x30000000     131,072  DMA                     8BIT 32BIT INTERNAL  DEFAULT EXEC
 *   SRAM2     0x30020000     131,072  DMA                     8BIT 32BIT INTERNAL  DEFAULT EXEC
 *   SRAM3     0x30040000      32,768  DMA                     8BIT 32BIT INTERNAL  DEFAULT EXEC
 *   SRAM4     0x38000000      65,536  BDMA                    -                    DMA DEFAULT 8BIT
 *                                                                                  32BIT INTERNAL
 *
 * Heap bytes are what STM32CubeIDE's generated linker script for the
 * STM32H743xx leaves: it puts .data, .bss, the main stack (_Min_Stack_Size
 * 0x400, at the top) and newlib's sbrk minimum (_Min_Heap_Size 0x200) in
 * AXI SRAM (RAM_D1) and nothing in DTCM, the D2 SRAMs or SRAM4; on the
 * chip the image's .data/.bss also come out of AXI_SRAM (the host buffer
 * leaves them in).
 *
 * Why these levels (rtmem's choice; ST has no allocator table):
 *   - DTCM is the fastest data memory but no DMA1/DMA2/BDMA/Ethernet master
 *     reaches it (only the MDMA, through the AHBS port, which this table
 *     does not model), so it has no DMA bit and serves malloc first:
 *     malloc order DTCM, AXI_SRAM, SRAM1-3, SRAM4.
 *   - DMA requests go to the D2 SRAMs first (next to DMA1/DMA2 and the
 *     Ethernet MAC), then AXI SRAM, and to SRAM4 last because SRAM4 is the
 *     only RAM the BDMA reaches (RTM_CAP_BDMA selects it directly).
 *   - EXEC: AXI SRAM, then the D2 SRAMs. The DTCM is data-only.
 * The Cortex-M7 data cache has 32-byte lines: a buffer shared with a DMA
 * in cacheable memory should be asked with RTM_CAP_CACHE_ALIGNED, which
 * rounds address and size to 32 bytes. ITCM and the backup SRAM are left
 * out (code and retained data, not heap); add them with rtm_caps_add_region
 * if you want them.
 *
 * Host: static buffers of the heap bytes (about 1 MiB of .bss, only in
 * this preset's object). Target: RTM_PRESET_LINKER and the symbols
 *   rtm_stm32h743_dtcm_start / _end    rtm_stm32h743_axi_sram_start / _end
 *   rtm_stm32h743_sram1_start / _end   rtm_stm32h743_sram2_start / _end
 *   rtm_stm32h743_sram3_start / _end   rtm_stm32h743_sram4_start / _end
 * and the D2 SRAM clocks (RCC_AHB2ENR SRAM1EN..SRAM3EN) enabled before the
 * init call, since the heap writes its control block into each region.
 */
#ifndef RTMEM_PRESETS_STM32H743_H
#define RTMEM_PRESETS_STM32H743_H

#include "rtmem/caps.h"

#ifdef __cplusplus
extern "C" {
#endif

extern const rtm_caps_preset_t rtm_preset_stm32h743;

/* As rtm_preset_esp32_init, for this map. */
rtm_caps_err_t rtm_preset_stm32h743_init(const rtm_caps_config_t *cfg);

#ifdef __cplusplus
}
#endif

#endif
