#!/usr/bin/env python3
"""export_check.py RTMEM

`rtmem export` against the formats it promises (docs/formats.md, "Chrome
trace export" and "Folded stacks export"), on inputs generated here:

- chrome: the output is UTF-8 JSON (strict: no control byte in a string,
  no NaN) of the JSON Object Format; every event has name, ph, ts, pid,
  tid of the right types, "C" events numeric args, "i" events a scope, "M"
  events a name; a process_name and a thread_name for every pid/tid used;
  timestamps non-decreasing per track; the counters carry the telemetry's
  values; an input error still gives valid JSON holding the events before
  it (exit 2, FILE:LINE on stderr); a clock that wraps at 2^32 and one that
  restarts stay monotonic; memory does not grow with the input.
- folded: every line matches ^[^\\n]+ [0-9]+$, frames are non-empty and
  hold no ';' or control byte, the counts add up to `rtmem leaks --json`'s
  alive_bytes for the same input (rtmem traces, ESP-IDF dumps), and to the
  peak live bytes with --at peak; --elf names frames.
- hostile names (quotes, backslashes, control bytes, ';', newlines,
  invalid UTF-8) in telemetry and traces give valid JSON and valid folded
  lines.
Exit 1 with the list of failures."""
import json
import os
import random
import re
import shutil
import subprocess
import sys
import tempfile

RTMEM = sys.argv[1]
TMP = tempfile.mkdtemp(prefix="rtm_export_")
failures = []


def fail(msg):
    failures.append(msg)


def path(name):
    return os.path.join(TMP, name)


def write(name, data):
    with open(path(name), "wb") as f:
        f.write(data if isinstance(data, bytes) else data.encode())
    return path(name)


def run(*args, stdin=None):
    p = subprocess.run([RTMEM, *args], input=stdin, capture_output=True)
    return p.returncode, p.stdout, p.stderr.decode("utf-8", "replace")


def no_constants(name):
    raise ValueError(f"non-JSON constant {name}")


def load_json(raw, what):
    try:
        text = raw.decode("utf-8")  # strict: JSON text is UTF-8
        return json.loads(text, parse_constant=no_constants)  # strict: no raw control bytes
    except (UnicodeDecodeError, ValueError) as e:
        fail(f"{what}: not valid JSON: {e}")
        return None


def is_num(v):
    return isinstance(v, (int, float)) and not isinstance(v, bool)


def check_chrome(raw, what):
    """Schema of the trace-event JSON Object Format; returns the events."""
    doc = load_json(raw, what)
    if doc is None:
        return []
    if not isinstance(doc, dict) or not isinstance(doc.get("traceEvents"), list):
        fail(f"{what}: no traceEvents array")
        return []
    if doc.get("displayTimeUnit") not in ("ms", "ns"):
        fail(f"{what}: displayTimeUnit is {doc.get('displayTimeUnit')!r}")
    events = doc["traceEvents"]
    last_ts = {}
    names = {}
    used = set()
    for i, e in enumerate(events):
        where = f"{what}: event {i} {e!r}"[:300]
        if not isinstance(e, dict):
            fail(f"{where}: not an object")
            continue
        for key, typ in (("name", str), ("ph", str), ("pid", int), ("tid", int)):
            if not isinstance(e.get(key), typ) or isinstance(e.get(key), bool):
                fail(f"{where}: '{key}' missing or not {typ.__name__}")
        if not is_num(e.get("ts")) or e.get("ts", -1) < 0:
            fail(f"{where}: 'ts' missing or not a non-negative number")
            continue
        ph = e.get("ph")
        args = e.get("args")
        if ph == "M":
            if e.get("name") not in ("process_name", "thread_name"):
                fail(f"{where}: metadata name")
            if not isinstance(args, dict) or not isinstance(args.get("name"), str):
                fail(f"{where}: metadata without args.name")
            names[(e["name"], e["pid"], e["tid"] if e["name"] == "thread_name" else None)] = args
            continue
        if ph == "C":
            if not isinstance(args, dict) or not args or not all(is_num(v) for v in args.values()):
                fail(f"{where}: counter args must be numbers")
            track = ("C", e["pid"], e["name"])
        elif ph == "i":
            if e.get("s") not in ("g", "p", "t"):
                fail(f"{where}: instant event without scope s")
            if args is not None and not isinstance(args, dict):
                fail(f"{where}: args not an object")
            track = ("i", e["pid"], e.get("s"))
        else:
            fail(f"{where}: unexpected phase {ph!r}")
            continue
        used.add((e["pid"], e["tid"]))
        for t in (track, ("input", e["pid"])):  # per track, and all of an input
            if e["ts"] < last_ts.get(t, 0):
                fail(f"{where}: ts goes back on {t} ({last_ts[t]} before)")
            last_ts[t] = e["ts"]
    for pid, tid in used:
        if ("process_name", pid, None) not in names:
            fail(f"{what}: no process_name for pid {pid}")
        if ("thread_name", pid, tid) not in names:
            fail(f"{what}: no thread_name for pid {pid} tid {tid}")
    return events


FOLDED_LINE = re.compile(r"^[^\n]+ [0-9]+$")


def check_folded(raw, what):
    """Lines of the folded format; returns {stack: count}."""
    try:
        text = raw.decode("utf-8")
    except UnicodeDecodeError as e:
        fail(f"{what}: folded output is not UTF-8: {e}")
        return {}
    stacks = {}
    if text and not text.endswith("\n"):
        fail(f"{what}: last line without newline")
    for line in text.split("\n")[:-1]:
        if not FOLDED_LINE.match(line):
            fail(f"{what}: bad folded line {line!r}")
            continue
        stack, count = line.rsplit(" ", 1)
        for frame in stack.split(";"):
            if frame == "" or any(ord(c) < 0x20 or ord(c) == 0x7F for c in frame):
                fail(f"{what}: bad frame {frame!r} in {line!r}")
        if stack in stacks:
            fail(f"{what}: stack {stack!r} written twice")
        stacks[stack] = int(count)
    if list(stacks) != sorted(stacks, key=lambda s: s.encode()):
        fail(f"{what}: stacks not sorted")
    return stacks


def counters(events, name):
    return [(e["ts"], list(e["args"].values())[0]) for e in events
            if e.get("ph") == "C" and e.get("name") == name]


def tm(type_, ms, **members):
    body = "".join(f",{json.dumps(k)}:{json.dumps(v) if not isinstance(v, str) else v}"
                   for k, v in members.items())
    return '{"rtmem":1,"type":"%s","ms":%d%s}' % (type_, ms, body)


def mem(ms, name, free, min_free=None, largest=None, frag=0):
    return tm("mem", ms, seq=ms, name=q(name), kind='"heap"', total=100000, free=free,
              min_free=free if min_free is None else min_free,
              largest=free if largest is None else largest, used_blocks=1, free_blocks=1,
              failed=0, frag_pm=frag, alerts=0)


def q(s):
    """A telemetry string literal (already escaped text between quotes)."""
    return '"' + s + '"'


# ------------------------------------------------------------------ chrome
# The docs' example plus hostile names.
HOSTILE_TM = [r'q\"uote', r'back\\slash', r'ctl\u0001\u001f', 'semi;colon', r'new\u000aline',
              'caf\u00e9']
lines = ["I (2034) wifi: connected", "[12:00:01.123] " + mem(2000, "DRAM", 61240, 52112, 31744, 481)]
for k, name in enumerate(HOSTILE_TM):
    lines.append(tm("mem", 2100 + k, seq=k, name=q(name), kind='"caps"', total=9, free=k, min_free=0,
                    largest=0, used_blocks=0, free_blocks=0, failed=0, frag_pm=0, alerts=0))
    lines.append(tm("task", 2100 + k, seq=k, name=q(name), id=k, heap=k, heap_peak=k,
                    stack_size=100, stack_peak=50, alerts=0))
    lines.append(tm("pool", 2100 + k, seq=k, name=q(name), block=8, capacity=4, used=k % 4, peak=3,
                    failed=0, waits=0, alerts=0))
lines.append(tm("alert", 9000, alert='"leak_trend"', state='"raised"', source=q(HOSTILE_TM[0]),
                value=-2304, threshold=-1024))
lines.append(tm("rec", 10000, rule='"grow_memory"', source='"DRAM"', size=1, min_free=2,
                peak_used=3, advised=4, fixed=0, text=q(r'a \"text\" with \\ and \u0007')))
lines.append(tm("pool", 10500, seq=1, name=q("big"), block=8, capacity=4, used=2**64 - 1,
                peak=1, failed=0, waits=0, alerts=0))
raw_tm = "\n".join(lines).encode() + b"\n"
# invalid UTF-8 inside a telemetry string (the grammar passes bytes through)
raw_tm += b'{"rtmem":1,"type":"pool","ms":11000,"seq":1,"name":"bad\xff\xfeutf\xc3","block":8,' \
          b'"capacity":4,"used":1,"peak":1,"failed":0,"waits":0,"alerts":0}\n'
rc, out, err = run("export", "--format", "chrome", write("hostile.jsonl", raw_tm))
if rc != 0:
    fail(f"chrome on hostile telemetry: exit {rc}: {err}")
ev = check_chrome(out, "hostile telemetry")
if counters(ev, "mem DRAM free") != [(2000000, 61240)]:
    fail(f"mem DRAM free: {counters(ev, 'mem DRAM free')}")
if counters(ev, "mem DRAM frag") != [(2000000, 481)]:
    fail("mem DRAM frag")
if counters(ev, 'task q"uote heap') != [(2100000, 0)]:
    fail(f"task with a quote in its name: {[e['name'] for e in ev][:20]}")
if counters(ev, "pool semi;colon used") != [(2103000, 3)]:
    fail("pool with ';' in its name")
if counters(ev, "pool big used") != [(10500000, 2**63 - 1)]:
    fail(f"a count over 2^63-1: {counters(ev, 'pool big used')}")
if not counters(ev, "pool bad\ufffd\ufffdutf\ufffd used"):
    fail("invalid UTF-8 is not \\ufffd")
alerts = [e for e in ev if e.get("ph") == "i" and e["name"].startswith("alert ")]
if len(alerts) != 1 or alerts[0]["args"].get("value") != -2304 or alerts[0]["ts"] != 9000000:
    fail(f"alert instant: {alerts}")
recs = [e for e in ev if e.get("ph") == "i" and e["name"].startswith("rec ")]
if len(recs) != 1 or recs[0]["args"].get("text") != 'a "text" with \\ and \x07':
    fail(f"rec instant: {recs}")
rc2, out2, _ = run("export", "--format", "chrome", "-o", path("hostile.json"), path("hostile.jsonl"))
if rc2 != 0 or open(path("hostile.json"), "rb").read() != out:
    fail("-o FILE does not write what stdout gets")

# A trace with hostile heap and task names (trace escaping %XX decodes to any byte).
trace = ["# rtmem-trace 1"]
HOSTILE_TR = ["%22q", "%5Cb", "%01c%1F", "s%3Bc", "n%0Al", "bad%FF%C3", "t%C3%A9st"]
for k, h in enumerate(HOSTILE_TR):
    trace.append(f"a {k + 1} {10 * (k + 1)} t={k} task={h} heap={h} caller=0x{0x400d0000 + k:x}")
trace.append("f 1 t=20 task=x")
trace.append("a 77 0 t=20 heap=" + "L" * 300)
trace.append("r 2 9 1000 t=21 task=%3B%3B heap=%0D caller=0x400d1000:0x400d2000")
raw_tr = ("\n".join(trace) + "\n").encode()
rc, out, err = run("export", "--format", "chrome", write("hostile.trace", raw_tr))
if rc != 0:
    fail(f"chrome on hostile trace: exit {rc}: {err}")
ev = check_chrome(out, "hostile trace")
if counters(ev, 'trace heap "q live') != [(0, 10), (20000, 0)]:
    fail(f'trace heap "q live: {counters(ev, chr(34).join(["trace heap ", "q live"]))}')
if counters(ev, "trace heap \r live") != [(21000, 1000)]:
    fail("realloc onto a new heap")
if counters(ev, "trace task ;; live") != [(21000, 1000)]:
    fail("realloc's task")
if counters(ev, "trace task t\u00e9st live") != [(6000, 70)]:
    fail("UTF-8 task name")
long_names = [e["name"] for e in ev if "LLL" in e["name"]]
if long_names != ["trace heap " + "L" * 63 + " live"]:
    fail(f"a long heap name is not cut to 63 bytes: {long_names}")

# Folded on the same trace: lines parse, frames escaped, sum = leaks' alive_bytes.
rc, out, err = run("export", "--format", "folded", path("hostile.trace"))
st = check_folded(out, "hostile trace folded")
for stack in st:
    if "\n" in stack or "\r" in stack:
        fail(f"newline in a stack {stack!r}")
if st.get("heap:%0D;0x400d2000;0x400d1000") != 1000 or "heap:s%3Bc;0x400d0003" not in st \
        or st.get("heap:" + "L" * 23 + ";[no caller]") != 0:
    fail(f"folded escaping / caller order: {sorted(st)}")
for root in ("task", "none"):
    rc, out, err = run("export", "--format", "folded", "--root", root, path("hostile.trace"))
    check_folded(out, f"hostile trace folded --root {root}")
    if rc != 0:
        fail(f"--root {root}: exit {rc}")


def leaks_alive(p):
    rc, out, err = run("leaks", "--json", p)
    doc = load_json(out, f"leaks --json {p}")
    return doc["alive_bytes"] if doc else None


def folded_sum(p, *opts):
    rc, out, err = run("export", "--format", "folded", *opts, p)
    if rc != 0:
        fail(f"folded {p} {opts}: exit {rc}: {err}")
    return sum(check_folded(out, f"folded {os.path.basename(p)}").values())


if folded_sum(path("hostile.trace")) != leaks_alive(path("hostile.trace")):
    fail("hostile trace: folded sum differs from leaks alive_bytes")

# A random trace: allocations, frees and reallocs with caller chains.
rng = random.Random(14)
live = {}
tr = ["# rtmem-trace 1"]
next_id = 1
peak = cur = 0
for step in range(4000):
    op = rng.random()
    if op < 0.5 or not live:
        size = rng.choice([8, 24, 100, 333, 4096])
        chain = ":".join(f"0x{rng.choice([0x4200, 0x4300, 0x4400]) + 16 * d:x}" for d in range(rng.randint(0, 4)))
        tr.append(f"a {next_id} {size} t={step} task=t{rng.randint(0, 3)} heap=h{rng.randint(0, 1)}"
                  + (f" caller={chain}" if chain else ""))
        live[next_id] = size
        cur += size
        next_id += 1
    elif op < 0.85:
        k = rng.choice(list(live))
        cur -= live.pop(k)
        tr.append(f"f {k} t={step}")
    else:
        k = rng.choice(list(live))
        size = rng.randint(1, 2000)
        cur += size - live.pop(k)
        live[next_id] = size
        tr.append(f"r {k} {next_id} {size} t={step} task=t9 heap=h0 caller=0x4500")
        next_id += 1
    peak = max(peak, cur)
write("random.trace", "\n".join(tr) + "\n")
if folded_sum(path("random.trace")) != leaks_alive(path("random.trace")) or cur != leaks_alive(path("random.trace")):
    fail("random trace: folded sum differs from the live bytes")
if folded_sum(path("random.trace"), "--at", "peak") != peak:
    fail(f"random trace: --at peak does not add up to the peak {peak}")
rc, out, err = run("export", "--format", "folded", "--at", "peak", "-",
                   stdin=open(path("random.trace"), "rb").read())
if rc != 0 or sum(check_folded(out, "peak from stdin").values()) != peak:
    fail(f"--at peak from stdin: exit {rc} {err}")
rc, out, err = run("export", "--format", "chrome", path("random.trace"))
ev = check_chrome(out, "random trace chrome")
total = {}
for e in ev:
    if e.get("ph") == "C" and e["name"].startswith("trace heap "):
        total[e["name"]] = e["args"]["bytes"]
if sum(total.values()) != cur:
    fail(f"random trace chrome: last heap counters add up to {sum(total.values())}, not {cur}")

# ESP-IDF dump (v5.1-v5.4 shape) with a log around it.
esp = """I (1200) wifi: connected
====== Heap Trace: 3 records (64 capacity) ======
    84 bytes (@ 0x3fca94d8, Internal) allocated CPU 0 ccount 0x042ac374 caller 0x42001234:0x42005678
    84 bytes (@ 0x3fca9600, Internal) allocated CPU 1 ccount 0x042ac400 caller 0x42001234:0x42005678
W (1201) other: interleaved
  4096 bytes (@ 0x3f800000,    PSRAM) allocated CPU 0 ccount 0x052ac400 caller 0x42009000:0x42009100:0x42009200
====== Heap Trace Summary ======
Mode: Heap Trace Leaks
4264 bytes 'leaked' in trace (3 allocations)
records: 3 (64 capacity, 5 high water mark)
total allocations: 12
total frees: 9
================================
"""
write("esp.log", esp)
rc, out, err = run("export", "--format", "folded", path("esp.log"))
st = check_folded(out, "esp folded")
if st != {"heap:Internal;0x42005678;0x42001234": 168,
          "heap:PSRAM;0x42009200;0x42009100;0x42009000": 4096}:
    fail(f"ESP-IDF folded: {st}")
if sum(st.values()) != leaks_alive(path("esp.log")):
    fail("ESP-IDF: folded sum differs from leaks")
rc, out, err = run("export", "--format", "folded", path("esp.log"), path("esp.log"))
if check_folded(out, "two inputs") != {k: 2 * v for k, v in st.items()}:
    fail("folded: two inputs do not add up")
write("esp_bad.log", esp.replace("W (1201) other: interleaved", "# rtmem-trace 1\na 1 x"))
rc, out, err = run("export", "--format", "folded", path("esp.log"), path("esp_bad.log"))
if rc != 2 or f"{path('esp_bad.log')}:6:" not in err or check_folded(out, "error") != st:
    fail(f"folded input error: exit {rc} {err!r}, stacks {out!r}")
rc, out, err = run("export", "--format", "folded", "--root", "task", path("esp.log"))
if "cpu:1;0x42005678;0x42001234 84" not in out.decode():
    fail(f"ESP-IDF --root task: {out!r}")
write("esp_cut.log", esp.split("====== Heap Trace Summary")[0])
rc, out, err = run("export", "--format", "folded", path("esp_cut.log"))
if rc != 3 or sum(check_folded(out, "cut esp").values()) != 4264:
    fail(f"a cut-off ESP-IDF dump: exit {rc} (want 3, stacks kept)")

# ------------------------------------------------------------------ errors
good = [mem(1000 * k, "DRAM", 5000 - k) for k in range(1, 6)]
bad = good[:3] + ['{"rtmem":1,"type":"mem","ms":4000,"name":"DRAM"'] + good[3:]
write("broken.jsonl", "\n".join(bad) + "\n")
rc, out, err = run("export", "--format", "chrome", path("hostile.jsonl"), path("broken.jsonl"),
                   path("random.trace"))
ev = check_chrome(out, "input error")
if rc != 2 or f"{path('broken.jsonl')}:4:" not in err:
    fail(f"malformed telemetry: exit {rc}, stderr {err!r} (want 2 and FILE:4)")
if counters(ev, "mem DRAM free") != [(2000000, 61240), (1000000, 4999), (2000000, 4998), (3000000, 4997)]:
    fail(f"the events before the bad line are not all kept: {counters(ev, 'mem DRAM free')}")
if any(e.get("pid") == 3 for e in ev):
    fail("an input after the bad one was read")
# a line cut mid-way at the end (no newline) is not an error
write("cut.jsonl", "\n".join(good) + "\n" + good[0][:40])
rc, out, err = run("export", "--format", "chrome", path("cut.jsonl"))
if rc != 0 or len(counters(check_chrome(out, "cut"), "mem DRAM free")) != 5:
    fail(f"a cut-off last line: exit {rc} {err}")
# inconsistent trace: strict stops, --lenient skips and counts
write("unknown_free.trace", "# rtmem-trace 1\na 1 10\nf 7\na 2 20\n")
rc, out, err = run("export", "--format", "chrome", path("unknown_free.trace"))
check_chrome(out, "unknown free strict")
if rc != 2 or ":3:" not in err:
    fail(f"free of an unknown ID: exit {rc} {err!r}")
rc, out, err = run("export", "--format", "chrome", "--lenient", path("unknown_free.trace"))
if rc != 0 or counters(check_chrome(out, "lenient"), "trace live") != [(0, 10), (2, 30)]:
    fail(f"--lenient: exit {rc} {err!r} {out!r}")
# NUL byte and an empty file: the line reader's errors, valid JSON anyway
write("nul.jsonl", good[0].encode() + b"\n\x00\n")
write("empty.jsonl", b"")
for name, where in (("nul.jsonl", ":2:"), ("empty.jsonl", "empty input")):
    rc, out, err = run("export", "--format", "chrome", path(name))
    check_chrome(out, name)
    if rc != 2 or where not in err:
        fail(f"{name}: exit {rc} {err!r}")
# usage errors
for args in (["export", "x"], ["export", "--format", "svg", "x"], ["export", "--format", "chrome"],
             ["export", "--format", "chrome", "--elf", "e", "x"], ["export", "--format", "folded",
             "--at", "middle", "x"], ["export", "--format", "folded", "--lenient", "x"],
             ["export", "--format", "chrome", "-", "-"], ["export", "--format", "chrome", "--bogus", "x"]):
    rc, out, err = run(*args)
    if rc != 2 or out:
        fail(f"{' '.join(args)}: exit {rc}, output {out[:80]!r} (want 2 and nothing)")
for args, msg in ((["--x=1", "in"], "rtmem export: unknown option '--x' (see rtmem export --help)\n"),
                  (["--lenient=yes", "in"], "rtmem export: --lenient takes no value\n"),
                  (["--format=svg", "in"], "rtmem export: --format needs chrome or folded, not 'svg'\n"),
                  (["--format=chrome"], "rtmem export: no INPUT given (see rtmem export --help)\n")):
    rc, out, err = run("export", *args)
    if rc != 2 or err != msg:
        fail(f"export {args}: exit {rc}, stderr {err!r}, want {msg!r}")
rc, out, err = run("export", "--form=folded", "--root=task", "-o" + path("o.folded"), "--", path("esp.log"))
if rc != 0 or b"cpu:1;" not in open(path("o.folded"), "rb").read():
    fail(f"--opt=value, prefixes, -oFILE and --: exit {rc} {err!r}")
rc, out, err = run("export", "--help")
if rc != 0 or not out.startswith(b"usage: rtmem export "):
    fail("export --help")
before = open(path("random.trace"), "rb").read()
rc, out, err = run("export", "--format", "chrome", "-o", path("random.trace"), path("random.trace"))
if rc != 2 or open(path("random.trace"), "rb").read() != before:
    fail(f"-o naming an INPUT: exit {rc} {err!r}, the input must stay as it was")
if os.path.exists("/dev/full"):
    for fmt in ("chrome", "folded"):
        rc, out, err = run("export", "--format", fmt, "-o", "/dev/full", path("random.trace"))
        if rc != 2 or "cannot write" not in err:
            fail(f"{fmt} to a full disk: exit {rc} {err!r}")
rc, out, err = run("export", "--format", "folded", path("hostile.jsonl"))
if rc != 2 or "no rtmem trace" not in err:
    fail(f"folded of telemetry without a trace: exit {rc} {err!r}")

# ------------------------------------------------------------------ clock
ms = [4294967000, 4294967200, 100, 300, 250, 5000, 100, 200]
write("clock.jsonl", "\n".join(mem(m, "DRAM", i) for i, m in enumerate(ms)) + "\n")
rc, out, err = run("export", "--format", "chrome", path("clock.jsonl"))
ev = check_chrome(out, "clock")
ts = [t for t, _ in counters(ev, "mem DRAM free")]
want = [4294967000000, 4294967200000, 4294967396000, 4294967596000, 4294967596000, 4294972296000,
        4294972296000, 4294972396000]
if ts != want:
    fail(f"clock: {ts}, want {want}")
if len([e for e in ev if e.get("name", "").startswith("clock restarted")]) != 1:
    fail("clock: the restart is not marked")
write("restart.trace", "# rtmem-trace 1\na 1 8 t=100000\na 2 8 t=5\na 3 8\nf 1 t=6\n")
rc, out, err = run("export", "--format", "chrome", path("restart.trace"))
ev = check_chrome(out, "trace clock")
if counters(ev, "trace live") != [(100000000, 8), (100000000, 16), (100000001, 24), (100001000, 16)] \
        or len([e for e in ev if e.get("name", "").startswith("clock restarted")]) != 1:
    fail(f"a trace whose t= restarts: {counters(ev, 'trace live')}")

# ------------------------------------------------------------------ symbols
nm = shutil.which("nm")
if nm and shutil.which("addr2line"):
    syms = subprocess.run([nm, RTMEM], capture_output=True, text=True).stdout
    m = re.search(r"^([0-9a-f]+) T rtm_cmd_export$", syms, re.M)
    if m:
        addr = int(m.group(1), 16) + 4
        write("sym.trace", f"# rtmem-trace 1\na 1 64 heap=h caller=0x{addr:x}\n")
        rc, out, err = run("export", "--format", "folded", "--elf", RTMEM, path("sym.trace"))
        if rc != 0 or out.decode() != "heap:h;rtm_cmd_export 64\n":
            fail(f"--elf: exit {rc} {out!r} {err!r}")

# ------------------------------------------------------------------ memory
def maxrss_kb(args):
    p = subprocess.Popen([RTMEM, *args], stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    _, status, usage = os.wait4(p.pid, 0)
    return usage.ru_maxrss


def churn(name, n):
    with open(path(name), "w") as f:
        f.write("# rtmem-trace 1\n")
        for i in range(n):
            f.write(f"a {i} {i % 500 + 1} t={i} task=t{i % 7} heap=h{i % 3}\n")
            if i >= 20:
                f.write(f"f {i - 20} t={i}\n")
            if i % 50 == 0:
                f.write(mem(i, "DRAM", i) + "\n")
    return path(name)


small, big = churn("small.trace", 2000), churn("big.trace", 200000)
rss_small = maxrss_kb(["export", "--format", "chrome", "-o", os.devnull, small])
rss_big = maxrss_kb(["export", "--format", "chrome", "-o", os.devnull, big])
if rss_big - rss_small > 4096:
    fail(f"chrome memory grows with the input: {rss_small} KiB for 2k events, {rss_big} KiB for 200k")

shutil.rmtree(TMP)
if failures:
    print("rtmem export: %d failures\n  " % len(failures) + "\n  ".join(failures))
    sys.exit(1)
print("rtmem export: chrome and folded outputs match their formats")
