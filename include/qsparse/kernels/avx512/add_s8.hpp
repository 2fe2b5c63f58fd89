// qsparse/kernels/avx512/add_s8.hpp — TFLite's int8 ADD on AVX-512BW, 16 values per vector, with the
// fixed-point multiply of kernels/avx512/fixed_point.hpp (bit-exact with the scalar definition).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/fixed_point.hpp"
#include "qsparse/spec/add_params.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

struct add_s8 {
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() { return "add_s8_c16__avx512"; }

  QSPARSE_TARGET_AVX512 static void run(const std::int8_t* a, const std::int8_t* b, std::int8_t* out,
                                        std::ptrdiff_t count, const add_params& p) {
    const __m512i zero = _mm512_setzero_si512();
    const __m512i offset_a = _mm512_set1_epi32(p.input1_offset);
    const __m512i offset_b = _mm512_set1_epi32(p.input2_offset);
    const __m512i m_a = _mm512_set1_epi32(p.input1_multiplier);
    const __m512i m_b = _mm512_set1_epi32(p.input2_multiplier);
    const __m512i m_out = _mm512_set1_epi32(p.output_multiplier);
    const __m512i r_a = _mm512_set1_epi32(-p.input1_shift);  // shifts are <= 0: right shifts only
    const __m512i r_b = _mm512_set1_epi32(-p.input2_shift);
    const __m512i r_out = _mm512_set1_epi32(-p.output_shift);
    const __m512i zp_out = _mm512_set1_epi32(p.output_offset);
    const __m512i lo = _mm512_set1_epi32(p.activation_min);
    const __m512i hi = _mm512_set1_epi32(p.activation_max);
    const int left = p.left_shift;
    for (std::ptrdiff_t i = 0; i < count; i += 16) {
      const std::ptrdiff_t rest = count - i;
      const auto mask = static_cast<__mmask16>(rest >= 16 ? 0xFFFF : (1u << rest) - 1u);
      const __m512i va = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, a + i));
      const __m512i vb = _mm512_cvtepi8_epi32(_mm_maskz_loadu_epi8(mask, b + i));
      const __m512i sa = _mm512_sll_epi32(_mm512_add_epi32(va, offset_a), _mm_cvtsi32_si128(left));
      const __m512i sb = _mm512_sll_epi32(_mm512_add_epi32(vb, offset_b), _mm_cvtsi32_si128(left));
      const __m512i sum = _mm512_add_epi32(multiply_by_quantized_multiplier(sa, m_a, zero, r_a),
                                           multiply_by_quantized_multiplier(sb, m_b, zero, r_b));
      __m512i v = _mm512_add_epi32(multiply_by_quantized_multiplier(sum, m_out, zero, r_out), zp_out);
      v = _mm512_min_epi32(_mm512_max_epi32(v, lo), hi);
      _mm512_mask_cvtepi32_storeu_epi8(out + i, mask, v);
    }
  }
};

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
