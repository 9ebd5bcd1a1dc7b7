/*
 * ESP-IDF behaviour of the compat layer where it claims ESP-IDF's names,
 * built at every poisoning level (test_esp_integrity_L0/L1/L2), written
 * from ESP-IDF's documented contracts:
 *   - heap_caps_check_integrity(_all, _addr) and multi_heap_check print
 *     the problem and return false on a damaged block, and the program
 *     goes on although the debug layer is set to abort;
 *   - heap_caps_walk and multi_heap_walk show every block, flag the
 *     damaged one, and go on;
 *   - the walk's sizes add up to multi_heap_get_info's totals;
 *   - a heap added at run time starts with minimum free = free;
 *   - heap_caps_add_region takes the caps of the memory it lies in, and a
 *     buffer from a heap can be registered as a heap (nested);
 *   - heap_caps_monitor_local_minimum_free_size_start/_stop;
 *   - heap_caps_get_per_task_info on task statistics.
 */
#include <string.h>

#include "support/test_support.h"

#include "esp_heap_caps.h"
#include "esp_heap_task_info.h"
#include "multi_heap.h"
#include "rtmem/caps.h"
#include "rtmem/debug.h"
#include "rtmem/port.h"
#include "rtmem/presets/esp32.h"
#include "rtmem/task_stats.h"

static int setup(void **state)
{
    (void)state;
    rtm_caps_deinit();
    /* Whatever the checks find must not stop the program. */
    rtm_debug_set_continue(false);
    rtm_debug_set_corruption_hook(NULL, NULL);
    return rtm_preset_esp32_init(NULL) == RTM_CAPS_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rtm_esp_task_info_set_stats(NULL);
    rtm_caps_deinit();
    ts_output_release();
    return 0;
}

/* Damage right after the bytes a block was asked for: the tail canary at
 * levels >= 1, the next block's header at level 0 (where the block has no
 * canary and its usable bytes are the caller's). saved gets the bytes. */
static uint8_t *damage_after(void *p, size_t requested, size_t usable, uint8_t saved[4])
{
    uint8_t *at = (uint8_t *)p + (rtm_debug_poison_level() >= 1 ? requested : usable);
    memcpy(saved, at, 4);
    memset(at, 0x5a, 4);
    return at;
}

static void repair(uint8_t *at, const uint8_t saved[4])
{
    memcpy(at, saved, 4);
}

/* --- integrity checks ---------------------------------------------------- */

static void test_check_prints_and_returns_false(void **state)
{
    (void)state;
    void *keep = heap_caps_malloc(100, MALLOC_CAP_SPIRAM);
    uint8_t *p = heap_caps_malloc(24, MALLOC_CAP_8BIT);
    void *after = heap_caps_malloc(24, MALLOC_CAP_8BIT);
    assert_non_null(p);
    assert_non_null(after);
    assert_true(heap_caps_check_integrity_all(true));
    uint8_t saved[4];
    uint8_t *at = damage_after(p, 24, heap_caps_get_allocated_size(p), saved);
    ts_output_t out;
    ts_output_capture(&out);
    assert_false(heap_caps_check_integrity_all(true));
    assert_non_null(strstr(out.all, "CORRUPT HEAP: "));
    assert_non_null(strstr(out.all, "heap 'DRAM'"));
    unsigned writes = out.writes;
    assert_false(heap_caps_check_integrity(MALLOC_CAP_8BIT, false));
    assert_int_equal(out.writes, writes); /* print_errors false: silent */
    assert_false(heap_caps_check_integrity_addr((intptr_t)p, true));
    assert_true(heap_caps_check_integrity(MALLOC_CAP_SPIRAM, true)); /* other heaps are fine */
    assert_true(heap_caps_check_integrity_addr((intptr_t)keep, true));
    ts_output_release();
    repair(at, saved);
    assert_true(heap_caps_check_integrity_all(true));
    heap_caps_free(p);
    heap_caps_free(after);
    heap_caps_free(keep);
}

/* Levels >= 1: an underflow into the head canary, and a size in the head
 * that would reach past the block, are found without following the size. */
static void test_check_head_and_size(void **state)
{
    (void)state;
    if (rtm_debug_poison_level() < 1) {
        skip(); /* no head at level 0 */
    }
    uint8_t *p = heap_caps_malloc(40, MALLOC_CAP_8BIT);
    void *q = heap_caps_malloc(40, MALLOC_CAP_8BIT);
    ts_output_t out;
    ts_output_capture(&out);
    uint8_t saved = p[-1];
    p[-1] ^= 0xff;
    assert_false(heap_caps_check_integrity_all(true));
    assert_non_null(strstr(out.all, "bad head canary"));
    p[-1] = saved;
    assert_true(heap_caps_check_integrity_all(true));
    uint32_t size_word;
    memcpy(&size_word, p - 8, 4);
    const uint32_t huge = 0x7ffffff0u;
    memcpy(p - 8, &huge, 4);
    assert_false(heap_caps_check_integrity_addr((intptr_t)p, true));
    assert_non_null(strstr(out.all, "bad size"));
    memcpy(p - 8, &size_word, 4);
    ts_output_release();
    assert_true(heap_caps_check_integrity_all(false));
    heap_caps_free(p);
    heap_caps_free(q);
}

static _Alignas(8) uint8_t s_pool[8192];

static void test_multi_heap_check(void **state)
{
    (void)state;
    multi_heap_handle_t h = multi_heap_register(s_pool, sizeof s_pool);
    assert_non_null(h);
    uint8_t *p = multi_heap_malloc(h, 40);
    void *q = multi_heap_malloc(h, 40);
    assert_true(multi_heap_check(h, true));
    uint8_t saved[4];
    uint8_t *at = damage_after(p, 40, multi_heap_get_allocated_size(h, p), saved);
    ts_output_t out;
    ts_output_capture(&out);
    assert_false(multi_heap_check(h, true));
    assert_non_null(strstr(out.all, "CORRUPT HEAP: "));
    assert_false(multi_heap_check(h, false));
    ts_output_release();
    repair(at, saved);
    assert_true(multi_heap_check(h, false));
    multi_heap_free(h, p);
    multi_heap_free(h, q);
    rtm_heap_deinit(h);
}

/* Damage only the full check sees, a free block's list link, is printed
 * and gives false at every poisoning level, and never reaches the
 * corruption hook (which setup made stop the program). */
static void test_check_link_damage_never_stops(void **state)
{
    (void)state;
    multi_heap_handle_t h = multi_heap_register(s_pool, sizeof s_pool);
    assert_non_null(h);
    void *p = multi_heap_malloc(h, 40);
    uint8_t *q = multi_heap_malloc(h, 40);
    void *r = multi_heap_malloc(h, 40);
    multi_heap_free(h, q);
    /* The freed block's first payload word is its next link (TLSF); the
     * raw block starts max(8, granularity) bytes before q when poisoned. */
    uint8_t *link = q - (rtm_debug_poison_level() >= 1 ? 8 : 0);
    uint8_t saved[4];
    memcpy(saved, link, 4);
    memcpy(link, &(uint32_t){0xFFFFFF00u}, 4);
    ts_output_t out;
    ts_output_capture(&out);
    assert_false(multi_heap_check(h, true));
    assert_non_null(strstr(out.all, "CORRUPT HEAP: "));
    ts_output_release();
    memcpy(link, saved, 4);
    assert_true(multi_heap_check(h, false));
    multi_heap_free(h, p);
    multi_heap_free(h, r);
    rtm_heap_deinit(h);

    void *a = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    uint8_t *b = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    void *c = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    assert_non_null(b);
    heap_caps_free(b);
    link = b - (rtm_debug_poison_level() >= 1 ? 8 : 0);
    memcpy(saved, link, 4);
    memcpy(link, &(uint32_t){0xFFFFFF00u}, 4);
    ts_output_capture(&out);
    assert_false(heap_caps_check_integrity_all(true));
    assert_non_null(strstr(out.all, "CORRUPT HEAP: "));
    ts_output_release();
    memcpy(link, saved, 4);
    assert_true(heap_caps_check_integrity_all(false));
    heap_caps_free(a);
    heap_caps_free(c);
}

/* --- walks ---------------------------------------------------------------- */

typedef struct walk_log {
    size_t used;
    size_t free;
    size_t corrupt;
    size_t heaps;
    intptr_t last_heap;
    const void *corrupt_ptr;
    const void *seen[64];
    size_t seen_count;
} walk_log_t;

static bool log_caps_block(walker_heap_into_t heap, walker_block_info_t block, void *user)
{
    walk_log_t *w = user;
    if (heap.start != w->last_heap) {
        w->heaps++;
        w->last_heap = heap.start;
    }
    if (block.corrupt) {
        w->corrupt++;
        w->corrupt_ptr = block.ptr;
    } else if (block.used) {
        w->used++;
    } else {
        w->free++;
    }
    if (w->seen_count < TS_ARRAY_LEN(w->seen)) {
        w->seen[w->seen_count++] = block.ptr;
    }
    return true;
}

static bool seen(const walk_log_t *w, const void *p)
{
    for (size_t i = 0; i < w->seen_count; i++) {
        if (w->seen[i] == p) {
            return true;
        }
    }
    return false;
}

static void test_walk_flags_the_damaged_block(void **state)
{
    (void)state;
    uint8_t *a = heap_caps_malloc(32, MALLOC_CAP_8BIT);
    uint8_t *b = heap_caps_malloc(32, MALLOC_CAP_8BIT);
    uint8_t *c = heap_caps_malloc(32, MALLOC_CAP_8BIT);
    assert_true(a < b && b < c); /* one heap, address order */
    size_t b_usable = heap_caps_get_allocated_size(b);
    uint8_t saved[4];
    uint8_t *at = damage_after(b, 32, b_usable, saved);
    walk_log_t w;
    memset(&w, 0, sizeof w);
    heap_caps_walk_all(log_caps_block, &w);
    assert_int_equal(w.heaps, rtm_caps_region_count()); /* every heap, also after the damage */
    assert_int_equal(w.corrupt, 1);
    assert_true(seen(&w, a));
    if (rtm_debug_poison_level() >= 1) {
        /* b's canary is broken: b itself is flagged, c is still shown. */
        assert_ptr_equal(w.corrupt_ptr, b);
        assert_true(seen(&w, c));
        assert_int_equal(w.used, 2);
    } else {
        /* c's header is broken: the rest of the heap from b's end is one
         * damaged block, where the walk used to stop silently. */
        assert_true(seen(&w, b));
        assert_true((const uint8_t *)w.corrupt_ptr == b + b_usable);
    }
    repair(at, saved);
    memset(&w, 0, sizeof w);
    heap_caps_walk(MALLOC_CAP_8BIT, log_caps_block, &w);
    assert_int_equal(w.corrupt, 0);
    assert_int_equal(w.used, 3);
    heap_caps_free(a);
    heap_caps_free(b);
    heap_caps_free(c);
}

typedef struct mh_log {
    size_t used_bytes;
    size_t free_bytes;
    size_t used;
    size_t corrupt;
    void *block_of_p;
    size_t size_of_p;
} mh_log_t;

static void *s_probe;

static bool log_mh_block(void *ptr, size_t size, int used, void *user)
{
    mh_log_t *m = user;
    if (used == MULTI_HEAP_BLOCK_CORRUPT) {
        m->corrupt++;
    } else if (used) {
        m->used++;
        m->used_bytes += size;
    } else {
        m->free_bytes += size;
    }
    if (ptr == s_probe) {
        m->block_of_p = ptr;
        m->size_of_p = size;
    }
    return true;
}

/* What multi_heap_get_info reports is what the walk shows: the bytes of the
 * allocated blocks and of the free ones (as ESP-IDF's TLSF walk does). */
static void test_multi_heap_sizes_add_up(void **state)
{
    (void)state;
    multi_heap_handle_t h = multi_heap_register(s_pool, sizeof s_pool);
    void *p = multi_heap_malloc(h, 32);
    void *q = multi_heap_malloc(h, 100);
    s_probe = p;
    multi_heap_info_t info;
    multi_heap_get_info(h, &info);
    mh_log_t m;
    memset(&m, 0, sizeof m);
    multi_heap_walk(h, log_mh_block, &m);
    assert_int_equal(m.corrupt, 0);
    assert_int_equal(m.used, 2);
    assert_int_equal(info.allocated_blocks, 2);
    assert_int_equal(info.total_allocated_bytes, m.used_bytes);
    assert_int_equal(info.total_free_bytes, m.free_bytes);
    assert_ptr_equal(m.block_of_p, p);
    assert_int_equal(m.size_of_p, multi_heap_get_allocated_size(h, p));
    assert_true(m.size_of_p >= 32);
    /* Damage: the walk flags it with MULTI_HEAP_BLOCK_CORRUPT. */
    uint8_t saved[4];
    uint8_t *at = damage_after(p, 32, multi_heap_get_allocated_size(h, p), saved);
    memset(&m, 0, sizeof m);
    multi_heap_walk(h, log_mh_block, &m);
    assert_int_equal(m.corrupt, 1);
    repair(at, saved);
    multi_heap_free(h, p);
    multi_heap_free(h, q);
    rtm_heap_deinit(h);
}

/* --- regions added at run time -------------------------------------------- */

static _Alignas(8) uint8_t s_late[16384];

static void test_added_region_starts_at_its_free_bytes(void **state)
{
    (void)state;
    const uint32_t caps[3] = {MALLOC_CAP_PID4, 0, MALLOC_CAP_8BIT};
    assert_int_equal(heap_caps_add_region_with_caps(caps, (intptr_t)s_late,
                                                    (intptr_t)(s_late + sizeof s_late)),
                     ESP_OK);
    size_t free_now = heap_caps_get_free_size(MALLOC_CAP_PID4);
    assert_true(free_now > 15000);
    /* ESP-IDF's multi_heap_register sets minimum_free_bytes = free_bytes. */
    assert_int_equal(heap_caps_get_minimum_free_size(MALLOC_CAP_PID4), free_now);
    void *p = heap_caps_malloc(1000, MALLOC_CAP_PID4);
    heap_caps_free(p);
    assert_true(heap_caps_get_minimum_free_size(MALLOC_CAP_PID4) < free_now);
}

static _Alignas(8) uint8_t s_first[4096];
static _Alignas(8) uint8_t s_second[4096];

/* As ESP-IDF's heap list: a heap added at run time is tried before the
 * heaps registered before it (within each priority level), the newest
 * first; one that cannot serve a request is passed over as before. */
static void test_added_region_is_searched_first(void **state)
{
    (void)state;
    const uint32_t caps[3] = {MALLOC_CAP_8BIT, 0, MALLOC_CAP_32BIT};
    void *before = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    assert_string_equal(rtm_caps_region_name(rtm_caps_region_of(before)), "DRAM");
    assert_int_equal(heap_caps_add_region_with_caps(caps, (intptr_t)s_first,
                                                    (intptr_t)(s_first + sizeof s_first)),
                     ESP_OK);
    uint8_t *p = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    assert_true(p >= s_first && p < s_first + sizeof s_first);
    assert_int_equal(heap_caps_add_region_with_caps(caps, (intptr_t)s_second,
                                                    (intptr_t)(s_second + sizeof s_second)),
                     ESP_OK);
    uint8_t *q = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    assert_true(q >= s_second && q < s_second + sizeof s_second);
    /* DMA: neither added heap has it; D/IRAM serves as before. */
    void *dma = heap_caps_malloc(64, MALLOC_CAP_DMA);
    assert_string_equal(rtm_caps_region_name(rtm_caps_region_of(dma)), "D/IRAM");
    /* Larger than an added heap: the next heap in order serves it. */
    uint8_t *big = heap_caps_malloc(8192, MALLOC_CAP_8BIT);
    assert_string_equal(rtm_caps_region_name(rtm_caps_region_of(big)), "DRAM");
    heap_caps_free(before);
    heap_caps_free(p);
    heap_caps_free(q);
    heap_caps_free(dma);
    heap_caps_free(big);
}

static void test_nested_registration(void **state)
{
    (void)state;
    /* A buffer from the DRAM heap, registered again as a heap of its own. */
    uint8_t *buf = heap_caps_malloc(8192, MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL);
    assert_non_null(buf);
    const rtm_caps_region_t *dram = rtm_caps_region_of(buf);
    const uint32_t caps[3] = {MALLOC_CAP_PID3, 0, MALLOC_CAP_8BIT};
    /* Not inside one live block: partly outside it, or in free memory. */
    assert_int_equal(heap_caps_add_region_with_caps(caps, (intptr_t)buf, (intptr_t)(buf + 9000)),
                     ESP_FAIL);
    uint8_t *spare = heap_caps_malloc(64, MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL);
    heap_caps_free(spare); /* spare's memory is free again */
    assert_int_equal(heap_caps_add_region_with_caps(caps, (intptr_t)spare, (intptr_t)(spare + 32)),
                     ESP_FAIL);
    assert_int_equal(heap_caps_add_region_with_caps(caps, (intptr_t)buf, (intptr_t)(buf + 4096)),
                     ESP_OK);
    const rtm_caps_region_t *inner = rtm_caps_region_of(buf + 100);
    assert_non_null(inner);
    assert_true(inner != dram);
    assert_ptr_equal(rtm_caps_region_of(buf + 5000), dram); /* the rest of buf is DRAM's */
    /* The same range again, or one overlapping the nested heap: refused. */
    assert_int_equal(heap_caps_add_region_with_caps(caps, (intptr_t)buf, (intptr_t)(buf + 4096)),
                     ESP_FAIL);
    assert_int_equal(heap_caps_add_region_with_caps(caps, (intptr_t)(buf + 4000),
                                                    (intptr_t)(buf + 4200)),
                     ESP_FAIL);
    void *p = heap_caps_malloc(100, MALLOC_CAP_PID3);
    assert_true((uint8_t *)p >= buf && (uint8_t *)p < buf + 4096);
    assert_true(heap_caps_get_allocated_size(p) >= 100);
    assert_true(heap_caps_check_integrity_all(true));
    assert_true(rtm_caps_check_all(false, NULL));
    heap_caps_free(p);
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_PID3),
                     rtm_heap_free_bytes(rtm_caps_region_heap(inner)));

    /* heap_caps_add_region: the caps of the memory it lies in. */
    assert_int_equal(heap_caps_add_region((intptr_t)(buf + 4096), (intptr_t)(buf + 8192)), ESP_OK);
    const rtm_caps_region_t *second = rtm_caps_region_of(buf + 6000);
    assert_true(second != dram && second != inner);
    for (unsigned level = 0; level < RTM_CAPS_LEVELS; level++) {
        assert_true(rtm_caps_region_caps(second, level) == rtm_caps_region_caps(dram, level));
    }
    int local = 0;
    assert_int_equal(heap_caps_add_region((intptr_t)&local, (intptr_t)(&local + 1)),
                     ESP_ERR_NOT_FOUND);
    assert_int_equal(heap_caps_add_region(0, 16), ESP_ERR_INVALID_ARG);
}

/* A nested range must lie within the bytes the application owns: a range
 * that reaches back into the block's header (at levels >= 1 also its size
 * word and head canary) or past its requested end (the tail canary, the
 * next block) would let the inner heap write over the outer heap's
 * metadata. Every such range is refused, and the outer heap stays sound. */
static void test_nested_registration_refuses_block_edges(void **state)
{
    (void)state;
    const size_t len = 4096;
    uint8_t *buf = heap_caps_malloc(len, MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL);
    uint8_t *next = heap_caps_malloc(64, MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL);
    assert_non_null(buf);
    assert_non_null(next);
    size_t usable = heap_caps_get_allocated_size(buf);
    const uint32_t caps[3] = {MALLOC_CAP_PID4, 0, MALLOC_CAP_8BIT};
    size_t regions = rtm_caps_region_count();
    static const size_t back[] = {1, 4, 8, 12, 16};
    for (size_t i = 0; i < TS_ARRAY_LEN(back); i++) {
        ts_context("starts %zu bytes before the block", back[i]);
        assert_int_equal(heap_caps_add_region_with_caps(caps, (intptr_t)(buf - back[i]),
                                                        (intptr_t)(buf + 2048)),
                         ESP_FAIL);
    }
    static const size_t past[] = {1, 4, 8, 64};
    for (size_t i = 0; i < TS_ARRAY_LEN(past); i++) {
        ts_context("ends %zu bytes past the block's usable end", past[i]);
        assert_int_equal(heap_caps_add_region_with_caps(caps, (intptr_t)(buf + 1024),
                                                        (intptr_t)(buf + usable + past[i])),
                         ESP_FAIL);
    }
    ts_context(NULL);
    assert_int_equal(rtm_caps_region_count(), regions);
    /* Exactly the block's bytes: accepted. */
    assert_int_equal(heap_caps_add_region_with_caps(caps, (intptr_t)buf, (intptr_t)(buf + usable)),
                     ESP_OK);
    void *p = heap_caps_malloc(len / 2, MALLOC_CAP_PID4);
    assert_non_null(p);
    memset(p, 0xa5, len / 2);
    assert_true(heap_caps_check_integrity_all(false));
    assert_true(rtm_caps_check_all(false, NULL));
    heap_caps_free(p);
    heap_caps_free(next);
    assert_true(heap_caps_check_integrity_all(false));
}

/* --- local minimum --------------------------------------------------------- */

static void test_local_minimum_monitor(void **state)
{
    (void)state;
    const uint32_t caps = MALLOC_CAP_SPIRAM;
    void *big = heap_caps_malloc(1024 * 1024, caps);
    heap_caps_free(big);
    size_t lifetime = heap_caps_get_minimum_free_size(caps);
    size_t free_now = heap_caps_get_free_size(caps);
    assert_true(lifetime < free_now);

    assert_int_equal(heap_caps_monitor_local_minimum_free_size_stop(), ESP_FAIL); /* not started */
    assert_int_equal(heap_caps_monitor_local_minimum_free_size_start(), ESP_OK);
    assert_int_equal(heap_caps_get_minimum_free_size(caps), free_now);
    void *small = heap_caps_malloc(1000, caps);
    heap_caps_free(small);
    size_t local = heap_caps_get_minimum_free_size(caps);
    assert_true(local < free_now && local > lifetime);
    /* Twice: ESP_FAIL as ESP-IDF's header says, and the window is kept
     * (ESP-IDF v5.5.5's code would restart it: docs/caps.md, differences). */
    assert_int_equal(heap_caps_monitor_local_minimum_free_size_start(), ESP_FAIL);
    assert_int_equal(heap_caps_get_minimum_free_size(caps), local);
    multi_heap_info_t info;
    heap_caps_get_info(&info, caps);
    assert_int_equal(info.minimum_free_bytes, local);
    assert_int_equal(heap_caps_monitor_local_minimum_free_size_stop(), ESP_OK);
    assert_int_equal(heap_caps_get_minimum_free_size(caps), lifetime);
    assert_int_equal(heap_caps_monitor_local_minimum_free_size_stop(), ESP_FAIL);
}

/* --- per-task information ----------------------------------------------- */

RTM_TASK_STATS_DEFINE(s_stats_mem, 8, 64);

static void test_per_task_info(void **state)
{
    (void)state;
    heap_task_info_params_t params;
    memset(&params, 0, sizeof params);
    assert_int_equal(heap_caps_get_per_task_info(&params), 0); /* no statistics yet */
    assert_int_equal(heap_caps_get_per_task_info(NULL), 0);

    rtm_task_stats_t *stats = rtm_task_stats_init(s_stats_mem, sizeof s_stats_mem, 8, 0);
    assert_non_null(stats);
    for (size_t i = 0; i < rtm_caps_region_count(); i++) {
        rtm_task_stats_attach(stats, rtm_caps_region_heap(rtm_caps_region_at(i)));
    }
    rtm_esp_task_info_set_stats(stats);
    void *dma = heap_caps_malloc(100, MALLOC_CAP_DMA);
    void *ext = heap_caps_malloc(200, MALLOC_CAP_SPIRAM);
    void *gone = heap_caps_malloc(300, MALLOC_CAP_8BIT);
    heap_caps_free(gone);

    TaskHandle_t self = (TaskHandle_t)rtm_port_task_id();
    TaskHandle_t tasks[1] = {self};
    heap_task_totals_t totals[4];
    size_t num_totals = 0;
    heap_task_block_t blocks[8];
    params.caps[0] = (int32_t)MALLOC_CAP_8BIT;
    params.mask[0] = (int32_t)MALLOC_CAP_8BIT;
    params.caps[1] = (int32_t)MALLOC_CAP_SPIRAM;
    params.mask[1] = (int32_t)MALLOC_CAP_SPIRAM;
    params.caps[2] = 0;
    params.mask[2] = (int32_t)MALLOC_CAP_SPIRAM; /* not SPIRAM */
    params.caps[3] = (int32_t)MALLOC_CAP_RTCRAM;
    params.mask[3] = (int32_t)MALLOC_CAP_RTCRAM;
    params.tasks = tasks;
    params.num_tasks = 1;
    params.totals = totals;
    params.num_totals = &num_totals;
    params.max_totals = TS_ARRAY_LEN(totals);
    params.blocks = blocks;
    params.max_blocks = TS_ARRAY_LEN(blocks);
    assert_int_equal(heap_caps_get_per_task_info(&params), 2);
    assert_int_equal(num_totals, 1);
    assert_ptr_equal(totals[0].task, self);
    assert_int_equal(totals[0].count[0], 2);
    assert_int_equal(totals[0].size[0], 300);
    assert_int_equal(totals[0].count[1], 1);
    assert_int_equal(totals[0].size[1], 200);
    assert_int_equal(totals[0].count[2], 1);
    assert_int_equal(totals[0].size[2], 100);
    assert_int_equal(totals[0].count[3], 0);
    for (size_t i = 0; i < 2; i++) {
        assert_ptr_equal(blocks[i].task, self);
        assert_true((blocks[i].address == dma && blocks[i].size == 100) ||
                    (blocks[i].address == ext && blocks[i].size == 200));
    }
    /* Room for no block: totals only. */
    params.max_blocks = 0;
    num_totals = 0;
    assert_int_equal(heap_caps_get_per_task_info(&params), 0);
    assert_int_equal(totals[0].count[0], 2);
    heap_caps_free(dma);
    heap_caps_free(ext);
    for (size_t i = 0; i < rtm_caps_region_count(); i++) {
        rtm_heap_set_observer(rtm_caps_region_heap(rtm_caps_region_at(i)), NULL, NULL);
    }
    rtm_task_stats_deinit(stats);
}

/* The capability layer's reallocs check the old pointer themselves (they
 * may move the block to another region): a bad one is reported as the
 * realloc the application made, not as the size query behind it, and a
 * realloc to size 0, which frees, as a realloc too. A pointer in no region
 * is reported like one outside a heap (debug.h): a corruption report
 * naming the call, besides the misuse hook. */
typedef struct corruption_log {
    unsigned calls;
    rtm_corruption_kind_t kind;
    rtm_debug_op_t op;
} corruption_log_t;

static void log_corruption(const rtm_corruption_t *r, void *ctx)
{
    corruption_log_t *log = ctx;
    log->calls++;
    log->kind = r->kind;
    log->op = r->op;
}

static void test_caps_realloc_reports_name_realloc(void **state)
{
    (void)state;
    if (rtm_debug_poison_level() < 1) {
        skip();
    }
    corruption_log_t log;
    rtm_debug_set_corruption_hook(log_corruption, &log);
    ts_output_t out;
    ts_output_capture(&out);
    uint8_t *p = heap_caps_malloc(40, MALLOC_CAP_8BIT);
    uint8_t *q = heap_caps_malloc(40, MALLOC_CAP_8BIT);
    assert_non_null(p);
    assert_non_null(q);
    uint8_t saved[4];
    uint8_t *at = damage_after(p, 40, heap_caps_get_allocated_size(p), saved);
    heap_caps_free(q);
    uint64_t local[2] = {0, 0};
    struct {
        const char *what;
        void *ptr;
        rtm_corruption_kind_t kind;
    } cases[] = {{"broken tail", p, RTM_CORRUPT_BAD_TAIL},
                 {"interior", p + 8, RTM_CORRUPT_INVALID_FREE},
                 {"freed", q, RTM_CORRUPT_DOUBLE_FREE},
                 {"in no region", &local[1], RTM_CORRUPT_FOREIGN_FREE}};
    for (size_t i = 0; i < TS_ARRAY_LEN(cases); i++) {
        for (int call = 0; call < 7; call++) {
            ts_context("%s, call %d", cases[i].what, call);
            memset(&log, 0, sizeof log);
            void *r = call == 0   ? rtm_caps_realloc(cases[i].ptr, 4000, RTM_CAP_SPIRAM)
                      : call == 1 ? rtm_caps_realloc_default(cases[i].ptr, 4000)
                      : call == 2 ? heap_caps_realloc(cases[i].ptr, 4000, MALLOC_CAP_SPIRAM)
                      : call == 3 ? heap_caps_realloc_prefer(cases[i].ptr, 4000, 2,
                                                             MALLOC_CAP_SPIRAM, MALLOC_CAP_8BIT)
                      : call == 4 ? rtm_caps_realloc(cases[i].ptr, 0, RTM_CAP_SPIRAM)
                      : call == 5 ? heap_caps_realloc(cases[i].ptr, 0, MALLOC_CAP_8BIT)
                                  : heap_caps_realloc_prefer(cases[i].ptr, 0, 1, MALLOC_CAP_8BIT);
            assert_null(r);
            assert_int_equal(log.calls, 1);
            assert_int_equal(log.kind, cases[i].kind);
            if (log.op != RTM_OP_REALLOC) {
                ts_fail("reported in %s, not in realloc", rtm_debug_op_str(log.op));
            }
        }
    }
    ts_context(NULL);
    memset(&log, 0, sizeof log);
    heap_caps_free(&local[1]);
    assert_int_equal(log.calls, 1);
    assert_int_equal(log.kind, RTM_CORRUPT_FOREIGN_FREE);
    assert_int_equal(log.op, RTM_OP_FREE);
    memset(&log, 0, sizeof log);
    assert_int_equal(heap_caps_get_allocated_size(&local[1]), 0);
    assert_int_equal(log.calls, 1);
    assert_int_equal(log.kind, RTM_CORRUPT_FOREIGN_FREE);
    assert_int_equal(log.op, RTM_OP_USABLE_SIZE);
    repair(at, saved);
    rtm_debug_set_corruption_hook(NULL, NULL);
    ts_output_release();
    assert_int_equal(heap_caps_get_allocated_size(p), 40);
    heap_caps_free(p);
    assert_true(heap_caps_check_integrity_all(false));
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_check_prints_and_returns_false),
        T(test_check_head_and_size),
        T(test_caps_realloc_reports_name_realloc),
        T(test_multi_heap_check),
        T(test_check_link_damage_never_stops),
        T(test_walk_flags_the_damaged_block),
        T(test_multi_heap_sizes_add_up),
        T(test_added_region_starts_at_its_free_bytes),
        T(test_added_region_is_searched_first),
        T(test_nested_registration),
        T(test_nested_registration_refuses_block_edges),
        T(test_local_minimum_monitor),
        T(test_per_task_info),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
