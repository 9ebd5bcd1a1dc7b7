# Every compile-time option has its default in include/rtmem/config.h and a
# row in docs/configuration.md (ctest config_options_in_one_place).
#   SOURCE_DIR  the rtmem source tree
# An option is a macro that some file defaults with
#   #ifndef RTM_X
#   #define RTM_X ...
# Only config.h may do that; the one exception is RTM_FREERTOS_NOTIFY_INDEX
# in src/port/freertos.c, whose default needs FreeRTOSConfig.h.
cmake_policy(VERSION 3.16)
set(_allowed_elsewhere "src/port/freertos.c:RTM_FREERTOS_NOTIFY_INDEX")

file(GLOB_RECURSE _files RELATIVE ${SOURCE_DIR}
     ${SOURCE_DIR}/include/*.h ${SOURCE_DIR}/src/*.h ${SOURCE_DIR}/src/*.c
     ${SOURCE_DIR}/compat/*.h ${SOURCE_DIR}/compat/*.c)
set(_options "")
set(_problems "")
foreach(_f IN LISTS _files)
    # Split into lines by hand: ';' and unbalanced brackets in a file's
    # comments would otherwise merge list elements.
    file(READ ${SOURCE_DIR}/${_f} _text)
    string(REPLACE ";" "," _text "${_text}")
    string(REPLACE "[" "(" _text "${_text}")
    string(REPLACE "]" ")" _text "${_text}")
    string(REPLACE "\n" ";" _lines "${_text}")
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
# Options without a default (switches and the file name) are documented too.
list(APPEND _options RTM_PRESET_LINKER RTM_CONFIG_FILE)
file(READ ${SOURCE_DIR}/docs/configuration.md _doc)
foreach(_o IN LISTS _options)
    string(FIND "${_doc}" "`${_o}`" _at)
    string(FIND "${_doc}" "`${_o}()`" _at_fn)
    if(_at EQUAL -1 AND _at_fn EQUAL -1)
        list(APPEND _problems "docs/configuration.md does not list ${_o}")
    endif()
endforeach()
if(_problems)
    string(REPLACE ";" "\n  " _text "${_problems}")
    message(FATAL_ERROR "configuration surface:\n  ${_text}")
endif()
message(STATUS "${_count} options, all defaulted in config.h and documented")
