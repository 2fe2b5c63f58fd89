// qsparse/kernels/stream_prefetch.hpp — how far ahead the streaming element-wise kernels (quantize,
// range, fake quantization on every ISA) prefetch, defined once for all of them.
//
// Runs of at least prefetch_threshold floats (32 KiB, past L1) are read with software prefetch
// prefetch_bytes ahead: the hardware prefetcher stops at each 4 KiB page. The prefetch may reach past
// the run's end (into the next run of a per-channel tensor, usually); the address is formed as an
// integer, so no out-of-bounds pointer exists, and a prefetch never faults.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qsparse::kernels {

inline constexpr std::ptrdiff_t prefetch_threshold = std::ptrdiff_t{1} << 13;
inline constexpr std::uintptr_t prefetch_bytes = 8192;

}  // namespace qsparse::kernels
