# Cross toolchain for 32-bit RISC-V microcontrollers (ESP32-C3/C6, GD32V,
# CH32V...) with Debian's bare-metal RISC-V compiler and picolibc
# (gcc-riscv64-unknown-elf picolibc-riscv64-unknown-elf). The compiler is
# multilib: -march/-mabi select the 32-bit library. docs/targets.md.
#
#   cmake -S . -B build/cross-rv32 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-riscv32.cmake \
#         -DRTMEM_BUILD_TESTS=OFF -DRTMEM_BUILD_EXAMPLES=OFF
#
# RTMEM_RISCV_ARCH and RTMEM_RISCV_ABI override the default rv32imac/ilp32
# (e.g. rv32imafc/ilp32f for a core with a single-precision FPU).
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR riscv32)

set(RTMEM_RISCV_ARCH "rv32imac" CACHE STRING "-march for the RISC-V target")
set(RTMEM_RISCV_ABI "ilp32" CACHE STRING "-mabi for the RISC-V target")

set(CMAKE_C_COMPILER riscv64-unknown-elf-gcc)
set(CMAKE_ASM_COMPILER riscv64-unknown-elf-gcc)
# The compiler ships no C library headers of its own: picolibc's specs file
# adds its include and library directories.
set(_rtmem_riscv_flags "-march=${RTMEM_RISCV_ARCH} -mabi=${RTMEM_RISCV_ABI} --specs=picolibc.specs")
set(CMAKE_C_FLAGS_INIT "${_rtmem_riscv_flags} -ffunction-sections -fdata-sections")
set(CMAKE_ASM_FLAGS_INIT "${_rtmem_riscv_flags}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--gc-sections")

# Compiler checks compile only: linking needs a board's startup code and
# linker script.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES RTMEM_RISCV_ARCH RTMEM_RISCV_ABI)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
