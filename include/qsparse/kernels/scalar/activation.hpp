// qsparse/kernels/scalar/activation.hpp — float activations of a transformer (the reference loops).
//
//   gelu_erf(x, y, n)          y[i] = x[i] / 2 * (1 + erf(x[i] / sqrt 2)), erf by a rational approximation
//   softmax_row(x, n, scale)   x[j] *= scale, then x[j] = exp(x[j] - max) / sum, in place (n >= 1)
//
// Both are defined by the exact sequence of IEEE operations written here, and every SIMD version
// (kernels/avx2/activation.hpp, kernels/avx512/activation.hpp) performs the same operations per element,
// so the results are equal bit for bit on every ISA:
// - every multiply-add is an explicit fused multiply-add (std::fma here, vfmadd there), every other
//   product feeds a division or a fused multiply-add (no product a compiler could contract);
// - erf(t) = t * P(t^2) / Q(t^2) on t clamped to [-4, 4] (the clamp written `c > x ? c : x`, so NaN
//   passes through as vmaxps / vminps with the constant first do): a degree-13 / degree-8 rational
//   approximation (the one Eigen and XLA use for float erf), |error| < 2e-7 against std::erf;
// - exp(y) for y <= 0 (softmax's shifted scores): y clamped to [-87.33654, 0], n = nearbyint(y log2 e)
//   (the current rounding mode, nearest with ties to even by default, as vcvtps2dq rounds), r = y - n ln 2 in two
//   fused steps (Cody-Waite), a degree-6 polynomial, times 2^n built in the exponent bits; relative
//   error a few ulp (Cephes' expf);
// - the softmax sum runs in 16 lanes, lane l adding x[l], x[l + 16], ... in order, then the lanes fold
//   pairwise: l += l + 8, then + 4, + 2, + 1 — the order of one AVX-512 register (AVX2 keeps two).
//   Each x[j] is then divided by the sum (a correctly rounded division everywhere).
// Inputs of softmax_row must be finite (a score row); gelu_erf maps NaN to NaN and +inf to +inf.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/isa.hpp"
#include "qsparse/core/unfused.hpp"

namespace qsparse::kernels::scalar {

namespace activation_detail {

// erf(t) = t P(t^2) / Q(t^2) on [-4, 4].
inline constexpr float erf_clamp = 4.0f;
inline constexpr float erf_alpha[7] = {-2.72614225801306e-10f, 2.77068142495902e-08f, -2.10102402082508e-06f,
                                       -5.69250639462346e-05f, -7.34990630326855e-04f, -2.95459980854025e-03f,
                                       -1.60960333262415e-02f};
inline constexpr float erf_beta[5] = {-1.45660718464996e-05f, -2.13374055278905e-04f, -1.68282697438203e-03f,
                                      -7.37332916720468e-03f, -1.42647390514189e-02f};
inline constexpr float inv_sqrt2 = 0.70710678118654752f;

// exp(y), y <= 0 (Cephes expf).
inline constexpr float exp_min = -87.33654f;  // ln(FLT_MIN): 2^n stays a normal number
inline constexpr float log2e = 1.44269504088896341f;
inline constexpr float ln2_hi = 0.693359375f;
inline constexpr float ln2_lo = -2.12194440e-4f;
inline constexpr float exp_poly[6] = {1.9875691500e-4f, 1.3981999507e-3f, 8.3334519073e-3f,
                                      4.1665795894e-2f, 1.6666665459e-1f, 5.0000001201e-1f};

inline constexpr int sum_lanes = 16;

/// The value of a product, kept from being fused into a following addition (-ffp-contract=fast).
inline float kept(float p) noexcept { return qsparse::detail::rounded(p); }

inline float erf_approx(float x) {
  float t = -erf_clamp > x ? -erf_clamp : x;
  t = erf_clamp < t ? erf_clamp : t;
  const float t2 = t * t;
  float p = erf_alpha[0];
  for (int i = 1; i < 7; ++i) p = std::fma(t2, p, erf_alpha[i]);
  float q = erf_beta[0];
  for (int i = 1; i < 5; ++i) q = std::fma(t2, q, erf_beta[i]);
  return (t * p) / q;
}

inline float gelu(float x) {
  const float e = erf_approx(x * inv_sqrt2);
  return kept(x * 0.5f) * (1.0f + e);
}

inline float exp_nonpositive(float y) {
  float v = exp_min > y ? exp_min : y;
  v = 0.0f < v ? 0.0f : v;
  const float n = std::nearbyint(v * log2e);
  float r = std::fma(n, -ln2_hi, v);
  r = std::fma(n, -ln2_lo, r);
  float p = exp_poly[0];
  for (int i = 1; i < 6; ++i) p = std::fma(p, r, exp_poly[i]);
  const float r2 = r * r;
  p = std::fma(p, r2, r);
  p = p + 1.0f;
  const auto bits = static_cast<std::uint32_t>(static_cast<std::int32_t>(n) + 127) << 23;
  float scale = 0.0f;
  std::memcpy(&scale, &bits, sizeof scale);
  return kept(p * scale);
}

}  // namespace activation_detail

inline void gelu_erf(const float* x, float* y, std::ptrdiff_t n) {
  for (std::ptrdiff_t i = 0; i < n; ++i) y[i] = activation_detail::gelu(x[i]);
}

inline void softmax_row(float* x, std::ptrdiff_t n, float scale) {
  using namespace activation_detail;
  float mx = kept(x[0] * scale);
  for (std::ptrdiff_t j = 0; j < n; ++j) {
    x[j] = kept(x[j] * scale);
    mx = x[j] > mx ? x[j] : mx;
  }
  float lanes[sum_lanes] = {};
  for (std::ptrdiff_t j = 0; j < n; ++j) {
    x[j] = exp_nonpositive(x[j] - mx);
    lanes[j % sum_lanes] += x[j];
  }
  for (int w = sum_lanes / 2; w >= 1; w /= 2) {
    for (int l = 0; l < w; ++l) lanes[l] += lanes[l + w];
  }
  const float sum = lanes[0];
  for (std::ptrdiff_t j = 0; j < n; ++j) x[j] = x[j] / sum;
}

/// The activation kernels of this ISA as one registry entry (qsparse/kernels/activation_kernels.hpp).
struct activation_kernel {
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "activation_f32__scalar"; }
  static void gelu_erf(const float* x, float* y, std::ptrdiff_t n) { scalar::gelu_erf(x, y, n); }
  static void softmax_row(float* x, std::ptrdiff_t n, float scale) { scalar::softmax_row(x, n, scale); }
};

}  // namespace qsparse::kernels::scalar
