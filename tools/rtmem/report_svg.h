/*
 * Charts of `rtmem report` as inline SVG, and the HTML text escaping every
 * name from an input goes through (docs/report.md).
 *
 * Output is deterministic: the same data gives the same bytes (coordinates
 * with one decimal, no clock, no random ids). Styling is left to CSS
 * classes (report.c writes the style sheet), so the SVG stays small; every
 * chart has labelled axes with units, and hover text comes from SVG <title>
 * elements, which browsers show without any script.
 *
 * Markers for tests and tools reading the page: each chart is
 * <svg class="rtm-chart" id=ID ...>, each data line a <path class="line ...">
 * with data-points="N" (its point count), each bar a <rect class="bar ...">.
 * Cost: linear in the points; no allocation.
 */
#ifndef RTMEM_TOOL_REPORT_SVG_H
#define RTMEM_TOOL_REPORT_SVG_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

#include "report_series.h"

/* Text from an input, escaped for HTML and SVG (element content and quoted
 * attribute values): & < > " ' become entities; control bytes and bytes
 * that are not valid UTF-8 become U+FFFD; valid UTF-8 passes unchanged. A
 * task named "<script>" is shown as text and never runs. */
void rtm_html_text(FILE *f, const char *s);
void rtm_html_text_n(FILE *f, const char *s, size_t len);

/* "812 B", "36.7 KiB", "3.64 MiB", "1.50 GiB". Returns buf. */
const char *rtm_fmt_bytes(double bytes, char *buf, size_t len);

typedef enum rtm_unit {
    RTM_UNIT_BYTES,   /* ticks in B, KiB, MiB or GiB, by the range */
    RTM_UNIT_COUNT,   /* plain numbers, k and M suffixes */
    RTM_UNIT_PERMILLE,/* value in per mille, ticks in % */
    RTM_UNIT_SECONDS  /* value in ms, ticks in s */
} rtm_unit_t;

/* At most 12 "nice" ticks (steps of 1, 2 or 5 times a power of ten, in the
 * unit's display scale) covering [lo, hi]; returns the count. *top gets the
 * last tick at or above hi (the axis end). Bad ranges (hi <= lo, not
 * finite) give the range [lo, lo + 1]. */
size_t rtm_nice_ticks(double lo, double hi, rtm_unit_t unit, double *ticks, size_t cap,
                      double *top);

/* One tick label: "50 KiB", "1.5M", "25%", "2.5 s". step is the distance
 * between ticks (it sets the decimals); for RTM_UNIT_BYTES pass the axis
 * top instead, which picks the unit (B, KiB, MiB, GiB) of the whole axis. */
const char *rtm_fmt_tick(double v, double step, rtm_unit_t unit, char *buf, size_t len);

typedef struct rtm_chart {
    FILE *f;
    double width, height;             /* SVG size in px */
    double px0, px1, py0, py1;        /* plot area: x left..right, y bottom..top */
    double x0, x1, y0, y1;            /* data range shown */
} rtm_chart_t;

/* Opens an <svg> line chart of width x height px (id and label escaped)
 * showing x in [x0, x1] and y in [y0, y1], y rounded up to a nice tick:
 * background grid, ticks and both axis titles. */
void rtm_chart_begin(rtm_chart_t *c, FILE *f, const char *id, const char *label, double width,
                     double height, double x0, double x1, rtm_unit_t xunit, const char *xtitle,
                     double y0, double y1, rtm_unit_t yunit, const char *ytitle);

/* The path data ("M12.0 34.5L...") of points in chart coordinates; points
 * outside the range are clamped to the plot area, non-finite ones
 * skipped. Returns the points written. */
size_t rtm_chart_path(const rtm_chart_t *c, const rtm_point_t *p, size_t n);

/* A data line: <path class="line CLS" data-points="n" d="..."> with an
 * escaped <title>. */
void rtm_chart_line(rtm_chart_t *c, const rtm_point_t *p, size_t n, const char *cls,
                    const char *title);

/* A vertical marker at x (alerts): a dashed line and a small triangle at
 * the top, with a <title>. class "marker CLS". */
void rtm_chart_marker(rtm_chart_t *c, double x, const char *cls, const char *title);

/* Hover readouts, without script: the plot is cut into columns at least
 * RTM_READOUT_COLUMN_PX wide, at most RTM_READOUT_COLUMNS of them. Each
 * column holding a point of some line becomes an invisible full-height
 * <rect class="hit"> (in a <g class="hits" fill-opacity="0">), reaching to
 * the next such column (a value holds until the next sample), with a
 * <title>, which the browser shows as its tooltip: first the x of the
 * column's points ("2.5 s", "1 to 1.5 s", "operation 12", "operations 10
 * to 19"), then one line per chart line, "NAME: VALUE" or "NAME: SMALLEST
 * to LARGEST" in the line's unit (bytes as rtm_fmt_bytes, per mille as %,
 * counts as whole numbers followed by " of REF" and the word, "(full)" at
 * REF or above). Successive columns where every line holds one and the
 * same value are one rect. At most RTM_READOUT_LINES lines are listed, the
 * rest counted ("and 3 more lines"). Names are escaped (rtm_html_text).
 *
 * Use: rtm_readouts_begin after rtm_chart_begin, rtm_readouts_add with each
 * line's points (they are summarised at once; the buffer can be reused),
 * rtm_readouts_end after the lines (so the columns are over them) and
 * before the markers (which keep their own titles on top). Output: at most
 * RTM_READOUT_COLUMNS rects per chart, each title at most one line per
 * listed line; no allocation; about 20 KiB of state. */
#define RTM_READOUT_COLUMNS 128u
#define RTM_READOUT_COLUMN_PX 8.0
#define RTM_READOUT_LINES 8u

typedef struct rtm_readout_column {
    bool any;
    double x_first, x_last;                 /* data x of its first and last point */
    bool has[RTM_READOUT_LINES];
    double min[RTM_READOUT_LINES], max[RTM_READOUT_LINES];
} rtm_readout_column_t;

typedef struct rtm_readouts {
    rtm_chart_t *c;
    rtm_unit_t xunit;                       /* RTM_UNIT_SECONDS: x in ms */
    size_t ncols;
    double colw;                            /* px */
    size_t nlines;
    size_t more;                            /* lines added past RTM_READOUT_LINES */
    struct {
        char name[96];                      /* cut at 95 bytes; escaped on output */
        char word[24];                      /* after a count: " blocks" */
        rtm_unit_t unit;
        double ref;                         /* > 0: counts shown "of REF" */
    } line[RTM_READOUT_LINES];
    rtm_readout_column_t col[RTM_READOUT_COLUMNS];
} rtm_readouts_t;

void rtm_readouts_begin(rtm_readouts_t *r, rtm_chart_t *c, rtm_unit_t xunit);
void rtm_readouts_add(rtm_readouts_t *r, const rtm_point_t *p, size_t n, const char *name,
                      rtm_unit_t unit, double ref, const char *word);
void rtm_readouts_end(rtm_readouts_t *r);

/* Closes the chart with its legend: n entries of (class, text). */
void rtm_chart_end(rtm_chart_t *c, const char *const *classes, const char *const *texts,
                   size_t n);

/* Horizontal bar chart: one row per item, label on the left, a light bar
 * for back (a capacity or a peak; 0: none) under a dark bar for value, and
 * the note text at the right end. All rows share the scale 0..max. */
typedef struct rtm_bar {
    const char *label;
    double value;
    double back;
    const char *cls;     /* extra class of the value bar ("" or e.g. "best") */
    const char *note;    /* right of the bar */
    const char *title;   /* hover text */
} rtm_bar_t;

void rtm_svg_bars(FILE *f, const char *id, const char *label, const rtm_bar_t *bars, size_t n,
                  rtm_unit_t unit, const char *xtitle, double width);

/* Heap map: the blocks of a heap by address, in rows of width px, used
 * blue and free light; where a pixel spans several blocks its shade is the
 * share used. Blocks are (offset from the heap start, size, used) in
 * address order; total is the heap's size. With at most 400 blocks each
 * block is its own <rect> with a <title> (address, size, state). */
typedef struct rtm_map_block {
    uint64_t offset, size;
    int used;
} rtm_map_block_t;

void rtm_svg_heap_map(FILE *f, const char *id, const char *label, const rtm_map_block_t *b,
                      size_t n, uint64_t total, double width);

#endif
