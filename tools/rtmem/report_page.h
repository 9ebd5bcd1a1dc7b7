/*
 * The HTML page of `rtmem report`: one self-contained file (inline CSS and
 * SVG, no script, no network), written from what the inputs gave
 * (report_model.h, report_trace.h, leaks_group.h). Every section appears
 * only when its data is present. Names from the inputs are escaped
 * (rtm_html_text). No clock or host name goes into the page: the same
 * telemetry and dumps give the same bytes (a trace's comparison holds
 * measured times, which vary).
 */
#ifndef RTMEM_TOOL_REPORT_PAGE_H
#define RTMEM_TOOL_REPORT_PAGE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include "leaks_group.h"
#include "leaks_parse.h"
#include "report_model.h"
#include "report_trace.h"
#include "symbolize.h"

typedef struct rtm_rep_input {
    const char *name;           /* as given on the command line ("<stdin>" for -) */
    const char *path;           /* the file read (stdin is copied to a temporary file) */
    uint64_t lines, tm_lines, log_lines;
    char err[RTM_LINE_ERR_MAX]; /* the error that stopped reading, "" if none */
    lk_input_t leaks_in;
    bool have_leaks;            /* leaks_in found a trace or an ESP-IDF dump */
    lk_leaks_t leaks;
    sym_entry_t *syms;
    size_t nsyms;
    char sym_err[256];          /* --elf given but symbolizing failed */
    bool have_trace;            /* an rtmem trace to replay */
    rtm_rep_trace_t *trace;
    char trace_note[RTM_LINE_ERR_MAX + 64]; /* why the trace was not replayed (fully) */
} rtm_rep_input_t;

/* Writes the page. Returns 0, or -1 when writing to f failed. */
int rtm_rep_page_write(FILE *f, const rtm_rep_telemetry_t *tm, const rtm_rep_input_t *in,
                       size_t nin, const char *elf);

#endif
