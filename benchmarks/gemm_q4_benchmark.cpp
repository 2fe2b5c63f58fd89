// benchmarks/gemm_q4_benchmark.cpp — the 4-bit group-wise weight GEMMs (qsparse/gemm/gemm_q4.hpp) next to
// qsparse's own int8 GEMM and hybrid GEMM, llama.cpp's ggml Q4_0 x Q8_0 dot product when it was found at
// configure time, and the machine's read bandwidth, in one binary, so every ratio is measured in one run.
//
//   BM_<impl>/<where>_M<m>_K<k>_N<n>/<t>
//     impl   q4_gemm        qsparse::gemm_q4: float rows quantized to int8 per row, int4 weights (G = 32,
//                           float32 scales), float out — the dispatched kernel (best ISA)
//            q4_gemm_f32    qsparse::gemm_q4_f32: float rows × int4 weights dequantized in registers
//            int8_gemm      qsparse::gemm: int8 rows (already quantized) × int8 weights → int32
//            hybrid_gemm    qsparse::hybrid_gemm: float rows quantized per row × int8 weights → float
//            ggml_q4_0_q8_0 ggml's CPU type traits: the float row quantized to Q8_0 (from_float), then one
//                           vec_dot of Q4_0 weights per output (what ggml's mul_mat runs per row when the
//                           weights are not repacked), one thread
//     where  cache: one 2048 x 2048 matrix (q4: 2.5 MiB, int8: 4 MiB) read again and again;
//            dram:  4096 x 4096 matrices rotated, each iteration the next one, 512 MiB of weights of
//                   each kind in all (the LLC of the machine this was written on is 260 MiB)
//     t      1_thread, 2_threads (GEMV from DRAM only)
//   Counters: GOPS = 2 M N K / time; weight_GBps = bytes of the packed weights read per iteration / time
//   (base 1000); the q4 bytes include the scales (G = 32: 10 MiB per 4096 x 4096).
//   BM_read_bandwidth: the sum of a 256 MiB buffer into 8 vector accumulators (AVX-512 asm), GBps;
//   BM_read_bandwidth_2_threads: the same on both threads at once, a buffer each (the sum of both).
//   <where>_M64_..._G128: q4_gemm alone with groups of 128 (every other row: G = 32).
//
// The summary prints the goals as ratios of this run's medians. Default --benchmark_min_time=0.2;
// a smoke run is the first benchmark (GEMV in cache).
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <map>
#include <random>
#include <string>
#include <tuple>
#include <vector>

#include "qsparse/core/config.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/gemm_q4.hpp"
#include "qsparse/gemm/hybrid.hpp"
#include "qsparse/gemm/packed_weights.hpp"
#include "qsparse/gemm/packed_weights_q4.hpp"
#include "support/benchmark_support.hpp"
#include "support/read_bandwidth.hpp"
#include "support/weight_rotation.hpp"

#ifdef QSPARSE_HAVE_GGML
#include <ggml-cpu.h>
#include <ggml.h>
#endif

namespace qsparse_bench {
namespace {

constexpr std::ptrdiff_t default_group = 32;
constexpr std::size_t dram_bytes = std::size_t{512} << 20;

struct shape {
  bool dram;
  std::ptrdiff_t m, k, n;
  int threads;
  std::ptrdiff_t group = default_group;  // the q4 weights' G; the other implementations have none
  std::string label() const {
    return std::string(dram ? "dram" : "cache") + "_M" + std::to_string(m) + "_K" + std::to_string(k) + "_N" +
           std::to_string(n) + (group == default_group ? "" : "_G" + std::to_string(group)) +
           (threads == 1 ? "/1_thread" : "/2_threads");
  }
};

// G = 128 at M = 64 (q4 rows only): the per-group float work (vcvtdq2ps + vfmadd231ps per row and 16
// columns, one for every 8 vpdpbusd at G = 32) is a quarter of G = 32's there.
std::vector<shape> shapes() {
  std::vector<shape> s;
  for (bool dram : {false, true}) {
    const std::ptrdiff_t d = dram ? 4096 : 2048;
    for (std::ptrdiff_t m : {1, 8, 64}) s.push_back({dram, m, d, d, 1});
    s.push_back({dram, 64, d, d, 1, 128});
    if (dram) s.push_back({dram, 1, d, d, 2});
  }
  return s;
}

std::uint64_t splitmix(std::uint64_t& state) {
  std::uint64_t z = (state += 0x9E3779B97F4A7C15ull);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
  return z ^ (z >> 31);
}

// ---- weights, built once per size and kind on first use ----------------------------------------------

const rotated_weights<qsparse::packed_weights_q4_view>& q4_weights(std::ptrdiff_t k, std::ptrdiff_t n, bool dram,
                                                                  std::ptrdiff_t group) {
  static std::map<std::tuple<std::ptrdiff_t, bool, std::ptrdiff_t>, rotated_weights<qsparse::packed_weights_q4_view>> cache;
  auto& v = cache[{k, dram, group}];
  if (!v.empty()) return v;
  std::vector<std::int8_t> q(static_cast<std::size_t>(k * n));
  std::vector<float> scale(static_cast<std::size_t>(n * (k / group)));
  std::uint64_t state = 27;
  for (auto& x : q) x = static_cast<std::int8_t>(static_cast<int>(splitmix(state) & 15u) - 8);
  for (auto& s : scale) s = 0.001f + static_cast<float>(splitmix(state) & 1023u) * 1e-5f;
  const qsparse::group_params<float> p{scale.data(), nullptr, group, 0, n * (k / group)};
  const qsparse::packed_weights_q4 packed = qsparse::pack_weights_q4(qsparse::make_view(q.data(), k, n), p);
  v = rotated_weights<qsparse::packed_weights_q4_view>(packed.view(), rotation_count(packed.size_bytes(), dram, dram_bytes));
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

std::vector<float> activations(std::ptrdiff_t m, std::ptrdiff_t k) {
  std::vector<float> a(static_cast<std::size_t>(m * k));
  fill_gaussian(a.data(), m * k, 5);
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

qsparse::context context_for(int threads) {
  return threads == 1 ? qsparse::context{} : qsparse::context(qsparse::threads{threads});
}

// ---- qsparse -------------------------------------------------------------------------------------------

template <bool Float>
void bm_q4(benchmark::State& state, shape s) {
  const auto& weights = q4_weights(s.k, s.n, s.dram, s.group);
  const auto a = activations(s.m, s.k);
  std::vector<float> dst(static_cast<std::size_t>(s.m * s.n));
  const qsparse::context ctx = context_for(s.threads);
  std::size_t i = 0;
  for (auto _ : state) {
    const auto& w = weights[i++];
    if constexpr (Float) {
      qsparse::gemm_q4_f32(ctx, qsparse::make_view(a.data(), s.m, s.k), w, qsparse::make_view(dst.data(), s.m, s.n),
                           qsparse::pipeline());
    } else {
      qsparse::gemm_q4(ctx, qsparse::make_view(a.data(), s.m, s.k), w, qsparse::make_view(dst.data(), s.m, s.n),
                       qsparse::pipeline());
    }
    benchmark::DoNotOptimize(dst.data());
  }
  set_counters(state, s, weights.front().size_bytes());
  state.SetLabel(Float ? qsparse::gemm_q4_f32_kernel_name(qsparse::best_isa())
                       : qsparse::gemm_q4_kernel_name(qsparse::best_isa()));
}

void bm_int8(benchmark::State& state, shape s) {
  const auto& weights = int8_weights(s.k, s.n, s.dram);
  std::vector<std::int8_t> a(static_cast<std::size_t>(s.m * s.k));
  std::uint64_t seed = 3;
  for (auto& x : a) x = static_cast<std::int8_t>(static_cast<int>(splitmix(seed) % 255u) - 127);
  std::vector<std::int32_t> dst(static_cast<std::size_t>(s.m * s.n));
  const qsparse::context ctx = context_for(s.threads);
  std::size_t i = 0;
  for (auto _ : state) {
    qsparse::gemm(ctx, qsparse::quantized(qsparse::make_view(a.data(), s.m, s.k), 0), weights[i++],
                  qsparse::make_view(dst.data(), s.m, s.n), qsparse::pipeline());
    benchmark::DoNotOptimize(dst.data());
  }
  set_counters(state, s, static_cast<std::size_t>(s.k * s.n));
}

void bm_hybrid(benchmark::State& state, shape s) {
  const auto& weights = int8_weights(s.k, s.n, s.dram);
  const auto a = activations(s.m, s.k);
  std::vector<float> scales(static_cast<std::size_t>(s.n), 0.01f);
  std::vector<float> dst(static_cast<std::size_t>(s.m * s.n));
  qsparse::hybrid_params p{scales.data(), true, nullptr};
  const qsparse::context ctx = context_for(s.threads);
  std::size_t i = 0;
  for (auto _ : state) {
    qsparse::hybrid_gemm(ctx, qsparse::make_view(a.data(), s.m, s.k), weights[i++],
                         qsparse::make_view(dst.data(), s.m, s.n), p);
    benchmark::DoNotOptimize(dst.data());
  }
  set_counters(state, s, static_cast<std::size_t>(s.k * s.n));
}

// ---- ggml ----------------------------------------------------------------------------------------------

#ifdef QSPARSE_HAVE_GGML
std::size_t ggml_row_bytes(std::ptrdiff_t k) { return ggml_row_size(GGML_TYPE_Q4_0, k); }

const rotated_copies& ggml_weights(std::ptrdiff_t k, std::ptrdiff_t n, bool dram) {
  static std::map<std::pair<std::ptrdiff_t, bool>, rotated_copies> cache;
  auto& v = cache[{k, dram}];
  if (v.count() != 0) return v;
  const std::size_t bytes = ggml_row_bytes(k) * static_cast<std::size_t>(n);
  std::vector<float> w(static_cast<std::size_t>(k * n));
  fill_gaussian(w.data(), k * n, 9);
  std::vector<std::uint8_t> first(bytes);
  ggml_quantize_chunk(GGML_TYPE_Q4_0, w.data(), first.data(), 0, n, k, nullptr);
  v = rotated_copies(first.data(), bytes, rotation_count(bytes, dram, dram_bytes));
  return v;
}

/// dst[m][n] = Q4_0 row n · Q8_0(a[m]): ggml's mul_mat inner loop on one thread (weights not repacked).
void ggml_q4_gemm(const std::uint8_t* w, const float* a, std::ptrdiff_t m, std::ptrdiff_t k, std::ptrdiff_t n,
                  std::uint8_t* aq, float* dst) {
  const ggml_type_traits_cpu* q8 = ggml_get_type_traits_cpu(GGML_TYPE_Q8_0);
  const ggml_type_traits_cpu* q4 = ggml_get_type_traits_cpu(GGML_TYPE_Q4_0);
  const std::size_t q8_row = ggml_row_size(GGML_TYPE_Q8_0, k), q4_row = ggml_row_bytes(k);
  for (std::ptrdiff_t r = 0; r < m; ++r) q8->from_float(a + r * k, aq + r * q8_row, k);
  for (std::ptrdiff_t col = 0; col < n; ++col) {
    for (std::ptrdiff_t r = 0; r < m; ++r) {
      q4->vec_dot(static_cast<int>(k), dst + r * n + col, 0, w + col * q4_row, 0, aq + r * q8_row, 0, 1);
    }
  }
}

void bm_ggml(benchmark::State& state, shape s) {
  const auto& weights = ggml_weights(s.k, s.n, s.dram);
  const auto a = activations(s.m, s.k);
  std::vector<std::uint8_t> aq(ggml_row_size(GGML_TYPE_Q8_0, s.k) * static_cast<std::size_t>(s.m));
  std::vector<float> dst(static_cast<std::size_t>(s.m * s.n));
  std::size_t i = 0;
  for (auto _ : state) {
    ggml_q4_gemm(weights.at(i++), a.data(), s.m, s.k, s.n, aq.data(), dst.data());
    benchmark::DoNotOptimize(dst.data());
  }
  set_counters(state, s, ggml_row_bytes(s.k) * static_cast<std::size_t>(s.n));
}

/// ggml against the float product of its own dequantized weights and the float activations: the
/// relative error of a 4-bit × 8-bit product, so a peer computing something else fails loudly.
bool check_ggml(std::FILE* out) {
  const std::ptrdiff_t k = 256, n = 8;
  std::vector<float> w(static_cast<std::size_t>(k * n)), a(static_cast<std::size_t>(k)), back(w.size());
  fill_gaussian(w.data(), k * n, 1);
  fill_gaussian(a.data(), k, 2);
  std::vector<std::uint8_t> q(ggml_row_bytes(k) * n), aq(ggml_row_size(GGML_TYPE_Q8_0, k));
  ggml_quantize_chunk(GGML_TYPE_Q4_0, w.data(), q.data(), 0, n, k, nullptr);
  ggml_get_type_traits(GGML_TYPE_Q4_0)->to_float(q.data(), back.data(), k * n);
  std::vector<float> dst(static_cast<std::size_t>(n));
  ggml_q4_gemm(q.data(), a.data(), 1, k, n, aq.data(), dst.data());
  for (std::ptrdiff_t col = 0; col < n; ++col) {
    double want = 0, norm = 0;
    for (std::ptrdiff_t i = 0; i < k; ++i) {
      want += static_cast<double>(a[static_cast<std::size_t>(i)]) * back[static_cast<std::size_t>(col * k + i)];
      norm += std::fabs(static_cast<double>(a[static_cast<std::size_t>(i)]) * back[static_cast<std::size_t>(col * k + i)]);
    }
    if (std::fabs(dst[static_cast<std::size_t>(col)] - want) > 0.02 * norm) {
      std::fprintf(out, "ggml check failed: column %td got %g, want %g\n", col, dst[static_cast<std::size_t>(col)], want);
      return false;
    }
  }
  return true;
}
#endif

// ---- registration and summary -----------------------------------------------------------------------------

const char* const implementations[] = {"q4_gemm", "q4_gemm_f32", "int8_gemm", "hybrid_gemm", "ggml_q4_0_q8_0"};

void register_all() {
  for (const shape& s : shapes()) {
    if (s.group != default_group) {
      benchmark::RegisterBenchmark(("BM_q4_gemm/" + s.label()).c_str(), bm_q4<false>, s)->UseRealTime();
      continue;
    }
    benchmark::RegisterBenchmark(("BM_q4_gemm/" + s.label()).c_str(), bm_q4<false>, s)->UseRealTime();
    benchmark::RegisterBenchmark(("BM_q4_gemm_f32/" + s.label()).c_str(), bm_q4<true>, s)->UseRealTime();
    benchmark::RegisterBenchmark(("BM_int8_gemm/" + s.label()).c_str(), bm_int8, s)->UseRealTime();
    benchmark::RegisterBenchmark(("BM_hybrid_gemm/" + s.label()).c_str(), bm_hybrid, s)->UseRealTime();
#ifdef QSPARSE_HAVE_GGML
    if (s.threads == 1) benchmark::RegisterBenchmark(("BM_ggml_q4_0_q8_0/" + s.label()).c_str(), bm_ggml, s)->UseRealTime();
#endif
  }
#if QSPARSE_X86
  benchmark::RegisterBenchmark("BM_read_bandwidth/avx512", bm_read_bandwidth, qsparse::isa_level::avx512)
      ->UseRealTime();
  // Both cores, a 256 MiB buffer each: what the two-thread GEMV from DRAM can reach at most.
  benchmark::RegisterBenchmark("BM_read_bandwidth_2_threads/avx512", bm_read_bandwidth, qsparse::isa_level::avx512)
      ->Threads(2)
      ->UseRealTime();
#endif
}

void print_summary(const summary_reporter& r, std::FILE* out) {
  auto find = [&](const std::string& impl, const shape& s) { return r.find("BM_" + impl + "/" + s.label()); };
  std::fprintf(out, "\n== 4-bit weights: medians of this run (GOPS | weight GB/s) ==\n%-30s", "shape");
  for (const char* impl : implementations) std::fprintf(out, " %22s", impl);
  std::fprintf(out, "\n");
  for (const shape& s : shapes()) {
    std::fprintf(out, "%-30s", s.label().c_str());
    for (const char* impl : implementations) {
      const measured* m = find(impl, s);
      if (m == nullptr) {
        std::fprintf(out, " %22s", "-");
      } else {
        std::fprintf(out, " %9.1f | %6.1f GB/s", m->items_per_second * 1e-9, m->read_bytes_per_second * 1e-9);
      }
    }
    std::fprintf(out, "\n");
  }
  const measured* bw = r.find("BM_read_bandwidth/avx512");
  if (bw != nullptr) std::fprintf(out, "read bandwidth (one core, 256 MiB): %.1f GB/s\n", bw->read_bytes_per_second * 1e-9);
  const measured* bw2 = r.find("BM_read_bandwidth_2_threads/avx512");
  if (bw2 != nullptr) {
    std::fprintf(out, "read bandwidth (two cores, 256 MiB each): %.1f GB/s", bw2->read_bytes_per_second * 1e-9);
    if (bw != nullptr) std::fprintf(out, " = %.2fx one core", bw2->read_bytes_per_second / bw->read_bytes_per_second);
    std::fprintf(out, "\n");
  }
  std::fprintf(out, "\n== goals (issue 27) ==\n");
  const shape gemv_dram{true, 1, 4096, 4096, 1}, gemv_dram2{true, 1, 4096, 4096, 2};
  const measured* q = find("q4_gemm", gemv_dram);
  if (q != nullptr && bw != nullptr)
    std::fprintf(out, "GEMV from DRAM, q4 weight bytes / read bandwidth: %.0f %% (goal >= 80 %%)\n",
                 100.0 * q->read_bytes_per_second / bw->read_bytes_per_second);
  if (const measured* q2 = find("q4_gemm", gemv_dram2); q2 != nullptr && q != nullptr)
    std::fprintf(out, "GEMV from DRAM, 2 threads / 1 thread: %.2fx (goal >= 1.8x)\n", q2->read_bytes_per_second / q->read_bytes_per_second);
  for (const shape& s : shapes()) {
    if (s.threads != 1) continue;
    const measured* qs = find("q4_gemm", s);
    if (qs == nullptr) continue;
    if (const measured* g = find("ggml_q4_0_q8_0", s))
      std::fprintf(out, "%s: q4_gemm / ggml Q4_0xQ8_0 = %.2fx (goal >= 1.2x)\n", s.label().c_str(),
                   qs->items_per_second / g->items_per_second);
    if (s.m >= 64) {
      shape int8_shape = s;
      int8_shape.group = default_group;
      if (const measured* i8 = find("int8_gemm", int8_shape))
        std::fprintf(out, "%s: q4_gemm / qsparse int8 GEMM = %.2fx (goal >= 0.8x)\n", s.label().c_str(),
                     qs->items_per_second / i8->items_per_second);
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
#ifdef QSPARSE_HAVE_GGML
  ggml_cpu_init();
  if (!qsparse_bench::check_ggml(text)) return 1;
  benchmark::AddCustomContext("ggml_peer", "Q4_0 x Q8_0 vec_dot, built from ggml-org/ggml");
#endif
  qsparse_bench::register_all();
  qsparse_bench::summary_reporter reporter(qsparse_bench::make_display_reporter(format), qsparse_bench::print_summary,
                                           text);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
