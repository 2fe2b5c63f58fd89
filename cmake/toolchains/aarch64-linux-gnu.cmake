# Cross-compiling qsparse's tests, examples and benchmarks for aarch64 Linux on a Debian x86-64 host, and
# running them under user-mode QEMU (Debian: g++-aarch64-linux-gnu qemu-user; clang for the Clang build).
#
#   cmake -S . -B build/aarch64 -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake
#   cmake -S . -B build/aarch64-clang -DCMAKE_TOOLCHAIN_FILE=cmake/toolchains/aarch64-linux-gnu.cmake \
#         -DQSPARSE_CROSS_COMPILER=clang
#   ctest --test-dir build/aarch64                       # every test under qemu-aarch64 (CPU model "max":
#   QEMU_CPU=cortex-a53 ctest --test-dir build/aarch64   # dot product and i8mm), or a core without them
#
# CTest runs each test binary through CMAKE_CROSSCOMPILING_EMULATOR; qemu-aarch64 reads the CPU model from
# QEMU_CPU (default "max"). The library itself needs nothing from here: no -march, so the kernels are chosen
# at run time exactly as on a native build.
#
# Header-only test dependencies (Catch2, Eigen) are arch-independent, but their CMake packages point at
# /usr/include, which must never be on an aarch64 include path (it holds the host's C library headers).
# So they are re-rooted: <build>/qsparse-cross-root/usr holds their package files (symlinks) and only
# their own header folders, and find_package looks there and in the aarch64 sysroot, nowhere else.
# Libraries with code need aarch64 builds, which Debian's cross toolchain does not ship; Debian's multiarch
# does (as root: dpkg --add-architecture arm64 && apt-get update && apt-get install libbenchmark-dev:arm64
# zlib1g-dev:arm64; scripts/run_tests.sh does this for its aarch64 configuration). Installed, Google
# Benchmark and zlib are re-rooted the same way (their libraries from /usr/lib/aarch64-linux-gnu, their
# headers alone), nlohmann_json (header-only) too; missing, what needs them is skipped, as on any machine
# without them. oneDNN and XNNPACK (benchmark peers) are not looked for in aarch64 builds' multiarch dirs.
set(CMAKE_SYSTEM_NAME Linux)
set(CMAKE_SYSTEM_PROCESSOR aarch64)

set(qsparse_cross_triple aarch64-linux-gnu)
set(qsparse_cross_sysroot /usr/${qsparse_cross_triple})

set(QSPARSE_CROSS_COMPILER gcc CACHE STRING "gcc (${qsparse_cross_triple}-g++) or clang (clang++ --target)")
if(QSPARSE_CROSS_COMPILER STREQUAL "clang")
  set(CMAKE_CXX_COMPILER clang++)
  set(CMAKE_CXX_COMPILER_TARGET ${qsparse_cross_triple})
  # Debian's cross headers and libraries are under /usr/<triple>/{include,lib}, not <sysroot>/usr. With
  # --sysroot=/usr/<triple> Clang compiles, but linking fails: the libc.so linker script names
  # /usr/<triple>/lib/libc.so.6, and ld re-roots an absolute path of a script inside the sysroot
  # (/usr/<triple>/usr/<triple>/...). Without a sysroot Clang finds Debian's cross GCC and links, but puts the
  # host's /usr/include on the include path. So the sysroot is a folder of symlinks in the build tree whose
  # lib, usr/lib and usr/include are Debian's cross folders and whose usr/<triple> is /usr/<triple> itself,
  # where the linker script's re-rooted paths land. (CMAKE_SYSROOT would also re-root every find_* call.)
  set(qsparse_clang_sysroot ${CMAKE_BINARY_DIR}/qsparse-cross-root/clang-sysroot)
  foreach(link "lib=lib" "usr/lib=lib" "usr/include=include" "usr/${qsparse_cross_triple}=")
    string(REPLACE "=" ";" link "${link}")
    list(GET link 0 link_name)
    list(LENGTH link parts)
    set(link_target ${qsparse_cross_sysroot})
    if(parts GREATER 1)
      list(GET link 1 link_sub)
      if(link_sub)
        set(link_target ${qsparse_cross_sysroot}/${link_sub})
      endif()
    endif()
    if(NOT EXISTS ${qsparse_clang_sysroot}/${link_name})
      get_filename_component(link_parent ${qsparse_clang_sysroot}/${link_name} DIRECTORY)
      file(MAKE_DIRECTORY ${link_parent})
      file(CREATE_LINK ${link_target} ${qsparse_clang_sysroot}/${link_name} SYMBOLIC)
    endif()
  endforeach()
  set(CMAKE_CXX_FLAGS_INIT "--sysroot=${qsparse_clang_sysroot}")
  # CMake learns the multiarch folder name (lib/<triple>, where Debian's arm64 Google Benchmark and zlib and
  # their package files are) from the compiler's implicit link directories; GCC's name it, Clang's under
  # this sysroot do not, so find_package would not look in lib/<triple>/cmake.
  set(CMAKE_LIBRARY_ARCHITECTURE ${qsparse_cross_triple})
else()
  set(CMAKE_CXX_COMPILER ${qsparse_cross_triple}-g++)
endif()

# The C library a program loads must be the one of its loader (/lib/ld-linux-aarch64.so.1 under -L, the
# cross toolchain's). With Debian's arm64 libc6 installed too (multiarch, pulled in by libbenchmark-dev:arm64)
# the host's /etc/ld.so.cache lists /lib/aarch64-linux-gnu, and the cross loader would take libc.so.6 from
# there, a different build of glibc: the first program that starts a thread then hangs. LD_LIBRARY_PATH, set
# for the guest (-E), puts the cross toolchain's libraries first; the multiarch-only ones (Google Benchmark,
# zlib) are still found through the cache and the binaries' run path.
# In the cache, so scripts read it too (scripts/run_tests.sh runs the benchmarks through it).
set(CMAKE_CROSSCOMPILING_EMULATOR qemu-aarch64 -L ${qsparse_cross_sysroot}
    -E LD_LIBRARY_PATH=${qsparse_cross_sysroot}/lib CACHE STRING
    "How this host runs aarch64 programs: tests, benchmarks (qemu-aarch64 reads the CPU model from QEMU_CPU)")

# The re-rooted header-only packages (see above). Catch2's own package also declares Catch2WithMain, a
# host library, so it gets a config of its own with the header-only target alone (the tests bring their
# own main); its version file is Debian's.
set(qsparse_cross_root ${CMAKE_BINARY_DIR}/qsparse-cross-root)
macro(qsparse_cross_link from to)
  if(EXISTS ${from} AND NOT EXISTS ${to})
    get_filename_component(qsparse_cross_parent ${to} DIRECTORY)
    file(MAKE_DIRECTORY ${qsparse_cross_parent})
    file(CREATE_LINK ${from} ${to} SYMBOLIC)
  endif()
endmacro()
file(GLOB qsparse_cross_eigen_files /usr/share/eigen3/cmake/*.cmake)
foreach(file ${qsparse_cross_eigen_files})
  get_filename_component(name ${file} NAME)
  qsparse_cross_link(${file} ${qsparse_cross_root}/usr/share/eigen3/cmake/${name})
endforeach()
if(EXISTS /usr/lib/cmake/Catch2/Catch2ConfigVersion.cmake)
  qsparse_cross_link(/usr/lib/cmake/Catch2/Catch2ConfigVersion.cmake
                     ${qsparse_cross_root}/usr/lib/cmake/Catch2/Catch2ConfigVersion.cmake)
  file(WRITE ${qsparse_cross_root}/usr/lib/cmake/Catch2/Catch2Config.cmake
"if(NOT TARGET Catch2::Catch2)
  add_library(Catch2::Catch2 INTERFACE IMPORTED)
  set_target_properties(Catch2::Catch2 PROPERTIES INTERFACE_INCLUDE_DIRECTORIES \"${qsparse_cross_root}/usr/include\")
endif()
")
endif()
# gemmlowp (the fixed-point oracle, header-only) too: Debian's cross GCC also searches /usr/include after its
# own folders and finds it there, Clang under its sysroot does not.
foreach(header_dir catch2 eigen3 nlohmann gemmlowp)
  qsparse_cross_link(/usr/include/${header_dir} ${qsparse_cross_root}/usr/include/${header_dir})
endforeach()
file(GLOB qsparse_cross_json_files /usr/share/cmake/nlohmann_json/*.cmake)
foreach(file ${qsparse_cross_json_files})
  get_filename_component(name ${file} NAME)
  qsparse_cross_link(${file} ${qsparse_cross_root}/usr/share/cmake/nlohmann_json/${name})
endforeach()

# Multiarch (arm64) libraries: Google Benchmark and zlib, each only when its aarch64 library is installed.
# Their headers are linked one by one; the libraries, file by file. Benchmark's package files are copied,
# not linked: its targets file keeps its install prefix (/usr, whose include/ is the host's) when its
# real path is the installed one, and computes the prefix from where it lies otherwise.
set(qsparse_multiarch /usr/lib/${qsparse_cross_triple})
if(EXISTS ${qsparse_multiarch}/libbenchmark.so AND EXISTS /usr/include/benchmark/benchmark.h)
  file(GLOB qsparse_cross_files ${qsparse_multiarch}/libbenchmark*)
  foreach(file ${qsparse_cross_files})
    get_filename_component(name ${file} NAME)
    qsparse_cross_link(${file} ${qsparse_cross_root}/usr/lib/${qsparse_cross_triple}/${name})
  endforeach()
  qsparse_cross_link(/usr/include/benchmark ${qsparse_cross_root}/usr/include/benchmark)
  if(NOT EXISTS ${qsparse_cross_root}/usr/lib/${qsparse_cross_triple}/cmake/benchmark)
    file(COPY ${qsparse_multiarch}/cmake/benchmark DESTINATION ${qsparse_cross_root}/usr/lib/${qsparse_cross_triple}/cmake)
  endif()
endif()
if(EXISTS ${qsparse_multiarch}/libz.so AND EXISTS /usr/include/zlib.h)
  file(GLOB qsparse_cross_files ${qsparse_multiarch}/libz.*)
  foreach(file ${qsparse_cross_files})
    get_filename_component(name ${file} NAME)
    qsparse_cross_link(${file} ${qsparse_cross_root}/usr/lib/${qsparse_cross_triple}/${name})
  endforeach()
  foreach(header zlib.h zconf.h)
    qsparse_cross_link(/usr/include/${header} ${qsparse_cross_root}/usr/include/${header})
  endforeach()
endif()

# QSPARSE_CROSS_FIND_ROOT: more roots, e.g. the prefix an aarch64 build of qsparse was installed into, for a
# project that uses it through find_package (the package test, tests/package/consumer_test.cmake).
set(QSPARSE_CROSS_FIND_ROOT "" CACHE STRING "More roots for find_package and the other find_* calls")
set(CMAKE_FIND_ROOT_PATH ${qsparse_cross_sysroot} ${qsparse_cross_root} ${QSPARSE_CROSS_FIND_ROOT})
set(CMAKE_FIND_ROOT_PATH_MODE_PROGRAM NEVER)
set(CMAKE_FIND_ROOT_PATH_MODE_LIBRARY ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_INCLUDE ONLY)
set(CMAKE_FIND_ROOT_PATH_MODE_PACKAGE ONLY)
