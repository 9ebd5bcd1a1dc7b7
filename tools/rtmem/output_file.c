/* The -o FILE of report and export: never replaces what a user had unless
 * the new content is whole (output_file.h). */
#define _XOPEN_SOURCE 700 /* realpath */
#include "output_file.h"

#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

#include "escape.h"
#include "line_reader.h"

bool rtm_out_refuse_input(const char *cmd, const char *out_path, const char *const *inputs,
                          size_t n)
{
    struct stat os;
    if (strcmp(out_path, "-") == 0 || stat(out_path, &os) != 0 || !S_ISREG(os.st_mode)) {
        return false;
    }
    for (size_t i = 0; i < n; i++) {
        bool is_stdin = strcmp(inputs[i], "-") == 0;
        struct stat is;
        int rc = is_stdin ? fstat(STDIN_FILENO, &is) : stat(inputs[i], &is);
        if (rc == 0 && is.st_dev == os.st_dev && is.st_ino == os.st_ino) {
            rtm_esc_msg(stderr, "rtmem %s: -o %s is also an INPUT%s: the output would replace it",
                        cmd, out_path, is_stdin ? " (stdin is read from it)" : "");
            return true;
        }
    }
    return false;
}

bool rtm_out_refuse_unreadable(const char *const *inputs, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (rtm_input_is_stream(inputs[i])) {
            continue;
        }
        int fd = open(inputs[i], O_RDONLY);
        struct stat st;
        int err = fd < 0 ? errno : fstat(fd, &st) != 0 ? errno : S_ISDIR(st.st_mode) ? EISDIR : 0;
        if (fd >= 0) {
            close(fd);
        }
        if (err != 0) {
            rtm_esc_msg(stderr, "%s: %s", inputs[i], strerror(err));
            return true;
        }
    }
    return false;
}

/* Temporaries in the making, removed if a signal ends the command first (a
 * report's analysis can take minutes, a recorded program runs as long as
 * it likes: Ctrl-C must not leave them). The slots point into the
 * callers' buffers; they change only with the signals blocked, so the
 * handler never sees one half-written. */
static const char *volatile pending[RTM_TEMP_MAX];
static size_t npending; /* changed with the signals blocked, like pending */
static const int cleanup_signals[] = {SIGINT, SIGTERM, SIGHUP};
#define NCLEANUP_SIGNALS (sizeof cleanup_signals / sizeof cleanup_signals[0])
static struct sigaction saved_actions[NCLEANUP_SIGNALS];

static void remove_pending_and_die(int sig)
{
    for (size_t i = 0; i < RTM_TEMP_MAX; i++) {
        const char *p = pending[i];
        if (p != NULL) {
            (void)unlink(p);
        }
    }
    (void)signal(sig, SIG_DFL);
    (void)raise(sig);
}

void rtm_temp_block_signals(sigset_t *old)
{
    sigset_t block;
    sigemptyset(&block);
    for (size_t i = 0; i < NCLEANUP_SIGNALS; i++) {
        sigaddset(&block, cleanup_signals[i]);
    }
    (void)sigprocmask(SIG_BLOCK, &block, old);
}

static void watch_signals(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = remove_pending_and_die;
    sigemptyset(&sa.sa_mask);
    for (size_t i = 0; i < NCLEANUP_SIGNALS; i++) {
        /* a second signal must not cut the first one's removals short */
        sigaddset(&sa.sa_mask, cleanup_signals[i]);
    }
    for (size_t i = 0; i < NCLEANUP_SIGNALS; i++) {
        (void)sigaction(cleanup_signals[i], NULL, &saved_actions[i]);
        /* a signal the caller ignores (nohup) stays ignored */
        if (saved_actions[i].sa_handler != SIG_IGN) {
            (void)sigaction(cleanup_signals[i], &sa, NULL);
        }
    }
}

static void unwatch_signals(void)
{
    for (size_t i = 0; i < NCLEANUP_SIGNALS; i++) {
        (void)sigaction(cleanup_signals[i], &saved_actions[i], NULL);
    }
}

int rtm_temp_create(char *path)
{
    sigset_t old;
    rtm_temp_block_signals(&old);
    int fd = -1;
    int err = EMFILE; /* every slot taken: a caller holds too many at once */
    size_t slot = 0;
    while (slot < RTM_TEMP_MAX && pending[slot] != NULL) {
        slot++;
    }
    if (slot < RTM_TEMP_MAX) {
        fd = mkstemp(path);
        err = errno;
    }
    if (fd >= 0) {
        if (npending++ == 0) {
            watch_signals();
        }
        pending[slot] = path;
    }
    (void)sigprocmask(SIG_SETMASK, &old, NULL);
    errno = err;
    return fd;
}

void rtm_temp_forget(const char *path)
{
    sigset_t old;
    rtm_temp_block_signals(&old);
    for (size_t i = 0; i < RTM_TEMP_MAX; i++) {
        if (pending[i] == path) {
            pending[i] = NULL;
            if (--npending == 0) {
                unwatch_signals();
            }
        }
    }
    (void)sigprocmask(SIG_SETMASK, &old, NULL);
}

void rtm_temp_remove(const char *path)
{
    (void)unlink(path);
    rtm_temp_forget(path);
}

void rtm_temp_after_fork_child(void)
{
    for (size_t i = 0; i < RTM_TEMP_MAX; i++) {
        pending[i] = NULL;
    }
    if (npending > 0) {
        npending = 0;
        unwatch_signals();
    }
}

/* The mode a file created now would get: 0666 less the umask. */
static mode_t new_file_mode(void)
{
    mode_t mask = umask(0);
    (void)umask(mask);
    return 0666 & ~mask;
}

static int fail_open(const rtm_out_t *o, const char *what, int err)
{
    rtm_esc_msg(stderr, "rtmem %s: %s%s: %s", o->cmd, o->name, what, strerror(err));
    return -1;
}

/* FILE itself, opened for writing: '-', a device, a FIFO, a dangling link. */
static int open_direct(rtm_out_t *o, const char *path)
{
    o->f = strcmp(path, "-") == 0 ? stdout : fopen(path, "w");
    return o->f != NULL ? 0 : fail_open(o, "", errno);
}

int rtm_out_open(rtm_out_t *o, const char *cmd, const char *path)
{
    return rtm_out_open_named(o, cmd, path, path);
}

int rtm_out_open_named(rtm_out_t *o, const char *cmd, const char *path, const char *name)
{
    memset(o, 0, sizeof *o);
    o->cmd = cmd;
    o->name = name;
    struct stat st;
    bool exists = stat(path, &st) == 0;
    if (strcmp(path, "-") == 0 || (exists && !S_ISREG(st.st_mode)) ||
        (!exists && lstat(path, &st) == 0)) {
        return open_direct(o, path);
    }
    if (exists) {
        if (realpath(path, o->target) == NULL) {
            return fail_open(o, "", errno);
        }
    } else if (snprintf(o->target, sizeof o->target, "%s", path) >= (int)sizeof o->target) {
        return fail_open(o, "", ENAMETOOLONG);
    }
    const char *slash = strrchr(o->target, '/');
    int dir_len = slash == NULL ? 0 : (int)(slash - o->target) + 1;
    const char *base = o->target + dir_len;
    if (snprintf(o->temp, sizeof o->temp, "%.*s.%s.XXXXXX", dir_len, o->target, base) >=
        (int)sizeof o->temp) {
        o->temp[0] = '\0';
        return fail_open(o, "", ENAMETOOLONG);
    }
    int fd = rtm_temp_create(o->temp);
    if (fd < 0) {
        int err = errno;
        o->temp[0] = '\0';
        return fail_open(o, exists ? " (a temporary file next to it)" : "", err);
    }
    mode_t mode = exists ? st.st_mode & 07777 : new_file_mode();
    if (fchmod(fd, mode) != 0 || (o->f = fdopen(fd, "w")) == NULL) {
        int err = errno;
        close(fd);
        rtm_out_abandon(o);
        return fail_open(o, "", err);
    }
    return 0;
}

int rtm_out_commit(rtm_out_t *o)
{
    int err = 0;
    if (o->f == stdout) {
        err = fflush(stdout) != 0 || ferror(stdout) ? (errno != 0 ? errno : EIO) : 0;
    } else {
        bool bad = ferror(o->f) != 0;
        err = fclose(o->f) != 0 || bad ? (errno != 0 ? errno : EIO) : 0;
        o->f = NULL;
        if (err == 0 && o->temp[0] != '\0' && rename(o->temp, o->target) != 0) {
            err = errno;
        }
    }
    if (err != 0) {
        rtm_esc_msg(stderr, "rtmem %s: cannot write %s: %s", o->cmd, o->name, strerror(err));
        rtm_out_abandon(o);
        return -1;
    }
    if (o->temp[0] != '\0') {
        rtm_temp_forget(o->temp);
        o->temp[0] = '\0';
    }
    return 0;
}

void rtm_out_abandon(rtm_out_t *o)
{
    if (o->f != NULL && o->f != stdout) {
        fclose(o->f);
    }
    o->f = NULL;
    if (o->temp[0] != '\0') {
        rtm_temp_remove(o->temp);
        o->temp[0] = '\0';
    }
}
