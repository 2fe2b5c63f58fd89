// benchmarks/quantize_benchmark.cpp — element-wise quantization ops against plain loops, in one binary.
//
// Sizes: L2   = 64 Ki elements (256 KiB of float; fits this machine's 1.25 MiB L2 with its output),
//        DRAM = 128 Mi elements (512 MiB of float, ten times a 48 MiB L3).
// Baselines (compiled with the binary's own flags, no -march):
//   BM_read_loop/<isa>/<size>            sum of the input floats: scalar (one dependent add per element),
//                                        avx2 / avx512 / neon (four independent vector accumulators) — the
//                                        machine's read bandwidth, the reference of the DRAM goal
//   BM_read_write_loop/<isa>/<size>      read float, truncate, store int8: the memory traffic of an int8
//                                        quantize with none of its arithmetic
//   BM_scalar_round_loop/<type>/<size>   q[i] = clamp(std::round(x[i] / scale) + zp) — what a user writes
// qsparse (every ISA level this CPU runs with distinct element-wise kernels: scalar, avx2, avx512 or
// scalar, neon; avx512_vnni runs the avx512 kernels for these ops, the dot-product levels the neon ones):
//   BM_quantize/<scheme>/<isa>/<size>    schemes: tflite_int8, torch_quint8, tflite_int16 (per tensor),
//   BM_dequantize/<scheme>/<isa>/<size>    tflite_int8_weight_axis0 ([C, K], per channel along the outer
//                                          axis) and tflite_int8_weight_axis1 ([R, C], channels innermost)
//   BM_to_float16/<isa>/<size>, BM_to_float32/<isa>/<size>
//   BM_requantize/<in>_to_<out>/<isa>/<size>   tflite_int8_to_int8, tflite_int16_to_int8,
//                                        tflite_int8_weight_axis0_to_int8 (TFLite fixed-point rule, SIMD
//                                        kernels) and torch_quint8_to_quint8 (PyTorch rule, scalar loop only)
// Counters: read_bytes = input bytes/s, rw_bytes = input + output bytes/s (base 1000), items_per_second.
// At the end a summary prints the two goal ratios from the medians of this run:
//   DRAM: quantize read_bytes / best plain read loop read_bytes  (goal >= 0.80)
//   L2:   quantize items/s   / plain scalar std::round loop       (goal >= 4)
//
// Default --benchmark_min_time is 0.2 s (the whole binary runs in about a minute); a smoke run is
//   quantize_benchmark --benchmark_filter=L2 --benchmark_min_time=0.001
// Key numbers: --benchmark_repetitions=3 --benchmark_report_aggregates_only=true (the summary uses medians).
#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstdio>
#include <initializer_list>
#include <limits>
#include <map>
#include <memory>
#include <string>
#include <type_traits>
#include <vector>

#include "qsparse/core/config.hpp"
#include "qsparse/core/float16.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/quant/choose_params.hpp"
#include "qsparse/quant/float16.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/quantize.hpp"
#include "qsparse/quant/requantize.hpp"
#include "qsparse/quant/scheme.hpp"
#include "support/benchmark_support.hpp"
#include "support/elementwise_levels.hpp"

#if QSPARSE_X86
#include <immintrin.h>
#elif QSPARSE_AARCH64
#include <arm_neon.h>
#endif

namespace qsparse_bench {

using qsparse::isa_level;

// ---- sizes and data ----------------------------------------------------------------------------------

enum class size_class { l2, dram };

inline const char* size_name(size_class s) { return s == size_class::l2 ? "L2" : "DRAM"; }
inline std::ptrdiff_t elements(size_class s) {
  return s == size_class::l2 ? std::ptrdiff_t{64} * 1024 : std::ptrdiff_t{128} * 1024 * 1024;
}

// The observed range of the input (|x| < 2 sqrt(3) by construction): every scheme is calibrated on it,
// so the quantized values span the storage range.
constexpr float input_bound = 3.4641016f;

template <class Scheme>
qsparse::per_tensor_params tensor_params() {
  return qsparse::choose_params<Scheme>(-input_bound, input_bound);
}

/// Per-channel scales around the calibrated one (1.00 .. 1.35 of it), zero points 0 (symmetric).
struct channel_params {
  std::vector<float> scale;
  std::vector<std::int32_t> zero_point;
  explicit channel_params(std::ptrdiff_t channels)
      : scale(static_cast<std::size_t>(channels)), zero_point(static_cast<std::size_t>(channels), 0) {
    for (std::ptrdiff_t c = 0; c < channels; ++c)
      scale[static_cast<std::size_t>(c)] = input_bound / 127.0f * (1.0f + 0.05f * static_cast<float>(c % 8));
  }
  qsparse::per_channel_params view(std::size_t axis) const {
    return {scale.data(), zero_point.data(), static_cast<std::ptrdiff_t>(scale.size()), axis};
  }
};

/// Buffers of one size class, allocated and filled on first use (a full DRAM run holds about 2 GiB; an
/// L2-only run never allocates it).
class data_store {
 public:
  static data_store& get(size_class s) {
    static data_store l2(elements(size_class::l2)), dram(elements(size_class::dram));
    return s == size_class::l2 ? l2 : dram;
  }

  std::ptrdiff_t size() const { return n_; }

  /// Gaussian-shaped floats, |x| < input_bound.
  const float* input() {
    if (!input_) {
      input_ = aligned_buffer<float>(n_);
      fill_gaussian(input_.data(), n_, 0x5EED5EEDull);
    }
    return input_.data();
  }

  /// Scratch floats (written by dequantize and to_float32).
  float* float_output() { return touched(float_output_); }

  /// int8 / uint8 / int16 holding the input quantized with tflite_int8, torch_quint8, tflite_int16.
  std::int8_t* int8() { return quantized<qsparse::tflite_int8_activation>(int8_); }
  std::uint8_t* uint8() { return quantized<qsparse::torch_quint8>(uint8_); }
  std::int16_t* int16() { return quantized<qsparse::tflite_int16_activation>(int16_); }

  /// Scratch int8 / uint8 / int16 (written by requantize; its input stays intact).
  template <class T>
  T* scratch() {
    if constexpr (std::is_same_v<T, std::int8_t>) {
      return touched(int8_out_);
    } else if constexpr (std::is_same_v<T, std::uint8_t>) {
      return touched(uint8_out_);
    } else {
      static_assert(std::is_same_v<T, std::int16_t>, "data_store::scratch: int8, uint8 or int16");
      return touched(int16_out_);
    }
  }

  /// The input rounded to float16.
  qsparse::float16* half() {
    if (!half_) {
      half_ = aligned_buffer<qsparse::float16>(n_);
      qsparse::to_float16(input(), half_.data(), n_);
    }
    return half_.data();
  }

 private:
  explicit data_store(std::ptrdiff_t n) : n_(n) {}

  template <class T>
  T* touched(aligned_buffer<T>& b) {
    if (!b) {
      b = aligned_buffer<T>(n_);
      std::fill(b.data(), b.data() + n_, T{});
    }
    return b.data();
  }

  template <class Scheme, class T>
  T* quantized(aligned_buffer<T>& b) {
    if (!b) {
      b = aligned_buffer<T>(n_);
      qsparse::quantize<Scheme>(qsparse::make_view(input(), n_), qsparse::make_view(b.data(), n_),
                                tensor_params<Scheme>());
    }
    return b.data();
  }

  std::ptrdiff_t n_;
  aligned_buffer<float> input_, float_output_;
  aligned_buffer<std::int8_t> int8_, int8_out_;
  aligned_buffer<std::uint8_t> uint8_, uint8_out_;
  aligned_buffer<std::int16_t> int16_, int16_out_;
  aligned_buffer<qsparse::float16> half_;
};

template <class T>
T* quantized_buffer(data_store& d);
template <>
std::int8_t* quantized_buffer<std::int8_t>(data_store& d) { return d.int8(); }
template <>
std::uint8_t* quantized_buffer<std::uint8_t>(data_store& d) { return d.uint8(); }
template <>
std::int16_t* quantized_buffer<std::int16_t>(data_store& d) { return d.int16(); }

// ---- baselines ---------------------------------------------------------------------------------------

/// The plain quantize loop a user writes; compiled with the binary's flags (with no -march, std::round
/// is a call to roundf and nothing vectorises — that is the baseline).
template <class T>
__attribute__((noinline)) void scalar_round_loop(const float* x, T* q, std::ptrdiff_t n, float scale,
                                                 std::int32_t zero_point) {
  constexpr float qmin = static_cast<float>(std::numeric_limits<T>::min());
  constexpr float qmax = static_cast<float>(std::numeric_limits<T>::max());
  for (std::ptrdiff_t i = 0; i < n; ++i) {
    const float r = std::round(x[i] / scale) + static_cast<float>(zero_point);
    q[i] = static_cast<T>(std::min(std::max(r, qmin), qmax));
  }
}

#if QSPARSE_X86
// GCC 12's intrinsics headers initialise "undefined" vectors from themselves (__m512i __Y = __Y).
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic push
#pragma GCC diagnostic ignored "-Wmaybe-uninitialized"
#pragma GCC diagnostic ignored "-Wuninitialized"
#endif
namespace avx2 {

/// float -> int32 (truncating) -> int8 with saturation, 32 per step: quantize's traffic without its math.
QSPARSE_TARGET_AVX2 inline void read_write(const float* x, std::int8_t* q, std::ptrdiff_t n) {
  std::ptrdiff_t i = 0;
  const __m256i order = _mm256_setr_epi32(0, 4, 1, 5, 2, 6, 3, 7);
  for (; i + 32 <= n; i += 32) {
    const __m256i a = _mm256_cvttps_epi32(_mm256_loadu_ps(x + i));
    const __m256i b = _mm256_cvttps_epi32(_mm256_loadu_ps(x + i + 8));
    const __m256i c = _mm256_cvttps_epi32(_mm256_loadu_ps(x + i + 16));
    const __m256i d = _mm256_cvttps_epi32(_mm256_loadu_ps(x + i + 24));
    const __m256i bytes = _mm256_packs_epi16(_mm256_packs_epi32(a, b), _mm256_packs_epi32(c, d));
    _mm256_storeu_si256(reinterpret_cast<__m256i*>(q + i), _mm256_permutevar8x32_epi32(bytes, order));
  }
  for (; i < n; ++i) q[i] = static_cast<std::int8_t>(static_cast<int>(x[i]));
}

}  // namespace avx2

namespace avx512 {

/// float -> int32 (truncating) -> int8 (vpmovdb), 64 per step: quantize's traffic without its math.
QSPARSE_TARGET_AVX512 inline void read_write(const float* x, std::int8_t* q, std::ptrdiff_t n) {
  std::ptrdiff_t i = 0;
  for (; i + 64 <= n; i += 64) {
    for (int k = 0; k < 4; ++k) {
      const __m128i b = _mm512_cvtepi32_epi8(_mm512_cvttps_epi32(_mm512_loadu_ps(x + i + 16 * k)));
      _mm_storeu_si128(reinterpret_cast<__m128i*>(q + i + 16 * k), b);
    }
  }
  for (; i < n; ++i) q[i] = static_cast<std::int8_t>(static_cast<int>(x[i]));
}

}  // namespace avx512
#if defined(__GNUC__) && !defined(__clang__)
#pragma GCC diagnostic pop
#endif
#endif  // QSPARSE_X86

#if QSPARSE_AARCH64
namespace neon {

/// float -> int32 (truncating) -> int8 with saturation, 16 per step: quantize's traffic without its math.
inline void read_write(const float* x, std::int8_t* q, std::ptrdiff_t n) {
  std::ptrdiff_t i = 0;
  for (; i + 16 <= n; i += 16) {
    const int16x8_t lo = vcombine_s16(vqmovn_s32(vcvtq_s32_f32(vld1q_f32(x + i))),
                                      vqmovn_s32(vcvtq_s32_f32(vld1q_f32(x + i + 4))));
    const int16x8_t hi = vcombine_s16(vqmovn_s32(vcvtq_s32_f32(vld1q_f32(x + i + 8))),
                                      vqmovn_s32(vcvtq_s32_f32(vld1q_f32(x + i + 12))));
    vst1q_s8(q + i, vcombine_s8(vqmovn_s16(lo), vqmovn_s16(hi)));
  }
  for (; i < n; ++i) q[i] = static_cast<std::int8_t>(static_cast<int>(x[i]));
}

}  // namespace neon
#endif  // QSPARSE_AARCH64

void read_write(isa_level level, const float* x, std::int8_t* q, std::ptrdiff_t n) {
#if QSPARSE_X86
  if (isa_runs(level, isa_level::avx512)) return avx512::read_write(x, q, n);
  if (isa_runs(level, isa_level::avx2)) return avx2::read_write(x, q, n);
#elif QSPARSE_AARCH64
  if (isa_runs(level, isa_level::neon)) return neon::read_write(x, q, n);
#endif
  (void)level;
  for (std::ptrdiff_t i = 0; i < n; ++i) q[i] = static_cast<std::int8_t>(static_cast<int>(x[i]));
}

// ---- benchmark bodies --------------------------------------------------------------------------------

void bm_read_loop(benchmark::State& state, isa_level level, size_class s) {
  data_store& d = data_store::get(s);
  const float* x = d.input();
  const std::ptrdiff_t n = d.size();
  for (auto _ : state) {
    float sum = read_sum(level, x, n);
    benchmark::DoNotOptimize(sum);
  }
  set_rate_counters(state, n, sizeof(float), 0);
}

void bm_read_write_loop(benchmark::State& state, isa_level level, size_class s) {
  data_store& d = data_store::get(s);
  const float* x = d.input();
  std::int8_t* q = d.int8();
  const std::ptrdiff_t n = d.size();
  for (auto _ : state) {
    read_write(level, x, q, n);
    benchmark::ClobberMemory();
  }
  set_rate_counters(state, n, sizeof(float), sizeof(std::int8_t));
}

template <class T>
void bm_scalar_round_loop(benchmark::State& state, size_class s) {
  using scheme = std::conditional_t<std::is_same_v<T, std::int8_t>, qsparse::tflite_int8_activation,
                                    std::conditional_t<std::is_same_v<T, std::uint8_t>, qsparse::torch_quint8,
                                                       qsparse::tflite_int16_activation>>;
  data_store& d = data_store::get(s);
  const float* x = d.input();
  T* q = quantized_buffer<T>(d);
  const std::ptrdiff_t n = d.size();
  const qsparse::per_tensor_params p = tensor_params<scheme>();
  for (auto _ : state) {
    scalar_round_loop(x, q, n, p.scale, p.zero_point);
    benchmark::ClobberMemory();
  }
  set_rate_counters(state, n, sizeof(float), sizeof(T));
}

/// How a case lays the elements out: one per-tensor run, or a rank-2 tensor with channels along axis 0
/// ([C, K], C = 64 in L2 and 4096 in DRAM) or axis 1 ([R, C], C = 256).
enum class layout { tensor, axis0, axis1 };

inline std::ptrdiff_t channel_count(layout l, size_class s) {
  if (l == layout::axis0) return s == size_class::l2 ? 64 : 4096;
  return 256;
}

template <class Scheme>
void bm_quantize(benchmark::State& state, isa_level level, size_class s, layout l) {
  using T = typename Scheme::value_type;
  data_store& d = data_store::get(s);
  const float* x = d.input();
  T* q = quantized_buffer<T>(d);
  const std::ptrdiff_t n = d.size();
  if constexpr (Scheme::is_per_channel) {
    const std::ptrdiff_t c = channel_count(l, s);
    const channel_params cp(c);
    const std::size_t axis = l == layout::axis0 ? 0 : 1;
    const std::ptrdiff_t rows = axis == 0 ? c : n / c, cols = axis == 0 ? n / c : c;
    const auto xv = qsparse::make_view(x, rows, cols);
    const auto qv = qsparse::make_view(q, rows, cols);
    const qsparse::per_channel_params p = cp.view(axis);
    for (auto _ : state) {
      qsparse::quantize_isa<Scheme>(level, xv, qv, p);
      benchmark::ClobberMemory();
    }
  } else {
    (void)l;
    const auto xv = qsparse::make_view(x, n);
    const auto qv = qsparse::make_view(q, n);
    const qsparse::per_tensor_params p = tensor_params<Scheme>();
    for (auto _ : state) {
      qsparse::quantize_isa<Scheme>(level, xv, qv, p);
      benchmark::ClobberMemory();
    }
  }
  set_rate_counters(state, n, sizeof(float), sizeof(T));
}

template <class Scheme>
void bm_dequantize(benchmark::State& state, isa_level level, size_class s, layout l) {
  using T = typename Scheme::value_type;
  data_store& d = data_store::get(s);
  const T* q = quantized_buffer<T>(d);
  float* x = d.float_output();
  const std::ptrdiff_t n = d.size();
  if constexpr (Scheme::is_per_channel) {
    const std::ptrdiff_t c = channel_count(l, s);
    const channel_params cp(c);
    const std::size_t axis = l == layout::axis0 ? 0 : 1;
    const std::ptrdiff_t rows = axis == 0 ? c : n / c, cols = axis == 0 ? n / c : c;
    const auto qv = qsparse::make_view(q, rows, cols);
    const auto xv = qsparse::make_view(x, rows, cols);
    const qsparse::per_channel_params p = cp.view(axis);
    for (auto _ : state) {
      qsparse::dequantize_isa<Scheme>(level, qv, xv, p);
      benchmark::ClobberMemory();
    }
  } else {
    (void)l;
    const auto qv = qsparse::make_view(q, n);
    const auto xv = qsparse::make_view(x, n);
    const qsparse::per_tensor_params p = tensor_params<Scheme>();
    for (auto _ : state) {
      qsparse::dequantize_isa<Scheme>(level, qv, xv, p);
      benchmark::ClobberMemory();
    }
  }
  set_rate_counters(state, n, sizeof(T), sizeof(float));
}

void bm_to_float16(benchmark::State& state, isa_level level, size_class s) {
  data_store& d = data_store::get(s);
  const float* x = d.input();
  qsparse::float16* h = d.half();
  const std::ptrdiff_t n = d.size();
  for (auto _ : state) {
    qsparse::to_float16(level, x, h, n);
    benchmark::ClobberMemory();
  }
  set_rate_counters(state, n, sizeof(float), sizeof(qsparse::float16));
}

void bm_to_float32(benchmark::State& state, isa_level level, size_class s) {
  data_store& d = data_store::get(s);
  const qsparse::float16* h = d.half();
  float* x = d.float_output();
  const std::ptrdiff_t n = d.size();
  for (auto _ : state) {
    qsparse::to_float32(level, h, x, n);
    benchmark::ClobberMemory();
  }
  set_rate_counters(state, n, sizeof(qsparse::float16), sizeof(float));
}

// ---- requantize --------------------------------------------------------------------------------------

/// in -> out through requantize_isa. Inputs are the quantized Gaussian of the data store; the output
/// parameters are realistic (a re-scaled activation: 1.3 x the input scale, zero point 3, or the int8
/// activation parameters of the same range).
template <class InScheme, class OutScheme>
void bm_requantize(benchmark::State& state, isa_level level, size_class s, layout l) {
  using In = typename InScheme::value_type;
  using Out = typename OutScheme::value_type;
  data_store& d = data_store::get(s);
  const In* in = quantized_buffer<In>(d);
  Out* out = d.scratch<Out>();
  const std::ptrdiff_t n = d.size();
  qsparse::per_tensor_params out_params = tensor_params<OutScheme>();
  if constexpr (std::is_same_v<InScheme, OutScheme>) {
    out_params.scale *= 1.3f;
    out_params.zero_point = OutScheme::is_symmetric ? out_params.zero_point : out_params.zero_point + 3;
  }
  if constexpr (InScheme::is_per_channel) {
    const std::ptrdiff_t c = channel_count(l, s);
    const channel_params cp(c);
    const std::size_t axis = l == layout::axis0 ? 0 : 1;
    const std::ptrdiff_t rows = axis == 0 ? c : n / c, cols = axis == 0 ? n / c : c;
    const auto iv = qsparse::make_view(in, rows, cols);
    const auto ov = qsparse::make_view(out, rows, cols);
    const qsparse::per_channel_params in_params = cp.view(axis);
    for (auto _ : state) {
      qsparse::requantize_isa<InScheme, OutScheme>(level, iv, ov, in_params, out_params);
      benchmark::ClobberMemory();
    }
  } else {
    (void)l;
    const auto iv = qsparse::make_view(in, n);
    const auto ov = qsparse::make_view(out, n);
    const qsparse::per_tensor_params in_params = tensor_params<InScheme>();
    for (auto _ : state) {
      qsparse::requantize_isa<InScheme, OutScheme>(level, iv, ov, in_params, out_params);
      benchmark::ClobberMemory();
    }
  }
  set_rate_counters(state, n, sizeof(In), sizeof(Out));
}

// ---- registration ------------------------------------------------------------------------------------

/// A quantize case the summary rates against a baseline.
struct goal_row {
  std::string name, baseline;
  bool dispatched;
};
struct goal_rows {
  std::vector<goal_row> dram, l2;
  std::vector<std::string> dram_read_loops, dram_references;
};
goal_rows& goals() {
  static goal_rows g;
  return g;
}

std::string join(std::initializer_list<std::string> parts) {
  std::string r;
  for (const std::string& p : parts) r += (r.empty() ? "" : "/") + p;
  return r;
}

template <class Scheme>
void register_scheme(const std::string& label, layout l, size_class s, const std::string& scalar_loop) {
  for (isa_level level : elementwise_levels()) {
    const std::string name = join({"BM_quantize", label, qsparse::to_string(level), size_name(s)});
    benchmark::RegisterBenchmark(name.c_str(), bm_quantize<Scheme>, level, s, l);
    const goal_row row{name, "", level == elementwise_dispatched_level()};
    if (s == size_class::dram) {
      goals().dram.push_back(row);
    } else {
      goals().l2.push_back(row);
      goals().l2.back().baseline = join({"BM_scalar_round_loop", scalar_loop, size_name(s)});
    }
  }
  for (isa_level level : elementwise_levels()) {
    const std::string name = join({"BM_dequantize", label, qsparse::to_string(level), size_name(s)});
    benchmark::RegisterBenchmark(name.c_str(), bm_dequantize<Scheme>, level, s, l);
  }
}

template <class InScheme, class OutScheme>
void register_requantize(const std::string& label, layout l, size_class s, const std::vector<isa_level>& at) {
  for (isa_level level : at) {
    const std::string name = join({"BM_requantize", label, qsparse::to_string(level), size_name(s)});
    benchmark::RegisterBenchmark(name.c_str(), bm_requantize<InScheme, OutScheme>, level, s, l);
  }
}

void register_all() {
  for (size_class s : {size_class::l2, size_class::dram}) {
    const std::string size = size_name(s);
    for (isa_level level : elementwise_levels()) {
      const std::string name = join({"BM_read_loop", qsparse::to_string(level), size});
      benchmark::RegisterBenchmark(name.c_str(), bm_read_loop, level, s);
      if (s == size_class::dram && level != isa_level::scalar) goals().dram_read_loops.push_back(name);
    }
    for (isa_level level : elementwise_levels()) {
      if (level == isa_level::scalar) continue;
      const std::string name = join({"BM_read_write_loop", qsparse::to_string(level), size});
      benchmark::RegisterBenchmark(name.c_str(), bm_read_write_loop, level, s);
      if (s == size_class::dram) goals().dram_references.push_back(name);
    }
    benchmark::RegisterBenchmark(join({"BM_scalar_round_loop", "int8", size}).c_str(),
                                 bm_scalar_round_loop<std::int8_t>, s);
    benchmark::RegisterBenchmark(join({"BM_scalar_round_loop", "uint8", size}).c_str(),
                                 bm_scalar_round_loop<std::uint8_t>, s);
    benchmark::RegisterBenchmark(join({"BM_scalar_round_loop", "int16", size}).c_str(),
                                 bm_scalar_round_loop<std::int16_t>, s);
    if (s == size_class::dram) goals().dram_references.push_back(join({"BM_scalar_round_loop", "int8", size}));

    register_scheme<qsparse::tflite_int8_activation>("tflite_int8", layout::tensor, s, "int8");
    register_scheme<qsparse::torch_quint8>("torch_quint8", layout::tensor, s, "uint8");
    register_scheme<qsparse::tflite_int16_activation>("tflite_int16", layout::tensor, s, "int16");
    register_scheme<qsparse::tflite_int8_weight>("tflite_int8_weight_axis0", layout::axis0, s, "int8");
    register_scheme<qsparse::tflite_int8_weight>("tflite_int8_weight_axis1", layout::axis1, s, "int8");

    for (isa_level level : elementwise_levels())
      benchmark::RegisterBenchmark(join({"BM_to_float16", qsparse::to_string(level), size}).c_str(), bm_to_float16,
                                   level, s);
    for (isa_level level : elementwise_levels())
      benchmark::RegisterBenchmark(join({"BM_to_float32", qsparse::to_string(level), size}).c_str(), bm_to_float32,
                                   level, s);

    // requantize: the TFLite (fixed-point) rule has AVX2 / AVX-512 kernels for 8/16-bit tensors; the
    // PyTorch rule always runs the scalar loop, so it is registered once, as scalar.
    register_requantize<qsparse::tflite_int8_activation, qsparse::tflite_int8_activation>(
        "tflite_int8_to_int8", layout::tensor, s, elementwise_levels());
    register_requantize<qsparse::tflite_int16_activation, qsparse::tflite_int8_activation>(
        "tflite_int16_to_int8", layout::tensor, s, elementwise_levels());
    register_requantize<qsparse::tflite_int8_weight, qsparse::tflite_int8_activation>(
        "tflite_int8_weight_axis0_to_int8", layout::axis0, s, elementwise_levels());
    register_requantize<qsparse::torch_quint8, qsparse::torch_quint8>("torch_quint8_to_quint8", layout::tensor, s,
                                                                      {isa_level::scalar});
  }
}

// ---- summary -----------------------------------------------------------------------------------------

void print_summary(const summary_reporter& r, std::FILE* out) {
  const goal_rows& g = goals();
  std::fprintf(out, "\n== goal ratios, from the medians of this run (goal applies at the dispatched ISA, %s) ==\n",
               qsparse::to_string(elementwise_dispatched_level()));

  // DRAM: quantize input bandwidth against the best plain vectorised read loop.
  std::string best_loop;
  double best_read = 0;
  for (const std::string& name : g.dram_read_loops)
    if (const measured* m = r.find(name); m != nullptr && m->read_bytes_per_second > best_read) {
      best_read = m->read_bytes_per_second;
      best_loop = name;
    }
  bool any = false;
  if (best_read > 0) {
    std::fprintf(out, "DRAM (%lld Mi floats): quantize input GB/s / %s (%.2f GB/s); goal >= 0.80\n",
                 static_cast<long long>(elements(size_class::dram) >> 20), best_loop.c_str(), best_read * 1e-9);
    std::fprintf(out, "  %-48s %8s %7s  %s\n", "benchmark", "GB/s", "ratio", "goal");
    for (const std::string& name : g.dram_references)
      if (const measured* m = r.find(name))
        std::fprintf(out, "  %-48s %8.2f %7.2f  (reference)\n", name.c_str(), m->read_bytes_per_second * 1e-9,
                     m->read_bytes_per_second / best_read);
    for (const goal_row& row : g.dram) {
      const measured* m = r.find(row.name);
      if (m == nullptr) continue;
      any = true;
      const double ratio = m->read_bytes_per_second / best_read;
      std::fprintf(out, "  %-48s %8.2f %7.2f  %s\n", row.name.c_str(), m->read_bytes_per_second * 1e-9, ratio,
                   row.dispatched ? (ratio >= 0.80 ? "met" : "MISSED") : "-");
    }
  }
  if (!any) std::fprintf(out, "DRAM: no read loop and quantize pair ran (check --benchmark_filter)\n");

  // L2: quantize throughput against the plain scalar std::round loop of the same storage type.
  any = false;
  for (const goal_row& row : g.l2) {
    const measured* m = r.find(row.name);
    const measured* b = r.find(row.baseline);
    if (m == nullptr || b == nullptr || b->items_per_second <= 0) continue;
    if (!any) {
      std::fprintf(out, "L2 (%lld Ki floats): quantize items/s / plain scalar std::round loop items/s; goal >= 4\n",
                   static_cast<long long>(elements(size_class::l2) >> 10));
      std::fprintf(out, "  %-48s %9s %-30s %9s %7s  %s\n", "benchmark", "Gitem/s", "baseline", "Gitem/s", "ratio",
                   "goal");
    }
    any = true;
    const double ratio = m->items_per_second / b->items_per_second;
    std::fprintf(out, "  %-48s %9.3f %-30s %9.3f %7.2f  %s\n", row.name.c_str(), m->items_per_second * 1e-9,
                 row.baseline.c_str(), b->items_per_second * 1e-9, ratio,
                 row.dispatched ? (ratio >= 4.0 ? "met" : "MISSED") : "-");
  }
  if (!any) std::fprintf(out, "L2: no scalar loop and quantize pair ran (check --benchmark_filter)\n");
}

}  // namespace qsparse_bench

int main(int argc, char** argv) {
  qsparse_bench::with_default_flags args(argc, argv, {"--benchmark_min_time=0.2"});
  const std::string format = args.value_of("--benchmark_format");
  benchmark::Initialize(args.argc(), args.argv());
  qsparse_bench::add_build_context();
  if (benchmark::ReportUnrecognizedArguments(*args.argc(), args.argv())) return 1;
  qsparse_bench::register_all();
  // The summary goes to stdout after the console table, or to stderr when stdout carries JSON/CSV.
  const bool console = format.empty() || format == "console";
  qsparse_bench::summary_reporter reporter(qsparse_bench::make_display_reporter(format),
                                           qsparse_bench::print_summary, console ? stdout : stderr);
  benchmark::RunSpecifiedBenchmarks(&reporter);
  benchmark::Shutdown();
  return 0;
}
