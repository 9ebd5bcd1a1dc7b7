/*
 * Stack high-water marks on the POSIX port: threads on painted caller
 * stacks that use known amounts of stack, the registry behind
 * rtm_stack_usage (unknown ids, full, released by join), bad input to
 * rtm_thread_start (a stack a live thread still uses among it), a thread
 * asking about its own handle, and rtm_port_sleep_ms.
 */
#if defined(__linux__)
#define _GNU_SOURCE /* sched_setaffinity: see test_thread_knows_its_own_handle */
#endif
#define _POSIX_C_SOURCE 200809L

#include <limits.h>
#include <pthread.h>
#include <sched.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/port.h"
#include "rtmem/stack.h"

#ifndef PTHREAD_STACK_MIN
#define PTHREAD_STACK_MIN 16384
#endif

#define KIB 1024u
#define BIG_STACK (256u * KIB)
#if defined(__SANITIZE_THREAD__)
#define UNDER_TSAN 1
#elif defined(__has_feature)
#if __has_feature(thread_sanitizer)
#define UNDER_TSAN 1
#endif
#endif
/* ThreadSanitizer wants about 135 KiB of any caller stack for itself. */
#if defined(UNDER_TSAN)
#define SMALL_STACK (160u * KIB)
#endif
#ifndef SMALL_STACK
#define SMALL_STACK (64u * KIB)
#endif
#define FRAME_BYTES 1024u

/* Bytes a recursion level may use beyond its array: saved registers and
 * alignment, and under AddressSanitizer the red zones around the array and
 * the frame record it keeps for reports. */
#if defined(__SANITIZE_ADDRESS__)
#define FRAME_SLACK 768u
#elif defined(__has_feature)
#if __has_feature(address_sanitizer)
#define FRAME_SLACK 768u
#endif
#endif
#ifndef FRAME_SLACK
#define FRAME_SLACK 256u
#endif

RTM_STACK_STORAGE(g_big_stack, BIG_STACK);
RTM_STACK_STORAGE(g_small_stacks, (RTM_STACK_MAX_THREADS + 1) * SMALL_STACK);

/* ------------------------------------------------------------------ */
/* A gate the test opens to let blocked threads finish                 */

static pthread_mutex_t g_gate_lock = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t g_gate_cond = PTHREAD_COND_INITIALIZER;
static bool g_gate_open;
static unsigned g_arrived;

static void gate_reset(void)
{
    pthread_mutex_lock(&g_gate_lock);
    g_gate_open = false;
    g_arrived = 0;
    pthread_mutex_unlock(&g_gate_lock);
}

static void gate_wait(void)
{
    pthread_mutex_lock(&g_gate_lock);
    g_arrived++;
    pthread_cond_broadcast(&g_gate_cond);
    while (!g_gate_open) {
        pthread_cond_wait(&g_gate_cond, &g_gate_lock);
    }
    pthread_mutex_unlock(&g_gate_lock);
}

static void gate_wait_arrivals(unsigned n)
{
    pthread_mutex_lock(&g_gate_lock);
    while (g_arrived < n) {
        pthread_cond_wait(&g_gate_cond, &g_gate_lock);
    }
    pthread_mutex_unlock(&g_gate_lock);
}

static void gate_open(void)
{
    pthread_mutex_lock(&g_gate_lock);
    g_gate_open = true;
    pthread_cond_broadcast(&g_gate_cond);
    pthread_mutex_unlock(&g_gate_lock);
}

/* ------------------------------------------------------------------ */
/* A thread that uses a known amount of stack                          */

typedef struct depth_job {
    unsigned frames;         /* recursion depth, FRAME_BYTES of locals each */
    bool block;              /* wait at the gate before returning */
    uintptr_t id_inside;     /* rtm_port_task_id() seen by the thread */
    bool self_ok;            /* rtm_stack_usage of itself succeeded */
    rtm_stack_usage_t self;  /* ... and gave this */
    unsigned checksum;
} depth_job_t;

/* Each level touches every byte of its own array, so the level's frame
 * is really written; the sum keeps the compiler from dropping it. */
static unsigned use_stack(unsigned frames)
{
    volatile uint8_t local[FRAME_BYTES];
    for (size_t i = 0; i < sizeof local; i++) {
        local[i] = (uint8_t)(i + frames);
    }
    unsigned sum = local[frames % FRAME_BYTES];
    if (frames > 1) {
        sum += use_stack(frames - 1);
    }
    return sum + local[0];
}

static void depth_thread(void *arg)
{
    depth_job_t *job = arg;
    job->id_inside = rtm_port_task_id();
    if (job->frames > 0) {
        job->checksum = use_stack(job->frames);
    }
    job->self_ok = rtm_stack_usage(rtm_port_task_id(), &job->self);
    if (job->block) {
        gate_wait();
    }
}

/* Runs a job to completion on the big stack; returns its final usage. */
static rtm_stack_usage_t run_depth(unsigned frames)
{
    depth_job_t job = {.frames = frames};
    rtm_thread_t t;
    memset(&t, 0, sizeof t);
    assert_true(rtm_thread_start(&t, "depth", g_big_stack, sizeof g_big_stack, depth_thread, &job));
    assert_true(rtm_thread_join(&t));
    assert_true(job.self_ok);
    rtm_stack_usage_t u;
    assert_true(rtm_thread_stack_usage(&t, &u));
    assert_int_equal(u.size, BIG_STACK);
    assert_int_equal(u.peak_used + u.min_free, u.size);
    /* The thread measured itself before returning: the final mark can
     * only be deeper. */
    assert_true(u.peak_used >= job.self.peak_used);
    return u;
}

/* ------------------------------------------------------------------ */
/* Tests                                                               */

static void test_peak_follows_known_depth(void **state)
{
    (void)state;
    /* A thread that only measures itself: what thread start-up and exit
     * (glibc's descriptor and TLS at the top of the stack, the dynamic
     * linker, cleanup) leave behind, a few KiB. */
    rtm_stack_usage_t base = run_depth(0);
    assert_true(base.peak_used > 0);
    assert_true(base.peak_used < 64u * KIB);

    /* Depths well beyond that start-up use, so each peak is the recursion's. */
    const unsigned depths[] = {24, 48, 96};
    rtm_stack_usage_t u[3];
    for (size_t i = 0; i < 3; i++) {
        u[i] = run_depth(depths[i]);
        /* Each frame holds its array plus FRAME_SLACK at most. */
        size_t lower = depths[i] * FRAME_BYTES;
        size_t upper = depths[i] * (FRAME_BYTES + FRAME_SLACK) + base.peak_used;
        if (u[i].peak_used < lower || u[i].peak_used > upper) {
            fail_msg("%u frames of %u bytes: peak %zu, expected %zu..%zu", depths[i], FRAME_BYTES,
                     u[i].peak_used, lower, upper);
        }
    }
    for (size_t i = 1; i < 3; i++) {
        size_t frames = depths[i] - depths[i - 1];
        size_t grew = u[i].peak_used - u[i - 1].peak_used;
        if (u[i].peak_used <= u[i - 1].peak_used || grew < frames * FRAME_BYTES ||
            grew > frames * (FRAME_BYTES + FRAME_SLACK)) {
            fail_msg("%zu more frames grew the peak by %zu bytes (%zu -> %zu)", frames, grew,
                     u[i - 1].peak_used, u[i].peak_used);
        }
    }
}

static void test_usage_seen_while_running_and_released_by_join(void **state)
{
    (void)state;
    gate_reset();
    depth_job_t job = {.frames = 8, .block = true};
    rtm_thread_t t;
    memset(&t, 0, sizeof t);
    assert_true(
        rtm_thread_start(&t, "sensor", g_big_stack, sizeof g_big_stack, depth_thread, &job));
    gate_wait_arrivals(1);

    uintptr_t id = rtm_thread_task_id(&t);
    assert_true(id != 0);
    assert_true(id == job.id_inside);
    assert_string_equal(rtm_thread_name(&t), "sensor");

    rtm_stack_usage_t live;
    assert_true(rtm_stack_usage(id, &live));
    assert_int_equal(live.size, BIG_STACK);
    assert_true(live.peak_used >= 8u * FRAME_BYTES);
    assert_int_equal(live.peak_used + live.min_free, live.size);
    assert_true(job.self_ok);
    assert_true(live.peak_used >= job.self.peak_used);

    gate_open();
    assert_true(rtm_thread_join(&t));
    rtm_stack_usage_t after;
    assert_false(rtm_stack_usage(id, &after));
    assert_true(rtm_thread_stack_usage(&t, &after));
    assert_true(after.peak_used >= live.peak_used);
    assert_false(rtm_thread_join(&t)); /* twice */
}

static void test_unknown_ids(void **state)
{
    (void)state;
    rtm_stack_usage_t u = {.size = 7, .peak_used = 7, .min_free = 7};
    assert_false(rtm_stack_usage(rtm_port_task_id(), &u)); /* main: not started by rtmem */
    assert_false(rtm_stack_usage(0, &u));
    assert_false(rtm_stack_usage((uintptr_t)&u, &u));
    assert_int_equal(u.size, 7); /* untouched on failure */
    assert_int_equal(u.peak_used, 7);
    assert_int_equal(u.min_free, 7);

    rtm_thread_t never;
    memset(&never, 0, sizeof never);
    assert_int_equal(rtm_thread_task_id(&never), 0);
    assert_int_equal(rtm_thread_task_id(NULL), 0);
    assert_string_equal(rtm_thread_name(&never), "");
    assert_string_equal(rtm_thread_name(NULL), "");
    assert_false(rtm_thread_join(&never));
    assert_false(rtm_thread_join(NULL));
    assert_false(rtm_thread_stack_usage(&never, &u));
    assert_false(rtm_thread_stack_usage(NULL, &u));
}

static void noop_thread(void *arg)
{
    (void)arg;
}

static void test_bad_input_refused(void **state)
{
    (void)state;
    rtm_thread_t t;
    memset(&t, 0, sizeof t);
    uint8_t *stack = g_big_stack;
    size_t size = sizeof g_big_stack;
    assert_false(rtm_thread_start(NULL, "x", stack, size, noop_thread, NULL));
    assert_false(rtm_thread_start(&t, "x", NULL, size, noop_thread, NULL));
    assert_false(rtm_thread_start(&t, "x", stack, size, NULL, NULL));
    assert_false(rtm_thread_start(&t, "x", stack, (size_t)PTHREAD_STACK_MIN - RTM_STACK_ALIGN,
                                  noop_thread, NULL));
    assert_false(rtm_thread_start(&t, "x", stack, 0, noop_thread, NULL));
    assert_false(rtm_thread_start(&t, "x", stack + 8, size - RTM_STACK_ALIGN, noop_thread, NULL));
    assert_false(rtm_thread_start(&t, "x", stack, size - 8, noop_thread, NULL));
    assert_int_equal(rtm_thread_task_id(&t), 0);
    assert_false(rtm_thread_join(&t));

    /* The refusals took no registry entry: a good start still works, and a
     * NULL name becomes "thread". */
    assert_true(rtm_thread_start(&t, NULL, stack, size, noop_thread, NULL));
    assert_string_equal(rtm_thread_name(&t), "thread");
    assert_true(rtm_thread_join(&t));
}

static void test_registry_full_then_released(void **state)
{
    (void)state;
    gate_reset();
    static rtm_thread_t threads[RTM_STACK_MAX_THREADS + 1];
    static depth_job_t jobs[RTM_STACK_MAX_THREADS + 1];
    memset(threads, 0, sizeof threads);
    memset(jobs, 0, sizeof jobs);
    for (size_t i = 0; i < RTM_STACK_MAX_THREADS; i++) {
        jobs[i].frames = 1;
        jobs[i].block = true;
        assert_true(rtm_thread_start(&threads[i], "worker", g_small_stacks + i * SMALL_STACK,
                                     SMALL_STACK, depth_thread, &jobs[i]));
    }
    gate_wait_arrivals(RTM_STACK_MAX_THREADS);

    /* Every entry is taken: the next start is refused and starts nothing. */
    size_t last = RTM_STACK_MAX_THREADS;
    assert_false(rtm_thread_start(&threads[last], "extra", g_small_stacks + last * SMALL_STACK,
                                  SMALL_STACK, noop_thread, NULL));
    assert_int_equal(rtm_thread_task_id(&threads[last]), 0);

    /* Every registered thread is known by its own id, and only by it. */
    for (size_t i = 0; i < RTM_STACK_MAX_THREADS; i++) {
        rtm_stack_usage_t u;
        assert_true(rtm_stack_usage(rtm_thread_task_id(&threads[i]), &u));
        assert_int_equal(u.size, SMALL_STACK);
        assert_true(jobs[i].self_ok);
        assert_int_equal(jobs[i].self.size, SMALL_STACK);
    }
    /* A running thread cannot be started again on the same handle. */
    assert_false(rtm_thread_start(&threads[0], "again", g_small_stacks + last * SMALL_STACK,
                                  SMALL_STACK, noop_thread, NULL));

    gate_open();
    assert_true(rtm_thread_join(&threads[0]));
    /* One joined thread frees one entry. */
    assert_true(rtm_thread_start(&threads[last], "extra", g_small_stacks + last * SMALL_STACK,
                                 SMALL_STACK, noop_thread, NULL));
    assert_true(rtm_thread_join(&threads[last]));
    for (size_t i = 1; i < RTM_STACK_MAX_THREADS; i++) {
        assert_true(rtm_thread_join(&threads[i]));
    }
}

/* The same stack memory given to a second start while the first thread is
 * still registered (running, or returned but not joined) is refused before
 * anything is written to it: painting it would overwrite the live thread's
 * frames. A refused start leaves its handle alone, so a joined thread's
 * final mark stays readable through it. */
static void test_stack_in_use_refused(void **state)
{
    (void)state;
    gate_reset();
    depth_job_t job = {.frames = 8, .block = true};
    rtm_thread_t running;
    memset(&running, 0, sizeof running);
    assert_true(
        rtm_thread_start(&running, "running", g_big_stack, sizeof g_big_stack, depth_thread, &job));
    gate_wait_arrivals(1);
    rtm_stack_usage_t live;
    assert_true(rtm_thread_stack_usage(&running, &live));

    /* A joined thread on other memory: its handle holds a final mark. */
    rtm_thread_t done;
    memset(&done, 0, sizeof done);
    assert_true(rtm_thread_start(&done, "done", g_small_stacks, SMALL_STACK, noop_thread, NULL));
    assert_true(rtm_thread_join(&done));
    rtm_stack_usage_t final_mark;
    assert_true(rtm_thread_stack_usage(&done, &final_mark));
    uintptr_t done_id = rtm_thread_task_id(&done);

    /* The whole stack, its top half (where the live frames are), its low
     * end, and a piece inside. Only ranges within the big stack: the
     * memory around it belongs to someone else if the code is wrong. */
    uint8_t *const big = g_big_stack;
    assert_false(rtm_thread_start(&done, "x", big, BIG_STACK, noop_thread, NULL));
    assert_false(
        rtm_thread_start(&done, "x", big + BIG_STACK / 2, BIG_STACK / 2, noop_thread, NULL));
    assert_false(rtm_thread_start(&done, "x", big, BIG_STACK - SMALL_STACK, noop_thread, NULL));
    assert_false(rtm_thread_start(&done, "x", big + KIB, SMALL_STACK, noop_thread, NULL));

    /* The handle of the refused starts is the joined thread's still. */
    assert_string_equal(rtm_thread_name(&done), "done");
    assert_int_equal(rtm_thread_task_id(&done), done_id);
    rtm_stack_usage_t again;
    assert_true(rtm_thread_stack_usage(&done, &again));
    assert_int_equal(again.size, final_mark.size);
    assert_int_equal(again.peak_used, final_mark.peak_used);

    /* The running thread's stack was not painted over: its mark did not
     * fall back, and it returns through its frames when let go. */
    rtm_stack_usage_t still;
    assert_true(rtm_thread_stack_usage(&running, &still));
    assert_true(still.peak_used >= live.peak_used);
    gate_open();
    assert_true(rtm_thread_join(&running));
    assert_true(job.self_ok);

    /* Joined, the memory is free for the next thread. */
    assert_true(rtm_thread_start(&done, "next", big, BIG_STACK, noop_thread, NULL));
    assert_true(rtm_thread_join(&done));
}

/* A thread that asks about itself through its handle first thing. */
typedef struct self_job {
    rtm_thread_t *self;
    uintptr_t id_inside;  /* rtm_port_task_id() */
    uintptr_t id_handle;  /* rtm_thread_task_id(self) */
    const char *name;     /* rtm_thread_name(self) */
    bool usage_ok;        /* rtm_thread_stack_usage(self) */
    bool joined_self;     /* rtm_thread_join(self): must be refused */
} self_job_t;

static void self_thread(void *arg)
{
    self_job_t *job = arg;
    job->id_handle = rtm_thread_task_id(job->self);
    job->name = rtm_thread_name(job->self);
    rtm_stack_usage_t u;
    job->usage_ok = rtm_thread_stack_usage(job->self, &u);
#if !defined(UNDER_TSAN)
    /* ThreadSanitizer's pthread_join stops the program with an internal
     * check when a thread joins itself, so that build leaves it out. */
    job->joined_self = rtm_thread_join(job->self);
#endif
    job->id_inside = rtm_port_task_id();
}

/* The handle's fields are written by rtm_thread_start after pthread_create
 * returns; a thread that reads its own handle at once must still see them.
 * Joining itself is refused (pthread_join's EDEADLK) and leaves it
 * registered: the creator's join afterwards succeeds.
 * The race is narrow: on one CPU (where the new thread can run only when
 * the creator is preempted) it showed about once in a thousand starts, so
 * the test pins itself to one CPU and starts many threads. ThreadSanitizer
 * reports it on the first start, so that build starts fewer. */
static void test_thread_knows_its_own_handle(void **state)
{
    (void)state;
#if defined(UNDER_TSAN)
    const unsigned starts = 200;
#else
    const unsigned starts = 20000;
#endif
#if defined(__linux__)
    cpu_set_t before;
    bool pinned = sched_getaffinity(0, sizeof before, &before) == 0;
    if (pinned) {
        cpu_set_t one;
        CPU_ZERO(&one);
        for (size_t cpu = 0; cpu < (size_t)CPU_SETSIZE; cpu++) {
            if (CPU_ISSET(cpu, &before)) {
                CPU_SET(cpu, &one);
                break;
            }
        }
        pinned = sched_setaffinity(0, sizeof one, &one) == 0;
    }
#endif
    unsigned wrong = 0;
    rtm_thread_t t;
    memset(&t, 0, sizeof t);
    for (unsigned i = 0; i < starts; i++) {
        self_job_t job = {.self = &t};
        assert_true(rtm_thread_start(&t, "self", g_small_stacks, SMALL_STACK, self_thread, &job));
        assert_true(rtm_thread_join(&t));
        if (job.id_handle != job.id_inside || job.name == NULL ||
            strcmp(job.name, "self") != 0 || !job.usage_ok || job.joined_self) {
            wrong++;
        }
    }
#if defined(__linux__)
    if (pinned) {
        assert_int_equal(sched_setaffinity(0, sizeof before, &before), 0);
    }
#endif
    if (wrong != 0) {
        fail_msg("%u of %u threads did not find their own id, name or stack in their handle, "
                 "or joined themselves",
                 wrong, starts);
    }
}

/* A thread that has returned but was not joined keeps its registry entry,
 * and so stays measurable by its id; a NULL out is refused either way. */
static void test_exited_thread_stays_known_until_joined(void **state)
{
    (void)state;
    depth_job_t job = {.frames = 4};
    rtm_thread_t t;
    memset(&t, 0, sizeof t);
    assert_true(rtm_thread_start(&t, "gone", g_big_stack, sizeof g_big_stack, depth_thread, &job));
    uintptr_t id = rtm_thread_task_id(&t);
    assert_false(rtm_stack_usage(id, NULL));
    assert_false(rtm_thread_stack_usage(&t, NULL));
    /* Wait for the thread to return: the registry must not care. */
    for (unsigned i = 0; i < 5000 && !job.self_ok; i++) {
        rtm_port_sleep_ms(1);
    }
    rtm_port_sleep_ms(20);
    rtm_stack_usage_t u;
    assert_true(rtm_stack_usage(id, &u));
    assert_int_equal(u.size, BIG_STACK);
    assert_true(u.peak_used >= 4u * FRAME_BYTES);
    /* Returned is not joined: the handle cannot start another thread yet. */
    assert_false(rtm_thread_start(&t, "again", g_small_stacks, SMALL_STACK, noop_thread, NULL));
    assert_int_equal(rtm_thread_task_id(&t), id);
    assert_true(rtm_thread_join(&t));
    assert_false(rtm_stack_usage(id, &u));
}

static void test_sleep_waits_at_least(void **state)
{
    (void)state;
    uint32_t before = rtm_port_ticks();
    rtm_port_sleep_ms(30);
    uint32_t slept = rtm_port_ticks() - before;
    assert_true(slept >= 30u);
    assert_true(slept < 5000u);
    before = rtm_port_ticks();
    rtm_port_sleep_ms(0);
    assert_true(rtm_port_ticks() - before < 1000u);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_peak_follows_known_depth),
        cmocka_unit_test(test_usage_seen_while_running_and_released_by_join),
        cmocka_unit_test(test_unknown_ids),
        cmocka_unit_test(test_bad_input_refused),
        cmocka_unit_test(test_registry_full_then_released),
        cmocka_unit_test(test_stack_in_use_refused),
        cmocka_unit_test(test_thread_knows_its_own_handle),
        cmocka_unit_test(test_exited_thread_stays_known_until_joined),
        cmocka_unit_test(test_sleep_waits_at_least),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
