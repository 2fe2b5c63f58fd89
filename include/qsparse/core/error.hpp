// qsparse/core/error.hpp — the one error type and the argument checks every entry point uses.
//
// Entry points validate their arguments once and report a violation as qsparse::error (derived from
// std::invalid_argument) whose message names the function, the argument and the offending value:
//
//   qsparse::quantize: scale must be positive and finite, got scale = -1
//
// With QSPARSE_NO_EXCEPTIONS defined, the same check prints the message to stderr and aborts.
// Inner loops check nothing.
#pragma once

#include <sstream>
#include <stdexcept>
#include <string>
#include <utility>

#ifdef QSPARSE_NO_EXCEPTIONS
#include <cstdio>
#include <cstdlib>
#endif

namespace qsparse {

/// Thrown by every entry point for invalid arguments (shapes, axes, scales, zero points, files).
class error : public std::invalid_argument {
 public:
  explicit error(const std::string& what) : std::invalid_argument(what) {}
};

namespace detail {

template <class... Parts>
std::string concat(Parts&&... parts) {
  std::ostringstream out;
  out.precision(9);  // enough digits to tell two floats apart
  (out << ... << std::forward<Parts>(parts));
  return out.str();
}

[[noreturn]] inline void raise(const std::string& message) {
#ifdef QSPARSE_NO_EXCEPTIONS
  std::fprintf(stderr, "qsparse error: %s\n", message.c_str());
  std::abort();
#else
  throw error(message);
#endif
}

/// check(condition, "qsparse::f: ", "scale must be positive, got scale = ", s) — the message parts
/// are only formatted when the check fails.
template <class... Parts>
inline void check(bool condition, Parts&&... parts) {
  if (!condition) raise(concat(std::forward<Parts>(parts)...));
}

}  // namespace detail
}  // namespace qsparse
