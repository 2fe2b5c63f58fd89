// benchmarks/gemm_q4_benchmark.cpp — the 4-bit group-wise weight GEMMs (qsparse/gemm/gemm_q4.hpp) next to
// qsparse's own int8 GEMM and hybrid GEMM, llama.cpp's ggml Q4_0 x Q8_0 dot product and oneDNN's int4
// weight-decompression matmul when they were found at configure time, and the machine's read bandwidth
// (one core and two), in one binary, so every ratio is measured in one run.
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
//            onednn_s4_f32  oneDNN (>= 3.5; PyPI's onednn-devel 3.13 via scripts/fetch_bench_peers.sh) matmul:
//                           f32 rows × s4 weights (K×N) with float32 scales per group of 32 along K, the
//                           same int4 values and scales as q4_gemm's; its threading runtime sized to one
//                           thread (onednn_q4::engine); the summary reports its error against
//                           reference_gemm_q4_f32
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
#include <cstdlib>
#include <cstring>
#include <map>
#include <memory>
#include <stdexcept>
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

#include "qsparse/gemm/reference_q4.hpp"

#if defined(QSPARSE_HAVE_ONEDNN)
#include <oneapi/dnnl/dnnl.hpp>
#include <sched.h>
// oneDNN >= 3.5: int4 weights (s4 / u4) with grouped scales in the matmul (weight decompression).
#if DNNL_VERSION_MAJOR > 3 || (DNNL_VERSION_MAJOR == 3 && DNNL_VERSION_MINOR >= 5)
#define QSPARSE_HAVE_ONEDNN_INT4 1
#endif
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


// ---- oneDNN --------------------------------------------------------------------------------------------

#ifdef QSPARSE_HAVE_ONEDNN_INT4
/// oneDNN's matmul with int4 weight decompression: f32 activations (M×K) × s4 weights (K×N, two per byte,
/// the ab tag) with float32 scales per group of G along K (set_scales with groups {G, 1}), f32 out. The
/// weights are decompressed inside the kernel (fpmath_mode::strict with apply_to_int: f32 arithmetic);
/// oneDNN picks the implementation (impl_info_str is the label). The same int4 values and scales as
/// qsparse's, so its result is compared with reference_gemm_q4_f32 (float activations × dequantized
/// weights), which it can only approximate: its sums run in its own order.
class onednn_q4 {
 public:
  onednn_q4(std::ptrdiff_t m, std::ptrdiff_t k, std::ptrdiff_t n, std::ptrdiff_t group, const std::int8_t* q_kxn,
            const float* scales_gxn, std::size_t copies)
      : m_(m), k_(k), n_(n), engine_(engine()), stream_(engine_) {
    using dt = dnnl::memory::data_type;
    using tag = dnnl::memory::format_tag;
    const dnnl::memory::desc src_md({m, k}, dt::f32, tag::ab);
    const dnnl::memory::desc user_md({k, n}, dt::s4, tag::ab);
    const dnnl::memory::desc dst_md({m, n}, dt::f32, tag::ab);
    dnnl::primitive_attr attr;
    attr.set_scales(DNNL_ARG_WEIGHTS, (1 << 0) | (1 << 1), {group, 1}, dt::f32);
    attr.set_fpmath_mode(dnnl::fpmath_mode::strict, true);
    // The weights' layout: oneDNN's choice (format_tag::any, reordered once from the plain s4 K×N) when it
    // can reorder s4, else the plain ab or ba. QSPARSE_ONEDNN_Q4_WTAG=any|ab|ba forces one.
    const char* forced = std::getenv("QSPARSE_ONEDNN_Q4_WTAG");
    const std::string wanted = forced != nullptr ? forced : "";
    dnnl::matmul::primitive_desc pd;
    std::string chosen;
    for (const char* name : {"any", "ba", "ab"}) {
      if (!wanted.empty() && wanted != name) continue;
      const tag t = std::string(name) == "any" ? tag::any : (std::string(name) == "ba" ? tag::ba : tag::ab);
      try {
        pd = dnnl::matmul::primitive_desc(engine_, src_md, dnnl::memory::desc({k, n}, dt::s4, t), dst_md, attr);
        if (t != tag::ab) dnnl::reorder::primitive_desc(engine_, user_md, engine_, pd.weights_desc());
        chosen = name;
        break;
      } catch (const dnnl::error&) {
      }
    }
    if (chosen.empty()) throw std::runtime_error("oneDNN: no int4 weight-decompression matmul for these shapes");
    implementation_ = std::string(pd.impl_info_str()) + " (weights " + chosen + ")";
    matmul_ = dnnl::matmul(pd);
    // s4 in the ab tag: element (k, n) at nibble k * N + n, the low nibble first.
    const std::size_t bytes = static_cast<std::size_t>(k * n + 1) / 2;
    std::vector<std::uint8_t> packed(bytes, 0);
    for (std::ptrdiff_t i = 0; i < k * n; ++i) {
      const auto v = static_cast<std::uint8_t>(q_kxn[i] & 15);
      packed[static_cast<std::size_t>(i / 2)] |= static_cast<std::uint8_t>(i % 2 == 0 ? v : v << 4);
    }
    wei_md_ = pd.weights_desc();
    std::vector<std::uint8_t> mine(wei_md_.get_size());
    if (chosen == "ab") {
      mine = packed;
    } else {
      dnnl::memory from(user_md, engine_, packed.data()), to(wei_md_, engine_, mine.data());
      dnnl::reorder(from, to).execute(stream_, from, to);
      stream_.wait();
    }
    payload_ = bytes;
    for (std::size_t c = 0; c < copies; ++c) weights_.push_back(mine);
    scales_.assign(scales_gxn, scales_gxn + (k / group) * n);
    dst_.resize(static_cast<std::size_t>(m * n));
    src_md_ = src_md;
    dst_md_ = dst_md;
    scales_md_ = dnnl::memory::desc({k / group, n}, dt::f32, tag::ab);
  }
  static std::string version() {
    const dnnl_version_t* v = dnnl_version();
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  }
  const std::string& implementation() const { return implementation_; }
  /// The int4 payload (K N / 2 bytes, whatever layout oneDNN chose) and the scales.
  std::size_t weight_bytes() const { return payload_ + scales_.size() * sizeof(float); }
  std::size_t copies() const { return weights_.size(); }
  const std::vector<float>& output() const { return dst_; }

  void run(const float* a, std::size_t copy) {
    matmul_.execute(stream_, {{DNNL_ARG_SRC, dnnl::memory(src_md_, engine_, const_cast<float*>(a))},
                              {DNNL_ARG_WEIGHTS, dnnl::memory(wei_md_, engine_, weights_[copy].data())},
                              {DNNL_ARG_DST, dnnl::memory(dst_md_, engine_, dst_.data())},
                              {DNNL_ARG_ATTR_SCALES | DNNL_ARG_WEIGHTS, dnnl::memory(scales_md_, engine_, scales_.data())}});
    stream_.wait();
  }

  /// One engine for the process, created (and its threading runtime started) while the calling thread
  /// may run on its current CPU only: a TBB build (PyPI's) sizes its thread pool from that mask once, so
  /// every oneDNN row runs on one thread, like the one-thread rows it is compared with. The mask is
  /// restored afterwards (qsparse's two-thread rows start their own threads).
  static dnnl::engine& engine() {
    static dnnl::engine e = [] {
      cpu_set_t saved, one;
      const bool pinned = sched_getaffinity(0, sizeof saved, &saved) == 0;
      if (pinned) {
        CPU_ZERO(&one);
        CPU_SET(sched_getcpu(), &one);
        sched_setaffinity(0, sizeof one, &one);
      }
      dnnl::engine made(dnnl::engine::kind::cpu, 0);
      {  // a first matmul starts the threading runtime inside the mask
        using dt = dnnl::memory::data_type;
        using tag = dnnl::memory::format_tag;
        const dnnl::memory::desc md({16, 16}, dt::f32, tag::ab);
        const dnnl::matmul::primitive_desc pd(made, md, md, md);
        std::vector<float> x(256, 1.0f), y(256);
        dnnl::stream st(made);
        dnnl::matmul(pd).execute(st, {{DNNL_ARG_SRC, dnnl::memory(md, made, x.data())},
                                      {DNNL_ARG_WEIGHTS, dnnl::memory(md, made, x.data())},
                                      {DNNL_ARG_DST, dnnl::memory(md, made, y.data())}});
        st.wait();
      }
      if (pinned) sched_setaffinity(0, sizeof saved, &saved);
      return made;
    }();
    return e;
  }

 private:
  std::ptrdiff_t m_, k_, n_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::matmul matmul_;
  dnnl::memory::desc src_md_, wei_md_, dst_md_, scales_md_;
  std::vector<std::vector<std::uint8_t>> weights_;
  std::vector<float> scales_, dst_;
  std::size_t payload_ = 0;
  std::string implementation_;
};

/// The int4 values and scales every q4 peer shares (the ones q4_weights packs), K×N and [K / G][N].
struct q4_values {
  std::vector<std::int8_t> q;
  std::vector<float> scale_nxg;
};
q4_values q4_source(std::ptrdiff_t k, std::ptrdiff_t n, std::ptrdiff_t group) {
  q4_values v;
  v.q.resize(static_cast<std::size_t>(k * n));
  v.scale_nxg.resize(static_cast<std::size_t>(n * (k / group)));
  std::uint64_t state = 27;
  for (auto& x : v.q) x = static_cast<std::int8_t>(static_cast<int>(splitmix(state) & 15u) - 8);
  for (auto& s : v.scale_nxg) s = 0.001f + static_cast<float>(splitmix(state) & 1023u) * 1e-5f;
  return v;
}

std::vector<float> transpose_scales(const std::vector<float>& nxg, std::ptrdiff_t n, std::ptrdiff_t groups) {
  std::vector<float> gxn(nxg.size());
  for (std::ptrdiff_t c = 0; c < n; ++c)
    for (std::ptrdiff_t g = 0; g < groups; ++g)
      gxn[static_cast<std::size_t>(g * n + c)] = nxg[static_cast<std::size_t>(c * groups + g)];
  return gxn;
}

onednn_q4& onednn_weights(const shape& s) {
  static std::map<std::tuple<std::ptrdiff_t, std::ptrdiff_t, bool, std::ptrdiff_t>, std::unique_ptr<onednn_q4>> cache;
  auto& p = cache[{s.m, s.k, s.dram, s.group}];
  if (!p) {
    const q4_values v = q4_source(s.k, s.n, s.group);
    const auto scales = transpose_scales(v.scale_nxg, s.n, s.k / s.group);
    const std::size_t bytes = static_cast<std::size_t>(s.k * s.n) / 2 + scales.size() * sizeof(float);
    p = std::make_unique<onednn_q4>(s.m, s.k, s.n, s.group, v.q.data(), scales.data(), rotation_count(bytes, s.dram, dram_bytes));
  }
  return *p;
}

void bm_onednn(benchmark::State& state, shape s) {
  onednn_q4& o = onednn_weights(s);
  const auto a = activations(s.m, s.k);
  std::size_t i = 0;
  for (auto _ : state) {
    o.run(a.data(), i++ % o.copies());
    benchmark::DoNotOptimize(o.output().data());
  }
  set_counters(state, s, o.weight_bytes());
  state.SetLabel(o.implementation());
}

/// oneDNN's result on a small problem against reference_gemm_q4_f32 on the same int4 values and scales:
/// the largest |difference| over Σ_k |a w| of its column (0 would be bit-exact: it is not, its sums run in
/// another order). Also qsparse's gemm_q4_f32 on the same problem (bit-exact by the tests: 0).
struct q4_peer_error {
  double onednn = -1, qsparse_f32 = -1;
  bool onednn_exact = false;
};
q4_peer_error check_onednn(std::FILE* out) {
  const std::ptrdiff_t m = 3, k = 256, n = 40, group = 32;
  const q4_values v = q4_source(k, n, group);
  const auto scales = transpose_scales(v.scale_nxg, n, k / group);
  onednn_q4 o(m, k, n, group, v.q.data(), scales.data(), 1);
  const auto a = activations(m, k);
  o.run(a.data(), 0);
  std::vector<float> want(static_cast<std::size_t>(m * n)), mine(want.size());
  const qsparse::group_params<float> p{v.scale_nxg.data(), nullptr, group, 0, n * (k / group)};
  qsparse::reference_gemm_q4_f32(qsparse::make_view(a.data(), m, k), qsparse::make_view(v.q.data(), k, n), p,
                                 qsparse::make_view(want.data(), m, n), qsparse::pipeline());
  const auto packed = qsparse::pack_weights_q4(qsparse::make_view(v.q.data(), k, n), p);
  qsparse::gemm_q4_f32(qsparse::context{}, qsparse::make_view(a.data(), m, k), packed.view(),
                       qsparse::make_view(mine.data(), m, n), qsparse::pipeline());
  q4_peer_error e{0, 0, true};
  for (std::ptrdiff_t r = 0; r < m; ++r) {
    for (std::ptrdiff_t c = 0; c < n; ++c) {
      double norm = 0;
      for (std::ptrdiff_t i = 0; i < k; ++i) {
        const double w = static_cast<double>(v.q[static_cast<std::size_t>(i * n + c)]) *
                         v.scale_nxg[static_cast<std::size_t>(c * (k / group) + i / group)];
        norm += std::fabs(static_cast<double>(a[static_cast<std::size_t>(r * k + i)]) * w);
      }
      const auto idx = static_cast<std::size_t>(r * n + c);
      e.onednn = std::max(e.onednn, std::fabs(static_cast<double>(o.output()[idx]) - want[idx]) / norm);
      e.qsparse_f32 = std::max(e.qsparse_f32, std::fabs(static_cast<double>(mine[idx]) - want[idx]) / norm);
      e.onednn_exact = e.onednn_exact && std::memcmp(&o.output()[idx], &want[idx], sizeof(float)) == 0;
    }
  }
  if (e.onednn > 1e-4) std::fprintf(out, "oneDNN int4 check: error %.3g of sum |a w| (a different product?)\n", e.onednn);
  return e;
}
q4_peer_error onednn_error;
#endif

// ---- registration and summary -----------------------------------------------------------------------------

const char* const implementations[] = {"q4_gemm",     "q4_gemm_f32",    "int8_gemm",
                                       "hybrid_gemm", "ggml_q4_0_q8_0", "onednn_s4_f32"};
// The peers of the goals "≥ 1.2× the best peer".
const char* const peers[] = {"ggml_q4_0_q8_0", "onednn_s4_f32"};

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
#ifdef QSPARSE_HAVE_ONEDNN_INT4
    if (s.threads == 1) benchmark::RegisterBenchmark(("BM_onednn_s4_f32/" + s.label()).c_str(), bm_onednn, s)->UseRealTime();
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
  std::fprintf(out, "\nExactness against qsparse's definitions (reference_q4.hpp): q4_gemm and q4_gemm_f32 bit-exact "
                    "(tests/gemm/gemm_q4_test.cpp); ggml computes its own Q4_0 x Q8_0 product (checked within 2 %% of "
                    "its dequantized float product)");
#ifdef QSPARSE_HAVE_ONEDNN_INT4
  std::fprintf(out, "; onednn_s4_f32 (oneDNN %s) against reference_gemm_q4_f32 on the same int4 values and scales: %s, "
                    "largest |error| %.2g of sum |a w| (qsparse's gemm_q4_f32 there: %.2g)",
               onednn_q4::version().c_str(), onednn_error.onednn_exact ? "bit-exact" : "NOT bit-exact", onednn_error.onednn,
               onednn_error.qsparse_f32);
#else
  std::fprintf(out, "; no oneDNN int4 peer in this build (oneDNN >= 3.5 not found: scripts/fetch_bench_peers.sh pypi)");
#endif
  std::fprintf(out, ".\n");
  const auto verdict = [](bool pass) { return pass ? "PASS" : "FAIL"; };
  std::fprintf(out, "\n== goals (issue 27) ==\n");
  const shape gemv_dram{true, 1, 4096, 4096, 1}, gemv_dram2{true, 1, 4096, 4096, 2};
  const measured* q = find("q4_gemm", gemv_dram);
  if (q != nullptr && bw != nullptr) {
    const double share = q->read_bytes_per_second / bw->read_bytes_per_second;
    std::fprintf(out, "%s GEMV from DRAM, q4 weight bytes / one-core read bandwidth: %.0f %% (goal >= 80 %%)\n",
                 verdict(share >= 0.8), 100.0 * share);
  }
  if (const measured* q2 = find("q4_gemm", gemv_dram2); q2 != nullptr && q != nullptr) {
    const double ratio = q2->read_bytes_per_second / q->read_bytes_per_second;
    std::fprintf(out, "%s GEMV from DRAM, 2 threads / 1 thread: %.2fx (goal >= 1.8x)\n", verdict(ratio >= 1.8), ratio);
    if (bw != nullptr && bw2 != nullptr) {
      const double machine = bw2->read_bytes_per_second / bw->read_bytes_per_second;
      std::fprintf(out,
                   "     the machine's own read bandwidth, 2 cores / 1 core: %.2fx; q4 GEMV with 2 threads reads %.0f %% of "
                   "the 2-core bandwidth (1 thread: %.0f %% of the 1-core bandwidth)%s\n",
                   machine, 100.0 * q2->read_bytes_per_second / bw2->read_bytes_per_second,
                   100.0 * q->read_bytes_per_second / bw->read_bytes_per_second,
                   machine < 1.8 ? " — the machine itself gives less than 1.8x" : "");
    }
  }
  for (const shape& s : shapes()) {
    if (s.threads != 1) continue;
    const measured* qs = find("q4_gemm", s);
    if (qs == nullptr) continue;
    const measured* best = nullptr;
    const char* best_name = nullptr;
    for (const char* peer : peers) {
      const measured* pm = find(peer, s);
      if (pm != nullptr && (best == nullptr || pm->items_per_second > best->items_per_second)) {
        best = pm;
        best_name = peer;
      }
    }
    if (best != nullptr) {
      const double ratio = qs->items_per_second / best->items_per_second;
      std::fprintf(out, "%s %s: q4_gemm / best peer (%s) = %.2fx (goal >= 1.2x)", verdict(ratio >= 1.2), s.label().c_str(),
                   best_name, ratio);
      for (const char* peer : peers) {
        if (const measured* pm = find(peer, s)) std::fprintf(out, "; / %s %.2fx", peer, qs->items_per_second / pm->items_per_second);
      }
      std::fprintf(out, "\n");
    }
    if (s.m >= 64) {
      shape int8_shape = s;
      int8_shape.group = default_group;
      if (const measured* i8 = find("int8_gemm", int8_shape)) {
        const double ratio = qs->items_per_second / i8->items_per_second;
        std::fprintf(out, "%s %s: q4_gemm / qsparse int8 GEMM = %.2fx (goal >= 0.8x)\n", verdict(ratio >= 0.8),
                     s.label().c_str(), ratio);
      }
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
#ifdef QSPARSE_HAVE_ONEDNN_INT4
  qsparse_bench::onednn_error = qsparse_bench::check_onednn(text);
  benchmark::AddCustomContext("onednn_peer", "oneDNN " + qsparse_bench::onednn_q4::version() +
                                                 " matmul, s4 weights with f32 group scales, f32 activations");
#endif
  qsparse_bench::register_all();
  qsparse_bench::summary_reporter reporter(qsparse_bench::make_display_reporter(format), qsparse_bench::print_summary,
                                           text);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
