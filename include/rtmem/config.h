/*
 * rtmem compile-time configuration.
 *
 * Every option has a safe default. To change one, either
 *   - put a file named rtmem_config.h on the include path (it is picked up
 *     automatically, like FreeRTOSConfig.h), or
 *   - define RTM_CONFIG_FILE as a quoted file name ("board_rtmem.h"), or
 *   - pass the option as a compiler definition (CMake: RTMEM_EXTRA_DEFINES).
 * The user header is read first, so anything it defines wins.
 * docs/configuration.md lists every option with its effect and cost.
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

/* Default block granularity (and alignment of every result) of a heap whose
 * config leaves alignment at 0. A power of two, at least 4. */
#ifndef RTM_DEFAULT_ALIGN
#define RTM_DEFAULT_ALIGN 8u
#endif

/* TLSF second-level subdivisions per power of two, as log2 (2..5).
 * 4 means 16 size classes per doubling: worst-case internal waste 1/16.
 * Each step up doubles the free-list head table of every TLSF heap. */
#ifndef RTM_TLSF_SL_LOG2
#define RTM_TLSF_SL_LOG2 4
#endif

/* What the default misuse hook does after reporting through the output
 * hook: 0 = return and leave the heap intact (the misused call has no
 * effect), 1 = call RTM_ABORT(). */
#ifndef RTM_ABORT_ON_MISUSE
#define RTM_ABORT_ON_MISUSE 0
#endif

/* How rtmem stops the program: on misuse when RTM_ABORT_ON_MISUSE is 1, and
 * when a port primitive that cannot fail safely fails (a pthread mutex
 * error). Must not return. */
#ifndef RTM_ABORT
#define RTM_ABORT() __builtin_trap()
#endif

/* FreeRTOS port: 0 = a heap lock suspends the scheduler (vTaskSuspendAll,
 * the heap_4 way; interrupts stay enabled, no ISR may allocate),
 * 1 = a heap lock is a critical section (taskENTER_CRITICAL; short
 * interrupt latency cost, lets ISRs use the _from_isr variants later). */
#ifndef RTM_FREERTOS_USE_CRITICAL_SECTIONS
#define RTM_FREERTOS_USE_CRITICAL_SECTIONS 0
#endif

/* Fill bytes for freed and fresh memory, shared by the pools (RTM_POOL_FILL)
 * and the heap's comprehensive poisoning. ESP-IDF's values by default, so
 * dumps look familiar. */
#ifndef RTM_FILL_FREED
#define RTM_FILL_FREED 0xFEu
#endif
#ifndef RTM_FILL_FRESH
#define RTM_FILL_FRESH 0xCEu
#endif

/* Pools: 1 = every block handed out is filled with RTM_FILL_FRESH and every
 * block freed with RTM_FILL_FREED (after its first 4 bytes, which hold the
 * free-list link), so a read of uninitialised or freed memory shows a
 * recognisable value. Cost: one memset of the block per alloc and per free;
 * the freed fill is done under the lock. */
#ifndef RTM_POOL_FILL
#define RTM_POOL_FILL 0
#endif

/* Most size classes in one rtm_pool_set_t (each costs a pointer in the set). */
#ifndef RTM_POOL_SET_MAX_CLASSES
#define RTM_POOL_SET_MAX_CLASSES 8
#endif

/* Heap poisoning (docs/debugging.md): 0 = none, 1 = light (a head canary
 * and the requested size before every block, a tail canary after it,
 * checked on free, realloc, usable-size and integrity checks: 12 bytes a
 * block at the default granularity), 2 = comprehensive (light, plus free
 * memory holds RTM_POISON_FREE_BYTE and fresh memory RTM_POISON_FRESH_BYTE;
 * every allocation verifies the free pattern: O(block size) per call).
 * CMake: -DRTMEM_POISON=none|light|comprehensive. */
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

/* Exact pointer validation (docs/debugging.md): 1 = every heap keeps a
 * block-start map, one bit per granule of its arena (16 bytes per KiB at
 * the default 8-byte granularity), so free, realloc and usable_size accept
 * a pointer only if it is the start of a live block of that heap, whatever
 * the bytes around it hold. 0 = no map: the smallest build; a pointer is
 * then judged by the block headers and boundary tags around it, which
 * application data that looks like a header can fool. */
#ifndef RTM_EXACT_POINTERS
#define RTM_EXACT_POINTERS 1
#endif

#if (RTM_DEFAULT_ALIGN & (RTM_DEFAULT_ALIGN - 1u)) != 0 || RTM_DEFAULT_ALIGN < 4u
#error "RTM_DEFAULT_ALIGN must be a power of two, at least 4"
#endif
#if RTM_TLSF_SL_LOG2 < 2 || RTM_TLSF_SL_LOG2 > 5
#error "RTM_TLSF_SL_LOG2 must be between 2 and 5"
#endif
#if RTM_EXACT_POINTERS != 0 && RTM_EXACT_POINTERS != 1
#error "RTM_EXACT_POINTERS must be 0 or 1"
#endif
#if RTM_POISON_LEVEL < 0 || RTM_POISON_LEVEL > 2
#error "RTM_POISON_LEVEL must be 0 (none), 1 (light) or 2 (comprehensive)"
#endif

#endif
