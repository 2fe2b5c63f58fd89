// qsparse/kernels/drivers/streaming.hpp — the ISA-neutral driver of element-wise conversions that write
// large outputs with non-temporal stores (float32 <-> float16 arrays).
//
// Below streaming_threshold elements the kernel's cached loop does all the work. From it on, the output
// no longer fits in cache and skipping the read-for-ownership of `out` saves a third of the traffic: the
// head up to the kernel's store alignment goes through the cached loop, then whole blocks through the
// kernel's streaming step, then a fence (the data is ordered like ordinary stores before the call
// returns), then the tail through the cached loop. The kernel contributes, with its ISA's target
// attribute,
//
//   static constexpr std::ptrdiff_t stream_alignment;  // bytes: `out` is aligned to this for stream()
//   static constexpr std::ptrdiff_t stream_step;       // elements one stream() call converts
//   static void cached(const In*, Out*, std::ptrdiff_t n);   // ordinary stores, any n, any alignment
//   static void stream(const In*, Out*);                     // stream_step elements, non-temporal stores
//   static void fence();
//
// and a function with its target attribute that calls run_streaming, which is always inlined.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"

namespace qsparse {
namespace kernels {

/// From this many elements on, the float16 conversions write their results with non-temporal stores
/// (memory-bound: measured 1.5-2x faster on 64 M elements).
inline constexpr std::ptrdiff_t convert_f16_streaming_threshold = std::ptrdiff_t{1} << 20;

namespace drivers {

/// out[i] = convert(in[i]) for i in [0, n), as the kernel's cached loop defines it.
template <class Kernel, class In, class Out>
QSPARSE_ALWAYS_INLINE void run_streaming(const In* QSPARSE_RESTRICT in, Out* QSPARSE_RESTRICT out, std::ptrdiff_t n,
                                         std::ptrdiff_t threshold) {
  if (n < threshold) {
    Kernel::cached(in, out, n);
    return;
  }
  constexpr auto alignment = static_cast<std::uintptr_t>(Kernel::stream_alignment);
  const auto misalignment = reinterpret_cast<std::uintptr_t>(out) & (alignment - 1);
  std::ptrdiff_t i = static_cast<std::ptrdiff_t>(((alignment - misalignment) & (alignment - 1)) / sizeof(Out));
  if (i > n) i = n;
  Kernel::cached(in, out, i);
  for (; i + Kernel::stream_step <= n; i += Kernel::stream_step) Kernel::stream(in + i, out + i);
  Kernel::fence();
  Kernel::cached(in + i, out + i, n - i);
}

}  // namespace drivers
}  // namespace kernels
}  // namespace qsparse
