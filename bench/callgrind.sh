#!/usr/bin/env bash
# Instruction counts of single TLSF operations in adversarial states, counted
# with valgrind's callgrind (bench/bench_worst.c builds each state and
# brackets the one measured call with CALLGRIND_TOGGLE_COLLECT). Prints a
# markdown table on stdout; bench/run.sh puts it into docs/benchmarks.md.
#
#   bash bench/callgrind.sh [BUILD_DIR]    default build/bench (Release -O2)
#
# Instruction counts do not depend on the machine's load, unlike times, so
# they are what to compare between versions of the code.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${1:-build/bench}

if ! command -v valgrind >/dev/null 2>&1 || [ ! -f /usr/include/valgrind/callgrind.h ]; then
    if command -v apt-get >/dev/null 2>&1 && [ "$(id -u)" -eq 0 ]; then
        echo "callgrind.sh: installing valgrind" >&2
        mkdir -p build
        DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends valgrind \
            >build/apt-valgrind.log 2>&1 ||
            { apt-get update >>build/apt-valgrind.log 2>&1 &&
              DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends valgrind \
                  >>build/apt-valgrind.log 2>&1; }
    else
        echo "callgrind.sh: needs valgrind (Debian: apt-get install valgrind)" >&2
        exit 1
    fi
fi

if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    cmake -S bench -B "$BUILD" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" \
        >"$BUILD.callgrind.log" 2>&1
fi
# A cache made before valgrind was installed has no bench_worst target.
cmake "$BUILD" >>"$BUILD.callgrind.log" 2>&1
cmake --build "$BUILD" -j 2 --target bench_worst >>"$BUILD.callgrind.log" 2>&1

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT

count() {
    valgrind --tool=callgrind --collect-atstart=no --callgrind-out-file="$OUT/cg.out" \
        "$BUILD/bench_worst" "$@" >"$OUT/stdout" 2>"$OUT/stderr" || {
        cat "$OUT/stderr" >&2
        echo "callgrind.sh: bench_worst $* failed" >&2
        exit 1
    }
    sed -n 's/^summary: //p' "$OUT/cg.out"
}

BASE=$(count empty)
row() {
    local what=$1 n
    shift
    n=$(count "$@")
    echo "| \`$*\` | $what | $((n - BASE)) |"
}

echo "| scenario (\`bench_worst ...\`) | what the one measured call does | instructions |"
echo "|---|---|---:|"
row "malloc: head of its own class fits, no split (the common case)" malloc_exact
row "malloc: only free block is the top one; both bitmaps searched, split, tail inserted" malloc_top_split
row "malloc: 16 too-small blocks in its own class looked at, then a larger class split" malloc_own_scan 16
row "malloc: the same with 200 too-small blocks in its own class (the look stops at 17)" malloc_own_scan 200
row "malloc: nothing fits anywhere (failure path)" malloc_fail
row "free: used neighbours, no merge" free_plain
row "free: free neighbours on both sides, two unlinks, merge, insert" free_merge_both
row "aligned_alloc(256): gap block before, tail after" aligned_split
row "realloc: grows into the next free block, rest split off" realloc_grow_in_place
row "free of an interior pointer: refused, misuse hook" free_interior
row "second free of a block merged into its predecessor: refused, misuse hook" free_double
row "malloc, heap nearly exhausted: only fit is last of 16 in its own class" malloc_exhausted_scan 16
row "the same, last of 64 (the documented exception to O(1))" malloc_exhausted_scan 64
row "the same, last of 256" malloc_exhausted_scan 256
