#include "qsparse/calibrate/torch_histogram_observer.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "qsparse/quant/scheme.hpp"
#include "support/testing.hpp"

namespace vectors {
#include "data/torch_compat_vectors.inc"
}  // namespace vectors

using namespace qsparse;
using qsparse::testing::from_bits;
using qsparse::testing::to_bits;

namespace {

using torch_qint8_affine = scheme<std::int8_t, per_tensor, affine, round_half_to_even>;
using torch_quint8_symmetric = scheme<std::uint8_t, per_tensor, symmetric, round_half_to_even>;

per_tensor_params torch_params(const qsparse::torch_histogram_observer& o, const char* dtype, const char* mapping) {
  const bool u8 = std::strcmp(dtype, "quint8") == 0, affine_mapping = std::strcmp(mapping, "affine") == 0;
  if (u8) return affine_mapping ? o.params<torch_quint8>() : o.params<torch_quint8_symmetric>();
  return affine_mapping ? o.params<torch_qint8_affine>() : o.params<torch_qint8>();
}

}  // namespace

TEST_CASE("torch_histogram_observer equals HistogramObserver (PyTorch 1.13)", "[torch_histogram]") {
  int n = 0;
  for (const auto& c : vectors::torch_histogram_observer) {
    qsparse::torch_histogram_observer o;
    std::vector<float> x(192);
    for (int i = 0; i < 192; ++i) x[static_cast<std::size_t>(i)] = from_bits(c.x_bits[i]);
    for (int b = 0; b < 3; ++b) o.observe(make_view(x.data() + 64 * b, 64));
    INFO(c.dtype << " " << c.mapping << " case " << n);
    CHECK(to_bits(o.min()) == c.min_bits);
    CHECK(to_bits(o.max()) == c.max_bits);
    const per_tensor_params p = torch_params(o, c.dtype, c.mapping);
    CHECK(to_bits(p.scale) == c.scale_bits);
    CHECK(p.zero_point == c.zero_point);
    ++n;
  }
  CHECK(n == 6);
}

namespace {

using torch_quint8_rr = scheme<quant_range<std::uint8_t, 0, 127>, per_tensor, affine, round_half_to_even>;
using torch_qint8_rr = scheme<quant_range<std::int8_t, -64, 63>, per_tensor, affine, round_half_to_even>;

per_tensor_params run_params(const qsparse::torch_histogram_observer& o, const vectors::torch_histogram_run& r) {
  if (r.reduce_range) return std::strcmp(r.dtype, "quint8") == 0 ? o.params<torch_quint8_rr>() : o.params<torch_qint8_rr>();
  return torch_params(o, r.dtype, r.mapping);
}

}  // namespace

TEST_CASE("torch_histogram_observer equals HistogramObserver on long runs: histogram, search, qparams",
          "[torch_histogram]") {
  int runs = 0, bins_checked = 0;
  for (const auto& r : vectors::torch_histogram_runs) {
    qsparse::torch_histogram_observer o;
    int offset = r.x_offset;
    for (int b = 0; b < r.batches; ++b) {
      std::vector<float> x(static_cast<std::size_t>(r.batch_size[b]));
      for (auto& v : x) v = from_bits(vectors::torch_histogram_run_x[offset++]);
      o.observe(make_view(static_cast<const float*>(x.data()), static_cast<index_t>(x.size())));
    }
    INFO(r.dtype << " " << r.mapping << " " << r.kind << (r.reduce_range ? " reduce_range" : "") << " run " << runs);
    CHECK(to_bits(o.min()) == r.min_bits);
    CHECK(to_bits(o.max()) == r.max_bits);
    // The whole histogram buffer: the listed bins carry these exact floats, every other bin is 0.
    std::vector<float> want(2048, 0.0f);
    for (int i = 0; i < r.bins_count; ++i) {
      const std::uint32_t index = vectors::torch_histogram_run_bins[2 * (r.bins_offset + i)];
      want[index] = from_bits(vectors::torch_histogram_run_bins[2 * (r.bins_offset + i) + 1]);
    }
    int equal = 0;
    for (std::size_t i = 0; i < want.size(); ++i) equal += to_bits(o.histogram()[i]) == to_bits(want[i]);
    CHECK(equal == 2048);
    bins_checked += equal;
    const value_range searched = o.range<torch_quint8>();
    CHECK(to_bits(searched.min) == r.search_min_bits);
    CHECK(to_bits(searched.max) == r.search_max_bits);
    const per_tensor_params p = run_params(o, r);
    CHECK(to_bits(p.scale) == r.scale_bits);
    CHECK(p.zero_point == r.zero_point);
    ++runs;
  }
  CHECK(runs == 16);
  CHECK(bins_checked == 16 * 2048);
}

TEST_CASE("torch_histogram_observer: empty, non-finite, merge, reset and bad arguments", "[torch_histogram]") {
  qsparse::torch_histogram_observer o;
  CHECK(o.empty());
  CHECK(o.range<torch_quint8>().empty());
  CHECK(o.params<torch_quint8>().scale == 1.0f);
  CHECK(o.params<torch_quint8>().zero_point == 0);
  CHECK(o.params<torch_qint8>().zero_point == 0);
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  const float junk[3] = {nan, inf, -inf};
  o.observe(make_view(junk, 3));  // nothing finite: nothing changes
  CHECK(o.empty());
  o.observe(make_view(junk, 0));
  CHECK(o.empty());
  // A first batch inside (-1, 1): int(min) == int(max) == 0, so histc bins over the batch's own range;
  // NaN and inf are skipped. Two values: bins 0 and 2047 (the last edge is inclusive).
  const float first[4] = {-0.5f, nan, 0.75f, inf};
  o.observe(make_view(first, 4));
  CHECK(o.min() == -0.5f);
  CHECK(o.max() == 0.75f);
  CHECK(o.histogram()[0] == 1.0f);
  CHECK(o.histogram()[2047] == 1.0f);
  // A first batch over [-2.5, 3.5]: histc bins over the truncated [-2, 3], so -2.5 and 3.5 are not counted.
  qsparse::torch_histogram_observer t;
  const float wide[4] = {-2.5f, -2.0f, 3.0f, 3.5f};
  t.observe(make_view(wide, 4));
  float total = 0.0f;
  for (float v : t.histogram()) total += v;
  CHECK(total == 2.0f);
  CHECK(t.histogram()[0] == 1.0f);
  CHECK(t.histogram()[2047] == 1.0f);
  // merge: copies from or into an empty observer, refuses two non-empty ones.
  qsparse::torch_histogram_observer copy;
  copy.merge(o);
  CHECK(copy.histogram() == o.histogram());
  CHECK(copy.min() == o.min());
  copy.merge(qsparse::torch_histogram_observer{});
  CHECK_THROWS_AS(copy.merge(o), qsparse::error);
  CHECK_THROWS_AS(copy.merge(qsparse::torch_histogram_observer(1024)), qsparse::error);
  copy.reset();
  CHECK(copy.empty());
  CHECK(copy.histogram()[0] == 0.0f);
  CHECK_THROWS_AS(qsparse::torch_histogram_observer(0), qsparse::error);
  CHECK_THROWS_AS(qsparse::torch_histogram_observer(2048, 0), qsparse::error);
  // A constant first batch (min == max) is replaced by the next batch, as PyTorch does.
  qsparse::torch_histogram_observer c;
  const float same[2] = {4.0f, 4.0f}, next[2] = {-1.0f, 9.0f};
  c.observe(make_view(same, 2));
  CHECK(c.histogram()[1024] == 2.0f);  // histc over [3, 5] after the ±1 widening: 4 is the middle edge
  c.observe(make_view(next, 2));
  CHECK(c.min() == -1.0f);
  CHECK(c.max() == 9.0f);
  float sum = 0.0f;
  for (float v : c.histogram()) sum += v;
  CHECK(sum == 2.0f);
  // A range so narrow that PyTorch's upsampled bin width underflows: PyTorch fails, qsparse throws.
  qsparse::torch_histogram_observer narrow;
  const float tiny[2] = {0.0f, 1e-40f}, more[1] = {1.0f};
  narrow.observe(make_view(tiny, 2));
  CHECK_THROWS_AS(narrow.observe(make_view(more, 1)), qsparse::error);
  // A first batch over [-FLT_MAX, FLT_MAX]: the float32 bin formula overflows (NaN for 0 and FLT_MAX), so
  // qsparse bins those in double; a second batch cannot widen a range whose width overflows.
  qsparse::torch_histogram_observer huge;
  const float big = std::numeric_limits<float>::max();
  const float extremes[3] = {-big, 0.0f, big};
  huge.observe(make_view(extremes, 3));
  CHECK(huge.histogram()[0] == 1.0f);
  CHECK(huge.histogram()[1024] == 1.0f);
  CHECK(huge.histogram()[2047] == 1.0f);
  CHECK_THROWS_AS(huge.observe(make_view(more, 1)), qsparse::error);
  static_assert(is_observer_v<qsparse::torch_histogram_observer>, "the observer contract");
}

TEST_CASE("torch_cascade_sum is PyTorch's float32 sum order", "[torch_histogram]") {
  int cases = 0;
  for (const auto& c : vectors::torch_sum_cases) {
    std::vector<float> x(static_cast<std::size_t>(c.n));
    for (int i = 0; i < c.n; ++i) x[static_cast<std::size_t>(i)] = from_bits(vectors::torch_sum_x[c.x_offset + i]);
    INFO("n = " << c.n);
    CHECK(to_bits(detail::torch_cascade_sum(x.data(), c.n)) == c.sum_bits);
    ++cases;
  }
  CHECK(cases == 10);
  // 1 + 2^-24 * n loses every small term when summed in order; the cascade's partial sums keep some.
  std::vector<float> x(2048, std::ldexp(1.0f, -24));
  x[0] = 1.0f;
  const float cascade = detail::torch_cascade_sum(x.data(), 2048);
  float sequential = 0.0f;
  for (float v : x) sequential += v;
  CHECK(sequential == 1.0f);
  CHECK(cascade > 1.0f);
  // Exact sums agree whatever the order; lengths that exercise the tails.
  for (index_t n : {0, 1, 7, 8, 31, 33, 100, 513, 2048, 5000}) {
    std::vector<float> ones(static_cast<std::size_t>(n), 1.0f);
    CHECK(detail::torch_cascade_sum(ones.data(), n) == static_cast<float>(n));
  }
}
