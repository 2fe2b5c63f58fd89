// qsparse/kernels/avx2/gemm_f32f16_f32_6x16c1.hpp — the float16-weight GEMM on AVX2 + F16C + FMA (float
// activations × binary16 weights, float sums): up to 6 rows × 16 columns per tile (weights packed as
// float16, NR = 16, KR = 1; qsparse/spec/packed_weights_f16.hpp).
//
// The result is defined element by element (qsparse/gemm/reference_f16.hpp): acc = +0.0f, then for
// k = 0, 1, ..., K-1 in order acc = fma(a[m][k], float(w[k][n]), acc) with one rounding, then the float
// stages. Each ymm lane is one (m, n) and runs exactly that chain: vcvtph2ps widens 8 weights exactly,
// vfmadd231ps rounds once, k never splits across lanes or registers, so every bit matches the reference
// (NaN results aside, whose payload IEEE leaves open). With 1 or 2 rows a tile spans 4 or 2 panels (64 or
// 32 columns) so that 8 FMA chains hide the FMA latency. Accumulators stay in registers through the k loop
// (objdump: no spills); bias_add_float and clamp_float run in SIMD on the finished sums, with masked loads
// and stores (vmaskmovps) for the last columns.
#pragma once

#include <cstddef>
#include <cstdint>
#include <tuple>
#include <type_traits>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/drivers/panel_groups.hpp"
#include "qsparse/spec/f16_accumulation.hpp"
#include "qsparse/spec/gemm_panel_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights_f16.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx2 {

// The float stages on 8 lanes: prepared once per 8 columns, applied to every row.
struct alignas(32) f32_prepared_bias {
  __m256 bias;
};
struct alignas(32) f32_prepared_clamp {
  __m256 lo, hi;
};
QSPARSE_TARGET_AVX2 inline f32_prepared_bias prepare_f32_stage(const bias_add_float& s, std::ptrdiff_t n,
                                                               __m256i mask) {
  return {_mm256_maskload_ps(s.bias + n, mask)};
}
QSPARSE_TARGET_AVX2 inline f32_prepared_clamp prepare_f32_stage(const clamp_float& s, std::ptrdiff_t, __m256i) {
  return {_mm256_set1_ps(s.min), _mm256_set1_ps(s.max)};
}
QSPARSE_TARGET_AVX2 inline __m256 apply_f32_stage(const f32_prepared_bias& p, __m256 v) {
  return _mm256_add_ps(v, p.bias);
}
/// v < min ? min : (v > max ? max : v), NaN passing through, as clamp_float's scalar definition.
QSPARSE_TARGET_AVX2 inline __m256 apply_f32_stage(const f32_prepared_clamp& p, __m256 v) {
  const __m256 below = _mm256_cmp_ps(v, p.lo, _CMP_LT_OQ);
  const __m256 above = _mm256_cmp_ps(v, p.hi, _CMP_GT_OQ);
  return _mm256_blendv_ps(_mm256_blendv_ps(v, p.hi, above), p.lo, below);
}
template <class... S, std::size_t... I>
QSPARSE_TARGET_AVX2 inline auto prepare_f32_stages(const output_pipeline<S...>& p, std::ptrdiff_t n, __m256i mask,
                                                   std::index_sequence<I...>) {
  (void)n;  // unused by the empty pipeline
  (void)mask;
  return std::make_tuple(prepare_f32_stage(std::get<I>(p.stages), n, mask)...);
}
template <std::size_t I, class Prepared>
QSPARSE_TARGET_AVX2 inline __m256 apply_f32_stages(const Prepared& prepared, __m256 v) {
  if constexpr (I == std::tuple_size_v<Prepared>) {
    return v;
  } else {
    return apply_f32_stages<I + 1>(prepared, apply_f32_stage(std::get<I>(prepared), v));
  }
}

/// acc + a * b: one vfmadd231ps (f16_fma_chain), or vmulps then vaddps (f16_multiply_then_add; the empty asm
/// keeps GCC from contracting the two into an FMA under -ffp-contract=fast).
template <class Sum>
QSPARSE_TARGET_AVX2 inline __m256 f16_step(__m256 a, __m256 b, __m256 acc) {
  if constexpr (std::is_same_v<Sum, f16_fma_chain>) {
    return _mm256_fmadd_ps(a, b, acc);
  } else {
    __m256 product = _mm256_mul_ps(a, b);
    QSPARSE_KEEP_ROUNDED(product);
    return _mm256_add_ps(acc, product);
  }
}

/// MR rows (row stride lda) × P panels of 16 columns over all k, into tile[r][0 .. 16P).
template <int MR, int P, class Sum = f16_fma_chain>
QSPARSE_TARGET_AVX2 inline void gemm_f32f16_tile_6x16c1(const float* a, std::ptrdiff_t lda, std::ptrdiff_t k,
                                                        const std::uint16_t* const (&w)[std::size_t{P}], float* tile) {
  __m256 acc[std::size_t{MR}][std::size_t{2 * P}];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < 2 * P; ++j) acc[r][j] = _mm256_setzero_ps();
  }
  for (std::ptrdiff_t kk = 0; kk < k; ++kk) {
    if constexpr (P == 1) {  // two weight vectors, then one broadcast per row
      const __m256 b0 = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(w[0] + kk * 16)));
      const __m256 b1 = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(w[0] + kk * 16 + 8)));
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) {
        const __m256 av = _mm256_broadcast_ss(a + r * lda + kk);
        acc[r][0] = f16_step<Sum>(av, b0, acc[r][0]);
        acc[r][1] = f16_step<Sum>(av, b1, acc[r][1]);
      }
    } else {  // the (one or two) broadcasts first, then each panel's weights used as soon as converted:
              // 16 registers hold 8 accumulators without spilling the weights
      __m256 av[std::size_t{MR}];
#pragma GCC unroll 16
      for (int r = 0; r < MR; ++r) av[r] = _mm256_broadcast_ss(a + r * lda + kk);
#pragma GCC unroll 16
      for (int p = 0; p < P; ++p) {
#pragma GCC unroll 16
        for (int h = 0; h < 2; ++h) {
          const __m256 b = _mm256_cvtph_ps(_mm_load_si128(reinterpret_cast<const __m128i*>(w[p] + kk * 16 + 8 * h)));
#pragma GCC unroll 16
          for (int r = 0; r < MR; ++r) acc[r][2 * p + h] = f16_step<Sum>(av[r], b, acc[r][2 * p + h]);
        }
      }
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < 2 * P; ++j) _mm256_store_ps(tile + r * 16 * P + 8 * j, acc[r][j]);
  }
}

/// Sum: f16_fma_chain or f16_multiply_then_add (qsparse/spec/f16_accumulation.hpp).
template <class Sum>
struct gemm_f32f16_f32_6x16c1_sum {
  static constexpr int mr = 6;
  static constexpr int nr = 16;
  static constexpr int kr = 1;
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() {
    return std::is_same_v<Sum, f16_fma_chain> ? "gemm_f32f16_f32_6x16c1__avx2" : "gemm_f32f16_f32_6x16c1__avx2_muladd";
  }

  /// Panels per tile for MR rows: enough columns for 8 independent FMA chains within 16 registers.
  static constexpr int panels_for(int rows) noexcept { return rows == 1 ? 4 : (rows == 2 ? 2 : 1); }

  template <int MR, int P, class... S>
  QSPARSE_TARGET_AVX2 static void run_panels(const gemm_panel_args<float, packed_weights_f16_view, float>& g,
                                             const output_pipeline<S...>& pipeline, std::ptrdiff_t m0,
                                             std::ptrdiff_t p) {
    alignas(32) float tile[std::size_t{MR * 16 * P}];
    const std::uint16_t* w[std::size_t{P}];
    for (int i = 0; i < P; ++i) w[i] = static_cast<const std::uint16_t*>(g.weights.panel(p + i));
    gemm_f32f16_tile_6x16c1<MR, P, Sum>(g.a + m0 * g.lda, g.lda, g.k, w, tile);
    for (int j = 0; j < 2 * P; ++j) {
      const std::ptrdiff_t n = p * 16 + 8 * j;
      const std::ptrdiff_t left = g.n - n;
      if (left <= 0) break;
      const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left >= 8 ? 8 : left)),
                                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      const auto prepared = prepare_f32_stages(pipeline, n, mask, std::index_sequence_for<S...>{});
      for (int r = 0; r < MR; ++r) {
        const __m256 v = apply_f32_stages<0>(prepared, _mm256_load_ps(tile + r * 16 * P + 8 * j));
        _mm256_maskstore_ps(g.dst + (m0 + r) * g.ldd + n, mask, v);
      }
    }
  }

  template <class... S>
  QSPARSE_TARGET_AVX2 static void run(const gemm_panel_args<float, packed_weights_f16_view, float>& g,
                                      const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                      std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    drivers::run_panel_groups<gemm_f32f16_f32_6x16c1_sum>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
  }
};

using gemm_f32f16_f32_6x16c1 = gemm_f32f16_f32_6x16c1_sum<f16_fma_chain>;

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
