/*
 * What each preset's heap has when the application starts (docs/targets.md,
 * "Heap at app start"): the size of every region and, per capability, the
 * total and free bytes right after the one-call init, against the figures
 * the documentation gives.
 *
 * Built twice (tests/CMakeLists.txt): test_preset_boot with the default
 * options, test_preset_boot_variant with RTM_TEST_PRESET_VARIANT=1 and the
 * preset sources compiled into the test with the options changed
 * (Bluetooth on, other image sizes, other PSRAM sizes). The expected
 * numbers are written out, not derived from the options, so a mistake in
 * the presets' arithmetic shows.
 *
 * Free bytes: a region's heap keeps its own control block and block map,
 * so right after init each region's free bytes are those of a lone
 * rtm_heap_init of the documented size (made over the preset's own buffer
 * once the registry is gone); a capability's free size is the sum over the
 * regions the documentation says it selects.
 */
#include "support/test_support.h"

#include <string.h>

#include "rtmem/caps.h"
#include "rtmem/heap.h"
#include "rtmem/presets/esp32.h"
#include "rtmem/presets/esp32s3.h"
#include "rtmem/presets/rp2040.h"
#include "rtmem/presets/stm32h743.h"

#ifndef RTM_TEST_PRESET_VARIANT
#define RTM_TEST_PRESET_VARIANT 0
#endif

typedef struct {
    const char *name;
    size_t size;
} region_size_t;

typedef struct {
    rtm_caps_t caps;
    size_t total;
    const char *regions; /* the regions it selects, "A,B," */
} cap_figure_t;

typedef struct {
    const char *name;
    const rtm_caps_preset_t *table;
    rtm_caps_err_t (*init)(const rtm_caps_config_t *cfg);
    const region_size_t *regions;
    size_t region_count;
    const cap_figure_t *figures;
    size_t figure_count;
} preset_figures_t;

enum { MAX_REGIONS = 8, MAX_FIGURES = 12 };

/* What the preset reported right after init. */
typedef struct {
    size_t region_free[MAX_REGIONS];
    size_t total[MAX_FIGURES];
    size_t free_bytes[MAX_FIGURES];
    size_t min_free[MAX_FIGURES];
} reported_t;

static size_t region_index(const preset_figures_t *p, const char *name, size_t name_len)
{
    for (size_t i = 0; i < p->region_count; i++) {
        if (strlen(p->regions[i].name) == name_len &&
            memcmp(p->regions[i].name, name, name_len) == 0) {
            return i;
        }
    }
    ts_fail("%s: the figure names a region '%.*s' the table lacks", p->name, (int)name_len, name);
    return 0;
}

/* The free bytes of a lone heap made over the preset's own buffer for a
 * region (the registry is gone by then), as large as the documentation
 * says the region is. */
static size_t lone_heap_free(const preset_figures_t *p, size_t index)
{
    const rtm_caps_region_desc_t *desc = NULL;
    for (size_t i = 0; i < p->table->region_count; i++) {
        if (strcmp(p->table->regions[i].name, p->regions[index].name) == 0) {
            desc = &p->table->regions[i];
        }
    }
    assert_non_null(desc);
    assert_true((size_t)((uint8_t *)desc->end - (uint8_t *)desc->start) >= p->regions[index].size);
    rtm_heap_t *heap = rtm_heap_init(desc->start, p->regions[index].size, NULL);
    assert_non_null(heap);
    size_t free_bytes = rtm_heap_free_bytes(heap);
    rtm_heap_deinit(heap);
    return free_bytes;
}

static void check_preset(const preset_figures_t *p)
{
    assert_true(p->region_count <= MAX_REGIONS && p->figure_count <= MAX_FIGURES);
    static reported_t got;
    memset(&got, 0, sizeof got);

    assert_int_equal(p->init(NULL), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_region_count(), p->region_count);
    for (size_t i = 0; i < p->region_count; i++) {
        ts_context("%s region %s", p->name, p->regions[i].name);
        const rtm_caps_region_t *r = rtm_caps_region_find(p->regions[i].name);
        assert_non_null(r);
        assert_int_equal(rtm_caps_region_size(r), p->regions[i].size);
        got.region_free[i] = rtm_heap_free_bytes(rtm_caps_region_heap(r));
    }
    for (size_t i = 0; i < p->figure_count; i++) {
        got.total[i] = rtm_caps_total_size(p->figures[i].caps);
        got.free_bytes[i] = rtm_caps_free_size(p->figures[i].caps);
        got.min_free[i] = rtm_caps_min_free_size(p->figures[i].caps);
    }
    rtm_caps_deinit();

    size_t lone_free[MAX_REGIONS];
    for (size_t i = 0; i < p->region_count; i++) {
        ts_context("%s region %s", p->name, p->regions[i].name);
        lone_free[i] = lone_heap_free(p, i);
        assert_int_equal(got.region_free[i], lone_free[i]);
    }
    for (size_t i = 0; i < p->figure_count; i++) {
        const cap_figure_t *f = &p->figures[i];
        ts_context("%s caps 0x%llx", p->name, (unsigned long long)f->caps);
        size_t listed_total = 0, listed_free = 0;
        for (const char *list = f->regions; *list != '\0';) {
            const char *comma = strchr(list, ',');
            assert_non_null(comma);
            size_t index = region_index(p, list, (size_t)(comma - list));
            listed_total += p->regions[index].size;
            listed_free += lone_free[index];
            list = comma + 1;
        }
        /* The documented figure and its breakdown agree... */
        assert_int_equal(listed_total, f->total);
        /* ...and the preset reported them. */
        assert_int_equal(got.total[i], f->total);
        assert_int_equal(got.free_bytes[i], listed_free);
        assert_int_equal(got.min_free[i], listed_free);
    }
}

#define FIGURES(preset_name, table, init_fn, region_table, figure_table)                          \
    {preset_name, &table, init_fn, region_table, TS_ARRAY_LEN(region_table), figure_table,         \
     TS_ARRAY_LEN(figure_table)}

#if RTM_TEST_PRESET_VARIANT == 0

/* ESP32, defaults: Bluetooth off, the image of ESP-IDF's documented boot
 * log (37,964 B of IRAM code, 11,976 B of .data/.bss), 4 MiB PSRAM. */
static const region_size_t k_esp32_regions[] = {
    {"SPIRAM", 4194304u}, {"RTCRAM", 8192u}, {"RTC_SLOW", 8192u},
    {"IRAM", 93108u},     {"D/IRAM", 128912u}, {"DRAM", 191064u},
};
static const cap_figure_t k_esp32_figures[] = {
    {RTM_CAP_DMA, 319976u, "D/IRAM,DRAM,"},
    {RTM_CAP_EXEC, 230212u, "RTCRAM,IRAM,D/IRAM,"},
    {RTM_CAP_INTERNAL, 429468u, "RTCRAM,RTC_SLOW,IRAM,D/IRAM,DRAM,"},
    {RTM_CAP_32BIT, 4623772u, "SPIRAM,RTCRAM,RTC_SLOW,IRAM,D/IRAM,DRAM,"},
    {RTM_CAP_8BIT, 4530664u, "SPIRAM,RTCRAM,RTC_SLOW,D/IRAM,DRAM,"},
    {RTM_CAP_SPIRAM, 4194304u, "SPIRAM,"},
    {RTM_CAP_DEFAULT, 4522472u, "SPIRAM,RTCRAM,D/IRAM,DRAM,"},
    {RTM_CAP_DEFAULT | RTM_CAP_INTERNAL, 328168u, "RTCRAM,D/IRAM,DRAM,"},
    {0, 4623772u, "SPIRAM,RTCRAM,RTC_SLOW,IRAM,D/IRAM,DRAM,"},
};

/* ESP32-S3, defaults: 16 KiB of IRAM code (all in the IRAM-only block),
 * 43,024 B of .data/.bss, 8 MiB PSRAM. */
static const region_size_t k_esp32s3_regions[] = {
    {"SPIRAM", 8388608u}, {"RTCRAM", 8168u}, {"DRAM", 32768u}, {"RAM", 378404u},
};
static const cap_figure_t k_esp32s3_figures[] = {
    {RTM_CAP_DMA, 411172u, "DRAM,RAM,"},
    {RTM_CAP_EXEC, 0u, ""},
    {RTM_CAP_INTERNAL, 419340u, "RTCRAM,DRAM,RAM,"},
    {RTM_CAP_32BIT, 8807948u, "SPIRAM,RTCRAM,DRAM,RAM,"},
    {RTM_CAP_8BIT, 8807948u, "SPIRAM,RTCRAM,DRAM,RAM,"},
    {RTM_CAP_SPIRAM, 8388608u, "SPIRAM,"},
    {RTM_CAP_DEFAULT, 8807948u, "SPIRAM,RTCRAM,DRAM,RAM,"},
    {RTM_CAP_DEFAULT | RTM_CAP_INTERNAL, 419340u, "RTCRAM,DRAM,RAM,"},
};

#else

/* ESP32 with Bluetooth, 64 KiB of IRAM code, 40,000 B of .data/.bss, no
 * PSRAM. */
static const region_size_t k_esp32_regions[] = {
    {"RTCRAM", 8192u},   {"RTC_SLOW", 8192u}, {"IRAM", 65536u},
    {"D/IRAM", 128912u}, {"DRAM", 124628u},
};
static const cap_figure_t k_esp32_figures[] = {
    {RTM_CAP_DMA, 253540u, "D/IRAM,DRAM,"},
    {RTM_CAP_EXEC, 202640u, "RTCRAM,IRAM,D/IRAM,"},
    {RTM_CAP_INTERNAL, 335460u, "RTCRAM,RTC_SLOW,IRAM,D/IRAM,DRAM,"},
    {RTM_CAP_32BIT, 335460u, "RTCRAM,RTC_SLOW,IRAM,D/IRAM,DRAM,"},
    {RTM_CAP_8BIT, 269924u, "RTCRAM,RTC_SLOW,D/IRAM,DRAM,"},
    {RTM_CAP_SPIRAM, 0u, ""},
    {RTM_CAP_DEFAULT, 261732u, "RTCRAM,D/IRAM,DRAM,"},
};

/* ESP32-S3 with 40,000 B of IRAM code (23,616 B past the IRAM-only block),
 * 100,000 B of .data/.bss, 2 MiB PSRAM. */
static const region_size_t k_esp32s3_regions[] = {
    {"SPIRAM", 2097152u}, {"RTCRAM", 8168u}, {"DRAM", 32768u}, {"RAM", 297812u},
};
static const cap_figure_t k_esp32s3_figures[] = {
    {RTM_CAP_DMA, 330580u, "DRAM,RAM,"},
    {RTM_CAP_EXEC, 0u, ""},
    {RTM_CAP_INTERNAL, 338748u, "RTCRAM,DRAM,RAM,"},
    {RTM_CAP_32BIT, 2435900u, "SPIRAM,RTCRAM,DRAM,RAM,"},
    {RTM_CAP_SPIRAM, 2097152u, "SPIRAM,"},
    {RTM_CAP_DEFAULT, 2435900u, "SPIRAM,RTCRAM,DRAM,RAM,"},
};

#endif

/* STM32H743 and RP2040 have no options that change their figures. */
static const region_size_t k_stm32h743_regions[] = {
    {"DTCM", 131072u},  {"AXI_SRAM", 522752u}, {"SRAM1", 131072u},
    {"SRAM2", 131072u}, {"SRAM3", 32768u},     {"SRAM4", 65536u},
};
static const cap_figure_t k_stm32h743_figures[] = {
    {RTM_CAP_DMA, 883200u, "AXI_SRAM,SRAM1,SRAM2,SRAM3,SRAM4,"},
    {RTM_CAP_EXEC, 817664u, "AXI_SRAM,SRAM1,SRAM2,SRAM3,"},
    {RTM_CAP_INTERNAL, 1014272u, "DTCM,AXI_SRAM,SRAM1,SRAM2,SRAM3,SRAM4,"},
    {RTM_CAP_32BIT, 1014272u, "DTCM,AXI_SRAM,SRAM1,SRAM2,SRAM3,SRAM4,"},
    {RTM_CAP_DEFAULT, 1014272u, "DTCM,AXI_SRAM,SRAM1,SRAM2,SRAM3,SRAM4,"},
    {RTM_CAP_SPM, 131072u, "DTCM,"},
    {RTM_CAP_BDMA, 65536u, "SRAM4,"},
    {RTM_CAP_SPIRAM, 0u, ""},
};

static const region_size_t k_rp2040_regions[] = {
    {"SRAM", 262144u}, {"SCRATCH_X", 2048u}, {"SCRATCH_Y", 2048u},
};
static const cap_figure_t k_rp2040_figures[] = {
    {RTM_CAP_DMA, 266240u, "SRAM,SCRATCH_X,SCRATCH_Y,"},
    {RTM_CAP_EXEC, 266240u, "SRAM,SCRATCH_X,SCRATCH_Y,"},
    {RTM_CAP_INTERNAL, 266240u, "SRAM,SCRATCH_X,SCRATCH_Y,"},
    {RTM_CAP_32BIT, 266240u, "SRAM,SCRATCH_X,SCRATCH_Y,"},
    {RTM_CAP_DEFAULT, 262144u, "SRAM,"},
    {RTM_CAP_SPM, 4096u, "SCRATCH_X,SCRATCH_Y,"},
};

static void test_esp32_at_app_start(void **state)
{
    (void)state;
    const preset_figures_t p =
        FIGURES("esp32", rtm_preset_esp32, rtm_preset_esp32_init, k_esp32_regions, k_esp32_figures);
    check_preset(&p);
#if RTM_TEST_PRESET_VARIANT == 0
    /* ESP-IDF's documented boot log, heap by heap: DMA-capable DRAM and
     * D/IRAM, and EXEC without the RTC fast memory ESP-IDF leaves out. */
    assert_int_equal(rtm_preset_esp32_init(NULL), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_total_size(RTM_CAP_DMA), 0x1920u + 0x2D138u + 0x3AE0u + 0x1BCB0u);
    assert_int_equal(rtm_caps_total_size(RTM_CAP_EXEC) -
                         rtm_caps_region_size(rtm_caps_region_find("RTCRAM")),
                     0x16BB4u + 0x3AE0u + 0x1BCB0u);
    rtm_caps_deinit();
#endif
}

static void test_esp32s3_at_app_start(void **state)
{
    (void)state;
    const preset_figures_t p =
        FIGURES("esp32s3", rtm_preset_esp32s3, rtm_preset_esp32s3_init, k_esp32s3_regions, k_esp32s3_figures);
    check_preset(&p);
#if RTM_TEST_PRESET_VARIANT == 0
    /* The D/IRAM heaps of ESP-IDF's documented S3 boot log (v4.4-dev):
     * 0x3FC92810 + 0x4D7F0 bytes and 0x3FCE0000 + 0xEE34 bytes. */
    assert_int_equal(rtm_preset_esp32s3_init(NULL), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_region_size(rtm_caps_region_find("RAM")), 0x4D7F0u + 0xEE34u);
    rtm_caps_deinit();
#endif
}

static void test_stm32h743_at_app_start(void **state)
{
    (void)state;
    const preset_figures_t p = FIGURES("stm32h743", rtm_preset_stm32h743, rtm_preset_stm32h743_init,
                                       k_stm32h743_regions, k_stm32h743_figures);
    check_preset(&p);
}

static void test_rp2040_at_app_start(void **state)
{
    (void)state;
    const preset_figures_t p =
        FIGURES("rp2040", rtm_preset_rp2040, rtm_preset_rp2040_init, k_rp2040_regions, k_rp2040_figures);
    check_preset(&p);
}

/* The whole of each region is usable: one block of the largest free size
 * fits in the region the capability alone selects, and nothing more. */
static void test_esp32_iram_fills_to_its_figure(void **state)
{
    (void)state;
    assert_int_equal(rtm_preset_esp32_init(NULL), RTM_CAPS_OK);
    const rtm_caps_region_t *iram = rtm_caps_region_find("IRAM");
    rtm_heap_t *heap = rtm_caps_region_heap(iram);
    size_t largest = rtm_heap_largest_free(heap);
    assert_true(largest > rtm_caps_region_size(iram) - rtm_caps_region_size(iram) / 32u);
    void *block = rtm_malloc(heap, largest);
    assert_non_null(block);
    assert_null(rtm_malloc(heap, 64));
    rtm_caps_free(block);
    rtm_caps_deinit();
}

/* A failed check leaves the registry active: end it, so the next test
 * starts clean. */
static int end_registry(void **state)
{
    (void)state;
    rtm_caps_deinit();
    return 0;
}

#define BOOT_TEST(fn) cmocka_unit_test_teardown(fn, end_registry)

int main(void)
{
    const struct CMUnitTest tests[] = {
        BOOT_TEST(test_esp32_at_app_start),
        BOOT_TEST(test_esp32s3_at_app_start),
        BOOT_TEST(test_stm32h743_at_app_start),
        BOOT_TEST(test_rp2040_at_app_start),
        BOOT_TEST(test_esp32_iram_fills_to_its_figure),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
