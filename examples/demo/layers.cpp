// qsparse_demo_layers — where an int8 demo model's time goes, layer by layer (issue 28 item 5).
//
//   qsparse_demo_layers [--data DATA_DIR] [--rounds N] [--calls N] [--batch B] [--cpu-time] MODEL.safetensors...
//
// Loads models the demo saved (OUT_DIR/<arch>_<variant>.safetensors, e.g. the dense int8 row and
// a pruned row of the CNN), prepares them as the demo does, and times every step of predict's integer
// pipeline — the image quantized to int8, then each layer (conv2d, sparse conv2d, max pool, gemm,
// sparse_gemm; the last one with its float logits) — at batch 1 and at batch B (default 256), on the
// first images of the test set (or uniform random pixels without --data). Every round visits the models
// in a fresh random order (latency.hpp); a model's sample is one untimed predict, then `calls` profiled
// passes, each step timed by the steady clock (batch 1, unless --cpu-time) or the thread's CPU time
// (batch B); the table gives the median over the rounds per step, the sum of the steps and predict's own
// time measured in the same sample, and the ratio of the first model's time to each other's. A model in
// another format (the float or dynamic-range rows, e.g. OUT_DIR/cnn_int8_dynamic_range.safetensors) is
// split into its layers as predict runs them (a dynamic-range layer's own input quantization inside its
// step, 0 in step 0, "quantize input"); a mixed-precision model is timed whole, in the same rounds, so
// that its row "predict" compares it with the others. Every profiled pass's logits are compared with predict's:
// the profile runs exactly the model's kernels, nothing else; and predict's with those of the same model
// run with the file's own multipliers and bias, without the all-zero channels folded (runtime.hpp prepare).
#include <algorithm>
#include <chrono>
#include <ctime>
#include <cstdio>
#include <cstdlib>
#include <exception>
#include <random>
#include <stdexcept>
#include <string>
#include <vector>

#include "cli.hpp"
#include "data.hpp"
#include "latency.hpp"
#include "model.hpp"
#include "report.hpp"
#include "runtime.hpp"
#include "store.hpp"
#include "qsparse/dispatch/isa.hpp"

namespace {

template <class... T>
std::string strf(const char* f, T... v) {
  char buf[160];
  std::snprintf(buf, sizeof buf, f, v...);
  return buf;
}

struct options {
  std::string data;
  int rounds = 41, calls = 20, batch = 256, rounds_batch = 9;
  bool cpu_time_1 = false;  // batch 1 on the thread's CPU time too (a system call per step: for whole predicts)
  std::vector<std::string> models;
};

const char* usage =
    "usage: qsparse_demo_layers [--data DATA_DIR] [--rounds N] [--calls N] [--batch B] [--cpu-time] MODEL.safetensors...\n"
    "\n"
    "Times each step of the int8 pipeline of demo models (int8 rows of qsparse_demo's OUT_DIR), interleaved:\n"
    "N rounds (default 41) of `calls` profiled passes (default 20) at batch 1, N rounds of one pass at\n"
    "batch B (default 256). Float and dynamic-range models are split into their layers, mixed-precision\n"
    "ones timed whole. Batch 1 is timed by the steady clock, batch B by the thread's CPU time; --cpu-time times\n"
    "batch 1 by CPU time too (a system call per step: read its predict row, not the sub-µs steps). Images:\n"
    "the first of DATA_DIR's test set, or random pixels without --data.\n";

options parse(int argc, char** argv) {
  options o;
  demo::arguments args(argc, argv, usage);
  std::string a;
  while (args.next(a)) {
    auto value = [&] { return args.value(a); };
    if (a == "--data") {
      o.data = value();
    } else if (a == "--rounds") {
      o.rounds = demo::parse_int(a, value(), 1, 100000);
    } else if (a == "--calls") {
      o.calls = demo::parse_int(a, value(), 1, 100000);
    } else if (a == "--cpu-time") {
      o.cpu_time_1 = true;
    } else if (a == "--batch") {
      o.batch = demo::parse_int(a, value(), 1, 10000);
    } else if (!a.empty() && a[0] == '-') {
      throw std::invalid_argument("unknown argument \"" + a + "\"");
    } else {
      o.models.push_back(a);
    }
  }
  if (o.models.empty()) throw std::invalid_argument("no model given (one or more OUT_DIR/*.safetensors of int8 rows)");
  o.rounds_batch = o.rounds;
  return o;
}

/// What step s of an int8 model is: "quantize input", or the layer's shape and kernel.
std::string step_name(const demo::qmodel& m, std::size_t s) {
  if (s == 0) return "quantize input";
  const demo::qlayer& l = m.layers[s - 1];
  const demo::layer_spec& p = l.spec;
  const std::string shape = strf("%dx%dx%d -> %dx%dx%d", p.in_h, p.in_w, p.in_c, p.out_h, p.out_w, p.out_c);
  // An int8 or dynamic-range conv and the max pool after it run as one call (runtime.hpp fuses_with_pool,
  // fuses_dynamic_with_pool): the conv's step
  // times both, the pool's is 0.
  const auto fuses = [&](std::size_t i) {
    return (m.is_int8() || m.format == demo::weight_format::dynamic_int8) && demo::detail::fuses_with_pool(m, i);
  };
  const bool fused = fuses(s - 1);
  const bool fused_pool = s >= 2 && fuses(s - 2);
  switch (p.kind) {
    case demo::layer_kind::maxpool: return "max pool " + shape + (fused_pool ? " (in the conv's step)" : "");
    case demo::layer_kind::conv: return strf("conv %dx%d ", p.kh, p.kw) + shape + (fused ? " + max pool" : "");
    case demo::layer_kind::dense: return strf("dense %d -> %d", p.in_c * p.in_h * p.in_w, p.out_c);
  }
  return shape;
}

#if DEMO_HAVE_SPARSE_GEMM
/// The fraction of a packed block-sparse matrix's blocks that is stored (1 for the other formats).
double kept_fraction(const qsparse::packed_sparse_weights_view& v) {
  if (v.format() != qsparse::sparse_format::block_4x16 && v.format() != qsparse::sparse_format::block_4x32) return 1.0;
  const double all = static_cast<double>(v.k_padded() / 4) * static_cast<double>(v.panels());
  return all == 0 ? 0.0 : static_cast<double>(v.panel_start()[v.panels()]) / all;
}
#endif

/// The kernel step s of an int8 model runs.
std::string step_kernel(const demo::qmodel& m, std::size_t s) {
  if (s == 0) return "quantize";
  const demo::qlayer& l = m.layers[s - 1];
  if (l.spec.kind == demo::layer_kind::maxpool) return qsparse::pooling_kernel_name(qsparse::best_isa());
  if (l.spec.kind == demo::layer_kind::conv) {
#if DEMO_HAVE_SPARSE_CONV
    if (demo::detail::runs_sparse_gemm(l)) {
      const auto& w = static_cast<const demo::sparse_holder*>(l.packed_other.get())->conv;
      return std::string(qsparse::selected_kernel_name(w)) + strf(" (%.0f %% kept)", 100.0 * kept_fraction(w.group(0)));
    }
#endif
    return qsparse::selected_kernel_name(demo::detail::conv_packing(l), qsparse::conv2d_params{});
  }
#if DEMO_HAVE_SPARSE_GEMM
  if (demo::detail::runs_sparse_gemm(l)) {
    const auto& v = demo::detail::sparse_packing(l);
    return std::string(qsparse::selected_sparse_kernel_name(v.format(), qsparse::best_isa())) +
           strf(" (%.0f %% kept)", 100.0 * kept_fraction(v));
  }
#endif
  if (demo::detail::runs_gemm_clustered(l)) return "gemm_clustered";
  return qsparse::selected_kernel_name(l.packed.view());
}

/// Seconds on the steady clock, or of this thread's CPU time (a system call: for steps of many µs).
double now(bool cpu) {
  if (cpu) {
    timespec t{};
    clock_gettime(CLOCK_THREAD_CPUTIME_ID, &t);
    return static_cast<double>(t.tv_sec) + 1e-9 * static_cast<double>(t.tv_nsec);
  }
  return std::chrono::duration<double>(std::chrono::steady_clock::now().time_since_epoch()).count();
}

/// Whether profiled_predict splits model m's predict into steps: all but the mixed-precision models.
bool profiled(const demo::qmodel& m) { return m.format != demo::weight_format::mixed; }

/// predict's float-activation pipeline (dynamic-range int8, float16, float32, ...: runtime.hpp), as many
/// images at a time as predict runs, with a timestamp after each layer: seconds[l + 1] += layer l's time,
/// its input's quantization included (a dynamic-range layer quantizes its own); step 0 stays 0.
void profiled_predict_float(const qsparse::context& ctx, const demo::qmodel& m, const float* x, int batch, float* logits,
                            demo::workspace& ws, std::vector<double>& seconds, bool cpu) {
  const int images = demo::images_per_pass(m, batch);
  const std::size_t in_size = static_cast<std::size_t>(m.input_size()), classes = static_cast<std::size_t>(m.classes());
  std::size_t widest = in_size;
  for (const demo::qlayer& l : m.layers) widest = std::max(widest, static_cast<std::size_t>(l.spec.out_size()));
  widest *= static_cast<std::size_t>(images);
  ws.fa.resize(widest);
  ws.fb.resize(widest);
  const std::size_t nl = m.layers.size();
  for (int b0 = 0; b0 < batch; b0 += images) {
    const int b = std::min(images, batch - b0);
    const float* in = x + static_cast<std::size_t>(b0) * in_size;
    double t = now(cpu);
    for (std::size_t i = 0; i < nl; ++i) {
      float* out = i + 1 == nl ? logits + static_cast<std::size_t>(b0) * classes : ws.fb.data();
      const std::size_t step = i + 1;
#if DEMO_HAVE_CONV_POOL
      if (demo::detail::fuses_dynamic_with_pool(m, i)) {  // as predict: one call, timed as the conv's step
        demo::detail::run_dynamic_conv(ctx, m.layers[i], &m.layers[i + 1], b, in, out, ws);
        ++i;
      } else
#endif
        demo::detail::run_float_layer(ctx, m.format, m.layers[i], b, in, out, ws);
      if (i + 1 < nl) {
        ws.fa.swap(ws.fb);
        in = ws.fa.data();
      }
      const double u = now(cpu);
      seconds[step] += u - t;
      t = u;
    }
  }
}

/// predict's integer pipeline with a timestamp after each step: seconds[s] += the time of step s (the
/// float one's for a model that is not int8).
void profiled_predict(const qsparse::context& ctx, const demo::qmodel& m, const float* x, int batch, float* logits,
                      demo::workspace& ws, std::vector<double>& seconds, bool cpu = false) {
  if (!m.is_int8()) {
    profiled_predict_float(ctx, m, x, batch, logits, ws, seconds, cpu);
    return;
  }
  std::size_t widest = static_cast<std::size_t>(m.input_size());
  for (const demo::qlayer& l : m.layers) widest = std::max(widest, static_cast<std::size_t>(l.spec.out_size()));
  widest *= static_cast<std::size_t>(batch);
  ws.qa.resize(widest);
  ws.qb.resize(widest);
  double t = now(cpu);
  qsparse::quantize<demo::activation_scheme>(qsparse::make_view(x, batch, m.input_size()),
                                             qsparse::make_view(ws.qa.data(), batch, m.input_size()), m.input);
  double u = now(cpu);
  seconds[0] += u - t;
  const std::size_t nl = m.layers.size();
  for (std::size_t i = 0; i < nl; ++i) {
    t = u;
#if DEMO_HAVE_CONV_POOL
    if (demo::detail::fuses_with_pool(m, i)) {  // as predict: one call, timed as the conv's step
      demo::detail::run_int8_conv_pool(ctx, m.layers[i], m.layers[i + 1], batch, ws.qa.data(), ws.qb.data());
      ws.qa.swap(ws.qb);
      u = now(cpu);
      seconds[i + 1] += u - t;
      ++i;
      continue;
    }
#endif
    demo::detail::run_int8_layer(ctx, m.layers[i], i + 1 == nl, batch, ws.qa.data(), ws.qb.data(), logits);
    ws.qa.swap(ws.qb);
    u = now(cpu);
    seconds[i + 1] += u - t;
  }
}

}  // namespace

int main(int argc, char** argv) {
  try {
    const options opt = parse(argc, argv);
    std::vector<demo::qmodel> models;
    for (const std::string& path : opt.models) {
      demo::qmodel m = demo::load_model(path);
      demo::prepare(m);
      models.push_back(std::move(m));
    }
    for (std::size_t i = 1; i < models.size(); ++i)
      if (models[i].layers.size() != models[0].layers.size() || models[i].input_size() != models[0].input_size())
        throw std::invalid_argument(opt.models[i] + ": not the same layer graph as " + opt.models[0]);
    const int in_size = models[0].input_size(), classes = models[0].classes();
    demo::matrix x;
    if (!opt.data.empty()) {
      const demo::data_splits d = demo::load_data(opt.data, 1000, opt.batch);
      if (d.test.x.rows() < opt.batch) throw std::invalid_argument("--batch " + std::to_string(opt.batch) + ": the test set is smaller");
      x = d.test.x;
    } else {
      std::mt19937 rng(1);
      std::uniform_real_distribution<float> pixel(0.0f, 1.0f);
      x.resize(opt.batch, in_size);
      for (Eigen::Index i = 0; i < x.size(); ++i) x.data()[i] = pixel(rng);
    }
    const qsparse::context ctx;
    const std::size_t n = models.size(), steps = models[0].layers.size() + 1;
    std::vector<demo::workspace> ws(n);
    std::vector<float> logits(static_cast<std::size_t>(opt.batch) * static_cast<std::size_t>(classes));
    std::vector<float> check(logits.size());
    // The profile runs predict's kernels: the same logits, bit for bit.
    for (std::size_t i = 0; i < n; ++i) {
      if (!profiled(models[i])) continue;
      for (int b : {1, opt.batch}) {
        std::vector<double> ignored(steps);
        demo::predict(ctx, models[i], x.data(), b, logits.data(), ws[i]);
        profiled_predict(ctx, models[i], x.data(), b, check.data(), ws[i], ignored);
        if (!std::equal(logits.begin(), logits.begin() + b * classes, check.begin()))
          throw std::logic_error(opt.models[i] + ": the profiled pass's logits differ from predict's");
      }
    }
    // prepare folds channels pruned to all zeros into the fast epilogue's form (runtime.hpp): the same
    // logits as the multipliers and bias the file describes.
    for (std::size_t i = 0; i < n; ++i) {
      if (!models[i].is_int8()) continue;
      demo::qmodel plain = demo::load_model(opt.models[i]);
      demo::prepare(plain);
      int folded = 0;
      for (std::size_t j = 0; j + 1 < plain.layers.size(); ++j) {
        demo::qlayer& l = plain.layers[j];
        if (!l.spec.has_weights()) continue;
        const qsparse::per_channel_params wp{l.w_scale.data(), nullptr, l.spec.out_c, 1};
        qsparse::requantize_multipliers(l.input.scale, wp, l.output.scale, l.multiplier.data(), l.shift.data());
        for (std::size_t c = 0; c < l.bias_q.size(); ++c) folded += l.bias_run[c] != l.bias_q[c] || l.multiplier[c] != models[i].layers[j].multiplier[c];
        l.bias_run = l.bias_q;
      }
      demo::workspace w;
      demo::predict(ctx, models[i], x.data(), opt.batch, logits.data(), ws[i]);
      demo::predict(ctx, plain, x.data(), opt.batch, check.data(), w);
      if (!std::equal(logits.begin(), logits.end(), check.begin()))
        throw std::logic_error(opt.models[i] + ": the folded zero channels changed the logits");
      std::printf("%s: %d all-zero channel%s folded, the same logits on %d images\n", models[i].name.c_str(), folded,
                  folded == 1 ? "" : "s", opt.batch);
    }
    for (int b : {1, opt.batch}) {
      const int rounds = b == 1 ? opt.rounds : opt.rounds_batch, calls = b == 1 ? opt.calls : 1;
      // Batch B (and batch 1 with --cpu-time): the thread's CPU time, which a shared machine's other processes
      // do not inflate.
      const bool cpu = b > 1 || opt.cpu_time_1;
      // samples[model][step] over the rounds; step `steps` is the sum, `steps + 1` predict's own time.
      std::vector<std::vector<std::vector<double>>> samples(n, std::vector<std::vector<double>>(steps + 2));
      std::vector<double> seconds(steps);
      demo::interleaved_samples(n, rounds, b == 1 ? 5u : 6u, [&](std::size_t i) {
        demo::predict(ctx, models[i], x.data(), b, logits.data(), ws[i]);  // untimed: this model back in cache
        const bool split = profiled(models[i]);
        std::fill(seconds.begin(), seconds.end(), 0.0);
        for (int c = 0; split && c < calls; ++c) profiled_predict(ctx, models[i], x.data(), b, logits.data(), ws[i], seconds, cpu);
        const double t0 = now(cpu);
        for (int c = 0; c < calls; ++c) demo::predict(ctx, models[i], x.data(), b, logits.data(), ws[i]);
        const double whole = (now(cpu) - t0) * 1e6 / calls;
        samples[i][steps + 1].push_back(whole);
        if (!split) return whole;
        double sum = 0;
        for (std::size_t s = 0; s < steps; ++s) {
          const double v = seconds[s] * 1e6 / calls;
          samples[i][s].push_back(v);
          sum += v;
        }
        samples[i][steps].push_back(sum);
        return whole;
      });
      std::printf("\nbatch %d: median µs (%s) over %d interleaved rounds of %d call%s (one thread, ISA %s)\n\n| step |", b,
                  cpu ? "thread CPU time" : "steady clock", rounds, calls, calls == 1 ? "" : "s",
                  qsparse::to_string(qsparse::best_isa()));
      for (std::size_t i = 0; i < n; ++i) std::printf(" %s |", models[i].name.c_str());
      for (std::size_t i = 1; i < n; ++i) std::printf(" #1 / #%zu |", i + 1);
      std::printf("\n| --- |");
      for (std::size_t i = 0; i < 2 * n - 1; ++i) std::printf(" ---: |");
      std::printf("\n");
      for (std::size_t s = 0; s < steps + 2; ++s) {
        const std::string name = s < steps ? step_name(models[0], s) : s == steps ? "sum of the steps" : "predict";
        std::printf("| %s |", name.c_str());
        std::vector<double> med(n);
        for (std::size_t i = 0; i < n; ++i) {
          med[i] = demo::summarize(samples[i][s]).median;
          if (samples[i][s].empty()) {
            std::printf(" - |");  // a model not profiled step by step
          } else {
            std::printf(" %.2f |", med[i]);
          }
        }
        for (std::size_t i = 1; i < n; ++i) {
          if (samples[0][s].empty() || samples[i][s].empty()) {
            std::printf(" - |");
          } else {
            std::printf(" %.2f |", med[i] > 0 ? med[0] / med[i] : 0.0);
          }
        }
        std::printf("\n");
      }
    }
    std::printf("\nkernels:\n");
    for (std::size_t i = 0; i < n; ++i) {
      std::printf("  #%zu %s:", i + 1, models[i].name.c_str());
      if (!profiled(models[i])) {
        std::printf(" %s weights, not profiled step by step (predict timed whole)\n", demo::to_string(models[i].format));
        continue;
      }
      if (!models[i].is_int8()) {
        std::printf(" %s weights: each layer as predict runs it (runtime.hpp run_float_layer)\n", demo::to_string(models[i].format));
        continue;
      }
      for (std::size_t s = 1; s < steps; ++s) std::printf("%s %s", s == 1 ? "" : ",", step_kernel(models[i], s).c_str());
      std::printf("\n");
    }
    return 0;
  } catch (const std::exception& e) {
    std::fprintf(stderr, "qsparse_demo_layers: error: %s\n", e.what());
    return 1;
  }
}
