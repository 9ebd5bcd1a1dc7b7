/* A user's configuration header, found through RTMEM_CONFIG_DIR: the
 * poisoning level set here, with no RTMEM_POISON on the CMake command line,
 * must be the level the library is built with. */
#define RTM_POISON_LEVEL 1
