/*
 * Each strategy's aligned allocation by id, for the front's aligned entry
 * points (rtm_aligned_alloc, rtm_heap_alloc_ex). rtm_strategy_t holds no
 * pointer to it, so a program whose only allocations are at the
 * granularity (rtm_malloc, rtm_realloc...) links none of this file.
 *
 * A lookup by id would otherwise name, and so link, every strategy's
 * aligned allocator. With GCC or Clang on an ELF target (firmware, Linux)
 * the references are weak: a strategy the program does not link is not
 * pulled in by this file, and its entry reads NULL; a strategy it links
 * (some heap names its rtm_strategy_t, defined in the same file as its
 * aligned allocator) resolves as usual. Elsewhere they are ordinary
 * references and every strategy is linked.
 */
#include <stddef.h>

#include "strategy.h"

#if (defined(__GNUC__) || defined(__clang__)) && defined(__ELF__)
#define RTM_IF_LINKED __attribute__((weak))
#else
#define RTM_IF_LINKED
#endif

RTM_IF_LINKED void *rtm_tlsf_alloc_aligned(void *arena, size_t size, size_t alignment,
                                           rtm_fail_reason_t *why);
RTM_IF_LINKED void *rtm_first_fit_alloc_aligned(void *arena, size_t size, size_t alignment,
                                                rtm_fail_reason_t *why);
RTM_IF_LINKED void *rtm_best_fit_alloc_aligned(void *arena, size_t size, size_t alignment,
                                               rtm_fail_reason_t *why);
RTM_IF_LINKED void *rtm_bump_alloc_aligned(void *arena, size_t size, size_t alignment,
                                           rtm_fail_reason_t *why);
#if RTM_WITH_SYSTEM
RTM_IF_LINKED void *rtm_system_alloc_aligned(void *arena, size_t size, size_t alignment,
                                             rtm_fail_reason_t *why);
#endif

rtm_alloc_aligned_fn rtm_strategy_alloc_aligned(rtm_strategy_id_t id)
{
    switch (id) {
    case RTM_TLSF:
        return rtm_tlsf_alloc_aligned;
    case RTM_FIRST_FIT:
        return rtm_first_fit_alloc_aligned;
    case RTM_BEST_FIT:
        return rtm_best_fit_alloc_aligned;
    case RTM_BUMP:
        return rtm_bump_alloc_aligned;
#if RTM_WITH_SYSTEM
    case RTM_SYSTEM:
        return rtm_system_alloc_aligned;
#endif
    case RTM_STRATEGY_COUNT:
    default:
        return NULL;
    }
}
