#!/usr/bin/env bash
# rtmem's test command: bash scripts/test.sh
#
# 1. Makes sure the tools are there (Debian 12): cmake gcc libc6-dev clang gcc-multilib
#    libcmocka-dev libcmocka-dev:i386 pkg-config make python3 python3-yaml chromium
#    libncurses-dev libncurses-dev:i386 tmux (+ clang's sanitizer runtime; python3
#    runs the packaging checks; chromium renders `rtmem report`'s page in
#    tests/report_render.py; ncurses builds `rtmem top`, which tmux drives in its
#    test). Missing ones are installed when running as root or with
#    passwordless sudo; otherwise the exact apt commands are printed and the
#    script exits 1. When everything is present nothing is installed.
# 2. Builds and runs ctest in four configurations, under build/:
#      gcc    gcc, RelWithDebInfo, strict warnings as errors; also the
#             tests labelled "once", which the others leave out (ctest -LE
#             once): scripts/demo.sh end to end (tests/demo_script.sh)
#      san    ASan + UBSan (clang, or gcc if clang's runtime does not work)
#      m32    gcc -m32 (a 32-bit target's pointer and size_t widths), run
#             natively when the kernel runs i386 programs, else every test
#             under qemu-i386 (package qemu-user, installed then); the
#             summary line says which
#      none   the library with the none port (bare metal: lock hooks, task
#             id and ticks from hooks, nothing blocks), ASan + UBSan, and
#             only the suites whose behaviour depends on the port
#             (NONE_SUITES below: pools with the simulated ISR, heap and
#             caps locking through the hooks, task ids, the monitor's
#             clock); fails unless every one of them ran and passed, and
#             the ISR tests passed in them (docs/testing.md)
#    then three checks with scripts of their own (each installs what it needs:
#    clang's runtimes; gcc-arm-none-eabi, picolibc/newlib, qemu-system-arm,
#    gcc-riscv64-unknown-elf):
#      tsan      the threaded suites under ThreadSanitizer (scripts/tsan.sh)
#      fuzz      every libFuzzer target for a short run (scripts/fuzz.sh)
#      cortex-m  cross builds for Cortex-M0+/M3/M4F/M7 and rv32imac, and the
#                core suites on an emulated Cortex-M3 (scripts/cross.sh)
# 3. Prints one line per configuration and a closing count; exits non-zero if
#    any configuration failed. Logs: build/<config>.log.
#
# Quiet on success: only ctest's summary line per configuration is shown.
# Environment: RTMEM_TEST_CONFIGS="gcc san m32 none tsan fuzz cortex-m" (a subset
#              to run), RTMEM_JOBS=2 (build and ctest parallelism),
#              RTMEM_FUZZ_SECONDS (per fuzz target, scripts/fuzz.sh),
#              RTMEM_M32_EMULATOR=auto|native|qemu (how the m32 tests run:
#              auto probes with a tiny -m32 program; qemu forces qemu-i386
#              even where the kernel could run them, to test that path).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

JOBS=${RTMEM_JOBS:-2}
CONFIGS=${RTMEM_TEST_CONFIGS:-gcc san m32 none tsan fuzz cortex-m}
# The suites of the "none" configuration, and the cmocka tests that must
# have passed in them (compiled only for ISR-safe locks: if the build lost
# them the configuration fails instead of passing without them).
NONE_SUITES=(test_port_none test_pool test_heap test_caps test_task_stats test_trace
             test_monitor)
NONE_REQUIRED_CASES=(test_isr_alloc_free_simulated test_wait_never_blocks_here)
PACKAGES=(cmake gcc libc6-dev clang libclang-rt-dev gcc-multilib libcmocka-dev libcmocka-dev:i386
          pkg-config make python3 python3-yaml chromium libncurses-dev libncurses-dev:i386
          tmux)

# --- 1. tools ---------------------------------------------------------------
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

rtm_ensure_packages test.sh "cmake gcc make" "${PACKAGES[@]}"

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

# How the -m32 programs run here: prints "native" or the path of
# qemu-i386. Where the kernel cannot execute i386 programs (no
# CONFIG_IA32_EMULATION: "Exec format error") the m32 suite runs under
# qemu-i386 user-mode emulation; RTMEM_M32_EMULATOR=qemu forces that, and
# =native forces the kernel. Prints nothing if neither works: the m32
# configuration then fails, it is never skipped.
pick_m32_runner() {
    local mode=${RTMEM_M32_EMULATOR:-auto} tmp runner=""
    case "$mode" in
        auto | native | qemu) ;;
        *)
            echo "test.sh: RTMEM_M32_EMULATOR is '$mode'; it must be auto, native or qemu" >&2
            exit 2 ;;
    esac
    tmp=$(mktemp -d)
    printf 'int main(void) { return sizeof(void *) == 4 ? 0 : 1; }\n' >"$tmp/probe.c"
    if ! gcc -m32 "$tmp/probe.c" -o "$tmp/probe" >/dev/null 2>&1; then
        rm -rf "$tmp"
        echo native # gcc-multilib is broken: the build fails visibly in build/m32.log
        return 0
    fi
    if [ "$mode" != qemu ] && "$tmp/probe" >/dev/null 2>&1; then
        runner=native
    elif [ "$mode" != native ]; then
        rtm_ensure_packages test.sh "qemu-i386" qemu-user >&2
        if command -v qemu-i386 >/dev/null 2>&1 && qemu-i386 "$tmp/probe" >/dev/null 2>&1; then
            runner=$(command -v qemu-i386)
        fi
    fi
    rm -rf "$tmp"
    echo "$runner"
}

SUMMARY=()
TOTAL_PASSED=0
TOTAL_FAILED=0
ANY_FAILED=0

# run_config NAME DESCRIPTION NOTE CMAKE-ARGS...: NOTE (may be empty) ends
# the configuration's summary line. With EXPECT_EMULATOR set, the ctest
# commands must name it, or the configuration fails before running. With
# ONLY_SUITES set (an array), only those suites are built and run, and each
# must have run; every cmocka test named in REQUIRED_CASES must have
# passed (ctest -V keeps their output in the log).
EXPECT_EMULATOR=""
ONLY_SUITES=()
REQUIRED_CASES=()
run_config() {
    local name=$1 desc=$2 note=${3:+ ($3)}
    shift 3
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
        record "$name" FAIL "configure failed (build/$name.log)$note" 0 1 "$start"
        return 0
    fi
    printf '%s' "$stamp" >"$dir/.rtmem-args"
    local targets=() select=() verbose=()
    if [ "${#ONLY_SUITES[@]}" -gt 0 ]; then
        targets=(--target "${ONLY_SUITES[@]}")
        select=(-R "^($(IFS='|'; echo "${ONLY_SUITES[*]}"))\$" --no-tests=error)
    fi
    [ "${#REQUIRED_CASES[@]}" -gt 0 ] && verbose=(-V)
    # Tests labelled "once" do not depend on the configuration's compiler or
    # flags (tests/demo_script.sh builds the demo its own way): gcc runs them.
    [ "$name" != gcc ] && select+=(-LE '^once$')
    if ! cmake --build "$dir" -j "$JOBS" "${targets[@]}" >>"$log" 2>&1; then
        grep -E 'error:|warning:' "$log" | head -n 40 || true
        tail -n 20 "$log"
        record "$name" FAIL "build failed (build/$name.log)$note" 0 1 "$start"
        return 0
    fi
    if [ -n "$EXPECT_EMULATOR" ] &&
        ! grep -qF "$EXPECT_EMULATOR" "$dir/tests/CTestTestfile.cmake" 2>/dev/null; then
        record "$name" FAIL "the tests would not run under $EXPECT_EMULATOR (build/$name/tests/CTestTestfile.cmake)$note" \
            0 1 "$start"
        return 0
    fi
    local rc=0
    ctest --test-dir "$dir" --output-on-failure -j "$JOBS" "${select[@]}" "${verbose[@]}" \
        >>"$log" 2>&1 || rc=$?
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
        record "$name" FAIL "${line:-ctest ran no test}$note" "$passed" "$failed" "$start"
        return 0
    fi
    local missing=() suite case_name
    for suite in "${ONLY_SUITES[@]}"; do
        grep -qE "Test +#[0-9]+: $suite \.* +Passed" "$log" || missing+=("$suite")
    done
    for case_name in "${REQUIRED_CASES[@]}"; do
        grep -qE "\[ +OK \] $case_name\$" "$log" || missing+=("$case_name")
    done
    if [ "${#missing[@]}" -gt 0 ]; then
        record "$name" FAIL "did not run: ${missing[*]} ($log)$note" "$passed" 1 "$start"
        return 0
    fi
    echo "$line$note"
    record "$name" PASS "$line$note" "$passed" "$failed" "$start"
}

# run_script NAME DESCRIPTION SCRIPT: a check with a script of its own, which
# installs what it needs and ends with a ctest-style summary line (or, for the
# fuzzers, "fuzz: T targets, N runs, C crashes"). Its output: build/NAME.log.
run_script() {
    local name=$1 desc=$2 script=$3 start=$SECONDS log="build/$1.log"
    mkdir -p build
    echo "== $name: $desc"
    local rc=0
    bash "$script" >"$log" 2>&1 || rc=$?
    local line passed=0 failed=0
    line=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+|^fuzz: [0-9]+ targets' \
        "$log" | tail -n 1 || true)
    if [[ "$line" =~ ^fuzz:\ ([0-9]+)\ targets,\ [0-9]+\ runs,\ ([0-9]+)\ crash ]]; then
        failed=${BASH_REMATCH[2]}
        passed=$((BASH_REMATCH[1] - failed))
    elif [ -n "$line" ]; then
        failed=$(sed -E 's/.* ([0-9]+) tests? failed.*/\1/' <<<"$line")
        passed=$(($(sed -E 's/.*out of ([0-9]+).*/\1/' <<<"$line") - failed))
    fi
    if [ "$rc" -ne 0 ] || [ -z "$line" ] || [ "$failed" -ne 0 ]; then
        tail -n 40 "$log"
        [ "$failed" -eq 0 ] && failed=1
        record "$name" FAIL "${line:-$script exited $rc} ($log)" "$passed" "$failed" "$start"
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
            run_config gcc "gcc, RelWithDebInfo" "" \
                -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=RelWithDebInfo ;;
        san)
            cc=$(pick_sanitizer_cc)
            # Pool fill patterns are compile-time: this configuration has them on.
            run_config san "$cc, Debug, -fsanitize=address,undefined, pool fill" "" \
                -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug -DRTMEM_SANITIZE=ON \
                -DRTMEM_EXTRA_DEFINES=RTM_POOL_FILL=1 ;;
        m32)
            runner=$(pick_m32_runner)
            if [ -z "$runner" ]; then
                echo "== m32: gcc -m32, Debug"
                echo "test.sh: a -m32 probe program ran neither natively nor under qemu-i386" \
                     "(RTMEM_M32_EMULATOR=${RTMEM_M32_EMULATOR:-auto})"
                record m32 FAIL "not run: no way to execute i386 programs here (native or qemu-i386)" \
                    0 1 "$SECONDS"
            elif [ "$runner" = native ]; then
                run_config m32 "gcc -m32, Debug, run natively" "native i386" \
                    -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-m32
            else
                # CMake puts the emulator in front of every test command that
                # names a built program; the tests that start programs
                # themselves get it too (tests/, examples/CMakeLists.txt).
                # Emulation is several times slower (the longest suite took
                # 99 s on a loaded 2-core machine): a longer per-suite limit.
                EXPECT_EMULATOR=$runner
                run_config m32 "gcc -m32, Debug, every test under $runner" "under qemu-i386" \
                    -DCMAKE_C_COMPILER=gcc -DCMAKE_BUILD_TYPE=Debug -DCMAKE_C_FLAGS=-m32 \
                    -DCMAKE_CROSSCOMPILING_EMULATOR="$runner" -DRTMEM_TEST_TIMEOUT=900
                EXPECT_EMULATOR=""
            fi ;;
        none)
            cc=$(pick_sanitizer_cc)
            ONLY_SUITES=("${NONE_SUITES[@]}")
            REQUIRED_CASES=("${NONE_REQUIRED_CASES[@]}")
            run_config none "$cc, Debug, -fsanitize=address,undefined, RTMEM_PORT=none: ${#NONE_SUITES[@]} port-dependent suites" "" \
                -DCMAKE_C_COMPILER="$cc" -DCMAKE_BUILD_TYPE=Debug -DRTMEM_SANITIZE=ON \
                -DRTMEM_PORT=none -DRTMEM_BUILD_TOOLS=OFF -DRTMEM_BUILD_EXAMPLES=OFF
            ONLY_SUITES=()
            REQUIRED_CASES=() ;;
        tsan)
            run_script tsan "clang -fsanitize=thread: the threaded suites (scripts/tsan.sh)" \
                scripts/tsan.sh ;;
        fuzz)
            run_script fuzz "libFuzzer, a short run of every target (scripts/fuzz.sh)" \
                scripts/fuzz.sh ;;
        cortex-m)
            run_script cortex-m "cross builds (Cortex-M0+/M3/M4F/M7, rv32imac), suites on qemu mps2-an385 (scripts/cross.sh)" \
                scripts/cross.sh ;;
        *)
            echo "test.sh: unknown configuration '$config' (gcc, san, m32, none, tsan, fuzz, cortex-m)" >&2
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
