/* The tool's JSON writer: see json_out.h. */
#include "json_out.h"

#include <inttypes.h>
#include <math.h>

#include "escape.h"

#define MAX_DECIMALS 17u

static bool in_object(const rtm_json_t *j)
{
    return j->depth > 0 && j->open[j->depth - 1u] == '{';
}

/* Before a value: the comma of an array element, or the key's pending
 * value. False (misused, nothing to write) where no value may stand. */
static bool value_start(rtm_json_t *j)
{
    if (j->misused || j->depth == 0) {
        j->misused = true;
        return false;
    }
    if (in_object(j)) {
        if (!j->after_key) {
            j->misused = true;
            return false;
        }
        j->after_key = false;
        return true;
    }
    if (j->has_items[j->depth - 1u]) {
        fputc(',', j->out);
    }
    j->has_items[j->depth - 1u] = true;
    return true;
}

static void push(rtm_json_t *j, char bracket)
{
    fputc(bracket, j->out);
    j->open[j->depth] = bracket;
    j->has_items[j->depth] = false;
    j->depth++;
}

static void open_level(rtm_json_t *j, char bracket)
{
    if (j->depth >= RTM_JSON_DEPTH_MAX) {
        j->misused = true;
        return;
    }
    if (value_start(j)) {
        push(j, bracket);
    }
}

static void close_level(rtm_json_t *j, char bracket)
{
    if (j->misused || j->depth == 0 || j->open[j->depth - 1u] != bracket || j->after_key) {
        j->misused = true;
        return;
    }
    j->depth--;
    fputc(bracket == '{' ? '}' : ']', j->out);
}

void rtm_json_begin_doc(rtm_json_t *j, FILE *out, const char *command)
{
    j->out = out;
    j->depth = 0;
    j->after_key = false;
    j->misused = false;
    push(j, '{');
    rtm_json_kv_u64(j, "schema", RTM_JSON_SCHEMA);
    rtm_json_kv_str(j, "command", command);
}

bool rtm_json_end_doc(rtm_json_t *j)
{
    bool well_formed = !j->misused && !j->after_key && j->depth == 1u;
    if (j->after_key) {
        fputs("null", j->out);
        j->after_key = false;
    }
    while (j->depth > 0) {
        j->depth--;
        fputc(j->open[j->depth] == '{' ? '}' : ']', j->out);
    }
    fputc('\n', j->out);
    return well_formed && !ferror(j->out);
}

void rtm_json_begin_object(rtm_json_t *j)
{
    open_level(j, '{');
}

void rtm_json_end_object(rtm_json_t *j)
{
    close_level(j, '{');
}

void rtm_json_begin_array(rtm_json_t *j)
{
    open_level(j, '[');
}

void rtm_json_end_array(rtm_json_t *j)
{
    close_level(j, '[');
}

void rtm_json_key(rtm_json_t *j, const char *key)
{
    if (j->misused || !in_object(j) || j->after_key || key == NULL) {
        j->misused = true;
        return;
    }
    if (j->has_items[j->depth - 1u]) {
        fputc(',', j->out);
    }
    j->has_items[j->depth - 1u] = true;
    rtm_esc_json(j->out, key);
    fputc(':', j->out);
    j->after_key = true;
}

void rtm_json_str(rtm_json_t *j, const char *s)
{
    if (value_start(j)) {
        if (s != NULL) {
            rtm_esc_json(j->out, s);
        } else {
            fputs("null", j->out);
        }
    }
}

void rtm_json_u64(rtm_json_t *j, uint64_t v)
{
    if (value_start(j)) {
        fprintf(j->out, "%" PRIu64, v);
    }
}

void rtm_json_i64(rtm_json_t *j, int64_t v)
{
    if (value_start(j)) {
        fprintf(j->out, "%" PRId64, v);
    }
}

void rtm_json_double(rtm_json_t *j, double v, unsigned decimals)
{
    if (value_start(j)) {
        if (isfinite(v)) {
            fprintf(j->out, "%.*f", (int)(decimals < MAX_DECIMALS ? decimals : MAX_DECIMALS), v);
        } else {
            fputs("null", j->out);
        }
    }
}

void rtm_json_bool(rtm_json_t *j, bool v)
{
    if (value_start(j)) {
        fputs(v ? "true" : "false", j->out);
    }
}

void rtm_json_null(rtm_json_t *j)
{
    if (value_start(j)) {
        fputs("null", j->out);
    }
}

void rtm_json_hex(rtm_json_t *j, uint64_t v)
{
    if (value_start(j)) {
        fprintf(j->out, "\"0x%" PRIx64 "\"", v);
    }
}

void rtm_json_kv_str(rtm_json_t *j, const char *key, const char *s)
{
    rtm_json_key(j, key);
    rtm_json_str(j, s);
}

void rtm_json_kv_u64(rtm_json_t *j, const char *key, uint64_t v)
{
    rtm_json_key(j, key);
    rtm_json_u64(j, v);
}

void rtm_json_kv_i64(rtm_json_t *j, const char *key, int64_t v)
{
    rtm_json_key(j, key);
    rtm_json_i64(j, v);
}

void rtm_json_kv_double(rtm_json_t *j, const char *key, double v, unsigned decimals)
{
    rtm_json_key(j, key);
    rtm_json_double(j, v, decimals);
}

void rtm_json_kv_bool(rtm_json_t *j, const char *key, bool v)
{
    rtm_json_key(j, key);
    rtm_json_bool(j, v);
}

void rtm_json_kv_null(rtm_json_t *j, const char *key)
{
    rtm_json_key(j, key);
    rtm_json_null(j);
}
