// qsparse/calibrate/torch_histogram_observer.hpp — PyTorch 1.13's HistogramObserver, bit for bit.
//
//   qsparse::torch_histogram_observer o;            // bins 2048, upsample_rate 128 (PyTorch's defaults)
//   for (auto& batch : calibration_set) o.observe(batch);
//   auto p = o.params<qsparse::torch_quint8>();     // HistogramObserver(dtype=quint8).calculate_qparams()
//
// This is not qsparse's own histogram (qsparse/calibrate/histogram.hpp, exact and mergeable): it is the
// float32 histogram of torch.ao.quantization.HistogramObserver (PyTorch 1.13), reproduced operation by
// operation so that its parameters equal PyTorch's. Its rules, as PyTorch computes them:
//
// observe(x), over the finite elements of x (PyTorch has no rule for NaN or ±inf; qsparse skips them, and
// a batch without a finite value changes nothing):
//   * First batch, or the stored min == max: min, max = the batch's; the histogram is replaced by
//     histc(x, bins, trunc(min), trunc(max)) — PyTorch passes int(min_val), int(max_val) to torch.histc,
//     so the bins cover the truncated range (values outside it are not counted); when the two truncated
//     bounds are equal histc takes the batch's own min and max instead (and widens an empty range by ±1).
//   * Later batches: cmin = min(min, batch min), cmax = max(max, batch max); in float32,
//     w = (max - min) / (bins * upsample), d = ceil((cmax - cmin) / (bins * w)),
//     cmax += d * (bins * w) - (cmax - cmin), start = round_half_even((min - cmin) / w); the batch is binned
//     by histc(x, bins, trunc(cmin), trunc(cmax)). If [cmin, cmax] is the stored range the old counts are
//     added; otherwise the old histogram is repeated `upsample` times onto a grid of width w, placed at
//     `start`, summed in double over groups of d fine bins and divided by `upsample` (each group sum is
//     taken as a difference of a double prefix sum and the float32 rounding of the previous prefix sum),
//     then added in float32.
//   * histc bins element x of [lo, hi] (float edges) into int64((x - lo) * bins / (hi - lo)) in float32,
//     the last edge inclusive.
// range<Scheme>() is _non_linear_param_search: cumulative sums in float32 accumulated in double, the total
// and each candidate's L2 error summed in float32 in the order of PyTorch's AVX2 cascade sum; quantiles
// compared in float32; alpha / beta stepping by 1e-5 in double; the error of a candidate [s, e] computed
// per source bin in float32 (`div(..., rounding_mode='floor')`, (e^3 - b^3) / 3 densities), exactly as
// _compute_quantization_error; the search stops at the first candidate whose error grows. The result is
// min + (max - min) / bins * s and min + (max - min) / bins * (e + 1) in float32.
// params<Scheme>() = choose_params<Scheme> of that range — PyTorch's _calculate_qparams under the PyTorch
// rounding policy (torch_quint8 for quint8 per_tensor_affine, torch_qint8 for qint8 per_tensor_symmetric,
// ...). The number of destination bins is 2^8 = 256 (2 ** iinfo(dtype).bits, whatever quant_min/quant_max
// are), so Scheme's storage must be 8 bits wide.
//
// merge(other): PyTorch's histogram depends on the order of its batches and PyTorch offers no merge; merging
// into or from an observer that saw nothing copies, and merging two observers that both saw data throws
// qsparse::error. Memory: the bins (float32), plus a bins * upsample double table while a batch widens
// the range (PyTorch allocates bins * d floats there; d can be huge, qsparse never allocates it).
// Where PyTorch fails (a range so narrow that w underflows to 0, or so wide that max - min overflows),
// observe() throws qsparse::error; in a first batch wider than FLT_MAX, where PyTorch's float32 bin formula
// overflows (its conversion of NaN is undefined), qsparse computes that formula in double.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "qsparse/calibrate/observer.hpp"
#include "qsparse/calibrate/range.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/unfused.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/quant/elementwise_n.hpp"
#include "qsparse/quant/params.hpp"

namespace qsparse {

namespace detail {

/// The float32 sum torch.sum computes for a contiguous CPU float tensor of n elements (PyTorch 1.13's
/// cascade_sum with AVX2 vectors of `lanes` = 8 floats): four interleaved vector accumulators summed in
/// levels of 16, the scalar tail, then the lanes in order. Fewer than `lanes` elements take PyTorch's
/// scalar path: the same cascade over single floats.
inline float torch_cascade_sum(const float* x, index_t n, index_t lanes = 8) {
  if (n < lanes) lanes = 1;
  constexpr index_t ilp = 4;
  constexpr int levels = 4;
  const index_t vec_count = n / lanes;
  const index_t rows = vec_count / ilp;
  std::vector<float> acc(static_cast<std::size_t>(levels * ilp * lanes), 0.0f);
  auto at = [&](int level, index_t k, index_t lane) -> float& {
    return acc[static_cast<std::size_t>((level * ilp + k) * lanes + lane)];
  };
  auto add_row = [&](index_t row) {
    for (index_t k = 0; k < ilp; ++k) {
      const float* v = x + (row * ilp + k) * lanes;
      for (index_t l = 0; l < lanes; ++l) at(0, k, l) += v[l];
    }
  };
  int ceil_log2 = 0;
  while ((index_t{1} << ceil_log2) < rows) ++ceil_log2;
  const int level_power = std::max(4, ceil_log2 / levels);
  const index_t level_step = index_t{1} << level_power;
  const index_t level_mask = level_step - 1;
  index_t i = 0;
  while (i + level_step <= rows) {
    for (index_t j = 0; j < level_step; ++j, ++i) add_row(i);
    for (int j = 1; j < levels; ++j) {
      for (index_t k = 0; k < ilp; ++k) {
        for (index_t l = 0; l < lanes; ++l) {
          at(j, k, l) += at(j - 1, k, l);
          at(j - 1, k, l) = 0.0f;
        }
      }
      if ((i & (level_mask << (j * level_power))) != 0) break;
    }
  }
  for (; i < rows; ++i) add_row(i);
  for (int j = 1; j < levels; ++j) {
    for (index_t k = 0; k < ilp; ++k) {
      for (index_t l = 0; l < lanes; ++l) at(0, k, l) += at(j, k, l);
    }
  }
  for (index_t v = rows * ilp; v < vec_count; ++v) {
    for (index_t l = 0; l < lanes; ++l) at(0, 0, l) += x[v * lanes + l];
  }
  for (index_t k = 1; k < ilp; ++k) {
    for (index_t l = 0; l < lanes; ++l) at(0, 0, l) += at(0, k, l);
  }
  float total = 0.0f;
  for (index_t t = vec_count * lanes; t < n; ++t) total += x[t];
  for (index_t l = 0; l < lanes; ++l) total += at(0, 0, l);
  return total;
}

/// Python-style floor division of floats (torch.div(a, b, rounding_mode='floor')), b != 0.
inline float torch_div_floor(float a, float b) {
  const float mod = std::fmod(a, b);
  float div = (a - mod) / b;
  if (mod != 0.0f && ((b < 0.0f) != (mod < 0.0f))) div -= 1.0f;
  if (div == 0.0f) return std::copysign(0.0f, a / b);
  float floordiv = std::floor(div);
  if (div - floordiv > 0.5f) floordiv += 1.0f;
  return floordiv;
}

/// a * b rounded to float32 on its own (never contracted with a following addition into an FMA), as
/// PyTorch's separate tensor operations compute it.
inline float torch_mul(float a, float b) { return product_not_fused(a, b); }

/// (e^3 - b^3) / 3 in float32, each operation rounded (HistogramObserver._get_norm without the density).
inline float torch_l2_cube_norm(float b, float e) {
  const float e3 = torch_mul(torch_mul(e, e), e);
  const float b3 = torch_mul(torch_mul(b, b), b);
  return (e3 - b3) / 3.0f;
}

}  // namespace detail

/// PyTorch 1.13's HistogramObserver (see the header comment for the exact rules).
class torch_histogram_observer {
 public:
  /// PyTorch's defaults: 2048 bins, upsample_rate 128. Both must be positive (bins at most 2^24,
  /// upsample_rate at most 2^16); throws qsparse::error otherwise.
  explicit torch_histogram_observer(index_t bins = 2048, index_t upsample_rate = 128)
      : bins_(bins), upsample_(upsample_rate) {
    detail::check(bins >= 1 && bins <= (index_t{1} << 24), "qsparse::torch_histogram_observer: bins must be in [1, ",
                  index_t{1} << 24, "], got bins = ", bins);
    detail::check(upsample_rate >= 1 && upsample_rate <= (index_t{1} << 16),
                  "qsparse::torch_histogram_observer: upsample_rate must be in [1, 65536], got upsample_rate = ",
                  upsample_rate);
    hist_.assign(static_cast<std::size_t>(bins), 0.0f);
  }

  /// HistogramObserver.forward(x) on the finite elements of x (any rank and layout of float).
  template <class View>
  void observe(const View& x) {
    const value_range r = find_range(x);
    if (r.empty()) return;
    if (empty() || min_ == max_) {
      min_ = r.min;
      max_ = r.max;
      std::fill(hist_.begin(), hist_.end(), 0.0f);
      histc(x, r, std::trunc(static_cast<double>(min_)), std::trunc(static_cast<double>(max_)), hist_);
      return;
    }
    const float cmin = std::min(r.min, min_);
    float cmax = std::max(r.max, max_);
    // _adjust_min_max, in float32.
    const float width = (max_ - min_) / static_cast<float>(bins_ * upsample_);
    const float span = static_cast<float>(bins_) * width;
    const float d = std::ceil((cmax - cmin) / span);
    detail::check(width > 0.0f && std::isfinite(d) && d >= 1.0f,
                  "qsparse::torch_histogram_observer::observe: the observed range [", min_, ", ", max_,
                  "] is too narrow or too wide for PyTorch's upsampling (its bin width (max - min) / (bins * "
                  "upsample_rate) is ", width, "; PyTorch fails here too)");
    const float grow = detail::torch_mul(d, span) - (cmax - cmin);
    cmax = cmax + grow;
    const float start = std::nearbyint((min_ - cmin) / width);
    std::vector<float> next(static_cast<std::size_t>(bins_), 0.0f);
    histc(x, r, std::trunc(static_cast<double>(cmin)), std::trunc(static_cast<double>(cmax)), next);
    if (cmin == min_ && cmax == max_) {
      for (std::size_t i = 0; i < next.size(); ++i) next[i] += hist_[i];
    } else {
      combine(next, static_cast<double>(d), static_cast<double>(start));
    }
    hist_.swap(next);
    min_ = cmin;
    max_ = cmax;
  }

  /// Copies when one side saw nothing; throws qsparse::error when both did (see the header comment).
  void merge(const torch_histogram_observer& other) {
    detail::check(other.bins_ == bins_ && other.upsample_ == upsample_,
                  "qsparse::torch_histogram_observer::merge: the observers have different bins / upsample_rate: ",
                  bins_, "/", upsample_, " vs ", other.bins_, "/", other.upsample_);
    if (other.empty()) return;
    detail::check(empty(),
                  "qsparse::torch_histogram_observer::merge: both observers saw data; PyTorch's histogram depends "
                  "on the order of its batches and has no merge (observe the batches in one observer)");
    *this = other;
  }

  void reset() {
    std::fill(hist_.begin(), hist_.end(), 0.0f);
    min_ = std::numeric_limits<float>::infinity();
    max_ = -std::numeric_limits<float>::infinity();
  }

  bool empty() const { return min_ > max_; }
  index_t bins() const { return bins_; }
  index_t upsample_rate() const { return upsample_; }
  /// PyTorch's min_val / max_val (max_val includes the upsampling's widening).
  float min() const { return min_; }
  float max() const { return max_; }
  /// PyTorch's `histogram` buffer.
  const std::vector<float>& histogram() const { return hist_; }

  /// The range _non_linear_param_search picks ({+inf, -inf} while empty).
  template <class Scheme>
  value_range range() const {
    detail::check_per_tensor_scheme<Scheme>();
    static_assert(sizeof(typename Scheme::value_type) == 1,
                  "qsparse::torch_histogram_observer: PyTorch's HistogramObserver quantizes to 2^8 levels "
                  "(quint8 / qint8 storage)");
    if (empty()) return value_range{};
    return search(256);
  }

  template <class Scheme>
  per_tensor_params params() const {
    return detail::params_from_range<Scheme>(range<Scheme>());
  }

 private:
  // torch.histc(x, bins, lo, hi) over the finite elements of x, added into `out`.
  template <class View>
  void histc(const View& x, const value_range& data, double lo, double hi, std::vector<float>& out) const {
    if (lo == hi) {
      lo = data.min;
      hi = data.max;
    }
    if (lo == hi) {
      lo -= 1.0;
      hi += 1.0;
    }
    const float left = static_cast<float>(lo), right = static_cast<float>(hi);
    const float count = static_cast<float>(bins_);
    const float* p = x.data_handle();
    auto bin = [&](float v) {
      if (!(v >= left && v <= right)) return;  // NaN and values outside the edges are not counted
      const float scaled = detail::torch_mul(v - left, count);
      float q = scaled / (right - left);
      // q is in [0, bins] except on a range wider than FLT_MAX, where the float32 formula overflows and q is
      // NaN (PyTorch's conversion is then undefined): such a value is binned by the same formula in double.
      if (!(q >= 0.0f && q <= count)) {
        const double wide = (static_cast<double>(v) - left) * static_cast<double>(bins_) / (static_cast<double>(right) - left);
        q = static_cast<float>(std::min(wide, static_cast<double>(bins_)));
      }
      auto pos = static_cast<index_t>(q);
      if (pos == bins_) --pos;
      out[static_cast<std::size_t>(pos)] += 1.0f;
    };
    detail::for_each_run_n(
        -1,
        [&](const auto& o, index_t n, index_t) {
          for (index_t i = 0; i < n; ++i) bin(p[o[0] + i]);
        },
        [&](const auto&, index_t) {},
        [&](const auto& o, index_t n, const auto& s, index_t) {
          for (index_t i = 0; i < n; ++i) bin(p[o[0] + i * s[0]]);
        },
        x);
  }

  // _combine_histograms: the old histogram upsampled onto the fine grid at `start`, summed over groups of d.
  void combine(std::vector<float>& next, double d, double start) const {
    const index_t fine = bins_ * upsample_;
    std::vector<double> prefix(static_cast<std::size_t>(fine) + 1, 0.0);
    double sum = 0.0;
    for (index_t j = 0; j < fine; ++j) {
      sum += static_cast<double>(hist_[static_cast<std::size_t>(j / upsample_)]);
      prefix[static_cast<std::size_t>(j + 1)] = sum;
    }
    auto integral = [&](index_t k) {  // the double cumulative sum at fine index (k + 1) * d - 1
      const double upto = detail::product_not_fused(static_cast<double>(k + 1), d) - start;
      if (upto <= 0.0) return 0.0;
      if (upto >= static_cast<double>(fine)) return prefix[static_cast<std::size_t>(fine)];
      return prefix[static_cast<std::size_t>(upto)];
    };
    const double up = static_cast<double>(upsample_);
    double previous = 0.0;
    for (index_t k = 0; k < bins_; ++k) {
      const double current = integral(k);
      const double shifted = static_cast<double>(static_cast<float>(previous));
      next[static_cast<std::size_t>(k)] += static_cast<float>((current - shifted) / up);
      previous = current;
    }
  }

  // _compute_quantization_error(s, e).
  double error(index_t s, index_t e, index_t dst_bins, std::vector<float>& norms) const {
    const double bin_width = (static_cast<double>(max_) - static_cast<double>(min_)) / static_cast<double>(bins_);
    const double dst_width = bin_width * static_cast<double>(e - s + 1) / static_cast<double>(dst_bins);
    if (dst_width == 0.0) return 0.0;
    const float bw = static_cast<float>(bin_width);
    const float dw = static_cast<float>(dst_width);
    const float half = static_cast<float>(dst_width / 2);
    const float neg_half = static_cast<float>(-dst_width / 2);
    const float last = static_cast<float>(dst_bins - 1);
    const float middle = detail::torch_l2_cube_norm(neg_half, half);
    for (index_t i = 0; i < bins_; ++i) {
      using detail::torch_mul;
      const float begin = torch_mul(static_cast<float>(i - s), bw);
      const float end = begin + bw;
      const float b = std::clamp(detail::torch_div_floor(begin, dw), 0.0f, last);
      const float b_center = torch_mul(b + 0.5f, dw);
      const float f = std::clamp(detail::torch_div_floor(end, dw), 0.0f, last);
      const float density = hist_[static_cast<std::size_t>(i)] / bw;
      float norm = 0.0f;
      norm = norm + torch_mul(density, detail::torch_l2_cube_norm(begin - b_center, half));
      norm = norm + torch_mul((f - b) - 1.0f, torch_mul(density, middle));
      const float f_center = torch_mul(f, dw) + half;
      norm = norm + torch_mul(density, detail::torch_l2_cube_norm(neg_half, end - f_center));
      norms[static_cast<std::size_t>(i)] = norm;
    }
    return static_cast<double>(detail::torch_cascade_sum(norms.data(), bins_));
  }

  // _non_linear_param_search.
  value_range search(index_t dst_bins) const {
    const double total = static_cast<double>(detail::torch_cascade_sum(hist_.data(), bins_));
    std::vector<float> csum(hist_.size());
    double running = 0.0;
    for (std::size_t i = 0; i < hist_.size(); ++i) {
      running += static_cast<double>(hist_[i]);
      csum[i] = static_cast<float>(running);
    }
    std::vector<float> norms(hist_.size());
    constexpr double step = 1e-5;
    double alpha = 0.0, beta = 1.0;
    index_t start = 0, end = bins_ - 1;
    double norm_min = std::numeric_limits<double>::infinity();
    while (alpha < beta) {
      const double next_alpha = alpha + step;
      const double next_beta = beta - step;
      const float lower = static_cast<float>(next_alpha * total);
      const float upper = static_cast<float>(next_beta * total);
      index_t l = start, r = end;
      while (l < end && csum[static_cast<std::size_t>(l)] < lower) ++l;
      while (r > start && csum[static_cast<std::size_t>(r)] > upper) --r;
      index_t next_start = start, next_end = end;
      if (l - start > end - r) {
        next_start = l;
        alpha = next_alpha;
      } else {
        next_end = r;
        beta = next_beta;
      }
      if (next_start == start && next_end == end) continue;
      const double norm = error(next_start, next_end, dst_bins, norms);
      if (norm > norm_min) break;
      norm_min = norm;
      start = next_start;
      end = next_end;
    }
    const float bin_width = (max_ - min_) / static_cast<float>(bins_);
    return value_range{min_ + detail::torch_mul(bin_width, static_cast<float>(start)),
                       min_ + detail::torch_mul(bin_width, static_cast<float>(end + 1))};
  }

  index_t bins_;
  index_t upsample_;
  std::vector<float> hist_;
  float min_ = std::numeric_limits<float>::infinity();
  float max_ = -std::numeric_limits<float>::infinity();
};

}  // namespace qsparse
