/* The HTML page of `rtmem report` (report_page.h). */
#include "report_page.h"

#include <inttypes.h>
#include <stdlib.h>
#include <string.h>

#include "report_svg.h"

#define CHART_W 600.0
#define CHART_H 250.0
#define WIDE_W 1140.0

static const char style[] =
    "<style>\n"
    ":root{--ink:#1f2933;--muted:#616e7c;--line:#d9e2ec;--bg:#f5f7fa;--card:#fff;"
    "--free:#2563eb;--min:#dc2626;--largest:#16a34a;--alert:#d97706;--back:#cbd5e1}\n"
    "*{box-sizing:border-box}\n"
    "body{margin:0;background:var(--bg);color:var(--ink);"
    "font:14px/1.45 system-ui,-apple-system,'Segoe UI',Roboto,'DejaVu Sans',sans-serif}\n"
    "header{background:#102a43;color:#f0f4f8;padding:18px 32px}\n"
    "header h1{margin:0;font-size:22px;font-weight:600}\n"
    "header p{margin:4px 0 0;color:#bcccdc;font-size:13px}\n"
    "main{max-width:1240px;margin:0 auto;padding:20px 32px 40px}\n"
    "section{background:var(--card);border:1px solid var(--line);border-radius:8px;"
    "padding:16px 20px;margin:0 0 18px}\n"
    "h2{margin:0 0 4px;font-size:17px}\n"
    "h3{margin:12px 0 2px;font-size:14px}\n"
    ".sub{color:var(--muted);margin:0 0 10px;font-size:13px}\n"
    ".cards{display:flex;flex-wrap:wrap;gap:12px;margin:0 0 18px}\n"
    ".card{flex:1 1 130px;background:var(--card);border:1px solid var(--line);border-radius:8px;"
    "padding:10px 14px}\n"
    ".card b{display:block;font-size:20px;font-weight:600}\n"
    ".card span{color:var(--muted);font-size:12px}\n"
    ".card.warn b{color:var(--min)}\n"
    ".grid{display:grid;grid-template-columns:repeat(auto-fit,minmax(min(480px,100%),1fr));gap:8px 18px}\n"
    ".grid>div{min-width:0}\n"
    "svg.rtm-chart{width:100%;height:auto;display:block}\n"
    "svg text{font-family:inherit;fill:var(--ink)}\n"
    ".plot{fill:#fff}.grid line,line.grid{stroke:#e4e7eb;stroke-width:1}\n"
    ".axis{stroke:#7b8794;stroke-width:1}.tick{font-size:11px;fill:var(--muted)}\n"
    ".axis-title{font-size:12px;fill:var(--muted)}\n"
    ".line{fill:none;stroke-width:1.8;stroke-linejoin:round}\n"
    ".line.free,.legend.free line{stroke:var(--free)}\n"
    ".line.min_free,.legend.min_free line{stroke:var(--min)}\n"
    ".line.min_free{stroke-dasharray:5 3}\n"
    ".line.largest,.legend.largest line{stroke:var(--largest)}\n"
    ".line.live,.legend.live line{stroke:var(--free)}\n"
    ".line.c0{stroke:#2563eb}.line.c1{stroke:#dc2626}.line.c2{stroke:#16a34a}"
    ".line.c3{stroke:#9333ea}.line.c4{stroke:#d97706}.line.c5{stroke:#0891b2}"
    ".line.c6{stroke:#be185d}.line.c7{stroke:#4d7c0f}\n"
    ".legend line{stroke-width:3}.legend.c0 line{stroke:#2563eb}.legend.c1 line{stroke:#dc2626}"
    ".legend.c2 line{stroke:#16a34a}.legend.c3 line{stroke:#9333ea}.legend.c4 line{stroke:#d97706}"
    ".legend.c5 line{stroke:#0891b2}.legend.c6 line{stroke:#be185d}.legend.c7 line{stroke:#4d7c0f}\n"
    ".legend.alert line{stroke:var(--alert);stroke-dasharray:3 2}\n"
    ".line.cap{stroke-width:1.2;stroke-dasharray:7 4}"
    ".legend.cap line{stroke:#7b8794;stroke-width:1.5;stroke-dasharray:7 4}\n"
    ".legend-text{font-size:12px}\n"
    ".marker line{stroke:var(--alert);stroke-width:1.2;stroke-dasharray:3 2}"
    ".marker path{fill:var(--alert)}.marker.cleared line{stroke:#9aa5b1}"
    ".marker.cleared path{fill:#9aa5b1}.marker.peak line{stroke:#102a43}"
    ".marker.peak path{fill:#102a43}\n"
    ".bar{fill:var(--free)}.bar.back{fill:var(--back)}.bar.best{fill:var(--largest)}"
    ".bar.warn{fill:var(--min)}\n"
    ".bar-label{font-size:12px}.bar-note{font-size:12px;fill:var(--muted)}\n"
    ".blk.used{fill:#2563eb}.blk.u3{fill:#5b8def}.blk.u2{fill:#93b4f5}.blk.u1{fill:#c6d7fa}"
    ".blk.free{fill:#e4ecf7}.blk.none{fill:#9aa5b1}.exact .blk{stroke:#fff;stroke-width:.5}\n"
    "table{border-collapse:collapse;width:100%;font-size:13px;margin:6px 0}\n"
    "th,td{text-align:left;padding:5px 8px;border-bottom:1px solid var(--line);"
    "vertical-align:top}\n"
    "th{color:var(--muted);font-weight:600;background:#f8fafc}\n"
    "td.num,th.num{text-align:right;font-variant-numeric:tabular-nums}\n"
    "code{font:12px ui-monospace,'DejaVu Sans Mono',monospace}\n"
    ".raised{color:var(--min);font-weight:600}.cleared{color:var(--muted)}\n"
    ".note{background:#fffbea;border:1px solid #f0b429;border-radius:6px;padding:8px 12px;"
    "margin:0 0 12px}\n"
    ".error{background:#ffeeee;border:1px solid #e12d39;border-radius:6px;padding:8px 12px;"
    "margin:0 0 12px}\n"
    "ul.recs{margin:6px 0;padding-left:20px}ul.recs li{margin:3px 0}\n"
    ".key{display:inline-block;width:12px;height:12px;border-radius:2px;vertical-align:-1px;"
    "margin:0 4px 0 10px}\n"
    "</style>\n";

static void text(FILE *f, const char *s)
{
    rtm_html_text(f, s);
}

static const char *bytes(uint64_t n, char *buf, size_t len)
{
    return rtm_fmt_bytes((double)n, buf, len);
}

static void card(FILE *f, const char *cls, const char *value, const char *label)
{
    fprintf(f, "<div class=\"card %s\"><b>", cls);
    text(f, value);
    fprintf(f, "</b><span>");
    text(f, label);
    fprintf(f, "</span></div>\n");
}

/* The last alert state per (alert, source): raised now? */
static size_t raised_now(const rtm_rep_telemetry_t *tm)
{
    size_t n = 0;
    for (size_t i = 0; i < tm->nalerts; i++) {
        const rtm_tm_alert_t *a = &tm->alerts[i];
        bool later = false;
        for (size_t j = i + 1; j < tm->nalerts && !later; j++) {
            later = strcmp(tm->alerts[j].alert, a->alert) == 0 &&
                    strcmp(tm->alerts[j].source, a->source) == 0;
        }
        n += !later && a->raised;
    }
    return n;
}

/* A series value (a double) back as bytes: 2^64 - 1 from telemetry is
 * 2^64 as a double, which no uint64_t holds (converting it is undefined). */
static uint64_t u64_of(double v)
{
    if (!(v > 0.0)) {
        return 0;
    }
    return v >= 18446744073709551616.0 ? UINT64_MAX : (uint64_t)v;
}

static void summary_cards(FILE *f, const rtm_rep_telemetry_t *tm, const rtm_rep_input_t *in,
                          size_t nin)
{
    char v[64], l[96], b[32];
    fprintf(f, "<div class=\"cards\">\n");
    if (tm->nregions > 0) {
        const rtm_rep_region_t *worst = NULL;
        double worst_share = 2.0;
        for (size_t i = 0; i < tm->nregions; i++) {
            const rtm_rep_region_t *r = tm->regions[i];
            double share = r->last.total ? (double)r->min_free / (double)r->last.total : 1.0;
            if (worst == NULL || share < worst_share) { /* a damaged line can say min_free > total */
                worst_share = share;
                worst = r;
            }
        }
        (void)snprintf(v, sizeof v, "%zu", tm->nregions);
        card(f, "", v, "heaps and regions watched");
        (void)snprintf(v, sizeof v, "%.1f%%", worst_share * 100.0);
        (void)snprintf(l, sizeof l, "lowest minimum free (%s, %s)", worst->last.name,
                       bytes(worst->min_free, b, sizeof b));
        card(f, worst_share < 0.1 ? "warn" : "", v, l);
    }
    if (tm->nalerts > 0) {
        (void)snprintf(v, sizeof v, "%zu", tm->nalerts);
        (void)snprintf(l, sizeof l, "alert changes, %zu raised at the end", raised_now(tm));
        card(f, raised_now(tm) ? "warn" : "", v, l);
    }
    if (tm->ntasks > 0) {
        (void)snprintf(v, sizeof v, "%zu", tm->ntasks);
        card(f, "", v, "tasks");
    }
    if (tm->npools > 0) {
        uint64_t failed = 0;
        for (size_t i = 0; i < tm->npools; i++) {
            failed += tm->pools[i]->last.failed;
        }
        (void)snprintf(v, sizeof v, "%zu", tm->npools);
        (void)snprintf(l, sizeof l, "pools, %" PRIu64 " failed allocations", failed);
        card(f, failed ? "warn" : "", v, l);
    }
    uint64_t lb = 0, lblocks = 0, sites = 0;
    bool any_leaks = false;
    for (size_t i = 0; i < nin; i++) {
        if (in[i].have_leaks) {
            any_leaks = true;
            lb += in[i].leaks.leak_bytes;
            lblocks += in[i].leaks.nleaks;
            sites += in[i].leaks.ngroups;
        }
    }
    if (any_leaks) {
        (void)snprintf(l, sizeof l, "leaked in %" PRIu64 " block%s from %" PRIu64 " call site%s",
                       lblocks, lblocks == 1 ? "" : "s", sites, sites == 1 ? "" : "s");
        card(f, lb ? "warn" : "", bytes(lb, b, sizeof b), l);
    }
    for (size_t i = 0; i < nin; i++) {
        const rtm_rep_trace_t *t = in[i].trace;
        if (t != NULL && t->compared && t->pick < t->nstrat) {
            (void)snprintf(v, sizeof v, "%s", rtm_strategy_name(t->strat[t->pick].id));
            (void)snprintf(l, sizeof l, "recommended strategy, heap %s",
                           bytes(t->heap_size, b, sizeof b));
            card(f, "", v, l);
            break;
        }
    }
    fprintf(f, "</div>\n");
}

static void alert_title(char *buf, size_t len, const rtm_rep_telemetry_t *tm,
                        const rtm_tm_alert_t *a)
{
    (void)snprintf(buf, len, "%.1f s: %s %s on %s (value %" PRId64 ", threshold %" PRId64 ")",
                   (double)rtm_rep_rel_ms(tm, a->ms) / 1000.0, a->alert,
                   a->raised ? "raised" : "cleared", a->source, a->value, a->threshold);
}

static void region_chart(FILE *f, const rtm_rep_telemetry_t *tm, const rtm_rep_region_t *r,
                         size_t index, rtm_point_t *pts)
{
    char id[32], label[160], b1[32], b2[32], b3[32];
    (void)snprintf(id, sizeof id, "mem-%zu", index);
    (void)snprintf(label, sizeof label, "%s: free, minimum free and largest block over time",
                   r->last.name);
    fprintf(f, "<div><h3>");
    text(f, r->last.name);
    fprintf(f, " <span class=\"sub\">(%s, %s; now %s free, minimum %s, largest %s, %" PRIu64
               " samples)</span></h3>\n",
            r->last.kind, bytes(r->last.total, b1, sizeof b1), bytes(r->last.free, b2, sizeof b2),
            bytes(r->min_free, b3, sizeof b3), bytes(r->last.largest, label, sizeof label),
            r->samples);
    double x1 = (double)rtm_rep_rel_ms(tm, tm->last_ms);
    rtm_chart_t c;
    (void)snprintf(label, sizeof label, "%s: free, minimum free and largest block over time",
                   r->last.name);
    rtm_chart_begin(&c, f, id, label, CHART_W, CHART_H, 0.0, x1 > 0.0 ? x1 : 1.0,
                    RTM_UNIT_SECONDS, "time since the first sample (s)", 0.0,
                    (double)r->last.total, RTM_UNIT_BYTES, "bytes");
    struct {
        const rtm_series_t *s;
        const char *cls, *what, *legend;
    } lines[] = {{&r->largest, "largest", "largest free block", "largest block"},
                 {&r->free, "free", "free", "free"},
                 {&r->min_free_s, "min_free", "minimum free ever", "minimum free"}};
    static rtm_readouts_t ro;
    rtm_readouts_begin(&ro, &c, RTM_UNIT_SECONDS);
    for (size_t k = 0; k < 3; k++) {
        size_t n = rtm_series_points(lines[k].s, pts, RTM_SERIES_POINTS_MAX);
        char title[200];
        (void)snprintf(title, sizeof title, "%s %s: from %s to %s, last %s", r->last.name,
                       lines[k].what, bytes(u64_of(lines[k].s->min), b1, sizeof b1),
                       bytes(u64_of(lines[k].s->max), b2, sizeof b2),
                       bytes(u64_of(lines[k].s->used ? lines[k].s->b[lines[k].s->used - 1].last
                                                     : 0.0), b3, sizeof b3));
        rtm_chart_line(&c, pts, n, lines[k].cls, title);
        rtm_readouts_add(&ro, pts, n, lines[k].legend, RTM_UNIT_BYTES, 0.0, "");
    }
    rtm_readouts_end(&ro);
    bool markers = false;
    for (size_t i = 0; i < tm->nalerts; i++) {
        const rtm_tm_alert_t *a = &tm->alerts[i];
        if (strcmp(a->source, r->last.name) != 0) {
            continue;
        }
        char title[200];
        alert_title(title, sizeof title, tm, a);
        rtm_chart_marker(&c, (double)rtm_rep_rel_ms(tm, a->ms), a->raised ? "raised" : "cleared",
                         title);
        markers = true;
    }
    static const char *const cls[] = {"free", "largest", "min_free", "alert"};
    static const char *const txt[] = {"free", "largest block", "minimum free", "alert"};
    rtm_chart_end(&c, cls, txt, markers ? 4u : 3u);
    fprintf(f, "</div>\n");
}

static void memory_section(FILE *f, const rtm_rep_telemetry_t *tm, rtm_point_t *pts)
{
    if (tm->nregions == 0) {
        return;
    }
    fprintf(f, "<section id=\"memory\"><h2>Memory over time</h2>\n<p class=\"sub\">Per heap, "
               "capability region and capability set: free bytes, the minimum ever free and the "
               "largest block malloc can return; dashed orange markers are alerts (hover for "
               "details).</p>\n<div class=\"grid\">\n");
    for (size_t i = 0; i < tm->nregions; i++) {
        region_chart(f, tm, tm->regions[i], i, pts);
    }
    fprintf(f, "</div></section>\n");

    /* fragmentation: the regions that were ever fragmented, on one chart */
    size_t frag = 0;
    for (size_t i = 0; i < tm->nregions; i++) {
        frag += tm->regions[i]->frag_max > 0;
    }
    fprintf(f, "<section id=\"fragmentation\"><h2>Fragmentation over time</h2>\n<p class=\"sub\">"
               "1 - largest free block / free bytes, per region (frag_pm).");
    if (frag == 0) {
        fprintf(f, " No region was ever fragmented.</p></section>\n");
        return;
    }
    if (frag < tm->nregions) {
        fprintf(f, " Not drawn, 0%% throughout:");
        bool first = true;
        for (size_t i = 0; i < tm->nregions; i++) {
            if (tm->regions[i]->frag_max == 0) {
                fprintf(f, "%s", first ? " " : ", ");
                text(f, tm->regions[i]->last.name);
                first = false;
            }
        }
        fprintf(f, ".");
    }
    fprintf(f, "</p>\n");
    double top = 0.0;
    for (size_t i = 0; i < tm->nregions; i++) {
        if ((double)tm->regions[i]->frag_max > top) {
            top = (double)tm->regions[i]->frag_max;
        }
    }
    double x1 = (double)rtm_rep_rel_ms(tm, tm->last_ms);
    rtm_chart_t c;
    rtm_chart_begin(&c, f, "fragmentation-chart", "fragmentation over time per region", WIDE_W,
                    300.0, 0.0, x1 > 0.0 ? x1 : 1.0, RTM_UNIT_SECONDS,
                    "time since the first sample (s)", 0.0, top, RTM_UNIT_PERMILLE,
                    "fragmentation");
    const char *cls[RTM_REP_ITEMS_MAX];
    const char *names[RTM_REP_ITEMS_MAX];
    static const char *const colours[] = {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"};
    static rtm_readouts_t ro;
    rtm_readouts_begin(&ro, &c, RTM_UNIT_SECONDS);
    size_t n = 0;
    for (size_t i = 0; i < tm->nregions; i++) {
        const rtm_rep_region_t *r = tm->regions[i];
        if (r->frag_max == 0) {
            continue;
        }
        size_t np = rtm_series_points(&r->frag, pts, RTM_SERIES_POINTS_MAX);
        char title[160];
        (void)snprintf(title, sizeof title, "%s fragmentation: up to %.1f%%", r->last.name,
                       (double)r->frag_max / 10.0);
        rtm_chart_line(&c, pts, np, colours[n % 8u], title);
        rtm_readouts_add(&ro, pts, np, r->last.name, RTM_UNIT_PERMILLE, 0.0, "");
        cls[n] = colours[n % 8u];
        names[n] = r->last.name;
        n++;
    }
    rtm_readouts_end(&ro);
    rtm_chart_end(&c, cls, names, n);
    fprintf(f, "</section>\n");
}

static void alerts_section(FILE *f, const rtm_rep_telemetry_t *tm)
{
    if (tm->nalerts == 0 && tm->nrecs == 0) {
        return;
    }
    fprintf(f, "<section id=\"alerts\"><h2>Alerts and recommendations</h2>\n");
    if (tm->nalerts > 0) {
        fprintf(f, "<table><tr><th class=\"num\">time (s)</th><th>alert</th><th>state</th>"
                   "<th>source</th><th class=\"num\">value</th><th class=\"num\">threshold</th>"
                   "</tr>\n");
        for (size_t i = 0; i < tm->nalerts; i++) {
            const rtm_tm_alert_t *a = &tm->alerts[i];
            fprintf(f, "<tr><td class=\"num\">%.1f</td><td>",
                    (double)rtm_rep_rel_ms(tm, a->ms) / 1000.0);
            text(f, a->alert);
            fprintf(f, "</td><td class=\"%s\">%s</td><td>", a->raised ? "raised" : "cleared",
                    a->raised ? "raised" : "cleared");
            text(f, a->source);
            fprintf(f, "</td><td class=\"num\">%" PRId64 "</td><td class=\"num\">%" PRId64
                       "</td></tr>\n", a->value, a->threshold);
        }
        fprintf(f, "</table>\n");
    }
    if (tm->nrecs > 0) {
        fprintf(f, "<h3>Recommendations</h3><ul class=\"recs\">\n");
        for (size_t i = 0; i < tm->nrecs; i++) {
            fprintf(f, "<li><code>");
            text(f, tm->recs[i].rule);
            fprintf(f, "</code> ");
            text(f, tm->recs[i].text);
            fprintf(f, "</li>\n");
        }
        fprintf(f, "</ul>\n");
    }
    fprintf(f, "</section>\n");
}

static void tasks_section(FILE *f, const rtm_rep_telemetry_t *tm)
{
    if (tm->ntasks == 0) {
        return;
    }
    size_t n = tm->ntasks;
    rtm_bar_t *bars = calloc(n, sizeof *bars);
    char (*notes)[96] = calloc(n, sizeof *notes);
    char (*titles)[160] = calloc(n, sizeof *titles);
    if (bars == NULL || notes == NULL || titles == NULL) {
        free(bars), free(notes), free(titles);
        return;
    }
    fprintf(f, "<section id=\"tasks\"><h2>Tasks</h2>\n");
    char b1[32], b2[32];
    size_t nb = 0;
    for (size_t i = 0; i < n; i++) {
        const rtm_rep_task_t *t = &tm->tasks[i];
        if (!t->last.has_heap) {
            continue;
        }
        (void)snprintf(notes[nb], sizeof notes[nb], "%s now, peak %s",
                       bytes(t->last.heap, b1, sizeof b1), bytes(t->heap_peak, b2, sizeof b2));
        (void)snprintf(titles[nb], sizeof titles[nb], "%s: heap %" PRIu64 " B now, %" PRIu64
                       " B at most", t->last.name, t->last.heap, t->heap_peak);
        bars[nb] = (rtm_bar_t){.label = t->last.name, .value = (double)t->last.heap,
                               .back = (double)t->heap_peak, .cls = "", .note = notes[nb],
                               .title = titles[nb]};
        nb++;
    }
    if (nb > 0) {
        fprintf(f, "<h3>Heap per task</h3><p class=\"sub\">Requested bytes each task holds: "
                   "<span class=\"key\" style=\"background:var(--free)\"></span>now"
                   "<span class=\"key\" style=\"background:var(--back)\"></span>its peak</p>\n");
        rtm_svg_bars(f, "task-heap", "heap per task, now and peak", bars, nb, RTM_UNIT_BYTES,
                     "bytes", WIDE_W);
    }
    nb = 0;
    for (size_t i = 0; i < n; i++) {
        const rtm_rep_task_t *t = &tm->tasks[i];
        if (!t->last.has_stack) {
            continue;
        }
        double pct = t->last.stack_size ? 100.0 * (double)t->stack_peak /
                                              (double)t->last.stack_size : 0.0;
        (void)snprintf(notes[nb], sizeof notes[nb], "%s of %s (%.0f%%)",
                       bytes(t->stack_peak, b1, sizeof b1), bytes(t->last.stack_size, b2, sizeof b2),
                       pct);
        (void)snprintf(titles[nb], sizeof titles[nb], "%s: stack high-water %" PRIu64 " B of %"
                       PRIu64 " B", t->last.name, t->stack_peak, t->last.stack_size);
        bars[nb] = (rtm_bar_t){.label = t->last.name, .value = (double)t->stack_peak,
                               .back = (double)t->last.stack_size,
                               .cls = pct >= 90.0 ? "warn" : "", .note = notes[nb],
                               .title = titles[nb]};
        nb++;
    }
    if (nb > 0) {
        fprintf(f, "<h3>Stack high-water mark per task</h3><p class=\"sub\">"
                   "<span class=\"key\" style=\"background:var(--free)\"></span>deepest use "
                   "(red from 90%%)<span class=\"key\" style=\"background:var(--back)\"></span>"
                   "stack size</p>\n");
        rtm_svg_bars(f, "task-stack", "stack high-water mark against stack size per task", bars,
                     nb, RTM_UNIT_BYTES, "bytes", WIDE_W);
    }
    fprintf(f, "</section>\n");
    free(bars), free(notes), free(titles);
}

#define POOLS_PER_CHART 8u

/* Blocks in use over time for pools first..first+n-1 (at most
 * POOLS_PER_CHART, one colour each): a line per pool, its capacity as a
 * dashed line of its colour, the alerts on those pools as markers. */
static void pools_time_chart(FILE *f, const rtm_rep_telemetry_t *tm, size_t first, size_t n,
                             rtm_point_t *pts)
{
    static const char *const colours[] = {"c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7"};
    static const char *const cap_colours[] = {"cap c0", "cap c1", "cap c2", "cap c3",
                                              "cap c4", "cap c5", "cap c6", "cap c7"};
    char id[32], title[256];
    double top = 1.0;
    for (size_t i = first; i < first + n; i++) {
        const rtm_rep_pool_t *p = tm->pools[i];
        top = (double)p->capacity_max > top ? (double)p->capacity_max : top;
        top = (double)p->used_max > top ? (double)p->used_max : top;
    }
    double x1 = (double)rtm_rep_rel_ms(tm, tm->last_ms);
    x1 = x1 > 0.0 ? x1 : 1.0;
    (void)snprintf(id, sizeof id, "pools-time-%zu", first / POOLS_PER_CHART);
    rtm_chart_t c;
    rtm_chart_begin(&c, f, id, "pool blocks in use over time, with capacity", WIDE_W, 280.0, 0.0,
                    x1, RTM_UNIT_SECONDS, "time since the first sample (s)", 0.0, top,
                    RTM_UNIT_COUNT, "blocks in use");
    static rtm_readouts_t ro;
    rtm_readouts_begin(&ro, &c, RTM_UNIT_SECONDS);
    const char *cls[POOLS_PER_CHART + 2u];
    const char *names[POOLS_PER_CHART + 2u];
    for (size_t k = 0; k < n; k++) {
        const rtm_rep_pool_t *p = tm->pools[first + k];
        const rtm_point_t cap[2] = {{0.0, (double)p->last.capacity},
                                    {x1, (double)p->last.capacity}};
        if (p->capacity_min != p->capacity_max) {
            (void)snprintf(title, sizeof title, "%s capacity: %" PRIu64 " blocks (earlier "
                           "samples: %" PRIu64 " to %" PRIu64 ")", p->last.name,
                           p->last.capacity, p->capacity_min, p->capacity_max);
        } else {
            (void)snprintf(title, sizeof title, "%s capacity: %" PRIu64 " blocks", p->last.name,
                           p->last.capacity);
        }
        rtm_chart_line(&c, cap, 2, cap_colours[k], title);
        size_t np = rtm_series_points(&p->used, pts, RTM_SERIES_POINTS_MAX);
        (void)snprintf(title, sizeof title, "%s blocks in use: from %" PRIu64 " to %" PRIu64
                       " of %" PRIu64 ", last %" PRIu64, p->last.name, p->used_min, p->used_max,
                       p->last.capacity, p->last.used);
        rtm_chart_line(&c, pts, np, colours[k], title);
        rtm_readouts_add(&ro, pts, np, p->last.name, RTM_UNIT_COUNT,
                         (double)p->last.capacity, " blocks");
        cls[k] = colours[k];
        names[k] = p->last.name;
    }
    rtm_readouts_end(&ro);
    bool markers = false;
    for (size_t i = 0; i < tm->nalerts; i++) {
        const rtm_tm_alert_t *a = &tm->alerts[i];
        bool ours = false;
        for (size_t k = 0; k < n && !ours; k++) {
            ours = strcmp(a->source, tm->pools[first + k]->last.name) == 0;
        }
        if (!ours) {
            continue;
        }
        alert_title(title, sizeof title, tm, a);
        rtm_chart_marker(&c, (double)rtm_rep_rel_ms(tm, a->ms), a->raised ? "raised" : "cleared",
                         title);
        markers = true;
    }
    cls[n] = "cap";
    names[n] = "capacity (dashed)";
    cls[n + 1u] = "alert";
    names[n + 1u] = "alert";
    rtm_chart_end(&c, cls, names, n + (markers ? 2u : 1u));
}

static void pools_section(FILE *f, const rtm_rep_telemetry_t *tm, rtm_point_t *pts)
{
    if (tm->npools == 0) {
        return;
    }
    size_t n = tm->npools;
    rtm_bar_t *bars = calloc(n, sizeof *bars);
    char (*notes)[96] = calloc(n, sizeof *notes);
    if (bars == NULL || notes == NULL) {
        free(bars), free(notes);
        return;
    }
    fprintf(f, "<section id=\"pools\"><h2>Pools</h2>\n<h3>Blocks in use over time</h3>"
               "<p class=\"sub\">Per pool (up to %u on a chart): blocks in use, its capacity "
               "dashed in the same colour; dashed orange markers are alerts on the pools "
               "(<code>pool_exhausted</code>). Hover for the values at a time.</p>\n",
            POOLS_PER_CHART);
    for (size_t i = 0; i < n; i += POOLS_PER_CHART) {
        pools_time_chart(f, tm, i, n - i < POOLS_PER_CHART ? n - i : POOLS_PER_CHART, pts);
    }
    fprintf(f, "<h3>Peak against capacity</h3><p class=\"sub\">Blocks: "
               "<span class=\"key\" style=\"background:var(--free)\"></span>peak in use"
               "<span class=\"key\" style=\"background:var(--back)\"></span>capacity</p>\n");
    for (size_t i = 0; i < n; i++) {
        const rtm_rep_pool_t *p = tm->pools[i];
        (void)snprintf(notes[i], sizeof notes[i], "peak %" PRIu64 " of %" PRIu64 ", now %" PRIu64,
                       p->peak, p->last.capacity, p->last.used);
        bars[i] = (rtm_bar_t){.label = p->last.name, .value = (double)p->peak,
                              .back = (double)p->last.capacity,
                              .cls = p->peak >= p->last.capacity ? "warn" : "", .note = notes[i],
                              .title = notes[i]};
    }
    rtm_svg_bars(f, "pools-chart", "pool blocks in use at the peak against capacity", bars, n,
                 RTM_UNIT_COUNT, "blocks", WIDE_W);
    fprintf(f, "<table><tr><th>pool</th><th class=\"num\">block</th><th class=\"num\">capacity"
               "</th><th class=\"num\">used</th><th class=\"num\">peak</th><th class=\"num\">"
               "failed</th><th class=\"num\">waits</th></tr>\n");
    for (size_t i = 0; i < n; i++) {
        const rtm_tm_pool_t *p = &tm->pools[i]->last;
        fprintf(f, "<tr><td>");
        text(f, p->name);
        fprintf(f, "</td><td class=\"num\">%" PRIu64 " B</td><td class=\"num\">%" PRIu64
                   "</td><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%" PRIu64
                   "</td><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%" PRIu64
                   "</td></tr>\n", p->block, p->capacity, p->used, tm->pools[i]->peak, p->failed,
                p->waits);
    }
    fprintf(f, "</table></section>\n");
    free(bars), free(notes);
}

static void leaks_section(FILE *f, const rtm_rep_input_t *in, size_t index)
{
    const lk_leaks_t *l = &in->leaks;
    char b1[32];
    fprintf(f, "<section class=\"leaks\" id=\"leaks-%zu\"><h2>Leaks: ", index);
    text(f, in->name);
    fprintf(f, "</h2>\n<p class=\"sub\">");
    text(f, lk_format_name(in->leaks_in.format));
    fprintf(f, ": %s in %zu block%s still allocated%s, from %zu call site%s (as "
               "<code>rtmem leaks</code> groups them).</p>\n",
            bytes(l->leak_bytes, b1, sizeof b1), l->nleaks, l->nleaks == 1 ? "" : "s",
            in->leaks_in.checkpoint_seen ? " since the last checkpoint" : "", l->ngroups,
            l->ngroups == 1 ? "" : "s");
    if (in->leaks_in.cut_off) {
        fprintf(f, "<p class=\"note\">Incomplete dump: ");
        text(f, in->leaks_in.cut_reason);
        fprintf(f, ". The leaks below are those of the part read.</p>\n");
    }
    if (in->sym_err[0] != '\0') {
        fprintf(f, "<p class=\"note\">Not symbolized: ");
        text(f, in->sym_err);
        fprintf(f, "</p>\n");
    }
    if (l->ngroups == 0) {
        fprintf(f, "<p>Nothing leaked.</p></section>\n");
        return;
    }
    fprintf(f, "<table><tr><th class=\"num\">#</th><th class=\"num\">bytes</th><th class=\"num\">"
               "blocks</th><th class=\"num\">sizes</th><th>task</th><th>heap</th>"
               "<th>call site</th></tr>\n");
    size_t shown = l->ngroups < 200u ? l->ngroups : 200u;
    for (size_t g = 0; g < shown; g++) {
        const lk_group_t *G = &l->groups[g];
        fprintf(f, "<tr><td class=\"num\">%zu</td><td class=\"num\">%" PRIu64
                   "</td><td class=\"num\">%zu</td><td class=\"num\">",
                g + 1u, G->bytes, G->blocks);
        if (G->min_size == G->max_size) {
            fprintf(f, "%" PRIu64, G->min_size);
        } else {
            fprintf(f, "%" PRIu64 "..%" PRIu64, G->min_size, G->max_size);
        }
        fprintf(f, "</td><td>");
        char names[LK_GROUP_TASKS_MAX];
        text(f, lk_group_tasks(l, G, names));
        fprintf(f, "</td><td>");
        text(f, lk_group_regions(l, G, names));
        fprintf(f, "</td><td>");
        if (lk_rec_site(G->first)[0]) {
            fprintf(f, "<code>");
            text(f, lk_rec_site(G->first));
            fprintf(f, "</code><br>");
        }
        for (unsigned k = 0; k < lk_rec_ncallers(G->first); k++) {
            const sym_entry_t *e = in->syms != NULL
                                       ? lk_find_sym(in->syms, in->nsyms, lk_rec_callers(G->first)[k])
                                       : NULL;
            fprintf(f, "%s<code>0x%08" PRIx64 "</code>", k ? "<br>&larr; " : "",
                    lk_rec_callers(G->first)[k]);
            if (e != NULL) {
                fprintf(f, " <code>");
                text(f, e->function);
                fprintf(f, "</code> ");
                text(f, e->file);
                fprintf(f, ":%lu", e->line);
            }
        }
        if (lk_rec_ncallers(G->first) == 0 && !lk_rec_site(G->first)[0]) {
            fprintf(f, "(no caller recorded)");
        }
        fprintf(f, "</td></tr>\n");
    }
    fprintf(f, "</table>\n");
    if (shown < l->ngroups) {
        fprintf(f, "<p class=\"sub\">%zu more call sites: see <code>rtmem leaks</code>.</p>\n",
                l->ngroups - shown);
    }
    fprintf(f, "</section>\n");
}

static void trace_section(FILE *f, const rtm_rep_input_t *in, size_t index, rtm_point_t *pts)
{
    const rtm_rep_trace_t *t = in->trace;
    char id[48], b1[32], b2[32], title[256];
    fprintf(f, "<section class=\"trace\" id=\"trace-%zu\"><h2>Trace: ", index);
    text(f, in->name);
    fprintf(f, "</h2>\n");
    if (t->ops > 0) {
        fprintf(f, "<p class=\"sub\">%" PRIu64 " operations; live bytes peak at %s in "
                   "operation %" PRIu64 " (line %lu), %zu blocks live at most; %s live at the "
                   "end.</p>\n",
                t->ops, bytes(t->peak_live, b1, sizeof b1), t->peak_op, t->peak_line,
                t->peak_blocks, bytes(t->end_live, b2, sizeof b2));
    }
    if (in->trace_note[0] != '\0') {
        fprintf(f, "<p class=\"note\">");
        text(f, in->trace_note);
        fprintf(f, "</p>\n");
    }
    if (t->ops == 0) {
        fprintf(f, "</section>\n");
        return;
    }
    (void)snprintf(id, sizeof id, "trace-%zu-live", index);
    rtm_chart_t c;
    rtm_chart_begin(&c, f, id, "live bytes over operations", WIDE_W, 280.0, 0.0,
                    (double)(t->ops > 1 ? t->ops : 2), RTM_UNIT_COUNT, "operation",
                    0.0, (double)t->peak_live, RTM_UNIT_BYTES, "live bytes (requested)");
    size_t n = rtm_series_points(&t->live, pts, RTM_SERIES_POINTS_MAX);
    (void)snprintf(title, sizeof title, "live bytes: %" PRIu64 " operations drawn as %zu points "
                   "(minimum and maximum of each slice)", t->ops, n);
    rtm_chart_line(&c, pts, n, "live", title);
    static rtm_readouts_t ro;
    rtm_readouts_begin(&ro, &c, RTM_UNIT_COUNT);
    rtm_readouts_add(&ro, pts, n, "live bytes", RTM_UNIT_BYTES, 0.0, "");
    rtm_readouts_end(&ro);
    (void)snprintf(title, sizeof title, "peak: %" PRIu64 " bytes at operation %" PRIu64
                   " (line %lu)", t->peak_live, t->peak_op, t->peak_line);
    rtm_chart_marker(&c, (double)t->peak_op, "peak", title);
    static const char *const cls[] = {"live"};
    static const char *const txt[] = {"live bytes"};
    rtm_chart_end(&c, cls, txt, 1);

    if (t->compared && t->nstrat > 0) {
        rtm_bar_t bars[RTM_STRATEGY_COUNT];
        char notes[RTM_STRATEGY_COUNT][96], titles[RTM_STRATEGY_COUNT][200];
        size_t nb = 0;
        for (size_t k = 0; k < t->nstrat; k++) {
            const rtm_rep_strategy_t *s = &t->strat[k];
            if (!s->ran) {
                continue;
            }
            size_t v = t->pick_checked ? s->min_size : s->high_water;
            (void)snprintf(notes[nb], sizeof notes[nb], "%s, %" PRIu64 " ns/op%s",
                           bytes(v, b1, sizeof b1), s->median_ns,
                           k == t->pick ? " (recommended)" : "");
            (void)snprintf(titles[nb], sizeof titles[nb], "%s: %s %zu bytes%s%s",
                           rtm_strategy_name(s->id),
                           t->pick_checked ? "checked minimum heap" : "high-water mark",
                           v, s->why != NULL && !t->pick_checked ? "; " : "",
                           s->why != NULL && !t->pick_checked ? s->why : "");
            bars[nb] = (rtm_bar_t){.label = rtm_strategy_name(s->id), .value = (double)v,
                                   .cls = k == t->pick ? "best" : "", .note = notes[nb],
                                   .title = titles[nb]};
            nb++;
        }
        fprintf(f, "<h3>Strategy comparison</h3><p class=\"sub\">");
        if (t->pick_checked) {
            fprintf(f, "Minimum heap size per strategy, checked as <code>rtmem compare</code> "
                       "checks it (the trace completes at that size and fails 16 bytes below).");
        } else {
            fprintf(f, "High-water mark per strategy (heap size minus the lowest free bytes of "
                       "one replay at a generous size): a checked minimum search (<code>rtmem "
                       "compare</code>) did not fit the time budget (--budget). The minimum is "
                       "at least this; run <code>rtmem compare</code> for the checked figure.");
        }
        fprintf(f, " Green: the recommendation (rtmem compare's rule: among the sizes within "
                   "10%% of the smallest, the smallest heap of those whose median time is at "
                   "most twice the fastest).");
        if (t->pick < t->nstrat) {
            fprintf(f, " Recommended: <b>%s</b> with a %zu-byte heap (%s + 25%%, rounded up to "
                       "1 KiB).", rtm_strategy_name(t->strat[t->pick].id), t->heap_size,
                    t->pick_checked ? "its minimum" : "its high-water mark");
        }
        fprintf(f, "</p>\n");
        (void)snprintf(id, sizeof id, "trace-%zu-compare", index);
        if (nb > 0) {
            rtm_svg_bars(f, id, "heap size needed per strategy", bars, nb, RTM_UNIT_BYTES,
                         t->pick_checked ? "minimum heap size" : "high-water mark", WIDE_W);
        }
        for (size_t k = 0; k < t->nstrat; k++) {
            const rtm_rep_strategy_t *s = &t->strat[k];
            if (!s->ran) {
                fprintf(f, "<p class=\"sub\">%s: %s.</p>\n", rtm_strategy_name(s->id),
                        s->why != NULL ? s->why : "not measured");
            }
        }
    }
    if (t->mapped) {
        fprintf(f, "<h3>Heap map at the peak</h3><p class=\"sub\">");
        text(f, t->map_note);
        fprintf(f, ": %zu blocks, %s in used blocks, %s in free blocks",
                t->nblocks, bytes(t->map_used, b1, sizeof b1), bytes(t->map_free, b2, sizeof b2));
        if (t->map_failed) {
            fprintf(f, ", %" PRIu64 " allocations failed on the way", t->map_failed);
        }
        fprintf(f, ". <span class=\"key\" style=\"background:#2563eb\"></span>used"
                   "<span class=\"key\" style=\"background:#e4ecf7;border:1px solid #bcccdc\">"
                   "</span>free<span class=\"key\" style=\"background:#9aa5b1\"></span>headers "
                   "and control structure; shades of blue: pixels holding both.</p>\n");
        (void)snprintf(id, sizeof id, "trace-%zu-heapmap", index);
        rtm_svg_heap_map(f, id, "heap map at the peak: used and free blocks by address",
                         t->blocks, t->nblocks, t->map_total, WIDE_W);
    } else if (t->map_note[0] != '\0') {
        fprintf(f, "<p class=\"sub\">");
        text(f, t->map_note);
        fprintf(f, "</p>\n");
    }
    fprintf(f, "</section>\n");
}

int rtm_rep_page_write(FILE *f, const rtm_rep_telemetry_t *tm, const rtm_rep_input_t *in,
                       size_t nin, const char *elf)
{
    rtm_point_t *pts = malloc(RTM_SERIES_POINTS_MAX * sizeof *pts);
    if (pts == NULL) {
        return -1;
    }
    fprintf(f, "<!DOCTYPE html>\n<html lang=\"en\"><head><meta charset=\"utf-8\">\n"
               "<meta name=\"viewport\" content=\"width=device-width,initial-scale=1\">\n"
               "<title>rtmem report</title>\n%s</head><body>\n<header><h1>rtmem report</h1><p>",
            style);
    for (size_t i = 0; i < nin; i++) {
        fprintf(f, "%s", i ? " &middot; " : "");
        text(f, in[i].name);
    }
    if (elf != NULL) {
        fprintf(f, " &middot; symbols from ");
        text(f, elf);
    }
    fprintf(f, "</p></header>\n<main>\n");
    for (size_t i = 0; i < nin; i++) {
        if (in[i].err[0] != '\0') {
            fprintf(f, "<p class=\"error\">Reading stopped at a malformed line: <code>");
            text(f, in[i].err);
            fprintf(f, "</code>. Everything before it is shown.</p>\n");
        }
    }
    summary_cards(f, tm, in, nin);
    memory_section(f, tm, pts);
    alerts_section(f, tm);
    tasks_section(f, tm);
    pools_section(f, tm, pts);
    for (size_t i = 0; i < nin; i++) {
        if (in[i].have_leaks && (in[i].leaks_in.format != LK_FMT_RTMEM || in[i].leaks.nleaks > 0 ||
                                 in[i].trace != NULL)) {
            leaks_section(f, &in[i], i);
        }
    }
    for (size_t i = 0; i < nin; i++) {
        if (in[i].trace != NULL && (in[i].trace->ops > 0 || in[i].trace_note[0] != '\0')) {
            trace_section(f, &in[i], i, pts);
        }
    }
    fprintf(f, "<section id=\"inputs\"><h2>Inputs</h2><table><tr><th>file</th><th class=\"num\">"
               "lines</th><th class=\"num\">telemetry</th><th>content</th></tr>\n");
    for (size_t i = 0; i < nin; i++) {
        fprintf(f, "<tr><td>");
        text(f, in[i].name);
        fprintf(f, "</td><td class=\"num\">%" PRIu64 "</td><td class=\"num\">%" PRIu64 "</td><td>",
                in[i].lines, in[i].tm_lines);
        const char *sep = "";
        if (in[i].tm_lines > 0) {
            fprintf(f, "telemetry");
            sep = ", ";
        }
        if (in[i].have_leaks) {
            fprintf(f, "%s", sep);
            text(f, lk_format_name(in[i].leaks_in.format));
            sep = ", ";
        }
        if (*sep == '\0') {
            fprintf(f, "nothing rtmem reads");
        }
        fprintf(f, "</td></tr>\n");
    }
    /* Names past the model's limit and events past its table are counted,
     * not kept: the page says what it leaves out. */
    fprintf(f, "</table>");
    if (tm->items_dropped != 0) {
        fprintf(f, "<p class=\"sub\">Only the first %u regions, %u tasks and %u pools "
                   "(by name) are shown: %" PRIu64 " lines of others were left out.</p>\n",
                RTM_REP_ITEMS_MAX, RTM_REP_ITEMS_MAX, RTM_REP_ITEMS_MAX, tm->items_dropped);
    }
    if (tm->events_dropped != 0) {
        fprintf(f, "<p class=\"sub\">Only the first %u alerts and %u recommendations are "
                   "kept: %" PRIu64 " more were left out.</p>\n",
                RTM_REP_EVENTS_MAX, RTM_REP_EVENTS_MAX, tm->events_dropped);
    }
    fprintf(f, "<p class=\"sub\">Telemetry: %" PRIu64 " lines (%" PRIu64 " mem, %" PRIu64
               " task, %" PRIu64 " pool, %" PRIu64 " alert, %" PRIu64 " rec, %" PRIu64
               " trace). Charts are down-sampled to at most %u slices per line, each drawn "
               "with its minimum and maximum. Made by <code>rtmem report</code>.</p></section>\n"
               "</main></body></html>\n",
            tm->lines, tm->by_type[RTM_TM_MEM], tm->by_type[RTM_TM_TASK], tm->by_type[RTM_TM_POOL],
            tm->by_type[RTM_TM_ALERT], tm->by_type[RTM_TM_REC], tm->by_type[RTM_TM_TRACE],
            RTM_SERIES_BUCKETS);
    free(pts);
    return ferror(f) ? -1 : 0;
}
