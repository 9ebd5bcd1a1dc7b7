/*
 * Concurrency stress: 2, 4 and 8 threads on one heap (every strategy that
 * frees), on a capability registry of three regions, on a pool and on a
 * pool set. Each worker mallocs, callocs, aligned-allocs, reallocs and
 * frees random sizes, fills every block with its own pattern and checks it
 * before letting go of the block; some blocks are handed to another thread
 * through a small mutex-protected queue and freed there. A checker thread
 * reads the statistics and runs the incremental integrity check the whole
 * time. At the end everything is freed and the statistics must be exactly
 * those of a fresh object, with counters equal to the workers' own counts.
 *
 * Workers never call cmocka (its assertions are not thread-safe): they
 * count problems and keep the first one's text, which the main thread
 * asserts on after joining them.
 *
 * RTMEM_STRESS_ITERS=<n> sets the operations per worker (default below);
 * scripts/tsan.sh runs this suite under ThreadSanitizer.
 */
#define _POSIX_C_SOURCE 200809L /* pthreads, nanosleep */

#include <pthread.h>
#include <stdatomic.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "rtmem/caps.h"
#include "rtmem/debug.h"
#include "rtmem/heap.h"
#include "rtmem/pool.h"
#include "support/test_support.h"

#if defined(RTM_PORT_POSIX)

#define DEFAULT_ITERS 4000u
#define MAX_THREADS 8u
#define WORKER_SLOTS 24u
#define QUEUE_CAP 64u
#define MAX_BLOCK 1024u
#define HEAP_BYTES (20u * 1024u)

static const unsigned k_thread_counts[] = {2, 4, 8};

/* Operations per worker: RTMEM_STRESS_ITERS, else DEFAULT_ITERS. */
static size_t stress_iters(void)
{
    const char *text = getenv("RTMEM_STRESS_ITERS");
    if (text != NULL && *text != '\0') {
        char *end = NULL;
        unsigned long n = strtoul(text, &end, 10);
        if (end != NULL && *end == '\0' && n > 0) {
            return (size_t)n;
        }
        print_message("RTMEM_STRESS_ITERS='%s' is not a positive number: using %u\n", text,
                      DEFAULT_ITERS);
    }
    return DEFAULT_ITERS;
}

/* ------------------------------------------------------------------ */
/* Hand-off queue: blocks travel from the thread that allocated them to */
/* the one that frees them                                              */

typedef struct handoff {
    uint8_t *ptr;
    size_t len;   /* bytes carrying the pattern */
    uint32_t seed;
} handoff_t;

typedef struct queue {
    pthread_mutex_t mu;
    handoff_t items[QUEUE_CAP];
    size_t head;
    size_t n;
} queue_t;

static void queue_init(queue_t *q)
{
    memset(q, 0, sizeof *q);
    assert_int_equal(pthread_mutex_init(&q->mu, NULL), 0);
}

static void queue_destroy(queue_t *q)
{
    (void)pthread_mutex_destroy(&q->mu);
}

static bool queue_push(queue_t *q, handoff_t item)
{
    bool ok = false;
    (void)pthread_mutex_lock(&q->mu);
    if (q->n < QUEUE_CAP) {
        q->items[(q->head + q->n) % QUEUE_CAP] = item;
        q->n++;
        ok = true;
    }
    (void)pthread_mutex_unlock(&q->mu);
    return ok;
}

static bool queue_pop(queue_t *q, handoff_t *out)
{
    bool ok = false;
    (void)pthread_mutex_lock(&q->mu);
    if (q->n > 0) {
        *out = q->items[q->head];
        q->head = (q->head + 1u) % QUEUE_CAP;
        q->n--;
        ok = true;
    }
    (void)pthread_mutex_unlock(&q->mu);
    return ok;
}

/* ------------------------------------------------------------------ */
/* Hook counters (hooks run in worker threads)                          */

typedef struct hook_counts {
    pthread_mutex_t mu;
    size_t failed;          /* failed-allocation hook calls */
    size_t failed_bad_args; /* ... with an impossible size or reason */
    size_t misuse;          /* misuse hook calls: must stay 0 */
} hook_counts_t;

static void hook_counts_init(hook_counts_t *h)
{
    memset(h, 0, sizeof *h);
    assert_int_equal(pthread_mutex_init(&h->mu, NULL), 0);
}

static void hook_counts_destroy(hook_counts_t *h)
{
    (void)pthread_mutex_destroy(&h->mu);
}

static void count_failed(hook_counts_t *h, bool sane)
{
    (void)pthread_mutex_lock(&h->mu);
    h->failed++;
    if (!sane) {
        h->failed_bad_args++;
    }
    (void)pthread_mutex_unlock(&h->mu);
}

static void count_misuse(hook_counts_t *h)
{
    (void)pthread_mutex_lock(&h->mu);
    h->misuse++;
    (void)pthread_mutex_unlock(&h->mu);
}

static void heap_failed_hook(rtm_heap_t *heap, size_t size, size_t alignment,
                             rtm_fail_reason_t reason, void *ctx)
{
    (void)heap;
    (void)alignment;
    bool sane = size > 0 && size <= MAX_BLOCK &&
                (reason == RTM_FAIL_NO_MEMORY || reason == RTM_FAIL_FRAGMENTED ||
                 reason == RTM_FAIL_TABLE_FULL);
    count_failed(ctx, sane);
}

static void heap_misuse_hook(rtm_heap_t *heap, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)heap;
    (void)kind;
    (void)address;
    count_misuse(ctx);
}

static void caps_failed_hook(size_t size, rtm_caps_t caps, const char *function_name, void *ctx)
{
    count_failed(ctx, size > 0 && size <= MAX_BLOCK && caps != 0 && function_name != NULL);
}

static void caps_misuse_hook(const rtm_caps_region_t *region, rtm_misuse_t kind,
                             const void *address, void *ctx)
{
    (void)region;
    (void)kind;
    (void)address;
    count_misuse(ctx);
}

static void pool_failed_hook(rtm_pool_t *pool, rtm_fail_reason_t reason, void *ctx)
{
    (void)pool;
    count_failed(ctx, reason == RTM_FAIL_NO_MEMORY);
}

static void pool_misuse_hook(rtm_pool_t *pool, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)pool;
    (void)kind;
    (void)address;
    count_misuse(ctx);
}

static void set_failed_hook(rtm_pool_set_t *set, size_t size, rtm_fail_reason_t reason, void *ctx)
{
    (void)set;
    count_failed(ctx, size > 0 && reason == RTM_FAIL_NO_MEMORY);
}

static void set_misuse_hook(rtm_pool_set_t *set, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)set;
    (void)kind;
    (void)address;
    count_misuse(ctx);
}

/* ------------------------------------------------------------------ */
/* Shared state of one run                                              */

typedef enum target_kind {
    TARGET_HEAP,
    TARGET_CAPS,
    TARGET_POOL,
    TARGET_POOL_SET
} target_kind_t;

typedef struct shared {
    target_kind_t kind;
    rtm_heap_t *heap;       /* TARGET_HEAP; TARGET_POOL_SET: the fallback */
    rtm_pool_t *pool;       /* TARGET_POOL */
    rtm_pool_set_t *set;    /* TARGET_POOL_SET */
    size_t iters;
    queue_t queue;
    hook_counts_t hooks;
    atomic_bool done;       /* workers finished: the checker stops */
} shared_t;

typedef struct slot {
    uint8_t *ptr;
    size_t len;
    uint32_t seed;
} slot_t;

typedef struct worker {
    shared_t *sh;
    unsigned id;
    ts_rng_t rng;
    uint32_t next_seed;
    size_t allocs;   /* successful allocations, as the target counts them */
    size_t frees;    /* successful frees, as the target counts them */
    size_t failures; /* allocations that returned NULL */
    size_t handed;   /* blocks pushed to the queue */
    size_t taken;    /* blocks popped from the queue and freed here */
    size_t waits;    /* rtm_pool_alloc_wait calls */
    size_t errors;
    char first_error[200];
    slot_t slots[WORKER_SLOTS];
} worker_t;

static void worker_error(worker_t *w, const char *what, const void *p, size_t a, size_t b)
{
    if (w->errors == 0) {
        (void)snprintf(w->first_error, sizeof w->first_error, "thread %u: %s (block %p, %zu, %zu)",
                       w->id, what, p, a, b);
    }
    w->errors++;
}

static uint32_t fresh_seed(worker_t *w)
{
    return (w->id << 24) ^ w->next_seed++;
}

static void verify_pattern(worker_t *w, const uint8_t *p, size_t len, uint32_t seed)
{
    size_t good = ts_pattern_check(p, len, seed);
    if (good != len) {
        worker_error(w, "pattern damaged", p, good, len);
    }
}

/* Capability sets the registry below can serve. */
static const rtm_caps_t k_request_caps[] = {
    RTM_CAP_DEFAULT,
    RTM_CAP_DMA,
    RTM_CAP_8BIT,
    RTM_CAP_INTERNAL | RTM_CAP_8BIT,
    RTM_CAP_SPIRAM,
    RTM_CAP_32BIT,
};

static rtm_caps_t random_caps(worker_t *w)
{
    return k_request_caps[ts_rng_range(&w->rng, 0, TS_ARRAY_LEN(k_request_caps) - 1u)];
}

/* The allocator under test, heap or capability registry. */
static void *target_malloc(worker_t *w, size_t size)
{
    if (w->sh->kind == TARGET_HEAP) {
        return rtm_malloc(w->sh->heap, size);
    }
    return ts_rng_chance(&w->rng, 25) ? rtm_caps_malloc_default(size)
                                      : rtm_caps_malloc(size, random_caps(w));
}

static void *target_calloc(worker_t *w, size_t n, size_t size)
{
    if (w->sh->kind == TARGET_HEAP) {
        return rtm_calloc(w->sh->heap, n, size);
    }
    return rtm_caps_calloc(n, size, random_caps(w));
}

static void *target_aligned(worker_t *w, size_t alignment, size_t size)
{
    if (w->sh->kind == TARGET_HEAP) {
        return rtm_aligned_alloc(w->sh->heap, alignment, size);
    }
    return rtm_caps_aligned_alloc(alignment, size, random_caps(w));
}

static void *target_realloc(worker_t *w, void *p, size_t size)
{
    if (w->sh->kind == TARGET_HEAP) {
        return rtm_realloc(w->sh->heap, p, size);
    }
    return rtm_caps_realloc(p, size, random_caps(w));
}

static void target_free(worker_t *w, void *p)
{
    if (w->sh->kind == TARGET_HEAP) {
        rtm_free(w->sh->heap, p);
    } else {
        rtm_caps_free(p);
    }
}

static void release_block(worker_t *w, uint8_t *p, size_t len, uint32_t seed)
{
    verify_pattern(w, p, len, seed);
    target_free(w, p);
    w->frees++;
}

static void take_from_queue(worker_t *w)
{
    handoff_t h;
    if (queue_pop(&w->sh->queue, &h)) {
        release_block(w, h.ptr, h.len, h.seed);
        w->taken++;
    }
}

static void allocate_into(worker_t *w, slot_t *s)
{
    uint8_t *p = NULL;
    size_t len = 0;
    unsigned pick = (unsigned)ts_rng_range(&w->rng, 0, 99);
    if (pick < 50) {
        len = ts_rng_log_uniform(&w->rng, 1, MAX_BLOCK);
        p = target_malloc(w, len);
    } else if (pick < 70) {
        size_t n = ts_rng_range(&w->rng, 1, 16);
        size_t each = ts_rng_range(&w->rng, 1, 64);
        len = n * each;
        p = target_calloc(w, n, each);
        for (size_t i = 0; p != NULL && i < len; i++) {
            if (p[i] != 0) {
                worker_error(w, "calloc block not zeroed", p, i, len);
                break;
            }
        }
    } else {
        size_t alignment = ts_rng_pow2(&w->rng, 16, 512);
        len = ts_rng_log_uniform(&w->rng, 1, MAX_BLOCK);
        p = target_aligned(w, alignment, len);
        if (p != NULL && ((uintptr_t)p & (alignment - 1u)) != 0) {
            worker_error(w, "aligned block misaligned", p, alignment, len);
        }
    }
    if (p == NULL) {
        w->failures++;
        return;
    }
    w->allocs++;
    s->ptr = p;
    s->len = len;
    s->seed = fresh_seed(w);
    ts_pattern_fill(p, len, s->seed);
}

static void reallocate(worker_t *w, slot_t *s)
{
    size_t len = ts_rng_log_uniform(&w->rng, 1, MAX_BLOCK);
    uint8_t *q = target_realloc(w, s->ptr, len);
    if (q == NULL) {
        w->failures++;
        verify_pattern(w, s->ptr, s->len, s->seed); /* the old block must be untouched */
        return;
    }
    size_t keep = len < s->len ? len : s->len;
    verify_pattern(w, q, keep, s->seed);
    if (q != s->ptr) {
        /* Moved: the new block was taken before the old one was freed. */
        w->allocs++;
        w->frees++;
    }
    s->ptr = q;
    s->len = len;
    s->seed = fresh_seed(w);
    ts_pattern_fill(q, len, s->seed);
}

static void *alloc_worker_main(void *arg)
{
    worker_t *w = arg;
    for (size_t k = 0; k < w->sh->iters; k++) {
        if (ts_rng_chance(&w->rng, 10)) {
            take_from_queue(w);
            continue;
        }
        slot_t *s = &w->slots[ts_rng_range(&w->rng, 0, WORKER_SLOTS - 1u)];
        if (s->ptr == NULL) {
            allocate_into(w, s);
            continue;
        }
        unsigned pick = (unsigned)ts_rng_range(&w->rng, 0, 99);
        if (pick < 15) {
            reallocate(w, s);
            continue;
        }
        verify_pattern(w, s->ptr, s->len, s->seed);
        handoff_t h = {s->ptr, s->len, s->seed};
        if (pick < 45 && queue_push(&w->sh->queue, h)) {
            w->handed++;
        } else {
            release_block(w, s->ptr, s->len, s->seed);
        }
        s->ptr = NULL;
    }
    for (size_t i = 0; i < WORKER_SLOTS; i++) {
        if (w->slots[i].ptr != NULL) {
            release_block(w, w->slots[i].ptr, w->slots[i].len, w->slots[i].seed);
            w->slots[i].ptr = NULL;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Pool workers                                                         */

static void *pool_take(worker_t *w, size_t *len)
{
    shared_t *sh = w->sh;
    if (sh->kind == TARGET_POOL_SET) {
        *len = ts_rng_log_uniform(&w->rng, 1, 400);
        return rtm_pool_set_alloc(sh->set, *len);
    }
    *len = rtm_pool_block_size(sh->pool);
    if (ts_rng_chance(&w->rng, 15)) {
        w->waits++;
        return rtm_pool_alloc_wait(sh->pool, (uint32_t)ts_rng_range(&w->rng, 1, 3));
    }
    return rtm_pool_alloc(sh->pool);
}

static void pool_give(worker_t *w, uint8_t *p, size_t len, uint32_t seed)
{
    verify_pattern(w, p, len, seed);
    if (w->sh->kind == TARGET_POOL_SET) {
        rtm_pool_set_free(w->sh->set, p);
    } else {
        rtm_pool_free(w->sh->pool, p);
    }
    w->frees++;
}

static void *pool_worker_main(void *arg)
{
    worker_t *w = arg;
    /* Each worker may hold more blocks than half the pool: two workers
     * already exhaust it, so waits and failures happen at every count. */
    size_t hold = w->sh->kind == TARGET_POOL ? 10u : WORKER_SLOTS;
    for (size_t k = 0; k < w->sh->iters; k++) {
        if (ts_rng_chance(&w->rng, 10)) {
            handoff_t h;
            if (queue_pop(&w->sh->queue, &h)) {
                pool_give(w, h.ptr, h.len, h.seed);
                w->taken++;
            }
            continue;
        }
        slot_t *s = &w->slots[ts_rng_range(&w->rng, 0, hold - 1u)];
        if (s->ptr == NULL) {
            size_t len = 0;
            uint8_t *p = pool_take(w, &len);
            if (p == NULL) {
                w->failures++;
                continue;
            }
            w->allocs++;
            s->ptr = p;
            s->len = len;
            s->seed = fresh_seed(w);
            ts_pattern_fill(p, len, s->seed);
            continue;
        }
        handoff_t h = {s->ptr, s->len, s->seed};
        /* Checked before the push: once queued, the block is another
         * thread's. */
        verify_pattern(w, s->ptr, s->len, s->seed);
        if (ts_rng_chance(&w->rng, 30) && queue_push(&w->sh->queue, h)) {
            w->handed++;
        } else {
            pool_give(w, s->ptr, s->len, s->seed);
        }
        s->ptr = NULL;
    }
    for (size_t i = 0; i < WORKER_SLOTS; i++) {
        if (w->slots[i].ptr != NULL) {
            pool_give(w, w->slots[i].ptr, w->slots[i].len, w->slots[i].seed);
            w->slots[i].ptr = NULL;
        }
    }
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Checker thread                                                       */

typedef struct checker {
    shared_t *sh;
    size_t rounds;
    size_t steps;
    size_t errors;
    char first_error[240];
} checker_t;

static void checker_error(checker_t *c, const char *what, size_t a, size_t b)
{
    if (c->errors == 0) {
        (void)snprintf(c->first_error, sizeof c->first_error, "checker round %zu: %s (%zu, %zu)",
                       c->rounds, what, a, b);
    }
    c->errors++;
}

static void check_heap_info(checker_t *c, rtm_heap_t *heap)
{
    rtm_heap_info_t info;
    if (!rtm_heap_info(heap, &info)) {
        checker_error(c, "rtm_heap_info refused", 0, 0);
        return;
    }
    if (info.free_bytes + info.allocated_bytes + info.overhead_bytes != info.total_bytes) {
        checker_error(c, "free + allocated + overhead != total", info.free_bytes,
                      info.allocated_bytes);
    }
    if (info.largest_free_block > info.free_bytes || info.min_free_bytes > info.free_bytes) {
        checker_error(c, "largest or minimum free above free", info.largest_free_block,
                      info.min_free_bytes);
    }
    if (info.used_blocks != info.alloc_count - info.free_count) {
        checker_error(c, "used blocks != allocations - frees", info.used_blocks,
                      info.alloc_count - info.free_count);
    }
    if (rtm_heap_largest_free(heap) > info.total_bytes) {
        checker_error(c, "rtm_heap_largest_free above the heap size", rtm_heap_largest_free(heap),
                      info.total_bytes);
    }
}

static void check_step(checker_t *c, rtm_heap_t *heap)
{
    rtm_check_report_t rep = {NULL, NULL};
    rtm_check_status_t st = rtm_heap_check_step(heap, 8, &rep);
    c->steps++;
    if (st == RTM_CHECK_FAILED) {
        if (c->errors == 0) {
            (void)snprintf(c->first_error, sizeof c->first_error, "check step failed: %s at %p",
                           rep.problem != NULL ? rep.problem : "?", rep.address);
        }
        c->errors++;
    }
}

static void check_caps(checker_t *c)
{
    rtm_caps_info_t info;
    if (!rtm_caps_get_info(0, &info)) {
        checker_error(c, "rtm_caps_get_info refused", 0, 0);
        return;
    }
    if (info.free_bytes + info.allocated_bytes + info.overhead_bytes != info.total_bytes) {
        checker_error(c, "caps: free + allocated + overhead != total", info.free_bytes,
                      info.allocated_bytes);
    }
    if (rtm_caps_largest_free_block(RTM_CAP_DEFAULT) > rtm_caps_total_size(RTM_CAP_DEFAULT)) {
        checker_error(c, "caps: largest free block above the total", 0, 0);
    }
    rtm_caps_check_report_t rep;
    if (!rtm_caps_check_all(false, &rep)) {
        checker_error(c, "rtm_caps_check_all failed", 0, 0);
    }
    for (size_t i = 0; i < rtm_caps_region_count(); i++) {
        check_step(c, rtm_caps_region_heap(rtm_caps_region_at(i)));
    }
}

static void check_pool(checker_t *c, rtm_pool_t *pool)
{
    rtm_pool_info_t info;
    if (!rtm_pool_info(pool, &info)) {
        checker_error(c, "rtm_pool_info refused", 0, 0);
        return;
    }
    if (info.used + info.free != info.capacity || info.peak_used > info.capacity ||
        info.used > info.peak_used) {
        checker_error(c, "pool: used + free != capacity or peak out of range", info.used,
                      info.peak_used);
    }
    rtm_check_report_t rep;
    if (!rtm_pool_check(pool, &rep)) {
        checker_error(c, "rtm_pool_check failed", 0, 0);
    }
}

static void *checker_main(void *arg)
{
    checker_t *c = arg;
    shared_t *sh = c->sh;
    const struct timespec pause = {0, 200000}; /* 0.2 ms: let the workers run */
    do {
        switch (sh->kind) {
        case TARGET_HEAP:
            check_heap_info(c, sh->heap);
            check_step(c, sh->heap);
            break;
        case TARGET_CAPS:
            check_caps(c);
            break;
        case TARGET_POOL:
            check_pool(c, sh->pool);
            break;
        case TARGET_POOL_SET:
        default:
            for (size_t i = 0; rtm_pool_set_class(sh->set, i) != NULL; i++) {
                check_pool(c, rtm_pool_set_class(sh->set, i));
            }
            check_heap_info(c, sh->heap);
            if (!rtm_pool_set_check(sh->set, NULL)) {
                checker_error(c, "rtm_pool_set_check failed", 0, 0);
            }
            break;
        }
        c->rounds++;
        (void)nanosleep(&pause, NULL);
    } while (!atomic_load(&sh->done));
    return NULL;
}

/* ------------------------------------------------------------------ */
/* Running one configuration                                            */

typedef struct totals {
    size_t allocs;
    size_t frees;
    size_t failures;
    size_t handed;
    size_t taken;
    size_t waits;
    size_t checker_rounds;
} totals_t;

static void shared_init(shared_t *sh, target_kind_t kind)
{
    memset(sh, 0, sizeof *sh);
    sh->kind = kind;
    sh->iters = stress_iters();
    queue_init(&sh->queue);
    hook_counts_init(&sh->hooks);
    atomic_init(&sh->done, false);
}

static void shared_destroy(shared_t *sh)
{
    queue_destroy(&sh->queue);
    hook_counts_destroy(&sh->hooks);
}

/* Runs `threads` workers and the checker to the end, frees what is left
 * in the queue, and fails the test on any problem a thread saw. */
static double seconds_now(void)
{
    struct timespec ts;
    (void)clock_gettime(CLOCK_MONOTONIC, &ts);
    return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void run_threads(shared_t *sh, unsigned threads, totals_t *t)
{
    double started = seconds_now();
    static worker_t workers[MAX_THREADS];
    pthread_t tid[MAX_THREADS];
    pthread_t checker_tid;
    checker_t checker;
    void *(*worker_fn)(void *) =
        sh->kind == TARGET_POOL || sh->kind == TARGET_POOL_SET ? pool_worker_main : alloc_worker_main;

    ts_pattern_prepare();
    memset(&checker, 0, sizeof checker);
    checker.sh = sh;
    atomic_store(&sh->done, false);
    assert_int_equal(pthread_create(&checker_tid, NULL, checker_main, &checker), 0);
    for (unsigned i = 0; i < threads; i++) {
        worker_t *w = &workers[i];
        memset(w, 0, sizeof *w);
        w->sh = sh;
        w->id = i + 1u;
        ts_rng_seed(&w->rng, UINT64_C(0x57e55) * (i + 1u) + threads);
        assert_int_equal(pthread_create(&tid[i], NULL, worker_fn, w), 0);
    }
    memset(t, 0, sizeof *t);
    for (unsigned i = 0; i < threads; i++) {
        assert_int_equal(pthread_join(tid[i], NULL), 0);
    }
    atomic_store(&sh->done, true);
    assert_int_equal(pthread_join(checker_tid, NULL), 0);

    for (unsigned i = 0; i < threads; i++) {
        worker_t *w = &workers[i];
        if (w->errors != 0) {
            ts_fail("%zu problems in a worker; first: %s", w->errors, w->first_error);
        }
        t->allocs += w->allocs;
        t->frees += w->frees;
        t->failures += w->failures;
        t->handed += w->handed;
        t->taken += w->taken;
        t->waits += w->waits;
    }
    if (checker.errors != 0) {
        ts_fail("%zu problems seen by the checker; first: %s", checker.errors, checker.first_error);
    }
    t->checker_rounds = checker.rounds;

    /* What is still queued is freed here, by yet another thread. */
    worker_t drain;
    memset(&drain, 0, sizeof drain);
    drain.sh = sh;
    handoff_t h;
    while (queue_pop(&sh->queue, &h)) {
        if (sh->kind == TARGET_POOL || sh->kind == TARGET_POOL_SET) {
            pool_give(&drain, h.ptr, h.len, h.seed);
        } else {
            release_block(&drain, h.ptr, h.len, h.seed);
        }
        t->taken++;
    }
    if (drain.errors != 0) {
        ts_fail("draining the queue: %s", drain.first_error);
    }
    t->frees += drain.frees;
    assert_int_equal(t->handed, t->taken);
    assert_true(t->checker_rounds >= 1);
    assert_int_equal(sh->hooks.misuse, 0);
    assert_int_equal(sh->hooks.failed_bad_args, 0);
    assert_int_equal(sh->hooks.failed, t->failures);
    print_message("      %u threads: %zu allocations, %zu failed, %zu handed over, %zu waits, "
                  "%zu checker rounds, %.2f s\n",
                  threads, t->allocs, t->failures, t->handed, t->waits, t->checker_rounds,
                  seconds_now() - started);
}

/* ------------------------------------------------------------------ */
/* One heap                                                             */

static void stress_heap(rtm_strategy_id_t s)
{
    if (!ts_strategy_available(s)) {
        print_message("      %s not compiled in: skipped\n", ts_strategy_label(s));
        skip();
    }
    for (size_t k = 0; k < TS_ARRAY_LEN(k_thread_counts); k++) {
        unsigned threads = k_thread_counts[k];
        /* Small enough that 4 and 8 workers run it out of memory. */
        ts_heap_opts_t opts = {.strategy = s, .size = HEAP_BYTES};
        ts_heap_t *th = ts_heap_open_ex(&opts);
        shared_t sh;
        shared_init(&sh, TARGET_HEAP);
        sh.heap = th->heap;
        rtm_heap_set_hooks(th->heap, heap_failed_hook, heap_misuse_hook, &sh.hooks);
        const rtm_heap_info_t *start = &th->initial;
        assert_int_equal(rtm_heap_largest_free(th->heap), start->largest_free_block);

        totals_t t;
        run_threads(&sh, threads, &t);

        rtm_heap_info_t end;
        ts_assert_heap_sane(th, &end);
        rtm_check_report_t rep = {NULL, NULL};
        if (!rtm_heap_check(th->heap, &rep)) {
            ts_fail("rtm_heap_check: %s", rep.problem);
        }
        assert_int_equal(end.used_blocks, 0);
        assert_int_equal(end.allocated_bytes, 0);
        assert_int_equal(end.alloc_count, t.allocs);
        assert_int_equal(end.free_count, t.frees);
        assert_int_equal(end.alloc_count, end.free_count);
        assert_int_equal(end.failed_count, t.failures);
        assert_int_equal(end.total_bytes, start->total_bytes);
        assert_true(end.min_free_bytes < start->free_bytes);
        if (ts_coalesces(s) || s == RTM_SYSTEM) {
            assert_int_equal(end.free_bytes, start->free_bytes);
            assert_int_equal(end.overhead_bytes, start->overhead_bytes);
            assert_int_equal(end.free_blocks, start->free_blocks);
            assert_int_equal(end.largest_free_block, start->largest_free_block);
        } else {
            /* Best fit never merges: every split left a 4-byte header
             * behind, moved from free bytes to overhead. */
            size_t headers = end.free_blocks - start->free_blocks;
            assert_int_equal(start->free_bytes - end.free_bytes, 4u * headers);
            assert_int_equal(end.overhead_bytes - start->overhead_bytes, 4u * headers);
        }
        shared_destroy(&sh);
        ts_heap_close(th);
    }
}

static void test_heap_tlsf(void **state)
{
    (void)state;
    stress_heap(RTM_TLSF);
}

static void test_heap_first_fit(void **state)
{
    (void)state;
    stress_heap(RTM_FIRST_FIT);
}

static void test_heap_best_fit(void **state)
{
    (void)state;
    stress_heap(RTM_BEST_FIT);
}

static void test_heap_system(void **state)
{
    (void)state;
    stress_heap(RTM_SYSTEM);
}

/* ------------------------------------------------------------------ */
/* Capability registry                                                  */

#define REGIONS 3u
static _Alignas(8) uint8_t g_dram[24 * 1024];
static _Alignas(8) uint8_t g_sram[16 * 1024];
static _Alignas(8) uint8_t g_psram[32 * 1024];

static void test_caps(void **state)
{
    (void)state;
    static rtm_caps_registry_t reg;
    static rtm_caps_region_t slots[REGIONS];
    static const rtm_caps_region_config_t rc[REGIONS] = {
        {.name = "dram",
         .caps = {RTM_CAP_8BIT | RTM_CAP_DMA, RTM_CAP_DEFAULT | RTM_CAP_INTERNAL | RTM_CAP_32BIT, 0},
         .strategy = &rtm_strategy_tlsf},
        {.name = "sram",
         .caps = {RTM_CAP_DEFAULT | RTM_CAP_8BIT, RTM_CAP_INTERNAL | RTM_CAP_32BIT, 0},
         .strategy = &rtm_strategy_first_fit},
        {.name = "psram",
         .caps = {RTM_CAP_SPIRAM, RTM_CAP_DEFAULT | RTM_CAP_8BIT | RTM_CAP_32BIT, 0},
         .strategy = &rtm_strategy_tlsf},
    };
    uint8_t *const mem[REGIONS] = {g_dram, g_sram, g_psram};
    const size_t bytes[REGIONS] = {sizeof g_dram, sizeof g_sram, sizeof g_psram};

    for (size_t k = 0; k < TS_ARRAY_LEN(k_thread_counts); k++) {
        unsigned threads = k_thread_counts[k];
        shared_t sh;
        shared_init(&sh, TARGET_CAPS);
        rtm_caps_config_t cfg = {.on_alloc_failed = caps_failed_hook,
                                 .alloc_failed_ctx = &sh.hooks,
                                 .on_misuse = caps_misuse_hook,
                                 .misuse_ctx = &sh.hooks};
        assert_int_equal(rtm_caps_init(&reg, slots, REGIONS, &cfg), RTM_CAPS_OK);
        rtm_heap_info_t base[REGIONS];
        for (size_t r = 0; r < REGIONS; r++) {
            assert_int_equal(rtm_caps_add_region(mem[r], bytes[r], &rc[r], NULL), RTM_CAPS_OK);
            assert_true(rtm_heap_info(rtm_caps_region_heap(rtm_caps_region_at(r)), &base[r]));
        }
        size_t base_free[TS_ARRAY_LEN(k_request_caps)];
        for (size_t c = 0; c < TS_ARRAY_LEN(k_request_caps); c++) {
            base_free[c] = rtm_caps_free_size(k_request_caps[c]);
        }
        size_t base_largest = rtm_caps_largest_free_block(RTM_CAP_DEFAULT);

        totals_t t;
        run_threads(&sh, threads, &t);

        size_t allocs = 0, frees = 0;
        for (size_t r = 0; r < REGIONS; r++) {
            rtm_heap_info_t end;
            rtm_heap_t *heap = rtm_caps_region_heap(rtm_caps_region_at(r));
            assert_true(rtm_heap_info(heap, &end));
            assert_true(rtm_heap_check(heap, NULL));
            assert_int_equal(end.used_blocks, 0);
            assert_int_equal(end.allocated_bytes, 0);
            assert_int_equal(end.free_bytes, base[r].free_bytes);
            assert_int_equal(end.largest_free_block, base[r].largest_free_block);
            assert_int_equal(end.free_blocks, base[r].free_blocks);
            allocs += end.alloc_count - base[r].alloc_count;
            frees += end.free_count - base[r].free_count;
        }
        assert_int_equal(allocs, t.allocs);
        assert_int_equal(frees, t.frees);
        assert_int_equal(allocs, frees);
        for (size_t c = 0; c < TS_ARRAY_LEN(k_request_caps); c++) {
            assert_int_equal(rtm_caps_free_size(k_request_caps[c]), base_free[c]);
        }
        assert_int_equal(rtm_caps_largest_free_block(RTM_CAP_DEFAULT), base_largest);
        rtm_caps_info_t all;
        assert_true(rtm_caps_get_info(0, &all));
        assert_int_equal(all.used_blocks, 0);
        assert_int_equal(all.alloc_count, all.free_count);
        assert_true(rtm_caps_check_all(false, NULL));
        rtm_caps_deinit();
        shared_destroy(&sh);
    }
}

/* ------------------------------------------------------------------ */
/* Pools                                                                */

#define POOL_BLOCK 48u
#define POOL_COUNT 16u

static void test_pool(void **state)
{
    (void)state;
    static rtm_pool_t ctl;
    static _Alignas(8) uint8_t storage[RTM_POOL_STORAGE_SIZE(POOL_BLOCK, POOL_COUNT, 0)];
    for (size_t k = 0; k < TS_ARRAY_LEN(k_thread_counts); k++) {
        unsigned threads = k_thread_counts[k];
        shared_t sh;
        shared_init(&sh, TARGET_POOL);
        rtm_pool_config_t cfg = {.block_size = POOL_BLOCK,
                                 .count = POOL_COUNT,
                                 .name = "stress",
                                 .on_alloc_failed = pool_failed_hook,
                                 .on_misuse = pool_misuse_hook,
                                 .hook_ctx = &sh.hooks};
        sh.pool = rtm_pool_init(&ctl, storage, sizeof storage, &cfg);
        assert_non_null(sh.pool);

        totals_t t;
        run_threads(&sh, threads, &t);

        rtm_pool_info_t info;
        assert_true(rtm_pool_info(sh.pool, &info));
        assert_true(rtm_pool_check(sh.pool, NULL));
        assert_int_equal(info.used, 0);
        assert_int_equal(info.free, POOL_COUNT);
        assert_int_equal(info.waiting, 0);
        assert_true(info.peak_used <= info.capacity);
        assert_int_equal(info.peak_used, POOL_COUNT); /* the workers exhaust it */
        assert_int_equal(info.alloc_count, t.allocs);
        assert_int_equal(info.free_count, t.frees);
        assert_int_equal(info.alloc_count, info.free_count);
        assert_int_equal(info.failed_count, t.failures);
        assert_true(info.wait_count <= t.waits);
        assert_true(t.failures > 0);
        assert_true(rtm_pool_deinit(sh.pool));
        shared_destroy(&sh);
    }
}

/* A set of three classes with the heap it lives in as fallback. */
static void test_pool_set(void **state)
{
    (void)state;
    static const rtm_pool_class_t classes[] = {{24, 16}, {96, 8}, {256, 4}};
    for (size_t k = 0; k < TS_ARRAY_LEN(k_thread_counts); k++) {
        unsigned threads = k_thread_counts[k];
        ts_heap_t *th = ts_heap_open(RTM_TLSF, 0);
        shared_t sh;
        shared_init(&sh, TARGET_POOL_SET);
        rtm_heap_set_hooks(th->heap, heap_failed_hook, heap_misuse_hook, &sh.hooks);
        rtm_pool_set_config_t scfg = {.name = "stress set",
                                      .flags = RTM_POOL_SET_TRY_LARGER,
                                      .fallback = th->heap,
                                      .on_alloc_failed = set_failed_hook,
                                      .on_misuse = set_misuse_hook,
                                      .hook_ctx = &sh.hooks};
        sh.heap = th->heap;
        sh.set = rtm_pool_set_create(th->heap, classes, TS_ARRAY_LEN(classes), &scfg);
        assert_non_null(sh.set);
        rtm_heap_info_t before;
        assert_true(rtm_heap_info(th->heap, &before));

        totals_t t;
        run_threads(&sh, threads, &t);

        rtm_pool_set_info_t si;
        assert_true(rtm_pool_set_info(sh.set, &si));
        assert_true(rtm_pool_set_check(sh.set, NULL));
        assert_int_equal(si.pool_allocs + si.larger_allocs + si.fallback_allocs, t.allocs);
        assert_int_equal(si.failed_count, t.failures);
        size_t pool_allocs = 0;
        for (size_t i = 0; i < TS_ARRAY_LEN(classes); i++) {
            rtm_pool_info_t info;
            assert_true(rtm_pool_info(rtm_pool_set_class(sh.set, i), &info));
            assert_int_equal(info.used, 0);
            assert_true(info.peak_used <= info.capacity);
            assert_int_equal(info.alloc_count, info.free_count);
            pool_allocs += info.alloc_count;
        }
        assert_int_equal(pool_allocs, si.pool_allocs + si.larger_allocs);
        rtm_heap_info_t after;
        assert_true(rtm_heap_info(th->heap, &after));
        assert_int_equal(after.used_blocks, before.used_blocks);
        assert_int_equal(after.alloc_count - before.alloc_count, si.fallback_allocs);
        assert_int_equal(after.free_count - before.free_count, si.fallback_allocs);
        assert_int_equal(after.free_bytes, before.free_bytes);
        assert_true(si.fallback_allocs > 0);
        assert_true(rtm_pool_set_delete(sh.set));
        assert_true(rtm_heap_info(th->heap, &after));
        assert_int_equal(after.used_blocks, 0);
        assert_int_equal(after.free_bytes, th->initial.free_bytes);
        assert_int_equal(after.largest_free_block, th->initial.largest_free_block);
        shared_destroy(&sh);
        ts_heap_close(th);
    }
}

/* A task blocked in rtm_pool_alloc_wait on an exhausted pool gets the
 * block another thread frees, and times out when none is freed. */
typedef struct waiter_arg {
    rtm_pool_t *pool;
    uint32_t timeout_ms;
    void *got;
} waiter_arg_t;

static void *waiter_main(void *arg)
{
    waiter_arg_t *a = arg;
    a->got = rtm_pool_alloc_wait(a->pool, a->timeout_ms);
    return NULL;
}

static void test_pool_wait_exhausted(void **state)
{
    (void)state;
    static rtm_pool_t ctl;
    static _Alignas(8) uint8_t storage[RTM_POOL_STORAGE_SIZE(32, 4, 0)];
    hook_counts_t hooks;
    hook_counts_init(&hooks);
    rtm_pool_config_t cfg = {.block_size = 32, .count = 4, .on_alloc_failed = pool_failed_hook,
                             .on_misuse = pool_misuse_hook, .hook_ctx = &hooks};
    rtm_pool_t *pool = rtm_pool_init(&ctl, storage, sizeof storage, &cfg);
    assert_non_null(pool);
    void *held[4];
    for (size_t i = 0; i < 4; i++) {
        held[i] = rtm_pool_alloc(pool);
        assert_non_null(held[i]);
    }

    /* Nobody frees: the wait ends by its timeout. */
    waiter_arg_t a = {pool, 30, NULL};
    pthread_t tid;
    assert_int_equal(pthread_create(&tid, NULL, waiter_main, &a), 0);
    assert_int_equal(pthread_join(tid, NULL), 0);
    assert_null(a.got);
    assert_int_equal(hooks.failed, 1);

    /* A waiter is served by a free from this thread. */
    waiter_arg_t b = {pool, 10000, NULL};
    assert_int_equal(pthread_create(&tid, NULL, waiter_main, &b), 0);
    rtm_pool_info_t info;
    const struct timespec pause = {0, 1000000};
    for (int i = 0; i < 5000; i++) {
        assert_true(rtm_pool_info(pool, &info));
        if (info.waiting == 1) {
            break;
        }
        (void)nanosleep(&pause, NULL);
    }
    assert_int_equal(info.waiting, 1);
    rtm_pool_free(pool, held[2]);
    assert_int_equal(pthread_join(tid, NULL), 0);
    assert_ptr_equal(b.got, held[2]);
    held[2] = b.got;

    for (size_t i = 0; i < 4; i++) {
        rtm_pool_free(pool, held[i]);
    }
    assert_true(rtm_pool_info(pool, &info));
    assert_int_equal(info.used, 0);
    assert_int_equal(info.alloc_count, 5);
    assert_int_equal(info.free_count, 5);
    assert_int_equal(info.failed_count, 1);
    assert_int_equal(info.wait_count, 2);
    assert_int_equal(info.waiting, 0);
    assert_int_equal(hooks.failed, 1);
    assert_int_equal(hooks.misuse, 0);
    assert_true(rtm_pool_check(pool, NULL));
    assert_true(rtm_pool_deinit(pool));
    hook_counts_destroy(&hooks);
}

/* An observer attached and detached on a locked heap while another thread
 * allocates (the documented way to attach a tracer at run time): the
 * front's plain-path words change under the lock, and rtm_malloc and
 * rtm_free read the unlocked heaps' words without it, so a locked heap's
 * must never be stored to (ThreadSanitizer, scripts/tsan.sh). */
static atomic_int g_observer_stop;
static atomic_int g_observer_rounds;

static void observer_ignore(const rtm_heap_event_t *event, void *ctx)
{
    (void)event;
    (void)ctx;
}

static void *observer_allocator(void *arg)
{
    rtm_heap_t *h = arg;
    while (atomic_load(&g_observer_stop) == 0) {
        rtm_free(h, rtm_malloc(h, 32));
        atomic_fetch_add(&g_observer_rounds, 1);
    }
    return NULL;
}

static void test_observer_attached_while_allocating(void **state)
{
    (void)state;
    static _Alignas(8) uint8_t mem[64 * 1024];
    rtm_heap_t *h = rtm_heap_init(mem, sizeof mem, NULL); /* locked */
    assert_non_null(h);
    atomic_store(&g_observer_stop, 0);
    atomic_store(&g_observer_rounds, 0);
    pthread_t t;
    assert_int_equal(pthread_create(&t, NULL, observer_allocator, h), 0);
    for (int i = 0; atomic_load(&g_observer_rounds) < 20000; i++) {
        rtm_heap_set_observer(h, (i & 1) != 0 ? observer_ignore : NULL, NULL);
        (void)rtm_heap_check_step(h, 4, NULL);
    }
    atomic_store(&g_observer_stop, 1);
    assert_int_equal(pthread_join(t, NULL), 0);
    rtm_heap_set_observer(h, NULL, NULL);
    assert_true(rtm_heap_check(h, NULL));
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(h, &info));
    assert_int_equal(info.used_blocks, 0);
    rtm_heap_deinit(h);
}

#else

/* Without the posix port the heaps take no lock: nothing to stress. */
static void test_needs_posix_port(void **state)
{
    (void)state;
    print_message("      built without the posix port: skipped\n");
    skip();
}

#endif /* RTM_PORT_POSIX */

int main(void)
{
#if defined(RTM_PORT_POSIX)
    print_message("rtmem stress: %zu operations per thread (RTMEM_STRESS_ITERS)\n", stress_iters());
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_heap_tlsf, ts_teardown_close_all),
        cmocka_unit_test_teardown(test_heap_first_fit, ts_teardown_close_all),
        cmocka_unit_test_teardown(test_heap_best_fit, ts_teardown_close_all),
        cmocka_unit_test_teardown(test_heap_system, ts_teardown_close_all),
        cmocka_unit_test(test_caps),
        cmocka_unit_test(test_pool),
        cmocka_unit_test_teardown(test_pool_set, ts_teardown_close_all),
        cmocka_unit_test(test_pool_wait_exhausted),
        cmocka_unit_test(test_observer_attached_while_allocating),
    };
#else
    const struct CMUnitTest tests[] = {cmocka_unit_test(test_needs_posix_port)};
#endif
    return cmocka_run_group_tests(tests, NULL, NULL);
}
