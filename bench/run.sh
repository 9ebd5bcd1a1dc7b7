#!/usr/bin/env bash
# Builds the benchmarks in Release (-O2) under build/bench, runs them and
# writes docs/benchmarks.md: the command, the machine, the compiler and the
# tables the benchmark prints.
#
#   bash bench/run.sh            full run (about three minutes)
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
# RTMEM_BUILD_TOOLS: the rtmem host tool (build/bench/rtmem/tools/rtmem), for
# `rtmem compare` over the trace corpus in bench/traces.
CONFIG=(-S bench -B "$BUILD" -DCMAKE_BUILD_TYPE=Release "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG"
        -DRTMEM_BUILD_TOOLS=ON)
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

# The trace corpus (bench/traces/README.md): plain and xz-compressed traces,
# unpacked into build/bench/traces, one `rtmem compare` per trace (one after
# the other, so the timings do not share the cores).
RTMEM="$BUILD/rtmem/tools/rtmem"
CORPUS="$BUILD/traces"
rm -rf "$CORPUS"
mkdir -p "$CORPUS"
for f in bench/traces/*.trace; do
    cp "$f" "$CORPUS/"
done
for f in bench/traces/*.trace.xz; do
    xz -dc "$f" >"$CORPUS/$(basename "$f" .xz)"
done
TRACES=()
for f in "$CORPUS"/*.trace; do
    TRACES+=("$(basename "$f" .trace)")
done
for t in "${TRACES[@]}"; do
    echo "bench/run.sh: rtmem compare $t ..."
    # Exit status 1 means some strategy could not complete the trace; the
    # table says so. Anything else is an error.
    status=0
    (cd "$CORPUS" && "$ROOT/$RTMEM" compare "$t.trace") >"$CORPUS/$t.compare" 2>&1 || status=$?
    if [ "$status" -gt 1 ]; then
        cat "$CORPUS/$t.compare" >&2
        echo "bench/run.sh: rtmem compare failed on $t.trace" >&2
        exit 1
    fi
done
# Summary: minimum heap size / peak live bytes, per trace and strategy, and
# the recommended strategy, from compare's text output.
CORPUS_SUMMARY=$(
    echo "| trace | events | peak live bytes | tlsf | first_fit | best_fit | bump | recommendation |"
    echo "|---|---:|---:|---:|---:|---:|---:|---|"
    for t in "${TRACES[@]}"; do
        awk -v t="$t" '
            /^trace / { ops = $3; peak = $(NF - 4) }
            $1 == "tlsf" || $1 == "first_fit" || $1 == "best_fit" || $1 == "bump" {
                r[$1] = ($2 ~ /^[0-9]+$/) ? $3 "x" : ($2 == ">" ? "> 1 GiB" : "none") }
            /^recommendation: / { rec = $2 ", " $5 " heap" }
            /^recommendation: none/ { rec = "none" }
            END { printf "| %s | %s | %s | %s | %s | %s | %s | %s |\n", t, ops, peak,
                  r["tlsf"], r["first_fit"], r["best_fit"], r["bump"], rec }' "$CORPUS/$t.compare"
    done
)

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
    echo
    echo "## Heap strategies on the trace corpus"
    echo
    echo "What is measured: \`rtmem compare\` (docs/tools.md), built in this Release"
    echo "build, on every trace of \`bench/traces\` (how each was made:"
    echo "\`bench/traces/README.md\`): four recorded with \`rtmem record\` from real"
    echo "programs of Debian packages (an OpenSSL TLS 1.3 client handshake, a jq JSON"
    echo "parse/encode run, a mosquitto MQTT broker serving a few hundred messages, a"
    echo "Lua 5.4 script building tables and strings) and three synthetic ones"
    echo "(\`bench/gen_traces.sh\`: random sizes, a Robson-style adversarial pattern,"
    echo "small blocks with every other one freed followed by big requests). For each"
    echo "strategy, the checked minimum heap size (smallest region, to 16 bytes, with"
    echo "which the whole trace completes; 16 bytes less fails), its ratio to the"
    echo "trace's peak live requested bytes, and a timed run at the minimum + 25%"
    echo "(median and 99.9th percentile per operation; host times, one run). The"
    echo "recommendation is compare's rule: the smallest minimum, and among the"
    echo "strategies within 10% of it the fastest; heap size = its minimum + 25%."
    echo "\`system\` (the host's malloc) has no bounded arena: its run uses a fixed 1 MiB"
    echo "cap, so its failures there mean nothing."
    echo
    echo "Minimum heap size / peak live bytes (lower is better):"
    echo
    echo "$CORPUS_SUMMARY"
    echo
    for t in "${TRACES[@]}"; do
        echo "### $t"
        echo
        echo '```'
        sed "s|^trace $t.trace:|trace $t:|" "$CORPUS/$t.compare"
        echo '```'
        echo
    done
    echo "Reading it: the minimum sizes are exact and reproducible for these traces;"
    echo "the times are one host run and move by tens of percent between runs. On the"
    echo "four recorded programs TLSF and first fit need the same memory within 1%,"
    echo "8-17% above the peak live bytes (block headers, TLSF's size classes and"
    echo "control block, fragmentation), so the timings choose between them: TLSF's"
    echo "median stays flat where first fit's grows with its free list (the Lua"
    echo "interpreter's many small blocks), and where both are close (the MQTT broker)"
    echo "either can come out ahead. Best fit (heap_2 class, no coalescing) needs"
    echo "18-77% extra on the mixed sizes of real programs and its walk of the free"
    echo "list makes it slower by one to two orders of magnitude. A bump allocator"
    echo "needs the sum of everything ever allocated: 3x the live bytes for the"
    echo "short-lived programs, about 6x for the broker and the interpreter. The"
    echo "Robson-style trace shows what no non-moving allocator escapes: with every"
    echo "hole just too small for what comes next, even the coalescing strategies"
    echo "need well over twice the live bytes, TLSF a little more than first fit (it"
    echo "takes a large request only from a size class wholly above it), and best fit"
    echo "as much as bump, since no freed block is ever reused. Freeing every other"
    echo "small block and then asking for big ones costs the coalescing strategies"
    echo "only some 20% over the peak: the big blocks go beyond the holes, and the"
    echo "holes are refilled by the next round's small blocks."
} >docs/benchmarks.md

echo "$TABLE"
echo "bench/run.sh: wrote docs/benchmarks.md"
