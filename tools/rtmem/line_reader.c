/* Strict line reader of every tool input: see line_reader.h. */
#define _POSIX_C_SOURCE 200809L
#include "line_reader.h"

#include <errno.h>
#include <string.h>
#include <sys/stat.h>

#include "escape.h"

void rtm_line_reader_init(rtm_line_reader_t *r, FILE *file, const char *name)
{
    r->file = file;
    r->name = name != NULL ? name : "-";
    r->line = 0;
    r->unterminated = false;
    r->seen_text = false;
    r->text_before = false;
    r->truncated = 0;
    r->at_eof = false;
    r->pos = 0;
    r->len = 0;
    r->text[0] = '\0';
    r->err[0] = '\0';
    r->err_line = 0;
    r->err_what = 0;
}

/* "FILE:LINE: " (or "FILE: " for line 0) + what, with the file name and
 * what escaped: both may hold bytes from the outside. */
static void set_err(rtm_line_reader_t *r, unsigned long line, const char *what)
{
    char name[160];
    (void)rtm_esc_copy(name, sizeof name, r->name, strlen(r->name));
    int n = line != 0 ? snprintf(r->err, sizeof r->err, "%s:%lu: ", name, line)
                      : snprintf(r->err, sizeof r->err, "%s: ", name);
    size_t at = n > 0 && (size_t)n < sizeof r->err ? (size_t)n : sizeof r->err - 1u;
    (void)rtm_esc_copy(r->err + at, sizeof r->err - at, what, strlen(what));
    r->err_line = line;
    r->err_what = at;
}

int rtm_line_fail(rtm_line_reader_t *r, const char *what)
{
    set_err(r, r->line, what);
    return -1;
}

/* Skipping the input's only line would leave nothing read: the command
 * would answer for an empty capture as if it were a trace. */
static int refuse_only_line(rtm_line_reader_t *r, const char *what)
{
    char msg[RTM_LINE_ERR_MAX];
    (void)snprintf(msg, sizeof msg, "%s (the input's only line, without a newline: nothing read)",
                   what);
    return rtm_line_fail(r, msg);
}

int rtm_line_reject(rtm_line_reader_t *r, const char *what)
{
    if (!r->unterminated) {
        return rtm_line_fail(r, what);
    }
    if (!r->text_before) {
        return refuse_only_line(r, what);
    }
    r->truncated++;
    return 0;
}

int rtm_line_skip(rtm_line_reader_t *r, const char *what)
{
    if (r->unterminated && !r->text_before && r->seen_text) {
        return refuse_only_line(r, what);
    }
    return 0;
}

/* 1-based column of the first CR in s[0..n) that another byte of the
 * line follows, or 0. */
static size_t inner_cr(const char *s, size_t n)
{
    const char *cr = n > 1u ? memchr(s, '\r', n - 1u) : NULL;
    return cr != NULL ? (size_t)(cr - s) + 1u : 0;
}

static int cr_line_ends(rtm_line_reader_t *r, unsigned long line, size_t column)
{
    char what[128];
    (void)snprintf(what, sizeof what,
                   "CR without LF at column %zu: lines end at LF or CR LF, not at CR alone", column);
    set_err(r, line, what);
    return -1;
}

/* Refills chunk; false at end of file or on a read error (r->err set). */
static bool refill(rtm_line_reader_t *r)
{
    if (r->at_eof) {
        return false;
    }
    r->pos = 0;
    r->len = fread(r->chunk, 1, sizeof r->chunk, r->file);
    if (r->len == 0) {
        r->at_eof = true;
        if (ferror(r->file)) {
            char what[128];
            (void)snprintf(what, sizeof what, "read error: %s", strerror(errno != 0 ? errno : EIO));
            /* Before the first line nothing was read (a directory fails
             * its first read): no line to name, so no command reports a
             * part before it as if a bad line 1 had cut the input. */
            set_err(r, r->line != 0 ? r->line + 1u : 0, what);
        }
        return false;
    }
    return true;
}

static bool has_text(const char *s, size_t n)
{
    for (size_t i = 0; i < n; i++) {
        if (s[i] != ' ' && s[i] != '\t' && s[i] != '\r') {
            return true;
        }
    }
    return false;
}

int rtm_line_next(rtm_line_reader_t *r, size_t *len)
{
    if (r->err[0] != '\0') {
        return -1;
    }
    size_t n = 0;
    bool got_any = false;  /* a byte of this line, or its "\n" */
    bool terminated = false;
    while (!terminated) {
        if (r->pos == r->len && !refill(r)) {
            if (r->err[0] != '\0') {
                return -1;
            }
            break;
        }
        const char *start = r->chunk + r->pos;
        size_t avail = r->len - r->pos;
        const char *nl = memchr(start, '\n', avail);
        size_t take = nl != NULL ? (size_t)(nl - start) : avail;
        got_any = true;
        /* RTM_LINE_MAX + 1: room for a CR that is removed below */
        if (take > RTM_LINE_MAX + 1u - n) {
            /* CR-only line ends run the whole file into one line */
            const char *cr = memchr(r->text, '\r', n);
            size_t column = cr != NULL ? (size_t)(cr - r->text) + 1u : inner_cr(start, take);
            if (column != 0) {
                return cr_line_ends(r, r->line + 1u, cr != NULL ? column : n + column);
            }
            char what[96];
            (void)snprintf(what, sizeof what, "line longer than %u bytes", RTM_LINE_MAX);
            set_err(r, r->line + 1u, what);
            return -1;
        }
        memcpy(r->text + n, start, take);
        n += take;
        r->pos += take;
        if (nl != NULL) {
            r->pos++;
            terminated = true;
        }
    }
    if (!got_any) {
        if (!r->seen_text) {
            set_err(r, 0, r->line == 0 ? "empty input (0 bytes): nothing to read"
                                       : "empty input (only blank lines): nothing to read");
            return -1;
        }
        return 0;
    }
    r->line++;
    r->unterminated = !terminated;
    if (!terminated && inner_cr(r->text, n) != 0) {
        return cr_line_ends(r, r->line, inner_cr(r->text, n));
    }
    if (n > 0 && r->text[n - 1u] == '\r') {
        n--;
    }
    /* a Windows editor's UTF-8 byte order mark is no part of the first line */
    if (r->line == 1u && n >= 3u && memcmp(r->text, "\xef\xbb\xbf", 3) == 0) {
        n -= 3u;
        memmove(r->text, r->text + 3, n);
    }
    if (n > RTM_LINE_MAX) {
        char what[96];
        (void)snprintf(what, sizeof what, "line longer than %u bytes", RTM_LINE_MAX);
        return rtm_line_fail(r, what);
    }
    r->text[n] = '\0';
    const char *nul = memchr(r->text, '\0', n);
    if (nul != NULL) {
        char what[96];
        (void)snprintf(what, sizeof what, "NUL byte at column %zu (binary or damaged input)",
                       (size_t)(nul - r->text) + 1u);
        return rtm_line_fail(r, what);
    }
    r->text_before = r->seen_text;
    if (!r->seen_text) {
        r->seen_text = has_text(r->text, n);
    }
    *len = n;
    return 1;
}

bool rtm_input_is_stream(const char *path)
{
    if (strcmp(path, "-") == 0) {
        return true;
    }
    struct stat st;
    return stat(path, &st) == 0 && (S_ISFIFO(st.st_mode) || S_ISCHR(st.st_mode) ||
                                    S_ISSOCK(st.st_mode));
}
