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
 *   - CR-only line ends (classic Mac OS, a terminal set to send CR): a
 *     line that no "\n" ends (the last one, or one over RTM_LINE_MAX
 *     bytes) and that holds a CR followed by more bytes. Otherwise the
 *     whole file would be one line that every command reads differently.
 * A line ends at "\n"; one CR before it is removed; a CR elsewhere is part
 * of the line (a terminal's progress output in a log), so line numbers are
 * those of grep -n and sed. The last line may lack "\n" (then
 * `unterminated` is set: a capture cut off mid-line). A UTF-8 byte order
 * mark (EF BB BF) at the start of the first line is removed (files saved
 * by Windows editors).
 *
 * A line a command cannot use goes through one of two functions, so that
 * every command applies the same rule to a capture cut mid-line
 * (docs/tools.md "Reading traces"): rtm_line_reject for a line that does
 * not parse, rtm_line_skip for a line it passes over (a log line).
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
    bool text_before;           /* ... before the line last returned */
    unsigned long truncated;    /* cut last lines skipped by rtm_line_reject */
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

/* For the line just returned, which the caller cannot parse (what says
 * why): a last line without "\n" after other text is a capture cut off
 * mid-line (a device stopped while writing): skipped, counted in
 * r->truncated, 0. Any other line, and the input's only line (nothing at
 * all would be read: a failed capture, as empty input is), is an error:
 * r->err = "FILE:LINE: what" and -1. */
int rtm_line_reject(rtm_line_reader_t *r, const char *what);

/* For the line just returned, which the caller passes over as not its
 * data (a log line around a capture; what says what it is not): 0, except
 * when it is the input's only line and cut (no "\n"): nothing at all
 * would be read, so it is refused as rtm_line_reject refuses it (-1). */
int rtm_line_skip(rtm_line_reader_t *r, const char *what);

/* true when path can be read only once: "-" (stdin), a pipe or FIFO (also
 * a shell's <(...), a /dev/fd/N path), a character device or a socket.
 * Opening such a path a second time blocks until another writer comes, or
 * reads different bytes, so a command that reads an input twice copies it
 * first or refuses it. false for a regular file, a directory and a path
 * that does not exist (opening it then gives the error). One stat(2). */
bool rtm_input_is_stream(const char *path);

#endif
