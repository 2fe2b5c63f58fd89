// qsparse/gemm/hybrid.hpp — dynamic-range ("hybrid") GEMM: float activations quantized per row on the
// fly, int8 weights, float output; TFLite's FullyConnected EvalHybrid (docs/numerics.md) bit for bit.
//
//   hybrid_params p{weight_scales, /*per_channel=*/true, bias, hybrid_quantization::symmetric};
//   qsparse::hybrid_gemm(ctx, a_float_mxk, packed, dst_float_mxn, p);
//
// 1. If every activation is zero, dst = bias (or 0) and only the activation clamp is applied.
// 2. Each row m is quantized to int8 on its own (quantize_row_symmetric / quantize_row_asymmetric below,
//    TFLite's PortableSymmetricQuantizeFloats / PortableAsymmetricQuantizeFloats) giving a scaling
//    factor s[m] and an offset z[m] (0 when symmetric).
// 3. acc[m][n] = Σ_k q[m][k] * w[k][n] - z[m] * Σ_k w[k][n]  (the int8 GEMM, exact int32).
// 4. dst[m][n] = bias[n] + float(acc) * (s[m] * w_scale[n])   (the scale product in float first;
//    w_scale[n] is the per-tensor scale when per_channel is false), then clamp to
//    [activation_min, activation_max] (NaN-preserving, as clamp_float).
// TFLite forms step 3's correction in float (exact while |acc| < 2^24); qsparse keeps it in int32.
// Steps 3 and 4 run as one GEMM whose output stage is step 4 (dequantize_rows_float,
// qsparse/spec/hybrid_output_stage.hpp: the row's zero point and scale read in the kernel's epilogue, no
// int32 sums in memory) where the selected GEMM kernel evaluates that stage (gemm_evaluates_row_output: the
// deep kernels of every x86 level and the scalar one) and the destination is a plain view with contiguous
// rows. Otherwise (the shallow tiles for K <= 32, the aarch64 kernels, a strided or non-plain destination)
// the GEMM writes the int32 sums and a second pass (kernels/hybrid_output_kernels.hpp) the floats: the same
// operations in the same order either way, so the same bits.
// The weights must be symmetric (zero point 0) as TFLite requires; rows must be finite.
// Steps 2 to 4 use buffers of the calling thread that grow to the largest call and are kept for the
// next (a worker of ctx that copies a non-contiguous row uses a row buffer of its own);
// hybrid_scratch_bytes() says how large they are, release_hybrid_scratch() frees them.
#pragma once

#include <algorithm>
#include <atomic>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <cstring>
#include <limits>
#include <type_traits>
#include <utility>
#include <vector>

#include "qsparse/core/accessor.hpp"
#include "qsparse/core/context.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/unfused.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/gemm/packed_weights.hpp"
#include "qsparse/kernels/hybrid_output_kernels.hpp"
#include "qsparse/kernels/range_kernels.hpp"
#include "qsparse/kernels/row_quantize_kernels.hpp"
#include "qsparse/spec/hybrid_output_stage.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {

/// How hybrid_gemm quantizes each activation row.
enum class hybrid_quantization { symmetric, asymmetric };

/// The float side of a hybrid GEMM (pointers to the caller's arrays).
struct hybrid_params {
  const float* weight_scales = nullptr;  // N scales when per_channel, else one
  bool per_channel = false;
  const float* bias = nullptr;  // N values, or null
  hybrid_quantization input_quantization = hybrid_quantization::symmetric;
  float activation_min = -std::numeric_limits<float>::infinity();
  float activation_max = std::numeric_limits<float>::infinity();
};

namespace detail {

/// A row's smallest and largest value. A struct, not std::pair<float, float>: GCC on aarch64 notes
/// (-Wpsabi) that std::pair's parameter passing changed in GCC 10.1, an ABI break we need not carry.
struct row_range {
  float lo;
  float hi;
};

/// The row's min and max as TFLite's loops find them (std::min / std::max from x[0]; k >= 1).
inline row_range row_min_max(const float* x, std::ptrdiff_t k) {
  float lo = x[0], hi = x[0];
  for (std::ptrdiff_t i = 1; i < k; ++i) {
    lo = std::min(lo, x[i]);
    hi = std::max(hi, x[i]);
  }
  return {lo, hi};
}

/// std::round (half away from zero) for |y| < 2^23, in operations a compiler vectorizes at any -m level:
/// the truncation is exact, so is y - t, and the tie test sees the true fraction.
inline std::int32_t round_half_away_small(float y) {
  const auto t = static_cast<std::int32_t>(y);
  const float frac = y - static_cast<float>(t);
  return t + static_cast<std::int32_t>(frac >= 0.5f) - static_cast<std::int32_t>(frac <= -0.5f);
}

/// The rounding of the row quantizers: std::round as TFLite writes it, or (Vectorizable) the same
/// values through round_half_away_small — every y here is within 2^9 of 0, since |x| <= range.
template <bool Vectorizable>
inline std::int32_t round_row_value(float y) {
  if constexpr (Vectorizable) {
    return round_half_away_small(y);
  } else {
    return static_cast<std::int32_t>(std::round(y));
  }
}

/// quantize_row_symmetric after its min / max pass (lo, hi: the row's finite min and max).
/// (Vectorizable: the rounding loop on the row quantization kernel `level` runs,
/// kernels/row_quantize_kernels.hpp, the same values.)
template <bool Vectorizable>
inline hybrid_row_quantization quantize_row_symmetric_in_range(const float* x, std::ptrdiff_t k, std::int8_t* q,
                                                               float lo, float hi, isa_level level = isa_level::scalar) {
  const float range = std::max(std::fabs(lo), std::fabs(hi));
  if (range == 0.0f) {
    std::memset(q, 0, static_cast<std::size_t>(k));
    return {1.0f, 0};
  }
  const float inverse = 127.0f / range;
  if constexpr (Vectorizable) {
    kernels::run_quantize_row_round_away(level, x, k, inverse, 0.0f, q, -127);
  } else {
    for (std::ptrdiff_t i = 0; i < k; ++i) {
      const std::int32_t v = round_row_value<Vectorizable>(x[i] * inverse);
      q[i] = static_cast<std::int8_t>(std::min(127, std::max(-127, v)));
    }
  }
  return {range / 127.0f, 0};
}

/// quantize_row_asymmetric's scale and zero point for a row whose min and max are lo and hi ({1, 0} when
/// the range is empty: then every value quantizes to 0). The values round as
/// float(nudged) + x * float(1 / double(scale)).
inline hybrid_row_quantization asymmetric_row_parameters(float lo, float hi) {
  const double rmin = std::fmin(0.0, static_cast<double>(lo));
  const double rmax = std::fmax(0.0, static_cast<double>(hi));
  if (rmin == rmax) return {1.0f, 0};
  // A one-signed row (a softmax row, a ReLU's output) in fewer divisions, the same values: with rmin = 0
  // the zero point from the minimum is -128 with error 128, from the maximum about -128 with error about
  // 382, so the nudged zero point is -128; with rmax = 0 the same argument gives 127.
  if (rmin == 0.0) return {static_cast<float>(rmax / 255.0), -128};
  if (rmax == 0.0) return {static_cast<float>(-rmin / 255.0), 127};
  const double qmin = -128.0, qmax = 127.0;
  const double scale = (rmax - rmin) / (qmax - qmin);
  const double from_min = qmin - rmin / scale;
  const double from_max = qmax - rmax / scale;
  const double from_min_error = std::fabs(qmin) + std::fabs(rmin / scale);
  const double from_max_error = std::fabs(qmax) + std::fabs(rmax / scale);
  const double zero_point = from_min_error < from_max_error ? from_min : from_max;
  std::int32_t nudged = 0;
  if (zero_point <= qmin) {
    nudged = -128;
  } else if (zero_point >= qmax) {
    nudged = 127;
  } else {
    nudged = static_cast<std::int32_t>(std::round(zero_point));
  }
  return {static_cast<float>(scale), nudged};
}

/// quantize_row_asymmetric after its min / max pass.
template <bool Vectorizable>
inline hybrid_row_quantization quantize_row_asymmetric_in_range(const float* x, std::ptrdiff_t k, std::int8_t* q,
                                                                float lo, float hi, isa_level level = isa_level::scalar) {
  const double rmin = std::fmin(0.0, static_cast<double>(lo));
  const double rmax = std::fmax(0.0, static_cast<double>(hi));
  if (rmin == rmax) {
    std::memset(q, 0, static_cast<std::size_t>(k));
    return {1.0f, 0};
  }
  const auto [scaling_factor, nudged] = asymmetric_row_parameters(lo, hi);
  const auto inverse = static_cast<float>(1.0 / static_cast<double>(scaling_factor));
  if constexpr (Vectorizable) {
    kernels::run_quantize_row_round_away(level, x, k, inverse, static_cast<float>(nudged), q, -128);
  } else {
    for (std::ptrdiff_t i = 0; i < k; ++i) {
      const float shifted = static_cast<float>(nudged) + product_not_fused(x[i], inverse);  // as the row kernels
      const std::int32_t v = round_row_value<Vectorizable>(shifted);
      q[i] = static_cast<std::int8_t>(std::min(127, std::max(-128, v)));
    }
  }
  return {scaling_factor, nudged};
}

/// hybrid_gemm's per-thread buffers (the int8 rows, their quantization, the int32 sums, a row copy).
struct hybrid_scratch {
  std::vector<std::int8_t> q;
  std::vector<hybrid_row_quantization> rows;
  std::vector<std::int32_t> acc;
  std::vector<float> row;
};

/// Whether hybrid_gemm keeps its two passes (int32 sums in memory, then the float output) for every kernel:
/// for tests and benchmarks that compare them with the fused output (scoped_hybrid_two_pass).
inline std::atomic<bool>& hybrid_two_pass_storage() noexcept {
  static std::atomic<bool> two_pass{false};
  return two_pass;
}
inline bool hybrid_two_pass() noexcept { return hybrid_two_pass_storage().load(std::memory_order_relaxed); }

/// Sets hybrid_two_pass for its lifetime and restores the previous setting.
class scoped_hybrid_two_pass {
 public:
  explicit scoped_hybrid_two_pass(bool two_pass) : previous_(hybrid_two_pass()) {
    hybrid_two_pass_storage().store(two_pass, std::memory_order_relaxed);
  }
  ~scoped_hybrid_two_pass() { hybrid_two_pass_storage().store(previous_, std::memory_order_relaxed); }
  scoped_hybrid_two_pass(const scoped_hybrid_two_pass&) = delete;
  scoped_hybrid_two_pass& operator=(const scoped_hybrid_two_pass&) = delete;

 private:
  bool previous_;
};

/// The calling thread's hybrid_scratch: one for every instantiation of hybrid_gemm.
inline hybrid_scratch& hybrid_thread_scratch() noexcept {
  thread_local hybrid_scratch scratch;
  return scratch;
}

}  // namespace detail

/// The bytes hybrid_gemm keeps allocated on the calling thread between calls: its int8 copy of the
/// activations (M·K), their row quantizations (8·M), the int32 sums (4·M·N, only for calls that take the
/// two passes: see the top of this header) and a row buffer, each grown to the largest call this thread
/// made (the sums alone would be 25 MB at M = 4096 rows, N = 1536).
inline std::size_t hybrid_scratch_bytes() noexcept {
  const detail::hybrid_scratch& s = detail::hybrid_thread_scratch();
  return s.q.capacity() * sizeof(std::int8_t) + s.rows.capacity() * sizeof(hybrid_row_quantization) +
         s.acc.capacity() * sizeof(std::int32_t) + s.row.capacity() * sizeof(float);
}

/// Frees the buffers hybrid_gemm keeps on the calling thread (hybrid_scratch_bytes() is 0 after); the
/// next call on this thread allocates what it needs again and gives the same results. They belong to
/// the thread that called hybrid_gemm, not to its context: call this on each such thread, e.g. after a
/// large batch. (The context's workers keep only the GEMM kernels' row scratch, a few rows each.)
inline void release_hybrid_scratch() noexcept {
  detail::hybrid_scratch& s = detail::hybrid_thread_scratch();
  std::vector<std::int8_t>().swap(s.q);
  std::vector<hybrid_row_quantization>().swap(s.rows);
  std::vector<std::int32_t>().swap(s.acc);
  std::vector<float>().swap(s.row);
}

/// TFLite PortableSymmetricQuantizeFloats: range = max(|min|, |max|); range 0 → all 0 with scale 1;
/// else scale = range / 127 and q = clamp(round_half_away(x * (127 / range)), -127, 127).
inline hybrid_row_quantization quantize_row_symmetric(const float* x, std::ptrdiff_t k, std::int8_t* q) {
  const auto [lo, hi] = detail::row_min_max(x, k);
  return detail::quantize_row_symmetric_in_range<false>(x, k, q, lo, hi);
}

/// TFLite PortableAsymmetricQuantizeFloats: rmin = min(0, min), rmax = max(0, max) (double);
/// equal → all 0 with scale 1; else scale = (rmax - rmin) / 255, the zero point from the end with the
/// smaller error, clamped with <= / >= and rounded half away; q = clamp(round(zp + x * float(1 / scale))).
inline hybrid_row_quantization quantize_row_asymmetric(const float* x, std::ptrdiff_t k, std::int8_t* q) {
  const auto [lo, hi] = detail::row_min_max(x, k);
  return detail::quantize_row_asymmetric_in_range<false>(x, k, q, lo, hi);
}

/// quantize_row_symmetric / quantize_row_asymmetric (`asymmetric`) at speed, for rows quantized per call
/// (hybrid_gemm's activations, a dynamic-range convolution's image): the min / max pass, with the
/// finiteness check, on the best range kernel `level` runs (kernels/range_kernels.hpp) and the rounding loop on the best row quantization kernel
/// (kernels/row_quantize_kernels.hpp: detail::round_half_away_small's values, the product never fused into
/// the zero point's addition). The same values as the reference functions above, for every finite
/// row; a non-finite value is a qsparse::error naming `fn` and its index. k >= 1.
inline hybrid_row_quantization quantize_row_dynamic(isa_level level, hybrid_quantization how, const float* x,
                                                    std::ptrdiff_t k, std::int8_t* q,
                                                    const char* fn = "qsparse::quantize_row_dynamic") {
  detail::check(k >= 1 && x != nullptr && q != nullptr, fn, ": need k >= 1 and non-null x and q, got k = ", k);
  float lo = std::numeric_limits<float>::infinity();
  float hi = -std::numeric_limits<float>::infinity();
  if (!kernels::run_finite_range_checked(level, x, k, lo, hi)) {  // the range and the check in one pass
    for (std::ptrdiff_t i = 0; i < k; ++i) detail::check(std::isfinite(x[i]), fn, ": values must be finite, got x[", i, "] = ", x[i]);
  }
  return how == hybrid_quantization::symmetric ? detail::quantize_row_symmetric_in_range<true>(x, k, q, lo, hi, level)
                                               : detail::quantize_row_asymmetric_in_range<true>(x, k, q, lo, hi, level);
}

/// The dynamic-range GEMM. See the top of this header.
template <class A, class LA, class AA, class D, class LD, class AD>
void hybrid_gemm(const context& ctx, const tensor_view<A, 2, LA, AA>& activations, const packed_weights_view& weights,
                 const tensor_view<D, 2, LD, AD>& destination, const hybrid_params& params) {
  static_assert(std::is_same_v<std::remove_const_t<A>, float>, "qsparse::hybrid_gemm: activations must be float.");
  static_assert(std::is_same_v<D, float>, "qsparse::hybrid_gemm: the destination must be a view of (non-const) float.");
  const char* fn = "qsparse::hybrid_gemm";
  const index_t m_count = activations.extent(0);
  const index_t k = activations.extent(1);
  detail::check(!weights.empty(), fn, ": the packed weights are empty");
  const index_t n_count = weights.n();
  detail::check(k == weights.k(), fn, ": activations have K = ", k, " columns but the weights were packed with K = ",
                weights.k());
  detail::check(destination.extent(0) == m_count && destination.extent(1) == n_count, fn, ": destination is ",
                destination.extent(0), " x ", destination.extent(1), ", expected M x N = ", m_count, " x ", n_count);
  detail::check(weights.weight_zero_point() == 0, fn, ": weights must be symmetric (zero point 0), got zero point ",
                weights.weight_zero_point());
  detail::check_distinct_elements(fn, "destination", destination);
  detail::check_no_overlap(fn, "destination", destination, "activations", activations);
  detail::check_no_overlap(fn, "destination", destination, "the packed weights", weights.bytes(), weights.size_bytes());
  detail::check(params.weight_scales != nullptr, fn, ": weight_scales must not be null");
  const index_t scale_count = params.per_channel ? n_count : 1;
  for (index_t i = 0; i < scale_count; ++i) {
    detail::check_scale(params.weight_scales[i], fn, "weight_scales", i);
  }
  detail::check(!(params.activation_min > params.activation_max), fn,
                ": activation_min must be <= activation_max, got ", params.activation_min, " and ", params.activation_max);
  // |q - z| <= 255 and |w| <= 128: the corrected int32 sum must not overflow.
  detail::check(static_cast<std::int64_t>(k) * 255 * 128 <= std::numeric_limits<std::int32_t>::max(), fn, ": K = ", k,
                " is too deep for an exact int32 sum (K must be <= 65793)");
  if (m_count == 0) return;

  // Step 1: an all-zero input skips the product.
  bool all_zero = true;
  for (index_t m = 0; m < m_count && all_zero; ++m) {
    for (index_t i = 0; i < k; ++i) {
      if (activations(m, i) != 0.0f) {
        all_zero = false;
        break;
      }
    }
  }
  if (all_zero) {
    for (index_t m = 0; m < m_count; ++m) {
      for (index_t n = 0; n < n_count; ++n) {
        float v = params.bias != nullptr ? params.bias[n] : 0.0f;
        v = v < params.activation_min ? params.activation_min : (v > params.activation_max ? params.activation_max : v);
        destination(m, n) = v;
      }
    }
    return;
  }

  // Step 2: per-row quantization into a contiguous int8 copy.
  // The same values as quantize_row_symmetric / _asymmetric: the min / max pass is find_range's SIMD
  // loop (equal on finite rows up to the sign of a zero bound, which neither formula sees) and the
  // rounding loop runs on the row quantization kernels (detail::round_half_away_small's values). Rows contiguous in memory are
  // read in place; the buffers are per thread and reused from call to call (release_hybrid_scratch frees them).
  constexpr bool plain_activations = std::is_same_v<AA, default_accessor<A>>;
  constexpr bool plain_destination = std::is_same_v<AD, default_accessor<D>>;
  detail::hybrid_scratch& scratch = detail::hybrid_thread_scratch();
  const auto mk = static_cast<std::size_t>(m_count * k), mn = static_cast<std::size_t>(m_count * n_count);
  if (scratch.q.size() < mk) scratch.q.resize(mk);
  if (scratch.rows.size() < static_cast<std::size_t>(m_count)) scratch.rows.resize(static_cast<std::size_t>(m_count));
  // Step 4 runs in the GEMM kernel's epilogue (dequantize_rows_float) where the kernel evaluates it and the
  // destination is a plain view with contiguous rows; else the sums go through memory and a second pass.
  const bool fused = plain_destination && (destination.stride(1) == 1 || n_count == 1) &&
                     (m_count == 1 || destination.stride(0) >= n_count) && !detail::hybrid_two_pass() &&
                     gemm_evaluates_row_output(weights);
  std::int8_t* q = scratch.q.data();
  hybrid_row_quantization* rows = scratch.rows.data();
  const isa_level isa = best_isa();
  // Steps 2 and 4 are per row: on ctx's threads in row chunks (the result of a row does not depend on the
  // cut). A task never throws (a pool worker cannot pass an exception on): a row with a non-finite value
  // is marked, and the first such row is reported after the tasks, as the serial loop would.
  const std::ptrdiff_t chunks = std::min<std::ptrdiff_t>(ctx.concurrency(), m_count >= 16 ? m_count / 8 : 1);
  const auto chunk_rows = [&](std::ptrdiff_t t) {
    return std::make_pair(m_count * t / chunks, m_count * (t + 1) / chunks);
  };
  std::vector<unsigned char> bad(static_cast<std::size_t>(chunks), 0);
  ctx.run_tasks(chunks, [&](std::ptrdiff_t t) {
    const auto [m0, m1] = chunk_rows(t);
    std::vector<float>& copy = detail::hybrid_thread_scratch().row;  // this thread's: a non-contiguous row
    for (index_t m = m0; m < m1; ++m) {
      const float* r = nullptr;
      if constexpr (plain_activations) {
        if (activations.stride(1) == 1) r = &activations(m, 0);
      }
      if (r == nullptr) {
        if (copy.size() < static_cast<std::size_t>(k)) copy.resize(static_cast<std::size_t>(k));
        for (index_t i = 0; i < k; ++i) copy[static_cast<std::size_t>(i)] = activations(m, i);
        r = copy.data();
      }
      float lo = std::numeric_limits<float>::infinity();
      float hi = -std::numeric_limits<float>::infinity();
      if (!kernels::run_finite_range_checked(isa, r, k, lo, hi)) {  // the range and the check in one pass
        bad[static_cast<std::size_t>(t)] = 1;
        return;
      }
      rows[m] = params.input_quantization == hybrid_quantization::symmetric
                    ? detail::quantize_row_symmetric_in_range<true>(r, k, q + m * k, lo, hi, isa)
                    : detail::quantize_row_asymmetric_in_range<true>(r, k, q + m * k, lo, hi, isa);
    }
  });
  for (std::ptrdiff_t t = 0; t < chunks; ++t) {
    if (bad[static_cast<std::size_t>(t)] == 0) continue;
    const auto [m0, m1] = chunk_rows(t);
    for (index_t m = m0; m < m1; ++m) {
      for (index_t i = 0; i < k; ++i) {
        detail::check(std::isfinite(activations(m, i)), fn, ": activations must be finite, got a(", m, ", ", i, ") = ",
                      activations(m, i));
      }
    }
  }

  // Step 3: the int8 GEMM, exact int32 sums of q w; step 4 takes the zero point off through the column sums.
  const std::int32_t* column_sums = weights.column_sums();
  if (fused) {  // gemm()'s checks and its kernel, without its fallback (never needed here)
    const auto q_view = make_view(static_cast<const std::int8_t*>(q), m_count, k);
    detail::check_gemm_operands(fn, q_view, 0, weights, destination);
    const kernels::gemm_args<std::int8_t, float> g{q, k, 0, m_count, k, n_count, weights, &destination(0, 0),
                                                   m_count > 1 ? destination.stride(0) : n_count};
    if (detail::run_row_output_gemm(ctx, g,
                                    pipeline(dequantize_rows_float{rows, column_sums, params.weight_scales,
                                                                   params.per_channel, params.bias,
                                                                   params.activation_min, params.activation_max}))) {
      return;
    }
  }
  if (scratch.acc.size() < mn) scratch.acc.resize(mn);
  std::int32_t* acc = scratch.acc.data();
  gemm(ctx, make_view(static_cast<const std::int8_t*>(q), m_count, k), weights, make_view(acc, m_count, n_count),
       pipeline());

  // Step 4: the float output, row by row.
  ctx.run_tasks(chunks, [&](std::ptrdiff_t t) {
    const auto [m0, m1] = chunk_rows(t);
    std::vector<float>& copy = detail::hybrid_thread_scratch().row;  // this thread's: a non-contiguous row
    for (index_t m = m0; m < m1; ++m) {
      const hybrid_row_quantization rq = rows[m];
      float* out = nullptr;
      if constexpr (plain_destination) {
        if (destination.stride(1) == 1) out = &destination(m, 0);
      }
      if (out == nullptr) {
        if (copy.size() < static_cast<std::size_t>(n_count)) copy.resize(static_cast<std::size_t>(n_count));
        out = copy.data();
      }
      kernels::run_hybrid_output_row(weights.isa(), acc + m * n_count, n_count, rq.zero_point, column_sums, rq.scale,
                                     params.weight_scales, params.per_channel, params.bias, params.activation_min,
                                     params.activation_max, out);
      if (out == copy.data()) {
        for (index_t n = 0; n < n_count; ++n) destination(m, n) = out[n];
      }
    }
  });
}

/// The definition of hybrid_gemm on unpacked K×N int8 weights, in plain loops (int64 sums).
template <class A, class LA, class AA, class W, class LW, class AW, class D, class LD, class AD>
void reference_hybrid_gemm(const tensor_view<A, 2, LA, AA>& activations, const tensor_view<W, 2, LW, AW>& weights,
                           const tensor_view<D, 2, LD, AD>& destination, const hybrid_params& params) {
  const index_t m_count = activations.extent(0);
  const index_t k = activations.extent(1);
  const index_t n_count = weights.extent(1);
  bool all_zero = true;
  for (index_t m = 0; m < m_count; ++m) {
    for (index_t i = 0; i < k; ++i) all_zero = all_zero && activations(m, i) == 0.0f;
  }
  std::vector<float> row(static_cast<std::size_t>(k));
  std::vector<std::int8_t> q(static_cast<std::size_t>(k));
  for (index_t m = 0; m < m_count; ++m) {
    for (index_t i = 0; i < k; ++i) row[static_cast<std::size_t>(i)] = activations(m, i);
    const hybrid_row_quantization rq = params.input_quantization == hybrid_quantization::symmetric
                                           ? quantize_row_symmetric(row.data(), k, q.data())
                                           : quantize_row_asymmetric(row.data(), k, q.data());
    for (index_t n = 0; n < n_count; ++n) {
      if (all_zero) {
        float v = params.bias != nullptr ? params.bias[n] : 0.0f;
        destination(m, n) = v < params.activation_min ? params.activation_min
                                                      : (v > params.activation_max ? params.activation_max : v);
        continue;
      }
      std::int64_t acc = 0;
      for (index_t i = 0; i < k; ++i) {
        acc += (std::int64_t{q[static_cast<std::size_t>(i)]} - rq.zero_point) * std::int64_t{weights(i, n)};
      }
      destination(m, n) = detail::hybrid_output(static_cast<std::int32_t>(acc), rq.scale,
                                                params.weight_scales[params.per_channel ? n : 0], params.bias, n,
                                                params.activation_min, params.activation_max);
    }
  }
}

}  // namespace qsparse
