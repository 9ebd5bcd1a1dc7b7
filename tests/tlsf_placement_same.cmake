# ctest test_tlsf_placement_same: runs tests/tlsf_placement.c built against
# the core with each setting of RTM_TLSF_BRANCH_FREE and requires the same
# output, which must also look like a whole run.
#   A, B       the two programs
#   EMULATOR   how to run them (CMAKE_CROSSCOMPILING_EMULATOR; may be empty)
cmake_policy(VERSION 3.16)
set(_runner "")
if(EMULATOR)
    set(_runner ${EMULATOR})
endif()
foreach(_which IN ITEMS A B)
    execute_process(COMMAND ${_runner} ${${_which}} RESULT_VARIABLE _rc
                    OUTPUT_VARIABLE _out_${_which} ERROR_VARIABLE _err)
    if(NOT _rc EQUAL 0)
        message(FATAL_ERROR "${${_which}} failed (${_rc}): ${_err}")
    endif()
    # 16 phase lines and the last one.
    string(REGEX MATCHALL "step [0-9]+ hash [0-9a-f]+ " _lines "${_out_${_which}}")
    list(LENGTH _lines _n)
    if(NOT _n EQUAL 17)
        message(FATAL_ERROR "${${_which}} printed ${_n} state lines, not 17:\n${_out_${_which}}")
    endif()
endforeach()
if(NOT _out_A STREQUAL _out_B)
    message(FATAL_ERROR "TLSF placed blocks differently with the two list-update versions:\n"
                        "${A}:\n${_out_A}\n${B}:\n${_out_B}")
endif()
message(STATUS "same placement:\n${_out_A}")
