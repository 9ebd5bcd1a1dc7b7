/* Observer fan-out (observer.h). */
#include "rtmem/observer.h"

void rtm_observer_chain_init(rtm_observer_chain_t *chain)
{
    if (chain != NULL) {
        chain->count = 0;
    }
}

bool rtm_observer_chain_add(rtm_observer_chain_t *chain, rtm_heap_observer_fn fn, void *ctx)
{
    if (chain == NULL || fn == NULL || chain->count >= RTM_OBSERVER_CHAIN_MAX) {
        return false;
    }
    chain->entry[chain->count].fn = fn;
    chain->entry[chain->count].ctx = ctx;
    chain->count++;
    return true;
}

void rtm_observer_chain_dispatch(const rtm_heap_event_t *event, void *ctx)
{
    const rtm_observer_chain_t *chain = ctx;
    if (chain == NULL) {
        return;
    }
    /* count is re-checked against the array so a corrupt chain cannot
     * index past it. */
    for (size_t i = 0; i < chain->count && i < RTM_OBSERVER_CHAIN_MAX; i++) {
        chain->entry[i].fn(event, chain->entry[i].ctx);
    }
}

void rtm_observer_chain_attach(rtm_observer_chain_t *chain, rtm_heap_t *heap)
{
    if (chain != NULL && heap != NULL) {
        rtm_heap_set_observer(heap, rtm_observer_chain_dispatch, chain);
    }
}
