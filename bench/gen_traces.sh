#!/usr/bin/env bash
# Writes the synthetic traces of the corpus (bench/traces/README.md), all
# deterministic (fixed seeds, integer arithmetic), in rtmem-trace 1 format:
#
#   synthetic_random.trace           random sizes, frees and reallocs (mawk's rand(),
#                                    seed 1: needs mawk to come out byte-identical)
#   synthetic_robson.trace           Robson-style adversarial pattern
#   synthetic_free_every_other.trace many small blocks, every other one freed,
#                                    then big requests
#
#   bash bench/gen_traces.sh [OUTDIR]     (default: bench/traces)
#
# The last two use their own Park-Miller generator (x = x * 16807 mod 2^31-1,
# exact in awk's doubles), so any POSIX awk gives the same bytes.
set -euo pipefail

ROOT=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
OUT=${1:-$ROOT/bench/traces}
mkdir -p "$OUT"

# --- synthetic_random: the header carries its own awk program ----------------
RANDOM_HEADER=$(cat <<'EOF'
# rtmem-trace 1
# synthetic_random: 2000 random steps (seed 1): 55% allocate (10% A ... 64,
# 10% of sizes up to 4000 bytes, else 8..207), 45% free or (15% of those) realloc a random
# live block; every block freed at the end. Made with this awk program (rand() differs between
#   BEGIN { srand(1); n = 0; live = 0
#     for (i = 0; i < 2000; i++) {
#       if (live > 0 && rand() < 0.45) { k = int(rand() * live); id = ids[k]; ids[k] = ids[live - 1]; live--
#         if (rand() < 0.15) { nid = "b" n++; printf "r %s %s %d\n", id, nid, 16 + int(rand() * 600); ids[live++] = nid }
#         else printf "f %s\n", id }
#       else { id = "b" n++; if (rand() < 0.1) printf "A %s %d 64\n", id, 8 + int(rand() * 256)
#         else printf "a %s %d\n", id, 8 + int(rand() * (rand() < 0.1 ? 4000 : 200)); ids[live++] = id } }
#     for (k = 0; k < live; k++) printf "f %s\n", ids[k] }
# awks: this file came from mawk 1.3.4). Strip "#   " into gen.awk, then: awk -f gen.awk
EOF
)
if command -v mawk >/dev/null 2>&1; then
    {
        printf '%s\n' "$RANDOM_HEADER"
        mawk "$(printf '%s\n' "$RANDOM_HEADER" | sed -n 's/^#   //p')"
    } >"$OUT/synthetic_random.trace"
elif [ ! -f "$OUT/synthetic_random.trace" ]; then
    echo "gen_traces.sh: mawk not found; synthetic_random.trace needs mawk's rand()" >&2
    exit 1
else
    echo "gen_traces.sh: mawk not found; synthetic_random.trace kept as it is" >&2
fi

# --- synthetic_robson ----------------------------------------------------------
# Robson's bound: a non-moving allocator can be forced to use about
# M * log2(n) / 2 bytes for M live bytes and block sizes up to n. This is a
# constructive approximation: 14 phases with request sizes growing by 3/2
# (16, 24, 36, ... 3112 bytes, plus 0..7 seeded jitter). Each phase allocates
# blocks of its size until the live bytes would pass M = 64 KiB. Then it walks
# every block ever allocated in allocation order (which is address order on a
# fresh arena as long as no hole can take a request, which is the point) and
# frees a live block whenever the hole it would join (neighbouring freed
# blocks, counted with 16 bytes of header each) stays smaller than the next
# phase's smallest request; otherwise the block stays, pinned, splitting the
# holes. So every hole is just too small for every later request, live bytes
# drop, and the next phase must grow the heap again. All freed at the end.
awk 'BEGIN {
    x = 20240611; M = 65536; live = 0; n = 0
    print "# rtmem-trace 1"
    print "# synthetic_robson: Robson-style adversarial pattern, made by bench/gen_traces.sh"
    print "# (14 phases, sizes x1.5 from 16, live capped at 64 KiB, holes kept below the next size)"
    s = 16
    for (phase = 0; phase < 14; phase++) {
        while (1) {
            x = (x * 16807) % 2147483647
            sz = int(s) + x % 8
            if (live + sz > M) break
            printf "a %d %d\n", n, sz
            size[n] = sz; alive[n] = 1; live += sz; n++
        }
        s = s * 3 / 2
        next_min = int(s)
        if (phase == 13) break
        hole = 0
        for (i = 0; i < n; i++) {
            if (!alive[i]) { hole += size[i] + 16; continue }
            if (hole + size[i] + 16 < next_min) {
                printf "f %d\n", i
                alive[i] = 0; live -= size[i]; hole += size[i] + 16
            } else {
                hole = 0
            }
        }
    }
    for (i = 0; i < n; i++) if (alive[i]) printf "f %d\n", i
}' >"$OUT/synthetic_robson.trace"

# --- synthetic_free_every_other ----------------------------------------------
# Four rounds: allocate 2500 small blocks (16..79 bytes, seeded), free every
# other one of them, then ask for 12 big blocks (3000..4999 bytes) that the
# holes cannot hold. The big blocks and the surviving small ones stay live
# into the next round; everything is freed at the end.
awk 'BEGIN {
    x = 77; n = 0
    print "# rtmem-trace 1"
    print "# synthetic_free_every_other: made by bench/gen_traces.sh (4 rounds: 2500 blocks"
    print "# of 16..79 bytes, every other one freed, then 12 blocks of 3000..4999 bytes)"
    for (round = 0; round < 4; round++) {
        first = n
        for (i = 0; i < 2500; i++) {
            x = (x * 16807) % 2147483647
            printf "a %d %d\n", n, 16 + x % 64
            alive[n] = 1; n++
        }
        for (i = first; i < n; i += 2) { printf "f %d\n", i; alive[i] = 0 }
        for (i = 0; i < 12; i++) {
            x = (x * 16807) % 2147483647
            printf "a %d %d\n", n, 3000 + x % 2000
            alive[n] = 1; n++
        }
    }
    for (i = 0; i < n; i++) if (alive[i]) printf "f %d\n", i
}' >"$OUT/synthetic_free_every_other.trace"

for f in synthetic_random synthetic_robson synthetic_free_every_other; do
    echo "gen_traces.sh: $OUT/$f.trace: $(grep -vc '^#' "$OUT/$f.trace") events"
done
