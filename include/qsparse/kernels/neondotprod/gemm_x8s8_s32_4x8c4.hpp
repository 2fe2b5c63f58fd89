// qsparse/kernels/neondotprod/gemm_x8s8_s32_4x8c4.hpp — the shallow-K int8 GEMM tile on aarch64 with
// the dot-product instructions: 4 rows (output pixels) × 8 columns (output channels) per tile, for
// symmetric weights (w_zp = 0) with K <= 32 (a 3-channel stem: 3*3*3 = 27) packed s8_c4_nr16 (the layout
// of the deep sdot tile, gemm_x8s8_s32_4x16c4.hpp).
//
// At such K the deep tile spends its time around its k loop: a row copy per tile, the weights reloaded for
// every tile, one block of 16 k and a tail. Here, as in the AVX-512 VNNI shallow tile
// (avx512vnni/gemm_u8s8_s32_4x32c4.hpp), the whole K of a half panel (8 columns × at most 8 k groups: 16
// q registers) stays in registers while the rows stream by in place, 4 at a time: per row 1 or 2 q loads
// (the second one ends at the padded K, so a row is read up to whole k groups, never further) and 2 sdot
// per k group, 8 accumulators for the tile. uint8 rows are made signed as they are loaded (eor 0x80:
// a_s = a - 128). A row is read up to whole k groups (up to 3 bytes past K, times zero weights), so rows
// are read in place when K is a multiple of 4 or when 3 more rows follow them; the last rows (up to 3)
// are first copied to a zero-padded buffer. The exact result, with o = 0 for int8 and 128 for uint8:
//   Σ_k (a - a_zp) w = Σ_k a_s w - (a_zp - o) colsum[n]
// the column term and every output stage applied by the NEON epilogue (neon::store_s8s8_tile).
//
// The GEMM registry (qsparse/kernels/gemm_kernels.hpp) lists it after the deep sdot tile, so weights
// packed for neon_dotprod with w_zp = 0 and K <= 32 run here; conv2d's im2col rows of a 3-channel stem
// reach it through the GEMM.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/neon/output_pipeline.hpp"
#include "qsparse/kernels/neondotprod/gemm_x8s8_s32_4x16c4.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights.hpp"

#if QSPARSE_AARCH64
#include <arm_neon.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace neon_dotprod {

struct gemm_x8s8_s32_4x8c4 {
  static constexpr int mr = 4;
  static constexpr int nr = 16;  // the panel width of the layout; a tile covers half a panel
  static constexpr int kr = 4;
  static constexpr int max_k = 32;
  static constexpr isa_level isa = isa_level::neon_dotprod;
  static constexpr packed_layout layout = packed_layout::s8_c4_nr16;
  static const char* name() { return "gemm_x8s8_s32_4x8c4__neondotprod"; }

  /// The GEMM registry hands this kernel symmetric weights whose K fits in registers (K <= 32).
  static bool accepts(const packed_weights_view& w) noexcept {
    return w.weight_zero_point() == 0 && w.k_padded() <= max_k;
  }

  /// The G k groups of a row (4G bytes at p) in two q registers: groups 0-3 in lanes 0-3 of r[0], groups
  /// 4 .. G-1 in lanes 8 - G .. 3 of r[1] (a load that ends at byte 4G). Never reads past p + 4G - 1.
  template <int G, bool Flip>
  QSPARSE_TARGET_NEON_DOTPROD static inline __attribute__((always_inline)) void load_row(const std::int8_t* p,
                                                                                        int8x16_t (&r)[2]) {
    if constexpr (G >= 4) {
      r[0] = vld1q_s8(p);
    } else if constexpr (G == 3) {
      std::int32_t word;
      std::memcpy(&word, p + 8, 4);
      r[0] = vcombine_s8(vld1_s8(p), vreinterpret_s8_s32(vdup_n_s32(word)));
    } else if constexpr (G == 2) {
      r[0] = vcombine_s8(vld1_s8(p), vdup_n_s8(0));
    } else {
      std::int32_t word;
      std::memcpy(&word, p, 4);
      r[0] = vreinterpretq_s8_s32(vdupq_n_s32(word));
    }
    if constexpr (G > 4) r[1] = vld1q_s8(p + 4 * G - 16);
    if constexpr (Flip) {
      const int8x16_t flip = vdupq_n_s8(static_cast<std::int8_t>(-128));
      r[0] = veorq_s8(r[0], flip);
      if constexpr (G > 4) r[1] = veorq_s8(r[1], flip);
    }
  }

  /// sdot_lane in program order (volatile): the tile's source order interleaves its 8 accumulator chains
  /// group by group, which GCC 12 otherwise regroups row by row into chains of dependent sdot that stall
  /// an in-order core (Cortex-A55) on the sdot latency.
  template <int Lane>
  QSPARSE_TARGET_NEON_DOTPROD static inline __attribute__((always_inline)) int32x4_t sdot_lane_in_order(
      int32x4_t acc, int8x16_t w, int8x16_t a) {
    __asm__ volatile("sdot %0.4s, %1.16b, %2.4b[%3]" : "+w"(acc) : "w"(w), "w"(a), "i"(Lane));
    return acc;
  }

  /// Group Gi of MR rows into their 8 accumulators.
  template <int G, int Gi, int MR>
  QSPARSE_TARGET_NEON_DOTPROD static inline __attribute__((always_inline)) void step(
      int32x4_t (&acc)[std::size_t{MR}][2], const int8x16_t (&w)[std::size_t{G}][2],
      const int8x16_t (&rows)[std::size_t{MR}][2]) {
    constexpr int reg = Gi < 4 ? 0 : 1;
    constexpr int lane = Gi < 4 ? Gi : Gi - G + 4;
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      acc[r][0] = sdot_lane_in_order<lane>(acc[r][0], w[Gi][0], rows[r][reg]);
      acc[r][1] = sdot_lane_in_order<lane>(acc[r][1], w[Gi][1], rows[r][reg]);
    }
  }

  /// MR rows (at a + r * lda, 4G bytes each) × the half panel in w: sums[r * 8 + n] = Σ_k a_s w.
  template <int G, bool Flip, int MR, int... Gi>
  QSPARSE_TARGET_NEON_DOTPROD static inline __attribute__((always_inline)) void tile(
      const std::int8_t* a, std::ptrdiff_t lda, const int8x16_t (&w)[std::size_t{G}][2], std::int32_t* sums,
      std::integer_sequence<int, Gi...>) {
    int8x16_t rows[std::size_t{MR}][2];
    int32x4_t acc[std::size_t{MR}][2];
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      load_row<G, Flip>(a + r * lda, rows[r]);
      acc[r][0] = vdupq_n_s32(0);
      acc[r][1] = vdupq_n_s32(0);
    }
    (step<G, Gi, MR>(acc, w, rows), ...);
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      vst1q_s32(sums + r * 8, acc[r][0]);
      vst1q_s32(sums + r * 8 + 4, acc[r][1]);
    }
  }

  /// Rows [0, m) at a (row stride lda, read up to 4G bytes each) × panels [panel_begin, panel_end);
  /// row r is the GEMM's row m0 + r.
  template <int G, bool Flip, class A, class Out, class Pipeline>
  QSPARSE_TARGET_NEON_DOTPROD static void run_groups(const gemm_args<A, Out>& g, const Pipeline& pipeline,
                                                     const std::int8_t* a, std::ptrdiff_t lda, std::ptrdiff_t m,
                                                     std::ptrdiff_t m0, std::ptrdiff_t panel_begin,
                                                     std::ptrdiff_t panel_end) {
    constexpr auto groups = std::make_integer_sequence<int, G>{};
    alignas(16) std::int32_t sums[mr * 8];
    const std::int32_t no_row_sums[mr] = {0, 0, 0, 0};  // w_zp = 0: no row term
    for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
      const auto* panel = static_cast<const std::int8_t*>(g.weights.panel(p));
      for (int h = 0; h < 2; ++h) {
        const std::ptrdiff_t n0 = p * nr + 8 * h;
        if (n0 >= g.n) break;
        int8x16_t w[std::size_t{G}][2];
#pragma GCC unroll 8
        for (int gi = 0; gi < G; ++gi) {
          w[gi][0] = vld1q_s8(panel + 64 * gi + 32 * h);
          w[gi][1] = vld1q_s8(panel + 64 * gi + 32 * h + 16);
        }
        std::ptrdiff_t r = 0;
        for (; r + mr <= m; r += mr) {
          tile<G, Flip, mr>(a + r * lda, lda, w, sums, groups);
          neon::store_s8s8_tile<8>(g, pipeline, sums, no_row_sums, mr, m0 + r, n0);
        }
        const int rest = static_cast<int>(m - r);
        if (rest == 0) continue;
        switch (rest) {
          case 3: tile<G, Flip, 3>(a + r * lda, lda, w, sums, groups); break;
          case 2: tile<G, Flip, 2>(a + r * lda, lda, w, sums, groups); break;
          default: tile<G, Flip, 1>(a + r * lda, lda, w, sums, groups); break;
        }
        neon::store_s8s8_tile<8>(g, pipeline, sums, no_row_sums, rest, m0 + r, n0);
      }
    }
  }

  template <bool Flip, class A, class Out, class Pipeline>
  QSPARSE_TARGET_NEON_DOTPROD static void run_rows(const gemm_args<A, Out>& g, const Pipeline& pipeline,
                                                   const std::int8_t* a, std::ptrdiff_t lda, std::ptrdiff_t m,
                                                   std::ptrdiff_t m0, std::ptrdiff_t panel_begin,
                                                   std::ptrdiff_t panel_end) {
    switch (g.weights.k_padded() / 4) {
      case 1: return run_groups<1, Flip>(g, pipeline, a, lda, m, m0, panel_begin, panel_end);
      case 2: return run_groups<2, Flip>(g, pipeline, a, lda, m, m0, panel_begin, panel_end);
      case 3: return run_groups<3, Flip>(g, pipeline, a, lda, m, m0, panel_begin, panel_end);
      case 4: return run_groups<4, Flip>(g, pipeline, a, lda, m, m0, panel_begin, panel_end);
      case 5: return run_groups<5, Flip>(g, pipeline, a, lda, m, m0, panel_begin, panel_end);
      case 6: return run_groups<6, Flip>(g, pipeline, a, lda, m, m0, panel_begin, panel_end);
      case 7: return run_groups<7, Flip>(g, pipeline, a, lda, m, m0, panel_begin, panel_end);
      default: return run_groups<8, Flip>(g, pipeline, a, lda, m, m0, panel_begin, panel_end);
    }
  }

  /// The GEMM (qsparse/spec/gemm_args.hpp) on the rows in place, for the weights accepts() takes.
  template <class A, class... S>
  QSPARSE_TARGET_NEON_DOTPROD static void run(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                              const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                              std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                              std::ptrdiff_t panel_end) {
    constexpr bool flip = std::is_same_v<A, std::uint8_t>;
    const auto* a = reinterpret_cast<const std::int8_t*>(g.a);
    const std::ptrdiff_t kp = g.weights.k_padded();
    const std::ptrdiff_t safe_end =
        g.k % 4 == 0 ? m_end : std::max(m_begin, std::min<std::ptrdiff_t>(m_end, g.m - 3));
    if (safe_end > m_begin)
      run_rows<flip>(g, pipeline, a + m_begin * g.lda, g.lda, safe_end - m_begin, m_begin, panel_begin, panel_end);
    if (safe_end < m_end) {
      // The last rows (up to 3) padded to whole k groups (the padding meets zero weights).
      alignas(16) std::int8_t tail[3 * max_k] = {};
      const std::ptrdiff_t rows = m_end - safe_end;
      for (std::ptrdiff_t r = 0; r < rows; ++r)
        std::memcpy(tail + r * kp, a + (safe_end + r) * g.lda, static_cast<std::size_t>(g.k));
      run_rows<flip>(g, pipeline, static_cast<const std::int8_t*>(tail), kp, rows, safe_end, panel_begin, panel_end);
    }
  }
};

}  // namespace neon_dotprod
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_AARCH64
