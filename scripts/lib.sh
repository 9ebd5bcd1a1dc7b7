# Shell helpers shared by the scripts in this folder: source it, do not run it.
# The sourcing script has cd'ed to the repository root.

# rtm_ensure_packages SCRIPT "COMMANDS" PACKAGE...
#   On Debian: installs the PACKAGEs that are not installed, as root or with
#   passwordless sudo (adding the i386 architecture first when one of them
#   ends in :i386); without either it prints the apt-get commands to run and
#   exits 1. When everything is present it installs nothing. The apt output
#   goes to build/apt-SCRIPT.log and is shown when a command fails.
#   With RTMEM_NO_INSTALL=1 it never installs: missing packages are named
#   with the commands to run, exit 1, as without root (the ctest test of
#   scripts/demo.sh runs it so, offline).
#   Elsewhere: checks that every command in COMMANDS is on PATH, else names
#   the missing one and exits 1.
rtm_ensure_packages() {
    local script=$1 commands=$2
    shift 2
    local c
    if ! command -v dpkg-query >/dev/null 2>&1; then
        for c in $commands; do
            if ! command -v "$c" >/dev/null 2>&1; then
                echo "$script: '$c' is missing, and this is not a Debian system: install" \
                     "the equivalents of: $*" >&2
                exit 1
            fi
        done
        return 0
    fi
    local missing=() p
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
        *:i386*)
            if ! dpkg --print-foreign-architectures | grep -qx i386; then
                cmds+=("dpkg --add-architecture i386")
            fi ;;
    esac
    cmds+=("apt-get update" "apt-get install -y --no-install-recommends ${missing[*]}")
    local sudo=""
    if [ "${RTMEM_NO_INSTALL:-0}" = 1 ] || [ "$(id -u)" -ne 0 ]; then
        if [ "${RTMEM_NO_INSTALL:-0}" != 1 ] && command -v sudo >/dev/null 2>&1 &&
            sudo -n true 2>/dev/null; then
            sudo="sudo"
        else
            echo "$script: missing packages: ${missing[*]}" >&2
            echo "Run these as root, then run this script again:" >&2
            for c in "${cmds[@]}"; do
                echo "  sudo $c" >&2
            done
            exit 1
        fi
    fi
    echo "$script: installing ${missing[*]}"
    mkdir -p build
    local name=${script%.sh}
    local log="build/apt-${name//\//-}.log"
    for c in "${cmds[@]}"; do
        # shellcheck disable=SC2086 # the commands are word lists on purpose
        if ! $sudo env DEBIAN_FRONTEND=noninteractive $c >"$log" 2>&1; then
            echo "$script: '$c' failed:" >&2
            tail -n 30 "$log" >&2
            exit 1
        fi
    done
}

# rtm_update_section FILE NAME TEXT: replaces the lines between
# "<!-- NAME:begin -->" and "<!-- NAME:end -->" in FILE by TEXT, or appends
# the section, markers included, when FILE has none. The benchmark scripts
# each keep their own section of docs/benchmarks.md this way.
rtm_update_section() {
    local file=$1 name=$2 text=$3 tmp
    tmp=$(mktemp)
    if grep -qx "<!-- $name:begin -->" "$file" && grep -qx "<!-- $name:end -->" "$file"; then
        TEXT="$text" NAME="$name" awk '
            $0 == "<!-- " ENVIRON["NAME"] ":begin -->" { print; print ENVIRON["TEXT"]; skip = 1; next }
            $0 == "<!-- " ENVIRON["NAME"] ":end -->" { skip = 0 }
            !skip { print }' "$file" >"$tmp"
    else
        { cat "$file"; echo; echo "<!-- $name:begin -->"; echo "$text"; echo "<!-- $name:end -->"; } >"$tmp"
    fi
    cat "$tmp" >"$file"
    rm -f "$tmp"
}

# rtm_bench_build SCRIPT TARGET...: builds the rtmem tool and bench programs
# in build/bench (Release, -O2; $CC when set), the log in build/SCRIPT.log
# (SCRIPT without .sh). On failure prints the log's tail and exits 1. The
# build of bench/leaks_rss.sh, compare_times.sh and report_times.sh.
rtm_bench_build() {
    local script=$1
    shift
    local log="build/${script%.sh}.log"
    local config=(-S bench -B build/bench -DCMAKE_BUILD_TYPE=Release
                  "-DCMAKE_C_FLAGS_RELEASE=-O2 -DNDEBUG" -DRTMEM_BUILD_TOOLS=ON)
    if [ -n "${CC:-}" ]; then
        config+=("-DCMAKE_C_COMPILER=$CC")
    fi
    mkdir -p build
    if ! cmake "${config[@]}" >"$log" 2>&1 ||
        ! cmake --build build/bench -j 2 --target "$@" >>"$log" 2>&1; then
        tail -n 40 "$log" >&2
        echo "$script: build failed ($log)" >&2
        exit 1
    fi
}

# rtm_bench_args SCRIPT QUICK ARG...: the command line of the benchmark
# scripts bench/leaks_rss.sh, compare_times.sh and report_times.sh. SCRIPT is
# the script's path ("${BASH_SOURCE[0]}"); QUICK is yes when it takes --quick.
# Sets UPDATE_FILE (--update FILE; "" without it) and QUICK (1 after --quick,
# else 0). -h/--help prints the script's opening comment (from its second
# line to the first line that is not a comment) without the "# " and exits
# 0; --update without a file or an argument it does not take is named on
# stderr, exit 2.
# shellcheck disable=SC2034 # UPDATE_FILE and QUICK are for the calling script
rtm_bench_args() {
    local script=$1 takes_quick=$2 name
    name=$(basename "$script")
    shift 2
    UPDATE_FILE=""
    QUICK=0
    while [ $# -gt 0 ]; do
        case "$1" in
            --quick)
                [ "$takes_quick" = yes ] || { echo "$name: unknown argument '$1'" >&2; exit 2; }
                QUICK=1 ;;
            --update)
                [ $# -ge 2 ] || { echo "$name: --update needs a file" >&2; exit 2; }
                UPDATE_FILE=$2
                shift ;;
            -h|--help)
                awk 'NR > 1 && !/^#/ { exit } NR > 1' "$script" | sed 's/^# \{0,1\}//'
                exit 0 ;;
            *) echo "$name: unknown argument '$1'" >&2; exit 2 ;;
        esac
        shift
    done
}
