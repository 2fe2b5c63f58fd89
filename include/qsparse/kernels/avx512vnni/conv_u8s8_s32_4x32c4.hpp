// qsparse/kernels/avx512vnni/conv_u8s8_s32_4x32c4.hpp — the shallow-K convolution kernel on AVX-512 VNNI:
// im2col rows with K <= 32 (a 3-channel stem: K = 3*3*3 = 27) times weights packed s8_c4_nr32 (the
// GEMM's VNNI layout, qsparse/gemm/packed_weights.hpp), 4 rows × 32 columns per tile.
//
// For such K the GEMM spends its time around the inner loop (tile copies, a round trip of the tile
// through memory), not in it. Here a panel's whole K (at most 8 groups × 2 vectors) stays in registers
// while the rows stream by; the zero-point compensation is the accumulators' initial value; the output
// pipeline is prepared once per panel. Rows are int8, made unsigned (a + 128) as each 4-byte group is
// broadcast, padded with anything to kp bytes (the padded weights are 0); weights must be symmetric (w_zp = 0):
//   Σ_k (a - a_zp) w = Σ_k a_u w - (a_zp + 128) colsum[n].
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/output_stages.hpp"
#include "qsparse/gemm/packed_weights.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {

/// One call of the shallow-K convolution kernel: rows [0, m) of unsigned im2col rows.
template <class Out>
struct conv_shallow_args {
  const std::int8_t* rows;  // row r at rows + r * kp, kp = weights.k_padded() <= 32
  std::ptrdiff_t m;
  std::int32_t a_zero_point;  // of the int8 rows before the flip
  packed_weights_view weights;  // s8_c4_nr32, w_zp = 0
  std::ptrdiff_t n;
  std::ptrdiff_t m0;  // the pipeline's row index of row 0
  Out* dst;           // row r at dst + r * ldd
  std::ptrdiff_t ldd;
};

namespace avx512_vnni {

struct conv_u8s8_s32_4x32c4 {
  static constexpr int mr = 4;
  static constexpr int nr = 32;
  static constexpr int max_k = 32;
  static constexpr isa_level isa = isa_level::avx512_vnni;
  static const char* name() { return "conv_u8s8_s32_4x32c4__avx512vnni"; }

  /// The tile's rows (32 whole columns each, the fast evaluator) stored as 8-bit values, two rows at a
  /// time through packs (avx512::store_rows_as_bytes).
  template <int MR, class Prepared0, class Prepared1, class Out>
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void store_rows_packed(
      const Prepared0& p0, const Prepared1& p1, const __m512i (&acc)[MR][2], Out* dst, std::ptrdiff_t ldd) {
#pragma GCC unroll 4
    for (int r = 0; r < MR; r += 2) {
      const int r1 = r + 1 < MR ? r + 1 : r;
      avx512::store_rows_as_bytes(avx512::apply_all<0, true>(p0, acc[r][0]), avx512::apply_all<0, true>(p1, acc[r][1]),
                                  avx512::apply_all<0, true>(p0, acc[r1][0]), avx512::apply_all<0, true>(p1, acc[r1][1]),
                                  dst + r * ldd, r1 != r ? dst + r1 * ldd : nullptr);
    }
  }

  template <int G, int MR, bool Fast, class Prepared0, class Prepared1, class Out>
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void tile(
      const std::int8_t* a, std::ptrdiff_t kp, const __m512i (&w)[G][2], __m512i init0, __m512i init1,
      const Prepared0& p0, const Prepared1& p1, __mmask16 mask0, __mmask16 mask1, bool second, Out* dst,
      std::ptrdiff_t ldd) {
    __m512i acc[MR][2];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      acc[r][0] = init0;
      acc[r][1] = init1;
    }
    const __m512i flip = _mm512_set1_epi32(static_cast<std::int32_t>(0x80808080u));
#pragma GCC unroll 8
    for (int g = 0; g < G; ++g) {
#pragma GCC unroll 4
      for (int r = 0; r < MR; ++r) {
        std::int32_t word;
        std::memcpy(&word, a + r * kp + 4 * g, 4);
        const __m512i av = _mm512_xor_si512(_mm512_set1_epi32(word), flip);  // a + 128, broadcast from memory
        acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, w[g][0]);
        acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, w[g][1]);
      }
    }
    if constexpr (Fast && sizeof(Out) == 1) {
      if (mask0 == 0xFFFF && mask1 == 0xFFFF) {  // 32 whole columns: store bytes through packs
        store_rows_packed<MR>(p0, p1, acc, dst, ldd);
        return;
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      avx512::store_prepared<Fast>(p0, acc[r][0], mask0, dst + r * ldd);
      if (second) avx512::store_prepared<Fast>(p1, acc[r][1], mask1, dst + r * ldd + 16);
    }
  }

  template <int G, class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run_groups(const conv_shallow_args<typename output_pipeline<S...>::output_type>& g,
                                                    const output_pipeline<S...>& pipeline) {
    const std::ptrdiff_t kp = g.weights.k_padded();
    const std::ptrdiff_t panels = g.weights.n_padded() / nr;
    const std::int32_t* column_sums = g.weights.column_sums();
    const __m512i factor = _mm512_set1_epi32(-(g.a_zero_point + 128));
    // |Σ_k (a - a_zp) w| for int8 a and symmetric int8 w (the padded weights are 0).
    const std::int64_t bound = static_cast<std::int64_t>(kp) *
                               std::max<std::int64_t>(127 - g.a_zero_point, g.a_zero_point + 128) * 128;
    for (std::ptrdiff_t p = 0; p < panels; ++p) {
      const auto* wp = static_cast<const std::int8_t*>(g.weights.panel(p));
      __m512i w[G][2];
#pragma GCC unroll 8
      for (int k = 0; k < G; ++k) {
        w[k][0] = _mm512_load_si512(wp + 128 * k);
        w[k][1] = _mm512_load_si512(wp + 128 * k + 64);
      }
      const std::ptrdiff_t n0 = p * nr;
      const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
      const auto mask0 = static_cast<__mmask16>(columns >= 16 ? 0xFFFF : (1u << columns) - 1u);
      const bool second = columns > 16;
      const auto mask1 = static_cast<__mmask16>(!second ? 0 : (columns >= 32 ? 0xFFFF : (1u << (columns - 16)) - 1u));
      const __m512i init0 = _mm512_mullo_epi32(_mm512_load_si512(column_sums + n0), factor);  // padded: in bounds
      const __m512i init1 = _mm512_mullo_epi32(_mm512_load_si512(column_sums + n0 + 16), factor);
      const auto p0 = avx512::prepare(pipeline, n0, mask0, bound);
      const auto p1 = avx512::prepare(pipeline, n0 + 16, mask1, bound);
      const bool fast = avx512::fast_path_exact(p0) && (!second || avx512::fast_path_exact(p1));
      if constexpr (avx512::has_fast_path<std::decay_t<decltype(p0)>>::value) {
        if (fast) {
          run_panel<G, true>(g, w, init0, init1, p0, p1, mask0, mask1, second, n0);
          continue;
        }
      }
      run_panel<G, false>(g, w, init0, init1, p0, p1, mask0, mask1, second, n0);
    }
  }

  /// Every row of the panel whose first column is n0.
  template <int G, bool Fast, class Prepared, class Out>
  QSPARSE_TARGET_AVX512_VNNI static void run_panel(const conv_shallow_args<Out>& g, const __m512i (&w)[G][2],
                                                   __m512i init0, __m512i init1, const Prepared& p0,
                                                   const Prepared& p1, __mmask16 mask0, __mmask16 mask1, bool second,
                                                   std::ptrdiff_t n0) {
    const std::ptrdiff_t kp = g.weights.k_padded();
    auto* dst = g.dst + n0;
    std::ptrdiff_t r = 0;
    for (; r + mr <= g.m; r += mr)
      tile<G, 4, Fast>(g.rows + r * kp, kp, w, init0, init1, p0, p1, mask0, mask1, second, dst + r * g.ldd, g.ldd);
    switch (g.m - r) {
      case 3: tile<G, 3, Fast>(g.rows + r * kp, kp, w, init0, init1, p0, p1, mask0, mask1, second, dst + r * g.ldd, g.ldd); break;
      case 2: tile<G, 2, Fast>(g.rows + r * kp, kp, w, init0, init1, p0, p1, mask0, mask1, second, dst + r * g.ldd, g.ldd); break;
      case 1: tile<G, 1, Fast>(g.rows + r * kp, kp, w, init0, init1, p0, p1, mask0, mask1, second, dst + r * g.ldd, g.ldd); break;
      default: break;
    }
  }

  /// dst[r][n] = evaluate(pipeline, Σ_k (a - a_zp) w[k][n], m0 + r, n) for r < m, n < N.
  template <class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run(const conv_shallow_args<typename output_pipeline<S...>::output_type>& g,
                                             const output_pipeline<S...>& pipeline) {
    switch (g.weights.k_padded() / 4) {
      case 1: return run_groups<1>(g, pipeline);
      case 2: return run_groups<2>(g, pipeline);
      case 3: return run_groups<3>(g, pipeline);
      case 4: return run_groups<4>(g, pipeline);
      case 5: return run_groups<5>(g, pipeline);
      case 6: return run_groups<6>(g, pipeline);
      case 7: return run_groups<7>(g, pipeline);
      default: return run_groups<8>(g, pipeline);
    }
  }
};

}  // namespace avx512_vnni
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
