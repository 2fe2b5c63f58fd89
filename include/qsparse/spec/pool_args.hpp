// qsparse/spec/pool_args.hpp — what a pooling kernel is given: one output pixel's taps inside the
// image (count >= 1 pointers to channel 0 of an input pixel), the channel count, the clamp range and
// the destination. A pooling kernel family is a struct with static
//   void max(const pool_args&)       out[c] = clamp(max_t taps[t][c], act_min, act_max)
//   void average(const pool_args&)   out[c] = clamp(round_half_away(Σ_t taps[t][c] / count), act_min, act_max)
// (TFLite's integer rounding: s > 0 ? (s + count/2) / count : (s - count/2) / count, C++ division),
// plus name(). Validation happened at the entry (qsparse/conv/pooling.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

namespace qsparse {
namespace kernels {

struct pool_args {
  const std::int8_t* const* taps;
  std::ptrdiff_t count;     // 1 .. 65536
  std::ptrdiff_t channels;
  std::int32_t act_min, act_max;  // inside [-128, 127]
  std::int8_t* dst;
};

/// Consecutive output pixels of one row whose windows lie wholly inside the input (max pooling, for
/// kernels that provide max_run): pixel p's tap (fy, fx) at first + p * pixel_step + fy * row_step +
/// fx * channels, its output at dst + p * channels. Saves a call and a tap list per pixel.
struct pool_run_args {
  const std::int8_t* first;
  std::ptrdiff_t pixels;      // >= 1
  std::ptrdiff_t pixel_step;  // stride_w * channels
  std::ptrdiff_t row_step;    // in_w * channels
  std::ptrdiff_t filter_h, filter_w, channels;
  std::int32_t act_min, act_max;  // inside [-128, 127]
  std::int8_t* dst;
};

}  // namespace kernels
}  // namespace qsparse
