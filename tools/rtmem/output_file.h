/*
 * The -o FILE of the commands that turn INPUTs into one output file
 * (`rtmem report`, `rtmem export`), written so that nothing a user already
 * had is lost:
 *
 *   - an output that is one of the INPUTs (under any name, or the file
 *     stdin was redirected from for '-') is refused before anything is
 *     read or written;
 *   - an INPUT that cannot be opened (a mistyped name, no permission, a
 *     directory) is refused before the output is touched;
 *   - a regular FILE (or one that does not exist yet) is written to a
 *     temporary file next to it, ".NAME.XXXXXX", opened before any INPUT
 *     is read (an -o that cannot be written fails at once, not after a
 *     long analysis) and renamed over FILE only when it was written whole:
 *     a write error (a full disk) leaves an existing FILE as it was. A
 *     symbolic link is followed (its target is replaced); the new file
 *     keeps an existing FILE's permission bits. Another hard link to the
 *     old FILE keeps the old content.
 *   - '-' is stdout, and FILE that exists and is not a regular file (a
 *     device, a FIFO) is written directly: there is nothing to replace.
 *
 * Messages go to stderr as "rtmem CMD: ..." or "PATH: reason".
 */
#ifndef RTMEM_TOOL_OUTPUT_FILE_H
#define RTMEM_TOOL_OUTPUT_FILE_H

#include <signal.h>
#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#define RTM_OUT_PATH_MAX 4096u

typedef struct rtm_out {
    FILE *f;                         /* what the command writes to */
    const char *cmd;                 /* "report": messages start "rtmem report: " */
    const char *name;                /* the path as given, for messages */
    char target[RTM_OUT_PATH_MAX];   /* what the temporary is renamed over */
    char temp[RTM_OUT_PATH_MAX];     /* "": f writes the output itself */
} rtm_out_t;

/* true (message printed) when the output path is also one of the inputs:
 * the same (st_dev, st_ino) as a named input, or as stdin's file for '-'
 * (a pipe on stdin never matches). False for '-' as output and for an
 * output that does not exist or is not a regular file. */
bool rtm_out_refuse_input(const char *cmd, const char *out_path, const char *const *inputs,
                          size_t n);

/* true (message "PATH: reason" printed) when an input path other than '-'
 * cannot be opened for reading or is a directory. An input read once (a
 * FIFO, a character device) is not opened here: opening it is reading it. */
bool rtm_out_refuse_unreadable(const char *const *inputs, size_t n);

/* Opens the output ('-': stdout). 0, or -1 with the message printed and
 * nothing created. */
int rtm_out_open(rtm_out_t *o, const char *cmd, const char *path);

/* The same, with name (not path) in the messages: for a caller that
 * opens the absolute path of what the user named. */
int rtm_out_open_named(rtm_out_t *o, const char *cmd, const char *path, const char *name);

/* Everything was written: flushes and closes f and puts the temporary in
 * place. 0, or -1 ("rtmem CMD: cannot write PATH: reason" printed; the
 * temporary is removed, an existing output left as it was). */
int rtm_out_commit(rtm_out_t *o);

/* The output is not to be used (its writing failed and the command said
 * so): closes f and removes the temporary; stdout is left open. */
void rtm_out_abandon(rtm_out_t *o);

/*
 * Temporary files of any command (the -o temporary above, report's copy of
 * stdin, record's trace in the making): removed if SIGINT, SIGTERM or
 * SIGHUP ends the process before the command is done with them; the
 * process then dies of that signal. A signal ignored when the first one is
 * created stays ignored; the dispositions come back when the last one is
 * forgotten. At most RTM_TEMP_MAX at once.
 */
#define RTM_TEMP_MAX 4u

/* mkstemp(path), with path (the caller's buffer, which must stay valid
 * until rtm_temp_forget) known to the signal handlers from the moment the
 * file exists. The descriptor, or -1 with errno (mkstemp's, or EMFILE
 * when RTM_TEMP_MAX are pending). */
int rtm_temp_create(char *path);

/* path is the handlers' to remove no more: it was renamed into place or
 * removed. */
void rtm_temp_forget(const char *path);

/* Removes path and forgets it. */
void rtm_temp_remove(const char *path);

/* Blocks SIGINT, SIGTERM and SIGHUP (the mask before into *old, for
 * sigprocmask(SIG_SETMASK, old, NULL)): a fork in between is not
 * interrupted by a handler that would remove the parent's temporaries
 * from the child. */
void rtm_temp_block_signals(sigset_t *old);

/* In a child just forked (before exec): the parent's temporaries are not
 * the child's to remove, so its signals get back the dispositions they
 * had before the first temporary. Call it with the cleanup signals
 * blocked across the fork. */
void rtm_temp_after_fork_child(void);

#endif
