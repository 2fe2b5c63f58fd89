// qsparse/kernels/stream_prefetch.hpp — how far ahead the streaming element-wise kernels (quantize,
// range, fake quantization on every ISA) and the 4-bit weight GEMMs prefetch, defined once for all of them.
//
// Runs of at least prefetch_threshold floats (32 KiB, past L1) are read with software prefetch
// prefetch_bytes ahead: the hardware prefetcher stops at each 4 KiB page. The prefetch may reach past
// the run's end (into the next run of a per-channel tensor, usually); the address is formed as an
// integer, so no out-of-bounds pointer exists, and a prefetch never faults.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"

namespace qsparse::kernels {

inline constexpr std::ptrdiff_t prefetch_threshold = std::ptrdiff_t{1} << 13;
inline constexpr std::uintptr_t prefetch_bytes = 8192;

/// How far ahead of the chunk it reads a 4-bit weight GEMM (kernels/*/gemm_s8x4_*) prefetches each panel.
/// A GEMV streams every weight byte once; without it one core read them at ~80 % of its read bandwidth,
/// with it at ~100 % (docs/kernels.md). 1 KiB and 4 KiB measured no better, 8 KiB worse.
inline constexpr std::uintptr_t q4_weight_prefetch_bytes = 2048;

/// Prefetches (to L1) the byte `distance` past p. The address is formed as an integer, so no pointer past
/// the buffer exists, and a prefetch never faults.
QSPARSE_ALWAYS_INLINE void prefetch_at(const void* p, std::uintptr_t distance) noexcept {
#if defined(__GNUC__) || defined(__clang__)
  __builtin_prefetch(reinterpret_cast<const void*>(reinterpret_cast<std::uintptr_t>(p) + distance), 0, 3);
#else
  (void)p;
  (void)distance;
#endif
}

}  // namespace qsparse::kernels
