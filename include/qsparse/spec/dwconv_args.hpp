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

/// One output row (or two: dst2) of a depthwise convolution for a kernel that reads the kernel-column
/// weight layout (kernels/depthwise_kernels.hpp: reads_columns). Input pixel ix of kernel row ky is at
/// rows[ky] + ix * row_step[ky] (row_step 0: a row of in_zp values, one pixel long, for rows in the padding
/// and past kh). Output pixel x reads input columns x * stride_w - pad_left + kx * dilation_w.
template <class Out>
struct dwconv_columns_args {
  const std::int8_t* rows[4];
  std::ptrdiff_t row_step[4];
  std::ptrdiff_t in_w;
  std::ptrdiff_t channels;  // a multiple of 64
  std::ptrdiff_t out_w, stride_w, dilation_w, pad_left, kernel_w;
  std::int32_t in_zero_point;
  const std::int8_t* columns;  // packed_depthwise_weights::columns()
  const std::int32_t* init;    // -(in_zp + 128) Σ_t (w - w_zp) per channel
  Out* dst;                    // pixel x at dst + x * channels
  // Two output rows at once when not null: the second reads kernel rows 1..kh of the same four input rows
  // (stride_h = dilation_h = 1, kh <= 3) with the weights one byte up (columns_shifted), into dst2.
  const std::int8_t* columns_shifted;
  Out* dst2;
  std::uint8_t* scratch;       // column_scratch_bytes(...) bytes
  std::int64_t accumulator_bound;
};

}  // namespace kernels
}  // namespace qsparse
