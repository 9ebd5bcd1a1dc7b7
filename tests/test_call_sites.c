/*
 * The application's call site through every layer (caps.h "Call sites",
 * compat/esp_heap_caps.h, compat/multi_heap.h): each public allocation and
 * free entry point of rtm_caps_*, heap_caps_* and multi_heap_* records the
 * return address of the application's call, so a trace groups leaks by the
 * application's own functions.
 *
 * The application functions below each call one entry point. The recorded
 * caller must lie inside that function: its address range comes from the
 * test executable's symbol table (nm -S), relocated by the difference
 * between a function's run-time address and its address in the file (PIE).
 * Then the trace is dumped and `rtmem leaks --elf` must name every one of
 * those functions.
 */
#define _GNU_SOURCE
#include <link.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include "support/test_support.h"

#include "esp_heap_caps.h"
#include "multi_heap.h"
#include "rtmem/caps.h"
#include "rtmem/presets/esp32.h"
#include "rtmem/trace.h"

#ifdef RTMEM_TOOL_HAVE_LEAKS
#include "leaks.h"
#endif

#if !defined(__GNUC__) && !defined(__clang__)
#error "call sites are recorded with gcc and clang only"
#endif

#define APP_FN __attribute__((noinline))

/* ======================================================================
 * Application code: one function per entry point. Each keeps the result
 * in a global after the call, so the call is never a tail call (a tail
 * call would make the application's caller the return address).
 * ====================================================================== */

enum { SLOTS = 32 };
static void *g_block[SLOTS];
static uint8_t g_pool[16384];
static multi_heap_handle_t g_mh;

APP_FN static void app_rtm_caps_malloc(void)
{
    g_block[0] = rtm_caps_malloc(40, RTM_CAP_8BIT);
}

APP_FN static void app_rtm_caps_calloc(void)
{
    g_block[1] = rtm_caps_calloc(3, 16, RTM_CAP_DMA);
}

APP_FN static void app_rtm_caps_aligned_alloc(void)
{
    g_block[2] = rtm_caps_aligned_alloc(64, 24, RTM_CAP_8BIT);
}

APP_FN static void app_rtm_caps_realloc(void)
{
    g_block[3] = rtm_caps_realloc(NULL, 56, RTM_CAP_8BIT);
}

APP_FN static void app_rtm_caps_malloc_prefer(void)
{
    g_block[4] = rtm_caps_malloc_prefer(72, 2, RTM_CAP_SPM, RTM_CAP_SPIRAM);
}

APP_FN static void app_rtm_caps_malloc_default(void)
{
    g_block[5] = rtm_caps_malloc_default(88);
}

APP_FN static void app_rtm_caps_calloc_default(void)
{
    g_block[6] = rtm_caps_calloc_default(2, 52);
}

APP_FN static void app_rtm_caps_realloc_default(void)
{
    g_block[7] = rtm_caps_realloc_default(NULL, 120);
}

APP_FN static void app_rtm_caps_aligned_alloc_default(void)
{
    g_block[8] = rtm_caps_aligned_alloc_default(32, 136);
}

APP_FN static void app_rtm_caps_alloc_ex(void)
{
    g_block[9] = rtm_caps_alloc_ex(0, 152, RTM_CAP_8BIT, "app", NULL);
}

APP_FN static void app_rtm_caps_realloc_ex(void)
{
    g_block[10] = rtm_caps_realloc_ex(NULL, 168, RTM_CAP_8BIT, "app", NULL);
}

APP_FN static void app_heap_caps_malloc(void)
{
    g_block[11] = heap_caps_malloc(184, MALLOC_CAP_DMA);
}

APP_FN static void app_heap_caps_calloc(void)
{
    g_block[12] = heap_caps_calloc(4, 50, MALLOC_CAP_8BIT);
}

APP_FN static void app_heap_caps_realloc(void)
{
    g_block[13] = heap_caps_realloc(NULL, 216, MALLOC_CAP_8BIT);
}

APP_FN static void app_heap_caps_aligned_alloc(void)
{
    g_block[14] = heap_caps_aligned_alloc(128, 232, MALLOC_CAP_DMA);
}

APP_FN static void app_heap_caps_aligned_calloc(void)
{
    g_block[15] = heap_caps_aligned_calloc(16, 8, 31, MALLOC_CAP_8BIT);
}

APP_FN static void app_heap_caps_malloc_prefer(void)
{
    g_block[16] = heap_caps_malloc_prefer(264, 2, MALLOC_CAP_SPM, MALLOC_CAP_8BIT);
}

APP_FN static void app_heap_caps_calloc_prefer(void)
{
    g_block[17] = heap_caps_calloc_prefer(10, 28, 1, MALLOC_CAP_8BIT);
}

APP_FN static void app_heap_caps_realloc_prefer(void)
{
    g_block[18] = heap_caps_realloc_prefer(NULL, 296, 1, MALLOC_CAP_8BIT);
}

APP_FN static void app_multi_heap_malloc(void)
{
    g_block[19] = multi_heap_malloc(g_mh, 312);
}

APP_FN static void app_multi_heap_aligned_alloc(void)
{
    g_block[20] = multi_heap_aligned_alloc(g_mh, 328, 64);
}

APP_FN static void app_multi_heap_realloc(void)
{
    g_block[21] = multi_heap_realloc(g_mh, NULL, 344);
}

/* A block that exists before the checkpoint and is grown (moved or not)
 * after it: the new record names the realloc's caller. */
APP_FN static void app_grow_with_heap_caps_realloc(void)
{
    g_block[22] = heap_caps_realloc(g_block[22], 4000, MALLOC_CAP_8BIT);
}

/* Frees, checked in RTM_TRACE_ALL mode by their free_caller. */
APP_FN static void app_rtm_caps_free(void)
{
    rtm_caps_free(g_block[0]);
    g_block[0] = NULL;
}

APP_FN static void app_heap_caps_free(void)
{
    heap_caps_free(g_block[11]);
    g_block[11] = NULL;
}

APP_FN static void app_heap_caps_aligned_free(void)
{
    heap_caps_aligned_free(g_block[14]);
    g_block[14] = NULL;
}

APP_FN static void app_multi_heap_free(void)
{
    multi_heap_free(g_mh, g_block[19]);
    g_block[19] = NULL;
}

APP_FN static void app_multi_heap_aligned_free(void)
{
    multi_heap_aligned_free(g_mh, g_block[20]);
    g_block[20] = NULL;
}

APP_FN static void app_rtm_caps_free_ex(void)
{
    rtm_caps_free_ex(g_block[9], NULL);
    g_block[9] = NULL;
}

APP_FN static void app_heap_caps_realloc_to_zero(void)
{
    g_block[13] = heap_caps_realloc(g_block[13], 0, MALLOC_CAP_8BIT);
}

/* ======================================================================
 * Harness
 * ====================================================================== */

typedef void (*app_fn_t)(void);

typedef struct app_entry {
    const char *name;
    app_fn_t fn;
    int slot;
} app_entry_t;

#define ENTRY(fn, slot) {#fn, fn, slot}

static const app_entry_t k_allocs[] = {
    ENTRY(app_rtm_caps_malloc, 0),
    ENTRY(app_rtm_caps_calloc, 1),
    ENTRY(app_rtm_caps_aligned_alloc, 2),
    ENTRY(app_rtm_caps_realloc, 3),
    ENTRY(app_rtm_caps_malloc_prefer, 4),
    ENTRY(app_rtm_caps_malloc_default, 5),
    ENTRY(app_rtm_caps_calloc_default, 6),
    ENTRY(app_rtm_caps_realloc_default, 7),
    ENTRY(app_rtm_caps_aligned_alloc_default, 8),
    ENTRY(app_rtm_caps_alloc_ex, 9),
    ENTRY(app_rtm_caps_realloc_ex, 10),
    ENTRY(app_heap_caps_malloc, 11),
    ENTRY(app_heap_caps_calloc, 12),
    ENTRY(app_heap_caps_realloc, 13),
    ENTRY(app_heap_caps_aligned_alloc, 14),
    ENTRY(app_heap_caps_aligned_calloc, 15),
    ENTRY(app_heap_caps_malloc_prefer, 16),
    ENTRY(app_heap_caps_calloc_prefer, 17),
    ENTRY(app_heap_caps_realloc_prefer, 18),
    ENTRY(app_multi_heap_malloc, 19),
    ENTRY(app_multi_heap_aligned_alloc, 20),
    ENTRY(app_multi_heap_realloc, 21),
    ENTRY(app_grow_with_heap_caps_realloc, 22),
};

/* Each free and the slot whose block it frees. */
static const app_entry_t k_frees[] = {
    ENTRY(app_rtm_caps_free, 0),
    ENTRY(app_heap_caps_free, 11),
    ENTRY(app_heap_caps_aligned_free, 14),
    ENTRY(app_multi_heap_free, 19),
    ENTRY(app_multi_heap_aligned_free, 20),
    ENTRY(app_rtm_caps_free_ex, 9),
    ENTRY(app_heap_caps_realloc_to_zero, 13),
};

/* --- function address ranges from the symbol table ----------------------- */

enum { MAX_FUNCS = TS_ARRAY_LEN(k_allocs) + TS_ARRAY_LEN(k_frees) };

typedef struct fn_range {
    const char *name;
    uintptr_t start; /* run-time address */
    uintptr_t size;
} fn_range_t;

static fn_range_t g_ranges[MAX_FUNCS];
static size_t g_range_count;
static char g_exe[4096];

static bool read_exe_path(void)
{
    ssize_t n = readlink("/proc/self/exe", g_exe, sizeof g_exe - 1u);
    if (n <= 0) {
        return false;
    }
    g_exe[n] = '\0';
    return true;
}

/* Fills g_ranges from `nm -S` of this executable. */
static void load_ranges(void)
{
    assert_true(read_exe_path());
    char cmd[4200];
    snprintf(cmd, sizeof cmd, "'%s' -S --defined-only '%s'", RTM_TEST_NM, g_exe);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    typedef struct nm_sym {
        unsigned long long addr, size;
    } nm_sym_t;
    nm_sym_t found[MAX_FUNCS];
    memset(found, 0, sizeof found);
    const app_entry_t *all[MAX_FUNCS];
    size_t n_all = 0;
    for (size_t i = 0; i < TS_ARRAY_LEN(k_allocs); i++) {
        all[n_all++] = &k_allocs[i];
    }
    for (size_t i = 0; i < TS_ARRAY_LEN(k_frees); i++) {
        all[n_all++] = &k_frees[i];
    }
    char line[512];
    while (fgets(line, sizeof line, p) != NULL) {
        unsigned long long a, s;
        char type;
        char name[256];
        if (sscanf(line, "%llx %llx %c %255s", &a, &s, &type, name) != 4) {
            continue;
        }
        for (size_t i = 0; i < n_all; i++) {
            if (strcmp(name, all[i]->name) == 0) {
                found[i].addr = a;
                found[i].size = s;
            }
        }
    }
    pclose(p);
    /* The load bias: one function's run-time address less its file address. */
    assert_true(found[0].addr != 0);
    uintptr_t bias = (uintptr_t)all[0]->fn - (uintptr_t)found[0].addr;
    g_range_count = 0;
    for (size_t i = 0; i < n_all; i++) {
        if (found[i].addr == 0 || found[i].size == 0) {
            fail_msg("%s is not in the symbol table of %s", all[i]->name, g_exe);
        }
        g_ranges[g_range_count].name = all[i]->name;
        g_ranges[g_range_count].start = (uintptr_t)found[i].addr + bias;
        g_ranges[g_range_count].size = (uintptr_t)found[i].size;
        /* The bias is the same for every function of the executable. */
        assert_true(g_ranges[g_range_count].start == (uintptr_t)all[i]->fn);
        g_range_count++;
    }
}

/* The application function whose code contains addr, or NULL. */
static const char *function_at(const void *addr)
{
    uintptr_t a = (uintptr_t)addr;
    for (size_t i = 0; i < g_range_count; i++) {
        /* A return address is after the call instruction, so it is past
         * the function's first byte and at most at its end. */
        if (a > g_ranges[i].start && a - g_ranges[i].start <= g_ranges[i].size) {
            return g_ranges[i].name;
        }
    }
    return NULL;
}

/* --- fixture ---------------------------------------------------------- */

RTM_TRACE_DEFINE(g_trace_mem, 128);
static rtm_trace_t *g_trace;

static int setup(void **state)
{
    (void)state;
    memset(g_block, 0, sizeof g_block);
    rtm_caps_deinit();
    if (rtm_preset_esp32_init(NULL) != RTM_CAPS_OK) {
        return -1;
    }
    g_mh = multi_heap_register(g_pool, sizeof g_pool);
    g_trace = rtm_trace_init(g_trace_mem, sizeof g_trace_mem);
    if (g_mh == NULL || g_trace == NULL) {
        return -1;
    }
    for (size_t i = 0; i < rtm_caps_region_count(); i++) {
        rtm_trace_attach(g_trace, rtm_caps_region_heap(rtm_caps_region_at(i)));
    }
    rtm_trace_attach(g_trace, g_mh);
    return 0;
}

static int teardown(void **state)
{
    (void)state;
    for (size_t i = 0; i < rtm_caps_region_count(); i++) {
        rtm_heap_set_observer(rtm_caps_region_heap(rtm_caps_region_at(i)), NULL, NULL);
    }
    rtm_heap_set_observer(g_mh, NULL, NULL);
    rtm_trace_deinit(g_trace);
    rtm_heap_deinit(g_mh);
    rtm_caps_deinit();
    rtm_output_set(NULL, NULL);
    return 0;
}

/* Runs every allocating application function after a checkpoint. */
static uint32_t allocate_all(void)
{
    g_block[22] = heap_caps_malloc(24, MALLOC_CAP_8BIT); /* before the checkpoint */
    assert_non_null(g_block[22]);
    uint32_t cp = rtm_trace_checkpoint(g_trace);
    for (size_t i = 0; i < TS_ARRAY_LEN(k_allocs); i++) {
        k_allocs[i].fn();
        if (g_block[k_allocs[i].slot] == NULL) {
            fail_msg("%s got no memory", k_allocs[i].name);
        }
    }
    return cp;
}

static void free_all(void)
{
    for (size_t i = 0; i < SLOTS; i++) {
        if (g_block[i] == NULL) {
            continue;
        }
        if (rtm_caps_region_of(g_block[i]) != NULL) {
            rtm_caps_free(g_block[i]);
        } else {
            multi_heap_free(g_mh, g_block[i]);
        }
        g_block[i] = NULL;
    }
}

/* --- tests ------------------------------------------------------------ */

/* rtm_trace_leaks_since gives one group per application function, each
 * named by a caller inside that function. */
static void test_leak_groups_name_the_application(void **state)
{
    (void)state;
    load_ranges();
    assert_true(rtm_trace_start(g_trace, RTM_TRACE_LEAKS));
    uint32_t cp = allocate_all();
    rtm_trace_leak_group_t groups[MAX_FUNCS + 4];
    rtm_trace_leak_totals_t totals;
    size_t n = rtm_trace_leaks_since(g_trace, cp, groups, TS_ARRAY_LEN(groups), &totals);
    assert_int_equal(n, TS_ARRAY_LEN(k_allocs));
    assert_int_equal(totals.groups, TS_ARRAY_LEN(k_allocs));
    bool seen[TS_ARRAY_LEN(k_allocs)];
    memset(seen, 0, sizeof seen);
    for (size_t g = 0; g < n; g++) {
        const char *fn = function_at(groups[g].callers[0]);
        if (fn == NULL) {
            fail_msg("group %zu: caller %p is in no application function", g,
                     groups[g].callers[0]);
        }
        assert_int_equal(groups[g].blocks, 1);
        for (size_t i = 0; i < TS_ARRAY_LEN(k_allocs); i++) {
            if (strcmp(fn, k_allocs[i].name) == 0) {
                assert_false(seen[i]);
                seen[i] = true;
                assert_ptr_equal(groups[g].first_ptr, g_block[k_allocs[i].slot]);
            }
        }
    }
    for (size_t i = 0; i < TS_ARRAY_LEN(k_allocs); i++) {
        if (!seen[i]) {
            fail_msg("no leak group names %s", k_allocs[i].name);
        }
    }
    free_all();
}

/* Frees (and a realloc to size 0) record the application's function too. */
static void test_frees_name_the_application(void **state)
{
    (void)state;
    load_ranges();
    assert_true(rtm_trace_start(g_trace, RTM_TRACE_ALL));
    (void)allocate_all();
    void *freed[TS_ARRAY_LEN(k_frees)];
    for (size_t i = 0; i < TS_ARRAY_LEN(k_frees); i++) {
        freed[i] = g_block[k_frees[i].slot];
        k_frees[i].fn();
        assert_null(g_block[k_frees[i].slot]);
    }
    rtm_trace_record_t rec[64];
    size_t n = rtm_trace_records(g_trace, 0, rec, TS_ARRAY_LEN(rec), NULL);
    for (size_t i = 0; i < TS_ARRAY_LEN(k_frees); i++) {
        bool found = false;
        for (size_t r = 0; r < n; r++) {
            if (rec[r].ptr != freed[i] || rec[r].state != RTM_TRACE_REC_FREED) {
                continue;
            }
            const char *fn = function_at(rec[r].free_caller);
            if (fn == NULL || strcmp(fn, k_frees[i].name) != 0) {
                fail_msg("free by %s recorded caller %p (%s)", k_frees[i].name,
                         rec[r].free_caller, fn != NULL ? fn : "no application function");
            }
            found = true;
        }
        if (!found) {
            fail_msg("no freed record for %s", k_frees[i].name);
        }
    }
    free_all();
}

#ifdef RTMEM_TOOL_HAVE_LEAKS
typedef struct file_sink {
    FILE *f;
} file_sink_t;

static void write_to_file(const char *text, size_t len, void *ctx)
{
    file_sink_t *s = ctx;
    (void)fwrite(text, 1, len, s->f);
}

static int exe_range(struct dl_phdr_info *info, size_t size, void *data)
{
    (void)size;
    uint64_t *r = data;
    uint64_t lo = UINT64_MAX;
    uint64_t hi = 0;
    for (size_t i = 0; i < info->dlpi_phnum; i++) {
        const ElfW(Phdr) *ph = &info->dlpi_phdr[i];
        if (ph->p_type != PT_LOAD) {
            continue;
        }
        uint64_t a = (uint64_t)info->dlpi_addr + (uint64_t)ph->p_vaddr;
        lo = a < lo ? a : lo;
        hi = a + (uint64_t)ph->p_memsz > hi ? a + (uint64_t)ph->p_memsz : hi;
    }
    r[0] = (uint64_t)info->dlpi_addr;
    r[1] = lo;
    r[2] = hi;
    return 1; /* the executable is the first object */
}

/* The trace as `rtmem record` would write it (dump plus the executable's
 * load range), then `rtmem leaks --elf` on it: every application function
 * is named, none of rtmem's. */
static void test_rtmem_leaks_names_the_application(void **state)
{
    (void)state;
    if (system("command -v addr2line >/dev/null 2>&1") != 0) {
        print_message("SKIPPED: addr2line not on PATH; symbolization not tested\n");
        skip();
    }
    load_ranges();
    assert_true(rtm_trace_start(g_trace, RTM_TRACE_LEAKS));
    g_block[22] = heap_caps_malloc(24, MALLOC_CAP_8BIT);
    rtm_trace_stop(g_trace); /* the block from before: not in the dump */
    assert_true(rtm_trace_start(g_trace, RTM_TRACE_LEAKS));
    for (size_t i = 0; i < TS_ARRAY_LEN(k_allocs); i++) {
        k_allocs[i].fn();
    }
    char path[128];
    snprintf(path, sizeof path, "/tmp/rtmem_call_sites_%ld.txt", (long)getpid());
    file_sink_t sink = {fopen(path, "w")};
    assert_non_null(sink.f);
    uint64_t r[3] = {0, 0, 0};
    dl_iterate_phdr(exe_range, r);
    fprintf(sink.f, "# rtmem-trace 1\n# rtmem-record exe_base=0x%llx exe_lo=0x%llx exe_hi=0x%llx\n",
            (unsigned long long)r[0], (unsigned long long)r[1], (unsigned long long)r[2]);
    rtm_output_set(write_to_file, &sink);
    rtm_trace_dump(g_trace, false);
    rtm_output_set(NULL, NULL);
    fclose(sink.f);

    char out_path[160];
    snprintf(out_path, sizeof out_path, "%s.out", path);
    char *argv[] = {(char *)"leaks", path, (char *)"--json", (char *)"--elf", g_exe, NULL};
    fflush(stdout);
    int saved = dup(1);
    FILE *cap = fopen(out_path, "w+");
    assert_non_null(cap);
    dup2(fileno(cap), 1);
    int rc = rtm_cmd_leaks(5, argv);
    fflush(stdout);
    dup2(saved, 1);
    close(saved);
    static char out[65536];
    rewind(cap);
    size_t len = fread(out, 1, sizeof out - 1u, cap);
    out[len] = '\0';
    fclose(cap);
    remove(out_path);
    remove(path);
    assert_int_equal(rc, 1); /* leaks found */
    for (size_t i = 0; i < TS_ARRAY_LEN(k_allocs); i++) {
        char want[128];
        snprintf(want, sizeof want, "\"function\":\"%s\"", k_allocs[i].name);
        if (strstr(out, want) == NULL) {
            fail_msg("rtmem leaks does not name %s:\n%s", k_allocs[i].name, out);
        }
    }
    const char *internal[] = {"select_alloc", "caps_alloc", "alloc_base", "heap_caps_malloc",
                              "rtm_caps_malloc", "multi_heap_malloc"};
    for (size_t i = 0; i < TS_ARRAY_LEN(internal); i++) {
        char bad[128];
        snprintf(bad, sizeof bad, "\"function\":\"%s\"", internal[i]);
        assert_null(strstr(out, bad));
    }
    free_all();
}
#endif

int main(void)
{
#define T(fn) cmocka_unit_test_setup_teardown(fn, setup, teardown)
    const struct CMUnitTest tests[] = {
        T(test_leak_groups_name_the_application),
        T(test_frees_name_the_application),
#ifdef RTMEM_TOOL_HAVE_LEAKS
        T(test_rtmem_leaks_names_the_application),
#endif
    };
#undef T
    return cmocka_run_group_tests(tests, NULL, NULL);
}
