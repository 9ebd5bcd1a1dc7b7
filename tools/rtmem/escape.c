/* Input text for terminals and JSON: see escape.h. */
#include "escape.h"

#include <stdarg.h>
#include <stdbool.h>
#include <string.h>

int rtm_hex_digit(int c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

size_t rtm_parse_u64(const char *s, size_t len, uint64_t *value, bool *overflow)
{
    uint64_t v = 0;
    bool over = false;
    size_t i = 0;
    for (; i < len && s[i] >= '0' && s[i] <= '9'; i++) {
        unsigned d = (unsigned)(s[i] - '0');
        if (over || v > (UINT64_MAX - d) / 10u) {
            over = true;
            v = UINT64_MAX;
        } else {
            v = v * 10u + d;
        }
    }
    *value = v;
    *overflow = over;
    return i;
}

size_t rtm_parse_hex_u64(const char *s, size_t len, uint64_t *value, bool *overflow)
{
    uint64_t v = 0;
    bool over = false;
    size_t i = 0;
    int d;
    for (; i < len && (d = rtm_hex_digit((unsigned char)s[i])) >= 0; i++) {
        if (over || v >> 60 != 0) {
            over = true;
            v = UINT64_MAX;
        } else {
            v = v << 4 | (uint64_t)d;
        }
    }
    *value = v;
    *overflow = over;
    return i;
}

size_t rtm_pct_step(const char *s, size_t len, unsigned char *byte)
{
    if (len == 0) {
        return 0;
    }
    int hi = len >= 3u && s[0] == '%' ? rtm_hex_digit((unsigned char)s[1]) : -1;
    int lo = hi >= 0 ? rtm_hex_digit((unsigned char)s[2]) : -1;
    if (lo < 0) {
        *byte = (unsigned char)s[0];
        return 1;
    }
    *byte = (unsigned char)(hi * 16 + lo);
    return 3;
}

size_t rtm_utf8_seq_len(const unsigned char *s, size_t len)
{
    if (len == 0) {
        return 0;
    }
    unsigned char c = s[0];
    if (c < 0x80u) {
        return 1;
    }
    size_t n;
    unsigned lo = 0x80u; /* range of the second byte (rules out overlong */
    unsigned hi = 0xbfu; /* forms, surrogates and code points > U+10FFFF) */
    if (c >= 0xc2u && c <= 0xdfu) {
        n = 2;
    } else if (c >= 0xe0u && c <= 0xefu) {
        n = 3;
        if (c == 0xe0u) {
            lo = 0xa0u;
        } else if (c == 0xedu) {
            hi = 0x9fu;
        }
    } else if (c >= 0xf0u && c <= 0xf4u) {
        n = 4;
        if (c == 0xf0u) {
            lo = 0x90u;
        } else if (c == 0xf4u) {
            hi = 0x8fu;
        }
    } else {
        return 0;
    }
    if (len < n || s[1] < lo || s[1] > hi) {
        return 0;
    }
    for (size_t i = 2; i < n; i++) {
        if (s[i] < 0x80u || s[i] > 0xbfu) {
            return 0;
        }
    }
    return n;
}

/* The next piece of s for a terminal: either a character that passes (its
 * bytes) or one escaped byte ("\xNN"), into piece[4] (*plen bytes);
 * returns the input bytes it covers. */
static size_t next_piece(const unsigned char *s, size_t len, char piece[4], size_t *plen)
{
    static const char hex[] = "0123456789abcdef";
    size_t n = rtm_utf8_seq_len(s, len);
    bool passes;
    if (n == 1) {
        passes = s[0] >= 0x20u && s[0] != 0x7fu;
    } else {
        /* C2 80 - C2 9F are the C1 controls U+0080-U+009F */
        passes = n >= 2 && !(n == 2 && s[0] == 0xc2u && s[1] < 0xa0u);
    }
    if (passes) {
        memcpy(piece, s, n);
        *plen = n;
        return n;
    }
    piece[0] = '\\';
    piece[1] = 'x';
    piece[2] = hex[s[0] >> 4];
    piece[3] = hex[s[0] & 15u];
    *plen = 4;
    return 1;
}

void rtm_esc_write(FILE *f, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    while (len > 0) {
        char piece[4];
        size_t plen;
        size_t used = next_piece(p, len, piece, &plen);
        (void)fwrite(piece, 1, plen, f);
        p += used;
        len -= used;
    }
}

char *rtm_esc_copy(char *out, size_t outlen, const char *s, size_t len)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t o = 0;
    while (len > 0) {
        char piece[4];
        size_t plen;
        size_t used = next_piece(p, len, piece, &plen);
        if (o + plen + 1u > outlen) {
            break;
        }
        memcpy(out + o, piece, plen);
        o += plen;
        p += used;
        len -= used;
    }
    out[o] = '\0';
    return out;
}

void rtm_esc_line(FILE *f, const char *msg)
{
    rtm_esc_write(f, msg, strlen(msg));
    fputc('\n', f);
}

void rtm_esc_msg(FILE *f, const char *fmt, ...)
{
    char msg[1024];
    va_list ap;
    va_start(ap, fmt);
    int n = vsnprintf(msg, sizeof msg, fmt, ap);
    va_end(ap);
    size_t len = n < 0 ? 0 : (size_t)n < sizeof msg ? (size_t)n : sizeof msg - 1u;
    rtm_esc_write(f, msg, len);
    fputc('\n', f);
}

void rtm_esc_json(FILE *f, const char *s)
{
    const unsigned char *p = (const unsigned char *)s;
    size_t len = strlen(s);
    fputc('"', f);
    while (len > 0) {
        size_t n = rtm_utf8_seq_len(p, len);
        if (n == 0) {
            fputs("\\ufffd", f);
            n = 1;
        } else if (*p == '"' || *p == '\\') {
            fputc('\\', f);
            fputc(*p, f);
        } else if (*p < 0x20u || *p == 0x7fu) {
            fprintf(f, "\\u%04x", *p);
        } else {
            (void)fwrite(p, 1, n, f);
        }
        p += n;
        len -= n;
    }
    fputc('"', f);
}
