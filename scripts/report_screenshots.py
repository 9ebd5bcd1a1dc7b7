#!/usr/bin/env python3
"""report_screenshots.py REPORT.html OUTDIR

The screenshots of docs/report.md and README.md, from a real report (the
demo's: bash scripts/demo.sh writes build/demo/report.html) with headless
Chromium: OUTDIR/report.png is the top of the page; OUTDIR/report-trace.png
shows its leak and trace sections (the same page with the sections above
them left out, so that the browser draws them at the top)."""
import os
import re
import shutil
import subprocess
import sys
import tempfile

page, outdir = sys.argv[1:3]
chromium = shutil.which("chromium") or shutil.which("chromium-browser")
if not chromium:
    sys.exit("report_screenshots: no chromium on PATH (apt-get install chromium)")
work = tempfile.mkdtemp(prefix="rtmem_shots_")


def shot(html_path, png, height):
    subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                    "--disable-background-networking", "--disable-component-update",
                    "--disable-sync", "--no-first-run", "--hide-scrollbars",
                    "--user-data-dir=" + tempfile.mkdtemp(dir=work),
                    "--screenshot=" + png, "--window-size=1280,%d" % height,
                    "file://" + os.path.abspath(html_path)],
                   check=True, capture_output=True, timeout=120)


try:
    shot(page, os.path.join(outdir, "report.png"), 1000)
    text = open(page, encoding="utf-8").read()
    body_start = text.index("<main>") + len("<main>")
    first = min(text.index(m) for m in ('<section class="leaks"', '<section class="trace"')
                if m in text)
    trimmed = os.path.join(work, "trace.html")
    open(trimmed, "w", encoding="utf-8").write(text[:body_start] + text[first:])
    shot(trimmed, os.path.join(outdir, "report-trace.png"), 1250)
finally:
    shutil.rmtree(work, ignore_errors=True)
print("wrote %s/report.png and %s/report-trace.png" % (outdir, outdir))
