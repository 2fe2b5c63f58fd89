# cmake -DBUILD_TREE=<build dir> -DTARGET=<target> -DSOURCE=<file.cpp> [-DCONFIG=<cfg>] -P check_compile_fail.cmake
# Builds TARGET, which must fail; if SOURCE's first line is `// expect: <text>`, the build output must
# contain <text> too.
cmake_minimum_required(VERSION 3.25)

file(READ ${SOURCE} head LIMIT 2000)
set(expect "")
if(head MATCHES "^// expect: ([^\r\n]*)")
  string(STRIP "${CMAKE_MATCH_1}" expect)
endif()

set(config_args "")
if(CONFIG)
  set(config_args --config ${CONFIG})
endif()
execute_process(COMMAND ${CMAKE_COMMAND} --build ${BUILD_TREE} --target ${TARGET} ${config_args}
  RESULT_VARIABLE result OUTPUT_VARIABLE output ERROR_VARIABLE output)

if(result EQUAL 0)
  message(NOTICE "${output}")
  message(FATAL_ERROR "${SOURCE} compiled, but it must not.")
endif()
if(NOT expect STREQUAL "")
  string(FIND "${output}" "${expect}" at)
  if(at EQUAL -1)
    message(NOTICE "${output}")
    message(FATAL_ERROR "${SOURCE} failed to compile, but the compiler's output above lacks the "
                        "expected text \"${expect}\" (from its `// expect:` line).")
  endif()
  message(STATUS "${SOURCE} fails to compile, with \"${expect}\" as expected")
else()
  message(STATUS "${SOURCE} fails to compile, as expected (no `// expect:` line, so the reason is not checked)")
endif()
