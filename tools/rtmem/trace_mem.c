/* A trace parsed once into memory: see trace_mem.h. */
#define _POSIX_C_SOURCE 200809L
#include "trace_mem.h"

#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/types.h>

#include "line_reader.h"

/* Grows *buf (of *cap elements of size elem, first at first) to hold one
 * more than n. Refuses (false) past limit bytes in total with *used, or
 * out of memory. */
static bool reserve(void **buf, size_t *cap, size_t n, size_t elem, size_t first, size_t *used,
                    size_t limit)
{
    if (n < *cap) {
        return true;
    }
    size_t ncap = *cap == 0 ? first : *cap * 2u;
    if (ncap < *cap || ncap > SIZE_MAX / elem) {
        return false;
    }
    size_t more = (ncap - *cap) * elem;
    if (*used + more > limit || *used + more < *used) {
        /* the last doubling may overshoot: take what the limit leaves */
        size_t left = limit > *used ? (limit - *used) / elem : 0;
        if (left == 0) {
            return false;
        }
        ncap = *cap + left;
        more = left * elem;
    }
    void *nb = realloc(*buf, ncap * elem);
    if (nb == NULL) {
        return false;
    }
    *buf = nb;
    *cap = ncap;
    *used += more;
    return true;
}

/* (A function: on 32-bit hosts the caller's unsigned long always fits.) */
static bool fits_u32(uint64_t v)
{
    return v <= UINT32_MAX;
}

static unsigned log2_of(uint64_t pow2)
{
    unsigned e = 0;
    while (pow2 > 1u) {
        pow2 >>= 1;
        e++;
    }
    return e;
}

void rtm_trace_mem_free(rtm_trace_mem_t *m)
{
    free(m->events);
    free(m->side);
    free(m->marks);
    memset(m, 0, sizeof *m);
}

size_t rtm_trace_mem_bytes(const rtm_trace_mem_t *m)
{
    return m->capacity * sizeof m->events[0] + m->side_capacity * sizeof m->side[0] +
           m->marks_capacity * sizeof m->marks[0];
}

/* Where the next line of r starts in its file. */
static bool next_line_offset(rtm_trace_reader_t *r, uint64_t *out)
{
    off_t pos = ftello(r->lines.file);
    size_t unread = r->lines.len - r->lines.pos;
    if (pos < 0 || (uint64_t)pos < unread) {
        return false;
    }
    *out = (uint64_t)pos - unread;
    return true;
}

/* Slots given back by frees, reused last-in first-out. */
typedef struct slot_pool {
    uint32_t *free;
    size_t nfree, cap;
    size_t made;
} slot_pool_t;

static bool slot_take(slot_pool_t *p, uint32_t *out)
{
    if (p->nfree > 0) {
        *out = p->free[--p->nfree];
        return true;
    }
    if (p->made >= UINT32_MAX) {
        return false;
    }
    *out = (uint32_t)p->made++;
    return true;
}

static bool slot_give(slot_pool_t *p, uint32_t slot)
{
    if (p->nfree == p->cap) {
        size_t ncap = p->cap == 0 ? 1024u : p->cap * 2u;
        uint32_t *nf = realloc(p->free, ncap * sizeof *nf);
        if (nf == NULL) {
            return false;
        }
        p->free = nf;
        p->cap = ncap;
    }
    p->free[p->nfree++] = slot;
    return true;
}

static int load(rtm_trace_mem_t *m, const char *path, bool lenient, size_t limit,
                bool keep_part, char *err, size_t errlen)
{
    memset(m, 0, sizeof *m);
    m->path = path;
    if (limit == 0) {
        limit = RTM_TRACE_MEM_LIMIT;
    }
    if (strcmp(path, "-") == 0) {
        (void)snprintf(err, errlen, "-: standard input cannot be loaded (it is read once)");
        return 2;
    }
    FILE *f = fopen(path, "r");
    if (f == NULL) {
        (void)snprintf(err, errlen, "%s: %s", path, strerror(errno));
        return 2;
    }
    rtm_trace_reader_t *rd = malloc(sizeof *rd);
    if (rd == NULL) {
        fclose(f);
        (void)snprintf(err, errlen, "out of memory");
        return 2;
    }
    rtm_trace_reader_init(rd, f, path, lenient);
    slot_pool_t pool = {0};
    size_t used = 0;
    uint64_t next_mark = RTM_TRACE_MEM_LINE_STEP;
    int rc = 0;
    rtm_trace_event_t ev;
    int n;
    while ((n = rtm_trace_next(rd, &ev)) > 0) {
        if (!fits_u32(ev.line) ||
            !reserve((void **)&m->events, &m->capacity, m->count, sizeof *m->events, 4096u,
                     &used, limit)) {
            rc = 1;
            break;
        }
        rtm_mem_event_t *e = &m->events[m->count];
        memset(e, 0, sizeof *e);
        e->kind = (uint8_t)ev.kind;
        e->line = (uint32_t)ev.line;
        uint32_t slot = 0;
        bool ok = true;
        switch (ev.kind) {
        case RTM_TRACE_ALLOC:
        case RTM_TRACE_ALIGNED:
            ok = slot_take(&pool, &slot);
            break;
        case RTM_TRACE_REALLOC:
            slot = (uint32_t)ev.old.size; /* the new ID takes the old one's slot */
            break;
        case RTM_TRACE_FREE:
            slot = (uint32_t)ev.old.size;
            ok = slot_give(&pool, slot);
            break;
        }
        if (!ok) {
            rc = 1;
            break;
        }
        if (ev.slot != NULL) {
            /* the reader keeps each live ID's payload: the loader's is its slot */
            ev.slot->ptr = NULL;
            ev.slot->size = slot;
        }
        e->slot = slot;
        if (ev.kind == RTM_TRACE_ALIGNED) {
            e->align_log2 = (uint8_t)log2_of(ev.align);
        }
        if (ev.kind != RTM_TRACE_FREE) {
            if (ev.size >= RTM_MEM_SIZE_ESCAPE) {
                if (!reserve((void **)&m->side, &m->side_capacity, m->nside, sizeof *m->side,
                             64u, &used, limit)) {
                    rc = 1;
                    break;
                }
                m->side[m->nside++] = ev.size;
                e->flags |= RTM_MEM_BIG_SIZE;
                e->size = RTM_MEM_SIZE_ESCAPE;
            } else {
                e->size = (uint32_t)ev.size;
            }
        }
        if (ev.has_caps) {
            if (!reserve((void **)&m->side, &m->side_capacity, m->nside, sizeof *m->side, 64u,
                         &used, limit)) {
                rc = 1;
                break;
            }
            m->side[m->nside++] = ev.caps;
            e->flags |= RTM_MEM_HAS_CAPS;
        }
        m->count++;
        if (ev.line >= next_mark) {
            uint64_t off;
            if (next_line_offset(rd, &off)) {
                size_t dummy = 0;
                if (!reserve((void **)&m->marks, &m->marks_capacity, m->nmarks, sizeof *m->marks,
                             64u, &dummy, SIZE_MAX)) {
                    rc = 1;
                    break;
                }
                m->marks[m->nmarks++] = (rtm_mem_line_mark_t){.line = ev.line, .offset = off};
            }
            next_mark = ev.line + RTM_TRACE_MEM_LINE_STEP;
        }
    }
    if (rc == 0 && n < 0) {
        (void)snprintf(err, errlen, "%s", rd->err);
        rc = 2;
        if (keep_part && rd->lines.err_line != 0) {
            m->cut_off = true;
            m->cut_line = rd->lines.err_line;
            (void)snprintf(m->cut_reason, sizeof m->cut_reason, "%s",
                           rd->err + rd->lines.err_what);
            rc = 0;
        }
    }
    m->slots = pool.made;
    m->skipped = rd->counts;
    free(pool.free);
    rtm_trace_reader_fini(rd);
    free(rd);
    fclose(f);
    if (rc != 0) {
        rtm_trace_mem_free(m);
    }
    return rc;
}

int rtm_trace_mem_load(rtm_trace_mem_t *m, const char *path, bool lenient, size_t limit,
                       char *err, size_t errlen)
{
    return load(m, path, lenient, limit, false, err, errlen);
}

int rtm_trace_mem_load_part(rtm_trace_mem_t *m, const char *path, bool lenient, size_t limit,
                            char *err, size_t errlen)
{
    return load(m, path, lenient, limit, true, err, errlen);
}

bool rtm_trace_mem_reread(const rtm_trace_mem_t *m, unsigned long line, rtm_trace_event_t *ev)
{
    /* the last mark before line: binary search (marks ascend) */
    size_t lo = 0;
    size_t hi = m->nmarks;
    while (lo < hi) {
        size_t mid = lo + (hi - lo) / 2u;
        if (m->marks[mid].line < line) {
            lo = mid + 1u;
        } else {
            hi = mid;
        }
    }
    uint64_t at_line = lo == 0 ? 0 : m->marks[lo - 1u].line;
    uint64_t offset = lo == 0 ? 0 : m->marks[lo - 1u].offset;
    if (rtm_input_is_stream(m->path)) {
        return false; /* opening a FIFO again would wait for a writer */
    }
    FILE *f = fopen(m->path, "r");
    if (f == NULL) {
        return false;
    }
    bool found = false;
    rtm_line_reader_t *lr = malloc(sizeof *lr);
    if (lr != NULL && (uint64_t)(off_t)offset == offset &&
        fseeko(f, (off_t)offset, SEEK_SET) == 0) {
        rtm_line_reader_init(lr, f, m->path);
        lr->line = (unsigned long)at_line;
        size_t len;
        while (rtm_line_next(lr, &len) > 0) {
            if (lr->line == line) {
                char msg[RTM_TRACE_ERR_MAX];
                found = rtm_trace_parse_line(lr->text, len, ev, msg, sizeof msg) == 1;
                break;
            }
        }
    }
    free(lr);
    fclose(f);
    return found;
}
