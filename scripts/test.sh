#!/usr/bin/env bash
# rtmem's test command: bash scripts/test.sh
#
# 1. Makes sure the tools are there (Debian 12): cmake gcc libc6-dev clang gcc-multilib
#    libcmocka-dev libcmocka-dev:i386 pkg-config make (+ clang's sanitizer
#    runtime). Missing ones are installed when running as root or with
#    passwordless sudo; otherwise the exact apt commands are printed and the
#    script exits 1. When everything is present nothing is installed.
# 2. Builds and runs ctest in three configurations, under build/:
#      gcc    gcc, RelWithDebInfo, strict warnings as errors
#      san    ASan + UBSan (clang, or gcc if clang's runtime does not work)
#      m32    gcc -m32 (a 32-bit target's pointer and size_t widths)
# 3. Prints one line per configuration and a closing count; exits non-zero if
#    any configuration failed. Logs: build/<config>.log.
#
# Quiet on success: only ctest's summary line per configuration is shown.
# Environment: RTMEM_TEST_CONFIGS="gcc san m32" (a subset to run),
#              RTMEM_JOBS=2 (build and ctest parallelism).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

JOBS=${RTMEM_JOBS:-2}
CONFIGS=${RTMEM_TEST_CONFIGS:-gcc san m32}
PACKAGES=(cmake gcc libc6-dev clang libclang-rt-dev gcc-multilib libcmocka-dev libcmocka-dev:i386
          pkg-config make)

# --- 1. tools ---------------------------------------------------------------
ensure_packages() {
    if ! command -v dpkg-query >/dev/null 2>&1; then
        local c
        for c in cmake gcc make; do
            if ! command -v "$c" >/dev/null 2>&1; then
                echo "test.sh: '$c' is missing, and this is not a Debian system: install" \
                     "cmake, gcc, clang, make, cmocka (64- and 32-bit) and pkg-config." >&2
                exit 1
            fi
        done
        return 0
    fi
    local missing=() add_arch=0 p
    if ! dpkg --print-foreign-architectures | grep -qx i386; then
        add_arch=1
    fi
    for p in "$@"; do
        if ! dpkg-query -W -f='${Status}\n' "$p" 2>/dev/null | grep -q 'install ok installed'; then
            missing+=("$p")
        fi
    done
    if [ "${#missing[@]}" -eq 0 ]; then
        return 0
    fi
    local cmds=()
    case " ${missing[*]} " in
        *:i386*) [ "$add_arch" -eq 1 ] && cmds+=("dpkg --add-architecture i386") ;;
    esac
    cmds+=("apt-get update")
    cmds+=("apt-get install -y --no-install-recommends ${missing[*]}")
    local sudo=""
    if [ "$(id -u)" -ne 0 ]; then
        if command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
            sudo="sudo"
        else
            echo "test.sh: missing packages: ${missing[*]}" >&2
            echo "Run these as root, then run this script again:" >&2
            local c
            for c in "${cmds[@]}"; do
                echo "  sudo $c" >&2
            done
            exit 1
        fi
    fi
    echo "test.sh: installing ${missing[*]}"
    mkdir -p build
    local c
    for c in "${cmds[@]}"; do
        # shellcheck disable=SC2086 # the commands are word lists on purpose
        if ! $sudo env DEBIAN_FRONTEND=noninteractive $c >build/apt.log 2>&1; then
            echo "test.sh: '$c' failed:" >&2
            tail -n 30 build/apt.log >&2
            exit 1
        fi
    done
}

ensure_packages "${PACKAGES[@]}"

# --- 2. configurations ------------------------------------------------------
# A compiler whose ASan + UBSan runtime links and runs here.
pick_sanitizer_cc() {
    local tmp cc
    tmp=$(mktemp -d)
    printf 'int main(void) { return 0; }\n' >"$tmp/probe.c"
    for cc in clang gcc; do
        if command -v "$cc" >/dev/null 2>&1 &&
            "$cc" -fsanitize=address,undefined "$tmp/probe.c" -o "$tmp/probe" >/dev/null 2>&1 &&
            "$tmp/probe" >/dev/null 2>&1; then
            rm -rf "$tmp"
            echo "$cc"
            return 0
        fi
    done
    rm -rf "$tmp"
    echo gcc # fails visibly in the build log
}

SUMMARY=()
TOTAL_PASSED=0
TOTAL_FAILED=0
ANY_FAILED=0

# run_config NAME DESCRIPTION CMAKE-ARGS...
run_config() {
    local name=$1 desc=$2
    shift 2
    local dir="build/$name" log="build/$name.log" start=$SECONDS
    mkdir -p build
    # Start afresh when the configuration itself changed (e.g. another compiler).
    local stamp="$ROOT $*"
    if [ -d "$dir" ] && [ "$(cat "$dir/.rtmem-args" 2>/dev/null)" != "$stamp" ]; then
        rm -rf "$dir"
    fi
    echo "== $name: $desc"
    if ! cmake -S . -B "$dir" "$@" >"$log" 2>&1; then
        tail -n 40 "$log"
        record "$name" FAIL "configure failed (build/$name.log)" 0 1 "$start"
        return 0
    fi
    printf '%s' "$stamp" >"$dir/.rtmem-args"
    if ! cmake --build "$dir" -j "$JOBS" >>"$log" 2>&1; then
        grep -E 'error:|warning:' "$log" | head -n 40 || true
        tail -n 20 "$log"
        record "$name" FAIL "build failed (build/$name.log)" 0 1 "$start"
        return 0
    fi
    local rc=0
    ctest --test-dir "$dir" --output-on-failure -j "$JOBS" >>"$log" 2>&1 || rc=$?
    local line passed=0 failed=0 total=0
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$log" | tail -n 1 || true)
    if [ -n "$line" ]; then
        failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
        total=$(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line")
        passed=$((total - failed))
    fi
    if [ "$rc" -ne 0 ] || [ -z "$line" ] || [ "$failed" -ne 0 ] || [ "$total" -eq 0 ]; then
        sed -n '/Test project/,$p' "$log"
        [ "$failed" -eq 0 ] && failed=1
        record "$name" FAIL "${line:-ctest ran no test}" "$passed" "$failed" "$start"
        return 0
    fi
    echo "$line"
    record "$name" PASS "$line" "$passed" "$failed" "$start"
}

# record NAME PASS|FAIL TEXT PASSED FAILED START
record() {
    SUMMARY+=("$(printf '%-4s %-4s %4ds  %s' "$1" "$2" $((SECONDS - $6)) "$3")")
    TOTAL_PASSED=$((TOTAL_PASSED + $4))
    TOTAL_FAILED=$((TOTAL_FAILED + $5))
    [ "$2" = PASS ] || ANY_FAILED=1
}

for config in $CONFIGS; do
    case "$config" in
        gcc)
            run_config gcc "gcc, RelWithDebInfo" \
                -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo ;;
        san)
            cc=$(pick_sanitizer_cc)
            # Pool fill patterns are compile-time: this configuration has them on.
            run_config san "$cc, Debug, -fsanitize=address,undefined, pool fill" \
                -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug -DRTMEM_SANITIZE=ON \
                -DRTMEM_EXTRA_DEFINES=RTM_POOL_FILL=1 ;;
        m32)
            run_config m32 "gcc -m32, Debug" \
                -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-m32 ;;
        *)
            echo "test.sh: unknown configuration '$config' (gcc, san, m32)" >&2
            exit 2 ;;
    esac
done

# --- 3. summary -------------------------------------------------------------
echo
for line in "${SUMMARY[@]}"; do
    echo "$line"
done
echo "tests: $TOTAL_PASSED passed, $TOTAL_FAILED failed"
exit "$ANY_FAILED"
