/* Command lines of the rtmem commands on getopt_long: see cli.h. */
#define _POSIX_C_SOURCE 200809L
#include "cli.h"

#include <getopt.h>
#include <limits.h>
#include <stdio.h>
#include <string.h>

#include "escape.h"

/* getopt_long's code for an option without a short form: past every char. */
#define LONG_ONLY_BASE 256

/* "rtmem replay" (or "rtmem" for the tool's own options): how messages
 * start. Global like getopt_long's own state: one parse at a time. */
static char g_who[48];

bool rtm_tool_parse_size(const char *s, size_t *out)
{
    if (s == NULL) {
        return false;
    }
    uint64_t v = 0;
    bool over = false;
    size_t digits = rtm_parse_u64(s, SIZE_MAX, &v, &over);
    if (digits == 0 || over) {
        return false;
    }
    s += digits;
    unsigned shift = 0;
    if (*s == 'K' || *s == 'k') {
        shift = 10;
    } else if (*s == 'M' || *s == 'm') {
        shift = 20;
    } else if (*s == 'G' || *s == 'g') {
        shift = 30;
    }
    if (shift != 0) {
        s++;
        if (strcmp(s, "iB") == 0 || strcmp(s, "B") == 0) {
            s += strlen(s);
        }
    }
    if (*s != '\0') {
        return false;
    }
    if (v > (UINT64_MAX >> shift)) {
        return false;
    }
    v <<= shift;
    if (v > (uint64_t)SIZE_MAX) {
        return false;
    }
    *out = (size_t)v;
    return true;
}

bool rtm_tool_parse_u64(const char *s, uint64_t *out)
{
    if (s == NULL) {
        return false;
    }
    uint64_t v = 0;
    bool over = false;
    size_t digits = rtm_parse_u64(s, SIZE_MAX, &v, &over);
    if (digits == 0 || over || s[digits] != '\0') {
        return false;
    }
    *out = v;
    return true;
}

int rtm_cli_exit_status(rtm_cli_status_t status)
{
    return status == RTM_CLI_HELP ? 0 : 2;
}

static int opt_code(const rtm_cli_spec_t *spec, size_t i)
{
    return spec->opts[i].short_name != '\0' ? (unsigned char)spec->opts[i].short_name
                                            : LONG_ONLY_BASE + (int)i;
}

static const rtm_cli_opt_t *find_code(const rtm_cli_spec_t *spec, int code)
{
    for (size_t i = 0; i < spec->nopts; i++) {
        if (opt_code(spec, i) == code) {
            return &spec->opts[i];
        }
    }
    return NULL;
}

static bool takes_value(const rtm_cli_opt_t *o)
{
    return o->kind != RTM_CLI_FLAG;
}

/* Checks and stores one value; false with the message printed. */
static bool store(const rtm_cli_opt_t *o, const char *value)
{
    uint64_t v = 0;
    size_t sz = 0;
    bool ok = false;
    uint64_t max = o->max;
    switch (o->kind) {
    case RTM_CLI_FLAG:
        *(bool *)o->dest = true;
        return true;
    case RTM_CLI_STRING:
        if (value[0] == '\0') {
            rtm_esc_msg(stderr, "%s: --%s needs a value, not an empty string", g_who,
                        o->name);
            return false;
        }
        *(const char **)o->dest = value;
        return true;
    case RTM_CLI_SIZE:
        ok = rtm_tool_parse_size(value, &sz);
        v = sz;
        max = max != 0 ? max : (uint64_t)SIZE_MAX;
        break;
    case RTM_CLI_U64:
        ok = rtm_tool_parse_u64(value, &v);
        max = max != 0 ? max : UINT64_MAX;
        break;
    case RTM_CLI_UNSIGNED:
        ok = rtm_tool_parse_u64(value, &v);
        max = max != 0 && max < UINT_MAX ? max : UINT_MAX;
        break;
    case RTM_CLI_CUSTOM:
        ok = o->parse(value, o->dest);
        break;
    }
    if (ok && o->kind != RTM_CLI_CUSTOM && (v < o->min || v > max)) {
        ok = false;
    }
    if (!ok) {
        rtm_esc_msg(stderr, "%s: --%s needs %s, not '%s'", g_who, o->name, o->expect,
                    value);
        return false;
    }
    if (o->kind == RTM_CLI_SIZE) {
        *(size_t *)o->dest = (size_t)v;
    } else if (o->kind == RTM_CLI_U64) {
        *(uint64_t *)o->dest = v;
    } else if (o->kind == RTM_CLI_UNSIGNED) {
        *(unsigned *)o->dest = (unsigned)v;
    }
    return true;
}

/* "--name" or "-c", as the user wrote the option at argv[at]. */
static void spelled(const rtm_cli_opt_t *o, int argc, char **argv, int at, char *buf,
                    size_t len)
{
    bool as_short = o->short_name != '\0' && at >= 1 && at < argc && argv[at][0] == '-' &&
                    argv[at][1] != '-';
    if (as_short) {
        (void)snprintf(buf, len, "-%c", o->short_name);
    } else {
        (void)snprintf(buf, len, "--%s", o->name);
    }
}

/* An unknown or ambiguous long option: arg is "--something[=value]". */
static void bad_long(const rtm_cli_spec_t *spec, const char *arg)
{
    const char *name = arg + 2;
    size_t n = strcspn(name, "=");
    char matches[256] = "";
    size_t count = 0;
    static const char help[] = "help";
    for (size_t i = 0; i <= spec->nopts; i++) {
        const char *cand = i < spec->nopts ? spec->opts[i].name : help;
        if (n != 0 && strncmp(cand, name, n) == 0) {
            size_t used = strlen(matches);
            (void)snprintf(matches + used, sizeof matches - used, "%s--%s", count ? ", " : "",
                           cand);
            count++;
        }
    }
    if (count > 1) {
        rtm_esc_msg(stderr, "%s: ambiguous option '--%.*s' (%s)", g_who, (int)n, name,
                    matches);
    } else {
        rtm_esc_msg(stderr, "%s: unknown option '--%.*s' (see %s --help)", g_who,
                    (int)n, name, g_who);
    }
}

static bool add_operand(const rtm_cli_spec_t *spec, rtm_cli_args_t *args, const char *a)
{
    size_t cap = spec->max_operands < RTM_CLI_OPERANDS_MAX ? spec->max_operands
                                                           : RTM_CLI_OPERANDS_MAX;
    if (args->noperands >= cap) {
        if (cap == 1u) {
            rtm_esc_msg(stderr, "%s: one %s only ('%s' and '%s')", g_who, spec->operand,
                        args->operands[0], a);
        } else if (cap == 0u) {
            rtm_esc_msg(stderr, "%s: unexpected argument '%s' (see %s --help)",
                        g_who, a, g_who);
        } else {
            rtm_esc_msg(stderr, "%s: at most %zu %ss", g_who, cap, spec->operand);
        }
        return false;
    }
    args->operands[args->noperands++] = a;
    return true;
}

static bool spec_ok(const rtm_cli_spec_t *spec)
{
    if (spec->nopts > RTM_CLI_OPTS_MAX) {
        return false;
    }
    for (size_t i = 0; i < spec->nopts; i++) {
        const rtm_cli_opt_t *o = &spec->opts[i];
        bool needs_expect = o->kind != RTM_CLI_FLAG && o->kind != RTM_CLI_STRING;
        if (o->name == NULL || o->dest == NULL || (needs_expect && o->expect == NULL) ||
            (o->kind == RTM_CLI_CUSTOM && o->parse == NULL) || o->short_name == 'h') {
            return false;
        }
    }
    return true;
}

rtm_cli_status_t rtm_cli_parse(const rtm_cli_spec_t *spec, int argc, char **argv,
                               rtm_cli_args_t *args)
{
    memset(args, 0, sizeof *args);
    if (spec->cmd != NULL) {
        (void)snprintf(g_who, sizeof g_who, "rtmem %s", spec->cmd);
    } else {
        (void)snprintf(g_who, sizeof g_who, "rtmem");
    }
    if (!spec_ok(spec)) {
        rtm_esc_msg(stderr, "%s: internal error: bad option table", g_who);
        return RTM_CLI_BAD;
    }
    struct option longs[RTM_CLI_OPTS_MAX + 2u];
    /* "-": operands come back in order as code 1 (whatever POSIXLY_CORRECT
     * says); "+": stop at the first one. ':' reports a missing value. */
    char shorts[4u + 2u * RTM_CLI_OPTS_MAX + 2u];
    size_t ns = 0;
    shorts[ns++] = spec->stop_at_operand ? '+' : '-';
    shorts[ns++] = ':';
    shorts[ns++] = 'h';
    for (size_t i = 0; i < spec->nopts; i++) {
        const rtm_cli_opt_t *o = &spec->opts[i];
        longs[i] = (struct option){o->name, takes_value(o) ? required_argument : no_argument, NULL,
                                   opt_code(spec, i)};
        if (o->short_name != '\0') {
            shorts[ns++] = o->short_name;
            if (takes_value(o)) {
                shorts[ns++] = ':';
            }
        }
    }
    shorts[ns] = '\0';
    longs[spec->nopts] = (struct option){"help", no_argument, NULL, 'h'};
    longs[spec->nopts + 1u] = (struct option){NULL, 0, NULL, 0};

    optind = 0; /* 0, not 1: also resets glibc's and the BSDs' internal state */
    opterr = 0; /* the messages are ours */
    int c;
    while ((c = getopt_long(argc, argv, shorts, longs, NULL)) != -1) {
        const char *last = optind >= 1 && optind - 1 < argc ? argv[optind - 1] : "";
        if (c == 1) {
            if (!add_operand(spec, args, optarg)) {
                return RTM_CLI_BAD;
            }
            continue;
        }
        if (c == 'h') {
            if (spec->usage != NULL) {
                fputs(spec->usage, stdout);
            }
            return RTM_CLI_HELP;
        }
        if (c == ':') {
            const rtm_cli_opt_t *o = find_code(spec, optopt);
            char name[64];
            if (o != NULL) {
                spelled(o, argc, argv, optind - 1, name, sizeof name);
            } else {
                (void)snprintf(name, sizeof name, "an option");
            }
            rtm_esc_msg(stderr, "%s: %s needs a value", g_who, name);
            return RTM_CLI_BAD;
        }
        if (c == '?') {
            const rtm_cli_opt_t *o = optopt != 0 ? find_code(spec, optopt) : NULL;
            if (o != NULL || optopt == 'h') {
                rtm_esc_msg(stderr, "%s: --%s takes no value", g_who,
                            o != NULL ? o->name : "help");
            } else if (optopt == 0 && strncmp(last, "--", 2) == 0) {
                bad_long(spec, last);
            } else {
                char opt = optopt != 0 ? (char)optopt : '?'; /* escaped if not text */
                rtm_esc_msg(stderr, "%s: unknown option '-%c' (see %s --help)",
                            g_who, opt, g_who);
            }
            return RTM_CLI_BAD;
        }
        const rtm_cli_opt_t *o = find_code(spec, c);
        if (o == NULL) {
            rtm_esc_msg(stderr, "%s: internal error: option code %d", g_who, c);
            return RTM_CLI_BAD;
        }
        if (o->given != NULL) {
            *o->given = true;
        }
        if (!store(o, takes_value(o) ? optarg : "")) {
            return RTM_CLI_BAD;
        }
    }
    if (spec->stop_at_operand) {
        args->rest = optind;
        return RTM_CLI_RUN;
    }
    for (int i = optind; i < argc; i++) { /* after "--" */
        if (!add_operand(spec, args, argv[i])) {
            return RTM_CLI_BAD;
        }
    }
    args->rest = argc;
    if (args->noperands < spec->min_operands) {
        rtm_esc_msg(stderr, "%s: no %s given (see %s --help)", g_who,
                    spec->operand, g_who);
        return RTM_CLI_BAD;
    }
    return RTM_CLI_RUN;
}
