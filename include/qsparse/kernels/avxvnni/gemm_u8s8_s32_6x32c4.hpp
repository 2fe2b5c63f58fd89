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
// matrix-vector products). The epilogue is the AVX2 one (kernels/avx2/output_pipeline.hpp) on 8 columns
// at a time.
//
// The loops are the kernel's own (run, below), not the shared row driver's: with one tile per pass over
// the panels the whole weight matrix streamed from L2 or L3 once per 6 rows (11 bytes per cycle at two
// vpdpbusd per cycle), which held the kernel at 36-56 % of the vpdpbusd peak on large shapes. Rows are
// taken in blocks of up to 72, K in chunks of at most 256, each chunk of a panel meeting every tile of
// the block from L1 (docs/kernels.md, "The AVX-VNNI kernel").
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

struct gemm_u8s8_s32_6x32c4 {
  static constexpr int mr = 6;
  static constexpr int nr = 32;
  static constexpr int kr = 4;
  static constexpr isa_level isa = isa_level::avx_vnni;
  static constexpr packed_layout layout = packed_layout::s8_c4_nr32;
  /// Its epilogue evaluates dequantize_rows_float (qsparse/spec/hybrid_output_stage.hpp) in registers.
  static constexpr bool row_output_stage = true;
  static const char* name() { return "gemm_u8s8_s32_6x32c4__avxvnni"; }

  /// VEX vpdpbusd: the AVX-VNNI bit, which the avx_vnni rung does not imply (AVX-512 VNNI CPUs reach it too).
  static bool cpu_has_extensions() { return cpu().avx_vnni; }

  QSPARSE_TARGET_AVX_VNNI static inline __attribute__((always_inline)) __m256i broadcast(const std::uint8_t* p) {
    std::int32_t word;
    std::memcpy(&word, p, 4);
    return _mm256_set1_epi32(word);
  }

  /// sums[r][n] = Σ_k a_u[r][k] w[k][n] over the padded K (modulo 2^32) for MR rows at a + r*ld.
  template <int MR>
  QSPARSE_TARGET_AVX_VNNI static void multiply(const std::uint8_t* a, std::ptrdiff_t ld, std::ptrdiff_t kp,
                                               const void* panel, std::int32_t* sums, bool accumulate) {
    const auto* w = static_cast<const std::int8_t*>(panel);
    const std::ptrdiff_t groups = kp / 4;
    if constexpr (MR <= 2) {
      constexpr int sets = MR == 1 ? 2 : 1;
      __m256i acc[std::size_t{sets}][std::size_t{MR}][4];
#pragma GCC unroll 16
      for (int i = 0; i < sets * MR * 4; ++i) acc[i / (MR * 4)][i / 4 % MR][i % 4] = _mm256_setzero_si256();
      if (accumulate) {
#pragma GCC unroll 8
        for (int i = 0; i < MR * 4; ++i) acc[0][i / 4][i % 4] = _mm256_load_si256(reinterpret_cast<const __m256i*>(sums + i / 4 * nr + 8 * (i % 4)));
      }
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
        for (int r = 0; r < MR; ++r) {
          acc[r][0] = accumulate ? _mm256_load_si256(reinterpret_cast<const __m256i*>(sums + r * nr + 16 * h)) : _mm256_setzero_si256();
          acc[r][1] = accumulate ? _mm256_load_si256(reinterpret_cast<const __m256i*>(sums + r * nr + 16 * h + 8)) : _mm256_setzero_si256();
        }
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

  /// out[0, kp) = src[0, k) as unsigned bytes (sign bit flipped when Flip), then zeros; returns their sum.
  template <bool Flip>
  QSPARSE_TARGET_AVX_VNNI static std::int32_t copy_row_unsigned(const std::uint8_t* src, std::ptrdiff_t k,
                                                                std::ptrdiff_t kp, std::uint8_t* out) {
    const __m256i flip = _mm256_set1_epi8(Flip ? static_cast<char>(0x80) : 0);
    __m256i sums = _mm256_setzero_si256();
    std::ptrdiff_t kk = 0;
    for (; kk + 32 <= k; kk += 32) {
      const __m256i v = _mm256_xor_si256(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(src + kk)), flip);
      _mm256_storeu_si256(reinterpret_cast<__m256i*>(out + kk), v);
      sums = _mm256_add_epi64(sums, _mm256_sad_epu8(v, _mm256_setzero_si256()));
    }
    alignas(16) std::uint64_t lanes[4];
    _mm256_store_si256(reinterpret_cast<__m256i*>(lanes), sums);
    std::uint32_t sum = static_cast<std::uint32_t>(lanes[0] + lanes[1] + lanes[2] + lanes[3]);
    for (; kk < k; ++kk) {
      const auto v = static_cast<std::uint8_t>(src[kk] ^ (Flip ? 0x80u : 0u));
      out[kk] = v;
      sum += v;
    }
    for (; kk < kp; ++kk) out[kk] = 0;
    return static_cast<std::int32_t>(sum);
  }

  /// The largest |Σ_k (a - a_zp)(w - w_zp)| of g.
  template <class A, class Out>
  static std::int64_t accumulator_bound(const gemm_args<A, Out>& g) {
    const std::int64_t a_lo = std::is_same_v<A, std::int8_t> ? -128 : 0, w_zp = g.weights.weight_zero_point();
    const std::int64_t a_max = std::max<std::int64_t>(a_lo + 255 - g.a_zero_point, g.a_zero_point - a_lo);
    const std::int64_t w_max = std::max<std::int64_t>(127 - w_zp, w_zp + 128);
    return static_cast<std::int64_t>(g.k) * a_max * w_max;
  }

  /// What the epilogue of one 32-column panel needs, prepared once and applied to every tile that meets the
  /// panel: per 8 columns the column term (a_zp + o)(colsum[n] - K w_zp), the lane mask and count, and the
  /// pipeline prepared (TFLite's fixed point by avx2::fixed_point_form where it is exact).
  template <class Prepared>
  struct panel_epilogue {
    __m256i column_term[4];
    __m256i mask[4];
    Prepared prepared[4];
    avx2::fixed_point_form fixed[4];
    bool use_fixed[4];
    int count[4];
    int groups;  // 8-column groups that hold columns
  };

  template <class A, class Out, class Pipeline>
  QSPARSE_TARGET_AVX_VNNI static auto prepare_panel(const gemm_args<A, Out>& g, const Pipeline& pipeline, std::ptrdiff_t n0,
                                                    std::int64_t bound) {
    using prepared_type = decltype(avx2::prepare(pipeline, std::ptrdiff_t{0}, _mm256_setzero_si256()));
    constexpr std::int32_t offset = std::is_same_v<A, std::int8_t> ? 128 : 0;
    const auto u_zp = static_cast<std::uint32_t>(g.a_zero_point + offset);
    const auto w_zp = static_cast<std::uint32_t>(g.weights.weight_zero_point());
    const __m256i k_wzp = _mm256_set1_epi32(static_cast<std::int32_t>(static_cast<std::uint32_t>(g.k) * w_zp));
    const __m256i u_zp_v = _mm256_set1_epi32(static_cast<std::int32_t>(u_zp));
    const std::int32_t* column_sums = g.weights.column_sums() + n0;  // padded to NR: in bounds
    const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
    panel_epilogue<prepared_type> e;
    e.groups = static_cast<int>((columns + 7) / 8);
    for (int j = 0; j < e.groups; ++j) {
      const std::ptrdiff_t left = columns - 8 * j;
      e.count[j] = static_cast<int>(left >= 8 ? 8 : left);
      e.mask[j] = avx2::lane_mask(e.count[j]);
      e.column_term[j] = _mm256_mullo_epi32(
          u_zp_v, _mm256_sub_epi32(_mm256_loadu_si256(reinterpret_cast<const __m256i*>(column_sums + 8 * j)), k_wzp));
      e.use_fixed[j] = false;
      if constexpr (avx2::fixed_point_form_pipeline<Pipeline>::value)
        e.use_fixed[j] = avx2::prepare_fixed_point_form(pipeline, n0 + 8 * j, e.mask[j], bound, e.fixed[j]);
      e.prepared[j] = avx2::prepare(pipeline, n0 + 8 * j, e.mask[j]);
    }
    return e;
  }

  /// The tile's sums (rows x 32, row stride nr) less their zero-point terms (modulo 2^32: exact because the
  /// entry point guarantees the true sum fits int32), through the prepared pipeline, stored at dst.
  template <class Pipeline, class Prepared, class Out>
  QSPARSE_TARGET_AVX_VNNI static void store_tile(const panel_epilogue<Prepared>& e, const std::int32_t* sums,
                                                 const std::int32_t* row_terms, int rows, Out* dst, std::ptrdiff_t ldd,
                                                 std::ptrdiff_t m0) {
    if constexpr (avx2::has_row_stage_v<Prepared>) {  // dequantize_rows_float: tile row r is output row m0 + r
      for (int j = 0; j < e.groups; ++j) {
        const __m256i column_term = e.column_term[j];
        for (int r = 0; r < rows; ++r) {
          const __m256i s = _mm256_load_si256(reinterpret_cast<const __m256i*>(sums + r * nr + 8 * j));
          const __m256i v = _mm256_sub_epi32(_mm256_sub_epi32(s, column_term), _mm256_set1_epi32(row_terms[r]));
          avx2::store_prepared_at(e.prepared[j], v, m0 + r, e.mask[j], dst + r * ldd + 8 * j);
        }
      }
    } else {
      (void)m0;
      for (int j = 0; j < e.groups; ++j) {
        const __m256i column_term = e.column_term[j];
        if constexpr (avx2::fixed_point_form_pipeline<Pipeline>::value) {
          if (e.use_fixed[j]) {
            using R = typename avx2::fixed_point_form_pipeline<Pipeline>::rounding;
            const avx2::fixed_point_form& f = e.fixed[j];
            for (int r = 0; r < rows; ++r) {
              const __m256i s = _mm256_load_si256(reinterpret_cast<const __m256i*>(sums + r * nr + 8 * j));
              const __m256i v = _mm256_sub_epi32(_mm256_sub_epi32(s, column_term), _mm256_set1_epi32(row_terms[r]));
              avx2::store_bytes(avx2::fixed_point_form_apply<R>(v, f), e.count[j], dst + r * ldd + 8 * j);
            }
            continue;
          }
        }
        const Prepared& prepared = e.prepared[j];
        for (int r = 0; r < rows; ++r) {
          const __m256i s = _mm256_load_si256(reinterpret_cast<const __m256i*>(sums + r * nr + 8 * j));
          const __m256i v = _mm256_sub_epi32(_mm256_sub_epi32(s, column_term), _mm256_set1_epi32(row_terms[r]));
          avx2::store_prepared(prepared, v, e.count[j], e.mask[j], dst + r * ldd + 8 * j);
        }
      }
    }
  }

  /// Rows in blocks of up to max_block_tiles tiles (72 rows, the blocks of a range balanced): a block's rows
  /// are copied once (unsigned, zero padded to whole k groups), then each weight panel meets every tile of
  /// the block, its epilogue prepared once. K runs in balanced chunks of at most 256: a chunk of the panel
  /// (8 KiB) and of the block's rows (18 KiB) stay in L1 while every tile adds it into its sums, so each
  /// weight byte comes from L2 (or beyond) once per block, not once per 6 rows (at two vpdpbusd per cycle
  /// a 6-row tile needs 11 bytes of weights per cycle, more than L3 gives).
  template <class A, class... S>
  QSPARSE_TARGET_AVX_VNNI static void run(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                          const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                          std::ptrdiff_t m_end, std::ptrdiff_t panel_begin, std::ptrdiff_t panel_end) {
    static_assert(std::is_same_v<A, std::int8_t> || std::is_same_v<A, std::uint8_t>,
                  "qsparse: the AVX-VNNI GEMM reads int8 or uint8 activations.");
    using Pipeline = output_pipeline<S...>;
    constexpr bool flip = std::is_same_v<A, std::int8_t>;
    constexpr int max_block_tiles = 12;
    constexpr std::ptrdiff_t chunk_bytes = 256;
    const std::ptrdiff_t kp = g.weights.k_padded();
    const std::ptrdiff_t chunks = (kp + chunk_bytes - 1) / chunk_bytes;
    const std::ptrdiff_t chunk = ((kp + chunks - 1) / chunks + 3) / 4 * 4;  // whole k groups
    const std::ptrdiff_t tiles = (m_end - m_begin + mr - 1) / mr;
    const std::ptrdiff_t blocks = (tiles + max_block_tiles - 1) / max_block_tiles;
    const std::ptrdiff_t block_max = mr * ((tiles + blocks - 1) / (blocks > 0 ? blocks : 1));  // rows per block
    std::uint8_t* rows8 = thread_scratch<std::uint8_t>(static_cast<std::size_t>(mr * max_block_tiles * kp));
    const auto w_zp = static_cast<std::uint32_t>(g.weights.weight_zero_point());
    const std::int64_t bound = accumulator_bound(g);
    alignas(32) std::int32_t sums[std::size_t{max_block_tiles * mr * nr}];
    std::int32_t row_terms[std::size_t{mr * max_block_tiles}];
    for (std::ptrdiff_t mb = m_begin; mb < m_end; mb += block_max) {
      const std::ptrdiff_t block_rows = m_end - mb < block_max ? m_end - mb : block_max;
      for (std::ptrdiff_t r = 0; r < block_rows; ++r) {
        const auto* src = reinterpret_cast<const std::uint8_t*>(g.a + (mb + r) * g.lda);
        const auto sum = static_cast<std::uint32_t>(copy_row_unsigned<flip>(src, g.k, kp, rows8 + r * kp));
        row_terms[r] = static_cast<std::int32_t>(w_zp * sum);
      }
      for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
        const auto e = prepare_panel(g, pipeline, p * nr, bound);
        const auto* panel = static_cast<const std::int8_t*>(g.weights.panel(p));
        for (std::ptrdiff_t k0 = 0; k0 < kp; k0 += chunk) {
          const std::ptrdiff_t kc = kp - k0 < chunk ? kp - k0 : chunk;
          for (std::ptrdiff_t t0 = 0; t0 < block_rows; t0 += mr) {
            const int rows = static_cast<int>(block_rows - t0 < mr ? block_rows - t0 : mr);
            drivers::multiply_rows<gemm_u8s8_s32_6x32c4>(rows, static_cast<const std::uint8_t*>(rows8 + t0 * kp + k0), kp,
                                                         kc, static_cast<const void*>(panel + nr * k0),
                                                         static_cast<std::int32_t*>(sums + t0 * nr), k0 != 0);
          }
        }
        for (std::ptrdiff_t t0 = 0; t0 < block_rows; t0 += mr) {
          const int rows = static_cast<int>(block_rows - t0 < mr ? block_rows - t0 : mr);
          store_tile<Pipeline>(e, static_cast<const std::int32_t*>(sums + t0 * nr), row_terms + t0, rows,
                               g.dst + (mb + t0) * g.ldd + p * nr, g.ldd, mb + t0);
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
