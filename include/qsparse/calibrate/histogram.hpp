// qsparse/calibrate/histogram.hpp — a fixed-size, exactly mergeable histogram of float tensors.
//
//   qsparse::histogram h(2048);        // 2048 bins, a power of two in [16, 2^20]
//   h.add(batch);                      // any view of float; NaN and ±inf are skipped
//   h.merge(other);                    // as if `other`'s tensors had been added here
//
// The grid is canonical: the bins have width w = 2^e and are centred on zero, bin b holding
// [(b - bins/2) * w, (b - bins/2 + 1) * w) (qsparse/kernels/scalar/histogram.hpp). The exponent e is the
// smallest integer >= -126 for which every finite value seen satisfies |x| < (bins/2) * 2^e, so it is a
// function of max |x| alone. When new data needs a larger range, e grows and the counts are coarsened
// by adding adjacent bins (2^d of them for a growth of d), which is exact: the histogram of some data
// at exponent e is the same whatever order, batching or merging brought the data in. Hence
// `h.add(a); h.add(b)` and `merge(hist(a), hist(b))` give identical counts, the memory never grows (the
// bins, plus 32 KiB of counting scratch for 2048 bins), and calibration can run on many threads and
// combine.
//
// Counts are uint64. The observed finite [min, max] is kept exactly. Each add() reads the tensor twice:
// once for its range (the min/max kernel) and once to bin it (AVX-512 / AVX2 kernels compute the bins,
// bit-exact with the scalar rule; counting is scalar into four interleaved tables, so runs of equal
// values do not serialise on one counter).
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <vector>

#include "qsparse/calibrate/range.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/kernels/histogram_kernels.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/histogram.hpp"
#include "qsparse/quant/elementwise_n.hpp"

namespace qsparse {

class histogram {
 public:
  /// The smallest bin exponent: bins of width 2^-126 (FLT_MIN).
  static constexpr int min_exponent = -126;

  /// `bins` must be a power of two in [16, 2^20]; throws qsparse::error otherwise.
  explicit histogram(index_t bins = 2048) : bins_(bins) {
    detail::check(bins >= 16 && bins <= (index_t{1} << 20) && (bins & (bins - 1)) == 0,
                  "qsparse::histogram: bins must be a power of two in [16, 1048576], got bins = ", bins);
    half_ = static_cast<std::int32_t>(bins / 2);
    log2_half_ = 0;
    while ((std::int32_t{1} << log2_half_) < half_) ++log2_half_;
    counts_.assign(static_cast<std::size_t>(bins), 0);
  }

  /// Adds the finite elements of x, binning on kernels of at most `level` (which this CPU must support).
  template <class View>
  void add_isa(isa_level level, const View& x) {
    const value_range r = find_range_isa(level, x);  // checks the view type and the level
    if (r.empty()) return;
    const float m = std::max(std::fabs(r.min), std::fabs(r.max));
    grow_to(exponent_for(m));
    range_ = range_.merged(r);
    ensure_scratch();
    const float inv = inverse_width();
    const float* p = x.data_handle();
    detail::for_each_run_n(
        -1,
        [&](const auto& o, index_t n, index_t) {
          for (index_t done = 0; done < n; done += block) {
            const index_t len = std::min<index_t>(block, n - done);
            bins_of(level, p + o[0] + done, len, inv, block_.data());
            count_block(len);
          }
        },
        [&](const auto&, index_t) {},
        [&](const auto& o, index_t n, const auto& s, index_t) {
          for (index_t done = 0; done < n; done += block) {
            const index_t len = std::min<index_t>(block, n - done);
            kernels::scalar::histogram_bins_strided(p + o[0] + done * s[0], len, s[0], inv, half_, block_.data());
            count_block(len);
          }
        },
        x);
    flush();
  }
  template <class View>
  void add(const View& x) {
    add_isa(best_isa(), x);
  }

  /// Folds in another histogram's counts. Throws qsparse::error when the bin counts differ.
  void merge(const histogram& other) {
    detail::check(other.bins_ == bins_, "qsparse::histogram::merge: the histograms have different bin counts: ", bins_,
                  " vs ", other.bins_);
    if (other.total_ == 0) return;
    grow_to(other.exponent_);
    std::vector<std::uint64_t> theirs = other.counts_;
    coarsen(theirs, exponent_ - other.exponent_);
    for (std::size_t i = 0; i < counts_.size(); ++i) counts_[i] += theirs[i];
    total_ += other.total_;
    range_ = range_.merged(other.range_);
  }

  void reset() {
    std::fill(counts_.begin(), counts_.end(), 0);
    total_ = 0;
    exponent_ = min_exponent;
    range_ = value_range{};
  }

  index_t bins() const { return bins_; }
  /// The bin width is 2^exponent().
  int exponent() const { return exponent_; }
  double bin_width() const { return std::ldexp(1.0, exponent_); }
  /// The lower edge of bin b (b in [0, bins()]; b = bins() is the upper edge of the last bin): exact.
  double edge(index_t b) const { return std::ldexp(static_cast<double>(b - half_), exponent_); }
  std::uint64_t count(index_t b) const { return counts_[static_cast<std::size_t>(b)]; }
  const std::vector<std::uint64_t>& counts() const { return counts_; }
  /// The number of finite values added.
  std::uint64_t total() const { return total_; }
  bool empty() const { return total_ == 0; }
  /// The exact finite range of everything added ({+inf, -inf} while empty).
  value_range range() const { return range_; }

  /// The exponent this histogram needs for a largest magnitude m (>= 0, finite).
  int exponent_for(float m) const {
    if (!(m > 0.0f)) return min_exponent;
    int p = 0;
    (void)std::frexp(m, &p);  // m < 2^p
    return std::max(min_exponent, p - log2_half_);
  }

 private:
  static constexpr index_t block = 1024;
  static constexpr int tables = 4;

  float inverse_width() const { return static_cast<float>(std::ldexp(1.0, -exponent_)); }

  void bins_of(isa_level level, const float* x, index_t n, float inv, std::int32_t* out) const {
    kernels::with_best_kernel(kernels::histogram_kernels{}, level,
                              [&](auto kernel) { decltype(kernel)::histogram_bins(x, n, inv, half_, out); });
  }

  void ensure_scratch() {
    if (block_.empty()) {
      block_.assign(static_cast<std::size_t>(block), 0);
      scratch_.assign(static_cast<std::size_t>(tables) * static_cast<std::size_t>(bins_ + 1), 0);
    }
  }

  // Element k of a block counts in table k % 4 (entry bins() of each table collects non-finite values).
  void count_block(index_t n) {
    const std::size_t stride = static_cast<std::size_t>(bins_ + 1);
    std::uint32_t* t = scratch_.data();
    const std::int32_t* b = block_.data();
    index_t i = 0;
    for (; i + tables <= n; i += tables) {
      ++t[static_cast<std::size_t>(b[i])];
      ++t[stride + static_cast<std::size_t>(b[i + 1])];
      ++t[2 * stride + static_cast<std::size_t>(b[i + 2])];
      ++t[3 * stride + static_cast<std::size_t>(b[i + 3])];
    }
    for (; i < n; ++i) ++t[static_cast<std::size_t>(b[i])];
    pending_ += static_cast<std::uint64_t>(n);
    if (pending_ >= (std::uint64_t{1} << 31)) flush();  // a table entry can never reach 2^32
  }

  void flush() {
    const std::size_t stride = static_cast<std::size_t>(bins_ + 1);
    for (std::size_t i = 0; i < static_cast<std::size_t>(bins_); ++i) {
      std::uint64_t c = 0;
      for (int k = 0; k < tables; ++k) {
        c += scratch_[static_cast<std::size_t>(k) * stride + i];
        scratch_[static_cast<std::size_t>(k) * stride + i] = 0;
      }
      counts_[i] += c;
      total_ += c;
    }
    for (int k = 0; k < tables; ++k) scratch_[static_cast<std::size_t>(k) * stride + stride - 1] = 0;
    pending_ = 0;
  }

  void grow_to(int exponent) {
    if (exponent <= exponent_) return;
    coarsen(counts_, exponent - exponent_);
    exponent_ = exponent;
  }

  // Bin b at exponent e goes to bin floor((b - half) / 2^d) + half at exponent e + d.
  void coarsen(std::vector<std::uint64_t>& c, int d) const {
    if (d <= 0) return;
    const int shift = std::min(d, 30);
    std::vector<std::uint64_t> out(c.size(), 0);
    for (std::size_t b = 0; b < c.size(); ++b) {
      if (c[b] == 0) continue;
      const std::int64_t centred = static_cast<std::int64_t>(b) - half_;
      const std::int64_t floored = centred >= 0 ? centred >> shift : -((-centred - 1) >> shift) - 1;
      out[static_cast<std::size_t>(floored + half_)] += c[b];
    }
    c.swap(out);
  }

  index_t bins_;
  std::int32_t half_ = 0;
  int log2_half_ = 0;
  int exponent_ = min_exponent;
  std::vector<std::uint64_t> counts_;
  std::uint64_t total_ = 0;
  value_range range_;
  std::vector<std::int32_t> block_;
  std::vector<std::uint32_t> scratch_;
  std::uint64_t pending_ = 0;
};

}  // namespace qsparse
