# cmake -DMODE=find_package|add_subdirectory -DCONSUMER_DIR=... -DWORK_DIR=... -DGENERATOR=...
#       -DCXX_COMPILER=... [-DBUILD_TREE=... | -DSOURCE_TREE=...] [-DCONFIG=...] ... -P consumer_test.cmake
# find_package:     cmake --install BUILD_TREE --prefix WORK_DIR/prefix, check the links of the installed
#                   documentation (when LINK_CHECK and DOC_DIR are given), then build consumer/ against it.
# add_subdirectory: build consumer/ with add_subdirectory(SOURCE_TREE).
# Then run the consumer (through its own one-test CTest). Every step is echoed; the first failure stops.
# With -DTOOLCHAIN_FILE=... [-DCROSS_COMPILER=...] the consumer is cross-compiled with that toolchain and its
# CTest runs it through the toolchain's emulator; find_package then searches the install prefix as one of
# the toolchain's find roots (QSPARSE_CROSS_FIND_ROOT), like a staging sysroot.
cmake_minimum_required(VERSION 3.25)

foreach(var MODE CONSUMER_DIR WORK_DIR GENERATOR CXX_COMPILER)
  if(NOT ${var})
    message(FATAL_ERROR "consumer_test.cmake: ${var} is not set")
  endif()
endforeach()

function(step)
  execute_process(COMMAND ${ARGN} COMMAND_ECHO STDOUT RESULT_VARIABLE result)
  if(NOT result EQUAL 0)
    list(JOIN ARGN " " command)
    message(FATAL_ERROR "package test (${MODE}) failed at: ${command}\n(exit: ${result})")
  endif()
endfunction()

file(REMOVE_RECURSE ${WORK_DIR})
set(build_dir ${WORK_DIR}/build)
set(configure -S ${CONSUMER_DIR} -B ${build_dir} -G ${GENERATOR}
    -DCMAKE_CXX_COMPILER=${CXX_COMPILER}
    -DCMAKE_FIND_USE_PACKAGE_REGISTRY=OFF
    -DCMAKE_FIND_USE_SYSTEM_PACKAGE_REGISTRY=OFF
    -DQSPARSE_CONSUMER_WERROR=${WERROR})
if(TOOLCHAIN_FILE)
  list(APPEND configure -DCMAKE_TOOLCHAIN_FILE=${TOOLCHAIN_FILE})
  if(CROSS_COMPILER)
    list(APPEND configure -DQSPARSE_CROSS_COMPILER=${CROSS_COMPILER})
  endif()
endif()
if(MAKE_PROGRAM)
  list(APPEND configure -DCMAKE_MAKE_PROGRAM=${MAKE_PROGRAM})
endif()
if(CXX_FLAGS)
  list(APPEND configure "-DCMAKE_CXX_FLAGS=${CXX_FLAGS}")
endif()
if(CXX_STANDARD)
  list(APPEND configure -DCMAKE_CXX_STANDARD=${CXX_STANDARD})
endif()
if(NOT CXX_EXTENSIONS STREQUAL "")
  list(APPEND configure -DCMAKE_CXX_EXTENSIONS=${CXX_EXTENSIONS})
endif()
set(config_args "")
if(CONFIG)
  list(APPEND configure -DCMAKE_BUILD_TYPE=${CONFIG})
  set(config_args --config ${CONFIG})
endif()

if(MODE STREQUAL "find_package")
  if(NOT BUILD_TREE)
    message(FATAL_ERROR "consumer_test.cmake: BUILD_TREE is not set")
  endif()
  set(prefix ${WORK_DIR}/prefix)
  step(${CMAKE_COMMAND} --install ${BUILD_TREE} --prefix ${prefix} ${config_args})
  if(LINK_CHECK AND DOC_DIR)
    # The installed README and docs/ keep working links (docs/ is installed beside the README).
    set(doc_dir ${DOC_DIR})
    if(NOT IS_ABSOLUTE "${doc_dir}")
      set(doc_dir ${prefix}/${doc_dir})
    endif()
    step(${CMAKE_COMMAND} -DROOT=${doc_dir} -P ${LINK_CHECK})
  endif()
  list(APPEND configure -DCMAKE_PREFIX_PATH=${prefix} -DQSPARSE_EXPECTED_PREFIX=${prefix})
  if(TOOLCHAIN_FILE)
    list(APPEND configure -DQSPARSE_CROSS_FIND_ROOT=${prefix})
  endif()
elseif(MODE STREQUAL "add_subdirectory")
  if(NOT SOURCE_TREE)
    message(FATAL_ERROR "consumer_test.cmake: SOURCE_TREE is not set")
  endif()
  list(APPEND configure -DQSPARSE_SOURCE_DIR=${SOURCE_TREE})
else()
  message(FATAL_ERROR "consumer_test.cmake: MODE must be find_package or add_subdirectory, got '${MODE}'")
endif()

step(${CMAKE_COMMAND} ${configure})
step(${CMAKE_COMMAND} --build ${build_dir} ${config_args})
set(ctest_config "")
if(CONFIG)
  set(ctest_config -C ${CONFIG})
endif()
step(${CMAKE_CTEST_COMMAND} --test-dir ${build_dir} ${ctest_config} --output-on-failure -V)
