/*
 * The one line reader of every rtmem tool input: rtmem-trace 1 streams and
 * dumps, telemetry, ESP-IDF heap_trace_dump output and serial logs around
 * them (`rtmem replay`, `rtmem compare` and `rtmem leaks` all read through
 * it, so they agree on what a line is and what is wrong with one).
 *
 * Strict: each of these stops reading with "FILE:LINE: what" in err (the
 * caller prints it and exits 2); nothing is dropped silently:
 *   - a NUL byte in a line;
 *   - a line longer than RTM_LINE_MAX bytes (not counting "\n" and a CR
 *     before it);
 *   - a read error ("FILE:LINE: read error: ...", the line being read;
 *     before the first line, as for a directory, "FILE: read error: ...",
 *     with err_line 0: there is no part before it);
 *   - empty input: end of file without a byte other than space, tab, CR
 *     and LF ("FILE: empty input ..."): a capture that recorded nothing is
 *     reported the same way by every command.
 * A line ends at "\n"; one CR before it is removed. The last line may lack
 * "\n" (then `unterminated` is set: a capture cut off mid-line). A UTF-8
 * byte order mark (EF BB BF) at the start of the first line is removed
 * (files saved by Windows editors).
 *
 * Memory: the reader is one fixed object (about 20 KiB: a read buffer and
 * one line); it never allocates. Cost per line: linear in its length.
 */
#ifndef RTMEM_TOOL_LINE_READER_H
#define RTMEM_TOOL_LINE_READER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define RTM_LINE_MAX 4096u     /* longest line accepted (rtmem writes <= 160) */
#define RTM_LINE_ERR_MAX 512u
#define RTM_LINE_CHUNK 16384u  /* bytes read from the FILE at a time */

typedef struct rtm_line_reader {
    FILE *file;
    const char *name;           /* for messages, kept by pointer */
    unsigned long line;         /* 1-based number of the line last returned */
    bool unterminated;          /* that line ended at end of file without "\n" */
    bool seen_text;             /* some byte other than blanks was read */
    bool at_eof;
    size_t pos, len;            /* unread bytes are chunk[pos..len) */
    char chunk[RTM_LINE_CHUNK];
    char text[RTM_LINE_MAX + 2u]; /* the line (plus room for CR), terminated */
    char err[RTM_LINE_ERR_MAX];
    /* Of the error in err: the line it names (0: none, as for empty input)
     * and where its "what" starts, after the "FILE:LINE: " prefix (so that
     * a command can quote the reason without the file's name). */
    unsigned long err_line;
    size_t err_what;
} rtm_line_reader_t;

/* file stays the caller's (it is read from its current position). */
void rtm_line_reader_init(rtm_line_reader_t *r, FILE *file, const char *name);

/* The next line: 1 with r->text holding it (terminated; *len bytes without
 * the line end), 0 at the end of a non-empty input, -1 with r->err set
 * (see above). After -1 every further call gives -1 again. */
int rtm_line_next(rtm_line_reader_t *r, size_t *len);

/* For a problem the caller finds in the line just returned: sets r->err to
 * "FILE:LINE: what" (what is copied, escaped for a terminal) and returns -1. */
int rtm_line_fail(rtm_line_reader_t *r, const char *what);

/* true when path can be read only once: "-" (stdin), a pipe or FIFO (also
 * a shell's <(...), a /dev/fd/N path), a character device or a socket.
 * Opening such a path a second time blocks until another writer comes, or
 * reads different bytes, so a command that reads an input twice copies it
 * first or refuses it. false for a regular file, a directory and a path
 * that does not exist (opening it then gives the error). One stat(2). */
bool rtm_input_is_stream(const char *path);

#endif
