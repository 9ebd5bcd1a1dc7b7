/*
 * heap_caps_get_per_task_info on rtmem's task statistics
 * (compat/esp_heap_task_info.h).
 */
#include "esp_heap_task_info.h"

#include <stdbool.h>

#include "rtmem/caps.h"

static rtm_task_stats_t *g_stats;

void rtm_esp_task_info_set_stats(rtm_task_stats_t *stats)
{
    g_stats = stats;
}

static heap_task_totals_t *totals_of(heap_task_info_params_t *params, TaskHandle_t task)
{
    if (params->totals == NULL || params->num_totals == NULL) {
        return NULL;
    }
    size_t n = *params->num_totals;
    for (size_t i = 0; i < n && i < params->max_totals; i++) {
        if (params->totals[i].task == task) {
            return &params->totals[i];
        }
    }
    if (n >= params->max_totals) {
        return NULL;
    }
    heap_task_totals_t *t = &params->totals[n];
    t->task = task;
    for (unsigned k = 0; k < NUM_HEAP_TASK_CAPS; k++) {
        t->size[k] = 0;
        t->count[k] = 0;
    }
    *params->num_totals = n + 1u;
    return t;
}

static bool listed(const heap_task_info_params_t *params, TaskHandle_t task)
{
    if (params->tasks == NULL || params->blocks == NULL) {
        return false;
    }
    for (size_t i = 0; i < params->num_tasks; i++) {
        if (params->tasks[i] == task) {
            return true;
        }
    }
    return false;
}

size_t heap_caps_get_per_task_info(heap_task_info_params_t *params)
{
    if (params == NULL || g_stats == NULL) {
        return 0;
    }
    rtm_task_usage_t tasks[RTM_ESP_TASK_INFO_TASKS];
    size_t task_count = rtm_task_stats_tasks(g_stats, tasks, RTM_ESP_TASK_INFO_TASKS);
    size_t filled = 0;
    for (size_t t = 0; t < task_count && t < RTM_ESP_TASK_INFO_TASKS; t++) {
        if (!tasks[t].valid) {
            continue;
        }
        TaskHandle_t task = (TaskHandle_t)tasks[t].task;
        rtm_task_block_t blocks[RTM_ESP_TASK_INFO_BLOCKS];
        size_t owned = rtm_task_stats_blocks_of(g_stats, tasks[t].task, blocks,
                                                RTM_ESP_TASK_INFO_BLOCKS);
        size_t seen = owned < RTM_ESP_TASK_INFO_BLOCKS ? owned : RTM_ESP_TASK_INFO_BLOCKS;
        heap_task_totals_t *totals = totals_of(params, task);
        bool list = listed(params, task);
        for (size_t b = 0; b < seen; b++) {
            const rtm_caps_region_t *region = rtm_caps_region_of(blocks[b].ptr);
            if (region == NULL) {
                continue;
            }
            uint32_t caps = (uint32_t)rtm_caps_region_all_caps(region);
            for (unsigned k = 0; totals != NULL && k < NUM_HEAP_TASK_CAPS; k++) {
                if ((caps & (uint32_t)params->mask[k]) == (uint32_t)params->caps[k]) {
                    totals->size[k] += blocks[b].size;
                    totals->count[k]++;
                }
            }
            if (list && filled < params->max_blocks) {
                params->blocks[filled].task = task;
                params->blocks[filled].address = blocks[b].ptr;
                params->blocks[filled].size = blocks[b].size;
                filled++;
            }
        }
    }
    return filled;
}
