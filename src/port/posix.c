/*
 * Port "posix": hosted builds and tests. A lock is a default pthread mutex
 * living inside rtm_port_lock_t, so creating a heap still allocates nothing.
 * A waiter is a condition variable used with that mutex.
 *
 * Compiled only when RTM_PORT_POSIX is defined; otherwise this file is
 * empty, so a build that compiles every file under src/ (Arduino,
 * PlatformIO) gets exactly the selected port (port.h).
 */
#define _POSIX_C_SOURCE 200809L
/* dl_iterate_phdr is a GNU (and BSD) extension: glibc declares it only
 * with _GNU_SOURCE */
#define _GNU_SOURCE

#include "rtmem/port.h"

#if defined(RTM_PORT_POSIX)

#include "rtmem/stack.h"

#include <errno.h>
#include <limits.h>
#include <pthread.h>
#include <time.h>

#if defined(__has_include)
#if __has_include(<link.h>) && !defined(__APPLE__)
#include <link.h>
#define RTM_POSIX_HAVE_PHDR 1
#endif
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
static uintptr_t task_id_of(pthread_t thread)
{
    uintptr_t id = (uintptr_t)thread;
    return id != 0 ? id : ~(uintptr_t)0;
}

uintptr_t rtm_port_task_id(void)
{
    return task_id_of(pthread_self());
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

#if defined(RTM_POSIX_HAVE_PHDR)
/* The executable is the first object dl_iterate_phdr reports. */
static int first_image(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    rtm_port_image_t *img = data;
    uint64_t lo = UINT64_MAX, hi = 0;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) {
            continue;
        }
        uint64_t start = (uint64_t)info->dlpi_addr + (uint64_t)ph->p_vaddr;
        lo = start < lo ? start : lo;
        hi = start + (uint64_t)ph->p_memsz > hi ? start + (uint64_t)ph->p_memsz : hi;
    }
    img->base = (uint64_t)info->dlpi_addr;
    img->lo = lo;
    img->hi = hi;
    return 1;
}
#endif

bool rtm_port_program_image(rtm_port_image_t *out)
{
    if (out == NULL) {
        return false;
    }
#if defined(RTM_POSIX_HAVE_PHDR)
    rtm_port_image_t img = {0, 0, 0};
    if (dl_iterate_phdr(first_image, &img) != 0 && img.hi > img.lo) {
        *out = img;
        return true;
    }
#endif
    return false;
}

void rtm_port_sleep_ms(uint32_t ms)
{
    struct timespec left = {.tv_sec = (time_t)(ms / 1000u),
                            .tv_nsec = (long)(ms % 1000u) * 1000000L};
    /* A signal handler cuts the sleep short; sleep on for what is left. */
    while (nanosleep(&left, &left) != 0 && errno == EINTR) {
    }
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

/* ------------------------------------------------------------------ */
/* Threads with painted stacks (stack.h).
 *
 * The registry maps a thread id to its stack. It is a small static array
 * under one mutex; rtm_thread_start holds that mutex across pthread_create,
 * so the new thread is registered under its id before it can ask about
 * itself. */

#ifndef PTHREAD_STACK_MIN
#define PTHREAD_STACK_MIN 16384
#endif

#define THREAD_MAGIC 0x74687264u /* "thrd" */

enum { THREAD_RUNNING = 1, THREAD_JOINED = 2 };

typedef struct posix_thread {
    pthread_t thread;
    uint8_t *stack;
    size_t size;
    const char *name;
    void (*fn)(void *arg);
    void *arg;
    uintptr_t id;
    uint32_t magic;
    uint32_t state;
} posix_thread_t;

_Static_assert(sizeof(posix_thread_t) <= sizeof(rtm_thread_t),
               "posix_thread_t does not fit rtm_thread_t: raise RTM_THREAD_WORDS");
_Static_assert(_Alignof(posix_thread_t) <= _Alignof(rtm_thread_t),
               "rtm_thread_t is not aligned enough for posix_thread_t");

typedef struct stack_entry {
    uintptr_t id; /* 0 = free entry */
    const uint8_t *stack;
    size_t size;
} stack_entry_t;

static pthread_mutex_t g_stack_lock = PTHREAD_MUTEX_INITIALIZER;
static stack_entry_t g_stacks[RTM_STACK_MAX_THREADS];

static posix_thread_t *posix_thread(rtm_thread_t *t)
{
    return (posix_thread_t *)(void *)t->storage;
}

static const posix_thread_t *posix_thread_const(const rtm_thread_t *t)
{
    return (const posix_thread_t *)(const void *)t->storage;
}

/* The paint and the scan touch another thread's stack, which AddressSanitizer
 * marks with red zones around that thread's live frames, and which that
 * thread writes while the scan reads (ThreadSanitizer would call it a race:
 * a mark that is one frame behind is fine here). Reading it is the whole
 * point, so the two loops are not instrumented. Byte-wise through volatile,
 * so the compiler cannot turn them into memset/memchr calls, which the
 * sanitizers would check again. */
#if defined(__GNUC__) || defined(__clang__)
#define STACK_UNCHECKED __attribute__((no_sanitize_address, no_sanitize_thread))
#else
#define STACK_UNCHECKED
#endif

STACK_UNCHECKED static void paint_stack(uint8_t *stack, size_t size)
{
    volatile uint8_t *p = stack;
    for (size_t i = 0; i < size; i++) {
        p[i] = (uint8_t)RTM_STACK_FILL;
    }
}

/* Bytes at the low (far) end of the stack that still hold the paint. */
STACK_UNCHECKED static size_t untouched_bytes(const uint8_t *stack, size_t size)
{
    const volatile uint8_t *p = stack;
    size_t n = 0;
    while (n < size && p[n] == (uint8_t)RTM_STACK_FILL) {
        n++;
    }
    return n;
}

static void measure(const uint8_t *stack, size_t size, rtm_stack_usage_t *out)
{
    size_t untouched = untouched_bytes(stack, size);
    out->size = size;
    out->min_free = untouched;
    out->peak_used = size - untouched;
}

static void *thread_entry(void *raw)
{
    posix_thread_t *pt = raw;
    /* rtm_thread_start writes the handle's id, magic and state after
     * pthread_create returns, still holding the registry lock. Taking the
     * lock once here waits for those writes and makes them visible, so fn
     * may ask rtm_thread_task_id, rtm_thread_name or rtm_thread_stack_usage
     * about its own handle (it used to see 0 and "" when it ran first). */
    if (pthread_mutex_lock(&g_stack_lock) != 0 || pthread_mutex_unlock(&g_stack_lock) != 0) {
        RTM_ABORT();
    }
    pt->fn(pt->arg);
    return NULL;
}

/* True if [a, a + a_size) and [b, b + b_size) share a byte. */
static bool ranges_overlap(const uint8_t *a, size_t a_size, const uint8_t *b, size_t b_size)
{
    uintptr_t a0 = (uintptr_t)a;
    uintptr_t b0 = (uintptr_t)b;
    return a0 < b0 + b_size && b0 < a0 + a_size;
}

bool rtm_thread_start(rtm_thread_t *t, const char *name, void *stack, size_t stack_size,
                      void (*fn)(void *arg), void *arg)
{
    if (t == NULL || stack == NULL || fn == NULL || stack_size < (size_t)PTHREAD_STACK_MIN ||
        stack_size % RTM_STACK_ALIGN != 0 || (uintptr_t)stack % RTM_STACK_ALIGN != 0 ||
        (uintptr_t)stack > UINTPTR_MAX - stack_size) {
        return false;
    }
    posix_thread_t *pt = posix_thread(t);
    if (pt->magic == THREAD_MAGIC && pt->state == THREAD_RUNNING) {
        return false; /* still running: its registry entry and stack are in use */
    }

    pthread_attr_t attr;
    if (pthread_attr_init(&attr) != 0) {
        return false;
    }
    bool ok = false;
    if (pthread_attr_setstack(&attr, stack, stack_size) == 0) {
        if (pthread_mutex_lock(&g_stack_lock) != 0) {
            RTM_ABORT();
        }
        /* Every refusal comes before the paint: the memory may be the live
         * stack of a thread that is not joined yet (the same storage given
         * twice), which the paint would overwrite under its feet, and a
         * refused start leaves the handle as it was (a joined thread's
         * final mark stays readable). The paint runs under the lock, so no
         * other start can take the stack or the entry meanwhile. */
        stack_entry_t *entry = NULL;
        bool stack_in_use = false;
        for (size_t i = 0; i < RTM_STACK_MAX_THREADS; i++) {
            if (g_stacks[i].id == 0) {
                entry = entry != NULL ? entry : &g_stacks[i];
            } else if (ranges_overlap(g_stacks[i].stack, g_stacks[i].size, stack, stack_size)) {
                stack_in_use = true;
            }
        }
        if (entry != NULL && !stack_in_use) {
            pt->stack = stack;
            pt->size = stack_size;
            pt->name = name != NULL ? name : "thread";
            pt->fn = fn;
            pt->arg = arg;
            pt->id = 0;
            pt->magic = 0;
            pt->state = 0;
            paint_stack(pt->stack, stack_size);
            if (pthread_create(&pt->thread, &attr, thread_entry, pt) == 0) {
                pt->id = task_id_of(pt->thread);
                pt->magic = THREAD_MAGIC;
                pt->state = THREAD_RUNNING;
                entry->id = pt->id;
                entry->stack = pt->stack;
                entry->size = stack_size;
                ok = true;
            }
        }
        if (pthread_mutex_unlock(&g_stack_lock) != 0) {
            RTM_ABORT();
        }
    }
    (void)pthread_attr_destroy(&attr);
    return ok;
}

bool rtm_thread_join(rtm_thread_t *t)
{
    if (t == NULL) {
        return false;
    }
    posix_thread_t *pt = posix_thread(t);
    if (pt->magic != THREAD_MAGIC || pt->state != THREAD_RUNNING) {
        return false;
    }
    if (pthread_join(pt->thread, NULL) != 0) {
        return false;
    }
    if (pthread_mutex_lock(&g_stack_lock) != 0) {
        RTM_ABORT();
    }
    for (size_t i = 0; i < RTM_STACK_MAX_THREADS; i++) {
        if (g_stacks[i].id == pt->id && g_stacks[i].stack == pt->stack) {
            g_stacks[i].id = 0;
            break;
        }
    }
    pt->state = THREAD_JOINED;
    if (pthread_mutex_unlock(&g_stack_lock) != 0) {
        RTM_ABORT();
    }
    return true;
}

uintptr_t rtm_thread_task_id(const rtm_thread_t *t)
{
    if (t == NULL) {
        return 0;
    }
    const posix_thread_t *pt = posix_thread_const(t);
    return pt->magic == THREAD_MAGIC ? pt->id : 0;
}

const char *rtm_thread_name(const rtm_thread_t *t)
{
    if (t == NULL) {
        return "";
    }
    const posix_thread_t *pt = posix_thread_const(t);
    return pt->magic == THREAD_MAGIC ? pt->name : "";
}

bool rtm_thread_stack_usage(const rtm_thread_t *t, rtm_stack_usage_t *out)
{
    if (t == NULL || out == NULL) {
        return false;
    }
    const posix_thread_t *pt = posix_thread_const(t);
    if (pt->magic != THREAD_MAGIC) {
        return false;
    }
    measure(pt->stack, pt->size, out);
    return true;
}

bool rtm_stack_usage(uintptr_t task, rtm_stack_usage_t *out)
{
    if (out == NULL || task == 0) {
        return false;
    }
    bool found = false;
    if (pthread_mutex_lock(&g_stack_lock) != 0) {
        RTM_ABORT();
    }
    for (size_t i = 0; i < RTM_STACK_MAX_THREADS && !found; i++) {
        if (g_stacks[i].id == task) {
            measure(g_stacks[i].stack, g_stacks[i].size, out);
            found = true;
        }
    }
    if (pthread_mutex_unlock(&g_stack_lock) != 0) {
        RTM_ABORT();
    }
    return found;
}

#endif /* RTM_PORT_POSIX */
