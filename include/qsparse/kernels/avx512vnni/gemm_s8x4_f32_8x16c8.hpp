// qsparse/kernels/avx512vnni/gemm_s8x4_f32_8x16c8.hpp — int8 activations × 4-bit group-wise weights on
// AVX-512 VNNI: up to 8 rows × 16 columns per tile, 2 or 4 panels at once for fewer rows (and 2 for 8 rows
// when G >= 64; the panel_groups driver), weights in the layout of qsparse/spec/packed_weights_q4.hpp.
//
// Per 64-byte chunk (8 k × 16 columns) and panel: one load (and a prefetch 2 KiB ahead), vpandd 0x0F (k 0..3
// of each column, as the u8 operand of vpdpbusd) and vpsrlw 4 + vpandd (k 4..7); per row two vpdpbusd with
// the row's 4 activation bytes broadcast as the s8 operand. u in [0, 15] times a in [-128, 127] never
// saturates, and the int32 lane sums 4 products exactly. The group's int32 accumulator starts at
// -z * Σ_{k in g} a[m][k] (the entry computed the sums, and -8 × them for z = 8), so after the group it holds
// Σ a (u - z) exactly, which vcvtdq2ps turns into the float the reference converts; vfmadd231ps with the
// group's 16 scales is the reference's std::fma, group by group in order. The epilogue multiplies by the row
// scale (vmulps, not fused) and runs the float stages of the float16-weight kernel. Every bit equals
// qsparse/gemm/reference_q4.hpp.
//
// What bounds M >= 64 at G = 32: vpdpbusd, vpandd/vpsrlw, vcvtdq2ps and vfmadd231ps on zmm all issue on
// ports 0 and 5. Per group of 32 and 8 rows: 64 vpdpbusd, 12 unpack, and per row 1 vcvtdq2ps + 1
// vfmadd231ps (16), so at most 64 / 92 of the int8 GEMM's vpdpbusd rate (0.70x), and 0.8x even with free
// unpacking; at G = 128 the float work is a quarter of that (docs/kernels.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/gemm_f32f16_f32_8x32c1.hpp"
#include "qsparse/kernels/drivers/panel_groups.hpp"
#include "qsparse/kernels/stream_prefetch.hpp"
#include "qsparse/spec/gemm_q4_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights_q4.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512_vnni {

/// Chunk c (8 k × 16 columns) of the current group of P panels into MR rows' accumulators.
template <int MR, int P, bool Split>
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void gemm_s8x4_chunk_8x16c8(
    __m512i (&iacc)[std::size_t{MR}][std::size_t{P}], __m512i (&iacc_hi)[std::size_t{MR}][std::size_t{P}],
    const unsigned char* const (&wg)[std::size_t{P}], const std::int8_t* a, std::ptrdiff_t lda, std::ptrdiff_t c,
    __m512i low) {
  __m512i lo[std::size_t{P}], hi[std::size_t{P}];
#pragma GCC unroll 4
  for (int i = 0; i < P; ++i) {
    prefetch_at(wg[i] + c * 64, q4_weight_prefetch_bytes);
    const __m512i v = _mm512_loadu_si512(wg[i] + c * 64);
    lo[i] = _mm512_and_si512(v, low);
    hi[i] = _mm512_and_si512(_mm512_srli_epi16(v, 4), low);
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
    std::int32_t a0, a1;
    __builtin_memcpy(&a0, a + r * lda + 8 * c, 4);
    __builtin_memcpy(&a1, a + r * lda + 8 * c + 4, 4);
    const __m512i b0 = _mm512_set1_epi32(a0);
    const __m512i b1 = _mm512_set1_epi32(a1);
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i) {
      iacc[r][i] = _mm512_dpbusd_epi32(iacc[r][i], lo[i], b0);
      if constexpr (Split) {
        iacc_hi[r][i] = _mm512_dpbusd_epi32(iacc_hi[r][i], hi[i], b1);
      } else {
        iacc[r][i] = _mm512_dpbusd_epi32(iacc[r][i], hi[i], b1);
      }
    }
  }
}

/// MR rows × P panels over all groups into facc (float sums before the row scale), stored to tile[r][16 P].
template <int MR, int P>
QSPARSE_TARGET_AVX512_VNNI inline void gemm_s8x4_tile_8x16c8(const gemm_q4_args& g, std::ptrdiff_t m0,
                                                             std::ptrdiff_t p0, float* tile) {
  const std::ptrdiff_t gsz = g.weights.group_size();
  const std::ptrdiff_t groups = g.weights.groups();
  const std::ptrdiff_t group_bytes = g.weights.group_bytes();
  const bool zp = g.weights.has_zero_points();
  const __m512i low = _mm512_set1_epi8(0x0F);
  const unsigned char* w[std::size_t{P}];
#pragma GCC unroll 4
  for (int i = 0; i < P; ++i) w[i] = g.weights.panel(p0 + i);
  // Up to 8 tiles' float sums stay in registers; 8 rows × 2 panels keep theirs in `tile` (L1), which leaves
  // the 16 int32 accumulators and the operands their registers.
  constexpr bool facc_in_memory = MR * P > 8;
  __m512 facc[std::size_t{facc_in_memory ? 1 : MR}][std::size_t{facc_in_memory ? 1 : P}];
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i) {
      if constexpr (facc_in_memory) {
        _mm512_store_ps(tile + r * 16 * P + 16 * i, _mm512_setzero_ps());
      } else {
        facc[r][i] = _mm512_setzero_ps();
      }
    }
  }
  for (std::ptrdiff_t gi = 0; gi < groups; ++gi) {
    __m512i iacc[std::size_t{MR}][std::size_t{P}];
    if (zp) {
#pragma GCC unroll 4
      for (int i = 0; i < P; ++i) {
        const __m512i z = _mm512_cvtepu8_epi32(
            _mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i] + gi * group_bytes + gsz * 8 + 64)));
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
          iacc[r][i] = _mm512_mullo_epi32(z, _mm512_set1_epi32(-g.group_sums[(m0 + r) * g.lds + gi]));
        }
      }
    } else {
      // -8 Σ a from memory: a broadcast load, no vector ALU work (the entry computed group_starts).
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
        for (int i = 0; i < P; ++i) iacc[r][i] = _mm512_set1_epi32(g.group_starts[(m0 + r) * g.lds + gi]);
      }
    }
    // With fewer than 4 chains (one row, one panel: the blocks of panel_tasks.hpp end in single panels)
    // the high nibbles get chains of their own, so two vpdpbusd per chunk do not wait on each other.
    constexpr bool split = MR * P < 4;
    __m512i iacc_hi[std::size_t{MR}][std::size_t{P}];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
      for (int i = 0; i < P; ++i) iacc_hi[r][i] = _mm512_setzero_si512();
    }
    const std::int8_t* a = g.a + m0 * g.lda + gi * gsz;
    const unsigned char* wg[std::size_t{P}];
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i) wg[i] = w[i] + gi * group_bytes;
    // Groups of 32 (4 chunks) run unrolled, without the loop's accumulator copies (GCC 12).
    if (gsz == 32) {
#pragma GCC unroll 4
      for (std::ptrdiff_t c = 0; c < 4; ++c) gemm_s8x4_chunk_8x16c8<MR, P, split>(iacc, iacc_hi, wg, a, g.lda, c, low);
    } else {
      for (std::ptrdiff_t c = 0; c < gsz / 8; ++c) {
        gemm_s8x4_chunk_8x16c8<MR, P, split>(iacc, iacc_hi, wg, a, g.lda, c, low);
      }
    }
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i) {
      prefetch_at(wg[i] + gsz * 8, q4_weight_prefetch_bytes);
      if (zp) prefetch_at(wg[i] + gsz * 8 + 64, q4_weight_prefetch_bytes);
      const __m512 s = _mm512_loadu_ps(reinterpret_cast<const float*>(wg[i] + gsz * 8));
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        const __m512i isum = split ? _mm512_add_epi32(iacc[r][i], iacc_hi[r][i]) : iacc[r][i];
        if constexpr (facc_in_memory) {
          float* t = tile + r * 16 * P + 16 * i;
          _mm512_store_ps(t, _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), s, _mm512_load_ps(t)));
        } else {
          facc[r][i] = _mm512_fmadd_ps(_mm512_cvtepi32_ps(isum), s, facc[r][i]);
        }
      }
    }
  }
#pragma GCC unroll 8
  for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
    for (int i = 0; i < P; ++i) {
      if constexpr (!facc_in_memory) _mm512_store_ps(tile + r * 16 * P + 16 * i, facc[r][i]);
    }
  }
}

/// The tiles of gemm_s8x4_f32_8x16c8 for the panel_groups driver. Panels per tile: at least 4 independent
/// vpdpbusd chains, and 2 loads in flight for one row. Wide (G >= 64): 8 rows take 2 panels too (their float
/// sums in L1), which halves the activation broadcasts per vpdpbusd; at G = 32 the extra load and store of
/// the float sums per group cost more than that saves (M = 64: 8 % slower in cache), so 8 rows take 1 panel.
template <bool Wide>
struct gemm_s8x4_tiles_8x16c8 {
  static constexpr int mr = 8;
  static constexpr int panels_for(int rows) noexcept { return rows <= 2 ? 4 : (rows <= 4 || Wide ? 2 : 1); }

  template <int MR, int P, class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run_panels(const gemm_q4_args& g, const output_pipeline<S...>& pipeline,
                                                    std::ptrdiff_t m0, std::ptrdiff_t p) {
    alignas(64) float tile[std::size_t{MR * 16 * P}];
    gemm_s8x4_tile_8x16c8<MR, P>(g, m0, p, tile);
    for (int i = 0; i < P; ++i) {
      const std::ptrdiff_t n = (p + i) * 16;
      const std::ptrdiff_t left = g.n - n;
      if (left <= 0) break;
      const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
      const auto prepared = avx512::prepare_f32_stages(pipeline, n, mask, std::index_sequence_for<S...>{});
      for (int r = 0; r < MR; ++r) {
        __m512 y = _mm512_mul_ps(_mm512_load_ps(tile + r * 16 * P + 16 * i), _mm512_set1_ps(g.row_scales[m0 + r]));
        // GCC contracts a multiply and an add of intrinsics into an FMA under -ffp-contract=fast (its
        // default outside ISO C); the definition rounds the product first, so keep it apart from the bias.
        __asm__("" : "+v"(y));
        _mm512_mask_storeu_ps(g.dst + (m0 + r) * g.ldd + n, mask, avx512::apply_f32_stages<0>(prepared, y));
      }
    }
  }
};

struct gemm_s8x4_f32_8x16c8 {
  static constexpr int mr = 8;
  static constexpr int nr = 16;
  static constexpr isa_level isa = isa_level::avx512_vnni;
  static const char* name() { return "gemm_s8x4_f32_8x16c8__avx512vnni"; }

  template <class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run(const gemm_q4_args& g, const output_pipeline<S...>& pipeline,
                                             std::ptrdiff_t m_begin, std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                             std::ptrdiff_t panel_end) {
    if (g.weights.group_size() >= 64) {
      drivers::run_panel_groups<gemm_s8x4_tiles_8x16c8<true>>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
    } else {
      drivers::run_panel_groups<gemm_s8x4_tiles_8x16c8<false>>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
    }
  }
};

}  // namespace avx512_vnni
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
