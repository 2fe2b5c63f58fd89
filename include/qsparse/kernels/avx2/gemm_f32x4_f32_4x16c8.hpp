// qsparse/kernels/avx2/gemm_f32x4_f32_4x16c8.hpp — float activations × 4-bit group-wise weights on AVX2:
// up to 4 rows × 16 columns per tile (2 panels for one row), weights in the layout of
// qsparse/spec/packed_weights_q4.hpp, each 64-byte chunk read as two 32-byte halves of 8 columns.
//
// As the AVX-512 kernel: per k a dword shift and vpand give u, vpsubd the zero point, vcvtdq2ps and
// vmulps the reference's float(u - z) * scale, then one vfmadd231ps per row, k in order — the std::fma
// chain of qsparse/gemm/reference_q4.hpp lane by lane, so every bit matches (NaN payloads aside).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx2/gemm_f32f16_f32_6x16c1.hpp"
#include "qsparse/kernels/drivers/panel_groups.hpp"
#include "qsparse/spec/gemm_panel_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights_q4.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx2 {

/// Step t (k = 8c + t) of a chunk over H halves of 8 columns: dequantize, then MR FMA chains each.
template <int MR, int H, int T>
QSPARSE_TARGET_AVX2 inline void f32x4_step(__m256 (&facc)[std::size_t{MR}][std::size_t{H}], const __m256i (&v)[std::size_t{H}], const __m256i (&z)[std::size_t{H}],
                                           const __m256 (&s)[std::size_t{H}], const float* a, std::ptrdiff_t lda) {
  constexpr int shift = 8 * (T % 4) + 4 * (T / 4);
  __m256 w[std::size_t{H}];
#pragma GCC unroll 4
  for (int h = 0; h < H; ++h) {
    const __m256i u = _mm256_and_si256(_mm256_srli_epi32(v[h], shift), _mm256_set1_epi32(15));
    w[h] = _mm256_mul_ps(_mm256_cvtepi32_ps(_mm256_sub_epi32(u, z[h])), s[h]);
  }
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
    const __m256 av = _mm256_broadcast_ss(a + r * lda + T);
#pragma GCC unroll 4
    for (int h = 0; h < H; ++h) facc[r][h] = _mm256_fmadd_ps(av, w[h], facc[r][h]);
  }
}

template <int MR, int H, int... T>
QSPARSE_TARGET_AVX2 inline void f32x4_chunk(__m256 (&facc)[std::size_t{MR}][std::size_t{H}], const __m256i (&v)[std::size_t{H}], const __m256i (&z)[std::size_t{H}],
                                            const __m256 (&s)[std::size_t{H}], const float* a, std::ptrdiff_t lda,
                                            std::integer_sequence<int, T...>) {
  (f32x4_step<MR, H, T>(facc, v, z, s, a, lda), ...);
}

/// MR rows × P panels over all k into tile[r][16 P].
template <int MR, int P>
QSPARSE_TARGET_AVX2 inline void gemm_f32x4_tile_4x16c8(const gemm_panel_args<float, packed_weights_q4_view, float>& g,
                                                       std::ptrdiff_t m0, std::ptrdiff_t p0, float* tile) {
  constexpr int H = 2 * P;
  const std::ptrdiff_t gsz = g.weights.group_size();
  const std::ptrdiff_t groups = g.weights.groups();
  const std::ptrdiff_t group_bytes = g.weights.group_bytes();
  const bool zp = g.weights.has_zero_points();
  __m256 facc[std::size_t{MR}][std::size_t{H}];
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int h = 0; h < H; ++h) facc[r][h] = _mm256_setzero_ps();
  }
  for (std::ptrdiff_t gi = 0; gi < groups; ++gi) {
    __m256 s[std::size_t{H}];
    __m256i z[std::size_t{H}];
    const unsigned char* wg[std::size_t{H}];
#pragma GCC unroll 4
    for (int h = 0; h < H; ++h) {
      wg[h] = g.weights.panel(p0 + h / 2) + gi * group_bytes + 32 * (h % 2);
      s[h] = _mm256_loadu_ps(reinterpret_cast<const float*>(wg[h] + gsz * 8));
      z[h] = zp ? _mm256_cvtepu8_epi32(_mm_loadl_epi64(reinterpret_cast<const __m128i*>(
                      g.weights.panel(p0 + h / 2) + gi * group_bytes + gsz * 8 + 64 + 8 * (h % 2))))
                : _mm256_set1_epi32(8);
    }
    const float* a = g.a + m0 * g.lda + gi * gsz;
    for (std::ptrdiff_t c = 0; c < gsz / 8; ++c) {
      __m256i v[std::size_t{H}];
#pragma GCC unroll 4
      for (int h = 0; h < H; ++h) v[h] = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(wg[h] + c * 64));
      f32x4_chunk<MR, H>(facc, v, z, s, a + 8 * c, g.lda, std::make_integer_sequence<int, 8>{});
    }
  }
#pragma GCC unroll 4
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int h = 0; h < H; ++h) _mm256_store_ps(tile + r * 16 * P + 8 * h, facc[r][h]);
  }
}

struct gemm_f32x4_f32_4x16c8 {
  static constexpr int mr = 4;
  static constexpr int nr = 16;
  static constexpr isa_level isa = isa_level::avx2;
  static const char* name() { return "gemm_f32x4_f32_4x16c8__avx2"; }

  static constexpr int panels_for(int rows) noexcept { return rows <= 2 ? 2 : 1; }

  template <int MR, int P, class... S>
  QSPARSE_TARGET_AVX2 static void run_panels(const gemm_panel_args<float, packed_weights_q4_view, float>& g,
                                             const output_pipeline<S...>& pipeline, std::ptrdiff_t m0,
                                             std::ptrdiff_t p) {
    alignas(32) float tile[std::size_t{MR * 16 * P}];
    gemm_f32x4_tile_4x16c8<MR, P>(g, m0, p, tile);
    for (int h = 0; h < 2 * P; ++h) {
      const std::ptrdiff_t n = p * 16 + 8 * h;
      const std::ptrdiff_t left = g.n - n;
      if (left <= 0) break;
      const __m256i mask = _mm256_cmpgt_epi32(_mm256_set1_epi32(static_cast<int>(left < 8 ? left : 8)),
                                              _mm256_setr_epi32(0, 1, 2, 3, 4, 5, 6, 7));
      const auto prepared = prepare_f32_stages(pipeline, n, mask, std::index_sequence_for<S...>{});
      for (int r = 0; r < MR; ++r) {
        const __m256 v = apply_f32_stages<0>(prepared, _mm256_load_ps(tile + r * 16 * P + 8 * h));
        _mm256_maskstore_ps(g.dst + (m0 + r) * g.ldd + n, mask, v);
      }
    }
  }

  template <class... S>
  QSPARSE_TARGET_AVX2 static void run(const gemm_panel_args<float, packed_weights_q4_view, float>& g,
                                      const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                      std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    drivers::run_panel_groups<gemm_f32x4_f32_4x16c8>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
  }
};

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
