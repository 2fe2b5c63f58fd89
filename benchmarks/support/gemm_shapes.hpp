// benchmarks/support/gemm_shapes.hpp — the GEMM shapes every GEMM benchmark runs, and its GOPS counter.
//
// One list, shared by qsparse's own GEMM benchmarks and the peers (support/gemm_peers.hpp), so every
// ratio compares the same (M, K, N) measured in the same run. C[M, N] = A[M, K] * B[K, N].
//
//   square           M = K = N in {256, 512, 1024, 2048}
//   fully_connected  M (batch) in {1, 8, 64} x (K, N) in {(784, 256), (256, 128), (1024, 1024), (4096, 4096)}
//   conv             convolutions as GEMMs (M = output pixels, K = kh*kw*cin, N = cout):
//                    (3136, 576, 64)    ResNet-50 conv2_x 3x3, 56x56x64
//                    (784, 1152, 128)   conv3_x 3x3, 28x28x128
//                    (196, 2304, 256)   conv4_x 3x3, 14x14x256
//                    (12544, 27, 32)    MobileNet stem 3x3x3 -> 32, 112x112
//   transformer      MiniLM-L6 (BERT, hidden 384, FFN 1536) at one sentence of 128 tokens: M = 128 and
//                    (K, N) in {(384, 1152) QKV, (384, 384) attention output, (384, 1536) FFN up,
//                    (1536, 384) FFN down}
//
// Every shape runs on one thread; the shapes with `two_threads` set (the big squares, 1024 and 2048)
// also run on two. Benchmark names follow
//   BM_<implementation>/<label>/<t>_thread[s]     e.g. BM_onednn_matmul_u8s8/square_1024/1_thread
// with label() below, so a filter such as --benchmark_filter=square_1024 lines every implementation up
// (not Google Benchmark's own /threads:<t> suffix: that one means t benchmark threads).
//
//   set_gops_counter(state, shape)   counter GOPS = 2*M*N*K per iteration / time / 1e9
//   run_queue_probe                  counter runq_wait: the share of the run's thread-time that this
//                                    process's threads spent runnable but waiting for a CPU (Linux
//                                    schedstat). Near 0 on a quiet machine; a two-thread result with a
//                                    large runq_wait shared its cores with another process: discard it.
#pragma once

#include <benchmark/benchmark.h>

#include <chrono>
#include <cstdint>
#include <cstdio>
#include <string>
#include <vector>

#if defined(__linux__)
#include <dirent.h>
#endif

namespace qsparse_bench {

enum class gemm_family { square, fully_connected, conv, transformer };

struct gemm_shape {
  gemm_family family;
  std::int64_t m;
  std::int64_t k;
  std::int64_t n;
  bool two_threads;  // also benchmark this shape with two threads

  /// Multiply-adds times two: the operation count GOPS is based on.
  double ops() const noexcept { return 2.0 * static_cast<double>(m) * static_cast<double>(k) * static_cast<double>(n); }

  /// square_1024, fc_M8_K784_N256, conv_M3136_K576_N64, minilm_M128_K384_N1152.
  std::string label() const {
    switch (family) {
      case gemm_family::square:
        return "square_" + std::to_string(m);
      case gemm_family::fully_connected:
        return "fc_M" + std::to_string(m) + "_K" + std::to_string(k) + "_N" + std::to_string(n);
      case gemm_family::conv:
        break;
      case gemm_family::transformer:
        return "minilm_M" + std::to_string(m) + "_K" + std::to_string(k) + "_N" + std::to_string(n);
    }
    return "conv_M" + std::to_string(m) + "_K" + std::to_string(k) + "_N" + std::to_string(n);
  }
};

inline std::vector<gemm_shape> square_shapes() {
  std::vector<gemm_shape> result;
  for (std::int64_t s : {256, 512, 1024, 2048}) result.push_back({gemm_family::square, s, s, s, s >= 1024});
  return result;
}

inline std::vector<gemm_shape> fully_connected_shapes() {
  struct kn {
    std::int64_t k, n;
  };
  std::vector<gemm_shape> result;
  for (std::int64_t m : {1, 8, 64})
    for (kn s : {kn{784, 256}, kn{256, 128}, kn{1024, 1024}, kn{4096, 4096}})
      result.push_back({gemm_family::fully_connected, m, s.k, s.n, false});
  return result;
}

inline std::vector<gemm_shape> conv_shapes() {
  return {{gemm_family::conv, 3136, 576, 64, false},
          {gemm_family::conv, 784, 1152, 128, false},
          {gemm_family::conv, 196, 2304, 256, false},
          {gemm_family::conv, 12544, 27, 32, false}};
}

inline std::vector<gemm_shape> transformer_shapes() {
  return {{gemm_family::transformer, 128, 384, 1152, false},
          {gemm_family::transformer, 128, 384, 384, false},
          {gemm_family::transformer, 128, 384, 1536, false},
          {gemm_family::transformer, 128, 1536, 384, false}};
}

/// Every shape, squares first, then fully connected, conv and transformer.
inline std::vector<gemm_shape> all_gemm_shapes() {
  std::vector<gemm_shape> result = square_shapes();
  for (const gemm_shape& s : fully_connected_shapes()) result.push_back(s);
  for (const gemm_shape& s : conv_shapes()) result.push_back(s);
  for (const gemm_shape& s : transformer_shapes()) result.push_back(s);
  return result;
}

/// The thread counts a shape runs with: {1}, or {1, 2} for the shapes marked two_threads.
inline std::vector<int> gemm_thread_counts(const gemm_shape& s) {
  return s.two_threads ? std::vector<int>{1, 2} : std::vector<int>{1};
}

/// BM_<implementation>/<label>/1_thread, or .../<t>_threads
inline std::string gemm_benchmark_name(const std::string& implementation, const gemm_shape& s, int threads) {
  return "BM_" + implementation + "/" + s.label() + "/" + std::to_string(threads) +
         (threads == 1 ? "_thread" : "_threads");
}

/// GOPS: 2*M*N*K operations per iteration, as a rate in units of 1e9 per second.
inline void set_gops_counter(benchmark::State& state, const gemm_shape& s) {
  state.counters["GOPS"] = benchmark::Counter(static_cast<double>(state.iterations()) * s.ops() * 1e-9,
                                              benchmark::Counter::kIsRate);
}

/// Nanoseconds the threads of this process have spent waiting on a run queue (0 where unknown):
/// the sum of field 2 of /proc/self/task/*/schedstat.
inline std::uint64_t run_queue_wait_ns() {
  std::uint64_t total = 0;
#if defined(__linux__)
  DIR* tasks = ::opendir("/proc/self/task");
  if (tasks == nullptr) return 0;
  while (const dirent* entry = ::readdir(tasks)) {
    if (entry->d_name[0] == '.') continue;
    const std::string path = std::string("/proc/self/task/") + entry->d_name + "/schedstat";
    if (std::FILE* f = std::fopen(path.c_str(), "r")) {
      unsigned long long run = 0, wait = 0;
      if (std::fscanf(f, "%llu %llu", &run, &wait) == 2) total += wait;
      std::fclose(f);
    }
  }
  ::closedir(tasks);
#endif
  return total;
}

/// Construct before the timed loop, call finish(state, threads) after it (both outside the timing).
class run_queue_probe {
 public:
  run_queue_probe() : wait_(run_queue_wait_ns()), start_(std::chrono::steady_clock::now()) {}
  void finish(benchmark::State& state, int threads) const {
    const double wait = static_cast<double>(run_queue_wait_ns() - wait_) * 1e-9;
    const double elapsed = std::chrono::duration<double>(std::chrono::steady_clock::now() - start_).count();
    state.counters["runq_wait"] = elapsed > 0 ? wait / (elapsed * threads) : 0.0;
  }

 private:
  std::uint64_t wait_;
  std::chrono::steady_clock::time_point start_;
};

}  // namespace qsparse_bench
