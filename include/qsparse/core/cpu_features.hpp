// qsparse/core/cpu_features.hpp — what this CPU can run, detected once with CPUID + XGETBV.
//
// An instruction set counts as available only when the CPU reports it *and* the operating system
// saves the registers it needs (XGETBV: YMM state for AVX2, opmask/ZMM state for AVX-512).
#pragma once

#include <cstdint>

#include "qsparse/core/config.hpp"

#if QSPARSE_X86
#include <cpuid.h>
#endif

namespace qsparse {

struct cpu_features {
  bool sse41 = false;
  bool avx = false;
  bool avx2 = false;
  bool fma = false;
  bool f16c = false;
  bool avx512f = false;
  bool avx512bw = false;
  bool avx512vl = false;
  bool avx512dq = false;
  bool avx512_vnni = false;
  bool avx_vnni = false;  // the VEX-encoded 256-bit VNNI of Alder Lake and later
  bool amd = false;       // vendor "AuthenticAMD": used for tuning choices only, never for correctness
};

namespace detail {

#if QSPARSE_X86
inline std::uint64_t read_xcr0() {
  std::uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
}
#endif

inline cpu_features detect_cpu_features() {
  cpu_features f;
#if QSPARSE_X86
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  if (!__get_cpuid(0, &eax, &ebx, &ecx, &edx)) return f;
  const unsigned max_leaf = eax;
  f.amd = ebx == 0x68747541u && edx == 0x69746e65u && ecx == 0x444d4163u;  // "Auth" "enti" "cAMD"
  __get_cpuid(1, &eax, &ebx, &ecx, &edx);
  f.sse41 = (ecx >> 19) & 1u;
  const bool osxsave = (ecx >> 27) & 1u;
  const bool cpu_avx = (ecx >> 28) & 1u;
  const bool cpu_fma = (ecx >> 12) & 1u;
  const bool cpu_f16c = (ecx >> 29) & 1u;
  if (!osxsave) return f;
  const std::uint64_t xcr0 = read_xcr0();
  const bool ymm_state = (xcr0 & 0x6u) == 0x6u;     // SSE + AVX state
  const bool zmm_state = (xcr0 & 0xE6u) == 0xE6u;   // + opmask, ZMM_Hi256, Hi16_ZMM
  f.avx = cpu_avx && ymm_state;
  f.fma = cpu_fma && f.avx;
  f.f16c = cpu_f16c && f.avx;
  if (max_leaf < 7) return f;
  __get_cpuid_count(7, 0, &eax, &ebx, &ecx, &edx);
  f.avx2 = ((ebx >> 5) & 1u) && f.avx;
  f.avx512f = ((ebx >> 16) & 1u) && zmm_state;
  f.avx512dq = ((ebx >> 17) & 1u) && f.avx512f;
  f.avx512bw = ((ebx >> 30) & 1u) && f.avx512f;
  f.avx512vl = ((ebx >> 31) & 1u) && f.avx512f;
  f.avx512_vnni = ((ecx >> 11) & 1u) && f.avx512f;
  const unsigned max_subleaf = eax;
  if (max_subleaf >= 1) {
    __get_cpuid_count(7, 1, &eax, &ebx, &ecx, &edx);
    f.avx_vnni = ((eax >> 4) & 1u) && f.avx2;
  }
#endif
  return f;
}

}  // namespace detail

/// The features of the CPU this process runs on (detected on first call, thread-safe).
inline const cpu_features& cpu() {
  static const cpu_features features = detail::detect_cpu_features();
  return features;
}

}  // namespace qsparse
