/*
 * Down-sampling of one chart series for `rtmem report`: points (x, y) with
 * non-decreasing x arrive one at a time, in any number, and at most
 * RTM_SERIES_BUCKETS buckets are kept, each the first, last, smallest and
 * largest value of an equal slice of x. The series starts with slices one x
 * unit wide; when a point falls past the last bucket, neighbouring buckets
 * are merged in pairs and the slice width doubles, so a series of any length
 * streams in fixed memory and ends with between RTM_SERIES_BUCKETS / 2 and
 * RTM_SERIES_BUCKETS buckets (fewer when it has fewer distinct slices).
 *
 * Drawn through its buckets (rtm_series_points), a line keeps every peak
 * and every dip of the input (the minimum and maximum of each slice, at
 * their own x), which plain decimation (every n-th point) would lose.
 *
 * An x smaller than the first one is counted in the first slice (a clock
 * that went backwards); a y that is not finite is ignored. No allocation;
 * the object is about 64 KiB. Cost per point: O(1) amortized.
 */
#ifndef RTMEM_TOOL_REPORT_SERIES_H
#define RTMEM_TOOL_REPORT_SERIES_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#define RTM_SERIES_BUCKETS 1024u
#define RTM_SERIES_POINTS_MAX (4u * RTM_SERIES_BUCKETS) /* rtm_series_points, at most */

typedef struct rtm_point {
    double x, y;
} rtm_point_t;

typedef struct rtm_bucket {
    uint64_t x_first, x_last;   /* x of the first and last point in it */
    uint64_t x_min, x_max;      /* x where min and max were first seen */
    double first, last, min, max;
} rtm_bucket_t;

typedef struct rtm_series {
    uint64_t origin;            /* x of the first point */
    uint64_t width;             /* x units per bucket (a power of two) */
    size_t used;                /* buckets in b (the last one may be partial) */
    uint64_t count;             /* points added */
    double min, max;            /* over every point added */
    uint64_t x_end;             /* largest x added */
    rtm_bucket_t b[RTM_SERIES_BUCKETS];
} rtm_series_t;

void rtm_series_init(rtm_series_t *s);
void rtm_series_add(rtm_series_t *s, uint64_t x, double y);

/* The line through the buckets: per bucket its first point, its minimum
 * and maximum in the order they occurred, its last point (repeats left
 * out), in x order. Writes at most cap points to out and returns how many
 * it wrote: the whole line when cap >= RTM_SERIES_POINTS_MAX. */
size_t rtm_series_points(const rtm_series_t *s, rtm_point_t *out, size_t cap);

#endif
