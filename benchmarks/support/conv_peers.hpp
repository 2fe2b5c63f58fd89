// benchmarks/support/conv_peers.hpp — other libraries' int8 convolutions, wrapped to compute what
// qsparse's conv2d / depthwise_conv2d compute, so they can be timed next to them in one binary.
//
// The problem (conv_problem, one per layer, deterministic), batch 1, TFLite SAME padding:
//   input [H][W][C_in] int8, real = 0.05 * (x - (-7))
//   filter OHWI [C_out][k][k][C_in] (depthwise: [1][k][k][C]) int8 in [-127, 127], per-output-channel scales
//   bias [C_out] int32, output int8 with scale chosen so outputs spread over ~±40 quanta, zero point 3.
// qsparse runs TFLite's per-channel fixed-point requantization; the peers their own float requantization
// of the same reals, so the outputs agree within 1 LSB (check_conv_peers in conv_benchmark.cpp).
//
//   onednn_conv_s8(problem)   (QSPARSE_HAVE_ONEDNN) oneDNN convolution_forward (direct algorithm), src u8
//     (x + 128, zero point -7 + 128: the same reals, VNNI's native type, as gemm_peers.hpp's matmul), weights
//     s8 with format_tag::any reordered once, bias s32, per-channel output scales (v2.x
//     set_output_scales), constant src/dst zero points, dst s8 NHWC; depthwise = groups C with
//     weights [C][1][1][k][k]. One thread (OpenMP count set before creation and before each run).
//     This oneDNN (2.6) implements no int8 depthwise convolution with zero points and per-channel scales;
//     there the source zero point is folded into the bias and the destination zero point is a linear
//     post-op (exact() false: border outputs differ, the work is the same).
//   xnnpack_conv_qc8(problem) (QSPARSE_HAVE_XNNPACK) xnn_create_convolution2d_nhwc_qc8 (per-channel
//     kernel scales), explicit TFLite SAME pads; depthwise with XNN_FLAG_DEPTHWISE_CONVOLUTION and the
//     kernel [k][k][C]. No thread pool (runs on the caller).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <unordered_map>
#include <vector>

#include "support/gemm_peers.hpp"

namespace qsparse_bench {

/// One benchmark layer: (H, W, C_in, C_out, k, stride), or a depthwise k×k on (H, W, C).
struct conv_layer {
  std::int64_t h, w, c_in, c_out, k, stride;
  bool depthwise;
  std::string name() const {
    // Appended in order: GCC 12's -Wrestrict misreads "literal" + std::string&& at -O2 on aarch64 (GCC PR 105329).
    std::string s = depthwise ? "dw_" : "";
    s += std::to_string(h);
    s += 'x';
    s += std::to_string(w);
    s += 'x';
    s += std::to_string(c_in);
    if (!depthwise) {
      s += 'x';
      s += std::to_string(c_out);
    }
    s += "_k";
    s += std::to_string(k);
    s += 's';
    s += std::to_string(stride);
    return s;
  }
};

struct conv_problem {
  conv_layer layer{};
  std::int64_t out_h = 0, out_w = 0, pad_top = 0, pad_left = 0, pad_bottom = 0, pad_right = 0;
  std::vector<std::int8_t> input;   // [H][W][C_in]
  float in_scale = 0.05f;
  std::int32_t in_zero_point = -7;
  std::vector<std::int8_t> filter;  // OHWI [C_out][k][k][C_in], depthwise [1][k][k][C]
  std::vector<float> w_scale;       // [C_out]
  std::vector<std::int32_t> bias;   // [C_out]
  float out_scale = 1.0f;
  std::int32_t out_zero_point = 3;

  std::int64_t taps_per_output() const { return layer.k * layer.k * (layer.depthwise ? 1 : layer.c_in); }
  /// 2 × multiply-adds of one run.
  double ops() const { return 2.0 * double(out_h * out_w * layer.c_out) * double(taps_per_output()); }
  /// real multipliers in_scale * w_scale[c] / out_scale (double).
  std::vector<double> multipliers() const {
    std::vector<double> m;
    for (float s : w_scale) m.push_back(double(in_scale) * double(s) / double(out_scale));
    return m;
  }

  static conv_problem make(const conv_layer& l, std::uint64_t seed = 1) {
    conv_problem p;
    p.layer = l;
    // TFLite SAME: out = ceil(in / s); total = max((out - 1) * s + k - in, 0); top = total / 2.
    const auto axis = [&](std::int64_t in, std::int64_t& out, std::int64_t& lead, std::int64_t& trail) {
      out = (in + l.stride - 1) / l.stride;
      const std::int64_t total = std::max<std::int64_t>((out - 1) * l.stride + l.k - in, 0);
      lead = total / 2;
      trail = total - lead;
    };
    axis(l.h, p.out_h, p.pad_top, p.pad_bottom);
    axis(l.w, p.out_w, p.pad_left, p.pad_right);
    std::uint64_t state = seed * 0x2545F4914F6CDD1Dull + static_cast<std::uint64_t>(l.h * 131 + l.c_in * 7 + l.c_out);
    const auto next = [&state]() {
      state += 0x9E3779B97F4A7C15ull;
      std::uint64_t z = state;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      return z ^ (z >> 31);
    };
    p.input.resize(static_cast<std::size_t>(l.h * l.w * l.c_in));
    for (auto& x : p.input) x = static_cast<std::int8_t>(static_cast<int>(next() & 0xFFu) - 128);
    p.filter.resize(static_cast<std::size_t>(l.c_out * p.taps_per_output()));
    for (auto& x : p.filter) x = static_cast<std::int8_t>(static_cast<int>(next() % 255u) - 127);
    for (std::int64_t c = 0; c < l.c_out; ++c) p.w_scale.push_back(0.01f * (1.0f + 0.05f * static_cast<float>(c % 8)));
    const double acc_deviation = 5400.0 * std::sqrt(static_cast<double>(p.taps_per_output()));
    for (std::int64_t c = 0; c < l.c_out; ++c)
      p.bias.push_back(static_cast<std::int32_t>(static_cast<double>(next() % 2001u) / 1000.0 * acc_deviation - acc_deviation));
    p.out_scale = static_cast<float>(acc_deviation * double(p.in_scale) * double(p.w_scale[0]) / 40.0);
    return p;
  }
};

// ---- oneDNN ------------------------------------------------------------------------------------------
#if defined(QSPARSE_HAVE_ONEDNN)
class onednn_conv_s8 {
 public:
  static bool available() { return true; }
  static const char* name() { return "onednn_conv_u8s8"; }

  explicit onednn_conv_s8(const conv_problem& p) : dst_(static_cast<std::size_t>(p.out_h * p.out_w * p.layer.c_out)) {
    detail::set_onednn_threads(1);
    detail::onednn_call("building the convolution", [&] { build(p); });
  }
  onednn_conv_s8(const onednn_conv_s8&) = delete;
  onednn_conv_s8& operator=(const onednn_conv_s8&) = delete;

  void run() {
    detail::set_onednn_threads(1);
    detail::onednn_call("executing the convolution", [&] {
      conv_.execute(stream_, args_);
      stream_.wait();
    });
  }
  const std::int8_t* output() const noexcept { return dst_.data(); }
  std::string implementation() const { return implementation_; }
  /// False when the source zero point had to be folded into the bias (border outputs then differ).
  bool exact() const noexcept { return exact_; }

 private:
  void build(const conv_problem& p) {
    using dnnl::memory;
    using tag = memory::format_tag;
    using dt = memory::data_type;
    const conv_layer& l = p.layer;
    engine_ = dnnl::engine(dnnl::engine::kind::cpu, 0);
    stream_ = dnnl::stream(engine_);
    src_.resize(p.input.size());
    for (std::size_t i = 0; i < p.input.size(); ++i) src_[i] = static_cast<std::uint8_t>(p.input[i] + 128);
    bias_ = p.bias;
    const memory::desc src_md({1, l.c_in, l.h, l.w}, dt::u8, tag::nhwc);
    const memory::desc dst_md({1, l.c_out, p.out_h, p.out_w}, dt::s8, tag::nhwc);
    const memory::desc bias_md({l.c_out}, dt::s32, tag::x);
    memory::dims w_dims = l.depthwise ? memory::dims{l.c_out, 1, 1, l.k, l.k} : memory::dims{l.c_out, l.c_in, l.k, l.k};
    const memory::desc w_any_md(w_dims, dt::s8, tag::any);
    // User weights: OHWI as is; depthwise [1][k][k][C] transposed to goihw [C][1][1][k][k].
    std::vector<std::int8_t> w_user = p.filter;
    if (l.depthwise) {
      for (std::int64_t c = 0; c < l.c_out; ++c)
        for (std::int64_t t = 0; t < l.k * l.k; ++t)
          w_user[static_cast<std::size_t>(c * l.k * l.k + t)] = p.filter[static_cast<std::size_t>(t * l.c_out + c)];
    }
    const memory::desc w_user_md(w_dims, dt::s8, l.depthwise ? tag::goihw : tag::ohwi);
    std::vector<float> scales;
    for (double m : p.multipliers()) scales.push_back(static_cast<float>(m));
    // oneDNN 2.6 has no depthwise int8 kernel with zero points and per-channel scales: then the source
    // zero point is folded into the bias (bias - zp * Σ_t w), exact except at the border, where oneDNN
    // pads with 0 instead of the zero point, and the destination zero point becomes a linear post-op —
    // the same work, so a fair timing; exact() says which ran.
    const dnnl::convolution_forward::desc desc(dnnl::prop_kind::forward_inference, dnnl::algorithm::convolution_direct,
                                               src_md, w_any_md, bias_md, dst_md, {l.stride, l.stride},
                                               {p.pad_top, p.pad_left}, {p.pad_bottom, p.pad_right});
    const std::int32_t src_zero_point = p.in_zero_point + 128;
    std::unique_ptr<dnnl::convolution_forward::primitive_desc> pd;
    for (bool with_src_zero_point : {true, false}) {
      dnnl::primitive_attr attr;
#if DNNL_VERSION_MAJOR >= 3
      static_assert(DNNL_VERSION_MAJOR < 3, "conv_peers.hpp: write the oneDNN v3 scales path (set_scales_mask)");
#else
      attr.set_output_scales(l.depthwise ? (1 << 0) | (1 << 1) : (1 << 1), scales);
#endif
      if (with_src_zero_point) {
        attr.set_zero_points(DNNL_ARG_SRC, 0, {src_zero_point});
        attr.set_zero_points(DNNL_ARG_DST, 0, {p.out_zero_point});
      } else {
        // The destination zero point as a linear post-op on the scaled value: round(v + zp) = round(v) + zp
        // for an integer zp, so this part stays exact.
        dnnl::post_ops ops;
        ops.append_eltwise(1.0f, dnnl::algorithm::eltwise_linear, 1.0f, static_cast<float>(p.out_zero_point));
        attr.set_post_ops(ops);
      }
      try {
        pd = std::make_unique<dnnl::convolution_forward::primitive_desc>(desc, attr, engine_);
      } catch (const dnnl::error& e) {
        if (e.status != dnnl_unimplemented || !with_src_zero_point) throw;
        continue;
      }
      exact_ = with_src_zero_point;
      break;
    }
    if (!exact_) {
      const std::int64_t taps = p.taps_per_output();
      for (std::int64_t c = 0; c < l.c_out; ++c) {
        std::int64_t sum = 0;
        for (std::int64_t t = 0; t < taps; ++t) sum += w_user[static_cast<std::size_t>(c * taps + t)];
        bias_[static_cast<std::size_t>(c)] -= static_cast<std::int32_t>(src_zero_point * sum);
      }
    }
    implementation_ = std::string(pd->impl_info_str()) + (exact_ ? "" : " (src zero point folded into the bias)");
    conv_ = dnnl::convolution_forward(*pd);
    memory w_user_mem(w_user_md, engine_, w_user.data());
    memory weights(pd->weights_desc(), engine_);
    dnnl::reorder(w_user_mem, weights).execute(stream_, w_user_mem, weights);
    stream_.wait();
    args_ = {{DNNL_ARG_SRC, memory(src_md, engine_, src_.data())},
             {DNNL_ARG_WEIGHTS, weights},
             {DNNL_ARG_BIAS, memory(bias_md, engine_, bias_.data())},
             {DNNL_ARG_DST, memory(dst_md, engine_, dst_.data())}};
  }

  std::vector<std::uint8_t> src_;
  std::vector<std::int32_t> bias_;
  std::vector<std::int8_t> dst_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::convolution_forward conv_;
  std::unordered_map<int, dnnl::memory> args_;
  std::string implementation_;
  bool exact_ = false;
};
#else
class onednn_conv_s8 {
 public:
  static bool available() { return false; }
  static const char* name() { return "onednn_conv_u8s8"; }
  explicit onednn_conv_s8(const conv_problem&) {
    throw std::runtime_error("onednn_conv_s8: oneDNN was not found when the benchmarks were configured");
  }
  void run() {}
  const std::int8_t* output() const noexcept { return nullptr; }
  std::string implementation() const { return {}; }
  bool exact() const noexcept { return false; }
};
#endif

// ---- XNNPACK -----------------------------------------------------------------------------------------
#if defined(QSPARSE_HAVE_XNNPACK)
class xnnpack_conv_qc8 {
 public:
  static bool available() { return true; }
  static const char* name() { return "xnnpack_conv_qc8"; }

  explicit xnnpack_conv_qc8(const conv_problem& p)
      : input_(p.input), dst_(static_cast<std::size_t>(p.out_h * p.out_w * p.layer.c_out)) {
    detail::xnn_initialize_once();
    const conv_layer& l = p.layer;
    const bool dw = l.depthwise;
    xnn_operator_t op = nullptr;
    detail::xnn_check(
        xnn_create_convolution2d_nhwc_qc8(
            static_cast<std::uint32_t>(p.pad_top), static_cast<std::uint32_t>(p.pad_right),
            static_cast<std::uint32_t>(p.pad_bottom), static_cast<std::uint32_t>(p.pad_left),
            static_cast<std::uint32_t>(l.k), static_cast<std::uint32_t>(l.k), static_cast<std::uint32_t>(l.stride),
            static_cast<std::uint32_t>(l.stride), 1, 1, dw ? static_cast<std::uint32_t>(l.c_in) : 1,
            dw ? 1 : static_cast<std::size_t>(l.c_in), dw ? 1 : static_cast<std::size_t>(l.c_out),
            static_cast<std::size_t>(l.c_in), static_cast<std::size_t>(l.c_out),
            static_cast<std::int8_t>(p.in_zero_point), p.in_scale, p.w_scale.data(), p.filter.data(), p.bias.data(),
            static_cast<std::int8_t>(p.out_zero_point), p.out_scale, -128, 127,
            dw ? XNN_FLAG_DEPTHWISE_CONVOLUTION : 0u, &op),
        "xnn_create_convolution2d_nhwc_qc8");
    op_.reset(op);
    detail::xnn_check(xnn_setup_convolution2d_nhwc_qc8(op_.get(), 1, static_cast<std::size_t>(l.h),
                                                       static_cast<std::size_t>(l.w), input_.data(), dst_.data(), nullptr),
                      "xnn_setup_convolution2d_nhwc_qc8");
  }
  void run() { detail::xnn_check(xnn_run_operator(op_.get(), nullptr), "xnn_run_operator"); }
  const std::int8_t* output() const noexcept { return dst_.data(); }
  bool exact() const noexcept { return true; }

 private:
  struct operator_deleter {
    void operator()(xnn_operator_t op) const noexcept { xnn_delete_operator(op); }
  };
  std::vector<std::int8_t> input_;
  std::vector<std::int8_t> dst_;
  std::unique_ptr<xnn_operator, operator_deleter> op_;
};
#else
class xnnpack_conv_qc8 {
 public:
  static bool available() { return false; }
  static const char* name() { return "xnnpack_conv_qc8"; }
  explicit xnnpack_conv_qc8(const conv_problem&) {
    throw std::runtime_error("xnnpack_conv_qc8: XNNPACK was not found when the benchmarks were configured");
  }
  void run() {}
  const std::int8_t* output() const noexcept { return nullptr; }
  bool exact() const noexcept { return false; }
};
#endif

}  // namespace qsparse_bench
