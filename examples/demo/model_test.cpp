// Tests of the demo's models for issue 26 (exact checks, no data set needed): the mixed-precision selection
// on a made-up sensitivity table, a per-layer-format model through the store bit for bit, the layer-by-layer
// runtime against the whole-model integer pipeline, the 16x8 layer against its scalar definition, channel
// masks and compaction preserving the float model's outputs exactly, the debugger's CSV; the pruned
// CNN's block / 2:4 conv layers on the sparse conv2d with the dense int8 model's bits, through the store;
// weight clustering (hooks, the clustered model on gemm_clustered and through the store) and the gzip sizes;
// QAT with the sensitive layers' learning rate frozen, and gradual channel pruning then compaction.
#include <catch2/catch.hpp>

#include <unistd.h>

#include <algorithm>
#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <limits>
#include <random>
#include <string>
#include <vector>

#include "channel_prune.hpp"
#include "cluster.hpp"
#include "compress.hpp"
#include "debugger.hpp"
#if DEMO_TEST_HAVE_ZLIB
#include "gzip.hpp"
#endif
#include "mixed_precision.hpp"
#include "model.hpp"
#include "prune.hpp"
#include "runtime.hpp"
#include "store.hpp"

namespace {

using demo::weight_format;

demo::format_option opt(weight_format f, double drop, std::size_t bytes) {
  demo::format_option o;
  o.format = f;
  o.drop = drop;
  o.bytes = bytes;
  return o;
}

/// Three layers, candidates int4 < int8 < 16x8 < f16 in bytes.
std::vector<std::vector<demo::format_option>> made_up_table() {
  return {
      // layer 0: int4 hurts a lot, int8 a little
      {opt(weight_format::int4_group, 1.00, 100), opt(weight_format::int8, 0.20, 200), opt(weight_format::int16x8, 0.05, 260),
       opt(weight_format::f16, 0.00, 400)},
      // layer 1: big layer, int4 almost free
      {opt(weight_format::int4_group, 0.10, 1000), opt(weight_format::int8, 0.02, 2000), opt(weight_format::int16x8, 0.01, 2600),
       opt(weight_format::f16, 0.00, 4000)},
      // layer 2: tiny classifier, int4 costly
      {opt(weight_format::int4_group, 0.60, 10), opt(weight_format::int8, 0.10, 20), opt(weight_format::int16x8, 0.00, 26),
       opt(weight_format::f16, 0.00, 40)},
  };
}

/// A small MLP on 28×28 images (the store's input), integer-free random weights.
demo::network small_mlp(std::uint32_t seed) {
  std::vector<demo::layer_spec> l(5);
  l[0] = {demo::layer_kind::dense, 1, 1, 784, 1, 1, 24, 1, 1, true};
  l[1] = {demo::layer_kind::dense, 1, 1, 24, 1, 1, 20, 1, 1, true};
  l[2] = {demo::layer_kind::dense, 1, 1, 20, 1, 1, 16, 1, 1, true};
  l[3] = {demo::layer_kind::dense, 1, 1, 16, 1, 1, 12, 1, 1, true};
  l[4] = {demo::layer_kind::dense, 1, 1, 12, 1, 1, 10, 1, 1, false};
  demo::network net(l, seed);
  std::mt19937 rng(seed + 1);
  std::uniform_real_distribution<float> u(-0.2f, 0.2f);
  for (demo::parameters& p : net.params())
    for (Eigen::Index i = 0; i < p.b.size(); ++i) p.b(i) = u(rng);
  return net;
}

demo::matrix images(int n, std::uint32_t seed) {
  demo::matrix x(n, 784);
  std::mt19937 rng(seed);
  std::uniform_int_distribution<int> u(0, 255);
  for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(u(rng)) / 255.0f;
  return x;
}

std::vector<float> logits_of(const demo::qmodel& m, const demo::matrix& x) {
  const qsparse::context ctx;
  demo::workspace ws;
  std::vector<float> y(static_cast<std::size_t>(x.rows()) * static_cast<std::size_t>(m.classes()));
  demo::predict(ctx, m, x.data(), static_cast<int>(x.rows()), y.data(), ws);
  return y;
}

template <class T>
bool same_bits(const std::vector<T>& a, const std::vector<T>& b) {
  return a.size() == b.size() && (a.empty() || std::memcmp(a.data(), b.data(), a.size() * sizeof(T)) == 0);
}

bool same_params(const qsparse::per_tensor_params& a, const qsparse::per_tensor_params& b) {
  return std::memcmp(&a.scale, &b.scale, sizeof(float)) == 0 && a.zero_point == b.zero_point;
}

std::string temp_path(const char* stem) { return std::string("/tmp/qsparse_demo_model_test_") + std::to_string(getpid()) + "_" + stem; }

}  // namespace

TEST_CASE("select_precision: the greedy rule on a made-up sensitivity table", "[demo][mixed]") {
  const auto t = made_up_table();
  SECTION("accuracy budget: upgrades by points recovered per byte until the predicted drop fits") {
    // Start int4 everywhere: drop 1.70, 1110 bytes. Best per byte: layer 2 int4→int8 (0.5/10 = 0.05)
    // → 1.20, 1120 B; then layer 2 int8→16x8 (0.1/6 = 0.0167) beats layer 0 int4→int8 (0.8/100 = 0.008)
    // → 1.10, 1126 B; then layer 0 →int8 → 0.30, 1226 B; then layer 0 int8→16x8 (0.15/60 = 0.0025) beats
    // layer 0 int8→f16 (0.2/200) and layer 1 int4→int8 (0.08/1000) → 0.15, 1286 B: within 0.2, stop.
    const demo::precision_selection s = demo::select_precision(t, demo::precision_budget{0.2, std::numeric_limits<std::size_t>::max()});
    CHECK(s.choice == std::vector<std::size_t>{2, 0, 2});
    CHECK(s.predicted_drop == Approx(0.15).margin(1e-12));
    CHECK(s.bytes == 1286);
    CHECK(s.feasible);
  }
  SECTION("a budget already met keeps the smallest formats") {
    const demo::precision_selection s = demo::select_precision(t, demo::precision_budget{2.0, std::numeric_limits<std::size_t>::max()});
    CHECK(s.choice == std::vector<std::size_t>{0, 0, 0});
    CHECK(s.bytes == 1110);
  }
  SECTION("byte budget alone: every upgrade that recovers accuracy and fits, best per byte first") {
    // 1300 bytes: as above to 1286 B (drop 0.15); then layer 0 16x8→f16 (+140 B) does not fit, layer 1
    // int4→int8 (+1000) does not fit, layer 2 16x8→f16 recovers nothing: stop.
    const demo::precision_selection s = demo::select_precision(t, demo::precision_budget{std::numeric_limits<double>::infinity(), 1300});
    CHECK(s.choice == std::vector<std::size_t>{2, 0, 2});
    CHECK(s.bytes == 1286);
    CHECK(s.feasible);
  }
  SECTION("infeasible budgets are reported") {
    const demo::precision_selection small = demo::select_precision(t, demo::precision_budget{std::numeric_limits<double>::infinity(), 1000});
    CHECK_FALSE(small.feasible);
    CHECK(small.choice == std::vector<std::size_t>{0, 0, 0});
    // 0 points is out of reach without f16 on layer 1 (2.6 kB more), and 1500 bytes forbid it.
    // Then layer 0 16x8→f16 (+140 B, 1426 B) still fits: drop 0.10; nothing else fits.
    const demo::precision_selection tight = demo::select_precision(t, demo::precision_budget{0.0, 1500});
    CHECK_FALSE(tight.feasible);
    CHECK(tight.choice == std::vector<std::size_t>{3, 0, 2});
    CHECK(tight.bytes == 1426);
  }
  SECTION("sensitive layers: restricted candidates for the first and the last layer") {
    auto pinned = t;
    pinned[0] = {t[0][2], t[0][3]};  // 16x8, f16
    pinned[2] = {t[2][2], t[2][3]};
    const demo::precision_selection s = demo::select_precision(pinned, demo::precision_budget{0.2, std::numeric_limits<std::size_t>::max()});
    CHECK(s.choice == std::vector<std::size_t>{0, 0, 0});  // 16x8, int4, 16x8: 0.05 + 0.10 + 0 = 0.15
    CHECK(s.predicted_drop == Approx(0.15).margin(1e-12));
  }
  CHECK_THROWS_WITH(demo::select_precision({{}}, demo::precision_budget{}), Catch::Contains("layer 0 has no candidate"));
}

TEST_CASE("layer_bytes: the tensors each format stores", "[demo][mixed]") {
  const demo::layer_spec d{demo::layer_kind::dense, 1, 1, 100, 1, 1, 10, 1, 1, true};
  CHECK(demo::layer_bytes(d, weight_format::f32, 32) == 4000 + 40);
  CHECK(demo::layer_bytes(d, weight_format::f16, 32) == 2000 + 40);
  CHECK(demo::layer_bytes(d, weight_format::int8, 32) == 1000 + 80 + 16);
  CHECK(demo::layer_bytes(d, weight_format::int16x8, 32) == 1000 + 120 + 4);
  // K = 100 padded to 128 (groups of 32): 640 bytes of nibbles, 4 groups × 10 scales, 10 biases.
  CHECK(demo::layer_bytes(d, weight_format::int4_group, 32) == 640 + 160 + 40);
  CHECK(demo::assignment_name({weight_format::int16x8, weight_format::int4_group, weight_format::f32}) == "16x8/int4/f32");
}

TEST_CASE("mixed model: every layer int8 runs exactly as the uniform int8 model", "[demo][mixed]") {
  demo::network net = small_mlp(3);
  const demo::matrix x = images(40, 5);
  const demo::activation_params act = demo::calibrate(net, x, 40, demo::calibration_method::minmax);
  demo::qmodel u = demo::make_int8(net, "u", "mlp", act);
  demo::qmodel m = demo::make_mixed(net, "m", "mlp", act, std::vector<weight_format>(5, weight_format::int8));
  demo::prepare(u);
  demo::prepare(m);
  const std::vector<float> a = logits_of(u, x), b = logits_of(m, x);
  CHECK(same_bits(a, b));
  // run_layers over the uniform model is predict's integer pipeline too.
  const qsparse::context ctx;
  demo::workspace ws;
  std::vector<float> c(a.size());
  demo::run_layers(ctx, u, 0, u.layers.size(), x.data(), static_cast<int>(x.rows()), c.data(), ws);
  CHECK(same_bits(a, c));
  CHECK_THROWS_AS(demo::run_layers(ctx, u, 2, 2, x.data(), 1, c.data(), ws), std::invalid_argument);
}

TEST_CASE("int16x8 layer: int16 input, exact int64 sums, per-channel dequantization", "[demo][mixed]") {
  demo::network net = small_mlp(7);
  const demo::matrix x = images(6, 9);
  const demo::activation_params act = demo::calibrate(net, x, 6, demo::calibration_method::minmax);
  std::vector<weight_format> fs(5, weight_format::f32);
  fs[0] = weight_format::int16x8;
  demo::qmodel m = demo::make_mixed(net, "m", "mlp", act, fs);
  demo::prepare(m);
  const demo::qlayer& l = m.layers[0];
  REQUIRE(l.in16_scale == demo::int16_scale_from(act[0]));
  const qsparse::context ctx;
  demo::workspace ws;
  std::vector<float> y(6 * 24);
  demo::run_layers(ctx, m, 0, 1, x.data(), 6, y.data(), ws);
  for (int r = 0; r < 6; ++r)
    for (int n = 0; n < 24; ++n) {
      std::int64_t acc = l.bias_q64[static_cast<std::size_t>(n)];
      for (int k = 0; k < 784; ++k) {
        const float v = x(r, k) / l.in16_scale;  // round half away from zero, saturate to int16
        const auto q = static_cast<std::int64_t>(std::max(-32768.0f, std::min(32767.0f, std::round(v))));
        acc += q * l.wq[static_cast<std::size_t>(k) * 24 + static_cast<std::size_t>(n)];
      }
      const float want = std::max(0.0f, static_cast<float>(acc) * (l.in16_scale * l.w_scale[static_cast<std::size_t>(n)]));
      INFO("row " << r << ", channel " << n);
      CHECK(y[static_cast<std::size_t>(r) * 24 + static_cast<std::size_t>(n)] == want);
    }
}

TEST_CASE("store: a per-layer-format model round-trips bit for bit", "[demo][mixed][store]") {
  demo::network net = small_mlp(11);
  const demo::matrix x = images(30, 13);
  const demo::activation_params act = demo::calibrate(net, x, 30, demo::calibration_method::minmax);
  const std::vector<weight_format> fs{weight_format::int16x8, weight_format::int8, weight_format::int8, weight_format::int4_group,
                                      weight_format::f16};
  demo::qmodel m = demo::make_mixed(net, "mixed test", "mlp", act, fs, 8);
  demo::prepare(m);
  const std::string path = temp_path("mixed.safetensors");
  demo::save_model(m, path);
  demo::qmodel r = demo::load_model(path);
  std::remove(path.c_str());
  CHECK(r.format == weight_format::mixed);
  CHECK(r.name == "mixed test");
  REQUIRE(r.layers.size() == m.layers.size());
  for (std::size_t i = 0; i < m.layers.size(); ++i) {
    const demo::qlayer &a = m.layers[i], &b = r.layers[i];
    INFO("layer " << i << " (" << demo::to_string(fs[i]) << ")");
    CHECK(b.format == fs[i]);
    CHECK(same_bits(a.wq, b.wq));
    CHECK(same_bits(a.w_scale, b.w_scale));
    CHECK(same_bits(a.bias_q, b.bias_q));
    CHECK(same_bits(a.bias_q64, b.bias_q64));
    CHECK(std::memcmp(&a.in16_scale, &b.in16_scale, sizeof(float)) == 0);
    CHECK(same_bits(a.w4, b.w4));
    CHECK(same_bits(a.w4_scale, b.w4_scale));
    CHECK(a.group == b.group);
    CHECK(same_bits(a.bias_f, b.bias_f));
    CHECK(a.w16.size() == b.w16.size());
    CHECK((a.w16.empty() || std::memcmp(a.w16.data(), b.w16.data(), a.w16.size() * sizeof(qsparse::float16)) == 0));
    if (fs[i] == weight_format::int8) {
      CHECK(same_params(a.input, b.input));
      CHECK(same_params(a.output, b.output));
    }
  }
  demo::prepare(r);
  CHECK(same_bits(logits_of(m, x), logits_of(r, x)));
  // A graph whose layer claims the format "mixed" is rejected.
  demo::qmodel bad = demo::make_mixed(net, "bad", "mlp", act, fs, 8);
  bad.layers[1].format = weight_format::mixed;
  CHECK_THROWS_WITH(demo::save_model(bad, path), Catch::Contains("no format of its own"));
}

TEST_CASE("channel_masks: the smallest-L2 output channels of hidden layers, ties by index", "[demo][channel]") {
  std::vector<demo::layer_spec> l(2);
  l[0] = {demo::layer_kind::dense, 1, 1, 2, 1, 1, 4, 1, 1, true};
  l[1] = {demo::layer_kind::dense, 1, 1, 4, 1, 1, 2, 1, 1, false};
  demo::network net(l, 1);
  // columns' norms: 5, 1, 1, 3 → 50 %: channels 1 and 2 (tie: 1 first); 25 %: channel 1.
  net.params()[0].w << 3, 1, 0, 3, 4, 0, -1, 0;
  auto m50 = demo::channel_masks(net, 0.5);
  CHECK(m50[0].col(0).sum() == 2);
  CHECK(m50[0].col(1).sum() == 0);
  CHECK(m50[0].col(2).sum() == 0);
  CHECK(m50[0].col(3).sum() == 2);
  CHECK(m50[1].sum() == 8);  // the classifier keeps every output
  auto m25 = demo::channel_masks(net, 0.25);
  CHECK(m25[0].col(1).sum() == 0);
  CHECK(m25[0].col(2).sum() == 2);
  CHECK_THROWS_AS(demo::channel_masks(net, 1.0), std::invalid_argument);
}

TEST_CASE("compact_network: the compacted float model computes exactly what the pruned one does", "[demo][channel]") {
  // Integer weights, biases and inputs: every sum is exact in float, so any summation order agrees and
  // equality is exact. Dropped channels with positive biases exercise the bias fold.
  std::mt19937 rng(21);
  std::uniform_int_distribution<int> wv(-3, 3), xv(0, 3), bv(-2, 2);
  const auto fill = [&](demo::network& net) {
    for (demo::parameters& p : net.params()) {
      for (Eigen::Index i = 0; i < p.w.size(); ++i) p.w.data()[i] = static_cast<float>(wv(rng));
      for (Eigen::Index i = 0; i < p.b.size(); ++i) p.b(i) = static_cast<float>(bv(rng));
    }
  };
  const auto check_net = [&](demo::network& net, int inputs) {
    // Prune half the hidden channels, force a positive bias on one dropped channel of each hidden layer.
    const auto masks = demo::channel_masks(net, 0.5);
    demo::apply_channel_masks(net, masks);
    for (std::size_t j = 0; j + 1 < masks.size(); ++j)
      for (Eigen::Index c = 0; c < masks[j].cols(); ++c)
        if (masks[j].col(c).sum() == 0) {
          net.params()[j].b(c) = 2;
          break;
        }
    demo::network small = demo::compact_network(net);
    for (std::size_t j = 0; j + 1 < net.params().size(); ++j)
      CHECK(small.params()[j].w.cols() == net.params()[j].w.cols() - net.params()[j].w.cols() / 2);
    demo::matrix x(7, inputs);
    for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = static_cast<float>(xv(rng));
    const demo::matrix a = net.forward(x, nullptr, false);
    const demo::matrix b = small.forward(x, nullptr, false);
    REQUIRE(a.rows() == b.rows());
    REQUIRE(a.cols() == b.cols());
    for (Eigen::Index i = 0; i < a.size(); ++i) CHECK(a.data()[i] == b.data()[i]);
  };
  SECTION("dense layers") {
    std::vector<demo::layer_spec> l(3);
    l[0] = {demo::layer_kind::dense, 1, 1, 9, 1, 1, 8, 1, 1, true};
    l[1] = {demo::layer_kind::dense, 1, 1, 8, 1, 1, 6, 1, 1, true};
    l[2] = {demo::layer_kind::dense, 1, 1, 6, 1, 1, 3, 1, 1, false};
    demo::network net(l, 2);
    fill(net);
    check_net(net, 9);
  }
  SECTION("conv, pool, conv, flatten, dense") {
    std::vector<demo::layer_spec> l;
    l.push_back({demo::layer_kind::conv, 8, 8, 2, 6, 6, 6, 3, 3, true});
    l.push_back({demo::layer_kind::maxpool, 6, 6, 6, 3, 3, 6, 2, 2, false});
    l.push_back({demo::layer_kind::conv, 3, 3, 6, 2, 2, 4, 2, 2, true});
    l.push_back({demo::layer_kind::dense, 1, 1, 16, 1, 1, 4, 1, 1, true});
    l.push_back({demo::layer_kind::dense, 1, 1, 4, 1, 1, 3, 1, 1, false});
    demo::network net(l, 4);
    fill(net);
    check_net(net, 8 * 8 * 2);
    demo::network small = demo::compact_network(net);
    CHECK(small.layers()[1].in_c == 3);
    CHECK(small.layers()[2].in_c == 3);
    CHECK(small.layers()[3].in_c == 4 * 2);
  }
}

TEST_CASE("debugger: CSV and Markdown of a hand-made report", "[demo][debugger]") {
  demo::debug_report r;
  demo::layer_debug d;
  d.layer = 2;
  d.label = "dense 256→128";
  const float ref[] = {3, 4}, q[] = {3, 5};
  d.alone.add(ref, q, 2);
  d.accumulated.add(ref, ref, 2);
  d.weights.add(ref, q, 2);
  d.accuracy_only = 88.5;
  d.drop = 0.25;
  r.layers.push_back(d);
  const std::string csv = demo::debug_csv(r);
  CHECK(csv.substr(0, csv.find('\n')) ==
        "layer,op,weight_sqnr_db,alone_sqnr_db,alone_rmse,alone_max_abs,accumulated_sqnr_db,accumulated_rmse,accumulated_max_abs,"
        "accuracy_only_this_layer_int8,drop_points");
  CHECK(csv.substr(csv.find('\n') + 1) == "2,dense 256→128,13.979400086720377,13.979400086720377,0.70710678118654757,1,inf,0,0,88.5,0.25\n");
  CHECK_THAT(demo::debug_markdown(r), Catch::Contains("| 2 | dense 256→128 | 14.0 | 14.0 | 0.7071 | 1 | inf | 0 | 0 | 88.50 | +0.25 |"));
  const std::string svg = demo::debug_svg(r, "t");
  CHECK_THAT(svg, Catch::StartsWith("<svg"));
  CHECK_THAT(svg, Catch::Contains("#2 dense 256→128"));
  CHECK_THAT(svg, Catch::EndsWith("</svg>\n"));
}

TEST_CASE("debug_quantization: the per-layer walk on a small MLP", "[demo][debugger]") {
  demo::network net = small_mlp(17);
  const demo::matrix calib = images(60, 19);
  demo::dataset val;
  val.x = images(50, 23);
  for (int i = 0; i < 50; ++i) val.y.push_back(i % 10);
  const demo::activation_params act = demo::calibrate(net, calib, 60, demo::calibration_method::minmax);
  const qsparse::context ctx;
  const demo::debug_report r = demo::debug_quantization(ctx, net, "mlp", act, calib, 60, val);
  REQUIRE(r.layers.size() == 5);
  CHECK(r.samples == 60);
  CHECK(r.validation == 50);
  // The first layer sees the image either way: alone and accumulated are the same numbers.
  CHECK(r.layers[0].alone.noise_power() == r.layers[0].accumulated.noise_power());
  CHECK(r.layers[0].alone.count() == 60u * 24u);
  CHECK(r.layers[4].accumulated.count() == 60u * 10u);
  // The weight column is error_stats over the dequantized int8 weights.
  std::vector<std::int8_t> q;
  std::vector<float> scales;
  const demo::matrix& w = net.params()[2].w;
  demo::quantize_weights(w, q, scales);
  std::vector<float> deq(q.size());
  for (std::size_t i = 0; i < q.size(); ++i) deq[i] = static_cast<float>(q[i]) * scales[i % scales.size()];
  qsparse::error_stats ws;
  ws.add(w.data(), deq.data(), deq.size());
  CHECK(r.layers[2].weights.noise_power() == ws.noise_power());
  CHECK(r.layers[2].weights.sqnr_db() == ws.sqnr_db());
  // The accuracy columns: float32 and "only layer j int8" on the validation images, drop = difference.
  demo::qmodel f = demo::make_weight_only(net, "f", "mlp", weight_format::f32);
  demo::prepare(f);
  CHECK(r.float_accuracy == demo::accuracy(ctx, f, val.x, val.y));
  for (std::size_t j = 0; j < 5; ++j) {
    CHECK(r.layers[j].accuracy_only == demo::accuracy_with_one(ctx, net, "mlp", act, j, weight_format::int8, val));
    CHECK(r.layers[j].drop == r.float_accuracy - r.layers[j].accuracy_only);
  }
  // measure_options: int8 reuses the debugger's drop, the others are measured, bytes from layer_bytes.
  const auto opts = demo::measure_options(ctx, net, "mlp", act, r, val, [](std::size_t) {
    return std::vector<weight_format>{weight_format::int4_group, weight_format::int8};
  });
  REQUIRE(opts.size() == 5);
  CHECK(opts[1][1].drop == r.layers[1].drop);
  CHECK(opts[1][0].drop == r.float_accuracy - demo::accuracy_with_one(ctx, net, "mlp", act, 1, weight_format::int4_group, val));
  CHECK(opts[3][0].bytes == demo::layer_bytes(net.layers()[3], weight_format::int4_group, 32));
}

TEST_CASE("pruned CNN: block and 2:4 conv layers run the sparse conv2d with the dense model's bits", "[demo][sparse]") {
  const demo::matrix x = images(3, 31);
  for (const demo::storage_kind kind : {demo::storage_kind::block_4x16, demo::storage_kind::two_of_four}) {
    INFO(demo::to_string(kind));
    demo::network net(demo::cnn_architecture(), 17);
    std::mt19937 rng(19);
    std::uniform_real_distribution<float> u(0.0f, 1.0f);
    for (demo::parameters& p : net.params()) {  // prune K x N: 4 x 16 blocks (70 %) or 2 of every 4 along K
      const Eigen::Index k = p.w.rows(), n = p.w.cols();
      if (kind == demo::storage_kind::block_4x16) {
        for (Eigen::Index k0 = 0; k0 < k; k0 += 4)
          for (Eigen::Index n0 = 0; n0 < n; n0 += 16)
            if (u(rng) < 0.7f) p.w.block(k0, n0, std::min<Eigen::Index>(4, k - k0), std::min<Eigen::Index>(16, n - n0)).setZero();
      } else {
        for (Eigen::Index c = 0; c < n; ++c)
          for (Eigen::Index k0 = 0; k0 < k; k0 += 4)
            for (Eigen::Index i = k0 + 2; i < std::min<Eigen::Index>(k0 + 4, k); ++i) p.w(i, c) = 0;
      }
    }
    const demo::activation_params act = demo::calibrate(net, x, 3, demo::calibration_method::minmax);
    demo::qmodel dense = demo::make_int8(net, "dense", "cnn", act);
    demo::qmodel sparse = demo::make_int8(net, "sparse", "cnn", act, std::vector<demo::storage_kind>(5, kind));
    demo::prepare(dense);
    demo::prepare(sparse);
    const std::vector<float> want = logits_of(dense, x);
    CHECK(same_bits(want, logits_of(sparse, x)));
    // Saved as the packed K x N buffers, re-loaded, run from the file's bytes.
    const std::string path = temp_path("sparse_cnn.safetensors");
    demo::save_model(sparse, path);
    demo::qmodel r = demo::load_model(path);
    std::remove(path.c_str());
    REQUIRE(r.layers[0].storage == kind);
    demo::prepare(r);
    CHECK(same_bits(want, logits_of(r, x)));
  }
}

TEST_CASE("dynamic-range CNN: a batch runs a few images at a time, with the bits of one image at a time", "[demo][dynamic]") {
  const demo::matrix x = images(11, 37);  // chunks of 4, 4 and 3 images
  demo::network net(demo::cnn_architecture(), 23);
  demo::qmodel m = demo::make_weight_only(net, "dynamic", "cnn", weight_format::dynamic_int8);
  demo::prepare(m);
  const std::vector<float> batch = logits_of(m, x);
  const qsparse::context ctx;
  demo::workspace ws;
  std::vector<float> one(batch.size());
  const auto classes = static_cast<std::size_t>(m.classes()), in = static_cast<std::size_t>(m.input_size());
  for (std::size_t i = 0; i < static_cast<std::size_t>(x.rows()); ++i)
    demo::predict(ctx, m, x.data() + i * in, 1, one.data() + i * classes, ws);
  CHECK(same_bits(batch, one));
}

TEST_CASE("dynamic-range CNN: each conv fused with its max pool gives the bits of conv then pool", "[demo][dynamic]") {
  const demo::matrix x = images(9, 41);
  demo::network net(demo::cnn_architecture(), 29);
  demo::qmodel m = demo::make_weight_only(net, "dynamic", "cnn", weight_format::dynamic_int8);
  demo::prepare(m);
  REQUIRE(demo::detail::fuses_dynamic_with_pool(m, 0) == (DEMO_HAVE_CONV_POOL != 0));
  const auto classes = static_cast<std::size_t>(m.classes()), in = static_cast<std::size_t>(m.input_size());
  for (int t : {1, 2, 3}) {
    const qsparse::context ctx(qsparse::threads{t});
    demo::workspace ws, ws2;
    std::vector<float> fused(static_cast<std::size_t>(x.rows()) * classes), unfused(fused.size());
    demo::predict(ctx, m, x.data(), static_cast<int>(x.rows()), fused.data(), ws);
    // Layer by layer, every layer on its own (run_float_layer: conv2d, then maxpool_inference).
    std::size_t widest = in;
    for (const demo::qlayer& l : m.layers) widest = std::max(widest, static_cast<std::size_t>(l.spec.out_size()));
    for (std::size_t i = 0; i < static_cast<std::size_t>(x.rows()); ++i) {
      std::vector<float> a(x.data() + i * in, x.data() + (i + 1) * in), b(widest);
      a.resize(widest);
      for (const demo::qlayer& l : m.layers) {
        demo::detail::run_float_layer(ctx, m.format, l, 1, a.data(), b.data(), ws2);
        a.swap(b);
      }
      std::copy_n(a.data(), classes, unfused.data() + i * classes);
    }
    CHECK(same_bits(fused, unfused));
  }
}

TEST_CASE("maxpool_inference: maxpool_forward's values, ties and NaN included", "[demo]") {
  const demo::layer_spec s{demo::layer_kind::maxpool, 5, 7, 19, 2, 3, 19, 2, 2, false};  // floor drops a row and a column
  std::mt19937 rng(23);
  std::uniform_int_distribution<int> v(-3, 3);
  std::vector<float> x(2 * 5 * 7 * 19);
  for (float& f : x) f = static_cast<float>(v(rng));  // many ties
  x[0] = std::numeric_limits<float>::quiet_NaN();
  x[19 * 7 + 40] = -0.0f;
  x[5] = std::numeric_limits<float>::quiet_NaN();
  x[19 + 3] = std::numeric_limits<float>::quiet_NaN();           // a later tap of the first window, in the SIMD block
  x[(7 + 1) * 19 + 12] = std::numeric_limits<float>::quiet_NaN();  // its last tap
  std::vector<float> a(2 * 2 * 3 * 19), b(a.size());
  demo::maxpool_forward(x.data(), 2, s, a.data(), static_cast<int*>(nullptr));
  demo::maxpool_inference(x.data(), 2, s, b.data());
  CHECK(same_bits(a, b));
  // The CNN's first pool (two 16-channel blocks), random floats of both signs.
  const demo::layer_spec p = demo::cnn_architecture()[1];  // 26x26x32 -> 13x13x32
  REQUIRE(p.kind == demo::layer_kind::maxpool);
  std::normal_distribution<float> g(0.0f, 1.0f);
  std::vector<float> y(26 * 26 * 32);
  for (float& f : y) f = g(rng);
  std::vector<float> c(13 * 13 * 32), d(c.size());
  demo::maxpool_forward(y.data(), 1, p, c.data(), static_cast<int*>(nullptr));
  demo::maxpool_inference(y.data(), 1, p, d.data());
  CHECK(same_bits(c, d));
}

// ---- weight clustering (cluster.hpp) and the gzip sizes (gzip.hpp) ---------------------------------------

TEST_CASE("cluster_bits: the fewest index bits for a cluster count, at least 2", "[demo][cluster]") {
  CHECK(demo::cluster_bits(1) == 2);
  CHECK(demo::cluster_bits(4) == 2);
  CHECK(demo::cluster_bits(5) == 3);
  CHECK(demo::cluster_bits(16) == 4);
  CHECK(demo::cluster_bits(17) == 5);
  CHECK(demo::cluster_bits(32) == 5);
  CHECK(demo::cluster_bits(256) == 8);
  CHECK_THROWS_WITH(demo::cluster_bits(0), Catch::Contains("got 0"));
  CHECK_THROWS_WITH(demo::cluster_bits(257), Catch::Contains("got 257"));
}

TEST_CASE("cluster_hooks: forward uses centroids, backward is straight-through, centroids get the summed gradient",
          "[demo][cluster]") {
  demo::network net = small_mlp(21);
  demo::cluster_options co;
  co.clusters = 4;
  co.kmeans_iterations = 5;
  demo::cluster_hooks ch(net, co, 1e-3f);
  const demo::matrix w = net.params()[1].w;  // 24 x 20 (K x N)
  const qsparse::weight_clusters& c = ch.clusters()[1];
  REQUIRE(c.shape() == std::vector<qsparse::index_t>{20, 24});  // clustered as N x K
  demo::matrix wq;
  ch.hooks().weight_forward(1, w, wq);
  REQUIRE(wq.rows() == 24);
  REQUIRE(wq.cols() == 20);
  const std::vector<float> before(c.centroids().data_handle(), c.centroids().data_handle() + 4);
  for (int k = 0; k < 24; ++k)
    for (int n = 0; n < 20; ++n) {
      const std::int32_t j = c.indices()[static_cast<std::size_t>(n * 24 + k)];
      INFO("k " << k << ", n " << n);
      CHECK(wq(k, n) == before[static_cast<std::size_t>(j)]);
      CHECK(j == qsparse::nearest_centroid(w(k, n), before.data(), 4));
    }
  // A gradient that is 1 on clusters 0 and 1 only, 0.5 on cluster 2, none on cluster 3 (made empty of gradient).
  demo::matrix g(24, 20);
  std::vector<float> sum(4, 0.0f);
  for (int n = 0; n < 20; ++n)
    for (int k = 0; k < 24; ++k) {  // the N x K row-major order the library sums in
      const std::int32_t j = c.indices()[static_cast<std::size_t>(n * 24 + k)];
      g(k, n) = j == 3 ? 0.0f : j == 2 ? 0.5f : static_cast<float>((k + n) % 3) - 1.0f;
      sum[static_cast<std::size_t>(j)] += g(k, n);
    }
  demo::matrix grad = g;
  ch.hooks().weight_backward(1, w, grad);
  CHECK(grad == g);  // straight-through
  for (int j = 0; j < 4; ++j) {
    INFO("centroid " << j);
    CHECK(c.centroid_gradient()(0, j) == sum[static_cast<std::size_t>(j)]);
    const float moved = c.centroids()(0, j) - before[static_cast<std::size_t>(j)];
    if (sum[static_cast<std::size_t>(j)] == 0.0f) {
      CHECK(moved == 0.0f);  // no gradient, no Adam step
    } else {  // Adam's first step moves by lr against the gradient's sign
      CHECK(moved == Approx(sum[static_cast<std::size_t>(j)] > 0 ? -1e-3 : 1e-3).epsilon(1e-3));
    }
  }
}

TEST_CASE("cluster_hooks: training keeps every matrix on its centroids, and zeros stay zeros with preserve_sparsity",
          "[demo][cluster]") {
  for (const bool preserve : {false, true}) {
    INFO("preserve_sparsity " << preserve);
    demo::network net = small_mlp(23);
    if (preserve)  // every third weight pruned
      for (demo::parameters& p : net.params())
        for (Eigen::Index i = 0; i < p.w.size(); i += 3) p.w.data()[i] = 0.0f;
    demo::cluster_options co;
    co.clusters = 6;
    co.preserve_sparsity = preserve;
    demo::cluster_hooks ch(net, co, 1e-2f);
    const demo::matrix x = images(16, 29);
    const std::vector<int> y{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5};
    demo::matrix dl;
    for (int step = 0; step < 3; ++step) {
      const demo::matrix& logits = net.forward(x, &ch.hooks(), true);
      demo::network::softmax_cross_entropy(logits, y.data(), dl);
      net.backward_and_step(dl, &ch.hooks(), 1e-2f);
    }
    ch.finish();
    for (std::size_t i = 0; i < net.params().size(); ++i) {
      const demo::matrix& w = net.params()[i].w;
      const auto cent = ch.clusters()[i].centroids();
      for (Eigen::Index e = 0; e < w.size(); ++e) {
        bool on_centroid = false;
        for (int j = 0; j < 6; ++j) on_centroid = on_centroid || w.data()[e] == cent(0, j);
        INFO("matrix " << i << ", element " << e);
        REQUIRE(on_centroid);
        if (preserve && e % 3 == 0) REQUIRE(w.data()[e] == 0.0f);
      }
    }
  }
}

TEST_CASE("clustered model: codebook-derived int8 weights, gemm_clustered equal to the int8 GEMM, store round trip",
          "[demo][cluster][store]") {
  const demo::matrix x = images(24, 31);
  for (const int clusters : {16, 32}) {
    INFO(clusters << " clusters");
    demo::network net = small_mlp(27);
    demo::cluster_options co;
    co.clusters = clusters;
    demo::cluster_hooks ch(net, co);
    ch.finish();
    const demo::activation_params act = demo::calibrate(net, x, 24, demo::calibration_method::minmax);
    demo::qmodel m = demo::make_clustered(net, ch, "clustered test", "mlp", act);
    std::size_t wi = 0;
    for (const demo::qlayer& l : m.layers) {
      const demo::matrix& w = net.params()[wi++].w;  // the stripped (clustered) float weights
      REQUIRE(l.storage == demo::storage_kind::clustered);
      REQUIRE(l.clusters->bits() == (clusters == 16 ? 4 : 5));
      // One scale per tensor: max |centroid| / 127; each int8 weight its centroid / scale, half away from zero.
      float most = 0.0f;
      for (float v : l.clusters->codebook()) most = std::max(most, std::fabs(v));
      const int k = l.spec.k(), n = l.spec.out_c;
      for (int c = 0; c < n; ++c) REQUIRE(l.w_scale[static_cast<std::size_t>(c)] == most / 127.0f);
      for (int kk = 0; kk < k; ++kk)
        for (int c = 0; c < n; ++c) {
          const float want = std::round(w(kk, c) / (most / 127.0f));
          REQUIRE(static_cast<float>(l.wq[static_cast<std::size_t>(kk) * static_cast<std::size_t>(n) + static_cast<std::size_t>(c)]) == want);
        }
    }
    demo::prepare(m);
    CHECK(demo::detail::runs_gemm_clustered(m.layers[0]) == (clusters <= 16));
    // The same integers through the dense int8 GEMM: the model with its decoded weights stored dense.
    demo::qmodel dense = demo::make_clustered(net, ch, "dense", "mlp", act);
    for (demo::qlayer& l : dense.layers) l.storage = demo::storage_kind::dense;
    demo::prepare(dense);
    const std::vector<float> a = logits_of(m, x);
    CHECK(same_bits(a, logits_of(dense, x)));
    // The file: indices + codebook, no weight_scale; loads back to the same layers and logits.
    const std::string path = temp_path("clustered.safetensors");
    demo::save_model(m, path);
    {
      const auto f = qsparse::io::safetensors_file::load(path);
      CHECK_FALSE(f.contains("layers.0.weight_scale"));
      CHECK(f.get<std::uint8_t, 1>("layers.0.weight.clusters.indices").extent(0) == (784 * 24 * (clusters == 16 ? 4 : 5) + 7) / 8);
    }
    demo::qmodel r = demo::load_model(path);
    std::remove(path.c_str());
    for (std::size_t i = 0; i < m.layers.size(); ++i) {
      INFO("layer " << i);
      CHECK(r.layers[i].storage == demo::storage_kind::clustered);
      CHECK(same_bits(m.layers[i].wq, r.layers[i].wq));
      CHECK(same_bits(m.layers[i].w_scale, r.layers[i].w_scale));
      CHECK(same_bits(m.layers[i].bias_q, r.layers[i].bias_q));
      CHECK(same_bits(m.layers[i].clusters->index_bytes_data(), r.layers[i].clusters->index_bytes_data()));
    }
    demo::prepare(r);
    CHECK(same_bits(a, logits_of(r, x)));
  }
}

TEST_CASE("decode_clusters: clusters of the wrong shape or axis are refused", "[demo][cluster]") {
  demo::network net = small_mlp(33);
  const demo::matrix& w = net.params()[4].w;  // 12 x 10, clustered as K x N: the wrong orientation
  qsparse::cluster_config config;
  config.clusters = 4;
  const qsparse::weight_clusters kn = qsparse::cluster_weights(demo::view(w), config);
  demo::qmodel m = demo::model_skeleton(net, "m", "mlp", weight_format::int8);
  demo::qlayer& l = m.layers[4];
  l.clusters = std::make_shared<qsparse::packed_clusters>(qsparse::packed_clusters::pack(kn, 2));
  CHECK_THROWS_WITH(demo::decode_clusters(l), Catch::Contains("must be N x K = 10 x 12"));
  const demo::matrix wt = w.transpose();
  config.per_channel = true;
  config.channel_axis = 1;  // a codebook per input channel
  l.clusters = std::make_shared<qsparse::packed_clusters>(qsparse::packed_clusters::pack(qsparse::cluster_weights(demo::view(wt), config), 2));
  CHECK_THROWS_WITH(demo::decode_clusters(l), Catch::Contains("got axis 1"));
}

#if DEMO_TEST_HAVE_ZLIB
TEST_CASE("gzip: a gzip member that inflates back to the bytes", "[demo][gzip]") {
  std::vector<unsigned char> bytes(100000, 0);
  for (std::size_t i = 0; i < bytes.size(); i += 7) bytes[i] = static_cast<unsigned char>(i % 251);
  const std::vector<unsigned char> gz = demo::gzip_compress(bytes.data(), bytes.size());
  REQUIRE(gz.size() > 18);
  CHECK(gz[0] == 0x1f);  // gzip magic, deflate
  CHECK(gz[1] == 0x8b);
  CHECK(gz[2] == 8);
  CHECK(gz.size() < bytes.size() / 4);
  CHECK(demo::gzip_decompress(gz) == bytes);
  const std::vector<unsigned char> empty = demo::gzip_compress(nullptr, 0);
  CHECK(demo::gzip_decompress(empty).empty());
  const std::string path = temp_path("gzip.bin");
  {
    std::FILE* f = std::fopen(path.c_str(), "wb");
    REQUIRE(f != nullptr);
    REQUIRE(std::fwrite(bytes.data(), 1, bytes.size(), f) == bytes.size());
    std::fclose(f);
  }
  CHECK(demo::gzip_size(path) == gz.size());
  std::remove(path.c_str());
  CHECK_THROWS_WITH(demo::gzip_size(path), Catch::Contains("cannot read"));
  CHECK_THROWS_WITH(demo::gzip_compress(bytes.data(), 1, 10), Catch::Contains("got 10"));
  std::vector<unsigned char> cut(gz.begin(), gz.begin() + static_cast<std::ptrdiff_t>(gz.size() / 2));
  CHECK_THROWS_WITH(demo::gzip_decompress(cut), Catch::Contains("not a complete gzip stream"));
}
#endif

TEST_CASE("pin_sensitive_layers: first and last kept higher, their learning rate, float weights in QAT", "[demo][mixed][qat]") {
  const demo::sensitive_plan f = demo::pin_sensitive_layers(4, weight_format::f32);
  CHECK(f.formats == std::vector<weight_format>{weight_format::f32, weight_format::int8, weight_format::int8, weight_format::f32});
  CHECK(f.layer_lr == std::vector<float>{0.0f, 1.0f, 1.0f, 0.0f});
  CHECK(f.float_weights == std::vector<bool>{true, false, false, true});
  const demo::sensitive_plan h = demo::pin_sensitive_layers(3, weight_format::int16x8, 0.25f);
  CHECK(h.formats == std::vector<weight_format>{weight_format::int16x8, weight_format::int8, weight_format::int16x8});
  CHECK(h.layer_lr == std::vector<float>{0.25f, 1.0f, 0.25f});
  CHECK(h.float_weights == std::vector<bool>{false, false, false});
  const demo::sensitive_plan one = demo::pin_sensitive_layers(1, weight_format::f16);
  CHECK(one.formats == std::vector<weight_format>{weight_format::f16});
  CHECK(one.layer_lr == std::vector<float>{0.0f});
  CHECK_THROWS_AS(demo::pin_sensitive_layers(0, weight_format::f32), std::invalid_argument);
  CHECK_THROWS_AS(demo::pin_sensitive_layers(3, weight_format::int4_group), std::invalid_argument);
  CHECK_THROWS_AS(demo::pin_sensitive_layers(3, weight_format::f32, -1.0f), std::invalid_argument);
  CHECK_THROWS_AS(demo::pin_sensitive_layers(3, weight_format::f32, std::numeric_limits<float>::quiet_NaN()), std::invalid_argument);
}

TEST_CASE("QAT with the sensitive layers frozen: their weights, biases and moments stay bit for bit", "[demo][mixed][qat]") {
  const demo::matrix x = images(16, 41);
  const std::vector<int> y{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5};
  const demo::network start = small_mlp(43);
  const auto run = [&](const std::vector<float>& layer_lr, const std::vector<bool>& float_weights) {
    demo::network net(start);
    demo::qat_hooks h(net, float_weights);
    demo::matrix dl;
    for (int step = 0; step < 4; ++step) {
      const demo::matrix& logits = net.forward(x, &h.hooks(), true);
      demo::network::softmax_cross_entropy(logits, y.data(), dl);
      net.backward_and_step(dl, &h.hooks(), 1e-2f, layer_lr);
    }
    return net;
  };
  const auto same_matrix = [](const auto& a, const auto& b) {
    return a.size() == b.size() && std::memcmp(a.data(), b.data(), sizeof(float) * static_cast<std::size_t>(a.size())) == 0;
  };
  const demo::sensitive_plan plan = demo::pin_sensitive_layers(start.params().size(), weight_format::f32);
  const demo::network frozen = run(plan.layer_lr, plan.float_weights);
  for (std::size_t j = 0; j < start.params().size(); ++j) {
    INFO("layer " << j);
    const demo::parameters &a = start.params()[j], &b = frozen.params()[j];
    if (plan.layer_lr[j] == 0.0f) {
      CHECK(same_matrix(a.w, b.w));
      CHECK(same_matrix(a.b, b.b));
      CHECK(b.mw.cwiseAbs().maxCoeff() == 0.0f);  // Adam's moments never touched
      CHECK(b.vb.cwiseAbs().maxCoeff() == 0.0f);
    } else {
      CHECK_FALSE(same_matrix(a.w, b.w));  // every middle layer trains
      CHECK_FALSE(same_matrix(a.b, b.b));
    }
  }
  // Multipliers of 1 are the plain step, bit for bit.
  const demo::network plain = run({}, {});
  const demo::network ones = run(std::vector<float>(start.params().size(), 1.0f), {});
  for (std::size_t j = 0; j < start.params().size(); ++j) {
    CHECK(same_matrix(plain.params()[j].w, ones.params()[j].w));
    CHECK(same_matrix(plain.params()[j].b, ones.params()[j].b));
  }
  // Float weights in QAT: the forward pass uses the stored weight itself, the backward pass is the identity.
  {
    demo::network net(start);
    demo::qat_hooks h(net, plan.float_weights);
    demo::matrix used, grad = demo::matrix::Constant(net.params()[0].w.rows(), net.params()[0].w.cols(), 0.5f);
    h.hooks().weight_forward(0, net.params()[0].w, used);
    CHECK(same_matrix(used, net.params()[0].w));
    const demo::matrix before = grad;
    h.hooks().weight_backward(0, net.params()[0].w, grad);
    CHECK(same_matrix(grad, before));
    h.hooks().weight_forward(1, net.params()[1].w, used);  // int8 fake quantization
    CHECK_FALSE(same_matrix(used, net.params()[1].w));
  }
  // Bad multipliers are refused, naming the value.
  demo::network net(start);
  demo::matrix dl;
  const demo::matrix& logits = net.forward(x, nullptr, true);
  demo::network::softmax_cross_entropy(logits, y.data(), dl);
  CHECK_THROWS_WITH(net.backward_and_step(dl, nullptr, 1e-2f, {1.0f, 1.0f}), Catch::Contains("got 2"));
  CHECK_THROWS_WITH(net.backward_and_step(dl, nullptr, 1e-2f, {1.0f, -0.5f, 1.0f, 1.0f, 1.0f}), Catch::Contains("layer_lr[1]"));
  CHECK_THROWS_AS(net.backward_and_step(dl, nullptr, 1e-2f, {1.0f, 1.0f, std::numeric_limits<float>::infinity(), 1.0f, 1.0f}),
                  std::invalid_argument);
  CHECK_THROWS_AS(demo::qat_hooks(net, std::vector<bool>{true}), std::invalid_argument);
}

TEST_CASE("gradual channel pruning: the schedule's kept channels at each update, then compaction", "[demo][channel]") {
  // small_mlp's hidden layers have 24, 20, 16 and 12 output channels; polynomial decay 0 → 50 % over 40
  // steps, every 10 steps, power 3: s = 0.2890625, 0.4375, 0.4921875, 0.5 at steps 10, 20, 30, 40, kept =
  // max(round_half_even(N · (1 - s)), 1) channels (computed outside qsparse; 24 · 0.5625 = 13.5 → 14).
  const std::vector<std::vector<int>> expected{{24, 20, 16, 12}, {17, 14, 11, 9}, {14, 11, 9, 7}, {12, 10, 8, 6}, {12, 10, 8, 6}};
  demo::network net = small_mlp(47);
  demo::pruning_hooks ph(net, demo::prune_pattern::channel, 0.0, 0.5, 40, 10);
  const demo::matrix x = images(16, 53);
  const std::vector<int> y{0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 0, 1, 2, 3, 4, 5};
  demo::matrix dl;
  for (long step = 1; step <= 45; ++step) {
    ph.hooks().before_step(step);
    const auto& want = expected[static_cast<std::size_t>(std::min<long>(step / 10, 4))];
    for (std::size_t j = 0; j < 4; ++j) {
      INFO("step " << step << ", layer " << j);
      CHECK(demo::kept_channels(net.params()[j].w) == want[j]);
      CHECK(static_cast<int>(ph.current_masks()[j].colwise().maxCoeff().sum()) == want[j]);
    }
    CHECK(demo::kept_channels(net.params()[4].w) == 10);  // the classifier is not pruned
    CHECK(ph.current_masks()[4].minCoeff() == 1.0f);
    const demo::matrix& logits = net.forward(x, &ph.hooks(), true);
    demo::network::softmax_cross_entropy(logits, y.data(), dl);
    net.backward_and_step(dl, &ph.hooks(), 1e-2f);
  }
  ph.finish();
  const demo::network small = demo::compact_network(net);
  CHECK(small.params()[0].w.cols() == 12);
  CHECK(small.params()[1].w.rows() == 12);
  CHECK(small.params()[1].w.cols() == 10);
  CHECK(small.params()[3].w.cols() == 6);
  CHECK(small.params()[4].w.rows() == 6);
  // The compacted float network gives the pruned one's classes (float sums in another order: values may
  // differ in the last bits only).
  const demo::matrix a = net.forward(x, nullptr, false);
  const demo::matrix b = demo::network(small).forward(x, nullptr, false);
  for (Eigen::Index i = 0; i < a.size(); ++i) CHECK(b.data()[i] == Approx(a.data()[i]).margin(1e-4));
}
