/*
 * Names and sentences for the heap's enums. Apart from heap.c because
 * string literals share one section per file, which --gc-sections keeps
 * whole: a program that never asks for these texts links none of them.
 */
#include "rtmem/heap.h"

const char *rtm_err_str(rtm_err_t err)
{
    switch (err) {
    case RTM_OK:
        return "ok";
    case RTM_ERR_NULL:
        return "memory is NULL";
    case RTM_ERR_MISALIGNED:
        return "memory is not 8-byte aligned";
    case RTM_ERR_TOO_SMALL:
        return "region is smaller than rtm_heap_min_size()";
    case RTM_ERR_TOO_LARGE:
        return "region is larger than 4 GiB or runs past the end of memory";
    case RTM_ERR_BAD_ALIGNMENT:
        return "alignment is not a power of two of at least 4";
    case RTM_ERR_BAD_STRATEGY:
        return "unknown strategy";
    case RTM_ERR_UNSUPPORTED:
        return "strategy not compiled in";
    case RTM_ERR_PORT:
        return "port could not create the lock";
    default:
        return "unknown error";
    }
}

const char *rtm_fail_reason_str(rtm_fail_reason_t reason)
{
    switch (reason) {
    case RTM_FAIL_NO_MEMORY:
        return "not enough free memory";
    case RTM_FAIL_FRAGMENTED:
        return "enough free memory but no block large enough (fragmentation)";
    case RTM_FAIL_TOO_LARGE:
        return "request larger than the heap could ever hold";
    case RTM_FAIL_OVERFLOW:
        return "size calculation overflows";
    case RTM_FAIL_BAD_ALIGNMENT:
        return "alignment is zero or not a power of two";
    case RTM_FAIL_TABLE_FULL:
        return "live-block table full";
    default:
        return "unknown reason";
    }
}

const char *rtm_strategy_name(rtm_strategy_id_t strategy)
{
    switch (strategy) {
    case RTM_TLSF:
        return "tlsf";
    case RTM_FIRST_FIT:
        return "first_fit";
    case RTM_BEST_FIT:
        return "best_fit";
    case RTM_BUMP:
        return "bump";
    case RTM_SYSTEM:
        return "system";
    case RTM_STRATEGY_COUNT:
    default:
        return "unknown";
    }
}
