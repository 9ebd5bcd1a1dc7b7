# Runs the C compiler on probe.c with -fsyntax-only and the given
# definitions, and checks the outcome (ctest runs one case per test).
#   CC        the compiler;  CFLAGS  extra flags, joined with '|' (may be empty)
#   INCLUDE   rtmem's include/;  PROBE  the source
#   DEFINES   NAME=VALUE (or NAME) definitions, joined with '|'
#   EXPECT    pass or fail
#   MESSAGE   with fail: text the compiler's error must contain (the
#             option's name), so that a failure for another reason does not
#             count as the range check working.
string(REPLACE "|" ";" CFLAGS "${CFLAGS}")
string(REPLACE "|" ";" DEFINES "${DEFINES}")
set(_args ${CFLAGS} -std=c11 -fsyntax-only "-I${INCLUDE}")
foreach(_d IN LISTS DEFINES)
    list(APPEND _args "-D${_d}")
endforeach()
execute_process(COMMAND ${CC} ${_args} ${PROBE}
                RESULT_VARIABLE _rc OUTPUT_VARIABLE _out ERROR_VARIABLE _err)
if(EXPECT STREQUAL "pass")
    if(NOT _rc EQUAL 0)
        message(FATAL_ERROR "expected to compile with ${DEFINES}, but:\n${_err}")
    endif()
elseif(EXPECT STREQUAL "fail")
    if(_rc EQUAL 0)
        message(FATAL_ERROR "expected a compile error with ${DEFINES}, but it compiled")
    endif()
    string(FIND "${_err}" "${MESSAGE}" _at)
    if(_at EQUAL -1)
        message(FATAL_ERROR "compile failed with ${DEFINES}, but not by naming '${MESSAGE}':\n${_err}")
    endif()
else()
    message(FATAL_ERROR "compile_probe.cmake: EXPECT must be pass or fail")
endif()
