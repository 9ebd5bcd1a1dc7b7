/*
 * rtmem port layer: the only way the library reaches the operating system.
 *
 * Exactly one backend is linked, chosen at build time (CMake RTMEM_PORT):
 *   none      single-threaded, or user-supplied critical-section hooks
 *             (rtm_port_none_set_hooks); task id 0, ticks from a user hook
 *   posix     pthread mutexes, pthread_self(), CLOCK_MONOTONIC milliseconds
 *   freertos  scheduler suspension or critical sections
 *             (RTM_FREERTOS_USE_CRITICAL_SECTIONS), task handles, tick count
 * The build defines RTM_PORT_NONE, RTM_PORT_POSIX or RTM_PORT_FREERTOS for
 * the library and for its users (it sizes rtm_port_lock_t).
 *
 * A lock lives inside the object it protects (heap control block, pool...),
 * so creating an object never allocates.
 */
#ifndef RTMEM_PORT_H
#define RTMEM_PORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtmem/config.h"

#ifdef __cplusplus
extern "C" {
#endif

#if defined(RTM_PORT_POSIX)
#define RTM_PORT_LOCK_WORDS 8 /* 64 bytes: any glibc/musl pthread_mutex_t */
#else
#define RTM_PORT_LOCK_WORDS 1
#endif

/* Storage for one lock; its contents belong to the port. */
typedef struct rtm_port_lock {
    uint64_t storage[RTM_PORT_LOCK_WORDS];
} rtm_port_lock_t;

/* Prepares a lock. Returns false if the OS refused (the object that owns the
 * lock is then not created). Not from an ISR. */
bool rtm_port_lock_init(rtm_port_lock_t *lock);

/* Releases what rtm_port_lock_init took. The lock must be unlocked. */
void rtm_port_lock_destroy(rtm_port_lock_t *lock);

/* Takes and releases the lock. Not recursive. Held only for bounded work
 * inside rtmem; never held while a user hook runs. */
void rtm_port_lock(rtm_port_lock_t *lock);
void rtm_port_unlock(rtm_port_lock_t *lock);

/* Identity of the calling task or thread (never 0 on posix/freertos;
 * always 0 on the none port unless a hook is installed). */
uintptr_t rtm_port_task_id(void);

/* A monotonic tick counter: milliseconds on posix, RTOS ticks on freertos,
 * the user hook's value (or 0) on none. Wraps at 2^32 (at 2^16 on FreeRTOS
 * builds with 16-bit ticks). */
uint32_t rtm_port_ticks(void);

#if defined(RTM_PORT_NONE) || (!defined(RTM_PORT_POSIX) && !defined(RTM_PORT_FREERTOS))
/* none port only: install critical-section hooks for bare-metal use with
 * interrupts, e.g. enter = disable IRQs and return the old mask, exit =
 * restore it. Locking happens only when both enter and exit are set.
 * task_id and ticks may be NULL.
 * Call before any heap is created. */
typedef uint32_t (*rtm_port_enter_fn)(void);
typedef void (*rtm_port_exit_fn)(uint32_t state);
void rtm_port_none_set_hooks(rtm_port_enter_fn enter, rtm_port_exit_fn exit_fn,
                             uintptr_t (*task_id)(void), uint32_t (*ticks)(void));
#endif

#ifdef __cplusplus
}
#endif

#endif
