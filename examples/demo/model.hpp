// examples/demo/model.hpp — a compressed model as it is stored and run: the layer graph, each weighted
// layer in one storage format, and the inference that runs it with qsparse's kernels.
//
//   format         weights on disk                         inference
//   f32            float32 K×N                             Eigen (the float baseline)
//   f16            float16 K×N                             qsparse::gemm_f16 (float activations)
//   dynamic_int8   int8 K×N + per-channel scales           qsparse::hybrid_gemm (TFLite EvalHybrid)
//   int4_group     int4 K'×N two per byte + a float scale  qsparse::gemm_q4 (activations quantized per row
//                  per group of G along K (K' = K rounded  to int8 at run time, exact int32 dot products per
//                  up to G, the extra weights zero)        group, accumulated in float)
//   int8           int8 K×N + per-channel scales,          qsparse::gemm / qsparse::conv2d / int8 max
//                  int32 bias, activation scale + zp       pooling: int8 in, int8 between layers, float
//                                                          logits out of the last layer's pipeline
//   int8 + sparse  as int8, but the weights of each layer  qsparse::sparse_gemm and the sparse qsparse::conv2d
//                  in a compressed format (below)          (block 4×16, 2:4); unstructured masks: the bitmask
//                                                          sparse_gemm, conv layers the dense conv2d
//   int8 +         as int8, but each layer's weights as    qsparse::gemm_clustered (dense layers, <= 16
//   clustered      b-bit cluster indices (N×K) plus a      clusters), else the int8 weights decoded at load
//                  float codebook (cluster.hpp); the int8  (qsparse::gemm / conv2d); the same integers
//                  weights and scales are derived from it
//   int16x8        int8 K×N + per-channel scales, int64    qsparse::gemm_16x8: the float input quantized to
//                  bias, the int16 input scale (zp 0)      int16 (symmetric), int64 sums dequantized to float
//   mixed          each weighted layer in its own format   layer by layer (runtime.hpp run_layers): float
//                  (qlayer::format): any of the above but  between layers, except that consecutive int8
//                  int8 + sparse                           layers (and the pools between them) pass int8
//
// The mixed format is the mixed-precision selection's (issue 26): an int8 layer of a mixed model keeps its
// own input and output quantization; a float layer after an int8 one sees the dequantized int8 values.
// Conv layers of the float formats run im2col (the demo's, data movement only) then the layer's GEMM.
// Weights are K×N (K = kh·kw·cin in (kh, kw, cin) order, N = output channels): Keras' kernel layout and
// the qsparse GEMM's; the int8 conv packs them as OHWI.
#pragma once

#include <algorithm>
#include <cstdint>
#include <cstring>
#include <limits>
#include <memory>
#include <string>
#include <vector>

#include "features.hpp"
#include "nn.hpp"
#include "qsparse/calibrate/range.hpp"
#include "qsparse/cluster/packed_clusters.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/core/float16.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/gemm_16x8.hpp"
#include "qsparse/gemm/gemm_f16.hpp"
#include "qsparse/gemm/gemm_q4.hpp"
#include "qsparse/gemm/hybrid.hpp"
#include "qsparse/gemm/packed_weights.hpp"
#include "qsparse/gemm/packed_weights_16x8.hpp"
#include "qsparse/gemm/packed_weights_f16.hpp"
#include "qsparse/gemm/packed_weights_q4.hpp"
#include "qsparse/quant/fixed_point.hpp"
#include "qsparse/quant/layer_params.hpp"
#include "qsparse/quant/quantize.hpp"
#include "qsparse/quant/scheme.hpp"
#include "qsparse/quant/system_schemes.hpp"
#include "qsparse/spec/output_stages.hpp"
#if DEMO_HAVE_SPARSE_GEMM
#include "qsparse/spec/packed_sparse_weights.hpp"
#endif
#if DEMO_HAVE_SPARSE_CONV
#include "qsparse/conv/sparse_conv2d.hpp"
#endif

namespace demo {

using activation_scheme = qsparse::tflite_int8_activation;  // int8 affine per tensor, TFLite's rules
using weight_scheme = qsparse::tflite_int8_weight;          // int8 [-127, 127] symmetric per channel

/// 4-bit weights: int4 [-8, 7], symmetric, one float scale per group along K (as llama.cpp's Q4_0).
using int4_weight_scheme = qsparse::scheme<qsparse::int4, qsparse::per_group<float>, qsparse::symmetric,
                                           qsparse::round_half_to_even>;

/// int16 activations of a 16x8 layer: symmetric per tensor, zero point 0 (TFLite's 16x8 rules).
using int16_activation_scheme = qsparse::tflite_reference_int16_activation;

enum class weight_format { f32, f16, dynamic_int8, int8, int4_group, int16x8, mixed };

inline const char* to_string(weight_format f) {
  switch (f) {
    case weight_format::f32: return "f32";
    case weight_format::f16: return "f16";
    case weight_format::dynamic_int8: return "dynamic_int8";
    case weight_format::int8: return "int8";
    case weight_format::int4_group: return "int4_group";
    case weight_format::int16x8: return "int16x8";
    case weight_format::mixed: return "mixed";
  }
  return "?";
}

/// K rounded up to a multiple of the group size: the depth of a layer's 4-bit weights.
inline int padded_depth(int k, int group) { return (k + group - 1) / group * group; }

/// How the int8 weights of a layer are stored and which kernel runs them.
enum class storage_kind { dense, bitmask, block_4x16, two_of_four, clustered };

inline const char* to_string(storage_kind s) {
  switch (s) {
    case storage_kind::dense: return "dense";
    case storage_kind::bitmask: return "bitmask";
    case storage_kind::block_4x16: return "block_4x16";
    case storage_kind::two_of_four: return "two_of_four";
    case storage_kind::clustered: return "clustered";
  }
  return "?";
}

#if DEMO_HAVE_SPARSE_GEMM
/// The packed sparse weights a layer runs from, and whatever owns their bytes (the packing, or the file).
/// A conv layer's view is its K×N matrix (K = kh·kw·cin), and `conv` the same bytes as conv2d weights.
struct sparse_holder {
  std::shared_ptr<const void> owner;
  qsparse::packed_sparse_weights_view view;
#if DEMO_HAVE_SPARSE_CONV
  qsparse::packed_sparse_conv2d_weights conv;
#endif
};
#endif

/// One layer of a compressed model.
struct qlayer {
  layer_spec spec;
  weight_format format = weight_format::f32;  // mixed models: this layer's format (else the model's)
  storage_kind storage = storage_kind::dense;
  // what is stored (the ones the format uses)
  matrix w;                              // f32: K×N
  std::vector<qsparse::float16> w16;     // f16: K×N
  std::vector<std::int8_t> wq;           // int8 formats: K×N (pruned weights are exact zeros)
  std::vector<float> w_scale;            // int8 formats: N
  std::shared_ptr<const qsparse::packed_clusters> clusters;  // int8 + clustered: indices + float codebook
  int group = 0;                         // int4_group: the group size G along K
  std::vector<std::int8_t> w4;           // int4_group: K'×N int4 values, one per element (K' = padded_depth)
  std::vector<float> w4_scale;           // int4_group: [N][K' / G]
  std::vector<float> bias_f;             // f32, f16, dynamic_int8: N
  std::vector<std::int32_t> bias_q;      // int8: N, scale in_scale · w_scale[n]
  std::vector<std::int64_t> bias_q64;    // int16x8: N, scale in16_scale · w_scale[n]
  float in16_scale = 1.0f;               // int16x8: the scale of the int16 input (zero point 0)
  qsparse::per_tensor_params input{};    // int8: the quantization of this layer's input
  qsparse::per_tensor_params output{};   // int8: of its output (unused by the last layer and pools)
  // derived when the model is prepared (not stored)
  std::vector<std::int32_t> multiplier;
  std::vector<int> shift;
  std::vector<std::int32_t> bias_run;    // int8 hidden layers: bias_q with all-zero channels folded (runtime.hpp)
  std::vector<float> dequant_scale;      // last int8 layer: in_scale · w_scale[n]; int16x8: in16_scale · w_scale[n]
  qsparse::packed_weights packed;
  qsparse::packed_weights_f16 packed16;
  qsparse::packed_weights_q4 packed4;
  qsparse::packed_weights_16x8 packed16x8;
  std::shared_ptr<void> packed_other;    // conv / sparse packings (see runtime_*.hpp)
  std::int32_t act_min = -128, act_max = 127;
};

/// A compressed model.
struct qmodel {
  std::string name;
  std::string architecture;  // "mlp" or "cnn"
  weight_format format = weight_format::f32;
  std::vector<qlayer> layers;
  qsparse::per_tensor_params input{};  // int8: quantization of the network input
  std::shared_ptr<const void> file;    // the loaded file, when sparse layers run from its bytes

  int input_size() const { return layers.front().spec.in_size(); }
  int classes() const { return layers.back().spec.out_size(); }
  bool is_int8() const { return format == weight_format::int8; }
  /// The format layer l runs in: its own in a mixed model, else the model's.
  weight_format layer_format(const qlayer& l) const { return format == weight_format::mixed ? l.format : format; }
};

}  // namespace demo
