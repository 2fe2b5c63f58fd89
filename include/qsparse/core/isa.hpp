// qsparse/core/isa.hpp — instruction-set tags and their names: what a kernel or a packed layout is
// written for. Choosing one at run time (detection, the ceiling, best_isa()) is qsparse/dispatch/isa.hpp.
//
// ISA tags inherit (avx512_vnni : avx512 : avx2 : scalar), so an overload written for a lower ISA is
// picked when no better one exists. `isa_level` is the same ladder as a run-time value.
#pragma once

#include <string>

#include "qsparse/core/error.hpp"

namespace qsparse {
namespace isa {

struct scalar {
  static constexpr const char* name = "scalar";
};
/// AVX2 + FMA + F16C (Haswell and later).
struct avx2 : scalar {
  static constexpr const char* name = "avx2";
};
/// AVX-512 F, BW, VL and DQ (Skylake-SP and later).
struct avx512 : avx2 {
  static constexpr const char* name = "avx512";
};
/// AVX-512 with VNNI (vpdpbusd; Cascade Lake and later).
struct avx512_vnni : avx512 {
  static constexpr const char* name = "avx512_vnni";
};

}  // namespace isa

/// The ISA ladder as a value; higher is better.
enum class isa_level : int { scalar = 0, avx2 = 1, avx512 = 2, avx512_vnni = 3 };

inline const char* to_string(isa_level level) {
  switch (level) {
    case isa_level::scalar: return "scalar";
    case isa_level::avx2: return "avx2";
    case isa_level::avx512: return "avx512";
    case isa_level::avx512_vnni: return "avx512_vnni";
  }
  return "unknown";
}

/// Parses "scalar", "avx2", "avx512" or "avx512_vnni"; throws qsparse::error otherwise.
inline isa_level parse_isa_level(const std::string& text) {
  for (int i = 0; i <= 3; ++i) {
    const auto level = static_cast<isa_level>(i);
    if (text == to_string(level)) return level;
  }
  detail::raise(detail::concat("qsparse::parse_isa_level: unknown ISA \"", text,
                               "\"; expected scalar, avx2, avx512 or avx512_vnni"));
}

}  // namespace qsparse
