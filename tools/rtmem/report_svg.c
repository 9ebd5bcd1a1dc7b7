/* SVG charts and HTML escaping of `rtmem report` (report_svg.h). */
#include "report_svg.h"

#include <math.h>
#include <string.h>

#include "escape.h"

void rtm_html_text_n(FILE *f, const char *s, size_t len)
{
    const unsigned char *u = (const unsigned char *)s;
    size_t i = 0;
    while (i < len) {
        unsigned char c = u[i];
        switch (c) {
        case '&':
            fputs("&amp;", f);
            i++;
            continue;
        case '<':
            fputs("&lt;", f);
            i++;
            continue;
        case '>':
            fputs("&gt;", f);
            i++;
            continue;
        case '"':
            fputs("&quot;", f);
            i++;
            continue;
        case '\'':
            fputs("&#39;", f);
            i++;
            continue;
        default:
            break;
        }
        if (c < 0x20u || c == 0x7fu) {
            fputs("\xef\xbf\xbd", f);
            i++;
            continue;
        }
        size_t n = rtm_utf8_seq_len(u + i, len - i);
        if (n == 0) {
            fputs("\xef\xbf\xbd", f); /* not UTF-8: a byte was lost, say so */
            i++;
            continue;
        }
        fwrite(u + i, 1, n, f);
        i += n;
    }
}

void rtm_html_text(FILE *f, const char *s)
{
    rtm_html_text_n(f, s, strlen(s));
}

const char *rtm_fmt_bytes(double bytes, char *buf, size_t len)
{
    double a = fabs(bytes);
    if (a < 1024.0) {
        (void)snprintf(buf, len, "%.0f B", bytes);
    } else if (a < 1024.0 * 1024.0) {
        (void)snprintf(buf, len, "%.1f KiB", bytes / 1024.0);
    } else if (a < 1024.0 * 1024.0 * 1024.0) {
        (void)snprintf(buf, len, "%.2f MiB", bytes / (1024.0 * 1024.0));
    } else {
        (void)snprintf(buf, len, "%.2f GiB", bytes / (1024.0 * 1024.0 * 1024.0));
    }
    return buf;
}

/* The factor the unit's ticks are shown in (KiB: 1024, seconds: 1000 ms). */
static double display_scale(double hi, rtm_unit_t unit)
{
    switch (unit) {
    case RTM_UNIT_BYTES:
        return hi >= 1.5 * 1024.0 * 1024.0 * 1024.0 ? 1024.0 * 1024.0 * 1024.0
               : hi >= 1.5 * 1024.0 * 1024.0     ? 1024.0 * 1024.0
               : hi >= 1.5 * 1024.0              ? 1024.0
                                                 : 1.0;
    case RTM_UNIT_PERMILLE:
        return 10.0;
    case RTM_UNIT_SECONDS:
        return 1000.0;
    case RTM_UNIT_COUNT:
        break;
    }
    return 1.0;
}

size_t rtm_nice_ticks(double lo, double hi, rtm_unit_t unit, double *ticks, size_t cap,
                      double *top)
{
    if (!isfinite(lo)) {
        lo = 0.0;
    }
    if (!isfinite(hi) || hi <= lo) {
        hi = lo + 1.0;
    }
    double scale = display_scale(hi, unit);
    double span = (hi - lo) / scale;
    double raw = span / 5.0;
    double mag = pow(10.0, floor(log10(raw)));
    double r = raw / mag;
    double step = (r <= 1.0 ? 1.0 : r <= 2.0 ? 2.0 : r <= 5.0 ? 5.0 : 10.0) * mag;
    if ((unit == RTM_UNIT_BYTES || unit == RTM_UNIT_COUNT) && scale == 1.0 && step < 1.0) {
        step = 1.0; /* whole bytes and counts */
    }
    step *= scale;
    double first = floor(lo / step) * step;
    size_t n = 0;
    double v = first;
    for (; n < cap && n < 12u; n++) {
        ticks[n] = v;
        if (v >= hi - step * 1e-9) {
            n++;
            break;
        }
        v = first + (double)(n + 1u) * step;
    }
    if (top != NULL) {
        *top = n > 0 ? ticks[n - 1] : hi;
    }
    return n;
}

const char *rtm_fmt_tick(double v, double step, rtm_unit_t unit, char *buf, size_t len)
{
    /* for bytes the caller passes the axis top as step: every tick of an
     * axis then has the same unit */
    double scale = display_scale(step, unit);
    double d = v / scale;
    double st = step / scale;
    int decimals = 0;
    if (unit == RTM_UNIT_BYTES) {
        decimals = fabs(d - round(d)) > 1e-9 ? 1 : 0;
    } else if (st < 1.0) {
        decimals = st < 0.1 ? 2 : 1;
    }
    switch (unit) {
    case RTM_UNIT_BYTES: {
        const char *u = scale >= 1024.0 * 1024.0 * 1024.0 ? "GiB"
                        : scale >= 1024.0 * 1024.0      ? "MiB"
                        : scale >= 1024.0               ? "KiB"
                                                        : "B";
        (void)snprintf(buf, len, "%.*f %s", decimals, d, u);
        break;
    }
    case RTM_UNIT_PERMILLE:
        (void)snprintf(buf, len, "%.*f%%", decimals, d);
        break;
    case RTM_UNIT_SECONDS:
        (void)snprintf(buf, len, "%.*f s", decimals, d);
        break;
    case RTM_UNIT_COUNT:
        if (fabs(v) >= 1e6) {
            (void)snprintf(buf, len, "%.*fM", fabs(v / 1e6 - round(v / 1e6)) > 1e-9 ? 1 : 0,
                           v / 1e6);
        } else if (fabs(v) >= 1e4) {
            (void)snprintf(buf, len, "%.*fk", fabs(v / 1e3 - round(v / 1e3)) > 1e-9 ? 1 : 0,
                           v / 1e3);
        } else {
            (void)snprintf(buf, len, "%.*f", decimals, v);
        }
        break;
    }
    return buf;
}

#define MARGIN_LEFT 68.0
#define MARGIN_RIGHT 14.0
#define MARGIN_TOP 12.0
#define MARGIN_BOTTOM 56.0 /* ticks, the x title and the legend */

static double map_x(const rtm_chart_t *c, double x)
{
    double t = c->x1 > c->x0 ? (x - c->x0) / (c->x1 - c->x0) : 0.0;
    t = t < 0.0 ? 0.0 : t > 1.0 ? 1.0 : t;
    return c->px0 + t * (c->px1 - c->px0);
}

static double map_y(const rtm_chart_t *c, double y)
{
    double t = c->y1 > c->y0 ? (y - c->y0) / (c->y1 - c->y0) : 0.0;
    t = t < 0.0 ? 0.0 : t > 1.0 ? 1.0 : t;
    return c->py0 + t * (c->py1 - c->py0);
}

static void open_svg(FILE *f, const char *id, const char *label, double w, double h)
{
    fprintf(f, "<svg class=\"rtm-chart\" id=\"");
    rtm_html_text(f, id);
    fprintf(f, "\" xmlns=\"http://www.w3.org/2000/svg\" viewBox=\"0 0 %.0f %.0f\" width=\"%.0f\" "
               "height=\"%.0f\" role=\"img\" aria-label=\"", w, h, w, h);
    rtm_html_text(f, label);
    fprintf(f, "\">");
}

void rtm_chart_begin(rtm_chart_t *c, FILE *f, const char *id, const char *label, double width,
                     double height, double x0, double x1, rtm_unit_t xunit, const char *xtitle,
                     double y0, double y1, rtm_unit_t yunit, const char *ytitle)
{
    double yt[16], xt[16];
    double ytop = y1, xtop = x1;
    size_t ny = rtm_nice_ticks(y0, y1, yunit, yt, 16, &ytop);
    size_t nx = rtm_nice_ticks(x0, x1, xunit, xt, 16, &xtop);
    if (!(x1 > x0)) {
        x1 = x0 + 1.0;
    }
    *c = (rtm_chart_t){.f = f, .width = width, .height = height,
                       .px0 = MARGIN_LEFT, .px1 = width - MARGIN_RIGHT,
                       .py0 = height - MARGIN_BOTTOM, .py1 = MARGIN_TOP,
                       .x0 = x0, .x1 = x1, .y0 = ny > 0 ? yt[0] : y0, .y1 = ytop};
    open_svg(f, id, label, width, height);
    fprintf(f, "<rect class=\"plot\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\"/>",
            c->px0, c->py1, c->px1 - c->px0, c->py0 - c->py1);
    double ystep = ny > 1 ? yt[1] - yt[0] : 1.0;
    char buf[48];
    for (size_t i = 0; i < ny; i++) {
        double y = map_y(c, yt[i]);
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", c->px0,
                c->px1, y, y);
        fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">%s</text>",
                c->px0 - 6.0, y + 4.0,
                rtm_fmt_tick(yt[i], yunit == RTM_UNIT_BYTES ? ytop : ystep, yunit, buf,
                             sizeof buf));
    }
    double xstep = nx > 1 ? xt[1] - xt[0] : 1.0;
    for (size_t i = 0; i < nx; i++) {
        if (xt[i] < x0 - xstep * 1e-9 || xt[i] > x1 + xstep * 1e-9) {
            continue;
        }
        double x = map_x(c, xt[i]);
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", x, x,
                c->py1, c->py0);
        fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
                x, c->py0 + 16.0,
                rtm_fmt_tick(xt[i], xunit == RTM_UNIT_BYTES ? xtop : xstep, xunit, buf,
                             sizeof buf));
    }
    fprintf(f, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", c->px0,
            c->px1, c->py0, c->py0);
    fprintf(f, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>", c->px0,
            c->px0, c->py0, c->py1);
    fprintf(f, "<text class=\"axis-title\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
            (c->px0 + c->px1) / 2.0, c->py0 + 32.0);
    rtm_html_text(f, xtitle);
    fprintf(f, "</text><text class=\"axis-title\" transform=\"translate(14 %.1f) rotate(-90)\" "
               "text-anchor=\"middle\">", (c->py0 + c->py1) / 2.0);
    rtm_html_text(f, ytitle);
    fprintf(f, "</text>");
}

size_t rtm_chart_path(const rtm_chart_t *c, const rtm_point_t *p, size_t n)
{
    size_t w = 0;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(p[i].x) || !isfinite(p[i].y)) {
            continue;
        }
        fprintf(c->f, "%c%.1f %.1f", w == 0 ? 'M' : 'L', map_x(c, p[i].x), map_y(c, p[i].y));
        w++;
    }
    return w;
}

void rtm_chart_line(rtm_chart_t *c, const rtm_point_t *p, size_t n, const char *cls,
                    const char *title)
{
    size_t finite = 0;
    for (size_t i = 0; i < n; i++) {
        finite += isfinite(p[i].x) && isfinite(p[i].y);
    }
    if (finite == 0) {
        return;
    }
    fprintf(c->f, "<path class=\"line ");
    rtm_html_text(c->f, cls);
    fprintf(c->f, "\" data-points=\"%zu\" d=\"", finite);
    if (finite == 1) {
        /* one sample: a short flat stroke so that it shows */
        for (size_t i = 0; i < n; i++) {
            if (isfinite(p[i].x) && isfinite(p[i].y)) {
                double x = map_x(c, p[i].x), y = map_y(c, p[i].y);
                fprintf(c->f, "M%.1f %.1fL%.1f %.1f", x - 3.0, y, x + 3.0, y);
            }
        }
    } else {
        (void)rtm_chart_path(c, p, n);
    }
    fprintf(c->f, "\"><title>");
    rtm_html_text(c->f, title);
    fprintf(c->f, "</title></path>");
}

void rtm_chart_marker(rtm_chart_t *c, double x, const char *cls, const char *title)
{
    double px = map_x(c, x);
    fprintf(c->f, "<g class=\"marker ");
    rtm_html_text(c->f, cls);
    fprintf(c->f, "\"><title>");
    rtm_html_text(c->f, title);
    fprintf(c->f, "</title><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
                  "<path d=\"M%.1f %.1fL%.1f %.1fL%.1f %.1fZ\"/></g>",
            px, px, c->py1, c->py0, px - 5.0, c->py1, px + 5.0, c->py1, px, c->py1 + 8.0);
}

void rtm_readouts_begin(rtm_readouts_t *r, rtm_chart_t *c, rtm_unit_t xunit)
{
    memset(r, 0, sizeof *r);
    r->c = c;
    r->xunit = xunit;
    double w = c->px1 - c->px0;
    double n = floor(w / RTM_READOUT_COLUMN_PX);
    n = n < 1.0 ? 1.0 : n > (double)RTM_READOUT_COLUMNS ? (double)RTM_READOUT_COLUMNS : n;
    r->ncols = (size_t)n;
    r->colw = w / n;
}

void rtm_readouts_add(rtm_readouts_t *r, const rtm_point_t *p, size_t n, const char *name,
                      rtm_unit_t unit, double ref, const char *word)
{
    if (r->nlines == RTM_READOUT_LINES) {
        r->more++;
        return;
    }
    size_t k = r->nlines++;
    (void)snprintf(r->line[k].name, sizeof r->line[k].name, "%s", name);
    (void)snprintf(r->line[k].word, sizeof r->line[k].word, "%s", word != NULL ? word : "");
    r->line[k].unit = unit;
    r->line[k].ref = ref;
    for (size_t i = 0; i < n; i++) {
        if (!isfinite(p[i].x) || !isfinite(p[i].y)) {
            continue;
        }
        double col = floor((map_x(r->c, p[i].x) - r->c->px0) / r->colw);
        size_t j = col <= 0.0 ? 0u : col >= (double)r->ncols ? r->ncols - 1u : (size_t)col;
        rtm_readout_column_t *c = &r->col[j];
        if (!c->any) {
            c->any = true;
            c->x_first = c->x_last = p[i].x;
        }
        c->x_first = p[i].x < c->x_first ? p[i].x : c->x_first;
        c->x_last = p[i].x > c->x_last ? p[i].x : c->x_last;
        if (!c->has[k]) {
            c->has[k] = true;
            c->min[k] = c->max[k] = p[i].y;
        }
        c->min[k] = p[i].y < c->min[k] ? p[i].y : c->min[k];
        c->max[k] = p[i].y > c->max[k] ? p[i].y : c->max[k];
    }
}

/* "0", "0.5", "12.25": milliseconds as seconds, without trailing zeros. */
static const char *fmt_seconds(double ms, char *buf, size_t len)
{
    (void)snprintf(buf, len, "%.3f", ms / 1000.0);
    char *dot = strchr(buf, '.');
    if (dot != NULL) {
        char *end = buf + strlen(buf);
        while (end > dot + 1 && end[-1] == '0') {
            *--end = '\0';
        }
        if (end == dot + 1) {
            *dot = '\0';
        }
    }
    return buf;
}

static void readout_x(FILE *f, rtm_unit_t unit, double a, double b)
{
    char s1[48], s2[48];
    switch (unit) {
    case RTM_UNIT_SECONDS:
        if (a == b) {
            fprintf(f, "%s s", fmt_seconds(a, s1, sizeof s1));
        } else {
            fprintf(f, "%s to %s s", fmt_seconds(a, s1, sizeof s1), fmt_seconds(b, s2, sizeof s2));
        }
        return;
    case RTM_UNIT_COUNT:
        if (a == b) {
            fprintf(f, "operation %.0f", a);
        } else {
            fprintf(f, "operations %.0f to %.0f", a, b);
        }
        return;
    case RTM_UNIT_BYTES:
    case RTM_UNIT_PERMILLE:
        break;
    }
    if (a == b) {
        fprintf(f, "%g", a);
    } else {
        fprintf(f, "%g to %g", a, b);
    }
}

static const char *readout_value(double v, rtm_unit_t unit, char *buf, size_t len)
{
    switch (unit) {
    case RTM_UNIT_BYTES:
        return rtm_fmt_bytes(v, buf, len);
    case RTM_UNIT_PERMILLE:
        (void)snprintf(buf, len, "%.1f%%", v / 10.0);
        return buf;
    case RTM_UNIT_SECONDS:
        return fmt_seconds(v, buf, len);
    case RTM_UNIT_COUNT:
        break;
    }
    (void)snprintf(buf, len, "%.0f", v);
    return buf;
}

static void readout_title(const rtm_readouts_t *r, const rtm_readout_column_t *c, double x_last)
{
    FILE *f = r->c->f;
    char v1[48], v2[48];
    fprintf(f, "<title>");
    readout_x(f, r->xunit, c->x_first, x_last);
    for (size_t k = 0; k < r->nlines; k++) {
        if (!c->has[k]) {
            continue;
        }
        fputc('\n', f);
        rtm_html_text(f, r->line[k].name);
        fprintf(f, ": %s", readout_value(c->min[k], r->line[k].unit, v1, sizeof v1));
        if (c->max[k] != c->min[k]) {
            fprintf(f, " to %s", readout_value(c->max[k], r->line[k].unit, v2, sizeof v2));
        }
        if (r->line[k].ref > 0.0) {
            fprintf(f, " of %s", readout_value(r->line[k].ref, r->line[k].unit, v1, sizeof v1));
        }
        rtm_html_text(f, r->line[k].word);
        if (r->line[k].ref > 0.0 && c->max[k] >= r->line[k].ref) {
            fprintf(f, " (full)");
        }
    }
    if (r->more > 0) {
        fprintf(f, "\nand %zu more line%s", r->more, r->more == 1 ? "" : "s");
    }
    fprintf(f, "</title>");
}

/* Every line holds one value in both columns, the same one. */
static bool same_flat(const rtm_readouts_t *r, const rtm_readout_column_t *a,
                      const rtm_readout_column_t *b)
{
    for (size_t k = 0; k < r->nlines; k++) {
        if (a->has[k] != b->has[k]) {
            return false;
        }
        if (a->has[k] && (a->min[k] != a->max[k] || b->min[k] != b->max[k] ||
                          a->min[k] != b->min[k])) {
            return false;
        }
    }
    return true;
}

/* The rect of a run of columns reaches to the next run (right_col): the
 * values hold until the next sample, and the whole plot answers a hover. */
static void readout_rect(const rtm_readouts_t *r, size_t first, size_t right_col, double x_last)
{
    const rtm_chart_t *c = r->c;
    fprintf(c->f, "<rect class=\"hit\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.1f\">",
            c->px0 + (double)first * r->colw, c->py1, (double)(right_col - first) * r->colw,
            c->py0 - c->py1);
    readout_title(r, &r->col[first], x_last);
    fprintf(c->f, "</rect>");
}

void rtm_readouts_end(rtm_readouts_t *r)
{
    /* runs of columns, the empty ones between them included, where every
     * line holds one value: [first, last], the x of their last point */
    size_t first[RTM_READOUT_COLUMNS], last[RTM_READOUT_COLUMNS];
    double x_last[RTM_READOUT_COLUMNS];
    size_t runs = 0;
    for (size_t j = 0; j < r->ncols; j++) {
        const rtm_readout_column_t *c = &r->col[j];
        if (!c->any) {
            continue;
        }
        if (runs > 0 && same_flat(r, &r->col[first[runs - 1u]], c)) {
            last[runs - 1u] = j;
            x_last[runs - 1u] = c->x_last;
            continue;
        }
        first[runs] = last[runs] = j;
        x_last[runs] = c->x_last;
        runs++;
    }
    fprintf(r->c->f, "<g class=\"hits\" fill-opacity=\"0\">");
    for (size_t k = 0; k < runs; k++) {
        readout_rect(r, first[k], k + 1u < runs ? first[k + 1u] : last[k] + 1u, x_last[k]);
    }
    fprintf(r->c->f, "</g>");
}

void rtm_chart_end(rtm_chart_t *c, const char *const *classes, const char *const *texts,
                   size_t n)
{
    double x = c->px0;
    double y = c->height - 8.0;
    for (size_t i = 0; i < n; i++) {
        fprintf(c->f, "<g class=\"legend ");
        rtm_html_text(c->f, classes[i]);
        fprintf(c->f, "\"><line x1=\"%.1f\" x2=\"%.1f\" y1=\"%.1f\" y2=\"%.1f\"/>"
                      "<text class=\"legend-text\" x=\"%.1f\" y=\"%.1f\">", x, x + 18.0, y - 4.0,
                y - 4.0, x + 22.0, y);
        rtm_html_text(c->f, texts[i]);
        fprintf(c->f, "</text></g>");
        x += 40.0 + 7.2 * (double)strlen(texts[i]);
    }
    fprintf(c->f, "</svg>\n");
}

#define BAR_ROW 24.0
#define BAR_LABEL 150.0
#define BAR_NOTE 260.0

void rtm_svg_bars(FILE *f, const char *id, const char *label, const rtm_bar_t *bars, size_t n,
                  rtm_unit_t unit, const char *xtitle, double width)
{
    double max = 0.0;
    for (size_t i = 0; i < n; i++) {
        max = bars[i].value > max ? bars[i].value : max;
        max = bars[i].back > max ? bars[i].back : max;
    }
    double ticks[16], top = max;
    size_t nt = rtm_nice_ticks(0.0, max > 0.0 ? max : 1.0, unit, ticks, 16, &top);
    double h = 10.0 + BAR_ROW * (double)n + 44.0;
    double x0 = BAR_LABEL, x1 = width - BAR_NOTE;
    open_svg(f, id, label, width, h);
    double bottom = 10.0 + BAR_ROW * (double)n;
    char buf[48];
    for (size_t i = 0; i < nt; i++) {
        double x = x0 + (top > 0.0 ? ticks[i] / top : 0.0) * (x1 - x0);
        fprintf(f, "<line class=\"grid\" x1=\"%.1f\" x2=\"%.1f\" y1=\"6\" y2=\"%.1f\"/>", x, x,
                bottom);
        fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">%s</text>",
                x, bottom + 16.0,
                rtm_fmt_tick(ticks[i], unit == RTM_UNIT_BYTES ? top : (nt > 1 ? ticks[1] : 1.0),
                             unit, buf, sizeof buf));
    }
    fprintf(f, "<text class=\"axis-title\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"middle\">",
            (x0 + x1) / 2.0, bottom + 34.0);
    rtm_html_text(f, xtitle);
    fprintf(f, "</text>");
    for (size_t i = 0; i < n; i++) {
        const rtm_bar_t *b = &bars[i];
        double y = 10.0 + BAR_ROW * (double)i;
        double scale = top > 0.0 ? (x1 - x0) / top : 0.0;
        fprintf(f, "<g><title>");
        rtm_html_text(f, b->title != NULL ? b->title : b->label);
        fprintf(f, "</title><text class=\"bar-label\" x=\"%.1f\" y=\"%.1f\" text-anchor=\"end\">",
                x0 - 8.0, y + 15.0);
        rtm_html_text(f, b->label);
        fprintf(f, "</text>");
        if (b->back > 0.0) {
            fprintf(f, "<rect class=\"bar back\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" "
                       "height=\"16\"/>", x0, y + 3.0, b->back * scale);
        }
        double vw = b->value * scale;
        fprintf(f, "<rect class=\"bar ");
        rtm_html_text(f, b->cls != NULL ? b->cls : "");
        fprintf(f, "\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"16\"/>", x0, y + 3.0,
                vw > 0.0 && vw < 1.0 ? 1.0 : vw);
        fprintf(f, "<text class=\"bar-note\" x=\"%.1f\" y=\"%.1f\">", x1 + 8.0, y + 15.0);
        rtm_html_text(f, b->note != NULL ? b->note : "");
        fprintf(f, "</text></g>");
    }
    fprintf(f, "<line class=\"axis\" x1=\"%.1f\" x2=\"%.1f\" y1=\"6\" y2=\"%.1f\"/></svg>\n", x0,
            x0, bottom);
}

#define MAP_ROWS 8u
#define MAP_ROW_H 22.0
#define MAP_GAP 4.0
#define MAP_COLS_MAX 1200u
#define MAP_LEVELS 5u
#define MAP_EXACT_MAX 400u

static void map_rect(FILE *f, double x, double y, double w, const char *cls)
{
    fprintf(f, "<rect class=\"blk %s\" x=\"%.1f\" y=\"%.1f\" width=\"%.1f\" height=\"%.0f\"/>", cls,
            x, y, w, MAP_ROW_H);
}

void rtm_svg_heap_map(FILE *f, const char *id, const char *label, const rtm_map_block_t *b,
                      size_t n, uint64_t total, double width)
{
    double x0 = 10.0;
    double cols = width - 20.0;
    if (cols > (double)MAP_COLS_MAX) {
        cols = (double)MAP_COLS_MAX;
    }
    if (cols < 10.0) {
        cols = 10.0;
    }
    unsigned ncols = (unsigned)cols;
    double h = (double)MAP_ROWS * (MAP_ROW_H + MAP_GAP) + 30.0;
    open_svg(f, id, label, width, h);
    if (total == 0) {
        fprintf(f, "</svg>\n");
        return;
    }
    double cells = (double)MAP_ROWS * (double)ncols;
    double per_cell = (double)total / cells; /* bytes per cell */
    char a[32], s[32];
    /* what no block covers (headers, control structure) shows grey */
    for (unsigned row = 0; row < MAP_ROWS; row++) {
        map_rect(f, x0, 4.0 + row * (MAP_ROW_H + MAP_GAP), (double)ncols, "none");
    }
    if (n <= MAP_EXACT_MAX) {
        fprintf(f, "<g class=\"exact\">");
        for (size_t i = 0; i < n; i++) {
            double c0 = (double)b[i].offset / per_cell;
            double c1 = (double)(b[i].offset + b[i].size) / per_cell;
            if (c1 > cells) {
                c1 = cells;
            }
            fprintf(f, "<g class=\"%s\"><title>+0x%llx: %s %s</title>", b[i].used ? "used" : "free",
                    (unsigned long long)b[i].offset, rtm_fmt_bytes((double)b[i].size, s, sizeof s),
                    b[i].used ? "used" : "free");
            /* a block wraps over rows like text */
            while (c0 < c1) {
                unsigned row = (unsigned)(c0 / ncols);
                double end = (double)(row + 1u) * ncols;
                double seg = c1 < end ? c1 : end;
                double w = seg - c0;
                map_rect(f, x0 + c0 - (double)row * ncols, 4.0 + row * (MAP_ROW_H + MAP_GAP),
                         w < 0.6 ? 0.6 : w, b[i].used ? "used" : "free");
                c0 = seg;
            }
            fprintf(f, "</g>");
        }
        fprintf(f, "</g>");
    } else {
        /* per cell: bytes covered by a block and bytes used; drawn as runs */
        static float covered[MAP_ROWS * MAP_COLS_MAX], used[MAP_ROWS * MAP_COLS_MAX];
        size_t ncell = (size_t)cells;
        memset(covered, 0, ncell * sizeof covered[0]);
        memset(used, 0, ncell * sizeof used[0]);
        for (size_t i = 0; i < n; i++) {
            double lo = (double)b[i].offset, hi = (double)(b[i].offset + b[i].size);
            size_t c = (size_t)(lo / per_cell);
            while (c < ncell && lo < hi) {
                double cend = (double)(c + 1u) * per_cell;
                double part = (hi < cend ? hi : cend) - lo;
                covered[c] += (float)part;
                if (b[i].used) {
                    used[c] += (float)part;
                }
                lo = cend;
                c++;
            }
        }
        static const char *const level[MAP_LEVELS] = {"free", "u1", "u2", "u3", "used"};
        for (unsigned row = 0; row < MAP_ROWS; row++) {
            unsigned start = 0;
            int cur = -2;
            for (unsigned col = 0; col <= ncols; col++) {
                int lv = -2;
                if (col < ncols) {
                    size_t k = (size_t)row * ncols + col;
                    lv = covered[k] <= 0.0f ? -1
                         : (int)lroundf(used[k] / covered[k] * (float)(MAP_LEVELS - 1u));
                }
                if (lv != cur) {
                    if (cur >= 0 && col > start) {
                        map_rect(f, x0 + start, 4.0 + row * (MAP_ROW_H + MAP_GAP),
                                 (double)(col - start), cur < 0 ? "none" : level[cur]);
                    }
                    cur = lv;
                    start = col;
                }
            }
        }
    }
    fprintf(f, "<text class=\"tick\" x=\"%.1f\" y=\"%.1f\">each row %s, address increasing "
               "left to right, top to bottom; heap %s</text></svg>\n",
            x0, h - 8.0, rtm_fmt_bytes((double)total / MAP_ROWS, a, sizeof a),
            rtm_fmt_bytes((double)total, s, sizeof s));
}
