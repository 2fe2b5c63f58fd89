// qsparse/core/cpu_features.hpp — what this CPU can run, detected once: CPUID + XGETBV on x86-64, the
// kernel's hardware capabilities (getauxval(AT_HWCAP / AT_HWCAP2)) on Linux aarch64.
//
// x86-64: an instruction set counts as available only when the CPU reports it *and* the operating system
// saves the registers it needs (XGETBV: YMM state for AVX2, opmask/ZMM state for AVX-512).
// AMX (Sapphire Rapids and later): CPUID.(7,0).EDX bits 24 (AMX-TILE) and 25 (AMX-INT8), XCR0 bits 17 and 18
// (XTILECFG, XTILEDATA), and on Linux the process's permission to use the 8 KiB tile data state: the
// kernel grants it on request (arch_prctl ARCH_REQ_XCOMP_PERM, asked here, once per process, as part of
// this detection, which cpu() runs once under C++'s thread-safe static initialisation). Where the
// request fails, and on systems other than Linux, AMX counts as absent (emulators that hide AMX too).
// aarch64: Linux reports a feature in HWCAP only when it lets user space use it, so the bits are the
// answer. Advanced SIMD is part of every ARMv8-A Linux system; elsewhere (no getauxval) it is assumed
// and nothing beyond it is.
#pragma once

#include <cstdint>

#include "qsparse/core/config.hpp"

#if QSPARSE_AARCH64 && defined(__linux__)
#include <sys/auxv.h>
#endif
#if QSPARSE_X86 && defined(__linux__)
#include <sys/syscall.h>
#include <unistd.h>
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
  bool avx512_vbmi2 = false;  // VPEXPANDB / VPCOMPRESSB (Ice Lake, Zen 4 and later); used by kernels that
                              // need it beyond their ISA rung (kernels/registry.hpp: cpu_has_extensions)
  bool avx_vnni = false;  // the VEX-encoded 256-bit VNNI of Alder Lake and later
  bool amx_tile = false;  // AMX tiles usable: CPUID, XCR0 and (Linux) the process's permission
  bool amx_int8 = false;  // + TDPBSSD / TDPBUSD (int8 tile dot products)
  bool amd = false;       // vendor "AuthenticAMD": used for tuning choices only, never for correctness

  // aarch64 (Linux HWCAP names in comments)
  bool asimd = false;          // asimd: Advanced SIMD (NEON), with fp
  bool asimd_dotprod = false;  // asimddp: SDOT / UDOT
  bool i8mm = false;           // i8mm: SMMLA / UMMLA / USMMLA, USDOT
  bool bf16 = false;           // bf16: BFDOT / BFMMLA (recorded; no kernel uses it yet)
  bool sve = false;            // sve (recorded; no kernel uses it yet)
  bool sve2 = false;           // sve2 (recorded; no kernel uses it yet)
};

namespace detail {

#if QSPARSE_X86
/// CPUID of `leaf` and `subleaf`. Written here rather than taken from <cpuid.h>: clang 14's spells its
/// registers in AT&T syntax only and does not build under -masm=intel; "cpuid" reads the same in both.
inline void read_cpuid(unsigned leaf, unsigned subleaf, unsigned& eax, unsigned& ebx, unsigned& ecx, unsigned& edx) {
  __asm__ volatile("cpuid" : "=a"(eax), "=b"(ebx), "=c"(ecx), "=d"(edx) : "a"(leaf), "c"(subleaf));
}

inline std::uint64_t read_xcr0() {
  std::uint32_t eax = 0, edx = 0;
  __asm__ volatile("xgetbv" : "=a"(eax), "=d"(edx) : "c"(0));
  return (static_cast<std::uint64_t>(edx) << 32) | eax;
}

/// Asks Linux for this process's permission to use AMX tile data (ARCH_REQ_XCOMP_PERM, 0x1023, for
/// XFEATURE_XTILEDATA, 18); true when granted. Elsewhere false: qsparse uses AMX on Linux only.
inline bool request_amx_permission() {
#if defined(__linux__) && defined(SYS_arch_prctl)
  return syscall(SYS_arch_prctl, 0x1023, 18) == 0;
#else
  return false;
#endif
}
#endif

/// The aarch64 features from Linux's AT_HWCAP and AT_HWCAP2 words (<asm/hwcap.h>; the bit numbers are
/// the kernel's ABI, spelled out so older headers that lack HWCAP2_I8MM still compile). Pure, so tests
/// check it on every architecture.
constexpr cpu_features aarch64_features_from_hwcaps(std::uint64_t hwcap, std::uint64_t hwcap2) noexcept {
  cpu_features f;
  const bool fp = (hwcap >> 0) & 1u;            // HWCAP_FP
  f.asimd = fp && ((hwcap >> 1) & 1u);          // HWCAP_ASIMD
  f.asimd_dotprod = f.asimd && ((hwcap >> 20) & 1u);  // HWCAP_ASIMDDP
  f.sve = (hwcap >> 22) & 1u;                   // HWCAP_SVE
  f.sve2 = f.sve && ((hwcap2 >> 1) & 1u);       // HWCAP2_SVE2
  f.i8mm = f.asimd && ((hwcap2 >> 13) & 1u);    // HWCAP2_I8MM
  f.bf16 = f.asimd && ((hwcap2 >> 14) & 1u);    // HWCAP2_BF16
  return f;
}

inline cpu_features detect_cpu_features() {
  cpu_features f;
#if QSPARSE_X86
  unsigned eax = 0, ebx = 0, ecx = 0, edx = 0;
  read_cpuid(0, 0, eax, ebx, ecx, edx);
  const unsigned max_leaf = eax;
  f.amd = ebx == 0x68747541u && edx == 0x69746e65u && ecx == 0x444d4163u;  // "Auth" "enti" "cAMD"
  if (max_leaf < 1) return f;
  read_cpuid(1, 0, eax, ebx, ecx, edx);
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
  read_cpuid(7, 0, eax, ebx, ecx, edx);
  f.avx2 = ((ebx >> 5) & 1u) && f.avx;
  f.avx512f = ((ebx >> 16) & 1u) && zmm_state;
  f.avx512dq = ((ebx >> 17) & 1u) && f.avx512f;
  f.avx512bw = ((ebx >> 30) & 1u) && f.avx512f;
  f.avx512vl = ((ebx >> 31) & 1u) && f.avx512f;
  f.avx512_vnni = ((ecx >> 11) & 1u) && f.avx512f;
  f.avx512_vbmi2 = ((ecx >> 6) & 1u) && f.avx512bw;
  const unsigned max_subleaf = eax;
  const bool tile_state = (xcr0 & 0x60000u) == 0x60000u;  // XTILECFG + XTILEDATA
  if (((edx >> 24) & 1u) && tile_state && f.avx512f && request_amx_permission()) {
    f.amx_tile = true;
    f.amx_int8 = (edx >> 25) & 1u;
  }
  if (max_subleaf >= 1) {
    read_cpuid(7, 1, eax, ebx, ecx, edx);
    f.avx_vnni = ((eax >> 4) & 1u) && f.avx2;
  }
#elif QSPARSE_AARCH64 && defined(__linux__)
  f = aarch64_features_from_hwcaps(getauxval(AT_HWCAP), getauxval(AT_HWCAP2));
#elif QSPARSE_AARCH64
  f.asimd = true;
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
