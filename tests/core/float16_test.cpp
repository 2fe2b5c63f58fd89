// Tests for qsparse/core/float16.hpp: exact values at every rounding boundary, all 65536 halves, and
// float -> half against an independent reference (nearest half found by search in double).
#include "qsparse/core/float16.hpp"

#include <catch2/catch.hpp>

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

namespace {

using qsparse::float16;
using qsparse::float16_bits_from_float;
using qsparse::float_from_float16_bits;

float float_from_bits(std::uint32_t x) {
  float f = 0.0f;
  std::memcpy(&f, &x, sizeof f);
  return f;
}

std::uint32_t bits_of(float f) {
  std::uint32_t x = 0;
  std::memcpy(&x, &f, sizeof x);
  return x;
}

// The value of a non-NaN half, computed from the definition of binary16 (not by the code under test).
double half_value(std::uint16_t h) {
  const int e = (h >> 10) & 0x1F;
  const int m = h & 0x3FF;
  const double sign = (h & 0x8000) != 0 ? -1.0 : 1.0;
  if (e == 31) return sign * std::numeric_limits<double>::infinity();
  if (e == 0) return sign * std::ldexp(static_cast<double>(m), -24);
  return sign * std::ldexp(static_cast<double>(1024 + m), e - 25);
}

bool is_nan_half(std::uint16_t h) { return (h & 0x7C00) == 0x7C00 && (h & 0x03FF) != 0; }

// Reference float -> half for non-NaN floats: the nearest of the positive finite halves (or 2^16,
// which stands for infinity), ties to the even encoding; differences are exact in double.
std::uint16_t reference_half_bits(float f) {
  static const std::vector<double> values = [] {
    std::vector<double> v(0x7C01);
    for (std::uint32_t h = 0; h < 0x7C00; ++h) v[h] = half_value(static_cast<std::uint16_t>(h));
    v[0x7C00] = 65536.0;  // the first value past 65504 of an unbounded-exponent binary16
    return v;
  }();
  const auto sign = static_cast<std::uint16_t>((bits_of(f) >> 16) & 0x8000u);
  const double a = std::fabs(static_cast<double>(f));
  if (a >= 65536.0) return static_cast<std::uint16_t>(sign | 0x7C00u);  // includes inf
  // Binary search for the last value <= a (hand-written: debug and sanitizer builds stay fast).
  const double* v = values.data();
  std::uint32_t lo_index = 0, hi_index = 0x7C00;  // v[lo_index] <= a < v[hi_index]
  while (hi_index - lo_index > 1) {
    const std::uint32_t mid = (lo_index + hi_index) / 2;
    if (v[mid] <= a) {
      lo_index = mid;
    } else {
      hi_index = mid;
    }
  }
  const auto lo = static_cast<std::uint16_t>(lo_index);
  if (values[lo] == a) return static_cast<std::uint16_t>(sign | lo);
  const double below = a - values[lo];
  const double above = values[lo + 1u] - a;
  std::uint16_t h = lo;
  if (above < below || (above == below && (lo & 1u) != 0u)) h = static_cast<std::uint16_t>(lo + 1u);
  return static_cast<std::uint16_t>(sign | h);  // lo + 1 == 0x7C00 is +inf
}

// The documented NaN rule: same sign, quiet bit set, top 10 fraction bits kept.
std::uint16_t expected_nan_half(std::uint32_t x) {
  return static_cast<std::uint16_t>(((x >> 16) & 0x8000u) | 0x7E00u | ((x >> 13) & 0x3FFu));
}

std::uint16_t expected_half(std::uint32_t x) {
  const float f = float_from_bits(x);
  return std::isnan(f) ? expected_nan_half(x) : reference_half_bits(f);
}

// Checks float16_bits_from_float on every pattern; reports the first mismatch only.
void check_patterns(const std::vector<std::uint32_t>& patterns) {
  std::size_t mismatches = 0;
  std::uint32_t first = 0;
  for (const std::uint32_t x : patterns) {
    if (float16_bits_from_float(float_from_bits(x)) != expected_half(x)) {
      if (mismatches++ == 0) first = x;
    }
  }
  INFO("first mismatch: float bits 0x" << std::hex << first << " -> 0x"
                                       << float16_bits_from_float(float_from_bits(first)) << ", expected 0x"
                                       << expected_half(first));
  CHECK(mismatches == 0);
}

}  // namespace

// ---- compile-time properties ---------------------------------------------------------------------

static_assert(sizeof(float16) == 2, "binary16 is two bytes");
static_assert(std::is_trivially_copyable<float16>::value, "float16 is trivially copyable");
static_assert(std::is_trivially_default_constructible<float16>::value, "like float");
static_assert(std::is_standard_layout<float16>::value, "float16 is standard layout");
static_assert(!std::is_convertible<float, float16>::value, "float -> float16 rounds: explicit only");
static_assert(!std::is_convertible<float16, float>::value, "float16 -> float is explicit");
static_assert(std::is_constructible<float16, float>::value && std::is_constructible<float, float16>::value,
              "explicit conversions exist");
static_assert(float16::from_bits(0x3C00).bits == 0x3C00, "from_bits / bits round-trip");
static_assert(float16{}.bits == 0, "value-initialized float16 is +0");
static_assert(qsparse::float16_bits_from_float_bits(0x3F800000u) == 0x3C00, "1.0f, constexpr");
static_assert(qsparse::float_bits_from_float16_bits(0x0001) == 0x33800000u, "2^-24, constexpr");

namespace {
template <class T, class = void>
struct has_plus : std::false_type {};
template <class T>
struct has_plus<T, decltype(void(std::declval<T>() + std::declval<T>()))> : std::true_type {};
template <class T, class = void>
struct has_equal : std::false_type {};
template <class T>
struct has_equal<T, decltype(void(std::declval<T>() == std::declval<T>()))> : std::true_type {};
}  // namespace
static_assert(!has_plus<float16>::value, "float16 is a storage type: no arithmetic");
static_assert(!has_equal<float16>::value, "no == on float16: compare float(a) == float(b) or .bits");

// ---- float -> half, exact values -----------------------------------------------------------------

TEST_CASE("float16: float -> half exact values", "[float16]") {
  struct row {
    float in;
    std::uint16_t out;
  };
  const float inf = std::numeric_limits<float>::infinity();
  const row rows[] = {
      {0.0f, 0x0000},
      {-0.0f, 0x8000},
      {1.0f, 0x3C00},
      {-1.0f, 0xBC00},
      {0.5f, 0x3800},
      {2.0f, 0x4000},
      {-2.0f, 0xC000},
      {0.1f, 0x2E66},
      {1.0f / 3.0f, 0x3555},
      {3.14159265f, 0x4248},
      {65504.0f, 0x7BFF},                        // largest finite half
      {65519.99f, 0x7BFF},                       // just below the overflow tie
      {std::nextafter(65520.0f, 0.0f), 0x7BFF},  // 65519.996
      {65520.0f, 0x7C00},                        // tie between 65504 (odd) and 2^16: to even = inf
      {-65520.0f, 0xFC00},
      {65536.0f, 0x7C00},
      {1.0e6f, 0x7C00},
      {std::numeric_limits<float>::max(), 0x7C00},
      {-std::numeric_limits<float>::max(), 0xFC00},
      {inf, 0x7C00},
      {-inf, 0xFC00},
      {std::ldexp(1.0f, -14), 0x0400},                                    // least normal half
      {std::ldexp(1.0f, -14) - std::ldexp(1.0f, -24), 0x03FF},            // largest subnormal
      {std::ldexp(1.0f, -14) - std::ldexp(1.0f, -25), 0x0400},            // tie 0x3FF/0x400: even
      {std::ldexp(1.0f, -24), 0x0001},                                    // least subnormal
      {-std::ldexp(1.0f, -24), 0x8001},
      {std::ldexp(1.0f, -25), 0x0000},                                    // tie 0/1: to even = 0
      {-std::ldexp(1.0f, -25), 0x8000},                                   // keeps the sign
      {std::nextafter(std::ldexp(1.0f, -25), 1.0f), 0x0001},              // just above the tie
      {std::ldexp(3.0f, -26), 0x0001},                                    // 0.75 units
      {std::ldexp(3.0f, -25), 0x0002},                                    // 1.5 units: tie to 2
      {std::ldexp(5.0f, -25), 0x0002},                                    // 2.5 units: tie to 2
      {std::ldexp(7.0f, -25), 0x0004},                                    // 3.5 units: tie to 4
      {std::ldexp(1.0f, -26), 0x0000},
      {std::numeric_limits<float>::denorm_min(), 0x0000},                 // float subnormal -> 0
      {-std::numeric_limits<float>::denorm_min(), 0x8000},
      {std::numeric_limits<float>::min(), 0x0000},
      {1.0f + std::ldexp(1.0f, -11), 0x3C00},                             // tie: to even
      {1.0f + std::ldexp(3.0f, -11), 0x3C02},                             // tie: to even (up)
      {1.0f + std::ldexp(1.0f, -11) + std::ldexp(1.0f, -23), 0x3C01},     // above the tie
      {2.0f - std::ldexp(1.0f, -11), 0x4000},                             // tie 0x3BFF/0x4000: carry
      {2048.0f, 0x6800},
      {2049.0f, 0x6800},                                                  // tie: even
      {2051.0f, 0x6802},                                                  // tie: even (up)
  };
  for (const row& r : rows) {
    INFO("in = " << r.in << " (bits 0x" << std::hex << bits_of(r.in) << ")");
    CHECK(float16_bits_from_float(r.in) == r.out);
    CHECK(float16{r.in}.bits == r.out);
  }
}

TEST_CASE("float16: NaN -> quiet NaN, sign and top 10 payload bits kept (as F16C)", "[float16]") {
  struct row {
    std::uint32_t in;
    std::uint16_t out;
  };
  // Values measured with vcvtps2ph (imm8 = 8) on an AVX-512 CPU.
  const row rows[] = {
      {0x7FC00000u, 0x7E00}, {0xFFC00000u, 0xFE00}, {0x7FC00001u, 0x7E00}, {0x7F800001u, 0x7E00},
      {0x7F801FFFu, 0x7E00}, {0x7F802000u, 0x7E01}, {0x7FA00000u, 0x7F00}, {0x7FBFFFFFu, 0x7FFF},
      {0x7FFFFFFFu, 0x7FFF}, {0xFF800001u, 0xFE00}, {0xFFC12345u, 0xFE09},
  };
  for (const row& r : rows) {
    INFO("in = 0x" << std::hex << r.in);
    CHECK(float16_bits_from_float(float_from_bits(r.in)) == r.out);
  }
}

// ---- half -> float --------------------------------------------------------------------------------

TEST_CASE("float16: half -> float exact values", "[float16]") {
  struct row {
    std::uint16_t in;
    std::uint32_t out;
  };
  const row rows[] = {
      {0x0000, 0x00000000u}, {0x8000, 0x80000000u}, {0x3C00, 0x3F800000u}, {0xBC00, 0xBF800000u},
      {0x0001, 0x33800000u}, {0x8001, 0xB3800000u}, {0x0002, 0x34000000u}, {0x03FF, 0x387FC000u},
      {0x0200, 0x38000000u}, {0x0400, 0x38800000u}, {0x7BFF, 0x477FE000u}, {0x7C00, 0x7F800000u},
      {0xFC00, 0xFF800000u}, {0x7E00, 0x7FC00000u}, {0xFE00, 0xFFC00000u},
      // Signalling NaNs are quieted, payload kept (as vcvtph2ps).
      {0x7C01, 0x7FC02000u}, {0xFC01, 0xFFC02000u}, {0x7D00, 0x7FE00000u}, {0x7FFF, 0x7FFFE000u},
  };
  for (const row& r : rows) {
    INFO("in = 0x" << std::hex << r.in);
    CHECK(bits_of(float_from_float16_bits(r.in)) == r.out);
    CHECK(bits_of(static_cast<float>(float16::from_bits(r.in))) == r.out);
  }
  CHECK(static_cast<float>(float16::from_bits(0x7BFF)) == 65504.0f);
  CHECK(static_cast<float>(float16::from_bits(0x0001)) == std::ldexp(1.0f, -24));
}

TEST_CASE("float16: all 65536 halves: exact value and round trip", "[float16]") {
  std::size_t value_mismatches = 0, round_trip_mismatches = 0, nan_count = 0;
  for (std::uint32_t i = 0; i <= 0xFFFFu; ++i) {
    const auto h = static_cast<std::uint16_t>(i);
    const float f = float_from_float16_bits(h);
    const std::uint16_t back = float16_bits_from_float(f);
    if (is_nan_half(h)) {
      ++nan_count;
      const std::uint32_t expected = (static_cast<std::uint32_t>(h & 0x8000u) << 16) | 0x7FC00000u |
                                     (static_cast<std::uint32_t>(h & 0x03FFu) << 13);
      if (bits_of(f) != expected) ++value_mismatches;
      // Quiet NaNs come back unchanged; signalling NaNs come back quieted (both as F16C does).
      if (back != (h | 0x0200u)) ++round_trip_mismatches;
    } else {
      if (static_cast<double>(f) != half_value(h) || std::signbit(f) != ((h & 0x8000u) != 0u)) ++value_mismatches;
      if (back != h) ++round_trip_mismatches;
    }
  }
  CHECK(nan_count == 2 * 1023);
  CHECK(value_mismatches == 0);
  CHECK(round_trip_mismatches == 0);
  // Quiet NaN halves round-trip with identical bits.
  for (const std::uint16_t h : {0x7E00, 0x7E01, 0x7FFF, 0xFE00, 0xFF23}) {
    CHECK(float16_bits_from_float(float_from_float16_bits(h)) == h);
  }
}

// ---- float -> half against the reference ----------------------------------------------------------

TEST_CASE("float16: float -> half on a stride through all 2^32 patterns", "[float16]") {
  std::vector<std::uint32_t> patterns;
  const std::uint32_t stride = 8191;  // odd: hits every low-bit residue; ~524 K patterns
  for (std::uint64_t x = 0; x <= 0xFFFFFFFFu; x += stride) patterns.push_back(static_cast<std::uint32_t>(x));
  check_patterns(patterns);
}

TEST_CASE("float16: float -> half on random patterns", "[float16]") {
  std::mt19937 rng(20240611);
  std::vector<std::uint32_t> patterns(1 << 18);
  for (auto& x : patterns) x = rng();
  check_patterns(patterns);
}

TEST_CASE("float16: float -> half at every rounding boundary", "[float16]") {
  std::vector<std::uint32_t> patterns;
  // Every midpoint between consecutive halves (and the overflow tie 65520), +/- 1 float ulp, both signs.
  for (std::uint32_t h = 0; h < 0x7C00; ++h) {
    const double mid = (half_value(static_cast<std::uint16_t>(h)) +
                        (h + 1 < 0x7C00 ? half_value(static_cast<std::uint16_t>(h + 1)) : 65536.0)) /
                       2.0;
    const std::uint32_t m = bits_of(static_cast<float>(mid));  // exact: 12 significant bits
    for (std::uint32_t d = 0; d <= 2; ++d) {
      patterns.push_back(m + d - 1);
      patterns.push_back((m + d - 1) | 0x80000000u);
    }
    const std::uint32_t exact = bits_of(static_cast<float>(half_value(static_cast<std::uint16_t>(h))));
    patterns.push_back(exact);
    patterns.push_back(exact | 0x80000000u);
  }
  // Around every power of two (every float exponent), both signs.
  for (std::uint32_t e = 0; e < 256; ++e) {
    for (std::uint32_t d = 0; d < 64; ++d) {
      const std::uint32_t base = e << 23;
      patterns.push_back(base + d);
      patterns.push_back(base - d - 1u);  // wraps to 0xFFFFFFxx for e == 0: negative NaNs, fine
      patterns.push_back((base + d) | 0x80000000u);
    }
  }
  // All float NaN payload shapes: the 9 kept bits below the quiet bit, quiet or not, and the dropped bits.
  for (std::uint32_t p = 0; p < 512; ++p) {
    for (const std::uint32_t low : {0u, 1u, 0x1000u, 0x1FFFu}) {
      for (const std::uint32_t q : {0u, 0x00400000u}) {
        const std::uint32_t x = 0x7F800000u | q | (p << 13) | low;
        if ((x & 0x007FFFFFu) == 0u) continue;  // that is infinity
        patterns.push_back(x);
        patterns.push_back(x | 0x80000000u);
      }
    }
  }
  check_patterns(patterns);
  CHECK(patterns.size() > 250000);
}
