// qsparse/dispatch/isa.hpp — the best instruction set this CPU runs, and a ceiling. The tags and levels
// themselves are in qsparse/core/isa.hpp.
//
// best_isa() is the highest level that is both compiled in (x86-64 GCC/Clang) and available on this
// CPU, capped by the process-wide ceiling. The ceiling exists for tests and benchmarks (run every
// path on one machine); it is read from the environment variable QSPARSE_ISA_CEILING
// (scalar|avx2|avx512|avx512_vnni) on first use and can be changed with set_isa_ceiling() or a
// scoped_isa_ceiling. Engines normally never touch it.
#pragma once

#include <atomic>
#include <cstdlib>

#include "qsparse/core/cpu_features.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/isa.hpp"

namespace qsparse {

/// The highest level this CPU (and OS) supports, ignoring any ceiling.
inline isa_level detected_isa() {
  if (!QSPARSE_X86) return isa_level::scalar;
  const cpu_features& f = cpu();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  const bool avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
  if (avx512 && f.avx512_vnni) return isa_level::avx512_vnni;
  if (avx512) return isa_level::avx512;
  if (avx2) return isa_level::avx2;
  return isa_level::scalar;
}

namespace detail {

inline std::atomic<int>& isa_ceiling_storage() {
  static std::atomic<int> ceiling{[] {
    const char* env = std::getenv("QSPARSE_ISA_CEILING");
    if (env == nullptr || *env == '\0') return static_cast<int>(isa_level::avx512_vnni);
    return static_cast<int>(parse_isa_level(env));
  }()};
  return ceiling;
}

}  // namespace detail

/// The current ceiling (the highest level best_isa() may return).
inline isa_level isa_ceiling() {
  return static_cast<isa_level>(detail::isa_ceiling_storage().load(std::memory_order_relaxed));
}

/// Caps best_isa() process-wide. For tests and benchmarks.
inline void set_isa_ceiling(isa_level ceiling) {
  detail::isa_ceiling_storage().store(static_cast<int>(ceiling), std::memory_order_relaxed);
}

/// The level dispatched entry points run: min(detected_isa(), isa_ceiling()).
inline isa_level best_isa() {
  const isa_level detected = detected_isa();
  const isa_level ceiling = isa_ceiling();
  return static_cast<int>(ceiling) < static_cast<int>(detected) ? ceiling : detected;
}

/// True when this CPU can run `level` (ignores the ceiling).
inline bool cpu_supports(isa_level level) {
  return static_cast<int>(level) <= static_cast<int>(detected_isa());
}

/// Sets the ceiling for its lifetime and restores the previous one.
class scoped_isa_ceiling {
 public:
  explicit scoped_isa_ceiling(isa_level ceiling) : previous_(isa_ceiling()) { set_isa_ceiling(ceiling); }
  ~scoped_isa_ceiling() { set_isa_ceiling(previous_); }
  scoped_isa_ceiling(const scoped_isa_ceiling&) = delete;
  scoped_isa_ceiling& operator=(const scoped_isa_ceiling&) = delete;

 private:
  isa_level previous_;
};

}  // namespace qsparse
