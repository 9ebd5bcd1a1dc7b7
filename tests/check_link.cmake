# cmake -DNM=nm -DBINARY=prog -P check_link.cmake
# Fails if BINARY (tests/target/code_size_core.c linked with --gc-sections)
# holds any symbol of code that a program using one TLSF heap for init,
# malloc, realloc, free and info must not link: the other strategies, any
# walk or check code, strategy lookup by id, poisoning.
execute_process(COMMAND ${NM} ${BINARY} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} ${BINARY} failed (${rc})")
endif()
if(NOT syms MATCHES "rtm_malloc" OR NOT syms MATCHES "rtm_strategy_tlsf")
    message(FATAL_ERROR "${BINARY}: rtm_malloc or rtm_strategy_tlsf missing: wrong binary?")
endif()
set(forbidden
    rtm_strategy_first_fit rtm_strategy_best_fit rtm_strategy_bump rtm_strategy_system
    rtm_strategy_by_id rtm_inspect_ rtm_heap_check rtm_heap_walk tlsf_walk tlsf_check
    rtm_ff_ rtm_bf_ rtm_bump_ sys_alloc)
# poison.c's functions: at level 0 poison.h's inline identities stand in
# for them, which an unoptimised build keeps as local symbols; only the
# global ones are poison.c's code.
set(forbidden_global rtm_poison_)
set(found "")
# collect(NAMES TYPE): nm lines of symbols that start with one of NAMES,
# TYPE a regex for nm's type letter ("[A-Za-z]" any, "[A-Z]" global only).
function(collect names type)
    foreach(name IN LISTS names)
        string(REGEX MATCHALL "[^\n]*[ \t]${type}[ \t]${name}[^\n]*" hits "${syms}")
        list(APPEND found ${hits})
    endforeach()
    set(found "${found}" PARENT_SCOPE)
endfunction()
collect("${forbidden}" "[A-Za-z]")
collect("${forbidden_global}" "[A-Z]")
if(found)
    string(REPLACE ";" "\n  " found "${found}")
    message(FATAL_ERROR "${BINARY} links code it never uses:\n  ${found}")
endif()
message(STATUS "link_tlsf_only holds only what it uses")
