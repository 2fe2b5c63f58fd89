# cmake -DBUILD_TREE=<build dir> -DTARGET=<target> -DSOURCE=<file.cpp> [-DCONFIG=<cfg>] -P check_compile_fail.cmake
# Builds TARGET, which must fail; if SOURCE's first line is `// expect: <text>`, the build output must
# contain <text> too; if its second line is `// errors: <n>`, the output must hold exactly n lines with
# "error:" (a one-sentence diagnostic, not a cascade after it).
cmake_minimum_required(VERSION 3.25)

file(READ ${SOURCE} head LIMIT 2000)
set(expect "")
if(head MATCHES "^// expect: ([^\r\n]*)")
  string(STRIP "${CMAKE_MATCH_1}" expect)
endif()
set(errors "")
if(head MATCHES "^[^\r\n]*\r?\n// errors: ([0-9]+)")
  set(errors "${CMAKE_MATCH_1}")
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
if(NOT errors STREQUAL "")
  string(REGEX MATCHALL "error:" found "${output}")
  list(LENGTH found count)
  if(NOT count EQUAL errors)
    message(NOTICE "${output}")
    message(FATAL_ERROR "${SOURCE}: the compiler reported ${count} errors, but its `// errors:` line says "
                        "${errors}: the diagnostic above is not one sentence.")
  endif()
  message(STATUS "${SOURCE}: ${count} error(s), as its `// errors:` line says")
endif()
