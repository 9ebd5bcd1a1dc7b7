#!/usr/bin/env bash
# Wall time of `rtmem compare` (default options): bash bench/compare_times.sh [--quick] [--update FILE]
#
# Builds the rtmem tool and bench/gen_compare_trace.c (Release, -O2, in
# build/bench), then times `rtmem compare --json` on every corpus trace
# (bench/traces/*.trace and *.trace.xz, unpacked to a temporary directory)
# and on generated traces of 100,000 and 2,400,000 events, and reports per
# trace the wall time, each strategy's minimum size or status (hopeless,
# too slow) with its search runs, and the recommendation. The goals
# (issue 13): at most 10 s on 100k events and 60 s on 2.4M events, on 2
# cores; the script exits 1 when one is missed.
#
#   --quick        skip the 2.4M-event trace
#   --update FILE  write the results between the lines
#                  "<!-- compare-times:begin -->" and "<!-- compare-times:end -->"
#                  of FILE (docs/benchmarks.md; bench/run.sh keeps that section)
#
# Environment: CC. Needs: cmake, a C compiler, xz, python3.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
cd "$ROOT"

rtm_bench_args "${BASH_SOURCE[0]}" yes "$@"
BIG=2400000
MODE=""
if [ "$QUICK" -eq 1 ]; then
    BIG=0
    MODE=" --quick"
fi

BUILD=build/bench
rtm_bench_build compare_times.sh rtmem_tool gen_compare_trace
RTMEM="$BUILD/rtmem/tools/rtmem"
GEN="$BUILD/gen_compare_trace"
WORK=$(mktemp -d)
trap 'rm -rf "$WORK"' EXIT

TRACES=()
for t in bench/traces/*.trace bench/traces/*.trace.xz; do
    [ -e "$t" ] || continue
    name=$(basename "$t" .xz)
    case "$t" in
        *.xz) xz -dc "$t" >"$WORK/$name" ;;
        *) cp "$t" "$WORK/$name" ;;
    esac
    TRACES+=("$WORK/$name")
done
"$GEN" 100000 >"$WORK/generated_100k.trace"
TRACES+=("$WORK/generated_100k.trace")
if [ "$BIG" -gt 0 ]; then
    "$GEN" "$BIG" >"$WORK/generated_2400k.trace"
    TRACES+=("$WORK/generated_2400k.trace")
fi

LOAD_BEFORE=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo "?")
VERDICT="met"
ROWS=""
for t in "${TRACES[@]}"; do
    name=$(basename "$t")
    echo "compare_times.sh: rtmem compare $name ..." >&2
    start=$(date +%s.%N)
    status=0
    # CPU time (user + system, the tool and its worker processes): unlike
    # the wall time it barely moves with the machine's load.
    # (`times` in this shell: in a $(...) subshell it would see no children)
    times >"$WORK/times"
    "$RTMEM" compare --json --quiet "$t" >"$WORK/out.json" 2>"$WORK/err.txt" || status=$?
    times >>"$WORK/times"
    TIMES_BEFORE=$(sed -n 2p "$WORK/times")
    TIMES_AFTER=$(sed -n 4p "$WORK/times")
    end=$(date +%s.%N)
    cpu=$(python3 - "$TIMES_BEFORE" "$TIMES_AFTER" <<'PY'
import re, sys
def secs(line):
    return sum(float(m) * 60 + float(s) for m, s in re.findall(r"(\d+)m([\d.]+)s", line))
print("%.1f" % (secs(sys.argv[2]) - secs(sys.argv[1])))
PY
)
    secs=$(awk -v a="$start" -v b="$end" 'BEGIN { printf "%.1f", b - a }')
    if [ "$status" -gt 1 ]; then
        cat "$WORK/err.txt" >&2
        echo "compare_times.sh: rtmem compare failed on $name (exit $status)" >&2
        exit 1
    fi
    row=$(python3 - "$WORK/out.json" "$secs" "$name" "$cpu" <<'PY'
import json, sys
d = json.load(open(sys.argv[1]))
t = d["traces"][0]
cells = []
for s in t["strategies"]:
    if s["status"] == "ok":
        cells.append("%s %d (%d runs, %.1f s)" % (s["strategy"], s["min_size"], s["search_runs"],
                                                 s["search_ms"] / 1000.0))
    elif s["status"] == "n/a":
        continue
    elif s["status"] == "hopeless":
        cells.append("%s > 8x best" % s["strategy"])
    else:
        cells.append("%s %s" % (s["strategy"], s["status"].replace("_", " ")))
rec = d["recommendation"]
pick = rec["strategy"] if rec else "none"
print("| %s | %d | %s s | %s s | %s | %s |" % (sys.argv[3], t["ops"], sys.argv[2], sys.argv[4],
                                            "; ".join(cells), pick))
PY
)
    ROWS="$ROWS$row"$'\n'
    ops=$(python3 -c 'import json,sys; print(json.load(open(sys.argv[1]))["traces"][0]["ops"])' "$WORK/out.json")
    if { [ "$ops" -ge 100000 ] && [ "$ops" -lt 1000000 ] && awk -v s="$secs" 'BEGIN { exit !(s > 10) }'; } ||
        { [ "$ops" -ge 1000000 ] && awk -v s="$secs" 'BEGIN { exit !(s > 60) }'; }; then
        VERDICT="MISSED"
    fi
done
LOAD_AFTER=$(cut -d ' ' -f 1-3 /proc/loadavg 2>/dev/null || echo "?")

REPORT=$(
    echo "## rtmem compare times"
    echo
    echo "Written by \`bench/compare_times.sh\`; do not edit by hand."
    echo
    echo "- command: \`bash bench/compare_times.sh$MODE${UPDATE_FILE:+ --update $UPDATE_FILE}\` (Release, \`-O2\`, build/bench)"
    echo "- machine: $(uname -m), $(nproc 2>/dev/null || echo "?") cores shared with other work; load average"
    echo "  $LOAD_BEFORE at the start, $LOAD_AFTER at the end; date $(date -u +%Y-%m-%d)"
    echo "- each trace: \`rtmem compare --json --quiet TRACE\` with the default options"
    echo "  (budget, jobs); generated traces: \`gen_compare_trace EVENTS\`"
    echo
    echo "| trace | operations | wall time | CPU time | minimum size per strategy (search runs, search time) | pick |"
    echo "|---|---:|---:|---:|---|---|"
    printf '%s' "$ROWS"
    echo
    echo "Goals: at most 10 s on 100k events and 60 s on 2.4M events: **$VERDICT**."
    echo "\"too slow\" is a strategy whose search passed its budget (10x the first"
    echo "strategy's search CPU time, at least 5 s): its runs near the minimum size walk"
    echo "long free lists, and the search stops rather than spend minutes on it."
    echo "\"> 8x best\" is one that does not complete at 8 times the best minimum."
    echo "Both depend on the machine's speed and load, unlike the minimum sizes."
    echo "Search runs include those of helper processes (--jobs): a search replays"
    echo "the sizes its next steps may need at once, mostly on cores that would wait."
    echo "CPU time: user + system of the tool and its processes (the wall time"
    echo "grows with the machine's load, the CPU time hardly)."
)
echo "$REPORT"

if [ -n "$UPDATE_FILE" ]; then
    rtm_update_section "$UPDATE_FILE" compare-times "$REPORT"
    echo "compare_times.sh: updated $UPDATE_FILE"
fi
[ "$VERDICT" = "met" ]
