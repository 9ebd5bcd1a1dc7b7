/*
 * rtmem leaks: the input parsers (rtmem-trace 1 and the three generations of
 * ESP-IDF heap_trace_dump output, each produced here with printf from its
 * format strings), log noise, CRLF, truncation, the summary cross-check,
 * grouping by caller chain, checkpoints and symbolization with addr2line.
 */
#define _POSIX_C_SOURCE 200809L
#include <stdarg.h>
#include <stddef.h>
#include <stdint.h>
#include <setjmp.h>
#include <cmocka.h>

#include <inttypes.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "leaks.h"
#include "leaks_parse.h"
#include "symbolize.h"
#include "trace_reader.h"
#include "support/tool_capture.h"

#define P(x) ((void *)(uintptr_t)(x))

static char tmp_path[256];

static FILE *open_tmp(void)
{
    snprintf(tmp_path, sizeof tmp_path, "/tmp/rtmem_leaks_%ld.txt", (long)getpid());
    FILE *f = fopen(tmp_path, "w+");
    assert_non_null(f);
    return f;
}

/* Parse what was written to f (rewound). */
static int parse_back(FILE *f, lk_input_t *in)
{
    fflush(f);
    rewind(f);
    lk_input_init(in, "dump.txt");
    return lk_parse_file(in, f);
}

static size_t count_leaks(const lk_input_t *in, uint64_t *bytes)
{
    size_t n = 0;
    *bytes = 0;
    for (size_t i = 0; i < in->nrec; i++)
        if (lk_record_is_leak(&in->rec[i], 0)) {
            n++;
            *bytes += in->rec[i].size;
        }
    return n;
}

/* The record in use with this ID, or NULL. */
static const lk_record_t *find_rec(const lk_input_t *in, const char *id)
{
    char buf[LK_ID_MAX];
    for (size_t i = 0; i < in->nrec; i++)
        if (in->rec[i].in_use && strcmp(lk_rec_id(&in->rec[i], buf), id) == 0)
            return &in->rec[i];
    return NULL;
}

/* rtm_cmd_leaks on a file, stdout captured into out. */
static int run_leaks(const char *file, const char *opt1, const char *opt2, const char *opt3,
                     const char *opt4, char *out, size_t cap)
{
    char *argv[8];
    int argc = 0;
    argv[argc++] = (char *)"leaks";
    argv[argc++] = (char *)file;
    if (opt1) argv[argc++] = (char *)opt1;
    if (opt2) argv[argc++] = (char *)opt2;
    if (opt3) argv[argc++] = (char *)opt3;
    if (opt4) argv[argc++] = (char *)opt4;
    argv[argc] = NULL;
    char cap_path[300];
    snprintf(cap_path, sizeof cap_path, "%s.out", tmp_path);
    const ts_capture_t c = {.out_path = cap_path, .out = out, .out_cap = cap};
    return ts_capture_command(&c, rtm_cmd_leaks, argc, argv);
}

/* --- ESP-IDF up to v5.0: "%u allocations trace (%u entry buffer)" ------------ */

static void v4_record(FILE *f, int size, uintptr_t addr, int cpu, unsigned ccount,
                      const uintptr_t *callers, int depth, int stack_depth)
{
    fprintf(f, "%d bytes (@ %p) allocated CPU %d ccount 0x%08x caller ", size, P(addr), cpu, ccount);
    for (int j = 0; j < stack_depth && callers[j] != 0 && j < depth; j++)
        fprintf(f, "%p%s", P(callers[j]), (j < stack_depth - 1) ? ":" : "");
}

static void test_idf_v4(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    const uintptr_t c1[2] = {0x400d1234, 0x400d5678}, c2[2] = {0x400d0001, 0x400d0002};
    fprintf(f, "\x1b[0;32mI (305) app: start\x1b[0m\r\n");
    fprintf(f, "%u allocations trace (%u entry buffer)\r\n", 3u, 100u);
    v4_record(f, 40, 0x3ffb2000, 0, 0x1235, c1, 2, 2);
    fprintf(f, "\r\n");
    fprintf(f, "0x400d1234: leaky at /src/main.c:12\r\n"); /* monitor decode line */
    v4_record(f, 8, 0x3ffb3000, 1, 0x2001, c1, 2, 2);
    fprintf(f, "\r\nfreed by ");
    fprintf(f, "%p%s", P(0x400d9999), ":");
    fprintf(f, "%p%s", P(0x400d8888), "\r\n");
    v4_record(f, 100, 0x3ffb4000, 1, 0x3001, c2, 2, 2);
    fprintf(f, "\r\n");
    fprintf(f, "%u bytes 'leaked' in trace (%u allocations)\r\n", 140u, 2u);
    fprintf(f, "total allocations %u total frees %u\r\n", 9u, 7u);
    fprintf(f, "(NB: Buffer has overflowed, so trace data is incomplete.)\r\n");
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.format, LK_FMT_IDF_V4);
    assert_int_equal(in.live, 2); /* the freed record was released */
    assert_int_equal(in.esp_records_read, 3);
    uint64_t bytes;
    assert_int_equal(count_leaks(&in, &bytes), 2);
    assert_int_equal(bytes, 140);
    assert_true(in.sum.have_leaked);
    assert_int_equal(in.sum.leaked_bytes, 140);
    assert_int_equal(in.sum.leaked_allocs, 2);
    assert_true(in.sum.have_total);
    assert_int_equal(in.sum.total_allocs, 9);
    assert_int_equal(in.sum.total_frees, 7);
    assert_true(in.sum.overflowed);
    assert_int_equal(lk_rec_ncallers(&in.rec[0]), 2);
    assert_true(lk_rec_callers(&in.rec[0])[1] == 0x400d5678);
    assert_true(in.rec[0].time == 0x1235);
    assert_false(in.cut_off);
    lk_input_free(&in);

    char out[8192];
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "\"bytes\":140"));
    assert_non_null(strstr(out, "\"summary_agrees\":true"));
    remove(tmp_path);
}

/* --- ESP-IDF v5.1+: "====== Heap Trace: %u records (%u capacity) ======" --------
 * v5.1-v5.4 always print "caller " (then the chain, empty at depth 0);
 * v5.5+ print " caller CHAIN" only for a chain that is not empty. */

static void v51_record(FILE *f, int size, uintptr_t addr, const char *label, int cpu, unsigned ccount,
                       const uintptr_t *callers, int stack_depth)
{
    fprintf(f, "%6d bytes (@ %p%s) allocated CPU %d ccount 0x%08x caller ", size, P(addr), label, cpu,
            ccount & ~3u);
    for (int j = 0; j < stack_depth && callers[j] != 0; j++)
        fprintf(f, "%p%s", P(callers[j]), (j < stack_depth - 1) ? ":" : "");
}

static void v51_summary(FILE *f, int all, unsigned bytes, unsigned allocs, unsigned count,
                        unsigned capacity, unsigned hwm, unsigned tallocs, unsigned tfrees)
{
    fprintf(f, "====== Heap Trace Summary ======\n");
    if (all) {
        fprintf(f, "Mode: Heap Trace All\n");
        fprintf(f, "%u bytes alive in trace (%u/%u allocations)\n", bytes, allocs, count);
    } else {
        fprintf(f, "Mode: Heap Trace Leaks\n");
        fprintf(f, "%u bytes 'leaked' in trace (%u allocations)\n", bytes, allocs);
    }
    fprintf(f, "records: %u (%u capacity, %u high water mark)\n", count, capacity, hwm);
    fprintf(f, "total allocations: %u\n", tallocs);
    fprintf(f, "total frees: %u\n", tfrees);
    fprintf(f, "================================\n");
}

static void test_idf_v51_leaks(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    const uintptr_t c1[3] = {0x42001234, 0x42005678, 0}, c2[3] = {0x42009000, 0x42009100, 0x42009200};
    fprintf(f, "[12:00:01.120] I (1200) wifi: connected\n");
    fprintf(f, "[12:00:01.121] ====== Heap Trace: %u records (%u capacity) ======\n", 3u, 64u);
    v51_record(f, 84, 0x3fca94d8, ", Internal", 0, 0x042ac374, c1, 3);
    fprintf(f, "\n");
    v51_record(f, 84, 0x3fca9600, ", Internal", 1, 0x042ac400, c1, 3);
    fprintf(f, "\n");
    fprintf(f, "W (1201) other: interleaved\n");
    v51_record(f, 4096, 0x3f800000, ",    PSRAM", 0, 0x052ac400, c2, 3);
    fprintf(f, "\n");
    v51_summary(f, 0, 4264, 3, 3, 64, 5, 12, 9);
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    /* every line here is also what v5.5+ prints for these records */
    assert_int_equal(in.format, LK_FMT_IDF_V5);
    uint64_t bytes;
    assert_int_equal(count_leaks(&in, &bytes), 3);
    assert_int_equal(bytes, 4264);
    assert_string_equal(lk_rec_region(&in.rec[0]), "Internal");
    assert_string_equal(lk_rec_region(&in.rec[2]), "PSRAM");
    assert_int_equal(lk_rec_ncallers(&in.rec[2]), 3);
    assert_int_equal(in.sum.records, 3);
    assert_int_equal(in.sum.capacity, 64);
    assert_int_equal(in.sum.total_allocs, 12);
    assert_int_equal(in.sum.total_frees, 9);
    lk_input_free(&in);

    /* grouping: the PSRAM site has the most bytes, then the two 84-byte blocks */
    char out[8192];
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 1);
    const char *g1 = strstr(out, "\"bytes\":4096,\"blocks\":1");
    const char *g2 = strstr(out, "\"bytes\":168,\"blocks\":2");
    assert_non_null(g1);
    assert_non_null(g2);
    assert_true(g1 < g2);
    assert_non_null(strstr(out, "\"sites\":2"));
    assert_non_null(strstr(out, "\"summary_agrees\":true"));
    /* the table says the same */
    assert_int_equal(run_leaks(tmp_path, NULL, NULL, NULL, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "4264 bytes in 3 blocks still allocated, 2 call sites"));
    assert_non_null(strstr(out, "agrees with the records"));
    remove(tmp_path);
}

static void test_idf_v51_all_mode(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    const uintptr_t c1[2] = {0x42001234, 0x42005678};
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 8u);
    v51_record(f, 32, 0x3fca0000, ", Internal", 0, 0x100, c1, 2);
    fprintf(f, "\nfreed by ");
    fprintf(f, "%p%s", P(0x42000010), ":");
    fprintf(f, "%p%s", P(0x42000020), "\n");
    v51_record(f, 48, 0x3fca0100, ", Internal", 0, 0x200, c1, 2);
    fprintf(f, "\n");
    v51_summary(f, 1, 48, 1, 2, 8, 2, 2, 1);
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    uint64_t bytes;
    assert_int_equal(count_leaks(&in, &bytes), 1);
    assert_int_equal(bytes, 48);
    assert_int_equal(in.sum.leaked_bytes, 48);
    assert_int_equal(in.sum.leaked_allocs, 1);
    lk_input_free(&in);
    remove(tmp_path);
}

/* --- ESP-IDF v5.5+: optional caller, " freed" marker -------------------------- */

static void test_idf_v55(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    fprintf(f, "====== Heap Trace: %" PRIu32 " records (%" PRIu32 " capacity) ======\r\n", (uint32_t)3,
            (uint32_t)16);
    fprintf(f, "%6d bytes (@ %p%s) allocated CPU %d ccount 0x%08x caller %p:%p\r\n", 84, P(0x3fca94d8),
            ", Internal", 0, 0x042ac374u, P(0x40376183), P(0x4037da9c));
    fprintf(f, "%6d bytes (@ %p%s) allocated CPU %d ccount 0x%08x\r\n", 12, P(0x3fca9500), ", Internal",
            1, 0x042ac380u);
    fprintf(f, "%6d bytes (@ %p%s) allocated CPU %d ccount 0x%08x caller %p freed\r\n", 20, P(0x3fca9600),
            ", Internal", 0, 0x042ac390u, P(0x40376183));
    fprintf(f, "====== Heap Trace Summary ======\r\n");
    fprintf(f, "Mode: Heap Trace All\r\n");
    fprintf(f, "%" PRIu32 " bytes alive in trace (%" PRIu32 "/%" PRIu32 " allocations)\r\n", (uint32_t)96,
            (uint32_t)2, (uint32_t)3);
    fprintf(f, "records: %" PRIu32 " (%" PRIu32 " capacity, %" PRIu32 " high water mark)\r\n", (uint32_t)3,
            (uint32_t)16, (uint32_t)3);
    fprintf(f, "total allocations: %" PRIu32 "\r\n", (uint32_t)3);
    fprintf(f, "total frees: %" PRIu32 "\r\n", (uint32_t)1);
    fprintf(f, "================================\r\n");
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.format, LK_FMT_IDF_V55);
    uint64_t bytes;
    assert_int_equal(count_leaks(&in, &bytes), 2);
    assert_int_equal(bytes, 96);
    assert_int_equal(lk_rec_ncallers(&in.rec[0]), 2);
    assert_true(lk_rec_callers(&in.rec[0])[0] == 0x40376183);
    assert_int_equal(lk_rec_ncallers(&in.rec[1]), 0);
    assert_int_equal(in.live, 2); /* the " freed" record is not kept */
    assert_int_equal(in.esp_records_read, 3);
    assert_false(in.sum.have_overflow);
    assert_int_equal(in.sum.total_allocs, 3);
    assert_int_equal(in.sum.total_frees, 1);
    lk_input_free(&in);
    char out[8192];
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "\"summary_agrees\":true"));
    remove(tmp_path);
}

/* --- truncation, disagreement, malformed lines --------------------------------- */

static void test_truncated_last_record(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    const uintptr_t c1[2] = {0x42001234, 0x42005678};
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 8u);
    v51_record(f, 32, 0x3fca0000, ", Internal", 0, 0x100, c1, 2);
    fprintf(f, "\n    48 bytes (@ 0x3fca01"); /* the capture stopped here */
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    uint64_t bytes;
    assert_int_equal(count_leaks(&in, &bytes), 1);
    assert_int_equal(bytes, 32);
    assert_true(in.warnings >= 1);
    assert_true(in.cut_off);
    lk_input_free(&in);

    /* the same damage in the middle of a file is an error naming the line */
    f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 8u);
    fprintf(f, "    48 bytes (@ 0x3fca01\n");
    fprintf(f, "====== Heap Trace Summary ======\n");
    assert_int_equal(parse_back(f, &in), -1);
    fclose(f);
    assert_non_null(strstr(in.err, "dump.txt:2: "));
    lk_input_free(&in);
    char out[4096];
    assert_int_equal(run_leaks(tmp_path, NULL, NULL, NULL, NULL, out, sizeof out), 2);
    remove(tmp_path);
}

static void test_summary_disagrees(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    const uintptr_t c1[2] = {0x42001234, 0x42005678};
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 8u);
    v51_record(f, 32, 0x3fca0000, ", Internal", 0, 0x100, c1, 2);
    fprintf(f, "\n");
    /* one record lost in the capture */
    v51_summary(f, 0, 80, 2, 2, 8, 2, 2, 0);
    fclose(f);
    char out[8192];
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "\"summary_agrees\":false"));
    remove(tmp_path);
}

/* --- rtmem's own format ---------------------------------------------------------- */

static void test_rtmem_trace(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    fputs("boot: log line\r\n"
          "# rtmem-trace 1\r\n"
          "a 0x3ffb2000 40 t=1234 task=wifi heap=dram caller=0x400d1234 site=wifi.c:88\r\n"
          "A 0x3ffb2040 100 64 t=1235 task=wifi heap=dram caller=0x400d1290\r\n"
          "I (500) net: some log\r\n"
          "r 0x3ffb2000 0x3ffb3000 2000 t=1240 task=0x3ffb4c10 heap=dram caller=0x400d1300\r\n"
          "a 1 7 t=1250 task=my%20task\r\n"
          "f 0x3ffb2040 t=1302 task=main\r\n",
          f);
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.format, LK_FMT_RTMEM);
    uint64_t bytes;
    assert_int_equal(count_leaks(&in, &bytes), 2);
    assert_int_equal(bytes, 2007);
    const lk_record_t *moved = find_rec(&in, "0x3ffb3000");
    assert_non_null(moved);
    assert_non_null(find_rec(&in, "1"));
    assert_string_equal(lk_rec_task(find_rec(&in, "1")), "my task");
    assert_true(lk_rec_callers(moved)[0] == 0x400d1300);
    assert_null(find_rec(&in, "0x3ffb2040")); /* freed: released */
    assert_int_equal(in.live, 2);
    lk_input_free(&in);
}

/* A telemetry file (docs/formats.md): the trace lines count, the rest is
 * skipped; a broken telemetry line is an error. */
static void test_rtmem_telemetry(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    fputs("{\"rtmem\":1,\"type\":\"trace\",\"ms\":1,\"line\":\"# rtmem-trace 1\"}\n"
          "{\"rtmem\":1,\"type\":\"mem\",\"ms\":1,\"seq\":1,\"name\":\"DRAM\",\"free\":5}\n"
          "I (500) net: some log\n"
          "{\"rtmem\":1,\"type\":\"trace\",\"ms\":2,\"line\":\"a 0x10 48 t=2 task=net "
          "site=net.c:88\"}\n"
          "{\"rtmem\":1,\"type\":\"trace\",\"ms\":3,\"line\":\"a 0x20 16 t=3\"}\n"
          "{\"rtmem\":1,\"type\":\"trace\",\"ms\":4,\"line\":\"f 0x20 t=4\"}\n",
          f);
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.format, LK_FMT_RTMEM);
    uint64_t bytes;
    assert_int_equal(count_leaks(&in, &bytes), 1);
    assert_int_equal(bytes, 48);
    lk_input_free(&in);

    f = open_tmp();
    fputs("# rtmem-trace 1\n{\"rtmem\":3,\"type\":\"trace\"}\n", f);
    assert_int_equal(parse_back(f, &in), -1);
    fclose(f);
    lk_input_free(&in);
}

static void test_rtmem_dump_summary(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    fputs("# rtmem-trace 1\n"
          "# summary mode=leaks state=running records=2 live=2 capacity=64 high_water=5 overflow=0\n"
          "# totals allocs=9 frees=7 reallocs=1 unmatched_frees=0 stale=0 seq=10\n"
          "# bytes live_bytes=140 alloc_bytes=612\n"
          "a 0x3ffb2000 40 t=1234 task=wifi heap=dram caller=0x400d1234 site=wifi.c:88 seq=3\n"
          "A 0x3ffb2040 100 64 t=1234 task=wifi heap=dram caller=0x400d1290 seq=4\n"
          "# end records=2\n",
          f);
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_true(in.sum.have_leaked);
    assert_int_equal(in.sum.leaked_bytes, 140);
    assert_int_equal(in.sum.leaked_allocs, 2);
    assert_int_equal(in.sum.total_allocs, 9);
    lk_input_free(&in);
    char out[8192];
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "\"summary_agrees\":true"));
    /* --since 4: only the record with seq >= 4 */
    assert_int_equal(run_leaks(tmp_path, "--json", "--since", "4", NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "\"blocks\":1,\"bytes\":100"));
    remove(tmp_path);
}

static void test_checkpoint_and_grouping(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    fputs("# rtmem-trace 1\n"
          "a 1 1000 t=1 task=old caller=0x400d0100\n"
          "# checkpoint\n"
          "a 2 10 t=5 task=a caller=0x400d1234:0x400d2000 site=x.c:1\n"
          "a 3 30 t=6 task=b caller=0x400d1234:0x400d2000 site=x.c:1\n"
          "a 4 25 t=7 task=a caller=0x400d1234:0x400d3000 site=x.c:1\n"
          "a 5 50 t=8 task=a caller=0x400d9999\n"
          "f 5 t=9 task=a\n",
          f);
    fclose(f);
    char out[8192];
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 1);
    /* block 1 predates the checkpoint; the chain (not only the innermost caller) groups */
    assert_non_null(strstr(out, "\"blocks\":3,\"bytes\":65,\"sites\":2"));
    const char *g1 = strstr(out, "{\"bytes\":40,\"blocks\":2,\"min_size\":10,\"max_size\":30,"
                                 "\"first_time\":5,\"last_time\":6,\"tasks\":\"a,b\"");
    const char *g2 = strstr(out, "{\"bytes\":25,\"blocks\":1");
    assert_non_null(g1);
    assert_non_null(g2);
    assert_true(g1 < g2);
    /* nothing leaked: exit 0 */
    f = open_tmp();
    fputs("# rtmem-trace 1\na 1 10\nf 1\n", f);
    fclose(f);
    assert_int_equal(run_leaks(tmp_path, NULL, NULL, NULL, NULL, out, sizeof out), 0);
    remove(tmp_path);
}

static void test_bad_input(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    fputs("# rtmem-trace 1\na 1 10\na 2 ten\n", f);
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), -1);
    fclose(f);
    assert_string_equal(in.err, "dump.txt:3: SIZE 'ten' is not a decimal number");
    lk_input_free(&in);
    f = open_tmp();
    fputs("# rtmem-trace 2\n", f);
    assert_int_equal(parse_back(f, &in), -1);
    fclose(f);
    assert_non_null(strstr(in.err, "dump.txt:1: trace format version 2; this reader knows version 1"));
    lk_input_free(&in);
    char out[4096];
    assert_int_equal(run_leaks(tmp_path, NULL, NULL, NULL, NULL, out, sizeof out), 2);
    assert_string_equal(out, ""); /* nothing read: nothing to report */
    /* A malformed line stops the reading, exit 2, but what was read before
     * it is still reported, marked incomplete (nothing it had is lost). */
    f = open_tmp();
    fputs("# rtmem-trace 1\na 1 10 caller=0x10\na 2 20 caller=0x20\nf 2\na 3 ten\na 4 40\n", f);
    fclose(f);
    assert_int_equal(run_leaks(tmp_path, NULL, NULL, NULL, NULL, out, sizeof out), 2);
    assert_non_null(strstr(out, "INCOMPLETE DUMP: reading stopped at line 5: SIZE 'ten' is not a decimal number"));
    assert_non_null(strstr(out, "10 bytes in 1 blocks still allocated"));
    assert_null(strstr(out, "0x00000020"));
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 2);
    assert_non_null(strstr(out, "\"complete\":false,\"cut_off_reason\":\"reading stopped at line 5: "
                                "SIZE 'ten' is not a decimal number\""));
    assert_non_null(strstr(out, "\"alive_bytes\":10,"));
    assert_int_equal(out[strlen(out) - 2], '}'); /* the object is closed */
    /* nothing recognisable */
    f = open_tmp();
    fputs("just a log\n", f);
    fclose(f);
    assert_int_equal(run_leaks(tmp_path, NULL, NULL, NULL, NULL, out, sizeof out), 2);
    assert_int_equal(run_leaks(tmp_path, "--bogus", NULL, NULL, NULL, out, sizeof out), 2);
    assert_int_equal(run_leaks("/nonexistent/rtmem.txt", NULL, NULL, NULL, NULL, out, sizeof out), 2);
    assert_int_equal(run_leaks(tmp_path, "--help", NULL, NULL, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "usage: rtmem leaks"));
    remove(tmp_path);
}

/* --- ESP-IDF dumps as users paste them -------------------------------------------- */

/* Two v5.1+ records (84 and 4096 bytes) as heap_trace_dump prints them. */
static void two_records(FILE *f)
{
    const uintptr_t c1[2] = {0x42001234, 0x42005678}, c2[2] = {0x42009000, 0x42009100};
    v51_record(f, 84, 0x3fca94d8, ", Internal", 0, 0x042ac374, c1, 2);
    fprintf(f, "\n");
    v51_record(f, 4096, 0x3f800000, ",    PSRAM", 1, 0x052ac400, c2, 2);
    fprintf(f, "\n");
}

static void test_idf_headerless_pastes(void **state)
{
    (void)state;
    char out[8192];
    /* records alone (header and summary trimmed) */
    FILE *f = open_tmp();
    fprintf(f, "I (1200) app: dumping\n");
    two_records(f);
    fclose(f);
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "\"blocks\":2,\"bytes\":4180"));
    assert_non_null(strstr(out, "\"summary_agrees\":null"));
    assert_non_null(strstr(out, "\"complete\":true"));
    assert_non_null(strstr(out, "v5.1+"));

    /* records and the summary, header trimmed */
    f = open_tmp();
    two_records(f);
    v51_summary(f, 0, 4180, 2, 2, 64, 2, 5, 3);
    fclose(f);
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "\"blocks\":2,\"bytes\":4180"));
    assert_non_null(strstr(out, "\"summary_agrees\":true"));
    assert_non_null(strstr(out, "\"records\":2,\"capacity\":64"));
    /* "total allocations:" is printed by v5.1-v5.4 and v5.5+ alike */
    assert_non_null(strstr(out, "(v5.1+, v5.1-v5.4 and v5.5+ not told apart)"));

    /* only the "bytes 'leaked'" line: the leak is reported, nothing to group */
    f = open_tmp();
    fprintf(f, "[12:00:01.121] 4180 bytes 'leaked' in trace (2 allocations)\n");
    fclose(f);
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "\"blocks\":0"));
    assert_non_null(strstr(out, "\"dump_summary\":{\"bytes\":4180,\"allocations\":2}"));
    assert_non_null(strstr(out, "no header: generation unknown"));
    /* the summary block alone, nothing leaked */
    f = open_tmp();
    v51_summary(f, 0, 0, 0, 0, 64, 2, 5, 5);
    fclose(f);
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 0);
    assert_non_null(strstr(out, "\"summary_agrees\":true"));
    remove(tmp_path);
}

static void test_idf_header_count_checked(void **state)
{
    (void)state;
    /* the header says 5 records, 2 are there, the summary is complete
     * (heap_trace_dump_caps of one region prints fewer): a warning */
    FILE *f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 5u, 64u);
    two_records(f);
    v51_summary(f, 0, 4180, 2, 5, 64, 5, 9, 4);
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.sum.records, 5); /* the header's count, not the summary's */
    assert_int_equal(in.esp_records_read, 2);
    assert_int_equal(in.warnings, 1);
    assert_false(in.cut_off);
    lk_input_free(&in);
    char out[8192];
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "\"records_read\":2"));
    /* the count matching: no warning */
    f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 64u);
    two_records(f);
    v51_summary(f, 0, 4180, 2, 2, 64, 2, 9, 7);
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.warnings, 0);
    lk_input_free(&in);
    remove(tmp_path);
}

/* A dump cut off by a panic: the third record runs into the panic message,
 * the rest of the records and the summary never come. */
static void test_idf_cut_off_by_panic(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 264u, 300u);
    two_records(f);
    fprintf(f, "    32 bytes (@ 0x3fca9700, Internal) allocated CPU 0 ccount 0x052ac500 caller "
               "0x42001234:0x4200Guru Meditation Error: Core  0 panic'ed (LoadProhibited). "
               "Exception was unhandled.\n");
    fprintf(f, "\nCore  0 register dump:\nPC      : 0x400d1234  PS      : 0x00060030\n");
    fprintf(f, "\nBacktrace: 0x400d1231:0x3ffb5e50 0x400d5675:0x3ffb5e70\n");
    fprintf(f, "\nRebooting...\nets Jun  8 2016 00:22:57\n\nrst:0xc (SW_CPU_RESET),boot:0x13\n");
    fprintf(f, "I (29) boot: ESP-IDF v5.2 2nd stage bootloader\n");
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_true(in.cut_off);
    uint64_t bytes;
    assert_int_equal(count_leaks(&in, &bytes), 2); /* the cut record is not a block */
    assert_int_equal(bytes, 4180);
    assert_false(in.sum.have_leaked);
    lk_input_free(&in);

    char out[8192];
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out),
                     RTM_LEAKS_EXIT_CUT_OFF);
    assert_non_null(strstr(out, "\"blocks\":2,\"bytes\":4180"));
    assert_non_null(strstr(out, "\"summary_agrees\":null"));
    assert_non_null(strstr(out, "\"complete\":false,\"cut_off_reason\":\"a panic message"));
    assert_null(strstr(out, "\"summary_agrees\":true"));
    assert_int_equal(run_leaks(tmp_path, NULL, NULL, NULL, NULL, out, sizeof out),
                     RTM_LEAKS_EXIT_CUT_OFF);
    assert_non_null(strstr(out, "INCOMPLETE DUMP: a panic message interrupts the dump"));

    /* each panic or reset marker on its own line inside the dump */
    static const char *const markers[] = {
        "Guru Meditation Error: Core  1 panic'ed (StoreProhibited)",
        "abort() was called at PC 0x400d1234 on core 0",
        "Backtrace: 0x400d1231:0x3ffb5e50", "Rebooting...",
        "rst:0xc (SW_CPU_RESET),boot:0x13 (SPI_FAST_FLASH_BOOT)"};
    for (size_t i = 0; i < sizeof markers / sizeof markers[0]; i++) {
        f = open_tmp();
        fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 3u, 64u);
        two_records(f);
        fprintf(f, "%s\n", markers[i]);
        assert_int_equal(parse_back(f, &in), 0);
        fclose(f);
        assert_true(in.cut_off);
        assert_string_equal(in.cut_reason, "a panic message interrupts the dump");
        assert_int_equal(count_leaks(&in, &bytes), 2);
        lk_input_free(&in);
    }

    /* no panic, but the capture stops after the records: no summary */
    f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 64u);
    two_records(f);
    fclose(f);
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out),
                     RTM_LEAKS_EXIT_CUT_OFF);
    assert_non_null(strstr(out, "\"cut_off_reason\":\"the dump has no summary after its header\""));
    /* a record line followed by other output on the same line, not a panic:
     * a damaged record (test_idf_damaged_records) */
    f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 64u);
    two_records(f);
    fprintf(f, "    32 bytes (@ 0x3fca9700, Internal) allocated CPU 0 ccount 0x00000100 caller "
               "0x42001234 I (500) wifi: sta start\n");
    v51_summary(f, 0, 4212, 3, 3, 64, 3, 3, 0);
    fclose(f);
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 2);
    assert_non_null(strstr(out, "\"blocks\":2,"));
    assert_non_null(strstr(out, "\"cut_off_reason\":\"reading stopped at line 4: heap trace record: "
                                "other text after its caller chain\""));
    remove(tmp_path);
}

static void test_idf_log_lines_mentioning_heap_trace(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    fprintf(f, "I (100) app: Heap Trace: starting, 64 records\n");
    fprintf(f, "W (101) app: ====== Heap Trace: soon ======\n");
    fprintf(f, "I (102) app: 12 allocations trace (of the old kind)\n");
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 64u);
    two_records(f);
    fprintf(f, "I (103) app: Heap Trace: done\n");
    v51_summary(f, 0, 4180, 2, 2, 64, 2, 9, 7);
    fclose(f);
    char out[8192];
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "\"blocks\":2,\"bytes\":4180"));
    assert_non_null(strstr(out, "\"summary_agrees\":true"));
    /* only such log lines: no dump */
    f = open_tmp();
    fprintf(f, "I (100) app: Heap Trace: starting\n");
    fclose(f);
    assert_int_equal(run_leaks(tmp_path, NULL, NULL, NULL, NULL, out, sizeof out), 2);
    remove(tmp_path);
}

/* A v5.1+ record with an empty chain: "caller " in v5.1-v5.4 (depth 0, as
 * on RISC-V targets), nothing in v5.5+. */
static void v51_record_no_chain(FILE *f, int size, uintptr_t addr, int cpu, unsigned ccount)
{
    fprintf(f, "%6d bytes (@ %p%s) allocated CPU %d ccount 0x%08x caller \n", size, P(addr),
            ", Internal", cpu, ccount & ~3u);
}

/* Each generation by the lines only it prints (heap_trace_standalone.c of
 * every tag); without one, no generation is claimed. */
static void test_idf_generations(void **state)
{
    (void)state;
    lk_input_t in;
    /* v5.1+ header, records with callers, the summary: v5.1-v5.4 and v5.5+
     * print all of it alike */
    FILE *f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 64u);
    two_records(f);
    v51_summary(f, 0, 4180, 2, 2, 64, 2, 9, 7);
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.format, LK_FMT_IDF_V5);
    lk_input_free(&in);
    /* v5.1-v5.4 by a record whose "caller " has no chain */
    f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 64u);
    v51_record_no_chain(f, 32, 0x3fca0000, 0, 0x100);
    v51_record_no_chain(f, 48, 0x3fca0100, 1, 0x200);
    fprintf(f, "(NB: Internal Buffer has overflowed, so trace data is incomplete.)\n");
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.format, LK_FMT_IDF_V51);
    assert_true(in.sum.overflowed);
    assert_int_equal(lk_rec_ncallers(&in.rec[0]), 0);
    lk_input_free(&in);
    /* v5.5+ by a record without " caller", or ending in " freed" */
    f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 1u, 64u);
    fprintf(f, "    12 bytes (@ 0x3fca9500, Internal) allocated CPU 1 ccount 0x042ac380\n");
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.format, LK_FMT_IDF_V55);
    lk_input_free(&in);
    f = open_tmp();
    fprintf(f, "    12 bytes (@ 0x3fca9500, Internal) allocated CPU 1 ccount 0x042ac380 caller "
               "0x42001234 freed\n");
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.format, LK_FMT_IDF_V55);
    lk_input_free(&in);
    /* v4 records without header or summary: no label, no generation */
    f = open_tmp();
    const uintptr_t c1[2] = {0x400d1234, 0x400d5678};
    v4_record(f, 40, 0x3ffb2000, 0, 0x1235, c1, 2, 2);
    fprintf(f, "\n");
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.format, LK_FMT_IDF_ANY);
    lk_input_free(&in);
    /* nor with "caller " and no chain (up to v5.0 and v5.1-v5.4 print it) */
    f = open_tmp();
    v4_record(f, 40, 0x3ffb2000, 0, 0x1235, c1, 2, 0);
    fprintf(f, "\n");
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.format, LK_FMT_IDF_ANY);
    assert_int_equal(in.live, 1);
    lk_input_free(&in);
    remove(tmp_path);
}

/* --- damaged records ------------------------------------------------------------ */

/* Record lines that no ESP-IDF generation prints: each would be read
 * silently as a block (with no caller, or the wrong size) by a parser that
 * takes what is missing for a v5.5+ omission. */
static const char *const damaged_records[] = {
    /* another task's log ran into the record before its ccount */
    "    84 bytes (@ 0x3fca9700, Internal) allocated CPU 1 ccI (1300) wifi: sta connected",
    /* cut inside "ccount" */
    "    84 bytes (@ 0x3fca9700, Internal) allocated CPU 1 cc",
    /* cut inside the ccount value */
    "    84 bytes (@ 0x3fca9700, Internal) allocated CPU 1 ccount 0x052a",
    /* after the caller chain */
    ("    84 bytes (@ 0x3fca9700, Internal) allocated CPU 0 ccount 0x052ac500 caller "
     "0x42001234 I (500) wifi: sta start"),
    /* after "caller" */
    "    84 bytes (@ 0x3fca9700, Internal) allocated CPU 0 ccount 0x052ac500 callerI (5) x: y",
    /* sizes with a sign or a hex prefix: %d prints neither */
    "  0x54 bytes (@ 0x3fca9700, Internal) allocated CPU 0 ccount 0x052ac500 caller 0x42001234",
    "   -84 bytes (@ 0x3fca9700, Internal) allocated CPU 0 ccount 0x052ac500 caller 0x42001234",
    "   +84 bytes (@ 0x3fca9700, Internal) allocated CPU 0 ccount 0x052ac500 caller 0x42001234",
    /* CPU and ccount that are no numbers */
    "    84 bytes (@ 0x3fca9700, Internal) allocated CPU x ccount 0x052ac500 caller 0x42001234",
    "    84 bytes (@ 0x3fca9700, Internal) allocated CPU 0 ccount zz caller 0x42001234",
    "    84 bytes (@ 0x3fca9700, Internal) allocated CPU 0 ccount 0xzz caller 0x42001234",
    /* a region label ESP-IDF does not print */
    "    84 bytes (@ 0x3fca9700, Intern) allocated CPU 0 ccount 0x052ac500 caller 0x42001234",
    /* "caller" without an address */
    "    84 bytes (@ 0x3fca9700, Internal) allocated CPU 0 ccount 0x052ac500 caller zz",
};

/* In the middle of a dump, a damaged record is an error naming the file and
 * the line; what was read before it is still reported. On the input's
 * unterminated last line, it is not counted and the dump is cut off. */
static void test_idf_damaged_records(void **state)
{
    (void)state;
    char out[8192];
    for (size_t i = 0; i < sizeof damaged_records / sizeof damaged_records[0]; i++) {
        lk_input_t in;
        FILE *f = open_tmp();
        fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 3u, 64u);
        two_records(f);
        fprintf(f, "%s\n", damaged_records[i]);
        v51_summary(f, 0, 4264, 3, 3, 64, 3, 3, 0);
        if (parse_back(f, &in) != -1 || strncmp(in.err, "dump.txt:4: ", 12) != 0)
            fail_msg("'%s' in the middle: got '%s'", damaged_records[i], in.err);
        fclose(f);
        lk_input_free(&in);
        assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 2);
        assert_non_null(strstr(out, "\"blocks\":2,\"bytes\":4180"));
        assert_non_null(strstr(out, "\"cut_off_reason\":\"reading stopped at line 4: "));

        f = open_tmp();
        fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 3u, 64u);
        two_records(f);
        fprintf(f, "%s", damaged_records[i]); /* the capture ends here */
        assert_int_equal(parse_back(f, &in), 0);
        fclose(f);
        uint64_t bytes;
        if (count_leaks(&in, &bytes) != 2 || !in.cut_off || in.warnings < 1)
            fail_msg("'%s' last: %zu blocks, cut_off %d", damaged_records[i], count_leaks(&in, &bytes),
                     in.cut_off);
        assert_int_equal(bytes, 4180);
        lk_input_free(&in);
        assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out),
                         RTM_LEAKS_EXIT_CUT_OFF);
        assert_non_null(strstr(out, "\"blocks\":2,\"bytes\":4180"));
        assert_non_null(strstr(out, "\"cut_off_reason\":\"the input ends inside a record\""));
    }
    /* a header-less paste that starts with such a record */
    FILE *f = open_tmp();
    fprintf(f, "%s\n", damaged_records[6]);
    two_records(f);
    fclose(f);
    assert_int_equal(run_leaks(tmp_path, NULL, NULL, NULL, NULL, out, sizeof out), 2);
    remove(tmp_path);
}

/* heap_trace_dump's output as `fold -w WIDTH` leaves it. */
static void write_folded(FILE *f, const char *text, size_t width)
{
    size_t col = 0;
    for (const char *p = text; *p; p++) {
        if (*p == '\n') {
            col = 0;
        } else if (col == width) {
            fputc('\n', f);
            col = 0;
        }
        fputc(*p, f);
        if (*p != '\n')
            col++;
    }
}

/* A paste wrapped at the terminal's width: at every width, the dump is read
 * as unwrapped (no line was broken) or refused naming a line; a record is
 * never counted from its first part alone. */
static void test_idf_wrapped_paste(void **state)
{
    (void)state;
    static char dump[4096];
    FILE *m = fmemopen(dump, sizeof dump, "w");
    assert_non_null(m);
    const uintptr_t c1[2] = {0x42001234, 0x42005678};
    fprintf(m, "====== Heap Trace: %u records (%u capacity) ======\n", 3u, 64u);
    two_records(m);
    fprintf(m, "I (1200) app: between the records\n");
    v51_record(m, 40, 0x3fca9800, ", Internal", 1, 0x062ac400, c1, 2);
    fprintf(m, "\n");
    v51_summary(m, 0, 4220, 3, 3, 64, 3, 9, 6);
    assert_int_equal(fclose(m), 0);
    size_t longest = 0, col = 0;
    for (const char *p = dump; *p; p++) {
        col = *p == '\n' ? 0 : col + 1;
        if (col > longest)
            longest = col;
    }
    for (size_t width = 40; width <= longest + 1; width++) {
        FILE *f = open_tmp();
        write_folded(f, dump, width);
        lk_input_t in;
        int rc = parse_back(f, &in);
        fclose(f);
        if (width >= longest) {
            assert_int_equal(rc, 0);
            uint64_t bytes;
            assert_int_equal(count_leaks(&in, &bytes), 3);
            assert_int_equal(bytes, 4220);
        } else if (rc != -1 || strstr(in.err, "dump.txt:") != in.err) {
            fail_msg("folded at %zu columns: read without an error (%zu blocks)", width, in.live);
        }
        lk_input_free(&in);
    }
    /* fold -w 60, the reporter's case: the first record's second part */
    FILE *f = open_tmp();
    write_folded(f, dump, 60);
    fclose(f);
    char out[8192];
    assert_int_equal(run_leaks(tmp_path, NULL, NULL, NULL, NULL, out, sizeof out), 2);
    assert_non_null(strstr(out, "INCOMPLETE DUMP: reading stopped at line 2: "));
    assert_null(strstr(out, "(no caller recorded)"));
    /* a cut that leaves a whole-looking first part: the second part names it */
    f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 3u, 64u);
    fprintf(f, "    84 bytes (@ 0x3fca94d8, Internal) allocated CPU 0 ccount 0x042ac374 caller 0x4200\n"
               "1234:0x42005678\n");
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), -1);
    fclose(f);
    assert_non_null(strstr(in.err, "dump.txt:3: this line continues the heap trace record of line 2"));
    assert_int_equal(in.live, 0); /* the record read from its first part is taken back */
    lk_input_free(&in);
    remove(tmp_path);
}

/* The generation comes from the dump's lines: a damaged record does not
 * change it, a record its generation does not print is damaged, and lines
 * of two generations in one dump are an error naming both. */
static void test_idf_generation_with_damage(void **state)
{
    (void)state;
    lk_input_t in;
    /* v5.1-v5.4 (records with "caller " and no chain), the last record run
     * into by a log line: still v5.1-v5.4, not v5.5+ */
    FILE *f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 3u, 64u);
    v51_record_no_chain(f, 32, 0x3fca0000, 0, 0x100);
    v51_record_no_chain(f, 48, 0x3fca0100, 1, 0x200);
    fprintf(f, "    84 bytes (@ 0x3fca0200, Internal) allocated CPU 1 ccI (1300) wifi: sta connected");
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.format, LK_FMT_IDF_V51);
    assert_true(in.cut_off);
    lk_input_free(&in);
    /* a v5.1+ dump with callers and the same damage: v5.1+, not v5.5+ */
    f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 3u, 64u);
    two_records(f);
    fprintf(f, "    84 bytes (@ 0x3fca0200, Internal) allocated CPU 1 ccI (1300) wifi: sta connected");
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.format, LK_FMT_IDF_V5);
    lk_input_free(&in);
    /* in a v5.1-v5.4 dump, a record without " caller" was cut after its
     * ccount: an error in the middle, not counted at the end */
    f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 3u, 64u);
    v51_record_no_chain(f, 32, 0x3fca0000, 0, 0x100);
    fprintf(f, "    84 bytes (@ 0x3fca0200, Internal) allocated CPU 1 ccount 0x00000300\n");
    v51_record_no_chain(f, 48, 0x3fca0100, 1, 0x200);
    assert_int_equal(parse_back(f, &in), -1);
    fclose(f);
    assert_non_null(strstr(in.err, "dump.txt:3: heap trace record of a shape only ESP-IDF v5.5+ "
                                   "prints, in a dump that line 2 shows is v5.1-v5.4"));
    lk_input_free(&in);
    f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 3u, 64u);
    v51_record_no_chain(f, 32, 0x3fca0000, 0, 0x100);
    fprintf(f, "    84 bytes (@ 0x3fca0200, Internal) allocated CPU 1 ccount 0x00000300");
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.format, LK_FMT_IDF_V51);
    assert_true(in.cut_off);
    assert_int_equal(in.live, 1);
    lk_input_free(&in);
    /* up to v5.0 never leaves " caller" out */
    f = open_tmp();
    fprintf(f, "%u allocations trace (%u entry buffer)\n", 2u, 100u);
    fprintf(f, "40 bytes (@ 0x3ffb2000) allocated CPU 0 ccount 0x00001234\n");
    fprintf(f, "40 bytes 'leaked' in trace (1 allocations)\n");
    assert_int_equal(parse_back(f, &in), -1);
    fclose(f);
    assert_non_null(strstr(in.err, "dump.txt:2: "));
    lk_input_free(&in);
    /* a v5.5+ record, then an up-to-v5.0 summary line in the same dump */
    f = open_tmp();
    fprintf(f, "    12 bytes (@ 0x3fca9500, Internal) allocated CPU 1 ccount 0x042ac380 caller "
               "0x42001234 freed\n");
    fprintf(f, "    12 bytes (@ 0x3fca9600) allocated CPU 1 ccount 0x042ac380\n");
    fprintf(f, "total allocations 2 total frees 1\n");
    assert_int_equal(parse_back(f, &in), -1);
    fclose(f);
    assert_non_null(strstr(in.err, "dump.txt:3: this line is printed by ESP-IDF up to v5.0 only, "
                                   "line 1 of the same dump by v5.5+ only"));
    lk_input_free(&in);
    remove(tmp_path);
}

/* Summary lines count only in the shapes heap_trace_dump prints them (the
 * generations table of docs/tools.md): lower-case "total allocations",
 * "total frees", no "Has overflowed:" line in any generation. A dump whose
 * summary has only other lines has no summary, and lines in no real shape
 * tell nothing about the generation. */
static void test_idf_summary_lines_in_real_shapes(void **state)
{
    (void)state;
    lk_input_t in;
    FILE *f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 64u);
    two_records(f);
    fprintf(f, "Total allocations: 7\n");
    fprintf(f, "Total frees: 5\n");
    fprintf(f, "Has overflowed: True\n");
    fprintf(f, "total allocations 7\n");
    fprintf(f, "total frees 5\n");
    fprintf(f, "mode: heap trace all\n");
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_false(in.sum.have_total);
    assert_int_equal(in.sum.total_allocs, 0);
    assert_false(in.sum.have_overflow);
    assert_false(in.esp_summary);
    assert_true(in.cut_off); /* the header's dump ends without its summary */
    assert_int_equal(in.format, LK_FMT_IDF_V5);
    lk_input_free(&in);
    char out[8192];
    assert_int_equal(run_leaks(tmp_path, NULL, NULL, NULL, NULL, out, sizeof out),
                     RTM_LEAKS_EXIT_CUT_OFF);
    assert_null(strstr(out, "OVERFLOWED"));
    assert_null(strstr(out, "total allocations"));
    /* the real lines are read, each marking its generations: "total
     * frees: N" is printed by v5.1+ only, so after an up-to-v5.0 header
     * one of the two lines is damaged */
    f = open_tmp();
    fprintf(f, "%u allocations trace (%u entry buffer)\n", 0u, 100u);
    fprintf(f, "0 bytes 'leaked' in trace (0 allocations)\n");
    fprintf(f, "total frees: 3\n");
    assert_int_equal(parse_back(f, &in), -1);
    fclose(f);
    assert_non_null(strstr(in.err, "dump.txt:3: this line is printed by ESP-IDF v5.1+ only, "
                                   "line 1 of the same dump by up to v5.0 only"));
    lk_input_free(&in);
    f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 0u, 64u);
    v51_summary(f, 0, 0, 0, 0, 64, 0, 9, 9);
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_true(in.sum.have_total);
    assert_int_equal(in.sum.total_allocs, 9);
    assert_int_equal(in.sum.total_frees, 9);
    assert_false(in.cut_off);
    lk_input_free(&in);
    remove(tmp_path);
}

/* Only the line ESP-IDF prints after a freed block's record, "freed by"
 * and the chain of the free's callers, frees that record; it may come
 * after idf.py monitor's address-decode lines, and behind a prefix. Log
 * lines that merely use the words free nothing; a damaged "freed by" line
 * is an error at its line, or, cut at the end of the input, still says
 * that its block was freed. */
static void test_idf_freed_by_only_in_its_shape(void **state)
{
    (void)state;
    lk_input_t in;
    uint64_t bytes;
    const uintptr_t c1[2] = {0x42001234, 0x42005678};
    FILE *f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 4u, 64u);
    v51_record(f, 32, 0x3fca0000, ", Internal", 0, 0x100, c1, 2);
    fprintf(f, "\nI (1300) app: buffer freed by the wifi driver\n");
    v51_record(f, 48, 0x3fca0100, ", Internal", 0, 0x200, c1, 2);
    fprintf(f, "\nW (1400) app: 3 items freed by cleanup task\n");
    fprintf(f, "I (1401) app: it was freed by: nobody\n");
    v51_record(f, 64, 0x3fca0200, ", Internal", 1, 0x300, c1, 2);
    fprintf(f, "\n0x42001234: make_buf at /src/main.c:12\n"); /* monitor decode lines */
    fprintf(f, "0x42005678: app_main at /src/main.c:40\n");
    fprintf(f, "[12:00:01.122] freed by 0x42000010:0x0\n");
    fprintf(f, "I (1402) app: freed by 0x42000010:0x42000020\n"); /* no record left to free */
    v51_record(f, 80, 0x3fca0300, ", Internal", 1, 0x400, c1, 2);
    fprintf(f, "\nfreed by 0x42000010:0x42000020:\n");
    v51_summary(f, 1, 80, 2, 4, 64, 4, 4, 2);
    fprintf(f, "freed by 0x42000030:0x42000040\n"); /* after the summary: frees nothing */
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(count_leaks(&in, &bytes), 2);
    assert_int_equal(bytes, 80);
    assert_non_null(find_rec(&in, "0x3fca0000"));
    assert_non_null(find_rec(&in, "0x3fca0100"));
    lk_input_free(&in);
    char out[8192];
    assert_int_equal(run_leaks(tmp_path, "--json", NULL, NULL, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "\"summary_agrees\":true"));

    /* damaged "freed by" lines after a record: an error at their line in
     * the middle of the input */
    static const char *const damaged[] = {
        "freed by",                                       /* the chain on the next line */
        "freed by 0x42000010 I (500) wifi: sta start",    /* another task's log ran in */
        "freed by 0x42000010:0x42000020 x",
    };
    for (size_t i = 0; i < sizeof damaged / sizeof damaged[0]; i++) {
        f = open_tmp();
        fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 3u, 64u);
        two_records(f);
        fprintf(f, "%s\n", damaged[i]);
        v51_summary(f, 1, 4180, 2, 2, 64, 2, 3, 1);
        if (parse_back(f, &in) != -1 || strncmp(in.err, "dump.txt:4: heap trace 'freed by' line", 38) != 0)
            fail_msg("'%s': got '%s'", damaged[i], in.err);
        fclose(f);
        lk_input_free(&in);
        /* the input's unterminated last line: the block was freed */
        f = open_tmp();
        fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 64u);
        two_records(f);
        fprintf(f, "%s", damaged[i]);
        assert_int_equal(parse_back(f, &in), 0);
        fclose(f);
        if (count_leaks(&in, &bytes) != 1 || !in.cut_off || in.warnings < 1)
            fail_msg("'%s' last: %zu blocks, cut_off %d", damaged[i], count_leaks(&in, &bytes),
                     in.cut_off);
        assert_int_equal(bytes, 84);
        lk_input_free(&in);
    }
    /* wrapped inside its chain: the next line holds the rest */
    f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 64u);
    two_records(f);
    fprintf(f, "freed by 0x42000010:0x420\n00020\n");
    v51_summary(f, 1, 84, 1, 2, 64, 2, 2, 1);
    assert_int_equal(parse_back(f, &in), -1);
    fclose(f);
    assert_non_null(strstr(in.err, "dump.txt:5: this line continues the 'freed by' line of line 4"));
    lk_input_free(&in);
    /* after a record not counted (a panic ran into it), a "freed by" line
     * is not about the record before that one */
    f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 64u);
    v51_record(f, 32, 0x3fca0000, ", Internal", 0, 0x100, c1, 2);
    fprintf(f, "\n    48 bytes (@ 0x3fca0100, Internal) allocated Guru Meditation Error\n");
    fprintf(f, "freed by 0x42000010:0x42000020\n");
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(count_leaks(&in, &bytes), 1);
    assert_int_equal(bytes, 32);
    assert_true(in.cut_off);
    lk_input_free(&in);
    remove(tmp_path);
}

/* The overflow note wrapped at the terminal's width, as every other wrapped
 * line that would otherwise be read wrong: refused at its first part, not
 * skipped (which lost the overflow). The summary's other lines are shorter
 * than 44 columns, so a summary-only paste folded at 44 to 65 columns has
 * only the note broken. */
static void test_idf_wrapped_note(void **state)
{
    (void)state;
    static char dump[1024];
    FILE *m = fmemopen(dump, sizeof dump, "w");
    assert_non_null(m);
    fprintf(m, "====== Heap Trace Summary ======\n");
    fprintf(m, "Mode: Heap Trace All\n");
    fprintf(m, "%u bytes alive in trace (%u/%u allocations)\n", 96u, 2u, 3u);
    fprintf(m, "records: %u (%u capacity, %u high water mark)\n", 3u, 16u, 3u);
    fprintf(m, "total allocations: %u\n", 3u);
    fprintf(m, "total frees: %u\n", 1u);
    fprintf(m, "(NB: Internal Buffer has overflowed, so trace data is incomplete.)\n");
    fprintf(m, "================================\n");
    assert_int_equal(fclose(m), 0);
    for (size_t width = 44; width <= 66; width++) {
        FILE *f = open_tmp();
        write_folded(f, dump, width);
        lk_input_t in;
        int rc = parse_back(f, &in);
        fclose(f);
        if (width == 66) {
            assert_int_equal(rc, 0);
            assert_true(in.sum.overflowed);
        } else if (rc != -1 || strstr(in.err, "dump.txt:7: heap trace note cut short") != in.err) {
            fail_msg("folded at %zu columns: rc %d, '%s'", width, rc, in.err);
        }
        lk_input_free(&in);
    }
    /* up to v5.0's note, behind a prefix, in a dump whose records were joined */
    FILE *f = open_tmp();
    const uintptr_t c1[2] = {0x400d1234, 0x400d5678};
    fprintf(f, "%u allocations trace (%u entry buffer)\n", 1u, 100u);
    v4_record(f, 40, 0x3ffb2000, 0, 0x1235, c1, 2, 2);
    fprintf(f, "\n40 bytes 'leaked' in trace (1 allocations)\n");
    fprintf(f, "total allocations 9 total frees 8\n");
    fprintf(f, "[12:00:01.500] (NB: Buffer has overflowed, so trace da\nta is incomplete.)\n");
    fclose(f);
    char out[8192];
    assert_int_equal(run_leaks(tmp_path, NULL, NULL, NULL, NULL, out, sizeof out), 2);
    assert_non_null(strstr(out, "INCOMPLETE DUMP: reading stopped at line 5: heap trace note cut short"));
    assert_non_null(strstr(out, "40 bytes in 1 blocks still allocated"));
    /* cut at the end of the input: the dump is cut off */
    f = open_tmp();
    fprintf(f, "%u allocations trace (%u entry buffer)\n", 1u, 100u);
    v4_record(f, 40, 0x3ffb2000, 0, 0x1235, c1, 2, 2);
    fprintf(f, "\n40 bytes 'leaked' in trace (1 allocations)\n");
    fprintf(f, "total allocations 9 total frees 8\n");
    fprintf(f, "(NB: Buffer has overflowed, so trace da");
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_true(in.cut_off);
    assert_true(in.warnings >= 1);
    lk_input_free(&in);
    /* a whole note of another text is no overflow note, and a log line that
     * mentions one is a log line */
    f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 0u, 64u);
    fprintf(f, "I (1300) app: overflowed, so trace data is incomplete\n");
    v51_summary(f, 1, 0, 0, 0, 64, 0, 1, 1);
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_false(in.sum.have_overflow);
    lk_input_free(&in);
    remove(tmp_path);
}

/* Two dumps in one paste, the second without its header: a record after an
 * up-to-v5.0 dump's summary (which has no closing line) starts a new dump. */
static void test_idf_second_dump_after_v4_summary(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    const uintptr_t c1[2] = {0x400d1234, 0x400d5678};
    fprintf(f, "%u allocations trace (%u entry buffer)\n", 1u, 100u);
    v4_record(f, 40, 0x3ffb2000, 0, 0x1235, c1, 2, 2);
    fprintf(f, "\n40 bytes 'leaked' in trace (1 allocations)\n");
    fprintf(f, "total allocations 1 total frees 0\n");
    fprintf(f, "I (9000) app: after the update\n");
    two_records(f);
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    uint64_t bytes;
    assert_int_equal(count_leaks(&in, &bytes), 2);
    assert_int_equal(bytes, 4180);
    assert_int_equal(in.format, LK_FMT_IDF_V5);
    lk_input_free(&in);
    remove(tmp_path);
}

/* --- streaming: freed records are released -------------------------------------- */

static void test_freed_records_released(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    fputs("# rtmem-trace 1\na leak 7\n", f);
    for (unsigned i = 0; i < 100000u; i++)
        fprintf(f, "a %u %u\nf %u\n", i, 16u + i % 64u, i);
    for (unsigned i = 0; i < 1000u; i++)
        fprintf(f, "a x%u 8\nr x%u y%u 16\nf y%u\n", i, i, i, i);
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.live, 1);
    assert_int_equal(in.peak_live, 2);
    assert_true(in.caprec <= 256u); /* the pool never grew */
    assert_true(in.hcap <= 1024u);
    uint64_t bytes;
    assert_int_equal(count_leaks(&in, &bytes), 1);
    assert_int_equal(bytes, 7);
    lk_input_free(&in);

    /* ESP-IDF all-mode dump: "freed by" releases the record */
    f = open_tmp();
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 600u, 600u);
    const uintptr_t c1[2] = {0x42001234, 0x42005678};
    for (unsigned i = 0; i < 600u; i++) {
        v51_record(f, 32, 0x3fca0000 + 64u * i, ", Internal", 0, 0x100 + i, c1, 2);
        if (i % 300u != 0)
            fprintf(f, "\nfreed by %p:%p\n", P(0x42000010), P(0x42000020));
        else
            fprintf(f, "\n");
    }
    v51_summary(f, 1, 64, 2, 600, 600, 600, 600, 598);
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    assert_int_equal(in.live, 2);
    assert_int_equal(in.peak_live, 3); /* two kept, one being read */
    lk_input_free(&in);
    remove(tmp_path);
}

/* --- symbolization against an ELF built here --------------------------------------- */

static void test_symbolize(void **state)
{
    (void)state;
    if (system("command -v cc >/dev/null 2>&1 && command -v addr2line >/dev/null 2>&1 && "
               "command -v nm >/dev/null 2>&1") != 0) {
        print_message("SKIPPED: cc, addr2line or nm not on PATH; symbolization not tested\n");
        skip();
    }
    char dir[64], src[128], elf[128], cmd[512];
    snprintf(dir, sizeof dir, "/tmp/rtmem_sym_%ld", (long)getpid());
    snprintf(src, sizeof src, "%s/leaky.c", dir);
    snprintf(elf, sizeof elf, "%s/leaky.elf", dir);
    snprintf(cmd, sizeof cmd, "mkdir -p %s", dir);
    assert_int_equal(system(cmd), 0);
    FILE *f = fopen(src, "w");
    assert_non_null(f);
    fputs("#include <stdlib.h>\n"
          "__attribute__((noinline)) void *leaky_alloc(size_t n)\n"
          "{\n"
          "    return malloc(n);\n"
          "}\n"
          "int main(void) { return leaky_alloc(4) == 0; }\n",
          f);
    fclose(f);
    snprintf(cmd, sizeof cmd, "cc -g -O0 -o %s %s", elf, src);
    if (system(cmd) != 0) {
        print_message("SKIPPED: cc could not build the test ELF\n");
        skip();
    }
    snprintf(cmd, sizeof cmd, "nm %s", elf);
    FILE *p = popen(cmd, "r");
    assert_non_null(p);
    char line[256];
    unsigned long long addr = 0;
    while (fgets(line, sizeof line, p)) {
        char name[128], type;
        unsigned long long a;
        if (sscanf(line, "%llx %c %127s", &a, &type, name) == 3 && strcmp(name, "leaky_alloc") == 0)
            addr = a;
    }
    pclose(p);
    assert_true(addr != 0);

    char err[256];
    assert_true(sym_elf_machine(elf, err, sizeof err) > 0);
    const char *tool = sym_pick_addr2line(elf, NULL, err, sizeof err);
    assert_non_null(tool);

    /* a return address inside leaky_alloc: a few bytes past its entry */
    snprintf(tmp_path, sizeof tmp_path, "%s/trace.txt", dir);
    f = fopen(tmp_path, "w");
    assert_non_null(f);
    fprintf(f, "# rtmem-trace 1\na 1 4 caller=0x%llx:0x%llx\n", addr + 4, addr + 8);
    fclose(f);
    char out[8192];
    assert_int_equal(run_leaks(tmp_path, "--json", "--elf", elf, NULL, out, sizeof out), 1);
    assert_non_null(strstr(out, "\"function\":\"leaky_alloc\""));
    assert_non_null(strstr(out, "leaky.c\",\"line\":"));
    /* --addr2line given explicitly; and the table shows the symbol too */
    assert_int_equal(run_leaks(tmp_path, "--elf", elf, "--addr2line", "addr2line", out, sizeof out), 1);
    assert_non_null(strstr(out, "leaky_alloc "));
    assert_int_equal(run_leaks(tmp_path, "--elf", elf, "--addr2line", "/nonexistent/addr2line", out,
                               sizeof out), 2);
    snprintf(cmd, sizeof cmd, "rm -rf %s", dir);
    assert_int_equal(system(cmd), 0);
}

/* The built tool with stdout and stderr into files under dir; its exit
 * status. */
static int run_tool_leaks(const char *dir, const char *const *args, char *out, size_t out_cap,
                          char *err, size_t err_cap)
{
    char out_path[128], err_path[128];
    snprintf(out_path, sizeof out_path, "%s/stdout", dir);
    snprintf(err_path, sizeof err_path, "%s/stderr", dir);
    const ts_tool_run_t r = {.tool = RTMEM_TEST_TOOL, .out_path = out_path, .err_path = err_path,
                             .err_fd = -1};
    int rc = ts_run_tool(&r, args);
    ts_read_file(out_path, out, out_cap);
    ts_read_file(err_path, err, err_cap);
    unlink(out_path);
    unlink(err_path);
    return rc;
}

static size_t count_lines(const char *s)
{
    size_t n = 0;
    for (; *s; s++)
        n += *s == '\n';
    return n;
}

/* `rtmem leaks --elf FILE` with a FILE that is no ELF or does not exist,
 * or an addr2line that fails: the report is still printed, without
 * symbols, after one warning that names FILE; exit 2, as rtmem report
 * writes its page and exits 2. */
static void test_elf_unusable_keeps_the_report(void **state)
{
    (void)state;
    ts_scratch_t dir;
    assert_int_equal(ts_scratch_make(&dir, "rtmem_leaks_elf"), 0);
    char dump[128], notelf[128], missing[128];
    assert_int_equal(ts_scratch_path(&dir, "dump.txt", dump, sizeof dump), 0);
    assert_int_equal(ts_scratch_path(&dir, "firmware.bin", notelf, sizeof notelf), 0);
    assert_int_equal(ts_scratch_path(&dir, "missing.elf", missing, sizeof missing), 0);
    FILE *f = fopen(dump, "w");
    assert_non_null(f);
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 64u);
    two_records(f);
    v51_summary(f, 0, 4180, 2, 2, 64, 2, 9, 7);
    fclose(f);
    f = fopen(notelf, "w");
    assert_non_null(f);
    fputs("this is a firmware image, not an ELF file\n", f);
    fclose(f);

    static char out[16384], err[4096];
    const char *const elves[] = {notelf, missing};
    for (size_t i = 0; i < 2; i++) {
        const char *table[] = {"rtmem", "leaks", dump, "--elf", elves[i], NULL};
        assert_int_equal(run_tool_leaks(dir.dir, table, out, sizeof out, err, sizeof err), 2);
        assert_non_null(strstr(out, "4180 bytes in 2 blocks still allocated, 2 call sites"));
        assert_non_null(strstr(out, "    at 0x42009000\n"));
        assert_int_equal(count_lines(err), 1);
        assert_non_null(strstr(err, "rtmem leaks: warning: no symbols from --elf "));
        assert_non_null(strstr(err, elves[i]));
        const char *json[] = {"rtmem", "leaks", dump, "--json", "--elf", elves[i], NULL};
        assert_int_equal(run_tool_leaks(dir.dir, json, out, sizeof out, err, sizeof err), 2);
        assert_non_null(strstr(out, "\"blocks\":2,\"bytes\":4180"));
        assert_null(strstr(out, "\"function\""));
        assert_true(strlen(out) > 2 && strcmp(out + strlen(out) - 2, "}\n") == 0);
        assert_int_equal(count_lines(err), 1);
        assert_non_null(strstr(err, elves[i]));
    }
    /* the given addr2line cannot be run: the report still comes */
    const char *no_a2l[] = {"rtmem", "leaks", dump, "--elf", notelf, "--addr2line",
                            "/nonexistent/addr2line", NULL};
    assert_int_equal(run_tool_leaks(dir.dir, no_a2l, out, sizeof out, err, sizeof err), 2);
    assert_non_null(strstr(out, "4180 bytes in 2 blocks still allocated"));
    assert_non_null(strstr(err, notelf));
    /* addr2line runs but fails on the file (binutils' own complaint may
     * come too) */
    if (system("command -v addr2line >/dev/null 2>&1") == 0) {
        const char *fails[] = {"rtmem", "leaks", dump, "--elf", notelf, "--addr2line", "addr2line",
                               NULL};
        assert_int_equal(run_tool_leaks(dir.dir, fails, out, sizeof out, err, sizeof err), 2);
        assert_non_null(strstr(out, "4180 bytes in 2 blocks still allocated"));
        assert_non_null(strstr(err, "rtmem leaks: warning: no symbols from --elf "));
        assert_non_null(strstr(err, notelf));
    }
    /* a cut-off dump keeps its report too; the unusable --elf decides the status */
    f = fopen(dump, "w");
    assert_non_null(f);
    fprintf(f, "====== Heap Trace: %u records (%u capacity) ======\n", 2u, 64u);
    two_records(f);
    fclose(f);
    const char *cut[] = {"rtmem", "leaks", dump, "--elf", notelf, NULL};
    assert_int_equal(run_tool_leaks(dir.dir, cut, out, sizeof out, err, sizeof err), 2);
    assert_non_null(strstr(out, "INCOMPLETE DUMP: "));
    assert_non_null(strstr(out, "4180 bytes in 2 blocks still allocated"));
    const char *const names[] = {"dump.txt", "firmware.bin"};
    assert_int_equal(ts_scratch_remove(&dir, names, 2), 0);
}

/* Found by fuzz_symbolize (docs/fuzzing.md): an 18-byte big-endian ELF
 * header cut off after e_type = ET_DYN. Too short to hold e_machine, so it
 * is no ELF file for sym_elf_machine, and sym_elf_is_pie must agree. */
static void test_truncated_elf_header(void **state)
{
    (void)state;
    static const unsigned char head[20] = {0x7f, 'E', 'L', 'F', 2, 2, 1, 0, 0, 0, 0, 0,
                                           0,    0,   0,   0,   0, 3, 0, 0x3e};
    char path[96], err[256];
    snprintf(path, sizeof path, "/tmp/rtmem_elfhead_%ld", (long)getpid());
    for (size_t len = 0; len <= sizeof head; len++) {
        FILE *f = fopen(path, "wb");
        assert_non_null(f);
        assert_int_equal(fwrite(head, 1, len, f), len);
        fclose(f);
        err[0] = '\0';
        int machine = sym_elf_machine(path, err, sizeof err);
        int pie = sym_elf_is_pie(path);
        if (len < sizeof head) {
            assert_int_equal(machine, -1);
            assert_non_null(strstr(err, "not an ELF file"));
            assert_int_equal(pie, 0);
        } else {
            assert_int_equal(machine, 62); /* EM_X86_64, big-endian */
            assert_int_equal(pie, 1);
        }
    }
    /* a byte order other than 1 or 2 is no ELF file for either reader */
    unsigned char odd[20];
    memcpy(odd, head, sizeof odd);
    odd[5] = 0;
    FILE *f = fopen(path, "wb");
    assert_non_null(f);
    assert_int_equal(fwrite(odd, 1, sizeof odd, f), sizeof odd);
    fclose(f);
    assert_int_equal(sym_elf_machine(path, err, sizeof err), -1);
    assert_int_equal(sym_elf_is_pie(path), 0);
    remove(path);
}

/* A PATH directory too long for the found name's 1024 bytes is passed over:
 * cut at 1023 bytes, "DIR/fakename" would name the program planted at
 * exactly that path, and it would be run as addr2line. */
static void test_addr2line_long_path_entry(void **state)
{
    (void)state;
    char planted[1024], dirs[8][1024];
    size_t ndirs = 0;
    int len = snprintf(planted, sizeof planted, "/tmp/rtm_pathcut_%ld", (long)getpid());
    assert_int_equal(mkdir(planted, 0700), 0);
    memcpy(dirs[ndirs++], planted, sizeof planted);
    /* directories of 200-byte names down to 1023 bytes in all: the last
     * component is the program */
    while (len < 1023) {
        size_t part = 1023u - (size_t)len - 1u > 200u ? 200u : 1023u - (size_t)len - 1u;
        planted[len++] = '/';
        memset(planted + len, 'd', part);
        len += (int)part;
        planted[len] = '\0';
        if (len < 1023) {
            assert_int_equal(mkdir(planted, 0700), 0);
            memcpy(dirs[ndirs++], planted, sizeof planted);
        }
    }
    assert_int_equal(strlen(planted), 1023);
    FILE *f = fopen(planted, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\nexit 0\n", f);
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(planted, 0700), 0);
    assert_int_equal(access(planted, X_OK), 0);

    static char entry[1100];
    (void)snprintf(entry, sizeof entry, "%s/more", planted);
    const char *old = getenv("PATH");
    static char saved[8192];
    (void)snprintf(saved, sizeof saved, "%s", old != NULL ? old : "");
    assert_int_equal(setenv("PATH", entry, 1), 0);
    char err[256] = "";
    const char *tool = sym_pick_addr2line("/nonexistent.elf", "fakename", err, sizeof err);
    if (old != NULL) {
        assert_int_equal(setenv("PATH", saved, 1), 0);
    } else {
        assert_int_equal(unsetenv("PATH"), 0);
    }
    assert_int_equal(remove(planted), 0);
    while (ndirs > 0) {
        assert_int_equal(rmdir(dirs[--ndirs]), 0);
    }
    assert_null(tool);
    assert_string_equal(err, "fakename: not an executable");
}

/* addr2line's FILE:LINE answers, odd and hostile, through a stand-in
 * addr2line that prints them: a line number is kept only when it is what
 * the answer says, else it is 0 (unknown, as "??:0"); never wrapped,
 * negated, cut at a stray byte or different on a 32-bit host. */
static void test_addr2line_line_numbers(void **state)
{
    (void)state;
    static const struct {
        const char *answer;
        const char *file;
        unsigned long line;
    } cases[] = {
        {"/src/a.c:12", "/src/a.c", 12},
        {"/src/a.c:12 (discriminator 3)", "/src/a.c", 12},
        {"/src/a.c:0012", "/src/a.c", 12},
        {"/src/a.c:4294967295", "/src/a.c", 4294967295ul}, /* SYM_LINE_MAX */
        {"C:/src/a.c:7", "C:/src/a.c", 7},
        {"??:0", "??", 0},
        {"/src/a.c:?", "/src/a.c", 0},
        {"/src/a.c:4294967296", "/src/a.c", 0},
        {"/src/a.c:18446744073709551615", "/src/a.c", 0},
        {"/src/a.c:99999999999999999999", "/src/a.c", 0},
        {"/src/a.c:-5", "/src/a.c", 0},
        {"/src/a.c:+5", "/src/a.c", 0},
        {"/src/a.c: 5", "/src/a.c", 0},
        {"/src/a.c:12abc", "/src/a.c", 0},
        {"/src/a.c:", "/src/a.c", 0},
        {"nocolon", "nocolon", 0},
    };
    enum { N = sizeof cases / sizeof cases[0] };
    char dir[64];
    (void)snprintf(dir, sizeof dir, "/tmp/rtm_a2l_lines_%ld", (long)getpid());
    assert_int_equal(mkdir(dir, 0700), 0);
    char script[128], answers[128];
    (void)snprintf(script, sizeof script, "%s/addr2line", dir);
    (void)snprintf(answers, sizeof answers, "%s/answers", dir);
    FILE *f = fopen(script, "w");
    assert_non_null(f);
    fputs("#!/bin/sh\nexec cat -- \"$4\"\n", f); /* -f -C -e FILE: prints FILE */
    assert_int_equal(fclose(f), 0);
    assert_int_equal(chmod(script, 0700), 0);
    f = fopen(answers, "w");
    assert_non_null(f);
    for (size_t i = 0; i < N; i++)
        fprintf(f, "fn%zu\n%s\n", i, cases[i].answer);
    assert_int_equal(fclose(f), 0);

    sym_entry_t e[N];
    memset(e, 0, sizeof e);
    for (size_t i = 0; i < N; i++)
        e[i].addr = 0x1000u + i;
    char err[256] = "";
    int rc = sym_resolve(script, answers, e, N, err, sizeof err);
    remove(script);
    remove(answers);
    rmdir(dir);
    assert_int_equal(rc, 0);
    for (size_t i = 0; i < N; i++) {
        char fn[16];
        (void)snprintf(fn, sizeof fn, "fn%zu", i);
        if (strcmp(e[i].function, fn) != 0 || strcmp(e[i].file, cases[i].file) != 0 ||
            e[i].line != cases[i].line)
            fail_msg("'%s': got %s %s:%lu, expected %s %s:%lu", cases[i].answer, e[i].function,
                     e[i].file, e[i].line, fn, cases[i].file, cases[i].line);
    }

    /* the same answers one at a time; a file name too long is cut, the
     * line after its last ':' still read */
    for (size_t i = 0; i < N; i++) {
        sym_entry_t one;
        memset(&one, 0x5a, sizeof one);
        sym_parse_file_line(cases[i].answer, &one);
        assert_string_equal(one.file, cases[i].file);
        assert_int_equal(one.line, cases[i].line);
    }
    char longer[400];
    memset(longer, 'd', 300);
    (void)snprintf(longer + 300, sizeof longer - 300, ".c:42");
    sym_entry_t one;
    sym_parse_file_line(longer, &one);
    assert_int_equal(strlen(one.file), sizeof one.file - 1u);
    assert_int_equal(one.line, 42);
}

/*
 * rtmem-trace lines get one verdict: each line goes to replay's reader
 * (rtm_trace_parse_line) and to leaks after a header; both accept it, or
 * both refuse it with the same words, leaks naming FILE:LINE.
 */
static void test_rtmem_lines_same_verdict_as_replay(void **state)
{
    (void)state;
    static const char *const lines[] = {
        /* good */
        "a 1 16", "A 1 16 8", "r 1 2 32", "f 1", "a 0x3ffb2000 40",
        "a 1 16 t=5 task=main heap=dram caller=0x400d1234:0x400d5678 site=a.c:3 seq=7",
        "a 1 16 caps=0x80c", "a 1 16 foo=bar", "a 1 16 t=007", "a 1 16 task=wifi%20mgr",
        "a 1 16 t=5...", "a 1 16 caller=0x4...", "f 1 t=18446744073709551615",
        "a 1 16 caller=0X400D1234",
        /* bad */
        "a 1 16 caps=0xZZ", "a 1 16 caps=80c", "a 1 16 caps=0x1 caps=0x2", "a 1 16 foo",
        "a 1 16 t=a=b", "a 1 16 seq=12x", "a 1 16 t=abc", "a 1 16 t=-1", "a 1 16 t=+5",
        "a 1 16 t=18446744073709551616", "a 1 16 seq=99999999999999999999",
        "a 1 16 t=1 t=2", "a 1 16 seq=1 seq=1", "a 1 16 caller=zz", "a 1 16 caller=0x1:",
        "a 1 16 caller=0x1::0x2", "a 1 16 caller=0x400d1234:0x1400d12345678abcd",
        "a 1 16 =x", "a 1 16 k=", "a 1 16 k-1=x", "a 1 16 k=a#b", "a 1 16 ", "a 1 16\t",
        "a 1 16 t=5 ", "a 1  16", "a 1 16x", "a 1 -16", "A 1 16 3", "A 1 16 0", "A 1 16",
        "a 1 1...", "a", "f", "a 1", "r 1 2", "r 1 2 x", "f 1-2",
        "a 123456789012345678901234567890123 16", "a 1 99999999999999999999",
        /* headers and comments */
        "# rtmem-trace 2", "# rtmem-trace 0", "# rtmem-trace 99999999999999999999999",
        "# rtmem-trace 01", "# rtmem-trace notes", "# rtmem-trace overflow", "# checkpoint",
    };
    for (size_t i = 0; i < sizeof lines / sizeof lines[0]; i++) {
        rtm_trace_event_t ev;
        char why[RTM_TRACE_ERR_MAX] = "";
        int replay_rc = rtm_trace_parse_line(lines[i], strlen(lines[i]), &ev, why, sizeof why);
        lk_input_t in;
        lk_input_init(&in, "t.trace");
        int leaks_rc = lk_parse_line(&in, "# rtmem-trace 1", 0);
        /* a free or realloc needs a live ID 1, as in replay */
        bool needs_live = lines[i][0] == 'r' || lines[i][0] == 'f';
        if (leaks_rc == 0 && needs_live)
            leaks_rc = lk_parse_line(&in, "a 1 8", 0);
        if (leaks_rc == 0)
            leaks_rc = lk_parse_line(&in, lines[i], 0);
        int leaks_ok = leaks_rc == 0;
        int replay_ok = replay_rc >= 0;
        if (leaks_ok != replay_ok)
            fail_msg("'%s': replay %s (%s), leaks %s (%s)", lines[i],
                     replay_ok ? "accepts" : "refuses", why, leaks_ok ? "accepts" : "refuses",
                     in.err);
        if (!leaks_ok) {
            char want[RTM_TRACE_ERR_MAX + 16];
            snprintf(want, sizeof want, "t.trace:%d: %s", needs_live ? 3 : 2, why);
            if (strcmp(in.err, want) != 0 && strchr(why, '\\') == NULL && strchr(why, '\t') == NULL)
                fail_msg("'%s': leaks says '%s', replay '%s'", lines[i], in.err, why);
        }
        lk_input_free(&in);
    }
}

/* caller= addresses with leading zeros (the reader accepts them, as in
 * every number) make a value of any length: leaks reads each address to
 * its end, wherever it starts (a copy cut at 511 bytes read 0 for the
 * first one and dropped it, and cut the next ones). */
static void test_caller_value_of_any_length(void **state)
{
    (void)state;
    static char line[RTM_LINE_MAX];
    char zeros[701];
    memset(zeros, '0', sizeof zeros - 1u);
    zeros[sizeof zeros - 1u] = '\0';
    /* 0x<700 zeros>400d1234, then one 0x400d5678 past byte 511 */
    (void)snprintf(line, sizeof line, "a 1 16 caller=0x%s400d1234:0x%s400d5678 task=main",
                   zeros, zeros);
    rtm_trace_event_t ev;
    char why[RTM_TRACE_ERR_MAX];
    assert_int_equal(rtm_trace_parse_line(line, strlen(line), &ev, why, sizeof why), 1);
    lk_input_t in;
    lk_input_init(&in, "t.trace");
    assert_int_equal(lk_parse_line(&in, "# rtmem-trace 1", 0), 0);
    assert_int_equal(lk_parse_line(&in, line, 0), 0);
    const lk_record_t *r = find_rec(&in, "1");
    assert_non_null(r);
    assert_int_equal(lk_rec_ncallers(r), 2);
    assert_true(lk_rec_callers(r)[0] == 0x400d1234u);
    assert_true(lk_rec_callers(r)[1] == 0x400d5678u);
    assert_string_equal(lk_rec_task(r), "main");
    lk_input_free(&in);
}

/* --- many blocks from few call sites ---------------------------------------- */

/* Blocks of a real dump repeat a few call sites, tasks and heaps: the
 * records share one origin per distinct caller chain, site, task and heap
 * (leaks_parse.h), and the groups come out as they did when every record
 * held its own copy. Each group is worked out here from the blocks, its
 * task and heap lists in input order. The blocks of some sites are all
 * freed (their origins go); the last site's are then allocated again
 * (its origins come back). */
#define RS_SITES 40u
#define RS_BLOCKS 6000u
#define RS_AGAIN 5u

typedef struct {
    uint64_t bytes, blocks, min_size, max_size, first_time, last_time;
    unsigned first;             /* block number of the oldest */
    char tasks[32], regions[32];
} rs_group_t;

static unsigned rs_site(unsigned i)
{
    return i > RS_BLOCKS ? RS_SITES - 1u : (i * 7u) % RS_SITES;
}

static unsigned rs_task(unsigned i)
{
    return (i / 3u) % 4u;
}

static const char *rs_heap(unsigned i)
{
    return i % 5u ? "dram" : "psram";
}

static uint64_t rs_size(unsigned i)
{
    return 16u + (i * 37u) % 500u;
}

static int rs_freed(unsigned i)
{
    return i <= RS_BLOCKS && (i % 4u == 0 || rs_site(i) == RS_SITES - 1u);
}

/* name appended to a comma list unless already in it */
static void rs_add(char *list, size_t cap, const char *name)
{
    size_t n = strlen(name);
    for (const char *p = list; (p = strstr(p, name)) != NULL; p += n)
        if ((p == list || p[-1] == ',') && (p[n] == ',' || p[n] == '\0'))
            return;
    size_t l = strlen(list);
    (void)snprintf(list + l, cap - l, "%s%s", l ? "," : "", name);
}

static int rs_cmp(const void *pa, const void *pb)
{
    const rs_group_t *a = pa, *b = pb;
    if (a->bytes != b->bytes)
        return a->bytes > b->bytes ? -1 : 1;
    if (a->blocks != b->blocks)
        return a->blocks > b->blocks ? -1 : 1;
    return a->first < b->first ? -1 : a->first > b->first;
}

static void test_repeated_sites_groups(void **state)
{
    (void)state;
    FILE *f = open_tmp();
    fprintf(f, "# rtmem-trace 1\n");
    for (unsigned i = 1; i <= RS_BLOCKS + RS_AGAIN; i++) {
        unsigned k = rs_site(i);
        fprintf(f, "a 0x%x %" PRIu64 " t=%u task=t%u heap=%s caller=0x400d%04x:0x400d9000 "
                   "site=s%u.c:%u\n",
                0x3f000000u + 16u * i, rs_size(i), i, rs_task(i), rs_heap(i), k, k, k);
        if (i == RS_BLOCKS)
            for (unsigned j = 1; j <= RS_BLOCKS; j++)
                if (rs_freed(j))
                    fprintf(f, "f 0x%x\n", 0x3f000000u + 16u * j);
    }
    fflush(f);

    static rs_group_t g[RS_SITES];
    memset(g, 0, sizeof g);
    uint64_t blocks = 0;
    for (unsigned i = 1; i <= RS_BLOCKS + RS_AGAIN; i++) {
        if (rs_freed(i))
            continue;
        rs_group_t *G = &g[rs_site(i)];
        if (G->blocks++ == 0) {
            G->first = i;
            G->min_size = G->max_size = rs_size(i);
            G->first_time = i;
        }
        G->bytes += rs_size(i);
        G->min_size = rs_size(i) < G->min_size ? rs_size(i) : G->min_size;
        G->max_size = rs_size(i) > G->max_size ? rs_size(i) : G->max_size;
        G->last_time = i;
        char task[8];
        (void)snprintf(task, sizeof task, "t%u", rs_task(i));
        rs_add(G->tasks, sizeof G->tasks, task);
        rs_add(G->regions, sizeof G->regions, rs_heap(i));
        blocks++;
    }
    /* the sites whose blocks were all freed sort last, with no bytes */
    qsort(g, RS_SITES, sizeof g[0], rs_cmp);
    unsigned ngroups = 0;
    while (ngroups < RS_SITES && g[ngroups].blocks > 0)
        ngroups++;
    assert_true(ngroups > 10u && ngroups < RS_SITES);
    static char want[RS_SITES * 320u];
    size_t at = 0;
    for (unsigned n = 0; n < ngroups; n++) {
        unsigned k = rs_site(g[n].first);
        int w = snprintf(want + at, sizeof want - at,
                         "%s{\"bytes\":%" PRIu64 ",\"blocks\":%" PRIu64 ",\"min_size\":%" PRIu64
                         ",\"max_size\":%" PRIu64 ",\"first_time\":%" PRIu64
                         ",\"last_time\":%" PRIu64 ",\"tasks\":\"%s\",\"regions\":\"%s\","
                         "\"site\":\"s%u.c:%u\",\"first_id\":\"0x%x\",\"callers\":[{\"addr\":"
                         "\"0x400d%04x\"},{\"addr\":\"0x400d9000\"}]}",
                         n ? "," : "\"groups\":[", g[n].bytes, g[n].blocks, g[n].min_size,
                         g[n].max_size, g[n].first_time, g[n].last_time, g[n].tasks,
                         g[n].regions, k, k, 0x3f000000u + 16u * g[n].first, k);
        assert_true(w > 0 && (size_t)w < sizeof want - at);
        at += (size_t)w;
    }
    (void)snprintf(want + at, sizeof want - at, "]}\n");

    /* the tool as a user runs it */
    char out_path[300], err_path[300];
    (void)snprintf(out_path, sizeof out_path, "%s.out", tmp_path);
    (void)snprintf(err_path, sizeof err_path, "%s.err", tmp_path);
    const ts_tool_run_t run = {.tool = RTMEM_TEST_TOOL, .out_path = out_path,
                               .err_path = err_path, .err_fd = -1};
    const char *const args[] = {"rtmem", "leaks", tmp_path, "--json", NULL};
    assert_int_equal(ts_run_tool(&run, args), 1);
    static char out[RS_SITES * 400u];
    (void)ts_read_file(out_path, out, sizeof out);
    char head[64];
    (void)snprintf(head, sizeof head, "\"blocks\":%" PRIu64 ",", blocks);
    assert_non_null(strstr(out, head));
    (void)snprintf(head, sizeof head, "\"sites\":%u,", ngroups);
    assert_non_null(strstr(out, head));
    const char *groups = strstr(out, "\"groups\":[");
    assert_non_null(groups);
    assert_string_equal(groups, want);
    remove(out_path);
    remove(err_path);

    /* one origin per live (site, task, heap), shared by its records */
    lk_input_t in;
    assert_int_equal(parse_back(f, &in), 0);
    fclose(f);
    static const lk_origin_t *seen[RS_SITES][4][2];
    memset(seen, 0, sizeof seen);
    size_t distinct = 0;
    char id[LK_ID_MAX];
    for (size_t i = 0; i < in.nrec; i++) {
        const lk_record_t *r = &in.rec[i];
        if (!r->in_use)
            continue;
        unsigned b = (unsigned)((strtoull(lk_rec_id(r, id), NULL, 16) - 0x3f000000u) / 16u);
        const lk_origin_t **o = &seen[rs_site(b)][rs_task(b)][b % 5u ? 0 : 1];
        if (*o == NULL) {
            *o = r->origin;
            distinct++;
        }
        assert_ptr_equal(*o, r->origin);
        assert_string_equal(lk_rec_region(r), rs_heap(b));
    }
    assert_int_equal(in.live, blocks);
    assert_int_equal(in.oused, distinct);
    lk_input_free(&in);
    remove(tmp_path);
}

int main(void)
{
    const struct CMUnitTest tests[] = {
        cmocka_unit_test(test_idf_v4),
        cmocka_unit_test(test_idf_v51_leaks),
        cmocka_unit_test(test_idf_v51_all_mode),
        cmocka_unit_test(test_idf_v55),
        cmocka_unit_test(test_truncated_last_record),
        cmocka_unit_test(test_summary_disagrees),
        cmocka_unit_test(test_rtmem_trace),
        cmocka_unit_test(test_rtmem_telemetry),
        cmocka_unit_test(test_rtmem_dump_summary),
        cmocka_unit_test(test_checkpoint_and_grouping),
        cmocka_unit_test(test_bad_input),
        cmocka_unit_test(test_symbolize),
        cmocka_unit_test(test_truncated_elf_header),
        cmocka_unit_test(test_elf_unusable_keeps_the_report),
        cmocka_unit_test(test_idf_headerless_pastes),
        cmocka_unit_test(test_idf_header_count_checked),
        cmocka_unit_test(test_idf_cut_off_by_panic),
        cmocka_unit_test(test_idf_log_lines_mentioning_heap_trace),
        cmocka_unit_test(test_idf_generations),
        cmocka_unit_test(test_idf_damaged_records),
        cmocka_unit_test(test_idf_wrapped_paste),
        cmocka_unit_test(test_idf_generation_with_damage),
        cmocka_unit_test(test_idf_summary_lines_in_real_shapes),
        cmocka_unit_test(test_idf_freed_by_only_in_its_shape),
        cmocka_unit_test(test_idf_wrapped_note),
        cmocka_unit_test(test_idf_second_dump_after_v4_summary),
        cmocka_unit_test(test_freed_records_released),
        cmocka_unit_test(test_addr2line_long_path_entry),
        cmocka_unit_test(test_addr2line_line_numbers),
        cmocka_unit_test(test_rtmem_lines_same_verdict_as_replay),
        cmocka_unit_test(test_caller_value_of_any_length),
        cmocka_unit_test(test_repeated_sites_groups),
    };
    return cmocka_run_group_tests(tests, NULL, NULL);
}
