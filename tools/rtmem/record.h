/* `rtmem record`: the heap events of a host program, as an rtmem-trace 1 file. */
#ifndef RTMEM_TOOL_RECORD_H
#define RTMEM_TOOL_RECORD_H

/* argv[0] is "record". Exit code: 0 recorded, 1 the program failed (trace
 * still written), 2 bad usage or the program could not be recorded. */
int rtm_cmd_record(int argc, char **argv);

#endif
