/*
 * Application code of the fake ESP-IDF project: compiled with what the
 * rtmem component gives its users, it must see the freertos port, the
 * poisoning level chosen in menuconfig and a strategy object by that name.
 */
#include "rtmem/heap.h"
#include "rtmem/port.h"

#if !defined(RTM_PORT_FREERTOS)
#error "the rtmem component did not select the freertos port for its users"
#endif
_Static_assert(RTM_POISON_LEVEL == EXPECT_POISON, "menuconfig's poisoning level did not arrive");

const rtm_strategy_t *rtm_idf_app_strategy(void);

const rtm_strategy_t *rtm_idf_app_strategy(void)
{
    return &RTM_IDF_STRATEGY;
}
