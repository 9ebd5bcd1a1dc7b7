/*
 * Helpers for the suites that run the rtmem tool's commands (cmocka, POSIX
 * hosts only; linked into the tool's suites, not the core's):
 *
 *   - a scratch directory under /tmp for a suite's files, made in its
 *     group setup and removed in its teardown;
 *   - a command run in this process with its stdout and stderr sent into
 *     files and read back into buffers;
 *   - the built rtmem binary run as a child process with its stdout and
 *     stderr sent into files (or stderr onto a descriptor, e.g. a
 *     pseudo-terminal).
 *
 * A helper that cannot do its job (a file that does not open, a fork that
 * fails) fails the current cmocka test, except the scratch-directory calls,
 * which are meant for group setup and teardown and return -1 instead.
 */
#ifndef RTM_TEST_TOOL_CAPTURE_H
#define RTM_TEST_TOOL_CAPTURE_H

#include <stddef.h>

/* ------------------------------------------------------------------ */
/* Scratch directory                                                   */

typedef struct ts_scratch {
    char dir[64];
} ts_scratch_t;

/* Makes a fresh directory /tmp/<prefix>_XXXXXX (mkdtemp). 0, or -1 when
 * the prefix is too long or the directory cannot be made. */
int ts_scratch_make(ts_scratch_t *s, const char *prefix);

/* "<dir>/<name>" into buf. 0, or -1 (buf holds "") when it does not fit. */
int ts_scratch_path(const ts_scratch_t *s, const char *name, char *buf, size_t cap);

/* Removes <dir>/<name> for each of the count names (a missing one is not
 * an error), then the directory: rmdir's result, so a file a test left
 * that is not in names makes it -1. */
int ts_scratch_remove(const ts_scratch_t *s, const char *const *names, size_t count);

/* ------------------------------------------------------------------ */
/* A command run in this process, its output captured                  */

/* Where the output goes: out_path and err_path are the files stdout and
 * stderr are sent into while the body runs (NULL: that stream is left
 * alone); what was written is then read back into out / err (at most
 * cap - 1 bytes, NUL-terminated) and the file removed. */
typedef struct ts_capture {
    const char *out_path;
    const char *err_path;
    char *out;
    size_t out_cap;
    char *err;
    size_t err_cap;
} ts_capture_t;

typedef int (*ts_body_fn)(int argc, char **argv, void *ctx);
typedef int (*ts_command_fn)(int argc, char **argv);

/* Runs body(argc, argv, ctx) with the output captured as c says; returns
 * what body returned. Both streams are flushed before and after. */
int ts_capture_run(const ts_capture_t *c, ts_body_fn body, int argc, char **argv, void *ctx);

/* The same for a command's entry point (rtm_cmd_replay...): cmd(argc, argv). */
int ts_capture_command(const ts_capture_t *c, ts_command_fn cmd, int argc, char **argv);

/* ------------------------------------------------------------------ */
/* The rtmem binary run as a child process                              */

/* tool: the binary's path (the suite's RTMEM_TEST_TOOL); out_path: the
 * file stdout is sent into ("/dev/null" to drop it); stderr goes onto
 * err_fd when it is >= 0, else into err_path; env: one "NAME=value" put
 * into the child's environment, or NULL; in_path: the file stdin is read
 * from (as a shell's `< FILE`), or NULL to leave stdin alone. */
typedef struct ts_tool_run {
    const char *tool;
    const char *out_path;
    const char *err_path;
    int err_fd;
    const char *env;
    const char *in_path;
} ts_tool_run_t;

/* Runs r->tool with argv args (NULL-terminated, args[0] the program's
 * name) and waits for it; returns its exit status. A child that does not
 * exit normally fails the test; 99 means it could not set up its output
 * or stdin, 98 that the binary could not be executed. */
int ts_run_tool(const ts_tool_run_t *r, const char *const *args);

/* Replaces this process with the tool at path `tool`, args[0] its name and
 * args NULL-terminated (at most 64), through the emulator where the test
 * programs run under one (the -m32 build under qemu-i386): for a test that
 * forks and signals the tool itself. Returns only if the exec failed. */
void ts_exec_tool(const char *tool, const char *const *args);

/* The whole of the file at path (at most cap - 1 bytes) into buf,
 * NUL-terminated; returns the length read. */
size_t ts_read_file(const char *path, char *buf, size_t cap);

#endif
