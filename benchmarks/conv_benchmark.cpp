// benchmarks/conv_benchmark.cpp — qsparse's int8 conv2d and depthwise_conv2d per layer, beside oneDNN's
// int8 convolution and XNNPACK's qc8 convolution (when installed) in the same binary; single thread,
// batch 1, TFLite SAME padding, int8 output with per-channel requantization.
//
//   bash scripts/run_benchmarks.sh conv_benchmark -- --benchmark_repetitions=5 --benchmark_report_aggregates_only=true
//
// Layers (H, W, C_in, C_out, k, stride): (56,56,64,64,3,1) (28,28,128,128,3,1) (14,14,256,256,3,1)
// (112,112,3,32,3,2) (224,224,3,32,3,2), 1x1 (56,56,64,256,1,1), and depthwise 3x3 stride 1 on
// (56,56,128) and (28,28,256). Counter GOPS = 2 × multiply-adds per second. The summary prints each
// layer's ratio to oneDNN and the goals: geometric mean >= 1.0x oneDNN over the regular layers with no
// layer below 0.8x, depthwise >= 2x oneDNN; and TFLite's fixed point at >= 0.95x the float-scale
// pipeline on every layer, for both of TFLite's conv roundings: conv/qsparse_tflite (the reference
// CONV_2D, gemmlowp's double rounding) and conv/qsparse_tflite_opt (the optimized kernels, double
// rounding with the last shift's ties up). The ratios are of medians of the same run: use
// --benchmark_repetitions and --benchmark_enable_random_interleaving=true on a shared machine. Before timing, every peer's output is checked against
// qsparse's (within 1 LSB: float vs fixed-point requantization); --peers_check=false skips it.
#include <benchmark/benchmark.h>

#include <cmath>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <string>
#include <vector>

#include "qsparse/conv/conv2d.hpp"
#include "qsparse/conv/depthwise.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/quant/fixed_point.hpp"
#include "qsparse/spec/system_pipelines.hpp"
#include "support/benchmark_support.hpp"
#include "support/conv_peers.hpp"
#include "support/gemm_shapes.hpp"

namespace qsparse_bench {

const std::vector<conv_layer>& conv_layers() {
  static const std::vector<conv_layer> layers{
      {56, 56, 64, 64, 3, 1, false},   {28, 28, 128, 128, 3, 1, false}, {14, 14, 256, 256, 3, 1, false},
      {112, 112, 3, 32, 3, 2, false},  {224, 224, 3, 32, 3, 2, false},  {56, 56, 64, 256, 1, 1, false},
      {56, 56, 128, 128, 3, 1, true},  {28, 28, 256, 256, 3, 1, true}};
  return layers;
}

/// How qsparse's layer requantizes: as the peers do (float scale, ties to even — the same output, used
/// for the peer goals), or TFLite's fixed point as its reference CONV_2D (double rounding) or its
/// optimized kernels (double rounding, last shift ties up) do.
enum class requantization { float_scale, tflite_reference, tflite_optimized };

/// qsparse's layer: weights packed once, int8 NHWC output, per-channel requantization by Q.
template <requantization Q>
class qsparse_conv {
 public:
  explicit qsparse_conv(const conv_problem& p) : p_(p), out_(static_cast<std::size_t>(p.out_h * p.out_w * p.layer.c_out)) {
    for (double m : p.multipliers()) {
      scales_.push_back(static_cast<float>(m));
      const qsparse::quantized_multiplier q = qsparse::quantize_multiplier(m);
      multipliers_.push_back(q.multiplier);
      shifts_.push_back(q.shift);
    }
    const conv_layer& l = p.layer;
    params_.stride_h = params_.stride_w = l.stride;
    params_.pad = qsparse::padding::same();
    if (l.depthwise) {
      depthwise_ = qsparse::pack_depthwise_weights(qsparse::make_view(p.filter.data(), 1, l.k, l.k, l.c_out));
    } else {
      conv_ = qsparse::pack_conv2d_weights(qsparse::make_view(p.filter.data(), l.c_out, l.k, l.k, l.c_in));
    }
  }
  void run() {
    if constexpr (Q == requantization::tflite_reference) {
      run(qsparse::tflite_reference_conv_int8_pipeline(p_.bias.data(), multipliers_.data(), shifts_.data(),
                                                       p_.out_zero_point));
    } else if constexpr (Q == requantization::tflite_optimized) {
      run(qsparse::tflite_optimized_int8_pipeline(p_.bias.data(), multipliers_.data(), shifts_.data(),
                                                  p_.out_zero_point));
    } else {
      run(qsparse::pipeline(qsparse::bias_add{p_.bias.data()}, qsparse::requantize_float_per_channel{scales_.data()},
                            qsparse::add_zero_point{p_.out_zero_point}, qsparse::saturating_cast<std::int8_t>{}));
    }
  }
  template <class Pipeline>
  void run(const Pipeline& pl) {
    const conv_layer& l = p_.layer;
    const auto in = qsparse::quantized(qsparse::make_view(p_.input.data(), 1, l.h, l.w, l.c_in), p_.in_zero_point);
    const auto out = qsparse::make_view(out_.data(), 1, p_.out_h, p_.out_w, l.c_out);
    if (l.depthwise) {
      qsparse::depthwise_conv2d(ctx_, in, depthwise_, out, params_, pl);
    } else {
      qsparse::conv2d(ctx_, in, conv_, out, params_, pl);
    }
  }
  const std::int8_t* output() const noexcept { return out_.data(); }
  std::string kernel() const {
    return p_.layer.depthwise ? qsparse::selected_kernel_name(depthwise_) : qsparse::selected_kernel_name(conv_);
  }

 private:
  const conv_problem& p_;
  std::vector<std::int8_t> out_;
  std::vector<float> scales_;
  std::vector<std::int32_t> multipliers_;
  std::vector<int> shifts_;
  qsparse::conv2d_params params_{};
  qsparse::packed_conv2d_weights conv_;
  qsparse::packed_depthwise_weights depthwise_;
  qsparse::context ctx_;
};

const conv_problem& problem_of(const conv_layer& l) {
  static std::vector<std::unique_ptr<conv_problem>> cache;
  for (const auto& p : cache)
    if (p->layer.name() == l.name()) return *p;
  cache.push_back(std::make_unique<conv_problem>(conv_problem::make(l)));
  return *cache.back();
}

template <class Impl>
void bm_conv(benchmark::State& state, conv_layer layer) {
  const conv_problem& p = problem_of(layer);
  try {
    Impl impl(p);
    impl.run();  // warm
    const run_queue_probe probe;
    for (auto _ : state) {
      impl.run();
      benchmark::ClobberMemory();
    }
    probe.finish(state, 1);
    if constexpr (std::is_same_v<Impl, onednn_conv_s8>) state.SetLabel(impl.implementation());
    if constexpr (!std::is_same_v<Impl, onednn_conv_s8> && !std::is_same_v<Impl, xnnpack_conv_qc8>)
      state.SetLabel(impl.kernel());
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  state.counters["GOPS"] = benchmark::Counter(static_cast<double>(state.iterations()) * p.ops() * 1e-9,
                                              benchmark::Counter::kIsRate);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(p.ops()));
}

std::string bench_name(const char* impl, const conv_layer& l) { return std::string("conv/") + impl + "/" + l.name(); }

void register_all() {
  for (const conv_layer& l : conv_layers()) {
    benchmark::RegisterBenchmark(bench_name("qsparse", l).c_str(), bm_conv<qsparse_conv<requantization::float_scale>>, l)
        ->UseRealTime();
    benchmark::RegisterBenchmark(bench_name("qsparse_tflite", l).c_str(),
                                 bm_conv<qsparse_conv<requantization::tflite_reference>>, l)
        ->UseRealTime();
    benchmark::RegisterBenchmark(bench_name("qsparse_tflite_opt", l).c_str(),
                                 bm_conv<qsparse_conv<requantization::tflite_optimized>>, l)
        ->UseRealTime();
    if (onednn_conv_s8::available())
      benchmark::RegisterBenchmark(bench_name("onednn", l).c_str(), bm_conv<onednn_conv_s8>, l)->UseRealTime();
    if (xnnpack_conv_qc8::available())
      benchmark::RegisterBenchmark(bench_name("xnnpack", l).c_str(), bm_conv<xnnpack_conv_qc8>, l)->UseRealTime();
  }
}

/// Every peer's output within 1 LSB of qsparse's on every layer.
template <class Peer>
bool check_peer(const conv_problem& p, const std::int8_t* ours, std::FILE* out) {
  if (!Peer::available()) return true;
  try {
    Peer peer(p);
    peer.run();
    if (!peer.exact()) {
      std::fprintf(out, "check: %s on %s skipped: %s\n", Peer::name(), p.layer.name().c_str(),
                   "it computes the layer with the source zero point folded into the bias (borders differ)");
      return true;
    }
    const auto n = static_cast<std::size_t>(p.out_h * p.out_w * p.layer.c_out);
    int worst = 0;
    for (std::size_t i = 0; i < n; ++i) worst = std::max(worst, std::abs(int{ours[i]} - int{peer.output()[i]}));
    if (worst > 1) {
      std::fprintf(out, "check: %s on %s differs from qsparse by up to %d LSB\n", Peer::name(), p.layer.name().c_str(),
                   worst);
      return false;
    }
    return true;
  } catch (const std::exception& e) {
    std::fprintf(out, "check: %s on %s failed: %s\n", Peer::name(), p.layer.name().c_str(), e.what());
    return true;  // an unavailable configuration is reported by its benchmark, not fatal here
  }
}

bool check_peers(std::FILE* out) {
  bool ok = true;
  for (const conv_layer& l : conv_layers()) {
    const conv_problem& p = problem_of(l);
    qsparse_conv<requantization::float_scale> ours(p);
    ours.run();
    ok = check_peer<onednn_conv_s8>(p, ours.output(), out) && ok;
    ok = check_peer<xnnpack_conv_qc8>(p, ours.output(), out) && ok;
    qsparse_conv<requantization::tflite_reference> tflite(p);
    tflite.run();
    ok = check_peer<onednn_conv_s8>(p, tflite.output(), out) && ok;
  }
  if (ok) std::fprintf(out, "check: oneDNN and XNNPACK outputs agree with qsparse within 1 LSB on every layer\n");
  return ok;
}

void print_summary(const summary_reporter& r, std::FILE* out) {
  const auto gops = [&](const char* impl, const conv_layer& l) -> double {
    const measured* m = r.find(bench_name(impl, l));
    return m ? m->items_per_second * 1e-9 : 0.0;
  };
  std::fprintf(out, "\nconv summary (GOPS, medians when repeated; qsparse = float per-channel requantization like the "
                   "peers, tflite = TFLite fixed point; ratio = qsparse / peer)\n");
  std::fprintf(out, "%-24s %9s %9s %9s %9s %10s %10s\n", "layer", "qsparse", "tflite", "oneDNN", "XNNPACK", "vs oneDNN",
               "vs XNNPACK");
  double log_sum = 0;
  int regular = 0;
  double worst = 1e9, dw_worst = 1e9;
  for (const conv_layer& l : conv_layers()) {
    const double q = gops("qsparse", l), t = gops("qsparse_tflite", l), o = gops("onednn", l), x = gops("xnnpack", l);
    const double ro = o > 0 ? q / o : 0, rx = x > 0 ? q / x : 0;
    std::fprintf(out, "%-24s %9.1f %9.1f %9.1f %9.1f %9.2fx %9.2fx\n", l.name().c_str(), q, t, o, x, ro, rx);
    if (o > 0 && q > 0) {
      if (l.depthwise) {
        dw_worst = std::min(dw_worst, ro);
      } else {
        log_sum += std::log(ro);
        ++regular;
        worst = std::min(worst, ro);
      }
    }
  }
  if (regular > 0) {
    const double geomean = std::exp(log_sum / regular);
    std::fprintf(out, "goal: geomean over the %d regular layers >= 1.0x oneDNN: %.2fx %s\n", regular, geomean,
                 geomean >= 1.0 ? "MET" : "NOT MET");
    std::fprintf(out, "goal: no regular layer below 0.8x oneDNN: worst %.2fx %s\n", worst, worst >= 0.8 ? "MET" : "NOT MET");
  }
  if (dw_worst < 1e9)
    std::fprintf(out, "goal: depthwise >= 2x oneDNN: worst %.2fx %s\n", dw_worst, dw_worst >= 2.0 ? "MET" : "NOT MET");
  // TFLite's fixed point against the float-scale pipeline, layer by layer, both roundings.
  std::fprintf(out, "\nTFLite fixed point / float-scale pipeline (same run; goal >= 0.95x on every layer)\n");
  std::fprintf(out, "%-24s %9s %9s %9s %9s %9s\n", "layer", "float", "reference", "optimized", "ref/float",
               "opt/float");
  int met = 0, measured = 0;
  double fixed_worst = 1e9;
  for (const conv_layer& l : conv_layers()) {
    const double q = gops("qsparse", l), t = gops("qsparse_tflite", l), o = gops("qsparse_tflite_opt", l);
    if (q <= 0 || t <= 0 || o <= 0) continue;
    const double rt = t / q, ro = o / q;
    std::fprintf(out, "%-24s %9.1f %9.1f %9.1f %8.2fx%s %8.2fx%s\n", l.name().c_str(), q, t, o, rt,
                 rt >= 0.95 ? " " : "!", ro, ro >= 0.95 ? " " : "!");
    measured += 2;
    met += (rt >= 0.95) + (ro >= 0.95);
    fixed_worst = std::min({fixed_worst, rt, ro});
  }
  if (measured > 0)
    std::fprintf(out, "goal: TFLite fixed point >= 0.95x float on every layer (both roundings): %d of %d, worst %.2fx %s\n",
                 met, measured, fixed_worst, met == measured ? "MET" : "NOT MET");
  std::fprintf(out, "ISA: %s\n", qsparse::to_string(qsparse::best_isa()));
}

}  // namespace qsparse_bench

int main(int argc, char** argv) {
  qsparse_bench::with_default_flags args(argc, argv, {"--benchmark_min_time=0.2", "--peers_check=true"});
  const std::string format = args.value_of("--benchmark_format");
  const bool check = args.value_of("--peers_check") != "false";
  bool listing = false;
  for (int i = 1; i < argc; ++i)
    if (std::strncmp(argv[i], "--benchmark_list_tests", 22) == 0)
      listing = std::strcmp(argv[i], "--benchmark_list_tests=false") != 0 &&
                std::strcmp(argv[i], "--benchmark_list_tests=0") != 0;
  std::vector<char*> argv_kept;
  for (int i = 0; i < *args.argc(); ++i)
    if (std::strncmp(args.argv()[i], "--peers_check", 13) != 0) argv_kept.push_back(args.argv()[i]);
  int argc_kept = static_cast<int>(argv_kept.size());
  argv_kept.push_back(nullptr);
  benchmark::Initialize(&argc_kept, argv_kept.data());
  qsparse_bench::add_build_context();
  if (benchmark::ReportUnrecognizedArguments(argc_kept, argv_kept.data())) return 1;
  const bool console = format.empty() || format == "console";
  std::FILE* text = console ? stdout : stderr;
  if (check && !listing && !qsparse_bench::check_peers(text)) {
    std::fprintf(stderr, "conv_benchmark: a peer does not compute the same convolution; not benchmarking\n");
    return 1;
  }
  qsparse_bench::register_all();
  qsparse_bench::summary_reporter reporter(qsparse_bench::make_display_reporter(format), qsparse_bench::print_summary,
                                           text);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
