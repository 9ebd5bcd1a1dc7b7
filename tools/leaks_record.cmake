# `rtmem leaks` and `rtmem record` (docs/tools.md).
# Included from tools/CMakeLists.txt with RTMEM_TOOL_TARGET naming the
# target that gets the subcommand sources (the tool, or the library the tool
# and the tests link). Host only: C11 + POSIX (fork, exec, pipe, poll) and,
# for the recorder, dlsym/pthreads.
if(NOT RTMEM_TOOL_TARGET)
    message(FATAL_ERROR "leaks_record.cmake: set RTMEM_TOOL_TARGET before including it")
endif()

set(RTMEM_LEAKS_RECORD_DIR ${CMAKE_CURRENT_LIST_DIR}/rtmem)
target_sources(${RTMEM_TOOL_TARGET} PRIVATE
    ${RTMEM_LEAKS_RECORD_DIR}/leaks.c
    ${RTMEM_LEAKS_RECORD_DIR}/leaks_group.c
    ${RTMEM_LEAKS_RECORD_DIR}/leaks_parse.c
    ${RTMEM_LEAKS_RECORD_DIR}/symbolize.c
    ${RTMEM_LEAKS_RECORD_DIR}/record.c)
target_include_directories(${RTMEM_TOOL_TARGET} PUBLIC ${RTMEM_LEAKS_RECORD_DIR})
# PUBLIC: main.c sees them also when RTMEM_TOOL_TARGET is a library it links.
target_compile_definitions(${RTMEM_TOOL_TARGET} PUBLIC RTMEM_TOOL_HAVE_LEAKS RTMEM_TOOL_HAVE_RECORD)

# The tool's output directory: `rtmem record` looks for the preload library
# next to its own executable.
if(NOT DEFINED RTMEM_TOOL_OUTPUT_DIR)
    if(CMAKE_RUNTIME_OUTPUT_DIRECTORY)
        set(RTMEM_TOOL_OUTPUT_DIR ${CMAKE_RUNTIME_OUTPUT_DIRECTORY})
    else()
        set(RTMEM_TOOL_OUTPUT_DIR ${CMAKE_CURRENT_BINARY_DIR})
    endif()
endif()

# librtmem_preload.so, the LD_PRELOAD shim of `rtmem record`. Built with the
# strict warnings but never with the sanitizers: ASan must be the first
# library of a process and owns malloc itself, so the two cannot mix.
find_package(Threads REQUIRED)
add_library(rtmem_preload SHARED ${RTMEM_LEAKS_RECORD_DIR}/preload.c)
set_target_properties(rtmem_preload PROPERTIES
    OUTPUT_NAME rtmem_preload
    PREFIX "lib"
    C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF
    POSITION_INDEPENDENT_CODE ON
    C_VISIBILITY_PRESET hidden
    LIBRARY_OUTPUT_DIRECTORY ${RTMEM_TOOL_OUTPUT_DIR})
if(RTMEM_WARNINGS_AS_ERRORS AND CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
    target_compile_options(rtmem_preload PRIVATE ${RTMEM_WARNING_FLAGS})
endif()
target_link_libraries(rtmem_preload PRIVATE ${CMAKE_DL_LIBS} Threads::Threads)
add_dependencies(${RTMEM_TOOL_TARGET} rtmem_preload)
if(COMMAND install)
    install(TARGETS rtmem_preload LIBRARY DESTINATION ${CMAKE_INSTALL_BINDIR})
endif()

# The program tests/test_tool_record.c records (known allocations, 4 threads).
# No sanitizers either: it runs under the preload shim.
if(RTMEM_BUILD_TESTS)
    add_executable(rtmem_record_testprog ${PROJECT_SOURCE_DIR}/tests/tool_record_prog.c)
    set_target_properties(rtmem_record_testprog PROPERTIES
        C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
    if(RTMEM_WARNINGS_AS_ERRORS AND CMAKE_C_COMPILER_ID MATCHES "GNU|Clang")
        target_compile_options(rtmem_record_testprog PRIVATE ${RTMEM_WARNING_FLAGS})
    endif()
    target_link_libraries(rtmem_record_testprog PRIVATE Threads::Threads)

    # The same program statically linked, for the "nothing recorded: it is
    # statically linked" message; only where a static C library exists.
    include(CheckCSourceCompiles)
    set(CMAKE_REQUIRED_LINK_OPTIONS -static)
    check_c_source_compiles("int main(void) { return 0; }" RTMEM_HAVE_STATIC_LIBC)
    unset(CMAKE_REQUIRED_LINK_OPTIONS)
    if(RTMEM_HAVE_STATIC_LIBC)
        add_executable(rtmem_record_testprog_static ${PROJECT_SOURCE_DIR}/tests/tool_record_prog.c)
        set_target_properties(rtmem_record_testprog_static PROPERTIES
            C_STANDARD 11 C_STANDARD_REQUIRED ON C_EXTENSIONS OFF)
        target_link_options(rtmem_record_testprog_static PRIVATE -static)
        target_link_libraries(rtmem_record_testprog_static PRIVATE Threads::Threads)
    endif()
endif()
