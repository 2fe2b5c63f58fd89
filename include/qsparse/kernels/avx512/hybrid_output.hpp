// qsparse/kernels/avx512/hybrid_output.hpp — the float output of a dynamic-range GEMM row on 16 lanes
// (AVX-512 F). The operations of qsparse/kernels/scalar/hybrid_output.hpp per element (vpmulld / vpsubd
// wrap as the scalar uint32 arithmetic; each product kept from FMA contraction; the clamp as
// max(lo, min(hi, v)) with the constants first, which passes NaN as the scalar clamp does), so the results
// are equal bit for bit. Tails use masked loads and stores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/spec/output_stages.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::avx512 {

QSPARSE_TARGET_AVX512 inline void hybrid_output_row(const std::int32_t* acc, std::ptrdiff_t n, std::int32_t zero_point,
                                                    const std::int32_t* column_sums, float row_scale,
                                                    const float* weight_scales, bool per_channel, const float* bias,
                                                    float lo, float hi, float* dst) {
  const __m512i zp = _mm512_set1_epi32(zero_point);
  const __m512 rs = _mm512_set1_ps(row_scale);
  const __m512 tensor_scale = _mm512_set1_ps(qsparse::detail::product_not_fused(row_scale, weight_scales[0]));
  const __m512 vlo = _mm512_set1_ps(lo), vhi = _mm512_set1_ps(hi);
  for (std::ptrdiff_t j = 0; j < n; j += 16) {
    const __mmask16 m = n - j >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - j)) - 1u);
    const __m512i a = _mm512_maskz_loadu_epi32(m, acc + j);
    const __m512i cs = _mm512_maskz_loadu_epi32(m, column_sums + j);
    const __m512i corrected = _mm512_sub_epi32(a, _mm512_mullo_epi32(zp, cs));
    __m512 scale = tensor_scale;
    if (per_channel) {
      scale = _mm512_mul_ps(rs, _mm512_maskz_loadu_ps(m, weight_scales + j));
      QSPARSE_KEEP_ROUNDED(scale);
    }
    __m512 v = _mm512_mul_ps(_mm512_cvtepi32_ps(corrected), scale);
    QSPARSE_KEEP_ROUNDED(v);
    if (bias != nullptr) v = _mm512_add_ps(_mm512_maskz_loadu_ps(m, bias + j), v);
    v = _mm512_max_ps(vlo, _mm512_min_ps(vhi, v));
    _mm512_mask_storeu_ps(dst + j, m, v);
  }
}

/// The hybrid output kernel of this ISA as one registry entry (qsparse/kernels/hybrid_output_kernels.hpp).
struct hybrid_output_kernel {
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() { return "hybrid_output_s32_f32__avx512"; }
  template <class... Args>
  QSPARSE_TARGET_AVX512 static void hybrid_output_row(Args&&... args) {
    avx512::hybrid_output_row(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx512

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
