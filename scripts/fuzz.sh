#!/usr/bin/env bash
# rtmem's fuzzing run: bash scripts/fuzz.sh [--merge] [TARGET...]
#
# 1. Makes sure the tools are there (Debian 12): cmake clang libclang-rt-dev
#    libc6-dev make libcmocka-dev pkg-config. Missing ones are installed when
#    running as root or with passwordless sudo; otherwise the apt commands
#    are printed and the script exits 1.
# 2. Builds the libFuzzer targets (fuzz/CMakeLists.txt, -DRTMEM_BUILD_FUZZERS=ON)
#    with clang, ASan and UBSan in build/fuzz.
# 3. Runs every target (or the ones named) for RTMEM_FUZZ_SECONDS seconds
#    each, one after the other, on a copy of its corpus fuzz/corpus/<target>/
#    in build/fuzz/work/ (the repository's corpus is left alone). With
#    --merge, the inputs that add coverage are merged back into
#    fuzz/corpus/<target>/ afterwards (libFuzzer -merge=1: only inputs that
#    add coverage, smallest first).
# 4. Exits non-zero if any target found a crash, leak or timeout; the
#    reproducer is kept in build/fuzz/artifacts/ and the command to replay it
#    is printed. Last line: "fuzz: <T> targets, <N> runs, <C> crashes".
#
# Environment: RTMEM_FUZZ_SECONDS=20 (per target; 7 targets plus the build
#              take about 3 minutes on 2 cores), RTMEM_JOBS=2 (build),
#              RTMEM_FUZZ_BUILD=build/fuzz (the build directory),
#              RTMEM_FUZZ_WORK=$RTMEM_FUZZ_BUILD/work (corpora and logs of the
#              run: give each of several concurrent runs its own),
#              RTMEM_FUZZ_TARGETS="fuzz_heap ..." (the default set).
# Long run:    RTMEM_FUZZ_SECONDS=3600 bash scripts/fuzz.sh --merge
# Details:     docs/fuzzing.md
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

SECONDS_PER_TARGET=${RTMEM_FUZZ_SECONDS:-20}
JOBS=${RTMEM_JOBS:-2}
BUILD=${RTMEM_FUZZ_BUILD:-build/fuzz}
PACKAGES=(cmake clang libclang-rt-dev libc6-dev make libcmocka-dev pkg-config)
ALL_TARGETS=(fuzz_heap fuzz_heap_poison fuzz_trace fuzz_leaks fuzz_tool_args fuzz_symbolize
             fuzz_telemetry)

MERGE=0
TARGETS=()
for arg in "$@"; do
    case "$arg" in
        --merge) MERGE=1 ;;
        -h|--help)
            sed -n '2,25p' "${BASH_SOURCE[0]}" | sed 's/^# \{0,1\}//'
            exit 0 ;;
        fuzz_*) TARGETS+=("$arg") ;;
        *)
            echo "fuzz.sh: unknown argument '$arg' (--merge, or target names: ${ALL_TARGETS[*]})" >&2
            exit 2 ;;
    esac
done
if [ "${#TARGETS[@]}" -eq 0 ]; then
    if [ -n "${RTMEM_FUZZ_TARGETS:-}" ]; then
        read -r -a TARGETS <<<"$RTMEM_FUZZ_TARGETS"
    else
        TARGETS=("${ALL_TARGETS[@]}")
    fi
fi
for target in "${TARGETS[@]}"; do
    case " ${ALL_TARGETS[*]} " in
        *" $target "*) ;;
        *) echo "fuzz.sh: unknown target '$target' (${ALL_TARGETS[*]})" >&2; exit 2 ;;
    esac
done

# The corpus a target starts from (fuzz_heap_poison shares fuzz_heap's).
corpus_of() {
    case "$1" in
        fuzz_heap_poison) echo fuzz_heap ;;
        *) echo "$1" ;;
    esac
}

# libFuzzer options per target. The heap targets get long inputs (many
# operations) from the start; the parsers' warnings go to /dev/null.
target_opts() {
    case "$1" in
        fuzz_heap|fuzz_heap_poison) echo "-max_len=1024 -len_control=0" ;;
        fuzz_trace|fuzz_leaks) echo "-max_len=8192 -close_fd_mask=2" ;;
        fuzz_tool_args) echo "-max_len=512 -close_fd_mask=2" ;;
        fuzz_symbolize) echo "-max_len=4096" ;;
        fuzz_telemetry) echo "-max_len=8192" ;;
    esac
}
case "$SECONDS_PER_TARGET" in
    ''|*[!0-9]*|0)
        echo "fuzz.sh: RTMEM_FUZZ_SECONDS must be a positive number of seconds" >&2
        exit 2 ;;
esac

# --- 1. tools ---------------------------------------------------------------
# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"

rtm_ensure_packages fuzz.sh "cmake make clang" "${PACKAGES[@]}"

# --- 2. build ---------------------------------------------------------------
mkdir -p "$BUILD"
LOG="$BUILD/build.log"
echo "== build: clang, libFuzzer + ASan + UBSan, in $BUILD"
if ! cmake -S . -B "$BUILD" -DCMAKE_C_COMPILER=clang -DCMAKE_BUILD_TYPE=Debug \
        -DRTMEM_BUILD_FUZZERS=ON -DRTMEM_BUILD_TESTS=ON -DRTMEM_BUILD_EXAMPLES=OFF >"$LOG" 2>&1; then
    tail -n 30 "$LOG"
    echo "fuzz: 0 targets, 0 runs, 0 crashes (configure failed: $LOG)"
    exit 1
fi
if ! cmake --build "$BUILD" -j "$JOBS" --target "${TARGETS[@]}" >>"$LOG" 2>&1; then
    grep -E 'error:|warning:' "$LOG" | head -n 30 || true
    tail -n 20 "$LOG"
    echo "fuzz: 0 targets, 0 runs, 0 crashes (build failed: $LOG)"
    exit 1
fi

# --- 3. run -----------------------------------------------------------------
WORK=${RTMEM_FUZZ_WORK:-$BUILD/work}
ARTIFACTS="$BUILD/artifacts"
rm -rf "$WORK"
mkdir -p "$WORK" "$ARTIFACTS"

TOTAL_RUNS=0
CRASHES=0
RAN=0
FAILED_LINES=()

for target in "${TARGETS[@]}"; do
    exe="$BUILD/fuzz/$target"
    corpus="$WORK/$target"
    log="$WORK/$target.log"
    mkdir -p "$corpus"
    seeds="fuzz/corpus/$(corpus_of "$target")"
    if [ -d "$seeds" ]; then
        cp -r "$seeds/." "$corpus/"
    fi
    # shellcheck disable=SC2207 # option words without spaces
    opts=(-max_total_time="$SECONDS_PER_TARGET" -timeout=25 -rss_limit_mb=2048
          -print_final_stats=1 -artifact_prefix="$ARTIFACTS/$target-" $(target_opts "$target"))
    stamp="$WORK/$target.start"
    : >"$stamp"
    before=$(find "$ARTIFACTS" -type f -name "$target-*" | wc -l)
    rc=0
    nice -n 5 "$exe" "${opts[@]}" "$corpus" >"$log" 2>&1 || rc=$?
    RAN=$((RAN + 1))
    runs=$(sed -n 's/^stat::number_of_executed_units: *\([0-9]*\).*/\1/p' "$log" | tail -n 1)
    if [ -z "$runs" ]; then
        runs=$(sed -n 's/^Done \([0-9]*\) runs.*/\1/p' "$log" | tail -n 1)
    fi
    runs=${runs:-0}
    TOTAL_RUNS=$((TOTAL_RUNS + runs))
    after=$(find "$ARTIFACTS" -type f -name "$target-*" | wc -l)
    cov=$(grep -E '^#[0-9]+' "$log" | tail -n 1 | sed -n 's/.*cov: \([0-9]*\).*corp: \([0-9]*\).*/cov \1, corpus \2/p')
    if [ "$rc" -ne 0 ] || [ "$after" -gt "$before" ]; then
        CRASHES=$((CRASHES + 1))
        artifact=$(find "$ARTIFACTS" -type f -name "$target-*" -newer "$stamp" | head -n 1)
        echo "$target: FAILED after $runs runs (exit $rc), log $log"
        grep -E 'ERROR: |check failed|SUMMARY:|Test unit written' "$log" | head -n 8 | sed 's/^/    /'
        if [ -n "$artifact" ]; then
            echo "    reproducer: $artifact"
            echo "    reproduce:  $exe $artifact"
            echo "    or without libFuzzer (any build dir with the tests): <build>/fuzz/${target}_replay $artifact"
            FAILED_LINES+=("$target: $artifact")
        else
            FAILED_LINES+=("$target: exit $rc, see $log")
        fi
    else
        echo "$target: ok, $runs runs in ${SECONDS_PER_TARGET}s (${cov:-no stats})"
    fi
    if [ "$MERGE" -eq 1 ]; then
        mkdir -p "$seeds"
        n0=$(find "$seeds" -type f | wc -l)
        # shellcheck disable=SC2207
        mopts=(-merge=1 -timeout=25 -rss_limit_mb=2048 $(target_opts "$target"))
        if "$exe" "${mopts[@]}" "$seeds" "$corpus" >"$WORK/$target.merge.log" 2>&1; then
            n1=$(find "$seeds" -type f | wc -l)
            echo "    merged: $((n1 - n0)) new inputs into $seeds ($n1 in all)"
        else
            echo "    merge failed: $WORK/$target.merge.log"
        fi
    fi
done

# --- 4. summary -------------------------------------------------------------
if [ "$CRASHES" -ne 0 ]; then
    echo
    echo "Reproducers (also run as ctest tests once copied into fuzz/corpus/<target>/):"
    for line in "${FAILED_LINES[@]}"; do
        echo "  $line"
    done
fi
echo "fuzz: $RAN targets, $TOTAL_RUNS runs, $CRASHES crashes"
[ "$CRASHES" -eq 0 ]
