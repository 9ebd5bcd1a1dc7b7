/* `rtmem leaks`: what is still allocated at the end of a trace or dump. */
#ifndef RTMEM_TOOL_LEAKS_H
#define RTMEM_TOOL_LEAKS_H

/* argv[0] is "leaks". Exit code: 0 no leaks, 1 leaks, 2 bad usage/input. */
int rtm_cmd_leaks(int argc, char **argv);

#endif
