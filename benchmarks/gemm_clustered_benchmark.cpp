// benchmarks/gemm_clustered_benchmark.cpp — the clustered GEMM (qsparse/gemm/gemm_clustered.hpp: 16 clusters,
// 4-bit indices, per-channel int8 codebook) next to qsparse's dense int8 GEMM (qsparse/gemm/gemm.hpp), in one
// binary, so every ratio is measured in one run.
//
//   BM_<impl>/<where>_M<m>_K<k>_N<n>
//     impl   clustered_gemm  qsparse::gemm_clustered: int8 rows (a_zp = 0) × clustered weights → int32, the
//                            dispatched kernel (best ISA)
//            int8_gemm       qsparse::gemm: int8 rows × int8 weights (w_zp = 0) → int32
//     where  cache: one matrix read again and again;
//            dram:  copies of the matrix rotated, each iteration the next one, 384 MiB of weights of each
//                   kind in all (the LLC of the machine this was written on is 260 MiB), so every
//                   iteration reads its weights from memory
//   Counters: GOPS = 2 M N K / time; weight_GBps = bytes of the packed weights read per iteration / time.
//
// The summary prints the goals as ratios of this run's medians (run with --benchmark_repetitions
// to get medians of repetitions). Default --benchmark_min_time=0.2.
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <string>
#include <vector>

#include "qsparse/core/config.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/gemm_clustered.hpp"
#include "qsparse/gemm/packed_clustered_weights.hpp"
#include "qsparse/gemm/packed_weights.hpp"
#include "support/benchmark_support.hpp"
#include "support/weight_rotation.hpp"

namespace qsparse_bench {
namespace {

constexpr std::size_t dram_bytes = std::size_t{384} << 20;
constexpr int clusters = 16;

struct shape {
  bool dram;
  std::ptrdiff_t m, k, n;
  std::string label() const {
    return std::string(dram ? "dram" : "cache") + "_M" + std::to_string(m) + "_K" + std::to_string(k) + "_N" +
           std::to_string(n);
  }
};

std::vector<shape> shapes() {
  return {{false, 1, 2048, 2048}, {true, 1, 4096, 4096}, {true, 1, 8192, 8192},
          {false, 64, 2048, 2048}, {false, 64, 4096, 4096}};
}

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// ---- weights, built once per size and kind on first use ----------------------------------------------

const rotated_weights<qsparse::packed_clustered_weights_view>& clustered_weights(std::ptrdiff_t k, std::ptrdiff_t n,
                                                                                bool dram) {
  static std::map<std::pair<std::ptrdiff_t, bool>, rotated_weights<qsparse::packed_clustered_weights_view>> cache;
  auto& v = cache[{k, dram}];
  if (!v.empty()) return v;
  std::vector<std::uint8_t> idx(static_cast<std::size_t>(k * n));
  std::vector<std::int8_t> book(static_cast<std::size_t>(n * clusters));
  std::uint64_t state = 26;
  for (auto& x : idx) x = static_cast<std::uint8_t>(splitmix(state) % clusters);
  for (auto& x : book) x = static_cast<std::int8_t>(static_cast<int>(splitmix(state) % 255u) - 127);
  const qsparse::packed_clustered_weights packed = qsparse::pack_clustered_weights(
      qsparse::make_view(idx.data(), n, k), qsparse::make_view(book.data(), n, std::ptrdiff_t{clusters}));
  v = rotated_weights<qsparse::packed_clustered_weights_view>(packed.view(),
                                                              rotation_count(packed.size_bytes(), dram, dram_bytes));
  return v;
}

const rotated_weights<qsparse::packed_weights_view>& int8_weights(std::ptrdiff_t k, std::ptrdiff_t n, bool dram) {
  static std::map<std::pair<std::ptrdiff_t, bool>, rotated_weights<qsparse::packed_weights_view>> cache;
  auto& v = cache[{k, dram}];
  if (!v.empty()) return v;
  std::vector<std::int8_t> w(static_cast<std::size_t>(k * n));
  std::uint64_t state = 28;
  for (auto& x : w) x = static_cast<std::int8_t>(static_cast<int>(splitmix(state) % 255u) - 127);
  v = rotated_weights<qsparse::packed_weights_view>(qsparse::pack_weights(qsparse::make_view(w.data(), k, n), 0).view(),
                                                    rotation_count(static_cast<std::size_t>(k * n), dram, dram_bytes));
  return v;
}

std::vector<std::int8_t> activations(std::ptrdiff_t m, std::ptrdiff_t k) {
  std::vector<std::int8_t> a(static_cast<std::size_t>(m * k));
  std::uint64_t seed = 3;
  for (auto& x : a) x = static_cast<std::int8_t>(static_cast<int>(splitmix(seed) % 255u) - 127);
  return a;
}

void set_counters(benchmark::State& state, const shape& s, std::size_t weight_bytes) {
  const double it = static_cast<double>(state.iterations());
  state.counters["GOPS"] =
      benchmark::Counter(it * 2.0 * static_cast<double>(s.m * s.n * s.k) * 1e-9, benchmark::Counter::kIsRate);
  state.counters["weight_GBps"] =
      benchmark::Counter(it * static_cast<double>(weight_bytes) * 1e-9, benchmark::Counter::kIsRate);
  state.counters["read_bytes"] = benchmark::Counter(it * static_cast<double>(weight_bytes), benchmark::Counter::kIsRate,
                                                    benchmark::Counter::OneK::kIs1000);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * 2 * s.m * s.n * s.k);
}

void bm_clustered(benchmark::State& state, shape s) {
  const auto& weights = clustered_weights(s.k, s.n, s.dram);
  const auto a = activations(s.m, s.k);
  std::vector<std::int32_t> dst(static_cast<std::size_t>(s.m * s.n));
  const qsparse::context ctx;
  std::size_t i = 0;
  for (auto _ : state) {
    qsparse::gemm_clustered(ctx, qsparse::make_view(a.data(), s.m, s.k), weights[i++],
                            qsparse::make_view(dst.data(), s.m, s.n), qsparse::pipeline());
    benchmark::DoNotOptimize(dst.data());
  }
  set_counters(state, s, weights.front().size_bytes());
  state.SetLabel(qsparse::gemm_clustered_kernel_name(qsparse::best_isa()));
}

void bm_int8(benchmark::State& state, shape s) {
  const auto& weights = int8_weights(s.k, s.n, s.dram);
  const auto a = activations(s.m, s.k);
  std::vector<std::int32_t> dst(static_cast<std::size_t>(s.m * s.n));
  const qsparse::context ctx;
  std::size_t i = 0;
  for (auto _ : state) {
    qsparse::gemm(ctx, qsparse::quantized(qsparse::make_view(a.data(), s.m, s.k), 0),
                  weights[i++], qsparse::make_view(dst.data(), s.m, s.n), qsparse::pipeline());
    benchmark::DoNotOptimize(dst.data());
  }
  set_counters(state, s, weights.front().size_bytes());
  state.SetLabel(qsparse::selected_kernel_name(weights.front()));
}

// ---- registration and summary -----------------------------------------------------------------------------

const char* const implementations[] = {"clustered_gemm", "int8_gemm"};

void register_all() {
  for (const shape& s : shapes()) {
    benchmark::RegisterBenchmark(("BM_clustered_gemm/" + s.label()).c_str(), bm_clustered, s)->UseRealTime();
    benchmark::RegisterBenchmark(("BM_int8_gemm/" + s.label()).c_str(), bm_int8, s)->UseRealTime();
  }
}

void print_summary(const summary_reporter& r, std::FILE* out) {
  auto find = [&](const std::string& impl, const shape& s) { return r.find("BM_" + impl + "/" + s.label()); };
  std::fprintf(out, "\n== clustered weights (16 clusters): medians of this run (GOPS | weight GB/s) ==\n%-26s", "shape");
  for (const char* impl : implementations) std::fprintf(out, " %24s", impl);
  std::fprintf(out, "\n");
  for (const shape& s : shapes()) {
    std::fprintf(out, "%-26s", s.label().c_str());
    for (const char* impl : implementations) {
      const measured* m = find(impl, s);
      if (m == nullptr) {
        std::fprintf(out, " %24s", "-");
      } else {
        std::fprintf(out, " %9.1f | %7.1f GB/s", m->items_per_second * 1e-9, m->read_bytes_per_second * 1e-9);
      }
    }
    std::fprintf(out, "\n");
  }
  std::fprintf(out, "\n== goals (issue 26) ==\n");
  for (const shape& s : shapes()) {
    const measured* c = find("clustered_gemm", s);
    const measured* d = find("int8_gemm", s);
    if (c == nullptr || d == nullptr) continue;
    const double ratio = c->items_per_second / d->items_per_second;
    if (s.m == 1 && s.dram) {
      std::fprintf(out, "%s: clustered / dense int8 GEMV = %.2fx (goal >= 1.5x beyond the LLC)\n", s.label().c_str(), ratio);
    } else if (s.m >= 64) {
      std::fprintf(out, "%s: clustered / dense int8 GEMM = %.2fx (goal >= 0.7x)\n", s.label().c_str(), ratio);
    } else {
      std::fprintf(out, "%s: clustered / dense int8 = %.2fx (in cache, no goal)\n", s.label().c_str(), ratio);
    }
  }
}

}  // namespace
}  // namespace qsparse_bench

int main(int argc, char** argv) {
  qsparse_bench::with_default_flags args(argc, argv, {"--benchmark_min_time=0.2"});
  benchmark::Initialize(args.argc(), args.argv());
  qsparse_bench::add_build_context();
  if (benchmark::ReportUnrecognizedArguments(*args.argc(), args.argv())) return 1;
  const std::string format = args.value_of("--benchmark_format");
  const bool console = format.empty() || format == "console";
  std::FILE* text = console ? stdout : stderr;
  qsparse_bench::register_all();
  qsparse_bench::summary_reporter reporter(qsparse_bench::make_display_reporter(format), qsparse_bench::print_summary,
                                           text);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
