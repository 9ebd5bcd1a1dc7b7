/*
 * Fuzzer of the `rtmem leaks` input parser (tools/rtmem/leaks_parse.c):
 * rtmem traces and dumps and ESP-IDF heap_trace_dump() output, with log
 * noise, ANSI colours and CRLF around them. The input is such a capture:
 *   1. lk_parse_file over a memory stream (as the tool reads a file);
 *   2. lk_parse_line line by line, the last line marked unterminated when
 *      the input does not end in a newline.
 * Checked: no crash or sanitizer report; a result of 0 or -1 with a
 * terminated, non-empty message; a known format; for every record the
 * callers within LK_MAX_CALLERS, every string shorter than its limit, the
 * ID written back as a string shorter than LK_ID_MAX, flags 0 or 1, the
 * allocation line within the lines read; each shared origin counted once
 * per record that points to it.
 */
#define _POSIX_C_SOURCE 200809L

#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_target.h"
#include "leaks_parse.h"

#define MAX_INPUT (64u * 1024u)


static bool terminated(const char *s, size_t cap)
{
    return memchr(s, '\0', cap) != NULL;
}

static void check_input(const lk_input_t *in, int rc)
{
    REQUIRE(rc == 0 || rc == -1);
    if (rc != 0) {
        REQUIRE(terminated(in->err, sizeof in->err) && in->err[0] != '\0');
    }
    REQUIRE(in->format >= LK_FMT_NONE && in->format <= LK_FMT_IDF_ANY);
    REQUIRE(lk_format_name(in->format) != NULL);
    REQUIRE(in->nrec <= in->caprec);
    size_t in_use = 0, with_origin = 0;
    for (size_t i = 0; i < in->nrec; i++) {
        const lk_record_t *r = &in->rec[i];
        if (!r->in_use) {
            REQUIRE(!lk_record_is_leak(r, 0));
            continue;
        }
        in_use++;
        REQUIRE(lk_rec_ncallers(r) <= LK_MAX_CALLERS);
        char idbuf[LK_ID_MAX];
        REQUIRE(terminated(lk_rec_id(r, idbuf), LK_ID_MAX));
        REQUIRE(terminated(lk_rec_region(r), LK_REGION_MAX));
        REQUIRE(terminated(lk_rec_task(r), LK_TASK_MAX));
        REQUIRE(terminated(lk_rec_site(r), LK_SITE_MAX));
        if (r->origin != NULL) {
            with_origin++;
        }
        REQUIRE(r->freed == 0 || r->freed == 1);
        REQUIRE(r->before_checkpoint == 0 || r->before_checkpoint == 1);
        REQUIRE(r->line >= 1u && r->line <= in->lineno);
        int leak = lk_record_is_leak(r, 0);
        REQUIRE(leak == 0 || leak == 1);
        if (r->freed) {
            REQUIRE(!leak);
        }
    }
    /* freed records are released: the live count is the records in use */
    REQUIRE(in_use == in->live && in->live <= in->peak_live);
    size_t origins = 0, refs = 0;
    for (size_t i = 0; i < in->ocap; i++) {
        if (in->origins[i] != NULL) {
            origins++;
            refs += in->origins[i]->refs;
            REQUIRE(in->origins[i]->refs > 0);
        }
    }
    REQUIRE(origins == in->oused && refs == with_origin);
}

static void parse_stream(char *text, size_t size)
{
    FILE *f = fmemopen(text, size, "r");
    if (f == NULL) {
        return;
    }
    lk_input_t in;
    lk_input_init(&in, "fuzz");
    int rc = lk_parse_file(&in, f);
    check_input(&in, rc);
    lk_input_free(&in);
    fclose(f);
}

static void parse_lines(const char *text, size_t size)
{
    char *line = malloc(size + 1u);
    REQUIRE(line != NULL);
    lk_input_t in;
    lk_input_init(&in, "fuzz");
    int rc = 0;
    size_t start = 0;
    while (start < size && rc == 0) {
        const char *nl = memchr(text + start, '\n', size - start);
        size_t len = nl != NULL ? (size_t)(nl - (text + start)) : size - start;
        memcpy(line, text + start, len);
        line[len] = '\0';
        rc = lk_parse_line(&in, line, nl == NULL);
        start += len + 1u;
    }
    check_input(&in, rc);
    lk_input_free(&in);
    free(line);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size == 0u || size > MAX_INPUT) {
        return 0;
    }
    char *text = malloc(size);
    REQUIRE(text != NULL);
    memcpy(text, data, size);
    parse_stream(text, size);
    parse_lines(text, size);
    free(text);
    return 0;
}
