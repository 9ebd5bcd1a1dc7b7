/*
 * Tests for include/rtmem/caps.h and the presets.
 *
 * Most tests run on the ESP32 preset (what ESP-IDF's heap has at app
 * start, as host buffers) and check that blocks land where ESP-IDF's heap_caps would put
 * them: requests are repeated until the memory runs out, and the sequence of
 * regions the blocks came from is compared with the one the priority tables
 * dictate. Registry mechanics (add_region checks, the address index, the
 * selection rule in isolation) run on small registries in static buffers.
 */
#if !defined(_POSIX_C_SOURCE)
#define _POSIX_C_SOURCE 200809L /* pthreads */
#endif

#include "support/test_support.h"

#include <stdio.h>
#include <string.h>

#include "rtmem/caps.h"
#include "rtmem/presets/esp32.h"
#include "rtmem/presets/esp32s3.h"
#include "rtmem/presets/generic.h"
#include "rtmem/presets/rp2040.h"
#include "rtmem/presets/stm32h743.h"

#if defined(RTM_PORT_POSIX)
#include <pthread.h>
#include <sched.h>
#include <stdatomic.h>
#endif

#define KIB 1024u

/* The presets' regions at their default options, in bytes, as
 * docs/targets.md documents them (what the vendor SDK leaves the heap when
 * the application starts); tests/test_preset_boot.c checks every
 * capability and the option variants. */
#define ESP32_IRAM 93108u    /* 128 KiB less 37,964 B of IRAM code */
#define ESP32_DIRAM 128912u  /* 128 KiB less the ROM's 1,088 + 1,072 B */
#define ESP32_DRAM 191064u   /* 6,432 + 196,608 less 11,976 B of .data/.bss */
#define ESP32S3_RAM 378404u  /* 421,428 less 43,024 B of .data/.bss */
#define ESP32S3_DRAM 32768u
#define ESP32S3_RTCRAM 8168u /* 8 KiB less the RTC timer's 24 B */

/* ------------------------------------------------------------------ */
/* Hook recorder                                                       */

typedef struct rec {
    unsigned failed;
    size_t failed_size;
    rtm_caps_t failed_caps;
    char failed_fn[64];
    unsigned misuse;
    const rtm_caps_region_t *misuse_region;
    rtm_misuse_t misuse_kind;
    const void *misuse_address;
} rec_t;

static rec_t g_rec;

static void rec_clear(void)
{
    memset(&g_rec, 0, sizeof g_rec);
}

static void on_failed(size_t size, rtm_caps_t caps, const char *fn, void *ctx)
{
    rec_t *r = ctx;
    r->failed++;
    r->failed_size = size;
    r->failed_caps = caps;
    (void)snprintf(r->failed_fn, sizeof r->failed_fn, "%s", fn);
    /* Hooks run with no lock held: calling back in must not deadlock. */
    (void)rtm_caps_free_size(RTM_CAP_INVALID);
}

static void on_misuse(const rtm_caps_region_t *region, rtm_misuse_t kind, const void *address,
                      void *ctx)
{
    rec_t *r = ctx;
    r->misuse++;
    r->misuse_region = region;
    r->misuse_kind = kind;
    r->misuse_address = address;
    (void)rtm_caps_region_count();
}

static rtm_caps_config_t hooked_config(void)
{
    rtm_caps_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.on_alloc_failed = on_failed;
    cfg.alloc_failed_ctx = &g_rec;
    cfg.on_misuse = on_misuse;
    cfg.misuse_ctx = &g_rec;
    return cfg;
}

static void expect_failed_at(unsigned count, size_t size, rtm_caps_t caps, const char *fn,
                             const char *file, int line)
{
    if (g_rec.failed != count) {
        ts_fail_at(file, line, "failed-allocation hook ran %u times, expected %u", g_rec.failed,
                   count);
    }
    if (count > 0 && (g_rec.failed_size != size || g_rec.failed_caps != caps ||
                      strcmp(g_rec.failed_fn, fn) != 0)) {
        ts_fail_at(file, line, "hook got (%zu, 0x%llx, %s), expected (%zu, 0x%llx, %s)",
                   g_rec.failed_size, (unsigned long long)g_rec.failed_caps, g_rec.failed_fn, size,
                   (unsigned long long)caps, fn);
    }
    if (g_rec.misuse != 0) {
        ts_fail_at(file, line, "unexpected misuse report");
    }
    rec_clear();
}
#define expect_failed(size, caps, fn) expect_failed_at(1, (size), (caps), (fn), __FILE__, __LINE__)
#define expect_no_hooks()                                                                      \
    do {                                                                                       \
        expect_failed_at(0, 0, 0, "", __FILE__, __LINE__);                                     \
    } while (0)

static void expect_misuse_at(const char *region, rtm_misuse_t kind, const void *address,
                             const char *file, int line)
{
    if (g_rec.misuse != 1) {
        ts_fail_at(file, line, "misuse hook ran %u times, expected once", g_rec.misuse);
    }
    const char *got = g_rec.misuse_region == NULL ? NULL : rtm_caps_region_name(g_rec.misuse_region);
    bool region_ok = region == NULL ? got == NULL : (got != NULL && strcmp(got, region) == 0);
    if (!region_ok || g_rec.misuse_kind != kind || g_rec.misuse_address != address) {
        ts_fail_at(file, line, "misuse (%s, %s, %p), expected (%s, %s, %p)",
                   got != NULL ? got : "no region", rtm_misuse_str(g_rec.misuse_kind),
                   g_rec.misuse_address, region != NULL ? region : "no region",
                   rtm_misuse_str(kind), address);
    }
    if (g_rec.failed != 0) {
        ts_fail_at(file, line, "a misuse also ran the failed-allocation hook");
    }
    rec_clear();
}
#define expect_misuse(region, kind, address)                                                   \
    expect_misuse_at((region), (kind), (address), __FILE__, __LINE__)

/* ------------------------------------------------------------------ */
/* Region helpers                                                      */

static const char *region_name_of(const void *p)
{
    const rtm_caps_region_t *r = rtm_caps_region_of(p);
    return r != NULL ? rtm_caps_region_name(r) : "(none)";
}

static void expect_in_at(const void *p, const char *name, const char *file, int line)
{
    if (p == NULL) {
        ts_fail_at(file, line, "allocation failed, expected a block in %s", name);
    }
    if (strcmp(region_name_of(p), name) != 0) {
        ts_fail_at(file, line, "block %p is in %s, expected %s", p, region_name_of(p), name);
    }
}
#define expect_in(p, name) expect_in_at((p), (name), __FILE__, __LINE__)

static rtm_heap_t *heap_named(const char *name)
{
    rtm_heap_t *h = rtm_caps_region_heap(rtm_caps_region_find(name));
    if (h == NULL) {
        ts_fail("no region named %s", name);
    }
    return h;
}

static rtm_heap_info_t info_named(const char *name)
{
    rtm_heap_info_t info;
    memset(&info, 0, sizeof info);
    assert_true(rtm_heap_info(heap_named(name), &info));
    return info;
}

/* Failed attempts and allocations of every region, to see which regions a
 * request touched. */
#define MAX_REGIONS 80u
typedef struct touch {
    size_t n;
    size_t failed[MAX_REGIONS];
    size_t allocs[MAX_REGIONS];
} touch_t;

static touch_t touch_now(void)
{
    touch_t t;
    memset(&t, 0, sizeof t);
    t.n = rtm_caps_region_count();
    assert_true(t.n <= MAX_REGIONS);
    for (size_t i = 0; i < t.n; i++) {
        rtm_heap_info_t info;
        assert_true(rtm_heap_info(rtm_caps_region_heap(rtm_caps_region_at(i)), &info));
        t.failed[i] = info.failed_count;
        t.allocs[i] = info.alloc_count;
    }
    return t;
}

/* Which regions failed one more attempt since `before`, as "A,B,". */
static void touched_since(const touch_t *before, char *out, size_t cap)
{
    touch_t now = touch_now();
    out[0] = '\0';
    for (size_t i = 0; i < now.n; i++) {
        size_t d = now.failed[i] - before->failed[i];
        if (d == 0) {
            continue;
        }
        char item[48];
        (void)snprintf(item, sizeof item, "%s%s,", rtm_caps_region_name(rtm_caps_region_at(i)),
                       d > 1 ? "(x2+)" : "");
        strncat(out, item, cap - strlen(out) - 1u);
    }
}

/* Allocates chunk-sized blocks with one allocator until it fails, and
 * records the regions they came from in order of first use. Memory is
 * never freed, so once a region has no room for a chunk it never has again:
 * the sequence is exactly the order in which regions are used up. Every
 * block must lie in a region that has all of `must_have`. */
typedef void *(*alloc_fn)(size_t size, rtm_caps_t caps);

typedef struct sequence {
    char text[256]; /* "DRAM,RTCRAM," */
    size_t blocks;
} sequence_t;

static sequence_t exhaust(alloc_fn alloc, size_t chunk, rtm_caps_t caps, rtm_caps_t must_have)
{
    sequence_t s;
    memset(&s, 0, sizeof s);
    const rtm_caps_region_t *seen[MAX_REGIONS];
    size_t nseen = 0;
    for (;;) {
        uint8_t *p = alloc(chunk, caps);
        if (p == NULL) {
            break;
        }
        const rtm_caps_region_t *r = rtm_caps_region_of(p);
        if (r == NULL || !rtm_caps_region_matches(r, must_have)) {
            ts_fail("block from %s lacks caps 0x%llx", rtm_caps_region_name(r),
                    (unsigned long long)must_have);
        }
        p[0] = 0x5a; /* the block is real memory */
        p[chunk - 1u] = 0xa5;
        if (nseen == 0 || seen[nseen - 1u] != r) {
            for (size_t i = 0; i < nseen; i++) {
                if (seen[i] == r) {
                    ts_fail("region %s used again after another region", rtm_caps_region_name(r));
                }
            }
            assert_true(nseen < MAX_REGIONS);
            seen[nseen++] = r;
            strncat(s.text, rtm_caps_region_name(r), sizeof s.text - strlen(s.text) - 2u);
            strcat(s.text, ",");
        }
        s.blocks++;
    }
    return s;
}

static void *alloc_caps(size_t size, rtm_caps_t caps)
{
    return rtm_caps_malloc(size, caps);
}

static void *alloc_default(size_t size, rtm_caps_t caps)
{
    (void)caps;
    return rtm_caps_malloc_default(size);
}

#define expect_sequence(seq, expected)                                                         \
    do {                                                                                       \
        if (strcmp((seq).text, (expected)) != 0) {                                             \
            ts_fail("regions used in order '%s', expected '%s'", (seq).text, (expected));      \
        }                                                                                      \
    } while (0)

/* ------------------------------------------------------------------ */
/* Fixtures                                                            */

static int setup_esp32(void **state)
{
    (void)state;
    rec_clear();
    rtm_caps_config_t cfg = hooked_config();
    if (rtm_preset_esp32_init(&cfg) != RTM_CAPS_OK) {
        return -1;
    }
    return 0;
}

static int teardown_caps(void **state)
{
    (void)state;
    rtm_caps_deinit();
    ts_output_release();
    rec_clear();
    return 0;
}

static int setup_none(void **state)
{
    (void)state;
    rec_clear();
    rtm_caps_deinit(); /* whatever a failed test left */
    return 0;
}

/* ------------------------------------------------------------------ */
/* Capability values and the ESP32 table                               */

static void test_cap_values_are_esp_idf(void **state)
{
    (void)state;
    /* The values of ESP-IDF's esp_heap_caps.h, written out. */
    assert_true(RTM_CAP_EXEC == 0x1u);
    assert_true(RTM_CAP_32BIT == 0x2u);
    assert_true(RTM_CAP_8BIT == 0x4u);
    assert_true(RTM_CAP_DMA == 0x8u);
    assert_true(RTM_CAP_PID2 == 0x10u);
    assert_true(RTM_CAP_PID7 == 0x200u);
    assert_true(RTM_CAP_SPIRAM == 0x400u);
    assert_true(RTM_CAP_INTERNAL == 0x800u);
    assert_true(RTM_CAP_DEFAULT == 0x1000u);
    assert_true(RTM_CAP_IRAM_8BIT == 0x2000u);
    assert_true(RTM_CAP_RETENTION == 0x4000u);
    assert_true(RTM_CAP_RTCRAM == 0x8000u);
    assert_true(RTM_CAP_SPM == 0x10000u);
    assert_true(RTM_CAP_DMA_DESC_AHB == 0x20000u);
    assert_true(RTM_CAP_DMA_DESC_AXI == 0x40000u);
    assert_true(RTM_CAP_CACHE_ALIGNED == 0x80000u);
    assert_true(RTM_CAP_SIMD == 0x100000u);
    assert_true(RTM_CAP_SPIRAM_NO_ENC == 0x200000u);
    assert_true(RTM_CAP_INVALID == 0x80000000u);
    /* User and rtmem bits stay clear of the 32 ESP-IDF bits. */
    assert_true((RTM_CAP_USER(0) & 0xffffffffu) == 0);
    assert_true(RTM_CAP_USER(23) < RTM_CAP_RTC_SLOW);
    assert_true((RTM_CAP_RTC_SLOW & 0xffffffffu) == 0 && (RTM_CAP_BDMA & 0xffffffffu) == 0);
}

static void test_esp32_table(void **state)
{
    (void)state;
    static const struct {
        const char *name;
        size_t size;
        uint64_t caps[3];
    } expected[] = {
        /* components/heap/port/esp32/memory_layout.c, as numbers */
        {"SPIRAM", 4096u * KIB, {0x1400u, 0, 0x6u}},
        {"RTCRAM", 8u * KIB, {0x8000u, 0x1004u, 0x803u}},
        {"RTC_SLOW", 8u * KIB, {RTM_CAP_RTC_SLOW, 0, 0x806u}},
        {"IRAM", ESP32_IRAM, {0x803u, 0, 0}},
        {"D/IRAM", ESP32_DIRAM, {0, 0x180cu, 0x3u}},
        {"DRAM", ESP32_DRAM, {0x1004u, 0x80au, 0}},
    };
    assert_int_equal(rtm_caps_region_count(), TS_ARRAY_LEN(expected));
    for (size_t i = 0; i < TS_ARRAY_LEN(expected); i++) {
        const rtm_caps_region_t *r = rtm_caps_region_at(i);
        ts_context("row %zu", i);
        assert_string_equal(rtm_caps_region_name(r), expected[i].name);
        assert_int_equal(rtm_caps_region_size(r), expected[i].size);
        for (unsigned p = 0; p < 3; p++) {
            assert_true(rtm_caps_region_caps(r, p) == expected[i].caps[p]);
        }
        assert_true(rtm_caps_region_caps(r, 3) == 0);
        assert_ptr_equal(rtm_caps_region_find(expected[i].name), r);
        assert_ptr_equal(rtm_caps_region_of(rtm_caps_region_start(r)), r);
        assert_ptr_equal(rtm_caps_region_of((const uint8_t *)rtm_caps_region_end(r) - 1), r);
    }
    assert_null(rtm_caps_region_at(TS_ARRAY_LEN(expected)));
    assert_null(rtm_caps_region_find("PSRAM"));
    assert_true(rtm_caps_check_all(false, NULL));
}

/* ------------------------------------------------------------------ */
/* Selection on the ESP32 preset                                       */

static void test_esp32_default_prefers_dram(void **state)
{
    (void)state;
    void *p = rtm_caps_malloc_default(100);
    expect_in(p, "DRAM");
    rtm_caps_free(p);

    /* DRAM first (DEFAULT at its level 0), then the level-1 candidates in
     * search order: RTCRAM, D/IRAM. Never PSRAM: the policy is off. */
    sequence_t s = exhaust(alloc_default, 4096, 0, RTM_CAP_DEFAULT | RTM_CAP_INTERNAL);
    expect_sequence(s, "DRAM,RTCRAM,D/IRAM,");
    expect_failed(4096, RTM_CAP_DEFAULT | RTM_CAP_INTERNAL, "rtm_caps_malloc_default");

    rtm_heap_info_t psram = info_named("SPIRAM");
    assert_null(rtm_caps_malloc_default(100 * KIB));
    expect_failed(100 * KIB, RTM_CAP_DEFAULT | RTM_CAP_INTERNAL, "rtm_caps_malloc_default");
    rtm_heap_info_t after = info_named("SPIRAM");
    assert_int_equal(after.alloc_count, psram.alloc_count);
    assert_int_equal(after.failed_count, psram.failed_count); /* not even tried */
    assert_int_equal(info_named("IRAM").alloc_count, 0);
}

static void test_esp32_extmem_policy(void **state)
{
    (void)state;
    /* Off (default): a large default request stays internal. */
    void *big = rtm_caps_malloc_default(100 * KIB);
    expect_in(big, "DRAM");
    rtm_caps_free(big);

    rtm_caps_extmem_enable(16 * KIB);
    void *at_limit = rtm_caps_malloc_default(16 * KIB);
    void *above = rtm_caps_malloc_default(16 * KIB + 1u);
    void *small = rtm_caps_malloc_default(64);
    void *big_calloc = rtm_caps_calloc_default(1000, 100);
    void *big_aligned = rtm_caps_aligned_alloc_default(256, 64 * KIB);
    expect_in(at_limit, "DRAM"); /* <= limit: internal */
    expect_in(above, "SPIRAM");  /* > limit: external first */
    expect_in(small, "DRAM");
    expect_in(big_calloc, "SPIRAM");
    expect_in(big_aligned, "SPIRAM");
    assert_true(((uintptr_t)big_aligned & 255u) == 0);
    for (size_t i = 0; i < 100000u; i++) {
        assert_int_equal(((const uint8_t *)big_calloc)[i], 0);
    }
    expect_no_hooks();

    /* PSRAM full: a large request falls back to plain DEFAULT, whose
     * level 0 holds SPIRAM (full) and DRAM. */
    void *rest;
    while ((rest = rtm_caps_malloc(rtm_caps_largest_free_block(RTM_CAP_SPIRAM), RTM_CAP_SPIRAM)) !=
           NULL) {
        expect_in(rest, "SPIRAM");
    }
    rec_clear(); /* the last, empty attempt */
    void *fallback = rtm_caps_malloc_default(20 * KIB);
    expect_in(fallback, "DRAM");

    /* Internal full too: small requests fall back the other way, to PSRAM. */
    rtm_caps_free(above);
    (void)exhaust(alloc_caps, 1024, RTM_CAP_DEFAULT | RTM_CAP_INTERNAL, RTM_CAP_INTERNAL);
    (void)exhaust(alloc_caps, 8, RTM_CAP_DEFAULT | RTM_CAP_INTERNAL, RTM_CAP_INTERNAL);
    rec_clear();
    void *spill = rtm_caps_malloc_default(512);
    expect_in(spill, "SPIRAM");
    expect_no_hooks();

    /* Every candidate full: one report, with DEFAULT (policy on). */
    assert_null(rtm_caps_malloc_default(512 * KIB));
    expect_failed(512 * KIB, RTM_CAP_DEFAULT, "rtm_caps_malloc_default");

    /* Off again: small default requests no longer spill to PSRAM. */
    rtm_caps_extmem_disable();
    rtm_caps_free(spill);
    assert_null(rtm_caps_malloc_default(512));
    expect_failed(512, RTM_CAP_DEFAULT | RTM_CAP_INTERNAL, "rtm_caps_malloc_default");
}

static void test_esp32_dma_never_psram_or_iram(void **state)
{
    (void)state;
    /* DMA sits at level 1 of D/IRAM and DRAM only; D/IRAM comes first in the
     * search order (smaller). */
    sequence_t s = exhaust(alloc_caps, 4096, RTM_CAP_DMA, RTM_CAP_DMA);
    expect_sequence(s, "D/IRAM,DRAM,");
    expect_failed(4096, RTM_CAP_DMA, "rtm_caps_malloc");
    assert_int_equal(info_named("SPIRAM").alloc_count, 0);
    assert_int_equal(info_named("IRAM").alloc_count, 0);
    assert_int_equal(info_named("RTCRAM").alloc_count, 0);
    assert_int_equal(info_named("SPIRAM").failed_count, 0);
    assert_int_equal(info_named("IRAM").failed_count, 0);
    /* PSRAM still has megabytes, yet DMA | 8BIT fails too. */
    assert_true(rtm_caps_free_size(RTM_CAP_SPIRAM) > 4000u * KIB);
    assert_null(rtm_caps_malloc(4096, RTM_CAP_DMA | RTM_CAP_8BIT));
    expect_failed(4096, RTM_CAP_DMA | RTM_CAP_8BIT, "rtm_caps_malloc");
}

static void test_esp32_dma_8bit(void **state)
{
    (void)state;
    /* 8BIT sits at DRAM's level 0, so DMA | 8BIT starts there. */
    sequence_t s = exhaust(alloc_caps, 4096, RTM_CAP_DMA | RTM_CAP_8BIT, RTM_CAP_DMA);
    expect_sequence(s, "DRAM,D/IRAM,");
    expect_failed(4096, RTM_CAP_DMA | RTM_CAP_8BIT, "rtm_caps_malloc");
}

static void test_esp32_exec(void **state)
{
    (void)state;
    /* EXEC|8BIT and EXEC|DMA cannot be served by the 32-bit-only IRAM bus:
     * refused before any region is tried, and reported once. */
    touch_t before = touch_now();
    assert_null(rtm_caps_malloc(64, RTM_CAP_EXEC | RTM_CAP_8BIT));
    expect_failed(64, RTM_CAP_EXEC | RTM_CAP_8BIT, "rtm_caps_malloc");
    assert_null(rtm_caps_malloc(64, RTM_CAP_EXEC | RTM_CAP_DMA));
    expect_failed(64, RTM_CAP_EXEC | RTM_CAP_DMA, "rtm_caps_malloc");
    char touched[256];
    touched_since(&before, touched, sizeof touched);
    assert_string_equal(touched, "");

    /* IRAM first; then the level-2 EXEC regions (RTCRAM, D/IRAM, reached
     * through their instruction-bus aliases on the chip); never DRAM or
     * PSRAM. */
    void *code = rtm_caps_malloc(100, RTM_CAP_EXEC);
    expect_in(code, "IRAM");
    rtm_caps_free(code);
    sequence_t s = exhaust(alloc_caps, 2048, RTM_CAP_EXEC, RTM_CAP_EXEC | RTM_CAP_32BIT);
    expect_sequence(s, "IRAM,RTCRAM,D/IRAM,");
    /* The request was widened to EXEC|32BIT before the selection. */
    expect_failed(2048, RTM_CAP_EXEC, "rtm_caps_malloc");
    assert_int_equal(info_named("DRAM").alloc_count, 0);
    assert_int_equal(info_named("SPIRAM").alloc_count, 0);
}

static void test_esp32_8bit_never_iram(void **state)
{
    (void)state;
    sequence_t s = exhaust(alloc_caps, 4096, RTM_CAP_8BIT, RTM_CAP_8BIT);
    /* level 0: DRAM; level 1: RTCRAM, D/IRAM; level 2: SPIRAM, RTC_SLOW. */
    expect_sequence(s, "DRAM,RTCRAM,D/IRAM,SPIRAM,RTC_SLOW,");
    expect_failed(4096, RTM_CAP_8BIT, "rtm_caps_malloc");
    assert_int_equal(info_named("IRAM").alloc_count, 0);
    assert_int_equal(info_named("IRAM").failed_count, 0);
    /* IRAM is still empty and 32-bit requests get it. */
    expect_in(rtm_caps_malloc(64, RTM_CAP_32BIT), "IRAM");
}

static void test_esp32_single_cap_requests(void **state)
{
    (void)state;
    expect_in(rtm_caps_malloc(64, RTM_CAP_32BIT), "IRAM");
    expect_in(rtm_caps_malloc(64, RTM_CAP_INTERNAL), "IRAM"); /* ESP-IDF does the same */
    expect_in(rtm_caps_malloc(64, RTM_CAP_INTERNAL | RTM_CAP_8BIT), "DRAM");
    expect_in(rtm_caps_malloc(64, RTM_CAP_DEFAULT), "SPIRAM"); /* level 0, first in order */
    expect_in(rtm_caps_malloc(64, RTM_CAP_SPIRAM), "SPIRAM");
    expect_in(rtm_caps_malloc(64, RTM_CAP_RTCRAM), "RTCRAM");
    expect_in(rtm_caps_malloc(64, RTM_CAP_RTC_SLOW), "RTC_SLOW");
    expect_in(rtm_caps_malloc(64, RTM_CAP_RTC_SLOW | RTM_CAP_8BIT), "RTC_SLOW");
    expect_in(rtm_caps_malloc(64, RTM_CAP_DMA), "D/IRAM");
    expect_no_hooks();
    /* Nothing has these. */
    assert_null(rtm_caps_malloc(64, RTM_CAP_SPM));
    expect_failed(64, RTM_CAP_SPM, "rtm_caps_malloc");
    assert_null(rtm_caps_malloc(64, RTM_CAP_SPIRAM | RTM_CAP_DMA));
    expect_failed(64, RTM_CAP_SPIRAM | RTM_CAP_DMA, "rtm_caps_malloc");
    assert_null(rtm_caps_malloc(64, RTM_CAP_INVALID));
    expect_failed(64, RTM_CAP_INVALID, "rtm_caps_malloc");
    /* caps 0 matches no region (the rule needs a bit at some level). */
    assert_null(rtm_caps_malloc(64, 0));
    expect_failed(64, 0, "rtm_caps_malloc");
    /* size 0 is not a failure. */
    assert_null(rtm_caps_malloc(0, RTM_CAP_DMA));
    assert_null(rtm_caps_malloc_default(0));
    assert_null(rtm_caps_calloc(0, 8, RTM_CAP_DMA));
    assert_null(rtm_caps_calloc(8, 0, RTM_CAP_DMA));
    expect_no_hooks();
}

static void test_esp32_cache_aligned(void **state)
{
    (void)state;
    uint8_t *p = rtm_caps_malloc(33, RTM_CAP_DMA | RTM_CAP_CACHE_ALIGNED);
    expect_in(p, "D/IRAM");
    assert_true(((uintptr_t)p & 31u) == 0);
    assert_true(rtm_caps_usable_size(p) >= 64u); /* size rounded to whole lines */
    uint8_t *q = rtm_caps_aligned_alloc(128, 10, RTM_CAP_SPIRAM | RTM_CAP_CACHE_ALIGNED);
    expect_in(q, "SPIRAM");
    assert_true(((uintptr_t)q & 127u) == 0); /* the larger alignment wins */
    expect_no_hooks();
}

static void test_esp32_aligned_and_calloc(void **state)
{
    (void)state;
    static const rtm_caps_t caps[] = {RTM_CAP_DMA, RTM_CAP_EXEC, RTM_CAP_SPIRAM, RTM_CAP_8BIT};
    for (size_t i = 0; i < TS_ARRAY_LEN(caps); i++) {
        for (size_t a = 8; a <= 4096; a <<= 1) {
            uint8_t *p = rtm_caps_aligned_alloc(a, 100, caps[i]);
            assert_non_null(p);
            assert_true(((uintptr_t)p % a) == 0);
            assert_true(rtm_caps_region_matches(rtm_caps_region_of(p), caps[i]));
            rtm_caps_free(p);
        }
    }
    expect_no_hooks();
    /* Bad alignment: NULL, no report (as ESP-IDF). */
    assert_null(rtm_caps_aligned_alloc(0, 100, RTM_CAP_DMA));
    assert_null(rtm_caps_aligned_alloc(24, 100, RTM_CAP_DMA));
    assert_null(rtm_caps_aligned_alloc_default(3, 100));
    expect_no_hooks();

    uint8_t *z = rtm_caps_malloc(256, RTM_CAP_8BIT);
    memset(z, 0xee, 256);
    rtm_caps_free(z);
    uint32_t *c = rtm_caps_calloc(64, sizeof(uint32_t), RTM_CAP_8BIT);
    expect_in(c, "DRAM");
    for (size_t i = 0; i < 64; i++) {
        assert_int_equal(c[i], 0);
    }
    assert_null(rtm_caps_calloc(SIZE_MAX / 2u, 4, RTM_CAP_8BIT));
    expect_failed(SIZE_MAX, RTM_CAP_8BIT, "rtm_caps_calloc");
    assert_null(rtm_caps_calloc_default(SIZE_MAX / 2u, 4));
    expect_failed(SIZE_MAX, RTM_CAP_DEFAULT | RTM_CAP_INTERNAL, "rtm_caps_calloc_default");
}

/* ------------------------------------------------------------------ */
/* realloc across caps                                                 */

static void fill(uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        p[i] = (uint8_t)(seed + i * 7u);
    }
}

static void expect_filled(const uint8_t *p, size_t n, uint8_t seed)
{
    for (size_t i = 0; i < n; i++) {
        if (p[i] != (uint8_t)(seed + i * 7u)) {
            ts_fail("contents lost at offset %zu", i);
        }
    }
}

static void test_realloc_across_caps(void **state)
{
    (void)state;
    size_t dram_free = rtm_heap_free_bytes(heap_named("DRAM"));
    uint8_t *p = rtm_caps_malloc(1000, RTM_CAP_8BIT);
    expect_in(p, "DRAM");
    fill(p, 1000, 1);

    /* Same caps, grows inside DRAM. */
    uint8_t *q = rtm_caps_realloc(p, 3000, RTM_CAP_8BIT);
    expect_in(q, "DRAM");
    expect_filled(q, 1000, 1);
    fill(q, 3000, 2);

    /* New caps DRAM lacks: moves to PSRAM, DRAM gets everything back. */
    uint8_t *ext = rtm_caps_realloc(q, 5000, RTM_CAP_SPIRAM);
    expect_in(ext, "SPIRAM");
    expect_filled(ext, 3000, 2);
    assert_int_equal(rtm_heap_free_bytes(heap_named("DRAM")), dram_free);
    fill(ext, 5000, 3);

    /* From PSRAM into DMA memory, shrinking: only 700 bytes survive. */
    uint8_t *dma = rtm_caps_realloc(ext, 700, RTM_CAP_DMA);
    expect_in(dma, "D/IRAM");
    expect_filled(dma, 700, 3);
    assert_int_equal(info_named("SPIRAM").used_blocks, 0);

    /* Caps the block's region already has: it stays, even though a fresh
     * 8BIT request would prefer DRAM (ESP-IDF does the same). */
    uint8_t *stay = rtm_caps_realloc(dma, 900, RTM_CAP_8BIT);
    expect_in(stay, "D/IRAM");
    expect_filled(stay, 700, 3);

    /* Via PSRAM into IRAM with EXEC (32-bit widened), then to 8BIT memory. */
    uint8_t *out = rtm_caps_realloc(stay, 700, RTM_CAP_SPIRAM);
    expect_in(out, "SPIRAM");
    uint8_t *code = rtm_caps_realloc(out, 700, RTM_CAP_EXEC);
    expect_in(code, "IRAM");
    expect_filled(code, 700, 3);
    uint8_t *back = rtm_caps_realloc(code, 800, RTM_CAP_8BIT);
    expect_in(back, "DRAM");
    expect_filled(back, 700, 3);
    expect_no_hooks();

    /* Impossible growth: NULL, the block unchanged, one report. */
    uint8_t *none = rtm_caps_realloc(back, 400 * KIB, RTM_CAP_DMA);
    assert_null(none);
    expect_failed(400 * KIB, RTM_CAP_DMA, "rtm_caps_realloc");
    expect_in(back, "DRAM");
    expect_filled(back, 700, 3);

    /* NULL = malloc; size 0 = free. */
    uint8_t *fresh = rtm_caps_realloc(NULL, 64, RTM_CAP_RTCRAM);
    expect_in(fresh, "RTCRAM");
    assert_null(rtm_caps_realloc(fresh, 0, RTM_CAP_RTCRAM));
    assert_int_equal(info_named("RTCRAM").used_blocks, 0);
    expect_no_hooks();

    /* The default family follows the policy. */
    rtm_caps_extmem_enable(1024);
    uint8_t *d = rtm_caps_realloc_default(back, 50 * KIB);
    expect_in(d, "SPIRAM");
    expect_filled(d, 700, 3);
    uint8_t *e = rtm_caps_realloc_default(d, 512);
    expect_in(e, "DRAM"); /* <= limit: internal, so it moves back */
    expect_filled(e, 512, 3);
    rtm_caps_free(e);
    assert_true(rtm_caps_check_all(false, NULL));
    expect_no_hooks();
}

static void test_realloc_bad_pointers(void **state)
{
    (void)state;
    int local = 0;
    assert_null(rtm_caps_realloc(&local, 100, RTM_CAP_8BIT));
    expect_misuse(NULL, RTM_MISUSE_FOREIGN_POINTER, &local);
    assert_null(rtm_caps_realloc_default(&local, 100));
    expect_misuse(NULL, RTM_MISUSE_FOREIGN_POINTER, &local);

    uint8_t *p = rtm_caps_malloc(100, RTM_CAP_8BIT);
    assert_null(rtm_caps_realloc(p + 8, 200, RTM_CAP_SPIRAM));
    expect_misuse("DRAM", RTM_MISUSE_INVALID_POINTER, p + 8);
    rtm_caps_free(p);
    assert_null(rtm_caps_realloc(p, 200, RTM_CAP_SPIRAM));
    expect_misuse("DRAM", RTM_MISUSE_DOUBLE_FREE, p);
    assert_int_equal(info_named("SPIRAM").alloc_count, 0); /* nothing moved */
}

/* ------------------------------------------------------------------ */
/* free                                                                */

static void test_free_from_every_region(void **state)
{
    (void)state;
    static const struct {
        rtm_caps_t caps;
        const char *region;
    } cases[] = {
        {RTM_CAP_SPIRAM, "SPIRAM"}, {RTM_CAP_RTCRAM, "RTCRAM"}, {RTM_CAP_RTC_SLOW, "RTC_SLOW"},
        {RTM_CAP_EXEC, "IRAM"},     {RTM_CAP_DMA, "D/IRAM"},    {RTM_CAP_8BIT, "DRAM"},
    };
    size_t free_before[TS_ARRAY_LEN(cases)];
    void *blocks[TS_ARRAY_LEN(cases)][3];
    for (size_t i = 0; i < TS_ARRAY_LEN(cases); i++) {
        free_before[i] = rtm_heap_free_bytes(heap_named(cases[i].region));
        for (size_t k = 0; k < 3; k++) {
            blocks[i][k] = rtm_caps_malloc(64 + 100 * k, cases[i].caps);
            expect_in(blocks[i][k], cases[i].region);
            assert_true(rtm_caps_usable_size(blocks[i][k]) >= 64 + 100 * k);
        }
    }
    /* Freed in an order unrelated to the regions: the owner is found by
     * address every time. */
    for (size_t k = 0; k < 3; k++) {
        for (size_t i = TS_ARRAY_LEN(cases); i-- > 0;) {
            rtm_caps_free(blocks[i][(k + i) % 3]);
        }
    }
    for (size_t i = 0; i < TS_ARRAY_LEN(cases); i++) {
        ts_context("%s", cases[i].region);
        assert_int_equal(rtm_heap_free_bytes(heap_named(cases[i].region)), free_before[i]);
        assert_int_equal(info_named(cases[i].region).used_blocks, 0);
    }
    expect_no_hooks();
    rtm_caps_free(NULL);
    expect_no_hooks();
}

static void test_free_foreign_and_bad(void **state)
{
    (void)state;
    static uint8_t not_heap[64];
    int local = 0;
    rtm_caps_free(&local);
    expect_misuse(NULL, RTM_MISUSE_FOREIGN_POINTER, &local);
    rtm_caps_free(not_heap + 8);
    expect_misuse(NULL, RTM_MISUSE_FOREIGN_POINTER, not_heap + 8);
    assert_int_equal(rtm_caps_usable_size(&local), 0);
    expect_misuse(NULL, RTM_MISUSE_FOREIGN_POINTER, &local);

    uint8_t *p = rtm_caps_malloc(128, RTM_CAP_SPIRAM);
    rtm_caps_free(p + 16);
    expect_misuse("SPIRAM", RTM_MISUSE_INVALID_POINTER, p + 16);
    rtm_caps_free(p);
    expect_no_hooks();
    rtm_caps_free(p);
    expect_misuse("SPIRAM", RTM_MISUSE_DOUBLE_FREE, p);
    /* The region's control block itself is inside the region. */
    const void *start = rtm_caps_region_start(rtm_caps_region_find("IRAM"));
    rtm_caps_free((void *)(uintptr_t)start);
    expect_misuse("IRAM", RTM_MISUSE_INVALID_POINTER, start);
    assert_true(rtm_caps_check_all(false, NULL));

    /* The default misuse hook names the region, or says there is none. */
    ts_output_t out;
    ts_output_capture(&out);
    rtm_caps_set_misuse_hook(NULL, NULL);
    rtm_caps_free(&local);
    assert_int_equal(out.writes, 1);
    assert_non_null(strstr(out.last, "foreign pointer"));
    assert_non_null(strstr(out.last, "in no region"));
    rtm_caps_free(p);
    assert_non_null(strstr(out.last, "double free"));
    assert_non_null(strstr(out.last, "'SPIRAM'"));
    ts_output_release();
}

/* ------------------------------------------------------------------ */
/* Statistics                                                          */

/* The expected totals for caps, computed region by region from the heaps
 * themselves, with the same selection as the queries. */
static rtm_caps_info_t sum_by_hand(rtm_caps_t caps)
{
    rtm_caps_info_t s;
    memset(&s, 0, sizeof s);
    for (size_t i = 0; i < rtm_caps_region_count(); i++) {
        const rtm_caps_region_t *r = rtm_caps_region_at(i);
        if ((caps & RTM_CAP_INVALID) == 0 && (rtm_caps_region_all_caps(r) & caps) != caps) {
            continue;
        }
        rtm_heap_info_t h;
        assert_true(rtm_heap_info(rtm_caps_region_heap(r), &h));
        s.regions++;
        s.total_bytes += rtm_caps_region_size(r);
        s.free_bytes += h.free_bytes;
        s.allocated_bytes += h.allocated_bytes;
        s.min_free_bytes += h.min_free_bytes;
        s.largest_free_block = h.largest_free_block > s.largest_free_block ? h.largest_free_block
                                                                             : s.largest_free_block;
        s.used_blocks += h.used_blocks;
        s.free_blocks += h.free_blocks;
        s.failed_count += h.failed_count;
    }
    return s;
}

static void expect_stats_at(rtm_caps_t caps, const char *file, int line)
{
    rtm_caps_info_t want = sum_by_hand(caps);
    rtm_caps_info_t got;
    if (!rtm_caps_get_info(caps, &got)) {
        ts_fail_at(file, line, "rtm_caps_get_info failed");
    }
    if (got.regions != want.regions || got.total_bytes != want.total_bytes ||
        got.free_bytes != want.free_bytes || got.allocated_bytes != want.allocated_bytes ||
        got.min_free_bytes != want.min_free_bytes ||
        got.largest_free_block != want.largest_free_block || got.used_blocks != want.used_blocks ||
        got.free_blocks != want.free_blocks || got.failed_count != want.failed_count) {
        ts_fail_at(file, line, "caps 0x%llx: info disagrees with the per-region sums",
                   (unsigned long long)caps);
    }
    if (got.free_bytes + got.allocated_bytes + got.overhead_bytes != got.total_bytes) {
        ts_fail_at(file, line, "free + allocated + overhead != total");
    }
    if (rtm_caps_total_size(caps) != want.total_bytes || rtm_caps_free_size(caps) != want.free_bytes ||
        rtm_caps_min_free_size(caps) != want.min_free_bytes ||
        rtm_caps_largest_free_block(caps) != want.largest_free_block) {
        ts_fail_at(file, line, "caps 0x%llx: a single-value query disagrees",
                   (unsigned long long)caps);
    }
}
#define expect_stats(caps) expect_stats_at((caps), __FILE__, __LINE__)

static void test_stats_per_caps(void **state)
{
    (void)state;
    /* Which regions each query selects, by total size. */
    assert_int_equal(rtm_caps_total_size(RTM_CAP_DMA), ESP32_DRAM + ESP32_DIRAM);
    assert_int_equal(rtm_caps_total_size(RTM_CAP_EXEC), ESP32_IRAM + 8u * KIB + ESP32_DIRAM);
    assert_int_equal(rtm_caps_total_size(RTM_CAP_8BIT),
                     (4096u + 8u + 8u) * KIB + ESP32_DIRAM + ESP32_DRAM);
    assert_int_equal(rtm_caps_total_size(RTM_CAP_SPIRAM), 4096u * KIB);
    assert_int_equal(rtm_caps_total_size(RTM_CAP_DEFAULT | RTM_CAP_INTERNAL),
                     8u * KIB + ESP32_DIRAM + ESP32_DRAM);
    assert_int_equal(rtm_caps_total_size(RTM_CAP_SPIRAM | RTM_CAP_DMA), 0);
    size_t everything = (4096u + 8u + 8u) * KIB + ESP32_IRAM + ESP32_DIRAM + ESP32_DRAM;
    assert_int_equal(rtm_caps_total_size(0), everything);
    assert_int_equal(rtm_caps_total_size(RTM_CAP_INVALID), everything);

    static const rtm_caps_t queries[] = {
        0, RTM_CAP_DMA, RTM_CAP_8BIT, RTM_CAP_32BIT, RTM_CAP_EXEC, RTM_CAP_SPIRAM,
        RTM_CAP_DEFAULT | RTM_CAP_INTERNAL, RTM_CAP_INTERNAL, RTM_CAP_SPM,
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(queries); i++) {
        expect_stats(queries[i]);
    }

    /* Allocate here and there, free some: the sums follow. */
    ts_rng_t rng;
    ts_rng_seed(&rng, 42);
    static const rtm_caps_t kinds[] = {RTM_CAP_DMA, RTM_CAP_8BIT, RTM_CAP_EXEC, RTM_CAP_SPIRAM,
                                       RTM_CAP_RTCRAM};
    void *live[200];
    size_t n = 0;
    for (size_t step = 0; step < 600; step++) {
        if (n < TS_ARRAY_LEN(live) && ts_rng_chance(&rng, 65)) {
            rtm_caps_t c = kinds[ts_rng_range(&rng, 0, TS_ARRAY_LEN(kinds) - 1u)];
            void *p = rtm_caps_malloc(ts_rng_log_uniform(&rng, 1, 3000), c);
            if (p != NULL) {
                live[n++] = p;
            }
        } else if (n > 0) {
            size_t k = ts_rng_range(&rng, 0, n - 1u);
            rtm_caps_free(live[k]);
            live[k] = live[--n];
        }
        if (step % 50 == 0) {
            for (size_t i = 0; i < TS_ARRAY_LEN(queries); i++) {
                expect_stats(queries[i]);
            }
        }
    }
    rec_clear(); /* RTCRAM may have filled up */
    rtm_caps_info_t dma;
    assert_true(rtm_caps_get_info(RTM_CAP_DMA, &dma));
    assert_int_equal(dma.regions, 2);
    assert_int_equal(dma.free_bytes, rtm_heap_free_bytes(heap_named("D/IRAM")) +
                                         rtm_heap_free_bytes(heap_named("DRAM")));
    assert_true(dma.min_free_bytes <= dma.free_bytes);

    /* reset_min_free raises the minimum of the selected regions only. */
    size_t spiram_min = rtm_caps_min_free_size(RTM_CAP_SPIRAM);
    rtm_caps_reset_min_free(RTM_CAP_DMA);
    assert_int_equal(rtm_caps_min_free_size(RTM_CAP_DMA), rtm_caps_free_size(RTM_CAP_DMA));
    assert_int_equal(rtm_caps_min_free_size(RTM_CAP_SPIRAM), spiram_min);

    while (n > 0) {
        rtm_caps_free(live[--n]);
    }
    assert_true(rtm_caps_check_all(false, NULL));
    assert_false(rtm_caps_get_info(RTM_CAP_DMA, NULL));
}

static void test_print_summary(void **state)
{
    (void)state;
    void *p = rtm_caps_malloc(1000, RTM_CAP_DMA);
    ts_output_t out;
    ts_output_capture(&out);
    rtm_caps_print_summary(RTM_CAP_DMA);
    /* header + 2 lines for each of the two DMA regions + totals */
    assert_int_equal(out.writes, 6);
    assert_non_null(strstr(out.all, "  D/IRAM at "));
    assert_non_null(strstr(out.all, "  DRAM at "));
    assert_null(strstr(out.all, "  IRAM at "));
    assert_null(strstr(out.all, "SPIRAM"));
    assert_non_null(strstr(out.all, "alloc_blocks 1"));
    char expect[128];
    (void)snprintf(expect, sizeof expect, "totals: regions 2 total %zu free %zu",
                   rtm_caps_total_size(RTM_CAP_DMA), rtm_caps_free_size(RTM_CAP_DMA));
    assert_non_null(strstr(out.all, expect));
    for (const char *line = out.all; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_true((size_t)(nl - line) < RTM_LINE_MAX);
        line = nl + 1;
    }
    ts_output_release();
    rtm_caps_free(p);
}

/* ------------------------------------------------------------------ */
/* The failed-allocation hook                                          */

static void test_failed_hook_once_after_all_candidates(void **state)
{
    (void)state;
    /* 300 KiB of DMA memory: both DMA regions are tried and fail, nothing
     * else is tried, and the hook runs once at the end. */
    touch_t before = touch_now();
    assert_null(rtm_caps_malloc(300 * KIB, RTM_CAP_DMA));
    expect_failed(300 * KIB, RTM_CAP_DMA, "rtm_caps_malloc");
    char touched[256];
    touched_since(&before, touched, sizeof touched);
    assert_string_equal(touched, "D/IRAM,DRAM,");

    /* A region that qualifies at two levels is tried once: DRAM has 8BIT at
     * level 0 and DMA at level 1. */
    before = touch_now();
    assert_null(rtm_caps_malloc(300 * KIB, RTM_CAP_8BIT | RTM_CAP_DMA));
    expect_failed(300 * KIB, RTM_CAP_8BIT | RTM_CAP_DMA, "rtm_caps_malloc");
    touched_since(&before, touched, sizeof touched);
    assert_string_equal(touched, "D/IRAM,DRAM,");

    /* A success on the last candidate: no report. */
    before = touch_now();
    void *p = rtm_caps_malloc(150 * KIB, RTM_CAP_DMA);
    expect_in(p, "DRAM");
    expect_no_hooks();
    touched_since(&before, touched, sizeof touched);
    assert_string_equal(touched, "D/IRAM,");

    /* prefer: the hook once, with the last caps tried. */
    assert_null(rtm_caps_malloc_prefer(300 * KIB, 2, RTM_CAP_DMA, RTM_CAP_RTCRAM));
    expect_failed(300 * KIB, RTM_CAP_RTCRAM, "rtm_caps_malloc_prefer");
    void *q = rtm_caps_malloc_prefer(1000, 3, RTM_CAP_SPM, RTM_CAP_SPIRAM | RTM_CAP_DMA,
                                     RTM_CAP_DMA);
    expect_in(q, "D/IRAM");
    expect_no_hooks();
    /* n smaller than the list: only the first n are tried. */
    assert_null(rtm_caps_malloc_prefer(1000, 1, RTM_CAP_SPM, RTM_CAP_DMA));
    expect_failed(1000, RTM_CAP_SPM, "rtm_caps_malloc_prefer");
    /* n larger than the list: clamped, no read past it. */
    assert_null(rtm_caps_malloc_prefer(1000, 5, RTM_CAP_SPM));
    expect_failed(1000, RTM_CAP_SPM, "rtm_caps_malloc_prefer");
    assert_null(rtm_caps_malloc_prefer_array(1000, NULL, 3));
    expect_failed(1000, RTM_CAP_DEFAULT, "rtm_caps_malloc_prefer");

    /* The _ex building blocks: a name, or silence. */
    assert_null(rtm_caps_alloc_ex(0, 300 * KIB, RTM_CAP_DMA, "my_alloc", NULL));
    expect_failed(300 * KIB, RTM_CAP_DMA, "my_alloc");
    assert_null(rtm_caps_alloc_ex(0, 300 * KIB, RTM_CAP_DMA, NULL, NULL));
    expect_no_hooks();
    rtm_caps_report_alloc_failed(7, RTM_CAP_EXEC, "wrapper");
    expect_failed(7, RTM_CAP_EXEC, "wrapper");

    /* Replacing and removing the hook. */
    rtm_caps_set_alloc_failed_hook(NULL, NULL);
    assert_null(rtm_caps_malloc(300 * KIB, RTM_CAP_DMA));
    expect_no_hooks();
    rtm_caps_set_alloc_failed_hook(on_failed, &g_rec);
    rtm_caps_free(p);
    rtm_caps_free(q);
}

/* ------------------------------------------------------------------ */
/* Integrity and walk                                                  */

static void test_check_finds_the_broken_region(void **state)
{
    (void)state;
    assert_true(rtm_caps_check_all(false, NULL));
    uint8_t *a = rtm_caps_malloc(64, RTM_CAP_8BIT);
    uint8_t *b = rtm_caps_malloc(64, RTM_CAP_8BIT);
    uint8_t *d = rtm_caps_malloc(64, RTM_CAP_DMA);
    expect_in(b, "DRAM");
    expect_in(d, "D/IRAM");

    /* An overrun of a into b's header. */
    uint8_t saved[4];
    memcpy(saved, b - 4, 4);
    memset(b - 4, 0xff, 4);

    rtm_caps_check_report_t rep;
    ts_output_t out;
    ts_output_capture(&out);
    assert_false(rtm_caps_check_all(true, &rep));
    assert_string_equal(rtm_caps_region_name(rep.region), "DRAM");
    assert_non_null(rep.heap.problem);
    assert_int_equal(out.writes, 1); /* only DRAM is broken */
    assert_non_null(strstr(out.last, "region 'DRAM'"));
    assert_false(rtm_caps_check(RTM_CAP_DMA, false, &rep)); /* DRAM has DMA too */
    assert_true(rtm_caps_check(RTM_CAP_SPIRAM, false, &rep));
    assert_null(rep.region);
    assert_false(rtm_caps_check_addr(a, false, &rep));
    assert_string_equal(rtm_caps_region_name(rep.region), "DRAM");
    assert_true(rtm_caps_check_addr(d, false, NULL));
    int local;
    assert_false(rtm_caps_check_addr(&local, false, &rep));
    assert_null(rep.region);
    assert_non_null(rep.heap.problem);
    ts_output_release();

    memcpy(b - 4, saved, 4);
    assert_true(rtm_caps_check_all(false, &rep));
    rtm_caps_free(a);
    rtm_caps_free(b);
    rtm_caps_free(d);
    expect_no_hooks();
}

typedef struct walk_count {
    size_t calls[MAX_REGIONS];
    size_t used[MAX_REGIONS];
    size_t used_bytes;
    const rtm_caps_region_t *stop_in; /* return false on this region's first block */
} walk_count_t;

static size_t index_of(const rtm_caps_region_t *r)
{
    for (size_t i = 0; i < rtm_caps_region_count(); i++) {
        if (rtm_caps_region_at(i) == r) {
            return i;
        }
    }
    ts_fail("walk gave a region that is not registered");
    return 0;
}

static bool count_blocks(const rtm_caps_region_t *region, const rtm_block_info_t *block, void *ctx)
{
    walk_count_t *w = ctx;
    size_t i = index_of(region);
    w->calls[i]++;
    if (block->used) {
        w->used[i]++;
        w->used_bytes += block->size;
    }
    if (rtm_caps_region_of(block->ptr) != region) {
        ts_fail("block %p reported in the wrong region", block->ptr);
    }
    return region != w->stop_in;
}

static void test_walk(void **state)
{
    (void)state;
    void *p[4] = {rtm_caps_malloc(100, RTM_CAP_DMA), rtm_caps_malloc(100, RTM_CAP_DMA),
                  rtm_caps_malloc(100, RTM_CAP_SPIRAM), rtm_caps_malloc(100, RTM_CAP_EXEC)};
    walk_count_t w;
    memset(&w, 0, sizeof w);
    assert_true(rtm_caps_walk(RTM_CAP_INVALID, count_blocks, &w));
    rtm_caps_info_t all;
    assert_true(rtm_caps_get_info(0, &all));
    assert_int_equal(w.used_bytes, all.allocated_bytes);
    size_t diram = index_of(rtm_caps_region_find("D/IRAM"));
    size_t iram = index_of(rtm_caps_region_find("IRAM"));
    size_t dram = index_of(rtm_caps_region_find("DRAM"));
    assert_int_equal(w.used[diram], 2);
    assert_int_equal(w.used[iram], 1);
    assert_int_equal(w.used[dram], 0);
    assert_true(w.calls[dram] >= 1); /* its free block */

    /* Only DMA regions; and false skips the rest of D/IRAM only. */
    memset(&w, 0, sizeof w);
    w.stop_in = rtm_caps_region_find("D/IRAM");
    assert_true(rtm_caps_walk(RTM_CAP_DMA, count_blocks, &w));
    assert_int_equal(w.calls[diram], 1);
    assert_true(w.calls[dram] >= 1);
    assert_int_equal(w.calls[iram], 0);

    assert_false(rtm_caps_walk(0, NULL, NULL));
    for (size_t i = 0; i < 4; i++) {
        rtm_caps_free(p[i]);
    }
}

/* ------------------------------------------------------------------ */
/* Registry mechanics on small registries                              */

#define POOL_BYTES (256u * KIB)
static _Alignas(8) uint8_t g_pool[POOL_BYTES];
static rtm_caps_registry_t g_reg;
static rtm_caps_region_t g_slots[MAX_REGIONS];

static rtm_caps_region_config_t region_cfg(const char *name, rtm_caps_t c0, rtm_caps_t c1,
                                           rtm_caps_t c2)
{
    rtm_caps_region_config_t c;
    memset(&c, 0, sizeof c);
    c.name = name;
    c.caps[0] = c0;
    c.caps[1] = c1;
    c.caps[2] = c2;
    return c;
}

static void init_small(size_t slots)
{
    rtm_caps_config_t cfg = hooked_config();
    assert_int_equal(rtm_caps_init(&g_reg, g_slots, slots, &cfg), RTM_CAPS_OK);
}

static void test_init_arguments(void **state)
{
    (void)state;
    assert_int_equal(rtm_caps_init(NULL, g_slots, 4, NULL), RTM_CAPS_ERR_ARG);
    assert_int_equal(rtm_caps_init(&g_reg, NULL, 4, NULL), RTM_CAPS_ERR_ARG);
    assert_int_equal(rtm_caps_init(&g_reg, g_slots, 0, NULL), RTM_CAPS_ERR_ARG);
    rtm_caps_config_t bad;
    memset(&bad, 0, sizeof bad);
    bad.cache_line = 48;
    assert_int_equal(rtm_caps_init(&g_reg, g_slots, 4, &bad), RTM_CAPS_ERR_ARG);
    assert_null(rtm_caps_registry());

    assert_int_equal(rtm_caps_init(&g_reg, g_slots, 4, NULL), RTM_CAPS_OK);
    assert_ptr_equal(rtm_caps_registry(), &g_reg);
    static rtm_caps_registry_t other;
    assert_int_equal(rtm_caps_init(&other, g_slots, 4, NULL), RTM_CAPS_ERR_ACTIVE);
    assert_int_equal(rtm_preset_esp32_init(NULL), RTM_CAPS_ERR_ACTIVE);
    assert_int_equal(rtm_caps_region_count(), 0);
    assert_null(rtm_caps_malloc(10, RTM_CAP_DEFAULT)); /* no regions: fails, no hook set */
    rtm_caps_deinit();
    rtm_caps_deinit(); /* twice is harmless */
    assert_null(rtm_caps_registry());
    for (int e = RTM_CAPS_OK; e <= RTM_CAPS_ERR_PORT; e++) {
        assert_non_null(rtm_caps_err_str((rtm_caps_err_t)e));
    }
    assert_string_equal(rtm_caps_err_str((rtm_caps_err_t)99), "unknown error");
}

static void test_no_registry(void **state)
{
    (void)state;
    assert_null(rtm_caps_registry());
    int local;
    assert_null(rtm_caps_malloc(10, RTM_CAP_DEFAULT));
    assert_null(rtm_caps_malloc_default(10));
    assert_null(rtm_caps_calloc(1, 10, RTM_CAP_DEFAULT));
    assert_null(rtm_caps_realloc(NULL, 10, RTM_CAP_DEFAULT));
    assert_null(rtm_caps_realloc_default(NULL, 10));
    assert_null(rtm_caps_aligned_alloc(16, 10, RTM_CAP_DEFAULT));
    assert_null(rtm_caps_malloc_prefer(10, 1, RTM_CAP_DEFAULT));
    assert_int_equal(rtm_caps_total_size(0), 0);
    assert_int_equal(rtm_caps_free_size(0), 0);
    assert_int_equal(rtm_caps_min_free_size(0), 0);
    assert_int_equal(rtm_caps_largest_free_block(0), 0);
    rtm_caps_info_t info;
    assert_false(rtm_caps_get_info(0, &info));
    assert_int_equal(info.regions, 0);
    assert_false(rtm_caps_check_all(false, NULL));
    assert_false(rtm_caps_check_addr(&local, false, NULL));
    assert_false(rtm_caps_walk(0, count_blocks, NULL));
    assert_int_equal(rtm_caps_region_count(), 0);
    assert_null(rtm_caps_region_at(0));
    assert_null(rtm_caps_region_of(&local));
    assert_null(rtm_caps_region_find("DRAM"));
    assert_null(rtm_caps_region_heap(NULL));
    assert_string_equal(rtm_caps_region_name(NULL), "(no region)");
    assert_int_equal(rtm_caps_region_size(NULL), 0);
    assert_false(rtm_caps_region_matches(NULL, 0));
    rtm_caps_region_config_t c = region_cfg("x", RTM_CAP_DEFAULT, 0, 0);
    static rtm_caps_region_t dummy;
    rtm_caps_region_t *out = &dummy;
    assert_int_equal(rtm_caps_add_region(g_pool, 4096, &c, &out), RTM_CAPS_ERR_NOT_INIT);
    assert_null(out);
    rtm_caps_extmem_enable(10);
    rtm_caps_set_alloc_failed_hook(on_failed, &g_rec);
    rtm_caps_reset_min_free(0);

    /* Bad pointers still get reported, through the default hook. */
    ts_output_t o;
    ts_output_capture(&o);
    rtm_caps_free(&local);
    assert_int_equal(o.writes, 1);
    assert_non_null(strstr(o.last, "in no region"));
    assert_null(rtm_caps_realloc(&local, 10, RTM_CAP_DEFAULT));
    assert_int_equal(o.writes, 2);
    rtm_caps_print_summary(0);
    assert_non_null(strstr(o.last, "no registry"));
    ts_output_release();
    assert_int_equal(g_rec.failed, 0);
}

static void test_add_region_checks(void **state)
{
    (void)state;
    init_small(4);
    rtm_caps_region_config_t c = region_cfg("A", RTM_CAP_DEFAULT | RTM_CAP_8BIT, 0, 0);
    rtm_caps_region_t *a = NULL;
    uint8_t *base = g_pool + 4096; /* A = [base, base + 8 KiB) */
    assert_int_equal(rtm_caps_add_region(base, 8 * KIB, &c, &a), RTM_CAPS_OK);
    assert_non_null(a);
    assert_ptr_equal(rtm_caps_region_start(a), base);
    assert_ptr_equal(rtm_caps_region_end(a), base + 8 * KIB);

    rtm_caps_region_t *out = a;
    /* Every kind of overlap, and the same range again. */
    assert_int_equal(rtm_caps_add_region(base, 8 * KIB, &c, &out), RTM_CAPS_ERR_OVERLAP);
    assert_null(out);
    assert_int_equal(rtm_caps_add_region(base - 1024, 2048, &c, NULL), RTM_CAPS_ERR_OVERLAP);
    assert_int_equal(rtm_caps_add_region(base + 8 * KIB - 8, 4096, &c, NULL), RTM_CAPS_ERR_OVERLAP);
    assert_int_equal(rtm_caps_add_region(base + 1024, 1024, &c, NULL), RTM_CAPS_ERR_OVERLAP);
    assert_int_equal(rtm_caps_add_region(base - 1024, 10 * KIB, &c, NULL), RTM_CAPS_ERR_OVERLAP);
    /* Touching on either side is fine. */
    assert_int_equal(rtm_caps_add_region(base + 8 * KIB, 4096, &c, NULL), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_add_region(base - 4096, 4096, &c, NULL), RTM_CAPS_OK);

    /* Bad arguments and configs. */
    assert_int_equal(rtm_caps_add_region(NULL, 4096, &c, NULL), RTM_CAPS_ERR_ARG);
    assert_int_equal(rtm_caps_add_region(g_pool + 32 * KIB, 4096, NULL, NULL), RTM_CAPS_ERR_ARG);
    assert_int_equal(rtm_caps_add_region(g_pool + 32 * KIB, SIZE_MAX, &c, NULL), RTM_CAPS_ERR_ARG);
    rtm_caps_region_config_t empty = region_cfg("E", 0, 0, 0);
    assert_int_equal(rtm_caps_add_region(g_pool + 32 * KIB, 4096, &empty, NULL),
                     RTM_CAPS_ERR_NO_CAPS);
    rtm_caps_region_config_t invalid = region_cfg("I", RTM_CAP_DEFAULT, 0, RTM_CAP_INVALID);
    assert_int_equal(rtm_caps_add_region(g_pool + 32 * KIB, 4096, &invalid, NULL),
                     RTM_CAPS_ERR_NO_CAPS);
    rtm_caps_region_config_t sys = c;
    sys.strategy = &rtm_strategy_system;
    assert_int_equal(rtm_caps_add_region(g_pool + 32 * KIB, 4096, &sys, NULL), RTM_CAPS_ERR_CONFIG);
    rtm_caps_region_config_t badalign = c;
    badalign.alignment = 6;
    assert_int_equal(rtm_caps_add_region(g_pool + 32 * KIB, 4096, &badalign, NULL),
                     RTM_CAPS_ERR_CONFIG);
    assert_int_equal(rtm_caps_add_region(g_pool + 32 * KIB, 16, &c, NULL), RTM_CAPS_ERR_TOO_SMALL);
    assert_int_equal(rtm_caps_add_region(g_pool + 32 * KIB + 1, 7, &c, NULL),
                     RTM_CAPS_ERR_TOO_SMALL);

    /* A misaligned start: the slack is overhead, the size is as given. */
    rtm_caps_region_t *m = NULL;
    assert_int_equal(rtm_caps_add_region(g_pool + 40 * KIB + 3, 4093, &c, &m), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_region_size(m), 4093);
    assert_int_equal(rtm_caps_total_size(0), 8 * KIB + 2 * 4096 + 4093);
    rtm_caps_info_t info;
    assert_true(rtm_caps_get_info(0, &info));
    assert_int_equal(info.free_bytes + info.allocated_bytes + info.overhead_bytes, info.total_bytes);

    /* Full: four slots used. */
    assert_int_equal(rtm_caps_region_count(), 4);
    assert_int_equal(rtm_caps_add_region(g_pool + 50 * KIB, 4096, &c, NULL), RTM_CAPS_ERR_FULL);
    assert_true(rtm_caps_check_all(false, NULL));
    rtm_caps_deinit();

    /* The registry's own minimum. */
    rtm_caps_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.min_region_bytes = 8 * KIB;
    assert_int_equal(rtm_caps_init(&g_reg, g_slots, 4, &cfg), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_add_region(g_pool, 8 * KIB - 8, &c, NULL), RTM_CAPS_ERR_TOO_SMALL);
    assert_int_equal(rtm_caps_add_region(g_pool, 8 * KIB, &c, NULL), RTM_CAPS_OK);
    rtm_caps_deinit();
}

static void test_add_region_to_preset(void **state)
{
    (void)state;
    /* A runtime region with a user capability, next to the ESP32 map. */
    static _Alignas(8) uint8_t extra[16 * KIB];
    rtm_caps_region_config_t c = region_cfg("SHARED", RTM_CAP_USER(0),
                                            RTM_CAP_8BIT | RTM_CAP_32BIT, 0);
    rtm_caps_region_t *r = NULL;
    assert_int_equal(rtm_caps_add_region(extra, sizeof extra, &c, &r), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_region_count(), 7);
    assert_ptr_equal(rtm_caps_region_at(6), r);
    void *p = rtm_caps_malloc(1000, RTM_CAP_USER(0));
    expect_in(p, "SHARED");
    /* 8BIT still prefers DRAM (level 0) over SHARED (level 1). */
    expect_in(rtm_caps_malloc(100, RTM_CAP_8BIT), "DRAM");
    rtm_caps_free(p);
    assert_int_equal(info_named("SHARED").used_blocks, 0);

    /* Overlapping a preset region is refused. */
    const rtm_caps_region_t *dram = rtm_caps_region_find("DRAM");
    uint8_t *inside = (uint8_t *)(uintptr_t)rtm_caps_region_start(dram) + 1024;
    assert_int_equal(rtm_caps_add_region(inside, 4096, &c, NULL), RTM_CAPS_ERR_OVERLAP);
    assert_true(rtm_caps_check_all(false, NULL));
    expect_no_hooks();
}

static void test_lookup_many_regions(void **state)
{
    (void)state;
    /* 60 regions of 4 KiB with 64-byte gaps, registered in a shuffled
     * order; then every 8th address is looked up and compared with a
     * linear search. */
    enum { N = 60, SIZE = 4096, STRIDE = SIZE + 64 };
    init_small(N);
    size_t order[N];
    for (size_t i = 0; i < N; i++) {
        order[i] = i;
    }
    ts_rng_t rng;
    ts_rng_seed(&rng, 7);
    for (size_t i = N - 1; i > 0; i--) {
        size_t j = ts_rng_range(&rng, 0, i);
        size_t t = order[i];
        order[i] = order[j];
        order[j] = t;
    }
    static char names[N][8];
    for (size_t i = 0; i < N; i++) {
        (void)snprintf(names[order[i]], sizeof names[0], "R%zu", order[i]);
        rtm_caps_region_config_t c = region_cfg(names[order[i]], RTM_CAP_DEFAULT, 0, 0);
        assert_int_equal(rtm_caps_add_region(g_pool + order[i] * STRIDE, SIZE, &c, NULL),
                         RTM_CAPS_OK);
    }
    for (size_t off = 0; off < N * STRIDE; off += 8) {
        const uint8_t *p = g_pool + off;
        const rtm_caps_region_t *want = NULL;
        for (size_t i = 0; i < N; i++) {
            const rtm_caps_region_t *r = rtm_caps_region_at(i);
            const uint8_t *s = rtm_caps_region_start(r);
            if ((uintptr_t)p >= (uintptr_t)s && (uintptr_t)p - (uintptr_t)s < SIZE) {
                want = r;
            }
        }
        if (rtm_caps_region_of(p) != want) {
            ts_fail("offset %zu: index gives %s, linear search %s", off,
                    rtm_caps_region_name(rtm_caps_region_of(p)), rtm_caps_region_name(want));
        }
    }
    /* One block fits each region: allocations fill the regions in
     * registration order; frees find them. */
    void *blocks[N];
    for (size_t i = 0; i < N; i++) {
        blocks[i] = rtm_caps_malloc(2500, RTM_CAP_DEFAULT);
        expect_in(blocks[i], names[order[i]]);
    }
    for (size_t i = 0; i < N; i++) {
        rtm_caps_free(blocks[(i * 7) % N]);
    }
    rtm_caps_info_t info;
    assert_true(rtm_caps_get_info(0, &info));
    assert_int_equal(info.used_blocks, 0);
    assert_true(rtm_caps_check_all(false, NULL));
    expect_no_hooks();

    /* A damaged address index (two entries swapped, as a stray write
     * might) is found by the check and reported as the registry's. */
    size_t keep = g_slots[3].by_addr;
    g_slots[3].by_addr = g_slots[4].by_addr;
    g_slots[4].by_addr = keep;
    rtm_caps_check_report_t rep;
    assert_false(rtm_caps_check(RTM_CAP_SPIRAM, false, &rep)); /* selects no region */
    assert_null(rep.region);
    assert_non_null(strstr(rep.heap.problem, "index"));
    g_slots[4].by_addr = g_slots[3].by_addr;
    g_slots[3].by_addr = keep;
    assert_true(rtm_caps_check_all(false, NULL));
}

static void test_selection_rule(void **state)
{
    (void)state;
    /* The rule in isolation, with user bits U0..U2:
     *   A = {U0, U1, -}   B = {U1, U0, -}   C = {-, -, U0|U1}   D = {U2, -, U0}
     * registered A, B, C, D. */
    const rtm_caps_t U0 = RTM_CAP_USER(0), U1 = RTM_CAP_USER(1), U2 = RTM_CAP_USER(2);
    init_small(8);
    rtm_caps_region_config_t ca = region_cfg("A", U0, U1, 0);
    rtm_caps_region_config_t cb = region_cfg("B", U1, U0, 0);
    rtm_caps_region_config_t cc = region_cfg("C", 0, 0, U0 | U1);
    rtm_caps_region_config_t cd = region_cfg("D", U2, 0, U0);
    assert_int_equal(rtm_caps_add_region(g_pool, 4 * KIB, &ca, NULL), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_add_region(g_pool + 4 * KIB, 4 * KIB, &cb, NULL), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_add_region(g_pool + 8 * KIB, 4 * KIB, &cc, NULL), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_add_region(g_pool + 12 * KIB, 4 * KIB, &cd, NULL), RTM_CAPS_OK);

    expect_in(rtm_caps_malloc(64, U0), "A");      /* level 0: A */
    expect_in(rtm_caps_malloc(64, U1), "B");      /* level 0: B */
    expect_in(rtm_caps_malloc(64, U2), "D");
    expect_in(rtm_caps_malloc(64, U0 | U2), "D"); /* only D has both */
    /* U0|U1: A and B both name a bit at level 0: registration order. */
    sequence_t s = exhaust(alloc_caps, 512, U0 | U1, U0 | U1);
    /* A, B at level 0; C at level 2; D lacks U1. A was a candidate at
     * levels 0 and 1 but is tried once per request. */
    expect_sequence(s, "A,B,C,");
    expect_failed(512, U0 | U1, "rtm_caps_malloc");
    touch_t before = touch_now();
    assert_null(rtm_caps_malloc(512, U0 | U1));
    char touched[256];
    touched_since(&before, touched, sizeof touched);
    assert_string_equal(touched, "A,B,C,");
    expect_failed(512, U0 | U1, "rtm_caps_malloc");
    /* U0 alone now: A (level 0), B (1), C (2) have no 512 bytes left; D,
     * after C at level 2, serves. */
    expect_in(rtm_caps_malloc(512, U0), "D");
    expect_no_hooks();
}

static void test_exec_and_cache_modifiers(void **state)
{
    (void)state;
    /* Without RTM_CAPS_EXEC_IS_32BIT, EXEC|8BIT is an ordinary request. */
    rtm_caps_config_t cfg = hooked_config();
    cfg.cache_line = 64;
    assert_int_equal(rtm_caps_init(&g_reg, g_slots, 2, &cfg), RTM_CAPS_OK);
    rtm_caps_region_config_t c =
        region_cfg("X", RTM_CAP_EXEC | RTM_CAP_8BIT | RTM_CAP_DMA, 0, 0);
    assert_int_equal(rtm_caps_add_region(g_pool, 16 * KIB, &c, NULL), RTM_CAPS_OK);
    expect_in(rtm_caps_malloc(64, RTM_CAP_EXEC | RTM_CAP_8BIT), "X");
    /* 32BIT is not added either: X lacks it and EXEC alone still works. */
    expect_in(rtm_caps_malloc(64, RTM_CAP_EXEC), "X");
    uint8_t *p = rtm_caps_malloc(10, RTM_CAP_DMA | RTM_CAP_CACHE_ALIGNED);
    expect_in(p, "X");
    assert_true(((uintptr_t)p & 63u) == 0);
    assert_true(rtm_caps_usable_size(p) >= 64);
    /* realloc with CACHE_ALIGNED moves to a fresh, aligned block. */
    uint8_t *q = rtm_caps_realloc(p, 100, RTM_CAP_DMA | RTM_CAP_CACHE_ALIGNED);
    assert_true(((uintptr_t)q & 63u) == 0);
    assert_true(rtm_caps_usable_size(q) >= 128);
    /* Sizes that cannot be rounded up. */
    assert_null(rtm_caps_malloc(SIZE_MAX - 8, RTM_CAP_DMA | RTM_CAP_CACHE_ALIGNED));
    expect_failed(SIZE_MAX - 8, RTM_CAP_DMA | RTM_CAP_CACHE_ALIGNED, "rtm_caps_malloc");
    rtm_caps_free(q);
    rtm_caps_deinit();

    /* With RTM_CAPS_EXEC_IS_32BIT, EXEC means EXEC | 32BIT: a region that
     * can execute but does not list 32BIT no longer qualifies. */
    cfg.flags = RTM_CAPS_EXEC_IS_32BIT;
    assert_int_equal(rtm_caps_init(&g_reg, g_slots, 2, &cfg), RTM_CAPS_OK);
    rtm_caps_region_config_t e = region_cfg("EXEC_ONLY", RTM_CAP_EXEC, 0, 0);
    rtm_caps_region_config_t w = region_cfg("EXEC_32", 0, 0, RTM_CAP_EXEC | RTM_CAP_32BIT);
    assert_int_equal(rtm_caps_add_region(g_pool, 8 * KIB, &e, NULL), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_add_region(g_pool + 8 * KIB, 8 * KIB, &w, NULL), RTM_CAPS_OK);
    expect_in(rtm_caps_malloc(64, RTM_CAP_EXEC), "EXEC_32");
    assert_null(rtm_caps_malloc(64, RTM_CAP_EXEC | RTM_CAP_DMA));
    expect_failed(64, RTM_CAP_EXEC | RTM_CAP_DMA, "rtm_caps_malloc");
}

static void test_bump_region(void **state)
{
    (void)state;
    /* A bump region: allocation only; a realloc that moves leaves the old
     * block (its free is refused) without a misuse report. */
    init_small(2);
    rtm_caps_region_config_t c = region_cfg("BUMP", RTM_CAP_USER(3), 0, 0);
    c.strategy = &rtm_strategy_bump;
    rtm_caps_region_config_t d = region_cfg("TLSF", RTM_CAP_USER(4), 0, 0);
    assert_int_equal(rtm_caps_add_region(g_pool, 8 * KIB, &c, NULL), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_add_region(g_pool + 8 * KIB, 8 * KIB, &d, NULL), RTM_CAPS_OK);
    uint8_t *p = rtm_caps_malloc(100, RTM_CAP_USER(3));
    expect_in(p, "BUMP");
    fill(p, 100, 9);
    uint8_t *q = rtm_caps_realloc(p, 200, RTM_CAP_USER(4));
    expect_in(q, "TLSF");
    expect_filled(q, 100, 9);
    expect_no_hooks();
    rtm_caps_free(q);
    rtm_caps_free(p);
    expect_misuse("BUMP", RTM_MISUSE_FREE_REFUSED, p);
}

/* ------------------------------------------------------------------ */
/* Other presets                                                       */

static void test_preset_esp32s3(void **state)
{
    (void)state;
    rtm_caps_config_t cfg = hooked_config();
    assert_int_equal(rtm_preset_esp32s3_init(&cfg), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_region_count(), 4);
    assert_string_equal(rtm_caps_region_name(rtm_caps_region_at(0)), "SPIRAM");
    assert_int_equal(rtm_caps_total_size(RTM_CAP_SPIRAM), 8192u * KIB);
    assert_int_equal(rtm_caps_total_size(RTM_CAP_DMA), ESP32S3_RAM + ESP32S3_DRAM);
    assert_int_equal(rtm_caps_total_size(RTM_CAP_RTCRAM), ESP32S3_RTCRAM);
    assert_true(rtm_caps_region_caps(rtm_caps_region_find("RAM"), 0) ==
                (0x1000u | 0x2u | 0x4u | 0x800u | 0x8u | 0x4000u | 0x100000u));
    expect_in(rtm_caps_malloc_default(100), "RAM");
    /* Unlike the ESP32, PSRAM has DEFAULT only at level 2. */
    expect_in(rtm_caps_malloc(100, RTM_CAP_DEFAULT), "RAM");
    expect_in(rtm_caps_malloc(100, RTM_CAP_SPIRAM), "SPIRAM");
    expect_in(rtm_caps_malloc(100, RTM_CAP_RTCRAM), "RTCRAM");
    assert_null(rtm_caps_malloc(100, RTM_CAP_EXEC)); /* memory protection: no EXEC heap */
    expect_failed(100, RTM_CAP_EXEC, "rtm_caps_malloc");
    sequence_t s = exhaust(alloc_caps, 8192, RTM_CAP_DMA, RTM_CAP_DMA);
    expect_sequence(s, "RAM,DRAM,");
    expect_failed(8192, RTM_CAP_DMA, "rtm_caps_malloc");
    assert_int_equal(info_named("SPIRAM").failed_count, 0);
    /* 8BIT chunks internal RAM cannot hold any more: PSRAM (level 2; the
     * 8 KiB RTCRAM cannot hold one either). */
    s = exhaust(alloc_caps, 8192, RTM_CAP_8BIT, RTM_CAP_8BIT);
    expect_sequence(s, "SPIRAM,");
    rec_clear();
    rtm_caps_deinit();
    assert_int_equal(rtm_preset_esp32s3_init(NULL), RTM_CAPS_OK); /* again, empty */
    /* All but the control blocks and block-start maps (1/64 of each region). */
    assert_int_equal(rtm_caps_free_size(RTM_CAP_DMA) > (ESP32S3_RAM + ESP32S3_DRAM) / 28u * 27u, 1);
}

static void test_preset_stm32h743(void **state)
{
    (void)state;
    rtm_caps_config_t cfg = hooked_config();
    assert_int_equal(rtm_preset_stm32h743_init(&cfg), RTM_CAPS_OK);
    /* AXI SRAM less CubeIDE's 0x400 stack and 0x200 sbrk minimum. */
    assert_int_equal(rtm_caps_total_size(0),
                     (128u + 512u + 128u + 128u + 32u + 64u) * KIB - 0x400u - 0x200u);
    expect_in(rtm_caps_malloc(64, RTM_CAP_SPM), "DTCM");
    expect_in(rtm_caps_malloc(64, RTM_CAP_BDMA), "SRAM4");
    expect_in(rtm_caps_malloc(64, RTM_CAP_EXEC), "AXI_SRAM");
    expect_in(rtm_caps_malloc(64, RTM_CAP_DMA), "SRAM1");
    uint8_t *line = rtm_caps_malloc(10, RTM_CAP_DMA | RTM_CAP_CACHE_ALIGNED);
    assert_true(((uintptr_t)line & 31u) == 0);
    assert_null(rtm_caps_malloc(64, RTM_CAP_SPM | RTM_CAP_DMA)); /* DTCM: no DMA */
    expect_failed(64, RTM_CAP_SPM | RTM_CAP_DMA, "rtm_caps_malloc");
    /* DMA never lands in the DTCM: D2 SRAMs, AXI, SRAM4 last. */
    sequence_t s = exhaust(alloc_caps, 16 * KIB, RTM_CAP_DMA, RTM_CAP_DMA);
    expect_sequence(s, "SRAM1,SRAM2,SRAM3,AXI_SRAM,SRAM4,");
    expect_failed(16 * KIB, RTM_CAP_DMA, "rtm_caps_malloc");
    assert_int_equal(info_named("DTCM").failed_count, 0);
    /* malloc: DTCM first; the DMA memories are already used up. */
    s = exhaust(alloc_default, 16 * KIB, 0, RTM_CAP_DEFAULT);
    expect_sequence(s, "DTCM,");
    rec_clear();
}

static void test_preset_stm32h743_malloc_order(void **state)
{
    (void)state;
    assert_int_equal(rtm_preset_stm32h743_init(NULL), RTM_CAPS_OK);
    sequence_t s = exhaust(alloc_default, 16 * KIB, 0, RTM_CAP_DEFAULT | RTM_CAP_INTERNAL);
    expect_sequence(s, "DTCM,AXI_SRAM,SRAM1,SRAM2,SRAM3,SRAM4,");
}

static void test_preset_rp2040(void **state)
{
    (void)state;
    rtm_caps_config_t cfg = hooked_config();
    assert_int_equal(rtm_preset_rp2040_init(&cfg), RTM_CAPS_OK);
    /* The scratch banks less the SDK's two 2 KiB stacks. */
    assert_int_equal(rtm_caps_total_size(0), 260u * KIB);
    expect_in(rtm_caps_malloc_default(100), "SRAM");
    expect_in(rtm_caps_malloc(100, RTM_CAP_EXEC), "SRAM");
    sequence_t s = exhaust(alloc_caps, 1024, RTM_CAP_SPM, RTM_CAP_SPM);
    expect_sequence(s, "SCRATCH_X,SCRATCH_Y,");
    expect_failed(1024, RTM_CAP_SPM, "rtm_caps_malloc");
    /* Picking one bank through its heap; rtm_caps_free still finds it. */
    rtm_caps_deinit();
    assert_int_equal(rtm_preset_rp2040_init(&cfg), RTM_CAPS_OK);
    void *y = rtm_malloc(heap_named("SCRATCH_Y"), 256);
    expect_in(y, "SCRATCH_Y");
    rtm_caps_free(y);
    assert_int_equal(info_named("SCRATCH_Y").used_blocks, 0);
    s = exhaust(alloc_caps, 8 * KIB, RTM_CAP_DMA, RTM_CAP_DMA);
    expect_sequence(s, "SRAM,");
    void *rest; /* drain what is left of SRAM (the only DEFAULT region) */
    while ((rest = rtm_caps_malloc(rtm_caps_largest_free_block(RTM_CAP_DEFAULT), RTM_CAP_DEFAULT)) !=
           NULL) {
        expect_in(rest, "SRAM");
    }
    rec_clear();
    expect_in(rtm_caps_malloc(1024, RTM_CAP_DMA), "SCRATCH_X"); /* level 2, last resort */
    assert_null(rtm_caps_malloc_default(1024));                 /* scratch never serves malloc */
    expect_failed(1024, RTM_CAP_DEFAULT | RTM_CAP_INTERNAL, "rtm_caps_malloc_default");
}

static void test_preset_generic(void **state)
{
    (void)state;
    rtm_caps_config_t cfg = hooked_config();
    assert_int_equal(rtm_preset_generic_init(&cfg), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_total_size(0), RTM_PRESET_GENERIC_SIZE);
    expect_in(rtm_caps_malloc_default(100), "RAM");
    expect_in(rtm_caps_malloc(100, RTM_CAP_DMA | RTM_CAP_8BIT), "RAM");
    expect_in(rtm_caps_malloc(100, RTM_CAP_EXEC), "RAM");
    assert_null(rtm_caps_malloc(100, RTM_CAP_SPIRAM));
    expect_failed(100, RTM_CAP_SPIRAM, "rtm_caps_malloc");
    assert_ptr_equal(rtm_preset_generic.regions[0].start,
                     rtm_caps_region_start(rtm_caps_region_at(0)));
}

static void test_preset_no_lock_and_strategy(void **state)
{
    (void)state;
    rtm_caps_config_t cfg;
    memset(&cfg, 0, sizeof cfg);
    cfg.flags = RTM_CAPS_NO_LOCK;
    cfg.strategy = &rtm_strategy_first_fit;
    cfg.alignment = 16;
    assert_int_equal(rtm_preset_generic_init(&cfg), RTM_CAPS_OK);
    rtm_heap_t *h = heap_named("RAM");
    assert_int_equal(rtm_heap_strategy(h), RTM_FIRST_FIT);
    assert_int_equal(rtm_heap_alignment(h), 16);
    void *p = rtm_caps_malloc_default(10);
    assert_true(((uintptr_t)p & 15u) == 0);
    rtm_caps_free(p);
    rtm_caps_deinit();
    cfg.strategy = &rtm_strategy_system; /* not allowed in a region */
    assert_int_equal(rtm_preset_generic_init(&cfg), RTM_CAPS_ERR_CONFIG);
    assert_null(rtm_caps_registry()); /* the failed init left nothing active */
}

/* ------------------------------------------------------------------ */
/* Threads                                                             */

#if defined(RTM_PORT_POSIX)
typedef struct worker {
    uint64_t seed;
    unsigned bad;
} worker_t;

static void *worker_main(void *arg)
{
    worker_t *w = arg;
    ts_rng_t rng;
    ts_rng_seed(&rng, w->seed);
    static const rtm_caps_t kinds[] = {RTM_CAP_DMA, RTM_CAP_8BIT, RTM_CAP_SPIRAM, RTM_CAP_EXEC,
                                       RTM_CAP_USER(5)};
    uint8_t *live[32];
    rtm_caps_t live_caps[32];
    size_t n = 0;
    for (unsigned step = 0; step < 20000u; step++) {
        unsigned op = (unsigned)ts_rng_range(&rng, 0, 9);
        if (op < 5 && n < 32) {
            rtm_caps_t c = kinds[ts_rng_range(&rng, 0, TS_ARRAY_LEN(kinds) - 1u)];
            uint8_t *p = rtm_caps_malloc(ts_rng_range(&rng, 1, 512), c);
            if (p != NULL) {
                if (!rtm_caps_region_matches(rtm_caps_region_of(p), c)) {
                    w->bad++;
                }
                p[0] = (uint8_t)step;
                live_caps[n] = c;
                live[n++] = p;
            }
        } else if (op < 7 && n > 0) {
            size_t k = ts_rng_range(&rng, 0, n - 1u);
            rtm_caps_t c = kinds[ts_rng_range(&rng, 0, TS_ARRAY_LEN(kinds) - 1u)];
            uint8_t *q = rtm_caps_realloc(live[k], ts_rng_range(&rng, 1, 700), c);
            if (q != NULL) {
                live[k] = q;
                live_caps[k] = c;
            }
        } else if (n > 0) {
            size_t k = ts_rng_range(&rng, 0, n - 1u);
            if (!rtm_caps_region_matches(rtm_caps_region_of(live[k]), live_caps[k])) {
                w->bad++;
            }
            rtm_caps_free(live[k]);
            live[k] = live[n - 1u];
            live_caps[k] = live_caps[n - 1u];
            n--;
        }
    }
    while (n > 0) {
        rtm_caps_free(live[--n]);
    }
    return NULL;
}

static _Alignas(8) uint8_t g_late[RTM_PRESET_SPARE_REGIONS][8 * KIB];

static void *adder_main(void *arg)
{
    unsigned *added = arg;
    for (size_t i = 0; i < RTM_PRESET_SPARE_REGIONS; i++) {
        rtm_caps_region_config_t c = region_cfg("LATE", RTM_CAP_USER(5), 0, 0);
        if (rtm_caps_add_region(g_late[i], sizeof g_late[i], &c, NULL) == RTM_CAPS_OK) {
            (*added)++;
        }
    }
    return NULL;
}
#endif

static void test_threads(void **state)
{
    (void)state;
#if defined(RTM_PORT_POSIX)
    /* The recorder is not thread-safe: no failed-allocation hook here
     * (running out under contention is allowed anyway). */
    rtm_caps_set_alloc_failed_hook(NULL, NULL);
    enum { PRESET_REGIONS = 6 };
    size_t free_before[PRESET_REGIONS];
    for (size_t i = 0; i < PRESET_REGIONS; i++) {
        free_before[i] = rtm_heap_free_bytes(rtm_caps_region_heap(rtm_caps_region_at(i)));
    }
    enum { WORKERS = 4 };
    pthread_t th[WORKERS + 1];
    worker_t w[WORKERS];
    unsigned added = 0;
    for (size_t i = 0; i < WORKERS; i++) {
        w[i].seed = 100u + i;
        w[i].bad = 0;
        assert_int_equal(pthread_create(&th[i], NULL, worker_main, &w[i]), 0);
    }
    assert_int_equal(pthread_create(&th[WORKERS], NULL, adder_main, &added), 0);
    for (size_t i = 0; i <= WORKERS; i++) {
        assert_int_equal(pthread_join(th[i], NULL), 0);
    }
    for (size_t i = 0; i < WORKERS; i++) {
        assert_int_equal(w[i].bad, 0);
    }
    assert_int_equal(added, RTM_PRESET_SPARE_REGIONS);
    assert_true(rtm_caps_check_all(true, NULL));
    rtm_caps_info_t info;
    assert_true(rtm_caps_get_info(RTM_CAP_INVALID, &info));
    assert_int_equal(info.used_blocks, 0);
    assert_int_equal(rtm_caps_region_count(), PRESET_REGIONS + RTM_PRESET_SPARE_REGIONS);
    /* The preset regions have all their memory back. */
    for (size_t i = 0; i < PRESET_REGIONS; i++) {
        assert_int_equal(rtm_heap_free_bytes(rtm_caps_region_heap(rtm_caps_region_at(i))),
                         free_before[i]);
    }
    assert_int_equal(rtm_caps_total_size(RTM_CAP_USER(5)), sizeof g_late);
    expect_no_hooks();
#else
    skip();
#endif
}


#if defined(RTM_PORT_POSIX)
typedef struct churn {
    atomic_bool stop;
    atomic_uint steps;
} churn_t;

static void *churn_main(void *arg)
{
    churn_t *c = arg;
    ts_rng_t rng;
    ts_rng_seed(&rng, 77u);
    void *live[8] = {0};
    while (!atomic_load(&c->stop)) {
        size_t k = ts_rng_range(&rng, 0, 7);
        if (live[k] != NULL) {
            rtm_caps_free(live[k]);
            live[k] = NULL;
        } else {
            live[k] = rtm_caps_malloc(ts_rng_range(&rng, 1, 3000), RTM_CAP_8BIT);
        }
        atomic_fetch_add(&c->steps, 1u);
    }
    for (size_t k = 0; k < 8; k++) {
        rtm_caps_free(live[k]);
    }
    return NULL;
}
#endif

/* caps.h: the local minimum under load, started and stopped many times
 * (twice in a row refused): inside a window the reported minimum never
 * rises; after stop it is the lifetime minimum again, never above any
 * minimum seen in a window nor above the lifetime minimum before, so no
 * window loses an earlier dip. */
static void test_min_free_monitor_under_load(void **state)
{
    (void)state;
#if defined(RTM_PORT_POSIX)
    rtm_caps_set_alloc_failed_hook(NULL, NULL);
    void *dip = rtm_caps_malloc(16 * KIB, RTM_CAP_8BIT);
    assert_non_null(dip);
    rtm_caps_free(dip);
    size_t lifetime = rtm_caps_min_free_size(RTM_CAP_INVALID);
    churn_t c;
    atomic_init(&c.stop, false);
    atomic_init(&c.steps, 0u);
    pthread_t th;
    assert_int_equal(pthread_create(&th, NULL, churn_main, &c), 0);
    /* Failures are noted, not asserted, until the worker is joined: a
     * failing assert would leave it allocating through the next tests. */
    unsigned bad_cycle = 0;
    for (unsigned cycle = 1; cycle <= 300u && bad_cycle == 0; cycle++) {
        /* Every window overlaps some of the worker's steps. */
        unsigned before = atomic_load(&c.steps);
        bool ok = rtm_caps_min_free_monitor_start() && !rtm_caps_min_free_monitor_start();
        size_t seen = rtm_caps_min_free_size(RTM_CAP_INVALID);
        for (unsigned r = 0; r < 20u; r++) {
            size_t m = rtm_caps_min_free_size(RTM_CAP_INVALID);
            ok = ok && m <= seen;
            seen = m;
        }
        while (atomic_load(&c.steps) < before + 4u) {
            sched_yield();
        }
        ok = ok && rtm_caps_min_free_monitor_stop() && !rtm_caps_min_free_monitor_stop();
        size_t after = rtm_caps_min_free_size(RTM_CAP_INVALID);
        ok = ok && after <= seen && after <= lifetime;
        lifetime = after;
        bad_cycle = ok ? 0 : cycle;
    }
    atomic_store(&c.stop, true);
    assert_int_equal(pthread_join(th, NULL), 0);
    rtm_caps_min_free_monitor_stop();
    assert_int_equal(bad_cycle, 0);
    /* The first dip, 16 KiB below the rest, is still the lifetime's. */
    rtm_caps_info_t info;
    assert_true(rtm_caps_get_info(RTM_CAP_INVALID, &info));
    assert_int_equal(info.min_free_bytes, lifetime);
    assert_true(lifetime + 16 * KIB <= info.free_bytes);
    assert_true(rtm_caps_check_all(true, NULL));
    expect_no_hooks();
#else
    skip();
#endif
}


/* caps.h: rtm_caps_check_addr checks "the one region containing addr": with
 * a region nested in a block of another, that is the innermost one. Damage
 * in the inner heap is found from its addresses only; damage in the outer
 * heap is found from the outer's addresses (the rest of the block too) and
 * not from the inner's; the bytes just past the inner region are the
 * outer's. */
static void test_check_addr_nested(void **state)
{
    (void)state;
    uint8_t *buf = rtm_caps_malloc(8192, RTM_CAP_INTERNAL | RTM_CAP_8BIT);
    uint8_t *q = rtm_caps_malloc(64, RTM_CAP_INTERNAL | RTM_CAP_8BIT);
    assert_non_null(buf);
    assert_non_null(q);
    const rtm_caps_region_t *outer = rtm_caps_region_of(buf);
    assert_ptr_equal(rtm_caps_region_of(q), outer);
    rtm_caps_region_config_t c = region_cfg("INNER", RTM_CAP_USER(6), 0, 0);
    rtm_caps_region_t *inner = NULL;
    assert_int_equal(rtm_caps_add_region(buf, 4096, &c, &inner), RTM_CAPS_OK);
    uint8_t *p = rtm_caps_malloc(100, RTM_CAP_USER(6));
    assert_non_null(p);
    assert_ptr_equal(rtm_caps_region_of(p), inner);
    assert_ptr_equal(rtm_caps_region_of(buf + 4095), inner);
    assert_ptr_equal(rtm_caps_region_of(buf + 4096), outer);

    rtm_caps_check_report_t rep;
    assert_true(rtm_caps_check_addr(p, false, &rep));
    assert_null(rep.region);

    /* The inner heap's header of p overwritten. */
    uint8_t saved[4];
    memcpy(saved, p - 4, 4);
    memset(p - 4, 0xff, 4);
    assert_false(rtm_caps_check_addr(p, false, &rep));
    assert_ptr_equal(rep.region, inner);
    assert_non_null(rep.heap.problem);
    assert_false(rtm_caps_check_addr(buf + 4095, false, &rep));
    assert_ptr_equal(rep.region, inner);
    assert_true(rtm_caps_check_addr(buf + 4096, false, &rep));
    assert_true(rtm_caps_check_addr(q, false, &rep));
    memcpy(p - 4, saved, 4);

    /* The outer heap's header of q overwritten. */
    memcpy(saved, q - 4, 4);
    memset(q - 4, 0xff, 4);
    assert_true(rtm_caps_check_addr(p, false, &rep));
    assert_false(rtm_caps_check_addr(q, false, &rep));
    assert_ptr_equal(rep.region, outer);
    assert_false(rtm_caps_check_addr(buf + 5000, false, &rep));
    assert_ptr_equal(rep.region, outer);
    memcpy(q - 4, saved, 4);

    assert_true(rtm_caps_check_all(false, NULL));
    rtm_caps_free(p);
    rtm_caps_free(q);
}

/* ------------------------------------------------------------------ */

#define ESP32_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup_esp32, teardown_caps)
#define BARE_TEST(fn) cmocka_unit_test_setup_teardown(fn, setup_none, teardown_caps)

/* ------------------------------------------------------------------ */
/* Hostile use (second audit)                                          */

/* caps.h: rtm_caps_largest_free_block(caps) is the largest n that
 * rtm_caps_malloc(n, caps) can get: that n succeeds, n + 1 fails, for
 * every kind of request, on fragmented regions and on full ones. */
static void test_largest_free_block_is_exact(void **state)
{
    (void)state;
    /* Holes of several sizes in every internal region. */
    void *keep[64];
    size_t nkeep = 0;
    for (size_t i = 0; i < 24; i++) {
        void *p = rtm_caps_malloc(256u + 64u * i, (i % 2u) != 0 ? RTM_CAP_DMA : RTM_CAP_INTERNAL);
        void *q = rtm_caps_malloc(32, RTM_CAP_INTERNAL);
        assert_non_null(p);
        assert_non_null(q);
        keep[nkeep++] = q;
        if (i % 3u != 0) {
            rtm_caps_free(p);
        } else {
            keep[nkeep++] = p;
        }
    }
    static const rtm_caps_t kinds[] = {
        RTM_CAP_DEFAULT, RTM_CAP_DMA,   RTM_CAP_SPIRAM, RTM_CAP_INTERNAL,          RTM_CAP_8BIT,
        RTM_CAP_32BIT,   RTM_CAP_EXEC,  RTM_CAP_DMA | RTM_CAP_INTERNAL, RTM_CAP_32BIT | RTM_CAP_EXEC,
    };
    for (size_t k = 0; k < sizeof kinds / sizeof kinds[0]; k++) {
        rtm_caps_t c = kinds[k];
        size_t n = rtm_caps_largest_free_block(c);
        assert_true(n > 0);
        void *p = rtm_caps_malloc(n, c);
        if (p == NULL) {
            ts_fail("caps 0x%x: largest_free_block %zu, but malloc of it failed", (unsigned)c, n);
        }
        rtm_caps_free(p);
        p = rtm_caps_malloc(n + 1u, c);
        if (p != NULL) {
            ts_fail("caps 0x%x: largest_free_block %zu, but malloc of %zu succeeded", (unsigned)c,
                    n, n + 1u);
        }
        rtm_caps_info_t info;
        assert_true(rtm_caps_get_info(c, &info));
        assert_int_equal(info.largest_free_block, n);
    }
    rec_clear();
    while (nkeep > 0) {
        rtm_caps_free(keep[--nkeep]);
    }
}

/* caps.h, rtm_caps_walk: a corrupt block ends its own region's walk and
 * makes the result false; every other selected region is still walked,
 * whole. */
static void test_walk_under_damage(void **state)
{
    (void)state;
    /* SPIRAM is the first region walked: the damage is met before the
     * others. */
    uint8_t *a = rtm_caps_malloc(64, RTM_CAP_SPIRAM);
    uint8_t *b = rtm_caps_malloc(64, RTM_CAP_SPIRAM);
    void *d = rtm_caps_malloc(64, RTM_CAP_DMA);
    void *i8 = rtm_caps_malloc(64, RTM_CAP_8BIT);
    size_t spiram = index_of(rtm_caps_region_find("SPIRAM"));
    assert_int_equal(spiram, 0);
    expect_in(b, "SPIRAM");
    walk_count_t whole;
    memset(&whole, 0, sizeof whole);
    assert_true(rtm_caps_walk(0, count_blocks, &whole));

    uint8_t saved[4];
    memcpy(saved, b - 4, 4);
    memset(b - 4, 0xff, 4);
    walk_count_t w;
    memset(&w, 0, sizeof w);
    assert_false(rtm_caps_walk(0, count_blocks, &w));
    for (size_t i = 0; i < rtm_caps_region_count(); i++) {
        if (i == spiram) {
            assert_true(w.calls[i] < whole.calls[i]);
        } else {
            assert_int_equal(w.calls[i], whole.calls[i]);
            assert_int_equal(w.used[i], whole.used[i]);
        }
    }
    /* Regions not damaged walk true on their own. */
    memset(&w, 0, sizeof w);
    assert_true(rtm_caps_walk(RTM_CAP_DMA, count_blocks, &w));
    memcpy(b - 4, saved, 4);
    assert_true(rtm_caps_walk(0, count_blocks, &w));
    rtm_caps_free(a);
    rtm_caps_free(b);
    rtm_caps_free(d);
    rtm_caps_free(i8);
    expect_no_hooks();
}

/* caps.h, rtm_caps_print_summary: a header, two lines per region, a
 * totals line, whatever the region names hold: a newline or a control
 * byte in a name cannot start a line of its own, and a long name does not
 * push the figures out of the line. */
static void test_print_summary_hostile_names(void **state)
{
    (void)state;
    init_small(4);
    static char long_name[300];
    memset(long_name, 'L', sizeof long_name - 1u);
    rtm_caps_region_config_t c1 = region_cfg("evil\n  totals: regions 99\r\x1b[2J", RTM_CAP_DEFAULT, 0, 0);
    rtm_caps_region_config_t c2 = region_cfg(long_name, RTM_CAP_DEFAULT, 0, 0);
    assert_int_equal(rtm_caps_add_region(g_pool, 16 * KIB, &c1, NULL), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_add_region(g_pool + 32 * KIB, 16 * KIB, &c2, NULL), RTM_CAPS_OK);
    ts_output_t out;
    ts_output_capture(&out);
    rtm_caps_print_summary(0);
    assert_int_equal(out.writes, 6);
    size_t lines = 0, min_free_fields = 0;
    for (const char *line = out.all; *line != '\0';) {
        const char *nl = strchr(line, '\n');
        assert_non_null(nl);
        assert_true((size_t)(nl - line) < RTM_LINE_MAX);
        for (const char *q = line; q < nl; q++) {
            assert_true((unsigned char)*q >= 0x20);
        }
        if (strncmp(line, "  totals:", 9) == 0) {
            assert_true(strncmp(line, "  totals: regions 2 ", 20) == 0);
        }
        for (const char *m = line; (m = strstr(m, " min_free ")) != NULL && m < nl; m++) {
            min_free_fields++;
        }
        lines++;
        line = nl + 1;
    }
    assert_int_equal(lines, 6);
    assert_int_equal(min_free_fields, 3); /* both regions and the totals */
    ts_output_release();
}

/* caps.h, rtm_caps_init_preset: rows of size 0 are skipped; on any error
 * (a row whose end is below its start, rows that overlap, more rows than
 * slots, a row without caps) the registry is deinitialised and the error
 * returned, so a corrected preset can be initialised right after. */
static void test_init_preset_hostile(void **state)
{
    (void)state;
    static rtm_caps_region_t slots[3];
    rtm_caps_config_t cfg = hooked_config();
    uint8_t *m = g_pool;
#define ROW(name, s, e) {name, (s), (e), {RTM_CAP_DEFAULT | RTM_CAP_8BIT, 0, 0}}
    const rtm_caps_region_desc_t good[] = {
        ROW("A", m, m + 16 * KIB),
        ROW("empty", m + 20 * KIB, m + 20 * KIB),
        ROW(NULL, m + 32 * KIB, m + 48 * KIB),
    };
    const rtm_caps_region_desc_t backwards[] = {
        ROW("A", m, m + 16 * KIB),
        ROW("back", m + 48 * KIB, m + 32 * KIB),
    };
    const rtm_caps_region_desc_t overlapping[] = {
        ROW("A", m, m + 16 * KIB),
        ROW("B", m + 8 * KIB, m + 24 * KIB),
    };
    const rtm_caps_region_desc_t too_many[] = {
        ROW("A", m, m + 16 * KIB),           ROW("B", m + 16 * KIB, m + 32 * KIB),
        ROW("C", m + 32 * KIB, m + 48 * KIB), ROW("D", m + 48 * KIB, m + 64 * KIB),
    };
    rtm_caps_region_desc_t no_caps[] = {
        ROW("A", m, m + 16 * KIB),
        ROW("none", m + 16 * KIB, m + 32 * KIB),
    };
#undef ROW
    memset(no_caps[1].caps, 0, sizeof no_caps[1].caps);
    struct {
        const rtm_caps_region_desc_t *rows;
        size_t n;
        rtm_caps_err_t err;
    } bad[] = {
        {backwards, 2, RTM_CAPS_ERR_ARG},
        {overlapping, 2, RTM_CAPS_ERR_OVERLAP},
        {too_many, 4, RTM_CAPS_ERR_FULL},
        {no_caps, 2, RTM_CAPS_ERR_NO_CAPS},
        {NULL, 2, RTM_CAPS_ERR_ARG},
    };
    for (size_t i = 0; i < sizeof bad / sizeof bad[0]; i++) {
        rtm_caps_preset_t p = {"hostile", bad[i].rows, bad[i].n, 0, 0};
        assert_int_equal(rtm_caps_init_preset(&g_reg, slots, 3, &p, &cfg), bad[i].err);
        assert_int_equal(rtm_caps_region_count(), 0);
        assert_null(rtm_caps_malloc(16, RTM_CAP_DEFAULT));
    }
    assert_int_equal(rtm_caps_init_preset(&g_reg, slots, 3, NULL, &cfg), RTM_CAPS_ERR_ARG);
    rtm_caps_preset_t p = {"good", good, 3, 0, 0};
    assert_int_equal(rtm_caps_init_preset(&g_reg, slots, 3, &p, &cfg), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_region_count(), 2);
    assert_null(rtm_caps_region_find("empty"));
    assert_int_equal(rtm_caps_total_size(0), 32 * KIB);
    assert_int_equal(rtm_caps_free_size(0), rtm_caps_free_size(RTM_CAP_8BIT));
    assert_string_equal(rtm_caps_region_name(rtm_caps_region_at(1)), "region"); /* NULL name */
    void *q = rtm_caps_malloc(100, RTM_CAP_DEFAULT);
    assert_non_null(q);
    rtm_caps_free(q);
    rtm_caps_deinit();
    rec_clear();
}

/* The real STM32H743, RP2040 and ESP32-S3 tables made hostile: each table
 * twice over, a row nested in another (not in a live block), a row with
 * RTM_CAP_INVALID, and a bad cache line in cfg are refused with no
 * registry left; a second init of the preset while it is active is
 * refused and leaves the first one working; cfg's cache line wins over the
 * preset's. */
static void test_real_presets_hostile(void **state)
{
    (void)state;
    typedef rtm_caps_err_t (*init_fn)(const rtm_caps_config_t *);
    static const struct {
        const rtm_caps_preset_t *preset;
        init_fn init;
    } real[] = {
        {&rtm_preset_stm32h743, rtm_preset_stm32h743_init},
        {&rtm_preset_rp2040, rtm_preset_rp2040_init},
        {&rtm_preset_esp32s3, rtm_preset_esp32s3_init},
    };
    enum { MAX_ROWS = 16 };
    static rtm_caps_region_t slots[2 * MAX_ROWS];
    static rtm_caps_region_desc_t rows[2 * MAX_ROWS];
    for (size_t k = 0; k < TS_ARRAY_LEN(real); k++) {
        const rtm_caps_preset_t *pr = real[k].preset;
        ts_context("%s", pr->name);
        size_t n = pr->region_count;
        assert_true(n >= 2 && n <= MAX_ROWS);
        rtm_caps_config_t cfg = hooked_config();

        memcpy(rows, pr->regions, n * sizeof rows[0]);
        memcpy(rows + n, pr->regions, n * sizeof rows[0]);
        rtm_caps_preset_t twice = *pr;
        twice.regions = rows;
        twice.region_count = 2 * n;
        assert_int_equal(rtm_caps_init_preset(&g_reg, slots, 2 * MAX_ROWS, &twice, &cfg),
                         RTM_CAPS_ERR_OVERLAP);
        assert_int_equal(rtm_caps_region_count(), 0);
        assert_null(rtm_caps_malloc(16, RTM_CAP_8BIT));

        /* The last row again, 64 bytes into its own range. */
        memcpy(rows, pr->regions, n * sizeof rows[0]);
        rows[n] = rows[n - 1u];
        rows[n].name = "NESTED";
        rows[n].start = (uint8_t *)rows[n - 1u].start + 64;
        rtm_caps_preset_t nested = *pr;
        nested.regions = rows;
        nested.region_count = n + 1u;
        assert_int_equal(rtm_caps_init_preset(&g_reg, slots, 2 * MAX_ROWS, &nested, &cfg),
                         RTM_CAPS_ERR_OVERLAP);
        assert_int_equal(rtm_caps_region_count(), 0);

        memcpy(rows, pr->regions, n * sizeof rows[0]);
        rows[n - 1u].caps[1] |= RTM_CAP_INVALID;
        rtm_caps_preset_t invalid = *pr;
        invalid.regions = rows;
        assert_int_equal(rtm_caps_init_preset(&g_reg, slots, 2 * MAX_ROWS, &invalid, &cfg),
                         RTM_CAPS_ERR_NO_CAPS);
        assert_int_equal(rtm_caps_region_count(), 0);

        rtm_caps_config_t odd = cfg;
        odd.cache_line = 48;
        assert_int_equal(real[k].init(&odd), RTM_CAPS_ERR_ARG);
        assert_int_equal(rtm_caps_region_count(), 0);

        /* Twice: the second is refused, the first keeps working. */
        rtm_caps_config_t wide = cfg;
        wide.cache_line = 256;
        assert_int_equal(real[k].init(&wide), RTM_CAPS_OK);
        void *a = rtm_caps_malloc(100, RTM_CAP_8BIT);
        assert_non_null(a);
        assert_int_equal(real[k].init(&cfg), RTM_CAPS_ERR_ACTIVE);
        assert_int_equal(rtm_caps_region_count(), n);
        uint8_t *line = rtm_caps_malloc(10, RTM_CAP_8BIT | RTM_CAP_CACHE_ALIGNED);
        assert_non_null(line);
        assert_true(((uintptr_t)line & 255u) == 0);
        rtm_caps_free(line);
        rtm_caps_free(a);
        assert_true(rtm_caps_check_all(true, NULL));
        rtm_caps_deinit();
        rec_clear();
    }
    ts_context(NULL);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        BARE_TEST(test_cap_values_are_esp_idf),
        ESP32_TEST(test_esp32_table),
        ESP32_TEST(test_esp32_default_prefers_dram),
        ESP32_TEST(test_esp32_extmem_policy),
        ESP32_TEST(test_esp32_dma_never_psram_or_iram),
        ESP32_TEST(test_esp32_dma_8bit),
        ESP32_TEST(test_esp32_exec),
        ESP32_TEST(test_esp32_8bit_never_iram),
        ESP32_TEST(test_esp32_single_cap_requests),
        ESP32_TEST(test_esp32_cache_aligned),
        ESP32_TEST(test_esp32_aligned_and_calloc),
        ESP32_TEST(test_realloc_across_caps),
        ESP32_TEST(test_realloc_bad_pointers),
        ESP32_TEST(test_free_from_every_region),
        ESP32_TEST(test_free_foreign_and_bad),
        ESP32_TEST(test_stats_per_caps),
        ESP32_TEST(test_print_summary),
        ESP32_TEST(test_failed_hook_once_after_all_candidates),
        ESP32_TEST(test_check_finds_the_broken_region),
        ESP32_TEST(test_walk),
        ESP32_TEST(test_largest_free_block_is_exact),
        ESP32_TEST(test_walk_under_damage),
        ESP32_TEST(test_add_region_to_preset),
        ESP32_TEST(test_threads),
        ESP32_TEST(test_min_free_monitor_under_load),
        ESP32_TEST(test_check_addr_nested),
        BARE_TEST(test_init_arguments),
        BARE_TEST(test_no_registry),
        BARE_TEST(test_add_region_checks),
        BARE_TEST(test_lookup_many_regions),
        BARE_TEST(test_selection_rule),
        BARE_TEST(test_exec_and_cache_modifiers),
        BARE_TEST(test_bump_region),
        BARE_TEST(test_preset_esp32s3),
        BARE_TEST(test_preset_stm32h743),
        BARE_TEST(test_preset_stm32h743_malloc_order),
        BARE_TEST(test_preset_rp2040),
        BARE_TEST(test_real_presets_hostile),
        BARE_TEST(test_preset_generic),
        BARE_TEST(test_preset_no_lock_and_strategy),
        BARE_TEST(test_print_summary_hostile_names),
        BARE_TEST(test_init_preset_hostile),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
