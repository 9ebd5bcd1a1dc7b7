/* Collapsed stacks of live bytes: see export_folded.h. */
#define _POSIX_C_SOURCE 200809L
#include "export_folded.h"

#include <errno.h>
#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "escape.h"
#include "line_reader.h"
#include "sum64.h"

void rtm_folded_frame(char *out, size_t cap, size_t *pos, const char *s, size_t len)
{
    static const char hex[] = "0123456789ABCDEF";
    size_t o = *pos;
    if (len == 0 && o + 1u < cap) {
        out[o++] = '?';
    }
    for (size_t i = 0; i < len;) {
        const unsigned char *u = (const unsigned char *)s + i;
        size_t seq = rtm_utf8_seq_len(u, len - i);
        bool plain = seq > 1u || (seq == 1u && u[0] >= 0x20u && u[0] != 0x7fu && u[0] != ';' &&
                                  u[0] != '%');
        if (plain) {
            if (o + seq >= cap) {
                break;
            }
            memcpy(out + o, u, seq);
            o += seq;
            i += seq;
        } else {
            if (o + 3u >= cap) {
                break;
            }
            out[o++] = '%';
            out[o++] = hex[u[0] >> 4];
            out[o++] = hex[u[0] & 15u];
            i++;
        }
    }
    out[o] = '\0';
    *pos = o;
}

/* ------------------------------------------------------------------ */
/* Reading                                                             */

static int read_lines(lk_input_t *in, FILE *f, bool stop_at, unsigned long stop_line,
                      uint64_t *peak_bytes, unsigned long *peak_line)
{
    rtm_line_reader_t *lr = malloc(sizeof *lr);
    if (lr == NULL) {
        (void)snprintf(in->err, sizeof in->err, "%s: out of memory", in->name);
        return -1;
    }
    rtm_line_reader_init(lr, f, in->name);
    size_t len;
    int got;
    int rc = 0;
    while ((got = rtm_line_next(lr, &len)) > 0) {
        if (lk_parse_reader_line(in, lr) != 0) {
            rc = -1;
            break;
        }
        if (peak_bytes != NULL && rtm_sum64_get(&in->live_bytes) > *peak_bytes) {
            *peak_bytes = rtm_sum64_get(&in->live_bytes);
            *peak_line = lr->line;
        }
        if (stop_at && lr->line >= stop_line) {
            break;
        }
    }
    if (got < 0) {
        memcpy(in->err, lr->err, sizeof in->err);
        rc = -1;
    }
    free(lr);
    if (rc == 0 && !stop_at) {
        lk_parse_finish(in);
    }
    return rc;
}

int rtm_folded_read(lk_input_t *in, FILE *f, rtm_folded_when_t when)
{
    if (when == RTM_FOLDED_AT_END) {
        return read_lines(in, f, false, 0, NULL, NULL);
    }
    uint64_t peak = 0;
    unsigned long line = 0;
    if (read_lines(in, f, false, 0, &peak, &line) != 0) {
        return -1;
    }
    if (fseek(f, 0, SEEK_SET) != 0) {
        char name[160];
        rtm_esc_copy(name, sizeof name, in->name, strlen(in->name));
        (void)snprintf(in->err, sizeof in->err,
                       "%s: cannot read it again for --at peak (%s): give a file, not a pipe",
                       name, strerror(errno));
        return -1;
    }
    if (line == 0) {
        return 0; /* never a live byte: the end is as high as the peak */
    }
    /* The first reading saw the whole input: its warnings are printed and
     * counted, and its verdict on a cut-off dump is the input's (the
     * second reading stops at the peak and never sees the end). */
    const char *name = in->name;
    unsigned long warnings = in->warnings;
    int cut_off = in->cut_off;
    char cut_reason[sizeof in->cut_reason];
    memcpy(cut_reason, in->cut_reason, sizeof cut_reason);
    lk_input_free(in);
    lk_input_init(in, name);
    in->quiet = 1;
    int rc = read_lines(in, f, true, line, NULL, NULL);
    in->warnings = warnings;
    in->cut_off = cut_off;
    memcpy(in->cut_reason, cut_reason, sizeof cut_reason);
    return rc;
}

/* ------------------------------------------------------------------ */
/* Stacks                                                              */

void rtm_folded_init(rtm_folded_t *s)
{
    memset(s, 0, sizeof *s);
}

void rtm_folded_free(rtm_folded_t *s)
{
    for (size_t i = 0; i < s->n; i++) {
        free(s->stack[i]);
    }
    free(s->stack);
    free(s->bytes);
    memset(s, 0, sizeof *s);
}

static const sym_entry_t *find_sym(const sym_entry_t *s, size_t n, uint64_t a)
{
    size_t lo = 0, hi = n;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if (s[mid].addr < a) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    return lo < n && s[lo].addr == a ? &s[lo] : NULL;
}

/* Frames: root, LK_MAX_CALLERS callers, site; each escaped up to 3x. */
#define STACK_MAX (64u + LK_MAX_CALLERS * 3u * 130u + 3u * 64u)

static void add_frame(char *buf, size_t *pos, const char *text)
{
    if (*pos > 0 && *pos + 1u < STACK_MAX) {
        buf[(*pos)++] = ';';
        buf[*pos] = '\0';
    }
    rtm_folded_frame(buf, STACK_MAX, pos, text, strlen(text));
}

int rtm_folded_add(rtm_folded_t *s, const lk_record_t *r, bool esp, rtm_folded_root_t root,
                   const sym_entry_t *syms, size_t nsyms)
{
    char *buf = malloc(STACK_MAX);
    if (buf == NULL) {
        return -1;
    }
    size_t pos = 0;
    buf[0] = '\0';
    char frame[160];
    const char *region = lk_rec_region(r), *task = lk_rec_task(r), *site = lk_rec_site(r);
    const uint64_t *callers = lk_rec_callers(r);
    unsigned ncallers = lk_rec_ncallers(r);
    if (root == RTM_FOLDED_ROOT_HEAP) {
        (void)snprintf(frame, sizeof frame, "heap:%s", region[0] ? region : "?");
        add_frame(buf, &pos, frame);
    } else if (root == RTM_FOLDED_ROOT_TASK) {
        (void)snprintf(frame, sizeof frame, "%s:%s", esp ? "cpu" : "task",
                       task[0] ? task : "?");
        add_frame(buf, &pos, frame);
    }
    for (unsigned k = ncallers; k-- > 0;) {
        const sym_entry_t *e = syms != NULL ? find_sym(syms, nsyms, callers[k]) : NULL;
        if (e != NULL && e->function[0] != '\0' && strcmp(e->function, "??") != 0) {
            add_frame(buf, &pos, e->function);
        } else {
            (void)snprintf(frame, sizeof frame, "0x%" PRIx64, callers[k]);
            add_frame(buf, &pos, frame);
        }
    }
    if (site[0] != '\0') {
        add_frame(buf, &pos, site);
    }
    if (ncallers == 0 && site[0] == '\0') {
        add_frame(buf, &pos, "[no caller]");
    }
    if (s->n == s->cap) {
        size_t ncap = s->cap ? s->cap * 2u : 64u;
        char **ns = realloc(s->stack, ncap * sizeof *ns);
        if (ns == NULL) {
            free(buf);
            return -1;
        }
        s->stack = ns;
        uint64_t *nb = realloc(s->bytes, ncap * sizeof *nb);
        if (nb == NULL) {
            free(buf);
            return -1;
        }
        s->bytes = nb;
        s->cap = ncap;
    }
    char *kept = realloc(buf, pos + 1u);
    s->stack[s->n] = kept != NULL ? kept : buf;
    s->bytes[s->n] = r->size;
    s->n++;
    s->total = rtm_sat_add(s->total, r->size);
    return 0;
}

typedef struct entry {
    char *stack;
    uint64_t bytes;
} entry_t;

static int cmp_entry(const void *a, const void *b)
{
    return strcmp(((const entry_t *)a)->stack, ((const entry_t *)b)->stack);
}

size_t rtm_folded_write(rtm_folded_t *s, FILE *out)
{
    entry_t *e = malloc((s->n + 1u) * sizeof *e);
    size_t lines = 0;
    if (e == NULL) {
        /* unsorted, unmerged: still valid folded lines */
        for (size_t i = 0; i < s->n; i++) {
            fprintf(out, "%s %" PRIu64 "\n", s->stack[i], s->bytes[i]);
        }
        return s->n;
    }
    for (size_t i = 0; i < s->n; i++) {
        e[i].stack = s->stack[i];
        e[i].bytes = s->bytes[i];
    }
    qsort(e, s->n, sizeof *e, cmp_entry);
    for (size_t i = 0; i < s->n;) {
        uint64_t sum = 0;
        size_t j = i;
        while (j < s->n && strcmp(e[j].stack, e[i].stack) == 0) {
            sum = rtm_sat_add(sum, e[j].bytes);
            j++;
        }
        fprintf(out, "%s %" PRIu64 "\n", e[i].stack, sum);
        lines++;
        i = j;
    }
    free(e);
    return lines;
}
