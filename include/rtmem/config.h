/*
 * rtmem compile-time configuration: every option's default and every
 * option's range check, in this one file.
 *
 * Every option has a safe default. To change one, either
 *   - put a file named rtmem_config.h on the include path (it is picked up
 *     automatically, like FreeRTOSConfig.h), or
 *   - define RTM_CONFIG_FILE as a quoted file name ("board_rtmem.h"), or
 *   - pass the option as a compiler definition (CMake: RTMEM_EXTRA_DEFINES).
 * The user header is read first, so anything it defines wins. Set each
 * option in one place only: the same macro from the command line and from
 * the header with different values is a redefinition the compiler reports.
 * A value out of range stops the build with an #error naming the option.
 * docs/configuration.md lists every option with its effect and cost.
 *
 * The options of the FreeRTOS heap drop-in (configRTMEM_*) belong to
 * FreeRTOSConfig.h, which only compat/freertos/heap_rtmem.c sees: their
 * defaults and checks are there (docs/freertos.md).
 */
#ifndef RTMEM_CONFIG_H
#define RTMEM_CONFIG_H

#if defined(RTM_CONFIG_FILE)
#include RTM_CONFIG_FILE
#elif defined(__has_include)
#if __has_include("rtmem_config.h")
#include "rtmem_config.h"
#endif
#endif

/* ------------------------------------------------------------------ */
/* Heap core                                                           */

/* Default block granularity (and alignment of every result) of a heap whose
 * config leaves alignment at 0. A power of two, 4..65536. It also sets
 * TLSF's class layout at compile time (the width of its smallest classes),
 * for every heap whatever its own granularity. */
#ifndef RTM_DEFAULT_ALIGN
#define RTM_DEFAULT_ALIGN 8u
#endif

/* The strategy object of a heap whose config names none (strategy NULL):
 * rtm_strategy_tlsf, rtm_strategy_first_fit, rtm_strategy_best_fit,
 * rtm_strategy_bump or (with RTM_WITH_SYSTEM) rtm_strategy_system. It is
 * the one strategy the heap front itself refers to, so a program whose
 * heaps all use another strategy links TLSF too unless this names theirs.
 * Any other name does not compile. */
#ifndef RTM_DEFAULT_STRATEGY
#define RTM_DEFAULT_STRATEGY rtm_strategy_tlsf
#endif

/* TLSF second-level subdivisions per power of two, as log2 (2..5).
 * 4 means 16 size classes per doubling: worst-case internal waste 1/16.
 * Each step up doubles the free-list head table of every TLSF heap. */
#ifndef RTM_TLSF_SL_LOG2
#define RTM_TLSF_SL_LOG2 4
#endif

/* Exact pointer validation (docs/debugging.md): 1 = every block strategy
 * keeps a block-start map, one bit per granule of its arena (16 bytes per
 * KiB at the default 8-byte granularity), so free, realloc and usable_size
 * accept a pointer only if it is the start of a live block of that heap,
 * whatever the bytes around it hold. 0 = no map: the smallest build; a
 * pointer is then judged by the block headers and boundary tags around it,
 * which application data that looks like a header can fool. */
#ifndef RTM_EXACT_POINTERS
#define RTM_EXACT_POINTERS 1
#endif

/* 1 on cores that execute speculatively, where a mispredicted branch costs
 * 15 to 20 cycles (x86, 64-bit ARM); 0 on others (Cortex-M, Xtensa, RISC-V
 * microcontrollers), which pay a cycle or two for a branch and about one
 * per instruction. Not an option: the default of those below. */
#if defined(__x86_64__) || defined(__i386__) || defined(__aarch64__) || defined(_M_X64) || \
    defined(_M_IX86) || defined(_M_ARM64)
#define RTM_SPECULATIVE_CORE 1
#else
#define RTM_SPECULATIVE_CORE 0
#endif

/* TLSF's free-list updates (docs/benchmarks.md): 1 = without a branch on
 * whether a size class's list was or becomes empty, which a mixed workload
 * makes close to random; the next block's back link is written through a
 * select (to a spare word when there is none) and the bitmaps are updated
 * every time: about half the mispredicted branches for about 13 more
 * instructions per operation. 0 = the branches, for cores where an
 * instruction costs more than a branch. Either way the same blocks are
 * placed at the same addresses. */
#ifndef RTM_TLSF_BRANCH_FREE
#define RTM_TLSF_BRANCH_FREE RTM_SPECULATIVE_CORE
#endif

/* Strategies need no option: a heap's config names its strategy object
 * (heap.h), so a program links the strategies it uses and no other.
 * RTM_WITH_SYSTEM (libc malloc, FreeRTOS heap_3) is the exception, because
 * it needs the C library's allocator: 0 by default, and a heap that names
 * rtm_strategy_system is then refused (RTM_ERR_UNSUPPORTED); the CMake
 * option RTMEM_WITH_SYSTEM sets it to 1 for hosted builds. */
/* RTMEM_WITH_SYSTEM (defined, any value) is the deprecated C name of
 * RTM_WITH_SYSTEM 1. It is still accepted, and still defined whenever the
 * strategy is compiled in, for code that tests the old name. */
#if defined(RTMEM_WITH_SYSTEM) && defined(RTM_WITH_SYSTEM)
#if !RTM_WITH_SYSTEM
#error "RTM_WITH_SYSTEM is 0 but the deprecated RTMEM_WITH_SYSTEM is defined"
#endif
#endif
#ifndef RTM_WITH_SYSTEM
#if defined(RTMEM_WITH_SYSTEM)
#define RTM_WITH_SYSTEM 1
#else
#define RTM_WITH_SYSTEM 0
#endif
#endif
#if RTM_WITH_SYSTEM == 1 && !defined(RTMEM_WITH_SYSTEM)
#define RTMEM_WITH_SYSTEM 1
#endif

/* ------------------------------------------------------------------ */
/* Misuse and corruption                                               */

/* What the default misuse hook does after reporting through the output
 * hook: 0 = return and leave the heap intact (the misused call has no
 * effect), 1 = call RTM_ABORT(). */
#ifndef RTM_ABORT_ON_MISUSE
#define RTM_ABORT_ON_MISUSE 0
#endif

/* How rtmem stops the program: on misuse when RTM_ABORT_ON_MISUSE is 1, on
 * corruption unless RTM_CORRUPTION_CONTINUE is 1, and when a port primitive
 * that cannot fail safely fails (a pthread mutex error). Must not return. */
#ifndef RTM_ABORT
#define RTM_ABORT() __builtin_trap()
#endif

/* Heap poisoning (docs/debugging.md): 0 = none, 1 = light (a head canary
 * and the requested size before every block, a tail canary after it,
 * checked on free, realloc, usable-size and integrity checks: 12 bytes a
 * block at the default granularity), 2 = comprehensive (light, plus free
 * memory holds RTM_POISON_FREE_BYTE and fresh memory RTM_POISON_FRESH_BYTE;
 * every allocation verifies the free pattern: O(block size) per call).
 * CMake: -DRTMEM_POISON=none|light|comprehensive passes it as a definition;
 * left unset, CMake passes nothing and this default or your rtmem_config.h
 * decides. ESP-IDF: a level chosen in menuconfig arrives as
 * RTM_IDF_POISON_LEVEL and becomes RTM_POISON_LEVEL here, after your
 * rtmem_config.h, so a header that sets the level as well is no
 * redefinition; the two must agree. menuconfig's default passes none. */
#if defined(RTM_IDF_POISON_LEVEL) && defined(RTM_POISON_LEVEL)
#if (RTM_POISON_LEVEL) != (RTM_IDF_POISON_LEVEL)
#error "RTM_POISON_LEVEL (rtmem_config.h or a definition) differs from menuconfig's rtmem > Heap poisoning: set the level in one place"
#endif
#elif defined(RTM_IDF_POISON_LEVEL)
#define RTM_POISON_LEVEL RTM_IDF_POISON_LEVEL
#endif
#ifndef RTM_POISON_LEVEL
#define RTM_POISON_LEVEL 0
#endif

/* What the default corruption hook does after printing its report: 0 =
 * call RTM_ABORT() (a corrupt heap cannot be trusted), 1 = return; the call
 * that found the corruption then has no effect (the block is left alone).
 * rtm_debug_set_continue() changes it at run time (tests). */
#ifndef RTM_CORRUPTION_CONTINUE
#define RTM_CORRUPTION_CONTINUE 0
#endif

/* Fill bytes (0..255) for freed and fresh memory, shared by the pools
 * (RTM_POOL_FILL) and the heap's comprehensive poisoning. ESP-IDF's values
 * by default, so dumps look familiar. */
#ifndef RTM_FILL_FREED
#define RTM_FILL_FREED 0xFEu
#endif
#ifndef RTM_FILL_FRESH
#define RTM_FILL_FRESH 0xCEu
#endif

/* ------------------------------------------------------------------ */
/* Pools (pool.h)                                                      */

/* 1 = every block handed out is filled with RTM_FILL_FRESH and every block
 * freed with RTM_FILL_FREED (after its first 4 bytes, which hold the
 * free-list link), so a read of uninitialised or freed memory shows a
 * recognisable value. Cost: one memset of the block per alloc and per free;
 * the freed fill is done under the lock. */
#ifndef RTM_POOL_FILL
#define RTM_POOL_FILL 0
#endif

/* Most size classes in one rtm_pool_set_t (each costs a pointer in the set
 * and in the creating call's stack frame). At least 1. */
#ifndef RTM_POOL_SET_MAX_CLASSES
#define RTM_POOL_SET_MAX_CLASSES 8
#endif

/* ------------------------------------------------------------------ */
/* Capability regions and presets (caps.h, presets/)                   */

/* Extra slots the presets' one-call init functions reserve for
 * rtm_caps_add_region at run time. At least 0. */
#ifndef RTM_PRESET_SPARE_REGIONS
#define RTM_PRESET_SPARE_REGIONS 4
#endif

/* Host builds of the presets: the PSRAM each ESP preset gets (0 = no SPIRAM
 * region) and the size of the generic preset's one RAM. Define
 * RTM_PRESET_LINKER (no value needed) on a target instead: the presets then
 * take their regions' bounds from linker symbols (presets/<chip>.h). */
#ifndef RTM_PRESET_ESP32_PSRAM_SIZE
#define RTM_PRESET_ESP32_PSRAM_SIZE (4u * 1024u * 1024u)
#endif
#ifndef RTM_PRESET_ESP32S3_PSRAM_SIZE
#define RTM_PRESET_ESP32S3_PSRAM_SIZE (8u * 1024u * 1024u)
#endif
#ifndef RTM_PRESET_GENERIC_SIZE
#define RTM_PRESET_GENERIC_SIZE (64u * 1024u)
#endif

/* What the application's own image takes out of the ESP presets' heap
 * regions (host builds; on a target the linker symbols say it). Set them
 * from your map file (idf.py size): the IRAM its code occupies and the
 * DRAM its .data/.bss occupy. The defaults are the image of ESP-IDF's own
 * documented boot log (docs/targets.md says which). RTM_PRESET_ESP32_BT_RESERVE
 * = 1 takes out what ESP-IDF reserves for the ESP32's Bluetooth
 * controller (CONFIG_BT_ENABLED). */
#ifndef RTM_PRESET_ESP32_BT_RESERVE
#define RTM_PRESET_ESP32_BT_RESERVE 0
#endif
#ifndef RTM_PRESET_ESP32_IRAM_CODE_SIZE
#define RTM_PRESET_ESP32_IRAM_CODE_SIZE 37964
#endif
#ifndef RTM_PRESET_ESP32_STATIC_DATA_SIZE
#define RTM_PRESET_ESP32_STATIC_DATA_SIZE 11976
#endif
#ifndef RTM_PRESET_ESP32S3_IRAM_CODE_SIZE
#define RTM_PRESET_ESP32S3_IRAM_CODE_SIZE 16384
#endif
#ifndef RTM_PRESET_ESP32S3_STATIC_DATA_SIZE
#define RTM_PRESET_ESP32S3_STATIC_DATA_SIZE 43024
#endif

/* ------------------------------------------------------------------ */
/* Heap event consumers (observer.h, trace.h, task_stats.h)            */

/* Observers one rtm_observer_chain_t holds. At least 1. */
#ifndef RTM_OBSERVER_CHAIN_MAX
#define RTM_OBSERVER_CHAIN_MAX 4
#endif

/* Caller addresses kept per trace record (1..8). Each costs one pointer per
 * record. Without RTM_TRACE_FRAME_WALK only callers[0] is ever filled. */
#ifndef RTM_TRACE_DEPTH
#define RTM_TRACE_DEPTH 2
#endif

/* 1 = fill a trace record's callers[1..] by walking frames (trace.h; needs
 * frame pointers everywhere). 0: never walks. */
#ifndef RTM_TRACE_FRAME_WALK
#define RTM_TRACE_FRAME_WALK 0
#endif

/* Bytes of a task name in task statistics, NUL included (longer names are
 * cut). At least 1. */
#ifndef RTM_TASK_NAME_LEN
#define RTM_TASK_NAME_LEN 16
#endif

/* Heaps with their own figures per task-statistics object (1..254: a task
 * record keeps the heap's slot in a byte, 0xff meaning none). */
#ifndef RTM_TASK_STATS_MAX_HEAPS
#define RTM_TASK_STATS_MAX_HEAPS 4
#endif

/* ------------------------------------------------------------------ */
/* Monitor (monitor.h)                                                 */

/* Allocation sizes tracked per memory watch for the pool rule. At least 1. */
#ifndef RTM_MONITOR_SIZE_SLOTS
#define RTM_MONITOR_SIZE_SLOTS 8
#endif

/* Alerts delivered per tick; more are counted in rtm_monitor_status_t
 * .alerts_dropped (they are raised all the same, only not reported). At
 * least 1. */
#ifndef RTM_MONITOR_MAX_ALERTS_PER_TICK
#define RTM_MONITOR_MAX_ALERTS_PER_TICK 16
#endif

/* The size from which the capability observer counts an allocation that
 * asked for no DMA as a candidate for PSRAM. */
#ifndef RTM_MONITOR_LARGE_BYTES
#define RTM_MONITOR_LARGE_BYTES 4096u
#endif

/* ------------------------------------------------------------------ */
/* Ports                                                               */

/* POSIX port (stack.h): threads started by rtm_thread_start that can be
 * alive (not yet joined) at once. At least 1. */
#ifndef RTM_STACK_MAX_THREADS
#define RTM_STACK_MAX_THREADS 16
#endif

/* FreeRTOS port: how a heap, pool, region registry or monitor is locked.
 *   0 = the scheduler is suspended (vTaskSuspendAll / xTaskResumeAll, the
 *       heap_4 way): other tasks are held off, interrupts stay enabled.
 *   1 = a critical section (taskENTER_CRITICAL / taskEXIT_CRITICAL): the
 *       interrupts the kernel masks (on ports with priority masking those
 *       at or below configMAX_SYSCALL_INTERRUPT_PRIORITY) are held off as
 *       well while the lock is held, so an operation is never stretched by
 *       them; that time (bounded, O(1) for TLSF) adds to interrupt latency.
 * Neither makes rtmem callable from an ISR: the critical section is the
 * kernel's task-level form, and rtmem has no ISR entry points on this port.
 * 1 is refused on ESP-IDF, whose critical sections need a spinlock. */
#ifndef RTM_FREERTOS_USE_CRITICAL_SECTIONS
#define RTM_FREERTOS_USE_CRITICAL_SECTIONS 0
#endif

/* FreeRTOS port: the task-notification index a blocked rtm_pool_alloc_wait
 * waits on. Its default, the last index (configTASK_NOTIFICATION_ARRAY_ENTRIES
 * - 1), and its upper bound depend on FreeRTOSConfig.h, so they are settled
 * in src/port/freertos.c; a value below 0 is refused here. */

/* ------------------------------------------------------------------ */
/* Range checks                                                        */

#if (RTM_DEFAULT_ALIGN & (RTM_DEFAULT_ALIGN - 1u)) != 0 || RTM_DEFAULT_ALIGN < 4u || \
    RTM_DEFAULT_ALIGN > 65536u
#error "RTM_DEFAULT_ALIGN must be a power of two, at least 4 and at most 65536"
#endif
#if RTM_TLSF_SL_LOG2 < 2 || RTM_TLSF_SL_LOG2 > 5
#error "RTM_TLSF_SL_LOG2 must be between 2 and 5"
#endif
#if RTM_EXACT_POINTERS != 0 && RTM_EXACT_POINTERS != 1
#error "RTM_EXACT_POINTERS must be 0 or 1"
#endif
#if RTM_TLSF_BRANCH_FREE != 0 && RTM_TLSF_BRANCH_FREE != 1
#error "RTM_TLSF_BRANCH_FREE must be 0 or 1"
#endif
#if RTM_WITH_SYSTEM != 0 && RTM_WITH_SYSTEM != 1
#error "RTM_WITH_SYSTEM must be 0 or 1"
#endif
#if RTM_ABORT_ON_MISUSE != 0 && RTM_ABORT_ON_MISUSE != 1
#error "RTM_ABORT_ON_MISUSE must be 0 or 1"
#endif
#if RTM_POISON_LEVEL < 0 || RTM_POISON_LEVEL > 2
#error "RTM_POISON_LEVEL must be 0 (none), 1 (light) or 2 (comprehensive)"
#endif
#if RTM_CORRUPTION_CONTINUE != 0 && RTM_CORRUPTION_CONTINUE != 1
#error "RTM_CORRUPTION_CONTINUE must be 0 or 1"
#endif
#if RTM_FILL_FREED < 0 || RTM_FILL_FREED > 255
#error "RTM_FILL_FREED must be a byte value (0..255)"
#endif
#if RTM_FILL_FRESH < 0 || RTM_FILL_FRESH > 255
#error "RTM_FILL_FRESH must be a byte value (0..255)"
#endif
#if RTM_POOL_FILL != 0 && RTM_POOL_FILL != 1
#error "RTM_POOL_FILL must be 0 or 1"
#endif
#if RTM_POOL_SET_MAX_CLASSES < 1
#error "RTM_POOL_SET_MAX_CLASSES must be at least 1"
#endif
#if RTM_PRESET_SPARE_REGIONS < 0
#error "RTM_PRESET_SPARE_REGIONS must be at least 0"
#endif
#if RTM_PRESET_ESP32_PSRAM_SIZE < 0
#error "RTM_PRESET_ESP32_PSRAM_SIZE must be at least 0"
#endif
#if RTM_PRESET_ESP32S3_PSRAM_SIZE < 0
#error "RTM_PRESET_ESP32S3_PSRAM_SIZE must be at least 0"
#endif
#if RTM_PRESET_GENERIC_SIZE < 1
#error "RTM_PRESET_GENERIC_SIZE must be at least 1"
#endif
#if RTM_PRESET_ESP32_BT_RESERVE != 0 && RTM_PRESET_ESP32_BT_RESERVE != 1
#error "RTM_PRESET_ESP32_BT_RESERVE must be 0 or 1"
#endif
/* IRAM is 128 KiB (0x40080000-0x400A0000); 4 KiB stay for the heap. */
#if RTM_PRESET_ESP32_IRAM_CODE_SIZE < 0 || RTM_PRESET_ESP32_IRAM_CODE_SIZE > 126976
#error "RTM_PRESET_ESP32_IRAM_CODE_SIZE must be 0..126976"
#endif
/* ESP-IDF's dram0_0_seg: 0x2C200 bytes, less 0xDB5C with Bluetooth. */
#if RTM_PRESET_ESP32_STATIC_DATA_SIZE < 0 ||                                                  \
    RTM_PRESET_ESP32_STATIC_DATA_SIZE > 180736 - 56156 * RTM_PRESET_ESP32_BT_RESERVE
#error "RTM_PRESET_ESP32_STATIC_DATA_SIZE must be 0..180736 (0..124580 with RTM_PRESET_ESP32_BT_RESERVE)"
#endif
/* Code past the 16 KiB IRAM-only block and static data share the S3's
 * 421,428-byte D/IRAM heap; 4 KiB of it stay for the heap. */
#if RTM_PRESET_ESP32S3_IRAM_CODE_SIZE < 0 || RTM_PRESET_ESP32S3_IRAM_CODE_SIZE > 16384 + 417332
#error "RTM_PRESET_ESP32S3_IRAM_CODE_SIZE must be 0..433716"
#endif
#if RTM_PRESET_ESP32S3_STATIC_DATA_SIZE < 0 ||                                                \
    RTM_PRESET_ESP32S3_STATIC_DATA_SIZE +                                                     \
            (RTM_PRESET_ESP32S3_IRAM_CODE_SIZE > 16384 ? RTM_PRESET_ESP32S3_IRAM_CODE_SIZE - 16384 \
                                                       : 0) >                                 \
        417332
#error "RTM_PRESET_ESP32S3_STATIC_DATA_SIZE must be 0..417332 less the code past 16 KiB"
#endif
#if RTM_OBSERVER_CHAIN_MAX < 1
#error "RTM_OBSERVER_CHAIN_MAX must be at least 1"
#endif
#if RTM_TRACE_DEPTH < 1 || RTM_TRACE_DEPTH > 8
#error "RTM_TRACE_DEPTH must be between 1 and 8"
#endif
#if RTM_TRACE_FRAME_WALK != 0 && RTM_TRACE_FRAME_WALK != 1
#error "RTM_TRACE_FRAME_WALK must be 0 or 1"
#endif
#if RTM_TASK_NAME_LEN < 1
#error "RTM_TASK_NAME_LEN must be at least 1"
#endif
#if RTM_TASK_STATS_MAX_HEAPS < 1 || RTM_TASK_STATS_MAX_HEAPS > 254
#error "RTM_TASK_STATS_MAX_HEAPS must be between 1 and 254"
#endif
#if RTM_MONITOR_SIZE_SLOTS < 1
#error "RTM_MONITOR_SIZE_SLOTS must be at least 1"
#endif
#if RTM_MONITOR_MAX_ALERTS_PER_TICK < 1
#error "RTM_MONITOR_MAX_ALERTS_PER_TICK must be at least 1"
#endif
#if RTM_STACK_MAX_THREADS < 1
#error "RTM_STACK_MAX_THREADS must be at least 1"
#endif
#if RTM_FREERTOS_USE_CRITICAL_SECTIONS != 0 && RTM_FREERTOS_USE_CRITICAL_SECTIONS != 1
#error "RTM_FREERTOS_USE_CRITICAL_SECTIONS must be 0 or 1"
#endif
#if defined(RTM_FREERTOS_NOTIFY_INDEX)
#if RTM_FREERTOS_NOTIFY_INDEX < 0
#error "RTM_FREERTOS_NOTIFY_INDEX must be at least 0"
#endif
#endif

#endif
