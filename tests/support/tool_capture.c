/*
 * Helpers for the tool's suites: see tool_capture.h.
 */
#define _XOPEN_SOURCE 700
#include "support/tool_capture.h"

#include <fcntl.h>
#include <setjmp.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cmocka.h>

/* ------------------------------------------------------------------ */
/* Scratch directory                                                   */

int ts_scratch_make(ts_scratch_t *s, const char *prefix)
{
    int n = snprintf(s->dir, sizeof s->dir, "/tmp/%s_XXXXXX", prefix);
    if (n < 0 || (size_t)n >= sizeof s->dir) {
        s->dir[0] = '\0';
        return -1;
    }
    return mkdtemp(s->dir) != NULL ? 0 : -1;
}

int ts_scratch_path(const ts_scratch_t *s, const char *name, char *buf, size_t cap)
{
    int n = snprintf(buf, cap, "%s/%s", s->dir, name);
    if (n < 0 || (size_t)n >= cap) {
        if (cap > 0) {
            buf[0] = '\0';
        }
        return -1;
    }
    return 0;
}

int ts_scratch_remove(const ts_scratch_t *s, const char *const *names, size_t count)
{
    char path[256];
    for (size_t i = 0; i < count; i++) {
        if (ts_scratch_path(s, names[i], path, sizeof path) == 0) {
            (void)remove(path);
        }
    }
    return rmdir(s->dir);
}

/* ------------------------------------------------------------------ */
/* A command run in this process                                       */

size_t ts_read_file(const char *path, char *buf, size_t cap)
{
    FILE *f = fopen(path, "rb");
    assert_non_null(f);
    size_t n = fread(buf, 1, cap - 1u, f);
    buf[n] = '\0';
    fclose(f);
    return n;
}

/* One stream sent into a file while the body runs. */
typedef struct redirect {
    int fd;
    int saved;
    FILE *file;
} redirect_t;

static void redirect_begin(redirect_t *r, int fd, const char *path)
{
    r->fd = fd;
    r->saved = -1;
    r->file = NULL;
    if (path == NULL) {
        return;
    }
    r->saved = dup(fd);
    assert_true(r->saved >= 0);
    r->file = fopen(path, "wb");
    assert_non_null(r->file);
    assert_true(dup2(fileno(r->file), fd) >= 0);
}

static void redirect_end(redirect_t *r, const char *path, char *buf, size_t cap)
{
    if (r->file == NULL) {
        return;
    }
    (void)dup2(r->saved, r->fd);
    close(r->saved);
    fclose(r->file);
    (void)ts_read_file(path, buf, cap);
    (void)remove(path);
}

int ts_capture_run(const ts_capture_t *c, ts_body_fn body, int argc, char **argv, void *ctx)
{
    fflush(stdout);
    fflush(stderr);
    redirect_t out, err;
    redirect_begin(&out, STDOUT_FILENO, c->out_path);
    redirect_begin(&err, STDERR_FILENO, c->err_path);
    int rc = body(argc, argv, ctx);
    fflush(stdout);
    fflush(stderr);
    redirect_end(&out, c->out_path, c->out, c->out_cap);
    redirect_end(&err, c->err_path, c->err, c->err_cap);
    return rc;
}

/* A function pointer cannot travel as a void *: it travels in this. */
typedef struct command_holder {
    ts_command_fn cmd;
} command_holder_t;

static int run_command_body(int argc, char **argv, void *ctx)
{
    return ((const command_holder_t *)ctx)->cmd(argc, argv);
}

int ts_capture_command(const ts_capture_t *c, ts_command_fn cmd, int argc, char **argv)
{
    command_holder_t holder = {cmd};
    return ts_capture_run(c, run_command_body, argc, argv, &holder);
}

/* ------------------------------------------------------------------ */
/* The rtmem binary as a child process                                 */

/* execv of the tool; where the build's programs run under an emulator
 * (an -m32 build on a kernel without i386 execution: scripts/test.sh), the
 * kernel cannot start the tool, so the emulator's command words go in
 * front, as CMake does for the test programs themselves. Returns only if
 * the exec failed. */
void ts_exec_tool(const char *tool, const char *const *args)
{
#ifdef RTMEM_TEST_EMULATOR_ARGV
    static const char *const emulator[] = {RTMEM_TEST_EMULATOR_ARGV};
    enum { EMULATOR_WORDS = sizeof emulator / sizeof emulator[0], MAX_ARGS = 64 };
    const char *argv[EMULATOR_WORDS + MAX_ARGS + 1];
    size_t n = 0;
    for (size_t i = 0; i < EMULATOR_WORDS; i++) {
        argv[n++] = emulator[i];
    }
    argv[n++] = tool;
    for (size_t i = 1; args[0] != NULL && args[i] != NULL; i++) {
        if (i > MAX_ARGS - 1) {
            return;
        }
        argv[n++] = args[i];
    }
    argv[n] = NULL;
    execv(argv[0], (char *const *)(uintptr_t)argv);
#else
    execv(tool, (char *const *)(uintptr_t)args);
#endif
}

int ts_run_tool(const ts_tool_run_t *r, const char *const *args)
{
    fflush(stdout);
    fflush(stderr);
    pid_t pid = fork();
    assert_true(pid >= 0);
    if (pid == 0) {
        int out = open(r->out_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        int err = r->err_fd >= 0 ? r->err_fd : open(r->err_path, O_WRONLY | O_CREAT | O_TRUNC, 0600);
        if (out < 0 || err < 0 || dup2(out, STDOUT_FILENO) < 0 || dup2(err, STDERR_FILENO) < 0) {
            _exit(99);
        }
        if (r->in_path != NULL) {
            int in = open(r->in_path, O_RDONLY);
            if (in < 0 || dup2(in, STDIN_FILENO) < 0) {
                _exit(99);
            }
        }
        if (r->env != NULL) {
            (void)putenv((char *)(uintptr_t)r->env);
        }
        ts_exec_tool(r->tool, args);
        _exit(98);
    }
    int st = 0;
    assert_int_equal(waitpid(pid, &st, 0), pid);
    assert_true(WIFEXITED(st));
    return WEXITSTATUS(st);
}
