/*
 * Port "none": no operating system. Locking is whatever critical section
 * the application installs (typically: mask interrupts, return the old mask),
 * or nothing at all for single-threaded firmware.
 *
 * The port of a build that selects none (port.h): compiled when
 * RTM_PORT_NONE is defined or no port is, and empty when another port is
 * selected, so a build that compiles every file under src/ (Arduino,
 * PlatformIO) gets exactly the selected port.
 */
#include "rtmem/port.h"

#if !defined(RTM_PORT_POSIX) && !defined(RTM_PORT_FREERTOS)

#include "rtmem/stack.h"

/* The saved state sits in the low 32 bits; this bit records that enter ran,
 * so that hooks installed while a lock is held (which port.h advises
 * against) never get an exit call without a matching enter. */
#define NONE_ENTERED (UINT64_C(1) << 32)

static rtm_port_enter_fn g_enter;
static rtm_port_exit_fn g_exit;
static uintptr_t (*g_task_id)(void);
static uint32_t (*g_ticks)(void);

void rtm_port_none_set_hooks(rtm_port_enter_fn enter, rtm_port_exit_fn exit_fn,
                             uintptr_t (*task_id)(void), uint32_t (*ticks)(void))
{
    /* A critical section needs both halves: entering without a way out
     * would leave interrupts masked for good, so a lone hook is ignored. */
    if (enter != NULL && exit_fn != NULL) {
        g_enter = enter;
        g_exit = exit_fn;
    } else {
        g_enter = NULL;
        g_exit = NULL;
    }
    g_task_id = task_id;
    g_ticks = ticks;
}

bool rtm_port_lock_init(rtm_port_lock_t *lock)
{
    lock->storage[0] = 0;
    return true;
}

void rtm_port_lock_destroy(rtm_port_lock_t *lock)
{
    (void)lock;
}

void rtm_port_lock(rtm_port_lock_t *lock)
{
    rtm_port_enter_fn enter = g_enter;
    if (enter != NULL) {
        uint32_t state = enter();
        /* Written only once inside the critical section, so a preempting
         * locker of the same object cannot overwrite it before it is used. */
        lock->storage[0] = NONE_ENTERED | state;
    }
}

void rtm_port_unlock(rtm_port_lock_t *lock)
{
    uint64_t saved = lock->storage[0];
    if ((saved & NONE_ENTERED) == 0) {
        return;
    }
    lock->storage[0] = 0;
    rtm_port_exit_fn exit_fn = g_exit;
    if (exit_fn != NULL) {
        exit_fn((uint32_t)saved);
    }
}

uintptr_t rtm_port_task_id(void)
{
    uintptr_t (*fn)(void) = g_task_id;
    return fn != NULL ? fn() : 0u;
}

uint32_t rtm_port_ticks(void)
{
    uint32_t (*fn)(void) = g_ticks;
    return fn != NULL ? fn() : 0u;
}

/* No scheduler: nothing else can run while the caller waits, and the
 * port has no clock of its own to wait on. */
void rtm_port_sleep_ms(uint32_t ms)
{
    (void)ms;
}

/* Bare metal runs at its link addresses: nothing to tell a symbolizer. */
bool rtm_port_program_image(rtm_port_image_t *out)
{
    (void)out;
    return false;
}

/* Tasks and their stacks are the application's own business here. */
bool rtm_stack_usage(uintptr_t task, rtm_stack_usage_t *out)
{
    (void)task;
    (void)out;
    return false;
}

/* Waiters: with no scheduler there is nobody to hand the CPU to, so nothing
 * blocks. The flag still records a signal (an ISR may free a block to a
 * pool), which keeps the protocol of port.h true here too. */

bool rtm_port_can_block(void)
{
    return false;
}

bool rtm_port_waiter_init(rtm_port_waiter_t *w)
{
    w->storage[0] = 0;
    return true;
}

void rtm_port_waiter_destroy(rtm_port_waiter_t *w)
{
    (void)w;
}

bool rtm_port_wait(rtm_port_waiter_t *w, rtm_port_lock_t *lock, uint32_t timeout_ms)
{
    (void)lock;
    (void)timeout_ms;
    return w->storage[0] != 0;
}

void rtm_port_signal(rtm_port_waiter_t *w)
{
    w->storage[0] = 1;
}

#endif /* no other port */
