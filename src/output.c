#include "rtmem/output.h"

#include <stdbool.h>
#include <string.h>

static rtm_write_fn g_write;
static void *g_write_ctx;

typedef void (*report_fn)(const char *what, const void *address, const char *owner,
                          const char *name);
/* report_line while a hook is installed, else NULL. Only rtm_output_set
 * names report_line, so a program that never installs a hook links none of
 * the line building that the default misuse hooks' reports need: the
 * reports sit on every firmware's malloc and free path. */
static report_fn g_report;

static void report_line(const char *what, const void *address, const char *owner,
                        const char *name);

void rtm_output_set(rtm_write_fn write, void *ctx)
{
    g_write = write;
    g_write_ctx = ctx;
    g_report = write != NULL ? report_line : NULL;
}

void rtm_output_report(const char *what, const void *address, const char *owner, const char *name)
{
    report_fn report = g_report;
    if (report != NULL) {
        report(what, address, owner, name);
    }
}

void rtm_output_write(const char *text, size_t len)
{
    rtm_write_fn write = g_write;
    if (write != NULL && text != NULL && len > 0) {
        write(text, len, g_write_ctx);
    }
}

void rtm_line_init(rtm_line_t *line)
{
    rtm_line_init_buffer(line, NULL, 0);
}

void rtm_line_init_buffer(rtm_line_t *line, char *buf, size_t cap)
{
    if (buf == NULL || cap < 8u) {
        buf = line->storage;
        cap = sizeof line->storage;
    }
    line->text = buf;
    line->cap = cap;
    line->len = 0;
    line->truncated = 0;
}

/* One byte is always kept back for the '\n' that rtm_line_emit adds. */
static void line_putc(rtm_line_t *line, char c)
{
    if (line->len + 1u < line->cap) {
        line->text[line->len++] = c;
    } else {
        line->truncated = 1;
    }
}

void rtm_line_str(rtm_line_t *line, const char *s)
{
    if (s == NULL) {
        s = "(null)";
    }
    for (; *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        line_putc(line, c < 0x20u || c == 0x7fu ? '?' : *s);
    }
}

void rtm_line_uint(rtm_line_t *line, uint64_t v)
{
    char digits[20];
    size_t n = 0;
    do {
        digits[n++] = (char)('0' + (int)(v % 10u));
        v /= 10u;
    } while (v != 0);
    while (n > 0) {
        line_putc(line, digits[--n]);
    }
}

void rtm_line_int(rtm_line_t *line, int64_t v)
{
    if (v < 0) {
        line_putc(line, '-');
        /* -(v + 1) + 1 avoids negating INT64_MIN. */
        rtm_line_uint(line, (uint64_t)(-(v + 1)) + 1u);
    } else {
        rtm_line_uint(line, (uint64_t)v);
    }
}

static const char k_hex_digits[] = "0123456789abcdef";

void rtm_line_hex(rtm_line_t *line, uint64_t v)
{
    const char *hex = k_hex_digits;
    char digits[16];
    size_t n = 0;
    do {
        digits[n++] = hex[v & 0xfu];
        v >>= 4;
    } while (v != 0);
    line_putc(line, '0');
    line_putc(line, 'x');
    while (n > 0) {
        line_putc(line, digits[--n]);
    }
}

/* A name such as "wifi..." ends a trace line whenever no caller follows
 * it, and a reader takes a line ending in "..." for one the writer cut. */
void rtm_line_token(rtm_line_t *line, const char *s, size_t max)
{
    /* Upper case, as the trace format has always been written. */
    static const char upper[] = "0123456789ABCDEF";
    for (size_t i = 0; s != NULL && i < max && s[i] != '\0'; i++) {
        unsigned char c = (unsigned char)s[i];
        bool last = i + 1u == max || s[i + 1u] == '\0';
        bool plain = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') ||
                     c == '_' || (c == '.' && !last) || c == ':' || c == '/' || c == '+' ||
                     c == '-';
        if (plain) {
            line_putc(line, (char)c);
        } else {
            line_putc(line, '%');
            line_putc(line, upper[c >> 4]);
            line_putc(line, upper[c & 0xfu]);
        }
    }
}

/* As rtm_line_hex, but in the pointer's own width: a report needs no
 * 64-bit arithmetic on a 32-bit target. */
void rtm_line_ptr(rtm_line_t *line, const void *p)
{
    uintptr_t v = (uintptr_t)p;
    unsigned shift = 8u * (unsigned)sizeof v - 4u;
    while (shift > 0 && (v >> shift) == 0) {
        shift -= 4u;
    }
    line_putc(line, '0');
    line_putc(line, 'x');
    for (;;) {
        line_putc(line, k_hex_digits[(v >> shift) & 0xfu]);
        if (shift == 0) {
            break;
        }
        shift -= 4u;
    }
}

void rtm_line_key_uint(rtm_line_t *line, const char *key, uint64_t v)
{
    line_putc(line, ' ');
    rtm_line_str(line, key);
    line_putc(line, '=');
    rtm_line_uint(line, v);
}

static bool in_range(unsigned char c, unsigned lo, unsigned hi)
{
    return c >= lo && c <= hi;
}

/* Bytes of the well-formed UTF-8 sequence starting at s (Unicode's table
 * of well-formed byte sequences: no overlong forms, no surrogates, nothing
 * above U+10FFFF), or 0 when s[0] starts none. The NUL ends any sequence. */
static size_t utf8_length(const unsigned char *s)
{
    unsigned char c = s[0];
    size_t n;
    unsigned lo = 0x80u, hi = 0xbfu; /* the second byte's range */
    if (in_range(c, 0xc2u, 0xdfu)) {
        n = 2;
    } else if (in_range(c, 0xe0u, 0xefu)) {
        n = 3;
        lo = c == 0xe0u ? 0xa0u : 0x80u;
        hi = c == 0xedu ? 0x9fu : 0xbfu;
    } else if (in_range(c, 0xf0u, 0xf4u)) {
        n = 4;
        lo = c == 0xf0u ? 0x90u : 0x80u;
        hi = c == 0xf4u ? 0x8fu : 0xbfu;
    } else {
        return 0;
    }
    if (!in_range(s[1], lo, hi)) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (!in_range(s[i], 0x80u, 0xbfu)) {
            return 0;
        }
    }
    return n;
}

void rtm_line_json_str(rtm_line_t *line, const char *s)
{
    const char *hex = k_hex_digits;
    line_putc(line, '"');
    for (; s != NULL && *s != '\0'; s++) {
        unsigned char c = (unsigned char)*s;
        if (c >= 0x80u) {
            /* JSON text is UTF-8 (RFC 8259): a name from the application
             * may not be, and JSON has no escape for a raw byte. */
            size_t n = utf8_length((const unsigned char *)s);
            if (n == 0) {
                line_putc(line, '?');
                continue;
            }
            for (size_t i = 0; i < n; i++) {
                line_putc(line, s[i]);
            }
            s += n - 1u;
        } else if (c == '"' || c == '\\') {
            line_putc(line, '\\');
            line_putc(line, (char)c);
        } else if (c < 0x20u) {
            rtm_line_str(line, "\\u00");
            line_putc(line, hex[c >> 4]);
            line_putc(line, hex[c & 0xfu]);
        } else {
            line_putc(line, (char)c);
        }
    }
    line_putc(line, '"');
}

/* The truncation mark replaces the tail; one byte stays free for the
 * '\n' or the NUL. */
static void line_finish(rtm_line_t *line)
{
    if (line->truncated) {
        static const char dots[] = "...";
        size_t keep = line->cap - 1u - (sizeof dots - 1u);
        if (line->len > keep) {
            line->len = keep;
        }
        memcpy(line->text + line->len, dots, sizeof dots - 1u);
        line->len += sizeof dots - 1u;
        line->truncated = 0;
    }
}

const char *rtm_line_text(rtm_line_t *line)
{
    line_finish(line);
    line->text[line->len] = '\0';
    return line->text;
}

void rtm_line_emit(rtm_line_t *line)
{
    line_finish(line);
    line->text[line->len++] = '\n';
    rtm_output_write(line->text, line->len);
}

static void report_line(const char *what, const void *address, const char *owner,
                        const char *name)
{
    rtm_line_t line;
    rtm_line_init(&line);
    rtm_line_str(&line, "rtmem: ");
    rtm_line_str(&line, what);
    rtm_line_str(&line, " at ");
    rtm_line_ptr(&line, address);
    rtm_line_str(&line, " in ");
    rtm_line_str(&line, owner);
    if (name != NULL) {
        rtm_line_str(&line, " '");
        rtm_line_str(&line, name);
        rtm_line_str(&line, "'");
    }
    rtm_line_emit(&line);
}
