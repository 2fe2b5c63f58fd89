#include "qsparse/calibrate/range_search.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <map>
#include <vector>

#include "qsparse/core/unfused.hpp"
#include "support/testing.hpp"

using namespace qsparse;

namespace {

histogram histogram_of(const std::vector<float>& x, index_t bins) {
  histogram h(bins);
  h.add(make_view(x.data(), static_cast<index_t>(x.size())));
  return h;
}

/// Gaussian data with a few large outliers: clipping them is what the searches are for.
std::vector<float> gaussian_with_outliers(std::size_t n, std::uint32_t seed) {
  auto x = qsparse::testing::random_floats(n, 1.0f, seed);
  x[3] = 40.0f;
  x[n / 2] = -25.0f;
  x[n - 7] = 31.0f;
  return x;
}

// ---- brute force, written independently of the library's search ------------------------------------

/// KL(P || Q) by TensorRT's recipe, following its Python loop literally (groups by floor(j * levels / i)).
double trt_divergence(std::vector<double> bins, std::size_t i, std::int64_t levels) {
  double outliers = 0;
  for (std::size_t k = i; k < bins.size(); ++k) outliers += bins[k];
  std::vector<double> reference(bins.begin(), bins.begin() + static_cast<std::ptrdiff_t>(i));
  reference[i - 1] += outliers;
  std::map<std::int64_t, double> sums, nonempty;
  for (std::size_t j = 0; j < i; ++j) {
    if (bins[j] == 0) continue;
    const std::int64_t g = static_cast<std::int64_t>(j) * levels / static_cast<std::int64_t>(i);
    sums[g] += bins[j];
    nonempty[g] += 1;
  }
  std::vector<double> quantized(i, 0.0);
  for (std::size_t j = 0; j < i; ++j) {
    if (bins[j] == 0) continue;
    const std::int64_t g = static_cast<std::int64_t>(j) * levels / static_cast<std::int64_t>(i);
    quantized[j] = sums[g] / nonempty[g];
  }
  double sp = 0, sq = 0;
  for (std::size_t j = 0; j < i; ++j) {
    sp += reference[j];
    sq += quantized[j];
  }
  double kl = 0;
  for (std::size_t j = 0; j < i; ++j) {
    if (reference[j] == 0) continue;
    if (quantized[j] == 0) return std::numeric_limits<double>::infinity();
    kl += detail::product_not_fused(reference[j] / sp, std::log((reference[j] / sp) / (quantized[j] / sq)));
  }
  return kl;
}

/// The TensorRT threshold index over every i in [start, stop] (stride 1), last argmin.
std::size_t brute_entropy_symmetric(const histogram& h, std::size_t start, std::int64_t levels) {
  const std::size_t half = static_cast<std::size_t>(h.bins() / 2);
  std::vector<double> a(half);
  for (std::size_t k = 0; k < half; ++k) a[k] = double(h.counts()[half + k]) + double(h.counts()[half - 1 - k]);
  std::size_t stop = half;
  while (stop > 0 && a[stop - 1] == 0) --stop;
  a.resize(stop);
  a[0] = a[1];
  double best = std::numeric_limits<double>::infinity();
  std::size_t best_i = stop;
  for (std::size_t i = start; i <= stop; ++i) {
    const double kl = trt_divergence(a, i, levels);
    if (kl <= best) {
      best = kl;
      best_i = i;
    }
  }
  return best_i;
}

/// Mean squared error of fake quantizing every bin centre under Scheme's params for [lo, hi].
template <class Scheme>
double brute_error(const histogram& h, float lo, float hi) {
  const per_tensor_params p = choose_params<Scheme>(lo, hi);
  double e = 0;
  for (index_t b = 0; b < h.bins(); ++b) {
    if (h.count(b) == 0) continue;
    const float c = static_cast<float>((h.edge(b) + h.edge(b + 1)) / 2);
    const auto q = quantize_value<typename Scheme::rounding, typename Scheme::storage>(c, p.scale, p.zero_point);
    const double d = double(c) - double(dequantize_value<typename Scheme::rounding>(q, p.scale, p.zero_point));
    e += detail::product_not_fused(double(h.count(b)) * d, d);  // as the search: no FMA contraction
  }
  return e;
}

}  // namespace

TEST_CASE("percentile_range: known answers", "[range_search][percentile]") {
  std::vector<float> x;
  for (int v = 1; v <= 100; ++v) x.push_back(static_cast<float>(v));
  const histogram h = histogram_of(x, 2048);  // width 1/8 over [-128, 128)
  REQUIRE(h.bin_width() == 0.125);
  // 99 %: at most one value at or above T; the smallest such edge is just above 99.
  const value_range r = percentile_range(h, 99.0, true);
  CHECK(r.max == 99.125f);
  CHECK(r.min == -99.125f);
  CHECK(percentile_range(h, 100.0, true).max == 100.0f);  // clipped to the observed maximum
  // Affine: at most one value below lo and one above hi.
  const value_range a = percentile_range(h, 99.0, false);
  CHECK(a.min == 2.0f);
  CHECK(a.max == 99.125f);
  CHECK(percentile_range(h, 100.0, false).min == 1.0f);
  // A constant tensor keeps its value (TensorRT's lower-edge rule would clip it).
  const std::vector<float> c(1000, 1.3f);
  const histogram hc = histogram_of(c, 2048);
  CHECK(percentile_range(hc, 99.99, true).max == 1.3f);
  CHECK(percentile_range(hc, 99.99, false).min == 1.3f);
  CHECK(percentile_range(hc, 99.99, false).max == 1.3f);
  CHECK(percentile_range(histogram(64), 99.0, true).empty());
  CHECK_THROWS_WITH(percentile_range(h, 40.0, false),
                    "qsparse::percentile_range: an affine range needs percentile in [50, 100], got percentile = 40");
  CHECK_THROWS_AS(percentile_range(h, 0.0, true), qsparse::error);
  CHECK_THROWS_AS(percentile_range(h, 100.5, true), qsparse::error);
}

TEST_CASE("entropy_range (symmetric) lands where TensorRT's search by brute force lands", "[range_search][entropy]") {
  for (std::uint32_t seed : {1u, 2u, 3u}) {
    for (index_t bins : {512, 2048}) {
      const histogram h = histogram_of(gaussian_with_outliers(20000, seed), bins);
      for (std::int64_t levels : {128, 16}) {
        const std::size_t want = brute_entropy_symmetric(h, 128, levels);
        const value_range got = entropy_range(h, levels, true, search_options{128, 1});
        INFO("seed " << seed << " bins " << bins << " levels " << levels);
        const double t = std::ldexp(static_cast<double>(want), h.exponent());
        CHECK(got.max == static_cast<float>(std::min<double>(t, 40.0)));
        CHECK(got.min == -got.max);
      }
    }
  }
  // With TensorRT's resolution (at least 2048 bins over [0, max |x|]) the outliers are clipped: TensorRT's
  // own code gives 4.12 on this kind of data (200k samples, outliers at 25-40).
  const histogram fine = histogram_of(gaussian_with_outliers(200000, 5), 8192);
  const float t = entropy_range<tflite_int8_weight_per_tensor>(fine).max;
  CHECK(t > 3.0f);
  CHECK(t < 6.0f);
}

TEST_CASE("entropy_range (affine) lands on the brute-force minimum over every window", "[range_search][entropy]") {
  auto x = gaussian_with_outliers(5000, 9);
  for (auto& v : x) v = v + 1.0f;  // asymmetric around zero
  const histogram h = histogram_of(x, 64);
  const auto c = [&] {
    std::vector<double> v;
    for (auto n : h.counts()) v.push_back(static_cast<double>(n));
    return v;
  }();
  const index_t zero = 32;
  index_t first = 0, end = 64;
  while (h.count(first) == 0) ++first;
  while (h.count(end - 1) == 0) --end;
  std::vector<double> sums, counts;
  double best = std::numeric_limits<double>::infinity();
  index_t bs = -1, bt = -1;
  for (index_t s = first; s <= zero; ++s) {
    for (index_t t = end; t >= zero; --t) {
      if (t - s < 4) continue;
      double left = 0, right = 0;
      for (index_t k = 0; k < s; ++k) left += c[static_cast<std::size_t>(k)];
      for (index_t k = t; k < 64; ++k) right += c[static_cast<std::size_t>(k)];
      // TensorRT's recipe on the window (the literal loop above, with the outliers split to both ends).
      std::vector<double> window(c.begin() + s, c.begin() + t);
      std::vector<double> bins_with_right = window;
      bins_with_right.push_back(right);
      double kl;
      {
        std::vector<double> ref = window;
        ref.front() += left;
        ref.back() += right;
        std::map<std::int64_t, double> gs, gn;
        const auto L = static_cast<std::int64_t>(window.size());
        for (std::int64_t j = 0; j < L; ++j)
          if (window[static_cast<std::size_t>(j)] != 0) {
            gs[j * 256 / L] += window[static_cast<std::size_t>(j)];
            gn[j * 256 / L] += 1;
          }
        double sp = 0, sq = 0;
        std::vector<double> q(window.size(), 0);
        for (std::int64_t j = 0; j < L; ++j) {
          if (window[static_cast<std::size_t>(j)] != 0) q[static_cast<std::size_t>(j)] = gs[j * 256 / L] / gn[j * 256 / L];
          sp += ref[static_cast<std::size_t>(j)];
          sq += q[static_cast<std::size_t>(j)];
        }
        kl = 0;
        for (std::size_t j = 0; j < ref.size(); ++j) {
          if (ref[j] == 0) continue;
          if (q[j] == 0) {
            kl = std::numeric_limits<double>::infinity();
            break;
          }
          kl += detail::product_not_fused(ref[j] / sp, std::log((ref[j] / sp) / (q[j] / sq)));
        }
      }
      if (kl < best) {
        best = kl;
        bs = s;
        bt = t;
      }
    }
  }
  const value_range got = entropy_range(h, 256, false, search_options{4, 1});
  CHECK(got.min == static_cast<float>(std::max<double>(h.edge(bs), std::min(h.range().min, 0.0f))));
  CHECK(got.max == static_cast<float>(std::min<double>(h.edge(bt), h.range().max)));
}

TEST_CASE("mse_range lands on the brute-force minimum", "[range_search][mse]") {
  const histogram h = histogram_of(gaussian_with_outliers(8000, 4), 256);
  {  // symmetric: every threshold
    double best = std::numeric_limits<double>::infinity();
    float want = 0;
    const float m = 40.0f;
    for (index_t i = 128; i >= 1; --i) {
      const float t = std::min(static_cast<float>(std::ldexp(static_cast<double>(i), h.exponent())), m);
      const double e = brute_error<torch_qint8>(h, -t, t);
      if (e < best) {
        best = e;
        want = t;
      }
    }
    const value_range got = mse_range<torch_qint8>(h, search_options{1, 1});
    CHECK(got.max == want);
    CHECK(got.min == -want);
    // Three outliers of 25-40 in 8000 values cost more clipped than the body costs unclipped: no clipping.
    CHECK(got.max == 40.0f);
  }
  {  // affine: every window containing the zero edge
    using S = tflite_int8_activation;
    double best = std::numeric_limits<double>::infinity();
    value_range want;
    index_t first = 0, end = 256;
    while (h.count(first) == 0) ++first;
    while (h.count(end - 1) == 0) --end;
    for (index_t s = first; s <= 128; ++s)
      for (index_t t = end; t >= 128; --t) {
        if (t - s < 1) continue;
        const float lo = static_cast<float>(std::max<double>(h.edge(s), std::min(h.range().min, 0.0f)));
        const float hi = static_cast<float>(std::min<double>(h.edge(t), h.range().max));
        const double e = brute_error<S>(h, lo, hi);
        if (e < best) {
          best = e;
          want = {lo, hi};
        }
      }
    const value_range got = mse_range<S>(h, search_options{1, 1});
    CHECK(got.min == want.min);
    CHECK(got.max == want.max);
  }
}

TEST_CASE("searches: constant data, a single value, empty histograms, bad options", "[range_search][errors]") {
  const std::vector<float> c(500, 2.5f);
  const histogram h = histogram_of(c, 2048);
  // Nothing to clip: every search keeps the observed value.
  CHECK(entropy_range<torch_qint8>(h).max == 2.5f);
  CHECK(mse_range<torch_qint8>(h).max == 2.5f);
  CHECK(mse_range<torch_quint8>(h).max == 2.5f);
  CHECK(entropy_range<torch_quint8>(h).max == 2.5f);
  const float single = -0.75f;
  const histogram one = histogram_of(std::vector<float>{single}, 64);
  CHECK(entropy_range<tflite_int8_activation>(one).min == -0.75f);
  CHECK(mse_range<tflite_int8_activation>(one).min == -0.75f);
  CHECK(entropy_range<torch_qint8>(one).max == 0.75f);
  const histogram empty(64);
  CHECK(entropy_range<torch_qint8>(empty).empty());
  CHECK(mse_range<torch_quint8>(empty).empty());
  CHECK_THROWS_WITH(entropy_range(h, 1, true), "qsparse::entropy_range: levels must be at least 2, got levels = 1");
  CHECK_THROWS_WITH(mse_range<torch_qint8>(h, search_options{0, 1}),
                    "qsparse::mse_range: options.start must be at least 1, got start = 0");
  CHECK_THROWS_AS(entropy_range(h, 128, false, search_options{1, -2}), qsparse::error);
}
