#!/usr/bin/env bash
# Data-race check: bash scripts/tsan.sh
#
# Builds the suites that start threads with clang -fsanitize=thread and runs
# them through ctest with TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1":
# the first race or lock-order problem ends the test with ThreadSanitizer's
# report, and the script exits non-zero. Its last line is ctest's summary.
#
# 1. Makes sure the tools are there (Debian 12): cmake make clang
#    libclang-rt-dev (the TSan runtime) libcmocka-dev pkg-config. Missing ones
#    are installed when running as root or with passwordless sudo; otherwise
#    the apt commands are printed and the script exits 1.
# 2. Configures build/tsan (Debug, -O1: TSan wants optimised code with frame
#    pointers), builds only the threaded suites, runs them. Log: build/tsan.log.
#
# Environment: RTMEM_TSAN_DIR=<dir> (build directory, default build/tsan),
#              RTMEM_JOBS=2 (build parallelism),
#              RTMEM_STRESS_ITERS=<n> (operations per thread in test_stress).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

JOBS=${RTMEM_JOBS:-2}
DIR=${RTMEM_TSAN_DIR:-build/tsan}
LOG="$DIR.log"
PACKAGES=(cmake make clang libclang-rt-dev libcmocka-dev pkg-config)
# Every suite that starts threads (grep -l pthread tests/*.c), the
# poisoning suite once per level.
SUITES=(test_stress test_heap test_pool test_caps test_task_stats test_monitor test_stack test_trace
        test_monitor_kernel_stack
        test_check_step_L0 test_check_step_L1 test_check_step_L2)

# --- 1. tools ---------------------------------------------------------------
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

rtm_ensure_packages tsan.sh "cmake make clang" "${PACKAGES[@]}"

# --- 2. does TSan run here? -------------------------------------------------
# TSan of clang 14 cannot map its shadow memory when the kernel randomises
# mmap with more than 28 bits ("FATAL: ThreadSanitizer: unexpected memory
# mapping"); running without address randomisation avoids it.
RUNNER=()
probe=$(mktemp -d)
trap 'rm -rf "$probe"' EXIT
printf '#include <pthread.h>\nstatic void *f(void *a) { return a; }\nint main(void) { pthread_t t; return pthread_create(&t, 0, f, 0) || pthread_join(t, 0); }\n' \
    >"$probe/p.c"
if ! clang -fsanitize=thread "$probe/p.c" -o "$probe/p" >"$probe/log" 2>&1; then
    echo "tsan.sh: clang cannot build with -fsanitize=thread:" >&2
    cat "$probe/log" >&2
    exit 1
fi
if ! "$probe/p" >"$probe/log" 2>&1; then
    if command -v setarch >/dev/null 2>&1 && setarch "$(uname -m)" -R "$probe/p" >/dev/null 2>&1; then
        RUNNER=(setarch "$(uname -m)" -R)
        echo "tsan.sh: TSan needs address randomisation off here: running under setarch -R"
    else
        echo "tsan.sh: a ThreadSanitizer program does not run on this machine:" >&2
        cat "$probe/log" >&2
        exit 1
    fi
fi

# --- 3. build and run -------------------------------------------------------
mkdir -p "$(dirname "$LOG")"
: >"$LOG"
TSAN_FLAGS="-fsanitize=thread -fno-omit-frame-pointer -O1"
if ! cmake -S "$ROOT" -B "$DIR" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
        -DCMAKE_C_FLAGS="$TSAN_FLAGS" -DCMAKE_EXE_LINKER_FLAGS=-fsanitize=thread \
        -DRTMEM_SANITIZE=OFF -DRTMEM_BUILD_TESTS=ON -DRTMEM_BUILD_TOOLS=OFF \
        -DRTMEM_BUILD_EXAMPLES=OFF -DRTMEM_BUILD_BENCH=OFF >>"$LOG" 2>&1 ||
    ! cmake --build "$DIR" -j "$JOBS" --target "${SUITES[@]}" >>"$LOG" 2>&1; then
    tail -n 40 "$LOG"
    echo "tsan.sh: build failed ($LOG)" >&2
    exit 1
fi

filter="^($(IFS='|'; echo "${SUITES[*]}"))\$"
rc=0
TSAN_OPTIONS="halt_on_error=1 second_deadlock_stack=1" \
    "${RUNNER[@]}" ctest --test-dir "$DIR" -R "$filter" --output-on-failure >>"$LOG" 2>&1 || rc=$?

summary=$(grep -E '^[0-9]+% tests passed, [0-9]+ tests? failed out of [0-9]+' "$LOG" | tail -n 1 || true)
reports=$(grep -c 'WARNING: ThreadSanitizer' "$LOG" || true)
if [ "$rc" -ne 0 ] || [ -z "$summary" ] || [ "$reports" -ne 0 ]; then
    sed -n '/Test project/,$p' "$LOG" | grep -v -E '^[0-9]+% tests passed' || true
    echo "tsan.sh: $reports ThreadSanitizer report(s), ctest exit $rc (log: $LOG)" >&2
    echo "${summary:-ctest ran no test}"
    [ "$rc" -ne 0 ] || rc=1
    exit "$rc"
fi
grep -E '^ *[0-9]+/[0-9]+ Test +#' "$LOG" || true
echo "${summary}"
