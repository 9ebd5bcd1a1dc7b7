#include "rtmem/output.h"

#include <string.h>

static rtm_write_fn g_write;
static void *g_write_ctx;

void rtm_output_set(rtm_write_fn write, void *ctx)
{
    g_write = write;
    g_write_ctx = ctx;
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
    line->len = 0;
    line->truncated = 0;
}

/* One byte is always kept back for the '\n' that rtm_line_emit adds. */
static void line_putc(rtm_line_t *line, char c)
{
    if (line->len + 1u < RTM_LINE_MAX) {
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
    while (*s != '\0') {
        line_putc(line, *s++);
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

void rtm_line_hex(rtm_line_t *line, uint64_t v)
{
    static const char hex[] = "0123456789abcdef";
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

void rtm_line_ptr(rtm_line_t *line, const void *p)
{
    rtm_line_hex(line, (uint64_t)(uintptr_t)p);
}

void rtm_line_key_uint(rtm_line_t *line, const char *key, uint64_t v)
{
    line_putc(line, ' ');
    rtm_line_str(line, key);
    line_putc(line, '=');
    rtm_line_uint(line, v);
}

void rtm_line_emit(rtm_line_t *line)
{
    if (line->truncated) {
        static const char dots[] = "...";
        size_t keep = RTM_LINE_MAX - 1u - (sizeof dots - 1u);
        if (line->len > keep) {
            line->len = keep;
        }
        memcpy(line->text + line->len, dots, sizeof dots - 1u);
        line->len += sizeof dots - 1u;
    }
    line->text[line->len++] = '\n';
    rtm_output_write(line->text, line->len);
}
