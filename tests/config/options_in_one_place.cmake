# Every compile-time option has its default in include/rtmem/config.h and a
# row in docs/configuration.md, every CMake option RTMEM_* has a row there,
# and every row names an option (ctest config_options_in_one_place).
#   SOURCE_DIR  the rtmem source tree
# An option is a macro that some file defaults with
#   #ifndef RTM_X
#   #define RTM_X ...
# Only config.h may do that; the one exception is RTM_FREERTOS_NOTIFY_INDEX
# in src/port/freertos.c, whose default needs FreeRTOSConfig.h.
cmake_policy(VERSION 3.16)
set(_allowed_elsewhere "src/port/freertos.c:RTM_FREERTOS_NOTIFY_INDEX")

# Splits text into a list of its lines by hand: ';' and unbalanced
# brackets in a file's comments would otherwise merge list elements.
function(split_lines text out)
    string(REPLACE ";" "," text "${text}")
    string(REPLACE "[" "(" text "${text}")
    string(REPLACE "]" ")" text "${text}")
    string(REPLACE "\n" ";" text "${text}")
    set(${out} "${text}" PARENT_SCOPE)
endfunction()

file(GLOB_RECURSE _files RELATIVE ${SOURCE_DIR}
     ${SOURCE_DIR}/include/*.h ${SOURCE_DIR}/src/*.h ${SOURCE_DIR}/src/*.c
     ${SOURCE_DIR}/compat/*.h ${SOURCE_DIR}/compat/*.c)
set(_options "")
set(_problems "")
foreach(_f IN LISTS _files)
    file(READ ${SOURCE_DIR}/${_f} _text)
    split_lines("${_text}" _lines)
    set(_pending "")
    foreach(_line IN LISTS _lines)
        if(_pending AND _line MATCHES "^#define ${_pending}([ (]|$)")
            if(_f STREQUAL "include/rtmem/config.h")
                list(APPEND _options ${_pending})
            elseif(NOT "${_f}:${_pending}" IN_LIST _allowed_elsewhere)
                list(APPEND _problems "${_f}: defaults ${_pending} (only config.h may)")
            else()
                list(APPEND _options ${_pending})
            endif()
        endif()
        set(_pending "")
        if(_line MATCHES "^#ifndef (RTM_[A-Z0-9_]+)$")
            set(_pending ${CMAKE_MATCH_1})
        endif()
    endforeach()
endforeach()

list(LENGTH _options _count)
if(_count LESS 20)
    list(APPEND _problems "found only ${_count} options: is the scan still right?")
endif()
# Options without a default (switches and the file name) are documented too,
# and RTM_WITH_SYSTEM, whose default depends on its deprecated name.
list(APPEND _options RTM_PRESET_LINKER RTM_CONFIG_FILE RTM_WITH_SYSTEM)
file(READ ${SOURCE_DIR}/docs/configuration.md _doc)
foreach(_o IN LISTS _options)
    string(FIND "${_doc}" "`${_o}`" _at)
    string(FIND "${_doc}" "`${_o}()`" _at_fn)
    if(_at EQUAL -1 AND _at_fn EQUAL -1)
        list(APPEND _problems "docs/configuration.md does not list ${_o}")
    endif()
endforeach()

# And the other way: every row of the doc's two option tables names an
# option that exists (a row left behind by a renamed or removed option lies).
split_lines("${_doc}" _doc_lines)
set(_rows "")
foreach(_line IN LISTS _doc_lines)
    if(_line MATCHES "^\\| (`(RTM|RTMEM)_[^|]*)\\|")
        string(REGEX MATCHALL "`(RTM|RTMEM)_[A-Z0-9_]+" _names "${CMAKE_MATCH_1}")
        foreach(_n IN LISTS _names)
            string(SUBSTRING "${_n}" 1 -1 _n)
            list(APPEND _rows ${_n})
        endforeach()
    endif()
endforeach()

# CMake options: each cache variable RTMEM_* that rtmem's own CMakeLists
# create (option() or set(... CACHE)) has a row in docs/configuration.md.
set(_cmake_options "")
foreach(_f IN ITEMS CMakeLists.txt tests/CMakeLists.txt fuzz/CMakeLists.txt tools/CMakeLists.txt
                    examples/CMakeLists.txt bench/CMakeLists.txt)
    if(NOT EXISTS ${SOURCE_DIR}/${_f})
        continue()
    endif()
    file(READ ${SOURCE_DIR}/${_f} _text)
    string(REGEX MATCHALL "option\\((RTMEM_[A-Z0-9_]+)" _found "${_text}")
    string(REGEX MATCHALL "set\\((RTMEM_[A-Z0-9_]+) [^)]*CACHE (STRING|PATH|BOOL|FILEPATH)"
           _found_set "${_text}")
    foreach(_m IN LISTS _found _found_set)
        string(REGEX REPLACE "^(option|set)\\((RTMEM_[A-Z0-9_]+).*" "\\2" _name "${_m}")
        list(APPEND _cmake_options ${_name})
    endforeach()
endforeach()
list(REMOVE_DUPLICATES _cmake_options)
list(LENGTH _cmake_options _cmake_count)
if(_cmake_count LESS 10)
    list(APPEND _problems "found only ${_cmake_count} CMake options: is the scan still right?")
endif()
foreach(_o IN LISTS _cmake_options)
    if(NOT _o IN_LIST _rows)
        list(APPEND _problems "docs/configuration.md has no row for the CMake option ${_o}")
    endif()
endforeach()
foreach(_r IN LISTS _rows)
    if(NOT _r IN_LIST _options AND NOT _r IN_LIST _cmake_options)
        list(APPEND _problems "docs/configuration.md has a row for ${_r}, which is no option")
    endif()
endforeach()

if(_problems)
    string(REPLACE ";" "\n  " _text "${_problems}")
    message(FATAL_ERROR "configuration surface:\n  ${_text}")
endif()
message(STATUS "${_count} options, all defaulted in config.h and documented; "
               "${_cmake_count} CMake options, all documented")
