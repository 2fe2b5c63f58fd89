// benchmarks/support/benchmark_support.hpp — what every qsparse benchmark binary shares.
//
//   aligned_buffer<T>            64-byte-aligned heap array, touched (filled) before any timing
//   fill_gaussian(x, n, seed)    fast N(0, 1)-shaped values (Irwin–Hall sum of four uniforms, |x| < 3.47)
//   set_rate_counters(state, n, in_bytes, out_bytes)
//                                counters read_bytes (input bytes/s, base 1000), rw_bytes (input + output
//                                bytes/s) and items_per_second
//   with_default_flags(argc, argv, defaults)
//                                argv with `defaults` inserted after argv[0] (later flags override them)
//   add_build_context()          adds "qsparse_build: optimised, NDEBUG" (or what this binary is instead) to
//                                the context every run prints; call it after benchmark::Initialize
//   summary_reporter             forwards to the console (or JSON/CSV) reporter and remembers each
//                                benchmark's counters — the median aggregate when repetitions ran, else the
//                                median of its runs — so main can print goal ratios at Finalize().
//
// Benchmarks are timed only by Google Benchmark; the summary only divides numbers it reported.
#pragma once

#include <benchmark/benchmark.h>

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <cstring>
#include <functional>
#include <map>
#include <memory>
#include <new>
#include <string>
#include <unistd.h>
#include <utility>
#include <vector>

namespace qsparse_bench {

// ---- memory ------------------------------------------------------------------------------------------

struct free_deleter {
  void operator()(void* p) const noexcept { std::free(p); }
};

/// A 64-byte-aligned array of n trivially copyable T (contents unspecified until filled).
template <class T>
class aligned_buffer {
 public:
  aligned_buffer() = default;
  explicit aligned_buffer(std::ptrdiff_t n) : size_(n) {
    const std::size_t bytes = (static_cast<std::size_t>(n) * sizeof(T) + 63u) / 64u * 64u;
    data_.reset(static_cast<T*>(std::aligned_alloc(64, bytes == 0 ? 64 : bytes)));
    if (!data_) throw std::bad_alloc();
  }
  T* data() const noexcept { return data_.get(); }
  std::ptrdiff_t size() const noexcept { return size_; }
  explicit operator bool() const noexcept { return data_ != nullptr; }

 private:
  std::unique_ptr<T, free_deleter> data_;
  std::ptrdiff_t size_ = 0;
};

/// Values shaped like N(0, 1): (u1 + u2 + u3 + u4 - 2) * sqrt(3) with uniform u's from splitmix64.
inline void fill_gaussian(float* x, std::ptrdiff_t n, std::uint64_t seed) {
  std::uint64_t state = seed;
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    state += 0x9E3779B97F4A7C15ull;
    std::uint64_t z = state;
    z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
    z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
    z ^= z >> 31;
    const auto u = [z](int k) { return static_cast<float>((z >> (16 * k)) & 0xFFFFu) * (1.0f / 65536.0f); };
    x[i] = (u(0) + u(1) + u(2) + u(3) - 2.0f) * 1.7320508f;
  }
}

// ---- counters ----------------------------------------------------------------------------------------

/// Sets read_bytes (input bytes per second), rw_bytes (input + output) and items_per_second for `n`
/// elements per iteration.
inline void set_rate_counters(benchmark::State& state, std::ptrdiff_t n, std::size_t in_bytes_per_item,
                              std::size_t out_bytes_per_item) {
  const double items = static_cast<double>(state.iterations()) * static_cast<double>(n);
  state.counters["read_bytes"] = benchmark::Counter(items * static_cast<double>(in_bytes_per_item),
                                                    benchmark::Counter::kIsRate, benchmark::Counter::OneK::kIs1000);
  state.counters["rw_bytes"] =
      benchmark::Counter(items * static_cast<double>(in_bytes_per_item + out_bytes_per_item),
                         benchmark::Counter::kIsRate, benchmark::Counter::OneK::kIs1000);
  state.SetItemsProcessed(static_cast<std::int64_t>(state.iterations()) * static_cast<std::int64_t>(n));
}

// ---- build ---------------------------------------------------------------------------------------------

/// How this binary was compiled. Google Benchmark's "***WARNING*** Library was built as DEBUG" speaks of
/// the libbenchmark it links, not of this code: Debian's 1.7.1 is compiled without NDEBUG and prints it
/// for every program, -O3 -DNDEBUG ones included. This line is the one that says whether our timed code
/// was optimised; the test command's benchmark smoke fails without it.
inline const char* build_kind() {
#if defined(__OPTIMIZE__) && defined(NDEBUG)
  return "optimised, NDEBUG";
#elif defined(__OPTIMIZE__)
  return "optimised, assertions on (not a Release build)";
#else
  return "UNOPTIMISED (not a Release build)";
#endif
}

inline void add_build_context() { benchmark::AddCustomContext("qsparse_build", build_kind()); }

// ---- command line ------------------------------------------------------------------------------------

/// argv with each of `defaults` inserted after argv[0] unless a flag with the same name is present.
class with_default_flags {
 public:
  with_default_flags(int argc, char** argv, const std::vector<std::string>& defaults) {
    storage_.reserve(static_cast<std::size_t>(argc) + defaults.size());
    if (argc > 0) storage_.emplace_back(argv[0]);
    for (const std::string& d : defaults) {
      const std::string name = d.substr(0, d.find('='));
      bool given = false;
      for (int i = 1; i < argc; ++i) given = given || std::strncmp(argv[i], name.c_str(), name.size()) == 0;
      if (!given) storage_.push_back(d);
    }
    for (int i = 1; i < argc; ++i) storage_.emplace_back(argv[i]);
    for (std::string& s : storage_) pointers_.push_back(s.data());
    pointers_.push_back(nullptr);
    argc_ = static_cast<int>(storage_.size());
  }
  int* argc() { return &argc_; }
  char** argv() { return pointers_.data(); }
  /// The value of --name=value (the last one), or "" when absent.
  std::string value_of(const std::string& name) const {
    std::string result;
    const std::string prefix = name + "=";
    for (const std::string& s : storage_)
      if (s.compare(0, prefix.size(), prefix) == 0) result = s.substr(prefix.size());
    return result;
  }

 private:
  std::vector<std::string> storage_;
  std::vector<char*> pointers_;
  int argc_ = 0;
};

// ---- reporting ---------------------------------------------------------------------------------------

/// The counters of one benchmark as the summary sees them (seconds-based rates, already divided).
struct measured {
  double read_bytes_per_second = 0;
  double items_per_second = 0;
};

/// Forwards everything to `inner` and remembers each benchmark's median counters.
class summary_reporter : public benchmark::BenchmarkReporter {
 public:
  using summary_function = std::function<void(const summary_reporter&, std::FILE*)>;

  summary_reporter(std::unique_ptr<benchmark::BenchmarkReporter> inner, summary_function summary, std::FILE* out)
      : inner_(std::move(inner)), summary_(std::move(summary)), out_(out) {}

  bool ReportContext(const Context& context) override { return inner_->ReportContext(context); }

  void ReportRuns(const std::vector<Run>& runs) override {
    for (const Run& run : runs) {
      if (run.error_occurred) continue;
      const std::string& name = run.run_name.function_name;
      const measured m{counter(run, "read_bytes"), counter(run, "items_per_second")};
      if (run.run_type == Run::RT_Aggregate) {
        if (run.aggregate_name == "median") medians_[name] = m;
      } else {
        samples_[name].push_back(m);
      }
    }
    inner_->ReportRuns(runs);
  }

  void Finalize() override {
    inner_->Finalize();
    std::fflush(stdout);
    if (summary_) summary_(*this, out_);
  }

  /// The median counters of benchmark `name` (its registered name), or nullptr if it did not run.
  const measured* find(const std::string& name) const {
    if (auto it = medians_.find(name); it != medians_.end()) return &it->second;
    auto it = samples_.find(name);
    if (it == samples_.end() || it->second.empty()) return nullptr;
    std::vector<measured> v = it->second;
    std::sort(v.begin(), v.end(),
              [](const measured& a, const measured& b) { return a.items_per_second < b.items_per_second; });
    cache_[name] = v[v.size() / 2];
    return &cache_[name];
  }

  /// Every benchmark name that produced a result, in name order.
  std::vector<std::string> names() const {
    std::vector<std::string> result;
    for (const auto& kv : medians_) result.push_back(kv.first);
    for (const auto& kv : samples_)
      if (medians_.count(kv.first) == 0) result.push_back(kv.first);
    std::sort(result.begin(), result.end());
    return result;
  }

 private:
  static double counter(const Run& run, const char* key) {
    auto it = run.counters.find(key);
    return it == run.counters.end() ? 0.0 : it->second.value;
  }

  std::unique_ptr<benchmark::BenchmarkReporter> inner_;
  summary_function summary_;
  std::FILE* out_;
  std::map<std::string, measured> medians_;
  std::map<std::string, std::vector<measured>> samples_;
  mutable std::map<std::string, measured> cache_;
};

/// The display reporter --benchmark_format asks for (console by default, tabular counters, colour on a tty).
inline std::unique_ptr<benchmark::BenchmarkReporter> make_display_reporter(const std::string& format) {
  if (format == "json") return std::make_unique<benchmark::JSONReporter>();
#if defined(__GNUC__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wdeprecated-declarations"
#endif
  if (format == "csv") return std::make_unique<benchmark::CSVReporter>();
#if defined(__GNUC__)
#pragma GCC diagnostic pop
#endif
  const bool color = ::isatty(STDOUT_FILENO) != 0;
  return std::make_unique<benchmark::ConsoleReporter>(
      color ? benchmark::ConsoleReporter::OO_ColorTabular : benchmark::ConsoleReporter::OO_Tabular);
}

}  // namespace qsparse_bench
