#!/usr/bin/env bash
# Builds the benchmarks in Release (-O2) under build/bench, runs them and
# writes docs/benchmarks.md: the command, the machine, the compiler and the
# tables the benchmark prints.
#
#   bash bench/run.sh            full run (about two minutes)
#   bash bench/run.sh --quick    smoke run: fewer pool steps, same tables
#                                (the heap benchmark always runs in full)
#
# Environment: CC (compiler, default: cmake's choice).
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

ARGS=()
if [ "${1:-}" = "--quick" ]; then
    ARGS=(--quick)
elif [ -n "${1:-}" ]; then
    echo "usage: bash bench/run.sh [--quick]" >&2
    exit 2
fi

BUILD=build/bench
CONFIG=(-S bench -B "$BUILD" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG")
if [ -n "${CC:-}" ]; then
    CONFIG+=("-DCMAKE_C_COMPILER=$CC")
fi
mkdir -p build
if ! cmake "${CONFIG[@]}" >build/bench.log 2>&1 || ! cmake --build "$BUILD" -j 2 >>build/bench.log 2>&1; then
    tail -n 40 build/bench.log >&2
    echo "bench/run.sh: build failed (build/bench.log)" >&2
    exit 1
fi

echo "bench/run.sh: running bench_heap ..."
HEAP_TABLE=$("$BUILD/bench_heap")
echo "bench/run.sh: running bench_pool ${ARGS[*]:-} ..."
TABLE=$("$BUILD/bench_pool" "${ARGS[@]}")
echo "bench/run.sh: running bench_debug (3 poisoning levels) ..."
LEVELS=(none light comprehensive)
DEBUG_TIME=$("$BUILD/bench_debug_none" --header
             for l in "${LEVELS[@]}"; do "$BUILD/bench_debug_$l"; done)
DEBUG_BYTES=$("$BUILD/bench_debug_none" --bytes-header
              for l in "${LEVELS[@]}"; do "$BUILD/bench_debug_$l" --bytes; done)
DEBUG_CHECK=$("$BUILD/bench_debug_none" --check-header
              for l in "${LEVELS[@]}"; do "$BUILD/bench_debug_$l" --check; done)
echo "bench/run.sh: running bench_trace ..."
TRACE_TABLE=$("$BUILD/bench_trace")

CC_PATH=$(sed -n 's/^CMAKE_C_COMPILER:[A-Z]*=//p' "$BUILD/CMakeCache.txt")
COMPILER=$("$CC_PATH" --version | head -n 1)
CPU=$(sed -n 's/^model name[[:space:]]*:[[:space:]]*//p' /proc/cpuinfo 2>/dev/null | head -n 1)
CORES=$(nproc 2>/dev/null || echo "?")
DATE=$(date -u +%Y-%m-%d)

mkdir -p docs
{
    echo "# Benchmarks"
    echo
    echo "Written by \`bench/run.sh\`; do not edit by hand. Rerun it to refresh."
    echo
    echo "- command: \`bash bench/run.sh${ARGS[*]:+ ${ARGS[*]}}\` (Release, \`-O2\`, build/bench)"
    echo "- machine: $(uname -m), ${CPU:-unknown CPU}, $CORES cores"
    echo "- compiler: $COMPILER"
    echo "- date: $DATE"
    echo
    echo "## Heap strategies on a random workload"
    echo
    echo "What is measured (\`bench/bench_heap.c\`): one fixed-seed sequence of 10^6"
    echo "operations over 2000 slots (each picks a slot: free its block if it holds one,"
    echo "else allocate 8..512 bytes, log-uniform), the same for every allocator, run"
    echo "back to back in one process. Time is the median of 7 runs of the whole"
    echo "sequence (heaps with \`RTM_HEAP_NO_LOCK\`, so the algorithm is measured, not"
    echo "the mutex). The minimum arena is the smallest region (control structures"
    echo "included, to 16 bytes) with which the whole sequence completes with no failed"
    echo "allocation, found by bisection and confirmed by stepping down until the next"
    echo "16 bytes fail; it is divided by the peak of live requested bytes."
    echo
    echo "$HEAP_TABLE"
    echo
    echo "Reading it: TLSF is O(1) and stays within a small factor of glibc while"
    echo "bounding memory exactly (glibc's arena cannot be bounded at all); first fit"
    echo "(heap_4 class) walks its free list and is several times slower; best fit"
    echo "without coalescing (heap_2 class) shatters the arena into slivers on mixed"
    echo "sizes, as heap_2's documentation warns, which is why it is meant only for"
    echo "fixed-size patterns."
    echo
    echo "## Fixed-block pool vs bitmap scan vs TLSF heap"
    echo
    echo "What is measured (\`bench/bench_pool.c\`): one \`alloc\` plus one \`free\` of a"
    echo "64-byte block, through the same function-pointer interface for every design,"
    echo "each allocation writing one word into its block."
    echo
    echo "- *random order, half full*: N/2 blocks live; each step frees a pseudo-randomly"
    echo "  chosen live block and allocates a new one in its place (free blocks end up"
    echo "  scattered, as under real message traffic)."
    echo "- *nearly full, free block last*: every block live except the last one; each"
    echo "  step allocates and frees it. This is the worst case of the naive scan."
    echo "- designs: \`rtm_pool\` with \`RTM_POOL_NO_LOCK\` (the algorithm), \`rtm_pool\`"
    echo "  with its posix mutex (what a task pays on a hosted build), a bitmap-scan pool"
    echo "  written in the benchmark (first zero bit from the start, one word at a time,"
    echo "  \`ctz\` within the word), and the TLSF heap (\`RTM_HEAP_NO_LOCK\`)."
    echo
    echo "$TABLE"
    echo
    echo "Reading it: the pool's cost does not depend on N (10,000 vs 10 stays near"
    echo "1x, within the noise of a shared host and of cache effects of the larger"
    echo "working set); the scan grows with the number of words it walks (in the random"
    echo "pattern too, because first-fit scanning packs the live blocks at the start);"
    echo "TLSF is O(1) as well but does more per call (size classes, splitting,"
    echo "coalescing). With one bitmap word to look at, the naive scan can be as fast"
    echo "as the pool or faster: it checks nothing (no foreign-pointer, interior-pointer"
    echo "or double-free detection, no statistics), which the pool does on every free."
    echo
    echo "## Debug layer: poisoning and integrity checks"
    echo
    echo "What is measured (\`bench/bench_debug.c\`, built once per poisoning level"
    echo "against a core of that level: \`bench_debug_none\`, \`bench_debug_light\`,"
    echo "\`bench_debug_comprehensive\`; TLSF, \`RTM_HEAP_NO_LOCK\`):"
    echo
    echo "- *time*: ns per \`rtm_free\` + \`rtm_malloc\` pair with 64 live blocks of one"
    echo "  size, each step replacing a random one; the fastest of 15 runs of 100,000"
    echo "  pairs;"
    echo "- *bytes*: how much of the heap one allocation takes (strategy header, poison"
    echo "  head and tail, rounding), from the heap's own statistics (exact);"
    echo "- *check*: a 4 MiB heap filled with 16..215-byte blocks, every other one then"
    echo "  freed: one full \`rtm_heap_check\`, and the median and 99th percentile of the"
    echo "  \`rtm_heap_check_step(h, 32, NULL)\` calls of one pass, which is how long"
    echo "  each keeps the lock."
    echo
    echo "$DEBUG_TIME"
    echo
    echo "$DEBUG_BYTES"
    echo
    echo "$DEBUG_CHECK"
    echo
    echo "Reading it: light poisoning costs a constant few tens of ns per pair"
    echo "(three words written on allocation, checked on free) and 8 to 16 bytes per"
    echo "block; comprehensive adds a fill on free and a verify plus fill on"
    echo "allocation, so its cost grows with the block size while its bytes equal"
    echo "light's. The incremental check holds the lock for about a microsecond per"
    echo "step where the full check of the same heap holds it for milliseconds."
    echo
    echo "## Tracing and per-task accounting"
    echo
    echo "What is measured (\`bench/bench_trace.c\`): one fixed-seed sequence of heap"
    echo "events on a 256 KiB TLSF heap, run with no observer (baseline), with the"
    echo "tracer in LEAKS and ALL mode, with the live text stream formatted and handed"
    echo "to an output hook that drops it, with per-task accounting alone, and with"
    echo "tracer and task accounting chained; median of 15 interleaved runs. The"
    echo "tracer and task tables take a posix mutex and read the clock per event on"
    echo "this host, which is most of their cost."
    echo
    echo '```'
    echo "$TRACE_TABLE"
    echo '```'
} >docs/benchmarks.md

echo "$TABLE"
echo "bench/run.sh: wrote docs/benchmarks.md"
