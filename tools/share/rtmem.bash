# bash completion for rtmem (docs/tools.md). Installed as
# share/bash-completion/completions/rtmem; tests/tool_share.py keeps its
# lists equal to what `rtmem COMMAND --help` documents.

_rtmem_options() {
    case "$1" in
        record) echo "-o --output --json" ;;
        leaks) echo "--elf --addr2line --since --json" ;;
        export) echo "--format -o --output --elf --addr2line --at --root --lenient" ;;
        replay) echo "--strategy --size --regions --align --lenient --json --quiet -q" ;;
        compare) echo "--strategy --size --align --budget --jobs --lenient --json --quiet -q" ;;
        report) echo "-o --output --elf --addr2line --budget" ;;
        top) echo "--baud" ;;
    esac
}

_rtmem() {
    local cur prev words cword
    cur=${COMP_WORDS[COMP_CWORD]}
    prev=${COMP_WORDS[COMP_CWORD - 1]}
    if [ "$COMP_CWORD" -eq 1 ]; then
        mapfile -t COMPREPLY < <(compgen -W "record leaks export replay compare report top help --help --version" -- "$cur")
        return 0
    fi
    local cmd=${COMP_WORDS[1]}
    # --opt=value: bash splits it at '=' (COMP_WORDBREAKS) into --opt, =, value
    if [ "$cur" = "=" ]; then
        cur=""
    elif [ "$prev" = "=" ] && [ "$COMP_CWORD" -ge 3 ]; then
        prev=${COMP_WORDS[COMP_CWORD - 2]}
    fi
    case "$prev" in
        --format)
            mapfile -t COMPREPLY < <(compgen -W "chrome folded" -- "$cur")
            return 0 ;;
        --at)
            mapfile -t COMPREPLY < <(compgen -W "end peak" -- "$cur")
            return 0 ;;
        --root)
            mapfile -t COMPREPLY < <(compgen -W "heap task none" -- "$cur")
            return 0 ;;
        --strategy)
            mapfile -t COMPREPLY < <(compgen -W "tlsf first_fit best_fit bump system" -- "$cur")
            return 0 ;;
        --regions)
            mapfile -t COMPREPLY < <(compgen -W "esp32 esp32s3 stm32h743 rp2040 generic" -- "$cur")
            return 0 ;;
        --baud)
            mapfile -t COMPREPLY < <(compgen -W "9600 19200 38400 57600 115200 230400 460800 921600" -- "$cur")
            return 0 ;;
        --size | --align | --since | --budget | --jobs)
            return 0 ;;
        -o | --output | --elf | --addr2line)
            mapfile -t COMPREPLY < <(compgen -f -- "$cur")
            return 0 ;;
    esac
    if [ "$cmd" = help ]; then
        mapfile -t COMPREPLY < <(compgen -W "record leaks export replay compare report top" -- "$cur")
        return 0
    fi
    if [[ "$cur" == -* ]]; then
        mapfile -t COMPREPLY < <(compgen -W "$(_rtmem_options "$cmd") --help" -- "$cur")
        return 0
    fi
    mapfile -t COMPREPLY < <(compgen -f -- "$cur")
}

complete -F _rtmem rtmem
