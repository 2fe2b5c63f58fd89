// qsparse/kernels/avx512vnni/gemm_s8l4_s32_8x16c16.hpp — the clustered GEMM on AVX-512 VNNI: up to 8 rows ×
// one panel of 16 columns, weights in the layout of qsparse/spec/packed_clustered_weights.hpp.
//
// Per step (32 k) and chunk g: one 64-byte load, vpandd 0x0F (k 0..15 of the 4 columns) and vpsrlw 4 +
// vpandd (k 16..31) give the indices; vpshufb with table g (lane L: column 4 L + g's codebook + 128) gives
// the unsigned weights u = codebook + 128, the u8 operand of vpdpbusd; the row's 16 raw int8 activations,
// broadcast to every lane (vbroadcasti32x4), are the s8 operand. u in [0, 255] times a in [-128, 127] summed
// by 4 never saturates. Three shapes of the same arithmetic:
//   * one or two rows (few_rows, matrix-vector products): all 4 chunks per step, the high-nibble half in
//     accumulators of its own (8 vpdpbusd chains), the panel prefetched 4 KiB ahead — the weights stream
//     from memory and the hardware prefetcher alone leaves bandwidth unused;
//   * three to seven rows (many_rows): two passes over K, each over a pair of chunks, so one lookup serves
//     2 MR vpdpbusd and one broadcast of a row serves both chunks: per 32 vpdpbusd, 4 vpshufb, 4 vpandd,
//     2 vpsrlw and 16 broadcasts, all on the multiply-adds' ports (about 0.5x of the int8 GEMM's speed);
//   * eight rows and more per task (run_decoded): each pair of panels decoded once per block of up to 64
//     rows into the int8 GEMM's layout (decode_panel), then 8 x 32 tiles with one broadcast from memory
//     per row and 4 k serving two vpdpbusd — the int8 GEMM's loop (0.99x / 1.03x of it at M = 64,
//     docs/clustering.md); K a multiple of 32: the rows are read in place.
// The epilogue is the AVX-512 tile's (kernels/avx512/gemm_s8l4_s32_2x16c16.hpp: reduce the chunks, take off
// 128 Σ a and a_zp · colsum, the pipeline).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/gemm_s8l4_s32_2x16c16.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/kernels/drivers/clustered_rows.hpp"
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/gemm_clustered_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_clustered_weights.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
namespace avx512_vnni {

struct gemm_s8l4_s32_8x16c16 {
  static constexpr int mr = 8;
  /// How far ahead of the current step the tiles prefetch the panel, in bytes.
  /// (4 KiB: 16 steps; 2 KiB and 8 KiB measured no better from memory, an extra L2 prefetch 16 KiB ahead
  /// worse.)
  static constexpr std::ptrdiff_t prefetch_distance = 4096;
  static constexpr int nr = 16;
  static constexpr isa_level isa = isa_level::avx512_vnni;
  static const char* name() { return "gemm_s8l4_s32_8x16c16__avx512vnni"; }
  using row_type = std::int8_t;

  /// One or two rows: all 4 chunks per step, the high-nibble half in accumulators of its own, so 8
  /// vpdpbusd chains hide the latency (matrix-vector products).
  template <int MR, class Out, class... S>
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void few_rows(
      const gemm_clustered_args<Out>& g, const output_pipeline<S...>& pipeline, const std::int8_t* rows,
      std::ptrdiff_t ld, std::ptrdiff_t kp, const std::int32_t* row_sums, std::ptrdiff_t m0, std::ptrdiff_t p) {
    const unsigned char* panel = g.weights.panel(p);
    const __m512i low = _mm512_set1_epi8(0x0F);
    __m512i table[4];
    __m512i acc[static_cast<std::size_t>(MR)][4];
    __m512i acc2[static_cast<std::size_t>(MR)][4];
#pragma GCC unroll 4
    for (int c = 0; c < 4; ++c) {
      table[c] = _mm512_load_si512(panel + 64 * c);
#pragma GCC unroll 2
      for (int r = 0; r < MR; ++r) acc[r][c] = acc2[r][c] = _mm512_setzero_si512();
    }
    const unsigned char* w = panel + 256;
    for (std::ptrdiff_t k = 0; k < kp; k += 32, w += 256) {
#pragma GCC unroll 4
      for (int line = 0; line < 256; line += 64) {
        _mm_prefetch(reinterpret_cast<const char*>(w + prefetch_distance + line), _MM_HINT_T0);
      }
      __m512i lo_a[static_cast<std::size_t>(MR)], hi_a[static_cast<std::size_t>(MR)];
#pragma GCC unroll 2
      for (int r = 0; r < MR; ++r) {
        lo_a[r] = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rows + r * ld + k)));
        hi_a[r] = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(rows + r * ld + k + 16)));
      }
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) {
        const __m512i v = _mm512_load_si512(w + 64 * c);
        const __m512i lo = _mm512_shuffle_epi8(table[c], _mm512_and_si512(v, low));
        const __m512i hi = _mm512_shuffle_epi8(table[c], _mm512_and_si512(_mm512_srli_epi16(v, 4), low));
#pragma GCC unroll 2
        for (int r = 0; r < MR; ++r) {
          acc[r][c] = _mm512_dpbusd_epi32(acc[r][c], lo, lo_a[r]);
          acc2[r][c] = _mm512_dpbusd_epi32(acc2[r][c], hi, hi_a[r]);
        }
      }
    }
    __m512i sums[static_cast<std::size_t>(MR)];
#pragma GCC unroll 2
    for (int r = 0; r < MR; ++r) {
#pragma GCC unroll 4
      for (int c = 0; c < 4; ++c) acc[r][c] = _mm512_add_epi32(acc[r][c], acc2[r][c]);
      sums[r] = avx512::reduce_clustered_chunks(acc[r][0], acc[r][1], acc[r][2], acc[r][3]);
    }
    avx512::store_clustered_tile<MR>(g, pipeline, sums, row_sums, m0, p);
  }

  /// Three to eight rows: two passes over K, each for a pair of chunks (8 columns), so a lookup serves
  /// 2 MR vpdpbusd and each row's broadcast activations serve both chunks of the pair.
  template <int MR, class Out, class... S>
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void many_rows(
      const gemm_clustered_args<Out>& g, const output_pipeline<S...>& pipeline, const std::int8_t* rows,
      std::ptrdiff_t ld, std::ptrdiff_t kp, const std::int32_t* row_sums, std::ptrdiff_t m0, std::ptrdiff_t p) {
    const unsigned char* panel = g.weights.panel(p);
    const __m512i low = _mm512_set1_epi8(0x0F);
    // The passes' sums go through memory: with both passes' accumulators live GCC 12 spilled and moved
    // accumulators in every k iteration.
    alignas(64) std::int32_t part[static_cast<std::size_t>(MR)][4][16];
#pragma GCC unroll 1
    for (int c0 = 0; c0 < 4; c0 += 2) {
      const __m512i table0 = _mm512_load_si512(panel + 64 * c0);
      const __m512i table1 = _mm512_load_si512(panel + 64 * c0 + 64);
      __m512i acc0[static_cast<std::size_t>(MR)], acc1[static_cast<std::size_t>(MR)];
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) acc0[r] = acc1[r] = _mm512_setzero_si512();
      const unsigned char* w = panel + 256 + 64 * c0;
      for (std::ptrdiff_t k = 0; k < kp; k += 32, w += 256) {
        _mm_prefetch(reinterpret_cast<const char*>(w + prefetch_distance), _MM_HINT_T0);
        _mm_prefetch(reinterpret_cast<const char*>(w + prefetch_distance + 64), _MM_HINT_T0);
        const __m512i v0 = _mm512_load_si512(w);
        const __m512i v1 = _mm512_load_si512(w + 64);
        const __m512i lo0 = _mm512_shuffle_epi8(table0, _mm512_and_si512(v0, low));
        const __m512i hi0 = _mm512_shuffle_epi8(table0, _mm512_and_si512(_mm512_srli_epi16(v0, 4), low));
        const __m512i lo1 = _mm512_shuffle_epi8(table1, _mm512_and_si512(v1, low));
        const __m512i hi1 = _mm512_shuffle_epi8(table1, _mm512_and_si512(_mm512_srli_epi16(v1, 4), low));
#pragma GCC unroll 8
        for (int r = 0; r < MR; ++r) {
          const std::int8_t* a = rows + r * ld + k;
          const __m512i lo_a = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a)));
          const __m512i hi_a = _mm512_broadcast_i32x4(_mm_loadu_si128(reinterpret_cast<const __m128i*>(a + 16)));
          acc0[r] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(acc0[r], lo0, lo_a), hi0, hi_a);
          acc1[r] = _mm512_dpbusd_epi32(_mm512_dpbusd_epi32(acc1[r], lo1, lo_a), hi1, hi_a);
        }
      }
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        _mm512_store_si512(part[r][c0], acc0[r]);
        _mm512_store_si512(part[r][c0 + 1], acc1[r]);
      }
      asm volatile("" ::: "memory");
    }
    __m512i sums[static_cast<std::size_t>(MR)];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) {
      sums[r] = avx512::reduce_clustered_chunks(_mm512_load_si512(part[r][0]), _mm512_load_si512(part[r][1]),
                                                _mm512_load_si512(part[r][2]), _mm512_load_si512(part[r][3]));
    }
    avx512::store_clustered_tile<MR>(g, pipeline, sums, row_sums, m0, p);
  }

  template <int MR, class Out, class... S>
  QSPARSE_TARGET_AVX512_VNNI static void tile(const gemm_clustered_args<Out>& g, const output_pipeline<S...>& pipeline,
                                              const std::int8_t* rows, std::ptrdiff_t ld, std::ptrdiff_t kp, const std::int32_t* row_sums,
                                              std::ptrdiff_t m0, std::ptrdiff_t p) {
    if constexpr (MR <= 2) {
      few_rows<MR>(g, pipeline, rows, ld, kp, row_sums, m0, p);
    } else {
      many_rows<MR>(g, pipeline, rows, ld, kp, row_sums, m0, p);
    }
  }

  /// Chunks c0..c3 of 16 k (chunk g, lane L, dword j: column 4 L + g, k 4 j..4 j + 3) stored as 4 groups
  /// of 4 k (group j, lane L, dword g).
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void transpose_store(
      __m512i c0, __m512i c1, __m512i c2, __m512i c3, unsigned char* dst, std::ptrdiff_t stride) {
    const __m512i a = _mm512_unpacklo_epi32(c0, c1), b = _mm512_unpackhi_epi32(c0, c1);
    const __m512i c = _mm512_unpacklo_epi32(c2, c3), d = _mm512_unpackhi_epi32(c2, c3);
    _mm512_store_si512(dst, _mm512_unpacklo_epi64(a, c));
    _mm512_store_si512(dst + stride, _mm512_unpackhi_epi64(a, c));
    _mm512_store_si512(dst + 2 * stride, _mm512_unpacklo_epi64(b, d));
    _mm512_store_si512(dst + 3 * stride, _mm512_unpackhi_epi64(b, d));
  }

  /// Decodes panel p into `out`: for every group of 4 k, 64 bytes = 16 columns × 4 consecutive k of
  /// u = codebook + 128 (the dense int8 GEMM's layout), so a row's 4 activations broadcast from memory
  /// ({1to16}) meet all 16 columns in one vpdpbusd. Per step (32 k): the 8 lookups of few_rows, then a
  /// 4 × 4 dword transpose inside each 128-bit lane (chunk g, lane L, dword j → group j, lane L, dword g:
  /// column 4 L + g).
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void decode_panel(
      const unsigned char* panel, std::ptrdiff_t kp, unsigned char* out, std::ptrdiff_t stride = 64) {
    const __m512i low = _mm512_set1_epi8(0x0F);
    const __m512i t0 = _mm512_load_si512(panel), t1 = _mm512_load_si512(panel + 64);
    const __m512i t2 = _mm512_load_si512(panel + 128), t3 = _mm512_load_si512(panel + 192);
    const unsigned char* w = panel + 256;
    for (std::ptrdiff_t k = 0; k < kp; k += 32, w += 256, out += 8 * stride) {
      const __m512i v0 = _mm512_load_si512(w), v1 = _mm512_load_si512(w + 64);
      const __m512i v2 = _mm512_load_si512(w + 128), v3 = _mm512_load_si512(w + 192);
      transpose_store(_mm512_shuffle_epi8(t0, _mm512_and_si512(v0, low)), _mm512_shuffle_epi8(t1, _mm512_and_si512(v1, low)),
                      _mm512_shuffle_epi8(t2, _mm512_and_si512(v2, low)), _mm512_shuffle_epi8(t3, _mm512_and_si512(v3, low)),
                      out, stride);
      transpose_store(_mm512_shuffle_epi8(t0, _mm512_and_si512(_mm512_srli_epi16(v0, 4), low)),
                      _mm512_shuffle_epi8(t1, _mm512_and_si512(_mm512_srli_epi16(v1, 4), low)),
                      _mm512_shuffle_epi8(t2, _mm512_and_si512(_mm512_srli_epi16(v2, 4), low)),
                      _mm512_shuffle_epi8(t3, _mm512_and_si512(_mm512_srli_epi16(v3, 4), low)), out + 4 * stride, stride);
    }
  }

  /// MR rows × one decoded panel: per 4 k one 64-byte load and MR vpdpbusd with the rows' 4 activations
  /// broadcast from memory (MR accumulators: with a second set for odd groups GCC 12 moved every
  /// accumulator between registers in each iteration).
  template <int MR, class Out, class... S>
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void decoded_tile(
      const gemm_clustered_args<Out>& g, const output_pipeline<S...>& pipeline, const unsigned char* dec,
      const std::int8_t* rows, std::ptrdiff_t ld, std::ptrdiff_t kp, const std::int32_t* row_sums, std::ptrdiff_t m0,
      std::ptrdiff_t p) {
    __m512i sums[static_cast<std::size_t>(MR)];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) sums[r] = _mm512_setzero_si512();
    for (std::ptrdiff_t k = 0; k < kp; k += 8, dec += 128) {
      const __m512i w0 = _mm512_load_si512(dec), w1 = _mm512_load_si512(dec + 64);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        // The rows' 4 activations as an embedded broadcast ({1to16}: the load unit's, no shuffle), the sum
        // updated in place: with the intrinsics GCC 12 copied every accumulator between registers in
        // each iteration. Each template is written {AT&T|Intel}, so hosts built with -masm=intel assemble it.
        const std::int8_t* a = rows + r * ld + k;
        asm("{vpdpbusd %2%{1to16%}, %1, %0|vpdpbusd %0, %1, %2%{1to16%}}"
            : "+v"(sums[r])
            : "v"(w0), "m"(*reinterpret_cast<const std::int8_t(*)[4]>(a)));
        asm("{vpdpbusd %2%{1to16%}, %1, %0|vpdpbusd %0, %1, %2%{1to16%}}"
            : "+v"(sums[r])
            : "v"(w1), "m"(*reinterpret_cast<const std::int8_t(*)[4]>(a + 4)));
      }
    }
    avx512::store_clustered_tile<MR>(g, pipeline, sums, row_sums, m0, p);
  }

  /// MR rows × two decoded panels (p, p + 1, interleaved: per 4 k 64 bytes of each), the int8 GEMM's 8 × 32 shape: per
  /// 4 k two 64-byte loads, MR broadcasts from memory each serving two vpdpbusd (10 loads per 16
  /// multiply-adds, where one panel at a time needs 18).
  template <int MR, class Out, class... S>
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void decoded_tile2(
      const gemm_clustered_args<Out>& g, const output_pipeline<S...>& pipeline, const unsigned char* dec,
      const std::int8_t* rows, std::ptrdiff_t ld, std::ptrdiff_t kp,
      const std::int32_t* row_sums, std::ptrdiff_t m0, std::ptrdiff_t p) {
    __m512i s0[static_cast<std::size_t>(MR)], s1[static_cast<std::size_t>(MR)];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r) s0[r] = s1[r] = _mm512_setzero_si512();
    for (std::ptrdiff_t k = 0; k < kp; k += 4, dec += 128) {
      const __m512i w0 = _mm512_load_si512(dec), w1 = _mm512_load_si512(dec + 64);
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        __m512i a;  // as in decoded_tile: {AT&T|Intel} templates
        asm("{vpbroadcastd %1, %0|vpbroadcastd %0, %1}"
            : "=v"(a)
            : "m"(*reinterpret_cast<const std::int8_t(*)[4]>(rows + r * ld + k)));
        asm("{vpdpbusd %2, %1, %0|vpdpbusd %0, %1, %2}" : "+v"(s0[r]) : "v"(w0), "v"(a));
        asm("{vpdpbusd %2, %1, %0|vpdpbusd %0, %1, %2}" : "+v"(s1[r]) : "v"(w1), "v"(a));
      }
    }
    avx512::store_clustered_tile<MR>(g, pipeline, s0, row_sums, m0, p);
    avx512::store_clustered_tile<MR>(g, pipeline, s1, row_sums, m0, p + 1);
  }

  template <int R = mr, class... Args>
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void decoded_rows2(int rows, Args... args) {
    if constexpr (R > 1) {
      if (rows < R) return decoded_rows2<R - 1>(rows, args...);
    }
    decoded_tile2<R>(args...);
  }

  template <int R = mr, class... Args>
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void decoded_rows(int rows, Args... args) {
    if constexpr (R > 1) {
      if (rows < R) return decoded_rows<R - 1>(rows, args...);
    }
    decoded_tile<R>(args...);
  }

  /// Rows a task needs before it decodes panels (measured: below, the lookups per tile cost less than a
  /// panel's decoding and its store and reload).
  static constexpr std::ptrdiff_t decode_rows = 8;
  /// Rows copied per block; each panel is decoded once per block.
  static constexpr std::ptrdiff_t block_rows = 64;

  /// Many rows (M >= decode_rows): blocks of up to block_rows rows copied as the driver copies them, each
  /// panel decoded once per block (decode_panel), then every tile of MR rows runs on the decoded bytes —
  /// the int8 GEMM's inner loop (vpdpbusd with broadcast activations), with no lookup, shift or broadcast
  /// shuffle per multiply-add. The decoded sums are the same raw sums Σ u a as the other shapes', so the
  /// epilogue is shared.
  template <class Out, class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run_decoded(const gemm_clustered_args<Out>& g, const output_pipeline<S...>& pipeline,
                                                     std::ptrdiff_t m_begin, std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                                     std::ptrdiff_t panel_end) {
    const std::ptrdiff_t kp = g.weights.k_padded();
    const std::ptrdiff_t ld = kp + 64;
    std::int8_t* rows = thread_scratch<std::int8_t>(static_cast<std::size_t>(block_rows * ld));
    unsigned char* raw = thread_scratch<unsigned char>(static_cast<std::size_t>(kp * 32 + 64));
    unsigned char* dec = raw + ((64 - reinterpret_cast<std::uintptr_t>(raw) % 64) % 64);
    std::int32_t row_sums[block_rows] = {};
    const __m512i ones = _mm512_set1_epi8(1);
    for (std::ptrdiff_t mb = m_begin; mb < m_end; mb += block_rows) {
      const std::ptrdiff_t count = m_end - mb < block_rows ? m_end - mb : block_rows;
      // K a multiple of the step: the tiles read the caller's rows in place (a task covers only a block of
      // panels, so a copy would be redone for every block); else copies zero padded to the step.
      const bool in_place = g.k == kp;
      const std::int8_t* base = in_place ? g.a + mb * g.lda : rows;
      const std::ptrdiff_t stride = in_place ? g.lda : ld;
      for (std::ptrdiff_t r = 0; r < count; ++r) {
        const std::int8_t* src = g.a + (mb + r) * g.lda;
        if (!in_place) {
          std::int8_t* out = rows + r * ld;
          for (std::ptrdiff_t k = 0; k < g.k; ++k) out[k] = src[k];
          for (std::ptrdiff_t k = g.k; k < kp; ++k) out[k] = 0;
        }
        // Σ a: vpdpbusd of ones (u8) and the row (s8) over whole 64-byte blocks, then the tail.
        __m512i acc = _mm512_setzero_si512();
        std::ptrdiff_t k = 0;
        for (; k + 64 <= g.k; k += 64) acc = _mm512_dpbusd_epi32(acc, ones, _mm512_loadu_si512(src + k));
        std::int32_t sum = _mm512_reduce_add_epi32(acc);
        for (; k < g.k; ++k) sum += src[k];
        row_sums[r] = sum;  // |sum| <= 128 K < 2^31 for every K the entry accepts
      }
      std::ptrdiff_t p = panel_begin;
      for (; p + 1 < panel_end; p += 2) {  // two panels at a time: 32 columns
        decode_panel(g.weights.panel(p), kp, dec, 128);
        decode_panel(g.weights.panel(p + 1), kp, dec + 64, 128);
        for (std::ptrdiff_t r0 = 0; r0 < count; r0 += mr) {
          decoded_rows2(static_cast<int>(count - r0 < mr ? count - r0 : mr), g, pipeline,
                        static_cast<const unsigned char*>(dec),
                        base + r0 * stride, stride, kp,
                        static_cast<const std::int32_t*>(row_sums + r0), mb + r0, p);
        }
      }
      for (; p < panel_end; ++p) {
        decode_panel(g.weights.panel(p), kp, dec);
        for (std::ptrdiff_t r0 = 0; r0 < count; r0 += mr) {
          decoded_rows(static_cast<int>(count - r0 < mr ? count - r0 : mr), g, pipeline,
                       static_cast<const unsigned char*>(dec), base + r0 * stride, stride, kp,
                       static_cast<const std::int32_t*>(row_sums + r0), mb + r0, p);
        }
      }
    }
  }

  template <class Out, class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run(const gemm_clustered_args<Out>& g, const output_pipeline<S...>& pipeline,
                                             std::ptrdiff_t m_begin, std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                             std::ptrdiff_t panel_end) {
    if (m_end - m_begin >= decode_rows) {
      run_decoded(g, pipeline, m_begin, m_end, panel_begin, panel_end);
    } else {
      drivers::run_clustered_rows<gemm_s8l4_s32_8x16c16>(g, pipeline, m_begin, m_end, panel_begin, panel_end);
    }
  }
};

}  // namespace avx512_vnni
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
