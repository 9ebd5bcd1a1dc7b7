#!/usr/bin/env bash
# rtmem on 32-bit targets: bash scripts/cross.sh
#
# 1. Makes sure the cross tools are there (Debian 12): cmake make
#    gcc-arm-none-eabi libnewlib-arm-none-eabi picolibc-arm-none-eabi
#    qemu-system-arm, and for RISC-V gcc-riscv64-unknown-elf
#    picolibc-riscv64-unknown-elf. Missing ones are installed when running as
#    root or with passwordless sudo; otherwise the apt commands are printed
#    and the script exits 1. If the RISC-V packages do not exist in the
#    configured archives, the RISC-V build is skipped with a message.
# 2. Builds the library with strict warnings as errors (MinSizeRel, port
#    none) for Cortex-M0+, M3, M4F, M7 (cmake/toolchain-arm-none-eabi.cmake)
#    and rv32imac (cmake/toolchain-riscv32.cmake).
# 3. Builds the cmocka suites of tests/target for the Cortex-M3 at -Os
#    (MinSizeRel: the build of most firmware, whose TLSF paths no host
#    configuration compiles) and runs each under qemu-system-arm -M
#    mps2-an385 (docs/targets.md).
# 4. Prints one line per build and suite, then ctest's summary line over all
#    of them; exits non-zero if anything failed.
#
# Build directories: build/cross-<name>; logs: build/cross-<name>.log.
# Environment: RTMEM_JOBS=2 (build and test parallelism),
#              RTMEM_CROSS_TIMEOUT=300 (seconds per suite under QEMU).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

JOBS=${RTMEM_JOBS:-2}
TIMEOUT=${RTMEM_CROSS_TIMEOUT:-300}
ARM_PACKAGES=(cmake make gcc-arm-none-eabi libnewlib-arm-none-eabi picolibc-arm-none-eabi
              qemu-system-arm)
RISCV_PACKAGES=(gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf)
ARM_CPUS=(cortex-m0plus cortex-m3 cortex-m4f cortex-m7)

# --- 1. tools ---------------------------------------------------------------
is_installed() {
    dpkg-query -W -f='${Status}\n' "$1" 2>/dev/null | grep -q 'install ok installed'
}

# True if apt knows a version of the package it could install.
is_available() {
    local candidate
    candidate=$(apt-cache policy "$1" 2>/dev/null | awk '/Candidate:/ { print $2 }')
    [ -n "$candidate" ] && [ "$candidate" != "(none)" ]
}

WITH_RISCV=1

ensure_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        local c
        for c in cmake make arm-none-eabi-gcc qemu-system-arm; do
            if ! command -v "$c" >/dev/null 2>&1; then
                echo "cross.sh: '$c' is missing, and this is not a Debian system: install cmake," \
                     "make, the GNU Arm embedded toolchain with newlib and picolibc, and QEMU." >&2
                exit 1
            fi
        done
        command -v riscv64-unknown-elf-gcc >/dev/null 2>&1 || WITH_RISCV=0
        return 0
    fi
    local missing=() p
    for p in "${ARM_PACKAGES[@]}" "${RISCV_PACKAGES[@]}"; do
        is_installed "$p" || missing+=("$p")
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo"
        else
            echo "cross.sh: missing packages: ${missing[*]}" >&2
            echo "Run these as root, then run this script again:" >&2
            echo "  sudo apt-get update" >&2
            echo "  sudo apt-get install -y --no-install-recommends ${missing[*]}" >&2
            echo "(the RISC-V ones, ${RISCV_PACKAGES[*]}, may be left out: that build is then skipped)" >&2
            exit 1
        fi
    fi
    mkdir -p build
    echo "cross.sh: installing ${missing[*]}"
    if ! $sudo env DEBIAN_FRONTEND=noninteractive apt-get update >build/cross-apt.log 2>&1; then
        echo "cross.sh: 'apt-get update' failed:" >&2
        tail -n 30 build/cross-apt.log >&2
        exit 1
    fi
    local install=()
    for p in "${missing[@]}"; do
        if [[ " ${RISCV_PACKAGES[*]} " == *" $p "* ]] && ! is_available "$p"; then
            echo "cross.sh: $p is not in the configured archives: the RISC-V build is skipped"
            WITH_RISCV=0
            continue
        fi
        install+=("$p")
    done
    if [ "$WITH_RISCV" -eq 0 ]; then
        # Half of the RISC-V pair is no use.
        local kept=()
        for p in "${install[@]}"; do
            [[ " ${RISCV_PACKAGES[*]} " == *" $p "* ]] || kept+=("$p")
        done
        install=("${kept[@]+"${kept[@]}"}")
    fi
    if [ "${#install[@]}" -gt 0 ] &&
        ! $sudo env DEBIAN_FRONTEND=noninteractive \
            apt-get install -y --no-install-recommends "${install[@]}" >>build/cross-apt.log 2>&1; then
        echo "cross.sh: 'apt-get install ${install[*]}' failed:" >&2
        tail -n 30 build/cross-apt.log >&2
        exit 1
    fi
}

ensure_packages

# --- 2. library builds --------------------------------------------------------
RESULTS=()
PASSED=0
FAILED=0

record() { # record PASS|FAIL TEXT
    RESULTS+=("$1  $2")
    if [ "$1" = PASS ]; then
        PASSED=$((PASSED + 1))
    else
        FAILED=$((FAILED + 1))
    fi
    echo "$1  $2"
}

# configure_dir NAME CMAKE-ARGS...: a fresh build directory when the
# arguments changed since the last run; the log is build/cross-NAME.log.
configure_dir() {
    local name=$1
    shift
    local dir="build/cross-$name" stamp="$ROOT $*"
    if [ -d "$dir" ] && [ "$(cat "$dir/.rtmem-args" 2>/dev/null)" != "$stamp" ]; then
        rm -rf "$dir"
    fi
    cmake "$@" -B "$dir" >"build/cross-$name.log" 2>&1 || return 1
    printf '%s' "$stamp" >"$dir/.rtmem-args"
}

# build_library NAME TOOLCHAIN-FILE CMAKE-ARGS...
build_library() {
    local name=$1 toolchain=$2
    shift 2
    local start=$SECONDS log="build/cross-$name.log"
    if ! configure_dir "$name" -S . -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/$toolchain" \
            -DCMAKE_BUILD_TYPE=MinSizeRel -DRTMEM_BUILD_TESTS=OFF -DRTMEM_BUILD_EXAMPLES=OFF \
            -DRTMEM_WARNINGS_AS_ERRORS=ON "$@"; then
        tail -n 20 "$log"
        record FAIL "build $name: configure failed ($log)"
        return 0
    fi
    if ! cmake --build "build/cross-$name" -j "$JOBS" >>"$log" 2>&1; then
        grep -E 'error|warning' "$log" | head -n 30 || true
        record FAIL "build $name: library does not build with -Werror ($log)"
        return 0
    fi
    record PASS "build $name: library, -Werror ($((SECONDS - start)) s)"
}

mkdir -p build
for cpu in "${ARM_CPUS[@]}"; do
    build_library "$cpu" toolchain-arm-none-eabi.cmake -DRTMEM_ARM_CPU="$cpu"
done
if [ "$WITH_RISCV" -eq 1 ]; then
    build_library rv32imac toolchain-riscv32.cmake
else
    echo "SKIP  build rv32imac: gcc-riscv64-unknown-elf / picolibc-riscv64-unknown-elf unavailable"
fi

# --- 3. suites on the emulated Cortex-M3 --------------------------------------
run_target_suites() {
    local name=m3-tests start=$SECONDS
    local dir="build/cross-$name" log="build/cross-$name.log"
    if ! configure_dir "$name" -S tests/target \
            -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-arm-none-eabi.cmake" \
            -DRTMEM_ARM_CPU=cortex-m3 -DCMAKE_BUILD_TYPE=MinSizeRel \
            -DRTMEM_TARGET_TIMEOUT="$TIMEOUT"; then
        tail -n 20 "$log"
        record FAIL "suites on cortex-m3: configure failed ($log)"
        return 0
    fi
    if ! cmake --build "$dir" -j "$JOBS" >>"$log" 2>&1; then
        grep -E 'error|warning' "$log" | head -n 30 || true
        record FAIL "suites on cortex-m3: build failed ($log)"
        return 0
    fi
    echo "      suites built ($((SECONDS - start)) s); running them under qemu-system-arm -M mps2-an385"
    local ctest_log="$dir/ctest.log"
    ctest --test-dir "$dir" --output-on-failure -j "$JOBS" >"$ctest_log" 2>&1 || true
    cat "$ctest_log" >>"$log"
    # One line per suite from ctest's "N/M Test #K: name ...  Passed  1.2 sec".
    local line suite verdict secs found=0
    while IFS= read -r line; do
        suite=$(sed -E 's/^ *[0-9]+\/[0-9]+ Test +#[0-9]+: ([^ ]+) .*/\1/' <<<"$line")
        secs=$(sed -E 's/.* ([0-9.]+) sec$/\1/' <<<"$line")
        found=$((found + 1))
        if [[ "$line" == *" Passed "* ]]; then
            record PASS "qemu cortex-m3 $suite ($secs s)"
        else
            verdict=$(sed -E 's/^.*: [^ ]+ \.+ *//; s/ +[0-9.]+ sec$//' <<<"$line")
            record FAIL "qemu cortex-m3 $suite: $verdict ($secs s, output in $log)"
        fi
    done < <(grep -E '^ *[0-9]+/[0-9]+ Test +#[0-9]+: ' "$ctest_log")
    if [ "$found" -eq 0 ]; then
        tail -n 20 "$ctest_log"
        record FAIL "suites on cortex-m3: ctest ran nothing ($log)"
    fi
}

run_target_suites

# --- 4. summary -----------------------------------------------------------------
TOTAL=$((PASSED + FAILED))
PERCENT=0
if [ "$TOTAL" -gt 0 ]; then
    PERCENT=$((PASSED * 100 / TOTAL))
fi
echo
echo "cross: $PASSED passed, $FAILED failed ($SECONDS s)"
echo "$PERCENT% tests passed, $FAILED tests failed out of $TOTAL"
[ "$FAILED" -eq 0 ]
