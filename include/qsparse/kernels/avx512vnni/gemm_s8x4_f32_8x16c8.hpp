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
// From 16 rows per task (gemm_s8x4_decoded_rows_8x16c8) the nibbles are unpacked once per block of 512 k
// and pair of panels into int8 in L1, and every 8-row tile runs the int8 GEMM's 8 × 32 register tile over
// them, with the same per-group conversion and FMA. What bounds it: vpdpbusd, vpandd/vpsrlw, vcvtdq2ps and
// vfmadd231ps on zmm all issue on ports 0 and 5; per group and 8 × 32 tile 128 vpdpbusd (G = 32), 16
// vcvtdq2ps + 16 vfmadd231ps and 3 decoding instructions (a 64-row task), so at most 0.785 of the vpdpbusd
// rate at G = 32 and 0.92 at G = 128 (the tile that unpacks in its loop: 64 / 92 = 0.70 at G = 32). Around
// the tile: its steps in asm (no register copies), each tile's epilogue right after its last block (the
// output's cache misses spread between the multiply-adds), the next block's weights prefetched to L2 while the
// tiles run. docs/kernels.md has the count and the measurements.
#pragma once

#include <cstddef>
#include <cstdint>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/gemm_f32f16_f32_8x32c1.hpp"
#include "qsparse/kernels/drivers/panel_groups.hpp"
#include "qsparse/kernels/scratch.hpp"
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

/// The epilogue of MR rows × P panels: tile[r][16 P] (float sums before the row scale) times the row scale,
/// then the float stages, into dst.
template <int MR, int P, class... S>
QSPARSE_TARGET_AVX512_VNNI inline void gemm_s8x4_store_8x16c8(const gemm_q4_args& g,
                                                              const output_pipeline<S...>& pipeline, std::ptrdiff_t m0,
                                                              std::ptrdiff_t p, const float* tile) {
  for (int i = 0; i < P; ++i) {
    const std::ptrdiff_t n = (p + i) * 16;
    const std::ptrdiff_t left = g.n - n;
    if (left <= 0) break;
    const auto mask = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
    const auto prepared = avx512::prepare_f32_stages(pipeline, n, mask, std::index_sequence_for<S...>{});
    for (int r = 0; r < MR; ++r) {
      __m512 y = _mm512_mul_ps(_mm512_loadu_ps(tile + r * 16 * P + 16 * i), _mm512_set1_ps(g.row_scales[m0 + r]));
      // GCC contracts a multiply and an add of intrinsics into an FMA under -ffp-contract=fast (its
      // default outside ISO C); the definition rounds the product first, so keep it apart from the bias.
      QSPARSE_KEEP_ROUNDED(y);
      _mm512_mask_storeu_ps(g.dst + (m0 + r) * g.ldd + n, mask, avx512::apply_f32_stages<0>(prepared, y));
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
    gemm_s8x4_store_8x16c8<MR, P>(g, pipeline, m0, p, tile);
  }
};

// ---- many rows: each block of weights decoded once into int8 -----------------------------------------

/// From this many rows in a task, gemm_s8x4_f32_8x16c8 decodes the weights once per block of k and pair of
/// panels and runs every 8-row tile of the task over the decoded bytes (gemm_s8x4_decoded_8x16c8).
inline constexpr std::ptrdiff_t q4_decode_min_rows = 16;
/// k per decoded block (whole groups, at least one): two panels of it take 16 KiB of L1.
inline constexpr std::ptrdiff_t q4_decode_block_k = 512;

/// Groups [gb, gb + gn) of P panels from p, unpacked into dec: per 4 k (one vpdpbusd step) and panel 64
/// bytes, u in [0, 15] of 16 columns × 4 k, panels side by side (dec + step * 64 P + 64 i).
template <int P>
QSPARSE_TARGET_AVX512_VNNI inline void gemm_s8x4_decode_8x16c8(const gemm_q4_args& g, std::ptrdiff_t p,
                                                               std::ptrdiff_t gb, std::ptrdiff_t gn,
                                                               unsigned char* dec) {
  const std::ptrdiff_t chunks = g.weights.group_size() / 8;
  const std::ptrdiff_t group_bytes = g.weights.group_bytes();
  const __m512i low = _mm512_set1_epi8(0x0F);
#pragma GCC unroll 2
  for (int i = 0; i < P; ++i) {
    const unsigned char* w = g.weights.panel(p + i) + gb * group_bytes;
    unsigned char* d = dec + 64 * i;
    for (std::ptrdiff_t j = 0; j < gn; ++j, w += group_bytes) {
      for (std::ptrdiff_t c = 0; c < chunks; ++c, d += 128 * P) {
        prefetch_at(w + c * 64, q4_weight_prefetch_bytes);
        const __m512i v = _mm512_loadu_si512(w + c * 64);
        _mm512_store_si512(d, _mm512_and_si512(v, low));
        _mm512_store_si512(d + 64 * P, _mm512_and_si512(_mm512_srli_epi16(v, 4), low));
      }
    }
  }
}

/// One row of the two-panel step (gemm_s8x4_decoded_step_8x16c8): the row's 4 activations broadcast from
/// memory (a load, no shuffle), two vpdpbusd. Each template is written {AT&T|Intel}, so hosts built with
/// -masm=intel assemble it.
#define QSPARSE_Q4_DECODED_ROW(R)                                              \
  "{vpbroadcastd %[a" #R "], %[b]|vpbroadcastd %[b], %[a" #R "]}\n\t"           \
  "{vpdpbusd %[b], %[w0], %[c" #R "0]|vpdpbusd %[c" #R "0], %[w0], %[b]}\n\t"   \
  "{vpdpbusd %[b], %[w1], %[c" #R "1]|vpdpbusd %[c" #R "1], %[w1], %[b]}\n\t"

/// One step of 4 k: 8 rows × P panels of decoded weights, the int8 GEMM's register tile; the rows' 4 bytes
/// each are side by side at a (32 bytes). Two panels: one asm statement per step, so the 16 sums stay in
/// their registers (with intrinsics GCC 12 moved sums between registers inside the unrolled group, and
/// vmovdqa64 between registers takes the multiply-adds' ports).
template <int P>
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void gemm_s8x4_decoded_step_8x16c8(
    __m512i (&acc)[8][std::size_t{P}], const unsigned char* d, const std::int8_t* a) {
  using bytes4 = const std::int8_t(*)[4];
  if constexpr (P == 2) {
    const __m512i w0 = _mm512_load_si512(d), w1 = _mm512_load_si512(d + 64);
    // Two statements of 4 rows (an in-out operand counts twice, at most 30 operands per statement).
#pragma GCC unroll 2
    for (int h = 0; h < 8; h += 4) {
      __m512i b;
      asm(QSPARSE_Q4_DECODED_ROW(0) QSPARSE_Q4_DECODED_ROW(1) QSPARSE_Q4_DECODED_ROW(2) QSPARSE_Q4_DECODED_ROW(3)
          : [c00] "+v"(acc[h][0]), [c01] "+v"(acc[h][1]), [c10] "+v"(acc[h + 1][0]), [c11] "+v"(acc[h + 1][1]),
            [c20] "+v"(acc[h + 2][0]), [c21] "+v"(acc[h + 2][1]), [c30] "+v"(acc[h + 3][0]),
            [c31] "+v"(acc[h + 3][1]), [b] "=&v"(b)
          : [w0] "v"(w0), [w1] "v"(w1), [a0] "m"(*reinterpret_cast<bytes4>(a + 4 * h)),
            [a1] "m"(*reinterpret_cast<bytes4>(a + 4 * h + 4)), [a2] "m"(*reinterpret_cast<bytes4>(a + 4 * h + 8)),
            [a3] "m"(*reinterpret_cast<bytes4>(a + 4 * h + 12)));
    }
  } else {
    const __m512i w = _mm512_load_si512(d);
#pragma GCC unroll 8
    for (int r = 0; r < 8; ++r) {
      std::int32_t a4;
      __builtin_memcpy(&a4, a + 4 * r, 4);
      acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], w, _mm512_set1_epi32(a4));
    }
  }
}
#undef QSPARSE_Q4_DECODED_ROW

/// 8 rows × P panels from p over groups [gb, gb + gn) decoded in dec, the rows' activations interleaved in
/// a (per 4 k, 8 × 4 bytes; a points at group gb) and their group starts in starts (per group 8 int32: -8 Σ a,
/// or -Σ a with zero points): per group the int32 sums start at -z Σ a, take G / 4 steps (Steps of them
/// unrolled when it is not 0: G = 32), and go into facc[r][16 P] (L1) with one vcvtdq2ps and one
/// vfmadd231ps by the group's scales, as in gemm_s8x4_tile_8x16c8 — the same operations in the same order.
template <int P, int Steps>
QSPARSE_TARGET_AVX512_VNNI inline void gemm_s8x4_decoded_8x16c8(const gemm_q4_args& g, std::ptrdiff_t p,
                                                                std::ptrdiff_t gb, std::ptrdiff_t gn,
                                                                const unsigned char* dec, const std::int8_t* a,
                                                                const std::int32_t* starts, float* facc) {
  const std::ptrdiff_t gsz = g.weights.group_size();
  const std::ptrdiff_t group_bytes = g.weights.group_bytes();
  const bool zp = g.weights.has_zero_points();
  const unsigned char* w[std::size_t{P}];
#pragma GCC unroll 2
  for (int i = 0; i < P; ++i) w[i] = g.weights.panel(p + i) + gb * group_bytes + gsz * 8;  // the scales
  const unsigned char* d = dec;
  for (std::ptrdiff_t j = 0; j < gn; ++j) {
    // The float sums live in memory between groups: kept in registers they would push the 16 int32
    // accumulators out (GCC 12 otherwise holds all 32 and spills).
    __asm__ volatile("" : : "r"(facc) : "memory");
    __m512i acc[8][std::size_t{P}];
    const std::int32_t* st = starts + 8 * j;
    if (zp) {
#pragma GCC unroll 2
      for (int i = 0; i < P; ++i) {
        const __m512i z =
            _mm512_cvtepu8_epi32(_mm_loadu_si128(reinterpret_cast<const __m128i*>(w[i] + j * group_bytes + 64)));
#pragma GCC unroll 8
        for (int r = 0; r < 8; ++r) acc[r][i] = _mm512_mullo_epi32(z, _mm512_set1_epi32(st[r]));
      }
    } else {
#pragma GCC unroll 8
      for (int r = 0; r < 8; ++r) {
        // One broadcast load per accumulator (the load ports'), not one per row copied by vmovdqa32.
#pragma GCC unroll 2
        for (int i = 0; i < P; ++i) {
          asm volatile("{vpbroadcastd %1, %0|vpbroadcastd %0, %1}" : "=v"(acc[r][i]) : "m"(st[r]));
        }
      }
    }
    if constexpr (Steps != 0) {
#pragma GCC unroll 32
      for (int s = 0; s < Steps; ++s) gemm_s8x4_decoded_step_8x16c8<P>(acc, d + s * 64 * P, a + 32 * s);
    } else {
      for (std::ptrdiff_t s = 0; s < gsz / 4; ++s) gemm_s8x4_decoded_step_8x16c8<P>(acc, d + s * 64 * P, a + 32 * s);
    }
    d += gsz * 16 * P;
    a += gsz * 8;
#pragma GCC unroll 2
    for (int i = 0; i < P; ++i) {
      const __m512 s = _mm512_loadu_ps(reinterpret_cast<const float*>(w[i] + j * group_bytes));
#pragma GCC unroll 8
      for (int r = 0; r < 8; ++r) {
        float* t = facc + r * 16 * P + 16 * i;
        _mm512_store_ps(t, _mm512_fmadd_ps(_mm512_cvtepi32_ps(acc[r][i]), s, _mm512_load_ps(t)));
      }
    }
  }
}

/// The operands of the decoded path for rows [m_begin, m_end) (a multiple of 8), in this thread's scratch:
/// each 8-row tile's activations interleaved per 4 k (K / 4 × 32 bytes per tile), its group starts per group
/// (8 int32), the decoded block of two panels and the float sums, all 64-byte aligned.
struct q4_decoded_scratch {
  std::int8_t* a;
  std::int32_t* starts;
  unsigned char* dec;
  float* facc;
};

QSPARSE_TARGET_AVX512_VNNI inline q4_decoded_scratch q4_decoded_scratch_for(const gemm_q4_args& g, std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
                                                 std::ptrdiff_t block_k) {
  const std::ptrdiff_t rows = m_end - m_begin;
  const std::ptrdiff_t groups = g.weights.groups();
  const auto round = [](std::ptrdiff_t bytes) { return (bytes + 63) / 64 * 64; };
  const std::ptrdiff_t a_bytes = round(rows * g.k), starts_bytes = round(rows * groups * 4);
  const std::ptrdiff_t dec_bytes = round(block_k * 32), facc_bytes = round(rows * 32 * 4);
  unsigned char* base = thread_scratch<unsigned char>(static_cast<std::size_t>(a_bytes + starts_bytes + dec_bytes +
                                                                               facc_bytes + 64));
  base = reinterpret_cast<unsigned char*>((reinterpret_cast<std::uintptr_t>(base) + 63) & ~std::uintptr_t{63});
  q4_decoded_scratch s{reinterpret_cast<std::int8_t*>(base), reinterpret_cast<std::int32_t*>(base + a_bytes),
                       base + a_bytes + starts_bytes,
                       reinterpret_cast<float*>(base + a_bytes + starts_bytes + dec_bytes)};
  const bool zp = g.weights.has_zero_points();
  const std::ptrdiff_t k = g.k, lda = g.lda, lds = g.lds;
  // Per 16 k of 8 rows: rows 0-3 and 4-7 side by side (4 × 16 bytes each), then two permutes put 4 k of the
  // 8 rows in each 32-byte half.
  const __m512i lo_idx = _mm512_setr_epi32(0, 4, 8, 12, 16, 20, 24, 28, 1, 5, 9, 13, 17, 21, 25, 29);
  const __m512i hi_idx = _mm512_setr_epi32(2, 6, 10, 14, 18, 22, 26, 30, 3, 7, 11, 15, 19, 23, 27, 31);
  for (std::ptrdiff_t t = 0; t < rows / 8; ++t) {
    std::int8_t* at = s.a + t * 8 * k;
    const std::int8_t* src = g.a + (m_begin + 8 * t) * lda;
    std::ptrdiff_t kk = 0;
    for (; kk + 16 <= k; kk += 16) {
      __m512i half[2];
      for (int h = 0; h < 2; ++h) {
        const std::int8_t* r = src + 4 * h * lda + kk;
        __m512i v = _mm512_castsi128_si512(_mm_loadu_si128(reinterpret_cast<const __m128i*>(r)));
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(r + lda)), 1);
        v = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(r + 2 * lda)), 2);
        half[h] = _mm512_inserti32x4(v, _mm_loadu_si128(reinterpret_cast<const __m128i*>(r + 3 * lda)), 3);
      }
      _mm512_store_si512(at + kk * 8, _mm512_permutex2var_epi32(half[0], lo_idx, half[1]));
      _mm512_store_si512(at + kk * 8 + 64, _mm512_permutex2var_epi32(half[0], hi_idx, half[1]));
    }
    for (; kk < k; kk += 4) {  // K % 16 = 8 (K is a multiple of 8)
      for (int r = 0; r < 8; ++r) __builtin_memcpy(at + kk * 8 + 4 * r, src + r * lda + kk, 4);
    }
    std::int32_t* st = s.starts + t * 8 * groups;
    for (int r = 0; r < 8; ++r) {
      const std::ptrdiff_t m = m_begin + 8 * t + r;
      for (std::ptrdiff_t gi = 0; gi < groups; ++gi) {
        st[gi * 8 + r] = zp ? -g.group_sums[m * lds + gi] : g.group_starts[m * lds + gi];
      }
    }
  }
  return s;
}

/// One block of k of P panels: groups [gb, gb + gn) of panels p .. p + P - 1.
struct q4_block {
  std::ptrdiff_t p, gb, gn;
  int panels;  // P: 2, or 1 for the last panel of an odd count; 0: no block
};

/// Decodes groups [j0, j1) of block b into its buffer (group j at dec + j G 16 P, as the whole block's decode).
QSPARSE_TARGET_AVX512_VNNI inline void q4_decode_slice(const gemm_q4_args& g, const q4_block& b, std::ptrdiff_t j0,
                                                       std::ptrdiff_t j1, unsigned char* dec) {
  if (j0 >= j1) return;
  unsigned char* d = dec + j0 * g.weights.group_size() * 16 * b.panels;
  if (b.panels == 2) {
    gemm_s8x4_decode_8x16c8<2>(g, b.p, b.gb + j0, j1 - j0, d);
  } else {
    gemm_s8x4_decode_8x16c8<1>(g, b.p, b.gb + j0, j1 - j0, d);
  }
}

/// The 8-row tiles of rows [m_begin, m_end) over block b (decoded in dec). After a panel pair's last block
/// each tile's epilogue runs at once (its sums are final): spread between the tiles' multiply-adds, the
/// output's cache misses overlap them (all 64 rows' stores at the end of the pair stalled the next zeroing
/// and decode: 3.5 % of a 64-row call, measured). (Decoding the next block a slice per tile into a second
/// buffer, to overlap the decode too, measured 2-3 % slower: L1 holds the block's activations, 32 KiB at 64
/// rows, and one decoded block, 16 KiB, not two.)
template <int P, class... S>
QSPARSE_TARGET_AVX512_VNNI inline void gemm_s8x4_decoded_block_8x16c8(const gemm_q4_args& g,
                                                                      const output_pipeline<S...>& pipeline,
                                                                      std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
                                                                      const q4_block& b, const unsigned char* dec,
                                                                      const q4_block& next, const q4_decoded_scratch& s) {
  const std::ptrdiff_t gsz = g.weights.group_size();
  const std::ptrdiff_t groups = g.weights.groups();
  const std::ptrdiff_t tiles = (m_end - m_begin) / 8;
  if (b.gb == 0) {
    // Zeroed with vector stores: GCC 12 turns a loop storing a known zero into a call to memset, whose
    // `rep stosb` for these 8 KiB measured slower.
    __m512 zero = _mm512_setzero_ps();
    __asm__("" : "+v"(zero));
    for (std::ptrdiff_t i = 0; i < tiles * 128 * P; i += 16) _mm512_store_ps(s.facc + i, zero);
  }
  const bool last = b.gb + b.gn >= groups;
  // The weights the next decode reads, prefetched to L2 a slice per tile: a 2048 x 2048 matrix (2.5 MiB) does
  // not stay in L2, and the decode waited on L3 (1-2 % of a 64-row call, measured).
  const std::ptrdiff_t group_bytes = g.weights.group_bytes();
  const std::ptrdiff_t next_lines = next.panels != 0 ? next.gn * group_bytes / 64 : 0;
  const std::ptrdiff_t per_tile = (next_lines + tiles - 1) / tiles;
  const auto next_at = reinterpret_cast<std::uintptr_t>(g.weights.panel(0)) +
                       static_cast<std::uintptr_t>(next.p * g.weights.panel_bytes() + next.gb * group_bytes);
  for (std::ptrdiff_t t = 0; t < tiles; ++t) {
    const std::ptrdiff_t line_end = (t + 1) * per_tile < next_lines ? (t + 1) * per_tile : next_lines;
    for (std::ptrdiff_t line = t * per_tile; line < line_end; ++line) {
      for (int i = 0; i < next.panels; ++i) {
        const auto at = next_at + static_cast<std::uintptr_t>(i * g.weights.panel_bytes() + 64 * line);
        _mm_prefetch(reinterpret_cast<const char*>(at), _MM_HINT_T1);
      }
    }
    const std::int8_t* a = s.a + t * 8 * g.k + b.gb * gsz * 8;
    const std::int32_t* st = s.starts + (t * groups + b.gb) * 8;
    float* facc = s.facc + t * 128 * P;
    // Whole groups unrolled for G = 32, 64, 128: a loop over steps makes GCC 12 copy the 16 accumulators
    // at every iteration.
    if (gsz == 32) {
      gemm_s8x4_decoded_8x16c8<P, 8>(g, b.p, b.gb, b.gn, dec, a, st, facc);
    } else if (gsz == 64) {
      gemm_s8x4_decoded_8x16c8<P, 16>(g, b.p, b.gb, b.gn, dec, a, st, facc);
    } else if (gsz == 128) {
      gemm_s8x4_decoded_8x16c8<P, 32>(g, b.p, b.gb, b.gn, dec, a, st, facc);
    } else {
      gemm_s8x4_decoded_8x16c8<P, 0>(g, b.p, b.gb, b.gn, dec, a, st, facc);
    }
    if (last) gemm_s8x4_store_8x16c8<8, P>(g, pipeline, m_begin + 8 * t, b.p, facc);
  }
}

/// Rows [m_begin, m_end) (a multiple of 8) × panels [panel_begin, panel_end): two panels at a time (the
/// last alone when their count is odd), each pair's weights decoded once per block of k, every 8-row tile
/// over each block, the float sums of all rows in L1 until the pair's epilogue.
template <class... S>
QSPARSE_TARGET_AVX512_VNNI inline void gemm_s8x4_decoded_rows_8x16c8(const gemm_q4_args& g,
                                                                     const output_pipeline<S...>& pipeline,
                                                                     std::ptrdiff_t m_begin, std::ptrdiff_t m_end,
                                                                     std::ptrdiff_t panel_begin,
                                                                     std::ptrdiff_t panel_end) {
  const std::ptrdiff_t gsz = g.weights.group_size();
  const std::ptrdiff_t groups = g.weights.groups();
  const std::ptrdiff_t per_block = gsz >= q4_decode_block_k ? 1 : q4_decode_block_k / gsz;
  const q4_decoded_scratch s = q4_decoded_scratch_for(g, m_begin, m_end, per_block * gsz);
  // The blocks in order: panel pairs (then the odd last panel), each over K in blocks of per_block groups.
  const auto block_after = [&](const q4_block& b) {
    if (b.gb + b.gn < groups) {
      const std::ptrdiff_t gb = b.gb + b.gn;
      return q4_block{b.p, gb, groups - gb < per_block ? groups - gb : per_block, b.panels};
    }
    const std::ptrdiff_t p = b.p + b.panels;
    if (p >= panel_end) return q4_block{p, 0, 0, 0};
    return q4_block{p, 0, groups < per_block ? groups : per_block, p + 2 <= panel_end ? 2 : 1};
  };
  for (q4_block b = block_after(q4_block{panel_begin, groups, 0, 0}); b.panels != 0;) {
    const q4_block next = block_after(b);
    q4_decode_slice(g, b, 0, b.gn, s.dec);
    if (b.panels == 2) {
      gemm_s8x4_decoded_block_8x16c8<2>(g, pipeline, m_begin, m_end, b, s.dec, next, s);
    } else {
      gemm_s8x4_decoded_block_8x16c8<1>(g, pipeline, m_begin, m_end, b, s.dec, next, s);
    }
    b = next;
  }
}

struct gemm_s8x4_f32_8x16c8 {
  static constexpr int mr = 8;
  static constexpr int nr = 16;
  static constexpr isa_level isa = isa_level::avx512_vnni;
  static const char* name() { return "gemm_s8x4_f32_8x16c8__avx512vnni"; }
  /// With 16 rows and more each task decodes its panels once and repacks its rows' activations: blocks of
  /// panels 16 times the usual ~256 KiB (gemm/panel_tasks.hpp) make fewer tasks, so fewer repacks (one
  /// task for a 2048 x 2048 matrix on one thread; 8 times left two, ~1 % slower at M = 64).
  static std::ptrdiff_t task_panel_bytes(const gemm_q4_args& g) {
    return g.m >= q4_decode_min_rows ? (g.weights.panel_bytes() + 15) / 16 : g.weights.panel_bytes();
  }

  template <class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run(const gemm_q4_args& g, const output_pipeline<S...>& pipeline,
                                             std::ptrdiff_t m_begin, std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                             std::ptrdiff_t panel_end) {
    if (m_end - m_begin >= q4_decode_min_rows) {
      const std::ptrdiff_t m_tiles = m_begin + (m_end - m_begin) / 8 * 8;
      gemm_s8x4_decoded_rows_8x16c8(g, pipeline, m_begin, m_tiles, panel_begin, panel_end);
      m_begin = m_tiles;
      if (m_begin == m_end) return;
    }
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
