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
 * the library and for its users (it sizes rtm_port_lock_t); defining none
 * of them selects none. More than one is a compile error (below).
 *
 * Each backend lives in src/port/<name>.c, and every one of those files
 * compiles to nothing unless its port is selected, so a build may compile
 * all of them (Arduino and PlatformIO compile every file under src/).
 * A build that leaves out the selected port's file fails at link time with
 * undefined references to rtm_port_lock_init and the other rtm_port_*
 * functions (docs/integration.md).
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

#if defined(RTM_PORT_NONE) + defined(RTM_PORT_POSIX) + defined(RTM_PORT_FREERTOS) > 1
#error "rtmem: more than one of RTM_PORT_NONE, RTM_PORT_POSIX, RTM_PORT_FREERTOS is defined; select one port"
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
 * inside rtmem. The failure, misuse, corruption and alert hooks run with
 * no rtmem lock held; a few callbacks run under their object's lock, as
 * their headers say: a heap's walk callback and observer (heap.h) and the
 * output hook when a heap's trace streams (trace.h). */
void rtm_port_lock(rtm_port_lock_t *lock);
void rtm_port_unlock(rtm_port_lock_t *lock);

/* Identity of the calling task or thread (never 0 on posix/freertos;
 * always 0 on the none port unless a hook is installed). */
uintptr_t rtm_port_task_id(void);

/* A monotonic tick counter: milliseconds on posix, RTOS ticks on freertos,
 * the user hook's value (or 0) on none. Wraps at 2^32 (at 2^16 on FreeRTOS
 * builds with 16-bit ticks). */
uint32_t rtm_port_ticks(void);

/* Puts the calling task to sleep for ms milliseconds, letting others run.
 * posix: nanosleep (at least ms), resumed after a signal until the time
 * has passed. freertos: ms converted to ticks, rounded up (the first tick
 * may be partly over already, as with any kernel delay); vTaskDelay with
 * INCLUDE_vTaskDelay 1, otherwise a timed block on rtmem's notification
 * index (RTM_FREERTOS_NOTIFY_INDEX); only with the scheduler running,
 * never from an ISR. none: returns at once (there is nobody to yield to;
 * a bare-metal loop keeps its own time). Never call it with an rtmem lock
 * held. */
void rtm_port_sleep_ms(uint32_t ms);

/* Where the running program's own executable is loaded, which a host tool
 * needs to symbolize the return addresses (caller=) of a position-
 * independent executable: base is the load bias (run-time address minus
 * link-time address), [lo, hi) the addresses its loadable segments occupy. */
typedef struct rtm_port_image {
    uint64_t base;
    uint64_t lo;
    uint64_t hi;
} rtm_port_image_t;

/* Fills *out and returns true when the port knows where the executable is.
 * posix: the first object dl_iterate_phdr reports (the executable) where
 * the C library has it (Linux, the BSDs); false elsewhere (macOS).
 * none, freertos: false (firmware runs at the addresses it was linked at).
 * Cost: one walk of the loaded objects' program headers, under the dynamic
 * loader's lock; allocates nothing. out NULL: false. Not from an ISR or a
 * signal handler. */
bool rtm_port_program_image(rtm_port_image_t *out);

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

/* ------------------------------------------------------------------ */
/* Blocking: one task waits for one event that another task signals.   */
/*
 * Used by rtm_pool_alloc_wait. The protocol, always under the lock of the
 * object the task waits on (the pool's rtm_port_lock_t):
 *
 *   waiter:  lock; rtm_port_waiter_init(&w); queue &w in the object;
 *            rtm_port_wait(&w, &lock, ms);      <- lock released while blocked
 *            (dequeue &w if it was not signalled); rtm_port_waiter_destroy(&w);
 *            unlock
 *   signaller: lock; take w off the queue; hand over the resource;
 *            rtm_port_signal(w); unlock
 *
 * The waiter keeps w on its own stack: it cannot return before it has the
 * lock back, and the signaller touches w only while it holds the lock, so
 * w never outlives its use. A signal is remembered in w, so a signal that
 * arrives before the waiter blocks, or just as its timeout expires, is not
 * lost; spurious OS wake-ups are absorbed by the port.
 *
 * Per port:
 *   posix     a pthread_cond_t (CLOCK_MONOTONIC) used with the lock's mutex
 *   freertos  a direct-to-task notification on index RTM_FREERTOS_NOTIFY_INDEX
 *             (src/port/freertos.c says which and why); timeouts in ms are
 *             converted to ticks, rounded up
 *   none      cannot block: rtm_port_can_block() is false, rtm_port_wait
 *             returns at once
 */

/* A timeout that never expires. */
#define RTM_WAIT_FOREVER UINT32_MAX

#if defined(RTM_PORT_POSIX)
#define RTM_PORT_WAITER_WORDS 8 /* 64 bytes: a pthread_cond_t and a flag */
#else
#define RTM_PORT_WAITER_WORDS 2 /* a task handle and a flag */
#endif

/* Storage for one waiter; its contents belong to the port. */
typedef struct rtm_port_waiter {
    uint64_t storage[RTM_PORT_WAITER_WORDS];
} rtm_port_waiter_t;

/* Whether an rtmem lock may be taken from an interrupt handler, which is
 * what lets ISRs call the non-blocking pool functions:
 *   none      1, provided the hooks of rtm_port_none_set_hooks mask every
 *             interrupt that uses the object (without hooks there is no
 *             locking, so only one context may use an object)
 *   posix     0 (no interrupts; signal handlers must not use rtmem)
 *   freertos  0 (the lock is vTaskSuspendAll or the task-level
 *             taskENTER_CRITICAL, neither allowed in an ISR) */
#if defined(RTM_PORT_POSIX) || defined(RTM_PORT_FREERTOS)
#define RTM_PORT_LOCK_ISR_SAFE 0
#else
#define RTM_PORT_LOCK_ISR_SAFE 1
#endif

/* Whether the calling context may block right now: false on the none port,
 * before the FreeRTOS scheduler runs or while it is suspended, true in a
 * posix thread. Call it without holding an rtmem lock (a held FreeRTOS lock
 * suspends the scheduler itself). O(1). Not from an ISR on freertos (the
 * answer would be wrong; no rtmem call that blocks is allowed there). */
bool rtm_port_can_block(void);

/* Prepares w for the calling task: not signalled. Call with the object's
 * lock held, from the task that will wait. False if the OS refused (posix:
 * pthread_cond_init failed); w is then unusable and needs no destroy.
 * freertos: also clears any notification left pending on the rtmem
 * notification index of the calling task. */
bool rtm_port_waiter_init(rtm_port_waiter_t *w);

/* Releases what rtm_port_waiter_init took. Lock held. */
void rtm_port_waiter_destroy(rtm_port_waiter_t *w);

/* Blocks the task that initialised w until rtm_port_signal(w) or until
 * timeout_ms have passed, with lock released meanwhile; returns with lock
 * held again. lock must be held on entry, exactly once. True if w was
 * signalled (also when that happened before the call or as the timeout
 * expired), false on timeout. timeout_ms 0 only reports whether w was
 * signalled; RTM_WAIT_FOREVER never times out. On the none port it never
 * blocks and returns the signalled state. */
bool rtm_port_wait(rtm_port_waiter_t *w, rtm_port_lock_t *lock, uint32_t timeout_ms);

/* Marks w signalled and wakes its task. Call with the lock held that the
 * waiter passed to rtm_port_wait, at most once per rtm_port_waiter_init.
 * O(1), never blocks. */
void rtm_port_signal(rtm_port_waiter_t *w);

#ifdef __cplusplus
}
#endif

#endif
