// benchmarks/sparse_gemm_benchmark.cpp — qsparse's sparse int8 GEMM beside the library's dense int8 gemm(),
// on the fully-connected shapes of the GEMM issue, in one binary, so every speed-up is a ratio of one run.
//
//   BM_dense_gemm/<shape>                     qsparse::gemm (best ISA) on the masked weights
//   BM_sparse_<format>/<shape>/s<percent>     qsparse::sparse_gemm, weights pruned to <percent> % in the
//                                             format's structure: block_4x16 / block_4x32 at 50, 70, 80,
//                                             90, 95 % of their 4 x NB blocks zero; two_of_four at 50 %
// Both compute the same int8 output (bias, per-channel float requantization, zero point; the output of
// benchmarks/gemm_benchmark.cpp) from the same masked weights; before timing, each sparse result is
// checked equal, byte for byte, to the dense one.
// Counter GOPS = 2*M*N*K (dense-equivalent operations) per iteration / time / 1e9, so the speed-up over
// dense is the ratio of GOPS; label = the kernel that ran.
//
// At the end a summary prints, from the medians of this run: per shape and format the speed-up over
// dense at each sparsity, the bytes ratio (dense packed int8 bytes / stored sparse bytes — what a
// matrix-vector product streams), the break-even sparsity per format (linear between measured points),
// and the goals.
//
// Default --benchmark_min_time is 0.1 s; key numbers: --benchmark_repetitions=3
// --benchmark_report_aggregates_only=true (the summary uses medians). Smoke run: --benchmark_min_time=0.001.
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstring>
#include <exception>
#include <map>
#include <random>
#include <string>
#include <vector>

#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/sparse_gemm.hpp"
#include "support/benchmark_support.hpp"
#include "support/gemm_peers.hpp"
#include "support/gemm_shapes.hpp"

namespace qsparse_bench {

struct sparse_case {
  std::string column;  // block_4x16 ... or "dense"
  qsparse::sparse_format format;
  int percent;  // sparsity in percent (0 for dense)
};

const int block_sparsities[] = {50, 70, 80, 90, 95};
const qsparse::sparse_format block_formats[] = {qsparse::sparse_format::block_4x16, qsparse::sparse_format::block_4x32};

/// The problem's weights pruned to `percent` % in `format`'s structure (deterministic).
std::vector<std::int8_t> pruned_weights(const gemm_problem& p, qsparse::sparse_format format, int percent) {
  std::vector<std::int8_t> w = p.b;
  for (auto& x : w) x = x == 0 ? std::int8_t{1} : x;  // every kept weight nonzero: sparsity is exact
  std::mt19937 rng(static_cast<std::uint32_t>(p.k * 31 + p.n * 7 + percent));
  if (format == qsparse::sparse_format::two_of_four) {
    for (std::int64_t c = 0; c < p.n; ++c)
      for (std::int64_t g = 0; g * 4 < p.k; ++g) {
        int slots[4] = {0, 1, 2, 3};
        std::shuffle(slots, slots + 4, rng);
        for (int i = 2; i < 4; ++i)
          if (g * 4 + slots[i] < p.k) w[static_cast<std::size_t>((g * 4 + slots[i]) * p.n + c)] = 0;
      }
    return w;
  }
  const std::int64_t nb = qsparse::panel_width(format);
  const std::int64_t groups = (p.k + 3) / 4, panels = (p.n + nb - 1) / nb;
  std::vector<std::int64_t> order(static_cast<std::size_t>(groups * panels));
  for (std::size_t i = 0; i < order.size(); ++i) order[i] = static_cast<std::int64_t>(i);
  std::shuffle(order.begin(), order.end(), rng);
  const auto pruned = static_cast<std::size_t>(std::llround(static_cast<double>(order.size()) * percent / 100.0));
  for (std::size_t i = 0; i < pruned; ++i) {
    const std::int64_t pnl = order[i] / groups, g = order[i] % groups;
    for (std::int64_t kk = g * 4; kk < std::min(p.k, g * 4 + 4); ++kk)
      for (std::int64_t c = pnl * nb; c < std::min(p.n, pnl * nb + nb); ++c) w[static_cast<std::size_t>(kk * p.n + c)] = 0;
  }
  return w;
}

/// Dense or sparse GEMM on one problem, weights packed and pipeline parameters built once.
class fc_layer {
 public:
  fc_layer(const gemm_shape& s, const sparse_case& c)
      : p_(gemm_problem::make(s.m, s.k, s.n)), scales_(p_.per_channel_multipliers()), c_(static_cast<std::size_t>(s.m * s.n)) {
    const qsparse::sparse_format pruning = c.percent == 0 ? qsparse::sparse_format::block_4x16 : c.format;
    w_ = c.percent == 0 ? p_.b : pruned_weights(p_, pruning, c.percent);
    const auto w = qsparse::make_view(w_.data(), p_.k, p_.n);
    if (c.percent == 0) {
      dense_ = qsparse::pack_weights(w, 0);
    } else {
      sparse_ = qsparse::pack_sparse_weights(w, c.format);
    }
  }
  bool dense() const { return sparse_.view().empty(); }
  void run() {
    const auto a = qsparse::quantized(qsparse::make_view(p_.a.data(), p_.m, p_.k), p_.a_zero_point);
    const auto c = qsparse::make_view(c_.data(), p_.m, p_.n);
    const auto pipeline = qsparse::pipeline(qsparse::bias_add{p_.bias.data()},
                                            qsparse::requantize_float_per_channel{scales_.data()},
                                            qsparse::add_zero_point{p_.c_zero_point}, qsparse::saturating_cast<std::int8_t>{});
    if (dense()) {
      qsparse::gemm(ctx_, a, dense_, c, pipeline);
    } else {
      qsparse::sparse_gemm(ctx_, a, sparse_, c, pipeline);
    }
  }
  /// The dense gemm on the same masked weights (the check's expected output).
  std::vector<std::int8_t> dense_output() {
    std::vector<std::int8_t> expected(c_.size());
    qsparse::gemm(ctx_, qsparse::quantized(qsparse::make_view(p_.a.data(), p_.m, p_.k), p_.a_zero_point),
                  qsparse::pack_weights(qsparse::make_view(w_.data(), p_.k, p_.n), 0),
                  qsparse::make_view(expected.data(), p_.m, p_.n),
                  qsparse::pipeline(qsparse::bias_add{p_.bias.data()}, qsparse::requantize_float_per_channel{scales_.data()},
                                    qsparse::add_zero_point{p_.c_zero_point}, qsparse::saturating_cast<std::int8_t>{}));
    return expected;
  }
  const std::vector<std::int8_t>& output() const { return c_; }
  const char* kernel() const {
    return dense() ? qsparse::selected_kernel_name(dense_.view()) : qsparse::selected_kernel_name(sparse_.view());
  }
  /// Bytes one pass over the weights reads: the dense VNNI layout (K padded to 4, N to 32) or the stored sparse bytes.
  double weight_bytes() const {
    return dense() ? double((p_.k + 3) / 4 * 4) * double((p_.n + 31) / 32 * 32)
                   : static_cast<double>(sparse_.view().stored_weight_bytes());
  }

 private:
  gemm_problem p_;
  std::vector<float> scales_;
  std::vector<std::int8_t> c_;
  std::vector<std::int8_t> w_;
  qsparse::context ctx_;
  qsparse::packed_weights dense_;
  qsparse::packed_sparse_weights sparse_;
};

std::string bench_name(const sparse_case& c, const gemm_shape& s) {
  if (c.percent == 0) return "BM_dense_gemm/" + s.label();
  return "BM_sparse_" + c.column + "/" + s.label() + "/s" + std::to_string(c.percent);
}

std::map<std::string, double>& bytes_of() {
  static std::map<std::string, double> bytes;
  return bytes;
}

void bm_fc(benchmark::State& state, gemm_shape shape, sparse_case c) {
  try {
    fc_layer layer(shape, c);
    layer.run();
    if (!layer.dense() && layer.output() != layer.dense_output()) {
      state.SkipWithError("sparse_gemm differs from the dense gemm on the same weights");
      return;
    }
    bytes_of()[bench_name(c, shape)] = layer.weight_bytes();
    const run_queue_probe probe;
    for (auto _ : state) {
      layer.run();
      benchmark::ClobberMemory();
    }
    probe.finish(state, 1);
    state.SetLabel(layer.kernel());
  } catch (const std::exception& e) {
    state.SkipWithError(e.what());
    return;
  }
  set_gops_counter(state, shape);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(shape.ops()));
}

std::vector<sparse_case> all_cases() {
  std::vector<sparse_case> cases{{"dense", qsparse::sparse_format::block_4x16, 0}};
  for (qsparse::sparse_format f : block_formats)
    for (int s : block_sparsities) cases.push_back({qsparse::to_string(f), f, s});
  cases.push_back({"two_of_four", qsparse::sparse_format::two_of_four, 50});
  return cases;
}

void register_all() {
  for (const gemm_shape& s : fully_connected_shapes())
    for (const sparse_case& c : all_cases())
      benchmark::RegisterBenchmark(bench_name(c, s).c_str(), bm_fc, s, c)->UseRealTime();
}

// ---- summary -----------------------------------------------------------------------------------------

double ips(const summary_reporter& r, const std::string& name) {
  const measured* m = r.find(name);
  return m != nullptr ? m->items_per_second : 0.0;
}

/// The sparsity where the speed-up curve (percent → speed-up) first reaches 1, linear between points;
/// returns -1 when it is above 1 everywhere measured, 101 when it never reaches 1.
double break_even(const std::vector<std::pair<int, double>>& curve) {
  if (curve.empty()) return 101;
  if (curve.front().second >= 1.0) return -1;
  for (std::size_t i = 1; i < curve.size(); ++i) {
    const auto [s0, v0] = curve[i - 1];
    const auto [s1, v1] = curve[i];
    if (v1 >= 1.0) return s0 + (1.0 - v0) / (v1 - v0) * (s1 - s0);
  }
  return 101;
}

std::string break_even_text(double b) {
  char cell[32];
  if (b < 0) return "< 50%";
  if (b > 100) return "> 95%";
  std::snprintf(cell, sizeof cell, "%.0f%%", b);
  return cell;
}

void print_summary(const summary_reporter& r, std::FILE* out) {
  std::fprintf(out, "\n== sparse vs dense int8 GEMM (one thread, medians of this run) ==\n");
  std::fprintf(out, "speed-up = dense time / sparse time; bytes = dense packed bytes / stored sparse bytes\n");
  std::fprintf(out, "%-22s %-12s %9s", "shape", "format", "dense GOPS");
  for (int s : block_sparsities) std::fprintf(out, "   s%-2d x  bytes", s);
  std::fprintf(out, "  break-even\n");
  // Per format: all (shape, speed-up at each sparsity) for the aggregates.
  std::map<std::string, std::map<int, std::vector<double>>> by_format;
  std::map<std::string, std::map<int, std::map<std::int64_t, std::vector<double>>>> by_format_m;
  std::vector<std::string> formats;
  for (qsparse::sparse_format f : block_formats) formats.push_back(qsparse::to_string(f));
  formats.push_back("two_of_four");
  bool any = false;
  for (const gemm_shape& s : fully_connected_shapes()) {
    const std::string dense_name = bench_name({"dense", qsparse::sparse_format::block_4x16, 0}, s);
    const double dense = ips(r, dense_name);
    if (dense <= 0) continue;
    for (const std::string& f : formats) {
      std::vector<std::pair<int, double>> curve;
      std::string row;
      char cell[64];
      bool found = false;
      for (int percent : block_sparsities) {
        const sparse_case c{f, qsparse::sparse_format::block_4x16, percent};
        const double sparse = ips(r, bench_name(c, s));
        if (sparse <= 0) {
          std::snprintf(cell, sizeof cell, " %8s %6s", "-", "");
        } else {
          found = true;
          const double speedup = sparse / dense;
          const double bytes = bytes_of()[dense_name] / bytes_of()[bench_name(c, s)];
          curve.push_back({percent, speedup});
          by_format[f][percent].push_back(speedup);
          by_format_m[f][percent][s.m].push_back(speedup);
          std::snprintf(cell, sizeof cell, " %7.2fx %5.2fx", speedup, bytes);
        }
        row += cell;
      }
      if (!found) continue;
      any = true;
      std::fprintf(out, "%-22s %-12s %9.1f%s  %s\n", s.label().c_str(), f.c_str(), dense * 1e-9, row.c_str(),
                   f == "two_of_four" ? "(50% only)" : break_even_text(break_even(curve)).c_str());
    }
  }
  if (!any) {
    std::fprintf(out, "(no result: check --benchmark_filter; the dense rows are needed)\n");
    return;
  }
  const auto geomean = [](const std::vector<double>& v) {
    double sum = 0;
    for (double x : v) sum += std::log(x);
    return v.empty() ? 0.0 : std::exp(sum / static_cast<double>(v.size()));
  };
  const auto lowest = [](const std::vector<double>& v) { return v.empty() ? 0.0 : *std::min_element(v.begin(), v.end()); };
  std::fprintf(out, "\nper format over the %zu fully-connected shapes: geomean speed-up (lowest)\n",
               fully_connected_shapes().size());
  for (const std::string& f : formats) {
    std::vector<std::pair<int, double>> curve;
    std::string row;
    char cell[64];
    for (int percent : block_sparsities) {
      const auto& v = by_format[f][percent];
      if (v.empty()) continue;
      curve.push_back({percent, geomean(v)});
      std::snprintf(cell, sizeof cell, "  s%d %.2fx (%.2fx)", percent, geomean(v), lowest(v));
      row += cell;
    }
    if (row.empty()) continue;
    std::fprintf(out, "%-12s%s  break-even (geomean) %s\n", f.c_str(), row.c_str(),
                 f == "two_of_four" ? "n/a (2:4 is 50% by construction)" : break_even_text(break_even(curve)).c_str());
  }
  std::fprintf(out, "\n== goals ==\n");
  for (int percent : {90, 80}) {
    const double goal = percent == 90 ? 3.0 : 1.8;
    std::string best;
    double best_geo = 0;
    for (const std::string& f : {std::string("block_4x16"), std::string("block_4x32")}) {
      const double g = geomean(by_format[f][percent]);
      if (g > best_geo) {
        best_geo = g;
        best = f;
      }
    }
    if (best.empty()) continue;
    std::fprintf(out, "best block format at %d%%: %s, geomean %.2fx, lowest %.2fx (goal >= %.1fx)\n", percent,
                 best.c_str(), best_geo, lowest(by_format[best][percent]), goal);
    for (std::int64_t m : {1, 8, 64})
      std::fprintf(out, "    M = %-2lld geomean %.2fx lowest %.2fx\n", static_cast<long long>(m),
                   geomean(by_format_m[best][percent][m]), lowest(by_format_m[best][percent][m]));
  }
  for (std::int64_t m : {1, 8}) {
    const auto& v = by_format_m["two_of_four"][50][m];
    if (!v.empty())
      std::fprintf(out, "two_of_four at M = %lld: geomean %.2fx, lowest %.2fx (goal >= 1.3x)\n", static_cast<long long>(m),
                   geomean(v), lowest(v));
  }
  std::fprintf(out, "M = 1: speed-up / bytes ratio (1.00 = the speed-up tracks the bytes saved)\n");
  for (const gemm_shape& s : fully_connected_shapes()) {
    if (s.m != 1) continue;
    const std::string dense_name = bench_name({"dense", qsparse::sparse_format::block_4x16, 0}, s);
    const double dense = ips(r, dense_name);
    if (dense <= 0) continue;
    std::string row;
    char cell[64];
    for (const sparse_case& c : all_cases()) {
      if (c.percent == 0 || (c.percent != 90 && c.percent != 50)) continue;
      const double sparse = ips(r, bench_name(c, s));
      if (sparse <= 0) continue;
      const double bytes = bytes_of()[dense_name] / bytes_of()[bench_name(c, s)];
      std::snprintf(cell, sizeof cell, "  %s/s%d %.2f", c.column.c_str(), c.percent, (sparse / dense) / bytes);
      row += cell;
    }
    std::fprintf(out, "%-22s%s\n", s.label().c_str(), row.c_str());
  }
}

}  // namespace qsparse_bench

int main(int argc, char** argv) {
  qsparse_bench::with_default_flags args(argc, argv, {"--benchmark_min_time=0.1"});
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
