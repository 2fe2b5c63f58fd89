// qsparse/spec/dwconv_args.hpp — what every depthwise-convolution kernel is given: one output row of
// pixels described by an indirection table, the packed weights and the destination. Validation happened
// at the entry (qsparse/conv/depthwise.hpp); kernels check nothing.
//
// A depthwise kernel family is a struct with
//   static constexpr int channel_block;  static const char* name();  static constexpr isa_level isa;
//   template <class Out, class Pipeline> static void run(const dwconv_args<Out>&, const Pipeline&);
// and computes, for every pixel p in [0, pixels) and channel o in [0, channels):
//   dst[p * channels + o] = evaluate(pipeline, init[o] + Σ_t taps[p * tap_count + t][o] * w(t, o), m0 + p, o)
// where w(t, o) is the int16 in the low half of weights[t * channels_padded + o] (the high half is 0) and
// init[o] = -in_zp * Σ_t w(t, o). A tap outside the image points at a row of in_zp values, so it adds
// (in_zp - in_zp) * w = 0, exactly TFLite's skipped tap.
#pragma once

#include <cstddef>
#include <cstdint>

namespace qsparse {
namespace kernels {

template <class Out>
struct dwconv_args {
  const std::int8_t* const* taps;  // [pixels][tap_count] pointers to channel 0 of an input pixel
  std::ptrdiff_t pixels;
  std::ptrdiff_t tap_count;
  std::ptrdiff_t channels;          // output channels (= input channels of the taps' rows)
  std::ptrdiff_t channels_padded;   // multiple of 16
  const std::int32_t* weights;      // [tap_count][channels_padded], w - w_zp in the low 16 bits
  const std::int32_t* init;         // [channels_padded]
  std::ptrdiff_t m0;                // output pixel index of pixel 0 (the pipeline's row m)
  Out* dst;                         // pixel p at dst + p * channels
  // The VNNI kernel's layout of the whole 64-channel blocks (qsparse/conv/depthwise.hpp), or nullptr,
  // and -128 Σ_t w(t, o) per channel with it. Other kernels ignore both.
  const std::int8_t* interleaved;
  const std::int32_t* flip_terms;
  std::int64_t accumulator_bound;   // |init[o] + Σ_t taps[...][o] * w(t, o)| <= accumulator_bound
};

}  // namespace kernels
}  // namespace qsparse
