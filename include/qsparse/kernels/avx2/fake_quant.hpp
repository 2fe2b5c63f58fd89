// qsparse/kernels/avx2/fake_quant.hpp — fake quantization forward / backward on 8 lanes (AVX2).
//
// Same contract as qsparse/kernels/scalar/fake_quant.hpp and the per-lane steps of the AVX-512 version
// (qsparse/kernels/avx512/fake_quant.hpp), bit-exact with the scalar definition for 8- and 16-bit
// storage; the rounding is the AVX2 quantize kernel's round_ps. The remainder below 8 elements runs the
// scalar loop.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx2/quantize.hpp"
#include "qsparse/kernels/scalar/fake_quant.hpp"
#include "qsparse/quant/quantize_value.hpp"

#if QSPARSE_X86
#include <immintrin.h>
#include <utility>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::avx2 {

namespace fake_quant_detail {

/// The clamped r (as float) and the pass mask (all-ones lanes) of 8 lanes.
template <class Rounding>
QSPARSE_TARGET_AVX2 inline __m256 clamped_levels(__m256 x, __m256 scale_or_inverse, __m256 lo, __m256 hi,
                                                 __m256& pass) {
  const __m256 y = Rounding::multiplies_by_reciprocal ? _mm256_mul_ps(x, scale_or_inverse)
                                                      : _mm256_div_ps(x, scale_or_inverse);
  __m256 r = round_ps<Rounding>(y);
  pass = _mm256_and_ps(_mm256_cmp_ps(r, lo, _CMP_GE_OQ), _mm256_cmp_ps(r, hi, _CMP_LE_OQ));
  r = _mm256_and_ps(r, _mm256_cmp_ps(r, r, _CMP_ORD_Q));  // NaN → 0
  return _mm256_min_ps(_mm256_max_ps(r, lo), hi);
}

/// Eight 0/1 bytes from an all-ones / all-zeros lane mask.
QSPARSE_TARGET_AVX2 inline void store_mask(std::uint8_t* mask, __m256 pass) {
  const int bits = _mm256_movemask_ps(pass);
  for (int k = 0; k < 8; ++k) mask[k] = static_cast<std::uint8_t>((bits >> k) & 1);
}

}  // namespace fake_quant_detail

template <class Rounding, class Storage>
QSPARSE_TARGET_AVX2 void fake_quantize_uniform(const float* x, float* y, std::uint8_t* mask, std::ptrdiff_t n,
                                               float scale, std::int32_t zero_point) {
  using namespace fake_quant_detail;
  static_assert(sizeof(typename storage_traits<Storage>::value_type) <= 2,
                "avx2::fake_quantize_uniform: 8- and 16-bit storage only");
  const __m256 s = _mm256_set1_ps(Rounding::multiplies_by_reciprocal ? 1.0f / scale : scale);
  const __m256 sc = _mm256_set1_ps(scale);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(storage_traits<Storage>::qmin - zero_point));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(storage_traits<Storage>::qmax - zero_point));
  const __m256 zero = _mm256_setzero_ps();
  const bool prefetch = n >= prefetch_threshold;
  std::ptrdiff_t i = 0;
  for (; i + 32 <= n; i += 32) {
    if (prefetch)
      for (int k = 0; k < 2; ++k) prefetch_ahead(x + i + 16 * k);
    for (int k = 0; k < 4; ++k) {
      __m256 pass;
      const __m256 r = clamped_levels<Rounding>(_mm256_loadu_ps(x + i + 8 * k), s, lo, hi, pass);
      _mm256_storeu_ps(y + i + 8 * k, _mm256_mul_ps(_mm256_add_ps(r, zero), sc));
      if (mask != nullptr) store_mask(mask + i + 8 * k, pass);
    }
  }
  for (; i + 8 <= n; i += 8) {
    __m256 pass;
    const __m256 r = clamped_levels<Rounding>(_mm256_loadu_ps(x + i), s, lo, hi, pass);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_add_ps(r, zero), sc));
    if (mask != nullptr) store_mask(mask + i, pass);
  }
  scalar::fake_quantize_uniform<Rounding, Storage>(x + i, y + i, mask != nullptr ? mask + i : nullptr, n - i, scale,
                                                   zero_point);
}

template <class Rounding, class Storage>
QSPARSE_TARGET_AVX2 void fake_quantize_channelwise(const float* x, float* y, std::uint8_t* mask, std::ptrdiff_t n,
                                                   const float* scale, const std::int32_t* zero_point) {
  using namespace fake_quant_detail;
  static_assert(sizeof(typename storage_traits<Storage>::value_type) <= 2,
                "avx2::fake_quantize_channelwise: 8- and 16-bit storage only");
  const __m256i qmin = _mm256_set1_epi32(storage_traits<Storage>::qmin);
  const __m256i qmax = _mm256_set1_epi32(storage_traits<Storage>::qmax);
  const __m256 one = _mm256_set1_ps(1.0f);
  const __m256 zero = _mm256_setzero_ps();
  std::ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i zp = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(zero_point + i));
    const __m256 sc = _mm256_loadu_ps(scale + i);
    const __m256 s = Rounding::multiplies_by_reciprocal ? _mm256_div_ps(one, sc) : sc;
    const __m256 lo = _mm256_cvtepi32_ps(_mm256_sub_epi32(qmin, zp));
    const __m256 hi = _mm256_cvtepi32_ps(_mm256_sub_epi32(qmax, zp));
    __m256 pass;
    const __m256 r = clamped_levels<Rounding>(_mm256_loadu_ps(x + i), s, lo, hi, pass);
    _mm256_storeu_ps(y + i, _mm256_mul_ps(_mm256_add_ps(r, zero), sc));
    if (mask != nullptr) store_mask(mask + i, pass);
  }
  scalar::fake_quantize_channelwise<Rounding, Storage>(x + i, y + i, mask != nullptr ? mask + i : nullptr, n - i,
                                                       scale + i, zero_point + i);
}

template <class Rounding, class Storage>
QSPARSE_TARGET_AVX2 void fake_quantize_backward_uniform(const float* x, const float* dy, float* dx, std::ptrdiff_t n,
                                                        float scale, std::int32_t zero_point) {
  using namespace fake_quant_detail;
  const __m256 s = _mm256_set1_ps(Rounding::multiplies_by_reciprocal ? 1.0f / scale : scale);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(storage_traits<Storage>::qmin - zero_point));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(storage_traits<Storage>::qmax - zero_point));
  const __m256 one = _mm256_set1_ps(1.0f);
  std::ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) {
    __m256 pass;
    (void)clamped_levels<Rounding>(_mm256_loadu_ps(x + i), s, lo, hi, pass);
    _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), _mm256_and_ps(pass, one)));
  }
  scalar::fake_quantize_backward_uniform<Rounding, Storage>(x + i, dy + i, dx + i, n - i, scale, zero_point);
}

template <class Rounding, class Storage>
QSPARSE_TARGET_AVX2 void fake_quantize_backward_channelwise(const float* x, const float* dy, float* dx,
                                                            std::ptrdiff_t n, const float* scale,
                                                            const std::int32_t* zero_point) {
  using namespace fake_quant_detail;
  const __m256i qmin = _mm256_set1_epi32(storage_traits<Storage>::qmin);
  const __m256i qmax = _mm256_set1_epi32(storage_traits<Storage>::qmax);
  const __m256 one = _mm256_set1_ps(1.0f);
  std::ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i zp = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(zero_point + i));
    const __m256 sc = _mm256_loadu_ps(scale + i);
    const __m256 s = Rounding::multiplies_by_reciprocal ? _mm256_div_ps(one, sc) : sc;
    const __m256 lo = _mm256_cvtepi32_ps(_mm256_sub_epi32(qmin, zp));
    const __m256 hi = _mm256_cvtepi32_ps(_mm256_sub_epi32(qmax, zp));
    __m256 pass;
    (void)clamped_levels<Rounding>(_mm256_loadu_ps(x + i), s, lo, hi, pass);
    _mm256_storeu_ps(dx + i, _mm256_mul_ps(_mm256_loadu_ps(dy + i), _mm256_and_ps(pass, one)));
  }
  scalar::fake_quantize_backward_channelwise<Rounding, Storage>(x + i, dy + i, dx + i, n - i, scale + i,
                                                                zero_point + i);
}

/// The fake quant kernels of this ISA as one registry entry (qsparse/kernels/fake_quant_kernels.hpp).
struct fake_quantize_kernel {
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "fake_quantize_f32__avx2"; }
  template <class Rounding, class Storage, class... Args>
  QSPARSE_TARGET_AVX2 static void fake_quantize_uniform(Args&&... args) {
    avx2::fake_quantize_uniform<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class Storage, class... Args>
  QSPARSE_TARGET_AVX2 static void fake_quantize_channelwise(Args&&... args) {
    avx2::fake_quantize_channelwise<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class Storage, class... Args>
  QSPARSE_TARGET_AVX2 static void fake_quantize_backward_uniform(Args&&... args) {
    avx2::fake_quantize_backward_uniform<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class Storage, class... Args>
  QSPARSE_TARGET_AVX2 static void fake_quantize_backward_channelwise(Args&&... args) {
    avx2::fake_quantize_backward_channelwise<Rounding, Storage>(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx2

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
