# cmake -DNM=nm -DBINARY=prog [-DALIGNED=ON] [-DSTRATEGY=first_fit] -P check_link.cmake
# Fails if BINARY (tests/target/code_size_core.c linked with --gc-sections)
# holds any symbol of code that a program using one TLSF heap for init,
# malloc, realloc, free and info must not link: the other strategies, any
# walk or check code, strategy lookup by id, aligned allocation, poisoning,
# and the line building of reports (the program installs no output hook).
# With ALIGNED (the same program built with CORE_WITH_ALIGNED, which also
# calls rtm_aligned_alloc) TLSF's aligned allocation and its lookup must be there
# and the rest is forbidden as before: the lookup names the other
# strategies' aligned allocations only weakly. With STRATEGY (the program
# built with CORE_STRATEGY naming that strategy's object, against a core
# whose RTM_DEFAULT_STRATEGY names it too) the same holds of that strategy
# instead of TLSF.
execute_process(COMMAND ${NM} ${BINARY} OUTPUT_VARIABLE syms RESULT_VARIABLE rc)
if(NOT rc EQUAL 0)
    message(FATAL_ERROR "${NM} ${BINARY} failed (${rc})")
endif()
# Undefined symbols are not linked code: a weak reference left unresolved
# (src/strategy/aligned.c's to strategies the program does not link) reads
# "w" without an address.
string(REGEX REPLACE "[ \t]+[wU][ \t][^\n]*" "" syms "${syms}")
# STRATEGY: the one strategy the program's heap uses (default tlsf). Every
# other strategy's object, aligned allocation and file-static functions
# (each file's prefix) are forbidden, and so are the used one's walk and
# check.
if(NOT STRATEGY)
    set(STRATEGY tlsf)
endif()
if(NOT syms MATCHES "rtm_malloc" OR NOT syms MATCHES "rtm_strategy_${STRATEGY}")
    message(FATAL_ERROR "${BINARY}: rtm_malloc or rtm_strategy_${STRATEGY} missing: wrong binary?")
endif()
set(forbidden
    rtm_strategy_system rtm_system_ sys_alloc
    rtm_strategy_by_id rtm_inspect_ rtm_heap_check rtm_heap_walk
    rtm_line_ report_line)
set(_prefix_tlsf tlsf_)
set(_prefix_first_fit ff_)
set(_prefix_best_fit bf_)
set(_prefix_bump bump_)
foreach(_s IN ITEMS tlsf first_fit best_fit bump)
    if(_s STREQUAL STRATEGY)
        list(APPEND forbidden ${_prefix_${_s}}walk ${_prefix_${_s}}check)
    else()
        list(APPEND forbidden rtm_strategy_${_s} rtm_${_s}_ ${_prefix_${_s}})
    endif()
endforeach()
if(ALIGNED)
    if(NOT syms MATCHES "[ \t]T[ \t]rtm_${STRATEGY}_alloc_aligned"
       OR NOT syms MATCHES "[ \t]T[ \t]rtm_strategy_alloc_aligned")
        message(FATAL_ERROR "${BINARY}: calls rtm_aligned_alloc but links no aligned allocation of ${STRATEGY}")
    endif()
else()
    list(APPEND forbidden rtm_strategy_alloc_aligned rtm_${STRATEGY}_alloc_aligned)
endif()
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
message(STATUS "${BINARY} holds only what it uses")
