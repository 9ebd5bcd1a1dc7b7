/*
 * The command line of every rtmem command, GNU style, on getopt_long:
 *
 *   --opt=value and --opt value both work for every option that takes a
 *   value; short forms where a command has them (-h, -q, -o FILE or
 *   -oFILE); an unambiguous prefix of a long option stands for it
 *   (--str = --strategy); "--" ends the options (what follows is operands,
 *   even if it starts with '-'); "-" alone is an operand (stdin); options
 *   and operands mix in any order, unless the command stops at its first
 *   operand (record: the program and its arguments follow).
 *
 * Values are parsed and range-checked as they are read. Every problem is
 * one line on stderr that names the command and the option, and the
 * command exits 2 (bad usage):
 *
 *   rtmem CMD: unknown option '--x' (see rtmem CMD --help)
 *   rtmem CMD: ambiguous option '--s' (--size, --strategy)
 *   rtmem CMD: --size needs a value
 *   rtmem CMD: --json takes no value
 *   rtmem CMD: --size needs a size in bytes 1.., not '0'
 *   rtmem CMD: no TRACE given (see rtmem CMD --help)
 *   rtmem CMD: one TRACE only ('a' and 'b')
 *
 * Arguments quoted in messages are escaped for the terminal (escape.h).
 * An option given twice keeps its last value.
 *
 * Not reentrant: getopt_long keeps its state in globals (optind, optarg),
 * which rtm_cli_parse resets on entry, so one process may parse any number
 * of command lines one after the other (the tests do).
 */
#ifndef RTMEM_TOOL_CLI_H
#define RTMEM_TOOL_CLI_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

/* Most options of one command (besides --help) and most operands kept. */
#define RTM_CLI_OPTS_MAX 24u
#define RTM_CLI_OPERANDS_MAX 64u

typedef enum rtm_cli_kind {
    RTM_CLI_FLAG,     /* bool *dest = true; the option takes no value */
    RTM_CLI_STRING,   /* const char **dest = the value, kept by pointer into argv; not empty */
    RTM_CLI_SIZE,     /* size_t *dest: rtm_tool_parse_size (K, M, G), within [min, max] */
    RTM_CLI_U64,      /* uint64_t *dest: rtm_tool_parse_u64, within [min, max] */
    RTM_CLI_UNSIGNED, /* unsigned *dest: rtm_tool_parse_u64, within [min, max] (max <= UINT_MAX) */
    RTM_CLI_CUSTOM    /* parse(value, dest) accepts or refuses it */
} rtm_cli_kind_t;

typedef struct rtm_cli_opt {
    const char *name;   /* long name without "--" */
    char short_name;    /* 0: none ('h' is --help's) */
    rtm_cli_kind_t kind;
    void *dest;         /* where the value goes; left alone unless the option is given */
    uint64_t min, max;  /* SIZE, U64, UNSIGNED: the accepted range (max 0 = the type's max) */
    /* What a value must be, for "--OPT needs EXPECT, not 'VALUE'"; required
     * for SIZE, U64, UNSIGNED and CUSTOM ("a power of two >= 4"). */
    const char *expect;
    bool (*parse)(const char *value, void *dest); /* CUSTOM: true = accepted, dest set */
    bool *given;        /* optional: set true when the option appears */
} rtm_cli_opt_t;

typedef struct rtm_cli_spec {
    const char *cmd;             /* "replay": messages start "rtmem replay: "; NULL: "rtmem: " */
    const char *usage;           /* printed on stdout for --help and -h; NULL: not printed */
    const rtm_cli_opt_t *opts;   /* at most RTM_CLI_OPTS_MAX */
    size_t nopts;
    const char *operand;         /* an operand's name in messages: "TRACE", "DUMP" */
    size_t min_operands;         /* fewer: "no OPERAND given" */
    size_t max_operands;         /* more: refused (at most RTM_CLI_OPERANDS_MAX) */
    /* true: options end at the first operand, which and all after it are
     * left in argv[rest..argc) (record's PROGRAM ARGS...); no operand is
     * collected and min/max_operands are not checked. */
    bool stop_at_operand;
} rtm_cli_spec_t;

typedef struct rtm_cli_args {
    const char *operands[RTM_CLI_OPERANDS_MAX]; /* in command-line order, pointers into argv */
    size_t noperands;
    int rest;                    /* stop_at_operand: first argv index after the options */
} rtm_cli_args_t;

typedef enum rtm_cli_status {
    RTM_CLI_RUN,  /* parsed: run the command */
    RTM_CLI_HELP, /* --help: spec->usage was printed; exit 0 */
    RTM_CLI_BAD   /* bad usage: the message is on stderr; exit 2 */
} rtm_cli_status_t;

/* Parses argv[1..argc) (argv[0] is the command's name) by spec into the
 * options' dests and args. Options are handled in command-line order, so
 * --help after a bad option is not reached. Cost: O(argc x nopts).
 * A spec with more than RTM_CLI_OPTS_MAX options, or an option without
 * expect where one is required, is refused (RTM_CLI_BAD, "internal"). */
rtm_cli_status_t rtm_cli_parse(const rtm_cli_spec_t *spec, int argc, char **argv,
                               rtm_cli_args_t *args);

/* The exit status a command returns for a status other than RTM_CLI_RUN:
 * 0 for RTM_CLI_HELP, 2 for RTM_CLI_BAD. */
int rtm_cli_exit_status(rtm_cli_status_t status);

/* Value parsers, usable alone (the kinds above use them).
 *
 * A size: decimal digits, then optionally K, M or G (x1024, powers of
 * 1024), optionally followed by "B" or "iB": 4096, 64K, 64KiB, 1M, 1G.
 * Refused (false): a sign, a space, other suffixes, trailing bytes, and a
 * value that does not fit size_t. */
bool rtm_tool_parse_size(const char *s, size_t *out);
/* Decimal digits only (no sign, no space), at most UINT64_MAX: "-1",
 * "+1", "1e3", "", NULL and 18446744073709551616 are refused (false). */
bool rtm_tool_parse_u64(const char *s, uint64_t *out);

#endif
