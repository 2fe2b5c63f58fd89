// qsparse/kernels/avx2/gemm_x8s8_s32_6x16c2.hpp — the shallow-K int8 GEMM on AVX2: K <= 32 (a 3-channel
// stem's im2col rows: 3*3*3 = 27), 6 rows × 16 columns per tile, the weights of the AVX2 GEMM (s16_c2_nr16:
// int16 w - w_zp, 2 k per vpmaddwd lane).
//
// At such K the deep kernel (gemm_x8s8_s32_4x16c2) spends its time around its inner loop: a scalar widening
// of each row per tile, the tile's sums through memory, the epilogue prepared for every 4 rows. Here:
//   * a block of up to 240 rows is widened once, 32 bytes per row with two vpmovsxbw / vpmovzxbw (the bytes
//     past K meet zero weights), without subtracting the zero point: Σ_k (a - a_zp) w' = Σ_k a w' - a_zp Σ_k w'
//     (w' = w - w_zp, the packed weights), the last term the accumulators' start, computed per panel from
//     the packed weights. Pair sums a w' stay exact (|a|, |w'| <= 255) and the int32 sums wrap modulo 2^32,
//     exact because the entry point guarantees the true sum fits int32;
//   * each panel meets every tile of the block with its epilogue prepared once (avx2/shallow_epilogue.hpp:
//     the bias starting the accumulators and the packs as the clamp, or TFLite's fixed point form);
//   * the panel's whole K is one loop of K_padded / 2 pairs: per pair 2 weight loads, 6
//     broadcasts, 12 vpmaddwd + 12 vpaddd, the 12 accumulators in registers straight into the epilogue.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
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
namespace avx2 {

/// The first row of [0, m) from which a 32-byte read of a row (stride lda, k bytes) would pass the end of
/// the last row: rows before it are read in place, the rest through a zero-padded copy.
inline std::ptrdiff_t rows_readable_32(std::ptrdiff_t m, std::ptrdiff_t k, std::ptrdiff_t lda) {
  const std::ptrdiff_t end = (m - 1) * lda + k;  // bytes of the matrix
  if (end < 32) return 0;
  return std::min(m, (end - 32) / lda + 1);
}

struct gemm_x8s8_s32_6x16c2 {
  static constexpr int mr = 6;
  static constexpr int nr = 16;
  static constexpr int kr = 2;
  static constexpr int max_k = 32;
  static constexpr std::ptrdiff_t block_rows = 240;  // 40 tiles, 15 KiB of widened rows
  static constexpr isa_level isa = isa_level::avx2;
  static constexpr packed_layout layout = packed_layout::s16_c2_nr16;
  static const char* name() { return "gemm_x8s8_s32_6x16c2__avx2"; }

  /// The GEMM registry hands this kernel the weights whose padded K fits one unrolled loop (K <= 32).
  static bool accepts(const packed_weights_view& w) noexcept { return w.k_padded() <= max_k; }

  /// Rows [0, rows) at a (stride lda, k bytes) widened to int16 at out (32 per row); rows from `readable`
  /// on go through a zero-padded copy.
  template <bool Signed>
  QSPARSE_TARGET_AVX2 static void widen_rows(const std::uint8_t* a, std::ptrdiff_t lda, std::ptrdiff_t k,
                                             std::ptrdiff_t rows, std::ptrdiff_t readable, std::int16_t* out) {
    for (std::ptrdiff_t r = 0; r < rows; ++r) {
      const std::uint8_t* src = a + r * lda;
      alignas(32) std::uint8_t padded[32] = {};
      if (r >= readable) {
        std::memcpy(padded, src, static_cast<std::size_t>(k));
        src = padded;
      }
      const __m128i lo = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src));
      const __m128i hi = _mm_loadu_si128(reinterpret_cast<const __m128i*>(src + 16));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * r), Signed ? _mm256_cvtepi8_epi16(lo) : _mm256_cvtepu8_epi16(lo));
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + 32 * r + 16),
                          Signed ? _mm256_cvtepi8_epi16(hi) : _mm256_cvtepu8_epi16(hi));
    }
  }

  /// MR widened rows (stride 32) × the panel's 16 columns, P pairs, through the half's epilogue E.
  template <int MR, shallow_epilogue E, class Pipeline, class Out>
  QSPARSE_TARGET_AVX2 static inline __attribute__((always_inline)) void tile(const std::int16_t* a,
                                                                             const std::int16_t* w, int pairs,
                                                                             const shallow_half<Pipeline>& h, Out* dst,
                                                                             std::ptrdiff_t ldd) {
    __m256i acc[std::size_t{MR}][2];
#pragma GCC unroll 6
    for (int r = 0; r < MR; ++r) {
      acc[r][0] = h.init[0];
      acc[r][1] = h.init[1];
    }
    for (int q = 0; q < pairs; ++q) {
      const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + 32 * q));
      const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(w + 32 * q + 16));
#pragma GCC unroll 6
      for (int r = 0; r < MR; ++r) {
        std::int32_t pair;
        std::memcpy(&pair, a + 32 * r + 2 * q, 4);
        const __m256i av = _mm256_set1_epi32(pair);
        acc[r][0] = _mm256_add_epi32(acc[r][0], _mm256_madd_epi16(av, w0));
        acc[r][1] = _mm256_add_epi32(acc[r][1], _mm256_madd_epi16(av, w1));
      }
    }
    store_shallow_rows<MR, E>(h, acc, dst, ldd);
  }

  /// Every row of the block against one panel (not inlined: the accumulators stay in registers).
  template <shallow_epilogue E, class Pipeline, class Out>
  QSPARSE_TARGET_AVX2 static __attribute__((noinline)) void run_panel(const std::int16_t* rows, std::ptrdiff_t count,
                                                                      const std::int16_t* w, int pairs,
                                                                      const shallow_half<Pipeline>& h, Out* dst,
                                                                      std::ptrdiff_t ldd) {
    std::ptrdiff_t r = 0;
    for (; r + mr <= count; r += mr) tile<mr, E>(rows + 32 * r, w, pairs, h, dst + r * ldd, ldd);
    const std::int16_t* a = rows + 32 * r;
    Out* d = dst + r * ldd;
    switch (count - r) {
      case 5: tile<5, E>(a, w, pairs, h, d, ldd); break;
      case 4: tile<4, E>(a, w, pairs, h, d, ldd); break;
      case 3: tile<3, E>(a, w, pairs, h, d, ldd); break;
      case 2: tile<2, E>(a, w, pairs, h, d, ldd); break;
      case 1: tile<1, E>(a, w, pairs, h, d, ldd); break;
      default: break;
    }
  }

  /// The largest |Σ_k (a - a_zp)(w - w_zp)| of g.
  template <class A, class Out>
  static std::int64_t accumulator_bound(const gemm_args<A, Out>& g) {
    const std::int64_t a_lo = std::is_same_v<A, std::int8_t> ? -128 : 0, w_zp = g.weights.weight_zero_point();
    const std::int64_t a_max = std::max<std::int64_t>(a_lo + 255 - g.a_zero_point, g.a_zero_point - a_lo);
    const std::int64_t w_max = std::max<std::int64_t>(127 - w_zp, w_zp + 128);
    return static_cast<std::int64_t>(g.k) * a_max * w_max;
  }

  /// dst[m][n] = evaluate(pipeline, Σ_k (a[m][k] - a_zp)(w[k][n] - w_zp), m, n) for rows [m_begin, m_end) and
  /// panels [panel_begin, panel_end), for the weights accepts() takes.
  template <class A, class... S>
  QSPARSE_TARGET_AVX2 static void run(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                            const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                            std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                            std::ptrdiff_t panel_end) {
    static_assert(std::is_same_v<A, std::int8_t> || std::is_same_v<A, std::uint8_t>,
                  "qsparse: the AVX2 GEMM reads int8 or uint8 activations.");
    using Pipeline = output_pipeline<S...>;
    using out_type = typename Pipeline::output_type;
    const auto* a = reinterpret_cast<const std::uint8_t*>(g.a);
    const int pairs = static_cast<int>(g.weights.k_padded() / 2);
    const std::ptrdiff_t readable = rows_readable_32(g.m, g.k, g.lda);
    const std::int64_t bound = accumulator_bound(g);
    const __m256i minus_zp = _mm256_set1_epi32(-g.a_zero_point);
    const __m256i ones = _mm256_set1_epi16(1);
    std::int16_t* rows = thread_scratch<std::int16_t>(static_cast<std::size_t>(32 * block_rows));
    shallow_half<Pipeline> h;
    for (std::ptrdiff_t mb = m_begin; mb < m_end; mb += block_rows) {
      const std::ptrdiff_t count = std::min(block_rows, m_end - mb);
      widen_rows<std::is_same_v<A, std::int8_t>>(a + mb * g.lda, g.lda, g.k, count, readable - mb, rows);
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const auto* w = static_cast<const std::int16_t*>(g.weights.panel(p));
        // Σ_k w' per column (pair sums against ones), times -a_zp: the accumulators' start.
        __m256i s0 = _mm256_setzero_si256(), s1 = _mm256_setzero_si256();
        for (int q = 0; q < pairs; ++q) {
          s0 = _mm256_add_epi32(s0, _mm256_madd_epi16(ones, _mm256_load_si256(reinterpret_cast<const __m256i*>(w + 32 * q))));
          s1 = _mm256_add_epi32(s1, _mm256_madd_epi16(ones, _mm256_load_si256(reinterpret_cast<const __m256i*>(w + 32 * q + 16))));
        }
        const std::ptrdiff_t n0 = p * nr;
        prepare_shallow_half(pipeline, n0, std::min<std::ptrdiff_t>(nr, g.n - n0), _mm256_mullo_epi32(s0, minus_zp),
                             _mm256_mullo_epi32(s1, minus_zp), bound, h);
        out_type* dst = g.dst + mb * g.ldd + n0;
        // run_panel is not inlined: the lambda (which has no target attribute) only calls it.
        with_shallow_form(h, [&](auto form) { run_panel<decltype(form)::value>(rows, count, w, pairs, h, dst, g.ldd); });
      }
    }
  }

};

}  // namespace avx2
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
