#!/usr/bin/env python3
"""top_screenshot.py RTMEM TELEMETRY OUT.png [COLS ROWS]

A PNG of the real `rtmem top` screen: runs RTMEM top on the TELEMETRY file
in a tmux session of its own (COLS x ROWS, default 120 x 40), waits until
every line of the file is on the screen, captures the pane with its colours
(capture-pane -e), turns the escape sequences into HTML and has headless
Chromium render that to OUT.png. Nothing on the screen is drawn by this
script: it only translates the terminal's colours.

Needs tmux and chromium (Debian: apt-get install tmux chromium) and the
DejaVu Sans Mono font. docs/top.png is made with:
    bash scripts/demo.sh
    python3 scripts/top_screenshot.py build/dev/tools/rtmem \\
        build/demo/firmware_sim.telemetry.jsonl docs/top.png
"""
import html
import os
import re
import shlex
import shutil
import subprocess
import sys
import tempfile
import time

# A dark terminal palette (the 8 ANSI colours, then their bright forms).
PALETTE = ["#1d1f21", "#e0605e", "#8fc65a", "#e6c15a", "#5f9ee0", "#c48ad8", "#4fc1c8", "#d6d8d4",
           "#5c6066", "#ff7b78", "#a9e072", "#ffd86e", "#7ab6ff", "#dba2ef", "#6fdbe2", "#ffffff"]
DEFAULT_FG = "#d6d8d4"
DEFAULT_BG = "#16181b"
FONT_PX = 14
LINE_PX = 17
CHAR_EM = 0.6021  # DejaVu Sans Mono advance width
PAD = 14
TITLE_PX = 30


def capture(rtmem, telemetry, cols, rows):
    server = f"rtmem-top-shot-{os.getpid()}"
    base = ["tmux", "-L", server, "-f", "/dev/null"]
    with open(telemetry, "rb") as f:
        want = sum(1 for _ in f)
    cmd = " ".join(shlex.quote(w) for w in [rtmem, "top", telemetry])
    subprocess.run(base + ["new-session", "-d", "-s", "shot", "-x", str(cols), "-y", str(rows),
                           "-e", "LANG=C.UTF-8", "-e", "LC_ALL=C.UTF-8", "sh", "-c", cmd],
                   check=True)
    try:
        deadline = time.monotonic() + 60
        while True:
            plain = subprocess.run(base + ["capture-pane", "-p", "-t", "shot"],
                                   capture_output=True, text=True).stdout
            if re.search(rf"\b{want} lines\b", plain):
                break
            if time.monotonic() > deadline:
                sys.exit(f"top_screenshot: the screen never showed {want} lines:\n{plain}")
            time.sleep(0.2)
        time.sleep(0.5)  # one more redraw, so the state row has settled
        return subprocess.run(base + ["capture-pane", "-e", "-N", "-p", "-t", "shot"],
                              capture_output=True, text=True, check=True).stdout
    finally:
        subprocess.run(base + ["send-keys", "-t", "shot", "q"])
        time.sleep(0.3)
        subprocess.run(base + ["kill-server"], capture_output=True)
        sock = os.path.join(os.environ.get("TMUX_TMPDIR", "/tmp"), f"tmux-{os.getuid()}", server)
        if os.path.exists(sock):
            os.unlink(sock)  # tmux 3.3 can leave it behind


class Style:
    def __init__(self):
        self.reset()

    def reset(self):
        self.fg = None
        self.bg = None
        self.bold = False
        self.reverse = False

    def apply(self, params):
        codes = [int(p) if p else 0 for p in params.split(";")] if params else [0]
        i = 0
        while i < len(codes):
            c = codes[i]
            if c == 0:
                self.reset()
            elif c == 1:
                self.bold = True
            elif c == 22:
                self.bold = False
            elif c == 7:
                self.reverse = True
            elif c == 27:
                self.reverse = False
            elif 30 <= c <= 37:
                self.fg = PALETTE[c - 30]
            elif 90 <= c <= 97:
                self.fg = PALETTE[c - 90 + 8]
            elif c == 39:
                self.fg = None
            elif 40 <= c <= 47:
                self.bg = PALETTE[c - 40]
            elif 100 <= c <= 107:
                self.bg = PALETTE[c - 100 + 8]
            elif c == 49:
                self.bg = None
            elif c in (38, 48) and i + 2 < len(codes) and codes[i + 1] == 5:
                n = codes[i + 2]
                colour = PALETTE[n] if n < 16 else None
                if c == 38:
                    self.fg = colour
                else:
                    self.bg = colour
                i += 2
            i += 1

    def css(self):
        fg, bg = self.fg or DEFAULT_FG, self.bg or DEFAULT_BG
        if self.reverse:
            fg, bg = bg, fg
        out = f"color:{fg};"
        if bg != DEFAULT_BG:
            out += f"background:{bg};"
        if self.bold:
            out += "font-weight:bold;"
        return out


def to_html(screen, cols, rows, title):
    lines = screen.split("\n")[:rows]
    body = []
    for line in lines:
        style = Style()
        spans = []
        width = 0
        for part in re.split(r"(\x1b\[[0-9;]*m)", line):
            m = re.fullmatch(r"\x1b\[([0-9;]*)m", part)
            if m:
                style.apply(m.group(1))
                continue
            part = re.sub(r"\x1b[^a-zA-Z]*[a-zA-Z]", "", part)  # anything else tmux adds
            if part:
                spans.append(f'<span style="{style.css()}">{html.escape(part)}</span>')
                width += len(part)
        if width < cols:
            spans.append(" " * (cols - width))
        body.append("".join(spans))
    while len(body) < rows:
        body.append(" " * cols)
    w = int(cols * FONT_PX * CHAR_EM + 2 * PAD + 1)
    h = rows * LINE_PX + 2 * PAD + TITLE_PX
    page = f"""<!doctype html>
<html><head><meta charset="utf-8"><style>
html, body {{ margin: 0; background: {DEFAULT_BG}; }}
.bar {{ height: {TITLE_PX}px; background: #2a2d31; color: #a8abb0; font: 13px 'DejaVu Sans', sans-serif;
        display: flex; align-items: center; padding-left: 12px; box-sizing: border-box; }}
.dot {{ width: 12px; height: 12px; border-radius: 6px; margin-right: 8px; display: inline-block; }}
.title {{ flex: 1; text-align: center; margin-right: 72px; }}
pre {{ margin: 0; padding: {PAD}px; font: {FONT_PX}px/{LINE_PX}px 'DejaVu Sans Mono', monospace;
       color: {DEFAULT_FG}; background: {DEFAULT_BG}; }}
</style></head><body>
<div class="bar"><span class="dot" style="background:#e0605e"></span><span class="dot"
 style="background:#e6c15a"></span><span class="dot" style="background:#8fc65a"></span><span
 class="title">{html.escape(title)}</span></div>
<pre>{chr(10).join(body)}</pre>
</body></html>
"""
    return page, w, h


def main():
    if len(sys.argv) not in (4, 6):
        sys.exit(__doc__)
    rtmem, telemetry, out = sys.argv[1:4]
    cols, rows = (int(sys.argv[4]), int(sys.argv[5])) if len(sys.argv) == 6 else (120, 40)
    chromium = shutil.which("chromium") or shutil.which("chromium-browser")
    if chromium is None or shutil.which("tmux") is None:
        sys.exit("top_screenshot: needs tmux and chromium (apt-get install tmux chromium)")
    screen = capture(os.path.abspath(rtmem), telemetry, cols, rows)
    page, w, h = to_html(screen, cols, rows, f"rtmem top {telemetry}")
    with tempfile.TemporaryDirectory(prefix="rtmem-shot-") as tmp:
        path = os.path.join(tmp, "top.html")
        with open(path, "w", encoding="utf-8") as f:
            f.write(page)
        png = os.path.join(tmp, "top.png")
        subprocess.run([chromium, "--headless", "--no-sandbox", "--disable-gpu",
                        "--disable-background-networking", "--disable-component-update",
                        "--disable-sync", "--no-first-run", "--hide-scrollbars",
                        f"--user-data-dir={os.path.join(tmp, 'profile')}",
                        f"--screenshot={png}", f"--window-size={w},{h}", f"file://{path}"],
                       check=True, capture_output=True)
        shutil.copyfile(png, out)
    print(f"top_screenshot: {out} ({w}x{h})")


if __name__ == "__main__":
    main()
