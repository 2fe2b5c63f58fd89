// qsparse/kernels/avx512/gemm_x8s8_s32_8x32c2.hpp — int8 GEMM on AVX-512BW without VNNI: up to 8 rows ×
// 32 columns per tile, 2 consecutive k per vpmaddwd lane (weights layout s16_c2_nr32).
//
// vpmaddubsw would saturate its int16 pair sums (255 * -128 * 2 < -32768), so this kernel multiplies
// int16 by int16 with vpmaddwd instead: the weights are packed as int16 (w - w_zp) and each tile's
// activation rows are first widened to int16 (a - a_zp) in a per-thread scratch buffer (zero padded
// to an even K). Both factors are in [-255, 255], so a pair sum (< 2^17) is exact and the int32
// accumulator holds the exact result; no zero-point compensation is needed. The tile is
// kernels/avx512/pair_sums_8x32c2.hpp (shared with the 16x8 GEMM), the loops are the driver's
// (kernels/drivers/row_tiles.hpp); this header adds the row widening and the SIMD epilogue.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/kernels/avx512/pair_sums_8x32c2.hpp"
#include "qsparse/kernels/drivers/row_tiles.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

struct gemm_x8s8_s32_8x32c2 {
  static constexpr int mr = 8;
  static constexpr int nr = 32;
  static constexpr int kr = 2;
  static constexpr isa_level isa = isa_level::avx512;
  static constexpr packed_layout layout = packed_layout::s16_c2_nr32;
  /// Its epilogue evaluates dequantize_rows_float (qsparse/spec/hybrid_output_stage.hpp) on the tile's rows.
  static constexpr bool row_output_stage = true;
  static const char* name() { return "gemm_x8s8_s32_8x32c2__avx512"; }

  using row_type = std::int16_t;
  using sum_type = std::int32_t;

  template <int MR>
  QSPARSE_TARGET_AVX512 static void multiply(const std::int16_t* a, std::ptrdiff_t ld, std::ptrdiff_t kp,
                                             const void* w, std::int32_t* sums) {
    pair_sums_8x32c2<MR>(a, ld, 0, kp / 2, static_cast<const std::int16_t*>(w), sums);
  }

  /// Row m widened to int16 (a - a_zp) and zero padded, 32 elements per masked load and store.
  template <class A, class Out>
  QSPARSE_TARGET_AVX512 static void load_row(const gemm_args<A, Out>& g, std::ptrdiff_t m, std::int16_t* out) {
    const A* src = g.a + m * g.lda;
    const std::ptrdiff_t k = g.k;
    const std::ptrdiff_t kp = g.weights.k_padded();
    const __m512i zp = _mm512_set1_epi16(static_cast<short>(g.a_zero_point));
    for (std::ptrdiff_t kk = 0; kk < kp; kk += 32) {
      const std::ptrdiff_t loaded = k - kk < 32 ? (k - kk > 0 ? k - kk : 0) : 32;
      const std::ptrdiff_t stored = kp - kk < 32 ? kp - kk : 32;
      const __mmask32 load_mask = loaded == 32 ? ~__mmask32{0} : (__mmask32{1} << loaded) - 1;
      const __mmask32 store_mask = stored == 32 ? ~__mmask32{0} : (__mmask32{1} << stored) - 1;
      const __m256i bytes = _mm256_maskz_loadu_epi8(load_mask, src + kk);
      const __m512i wide = std::is_same_v<A, std::int8_t> ? _mm512_cvtepi8_epi16(bytes) : _mm512_cvtepu8_epi16(bytes);
      _mm512_mask_storeu_epi16(out + kk, store_mask, _mm512_maskz_sub_epi16(load_mask, wide, zp));
    }
  }

  /// The pipeline on 16 columns at a time, prepared once per 16 columns of the panel.
  template <class A, class Out, class Pipeline>
  QSPARSE_TARGET_AVX512 static void store(const gemm_args<A, Out>& g, const Pipeline& pipeline,
                                          const std::int32_t* sums, int rows, std::ptrdiff_t m0, std::ptrdiff_t n0) {
    const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
    for (int j = 0; j < 2; ++j) {
      const std::ptrdiff_t left = columns - 16 * j;
      if (left <= 0) break;
      const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
      const auto prepared = prepare(pipeline, n0 + 16 * j, mask);
      for (int r = 0; r < rows; ++r) {
        const __m512i acc = _mm512_load_si512(sums + r * nr + 16 * j);
        if constexpr (has_row_stage_v<std::decay_t<decltype(prepared)>>) {  // dequantize_rows_float
          store_prepared_at(prepared, acc, m0 + r, mask, g.dst + (m0 + r) * g.ldd + n0 + 16 * j);
        } else {
          store_prepared(prepared, acc, mask, g.dst + (m0 + r) * g.ldd + n0 + 16 * j);
        }
      }
    }
  }

  template <class A, class... S>
  QSPARSE_TARGET_AVX512 static void run(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                        const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                        std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    drivers::run_row_tiles<gemm_x8s8_s32_8x32c2>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
  }
};

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
