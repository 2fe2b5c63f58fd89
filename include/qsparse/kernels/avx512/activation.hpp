// qsparse/kernels/avx512/activation.hpp — GELU (erf form) and a softmax row on 16 lanes (AVX-512 F).
//
// The operations of qsparse/kernels/scalar/activation.hpp element by element (explicit vfmadd, vdivps,
// vcvtps2dq in the default rounding mode (nearest, ties to even, as std::nearbyint), the clamps with the constant first), so the results are equal bit for bit;
// the softmax sum is one 16-lane register folded 8, 4, 2, 1 as the scalar loop folds its lanes. Tails use
// masked loads and stores (a masked-off lane adds +0 to the sum, which leaves it unchanged).
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

namespace qsparse::kernels::avx512 {

namespace activation_detail {

namespace s = scalar::activation_detail;

QSPARSE_TARGET_AVX512 inline __m512 kept(__m512 p) {
  QSPARSE_KEEP_ROUNDED(p);
  return p;
}

QSPARSE_TARGET_AVX512 inline __m512 gelu(__m512 x) {
  const __m512 u = _mm512_mul_ps(x, _mm512_set1_ps(s::inv_sqrt2));
  __m512 t = _mm512_max_ps(_mm512_set1_ps(-s::erf_clamp), u);
  t = _mm512_min_ps(_mm512_set1_ps(s::erf_clamp), t);
  const __m512 t2 = _mm512_mul_ps(t, t);
  __m512 p = _mm512_set1_ps(s::erf_alpha[0]);
  for (int i = 1; i < 7; ++i) p = _mm512_fmadd_ps(t2, p, _mm512_set1_ps(s::erf_alpha[i]));
  __m512 q = _mm512_set1_ps(s::erf_beta[0]);
  for (int i = 1; i < 5; ++i) q = _mm512_fmadd_ps(t2, q, _mm512_set1_ps(s::erf_beta[i]));
  const __m512 e = _mm512_div_ps(_mm512_mul_ps(t, p), q);
  return _mm512_mul_ps(kept(_mm512_mul_ps(x, _mm512_set1_ps(0.5f))), _mm512_add_ps(_mm512_set1_ps(1.0f), e));
}

QSPARSE_TARGET_AVX512 inline __m512 exp_nonpositive(__m512 y) {
  __m512 v = _mm512_max_ps(_mm512_set1_ps(s::exp_min), y);
  v = _mm512_min_ps(_mm512_setzero_ps(), v);
  const __m512i ni = _mm512_cvtps_epi32(_mm512_mul_ps(v, _mm512_set1_ps(s::log2e)));  // nearest, ties to even (MXCSR)
  const __m512 n = _mm512_cvtepi32_ps(ni);
  __m512 r = _mm512_fmadd_ps(n, _mm512_set1_ps(-s::ln2_hi), v);
  r = _mm512_fmadd_ps(n, _mm512_set1_ps(-s::ln2_lo), r);
  __m512 p = _mm512_set1_ps(s::exp_poly[0]);
  for (int i = 1; i < 6; ++i) p = _mm512_fmadd_ps(p, r, _mm512_set1_ps(s::exp_poly[i]));
  p = _mm512_fmadd_ps(p, _mm512_mul_ps(r, r), r);
  p = _mm512_add_ps(p, _mm512_set1_ps(1.0f));
  const __m512i bits = _mm512_slli_epi32(_mm512_add_epi32(ni, _mm512_set1_epi32(127)), 23);
  return kept(_mm512_mul_ps(p, _mm512_castsi512_ps(bits)));
}

QSPARSE_TARGET_AVX512 inline __mmask16 activation_tail(std::ptrdiff_t left) {
  return left >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << left) - 1u);
}

}  // namespace activation_detail

// softmax_row's steps on 16 lanes, for kernels that compute a score row and use its probabilities in
// registers (the fused attention of examples/minilm/); softmax_row below is made of them.

/// The scaled score kept from FMA contraction: x * scale, as softmax_row's first pass stores it.
QSPARSE_TARGET_AVX512 inline __m512 softmax_scaled16(__m512 x, __m512 scale) {
  return activation_detail::kept(_mm512_mul_ps(x, scale));
}

/// exp(x - max) of 16 scaled scores (x <= max), softmax_row's second pass.
QSPARSE_TARGET_AVX512 inline __m512 softmax_exp16(__m512 x, __m512 max) {
  return activation_detail::exp_nonpositive(_mm512_sub_ps(x, max));
}

/// The 16 lanes of softmax_row's sum folded 8, 4, 2, 1 (the order of the scalar definition).
QSPARSE_TARGET_AVX512 inline float softmax_sum16(__m512 sum) {
  __m256 s8 = _mm256_add_ps(_mm512_castps512_ps256(sum), _mm512_extractf32x8_ps(sum, 1));
  __m128 s4 = _mm_add_ps(_mm256_castps256_ps128(s8), _mm256_extractf128_ps(s8, 1));
  s4 = _mm_add_ps(s4, _mm_movehl_ps(s4, s4));
  s4 = _mm_add_ss(s4, _mm_shuffle_ps(s4, s4, 1));
  return _mm_cvtss_f32(s4);
}

QSPARSE_TARGET_AVX512 inline void gelu_erf(const float* x, float* y, std::ptrdiff_t n) {
  std::ptrdiff_t i = 0;
  for (; i + 16 <= n; i += 16) _mm512_storeu_ps(y + i, activation_detail::gelu(_mm512_loadu_ps(x + i)));
  if (i < n) {
    const __mmask16 m = activation_detail::activation_tail(n - i);
    _mm512_mask_storeu_ps(y + i, m, activation_detail::gelu(_mm512_maskz_loadu_ps(m, x + i)));
  }
}

QSPARSE_TARGET_AVX512 inline void softmax_row(float* x, std::ptrdiff_t n, float scale) {
  using namespace activation_detail;
  const __m512 sc = _mm512_set1_ps(scale);
  const float first = scalar::activation_detail::kept(x[0] * scale);
  __m512 mx = _mm512_set1_ps(first);
  for (std::ptrdiff_t j = 0; j < n; j += 16) {
    const __mmask16 m = activation_tail(n - j);
    const __m512 v = softmax_scaled16(_mm512_maskz_loadu_ps(m, x + j), sc);
    _mm512_mask_storeu_ps(x + j, m, v);
    mx = _mm512_mask_max_ps(mx, m, v, mx);
  }
  const __m512 vmx = _mm512_set1_ps(_mm512_reduce_max_ps(mx));
  __m512 sum = _mm512_setzero_ps();
  for (std::ptrdiff_t j = 0; j < n; j += 16) {
    const __mmask16 m = activation_tail(n - j);
    const __m512 e = softmax_exp16(_mm512_maskz_loadu_ps(m, x + j), vmx);
    _mm512_mask_storeu_ps(x + j, m, e);
    sum = _mm512_mask_add_ps(sum, m, sum, e);
  }
  const __m512 total = _mm512_set1_ps(softmax_sum16(sum));
  for (std::ptrdiff_t j = 0; j < n; j += 16) {
    const __mmask16 m = activation_tail(n - j);
    _mm512_mask_storeu_ps(x + j, m, _mm512_div_ps(_mm512_maskz_loadu_ps(m, x + j), total));
  }
}

/// The activation kernels of this ISA as one registry entry (qsparse/kernels/activation_kernels.hpp).
struct activation_kernel {
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() { return "activation_f32__avx512"; }
  template <class... Args>
  QSPARSE_TARGET_AVX512 static void gelu_erf(Args&&... args) {
    avx512::gelu_erf(std::forward<Args>(args)...);
  }
  template <class... Args>
  QSPARSE_TARGET_AVX512 static void softmax_row(Args&&... args) {
    avx512::softmax_row(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx512

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
