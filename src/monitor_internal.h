/*
 * What the monitor's three modules share (not a public header):
 *   monitor.c            watches, sampling, history, trends, alerts with
 *                        hysteresis, observers, queries, the tick;
 *   monitor_advice.c     the recommendation rules and their sentences;
 *   monitor_telemetry.c  every telemetry line, through one line writer.
 * The state they share is the rtm_monitor_t of monitor.h; each module takes
 * the monitor's lock itself, and none holds it while writing output.
 */
#ifndef RTMEM_MONITOR_INTERNAL_H
#define RTMEM_MONITOR_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "rtmem/monitor.h"

#define RTM_MONITOR_MAGIC 0x4d4f4e31u /* "MON1" */

static inline bool rtm_monitor_valid(const rtm_monitor_t *mon)
{
    return mon != NULL && mon->magic == RTM_MONITOR_MAGIC;
}

static inline uint32_t rtm_monitor_clamp_u32(size_t v)
{
    return v > UINT32_MAX ? UINT32_MAX : (uint32_t)v;
}

/* v rounded up to a multiple of to (to 0: v unchanged). */
static inline size_t rtm_monitor_round_up(size_t v, size_t to)
{
    return to == 0 ? v : (v + to - 1u) / to * to;
}

/* Telemetry (monitor_telemetry.c). Each writes one line through the output
 * hook, or nothing when the line would not fit its buffer; no lock is taken
 * or must be held. */
void rtm_monitor_telemetry_alert(const rtm_alert_t *alert);
void rtm_monitor_telemetry_rec(const rtm_recommendation_t *rec, uint32_t ms, const char *text);

#endif
