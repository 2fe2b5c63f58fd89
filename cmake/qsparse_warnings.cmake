# Warning and sanitizer settings for the project's own targets (tests, examples, benchmarks).
# The library target itself carries no flags: users compile it with theirs.
add_library(qsparse_project_options INTERFACE)
target_compile_options(qsparse_project_options INTERFACE -Wall -Wextra -Wpedantic)
if(QSPARSE_WERROR)
  target_compile_options(qsparse_project_options INTERFACE -Werror)
endif()
if(QSPARSE_SANITIZE)
  target_compile_options(qsparse_project_options INTERFACE
    -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer)
  target_link_options(qsparse_project_options INTERFACE -fsanitize=address,undefined)
endif()

# Warnings engines often build with, beyond -Wall -Wextra: the library's headers must stay clean under them
# (the header check compiles every header, the umbrella included, with them; so do the examples that
# instantiate the entry points). Not applied to the tests, whose own code indexes with int freely.
set(QSPARSE_STRICT_WARNINGS -Wconversion -Wsign-conversion -Wshadow)
