// qsparse/dispatch/isa.hpp — which instruction sets this CPU runs, the best one, and a ceiling. The ISAs
// themselves (tags, isa_level, architectures) are in qsparse/core/isa.hpp.
//
//   detected_isas()   the set this CPU (and OS) runs: scalar plus the ISAs of the native architecture
//   best_isa()        the highest of them on the native architecture's ladder, capped by the ceiling
//   isa_ceiling()     the cap: QSPARSE_ISA_CEILING (an ISA of this architecture, or scalar) read on first
//                     use, or set_isa_ceiling() / scoped_isa_ceiling. For tests and benchmarks, which run
//                     every path on one machine; engines normally never touch it.
//
// A ceiling of another architecture (avx2 on aarch64) or an unknown name is a qsparse::error, raised by
// every call that needs the ceiling for as long as the environment variable stays wrong.
#pragma once

#include <atomic>
#include <cstdint>
#include <cstdlib>
#include <string>
#include <vector>

#include "qsparse/core/cpu_features.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/isa.hpp"

namespace qsparse {

/// A set of isa_level values.
class isa_set {
 public:
  constexpr isa_set() = default;
  constexpr void insert(isa_level level) noexcept { bits_ |= bit(level); }
  constexpr bool contains(isa_level level) const noexcept { return (bits_ & bit(level)) != 0; }
  constexpr bool operator==(const isa_set& other) const noexcept { return bits_ == other.bits_; }
  constexpr bool operator!=(const isa_set& other) const noexcept { return bits_ != other.bits_; }

  /// The preferred member of `arch` (its last one in all_isa_levels; scalar when it holds none of arch's ISAs).
  constexpr isa_level best(architecture arch) const noexcept {
    isa_level found = isa_level::scalar;
    for (isa_level level : all_isa_levels) {
      if (contains(level) && architecture_of(level) == arch) found = level;
    }
    return found;
  }

 private:
  static constexpr std::uint64_t bit(isa_level level) noexcept {
    return std::uint64_t{1} << (static_cast<std::uint8_t>(level) & 63u);
  }
  std::uint64_t bits_ = 0;
};

/// The ISAs this CPU (and OS) runs: always scalar, plus those of the architecture qsparse is compiled for.
inline isa_set detected_isas() {
  isa_set set;
  set.insert(isa_level::scalar);
#if QSPARSE_X86
  const cpu_features& f = cpu();
  const bool avx2 = f.avx2 && f.fma && f.f16c;
  const bool avx512 = avx2 && f.avx512f && f.avx512bw && f.avx512vl && f.avx512dq;
  if (avx2) set.insert(isa_level::avx2);
  if (avx512) set.insert(isa_level::avx512);
  if (avx512 && f.avx512_vnni) set.insert(isa_level::avx512_vnni);
  if (avx512 && f.avx512_vnni && f.amx_tile && f.amx_int8) set.insert(isa_level::amx_int8);
  // The 256-bit VNNI rung: VEX AVX-VNNI, or the EVEX form of AVX-512 VNNI (core/isa.hpp).
  if (avx2 && (f.avx_vnni || (avx512 && f.avx512_vnni))) set.insert(isa_level::avx_vnni);
#elif QSPARSE_AARCH64
  const cpu_features& f = cpu();
  const bool neon = f.asimd;
  const bool dotprod = neon && f.asimd_dotprod;
  if (neon) set.insert(isa_level::neon);
  if (dotprod) set.insert(isa_level::neon_dotprod);
  if (dotprod && f.i8mm) set.insert(isa_level::neon_i8mm);
#endif
  return set;
}

/// The highest ISA this CPU runs, ignoring any ceiling.
inline isa_level detected_isa() { return detected_isas().best(native_architecture); }

/// True when this CPU can run `level` (ignores the ceiling).
inline bool cpu_supports(isa_level level) { return detected_isas().contains(level); }

/// Every ISA this CPU runs, lowest first (all_isa_levels' order): scalar, then the native architecture's
/// ISAs up to detected_isa() (ignores the ceiling). Tests and benchmarks iterate it to exercise every path.
inline std::vector<isa_level> supported_isas() {
  std::vector<isa_level> levels;
  for (isa_level level : all_isa_levels) {
    if (cpu_supports(level)) levels.push_back(level);
  }
  return levels;
}

namespace detail {

/// Checks that `level` can cap this architecture: scalar or one of its ISAs.
inline isa_level checked_ceiling(isa_level level, const char* source) {
  check(level == isa_level::scalar || architecture_of(level) == native_architecture, source, ": ",
        to_string(level), " is an ISA of ", to_string(architecture_of(level)), ", but qsparse runs on ",
        to_string(native_architecture), " here; expected one of ", isa_names(native_architecture));
  return level;
}

/// The highest ISA of `arch` qsparse knows (scalar for portable): it runs every ISA of arch.
constexpr isa_level top_isa(architecture arch) noexcept {
  isa_level top = isa_level::scalar;
  for (isa_level level : all_isa_levels) {
    if (architecture_of(level) == arch) top = level;
  }
  return top;
}

/// QSPARSE_ISA_CEILING, or the top of this architecture's ladder (no cap) when it is unset or empty.
inline isa_level ceiling_from_environment() {
  const char* env = std::getenv("QSPARSE_ISA_CEILING");
  if (env == nullptr || *env == '\0') return top_isa(native_architecture);
  const std::string text = env;
  for (isa_level level : all_isa_levels) {
    if (text == to_string(level)) return checked_ceiling(level, "QSPARSE_ISA_CEILING");
  }
  raise(concat("QSPARSE_ISA_CEILING: unknown ISA \"", text, "\"; expected one of ", isa_names(native_architecture)));
}

/// The value of the ceiling's storage that means "not read from the environment yet".
inline constexpr std::uint8_t ceiling_unread = 0xFE;

inline std::atomic<std::uint8_t>& isa_ceiling_storage() {
  static std::atomic<std::uint8_t> ceiling{ceiling_unread};
  return ceiling;
}

}  // namespace detail

/// The current ceiling: the highest level best_isa() may return. Read from QSPARSE_ISA_CEILING on first
/// use; a bad value throws here, and again at the next use, until the variable or set_isa_ceiling fixes it.
inline isa_level isa_ceiling() {
  std::atomic<std::uint8_t>& storage = detail::isa_ceiling_storage();
  std::uint8_t value = storage.load(std::memory_order_relaxed);
  if (value == detail::ceiling_unread) {
    const auto parsed = static_cast<std::uint8_t>(detail::ceiling_from_environment());
    // Another thread (or set_isa_ceiling) may have stored a ceiling meanwhile: theirs wins.
    if (storage.compare_exchange_strong(value, parsed, std::memory_order_relaxed)) value = parsed;
  }
  return static_cast<isa_level>(value);
}

/// Caps best_isa() process-wide (scalar or an ISA of this architecture). For tests and benchmarks.
inline void set_isa_ceiling(isa_level ceiling) {
  detail::checked_ceiling(ceiling, "qsparse::set_isa_ceiling");
  detail::isa_ceiling_storage().store(static_cast<std::uint8_t>(ceiling), std::memory_order_relaxed);
}

/// The ISA dispatched entry points run: the preferred one this CPU runs that the ceiling runs
/// (isa_runs(ceiling, level)). A ceiling of avx2 thus also excludes the side rung avx_vnni, and one of
/// avx512 excludes it too (Skylake-SP has no VNNI).
inline isa_level best_isa() {
  const isa_set detected = detected_isas();
  const isa_level ceiling = isa_ceiling();
  isa_level best = isa_level::scalar;
  for (isa_level level : all_isa_levels) {
    if (detected.contains(level) && architecture_of(level) == native_architecture && isa_runs(ceiling, level))
      best = level;
  }
  return best;
}

/// Sets the ceiling for its lifetime and restores the previous one.
class scoped_isa_ceiling {
 public:
  explicit scoped_isa_ceiling(isa_level ceiling)
      : previous_(detail::isa_ceiling_storage().load(std::memory_order_relaxed)) {
    set_isa_ceiling(ceiling);
  }
  ~scoped_isa_ceiling() { detail::isa_ceiling_storage().store(previous_, std::memory_order_relaxed); }
  scoped_isa_ceiling(const scoped_isa_ceiling&) = delete;
  scoped_isa_ceiling& operator=(const scoped_isa_ceiling&) = delete;

 private:
  std::uint8_t previous_;  // the raw storage, so "not read yet" is restored as such
};

}  // namespace qsparse
