/* rtmem: host tool for rtmem traces. `rtmem --help` lists the commands. */
#include <stdbool.h>
#include <stdio.h>
#include <string.h>

#include "cli.h"
#include "commands.h"
#include "escape.h"

typedef struct command {
    const char *name;
    int (*run)(int argc, char **argv);
    const char *help;
} command_t;

static const command_t commands[] = {
#ifdef RTMEM_TOOL_HAVE_RECORD
    {"record", rtm_cmd_record, "run a host program and record its heap events as a trace"},
#endif
#ifdef RTMEM_TOOL_HAVE_LEAKS
    {"leaks", rtm_cmd_leaks, "blocks a trace leaves allocated, by site"},
    {"export", rtm_cmd_export, "telemetry and traces for Perfetto/chrome://tracing or flame graphs"},
#endif
    {"replay", rtm_cmd_replay, "run a trace against a real rtmem heap"},
    {"compare", rtm_cmd_compare, "all strategies side by side, minimum heap size, recommendation"},
#ifdef RTMEM_TOOL_HAVE_LEAKS
    {"report", rtm_cmd_report, "one HTML page with charts from telemetry, traces and dumps"},
#endif
    {"top", rtm_cmd_top, "live terminal view of telemetry from a serial port, file or pipe"},
};

#define COMMAND_COUNT (sizeof commands / sizeof commands[0])

static void usage(FILE *o)
{
    fprintf(o, "usage: rtmem COMMAND [ARGS...]\n"
               "       rtmem help COMMAND    (or rtmem COMMAND --help)\n"
               "       rtmem --version\n\n"
               "commands:\n");
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        fprintf(o, "  %-10s %s\n", commands[i].name, commands[i].help);
    }
    fprintf(o, "\nExit status: 0 fine, 1 findings (failed allocations, leaks), "
               "2 bad usage or bad input,\n3 (leaks, export) an ESP-IDF dump cut off.\n");
}

static const command_t *find(const char *name)
{
    for (size_t i = 0; i < COMMAND_COUNT; i++) {
        if (strcmp(commands[i].name, name) == 0) {
            return &commands[i];
        }
    }
    return NULL;
}

int main(int argc, char **argv)
{
    if (argc < 2) {
        usage(stderr);
        return 2;
    }
    /* The tool's own options come before the command (rtmem --version). */
    bool version = false;
    const rtm_cli_opt_t opts[] = {
        {.name = "version", .kind = RTM_CLI_FLAG, .dest = &version},
    };
    const rtm_cli_spec_t spec = {
        .opts = opts,
        .nopts = sizeof opts / sizeof opts[0],
        .operand = "COMMAND",
        .stop_at_operand = true,
    };
    rtm_cli_args_t args;
    rtm_cli_status_t st = rtm_cli_parse(&spec, argc, argv, &args);
    if (st == RTM_CLI_HELP) {
        usage(stdout);
        return 0;
    }
    if (st != RTM_CLI_RUN) {
        return rtm_cli_exit_status(st);
    }
    if (version) {
        printf("rtmem %s\n", RTMEM_VERSION);
        return 0;
    }
    if (args.rest >= argc) {
        usage(stderr);
        return 2;
    }
    int first = args.rest;
    const char *name = argv[first];
    if (strcmp(name, "help") == 0) {
        if (first + 1 >= argc) {
            usage(stdout);
            return 0;
        }
        const command_t *c = find(argv[first + 1]);
        if (c == NULL) {
            rtm_esc_msg(stderr, "rtmem: unknown command '%s' (see rtmem --help)", argv[first + 1]);
            return 2;
        }
        char help[] = "--help";
        char *sub[] = {argv[first + 1], help, NULL};
        return c->run(2, sub);
    }
    const command_t *c = find(name);
    if (c == NULL) {
        rtm_esc_msg(stderr, "rtmem: unknown command '%s' (see rtmem --help)", name);
        return 2;
    }
    int rc = c->run(argc - first, argv + first);
    if (fflush(stdout) != 0) {
        rtm_esc_msg(stderr, "rtmem: cannot write the output");
        return 2;
    }
    return rc;
}
