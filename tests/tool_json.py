#!/usr/bin/env python3
"""tool_json.py RTMEM FORMATS_MD [RECORD_PROG]

Every command's --json output, parsed by Python's json module: one line of
strict UTF-8, one object, no NaN or Infinity, no key twice, "schema": 1
and "command": COMMAND first, and then exactly the keys, in order, that
docs/formats.md ("JSON output of the rtmem tool") lists for the command.
Input text in UTF-8 (a task name, a file name) must come out unchanged.
Runs each command on small inputs it writes itself, including outputs of
failures (a failed allocation, a cut-off ESP-IDF dump, an error halfway
through compare). RECORD_PROG: a dynamically linked program for
`rtmem record` (left out: record is not run); where programs run under
an emulator, the environment's RTMEM_TEST_EMULATOR (its command words) is
put in front of it, as test_tool_record does. Exit 1 listing every
problem."""
import json
import os
import re
import subprocess
import sys
import tempfile

rtmem, formats_md = sys.argv[1:3]
record_prog = sys.argv[3] if len(sys.argv) > 3 and sys.argv[3] else None
emulator = os.environ.get("RTMEM_TEST_EMULATOR", "").split()
problems = []


def documented_keys():
    """{command: [keys]} from the table in docs/formats.md."""
    text = open(formats_md, encoding="utf-8").read()
    m = re.search(r"^## JSON output of the rtmem tool\n(.*?)(?=^## |\Z)", text, re.M | re.S)
    if not m:
        problems.append("docs/formats.md: no section '## JSON output of the rtmem tool'")
        return {}
    table = {}
    for row in re.findall(r"^\| `([a-z]+)` \| (.*) \|$", m.group(1), re.M):
        table[row[0]] = re.findall(r"`([a-z_0-9]+)`", row[1])
    return table


def reject_constant(name):
    raise ValueError(f"non-JSON number {name}")


def unique_pairs(pairs):
    keys = [k for k, _ in pairs]
    dupes = {k for k in keys if keys.count(k) > 1}
    if dupes:
        raise ValueError(f"keys given twice: {sorted(dupes)}")
    return dict(pairs)


def check(label, cmd, args, want_rc, table, extra=None):
    p = subprocess.run([rtmem, cmd] + args, capture_output=True)
    where = f"{label} (rtmem {cmd} {' '.join(args)})"
    if p.returncode != want_rc:
        problems.append(f"{where}: exit {p.returncode}, expected {want_rc}; stderr "
                        f"{p.stderr[-300:]!r}")
    out = p.stdout
    if not out.endswith(b"\n") or out.count(b"\n") != 1:
        problems.append(f"{where}: output is not one line: {out[:200]!r}")
        return None
    try:
        text = out.decode("utf-8", errors="strict")
        doc = json.loads(text, parse_constant=reject_constant, object_pairs_hook=unique_pairs)
    except ValueError as e:
        problems.append(f"{where}: not valid JSON: {e}: {out[:300]!r}")
        return None
    if not isinstance(doc, dict):
        problems.append(f"{where}: not an object")
        return None
    keys = list(doc)
    if keys[:2] != ["schema", "command"]:
        problems.append(f"{where}: first keys {keys[:2]}, expected ['schema', 'command']")
    if type(doc.get("schema")) is not int or doc.get("schema") != 1:
        problems.append(f"{where}: schema {doc.get('schema')!r}, expected the number 1")
    if doc.get("command") != cmd:
        problems.append(f"{where}: command {doc.get('command')!r}, expected {cmd!r}")
    if cmd in table and keys != table[cmd]:
        problems.append(f"{where}: keys {keys}\n    docs/formats.md lists {table[cmd]}")
    if extra:
        for what, ok in extra(doc):
            if not ok:
                problems.append(f"{where}: {what}")
    return doc


def main():
    table = documented_keys()
    ran = set()
    with tempfile.TemporaryDirectory(prefix="rtm_tool_json_") as d:
        trace = os.path.join(d, "t\u00e9st.trace")  # a UTF-8 file name
        with open(trace, "w", encoding="utf-8") as f:
            f.write("# rtmem-trace 1\n"
                    "a 1 100 seq=1 task=t%C3%A9st\n"
                    "a 2 200 seq=2 task=t%C3%A9st site=%E6%97%A5.c:3\n"
                    "f 1 seq=3\n"
                    "A 3 64 32 seq=4\n"
                    "r 3 4 96 seq=5\n")
        big = os.path.join(d, "big.trace")
        with open(big, "w") as f:
            f.write("# rtmem-trace 1\na 1 100000\nf 1\n")
        bad = os.path.join(d, "bad.trace")
        with open(bad, "w") as f:
            f.write("# rtmem-trace 1\na 1 10\nf 2\n")

        ran.add("replay")
        check("replay", "replay", [trace, "--json", "-q"], 0, table, lambda doc: [
            ("the UTF-8 file name changed", doc.get("trace") == trace),
            ("time_ns is not an object", isinstance(doc.get("time_ns"), dict)),
            ("complete is not true", doc.get("complete") is True),
            ("cut_off_reason is not null", doc.get("cut_off_reason", 0) is None),
        ])
        for mode in (["--size=64K"], []):
            check("replay, malformed line", "replay", [bad, "--json", "-q"] + mode, 2, table,
                  lambda doc: [
                      ("complete is not false", doc.get("complete") is False),
                      ("cut_off_reason is not that of line 3",
                       doc.get("cut_off_reason") == "reading stopped at line 3: free of ID 2, "
                                                    "which is not live (--lenient skips)"),
                      ("ops is not 1 (the part before line 3)", doc.get("ops") == 1),
                  ])
        check("replay, failing", "replay", [big, "--size=4K", "--json"], 1, table, lambda doc: [
            ("first_failure.line is not 2",
             isinstance(doc.get("first_failure"), dict) and doc["first_failure"].get("line") == 2),
        ])
        check("replay --regions", "replay", ["--regions", "rp2040", "--json", trace], 0, table)

        ran.add("compare")
        check("compare", "compare", [trace, big, "--json", "--quiet"], 0, table, lambda doc: [
            ("two traces expected", len(doc.get("traces", [])) == 2),
            ("the UTF-8 file name changed", doc["traces"][0].get("trace") == trace),
            ("a strategy's run has no schema key (only the document has)",
             all("schema" not in (s.get("run") or {}) for t in doc["traces"]
                 for s in t["strategies"])),
            ("no recommendation", isinstance(doc.get("recommendation"), dict)),
            ("a trace not complete", all(t.get("complete") is True
                                         and t.get("cut_off_reason", 0) is None
                                         for t in doc["traces"])),
        ])
        def nth_trace(doc, i):
            traces = doc.get("traces", [])
            return traces[i] if len(traces) > i and isinstance(traces[i], dict) else {}

        check("compare, malformed line", "compare", [trace, bad, "--json", "-q"], 2, table,
              lambda doc: [
                  ("two traces expected", len(doc.get("traces", [])) == 2),
                  ("the first trace is not complete",
                   nth_trace(doc, 0).get("complete") is True
                   and nth_trace(doc, 0).get("cut_off_reason", 0) is None),
                  ("the second trace is not cut off at line 3",
                   nth_trace(doc, 1).get("complete") is False
                   and nth_trace(doc, 1).get("cut_off_reason") ==
                   "reading stopped at line 3: free of ID 2, which is not live (--lenient skips)"),
                  ("ops is not 1 (the part before line 3)", nth_trace(doc, 1).get("ops") == 1),
                  ("a recommendation rests on an incomplete trace",
                   doc.get("recommendation", 0) is None),
              ])

        ran.add("leaks")
        check("leaks, rtmem trace", "leaks", [trace, "--json"], 1, table, lambda doc: [
            ("tasks 'tést' did not pass through",
             any(g.get("tasks") == "t\u00e9st" for g in doc.get("groups", []))),
            ("site '日.c:3' did not pass through",
             any(g.get("site") == "\u65e5.c:3" for g in doc.get("groups", []))),
            ("records_read is not null for an rtmem trace", doc.get("records_read") is None),
        ])
        esp = os.path.join(d, "esp.log")
        with open(esp, "w") as f:
            f.write("I (305) app: start\r\n"
                    "2 allocations trace (100 entry buffer)\r\n"
                    "40 bytes (@ 0x3ffb2000) allocated CPU 0 ccount 0x00001235 caller "
                    "0x400d1234:0x400d5678\r\n"
                    "8 bytes (@ 0x3ffb3000) allocated CPU 1 ccount 0x00002001 caller "
                    "0x400d1234:0x400d5678\r\n"
                    "48 bytes 'leaked' in trace (2 allocations)\r\n"
                    "total allocations 9 total frees 7\r\n")
        check("leaks, ESP-IDF dump", "leaks", [esp, "--json"], 1, table, lambda doc: [
            ("records_read is not 2", doc.get("records_read") == 2),
            ("summary_agrees is not true", doc.get("summary_agrees") is True),
        ])
        cut = os.path.join(d, "cut.log")
        with open(cut, "w") as f:
            f.write("2 allocations trace (100 entry buffer)\r\n"
                    "40 bytes (@ 0x3ffb2000) allocated CPU 0 ccount 0x00001235 caller "
                    "0x400d1234:0x400d5678\r\n"
                    "Guru Meditation Error: Core  0 panic'ed (LoadProhibited).\r\n")
        check("leaks, cut-off dump", "leaks", ["--json", "--", cut], 3, table, lambda doc: [
            ("complete is not false", doc.get("complete") is False),
        ])

        if record_prog:
            ran.add("record")
            out = os.path.join(d, "rec.trace")
            check("record", "record", ["--json", f"--output={out}", "--", *emulator, record_prog], 0, table,
                  lambda doc: [("nothing recorded", doc.get("recorded") is True)])

    # every command that offers --json has a case above and a row in the docs
    top = subprocess.run([rtmem, "--help"], capture_output=True, text=True).stdout
    for cmd in re.findall(r"^  ([a-z]+) ", top, re.M):
        usage = subprocess.run([rtmem, cmd, "--help"], capture_output=True, text=True).stdout
        if "--json" not in usage:
            continue
        if cmd not in table:
            problems.append(f"docs/formats.md: no JSON key row for '{cmd}'")
        if cmd not in ran and not (cmd == "record" and not record_prog):
            problems.append(f"tests/tool_json.py: no case runs 'rtmem {cmd} --json'")

    if problems:
        print("--json output out of step:\n  " + "\n  ".join(problems))
        sys.exit(1)
    print(f"--json output of {' '.join(sorted(ran))}: valid, schema 1, documented keys")


main()
