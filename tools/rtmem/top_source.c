/* Sources of `rtmem top`: serial device, followed file, stream. See top_source.h. */
#define _POSIX_C_SOURCE 200809L
#include "top_source.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

typedef struct baud_rate {
    unsigned long bits;
    speed_t speed;
} baud_rate_t;

static const baud_rate_t baud_rates[] = {
    {50, B50}, {75, B75}, {110, B110}, {134, B134}, {150, B150}, {200, B200}, {300, B300},
    {600, B600}, {1200, B1200}, {1800, B1800}, {2400, B2400}, {4800, B4800}, {9600, B9600},
    {19200, B19200}, {38400, B38400},
#ifdef B57600
    {57600, B57600},
#endif
#ifdef B115200
    {115200, B115200},
#endif
#ifdef B230400
    {230400, B230400},
#endif
#ifdef B460800
    {460800, B460800},
#endif
#ifdef B500000
    {500000, B500000},
#endif
#ifdef B576000
    {576000, B576000},
#endif
#ifdef B921600
    {921600, B921600},
#endif
#ifdef B1000000
    {1000000, B1000000},
#endif
#ifdef B1152000
    {1152000, B1152000},
#endif
#ifdef B1500000
    {1500000, B1500000},
#endif
#ifdef B2000000
    {2000000, B2000000},
#endif
#ifdef B2500000
    {2500000, B2500000},
#endif
#ifdef B3000000
    {3000000, B3000000},
#endif
#ifdef B3500000
    {3500000, B3500000},
#endif
#ifdef B4000000
    {4000000, B4000000},
#endif
};

bool rtm_top_baud_speed(unsigned long n, speed_t *out)
{
    for (size_t i = 0; i < sizeof baud_rates / sizeof baud_rates[0]; i++) {
        if (baud_rates[i].bits == n) {
            *out = baud_rates[i].speed;
            return true;
        }
    }
    return false;
}

static void set_why(char *why, size_t cap, const char *what, int err)
{
    if (err != 0) {
        snprintf(why, cap, "%s: %s", what, strerror(err));
    } else {
        snprintf(why, cap, "%s", what);
    }
}

/* Raw 8N1, no flow control, no echo, no line editing: every byte as sent.
 * VMIN 1 so that a non-blocking read with nothing there fails with EAGAIN
 * and 0 means the line hung up. */
static int configure_device(rtm_top_source_t *s, int fd)
{
    struct termios t;
    if (tcgetattr(fd, &t) != 0) {
        return errno;
    }
    s->saved = t;
    s->saved_valid = true;
    t.c_iflag &= (tcflag_t) ~(IGNBRK | BRKINT | PARMRK | ISTRIP | INLCR | IGNCR | ICRNL | IXON |
                              IXOFF);
    t.c_oflag &= (tcflag_t)~OPOST;
    t.c_lflag &= (tcflag_t) ~(ECHO | ECHONL | ICANON | ISIG | IEXTEN);
    t.c_cflag &= (tcflag_t) ~(CSIZE | PARENB | CSTOPB);
    t.c_cflag |= (tcflag_t)(CS8 | CLOCAL | CREAD);
    t.c_cc[VMIN] = 1;
    t.c_cc[VTIME] = 0;
    if (cfsetispeed(&t, s->speed) != 0 || cfsetospeed(&t, s->speed) != 0) {
        return errno;
    }
    if (tcsetattr(fd, TCSANOW, &t) != 0) {
        return errno;
    }
    return 0;
}

static void restore_device(rtm_top_source_t *s)
{
    if (s->saved_valid && s->fd >= 0) {
        (void)tcsetattr(s->fd, TCSANOW, &s->saved);
    }
    s->saved_valid = false;
}

/* Opens the path for reading without blocking; returns the fd or -1 with errno. */
static int open_path(const char *path)
{
    return open(path, O_RDONLY | O_NOCTTY | O_NONBLOCK);
}

int rtm_top_source_open(rtm_top_source_t *s, const char *path, unsigned baud, char *err,
                        size_t errlen)
{
    memset(s, 0, sizeof *s);
    s->path = path;
    s->fd = -1;
    s->saved_flags = -1;
    s->baud = baud;
    if (!rtm_top_baud_speed(baud, &s->speed)) {
        snprintf(err, errlen, "%u is not a standard baud rate", baud);
        return -1;
    }
    if (strcmp(path, "-") == 0) {
        if (isatty(STDIN_FILENO)) {
            snprintf(err, errlen, "standard input is a terminal: give a file, a device or a pipe");
            return -1;
        }
        s->fd = STDIN_FILENO;
        s->saved_flags = fcntl(STDIN_FILENO, F_GETFL);
        if (s->saved_flags >= 0) {
            (void)fcntl(STDIN_FILENO, F_SETFL, s->saved_flags | O_NONBLOCK);
        }
        struct stat st;
        s->kind = fstat(STDIN_FILENO, &st) == 0 && S_ISREG(st.st_mode) ? RTM_TOP_SOURCE_FILE
                                                                       : RTM_TOP_SOURCE_STREAM;
        return 0;
    }
    int fd = open_path(path);
    if (fd < 0) {
        snprintf(err, errlen, "cannot open %s: %s", path, strerror(errno));
        return -1;
    }
    struct stat st;
    if (fstat(fd, &st) != 0) {
        snprintf(err, errlen, "cannot read %s: %s", path, strerror(errno));
        close(fd);
        return -1;
    }
    if (S_ISDIR(st.st_mode)) {
        snprintf(err, errlen, "%s is a directory", path);
        close(fd);
        return -1;
    }
    s->fd = fd;
    if (S_ISREG(st.st_mode)) {
        s->kind = RTM_TOP_SOURCE_FILE;
    } else if (isatty(fd)) {
        s->kind = RTM_TOP_SOURCE_DEVICE;
        int e = configure_device(s, fd);
        if (e != 0) {
            snprintf(err, errlen, "cannot set %s to %u baud, raw: %s", path, baud, strerror(e));
            rtm_top_source_close(s);
            return -1;
        }
    } else {
        s->kind = RTM_TOP_SOURCE_STREAM;
    }
    return 0;
}

int rtm_top_source_fd(const rtm_top_source_t *s)
{
    if (s->state != RTM_TOP_SOURCE_OPEN || s->kind == RTM_TOP_SOURCE_FILE) {
        return -1;
    }
    return s->fd;
}

static void close_fd(rtm_top_source_t *s)
{
    restore_device(s);
    if (s->fd == STDIN_FILENO) {
        if (s->saved_flags >= 0) {
            (void)fcntl(STDIN_FILENO, F_SETFL, s->saved_flags);
        }
    } else if (s->fd >= 0) {
        close(s->fd);
    }
    s->fd = -1;
}

static long lose(rtm_top_source_t *s, const char *what, int err, uint64_t now_ms)
{
    set_why(s->why, sizeof s->why, what, err);
    s->retry_why[0] = '\0';
    close_fd(s);
    /* stdin and pipes cannot come back; a path can. */
    if (s->kind == RTM_TOP_SOURCE_STREAM || strcmp(s->path, "-") == 0) {
        s->state = RTM_TOP_SOURCE_ENDED;
    } else {
        s->state = RTM_TOP_SOURCE_LOST;
        s->lost_ms = now_ms;
        s->next_try_ms = now_ms + RTM_TOP_REOPEN_MS;
        s->tries = 0;
    }
    return -1;
}

long rtm_top_source_read(rtm_top_source_t *s, char *buf, size_t cap, uint64_t now_ms)
{
    if (s->state != RTM_TOP_SOURCE_OPEN || s->fd < 0 || cap == 0) {
        return 0;
    }
    if (s->kind == RTM_TOP_SOURCE_FILE && s->fd != STDIN_FILENO) {
        struct stat st;
        if (fstat(s->fd, &st) == 0 && (uint64_t)st.st_size < s->offset) {
            /* Truncated (rewritten by a new run): read it again from the start. */
            if (lseek(s->fd, 0, SEEK_SET) == 0) {
                s->offset = 0;
            }
        }
    }
    ssize_t n = read(s->fd, buf, cap);
    if (n > 0) {
        s->offset += (uint64_t)n;
        return (long)n;
    }
    if (n == 0) {
        if (s->kind == RTM_TOP_SOURCE_FILE && s->fd != STDIN_FILENO) {
            return 0; /* the end for now: it may grow */
        }
        return lose(s, s->kind == RTM_TOP_SOURCE_DEVICE ? "hung up" : "end of input", 0, now_ms);
    }
    if (errno == EAGAIN || errno == EWOULDBLOCK || errno == EINTR) {
        return 0;
    }
    return lose(s, "read failed", errno, now_ms);
}

bool rtm_top_source_retry(rtm_top_source_t *s, uint64_t now_ms)
{
    if (s->state != RTM_TOP_SOURCE_LOST || now_ms < s->next_try_ms) {
        return false;
    }
    s->next_try_ms = now_ms + RTM_TOP_REOPEN_MS;
    s->tries++;
    int fd = open_path(s->path);
    if (fd < 0) {
        set_why(s->retry_why, sizeof s->retry_why, strerror(errno), 0);
        return false;
    }
    s->fd = fd;
    if (s->kind == RTM_TOP_SOURCE_DEVICE) {
        if (!isatty(fd)) {
            set_why(s->retry_why, sizeof s->retry_why, "no longer a terminal device", 0);
            close_fd(s);
            return false;
        }
        int e = configure_device(s, fd);
        if (e != 0) {
            set_why(s->retry_why, sizeof s->retry_why, "cannot set it up", e);
            close_fd(s);
            return false;
        }
    } else {
        struct stat st;
        if (fstat(fd, &st) == 0 && (uint64_t)st.st_size >= s->offset &&
            lseek(fd, (off_t)s->offset, SEEK_SET) == (off_t)s->offset) {
            /* goes on where it was */
        } else {
            s->offset = 0;
        }
    }
    s->state = RTM_TOP_SOURCE_OPEN;
    s->reopened++;
    s->why[0] = '\0';
    s->retry_why[0] = '\0';
    return true;
}

void rtm_top_source_close(rtm_top_source_t *s)
{
    close_fd(s);
}
