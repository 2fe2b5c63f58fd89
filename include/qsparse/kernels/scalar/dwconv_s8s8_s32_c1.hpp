// qsparse/kernels/scalar/dwconv_s8s8_s32_c1.hpp — the portable depthwise-convolution kernel: one
// channel at a time over an output row's indirection table (qsparse/spec/dwconv_args.hpp); the
// output stages are the scalar definition `evaluate`.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/isa.hpp"
#include "qsparse/spec/dwconv_args.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {
namespace kernels {
namespace scalar {

struct dwconv_s8s8_s32_c1 {
  static constexpr int channel_block = 1;
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "dwconv_s8s8_s32_c1__scalar"; }

  template <class... S>
  static void run(const dwconv_args<typename output_pipeline<S...>::output_type>& g, const output_pipeline<S...>& pipeline) {
    for (std::ptrdiff_t p = 0; p < g.pixels; ++p) {
      const std::int8_t* const* taps = g.taps + p * g.tap_count;
      auto* dst = g.dst + p * g.channels;
      for (std::ptrdiff_t o = 0; o < g.channels; ++o) {
        // Modulo 2^32, as the SIMD kernels add: the entry point guarantees the true sum fits int32.
        auto acc = static_cast<std::uint32_t>(g.init[o]);
        for (std::ptrdiff_t t = 0; t < g.tap_count; ++t) {
          const auto w = static_cast<std::int16_t>(static_cast<std::uint32_t>(g.weights[t * g.channels_padded + o]) & 0xFFFFu);
          acc += static_cast<std::uint32_t>(std::int32_t{taps[t][o]} * w);
        }
        dst[o] = evaluate(pipeline, static_cast<std::int32_t>(acc), g.m0 + p, o);
      }
    }
  }
};

}  // namespace scalar
}  // namespace kernels
}  // namespace qsparse
