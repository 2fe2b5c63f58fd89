// qsparse/kernels/avx512vnni/spgemm_2of4_u8s8_s32_8x16c4.hpp — 2:4-sparse int8 GEMM on AVX-512 VNNI: up
// to 8 rows × 16 columns (or fewer rows × up to 4 panels of 16 columns) per tile (format two_of_four of
// qsparse/spec/packed_sparse_weights.hpp).
//
// Half the multiply-adds of the dense GEMM: a 64-byte value vector holds the 4 kept weights of each of
// 16 columns for one pair of groups (8 k), and each row meets it with one vpdpbusd whose activation
// operand is gathered per column. The pair's 8 activations are broadcast to every qword (a load), and
// one vpshufb puts activation (slot | 4·(s / 2)) beside kept weight s of each column. The shuffle control
// is decoded from the 2-bit slot positions once per tile and pair — vpsrlw by 2t and one vpternlogd,
// (x & 3) | group — and shared by the tile's rows. On Zen 5 vpshufb and vpdpbusd issue on different
// pipes often enough that a row's shuffle + multiply-add costs about 70 % of the two dense multiply-adds
// it replaces; a matrix-vector product streams 62.5 % of the dense bytes. AVX-512BW + VNNI only.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/kernels/avx512vnni/gemm_u8s8_s32_8x32c4.hpp"  // accumulator_bound
#include "qsparse/kernels/avx512vnni/spgemm_block4_u8s8_s32_8xNc4.hpp"  // spgemm_rows_unsigned
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/sparse_gemm_args.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512_vnni {

/// The shuffle-control constants: 3 (the slot bits) and the group offset 4·(s / 2) of byte 4c + s.
struct alignas(64) spgemm_2of4_gather_constants {
  __m512i slot_bits;
  __m512i group;
};

QSPARSE_TARGET_AVX512_VNNI inline spgemm_2of4_gather_constants spgemm_2of4_make_gather_constants() {
  alignas(64) std::int8_t group[64];
  for (int b = 0; b < 64; ++b) group[b] = static_cast<std::int8_t>(b % 4 >= 2 ? 4 : 0);
  return {_mm512_set1_epi8(3), _mm512_load_si512(group)};
}

/// The vpshufb control of pair t of a quad whose 2-bit positions are `positions`: (x >> 2t) & 3 | group.
/// vpsrlw moves the neighbouring byte's bits into bits >= 8 - 2t >= 2 only, which the mask clears.
template <int T>
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) __m512i spgemm_2of4_control(
    __m512i positions, const spgemm_2of4_gather_constants& k) {
  const __m512i shifted = T == 0 ? positions : _mm512_srli_epi16(positions, 2 * T);
  return _mm512_ternarylogic_epi32(shifted, k.slot_bits, k.group, 0xEA);  // (A & B) | C
}

/// Pair j = 4q + T of PN panels into MR rows: acc[p][r] += gather(a[r][8j .. 8j+8)) · values.
template <int MR, int PN, int T>
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void spgemm_2of4_pair(
    __m512i (&acc)[std::size_t{PN}][std::size_t{MR}], const std::uint8_t* a, std::ptrdiff_t lda, const __m512i (&positions)[std::size_t{PN}],
    const std::int8_t* values, std::ptrdiff_t value_stride, std::ptrdiff_t j, const spgemm_2of4_gather_constants& k) {
  __m512i x[std::size_t{MR}];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    std::int64_t word;
    std::memcpy(&word, a + r * lda + 8 * j, 8);
    x[r] = _mm512_set1_epi64(word);
  }
#pragma GCC unroll 4
  for (int p = 0; p < PN; ++p) {
    const __m512i control = spgemm_2of4_control<T>(positions[p], k);
    const __m512i w = _mm512_load_si512(values + p * value_stride + 64 * j);
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) acc[p][r] = _mm512_dpbusd_epi32(acc[p][r], _mm512_shuffle_epi8(x[r], control), w);
  }
}

/// MR rows × PN panels over all pairs: Σ a_u w of row r, panel p into tile[(p * MR + r) * 16 ..].
/// `values` / `positions` point at the first panel; the next panels follow at the given strides.
template <int MR, int PN>
QSPARSE_TARGET_AVX512_VNNI inline void spgemm_2of4_tile(const std::uint8_t* a, std::ptrdiff_t lda,
                                                        const std::uint8_t* positions, std::ptrdiff_t position_stride,
                                                        const std::int8_t* values, std::ptrdiff_t value_stride,
                                                        std::ptrdiff_t pairs, std::int32_t* tile) {
  const spgemm_2of4_gather_constants k = spgemm_2of4_make_gather_constants();
  __m512i acc[std::size_t{PN}][std::size_t{MR}];
#pragma GCC unroll 4
  for (int p = 0; p < PN; ++p)
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) acc[p][r] = _mm512_setzero_si512();
  __m512i pos[std::size_t{PN}];
  std::ptrdiff_t j = 0;
  for (; j + 4 <= pairs; j += 4) {
#pragma GCC unroll 4
    for (int p = 0; p < PN; ++p) pos[p] = _mm512_load_si512(positions + p * position_stride + 16 * j);
    spgemm_2of4_pair<MR, PN, 0>(acc, a, lda, pos, values, value_stride, j, k);
    spgemm_2of4_pair<MR, PN, 1>(acc, a, lda, pos, values, value_stride, j + 1, k);
    spgemm_2of4_pair<MR, PN, 2>(acc, a, lda, pos, values, value_stride, j + 2, k);
    spgemm_2of4_pair<MR, PN, 3>(acc, a, lda, pos, values, value_stride, j + 3, k);
  }
  if (j < pairs) {
#pragma GCC unroll 4
    for (int p = 0; p < PN; ++p) pos[p] = _mm512_load_si512(positions + p * position_stride + 16 * j);
    spgemm_2of4_pair<MR, PN, 0>(acc, a, lda, pos, values, value_stride, j, k);
    if (j + 1 < pairs) spgemm_2of4_pair<MR, PN, 1>(acc, a, lda, pos, values, value_stride, j + 1, k);
    if (j + 2 < pairs) spgemm_2of4_pair<MR, PN, 2>(acc, a, lda, pos, values, value_stride, j + 2, k);
  }
#pragma GCC unroll 4
  for (int p = 0; p < PN; ++p)
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) _mm512_store_si512(tile + (p * MR + r) * 16, acc[p][r]);
}

/// The pipeline over `rows` rows of 16 column sums (plus the zero-point column term), by the fast
/// evaluator when Fast.
template <bool Fast, class Prepared, class Out>
QSPARSE_TARGET_AVX512_VNNI inline void spgemm_2of4_store(const Prepared& prepared, const std::int32_t* sums, int rows,
                                                         __m512i column_term, __mmask16 mask, Out* dst,
                                                         std::ptrdiff_t ldd) {
  for (int r = 0; r < rows; ++r) {
    const __m512i acc = _mm512_add_epi32(_mm512_load_si512(sums + r * 16), column_term);
    avx512::store_prepared<Fast>(prepared, acc, mask, dst + r * ldd);
  }
}

/// Panels per tile for MR rows: enough independent accumulators when the rows are few.
constexpr int spgemm_2of4_panels_per_tile(int mr) noexcept { return mr <= 2 ? 4 : (mr <= 4 ? 2 : 1); }

struct spgemm_2of4_u8s8_s32_8x16c4 {
  static constexpr int mr = 8;
  static constexpr int nb = 16;
  static constexpr isa_level isa = isa_level::avx512_vnni;
  static constexpr sparse_format format = sparse_format::two_of_four;
  static const char* name() { return "spgemm_2of4_u8s8_s32_8x16c4__avx512vnni"; }

  template <class A, class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run(const sparse_gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                             const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                             std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                             std::ptrdiff_t panel_end) {
    using Out = typename output_pipeline<S...>::output_type;
    constexpr bool flip = std::is_same_v<A, std::int8_t>;
    // |Σ (a - a_zp) w| over K, for the fast epilogue (pruned weights are 0, so K bounds the kept terms).
    const std::int64_t bound = accumulator_bound<A>(g.k, g.a_zero_point, 0);
    const auto a_offset = static_cast<std::uint32_t>(g.a_zero_point) + (flip ? 128u : 0u);
    const __m512i column_factor = _mm512_set1_epi32(static_cast<std::int32_t>(0u - a_offset));
    const std::int32_t* column_sums = g.weights.column_sums();
    const std::ptrdiff_t kp = g.weights.k_padded();
    const std::ptrdiff_t pairs = g.weights.pairs();
    const std::ptrdiff_t position_stride = g.weights.quads() * 64;
    const std::ptrdiff_t value_stride = pairs * 64;
    constexpr int max_block_tiles = 8;
    std::uint8_t* rows8 = thread_scratch<std::uint8_t>(static_cast<std::size_t>(mr * max_block_tiles * kp));
    alignas(64) std::int32_t tile[4 * 16 * 2];  // up to PN × MR = 8 accumulators
    for (std::ptrdiff_t mb = m_begin; mb < m_end; mb += mr * max_block_tiles) {
      const std::ptrdiff_t block_rows = m_end - mb < mr * max_block_tiles ? m_end - mb : mr * max_block_tiles;
      const auto [a_rows, a_stride] =
          spgemm_rows_unsigned(g.a + mb * g.lda, g.lda, g.a_padded, block_rows, g.k, kp, rows8);
      for (std::ptrdiff_t t0 = 0; t0 < block_rows; t0 += mr) {
        const int rows = static_cast<int>(block_rows - t0 < mr ? block_rows - t0 : mr);
        const int pn = spgemm_2of4_panels_per_tile(rows);
        const std::uint8_t* a_tile = a_rows + t0 * a_stride;
        for (std::ptrdiff_t p0 = panel_begin; p0 < panel_end; p0 += pn) {
          const int panels = static_cast<int>(panel_end - p0 < pn ? panel_end - p0 : pn);
          const std::uint8_t* positions = g.weights.positions(p0);
          const std::int8_t* values = g.weights.values(p0 * pairs);
#define QSPARSE_SPGEMM_2OF4_TILE(MR, PN) \
  spgemm_2of4_tile<MR, PN>(a_tile, a_stride, positions, position_stride, values, value_stride, pairs, tile)
          switch (rows * 8 + panels) {
            case 8 * 8 + 1: QSPARSE_SPGEMM_2OF4_TILE(8, 1); break;
            case 7 * 8 + 1: QSPARSE_SPGEMM_2OF4_TILE(7, 1); break;
            case 6 * 8 + 1: QSPARSE_SPGEMM_2OF4_TILE(6, 1); break;
            case 5 * 8 + 1: QSPARSE_SPGEMM_2OF4_TILE(5, 1); break;
            case 4 * 8 + 2: QSPARSE_SPGEMM_2OF4_TILE(4, 2); break;
            case 4 * 8 + 1: QSPARSE_SPGEMM_2OF4_TILE(4, 1); break;
            case 3 * 8 + 2: QSPARSE_SPGEMM_2OF4_TILE(3, 2); break;
            case 3 * 8 + 1: QSPARSE_SPGEMM_2OF4_TILE(3, 1); break;
            case 2 * 8 + 4: QSPARSE_SPGEMM_2OF4_TILE(2, 4); break;
            case 2 * 8 + 3: QSPARSE_SPGEMM_2OF4_TILE(2, 3); break;
            case 2 * 8 + 2: QSPARSE_SPGEMM_2OF4_TILE(2, 2); break;
            case 2 * 8 + 1: QSPARSE_SPGEMM_2OF4_TILE(2, 1); break;
            case 1 * 8 + 4: QSPARSE_SPGEMM_2OF4_TILE(1, 4); break;
            case 1 * 8 + 3: QSPARSE_SPGEMM_2OF4_TILE(1, 3); break;
            case 1 * 8 + 2: QSPARSE_SPGEMM_2OF4_TILE(1, 2); break;
            default: QSPARSE_SPGEMM_2OF4_TILE(1, 1); break;
          }
#undef QSPARSE_SPGEMM_2OF4_TILE
          for (int pp = 0; pp < panels; ++pp) {
            const std::ptrdiff_t n0 = (p0 + pp) * 16;
            const std::ptrdiff_t columns = g.n - n0 < 16 ? g.n - n0 : 16;
            const auto mask = static_cast<__mmask16>(columns >= 16 ? 0xFFFF : (1u << columns) - 1u);
            const __m512i column_term = _mm512_mullo_epi32(_mm512_load_si512(column_sums + n0), column_factor);
            const auto prepared = avx512::prepare(pipeline, n0, mask, bound);
            const std::int32_t* sums = tile + pp * rows * 16;
            Out* dst = g.dst + (mb + t0) * g.ldd + n0;
            if (avx512::fast_path_exact(prepared)) {
              spgemm_2of4_store<true>(prepared, sums, rows, column_term, mask, dst, g.ldd);
            } else {
              spgemm_2of4_store<false>(prepared, sums, rows, column_term, mask, dst, g.ldd);
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
