/* The configuration of the build that packaging.py's installed-options check
 * installs (RTMEM_CONFIG_DIR): installed next to rtmem/config.h, it must
 * reach the users of the installed package. */
#define RTM_POISON_LEVEL 1
#define RTM_TRACE_DEPTH 3
