/* Input parsers of `rtmem leaks` (leaks_parse.h). */
#define _POSIX_C_SOURCE 200809L
#include "leaks_parse.h"
#include "escape.h"
#include "trace_reader.h"

#include <ctype.h>
#include <stdbool.h>
#include <stdlib.h>
#include <string.h>


void lk_input_init(lk_input_t *in, const char *name)
{
    memset(in, 0, sizeof *in);
    in->name = name;
}

static void release_all(lk_input_t *in);

void lk_input_free(lk_input_t *in)
{
    release_all(in);
    free(in->rec);
    free(in->hash);
    free(in->origins);
    in->rec = NULL;
    in->hash = NULL;
    in->origins = NULL;
    in->nrec = in->caprec = in->hcap = in->hused = in->ocap = in->oused = 0;
    in->free_head = 0;
    in->live = 0;
    in->esp_open = 0;
}

const char *lk_format_name(lk_format_t f)
{
    switch (f) {
    case LK_FMT_RTMEM: return "rtmem-trace 1";
    case LK_FMT_IDF_V4: return "esp-idf heap_trace_dump (up to v5.0)";
    case LK_FMT_IDF_V51: return "esp-idf heap_trace_dump (v5.1-v5.4)";
    case LK_FMT_IDF_V55: return "esp-idf heap_trace_dump (v5.5+)";
    case LK_FMT_IDF_V5: return "esp-idf heap_trace_dump (v5.1+, v5.1-v5.4 and v5.5+ not told apart)";
    case LK_FMT_IDF_ANY: return "esp-idf heap_trace_dump (no header: generation unknown)";
    case LK_FMT_NONE: break;
    }
    return "none";
}

int lk_record_is_leak(const lk_record_t *r, uint64_t since_seq)
{
    if (!r->in_use || r->freed || r->before_checkpoint)
        return 0;
    if (since_seq > 0 && (!r->has_seq || r->seq < since_seq))
        return 0;
    return 1;
}

static int fail(lk_input_t *in, const char *what)
{
    char name[160];
    rtm_esc_copy(name, sizeof name, in->name, strlen(in->name));
    int n = snprintf(in->err, sizeof in->err, "%s:%lu: ", name, in->lineno);
    size_t at = n > 0 && (size_t)n < sizeof in->err ? (size_t)n : sizeof in->err - 1;
    rtm_esc_copy(in->err + at, sizeof in->err - at, what, strlen(what));
    snprintf(in->err_what, sizeof in->err_what, "%s", what);
    return -1;
}

static void warn(lk_input_t *in, const char *what)
{
    if (!in->quiet)
        rtm_esc_msg(stderr, "%s:%lu: warning: %s", in->name, in->lineno, what);
    in->warnings++;
}

/* The format an ESP-IDF dump gets from the generations that print all
 * its lines. */
static lk_format_t idf_format(unsigned gens)
{
    switch (gens) {
    case LK_GEN_V4: return LK_FMT_IDF_V4;
    case LK_GEN_V51: return LK_FMT_IDF_V51;
    case LK_GEN_V55: return LK_FMT_IDF_V55;
    case LK_GEN_V51 | LK_GEN_V55: return LK_FMT_IDF_V5;
    default: return LK_FMT_IDF_ANY;
    }
}

static const char *idf_gens_name(unsigned gens)
{
    switch (gens) {
    case LK_GEN_V4: return "up to v5.0";
    case LK_GEN_V51: return "v5.1-v5.4";
    case LK_GEN_V55: return "v5.5+";
    case LK_GEN_V51 | LK_GEN_V55: return "v5.1+";
    case LK_GEN_V4 | LK_GEN_V51: return "up to v5.4";
    default: return "any generation";
    }
}

/* The current line is printed only by the generations in gens. 0, or -1
 * when no generation prints both it and what the dump showed before: one
 * firmware prints a dump, so one of the two lines is damaged. */
static int idf_narrow(lk_input_t *in, unsigned gens)
{
    unsigned both = in->idf_gens & gens;
    if (both == 0)
        return -1;
    if (both != in->idf_gens) {
        in->idf_gens = both;
        in->idf_gens_line = in->lineno;
        in->format = idf_format(both);
    }
    return 0;
}

/* A summary or header line of the generations gens: its conflict with the
 * dump's earlier lines is an error naming both lines. */
static int idf_mark(lk_input_t *in, unsigned gens)
{
    if (idf_narrow(in, gens) == 0)
        return 0;
    char msg[200];
    snprintf(msg, sizeof msg,
             "this line is printed by ESP-IDF %s only, line %lu of the same dump by %s only: "
             "one of them is damaged",
             idf_gens_name(gens), in->idf_gens_line, idf_gens_name(in->idf_gens));
    return fail(in, msg);
}

/* A new dump or stream starts: forget what came before. */
static void reset_records(lk_input_t *in)
{
    release_all(in);
    in->nrec = 0;
    in->free_head = 0;
    in->live = 0;
    in->live_bytes = (rtm_sum64_t){0, 0};
    if (in->hash)
        memset(in->hash, 0, in->hcap * sizeof *in->hash);
    in->hused = 0;
    memset(&in->sum, 0, sizeof in->sum);
    in->esp_open = 0;
    in->checkpoint_seen = 0;
    in->in_esp_dump = 0;
    in->esp_header = 0;
    in->esp_summary = 0;
    in->idf_gens = LK_GEN_ANY;
    in->idf_gens_line = 0;
    in->esp_record_line = 0;
    in->esp_freed_by_line = 0;
    in->esp_records_read = 0;
    in->cut_off = 0;
    in->cut_reason[0] = '\0';
}

/* --- IDs ------------------------------------------------------------------ */

/* An ID as a record holds it (lk_record_t.id, id_form); text/len is the
 * ID as written, for LK_ID_TEXT. */
typedef struct {
    uint64_t num;
    const char *text;
    size_t len;
    uint8_t form;
} id_key_t;

/* The one form of s[0..len): a number when writing it back as decimal or
 * as hex with its prefix, case and leading zeros gives s again, else text.
 * Equal IDs get equal keys, so records compare by key. */
static id_key_t id_key(const char *s, size_t len)
{
    id_key_t k = {0, s, len, LK_ID_TEXT};
    if (len >= 1 && len <= 19 && (s[0] != '0' || len == 1)) {
        uint64_t v = 0;
        size_t i = 0;
        while (i < len && s[i] >= '0' && s[i] <= '9')
            v = v * 10u + (uint64_t)(s[i++] - '0');
        if (i == len) {
            k.num = v;
            k.form = LK_ID_DEC;
            return k;
        }
    }
    if (len < 3 || len > 2 + 16 || s[0] != '0' || (s[1] != 'x' && s[1] != 'X'))
        return k;
    unsigned lower = 0, upper = 0;
    uint64_t v = 0;
    for (size_t i = 2; i < len; i++) {
        int d = rtm_hex_digit((unsigned char)s[i]);
        if (d < 0)
            return k;
        lower |= s[i] >= 'a' && s[i] <= 'f';
        upper |= s[i] >= 'A' && s[i] <= 'F';
        v = v * 16u + (uint64_t)d;
    }
    if (lower && upper)
        return k; /* "0x3fFb": no printf width and case writes it back */
    k.num = v;
    k.form = (uint8_t)(LK_ID_HEX | (upper ? LK_ID_HEX_UPPER : 0u) |
                       (s[1] == 'X' ? LK_ID_HEX_BIG_X : 0u) | (unsigned)(len - 2));
    return k;
}

const char *lk_rec_id(const lk_record_t *r, char buf[LK_ID_MAX])
{
    if (r->id_form == LK_ID_TEXT)
        return r->id.text ? r->id.text : "";
    if (r->id_form == LK_ID_DEC) {
        snprintf(buf, LK_ID_MAX, "%llu", (unsigned long long)r->id.num);
    } else {
        int digits = (int)(r->id_form & LK_ID_DIGITS);
        snprintf(buf, LK_ID_MAX, (r->id_form & LK_ID_HEX_UPPER) ? "0%c%0*llX" : "0%c%0*llx",
                 (r->id_form & LK_ID_HEX_BIG_X) ? 'X' : 'x', digits,
                 (unsigned long long)r->id.num);
    }
    return buf;
}

static int id_set(lk_record_t *r, const id_key_t *k)
{
    r->id_form = k->form;
    if (k->form != LK_ID_TEXT) {
        r->id.num = k->num;
        return 0;
    }
    r->id.text = malloc(k->len + 1);
    if (!r->id.text)
        return -1;
    memcpy(r->id.text, k->text, k->len);
    r->id.text[k->len] = '\0';
    return 0;
}

static int id_equal(const lk_record_t *r, const id_key_t *k)
{
    if (r->id_form != k->form)
        return 0;
    if (k->form != LK_ID_TEXT)
        return r->id.num == k->num;
    return strlen(r->id.text) == k->len && memcmp(r->id.text, k->text, k->len) == 0;
}

static uint32_t fnv_bytes(uint32_t h, const void *p, size_t n)
{
    const unsigned char *b = p;
    for (size_t i = 0; i < n; i++) {
        h ^= b[i];
        h *= 16777619u;
    }
    return h;
}

/* Addresses step by 4, 8 or 16: every bit of the number goes into the low
 * bits that pick the slot. */
static size_t id_hash(uint8_t form, uint64_t num, const char *text, size_t len)
{
    if (form == LK_ID_TEXT)
        return fnv_bytes(2166136261u, text, len);
    uint64_t x = num ^ ((uint64_t)form << 56);
    x ^= x >> 33;
    x *= 0xff51afd7ed558ccdull;
    x ^= x >> 33;
    x *= 0xc4ceb9fe1a85ec53ull;
    x ^= x >> 33;
    return (size_t)x;
}

static size_t key_hash(const id_key_t *k)
{
    return id_hash(k->form, k->num, k->text, k->len);
}

static size_t rec_hash(const lk_record_t *r)
{
    return r->id_form == LK_ID_TEXT ? id_hash(r->id_form, 0, r->id.text, strlen(r->id.text))
                                    : id_hash(r->id_form, r->id.num, NULL, 0);
}

/* --- origins ------------------------------------------------------------------ */

/* An origin as the parsers fill it, before it is looked up. */
typedef struct {
    uint64_t callers[LK_MAX_CALLERS];
    unsigned ncallers;
    char site[LK_SITE_MAX];
    char region[LK_REGION_MAX];
    char task[LK_TASK_MAX];
} where_t;

static uint32_t where_hash(const where_t *w, size_t sl, size_t rl, size_t tl)
{
    uint32_t h = fnv_bytes(2166136261u, &w->ncallers, sizeof w->ncallers);
    h = fnv_bytes(h, w->callers, w->ncallers * sizeof w->callers[0]);
    h = fnv_bytes(h, w->site, sl + 1);
    h = fnv_bytes(h, w->region, rl + 1);
    return fnv_bytes(h, w->task, tl + 1);
}

static int origin_equal(const lk_origin_t *o, const where_t *w, size_t sl, size_t rl, size_t tl)
{
    if (o->ncallers != w->ncallers || o->site_len != sl || o->region_len != rl ||
        o->task_len != tl)
        return 0;
    if (memcmp(o->callers, w->callers, w->ncallers * sizeof w->callers[0]) != 0)
        return 0;
    const char *t = (const char *)(o->callers + o->ncallers);
    return memcmp(t, w->site, sl) == 0 && memcmp(t + sl + 1, w->region, rl) == 0 &&
           memcmp(t + sl + 1 + rl + 1, w->task, tl) == 0;
}

static int origins_grow(lk_input_t *in)
{
    size_t ncap = in->ocap ? in->ocap * 2 : 256;
    lk_origin_t **n = calloc(ncap, sizeof *n);
    if (!n)
        return -1;
    for (size_t i = 0; i < in->ocap; i++) {
        lk_origin_t *o = in->origins[i];
        if (!o)
            continue;
        size_t j = o->hash & (ncap - 1);
        while (n[j])
            j = (j + 1) & (ncap - 1);
        n[j] = o;
    }
    free(in->origins);
    in->origins = n;
    in->ocap = ncap;
    return 0;
}

/* The shared origin equal to w, made when it is new, with one more
 * reference; NULL in *out for an empty w. -1: out of memory. */
static int origin_get(lk_input_t *in, const where_t *w, lk_origin_t **out)
{
    size_t sl = strlen(w->site), rl = strlen(w->region), tl = strlen(w->task);
    *out = NULL;
    if (w->ncallers == 0 && sl + rl + tl == 0)
        return 0;
    if ((in->oused + 1) * 2 > in->ocap && origins_grow(in) != 0)
        return -1;
    uint32_t h = where_hash(w, sl, rl, tl);
    size_t j = h & (in->ocap - 1);
    for (lk_origin_t *o; (o = in->origins[j]) != NULL; j = (j + 1) & (in->ocap - 1)) {
        if (o->hash == h && origin_equal(o, w, sl, rl, tl)) {
            o->refs++;
            *out = o;
            return 0;
        }
    }
    size_t csize = w->ncallers * sizeof w->callers[0];
    lk_origin_t *o = malloc(sizeof *o + csize + sl + rl + tl + 3);
    if (!o)
        return -1;
    o->refs = 1;
    o->hash = h;
    o->ncallers = (uint8_t)w->ncallers;
    o->site_len = (uint8_t)sl;
    o->region_len = (uint8_t)rl;
    o->task_len = (uint8_t)tl;
    memcpy(o->callers, w->callers, csize);
    char *t = (char *)(o->callers + w->ncallers);
    memcpy(t, w->site, sl + 1);
    memcpy(t + sl + 1, w->region, rl + 1);
    memcpy(t + sl + 1 + rl + 1, w->task, tl + 1);
    in->origins[j] = o;
    in->oused++;
    *out = o;
    return 0;
}

/* One reference fewer: the last one takes o out of the table. */
static void origin_put(lk_input_t *in, lk_origin_t *o)
{
    if (!o || --o->refs > 0)
        return;
    size_t mask = in->ocap - 1;
    size_t j = o->hash & mask;
    while (in->origins[j] != o)
        j = (j + 1) & mask;
    in->origins[j] = NULL;
    in->oused--;
    /* backward-shift deletion keeps every probe chain unbroken */
    for (size_t k = (j + 1) & mask; in->origins[k]; k = (k + 1) & mask) {
        size_t home = in->origins[k]->hash & mask;
        if (((j - home) & mask) < ((k - home) & mask)) {
            in->origins[j] = in->origins[k];
            in->origins[k] = NULL;
            j = k;
        }
    }
    free(o);
}

/* --- the record pool ------------------------------------------------------ */

/* A record slot: a released one if any, else a new one at the end. */
static lk_record_t *new_record(lk_input_t *in)
{
    size_t idx;
    if (in->free_head) {
        idx = in->free_head - 1;
        in->free_head = in->rec[idx].next_free;
    } else {
        if (in->nrec == in->caprec) {
            size_t ncap = in->caprec ? in->caprec * 2 : 256;
            if (ncap > UINT32_MAX - 1u)
                ncap = UINT32_MAX - 1u;
            if (ncap <= in->caprec || ncap > SIZE_MAX / sizeof *in->rec)
                return NULL;
            lk_record_t *n = realloc(in->rec, ncap * sizeof *n);
            if (!n)
                return NULL;
            in->rec = n;
            in->caprec = ncap;
        }
        idx = in->nrec++;
    }
    lk_record_t *r = &in->rec[idx];
    memset(r, 0, sizeof *r);
    r->id_form = LK_ID_DEC; /* no text to free until the ID is set */
    r->in_use = 1;
    r->line = in->lineno;
    in->live++;
    if (in->live > in->peak_live)
        in->peak_live = in->live;
    return r;
}

static size_t record_index(const lk_input_t *in, const lk_record_t *r)
{
    return (size_t)(r - in->rec);
}

/* What r owns outside the pool: its ID's text and its origin reference. */
static void drop_parts(lk_input_t *in, lk_record_t *r)
{
    if (r->id_form == LK_ID_TEXT)
        free(r->id.text);
    r->id_form = LK_ID_DEC;
    origin_put(in, r->origin);
    r->origin = NULL;
}

/* The block of r was freed: its slot goes back to the free list. */
static void release_record(lk_input_t *in, lk_record_t *r)
{
    size_t idx = record_index(in, r);
    if (in->esp_open == idx + 1)
        in->esp_open = 0;
    drop_parts(in, r);
    r->in_use = 0;
    r->next_free = (uint32_t)in->free_head;
    in->free_head = idx + 1;
    in->live--;
    rtm_sum64_sub(&in->live_bytes, r->size);
}

/* Every record's IDs and origins go (the pool itself stays for reuse). */
static void release_all(lk_input_t *in)
{
    for (size_t i = 0; i < in->nrec; i++)
        if (in->rec[i].in_use)
            drop_parts(in, &in->rec[i]);
    if (in->origins)
        memset(in->origins, 0, in->ocap * sizeof *in->origins);
    in->oused = 0;
}

/* --- hash of live rtmem IDs (open addressing, linear probing) ---------- */

static int hash_grow(lk_input_t *in)
{
    size_t ncap = in->hcap ? in->hcap * 2 : 1024;
    uint32_t *n = calloc(ncap, sizeof *n);
    if (!n)
        return -1;
    for (size_t i = 0; i < in->hcap; i++) {
        uint32_t v = in->hash[i];
        if (!v)
            continue;
        size_t j = rec_hash(&in->rec[v - 1]) & (ncap - 1);
        while (n[j])
            j = (j + 1) & (ncap - 1);
        n[j] = v;
    }
    free(in->hash);
    in->hash = n;
    in->hcap = ncap;
    return 0;
}

/* Slot of id, or of the empty slot where it would go. */
static size_t hash_slot(const lk_input_t *in, const id_key_t *k)
{
    size_t j = key_hash(k) & (in->hcap - 1);
    while (in->hash[j] && !id_equal(&in->rec[in->hash[j] - 1], k))
        j = (j + 1) & (in->hcap - 1);
    return j;
}

static lk_record_t *hash_find(const lk_input_t *in, const id_key_t *k)
{
    if (!in->hcap)
        return NULL;
    size_t j = hash_slot(in, k);
    return in->hash[j] ? &in->rec[in->hash[j] - 1] : NULL;
}

static void hash_remove(lk_input_t *in, const id_key_t *key)
{
    if (!in->hcap)
        return;
    size_t j = hash_slot(in, key);
    if (!in->hash[j])
        return;
    in->hash[j] = 0;
    in->hused--;
    /* backward-shift deletion keeps every probe chain unbroken */
    size_t k = (j + 1) & (in->hcap - 1);
    while (in->hash[k]) {
        uint32_t v = in->hash[k];
        size_t home = rec_hash(&in->rec[v - 1]) & (in->hcap - 1);
        size_t dist_k = (k - home) & (in->hcap - 1);
        size_t dist_j = (j - home) & (in->hcap - 1);
        if (dist_j < dist_k) {
            in->hash[j] = v;
            in->hash[k] = 0;
            j = k;
        }
        k = (k + 1) & (in->hcap - 1);
    }
}

static int hash_put(lk_input_t *in, size_t index, const id_key_t *key)
{
    if ((in->hused + 1) * 2 > in->hcap && hash_grow(in) != 0)
        return -1;
    size_t j = hash_slot(in, key);
    if (!in->hash[j])
        in->hused++;
    in->hash[j] = (uint32_t)(index + 1);
    return 0;
}

/* --- small scanners ------------------------------------------------------ */

static const char *skip_sp(const char *p)
{
    while (*p == ' ' || *p == '\t')
        p++;
    return p;
}

/* Decimal digits at *pp. A value over 64 bits sets in->number_overflow
 * (the line is then refused) and gives UINT64_MAX. */
static int parse_u64(lk_input_t *in, const char **pp, uint64_t *out)
{
    uint64_t v = 0;
    bool over = false;
    size_t digits = rtm_parse_u64(*pp, SIZE_MAX, &v, &over);
    if (digits == 0)
        return -1;
    if (over)
        in->number_overflow = 1;
    *pp += digits;
    *out = v;
    return 0;
}

/* "0x" followed by hex digits; wider than 64 bits sets in->number_overflow. */
static int parse_hex(lk_input_t *in, const char **pp, uint64_t *out)
{
    const char *p = *pp;
    if (p[0] != '0' || (p[1] != 'x' && p[1] != 'X'))
        return -1;
    uint64_t v = 0;
    bool over = false;
    size_t digits = rtm_parse_hex_u64(p + 2, SIZE_MAX, &v, &over);
    if (digits == 0)
        return -1;
    if (over)
        in->number_overflow = 1;
    *pp = p + 2 + digits;
    *out = v;
    return 0;
}

/* "0xA:0xB:..." into w->callers; ESP-IDF writes "(nil)"/"0x0" for an empty slot. */
static void parse_callers(lk_input_t *in, const char **pp, where_t *w)
{
    const char *p = *pp;
    for (;;) {
        uint64_t a;
        if (parse_hex(in, &p, &a) == 0) {
            if (a != 0 && w->ncallers < LK_MAX_CALLERS)
                w->callers[w->ncallers++] = a;
        } else if (strncmp(p, "(nil)", 5) == 0) {
            p += 5;
        } else {
            break;
        }
        if (*p != ':')
            break;
        p++;
    }
    *pp = p;
}

/* Copy a value, decoding %XX. */
static void copy_unescaped(char *dst, size_t cap, const char *src, size_t len)
{
    size_t o = 0;
    for (size_t i = 0; i < len && o + 1 < cap; i++) {
        if (src[i] == '%' && i + 2 < len + 0 && rtm_hex_digit((unsigned char)src[i + 1]) >= 0 &&
            rtm_hex_digit((unsigned char)src[i + 2]) >= 0) {
            dst[o++] = (char)(rtm_hex_digit((unsigned char)src[i + 1]) * 16 + rtm_hex_digit((unsigned char)src[i + 2]));
            i += 2;
        } else {
            dst[o++] = src[i];
        }
    }
    dst[o] = '\0';
}

/* Value of key= in a "# ..." summary comment. */
static int comment_u64(lk_input_t *in, const char *s, const char *key, uint64_t *out)
{
    size_t kl = strlen(key);
    const char *p = s;
    while ((p = strstr(p, key)) != NULL) {
        if ((p == s || p[-1] == ' ') && p[kl] == '=') {
            const char *v = p + kl + 1;
            return parse_u64(in, &v, out);
        }
        p += kl;
    }
    return -1;
}

/* Hex value ("0x...") of key= in a comment. */
static int comment_u64hex(lk_input_t *in, const char *s, const char *key, uint64_t *out)
{
    size_t kl = strlen(key);
    const char *p = s;
    while ((p = strstr(p, key)) != NULL) {
        if ((p == s || p[-1] == ' ') && p[kl] == '=') {
            const char *v = p + kl + 1;
            return parse_hex(in, &v, out);
        }
        p += kl;
    }
    return -1;
}

/* --- rtmem-trace lines ----------------------------------------------------- */

/* Next space-separated token: [*start, *end). */
static int next_token(const char **pp, const char **start, size_t *len)
{
    const char *p = *pp;
    if (*p == '\0')
        return -1;
    const char *s = p;
    while (*p && *p != ' ')
        p++;
    *start = s;
    *len = (size_t)(p - s);
    if (*p == ' ')
        p++;
    *pp = p;
    return *len ? 0 : -1;
}

/* The fields leaks keeps. The line has passed replay's reader
 * (rtm_trace_parse_line), which decoded t= and seq= into ev and checked
 * caller=, so every token here is key=value and no number overflows. */
static void rtmem_fields(lk_input_t *in, where_t *w, const char *p)
{
    const char *s;
    size_t len;
    while (next_token(&p, &s, &len) == 0) {
        const char *eq = memchr(s, '=', len);
        if (!eq || eq == s)
            continue;
        size_t kl = (size_t)(eq - s);
        const char *v = eq + 1;
        size_t vl = len - kl - 1;
        if (kl == 4 && memcmp(s, "task", 4) == 0) {
            copy_unescaped(w->task, sizeof w->task, v, vl);
        } else if (kl == 4 && memcmp(s, "heap", 4) == 0) {
            copy_unescaped(w->region, sizeof w->region, v, vl);
        } else if (kl == 4 && memcmp(s, "site", 4) == 0) {
            copy_unescaped(w->site, sizeof w->site, v, vl);
        } else if (kl == 6 && memcmp(s, "caller", 6) == 0) {
            /* Read in place, to its end: the reader has checked that the
             * value is 0x addresses joined by ':' (leading zeros allowed,
             * so of any length), and the space or NUL after it ends the
             * last one. A copy cut at a fixed length lost an address. */
            const char *q = v;
            parse_callers(in, &q, w);
        }
    }
}

/* An event that does not follow the live IDs, in replay's words: counted,
 * the first one kept for the warning at the end (lk_parse_finish). */
static void note_id_mismatch(lk_input_t *in, const char *why)
{
    if (in->id_mismatches++ == 0) {
        in->id_mismatch_line = in->lineno;
        snprintf(in->id_mismatch_first, sizeof in->id_mismatch_first, "%s", why);
    }
}

/* An a/A/r/f line [line, line + len) after a "# rtmem-trace 1" header:
 * accepted and refused exactly as replay's reader does, with its words.
 * Its rule on IDs is not a reason to stop: the stream writes every free,
 * so a trace started after boot frees blocks it never saw allocated, and
 * one stopped for a while sees an address handed out again. Such events
 * are counted and warned about; a free or realloc of an unknown ID ends
 * nothing, an allocation under a live ID replaces the block whose free
 * was not seen. A cut last line is the caller's to skip
 * (lk_parse_reader_line). */
static int rtmem_event(lk_input_t *in, const char *line, size_t len)
{
    rtm_trace_event_t ev;
    char why[RTM_LINE_ERR_MAX];
    if (rtm_trace_parse_line(line, len, &ev, why, sizeof why) != 1)
        return fail(in, why);
    int damaged = len >= 3 && memcmp(line + len - 3, "...", 3) == 0;

    id_key_t key = id_key(ev.id, strlen(ev.id));
    lk_record_t *old = hash_find(in, &key);
    id_key_t newkey = id_key(ev.newid, ev.kind == RTM_TRACE_REALLOC ? strlen(ev.newid) : 0);
    int newid_live = ev.kind == RTM_TRACE_REALLOC && hash_find(in, &newkey) != NULL;
    if (rtm_trace_check_ids(&ev, old != NULL, newid_live, false, why, sizeof why) !=
        RTM_TRACE_IDS_OK)
        note_id_mismatch(in, why);
    if (ev.kind == RTM_TRACE_FREE || ev.kind == RTM_TRACE_REALLOC) {
        if (old) {
            hash_remove(in, &key);
            release_record(in, old);
        }
        if (ev.kind == RTM_TRACE_FREE)
            return 0;
        key = newkey;
        old = hash_find(in, &key);
    }
    if (old) {
        hash_remove(in, &key);
        release_record(in, old);
    }
    where_t w;
    w.ncallers = 0;
    w.site[0] = w.region[0] = w.task[0] = '\0';
    if (!damaged)
        rtmem_fields(in, &w, line);
    lk_record_t *r = new_record(in);
    if (!r)
        return fail(in, "out of memory");
    r->size = ev.size;
    rtm_sum64_add(&in->live_bytes, ev.size);
    if (!damaged) {
        r->has_time = ev.has_time != 0;
        r->time = ev.time;
        r->has_seq = ev.has_seq != 0;
        r->seq = ev.seq;
    }
    if (id_set(r, &key) != 0 || origin_get(in, &w, &r->origin) != 0 ||
        hash_put(in, record_index(in, r), &key) != 0) {
        /* not left half made (no ID, no origin) for a caller that reads on */
        release_record(in, r);
        return fail(in, "out of memory");
    }
    return 0;
}

static int rtmem_comment(lk_input_t *in, const char *c)
{
    /* c points after "#" and spaces */
    uint64_t v, w;
    if (strncmp(c, "rtmem-trace overflow", 20) == 0) {
        in->sum.have_overflow = 1;
        in->sum.overflowed = 1;
        return 0;
    }
    if (strncmp(c, "rtmem-trace ", 12) == 0) {
        const char *p = c + 12;
        if (parse_u64(in, &p, &v) != 0)
            return 0; /* "# rtmem-trace notes": a comment, as for replay */
        if (in->number_overflow)
            return 0;
        if (v != 1) {
            char msg[96];
            snprintf(msg, sizeof msg, "unsupported trace format version %llu (this tool reads 1)",
                     (unsigned long long)v);
            return fail(in, msg);
        }
        reset_records(in);
        in->format = LK_FMT_RTMEM;
        return 0;
    }
    if (in->format != LK_FMT_RTMEM)
        return 0;
    if (strncmp(c, "rtmem-record ", 13) == 0) {
        uint64_t lo, hi;
        if (comment_u64hex(in, c, "exe_base", &v) == 0 && comment_u64hex(in, c, "exe_lo", &lo) == 0 &&
            comment_u64hex(in, c, "exe_hi", &hi) == 0) {
            in->have_exe = 1;
            in->exe_base = v;
            in->exe_lo = lo;
            in->exe_hi = hi;
        }
        return 0;
    }
    if (strncmp(c, "checkpoint", 10) == 0 && (c[10] == '\0' || c[10] == ' ')) {
        for (size_t i = 0; i < in->nrec; i++)
            if (in->rec[i].in_use)
                in->rec[i].before_checkpoint = 1;
        in->checkpoint_seen = 1;
        return 0;
    }
    if (strncmp(c, "summary ", 8) == 0) {
        if (comment_u64(in, c, "records", &v) == 0 && comment_u64(in, c, "capacity", &w) == 0) {
            in->sum.have_records = 1;
            in->sum.records = v;
            in->sum.capacity = w;
        }
        if (comment_u64(in, c, "live", &v) == 0)
            in->sum.leaked_allocs = v;
        if (comment_u64(in, c, "overflow", &v) == 0) {
            in->sum.have_overflow = 1;
            in->sum.overflowed = v != 0;
        }
    } else if (strncmp(c, "totals ", 7) == 0) {
        if (comment_u64(in, c, "allocs", &v) == 0 && comment_u64(in, c, "frees", &w) == 0) {
            in->sum.have_total = 1;
            in->sum.total_allocs = v;
            in->sum.total_frees = w;
        }
    } else if (strncmp(c, "bytes ", 6) == 0) {
        if (comment_u64(in, c, "live_bytes", &v) == 0) {
            in->sum.have_leaked = 1;
            in->sum.leaked_bytes = v;
        }
    }
    return 0;
}

/* --- ESP-IDF heap_trace_dump lines ------------------------------------------- */

/* Whether line ends in text: ESP-IDF lines are found behind any prefix,
 * but nothing of theirs follows their last word. */
static int line_ends_with(const char *line, const char *text)
{
    size_t n = strlen(line), t = strlen(text);
    return n >= t && memcmp(line + n - t, text, t) == 0;
}

/* Decimal digits at p that end the line. */
static int u64_ends_line(lk_input_t *in, const char *p, uint64_t *out)
{
    return parse_u64(in, &p, out) == 0 && *p == '\0' ? 0 : -1;
}

/* The start of the decimal digits that end right before pos (after
 * optional spaces); pos's own place, past the spaces, when there are none. */
static const char *digits_before(const char *line, const char *pos, const char **end)
{
    const char *e = pos;
    while (e > line && e[-1] == ' ')
        e--;
    const char *b = e;
    while (b > line && isdigit((unsigned char)b[-1]))
        b--;
    *end = e;
    return b;
}

/* The number that ends right before pos (after optional spaces), or -1. */
static int number_before(lk_input_t *in, const char *line, const char *pos, uint64_t *out)
{
    const char *e;
    const char *b = digits_before(line, pos, &e);
    if (b == e)
        return -1;
    return parse_u64(in, &b, out);
}

/* The current ESP-IDF dump is found incomplete (first reason kept). */
static void mark_cut_off(lk_input_t *in, const char *why)
{
    if (!in->cut_off) {
        in->cut_off = 1;
        snprintf(in->cut_reason, sizeof in->cut_reason, "%s", why);
    }
}

/* A dump starts: at its header (header = 1), or, in a paste without the
 * header, at its first record or summary line. */
static void esp_start_dump(lk_input_t *in, int header)
{
    reset_records(in);
    in->in_esp_dump = 1;
    in->esp_header = header;
    in->format = LK_FMT_IDF_ANY;
}

/* Text a panic or a reset prints into a dump it interrupts. */
static const char *panic_marker(const char *s)
{
    static const char *const markers[] = {"Guru Meditation Error", "abort() was called",
                                          "Backtrace:", "Rebooting...", "rst:0x", NULL};
    for (size_t i = 0; markers[i]; i++) {
        const char *m = strstr(s, markers[i]);
        if (m)
            return m;
    }
    return NULL;
}

/*
 * A record line, as heap_trace_dump prints it (heap_trace_standalone.c):
 *   up to v5.0:  "%d bytes (@ %p) allocated CPU %d ccount 0x%08x caller " CHAIN
 *   v5.1-v5.4:   "%6d bytes (@ %p%s) allocated CPU %d ccount 0x%08x caller " CHAIN
 *   v5.5+:       "%6d bytes (@ %p%s) allocated CPU %d ccount 0x%08x"
 *                [" caller " CHAIN, only when CHAIN is not empty][" freed"]
 * CHAIN is "%p" joined by ':' (with a ':' after the last one when the
 * chain is shorter than the configured depth, empty at depth 0); %s is ""
 * or ", Internal" or ",    PSRAM"; CPU is ccount & 1. "freed by" comes on
 * the next line. Anything else, and a shape the dump's generation does not
 * print, is damage.
 */
typedef struct {
    uint64_t size;
    const char *id;          /* the address as written */
    size_t id_len;
    unsigned cpu;
    uint64_t ccount;
    where_t where;           /* callers and region; the task is the CPU */
    unsigned gens;           /* the generations that print this shape */
    int freed;               /* ends in " freed" (v5.5+) */
} esp_fields_t;

/* Exactly n hex digits at *pp (a %08x value). */
static int parse_hex_exact(const char **pp, size_t n, uint64_t *out)
{
    uint64_t v = 0;
    for (size_t i = 0; i < n; i++) {
        int d = rtm_hex_digit((unsigned char)(*pp)[i]);
        if (d < 0)
            return -1;
        v = v * 16u + (uint64_t)d;
    }
    if (rtm_hex_digit((unsigned char)(*pp)[n]) >= 0)
        return -1;
    *pp += n;
    *out = v;
    return 0;
}

static int skip_word(const char **pp, const char *word)
{
    size_t n = strlen(word);
    if (strncmp(*pp, word, n) != 0)
        return -1;
    *pp += n;
    return 0;
}

/* The size before " bytes": decimal digits that are a whole number, not the
 * tail of "-84", "+84", "0x54" or "1.5". */
static int esp_size(lk_input_t *in, const char *line, const char *at, uint64_t *size)
{
    const char *e;
    const char *b = digits_before(line, at, &e);
    if (b == e)
        return -1;
    if (b > line && (isalnum((unsigned char)b[-1]) || strchr("+-.,_", b[-1]) != NULL))
        return -1;
    return parse_u64(in, &b, size);
}

/* The caller part after "ccount 0x%08x": sets f->gens, f->freed and the
 * callers; *what says what is wrong on failure. */
static int esp_tail(lk_input_t *in, const char *p, esp_fields_t *f, const char **what)
{
    *what = "heap trace record: other text after its ccount";
    if (*p == '\0') {
        f->gens = LK_GEN_V55;
        return 0;
    }
    if (strcmp(p, " freed") == 0) {
        f->gens = LK_GEN_V55;
        f->freed = 1;
        return 0;
    }
    if (skip_word(&p, " caller") != 0)
        return -1;
    if (*p == '\0') {
        f->gens = LK_GEN_V4 | LK_GEN_V51; /* "caller " with an empty chain */
        return 0;
    }
    *what = "heap trace record: no address after 'caller'";
    if (strncmp(p, " 0x", 3) != 0 && strncmp(p, " 0X", 3) != 0)
        return -1;
    p++;
    parse_callers(in, &p, &f->where);
    f->gens = LK_GEN_ANY;
    if (*p == '\0')
        return 0;
    if (strcmp(p, " freed") == 0) {
        f->gens = LK_GEN_V55;
        f->freed = 1;
        return 0;
    }
    *what = "heap trace record: other text after its caller chain";
    return -1;
}

/* The fields of a record line; at points to its " bytes (@ ". 0, 1 when a
 * panic message runs into the line, -1 with *what on damage. */
static int esp_fields(lk_input_t *in, const char *line, const char *at, esp_fields_t *f,
                      const char **what)
{
    uint64_t addr;
    memset(f, 0, sizeof *f);
    *what = "heap trace record: the size before 'bytes' is not a decimal number";
    if (esp_size(in, line, at, &f->size) != 0)
        return -1;
    const char *p = at + 10; /* after " bytes (@ " */
    f->id = p;
    *what = "heap trace record without an address";
    if (parse_hex(in, &p, &addr) != 0)
        return -1;
    f->id_len = (size_t)(p - f->id);
    unsigned label_gens = LK_GEN_ANY;
    if (*p == ',') {
        const char *l = skip_sp(p + 1);
        *what = "heap trace record: a region other than Internal or PSRAM";
        if (skip_word(&l, "Internal") == 0)
            snprintf(f->where.region, sizeof f->where.region, "Internal");
        else if (skip_word(&l, "PSRAM") == 0)
            snprintf(f->where.region, sizeof f->where.region, "PSRAM");
        else
            return -1;
        p = l;
        label_gens = LK_GEN_V51 | LK_GEN_V55;
    }
    *what = "heap trace record: no ') allocated' after the address";
    if (skip_word(&p, ") allocated") != 0)
        return -1;
    if (panic_marker(p))
        return 1;
    *what = "heap trace record: no 'CPU 0' or 'CPU 1' after 'allocated'";
    if (skip_word(&p, " CPU ") != 0 || (*p != '0' && *p != '1') || isdigit((unsigned char)p[1]))
        return -1;
    f->cpu = (unsigned)(*p++ - '0');
    *what = "heap trace record: no 'ccount 0x' and 8 hex digits after the CPU";
    if (skip_word(&p, " ccount 0x") != 0 || parse_hex_exact(&p, 8, &f->ccount) != 0)
        return -1;
    if (esp_tail(in, p, f, what) != 0)
        return -1;
    f->gens &= label_gens;
    return 0;
}

/* The record of f becomes a live block (a freed one is only counted). */
static int esp_keep(lk_input_t *in, const esp_fields_t *f)
{
    in->esp_records_read++;
    in->esp_record_line = in->lineno;
    if (f->freed) {
        in->esp_open = 0; /* a "freed by" line after it is not about an older block */
        return 0;
    }
    lk_record_t *rec = new_record(in);
    if (!rec)
        return fail(in, "out of memory");
    rec->size = f->size;
    rtm_sum64_add(&in->live_bytes, f->size);
    rec->time = f->ccount;
    rec->has_time = 1;
    where_t w = f->where;
    snprintf(w.task, sizeof w.task, "%u", f->cpu);
    /* an address written with many leading zeros is cut, as the ID always was */
    id_key_t key = id_key(f->id, f->id_len < LK_ID_MAX ? f->id_len : LK_ID_MAX - 1);
    if (id_set(rec, &key) != 0 || origin_get(in, &w, &rec->origin) != 0) {
        release_record(in, rec);
        return fail(in, "out of memory");
    }
    in->esp_open = record_index(in, rec) + 1;
    return 0;
}

/* A record line (at: its " bytes (@ "). A damaged one is not counted: on
 * the input's unterminated last line, or run into by a panic message, the
 * dump is cut off; anywhere else it is an error. */
static int esp_record(lk_input_t *in, const char *line, const char *at, int last_unterminated)
{
    esp_fields_t f;
    const char *what = NULL;
    char msg[240];
    int rc = esp_fields(in, line, at, &f, &what);
    if (in->number_overflow)
        return 0; /* refused by lk_parse_line */
    if (rc == 0 && idf_narrow(in, f.gens) != 0) {
        snprintf(msg, sizeof msg,
                 "heap trace record of a shape only ESP-IDF %s prints, in a dump that line %lu "
                 "shows is %s (the record is cut short?)",
                 idf_gens_name(f.gens), in->idf_gens_line, idf_gens_name(in->idf_gens));
        what = msg;
        rc = -1;
    }
    if (rc == 0)
        return esp_keep(in, &f);
    /* a "freed by" line after a record not kept is not about an older one */
    in->esp_open = 0;
    if (rc == 1 || panic_marker(line)) {
        in->esp_records_read++;
        warn(in, "heap trace record cut off by a panic message: not counted");
        mark_cut_off(in, "a panic message interrupts the dump");
        return 0;
    }
    if (last_unterminated) {
        in->esp_records_read++;
        warn(in, "truncated heap trace record ignored");
        mark_cut_off(in, "the input ends inside a record");
        return 0;
    }
    return fail(in, what);
}

/* Where the text of a line that continues another starts: after blanks
 * and a "[timestamp] " that the capture tool put in front of it. */
static const char *continuation_text(const char *line)
{
    const char *p = skip_sp(line);
    if (*p == '[') {
        const char *e = strchr(p, ']');
        if (e)
            p = skip_sp(e + 1);
    }
    return p;
}

/* Address digits and ':' only: the rest of a caller chain. */
static size_t chain_rest_len(const char *p)
{
    return strspn(p, "0123456789abcdefABCDEFxX:");
}

/* A line that can only be the rest of a record line broken in two (a
 * paste wrapped at the terminal's width): "caller ...", "freed", or
 * address digits and ':' (possibly followed by " freed"). */
static int record_continuation(const char *line)
{
    const char *p = continuation_text(line);
    if (strncmp(p, "caller", 6) == 0 && (p[6] == '\0' || p[6] == ' '))
        return 1;
    if (strcmp(p, "freed") == 0)
        return 1;
    size_t n = chain_rest_len(p);
    return n > 0 && (p[n] == '\0' || strcmp(p + n, " freed") == 0);
}

/* The rest of a "freed by" line broken inside its chain. */
static int freed_by_continuation(const char *line)
{
    const char *p = continuation_text(line);
    size_t n = chain_rest_len(p);
    return n > 0 && p[n] == '\0';
}

/* "freed by" where a word starts, or NULL: "unfreed by" is not it. */
static const char *freed_by_at(const char *line)
{
    for (const char *p = line; (p = strstr(p, "freed by")) != NULL; p++)
        if (p == line || !isalnum((unsigned char)p[-1]))
            return p;
    return NULL;
}

/* A caller chain starts at p: "0x" or "(nil)", as parse_callers reads. */
static int chain_starts(const char *p)
{
    return (p[0] == '0' && (p[1] == 'x' || p[1] == 'X')) || strncmp(p, "(nil)", 5) == 0;
}

/*
 * at: "freed by" in a line after the dump's last record, only log lines
 * (such as idf.py monitor's address decoding) between them. ESP-IDF prints
 * "freed by " and the chain of the free's callers there when the block was
 * freed (all mode); that whole shape, behind any prefix, frees the record.
 * 1: no such line, the words of a log line ("buffer freed by the driver"),
 * which are skipped like the rest of it. A "freed by" that starts a chain
 * but is not whole is damage: an error, or on the input's unterminated
 * last line a cut-off dump whose record still counts as freed, since
 * ESP-IDF prints "freed by" for freed blocks only.
 */
static int esp_freed_by(lk_input_t *in, const char *at, int last_unterminated)
{
    const char *p = at + 8;
    if (*p != '\0' && !(*p == ' ' && chain_starts(p + 1)))
        return 1;
    const char *what = "heap trace 'freed by' line: no caller chain (lines wrapped?)";
    if (*p == ' ') {
        p++;
        where_t chain;
        chain.ncallers = 0;
        parse_callers(in, &p, &chain);
        if (in->number_overflow)
            return 0; /* refused by lk_parse_line */
        what = *p == '\0' ? NULL
                           : "heap trace 'freed by' line: other text in or after its caller chain";
    }
    if (what != NULL && !last_unterminated)
        return fail(in, what);
    release_record(in, &in->rec[in->esp_open - 1]);
    in->esp_freed_by_line = in->lineno;
    if (what != NULL) {
        warn(in, "truncated 'freed by' line: its block counts as freed");
        mark_cut_off(in, "the input ends inside a 'freed by' line");
    }
    return 0;
}

/* The line right after a record that continues it: the record was read
 * from its first part only, so it is taken back, and the paste refused. */
static int esp_wrapped(lk_input_t *in)
{
    unsigned long rec_line = in->esp_record_line;
    if (in->esp_open && in->rec[in->esp_open - 1].line == rec_line)
        release_record(in, &in->rec[in->esp_open - 1]);
    in->esp_records_read--;
    char msg[200];
    snprintf(msg, sizeof msg,
             "this line continues the heap trace record of line %lu (lines wrapped at the "
             "terminal's width?): join them and run again",
             rec_line);
    return fail(in, msg);
}

/* The overflow notes of the summary, after their "(NB:". */
static const struct {
    const char *rest;
    unsigned gens;
} esp_overflow_notes[] = {
    {" Buffer has overflowed, so trace data is incomplete.)", LK_GEN_V4},
    {" Internal Buffer has overflowed, so trace data is incomplete.)", LK_GEN_V51 | LK_GEN_V55},
};

/*
 * rest: what follows "(NB:" in a dump line. An overflow note read whole
 * marks the dump overflowed. One that stops early is broken in two (a
 * paste wrapped at the terminal's width: the note is longer than the
 * other summary lines), and its rest on the next line would be skipped as
 * a log line, losing the overflow: refused as the other wrapped lines are,
 * or on the input's unterminated last line the dump is cut off. 1: no
 * overflow note (another note, or a log line), skipped as a log line.
 */
static int esp_note(lk_input_t *in, const char *rest, int last_unterminated)
{
    size_t n = strlen(rest);
    for (size_t i = 0; i < sizeof esp_overflow_notes / sizeof esp_overflow_notes[0]; i++) {
        const char *note = esp_overflow_notes[i].rest;
        if (strcmp(rest, note) == 0) {
            in->sum.have_overflow = 1;
            in->sum.overflowed = 1;
            return idf_mark(in, esp_overflow_notes[i].gens);
        }
        if (n < strlen(note) && memcmp(rest, note, n) == 0) {
            if (!last_unterminated)
                return fail(in, "heap trace note cut short (lines wrapped at the terminal's "
                                "width?): join it with the next line and run again");
            warn(in, "truncated heap trace note ignored");
            mark_cut_off(in, "the input ends inside a note");
            return 0;
        }
    }
    return 1;
}

/* A summary line: "... in trace (" counts; 0 = handled, 1 = not one. */
static int esp_summary_line(lk_input_t *in, const char *line)
{
    const char *p;
    uint64_t a, b;
    if ((p = strstr(line, " bytes 'leaked' in trace (")) != NULL) {
        const char *q = p + 26;
        if (number_before(in, line, p, &a) == 0 && parse_u64(in, &q, &b) == 0) {
            in->sum.have_leaked = 1;
            in->sum.leaked_bytes = a;
            in->sum.leaked_allocs = b;
            in->esp_summary = 1;
            return 0;
        }
    }
    if ((p = strstr(line, " bytes alive in trace (")) != NULL) {
        const char *q = p + 23;
        if (number_before(in, line, p, &a) == 0 && parse_u64(in, &q, &b) == 0) {
            in->sum.have_leaked = 1;
            in->sum.leaked_bytes = a;
            in->sum.leaked_allocs = b;
            in->esp_summary = 1;
            return 0;
        }
    }
    return 1;
}

static int esp_line(lk_input_t *in, const char *line, int last_unterminated, int *handled)
{
    const char *p;
    uint64_t a, b, c;
    *handled = 1;

    /* headers: "%u allocations trace (%u entry buffer)" (up to v5.0),
     * "====== Heap Trace: %u records (%u capacity) ======" (v5.1+). A line
     * that merely mentions them is a log line. */
    if ((p = strstr(line, " allocations trace (")) != NULL) {
        const char *q = p + 20;
        if (number_before(in, line, p, &a) == 0 && parse_u64(in, &q, &b) == 0 &&
            strcmp(q, " entry buffer)") == 0) {
            esp_start_dump(in, 1);
            in->sum.have_records = 1;
            in->sum.records = a;
            in->sum.capacity = b;
            return idf_mark(in, LK_GEN_V4);
        }
    }
    if ((p = strstr(line, "====== Heap Trace: ")) != NULL) {
        const char *q = p + 19;
        if (parse_u64(in, &q, &a) == 0 && strncmp(q, " records (", 10) == 0) {
            q += 10;
            if (parse_u64(in, &q, &b) == 0 && strcmp(q, " capacity) ======") == 0) {
                esp_start_dump(in, 1);
                in->sum.have_records = 1;
                in->sum.records = a;
                in->sum.capacity = b;
                return idf_mark(in, LK_GEN_V51 | LK_GEN_V55);
            }
        }
    }
    if (in->in_esp_dump && in->esp_record_line != 0 && in->esp_record_line + 1 == in->lineno &&
        record_continuation(line))
        return esp_wrapped(in);
    if (in->in_esp_dump && in->esp_freed_by_line != 0 && in->esp_freed_by_line + 1 == in->lineno &&
        freed_by_continuation(line)) {
        char msg[200];
        snprintf(msg, sizeof msg,
                 "this line continues the 'freed by' line of line %lu (lines wrapped at the "
                 "terminal's width?): join them and run again",
                 in->esp_freed_by_line);
        return fail(in, msg);
    }
    /* a record or summary without the header: the header was trimmed. No
     * generation prints a record after the summary: such a record starts
     * the next dump (up to v5.0 has no closing "=====" line). */
    const char *r = strstr(line, " bytes (@ 0x");
    int record_like = r && number_before(in, line, r, &a) == 0;
    if (!in->in_esp_dump || (record_like && in->esp_summary)) {
        if (record_like) {
            esp_start_dump(in, 0);
        } else if (line_ends_with(line, "====== Heap Trace Summary ======") ||
                   strstr(line, " bytes 'leaked' in trace (") != NULL ||
                   strstr(line, " bytes alive in trace (") != NULL) {
            esp_start_dump(in, 0);
        } else {
            *handled = 0;
            return 0;
        }
    }
    if (in->esp_summary == 0 && (p = panic_marker(line)) != NULL && strstr(line, " bytes (@ ") == NULL) {
        warn(in, "panic or reset inside the heap trace dump");
        mark_cut_off(in, "a panic message interrupts the dump");
        in->in_esp_dump = 0;
        return 0;
    }
    if ((p = strstr(line, " bytes (@ ")) != NULL)
        return esp_record(in, line, p, last_unterminated);
    /* No generation prints "freed by" after the summary or after a record
     * already freed. */
    if (in->esp_open != 0 && !in->esp_summary && (p = freed_by_at(line)) != NULL) {
        int rc = esp_freed_by(in, p, last_unterminated);
        if (rc != 1)
            return rc;
    }
    if (esp_summary_line(in, line) == 0)
        return 0;
    if ((p = strstr(line, "records: ")) != NULL) {
        const char *q = p + 9;
        if (parse_u64(in, &q, &a) == 0 && strncmp(q, " (", 2) == 0) {
            q += 2;
            if (parse_u64(in, &q, &b) == 0) {
                if (!in->esp_header) {
                    in->sum.have_records = 1;
                    in->sum.records = a;
                    in->sum.capacity = b;
                }
                in->esp_summary = 1;
                return idf_mark(in, LK_GEN_V51 | LK_GEN_V55);
            }
        }
        return 0;
    }
    /* up to v5.0: "total allocations %u total frees %u"; v5.1+: "total
     * allocations: %u" and "total frees: %u", each a line of its own. No
     * generation prints them in another form (capitalised, without the
     * colon, or a "Has overflowed:" line), so such a line is a log line. */
    if ((p = strstr(line, "total allocations")) != NULL) {
        const char *q = p + 17;
        if (strncmp(q, ": ", 2) == 0 && u64_ends_line(in, q + 2, &a) == 0) {
            in->sum.total_allocs = a;
            in->esp_summary = 1;
            return idf_mark(in, LK_GEN_V51 | LK_GEN_V55);
        }
        if (*q == ' ') {
            q++;
            if (parse_u64(in, &q, &a) == 0 && strncmp(q, " total frees ", 13) == 0 &&
                u64_ends_line(in, q + 13, &c) == 0) {
                in->sum.total_allocs = a;
                in->sum.total_frees = c;
                in->sum.have_total = 1;
                in->esp_summary = 1;
                return idf_mark(in, LK_GEN_V4);
            }
        }
        *handled = 0;
        return 0;
    }
    if ((p = strstr(line, "total frees: ")) != NULL && u64_ends_line(in, p + 13, &a) == 0) {
        in->sum.total_frees = a;
        in->sum.have_total = 1;
        in->esp_summary = 1;
        return idf_mark(in, LK_GEN_V51 | LK_GEN_V55);
    }
    if ((p = strstr(line, "(NB:")) != NULL) {
        int rc = esp_note(in, p + 4, last_unterminated);
        if (rc != 1)
            return rc;
    }
    if (line_ends_with(line, "====== Heap Trace Summary ======") ||
        line_ends_with(line, "Mode: Heap Trace All") ||
        line_ends_with(line, "Mode: Heap Trace Leaks")) {
        in->esp_summary = 1;
        return idf_mark(in, LK_GEN_V51 | LK_GEN_V55);
    }
    if (strncmp(skip_sp(line), "================================", 32) == 0) {
        in->in_esp_dump = 0;  /* end of the summary block */
        return 0;
    }
    *handled = 0;
    return 0;
}

/* --- one line ------------------------------------------------------------------ */

/* Copy without ANSI escape sequences and CR/LF; trailing spaces and tabs
 * dropped: the NUL overwrites the first of them (kept in *cut_byte) and the
 * rest stay in dst up to dst[*full_len], for the rtmem reader, which
 * refuses them. */
static void clean_line(char *dst, size_t cap, const char *src, size_t *full_len, char *cut_byte)
{
    size_t o = 0;
    for (const char *p = src; *p && o + 1 < cap; p++) {
        if (*p == '\x1b') {
            if (p[1] == '[') {
                p += 2;
                while (*p && !(*p >= 0x40 && *p <= 0x7e))
                    p++;
                if (!*p)
                    break;
            }
            continue;
        }
        if (*p == '\r' || *p == '\n')
            continue;
        dst[o++] = *p;
    }
    dst[o] = '\0';
    *full_len = o;
    while (o > 0 && (dst[o - 1] == ' ' || dst[o - 1] == '\t'))
        o--;
    *cut_byte = dst[o];
    dst[o] = '\0';
}

static int parse_cleaned(lk_input_t *in, const char *buf, size_t full_len, char cut_byte,
                         int last_unterminated)
{
    int handled = 0;
    if (esp_line(in, buf, last_unterminated, &handled) != 0)
        return -1;
    if (handled) {
        in->line_taken = 1;
        return 0;
    }

    /* rtmem lines: at the start, or after a "[timestamp] " prefix */
    const char *p = skip_sp(buf);
    if (*p == '[') {
        const char *e = strchr(p, ']');
        if (e)
            p = skip_sp(e + 1);
    }
    /* Telemetry (docs/formats.md): its trace lines are rtmem lines. */
    char inner[RTM_LINE_MAX + 1];
    size_t len = full_len - (size_t)(p - buf);
    if (strncmp(p, "{\"rtmem\":", 9) == 0) {
        char err[200];
        int n = rtm_telemetry_trace_line(p, strlen(p), inner, sizeof inner, err, sizeof err);
        if (n < 0)
            return fail(in, err);
        in->line_taken = 1;
        if (n == 0)
            return 0;
        p = inner;
        len = (size_t)n;
    }
    if (*p == '#') {
        /* the version check of replay's reader first, with its words */
        rtm_trace_event_t ev;
        char why[RTM_LINE_ERR_MAX];
        if (rtm_trace_parse_line(p, strlen(p), &ev, why, sizeof why) < 0)
            return fail(in, why);
        in->line_taken = 1;
        const char *c = skip_sp(p + 1);
        return rtmem_comment(in, c);
    }
    if (in->format == LK_FMT_RTMEM && rtm_trace_looks_like_event(p)) {
        in->line_taken = 1;
        if (p != inner && strlen(p) != len) {
            /* the trailing blanks clean_line cut off the string, put back */
            size_t kept = strlen(p);
            memcpy(inner, p, len);
            inner[kept] = cut_byte;
            inner[len] = '\0';
            p = inner;
        }
        return rtmem_event(in, p, len);
    }
    return 0; /* a log line */
}

int lk_parse_line(lk_input_t *in, const char *raw, int last_unterminated)
{
    char buf[RTM_LINE_MAX + 1];
    in->lineno++;
    in->number_overflow = 0;
    in->line_taken = 0;
    size_t full_len = 0;
    char cut_byte = '\0';
    clean_line(buf, sizeof buf, raw, &full_len, &cut_byte);
    if (parse_cleaned(in, buf, full_len, cut_byte, last_unterminated) != 0)
        return -1;
    if (in->number_overflow)
        return fail(in, "number wider than 64 bits");
    return 0;
}

void lk_parse_finish(lk_input_t *in)
{
    if (in->id_mismatches > 0) {
        if (!in->quiet)
            rtm_esc_msg(stderr,
                        "%s: warning: %llu rtmem events do not follow the live IDs (first, line "
                        "%lu: %s): read as a trace started after boot or stopped for a while "
                        "holds them (replay refuses them without --lenient)",
                        in->name, (unsigned long long)in->id_mismatches, in->id_mismatch_line,
                        in->id_mismatch_first);
        in->warnings++;
    }
    if (in->format == LK_FMT_RTMEM || in->format == LK_FMT_NONE)
        return;
    if (in->esp_header && !in->esp_summary) {
        warn(in, "the heap trace dump ends without its summary");
        mark_cut_off(in, "the dump has no summary after its header");
    }
    if (in->esp_header && in->sum.have_records && in->esp_records_read != in->sum.records) {
        char msg[160];
        snprintf(msg, sizeof msg, "the dump's header says %llu records, %llu record lines were read",
                 (unsigned long long)in->sum.records, (unsigned long long)in->esp_records_read);
        warn(in, msg);
        if (in->esp_records_read < in->sum.records && !in->esp_summary)
            mark_cut_off(in, "records missing and no summary");
    }
}

int lk_parse_reader_line(lk_input_t *in, rtm_line_reader_t *lr)
{
    if (lk_parse_line(in, lr->text, lr->unterminated) != 0) {
        if (rtm_line_reject(lr, in->err_what) < 0) {
            memcpy(in->err, lr->err, sizeof in->err);
            return -1;
        }
        warn(in, "truncated line ignored");
        return 0;
    }
    if (!in->line_taken &&
        rtm_line_skip(lr, "not an rtmem trace, telemetry or heap trace dump line") < 0) {
        memcpy(in->err, lr->err, sizeof in->err);
        return -1;
    }
    return 0;
}

int lk_parse_file(lk_input_t *in, FILE *f)
{
    rtm_line_reader_t *lr = malloc(sizeof *lr);
    if (!lr)
        return fail(in, "out of memory");
    rtm_line_reader_init(lr, f, in->name);
    size_t len;
    int got;
    int rc = 0;
    while ((got = rtm_line_next(lr, &len)) > 0) {
        if (lk_parse_reader_line(in, lr) != 0) {
            rc = -1;
            break;
        }
    }
    if (got < 0) {
        memcpy(in->err, lr->err, sizeof in->err);
        rc = -1;
    }
    free(lr);
    if (rc == 0)
        lk_parse_finish(in);
    return rc;
}
