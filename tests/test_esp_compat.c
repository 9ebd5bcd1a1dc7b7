/*
 * The ESP-IDF compat layer (compat/esp_heap_caps.h, compat/multi_heap.h).
 *
 * The first half of this file is application code written the way ESP-IDF
 * code is written: it includes only esp_heap_caps.h and uses only ESP-IDF
 * names (heap_caps_*, multi_heap_*, MALLOC_CAP_*, esp_err_t). It would
 * build unchanged inside an ESP-IDF project. The second half is the cmocka
 * harness: it brings up the ESP32 preset (what ESP-IDF's startup code does
 * on the chip) and checks, with rtmem's own API, that the ESP-IDF code got
 * the memory ESP-IDF would have given it.
 */
#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <string.h>

#include "esp_heap_caps.h"

/* ======================================================================
 * ESP-IDF-style application code: compat header only from here to the
 * harness.
 * ====================================================================== */

/* --- a failed-allocation logger, registered at start-up ----------------- */

typedef struct alloc_failure_log {
    unsigned count;
    size_t last_size;
    uint32_t last_caps;
    const char *last_function;
} alloc_failure_log_t;

static alloc_failure_log_t s_failures;

static void log_alloc_failure(size_t size, uint32_t caps, const char *function_name)
{
    s_failures.count++;
    s_failures.last_size = size;
    s_failures.last_caps = caps;
    s_failures.last_function = function_name;
}

static esp_err_t app_install_failure_logger(void)
{
    return heap_caps_register_failed_alloc_callback(log_alloc_failure);
}

/* --- a driver that needs DMA-capable buffers -------------------------- */

typedef struct spi_transfer {
    uint8_t *tx;
    uint8_t *rx;
    size_t len;
} spi_transfer_t;

static bool spi_transfer_prepare(spi_transfer_t *t, size_t len)
{
    /* Both buffers must be reachable by the SPI DMA: never PSRAM. */
    t->tx = heap_caps_malloc(len, MALLOC_CAP_DMA);
    t->rx = heap_caps_calloc(1, len, MALLOC_CAP_DMA | MALLOC_CAP_8BIT);
    t->len = len;
    if (t->tx == NULL || t->rx == NULL) {
        heap_caps_free(t->tx);
        heap_caps_free(t->rx);
        t->tx = NULL;
        t->rx = NULL;
        return false;
    }
    for (size_t i = 0; i < len; i++) {
        t->tx[i] = (uint8_t)(i ^ 0x5a);
    }
    return true;
}

static void spi_transfer_release(spi_transfer_t *t)
{
    heap_caps_free(t->tx);
    heap_caps_free(t->rx);
    t->tx = NULL;
    t->rx = NULL;
}

/* --- a frame buffer: PSRAM when there is some, internal RAM otherwise -- */

static uint16_t *framebuffer_alloc(size_t pixels)
{
    return heap_caps_malloc_prefer(pixels * sizeof(uint16_t), 2,
                                   MALLOC_CAP_SPIRAM | MALLOC_CAP_8BIT,
                                   MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
}

/* --- a log buffer that grows, then is parked in PSRAM ------------------ */

static char *log_append(char *log, size_t *len, const char *text)
{
    size_t add = strlen(text);
    char *grown = heap_caps_realloc(log, *len + add + 1, MALLOC_CAP_8BIT | MALLOC_CAP_INTERNAL);
    if (grown == NULL) {
        return log;
    }
    memcpy(grown + *len, text, add + 1);
    *len += add;
    return grown;
}

static char *log_park_in_psram(char *log, size_t len)
{
    char *parked = heap_caps_realloc(log, len + 1, MALLOC_CAP_SPIRAM);
    return parked != NULL ? parked : log;
}

/* --- memory diagnostics, as a monitoring task would print them ---------- */

typedef struct memory_report {
    size_t internal_free;
    size_t internal_min_free;
    size_t dma_largest;
    size_t psram_total;
    size_t psram_free;
    multi_heap_info_t eight_bit;
    bool heaps_ok;
} memory_report_t;

static void memory_report_take(memory_report_t *r)
{
    r->internal_free = heap_caps_get_free_size(MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
    r->internal_min_free = heap_caps_get_minimum_free_size(MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
    r->dma_largest = heap_caps_get_largest_free_block(MALLOC_CAP_DMA);
    r->psram_total = heap_caps_get_total_size(MALLOC_CAP_SPIRAM);
    r->psram_free = heap_caps_get_free_size(MALLOC_CAP_SPIRAM);
    heap_caps_get_info(&r->eight_bit, MALLOC_CAP_8BIT);
    r->heaps_ok = heap_caps_check_integrity_all(true);
}

/* --- a heap walker that counts live blocks per heap --------------------- */

typedef struct block_census {
    unsigned heaps;
    intptr_t last_heap_start;
    size_t used_blocks;
    size_t used_bytes;
    size_t free_blocks;
} block_census_t;

static bool census_cb(walker_heap_into_t heap_info, walker_block_info_t block_info, void *user_data)
{
    block_census_t *c = user_data;
    if (heap_info.start != c->last_heap_start) {
        c->heaps++;
        c->last_heap_start = heap_info.start;
    }
    if (block_info.used) {
        c->used_blocks++;
        c->used_bytes += block_info.size;
    } else {
        c->free_blocks++;
    }
    return true;
}

/* --- code that runs from RAM: a copy of a routine in executable memory -- */

static uint32_t *exec_buffer_alloc(size_t words)
{
    /* IRAM: 32-bit accesses only, hence a word buffer. */
    return heap_caps_malloc(words * sizeof(uint32_t), MALLOC_CAP_EXEC);
}

/* --- a private heap over a static pool (multi_heap) --------------------- */

static uint8_t s_private_pool[8192];

typedef struct private_heap_result {
    bool registered;
    size_t free_before;
    size_t allocated_size;
    size_t blocks_walked;
    multi_heap_info_t info;
    bool ok;
    bool block_found;
} private_heap_result_t;

static bool count_private(void *block_ptr, size_t block_size, int block_used, void *user_data)
{
    (void)block_ptr;
    (void)block_size;
    (void)block_used;
    (*(size_t *)user_data)++;
    return true;
}

static void private_heap_demo(private_heap_result_t *r)
{
    multi_heap_handle_t heap = multi_heap_register(s_private_pool, sizeof s_private_pool);
    r->registered = heap != NULL;
    if (heap == NULL) {
        return;
    }
    r->free_before = multi_heap_free_size(heap);
    void *a = multi_heap_malloc(heap, 100);
    void *b = multi_heap_aligned_alloc(heap, 200, 64);
    a = multi_heap_realloc(heap, a, 300);
    r->allocated_size = multi_heap_get_allocated_size(heap, a);
    r->block_found = multi_heap_find_containing_block(heap, (uint8_t *)b + 10) == b;
    multi_heap_walk(heap, count_private, &r->blocks_walked);
    multi_heap_get_info(heap, &r->info);
    r->ok = multi_heap_check(heap, true) && ((uintptr_t)b % 64u) == 0;
    multi_heap_free(heap, a);
    multi_heap_aligned_free(heap, b);
}

/* --- memory added at run time (esp_heap_caps_init.h) -------------------- */

static uint8_t s_late_ram[16384];

static esp_err_t add_late_ram(void)
{
    const uint32_t caps[3] = {MALLOC_CAP_INTERNAL | MALLOC_CAP_PID2, 0,
                              MALLOC_CAP_8BIT | MALLOC_CAP_32BIT};
    return heap_caps_add_region_with_caps(caps, (intptr_t)s_late_ram,
                                          (intptr_t)(s_late_ram + sizeof s_late_ram));
}

/* ======================================================================
 * Harness
 * ====================================================================== */

#include "support/test_support.h"

#include "rtmem/caps.h"
#include "rtmem/presets/esp32.h"

static const char *region_of(const void *p)
{
    return rtm_caps_region_name(rtm_caps_region_of(p));
}

static size_t used_blocks(void)
{
    rtm_caps_info_t info;
    assert_true(rtm_caps_get_info(0, &info));
    return info.used_blocks;
}

static int setup(void **state)
{
    (void)state;
    memset(&s_failures, 0, sizeof s_failures);
    rtm_caps_deinit();
    if (rtm_preset_esp32_init(NULL) != RTM_CAPS_OK) {
        return -1;
    }
    return app_install_failure_logger() == ESP_OK ? 0 : -1;
}

static int teardown(void **state)
{
    (void)state;
    rtm_caps_deinit();
    ts_output_release();
    return 0;
}

static void test_values_and_errors(void **state)
{
    (void)state;
    assert_int_equal(MALLOC_CAP_EXEC, 1);
    assert_int_equal(MALLOC_CAP_DMA, 8);
    assert_int_equal(MALLOC_CAP_SPIRAM, 1024);
    assert_int_equal(MALLOC_CAP_INTERNAL, 2048);
    assert_int_equal(MALLOC_CAP_DEFAULT, 4096);
    assert_int_equal(MALLOC_CAP_RTCRAM, 0x8000);
    assert_int_equal(MALLOC_CAP_TCM, MALLOC_CAP_SPM);
    assert_int_equal(MALLOC_CAP_INVALID, 0x80000000u);
    assert_int_equal(heap_caps_register_failed_alloc_callback(NULL), ESP_ERR_INVALID_ARG);
    rtm_caps_deinit();
    assert_int_equal(app_install_failure_logger(), ESP_ERR_INVALID_STATE);
}

static void test_dma_driver(void **state)
{
    (void)state;
    spi_transfer_t t;
    assert_true(spi_transfer_prepare(&t, 4092));
    /* DMA alone: D/IRAM (level 1, first in order); DMA | 8BIT: DRAM, which
     * lists 8BIT at level 0. Neither is PSRAM or IRAM. */
    assert_string_equal(region_of(t.tx), "D/IRAM");
    assert_string_equal(region_of(t.rx), "DRAM");
    for (size_t i = 0; i < t.len; i++) {
        assert_int_equal(t.rx[i], 0);
    }
    spi_transfer_release(&t);
    /* More than all DMA memory together: both allocations fail, each
     * logged once. */
    assert_false(spi_transfer_prepare(&t, 400 * 1024));
    assert_int_equal(s_failures.count, 2);
    assert_int_equal(s_failures.last_size, 400 * 1024);
    assert_int_equal(s_failures.last_caps, MALLOC_CAP_DMA | MALLOC_CAP_8BIT);
    assert_string_equal(s_failures.last_function, "heap_caps_calloc");
    assert_int_equal(used_blocks(), 0);
}

static void test_framebuffer_prefers_psram(void **state)
{
    (void)state;
    uint16_t *fb = framebuffer_alloc(320 * 240);
    assert_non_null(fb);
    assert_string_equal(region_of(fb), "SPIRAM");
    /* Larger than PSRAM: the second preference cannot hold it either; one
     * report, naming the last caps tried. */
    assert_null(framebuffer_alloc(4u * 1024u * 1024u));
    assert_int_equal(s_failures.count, 1);
    assert_int_equal(s_failures.last_caps, MALLOC_CAP_INTERNAL | MALLOC_CAP_8BIT);
    assert_string_equal(s_failures.last_function, "heap_caps_malloc_prefer");
    heap_caps_free(fb);

    /* The other _prefer forms. */
    uint32_t *z = heap_caps_calloc_prefer(16, sizeof(uint32_t), 2, MALLOC_CAP_SPM,
                                          MALLOC_CAP_RTCRAM);
    assert_string_equal(region_of(z), "RTCRAM");
    for (size_t i = 0; i < 16; i++) {
        assert_int_equal(z[i], 0);
    }
    uint32_t *moved = heap_caps_realloc_prefer(z, 256, 2, MALLOC_CAP_SPM, MALLOC_CAP_SPIRAM);
    assert_string_equal(region_of(moved), "SPIRAM");
    assert_null(heap_caps_realloc_prefer(moved, 64u * 1024u * 1024u, 1, MALLOC_CAP_SPIRAM));
    assert_int_equal(s_failures.count, 2);
    assert_string_equal(s_failures.last_function, "heap_caps_realloc_prefer");
    assert_null(heap_caps_calloc_prefer(SIZE_MAX / 2u, 4, 1, MALLOC_CAP_8BIT));
    assert_int_equal(s_failures.count, 3);
    /* As ESP-IDF: the element size (heap_caps_calloc reports the product). */
    assert_int_equal(s_failures.last_size, 4);
    heap_caps_free(moved);
    assert_int_equal(used_blocks(), 0);
}

static void test_log_buffer_realloc(void **state)
{
    (void)state;
    size_t len = 0;
    char *log = NULL;
    log = log_append(log, &len, "boot ok; ");
    log = log_append(log, &len, "wifi up; ");
    log = log_append(log, &len, "mqtt connected");
    assert_string_equal(log, "boot ok; wifi up; mqtt connected");
    assert_string_equal(region_of(log), "DRAM");
    log = log_park_in_psram(log, len);
    assert_string_equal(region_of(log), "SPIRAM");
    assert_string_equal(log, "boot ok; wifi up; mqtt connected");
    assert_true(heap_caps_get_allocated_size(log) >= len + 1);
    assert_null(heap_caps_realloc(log, 0, MALLOC_CAP_8BIT)); /* frees */
    assert_int_equal(used_blocks(), 0);
    assert_int_equal(s_failures.count, 0);
}

static void test_diagnostics(void **state)
{
    (void)state;
    void *keep = heap_caps_malloc(10000, MALLOC_CAP_8BIT);
    memory_report_t r;
    ts_output_t out;
    ts_output_capture(&out);
    memory_report_take(&r);
    assert_true(r.heaps_ok);
    assert_int_equal(out.writes, 0); /* nothing to complain about */
    assert_int_equal(r.psram_total, 4u * 1024u * 1024u);
    assert_true(r.psram_free > 4000u * 1024u);
    assert_int_equal(r.internal_free, rtm_caps_free_size(RTM_CAP_INTERNAL | RTM_CAP_8BIT));
    assert_true(r.internal_min_free <= r.internal_free);
    assert_int_equal(r.dma_largest, rtm_caps_largest_free_block(RTM_CAP_DMA));
    rtm_caps_info_t ci;
    assert_true(rtm_caps_get_info(RTM_CAP_8BIT, &ci));
    assert_int_equal(r.eight_bit.total_free_bytes, ci.free_bytes);
    assert_int_equal(r.eight_bit.total_allocated_bytes, ci.allocated_bytes);
    assert_int_equal(r.eight_bit.allocated_blocks, 1);
    assert_int_equal(r.eight_bit.total_blocks, ci.used_blocks + ci.free_blocks);
    assert_int_equal(r.eight_bit.largest_free_block, ci.largest_free_block);
    assert_int_equal(r.eight_bit.minimum_free_bytes, ci.min_free_bytes);

    /* As ESP-IDF: no heap has MALLOC_CAP_INVALID, so the size queries
     * count none (checks, walks and dumps take it as "all heaps"). */
    assert_int_equal(heap_caps_get_free_size(MALLOC_CAP_INVALID), 0);
    assert_int_equal(heap_caps_get_total_size(MALLOC_CAP_INVALID | MALLOC_CAP_8BIT), 0);
    assert_int_equal(heap_caps_get_minimum_free_size(MALLOC_CAP_INVALID), 0);
    assert_int_equal(heap_caps_get_largest_free_block(MALLOC_CAP_INVALID), 0);
    multi_heap_info_t none;
    memset(&none, 0xff, sizeof none);
    heap_caps_get_info(&none, MALLOC_CAP_INVALID);
    assert_int_equal(none.total_free_bytes + none.total_blocks + none.allocated_blocks, 0);
    assert_int_equal(heap_caps_get_free_size(0), rtm_caps_free_size(RTM_CAP_INVALID));
    heap_caps_print_heap_info(MALLOC_CAP_INVALID);
    assert_int_equal(out.writes, 1);
    assert_non_null(strstr(out.last, "no region has these caps"));
    heap_caps_print_heap_info(MALLOC_CAP_DMA);
    assert_int_equal(out.writes, 7);
    assert_non_null(strstr(out.all, "DRAM at"));
    heap_caps_dump(MALLOC_CAP_DMA);
    assert_non_null(strstr(out.all, "heap 'D/IRAM'"));
    assert_non_null(strstr(out.all, " used\n"));
    heap_caps_dump_all();
    assert_non_null(strstr(out.all, "heap 'SPIRAM'"));
    assert_true(heap_caps_check_integrity(MALLOC_CAP_SPIRAM, true));
    assert_true(heap_caps_check_integrity_addr((intptr_t)keep, true));
    assert_false(heap_caps_check_integrity_addr((intptr_t)&out, false));
    ts_output_release();
    heap_caps_free(keep);
}

static void test_walker(void **state)
{
    (void)state;
    void *a = heap_caps_malloc(100, MALLOC_CAP_DMA);
    void *b = heap_caps_malloc(200, MALLOC_CAP_SPIRAM);
    block_census_t all;
    memset(&all, 0, sizeof all);
    heap_caps_walk_all(census_cb, &all);
    assert_int_equal(all.heaps, rtm_caps_region_count());
    assert_int_equal(all.used_blocks, 2);
    assert_int_equal(all.used_bytes, heap_caps_get_allocated_size(a) + heap_caps_get_allocated_size(b));
    block_census_t ext;
    memset(&ext, 0, sizeof ext);
    heap_caps_walk(MALLOC_CAP_SPIRAM, census_cb, &ext);
    assert_int_equal(ext.heaps, 1);
    assert_int_equal(ext.used_blocks, 1);
    heap_caps_walk(MALLOC_CAP_SPIRAM, NULL, NULL); /* ignored */
    assert_int_equal(heap_caps_get_containing_block_size((uint8_t *)b + 150),
                     heap_caps_get_allocated_size(b));
    assert_int_equal(heap_caps_get_containing_block_size(&ext), 0);
    heap_caps_free(a);
    heap_caps_free(b);
}

static void test_exec_memory(void **state)
{
    (void)state;
    uint32_t *code = exec_buffer_alloc(64);
    assert_non_null(code);
    assert_string_equal(region_of(code), "IRAM");
    for (uint32_t i = 0; i < 64; i++) {
        code[i] = 0x00f0000du + i;
    }
    /* Executable and byte-accessible cannot be had on the ESP32. */
    assert_null(heap_caps_malloc(64, MALLOC_CAP_EXEC | MALLOC_CAP_8BIT));
    assert_int_equal(s_failures.count, 1);
    assert_int_equal(s_failures.last_caps, MALLOC_CAP_EXEC | MALLOC_CAP_8BIT);
    assert_string_equal(s_failures.last_function, "heap_caps_malloc");
    heap_caps_free(code);
}

static void test_aligned(void **state)
{
    (void)state;
    void *a = heap_caps_aligned_alloc(64, 1000, MALLOC_CAP_DMA);
    assert_non_null(a);
    assert_true(((uintptr_t)a & 63u) == 0);
    uint8_t *c = heap_caps_aligned_calloc(128, 10, 10, MALLOC_CAP_SPIRAM);
    assert_true(((uintptr_t)c & 127u) == 0);
    for (size_t i = 0; i < 100; i++) {
        assert_int_equal(c[i], 0);
    }
    assert_null(heap_caps_aligned_alloc(0, 10, MALLOC_CAP_DMA));
    assert_null(heap_caps_aligned_alloc(48, 10, MALLOC_CAP_DMA));
    assert_null(heap_caps_aligned_calloc(16, SIZE_MAX, 2, MALLOC_CAP_DMA));
    assert_int_equal(s_failures.count, 0); /* as ESP-IDF: argument errors are not reported */
    void *cl = heap_caps_malloc(10, MALLOC_CAP_DMA | MALLOC_CAP_CACHE_ALIGNED);
    assert_true(((uintptr_t)cl & 31u) == 0);
    heap_caps_aligned_free(a);
    heap_caps_free(c);
    heap_caps_free(cl);
    assert_null(heap_caps_calloc(SIZE_MAX / 2u, 4, MALLOC_CAP_DMA));
    assert_int_equal(s_failures.count, 1);
    assert_string_equal(s_failures.last_function, "heap_caps_calloc");
    assert_int_equal(s_failures.last_size, (SIZE_MAX / 2u) * 4u);
}

static void test_private_multi_heap(void **state)
{
    (void)state;
    private_heap_result_t r;
    memset(&r, 0, sizeof r);
    private_heap_demo(&r);
    assert_true(r.registered);
    assert_true(r.free_before > 7000u);
    assert_true(r.allocated_size >= 300u);
    assert_true(r.block_found);
    assert_true(r.blocks_walked >= 2u);
    assert_int_equal(r.info.allocated_blocks, 2);
    assert_int_equal(r.info.total_blocks, r.info.allocated_blocks + r.info.free_blocks);
    assert_true(r.ok);
    /* The private heap is no capability region. */
    assert_null(rtm_caps_region_of(s_private_pool + 100));
    assert_null(multi_heap_register(NULL, 100));
    assert_null(multi_heap_register(s_private_pool + 1, 7));
    /* Any start address: it is aligned up inside the call. */
    static _Alignas(8) uint8_t odd_pool[4096];
    multi_heap_handle_t odd = multi_heap_register(odd_pool + 3, sizeof odd_pool - 3);
    assert_non_null(odd);
    void *p = multi_heap_malloc(odd, 100);
    assert_true((uint8_t *)p > odd_pool + 3 && (uint8_t *)p < odd_pool + sizeof odd_pool);
    assert_true(multi_heap_check(odd, false));
    multi_heap_free(odd, p);
    multi_heap_dump(odd); /* no output hook installed: dropped */
}

static void test_runtime_region(void **state)
{
    (void)state;
    assert_int_equal(add_late_ram(), ESP_OK);
    assert_int_equal(add_late_ram(), ESP_FAIL); /* the same range again: overlap */
    void *p = heap_caps_malloc(1000, MALLOC_CAP_PID2);
    assert_non_null(p);
    assert_true((uint8_t *)p >= s_late_ram && (uint8_t *)p < s_late_ram + sizeof s_late_ram);
    assert_int_equal(heap_caps_get_total_size(MALLOC_CAP_PID2), sizeof s_late_ram);
    heap_caps_free(p);
    const uint32_t caps[3] = {MALLOC_CAP_8BIT, 0, 0};
    assert_int_equal(heap_caps_add_region_with_caps(NULL, 16, 32), ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_caps_add_region_with_caps(caps, 0, 32), ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_caps_add_region_with_caps(caps, 64, 32), ESP_ERR_INVALID_ARG);
    static uint8_t tiny[32];
    assert_int_equal(heap_caps_add_region_with_caps(caps, (intptr_t)tiny,
                                                    (intptr_t)(tiny + sizeof tiny)),
                     ESP_ERR_INVALID_SIZE);
}

static void test_bad_pointers_are_reported(void **state)
{
    (void)state;
    ts_output_t out;
    ts_output_capture(&out);
    int local = 0;
    heap_caps_free(&local); /* ESP-IDF would assert; rtmem reports and ignores */
    assert_int_equal(out.writes, 1);
    assert_non_null(strstr(out.last, "in no region"));
    assert_int_equal(heap_caps_get_allocated_size(&local), 0);
    assert_null(heap_caps_realloc(&local, 10, MALLOC_CAP_8BIT));
    assert_int_equal(s_failures.count, 0); /* a bad pointer is no failed allocation */
    assert_null(heap_caps_realloc_prefer(&local, 10, 1, MALLOC_CAP_8BIT));
    assert_int_equal(out.writes, 4);
    assert_int_equal(s_failures.count, 0);
    ts_output_release();
}

/* Pointers that are bad in less obvious ways: inside a live block, a
 * block already freed, a block of a private multi_heap handed to the
 * registry, a registry block handed to a multi_heap. Each is reported
 * once, is no failed allocation, and changes nothing. */
static void test_hostile_pointers(void **state)
{
    (void)state;
    ts_output_t out;
    ts_output_capture(&out);
    uint8_t *p = heap_caps_malloc(200, MALLOC_CAP_8BIT);
    assert_non_null(p);
    memset(p, 0x5a, 200);
    size_t live = used_blocks();

    /* realloc_prefer with an interior pointer and three cap sets: one
     * report, not one per set; nothing moves. */
    unsigned writes = out.writes;
    assert_null(heap_caps_realloc_prefer(p + 8, 400, 3, MALLOC_CAP_SPIRAM, MALLOC_CAP_DMA,
                                         MALLOC_CAP_8BIT));
    assert_int_equal(out.writes, writes + 1);
    assert_non_null(strstr(out.last, "invalid pointer"));
    assert_int_equal(s_failures.count, 0);
    assert_int_equal(used_blocks(), live);

    /* No cap set to try: a failed request (ESP-IDF reports it with
     * MALLOC_CAP_DEFAULT), the block untouched. */
    assert_null(heap_caps_realloc_prefer(p, 400, 0));
    assert_int_equal(s_failures.count, 1);
    assert_int_equal(s_failures.last_size, 400);
    assert_int_equal(s_failures.last_caps, MALLOC_CAP_DEFAULT);
    assert_string_equal(s_failures.last_function, "heap_caps_realloc_prefer");
    memset(&s_failures, 0, sizeof s_failures);
    for (size_t i = 0; i < 200; i++) {
        assert_int_equal(p[i], 0x5a);
    }

    /* The containing block: any byte of a live block gives its size; a
     * byte of a freed block, or of no region, gives 0. */
    size_t size = heap_caps_get_allocated_size(p);
    assert_int_equal(heap_caps_get_containing_block_size(p), size);
    assert_int_equal(heap_caps_get_containing_block_size(p + 1), size);
    assert_int_equal(heap_caps_get_containing_block_size(p + size - 1), size);
    assert_int_equal(heap_caps_get_containing_block_size(NULL), 0);

    /* A private multi_heap's block is in no region, and a region's block
     * is not the private heap's: both reported, neither heap changes. */
    static _Alignas(8) uint8_t mine[4096];
    multi_heap_handle_t mh = multi_heap_register(mine, sizeof mine);
    assert_non_null(mh);
    uint8_t *q = multi_heap_malloc(mh, 64);
    assert_non_null(q);
    size_t mh_free = multi_heap_free_size(mh);
    writes = out.writes;
    heap_caps_free(q);
    assert_int_equal(out.writes, writes + 1);
    assert_non_null(strstr(out.last, "in no region"));
    assert_int_equal(heap_caps_get_allocated_size(q), 0);
    assert_null(heap_caps_realloc(q, 128, MALLOC_CAP_8BIT));
    multi_heap_free(mh, p);
    assert_int_equal(multi_heap_get_allocated_size(mh, p), 0);
    assert_null(multi_heap_realloc(mh, p, 300));
    assert_int_equal(out.writes, writes + 6);
    assert_int_equal(multi_heap_free_size(mh), mh_free);
    assert_int_equal(used_blocks(), live);
    assert_int_equal(s_failures.count, 0);
    assert_true(multi_heap_check(mh, false));

    /* Freed, then freed again through both doors. */
    heap_caps_free(p);
    assert_int_equal(used_blocks(), live - 1);
    writes = out.writes;
    heap_caps_free(p);
    assert_non_null(strstr(out.last, "double free"));
    assert_int_equal(heap_caps_get_containing_block_size(p + 1), 0);
    assert_null(heap_caps_realloc_prefer(p, 10, 1, MALLOC_CAP_8BIT));
    assert_int_equal(out.writes, writes + 2);
    assert_int_equal(s_failures.count, 0);
    multi_heap_free(mh, q);
    assert_int_equal(multi_heap_free_size(mh) > mh_free, true);

    /* Memory that wraps the address space is no heap. */
    assert_null(multi_heap_register(mine, SIZE_MAX));
    assert_null(multi_heap_register(mine, SIZE_MAX - (size_t)(uintptr_t)mine + 1u));
    assert_true(heap_caps_check_integrity_all(false));
    ts_output_release();
}

/* The failed-allocation callback's arguments, entry point by entry point,
 * as ESP-IDF v5.5.5 (components/heap/heap_caps.c, heap_caps_base.c) calls
 * it; docs/caps.md lists the cases. The ESP32 preset has no region with
 * MALLOC_CAP_SPM or MALLOC_CAP_PID3. */

/* The callback ran exactly calls times so far, the last time with these
 * arguments; then the log is cleared. */
static void expect_reported(unsigned calls, size_t size, uint32_t caps, const char *function_name)
{
    assert_int_equal(s_failures.count, calls);
    assert_int_equal(s_failures.last_size, size);
    assert_int_equal(s_failures.last_caps, caps);
    assert_non_null(s_failures.last_function);
    assert_string_equal(s_failures.last_function, function_name);
    memset(&s_failures, 0, sizeof s_failures);
}

static void expect_quiet(const void *result)
{
    assert_null(result);
    assert_int_equal(s_failures.count, 0);
}

static void test_calloc_reports_as_esp_idf(void **state)
{
    (void)state;
    /* ESP-IDF tests the element size, not the product, before it reports:
     * zero elements are a failed allocation of 0 bytes, a zero element
     * size is not. */
    expect_quiet(heap_caps_calloc(16, 0, MALLOC_CAP_DMA));
    expect_quiet(heap_caps_calloc(0, 0, MALLOC_CAP_DMA));
    assert_null(heap_caps_calloc(0, 16, MALLOC_CAP_DMA));
    expect_reported(1, 0, MALLOC_CAP_DMA, "heap_caps_calloc");
    assert_null(heap_caps_calloc(4, 8, MALLOC_CAP_PID3));
    expect_reported(1, 32, MALLOC_CAP_PID3, "heap_caps_calloc");

    /* calloc_prefer reports the element size and the last caps tried. */
    assert_null(heap_caps_calloc_prefer(100, 4096, 2, MALLOC_CAP_SPM, MALLOC_CAP_PID3));
    expect_reported(1, 4096, MALLOC_CAP_PID3, "heap_caps_calloc_prefer");
    assert_null(heap_caps_calloc_prefer(3, 8, 0));
    expect_reported(1, 8, MALLOC_CAP_DEFAULT, "heap_caps_calloc_prefer");
    assert_null(heap_caps_calloc_prefer(0, 24, 2, MALLOC_CAP_DMA, MALLOC_CAP_8BIT));
    expect_reported(1, 24, MALLOC_CAP_8BIT, "heap_caps_calloc_prefer");
    expect_quiet(heap_caps_calloc_prefer(24, 0, 2, MALLOC_CAP_DMA, MALLOC_CAP_8BIT));
    assert_null(heap_caps_calloc_prefer(SIZE_MAX / 2u, 4, 2, MALLOC_CAP_DMA, MALLOC_CAP_8BIT));
    expect_reported(1, 4, MALLOC_CAP_8BIT, "heap_caps_calloc_prefer");

    /* heap_caps_aligned_calloc allocates through heap_caps_aligned_alloc,
     * whose name the callback gets; the size is the product. */
    assert_null(heap_caps_aligned_calloc(16, 100, 4096, MALLOC_CAP_SPM));
    expect_reported(1, 409600, MALLOC_CAP_SPM, "heap_caps_aligned_alloc");
    expect_quiet(heap_caps_aligned_calloc(16, 0, 8, MALLOC_CAP_DMA));
    expect_quiet(heap_caps_aligned_calloc(16, 8, 0, MALLOC_CAP_DMA));
    expect_quiet(heap_caps_aligned_calloc(0, 1, 8, MALLOC_CAP_DMA));
    expect_quiet(heap_caps_aligned_calloc(24, 1, 8, MALLOC_CAP_DMA));
    assert_int_equal(used_blocks(), 0);
}

static void test_malloc_realloc_edges_as_esp_idf(void **state)
{
    (void)state;
    ts_output_t out;
    ts_output_capture(&out);
    /* Size 0 is no failure anywhere; caps no region has, caps 0 (no heap
     * names a bit of it) and sizes no heap can hold are, with the caps as
     * the application passed them. */
    expect_quiet(heap_caps_malloc(0, MALLOC_CAP_DMA));
    assert_null(heap_caps_malloc(16, 0));
    expect_reported(1, 16, 0, "heap_caps_malloc");
    assert_null(heap_caps_malloc(16, MALLOC_CAP_PID3 | MALLOC_CAP_8BIT));
    expect_reported(1, 16, MALLOC_CAP_PID3 | MALLOC_CAP_8BIT, "heap_caps_malloc");
    assert_null(heap_caps_malloc(16, MALLOC_CAP_INVALID));
    expect_reported(1, 16, MALLOC_CAP_INVALID, "heap_caps_malloc");
    assert_null(heap_caps_malloc(SIZE_MAX, MALLOC_CAP_8BIT | MALLOC_CAP_CACHE_ALIGNED));
    expect_reported(1, SIZE_MAX, MALLOC_CAP_8BIT | MALLOC_CAP_CACHE_ALIGNED, "heap_caps_malloc");
    /* EXEC is asked as EXEC | 32BIT on the ESP32; the report keeps EXEC. */
    assert_null(heap_caps_malloc(SIZE_MAX / 2u, MALLOC_CAP_EXEC));
    expect_reported(1, SIZE_MAX / 2u, MALLOC_CAP_EXEC, "heap_caps_malloc");
    void *d = heap_caps_malloc(16, MALLOC_CAP_DEFAULT);
    assert_non_null(d);
    heap_caps_free(d);
    assert_null(heap_caps_malloc(SIZE_MAX / 2u, MALLOC_CAP_DEFAULT));
    expect_reported(1, SIZE_MAX / 2u, MALLOC_CAP_DEFAULT, "heap_caps_malloc");
    heap_caps_free(NULL);

    /* realloc: NULL is malloc, size 0 frees, a failure keeps the block. */
    expect_quiet(heap_caps_realloc(NULL, 0, MALLOC_CAP_8BIT));
    assert_null(heap_caps_realloc(NULL, 16, MALLOC_CAP_PID3));
    expect_reported(1, 16, MALLOC_CAP_PID3, "heap_caps_realloc");
    uint8_t *p = heap_caps_malloc(64, MALLOC_CAP_8BIT);
    assert_non_null(p);
    memset(p, 0x3c, 64);
    assert_null(heap_caps_realloc(p, 128, MALLOC_CAP_PID3));
    expect_reported(1, 128, MALLOC_CAP_PID3, "heap_caps_realloc");
    assert_null(heap_caps_realloc(p, SIZE_MAX - 64u, MALLOC_CAP_8BIT));
    expect_reported(1, SIZE_MAX - 64u, MALLOC_CAP_8BIT, "heap_caps_realloc");
    for (size_t i = 0; i < 64; i++) {
        assert_int_equal(p[i], 0x3c);
    }
    /* Caps 0 are a subset of every heap's: ESP-IDF resizes in the block's
     * own heap, and reports (with caps 0) only when that fails. */
    const char *home = region_of(p);
    uint8_t *same = heap_caps_realloc(p, 96, 0);
    assert_non_null(same);
    assert_string_equal(region_of(same), home);
    assert_int_equal(same[63], 0x3c);
    assert_int_equal(s_failures.count, 0);
    assert_null(heap_caps_realloc(same, 1024u * 1024u, 0));
    expect_reported(1, 1024u * 1024u, 0, "heap_caps_realloc");

    /* aligned_alloc: alignment 0, not a power of two, or size 0 are quiet;
     * alignments below the heap's own are fine. */
    expect_quiet(heap_caps_aligned_alloc(16, 0, MALLOC_CAP_DMA));
    expect_quiet(heap_caps_aligned_alloc(0, 0, MALLOC_CAP_DMA));
    expect_quiet(heap_caps_aligned_alloc(12, SIZE_MAX, MALLOC_CAP_DMA));
    assert_null(heap_caps_aligned_alloc(64, 16, MALLOC_CAP_PID3));
    expect_reported(1, 16, MALLOC_CAP_PID3, "heap_caps_aligned_alloc");
    assert_null(heap_caps_aligned_alloc(64, SIZE_MAX, MALLOC_CAP_DMA));
    expect_reported(1, SIZE_MAX, MALLOC_CAP_DMA, "heap_caps_aligned_alloc");
    void *a1 = heap_caps_aligned_alloc(1, 10, MALLOC_CAP_DMA);
    void *a2 = heap_caps_aligned_alloc(2, 10, MALLOC_CAP_DMA);
    assert_non_null(a1);
    assert_non_null(a2);
    heap_caps_aligned_free(a1);
    heap_caps_free(a2);

    /* malloc_prefer and realloc_prefer: size 0 is no failure; with no caps
     * set the report names MALLOC_CAP_DEFAULT; otherwise the last set. */
    expect_quiet(heap_caps_malloc_prefer(0, 2, MALLOC_CAP_DMA, MALLOC_CAP_8BIT));
    assert_null(heap_caps_malloc_prefer(16, 0));
    expect_reported(1, 16, MALLOC_CAP_DEFAULT, "heap_caps_malloc_prefer");
    assert_null(heap_caps_malloc_prefer(16, 2, MALLOC_CAP_PID3, MALLOC_CAP_SPM));
    expect_reported(1, 16, MALLOC_CAP_SPM, "heap_caps_malloc_prefer");
    expect_quiet(heap_caps_realloc_prefer(NULL, 0, 1, MALLOC_CAP_8BIT));
    assert_null(heap_caps_realloc_prefer(NULL, 16, 2, MALLOC_CAP_SPM, MALLOC_CAP_PID3));
    expect_reported(1, 16, MALLOC_CAP_PID3, "heap_caps_realloc_prefer");
    size_t live = used_blocks();
    /* Size 0 with caps sets: the first one frees. With none: nothing is
     * tried, so nothing is freed (and nothing reported). */
    expect_quiet(heap_caps_realloc_prefer(same, 0, 0));
    assert_int_equal(used_blocks(), live);
    assert_int_equal(same[0], 0x3c);
    expect_quiet(heap_caps_realloc_prefer(same, 0, 2, MALLOC_CAP_PID3, MALLOC_CAP_8BIT));
    assert_int_equal(used_blocks(), live - 1);
    assert_int_equal(used_blocks(), 0);
    assert_int_equal(out.writes, 0); /* none of this is misuse */
    ts_output_release();
}

static void test_queries_on_caps_no_heap_has(void **state)
{
    (void)state;
    void *keep = heap_caps_malloc(100, MALLOC_CAP_8BIT);
    /* As ESP-IDF: caps no heap has select none (MALLOC_CAP_INVALID is in
     * test_diagnostics); caps 0 select every heap. */
    const uint32_t absent[] = {MALLOC_CAP_PID3, MALLOC_CAP_SPM | MALLOC_CAP_8BIT,
                               MALLOC_CAP_EXEC | MALLOC_CAP_SPIRAM};
    for (size_t i = 0; i < sizeof absent / sizeof absent[0]; i++) {
        assert_int_equal(heap_caps_get_total_size(absent[i]), 0);
        assert_int_equal(heap_caps_get_free_size(absent[i]), 0);
        assert_int_equal(heap_caps_get_minimum_free_size(absent[i]), 0);
        assert_int_equal(heap_caps_get_largest_free_block(absent[i]), 0);
        multi_heap_info_t info;
        memset(&info, 0xa5, sizeof info);
        heap_caps_get_info(&info, absent[i]);
        multi_heap_info_t zero;
        memset(&zero, 0, sizeof zero);
        assert_memory_equal(&info, &zero, sizeof info);
        block_census_t census;
        memset(&census, 0, sizeof census);
        heap_caps_walk(absent[i], census_cb, &census);
        assert_int_equal(census.heaps, 0);
        assert_true(heap_caps_check_integrity(absent[i], true));
    }
    assert_int_equal(heap_caps_get_total_size(0), rtm_caps_total_size(RTM_CAP_INVALID));
    assert_int_equal(heap_caps_get_largest_free_block(0), rtm_caps_largest_free_block(RTM_CAP_INVALID));
    multi_heap_info_t all;
    heap_caps_get_info(&all, 0);
    assert_int_equal(all.allocated_blocks, 1);
    assert_int_equal(all.total_free_bytes, heap_caps_get_free_size(0));
    /* MALLOC_CAP_DEFAULT is an ordinary bit to the queries: the heaps
     * that list it (SPIRAM, RTCRAM, D/IRAM, DRAM on the ESP32). */
    assert_int_equal(heap_caps_get_total_size(MALLOC_CAP_DEFAULT),
                     rtm_caps_total_size(RTM_CAP_DEFAULT));
    assert_true(heap_caps_get_total_size(MALLOC_CAP_DEFAULT) <
                heap_caps_get_total_size(0));
    heap_caps_free(keep);
}

static void test_multi_heap_edges_as_esp_idf(void **state)
{
    (void)state;
    ts_output_t out;
    ts_output_capture(&out);
    static _Alignas(8) uint8_t mem[4096];
    multi_heap_handle_t h = multi_heap_register(mem, sizeof mem);
    assert_non_null(h);
    size_t free0 = multi_heap_free_size(h);
    /* As ESP-IDF (multi_heap.c over TLSF): NULL for size 0, a NULL heap,
     * alignment 0 or not a power of two; free of NULL does nothing;
     * realloc of NULL allocates, to 0 frees; the queries of a NULL heap
     * give 0 and an all-zero info. */
    assert_null(multi_heap_malloc(h, 0));
    assert_null(multi_heap_malloc(NULL, 16));
    assert_null(multi_heap_aligned_alloc(h, 0, 16));
    assert_null(multi_heap_aligned_alloc(h, 16, 0));
    assert_null(multi_heap_aligned_alloc(h, 16, 48));
    assert_null(multi_heap_aligned_alloc(NULL, 16, 16));
    multi_heap_free(h, NULL);
    multi_heap_aligned_free(h, NULL);
    void *p = multi_heap_realloc(h, NULL, 40);
    assert_non_null(p);
    multi_heap_free(NULL, p); /* ESP-IDF returns at once */
    assert_true(multi_heap_get_allocated_size(h, p) >= 40u);
    assert_null(multi_heap_realloc(h, p, 0));
    assert_int_equal(multi_heap_free_size(h), free0);
    assert_int_equal(multi_heap_get_allocated_size(h, NULL), 0);
    assert_int_equal(multi_heap_free_size(NULL), 0);
    assert_int_equal(multi_heap_minimum_free_size(NULL), 0);
    multi_heap_info_t info;
    memset(&info, 0xa5, sizeof info);
    multi_heap_get_info(NULL, &info);
    multi_heap_info_t zero;
    memset(&zero, 0, sizeof zero);
    assert_memory_equal(&info, &zero, sizeof info);
    assert_int_equal(out.writes, 0);
    assert_int_equal(s_failures.count, 0); /* multi_heap has no callback */
    ts_output_release();
}

static bool never_called(void *block_ptr, size_t block_size, int block_used, void *user_data)
{
    (void)block_ptr;
    (void)block_size;
    (void)block_used;
    (*(unsigned *)user_data)++;
    return true;
}

/* What ESP-IDF v5.5.5 asserts on (or dereferences) returns here: the
 * "bad input" row of docs/caps.md's differences. */
static void test_what_esp_idf_asserts_on(void **state)
{
    (void)state;
    ts_output_t out;
    ts_output_capture(&out);
    int local = 0;
    assert_int_equal(heap_caps_get_allocated_size(NULL), 0);
    assert_int_equal(heap_caps_get_containing_block_size(&local), 0);
    assert_int_equal(out.writes, 0); /* NULL and an address in no block: quiet */
    heap_caps_get_info(NULL, MALLOC_CAP_8BIT);
    heap_caps_walk_all(NULL, NULL);
    /* ESP-IDF returns false quietly for an address in no heap; rtmem says
     * so when asked to print. */
    assert_false(heap_caps_check_integrity_addr((intptr_t)&local, false));
    assert_int_equal(out.writes, 0);
    assert_false(heap_caps_check_integrity_addr((intptr_t)&local, true));
    assert_int_equal(out.writes, 1);
    assert_non_null(strstr(out.last, "in no region"));

    static _Alignas(8) uint8_t mem[2048];
    multi_heap_handle_t h = multi_heap_register(mem, sizeof mem);
    assert_non_null(h);
    void *p = multi_heap_malloc(h, 32);
    assert_non_null(p);
    unsigned calls = 0;
    assert_null(multi_heap_realloc(NULL, p, 64));
    assert_false(multi_heap_check(NULL, false));
    multi_heap_walk(NULL, never_called, &calls);
    multi_heap_walk(h, NULL, NULL);
    multi_heap_dump(NULL); /* no line for no heap */
    assert_int_equal(multi_heap_reset_minimum_free_bytes(NULL), 0);
    assert_null(multi_heap_find_containing_block(h, &local));
    assert_null(multi_heap_find_containing_block(NULL, p));
    assert_int_equal(calls, 0);
    assert_int_equal(out.writes, 1);
    assert_true(multi_heap_get_allocated_size(h, p) >= 32u); /* untouched */
    multi_heap_free(h, p);
    ts_output_release();

    /* The callback belongs to the registry it was registered with: a new
     * one (rtm_caps_deinit, a preset's init) starts without it. ESP-IDF
     * has one registry and one callback for the program's life. */
    rtm_caps_deinit();
    assert_int_equal(rtm_preset_esp32_init(NULL), RTM_CAPS_OK);
    assert_null(heap_caps_malloc(16, MALLOC_CAP_PID3));
    assert_int_equal(s_failures.count, 0);
    assert_int_equal(app_install_failure_logger(), ESP_OK);
    assert_null(heap_caps_malloc(16, MALLOC_CAP_PID3));
    assert_int_equal(s_failures.count, 1);
}

static void test_extmem_switch(void **state)
{
    (void)state;
    /* heap_caps_malloc_extmem_enable steers the default (malloc) family. */
    heap_caps_malloc_extmem_enable(4096);
    void *big = rtm_caps_malloc_default(64 * 1024);
    void *small = rtm_caps_malloc_default(64);
    assert_string_equal(region_of(big), "SPIRAM");
    assert_string_equal(region_of(small), "DRAM");
    heap_caps_free(big);
    heap_caps_free(small);
    /* SIZE_MAX is a limit like any other: internal RAM first, then any
     * DEFAULT heap (ESP-IDF on a 32-bit chip reads it as -1, its "off"
     * marker: docs/caps.md, differences). */
    heap_caps_malloc_extmem_enable(SIZE_MAX);
    void *larger_than_internal = rtm_caps_malloc_default(300u * 1024u);
    assert_non_null(larger_than_internal);
    assert_string_equal(region_of(larger_than_internal), "SPIRAM");
    heap_caps_free(larger_than_internal);
    assert_int_equal(s_failures.count, 0);
}

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_values_and_errors),  T(test_dma_driver),       T(test_framebuffer_prefers_psram),
        T(test_log_buffer_realloc), T(test_diagnostics),      T(test_walker),
        T(test_exec_memory),        T(test_aligned),          T(test_private_multi_heap),
        T(test_runtime_region),     T(test_bad_pointers_are_reported), T(test_extmem_switch),
        T(test_hostile_pointers),   T(test_calloc_reports_as_esp_idf),
        T(test_malloc_realloc_edges_as_esp_idf), T(test_queries_on_caps_no_heap_has),
        T(test_multi_heap_edges_as_esp_idf), T(test_what_esp_idf_asserts_on),
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
