/*
 * Observer fan-out: a heap has one observer (heap.h); a chain lets several
 * consumers (the tracer, task statistics) see the same events.
 *
 *     static rtm_observer_chain_t chain;
 *     rtm_observer_chain_init(&chain);
 *     rtm_observer_chain_add(&chain, rtm_trace_observer, trace);
 *     rtm_observer_chain_add(&chain, rtm_task_stats_observer, stats);
 *     rtm_observer_chain_attach(&chain, heap);   // one chain may serve many heaps
 *
 * The chain has no lock of its own: fill it before attaching it, and to
 * change it detach it from every heap first (rtm_heap_set_observer(heap,
 * NULL, NULL) takes the heap lock, so no event is running through it
 * afterwards). Consumers run in the order they were added, under the heap
 * lock, each with its own lock. Dispatch costs one indirect call per
 * consumer. Bad input (NULL chain or fn, full chain) returns false.
 */
#ifndef RTMEM_OBSERVER_H
#define RTMEM_OBSERVER_H

#include <stdbool.h>
#include <stddef.h>

#include "rtmem/config.h"
#include "rtmem/heap.h"

#ifdef __cplusplus
extern "C" {
#endif

/* A chain holds RTM_OBSERVER_CHAIN_MAX observers (config.h, default 4). */

typedef struct rtm_observer_chain {
    size_t count;
    struct {
        rtm_heap_observer_fn fn;
        void *ctx;
    } entry[RTM_OBSERVER_CHAIN_MAX];
} rtm_observer_chain_t;

/* Empties the chain. O(1). */
void rtm_observer_chain_init(rtm_observer_chain_t *chain);

/* Appends fn/ctx. False if chain or fn is NULL or the chain is full. O(1). */
bool rtm_observer_chain_add(rtm_observer_chain_t *chain, rtm_heap_observer_fn fn, void *ctx);

/* The observer function; ctx is the chain. */
void rtm_observer_chain_dispatch(const rtm_heap_event_t *event, void *ctx);

/* rtm_heap_set_observer(heap, rtm_observer_chain_dispatch, chain). */
void rtm_observer_chain_attach(rtm_observer_chain_t *chain, rtm_heap_t *heap);

#ifdef __cplusplus
}
#endif

#endif
