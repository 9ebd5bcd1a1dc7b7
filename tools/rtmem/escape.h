/*
 * Text from an input file on its way to a terminal or into JSON.
 *
 * Everything the rtmem tool prints that came from an input (a token quoted
 * in an error message, a task or site name, an addr2line answer, a file
 * name) goes through one of these, so that a hostile or damaged file cannot
 * send escape sequences to the user's terminal or produce invalid JSON.
 *
 * Valid UTF-8 passes through unchanged ("tést" stays "tést"). Escaped:
 *   terminal: bytes 0x00-0x1f and 0x7f, the C1 controls U+0080-U+009F, and
 *             every byte that is not part of a valid UTF-8 sequence
 *             (overlong forms, surrogates, above U+10FFFF, cut-off
 *             sequences) become "\xNN", one per byte;
 *   JSON:     '"' and '\' get a backslash, 0x00-0x1f and 0x7f become
 *             "\u00NN", and every byte that is not valid UTF-8 becomes
 *             "\ufffd" (JSON text must be UTF-8; the replacement character
 *             says a byte was lost instead of inventing a character).
 * Cost: linear in the text; no allocation.
 *
 * Also the readers' shared decoders of digits (rtm_hex_digit,
 * rtm_parse_u64, rtm_parse_hex_u64), so that every input and command line
 * agrees on what a number is and where 64 bits end.
 */
#ifndef RTMEM_TOOL_ESCAPE_H
#define RTMEM_TOOL_ESCAPE_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>
#include <stdio.h>

/* Length (1-4) of the valid UTF-8 sequence at s[0..len), or 0 when s[0]
 * does not start one. len 0 gives 0. */
size_t rtm_utf8_seq_len(const unsigned char *s, size_t len);

/* The value of one hex digit (0-9, a-f, A-F), or -1: the one decoder of
 * the readers' %XX, \u00XX and 0x forms. */
int rtm_hex_digit(int c);

/* The decimal number that starts s[0..len): the one decoder of the
 * readers' and the command lines' unsigned numbers. Reads the run of digits
 * 0-9 at s[0] (leading zeros are fine; no sign, space or "0x" is skipped:
 * "+1", "-1" and " 1" start with no digit) into *value and returns how
 * many digits it read. 0 digits (empty, or s[0] not a digit): *value is 0.
 * A run worth more than 18446744073709551615 is still read to its last
 * digit; *value is then UINT64_MAX and *overflow true (false otherwise).
 * The run ends at len or at the first byte that is not a digit, so a
 * terminated string may be passed with len SIZE_MAX (its NUL ends it).
 * What follows the run, an empty run and an overflow mean is the caller's
 * to say (each reader words its own error). Cost: linear in the digits. */
size_t rtm_parse_u64(const char *s, size_t len, uint64_t *value, bool *overflow);

/* The same for the hex number that starts s[0..len): the one decoder of
 * the readers' 0x values (addresses, caps=). Reads the run of hex digits
 * (rtm_hex_digit: 0-9 a-f A-F) at s[0]; the "0x" is the caller's to check
 * and skip, so "0x1f" starts with one digit, "0". Leading zeros are fine.
 * A run worth more than 0xffffffffffffffff is still read to its last
 * digit; *value is then UINT64_MAX and *overflow true. Returns the digits
 * read, 0 (with *value 0) when s[0] is not a hex digit. Cost: linear in
 * the digits. */
size_t rtm_parse_hex_u64(const char *s, size_t len, uint64_t *value, bool *overflow);

/* One step of the trace format's %XX decoding (docs/formats.md,
 * "Escaping") at s[0..len): the byte it stands for into *byte and the
 * input bytes it covers, 3 for '%' and two hex digits of either case, else
 * 1 (any other byte, a '%' without two hex digits after it, is itself).
 * len 0: returns 0. The one decoder of task=, heap= and site=, so that a
 * name's bytes, and the refusal of %00 (trace_reader.h), are the same in
 * every command. */
size_t rtm_pct_step(const char *s, size_t len, unsigned char *byte);

/* Writes s[0..len) to f, escaped for a terminal. */
void rtm_esc_write(FILE *f, const char *s, size_t len);

/* s[0..len) escaped for a terminal into out[outlen] (outlen >= 1): always
 * terminated; when it does not fit, it ends after the last whole character
 * or escape that fits. Returns out. */
char *rtm_esc_copy(char *out, size_t outlen, const char *s, size_t len);

/* One message line: msg (terminated) escaped for a terminal, then "\n". */
void rtm_esc_line(FILE *f, const char *msg);

/* printf-style message line: formatted (at most 1023 bytes kept), written
 * escaped for a terminal, then "\n". For messages that quote file names,
 * arguments or input text. */
#if defined(__GNUC__)
__attribute__((format(printf, 2, 3)))
#endif
void rtm_esc_msg(FILE *f, const char *fmt, ...);

/* A JSON string literal (with its quotes) of the terminated string s. */
void rtm_esc_json(FILE *f, const char *s);

#endif
