/*
 * Hostile sizes, counts and alignments for every public function that takes
 * one: SIZE_MAX and just below it, SIZE_MAX / 2 + 1, the 32-bit limits,
 * the heap's own size and one byte either side, calloc products that
 * overflow by one, alignments that are zero, odd, not powers of two, 2^31
 * or larger than the heap, and NULL pointers.
 *
 * Every refused allocation must return NULL, call the failed-allocation
 * hook exactly as the header documents (size, alignment, reason or caps and
 * function name; no call where the header says "without a report"), and
 * leave the object as it was: rtm_heap_info identical except failed_count,
 * rtm_heap_check passing, live blocks intact. Heaps run for every strategy,
 * capability regions for every strategy a region may use.
 */
#include <setjmp.h>
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <cmocka.h>

#include "rtmem/caps.h"
#include "rtmem/heap.h"
#include "rtmem/output.h"
#include "rtmem/pool.h"
#include "rtmem/task_stats.h"
#include "rtmem/trace.h"
#include "support/test_support.h"

/* The ESP-IDF names are linked only when the suite is linked with
 * rtmem::esp_compat, which puts compat/ on the include path. */
#if defined(__has_include)
#if __has_include("esp_heap_caps.h")
#define HOSTILE_ESP_COMPAT 1
#include "esp_heap_caps.h"
#include "multi_heap.h"
#endif
#endif

#define ALL_REASONS                                                                     \
    (TS_REASON_BIT(RTM_FAIL_NO_MEMORY) | TS_REASON_BIT(RTM_FAIL_FRAGMENTED) |           \
     TS_REASON_BIT(RTM_FAIL_TOO_LARGE) | TS_REASON_BIT(RTM_FAIL_TABLE_FULL))

static const rtm_strategy_id_t k_strategies[] = {RTM_TLSF, RTM_FIRST_FIT, RTM_BEST_FIT, RTM_BUMP,
                                                 RTM_SYSTEM};

/* Alignments that are not powers of two (0 is handled on its own: it
 * means "the granularity" to some functions). */
static const size_t k_bad_alignments[] = {3,  5,  6,  12, 24, 48, 96, 100, 1000, 4097,
                                          (size_t)0x80000001u, (size_t)0xC0000000u,
                                          SIZE_MAX, SIZE_MAX / 2, SIZE_MAX - 1};

/* ------------------------------------------------------------------ */
/* Hostile sizes                                                        */

#define MAX_SIZES 64u

typedef struct size_list {
    size_t v[MAX_SIZES];
    size_t n;
} size_list_t;

static void add_size(size_list_t *l, size_t v)
{
    assert_true(l->n < MAX_SIZES);
    l->v[l->n++] = v;
}

/* Sizes no allocation in a heap of region_bytes (total_bytes for
 * RTM_SYSTEM) can ever satisfy, and the largest-free boundary. */
static void hostile_sizes(size_list_t *l, size_t region_bytes, size_t total_bytes,
                          size_t largest_free)
{
    l->n = 0;
    for (size_t k = 0; k <= 16; k++) {
        add_size(l, SIZE_MAX - k);
    }
    add_size(l, SIZE_MAX / 2 + 1);
    add_size(l, SIZE_MAX / 2);
    add_size(l, SIZE_MAX / 2 - 7);
    for (size_t k = 0; k <= 8; k++) {
        add_size(l, (size_t)UINT32_MAX - k);
    }
    add_size(l, (size_t)UINT32_MAX - 12);
    add_size(l, (size_t)UINT32_MAX - 16);
    add_size(l, (size_t)INT32_MAX + 1u);
#if SIZE_MAX > UINT32_MAX
    add_size(l, (size_t)UINT32_MAX + 1u);
    add_size(l, (size_t)UINT32_MAX + 8u);
#endif
    add_size(l, region_bytes - 1u);
    add_size(l, region_bytes);
    add_size(l, region_bytes + 1u);
    add_size(l, total_bytes);
    add_size(l, total_bytes + 1u);
    add_size(l, largest_free + 1u);
}

/* The reasons a refusal of size may give: one that exceeds the heap's
 * total size "cannot fit this heap at all". */
static unsigned reasons_for(const rtm_heap_info_t *info, size_t size)
{
    return size >= info->total_bytes ? TS_REASON_BIT(RTM_FAIL_TOO_LARGE) : ALL_REASONS;
}

/* ------------------------------------------------------------------ */
/* "Refused and nothing changed"                                        */

/* Every field but failed_count equal; failed_count up by failures. */
static void assert_info_same_at(const rtm_heap_info_t *before, const rtm_heap_info_t *after,
                                size_t failures, const char *file, int line)
{
    rtm_heap_info_t want = *before;
    want.failed_count += failures;
    ts_assert_info_equal_at(&want, after, file, line);
}

typedef struct expect {
    ts_heap_t *th;
    rtm_heap_info_t before;
} expect_t;

static void expect_begin(expect_t *e, ts_heap_t *th)
{
    e->th = th;
    ts_hooks_clear(&th->rec);
    assert_true(rtm_heap_info(th->heap, &e->before));
}

/* p is NULL, the hook ran once with (size, alignment, one of reasons), the
 * heap is the same but for one more failure, and it checks out. */
static void expect_refused_at(expect_t *e, const void *p, size_t size, size_t alignment,
                              unsigned reasons, const char *file, int line)
{
    ts_hooks_t *rec = &e->th->rec;
    if (p != NULL) {
        ts_fail_at(file, line, "allocation of %zu bytes (alignment %zu) succeeded", size, alignment);
    }
    if (rec->failed_calls != 1 || rec->misuse_calls != 0) {
        ts_fail_at(file, line, "size %zu alignment %zu: %u failed-hook and %u misuse-hook calls",
                   size, alignment, rec->failed_calls, rec->misuse_calls);
    }
    if (rec->failed_heap != e->th->heap || rec->failed_size != size ||
        rec->failed_alignment != alignment || (reasons & TS_REASON_BIT(rec->failed_reason)) == 0) {
        ts_fail_at(file, line,
                   "hook got size %zu alignment %zu reason %s, expected size %zu alignment %zu",
                   rec->failed_size, rec->failed_alignment,
                   rtm_fail_reason_str(rec->failed_reason), size, alignment);
    }
    rtm_heap_info_t after;
    assert_true(rtm_heap_info(e->th->heap, &after));
    assert_info_same_at(&e->before, &after, 1, file, line);
    rtm_check_report_t rep = {NULL, NULL};
    if (!rtm_heap_check(e->th->heap, &rep)) {
        ts_fail_at(file, line, "rtm_heap_check: %s", rep.problem);
    }
    ts_hooks_clear(rec);
}
#define expect_refused(e, p, size, alignment, reasons) \
    expect_refused_at((e), (p), (size), (alignment), (reasons), __FILE__, __LINE__)

/* p is NULL, no hook ran and nothing changed, failed_count included. */
static void expect_quiet_null_at(expect_t *e, const void *p, const char *file, int line)
{
    if (p != NULL) {
        ts_fail_at(file, line, "expected NULL");
    }
    ts_expect_no_hooks_at(e->th, file, line);
    rtm_heap_info_t after;
    assert_true(rtm_heap_info(e->th->heap, &after));
    assert_info_same_at(&e->before, &after, 0, file, line);
}
#define expect_quiet_null(e, p) expect_quiet_null_at((e), (p), __FILE__, __LINE__)

/* The alignment the failed-allocation hook reports for a request: like
 * rtm_heap_event_t.alignment, 0 when it is at most the granularity. */
static size_t reported_alignment(const ts_heap_t *th, size_t alignment)
{
    return alignment <= th->granularity ? 0u : alignment;
}

static bool begin_strategy(rtm_strategy_id_t s)
{
    if (!ts_strategy_available(s)) {
        print_message("      %s not compiled in: skipped\n", ts_strategy_label(s));
        return false;
    }
    return true;
}

/* Whether some multiple of alignment lies in [start, end): only then can
 * a block with that alignment exist there. */
static bool holds_multiple(uintptr_t start, uintptr_t end, size_t alignment)
{
    uintptr_t a = (uintptr_t)alignment;
    if ((size_t)a != alignment) {
        return false; /* wider than any address */
    }
    uintptr_t up = (start + (a - 1u)) & ~(a - 1u);
    return up >= start && up < end;
}

/* ------------------------------------------------------------------ */
/* Heap allocation functions                                            */

/* A live block whose pattern every refused call must leave alone. */
typedef struct witness {
    uint8_t *p;
    size_t n;
} witness_t;

static void witness_make(witness_t *w, ts_heap_t *th)
{
    w->n = 40;
    w->p = rtm_malloc(th->heap, w->n);
    assert_non_null(w->p);
    ts_pattern_fill(w->p, w->n, 77);
}

static void witness_check(const witness_t *w)
{
    assert_int_equal(ts_pattern_check(w->p, w->n, 77), w->n);
}

static void heap_sizes_for(rtm_strategy_id_t s)
{
    ts_heap_t *th = ts_heap_open(s, 0);
    witness_t wit;
    witness_make(&wit, th);
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(th->heap, &info));
    size_list_t sizes;
    hostile_sizes(&sizes, th->size, info.total_bytes, info.largest_free_block);
    expect_t e;

    for (size_t i = 0; i < sizes.n; i++) {
        size_t n = sizes.v[i];
        ts_context("%s, size %zu", ts_strategy_label(s), n);
        unsigned why = reasons_for(&info, n);

        expect_begin(&e, th);
        expect_refused(&e, rtm_malloc(th->heap, n), n, 0, why);

        expect_begin(&e, th);
        expect_refused(&e, rtm_heap_alloc_ex(th->heap, n, 0, NULL), n, 0, why);

        expect_begin(&e, th);
        expect_refused(&e, rtm_malloc_ex(th->heap, n, NULL), n, 0, why);

        static const size_t aligns[] = {4, 8, 16, 64, 4096};
        for (size_t a = 0; a < TS_ARRAY_LEN(aligns); a++) {
            expect_begin(&e, th);
            expect_refused(&e, rtm_aligned_alloc(th->heap, aligns[a], n), n,
                           reported_alignment(th, aligns[a]), why);
            expect_begin(&e, th);
            expect_refused(&e, rtm_heap_alloc_ex(th->heap, n, aligns[a], NULL), n,
                           reported_alignment(th, aligns[a]), why);
        }

        expect_begin(&e, th);
        expect_refused(&e, rtm_calloc(th->heap, 1, n), n, 0, why);
        expect_begin(&e, th);
        expect_refused(&e, rtm_calloc(th->heap, n, 1), n, 0, why);

        /* realloc of NULL is a malloc; of a live block it leaves the
         * block. Growing in place can add the witness's own bytes and its
         * header to the largest free block, so only sizes beyond that are
         * sure to fail. */
        expect_begin(&e, th);
        expect_refused(&e, rtm_realloc(th->heap, NULL, n), n, 0, why);
        if (n > info.largest_free_block + rtm_usable_size(th->heap, wit.p) + 64u) {
            expect_begin(&e, th);
            expect_refused(&e, rtm_realloc(th->heap, wit.p, n), n, 0, why);
            witness_check(&wit);
            expect_begin(&e, th);
            expect_refused(&e, rtm_realloc_ex(th->heap, wit.p, n, NULL), n, 0, why);
            witness_check(&wit);
        }
    }
    ts_context(NULL);
    if (ts_frees(s)) {
        rtm_free(th->heap, wit.p);
    }
    ts_assert_heap_sane(th, NULL);
}

static void heap_alignments_for(rtm_strategy_id_t s)
{
    ts_heap_t *th = ts_heap_open(s, 0);
    witness_t wit;
    witness_make(&wit, th);
    expect_t e;
    static const size_t sizes[] = {1, 16, 100, SIZE_MAX};

    for (size_t i = 0; i < TS_ARRAY_LEN(k_bad_alignments); i++) {
        size_t a = k_bad_alignments[i];
        for (size_t k = 0; k < TS_ARRAY_LEN(sizes); k++) {
            ts_context("%s, alignment %zu, size %zu", ts_strategy_label(s), a, sizes[k]);
            expect_begin(&e, th);
            expect_refused(&e, rtm_aligned_alloc(th->heap, a, sizes[k]), sizes[k], a,
                           TS_REASON_BIT(RTM_FAIL_BAD_ALIGNMENT));
            expect_begin(&e, th);
            expect_refused(&e, rtm_heap_alloc_ex(th->heap, sizes[k], a, NULL), sizes[k], a,
                           TS_REASON_BIT(RTM_FAIL_BAD_ALIGNMENT));
        }
        /* A bad alignment is a failure even with size 0. */
        expect_begin(&e, th);
        expect_refused(&e, rtm_aligned_alloc(th->heap, a, 0), 0, a,
                       TS_REASON_BIT(RTM_FAIL_BAD_ALIGNMENT));
    }
    ts_context("%s, alignment 0", ts_strategy_label(s));
    expect_begin(&e, th);
    expect_refused(&e, rtm_aligned_alloc(th->heap, 0, 16), 16, 0,
                   TS_REASON_BIT(RTM_FAIL_BAD_ALIGNMENT));
    expect_begin(&e, th);
    expect_refused(&e, rtm_aligned_alloc(th->heap, 0, SIZE_MAX), SIZE_MAX, 0,
                   TS_REASON_BIT(RTM_FAIL_BAD_ALIGNMENT));

    /* Size 0 with a valid alignment: NULL, and not a failure. */
    expect_begin(&e, th);
    expect_quiet_null(&e, rtm_aligned_alloc(th->heap, 16, 0));
    expect_begin(&e, th);
    expect_quiet_null(&e, rtm_malloc(th->heap, 0));
    expect_begin(&e, th);
    expect_quiet_null(&e, rtm_heap_alloc_ex(th->heap, 0, 64, NULL));
    ts_context(NULL);
    witness_check(&wit);
    if (ts_frees(s)) {
        rtm_free(th->heap, wit.p);
    }
    ts_assert_heap_sane(th, NULL);
}

/* Powers of two no block of this heap can be aligned to. */
static void heap_huge_alignments_for(rtm_strategy_id_t s)
{
    ts_heap_t *th = ts_heap_open(s, 0);
    witness_t wit;
    witness_make(&wit, th);
    expect_t e;
    size_t aligns[8];
    size_t n = 0;
    aligns[n++] = (size_t)1u << 31;
    aligns[n++] = SIZE_MAX / 2 + 1;
#if SIZE_MAX > UINT32_MAX
    aligns[n++] = (size_t)1u << 32;
    aligns[n++] = (size_t)1u << 40;
#endif
    size_t above = 1;
    while (above <= th->size) {
        above <<= 1;
    }
    aligns[n++] = above;
    aligns[n++] = above << 1;
    for (size_t i = 0; i < n; i++) {
        ts_context("%s, alignment %zu", ts_strategy_label(s), aligns[i]);
        /* RTM_SYSTEM asks libc, whose blocks lie anywhere: only an
         * alignment no object can have (above PTRDIFF_MAX) is sure to
         * fail there. See test_system_alignment_budget for the others. */
        if (s == RTM_SYSTEM ? aligns[i] <= (size_t)PTRDIFF_MAX
                            : holds_multiple((uintptr_t)th->mem, (uintptr_t)th->mem + th->size,
                                             aligns[i])) {
            continue;
        }
        static const size_t sizes[] = {1, 16, 1000};
        for (size_t k = 0; k < TS_ARRAY_LEN(sizes); k++) {
            expect_begin(&e, th);
            expect_refused(&e, rtm_aligned_alloc(th->heap, aligns[i], sizes[k]), sizes[k],
                           aligns[i], ALL_REASONS);
            expect_begin(&e, th);
            expect_refused(&e, rtm_heap_alloc_ex(th->heap, sizes[k], aligns[i], NULL), sizes[k],
                           aligns[i], ALL_REASONS);
        }
        expect_begin(&e, th);
        expect_refused(&e, rtm_aligned_alloc(th->heap, aligns[i], SIZE_MAX), SIZE_MAX, aligns[i],
                       TS_REASON_BIT(RTM_FAIL_TOO_LARGE));
    }
    ts_context(NULL);
    witness_check(&wit);
    if (ts_frees(s)) {
        rtm_free(th->heap, wit.p);
    }
    ts_assert_heap_sane(th, NULL);
}

/*
 * RTM_SYSTEM books a request's size against its budget, but hands the
 * alignment to libc, whose aligned_alloc then reserves up to the alignment:
 * a request whose alignment exceeds the budget is refused like one whose
 * size does (RTM_FAIL_TOO_LARGE). It used to succeed (2 GiB of libc memory
 * for 1 booked byte on a 32 KiB budget).
 */
static void test_system_alignment_budget(void **state)
{
    (void)state;
    if (!ts_strategy_available(RTM_SYSTEM)) {
        skip();
    }
    ts_heap_t *th = ts_heap_open(RTM_SYSTEM, 0);
    expect_t e;
    const size_t aligns[] = {64u * 1024u, 1024u * 1024u, (size_t)1u << 31};
    for (size_t i = 0; i < TS_ARRAY_LEN(aligns); i++) {
        ts_context("system, alignment %zu, budget %u", aligns[i], (unsigned)TS_SYSTEM_BUDGET);
        expect_begin(&e, th);
        void *p = rtm_aligned_alloc(th->heap, aligns[i], 1);
        if (p != NULL) {
            rtm_free(th->heap, p);
        }
        expect_refused(&e, p, 1, aligns[i], TS_REASON_BIT(RTM_FAIL_TOO_LARGE));
    }
    ts_context(NULL);
}

static void heap_calloc_for(rtm_strategy_id_t s)
{
    ts_heap_t *th = ts_heap_open(s, 0);
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(th->heap, &info));
    expect_t e;
    static const size_t elems[] = {2, 3, 7, 8, 16, 24, 1000, 4096, 65537};
    for (size_t i = 0; i < TS_ARRAY_LEN(elems); i++) {
        size_t size = elems[i];
        size_t most = SIZE_MAX / size; /* the largest count that does not overflow */
        ts_context("%s, calloc element %zu", ts_strategy_label(s), size);
        /* Overflow by one, either argument order. */
        expect_begin(&e, th);
        expect_refused(&e, rtm_calloc(th->heap, most + 1u, size), SIZE_MAX, 0,
                       TS_REASON_BIT(RTM_FAIL_OVERFLOW));
        expect_begin(&e, th);
        expect_refused(&e, rtm_calloc(th->heap, size, most + 1u), SIZE_MAX, 0,
                       TS_REASON_BIT(RTM_FAIL_OVERFLOW));
        expect_begin(&e, th);
        expect_refused(&e, rtm_calloc(th->heap, SIZE_MAX, size), SIZE_MAX, 0,
                       TS_REASON_BIT(RTM_FAIL_OVERFLOW));
        /* The largest product that fits size_t: too large, not overflow. */
        expect_begin(&e, th);
        expect_refused(&e, rtm_calloc(th->heap, most, size), most * size, 0,
                       TS_REASON_BIT(RTM_FAIL_TOO_LARGE));
    }
    ts_context("%s, calloc", ts_strategy_label(s));
    expect_begin(&e, th);
    expect_refused(&e, rtm_calloc(th->heap, SIZE_MAX / 2 + 1, 2), SIZE_MAX, 0,
                   TS_REASON_BIT(RTM_FAIL_OVERFLOW));
    expect_begin(&e, th);
    expect_refused(&e, rtm_calloc(th->heap, SIZE_MAX, SIZE_MAX), SIZE_MAX, 0,
                   TS_REASON_BIT(RTM_FAIL_OVERFLOW));
    expect_begin(&e, th);
    expect_refused(&e, rtm_calloc(th->heap, (size_t)UINT32_MAX, (size_t)UINT32_MAX),
                   SIZE_MAX > UINT32_MAX ? (size_t)UINT32_MAX * (size_t)UINT32_MAX : SIZE_MAX, 0,
                   SIZE_MAX > UINT32_MAX ? TS_REASON_BIT(RTM_FAIL_TOO_LARGE)
                                         : TS_REASON_BIT(RTM_FAIL_OVERFLOW));
    /* A zero count or size is not a failure, whatever the other one is. */
    expect_begin(&e, th);
    expect_quiet_null(&e, rtm_calloc(th->heap, 0, SIZE_MAX));
    expect_begin(&e, th);
    expect_quiet_null(&e, rtm_calloc(th->heap, SIZE_MAX, 0));
    expect_begin(&e, th);
    expect_quiet_null(&e, rtm_realloc(th->heap, NULL, 0));
    ts_context(NULL);
    ts_assert_heap_sane(th, NULL);
}

/* NULL heaps and pointers: NULL/0/false, nothing reported anywhere. */
/* Names the application gave are written on their report's line with the
 * bytes below 0x20 and 0x7f as '?' (output.h, rtm_line_str): a heap or
 * pool named with a newline cannot start a line of its own, such as a
 * trace line in a UART capture that the host tools read. */
static void test_names_stay_on_their_line(void **state)
{
    (void)state;
    static const char evil[] = "app\nf 1 x\r\x7f\x1b[2J";
    rtm_line_t line;
    rtm_line_init(&line);
    rtm_line_str(&line, evil);
    assert_string_equal(rtm_line_text(&line), "app?f 1 x???[2J");
    rtm_line_init(&line);
    rtm_line_str(&line, "caf\xc3\xa9 ok");
    assert_string_equal(rtm_line_text(&line), "caf\xc3\xa9 ok");
    rtm_line_init(&line);
    rtm_line_str(&line, NULL);
    assert_string_equal(rtm_line_text(&line), "(null)");
    /* The trace's token writer: escapes, keeps nothing raw, and takes NULL
     * and a cut at max. */
    rtm_line_init(&line);
    rtm_line_token(&line, evil, sizeof evil);
    assert_string_equal(rtm_line_text(&line), "app%0Af%201%20x%0D%7F%1B%5B2J");
    rtm_line_init(&line);
    rtm_line_token(&line, "wifi...", 7);
    rtm_line_token(&line, NULL, 4);
    rtm_line_token(&line, "abc.def", 4);
    assert_string_equal(rtm_line_text(&line), "wifi..%2Eabc%2E");

    ts_output_t out;
    ts_output_capture(&out);
    static _Alignas(8) uint8_t heap_mem[8 * 1024];
    rtm_heap_config_t hcfg = {.name = evil, .flags = RTM_HEAP_NO_LOCK};
    rtm_heap_t *heap = rtm_heap_init(heap_mem, sizeof heap_mem, &hcfg);
    assert_non_null(heap);
    int local = 0;
    rtm_free(heap, &local);
    assert_int_equal(out.writes, 1);
    assert_non_null(strstr(out.last, "in heap 'app?f 1 x???[2J'"));
    assert_ptr_equal(strchr(out.last, '\n'), out.last + out.last_len - 1u);

    static rtm_pool_t ctl;
    static _Alignas(8) uint8_t pool_mem[RTM_POOL_STORAGE_SIZE(32, 4, 0)];
    rtm_pool_config_t pcfg = {.block_size = 32, .count = 4, .name = evil};
    rtm_pool_t *pool = rtm_pool_init(&ctl, pool_mem, sizeof pool_mem, &pcfg);
    assert_non_null(pool);
    rtm_pool_free(pool, &local);
    assert_int_equal(out.writes, 2);
    assert_non_null(strstr(out.last, "'app?f 1 x???[2J'"));
    assert_ptr_equal(strchr(out.last, '\n'), out.last + out.last_len - 1u);
    ts_output_release();
}

/* rtm_output_report (output.h): the exact line, a NULL name without its
 * quotes, NULL strings as "(null)", names kept on their line; with the
 * hook removed the report is dropped, not kept for the next hook. That a
 * program without a hook links no line building is test_link_only_used's. */
static void test_output_report_line(void **state)
{
    (void)state;
    ts_output_t out;
    ts_output_capture(&out);
    rtm_output_report("double free", (const void *)(uintptr_t)0x1230u, "pool", "rx");
    assert_int_equal(out.writes, 1);
    assert_string_equal(out.last, "rtmem: double free at 0x1230 in pool 'rx'\n");
    rtm_output_report("corrupt block", (const void *)(uintptr_t)0x8u, "no region", NULL);
    assert_string_equal(out.last, "rtmem: corrupt block at 0x8 in no region\n");
    rtm_output_report(NULL, NULL, NULL, "a\nb");
    assert_string_equal(out.last, "rtmem: (null) at 0x0 in (null) 'a?b'\n");
    assert_int_equal(out.writes, 3);
    ts_output_release();
    rtm_output_report("double free", &out, "heap", "h"); /* no hook: dropped */
    ts_output_t again;
    ts_output_capture(&again);
    assert_int_equal(again.writes, 0); /* nothing was kept for later */
    rtm_output_report("double free", (const void *)(uintptr_t)0x10u, "heap", "h");
    assert_int_equal(again.writes, 1);
    assert_string_equal(again.last, "rtmem: double free at 0x10 in heap 'h'\n");
    ts_output_release();
}

static void test_heap_null_arguments(void **state)
{
    (void)state;
    assert_null(rtm_malloc(NULL, 16));
    assert_null(rtm_malloc(NULL, SIZE_MAX));
    assert_null(rtm_calloc(NULL, SIZE_MAX, 2));
    assert_null(rtm_aligned_alloc(NULL, 0, 16));
    assert_null(rtm_aligned_alloc(NULL, 3, 16));
    assert_null(rtm_aligned_alloc(NULL, 16, SIZE_MAX));
    assert_null(rtm_heap_alloc_ex(NULL, SIZE_MAX, 24, NULL));
    assert_null(rtm_malloc_ex(NULL, 16, NULL));
    assert_null(rtm_malloc_ex(NULL, SIZE_MAX, NULL));
    assert_null(rtm_realloc(NULL, NULL, SIZE_MAX));
    assert_null(rtm_realloc_ex(NULL, NULL, 16, NULL));
    rtm_free(NULL, NULL);
    assert_int_equal(rtm_usable_size(NULL, NULL), 0);
    assert_false(rtm_heap_info(NULL, NULL));
    assert_int_equal(rtm_heap_largest_free(NULL), 0);
    assert_null(rtm_heap_create(NULL, 4096, NULL));
    assert_null(rtm_heap_create(NULL, SIZE_MAX, NULL));
    rtm_heap_destroy(NULL);
    rtm_heap_deinit(NULL);
    assert_false(rtm_heap_check(NULL, NULL));

    ts_heap_t *th = ts_heap_open(RTM_TLSF, 0);
    rtm_heap_info_t before, after;
    assert_true(rtm_heap_info(th->heap, &before));
    assert_false(rtm_heap_info(th->heap, NULL));
    rtm_free(th->heap, NULL);
    assert_int_equal(rtm_usable_size(th->heap, NULL), 0);
    ts_expect_no_hooks(th);
    assert_true(rtm_heap_info(th->heap, &after));
    ts_assert_info_equal(&before, &after);
}

/* rtm_malloc(heap, 0) and rtm_free(heap, NULL) on heaps whose strategy
 * takes the whole call (no failure hook, no observer: the front passes the
 * call on without testing the size or the pointer), with and without a
 * lock and at two granularities, for every strategy: NULL and nothing
 * counted, reported or changed. */
static void test_plain_path_zero_and_null(void **state)
{
    (void)state;
    static const uint32_t flags[] = {RTM_HEAP_NO_LOCK, 0u};
    static const size_t granularities[] = {0u, 16u};
    for (int id = 0; id < RTM_STRATEGY_COUNT; id++) {
        if (!ts_strategy_available((rtm_strategy_id_t)id)) {
            continue;
        }
        for (size_t f = 0; f < TS_ARRAY_LEN(flags); f++) {
            for (size_t g = 0; g < TS_ARRAY_LEN(granularities); g++) {
                ts_context("%s, flags %u, granularity %zu", ts_strategy_label((rtm_strategy_id_t)id),
                           (unsigned)flags[f], granularities[g]);
                ts_heap_opts_t o;
                memset(&o, 0, sizeof o);
                o.strategy = (rtm_strategy_id_t)id;
                o.flags = flags[f];
                o.granularity = granularities[g];
                ts_heap_t *th = ts_heap_open_ex(&o);
                rtm_heap_set_hooks(th->heap, NULL, ts_on_misuse, &th->rec);
                rtm_heap_info_t before, after;
                ts_assert_heap_sane(th, &before);
                for (int i = 0; i < 3; i++) {
                    assert_null(rtm_malloc(th->heap, 0));
                    rtm_free(th->heap, NULL);
                }
                ts_expect_no_hooks(th);
                ts_assert_heap_sane(th, &after);
                ts_assert_info_equal(&before, &after);
                /* Still serving: one byte, then freed (a bump heap
                 * never frees). */
                void *p = rtm_malloc(th->heap, 1);
                assert_non_null(p);
                if (id != RTM_BUMP) {
                    rtm_free(th->heap, p);
                }
                ts_expect_no_hooks(th);
                ts_assert_heap_sane(th, &after);
                assert_int_equal(after.alloc_count, before.alloc_count + 1u);
                assert_int_equal(after.free_count,
                                 before.free_count + (id == RTM_BUMP ? 0u : 1u));
                assert_int_equal(after.failed_count, before.failed_count);
                ts_heap_close(th);
            }
        }
    }
    ts_context(NULL);
}

/* ------------------------------------------------------------------ */
/* rtm_heap_init, rtm_heap_init_error, rtm_heap_min_size                */

#define INIT_BUF 4096u
static _Alignas(64) uint8_t g_init_buf[INIT_BUF];

/* rtm_heap_init refuses what rtm_heap_init_error refuses, with the same
 * error, and does not write a byte of mem. */
static void expect_init_refused_at(void *mem, size_t size, const rtm_heap_config_t *cfg,
                                   rtm_err_t want, const char *file, int line)
{
    rtm_err_t got = rtm_heap_init_error(mem, size, cfg);
    if (got != want) {
        ts_fail_at(file, line, "init_error(size %zu) = %s, expected %s", size, rtm_err_str(got),
                   rtm_err_str(want));
    }
    memset(g_init_buf, 0x5a, sizeof g_init_buf);
    if (rtm_heap_init(mem, size, cfg) != NULL) {
        ts_fail_at(file, line, "rtm_heap_init(size %zu) accepted", size);
    }
    for (size_t i = 0; i < sizeof g_init_buf; i++) {
        if (g_init_buf[i] != 0x5a) {
            ts_fail_at(file, line, "refused rtm_heap_init wrote byte %zu", i);
        }
    }
}
#define expect_init_refused(mem, size, cfg, want) \
    expect_init_refused_at((mem), (size), (cfg), (want), __FILE__, __LINE__)

static void heap_init_for(rtm_strategy_id_t s)
{
    rtm_heap_config_t cfg = {.strategy = rtm_strategy_by_id(s), .flags = RTM_HEAP_NO_LOCK};
    size_t min = rtm_heap_min_size(&cfg);
    assert_true(min > 0);
    ts_context("%s init", ts_strategy_label(s));

    expect_init_refused(NULL, 4096, &cfg, RTM_ERR_NULL);
    expect_init_refused(NULL, SIZE_MAX, &cfg, RTM_ERR_NULL);
    for (size_t off = 1; off < RTM_HEAP_MEM_ALIGN; off++) {
        expect_init_refused(g_init_buf + off, 1024, &cfg, RTM_ERR_MISALIGNED);
        expect_init_refused(g_init_buf + off, SIZE_MAX, &cfg, RTM_ERR_MISALIGNED);
    }
    expect_init_refused(g_init_buf, 0, &cfg, RTM_ERR_TOO_SMALL);
    expect_init_refused(g_init_buf, 1, &cfg, RTM_ERR_TOO_SMALL);
    expect_init_refused(g_init_buf, min - 1u, &cfg, RTM_ERR_TOO_SMALL);

    /* Too large: only a 64-bit size_t can say more than 4 GiB. */
#if SIZE_MAX > UINT32_MAX
    size_t front = rtm_heap_front_size();
    const size_t too_large[] = {SIZE_MAX,         SIZE_MAX - 1u, SIZE_MAX - 7u, SIZE_MAX / 2 + 1,
                                (size_t)UINT32_MAX + front + 1u, (size_t)UINT32_MAX * 2u};
    for (size_t i = 0; i < TS_ARRAY_LEN(too_large); i++) {
        expect_init_refused(g_init_buf, too_large[i], &cfg, RTM_ERR_TOO_LARGE);
    }
    if (s != RTM_SYSTEM) {
        /* The largest arena: exactly 4 GiB after the front. */
        assert_int_equal(rtm_heap_init_error(g_init_buf, (size_t)UINT32_MAX + front, &cfg), RTM_OK);
    }
#endif
    if (s == RTM_SYSTEM) {
        expect_init_refused(g_init_buf, (size_t)UINT32_MAX, &cfg, RTM_ERR_TOO_LARGE);
        rtm_heap_config_t budget = cfg;
        budget.system_budget = SIZE_MAX;
        expect_init_refused(g_init_buf, INIT_BUF, &budget, RTM_ERR_TOO_LARGE);
#if SIZE_MAX > UINT32_MAX
        budget.system_budget = (size_t)UINT32_MAX + 1u;
        expect_init_refused(g_init_buf, INIT_BUF, &budget, RTM_ERR_TOO_LARGE);
#else
        /* Region plus budget would wrap a 32-bit size_t. */
        budget.system_budget = (size_t)UINT32_MAX - INIT_BUF + 1u;
        expect_init_refused(g_init_buf, INIT_BUF, &budget, RTM_ERR_TOO_LARGE);
#endif
    }

    /* A region past the end of the address space: refused before a byte
     * is written (a write there would crash the test). On a 32-bit target
     * a real buffer with a size near SIZE_MAX is one too. */
    uintptr_t top = (UINTPTR_MAX - (min + 4096u) + 1u) & ~(uintptr_t)(RTM_HEAP_MEM_ALIGN - 1u);
    expect_init_refused((void *)top, min + 65536u, &cfg, RTM_ERR_TOO_LARGE);
    expect_init_refused((void *)top, (size_t)(UINTPTR_MAX - top) + 1u, &cfg, RTM_ERR_TOO_LARGE);
    assert_int_equal(rtm_heap_init_error((void *)top, (size_t)(UINTPTR_MAX - top), &cfg),
                     rtm_heap_init_error(g_init_buf, (size_t)(UINTPTR_MAX - top), &cfg));
    expect_init_refused(g_init_buf, SIZE_MAX - (uintptr_t)g_init_buf + 1u, &cfg,
                        RTM_ERR_TOO_LARGE);
#if SIZE_MAX <= UINT32_MAX
    expect_init_refused(g_init_buf, SIZE_MAX - 7u, &cfg, RTM_ERR_TOO_LARGE);
#endif

    /* Granularities: not a power of two, below 4, above 2^30. */
    static const size_t bad_g[] = {1, 2, 3, 6, 12, 24, 100, (size_t)1u << 31, SIZE_MAX,
                                   SIZE_MAX / 2 + 1};
    for (size_t i = 0; i < TS_ARRAY_LEN(bad_g); i++) {
        rtm_heap_config_t g = cfg;
        g.alignment = bad_g[i];
        ts_context("%s init, granularity %zu", ts_strategy_label(s), bad_g[i]);
        assert_int_equal(rtm_heap_min_size(&g), 0);
        expect_init_refused(g_init_buf, INIT_BUF, &g, RTM_ERR_BAD_ALIGNMENT);
        expect_init_refused(g_init_buf, SIZE_MAX, &g, RTM_ERR_BAD_ALIGNMENT);
    }
    /* The largest granularity is valid, but its minimum heap must be
     * large, not wrapped around to something small. */
    if (ts_has_block_layout(s)) {
        rtm_heap_config_t big = cfg;
        big.alignment = (size_t)1u << 30;
        ts_context("%s init, granularity 2^30", ts_strategy_label(s));
        size_t big_min = rtm_heap_min_size(&big);
        assert_true(big_min == 0 || big_min > ((size_t)1u << 30));
        expect_init_refused(g_init_buf, INIT_BUF, &big, RTM_ERR_TOO_SMALL);
    }
    ts_context(NULL);
}

static void test_heap_init_bad_config(void **state)
{
    (void)state;
    static const int bad_ids[] = {RTM_STRATEGY_COUNT, RTM_STRATEGY_COUNT + 1, 99, 0x7fffffff, -1};
    for (size_t i = 0; i < TS_ARRAY_LEN(bad_ids); i++) {
        assert_null(rtm_strategy_by_id((rtm_strategy_id_t)bad_ids[i]));
        assert_string_equal(rtm_strategy_name((rtm_strategy_id_t)bad_ids[i]), "unknown");
    }
    for (int id = 0; id < RTM_STRATEGY_COUNT; id++) {
        const rtm_strategy_t *s = rtm_strategy_by_id((rtm_strategy_id_t)id);
        assert_non_null(s);
        assert_int_equal(rtm_strategy_id(s), id);
    }
    assert_true(rtm_heap_min_size(NULL) > 0);
    expect_init_refused(g_init_buf, rtm_heap_min_size(NULL) - 1u, NULL, RTM_ERR_TOO_SMALL);
    /* The error strings exist for every value, and for nonsense. */
    assert_non_null(rtm_err_str((rtm_err_t)-1));
    assert_non_null(rtm_err_str((rtm_err_t)1000));
    assert_non_null(rtm_fail_reason_str((rtm_fail_reason_t)0));
    assert_non_null(rtm_fail_reason_str((rtm_fail_reason_t)1000));
    assert_non_null(rtm_misuse_str((rtm_misuse_t)1000));
    assert_non_null(rtm_strategy_name((rtm_strategy_id_t)1000));
}

/* rtm_heap_create: the parent's failed-allocation hook reports the request
 * (RTM_HEAP_MEM_ALIGN-aligned, at most the granularity: alignment 0). */
static void heap_create_for(rtm_strategy_id_t s)
{
    ts_heap_t *th = ts_heap_open(s, 0);
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(th->heap, &info));
    size_list_t sizes;
    hostile_sizes(&sizes, th->size, info.total_bytes, info.largest_free_block);
    expect_t e;
    for (size_t i = 0; i < sizes.n; i++) {
        size_t n = sizes.v[i];
        ts_context("%s, rtm_heap_create(%zu)", ts_strategy_label(s), n);
        expect_begin(&e, th);
        expect_refused(&e, rtm_heap_create(th->heap, n, NULL), n,
                       reported_alignment(th, RTM_HEAP_MEM_ALIGN), reasons_for(&info, n));
    }
    /* Size 0: nothing asked of the parent. */
    expect_begin(&e, th);
    expect_quiet_null(&e, rtm_heap_create(th->heap, 0, NULL));

    /* Too small for a heap, or a config init refuses: refused before the
     * parent is asked, so the parent is exactly as it was. */
    rtm_heap_config_t bad = {.alignment = 24};
    const struct {
        size_t size;
        const rtm_heap_config_t *cfg;
    } refused[] = {{1, NULL}, {rtm_heap_min_size(NULL) - 1u, NULL}, {1024, &bad}};
    for (size_t i = 0; i < TS_ARRAY_LEN(refused); i++) {
        ts_context("%s, rtm_heap_create(%zu) refused by init", ts_strategy_label(s),
                   refused[i].size);
        expect_begin(&e, th);
        assert_null(rtm_heap_create(th->heap, refused[i].size, refused[i].cfg));
        ts_expect_no_hooks(th);
        rtm_heap_info_t after;
        assert_true(rtm_heap_info(th->heap, &after));
        ts_assert_info_equal(&e.before, &after);
        assert_true(rtm_heap_check(th->heap, NULL));
    }
    ts_context(NULL);
    ts_assert_heap_sane(th, NULL);
}

/* ------------------------------------------------------------------ */
/* Capability registry                                                  */

typedef struct caps_rec {
    unsigned calls;
    size_t size;
    rtm_caps_t caps;
    const char *function_name;
    unsigned misuse_calls;
} caps_rec_t;

static caps_rec_t g_caps_rec;

static void caps_failed(size_t size, rtm_caps_t caps, const char *function_name, void *ctx)
{
    (void)ctx;
    g_caps_rec.calls++;
    g_caps_rec.size = size;
    g_caps_rec.caps = caps;
    g_caps_rec.function_name = function_name;
}

static void caps_misuse(const rtm_caps_region_t *region, rtm_misuse_t kind, const void *address,
                        void *ctx)
{
    (void)region;
    (void)kind;
    (void)address;
    (void)ctx;
    g_caps_rec.misuse_calls++;
}

#define CAPS_REGIONS 2u
#define CAPS_A_BYTES (16u * 1024u)
#define CAPS_B_BYTES (8u * 1024u)
static _Alignas(8) uint8_t g_caps_a[CAPS_A_BYTES];
static _Alignas(8) uint8_t g_caps_b[CAPS_B_BYTES];
static rtm_caps_registry_t g_reg;
static rtm_caps_region_t g_slots[CAPS_REGIONS + 1u];

typedef struct caps_snapshot {
    rtm_heap_info_t region[CAPS_REGIONS];
} caps_snapshot_t;

static void caps_snap(caps_snapshot_t *s)
{
    for (size_t i = 0; i < CAPS_REGIONS; i++) {
        assert_true(rtm_heap_info(rtm_caps_region_heap(rtm_caps_region_at(i)), &s->region[i]));
    }
}

static void caps_begin(caps_snapshot_t *s)
{
    memset(&g_caps_rec, 0, sizeof g_caps_rec);
    caps_snap(s);
}

/* Each region as before except failed_count; the registry checks out. */
static void caps_same_at(const caps_snapshot_t *before, bool failures_allowed, const char *file,
                         int line)
{
    caps_snapshot_t after;
    caps_snap(&after);
    for (size_t i = 0; i < CAPS_REGIONS; i++) {
        rtm_heap_info_t want = before->region[i];
        if (failures_allowed) {
            want.failed_count = after.region[i].failed_count;
        }
        ts_assert_info_equal_at(&want, &after.region[i], file, line);
    }
    if (!rtm_caps_check_all(false, NULL)) {
        ts_fail_at(file, line, "rtm_caps_check_all failed");
    }
}

static void caps_expect_refused_at(const caps_snapshot_t *before, const void *p, size_t size,
                                   rtm_caps_t caps, const char *function_name, const char *file,
                                   int line)
{
    if (p != NULL) {
        ts_fail_at(file, line, "%s(%zu) succeeded", function_name, size);
    }
    if (g_caps_rec.calls != 1 || g_caps_rec.misuse_calls != 0 || g_caps_rec.size != size ||
        g_caps_rec.caps != caps || g_caps_rec.function_name == NULL ||
        strcmp(g_caps_rec.function_name, function_name) != 0) {
        ts_fail_at(file, line,
                   "%s(%zu): %u hook calls (size %zu, caps 0x%llx, '%s'), %u misuse; expected "
                   "size %zu caps 0x%llx",
                   function_name, size, g_caps_rec.calls, g_caps_rec.size,
                   (unsigned long long)g_caps_rec.caps,
                   g_caps_rec.function_name != NULL ? g_caps_rec.function_name : "(null)",
                   g_caps_rec.misuse_calls, size, (unsigned long long)caps);
    }
    caps_same_at(before, true, file, line);
}
#define caps_expect_refused(before, p, size, caps, fn) \
    caps_expect_refused_at((before), (p), (size), (caps), (fn), __FILE__, __LINE__)

static void caps_expect_quiet_at(const caps_snapshot_t *before, const void *p, const char *file,
                                 int line)
{
    if (p != NULL) {
        ts_fail_at(file, line, "expected NULL");
    }
    if (g_caps_rec.calls != 0 || g_caps_rec.misuse_calls != 0) {
        ts_fail_at(file, line, "%u failed-hook and %u misuse-hook calls, expected none",
                   g_caps_rec.calls, g_caps_rec.misuse_calls);
    }
    caps_same_at(before, false, file, line);
}
#define caps_expect_quiet(before, p) caps_expect_quiet_at((before), (p), __FILE__, __LINE__)

static void caps_open(rtm_strategy_id_t s)
{
    rtm_caps_config_t cfg = {.on_alloc_failed = caps_failed, .on_misuse = caps_misuse,
                             .cache_line = 32};
    assert_int_equal(rtm_caps_init(&g_reg, g_slots, TS_ARRAY_LEN(g_slots), &cfg), RTM_CAPS_OK);
    rtm_caps_region_config_t a = {
        .name = "a",
        .caps = {RTM_CAP_DEFAULT | RTM_CAP_8BIT, RTM_CAP_INTERNAL | RTM_CAP_DMA | RTM_CAP_32BIT, 0},
        .strategy = rtm_strategy_by_id(s)};
    rtm_caps_region_config_t b = {
        .name = "b", .caps = {RTM_CAP_SPIRAM, RTM_CAP_DEFAULT | RTM_CAP_8BIT | RTM_CAP_32BIT, 0},
        .strategy = rtm_strategy_by_id(s)};
    assert_int_equal(rtm_caps_add_region(g_caps_a, sizeof g_caps_a, &a, NULL), RTM_CAPS_OK);
    assert_int_equal(rtm_caps_add_region(g_caps_b, sizeof g_caps_b, &b, NULL), RTM_CAPS_OK);
}

static int caps_teardown(void **state)
{
    (void)state;
    rtm_caps_deinit();
    return 0;
}

/* Whether a 40-byte block cannot be resized to n bytes in any region,
 * in place or moved (the in-place growth adds the block's own bytes). */
static bool grows_past(size_t n)
{
    return n > rtm_caps_largest_free_block(0) + 40u + 64u;
}

static bool any_region_holds_multiple(size_t alignment)
{
    for (size_t i = 0; i < rtm_caps_region_count(); i++) {
        const rtm_caps_region_t *r = rtm_caps_region_at(i);
        if (holds_multiple((uintptr_t)rtm_caps_region_start(r), (uintptr_t)rtm_caps_region_end(r),
                           alignment)) {
            return true;
        }
    }
    return false;
}

static void caps_sizes_for(rtm_strategy_id_t s)
{
    caps_open(s);
    uint8_t *live = rtm_caps_malloc(40, RTM_CAP_DEFAULT);
    assert_non_null(live);
    ts_pattern_fill(live, 40, 5);
    size_list_t sizes;
    hostile_sizes(&sizes, CAPS_A_BYTES, CAPS_A_BYTES, rtm_caps_largest_free_block(0));
    caps_snapshot_t snap;
    static const rtm_caps_t caps_sets[] = {RTM_CAP_DEFAULT, RTM_CAP_SPIRAM, RTM_CAP_DMA,
                                           RTM_CAP_8BIT | RTM_CAP_32BIT,
                                           RTM_CAP_DEFAULT | RTM_CAP_CACHE_ALIGNED};
    const rtm_caps_t prefer[] = {RTM_CAP_DMA, RTM_CAP_SPIRAM};

    for (size_t i = 0; i < sizes.n; i++) {
        size_t n = sizes.v[i];
        for (size_t c = 0; c < TS_ARRAY_LEN(caps_sets); c++) {
            rtm_caps_t caps = caps_sets[c];
            ts_context("%s regions, size %zu, caps 0x%llx", ts_strategy_label(s), n,
                       (unsigned long long)caps);
            caps_begin(&snap);
            caps_expect_refused(&snap, rtm_caps_malloc(n, caps), n, caps, "rtm_caps_malloc");
            caps_begin(&snap);
            caps_expect_refused(&snap, rtm_caps_calloc(1, n, caps), n, caps, "rtm_caps_calloc");
            caps_begin(&snap);
            caps_expect_refused(&snap, rtm_caps_calloc(n, 1, caps), n, caps, "rtm_caps_calloc");
            caps_begin(&snap);
            caps_expect_refused(&snap, rtm_caps_aligned_alloc(64, n, caps), n, caps,
                                "rtm_caps_aligned_alloc");
            caps_begin(&snap);
            caps_expect_refused(&snap, rtm_caps_realloc(NULL, n, caps), n, caps,
                                "rtm_caps_realloc");
            if (grows_past(n)) {
                caps_begin(&snap);
                caps_expect_refused(&snap, rtm_caps_realloc(live, n, caps), n, caps,
                                    "rtm_caps_realloc");
                assert_int_equal(ts_pattern_check(live, 40, 5), 40);
                caps_begin(&snap);
                caps_expect_refused(&snap, rtm_caps_realloc_ex(live, n, caps, "mine", NULL), n, caps,
                                    "mine");
            }
            caps_begin(&snap);
            caps_expect_refused(&snap, rtm_caps_alloc_ex(0, n, caps, "mine", NULL), n, caps, "mine");
            /* function_name NULL: no report at all. */
            caps_begin(&snap);
            assert_null(rtm_caps_alloc_ex(0, n, caps, NULL, NULL));
            assert_int_equal(g_caps_rec.calls, 0);
            caps_same_at(&snap, true, __FILE__, __LINE__);
        }
        ts_context("%s regions, size %zu, prefer/default", ts_strategy_label(s), n);
        caps_begin(&snap);
        caps_expect_refused(&snap, rtm_caps_malloc_prefer_array(n, prefer, 2), n, RTM_CAP_SPIRAM,
                            "rtm_caps_malloc_prefer");
        caps_begin(&snap);
        caps_expect_refused(&snap, rtm_caps_malloc_prefer_array(n, prefer, 0), n,
                            RTM_CAP_DEFAULT, "rtm_caps_malloc_prefer");
        caps_begin(&snap);
        caps_expect_refused(&snap, rtm_caps_malloc_prefer_array(n, NULL, SIZE_MAX), n,
                            RTM_CAP_DEFAULT, "rtm_caps_malloc_prefer");
        caps_begin(&snap);
        caps_expect_refused(&snap, rtm_caps_malloc_default(n), n,
                            RTM_CAP_DEFAULT | RTM_CAP_INTERNAL, "rtm_caps_malloc_default");
        caps_begin(&snap);
        caps_expect_refused(&snap, rtm_caps_calloc_default(n, 1), n,
                            RTM_CAP_DEFAULT | RTM_CAP_INTERNAL, "rtm_caps_calloc_default");
        caps_begin(&snap);
        caps_expect_refused(&snap, rtm_caps_aligned_alloc_default(16, n), n,
                            RTM_CAP_DEFAULT | RTM_CAP_INTERNAL,
                            "rtm_caps_aligned_alloc_default");
        if (grows_past(n)) {
            caps_begin(&snap);
            caps_expect_refused(&snap, rtm_caps_realloc_default(live, n), n,
                                RTM_CAP_DEFAULT | RTM_CAP_INTERNAL, "rtm_caps_realloc_default");
            assert_int_equal(ts_pattern_check(live, 40, 5), 40);
        }
        /* Policy on: the hook names plain DEFAULT, after both tries. */
        rtm_caps_extmem_enable(64);
        caps_begin(&snap);
        caps_expect_refused(&snap, rtm_caps_malloc_default(n), n, RTM_CAP_DEFAULT,
                            "rtm_caps_malloc_default");
        if (grows_past(n)) {
            caps_begin(&snap);
            caps_expect_refused(&snap, rtm_caps_realloc_default(live, n), n, RTM_CAP_DEFAULT,
                                "rtm_caps_realloc_default");
        }
        rtm_caps_extmem_disable();
    }
    ts_context(NULL);
    if (rtm_heap_strategy(rtm_caps_region_heap(rtm_caps_region_of(live))) != RTM_BUMP) {
        rtm_caps_free(live);
    }
    assert_int_equal(g_caps_rec.misuse_calls, 0);
    assert_true(rtm_caps_check_all(false, NULL));
    rtm_caps_deinit();
}

static void caps_args_for(rtm_strategy_id_t s)
{
    caps_open(s);
    caps_snapshot_t snap;
    /* Alignment zero or not a power of two: NULL without a report. */
    for (size_t i = 0; i < TS_ARRAY_LEN(k_bad_alignments); i++) {
        size_t a = k_bad_alignments[i];
        ts_context("%s regions, alignment %zu", ts_strategy_label(s), a);
        caps_begin(&snap);
        caps_expect_quiet(&snap, rtm_caps_aligned_alloc(a, 16, RTM_CAP_DEFAULT));
        caps_begin(&snap);
        caps_expect_quiet(&snap, rtm_caps_aligned_alloc_default(a, 16));
        caps_begin(&snap);
        caps_expect_quiet(&snap, rtm_caps_alloc_ex(a, 16, RTM_CAP_DEFAULT, "mine", NULL));
    }
    caps_begin(&snap);
    caps_expect_quiet(&snap, rtm_caps_aligned_alloc(0, 16, RTM_CAP_DEFAULT));
    caps_begin(&snap);
    caps_expect_quiet(&snap, rtm_caps_aligned_alloc_default(0, 16));

    /* Powers of two no region can honour: a report. */
    const size_t huge[] = {(size_t)1u << 31, SIZE_MAX / 2 + 1, 32u * 1024u, 64u * 1024u,
                           1024u * 1024u};
    for (size_t i = 0; i < TS_ARRAY_LEN(huge); i++) {
        ts_context("%s regions, alignment %zu", ts_strategy_label(s), huge[i]);
        if (any_region_holds_multiple(huge[i])) {
            continue; /* a block with that alignment may exist there */
        }
        caps_begin(&snap);
        caps_expect_refused(&snap, rtm_caps_aligned_alloc(huge[i], 16, RTM_CAP_DEFAULT), 16,
                            RTM_CAP_DEFAULT, "rtm_caps_aligned_alloc");
        caps_begin(&snap);
        caps_expect_refused(&snap, rtm_caps_aligned_alloc_default(huge[i], 16), 16,
                            RTM_CAP_DEFAULT | RTM_CAP_INTERNAL, "rtm_caps_aligned_alloc_default");
    }

    /* calloc overflowing by one: reported as SIZE_MAX. */
    static const size_t elems[] = {2, 3, 8, 24, 4096};
    for (size_t i = 0; i < TS_ARRAY_LEN(elems); i++) {
        size_t most = SIZE_MAX / elems[i];
        ts_context("%s regions, calloc element %zu", ts_strategy_label(s), elems[i]);
        caps_begin(&snap);
        caps_expect_refused(&snap, rtm_caps_calloc(most + 1u, elems[i], RTM_CAP_DMA), SIZE_MAX,
                            RTM_CAP_DMA, "rtm_caps_calloc");
        caps_begin(&snap);
        caps_expect_refused(&snap, rtm_caps_calloc(elems[i], most + 1u, RTM_CAP_DMA), SIZE_MAX,
                            RTM_CAP_DMA, "rtm_caps_calloc");
        caps_begin(&snap);
        caps_expect_refused(&snap, rtm_caps_calloc_default(most + 1u, elems[i]), SIZE_MAX,
                            RTM_CAP_DEFAULT | RTM_CAP_INTERNAL, "rtm_caps_calloc_default");
        caps_begin(&snap);
        caps_expect_refused(&snap, rtm_caps_calloc(most, elems[i], RTM_CAP_DMA),
                            most * elems[i], RTM_CAP_DMA, "rtm_caps_calloc");
    }
    ts_context("%s regions, zero sizes", ts_strategy_label(s));
    caps_begin(&snap);
    caps_expect_quiet(&snap, rtm_caps_calloc(0, SIZE_MAX, RTM_CAP_DEFAULT));
    caps_begin(&snap);
    caps_expect_quiet(&snap, rtm_caps_calloc(SIZE_MAX, 0, RTM_CAP_DEFAULT));
    caps_begin(&snap);
    caps_expect_quiet(&snap, rtm_caps_calloc_default(0, SIZE_MAX));
    caps_begin(&snap);
    caps_expect_quiet(&snap, rtm_caps_malloc(0, RTM_CAP_DEFAULT));
    caps_begin(&snap);
    caps_expect_quiet(&snap, rtm_caps_malloc_prefer_array(0, NULL, 0));
    caps_begin(&snap);
    caps_expect_quiet(&snap, rtm_caps_realloc(NULL, 0, RTM_CAP_DEFAULT));
    caps_begin(&snap);
    rtm_caps_free(NULL);
    assert_int_equal(rtm_caps_usable_size(NULL), 0);
    caps_expect_quiet(&snap, NULL);

    /* rtm_caps_add_region: ranges that wrap, are empty or too small, NULL. */
    ts_context("%s regions, add_region", ts_strategy_label(s));
    static _Alignas(8) uint8_t extra[256];
    rtm_caps_region_config_t rc = {.name = "x", .caps = {RTM_CAP_DEFAULT, 0, 0}, .strategy = rtm_strategy_by_id(s)};
    size_t count = rtm_caps_region_count();
    uintptr_t start = (uintptr_t)extra;
    rtm_caps_region_t *out = (rtm_caps_region_t *)(void *)extra;
    assert_int_equal(rtm_caps_add_region(extra, SIZE_MAX, &rc, &out), RTM_CAPS_ERR_ARG);
    assert_null(out);
    assert_int_equal(rtm_caps_add_region(extra, (size_t)(UINTPTR_MAX - start) + 1u, &rc, NULL),
                     RTM_CAPS_ERR_ARG);
#if SIZE_MAX > UINT32_MAX
    /* Wraps, overlaps or is more than a heap can manage, by address. */
    assert_int_equal(rtm_caps_add_region(extra, SIZE_MAX / 2 + 1, &rc, NULL) != RTM_CAPS_OK, true);
#endif
    assert_int_equal(rtm_caps_add_region(extra, 0, &rc, NULL), RTM_CAPS_ERR_TOO_SMALL);
    assert_int_equal(rtm_caps_add_region(extra, 1, &rc, NULL), RTM_CAPS_ERR_TOO_SMALL);
    assert_int_equal(rtm_caps_add_region(extra + 1, 7, &rc, NULL), RTM_CAPS_ERR_TOO_SMALL);
    assert_int_equal(rtm_caps_add_region(extra, 64, &rc, NULL), RTM_CAPS_ERR_TOO_SMALL);
    assert_int_equal(rtm_caps_add_region(NULL, 1024, &rc, NULL), RTM_CAPS_ERR_ARG);
    assert_int_equal(rtm_caps_add_region(NULL, SIZE_MAX, &rc, NULL), RTM_CAPS_ERR_ARG);
    assert_int_equal(rtm_caps_add_region(extra, sizeof extra, NULL, NULL), RTM_CAPS_ERR_ARG);
    /* Overlapping a region by one byte, either end. */
    assert_int_equal(rtm_caps_add_region(g_caps_a + sizeof g_caps_a - 1u, 4096, &rc, NULL),
                     RTM_CAPS_ERR_OVERLAP);
    rtm_caps_region_config_t wide = rc;
    wide.alignment = 3;
    assert_int_equal(rtm_caps_add_region(extra, sizeof extra, &wide, NULL), RTM_CAPS_ERR_CONFIG);
    wide.alignment = (size_t)1u << 31;
    assert_int_equal(rtm_caps_add_region(extra, sizeof extra, &wide, NULL), RTM_CAPS_ERR_CONFIG);
    rtm_caps_region_config_t nocaps = {.name = "y"};
    assert_int_equal(rtm_caps_add_region(extra, sizeof extra, &nocaps, NULL),
                     RTM_CAPS_ERR_NO_CAPS);
    assert_int_equal(rtm_caps_region_count(), count);
    assert_int_equal(g_caps_rec.misuse_calls, 0);
    ts_context(NULL);
    rtm_caps_deinit();

    /* No registry: NULL and no report. */
    memset(&g_caps_rec, 0, sizeof g_caps_rec);
    assert_null(rtm_caps_malloc(SIZE_MAX, RTM_CAP_DEFAULT));
    assert_null(rtm_caps_calloc(SIZE_MAX, 2, RTM_CAP_DEFAULT));
    assert_null(rtm_caps_aligned_alloc(3, 16, RTM_CAP_DEFAULT));
    assert_null(rtm_caps_malloc_default(SIZE_MAX));
    assert_null(rtm_caps_calloc_default(SIZE_MAX, SIZE_MAX));
    assert_null(rtm_caps_malloc_prefer_array(SIZE_MAX, NULL, 0));
    assert_null(rtm_caps_realloc(NULL, SIZE_MAX, RTM_CAP_DEFAULT));
    assert_int_equal(rtm_caps_add_region(extra, SIZE_MAX, &rc, NULL), RTM_CAPS_ERR_NOT_INIT);
    assert_int_equal(g_caps_rec.calls, 0);
}

/* ------------------------------------------------------------------ */
/* ESP-IDF names                                                        */

#if defined(HOSTILE_ESP_COMPAT)
typedef struct esp_rec {
    unsigned calls;
    size_t size;
    uint32_t caps;
    const char *function_name;
} esp_rec_t;

static esp_rec_t g_esp_rec;

static void esp_failed(size_t size, uint32_t caps, const char *function_name)
{
    g_esp_rec.calls++;
    g_esp_rec.size = size;
    g_esp_rec.caps = caps;
    g_esp_rec.function_name = function_name;
}

static void esp_expect_at(const void *p, unsigned calls, size_t size, uint32_t caps,
                          const char *function_name, const char *file, int line)
{
    if (p != NULL) {
        ts_fail_at(file, line, "%s succeeded", function_name);
    }
    if (g_esp_rec.calls != calls ||
        (calls != 0 && (g_esp_rec.size != size || g_esp_rec.caps != caps ||
                        strcmp(g_esp_rec.function_name, function_name) != 0))) {
        ts_fail_at(file, line, "%s: %u calls (size %zu caps 0x%x), expected %u (size %zu)",
                   function_name, g_esp_rec.calls, g_esp_rec.size, (unsigned)g_esp_rec.caps, calls,
                   size);
    }
    if (!heap_caps_check_integrity_all(false)) {
        ts_fail_at(file, line, "heap_caps_check_integrity_all failed");
    }
    memset(&g_esp_rec, 0, sizeof g_esp_rec);
}
#define esp_expect(p, calls, size, caps, fn) \
    esp_expect_at((p), (calls), (size), (caps), (fn), __FILE__, __LINE__)
#endif

static void test_esp_compat_sizes(void **state)
{
    (void)state;
#if defined(HOSTILE_ESP_COMPAT)
    caps_open(RTM_TLSF);
    assert_int_equal(heap_caps_register_failed_alloc_callback(esp_failed), ESP_OK);
    memset(&g_esp_rec, 0, sizeof g_esp_rec);
    size_t before = heap_caps_get_free_size(0);
    uint8_t *live = heap_caps_malloc(32, MALLOC_CAP_8BIT);
    assert_non_null(live);
    ts_pattern_fill(live, 32, 9);
    size_list_t sizes;
    hostile_sizes(&sizes, CAPS_A_BYTES, CAPS_A_BYTES, heap_caps_get_largest_free_block(0));
    const uint32_t c = MALLOC_CAP_DMA;
    for (size_t i = 0; i < sizes.n; i++) {
        size_t n = sizes.v[i];
        ts_context("heap_caps, size %zu", n);
        esp_expect(heap_caps_malloc(n, c), 1, n, c, "heap_caps_malloc");
        esp_expect(heap_caps_calloc(1, n, c), 1, n, c, "heap_caps_calloc");
        esp_expect(heap_caps_aligned_alloc(16, n, c), 1, n, c, "heap_caps_aligned_alloc");
        /* ESP-IDF's aligned calloc reports under heap_caps_aligned_alloc's name. */
        esp_expect(heap_caps_aligned_calloc(16, n, 1, c), 1, n, c, "heap_caps_aligned_alloc");
        if (grows_past(n)) {
            esp_expect(heap_caps_realloc(live, n, c), 1, n, c, "heap_caps_realloc");
            esp_expect(heap_caps_realloc_prefer(live, n, 2, MALLOC_CAP_SPIRAM, MALLOC_CAP_DMA), 1,
                       n, MALLOC_CAP_DMA, "heap_caps_realloc_prefer");
            assert_int_equal(ts_pattern_check(live, 32, 9), 32);
        }
        esp_expect(heap_caps_malloc_prefer(n, 2, MALLOC_CAP_DMA, MALLOC_CAP_SPIRAM), 1, n,
                   MALLOC_CAP_SPIRAM, "heap_caps_malloc_prefer");
        esp_expect(heap_caps_calloc_prefer(1, n, 1, MALLOC_CAP_DMA), 1, n, MALLOC_CAP_DMA,
                   "heap_caps_calloc_prefer");
        /* ESP-IDF reports calloc_prefer's element size, not the product. */
        esp_expect(heap_caps_calloc_prefer(n, 1, 1, MALLOC_CAP_DMA), 1, 1, MALLOC_CAP_DMA,
                   "heap_caps_calloc_prefer");
    }
    ts_context("heap_caps, overflow and alignment");
    /* ESP-IDF reports the wrapped product. */
    esp_expect(heap_caps_calloc(SIZE_MAX / 8 + 1, 8, c), 1, (SIZE_MAX / 8 + 1) * 8, c,
               "heap_caps_calloc");
    /* ESP-IDF does not report an aligned calloc overflow, nor a bad alignment. */
    esp_expect(heap_caps_aligned_calloc(16, SIZE_MAX / 8 + 1, 8, c), 0, 0, c, "");
    esp_expect(heap_caps_aligned_alloc(0, 16, c), 0, 0, c, "");
    esp_expect(heap_caps_aligned_alloc(24, 16, c), 0, 0, c, "");
    esp_expect(heap_caps_aligned_alloc(3, SIZE_MAX, c), 0, 0, c, "");
    esp_expect(heap_caps_aligned_alloc((size_t)1u << 31, 16, c), 1, 16, c,
               "heap_caps_aligned_alloc");
    assert_int_equal(heap_caps_add_region_with_caps(NULL, 1, 2), ESP_ERR_INVALID_ARG);
    const uint32_t rcaps[3] = {MALLOC_CAP_DEFAULT, 0, 0};
    assert_int_equal(heap_caps_add_region_with_caps(rcaps, 16, 8), ESP_ERR_INVALID_ARG);
    assert_int_equal(heap_caps_add_region_with_caps(rcaps, (intptr_t)g_caps_a,
                                                    (intptr_t)g_caps_a + 8),
                     ESP_FAIL); /* overlaps region a */
    heap_caps_free(live);
    assert_int_equal(heap_caps_get_free_size(0), before);

    /* multi_heap over a raw buffer. */
    ts_context("multi_heap");
    static _Alignas(8) uint8_t mh_mem[8192];
    assert_null(multi_heap_register(NULL, sizeof mh_mem));
    assert_null(multi_heap_register(mh_mem + 1, 7));
    multi_heap_handle_t mh = multi_heap_register(mh_mem, sizeof mh_mem);
    assert_non_null(mh);
    size_t mh_free = multi_heap_free_size(mh);
    for (size_t i = 0; i < sizes.n; i++) {
        assert_null(multi_heap_malloc(mh, sizes.v[i]));
        assert_null(multi_heap_aligned_alloc(mh, sizes.v[i], 64));
        assert_null(multi_heap_realloc(mh, NULL, sizes.v[i]));
    }
    assert_null(multi_heap_aligned_alloc(mh, 16, 24));
    assert_null(multi_heap_aligned_alloc(mh, 16, 0));
    assert_int_equal(multi_heap_free_size(mh), mh_free);
    assert_true(multi_heap_check(mh, false));
    ts_context(NULL);
    rtm_caps_deinit();
#else
    print_message("      not linked with rtmem::esp_compat: skipped\n");
    skip();
#endif
}

/* ------------------------------------------------------------------ */
/* Pools                                                                */

static void test_pool_storage_size(void **state)
{
    (void)state;
    /* Refused geometry: 0. */
    assert_int_equal(rtm_pool_storage_size(0, 1, 0, 0), 0);
    assert_int_equal(rtm_pool_storage_size(1, 0, 0, 0), 0);
    assert_int_equal(rtm_pool_storage_size(SIZE_MAX, 1, 0, 0), 0);
    assert_int_equal(rtm_pool_storage_size(1, SIZE_MAX, 0, 0), 0);
    assert_int_equal(rtm_pool_storage_size(SIZE_MAX, SIZE_MAX, 0, RTM_POOL_NO_BITMAP), 0);
    assert_int_equal(rtm_pool_storage_size(SIZE_MAX / 2 + 1, 2, 0, 0), 0);
    assert_int_equal(rtm_pool_storage_size((size_t)UINT32_MAX, 1, 0, 0), 0);
    /* A span that rounds up to exactly 4 GiB, and spans that total it. */
    assert_int_equal(rtm_pool_storage_size((size_t)UINT32_MAX - 6u, 1, 0, 0), 0);
    assert_int_equal(rtm_pool_storage_size((size_t)1u << 31, 2, 0, 0), 0);
    assert_int_equal(rtm_pool_storage_size(8, (size_t)1u << 29, 0, 0), 0);
    assert_int_equal(rtm_pool_storage_size(4, (size_t)1u << 30, 4, 0), 0);
    for (size_t i = 0; i < TS_ARRAY_LEN(k_bad_alignments); i++) {
        assert_int_equal(rtm_pool_storage_size(16, 4, k_bad_alignments[i], 0), 0);
    }
    assert_int_equal(rtm_pool_storage_size(16, 4, SIZE_MAX / 2 + 1, 0), 0);
#if SIZE_MAX > UINT32_MAX
    assert_int_equal(rtm_pool_storage_size(16, 1, (size_t)1u << 32, 0), 0);
#endif

    /* Just inside the limit: the exact bytes. */
    assert_int_equal(rtm_pool_storage_size((size_t)UINT32_MAX - 7u, 1, 0, 0),
                     (size_t)UINT32_MAX - 7u + 4u);
    assert_int_equal(rtm_pool_storage_size((size_t)UINT32_MAX - 7u, 1, 0, RTM_POOL_NO_BITMAP),
                     (size_t)UINT32_MAX - 7u);
#if SIZE_MAX > UINT32_MAX
    assert_int_equal(rtm_pool_storage_size(8, ((size_t)1u << 29) - 1u, 0, 0),
                     RTM_POOL_STORAGE_SIZE(8, ((size_t)1u << 29) - 1u, 0));
#else
    /* Spans below 4 GiB, but with the bitmap more than a 32-bit size_t. */
    assert_int_equal(rtm_pool_storage_size(8, ((size_t)1u << 29) - 1u, 0, 0), 0);
    assert_int_equal(rtm_pool_storage_size(8, ((size_t)1u << 29) - 1u, 0, RTM_POOL_NO_BITMAP),
                     (size_t)UINT32_MAX - 7u);
#endif
    assert_int_equal(rtm_pool_storage_size(1, 1, (size_t)1u << 31, 0), ((size_t)1u << 31) + 4u);
    assert_int_equal(rtm_pool_storage_size(1, 1, 1, 0), RTM_POOL_STORAGE_SIZE(1, 1, 1));
    assert_int_equal(rtm_pool_storage_size(48, 10, 0, 0), RTM_POOL_STORAGE_SIZE(48, 10, 0));
}

typedef struct pool_rec {
    unsigned failed;
    rtm_fail_reason_t reason;
    unsigned misuse;
} pool_rec_t;

static void pool_failed(rtm_pool_t *pool, rtm_fail_reason_t reason, void *ctx)
{
    (void)pool;
    pool_rec_t *r = ctx;
    r->failed++;
    r->reason = reason;
}

static void pool_misuse(rtm_pool_t *pool, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)pool;
    (void)kind;
    (void)address;
    pool_rec_t *r = ctx;
    r->misuse++;
}

static void test_pool_init_hostile(void **state)
{
    (void)state;
    static rtm_pool_t ctl;
    static _Alignas(64) uint8_t storage[RTM_POOL_STORAGE_SIZE(32, 8, 0) + 64];
    const size_t need = RTM_POOL_STORAGE_SIZE(32, 8, 0);
    rtm_pool_config_t good = {.block_size = 32, .count = 8};
    const struct {
        size_t block_size;
        size_t count;
        size_t alignment;
        rtm_pool_err_t want;
    } cases[] = {
        {0, 8, 0, RTM_POOL_ERR_ZERO},
        {32, 0, 0, RTM_POOL_ERR_ZERO},
        {0, SIZE_MAX, 0, RTM_POOL_ERR_ZERO},
        {32, 8, 3, RTM_POOL_ERR_BAD_ALIGNMENT},
        {32, 8, 24, RTM_POOL_ERR_BAD_ALIGNMENT},
        {32, 8, SIZE_MAX, RTM_POOL_ERR_BAD_ALIGNMENT},
        {SIZE_MAX, 1, 0, RTM_POOL_ERR_TOO_LARGE},
        {SIZE_MAX - 1u, 1, 0, RTM_POOL_ERR_TOO_LARGE},
        /* 2^31 on a 32-bit target: one block below 4 GiB is valid. */
        {SIZE_MAX / 2 + 1, 1, 0,
         SIZE_MAX > UINT32_MAX ? RTM_POOL_ERR_TOO_LARGE : RTM_POOL_ERR_TOO_SMALL},
        {32, SIZE_MAX, 0, RTM_POOL_ERR_TOO_LARGE},
        {32, SIZE_MAX / 32 + 1, 0, RTM_POOL_ERR_TOO_LARGE},
        {(size_t)UINT32_MAX - 6u, 1, 0, RTM_POOL_ERR_TOO_LARGE},
        {32, 8, SIZE_MAX / 2 + 1, RTM_POOL_ERR_TOO_LARGE},
        /* Valid geometry, storage too small. */
        {32, 12, 0, RTM_POOL_ERR_TOO_SMALL},
        {(size_t)UINT32_MAX - 7u, 1, 0, RTM_POOL_ERR_TOO_SMALL},
        {1, 1, (size_t)1u << 31, RTM_POOL_ERR_MISALIGNED},
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(cases); i++) {
        rtm_pool_config_t cfg = {.block_size = cases[i].block_size,
                                 .count = cases[i].count,
                                 .alignment = cases[i].alignment};
        ts_context("pool case %zu: block %zu count %zu alignment %zu", i, cases[i].block_size,
                   cases[i].count, cases[i].alignment);
        rtm_pool_err_t got = rtm_pool_init_error(&ctl, storage, sizeof storage, &cfg);
        if (got != cases[i].want) {
            ts_fail("init_error %s, expected %s", rtm_pool_err_str(got),
                    rtm_pool_err_str(cases[i].want));
        }
        memset(storage, 0x3c, sizeof storage);
        assert_null(rtm_pool_init(&ctl, storage, sizeof storage, &cfg));
        for (size_t k = 0; k < sizeof storage; k++) {
            assert_int_equal(storage[k], 0x3c);
        }
    }
    ts_context(NULL);
    assert_int_equal(rtm_pool_init_error(NULL, storage, need, &good), RTM_POOL_ERR_NULL);
    assert_int_equal(rtm_pool_init_error(&ctl, NULL, need, &good), RTM_POOL_ERR_NULL);
    assert_int_equal(rtm_pool_init_error(&ctl, storage, need, NULL), RTM_POOL_ERR_NULL);
    assert_int_equal(rtm_pool_init_error(&ctl, storage, need - 1u, &good), RTM_POOL_ERR_TOO_SMALL);
    assert_int_equal(rtm_pool_init_error(&ctl, storage, 0, &good), RTM_POOL_ERR_TOO_SMALL);
    assert_int_equal(rtm_pool_init_error(&ctl, storage + 4, need, &good),
                     RTM_POOL_ERR_MISALIGNED);
    assert_int_equal(rtm_pool_init_error(&ctl, storage, SIZE_MAX, &good), RTM_POOL_OK);
    /* The control block among the blocks it would manage: refused, nothing
     * written. Right after them: fine. */
    static const size_t ctl_at[] = {0, 8, 16, need - 8u};
    for (size_t i = 0; i < TS_ARRAY_LEN(ctl_at); i++) {
        rtm_pool_t *inside = (rtm_pool_t *)(void *)(storage + ctl_at[i]);
        ts_context("control block at storage + %zu", ctl_at[i]);
        assert_int_equal(rtm_pool_init_error(inside, storage, need, &good), RTM_POOL_ERR_OVERLAP);
        memset(storage, 0x3c, sizeof storage);
        assert_null(rtm_pool_init(inside, storage, need, &good));
        for (size_t k = 0; k < sizeof storage; k++) {
            assert_int_equal(storage[k], 0x3c);
        }
    }
    ts_context(NULL);
    static _Alignas(64) uint8_t both[RTM_POOL_STORAGE_SIZE(32, 8, 0) + sizeof(rtm_pool_t) + 64];
    rtm_pool_t *after = (rtm_pool_t *)(void *)(both + ((need + 63u) & ~(size_t)63u));
    assert_int_equal(rtm_pool_init_error(after, both, need, &good), RTM_POOL_OK);
    rtm_pool_config_t words = {.block_size = 4, .count = 8, .alignment = 4};
    /* Storage starting 8 bytes before the control block, both inside one
     * object (a pointer before &ctl itself is out of bounds for gcc). */
    typedef struct pool_after_bytes {
        _Alignas(8) uint8_t before[64];
        rtm_pool_t pool;
    } pool_after_bytes_t;
    static pool_after_bytes_t around;
    uint8_t *early = (uint8_t *)(void *)&around + offsetof(pool_after_bytes_t, pool) - 8u;
    assert_int_equal(rtm_pool_init_error(&around.pool, early, need, &words),
                     RTM_POOL_ERR_OVERLAP);
    /* Storage that runs past the end of the address space. */
    void *top = (void *)((UINTPTR_MAX - need + 64u) & ~(uintptr_t)63u);
    assert_int_equal(rtm_pool_init_error(&ctl, top, need, &good), RTM_POOL_ERR_TOO_LARGE);
    assert_null(rtm_pool_init(&ctl, top, need, &good));
    assert_null(rtm_pool_init(NULL, storage, need, &good));
    assert_null(rtm_pool_init(&ctl, storage, need, NULL));
    assert_non_null(rtm_pool_err_str((rtm_pool_err_t)1000));

    /* NULL pools: NULL/0/false, nothing else. */
    assert_null(rtm_pool_alloc(NULL));
    assert_null(rtm_pool_alloc_wait(NULL, UINT32_MAX));
    rtm_pool_free(NULL, storage);
    assert_int_equal(rtm_pool_block_size(NULL), 0);
    assert_false(rtm_pool_contains(NULL, storage));
    assert_false(rtm_pool_info(NULL, NULL));
    assert_false(rtm_pool_deinit(NULL));
    assert_null(rtm_pool_create(NULL, &good));

    /* An exhausted unlocked pool never waits, whatever the timeout. */
    pool_rec_t rec = {0};
    rtm_pool_config_t one = {.block_size = 8, .count = 1, .flags = RTM_POOL_NO_LOCK,
                             .on_alloc_failed = pool_failed, .on_misuse = pool_misuse,
                             .hook_ctx = &rec};
    rtm_pool_t *p = rtm_pool_init(&ctl, storage, sizeof storage, &one);
    assert_non_null(p);
    void *b = rtm_pool_alloc(p);
    assert_non_null(b);
    assert_null(rtm_pool_alloc_wait(p, UINT32_MAX - 1u));
    assert_null(rtm_pool_alloc_wait(p, RTM_WAIT_FOREVER));
    assert_int_equal(rec.failed, 2);
    assert_int_equal(rec.reason, RTM_FAIL_NO_MEMORY);
    rtm_pool_info_t info;
    assert_true(rtm_pool_info(p, &info));
    assert_int_equal(info.used, 1);
    assert_int_equal(info.failed_count, 2);
    assert_int_equal(info.wait_count, 0);
    rtm_pool_free(p, b);
    assert_int_equal(rec.misuse, 0);
    assert_true(rtm_pool_check(p, NULL));
    assert_true(rtm_pool_deinit(p));
}

static void test_pool_create_hostile(void **state)
{
    (void)state;
    ts_heap_t *th = ts_heap_open(RTM_TLSF, 0);
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(th->heap, &info));
    expect_t e;
    /* Geometry refused before the heap is asked: nothing reported. */
    const rtm_pool_config_t refused[] = {
        {.block_size = SIZE_MAX, .count = 1},
        {.block_size = 16, .count = SIZE_MAX},
        {.block_size = 16, .count = 4, .alignment = 24},
        {.block_size = 0, .count = 4},
        {.block_size = 16, .count = 4, .alignment = SIZE_MAX / 2 + 1},
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(refused); i++) {
        ts_context("rtm_pool_create refused case %zu", i);
        expect_begin(&e, th);
        expect_quiet_null(&e, rtm_pool_create(th->heap, &refused[i]));
    }
    expect_begin(&e, th);
    expect_quiet_null(&e, rtm_pool_create(th->heap, NULL));

    /* Valid geometry the heap cannot hold: the heap reports the one
     * request (control block, padded, plus the storage). */
    const rtm_pool_config_t large[] = {
        {.block_size = 1024, .count = 1000},
        {.block_size = (size_t)UINT32_MAX - 7u, .count = 1},
        {.block_size = 8, .count = ((size_t)1u << 29) - 1u},
        {.block_size = 64, .count = 1024, .alignment = 64},
    };
    for (size_t i = 0; i < TS_ARRAY_LEN(large); i++) {
        ts_context("rtm_pool_create large case %zu", i);
        size_t align = large[i].alignment == 0 ? RTM_DEFAULT_ALIGN : large[i].alignment;
        if (align < _Alignof(rtm_pool_t)) {
            align = _Alignof(rtm_pool_t);
        }
        size_t head = (sizeof(rtm_pool_t) + align - 1u) & ~(align - 1u);
        size_t need = rtm_pool_storage_size(large[i].block_size, large[i].count,
                                            large[i].alignment, 0);
        if (need == 0 || need > SIZE_MAX - head) {
            /* Only on a 32-bit target: the storage exceeds size_t. */
            assert_true(SIZE_MAX == UINT32_MAX);
            expect_begin(&e, th);
            expect_quiet_null(&e, rtm_pool_create(th->heap, &large[i]));
            continue;
        }
        expect_begin(&e, th);
        expect_refused(&e, rtm_pool_create(th->heap, &large[i]), head + need,
                       reported_alignment(th, align), reasons_for(&info, head + need));
    }
    ts_context(NULL);
    ts_assert_heap_sane(th, NULL);
}

typedef struct set_rec {
    unsigned failed;
    size_t size;
    rtm_fail_reason_t reason;
    unsigned misuse;
} set_rec_t;

static void set_failed(rtm_pool_set_t *set, size_t size, rtm_fail_reason_t reason, void *ctx)
{
    (void)set;
    set_rec_t *r = ctx;
    r->failed++;
    r->size = size;
    r->reason = reason;
}

static void set_misuse(rtm_pool_set_t *set, rtm_misuse_t kind, const void *address, void *ctx)
{
    (void)set;
    (void)kind;
    (void)address;
    set_rec_t *r = ctx;
    r->misuse++;
}

static void test_pool_set_hostile(void **state)
{
    (void)state;
    ts_heap_t *th = ts_heap_open(RTM_TLSF, 0);
    rtm_heap_info_t info;
    assert_true(rtm_heap_info(th->heap, &info));
    expect_t e;

    /* rtm_pool_set_create: bad class lists give everything back. */
    static const rtm_pool_class_t bad1[] = {{16, 4}, {SIZE_MAX, 1}};
    static const rtm_pool_class_t bad2[] = {{16, 4}, {32, SIZE_MAX}};
    static const rtm_pool_class_t bad3[] = {{16, 4}, {0, 4}};
    static const rtm_pool_class_t ok[] = {{16, 4}, {64, 2}};
    const struct {
        const rtm_pool_class_t *classes;
        size_t count;
    } refused[] = {{bad1, 2}, {bad2, 2}, {bad3, 2}, {ok, 0}, {ok, SIZE_MAX},
                   {ok, RTM_POOL_SET_MAX_CLASSES + 1u}, {NULL, 2}};
    for (size_t i = 0; i < TS_ARRAY_LEN(refused); i++) {
        ts_context("rtm_pool_set_create refused case %zu", i);
        expect_begin(&e, th);
        assert_null(rtm_pool_set_create(th->heap, refused[i].classes, refused[i].count, NULL));
        ts_expect_no_hooks(th);
        rtm_heap_info_t after;
        assert_true(rtm_heap_info(th->heap, &after));
        assert_int_equal(after.free_bytes, e.before.free_bytes);
        assert_int_equal(after.used_blocks, e.before.used_blocks);
        assert_int_equal(after.largest_free_block, e.before.largest_free_block);
        assert_int_equal(after.alloc_count - e.before.alloc_count,
                         after.free_count - e.before.free_count);
        assert_true(rtm_heap_check(th->heap, NULL));
    }
    assert_null(rtm_pool_set_create(NULL, ok, 2, NULL));

    /* rtm_pool_set_alloc: no class is large enough, without and with a
     * fallback heap. */
    set_rec_t rec = {0};
    rtm_pool_set_config_t scfg = {.on_alloc_failed = set_failed, .on_misuse = set_misuse,
                                  .hook_ctx = &rec};
    rtm_pool_set_t *set = rtm_pool_set_create(th->heap, ok, 2, &scfg);
    assert_non_null(set);
    size_list_t sizes;
    hostile_sizes(&sizes, th->size, info.total_bytes, info.largest_free_block);
    rtm_pool_set_info_t si;
    for (size_t i = 0; i < sizes.n; i++) {
        ts_context("rtm_pool_set_alloc(%zu)", sizes.v[i]);
        memset(&rec, 0, sizeof rec);
        assert_null(rtm_pool_set_alloc(set, sizes.v[i]));
        assert_int_equal(rec.failed, 1);
        assert_int_equal(rec.size, sizes.v[i]);
        assert_int_equal(rec.reason, RTM_FAIL_TOO_LARGE);
    }
    assert_true(rtm_pool_set_info(set, &si));
    assert_int_equal(si.failed_count, sizes.n);
    assert_int_equal(si.pool_allocs + si.larger_allocs + si.fallback_allocs, 0);
    memset(&rec, 0, sizeof rec);
    assert_null(rtm_pool_set_alloc(set, 0));
    assert_int_equal(rec.failed, 0);
    assert_true(rtm_pool_set_delete(set));

    scfg.fallback = th->heap;
    set = rtm_pool_set_create(th->heap, ok, 2, &scfg);
    assert_non_null(set);
    for (size_t i = 0; i < sizes.n; i++) {
        size_t n = sizes.v[i];
        ts_context("rtm_pool_set_alloc(%zu) with fallback", n);
        memset(&rec, 0, sizeof rec);
        expect_begin(&e, th);
        expect_refused(&e, rtm_pool_set_alloc(set, n), n, 0, reasons_for(&info, n));
        assert_int_equal(rec.failed, 1);
        assert_int_equal(rec.size, n);
        assert_int_equal(rec.reason, RTM_FAIL_TOO_LARGE);
    }
    for (size_t i = 0; i < 2; i++) {
        rtm_pool_info_t pi;
        assert_true(rtm_pool_info(rtm_pool_set_class(set, i), &pi));
        assert_int_equal(pi.used, 0);
        assert_int_equal(pi.alloc_count, 0);
    }
    assert_null(rtm_pool_set_class(set, 2));
    assert_null(rtm_pool_set_class(set, SIZE_MAX));
    assert_int_equal(rec.misuse, 0);
    assert_true(rtm_pool_set_delete(set));
    ts_context(NULL);
    rtm_heap_info_t end;
    ts_assert_heap_sane(th, &end);
    assert_int_equal(end.used_blocks, 0);
    assert_int_equal(end.free_bytes, th->initial.free_bytes);
}

/* ------------------------------------------------------------------ */
/* Trace and per-task statistics                                        */

static _Alignas(64) uint8_t g_obj_mem[RTM_TRACE_BYTES(4) + RTM_TASK_STATS_BYTES(4, 8) + 64];

static void test_trace_task_stats_init(void **state)
{
    (void)state;
    const size_t trace_min = RTM_TRACE_BYTES(1);
    assert_true(sizeof g_obj_mem > trace_min);
    assert_null(rtm_trace_init(NULL, trace_min));
    assert_null(rtm_trace_init(NULL, SIZE_MAX));
    assert_null(rtm_trace_init(g_obj_mem, 0));
    assert_null(rtm_trace_init(g_obj_mem, trace_min - 1u));
    for (size_t off = 1; off < RTM_TRACE_MEM_ALIGN; off++) {
        assert_null(rtm_trace_init(g_obj_mem + off, trace_min));
        assert_null(rtm_trace_init(g_obj_mem + off, SIZE_MAX));
    }
    rtm_trace_t *t = rtm_trace_init(g_obj_mem, trace_min);
    assert_non_null(t);
    assert_int_equal(rtm_trace_capacity(t), 1);
    rtm_trace_deinit(t);
    t = rtm_trace_init(g_obj_mem, RTM_TRACE_BYTES(4));
    assert_non_null(t);
    assert_int_equal(rtm_trace_capacity(t), 4);
    rtm_trace_deinit(t);
    assert_int_equal(rtm_trace_capacity(NULL), 0);

    const size_t ts_min = RTM_TASK_STATS_BYTES(1, 1);
    static const size_t bad_tasks[] = {0, 65001, (size_t)UINT32_MAX, SIZE_MAX, SIZE_MAX / 2 + 1};
    for (size_t i = 0; i < TS_ARRAY_LEN(bad_tasks); i++) {
        assert_null(rtm_task_stats_init(g_obj_mem, sizeof g_obj_mem, bad_tasks[i], 0));
    }
    assert_null(rtm_task_stats_init(NULL, ts_min, 1, 0));
    assert_null(rtm_task_stats_init(g_obj_mem, 0, 1, 0));
    assert_null(rtm_task_stats_init(g_obj_mem, ts_min - 1u, 1, 0));
    assert_null(rtm_task_stats_init(g_obj_mem + 4, ts_min, 1, 0));
    /* Task entries alone filling the memory leave no block slots. */
    assert_null(rtm_task_stats_init(g_obj_mem, RTM_TASK_STATS_BYTES(4, 1), 5, 0));
    rtm_task_stats_t *s = rtm_task_stats_init(g_obj_mem, ts_min, 1, 0);
    assert_non_null(s);
    rtm_task_stats_deinit(s);
}

/* ------------------------------------------------------------------ */
/* Per-strategy entry points                                            */

static void test_heap_sizes(void **state)
{
    (void)state;
    for (size_t i = 0; i < TS_ARRAY_LEN(k_strategies); i++) {
        if (begin_strategy(k_strategies[i])) {
            heap_sizes_for(k_strategies[i]);
            ts_heap_close_all();
        }
    }
}

static void test_heap_alignments(void **state)
{
    (void)state;
    for (size_t i = 0; i < TS_ARRAY_LEN(k_strategies); i++) {
        if (begin_strategy(k_strategies[i])) {
            heap_alignments_for(k_strategies[i]);
            ts_heap_close_all();
        }
    }
}

static void test_heap_huge_alignments(void **state)
{
    (void)state;
    for (size_t i = 0; i < TS_ARRAY_LEN(k_strategies); i++) {
        if (begin_strategy(k_strategies[i])) {
            heap_huge_alignments_for(k_strategies[i]);
            ts_heap_close_all();
        }
    }
}

static void test_heap_calloc(void **state)
{
    (void)state;
    for (size_t i = 0; i < TS_ARRAY_LEN(k_strategies); i++) {
        if (begin_strategy(k_strategies[i])) {
            heap_calloc_for(k_strategies[i]);
            ts_heap_close_all();
        }
    }
}

static void test_heap_init(void **state)
{
    (void)state;
    for (size_t i = 0; i < TS_ARRAY_LEN(k_strategies); i++) {
        if (begin_strategy(k_strategies[i])) {
            heap_init_for(k_strategies[i]);
        }
    }
}

static void test_heap_create(void **state)
{
    (void)state;
    for (size_t i = 0; i < TS_ARRAY_LEN(k_strategies); i++) {
        if (begin_strategy(k_strategies[i])) {
            heap_create_for(k_strategies[i]);
            ts_heap_close_all();
        }
    }
}

/* Capability regions may use every strategy but RTM_SYSTEM. */
static void test_caps_sizes(void **state)
{
    (void)state;
    for (size_t i = 0; i < TS_ARRAY_LEN(k_strategies); i++) {
        if (k_strategies[i] != RTM_SYSTEM) {
            caps_sizes_for(k_strategies[i]);
        }
    }
}

static void test_caps_arguments(void **state)
{
    (void)state;
    for (size_t i = 0; i < TS_ARRAY_LEN(k_strategies); i++) {
        if (k_strategies[i] != RTM_SYSTEM) {
            caps_args_for(k_strategies[i]);
        }
    }
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_names_stay_on_their_line),
        cmocka_unit_test(test_output_report_line),
        cmocka_unit_test_teardown(test_heap_sizes, ts_teardown_close_all),
        cmocka_unit_test_teardown(test_heap_alignments, ts_teardown_close_all),
        cmocka_unit_test_teardown(test_heap_huge_alignments, ts_teardown_close_all),
        cmocka_unit_test_teardown(test_heap_calloc, ts_teardown_close_all),
        cmocka_unit_test_teardown(test_system_alignment_budget, ts_teardown_close_all),
        cmocka_unit_test_teardown(test_heap_null_arguments, ts_teardown_close_all),
        cmocka_unit_test_teardown(test_plain_path_zero_and_null, ts_teardown_close_all),
        cmocka_unit_test(test_heap_init),
        cmocka_unit_test(test_heap_init_bad_config),
        cmocka_unit_test_teardown(test_heap_create, ts_teardown_close_all),
        cmocka_unit_test_teardown(test_caps_sizes, caps_teardown),
        cmocka_unit_test_teardown(test_caps_arguments, caps_teardown),
        cmocka_unit_test_teardown(test_esp_compat_sizes, caps_teardown),
        cmocka_unit_test(test_pool_storage_size),
        cmocka_unit_test(test_pool_init_hostile),
        cmocka_unit_test_teardown(test_pool_create_hostile, ts_teardown_close_all),
        cmocka_unit_test_teardown(test_pool_set_hostile, ts_teardown_close_all),
        cmocka_unit_test(test_trace_task_stats_init),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
