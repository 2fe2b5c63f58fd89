// qsparse/kernels/scalar/range.hpp — the finite range of float arrays (the reference loops of the observers).
//
//   finite_range(x, n, lo, hi)               lo = min(lo, finite x[i]), hi = max(hi, finite x[i])
//   finite_range_strided(x, n, stride, lo, hi)   the same over x[0], x[stride], ..., x[(n-1)*stride]
//   finite_range_checked(x, n, lo, hi)       finite_range; returns whether every x[i] was finite
//   finite_range_channelwise(x, n, lo, hi)   lo[i] = min(lo[i], x[i]), hi[i] = max(hi[i], x[i]) for finite x[i]
//
// NaN and ±inf are skipped (they carry no range). The comparison is `x < lo ? x : lo` (and `x > hi ? x : hi`),
// so of two equal values the one already held stays; at the end every updated bound gets `+ 0.0f`, which
// turns -0.0 into +0.0 — the SIMD versions reduce in another order, and this makes the sign of a zero
// bound independent of it. A bound that saw no finite value keeps its initial value (+inf / -inf).
#pragma once

#include <cmath>
#include <cstddef>
#include <limits>
#include <utility>

#include "qsparse/core/isa.hpp"

namespace qsparse::kernels::scalar {

inline bool is_finite_value(float x) { return std::fabs(x) < std::numeric_limits<float>::infinity(); }

inline void finite_range_strided(const float* x, std::ptrdiff_t n, std::ptrdiff_t stride, float& lo, float& hi) {
  float l = lo, h = hi;
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    const float v = x[i * stride];
    if (!is_finite_value(v)) continue;
    l = v < l ? v : l;
    h = v > h ? v : h;
  }
  lo = l + 0.0f;
  hi = h + 0.0f;
}

inline void finite_range(const float* x, std::ptrdiff_t n, float& lo, float& hi) {
  finite_range_strided(x, n, 1, lo, hi);
}

inline bool finite_range_checked(const float* x, std::ptrdiff_t n, float& lo, float& hi) {
  float l = lo, h = hi;
  bool finite = true;
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (!is_finite_value(v)) {
      finite = false;
      continue;
    }
    l = v < l ? v : l;
    h = v > h ? v : h;
  }
  lo = l + 0.0f;
  hi = h + 0.0f;
  return finite;
}

inline void finite_range_channelwise(const float* x, std::ptrdiff_t n, float* lo, float* hi) {
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    const float v = x[i];
    if (!is_finite_value(v)) continue;
    lo[i] = (v < lo[i] ? v : lo[i]) + 0.0f;
    hi[i] = (v > hi[i] ? v : hi[i]) + 0.0f;
  }
}

/// The range kernels of this ISA as one registry entry (qsparse/kernels/range_kernels.hpp).
struct range_kernel {
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "finite_range_f32__scalar"; }
  template <class... Args>
  static void finite_range(Args&&... args) {
    scalar::finite_range(std::forward<Args>(args)...);
  }
  template <class... Args>
  static bool finite_range_checked(Args&&... args) {
    return scalar::finite_range_checked(std::forward<Args>(args)...);
  }
  template <class... Args>
  static void finite_range_channelwise(Args&&... args) {
    scalar::finite_range_channelwise(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::scalar
