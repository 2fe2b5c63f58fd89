// qsparse/kernels/avx2/gemm_s8x4_f32_4x16c8.hpp — int8 activations × 4-bit group-wise weights on AVX2:
// up to 4 rows × 16 columns per tile (2 panels for one row), weights in the layout of
// qsparse/spec/packed_weights_q4.hpp, each 64-byte chunk read as two 32-byte halves of 8 columns.
//
// vpmaddubsw multiplies the unsigned nibbles u in [0, 15] by the signed activation bytes a in [-128, 127]
// and adds pairs into int16: |u a + u' a'| <= 2 * 15 * 128 = 3840, and the vpaddw of the low- and
// high-nibble products is at most 7680 — nothing saturates, so vpmaddubsw + vpaddw + vpmaddwd (by 1) +
// vpaddd is the exact int32 sum of 8 products per lane, what vpdpbusd gives on VNNI. The group's int32
// accumulator starts at -z * Σ_{k in g} a[m][k]; vcvtdq2ps and vfmadd231ps with the group's scales
// follow the reference group by group; the float sums live in an L1 tile between groups (a load and a
// store per 8 columns and group). The epilogue multiplies by the row scale (vmulps) and runs the float
// stages of the float16-weight kernel. Every bit equals qsparse/gemm/reference_q4.hpp.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx2/gemm_f32f16_f32_6x16c1.hpp"
#include "qsparse/kernels/drivers/panel_groups.hpp"
#include "qsparse/kernels/stream_prefetch.hpp"
#include "qsparse/spec/gemm_q4_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights_q4.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx2 {

/// MR rows × P panels over all groups; tile[r][16 P] holds the float sums before the row scale.
template <int MR, int P>
QSPARSE_TARGET_AVX2 inline void gemm_s8x4_tile_4x16c8(const gemm_q4_args& g, std::ptrdiff_t m0, std::ptrdiff_t p0,
                                                      float* tile) {
  const std::ptrdiff_t gsz = g.weights.group_size();
  const std::ptrdiff_t groups = g.weights.groups();
  const std::ptrdiff_t group_bytes = g.weights.group_bytes();
  const bool zp = g.weights.has_zero_points();
  const __m256i low = _mm256_set1_epi8(0x0F);
  const __m256i ones = _mm256_set1_epi16(1);
  const unsigned char* w[std::size_t{P}];
#pragma GCC unroll 4
  for (int i = 0; i < P; ++i) w[i] = g.weights.panel(p0 + i);
#pragma GCC unroll 8
  for (int j = 0; j < MR * 2 * P; ++j) _mm256_store_ps(tile + 8 * j, _mm256_setzero_ps());
  for (std::ptrdiff_t gi = 0; gi < groups; ++gi) {
    __m256i iacc[std::size_t{MR}][std::size_t{2 * P}];
    if (zp) {
#pragma GCC unroll 8
      for (int h = 0; h < 2 * P; ++h) {
        const __m256i z = _mm256_cvtepu8_epi32(
            _mm_loadl_epi64(reinterpret_cast<const __m128i*>(w[h / 2] + gi * group_bytes + gsz * 8 + 64 + 8 * (h % 2))));
#pragma GCC unroll 4
        for (int r = 0; r < MR; ++r) {
          iacc[r][h] = _mm256_mullo_epi32(z, _mm256_set1_epi32(-g.group_sums[(m0 + r) * g.lds + gi]));
        }
      }
    } else {
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) {
        const __m256i start = _mm256_set1_epi32(g.group_starts[(m0 + r) * g.lds + gi]);  // -8 Σ a, a broadcast load
#pragma GCC unroll 8
        for (int h = 0; h < 2 * P; ++h) iacc[r][h] = start;
      }
    }
    const std::int8_t* a = g.a + m0 * g.lda + gi * gsz;
    for (std::ptrdiff_t c = 0; c < gsz / 8; ++c) {
#pragma GCC unroll 4
      for (int i = 0; i < P; ++i) prefetch_at(w[i] + gi * group_bytes + c * 64, q4_weight_prefetch_bytes);
#pragma GCC unroll 8
      for (int h = 0; h < 2 * P; ++h) {
        const __m256i v =
            _mm256_loadu_si256(reinterpret_cast<const __m256i*>(w[h / 2] + gi * group_bytes + c * 64 + 32 * (h % 2)));
        const __m256i lo = _mm256_and_si256(v, low);
        const __m256i hi = _mm256_and_si256(_mm256_srli_epi16(v, 4), low);
#pragma GCC unroll 4
        for (int r = 0; r < MR; ++r) {
          std::int32_t a0, a1;
          __builtin_memcpy(&a0, a + r * g.lda + 8 * c, 4);
          __builtin_memcpy(&a1, a + r * g.lda + 8 * c + 4, 4);
          const __m256i pairs = _mm256_add_epi16(_mm256_maddubs_epi16(lo, _mm256_set1_epi32(a0)),
                                                 _mm256_maddubs_epi16(hi, _mm256_set1_epi32(a1)));
          iacc[r][h] = _mm256_add_epi32(iacc[r][h], _mm256_madd_epi16(pairs, ones));
        }
      }
    }
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i) {
      prefetch_at(w[i] + gi * group_bytes + gsz * 8, q4_weight_prefetch_bytes);
      if (zp) prefetch_at(w[i] + gi * group_bytes + gsz * 8 + 64, q4_weight_prefetch_bytes);
    }
#pragma GCC unroll 8
    for (int h = 0; h < 2 * P; ++h) {
      const __m256 s =
          _mm256_loadu_ps(reinterpret_cast<const float*>(w[h / 2] + gi * group_bytes + gsz * 8 + 32 * (h % 2)));
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) {
        float* t = tile + r * 16 * P + 8 * h;
        _mm256_store_ps(t, _mm256_fmadd_ps(_mm256_cvtepi32_ps(iacc[r][h]), s, _mm256_load_ps(t)));
      }
    }
  }
}

struct gemm_s8x4_f32_4x16c8 {
  static constexpr int mr = 4;
  static constexpr int nr = 16;
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "gemm_s8x4_f32_4x16c8__avx2"; }

  static constexpr int panels_for(int rows) noexcept { return rows <= 1 ? 2 : 1; }

  template <int MR, int P, class... S>
  QSPARSE_TARGET_AVX2 static void run_panels(const gemm_q4_args& g, const output_pipeline<S...>& pipeline,
                                             std::ptrdiff_t m0, std::ptrdiff_t p) {
    alignas(32) float tile[std::size_t{MR * 16 * P}];
    gemm_s8x4_tile_4x16c8<MR, P>(g, m0, p, tile);
    for (int h = 0; h < 2 * P; ++h) {
      const std::ptrdiff_t n = p * 16 + 8 * h;
      const std::ptrdiff_t left = g.n - n;
      if (left <= 0) break;
      const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left < 8 ? left : 8)),
                                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      const auto prepared = prepare_f32_stages(pipeline, n, mask, std::index_sequence_for<S...>{});
      for (int r = 0; r < MR; ++r) {
        __m256 y = _mm256_mul_ps(_mm256_load_ps(tile + r * 16 * P + 8 * h), _mm256_set1_ps(g.row_scales[m0 + r]));
        QSPARSE_KEEP_ROUNDED(y);  // the product is rounded before the bias add, never contracted into an FMA
        _mm256_maskstore_ps(g.dst + (m0 + r) * g.ldd + n, mask, apply_f32_stages<0>(prepared, y));
      }
    }
  }

  template <class... S>
  QSPARSE_TARGET_AVX2 static void run(const gemm_q4_args& g, const output_pipeline<S...>& pipeline,
                                      std::ptrdiff_t m_begin, std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                      std::ptrdiff_t panel_end) {
    drivers::run_panel_groups<gemm_s8x4_f32_4x16c8>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
  }
};

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
