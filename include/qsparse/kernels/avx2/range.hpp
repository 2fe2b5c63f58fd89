// qsparse/kernels/avx2/range.hpp — the finite range of float arrays on 8 lanes (AVX2).
//
// Same contract as qsparse/kernels/scalar/range.hpp and bit-exact with it: non-finite lanes are replaced by
// +inf (for the min) and -inf (for the max), vminps / vmaxps keep the held value on equality, and the final
// `+ 0.0f` makes the sign of a zero bound independent of the reduction order. Runs past L1 prefetch 8 KiB
// ahead. The remainder below 8 elements runs the scalar loop. finite_range_checked also ANDs the finite
// lanes' masks, to say whether every value was finite.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/scalar/range.hpp"
#include "qsparse/kernels/stream_prefetch.hpp"

#if QSPARSE_X86
#include <immintrin.h>
#include <utility>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::avx2 {

namespace range_detail {

QSPARSE_TARGET_AVX2 inline __m256 finite_mask(__m256 x) {
  const __m256 sign = _mm256_castsi256_ps(_mm256_set1_epi32(static_cast<int>(0x80000000u)));
  return _mm256_cmp_ps(_mm256_andnot_ps(sign, x), _mm256_set1_ps(std::numeric_limits<float>::infinity()), _CMP_LT_OQ);
}

template <bool Check>
QSPARSE_TARGET_AVX2 inline void step(__m256 x, __m256& lo, __m256& hi, __m256& all) {
  const float inf = std::numeric_limits<float>::infinity();
  const __m256 m = finite_mask(x);
  if constexpr (Check) all = _mm256_and_ps(all, m);
  lo = _mm256_min_ps(_mm256_blendv_ps(_mm256_set1_ps(inf), x, m), lo);
  hi = _mm256_max_ps(_mm256_blendv_ps(_mm256_set1_ps(-inf), x, m), hi);
}

QSPARSE_TARGET_AVX2 inline float reduce_min(__m256 v) {
  __m128 m = _mm_min_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_min_ps(m, _mm_movehl_ps(m, m));
  m = _mm_min_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

QSPARSE_TARGET_AVX2 inline float reduce_max(__m256 v) {
  __m128 m = _mm_max_ps(_mm256_castps256_ps128(v), _mm256_extractf128_ps(v, 1));
  m = _mm_max_ps(m, _mm_movehl_ps(m, m));
  m = _mm_max_ss(m, _mm_shuffle_ps(m, m, 1));
  return _mm_cvtss_f32(m);
}

/// finite_range, and (Check) whether every value was finite: the finite lanes' masks ANDed together.
template <bool Check>
QSPARSE_TARGET_AVX2 inline bool finite_range_impl(const float* x, std::ptrdiff_t n, float& lo, float& hi) {
  const float inf = std::numeric_limits<float>::infinity();
  __m256 l0 = _mm256_set1_ps(inf), l1 = l0, l2 = l0, l3 = l0;
  __m256 h0 = _mm256_set1_ps(-inf), h1 = h0, h2 = h0, h3 = h0;
  __m256 all = _mm256_castsi256_ps(_mm256_set1_epi32(-1));
  std::ptrdiff_t i = 0;
  const bool prefetch = n >= prefetch_threshold;
  for (; i + 32 <= n; i += 32) {
    if (prefetch) {
      for (int k = 0; k < 2; ++k) {
        _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(x + i + 16 * k) + prefetch_bytes),
                     _MM_HINT_T0);
      }
    }
    step<Check>(_mm256_loadu_ps(x + i), l0, h0, all);
    step<Check>(_mm256_loadu_ps(x + i + 8), l1, h1, all);
    step<Check>(_mm256_loadu_ps(x + i + 16), l2, h2, all);
    step<Check>(_mm256_loadu_ps(x + i + 24), l3, h3, all);
  }
  for (; i + 8 <= n; i += 8) step<Check>(_mm256_loadu_ps(x + i), l0, h0, all);
  float l = reduce_min(_mm256_min_ps(_mm256_min_ps(l0, l1), _mm256_min_ps(l2, l3)));
  float h = reduce_max(_mm256_max_ps(_mm256_max_ps(h0, h1), _mm256_max_ps(h2, h3)));
  bool finite = _mm256_movemask_ps(all) == 0xFF;
  if constexpr (Check) {
    finite = scalar::finite_range_checked(x + i, n - i, l, h) && finite;
  } else {
    scalar::finite_range(x + i, n - i, l, h);
  }
  lo = (l < lo ? l : lo) + 0.0f;
  hi = (h > hi ? h : hi) + 0.0f;
  return finite;
}

}  // namespace range_detail

QSPARSE_TARGET_AVX2 inline void finite_range(const float* x, std::ptrdiff_t n, float& lo, float& hi) {
  range_detail::finite_range_impl<false>(x, n, lo, hi);
}

/// finite_range; true when every x[0..n) is finite.
QSPARSE_TARGET_AVX2 inline bool finite_range_checked(const float* x, std::ptrdiff_t n, float& lo, float& hi) {
  return range_detail::finite_range_impl<true>(x, n, lo, hi);
}

QSPARSE_TARGET_AVX2 inline void finite_range_channelwise(const float* x, std::ptrdiff_t n, float* lo, float* hi) {
  using namespace range_detail;
  const __m256 zero = _mm256_setzero_ps();
  std::ptrdiff_t i = 0;
  for (; i + 8 <= n; i += 8) {
    const __m256 v = _mm256_loadu_ps(x + i);
    const __m256 m = finite_mask(v);
    const __m256 l = _mm256_loadu_ps(lo + i);
    const __m256 h = _mm256_loadu_ps(hi + i);
    _mm256_storeu_ps(lo + i, _mm256_blendv_ps(l, _mm256_add_ps(_mm256_min_ps(v, l), zero), m));
    _mm256_storeu_ps(hi + i, _mm256_blendv_ps(h, _mm256_add_ps(_mm256_max_ps(v, h), zero), m));
  }
  scalar::finite_range_channelwise(x + i, n - i, lo + i, hi + i);
}

/// The range kernels of this ISA as one registry entry (qsparse/kernels/range_kernels.hpp).
struct range_kernel {
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "finite_range_f32__avx2"; }
  template <class... Args>
  QSPARSE_TARGET_AVX2 static void finite_range(Args&&... args) {
    avx2::finite_range(std::forward<Args>(args)...);
  }
  template <class... Args>
  QSPARSE_TARGET_AVX2 static bool finite_range_checked(Args&&... args) {
    return avx2::finite_range_checked(std::forward<Args>(args)...);
  }
  template <class... Args>
  QSPARSE_TARGET_AVX2 static void finite_range_channelwise(Args&&... args) {
    avx2::finite_range_channelwise(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx2

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
