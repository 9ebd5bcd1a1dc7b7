# End-to-end check of the demo firmware (ctest example_firmware_sim):
#   cmake -DDEMO=<firmware_sim> -DTOOL=<rtmem> -DOUT=<dir> [-DEMULATOR=<words>]
#         -P check_demo.cmake
# Runs a short demo and asserts its findings from its console output and
# its files: the leak's call site (file:line of the RTM_MALLOC in
# tasks_net.c) is named by the checkpoint report and by `rtmem leaks`
# on the trace; the monitor recommends a pool for the HTTP server's
# dominant allocation size, raises the stack, pool and leak-trend alerts;
# every telemetry line is a JSON object of the documented kinds; `rtmem
# report` on both files shows every region, task, pool, alert kind, the
# recommendations, the leak's site and the trace's charts. Bad options end
# with exit status 2.
cmake_minimum_required(VERSION 3.20)

foreach(_var DEMO TOOL OUT)
    if(NOT DEFINED ${_var})
        message(FATAL_ERROR "check_demo.cmake needs -D${_var}=...")
    endif()
endforeach()

# EMULATOR: the command that runs this build's programs (e.g. qemu-i386 for
# an -m32 build on a kernel without i386 execution), words separated by
# spaces; empty or unset: run them directly.
separate_arguments(_run UNIX_COMMAND "${EMULATOR}")

set(_failures 0)
# check(<what> <if() condition...>): the condition's words are passed on
# as they are, so it must not contain empty strings or regex escapes.
macro(check _what)
    if(${ARGN})
        message(STATUS "ok: ${_what}")
    else()
        message(SEND_ERROR "FAILED: ${_what}")
        math(EXPR _failures "${_failures} + 1")
    endif()
endmacro()

file(REMOVE_RECURSE "${OUT}")
file(MAKE_DIRECTORY "${OUT}")

# --- bad usage --------------------------------------------------------------
execute_process(COMMAND ${_run} "${DEMO}" --bogus RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
check("an unknown option exits with 2 (got ${_rc})" _rc EQUAL 2)
execute_process(COMMAND ${_run} "${DEMO}" --seconds 0 RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
check("--seconds 0 exits with 2 (got ${_rc})" _rc EQUAL 2)
execute_process(COMMAND ${_run} "${DEMO}" --strategy bump RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_QUIET)
check("--strategy bump exits with 2 (got ${_rc})" _rc EQUAL 2)
execute_process(COMMAND ${_run} "${DEMO}" --help RESULT_VARIABLE _rc OUTPUT_VARIABLE _help ERROR_QUIET)
check("--help prints the usage" _rc EQUAL 0 AND _help MATCHES "--seconds N")

# --- the run ----------------------------------------------------------------
execute_process(COMMAND ${_run} "${DEMO}" --seconds 5 --out "${OUT}"
                RESULT_VARIABLE _rc OUTPUT_VARIABLE _log ERROR_VARIABLE _err
                WORKING_DIRECTORY "${OUT}")
file(WRITE "${OUT}/console.log" "${_log}${_err}")
check("the demo exits with 0 (got ${_rc}; console in ${OUT}/console.log)" _rc EQUAL 0)

foreach(_part "Part 1: static versus dynamic creation" "Part 2: pool behaviour under concurrency"
              "Part 3: the leak, found by a checkpoint"
              "Part 4: the monitor: status, alerts, recommendations")
    string(FIND "${_log}" "${_part}" _at)
    check("the log has '${_part}'" NOT _at EQUAL -1)
endforeach()
set(_esp_style FALSE)
if(_log MATCHES "(^|\n)I \\([0-9]+\\) [a-z_]+: ")
    set(_esp_style TRUE)
endif()
check("log lines look like ESP-IDF's 'I (ms) TAG: '" _esp_style)

# Where the leak really is: the line of the RTM_MALLOC in tasks_net.c.
get_filename_component(_here "${CMAKE_CURRENT_LIST_FILE}" DIRECTORY)
file(STRINGS "${_here}/tasks_net.c" _src)
set(_n 0)
set(_leak_line "")
foreach(_l IN LISTS _src)
    math(EXPR _n "${_n} + 1")
    if(_l MATCHES "RTM_MALLOC\\(g_app\\.leak_heap")
        set(_leak_line ${_n})
    endif()
endforeach()
check("found the leaking RTM_MALLOC in tasks_net.c (line ${_leak_line})" _leak_line GREATER 0)
set(_site "tasks_net.c:${_leak_line}")

string(FIND "${_log}" "LEAK at ${_site}:" _at)
check("the checkpoint report names the leak at ${_site}" NOT _at EQUAL -1)
string(REGEX MATCH "# leak blocks=[0-9]+ bytes=[0-9]+ site=${_site}" _leak_report "${_log}")
check("rtm_trace_print_leaks lists site=${_site}" _leak_report MATCHES "site=")
string(REGEX MATCH "# leaks since=[0-9]+ blocks=[0-9]+ bytes=[0-9]+ sites=1 " _one_site "${_log}")
check("the leak is the only site left since the checkpoint" _one_site MATCHES "sites=1")

# --- telemetry ----------------------------------------------------------------
set(_telemetry "${OUT}/firmware_sim.telemetry.jsonl")
check("telemetry file written" EXISTS "${_telemetry}")
file(READ "${_telemetry}" _text)
set(_lines 0)
set(_bad 0)
set(_types "")
set(_pool_rec "")
set(_alerts "")
while(NOT _text STREQUAL "")
    string(FIND "${_text}" "\n" _nl)
    if(_nl EQUAL -1)
        message(SEND_ERROR "FAILED: the telemetry file does not end with a newline")
        math(EXPR _failures "${_failures} + 1")
        break()
    endif()
    string(SUBSTRING "${_text}" 0 ${_nl} _line)
    math(EXPR _next "${_nl} + 1")
    string(SUBSTRING "${_text}" ${_next} -1 _text)
    math(EXPR _lines "${_lines} + 1")
    string(JSON _version ERROR_VARIABLE _e1 GET "${_line}" rtmem)
    string(JSON _type ERROR_VARIABLE _e2 GET "${_line}" type)
    string(FIND "${_line}" "{\"rtmem\":1," _prefix)
    if(_e1 OR _e2 OR NOT _prefix EQUAL 0 OR NOT _version EQUAL 1)
        math(EXPR _bad "${_bad} + 1")
        message(STATUS "bad telemetry line ${_lines}: ${_line}")
        continue()
    endif()
    list(APPEND _types ${_type})
    if(_type STREQUAL "rec")
        string(JSON _rule ERROR_VARIABLE _e GET "${_line}" rule)
        string(JSON _source ERROR_VARIABLE _e GET "${_line}" source)
        if(_rule STREQUAL "pool_for_size" AND _source STREQUAL "httpd")
            string(JSON _pool_rec ERROR_VARIABLE _e GET "${_line}" block)
        endif()
    elseif(_type STREQUAL "alert")
        string(JSON _kind ERROR_VARIABLE _e GET "${_line}" alert)
        list(APPEND _alerts ${_kind})
    endif()
endwhile()
check("telemetry has ${_lines} lines" _lines GREATER 50)
check("every telemetry line is a JSON object starting with {\"rtmem\":1, (${_bad} bad)" _bad EQUAL 0)
foreach(_t mem pool task alert rec)
    list(FIND _types ${_t} _at)
    check("telemetry has '${_t}' lines" NOT _at EQUAL -1)
endforeach()
check("the monitor recommends a pool of 56-byte blocks for httpd (got '${_pool_rec}')" _pool_rec EQUAL 56)
foreach(_k stack_high pool_exhausted leak_trend)
    list(FIND _alerts ${_k} _at)
    check("a ${_k} alert was raised" NOT _at EQUAL -1)
endforeach()

# --- the trace, through the host tool -----------------------------------------
set(_trace "${OUT}/firmware_sim.trace")
check("trace file written" EXISTS "${_trace}")
execute_process(COMMAND ${_run} "${TOOL}" leaks "${_trace}"
                RESULT_VARIABLE _rc OUTPUT_VARIABLE _leaks ERROR_VARIABLE _leaks_err)
check("rtmem leaks finds leaks in the trace (exit ${_rc}: ${_leaks_err})" _rc EQUAL 1)
string(FIND "${_leaks}" "site ${_site}" _at)
check("rtmem leaks names ${_site}" NOT _at EQUAL -1)
string(FIND "${_leaks}" "since the checkpoint, 1 call sites" _at)
check("rtmem leaks honours the checkpoint: one call site" NOT _at EQUAL -1)
# The demo is position-independent: its trace says where it was loaded
# (# rtmem-record exe_base=...), so its own ELF names the leak's frame.
file(STRINGS "${_trace}" _image_line LIMIT_COUNT 2 REGEX "^# rtmem-record exe_base=0x")
check("the trace says where the program was loaded" _image_line MATCHES "exe_lo=0x[0-9a-f]+ exe_hi=0x")
find_program(_addr2line NAMES addr2line)
if(_addr2line)
    execute_process(COMMAND ${_run} "${TOOL}" leaks --elf "${DEMO}" "${_trace}"
                    RESULT_VARIABLE _rc OUTPUT_VARIABLE _sym ERROR_VARIABLE _sym_err)
    # The leaking call's frame: a function of tasks_net.c (optimised, the
    # line can be the next one: the return address follows the call).
    string(REGEX MATCH "\n +at 0x[0-9a-f]+  [A-Za-z_][A-Za-z0-9_]* [^\n]*tasks_net[.]c:[0-9]+" _frame
           "${_sym}")
    string(REGEX REPLACE "^\n +at 0x[0-9a-f]+  ([A-Za-z_][A-Za-z0-9_]*) .*" "\\1" _func "${_frame}")
    file(READ "${_here}/tasks_net.c" _net_src)
    string(FIND "${_net_src}" "${_func}(" _defined)
    check("rtmem leaks --elf names the demo's own function for the leak (got '${_func}', exit ${_rc})"
          _rc EQUAL 1 AND _frame MATCHES "at 0x" AND NOT _defined EQUAL -1)
else()
    message(STATUS "addr2line not found: the symbolized leak frame is not checked")
endif()
execute_process(COMMAND ${_run} "${TOOL}" replay "${_trace}"
                RESULT_VARIABLE _rc OUTPUT_VARIABLE _replay ERROR_VARIABLE _replay_err)
check("rtmem replay replays the trace (exit ${_rc})" _rc EQUAL 0 AND _replay MATCHES "heap check +ok")

# --- the report: what demo.sh ends with (docs/report.md) --------------------------
execute_process(COMMAND ${_run} "${TOOL}" report -o "${OUT}/report.html" --budget 30
                        --elf "${DEMO}" "${_telemetry}" "${_trace}"
                RESULT_VARIABLE _rc OUTPUT_QUIET ERROR_VARIABLE _report_err)
check("rtmem report writes the demo's page (exit ${_rc}: ${_report_err})"
      _rc EQUAL 0 AND EXISTS "${OUT}/report.html")
file(READ "${OUT}/report.html" _page)
file(READ "${_telemetry}" _tm)
# every region, task and pool the telemetry names, every alert kind raised
foreach(_kind mem task pool)
    string(REGEX MATCHALL "\"type\":\"${_kind}\",\"ms\":[0-9]+,\"seq\":[0-9]+,\"name\":\"[^\"]+\""
           _named "${_tm}")
    set(_names "")
    foreach(_n IN LISTS _named)
        string(REGEX REPLACE ".*\"name\":\"([^\"]+)\"$" "\\1" _n "${_n}")
        list(APPEND _names "${_n}")
    endforeach()
    list(REMOVE_DUPLICATES _names)
    list(LENGTH _names _count)
    set(_missing "")
    set(_nmissing 0)
    foreach(_n IN LISTS _names)
        string(FIND "${_page}" ">${_n}<" _at)
        string(FIND "${_page}" ">${_n} <" _at2)
        if(_at EQUAL -1 AND _at2 EQUAL -1)
            list(APPEND _missing "${_n}")
            math(EXPR _nmissing "${_nmissing} + 1")
        endif()
    endforeach()
    check("the report shows all ${_count} ${_kind} names of the telemetry (missing: ${_missing})"
          _count GREATER 0 AND _nmissing EQUAL 0)
endforeach()
foreach(_k stack_high pool_exhausted leak_trend)
    string(FIND "${_page}" "<td>${_k}</td>" _at)
    check("the report lists the ${_k} alert" NOT _at EQUAL -1)
endforeach()
string(FIND "${_page}" "<g class=\"marker raised\">" _at)
check("the report marks alerts on the memory charts" NOT _at EQUAL -1)
string(FIND "${_page}" "pool_for_size</code> httpd" _at)
check("the report lists the recommendations" NOT _at EQUAL -1)
string(FIND "${_page}" "<code>${_site}</code>" _at)
check("the report's leak table names ${_site}" NOT _at EQUAL -1)
string(FIND "${_page}" "id=\"pools-time-0\"" _at)
check("the report charts the pools over time" NOT _at EQUAL -1)
string(REGEX MATCH "<title>[0-9.]+ s\n[^<]*: [0-9]+ of [0-9]+ blocks" _readout "${_page}")
check("the report's pool chart reads its values on hover" _readout MATCHES "blocks")
foreach(_id trace-1-live trace-1-compare trace-1-heapmap)
    string(FIND "${_page}" "id=\"${_id}\"" _at)
    check("the report has the trace chart ${_id}" NOT _at EQUAL -1)
endforeach()

if(_failures GREATER 0)
    message(FATAL_ERROR "${_failures} checks failed")
endif()
# The files are small but not needed once the checks pass.
file(REMOVE "${_trace}")
