/* The subcommands of the rtmem host tool: each takes its own argv (argv[0]
 * is the subcommand's name) and returns the exit status: 0 fine, 1
 * findings (failed allocations, leaks), 2 bad usage or bad input. */
#ifndef RTMEM_TOOL_COMMANDS_H
#define RTMEM_TOOL_COMMANDS_H

int rtm_cmd_replay(int argc, char **argv);
int rtm_cmd_compare(int argc, char **argv);
int rtm_cmd_leaks(int argc, char **argv);
int rtm_cmd_record(int argc, char **argv);
int rtm_cmd_report(int argc, char **argv);
int rtm_cmd_export(int argc, char **argv);
int rtm_cmd_top(int argc, char **argv);

#endif
