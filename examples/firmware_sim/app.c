/*
 * What the simulated tasks share: the run flag, a small PRNG, and the
 * "deep call path" that gives each task a realistic stack high-water mark.
 */
#include <stdatomic.h>

#include "sim.h"

sim_app_t g_app;

static atomic_bool g_stop;

bool sim_running(void)
{
    return !atomic_load(&g_stop);
}

void sim_stop_all(void)
{
    atomic_store(&g_stop, true);
}

/* xorshift32: deterministic per task, so two runs do the same work. */
uint32_t sim_rand(uint32_t *state, uint32_t n)
{
    uint32_t x = *state != 0 ? *state : 0x9e3779b9u;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return n != 0 ? x % n : x;
}

#define TOUCH_FRAME 256u

/* One level of the deep path: its own frame is written, then the next
 * level is entered until the frame lies below floor. */
static unsigned touch_down(uintptr_t floor, size_t levels_left)
{
    volatile uint8_t frame[TOUCH_FRAME];
    for (size_t i = 0; i < TOUCH_FRAME; i++) {
        frame[i] = (uint8_t)(i ^ levels_left);
    }
    unsigned sum = frame[levels_left % TOUCH_FRAME];
    if ((uintptr_t)&frame[0] > floor && levels_left > 0) {
        sum += touch_down(floor, levels_left - 1);
    }
    return sum + frame[0];
}

void sim_touch_stack(const uint8_t *stack, size_t size, unsigned percent)
{
    uint8_t here = 0;
    uintptr_t lo = (uintptr_t)stack;
    uintptr_t hi = lo + size;
    uintptr_t at = (uintptr_t)&here;
    /* Only on the thread's own painted stack, and with room to spare: the
     * last frame ends up to one frame (larger under sanitizers) below the
     * floor, so the floor stays 2 KiB above the bottom. */
    if (percent == 0 || percent > 95 || at <= lo || at >= hi) {
        return;
    }
    uintptr_t floor = lo + size * (100u - percent) / 100u;
    if (floor < lo + 2048u || at <= floor) {
        return;
    }
    volatile unsigned sink = touch_down(floor, size / TOUCH_FRAME);
    (void)sink;
}
