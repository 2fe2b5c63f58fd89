// examples/demo/runtime.hpp — prepares a stored model for inference (derived parameters, packed weights)
// and runs it: float images in, float logits out. Every int8 layer runs on a qsparse kernel.
#pragma once

#include <algorithm>
#include <cstdint>
#include <limits>
#include <stdexcept>
#include <string>
#include <vector>

#include "features.hpp"
#include "model.hpp"
#if DEMO_HAVE_CONV
#include "qsparse/conv/conv2d.hpp"
#include "qsparse/conv/pooling.hpp"
#endif
#if DEMO_HAVE_CONV_POOL
#include "qsparse/conv/conv_pool.hpp"
#endif
#if DEMO_HAVE_SPARSE_GEMM
#include "qsparse/gemm/sparse_gemm.hpp"
#endif
#include "qsparse/gemm/gemm_clustered.hpp"
#include "qsparse/gemm/packed_clustered_weights.hpp"

namespace demo {

/// Scratch memory for one predict call (reused across calls).
struct workspace {
  std::vector<float> fa, fb, cols, padded;
  std::vector<float> scales;        // dynamic-range conv: the image's scale times each channel's weight scale
  std::vector<std::int8_t> qa, qb;
  std::vector<std::int16_t> q16;    // int16x8 layers: the int16 input
  std::vector<std::int64_t> acc64;  // int16x8 layers: the int64 sums
};

namespace detail {

inline constexpr float infinity = std::numeric_limits<float>::infinity();

#if DEMO_HAVE_CONV
inline const qsparse::packed_conv2d_weights& conv_packing(const qlayer& l) {
  return *static_cast<const qsparse::packed_conv2d_weights*>(l.packed_other.get());
}
#endif
#if DEMO_HAVE_SPARSE_GEMM
inline const qsparse::packed_sparse_weights_view& sparse_packing(const qlayer& l) {
  return static_cast<const sparse_holder*>(l.packed_other.get())->view;
}
#endif

/// True for an int8 layer that runs qsparse::sparse_gemm or the sparse qsparse::conv2d: block / 2:4
/// storage, and bitmask (unstructured) storage of a dense layer, which runs the bitmask kernel (conv
/// layers expand it to dense at load: the dense conv2d).
inline bool runs_sparse_gemm(const qlayer& l) {
  return l.storage == storage_kind::block_4x16 || l.storage == storage_kind::two_of_four ||
         (DEMO_HAVE_SPARSE_GEMM && l.storage == storage_kind::bitmask && l.spec.kind == layer_kind::dense);
}

#if DEMO_HAVE_SPARSE_GEMM
inline qsparse::sparse_format sparse_format_of(storage_kind s) {
  return s == storage_kind::block_4x16    ? qsparse::sparse_format::block_4x16
         : s == storage_kind::two_of_four ? qsparse::sparse_format::two_of_four
                                          : qsparse::sparse_format::bitmask;
}
#endif

/// True for an int8 clustered dense layer with at most 16 clusters: it runs qsparse::gemm_clustered on its
/// 4-bit indices (more clusters, and convolutions, run the int8 weights decoded at load).
inline bool runs_gemm_clustered(const qlayer& l) {
  return l.storage == storage_kind::clustered && l.spec.kind == layer_kind::dense && l.clusters != nullptr &&
         l.clusters->clusters() <= qsparse::packed_clustered_header::max_clusters;
}

inline const qsparse::packed_clustered_weights& clustered_packing(const qlayer& l) {
  return *static_cast<const qsparse::packed_clustered_weights*>(l.packed_other.get());
}

/// The OHWI copy of a K×N (kh, kw, cin) × cout weight matrix.
inline std::vector<std::int8_t> to_ohwi(const std::vector<std::int8_t>& kxn, const layer_spec& s) {
  const int k = s.k(), n = s.out_c;
  std::vector<std::int8_t> o(kxn.size());
  for (int kk = 0; kk < k; ++kk)
    for (int nn = 0; nn < n; ++nn) o[static_cast<std::size_t>(nn) * k + kk] = kxn[static_cast<std::size_t>(kk) * n + nn];
  return o;
}

}  // namespace detail

/// Derives what inference needs from what is stored: multipliers, packed weights.
inline void prepare(qmodel& m) {
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    qlayer& l = m.layers[i];
    const layer_spec& s = l.spec;
    if (!s.has_weights()) continue;
    const bool last = i + 1 == m.layers.size();
    const int k = s.k(), n = s.out_c;
    switch (m.layer_format(l)) {
      case weight_format::mixed: throw std::logic_error("prepare: a layer of a mixed model has no format of its own");
      case weight_format::f32: break;
      case weight_format::int16x8:
        l.packed16x8 = qsparse::pack_weights_16x8(qsparse::make_view(l.wq.data(), k, n));
        l.dequant_scale.resize(static_cast<std::size_t>(n));
        for (int c = 0; c < n; ++c) l.dequant_scale[static_cast<std::size_t>(c)] = l.in16_scale * l.w_scale[static_cast<std::size_t>(c)];
        break;
      case weight_format::f16:
        l.packed16 = qsparse::pack_weights_f16(qsparse::make_view(l.w16.data(), k, n));
        break;
      case weight_format::dynamic_int8:
        if (s.kind == layer_kind::conv) {
#if DEMO_HAVE_CONV
          // Convolutions run on the integer conv2d (the input quantized once per image, run_float_layer).
          const std::vector<std::int8_t> ohwi = detail::to_ohwi(l.wq, s);
          l.packed_other = std::make_shared<qsparse::packed_conv2d_weights>(
              qsparse::pack_conv2d_weights(qsparse::make_view(ohwi.data(), s.out_c, s.kh, s.kw, s.in_c), 0, 1));
          break;
#endif
        }
        l.packed = qsparse::pack_weights(qsparse::make_view(l.wq.data(), k, n), 0);
        break;
      case weight_format::int4_group: {
        const int kp = padded_depth(k, l.group);
        const qsparse::group_params<float> p{l.w4_scale.data(), nullptr, l.group, 0, static_cast<qsparse::index_t>(l.w4_scale.size())};
        l.packed4 = qsparse::pack_weights_q4(qsparse::make_view(l.w4.data(), kp, n), p);
        break;
      }
      case weight_format::int8: {
        const qsparse::per_channel_params wp{l.w_scale.data(), nullptr, n, 1};
        if (last) {
          l.dequant_scale.resize(static_cast<std::size_t>(n));
          for (int c = 0; c < n; ++c) l.dequant_scale[static_cast<std::size_t>(c)] = l.input.scale * l.w_scale[static_cast<std::size_t>(c)];
        } else {
          l.multiplier.resize(static_cast<std::size_t>(n));
          l.shift.resize(static_cast<std::size_t>(n));
          qsparse::requantize_multipliers(l.input.scale, wp, l.output.scale, l.multiplier.data(), l.shift.data());
          // ReLU folded into the clamp (TFLite's CalculateActivationRangeQuantized).
          l.act_min = s.relu ? std::max<std::int32_t>(-128, l.output.zero_point) : -128;
          l.act_max = 127;
          // A channel pruned to all zeros outputs a constant; its weight scale is 1 (the zero-range rule),
          // so its multiplier in_scale / out_scale is often above 1, a left shift that sent the kernels'
          // epilogue to its generic path for 16 channels at a time (the 80 % block CNN's stem ran 2x its
          // dense time). The same constant in the fast form: the same bits.
          l.bias_run = l.bias_q;
          if (!l.wq.empty()) {
            std::vector<char> zero(static_cast<std::size_t>(n), 1);
            for (int kk = 0; kk < k; ++kk)
              for (int c = 0; c < n; ++c)
                if (l.wq[static_cast<std::size_t>(kk) * static_cast<std::size_t>(n) + static_cast<std::size_t>(c)] != 0)
                  zero[static_cast<std::size_t>(c)] = 0;
            qsparse::fold_zero_weight_channels([&](std::ptrdiff_t c) { return zero[static_cast<std::size_t>(c)] != 0; }, n,
                                               l.bias_run.data(), l.multiplier.data(), l.shift.data(), l.output.zero_point,
                                               l.act_min, l.act_max);
          }
        }
        if (s.kind == layer_kind::conv && detail::runs_sparse_gemm(l)) {
#if DEMO_HAVE_SPARSE_CONV
          // Block / 2:4 conv layers: the sparse conv2d on the K×N matrix packed in the layer's format.
          if (l.packed_other == nullptr) {  // a loaded layer already runs from the file's bytes
            const std::vector<std::int8_t> ohwi = detail::to_ohwi(l.wq, s);
            auto holder = std::make_shared<sparse_holder>();
            holder->conv = qsparse::pack_sparse_conv2d_weights(qsparse::make_view(ohwi.data(), s.out_c, s.kh, s.kw, s.in_c),
                                                               detail::sparse_format_of(l.storage));
            holder->view = holder->conv.group(0);
            l.packed_other = holder;
          }
#else
          throw std::runtime_error("sparse int8 convolution: qsparse/conv/sparse_conv2d.hpp is not in this checkout");
#endif
        } else if (s.kind == layer_kind::conv) {
#if DEMO_HAVE_CONV
          const std::vector<std::int8_t> ohwi = detail::to_ohwi(l.wq, s);
          l.packed_other = std::make_shared<qsparse::packed_conv2d_weights>(
              qsparse::pack_conv2d_weights(qsparse::make_view(ohwi.data(), s.out_c, s.kh, s.kw, s.in_c), 0, 1));
#else
          throw std::runtime_error("int8 convolution: qsparse/conv is not in this checkout");
#endif
        } else if (detail::runs_gemm_clustered(l)) {
          // The int8 codebook quantized from the float one exactly as the layer's wq / w_scale were derived.
          l.packed_other = std::make_shared<qsparse::packed_clustered_weights>(qsparse::pack_clustered_weights(*l.clusters));
        } else if (detail::runs_sparse_gemm(l)) {
#if DEMO_HAVE_SPARSE_GEMM
          if (l.packed_other == nullptr) {  // a loaded layer already runs from the file's bytes
            // Bitmask layers are stored as qsparse::bitmask_values (the file format is unchanged) and
            // packed here, once, for the bitmask kernel.
            const auto format = detail::sparse_format_of(l.storage);
            auto packed = std::make_shared<qsparse::packed_sparse_weights>(
                qsparse::pack_sparse_weights(qsparse::make_view(l.wq.data(), k, n), format));
            auto holder = std::make_shared<sparse_holder>();
            holder->view = packed->view();
            holder->owner = packed;
            l.packed_other = holder;
          }
#else
          throw std::runtime_error("sparse int8 weights: qsparse/gemm/sparse_gemm.hpp is not in this checkout");
#endif
        } else {
          l.packed = qsparse::pack_weights(qsparse::make_view(l.wq.data(), k, n), 0);
        }
        break;
      }
    }
  }
}

namespace detail {

#if DEMO_HAVE_CONV
/// Dynamic-range convolution on integers (ONNX Runtime's DynamicQuantizeLinear + ConvInteger): each image
/// is quantized to int8 once with its own min / max (TFLite's asymmetric row rule over the whole image,
/// qsparse::quantize_row_dynamic), the int8 conv2d pads with that zero point (a padded tap adds 0),
/// and its int32 sums become float with the image's scale times each channel's weight scale, plus the
/// float bias. The float path (im2col + hybrid_gemm) quantized every im2col row, each pixel up to
/// kh * kw times, and multiplied the expanded matrix. With `pool` (the max pool after the conv,
/// fuses_dynamic_with_pool) the pair is one qsparse::conv2d_max_pool2d with float output, the same bits
/// as the conv then maxpool_inference: on VNNI the stem's window maximum is taken on the int32 sums
/// inside the direct kernel (pooling first is exact for positive finite scales and finite biases:
/// conv_pool.hpp; other scales run conv then pool inside the library).
inline void run_dynamic_conv(const qsparse::context& ctx, const qlayer& l, const qlayer* pool, int batch,
                             const float* x, float* y, workspace& ws) {
  const layer_spec& s = l.spec;
  const layer_spec& o = pool != nullptr ? pool->spec : s;
  const std::size_t in_size = static_cast<std::size_t>(s.in_h) * static_cast<std::size_t>(s.in_w) * static_cast<std::size_t>(s.in_c);
  const std::size_t out_size = static_cast<std::size_t>(o.out_h) * static_cast<std::size_t>(o.out_w) * static_cast<std::size_t>(o.out_c);
  ws.qa.resize(in_size);
  ws.scales.resize(static_cast<std::size_t>(s.out_c));
  const float lo_act = s.relu ? 0.0f : -infinity;
  for (int b = 0; b < batch; ++b) {
    const auto q = qsparse::quantize_row_dynamic(qsparse::best_isa(), qsparse::hybrid_quantization::asymmetric,
                                                 x + static_cast<std::size_t>(b) * in_size,
                                                 static_cast<std::ptrdiff_t>(in_size), ws.qa.data());
    for (int c = 0; c < s.out_c; ++c)
      ws.scales[static_cast<std::size_t>(c)] = q.scale * l.w_scale[static_cast<std::size_t>(c)];
    const auto in = qsparse::quantized(qsparse::make_view(static_cast<const std::int8_t*>(ws.qa.data()), 1, s.in_h, s.in_w, s.in_c),
                                       q.zero_point);
    const auto out = qsparse::make_view(y + static_cast<std::size_t>(b) * out_size, 1, o.out_h, o.out_w, o.out_c);
    const auto pipe = qsparse::pipeline(qsparse::dequantize_float_per_channel{ws.scales.data(), l.bias_f.data()},
                                        qsparse::clamp_float{lo_act, infinity});
#if DEMO_HAVE_CONV_POOL
    if (pool != nullptr) {
      qsparse::pool2d_params p{};
      p.filter_h = p.stride_h = o.kh;
      p.filter_w = p.stride_w = o.kw;
      qsparse::conv2d_max_pool2d(ctx, in, conv_packing(l), out, qsparse::conv2d_params{}, p, pipe);
      continue;
    }
#endif
    qsparse::conv2d(ctx, in, conv_packing(l), out, qsparse::conv2d_params{}, pipe);
  }
}
#endif

/// Float layers (f32 / f16 / dynamic): x [rows, in] → y [rows, out].
inline void run_float_layer(const qsparse::context& ctx, weight_format format, const qlayer& l, int batch, const float* x,
                            float* y, workspace& ws) {
  const layer_spec& s = l.spec;
  if (s.kind == layer_kind::maxpool) {
    maxpool_inference(x, batch, s, y);
    return;
  }
#if DEMO_HAVE_CONV
  if (s.kind == layer_kind::conv && format == weight_format::dynamic_int8) {
    run_dynamic_conv(ctx, l, nullptr, batch, x, y, ws);
    return;
  }
#endif
  const float* a = x;
  int rows = batch;
  if (s.kind == layer_kind::conv) {
    rows = batch * s.out_h * s.out_w;
    ws.cols.resize(static_cast<std::size_t>(rows) * static_cast<std::size_t>(s.k()));
    im2col(x, batch, s, ws.cols.data());
    a = ws.cols.data();
  }
  const int k = s.k(), n = s.out_c;
  const auto av = qsparse::make_view(a, rows, k);
  const auto yv = qsparse::make_view(y, rows, n);
  const float lo = s.relu ? 0.0f : -infinity;
  switch (format) {
    case weight_format::f32: {
      Eigen::Map<const matrix> am(a, rows, k);
      Eigen::Map<matrix> ym(y, rows, n);
      ym.noalias() = am * l.w;
      ym.rowwise() += Eigen::Map<const row_vector>(l.bias_f.data(), n);
      if (s.relu) ym = ym.cwiseMax(0.0f);
      break;
    }
    case weight_format::f16:
      qsparse::gemm_f16(ctx, av, l.packed16.view(), yv,
                        qsparse::pipeline(qsparse::bias_add_float{l.bias_f.data()}, qsparse::clamp_float{lo, infinity}));
      break;
    case weight_format::dynamic_int8: {
      qsparse::hybrid_params p;
      p.weight_scales = l.w_scale.data();
      p.per_channel = true;
      p.bias = l.bias_f.data();
      p.input_quantization = qsparse::hybrid_quantization::asymmetric;
      p.activation_min = lo;
      qsparse::hybrid_gemm(ctx, av, l.packed.view(), yv, p);
      break;
    }
    case weight_format::int4_group: {
      const int kp = padded_depth(k, l.group);
      const float* ap = a;
      if (kp != k) {  // the weights' zero rows meet zero activations
        ws.padded.assign(static_cast<std::size_t>(rows) * static_cast<std::size_t>(kp), 0.0f);
        for (int r = 0; r < rows; ++r)
          std::copy_n(a + static_cast<std::size_t>(r) * static_cast<std::size_t>(k), k,
                      ws.padded.data() + static_cast<std::size_t>(r) * static_cast<std::size_t>(kp));
        ap = ws.padded.data();
      }
      qsparse::gemm_q4(ctx, qsparse::make_view(ap, rows, kp), l.packed4.view(), yv,
                       qsparse::pipeline(qsparse::bias_add_float{l.bias_f.data()}, qsparse::clamp_float{lo, infinity}));
      break;
    }
    case weight_format::int16x8: {
      // The float input quantized to int16 (symmetric, zero point 0), exact int64 sums plus the int64 bias,
      // dequantized per output channel (float(acc) · in16_scale · w_scale[n]), then the ReLU.
      const std::size_t count = static_cast<std::size_t>(rows) * static_cast<std::size_t>(k);
      ws.q16.resize(count);
      ws.acc64.resize(static_cast<std::size_t>(rows) * static_cast<std::size_t>(n));
      qsparse::quantize<int16_activation_scheme>(av, qsparse::make_view(ws.q16.data(), rows, k),
                                                 qsparse::per_tensor_params{l.in16_scale, 0});
      qsparse::gemm_16x8(ctx, qsparse::make_view(static_cast<const std::int16_t*>(ws.q16.data()), rows, k), l.packed16x8.view(),
                         qsparse::make_view(ws.acc64.data(), rows, n), qsparse::pipeline(qsparse::bias_add_int64{l.bias_q64.data()}));
      for (int r = 0; r < rows; ++r)
        for (int c = 0; c < n; ++c) {
          const std::size_t at = static_cast<std::size_t>(r) * static_cast<std::size_t>(n) + static_cast<std::size_t>(c);
          y[at] = std::max(lo, static_cast<float>(ws.acc64[at]) * l.dequant_scale[static_cast<std::size_t>(c)]);
        }
      break;
    }
    case weight_format::int8:
    case weight_format::mixed: throw std::logic_error("run_float_layer: not a float-activation format");
  }
}

/// An int8 layer's pipeline when it outputs int8 (not the model's last): TFLite's requantization.
inline auto int8_output_pipeline(const qlayer& l) {
  return qsparse::pipeline(qsparse::bias_add{l.bias_run.data()},
                           qsparse::requantize_fixed_point_per_channel<qsparse::double_rounding>{l.multiplier.data(),
                                                                                               l.shift.data()},
                           qsparse::add_zero_point{l.output.zero_point}, qsparse::clamp{l.act_min, l.act_max},
                           qsparse::saturating_cast<std::int8_t>{});
}

/// An int8 weighted layer through `Gemm` (dense or sparse), int8 out or float logits out.
template <class Run>
void run_int8_pipeline(const qlayer& l, bool last, Run&& run, std::int8_t* yq, float* logits) {
  if (last) {
    run(logits, qsparse::pipeline(qsparse::bias_add{l.bias_q.data()},
                                  qsparse::dequantize_float_per_channel{l.dequant_scale.data(), nullptr}));
  } else {
    run(yq, int8_output_pipeline(l));
  }
}

inline void run_int8_layer(const qsparse::context& ctx, const qlayer& l, bool last, int batch, const std::int8_t* x,
                           std::int8_t* yq, float* logits) {
  const layer_spec& s = l.spec;
  const std::int32_t zp = l.input.zero_point;
#if DEMO_HAVE_CONV
  if (s.kind == layer_kind::maxpool) {
    qsparse::pool2d_params p{};
    p.filter_h = s.kh;
    p.filter_w = s.kw;
    p.stride_h = s.kh;
    p.stride_w = s.kw;
    qsparse::max_pool2d(ctx, qsparse::make_view(x, batch, s.in_h, s.in_w, s.in_c),
                        qsparse::make_view(yq, batch, s.out_h, s.out_w, s.out_c), p);
    return;
  }
  if (s.kind == layer_kind::conv) {
    const auto in = qsparse::quantized(qsparse::make_view(x, batch, s.in_h, s.in_w, s.in_c), zp);
#if DEMO_HAVE_SPARSE_CONV
    if (runs_sparse_gemm(l)) {
      run_int8_pipeline(l, last, [&](auto* out, const auto& pipe) {
        qsparse::conv2d(ctx, in, static_cast<const sparse_holder*>(l.packed_other.get())->conv,
                        qsparse::make_view(out, batch, s.out_h, s.out_w, s.out_c), qsparse::conv2d_params{}, pipe);
      }, yq, logits);
      return;
    }
#endif
    run_int8_pipeline(l, last, [&](auto* out, const auto& pipe) {
      qsparse::conv2d(ctx, in, conv_packing(l), qsparse::make_view(out, batch, s.out_h, s.out_w, s.out_c),
                      qsparse::conv2d_params{}, pipe);
    }, yq, logits);
    return;
  }
#else
  if (s.kind != layer_kind::dense) throw std::runtime_error("int8 convolution and pooling: qsparse/conv is not in this checkout");
#endif
  const auto a = qsparse::quantized(qsparse::make_view(x, batch, s.in_size()), zp);
  if (runs_gemm_clustered(l)) {
    run_int8_pipeline(l, last, [&](auto* out, const auto& pipe) {
      qsparse::gemm_clustered(ctx, a, clustered_packing(l).view(), qsparse::make_view(out, batch, s.out_c), pipe);
    }, yq, logits);
    return;
  }
#if DEMO_HAVE_SPARSE_GEMM
  if (runs_sparse_gemm(l)) {
    run_int8_pipeline(l, last, [&](auto* out, const auto& pipe) {
      qsparse::sparse_gemm(ctx, a, sparse_packing(l), qsparse::make_view(out, batch, s.out_c), pipe);
    }, yq, logits);
    return;
  }
#endif
  {
    run_int8_pipeline(l, last, [&](auto* out, const auto& pipe) {
      qsparse::gemm(ctx, a, l.packed.view(), qsparse::make_view(out, batch, s.out_c), pipe);
    }, yq, logits);
  }
}

/// Whether predict runs int8 layers i and i + 1 as one conv2d_max_pool2d: a convolution followed by a
/// max pool. The convolution's output then never leaves the cache (the CNN's stem wrote 5.5 MB at batch
/// 256 that its pool read back); the same bits as the two layers one after the other.
inline bool fuses_with_pool(const qmodel& m, std::size_t i) {
#if DEMO_HAVE_CONV_POOL
  return i + 1 < m.layers.size() && m.layers[i].spec.kind == layer_kind::conv &&
         m.layers[i + 1].spec.kind == layer_kind::maxpool;
#else
  (void)m;
  (void)i;
  return false;
#endif
}

/// Whether predict runs dynamic-range layers i and i + 1 (a convolution, then a max pool) as one
/// conv2d_max_pool2d with float output (run_dynamic_conv).
inline bool fuses_dynamic_with_pool(const qmodel& m, std::size_t i) {
  return m.format == weight_format::dynamic_int8 && fuses_with_pool(m, i);
}

#if DEMO_HAVE_CONV_POOL
/// Int8 conv layer `conv` and the max pool `pool` after it (fuses_with_pool) on x [batch × conv's input]:
/// yq [batch × pool's output].
inline void run_int8_conv_pool(const qsparse::context& ctx, const qlayer& conv, const qlayer& pool, int batch,
                               const std::int8_t* x, std::int8_t* yq) {
  const layer_spec& s = conv.spec;
  const layer_spec& ps = pool.spec;
  qsparse::pool2d_params p{};
  p.filter_h = p.stride_h = ps.kh;
  p.filter_w = p.stride_w = ps.kw;
  const auto in = qsparse::quantized(qsparse::make_view(x, batch, s.in_h, s.in_w, s.in_c), conv.input.zero_point);
  const auto out = qsparse::make_view(yq, batch, ps.out_h, ps.out_w, ps.out_c);
  const auto pipe = int8_output_pipeline(conv);
#if DEMO_HAVE_SPARSE_CONV
  if (runs_sparse_gemm(conv)) {
    qsparse::conv2d_max_pool2d(ctx, in, static_cast<const sparse_holder*>(conv.packed_other.get())->conv, out,
                               qsparse::conv2d_params{}, p, pipe);
    return;
  }
#endif
  qsparse::conv2d_max_pool2d(ctx, in, conv_packing(conv), out, qsparse::conv2d_params{}, p, pipe);
}
#endif

}  // namespace detail

/// Runs layers [first, last) of a prepared model of any format, layer by layer in each layer's own format:
/// x is the float input of layer `first` [batch × its in_size], y receives the float output of layer
/// last - 1 [batch × its out_size] (dequantized when that layer outputs int8; the logits when it is the
/// model's last). Between layers the activations stay float, except that an int8 layer's int8 output goes
/// straight into a following int8 layer or pool; a float layer after an int8 one reads the dequantized
/// values, an int8 layer after a float one quantizes them with its own input parameters. On a uniform int8
/// model over all layers this is predict's integer pipeline exactly (the image quantized by the first
/// layer's input parameters, which are the model's). Mixed models run here; so does the quantization
/// debugger, which runs one layer of a quantized model on the float model's activations.
inline void run_layers(const qsparse::context& ctx, const qmodel& m, std::size_t first, std::size_t last, const float* x,
                       int batch, float* y, workspace& ws) {
  const std::size_t nl = m.layers.size();
  if (!(first < last && last <= nl)) throw std::invalid_argument("run_layers: need first < last <= layers");
  std::size_t widest = static_cast<std::size_t>(m.layers[first].spec.in_size());
  for (std::size_t i = first; i < last; ++i) widest = std::max(widest, static_cast<std::size_t>(m.layers[i].spec.out_size()));
  widest *= static_cast<std::size_t>(batch);
  ws.fa.resize(widest);
  ws.fb.resize(widest);
  ws.qa.resize(widest);
  ws.qb.resize(widest);
  std::copy_n(x, static_cast<std::size_t>(batch) * static_cast<std::size_t>(m.layers[first].spec.in_size()), ws.fa.data());
  bool in_int8 = false;                 // where the current activation is: ws.qa (int8, `params`) or ws.fa
  qsparse::per_tensor_params params{};  // of ws.qa
  for (std::size_t i = first; i < last; ++i) {
    const qlayer& l = m.layers[i];
    const layer_spec& s = l.spec;
    const bool model_last = i + 1 == nl;
    const int in_size = s.in_size();
    if (!s.has_weights()) {
      if (in_int8) {
        detail::run_int8_layer(ctx, l, false, batch, ws.qa.data(), ws.qb.data(), nullptr);  // keeps the scale
        ws.qa.swap(ws.qb);
      } else {
        maxpool_inference(ws.fa.data(), batch, s, ws.fb.data());
        ws.fa.swap(ws.fb);
      }
      continue;
    }
    const weight_format f = m.layer_format(l);
    if (f == weight_format::int8) {
      if (!in_int8) {
        qsparse::quantize<activation_scheme>(qsparse::make_view(static_cast<const float*>(ws.fa.data()), batch, in_size),
                                             qsparse::make_view(ws.qa.data(), batch, in_size), l.input);
      } else if (params.scale != l.input.scale || params.zero_point != l.input.zero_point) {
        throw std::logic_error("run_layers: consecutive int8 layers disagree on the activation between them");
      }
      detail::run_int8_layer(ctx, l, model_last, batch, ws.qa.data(), ws.qb.data(), ws.fb.data());
      if (model_last) {
        ws.fa.swap(ws.fb);
        in_int8 = false;
      } else {
        ws.qa.swap(ws.qb);
        in_int8 = true;
        params = l.output;
      }
      continue;
    }
    if (in_int8) {
      qsparse::dequantize<activation_scheme>(qsparse::make_view(static_cast<const std::int8_t*>(ws.qa.data()), batch, in_size),
                                             qsparse::make_view(ws.fa.data(), batch, in_size), params);
      in_int8 = false;
    }
    detail::run_float_layer(ctx, f, l, batch, ws.fa.data(), ws.fb.data(), ws);
    ws.fa.swap(ws.fb);
  }
  const int out = m.layers[last - 1].spec.out_size();
  const std::size_t count = static_cast<std::size_t>(batch) * static_cast<std::size_t>(out);
  if (in_int8) {
    qsparse::dequantize<activation_scheme>(qsparse::make_view(static_cast<const std::int8_t*>(ws.qa.data()), batch, out),
                                           qsparse::make_view(y, batch, out), params);
  } else {
    std::copy_n(ws.fa.data(), count, y);
  }
}

/// How many images predict runs through all the layers at a time: 4 for a dynamic-range model with
/// convolutions, which run image by image (each image quantized with its own range) and write float
/// activations, 4 bytes each: a whole batch of them (22 MB after the CNN's first conv at batch 256) left
/// the cache between layers and made batch 256 1.6x the static int8 model, which keeps its int8
/// activations. A few images at a time keep them in L2; every image and every row is quantized on its
/// own, so the logits are the same bits. The whole batch otherwise.
inline int images_per_pass(const qmodel& m, int batch) {
  constexpr int dynamic_images = 4;
  const bool has_conv = std::any_of(m.layers.begin(), m.layers.end(), [](const qlayer& l) { return l.spec.kind == layer_kind::conv; });
  return m.format == weight_format::dynamic_int8 && has_conv ? std::min(dynamic_images, batch) : batch;
}

/// logits[batch × classes] of images x[batch × input_size] (pixels in [0, 1]).
inline void predict(const qsparse::context& ctx, const qmodel& m, const float* x, int batch, float* logits,
                    workspace& ws) {
  std::size_t widest = static_cast<std::size_t>(m.input_size());
  for (const qlayer& l : m.layers) widest = std::max(widest, static_cast<std::size_t>(l.spec.out_size()));
  widest *= static_cast<std::size_t>(batch);
  const std::size_t nl = m.layers.size();
  if (m.format == weight_format::mixed) {
    run_layers(ctx, m, 0, nl, x, batch, logits, ws);
    return;
  }
  if (m.is_int8()) {
    ws.qa.resize(widest);
    ws.qb.resize(widest);
    qsparse::quantize<activation_scheme>(qsparse::make_view(x, batch, m.input_size()),
                                         qsparse::make_view(ws.qa.data(), batch, m.input_size()), m.input);
    for (std::size_t i = 0; i < nl; ++i) {
#if DEMO_HAVE_CONV_POOL
      if (detail::fuses_with_pool(m, i)) {
        detail::run_int8_conv_pool(ctx, m.layers[i], m.layers[i + 1], batch, ws.qa.data(), ws.qb.data());
        ws.qa.swap(ws.qb);
        ++i;
        continue;
      }
#endif
      detail::run_int8_layer(ctx, m.layers[i], i + 1 == nl, batch, ws.qa.data(), ws.qb.data(), logits);
      ws.qa.swap(ws.qb);
    }
    return;
  }
  const int images = images_per_pass(m, batch);
  if (images < batch) {
    const auto in_size = static_cast<std::size_t>(m.input_size()), classes = static_cast<std::size_t>(m.classes());
    for (int b0 = 0; b0 < batch; b0 += images)
      predict(ctx, m, x + static_cast<std::size_t>(b0) * in_size, std::min(images, batch - b0),
              logits + static_cast<std::size_t>(b0) * classes, ws);
    return;
  }
  ws.fa.resize(widest);
  ws.fb.resize(widest);
  const float* in = x;
  for (std::size_t i = 0; i < nl; ++i) {
    float* out = i + 1 == nl ? logits : ws.fb.data();
#if DEMO_HAVE_CONV_POOL
    if (detail::fuses_dynamic_with_pool(m, i)) {
      detail::run_dynamic_conv(ctx, m.layers[i], &m.layers[i + 1], batch, in, out, ws);
      ++i;
    } else
#endif
      detail::run_float_layer(ctx, m.format, m.layers[i], batch, in, out, ws);
    if (i + 1 < nl) {
      ws.fa.swap(ws.fb);
      in = ws.fa.data();
    }
  }
}

/// Test-set accuracy (percent) of a prepared model, in batches of 500.
inline double accuracy(const qsparse::context& ctx, const qmodel& m, const matrix& x, const std::vector<int>& y) {
  workspace ws;
  const int n = static_cast<int>(x.rows()), classes = m.classes();
  std::vector<float> logits;
  int correct = 0;
  for (int s = 0; s < n; s += 500) {
    const int rows = std::min(500, n - s);
    logits.resize(static_cast<std::size_t>(rows) * static_cast<std::size_t>(classes));
    predict(ctx, m, x.row(s).data(), rows, logits.data(), ws);
    for (int i = 0; i < rows; ++i)
      correct += argmax_row(logits.data() + static_cast<std::size_t>(i) * classes, classes) == y[static_cast<std::size_t>(s + i)];
  }
  return n == 0 ? 0.0 : 100.0 * correct / n;
}

}  // namespace demo
