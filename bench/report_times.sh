#!/usr/bin/env bash
# Time and page size of `rtmem report`: bash bench/report_times.sh [--update FILE]
#
# Builds the rtmem tool and bench/gen_compare_trace.c (Release, -O2, in
# build/bench) and times `rtmem report` on:
#   - the demo's telemetry and trace (build/demo/, made by scripts/demo.sh,
#     which this script runs first when they are missing), with --elf;
#   - a generated trace of 2,400,000 events (gen_compare_trace 2400000).
# Per run: wall time, CPU time (user + system), peak memory, the page's size
# and what the strategy comparison could show in its budget. The goal
# (issue 14): under 30 s for 2.4M events; the script exits 1 when missed.
#
#   --update FILE  write the results between "<!-- report-times:begin -->"
#                  and "<!-- report-times:end -->" of FILE (docs/benchmarks.md)
#
# Environment: CC. Needs: cmake, a C compiler, GNU time (/usr/bin/time).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
cd "$ROOT"

rtm_bench_args "${BASH_SOURCE[0]}" no "$@"
if [ ! -x /usr/bin/time ]; then
    echo "report_times.sh: needs GNU time (/usr/bin/time; Debian package time)" >&2
    exit 1
fi

BUILD=build/bench
rtm_bench_build report_times.sh rtmem_tool gen_compare_trace
RTMEM="$BUILD/rtmem/tools/rtmem"
GEN="$BUILD/gen_compare_trace"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

DEMO=build/demo
if [ ! -e "$DEMO/firmware_sim.telemetry.jsonl" ] || [ ! -e "$DEMO/firmware_sim.trace" ]; then
    echo "report_times.sh: running scripts/demo.sh for its telemetry and trace ..." >&2
    bash scripts/demo.sh --quiet >"$WORK/demo.log" 2>&1 || { cat "$WORK/demo.log" >&2; exit 1; }
fi
"$GEN" 2400000 >"$WORK/generated_2400k.trace"

LOAD_BEFORE=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo "?")
VERDICT="met"
ROWS=""
# run NAME OPS ARGS...: one timed `rtmem report`, a table row
run() {
    local name=$1 ops=$2
    shift 2
    echo "report_times.sh: rtmem report $name ..." >&2
    local status=0
    /usr/bin/time -f '%e %U %S %M' -o "$WORK/time.txt" \
        "$RTMEM" report -o "$WORK/page.html" "$@" 2>"$WORK/err.txt" || status=$?
    if [ "$status" -ne 0 ]; then
        cat "$WORK/err.txt" >&2
        echo "report_times.sh: rtmem report failed on $name (exit $status)" >&2
        exit 1
    fi
    local wall user sys rss size shown
    read -r wall user sys rss <"$WORK/time.txt"
    size=$(wc -c <"$WORK/page.html")
    if grep -q 'checked as <code>rtmem compare</code>' "$WORK/page.html"; then
        shown="checked minima"
    else
        shown="high-water marks"
    fi
    local slow
    slow=$(grep -o '<p class="sub">[a-z_]*: too slow' "$WORK/page.html" |
        sed 's/<p class="sub">//; s/: too slow//' | tr '\n' ' ' || true)
    [ -n "$slow" ] && shown="$shown; too slow: ${slow% }"
    ROWS="$ROWS| $name | $ops | $wall s | $(awk -v u="$user" -v s="$sys" 'BEGIN { printf "%.1f", u + s }') s | $((rss / 1024)) MiB | $((size / 1024)) KiB | $shown |"$'\n'
    if [ "$ops" -ge 1000000 ] && awk -v s="$wall" 'BEGIN { exit !(s > 30) }'; then
        VERDICT="MISSED"
    fi
}
DEMO_OPS=$(grep -c '^[aArf] ' "$DEMO/firmware_sim.trace" || true)
run "demo (telemetry + trace, --elf)" "$DEMO_OPS" --elf "$DEMO/examples/firmware_sim" \
    "$DEMO/firmware_sim.telemetry.jsonl" "$DEMO/firmware_sim.trace"
run "generated, 2.4M events" 2400000 "$WORK/generated_2400k.trace"
LOAD_AFTER=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo "?")

REPORT=$(
    echo "## rtmem report times"
    echo
    echo "Written by \`bench/report_times.sh\`; do not edit by hand."
    echo
    echo "- command: \`bash bench/report_times.sh${UPDATE_FILE:+ --update $UPDATE_FILE}\` (Release, \`-O2\`, build/bench)"
    echo "- machine: $(uname -m), $(nproc 2>/dev/null || echo "?") cores shared with other work; load average"
    echo "  $LOAD_BEFORE at the start, $LOAD_AFTER at the end; date $(date -u +%Y-%m-%d)"
    echo "- each run: \`rtmem report -o PAGE INPUT...\` with the default budget (5 s for the"
    echo "  strategy comparison per trace); CPU is user + system time, memory the peak RSS"
    echo
    echo "| input | operations | wall time | CPU time | memory | page | comparison shows |"
    echo "|---|---:|---:|---:|---:|---:|---|"
    printf '%s' "$ROWS"
    echo
    echo "Goal: a report of a 2.4M-event trace in under 30 s (wall): **$VERDICT**. The"
    echo "CPU time is the work; the wall time grows with the machine's load (above). The"
    echo "comparison's budget is CPU time (as compare's), so what the page shows hardly"
    echo "depends on the load. Every chart is down-sampled to"
    echo "at most 1024 slices, so the page's size does not grow with the trace. \"too slow\""
    echo "is a strategy whose measuring replay did not finish in its share of the budget"
    echo "(docs/report.md)."
)
echo "$REPORT"

if [ -n "$UPDATE_FILE" ]; then
    rtm_update_section "$UPDATE_FILE" report-times "$REPORT"
    echo "report_times.sh: updated $UPDATE_FILE"
fi
[ "$VERDICT" = "met" ]
