// qsparse/spec/output_stages.hpp — what a GEMM does with its int32 accumulators: a pipeline of output
// stages, composed at compile time (gemmlowp's model, public/output_stages.h; docs/numerics.md).
//
//   auto out = qsparse::pipeline(qsparse::bias_add{bias},
//                                qsparse::requantize_fixed_point_per_channel<qsparse::double_rounding>{m, s},
//                                qsparse::add_zero_point{-3}, qsparse::clamp{-128, 127},
//                                qsparse::saturating_cast<std::int8_t>{});
//   qsparse::gemm(ctx, qsparse::quantized(a, a_zp), packed, dst, out);
//
// A stage holds only parameters (pointers to the caller's arrays, indexed by output column n, or
// scalars). The pipeline is a std::tuple of stages; its output type follows from the stages
// (output_t). `evaluate(pipeline, acc, m, n)` below is the scalar definition of every stage — the SIMD
// evaluators in kernels/<isa>/output_pipeline.hpp are tested bit-exact against it.
//
// Stages (value type in → out):
//   bias_add{const int32_t* bias}                      int32 → int32   acc + bias[n], saturating
//   requantize_fixed_point<R>{quantized_multiplier}    int32 → int32   R::apply(acc, M, shift), R is
//   requantize_fixed_point_per_channel<R>{M*, shift*}  int32 → int32   double_rounding (TFLite default),
//                                                                      single_rounding, single_rounding_away
//                                                                      or double_rounding_up; per column n
//   requantize_float{float scale}                      int32 → int32   round_half_to_even(float(acc) * scale),
//   requantize_float_per_channel{const float* scales}  int32 → int32   saturated to int32 (XNNPACK fp32,
//                                                                      PyTorch/fbgemm, ONNX)
//   add_zero_point{int32 zero_point}                   int32 → int32   acc + zero_point, saturating
//   clamp{int32 min, int32 max}                        int32 → int32   fused ReLU / ReLU6 / output range
//   saturating_cast<T>{}   T = int8, uint8, int16      int32 → T
//   dequantize_float{float scale, const float* bias}   int32 → float   float(acc) * scale (+ bias[n]), the
//   dequantize_float_per_channel{scales*, bias*}       int32 → float   product rounded before the add
//   clamp_float{float min, float max}                  float → float   fused activation on float output
// An empty pipeline outputs the raw accumulators (int32 for the int8 GEMM).
//
// Stages that start from other accumulators (the 16x8 GEMM's int64 sums, the float16-weight GEMM's
// float sums; docs/numerics.md):
//   bias_add_int64{const int64_t* bias}                int64 → int64   acc + bias[n]; never overflows:
//                                                                      the 16x8 entry bounds |acc| and
//                                                                      |bias| up front (gemm_16x8.hpp)
//   basic_requantize_fixed_point_int64<R>{quantized_multiplier}     int64 → int32   R::apply(acc, M, shift)
//   basic_requantize_fixed_point_int64_per_channel<R>{M*, s*}       int64 → int32   per column n; R is
//     reduced_multiplier_rounding (TFLite's MultiplyByQuantizedMultiplier(int64): 15-bit multiplier, one
//     rounding, ties up, needs |acc| < 2^47; the aliases requantize_fixed_point_int64[_per_channel]) or
//     single_rounding_away (the full multiplier, ties away, any acc: TFLite's reference FC 16x8)
//   bias_add_float{const float* bias}                  float → float   acc + bias[n] (one rounding)
// A pipeline's accumulator_type is the input of its first stage (int64 for the int64 stages, float for
// bias_add_float and clamp_float, int32 otherwise and for the empty pipeline); output_type follows from
// it. output_type_from<Acc> is the output when the GEMM's accumulators are Acc (what an empty pipeline
// needs: it outputs whatever the GEMM accumulates).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <tuple>
#include <type_traits>
#include <utility>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/core/unfused.hpp"
#include "qsparse/quant/fixed_point.hpp"
#include "qsparse/quant/rounding.hpp"

namespace qsparse {

/// Adds bias[n] (int32, one per output column) with int32 saturation.
struct bias_add {
  const std::int32_t* bias;
  bias_add offset_columns(std::ptrdiff_t n0) const noexcept { return {bias + n0}; }
};

/// TFLite MultiplyByQuantizedMultiplier with one multiplier for the whole output.
template <class Rounding>
struct requantize_fixed_point {
  quantized_multiplier multiplier;
  static constexpr bool per_column = false;
};

/// TFLite MultiplyByQuantizedMultiplier per output column: multipliers[n], shifts[n].
template <class Rounding>
struct requantize_fixed_point_per_channel {
  const std::int32_t* multipliers;
  const int* shifts;
  requantize_fixed_point_per_channel offset_columns(std::ptrdiff_t n0) const noexcept {
    return {multipliers + n0, shifts + n0};
  }
};

/// round_half_to_even(float(acc) * scale), saturated to int32 (XNNPACK "fp32", PyTorch, ONNX).
struct requantize_float {
  float scale;
  static constexpr bool per_column = false;
};

/// As requantize_float with scales[n] per output column.
struct requantize_float_per_channel {
  const float* scales;
  requantize_float_per_channel offset_columns(std::ptrdiff_t n0) const noexcept { return {scales + n0}; }
};

/// Adds the output zero point with int32 saturation.
struct add_zero_point {
  std::int32_t zero_point;
  static constexpr bool per_column = false;
};

/// Clamps int32 values to [min, max] (fused ReLU/ReLU6 in the quantized domain).
struct clamp {
  std::int32_t min;
  std::int32_t max;
  static constexpr bool per_column = false;
};

/// Saturates int32 values to T (int8, uint8 or int16) and makes T the output type.
template <class T>
struct saturating_cast {
  static_assert(std::is_same_v<T, std::int8_t> || std::is_same_v<T, std::uint8_t> || std::is_same_v<T, std::int16_t>,
                "qsparse::saturating_cast<T>: T must be std::int8_t, std::uint8_t or std::int16_t.");
  static constexpr bool per_column = false;
};

/// float(acc) * scale, then + bias[n] when bias is not null (two roundings, never fused).
struct dequantize_float {
  float scale;
  const float* bias;
  dequantize_float offset_columns(std::ptrdiff_t n0) const noexcept {
    return {scale, bias != nullptr ? bias + n0 : nullptr};
  }
};

/// float(acc) * scales[n], then + bias[n] when bias is not null.
struct dequantize_float_per_channel {
  const float* scales;
  const float* bias;
  dequantize_float_per_channel offset_columns(std::ptrdiff_t n0) const noexcept {
    return {scales + n0, bias != nullptr ? bias + n0 : nullptr};
  }
};

/// Clamps float values to [min, max] (fused activation on float output).
struct clamp_float {
  float min;
  float max;
  static constexpr bool per_column = false;
};

/// Adds bias[n] (int64, one per output column) to an int64 accumulator (16x8 GEMM). The entry point
/// checks up front that K * 2^22 + max|bias| cannot overflow (and stays below 2^47 before an int64
/// requantization), so the add is plain.
struct bias_add_int64 {
  const std::int64_t* bias;
  bias_add_int64 offset_columns(std::ptrdiff_t n0) const noexcept { return {bias + n0}; }
};

/// Requantization of int64 accumulators (int64 → int32) by the int64 rounding policy R
/// (reduced_multiplier_rounding or single_rounding_away, qsparse/quant/fixed_point.hpp), one multiplier for
/// the whole output.
template <class Rounding>
struct basic_requantize_fixed_point_int64 {
  quantized_multiplier multiplier;
  static constexpr bool per_column = false;
};

/// The same per output column: multipliers[n], shifts[n].
template <class Rounding>
struct basic_requantize_fixed_point_int64_per_channel {
  const std::int32_t* multipliers;
  const int* shifts;
  basic_requantize_fixed_point_int64_per_channel offset_columns(std::ptrdiff_t n0) const noexcept {
    return {multipliers + n0, shifts + n0};
  }
};

/// TFLite MultiplyByQuantizedMultiplier for int64 accumulators (15-bit multiplier, ties up; multiplier >= 0,
/// shift in [-31, 7], |acc| < 2^47): TFLite's CONV_2D 16x8.
using requantize_fixed_point_int64 = basic_requantize_fixed_point_int64<reduced_multiplier_rounding>;
/// The same per output column.
using requantize_fixed_point_int64_per_channel =
    basic_requantize_fixed_point_int64_per_channel<reduced_multiplier_rounding>;

/// Adds bias[n] to a float accumulator (float16-weight GEMM): one IEEE addition, rounded to nearest.
struct bias_add_float {
  const float* bias;
  bias_add_float offset_columns(std::ptrdiff_t n0) const noexcept { return {bias + n0}; }
};

namespace detail {

template <class Stage>
struct is_builtin_stage : std::false_type {};
template <>
struct is_builtin_stage<bias_add> : std::true_type {};
template <class R>
struct is_builtin_stage<requantize_fixed_point<R>> : std::true_type {};
template <class R>
struct is_builtin_stage<requantize_fixed_point_per_channel<R>> : std::true_type {};
template <>
struct is_builtin_stage<requantize_float> : std::true_type {};
template <>
struct is_builtin_stage<requantize_float_per_channel> : std::true_type {};
template <>
struct is_builtin_stage<add_zero_point> : std::true_type {};
template <>
struct is_builtin_stage<clamp> : std::true_type {};
template <class T>
struct is_builtin_stage<saturating_cast<T>> : std::true_type {};
template <>
struct is_builtin_stage<dequantize_float> : std::true_type {};
template <>
struct is_builtin_stage<dequantize_float_per_channel> : std::true_type {};
template <>
struct is_builtin_stage<clamp_float> : std::true_type {};
template <>
struct is_builtin_stage<bias_add_int64> : std::true_type {};
template <class R>
struct is_builtin_stage<basic_requantize_fixed_point_int64<R>> : std::true_type {};
template <class R>
struct is_builtin_stage<basic_requantize_fixed_point_int64_per_channel<R>> : std::true_type {};
template <>
struct is_builtin_stage<bias_add_float> : std::true_type {};

/// A stage written outside the library (docs/kernels.md, "Writing an output stage"): a struct with
///   using input_type = ...;  using output_type = ...;     int32_t, int64_t or float in; an arithmetic type out
///   output_type apply(input_type v, std::ptrdiff_t m, std::ptrdiff_t n) const;   its scalar definition
///   Stage offset_columns(std::ptrdiff_t n0) const;  or  static constexpr bool per_column = false;
///   void validate(std::ptrdiff_t columns, const char* function) const;            (optional)
template <class Stage, class = void>
struct is_custom_stage : std::false_type {};
template <class Stage>
struct is_custom_stage<Stage, std::void_t<typename Stage::input_type, typename Stage::output_type,
                                          decltype(std::declval<const Stage&>().apply(
                                              std::declval<typename Stage::input_type>(), std::ptrdiff_t{},
                                              std::ptrdiff_t{}))>>
    : std::bool_constant<!is_builtin_stage<Stage>::value &&
                         std::is_arithmetic_v<typename Stage::output_type> &&
                         std::is_convertible_v<decltype(std::declval<const Stage&>().apply(
                                                   std::declval<typename Stage::input_type>(), std::ptrdiff_t{},
                                                   std::ptrdiff_t{})),
                                               typename Stage::output_type>> {};
template <class Stage>
inline constexpr bool is_custom_stage_v = is_custom_stage<Stage>::value;

template <class Stage>
inline constexpr bool is_stage_v = is_builtin_stage<Stage>::value || is_custom_stage_v<Stage>;

/// Whether a pipeline holds a stage the kernels have no SIMD evaluator for: a stage written outside the
/// library (the entry points run its kernels to raw accumulators and the scalar definition over them), or
/// a type that is no stage (reported by output_pipeline's static_assert; routed the same way so that the
/// kernels add no errors of their own).
template <class... Stages>
inline constexpr bool has_custom_stage_v = (!is_builtin_stage<Stages>::value || ...);

template <class Stage, class = void>
struct has_offset_columns : std::false_type {};
template <class Stage>
struct has_offset_columns<Stage,
                          std::void_t<decltype(std::declval<const Stage&>().offset_columns(std::ptrdiff_t{}))>>
    : std::is_same<decltype(std::declval<const Stage&>().offset_columns(std::ptrdiff_t{})), Stage> {};

template <class Stage, class = void>
struct declares_no_columns : std::false_type {};
template <class Stage>
struct declares_no_columns<Stage, std::void_t<decltype(Stage::per_column)>>
    : std::bool_constant<!Stage::per_column> {};

template <class Stage, class = void>
struct has_validate : std::false_type {};
template <class Stage>
struct has_validate<Stage, std::void_t<decltype(std::declval<const Stage&>().validate(
                               std::ptrdiff_t{}, static_cast<const char*>(nullptr)))>> : std::true_type {};

template <class Stage, class In, class = void>
struct stage_output {
  // A type that is no stage at all is reported once, by output_pipeline; here a stage out of order.
  static_assert(!is_stage_v<Stage>,
                "qsparse: this type is not an output stage, or it does not accept the value type the previous "
                "stage produces (int32 stages must come before saturating_cast / dequantize_float, float stages "
                "after dequantize_float; a stage of your own needs input_type, output_type and a const "
                "apply(value, m, n): docs/kernels.md, \"Writing an output stage\").");
  using type = In;  // no further errors after the sentence above
};
template <class Stage, class In>
struct stage_output<Stage, In, std::enable_if_t<is_custom_stage_v<Stage>>> {
  static_assert(std::is_same_v<In, typename Stage::input_type>,
                "qsparse: the input_type of this output stage is not the value type the previous stage produces "
                "(for the first stage: the GEMM's accumulator, int32 for the int8 GEMM).");
  static_assert(has_offset_columns<Stage>::value || declares_no_columns<Stage>::value,
                "qsparse: this output stage does not say how its per-column data moves in a grouped convolution: "
                "give it `Stage offset_columns(std::ptrdiff_t n0) const` (per-column arrays advanced by n0), or "
                "`static constexpr bool per_column = false;` when it has none.");
  using type = typename Stage::output_type;
};
template <>
struct stage_output<bias_add, std::int32_t> { using type = std::int32_t; };
template <class R>
struct stage_output<requantize_fixed_point<R>, std::int32_t> { using type = std::int32_t; };
template <class R>
struct stage_output<requantize_fixed_point_per_channel<R>, std::int32_t> { using type = std::int32_t; };
template <>
struct stage_output<requantize_float, std::int32_t> { using type = std::int32_t; };
template <>
struct stage_output<requantize_float_per_channel, std::int32_t> { using type = std::int32_t; };
template <>
struct stage_output<add_zero_point, std::int32_t> { using type = std::int32_t; };
template <>
struct stage_output<clamp, std::int32_t> { using type = std::int32_t; };
template <class T>
struct stage_output<saturating_cast<T>, std::int32_t> { using type = T; };
template <>
struct stage_output<dequantize_float, std::int32_t> { using type = float; };
template <>
struct stage_output<dequantize_float_per_channel, std::int32_t> { using type = float; };
template <>
struct stage_output<clamp_float, float> { using type = float; };
template <>
struct stage_output<bias_add_int64, std::int64_t> { using type = std::int64_t; };
template <class R>
struct stage_output<basic_requantize_fixed_point_int64<R>, std::int64_t> { using type = std::int32_t; };
template <class R>
struct stage_output<basic_requantize_fixed_point_int64_per_channel<R>, std::int64_t> { using type = std::int32_t; };
template <>
struct stage_output<bias_add_float, float> { using type = float; };

template <class Stage>
struct is_int64_requantize : std::false_type {};
template <class R>
struct is_int64_requantize<basic_requantize_fixed_point_int64<R>> : std::true_type {};
template <class R>
struct is_int64_requantize<basic_requantize_fixed_point_int64_per_channel<R>> : std::true_type {};
/// Whether Stage requantizes int64 accumulators (either rounding, per tensor or per channel).
template <class Stage>
inline constexpr bool is_int64_requantize_v = is_int64_requantize<Stage>::value;

/// The accumulator type a pipeline starts from: the input type of its first stage.
template <class... Stages>
struct pipeline_accumulator { using type = std::int32_t; };
template <class First, class... Rest>
struct pipeline_accumulator<First, Rest...> {
  template <class S, bool Custom = is_custom_stage_v<S>>
  struct custom_input { using type = std::int32_t; };
  template <class S>
  struct custom_input<S, true> { using type = typename S::input_type; };
  using type = std::conditional_t<is_custom_stage_v<First>, typename custom_input<First>::type, std::conditional_t<
      std::is_same_v<First, bias_add_int64> || is_int64_requantize_v<First>,
      std::int64_t,
      std::conditional_t<std::is_same_v<First, bias_add_float> || std::is_same_v<First, clamp_float>, float,
                         std::int32_t>>>;
};

template <class In, class... Stages>
struct pipeline_output;
template <class In>
struct pipeline_output<In> { using type = In; };
template <class In, class First, class... Rest>
struct pipeline_output<In, First, Rest...> {
  using type = typename pipeline_output<typename stage_output<First, In>::type, Rest...>::type;
};

template <class R>
inline constexpr bool is_fixed_point_rounding_v =
    std::is_same_v<R, double_rounding> || std::is_same_v<R, single_rounding> ||
    std::is_same_v<R, single_rounding_away> || std::is_same_v<R, double_rounding_up>;
template <class R>
inline constexpr bool is_int64_fixed_point_rounding_v =
    std::is_same_v<R, reduced_multiplier_rounding> || std::is_same_v<R, single_rounding_away>;

}  // namespace detail

/// A compile-time sequence of output stages.
template <class... Stages>
struct output_pipeline {
  static_assert((detail::is_stage_v<Stages> && ...),
                "qsparse: every stage of a pipeline must be one of qsparse's output stages or a struct of your own "
                "with input_type, output_type and a const apply(value, m, n) (docs/kernels.md, \"Writing an "
                "output stage\").");
  std::tuple<Stages...> stages;
  /// The value type the first stage reads (std::int32_t for the empty pipeline).
  using accumulator_type = typename detail::pipeline_accumulator<Stages...>::type;
  /// The element type the pipeline writes (std::int32_t for the empty pipeline).
  using output_type = typename detail::pipeline_output<accumulator_type, Stages...>::type;
  /// The element type the pipeline writes when applied to accumulators of type Acc.
  template <class Acc>
  using output_type_from = typename detail::pipeline_output<Acc, Stages...>::type;
  static constexpr std::size_t size = sizeof...(Stages);
};

template <class P>
struct is_output_pipeline : std::false_type {};
template <class... S>
struct is_output_pipeline<output_pipeline<S...>> : std::true_type {};
template <class P>
inline constexpr bool is_output_pipeline_v = is_output_pipeline<P>::value;

/// Builds a pipeline from stages (none: raw int32 output).
template <class... Stages>
constexpr output_pipeline<Stages...> pipeline(Stages... stages) {
  return output_pipeline<Stages...>{std::tuple<Stages...>{stages...}};
}

namespace detail {

constexpr std::int32_t saturate_int32(std::int64_t v) noexcept {
  constexpr std::int64_t lo = std::numeric_limits<std::int32_t>::min();
  constexpr std::int64_t hi = std::numeric_limits<std::int32_t>::max();
  return static_cast<std::int32_t>(v < lo ? lo : (v > hi ? hi : v));
}

/// float → int32 rounding ties to even, saturating (v >= 2^31 → INT32_MAX, v < -2^31 → INT32_MIN).
/// `v` is never NaN here (finite accumulators times finite scales).
inline std::int32_t round_to_int32_half_even(float v) noexcept {
  if (v >= 2147483648.0f) return std::numeric_limits<std::int32_t>::max();
  if (v < -2147483648.0f) return std::numeric_limits<std::int32_t>::min();
  return static_cast<std::int32_t>(round_half_to_even::round(v));
}

// Scalar definition of each stage: apply(stage, value, row m, column n).
inline std::int32_t apply_stage(const bias_add& s, std::int32_t v, std::ptrdiff_t, std::ptrdiff_t n) noexcept {
  return saturate_int32(std::int64_t{v} + s.bias[n]);
}
template <class R>
inline std::int32_t apply_stage(const requantize_fixed_point<R>& s, std::int32_t v, std::ptrdiff_t,
                                std::ptrdiff_t) noexcept {
  return R::apply(v, s.multiplier.multiplier, s.multiplier.shift);
}
template <class R>
inline std::int32_t apply_stage(const requantize_fixed_point_per_channel<R>& s, std::int32_t v, std::ptrdiff_t,
                                std::ptrdiff_t n) noexcept {
  return R::apply(v, s.multipliers[n], s.shifts[n]);
}
inline std::int32_t apply_stage(const requantize_float& s, std::int32_t v, std::ptrdiff_t, std::ptrdiff_t) noexcept {
  return round_to_int32_half_even(static_cast<float>(v) * s.scale);
}
inline std::int32_t apply_stage(const requantize_float_per_channel& s, std::int32_t v, std::ptrdiff_t,
                                std::ptrdiff_t n) noexcept {
  return round_to_int32_half_even(static_cast<float>(v) * s.scales[n]);
}
inline std::int32_t apply_stage(const add_zero_point& s, std::int32_t v, std::ptrdiff_t, std::ptrdiff_t) noexcept {
  return saturate_int32(std::int64_t{v} + s.zero_point);
}
inline std::int32_t apply_stage(const clamp& s, std::int32_t v, std::ptrdiff_t, std::ptrdiff_t) noexcept {
  return v < s.min ? s.min : (v > s.max ? s.max : v);
}
template <class T>
inline T apply_stage(const saturating_cast<T>&, std::int32_t v, std::ptrdiff_t, std::ptrdiff_t) noexcept {
  constexpr std::int32_t lo = std::numeric_limits<T>::min();
  constexpr std::int32_t hi = std::numeric_limits<T>::max();
  return static_cast<T>(v < lo ? lo : (v > hi ? hi : v));
}
inline float apply_stage(const dequantize_float& s, std::int32_t v, std::ptrdiff_t, std::ptrdiff_t n) noexcept {
  const float p = product_not_fused(static_cast<float>(v), s.scale);
  return s.bias != nullptr ? p + s.bias[n] : p;
}
inline float apply_stage(const dequantize_float_per_channel& s, std::int32_t v, std::ptrdiff_t,
                         std::ptrdiff_t n) noexcept {
  const float p = product_not_fused(static_cast<float>(v), s.scales[n]);
  return s.bias != nullptr ? p + s.bias[n] : p;
}
inline float apply_stage(const clamp_float& s, float v, std::ptrdiff_t, std::ptrdiff_t) noexcept {
  return v < s.min ? s.min : (v > s.max ? s.max : v);  // NaN passes through
}
inline std::int64_t apply_stage(const bias_add_int64& s, std::int64_t v, std::ptrdiff_t, std::ptrdiff_t n) noexcept {
  return v + s.bias[n];  // bounded up front by the entry point: cannot overflow
}
template <class R>
inline std::int32_t apply_stage(const basic_requantize_fixed_point_int64<R>& s, std::int64_t v, std::ptrdiff_t,
                                std::ptrdiff_t) noexcept {
  return R::apply(v, s.multiplier.multiplier, s.multiplier.shift);
}
template <class R>
inline std::int32_t apply_stage(const basic_requantize_fixed_point_int64_per_channel<R>& s, std::int64_t v,
                                std::ptrdiff_t, std::ptrdiff_t n) noexcept {
  return R::apply(v, s.multipliers[n], s.shifts[n]);
}
inline float apply_stage(const bias_add_float& s, float v, std::ptrdiff_t, std::ptrdiff_t n) noexcept {
  return v + s.bias[n];
}

template <class Stage, class V, std::enable_if_t<is_custom_stage_v<Stage>, int> = 0>
inline typename Stage::output_type apply_stage(const Stage& s, V v, std::ptrdiff_t m, std::ptrdiff_t n) {
  return static_cast<typename Stage::output_type>(s.apply(static_cast<typename Stage::input_type>(v), m, n));
}
/// A type that is no stage: output_pipeline has reported it; nothing more to say.
template <class Stage, class V, std::enable_if_t<!is_stage_v<Stage>, int> = 0>
inline V apply_stage(const Stage&, V v, std::ptrdiff_t, std::ptrdiff_t) noexcept {
  return v;
}

template <std::size_t I, class... S, class V>
inline auto evaluate_from(const output_pipeline<S...>& p, V v, std::ptrdiff_t m, std::ptrdiff_t n) noexcept {
  if constexpr (I == sizeof...(S)) {
    return v;
  } else {
    return evaluate_from<I + 1>(p, apply_stage(std::get<I>(p.stages), v, m, n), m, n);
  }
}

// Validation of each stage against the number of output columns; `function` prefixes the message.
inline void validate_stage(const bias_add& s, std::ptrdiff_t, const char* function) {
  check(s.bias != nullptr, function, ": bias_add.bias must not be null");
}
template <class R>
inline void validate_stage(const requantize_fixed_point<R>& s, std::ptrdiff_t, const char* function) {
  static_assert(is_fixed_point_rounding_v<R>,
                "qsparse::requantize_fixed_point<R>: R must be qsparse::double_rounding, single_rounding, "
                "single_rounding_away or double_rounding_up.");
  check(s.multiplier.multiplier >= 0 && R::accepts(s.multiplier.multiplier, s.multiplier.shift), function,
        ": requantize_fixed_point<", R::name, "> needs multiplier >= 0 and a shift the rounding accepts, got multiplier = ",
        s.multiplier.multiplier, ", shift = ", s.multiplier.shift);
}
template <class R>
inline void validate_stage(const requantize_fixed_point_per_channel<R>& s, std::ptrdiff_t columns,
                           const char* function) {
  static_assert(is_fixed_point_rounding_v<R>,
                "qsparse::requantize_fixed_point_per_channel<R>: R must be qsparse::double_rounding, "
                "single_rounding, single_rounding_away or double_rounding_up.");
  check(s.multipliers != nullptr && s.shifts != nullptr, function,
        ": requantize_fixed_point_per_channel needs non-null multipliers and shifts");
  for (std::ptrdiff_t n = 0; n < columns; ++n) {
    check(s.multipliers[n] >= 0 && R::accepts(s.multipliers[n], s.shifts[n]), function,
          ": requantize_fixed_point_per_channel<", R::name,
          "> needs multipliers >= 0 and shifts the rounding accepts, got multipliers[", n, "] = ", s.multipliers[n],
          ", shifts[", n, "] = ", s.shifts[n]);
  }
}
inline void check_scale(float scale, const char* function, const char* what, std::ptrdiff_t n) {
  if (std::isfinite(scale) && scale > 0.0f) return;  // the message is only formatted on failure
  raise(concat(function, ": ", what, " must be positive and finite, got ", what, n >= 0 ? "[" : "",
               n >= 0 ? concat(n) : std::string(), n >= 0 ? "]" : "", " = ", scale));
}
/// check_scale over scales[0 .. columns): one branch-free pass (per-channel scales are checked on every
/// call, so the pass must cost next to nothing), then the first bad scale named if there is one.
inline void check_scales(const float* scales, std::ptrdiff_t columns, const char* function, const char* what) {
  bool ok = true;
  for (std::ptrdiff_t n = 0; n < columns; ++n) {
    ok &= (scales[n] > 0.0f) & (scales[n] <= std::numeric_limits<float>::max());  // false for NaN
  }
  if (ok) return;
  for (std::ptrdiff_t n = 0; n < columns; ++n) check_scale(scales[n], function, what, n);
}
inline void validate_stage(const requantize_float& s, std::ptrdiff_t, const char* function) {
  check_scale(s.scale, function, "requantize_float.scale", -1);
}
inline void validate_stage(const requantize_float_per_channel& s, std::ptrdiff_t columns, const char* function) {
  check(s.scales != nullptr, function, ": requantize_float_per_channel.scales must not be null");
  check_scales(s.scales, columns, function, "requantize_float_per_channel.scales");
}
inline void validate_stage(const add_zero_point&, std::ptrdiff_t, const char*) {}
inline void validate_stage(const clamp& s, std::ptrdiff_t, const char* function) {
  check(s.min <= s.max, function, ": clamp needs min <= max, got min = ", s.min, ", max = ", s.max);
}
template <class T>
inline void validate_stage(const saturating_cast<T>&, std::ptrdiff_t, const char*) {}
inline void validate_stage(const dequantize_float& s, std::ptrdiff_t, const char* function) {
  check_scale(s.scale, function, "dequantize_float.scale", -1);
}
inline void validate_stage(const dequantize_float_per_channel& s, std::ptrdiff_t columns, const char* function) {
  check(s.scales != nullptr, function, ": dequantize_float_per_channel.scales must not be null");
  check_scales(s.scales, columns, function, "dequantize_float_per_channel.scales");
}
inline void validate_stage(const clamp_float& s, std::ptrdiff_t, const char* function) {
  check(s.min <= s.max, function, ": clamp_float needs min <= max, got min = ", s.min, ", max = ", s.max);
}
inline void validate_stage(const bias_add_int64& s, std::ptrdiff_t, const char* function) {
  check(s.bias != nullptr, function, ": bias_add_int64.bias must not be null");
}
/// The shift range of an int64 rounding policy, for messages.
template <class R>
constexpr const char* int64_shift_range() noexcept {
  return std::is_same_v<R, reduced_multiplier_rounding> ? "[-31, 7]" : "[-31, 30]";
}
template <class R>
inline void validate_stage(const basic_requantize_fixed_point_int64<R>& s, std::ptrdiff_t, const char* function) {
  static_assert(is_int64_fixed_point_rounding_v<R>,
                "qsparse::basic_requantize_fixed_point_int64<R>: R must be qsparse::reduced_multiplier_rounding or "
                "qsparse::single_rounding_away.");
  check(R::accepts(s.multiplier.multiplier, s.multiplier.shift), function, ": requantize_fixed_point_int64<", R::name,
        "> needs multiplier >= 0 and shift in ", int64_shift_range<R>(), ", got multiplier = ",
        s.multiplier.multiplier, ", shift = ", s.multiplier.shift);
}
template <class R>
inline void validate_stage(const basic_requantize_fixed_point_int64_per_channel<R>& s, std::ptrdiff_t columns,
                           const char* function) {
  static_assert(is_int64_fixed_point_rounding_v<R>,
                "qsparse::basic_requantize_fixed_point_int64_per_channel<R>: R must be "
                "qsparse::reduced_multiplier_rounding or qsparse::single_rounding_away.");
  check(s.multipliers != nullptr && s.shifts != nullptr, function,
        ": requantize_fixed_point_int64_per_channel needs non-null multipliers and shifts");
  for (std::ptrdiff_t n = 0; n < columns; ++n) {
    check(R::accepts(s.multipliers[n], s.shifts[n]), function, ": requantize_fixed_point_int64_per_channel<", R::name,
          "> needs multipliers >= 0 and shifts in ", int64_shift_range<R>(), ", got multipliers[", n,
          "] = ", s.multipliers[n], ", shifts[", n, "] = ", s.shifts[n]);
  }
}
inline void validate_stage(const bias_add_float& s, std::ptrdiff_t, const char* function) {
  check(s.bias != nullptr, function, ": bias_add_float.bias must not be null");
}
template <class Stage, std::enable_if_t<is_custom_stage_v<Stage>, int> = 0>
inline void validate_stage(const Stage& s, std::ptrdiff_t columns, const char* function) {
  if constexpr (has_validate<Stage>::value) s.validate(columns, function);
}
template <class Stage, std::enable_if_t<!is_stage_v<Stage>, int> = 0>
inline void validate_stage(const Stage&, std::ptrdiff_t, const char*) noexcept {}  // reported by output_pipeline

/// The stage for output columns n0, n0 + 1, ... (grouped convolution runs one GEMM per group whose column
/// n is the layer's channel n0 + n): every stage declares how its per-column data moves, so a new stage
/// cannot be silently mis-offset.
template <class Stage>
inline Stage offset_stage(const Stage& s, std::ptrdiff_t n0) noexcept {
  static_assert(has_offset_columns<Stage>::value || declares_no_columns<Stage>::value,
                "qsparse: this output stage does not say how its per-column data moves in a grouped convolution: "
                "give it `Stage offset_columns(std::ptrdiff_t n0) const` (per-column arrays advanced by n0), or "
                "`static constexpr bool per_column = false;` when it has none.");
  if constexpr (has_offset_columns<Stage>::value) {
    return s.offset_columns(n0);
  } else {
    return s;
  }
}

/// `p` with every per-column parameter array advanced by n0 columns.
template <class... S>
inline output_pipeline<S...> offset_pipeline(const output_pipeline<S...>& p, std::ptrdiff_t n0) noexcept {
  return std::apply(
      [&](const auto&... stage) { return output_pipeline<S...>{std::tuple<S...>{offset_stage(stage, n0)...}}; },
      p.stages);
}

}  // namespace detail

/// The scalar definition of the pipeline on one accumulator of output row m, column n.
template <class... S>
inline typename output_pipeline<S...>::output_type evaluate(const output_pipeline<S...>& p, std::int32_t acc,
                                                            std::ptrdiff_t m, std::ptrdiff_t n) noexcept {
  return detail::evaluate_from<0>(p, acc, m, n);
}

/// The same on an int64 accumulator (16x8 GEMM): returns output_type_from<std::int64_t> (int64 for the
/// empty pipeline).
template <class... S>
inline auto evaluate(const output_pipeline<S...>& p, std::int64_t acc, std::ptrdiff_t m, std::ptrdiff_t n) noexcept {
  using checked = typename output_pipeline<S...>::template output_type_from<std::int64_t>;  // stage order
  return static_cast<checked>(detail::evaluate_from<0>(p, acc, m, n));
}

/// The same on a float accumulator (float16-weight GEMM): returns output_type_from<float>.
template <class... S>
inline auto evaluate(const output_pipeline<S...>& p, float acc, std::ptrdiff_t m, std::ptrdiff_t n) noexcept {
  using checked = typename output_pipeline<S...>::template output_type_from<float>;  // stage order
  return static_cast<checked>(detail::evaluate_from<0>(p, acc, m, n));
}

/// Checks every stage's parameters for `columns` output columns; throws qsparse::error naming the
/// stage, the argument and the value.
template <class... S>
inline void validate(const output_pipeline<S...>& p, std::ptrdiff_t columns, const char* function) {
  std::apply([&](const auto&... stage) { (detail::validate_stage(stage, columns, function), ...); }, p.stages);
}

}  // namespace qsparse
