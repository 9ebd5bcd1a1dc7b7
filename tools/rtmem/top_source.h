/*
 * Where `rtmem top` reads telemetry from (docs/tools.md, "rtmem top"):
 *   - a serial device (a terminal device: UART, USB serial, pseudo-terminal):
 *     put in raw mode at the chosen baud rate, 8N1, no flow control; its
 *     settings are put back when it is closed;
 *   - a regular file: read from its start, then followed as it grows
 *     (like tail -f); a file that shrinks is read again from its start;
 *   - "-" (standard input), a pipe or any other stream: read to its end.
 * Nothing blocks: the descriptor is non-blocking, and rtm_top_source_read
 * returns at once with what there is.
 *
 * When the device goes away (end of file, EIO, ENXIO, ENODEV on a serial
 * device or a file) the source is lost: the caller keeps its data and calls
 * rtm_top_source_retry, which reopens the same path at most once per
 * RTM_TOP_REOPEN_MS (a USB serial adapter that comes back, a board that
 * re-enumerates), until the user quits. A stream (stdin, a pipe) that ends
 * is ended for good: there is nothing to reopen.
 */
#ifndef RTMEM_TOOL_TOP_SOURCE_H
#define RTMEM_TOOL_TOP_SOURCE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <termios.h>

#define RTM_TOP_REOPEN_MS 1000u
#define RTM_TOP_DEFAULT_BAUD 115200u

typedef enum rtm_top_source_kind {
    RTM_TOP_SOURCE_FILE = 0,  /* a regular file, followed */
    RTM_TOP_SOURCE_DEVICE,    /* a terminal device (serial port) */
    RTM_TOP_SOURCE_STREAM     /* stdin, a pipe, anything else: read to its end */
} rtm_top_source_kind_t;

typedef enum rtm_top_source_state {
    RTM_TOP_SOURCE_OPEN = 0,
    RTM_TOP_SOURCE_LOST,      /* device or file gone: rtm_top_source_retry reopens it */
    RTM_TOP_SOURCE_ENDED      /* a stream reached its end: nothing more will come */
} rtm_top_source_state_t;

typedef struct rtm_top_source {
    const char *path;         /* kept by pointer; "-" for stdin */
    rtm_top_source_kind_t kind;
    rtm_top_source_state_t state;
    int fd;                   /* -1 when lost or ended */
    unsigned baud;            /* for a device */
    speed_t speed;
    bool saved_valid;         /* the device's settings before ours */
    struct termios saved;
    int saved_flags;          /* stdin's file status flags before O_NONBLOCK */
    uint64_t offset;          /* bytes read from a file */
    uint64_t lost_ms;         /* when it was lost (caller's clock) */
    uint64_t next_try_ms;
    unsigned long tries;      /* reopen attempts since it was lost */
    unsigned long reopened;   /* times it came back */
    char why[160];            /* why it was lost or ended */
    char retry_why[160];      /* what the last reopen met ("" before the first) */
} rtm_top_source_t;

/* The standard rate of n bits per second as a termios speed; false for a
 * rate termios does not name (e.g. 115201), 0 included. */
bool rtm_top_baud_speed(unsigned long n, speed_t *out);

/* Opens path ("-": stdin) and finds its kind. Returns 0, or -1 with a
 * message in err (the path cannot be opened, is a directory, stdin is a
 * terminal, or the device refuses the settings). baud is used for a device
 * only and must be a rate rtm_top_baud_speed accepts. */
int rtm_top_source_open(rtm_top_source_t *s, const char *path, unsigned baud, char *err,
                        size_t errlen);

/* The descriptor to poll for input, or -1 (a file: poll on a timer; lost or
 * ended: nothing to wait for). */
int rtm_top_source_fd(const rtm_top_source_t *s);

/* Reads up to cap bytes without blocking. Returns the count (> 0), 0 when
 * nothing is there now, or -1 when the source was just lost or ended
 * (state and why say which; the caller flushes a line in progress). now_ms
 * is the caller's clock, kept for the reopen timer. */
long rtm_top_source_read(rtm_top_source_t *s, char *buf, size_t cap, uint64_t now_ms);

/* For a lost source: tries to reopen it when RTM_TOP_REOPEN_MS have passed
 * since the last try. Returns true when it is open again (a device goes on
 * with what it sends next); false otherwise (why says what the last try met). A file goes on from the
 * offset read so far (from its start when it is now shorter). */
bool rtm_top_source_retry(rtm_top_source_t *s, uint64_t now_ms);

/* Closes it, putting back a device's settings and stdin's flags. */
void rtm_top_source_close(rtm_top_source_t *s);

#endif
