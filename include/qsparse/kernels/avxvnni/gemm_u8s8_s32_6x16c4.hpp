// qsparse/kernels/avxvnni/gemm_u8s8_s32_6x16c4.hpp — the shallow-K int8 GEMM on AVX-VNNI: symmetric weights
// (w_zp = 0) with K <= 32 (a 3-channel stem's im2col rows: 3*3*3 = 27) packed s8_c4_nr32 (the AVX-512 VNNI
// layout, as the deep AVX-VNNI kernel gemm_u8s8_s32_6x32c4 reads it), 6 rows × 16 columns per tile: a
// 32-column panel as two halves.
//
// The deep kernel copies each row byte by byte when K < 32, takes K in chunks with the tile's sums in
// memory, and prepares the epilogue per 6x32 tile's 8 columns; at K = 27 that held it at 15 % of the ymm
// vpdpbusd peak. Here:
//   * a block of up to 240 rows is copied once, 32 bytes per row (one load, for int8 one vpxor making the
//     bytes unsigned, a_u = a + 128, one store; the bytes past K meet zero weights);
//   * the accumulators start at the zero-point term -(a_zp + o) colsum[n] (o = 128 for int8, 0 for
//     uint8), exact modulo 2^32: Σ_k (a - a_zp) w = Σ_k a_u w - (a_zp + o) colsum[n];
//   * each half panel meets every tile of the block with its epilogue prepared once
//     (avx2/shallow_epilogue.hpp: the bias starting the accumulators and the packs as the clamp, or TFLite's
//     fixed point form);
//   * the half's whole K is one loop of K_padded / 4 groups: per group 2 weight loads, 6 broadcasts and
//     12 vpdpbusd (15 of the 16 ymm registers), the accumulators in registers straight into the epilogue.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/cpu_features.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx2/gemm_x8s8_s32_6x16c2.hpp"
#include "qsparse/kernels/avx2/output_pipeline.hpp"
#include "qsparse/kernels/avx2/shallow_epilogue.hpp"
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx_vnni {

struct gemm_u8s8_s32_6x16c4 {
  static constexpr int mr = 6;
  static constexpr int nr = 32;  // the packed panel; a tile takes 16 of its columns
  static constexpr int kr = 4;
  static constexpr int max_k = 32;
  static constexpr std::ptrdiff_t block_rows = 240;  // 40 tiles, 7.5 KiB of copied rows
  static constexpr isa_level isa = isa_level::avx_vnni;
  static constexpr packed_layout layout = packed_layout::s8_c4_nr32;
  static const char* name() { return "gemm_u8s8_s32_6x16c4__avxvnni"; }

  /// VEX vpdpbusd: the AVX-VNNI bit, which the avx_vnni rung does not imply (AVX-512 VNNI CPUs reach it too).
  static bool cpu_has_extensions() { return cpu().avx_vnni; }

  /// The GEMM registry hands this kernel symmetric weights whose padded K fits one loop (K <= 32).
  static bool accepts(const packed_weights_view& w) noexcept {
    return w.weight_zero_point() == 0 && w.k_padded() <= max_k;
  }

  /// Rows [0, rows) at a (stride lda, k bytes) as unsigned bytes at out (32 per row); rows from `readable`
  /// on go through a zero-padded copy.
  template <bool Flip>
  QSPARSE_TARGET_AVX_VNNI static void copy_rows(const std::uint8_t* a, std::ptrdiff_t lda, std::ptrdiff_t k,
                                                std::ptrdiff_t rows, std::ptrdiff_t readable, std::uint8_t* out) {
    const __m256i flip = _mm256_set1_epi8(static_cast<char>(0x80));
    for (std::ptrdiff_t r = 0; r < rows; ++r) {
      const std::uint8_t* src = a + r * lda;
      alignas(32) std::uint8_t padded[32] = {};
      if (r >= readable) {
        std::memcpy(padded, src, static_cast<std::size_t>(k));
        src = padded;
      }
      __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(src));
      if constexpr (Flip) v = _mm256_xor_si256(v, flip);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * r), v);
    }
  }

  /// MR copied rows (stride 32) × 16 columns of a panel (w: its first weight group of those columns, groups
  /// 128 bytes apart), through the half's epilogue E.
  template <int MR, avx2::shallow_epilogue E, class Pipeline, class Out>
  QSPARSE_TARGET_AVX_VNNI static inline __attribute__((always_inline)) void tile(
      const std::uint8_t* a, const std::int8_t* w, int groups, const avx2::shallow_half<Pipeline>& h, Out* dst,
      std::ptrdiff_t ldd) {
    __m256i acc[std::size_t{MR}][2];
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      acc[r][0] = h.init[0];
      acc[r][1] = h.init[1];
    }
    for (int q = 0; q < groups; ++q) {
      const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + 128 * q));
      const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + 128 * q + 32));
#pragma GCC unroll 6
      for (int r = 0; r < MR; ++r) {
        std::int32_t word;
        std::memcpy(&word, a + 32 * r + 4 * q, 4);
        const __m256i av = _mm256_set1_epi32(word);
        acc[r][0] = _mm256_dpbusd_avx_epi32(acc[r][0], av, w0);
        acc[r][1] = _mm256_dpbusd_avx_epi32(acc[r][1], av, w1);
      }
    }
    avx2::store_shallow_rows<MR, E, true>(h, acc, dst, ldd);
  }

  /// Every row of the block against one half panel (not inlined: the accumulators stay in registers).
  template <avx2::shallow_epilogue E, class Pipeline, class Out>
  QSPARSE_TARGET_AVX_VNNI static __attribute__((noinline)) void run_half(const std::uint8_t* rows, std::ptrdiff_t count,
                                                                         const std::int8_t* w, int groups,
                                                                         const avx2::shallow_half<Pipeline>& h, Out* dst,
                                                                         std::ptrdiff_t ldd) {
    std::ptrdiff_t r = 0;
    for (; r + mr <= count; r += mr) tile<mr, E>(rows + 32 * r, w, groups, h, dst + r * ldd, ldd);
    const std::uint8_t* a = rows + 32 * r;
    Out* d = dst + r * ldd;
    switch (count - r) {
      case 5: tile<5, E>(a, w, groups, h, d, ldd); break;
      case 4: tile<4, E>(a, w, groups, h, d, ldd); break;
      case 3: tile<3, E>(a, w, groups, h, d, ldd); break;
      case 2: tile<2, E>(a, w, groups, h, d, ldd); break;
      case 1: tile<1, E>(a, w, groups, h, d, ldd); break;
      default: break;
    }
  }

  /// dst[m][n] = evaluate(pipeline, Σ_k (a[m][k] - a_zp) w[k][n], m, n) for rows [m_begin, m_end) and panels
  /// [panel_begin, panel_end), for the weights accepts() takes.
  template <class A, class... S>
  QSPARSE_TARGET_AVX_VNNI static void run(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                          const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                          std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    static_assert(std::is_same_v<A, std::int8_t> || std::is_same_v<A, std::uint8_t>,
                  "qsparse: the AVX-VNNI GEMM reads int8 or uint8 activations.");
    using Pipeline = output_pipeline<S...>;
    using out_type = typename Pipeline::output_type;
    constexpr bool flip = std::is_same_v<A, std::int8_t>;
    const auto* a = reinterpret_cast<const std::uint8_t*>(g.a);
    const int groups = static_cast<int>(g.weights.k_padded() / 4);
    const std::ptrdiff_t readable = avx2::rows_readable_32(g.m, g.k, g.lda);
    const std::int64_t bound = avx2::gemm_x8s8_s32_6x16c2::accumulator_bound(g);  // |Σ_k (a - a_zp) w|
    const __m256i factor = _mm256_set1_epi32(-(g.a_zero_point + (flip ? 128 : 0)));
    std::uint8_t* rows = thread_scratch<std::uint8_t>(static_cast<std::size_t>(32 * block_rows));
    avx2::shallow_half<Pipeline> h;
    for (std::ptrdiff_t mb = m_begin; mb < m_end; mb += block_rows) {
      const std::ptrdiff_t count = std::min(block_rows, m_end - mb);
      copy_rows<flip>(a + mb * g.lda, g.lda, g.k, count, readable - mb, rows);
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const auto* panel = static_cast<const std::int8_t*>(g.weights.panel(p));
        for (int half = 0; half < 2; ++half) {
          const std::ptrdiff_t n0 = p * nr + 16 * half;
          if (n0 >= g.n) break;
          const std::int32_t* column_sums = g.weights.column_sums() + n0;  // padded to NR: in bounds
          const __m256i term0 = _mm256_mullo_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(column_sums)), factor);
          const __m256i term1 =
              _mm256_mullo_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(column_sums + 8)), factor);
          avx2::prepare_shallow_half(pipeline, n0, std::min<std::ptrdiff_t>(16, g.n - n0), term0, term1, bound, h);
          const std::int8_t* w = panel + 64 * half;
          out_type* dst = g.dst + mb * g.ldd + n0;
          // run_half is not inlined: the lambda (which has no target attribute) only calls it.
          avx2::with_shallow_form(h, [&](auto form) { run_half<decltype(form)::value>(rows, count, w, groups, h, dst, g.ldd); });
        }
      }
    }
  }
};

}  // namespace avx_vnni
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
