/* `rtmem leaks`: what is still allocated at the end of a trace or dump. */
#ifndef RTMEM_TOOL_LEAKS_H
#define RTMEM_TOOL_LEAKS_H

/* Exit status of an ESP-IDF dump found cut off (a panic inside it, no
 * summary after its header, a damaged record): its leaks are still
 * reported, but they are those of the part that was read. */
#define RTM_LEAKS_EXIT_CUT_OFF 3

/* argv[0] is "leaks". Exit code: 0 no leaks, 1 leaks, 2 bad usage/input,
 * RTM_LEAKS_EXIT_CUT_OFF (3) the dump is cut off. */
int rtm_cmd_leaks(int argc, char **argv);

#endif
