/*
 * The none port (src/port/none.c) against what port.h, heap.h and caps.h
 * promise for it: task id and ticks from the user's hooks (0 without),
 * nothing that blocks or sleeps, and locking only through a complete pair
 * of critical-section hooks, entered and left in pairs that restore the
 * state each enter saved, with no user hook ever run inside one (heap
 * observers excepted: they run under the heap's lock by design).
 *
 * Built only when the library is built with RTMEM_PORT=none: on the host
 * by scripts/test.sh's "none" configuration, and on the emulated
 * Cortex-M3 (tests/target).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/caps.h"
#include "rtmem/heap.h"
#include "rtmem/port.h"
#include "rtmem/stack.h"
#include "support/test_support.h"

#if defined(RTM_PORT_POSIX) || defined(RTM_PORT_FREERTOS)
#error "test_port_none is for builds with the none port (RTMEM_PORT=none)"
#endif

/* port.h: the none port's lock is ISR-safe with masking hooks (what lets
 * test_pool's simulated ISR run here), and its lock is one 8-byte word
 * (configuration.md: "none/freertos: 8 bytes"). */
_Static_assert(RTM_PORT_LOCK_ISR_SAFE == 1, "the none port's lock is ISR-safe");
_Static_assert(sizeof(rtm_port_lock_t) == 8, "the none port's lock is 8 bytes");

/* ------------------------------------------------------------------ */
/* A simulated interrupt mask driven by the critical-section hooks     */

typedef struct mask_sim {
    bool masked;
    unsigned depth;     /* critical sections entered and not left */
    unsigned max_depth; /* deepest nesting since the last reset */
    unsigned enters;
    unsigned exits;
    unsigned bad_restores; /* an exit given a state its enter did not save */
    unsigned user_hooks;   /* failed-allocation and misuse hooks run */
    unsigned hooks_masked; /* of those, run inside a critical section */
    unsigned observed;     /* heap observer calls */
    unsigned observed_unmasked; /* of those, run outside the heap's lock */
} mask_sim_t;

static mask_sim_t g_sim;

static uint32_t sim_enter(void)
{
    uint32_t old = g_sim.masked ? 1u : 0u;
    g_sim.masked = true;
    g_sim.enters++;
    g_sim.depth++;
    if (g_sim.depth > g_sim.max_depth) {
        g_sim.max_depth = g_sim.depth;
    }
    return old;
}

static void sim_exit(uint32_t state)
{
    g_sim.exits++;
    if (g_sim.depth == 0) {
        g_sim.bad_restores++; /* an exit without an enter */
        return;
    }
    g_sim.depth--;
    /* The outermost exit must unmask, a nested one must keep masked. */
    uint32_t expect = g_sim.depth == 0 ? 0u : 1u;
    if (state != expect) {
        g_sim.bad_restores++;
    }
    g_sim.masked = state != 0;
}

static void sim_reset(void)
{
    memset(&g_sim, 0, sizeof g_sim);
}

static void sim_user_hook(void)
{
    g_sim.user_hooks++;
    g_sim.hooks_masked += g_sim.masked ? 1u : 0u;
}

static void heap_failed(rtm_heap_t *heap, size_t size, size_t alignment, rtm_fail_reason_t reason,
                        void *ctx)
{
    (void)heap;
    (void)size;
    (void)alignment;
    (void)reason;
    (void)ctx;
    sim_user_hook();
}

static void heap_misuse(rtm_heap_t *heap, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)heap;
    (void)kind;
    (void)address;
    (void)ctx;
    sim_user_hook();
}

static void heap_observer(const rtm_heap_event_t *event, void *ctx)
{
    (void)event;
    (void)ctx;
    g_sim.observed++;
    g_sim.observed_unmasked += g_sim.masked ? 0u : 1u;
}

static void caps_failed(size_t size, rtm_caps_t caps, const char *function_name, void *ctx)
{
    (void)size;
    (void)caps;
    (void)function_name;
    (void)ctx;
    sim_user_hook();
}

static void caps_misuse(const rtm_caps_region_t *region, rtm_misuse_t kind, const void *address,
                        void *ctx)
{
    (void)region;
    (void)kind;
    (void)address;
    (void)ctx;
    sim_user_hook();
}

/* After every call: as many exits as enters, each restoring what its
 * enter saved, interrupts unmasked again. */
static void expect_balanced(void)
{
    assert_int_equal(g_sim.depth, 0);
    assert_int_equal(g_sim.enters, g_sim.exits);
    assert_int_equal(g_sim.bad_restores, 0);
    assert_false(g_sim.masked);
}

static uint32_t count_enter_only(void)
{
    g_sim.enters++;
    return 0;
}

static void count_exit_only(uint32_t state)
{
    (void)state;
    g_sim.exits++;
}

static uintptr_t g_task = 0;
static uint32_t g_ticks = 0;

static uintptr_t fake_task_id(void)
{
    return g_task;
}

static uint32_t fake_ticks(void)
{
    return g_ticks;
}

static int teardown_hooks(void **state)
{
    (void)state;
    rtm_port_none_set_hooks(NULL, NULL, NULL, NULL);
    rtm_caps_deinit();
    return 0;
}

static _Alignas(16) uint8_t g_arena[16 * 1024];

/* ------------------------------------------------------------------ */
/* Without hooks                                                       */

/* port.h: task id 0 and ticks 0 without hooks; nothing can block; sleep
 * returns at once (a sleep of UINT32_MAX ms that slept would end the
 * suite by ctest's timeout); no program image, no stack figures. */
static void test_defaults_without_hooks(void **state)
{
    (void)state;
    rtm_port_none_set_hooks(NULL, NULL, NULL, NULL);
    assert_int_equal(rtm_port_task_id(), 0);
    assert_int_equal(rtm_port_ticks(), 0);
    assert_false(rtm_port_can_block());
    rtm_port_sleep_ms(UINT32_MAX);
    rtm_port_image_t image;
    assert_false(rtm_port_program_image(&image));
    assert_false(rtm_port_program_image(NULL));
    /* stack.h: the none port measures no stack, whatever the id, and
     * leaves *out as it was. */
    rtm_stack_usage_t su = {.size = 7, .peak_used = 7, .min_free = 7};
    assert_false(rtm_stack_usage(0, &su));
    assert_false(rtm_stack_usage(1, &su));
    assert_false(rtm_stack_usage(UINTPTR_MAX, &su));
    assert_false(rtm_stack_usage(1, NULL));
    assert_int_equal(su.size, 7);
    assert_int_equal(su.peak_used, 7);
    assert_int_equal(su.min_free, 7);

    rtm_port_lock_t lock;
    assert_true(rtm_port_lock_init(&lock));
    rtm_port_lock(&lock);
    rtm_port_unlock(&lock);
    rtm_port_lock_destroy(&lock);
}

/* port.h: task id and ticks come from the hooks when set, and go back to
 * 0 when they are removed. Ticks wrap as the hook's value does. */
static void test_identity_and_clock_hooks(void **state)
{
    (void)state;
    rtm_port_none_set_hooks(NULL, NULL, fake_task_id, fake_ticks);
    g_task = 42;
    g_ticks = UINT32_MAX;
    assert_int_equal(rtm_port_task_id(), 42);
    assert_int_equal(rtm_port_ticks(), UINT32_MAX);
    g_task = 7;
    g_ticks = 3;
    assert_int_equal(rtm_port_task_id(), 7);
    assert_int_equal(rtm_port_ticks(), 3);
    rtm_port_none_set_hooks(NULL, NULL, NULL, NULL);
    assert_int_equal(rtm_port_task_id(), 0);
    assert_int_equal(rtm_port_ticks(), 0);
}

/* port.h: the wait protocol with nobody to switch to. A wait returns at
 * once, true only when a signal was recorded (an ISR's free), which is
 * kept until the waiter is made again. */
static void test_waiter_never_blocks(void **state)
{
    (void)state;
    rtm_port_lock_t lock;
    assert_true(rtm_port_lock_init(&lock));
    rtm_port_waiter_t w;
    rtm_port_lock(&lock);
    assert_true(rtm_port_waiter_init(&w));
    assert_false(rtm_port_wait(&w, &lock, RTM_WAIT_FOREVER));
    rtm_port_signal(&w);
    assert_true(rtm_port_wait(&w, &lock, 0));
    assert_true(rtm_port_wait(&w, &lock, RTM_WAIT_FOREVER));
    rtm_port_waiter_destroy(&w);
    assert_true(rtm_port_waiter_init(&w));
    assert_false(rtm_port_wait(&w, &lock, 1));
    rtm_port_waiter_destroy(&w);
    rtm_port_unlock(&lock);
    rtm_port_lock_destroy(&lock);
}

/* ------------------------------------------------------------------ */
/* Locking through the hooks                                           */

/* port.h: with both hooks set every lock is a critical section. Every
 * heap call enters and leaves in pairs, one heap lock deep, and restores
 * the mask it found; heap.h: the failed-allocation and misuse hooks run
 * after the lock is released, the observer inside it. */
static void test_heap_calls_lock_in_pairs(void **state)
{
    (void)state;
    sim_reset();
    rtm_port_none_set_hooks(sim_enter, sim_exit, NULL, NULL);
    rtm_heap_config_t cfg = {0};
    cfg.on_alloc_failed = heap_failed;
    cfg.on_misuse = heap_misuse;
    rtm_heap_t *h = rtm_heap_init(g_arena, sizeof g_arena, &cfg);
    assert_non_null(h);
    expect_balanced();
    rtm_heap_set_observer(h, heap_observer, NULL);
    expect_balanced();

    unsigned before = g_sim.enters;
    void *a = rtm_malloc(h, 100);
    assert_non_null(a);
    expect_balanced();
    assert_true(g_sim.enters > before);
    void *b = rtm_calloc(h, 4, 32);
    assert_non_null(b);
    expect_balanced();
    a = rtm_realloc(h, a, 3000);
    assert_non_null(a);
    expect_balanced();
    void *c = rtm_aligned_alloc(h, 64, 256);
    assert_non_null(c);
    expect_balanced();
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(h, &info));
    expect_balanced();
    assert_true(rtm_heap_check(h, NULL));
    expect_balanced();
    assert_true(g_sim.observed >= 4);
    assert_int_equal(g_sim.observed_unmasked, 0);

    /* A failure and a double free: each hook once, outside the lock. */
    assert_null(rtm_malloc(h, sizeof g_arena));
    expect_balanced();
    rtm_free(h, b);
    rtm_free(h, b);
    expect_balanced();
    assert_int_equal(g_sim.user_hooks, 2);
    assert_int_equal(g_sim.hooks_masked, 0);

    rtm_free(h, a);
    rtm_free(h, c);
    expect_balanced();
    assert_int_equal(g_sim.max_depth, 1);
    assert_true(rtm_heap_info(h, &info));
    assert_int_equal(info.used_blocks, 0);
    rtm_heap_deinit(h);
    expect_balanced();
}

/* caps.h: the registry lock is released before any heap is touched, so
 * at most one lock (one critical section) is held at a time, and no hook
 * runs inside one. */
static void test_caps_calls_hold_one_lock(void **state)
{
    (void)state;
    sim_reset();
    rtm_port_none_set_hooks(sim_enter, sim_exit, NULL, NULL);
    static rtm_caps_registry_t reg;
    static rtm_caps_region_t slots[2];
    static _Alignas(16) uint8_t fast[8 * 1024];
    static _Alignas(16) uint8_t slow[8 * 1024];
    rtm_caps_config_t cc = {0};
    cc.on_alloc_failed = caps_failed;
    cc.on_misuse = caps_misuse;
    assert_int_equal(rtm_caps_init(&reg, slots, 2, &cc), RTM_CAPS_OK);
    rtm_caps_region_config_t rf = {.name = "fast", .caps = {RTM_CAP_DEFAULT | RTM_CAP_DMA, 0, 0}};
    rtm_caps_region_config_t rs = {.name = "slow", .caps = {RTM_CAP_DEFAULT, 0, 0}};
    assert_int_equal(rtm_caps_add_region(fast, sizeof fast, &rf, NULL), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_add_region(slow, sizeof slow, &rs, NULL), RTM_CAPS_OK);
    expect_balanced();

    void *p = rtm_caps_malloc(512, RTM_CAP_DMA);
    assert_non_null(p);
    void *q = rtm_caps_malloc(6 * 1024, RTM_CAP_DEFAULT);
    assert_non_null(q);
    q = rtm_caps_realloc(q, 7 * 1024, RTM_CAP_DEFAULT); /* moves to the other region */
    assert_non_null(q);
    expect_balanced();
    rtm_caps_info_t info;
    assert_true(rtm_caps_get_info(RTM_CAP_DEFAULT, &info));
    assert_true(rtm_caps_check_all(true, NULL));
    expect_balanced();

    assert_null(rtm_caps_malloc(64 * 1024, RTM_CAP_DEFAULT));
    rtm_caps_free(p);
    rtm_caps_free(p);
    expect_balanced();
    assert_int_equal(g_sim.user_hooks, 2);
    assert_int_equal(g_sim.hooks_masked, 0);
    rtm_caps_free(q);
    expect_balanced();
    assert_int_equal(g_sim.max_depth, 1);
    rtm_caps_deinit();
    expect_balanced();
}

/* port.h: locking happens only when both hooks are set; a lone one is
 * never called (entering without a way out would leave interrupts
 * masked for good). */
static void test_lone_hook_is_ignored(void **state)
{
    (void)state;
    sim_reset();
    rtm_port_none_set_hooks(count_enter_only, NULL, NULL, NULL);
    rtm_heap_t *h = rtm_heap_init(g_arena, sizeof g_arena, NULL);
    assert_non_null(h);
    void *p = rtm_malloc(h, 64);
    assert_non_null(p);
    rtm_free(h, p);
    assert_int_equal(g_sim.enters, 0);

    rtm_port_none_set_hooks(NULL, count_exit_only, NULL, NULL);
    p = rtm_malloc(h, 64);
    assert_non_null(p);
    rtm_free(h, p);
    assert_int_equal(g_sim.exits, 0);
    rtm_heap_deinit(h);
}

/* none.c: a lock taken before the hooks were installed is released
 * without an exit call that no enter matched. */
static void test_unlock_without_enter_calls_no_exit(void **state)
{
    (void)state;
    sim_reset();
    rtm_port_none_set_hooks(NULL, NULL, NULL, NULL);
    rtm_port_lock_t lock;
    assert_true(rtm_port_lock_init(&lock));
    rtm_port_lock(&lock);
    rtm_port_none_set_hooks(sim_enter, sim_exit, NULL, NULL);
    rtm_port_unlock(&lock);
    assert_int_equal(g_sim.exits, 0);
    assert_int_equal(g_sim.bad_restores, 0);
    /* Now a real pair, with interrupts already masked by the caller: the
     * exit gives back "masked". */
    g_sim.masked = true;
    g_sim.depth = 1;
    rtm_port_lock(&lock);
    rtm_port_unlock(&lock);
    assert_int_equal(g_sim.enters, 1);
    assert_int_equal(g_sim.exits, 1);
    assert_int_equal(g_sim.bad_restores, 0);
    assert_true(g_sim.masked);
    rtm_port_lock_destroy(&lock);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test_teardown(test_defaults_without_hooks, teardown_hooks),
        cmocka_unit_test_teardown(test_identity_and_clock_hooks, teardown_hooks),
        cmocka_unit_test_teardown(test_waiter_never_blocks, teardown_hooks),
        cmocka_unit_test_teardown(test_heap_calls_lock_in_pairs, teardown_hooks),
        cmocka_unit_test_teardown(test_caps_calls_hold_one_lock, teardown_hooks),
        cmocka_unit_test_teardown(test_lone_hook_is_ignored, teardown_hooks),
        cmocka_unit_test_teardown(test_unlock_without_enter_calls_no_exit, teardown_hooks),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
