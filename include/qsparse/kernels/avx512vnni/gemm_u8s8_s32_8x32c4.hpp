// qsparse/kernels/avx512vnni/gemm_u8s8_s32_8x32c4.hpp — int8 GEMM on AVX-512 VNNI: up to 8 rows ×
// 32 columns per tile, 4 consecutive k per vpdpbusd lane (weights layout s8_c4_nr32).
//
// vpdpbusd multiplies unsigned bytes by signed bytes. The weights are the signed operand as packed
// (raw int8); the activations are the unsigned one: uint8 activations as they are, int8 activations
// with the sign bit flipped (a + 128, XNNPACK's trick), one vpxord per broadcast. The exact
// result is restored in the epilogue from the packed column sums (all arithmetic modulo 2^32, exact
// because the entry point guarantees the true sum fits int32):
//   Σ (a - a_zp)(w - w_zp) = Σ a_u w - (a_zp + o) (colsum[n] - K w_zp) - w_zp Σ_k a_u
// with a_u = a + o, o = 128 for int8 and 0 for uint8 activations. The last term (rows' sums) is only
// computed when w_zp != 0.
//
// Each tile's activation rows are first copied to a per-thread scratch (flipped for int8, zero padded
// to whole k groups), so the inner loop is pure: per k group two 64-byte weight loads, one 4-byte
// broadcast load per row and 16 vpdpbusd for 8 rows. Fewer than 4 rows split the k loop over two
// accumulator sets to hide vpdpbusd's latency (matrix-vector products).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/output_stages.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/kernels/gemm_args.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512_vnni {

/// One k group (4 bytes of every row at `offset`) into one accumulator set.
template <int MR>
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void gemm_u8s8_step_8x32c4(
    __m512i (&acc)[MR][2], const std::uint8_t* a, std::ptrdiff_t lda, std::ptrdiff_t offset, const std::int8_t* w) {
  const __m512i b0 = _mm512_load_si512(w);
  const __m512i b1 = _mm512_load_si512(w + 64);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    std::int32_t word;
    std::memcpy(&word, a + r * lda + offset, 4);
    const __m512i av = _mm512_set1_epi32(word);
    acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, b0);
    acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, b1);
  }
}

/// MR rows of unsigned activations (row stride lda, `groups` groups of 4 bytes) × 32 columns of
/// Σ_k a_u[r][k] * w[k][n], stored to tile[r][0..31].
template <int MR>
QSPARSE_TARGET_AVX512_VNNI inline void gemm_u8s8_tile_8x32c4(const std::uint8_t* a, std::ptrdiff_t lda,
                                                             std::ptrdiff_t groups, const std::int8_t* w,
                                                             std::int32_t* tile) {
  constexpr bool split = MR < 4;  // two accumulator sets over alternating k groups
  __m512i acc[MR][2];
  __m512i acc2[MR][2];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) acc[r][0] = acc[r][1] = acc2[r][0] = acc2[r][1] = _mm512_setzero_si512();
  std::ptrdiff_t g = 0;
  if constexpr (split) {
    for (; g + 2 <= groups; g += 2) {
      gemm_u8s8_step_8x32c4<MR>(acc, a, lda, g * 4, w);
      gemm_u8s8_step_8x32c4<MR>(acc2, a, lda, g * 4 + 4, w + 128);
      w += 256;
    }
  }
  for (; g < groups; ++g) {
    gemm_u8s8_step_8x32c4<MR>(acc, a, lda, g * 4, w);
    w += 128;
  }
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    __m512i lo = acc[r][0];
    __m512i hi = acc[r][1];
    if constexpr (split) {
      lo = _mm512_add_epi32(lo, acc2[r][0]);
      hi = _mm512_add_epi32(hi, acc2[r][1]);
    }
    _mm512_storeu_si512(tile + r * 32, lo);
    _mm512_storeu_si512(tile + r * 32 + 16, hi);
  }
}

/// out[0, kp) = src[0, k) as unsigned bytes (sign bit flipped when Flip), then zeros.
template <bool Flip>
QSPARSE_TARGET_AVX512_VNNI inline void copy_row_unsigned(const std::uint8_t* src, std::ptrdiff_t k, std::ptrdiff_t kp,
                                                         std::uint8_t* out) {
  const __m512i flip = _mm512_set1_epi8(static_cast<char>(0x80));
  for (std::ptrdiff_t kk = 0; kk < kp; kk += 64) {
    const std::ptrdiff_t loaded = k - kk < 64 ? (k - kk > 0 ? k - kk : 0) : 64;
    const std::ptrdiff_t stored = kp - kk < 64 ? kp - kk : 64;
    const __mmask64 load_mask = loaded == 64 ? ~__mmask64{0} : (__mmask64{1} << loaded) - 1;
    const __mmask64 store_mask = stored == 64 ? ~__mmask64{0} : (__mmask64{1} << stored) - 1;
    __m512i v = _mm512_maskz_loadu_epi8(load_mask, src + kk);
    if constexpr (Flip) v = _mm512_maskz_mov_epi8(load_mask, _mm512_xor_si512(v, flip));
    _mm512_mask_storeu_epi8(out + kk, store_mask, v);
  }
}

/// The kernel family: tiles of 8 × 32, runtime remainder rows through the smaller instantiations.
struct gemm_u8s8_s32_8x32c4 {
  static constexpr int mr = 8;
  static constexpr int nr = 32;
  static constexpr int kr = 4;
  static constexpr isa_level isa = isa_level::avx512_vnni;
  static const char* name() { return "gemm_u8s8_s32_8x32c4__avx512vnni"; }

  template <class A, class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                             const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                             std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                             std::ptrdiff_t panel_end) {
    constexpr bool flip = std::is_same_v<A, std::int8_t>;
    const std::int32_t w_zp = g.weights.weight_zero_point();
    // -(a_zp + o) and K * w_zp, modulo 2^32.
    const auto a_offset = static_cast<std::uint32_t>(g.a_zero_point) + (flip ? 128u : 0u);
    const auto column_factor = static_cast<std::int32_t>(0u - a_offset);
    const auto k_wzp = static_cast<std::int32_t>(static_cast<std::uint32_t>(g.k) * static_cast<std::uint32_t>(w_zp));
    const std::int32_t* column_sums = g.weights.column_sums();
    // The tile's rows, made unsigned and zero padded to whole k groups, contiguous: the inner loop then
    // needs no sign flip, no tail and no strided access.
    const std::ptrdiff_t kp = g.weights.k_padded();
    const std::ptrdiff_t groups = kp / 4;
    // Up to 8 tiles share each weight panel while the panel and the block's rows fit in ~40 KiB of L1;
    // for deep K this is one tile, and the panel streams from L2 while the tile's rows stay in L1.
    constexpr int max_block_tiles = 8;
    const std::ptrdiff_t fitting_rows = 40 * 1024 / kp - nr;
    const std::ptrdiff_t block_tiles =
        fitting_rows >= mr * max_block_tiles ? max_block_tiles : (fitting_rows >= 2 * mr ? fitting_rows / mr : 1);
    std::uint8_t* rows8 = thread_scratch<std::uint8_t>(static_cast<std::size_t>(mr * max_block_tiles * kp));
    alignas(64) std::int32_t tile[mr * nr];
    std::int32_t row_term[mr * max_block_tiles] = {};

    // Rows are handled in blocks of up to block_tiles tiles: the block's rows are copied once, then each
    // weight panel (K x 32 bytes, L1-resident while it is reused) meets every tile of the block.
    for (std::ptrdiff_t mb = m_begin; mb < m_end; mb += mr * block_tiles) {
      const std::ptrdiff_t block_rows = m_end - mb < mr * block_tiles ? m_end - mb : mr * block_tiles;
      for (std::ptrdiff_t r = 0; r < block_rows; ++r) {
        const auto* src = reinterpret_cast<const std::uint8_t*>(g.a + (mb + r) * g.lda);
        std::uint8_t* out = rows8 + r * kp;
        copy_row_unsigned<flip>(src, g.k, kp, out);
        if (w_zp != 0) {
          std::uint32_t sum = 0;
          for (std::ptrdiff_t kk = 0; kk < g.k; ++kk) sum += out[kk];
          row_term[r] = static_cast<std::int32_t>(0u - sum * static_cast<std::uint32_t>(w_zp));
        }
      }
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const auto* w = static_cast<const std::int8_t*>(g.weights.panel(p));
        const std::ptrdiff_t n0 = p * nr;
        const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
        for (std::ptrdiff_t t0 = 0; t0 < block_rows; t0 += mr) {
          const int rows = static_cast<int>(block_rows - t0 < mr ? block_rows - t0 : mr);
          const std::uint8_t* a_tile = rows8 + t0 * kp;
          switch (rows) {
            case 8: gemm_u8s8_tile_8x32c4<8>(a_tile, kp, groups, w, tile); break;
            case 7: gemm_u8s8_tile_8x32c4<7>(a_tile, kp, groups, w, tile); break;
            case 6: gemm_u8s8_tile_8x32c4<6>(a_tile, kp, groups, w, tile); break;
            case 5: gemm_u8s8_tile_8x32c4<5>(a_tile, kp, groups, w, tile); break;
            case 4: gemm_u8s8_tile_8x32c4<4>(a_tile, kp, groups, w, tile); break;
            case 3: gemm_u8s8_tile_8x32c4<3>(a_tile, kp, groups, w, tile); break;
            case 2: gemm_u8s8_tile_8x32c4<2>(a_tile, kp, groups, w, tile); break;
            default: gemm_u8s8_tile_8x32c4<1>(a_tile, kp, groups, w, tile); break;
          }
          const std::ptrdiff_t m0 = mb + t0;
          for (int j = 0; j < 2; ++j) {
            const std::ptrdiff_t left = columns - 16 * j;
            if (left <= 0) break;
            const std::ptrdiff_t n = n0 + 16 * j;
            const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
            const __m512i sums = _mm512_load_si512(column_sums + n);  // padded to NR: in bounds
            const __m512i column_term = _mm512_mullo_epi32(_mm512_sub_epi32(sums, _mm512_set1_epi32(k_wzp)),
                                                           _mm512_set1_epi32(column_factor));
            const auto prepared = avx512::prepare(pipeline, n, mask);
            for (int r = 0; r < rows; ++r) {
              __m512i acc = _mm512_add_epi32(_mm512_load_si512(tile + r * nr + 16 * j), column_term);
              if (w_zp != 0) acc = _mm512_add_epi32(acc, _mm512_set1_epi32(row_term[t0 + r]));
              avx512::store_prepared(prepared, acc, mask, g.dst + (m0 + r) * g.ldd + n);
            }
          }
        }
      }
    }
  }
};

}  // namespace avx512_vnni
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
