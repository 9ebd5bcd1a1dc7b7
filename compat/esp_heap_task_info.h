/*
 * ESP-IDF per-task heap information (esp_heap_task_info.h) on rtmem's task
 * statistics (include/rtmem/task_stats.h; docs/caps.md).
 *
 * ESP-IDF keeps the owning task in every block's poison head
 * (CONFIG_HEAP_TASK_TRACKING); rtmem keeps it in a task statistics object
 * attached to the region heaps as their observer. Hand that object to the
 * compat layer once:
 *
 *     RTM_TASK_STATS_DEFINE(stats_mem, 16, 512);
 *     rtm_task_stats_t *s = rtm_task_stats_init(stats_mem, sizeof stats_mem, 16, 0);
 *     for (size_t i = 0; i < rtm_caps_region_count(); i++)
 *         rtm_task_stats_attach(s, rtm_caps_region_heap(rtm_caps_region_at(i)));
 *     rtm_esp_task_info_set_stats(s);
 *
 * and heap_caps_get_per_task_info answers as on ESP-IDF. Differences: the
 * sizes are the bytes each task asked for (task statistics count requested
 * bytes; ESP-IDF counts block sizes); blocks of tasks beyond the first
 * RTM_ESP_TASK_INFO_TASKS of the table, and beyond the first
 * RTM_ESP_TASK_INFO_BLOCKS of one task, are not seen (the call works in
 * fixed stack buffers); blocks outside capability regions (multi_heap
 * heaps) are not counted, as ESP-IDF counts only registered heaps.
 * Not from an ISR; takes the statistics lock once per task.
 */
#ifndef RTMEM_COMPAT_ESP_HEAP_TASK_INFO_H
#define RTMEM_COMPAT_ESP_HEAP_TASK_INFO_H

#include <stddef.h>
#include <stdint.h>

#include "rtmem/task_stats.h"

#ifdef __cplusplus
extern "C" {
#endif

/* FreeRTOS's task handle, unless its task.h came first. */
#ifndef INC_TASK_H
typedef void *TaskHandle_t;
#endif

/* Capability filters per query (ESP-IDF's value). */
#define NUM_HEAP_TASK_CAPS 4

/* The limits of one call (see above). */
#define RTM_ESP_TASK_INFO_TASKS 32u
#define RTM_ESP_TASK_INFO_BLOCKS 64u

typedef struct {
    TaskHandle_t task;                /* the task these totals belong to */
    size_t size[NUM_HEAP_TASK_CAPS];  /* bytes of its live blocks, per filter */
    size_t count[NUM_HEAP_TASK_CAPS]; /* its live blocks, per filter */
} heap_task_totals_t;

typedef struct {
    TaskHandle_t task; /* the task that allocated the block */
    void *address;     /* the block */
    size_t size;       /* its size (requested bytes) */
} heap_task_block_t;

typedef struct {
    int32_t caps[NUM_HEAP_TASK_CAPS]; /* filter i counts blocks of regions whose caps, */
    int32_t mask[NUM_HEAP_TASK_CAPS]; /* masked with mask[i], equal caps[i] */
    TaskHandle_t *tasks;              /* tasks whose blocks are listed (NULL: none) */
    size_t num_tasks;
    heap_task_totals_t *totals;       /* per-task totals (NULL: none) */
    size_t *num_totals;               /* in: entries already in totals; out: entries now */
    size_t max_totals;
    heap_task_block_t *blocks;        /* the listed blocks (NULL: none) */
    size_t max_blocks;
} heap_task_info_params_t;

/* The statistics heap_caps_get_per_task_info reads (NULL: none, every
 * call then returns 0 and fills nothing). Kept by pointer. */
void rtm_esp_task_info_set_stats(rtm_task_stats_t *stats);

/* Adds every live block of every task to that task's totals entry (found
 * by task, else appended while there is room), under each filter it
 * matches, and lists the blocks of the tasks in params->tasks up to
 * max_blocks. Returns the number of blocks listed; 0 for NULL params or
 * no statistics. O(tasks x block slots). */
size_t heap_caps_get_per_task_info(heap_task_info_params_t *params);

#ifdef __cplusplus
}
#endif

#endif
