# Cross toolchain for Arm Cortex-M with the GNU Arm Embedded compiler
# (Debian: gcc-arm-none-eabi libnewlib-arm-none-eabi). docs/targets.md.
#
#   cmake -S . -B build/cross-m4f -DCMAKE_TOOLCHAIN_FILE=cmake/toolchain-arm-none-eabi.cmake \
#         -DRTMEM_ARM_CPU=cortex-m4f -DRTMEM_BUILD_TESTS=OFF -DRTMEM_BUILD_EXAMPLES=OFF
#
# RTMEM_ARM_CPU picks the core and its floating-point ABI:
#   cortex-m0plus  ARMv6-M, no FPU             (RP2040, STM32G0/L0)
#   cortex-m3      ARMv7-M, no FPU             (STM32F1/F2/L1, LPC17xx)
#   cortex-m4f     ARMv7E-M, single FPU, hard  (STM32F4/L4/G4, nRF52)
#   cortex-m7      ARMv7E-M, double FPU, hard  (STM32F7/H7, i.MX RT)
# Floating point only matters to the ABI of code linked with rtmem: the
# library itself has no floating-point arithmetic.
set(CMAKE_SYSTEM_NAME Generic)
set(CMAKE_SYSTEM_PROCESSOR arm)

set(RTMEM_ARM_CPU "cortex-m4f" CACHE STRING "Target core: cortex-m0plus, cortex-m3, cortex-m4f, cortex-m7")
set_property(CACHE RTMEM_ARM_CPU PROPERTY STRINGS cortex-m0plus cortex-m3 cortex-m4f cortex-m7)

if(RTMEM_ARM_CPU STREQUAL "cortex-m0plus")
    set(_rtmem_arm_flags "-mcpu=cortex-m0plus -mthumb -mfloat-abi=soft")
elseif(RTMEM_ARM_CPU STREQUAL "cortex-m3")
    set(_rtmem_arm_flags "-mcpu=cortex-m3 -mthumb -mfloat-abi=soft")
elseif(RTMEM_ARM_CPU STREQUAL "cortex-m4f")
    set(_rtmem_arm_flags "-mcpu=cortex-m4 -mthumb -mfloat-abi=hard -mfpu=fpv4-sp-d16")
elseif(RTMEM_ARM_CPU STREQUAL "cortex-m7")
    set(_rtmem_arm_flags "-mcpu=cortex-m7 -mthumb -mfloat-abi=hard -mfpu=fpv5-d16")
else()
    message(FATAL_ERROR "RTMEM_ARM_CPU is '${RTMEM_ARM_CPU}'; it must be cortex-m0plus, "
                        "cortex-m3, cortex-m4f or cortex-m7.")
endif()

set(CMAKE_C_COMPILER arm-none-eabi-gcc)
set(CMAKE_ASM_COMPILER arm-none-eabi-gcc)
set(CMAKE_C_FLAGS_INIT "${_rtmem_arm_flags} -ffunction-sections -fdata-sections")
set(CMAKE_ASM_FLAGS_INIT "${_rtmem_arm_flags}")
set(CMAKE_EXE_LINKER_FLAGS_INIT "-Wl,--gc-sections")

# Compiler checks compile only: linking needs a board's startup code and
# linker script, which the toolchain cannot know.
set(CMAKE_TRY_COMPILE_TARGET_TYPE STATIC_LIBRARY)
# try_compile projects read this file again; they need the same CPU.
list(APPEND CMAKE_TRY_COMPILE_PLATFORM_VARIABLES RTMEM_ARM_CPU)

set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
