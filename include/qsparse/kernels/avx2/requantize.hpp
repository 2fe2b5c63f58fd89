// qsparse/kernels/avx2/requantize.hpp — TFLite fixed-point requantization of 8/16-bit tensors on 8 lanes.
//
// The same steps as kernels/avx512/requantize.hpp; blocks of 32 in SIMD, the remainder on the scalar
// definition (requantize_value_fixed_point).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx2/fixed_point.hpp"
#include "qsparse/kernels/avx2/quantize.hpp"
#include "qsparse/kernels/scalar/requantize.hpp"

#if QSPARSE_X86
#include <immintrin.h>
#include <utility>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::avx2 {

template <class OutStorage, class In>
QSPARSE_TARGET_AVX2 void requantize_fixed_point(const In* q, typename storage_traits<OutStorage>::value_type* out,
                                                std::ptrdiff_t n, std::int32_t in_zero_point, quantized_multiplier m,
                                                std::int32_t out_zero_point) {
  static_assert(sizeof(In) <= 2 && sizeof(typename storage_traits<OutStorage>::value_type) <= 2,
                "avx2::requantize_fixed_point: 8- and 16-bit storage only");
  const __m256i in_zp = _mm256_set1_epi32(in_zero_point);
  const __m256i multiplier = _mm256_set1_epi32(m.multiplier);
  const __m256i left = _mm256_set1_epi32(m.shift > 0 ? m.shift : 0);
  const __m256i right = _mm256_set1_epi32(m.shift > 0 ? 0 : -m.shift);
  const __m256i lo = _mm256_set1_epi32(storage_traits<OutStorage>::qmin - out_zero_point);
  const __m256i hi = _mm256_set1_epi32(storage_traits<OutStorage>::qmax - out_zero_point);
  const __m256i out_zp = _mm256_set1_epi32(out_zero_point);
  std::ptrdiff_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i y[4];
    for (int j = 0; j < 4; ++j) {
      const __m256i x = _mm256_sub_epi32(load_widen8(q + i + 8 * j), in_zp);
      const __m256i r = multiply_by_quantized_multiplier(x, multiplier, left, right);
      y[j] = _mm256_add_epi32(_mm256_min_epi32(_mm256_max_epi32(r, lo), hi), out_zp);
    }
    store_narrow32(out + i, y[0], y[1], y[2], y[3]);
  }
  for (; i < n; ++i) out[i] = requantize_value_fixed_point<OutStorage>(q[i], in_zero_point, m, out_zero_point);
}

/// The requantize kernels of this ISA as one registry entry (qsparse/kernels/requantize_kernels.hpp).
struct requantize_kernel {
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "requantize_fixed_point__avx2"; }
  template <class OutStorage, class... Args>
  QSPARSE_TARGET_AVX2 static void requantize_fixed_point(Args&&... args) {
    avx2::requantize_fixed_point<OutStorage>(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx2

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
