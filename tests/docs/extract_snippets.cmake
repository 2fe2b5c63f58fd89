# cmake -DINPUT=<guide.md> -DOUTPUT=<file.cpp> -P extract_snippets.cmake
#
# Turns every ```cpp block of a Markdown page into one Catch2 TEST_CASE of one generated translation unit,
# so the page's code is compiled and run by the test suite and cannot rot. A block is the body of a
# function: statements and local types, no #include (the unit includes <qsparse/qsparse.hpp> and the
# standard headers below), with CHECK / REQUIRE for what the page claims. Code that is not meant to
# compile takes another fence (```cmake, ```sh, ```text). Each test case is named after the section the
# block sits in and its line, and a #line directive makes compiler errors point into the page.
cmake_minimum_required(VERSION 3.25)

foreach(var INPUT OUTPUT)
  if(NOT ${var})
    message(FATAL_ERROR "extract_snippets.cmake: ${var} is not set")
  endif()
endforeach()

file(READ "${INPUT}" text)
string(REPLACE "\r\n" "\n" text "${text}")
set(open_fence "\n```cpp\n")
set(close_fence "\n```\n")

set(out "// Generated from ${INPUT} by tests/docs/extract_snippets.cmake: do not edit; edit the page.\n")
string(APPEND out "#include <algorithm>\n#include <cmath>\n#include <cstddef>\n#include <cstdint>\n#include <cstring>\n")
string(APPEND out "#include <string>\n#include <vector>\n\n#include <catch2/catch.hpp>\n\n#include <qsparse/qsparse.hpp>\n")

set(page "\n${text}")   # a leading newline lets a block open on the first line
string(LENGTH "${open_fence}" open_length)
set(pos 0)
set(count 0)
while(TRUE)
  string(SUBSTRING "${page}" ${pos} -1 rest)
  string(FIND "${rest}" "${open_fence}" at)
  if(at EQUAL -1)
    break()
  endif()
  math(EXPR body_start "${pos} + ${at} + ${open_length}")
  string(SUBSTRING "${page}" ${body_start} -1 after)
  string(FIND "${after}" "${close_fence}" end)
  if(end EQUAL -1)
    message(FATAL_ERROR "${INPUT}: a ```cpp block is not closed")
  endif()
  string(SUBSTRING "${after}" 0 ${end} body)

  # Everything before the block: its newlines give the page line of the block's first code line (the
  # added leading newline stands for the line that line 1 would otherwise lack), its last heading the name.
  string(SUBSTRING "${page}" 0 ${body_start} before)
  string(REGEX MATCHALL "\n" newlines "${before}")
  list(LENGTH newlines line)
  set(section "top")
  string(REGEX MATCHALL "\n#+ [^\n]*" headings "${before}")
  if(headings)
    list(GET headings -1 heading)
    string(REGEX REPLACE "^\n#+ " "" section "${heading}")
    string(REGEX REPLACE "[\"\\`]" "" section "${section}")
  endif()

  math(EXPR count "${count} + 1")
  string(APPEND out "\nTEST_CASE(\"guide: ${section} (docs/guide.md line ${line})\", \"[docs]\") {\n")
  string(APPEND out "#line ${line} \"${INPUT}\"\n${body}\n")
  # Back to the generated file's own numbering after the block.
  string(REGEX MATCHALL "\n" generated_lines "${out}")
  list(LENGTH generated_lines generated_line)
  math(EXPR generated_line "${generated_line} + 2")
  string(APPEND out "#line ${generated_line} \"${OUTPUT}\"\n}\n")
  math(EXPR pos "${body_start} + ${end} + 1")
endwhile()

if(count EQUAL 0)
  message(FATAL_ERROR "${INPUT}: no ```cpp block found; the guide's snippets would go untested")
endif()
# Write only when the text changed, so an unchanged page does not rebuild the test.
set(old "")
if(EXISTS "${OUTPUT}")
  file(READ "${OUTPUT}" old)
endif()
if(NOT old STREQUAL out)
  file(WRITE "${OUTPUT}" "${out}")
endif()
message(STATUS "extract_snippets: ${count} snippets from ${INPUT}")
