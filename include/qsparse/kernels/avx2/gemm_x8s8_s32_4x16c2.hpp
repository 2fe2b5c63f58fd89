// qsparse/kernels/avx2/gemm_x8s8_s32_4x16c2.hpp — int8 GEMM on AVX2: up to 4 rows × 16 columns per tile,
// 2 consecutive k per vpmaddwd lane (weights layout s16_c2_nr16).
//
// As the AVX-512BW kernel: vpmaddubsw would saturate, so weights are packed as int16 (w - w_zp) and
// activation rows are widened to int16 (a - a_zp) per tile; vpmaddwd pair sums are exact and the int32
// accumulators hold the exact result. The tile is kernels/avx2/pair_sums_4x16c2.hpp (shared with the
// 16x8 GEMM), the loops are the driver's (kernels/drivers/row_tiles.hpp); this header adds the row
// widening and the SIMD epilogue.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx2/output_pipeline.hpp"
#include "qsparse/kernels/avx2/pair_sums_4x16c2.hpp"
#include "qsparse/kernels/drivers/row_tiles.hpp"
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx2 {

struct gemm_x8s8_s32_4x16c2 {
  static constexpr int mr = 4;
  static constexpr int nr = 16;
  static constexpr int kr = 2;
  static constexpr isa_level isa = isa_level::avx2;
  static constexpr packed_layout layout = packed_layout::s16_c2_nr16;
  /// Its epilogue evaluates dequantize_rows_float (qsparse/spec/hybrid_output_stage.hpp) on the tile's rows.
  static constexpr bool row_output_stage = true;
  static const char* name() { return "gemm_x8s8_s32_4x16c2__avx2"; }

  using row_type = std::int16_t;
  using sum_type = std::int32_t;

  template <int MR>
  QSPARSE_TARGET_AVX2 static void multiply(const std::int16_t* a, std::ptrdiff_t ld, std::ptrdiff_t kp, const void* w,
                                           std::int32_t* sums) {
    pair_sums_4x16c2<MR>(a, ld, 0, kp / 2, static_cast<const std::int16_t*>(w), sums);
  }

  /// Row m widened to int16 (a - a_zp) and zero padded.
  template <class A, class Out>
  QSPARSE_TARGET_AVX2 static void load_row(const gemm_args<A, Out>& g, std::ptrdiff_t m, std::int16_t* out) {
    const A* src = g.a + m * g.lda;
    const std::ptrdiff_t kp = g.weights.k_padded();
    for (std::ptrdiff_t kk = 0; kk < g.k; ++kk) out[kk] = static_cast<std::int16_t>(src[kk] - g.a_zero_point);
    for (std::ptrdiff_t kk = g.k; kk < kp; ++kk) out[kk] = 0;
  }

  /// The largest |Σ_k (a - a_zp)(w - w_zp)| of g.
  template <class A, class Out>
  static std::int64_t accumulator_bound(const gemm_args<A, Out>& g) {
    const std::int64_t a_lo = std::is_same_v<A, std::int8_t> ? -128 : 0, w_zp = g.weights.weight_zero_point();
    const std::int64_t a_max = std::max<std::int64_t>(a_lo + 255 - g.a_zero_point, g.a_zero_point - a_lo);
    const std::int64_t w_max = std::max<std::int64_t>(127 - w_zp, w_zp + 128);
    return static_cast<std::int64_t>(g.k) * a_max * w_max;
  }

  /// A call's TFLite fixed-point pipeline (avx2::fixed_point_form_pipeline) with its forms prepared once per 8
  /// columns for the call's panels (run), which every tile's store then reads: at K = 27 preparing a form
  /// (about 45 instructions) per tile and 8 columns cost as much as applying it to the tile's 4 rows.
  /// One fixed_point_form and whether it is exact (else the stages run one by one), in the per-thread
  /// scratch as bytes (no vector type in host code).
  struct alignas(32) form_storage {
    unsigned char form[sizeof(fixed_point_form)];
    unsigned char exact;
  };

  template <class Pipeline>
  struct prepared_forms {
    const Pipeline& pipeline;
    const form_storage* forms;  // 8 columns each, from column n_begin
    std::ptrdiff_t n_begin;
  };
  template <class T>
  struct is_prepared_forms : std::false_type {};
  template <class Pipeline>
  struct is_prepared_forms<prepared_forms<Pipeline>> : std::true_type {};

  /// The pipeline a store receives, or the one behind its prepared_forms.
  template <class P>
  static const auto& pipeline_of(const P& p) {
    if constexpr (is_prepared_forms<P>::value) {
      return p.pipeline;
    } else {
      return p;
    }
  }

  /// The pipeline on 8 columns at a time, prepared once per 8 columns of the panel, or, for TFLite's fixed
  /// point, avx2::fixed_point_form where it is exact (prepared once per call: prepared_forms).
  template <class A, class Out, class P>
  QSPARSE_TARGET_AVX2 static void store(const gemm_args<A, Out>& g, const P& p, const std::int32_t* sums, int rows,
                                        std::ptrdiff_t m0, std::ptrdiff_t n0) {
    const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
    for (int j = 0; j < 2; ++j) {
      const std::ptrdiff_t left = columns - 8 * j;
      if (left <= 0) break;
      const int count = static_cast<int>(left >= 8 ? 8 : left);
      const __m256i mask = lane_mask(count);
      if constexpr (is_prepared_forms<P>::value) {
        const form_storage* storage = p.forms + (n0 - p.n_begin) / 8 + j;
        if (storage->exact != 0) {
          using R = typename fixed_point_form_pipeline<std::decay_t<decltype(p.pipeline)>>::rounding;
          const auto& f = *reinterpret_cast<const fixed_point_form*>(storage->form);
          for (int r = 0; r < rows; ++r) {
            const __m256i acc = _mm256_load_si256(reinterpret_cast<const __m256i*>(sums + r * nr + 8 * j));
            store_bytes(fixed_point_form_apply<R>(acc, f), count, g.dst + (m0 + r) * g.ldd + n0 + 8 * j);
          }
          continue;
        }
      }
      const auto prepared = prepare(pipeline_of(p), n0 + 8 * j, mask);
      for (int r = 0; r < rows; ++r) {
        const __m256i acc = _mm256_load_si256(reinterpret_cast<const __m256i*>(sums + r * nr + 8 * j));
        if constexpr (has_row_stage_v<std::decay_t<decltype(prepared)>>) {  // dequantize_rows_float
          store_prepared_at(prepared, acc, m0 + r, mask, g.dst + (m0 + r) * g.ldd + n0 + 8 * j);
        } else {
          store_prepared(prepared, acc, count, mask, g.dst + (m0 + r) * g.ldd + n0 + 8 * j);
        }
      }
    }
  }

  template <class A, class... S>
  QSPARSE_TARGET_AVX2 static void run(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                      const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                      std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    using pipeline_type = output_pipeline<S...>;
    if constexpr (fixed_point_form_pipeline<pipeline_type>::value) {
      const std::ptrdiff_t n_begin = panel_begin * nr;
      const std::ptrdiff_t n_end = std::min<std::ptrdiff_t>(g.n, panel_end * nr);
      if (n_end > n_begin) {
        const std::ptrdiff_t groups = (n_end - n_begin + 7) / 8;
        form_storage* forms = thread_scratch<form_storage>(static_cast<std::size_t>(groups));
        const std::int64_t bound = accumulator_bound(g);
        for (std::ptrdiff_t i = 0; i < groups; ++i) {
          const std::ptrdiff_t n = n_begin + 8 * i;
          const __m256i mask = lane_mask(static_cast<int>(std::min<std::ptrdiff_t>(8, n_end - n)));
          fixed_point_form f;
          forms[i].exact = prepare_fixed_point_form(pipeline, n, mask, bound, f) ? 1 : 0;
          std::memcpy(forms[i].form, &f, sizeof f);
        }
        const prepared_forms<pipeline_type> p{pipeline, forms, n_begin};
        drivers::run_row_tiles<gemm_x8s8_s32_4x16c2>(g, p, m_begin, m_end, panel_begin, panel_end);
        return;
      }
    }
    drivers::run_row_tiles<gemm_x8s8_s32_4x16c2>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
  }
};

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
