// qsparse/kernels/avx512/gemm_f32f16_f32_8x32c1.hpp — the float16-weight GEMM on AVX-512 (float
// activations × binary16 weights, float sums): up to 8 rows × 32 columns per tile (weights packed as
// float16, NR = 32, KR = 1; qsparse/spec/packed_weights_f16.hpp). Also the kernel of avx512_vnni.
//
// The result is defined element by element (qsparse/gemm/reference_f16.hpp): acc = +0.0f, then for
// k = 0, 1, ..., K-1 in order acc = fma(a[m][k], float(w[k][n]), acc) with one rounding, then the float
// stages. Each zmm lane is one (m, n) and runs exactly that chain: vcvtph2ps widens 16 weights exactly,
// vfmadd231ps rounds once, k never splits across lanes or registers, so every bit matches the reference
// (NaN results aside, whose payload IEEE leaves open). Independent chains come from rows and columns
// only: with fewer than 5 rows a tile spans 2 or 4 panels (64 or 128 columns) so at least 8 FMA chains
// hide the FMA latency. Accumulators stay in registers through the k loop (objdump: no spills); the
// stages bias_add_float and clamp_float run in SIMD on the finished sums, with masked loads and stores for
// the last columns.
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
namespace avx512 {

// The float stages on 16 lanes: prepared once per 16 columns, applied to every row.
struct alignas(64) f32_prepared_bias {
  __m512 bias;
};
struct alignas(64) f32_prepared_clamp {
  __m512 lo, hi;
};
QSPARSE_TARGET_AVX512 inline f32_prepared_bias prepare_f32_stage(const bias_add_float& s, std::ptrdiff_t n,
                                                                 __mmask16 mask) {
  return {_mm512_maskz_loadu_ps(mask, s.bias + n)};
}
QSPARSE_TARGET_AVX512 inline f32_prepared_clamp prepare_f32_stage(const clamp_float& s, std::ptrdiff_t, __mmask16) {
  return {_mm512_set1_ps(s.min), _mm512_set1_ps(s.max)};
}
QSPARSE_TARGET_AVX512 inline __m512 apply_f32_stage(const f32_prepared_bias& p, __m512 v) {
  return _mm512_add_ps(v, p.bias);
}
/// v < min ? min : (v > max ? max : v), NaN passing through, as clamp_float's scalar definition.
QSPARSE_TARGET_AVX512 inline __m512 apply_f32_stage(const f32_prepared_clamp& p, __m512 v) {
  const __mmask16 below = _mm512_cmp_ps_mask(v, p.lo, _CMP_LT_OQ);
  const __mmask16 above = _mm512_cmp_ps_mask(v, p.hi, _CMP_GT_OQ);
  return _mm512_mask_mov_ps(_mm512_mask_mov_ps(v, above, p.hi), below, p.lo);
}
template <class... S, std::size_t... I>
QSPARSE_TARGET_AVX512 inline auto prepare_f32_stages(const output_pipeline<S...>& p, std::ptrdiff_t n, __mmask16 mask,
                                                     std::index_sequence<I...>) {
  (void)n;  // unused by the empty pipeline
  (void)mask;
  return std::make_tuple(prepare_f32_stage(std::get<I>(p.stages), n, mask)...);
}
template <std::size_t I, class Prepared>
QSPARSE_TARGET_AVX512 inline __m512 apply_f32_stages(const Prepared& prepared, __m512 v) {
  if constexpr (I == std::tuple_size_v<Prepared>) {
    return v;
  } else {
    return apply_f32_stages<I + 1>(prepared, apply_f32_stage(std::get<I>(prepared), v));
  }
}

/// acc + a * b: one vfmadd231ps (f16_fma_chain), or vmulps then vaddps (f16_multiply_then_add; the empty asm
/// keeps GCC from contracting the two into an FMA under -ffp-contract=fast).
template <class Sum>
QSPARSE_TARGET_AVX512 inline __m512 f16_step(__m512 a, __m512 b, __m512 acc) {
  if constexpr (std::is_same_v<Sum, f16_fma_chain>) {
    return _mm512_fmadd_ps(a, b, acc);
  } else {
    __m512 product = _mm512_mul_ps(a, b);
    QSPARSE_KEEP_ROUNDED(product);
    return _mm512_add_ps(acc, product);
  }
}

/// MR rows (row stride lda) × P panels of 32 columns over all k, into tile[r][0 .. 32P).
template <int MR, int P, class Sum = f16_fma_chain>
QSPARSE_TARGET_AVX512 inline void gemm_f32f16_tile_8x32c1(const float* a, std::ptrdiff_t lda, std::ptrdiff_t k,
                                                          const std::uint16_t* const (&w)[std::size_t{P}], float* tile) {
  __m512 acc[std::size_t{MR}][std::size_t{2 * P}];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < 2 * P; ++j) acc[r][j] = _mm512_setzero_ps();
  }
  for (std::ptrdiff_t kk = 0; kk < k; ++kk) {
    __m512 b[std::size_t{2 * P}];
#pragma GCC unroll 16
    for (int p = 0; p < P; ++p) {
      b[2 * p] = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(w[p] + kk * 32)));
      b[2 * p + 1] = _mm512_cvtph_ps(_mm256_load_si256(reinterpret_cast<const __m256i*>(w[p] + kk * 32 + 16)));
    }
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) {
      const __m512 av = _mm512_set1_ps(a[r * lda + kk]);
#pragma GCC unroll 16
      for (int j = 0; j < 2 * P; ++j) acc[r][j] = f16_step<Sum>(av, b[j], acc[r][j]);
    }
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 16
    for (int j = 0; j < 2 * P; ++j) _mm512_store_ps(tile + r * 32 * P + 16 * j, acc[r][j]);
  }
}

/// Sum: f16_fma_chain or f16_multiply_then_add (qsparse/spec/f16_accumulation.hpp).
template <class Sum>
struct gemm_f32f16_f32_8x32c1_sum {
  static constexpr int mr = 8;
  static constexpr int nr = 32;
  static constexpr int kr = 1;
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() {
    return std::is_same_v<Sum, f16_fma_chain> ? "gemm_f32f16_f32_8x32c1__avx512"
                                              : "gemm_f32f16_f32_8x32c1__avx512_muladd";
  }

  /// Panels per tile for MR rows: enough columns for at least 8 independent FMA chains.
  static constexpr int panels_for(int rows) noexcept { return rows <= 2 ? 4 : (rows <= 4 ? 2 : 1); }

  /// Rows [m0, m0 + MR) × panels [panel_begin, panel_end).
  template <int MR, int P, class... S>
  QSPARSE_TARGET_AVX512 static void run_panels(const gemm_panel_args<float, packed_weights_f16_view, float>& g,
                                               const output_pipeline<S...>& pipeline, std::ptrdiff_t m0,
                                               std::ptrdiff_t p) {
    alignas(64) float tile[std::size_t{MR * 32 * P}];
    const std::uint16_t* w[std::size_t{P}];
    for (int i = 0; i < P; ++i) w[i] = static_cast<const std::uint16_t*>(g.weights.panel(p + i));
    gemm_f32f16_tile_8x32c1<MR, P, Sum>(g.a + m0 * g.lda, g.lda, g.k, w, tile);
    for (int j = 0; j < 2 * P; ++j) {
      const std::ptrdiff_t n = p * 32 + 16 * j;
      const std::ptrdiff_t left = g.n - n;
      if (left <= 0) break;
      const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
      const auto prepared = prepare_f32_stages(pipeline, n, mask, std::index_sequence_for<S...>{});
      for (int r = 0; r < MR; ++r) {
        const __m512 v = apply_f32_stages<0>(prepared, _mm512_load_ps(tile + r * 32 * P + 16 * j));
        _mm512_mask_storeu_ps(g.dst + (m0 + r) * g.ldd + n, mask, v);
      }
    }
  }

  template <class... S>
  QSPARSE_TARGET_AVX512 static void run(const gemm_panel_args<float, packed_weights_f16_view, float>& g,
                                        const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                        std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    drivers::run_panel_groups<gemm_f32f16_f32_8x32c1_sum>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
  }
};

using gemm_f32f16_f32_8x32c1 = gemm_f32f16_f32_8x32c1_sum<f16_fma_chain>;

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
