/*
 * Port "posix": hosted builds and tests. A lock is a default pthread mutex
 * living inside rtm_port_lock_t, so creating a heap still allocates nothing.
 */
#define _POSIX_C_SOURCE 200809L

#include "rtmem/port.h"

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
