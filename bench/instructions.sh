#!/usr/bin/env bash
# Instructions per operation on the random workload of bench/bench_heap.c
# (10^6 operations, an operation being one malloc or one free), counted with
# valgrind's callgrind: the count of one run with each allocator less the
# count of the same harness with an allocator that does nothing. Prints a
# markdown table; bench/run.sh puts it into docs/benchmarks.md.
#
#   bash bench/instructions.sh [BUILD_DIR] [ALLOCATOR...]
#       BUILD_DIR default build/bench (Release -O2, as bench/run.sh builds)
#       ALLOCATOR default: glibc tlsf first_fit; or LABEL=LIB.so, an
#       allocator of your own built as a shared object that defines malloc
#       and free: the malloc side of the harness runs with it preloaded
#       (LD_PRELOAD), which costs about one instruction per call more than
#       the same code linked in (the call goes through the PLT)
#
# Counts do not depend on the machine's load; they do depend on the compiler
# and its flags, which the table's caption names.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"
BUILD=${1:-build/bench}
shift || true
ALLOCATORS=${*:-glibc tlsf first_fit}

command -v valgrind >/dev/null 2>&1 || {
    echo "instructions.sh: needs valgrind (Debian: apt-get install valgrind)" >&2
    exit 1
}
if [ ! -f "$BUILD/CMakeCache.txt" ]; then
    mkdir -p "$BUILD"
    cmake -S bench -B "$BUILD" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" \
        >"$BUILD.instructions.log" 2>&1
fi
cmake --build "$BUILD" -j 2 --target bench_heap >>"$BUILD.instructions.log" 2>&1 || {
    tail -n 30 "$BUILD.instructions.log" >&2
    echo "instructions.sh: build failed ($BUILD.instructions.log)" >&2
    exit 1
}

OUT=$(mktemp -d)
trap 'rm -rf "$OUT"' EXIT
OPS=1000000

# count ALLOCATOR [LIB.so]: the harness's instruction count with ALLOCATOR,
# the C library's malloc replaced by LIB.so when one is given.
count() {
    LD_PRELOAD=${2:-${LD_PRELOAD:-}} valgrind --tool=callgrind --callgrind-out-file="$OUT/cg.out" \
        "$BUILD/bench_heap" --count "$1" >"$OUT/stdout" 2>"$OUT/stderr" || {
        cat "$OUT/stderr" >&2
        echo "instructions.sh: bench_heap --count $1 failed" >&2
        exit 1
    }
    sed -n 's/^summary: //p' "$OUT/cg.out"
}

BASE=$(count none)
echo "| allocator | instructions per operation |"
echo "|---|---:|"
for a in $ALLOCATORS; do
    case "$a" in
        *=*)
            label=${a%%=*}
            lib=${a#*=}
            if [ ! -f "$lib" ]; then
                echo "instructions.sh: $label: no shared object $lib" >&2
                exit 2
            fi
            n=$(count glibc "$lib")
            row="$label (preloaded)"
            ;;
        *)
            n=$(count "$a")
            row=$([ "$a" = glibc ] && echo "glibc malloc" || echo "rtmem $a")
            ;;
    esac
    awk -v a="$row" -v n="$n" -v b="$BASE" -v ops="$OPS" \
        'BEGIN { printf "| %s | %.1f |\n", a, (n - b) / ops }'
done
