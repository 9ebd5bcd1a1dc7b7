/*
 * The block layout is the same on a 32-bit target as on a 64-bit host.
 *
 * A fixed sequence of allocations, aligned allocations, reallocs and frees
 * runs on each block-layout strategy, and a fingerprint is taken of where
 * every block landed (its offset from the arena start) and how large it
 * is. The expected fingerprints are constants: the 64-bit build and the
 * -m32 build of this test must both match them, which is the proof that a
 * heap replayed on a PC uses exactly the bytes it would on the device.
 * The heap front (pointers, port lock) differs in size between the two, so
 * the region is placed such that the arena after it starts on the same
 * 4 KiB boundary and has the same size in both builds
 * (rtm_heap_front_size()).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/heap.h"

#define SLOTS 64
#define STEPS 3000

#define ARENA_BYTES (256u * 1024u)
static _Alignas(4096) uint8_t g_region[4096 + ARENA_BYTES];

typedef struct fingerprint {
    uint64_t hash;
} fingerprint_t;

static void mix(fingerprint_t *f, uint64_t v)
{
    /* FNV-1a over the 8 bytes of v, little-endian by construction. */
    for (int i = 0; i < 8; i++) {
        f->hash ^= (v >> (8 * i)) & 0xffu;
        f->hash *= 0x100000001b3u;
    }
}

static uint32_t next_random(uint32_t *state)
{
    /* xorshift32: the same sequence on every word size */
    uint32_t x = *state;
    x ^= x << 13;
    x ^= x >> 17;
    x ^= x << 5;
    *state = x;
    return x;
}

static uint64_t run_sequence(rtm_strategy_id_t strategy)
{
    rtm_heap_config_t cfg = {.strategy = rtm_strategy_by_id(strategy), .flags = RTM_HEAP_NO_LOCK};
    size_t front = rtm_heap_front_size();
    assert_true(front <= 4096u && front % RTM_HEAP_MEM_ALIGN == 0);
    uint8_t *origin = g_region + 4096;
    rtm_heap_t *h = rtm_heap_init(origin - front, ARENA_BYTES + front, &cfg);
    assert_non_null(h);
    void *slots[SLOTS] = {0};
    uint32_t rng = 0x2545f491u;
    fingerprint_t f = {0xcbf29ce484222325u};
    bool frees = strategy != RTM_BUMP;
    for (int step = 0; step < STEPS; step++) {
        uint32_t r = next_random(&rng);
        uint32_t slot = r % SLOTS;
        size_t size = 1u + (next_random(&rng) % 300u);
        void *p;
        if (slots[slot] != NULL && frees && (r >> 8) % 3u == 0) {
            rtm_free(h, slots[slot]);
            slots[slot] = NULL;
            continue;
        }
        if (slots[slot] != NULL) {
            p = rtm_realloc(h, slots[slot], size);
        } else if ((r >> 8) % 5u == 0) {
            p = rtm_aligned_alloc(h, (size_t)16u << ((r >> 12) % 4u), size);
        } else {
            p = rtm_malloc(h, size);
        }
        assert_non_null(p); /* the sequence never exhausts the heap */
        slots[slot] = p;
        mix(&f, (uint64_t)((uint8_t *)p - origin));
        mix(&f, rtm_usable_size(h, p));
    }
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(h, &info));
    mix(&f, info.used_blocks);
    mix(&f, info.free_blocks);
    mix(&f, info.allocated_bytes);
    mix(&f, info.free_bytes);
    mix(&f, info.largest_free_block);
    assert_true(rtm_heap_check(h, NULL));
    rtm_heap_deinit(h);
    return f.hash;
}

static void check_strategy(rtm_strategy_id_t strategy, uint64_t expected)
{
    uint64_t got = run_sequence(strategy);
    if (got != expected) {
        print_error("%s: layout fingerprint 0x%016llx, expected 0x%016llx (%zu-bit build)\n",
                    rtm_strategy_name(strategy), (unsigned long long)got,
                    (unsigned long long)expected, sizeof(void *) * 8u);
    }
    assert_true(got == expected);
}

/* First fit, best fit and bump put the block-start map between their state
 * and the first block (RTM_EXACT_POINTERS), which moves every block; a
 * build without the map has its own fingerprints. */
#define FIRST_FIT_NO_MAP 0x8af149491c8ac9a8u
#define BEST_FIT_NO_MAP 0x4b1f16122d32f14fu
#define BUMP_NO_MAP 0x4ce020f384b5eadbu

static void test_tlsf_layout(void **state)
{
    (void)state;
    check_strategy(RTM_TLSF, 0x9fae7657d1f53332u);
}

static void test_first_fit_layout(void **state)
{
    (void)state;
    check_strategy(RTM_FIRST_FIT, RTM_EXACT_POINTERS ? 0x064e68a6917c9748u : FIRST_FIT_NO_MAP);
}

static void test_best_fit_layout(void **state)
{
    (void)state;
    check_strategy(RTM_BEST_FIT, RTM_EXACT_POINTERS ? 0xb96b6c1d50d97d3bu : BEST_FIT_NO_MAP);
}

static void test_bump_layout(void **state)
{
    (void)state;
    check_strategy(RTM_BUMP, RTM_EXACT_POINTERS ? 0x31b8e00c91ee5a76u : BUMP_NO_MAP);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_tlsf_layout),
        cmocka_unit_test(test_first_fit_layout),
        cmocka_unit_test(test_best_fit_layout),
        cmocka_unit_test(test_bump_layout),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
