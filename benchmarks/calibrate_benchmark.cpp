// benchmarks/calibrate_benchmark.cpp — observers and fake quantization against the machine's read bandwidth.
//
// Sizes: L2   = 64 Ki floats (256 KiB, fits this machine's 1.25 MiB L2),
//        DRAM = 64 Mi floats (256 MiB, five times a 48 MiB L3).
// Baseline (compiled with the binary's own flags, no -march):
//   BM_read_loop/<isa>/<size>              sum of the input floats with four vector accumulators: the
//                                          machine's read bandwidth, the reference of the goals
// qsparse (every ISA level this CPU runs with distinct element-wise kernels: scalar, avx2, avx512 or
// scalar, neon; avx512_vnni runs the avx512 kernels, the dot-product levels the neon ones):
//   BM_minmax_observer/<isa>/<size>        minmax_observer::observe_isa (finite min/max)
//   BM_per_channel_minmax/<axis>/<isa>/<size>   per_channel_minmax_observer on [C, K] (axis0, C = 256) and
//                                          [R, C] (axis1, C = 256, channels innermost)
//   BM_histogram/<isa>/<size>              histogram::add_isa, 2048 bins (what the percentile / MSE observers
//                                          do per batch); BM_histogram_8192 for the entropy observer's default
//   BM_fake_quantize/<scheme>/<isa>/<size>       out of place (read x, write y); schemes tflite_int8 and
//                                          torch_quint8 per tensor, tflite_int8_weight_axis0 per channel
//   BM_fake_quantize_inplace/tflite_int8/<isa>/<size>
//   BM_fake_quantize_backward/tflite_int8/<isa>/<size>    reads x and dy, writes dx
// Counters: read_bytes = input bytes/s (x, plus dy for backward), rw_bytes = input + output, base 1000.
// At the end a summary prints, from the medians of this run, at the dispatched ISA:
//   DRAM min/max and fake-quant forward read_bytes / best read loop (goal >= 0.50)
//   histogram read_bytes (goal >= 1 GB/s), L2 and DRAM
//
// Default --benchmark_min_time is 0.2 s; a smoke run: calibrate_benchmark --benchmark_filter=L2 --benchmark_min_time=0.001
#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <string>
#include <vector>

#include "qsparse/calibrate/histogram.hpp"
#include "qsparse/calibrate/minmax_observer.hpp"
#include "qsparse/calibrate/per_channel_minmax_observer.hpp"
#include "qsparse/core/config.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/qat/fake_quant.hpp"
#include "qsparse/quant/choose_params.hpp"
#include "qsparse/quant/scheme.hpp"
#include "support/benchmark_support.hpp"
#include "support/elementwise_levels.hpp"


namespace qsparse_bench {

using qsparse::isa_level;

enum class size_class { l2, dram };
inline const char* size_name(size_class s) { return s == size_class::l2 ? "L2" : "DRAM"; }
inline std::ptrdiff_t elements(size_class s) {
  return s == size_class::l2 ? std::ptrdiff_t{64} * 1024 : std::ptrdiff_t{64} * 1024 * 1024;
}

constexpr float input_bound = 3.4641016f;  // |x| < 2 sqrt(3) by construction of fill_gaussian

/// Input, gradient and output buffers of one size class, allocated and filled on first use.
class data_store {
 public:
  static data_store& get(size_class s) {
    static data_store l2(elements(size_class::l2)), dram(elements(size_class::dram));
    return s == size_class::l2 ? l2 : dram;
  }
  std::ptrdiff_t size() const { return n_; }
  const float* input() { return filled(input_, 0x5EED5EEDull); }
  const float* gradient() { return filled(gradient_, 0xDEC0DEull); }
  float* output() {
    if (!output_) {
      output_ = aligned_buffer<float>(n_);
      std::fill(output_.data(), output_.data() + n_, 0.0f);
    }
    return output_.data();
  }
  /// A scratch copy of the input for in-place runs (rewritten each time it is asked for).
  float* scratch_input() {
    float* o = output();
    std::copy(input(), input() + n_, o);
    return o;
  }

 private:
  explicit data_store(std::ptrdiff_t n) : n_(n) {}
  const float* filled(aligned_buffer<float>& b, std::uint64_t seed) {
    if (!b) {
      b = aligned_buffer<float>(n_);
      fill_gaussian(b.data(), n_, seed);
    }
    return b.data();
  }
  std::ptrdiff_t n_;
  aligned_buffer<float> input_, gradient_, output_;
};

// ---- bodies ------------------------------------------------------------------------------------------

void bm_read_loop(benchmark::State& state, isa_level level, size_class s) {
  data_store& d = data_store::get(s);
  const float* x = d.input();
  for (auto _ : state) {
    float sum = read_sum(level, x, d.size());
    benchmark::DoNotOptimize(sum);
  }
  set_rate_counters(state, d.size(), sizeof(float), 0);
}

void bm_minmax_observer(benchmark::State& state, isa_level level, size_class s) {
  data_store& d = data_store::get(s);
  const auto x = qsparse::make_view(d.input(), d.size());
  qsparse::minmax_observer o;
  for (auto _ : state) {
    o.observe_isa(level, x);
    benchmark::DoNotOptimize(o);
  }
  set_rate_counters(state, d.size(), sizeof(float), 0);
}

void bm_per_channel_minmax(benchmark::State& state, isa_level level, size_class s, std::size_t axis) {
  data_store& d = data_store::get(s);
  const std::ptrdiff_t c = 256, other = d.size() / c;
  const auto x = axis == 0 ? qsparse::make_view(d.input(), c, other) : qsparse::make_view(d.input(), other, c);
  qsparse::per_channel_minmax_observer o(axis);
  for (auto _ : state) {
    o.observe_isa(level, x);
    benchmark::DoNotOptimize(o);
  }
  set_rate_counters(state, d.size(), sizeof(float), 0);
}

void bm_histogram(benchmark::State& state, isa_level level, size_class s, qsparse::index_t bins) {
  data_store& d = data_store::get(s);
  const auto x = qsparse::make_view(d.input(), d.size());
  qsparse::histogram h(bins);
  for (auto _ : state) {
    h.add_isa(level, x);
    benchmark::DoNotOptimize(h);
  }
  set_rate_counters(state, d.size(), sizeof(float), 0);
}

template <class Scheme>
void bm_fake_quantize(benchmark::State& state, isa_level level, size_class s) {
  data_store& d = data_store::get(s);
  const std::ptrdiff_t n = d.size();
  float* y = d.output();
  if constexpr (Scheme::is_per_channel) {
    const std::ptrdiff_t c = 256;
    std::vector<float> scale(static_cast<std::size_t>(c));
    std::vector<std::int32_t> zp(static_cast<std::size_t>(c), 0);
    for (std::ptrdiff_t k = 0; k < c; ++k)
      scale[static_cast<std::size_t>(k)] = input_bound / 127.0f * (1.0f + 0.05f * static_cast<float>(k % 8));
    const qsparse::per_channel_params p{scale.data(), zp.data(), c, 0};
    const auto xv = qsparse::make_view(d.input(), c, n / c);
    const auto yv = qsparse::make_view(y, c, n / c);
    for (auto _ : state) {
      qsparse::fake_quantize_isa<Scheme>(level, xv, yv, p);
      benchmark::ClobberMemory();
    }
  } else {
    const auto p = qsparse::choose_params<Scheme>(-input_bound, input_bound);
    const auto xv = qsparse::make_view(d.input(), n);
    const auto yv = qsparse::make_view(y, n);
    for (auto _ : state) {
      qsparse::fake_quantize_isa<Scheme>(level, xv, yv, p);
      benchmark::ClobberMemory();
    }
  }
  set_rate_counters(state, n, sizeof(float), sizeof(float));
}

void bm_fake_quantize_inplace(benchmark::State& state, isa_level level, size_class s) {
  using S = qsparse::tflite_int8_activation;
  data_store& d = data_store::get(s);
  const std::ptrdiff_t n = d.size();
  const auto p = qsparse::choose_params<S>(-input_bound, input_bound);
  const auto v = qsparse::make_view(d.scratch_input(), n);
  for (auto _ : state) {
    qsparse::fake_quantize_isa<S>(level, v, v, p);  // idempotent: fake_quant(fake_quant(x)) == fake_quant(x)
    benchmark::ClobberMemory();
  }
  set_rate_counters(state, n, sizeof(float), sizeof(float));
}

void bm_fake_quantize_backward(benchmark::State& state, isa_level level, size_class s) {
  using S = qsparse::tflite_int8_activation;
  data_store& d = data_store::get(s);
  const std::ptrdiff_t n = d.size();
  const auto p = qsparse::choose_params<S>(-input_bound * 0.8f, input_bound * 0.8f);  // some values clip
  const auto xv = qsparse::make_view(d.input(), n);
  const auto gv = qsparse::make_view(d.gradient(), n);
  const auto dv = qsparse::make_view(d.output(), n);
  for (auto _ : state) {
    qsparse::fake_quantize_backward_isa<S>(level, xv, gv, dv, p);
    benchmark::ClobberMemory();
  }
  set_rate_counters(state, n, 2 * sizeof(float), sizeof(float));
}

// ---- registration and summary ------------------------------------------------------------------------

std::string join(std::initializer_list<std::string> parts) {
  std::string r;
  for (const std::string& p : parts) r += (r.empty() ? "" : "/") + p;
  return r;
}

void register_all() {
  for (size_class s : {size_class::l2, size_class::dram}) {
    const std::string size = size_name(s);
    for (isa_level level : elementwise_levels()) {
      const std::string isa = qsparse::to_string(level);
      benchmark::RegisterBenchmark(join({"BM_read_loop", isa, size}).c_str(), bm_read_loop, level, s);
      benchmark::RegisterBenchmark(join({"BM_minmax_observer", isa, size}).c_str(), bm_minmax_observer, level, s);
      benchmark::RegisterBenchmark(join({"BM_per_channel_minmax", "axis0", isa, size}).c_str(), bm_per_channel_minmax,
                                   level, s, std::size_t{0});
      benchmark::RegisterBenchmark(join({"BM_per_channel_minmax", "axis1", isa, size}).c_str(), bm_per_channel_minmax,
                                   level, s, std::size_t{1});
      benchmark::RegisterBenchmark(join({"BM_histogram", isa, size}).c_str(), bm_histogram, level, s,
                                   qsparse::index_t{2048});
      benchmark::RegisterBenchmark(join({"BM_histogram_8192", isa, size}).c_str(), bm_histogram, level, s,
                                   qsparse::index_t{8192});
      benchmark::RegisterBenchmark(join({"BM_fake_quantize", "tflite_int8", isa, size}).c_str(),
                                   bm_fake_quantize<qsparse::tflite_int8_activation>, level, s);
      benchmark::RegisterBenchmark(join({"BM_fake_quantize", "torch_quint8", isa, size}).c_str(),
                                   bm_fake_quantize<qsparse::torch_quint8>, level, s);
      benchmark::RegisterBenchmark(join({"BM_fake_quantize", "tflite_int8_weight_axis0", isa, size}).c_str(),
                                   bm_fake_quantize<qsparse::tflite_int8_weight>, level, s);
      benchmark::RegisterBenchmark(join({"BM_fake_quantize_inplace", "tflite_int8", isa, size}).c_str(),
                                   bm_fake_quantize_inplace, level, s);
      benchmark::RegisterBenchmark(join({"BM_fake_quantize_backward", "tflite_int8", isa, size}).c_str(),
                                   bm_fake_quantize_backward, level, s);
    }
  }
}

void print_summary(const summary_reporter& r, std::FILE* out) {
  const std::string isa = qsparse::to_string(elementwise_dispatched_level());
  std::fprintf(out, "\n== goals, from the medians of this run, at the dispatched ISA (%s) ==\n", isa.c_str());
  double best_read = 0;
  std::string best_loop;
  for (isa_level level : elementwise_levels()) {
    const std::string name = join({"BM_read_loop", qsparse::to_string(level), "DRAM"});
    if (const measured* m = r.find(name); m != nullptr && m->read_bytes_per_second > best_read) {
      best_read = m->read_bytes_per_second;
      best_loop = name;
    }
  }
  if (best_read > 0) {
    std::fprintf(out, "DRAM read bandwidth: %s = %.2f GB/s; goal: read_bytes >= 0.50 of it\n", best_loop.c_str(),
                 best_read * 1e-9);
    for (const char* base : {"BM_minmax_observer", "BM_fake_quantize/tflite_int8", "BM_fake_quantize/torch_quint8",
                             "BM_fake_quantize/tflite_int8_weight_axis0", "BM_fake_quantize_inplace/tflite_int8",
                             "BM_fake_quantize_backward/tflite_int8", "BM_per_channel_minmax/axis0",
                             "BM_per_channel_minmax/axis1"}) {
      const std::string name = std::string(base) + "/" + isa + "/DRAM";
      if (const measured* m = r.find(name)) {
        const double ratio = m->read_bytes_per_second / best_read;
        const bool goal = std::string(base) == "BM_minmax_observer" || std::string(base).rfind("BM_fake_quantize/", 0) == 0;
        std::fprintf(out, "  %-52s %8.2f GB/s %6.2f  %s\n", name.c_str(), m->read_bytes_per_second * 1e-9, ratio,
                     goal ? (ratio >= 0.5 ? "met" : "MISSED") : "-");
      }
    }
  } else {
    std::fprintf(out, "DRAM: no read loop ran (check --benchmark_filter)\n");
  }
  std::fprintf(out, "histogram observers: read_bytes goal >= 1 GB/s\n");
  for (const char* base : {"BM_histogram", "BM_histogram_8192"})
    for (const char* size : {"L2", "DRAM"}) {
      const std::string name = std::string(base) + "/" + isa + "/" + size;
      if (const measured* m = r.find(name))
        std::fprintf(out, "  %-52s %8.2f GB/s         %s\n", name.c_str(), m->read_bytes_per_second * 1e-9,
                     m->read_bytes_per_second >= 1e9 ? "met" : "MISSED");
    }
}

}  // namespace qsparse_bench

int main(int argc, char** argv) {
  qsparse_bench::with_default_flags args(argc, argv, {"--benchmark_min_time=0.2"});
  const std::string format = args.value_of("--benchmark_format");
  benchmark::Initialize(args.argc(), args.argv());
  qsparse_bench::add_build_context();
  if (benchmark::ReportUnrecognizedArguments(*args.argc(), args.argv())) return 1;
  qsparse_bench::register_all();
  const bool console = format.empty() || format == "console";
  qsparse_bench::summary_reporter reporter(qsparse_bench::make_display_reporter(format), qsparse_bench::print_summary,
                                           console ? stdout : stderr);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
