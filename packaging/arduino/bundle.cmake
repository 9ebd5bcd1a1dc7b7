# Assembles rtmem as an Arduino library (docs/integration.md):
#
#   cmake -DOUT=<dir> -P packaging/arduino/bundle.cmake
#
# The Arduino IDE compiles every file under a library's src/ and puts only
# src/ on the include path, so the bundle has the public headers under
# src/rtmem/ next to the sources, the entry header src/rtmem.h and
# library.properties. No port is defined there, so the none port is built
# (the others compile to nothing). <dir> is replaced.
if(NOT DEFINED OUT OR OUT STREQUAL "")
    message(FATAL_ERROR "bundle.cmake: pass -DOUT=<directory for the library>")
endif()
get_filename_component(_root "${CMAKE_CURRENT_LIST_DIR}/../.." ABSOLUTE)
get_filename_component(_out "${OUT}" ABSOLUTE)

file(REMOVE_RECURSE "${_out}")
file(MAKE_DIRECTORY "${_out}/src")
file(COPY "${CMAKE_CURRENT_LIST_DIR}/library.properties" DESTINATION "${_out}")
file(COPY "${CMAKE_CURRENT_LIST_DIR}/rtmem.h" DESTINATION "${_out}/src")
file(COPY "${_root}/src/" DESTINATION "${_out}/src" FILES_MATCHING PATTERN "*.c" PATTERN "*.h")
file(COPY "${_root}/include/rtmem" DESTINATION "${_out}/src" FILES_MATCHING PATTERN "*.h")
file(COPY "${_root}/README.md" DESTINATION "${_out}")
message(STATUS "rtmem Arduino library in ${_out}")
