// qsparse/kernels/avx512/fake_quant.hpp — fake quantization forward / backward on 16 lanes (AVX-512).
//
// Same contract as qsparse/kernels/scalar/fake_quant.hpp, bit-exact with it for 8- and 16-bit storage
// (int32 storage stays on the scalar loops). Per 16 lanes, with the rounding of
// qsparse/kernels/avx512/quantize.hpp (the quantize kernel's own round_ps):
//   r = round(x / scale) or round(x * (1/scale));  pass = lo <= r <= hi (ordered: false for NaN)
//   r = NaN ? 0 : r;  r = min(max(r, lo), hi)        (lo = qmin - zp, hi = qmax - zp, exact in float)
//   y = (r + 0.0f) * scale                          (r = q - zp exactly; + 0 turns -0 into the +0 of an integer)
//   dx = dy * (pass ? 1 : 0)
// Long per-tensor runs prefetch 8 KiB ahead as the quantize loop does; tails use masked loads and stores.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/quantize.hpp"
#include "qsparse/quant/quantize_value.hpp"

#if QSPARSE_X86
#include <immintrin.h>
#include <utility>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::avx512 {

namespace fake_quant_detail {

/// The clamped r (as float) and the pass mask of 16 lanes.
template <class Rounding>
QSPARSE_TARGET_AVX512 inline __m512 clamped_levels(__m512 x, __m512 scale_or_inverse, __m512 lo, __m512 hi,
                                                   __mmask16& pass) {
  const __m512 y = Rounding::multiplies_by_reciprocal ? _mm512_mul_ps(x, scale_or_inverse)
                                                      : _mm512_div_ps(x, scale_or_inverse);
  __m512 r = round_ps<Rounding>(y);
  pass = _mm512_cmp_ps_mask(r, lo, _CMP_GE_OQ) & _mm512_cmp_ps_mask(r, hi, _CMP_LE_OQ);
  r = _mm512_maskz_mov_ps(_mm512_cmp_ps_mask(r, r, _CMP_ORD_Q), r);
  return _mm512_min_ps(_mm512_max_ps(r, lo), hi);
}

QSPARSE_TARGET_AVX512 inline void store_mask(std::uint8_t* mask, __mmask16 pass, __mmask16 valid) {
  _mm_mask_storeu_epi8(mask, valid, _mm_maskz_mov_epi8(pass, _mm_set1_epi8(1)));
}

}  // namespace fake_quant_detail

template <class Rounding, class Storage>
QSPARSE_TARGET_AVX512 void fake_quantize_uniform(const float* x, float* y, std::uint8_t* mask, std::ptrdiff_t n,
                                                 float scale, std::int32_t zero_point) {
  using namespace fake_quant_detail;
  static_assert(sizeof(typename storage_traits<Storage>::value_type) <= 2,
                "avx512::fake_quantize_uniform: 8- and 16-bit storage only");
  const __m512 s = _mm512_set1_ps(Rounding::multiplies_by_reciprocal ? 1.0f / scale : scale);
  const __m512 sc = _mm512_set1_ps(scale);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(storage_traits<Storage>::qmin - zero_point));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(storage_traits<Storage>::qmax - zero_point));
  const __m512 zero = _mm512_setzero_ps();
  const bool prefetch = n >= prefetch_threshold;
  std::ptrdiff_t i = 0;
  for (; i + 64 <= n; i += 64) {
    if (prefetch)
      for (int k = 0; k < 4; ++k) prefetch_ahead(x + i + 16 * k);
    for (int k = 0; k < 4; ++k) {
      __mmask16 pass;
      const __m512 r = clamped_levels<Rounding>(_mm512_loadu_ps(x + i + 16 * k), s, lo, hi, pass);
      _mm512_storeu_ps(y + i + 16 * k, _mm512_mul_ps(_mm512_add_ps(r, zero), sc));
      if (mask != nullptr) store_mask(mask + i + 16 * k, pass, static_cast<__mmask16>(0xFFFF));
    }
  }
  for (; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - i);
    __mmask16 pass;
    const __m512 r = clamped_levels<Rounding>(_mm512_maskz_loadu_ps(m, x + i), s, lo, hi, pass);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_add_ps(r, zero), sc));
    if (mask != nullptr) store_mask(mask + i, pass, m);
  }
}

template <class Rounding, class Storage>
QSPARSE_TARGET_AVX512 void fake_quantize_channelwise(const float* x, float* y, std::uint8_t* mask, std::ptrdiff_t n,
                                                     const float* scale, const std::int32_t* zero_point) {
  using namespace fake_quant_detail;
  static_assert(sizeof(typename storage_traits<Storage>::value_type) <= 2,
                "avx512::fake_quantize_channelwise: 8- and 16-bit storage only");
  const __m512i qmin = _mm512_set1_epi32(storage_traits<Storage>::qmin);
  const __m512i qmax = _mm512_set1_epi32(storage_traits<Storage>::qmax);
  const __m512 one = _mm512_set1_ps(1.0f);
  const __m512 zero = _mm512_setzero_ps();
  for (std::ptrdiff_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - i);
    const __m512i zp = _mm512_maskz_loadu_epi32(m, zero_point + i);
    const __m512 sc = _mm512_mask_loadu_ps(one, m, scale + i);
    const __m512 s = Rounding::multiplies_by_reciprocal ? _mm512_div_ps(one, sc) : sc;
    const __m512 lo = _mm512_cvtepi32_ps(_mm512_sub_epi32(qmin, zp));
    const __m512 hi = _mm512_cvtepi32_ps(_mm512_sub_epi32(qmax, zp));
    __mmask16 pass;
    const __m512 r = clamped_levels<Rounding>(_mm512_maskz_loadu_ps(m, x + i), s, lo, hi, pass);
    _mm512_mask_storeu_ps(y + i, m, _mm512_mul_ps(_mm512_add_ps(r, zero), sc));
    if (mask != nullptr) store_mask(mask + i, pass, m);
  }
}

template <class Rounding, class Storage>
QSPARSE_TARGET_AVX512 void fake_quantize_backward_uniform(const float* x, const float* dy, float* dx, std::ptrdiff_t n,
                                                          float scale, std::int32_t zero_point) {
  using namespace fake_quant_detail;
  const __m512 s = _mm512_set1_ps(Rounding::multiplies_by_reciprocal ? 1.0f / scale : scale);
  const __m512 lo = _mm512_set1_ps(static_cast<float>(storage_traits<Storage>::qmin - zero_point));
  const __m512 hi = _mm512_set1_ps(static_cast<float>(storage_traits<Storage>::qmax - zero_point));
  const __m512 one = _mm512_set1_ps(1.0f);
  for (std::ptrdiff_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - i);
    __mmask16 pass;
    (void)clamped_levels<Rounding>(_mm512_maskz_loadu_ps(m, x + i), s, lo, hi, pass);
    _mm512_mask_storeu_ps(dx + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dy + i), _mm512_maskz_mov_ps(pass, one)));
  }
}

template <class Rounding, class Storage>
QSPARSE_TARGET_AVX512 void fake_quantize_backward_channelwise(const float* x, const float* dy, float* dx,
                                                              std::ptrdiff_t n, const float* scale,
                                                              const std::int32_t* zero_point) {
  using namespace fake_quant_detail;
  const __m512i qmin = _mm512_set1_epi32(storage_traits<Storage>::qmin);
  const __m512i qmax = _mm512_set1_epi32(storage_traits<Storage>::qmax);
  const __m512 one = _mm512_set1_ps(1.0f);
  for (std::ptrdiff_t i = 0; i < n; i += 16) {
    const __mmask16 m = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : tail_mask(n - i);
    const __m512i zp = _mm512_maskz_loadu_epi32(m, zero_point + i);
    const __m512 sc = _mm512_mask_loadu_ps(one, m, scale + i);
    const __m512 s = Rounding::multiplies_by_reciprocal ? _mm512_div_ps(one, sc) : sc;
    const __m512 lo = _mm512_cvtepi32_ps(_mm512_sub_epi32(qmin, zp));
    const __m512 hi = _mm512_cvtepi32_ps(_mm512_sub_epi32(qmax, zp));
    __mmask16 pass;
    (void)clamped_levels<Rounding>(_mm512_maskz_loadu_ps(m, x + i), s, lo, hi, pass);
    _mm512_mask_storeu_ps(dx + i, m, _mm512_mul_ps(_mm512_maskz_loadu_ps(m, dy + i), _mm512_maskz_mov_ps(pass, one)));
  }
}

/// The fake quant kernels of this ISA as one registry entry (qsparse/kernels/fake_quant_kernels.hpp).
struct fake_quantize_kernel {
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() { return "fake_quantize_f32__avx512"; }
  template <class Rounding, class Storage, class... Args>
  QSPARSE_TARGET_AVX512 static void fake_quantize_uniform(Args&&... args) {
    avx512::fake_quantize_uniform<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class Storage, class... Args>
  QSPARSE_TARGET_AVX512 static void fake_quantize_channelwise(Args&&... args) {
    avx512::fake_quantize_channelwise<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class Storage, class... Args>
  QSPARSE_TARGET_AVX512 static void fake_quantize_backward_uniform(Args&&... args) {
    avx512::fake_quantize_backward_uniform<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class Storage, class... Args>
  QSPARSE_TARGET_AVX512 static void fake_quantize_backward_channelwise(Args&&... args) {
    avx512::fake_quantize_backward_channelwise<Rounding, Storage>(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx512

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
