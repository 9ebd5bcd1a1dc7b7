/*
 * Strategies by id, for programs that choose one at run time. Naming every
 * strategy object, this file is linked only by programs that call
 * rtm_strategy_by_id; firmware names its strategy object directly.
 */
#include "rtmem/heap.h"

const rtm_strategy_t *rtm_strategy_by_id(rtm_strategy_id_t id)
{
    switch (id) {
    case RTM_TLSF:
        return &rtm_strategy_tlsf;
    case RTM_FIRST_FIT:
        return &rtm_strategy_first_fit;
    case RTM_BEST_FIT:
        return &rtm_strategy_best_fit;
    case RTM_BUMP:
        return &rtm_strategy_bump;
    case RTM_SYSTEM:
        return &rtm_strategy_system;
    case RTM_STRATEGY_COUNT:
    default:
        return NULL;
    }
}
