/* `rtmem record`: the heap events of a host program, as an rtmem-trace 1 file. */
#ifndef RTMEM_TOOL_RECORD_H
#define RTMEM_TOOL_RECORD_H

/* argv[0] is "record". Exit code: 0 recorded, 1 the program failed or was
 * killed (trace still written, including what it did before _exit, _Exit
 * or a fatal signal), 2 bad usage, the program could not be run, or no
 * event was recorded (stderr and --json "cause" say why: no allocation,
 * statically linked, setuid, word size, trace file not writable...). */
int rtm_cmd_record(int argc, char **argv);

#endif
