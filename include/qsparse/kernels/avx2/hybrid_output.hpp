// qsparse/kernels/avx2/hybrid_output.hpp — the float output of a dynamic-range GEMM row on 8 lanes (AVX2).
// The operations of qsparse/kernels/scalar/hybrid_output.hpp per element (vpmulld / vpsubd wrap as the
// scalar uint32 arithmetic; each product kept from FMA contraction; the clamp as max(lo, min(hi, v)) with
// the constants first, which passes NaN as the scalar clamp does), so the results are equal bit for bit.
// The remainder below 8 elements runs the scalar loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/scalar/hybrid_output.hpp"
#include "qsparse/spec/output_stages.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::avx2 {

QSPARSE_TARGET_AVX2 inline void hybrid_output_row(const std::int32_t* acc, std::ptrdiff_t n, std::int32_t zero_point,
                                                  const std::int32_t* column_sums, float row_scale,
                                                  const float* weight_scales, bool per_channel, const float* bias,
                                                  float lo, float hi, float* dst) {
  const __m256i zp = _mm256_set1_epi32(zero_point);
  const __m256 rs = _mm256_set1_ps(row_scale);
  const __m256 tensor_scale = _mm256_set1_ps(qsparse::detail::product_not_fused(row_scale, weight_scales[0]));
  const __m256 vlo = _mm256_set1_ps(lo), vhi = _mm256_set1_ps(hi);
  std::ptrdiff_t j = 0;
  for (; j + 8 <= n; j += 8) {
    const __m256i a = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc + j));
    const __m256i cs = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(column_sums + j));
    const __m256i corrected = _mm256_sub_epi32(a, _mm256_mullo_epi32(zp, cs));
    __m256 scale = tensor_scale;
    if (per_channel) {
      scale = _mm256_mul_ps(rs, _mm256_loadu_ps(weight_scales + j));
      QSPARSE_KEEP_ROUNDED(scale);
    }
    __m256 v = _mm256_mul_ps(_mm256_cvtepi32_ps(corrected), scale);
    QSPARSE_KEEP_ROUNDED(v);
    if (bias != nullptr) v = _mm256_add_ps(_mm256_loadu_ps(bias + j), v);
    v = _mm256_max_ps(vlo, _mm256_min_ps(vhi, v));
    _mm256_storeu_ps(dst + j, v);
  }
  if (j < n) {
    scalar::hybrid_output_row(acc + j, n - j, zero_point, column_sums + j, row_scale,
                              per_channel ? weight_scales + j : weight_scales, per_channel,
                              bias != nullptr ? bias + j : nullptr, lo, hi, dst + j);
  }
}

/// The hybrid output kernel of this ISA as one registry entry (qsparse/kernels/hybrid_output_kernels.hpp).
struct hybrid_output_kernel {
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "hybrid_output_s32_f32__avx2"; }
  template <class... Args>
  QSPARSE_TARGET_AVX2 static void hybrid_output_row(Args&&... args) {
    avx2::hybrid_output_row(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx2

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
