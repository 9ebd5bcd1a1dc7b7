#!/usr/bin/env python3
"""report_render.py RTMEM...

`rtmem report` rendered by a real browser: generates a demo-like input set
(telemetry with several regions, alerts, tasks, pools and advice inside a
serial log; a trace with a leak), writes the report, and loads it in headless
Chromium (Debian package `chromium`):
  - no console message (errors, warnings, anything the page logs); a probe
    page that logs one proves the check sees them;
  - the rendered DOM holds every expected chart with data points (line paths
    with data-points >= 2, bars, heap-map blocks), the line charts with their
    hover readouts (2 to 128 titled rects), and the leak table;
  - a screenshot that is not blank (PNG decoded with zlib: many colours, a
    large share of pixels off the background).
Exit 1 with the reasons on failure; Chromium missing is a failure, not a skip.
RTMEM... is the tool, or the words that run it (an emulator in front of a
-m32 build: the rtmem-under-emulator wrapper of tests/CMakeLists.txt)."""
import html.parser
import os
import random
import shutil
import struct
import subprocess
import sys
import tempfile
import zlib

rtmem = sys.argv[1:]
problems = []


def fail(msg):
    problems.append(msg)


def browser():
    for name in ("chromium", "chromium-browser", "google-chrome"):
        path = shutil.which(name)
        if path:
            return path
    print("report_render: no chromium on PATH (Debian: apt-get install chromium; "
          "scripts/test.sh installs it)")
    sys.exit(1)


def chromium(work, *args):
    profile = tempfile.mkdtemp(dir=work)
    cmd = [browser(), "--headless", "--no-sandbox", "--disable-gpu",
           "--disable-background-networking", "--disable-component-update", "--disable-sync",
           "--no-first-run", "--hide-scrollbars", "--user-data-dir=" + profile,
           "--enable-logging=stderr", "--v=0", *args]
    return subprocess.run(cmd, capture_output=True, text=True, timeout=120)


def console_lines(stderr):
    return [l for l in stderr.splitlines() if ":CONSOLE" in l]


def telemetry(path):
    rnd = random.Random(7)
    regions = [("DRAM", "heap", 191064), ("internal", "caps", 336360), ("PSRAM", "heap", 4194304)]
    lines = ["I (5) boot: ESP-IDF v5.5 2nd stage bootloader", "I (7) app: start"]
    free = {n: t * 0.6 for n, _, t in regions}
    minf = dict(free)
    for seq in range(1, 61):
        ms = 100000 + seq * 500
        for name, kind, total in regions:
            free[name] = max(1000.0, free[name] - rnd.uniform(-900, 1200))
            minf[name] = min(minf[name], free[name])
            largest = int(free[name] * rnd.uniform(0.4, 0.9))
            frag = 1000 - largest * 1000 // int(free[name])
            lines.append('[00:%02d.%03d] {"rtmem":1,"type":"mem","ms":%d,"seq":%d,"name":"%s",'
                         '"kind":"%s","total":%d,"free":%d,"min_free":%d,"largest":%d,'
                         '"used_blocks":%d,"free_blocks":%d,"failed":0,"frag_pm":%d,"alerts":0}'
                         % (seq // 2, seq % 2 * 500, ms, seq, name, kind, total, free[name],
                            minf[name], largest, 40 + seq, 5, frag))
        for i, task in enumerate(("wifi", "mqtt", "<script>alert(1)</script>")):
            lines.append('{"rtmem":1,"type":"task","ms":%d,"seq":%d,"name":"%s","id":%d,'
                         '"heap":%d,"heap_peak":%d,"stack_size":8192,"stack_peak":%d,"alerts":0}'
                         % (ms, seq, task.replace('"', '\\"'), i + 1, 1000 * (i + 1) + seq,
                            3000 * (i + 1), 2000 + 1500 * i))
        lines.append('{"rtmem":1,"type":"pool","ms":%d,"seq":%d,"name":"msgs","block":40,'
                     '"capacity":12,"used":%d,"peak":%d,"failed":%d,"waits":%d,"alerts":0}'
                     % (ms, seq, seq % 12, min(12, seq), seq // 10, seq // 5))
        if seq in (10, 30):
            lines.append('{"rtmem":1,"type":"alert","ms":%d,"alert":"low_free","state":"%s",'
                         '"source":"DRAM","value":40000,"threshold":50000}'
                         % (ms, "raised" if seq == 10 else "cleared"))
        if seq % 7 == 0:
            lines.append("W (%d) wifi: beacon timeout" % ms)
    lines.append('{"rtmem":1,"type":"rec","ms":130000,"rule":"grow_memory","source":"DRAM",'
                 '"size":191064,"min_free":9000,"peak_used":182064,"advised":227580,"fixed":0,'
                 '"text":"DRAM: raise it to at least 227580 B"}')
    open(path, "w").write("\n".join(lines) + "\n")


def trace(path):
    rnd = random.Random(11)
    out = ["# rtmem-trace 1"]
    live = []
    for i in range(6000):
        if live and (len(live) > 300 or rnd.random() < 0.45):
            out.append("f %d" % live.pop(rnd.randrange(len(live))))
        else:
            out.append("a %d %d task=t%d caller=0x%x" % (i, rnd.randint(8, 600), i % 3,
                                                          0x4000 + (i % 5) * 16))
            live.append(i)
    for k in live[10:]:
        out.append("f %d" % k)  # ten blocks leak
    open(path, "w").write("\n".join(out) + "\n")


class Dom(html.parser.HTMLParser):
    def __init__(self):
        super().__init__()
        self.charts = {}
        self.current = None
        self.leak_rows = 0
        self.in_leaks = False

    def handle_starttag(self, tag, attrs):
        a = dict(attrs)
        if tag == "svg" and "rtm-chart" in a.get("class", ""):
            self.current = a.get("id")
            self.charts[self.current] = {"points": [], "bars": 0, "blocks": 0, "hits": 0}
        elif tag == "path" and self.current and a.get("class", "").startswith("line"):
            self.charts[self.current]["points"].append(int(a.get("data-points", "0")))
        elif tag == "rect" and self.current and a.get("class", "").startswith("bar"):
            self.charts[self.current]["bars"] += 1
        elif tag == "rect" and self.current and a.get("class", "") == "hit":
            self.charts[self.current]["hits"] += 1
        elif tag == "rect" and self.current and a.get("class", "").startswith("blk"):
            self.charts[self.current]["blocks"] += 1
        elif tag == "section" and "leaks" in a.get("class", ""):
            self.in_leaks = True
        elif tag == "tr" and self.in_leaks:
            self.leak_rows += 1
        elif tag == "script":
            fail("the page contains a <script> element")

    def handle_endtag(self, tag):
        if tag == "svg":
            self.current = None
        elif tag == "section":
            self.in_leaks = False


def png_pixels(path):
    data = open(path, "rb").read()
    if data[:8] != b"\x89PNG\r\n\x1a\n":
        fail("screenshot is not a PNG")
        return 0, 0, []
    pos, idat = 8, b""
    width = height = 0
    while pos < len(data):
        n, = struct.unpack(">I", data[pos:pos + 4])
        kind, body = data[pos + 4:pos + 8], data[pos + 8:pos + 8 + n]
        pos += 12 + n
        if kind == b"IHDR":
            width, height, depth, colour = struct.unpack(">IIBB", body[:10])
        elif kind == b"IDAT":
            idat += body
    bpp = {6: 4, 2: 3}[colour]
    raw = zlib.decompress(idat)
    stride = width * bpp
    prev = bytearray(stride)
    rows = []
    i = 0
    for _ in range(height):
        f, line = raw[i], bytearray(raw[i + 1:i + 1 + stride])
        i += 1 + stride
        for x in range(stride):
            a = line[x - bpp] if x >= bpp else 0
            b = prev[x]
            c = prev[x - bpp] if x >= bpp else 0
            if f == 1:
                line[x] = (line[x] + a) & 255
            elif f == 2:
                line[x] = (line[x] + b) & 255
            elif f == 3:
                line[x] = (line[x] + (a + b) // 2) & 255
            elif f == 4:
                p = a + b - c
                pa, pb, pc = abs(p - a), abs(p - b), abs(p - c)
                line[x] = (line[x] + (a if pa <= pb and pa <= pc else b if pb <= pc else c)) & 255
        rows.append(bytes(line))
        prev = line
    return width, height, [r[x:x + 3] for r in rows[::4] for x in range(0, stride, bpp * 4)]


def main():
    work = tempfile.mkdtemp(prefix="rtmem_render_")
    try:
        tm, tr, page = (os.path.join(work, n) for n in ("uart.log", "app.trace", "report.html"))
        telemetry(tm)
        trace(tr)
        r = subprocess.run(rtmem + ["report", "-o", page, "--budget", "5", tm, tr],
                           capture_output=True, text=True, timeout=300)
        if r.returncode != 0:
            fail("rtmem report exited %d: %s" % (r.returncode, r.stderr.strip()))
            return work
        url = "file://" + page

        probe = os.path.join(work, "probe.html")
        open(probe, "w").write('<p>probe<script>console.error("rtmem-probe")</script>')
        seen = console_lines(chromium(work, "--dump-dom", "file://" + probe).stderr)
        if not any("rtmem-probe" in l for l in seen):
            fail("the console check does not see a probe page's console.error: it proves nothing")

        r = chromium(work, "--dump-dom", url)
        if r.returncode != 0 or "</html>" not in r.stdout:
            fail("chromium --dump-dom failed (exit %d): %s" % (r.returncode, r.stderr[-500:]))
            return work
        for l in console_lines(r.stderr):
            fail("console: " + l)
        dom = Dom()
        dom.feed(r.stdout)
        want_lines = ["mem-0", "mem-1", "mem-2", "fragmentation-chart", "pools-time-0",
                      "trace-1-live"]
        for cid in want_lines:
            c = dom.charts.get(cid)
            if c is None:
                fail("chart %s missing from the rendered DOM" % cid)
            elif not c["points"] or min(c["points"]) < 2:
                fail("chart %s has lines without data points: %s" % (cid, c["points"]))
            elif not 2 <= c["hits"] <= 128:
                fail("chart %s has %d hover readouts, expected 2 to 128" % (cid, c["hits"]))
        if dom.charts.get("mem-0", {}).get("points", [0])[0] < 60:
            fail("mem-0's free line has fewer points than samples: %s" % dom.charts.get("mem-0"))
        for cid, bars in (("task-heap", 3), ("task-stack", 3), ("pools-chart", 1),
                          ("trace-1-compare", 4)):
            got = dom.charts.get(cid, {}).get("bars", 0)
            if got < bars:
                fail("chart %s has %d bars, expected at least %d" % (cid, got, bars))
        if dom.charts.get("trace-1-heapmap", {}).get("blocks", 0) < 10:
            fail("heap map has no blocks: %s" % dom.charts.get("trace-1-heapmap"))
        if dom.leak_rows < 2:
            fail("leak table has no rows")
        if "&lt;script&gt;alert(1)&lt;/script&gt;" not in r.stdout:
            fail("the task named <script> is not shown as text")

        shot = os.path.join(work, "shot.png")
        r = chromium(work, "--screenshot=" + shot, "--window-size=1280,2400", url)
        if not os.path.exists(shot):
            fail("no screenshot: " + r.stderr[-500:])
            return work
        w, h, px = png_pixels(shot)
        if (w, h) != (1280, 2400):
            fail("screenshot is %dx%d" % (w, h))
        colours = {}
        for p in px:
            colours[p] = colours.get(p, 0) + 1
        top = max(colours.values()) if colours else 0
        off_background = 1.0 - top / max(1, len(px))
        if len(colours) < 50 or off_background < 0.10:
            fail("screenshot looks blank: %d colours, %.1f%% off the background"
                 % (len(colours), off_background * 100))
        print("rendered: %d charts, %d colours, %.0f%% of pixels off the background"
              % (len(dom.charts), len(colours), off_background * 100))
    finally:
        pass
    return work


work = main()
shutil.rmtree(work, ignore_errors=True)
if problems:
    print("report_render: " + "\n  ".join(problems))
    sys.exit(1)
print("report renders in headless chromium: no console messages, charts with data, not blank")
