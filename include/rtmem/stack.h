/*
 * rtmem stack high-water marks: how close each task's stack has come to
 * overflowing.
 *
 *     rtm_stack_usage_t u;
 *     if (rtm_stack_usage(rtm_port_task_id(), &u)) {
 *         // u.min_free bytes were never touched; u.peak_used of u.size used
 *     }
 *
 * The figure is a high-water mark, not the current depth: the most stack
 * the task has ever used, found by the classic method of painting the stack
 * with a fill byte before the task runs and later looking for the deepest
 * byte that no longer holds it. A frame that happened to write the fill
 * byte itself is not seen, so the mark can be low by the size of such a
 * run of bytes (as with FreeRTOS's own mark). Stacks are assumed to grow
 * downwards, as on every target rtmem supports (Xtensa, RISC-V, Arm, x86).
 *
 * Per port:
 *   posix     threads started with rtm_thread_start (below) run on caller
 *             memory painted with RTM_STACK_FILL; rtm_stack_usage knows
 *             them through a registry of RTM_STACK_MAX_THREADS entries and
 *             reports size, peak_used and min_free. Any other id: false.
 *   freertos  the kernel's uxTaskGetStackHighWaterMark (the kernel paints
 *             every stack with the same 0xA5). The kernel does not say how
 *             big a task's stack is, so size and peak_used are 0 and only
 *             min_free is filled; the application knows the size it gave
 *             xTaskCreate. Needs INCLUDE_uxTaskGetStackHighWaterMark 1 in
 *             FreeRTOSConfig.h, else rtm_stack_usage always returns false.
 *   none      no tasks to measure: always false.
 * docs/stacks.md has the details and the costs in numbers.
 */
#ifndef RTMEM_STACK_H
#define RTMEM_STACK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtmem/config.h"

#ifdef __cplusplus
extern "C" {
#endif

/* The byte a fresh stack is painted with: FreeRTOS's tskSTACK_FILL_BYTE,
 * so dumps look the same on the host as on the device. */
#define RTM_STACK_FILL 0xA5u

typedef struct rtm_stack_usage {
    size_t size;      /* stack size in bytes (0 when the port cannot tell) */
    size_t peak_used; /* most bytes ever used (the high-water mark); 0 when size is unknown */
    size_t min_free;  /* fewest bytes ever free (FreeRTOS's "high-water mark"); 0: every
                         byte has been used, an overflow most likely */
} rtm_stack_usage_t;

/* Stack of the task with id `task` (as returned by rtm_port_task_id()).
 * Fills *out and returns true when the port can measure that task; false
 * (and *out untouched) for a NULL out, an id the port does not know, or a
 * port that cannot measure stacks (see above).
 *   posix     O(stack size) worst case: the stack is scanned from its far
 *             end up to the first byte that is not RTM_STACK_FILL, i.e.
 *             over the part never used (64 KiB: tens of microseconds). Takes
 *             the registry lock for the scan; safe from any thread, also
 *             while the measured thread runs.
 *   freertos  the kernel's scan, O(free stack), inside the kernel's own
 *             locking. task must be the handle of a task that exists:
 *             the kernel cannot tell a stale handle from a live one and
 *             reads through it (0 and the pre-scheduler id give false).
 *             Not from an ISR.
 *   none      O(1), false. */
bool rtm_stack_usage(uintptr_t task, rtm_stack_usage_t *out);

/* ------------------------------------------------------------------ */
/* POSIX threads with measurable stacks                                */

#if defined(RTM_PORT_POSIX)

/* Threads rtm_stack_usage can know at once (a few pointers each, static):
 * RTM_STACK_MAX_THREADS, config.h (default 16, at least 1). */

/* Alignment rtm_thread_start requires of the stack memory (the strictest
 * ABI alignment of a stack pointer on the hosts rtmem runs on). */
#define RTM_STACK_ALIGN 16u

/* Static storage for a stack of `bytes` bytes (a multiple of
 * RTM_STACK_ALIGN, at least PTHREAD_STACK_MIN: 16 KiB on glibc). */
#define RTM_STACK_STORAGE(name, bytes) static _Alignas(RTM_STACK_ALIGN) uint8_t name[(bytes)]

#define RTM_THREAD_WORDS 8

/* One thread; its contents belong to the port. Must stay valid (and in
 * place) from rtm_thread_start until rtm_thread_join returns. */
typedef struct rtm_thread {
    uint64_t storage[RTM_THREAD_WORDS];
} rtm_thread_t;

/* Starts fn(arg) in a new thread on the caller's memory stack[0..stack_size):
 * the memory is painted with RTM_STACK_FILL, the thread is entered in the
 * stack registry under its id, then created with pthread_attr_setstack.
 * name is kept by pointer (NULL = "thread"). The stack must stay untouched
 * by anyone else until rtm_thread_join; there is no guard page below it,
 * so an overflow writes into whatever lies below (watch min_free).
 * glibc keeps the thread's descriptor and TLS at the top of a caller stack:
 * some KiB of the stack are in use before fn runs, and peak_used counts them.
 * False, with nothing started, when t, stack or fn is NULL, stack is not
 * RTM_STACK_ALIGN-aligned, stack_size is below PTHREAD_STACK_MIN or not a
 * multiple of RTM_STACK_ALIGN, t holds a thread not joined yet (running
 * or returned), the memory overlaps the stack of another thread not joined
 * yet (the same storage given twice), every registry entry is taken (join
 * a thread to free one), or pthread refuses. Every refusal but pthread_create's
 * comes before the paint: the memory and t are left as they were. Cost:
 * O(RTM_STACK_MAX_THREADS) and the O(stack_size) paint under the registry
 * lock, plus pthread_create. */
bool rtm_thread_start(rtm_thread_t *t, const char *name, void *stack, size_t stack_size,
                      void (*fn)(void *arg), void *arg);

/* Waits for the thread to end, then removes it from the registry (its id
 * is unknown to rtm_stack_usage from then on; rtm_thread_stack_usage still
 * reads the stack until the memory is reused). False for NULL, a thread
 * that was not started or was already joined, or a pthread_join error
 * (e.g. a thread joining itself: it is then still running and registered). */
bool rtm_thread_join(rtm_thread_t *t);

/* The id rtm_port_task_id() returns inside that thread; 0 for NULL or a
 * thread not started. O(1). The thread itself may ask this, its name and
 * its stack usage through its handle from its first line on: it starts
 * only after rtm_thread_start has filled the handle in. */
uintptr_t rtm_thread_task_id(const rtm_thread_t *t);

/* The name given to rtm_thread_start; "" for NULL or a thread not started. */
const char *rtm_thread_name(const rtm_thread_t *t);

/* rtm_stack_usage of a thread by its handle, also after rtm_thread_join
 * (the final high-water mark), as long as its stack memory is unchanged.
 * False for NULL arguments or a thread never started. O(stack size), no lock. */
bool rtm_thread_stack_usage(const rtm_thread_t *t, rtm_stack_usage_t *out);

#endif /* RTM_PORT_POSIX */

#ifdef __cplusplus
}
#endif

#endif
