// tests/package/consumer/main.cpp — a program outside the project that uses qsparse as a user does.
// Once the umbrella header exists, it alone must provide everything used here.
#if __has_include("qsparse/qsparse.hpp")
#include "qsparse/qsparse.hpp"
#else
#include "qsparse/core/error.hpp"
#include "qsparse/dispatch/isa.hpp"
#endif

#include <cstdio>

int main() {
  std::printf("qsparse consumer: best_isa() = %s\n", qsparse::to_string(qsparse::best_isa()));
  try {
    qsparse::parse_isa_level("not_an_isa");
  } catch (const qsparse::error& e) {
    std::printf("qsparse consumer: caught qsparse::error: %s\n", e.what());
    return 0;
  }
  std::printf("qsparse consumer: parse_isa_level did not throw\n");
  return 1;
}
