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

}  // namespace kernels
}  // namespace qsparse
