// benchmarks/support/gemm_peers.hpp — other libraries' GEMMs, wrapped to compute what qsparse's int8
// GEMM computes, so they can be timed next to it in one Google Benchmark binary.
//
// The problem (gemm_problem, one per (M, K, N), deterministic):
//   A [M, K] int8 row-major, affine per tensor: real = a_scale * (a - a_zero_point), a_zero_point = -7
//   B [K, N] int8 row-major in [-127, 127], symmetric per output channel: real = b_scale[n] * b
//   bias [N] int32 in units of a_scale * b_scale[n]
//   C [M, N] int8 row-major = clamp(round_half_even(float(acc + bias[n]) * multiplier[n]) + c_zero_point),
//     acc = sum_k (a - a_zero_point) * b, multiplier[n] = float(a_scale * b_scale[n] / c_scale)
//   c_scale is chosen so that C spreads over about +-40 quanta (little saturation) for every K.
//   reference_gemm() computes this C in plain C++ (int64 accumulation), for checking the peers.
//
// The peers. Each is built once per benchmark, outside timing (weights packed, primitives/operators
// created, threads set up), and `run()` is one full GEMM writing C; `output()` points at C.
// `available()` says whether the library was found at configure time; without it the class still
// exists, but its constructor throws. Failures throw std::runtime_error naming the status.
//
//   onednn_matmul_s8(problem, threads = 1, source = onednn_source::u8)        (QSPARSE_HAVE_ONEDNN)
//     oneDNN matmul primitive: src u8 (A + 128, zero point a_zero_point + 128: the same reals, which is
//     the type VNNI multiplies natively) or s8 (A as is; oneDNN then adds a compensation term),
//     weights s8 with format_tag::any, reordered once into oneDNN's blocked layout in the constructor;
//     bias s32 (added to the int32 accumulator before scaling, as v2.x does); output scales per N
//     (v2.x set_output_scales, mask 1 << 1 — v3.x would need set_scales_mask on the weights and dst and
//     a bias in float: not written, a static_assert stops a v3 build); constant src/dst zero points;
//     dst s8. Agrees with reference_gemm within 1 LSB (float operation order).
//     Threads: this Debian oneDNN (2.6) runs on OpenMP (GOMP). The constructor and run() set the
//     calling thread's OpenMP thread count (omp_set_num_threads, looked up with dlsym in the libgomp that
//     libdnnl loaded, so no OpenMP flag is needed here) before creating the primitive — oneDNN fixes
//     its work split at creation — and before each execution.
//   xnnpack_fully_connected_qs8(problem, threads = 1)                        (QSPARSE_HAVE_XNNPACK)
//     xnn_create_fully_connected_nc_qs8: kernel [N][K] (B transposed once), ONE kernel scale (this
//     XNNPACK, 2022-02, has no per-channel fully connected operator: docs/numerics.md), so its C uses
//     multiplier = float(a_scale * mean(b_scale) / c_scale) for every n, and its requantization is
//     XNNPACK's fp32 rule (lrintf, ties to even). Threads: no pthreadpool for 1 (runs on the caller),
//     pthreadpool_create(threads) otherwise.
//   eigen_sgemm(problem, threads = 1)                                        (QSPARSE_HAVE_EIGEN)
//     the float baseline: C_f32 = A_f32 * B_f32 with Eigen row-major MatrixXf, noalias, where
//     A_f32 = a_scale * (A - a_zero_point), B_f32 = b_scale[n] * B. Eigen::setNbThreads(threads), which
//     only takes effect when the binary is built with OpenMP (threads_supported()); otherwise Eigen is
//     single-threaded. It vectorises for the flags the binary is compiled with: SSE2 by default, which
//     on this machine (Xeon, Ice Lake) gave ~18 GFLOPS on square_1024 against ~88 with -march=native —
//     a float baseline "as a user compiles it", not fp32's best; say which when quoting a ratio to it.
//   openblas_sgemm(problem, threads = 1)                                     (QSPARSE_HAVE_OPENBLAS)
//     the runtime-dispatched float baseline: the same A_f32 and B_f32, cblas_sgemm row-major, OpenBLAS's
//     kernel chosen for this CPU at run time (Debian builds it DYNAMIC_ARCH; core() names it), threads by
//     openblas_set_num_threads. fp32's best on this CPU, next to Eigen's "as compiled".
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <memory>
#include <stdexcept>
#include <string>
#include <utility>
#include <vector>

#if defined(QSPARSE_HAVE_OPENBLAS)
#include <cblas.h>
#endif

#if defined(QSPARSE_HAVE_ONEDNN)
#include <dlfcn.h>

#include <oneapi/dnnl/dnnl.hpp>
#include <oneapi/dnnl/dnnl_debug.h>
#include <oneapi/dnnl/dnnl_version.h>
#include <unordered_map>
#endif

#if defined(QSPARSE_HAVE_XNNPACK)
#include <pthreadpool.h>
#include <xnnpack.h>
#endif

#if defined(QSPARSE_HAVE_EIGEN)
#include <Eigen/Core>
#endif

namespace qsparse_bench {

// ---- the problem ---------------------------------------------------------------------------------

struct gemm_problem {
  std::int64_t m = 0, k = 0, n = 0;
  std::vector<std::int8_t> a;  // [M, K]
  float a_scale = 0.05f;
  std::int32_t a_zero_point = -7;
  std::vector<std::int8_t> b;  // [K, N]
  std::vector<float> b_scale;  // [N]
  std::vector<std::int32_t> bias;  // [N]
  float c_scale = 1.0f;
  std::int32_t c_zero_point = 3;

  /// A deterministic problem: the same (m, k, n, seed) always gives the same data.
  static gemm_problem make(std::int64_t m, std::int64_t k, std::int64_t n, std::uint64_t seed = 1) {
    if (m <= 0 || k <= 0 || n <= 0) throw std::invalid_argument("gemm_problem: M, K and N must be positive");
    gemm_problem p;
    p.m = m;
    p.k = k;
    p.n = n;
    std::uint64_t state = seed * 0x2545F4914F6CDD1Dull + static_cast<std::uint64_t>(m * 1000003 + k * 1009 + n);
    const auto next = [&state]() {
      state += 0x9E3779B97F4A7C15ull;
      std::uint64_t z = state;
      z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ull;
      z = (z ^ (z >> 27)) * 0x94D049BB133111EBull;
      return z ^ (z >> 31);
    };
    p.a.resize(static_cast<std::size_t>(m * k));
    for (std::int8_t& x : p.a) x = static_cast<std::int8_t>(static_cast<int>(next() & 0xFFu) - 128);
    p.b.resize(static_cast<std::size_t>(k * n));
    for (std::int8_t& x : p.b) x = static_cast<std::int8_t>(static_cast<int>(next() % 255u) - 127);
    p.b_scale.resize(static_cast<std::size_t>(n));
    for (std::int64_t j = 0; j < n; ++j)
      p.b_scale[static_cast<std::size_t>(j)] = 0.01f * (1.0f + 0.05f * static_cast<float>(j % 8));
    // |a - zp| and |b| are uniform, standard deviations ~74 and ~73: acc has deviation ~5400 sqrt(K).
    const double acc_deviation = 5400.0 * std::sqrt(static_cast<double>(k));
    p.bias.resize(static_cast<std::size_t>(n));
    for (std::int32_t& x : p.bias)
      x = static_cast<std::int32_t>(static_cast<double>(next() % 2001u) / 1000.0 * acc_deviation - acc_deviation);
    p.c_scale = static_cast<float>(acc_deviation * double(p.a_scale) * double(p.b_scale[0]) / 40.0);
    return p;
  }

  /// multiplier[n] = float(a_scale * b_scale[n] / c_scale).
  std::vector<float> per_channel_multipliers() const {
    std::vector<float> result(static_cast<std::size_t>(n));
    for (std::size_t j = 0; j < result.size(); ++j)
      result[j] = static_cast<float>(double(a_scale) * double(b_scale[j]) / double(c_scale));
    return result;
  }

  /// The single weight scale a per-tensor library gets: the mean of b_scale.
  float per_tensor_b_scale() const {
    double sum = 0;
    for (float s : b_scale) sum += s;
    return static_cast<float>(sum / static_cast<double>(n));
  }

  /// XNNPACK's multiplier: a_scale * kernel_scale / c_scale formed in float, as it does.
  std::vector<float> per_tensor_multipliers() const {
    const float scale = a_scale * per_tensor_b_scale() / c_scale;
    return std::vector<float>(static_cast<std::size_t>(n), scale);
  }
};

/// C = clamp(nearbyint(float(acc + bias[n]) * multiplier[n]) + c_zero_point) with exact integer acc.
inline void reference_gemm(const gemm_problem& p, const std::vector<float>& multiplier, std::int8_t* c) {
  std::vector<std::int64_t> row(static_cast<std::size_t>(p.n));
  for (std::int64_t i = 0; i < p.m; ++i) {
    std::fill(row.begin(), row.end(), 0);
    for (std::int64_t kk = 0; kk < p.k; ++kk) {
      const std::int64_t x = std::int64_t{p.a[static_cast<std::size_t>(i * p.k + kk)]} - p.a_zero_point;
      const std::int8_t* w = p.b.data() + kk * p.n;
      for (std::int64_t j = 0; j < p.n; ++j) row[static_cast<std::size_t>(j)] += x * w[j];
    }
    for (std::int64_t j = 0; j < p.n; ++j) {
      const auto jj = static_cast<std::size_t>(j);
      const float y = std::nearbyint(static_cast<float>(row[jj] + p.bias[jj]) * multiplier[jj]) +
                      static_cast<float>(p.c_zero_point);
      c[i * p.n + j] = static_cast<std::int8_t>(std::min(127.0f, std::max(-128.0f, y)));
    }
  }
}

// ---- oneDNN ------------------------------------------------------------------------------------------

enum class onednn_source { u8, s8 };

#if defined(QSPARSE_HAVE_ONEDNN)

namespace detail {

/// Sets the calling thread's OpenMP thread count in the OpenMP runtime libdnnl uses (no-op when libdnnl
/// was built without OpenMP). Looked up at run time so that this header needs no -fopenmp.
inline void set_onednn_threads(int threads) {
#if DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP
  using setter = void (*)(int);
  static const setter set = reinterpret_cast<setter>(::dlsym(RTLD_DEFAULT, "omp_set_num_threads"));
  if (set == nullptr)
    throw std::runtime_error("onednn_matmul_s8: libdnnl runs on OpenMP but omp_set_num_threads was not found");
  set(threads);
#else
  if (threads != 1)
    throw std::runtime_error("onednn_matmul_s8: this oneDNN's CPU runtime is not OpenMP; thread control not wired");
#endif
}

template <class F>
auto onednn_call(const char* what, F&& f) -> decltype(f()) {
  try {
    return f();
  } catch (const dnnl::error& e) {
    throw std::runtime_error(std::string("oneDNN: ") + what + ": " + e.what() + " (status " +
                             dnnl_status2str(e.status) + ")");
  }
}

}  // namespace detail

class onednn_matmul_s8 {
 public:
  static bool available() { return true; }
  static const char* name(onednn_source source) {
    return source == onednn_source::u8 ? "onednn_matmul_u8s8" : "onednn_matmul_s8s8";
  }
  const char* name() const { return name(source_); }
  /// The library's version at run time, e.g. "2.6.3" (Debian) or "3.13.0" (PyPI's onednn).
  static std::string version() {
    const dnnl_version_t* v = dnnl_version();
    return std::to_string(v->major) + "." + std::to_string(v->minor) + "." + std::to_string(v->patch);
  }
  /// Whether threads other than 1 can be set (an OpenMP build: Debian's; PyPI's runs on TBB).
  static bool threads_supported() { return DNNL_CPU_THREADING_RUNTIME == DNNL_RUNTIME_OMP; }

  explicit onednn_matmul_s8(const gemm_problem& p, int threads = 1, onednn_source source = onednn_source::u8)
      : source_(source), threads_(threads), c_(static_cast<std::size_t>(p.m * p.n)) {
    detail::set_onednn_threads(threads_);
    detail::onednn_call("building the matmul", [&] { build(p); });
  }
  onednn_matmul_s8(std::int64_t m, std::int64_t k, std::int64_t n, int threads = 1,
                   onednn_source source = onednn_source::u8)
      : onednn_matmul_s8(gemm_problem::make(m, k, n), threads, source) {}
  // The primitive's arguments point into this object's buffers: no copies.
  onednn_matmul_s8(const onednn_matmul_s8&) = delete;
  onednn_matmul_s8& operator=(const onednn_matmul_s8&) = delete;

  /// One full GEMM into output().
  void run() {
    detail::set_onednn_threads(threads_);
    detail::onednn_call("executing the matmul", [&] {
      matmul_.execute(stream_, args_);
      stream_.wait();
    });
  }

  const std::int8_t* output() const noexcept { return c_.data(); }
  /// oneDNN's name of the implementation it picked, e.g. "brg:avx512_core_vnni".
  std::string implementation() const { return implementation_; }

 private:
  void build(const gemm_problem& p) {
    using dnnl::memory;
    using tag = memory::format_tag;
    using dt = memory::data_type;
    engine_ = dnnl::engine(dnnl::engine::kind::cpu, 0);
    stream_ = dnnl::stream(engine_);

    std::int32_t src_zero_point = p.a_zero_point;
    if (source_ == onednn_source::u8) {
      a_u8_.resize(p.a.size());
      for (std::size_t i = 0; i < p.a.size(); ++i) a_u8_[i] = static_cast<std::uint8_t>(p.a[i] + 128);
      src_zero_point += 128;
    } else {
      a_s8_ = p.a;
    }
    bias_ = p.bias;

    const memory::desc src_md({p.m, p.k}, source_ == onednn_source::u8 ? dt::u8 : dt::s8, tag::ab);
    const memory::desc weights_any_md({p.k, p.n}, dt::s8, tag::any);
    const memory::desc weights_user_md({p.k, p.n}, dt::s8, tag::ab);
    const memory::desc bias_md({1, p.n}, dt::s32, tag::ab);
    const memory::desc dst_md({p.m, p.n}, dt::s8, tag::ab);

    dnnl::primitive_attr attr;
    scales_ = p.per_channel_multipliers();
    src_zero_point_ = src_zero_point;
    dst_zero_point_ = p.c_zero_point;
#if DNNL_VERSION_MAJOR >= 3
    // v3: scales and zero points are per argument and given at execution time, and the bias is added
    // after the scales: dst(m, n) = scales[n] * acc + bias_f32[n], + the dst zero point. With
    // bias_f32[n] = scales[n] * bias[n] that is the reference's scales[n] * (acc + bias[n]) up to float
    // rounding (the check allows 1 LSB).
    attr.set_scales_mask(DNNL_ARG_WEIGHTS, 1 << 1);
    attr.set_zero_points_mask(DNNL_ARG_SRC, 0);
    attr.set_zero_points_mask(DNNL_ARG_DST, 0);
    bias_f32_.resize(bias_.size());
    for (std::size_t j = 0; j < bias_.size(); ++j) bias_f32_[j] = scales_[j] * static_cast<float>(bias_[j]);
    const memory::desc bias_f32_md({1, p.n}, dt::f32, tag::ab);
    const dnnl::matmul::primitive_desc pd(engine_, src_md, weights_any_md, bias_f32_md, dst_md, attr);
#else
    attr.set_output_scales(1 << 1, scales_);  // dst(m, n) = scales[n] * (acc + bias[n]), then + dst zp
    attr.set_zero_points(DNNL_ARG_SRC, 0, {src_zero_point});
    attr.set_zero_points(DNNL_ARG_DST, 0, {p.c_zero_point});
    const dnnl::matmul::desc desc(src_md, weights_any_md, bias_md, dst_md);
    const dnnl::matmul::primitive_desc pd(desc, attr, engine_);
#endif
    implementation_ = pd.impl_info_str();
    matmul_ = dnnl::matmul(pd);

    // Pack the weights once, into the layout the implementation reads (with its s8s8 compensation).
    std::vector<std::int8_t> b = p.b;
    memory weights_user(weights_user_md, engine_, b.data());
    memory weights(pd.weights_desc(), engine_);
    dnnl::reorder(weights_user, weights).execute(stream_, weights_user, weights);
    stream_.wait();

    void* src_data = source_ == onednn_source::u8 ? static_cast<void*>(a_u8_.data()) : static_cast<void*>(a_s8_.data());
#if DNNL_VERSION_MAJOR >= 3
    const memory::desc scales_md({p.n}, dt::f32, tag::a);
    const memory::desc zero_point_md({1}, dt::s32, tag::a);
    args_ = {{DNNL_ARG_SRC, memory(src_md, engine_, src_data)},
             {DNNL_ARG_WEIGHTS, weights},
             {DNNL_ARG_BIAS, memory(bias_f32_md, engine_, bias_f32_.data())},
             {DNNL_ARG_DST, memory(dst_md, engine_, c_.data())},
             {DNNL_ARG_ATTR_SCALES | DNNL_ARG_WEIGHTS, memory(scales_md, engine_, scales_.data())},
             {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_SRC, memory(zero_point_md, engine_, &src_zero_point_)},
             {DNNL_ARG_ATTR_ZERO_POINTS | DNNL_ARG_DST, memory(zero_point_md, engine_, &dst_zero_point_)}};
#else
    (void)bias_f32_;
    args_ = {{DNNL_ARG_SRC, memory(src_md, engine_, src_data)},
             {DNNL_ARG_WEIGHTS, weights},
             {DNNL_ARG_BIAS, memory(bias_md, engine_, bias_.data())},
             {DNNL_ARG_DST, memory(dst_md, engine_, c_.data())}};
#endif
  }

  onednn_source source_;
  int threads_;
  std::vector<std::uint8_t> a_u8_;
  std::vector<std::int8_t> a_s8_;
  std::vector<std::int32_t> bias_;
  std::vector<float> scales_, bias_f32_;
  std::int32_t src_zero_point_ = 0, dst_zero_point_ = 0;
  std::vector<std::int8_t> c_;
  dnnl::engine engine_;
  dnnl::stream stream_;
  dnnl::matmul matmul_;
  std::unordered_map<int, dnnl::memory> args_;
  std::string implementation_;
};

#else

class onednn_matmul_s8 {
 public:
  static bool available() { return false; }
  static const char* name(onednn_source source) {
    return source == onednn_source::u8 ? "onednn_matmul_u8s8" : "onednn_matmul_s8s8";
  }
  explicit onednn_matmul_s8(const gemm_problem&, int = 1, onednn_source = onednn_source::u8) { unavailable(); }
  onednn_matmul_s8(std::int64_t, std::int64_t, std::int64_t, int = 1, onednn_source = onednn_source::u8) {
    unavailable();
  }
  const char* name() const { return name(onednn_source::u8); }
  static std::string version() { return "none"; }
  static bool threads_supported() { return false; }
  void run() {}
  const std::int8_t* output() const noexcept { return nullptr; }
  std::string implementation() const { return {}; }

 private:
  [[noreturn]] static void unavailable() {
    throw std::runtime_error("onednn_matmul_s8: oneDNN was not found when the benchmarks were configured");
  }
};

#endif

// ---- XNNPACK -----------------------------------------------------------------------------------------

#if defined(QSPARSE_HAVE_XNNPACK)

namespace detail {

inline const char* xnn_status_name(xnn_status status) {
  switch (status) {
    case xnn_status_success: return "xnn_status_success";
    case xnn_status_uninitialized: return "xnn_status_uninitialized";
    case xnn_status_invalid_parameter: return "xnn_status_invalid_parameter";
    case xnn_status_invalid_state: return "xnn_status_invalid_state";
    case xnn_status_unsupported_parameter: return "xnn_status_unsupported_parameter";
    case xnn_status_unsupported_hardware: return "xnn_status_unsupported_hardware";
    case xnn_status_out_of_memory: return "xnn_status_out_of_memory";
  }
  return "unknown xnn_status";
}

inline void xnn_check(xnn_status status, const char* what) {
  if (status != xnn_status_success)
    throw std::runtime_error(std::string("XNNPACK: ") + what + " failed: " + xnn_status_name(status) + " (" +
                             std::to_string(static_cast<int>(status)) + ")");
}

/// xnn_initialize once per process (it is reference counted; never deinitialized here).
inline void xnn_initialize_once() {
  static const xnn_status status = xnn_initialize(nullptr);
  xnn_check(status, "xnn_initialize");
}

}  // namespace detail

class xnnpack_fully_connected_qs8 {
 public:
  static bool available() { return true; }
  static const char* name() { return "xnnpack_fully_connected_qs8"; }

  explicit xnnpack_fully_connected_qs8(const gemm_problem& p, int threads = 1)
      : a_(p.a), c_(static_cast<std::size_t>(p.m * p.n)) {
    detail::xnn_initialize_once();
    if (threads > 1) {
      pool_.reset(pthreadpool_create(static_cast<std::size_t>(threads)));
      if (!pool_) throw std::runtime_error("XNNPACK: pthreadpool_create failed");
    }
    std::vector<std::int8_t> kernel(static_cast<std::size_t>(p.n * p.k));  // [N][K]
    for (std::int64_t kk = 0; kk < p.k; ++kk)
      for (std::int64_t j = 0; j < p.n; ++j)
        kernel[static_cast<std::size_t>(j * p.k + kk)] = p.b[static_cast<std::size_t>(kk * p.n + j)];
    xnn_operator_t op = nullptr;
    detail::xnn_check(
        xnn_create_fully_connected_nc_qs8(static_cast<std::size_t>(p.k), static_cast<std::size_t>(p.n),
                                          static_cast<std::size_t>(p.k), static_cast<std::size_t>(p.n),
                                          static_cast<std::int8_t>(p.a_zero_point), p.a_scale,
                                          p.per_tensor_b_scale(), kernel.data(), p.bias.data(),
                                          static_cast<std::int8_t>(p.c_zero_point), p.c_scale, -128, 127,
                                          /*flags=*/0, &op),
        "xnn_create_fully_connected_nc_qs8");
    op_.reset(op);
    // The weights are packed at creation; kernel and bias may go now. Setup binds the buffers once.
    detail::xnn_check(xnn_setup_fully_connected_nc_qs8(op_.get(), static_cast<std::size_t>(p.m), a_.data(),
                                                       c_.data(), pool_.get()),
                      "xnn_setup_fully_connected_nc_qs8");
  }
  xnnpack_fully_connected_qs8(std::int64_t m, std::int64_t k, std::int64_t n, int threads = 1)
      : xnnpack_fully_connected_qs8(gemm_problem::make(m, k, n), threads) {}

  /// One full GEMM into output().
  void run() { detail::xnn_check(xnn_run_operator(op_.get(), pool_.get()), "xnn_run_operator"); }

  const std::int8_t* output() const noexcept { return c_.data(); }

 private:
  struct operator_deleter {
    void operator()(xnn_operator_t op) const noexcept { xnn_delete_operator(op); }
  };
  struct pool_deleter {
    void operator()(pthreadpool_t pool) const noexcept { pthreadpool_destroy(pool); }
  };

  std::vector<std::int8_t> a_;
  std::vector<std::int8_t> c_;
  std::unique_ptr<pthreadpool, pool_deleter> pool_;
  std::unique_ptr<xnn_operator, operator_deleter> op_;
};

#else

class xnnpack_fully_connected_qs8 {
 public:
  static bool available() { return false; }
  static const char* name() { return "xnnpack_fully_connected_qs8"; }
  explicit xnnpack_fully_connected_qs8(const gemm_problem&, int = 1) { unavailable(); }
  xnnpack_fully_connected_qs8(std::int64_t, std::int64_t, std::int64_t, int = 1) { unavailable(); }
  void run() {}
  const std::int8_t* output() const noexcept { return nullptr; }

 private:
  [[noreturn]] static void unavailable() {
    throw std::runtime_error("xnnpack_fully_connected_qs8: XNNPACK was not found when the benchmarks were configured");
  }
};

#endif

// ---- Eigen -------------------------------------------------------------------------------------------

#if defined(QSPARSE_HAVE_EIGEN)

class eigen_sgemm {
 public:
  using matrix = Eigen::Matrix<float, Eigen::Dynamic, Eigen::Dynamic, Eigen::RowMajor>;

  static bool available() { return true; }
  static const char* name() { return "eigen_sgemm"; }
  /// Whether Eigen::setNbThreads can give this binary more than one thread (built with OpenMP).
  static bool threads_supported() {
#if defined(EIGEN_HAS_OPENMP)
    return true;
#else
    return false;
#endif
  }

  explicit eigen_sgemm(const gemm_problem& p, int threads = 1) : a_(p.m, p.k), b_(p.k, p.n), c_(p.m, p.n) {
    if (threads > 1 && !threads_supported())
      throw std::runtime_error("eigen_sgemm: Eigen is single-threaded in this build (no OpenMP)");
    Eigen::setNbThreads(threads);
    for (std::int64_t i = 0; i < p.m; ++i)
      for (std::int64_t kk = 0; kk < p.k; ++kk)
        a_(i, kk) = p.a_scale * static_cast<float>(p.a[static_cast<std::size_t>(i * p.k + kk)] - p.a_zero_point);
    for (std::int64_t kk = 0; kk < p.k; ++kk)
      for (std::int64_t j = 0; j < p.n; ++j)
        b_(kk, j) = p.b_scale[static_cast<std::size_t>(j)] * static_cast<float>(p.b[static_cast<std::size_t>(kk * p.n + j)]);
    c_.setZero();
  }
  eigen_sgemm(std::int64_t m, std::int64_t k, std::int64_t n, int threads = 1)
      : eigen_sgemm(gemm_problem::make(m, k, n), threads) {}

  /// One full GEMM into output() (float, [M, N] row-major).
  void run() { c_.noalias() = a_ * b_; }

  const float* output() const noexcept { return c_.data(); }

 private:
  matrix a_, b_, c_;
};

#else

class eigen_sgemm {
 public:
  static bool available() { return false; }
  static const char* name() { return "eigen_sgemm"; }
  static bool threads_supported() { return false; }
  explicit eigen_sgemm(const gemm_problem&, int = 1) { unavailable(); }
  eigen_sgemm(std::int64_t, std::int64_t, std::int64_t, int = 1) { unavailable(); }
  void run() {}
  const float* output() const noexcept { return nullptr; }

 private:
  [[noreturn]] static void unavailable() {
    throw std::runtime_error("eigen_sgemm: Eigen 3 was not found when the benchmarks were configured");
  }
};

#endif

// ---- OpenBLAS ----------------------------------------------------------------------------------------

#if defined(QSPARSE_HAVE_OPENBLAS)

class openblas_sgemm {
 public:
  static bool available() { return true; }
  static const char* name() { return "openblas_sgemm"; }
  /// OpenBLAS picks its kernel at run time for this CPU (DYNAMIC_ARCH: Debian's build), so this is fp32 at
  /// the CPU's own speed, whatever flags the benchmark was compiled with.
  static const char* core() { return openblas_get_corename(); }

  explicit openblas_sgemm(const gemm_problem& p, int threads = 1)
      : m_(p.m), k_(p.k), n_(p.n), threads_(threads), a_(static_cast<std::size_t>(p.m * p.k)),
        b_(static_cast<std::size_t>(p.k * p.n)), c_(static_cast<std::size_t>(p.m * p.n), 0.0f) {
    for (std::size_t i = 0; i < a_.size(); ++i) a_[i] = p.a_scale * static_cast<float>(p.a[i] - p.a_zero_point);
    for (std::int64_t kk = 0; kk < p.k; ++kk)
      for (std::int64_t j = 0; j < p.n; ++j) {
        const auto i = static_cast<std::size_t>(kk * p.n + j);
        b_[i] = p.b_scale[static_cast<std::size_t>(j)] * static_cast<float>(p.b[i]);
      }
    openblas_set_num_threads(threads_);
  }
  openblas_sgemm(std::int64_t m, std::int64_t k, std::int64_t n, int threads = 1)
      : openblas_sgemm(gemm_problem::make(m, k, n), threads) {}

  /// One full GEMM into output() (float, [M, N] row-major): cblas_sgemm, row-major, no transposes.
  void run() {
    openblas_set_num_threads(threads_);
    cblas_sgemm(CblasRowMajor, CblasNoTrans, CblasNoTrans, static_cast<blasint>(m_), static_cast<blasint>(n_),
                static_cast<blasint>(k_), 1.0f, a_.data(), static_cast<blasint>(k_), b_.data(),
                static_cast<blasint>(n_), 0.0f, c_.data(), static_cast<blasint>(n_));
  }

  const float* output() const noexcept { return c_.data(); }

 private:
  std::int64_t m_, k_, n_;
  int threads_;
  std::vector<float> a_, b_, c_;
};

#else

class openblas_sgemm {
 public:
  static bool available() { return false; }
  static const char* name() { return "openblas_sgemm"; }
  static const char* core() { return "none"; }
  explicit openblas_sgemm(const gemm_problem&, int = 1) { unavailable(); }
  openblas_sgemm(std::int64_t, std::int64_t, std::int64_t, int = 1) { unavailable(); }
  void run() {}
  const float* output() const noexcept { return nullptr; }

 private:
  [[noreturn]] static void unavailable() {
    throw std::runtime_error("openblas_sgemm: OpenBLAS was not found when the benchmarks were configured");
  }
};

#endif

}  // namespace qsparse_bench
