// qsparse/kernels/neon/output_pipeline.hpp — the GEMM output stages (qsparse/spec/output_stages.hpp) on 4
// int32 accumulators of one output row (aarch64 Advanced SIMD), bit-exact with their scalar definition
// `evaluate`; and the epilogue of the signed-byte tiles (sdot, smmla) built on it.
//
//   auto prepared = prepare(pipeline, n, count)        loads the stages' parameters of columns n .. n+3 once
//                                                      (count = 1..4 of them are read; the others are 0)
//   store_prepared<Out>(prepared, acc, count, dst)     applies them to one row's accumulators and stores
//                                                      `count` values
//   store_s8s8_tile<NR>(g, pipeline, sums, row_sums, rows, m0, n0)   the zero-point terms of
//                                                      drivers::s8s8_s32_tile added in SIMD, then the stages
//
// The stages map onto single instructions where Advanced SIMD has them: bias_add and add_zero_point are
// saturating adds (sqadd), requantize_fixed_point is sqrdmulh + rounding shifts (kernels/neon/fixed_point.hpp),
// requantize_float rounds with fcvtns (ties to even, saturating to int32 as the definition does). Float
// stages keep the definition's two roundings (the product is kept apart from the bias add, which GCC would
// otherwise contract into fmla), and clamp_float selects by comparison so that NaN and -0.0 pass as in
// the scalar definition. Advanced SIMD is baseline on aarch64: no target attribute.
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/neon/fixed_point.hpp"
#include "qsparse/spec/output_stages.hpp"

#if QSPARSE_AARCH64
#include <arm_neon.h>

QSPARSE_SIMD_DIAGNOSTICS_BEGIN

namespace qsparse::kernels::neon {

/// p[0 .. count-1] in the low lanes (count in 1..4), zeros above; never reads past p + count - 1.
inline int32x4_t load_lanes(const std::int32_t* p, int count) {
  if (count == 4) return vld1q_s32(p);
  std::int32_t t[4] = {0, 0, 0, 0};
  std::memcpy(t, p, static_cast<std::size_t>(count) * sizeof(std::int32_t));
  return vld1q_s32(t);
}
inline float32x4_t load_lanes(const float* p, int count) {
  if (count == 4) return vld1q_f32(p);
  float t[4] = {0.0f, 0.0f, 0.0f, 0.0f};
  std::memcpy(t, p, static_cast<std::size_t>(count) * sizeof(float));
  return vld1q_f32(t);
}

struct prepared_saturating_add {  // bias_add, add_zero_point
  int32x4_t value;
};
template <class R>
struct prepared_fixed_point {
  int32x4_t multiplier, shift;
  int32x4_t left, neg_right;  // double rounding: split_shift(shift), once per column block
};
struct prepared_saturating_cast {};  // the saturating narrowing of store_prepared is the stage
struct prepared_round_scale {
  float32x4_t scale;
};
struct prepared_clamp {
  int32x4_t lo, hi;
};
struct prepared_dequantize {
  float32x4_t scale, bias;
  bool has_bias;
};
struct prepared_clamp_float {
  float32x4_t lo, hi;
};

inline prepared_saturating_add prepare_stage(const bias_add& s, std::ptrdiff_t n, int count) {
  return {load_lanes(s.bias + n, count)};
}
inline prepared_saturating_add prepare_stage(const add_zero_point& s, std::ptrdiff_t, int) {
  return {vdupq_n_s32(s.zero_point)};
}
template <class R>
inline prepared_fixed_point<R> prepared_fixed_point_of(int32x4_t multiplier, int32x4_t shift) {
  prepared_fixed_point<R> p{multiplier, shift, shift, shift};
  split_shift(shift, p.left, p.neg_right);
  return p;
}
template <class R>
inline prepared_fixed_point<R> prepare_stage(const requantize_fixed_point<R>& s, std::ptrdiff_t, int) {
  return prepared_fixed_point_of<R>(vdupq_n_s32(s.multiplier.multiplier), vdupq_n_s32(s.multiplier.shift));
}
template <class R>
inline prepared_fixed_point<R> prepare_stage(const requantize_fixed_point_per_channel<R>& s, std::ptrdiff_t n,
                                             int count) {
  return prepared_fixed_point_of<R>(load_lanes(s.multipliers + n, count), load_lanes(s.shifts + n, count));
}
inline prepared_round_scale prepare_stage(const requantize_float& s, std::ptrdiff_t, int) {
  return {vdupq_n_f32(s.scale)};
}
inline prepared_round_scale prepare_stage(const requantize_float_per_channel& s, std::ptrdiff_t n, int count) {
  return {load_lanes(s.scales + n, count)};
}
inline prepared_clamp prepare_stage(const clamp& s, std::ptrdiff_t, int) {
  return {vdupq_n_s32(s.min), vdupq_n_s32(s.max)};
}
/// saturating_cast<T> is always a pipeline's last stage (no stage takes an 8/16-bit input) and T is the
/// output type, so store_prepared's saturating narrowing (sqxtn, then sqxtn/sqxtun) computes it.
template <class T>
inline prepared_saturating_cast prepare_stage(const saturating_cast<T>&, std::ptrdiff_t, int) {
  return {};
}
inline prepared_dequantize prepare_stage(const dequantize_float& s, std::ptrdiff_t n, int count) {
  const bool has_bias = s.bias != nullptr;
  return {vdupq_n_f32(s.scale), has_bias ? load_lanes(s.bias + n, count) : vdupq_n_f32(0.0f), has_bias};
}
inline prepared_dequantize prepare_stage(const dequantize_float_per_channel& s, std::ptrdiff_t n, int count) {
  const bool has_bias = s.bias != nullptr;
  return {load_lanes(s.scales + n, count), has_bias ? load_lanes(s.bias + n, count) : vdupq_n_f32(0.0f), has_bias};
}
inline prepared_clamp_float prepare_stage(const clamp_float& s, std::ptrdiff_t, int) {
  return {vdupq_n_f32(s.min), vdupq_n_f32(s.max)};
}

inline int32x4_t apply_prepared(const prepared_saturating_add& p, int32x4_t v) { return vqaddq_s32(v, p.value); }
template <class R>
inline int32x4_t apply_prepared(const prepared_fixed_point<R>& p, int32x4_t v) {
  if constexpr (std::is_same_v<R, single_rounding>) {
    return multiply_by_quantized_multiplier_single_rounding(v, p.multiplier, p.shift);
  } else if constexpr (std::is_same_v<R, single_rounding_away>) {
    return multiply_by_quantized_multiplier_single_rounding_away(v, p.multiplier, p.shift);
  } else if constexpr (std::is_same_v<R, double_rounding_up>) {
    return multiply_by_quantized_multiplier_double_rounding_up_split(v, p.multiplier, p.left, p.neg_right);
  } else {
    static_assert(std::is_same_v<R, double_rounding>, "qsparse: a fixed-point rounding without a NEON evaluator");
    return multiply_by_quantized_multiplier_split(v, p.multiplier, p.left, p.neg_right);
  }
}
inline int32x4_t apply_prepared(const prepared_saturating_cast&, int32x4_t v) { return v; }
inline int32x4_t apply_prepared(const prepared_round_scale& p, int32x4_t v) {
  // fcvtns: nearest, ties to even, saturating (>= 2^31 → INT32_MAX, < -2^31 → INT32_MIN), whatever FPCR says.
  return vcvtnq_s32_f32(vmulq_f32(vcvtq_f32_s32(v), p.scale));
}
inline int32x4_t apply_prepared(const prepared_clamp& p, int32x4_t v) { return vminq_s32(vmaxq_s32(v, p.lo), p.hi); }
inline float32x4_t apply_prepared(const prepared_dequantize& p, int32x4_t v) {
  float32x4_t product = vmulq_f32(vcvtq_f32_s32(v), p.scale);
  QSPARSE_KEEP_ROUNDED(product);  // the definition rounds the product before the add: no fmla
  return p.has_bias ? vaddq_f32(product, p.bias) : product;
}
inline float32x4_t apply_prepared(const prepared_clamp_float& p, float32x4_t v) {
  // As the definition: v < lo → lo, v > hi → hi, anything else (NaN, -0.0 against 0.0) unchanged.
  v = vbslq_f32(vcgtq_f32(v, p.hi), p.hi, v);
  return vbslq_f32(vcltq_f32(v, p.lo), p.lo, v);
}

template <class... S, std::size_t... I>
inline auto prepare_all(const output_pipeline<S...>& p, std::ptrdiff_t n, int count, std::index_sequence<I...>) {
  (void)n;  // unused by the empty pipeline
  (void)count;
  return std::make_tuple(prepare_stage(std::get<I>(p.stages), n, count)...);
}

/// The pipeline's stages prepared for columns n .. n+count-1 (count in 1..4; no parameter beyond is read).
template <class... S>
inline auto prepare(const output_pipeline<S...>& p, std::ptrdiff_t n, int count) {
  return prepare_all(p, n, count, std::index_sequence_for<S...>{});
}

template <std::size_t I, class Prepared, class V>
inline auto apply_all(const Prepared& prepared, V v) {
  if constexpr (I == std::tuple_size_v<Prepared>) {
    return v;
  } else {
    return apply_all<I + 1>(prepared, apply_prepared(std::get<I>(prepared), v));
  }
}

/// Stores the first `count` (1..4) of 4 values the stages produced (apply_all) as Out.
template <class Out, class V>
inline void store_applied(V v, int count, Out* dst) {
  if constexpr (std::is_same_v<Out, float>) {
    if (count == 4) {
      vst1q_f32(dst, v);
    } else {
      float t[4];
      vst1q_f32(t, v);
      std::memcpy(dst, t, static_cast<std::size_t>(count) * sizeof(float));
    }
  } else if constexpr (std::is_same_v<Out, std::int32_t>) {  // saturating_cast<int32_t> changes nothing
    if (count == 4) {
      vst1q_s32(dst, v);
    } else {
      std::int32_t t[4];
      vst1q_s32(t, v);
      std::memcpy(dst, t, static_cast<std::size_t>(count) * sizeof(std::int32_t));
    }
  } else {
    // The pipeline ends with saturating_cast<Out> (the only stage with an 8/16-bit output): sqxtn to int16,
    // then sqxtn / sqxtun to int8 / uint8, is that clamp.
    Out t[8];
    const int16x4_t words = vqmovn_s32(v);
    if constexpr (std::is_same_v<Out, std::int16_t>) {
      vst1_s16(t, words);
    } else if constexpr (std::is_same_v<Out, std::int8_t>) {
      vst1_s8(t, vqmovn_s16(vcombine_s16(words, words)));
    } else {
      static_assert(std::is_same_v<Out, std::uint8_t>, "neon::store_prepared: float, int32, int16, int8 or uint8");
      vst1_u8(t, vqmovun_s16(vcombine_s16(words, words)));
    }
    std::memcpy(dst, t, static_cast<std::size_t>(count) * sizeof(Out));
  }
}

/// Applies prepared stages to 4 accumulators of one row and stores the first `count` (1..4) as Out.
template <class Out, class Prepared>
inline void store_prepared(const Prepared& prepared, int32x4_t acc, int count, Out* dst) {
  store_applied(apply_all<0>(prepared, acc), count, dst);
}

/// The epilogue of drivers::s8s8_s32_tile in SIMD: the zero-point terms added to the tile's sums (modulo
/// 2^32, exact because the entry point guarantees the true sum fits int32), then the pipeline on 4 columns
/// at a time, prepared once per 4 columns of the panel:
///   exact[r][n] = sums[r][n] - (a_zp - o)(colsum[n] - K w_zp) - w_zp row_sums[r]   (o = 128 for uint8 rows)
template <int NR, class G, class Pipeline>
inline void store_s8s8_tile(const G& g, const Pipeline& pipeline, const std::int32_t* sums,
                            const std::int32_t* row_sums, int rows, std::ptrdiff_t m0, std::ptrdiff_t n0) {
  using A = std::remove_const_t<std::remove_pointer_t<decltype(g.a)>>;
  constexpr std::int32_t offset = std::is_same_v<A, std::uint8_t> ? 128 : 0;
  const auto a_zp = static_cast<std::uint32_t>(g.a_zero_point - offset);
  const auto w_zp = static_cast<std::uint32_t>(g.weights.weight_zero_point());
  const std::uint32_t k_wzp = static_cast<std::uint32_t>(g.k) * w_zp;
  const std::int32_t* column_sums = g.weights.column_sums() + n0;  // padded to NR: in bounds
  const std::ptrdiff_t columns = g.n - n0 < NR ? g.n - n0 : NR;
  for (int j = 0; j < NR / 4; ++j) {
    const std::ptrdiff_t left = columns - 4 * j;
    if (left <= 0) break;
    const int count = static_cast<int>(left >= 4 ? 4 : left);
    const auto prepared = prepare(pipeline, n0 + 4 * j, count);
    const uint32x4_t column_term = vmulq_n_u32(
        vsubq_u32(vreinterpretq_u32_s32(vld1q_s32(column_sums + 4 * j)), vdupq_n_u32(k_wzp)), a_zp);
    for (int r = 0; r < rows; ++r) {
      const std::uint32_t row_term = w_zp * static_cast<std::uint32_t>(row_sums[r]);
      const uint32x4_t s = vreinterpretq_u32_s32(vld1q_s32(sums + r * NR + 4 * j));
      const int32x4_t exact = vreinterpretq_s32_u32(vsubq_u32(vsubq_u32(s, column_term), vdupq_n_u32(row_term)));
      store_prepared(prepared, exact, count, g.dst + (m0 + r) * g.ldd + n0 + 4 * j);
    }
  }
}

}  // namespace qsparse::kernels::neon

QSPARSE_SIMD_DIAGNOSTICS_END

#endif  // QSPARSE_AARCH64
