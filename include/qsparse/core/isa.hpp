// qsparse/core/isa.hpp — instruction sets, grouped by architecture: what a kernel or a packed layout is
// written for. Choosing one at run time (the detected set, the ceiling, best_isa()) is
// qsparse/dispatch/isa.hpp.
//
//   architecture   its ISAs, lowest first (each one runs the code of those before it)
//   (any)          scalar                                  portable C++, the definition of every result
//   x86_64         avx2 < avx512 < avx512_vnni < amx_int8  AVX2+FMA+F16C; AVX-512 F/BW/VL/DQ; + VNNI;
//                                                          + AMX-TILE and AMX-INT8 (Sapphire Rapids)
//                  avx2 < avx_vnni < avx512_vnni           a side rung: AVX2 + 256-bit VNNI dot products
//   aarch64        neon < neon_dotprod < neon_i8mm         AdvSIMD; + SDOT/UDOT; + SMMLA/UMMLA
//
// Two forms of the same thing:
//   * tags (isa::avx2, ...) for compile time: they inherit along their architecture's ladder
//     (amx_int8 : avx512_vnni : avx512 : avx2 : scalar), so an overload written for a lower ISA is picked when no
//     better one exists, and each names its architecture and its isa_level;
//   * isa_level, a run-time value. Its numbers are stored in packed-weight headers and never change:
//     scalar is 0, x86-64 has 0x01-0x0F, aarch64 0x11-0x1F, and the low four bits are the rank on the
//     architecture's ladder. Order only means something within one architecture: ask
//     isa_runs(outer, inner), never compare two levels with < or >=.
//
// The x86-64 side rung avx_vnni (0x04; its number is not a rank) is AVX2 plus the 256-bit int8 dot
// product vpdpbusd: VEX-encoded AVX-VNNI on Intel client chips since Alder Lake and on AMD Zen 5, and the
// EVEX form every AVX-512 VNNI CPU has (AVX512_VNNI + VL). So avx512_vnni (and amx_int8) runs it, avx2 runs below it, and
// avx512 (Skylake-SP: no VNNI at all) and avx_vnni run neither one the other: the x86-64 levels are
// ordered partially, avx2 < avx_vnni < avx512_vnni beside avx2 < avx512 < avx512_vnni. A kernel on this
// rung that is written with the VEX encoding (vpdpbusd ymm, _mm256_dpbusd_avx_epi32) also needs the
// AVX-VNNI CPUID bit, which AVX-512 VNNI CPUs before Sapphire Rapids and Zen 5 lack: it says so with
// cpu_has_extensions() (kernels/registry.hpp), and such CPUs run the avx2 kernel at this rung.
// all_isa_levels lists the levels in order of preference (avx_vnni after avx2, before avx512): the best
// ISA of a set is its last member in that order.
#pragma once

#include <cstdint>
#include <string>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/error.hpp"

namespace qsparse {

/// The architectures qsparse has kernels for. `portable` is the scalar code every architecture runs.
enum class architecture : std::uint8_t { portable = 0, x86_64 = 1, aarch64 = 2 };

/// An instruction set as a run-time value (the numbers are a stored format; see the top of this header).
enum class isa_level : std::uint8_t {
  scalar = 0,
  avx2 = 0x01,
  avx512 = 0x02,
  avx512_vnni = 0x03,
  avx_vnni = 0x04,  // a side rung, not rank 4: see the top of this header
  amx_int8 = 0x05,  // rank 5: AMX tiles on top of avx512_vnni (a CPU with AMX-INT8 has AVX-512 VNNI)
  neon = 0x11,
  neon_dotprod = 0x12,
  neon_i8mm = 0x13,
};

/// Every isa_level, grouped by architecture, in order of preference (lowest first) within each.
inline constexpr isa_level all_isa_levels[] = {isa_level::scalar,      isa_level::avx2,         isa_level::avx_vnni,
                                               isa_level::avx512,      isa_level::avx512_vnni,  isa_level::amx_int8,
                                               isa_level::neon,        isa_level::neon_dotprod, isa_level::neon_i8mm};

/// The architecture this translation unit is compiled for (portable when qsparse has no SIMD kernels for it).
#if QSPARSE_X86
inline constexpr architecture native_architecture = architecture::x86_64;
#elif QSPARSE_AARCH64
inline constexpr architecture native_architecture = architecture::aarch64;
#else
inline constexpr architecture native_architecture = architecture::portable;
#endif

constexpr architecture architecture_of(isa_level level) noexcept {
  if (level == isa_level::scalar) return architecture::portable;
  return static_cast<architecture>((static_cast<std::uint8_t>(level) >> 4) + 1);
}

/// The position of `level` on its architecture's main ladder (scalar is 0; for the side rung avx_vnni,
/// which is on no such ladder, its stored number 4: below amx_int8's 5, which runs it).
constexpr int rank_of(isa_level level) noexcept { return static_cast<std::uint8_t>(level) & 0xF; }

/// The position of `level` in all_isa_levels: its order of preference (higher is preferred).
constexpr int preference_of(isa_level level) noexcept {
  int index = 0;
  for (isa_level l : all_isa_levels) {
    if (l == level) return index;
    ++index;
  }
  return -1;
}

/// True when a CPU that runs `outer` also runs code written for `inner`: inner is scalar, or both are of
/// one architecture and inner is not above outer on its ladder (for the side rung avx_vnni: it runs avx2
/// and itself, and only avx512_vnni and amx_int8 run it; see the top of this header).
constexpr bool isa_runs(isa_level outer, isa_level inner) noexcept {
  if (inner == isa_level::scalar) return true;
  if (architecture_of(inner) != architecture_of(outer)) return false;
  if (inner == isa_level::avx_vnni)
    return outer == isa_level::avx_vnni || outer == isa_level::avx512_vnni || outer == isa_level::amx_int8;
  if (outer == isa_level::avx_vnni) return inner == isa_level::avx2;
  return rank_of(inner) <= rank_of(outer);
}

/// True when `value` (e.g. read from a file) is one of the isa_level enumerators.
constexpr bool is_known_isa(std::uint8_t value) noexcept {
  for (isa_level level : all_isa_levels) {
    if (static_cast<std::uint8_t>(level) == value) return true;
  }
  return false;
}

inline const char* to_string(architecture arch) {
  switch (arch) {
    case architecture::portable: return "portable";
    case architecture::x86_64: return "x86-64";
    case architecture::aarch64: return "aarch64";
  }
  return "unknown";
}

inline const char* to_string(isa_level level) {
  switch (level) {
    case isa_level::scalar: return "scalar";
    case isa_level::avx2: return "avx2";
    case isa_level::avx512: return "avx512";
    case isa_level::avx512_vnni: return "avx512_vnni";
    case isa_level::avx_vnni: return "avx_vnni";
    case isa_level::amx_int8: return "amx_int8";
    case isa_level::neon: return "neon";
    case isa_level::neon_dotprod: return "neon_dotprod";
    case isa_level::neon_i8mm: return "neon_i8mm";
  }
  return "unknown";
}

/// "scalar, avx2, avx_vnni, avx512, avx512_vnni, amx_int8": scalar and the ISAs of `arch`, lowest first.
inline std::string isa_names(architecture arch) {
  std::string names = "scalar";
  for (isa_level level : all_isa_levels) {
    if (level != isa_level::scalar && architecture_of(level) == arch) names += std::string(", ") + to_string(level);
  }
  return names;
}

/// Parses the name of any ISA of any architecture; throws qsparse::error otherwise.
inline isa_level parse_isa_level(const std::string& text) {
  for (isa_level level : all_isa_levels) {
    if (text == to_string(level)) return level;
  }
  std::string all;
  for (isa_level level : all_isa_levels) all += std::string(all.empty() ? "" : ", ") + to_string(level);
  detail::raise(detail::concat("qsparse::parse_isa_level: unknown ISA \"", text, "\"; expected one of ", all));
}

namespace isa {

/// Portable C++: every architecture runs it.
struct scalar {
  static constexpr const char* name = "scalar";
  static constexpr architecture arch = architecture::portable;
  static constexpr isa_level level = isa_level::scalar;
};

// x86-64 -----------------------------------------------------------------------------------------------
/// AVX2 + FMA + F16C (Haswell and later).
struct avx2 : scalar {
  static constexpr const char* name = "avx2";
  static constexpr architecture arch = architecture::x86_64;
  static constexpr isa_level level = isa_level::avx2;
};
/// AVX2 + the 256-bit VNNI dot product vpdpbusd (a side rung: see the top of this header). Its tag
/// derives from avx2 only; avx512_vnni runs its code but its tag does not derive from it.
struct avx_vnni : avx2 {
  static constexpr const char* name = "avx_vnni";
  static constexpr isa_level level = isa_level::avx_vnni;
};
/// AVX-512 F, BW, VL and DQ (Skylake-SP and later).
struct avx512 : avx2 {
  static constexpr const char* name = "avx512";
  static constexpr isa_level level = isa_level::avx512;
};
/// AVX-512 with VNNI (vpdpbusd; Cascade Lake and later).
struct avx512_vnni : avx512 {
  static constexpr const char* name = "avx512_vnni";
  static constexpr isa_level level = isa_level::avx512_vnni;
};
/// + AMX-TILE and AMX-INT8: 16 x 64-byte tile registers and the int8 tile dot products TDPBSSD / TDPBUSD
/// (Sapphire Rapids and later; on Linux once the process has asked for the tile state, core/cpu_features.hpp).
struct amx_int8 : avx512_vnni {
  static constexpr const char* name = "amx_int8";
  static constexpr isa_level level = isa_level::amx_int8;
};

// aarch64 ----------------------------------------------------------------------------------------------
/// Advanced SIMD (every ARMv8-A core).
struct neon : scalar {
  static constexpr const char* name = "neon";
  static constexpr architecture arch = architecture::aarch64;
  static constexpr isa_level level = isa_level::neon;
};
/// + the int8 dot product (SDOT/UDOT; ARMv8.2-A DotProd, e.g. Cortex-A55/A76).
struct neon_dotprod : neon {
  static constexpr const char* name = "neon_dotprod";
  static constexpr isa_level level = isa_level::neon_dotprod;
};
/// + the int8 matrix multiply (SMMLA/UMMLA; ARMv8.6-A I8MM, e.g. Neoverse V1, Cortex-X2).
struct neon_i8mm : neon_dotprod {
  static constexpr const char* name = "neon_i8mm";
  static constexpr isa_level level = isa_level::neon_i8mm;
};

}  // namespace isa

/// True for the ISA tags above (and for user tags derived from them).
template <class T>
inline constexpr bool is_isa_tag_v = std::is_base_of_v<isa::scalar, T>;

}  // namespace qsparse
