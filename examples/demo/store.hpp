// examples/demo/store.hpp — a compressed model as one safetensors file, and back.
//
// Tensors (weighted layer i = its position in the graph; K×N weights, row-major):
//   layers.<i>.weight              F32 / F16 / I8 [K, N]   dense storage
//   layers.<i>.weight              U8 [K' · N / 2]         int4_group: K'×N int4 values two per byte (value j
//                                                          of the row-major run in byte j / 2, even j in the
//                                                          low nibble; K' = K rounded up to the group G, the
//                                                          extra rows zero)
//   layers.<i>.weight_scale        F32 [N, K' / G]         int4_group: one scale per group of G along K
//   layers.<i>.weight.mask         U8 [N · ceil(K / 8)]    bitmask storage, qsparse::bitmask_values: bit k
//   layers.<i>.weight.values       I8 [nonzeros]             (LSB first) of output n's bytes set when w(k, n)
//                                                            is non-zero; the non-zeros output by output
//   layers.<i>.weight.packed       U8 [bytes]              block_4x16 / two_of_four storage: the buffer
//                                                          qsparse::sparse_gemm runs from (ISA-independent,
//                                                          validated by packed_sparse_weights_view::from_bytes)
//   layers.<i>.weight.clusters.layout  I32 [6]             clustered storage (int8 models), the arrays of
//   layers.<i>.weight.clusters.codebook F32 [C or N·C]       qsparse::packed_clusters for the N×K weights:
//   layers.<i>.weight.clusters.indices U8 [ceil(N·K·b / 8)]  bits b, C clusters, axis 0 (a codebook per output
//                                                          channel) or -1 (one); no weight_scale: the int8
//                                                          weights and scales are derived from the codebook
//                                                          (cluster.hpp decode_clusters)
//   layers.<i>.weight_scale        F32 [N]                 int8 formats: per output channel
//   layers.<i>.bias                F32 [N] (float formats) or I32 [N] (int8: scale input · weight_scale[n])
//   layers.<i>.output.scale        F32 [1], .zero_point I32 [1]   int8, every weighted layer but the last
//   input.scale                    F32 [1], input.zero_point I32 [1]   int8
//   layers.<i>.bias                I64 [N]                 int16x8: scale input16 · weight_scale[n]
//   layers.<i>.input16.scale       F32 [1]                 int16x8: the int16 input's scale (zero point 0)
//   layers.<i>.input.scale         F32 [1], .zero_point I32 [1]   int8 layers of a mixed model (each has its
//                                                          own input quantization; no model-level input.*)
// Metadata: "qsparse.format" = "qsparse-demo-model/1", "qsparse.variant", "qsparse.architecture",
// "qsparse.weights" (f32 | f16 | dynamic_int8 | int8 | int4_group | int16x8 | mixed), "qsparse.scheme" (the
// quantization rules in words)
// and "qsparse.graph": a JSON array, one object per layer: {"op": "dense" | "conv2d" | "maxpool2d",
// "input": [h, w, c], "output": [h, w, c], "kernel": [kh, kw], "relu": bool, "storage": "dense" |
// "bitmask" | "block_4x16" | "two_of_four" | "clustered"}, and for int4_group weighted layers "group": G. A mixed model's
// weighted layers also name their own format: "weights": f32 | f16 | dynamic_int8 | int8 | int4_group |
// int16x8 (stored as in a model of that format; dense storage only).
//
// Loading trusts nothing: qsparse::io::safetensors_file validates the container; here the graph must
// chain (each layer's input is the previous output, shapes follow from the op) and start at 28×28×1,
// every tensor must have the dtype and shape the graph implies, bitmask popcounts must match, packed
// sparse buffers must validate and match K×N, scales and zero points must be valid for the scheme.
#pragma once

#include <nlohmann/json.hpp>

#include <array>
#include <cmath>
#include <cstdint>
#include <cstring>
#include <memory>
#include <stdexcept>
#include <string>
#include <vector>

#include "features.hpp"
#include "cluster.hpp"
#include "model.hpp"
#include "qsparse/io/safetensors.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/sub_byte.hpp"
#include "qsparse/sparsity/bitmask_values.hpp"
#if DEMO_HAVE_SPARSE_GEMM
#include "qsparse/spec/packed_sparse_weights.hpp"
#endif

namespace demo {

inline const char* scheme_description(weight_format f) {
  switch (f) {
    case weight_format::f32: return "float32 weights and activations";
    case weight_format::f16: return "IEEE float16 weights (round to nearest even), float32 activations and bias";
    case weight_format::dynamic_int8:
      return "int8 weights [-127, 127] symmetric per output channel (TFLite); activations quantized per row at run "
             "time, asymmetric (TFLite EvalHybrid); float32 bias";
    case weight_format::int4_group:
      return "int4 weights [-8, 7] symmetric, two per byte (even k in the low nibble), one float32 scale per group "
             "of G along K (K padded with zero weights to a multiple of G); activations quantized to int8 per row "
             "at run time; float32 bias";
    case weight_format::int8:
      return "int8 weights [-127, 127] symmetric per output channel; int8 activations affine per tensor; int32 bias "
             "(scale input * weight); TFLite rounding (half away from zero) and double-rounding fixed-point "
             "requantization; logits dequantized to float";
    case weight_format::int16x8:
      return "int8 weights [-127, 127] symmetric per output channel; float input quantized to int16 symmetric per "
             "tensor (zero point 0, half away from zero); int64 bias (scale input16 * weight); exact int64 sums "
             "dequantized to float per output channel";
    case weight_format::mixed:
      return "each weighted layer in its own format (graph \"weights\"), as described for that format; float "
             "activations between layers except int8 to int8, where the int8 values pass unchanged";
  }
  return "";
}

namespace detail {

inline std::string layer_name(std::size_t i, const char* what) { return "layers." + std::to_string(i) + "." + what; }

inline void fail(const std::string& path, const std::string& what) { throw std::runtime_error(path + ": " + what); }

inline storage_kind storage_from_string(const std::string& s, const std::string& path) {
  for (storage_kind k : {storage_kind::dense, storage_kind::bitmask, storage_kind::block_4x16, storage_kind::two_of_four,
                         storage_kind::clustered})
    if (s == to_string(k)) return k;
  fail(path, "unknown storage \"" + s + "\" in the graph");
  return storage_kind::dense;
}

inline weight_format format_from_string(const std::string& s, const std::string& path) {
  for (weight_format f : {weight_format::f32, weight_format::f16, weight_format::dynamic_int8, weight_format::int8,
                          weight_format::int4_group, weight_format::int16x8, weight_format::mixed})
    if (s == to_string(f)) return f;
  fail(path, "unknown weight format \"" + s + "\"");
  return weight_format::f32;
}

template <class T, std::size_t R>
qsparse::tensor_view<const T, R> get_shaped(const qsparse::io::safetensors_file& f, const std::string& name,
                                            const std::array<qsparse::index_t, R>& shape) {
  const auto v = f.template get<T, R>(name);
  for (std::size_t r = 0; r < R; ++r)
    if (v.extent(r) != shape[r])
      fail(f.source(), "tensor \"" + name + "\" has extent " + std::to_string(v.extent(r)) + " along axis " +
                           std::to_string(r) + ", the graph needs " + std::to_string(shape[r]));
  return v;
}

inline qsparse::per_tensor_params get_params(const qsparse::io::safetensors_file& f, const std::string& prefix) {
  qsparse::per_tensor_params p;
  p.scale = get_shaped<float, 1>(f, prefix + ".scale", {1})(0);
  p.zero_point = get_shaped<std::int32_t, 1>(f, prefix + ".zero_point", {1})(0);
  qsparse::validate<activation_scheme>(p, (f.source() + ": " + prefix).c_str());
  return p;
}

}  // namespace detail

/// Writes `m` to `path`; returns the file size in bytes.
inline std::size_t save_model(const qmodel& m, const std::string& path) {
  qsparse::io::safetensors_writer out;
  nlohmann::json graph = nlohmann::json::array();
  const std::size_t n = m.layers.size();
  for (std::size_t i = 0; i < n; ++i) {
    const qlayer& l = m.layers[i];
    const layer_spec& s = l.spec;
    graph.push_back({{"op", to_string(s.kind)},
                     {"input", {s.in_h, s.in_w, s.in_c}},
                     {"output", {s.out_h, s.out_w, s.out_c}},
                     {"kernel", {s.kh, s.kw}},
                     {"relu", s.relu},
                     {"storage", to_string(l.storage)}});
    const weight_format lf = m.layer_format(l);
    if (m.format == weight_format::mixed && s.has_weights()) {
      if (lf == weight_format::mixed) throw std::logic_error("save_model: a layer of a mixed model has no format of its own");
      if (l.storage != storage_kind::dense) throw std::logic_error("save_model: mixed models store dense weights only");
      graph.back()["weights"] = to_string(lf);
    }
    if (lf == weight_format::int4_group && s.has_weights()) graph.back()["group"] = l.group;
    if (!s.has_weights()) continue;
    const qsparse::index_t k = s.k(), nn = s.out_c;
    switch (lf) {
      case weight_format::mixed: break;
      case weight_format::int16x8:
        out.add(detail::layer_name(i, "weight"), qsparse::make_view(l.wq.data(), k, nn));
        out.add(detail::layer_name(i, "weight_scale"), qsparse::make_view(l.w_scale.data(), nn));
        out.add(detail::layer_name(i, "input16.scale"), qsparse::make_view(&l.in16_scale, 1));
        break;
      case weight_format::f32:
        out.add(detail::layer_name(i, "weight"), qsparse::make_view(l.w.data(), k, nn));
        break;
      case weight_format::f16:
        out.add(detail::layer_name(i, "weight"), qsparse::make_view(l.w16.data(), k, nn));
        break;
      case weight_format::int4_group: {
        const qsparse::index_t kp = padded_depth(s.k(), l.group);
        std::vector<std::uint8_t> bytes(static_cast<std::size_t>(qsparse::packed_bytes<qsparse::int4>(kp * nn)));
        qsparse::pack<qsparse::int4>(l.w4.data(), kp * nn, bytes.data());
        out.add(detail::layer_name(i, "weight"), qsparse::make_view(bytes.data(), static_cast<qsparse::index_t>(bytes.size())));
        out.add(detail::layer_name(i, "weight_scale"), qsparse::make_view(l.w4_scale.data(), nn, kp / l.group));
        break;
      }
      case weight_format::dynamic_int8:
      case weight_format::int8:
        switch (l.storage) {
          case storage_kind::dense: out.add(detail::layer_name(i, "weight"), qsparse::make_view(l.wq.data(), k, nn)); break;
          case storage_kind::bitmask: {
            // qsparse::bitmask_values: per output n, ceil(K/8) bytes of bits (k LSB-first), then the non-zeros.
            const auto b = qsparse::bitmask_values<std::int8_t>::from_kn(
                qsparse::make_strided_view(static_cast<const std::int8_t*>(l.wq.data()), {k, nn}, {nn, 1}));
            const auto arrays = b.view().arrays();
            out.add_bytes(detail::layer_name(i, "weight.mask"), qsparse::io::dtype::u8,
                          {static_cast<qsparse::index_t>(arrays[0].count)}, arrays[0].data, arrays[0].count);
            out.add_bytes(detail::layer_name(i, "weight.values"), qsparse::io::dtype::i8,
                          {static_cast<qsparse::index_t>(arrays[1].count)}, arrays[1].data, arrays[1].count);
            break;
          }
          case storage_kind::clustered: {
            if (l.clusters == nullptr) throw std::logic_error("save_model: a clustered layer without its clusters");
            const auto arrays = l.clusters->arrays();
            out.add_bytes(detail::layer_name(i, "weight.clusters.layout"), qsparse::io::dtype::i32,
                          {static_cast<qsparse::index_t>(arrays[0].count)}, arrays[0].data, arrays[0].count * 4);
            out.add_bytes(detail::layer_name(i, "weight.clusters.codebook"), qsparse::io::dtype::f32,
                          {static_cast<qsparse::index_t>(arrays[1].count)}, arrays[1].data, arrays[1].count * 4);
            out.add_bytes(detail::layer_name(i, "weight.clusters.indices"), qsparse::io::dtype::u8,
                          {static_cast<qsparse::index_t>(arrays[2].count)}, arrays[2].data, arrays[2].count);
            break;
          }
          case storage_kind::block_4x16:
          case storage_kind::two_of_four: {
#if DEMO_HAVE_SPARSE_GEMM
            if (l.packed_other == nullptr) throw std::logic_error("save_model: prepare() the model before saving sparse layers");
            const auto& packed = static_cast<const sparse_holder*>(l.packed_other.get())->view;
            out.add_bytes(detail::layer_name(i, "weight.packed"), qsparse::io::dtype::u8,
                          {static_cast<qsparse::index_t>(packed.size_bytes())}, packed.bytes(), packed.size_bytes());
#else
            throw std::runtime_error("save_model: sparse storage needs qsparse/gemm/sparse_gemm.hpp");
#endif
            break;
          }
        }
        if (l.storage != storage_kind::clustered) out.add(detail::layer_name(i, "weight_scale"), qsparse::make_view(l.w_scale.data(), nn));
        break;
    }
    if (lf == weight_format::int8) {
      out.add(detail::layer_name(i, "bias"), qsparse::make_view(l.bias_q.data(), nn));
      if (i + 1 < n) {
        out.add(detail::layer_name(i, "output.scale"), qsparse::make_view(&l.output.scale, 1));
        out.add(detail::layer_name(i, "output.zero_point"), qsparse::make_view(&l.output.zero_point, 1));
      }
      if (m.format == weight_format::mixed) {
        out.add(detail::layer_name(i, "input.scale"), qsparse::make_view(&l.input.scale, 1));
        out.add(detail::layer_name(i, "input.zero_point"), qsparse::make_view(&l.input.zero_point, 1));
      }
    } else if (lf == weight_format::int16x8) {
      out.add(detail::layer_name(i, "bias"), qsparse::make_view(l.bias_q64.data(), nn));
    } else {
      out.add(detail::layer_name(i, "bias"), qsparse::make_view(l.bias_f.data(), nn));
    }
  }
  if (m.format == weight_format::int8) {
    out.add("input.scale", qsparse::make_view(&m.input.scale, 1));
    out.add("input.zero_point", qsparse::make_view(&m.input.zero_point, 1));
  }
  out.set_metadata("qsparse.format", "qsparse-demo-model/1");
  out.set_metadata("qsparse.variant", m.name);
  out.set_metadata("qsparse.architecture", m.architecture);
  out.set_metadata("qsparse.weights", to_string(m.format));
  out.set_metadata("qsparse.scheme", scheme_description(m.format));
  out.set_metadata("qsparse.graph", graph.dump());
  return out.save(path);
}

/// Reads and validates a model written by save_model; the model keeps the file (sparse layers run from
/// its bytes). Throws std::runtime_error or qsparse::error naming the file and what is wrong.
inline qmodel load_model(const std::string& path) {
  auto file = std::make_shared<qsparse::io::safetensors_file>(qsparse::io::safetensors_file::load(path));
  const qsparse::io::safetensors_file& f = *file;
  if (!f.has_metadata("qsparse.format") || f.metadata("qsparse.format") != "qsparse-demo-model/1")
    detail::fail(path, "not a qsparse demo model (metadata qsparse.format is not \"qsparse-demo-model/1\")");
  qmodel m;
  m.file = file;
  m.name = f.metadata("qsparse.variant");
  m.architecture = f.metadata("qsparse.architecture");
  m.format = detail::format_from_string(f.metadata("qsparse.weights"), path);
  nlohmann::json graph;
  try {
    graph = nlohmann::json::parse(f.metadata("qsparse.graph"));
  } catch (const nlohmann::json::exception& e) {
    detail::fail(path, std::string("metadata qsparse.graph is not valid JSON: ") + e.what());
  }
  if (!graph.is_array() || graph.empty() || graph.size() > 64) detail::fail(path, "qsparse.graph must be a non-empty array of at most 64 layers");
  int h = 28, w = 28, c = 1;
  for (std::size_t i = 0; i < graph.size(); ++i) {
    const nlohmann::json& g = graph[i];
    const std::string where = "layer " + std::to_string(i) + " of qsparse.graph";
    layer_spec s;
    try {
      const std::string op = g.at("op").get<std::string>();
      if (op == "dense") {
        s.kind = layer_kind::dense;
      } else if (op == "conv2d") {
        s.kind = layer_kind::conv;
      } else if (op == "maxpool2d") {
        s.kind = layer_kind::maxpool;
      } else {
        detail::fail(path, where + ": unknown op \"" + op + "\"");
      }
      const auto in = g.at("input").get<std::vector<int>>();
      const auto out = g.at("output").get<std::vector<int>>();
      const auto kernel = g.at("kernel").get<std::vector<int>>();
      if (in.size() != 3 || out.size() != 3 || kernel.size() != 2) detail::fail(path, where + ": input/output need 3 extents, kernel 2");
      s.in_h = in[0]; s.in_w = in[1]; s.in_c = in[2];
      s.out_h = out[0]; s.out_w = out[1]; s.out_c = out[2];
      s.kh = kernel[0]; s.kw = kernel[1];
      s.relu = g.at("relu").get<bool>();
      qlayer l;
      l.storage = detail::storage_from_string(g.at("storage").get<std::string>(), path);
      if (m.format == weight_format::mixed && s.kind != layer_kind::maxpool) {
        l.format = detail::format_from_string(g.at("weights").get<std::string>(), path);
        if (l.format == weight_format::mixed) detail::fail(path, where + ": a layer's weights cannot be \"mixed\"");
        if (l.storage != storage_kind::dense) detail::fail(path, where + ": mixed models store dense weights only");
      }
      if (m.layer_format(l) == weight_format::int4_group && s.kind != layer_kind::maxpool) {
        l.group = g.at("group").get<int>();
        if (l.group < 8 || l.group > 4096 || l.group % 8 != 0)
          detail::fail(path, where + ": group " + std::to_string(l.group) + " is not a multiple of 8 in [8, 4096]");
      }
      l.spec = s;
      m.layers.push_back(std::move(l));
    } catch (const nlohmann::json::exception& e) {
      detail::fail(path, where + ": " + e.what());
    }
    // The graph must chain and each op's output shape must follow from its input.
    const bool chained = s.kind == layer_kind::dense ? s.in_size() == h * w * c && s.in_h == 1 && s.in_w == 1
                                                     : s.in_h == h && s.in_w == w && s.in_c == c;
    if (!chained) detail::fail(path, where + ": its input does not match the previous layer's output");
    bool ok = s.kh >= 1 && s.kw >= 1 && s.kh <= 7 && s.kw <= 7 && s.out_c >= 1 && s.out_c <= 4096;
    if (s.kind == layer_kind::dense) ok = ok && s.kh == 1 && s.kw == 1 && s.out_h == 1 && s.out_w == 1 && s.in_c <= 65536;
    if (s.kind == layer_kind::conv) ok = ok && s.out_h == s.in_h - s.kh + 1 && s.out_w == s.in_w - s.kw + 1 && s.out_h >= 1 && s.out_w >= 1;
    if (s.kind == layer_kind::maxpool) ok = ok && !s.relu && s.out_c == s.in_c && s.out_h == s.in_h / s.kh && s.out_w == s.in_w / s.kw && s.out_h >= 1 && s.out_w >= 1;
    if (!ok) detail::fail(path, where + ": inconsistent shapes for a " + std::string(to_string(s.kind)));
    h = s.out_h;
    w = s.out_w;
    c = s.out_c;
  }
  if (m.layers.back().spec.kind != layer_kind::dense || m.layers.back().spec.out_c < 2)
    detail::fail(path, "the last layer must be dense with at least 2 outputs");
  const std::size_t n = m.layers.size();
  if (m.format == weight_format::int8) m.input = detail::get_params(f, "input");
  qsparse::per_tensor_params current = m.input;
  for (std::size_t i = 0; i < n; ++i) {
    qlayer& l = m.layers[i];
    const layer_spec& s = l.spec;
    l.input = current;
    if (!s.has_weights()) {
      l.output = current;
      if (l.storage != storage_kind::dense) detail::fail(path, "a pooling layer has no weights to store sparsely");
      continue;
    }
    const qsparse::index_t k = s.k(), nn = s.out_c;
    const std::size_t count = static_cast<std::size_t>(k) * static_cast<std::size_t>(nn);
    const weight_format lf = m.layer_format(l);
    const bool int8 = lf == weight_format::int8 || lf == weight_format::dynamic_int8;
    if (!int8 && l.storage != storage_kind::dense) detail::fail(path, "float weights are stored dense only");
    switch (lf) {
      case weight_format::mixed: break;  // rejected above
      case weight_format::int16x8: {
        const auto v = detail::get_shaped<std::int8_t, 2>(f, detail::layer_name(i, "weight"), {k, nn});
        l.wq.assign(v.data_handle(), v.data_handle() + count);
        const auto sv = detail::get_shaped<float, 1>(f, detail::layer_name(i, "weight_scale"), {nn});
        l.w_scale.assign(sv.data_handle(), sv.data_handle() + nn);
        for (float x : l.w_scale)
          if (!(std::isfinite(x) && x > 0.0f)) detail::fail(path, detail::layer_name(i, "weight_scale") + " holds " + std::to_string(x) + ", not a positive finite scale");
        l.in16_scale = detail::get_shaped<float, 1>(f, detail::layer_name(i, "input16.scale"), {1})(0);
        if (!(std::isfinite(l.in16_scale) && l.in16_scale > 0.0f))
          detail::fail(path, detail::layer_name(i, "input16.scale") + " holds " + std::to_string(l.in16_scale) + ", not a positive finite scale");
        for (std::int8_t q : l.wq)
          if (q == -128) detail::fail(path, detail::layer_name(i, "weight") + " holds -128, outside the narrow int8 range [-127, 127]");
        const auto b = detail::get_shaped<std::int64_t, 1>(f, detail::layer_name(i, "bias"), {nn});
        l.bias_q64.assign(b.data_handle(), b.data_handle() + nn);
        for (std::int64_t x : l.bias_q64)  // gemm_16x8 checks |bias| against the int64 headroom too
          if (x > (std::int64_t{1} << 40) || x < -(std::int64_t{1} << 40)) detail::fail(path, detail::layer_name(i, "bias") + " holds " + std::to_string(x) + ", beyond +-2^40");
        continue;
      }
      case weight_format::f32: {
        const auto v = detail::get_shaped<float, 2>(f, detail::layer_name(i, "weight"), {k, nn});
        l.w = Eigen::Map<const matrix>(v.data_handle(), k, nn);
        break;
      }
      case weight_format::f16: {
        const auto v = detail::get_shaped<qsparse::float16, 2>(f, detail::layer_name(i, "weight"), {k, nn});
        l.w16.assign(v.data_handle(), v.data_handle() + count);
        break;
      }
      case weight_format::int4_group: {
        const qsparse::index_t kp = padded_depth(static_cast<int>(k), l.group);
        const auto v = detail::get_shaped<std::uint8_t, 1>(f, detail::layer_name(i, "weight"),
                                                           {qsparse::packed_bytes<qsparse::int4>(kp * nn)});
        l.w4.resize(static_cast<std::size_t>(kp * nn));
        qsparse::unpack<qsparse::int4>(v.data_handle(), kp * nn, l.w4.data());
        const auto sv = detail::get_shaped<float, 2>(f, detail::layer_name(i, "weight_scale"), {nn, kp / l.group});
        l.w4_scale.assign(sv.data_handle(), sv.data_handle() + nn * (kp / l.group));  // pack_weights_q4 checks them
        break;
      }
      case weight_format::dynamic_int8:
      case weight_format::int8:
        switch (l.storage) {
          case storage_kind::dense: {
            const auto v = detail::get_shaped<std::int8_t, 2>(f, detail::layer_name(i, "weight"), {k, nn});
            l.wq.assign(v.data_handle(), v.data_handle() + count);
            break;
          }
          case storage_kind::bitmask: {
            const auto mask = f.get<std::uint8_t, 1>(detail::layer_name(i, "weight.mask"));
            const auto values = f.get<std::int8_t, 1>(detail::layer_name(i, "weight.values"));
            // from_arrays checks the bitmask size, its padding bits and one value per set bit.
            const auto b = qsparse::bitmask_values_view<std::int8_t>::from_arrays(
                k, nn, mask.data_handle(), static_cast<std::size_t>(mask.extent(0)), values.data_handle(),
                static_cast<std::size_t>(values.extent(0)));
            l.wq.assign(count, 0);
            b.to_kn(qsparse::make_strided_view(l.wq.data(), {k, nn}, {nn, 1}));
            break;
          }
          case storage_kind::clustered: {
            if (m.format != weight_format::int8) detail::fail(path, "clustered storage is for int8 models only");
            const auto layout = f.get<std::int32_t, 1>(detail::layer_name(i, "weight.clusters.layout"));
            const auto codebook = f.get<float, 1>(detail::layer_name(i, "weight.clusters.codebook"));
            const auto indices = f.get<std::uint8_t, 1>(detail::layer_name(i, "weight.clusters.indices"));
            // from_arrays checks the layout, the codebook's length and values, every index and the padding.
            l.clusters = std::make_shared<qsparse::packed_clusters>(qsparse::packed_clusters::from_arrays(
                layout.data_handle(), static_cast<std::size_t>(layout.extent(0)), codebook.data_handle(),
                static_cast<std::size_t>(codebook.extent(0)), indices.data_handle(), static_cast<std::size_t>(indices.extent(0))));
            try {
              decode_clusters(l);  // checks the shape (N x K) and the axis
            } catch (const std::exception& e) {
              detail::fail(path, detail::layer_name(i, "weight.clusters") + ": " + e.what());
            }
            break;
          }
          case storage_kind::block_4x16:
          case storage_kind::two_of_four: {
#if DEMO_HAVE_SPARSE_GEMM
            if (m.format != weight_format::int8 || (s.kind != layer_kind::dense && !(DEMO_HAVE_SPARSE_CONV && s.kind == layer_kind::conv)))
              detail::fail(path, "sparse kernel storage is for int8 dense and conv layers only");
            const auto raw = f.bytes(detail::layer_name(i, "weight.packed"));
            auto holder = std::make_shared<sparse_holder>();
            holder->owner = file;  // the view points into the file's (64-byte aligned) tensor storage
            holder->view = qsparse::packed_sparse_weights_view::from_bytes(raw.data, raw.size);
            const auto want = l.storage == storage_kind::block_4x16 ? qsparse::sparse_format::block_4x16 : qsparse::sparse_format::two_of_four;
            if (holder->view.format() != want || holder->view.k() != k || holder->view.n() != nn || holder->view.size_bytes() != raw.size)
              detail::fail(path, detail::layer_name(i, "weight.packed") + " is not a " + to_string(l.storage) + " buffer of " + std::to_string(k) + " x " + std::to_string(nn) + " weights");
#if DEMO_HAVE_SPARSE_CONV
            // A conv layer's buffer is its K×N matrix (K = kh·kw·cin): the sparse conv2d runs from it.
            if (s.kind == layer_kind::conv)
              holder->conv = qsparse::packed_sparse_conv2d_weights::from_group_views(s.kh, s.kw, s.in_c, {holder->view});
#endif
            l.packed_other = holder;
#else
            detail::fail(path, "sparse kernel storage needs qsparse/gemm/sparse_gemm.hpp, absent from this build");
#endif
            break;
          }
        }
        if (l.storage != storage_kind::clustered) {
          const auto sv = detail::get_shaped<float, 1>(f, detail::layer_name(i, "weight_scale"), {nn});
          l.w_scale.assign(sv.data_handle(), sv.data_handle() + nn);
          for (float x : l.w_scale)
            if (!(std::isfinite(x) && x > 0.0f)) detail::fail(path, detail::layer_name(i, "weight_scale") + " holds " + std::to_string(x) + ", not a positive finite scale");
        }
        for (std::int8_t q : l.wq)
          if (q == -128) detail::fail(path, detail::layer_name(i, "weight") + " holds -128, outside the narrow int8 range [-127, 127]");
        break;
    }
    if (lf == weight_format::int8) {
      const auto b = detail::get_shaped<std::int32_t, 1>(f, detail::layer_name(i, "bias"), {nn});
      l.bias_q.assign(b.data_handle(), b.data_handle() + nn);
      if (m.format == weight_format::mixed) l.input = detail::get_params(f, "layers." + std::to_string(i) + ".input");
      if (i + 1 < n) {
        l.output = detail::get_params(f, "layers." + std::to_string(i) + ".output");
        current = l.output;
      }
    } else {
      const auto b = detail::get_shaped<float, 1>(f, detail::layer_name(i, "bias"), {nn});
      l.bias_f.assign(b.data_handle(), b.data_handle() + nn);
    }
  }
  return m;
}

}  // namespace demo
