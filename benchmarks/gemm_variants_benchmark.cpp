// benchmarks/gemm_variants_benchmark.cpp — the GEMM variants beside the int8 GEMM, on fully-connected
// shapes: M (batch) in {1, 8, 64} x (K, N) in {(1024, 1024), (4096, 4096)}, one thread.
//
//   BM_qsparse_gemm_s8/<shape>/1_thread     int8 x int8 (qsparse::gemm, best ISA): int8 activations with a
//                                           zero point, int32 bias, TFLite per-channel fixed-point
//                                           requantization, int8 output
//   BM_qsparse_gemm_16x8/<shape>/1_thread   int16 x int8 (qsparse::gemm_16x8, best ISA): int64 bias, the
//                                           int64 per-channel requantization, int16 output (TFLite 16x8)
//   BM_qsparse_gemm_f16/<shape>/1_thread    float x float16 (qsparse::gemm_f16, best ISA): float bias,
//                                           float output
//   BM_<kernel name>/<shape>/1_thread       each 16x8 and float16 kernel this CPU runs below the best ISA
//                                           (the scalar kernels on M = 1 only: they are slow by design)
// Counters: GOPS = 2*M*N*K per iteration / time / 1e9; weights_GBps = packed weight bytes read per
// iteration / time (base 1000; M = 1 is bound by it); runq_wait as in support/gemm_shapes.hpp. The label
// names the kernel that ran.
//
// Default --benchmark_min_time is 0.2 s; a smoke run is --benchmark_filter=M1_K1024 --benchmark_min_time=0.001.
#include <cstdint>
#include <cstring>
#include <exception>
#include <random>
#include <string>
#include <vector>

#include "qsparse/core/context.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/gemm_16x8.hpp"
#include "qsparse/gemm/gemm_f16.hpp"
#include "qsparse/quant/fixed_point.hpp"
#include "support/benchmark_support.hpp"
#include "support/gemm_shapes.hpp"

namespace qsparse_bench {

enum class variant { s8, s16x8, f16 };

std::vector<gemm_shape> variant_shapes() {
  std::vector<gemm_shape> result;
  for (std::int64_t m : {1, 8, 64}) {
    for (std::int64_t kn : {1024, 4096}) result.push_back({gemm_family::fully_connected, m, kn, kn, false});
  }
  return result;
}

/// One problem of a variant: data, packed weights and epilogue parameters, built outside the timing.
class variant_problem {
 public:
  variant_problem(variant v, const gemm_shape& s, qsparse::isa_level isa) : v_(v), s_(s) {
    std::mt19937 rng(1234);
    std::uniform_int_distribution<int> w8(-127, 127);
    std::vector<std::int8_t> w(static_cast<std::size_t>(s.k * s.n));
    for (auto& x : w) x = static_cast<std::int8_t>(w8(rng));
    const auto w_view = qsparse::make_view(w.data(), s.k, s.n);
    for (std::int64_t n = 0; n < s.n; ++n) {
      const qsparse::quantized_multiplier q = qsparse::quantize_multiplier(0.001 + 0.0001 * static_cast<double>(n % 7));
      multipliers_.push_back(q.multiplier);
      shifts_.push_back(q.shift);
      bias32_.push_back(static_cast<std::int32_t>(n * 3 - 100));
      bias64_.push_back(n * 1000 - 300000);
      bias_float_.push_back(0.01f * static_cast<float>(n % 13));
    }
    switch (v) {
      case variant::s8: {
        a8_.resize(static_cast<std::size_t>(s.m * s.k));
        for (auto& x : a8_) x = static_cast<std::int8_t>(w8(rng));
        out8_.resize(static_cast<std::size_t>(s.m * s.n));
        packed8_ = qsparse::pack_weights(w_view, 0, isa);
        weight_bytes_ = static_cast<double>(packed8_.size_bytes());
        kernel_ = qsparse::selected_kernel_name(packed8_.view());
        break;
      }
      case variant::s16x8: {
        std::uniform_int_distribution<int> a16(-32768, 32767);
        a16_.resize(static_cast<std::size_t>(s.m * s.k));
        for (auto& x : a16_) x = static_cast<std::int16_t>(a16(rng));
        out16_.resize(static_cast<std::size_t>(s.m * s.n));
        packed16x8_ = qsparse::pack_weights_16x8(w_view, isa);
        weight_bytes_ = static_cast<double>(packed16x8_.size_bytes());
        kernel_ = qsparse::selected_kernel_name(packed16x8_.view());
        break;
      }
      case variant::f16: {
        std::vector<float> wf(w.size());
        fill_gaussian(wf.data(), static_cast<std::ptrdiff_t>(wf.size()), 7);
        af_.resize(static_cast<std::size_t>(s.m * s.k));
        fill_gaussian(af_.data(), static_cast<std::ptrdiff_t>(af_.size()), 9);
        outf_.resize(static_cast<std::size_t>(s.m * s.n));
        packedf16_ = qsparse::pack_weights_f16(qsparse::make_view(wf.data(), s.k, s.n), isa);
        weight_bytes_ = static_cast<double>(packedf16_.size_bytes());
        kernel_ = qsparse::selected_kernel_name(packedf16_.view());
        break;
      }
    }
  }

  void run() {
    switch (v_) {
      case variant::s8:
        qsparse::gemm(ctx_, qsparse::quantized(qsparse::make_view(a8_.data(), s_.m, s_.k), -3), packed8_.view(),
                      qsparse::make_view(out8_.data(), s_.m, s_.n),
                      qsparse::pipeline(qsparse::bias_add{bias32_.data()},
                                        qsparse::requantize_fixed_point_per_channel<qsparse::double_rounding>{
                                            multipliers_.data(), shifts_.data()},
                                        qsparse::add_zero_point{5}, qsparse::saturating_cast<std::int8_t>{}));
        return;
      case variant::s16x8:
        qsparse::gemm_16x8(ctx_, qsparse::make_view(a16_.data(), s_.m, s_.k), packed16x8_.view(),
                           qsparse::make_view(out16_.data(), s_.m, s_.n),
                           qsparse::pipeline(qsparse::bias_add_int64{bias64_.data()},
                                             qsparse::requantize_fixed_point_int64_per_channel{multipliers_.data(),
                                                                                              shifts_.data()},
                                             qsparse::saturating_cast<std::int16_t>{}));
        return;
      case variant::f16:
        qsparse::gemm_f16(ctx_, qsparse::make_view(af_.data(), s_.m, s_.k), packedf16_.view(),
                          qsparse::make_view(outf_.data(), s_.m, s_.n),
                          qsparse::pipeline(qsparse::bias_add_float{bias_float_.data()}));
        return;
    }
  }

  const char* kernel() const noexcept { return kernel_; }
  double weight_bytes() const noexcept { return weight_bytes_; }

 private:
  variant v_;
  gemm_shape s_;
  qsparse::context ctx_;
  std::vector<std::int32_t> multipliers_;
  std::vector<int> shifts_;
  std::vector<std::int32_t> bias32_;
  std::vector<std::int64_t> bias64_;
  std::vector<float> bias_float_;
  std::vector<std::int8_t> a8_, out8_;
  std::vector<std::int16_t> a16_, out16_;
  std::vector<float> af_, outf_;
  qsparse::packed_weights packed8_;
  qsparse::packed_weights_16x8 packed16x8_;
  qsparse::packed_weights_f16 packedf16_;
  double weight_bytes_ = 0;
  const char* kernel_ = "";
};

void bm_variant(benchmark::State& state, variant v, gemm_shape shape, qsparse::isa_level isa) {
  double weight_bytes = 0;
  try {
    variant_problem p(v, shape, isa);
    p.run();  // warm: first touch of the output and scratch
    const run_queue_probe probe;
    for (auto _ : state) {
      p.run();
      benchmark::ClobberMemory();
    }
    probe.finish(state, 1);
    state.SetLabel(p.kernel());
    weight_bytes = p.weight_bytes();
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  set_gops_counter(state, shape);
  state.counters["weights_GBps"] =
      benchmark::Counter(static_cast<double>(state.iterations()) * weight_bytes * 1e-9, benchmark::Counter::kIsRate);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(shape.ops()));
}

void register_variants() {
  const qsparse::isa_level best = qsparse::best_isa();
  const auto add = [](const std::string& name, variant v, const gemm_shape& s, qsparse::isa_level isa) {
    benchmark::RegisterBenchmark(gemm_benchmark_name(name, s, 1).c_str(), bm_variant, v, s, isa)->UseRealTime();
  };
  for (const gemm_shape& s : variant_shapes()) {
    add("qsparse_gemm_s8", variant::s8, s, best);
    add("qsparse_gemm_16x8", variant::s16x8, s, best);
    add("qsparse_gemm_f16", variant::f16, s, best);
  }
  const std::vector<qsparse::isa_level> supported = qsparse::supported_isas();
  for (auto it = supported.rbegin(); it != supported.rend(); ++it) {
    const qsparse::isa_level isa = *it;
    if (isa == best || !qsparse::isa_runs(best, isa)) continue;
    for (const gemm_shape& s : variant_shapes()) {
      if (isa == qsparse::isa_level::scalar && s.m > 1) continue;
      add(qsparse::gemm_16x8_kernel_name(isa), variant::s16x8, s, isa);
      // avx512_vnni and avx512 share the float16 kernel: list it once.
      if (!(isa == qsparse::isa_level::avx512 && qsparse::isa_runs(best, qsparse::isa_level::avx512_vnni))) {
        add(qsparse::gemm_f16_kernel_name(isa), variant::f16, s, isa);
      }
    }
  }
}

}  // namespace qsparse_bench

int main(int argc, char** argv) {
  qsparse_bench::with_default_flags args(argc, argv, {"--benchmark_min_time=0.2"});
  benchmark::Initialize(args.argc(), args.argv());
  qsparse_bench::add_build_context();
  if (benchmark::ReportUnrecognizedArguments(*args.argc(), args.argv())) return 1;
  qsparse_bench::register_variants();
  benchmark::RunSpecifiedBenchmarks();
  benchmark::Shutdown();
  return 0;
}
