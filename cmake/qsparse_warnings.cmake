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
