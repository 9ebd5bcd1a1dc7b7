/*
 * Where TLSF places blocks, as text: a fixed pseudo-random sequence of
 * malloc, aligned_alloc, realloc and free on one TLSF heap, taken to
 * exhaustion and back several times, and after each call its result as an
 * offset into the region (or "none") folded into a hash, printed with the
 * heap's figures at every phase change and at the end.
 *
 * Built twice, against the core with each setting of RTM_TLSF_BRANCH_FREE
 * (config.h promises that the setting changes no placement and no result);
 * ctest test_tlsf_placement_same runs both and requires the same output
 * (tlsf_placement_same.cmake). Exit status 0 unless the heap cannot be
 * made or its check fails.
 */
#include <inttypes.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "rtmem/debug.h"
#include "rtmem/heap.h"

#define REGION_BYTES (24u * 1024u)
#define SLOTS 256u
#define STEPS 40000u
#define PHASE_STEPS 2500u

/* Aligned to the largest alignment asked for (16 << 3): where an aligned
 * block goes depends on the region's address modulo the alignment, and
 * the two programs compared are different binaries (another build of the
 * core, sanitizers), so with less the region could sit at another offset
 * modulo 128 in each and their placements differ for that reason alone. */
static _Alignas(128) uint8_t g_region[REGION_BYTES];
static void *g_slots[SLOTS];
static uint64_t g_rng = 0x2545f4914f6cdd1dull;
static uint64_t g_hash = 0xcbf29ce484222325ull; /* FNV-1a */

static uint32_t next_random(void)
{
    /* xorshift64: a fixed, portable sequence */
    g_rng ^= g_rng << 13;
    g_rng ^= g_rng >> 7;
    g_rng ^= g_rng << 17;
    return (uint32_t)(g_rng >> 32);
}

static void fold(uint64_t v)
{
    for (int i = 0; i < 8; i++) {
        g_hash ^= (v >> (8 * i)) & 0xffu;
        g_hash *= 0x100000001b3ull;
    }
}

/* A result as an offset into the region: the same on every run. */
static void note(const void *p)
{
    fold(p == NULL ? UINT64_MAX : (uint64_t)((const uint8_t *)p - g_region));
}

/* 1..600 bytes, small sizes more likely. */
static size_t random_size(void)
{
    uint32_t r = next_random();
    return (size_t)(1u + (r % (8u << (r >> 29))) % 600u);
}

static void print_state(rtm_heap_t *h, uint32_t step)
{
    rtm_heap_info_t info;
    rtm_heap_info(h, &info);
    printf("step %" PRIu32 " hash %016" PRIx64 " free %zu blocks %zu/%zu largest %zu failed %zu\n",
           step, g_hash, info.free_bytes, info.used_blocks, info.free_blocks,
           info.largest_free_block, info.failed_count);
}

int main(void)
{
    rtm_heap_config_t cfg = {.strategy = &rtm_strategy_tlsf, .flags = RTM_HEAP_NO_LOCK};
    rtm_heap_t *h = rtm_heap_init(g_region, sizeof g_region, &cfg);
    if (h == NULL) {
        fprintf(stderr, "tlsf_placement: no heap\n");
        return 1;
    }
    bool filling = true;
    for (uint32_t step = 1; step <= STEPS; step++) {
        if (step % PHASE_STEPS == 0) {
            filling = !filling;
            print_state(h, step);
        }
        uint32_t slot = next_random() % SLOTS;
        uint32_t what = next_random() % 16u;
        void **p = &g_slots[slot];
        if (*p != NULL && (what < 3u || (!filling && what < 10u))) {
            rtm_free(h, *p);
            *p = NULL;
            note(NULL);
        } else if (*p != NULL) {
            void *q = rtm_realloc(h, *p, random_size());
            note(q);
            if (q != NULL) {
                *p = q;
            }
        } else if (what == 15u) {
            *p = rtm_aligned_alloc(h, (size_t)16u << (next_random() % 4u), random_size());
            note(*p);
        } else if (filling || what < 6u) {
            *p = rtm_malloc(h, random_size());
            note(*p);
        }
    }
    for (uint32_t s = 0; s < SLOTS; s++) {
        rtm_free(h, g_slots[s]);
    }
    print_state(h, STEPS);
    rtm_check_report_t r;
    if (!rtm_heap_check(h, &r)) {
        fprintf(stderr, "tlsf_placement: heap check failed: %s\n", r.problem);
        return 1;
    }
    return 0;
}
