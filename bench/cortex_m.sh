#!/usr/bin/env bash
# Instructions per heap operation on a Cortex-M4F:
#   bash bench/cortex_m.sh [--update FILE]
#
# Builds bench/target/bench_target.c (the random workload of
# bench/bench_heap.c, the same sequence, on one 256 KiB heap) with
# cmake/toolchain-arm-none-eabi.cmake for a Cortex-M4 with FPU, twice: at
# -Os (MinSizeRel, the build of scripts/code_size.sh) and at -O2, each with
# the library's default options, port none. Runs each under
# qemu-system-arm -M mps2-an386 with -icount shift=10, where the board's
# timer counts the instructions executed (bench_target.c says how), and
# prints a markdown table: instructions per operation (mean, malloc, free,
# median, 99th percentile, maximum) of TLSF, first fit and TLSF with its
# lock (port none), harness subtracted.
# With --update FILE (docs/benchmarks.md) the text between the lines
# "<!-- cortex-m:begin -->" and "<!-- cortex-m:end -->" of FILE is replaced
# by the same report (appended with its markers if FILE has none).
#
# Environment: RTMEM_BENCH_M4_ANCHORS, other allocators to count beside
# rtmem's: space-separated LABEL=/ABSOLUTE/PATH.a entries, each a library
# for this core that defines rtm_bench_anchor_init, _malloc and _free
# (bench/target/bench_target.c), built outside this repository by whoever
# runs this (no script here builds one); the label should say how it was
# compiled. Their rows are marked "anchor".
#
# Counts are exact and the same on every run and machine (QEMU's count, not
# a timing), for the compiler named in the report. Installs cmake make
# gcc-arm-none-eabi picolibc-arm-none-eabi qemu-system-arm when missing (as
# root or with passwordless sudo; otherwise prints the apt commands and
# exits 1). Takes about a minute.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
cd "$ROOT"

JOBS=${RTMEM_JOBS:-2}
PACKAGES=(cmake make gcc-arm-none-eabi picolibc-arm-none-eabi qemu-system-arm)

UPDATE_FILE=""
while [ $# -gt 0 ]; do
    case "$1" in
        --update)
            [ $# -ge 2 ] || { echo "cortex_m.sh: --update needs a file" >&2; exit 2; }
            UPDATE_FILE=$2
            shift 2
            ;;
        -h | --help)
            sed -n '2,/^set -euo/p' "${BASH_SOURCE[0]}" | sed '$d; s/^# \{0,1\}//'
            exit 0
            ;;
        *)
            echo "cortex_m.sh: unknown argument '$1' (try --help)" >&2
            exit 2
            ;;
    esac
done
if [ -n "$UPDATE_FILE" ] && [ ! -f "$UPDATE_FILE" ]; then
    echo "cortex_m.sh: $UPDATE_FILE does not exist" >&2
    exit 2
fi

# shellcheck source=scripts/lib.sh
. "$ROOT/scripts/lib.sh"
rtm_ensure_packages cortex_m.sh "cmake make arm-none-eabi-gcc qemu-system-arm" "${PACKAGES[@]}"

mkdir -p build
LOG=build/bench-m4.log
: >"$LOG"

read -r -a ANCHORS <<<"${RTMEM_BENCH_M4_ANCHORS:-}"
ANCHOR_LIST=""
for a in "${ANCHORS[@]}"; do
    case "$a" in
        ?*=/*) [ -f "${a#*=}" ] || { echo "cortex_m.sh: ${a%%=*}: no library ${a#*=}" >&2; exit 2; } ;;
        *) echo "cortex_m.sh: RTMEM_BENCH_M4_ANCHORS: '$a' is not LABEL=/ABSOLUTE/PATH.a" >&2; exit 2 ;;
    esac
    ANCHOR_LIST=${ANCHOR_LIST:+$ANCHOR_LIST;}$a
done

# build NAME BUILD_TYPE [FLAGS]: bench_target.elf in build/bench-m4-NAME
# (and the anchors' programs in the Os build).
build() {
    local dir=build/bench-m4-$1
    local args=(-S bench/target -B "$dir" -DCMAKE_TOOLCHAIN_FILE="$ROOT/cmake/toolchain-arm-none-eabi.cmake"
                -DRTMEM_ARM_CPU=cortex-m4f "-DCMAKE_BUILD_TYPE=$2")
    if [ -n "${3:-}" ]; then
        args+=("-DCMAKE_C_FLAGS_RELEASE=$3")
    fi
    if [ "$1" = Os ]; then
        args+=("-DRTMEM_BENCH_ANCHORS=$ANCHOR_LIST")
    fi
    if ! cmake "${args[@]}" >>"$LOG" 2>&1 || ! cmake --build "$dir" -j "$JOBS" >>"$LOG" 2>&1; then
        tail -n 30 "$LOG" >&2
        echo "cortex_m.sh: the $1 build failed ($LOG)" >&2
        exit 1
    fi
}

# run NAME [PROGRAM]: the RESULT lines of the NAME build's PROGRAM
# (default bench_target) under QEMU.
run() {
    local out
    if ! out=$(timeout 600 qemu-system-arm -M mps2-an386 -nographic -monitor none -serial none \
            -semihosting -icount shift=10,align=off,sleep=off \
            -kernel "build/bench-m4-$1/${2:-bench_target}.elf" 2>&1); then
        echo "$out" >&2
        echo "cortex_m.sh: bench_target ($1) failed under QEMU" >&2
        exit 1
    fi
    echo "$out" | grep '^RESULT ' || {
        echo "$out" >&2
        echo "cortex_m.sh: bench_target ($1) printed no result" >&2
        exit 1
    }
}

build Os MinSizeRel
build O2 Release "-O2 -DNDEBUG"
OS=$(run Os)
O2=$(run O2)
ANCHOR_RESULTS=""
for a in "${ANCHORS[@]}"; do
    id=$(printf '%s' "${a%%=*}" | sed 's/[^A-Za-z0-9_]/_/g; s/^[0-9]/_&/')
    ANCHOR_RESULTS+=$(run Os "bench_anchor_$id")$'\n'
done

COMPILER=$(arm-none-eabi-gcc --version | head -n 1)
QEMU=$(qemu-system-arm --version | head -n 1)
COMMAND="bash bench/cortex_m.sh${UPDATE_FILE:+ --update $UPDATE_FILE}"

# table: the rows of both builds, one per allocator and build.
table() {
    echo "| allocator | build | instructions per operation | per malloc | per free | median | p99 | max |"
    echo "|---|---|---:|---:|---:|---:|---:|---:|"
    for name in tlsf first_fit tlsf_locked; do
        for b in Os O2; do
            local lines
            lines=$([ "$b" = Os ] && echo "$OS" || echo "$O2")
            echo "$lines" | awk -v n="$name" -v b="-$b" '
                $2 == n { printf "| rtmem %s | %s | %s | %s | %s | %s | %s | %s |\n", n, b, $4, $5, $6, $7, $8, $9 }'
        done
    done
    echo "$ANCHOR_RESULTS" | awk '
        $1 == "RESULT" { printf "| %s (anchor) | - | %s | %s | %s | %s | %s | %s |\n", $2, $4, $5, $6, $7, $8, $9 }'
}

# field NAME BUILD COLUMN: one figure of a RESULT line.
field() {
    local lines
    lines=$([ "$2" = Os ] && echo "$OS" || echo "$O2")
    echo "$lines" | awk -v n="$1" -v c="$3" '$2 == n { print $c }'
}

REPORT=$(
    echo "## Instructions per operation on a Cortex-M4F (QEMU)"
    echo
    echo "Written by \`bench/cortex_m.sh\`; do not edit by hand."
    echo
    echo "- command: \`$COMMAND\`"
    echo "- compiler: $COMPILER"
    echo "- emulator: $QEMU, \`-M mps2-an386 -icount shift=10\`"
    echo "- library: default options, port none; flags of cmake/toolchain-arm-none-eabi.cmake"
    echo "  (\`-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16\`), -Os"
    echo "  (MinSizeRel, the build of the code size section) and -O2; date $(date -u +%Y-%m-%d)"
    echo
    echo "The random workload of the sections above (the same sequence of 10^6"
    echo "operations, \`bench/workload.h\`) on one 256 KiB heap, run on QEMU's"
    echo "Cortex-M4F board. QEMU's \`-icount\` advances the board's clock by a fixed"
    echo "time per instruction executed, so the board's timer, read before and"
    echo "after each call, counts the instructions of that call exactly"
    echo "(\`bench/target/bench_target.c\`); the harness's own count, taken with an"
    echo "allocator that does nothing, is subtracted operation by operation."
    echo "These are Thumb-2 instructions, not cycles: QEMU models no pipeline, flash"
    echo "wait states or caches. On a Cortex-M4 most take one cycle, a load two"
    echo "(one when it follows another), a taken branch two to four."
    echo
    table
    echo
    echo "Every heap is without a lock (\`RTM_HEAP_NO_LOCK\`) except"
    echo "\`tlsf_locked\`, the same TLSF heap with its lock (the default flags):"
    echo "port none has no critical section to enter unless the application"
    echo "installs one, so the difference is the front's locked path and the"
    echo "port's two calls alone. Branch-free list updates"
    echo "(\`RTM_TLSF_BRANCH_FREE\`) are off on Cortex-M, as by default."
    echo
    echo "What the counts say. At -Os, the build of the code size section and of"
    echo "most firmware (Arduino, PlatformIO, ESP-IDF's size setting), TLSF runs"
    echo "$(field tlsf Os 4) instructions per operation: a malloc costs $(field tlsf Os 5), about what M. Conte's TLSF"
    echo "costs at -Os (143.4), a free $(field tlsf Os 6), against Conte's 104.9: rtmem's free"
    echo "validates the pointer exactly and checks its neighbours' tags, and keeps"
    echo "the block-start map and the exact statistics, where Conte's free trusts"
    echo "the pointer; a build for size keeps one copy of each path, and a free"
    echo "that merges goes on to the classifier that also names a refused"
    echo "pointer's kind. Two changes made for this core took the -Os count from 212 to"
    echo "the figure above: inlining in every build the helpers of malloc and free"
    echo "that cost more as a call than inline (\`RTM_TLSF_TINY\` in"
    echo "src/strategy/tlsf.c: 212 to 173, for 6 bytes of code), and a free that"
    echo "merges with neither neighbour taken without the classifier (\`free_small\`:"
    echo "a free from 204 to 165 without a lock and from 258 to 224 with one, for"
    echo "238 bytes). At -O2 the hot paths"
    echo "of the x86 figures bring TLSF to $(field tlsf O2 4) (Conte 88.7, o1heap 56.2), for a"
    echo "core of about three times the size (code size section): a firmware built"
    echo "for size that allocates in a hot loop can build rtmem alone at -O2"
    echo "(\`target_compile_options(rtmem PRIVATE -O2)\`) if it has the flash."
    echo "FreeRTOS's heap_4 runs 380.7 at -Os and 331.2 at -O2; rtmem's first fit,"
    echo "the same algorithm, $(field first_fit Os 4) and $(field first_fit O2 4). o1heap (63.3 at -Os) rounds every"
    echo "request up to a power of two, so its minimum heap is up to twice the live"
    echo "bytes, and checks no pointer beyond its assertions."
    echo
    echo "The anchors' figures were measured on 2026-12-08 with"
    echo "\`RTMEM_BENCH_M4_ANCHORS\` (upstream sources of M. Conte's TLSF, o1heap"
    echo "and FreeRTOS-Kernel's heap_4.c with \`vTaskSuspendAll\` and"
    echo "\`xTaskResumeAll\` as one counter each, compiled with the flags above and"
    echo "NDEBUG; their code is not in this repository and no script here builds"
    echo "it); their rows appear in the table only in a run given them."
)

echo "$REPORT"
if [ -n "$UPDATE_FILE" ]; then
    rtm_update_section "$UPDATE_FILE" cortex-m "$REPORT"
    echo
    echo "cortex_m.sh: updated $UPDATE_FILE"
fi
