/*
 * Port "posix": hosted builds and tests. A lock is a default pthread mutex
 * living inside rtm_port_lock_t, so creating a heap still allocates nothing.
 * A waiter is a condition variable used with that mutex.
 */
#define _POSIX_C_SOURCE 200809L

#include "rtmem/port.h"

#include <errno.h>
#include <pthread.h>
#include <time.h>

#if !defined(RTM_PORT_POSIX)
#error "src/port/posix.c needs RTM_PORT_POSIX, which sizes rtm_port_lock_t for a mutex"
#endif

_Static_assert(sizeof(pthread_mutex_t) <= sizeof(rtm_port_lock_t),
               "pthread_mutex_t does not fit rtm_port_lock_t: raise RTM_PORT_LOCK_WORDS");
_Static_assert(_Alignof(pthread_mutex_t) <= _Alignof(rtm_port_lock_t),
               "rtm_port_lock_t is not aligned enough for pthread_mutex_t");

/* The storage is only ever handed to pthread functions, never read as
 * uint64_t by rtmem, so the two views of it do not meet in one function. */
static pthread_mutex_t *posix_mutex(rtm_port_lock_t *lock)
{
    return (pthread_mutex_t *)(void *)lock->storage;
}

bool rtm_port_lock_init(rtm_port_lock_t *lock)
{
    return pthread_mutex_init(posix_mutex(lock), NULL) == 0;
}

void rtm_port_lock_destroy(rtm_port_lock_t *lock)
{
    (void)pthread_mutex_destroy(posix_mutex(lock));
}

/* A default mutex fails only when it was never initialised, was destroyed,
 * or is corrupt. Going on without mutual exclusion would corrupt the heap
 * silently, so the program is stopped instead. */
void rtm_port_lock(rtm_port_lock_t *lock)
{
    if (pthread_mutex_lock(posix_mutex(lock)) != 0) {
        RTM_ABORT();
    }
}

void rtm_port_unlock(rtm_port_lock_t *lock)
{
    if (pthread_mutex_unlock(posix_mutex(lock)) != 0) {
        RTM_ABORT();
    }
}

/* pthread_t is an integer on glibc and a pointer on musl and macOS; the cast
 * suits both. None of them hands out 0, but the port contract promises a
 * nonzero id, so 0 is remapped rather than trusted. */
uintptr_t rtm_port_task_id(void)
{
    uintptr_t id = (uintptr_t)pthread_self();
    return id != 0 ? id : ~(uintptr_t)0;
}

uint32_t rtm_port_ticks(void)
{
    struct timespec ts;
    if (clock_gettime(CLOCK_MONOTONIC, &ts) != 0) {
        return 0;
    }
    uint64_t ms = (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
    return (uint32_t)ms;
}

/* ------------------------------------------------------------------ */
/* Waiters: a condition variable on CLOCK_MONOTONIC, so a change of the
 * wall clock neither shortens nor stretches a timeout. */

typedef struct posix_waiter {
    pthread_cond_t cond;
    bool signalled; /* read and written only under the object's mutex */
} posix_waiter_t;

_Static_assert(sizeof(posix_waiter_t) <= sizeof(rtm_port_waiter_t),
               "pthread_cond_t does not fit rtm_port_waiter_t: raise RTM_PORT_WAITER_WORDS");
_Static_assert(_Alignof(posix_waiter_t) <= _Alignof(rtm_port_waiter_t),
               "rtm_port_waiter_t is not aligned enough for pthread_cond_t");

static posix_waiter_t *posix_waiter(rtm_port_waiter_t *w)
{
    return (posix_waiter_t *)(void *)w->storage;
}

bool rtm_port_can_block(void)
{
    return true;
}

bool rtm_port_waiter_init(rtm_port_waiter_t *w)
{
    posix_waiter_t *pw = posix_waiter(w);
    pthread_condattr_t attr;
    if (pthread_condattr_init(&attr) != 0) {
        return false;
    }
    bool ok = pthread_condattr_setclock(&attr, CLOCK_MONOTONIC) == 0 &&
              pthread_cond_init(&pw->cond, &attr) == 0;
    (void)pthread_condattr_destroy(&attr);
    pw->signalled = false;
    return ok;
}

void rtm_port_waiter_destroy(rtm_port_waiter_t *w)
{
    (void)pthread_cond_destroy(&posix_waiter(w)->cond);
}

/* now + ms on CLOCK_MONOTONIC; false if the clock cannot be read. */
static bool deadline_after(uint32_t ms, struct timespec *deadline)
{
    if (clock_gettime(CLOCK_MONOTONIC, deadline) != 0) {
        return false;
    }
    deadline->tv_sec += (time_t)(ms / 1000u);
    long nsec = deadline->tv_nsec + (long)(ms % 1000u) * 1000000L;
    if (nsec >= 1000000000L) {
        nsec -= 1000000000L;
        deadline->tv_sec += 1;
    }
    deadline->tv_nsec = nsec;
    return true;
}

bool rtm_port_wait(rtm_port_waiter_t *w, rtm_port_lock_t *lock, uint32_t timeout_ms)
{
    posix_waiter_t *pw = posix_waiter(w);
    if (pw->signalled || timeout_ms == 0) {
        return pw->signalled;
    }
    struct timespec deadline;
    bool forever = timeout_ms == RTM_WAIT_FOREVER;
    if (!forever && !deadline_after(timeout_ms, &deadline)) {
        return false; /* no clock, no timed wait: report a timeout rather than hang */
    }
    /* Loop: pthread may wake a waiter that nobody signalled. */
    while (!pw->signalled) {
        int rc = forever ? pthread_cond_wait(&pw->cond, posix_mutex(lock))
                         : pthread_cond_timedwait(&pw->cond, posix_mutex(lock), &deadline);
        if (rc == ETIMEDOUT) {
            break;
        }
        if (rc != 0) {
            /* The mutex or condition is broken: as with the lock itself,
             * carrying on would give up mutual exclusion. */
            RTM_ABORT();
        }
    }
    return pw->signalled;
}

void rtm_port_signal(rtm_port_waiter_t *w)
{
    posix_waiter_t *pw = posix_waiter(w);
    pw->signalled = true;
    if (pthread_cond_signal(&pw->cond) != 0) {
        RTM_ABORT();
    }
}
