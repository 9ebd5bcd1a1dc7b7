#!/usr/bin/env bash
# rtmem's demo command: bash scripts/demo.sh
#
# Makes sure cmake, gcc and make are there (Debian 12: installed when running
# as root or with passwordless sudo, otherwise the apt command is printed and
# the script exits 1), builds the demo example in build/demo and runs it.
# Arguments are passed to the demo program (firmware_sim --help lists them).
#
# The demo is the simulated ESP32 firmware (examples/firmware_sim/,
# docs/demo.md): it runs about 10 seconds and writes its telemetry and heap
# trace to build/demo/ (give --out DIR to put them elsewhere).
# RTMEM_DEMO=strategies runs the older one-workload-on-every-strategy demo.
set -euo pipefail

# The example target that is the demo (built by examples/CMakeLists.txt).
DEMO=${RTMEM_DEMO:-firmware_sim}

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

PACKAGES=(cmake gcc libc6-dev make)

ensure_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        local c
        for c in cmake make; do
            if ! command -v "$c" >/dev/null 2>&1; then
                echo "demo.sh: '$c' is missing: install cmake, a C compiler and make." >&2
                exit 1
            fi
        done
        return 0
    fi
    local missing=() p
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    local cmds=("apt-get update" "apt-get install -y --no-install-recommends ${missing[*]}")
    local sudo="" c
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo"
        else
            echo "demo.sh: missing packages: ${missing[*]}" >&2
            echo "Run these as root, then run this script again:" >&2
            for c in "${cmds[@]}"; do
                echo "  sudo $c" >&2
            done
            exit 1
        fi
    fi
    echo "demo.sh: installing ${missing[*]}"
    mkdir -p build
    for c in "${cmds[@]}"; do
        # shellcheck disable=SC2086 # the commands are word lists on purpose
        if ! $sudo env DEBIAN_FRONTEND=noninteractive $c >build/apt.log 2>&1; then
            echo "demo.sh: '$c' failed:" >&2
            tail -n 30 build/apt.log >&2
            exit 1
        fi
    done
}

ensure_packages "${PACKAGES[@]}"

mkdir -p build
log=build/demo.log
if ! { cmake -S . -B build/demo -DCMAKE_BUILD_TYPE=Release -DRTMEM_BUILD_TESTS=OFF \
           -DRTMEM_BUILD_EXAMPLES=ON &&
       cmake --build build/demo --target "$DEMO" -j 2; } >"$log" 2>&1; then
    tail -n 40 "$log" >&2
    echo "demo.sh: build failed (full log: $log)" >&2
    exit 1
fi
if [ "$DEMO" = firmware_sim ]; then
    # Its files go next to the build, not into the source tree; a later
    # --out among the arguments wins.
    exec "build/demo/examples/$DEMO" --out build/demo "$@"
fi
exec "build/demo/examples/$DEMO" "$@"
