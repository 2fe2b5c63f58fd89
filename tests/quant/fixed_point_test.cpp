// Tests for qsparse/quant/fixed_point.hpp: every worked example of TFLite's MultiplyByQuantizedMultiplier (docs/numerics.md), the argument checks, and
// an oracle comparison with gemmlowp's own fixedpoint.h (Debian libgemmlowp-dev) over random and
// adversarial inputs, composed the way TFLite composes MultiplyByQuantizedMultiplier.
#include "qsparse/quant/fixed_point.hpp"

#include <gemmlowp/fixedpoint/fixedpoint.h>

#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <string>
#include <vector>

namespace {

using qsparse::quantized_multiplier;
using std::int32_t;
using std::int64_t;

__extension__ typedef __int128 int128;  // exact oracle arithmetic (GCC/Clang extension)

constexpr int32_t int32_min = std::numeric_limits<int32_t>::min();
constexpr int32_t int32_max = std::numeric_limits<int32_t>::max();

// Values where rounding, saturation and sign handling change.
std::vector<int32_t> adversarial_values() {
  std::vector<int32_t> v = {int32_min, int32_min + 1, int32_min + 2, -(1 << 30) - 1, -(1 << 30), -(1 << 30) + 1,
                            -65537, -65536, -32768, -257, -256, -255, -5, -3, -2, -1, 0, 1, 2, 3, 5, 255, 256,
                            257, 32767, 32768, 65536, (1 << 30) - 1, 1 << 30, (1 << 30) + 1, int32_max - 1,
                            int32_max};
  for (int e = 1; e < 31; ++e) {  // ±2^e and ±(2^e ± 2^(e-1)): ties for every exponent
    const int32_t p = int32_t{1} << e, h = p >> 1;
    for (int32_t x : {p, p - 1, p + h, p - h, 3 * h}) {
      v.push_back(x);
      v.push_back(-x);
    }
  }
  return v;
}

// A mix of uniform values, adversarial values and exact ties at a random bit position.
class value_source {
 public:
  explicit value_source(std::uint64_t seed) : rng_(seed), adversarial_(adversarial_values()) {}
  int32_t operator()() {
    switch (rng_() % 4) {
      case 0: return adversarial_[rng_() % adversarial_.size()];
      case 1: {  // random high bits, then 1 followed by zeros: a tie for some exponent
        const int bit = static_cast<int>(rng_() % 31);
        const auto u = static_cast<std::uint32_t>(rng_());
        return static_cast<int32_t>(((u >> bit) << bit) | (std::uint32_t{1} << bit) >> 1);
      }
      case 2: return static_cast<int32_t>(static_cast<int64_t>(rng_() % 2001) - 1000);
      default: return static_cast<int32_t>(static_cast<std::uint32_t>(rng_()));
    }
  }
  int32_t multiplier() {  // typical quantized multipliers plus edge ones
    if (rng_() % 8 == 0) return adversarial_[rng_() % adversarial_.size()];
    return static_cast<int32_t>((int64_t{1} << 30) + static_cast<int64_t>(rng_() % (int64_t{1} << 30)));
  }
  std::mt19937_64& rng() { return rng_; }

 private:
  std::mt19937_64 rng_;
  std::vector<int32_t> adversarial_;
};

// TFLite's MultiplyByQuantizedMultiplier (double rounding) from gemmlowp's primitives. Where TFLite's
// `x * (1 << left_shift)` is defined this is exactly TFLite; elsewhere the product is saturated
// (qsparse's documented choice), computed here independently in 128-bit arithmetic.
int32_t tflite_multiply_by_quantized_multiplier(int32_t x, int32_t multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const int128 shifted = static_cast<int128>(x) * (static_cast<int128>(1) << left_shift);
  const int32_t input =
      shifted > int32_max ? int32_max : shifted < int32_min ? int32_min : static_cast<int32_t>(shifted);
  return gemmlowp::RoundingDivideByPOT(gemmlowp::SaturatingRoundingDoublingHighMul(input, multiplier), right_shift);
}

// TFLITE_SINGLE_ROUNDING MultiplyByQuantizedMultiplier in 128-bit arithmetic, saturated.
int32_t tflite_single_rounding(int32_t x, int32_t multiplier, int shift) {
  const int total_shift = 31 - shift;
  int128 r = (static_cast<int128>(x) * multiplier + (static_cast<int128>(1) << (total_shift - 1))) >> total_shift;
  return r > int32_max ? int32_max : r < int32_min ? int32_min : static_cast<int32_t>(r);
}

// x * M / 2^(31 - shift) rounded once, ties away from zero, in 128-bit arithmetic, saturated (x any int64).
int32_t single_rounding_away_oracle(int64_t x, int32_t multiplier, int shift) {
  const int total_shift = 31 - shift;
  const int128 p = static_cast<int128>(x) * multiplier;
  const int128 magnitude = ((p < 0 ? -p : p) + (static_cast<int128>(1) << (total_shift - 1))) >> total_shift;
  const int128 r = p < 0 ? -magnitude : magnitude;
  return r > int32_max ? int32_max : r < int32_min ? int32_min : static_cast<int32_t>(r);
}

// SRDHM (gemmlowp's) of the saturated left-shifted input, then floor((v + 2^(e-1)) / 2^e) in 64 bits.
int32_t double_rounding_up_oracle(int32_t x, int32_t multiplier, int shift) {
  const int left_shift = shift > 0 ? shift : 0;
  const int right_shift = shift > 0 ? 0 : -shift;
  const int128 shifted = static_cast<int128>(x) * (static_cast<int128>(1) << left_shift);
  const int32_t input =
      shifted > int32_max ? int32_max : shifted < int32_min ? int32_min : static_cast<int32_t>(shifted);
  const int64_t high = gemmlowp::SaturatingRoundingDoublingHighMul(input, multiplier);
  if (right_shift == 0) return static_cast<int32_t>(high);
  return static_cast<int32_t>((high + (int64_t{1} << (right_shift - 1))) >> right_shift);
}

// Counts mismatches in a hot loop without Catch's per-assertion cost; keeps the first for the report.
class mismatches {
 public:
  template <class... Parts>
  void record(bool ok, const Parts&... parts) {
    if (ok) return;
    if (count_++ == 0) first_ = qsparse::detail::concat(parts...);
  }
  long count() const { return count_; }
  const std::string& first() const { return first_; }

 private:
  long count_ = 0;
  std::string first_;
};

}  // namespace

TEST_CASE("quantize_multiplier reproduces TFLite QuantizeMultiplier on TFLite's worked examples") {
  struct example {
    double real;
    int32_t multiplier;
    int shift;
  };
  const example examples[] = {
      {1.0, 1073741824, 1},          {0.5, 1073741824, 0},         {0.75, 1610612736, 0},
      {0.1, 1717986918, -3},         {1.0 / 255, 1077952576, -7},  {3.999999999, 2147483647, 2},
      {0.99999999999, 1073741824, 1},  // the carry case: round(q * 2^31) == 2^31
      {0.0, 0, 0},
  };
  for (const example& e : examples) {
    CAPTURE(e.real);
    const quantized_multiplier q = qsparse::quantize_multiplier(e.real);
    CHECK(q.multiplier == e.multiplier);
    CHECK(q.shift == e.shift);
    const quantized_multiplier s = qsparse::quantize_multiplier_single_rounding(e.real);
    CHECK(s == q);  // the single-rounding clamp only affects shift > 30
  }
  CHECK(qsparse::quantize_multiplier(-0.0) == quantized_multiplier{0, 0});
}

TEST_CASE("quantize_multiplier flushes tiny values, keeps huge ones, clamps for single rounding") {
  // 2^-32 = 0.5 * 2^-31 is the smallest kept; 2^-33 (shift -32) and denormals flush to (0, 0).
  CHECK(qsparse::quantize_multiplier(std::ldexp(1.0, -32)) == quantized_multiplier{1 << 30, -31});
  CHECK(qsparse::quantize_multiplier(std::ldexp(1.0, -33)) == quantized_multiplier{0, 0});
  CHECK(qsparse::quantize_multiplier(std::ldexp(1.0, -32) * 0.99999999999) == quantized_multiplier{1 << 30, -31});
  CHECK(qsparse::quantize_multiplier(std::numeric_limits<double>::denorm_min()) == quantized_multiplier{0, 0});
  // Large multipliers: double rounding keeps the shift, single rounding clamps at shift 30.
  CHECK(qsparse::quantize_multiplier(std::ldexp(1.0, 29)) == quantized_multiplier{1 << 30, 30});
  CHECK(qsparse::quantize_multiplier(std::ldexp(1.0, 30)) == quantized_multiplier{1 << 30, 31});
  CHECK(qsparse::quantize_multiplier_single_rounding(std::ldexp(1.0, 29)) == quantized_multiplier{1 << 30, 30});
  CHECK(qsparse::quantize_multiplier_single_rounding(std::ldexp(1.0, 30)) == quantized_multiplier{int32_max, 30});
  // DBL_MAX = (1 - 2^-53) * 2^1024 rounds up to 2^31 * 2^-31: the carry case at the top of the range.
  CHECK(qsparse::quantize_multiplier(std::numeric_limits<double>::max()) == quantized_multiplier{1 << 30, 1025});
  CHECK(qsparse::quantize_multiplier_single_rounding(std::numeric_limits<double>::max()) ==
        quantized_multiplier{int32_max, 30});
  CHECK(qsparse::double_rounding::quantize(0.1) == qsparse::quantize_multiplier(0.1));
  CHECK(qsparse::single_rounding::quantize(1e12) == quantized_multiplier{int32_max, 30});
}

TEST_CASE("quantize_multiplier is within half a unit of 2^(shift-31) and round-trips through to_real") {
  std::mt19937_64 rng(7);
  std::uniform_real_distribution<double> mantissa(0.5, 1.0);
  mismatches bad;
  for (int i = 0; i < 20000; ++i) {
    const double real = std::ldexp(mantissa(rng), static_cast<int>(rng() % 60) - 30);
    const quantized_multiplier q = qsparse::quantize_multiplier(real);
    bad.record(q.multiplier >= (1 << 30) && std::fabs(qsparse::to_real(q) - real) <= std::ldexp(0.5, q.shift - 31) &&
                   qsparse::quantize_multiplier(qsparse::to_real(q)) == q,
               "real = ", real, " -> (", q.multiplier, ", ", q.shift, ")");
  }
  INFO(bad.first());
  REQUIRE(bad.count() == 0);
  CHECK(qsparse::to_real({1073741824, 1}) == 1.0);
  CHECK(qsparse::to_real({1717986918, -3}) == 1717986918.0 / 17179869184.0);
}

TEST_CASE("quantize_multiplier rejects negative, NaN and infinite multipliers, naming the value") {
  using Catch::Matchers::Contains;
  CHECK_THROWS_AS(qsparse::quantize_multiplier(-1.0), qsparse::error);
  CHECK_THROWS_WITH(qsparse::quantize_multiplier(-0.25),
                    Contains("qsparse::quantize_multiplier") && Contains("real = -0.25"));
  CHECK_THROWS_WITH(qsparse::quantize_multiplier(std::numeric_limits<double>::quiet_NaN()), Contains("real = nan"));
  CHECK_THROWS_WITH(qsparse::quantize_multiplier(std::numeric_limits<double>::infinity()), Contains("real = inf"));
  CHECK_THROWS_WITH(qsparse::quantize_multiplier_single_rounding(-std::numeric_limits<double>::infinity()),
                    Contains("qsparse::quantize_multiplier_single_rounding") && Contains("real = -inf"));
  CHECK_THROWS_AS(qsparse::quantize_multiplier_single_rounding(-std::numeric_limits<double>::denorm_min()),
                  qsparse::error);
}

TEST_CASE("saturating_rounding_doubling_high_mul and rounding_divide_by_pot: TFLite's worked examples") {
  // Usable in constant expressions.
  static_assert(qsparse::saturating_rounding_doubling_high_mul(int32_min, int32_min) == int32_max, "");
  static_assert(qsparse::rounding_divide_by_pot(-5, 1) == -3, "");
  static_assert(qsparse::multiply_by_quantized_multiplier(1, 1 << 30, -1) == 1, "");
  static_assert(qsparse::double_rounding::apply(1, 1 << 30, -1) == 1, "");
  static_assert(qsparse::single_rounding::apply(1, 1 << 30, -1) == 0, "");

  CHECK(qsparse::saturating_rounding_doubling_high_mul(int32_min, int32_min) == 2147483647);
  CHECK(qsparse::saturating_rounding_doubling_high_mul(int32_min, 1 << 30) == -1073741824);
  CHECK(qsparse::rounding_divide_by_pot(5, 1) == 3);
  CHECK(qsparse::rounding_divide_by_pot(-5, 1) == -3);
  CHECK(qsparse::rounding_divide_by_pot(6, 2) == 2);
  CHECK(qsparse::rounding_divide_by_pot(-6, 2) == -2);
  CHECK(qsparse::rounding_divide_by_pot(7, 2) == 2);
  CHECK(qsparse::rounding_divide_by_pot(int32_min, 31) == -1);
  // SRDHM rounds a tie toward +infinity (gemmlowp's nudge then truncating division): ±0.5 → 0 and 1.
  CHECK(qsparse::saturating_rounding_doubling_high_mul(-1, 1 << 30) == 0);
  CHECK(qsparse::saturating_rounding_doubling_high_mul(1, 1 << 30) == 1);
  CHECK(qsparse::saturating_rounding_doubling_high_mul(-3, 1 << 30) == -1);
  CHECK(qsparse::saturating_rounding_doubling_high_mul(int32_min, int32_max) == -2147483647);
  CHECK(qsparse::rounding_divide_by_pot(int32_max, 31) == 1);
  CHECK(qsparse::rounding_divide_by_pot(int32_max, 0) == int32_max);
  CHECK(qsparse::rounding_divide_by_pot(int32_min, 0) == int32_min);
  CHECK_THROWS_WITH(qsparse::rounding_divide_by_pot(1, 32), Catch::Matchers::Contains("exponent = 32"));
  CHECK_THROWS_AS(qsparse::rounding_divide_by_pot(1, -1), qsparse::error);
}

TEST_CASE("double vs single rounding: TFLite's worked examples") {
  // x = 1, real 0.25: double rounding gives 1 (0.5 rounded up, then 0.5 rounded away), single 0.
  CHECK(qsparse::multiply_by_quantized_multiplier(1, 1 << 30, -1) == 1);
  CHECK(qsparse::multiply_by_quantized_multiplier_single_rounding(1, 1 << 30, -1) == 0);
  CHECK(qsparse::multiply_by_quantized_multiplier(int32_min, int32_max, -1) == -1073741824);
  CHECK(qsparse::multiply_by_quantized_multiplier_single_rounding(int32_min, int32_max, -1) == -1073741823);
  CHECK(qsparse::double_rounding::apply(int32_min, int32_max, -1) == -1073741824);
  CHECK(qsparse::single_rounding::apply(int32_min, int32_max, -1) == -1073741823);
  // A per-layer example: 0.1 applied to 1000 and -1000.
  const quantized_multiplier q = qsparse::quantize_multiplier(0.1);
  CHECK(qsparse::multiply_by_quantized_multiplier(1000, q.multiplier, q.shift) == 100);
  CHECK(qsparse::multiply_by_quantized_multiplier(-1005, q.multiplier, q.shift) == -101);
  CHECK(qsparse::multiply_by_quantized_multiplier_single_rounding(-1005, q.multiplier, q.shift) == -100);
}

TEST_CASE("double rounding saturates the left-shifted input instead of overflowing") {
  // TFLite computes x * (1 << 2) in int32 here (undefined); qsparse saturates it first.
  CHECK(qsparse::multiply_by_quantized_multiplier(int32_max, 1 << 30, 2) == 1073741824);
  CHECK(qsparse::multiply_by_quantized_multiplier(int32_min, 1 << 30, 2) == -1073741824);
  CHECK(qsparse::multiply_by_quantized_multiplier(1 << 30, int32_max, 1) == int32_max - 1);  // SRDHM(max, max)
  CHECK(qsparse::multiply_by_quantized_multiplier(-(1 << 30), int32_max, 1) == -int32_max);
  CHECK(qsparse::multiply_by_quantized_multiplier(-(1 << 30), 1 << 30, 1) == -(1 << 30));  // exact: no saturation
  CHECK(qsparse::multiply_by_quantized_multiplier(1, int32_max, 31) == int32_max - 1);
  CHECK(qsparse::multiply_by_quantized_multiplier(-1, int32_max, 1000) == -int32_max);
  CHECK(qsparse::multiply_by_quantized_multiplier(0, int32_max, 1000) == 0);
  CHECK(qsparse::multiply_by_quantized_multiplier(int32_min, int32_min, 5) == int32_max);
  CHECK_THROWS_WITH(qsparse::multiply_by_quantized_multiplier(1, 1 << 30, -32),
                    Catch::Matchers::Contains("shift = -32"));
  CHECK(qsparse::double_rounding::accepts(-5, 1000));
  CHECK_FALSE(qsparse::double_rounding::accepts(1 << 30, -32));
}

TEST_CASE("single rounding matches TFLite's formula for every shift and saturates out-of-range results") {
  value_source source(11);
  mismatches bad;
  for (int shift = -31; shift <= 30; ++shift) {
    for (int i = 0; i < 10000; ++i) {
      const int32_t x = source();
      int32_t m = source.multiplier();
      if (m < 0) m = m == int32_min ? int32_max : -m;
      const int32_t got = qsparse::multiply_by_quantized_multiplier_single_rounding(x, m, shift);
      const int32_t want = tflite_single_rounding(x, m, shift);
      bad.record(got == want, "x = ", x, ", M = ", m, ", shift = ", shift, ": ", got, " != ", want);
    }
  }
  INFO(bad.first());
  REQUIRE(bad.count() == 0);
  CHECK(qsparse::multiply_by_quantized_multiplier_single_rounding(int32_max, int32_max, 30) == int32_max);
  CHECK(qsparse::multiply_by_quantized_multiplier_single_rounding(int32_min, int32_max, 30) == int32_min);
  CHECK(qsparse::multiply_by_quantized_multiplier_single_rounding(-3, 1 << 30, -1) == -1);  // -0.75 → -1
  CHECK(qsparse::multiply_by_quantized_multiplier_single_rounding(-2, 1 << 30, -1) == 0);   // tie -0.5 → 0
  CHECK(qsparse::multiply_by_quantized_multiplier_single_rounding(7, 0, 0) == 0);
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(qsparse::multiply_by_quantized_multiplier_single_rounding(1, -1, 0), Contains("multiplier = -1"));
  CHECK_THROWS_WITH(qsparse::multiply_by_quantized_multiplier_single_rounding(1, 1, 31), Contains("shift = 31"));
  CHECK_THROWS_AS(qsparse::multiply_by_quantized_multiplier_single_rounding(1, 1, -32), qsparse::error);
  CHECK(qsparse::single_rounding::accepts(0, -31));
  CHECK(qsparse::single_rounding::accepts(int32_max, 30));
  CHECK_FALSE(qsparse::single_rounding::accepts(-1, 0));
  CHECK_FALSE(qsparse::single_rounding::accepts(1, 31));
}

TEST_CASE("int64-accumulator multiply keeps 15 bits of the multiplier, as TFLite does") {
  const int64_t x = int32_max;
  CHECK(qsparse::multiply_by_quantized_multiplier(x, int32_max, 0) == 2147418111);  // not 2147483646
  CHECK(qsparse::multiply_by_quantized_multiplier(int64_t{1000}, qsparse::quantize_multiplier(0.1).multiplier, -3) ==
        100);
  // Reference formula in 128-bit arithmetic, every shift in [-31, 7], x over the full 48-bit range.
  std::mt19937_64 rng(3);
  mismatches bad;
  for (int shift = -31; shift <= 7; ++shift) {
    for (int i = 0; i < 3000; ++i) {
      const int64_t xi = static_cast<int64_t>(rng() % (std::uint64_t{1} << 48)) - (int64_t{1} << 47);
      const auto m = static_cast<int32_t>(rng() % 8 == 0 ? int32_max - static_cast<int32_t>(rng() % 70000)
                                                         : static_cast<int32_t>(rng() >> 33));
      const int32_t reduced = m < 0x7FFF0000 ? (m + (1 << 15)) >> 16 : 0x7FFF;
      const int128 r = (static_cast<int128>(xi) * reduced + (static_cast<int128>(1) << (14 - shift))) >> (15 - shift);
      const int32_t want = r > int32_max ? int32_max : r < int32_min ? int32_min : static_cast<int32_t>(r);
      const int32_t got = qsparse::multiply_by_quantized_multiplier(xi, m, shift);
      bad.record(got == want, "x = ", xi, ", M = ", m, ", shift = ", shift, ": ", got, " != ", want);
    }
  }
  INFO(bad.first());
  REQUIRE(bad.count() == 0);
  CHECK(qsparse::multiply_by_quantized_multiplier(-(int64_t{1} << 47), int32_max, -31) == -65534);
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(qsparse::multiply_by_quantized_multiplier(int64_t{1} << 47, 1, 0), Contains("x = 140737488355328"));
  CHECK_THROWS_WITH(qsparse::multiply_by_quantized_multiplier(int64_t{0}, 1, 8), Contains("shift = 8"));
  CHECK_THROWS_WITH(qsparse::multiply_by_quantized_multiplier(int64_t{0}, -1, 0), Contains("multiplier = -1"));
  CHECK_THROWS_AS(qsparse::multiply_by_quantized_multiplier(int64_t{0}, 1, -32), qsparse::error);
}

TEST_CASE("single_rounding_away: TFLite 2.21's reference FULLY_CONNECTED examples and ties") {
  // Accumulator 293, multiplier 1610612736 (0.75), shift -3 (the parameters of issue 21's example):
  // 293 * 0.09375 = 27.47 rounds once to 27; double rounding rounds 219.75 to 220, then 27.5 away to 28.
  CHECK(qsparse::single_rounding_away::apply(293, 1610612736, -3) == 27);
  CHECK(qsparse::double_rounding::apply(293, 1610612736, -3) == 28);
  CHECK(qsparse::single_rounding_away::apply(1, 1 << 30, 0) == 1);    //  0.5 → 1 (away)
  CHECK(qsparse::single_rounding_away::apply(-1, 1 << 30, 0) == -1);  // -0.5 → -1 (away)
  CHECK(qsparse::single_rounding::apply(-1, 1 << 30, 0) == 0);        // ties up: -0.5 → 0
  CHECK(qsparse::single_rounding_away::apply(-3, 1 << 30, 0) == -2);   // -1.5 → -2
  CHECK(qsparse::single_rounding_away::apply(-5, 1 << 30, -1) == -1);  // -1.25 → -1
  CHECK(qsparse::single_rounding_away::apply(int32_min, int32_max, 30) == int32_min);
  CHECK(qsparse::single_rounding_away::apply(int32_max, int32_max, 30) == int32_max);
  CHECK(qsparse::single_rounding_away::apply(int32_min, int32_max, -31) == -1);  // -(1 - 2^-31) → -1
  CHECK(qsparse::single_rounding_away::apply(int32_min, 1 << 30, -31) == -1);    // -0.5 → -1 (away)
  CHECK(qsparse::single_rounding::apply(int32_min, 1 << 30, -31) == 0);          // -0.5 → 0 (up)
  CHECK(qsparse::single_rounding_away::apply(7, 0, 0) == 0);
  CHECK(qsparse::single_rounding_away::apply(int64_t{-3}, 1 << 30, 0) == -2);
  CHECK(qsparse::single_rounding_away::apply(std::numeric_limits<int64_t>::min(), int32_max, -31) == int32_min);
  CHECK(qsparse::single_rounding_away::apply(std::numeric_limits<int64_t>::max(), int32_max, -31) == int32_max);
  CHECK(qsparse::single_rounding_away::apply(int64_t{1} << 40, 1 << 30, -31) == 256);
  CHECK(qsparse::single_rounding_away::apply(-(int64_t{1} << 40) - (int64_t{1} << 31), 1 << 30, -31) == -257);  // tie
  value_source source(21);
  mismatches bad;
  for (int shift = -31; shift <= 30; ++shift) {
    for (int i = 0; i < 6000; ++i) {
      const int32_t x = source();
      int32_t m = source.multiplier();
      if (m < 0) m = m == int32_min ? int32_max : -m;
      const int32_t got = qsparse::multiply_by_quantized_multiplier_single_rounding_away(x, m, shift);
      bad.record(got == single_rounding_away_oracle(x, m, shift), "x = ", x, ", M = ", m, ", shift = ", shift, ": ",
                 got);
      // int64: the 32-bit value, a random 64-bit one and one with a tie at the shift
      const auto wide = static_cast<int64_t>(source.rng()()) >> (source.rng()() % 40);
      const int64_t tie = (wide >> 8) * 256 + (int64_t{1} << 7);
      for (int64_t xi : {int64_t{x}, wide, tie}) {
        const int32_t got64 = qsparse::multiply_by_quantized_multiplier_single_rounding_away(xi, m, shift);
        bad.record(got64 == single_rounding_away_oracle(xi, m, shift), "x = ", xi, ", M = ", m, ", shift = ", shift,
                   ": ", got64);
      }
    }
  }
  INFO(bad.first());
  REQUIRE(bad.count() == 0);
  using Catch::Matchers::Contains;
  CHECK_THROWS_WITH(qsparse::multiply_by_quantized_multiplier_single_rounding_away(1, -1, 0),
                    Contains("multiplier = -1"));
  CHECK_THROWS_WITH(qsparse::multiply_by_quantized_multiplier_single_rounding_away(int64_t{1}, 1, 31),
                    Contains("shift = 31"));
  CHECK_THROWS_AS(qsparse::multiply_by_quantized_multiplier_single_rounding_away(1, 1, -32), qsparse::error);
  CHECK(qsparse::single_rounding_away::accepts(int32_max, 30));
  CHECK_FALSE(qsparse::single_rounding_away::accepts(-1, 0));
  CHECK_FALSE(qsparse::single_rounding_away::accepts(1, 31));
  CHECK(qsparse::single_rounding_away::quantize(0.75) == quantized_multiplier{1610612736, 0});
}

TEST_CASE("double_rounding_up: the optimized kernels' last shift rounds ties toward +infinity") {
  // SRDHM(-3, 2^30) = floor(-1.5 + 0.5) = -1, then -1 / 2 = -0.5: ties up give 0, double_rounding -1.
  CHECK(qsparse::double_rounding_up::apply(-3, 1 << 30, -1) == 0);
  CHECK(qsparse::double_rounding::apply(-3, 1 << 30, -1) == -1);
  CHECK(qsparse::double_rounding_up::apply(5, 1 << 30, -1) == 2);  // SRDHM 3 (2.5 up), 1.5 → 2
  CHECK(qsparse::double_rounding_up::apply(int32_max, int32_max, -1) == 1073741823);  // no overflow at the top
  CHECK(qsparse::double_rounding_up::apply(int32_min, int32_min, -31) == 1);
  CHECK(qsparse::double_rounding_up::apply(int32_min, int32_max, -31) == -1);
  CHECK(qsparse::double_rounding_up::apply(int32_max, 1 << 30, 3) == 1073741824);  // saturated left shift
  value_source source(22);
  mismatches bad;
  for (int shift = -31; shift <= 31; ++shift) {
    for (int i = 0; i < 6000; ++i) {
      const int32_t x = source();
      const int32_t m = source.multiplier();
      const int32_t got = qsparse::multiply_by_quantized_multiplier_double_rounding_up(x, m, shift);
      bad.record(got == double_rounding_up_oracle(x, m, shift), "x = ", x, ", M = ", m, ", shift = ", shift, ": ",
                 got);
    }
  }
  INFO(bad.first());
  REQUIRE(bad.count() == 0);
  CHECK_THROWS_WITH(qsparse::multiply_by_quantized_multiplier_double_rounding_up(1, 1, -32),
                    Catch::Matchers::Contains("shift = -32"));
  CHECK(qsparse::double_rounding_up::accepts(1 << 30, 40));
  CHECK_FALSE(qsparse::double_rounding_up::accepts(1 << 30, -32));
  CHECK(qsparse::reduced_multiplier_rounding::apply(int64_t{int32_max}, int32_max, 0) == 2147418111);
  CHECK_FALSE(qsparse::reduced_multiplier_rounding::accepts(1, 8));
}

TEST_CASE("oracle: saturating_rounding_doubling_high_mul equals gemmlowp's") {
  const std::vector<int32_t> adversarial = adversarial_values();
  mismatches bad;
  auto compare = [&bad](int32_t a, int32_t b) {
    const int32_t got = qsparse::saturating_rounding_doubling_high_mul(a, b);
    const int32_t want = gemmlowp::SaturatingRoundingDoublingHighMul(a, b);
    bad.record(got == want, "SRDHM(", a, ", ", b, "): ", got, " != ", want);
  };
  for (int32_t a : adversarial) {
    for (int32_t b : adversarial) compare(a, b);
  }
  value_source source(1);
  for (int i = 0; i < 600000; ++i) compare(source(), (i & 1) ? source() : source.multiplier());
  INFO(bad.first());
  REQUIRE(bad.count() == 0);
}

TEST_CASE("oracle: rounding_divide_by_pot equals gemmlowp's for every exponent 0..31") {
  const std::vector<int32_t> adversarial = adversarial_values();
  value_source source(2);
  mismatches bad;
  auto compare = [&bad](int32_t x, int exponent) {
    const int32_t got = qsparse::rounding_divide_by_pot(x, exponent);
    const int32_t want = gemmlowp::RoundingDivideByPOT(x, exponent);
    // and it is x / 2^exponent rounded half away from zero: trunc((2x ± 2^e) / 2^(e+1))
    const int128 twice = static_cast<int128>(x) * 2 + (x < 0 ? -1 : 1) * (static_cast<int128>(1) << exponent);
    const auto away = static_cast<int32_t>(twice / (static_cast<int128>(1) << (exponent + 1)));
    bad.record(got == want && got == away, "RDBPOT(", x, ", ", exponent, "): ", got, " vs gemmlowp ", want,
               ", half away ", away);
  };
  for (int exponent = 0; exponent <= 31; ++exponent) {
    for (int32_t x : adversarial) compare(x, exponent);
    for (int i = 0; i < 16000; ++i) compare(source(), exponent);
  }
  INFO(bad.first());
  REQUIRE(bad.count() == 0);
}

TEST_CASE("oracle: multiply_by_quantized_multiplier equals TFLite's composition for every shift in [-31, 30]") {
  const std::vector<int32_t> adversarial = adversarial_values();
  value_source source(3);
  mismatches bad;
  long saturated_cases = 0;
  auto compare = [&](int32_t x, int32_t m, int shift) {
    const int32_t got = qsparse::multiply_by_quantized_multiplier(x, m, shift);
    const int32_t want = tflite_multiply_by_quantized_multiplier(x, m, shift);
    bool ok = got == want && qsparse::double_rounding::apply(x, m, shift) == want;
    const int left_shift = shift > 0 ? shift : 0;
    const int64_t shifted = static_cast<int64_t>(x) * (int64_t{1} << left_shift);
    if (shifted >= int32_min && shifted <= int32_max) {  // literally TFLite's expression
      ok = ok && got == gemmlowp::RoundingDivideByPOT(
                            gemmlowp::SaturatingRoundingDoublingHighMul(static_cast<int32_t>(shifted), m),
                            shift > 0 ? 0 : -shift);
    } else {
      ++saturated_cases;
    }
    bad.record(ok, "MBQM(", x, ", ", m, ", ", shift, "): ", got, " != ", want);
  };
  const int32_t multipliers[] = {int32_min, -(1 << 30), -1, 0, 1, 1 << 30, (1 << 30) + 12345, int32_max};
  for (int shift = -31; shift <= 30; ++shift) {
    for (int32_t x : adversarial) {
      for (int32_t m : multipliers) compare(x, m, shift);
    }
    for (int i = 0; i < 8000; ++i) {
      // Shrink x for left shifts half of the time so that both the defined and saturated regimes occur.
      int32_t x = source();
      if (shift > 0 && (i & 1)) x = static_cast<int32_t>(x / (int64_t{1} << shift));
      compare(x, source.multiplier(), shift);
    }
  }
  INFO(bad.first());
  REQUIRE(bad.count() == 0);
  CHECK(saturated_cases > 30000);
}
