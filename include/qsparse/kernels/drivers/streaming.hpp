// qsparse/kernels/drivers/streaming.hpp — the ISA-neutral driver of element-wise conversions (float32 <->
// float16 arrays): blocks of a vector, the tail, and non-temporal stores for large outputs.
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
//   static constexpr std::ptrdiff_t lanes;             // elements of one block
//   static void block(const In*, Out*);                 // one block, ordinary stores
//   static void tail(const In*, Out*, std::ptrdiff_t);  // the last count < lanes elements, nothing beyond
//   static void stream(const In*, Out*);                // stream_step elements, non-temporal stores
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

/// out[i] = convert(in[i]) for i in [0, n) with ordinary stores: four blocks of Kernel::lanes elements per
/// iteration, then single blocks, then Kernel::tail for the last n % lanes (which reads and writes nothing
/// outside [0, n)). The kernel contributes, with its target attribute, block(in, out) and
/// tail(in, out, count) for 0 < count < lanes.
template <class Kernel, class In, class Out>
QSPARSE_ALWAYS_INLINE void run_lanes(const In* QSPARSE_RESTRICT in, Out* QSPARSE_RESTRICT out, std::ptrdiff_t n) {
  constexpr std::ptrdiff_t lanes = Kernel::lanes;
  std::ptrdiff_t i = 0;
  for (; i + 4 * lanes <= n; i += 4 * lanes) {
    Kernel::block(in + i, out + i);
    Kernel::block(in + i + lanes, out + i + lanes);
    Kernel::block(in + i + 2 * lanes, out + i + 2 * lanes);
    Kernel::block(in + i + 3 * lanes, out + i + 3 * lanes);
  }
  for (; i + lanes <= n; i += lanes) Kernel::block(in + i, out + i);
  if (i < n) Kernel::tail(in + i, out + i, n - i);
}

/// out[i] = convert(in[i]) for i in [0, n), as the kernel's cached loop defines it.
template <class Kernel, class In, class Out>
QSPARSE_ALWAYS_INLINE void run_streaming(const In* QSPARSE_RESTRICT in, Out* QSPARSE_RESTRICT out, std::ptrdiff_t n,
                                         std::ptrdiff_t threshold) {
  if (n < threshold) {
    run_lanes<Kernel>(in, out, n);
    return;
  }
  constexpr auto alignment = static_cast<std::uintptr_t>(Kernel::stream_alignment);
  const auto misalignment = reinterpret_cast<std::uintptr_t>(out) & (alignment - 1);
  std::ptrdiff_t i = static_cast<std::ptrdiff_t>(((alignment - misalignment) & (alignment - 1)) / sizeof(Out));
  if (i > n) i = n;
  run_lanes<Kernel>(in, out, i);
  for (; i + Kernel::stream_step <= n; i += Kernel::stream_step) Kernel::stream(in + i, out + i);
  Kernel::fence();
  run_lanes<Kernel>(in + i, out + i, n - i);
}

}  // namespace drivers
}  // namespace kernels
}  // namespace qsparse
