// examples/demo/cli.hpp — the command-line reading the demo's programs share (qsparse_demo,
// qsparse_demo_layers): integer values checked against their range, and a walk over the arguments.
#pragma once

#include <cstdio>
#include <cstdlib>
#include <stdexcept>
#include <string>

namespace demo {

/// The integer in [lo, hi] that `v` spells entirely; else std::invalid_argument naming `flag`, the range and `v`.
inline int parse_int(const std::string& flag, const char* v, int lo, int hi) {
  char* end = nullptr;
  const long x = std::strtol(v, &end, 10);
  if (end == v || *end != '\0' || x < lo || x > hi)
    throw std::invalid_argument(flag + " needs an integer in [" + std::to_string(lo) + ", " + std::to_string(hi) + "], got \"" + v + "\"");
  return static_cast<int>(x);
}

/// A program's arguments, one at a time: next() gives each in turn (after printing `usage` and exiting 0 on
/// --help or -h), value() the one after a flag.
class arguments {
 public:
  arguments(int argc, char** argv, const char* usage) : argc_(argc), argv_(argv), usage_(usage) {}

  /// The next argument into `a`; false after the last.
  bool next(std::string& a) {
    if (++i_ >= argc_) return false;
    a = argv_[i_];
    if (a == "--help" || a == "-h") {
      std::fputs(usage_, stdout);
      std::exit(0);
    }
    return true;
  }

  /// The value of flag `flag` (the argument after it); std::invalid_argument when there is none.
  const char* value(const std::string& flag) {
    if (i_ + 1 >= argc_) throw std::invalid_argument(flag + " needs a value");
    return argv_[++i_];
  }

 private:
  int argc_;
  char** argv_;
  const char* usage_;
  int i_ = 0;
};

}  // namespace demo
