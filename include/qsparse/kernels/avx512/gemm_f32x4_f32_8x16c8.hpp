// qsparse/kernels/avx512/gemm_f32x4_f32_8x16c8.hpp — float activations × 4-bit group-wise weights on
// AVX-512 (also the kernel of avx512_vnni): up to 8 rows × 16 columns per tile, 2 or 4 panels at once for
// fewer rows (the panel_groups driver), weights in the layout of qsparse/spec/packed_weights_q4.hpp.
//
// The weights are dequantized in registers: per 64-byte chunk (8 k × 16 columns) one load, then for each
// k a dword shift (8 (k % 4) + 4 (k % 8 / 4)) and vpandd 0x0F give u, vpsubd the zero point, vcvtdq2ps
// (exact) and vmulps by the group's scales the reference's float(u - z) * scale, rounded once; each row
// then runs vfmadd231ps with its activation broadcast, k in order — one zmm lane per (m, n) runs exactly
// the std::fma chain of qsparse/gemm/reference_q4.hpp, so every bit matches (NaN payloads aside).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/gemm_f32f16_f32_8x32c1.hpp"
#include "qsparse/kernels/drivers/panel_groups.hpp"
#include "qsparse/spec/gemm_panel_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights_q4.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512 {

/// Step t (k = 8c + t) of a chunk: dequantize 16 columns of P panels and run MR FMA chains.
template <int MR, int P, int T>
QSPARSE_TARGET_AVX512 inline void f32x4_step(__m512 (&facc)[std::size_t{MR}][std::size_t{P}], const __m512i (&v)[std::size_t{P}], const __m512i (&z)[std::size_t{P}],
                                             const __m512 (&s)[std::size_t{P}], const float* a, std::ptrdiff_t lda) {
  constexpr unsigned shift = 8 * (T % 4) + 4 * (T / 4);
  __m512 w[std::size_t{P}];
#pragma GCC unroll 4
  for (int i = 0; i < P; ++i) {
    const __m512i u = _mm512_and_si512(_mm512_srli_epi32(v[i], shift), _mm512_set1_epi32(15));
    w[i] = _mm512_mul_ps(_mm512_cvtepi32_ps(_mm512_sub_epi32(u, z[i])), s[i]);
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    const __m512 av = _mm512_set1_ps(a[r * lda + T]);
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i) facc[r][i] = _mm512_fmadd_ps(av, w[i], facc[r][i]);
  }
}

template <int MR, int P, int... T>
QSPARSE_TARGET_AVX512 inline void f32x4_chunk(__m512 (&facc)[std::size_t{MR}][std::size_t{P}], const __m512i (&v)[std::size_t{P}], const __m512i (&z)[std::size_t{P}],
                                              const __m512 (&s)[std::size_t{P}], const float* a, std::ptrdiff_t lda,
                                              std::integer_sequence<int, T...>) {
  (f32x4_step<MR, P, T>(facc, v, z, s, a, lda), ...);
}

/// MR rows × P panels over all k into tile[r][16 P].
template <int MR, int P>
QSPARSE_TARGET_AVX512 inline void gemm_f32x4_tile_8x16c8(const gemm_panel_args<float, packed_weights_q4_view, float>& g,
                                                         std::ptrdiff_t m0, std::ptrdiff_t p0, float* tile) {
  const std::ptrdiff_t gsz = g.weights.group_size();
  const std::ptrdiff_t groups = g.weights.groups();
  const std::ptrdiff_t group_bytes = g.weights.group_bytes();
  const bool zp = g.weights.has_zero_points();
  const unsigned char* w[std::size_t{P}];
#pragma GCC unroll 4
  for (int i = 0; i < P; ++i) w[i] = g.weights.panel(p0 + i);
  __m512 facc[std::size_t{MR}][std::size_t{P}];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i) facc[r][i] = _mm512_setzero_ps();
  }
  for (std::ptrdiff_t gi = 0; gi < groups; ++gi) {
    __m512 s[std::size_t{P}];
    __m512i z[std::size_t{P}];
    const unsigned char* wg[std::size_t{P}];
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i) {
      wg[i] = w[i] + gi * group_bytes;
      s[i] = _mm512_loadu_ps(reinterpret_cast<const float*>(wg[i] + gsz * 8));
      z[i] = zp ? _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(wg[i] + gsz * 8 + 64)))
                : _mm512_set1_epi32(8);
    }
    const float* a = g.a + m0 * g.lda + gi * gsz;
    for (std::ptrdiff_t c = 0; c < gsz / 8; ++c) {
      __m512i v[std::size_t{P}];
#pragma GCC unroll 4
      for (int i = 0; i < P; ++i) v[i] = _mm512_loadu_si512(wg[i] + c * 64);
      f32x4_chunk<MR, P>(facc, v, z, s, a + 8 * c, g.lda, std::make_integer_sequence<int, 8>{});
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i) _mm512_store_ps(tile + r * 16 * P + 16 * i, facc[r][i]);
  }
}

struct gemm_f32x4_f32_8x16c8 {
  static constexpr int mr = 8;
  static constexpr int nr = 16;
  static constexpr isa_level isa = isa_level::avx512;
  static const char* name() { return "gemm_f32x4_f32_8x16c8__avx512"; }

  static constexpr int panels_for(int rows) noexcept { return rows <= 2 ? 4 : (rows <= 4 ? 2 : 1); }

  template <int MR, int P, class... S>
  QSPARSE_TARGET_AVX512 static void run_panels(const gemm_panel_args<float, packed_weights_q4_view, float>& g,
                                               const output_pipeline<S...>& pipeline, std::ptrdiff_t m0,
                                               std::ptrdiff_t p) {
    alignas(64) float tile[std::size_t{MR * 16 * P}];
    gemm_f32x4_tile_8x16c8<MR, P>(g, m0, p, tile);
    for (int i = 0; i < P; ++i) {
      const std::ptrdiff_t n = (p + i) * 16;
      const std::ptrdiff_t left = g.n - n;
      if (left <= 0) break;
      const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
      const auto prepared = prepare_f32_stages(pipeline, n, mask, std::index_sequence_for<S...>{});
      for (int r = 0; r < MR; ++r) {
        const __m512 v = apply_f32_stages<0>(prepared, _mm512_load_ps(tile + r * 16 * P + 16 * i));
        _mm512_mask_storeu_ps(g.dst + (m0 + r) * g.ldd + n, mask, v);
      }
    }
  }

  template <class... S>
  QSPARSE_TARGET_AVX512 static void run(const gemm_panel_args<float, packed_weights_q4_view, float>& g,
                                        const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                        std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    drivers::run_panel_groups<gemm_f32x4_f32_8x16c8>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
  }
};

}  // namespace avx512
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
