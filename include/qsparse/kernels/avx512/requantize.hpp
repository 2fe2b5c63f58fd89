// qsparse/kernels/avx512/requantize.hpp — TFLite fixed-point requantization of 8/16-bit tensors on 16 lanes.
//
// Bit-exact with requantize_value_fixed_point (qsparse/kernels/scalar/requantize.hpp): widen, subtract
// the input zero point (exact in int32 for 8/16-bit input), multiply_by_quantized_multiplier (double
// rounding), clamp to [qmin - out_zp, qmax - out_zp] (so adding the zero point cannot overflow), add, narrow.
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/fixed_point.hpp"
#include "qsparse/kernels/avx512/quantize.hpp"
#include "qsparse/quant/fixed_point.hpp"

#if QSPARSE_X86
#include <immintrin.h>
#include <utility>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::avx512 {

template <class OutStorage, class In>
QSPARSE_TARGET_AVX512 void requantize_fixed_point(const In* q, typename storage_traits<OutStorage>::value_type* out,
                                                  std::ptrdiff_t n, std::int32_t in_zero_point, quantized_multiplier m,
                                                  std::int32_t out_zero_point) {
  static_assert(sizeof(In) <= 2 && sizeof(typename storage_traits<OutStorage>::value_type) <= 2,
                "avx512::requantize_fixed_point: 8- and 16-bit storage only");
  const __m512i in_zp = _mm512_set1_epi32(in_zero_point);
  const __m512i multiplier = _mm512_set1_epi32(m.multiplier);
  const __m512i left = _mm512_set1_epi32(m.shift > 0 ? m.shift : 0);
  const __m512i right = _mm512_set1_epi32(m.shift > 0 ? 0 : -m.shift);
  const __m512i lo = _mm512_set1_epi32(storage_traits<OutStorage>::qmin - out_zero_point);
  const __m512i hi = _mm512_set1_epi32(storage_traits<OutStorage>::qmax - out_zero_point);
  const __m512i out_zp = _mm512_set1_epi32(out_zero_point);
  for (std::ptrdiff_t i = 0; i < n; i += 16) {
    const __mmask16 mask = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - i);
    const __m512i x = _mm512_sub_epi32(load_widen_masked(q + i, mask), in_zp);
    __m512i y = multiply_by_quantized_multiplier(x, multiplier, left, right);
    y = _mm512_add_epi32(_mm512_min_epi32(_mm512_max_epi32(y, lo), hi), out_zp);
    store_narrow_masked(out + i, mask, y);
  }
}

/// The requantize kernels of this ISA as one registry entry (qsparse/kernels/requantize_kernels.hpp).
struct requantize_kernel {
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() { return "requantize_fixed_point__avx512"; }
  template <class OutStorage, class... Args>
  QSPARSE_TARGET_AVX512 static void requantize_fixed_point(Args&&... args) {
    avx512::requantize_fixed_point<OutStorage>(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx512

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
