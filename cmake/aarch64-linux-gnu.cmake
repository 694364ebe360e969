# Cross-compiling for 64-bit ARM Linux with Debian's cross compiler
# (apt-get install g++-aarch64-linux-gnu qemu-user):
#
#   cmake -S . -B build/aarch64 -DCONVENGINE_PYTHON=OFF \
#         -DCMAKE_TOOLCHAIN_FILE=cmake/aarch64-linux-gnu.cmake
#   cmake --build build/aarch64 -j2 && ctest --test-dir build/aarch64
#
# ctest runs the test programs under qemu-aarch64 (user-mode emulation, with the cross
# compiler's sysroot for the loader and libraries) when it is installed; QEMU_CPU picks the
# emulated core (e.g. cortex-a72, max). Emulation checks correctness only: never time under it.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(CE_CROSS_PREFIX aarch64-linux-gnu- CACHE STRING "cross tool prefix")
set(CMAKE_C_COMPILER ${CE_CROSS_PREFIX}gcc)
set(CMAKE_CXX_COMPILER ${CE_CROSS_PREFIX}g++)

set(CE_CROSS_SYSROOT /usr/aarch64-linux-gnu CACHE PATH "the target's libraries (for qemu -L)")
set(CMAKE_FIND_ROOT_PATH ${CE_CROSS_SYSROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)

find_program(CE_QEMU_AARCH64 qemu-aarch64)
if(CE_QEMU_AARCH64)
  set(CMAKE_CROSSCOMPILING_EMULATOR ${CE_QEMU_AARCH64} -L ${CE_CROSS_SYSROOT})
endif()
