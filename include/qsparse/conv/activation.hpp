// qsparse/conv/activation.hpp — the float activations a transformer runs between its matrix products.
//
//   qsparse::gelu_erf(x, y, n);            // y[i] = x[i] / 2 * (1 + erf(x[i] / sqrt 2)), x == y allowed
//   qsparse::softmax_row(row, n, scale);   // row = softmax(row * scale), in place
//
// Both run the best kernel of qsparse/kernels/activation_kernels.hpp for best_isa() (or the level passed)
// and give the same bits on every ISA: the definition is the scalar loop of
// qsparse/kernels/scalar/activation.hpp (fused multiply-adds, a fixed 16-lane summation order). Against the
// exact functions: erf by a rational approximation with |error| < 2e-7 (GELU's absolute error is below
// 2e-7 * |x|), exp by Cephes' polynomial within a few ulp, so a softmax row is within a few ulp of
// std::exp's (docs/numerics.md). softmax_row needs finite values and n >= 1; gelu_erf maps NaN to NaN.
#pragma once

#include <cmath>
#include <cstddef>

#include "qsparse/core/error.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/kernels/activation_kernels.hpp"

namespace qsparse {

/// y[i] = GELU(x[i]) (the erf form) for i in [0, n); x and y may be the same array.
inline void gelu_erf(const float* x, float* y, std::ptrdiff_t n, isa_level level = best_isa()) {
  detail::check(n >= 0, "qsparse::gelu_erf: n must be >= 0, got n = ", n);
  if (n == 0) return;
  detail::check(x != nullptr && y != nullptr, "qsparse::gelu_erf: x and y must not be null");
  kernels::run_gelu_erf(level, x, y, n);
}

/// row[j] = exp(row[j] * scale - max) / sum over j in [0, n), in place (the max and the sum over the
/// scaled row). Every value must be finite and n >= 1.
inline void softmax_row(float* row, std::ptrdiff_t n, float scale, isa_level level = best_isa()) {
  detail::check(n >= 1 && row != nullptr, "qsparse::softmax_row: need n >= 1 and a non-null row, got n = ", n);
  detail::check(std::isfinite(scale) && scale > 0.0f, "qsparse::softmax_row: scale must be finite and > 0, got scale = ",
                scale);
  kernels::run_softmax_row(level, row, n, scale);
}

}  // namespace qsparse
