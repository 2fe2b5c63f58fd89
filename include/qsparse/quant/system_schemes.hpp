// qsparse/quant/system_schemes.hpp — ready-made schemes named after the system and the kernel family they
// reproduce bit for bit (measured against the real systems, docs/numerics.md "Which policy matches").
//
// TFLite / LiteRT 2.3 QUANTIZE and DEQUANTIZE, by interpreter kernel family:
//   tflite_reference_int8_activation    reference kernels (OpResolverType.BUILTIN_REF): x / scale, ties away
//   tflite_reference_int16_activation   the same for 16x8 int16 activations (full int16 range, zero point 0)
//   tflite_optimized_int8_activation    optimized kernels (the interpreter without XNNPACK): x * (1 / scale),
//   tflite_optimized_int16_activation   ties to even; DEQUANTIZE float(q) * scale + float(-zp) * scale
//   xnnpack_int8_activation             the default interpreter (XNNPACK delegate): x * (1 / scale), ties to
//                                       even, DEQUANTIZE float(q - zp) * scale; int16 is not delegated (the
//                                       optimized kernels run it)
//   Parameters come from the model; to choose them as the converter does use
//   tflite_converter_choose_params (qsparse/quant/tflite_converter.hpp). choose_params<> of the reference
//   and optimized aliases is the runtime's ChooseQuantizationParams; of xnnpack_int8_activation PyTorch's.
// ONNX (QuantizeLinear-13, DynamicQuantizeLinear-11, ONNX Runtime): x / scale, ties to even:
//   onnx_uint8, onnx_int8               choose_params<> is DynamicQuantizeLinear's rule
// PyTorch custom quant_min / quant_max (observers, fake quant, LSQ, quantize):
//   torch_quint8_reduce_range           [0, 127]     (reduce_range=True for quint8)
//   torch_qint8_reduce_range            [-64, 63]    (reduce_range=True for qint8)
//   torch_quint4                        [0, 15]      (quant_min=0, quant_max=15 in quint8)
//   torch_qint4                         [-8, 7]      (quant_min=-8, quant_max=7 in qint8)
//   each affine per tensor; use with_granularity / scheme<> for other mappings.
// TFLite fixed-point requantization (the rounding R of requantize_fixed_point[_per_channel]<R>):
//   tflite_reference_fc_rounding           reference FULLY_CONNECTED (int8 and 16x8): single_rounding_away
//   tflite_reference_conv_rounding         reference CONV_2D / DEPTHWISE_CONV_2D int8: double_rounding
//   tflite_optimized_fixed_point_rounding  optimized FC / CONV_2D / DEPTHWISE int8: double_rounding_up
//   Whole pipelines for each kernel family (and XNNPACK's, 16x8, float16 weights):
//   qsparse/spec/system_pipelines.hpp.
#pragma once

#include <cstdint>

#include "qsparse/quant/fixed_point.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

using tflite_reference_int8_activation = scheme<std::int8_t, per_tensor, affine, round_half_away_from_zero>;
using tflite_reference_int16_activation = scheme<std::int16_t, per_tensor, symmetric, round_half_away_from_zero>;
using tflite_optimized_int8_activation = scheme<std::int8_t, per_tensor, affine, tflite_optimized_rounding>;
using tflite_optimized_int16_activation = scheme<std::int16_t, per_tensor, symmetric, tflite_optimized_rounding>;
using xnnpack_int8_activation = scheme<std::int8_t, per_tensor, affine, round_half_to_even>;

using onnx_uint8 = scheme<std::uint8_t, per_tensor, affine, round_half_to_even_divide>;
using onnx_int8 = scheme<std::int8_t, per_tensor, affine, round_half_to_even_divide>;

using torch_quint8_reduce_range = scheme<quant_range<std::uint8_t, 0, 127>, per_tensor, affine, round_half_to_even>;
using torch_qint8_reduce_range = scheme<quant_range<std::int8_t, -64, 63>, per_tensor, affine, round_half_to_even>;
using torch_quint4 = scheme<quant_range<std::uint8_t, 0, 15>, per_tensor, affine, round_half_to_even>;
using torch_qint4 = scheme<quant_range<std::int8_t, -8, 7>, per_tensor, affine, round_half_to_even>;

using tflite_reference_fc_rounding = single_rounding_away;
using tflite_reference_conv_rounding = double_rounding;
using tflite_optimized_fixed_point_rounding = double_rounding_up;

}  // namespace qsparse
