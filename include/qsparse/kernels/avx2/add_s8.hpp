// qsparse/kernels/avx2/add_s8.hpp — TFLite's int8 ADD on AVX2, 8 values per vector, with the
// fixed-point multiply of kernels/avx2/fixed_point.hpp (bit-exact with the scalar definition).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx2/fixed_point.hpp"
#include "qsparse/spec/add_params.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx2 {

struct add_s8 {
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "add_s8_c8__avx2"; }

  QSPARSE_TARGET_AVX2 static void run(const std::int8_t* a, const std::int8_t* b, std::int8_t* out,
                                      std::ptrdiff_t count, const add_params& p) {
    const __m256i zero = _mm256_setzero_si256();
    const __m256i offset_a = _mm256_set1_epi32(p.input1_offset);
    const __m256i offset_b = _mm256_set1_epi32(p.input2_offset);
    const __m256i m_a = _mm256_set1_epi32(p.input1_multiplier);
    const __m256i m_b = _mm256_set1_epi32(p.input2_multiplier);
    const __m256i m_out = _mm256_set1_epi32(p.output_multiplier);
    const __m256i r_a = _mm256_set1_epi32(-p.input1_shift);
    const __m256i r_b = _mm256_set1_epi32(-p.input2_shift);
    const __m256i r_out = _mm256_set1_epi32(-p.output_shift);
    const __m256i zp_out = _mm256_set1_epi32(p.output_offset);
    const __m256i lo = _mm256_set1_epi32(p.activation_min);
    const __m256i hi = _mm256_set1_epi32(p.activation_max);
    const __m128i left = _mm_cvtsi32_si128(p.left_shift);
    for (std::ptrdiff_t i = 0; i < count; i += 8) {
      const auto n = static_cast<std::size_t>(count - i < 8 ? count - i : 8);
      std::int64_t wa = 0, wb = 0;
      std::memcpy(&wa, a + i, n);
      std::memcpy(&wb, b + i, n);
      const __m256i va = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(wa));
      const __m256i vb = _mm256_cvtepi8_epi32(_mm_cvtsi64_si128(wb));
      const __m256i sa = _mm256_sll_epi32(_mm256_add_epi32(va, offset_a), left);
      const __m256i sb = _mm256_sll_epi32(_mm256_add_epi32(vb, offset_b), left);
      const __m256i sum = _mm256_add_epi32(multiply_by_quantized_multiplier(sa, m_a, zero, r_a),
                                           multiply_by_quantized_multiplier(sb, m_b, zero, r_b));
      __m256i v = _mm256_add_epi32(multiply_by_quantized_multiplier(sum, m_out, zero, r_out), zp_out);
      v = _mm256_min_epi32(_mm256_max_epi32(v, lo), hi);
      const __m128i words = _mm_packs_epi32(_mm256_castsi256_si128(v), _mm256_extracti128_si256(v, 1));
      const std::int64_t bytes = _mm_cvtsi128_si64(_mm_packs_epi16(words, words));
      std::memcpy(out + i, &bytes, n);
    }
  }
};

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
