# cmake -DROOT=<dir> -P check_links.cmake
#
# Checks the relative links of ROOT/README.md and ROOT/docs/*.md (the layout of the repository and of the
# installed documentation, share/doc/qsparse): every [text](target) whose target is not a URL or a bare
# #anchor must name a file that exists, and must not leave ROOT — a user of the repository, or of the
# installed package, has nothing outside it. Anchors (#section) are not checked.
cmake_minimum_required(VERSION 3.25)

if(NOT ROOT)
  message(FATAL_ERROR "check_links.cmake: ROOT is not set")
endif()
file(REAL_PATH "${ROOT}" root)
file(GLOB pages "${root}/docs/*.md")
if(EXISTS "${root}/README.md")
  list(PREPEND pages "${root}/README.md")
endif()
if(NOT pages)
  message(FATAL_ERROR "check_links.cmake: no README.md or docs/*.md under ${root}")
endif()

set(broken 0)
set(checked 0)
foreach(page IN LISTS pages)
  file(READ "${page}" text)
  get_filename_component(dir "${page}" DIRECTORY)
  # "](" becomes a marker first, so the matches hold no bracket (brackets would confuse CMake's lists).
  string(REPLACE "](" "@@qsparse_link@@" text "${text}")
  string(REGEX MATCHALL "@@qsparse_link@@[^) \t\n]*\\)" links "${text}")
  foreach(link IN LISTS links)
    string(REGEX REPLACE "^@@qsparse_link@@([^)]*)\\)$" "\\1" target "${link}")
    if(target MATCHES "^(https?|mailto):" OR target MATCHES "^#" OR target STREQUAL "")
      continue()
    endif()
    string(REGEX REPLACE "#.*$" "" file_part "${target}")
    cmake_path(ABSOLUTE_PATH file_part BASE_DIRECTORY "${dir}" NORMALIZE OUTPUT_VARIABLE resolved)
    file(RELATIVE_PATH shown "${root}" "${page}")
    math(EXPR checked "${checked} + 1")
    cmake_path(IS_PREFIX root "${resolved}" NORMALIZE inside)
    if(NOT inside)
      message(NOTICE "${shown}: link ${target} leaves ${root}")
      math(EXPR broken "${broken} + 1")
    elseif(NOT EXISTS "${resolved}")
      message(NOTICE "${shown}: link ${target} names no file (${resolved})")
      math(EXPR broken "${broken} + 1")
    endif()
  endforeach()
endforeach()

list(LENGTH pages page_count)
if(broken GREATER 0)
  message(FATAL_ERROR "check_links: ${broken} broken link(s) of ${checked} in ${page_count} pages under ${root}")
endif()
message(STATUS "check_links: ${checked} links in ${page_count} pages under ${root}, all resolve")
