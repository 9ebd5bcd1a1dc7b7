/*
 * TLSF's split paths against its general ones (src/strategy/tlsf.c): the
 * plain malloc and free a heap at the default granularity runs (a hot path
 * alone, the rest out of line) and the copies for other granularities must
 * place exactly as the general allocation does, and a free must accept
 * exactly the pointers classify (the full validator) accepts, with the same
 * verdict for the rest.
 *
 * Two heaps over twin arenas take the same operations: the first through
 * rtm_malloc and rtm_free (the plain paths), the second through
 * rtm_heap_alloc_ex and rtm_free_sized_ex (the general allocation, then
 * classify and the general free). Before each free the first heap's
 * rtm_usable_size, which goes through classify alone, gives the verdict the
 * free must give. Operations are random allocations and frees, hostile
 * frees (interior pointers, one granule off, double frees, pointers into
 * free blocks, stale pointers after merges, foreign pointers, NULL) and
 * frees after damage to the block's own header or its neighbours' tags
 * (the next header's PREV_FREE, a free successor's span, the previous
 * block's footer). After every step: the same result, the same misuse
 * report, the same bytes from the first block on, the same rtm_heap_info,
 * which must also equal what a walk counts; a refused free changes nothing
 * and leaves rtm_heap_check passing.
 *
 * At the default granularity and at 4, 16 and 32, locked and with
 * RTM_HEAP_NO_LOCK, at poisoning level 0 (the plain paths exist only there).
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/debug.h"
#include "support/test_support.h"

#define ARENA_BYTES (16u * 1024u)
#define MAX_LIVE 96u
#define MAX_STALE 64u
#define STEPS 6000u
#define HDR 4u /* block header bytes before a payload */

/* Rows 1 and 3 hold the arenas; 0 and 2 lie below them, so that a pointer
 * just outside the plain arena has a twin just outside the general one. */
static _Alignas(4096) uint8_t g_rows[4][ARENA_BYTES];
#define ROWS ((uint8_t *)(void *)g_rows) /* the four rows as one array of bytes */
#define PLAIN_MEM (ROWS + ARENA_BYTES)
#define GENERAL_MEM (ROWS + 3u * ARENA_BYTES)
static _Alignas(16) uint8_t g_foreign[256];
static uint8_t g_snapshot[ARENA_BYTES];

typedef struct verdict {
    unsigned calls;
    rtm_misuse_t kind;
    const void *address;
} verdict_t;

static void on_misuse(rtm_heap_t *heap, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)heap;
    verdict_t *v = ctx;
    v->calls++;
    v->kind = kind;
    v->address = address;
}

typedef struct twin {
    rtm_heap_t *plain;   /* rtm_malloc, rtm_free */
    rtm_heap_t *general; /* rtm_heap_alloc_ex, rtm_free_sized_ex */
    verdict_t plain_rec, general_rec;
    size_t g;
    uint32_t flags;
    void *live[MAX_LIVE];
    size_t n_live;
    void *stale[MAX_STALE]; /* freed pointers, oldest overwritten */
    size_t n_stale;
    ts_rng_t rng;
    unsigned refused, accepted_hostile, corrupt_accepted;
} twin_t;

/* The general heap's address for the plain heap's address p (a pointer
 * outside the plain arena is the same for both). */
static void *twin_of(void *p)
{
    uintptr_t a = (uintptr_t)p;
    uintptr_t lo = (uintptr_t)ROWS;
    if (p != NULL && a - lo < 2u * ARENA_BYTES) {
        return ROWS + 2u * ARENA_BYTES + (a - lo);
    }
    return p;
}

static void open_twin(twin_t *t)
{
    for (int i = 0; i < 2; i++) {
        rtm_heap_config_t cfg = {
            .strategy = &rtm_strategy_tlsf,
            .alignment = t->g,
            .name = i == 0 ? "plain" : "general",
            .flags = t->flags,
            .on_misuse = on_misuse,
            .hook_ctx = i == 0 ? &t->plain_rec : &t->general_rec,
        };
        rtm_heap_t *h = rtm_heap_init(i == 0 ? PLAIN_MEM : GENERAL_MEM, ARENA_BYTES, &cfg);
        if (h == NULL) {
            ts_fail("rtm_heap_init refused granularity %zu flags %u", t->g, (unsigned)t->flags);
        }
        if (i == 0) {
            t->plain = h;
        } else {
            t->general = h;
        }
    }
    t->n_live = 0;
    t->n_stale = 0;
}

static void close_twin(twin_t *t)
{
    rtm_heap_deinit(t->plain);
    rtm_heap_deinit(t->general);
}

typedef struct tally {
    size_t used_blocks, free_blocks, allocated, free_bytes, largest;
    size_t first_block; /* offset of the first block's header */
} tally_t;

static bool count_block(const rtm_block_info_t *b, void *ctx)
{
    tally_t *t = ctx;
    size_t at = (size_t)((uint8_t *)b->ptr - PLAIN_MEM) - HDR;
    if (at < t->first_block) {
        t->first_block = at;
    }
    if (b->used) {
        t->used_blocks++;
        t->allocated += b->size;
    } else {
        t->free_blocks++;
        t->free_bytes += b->size;
        if (b->size > t->largest) {
            t->largest = b->size;
        }
    }
    return true;
}

/* Both heaps pass their check, hold the same bytes from the first block
 * on and report the same figures, which are those a walk counts. */
static void check_twins_at(twin_t *t, const char *file, int line)
{
    rtm_check_report_t r = {NULL, NULL};
    if (!rtm_heap_check(t->plain, &r)) {
        ts_fail_at(file, line, "plain heap: rtm_heap_check: %s at %p", r.problem, r.address);
    }
    if (!rtm_heap_check(t->general, &r)) {
        ts_fail_at(file, line, "general heap: rtm_heap_check: %s at %p", r.problem, r.address);
    }
    tally_t tl = {0, 0, 0, 0, 0, ARENA_BYTES};
    if (!rtm_heap_walk(t->plain, count_block, &tl)) {
        ts_fail_at(file, line, "rtm_heap_walk stopped");
    }
    if (memcmp(PLAIN_MEM + tl.first_block, GENERAL_MEM + tl.first_block,
               ARENA_BYTES - tl.first_block) != 0) {
        ts_fail_at(file, line, "the plain and general heaps' blocks differ (granularity %zu)",
                   t->g);
    }
    rtm_heap_info_t a, b;
    assert_true(rtm_heap_info(t->plain, &a));
    assert_true(rtm_heap_info(t->general, &b));
    if (memcmp(&a, &b, sizeof a) != 0) {
        ts_fail_at(file, line, "rtm_heap_info differs: free %zu/%zu used %zu/%zu allocs %zu/%zu "
                               "frees %zu/%zu failed %zu/%zu",
                   a.free_bytes, b.free_bytes, a.used_blocks, b.used_blocks, a.alloc_count,
                   b.alloc_count, a.free_count, b.free_count, a.failed_count, b.failed_count);
    }
    if (a.used_blocks != tl.used_blocks || a.used_blocks != t->n_live ||
        a.free_blocks != tl.free_blocks || a.allocated_bytes != tl.allocated ||
        a.free_bytes != tl.free_bytes || a.largest_free_block != tl.largest ||
        a.free_bytes + a.allocated_bytes + a.overhead_bytes != a.total_bytes) {
        ts_fail_at(file, line,
                   "rtm_heap_info against the walk: used %zu/%zu (live %zu) free blocks %zu/%zu "
                   "allocated %zu/%zu free %zu/%zu largest %zu/%zu",
                   a.used_blocks, tl.used_blocks, t->n_live, a.free_blocks, tl.free_blocks,
                   a.allocated_bytes, tl.allocated, a.free_bytes, tl.free_bytes,
                   a.largest_free_block, tl.largest);
    }
}
#define check_twins(t) check_twins_at((t), __FILE__, __LINE__)

static void do_alloc(twin_t *t, size_t size)
{
    void *p = rtm_malloc(t->plain, size);
    void *q = rtm_heap_alloc_ex(t->general, size, 0, NULL);
    if (twin_of(p) != q || (p == NULL) != (q == NULL)) {
        ts_fail("malloc(%zu) at granularity %zu: plain %p (offset %td), general offset %td", size,
                t->g, p, p != NULL ? (uint8_t *)p - PLAIN_MEM : -1,
                q != NULL ? (uint8_t *)q - GENERAL_MEM : -1);
    }
    if (p != NULL) {
        assert_true(t->n_live < MAX_LIVE);
        t->live[t->n_live++] = p;
    }
}

static void forget(twin_t *t, void *p)
{
    for (size_t i = 0; i < t->n_live; i++) {
        if (t->live[i] == p) {
            t->live[i] = t->live[--t->n_live];
            break;
        }
    }
    t->stale[t->n_stale++ % MAX_STALE] = p;
}

/* Frees p on both heaps after asking classify (rtm_usable_size) what it
 * makes of it; returns whether the free was accepted. A refused free must
 * leave everything as it was. */
static bool free_both_at(twin_t *t, void *p, const char *what, const char *file, int line)
{
    rtm_heap_info_t before, after;
    assert_true(rtm_heap_info(t->plain, &before));
    memcpy(g_snapshot, PLAIN_MEM, ARENA_BYTES);

    memset(&t->plain_rec, 0, sizeof t->plain_rec);
    size_t usable = p != NULL ? rtm_usable_size(t->plain, p) : 0;
    verdict_t reference = t->plain_rec;
    bool accept = usable != 0;
    if (p == NULL) {
        reference.calls = 0;
    } else if (accept != (reference.calls == 0)) {
        ts_fail_at(file, line, "%s: rtm_usable_size gave %zu with %u misuse reports", what, usable,
                   reference.calls);
    }
    if (memcmp(g_snapshot, PLAIN_MEM, ARENA_BYTES) != 0) {
        ts_fail_at(file, line, "%s: rtm_usable_size changed the arena", what);
    }

    memset(&t->plain_rec, 0, sizeof t->plain_rec);
    memset(&t->general_rec, 0, sizeof t->general_rec);
    rtm_free(t->plain, p);
    size_t freed = rtm_free_sized_ex(t->general, twin_of(p), false, NULL);
    if (t->plain_rec.calls != reference.calls ||
        (reference.calls != 0 &&
         (t->plain_rec.kind != reference.kind || t->plain_rec.address != p))) {
        ts_fail_at(file, line,
                   "%s (offset %td, granularity %zu, flags %u): rtm_free reported %u x %s, "
                   "classify %u x %s",
                   what, (uint8_t *)p - PLAIN_MEM, t->g, (unsigned)t->flags, t->plain_rec.calls,
                   t->plain_rec.calls != 0 ? rtm_misuse_str(t->plain_rec.kind) : "-",
                   reference.calls, reference.calls != 0 ? rtm_misuse_str(reference.kind) : "-");
    }
    if (t->general_rec.calls != reference.calls ||
        (reference.calls != 0 && t->general_rec.kind != reference.kind) ||
        (freed != 0) != (accept && p != NULL)) {
        ts_fail_at(file, line, "%s: the general free reported %u x %s, freed %zu", what,
                   t->general_rec.calls,
                   t->general_rec.calls != 0 ? rtm_misuse_str(t->general_rec.kind) : "-", freed);
    }
    if (!accept) {
        assert_true(rtm_heap_info(t->plain, &after));
        if (memcmp(&before, &after, sizeof before) != 0 ||
            memcmp(g_snapshot, PLAIN_MEM, ARENA_BYTES) != 0) {
            ts_fail_at(file, line, "%s: a refused free changed the heap", what);
        }
        t->refused++;
    }
    return accept;
}
#define free_both(t, p, what) free_both_at((t), (p), (what), __FILE__, __LINE__)

static void *pick_live(twin_t *t)
{
    return t->live[ts_rng_range(&t->rng, 0, t->n_live - 1u)];
}

/* The header word of the block whose payload is p, on both arenas. */
static uint32_t header_of(const void *p)
{
    return ts_rd32((const uint8_t *)p - HDR);
}

static void poke_both(size_t at, uint32_t word)
{
    ts_wr32(PLAIN_MEM + at, word);
    ts_wr32(GENERAL_MEM + at, word);
}

/* A pointer no live block starts at, of a random hostile kind. */
static void *hostile_pointer(twin_t *t, const char **what)
{
    uint8_t *p = t->n_live != 0 ? pick_live(t) : PLAIN_MEM + ARENA_BYTES / 2u;
    size_t g = t->g;
    switch (ts_rng_range(&t->rng, 0, 10)) {
    case 0:
        *what = "one granule in";
        return p + g;
    case 1:
        *what = "one granule before";
        return p - g;
    case 2:
        *what = "one byte in";
        return p + 1;
    case 3: {
        *what = "interior at a granule";
        uint32_t span = header_of(p) & ~3u;
        return p + g * ts_rng_range(&t->rng, 1, span / g > 1u ? span / g - 1u : 1u);
    }
    case 4:
        if (t->n_stale != 0) {
            *what = "stale (double free, maybe merged)";
            size_t n = t->n_stale < MAX_STALE ? t->n_stale : MAX_STALE;
            return t->stale[ts_rng_range(&t->rng, 0, n - 1u)];
        }
        *what = "NULL";
        return NULL;
    case 5:
        *what = "foreign";
        return g_foreign + 4u * ts_rng_range(&t->rng, 1, 32);
    case 6:
        *what = "just below the arena";
        return PLAIN_MEM - 4u * ts_rng_range(&t->rng, 0, 4);
    case 7:
        *what = "at or near the arena's end";
        return PLAIN_MEM + ARENA_BYTES - 4u * ts_rng_range(&t->rng, 0, 4);
    case 8:
        *what = "the arena's start";
        return PLAIN_MEM + 4u * ts_rng_range(&t->rng, 0, 64);
    case 9: {
        *what = "into a free block";
        uint8_t *q = PLAIN_MEM + 4u * ts_rng_range(&t->rng, 0, ARENA_BYTES / 4u - 1u);
        return q;
    }
    default:
        *what = "NULL";
        return NULL;
    }
}

static bool is_live(const twin_t *t, const void *p)
{
    for (size_t i = 0; i < t->n_live; i++) {
        if (t->live[i] == p) {
            return true;
        }
    }
    return false;
}

static void hostile_free(twin_t *t)
{
    const char *what = "";
    void *p = hostile_pointer(t, &what);
    if (is_live(t, p)) {
        return; /* a real free: the random frees cover it */
    }
    if (free_both(t, p, what)) {
        ts_fail("%s (offset %td): a pointer no live block starts at was freed", what,
                (uint8_t *)p - PLAIN_MEM);
    }
}

/* Damages one tag the free of live block p trusts, on both arenas, frees
 * p, and puts the word back if the free was refused. A free that accepts
 * the damage leaves both heaps equally damaged: they are compared and
 * opened again. */
static void damaged_free(twin_t *t)
{
    uint8_t *p = pick_live(t);
    size_t h = (size_t)(p - PLAIN_MEM) - HDR;
    uint32_t word = ts_rd32(PLAIN_MEM + h);
    uint32_t span = word & ~3u;
    size_t n = h + span;
    uint32_t next = n + 4u <= ARENA_BYTES ? ts_rd32(PLAIN_MEM + n) : 0u;
    size_t at = h;
    uint32_t bad = word;
    const char *what = "";
    switch (ts_rng_range(&t->rng, 0, 9)) {
    case 0:
        what = "next header says its predecessor is free";
        at = n;
        bad = next | 2u;
        break;
    case 1:
        what = "a free successor's span off by a granule";
        if ((next & 1u) == 0) {
            return;
        }
        at = n;
        bad = next + (ts_rng_chance(&t->rng, 50) ? (uint32_t)t->g : (uint32_t)-t->g);
        break;
    case 2:
        what = "a free successor's span huge or tiny";
        if ((next & 1u) == 0) {
            return;
        }
        at = n;
        bad = ts_rng_chance(&t->rng, 50) ? (next | 0xfff00000u) : (next & 3u) | (uint32_t)t->g;
        break;
    case 3:
        what = "the previous block's footer";
        if ((word & 2u) == 0) {
            return;
        }
        at = h - 4u;
        switch (ts_rng_range(&t->rng, 0, 3)) {
        case 0:
            bad = (uint32_t)h;
            break;
        case 1:
            bad = 0u;
            break;
        case 2:
            bad = ts_rd32(PLAIN_MEM + at) + (uint32_t)t->g;
            break;
        default:
            bad = ts_rd32(PLAIN_MEM + at) - (uint32_t)t->g;
            break;
        }
        break;
    case 4:
        what = "own span one granule longer";
        bad = word + (uint32_t)t->g;
        break;
    case 5:
        what = "own span one granule shorter";
        bad = word - (uint32_t)t->g;
        break;
    case 6:
        what = "own span past the arena";
        bad = (word & 3u) | 0x7ffffff0u;
        break;
    case 7:
        what = "own header says its predecessor is free";
        bad = word | 2u;
        break;
    case 8:
        what = "own span off the granularity";
        bad = word + 4u;
        break;
    default:
        what = "own header's low bits flipped";
        bad = word ^ (uint32_t)ts_rng_range(&t->rng, 1, 3);
        break;
    }
    if (bad == ts_rd32(PLAIN_MEM + at)) {
        return;
    }
    uint32_t old = ts_rd32(PLAIN_MEM + at);
    poke_both(at, bad);
    if (free_both(t, p, what)) {
        /* Both took the damage alike (checked by the byte comparison of
         * check_twins had they not); the heaps are not usable after it. */
        if (memcmp(PLAIN_MEM + h, GENERAL_MEM + h, ARENA_BYTES - h) != 0) {
            ts_fail("%s: the plain and general frees accepted it differently", what);
        }
        t->corrupt_accepted++;
        close_twin(t);
        open_twin(t);
        return;
    }
    poke_both(at, old);
}

static size_t random_size(twin_t *t)
{
    unsigned r = (unsigned)ts_rng_range(&t->rng, 0, 99);
    if (r < 2) {
        return ARENA_BYTES; /* fails: too large */
    }
    if (r < 4) {
        return SIZE_MAX - ts_rng_range(&t->rng, 0, 64);
    }
    if (r < 50) {
        return ts_rng_range(&t->rng, 1, 64);
    }
    return ts_rng_log_uniform(&t->rng, 1, 2048);
}

static void run_twin(size_t g, uint32_t flags, uint64_t seed)
{
    static twin_t t;
    memset(&t, 0, sizeof t);
    t.g = g;
    t.flags = flags;
    ts_rng_seed(&t.rng, seed);
    open_twin(&t);
    size_t granule = g != 0 ? g : RTM_DEFAULT_ALIGN;
    t.g = granule;
    check_twins(&t);
    for (unsigned step = 0; step < STEPS; step++) {
        ts_context("granularity %zu flags %u seed %llu step %u", granule, (unsigned)flags,
                   (unsigned long long)seed, step);
        unsigned r = (unsigned)ts_rng_range(&t.rng, 0, 99);
        if (r < 45 && t.n_live < MAX_LIVE) {
            do_alloc(&t, random_size(&t));
        } else if (r < 80 && t.n_live != 0) {
            void *p = pick_live(&t);
            if (!free_both(&t, p, "live block")) {
                ts_fail("a live block's free was refused");
            }
            forget(&t, p);
        } else if (r < 92) {
            hostile_free(&t);
        } else if (t.n_live != 0) {
            damaged_free(&t);
        }
        check_twins(&t);
    }
    /* The run must have reached the refusals and the damage it is for. */
    assert_true(t.refused > STEPS / 20u);
    close_twin(&t);
}

static void test_default_granularity_unlocked(void **state)
{
    (void)state;
    run_twin(0, RTM_HEAP_NO_LOCK, 1);
    run_twin(0, RTM_HEAP_NO_LOCK, 2);
}

static void test_default_granularity_locked(void **state)
{
    (void)state;
    run_twin(0, 0, 3);
    run_twin(0, 0, 4);
}

static void test_other_granularities_unlocked(void **state)
{
    (void)state;
    run_twin(4, RTM_HEAP_NO_LOCK, 5);
    run_twin(16, RTM_HEAP_NO_LOCK, 6);
    run_twin(32, RTM_HEAP_NO_LOCK, 7);
}

static void test_other_granularities_locked(void **state)
{
    (void)state;
    run_twin(4, 0, 8);
    run_twin(16, 0, 9);
    run_twin(32, 0, 10);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_default_granularity_unlocked),
        cmocka_unit_test(test_default_granularity_locked),
        cmocka_unit_test(test_other_granularities_unlocked),
        cmocka_unit_test(test_other_granularities_locked),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
