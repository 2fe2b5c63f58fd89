// qsparse/kernels/avxvnni/gemm_u8s8_s32_6x32c4.hpp — int8 GEMM on AVX-VNNI (the VEX-encoded, 256-bit
// vpdpbusd of Intel client chips since Alder Lake and of AMD Zen 5): up to 6 rows × 32 columns per tile,
// 4 consecutive k per vpdpbusd lane, reading the weights AVX-512 VNNI packs (s8_c4_nr32), so one packed
// buffer serves both.
//
// vpdpbusd multiplies unsigned bytes by signed bytes and sums four products into an int32 lane without
// saturation (unlike the vpmaddubsw + vpmaddwd pair it replaces, whose int16 pair sums saturate: the
// AVX2 kernel widens both operands to int16 instead and does half the work per instruction). The weights
// are the signed operand as packed (raw int8); the activation rows are copied to a per-thread scratch as
// unsigned bytes a_u = a + o (o = 128 for int8: the sign bit flipped; 0 for uint8) and zero padded to
// whole k groups; the exact result is restored in the epilogue (modulo 2^32, exact because the entry
// point guarantees the true sum fits int32):
//   Σ_k (a - a_zp)(w - w_zp) = Σ_k a_u w - (a_zp + o)(colsum[n] - K w_zp) - w_zp Σ_k a_u.
//
// Registers (16 ymm): tiles of 3 to 6 rows run the panel as two halves of 16 columns, MR × 2
// accumulators + 2 weight vectors + a broadcast (6 rows: 15 registers, 4 weight loads and 12 broadcasts
// per 24 vpdpbusd and k group); tiles of 1 or 2 rows take all 32 columns at once, and a single row
// splits K over two accumulator sets (8 independent chains, to hide vpdpbusd's latency in
// matrix-vector products). The loops are the driver's (kernels/drivers/row_tiles.hpp), the epilogue is
// the AVX2 one (kernels/avx2/output_pipeline.hpp) on 8 columns at a time.
//
// The kernel sits on the avx_vnni rung (qsparse/core/isa.hpp) and needs the AVX-VNNI CPUID bit
// (cpu_has_extensions): AVX-512 VNNI CPUs without it (Cascade Lake, Ice Lake, Zen 4) run the AVX2
// kernel at that rung, and their own AVX-512 kernels above it.
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/cpu_features.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx2/output_pipeline.hpp"
#include "qsparse/kernels/drivers/row_tiles.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx_vnni {

struct gemm_u8s8_s32_6x32c4 {
  static constexpr int mr = 6;
  static constexpr int nr = 32;
  static constexpr int kr = 4;
  static constexpr isa_level isa = isa_level::avx_vnni;
  static constexpr packed_layout layout = packed_layout::s8_c4_nr32;
  static const char* name() { return "gemm_u8s8_s32_6x32c4__avxvnni"; }

  /// VEX vpdpbusd: the AVX-VNNI bit, which the avx_vnni rung does not imply (AVX-512 VNNI CPUs reach it too).
  static bool cpu_has_extensions() { return cpu().avx_vnni; }

  using row_type = std::uint8_t;
  using sum_type = std::int32_t;
  static constexpr bool row_sums = true;

  QSPARSE_TARGET_AVX_VNNI static inline __attribute__((always_inline)) __m256i broadcast(const std::uint8_t* p) {
    std::int32_t word;
    std::memcpy(&word, p, 4);
    return _mm256_set1_epi32(word);
  }

  /// sums[r][n] = Σ_k a_u[r][k] w[k][n] over the padded K (modulo 2^32) for MR rows at a + r*ld.
  template <int MR>
  QSPARSE_TARGET_AVX_VNNI static void multiply(const std::uint8_t* a, std::ptrdiff_t ld, std::ptrdiff_t kp,
                                               const void* panel, std::int32_t* sums) {
    const auto* w = static_cast<const std::int8_t*>(panel);
    const std::ptrdiff_t groups = kp / 4;
    if constexpr (MR <= 2) {
      constexpr int sets = MR == 1 ? 2 : 1;
      __m256i acc[std::size_t{sets}][std::size_t{MR}][4];
#pragma GCC unroll 16
      for (int i = 0; i < sets * MR * 4; ++i) acc[i / (MR * 4)][i / 4 % MR][i % 4] = _mm256_setzero_si256();
      std::ptrdiff_t g = 0;
      if constexpr (sets == 2) {
        for (; g + 2 <= groups; g += 2) {
#pragma GCC unroll 2
          for (int s = 0; s < 2; ++s) {
            const __m256i av = broadcast(a + 4 * (g + s));
            const std::int8_t* wg = w + 128 * (g + s);
#pragma GCC unroll 4
            for (int c = 0; c < 4; ++c)
              acc[s][0][c] = _mm256_dpbusd_avx_epi32(
                  acc[s][0][c], av, _mm256_load_si256(reinterpret_cast<const __m256i*>(wg + 32 * c)));
          }
        }
      }
      for (; g < groups; ++g) {
        const std::int8_t* wg = w + 128 * g;
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) {
          const __m256i wv = _mm256_load_si256(reinterpret_cast<const __m256i*>(wg + 32 * c));
#pragma GCC unroll 2
          for (int r = 0; r < MR; ++r) acc[0][r][c] = _mm256_dpbusd_avx_epi32(acc[0][r][c], broadcast(a + r * ld + 4 * g), wv);
        }
      }
#pragma GCC unroll 2
      for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
        for (int c = 0; c < 4; ++c) {
          __m256i v = acc[0][r][c];
          if constexpr (sets == 2) v = _mm256_add_epi32(v, acc[1][r][c]);
          _mm256_store_si256(reinterpret_cast<__m256i*>(sums + r * nr + 8 * c), v);
        }
      }
    } else {
#pragma GCC unroll 2
      for (int h = 0; h < 2; ++h) {
        __m256i acc[std::size_t{MR}][2];
#pragma GCC unroll 6
        for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = _mm256_setzero_si256();
        const std::int8_t* wh = w + 64 * h;
        for (std::ptrdiff_t g = 0; g < groups; ++g) {
          const __m256i w0 = _mm256_load_si256(reinterpret_cast<const __m256i*>(wh + 128 * g));
          const __m256i w1 = _mm256_load_si256(reinterpret_cast<const __m256i*>(wh + 128 * g + 32));
#pragma GCC unroll 6
          for (int r = 0; r < MR; ++r) {
            const __m256i av = broadcast(a + r * ld + 4 * g);
            acc[r][0] = _mm256_dpbusd_avx_epi32(acc[r][0], av, w0);
            acc[r][1] = _mm256_dpbusd_avx_epi32(acc[r][1], av, w1);
          }
        }
#pragma GCC unroll 6
        for (int r = 0; r < MR; ++r) {
          _mm256_store_si256(reinterpret_cast<__m256i*>(sums + r * nr + 16 * h), acc[r][0]);
          _mm256_store_si256(reinterpret_cast<__m256i*>(sums + r * nr + 16 * h + 8), acc[r][1]);
        }
      }
    }
  }

  /// Row m as unsigned bytes a_u = a + o, zero padded to the padded K; returns Σ_k a_u.
  template <class A, class Out>
  static std::int32_t load_row(const gemm_args<A, Out>& g, std::ptrdiff_t m, std::uint8_t* out) {
    static_assert(std::is_same_v<A, std::int8_t> || std::is_same_v<A, std::uint8_t>,
                  "qsparse: the AVX-VNNI GEMM reads int8 or uint8 activations.");
    constexpr unsigned flip = std::is_same_v<A, std::int8_t> ? 0x80u : 0u;
    const A* src = g.a + m * g.lda;
    const std::ptrdiff_t kp = g.weights.k_padded();
    std::int32_t sum = 0;
    for (std::ptrdiff_t kk = 0; kk < g.k; ++kk) {
      const auto v = static_cast<std::uint8_t>(static_cast<std::uint8_t>(src[kk]) ^ flip);
      out[kk] = v;
      sum += v;
    }
    for (std::ptrdiff_t kk = g.k; kk < kp; ++kk) out[kk] = 0;
    return sum;
  }

  /// 8 sums less their zero-point terms (modulo 2^32).
  QSPARSE_TARGET_AVX_VNNI static inline __attribute__((always_inline)) __m256i exact(const std::int32_t* sums,
                                                                                  __m256i column_term, __m256i row_term) {
    const __m256i s = _mm256_load_si256(reinterpret_cast<const __m256i*>(sums));
    return _mm256_sub_epi32(_mm256_sub_epi32(s, column_term), row_term);
  }

  /// The largest |Σ_k (a - a_zp)(w - w_zp)| of g.
  template <class A, class Out>
  static std::int64_t accumulator_bound(const gemm_args<A, Out>& g) {
    const std::int64_t a_lo = std::is_same_v<A, std::int8_t> ? -128 : 0, w_zp = g.weights.weight_zero_point();
    const std::int64_t a_max = std::max<std::int64_t>(a_lo + 255 - g.a_zero_point, g.a_zero_point - a_lo);
    const std::int64_t w_max = std::max<std::int64_t>(127 - w_zp, w_zp + 128);
    return static_cast<std::int64_t>(g.k) * a_max * w_max;
  }

  /// The zero-point terms subtracted from the sums, then the pipeline on 8 columns at a time, prepared
  /// once per 8 columns of the panel (TFLite's fixed point by avx2::fixed_point_form where it is exact).
  template <class A, class Out, class Pipeline>
  QSPARSE_TARGET_AVX_VNNI static void store(const gemm_args<A, Out>& g, const Pipeline& pipeline, const std::int32_t* sums,
                                            const std::int32_t* row_sums_of_tile, int rows, std::ptrdiff_t m0,
                                            std::ptrdiff_t n0) {
    constexpr std::int32_t offset = std::is_same_v<A, std::int8_t> ? 128 : 0;
    const auto u_zp = static_cast<std::uint32_t>(g.a_zero_point + offset);
    const auto w_zp = static_cast<std::uint32_t>(g.weights.weight_zero_point());
    const __m256i k_wzp = _mm256_set1_epi32(static_cast<std::int32_t>(static_cast<std::uint32_t>(g.k) * w_zp));
    const __m256i u_zp_v = _mm256_set1_epi32(static_cast<std::int32_t>(u_zp));
    __m256i row_term[std::size_t{mr}];
    for (int r = 0; r < rows; ++r)
      row_term[r] = _mm256_set1_epi32(static_cast<std::int32_t>(w_zp * static_cast<std::uint32_t>(row_sums_of_tile[r])));
    const std::int32_t* column_sums = g.weights.column_sums() + n0;  // padded to NR: in bounds
    const std::int64_t bound = accumulator_bound(g);
    const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
    for (int j = 0; j < nr / 8; ++j) {
      const std::ptrdiff_t left = columns - 8 * j;
      if (left <= 0) break;
      const int count = static_cast<int>(left >= 8 ? 8 : left);
      const __m256i mask = avx2::lane_mask(count);
      const __m256i column_term = _mm256_mullo_epi32(
          u_zp_v, _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(column_sums + 8 * j)), k_wzp));
      if constexpr (avx2::fixed_point_form_pipeline<Pipeline>::value) {
        avx2::fixed_point_form f;
        if (avx2::prepare_fixed_point_form(pipeline, n0 + 8 * j, mask, bound, f)) {
          using R = typename avx2::fixed_point_form_pipeline<Pipeline>::rounding;
          for (int r = 0; r < rows; ++r)
            avx2::store_bytes(avx2::fixed_point_form_apply<R>(exact(sums + r * nr + 8 * j, column_term, row_term[r]), f), count, g.dst + (m0 + r) * g.ldd + n0 + 8 * j);
          continue;
        }
      }
      const auto prepared = avx2::prepare(pipeline, n0 + 8 * j, mask);
      for (int r = 0; r < rows; ++r)
        avx2::store_prepared(prepared, exact(sums + r * nr + 8 * j, column_term, row_term[r]), count, mask, g.dst + (m0 + r) * g.ldd + n0 + 8 * j);
    }
  }

  template <class A, class... S>
  QSPARSE_TARGET_AVX_VNNI static void run(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                          const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                          std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    drivers::run_row_tiles<gemm_u8s8_s32_6x32c4>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
  }
};

}  // namespace avx_vnni
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
