#!/usr/bin/env bash
# ctest demo_script: bash tests/demo_script.sh <repository root>
#
# Runs `bash scripts/demo.sh` the way the README tells a user to, end to end
# (configure, build, the default 8-second run, `rtmem report`), in a
# temporary build directory (RTMEM_DEMO_DIR) and offline (RTMEM_NO_INSTALL=1:
# a missing package fails the test instead of being installed), then
# checks that its console and files show what README.md's "The demo" says
# they do. The demo program's own findings in depth (leak site, alerts,
# telemetry schema, the report's contents) are example_firmware_sim's
# (examples/firmware_sim/check_demo.cmake); this test is about the script.
# Labelled "once" (tests/CMakeLists.txt): scripts/test.sh runs it in its
# gcc configuration only, as it does not depend on a configuration's
# compiler or flags. About 25 s on an idle 2-core machine.
set -uo pipefail

ROOT=${1:?usage: demo_script.sh <repository root>}
WORK=$(mktemp -d "${TMPDIR:-/tmp}/rtmem-demo-script.XXXXXX")
DIR=$WORK/demo
failures=0

check() { # check <what> <command...>
    local what=$1
    shift
    if "$@"; then
        echo "ok: $what"
    else
        echo "FAILED: $what"
        failures=$((failures + 1))
    fi
}
has() { grep -qE -- "$1" "$WORK/console.txt"; }

# Offline: with RTMEM_NO_INSTALL=1 a missing package is named, with the
# commands to run, and nothing is installed, even as root (scripts/lib.sh).
# An apt-get and a passwordless sudo of the test's own come first on PATH,
# so that a broken RTMEM_NO_INSTALL shows here instead of reaching the
# network.
if command -v dpkg-query >/dev/null 2>&1; then
    mkdir -p "$WORK/bin"
    printf '#!/bin/sh\necho "$@" >>"%s/apt-get-called"\n' "$WORK" >"$WORK/bin/apt-get"
    printf '#!/bin/sh\n[ "$*" = "-n true" ] && exit 0\necho "$@" >>"%s/apt-get-called"\n' "$WORK" \
        >"$WORK/bin/sudo"
    chmod +x "$WORK/bin/apt-get" "$WORK/bin/sudo"
    (cd "$WORK" && PATH="$WORK/bin:$PATH" RTMEM_NO_INSTALL=1 bash -c ". '$ROOT/scripts/lib.sh' &&
        rtm_ensure_packages demo_script.sh '' rtmem-no-such-package") >"$WORK/apt.txt" 2>&1
    rc=$?
    check "RTMEM_NO_INSTALL=1 installs nothing and exits 1 (exit $rc)" \
        test "$rc" -eq 1 -a ! -e "$WORK/apt-get-called"
    check "  and names the missing package" grep -q 'missing packages: rtmem-no-such-package' "$WORK/apt.txt"
fi

start=$SECONDS
env -u RTMEM_DEMO RTMEM_NO_INSTALL=1 RTMEM_DEMO_DIR="$DIR" \
    bash "$ROOT/scripts/demo.sh" >"$WORK/console.txt" 2>"$WORK/stderr.txt"
rc=$?
echo "demo.sh took $((SECONDS - start)) s (exit $rc)"
check "demo.sh exits with 0 (stderr: $(tail -n 5 "$WORK/stderr.txt" | tr '\n' ' '))" \
    test "$rc" -eq 0
check "demo.sh builds in RTMEM_DEMO_DIR" test -x "$DIR/examples/firmware_sim" -a -x "$DIR/tools/rtmem"

# "a simulated ESP32 application ... on the ESP32 memory map (PSRAM, DRAM,
# D/IRAM, IRAM, RTC)"
check "it runs the esp32 preset" has '^I \([0-9]+\) boot: firmware_sim: preset esp32, '
for region in SPIRAM DRAM D/IRAM IRAM RTCRAM RTC_SLOW; do
    check "the boot summary has the $region region" has "heap_init: +$region at 0x[0-9a-f]+ len [0-9]+ "
done
# "Seven tasks run as threads on painted stacks ...; the monitor runs in its
# own thread"
for task in wifi imu env consumer http camera mqtt; do
    check "task $task starts on a painted stack" \
        has "demo: task $task +started, stack +[0-9]+ bytes \(painted 0x[0-9A-F]+\)"
done
check "seven tasks start" test "$(grep -cE 'demo: task [a-z]+ +started' "$WORK/console.txt")" -eq 7
check "the monitor has its own task, with its stack measured" has 'monitor: task monitor +stack +[0-9]+ peak +[0-9]+'
# "its ESP-IDF-style log (I (1234) TAG: ...)": every line but the blank one
# and demo.sh's closing report line.
bad=$(grep -vE '^[IWE] \([0-9]+\) [A-Za-z0-9_/]+: |^$|^report: ' "$WORK/console.txt" | head -n 3)
check "every log line is ESP-IDF style (not: ${bad:-none})" test -z "$bad"
# "In about ten seconds": the log's own clock at its last line.
last_ms=$(grep -oE '^[IWE] \([0-9]+\)' "$WORK/console.txt" | tail -n 1 | tr -dc '0-9')
check "the run takes about ten seconds (its log ends at ${last_ms:-?} ms)" \
    test "${last_ms:-0}" -ge 7000 -a "${last_ms:-0}" -le 13000
# The four questions.
check "part 1: static versus dynamic creation" has 'Part 1: static versus dynamic creation'
check "  what each creation costs in heap bytes and ns" has 'create: object +form +call +heap used +static mem +create ns'
check "  a heap created both ways" has 'create: heap .* dynamic rtm_heap_create +[0-9]+ +0 +[0-9]+$'
check "part 2: a pool whose consumer stalls" has 'Part 2: pool behaviour under concurrency'
check "  the pool's peak, waits and timeouts" has 'pool: allocations [0-9]+, peak [0-9]+ of [0-9]+ blocks in use, [0-9]+ had to wait, [0-9]+ timed out'
check "  the consumer's stalls" has 'consumer received [0-9]+, [0-9]+ flash stalls'
check "part 3: the leak, found by a checkpoint" has 'Part 3: the leak, found by a checkpoint'
check "  the leaking call site as file:line" has 'LEAK at tasks_net\.c:[0-9]+: [0-9]+ blocks'
check "  from the trace checkpoint" has 'leaks: checkpoint seq=[0-9]+ taken after boot'
check "part 4: what the monitor saw" has 'Part 4: the monitor: status, alerts, recommendations'
check "  alerts raised during the run" has '^W \([0-9]+\) monitor: alert [a-z_]+ RAISED on '
check "  stack high-water marks" has 'monitor: task imu +stack +[0-9]+ peak +[0-9]+ \( *[0-9]+%\)'
check "  recommendations with their numbers" has 'advice: rtmem monitor: .*[0-9]+ B'
# "It writes its telemetry (JSON lines) and its heap trace to build/demo/"
# (here RTMEM_DEMO_DIR).
check "telemetry written as JSON lines" \
    test "$(head -c 11 "$DIR/firmware_sim.telemetry.jsonl" 2>/dev/null)" = '{"rtmem":1,'
check "the heap trace written" test "$(head -n 1 "$DIR/firmware_sim.trace" 2>/dev/null)" = '# rtmem-trace 1'
# "The demo ends with rtmem report on its telemetry and trace and prints the
# path of build/demo/report.html"
expect="report: $(cd "$DIR" 2>/dev/null && pwd)/report.html (open it in a browser)"
check "the last line is the report's path" test "$(tail -n 1 "$WORK/console.txt")" = "$expect"
check "report.html is an HTML page" test "$(head -n 1 "$DIR/report.html" 2>/dev/null)" = '<!DOCTYPE html>'
check "the page names the leak's call site" grep -qE '<code>tasks_net\.c:[0-9]+</code>' "$DIR/report.html"

# "Options --seconds, --preset, --strategy, --quiet": demo.sh --help, after
# the run, prints the usage and reports no report (its telemetry is old).
env -u RTMEM_DEMO RTMEM_NO_INSTALL=1 RTMEM_DEMO_DIR="$DIR" \
    bash "$ROOT/scripts/demo.sh" --help >"$WORK/help.txt" 2>&1
rc=$?
check "demo.sh --help exits with 0" test "$rc" -eq 0
for opt in --seconds --preset --strategy --quiet; do
    check "--help names $opt" grep -qE -- "^ +$opt" "$WORK/help.txt"
done
check "--help after a run prints no report line" test "$(grep -c '^report: ' "$WORK/help.txt")" -eq 0

if [ "$failures" -ne 0 ]; then
    echo "--- demo.sh's console ($WORK/console.txt, kept):"
    cat "$WORK/console.txt"
    echo "--- stderr:"
    cat "$WORK/stderr.txt"
    echo "$failures checks failed"
    exit 1
fi
rm -rf "$WORK"
echo "all checks passed"
