/* Streaming min/max down-sampling of a chart series (report_series.h). */
#include "report_series.h"

#include <math.h>
#include <string.h>

void rtm_series_init(rtm_series_t *s)
{
    memset(s, 0, sizeof *s);
    s->width = 1;
}

static void merge_into(rtm_bucket_t *a, const rtm_bucket_t *b)
{
    if (b->min < a->min) {
        a->min = b->min;
        a->x_min = b->x_min;
    }
    if (b->max > a->max) {
        a->max = b->max;
        a->x_max = b->x_max;
    }
    a->last = b->last;
    a->x_last = b->x_last;
}

/* Pairs of buckets become one; the slice width doubles. */
static void halve(rtm_series_t *s)
{
    size_t out = 0;
    for (size_t i = 0; i < s->used; i++) {
        uint64_t slot = (s->b[i].x_first - s->origin) / s->width / 2u;
        if (out > 0 && (s->b[out - 1].x_first - s->origin) / s->width / 2u == slot) {
            merge_into(&s->b[out - 1], &s->b[i]);
        } else {
            s->b[out++] = s->b[i];
        }
    }
    s->used = out;
    s->width *= 2u;
}

void rtm_series_add(rtm_series_t *s, uint64_t x, double y)
{
    if (!isfinite(y)) {
        return;
    }
    if (s->count == 0) {
        s->origin = x;
        s->min = s->max = y;
    }
    if (x < s->origin) {
        x = s->origin;
    }
    if (s->used > 0 && x < s->b[s->used - 1].x_last) {
        x = s->b[s->used - 1].x_last; /* went backwards: stays in the current slice */
    }
    s->count++;
    if (y < s->min) {
        s->min = y;
    }
    if (y > s->max) {
        s->max = y;
    }
    if (x > s->x_end) {
        s->x_end = x;
    }
    for (;;) {
        uint64_t slot = (x - s->origin) / s->width;
        if (s->used > 0) {
            rtm_bucket_t *last = &s->b[s->used - 1];
            if ((last->x_first - s->origin) / s->width == slot) {
                rtm_bucket_t one = {.x_first = x, .x_last = x, .x_min = x, .x_max = x,
                                    .first = y, .last = y, .min = y, .max = y};
                merge_into(last, &one);
                return;
            }
        }
        if (s->used < RTM_SERIES_BUCKETS) {
            s->b[s->used++] = (rtm_bucket_t){.x_first = x, .x_last = x, .x_min = x, .x_max = x,
                                             .first = y, .last = y, .min = y, .max = y};
            return;
        }
        halve(s);
    }
}

static size_t put(rtm_point_t *out, size_t cap, size_t n, uint64_t x, double y)
{
    if (n >= cap || (n > 0 && out[n - 1].x == (double)x && out[n - 1].y == y)) {
        return n;
    }
    out[n] = (rtm_point_t){(double)x, y};
    return n + 1;
}

size_t rtm_series_points(const rtm_series_t *s, rtm_point_t *out, size_t cap)
{
    size_t n = 0;
    for (size_t i = 0; i < s->used; i++) {
        const rtm_bucket_t *b = &s->b[i];
        n = put(out, cap, n, b->x_first, b->first);
        bool min_first = b->x_min <= b->x_max;
        n = put(out, cap, n, min_first ? b->x_min : b->x_max, min_first ? b->min : b->max);
        n = put(out, cap, n, min_first ? b->x_max : b->x_min, min_first ? b->max : b->min);
        n = put(out, cap, n, b->x_last, b->last);
    }
    return n;
}
