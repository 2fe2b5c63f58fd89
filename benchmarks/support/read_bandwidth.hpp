// benchmarks/support/read_bandwidth.hpp — BM_read_bandwidth/<isa>: the in-run read-bandwidth limit the GEMM
// benchmarks quote beside their numbers (sum of a 256 MiB buffer into 8 independent vector accumulators).
#pragma once

#include <benchmark/benchmark.h>

#include <cstddef>
#include <cstdint>
#include <cstring>

#include "qsparse/core/config.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "support/benchmark_support.hpp"

#if QSPARSE_X86
namespace qsparse_bench {

// In assembly: with intrinsics GCC 12 adds a register copy per accumulator per iteration (objdump -d),
// whether the accumulators are an array or eight variables. Here each 512 (AVX-512) or 256 (AVX2) bytes are
// eight load+add into eight independent accumulators, then the loop counter. Returns lane 0 of their sum.
__attribute__((target("avx512f"), noinline)) inline std::int32_t sum_avx512(const std::uint8_t* data,
                                                                          std::ptrdiff_t bytes) {
  const std::uint8_t* end = data + bytes;
  std::int32_t lane0 = 0;
  __asm__ volatile(
      "vpxord %%zmm0, %%zmm0, %%zmm0\n\t"
      "vmovdqa64 %%zmm0, %%zmm1\n\t"
      "vmovdqa64 %%zmm0, %%zmm2\n\t"
      "vmovdqa64 %%zmm0, %%zmm3\n\t"
      "vmovdqa64 %%zmm0, %%zmm4\n\t"
      "vmovdqa64 %%zmm0, %%zmm5\n\t"
      "vmovdqa64 %%zmm0, %%zmm6\n\t"
      "vmovdqa64 %%zmm0, %%zmm7\n\t"
      "1:\n\t"
      "vpaddd (%[p]), %%zmm0, %%zmm0\n\t"
      "vpaddd 64(%[p]), %%zmm1, %%zmm1\n\t"
      "vpaddd 128(%[p]), %%zmm2, %%zmm2\n\t"
      "vpaddd 192(%[p]), %%zmm3, %%zmm3\n\t"
      "vpaddd 256(%[p]), %%zmm4, %%zmm4\n\t"
      "vpaddd 320(%[p]), %%zmm5, %%zmm5\n\t"
      "vpaddd 384(%[p]), %%zmm6, %%zmm6\n\t"
      "vpaddd 448(%[p]), %%zmm7, %%zmm7\n\t"
      "add $512, %[p]\n\t"
      "cmp %[end], %[p]\n\t"
      "jb 1b\n\t"
      "vpaddd %%zmm1, %%zmm0, %%zmm0\n\t"
      "vpaddd %%zmm3, %%zmm2, %%zmm2\n\t"
      "vpaddd %%zmm5, %%zmm4, %%zmm4\n\t"
      "vpaddd %%zmm7, %%zmm6, %%zmm6\n\t"
      "vpaddd %%zmm2, %%zmm0, %%zmm0\n\t"
      "vpaddd %%zmm6, %%zmm4, %%zmm4\n\t"
      "vpaddd %%zmm4, %%zmm0, %%zmm0\n\t"
      "vmovd %%xmm0, %[lane0]\n\t"
      "vzeroupper\n\t"
      : [p] "+r"(data), [lane0] "=r"(lane0)
      : [end] "r"(end)
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "cc", "memory");
  return lane0;
}

__attribute__((target("avx2"), noinline)) inline std::int32_t sum_avx2(const std::uint8_t* data,
                                                                      std::ptrdiff_t bytes) {
  const std::uint8_t* end = data + bytes;
  std::int32_t lane0 = 0;
  __asm__ volatile(
      "vpxor %%ymm0, %%ymm0, %%ymm0\n\t"
      "vmovdqa %%ymm0, %%ymm1\n\t"
      "vmovdqa %%ymm0, %%ymm2\n\t"
      "vmovdqa %%ymm0, %%ymm3\n\t"
      "vmovdqa %%ymm0, %%ymm4\n\t"
      "vmovdqa %%ymm0, %%ymm5\n\t"
      "vmovdqa %%ymm0, %%ymm6\n\t"
      "vmovdqa %%ymm0, %%ymm7\n\t"
      "1:\n\t"
      "vpaddd (%[p]), %%ymm0, %%ymm0\n\t"
      "vpaddd 32(%[p]), %%ymm1, %%ymm1\n\t"
      "vpaddd 64(%[p]), %%ymm2, %%ymm2\n\t"
      "vpaddd 96(%[p]), %%ymm3, %%ymm3\n\t"
      "vpaddd 128(%[p]), %%ymm4, %%ymm4\n\t"
      "vpaddd 160(%[p]), %%ymm5, %%ymm5\n\t"
      "vpaddd 192(%[p]), %%ymm6, %%ymm6\n\t"
      "vpaddd 224(%[p]), %%ymm7, %%ymm7\n\t"
      "add $256, %[p]\n\t"
      "cmp %[end], %[p]\n\t"
      "jb 1b\n\t"
      "vpaddd %%ymm1, %%ymm0, %%ymm0\n\t"
      "vpaddd %%ymm3, %%ymm2, %%ymm2\n\t"
      "vpaddd %%ymm5, %%ymm4, %%ymm4\n\t"
      "vpaddd %%ymm7, %%ymm6, %%ymm6\n\t"
      "vpaddd %%ymm2, %%ymm0, %%ymm0\n\t"
      "vpaddd %%ymm6, %%ymm4, %%ymm4\n\t"
      "vpaddd %%ymm4, %%ymm0, %%ymm0\n\t"
      "vmovd %%xmm0, %[lane0]\n\t"
      "vzeroupper\n\t"
      : [p] "+r"(data), [lane0] "=r"(lane0)
      : [end] "r"(end)
      : "xmm0", "xmm1", "xmm2", "xmm3", "xmm4", "xmm5", "xmm6", "xmm7", "cc", "memory");
  return lane0;
}

inline void bm_read_bandwidth(benchmark::State& state, qsparse::isa_level level) {
  if (!qsparse::cpu_supports(level)) {
    state.SkipWithError("this CPU lacks the ISA");
    return;
  }
  constexpr std::ptrdiff_t bytes = std::ptrdiff_t{256} << 20;
  aligned_buffer<std::uint8_t> buffer(bytes);
  std::memset(buffer.data(), 1, static_cast<std::size_t>(bytes));
  for (auto _ : state) {
    std::int32_t sum = level == qsparse::isa_level::avx2 ? sum_avx2(buffer.data(), bytes)
                                                         : sum_avx512(buffer.data(), bytes);
    benchmark::DoNotOptimize(sum);
  }
  const double total = static_cast<double>(state.iterations()) * static_cast<double>(bytes);
  state.counters["GBps"] = benchmark::Counter(total * 1e-9, benchmark::Counter::kIsRate);
  state.counters["read_bytes"] =
      benchmark::Counter(total, benchmark::Counter::kIsRate, benchmark::Counter::OneK::kIs1000);
}

}  // namespace qsparse_bench
#endif  // QSPARSE_X86
