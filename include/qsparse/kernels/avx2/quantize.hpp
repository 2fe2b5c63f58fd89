// qsparse/kernels/avx2/quantize.hpp — quantize / dequantize loops on 8 float lanes (AVX2).
//
// Same contract as qsparse/kernels/scalar/quantize.hpp and the same per-lane steps as the AVX-512
// version; bit-exact with quantize_value / dequantize_value for 8- and 16-bit storage. Full blocks of
// 32 (quantize) or 8 (dequantize) lanes run in SIMD; the remainder runs the scalar definition.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/stream_prefetch.hpp"
#include "qsparse/quant/quantize_value.hpp"

#if QSPARSE_X86
#include <immintrin.h>
#include <utility>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::avx2 {

/// Prefetches prefetch_bytes ahead of p (qsparse/kernels/stream_prefetch.hpp).
QSPARSE_TARGET_AVX2 inline void prefetch_ahead(const float* p) {
  _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(p) + prefetch_bytes), _MM_HINT_T0);
}

template <class Rounding>
QSPARSE_TARGET_AVX2 inline __m256 round_ps(__m256 y) {
  if constexpr (std::is_same_v<Rounding, round_half_to_even>) {
    return _mm256_round_ps(y, _MM_FROUND_TO_NEAREST_INT | _MM_FROUND_NO_EXC);
  } else {
    const __m256 sign_bit = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0x80000000u)));
    const __m256 t = _mm256_round_ps(y, _MM_FROUND_TO_ZERO | _MM_FROUND_NO_EXC);
    const __m256 frac = _mm256_andnot_ps(sign_bit, _mm256_sub_ps(y, t));  // |y - trunc(y)|, exact
    const __m256 away = _mm256_cmp_ps(frac, _mm256_set1_ps(0.5f), _CMP_GE_OQ);
    const __m256 one = _mm256_or_ps(_mm256_set1_ps(1.0f), _mm256_and_ps(y, sign_bit));
    return _mm256_add_ps(t, _mm256_and_ps(away, one));
  }
}

template <class Rounding>
QSPARSE_TARGET_AVX2 inline __m256i quantize_ps(__m256 x, __m256 scale_or_inverse, __m256 lo, __m256 hi,
                                               __m256i zero_point) {
  const __m256 y = Rounding::multiplies_by_reciprocal ? _mm256_mul_ps(x, scale_or_inverse)
                                                      : _mm256_div_ps(x, scale_or_inverse);
  __m256 r = round_ps<Rounding>(y);
  r = _mm256_and_ps(r, _mm256_cmp_ps(r, r, _CMP_ORD_Q));  // NaN → 0
  r = _mm256_min_ps(_mm256_max_ps(r, lo), hi);
  return _mm256_add_epi32(_mm256_cvttps_epi32(r), zero_point);
}

/// Narrows 4 x 8 int32 lanes (already inside T's range) to 32 values of T, in order.
template <class T>
QSPARSE_TARGET_AVX2 inline void store_narrow32(T* q, __m256i a, __m256i b, __m256i c, __m256i d) {
  const __m256i ab = _mm256_packs_epi32(a, b);  // a0-3 b0-3 | a4-7 b4-7
  const __m256i cd = _mm256_packs_epi32(c, d);
  if constexpr (sizeof(T) == 2) {
    const __m256i lo = _mm256_permute4x64_epi64(ab, 0xD8);
    const __m256i hi = _mm256_permute4x64_epi64(cd, 0xD8);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), lo);
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + 16), hi);
  } else {
    const __m256i bytes = std::is_signed_v<T> ? _mm256_packs_epi16(ab, cd) : _mm256_packus_epi16(ab, cd);
    const __m256i ordered = _mm256_permutevar8x32_epi32(bytes, _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q), ordered);
  }
}

template <class T>
QSPARSE_TARGET_AVX2 inline __m256i load_widen8(const T* q) {
  if constexpr (std::is_same_v<T, std::int8_t>) {
    return _mm256_cvtepi8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q)));
  } else if constexpr (std::is_same_v<T, std::uint8_t>) {
    return _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(q)));
  } else {
    static_assert(std::is_same_v<T, std::int16_t>, "avx2::load_widen8: 8- and 16-bit storage only");
    return _mm256_cvtepi16_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(q)));
  }
}

template <class Rounding, class Storage>
QSPARSE_TARGET_AVX2 void quantize_uniform(const float* x, typename storage_traits<Storage>::value_type* q,
                                          std::ptrdiff_t n, float scale, std::int32_t zero_point) {
  using T = typename storage_traits<Storage>::value_type;
  static_assert(sizeof(T) <= 2, "avx2::quantize_uniform: 8- and 16-bit storage only");
  const __m256 s = _mm256_set1_ps(Rounding::multiplies_by_reciprocal ? 1.0f / scale : scale);
  const __m256 lo = _mm256_set1_ps(static_cast<float>(storage_traits<Storage>::qmin - zero_point));
  const __m256 hi = _mm256_set1_ps(static_cast<float>(storage_traits<Storage>::qmax - zero_point));
  const __m256i zp = _mm256_set1_epi32(zero_point);
  std::ptrdiff_t i = 0;
  // Software prefetch 8 KiB ahead on runs past L1 (see kernels/avx512/quantize.hpp).
  const bool prefetch = n >= prefetch_threshold;
  for (; i + 32 <= n; i += 32) {
    if (prefetch) {
      prefetch_ahead(x + i);
      prefetch_ahead(x + i + 16);
    }
    store_narrow32(q + i, quantize_ps<Rounding>(_mm256_loadu_ps(x + i), s, lo, hi, zp),
                   quantize_ps<Rounding>(_mm256_loadu_ps(x + i + 8), s, lo, hi, zp),
                   quantize_ps<Rounding>(_mm256_loadu_ps(x + i + 16), s, lo, hi, zp),
                   quantize_ps<Rounding>(_mm256_loadu_ps(x + i + 24), s, lo, hi, zp));
  }
  for (; i < n; ++i) q[i] = quantize_value<Rounding, Storage>(x[i], scale, zero_point);
}

template <class Rounding, class Storage>
QSPARSE_TARGET_AVX2 void quantize_channelwise(const float* x, typename storage_traits<Storage>::value_type* q,
                                              std::ptrdiff_t n, const float* scale, const std::int32_t* zero_point) {
  using T = typename storage_traits<Storage>::value_type;
  static_assert(sizeof(T) <= 2, "avx2::quantize_channelwise: 8- and 16-bit storage only");
  const __m256i qmin = _mm256_set1_epi32(storage_traits<Storage>::qmin);
  const __m256i qmax = _mm256_set1_epi32(storage_traits<Storage>::qmax);
  const __m256 one = _mm256_set1_ps(1.0f);
  std::ptrdiff_t i = 0;
  for (; i + 32 <= n; i += 32) {
    __m256i v[4];
    for (int j = 0; j < 4; ++j) {
      const __m256i zp = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(zero_point + i + 8 * j));
      __m256 s = _mm256_loadu_ps(scale + i + 8 * j);
      if (Rounding::multiplies_by_reciprocal) s = _mm256_div_ps(one, s);
      const __m256 lo = _mm256_cvtepi32_ps(_mm256_sub_epi32(qmin, zp));
      const __m256 hi = _mm256_cvtepi32_ps(_mm256_sub_epi32(qmax, zp));
      v[j] = quantize_ps<Rounding>(_mm256_loadu_ps(x + i + 8 * j), s, lo, hi, zp);
    }
    store_narrow32(q + i, v[0], v[1], v[2], v[3]);
  }
  for (; i < n; ++i) q[i] = quantize_value<Rounding, Storage>(x[i], scale[i], zero_point[i]);
}

template <class Rounding, class T>
QSPARSE_TARGET_AVX2 void dequantize_uniform(const T* q, float* x, std::ptrdiff_t n, float scale,
                                            std::int32_t zero_point) {
  static_assert(sizeof(T) <= 2, "avx2::dequantize_uniform: 8- and 16-bit storage only");
  const __m256 s = _mm256_set1_ps(scale);
  const __m256i zp = _mm256_set1_epi32(zero_point);
  std::ptrdiff_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const __m256 a = _mm256_cvtepi32_ps(_mm256_sub_epi32(load_widen8(q + i), zp));
    const __m256 b = _mm256_cvtepi32_ps(_mm256_sub_epi32(load_widen8(q + i + 8), zp));
    _mm256_storeu_ps(x + i, _mm256_mul_ps(a, s));
    _mm256_storeu_ps(x + i + 8, _mm256_mul_ps(b, s));
  }
  for (; i < n; ++i) x[i] = dequantize_value<Rounding>(q[i], scale, zero_point);
}

template <class Rounding, class T>
QSPARSE_TARGET_AVX2 void dequantize_channelwise(const T* q, float* x, std::ptrdiff_t n, const float* scale,
                                                const std::int32_t* zero_point) {
  static_assert(sizeof(T) <= 2, "avx2::dequantize_channelwise: 8- and 16-bit storage only");
  std::ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256i zp = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(zero_point + i));
    const __m256 a = _mm256_cvtepi32_ps(_mm256_sub_epi32(load_widen8(q + i), zp));
    _mm256_storeu_ps(x + i, _mm256_mul_ps(a, _mm256_loadu_ps(scale + i)));
  }
  for (; i < n; ++i) x[i] = dequantize_value<Rounding>(q[i], scale[i], zero_point[i]);
}

/// The quantize kernels of this ISA as one registry entry (qsparse/kernels/quantize_kernels.hpp).
struct quantize_kernel {
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "quantize_f32__avx2"; }
  template <class Rounding, class Storage, class... Args>
  QSPARSE_TARGET_AVX2 static void quantize_uniform(Args&&... args) {
    avx2::quantize_uniform<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class Storage, class... Args>
  QSPARSE_TARGET_AVX2 static void quantize_channelwise(Args&&... args) {
    avx2::quantize_channelwise<Rounding, Storage>(std::forward<Args>(args)...);
  }
  template <class Rounding, class... Args>
  QSPARSE_TARGET_AVX2 static void dequantize_uniform(Args&&... args) {
    avx2::dequantize_uniform<Rounding>(std::forward<Args>(args)...);
  }
  template <class Rounding, class... Args>
  QSPARSE_TARGET_AVX2 static void dequantize_channelwise(Args&&... args) {
    avx2::dequantize_channelwise<Rounding>(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx2

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
