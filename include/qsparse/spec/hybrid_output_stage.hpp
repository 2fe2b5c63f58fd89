// qsparse/spec/hybrid_output_stage.hpp — the dynamic-range GEMM's float output (qsparse/gemm/hybrid.hpp,
// step 4) as an output stage, so that a GEMM kernel can write it from its accumulators instead of a second
// pass over int32 sums in memory.
//
//   dequantize_rows_float{rows, column_sums, weight_scales, per_channel, bias, min, max}   int32 → float
//     corrected = acc - rows[m].zero_point * column_sums[n]            (int32, wrapping as uint32)
//     v         = bias[n] + float(corrected) * (rows[m].scale * weight_scale[n])
//     out       = v < min ? min : (v > max ? max : v)                   (NaN passes)
//
// It is the one stage that reads its row m: row m of the activations was quantized on its own, with scale
// rows[m].scale and zero point rows[m].zero_point, and the accumulator is Σ_k q[m][k] w[k][n] with no zero
// point taken off (column_sums[n] = Σ_k w[k][n], the packed weights' sums). Both products are rounded on
// their own (never an FMA), the bias is added last (none when bias is null); weight_scale[n] is
// weight_scales[n] when per_channel, else weight_scales[0].
//
// To the generic machinery it is a stage of the caller's kind (docs/kernels.md, "Writing an output stage"):
// apply() is its definition, and every entry point that has no evaluator for it runs its kernels to raw
// accumulators and apply() over them. The kernels that evaluate it in registers say so
// (`static constexpr bool row_output_stage = true`, kernels/gemm_kernels.hpp); gemm() runs them on a
// pipeline made of this stage alone.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/unfused.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {

/// A row's quantization: real = scale * (q - zero_point).
struct hybrid_row_quantization {
  float scale;
  std::int32_t zero_point;
};

namespace detail {

/// The float output of one corrected accumulator (the definition of hybrid_gemm's step 4).
inline float hybrid_output(std::int32_t acc, float row_scale, float weight_scale, const float* bias, std::ptrdiff_t n,
                           float lo, float hi) {
  const float scale = product_not_fused(row_scale, weight_scale);
  const float product = product_not_fused(static_cast<float>(acc), scale);
  float v = bias != nullptr ? bias[n] + product : product;
  v = v < lo ? lo : (v > hi ? hi : v);
  return v;
}

/// acc - zero_point * column_sum in int32, wrapping as uint32 arithmetic.
inline std::int32_t subtract_row_zero_point(std::int32_t acc, std::int32_t zero_point, std::int32_t column_sum) {
  return static_cast<std::int32_t>(static_cast<std::uint32_t>(acc) -
                                   static_cast<std::uint32_t>(zero_point) * static_cast<std::uint32_t>(column_sum));
}

}  // namespace detail

/// The dynamic-range GEMM's float output for accumulators Σ_k q[m][k] w[k][n] (see the top of this header).
struct dequantize_rows_float {
  using input_type = std::int32_t;
  using output_type = float;
  const hybrid_row_quantization* rows;  // one per output row m
  const std::int32_t* column_sums;      // one per output column n
  const float* weight_scales;           // N when per_channel, else one
  bool per_channel;
  const float* bias;  // N values, or null
  float min;
  float max;

  float apply(std::int32_t acc, std::ptrdiff_t m, std::ptrdiff_t n) const noexcept {
    const hybrid_row_quantization r = rows[m];
    return detail::hybrid_output(detail::subtract_row_zero_point(acc, r.zero_point, column_sums[n]), r.scale,
                                 weight_scales[per_channel ? n : 0], bias, n, min, max);
  }
  dequantize_rows_float offset_columns(std::ptrdiff_t n0) const noexcept {
    return {rows, column_sums + n0, per_channel ? weight_scales + n0 : weight_scales, per_channel,
            bias != nullptr ? bias + n0 : nullptr, min, max};
  }
  void validate(std::ptrdiff_t columns, const char* function) const {
    detail::check(rows != nullptr && column_sums != nullptr && weight_scales != nullptr, function,
                  ": dequantize_rows_float needs non-null rows, column_sums and weight_scales");
    detail::check_scales(weight_scales, per_channel ? columns : 1, function, "dequantize_rows_float.weight_scales");
    detail::check(!(min > max), function, ": dequantize_rows_float needs min <= max, got min = ", min, ", max = ", max);
  }
};

/// Whether a pipeline is dequantize_rows_float alone: the pipeline gemm() gives to the kernels that
/// evaluate that stage (the others run it through the scalar epilogue).
template <class Pipeline>
struct is_row_output_pipeline : std::false_type {};
template <>
struct is_row_output_pipeline<output_pipeline<dequantize_rows_float>> : std::true_type {};
template <class Pipeline>
inline constexpr bool is_row_output_pipeline_v = is_row_output_pipeline<Pipeline>::value;

}  // namespace qsparse
