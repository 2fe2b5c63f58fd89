// qsparse/kernels/scalar/histogram.hpp — the bin of each float in a zero-centred histogram (reference loops).
//
// A histogram of 2 * half bins of width w = 1 / inv_width covers [-half * w, half * w); bin b holds
// [(b - half) * w, (b - half + 1) * w). The bin of x is
//
//   v = min(max(x * inv_width, -half), half)       (float32; exact when inv_width is a power of two,
//                                                  except for a product that underflows)
//   b = clamp(floor(v), -half, half - 1)
//   b = x < 0 ? min(b, -1) : b                    (a negative x whose product underflowed to -0.0 still
//                                                  lands below zero, as its exact quotient does)
//   bin = b + half,   and 2 * half for NaN and ±inf (one past the last bin: the caller drops it)
//
//   histogram_bins(x, n, inv_width, half, bins)             bins[i] = bin of x[i]
//   histogram_bins_strided(x, n, stride, inv_width, half, bins)
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <utility>

#include "qsparse/core/isa.hpp"

namespace qsparse::kernels::scalar {

inline std::int32_t histogram_bin(float x, float inv_width, std::int32_t half) {
  if (!(std::fabs(x) < std::numeric_limits<float>::infinity())) return 2 * half;
  const float h = static_cast<float>(half);
  float v = x * inv_width;
  v = v < -h ? -h : (v > h ? h : v);
  auto b = static_cast<std::int32_t>(v);  // truncation; |v| <= half <= 2^30
  if (static_cast<float>(b) > v) --b;     // floor
  if (b > half - 1) b = half - 1;
  if (x < 0.0f && b > -1) b = -1;
  return b + half;
}

inline void histogram_bins_strided(const float* x, std::ptrdiff_t n, std::ptrdiff_t stride, float inv_width,
                                   std::int32_t half, std::int32_t* bins) {
  for (std::ptrdiff_t i = 0; i < n; ++i) bins[i] = histogram_bin(x[i * stride], inv_width, half);
}

inline void histogram_bins(const float* x, std::ptrdiff_t n, float inv_width, std::int32_t half, std::int32_t* bins) {
  for (std::ptrdiff_t i = 0; i < n; ++i) bins[i] = histogram_bin(x[i], inv_width, half);
}

/// The histogram kernels of this ISA as one registry entry (qsparse/kernels/histogram_kernels.hpp).
struct histogram_kernel {
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "histogram_bins_f32__scalar"; }
  template <class... Args>
  static void histogram_bins(Args&&... args) {
    scalar::histogram_bins(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::scalar
