// benchmarks/gemm_benchmark.cpp — qsparse's int8 GEMM (every kernel and the dispatched gemm()), its peers,
// and the machine's own limits, in one binary, so every ratio below is measured in one run.
//
// qsparse, on the shapes of support/gemm_shapes.hpp, computing the same int8 output as the oneDNN peer
// (bias, per-channel float requantization rounding half to even, zero point, int8):
//   BM_qsparse_gemm/<shape>/<t>           the dispatched qsparse::gemm (best ISA), 1 and 2 threads
//   BM_qsparse_gemm_tflite/<shape>/<t>    the same with TFLite's fixed-point per-channel requantization as
//                                         its reference FULLY_CONNECTED rounds (one rounding, ties away)
//   BM_qsparse_gemm_tflite_opt/<shape>/<t>  ... as its optimized kernels round (double rounding, ties up);
//                                         the summary prints both against the float-scale column (goal >= 0.95x)
//   BM_<kernel name>/<shape>/1_thread     each registered kernel this CPU runs (kernels::gemm_kernels), alone,
//                                         on the shapes it takes, e.g. gemm_u8s8_s32_4x32c4__avx512vnni
// Peers (support/gemm_peers.hpp says exactly what each computes):
//   BM_onednn_matmul_u8s8/<shape>/<t>     oneDNN matmul, src u8 with zero point, packed s8 weights,
//   BM_onednn_matmul_s8s8/<shape>/<t>       per-N scales, s32 bias, s8 dst (u8 is oneDNN's native VNNI type)
//   BM_xnnpack_fully_connected_qs8/<shape>/<t>   XNNPACK qs8 fully connected (per-tensor weight scale)
//   BM_eigen_sgemm/<shape>/<t>            the float baseline, Eigen row-major MatrixXf, one thread
//   BM_openblas_sgemm/<shape>/1_thread    the runtime-dispatched float baseline: OpenBLAS cblas_sgemm
// <t> is 1_thread for every shape, and 2_threads too for the 1024 and 2048 squares.
// Counter GOPS = 2*M*N*K per iteration / time / 1e9 (items_per_second carries the same rate in ops/s
// for the summary); runq_wait = share of thread-time spent waiting for a CPU (another process on our
// cores: distrust the row when it is not near 0). The label names the implementation oneDNN picked.
//
// Denominators, measured in the same run:
//   BM_vnni_peak/<n>_accumulators         one core's vpdpbusd zmm throughput: an inline-asm loop of n
//                                         independent vpdpbusd (no other instruction but the loop
//                                         counter), GOPS at 128 ops per instruction (16 int32 lanes x 4
//                                         u8*s8 multiply-adds x 2 ops), the same count as 2*M*N*K
//   BM_vnni_peak_with/6_<insn>_per_12     the same loop of 12 with 6 independent <insn> added (GOPS of the
//                                         vpdpbusd alone): near the peak when <insn> issues on other pipes
//   BM_amx_peak/<loop>                    one core's AMX-INT8 throughput: tdpbssd on 4 independent C tiles
//                                         (16x16x64 multiply-adds each, 32768 ops), tiles in registers
//                                         (registers) or with the kernel's 2 A + 2 B tile loads from L1 per
//                                         4 tdpbssd (with_loads): the AMX kernel's share is against these
//   BM_k27_tile_bound/<loop>              one 4x32 tile of the K = 27 stem per iteration, in assembly, data in
//                                         L1: the MACs alone, + the exact float requantization, the whole
//                                         tile (loads, flip, requantization, packs, stores); GOPS at the
//                                         stem's 2*4*32*27 ops per tile: what the shallow kernel can reach
//   BM_ymm_peak/<insn>                    one core's 256-bit int8 multiply-add throughput, inline asm, 8
//                                         independent accumulators: vpmaddwd + vpaddd (32 ops: the exact
//                                         int16 path of the AVX2 kernel), vpmaddubsw + vpmaddwd + vpaddd
//                                         (64 ops, saturating: the bound of any AVX2 u8s8 kernel), VEX
//                                         vpdpbusd (64 ops: AVX-VNNI). The summary prints the AVX2 and
//                                         AVX-VNNI kernels as shares of them (run with
//                                         QSPARSE_ISA_CEILING=avx_vnni to compare the two in one binary)
//   BM_read_bandwidth/<isa>               sum of a 256 MiB buffer (int32 lanes) into 8 independent vector
//                                         accumulators, in assembly; counters GBps (base 1000) and read_bytes
//
// Before the benchmarks run, every available int8 peer is checked against reference_gemm() on a few
// small shapes (|difference| <= 1) and Eigen against the float product (--peers_check=false skips it).
// At the end a summary prints the median GOPS of each peer per shape, and the best int8 peer as a
// fraction of the vnni peak (times the thread count).
//
// Default --benchmark_min_time is 0.2 s; a smoke run is --benchmark_filter=square_256 --benchmark_min_time=0.001.
// Key numbers: --benchmark_repetitions=3 --benchmark_report_aggregates_only=true (the summary uses medians),
// with --benchmark_enable_random_interleaving=true on a shared machine (noise then spreads over the peers).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <exception>
#include <functional>
#include <map>
#include <stdexcept>
#include <string>
#include <vector>

#include "qsparse/core/config.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/kernels/gemm_kernels.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/spec/system_pipelines.hpp"
#include "support/benchmark_support.hpp"
#include "support/read_bandwidth.hpp"
#include "support/gemm_peers.hpp"
#include "support/gemm_shapes.hpp"

namespace qsparse_bench {

/// The ISAs this CPU runs up to best_isa() (under the ceiling), highest first.
std::vector<qsparse::isa_level> supported_isas_down_from_best() {
  std::vector<qsparse::isa_level> levels;
  for (qsparse::isa_level isa : qsparse::supported_isas())
    if (qsparse::isa_runs(qsparse::best_isa(), isa)) levels.insert(levels.begin(), isa);
  return levels;
}

// ---- peers -------------------------------------------------------------------------------------------

/// Times peer.run(); the peer (data, packed weights, threads) is built before the timing starts.
template <class Peer, class... Extra>
void bm_peer(benchmark::State& state, gemm_shape shape, int threads, Extra... extra) {
  try {
    Peer peer(gemm_problem::make(shape.m, shape.k, shape.n), threads, extra...);
    peer.run();  // warm: first-touch of the output, thread start-up, lazily built state
    const run_queue_probe probe;
    for (auto _ : state) {
      peer.run();
      benchmark::ClobberMemory();
    }
    probe.finish(state, threads);
    if constexpr (std::is_same_v<Peer, onednn_matmul_s8>) state.SetLabel(peer.implementation());
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  set_gops_counter(state, shape);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(shape.ops()));
}

struct peer_column {
  std::string implementation;
  bool int8;
};

/// Peers that the check found inexact (name -> largest |C - reference| in LSB): still timed, their column
/// marked and left out of the goals (an ISA cap such as ONEDNN_MAX_CPU_ISA=AVX2 makes oneDNN saturate).
std::map<std::string, int>& inexact_peers() {
  static std::map<std::string, int> peers;
  return peers;
}

std::vector<peer_column>& peer_columns() {
  static std::vector<peer_column> columns;
  return columns;
}

void register_peers() {
  const auto add = [](const std::string& implementation, bool int8, auto&& register_one) {
    peer_columns().push_back({implementation, int8});
    for (const gemm_shape& s : all_gemm_shapes())
      for (int t : gemm_thread_counts(s)) register_one(s, t);
  };
  if (onednn_matmul_s8::available()) {
    for (onednn_source source : {onednn_source::u8, onednn_source::s8}) {
      const std::string name = onednn_matmul_s8::name(source);
      add(name, true, [&](const gemm_shape& s, int t) {
        if (t > 1 && !onednn_matmul_s8::threads_supported()) return;
        benchmark::RegisterBenchmark(gemm_benchmark_name(name, s, t).c_str(), bm_peer<onednn_matmul_s8, onednn_source>,
                                     s, t, source)
            ->UseRealTime();
      });
    }
  }
  if (xnnpack_fully_connected_qs8::available()) {
    const std::string name = xnnpack_fully_connected_qs8::name();
    add(name, true, [&](const gemm_shape& s, int t) {
      benchmark::RegisterBenchmark(gemm_benchmark_name(name, s, t).c_str(), bm_peer<xnnpack_fully_connected_qs8>, s, t)
          ->UseRealTime();
    });
  }
  if (eigen_sgemm::available()) {
    const std::string name = eigen_sgemm::name();
    add(name, false, [&](const gemm_shape& s, int t) {
      if (t > 1 && !eigen_sgemm::threads_supported()) return;
      benchmark::RegisterBenchmark(gemm_benchmark_name(name, s, t).c_str(), bm_peer<eigen_sgemm>, s, t)->UseRealTime();
    });
  }  if (openblas_sgemm::available()) {
    const std::string name = openblas_sgemm::name();
    add(name, false, [&](const gemm_shape& s, int t) {
      benchmark::RegisterBenchmark(gemm_benchmark_name(name, s, t).c_str(), bm_peer<openblas_sgemm>, s, t)->UseRealTime();
    });
  }

}

// ---- qsparse ----------------------------------------------------------------------------------------

/// qsparse::gemm on a gemm_problem: weights packed once for `isa`, the pipeline built once.
class qsparse_gemm {
 public:
  enum class requantization { float_scale, tflite_reference, tflite_optimized };

  qsparse_gemm(const gemm_problem& p, int threads, qsparse::isa_level isa, requantization r)
      : p_(p),
        ctx_(threads > 1 ? qsparse::context(qsparse::threads{threads}) : qsparse::context()),
        packed_(qsparse::pack_weights(qsparse::make_view(p_.b.data(), p_.k, p_.n), 0, isa)),
        scales_(p_.per_channel_multipliers()),
        c_(static_cast<std::size_t>(p_.m * p_.n)),
        requantization_(r) {
    for (float s : scales_) {
      const qsparse::quantized_multiplier q =
          r == requantization::tflite_reference ? qsparse::single_rounding_away::quantize(static_cast<double>(s))
                                                : qsparse::quantize_multiplier(static_cast<double>(s));
      multipliers_.push_back(q.multiplier);
      shifts_.push_back(q.shift);
    }
  }
  qsparse_gemm(const gemm_problem& p, int threads)
      : qsparse_gemm(p, threads, qsparse::best_isa(), requantization::float_scale) {}

  // Defined before the constructor whose lambda calls it: Clang rejects a call to a member with a
  // deduced return type before its definition, even inside the class.
  auto float_pipeline() const {
    return qsparse::pipeline(qsparse::bias_add{p_.bias.data()}, qsparse::requantize_float_per_channel{scales_.data()},
                             qsparse::add_zero_point{p_.c_zero_point}, qsparse::saturating_cast<std::int8_t>{});
  }

  /// The registered kernel K alone (kernels::gemm_kernels), on weights packed in its layout, with the
  /// float-scale pipeline: what one column per registry entry measures.
  template <class K>
  qsparse_gemm(const gemm_problem& p, int threads, K)
      : p_(p),
        ctx_(threads > 1 ? qsparse::context(qsparse::threads{threads}) : qsparse::context()),
        packed_(qsparse::pack_weights(qsparse::make_view(p_.b.data(), p_.k, p_.n), 0, K::isa, K::layout)),
        scales_(p_.per_channel_multipliers()),
        c_(static_cast<std::size_t>(p_.m * p_.n)),
        requantization_(requantization::float_scale) {
    if (!qsparse::kernels::gemm_kernel_accepts<K>(packed_.view()))
      throw std::runtime_error(std::string(K::name()) + " does not take these weights");
    pinned_ = [this] {
      const qsparse::kernels::gemm_args<std::int8_t, std::int8_t> g{
          p_.a.data(), p_.k, p_.a_zero_point, p_.m, p_.k, p_.n, packed_.view(), c_.data(), p_.n};
      qsparse::detail::run_gemm_tasks<K>(ctx_, g, float_pipeline());
    };
    pinned_name_ = K::name();
  }

  void run() {
    if (pinned_) {
      pinned_();
      return;
    }
    const auto a = qsparse::quantized(qsparse::make_view(p_.a.data(), p_.m, p_.k), p_.a_zero_point);
    const auto c = qsparse::make_view(c_.data(), p_.m, p_.n);
    if (requantization_ == requantization::float_scale) {
      qsparse::gemm(ctx_, a, packed_, c,
                    qsparse::pipeline(qsparse::bias_add{p_.bias.data()},
                                      qsparse::requantize_float_per_channel{scales_.data()},
                                      qsparse::add_zero_point{p_.c_zero_point}, qsparse::saturating_cast<std::int8_t>{}));
    } else if (requantization_ == requantization::tflite_reference) {
      qsparse::gemm(ctx_, a, packed_, c,
                    qsparse::tflite_reference_fc_int8_pipeline(p_.bias.data(), multipliers_.data(), shifts_.data(),
                                                               p_.c_zero_point));
    } else {
      qsparse::gemm(ctx_, a, packed_, c,
                    qsparse::tflite_optimized_int8_pipeline(p_.bias.data(), multipliers_.data(), shifts_.data(),
                                                            p_.c_zero_point));
    }
  }
  const std::int8_t* output() const { return c_.data(); }
  const char* kernel() const { return pinned_ ? pinned_name_ : qsparse::selected_kernel_name(packed_.view()); }

 private:
  gemm_problem p_;
  qsparse::context ctx_;
  qsparse::packed_weights packed_;
  std::vector<float> scales_;
  std::vector<std::int32_t> multipliers_;
  std::vector<int> shifts_;
  std::vector<std::int8_t> c_;
  requantization requantization_;
  std::function<void()> pinned_;
  const char* pinned_name_ = nullptr;
};

void bm_qsparse(benchmark::State& state, gemm_shape shape, int threads, qsparse::isa_level isa,
                qsparse_gemm::requantization r) {
  try {
    qsparse_gemm g(gemm_problem::make(shape.m, shape.k, shape.n), threads, isa, r);
    g.run();
    const run_queue_probe probe;
    for (auto _ : state) {
      g.run();
      benchmark::ClobberMemory();
    }
    probe.finish(state, threads);
    state.SetLabel(g.kernel());
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  set_gops_counter(state, shape);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(shape.ops()));
}

/// One registered kernel alone (see qsparse_gemm's kernel constructor), one thread.
template <class K>
void bm_qsparse_kernel(benchmark::State& state, gemm_shape shape) {
  try {
    qsparse_gemm g(gemm_problem::make(shape.m, shape.k, shape.n), 1, K{});
    g.run();
    const run_queue_probe probe;
    for (auto _ : state) {
      g.run();
      benchmark::ClobberMemory();
    }
    probe.finish(state, 1);
    state.SetLabel(g.kernel());
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  set_gops_counter(state, shape);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(shape.ops()));
}

const char* const qsparse_column = "qsparse_gemm";

void register_qsparse() {
  using r = qsparse_gemm::requantization;
  const auto add = [](const std::string& name, bool all_threads, qsparse::isa_level isa, r requantization) {
    peer_columns().push_back({name, true});
    for (const gemm_shape& s : all_gemm_shapes())
      for (int t : gemm_thread_counts(s)) {
        if (t > 1 && !all_threads) continue;
        benchmark::RegisterBenchmark(gemm_benchmark_name(name, s, t).c_str(), bm_qsparse, s, t, isa, requantization)
            ->UseRealTime();
      }
  };
  add(qsparse_column, true, qsparse::best_isa(), r::float_scale);
  add("qsparse_gemm_tflite", false, qsparse::best_isa(), r::tflite_reference);
  add("qsparse_gemm_tflite_opt", false, qsparse::best_isa(), r::tflite_optimized);
  // One column per registered kernel this CPU runs under the ceiling, on the shapes it takes.
  qsparse::kernels::for_each_kernel(qsparse::kernels::gemm_kernels{}, [](auto kernel) {
    using K = decltype(kernel);
    if (!qsparse::isa_runs(qsparse::best_isa(), K::isa) || !qsparse::kernels::cpu_has_kernel_extensions<K>()) return;
    peer_columns().push_back({K::name(), true});
    for (const gemm_shape& s : all_gemm_shapes()) {
      std::vector<std::int8_t> column(static_cast<std::size_t>(s.k));
      const auto probe = qsparse::pack_weights(qsparse::make_view(column.data(), s.k, 1), 0, K::isa, K::layout);
      if (!qsparse::kernels::gemm_kernel_accepts<K>(probe.view())) continue;
      benchmark::RegisterBenchmark(gemm_benchmark_name(K::name(), s, 1).c_str(), bm_qsparse_kernel<K>, s)->UseRealTime();
    }
  });
}

// ---- the check ---------------------------------------------------------------------------------------

/// Largest |peer - reference| over C, or -1 when the peer threw (message in `error`).
template <class Peer, class... Extra>
int int8_difference(const gemm_problem& p, const std::vector<float>& multipliers, std::string& error, Extra... extra) {
  std::vector<std::int8_t> expected(static_cast<std::size_t>(p.m * p.n));
  reference_gemm(p, multipliers, expected.data());
  try {
    Peer peer(p, 1, extra...);
    peer.run();
    int worst = 0;
    for (std::size_t i = 0; i < expected.size(); ++i)
      worst = std::max(worst, std::abs(int{peer.output()[i]} - int{expected[i]}));
    return worst;
  } catch (const std::exception& e) {
    error = e.what();
    return -1;
  }
}

/// Largest |C_peer - C_exact| / max |C_exact| of a float peer (C_exact from the exact integer product).
template <class FloatPeer = eigen_sgemm>
double float_difference(const gemm_problem& p) {
  std::vector<double> exact(static_cast<std::size_t>(p.m * p.n), 0.0);
  for (std::int64_t i = 0; i < p.m; ++i)
    for (std::int64_t kk = 0; kk < p.k; ++kk) {
      const double x = double(p.a_scale) * (p.a[static_cast<std::size_t>(i * p.k + kk)] - p.a_zero_point);
      for (std::int64_t j = 0; j < p.n; ++j)
        exact[static_cast<std::size_t>(i * p.n + j)] +=
            x * double(p.b_scale[static_cast<std::size_t>(j)]) * p.b[static_cast<std::size_t>(kk * p.n + j)];
    }
  FloatPeer peer(p, 1);
  peer.run();
  double worst = 0, largest = 0;
  for (std::size_t i = 0; i < exact.size(); ++i) {
    worst = std::max(worst, std::abs(double(peer.output()[i]) - exact[i]));
    largest = std::max(largest, std::abs(exact[i]));
  }
  return largest > 0 ? worst / largest : worst;
}

/// Checks every available peer on a few small shapes; prints one line per peer; false on a mismatch.
bool check_peers(std::FILE* out) {
  const std::vector<gemm_shape> shapes = {{gemm_family::fully_connected, 1, 784, 256, false},
                                          {gemm_family::fully_connected, 8, 1024, 1024, false},
                                          {gemm_family::conv, 196, 2304, 256, false},
                                          {gemm_family::conv, 12544, 27, 32, false},
                                          {gemm_family::square, 37, 53, 71, false}};
  bool ok = true;
  const auto report = [&](const char* name, int worst, const std::string& error) {
    if (worst < 0) ok = false;
    if (worst > 1) inexact_peers()[name] = worst;  // timed anyway, labelled inexact in the summary
    if (worst < 0)
      std::fprintf(out, "peers check: %-30s FAILED: %s\n", name, error.c_str());
    else
      std::fprintf(out, "peers check: %-30s max |C - reference| = %d LSB %s\n", name, worst,
                   worst <= 1 ? "(ok)" : "(INEXACT: timed, labelled, left out of the goals)");
  };
  for (onednn_source source : {onednn_source::u8, onednn_source::s8}) {
    if (!onednn_matmul_s8::available()) break;
    int worst = 0;
    std::string error;
    for (const gemm_shape& s : shapes) {
      const gemm_problem p = gemm_problem::make(s.m, s.k, s.n);
      const int d = int8_difference<onednn_matmul_s8>(p, p.per_channel_multipliers(), error, source);
      worst = d < 0 || worst < 0 ? -1 : std::max(worst, d);
    }
    report(onednn_matmul_s8::name(source), worst, error);
    if (source == onednn_source::u8) {
      const char* cap = std::getenv("ONEDNN_MAX_CPU_ISA");
      std::fprintf(out, "peers check: (oneDNN %s, ONEDNN_MAX_CPU_ISA=%s)\n", onednn_matmul_s8::version().c_str(),
                   cap != nullptr ? cap : "unset");
    }
  }
  for (qsparse::isa_level isa : supported_isas_down_from_best()) {
    int worst = 0;
    for (const gemm_shape& s : shapes) {
      const gemm_problem p = gemm_problem::make(s.m, s.k, s.n);
      std::vector<std::int8_t> expected(static_cast<std::size_t>(p.m * p.n));
      reference_gemm(p, p.per_channel_multipliers(), expected.data());
      qsparse_gemm g(p, 1, isa, qsparse_gemm::requantization::float_scale);
      g.run();
      for (std::size_t i = 0; i < expected.size(); ++i)
        worst = std::max(worst, std::abs(int{g.output()[i]} - int{expected[i]}));
    }
    // qsparse computes the reference's formula exactly: not one LSB of difference is allowed.
    if (worst != 0) ok = false;
    std::fprintf(out, "peers check: %-30s max |C - reference| = %d LSB %s\n", qsparse::selected_kernel_name(isa), worst,
                 worst == 0 ? "(ok)" : "(MISMATCH)");
  }
  if (xnnpack_fully_connected_qs8::available()) {
    int worst = 0;
    std::string error;
    for (const gemm_shape& s : shapes) {
      const gemm_problem p = gemm_problem::make(s.m, s.k, s.n);
      const int d = int8_difference<xnnpack_fully_connected_qs8>(p, p.per_tensor_multipliers(), error);
      worst = d < 0 || worst < 0 ? -1 : std::max(worst, d);
    }
    report(xnnpack_fully_connected_qs8::name(), worst, error);
  }
  if (eigen_sgemm::available()) {
    double worst = 0;
    for (const gemm_shape& s : shapes) worst = std::max(worst, float_difference(gemm_problem::make(s.m, s.k, s.n)));
    const bool good = worst < 1e-5;
    ok = ok && good;
    std::fprintf(out, "peers check: %-30s max |C - exact| / max |C| = %.1e %s\n", eigen_sgemm::name(), worst,
                 good ? "(ok)" : "(MISMATCH)");
  }
  if (openblas_sgemm::available()) {
    double worst = 0;
    for (const gemm_shape& s : shapes)
      worst = std::max(worst, float_difference<openblas_sgemm>(gemm_problem::make(s.m, s.k, s.n)));
    const bool good = worst < 1e-5;
    ok = ok && good;
    std::fprintf(out, "peers check: %-30s max |C - exact| / max |C| = %.1e %s (OpenBLAS core %s)\n",
                 openblas_sgemm::name(), worst, good ? "(ok)" : "(MISMATCH)", openblas_sgemm::core());
  }
  return ok;
}

/// Counter GOPS and items_per_second for `ops` operations per iteration.
void set_ops_rate(benchmark::State& state, double ops) {
  state.counters["GOPS"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * ops * 1e-9, benchmark::Counter::kIsRate);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(ops));
}

// ---- vpdpbusd peak -----------------------------------------------------------------------------------

#if QSPARSE_X86

#define QSPARSE_BENCH_VPDPBUSD(i) "vpdpbusd %%zmm30, %%zmm31, %%zmm" #i "\n\t"

/// `loops` times 12 independent vpdpbusd (accumulators zmm0-11, sources zmm30/31).
__attribute__((target("avx512f,avx512vnni"), noinline)) void vpdpbusd_loop_12(std::int64_t loops) {
  __asm__ volatile(
      "1:\n\t"                                                                                   //
      QSPARSE_BENCH_VPDPBUSD(0) QSPARSE_BENCH_VPDPBUSD(1) QSPARSE_BENCH_VPDPBUSD(2)              //
      QSPARSE_BENCH_VPDPBUSD(3) QSPARSE_BENCH_VPDPBUSD(4) QSPARSE_BENCH_VPDPBUSD(5)              //
      QSPARSE_BENCH_VPDPBUSD(6) QSPARSE_BENCH_VPDPBUSD(7) QSPARSE_BENCH_VPDPBUSD(8)              //
      QSPARSE_BENCH_VPDPBUSD(9) QSPARSE_BENCH_VPDPBUSD(10) QSPARSE_BENCH_VPDPBUSD(11)            //
      "sub $1, %0\n\t"                                                                           //
      "jnz 1b\n\t"                                                                               //
      "vzeroupper\n\t"
      : "+r"(loops)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "cc");
}

/// `loops` times 24 independent vpdpbusd (accumulators zmm0-23, sources zmm30/31).
__attribute__((target("avx512f,avx512vnni"), noinline)) void vpdpbusd_loop_24(std::int64_t loops) {
  __asm__ volatile(
      "1:\n\t"                                                                                   //
      QSPARSE_BENCH_VPDPBUSD(0) QSPARSE_BENCH_VPDPBUSD(1) QSPARSE_BENCH_VPDPBUSD(2)              //
      QSPARSE_BENCH_VPDPBUSD(3) QSPARSE_BENCH_VPDPBUSD(4) QSPARSE_BENCH_VPDPBUSD(5)              //
      QSPARSE_BENCH_VPDPBUSD(6) QSPARSE_BENCH_VPDPBUSD(7) QSPARSE_BENCH_VPDPBUSD(8)              //
      QSPARSE_BENCH_VPDPBUSD(9) QSPARSE_BENCH_VPDPBUSD(10) QSPARSE_BENCH_VPDPBUSD(11)            //
      QSPARSE_BENCH_VPDPBUSD(12) QSPARSE_BENCH_VPDPBUSD(13) QSPARSE_BENCH_VPDPBUSD(14)           //
      QSPARSE_BENCH_VPDPBUSD(15) QSPARSE_BENCH_VPDPBUSD(16) QSPARSE_BENCH_VPDPBUSD(17)           //
      QSPARSE_BENCH_VPDPBUSD(18) QSPARSE_BENCH_VPDPBUSD(19) QSPARSE_BENCH_VPDPBUSD(20)           //
      QSPARSE_BENCH_VPDPBUSD(21) QSPARSE_BENCH_VPDPBUSD(22) QSPARSE_BENCH_VPDPBUSD(23)           //
      "sub $1, %0\n\t"                                                                           //
      "jnz 1b\n\t"                                                                               //
      "vzeroupper\n\t"
      : "+r"(loops)
      :
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",
        "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "cc");
}

// 12 independent vpdpbusd and 6 independent instructions of one other kind (results zmm12-17, sources
// zmm28/29): whether that kind issues on the pipes vpdpbusd needs. The epilogue of a shallow-K tile is
// made of such instructions (the stem's K = 27: 7 vpdpbusd per 16 outputs, then a convert, a multiply,
// a convert and part of a pack).
#define QSPARSE_BENCH_MIX(name, op)                                                                        \
  __attribute__((target("avx512f,avx512bw,avx512vnni"), noinline)) void vpdpbusd_mix_##name(std::int64_t loops) { \
    __asm__ volatile(                                                                                      \
        "1:\n\t"                                                                                            \
        QSPARSE_BENCH_VPDPBUSD(0) QSPARSE_BENCH_VPDPBUSD(1) QSPARSE_BENCH_VPDPBUSD(2)                      \
        QSPARSE_BENCH_VPDPBUSD(3) QSPARSE_BENCH_VPDPBUSD(4) QSPARSE_BENCH_VPDPBUSD(5)                      \
        QSPARSE_BENCH_VPDPBUSD(6) QSPARSE_BENCH_VPDPBUSD(7) QSPARSE_BENCH_VPDPBUSD(8)                      \
        QSPARSE_BENCH_VPDPBUSD(9) QSPARSE_BENCH_VPDPBUSD(10) QSPARSE_BENCH_VPDPBUSD(11)                    \
        op(12) op(13) op(14) op(15) op(16) op(17)                                                          \
        "sub $1, %0\n\t"                                                                                   \
        "jnz 1b\n\t"                                                                                       \
        "vzeroupper\n\t"                                                                                   \
        : "+r"(loops)                                                                                      \
        :                                                                                                  \
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", \
          "xmm12", "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "cc");                                     \
  }
#define QSPARSE_BENCH_VMULPS(i) "vmulps %%zmm29, %%zmm28, %%zmm" #i "\n\t"
#define QSPARSE_BENCH_VCVTDQ2PS(i) "vcvtdq2ps %%zmm29, %%zmm" #i "\n\t"
#define QSPARSE_BENCH_VCVTPS2DQ(i) "vcvtps2dq %%zmm29, %%zmm" #i "\n\t"
#define QSPARSE_BENCH_VPACKSSDW(i) "vpackssdw %%zmm29, %%zmm28, %%zmm" #i "\n\t"
#define QSPARSE_BENCH_VPXORD(i) "vpxord %%zmm29, %%zmm28, %%zmm" #i "\n\t"
QSPARSE_BENCH_MIX(vmulps, QSPARSE_BENCH_VMULPS)
QSPARSE_BENCH_MIX(vcvtdq2ps, QSPARSE_BENCH_VCVTDQ2PS)
QSPARSE_BENCH_MIX(vcvtps2dq, QSPARSE_BENCH_VCVTPS2DQ)
QSPARSE_BENCH_MIX(vpackssdw, QSPARSE_BENCH_VPACKSSDW)
QSPARSE_BENCH_MIX(vpxord, QSPARSE_BENCH_VPXORD)
#undef QSPARSE_BENCH_VMULPS
#undef QSPARSE_BENCH_VCVTDQ2PS
#undef QSPARSE_BENCH_VCVTPS2DQ
#undef QSPARSE_BENCH_VPACKSSDW
#undef QSPARSE_BENCH_VPXORD
#undef QSPARSE_BENCH_MIX
#undef QSPARSE_BENCH_VPDPBUSD

struct vpdpbusd_mix {
  const char* instruction;
  void (*loop)(std::int64_t);
};
const vpdpbusd_mix vpdpbusd_mixes[] = {{"vmulps", vpdpbusd_mix_vmulps},
                                       {"vcvtdq2ps", vpdpbusd_mix_vcvtdq2ps},
                                       {"vcvtps2dq", vpdpbusd_mix_vcvtps2dq},
                                       {"vpackssdw", vpdpbusd_mix_vpackssdw},
                                       {"vpxord", vpdpbusd_mix_vpxord}};

/// GOPS of the 12 vpdpbusd of a mix loop (the other 6 instructions count for nothing).
void bm_vnni_mix(benchmark::State& state, vpdpbusd_mix mix) {
  if (!qsparse::cpu_supports(qsparse::isa_level::avx512_vnni)) {
    state.SkipWithError("this CPU has no AVX-512 VNNI");
    return;
  }
  constexpr std::int64_t loops = std::int64_t{1} << 16;
  for (auto _ : state) mix.loop(loops);
  const double ops = 128.0 * 12.0 * static_cast<double>(loops);
  set_ops_rate(state, ops);
}

// ---- what bounds a shallow tile ----------------------------------------------------------------------
// One 4x32 tile of the K = 27 stem per loop iteration, in assembly, as gemm_u8s8_s32_4x32c4 runs it: 7
// groups of 4 bytes, 56 vpdpbusd into 8 accumulators (zmm0-7, initialised from zmm30/31), the weights in
// 14 registers (zmm16-29), the broadcast pixels in zmm8-11, the scale in zmm12, the int8 flip in zmm13,
// the vpermd order in zmm14, the zero point (int16 lanes) in zmm15. Three loops, each doing more:
//   macs         the 56 vpdpbusd alone (the pixels broadcast once, before the loop)
//   requantize   + per accumulator vcvtdq2ps, vmulps (the per-channel scale), vcvtps2dq: the least work an
//                exact float requantization does
//   whole_tile   the kernel's tile: 28 broadcast loads with the int8 flip, the MACs, the requantization,
//                the packs as the clamp (vpackssdw, vpaddsw, vpacksswb, vpermd) and 4 stores of 32 bytes
// All data sit in L1 and nothing else runs (no walk over rows, no panel set-up): what the kernel could
// reach on this CPU at best.
#define QSPARSE_BENCH_D(w, a, acc) "vpdpbusd %%zmm" #w ", %%zmm" #a ", %%zmm" #acc "\n\t"
#define QSPARSE_BENCH_GROUP(w0, w1)                                                                         \
  QSPARSE_BENCH_D(w0, 8, 0) QSPARSE_BENCH_D(w1, 8, 1) QSPARSE_BENCH_D(w0, 9, 2) QSPARSE_BENCH_D(w1, 9, 3) \
  QSPARSE_BENCH_D(w0, 10, 4) QSPARSE_BENCH_D(w1, 10, 5) QSPARSE_BENCH_D(w0, 11, 6) QSPARSE_BENCH_D(w1, 11, 7)
#define QSPARSE_BENCH_PIXELS(g)                                                                                \
  "vpbroadcastd " #g "*4(%[a]), %%zmm8\n\t"                                                                  \
  "vpbroadcastd " #g "*4+32(%[a]), %%zmm9\n\t"                                                               \
  "vpbroadcastd " #g "*4+64(%[a]), %%zmm10\n\t"                                                              \
  "vpbroadcastd " #g "*4+96(%[a]), %%zmm11\n\t"                                                              \
  "vpxord %%zmm13, %%zmm8, %%zmm8\n\t"                                                                       \
  "vpxord %%zmm13, %%zmm9, %%zmm9\n\t"                                                                       \
  "vpxord %%zmm13, %%zmm10, %%zmm10\n\t"                                                                     \
  "vpxord %%zmm13, %%zmm11, %%zmm11\n\t"
#define QSPARSE_BENCH_INIT                                                                           \
  "vmovdqa64 %%zmm30, %%zmm0\n\t vmovdqa64 %%zmm31, %%zmm1\n\t vmovdqa64 %%zmm30, %%zmm2\n\t" \
  "vmovdqa64 %%zmm31, %%zmm3\n\t vmovdqa64 %%zmm30, %%zmm4\n\t vmovdqa64 %%zmm31, %%zmm5\n\t" \
  "vmovdqa64 %%zmm30, %%zmm6\n\t vmovdqa64 %%zmm31, %%zmm7\n\t"
#define QSPARSE_BENCH_MACS                                                                        \
  QSPARSE_BENCH_GROUP(16, 17) QSPARSE_BENCH_GROUP(18, 19) QSPARSE_BENCH_GROUP(20, 21)            \
  QSPARSE_BENCH_GROUP(22, 23) QSPARSE_BENCH_GROUP(24, 25) QSPARSE_BENCH_GROUP(26, 27) QSPARSE_BENCH_GROUP(28, 29)
#define QSPARSE_BENCH_LOADED_MACS                                                                          \
  QSPARSE_BENCH_PIXELS(0) QSPARSE_BENCH_GROUP(16, 17) QSPARSE_BENCH_PIXELS(1) QSPARSE_BENCH_GROUP(18, 19) \
  QSPARSE_BENCH_PIXELS(2) QSPARSE_BENCH_GROUP(20, 21) QSPARSE_BENCH_PIXELS(3) QSPARSE_BENCH_GROUP(22, 23) \
  QSPARSE_BENCH_PIXELS(4) QSPARSE_BENCH_GROUP(24, 25) QSPARSE_BENCH_PIXELS(5) QSPARSE_BENCH_GROUP(26, 27) \
  QSPARSE_BENCH_PIXELS(6) QSPARSE_BENCH_GROUP(28, 29)
#define QSPARSE_BENCH_RQ(i) \
  "vcvtdq2ps %%zmm" #i ", %%zmm" #i "\n\t vmulps %%zmm12, %%zmm" #i ", %%zmm" #i "\n\t vcvtps2dq %%zmm" #i ", %%zmm" #i "\n\t"
#define QSPARSE_BENCH_REQUANTIZE                                                                           \
  QSPARSE_BENCH_RQ(0) QSPARSE_BENCH_RQ(1) QSPARSE_BENCH_RQ(2) QSPARSE_BENCH_RQ(3) QSPARSE_BENCH_RQ(4) \
  QSPARSE_BENCH_RQ(5) QSPARSE_BENCH_RQ(6) QSPARSE_BENCH_RQ(7)
// Rows (a, b) = accumulators (2a, 2a+1) and (2b, 2b+1), stored at o + 32a and o + 32b.
#define QSPARSE_BENCH_STORE_PAIR(a0, a1, b0, b1, off)                            \
  "vpackssdw %%zmm" #a1 ", %%zmm" #a0 ", %%zmm" #a0 "\n\t"                       \
  "vpackssdw %%zmm" #b1 ", %%zmm" #b0 ", %%zmm" #b0 "\n\t"                       \
  "vpaddsw %%zmm15, %%zmm" #a0 ", %%zmm" #a0 "\n\t"                              \
  "vpaddsw %%zmm15, %%zmm" #b0 ", %%zmm" #b0 "\n\t"                              \
  "vpacksswb %%zmm" #b0 ", %%zmm" #a0 ", %%zmm" #a0 "\n\t"                       \
  "vpermd %%zmm" #a0 ", %%zmm14, %%zmm" #a0 "\n\t"                               \
  "vmovdqu %%ymm" #a0 ", " #off "(%[o])\n\t"                                     \
  "vextracti64x4 $1, %%zmm" #a0 ", " #off "+32(%[o])\n\t"
#define QSPARSE_BENCH_STORE QSPARSE_BENCH_STORE_PAIR(0, 1, 2, 3, 0) QSPARSE_BENCH_STORE_PAIR(4, 5, 6, 7, 64)
#define QSPARSE_BENCH_TILE_LOOP(name, body)                                                                          \
  __attribute__((target("avx512f,avx512bw,avx512vnni"), noinline)) void tile_loop_##name(                            \
      std::int64_t loops, const std::uint8_t* w, const std::uint8_t* c, const std::uint8_t* a, std::uint8_t* o) {     \
    __asm__ volatile(                                                                                                \
        "vmovdqu64 0(%[w]), %%zmm16\n\t vmovdqu64 64(%[w]), %%zmm17\n\t vmovdqu64 128(%[w]), %%zmm18\n\t"            \
        "vmovdqu64 192(%[w]), %%zmm19\n\t vmovdqu64 256(%[w]), %%zmm20\n\t vmovdqu64 320(%[w]), %%zmm21\n\t"         \
        "vmovdqu64 384(%[w]), %%zmm22\n\t vmovdqu64 448(%[w]), %%zmm23\n\t vmovdqu64 512(%[w]), %%zmm24\n\t"         \
        "vmovdqu64 576(%[w]), %%zmm25\n\t vmovdqu64 640(%[w]), %%zmm26\n\t vmovdqu64 704(%[w]), %%zmm27\n\t"         \
        "vmovdqu64 768(%[w]), %%zmm28\n\t vmovdqu64 832(%[w]), %%zmm29\n\t"                                          \
        "vmovdqu64 0(%[c]), %%zmm30\n\t vmovdqu64 64(%[c]), %%zmm31\n\t vmovdqu64 128(%[c]), %%zmm12\n\t"            \
        "vmovdqu64 192(%[c]), %%zmm13\n\t vmovdqu64 256(%[c]), %%zmm14\n\t vmovdqu64 320(%[c]), %%zmm15\n\t"         \
        QSPARSE_BENCH_PIXELS(0)                                                                                      \
        "1:\n\t" body                                                                                                \
        "sub $1, %[loops]\n\t"                                                                                       \
        "jnz 1b\n\t"                                                                                                 \
        "vzeroupper\n\t"                                                                                             \
        : [loops] "+r"(loops)                                                                                        \
        : [w] "r"(w), [c] "r"(c), [a] "r"(a), [o] "r"(o)                                                             \
        : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10", "xmm11", "xmm12",  \
          "xmm13", "xmm14", "xmm15", "xmm16", "xmm17", "xmm18", "xmm19", "xmm20", "xmm21", "xmm22", "xmm23", "xmm24", \
          "xmm25", "xmm26", "xmm27", "xmm28", "xmm29", "xmm30", "xmm31", "cc", "memory");                            \
  }
QSPARSE_BENCH_TILE_LOOP(macs, QSPARSE_BENCH_INIT QSPARSE_BENCH_MACS)
QSPARSE_BENCH_TILE_LOOP(requantize, QSPARSE_BENCH_INIT QSPARSE_BENCH_MACS QSPARSE_BENCH_REQUANTIZE)
QSPARSE_BENCH_TILE_LOOP(whole_tile,
                        QSPARSE_BENCH_INIT QSPARSE_BENCH_LOADED_MACS QSPARSE_BENCH_REQUANTIZE QSPARSE_BENCH_STORE)
#undef QSPARSE_BENCH_TILE_LOOP
#undef QSPARSE_BENCH_STORE
#undef QSPARSE_BENCH_STORE_PAIR
#undef QSPARSE_BENCH_REQUANTIZE
#undef QSPARSE_BENCH_RQ
#undef QSPARSE_BENCH_LOADED_MACS
#undef QSPARSE_BENCH_MACS
#undef QSPARSE_BENCH_INIT
#undef QSPARSE_BENCH_PIXELS
#undef QSPARSE_BENCH_GROUP
#undef QSPARSE_BENCH_D

struct tile_bound {
  const char* name;
  void (*loop)(std::int64_t, const std::uint8_t*, const std::uint8_t*, const std::uint8_t*, std::uint8_t*);
};
const tile_bound tile_bounds[] = {
    {"macs", tile_loop_macs}, {"requantize", tile_loop_requantize}, {"whole_tile", tile_loop_whole_tile}};

/// GOPS of a tile loop at 2*4*32*27 ops per tile (the K = 27 stem's count).
void bm_tile_bound(benchmark::State& state, tile_bound bound) {
  if (!qsparse::cpu_supports(qsparse::isa_level::avx512_vnni)) {
    state.SkipWithError("this CPU has no AVX-512 VNNI");
    return;
  }
  // Weights, pixels and accumulator inits of small magnitude, a scale of 1/4096 (no denormal, no
  // overflow), the store order of store_word_rows_as_bytes, a zero point of 3.
  aligned_buffer<std::uint8_t> weights(14 * 64), constants(6 * 64), pixels(4 * 32), output(4 * 32);
  for (std::ptrdiff_t i = 0; i < weights.size(); ++i) weights.data()[i] = static_cast<std::uint8_t>((i * 37 + 11) % 251);
  for (std::ptrdiff_t i = 0; i < pixels.size(); ++i) pixels.data()[i] = static_cast<std::uint8_t>((i * 91 + 5) % 255);
  std::uint8_t* c = constants.data();
  std::memset(c, 0, 128);
  const float scale = 1.0f / 4096.0f;
  for (int i = 0; i < 16; ++i) std::memcpy(c + 128 + 4 * i, &scale, 4);
  std::memset(c + 192, 0x80, 64);
  const std::int32_t order[16] = {0, 4, 8, 12, 1, 5, 9, 13, 2, 6, 10, 14, 3, 7, 11, 15};
  std::memcpy(c + 256, order, 64);
  for (int i = 0; i < 32; ++i) {
    const std::int16_t zp = 3;
    std::memcpy(c + 320 + 2 * i, &zp, 2);
  }
  constexpr std::int64_t loops = std::int64_t{1} << 14;
  for (auto _ : state) {
    bound.loop(loops, weights.data(), constants.data(), pixels.data(), output.data());
    benchmark::ClobberMemory();
  }
  const double ops = 2.0 * 4 * 32 * 27 * static_cast<double>(loops);
  set_ops_rate(state, ops);
}

void bm_vnni_peak(benchmark::State& state, int accumulators) {
  if (!qsparse::cpu_supports(qsparse::isa_level::avx512_vnni)) {
    state.SkipWithError("this CPU has no AVX-512 VNNI");
    return;
  }
  constexpr std::int64_t loops = std::int64_t{1} << 16;
  for (auto _ : state) {
    if (accumulators == 12)
      vpdpbusd_loop_12(loops);
    else
      vpdpbusd_loop_24(loops);
  }
  const double ops = 128.0 * static_cast<double>(accumulators) * static_cast<double>(loops);
  set_ops_rate(state, ops);
}

// ---- AMX-INT8 peak -----------------------------------------------------------------------------------

/// Loops of 4 tdpbssd on C tiles 0-3 (A in tiles 4/5, B in 6/7); WithLoads reloads A and B (1 KiB each,
/// stride 64 / 128 as the kernel reads them) from L1 before each 4.
template <bool WithLoads>
QSPARSE_TARGET_AMX_INT8 __attribute__((noinline)) void amx_peak_loop(std::int64_t loops, const std::int8_t* a,
                                                                     const std::int8_t* b) {
  qsparse::kernels::amx_int8::tile_config config{};
  config.palette = 1;
  for (int t = 0; t < 8; ++t) {
    config.rows[t] = 16;
    config.bytes_per_row[t] = 64;
  }
  _tile_loadconfig(&config);
  _tile_zero(0);
  _tile_zero(1);
  _tile_zero(2);
  _tile_zero(3);
  _tile_loadd(4, a, 64);
  _tile_loadd(5, a + 1024, 64);
  _tile_loadd(6, b, 128);
  _tile_loadd(7, b + 64, 128);
  for (std::int64_t i = 0; i < loops; ++i) {
    if constexpr (WithLoads) {
      _tile_loadd(6, b, 128);
      _tile_loadd(7, b + 64, 128);
      _tile_loadd(4, a, 64);
    }
    _tile_dpbssd(0, 4, 6);
    _tile_dpbssd(1, 4, 7);
    if constexpr (WithLoads) _tile_loadd(5, a + 1024, 64);
    _tile_dpbssd(2, 5, 6);
    _tile_dpbssd(3, 5, 7);
  }
  alignas(64) std::int32_t c[256];
  _tile_stored(0, c, 64);
  benchmark::DoNotOptimize(c);
  _tile_release();
}

void bm_amx_peak(benchmark::State& state, bool with_loads) {
  if (!qsparse::cpu_supports(qsparse::isa_level::amx_int8)) {
    state.SkipWithError("this CPU (or OS) has no AMX-INT8");
    return;
  }
  alignas(64) static std::int8_t a[2048], b[2048];
  constexpr std::int64_t loops = std::int64_t{1} << 14;
  for (auto _ : state) {
    if (with_loads)
      amx_peak_loop<true>(loops, a, b);
    else
      amx_peak_loop<false>(loops, a, b);
  }
  set_ops_rate(state, 4.0 * 32768.0 * static_cast<double>(loops));
}

// ---- 256-bit peaks: AVX2 and AVX-VNNI ----------------------------------------------------------------
// VEX registers only (ymm0-15), so the loops run on every AVX2 CPU. vpmaddwd / vpmaddubsw: eight
// independent accumulators ymm0-7 (their chains are one vpaddd each), temporaries ymm8-12, all-ones int16
// in ymm13; vpdpbusd: twelve accumulators ymm0-11 (its latency is 4-5 cycles at two per cycle). Sources
// ymm14/15.

#define QSPARSE_BENCH_MADDWD(i, t) "vpmaddwd %%ymm15, %%ymm14, %%ymm" #t "\n\t vpaddd %%ymm" #t ", %%ymm" #i ", %%ymm" #i "\n\t"
#define QSPARSE_BENCH_MADDUBSW(i, t)                                                              \
  "vpmaddubsw %%ymm15, %%ymm14, %%ymm" #t "\n\t vpmaddwd %%ymm13, %%ymm" #t ", %%ymm" #t "\n\t" \
  "vpaddd %%ymm" #t ", %%ymm" #i ", %%ymm" #i "\n\t"
#define QSPARSE_BENCH_DPBUSD_VEX(i, t) "%{vex%} vpdpbusd %%ymm15, %%ymm14, %%ymm" #i "\n\t"
#define QSPARSE_BENCH_STEPS8(step) step(0, 8) step(1, 9) step(2, 10) step(3, 11) step(4, 12) step(5, 8) step(6, 9) step(7, 10)
#define QSPARSE_BENCH_STEPS12(step) \
  QSPARSE_BENCH_STEPS8(step) step(8, 0) step(9, 0) step(10, 0) step(11, 0)
#define QSPARSE_BENCH_YMM_LOOP(name, target_isa, body)                                                               \
  __attribute__((target(target_isa), noinline)) void ymm_loop_##name(std::int64_t loops) {                           \
    __asm__ volatile("vpxor %%ymm14, %%ymm14, %%ymm14\n\t vpxor %%ymm15, %%ymm15, %%ymm15\n\t"                   \
                     "vpcmpeqw %%ymm13, %%ymm13, %%ymm13\n\t vpsrlw $15, %%ymm13, %%ymm13\n\t"                   \
                     "1:\n\t" body "sub $1, %0\n\t jnz 1b\n\t vzeroupper\n\t"                                \
                     : "+r"(loops)                                                                                   \
                     :                                                                                               \
                     : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "xmm8", "xmm9", "xmm10",      \
                       "xmm11", "xmm12", "xmm13", "xmm14", "xmm15", "cc");                                           \
  }
QSPARSE_BENCH_YMM_LOOP(vpmaddwd, "avx2", QSPARSE_BENCH_STEPS8(QSPARSE_BENCH_MADDWD))
QSPARSE_BENCH_YMM_LOOP(vpmaddubsw, "avx2", QSPARSE_BENCH_STEPS8(QSPARSE_BENCH_MADDUBSW))
QSPARSE_BENCH_YMM_LOOP(vpdpbusd_vex, "avx2,avxvnni", QSPARSE_BENCH_STEPS12(QSPARSE_BENCH_DPBUSD_VEX))
#undef QSPARSE_BENCH_YMM_LOOP
#undef QSPARSE_BENCH_STEPS12
#undef QSPARSE_BENCH_STEPS8
#undef QSPARSE_BENCH_DPBUSD_VEX
#undef QSPARSE_BENCH_MADDUBSW
#undef QSPARSE_BENCH_MADDWD

/// A 256-bit multiply-add loop and the ops (2 per multiply-add, the count of 2*M*N*K) of one of its steps.
struct ymm_peak {
  const char* name;
  void (*loop)(std::int64_t);
  double ops_per_step;
  int steps;  // per loop iteration
  bool vnni;  // needs AVX-VNNI
  const char* what;
};
const ymm_peak ymm_peaks[] = {
    {"vpmaddwd", ymm_loop_vpmaddwd, 32.0, 8, false, "int16 pairs, exact (the AVX2 kernel's instruction)"},
    {"vpmaddubsw", ymm_loop_vpmaddubsw, 64.0, 8, false, "u8 x s8 pairs saturating to int16, + vpmaddwd by 1 (inexact)"},
    {"vpdpbusd_vex", ymm_loop_vpdpbusd_vex, 64.0, 12, true, "AVX-VNNI, exact (the AVX-VNNI kernel's instruction)"},
};

void bm_ymm_peak(benchmark::State& state, ymm_peak peak) {
  if (!qsparse::cpu_supports(qsparse::isa_level::avx2) || (peak.vnni && !qsparse::cpu().avx_vnni)) {
    state.SkipWithError(peak.vnni ? "this CPU has no AVX-VNNI" : "this CPU has no AVX2");
    return;
  }
  constexpr std::int64_t loops = std::int64_t{1} << 16;
  for (auto _ : state) peak.loop(loops);
  set_ops_rate(state, peak.ops_per_step * peak.steps * static_cast<double>(loops));
}

// ---- read bandwidth: benchmarks/support/read_bandwidth.hpp --------------------------------------------

#endif  // QSPARSE_X86

void register_limits() {
#if QSPARSE_X86
  for (int accumulators : {12, 24})
    benchmark::RegisterBenchmark(("BM_vnni_peak/" + std::to_string(accumulators) + "_accumulators").c_str(),
                                 bm_vnni_peak, accumulators);
  for (const vpdpbusd_mix& mix : vpdpbusd_mixes)
    benchmark::RegisterBenchmark((std::string("BM_vnni_peak_with/6_") + mix.instruction + "_per_12").c_str(), bm_vnni_mix,
                                 mix);
  benchmark::RegisterBenchmark("BM_amx_peak/registers", bm_amx_peak, false);
  benchmark::RegisterBenchmark("BM_amx_peak/with_loads", bm_amx_peak, true);
  for (const tile_bound& bound : tile_bounds)
    benchmark::RegisterBenchmark((std::string("BM_k27_tile_bound/") + bound.name).c_str(), bm_tile_bound, bound);
  for (const ymm_peak& peak : ymm_peaks)
    benchmark::RegisterBenchmark((std::string("BM_ymm_peak/") + peak.name).c_str(), bm_ymm_peak, peak);
  for (qsparse::isa_level level : {qsparse::isa_level::avx2, qsparse::isa_level::avx512})
    benchmark::RegisterBenchmark(("BM_read_bandwidth/" + std::string(qsparse::to_string(level))).c_str(),
                                 bm_read_bandwidth, level)
        ->UseRealTime();
#endif
}

// ---- summary -----------------------------------------------------------------------------------------

/// GOPS of `implementation` on shape s with t threads in this run (0 when it did not run).
double gops(const summary_reporter& r, const std::string& implementation, const gemm_shape& s, int t) {
  const measured* m = r.find(gemm_benchmark_name(implementation, s, t));
  return m != nullptr ? m->items_per_second * 1e-9 : 0.0;
}

/// The goals, each a ratio of two results of this run.
void print_goals(const summary_reporter& r, std::FILE* out, double peak, double bandwidth) {
  std::fprintf(out, "\n== qsparse goals (medians of this run, one thread unless stated) ==\n");
  double log_sum = 0;
  int count = 0;
  double worst = 1e30;
  std::string worst_shape;
  for (const gemm_shape& s : all_gemm_shapes()) {
    const double q = gops(r, qsparse_column, s, 1);
    double o = 0;
    for (const char* peer : {"onednn_matmul_u8s8", "onednn_matmul_s8s8"})
      if (inexact_peers().count(peer) == 0) o = std::max(o, gops(r, peer, s, 1));
    if (q <= 0 || o <= 0) continue;
    log_sum += std::log(q / o);
    ++count;
    if (q / o < worst) {
      worst = q / o;
      worst_shape = s.label();
    }
  }
  if (count > 0) {
    std::fprintf(out, "vs oneDNN matmul (best of u8s8/s8s8): geomean %.2fx over %d shapes (goal >= 1.1), lowest %.2fx on %s (goal >= 0.9)\n",
                 std::exp(log_sum / count), count, worst, worst_shape.c_str());
  }
  if (peak > 0) {
    for (const gemm_shape& s : all_gemm_shapes()) {
      const bool big = (s.family == gemm_family::square && s.m >= 1024) || s.family == gemm_family::conv;
      const double q = gops(r, qsparse_column, s, 1);
      if (big && q > 0) std::fprintf(out, "%-26s %5.1f%% of the vnni peak (goal >= 80%%)\n", s.label().c_str(), 100.0 * q / peak);
    }
#if QSPARSE_X86
    std::string bounds;
    char cell[64];
    for (const tile_bound& bound : tile_bounds)
      if (const measured* m = r.find(std::string("BM_k27_tile_bound/") + bound.name)) {
        std::snprintf(cell, sizeof cell, "%s%s %.1f%%", bounds.empty() ? "" : ", ", bound.name,
                      100.0 * m->items_per_second * 1e-9 / peak);
        bounds += cell;
      }
    if (!bounds.empty())
      std::fprintf(out, "K = 27 tile in assembly, data in L1 (of the vnni peak, at 27 of every 28 MACs useful): %s\n",
                   bounds.c_str());
#endif
  }
  if (bandwidth > 0) {
    for (const gemm_shape& s : all_gemm_shapes()) {
      if (s.m != 1) continue;
      const double q = gops(r, qsparse_column, s, 1);
      if (q <= 0) continue;
      // Bytes of packed weights streamed per product (VNNI layout: K padded to 4, N to 32).
      const double bytes = double((s.k + 3) / 4 * 4) * double((s.n + 31) / 32 * 32);
      const double seconds = s.ops() / (q * 1e9);
      std::fprintf(out, "%-26s weights %7.2f MB streamed at %6.2f GB/s = %5.1f%% of read bandwidth%s\n", s.label().c_str(),
                   bytes * 1e-6, bytes / seconds * 1e-9, 100.0 * bytes / seconds * 1e-9 / bandwidth,
                   bytes > 1.25 * 1024 * 1024 ? " (beyond L2: goal >= 80%)" : "");
    }
  }
  for (const gemm_shape& s : all_gemm_shapes()) {
    if (s.m < 64) continue;
    const double q = gops(r, qsparse_column, s, 1);
    const double e = gops(r, "eigen_sgemm", s, 1);
    if (q > 0 && e > 0) std::fprintf(out, "%-26s %5.1fx Eigen fp32 (default flags; goal >= 4x)\n", s.label().c_str(), q / e);
    const double b = gops(r, "openblas_sgemm", s, 1);
    if (q > 0 && b > 0)
      std::fprintf(out, "%-26s %5.1fx OpenBLAS fp32 (runtime-dispatched, the float baseline)\n", s.label().c_str(), q / b);
  }
  std::fprintf(out, "TFLite fixed point / float-scale pipeline (same run, one thread; goal >= 0.95x on every shape):\n");
  int met = 0, measured = 0;
  double fixed_worst = 1e9;
  for (const gemm_shape& s : all_gemm_shapes()) {
    const double q = gops(r, qsparse_column, s, 1);
    const double t = gops(r, "qsparse_gemm_tflite", s, 1), o = gops(r, "qsparse_gemm_tflite_opt", s, 1);
    if (q <= 0 || t <= 0 || o <= 0) continue;
    const double rt = t / q, ro = o / q;
    std::fprintf(out, "%-26s float %7.1f  reference FC %7.1f %5.2fx%s  optimized %7.1f %5.2fx%s\n", s.label().c_str(), q,
                 t, rt, rt >= 0.95 ? " " : "!", o, ro, ro >= 0.95 ? " " : "!");
    measured += 2;
    met += (rt >= 0.95) + (ro >= 0.95);
    fixed_worst = std::min({fixed_worst, rt, ro});
  }
  if (measured > 0)
    std::fprintf(out, "goal: TFLite fixed point >= 0.95x float on every shape (both roundings): %d of %d, worst %.2fx %s\n",
                 met, measured, fixed_worst, met == measured ? "MET" : "NOT MET");
  for (const gemm_shape& s : all_gemm_shapes()) {
    if (!s.two_threads) continue;
    const double one = gops(r, qsparse_column, s, 1);
    const double two = gops(r, qsparse_column, s, 2);
    if (one > 0 && two > 0) std::fprintf(out, "%-26s two threads %.2fx one thread (goal >= 1.8x)\n", s.label().c_str(), two / one);
  }
}

/// The 256-bit kernels (AVX2, AVX-VNNI) against the in-run peaks of their instructions (BM_ymm_peak/*):
/// run with QSPARSE_ISA_CEILING=avx_vnni (or avx512_vnni) so both kernel columns exist in one binary.
void print_ymm_goals(const summary_reporter& r, std::FILE* out) {
#if QSPARSE_X86
  double peaks[3] = {0, 0, 0};
  for (int i = 0; i < 3; ++i)
    if (const measured* m = r.find(std::string("BM_ymm_peak/") + ymm_peaks[i].name)) peaks[i] = m->items_per_second * 1e-9;
  if (peaks[0] <= 0 && peaks[2] <= 0) return;
  const std::string avx2_kernel = qsparse::kernels::avx2::gemm_x8s8_s32_4x16c2::name();
  const std::string vnni_kernel = qsparse::kernels::avx_vnni::gemm_u8s8_s32_6x32c4::name();
  bool any_kernel = false;
  for (const gemm_shape& s : all_gemm_shapes())
    any_kernel = any_kernel || gops(r, avx2_kernel, s, 1) > 0 || gops(r, vnni_kernel, s, 1) > 0;
  std::fprintf(out, "\n== 256-bit kernels (AVX2, AVX-VNNI) against the in-run 256-bit peaks, one thread ==\n");
  for (int i = 0; i < 3; ++i)
    if (peaks[i] > 0) std::fprintf(out, "ymm peak %-13s %7.1f GOPS  %s\n", ymm_peaks[i].name, peaks[i], ymm_peaks[i].what);
  if (!any_kernel) {
    std::fprintf(out, "(no AVX2 / AVX-VNNI kernel row ran: QSPARSE_ISA_CEILING=avx_vnni and a filter that keeps them)\n");
    return;
  }
  std::fprintf(out, "%-26s %9s %8s %8s %9s %8s %9s\n", "shape", "avx2", "/maddwd", "/maddubs", "avx_vnni", "/dpbusd",
               "vnni/avx2");
  int avx2_met = 0, avx2_big = 0, vnni_met = 0, vnni_big = 0;
  for (const gemm_shape& s : all_gemm_shapes()) {
    const double a = gops(r, avx2_kernel, s, 1), v = gops(r, vnni_kernel, s, 1);
    if (a <= 0 && v <= 0) continue;
    const bool big = (s.family == gemm_family::square && s.m >= 1024) || s.family == gemm_family::conv;
    char c[5][16];
    std::snprintf(c[0], 16, "%s", "-");
    std::snprintf(c[1], 16, "%s", "-");
    std::snprintf(c[2], 16, "%s", "-");
    std::snprintf(c[3], 16, "%s", "-");
    std::snprintf(c[4], 16, "%s", "-");
    if (a > 0 && peaks[0] > 0) std::snprintf(c[0], 16, "%.0f%%", 100.0 * a / peaks[0]);
    if (a > 0 && peaks[1] > 0) std::snprintf(c[1], 16, "%.0f%%", 100.0 * a / peaks[1]);
    if (v > 0 && peaks[2] > 0) std::snprintf(c[2], 16, "%.0f%%", 100.0 * v / peaks[2]);
    if (a > 0 && v > 0) std::snprintf(c[3], 16, "%.2fx", v / a);
    std::fprintf(out, "%-26s %9.1f %8s %8s %9.1f %8s %9s%s\n", s.label().c_str(), a, c[0], c[1], v, c[2], c[3],
                 big ? "  (large)" : "");
    if (big && a > 0 && peaks[0] > 0) {
      ++avx2_big;
      avx2_met += a >= 0.8 * peaks[0];
    }
    if (big && v > 0 && peaks[2] > 0) {
      ++vnni_big;
      vnni_met += v >= 0.8 * peaks[2];
    }
  }
  if (avx2_big > 0)
    std::fprintf(out, "goal: AVX2 kernel >= 80%% of the vpmaddwd peak on large shapes: %d of %d %s "
                 "(an exact kernel reaches at most %.0f%% of the inexact vpmaddubsw peak: the two loops' ratio)\n",
                 avx2_met, avx2_big, avx2_met == avx2_big ? "MET" : "NOT MET",
                 peaks[1] > 0 ? 100.0 * peaks[0] / peaks[1] : 0.0);
  if (vnni_big > 0)
    std::fprintf(out, "goal: AVX-VNNI kernel >= 80%% of the 256-bit vpdpbusd peak on large shapes: %d of %d %s\n",
                 vnni_met, vnni_big, vnni_met == vnni_big ? "MET" : "NOT MET");
#else
  (void)r;
  (void)out;
#endif
}

int width(const peer_column& c) { return std::max(10, static_cast<int>(c.implementation.size())); }

void print_summary(const summary_reporter& r, std::FILE* out) {
  char cell[64];
  double peak = 0;
  for (int accumulators : {12, 24})
    if (const measured* m = r.find("BM_vnni_peak/" + std::to_string(accumulators) + "_accumulators"))
      peak = std::max(peak, m->items_per_second * 1e-9);
  double bandwidth = 0;
  for (const char* isa : {"avx2", "avx512"})
    if (const measured* m = r.find(std::string("BM_read_bandwidth/") + isa))
      bandwidth = std::max(bandwidth, m->read_bytes_per_second * 1e-9);

  std::fprintf(out, "\n== qsparse and peers, median GOPS of this run ==\n");
  if (peak > 0) std::fprintf(out, "vnni peak (one core): %.1f GOPS\n", peak);
#if QSPARSE_X86
  if (peak > 0) {
    std::string mixes;
    for (const vpdpbusd_mix& mix : vpdpbusd_mixes)
      if (const measured* m = r.find(std::string("BM_vnni_peak_with/6_") + mix.instruction + "_per_12")) {
        std::snprintf(cell, sizeof cell, "%s%s %.0f%%", mixes.empty() ? "" : ", ", mix.instruction,
                      100.0 * m->items_per_second * 1e-9 / peak);
        mixes += cell;
      }
    if (!mixes.empty()) std::fprintf(out, "vpdpbusd rate with 6 other instructions per 12 (of the peak): %s\n", mixes.c_str());
  }
#endif
  if (bandwidth > 0) std::fprintf(out, "read bandwidth (one core): %.2f GB/s\n", bandwidth);
  std::vector<std::string> rows;
  for (const gemm_shape& s : all_gemm_shapes())
    for (int t : gemm_thread_counts(s)) {
      std::snprintf(cell, sizeof cell, "%-26s %3d", s.label().c_str(), t);
      std::string row = cell;
      double best_int8 = 0;
      bool found = false;
      for (const peer_column& c : peer_columns()) {
        const measured* m = r.find(gemm_benchmark_name(c.implementation, s, t));
        if (m != nullptr && m->items_per_second > 0) {
          found = true;
          std::snprintf(cell, sizeof cell, " %*.1f", width(c), m->items_per_second * 1e-9);
          if (c.int8 && inexact_peers().count(c.implementation) == 0)
            best_int8 = std::max(best_int8, m->items_per_second * 1e-9);
        } else {
          std::snprintf(cell, sizeof cell, " %*s", width(c), "-");
        }
        row += cell;
      }
      if (!found) continue;
      if (peak > 0 && best_int8 > 0) {
        std::snprintf(cell, sizeof cell, " %10.0f%%", 100.0 * best_int8 / (peak * t));
        row += cell;
      }
      rows.push_back(row);
    }
  const bool any = !rows.empty();
  if (any) {
    std::fprintf(out, "%-26s %3s", "shape", "t");
    for (const peer_column& c : peer_columns()) std::fprintf(out, " %*s", width(c), c.implementation.c_str());
    if (peak > 0) std::fprintf(out, " %11s", "best/peak");
    std::fprintf(out, "\n");
    for (const auto& [name, lsb] : inexact_peers())
      std::fprintf(out, "(column %s is INEXACT: up to %d LSB from the reference; timed, not counted as best)\n",
                   name.c_str(), lsb);
    for (const std::string& row : rows) std::fprintf(out, "%s\n", row.c_str());
  }
  if (!any) std::fprintf(out, "(no peer GEMM ran: check --benchmark_filter, or no peer was found at configure time)\n");
  print_goals(r, out, peak, bandwidth);
  print_ymm_goals(r, out);
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
  // Our own flag: remove it before Google Benchmark sees the arguments.
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
    std::fprintf(stderr, "gemm_benchmark: a GEMM does not compute the documented result; not benchmarking\n");
    return 1;
  }
  qsparse_bench::register_qsparse();
  qsparse_bench::register_peers();
  qsparse_bench::register_limits();
  // The summary goes to stdout after the console table, or to stderr when stdout carries JSON/CSV.
  qsparse_bench::summary_reporter reporter(qsparse_bench::make_display_reporter(format), qsparse_bench::print_summary,
                                           text);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
