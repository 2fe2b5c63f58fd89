#include "qsparse/calibrate/error_metrics.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

using qsparse::error_stats;

namespace {
constexpr double inf = std::numeric_limits<double>::infinity();
}  // namespace

TEST_CASE("error_stats: SQNR, RMSE and max abs error of hand-made spans", "[calibrate][error_metrics]") {
  // reference (3, 4), approx (3, 5): signal 25, noise 1.
  const float r[] = {3.0f, 4.0f}, a[] = {3.0f, 5.0f};
  error_stats s;
  s.add(r, a, 2);
  CHECK(s.count() == 2);
  CHECK(s.signal_power() == 25.0);
  CHECK(s.noise_power() == 1.0);
  CHECK(s.sqnr_db() == 10.0 * std::log10(25.0));
  CHECK(s.rmse() == std::sqrt(0.5));
  CHECK(s.max_abs() == 1.0);

  // Errors of both signs; the largest is negative. reference (1, -2, 0.5, 0), approx (1.5, -2.25, 0.5, -1):
  // e = (0.5, -0.25, 0, -1): noise 0.25 + 0.0625 + 1 = 1.3125; signal 1 + 4 + 0.25 = 5.25.
  const float r2[] = {1.0f, -2.0f, 0.5f, 0.0f}, a2[] = {1.5f, -2.25f, 0.5f, -1.0f};
  error_stats t;
  t.add(r2, a2, 4);
  CHECK(t.noise_power() == 1.3125);
  CHECK(t.signal_power() == 5.25);
  CHECK(t.sqnr_db() == 10.0 * std::log10(4.0));
  CHECK(t.rmse() == std::sqrt(1.3125 / 4));
  CHECK(t.max_abs() == 1.0);

  // The difference is taken in double: 1 + 2^-23 against 1 is 2^-23 exactly, not rounded away.
  const float one = 1.0f, next = std::nextafter(1.0f, 2.0f);
  error_stats u;
  u.add(&one, &next, 1);
  CHECK(u.max_abs() == std::ldexp(1.0, -23));
  CHECK(u.noise_power() == std::ldexp(1.0, -46));
}

TEST_CASE("error_stats: batches added or merged give the statistics of the whole", "[calibrate][error_metrics]") {
  std::vector<float> r(37), a(37);
  for (std::size_t i = 0; i < r.size(); ++i) {
    r[i] = static_cast<float>(i) * 0.25f - 3.0f;
    a[i] = r[i] + (i % 3 == 0 ? 0.125f : i % 3 == 1 ? -0.0625f : 0.0f);
  }
  error_stats whole, parts, left, right;
  whole.add(r.data(), a.data(), r.size());
  parts.add(r.data(), a.data(), 10);
  parts.add(r.data() + 10, a.data() + 10, 27);
  left.add(r.data(), a.data(), 20);
  right.add(r.data() + 20, a.data() + 20, 17);
  left.merge(right);
  for (const error_stats* s : {&parts, &left}) {
    CHECK(s->count() == 37);
    CHECK(s->signal_power() == whole.signal_power());  // sums of dyadic values: exact in any grouping
    CHECK(s->noise_power() == whole.noise_power());
    CHECK(s->max_abs() == 0.125);
    CHECK(s->sqnr_db() == whole.sqnr_db());
    CHECK(s->rmse() == whole.rmse());
  }
  // noise = 13 · 0.125² + 12 · 0.0625² (i % 3 == 0 for 13 of 0..36, == 1 for 12)
  CHECK(whole.noise_power() == 13 * 0.015625 + 12 * 0.00390625);
}

TEST_CASE("error_stats: edges — identical, empty, zero signal", "[calibrate][error_metrics]") {
  error_stats empty;
  CHECK(empty.count() == 0);
  CHECK(empty.sqnr_db() == inf);
  CHECK(empty.rmse() == 0.0);
  CHECK(empty.max_abs() == 0.0);
  empty.add(nullptr, nullptr, 0);  // nothing to add: null is fine
  CHECK(empty.count() == 0);

  const float r[] = {-1.0f, 2.0f, 0.0f};
  error_stats same;
  same.add(r, r, 3);
  CHECK(same.sqnr_db() == inf);
  CHECK(same.rmse() == 0.0);
  CHECK(same.max_abs() == 0.0);

  const float zeros[] = {0.0f, -0.0f}, some[] = {0.5f, 0.0f};
  error_stats z;
  z.add(zeros, some, 2);
  CHECK(z.sqnr_db() == -inf);
  CHECK(z.rmse() == std::sqrt(0.25 / 2));
  CHECK(z.max_abs() == 0.5);
}

TEST_CASE("error_stats: non-finite values and null spans are errors naming the argument", "[calibrate][error_metrics]") {
  const float ok[] = {1.0f, 2.0f};
  const float bad_nan[] = {1.0f, std::numeric_limits<float>::quiet_NaN()};
  const float bad_inf[] = {-std::numeric_limits<float>::infinity(), 2.0f};
  error_stats s;
  CHECK_THROWS_WITH(s.add(bad_nan, ok, 2), Catch::Contains("reference[1] must be finite"));
  CHECK_THROWS_WITH(s.add(ok, bad_inf, 2), Catch::Contains("approx[0] must be finite"));
  CHECK_THROWS_WITH(s.add(nullptr, ok, 2), Catch::Contains("reference must not be null"));
  CHECK_THROWS_WITH(s.add(ok, nullptr, 2), Catch::Contains("approx must not be null"));
  CHECK_THROWS_AS(s.add(ok, bad_inf, 2), qsparse::error);
  CHECK(s.count() == 0);  // a failed add changes nothing
  CHECK(s.max_abs() == 0.0);
}
