/* Compiled with -fsyntax-only by tests/config/compile_probe.cmake: includes
 * the configuration with the options under test and, when RTM_PROBE_EXPECT
 * is given, checks what config.h made of them. */
#include "rtmem/config.h"

#if defined(RTM_PROBE_EXPECT)
_Static_assert(RTM_PROBE_EXPECT, "RTM_PROBE_EXPECT does not hold");
#endif

typedef int rtm_config_probe_t;
