/* rtmem top: a live terminal view of telemetry. See docs/tools.md. */
#define _XOPEN_SOURCE 700
#include <errno.h>
#include <inttypes.h>
#include <limits.h>
#include <langinfo.h>
#include <locale.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <wchar.h>

#include <curses.h>

#include "cli.h"
#include "commands.h"
#include "escape.h"
#include "top_model.h"
#include "top_source.h"

#define READ_CHUNK 65536u
#define READ_BUDGET (4u * READ_CHUNK) /* bytes per turn: keys and redraws never wait long */
#define TICK_MS 200
#define LOG_MIN_ROWS 4

/* ------------------------------------------------------------------ */
/* Options                                                              */

static const char top_usage[] =
    "usage: rtmem top [--baud N] SOURCE\n"
    "\n"
    "A live view of rtmem telemetry (docs/formats.md): regions with bars for used,\n"
    "peak used and the largest free block, the trend, active alerts, tasks, pools,\n"
    "the last recommendations, and the other lines of the stream in a log pane.\n"
    "\n"
    "SOURCE is a serial device (/dev/ttyUSB0: raw, 8N1, at --baud), a file (read\n"
    "from its start, then followed as it grows), or - (standard input; keys then\n"
    "come from the terminal).\n"
    "  --baud N    serial speed in bits/s, a standard rate (default 115200)\n"
    "\n"
    "Keys: q quits (so does Ctrl-C). When a device goes away the last data stays on\n"
    "the screen and rtmem top reopens the device every second until it is back.\n"
    "Exit status: 0 after q or Ctrl-C, 2 bad usage or a SOURCE that cannot be opened.\n";

/* --baud: decimal digits naming a rate termios has (rtm_top_baud_speed). */
static bool parse_baud(const char *s, void *dest)
{
    uint64_t v;
    speed_t speed;
    if (!rtm_tool_parse_u64(s, &v) || v > UINT_MAX || !rtm_top_baud_speed((unsigned long)v, &speed)) {
        return false;
    }
    *(unsigned *)dest = (unsigned)v;
    return true;
}

/* ------------------------------------------------------------------ */
/* Screen helpers                                                       */

enum {
    PAIR_TITLE = 1,
    PAIR_HEADER,
    PAIR_USED,
    PAIR_PEAK,
    PAIR_FREE,
    PAIR_LARGEST,
    PAIR_BAD,
    PAIR_WARN,
    PAIR_GOOD,
    PAIR_DIM,
    PAIR_GONE
};

typedef struct view {
    bool utf8;       /* the terminal takes UTF-8: block characters for bars */
    bool colors;
    const char *full, *peak, *empty, *largest, *freepart, *down, *up, *dot;
} view_t;

static volatile sig_atomic_t stop_signal;

static void on_stop_signal(int sig)
{
    stop_signal = sig;
}

static uint64_t now_ms(void)
{
    struct timespec ts;
    clock_gettime(CLOCK_MONOTONIC, &ts);
    return (uint64_t)ts.tv_sec * 1000u + (uint64_t)ts.tv_nsec / 1000000u;
}

static attr_t pair(const view_t *v, short p)
{
    return v->colors ? (attr_t)COLOR_PAIR(p) : A_NORMAL;
}

/* Writes s at (y, x), at most maxcols columns wide, never past the right
 * edge (ncurses would wrap). s is escaped text: valid UTF-8 without
 * controls; in a terminal that is not UTF-8 other bytes show as '?'. */
static int put(const view_t *v, int y, int x, int maxcols, attr_t attr, const char *s)
{
    if (y < 0 || y >= LINES || x < 0 || x >= COLS) {
        return 0;
    }
    if (maxcols > COLS - x) {
        maxcols = COLS - x;
    }
    int cols = 0;
    size_t bytes = 0, len = strlen(s);
    char safe[1024];
    size_t out = 0;
    mbstate_t st;
    memset(&st, 0, sizeof st);
    while (bytes < len && out + 8u < sizeof safe) {
        size_t n = 1;
        int w = 1;
        unsigned char c = (unsigned char)s[bytes];
        if (c >= 0x80u) {
            wchar_t wc;
            n = v->utf8 ? mbrtowc(&wc, s + bytes, len - bytes, &st) : (size_t)-1;
            if (n == (size_t)-1 || n == (size_t)-2 || n == 0) {
                memset(&st, 0, sizeof st);
                n = 1;
                w = 1;
                c = '?';
            } else {
                w = wcwidth(wc);
                if (w < 0) {
                    w = 1;
                }
            }
        } else if (c < 0x20u || c == 0x7fu) {
            c = '?';
        }
        if (cols + w > maxcols) {
            break;
        }
        if (c == '?' && (unsigned char)s[bytes] != '?') {
            safe[out++] = '?';
        } else {
            memcpy(safe + out, s + bytes, n);
            out += n;
        }
        bytes += n;
        cols += w;
    }
    safe[out] = '\0';
    attron(attr);
    mvaddstr(y, x, safe);
    attroff(attr);
    return cols;
}

/* Fills columns [x, x + n) of row y with spaces in attr. */
static void fill(int y, int x, int n, attr_t attr)
{
    if (y < 0 || y >= LINES) {
        return;
    }
    attron(attr);
    for (int i = 0; i < n && x + i < COLS; i++) {
        mvaddch(y, x + i, ' ');
    }
    attroff(attr);
}

static void fmt_bytes(char *out, size_t cap, uint64_t b)
{
    rtm_top_fmt_bytes(out, cap, b);
}

static unsigned pct(uint64_t part, uint64_t whole)
{
    return rtm_top_scale(part, whole, 100u);
}

static int cells(uint64_t part, uint64_t whole, int width)
{
    return width > 0 ? (int)rtm_top_scale(part, whole, (unsigned)width) : 0;
}

/* Draws "[" bar "]" at (y, x), width cells inside: `a` cells of glyph_a,
 * then up to `b` of glyph_b, then glyph_rest. */
static void bar(const view_t *v, int y, int x, int width, int a, int b, const char *ga, attr_t aa,
                const char *gb, attr_t ab, const char *gr, attr_t ar)
{
    put(v, y, x, 1, pair(v, PAIR_DIM), "[");
    for (int i = 0; i < width; i++) {
        if (i < a) {
            put(v, y, x + 1 + i, 1, aa, ga);
        } else if (i < b) {
            put(v, y, x + 1 + i, 1, ab, gb);
        } else {
            put(v, y, x + 1 + i, 1, ar, gr);
        }
    }
    put(v, y, x + 1 + width, 1, pair(v, PAIR_DIM), "]");
}

/* A section header: text in the header colours across [x, x + width). */
static void header(const view_t *v, int y, int x, int width, const char *text)
{
    attr_t a = v->colors ? pair(v, PAIR_HEADER) : A_REVERSE;
    fill(y, x, width, a);
    put(v, y, x, width, a | A_BOLD, text);
}

static bool has_alert(const rtm_top_model_t *m, const char *source)
{
    for (size_t i = 0; i < m->alert_count; i++) {
        if (strcmp(m->alerts[i].source, source) == 0) {
            return true;
        }
    }
    return false;
}

static int name_width(const rtm_top_model_t *m, int lo, int hi)
{
    int w = lo;
    for (size_t i = 0; i < m->region_count; i++) {
        int n = (int)strlen(m->regions[i].last.name);
        w = n > w ? n : w;
    }
    for (size_t i = 0; i < m->task_count; i++) {
        int n = (int)strlen(m->tasks[i].last.name);
        w = n > w ? n : w;
    }
    for (size_t i = 0; i < m->pool_count; i++) {
        int n = (int)strlen(m->pools[i].last.name);
        w = n > w ? n : w;
    }
    return w < hi ? w : hi;
}

/* The name escaped (names are decoded JSON strings: control bytes possible). */
static void esc_name(char *out, size_t cap, const char *name)
{
    rtm_esc_copy(out, cap, name, strlen(name));
}

/* ------------------------------------------------------------------ */
/* Sections: each draws at most `rows` rows from y and returns rows used */

static int draw_more(const view_t *v, int y, int x, int width, size_t more, const char *what)
{
    char line[96];
    snprintf(line, sizeof line, "  ... %zu more %s (a taller terminal shows them)", more, what);
    put(v, y, x, width, pair(v, PAIR_DIM), line);
    return 1;
}

static int draw_memory(const view_t *v, const rtm_top_model_t *m, int y, int rows, int nw)
{
    if (rows < 1) {
        return 0;
    }
    int W = COLS;
    /* name kind size [used] now peak [free] largest frag trend */
    int fixed = nw + 55;
    /* Bars wider than this say nothing more; capped, the header row fits
     * its buffer on any terminal (1000 columns cut its labels off). */
    int room = W - fixed > 300 ? 300 : W - fixed;
    bool wide = room >= 18;
    int ub = wide ? room * 2 / 3 : W - (nw + 24);
    int lb = wide ? room - ub : 0;
    if (ub < 4) {
        ub = 0;
    }
    char h[512];
    if (wide) {
        /* Each label within its bar's width, so the columns after it stay put. */
        const char *used_label = ub + 2 >= 16 ? "USED (now, peak)" : "USED";
        const char *free_label = lb + 2 >= 20 ? "FREE (largest block)" : "FREE";
        snprintf(h, sizeof h, "%-*s %-4s %7s %-*.*s %4s %4s  %-*.*s %7s %4s %11s", nw, "MEMORY",
                 "KIND", "SIZE", ub + 2, ub + 2, used_label, "NOW", "PEAK", lb + 2, lb + 2,
                 free_label, "LARGEST", "FRAG", "TREND");
    } else {
        snprintf(h, sizeof h, "%-*s %-*.*s %4s %4s", nw, "MEMORY", ub + 2, ub + 2, "USED", "NOW",
                 "PEAK");
    }
    header(v, y, 0, W, h);
    int used_rows = 1;
    for (size_t i = 0; i < m->region_count; i++) {
        if (used_rows == rows - 1 && i + 1u < m->region_count) {
            used_rows += draw_more(v, y + used_rows, 0, W, m->region_count - i, "regions");
            break;
        }
        if (used_rows >= rows) {
            break;
        }
        const rtm_tm_mem_t *r = &m->regions[i].last;
        int row = y + used_rows++;
        char name[RTM_TM_NAME_MAX * 4];
        esc_name(name, sizeof name, r->name);
        bool alerted = has_alert(m, r->name);
        put(v, row, 0, nw, alerted ? (pair(v, PAIR_BAD) | A_BOLD) : A_BOLD, name);
        uint64_t used = r->total >= r->free ? r->total - r->free : 0;
        uint64_t peak = r->total >= r->min_free ? r->total - r->min_free : 0;
        unsigned now_p = pct(used, r->total), peak_p = pct(peak, r->total);
        attr_t used_attr = pair(v, now_p >= 90u ? PAIR_BAD : now_p >= 75u ? PAIR_WARN : PAIR_USED);
        int x = nw + 1;
        char num[32];
        if (wide) {
            put(v, row, x, 4, pair(v, PAIR_DIM), r->kind);
            x += 5;
            fmt_bytes(num, sizeof num, r->total);
            snprintf(h, sizeof h, "%7s", num);
            put(v, row, x, 7, A_NORMAL, h);
            x += 8;
        }
        if (ub > 0) {
            bar(v, row, x, ub, cells(used, r->total, ub), cells(peak, r->total, ub), v->full,
                used_attr, v->peak, pair(v, PAIR_PEAK), v->empty, pair(v, PAIR_DIM));
            x += ub + 3;
        }
        snprintf(h, sizeof h, "%3u%%", now_p);
        put(v, row, x, 4, used_attr | A_BOLD, h);
        x += 5;
        snprintf(h, sizeof h, "%3u%%", peak_p);
        put(v, row, x, 4, pair(v, peak_p >= 90u ? PAIR_BAD : PAIR_PEAK), h);
        x += 6;
        if (!wide) {
            continue;
        }
        bar(v, row, x, lb, cells(r->largest, r->total, lb), cells(r->free, r->total, lb),
            v->largest, pair(v, PAIR_LARGEST), v->freepart, pair(v, PAIR_FREE), v->empty,
            pair(v, PAIR_DIM));
        x += lb + 3;
        fmt_bytes(num, sizeof num, r->largest);
        snprintf(h, sizeof h, "%7s", num);
        put(v, row, x, 7, pair(v, PAIR_LARGEST), h);
        x += 8;
        unsigned frag = (unsigned)(r->frag_pm > 1000u ? 1000u : r->frag_pm);
        snprintf(h, sizeof h, "%3u%%", (frag + 5u) / 10u);
        put(v, row, x, 4, frag >= 500u ? pair(v, PAIR_WARN) : A_NORMAL, h);
        x += 5;
        if (r->has_trend) {
            uint64_t mag = r->trend_bpm < 0 ? (uint64_t)(-(r->trend_bpm + 1)) + 1u
                                            : (uint64_t)r->trend_bpm;
            fmt_bytes(num, sizeof num, mag);
            snprintf(h, sizeof h, "%s%s/min", r->trend_bpm < 0 ? v->down : v->up, num);
            /* right-aligned in 11 columns: the arrow is one column wide */
            int cols = 1 + (int)strlen(num) + 4;
            if (r->trend_bpm == 0) {
                snprintf(h, sizeof h, "0B/min");
                cols = 6;
            }
            put(v, row, x + (cols < 11 ? 11 - cols : 0), 11,
                r->trend_bpm < 0   ? pair(v, PAIR_BAD)
                : r->trend_bpm > 0 ? pair(v, PAIR_GOOD)
                                   : pair(v, PAIR_DIM),
                h);
        } else {
            put(v, row, x + 10, 1, pair(v, PAIR_DIM), "-");
        }
    }
    if (m->region_count == 0 && used_rows < rows) {
        put(v, y + used_rows++, 0, W, pair(v, PAIR_DIM), "  (no mem line yet)");
    }
    return used_rows;
}

/* A pane listing one row per task or pool: a header line, then each
 * entry's name (bold; red when an alert names it) and the cells that
 * draw_cells() draws after it, from column cx on, bar columns wide for its
 * bar. */
typedef struct pane_table {
    const char *header;
    const char *what; /* "tasks", "pools": the "... N more" line */
    size_t count;
    const char *(*name)(const rtm_top_model_t *m, size_t i);
    void (*draw_cells)(const view_t *v, const rtm_top_model_t *m, size_t i, int row, int x,
                       int cx, int width, int bar);
    int bar;
} pane_table_t;

/* Draws t in rows rows from (y, x), width columns, names nw wide. When the
 * entries do not fit, the last row says how many more there are. Returns the
 * rows used. */
static int draw_pane_table(const view_t *v, const rtm_top_model_t *m, const pane_table_t *t, int y,
                           int x, int width, int rows, int nw)
{
    header(v, y, x, width, t->header);
    int used_rows = 1;
    for (size_t i = 0; i < t->count; i++) {
        if (used_rows == rows - 1 && i + 1u < t->count) {
            used_rows += draw_more(v, y + used_rows, x, width, t->count - i, t->what);
            break;
        }
        if (used_rows >= rows) {
            break;
        }
        int row = y + used_rows++;
        const char *raw = t->name(m, i);
        char name[RTM_TM_NAME_MAX * 4];
        esc_name(name, sizeof name, raw);
        put(v, row, x, nw, has_alert(m, raw) ? (pair(v, PAIR_BAD) | A_BOLD) : A_BOLD, name);
        t->draw_cells(v, m, i, row, x, x + nw + 1, width, t->bar);
    }
    return used_rows;
}

static const char *task_name(const rtm_top_model_t *m, size_t i)
{
    return m->tasks[i].last.name;
}

/* heap peak [stack] pct used/size, sb columns of stack bar */
static void task_cells(const view_t *v, const rtm_top_model_t *m, size_t i, int row, int x,
                       int cx, int width, int sb)
{
    const rtm_tm_task_t *t = &m->tasks[i].last;
    char h[512], a[32], b[32];
    if (t->has_heap) {
        fmt_bytes(a, sizeof a, t->heap);
        fmt_bytes(b, sizeof b, t->heap_peak);
    } else {
        snprintf(a, sizeof a, "-");
        snprintf(b, sizeof b, "-");
    }
    snprintf(h, sizeof h, "%7s %7s", a, b);
    put(v, row, cx, width - (cx - x), A_NORMAL, h);
    cx += 17;
    if (t->has_stack && t->stack_size > 0) {
        unsigned p = pct(t->stack_peak, t->stack_size);
        attr_t at = pair(v, p >= 90u ? PAIR_BAD : p >= 75u ? PAIR_WARN : PAIR_USED);
        if (sb > 0) {
            bar(v, row, cx, sb, cells(t->stack_peak, t->stack_size, sb), 0, v->full, at,
                v->empty, at, v->empty, pair(v, PAIR_DIM));
            cx += sb + 3;
        }
        snprintf(h, sizeof h, "%3u%%", p);
        put(v, row, cx, 4, at | A_BOLD, h);
        cx += 5;
        fmt_bytes(a, sizeof a, t->stack_peak);
        fmt_bytes(b, sizeof b, t->stack_size);
        snprintf(h, sizeof h, "%6s/%-6s", a, b);
        put(v, row, cx, width - (cx - x), A_NORMAL, h);
    } else {
        put(v, row, cx, width - (cx - x), pair(v, PAIR_DIM), "stack not known");
    }
}

static int draw_tasks(const view_t *v, const rtm_top_model_t *m, int y, int x, int width,
                      int rows, int nw)
{
    if (rows < 1 || width < 8) {
        return 0;
    }
    /* name heap peak [stack] pct used/size */
    int sb = width - (nw + 1 + 8 + 8 + 3 + 5 + 14);
    if (sb > 24) {
        sb = 24;
    }
    char h[512];
    snprintf(h, sizeof h, "%-*s %7s %7s  %-*s %4s %13s", nw, "TASK", "HEAP", "PEAK",
             sb > 0 ? sb + 2 : 0, sb > 0 ? "STACK" : "", "STK", "PEAK/SIZE");
    const pane_table_t t = {.header = h, .what = "tasks", .count = m->task_count,
                            .name = task_name, .draw_cells = task_cells, .bar = sb};
    int used_rows = draw_pane_table(v, m, &t, y, x, width, rows, nw);
    if (m->task_count == 0 && used_rows < rows) {
        put(v, y + used_rows++, x, width, pair(v, PAIR_DIM), "  (no task line yet)");
    }
    return used_rows;
}

static const char *pool_name(const rtm_top_model_t *m, size_t i)
{
    return m->pools[i].last.name;
}

/* [bar] used/cap peak fails waits block, pb columns of bar */
static void pool_cells(const view_t *v, const rtm_top_model_t *m, size_t i, int row, int x,
                       int cx, int width, int pb)
{
    const rtm_tm_pool_t *p = &m->pools[i].last;
    char h[512], blk[32];
    unsigned up = pct(p->used, p->capacity);
    attr_t at = pair(v, up >= 100u ? PAIR_BAD : up >= 75u ? PAIR_WARN : PAIR_USED);
    if (pb > 0) {
        bar(v, row, cx, pb, cells(p->used, p->capacity, pb), cells(p->peak, p->capacity, pb),
            v->full, at, v->peak, pair(v, PAIR_PEAK), v->empty, pair(v, PAIR_DIM));
        cx += pb + 3;
    }
    char used[8], capacity[8], peak[8], failed[8], waits[8];
    fmt_bytes(blk, sizeof blk, p->block);
    rtm_top_fmt_count(used, sizeof used, p->used);
    rtm_top_fmt_count(capacity, sizeof capacity, p->capacity);
    rtm_top_fmt_count(peak, sizeof peak, p->peak);
    rtm_top_fmt_count(failed, sizeof failed, p->failed);
    rtm_top_fmt_count(waits, sizeof waits, p->waits);
    snprintf(h, sizeof h, "%4s/%-4s %4s", used, capacity, peak);
    put(v, row, cx, width - (cx - x), at | A_BOLD, h);
    cx += 14;
    snprintf(h, sizeof h, " %5s", failed);
    put(v, row, cx, width - (cx - x), p->failed > 0 ? pair(v, PAIR_BAD) : A_NORMAL, h);
    cx += 6;
    snprintf(h, sizeof h, " %5s %6s", waits, blk);
    put(v, row, cx, width - (cx - x), p->waits > 0 ? pair(v, PAIR_WARN) : A_NORMAL, h);
}

static int draw_pools(const view_t *v, const rtm_top_model_t *m, int y, int x, int width, int rows,
                      int nw)
{
    if (rows < 1 || m->pool_count == 0 || width < 8) {
        return 0;
    }
    /* name [bar] used/cap peak fails waits block */
    int pb = width - (nw + 37);
    if (pb > 16) {
        pb = 16;
    }
    char h[512];
    snprintf(h, sizeof h, "%-*s %-*s%9s %4s %5s %5s %6s", nw, "POOL", pb > 0 ? pb + 3 : 0,
             "", "USED/CAP", "PEAK", "FAILS", "WAITS", "BLOCK");
    const pane_table_t t = {.header = h, .what = "pools", .count = m->pool_count,
                            .name = pool_name, .draw_cells = pool_cells, .bar = pb};
    return draw_pane_table(v, m, &t, y, x, width, rows, nw);
}

static void alert_value(char *out, size_t cap, const rtm_top_alert_t *a)
{
    char v1[32], v2[32];
    if (!a->has_value) {
        snprintf(out, cap, "(from the alerts mask)");
        return;
    }
    uint64_t val = a->value < 0 ? (uint64_t)(-(a->value + 1)) + 1u : (uint64_t)a->value;
    uint64_t thr = a->threshold < 0 ? (uint64_t)(-(a->threshold + 1)) + 1u : (uint64_t)a->threshold;
    if (strcmp(a->alert, "fragmented") == 0) {
        snprintf(out, cap, "%" PRIu64 ".%" PRIu64 "%% (limit %" PRIu64 ".%" PRIu64 "%%)", val / 10u,
                 val % 10u, thr / 10u, thr % 10u);
    } else if (strcmp(a->alert, "stack_high") == 0) {
        snprintf(out, cap, "%" PRIu64 "%% used (limit %" PRIu64 "%%)", val, thr);
    } else if (strcmp(a->alert, "pool_exhausted") == 0) {
        snprintf(out, cap, "%" PRIu64 " of %" PRIu64 " blocks used", val, thr);
    } else if (strcmp(a->alert, "leak_trend") == 0) {
        fmt_bytes(v1, sizeof v1, val);
        fmt_bytes(v2, sizeof v2, thr);
        snprintf(out, cap, "%s%s/min (limit %s%s/min)", a->value < 0 ? "-" : "", v1,
                 a->threshold < 0 ? "-" : "", v2);
    } else {
        fmt_bytes(v1, sizeof v1, val);
        fmt_bytes(v2, sizeof v2, thr);
        snprintf(out, cap, "%s (limit %s)", v1, v2);
    }
}

static int draw_alerts(const view_t *v, const rtm_top_model_t *m, int y, int x, int width,
                       int rows)
{
    if (rows < 1 || width < 8) {
        return 0;
    }
    char h[512];
    snprintf(h, sizeof h, "ALERTS  %zu active", m->alert_count);
    header(v, y, x, width, h);
    int used_rows = 1;
    for (size_t i = 0; i < m->alert_count; i++) {
        if (used_rows == rows - 1 && i + 1u < m->alert_count) {
            used_rows += draw_more(v, y + used_rows, x, width, m->alert_count - i, "alerts");
            break;
        }
        if (used_rows >= rows) {
            break;
        }
        const rtm_top_alert_t *a = &m->alerts[i];
        char src[RTM_TM_NAME_MAX * 4], al[128], val[160];
        esc_name(src, sizeof src, a->source);
        esc_name(al, sizeof al, a->alert);
        alert_value(val, sizeof val, a);
        int row = y + used_rows++;
        int cx = x;
        cx += put(v, row, cx, width, pair(v, PAIR_BAD) | A_BOLD, v->dot);
        cx += put(v, row, cx + 1, width - (cx + 1 - x), pair(v, PAIR_BAD) | A_BOLD, al) + 1;
        snprintf(h, sizeof h, " %s", src);
        cx += put(v, row, cx, width - (cx - x), A_BOLD, h);
        snprintf(h, sizeof h, "  %s", val);
        put(v, row, cx, width - (cx - x), A_NORMAL, h);
    }
    if (m->alert_count == 0 && used_rows < rows) {
        put(v, y + used_rows++, x, width, pair(v, PAIR_GOOD), "  none");
    }
    return used_rows;
}

static int draw_recs(const view_t *v, const rtm_top_model_t *m, int y, int rows)
{
    if (rows < 2 || m->rec_count == 0) {
        return 0;
    }
    char h[256];
    size_t shown = m->rec_count < (size_t)(rows - 1) ? m->rec_count : (size_t)(rows - 1);
    if (shown == m->recs_seen) {
        snprintf(h, sizeof h, "RECOMMENDATIONS  %zu", shown);
    } else {
        snprintf(h, sizeof h, "RECOMMENDATIONS  the last %zu of %" PRIu64, shown, m->recs_seen);
    }
    header(v, y, 0, COLS, h);
    for (size_t i = 0; i < shown; i++) {
        const rtm_top_rec_t *r = &m->recs[m->rec_count - shown + i];
        int row = y + 1 + (int)i;
        int cx = put(v, row, 0, COLS, pair(v, PAIR_WARN), v->dot);
        put(v, row, cx + 1, COLS - cx - 1, A_NORMAL, r->text);
    }
    return 1 + (int)shown;
}

static void draw_log(const view_t *v, const rtm_top_model_t *m, int y, int rows)
{
    if (rows < 1) {
        return;
    }
    char h[256];
    snprintf(h, sizeof h,
             "LOG  %" PRIu64 " lines  %" PRIu64 " bad  %" PRIu64 " trace lines (counted, not shown)",
             m->counts.log, m->counts.bad, m->counts.trace);
    if (m->counts.dropped_names > 0) {
        size_t l = strlen(h);
        snprintf(h + l, sizeof h - l, "  %" PRIu64 " lines of names past the tables' room",
                 m->counts.dropped_names);
    }
    header(v, y, 0, COLS, h);
    int body = rows - 1;
    size_t n = m->log_count < (size_t)body ? m->log_count : (size_t)body;
    for (size_t i = 0; i < n; i++) {
        const rtm_top_log_line_t *l = rtm_top_log_at(m, m->log_count - n + i);
        int row = y + 1 + (int)i;
        if (l->kind == RTM_TOP_LOG_BAD) {
            snprintf(h, sizeof h, "! line %" PRIu64 " ", l->number);
            int cx = put(v, row, 0, COLS, pair(v, PAIR_BAD) | A_BOLD, h);
            put(v, row, cx, COLS - cx, pair(v, PAIR_BAD), l->text);
        } else if (l->kind == RTM_TOP_LOG_NOTE) {
            int cx = put(v, row, 0, COLS, pair(v, PAIR_WARN) | A_BOLD, "-- ");
            put(v, row, cx, COLS - cx, pair(v, PAIR_WARN) | A_BOLD, l->text);
        } else {
            put(v, row, 0, COLS, A_NORMAL, l->text);
        }
    }
}

static void draw_title(const view_t *v, const rtm_top_model_t *m, const rtm_top_source_t *s,
                       uint64_t now, uint64_t last_data, unsigned long comebacks)
{
    attr_t t = v->colors ? pair(v, PAIR_TITLE) : A_REVERSE;
    fill(0, 0, COLS, t);
    char path[256], h[1024];
    rtm_esc_copy(path, sizeof path, s->path, strlen(s->path));
    if (s->kind == RTM_TOP_SOURCE_DEVICE) {
        snprintf(h, sizeof h, " rtmem top  %s @ %u baud", path, s->baud);
    } else if (strcmp(s->path, "-") == 0) {
        snprintf(h, sizeof h, " rtmem top  standard input");
    } else {
        snprintf(h, sizeof h, " rtmem top  %s", path);
    }
    int cx = put(v, 0, 0, COLS, t | A_BOLD, h);
    char clock[64] = "";
    if (m->has_ms) {
        snprintf(clock, sizeof clock, "  t=%" PRIu64 ".%" PRIu64 " s", m->last_ms / 1000u,
                 (m->last_ms % 1000u) / 100u);
    }
    snprintf(h, sizeof h, "%s  %" PRIu64 " lines  q quit ", clock, m->counts.lines);
    int len = (int)strlen(h);
    if (COLS - len > cx) {
        put(v, 0, COLS - len, len, t, h);
    }

    /* Row 1: the source's state. */
    char why[sizeof s->why * 2], retry[sizeof s->retry_why * 2];
    rtm_esc_copy(why, sizeof why, s->why, strlen(s->why));
    rtm_esc_copy(retry, sizeof retry, s->retry_why, strlen(s->retry_why));
    attr_t a;
    if (s->state == RTM_TOP_SOURCE_LOST) {
        a = (v->colors ? pair(v, PAIR_GONE) : A_REVERSE) | A_BOLD;
        snprintf(h, sizeof h,
                 " DEVICE GONE %" PRIu64 " s ago (%s). Last data kept; retrying every 1 s "
                 "(try %lu%s%s)",
                 (now - s->lost_ms) / 1000u, why, s->tries, retry[0] != '\0' ? ": " : "", retry);
    } else if (s->state == RTM_TOP_SOURCE_ENDED) {
        a = pair(v, PAIR_WARN) | A_BOLD;
        snprintf(h, sizeof h, " INPUT ENDED (%s): showing the last data", why);
    } else {
        a = pair(v, PAIR_GOOD);
        const char *what = s->kind == RTM_TOP_SOURCE_FILE ? "following" : "live";
        if (last_data == 0) {
            snprintf(h, sizeof h, " %s: waiting for data", what);
        } else if (now - last_data < 2000u) {
            snprintf(h, sizeof h, " %s: receiving", what);
        } else {
            snprintf(h, sizeof h, " %s: last data %" PRIu64 " s ago", what,
                     (now - last_data) / 1000u);
        }
        if (comebacks > 0) {
            size_t l = strlen(h);
            snprintf(h + l, sizeof h - l, " (came back %lu time%s)", comebacks,
                     comebacks == 1u ? "" : "s");
        }
    }
    fill(1, 0, COLS, s->state == RTM_TOP_SOURCE_LOST ? a : A_NORMAL);
    cx = put(v, 1, 0, COLS, a, h);
    snprintf(h, sizeof h, "  telemetry %" PRIu64 "  log %" PRIu64 "  bad %" PRIu64 " ",
             m->counts.telemetry, m->counts.log, m->counts.bad);
    len = (int)strlen(h);
    if (COLS - len > cx) {
        put(v, 1, COLS - len, len, m->counts.bad > 0 ? pair(v, PAIR_BAD) : pair(v, PAIR_DIM), h);
    }
}

static void draw(const view_t *v, const rtm_top_model_t *m, const rtm_top_source_t *s, uint64_t now,
                 uint64_t last_data, unsigned long comebacks)
{
    erase();
    if (LINES < 8 || COLS < 30) {
        /* Too small for the tables: the essentials, clipped. */
        char h[256];
        put(v, 0, 0, COLS, A_BOLD, "rtmem top");
        snprintf(h, sizeof h, "%dx%d: too small", COLS, LINES);
        put(v, 1, 0, COLS, pair(v, PAIR_WARN), h);
        snprintf(h, sizeof h, "%zu regions %zu alerts", m->region_count, m->alert_count);
        put(v, 2, 0, COLS, A_NORMAL, h);
        put(v, 3, 0, COLS, s->state == RTM_TOP_SOURCE_OPEN ? A_NORMAL : pair(v, PAIR_BAD),
            s->state == RTM_TOP_SOURCE_LOST    ? "device gone"
            : s->state == RTM_TOP_SOURCE_ENDED ? "input ended"
                                               : "q quits");
        refresh();
        return;
    }
    draw_title(v, m, s, now, last_data, comebacks);
    int nw = name_width(m, 8, 16);
    int y = 2;
    int avail = LINES - y - LOG_MIN_ROWS;

    int alerts_need = 1 + (m->alert_count > 0 ? (int)m->alert_count : 1);
    int pools_need = m->pool_count > 0 ? 1 + (int)m->pool_count : 0;
    int tasks_need = 1 + (m->task_count > 0 ? (int)m->task_count : 1);
    bool side_by_side = COLS >= 110;
    int right_need = pools_need + alerts_need;
    int lower_need = side_by_side ? (tasks_need > right_need ? tasks_need : right_need)
                                  : alerts_need + tasks_need + pools_need;

    /* Short of rows, the regions leave up to five to the alerts (drawn
     * first below a narrow screen) and tasks, keeping three themselves. */
    int mem_need = 1 + (m->region_count > 0 ? (int)m->region_count : 1);
    int reserve = lower_need < 5 ? lower_need : 5;
    int mem_rows = avail - reserve > 3 ? avail - reserve : 3;
    mem_rows = mem_rows < mem_need ? mem_rows : mem_need;
    mem_rows = mem_rows < avail ? mem_rows : avail;
    int used = draw_memory(v, m, y, mem_rows, nw);
    y += used;
    avail -= used;

    if (avail > 0 && side_by_side) {
        /* Tasks on the left, pools and alerts on the right. */
        int left = COLS / 2;
        int rows = lower_need < avail ? lower_need : avail;
        draw_tasks(v, m, y, 0, left - 1, rows, nw);
        int pr = pools_need < rows - 2 ? pools_need : (rows >= 4 ? rows - 2 : 0);
        int py = draw_pools(v, m, y, left + 1, COLS - left - 1, pr, nw);
        draw_alerts(v, m, y + py, left + 1, COLS - left - 1, rows - py);
        y += rows;
        avail -= rows;
    } else if (avail > 0) {
        int rows = alerts_need < avail ? alerts_need : avail;
        used = draw_alerts(v, m, y, 0, COLS, rows);
        y += used;
        avail -= used;
        rows = tasks_need < avail ? tasks_need : avail;
        used = draw_tasks(v, m, y, 0, COLS, rows, nw);
        y += used;
        avail -= used;
        rows = pools_need < avail ? pools_need : avail;
        used = draw_pools(v, m, y, 0, COLS, rows, nw);
        y += used;
        avail -= used;
    }
    /* Recommendations: all of them while the log is short, at least the
     * last five (room allowing) once it fills; the log keeps its rows. */
    avail += LOG_MIN_ROWS;
    if (avail >= LOG_MIN_ROWS + 2) {
        int want = 1 + (int)m->rec_count;
        int log_need = 1 + (int)m->log_count;
        int give = avail - log_need > 6 ? avail - log_need : 6;
        give = give < want ? give : want;
        give = give < avail - LOG_MIN_ROWS ? give : avail - LOG_MIN_ROWS;
        used = draw_recs(v, m, y, give);
        y += used;
    }
    draw_log(v, m, y, LINES - y);
    refresh();
}

/* ------------------------------------------------------------------ */
/* The command                                                          */

static void init_view(view_t *v)
{
    const char *cs = nl_langinfo(CODESET);
    v->utf8 = cs != NULL && (strcmp(cs, "UTF-8") == 0 || strcmp(cs, "utf8") == 0);
    if (v->utf8) {
        v->full = "\u2588";     /* full block */
        v->peak = "\u2592";     /* medium shade */
        v->empty = "\u00b7";    /* middle dot */
        v->largest = "\u2588";
        v->freepart = "\u2591"; /* light shade */
        v->down = "\u25bc";
        v->up = "\u25b2";
        v->dot = "\u25cf";
    } else {
        v->full = "#";
        v->peak = "=";
        v->empty = ".";
        v->largest = "#";
        v->freepart = ":";
        v->down = "-";
        v->up = "+";
        v->dot = "*";
    }
    v->colors = has_colors();
    if (v->colors) {
        start_color();
        short bg = -1;
        if (use_default_colors() != OK) {
            bg = COLOR_BLACK;
        }
        init_pair(PAIR_TITLE, COLOR_BLACK, COLOR_CYAN);
        init_pair(PAIR_HEADER, COLOR_BLACK, COLOR_GREEN);
        init_pair(PAIR_USED, COLOR_GREEN, bg);
        init_pair(PAIR_PEAK, COLOR_YELLOW, bg);
        init_pair(PAIR_FREE, COLOR_CYAN, bg);
        init_pair(PAIR_LARGEST, COLOR_CYAN, bg);
        init_pair(PAIR_BAD, COLOR_RED, bg);
        init_pair(PAIR_WARN, COLOR_YELLOW, bg);
        init_pair(PAIR_GOOD, COLOR_GREEN, bg);
        init_pair(PAIR_DIM, COLOR_BLUE, bg);
        init_pair(PAIR_GONE, COLOR_WHITE, COLOR_RED);
    }
}

typedef struct top_run {
    rtm_top_model_t *model;
    rtm_top_splitter_t *split;
    rtm_top_source_t source;
    uint64_t last_data;
    bool reopened;           /* open again, nothing read yet: not back until data comes */
    unsigned long comebacks; /* times data came again after a loss */
    char note[512];
} top_run_t;

/* Reads what the source has, up to READ_BUDGET bytes. Returns true when
 * the screen changed; *more when the budget ran out with data left. */
static bool pump(top_run_t *r, char *buf, uint64_t now, bool *more)
{
    bool changed = false;
    size_t total = 0;
    *more = false;
    while (total < READ_BUDGET) {
        long n = rtm_top_source_read(&r->source, buf, READ_CHUNK, now);
        if (n > 0) {
            if (r->reopened) {
                /* Only data says it is back: a path that opens and hangs
                 * up at once (a pseudo-terminal on its way out) is not. */
                r->reopened = false;
                r->comebacks++;
                rtm_top_note(r->model, "device back: reading again");
            }
            rtm_top_split(r->split, buf, (size_t)n, rtm_top_feed_line, r->model);
            total += (size_t)n;
            r->last_data = now;
            changed = true;
            continue;
        }
        if (n < 0) {
            rtm_top_split_flush(r->split, rtm_top_feed_line, r->model);
            changed = true;
            if (r->reopened) {
                r->reopened = false; /* still gone, as the log already says */
                return changed;
            }
            if (r->source.state == RTM_TOP_SOURCE_LOST) {
                snprintf(r->note, sizeof r->note,
                         "device gone (%s): last data kept, retrying every second",
                         r->source.why);
            } else {
                snprintf(r->note, sizeof r->note, "input ended (%s)", r->source.why);
            }
            rtm_top_note(r->model, r->note);
        }
        return changed;
    }
    *more = true;
    return changed;
}

int rtm_cmd_top(int argc, char **argv)
{
    unsigned baud = RTM_TOP_DEFAULT_BAUD;
    bool baud_given = false;
    const rtm_cli_opt_t opts[] = {
        {.name = "baud", .kind = RTM_CLI_CUSTOM, .dest = &baud, .parse = parse_baud,
         .given = &baud_given, .expect = "a standard rate (9600, 115200, 460800, 921600, ...)"},
    };
    const rtm_cli_spec_t spec = {
        .cmd = "top",
        .usage = top_usage,
        .opts = opts,
        .nopts = sizeof opts / sizeof opts[0],
        .operand = "SOURCE",
        .min_operands = 1,
        .max_operands = 1,
    };
    rtm_cli_args_t args;
    rtm_cli_status_t st = rtm_cli_parse(&spec, argc, argv, &args);
    if (st != RTM_CLI_RUN) {
        return rtm_cli_exit_status(st);
    }
    const char *path = args.operands[0];

    top_run_t run;
    memset(&run, 0, sizeof run);
    char err[512];
    if (rtm_top_source_open(&run.source, path, baud, err, sizeof err) != 0) {
        rtm_esc_msg(stderr, "rtmem top: %s", err);
        return 2;
    }
    /* The screen goes to the terminal, also when stdin is the source. */
    FILE *tty = fopen("/dev/tty", "r+");
    if (tty == NULL) {
        rtm_esc_msg(stderr, "rtmem top: needs a terminal (/dev/tty: %s)", strerror(errno));
        rtm_top_source_close(&run.source);
        return 2;
    }
    run.model = calloc(1, sizeof *run.model);
    run.split = calloc(1, sizeof *run.split);
    char *buf = malloc(READ_CHUNK);
    if (run.model == NULL || run.split == NULL || buf == NULL) {
        rtm_esc_msg(stderr, "rtmem top: out of memory");
        free(run.model);
        free(run.split);
        free(buf);
        fclose(tty);
        rtm_top_source_close(&run.source);
        return 2;
    }
    rtm_top_model_init(run.model);
    rtm_top_splitter_init(run.split);

    /* Ours before newterm: ncurses then leaves these signals alone, and
     * the ones before us are what is put back. No SA_RESTART: a signal
     * ends the wait in poll(). */
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_stop_signal;
    sigemptyset(&sa.sa_mask);
    struct sigaction old_int, old_term, old_hup;
    sigaction(SIGINT, &sa, &old_int);
    sigaction(SIGTERM, &sa, &old_term);
    sigaction(SIGHUP, &sa, &old_hup);

    setlocale(LC_ALL, "");
    SCREEN *screen = newterm(NULL, tty, tty);
    if (screen == NULL) {
        const char *term = getenv("TERM");
        rtm_esc_msg(stderr, "rtmem top: cannot use the terminal (TERM=%s)",
                    term != NULL ? term : "(unset)");
        sigaction(SIGINT, &old_int, NULL);
        sigaction(SIGTERM, &old_term, NULL);
        sigaction(SIGHUP, &old_hup, NULL);
        free(run.model);
        free(run.split);
        free(buf);
        fclose(tty);
        rtm_top_source_close(&run.source);
        return 2;
    }
    set_term(screen);
    cbreak();
    noecho();
    nonl();
    keypad(stdscr, TRUE);
    nodelay(stdscr, TRUE);
    curs_set(0);
    view_t view;
    init_view(&view);

    if (run.source.kind != RTM_TOP_SOURCE_DEVICE && baud_given) {
        rtm_top_note(run.model, "--baud ignored: SOURCE is not a serial device");
    }

    bool quit = false, dirty = true;
    uint64_t last_draw = 0;
    int key_fd = fileno(tty);
    while (!quit && stop_signal == 0) {
        uint64_t now = now_ms();
        bool more = false;
        if (pump(&run, buf, now, &more)) {
            dirty = true;
        }
        if (run.source.state == RTM_TOP_SOURCE_LOST) {
            if (rtm_top_source_retry(&run.source, now)) {
                run.reopened = true;
            }
            dirty = true; /* the "gone for N s" counter moves */
        }
        if (dirty || now - last_draw >= 1000u) {
            draw(&view, run.model, &run.source, now, run.last_data, run.comebacks);
            last_draw = now;
            dirty = false;
        }
        struct pollfd fds[2];
        nfds_t nfds = 0;
        fds[nfds].fd = key_fd;
        fds[nfds].events = POLLIN;
        fds[nfds].revents = 0;
        nfds++;
        int src_fd = rtm_top_source_fd(&run.source);
        if (src_fd >= 0) {
            fds[nfds].fd = src_fd;
            fds[nfds].events = POLLIN;
            fds[nfds].revents = 0;
            nfds++;
        }
        if (poll(fds, nfds, more ? 0 : TICK_MS) > 0 &&
            (fds[0].revents & (POLLHUP | POLLERR | POLLNVAL)) != 0) {
            /* The terminal is gone (its window closed, the ssh link
             * dropped) and no SIGHUP came: nothing to show, nobody to
             * press q. */
            break;
        }
        for (;;) {
            int ch = getch();
            if (ch == ERR) {
                break;
            }
            if (ch == 'q' || ch == 'Q') {
                quit = true;
            } else if (ch == KEY_RESIZE) {
                dirty = true;
            } else if (ch == 12) { /* Ctrl-L: repaint */
                clearok(curscr, TRUE);
                dirty = true;
            }
        }
    }

    endwin();
    delscreen(screen);
    fclose(tty);
    sigaction(SIGINT, &old_int, NULL);
    sigaction(SIGTERM, &old_term, NULL);
    sigaction(SIGHUP, &old_hup, NULL);
    rtm_top_source_close(&run.source);
    free(run.model);
    free(run.split);
    free(buf);
    return 0;
}
