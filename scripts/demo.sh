#!/usr/bin/env bash
# rtmem's demo command: bash scripts/demo.sh
#
# Makes sure cmake, gcc and make are there (Debian 12: installed when running
# as root or with passwordless sudo, otherwise the apt command is printed and
# the script exits 1), builds the demo example in build/demo (optimised, with
# debug information so that `rtmem leaks --elf` names its source lines) and
# runs it.
# Arguments are passed to the demo program (firmware_sim --help lists them).
#
# The demo is the simulated ESP32 firmware (examples/firmware_sim/,
# docs/demo.md): it runs about 10 seconds and writes its telemetry and heap
# trace to build/demo/ (give --out DIR to put them elsewhere). Then
# `rtmem report` makes one HTML page of both, with the demo binary's symbols
# (docs/report.md): report.html next to them; its path is printed last.
# RTMEM_DEMO=strategies runs the older one-workload-on-every-strategy demo.
# RTMEM_DEMO_DIR=<dir> builds in <dir> instead of build/demo (relative to the
# repository root), and the files go there too unless --out says otherwise;
# the build log is <dir>.log. RTMEM_NO_INSTALL=1: a missing package is named
# and the script exits 1, even as root (scripts/lib.sh).
set -euo pipefail

# The example target that is the demo (built by examples/CMakeLists.txt).
DEMO=${RTMEM_DEMO:-firmware_sim}
DIR=${RTMEM_DEMO_DIR:-build/demo}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PACKAGES=(cmake gcc libc6-dev make)

# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

rtm_ensure_packages demo.sh "cmake gcc make" "${PACKAGES[@]}"

mkdir -p "$(dirname "$DIR")"
log="$DIR.log"
if ! { cmake -S . -B "$DIR" -DCMAKE_BUILD_TYPE=RelWithDebInfo -DRTMEM_BUILD_TESTS=OFF \
           -DRTMEM_BUILD_EXAMPLES=ON &&
       cmake --build "$DIR" --target "$DEMO" rtmem_tool -j 2; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "demo.sh: build failed (full log: $log)" >&2
    exit 1
fi
if [ "$DEMO" = firmware_sim ]; then
    # Its files go next to the build, not into the source tree; a later
    # --out among the arguments wins (and the report goes there too).
    out=$DIR
    prev=""
    for a in "$@"; do
        [ "$prev" = --out ] && out=$a
        prev=$a
    done
    # A telemetry file older than this run is an earlier run's: --help
    # writes none, and must not report that old one as if it were new.
    stamp=$(mktemp)
    trap 'rm -f "$stamp"' EXIT
    "$DIR/examples/$DEMO" --out "$DIR" "$@"
    if [ ! "$out/$DEMO.telemetry.jsonl" -nt "$stamp" ]; then
        exit 0 # --help, or a run that wrote nothing
    fi
    # The trace is small: 30 s lets every strategy's checked minimum search
    # finish even on a busy machine (about a second on an idle one).
    if ! "$DIR/tools/rtmem" report -o "$out/report.html" --budget 30 \
        --elf "$DIR/examples/$DEMO" \
        "$out/$DEMO.telemetry.jsonl" "$out/$DEMO.trace" 2>"$out/report.log"; then
        cat "$out/report.log" >&2
        echo "demo.sh: rtmem report failed" >&2
        exit 1
    fi
    echo
    echo "report: $(cd "$out" && pwd)/report.html (open it in a browser)"
    exit 0
fi
exec "$DIR/examples/$DEMO" "$@"
