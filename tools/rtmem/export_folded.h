/*
 * `rtmem export --format folded`: live bytes by call chain as collapsed
 * stacks (Brendan Gregg's folded format, one "frame;frame;...;frame COUNT"
 * line per chain, root first), the input of flamegraph.pl, inferno,
 * speedscope and Perfetto's flame graph importers. docs/formats.md,
 * "Folded stacks export", says what each line holds.
 *
 * Blocks come from the leaks engine (leaks_parse.h), so an rtmem trace or
 * an ESP-IDF heap_trace_dump is read exactly as `rtmem leaks` reads it and
 * the counts add up to the live bytes it reports.
 */
#ifndef RTMEM_TOOL_EXPORT_FOLDED_H
#define RTMEM_TOOL_EXPORT_FOLDED_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "leaks_parse.h"
#include "symbolize.h"

/* One frame's text, escaped so that it cannot break a line: ';', '%',
 * bytes 0x00-0x1f and 0x7f, and every byte that is not part of valid UTF-8
 * become %XX (upper-case hex; decoding %XX gives the bytes back); an
 * empty frame is written "?". Appends to out[*pos..cap) (cap >= 1) and
 * keeps it terminated; stops before an escape or a character that does
 * not fit. Cost: linear in len. */
void rtm_folded_frame(char *out, size_t cap, size_t *pos, const char *s, size_t len);

typedef enum rtm_folded_root {
    RTM_FOLDED_ROOT_HEAP, /* "heap:NAME" (heap= / the ESP-IDF region label) */
    RTM_FOLDED_ROOT_TASK, /* "task:NAME" (task= / "cpu:N" for ESP-IDF) */
    RTM_FOLDED_ROOT_NONE
} rtm_folded_root_t;

/* Which blocks of an input count. */
typedef enum rtm_folded_when {
    RTM_FOLDED_AT_END,  /* live at the end of the input */
    RTM_FOLDED_AT_PEAK  /* live when the live bytes were highest (the first time) */
} rtm_folded_when_t;

/* Reads f into in (lk_input_init'ed by the caller) as `rtmem leaks` does;
 * with RTM_FOLDED_AT_PEAK, f is read twice (it must be seekable: a file,
 * not a pipe) and in holds the blocks live just after the line where the
 * live bytes were highest. Either way the input's warnings are printed
 * once each, in->warnings counts them, and in->cut_off / cut_reason are
 * the whole input's, as `rtmem leaks` finds them at its end. Returns 0,
 * or -1 with in->err set ("FILE:LINE: what", or "FILE: cannot read it
 * again" for a pipe at the peak). */
int rtm_folded_read(lk_input_t *in, FILE *f, rtm_folded_when_t when);

/* The collapsed stacks of a set of live blocks: added one block at a time,
 * written sorted with equal stacks merged. */
typedef struct rtm_folded {
    char **stack;     /* malloc'ed, "frame;frame" */
    uint64_t *bytes;
    size_t n, cap;
    uint64_t total;   /* bytes added */
} rtm_folded_t;

void rtm_folded_init(rtm_folded_t *s);
void rtm_folded_free(rtm_folded_t *s);

/* The stack of record r: the root frame (unless RTM_FOLDED_ROOT_NONE),
 * the callers outermost first (symbolized from syms[0..nsyms), sorted by
 * addr, when one is found with a function name, else "0x..."), then the
 * site FILE:LINE when recorded; "[no caller]" when nothing else is there.
 * esp: r comes from an ESP-IDF dump (its task is a CPU number).
 * Returns 0, or -1 out of memory. */
int rtm_folded_add(rtm_folded_t *s, const lk_record_t *r, bool esp, rtm_folded_root_t root,
                   const sym_entry_t *syms, size_t nsyms);

/* Sorts, merges equal stacks and writes "STACK BYTES\n" lines. Returns the
 * number of lines. Cost: O(n log n) for n blocks added. Out of memory for
 * the sort, the lines are written unsorted and unmerged (still folded
 * lines whose counts add up to the same total). */
size_t rtm_folded_write(rtm_folded_t *s, FILE *out);

#endif
