/*
 * Sums of requested bytes. A trace or dump may hold sizes up to 2^64 - 1
 * (a hostile file, or a size field damaged on the wire), and two blocks of
 * 2^63 bytes already pass what 64 bits hold: a plain uint64_t sum wraps to
 * a small number and a report would show a few bytes live or leaked.
 *
 * rtm_sum64_t keeps a running sum that goes up and down (bytes live) exactly,
 * with a carry word; rtm_sum64_get reads it saturated at UINT64_MAX.
 * rtm_sat_add is for sums that only grow. All O(1), no allocation.
 */
#ifndef RTMEM_TOOL_SUM64_H
#define RTMEM_TOOL_SUM64_H

#include <stdint.h>

typedef struct rtm_sum64 {
    uint64_t lo;
    uint64_t hi; /* how many times lo wrapped */
} rtm_sum64_t;

static inline void rtm_sum64_add(rtm_sum64_t *s, uint64_t v)
{
    s->lo += v;
    s->hi += s->lo < v ? 1u : 0u;
}

/* v must be part of the sum (a block added before): the sum never goes
 * below 0. */
static inline void rtm_sum64_sub(rtm_sum64_t *s, uint64_t v)
{
    s->hi -= s->lo < v ? 1u : 0u;
    s->lo -= v;
}

static inline uint64_t rtm_sum64_get(const rtm_sum64_t *s)
{
    return s->hi != 0 ? UINT64_MAX : s->lo;
}

static inline uint64_t rtm_sat_add(uint64_t a, uint64_t b)
{
    return a > UINT64_MAX - b ? UINT64_MAX : a + b;
}

#endif
