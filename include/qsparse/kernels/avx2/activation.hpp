// qsparse/kernels/avx2/activation.hpp — GELU (erf form) and a softmax row on 8 lanes (AVX2 + FMA).
//
// The operations of qsparse/kernels/scalar/activation.hpp element by element (explicit vfmadd, vdivps,
// vcvtps2dq in the default rounding mode (nearest, ties to even, as std::nearbyint), the clamps with the constant first), so the results are equal bit for bit. The
// softmax sum keeps the scalar loop's 16 lanes in two registers (elements 16i..16i+7 and 16i+8..16i+15)
// and folds them 8, 4, 2, 1 in its order. Tails use vmaskmovps (a masked-off lane adds +0).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/scalar/activation.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::avx2 {

namespace activation_detail {

namespace s = scalar::activation_detail;

QSPARSE_TARGET_AVX2 inline __m256 kept(__m256 p) {
  QSPARSE_KEEP_ROUNDED(p);
  return p;
}

QSPARSE_TARGET_AVX2 inline __m256 gelu(__m256 x) {
  const __m256 u = _mm256_mul_ps(x, _mm256_set1_ps(s::inv_sqrt2));
  __m256 t = _mm256_max_ps(_mm256_set1_ps(-s::erf_clamp), u);
  t = _mm256_min_ps(_mm256_set1_ps(s::erf_clamp), t);
  const __m256 t2 = _mm256_mul_ps(t, t);
  __m256 p = _mm256_set1_ps(s::erf_alpha[0]);
  for (int i = 1; i < 7; ++i) p = _mm256_fmadd_ps(t2, p, _mm256_set1_ps(s::erf_alpha[i]));
  __m256 q = _mm256_set1_ps(s::erf_beta[0]);
  for (int i = 1; i < 5; ++i) q = _mm256_fmadd_ps(t2, q, _mm256_set1_ps(s::erf_beta[i]));
  const __m256 e = _mm256_div_ps(_mm256_mul_ps(t, p), q);
  return _mm256_mul_ps(kept(_mm256_mul_ps(x, _mm256_set1_ps(0.5f))), _mm256_add_ps(_mm256_set1_ps(1.0f), e));
}

QSPARSE_TARGET_AVX2 inline __m256 exp_nonpositive(__m256 y) {
  __m256 v = _mm256_max_ps(_mm256_set1_ps(s::exp_min), y);
  v = _mm256_min_ps(_mm256_setzero_ps(), v);
  const __m256i ni = _mm256_cvtps_epi32(_mm256_mul_ps(v, _mm256_set1_ps(s::log2e)));  // nearest, ties to even (MXCSR)
  const __m256 n = _mm256_cvtepi32_ps(ni);
  __m256 r = _mm256_fmadd_ps(n, _mm256_set1_ps(-s::ln2_hi), v);
  r = _mm256_fmadd_ps(n, _mm256_set1_ps(-s::ln2_lo), r);
  __m256 p = _mm256_set1_ps(s::exp_poly[0]);
  for (int i = 1; i < 6; ++i) p = _mm256_fmadd_ps(p, r, _mm256_set1_ps(s::exp_poly[i]));
  p = _mm256_fmadd_ps(p, _mm256_mul_ps(r, r), r);
  p = _mm256_add_ps(p, _mm256_set1_ps(1.0f));
  const __m256i bits = _mm256_slli_epi32(_mm256_add_epi32(ni, _mm256_set1_epi32(127)), 23);
  return kept(_mm256_mul_ps(p, _mm256_castsi256_ps(bits)));
}

/// Lanes [0, left) set (left may exceed 8).
QSPARSE_TARGET_AVX2 inline __m256i activation_tail(std::ptrdiff_t left) {
  const __m256i idx = _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7);
  const auto l = static_cast<int>(left < 8 ? left : 8);
  return _mm256_cmpgt_epi32(_mm256_set1_epi32(l), idx);
}

}  // namespace activation_detail

QSPARSE_TARGET_AVX2 inline void gelu_erf(const float* x, float* y, std::ptrdiff_t n) {
  std::ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) _mm256_storeu_ps(y + i, activation_detail::gelu(_mm256_loadu_ps(x + i)));
  if (i < n) {
    const __m256i m = activation_detail::activation_tail(n - i);
    _mm256_maskstore_ps(y + i, m, activation_detail::gelu(_mm256_maskload_ps(x + i, m)));
  }
}

QSPARSE_TARGET_AVX2 inline void softmax_row(float* x, std::ptrdiff_t n, float scale) {
  using namespace activation_detail;
  const __m256 sc = _mm256_set1_ps(scale);
  const float first = scalar::activation_detail::kept(x[0] * scale);
  __m256 mx = _mm256_set1_ps(first);
  for (std::ptrdiff_t j = 0; j < n; j += 8) {
    const __m256i m = activation_tail(n - j);
    const __m256 v = kept(_mm256_mul_ps(_mm256_maskload_ps(x + j, m), sc));
    _mm256_maskstore_ps(x + j, m, v);
    mx = _mm256_blendv_ps(mx, _mm256_max_ps(v, mx), _mm256_castsi256_ps(m));
  }
  __m128 m4 = _mm_max_ps(_mm256_castps256_ps128(mx), _mm256_extractf128_ps(mx, 1));
  m4 = _mm_max_ps(m4, _mm_movehl_ps(m4, m4));
  m4 = _mm_max_ss(m4, _mm_shuffle_ps(m4, m4, 1));
  const __m256 vmx = _mm256_set1_ps(_mm_cvtss_f32(m4));
  __m256 sum[2] = {_mm256_setzero_ps(), _mm256_setzero_ps()};
  for (std::ptrdiff_t j = 0; j < n; j += 8) {
    const __m256i m = activation_tail(n - j);
    const __m256 e = exp_nonpositive(_mm256_sub_ps(_mm256_maskload_ps(x + j, m), vmx));
    _mm256_maskstore_ps(x + j, m, e);
    __m256& acc = sum[(j / 8) % 2];
    acc = _mm256_blendv_ps(acc, _mm256_add_ps(acc, e), _mm256_castsi256_ps(m));
  }
  const __m256 s8 = _mm256_add_ps(sum[0], sum[1]);
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  s4 = _mm_add_ss(s4, _mm_shuffle_ps(s4, s4, 1));
  const __m256 total = _mm256_set1_ps(_mm_cvtss_f32(s4));
  for (std::ptrdiff_t j = 0; j < n; j += 8) {
    const __m256i m = activation_tail(n - j);
    _mm256_maskstore_ps(x + j, m, _mm256_div_ps(_mm256_maskload_ps(x + j, m), total));
  }
}

/// The activation kernels of this ISA as one registry entry (qsparse/kernels/activation_kernels.hpp).
struct activation_kernel {
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "activation_f32__avx2"; }
  template <class... Args>
  QSPARSE_TARGET_AVX2 static void gelu_erf(Args&&... args) {
    avx2::gelu_erf(std::forward<Args>(args)...);
  }
  template <class... Args>
  QSPARSE_TARGET_AVX2 static void softmax_row(Args&&... args) {
    avx2::softmax_row(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx2

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
