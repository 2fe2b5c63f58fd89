// benchmarks/support/elementwise_levels.hpp — the ISA rows of the element-wise benchmarks (quantize,
// calibrate) and their plain read loop, on every architecture: the levels the element-wise ops have
// distinct kernels for (scalar, avx2, avx512 on x86-64; scalar, neon on aarch64), the one of them the
// dispatched entry points run on this CPU, and `read_sum`, the vectorised float sum the summaries rate
// quantize and the observers against (their own input traffic without their math).
#pragma once

#include <cstddef>
#include <vector>

#include "qsparse/core/config.hpp"
#include "qsparse/dispatch/isa.hpp"

#if QSPARSE_X86
#include <immintrin.h>
#elif QSPARSE_AARCH64
#include <arm_neon.h>
#endif

namespace qsparse_bench {

/// The levels the element-wise ops have distinct kernels for and this CPU runs: the dot-product, matrix
/// multiply and VNNI levels add GEMM kernels only, so they share their base level's row.
inline std::vector<qsparse::isa_level> elementwise_levels() {
  using qsparse::isa_level;
  std::vector<isa_level> result;
  for (isa_level l : {isa_level::scalar, isa_level::avx2, isa_level::avx512, isa_level::neon})
    if (qsparse::cpu_supports(l)) result.push_back(l);
  return result;
}

/// The element-wise level the dispatched entry points (quantize, dequantize, fake_quantize, ...) run on
/// this CPU under the current ceiling: best_isa() mapped onto elementwise_levels().
inline qsparse::isa_level elementwise_dispatched_level() {
  using qsparse::isa_level;
  switch (qsparse::best_isa()) {
    case isa_level::avx512_vnni:
    case isa_level::amx_int8: return isa_level::avx512;
    case isa_level::avx_vnni: return isa_level::avx2;
    case isa_level::neon_dotprod:
    case isa_level::neon_i8mm: return isa_level::neon;
    default: return qsparse::best_isa();
  }
}

namespace detail {

#if QSPARSE_X86
// GCC 12's intrinsics headers initialise "undefined" vectors from themselves (__m512i __Y = __Y).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
QSPARSE_TARGET_AVX2 inline float read_sum_avx2(const float* x, std::ptrdiff_t n) {
  __m256 a0 = _mm256_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  std::ptrdiff_t i = 0;
  for (; i + 32 <= n; i += 32) {
    a0 = _mm256_add_ps(a0, _mm256_loadu_ps(x + i));
    a1 = _mm256_add_ps(a1, _mm256_loadu_ps(x + i + 8));
    a2 = _mm256_add_ps(a2, _mm256_loadu_ps(x + i + 16));
    a3 = _mm256_add_ps(a3, _mm256_loadu_ps(x + i + 24));
  }
  float lanes[8];
  _mm256_storeu_ps(lanes, _mm256_add_ps(_mm256_add_ps(a0, a1), _mm256_add_ps(a2, a3)));
  float s = 0;
  for (float l : lanes) s += l;
  for (; i < n; ++i) s += x[i];
  return s;
}

QSPARSE_TARGET_AVX512 inline float read_sum_avx512(const float* x, std::ptrdiff_t n) {
  __m512 a0 = _mm512_setzero_ps(), a1 = a0, a2 = a0, a3 = a0;
  std::ptrdiff_t i = 0;
  for (; i + 64 <= n; i += 64) {
    a0 = _mm512_add_ps(a0, _mm512_loadu_ps(x + i));
    a1 = _mm512_add_ps(a1, _mm512_loadu_ps(x + i + 16));
    a2 = _mm512_add_ps(a2, _mm512_loadu_ps(x + i + 32));
    a3 = _mm512_add_ps(a3, _mm512_loadu_ps(x + i + 48));
  }
  float s = _mm512_reduce_add_ps(_mm512_add_ps(_mm512_add_ps(a0, a1), _mm512_add_ps(a2, a3)));
  for (; i < n; ++i) s += x[i];
  return s;
}
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // QSPARSE_X86

#if QSPARSE_AARCH64
// Advanced SIMD is part of the aarch64 base ISA: no target attribute.
inline float read_sum_neon(const float* x, std::ptrdiff_t n) {
  float32x4_t a0 = vdupq_n_f32(0.0f), a1 = a0, a2 = a0, a3 = a0;
  std::ptrdiff_t i = 0;
  for (; i + 16 <= n; i += 16) {
    a0 = vaddq_f32(a0, vld1q_f32(x + i));
    a1 = vaddq_f32(a1, vld1q_f32(x + i + 4));
    a2 = vaddq_f32(a2, vld1q_f32(x + i + 8));
    a3 = vaddq_f32(a3, vld1q_f32(x + i + 12));
  }
  float s = vaddvq_f32(vaddq_f32(vaddq_f32(a0, a1), vaddq_f32(a2, a3)));
  for (; i < n; ++i) s += x[i];
  return s;
}
#endif  // QSPARSE_AARCH64

}  // namespace detail

/// The sum of x[0, n) with the widest vector loop `level` runs (scalar: one float after another): the
/// read traffic of an element-wise op without its math.
__attribute__((noinline)) inline float read_sum(qsparse::isa_level level, const float* x, std::ptrdiff_t n) {
#if QSPARSE_X86
  if (qsparse::isa_runs(level, qsparse::isa_level::avx512)) return detail::read_sum_avx512(x, n);
  if (qsparse::isa_runs(level, qsparse::isa_level::avx2)) return detail::read_sum_avx2(x, n);
#elif QSPARSE_AARCH64
  if (qsparse::isa_runs(level, qsparse::isa_level::neon)) return detail::read_sum_neon(x, n);
#endif
  (void)level;
  float s = 0;
  for (std::ptrdiff_t i = 0; i < n; ++i) s += x[i];
  return s;
}

}  // namespace qsparse_bench
