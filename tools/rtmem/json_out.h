/*
 * The one JSON writer of the rtmem tool: every command's --json output is
 * written through it, so every document has the same shape at the top and
 * the same string escaping.
 *
 * A document is one JSON object on one line (RFC 8259), opened by
 * rtm_json_begin_doc and closed by rtm_json_end_doc. Its first two keys
 * are always
 *
 *   "schema": RTM_JSON_SCHEMA   the version of the command's keys
 *   "command": "replay"         the command that wrote it
 *
 * (docs/formats.md "JSON output" lists each command's keys per version.)
 *
 * Strings go through rtm_esc_json (escape.h): valid UTF-8 passes through,
 * '"' and '\' are escaped, control bytes become \u00NN, invalid bytes
 * \ufffd. Numbers: integers exact; doubles with a fixed number of
 * decimals, and null when not finite (JSON has no NaN or infinity).
 *
 * The writer places commas and checks the structure as it goes: a value
 * inside an object without a key, a key inside an array or after a key,
 * an end that does not match its begin, or nesting deeper than
 * RTM_JSON_DEPTH_MAX marks the document misused (nothing is written for
 * that call) and rtm_json_end_doc reports it. Cost: each call writes its
 * bytes to the FILE; no allocation. Not thread-safe (one writer, one
 * thread).
 */
#ifndef RTMEM_TOOL_JSON_OUT_H
#define RTMEM_TOOL_JSON_OUT_H

#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>

/* Version of the --json keys (docs/formats.md). Raised when a key of any
 * command is renamed, removed, or changes meaning; adding a key keeps it. */
#define RTM_JSON_SCHEMA 1

#define RTM_JSON_DEPTH_MAX 16u

typedef struct rtm_json {
    FILE *out;
    unsigned depth;                       /* open objects and arrays */
    char open[RTM_JSON_DEPTH_MAX];        /* '{' or '[' per level */
    bool has_items[RTM_JSON_DEPTH_MAX];   /* a member or element written at that level */
    bool after_key;                       /* a key waits for its value */
    bool misused;
} rtm_json_t;

/* Starts a document on out: "{\"schema\":1,\"command\":" command. */
void rtm_json_begin_doc(rtm_json_t *j, FILE *out, const char *command);

/* Closes every level still open (so an error path still ends a valid
 * document), then writes "\n". Returns true when the document was well
 * formed (no misuse, no key left without a value) and out has no error. */
bool rtm_json_end_doc(rtm_json_t *j);

void rtm_json_begin_object(rtm_json_t *j);
void rtm_json_end_object(rtm_json_t *j);
void rtm_json_begin_array(rtm_json_t *j);
void rtm_json_end_array(rtm_json_t *j);

/* A member's key (inside an object); the next call writes its value. */
void rtm_json_key(rtm_json_t *j, const char *key);

/* Values: as an array element, or as the value of the key just written. */
void rtm_json_str(rtm_json_t *j, const char *s); /* NULL: null */
void rtm_json_u64(rtm_json_t *j, uint64_t v);
void rtm_json_i64(rtm_json_t *j, int64_t v);
void rtm_json_double(rtm_json_t *j, double v, unsigned decimals); /* "%.*f"; not finite: null */
void rtm_json_bool(rtm_json_t *j, bool v);
void rtm_json_null(rtm_json_t *j);
void rtm_json_hex(rtm_json_t *j, uint64_t v); /* the string "0x..." (lower case, no padding) */

/* Key and value in one call (inside an object). */
void rtm_json_kv_str(rtm_json_t *j, const char *key, const char *s);
void rtm_json_kv_u64(rtm_json_t *j, const char *key, uint64_t v);
void rtm_json_kv_i64(rtm_json_t *j, const char *key, int64_t v);
void rtm_json_kv_double(rtm_json_t *j, const char *key, double v, unsigned decimals);
void rtm_json_kv_bool(rtm_json_t *j, const char *key, bool v);
void rtm_json_kv_null(rtm_json_t *j, const char *key);

#endif
