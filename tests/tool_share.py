#!/usr/bin/env python3
"""tool_share.py RTMEM COMPLETION MAN VERSION

The bash completion and the man page (tools/share/) against the tool
itself: every command `rtmem --help` lists and every option its
`rtmem COMMAND --help` documents must be in both; bash must complete
commands, options and strategy names with it (also in the --opt=value
form, which bash splits at '='); `rtmem --version` must print
the project's version, and the tool's own options must follow the
commands' conventions. Exit 1 with the list of what is out of step."""
import re
import subprocess
import sys

rtmem, completion, man, version = sys.argv[1:5]
problems = []


def run(*args):
    p = subprocess.run(args, capture_output=True, text=True)
    return p.returncode, p.stdout + p.stderr


rc, out = run(rtmem, "--version")
if rc != 0 or out != f"rtmem {version}\n":
    problems.append(f"rtmem --version printed {out!r} (exit {rc}), expected 'rtmem {version}'")
# the tool's own options go through the same getopt_long parser as the commands'
for args, want_rc, want in [
        (["--vers"], 0, f"rtmem {version}\n"),
        (["--bogus"], 2, "rtmem: unknown option '--bogus' (see rtmem --help)\n"),
        (["--version=1"], 2, "rtmem: --version takes no value\n"),
        (["nosuch"], 2, "rtmem: unknown command 'nosuch' (see rtmem --help)\n"),
        (["--", "replay", "--json=1"], 2, "rtmem replay: --json takes no value\n")]:
    rc, out = run(rtmem, *args)
    if rc != want_rc or out != want:
        problems.append(f"rtmem {' '.join(args)}: {out!r} (exit {rc}), expected {want!r} "
                        f"(exit {want_rc})")

_, top = run(rtmem, "--help")
commands = re.findall(r"^  ([a-z]+) ", top, re.M)
if not commands:
    problems.append("no commands in rtmem --help")
comp = open(completion).read()
page = open(man).read()
for c in commands:
    if f".SS {c}\n" not in page:
        problems.append(f"man page: no section for '{c}'")
    m = re.search(rf'^        {c}\) echo "([^"]*)"', comp, re.M)
    listed = m.group(1).split() if m else []
    if not m:
        problems.append(f"completion: no option list for '{c}'")
    _, chelp = run(rtmem, c, "--help")
    usage = chelp.split("\n\n")[0]  # the usage lines name every option
    for o in sorted(set(re.findall(r"(?<![\w-])(--[a-z0-9-]+|-[a-zA-Z])(?![\w-])", usage))):
        if o in ("--help", "--"):
            continue
        if o not in listed:
            problems.append(f"completion: '{c}' lacks {o}")
        if o.replace("-", "\\-") not in page:
            problems.append(f"man page: '{c}' lacks {o}")

script = f"""source '{completion}'
COMP_WORDS=(rtmem re); COMP_CWORD=1; _rtmem; echo "${{COMPREPLY[*]}}"
COMP_WORDS=(rtmem replay --s); COMP_CWORD=2; _rtmem; echo "${{COMPREPLY[*]}}"
COMP_WORDS=(rtmem compare --strategy f); COMP_CWORD=3; _rtmem; echo "${{COMPREPLY[*]}}"
COMP_WORDS=(rtmem compare --strategy = f); COMP_CWORD=4; _rtmem; echo "${{COMPREPLY[*]}}"
COMP_WORDS=(rtmem replay --regions =); COMP_CWORD=3; _rtmem; echo "${{COMPREPLY[*]}}"
"""
p = subprocess.run(["bash", "-c", script], capture_output=True, text=True)
want = ("record replay report\n--strategy --size\nfirst_fit\nfirst_fit\n"
        "esp32 esp32s3 stm32h743 rp2040 generic\n")
if p.returncode != 0 or p.stdout != want:
    problems.append(f"completion under bash gave {p.stdout!r} {p.stderr!r}, expected {want!r}")

if problems:
    print("tools/share out of step with the tool:\n  " + "\n  ".join(problems))
    sys.exit(1)
print(f"completion and man page cover {' '.join(commands)}")
