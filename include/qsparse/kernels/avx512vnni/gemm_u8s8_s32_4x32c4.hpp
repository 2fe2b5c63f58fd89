// qsparse/kernels/avx512vnni/gemm_u8s8_s32_4x32c4.hpp — the shallow-K GEMM tile on AVX-512 VNNI, 4 rows
// (output pixels) × 32 columns (output channels) per tile, for K <= 36 (a 3-channel stem: 3*3*3 = 27) and weights
// packed s8_c4_nr32 (the GEMM's VNNI layout, qsparse/spec/packed_weights.hpp). Two ways to read pixels:
//   * rows (`run_rows`): pixel r's K bytes at rows + r*row_step (im2col rows, or the activations of a VNNI
//     GEMM with symmetric weights and K <= 32), int8 made unsigned (a + 128) as each 4-byte group is
//     broadcast, or uint8, read up to kp bytes (the padded weights are 0);
//   * in place (`run_direct`): the unsigned input rows of a zero-point padded band (conv2d.hpp); pixel
//     r's kernel row ky starts at rows + r*row_step + ky*tap_pitch and is read as GX 4-byte groups, the
//     weights packed with K' = kh*4*GX (packed_conv2d_weights::direct(): zeros after each row's taps, so
//     the bytes of the next pixel that a group reads count for nothing). No im2col copy at all.
//
// For such K the GEMM spends its time around the inner loop (tile copies, a round trip of the tile
// through memory), not in it. Here a panel's whole K (at most 9 groups × 2 vectors) stays in registers
// while the pixels stream by; the zero-point compensation (and, on the fast epilogue, the bias) is the
// accumulators' initial value; the output pipeline is prepared once per panel. Weights must be
// symmetric (w_zp = 0): with u the unsigned bytes and u_zp their zero point,
//   Σ_k (u - u_zp) w = Σ_k u w - u_zp colsum[n].
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <tuple>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {

/// One call of the shallow-K convolution kernel: `lines` lines of m pixels each. Pixel r of line l reads
/// its kernel row ky at rows + l*line_step + r*row_step + ky*tap_pitch (im2col rows: row_step = kp, one
/// kernel row). Output pixel (l, r) is pipeline row m0 + l*m + r, stored at dst + (l*m + r)*ldd.
template <class Out>
struct shallow_gemm_args {
  const void* rows;
  std::ptrdiff_t row_step;   // bytes between the rows of consecutive pixels
  std::ptrdiff_t tap_pitch;  // bytes between consecutive kernel rows of one pixel (direct reading)
  std::ptrdiff_t m;          // pixels per line
  std::ptrdiff_t lines;
  std::ptrdiff_t line_step;     // bytes between the first pixels of consecutive lines
  std::int32_t u_zero_point;    // zero point of the bytes as multiplied: unsigned, after any flip
  packed_weights_view weights;  // s8_c4_nr32, w_zp = 0
  std::ptrdiff_t n;
  std::ptrdiff_t m0;  // the pipeline's row index of pixel 0
  Out* dst;
  std::ptrdiff_t ldd;
};

/// A max-pool window over the pixels of shallow_gemm_args (run_direct_max_pool): output pixel r of line l
/// is the maximum over h × w pixels, the first at rows + l*line_step + r*row_step, the others x_step and
/// y_step bytes apart, of their accumulators (the pipeline then runs once per window).
struct shallow_pool_window {
  int h, w;
  std::ptrdiff_t x_step, y_step;
};

namespace avx512_vnni {

struct gemm_u8s8_s32_4x32c4 {
  static constexpr int mr = 4;
  static constexpr int nr = 32;
  static constexpr int max_k = 32;  // im2col rows
  static constexpr int max_direct_rows = 3;        // kernel rows read in place
  static constexpr int max_direct_row_groups = 3;  // 4-byte groups per kernel row read in place
  static constexpr int kr = 4;
  static constexpr isa_level isa = isa_level::avx512_vnni;
  static constexpr packed_layout layout = packed_layout::s8_c4_nr32;
  static const char* name() { return "gemm_u8s8_s32_4x32c4__avx512vnni"; }
  static const char* direct_name() { return "conv_direct_u8s8_s32_4x32c4__avx512vnni"; }

  /// The GEMM registry hands this kernel symmetric weights whose K fits in registers (K <= 32).
  static bool accepts(const packed_weights_view& w) noexcept {
    return w.weight_zero_point() == 0 && w.k_padded() <= max_k;
  }

  /// The first pipeline stage the epilogue applies (avx512::first_stage_after_bias_fold).
  template <bool Fast, class Prepared>
  static constexpr std::size_t first_stage() {
    return avx512::first_stage_after_bias_fold<Fast, Prepared>();
  }

  /// How a panel's tiles finish: the generic evaluator, the fast one, or, for 32 whole columns of an
  /// avx512::has_packs_epilogue() pipeline where avx512::packs_clamp_exact holds, round_scale and packs
  /// that clamp (packs_constants in registers), or of an avx512::has_fixed_point_packs_epilogue() pipeline
  /// (any of TFLite's roundings) where avx512::prepare_fixed_point_packs succeeds with all of Out's range,
  /// TFLite's fixed point in 64-bit lanes and packs that clamp (avx512::fixed_point_packs of columns 0-15
  /// and 16-31).
  enum class epilogue { generic, fast, packs_clamp, fixed_point_packs };

  struct alignas(64) packs_constants {
    __m512 scale0, scale1;  // the per-channel scales of columns 0-15 and 16-31
    __m512i offset16;       // the output zero point in int16 lanes
  };

  template <bool Fast, class Prepared, class Out>
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void store(const Prepared& p, __m512i acc,
                                                                                     __mmask16 mask, Out* dst) {
    avx512::store_lanes(avx512::apply_all<first_stage<Fast, Prepared>(), Fast>(p, acc), mask, dst);
  }

  /// The tile's rows (32 whole columns each, the fast evaluator) stored as 8-bit values, two rows at a
  /// time through packs (avx512::store_rows_as_bytes).
  template <int MR, class Prepared, class Out>
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void store_rows_packed(
      const Prepared& p0, const Prepared& p1, const __m512i (&acc)[std::size_t{MR}][2], Out* dst, std::ptrdiff_t ldd) {
    constexpr std::size_t s = first_stage<true, Prepared>();
#pragma GCC unroll 4
    for (int r = 0; r < MR; r += 2) {
      const int r1 = r + 1 < MR ? r + 1 : r;
      avx512::store_rows_as_bytes(avx512::apply_all<s, true>(p0, acc[r][0]), avx512::apply_all<s, true>(p1, acc[r][1]),
                                  avx512::apply_all<s, true>(p0, acc[r1][0]), avx512::apply_all<s, true>(p1, acc[r1][1]),
                                  dst + r * ldd, r1 != r ? dst + r1 * ldd : nullptr);
    }
  }

  /// acc[r] = init + the sums of MR pixels (at a + r*row_step) × one panel. Group g = gy*GX + gx of pixel r
  /// is the 4 bytes at a + r*row_step + gy*tap_pitch + 4*gx; Flip makes int8 bytes unsigned as they are
  /// broadcast.
  template <int GY, int GX, bool Flip, int MR>
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void accumulate(
      const std::uint8_t* a, std::ptrdiff_t row_step, std::ptrdiff_t tap_pitch, const __m512i (&w)[std::size_t{GY * GX}][2],
      __m512i init0, __m512i init1, __m512i (&acc)[std::size_t{MR}][2]) {
    const __m512i flip = _mm512_set1_epi32(static_cast<std::int32_t>(0x80808080u));
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      acc[r][0] = init0;
      acc[r][1] = init1;
    }
#pragma GCC unroll 3
    for (int gy = 0; gy < GY; ++gy) {
#pragma GCC unroll 8
      for (int gx = 0; gx < GX; ++gx) {
        const int g = gy * GX + gx;
#pragma GCC unroll 4
        for (int r = 0; r < MR; ++r) {
          std::int32_t word;
          std::memcpy(&word, a + r * row_step + gy * tap_pitch + 4 * gx, 4);
          __m512i av = _mm512_set1_epi32(word);  // broadcast from memory
          if constexpr (Flip) av = _mm512_xor_si512(av, flip);
          acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, w[g][0]);
          acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, w[g][1]);
        }
      }
    }
  }

  /// MR pixels (at a + r*row_step) × one panel, through the epilogue E. With Pool, pixel r is the window
  /// `pool` from a + r*row_step and its accumulators the maximum over the window's pixels (max pooling
  /// before the pipeline: run_direct_max_pool).
  template <int GY, int GX, bool Flip, int MR, epilogue E, bool Pool, class Prepared, class Out>
  QSPARSE_TARGET_AVX512_VNNI static inline __attribute__((always_inline)) void tile(
      const std::uint8_t* a, std::ptrdiff_t row_step, std::ptrdiff_t tap_pitch, const __m512i (&w)[std::size_t{GY * GX}][2],
      __m512i init0, __m512i init1, const Prepared& p0, const Prepared& p1, const packs_constants& k,
      const avx512::fixed_point_packs* f, __mmask16 mask0, __mmask16 mask1, bool second, Out* dst, std::ptrdiff_t ldd,
      const shallow_pool_window& pool) {
    constexpr bool Fast = E != epilogue::generic;
    __m512i acc[std::size_t{MR}][2];
    accumulate<GY, GX, Flip, MR>(a, row_step, tap_pitch, w, init0, init1, acc);
    if constexpr (Pool) {
      for (int fy = 0; fy < pool.h; ++fy) {
        for (int fx = fy == 0 ? 1 : 0; fx < pool.w; ++fx) {
          __m512i more[std::size_t{MR}][2];
          accumulate<GY, GX, Flip, MR>(a + fy * pool.y_step + fx * pool.x_step, row_step, tap_pitch, w, init0, init1, more);
#pragma GCC unroll 4
          for (int r = 0; r < MR; ++r) {
            acc[r][0] = _mm512_max_epi32(acc[r][0], more[r][0]);
            acc[r][1] = _mm512_max_epi32(acc[r][1], more[r][1]);
          }
        }
      }
    } else {
      (void)pool;
    }
    if constexpr (E == epilogue::fixed_point_packs) {
      using R = avx512::fixed_point_rounding_t<Prepared, first_stage<true, Prepared>()>;
#pragma GCC unroll 4
      for (int r = 0; r < MR; r += 2) {
        const int r1 = r + 1 < MR ? r + 1 : r;
        avx512::store_rows_as_bytes(avx512::fixed_point_offset<R>(acc[r][0], f[0]),
                                    avx512::fixed_point_offset<R>(acc[r][1], f[1]),
                                    avx512::fixed_point_offset<R>(acc[r1][0], f[0]),
                                    avx512::fixed_point_offset<R>(acc[r1][1], f[1]), dst + r * ldd,
                                    r1 != r ? dst + r1 * ldd : nullptr);
      }
      return;
    }
    if constexpr (E == epilogue::packs_clamp) {
#pragma GCC unroll 4
      for (int r = 0; r < MR; r += 2) {
        const int r1 = r + 1 < MR ? r + 1 : r;
        avx512::store_rows_as_bytes_clamped(
            avx512::round_scale(acc[r][0], k.scale0), avx512::round_scale(acc[r][1], k.scale1),
            avx512::round_scale(acc[r1][0], k.scale0), avx512::round_scale(acc[r1][1], k.scale1), k.offset16,
            dst + r * ldd, r1 != r ? dst + r1 * ldd : nullptr);
      }
      return;
    }
    if constexpr (Fast && sizeof(Out) == 1) {
      if (mask0 == 0xFFFF && mask1 == 0xFFFF) {  // 32 whole columns: store bytes through packs
        store_rows_packed<MR>(p0, p1, acc, dst, ldd);
        return;
      }
    }
#pragma GCC unroll 4
    for (int r = 0; r < MR; ++r) {
      store<Fast>(p0, acc[r][0], mask0, dst + r * ldd);
      if (second) store<Fast>(p1, acc[r][1], mask1, dst + r * ldd + 16);
    }
  }

  /// Panels [p_begin, p_end) (p_end < 0: to the last).
  template <int GY, int GX, bool Flip, bool Pool = false, class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run_groups(const shallow_gemm_args<typename output_pipeline<S...>::output_type>& g,
                                                    const output_pipeline<S...>& pipeline, std::ptrdiff_t p_begin = 0,
                                                    std::ptrdiff_t p_end = -1, const shallow_pool_window& pool = {1, 1, 0, 0}) {
    using out_type = typename output_pipeline<S...>::output_type;
    constexpr int G = GY * GX;
    const std::ptrdiff_t panels = p_end < 0 ? g.weights.n_padded() / nr : p_end;
    const std::int32_t* column_sums = g.weights.column_sums();
    const __m512i factor = _mm512_set1_epi32(-g.u_zero_point);
    // |Σ_k (u - u_zp) w| for unsigned bytes u and symmetric int8 w (the padded weights are 0).
    const std::int64_t bound = static_cast<std::int64_t>(g.weights.k_padded()) *
                               std::max<std::int64_t>(255 - g.u_zero_point, g.u_zero_point) * 128;
    for (std::ptrdiff_t p = p_begin; p < panels; ++p) {
      const auto* wp = static_cast<const std::int8_t*>(g.weights.panel(p));
      __m512i w[std::size_t{G}][2];
#pragma GCC unroll 9
      for (int k = 0; k < G; ++k) {
        w[k][0] = _mm512_load_si512(wp + 128 * k);
        w[k][1] = _mm512_load_si512(wp + 128 * k + 64);
      }
      const std::ptrdiff_t n0 = p * nr;
      const std::ptrdiff_t columns = g.n - n0 < nr ? g.n - n0 : nr;
      const auto mask0 = static_cast<__mmask16>(columns >= 16 ? 0xFFFF : (1u << columns) - 1u);
      const bool second = columns > 16;
      const auto mask1 = static_cast<__mmask16>(!second ? 0 : (columns >= 32 ? 0xFFFF : (1u << (columns - 16)) - 1u));
      __m512i init0 = _mm512_mullo_epi32(_mm512_load_si512(column_sums + n0), factor);  // padded: in bounds
      __m512i init1 = _mm512_mullo_epi32(_mm512_load_si512(column_sums + n0 + 16), factor);
      const auto p0 = avx512::prepare(pipeline, n0, mask0, bound);
      const auto p1 = avx512::prepare(pipeline, n0 + 16, mask1, bound);
      using prepared_t = std::decay_t<decltype(p0)>;
      const bool fast = avx512::fast_path_exact(p0) && (!second || avx512::fast_path_exact(p1));
      if constexpr (avx512::has_fast_path<prepared_t>::value) {
        if (fast) {
          constexpr std::size_t s = first_stage<true, prepared_t>();
          std::int64_t bias_magnitude = 0;
          if constexpr (s == 1) {
            init0 = _mm512_add_epi32(init0, std::get<0>(p0).value);
            init1 = _mm512_add_epi32(init1, std::get<0>(p1).value);
            bias_magnitude = std::max(avx512::max_magnitude(std::get<0>(p0).value),
                                      avx512::max_magnitude(std::get<0>(p1).value));
          }
          if constexpr (avx512::has_packs_epilogue<prepared_t, out_type>()) {
            const auto& t0 = std::get<s>(p0);
            const auto& t1 = std::get<s>(p1);
            const float max_scale = _mm512_reduce_max_ps(_mm512_max_ps(t0.scale.scale, t1.scale.scale));
            if (mask0 == 0xFFFF && mask1 == 0xFFFF &&
                avx512::packs_clamp_exact<out_type>(t0, max_scale, bound + bias_magnitude)) {
              const packs_constants k{t0.scale.scale, t1.scale.scale,
                                      _mm512_set1_epi16(static_cast<short>(_mm512_cvtsi512_si32(t0.tail.value)))};
              run_panel<GY, GX, Flip, epilogue::packs_clamp, Pool>(g, w, init0, init1, p0, p1, k, nullptr, mask0, mask1,
                                                                   second, n0, pool);
              continue;
            }
          }
          if constexpr (avx512::has_fixed_point_packs_epilogue<prepared_t, out_type>()) {
            avx512::fixed_point_packs f[2];
            if (mask0 == 0xFFFF && mask1 == 0xFFFF &&
                avx512::prepare_fixed_point_packs<out_type>(std::get<s>(p0), std::get<s + 1>(p0), bound + bias_magnitude,
                                                            f[0]) &&
                avx512::prepare_fixed_point_packs<out_type>(std::get<s>(p1), std::get<s + 1>(p1), bound + bias_magnitude,
                                                            f[1]) &&
                f[0].full_range && f[1].full_range) {
              run_panel<GY, GX, Flip, epilogue::fixed_point_packs, Pool>(g, w, init0, init1, p0, p1, packs_constants(), f,
                                                                         mask0, mask1, second, n0, pool);
              continue;
            }
          }
          run_panel<GY, GX, Flip, epilogue::fast, Pool>(g, w, init0, init1, p0, p1, packs_constants(), nullptr, mask0,
                                                        mask1, second, n0, pool);
          continue;
        }
      }
      run_panel<GY, GX, Flip, epilogue::generic, Pool>(g, w, init0, init1, p0, p1, packs_constants(), nullptr, mask0,
                                                       mask1, second, n0, pool);
    }
  }

  /// Every pixel of the panel whose first column is n0 (not inlined: in run_groups, GCC spills the
  /// accumulators).
  template <int GY, int GX, bool Flip, epilogue E, bool Pool, class Prepared, class Out>
  QSPARSE_TARGET_AVX512_VNNI static __attribute__((noinline)) void run_panel(
      const shallow_gemm_args<Out>& g, const __m512i (&w)[std::size_t{GY * GX}][2], __m512i init0, __m512i init1,
      const Prepared& p0, const Prepared& p1, packs_constants k, const avx512::fixed_point_packs* f, __mmask16 mask0,
      __mmask16 mask1, bool second, std::ptrdiff_t n0, const shallow_pool_window& pool) {
    const std::ptrdiff_t rs = g.row_step, tp = g.tap_pitch, ldd = g.ldd;
    for (std::ptrdiff_t l = 0; l < g.lines; ++l) {
      const auto* a = static_cast<const std::uint8_t*>(g.rows) + l * g.line_step;
      Out* dst = g.dst + l * g.m * ldd + n0;
      std::ptrdiff_t r = 0;
      for (; r + mr <= g.m; r += mr)
        tile<GY, GX, Flip, 4, E, Pool>(a + r * rs, rs, tp, w, init0, init1, p0, p1, k, f, mask0, mask1, second,
                                       dst + r * ldd, ldd, pool);
      const std::uint8_t* at = a + r * rs;
      Out* dt = dst + r * ldd;
      switch (g.m - r) {
        case 3: tile<GY, GX, Flip, 3, E, Pool>(at, rs, tp, w, init0, init1, p0, p1, k, f, mask0, mask1, second, dt, ldd, pool); break;
        case 2: tile<GY, GX, Flip, 2, E, Pool>(at, rs, tp, w, init0, init1, p0, p1, k, f, mask0, mask1, second, dt, ldd, pool); break;
        case 1: tile<GY, GX, Flip, 1, E, Pool>(at, rs, tp, w, init0, init1, p0, p1, k, f, mask0, mask1, second, dt, ldd, pool); break;
        default: break;
      }
    }
  }

  /// Rows of kp = weights.k_padded() <= max_k bytes at rows + r*row_step (im2col rows, or a GEMM's
  /// activations), int8 made unsigned as they are broadcast when Flip (g.u_zero_point = the int8 zero
  /// point + 128), uint8 otherwise; the bytes past K are read and meet zero weights. Panels
  /// [p_begin, p_end) (p_end < 0: to the last). dst[r][n] = evaluate(pipeline, Σ_k (a - a_zp) w[k][n], m0 + r, n).
  template <bool Flip = true, class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run_rows(const shallow_gemm_args<typename output_pipeline<S...>::output_type>& g,
                                                  const output_pipeline<S...>& pipeline, std::ptrdiff_t p_begin = 0,
                                                  std::ptrdiff_t p_end = -1) {
    switch (g.weights.k_padded() / 4) {
      case 1: return run_groups<1, 1, Flip>(g, pipeline, p_begin, p_end);
      case 2: return run_groups<1, 2, Flip>(g, pipeline, p_begin, p_end);
      case 3: return run_groups<1, 3, Flip>(g, pipeline, p_begin, p_end);
      case 4: return run_groups<1, 4, Flip>(g, pipeline, p_begin, p_end);
      case 5: return run_groups<1, 5, Flip>(g, pipeline, p_begin, p_end);
      case 6: return run_groups<1, 6, Flip>(g, pipeline, p_begin, p_end);
      case 7: return run_groups<1, 7, Flip>(g, pipeline, p_begin, p_end);
      default: return run_groups<1, 8, Flip>(g, pipeline, p_begin, p_end);
    }
  }

  /// The GEMM (qsparse/spec/gemm_args.hpp) on the rows in place, for the weights accepts() takes. A row is
  /// read up to whole k groups, so the last rows (up to 3, when K is not a multiple of 4) are first copied
  /// to a padded buffer.
  template <class A, class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run(const gemm_args<A, typename output_pipeline<S...>::output_type>& g,
                                             const output_pipeline<S...>& pipeline, std::ptrdiff_t m_begin,
                                             std::ptrdiff_t m_end, std::ptrdiff_t panel_begin,
                                             std::ptrdiff_t panel_end) {
    using out_type = typename output_pipeline<S...>::output_type;
    constexpr bool flip = std::is_same_v<A, std::int8_t>;
    const std::int32_t u_zp = g.a_zero_point + (flip ? 128 : 0);
    const auto* a = reinterpret_cast<const std::uint8_t*>(g.a);
    const std::ptrdiff_t kp = g.weights.k_padded();
    const std::ptrdiff_t safe_end =
        g.k % 4 == 0 ? m_end : std::max(m_begin, std::min<std::ptrdiff_t>(m_end, g.m - 3));
    if (safe_end > m_begin) {
      const shallow_gemm_args<out_type> args{a + m_begin * g.lda, g.lda, 0, safe_end - m_begin, 1, 0, u_zp,
                                             g.weights, g.n, m_begin, g.dst + m_begin * g.ldd, g.ldd};
      run_rows<flip>(args, pipeline, panel_begin, panel_end);
    }
    if (safe_end < m_end) {
      alignas(64) std::uint8_t tail[3 * max_k] = {};
      const std::ptrdiff_t rows = m_end - safe_end;  // <= 3
      for (std::ptrdiff_t r = 0; r < rows; ++r)
        std::memcpy(tail + r * kp, a + (safe_end + r) * g.lda, static_cast<std::size_t>(g.k));
      const shallow_gemm_args<out_type> args{tail, kp, 0, rows, 1, 0, u_zp, g.weights, g.n, safe_end,
                                             g.dst + safe_end * g.ldd, g.ldd};
      run_rows<flip>(args, pipeline, panel_begin, panel_end);
    }
  }

  /// In place: unsigned bytes, kernel_rows <= max_direct_rows rows of row_groups <= max_direct_row_groups
  /// groups each (weights.k_padded() == 4 * kernel_rows * row_groups).
  template <class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run_direct(const shallow_gemm_args<typename output_pipeline<S...>::output_type>& g,
                                                    int kernel_rows, int row_groups, const output_pipeline<S...>& pipeline) {
    switch (kernel_rows * 4 + row_groups) {
      case 5: return run_groups<1, 1, false>(g, pipeline);
      case 6: return run_groups<1, 2, false>(g, pipeline);
      case 7: return run_groups<1, 3, false>(g, pipeline);
      case 9: return run_groups<2, 1, false>(g, pipeline);
      case 10: return run_groups<2, 2, false>(g, pipeline);
      case 11: return run_groups<2, 3, false>(g, pipeline);
      case 13: return run_groups<3, 1, false>(g, pipeline);
      case 14: return run_groups<3, 2, false>(g, pipeline);
      default: return run_groups<3, 3, false>(g, pipeline);
    }
  }

  /// run_direct with a max pool before the pipeline: output pixel (l, r) is the maximum of the
  /// accumulators over the window `pool` from pixel (l, r) (row_step and line_step step by windows), then
  /// the pipeline. The same bytes as the pipeline on every pixel and max pooling after it only when the
  /// pipeline is non-decreasing in the accumulator per column (conv_pool.hpp: every built-in int8 one).
  template <class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run_direct_max_pool(
      const shallow_gemm_args<typename output_pipeline<S...>::output_type>& g, int kernel_rows, int row_groups,
      const shallow_pool_window& pool, const output_pipeline<S...>& pipeline) {
    switch (kernel_rows * 4 + row_groups) {
      case 5: return run_groups<1, 1, false, true>(g, pipeline, 0, -1, pool);
      case 6: return run_groups<1, 2, false, true>(g, pipeline, 0, -1, pool);
      case 7: return run_groups<1, 3, false, true>(g, pipeline, 0, -1, pool);
      case 9: return run_groups<2, 1, false, true>(g, pipeline, 0, -1, pool);
      case 10: return run_groups<2, 2, false, true>(g, pipeline, 0, -1, pool);
      case 11: return run_groups<2, 3, false, true>(g, pipeline, 0, -1, pool);
      case 13: return run_groups<3, 1, false, true>(g, pipeline, 0, -1, pool);
      case 14: return run_groups<3, 2, false, true>(g, pipeline, 0, -1, pool);
      default: return run_groups<3, 3, false, true>(g, pipeline, 0, -1, pool);
    }
  }
};

}  // namespace avx512_vnni
}  // namespace kernels
}  // namespace qsparse

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_X86
