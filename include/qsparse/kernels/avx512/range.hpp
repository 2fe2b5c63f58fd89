// qsparse/kernels/avx512/range.hpp — the finite range of float arrays on 16 lanes (AVX-512 F/BW/VL/DQ).
//
// Same contract as qsparse/kernels/scalar/range.hpp and bit-exact with it: NaN and ±inf are masked out
// (|x| < inf, ordered), vminps / vmaxps keep the held value on equality, and the final `+ 0.0f` makes the
// sign of a zero bound independent of the reduction order. Eight accumulators (four for min, four for
// max) hide the latency; runs past L1 prefetch 8 KiB ahead as the quantize loop does. Tails use masked loads.
// finite_range_checked also ANDs the finite lanes' masks, to say whether every value was finite.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/stream_prefetch.hpp"

#if QSPARSE_X86
#include <immintrin.h>
#include <utility>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::avx512 {

namespace range_detail {

QSPARSE_TARGET_AVX512 inline __mmask16 finite_mask(__m512 x) {
  return _mm512_cmp_ps_mask(_mm512_abs_ps(x), _mm512_set1_ps(std::numeric_limits<float>::infinity()), _CMP_LT_OQ);
}

template <bool Check>
QSPARSE_TARGET_AVX512 inline void step(__m512 x, __m512& lo, __m512& hi, __mmask16& all) {
  const __mmask16 m = finite_mask(x);
  if constexpr (Check) all = static_cast<__mmask16>(all & m);
  lo = _mm512_mask_min_ps(lo, m, x, lo);
  hi = _mm512_mask_max_ps(hi, m, x, hi);
}

/// finite_range, and (Check) whether every value was finite: the finite lanes' masks ANDed together.
template <bool Check>
QSPARSE_TARGET_AVX512 inline bool finite_range_impl(const float* x, std::ptrdiff_t n, float& lo, float& hi) {
  const float inf = std::numeric_limits<float>::infinity();
  __m512 l0 = _mm512_set1_ps(inf), l1 = l0, l2 = l0, l3 = l0;
  __m512 h0 = _mm512_set1_ps(-inf), h1 = h0, h2 = h0, h3 = h0;
  __mmask16 all = 0xFFFF;
  std::ptrdiff_t i = 0;
  const bool prefetch = n >= prefetch_threshold;
  for (; i + 64 <= n; i += 64) {
    if (prefetch) {
      for (int k = 0; k < 4; ++k) {
        _mm_prefetch(reinterpret_cast<const char*>(reinterpret_cast<std::uintptr_t>(x + i + 16 * k) + prefetch_bytes),
                     _MM_HINT_T0);
      }
    }
    step<Check>(_mm512_loadu_ps(x + i), l0, h0, all);
    step<Check>(_mm512_loadu_ps(x + i + 16), l1, h1, all);
    step<Check>(_mm512_loadu_ps(x + i + 32), l2, h2, all);
    step<Check>(_mm512_loadu_ps(x + i + 48), l3, h3, all);
  }
  for (; i + 16 <= n; i += 16) step<Check>(_mm512_loadu_ps(x + i), l0, h0, all);
  if (i < n) {
    const auto tail = static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512 v = _mm512_maskz_loadu_ps(tail, x + i);
    const __mmask16 f = finite_mask(v);
    if constexpr (Check) all = static_cast<__mmask16>(all & (f | static_cast<__mmask16>(~tail)));
    const __mmask16 m = static_cast<__mmask16>(f & tail);
    l1 = _mm512_mask_min_ps(l1, m, v, l1);
    h1 = _mm512_mask_max_ps(h1, m, v, h1);
  }
  const float l = _mm512_reduce_min_ps(_mm512_min_ps(_mm512_min_ps(l0, l1), _mm512_min_ps(l2, l3)));
  const float h = _mm512_reduce_max_ps(_mm512_max_ps(_mm512_max_ps(h0, h1), _mm512_max_ps(h2, h3)));
  lo = (l < lo ? l : lo) + 0.0f;
  hi = (h > hi ? h : hi) + 0.0f;
  return all == 0xFFFF;
}

}  // namespace range_detail

QSPARSE_TARGET_AVX512 inline void finite_range(const float* x, std::ptrdiff_t n, float& lo, float& hi) {
  range_detail::finite_range_impl<false>(x, n, lo, hi);
}

/// finite_range; true when every x[0..n) is finite.
QSPARSE_TARGET_AVX512 inline bool finite_range_checked(const float* x, std::ptrdiff_t n, float& lo, float& hi) {
  return range_detail::finite_range_impl<true>(x, n, lo, hi);
}

QSPARSE_TARGET_AVX512 inline void finite_range_channelwise(const float* x, std::ptrdiff_t n, float* lo, float* hi) {
  using namespace range_detail;
  const __m512 zero = _mm512_setzero_ps();
  for (std::ptrdiff_t i = 0; i < n; i += 16) {
    const __mmask16 tail = n - i >= 16 ? static_cast<__mmask16>(0xFFFF) : static_cast<__mmask16>((1u << (n - i)) - 1u);
    const __m512 v = _mm512_maskz_loadu_ps(tail, x + i);
    const __mmask16 m = static_cast<__mmask16>(finite_mask(v) & tail);
    const __m512 l = _mm512_maskz_loadu_ps(tail, lo + i);
    const __m512 h = _mm512_maskz_loadu_ps(tail, hi + i);
    _mm512_mask_storeu_ps(lo + i, m, _mm512_add_ps(_mm512_min_ps(v, l), zero));
    _mm512_mask_storeu_ps(hi + i, m, _mm512_add_ps(_mm512_max_ps(v, h), zero));
  }
}

/// The range kernels of this ISA as one registry entry (qsparse/kernels/range_kernels.hpp).
struct range_kernel {
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() { return "finite_range_f32__avx512"; }
  template <class... Args>
  QSPARSE_TARGET_AVX512 static void finite_range(Args&&... args) {
    avx512::finite_range(std::forward<Args>(args)...);
  }
  template <class... Args>
  QSPARSE_TARGET_AVX512 static bool finite_range_checked(Args&&... args) {
    return avx512::finite_range_checked(std::forward<Args>(args)...);
  }
  template <class... Args>
  QSPARSE_TARGET_AVX512 static void finite_range_channelwise(Args&&... args) {
    avx512::finite_range_channelwise(std::forward<Args>(args)...);
  }
};

}  // namespace qsparse::kernels::avx512

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
