// qsparse/kernels/avx512vnni/gemm_u8s8_s32_8x32c4.hpp — int8 GEMM on AVX-512 VNNI: up to 8 rows ×
// 32 columns per tile, 4 consecutive k per vpdpbusd lane (weights layout s8_c4_nr32).
//
// vpdpbusd multiplies unsigned bytes by signed bytes. The weights are the signed operand as packed
// (raw int8); the activations are the unsigned one: uint8 activations as they are, int8 activations
// with the sign bit flipped (a + 128, XNNPACK's trick), one vpxord per broadcast. The exact
// result is restored from the packed column sums, the accumulators' initial value (all arithmetic
// modulo 2^32, exact because the entry point guarantees the true sum fits int32):
//   Σ (a - a_zp)(w - w_zp) = Σ a_u w - (a_zp + o) (colsum[n] - K w_zp) - w_zp Σ_k a_u
// with a_u = a + o, o = 128 for int8 and 0 for uint8 activations. The last term (rows' sums) is only
// computed when w_zp != 0.
//
// Per k group the inner loop has two 64-byte weight loads (the panel prefetched 16 groups ahead), one
// 4-byte broadcast per row and 16 vpdpbusd for 8 rows. uint8 rows, and int8 rows of at most 64 bytes
// (where a copy would cost as much as the multiply-adds), are read in place, the int8 ones flipped after
// the broadcast (one vpxord per two vpdpbusd). Deeper int8 rows are read in place too where that
// vpxord issues on vector pipes vpdpbusd leaves free (AMD Zen 4 / 5: four pipes, two multiply; on Zen 5
// +16 % on M3136 K576 N64 and +18 % on square 2048 against the copy); elsewhere (Intel: vpdpbusd and
// vpxord share two ports) they are first copied to a per-thread scratch, flipped and zero padded to
// whole k groups, which makes the inner loop pure. int8_rows (below) overrides the choice. Fewer than 4 rows split the k loop over two accumulator sets to hide
// vpdpbusd's latency (matrix-vector products). The pipeline of each panel is prepared once and
// applied to every tile that meets it.
//
// The GEMM registry (qsparse/kernels/gemm_kernels.hpp) gives symmetric weights with K <= 32 to the
// shallow kernel (gemm_u8s8_s32_4x32c4.hpp, whole K in registers, the compensation and bias in the
// accumulators' initial value): at K = 27 this kernel spends its time around the inner loop.
//
// run_gather is the same tile over gathered rows (conv2d's implicit im2col): one pointer per row, K in
// segments of whole k groups a fixed pitch apart, unsigned bytes read in place.
#pragma once

#include <algorithm>
#include <atomic>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/cpu_features.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/kernels/avx512vnni/gemm_u8s8_s32_4x32c4.hpp"
#include "qsparse/kernels/scratch.hpp"
#include "qsparse/spec/gemm_args.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "qsparse/spec/packed_weights.hpp"

#if QSPARSE_X86
#include <immintrin.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse {
namespace kernels {
/// The rows of a GEMM gathered in place (conv2d's implicit im2col): row r's k-th byte, for
/// k = s * segment_bytes + j (j < segment_bytes, segment_bytes a multiple of 4), is
/// rows[r][s * segment_pitch + j], an unsigned byte whose zero point is u_zero_point. The weights
/// (s8_c4_nr32, w_zp = 0) have K = segments * segment_bytes.
template <class Out>
struct gather_gemm_args {
  const std::uint8_t* const* rows;
  std::ptrdiff_t m;
  std::ptrdiff_t segments;
  std::ptrdiff_t segment_pitch;
  std::ptrdiff_t segment_bytes;
  std::int32_t u_zero_point;
  packed_weights_view weights;
  Out* dst;
  std::ptrdiff_t ldd;
};

namespace avx512_vnni {

/// How deep int8 rows (more than 64 bytes) reach the tiles. `automatic` reads them in place on AMD
/// and copies them elsewhere (see the top of this header); the others force a path (tests, benchmarks).
enum class int8_rows { automatic, in_place, copy };

inline std::atomic<int>& int8_rows_storage() {
  static std::atomic<int> setting{static_cast<int>(int8_rows::automatic)};
  return setting;
}
inline void set_int8_rows(int8_rows r) { int8_rows_storage().store(static_cast<int>(r), std::memory_order_relaxed); }
inline int8_rows get_int8_rows() { return static_cast<int8_rows>(int8_rows_storage().load(std::memory_order_relaxed)); }

/// Sets the int8 rows' path for its lifetime and restores the previous one.
class scoped_int8_rows {
 public:
  explicit scoped_int8_rows(int8_rows r) : previous_(get_int8_rows()) { set_int8_rows(r); }
  ~scoped_int8_rows() { set_int8_rows(previous_); }
  scoped_int8_rows(const scoped_int8_rows&) = delete;
  scoped_int8_rows& operator=(const scoped_int8_rows&) = delete;

 private:
  int8_rows previous_;
};

/// Whether int8 rows padded to kp bytes are read in place (flipped per broadcast).
inline bool int8_rows_in_place(std::ptrdiff_t kp) {
  switch (get_int8_rows()) {
    case int8_rows::in_place: return true;
    case int8_rows::copy: return kp <= 64;
    default: return kp <= 64 || cpu().amd;
  }
}

/// How far ahead of the current k group the weight panel is prefetched, in bytes (16 k groups). For
/// deep K the panel does not stay in L1 next to the rows and streams from L2; fetching it ahead hides
/// that latency. A prefetch past the panel's end is harmless: it never faults.
constexpr std::ptrdiff_t weight_prefetch_distance = 2048;

/// One k group (4 bytes of every row at `offset`) into one accumulator set. Flip: the rows are the
/// caller's int8 activations read in place, made unsigned here (one vpxord per row).
template <int MR, bool Flip>
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void gemm_u8s8_step_8x32c4(
    __m512i (&acc)[std::size_t{MR}][2], const std::uint8_t* a, std::ptrdiff_t lda, std::ptrdiff_t offset, const std::int8_t* w) {
  _mm_prefetch(reinterpret_cast<const char*>(w + weight_prefetch_distance), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(w + weight_prefetch_distance + 64), _MM_HINT_T0);
  const __m512i b0 = _mm512_load_si512(w);
  const __m512i b1 = _mm512_load_si512(w + 64);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    std::int32_t word;
    std::memcpy(&word, a + r * lda + offset, 4);
    __m512i av = _mm512_set1_epi32(word);
    if constexpr (Flip) av = _mm512_xor_si512(av, _mm512_set1_epi32(static_cast<std::int32_t>(0x80808080u)));
    acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, b0);
    acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, b1);
  }
}

/// What the epilogue of one 32-column panel needs: the prepared pipeline and the accumulators' initial
/// value of each 16-column half (the column term, plus the bias where the fast evaluator folds it: see
/// first_stage), their lane masks, and the destination of the tile's first row.
template <class Prepared, class Out>
struct alignas(64) panel_epilogue {
  Prepared prepared[2];
  __m512i init[2];
  __mmask16 mask[2];
  avx512::fixed_point_packs fixed[2];  // TFLite's fixed point in 64-bit lanes, when fixed_mode != 0
  int halves;  // 1 or 2: how many 16-column halves hold columns
  int fixed_mode;  // 0: not that form; 1: it, 32 whole columns clamped by packs; 2: it, clamped, masked stores
  bool fast;   // avx512::store_prepared_fast is exact for both halves
  Out* dst;    // row r of the tile at dst + r * ldd
  std::ptrdiff_t ldd;
  std::ptrdiff_t m0;  // the pipeline's row index of the tile's row 0 (read by a stage that reads its row)
};

/// The largest |Σ_k (a - a_zp)(w - w_zp)| for k values of A's type, zero points a_zp and w_zp.
template <class A>
inline std::int64_t accumulator_bound(std::ptrdiff_t k, std::int32_t a_zp, std::int32_t w_zp) {
  const std::int64_t a_lo = std::is_same_v<A, std::int8_t> ? -128 : 0;
  const std::int64_t a_max = std::max<std::int64_t>(a_lo + 255 - a_zp, a_zp - a_lo);
  const std::int64_t w_max = std::max<std::int64_t>(127 - w_zp, w_zp + 128);
  return static_cast<std::int64_t>(k) * a_max * w_max;
}

/// What a call fixes for the epilogues of all its panels: TFLite's fixed point in 64-bit lanes
/// (avx512::plan_fixed_point_packs) for the pipelines that take it straight from their arrays.
template <class... S>
inline avx512::fixed_point_packs_plan plan_panel_epilogues(const output_pipeline<S...>& pipeline, std::int64_t bound) {
  if constexpr (avx512::fixed_point_packs_pipeline<output_pipeline<S...>>::value) {
    return avx512::plan_fixed_point_packs(pipeline, bound);
  } else {
    return {};
  }
}

/// The epilogue of the panel whose first column is n0 (of n): the column term
/// -(a_zp + o) (colsum[n] - K w_zp), passed as its two factors, and the pipeline prepared per half, or
/// only TFLite's fixed point in 64-bit lanes, built from the pipeline's arrays, where plan allows it and
/// it is exact for every column of the panel (then e.prepared is not set and never read: e.fast and
/// e.fixed_mode send every tile to store_tile_fixed_point).
template <class Out, class... S>
QSPARSE_TARGET_AVX512_VNNI inline auto prepare_panel_epilogue(const output_pipeline<S...>& pipeline,
                                                              const std::int32_t* column_sums, std::int32_t k_wzp,
                                                              std::int32_t column_factor, std::ptrdiff_t n,
                                                              std::ptrdiff_t n0, std::ptrdiff_t ldd,
                                                              std::int64_t bound,
                                                              const avx512::fixed_point_packs_plan& plan) {
  using prepared_type = decltype(avx512::prepare(pipeline, std::ptrdiff_t{0}, __mmask16{0}));
  panel_epilogue<prepared_type, Out> e;
  const std::ptrdiff_t columns = n - n0 < 32 ? n - n0 : 32;
  e.halves = columns > 16 ? 2 : 1;
  e.init[1] = _mm512_setzero_si512();
  e.fast = true;
  e.dst = nullptr;
  e.ldd = ldd;
  e.m0 = 0;
  for (int j = 0; j < e.halves; ++j) {
    const std::ptrdiff_t left = columns - 16 * j;
    e.mask[j] = static_cast<__mmask16>(left >= 16 ? 0xFFFF : (1u << left) - 1u);
    const __m512i sums = _mm512_load_si512(column_sums + n0 + 16 * j);  // padded to NR: in bounds
    e.init[j] =
        _mm512_mullo_epi32(_mm512_sub_epi32(sums, _mm512_set1_epi32(k_wzp)), _mm512_set1_epi32(column_factor));
  }
  if constexpr (avx512::fixed_point_packs_pipeline<output_pipeline<S...>>::value) {
    if (plan.usable) {
      __m512i bias[2];
      bool exact = true;
      for (int j = 0; j < e.halves && exact; ++j)
        exact = avx512::prepare_fixed_point_packs_direct(pipeline, plan, n0 + 16 * j, e.mask[j], bias[j], e.fixed[j]);
      if (exact) {
        // The bias joins the accumulators' initial value: exact, |acc| + |bias| <= 2^30 (int32 adds wrap).
        for (int j = 0; j < e.halves; ++j) e.init[j] = _mm512_add_epi32(e.init[j], bias[j]);
        if (e.halves == 1) e.fixed[1] = e.fixed[0];
        // Whole panels by columns, not e.mask: two 16-bit stores read back as one load stall.
        e.fixed_mode = columns == 32 && plan.full_range ? 1 : 2;
        return e;
      }
    }
  }
  for (int j = 0; j < e.halves; ++j) {
    e.prepared[j] = avx512::prepare(pipeline, n0 + 16 * j, e.mask[j], bound);
    e.fast = e.fast && avx512::fast_path_exact(e.prepared[j]);
  }
  std::int64_t bias_magnitude = 0;
  if constexpr (gemm_u8s8_s32_4x32c4::first_stage<true, prepared_type>() == 1) {
    if (e.fast) {  // exact: the fast path is only taken when |acc| + |bias| fits int32; int32 adds wrap
      for (int j = 0; j < e.halves; ++j) {
        e.init[j] = _mm512_add_epi32(e.init[j], std::get<0>(e.prepared[j]).value);
        bias_magnitude = std::max(bias_magnitude, avx512::max_magnitude(std::get<0>(e.prepared[j]).value));
      }
    }
  }
  e.fixed_mode = 0;
  if constexpr (avx512::has_fixed_point_packs_epilogue<prepared_type, Out>()) {
    constexpr std::size_t s = gemm_u8s8_s32_4x32c4::first_stage<true, prepared_type>();
    bool exact = e.fast;
    bool full = columns == 32;  // not from e.mask: two 16-bit stores read back as one load stall
    for (int j = 0; j < e.halves && exact; ++j) {
      exact = avx512::prepare_fixed_point_packs<Out>(std::get<s>(e.prepared[j]), std::get<s + 1>(e.prepared[j]),
                                                     bound + bias_magnitude, e.fixed[j]);
      full = full && exact && e.fixed[j].full_range;
    }
    if (exact) e.fixed_mode = full ? 1 : 2;
    if (e.halves == 1) e.fixed[1] = e.fixed[0];
  }
  return e;
}

/// Row r, half j of a tile in memory (32 accumulators per row) plus the row term when given.
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) __m512i tile_row(const std::int32_t* tile,
                                                                                 const std::int32_t* row_term, int r,
                                                                                 int j) {
  const __m512i v = _mm512_load_si512(tile + r * 32 + 16 * j);
  return row_term != nullptr ? _mm512_add_epi32(v, _mm512_set1_epi32(row_term[r])) : v;
}

/// store_tile by TFLite's fixed point in 64-bit lanes (avx512::fixed_point_offset, e.fixed_mode != 0): two rows
/// of 32 whole columns at a time through packs that clamp (e.fixed_mode == 1), else clamped and stored per half.
template <int MR, class Prepared, class Out>
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void store_tile_fixed_point(
    const std::int32_t* tile, const std::int32_t* row_term, const panel_epilogue<Prepared, Out>& e) {
  using R = avx512::fixed_point_rounding_t<Prepared, gemm_u8s8_s32_4x32c4::first_stage<true, Prepared>()>;
  Out* const dst = e.dst;
  const std::ptrdiff_t ldd = e.ldd;
  const avx512::fixed_point_packs f0 = e.fixed[0], f1 = e.fixed[1];
  if (e.fixed_mode == 1) {
#pragma GCC unroll 4
    for (int r = 0; r < MR; r += 2) {
      const int r1 = r + 1 < MR ? r + 1 : r;
      avx512::store_rows_as_bytes(avx512::fixed_point_offset<R>(tile_row(tile, row_term, r, 0), f0), avx512::fixed_point_offset<R>(tile_row(tile, row_term, r, 1), f1),
                                  avx512::fixed_point_offset<R>(tile_row(tile, row_term, r1, 0), f0),
                                  avx512::fixed_point_offset<R>(tile_row(tile, row_term, r1, 1), f1), dst + r * ldd,
                                  r1 != r ? dst + r1 * ldd : nullptr);
    }
    return;
  }
  for (int j = 0; j < e.halves; ++j) {
    const avx512::fixed_point_packs& f = j == 0 ? f0 : f1;
    const __mmask16 mask = e.mask[j];
#pragma GCC unroll 8
    for (int r = 0; r < MR; ++r)
      avx512::store_lanes(avx512::fixed_point_offset_clamp<R, true>(tile_row(tile, row_term, r, j), f), mask, dst + r * ldd + 16 * j);
  }
}

/// The epilogue of one tile: the accumulators (in `tile`, 32 per row, started at e.init) plus the row
/// terms, through the pipeline (the fast evaluator when Fast, from the stage after a folded bias), stored.
template <int MR, bool Fast, class Prepared, class Out>
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void store_tile(const std::int32_t* tile,
                                                                                const std::int32_t* row_term,
                                                                                const panel_epilogue<Prepared, Out>& e) {
  Out* const dst = e.dst;  // locals: the stores through dst could alias e as far as the compiler knows
  const std::ptrdiff_t ldd = e.ldd;
  if constexpr (avx512::has_row_stage_v<Prepared>) {
    // A stage that reads its row (dequantize_rows_float): the generic evaluator, row by row.
    const std::ptrdiff_t m0 = e.m0;
    for (int j = 0; j < e.halves; ++j) {
      const Prepared prepared = e.prepared[j];
      const __mmask16 mask = e.mask[j];
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        avx512::store_prepared_at(prepared, tile_row(tile, row_term, r, j), m0 + r, mask, dst + r * ldd + 16 * j);
      }
    }
  } else {
    if constexpr (Fast && avx512::has_fixed_point_packs_epilogue<Prepared, Out>()) {
      if (e.fixed_mode != 0) return store_tile_fixed_point<MR>(tile, row_term, e);
    }
    for (int j = 0; j < e.halves; ++j) {
      const Prepared prepared = e.prepared[j];
      const __mmask16 mask = e.mask[j];
#pragma GCC unroll 8
      for (int r = 0; r < MR; ++r) {
        __m512i v = _mm512_load_si512(tile + r * 32 + 16 * j);
        if (row_term != nullptr) v = _mm512_add_epi32(v, _mm512_set1_epi32(row_term[r]));
        gemm_u8s8_s32_4x32c4::store<Fast>(prepared, v, mask, dst + r * ldd + 16 * j);
      }
    }
  }
}

/// store_tile on the evaluator the panel allows: the fast one where it is exact, else the general one.
/// (The AMX kernel, kernels/amx/, runs its stored tiles through it.)
template <int MR, class Prepared, class Out>
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void store_tile_exact(
    const std::int32_t* tile, const std::int32_t* row_term, const panel_epilogue<Prepared, Out>& e) {
  if constexpr (avx512::has_fast_path<Prepared>::value) {
    if (e.fast) return store_tile<MR, true>(tile, row_term, e);
  }
  store_tile<MR, false>(tile, row_term, e);
}

/// The end of a tile: the accumulators (two sets when Split) summed, then store_tile.
template <int MR, bool Split, class Prepared, class Out>
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void finish_tile(
    const __m512i (&acc)[std::size_t{MR}][2], const __m512i (&acc2)[std::size_t{MR}][2], const std::int32_t* row_term,
    const panel_epilogue<Prepared, Out>& e) {
  // The sums go through a small tile in memory before the epilogue: with the pipeline in the same
  // function GCC 12 moved every accumulator between registers in each k iteration (28 extra moves per
  // 16 vpdpbusd); the round trip costs 32 L1 accesses per tile.
  alignas(64) std::int32_t tile[std::size_t{MR * 32}];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    __m512i lo = acc[r][0];
    __m512i hi = acc[r][1];
    if constexpr (Split) {
      lo = _mm512_add_epi32(lo, acc2[r][0]);
      hi = _mm512_add_epi32(hi, acc2[r][1]);
    }
    _mm512_store_si512(tile + r * 32, lo);
    _mm512_store_si512(tile + r * 32 + 16, hi);
  }
  asm volatile("" ::: "memory");  // keep the epilogue out of the k loop's register allocation
  store_tile_exact<MR>(tile, row_term, e);
}

/// MR rows of unsigned activations (row stride lda, `groups` groups of 4 bytes) × 32 columns:
/// e.init (the column term, maybe the bias) + Σ_k a_u[r][k] * w[k][n] in registers, then the row term
/// (when given) and the pipeline, stored.
template <int MR, bool Flip, class Prepared, class Out>
QSPARSE_TARGET_AVX512_VNNI __attribute__((noinline)) inline void gemm_u8s8_tile_8x32c4(const std::uint8_t* a, std::ptrdiff_t lda,
                                                             std::ptrdiff_t groups, const std::int8_t* w,
                                                             const std::int32_t* row_term,
                                                             const panel_epilogue<Prepared, Out>& e) {
  constexpr bool split = MR < 4;  // two accumulator sets over alternating k groups
  __m512i acc[std::size_t{MR}][2];
  __m512i acc2[std::size_t{MR}][2];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    acc[r][0] = e.init[0];
    acc[r][1] = e.init[1];
    acc2[r][0] = acc2[r][1] = _mm512_setzero_si512();
  }
  std::ptrdiff_t g = 0;
  if constexpr (split) {
    for (; g + 2 <= groups; g += 2) {
      gemm_u8s8_step_8x32c4<MR, Flip>(acc, a, lda, g * 4, w);
      gemm_u8s8_step_8x32c4<MR, Flip>(acc2, a, lda, g * 4 + 4, w + 128);
      w += 256;
    }
  }
  for (; g < groups; ++g) {
    gemm_u8s8_step_8x32c4<MR, Flip>(acc, a, lda, g * 4, w);
    w += 128;
  }
  finish_tile<MR, split>(acc, acc2, row_term, e);
}

/// The tile for a runtime row count (the last tile of a block may be short).
template <bool Flip, class Prepared, class Out>
QSPARSE_TARGET_AVX512_VNNI inline void gemm_u8s8_tile_rows(int rows, const std::uint8_t* a, std::ptrdiff_t lda,
                                                           std::ptrdiff_t groups, const std::int8_t* w,
                                                           const std::int32_t* row_term,
                                                           const panel_epilogue<Prepared, Out>& e) {
  switch (rows) {
    case 8: return gemm_u8s8_tile_8x32c4<8, Flip>(a, lda, groups, w, row_term, e);
    case 7: return gemm_u8s8_tile_8x32c4<7, Flip>(a, lda, groups, w, row_term, e);
    case 6: return gemm_u8s8_tile_8x32c4<6, Flip>(a, lda, groups, w, row_term, e);
    case 5: return gemm_u8s8_tile_8x32c4<5, Flip>(a, lda, groups, w, row_term, e);
    case 4: return gemm_u8s8_tile_8x32c4<4, Flip>(a, lda, groups, w, row_term, e);
    case 3: return gemm_u8s8_tile_8x32c4<3, Flip>(a, lda, groups, w, row_term, e);
    case 2: return gemm_u8s8_tile_8x32c4<2, Flip>(a, lda, groups, w, row_term, e);
    default: return gemm_u8s8_tile_8x32c4<1, Flip>(a, lda, groups, w, row_term, e);
  }
}

/// One k group of gathered rows: the 4 bytes at p[r] + offset of each row, unsigned.
template <int MR>
QSPARSE_TARGET_AVX512_VNNI inline __attribute__((always_inline)) void gemm_u8s8_gather_step_8x32c4(
    __m512i (&acc)[std::size_t{MR}][2], const std::uint8_t* const (&p)[std::size_t{MR}], std::ptrdiff_t offset, const std::int8_t* w) {
  _mm_prefetch(reinterpret_cast<const char*>(w + weight_prefetch_distance), _MM_HINT_T0);
  _mm_prefetch(reinterpret_cast<const char*>(w + weight_prefetch_distance + 64), _MM_HINT_T0);
  const __m512i b0 = _mm512_load_si512(w);
  const __m512i b1 = _mm512_load_si512(w + 64);
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    std::int32_t word;
    std::memcpy(&word, p[r] + offset, 4);
    const __m512i av = _mm512_set1_epi32(word);
    acc[r][0] = _mm512_dpbusd_epi32(acc[r][0], av, b0);
    acc[r][1] = _mm512_dpbusd_epi32(acc[r][1], av, b1);
  }
}

/// MR gathered rows × 32 columns: row r's k = s * segment_groups * 4 + j (j < segment_groups * 4) is
/// the unsigned byte rows[r][s * segment_pitch + j]. Started at e.init, then the pipeline, as
/// gemm_u8s8_tile_8x32c4.
template <int MR, class Prepared, class Out>
QSPARSE_TARGET_AVX512_VNNI __attribute__((noinline)) inline void gemm_u8s8_gather_tile_8x32c4(
    const std::uint8_t* const* rows, std::ptrdiff_t segments, std::ptrdiff_t segment_pitch,
    std::ptrdiff_t segment_groups, const std::int8_t* w, const panel_epilogue<Prepared, Out>& e) {
  constexpr bool split = MR < 4;
  const std::uint8_t* p[std::size_t{MR}];
  __m512i acc[std::size_t{MR}][2];
  __m512i acc2[std::size_t{MR}][2];
#pragma GCC unroll 16
  for (int r = 0; r < MR; ++r) {
    p[r] = rows[r];
    acc[r][0] = e.init[0];
    acc[r][1] = e.init[1];
    acc2[r][0] = acc2[r][1] = _mm512_setzero_si512();
  }
  for (std::ptrdiff_t s = 0; s < segments; ++s) {
    std::ptrdiff_t g = 0;
    if constexpr (split) {
      for (; g + 2 <= segment_groups; g += 2) {
        gemm_u8s8_gather_step_8x32c4<MR>(acc, p, g * 4, w);
        gemm_u8s8_gather_step_8x32c4<MR>(acc2, p, g * 4 + 4, w + 128);
        w += 256;
      }
    }
    for (; g < segment_groups; ++g) {
      gemm_u8s8_gather_step_8x32c4<MR>(acc, p, g * 4, w);
      w += 128;
    }
#pragma GCC unroll 16
    for (int r = 0; r < MR; ++r) p[r] += segment_pitch;
  }
  finish_tile<MR, split>(acc, acc2, nullptr, e);
}

/// The gathered tile for a runtime row count.
template <class Prepared, class Out>
QSPARSE_TARGET_AVX512_VNNI inline void gemm_u8s8_gather_tile_rows(int rows, const std::uint8_t* const* a,
                                                                  std::ptrdiff_t segments, std::ptrdiff_t pitch,
                                                                  std::ptrdiff_t groups, const std::int8_t* w,
                                                                  const panel_epilogue<Prepared, Out>& e) {
  switch (rows) {
    case 8: return gemm_u8s8_gather_tile_8x32c4<8>(a, segments, pitch, groups, w, e);
    case 7: return gemm_u8s8_gather_tile_8x32c4<7>(a, segments, pitch, groups, w, e);
    case 6: return gemm_u8s8_gather_tile_8x32c4<6>(a, segments, pitch, groups, w, e);
    case 5: return gemm_u8s8_gather_tile_8x32c4<5>(a, segments, pitch, groups, w, e);
    case 4: return gemm_u8s8_gather_tile_8x32c4<4>(a, segments, pitch, groups, w, e);
    case 3: return gemm_u8s8_gather_tile_8x32c4<3>(a, segments, pitch, groups, w, e);
    case 2: return gemm_u8s8_gather_tile_8x32c4<2>(a, segments, pitch, groups, w, e);
    default: return gemm_u8s8_gather_tile_8x32c4<1>(a, segments, pitch, groups, w, e);
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
  static constexpr packed_layout layout = packed_layout::s8_c4_nr32;
  static const char* name() { return "gemm_u8s8_s32_8x32c4__avx512vnni"; }
  /// Its epilogue evaluates dequantize_rows_float (qsparse/spec/hybrid_output_stage.hpp) in registers.
  static constexpr bool row_output_stage = true;

  static const char* gather_name() { return "conv_gather_u8s8_s32_8x32c4__avx512vnni"; }

  /// The GEMM of gathered rows (implicit im2col): see gather_gemm_args.
  /// dst[r][n] = evaluate(pipeline, Σ_k (a_u[r][k] - u_zp) w[k][n], r, n).
  template <class... S>
  QSPARSE_TARGET_AVX512_VNNI static void run_gather(const gather_gemm_args<typename output_pipeline<S...>::output_type>& g,
                                                    const output_pipeline<S...>& pipeline) {
    using out_type = typename output_pipeline<S...>::output_type;
    const std::int32_t* column_sums = g.weights.column_sums();
    const std::ptrdiff_t groups = g.segment_bytes / 4;
    // |Σ_k (u - u_zp) w| for unsigned bytes u and symmetric int8 w.
    const std::int64_t bound = static_cast<std::int64_t>(g.segments * g.segment_bytes) *
                               std::max<std::int64_t>(255 - g.u_zero_point, g.u_zero_point) * 128;
    const std::ptrdiff_t panels = g.weights.n_padded() / nr;
    const avx512::fixed_point_packs_plan plan = plan_panel_epilogues(pipeline, bound);
    constexpr std::ptrdiff_t block_rows_max = 8 * mr;
    for (std::ptrdiff_t mb = 0; mb < g.m; mb += block_rows_max) {
      const std::ptrdiff_t block_end = std::min(g.m, mb + block_rows_max);
      for (std::ptrdiff_t p = 0; p < panels; ++p) {
        auto e = prepare_panel_epilogue<out_type>(pipeline, column_sums, 0, -g.u_zero_point, g.weights.n(), p * nr,
                                                  g.ldd, bound, plan);
        const auto* w = static_cast<const std::int8_t*>(g.weights.panel(p));
        for (std::ptrdiff_t m0 = mb; m0 < block_end; m0 += mr) {
          const int rows = static_cast<int>(block_end - m0 < mr ? block_end - m0 : mr);
          e.dst = g.dst + m0 * g.ldd + p * nr;
          e.m0 = m0;
          gemm_u8s8_gather_tile_rows(rows, g.rows + m0, g.segments, g.segment_pitch, groups, w, e);
        }
      }
    }
  }

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
    const std::int64_t bound = accumulator_bound<A>(g.k, g.a_zero_point, w_zp);
    const std::ptrdiff_t kp = g.weights.k_padded();
    const std::ptrdiff_t groups = kp / 4;
    using out_type = typename output_pipeline<S...>::output_type;
    const avx512::fixed_point_packs_plan plan = plan_panel_epilogues(pipeline, bound);
    const auto prepare_panel = [&](std::ptrdiff_t p) {
      return prepare_panel_epilogue<out_type>(pipeline, column_sums, k_wzp, column_factor, g.n, p * nr, g.ldd, bound,
                                              plan);
    };

    // Shallow K (one cache line of a row or less), uint8 activations, or int8 ones where the flip is
    // free (above): the tiles read the caller's rows in place. Copying them would cost as much as the
    // multiply-adds, and a copied block waits for its rows from L3 or memory while in-place rows stream
    // under the hardware prefetcher. A row is read up
    // to whole k groups (3 bytes past K, times zero weights), so the tiles that read in place are those
    // whose rows all have 3 more rows after them, or all of them when K is a multiple of 4.
    const bool in_place = w_zp == 0 && (!flip || int8_rows_in_place(kp));
    if (in_place) {
      const std::ptrdiff_t safe_end = g.k % 4 == 0 ? m_end : std::min<std::ptrdiff_t>(m_end, g.m - 3);
      const auto* a = reinterpret_cast<const std::uint8_t*>(g.a);
      // The row tiles of a block (~16 KiB of rows, 8 to 64 tiles) share each panel (L1-resident while it
      // is reused); for shallow K the larger blocks prepare each panel's epilogue less often.
      const std::ptrdiff_t block_rows_max = std::clamp<std::ptrdiff_t>(16 * 1024 / kp / mr * mr, 8 * mr, 64 * mr);
      std::ptrdiff_t mb = m_begin;
      for (; mb < safe_end; mb += block_rows_max) {
        const std::ptrdiff_t block_end = std::min(safe_end, mb + block_rows_max);
        for (std::ptrdiff_t p = panel_begin; p < panel_end; ++p) {
          auto e = prepare_panel(p);
          const auto* w = static_cast<const std::int8_t*>(g.weights.panel(p));
          for (std::ptrdiff_t m0 = mb; m0 < block_end; m0 += mr) {
            const int rows = static_cast<int>(block_end - m0 < mr ? block_end - m0 : mr);
            e.dst = g.dst + m0 * g.ldd + p * nr;
            e.m0 = m0;
            gemm_u8s8_tile_rows<flip>(rows, a + m0 * g.lda, g.lda, groups, w, nullptr, e);
          }
        }
      }
      if (safe_end >= m_end) return;
      m_begin = safe_end > m_begin ? safe_end : m_begin;  // the last rows go through the copy below
    }

    // The tile's rows, made unsigned and zero padded to whole k groups, contiguous: the inner loop then
    // needs no sign flip, no tail and no strided access.
    // Up to 8 tiles share each weight panel while the panel and the block's rows fit in ~40 KiB of L1;
    // for deep K this is one tile, and the panel streams from L2 while the tile's rows stay in L1.
    constexpr int max_block_tiles = 8;
    const std::ptrdiff_t fitting_rows = 40 * 1024 / kp - nr;
    const std::ptrdiff_t block_tiles =
        fitting_rows >= mr * max_block_tiles ? max_block_tiles : (fitting_rows >= 2 * mr ? fitting_rows / mr : 1);
    std::uint8_t* rows8 = thread_scratch<std::uint8_t>(static_cast<std::size_t>(mr * max_block_tiles * kp));
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
        auto e = prepare_panel(p);
        const auto* w = static_cast<const std::int8_t*>(g.weights.panel(p));
        for (std::ptrdiff_t t0 = 0; t0 < block_rows; t0 += mr) {
          const int rows = static_cast<int>(block_rows - t0 < mr ? block_rows - t0 : mr);
          e.dst = g.dst + (mb + t0) * g.ldd + p * nr;
          e.m0 = mb + t0;
          gemm_u8s8_tile_rows<false>(rows, rows8 + t0 * kp, kp, groups, w, w_zp != 0 ? row_term + t0 : nullptr, e);
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
