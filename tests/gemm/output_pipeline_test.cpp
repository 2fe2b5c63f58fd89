// tests/gemm/output_pipeline_test.cpp — the AVX-512 output-pipeline evaluator against the scalar
// definition (evaluate) on accumulators across the whole int32 range, for the pipelines whose trailing
// add_zero_point and clamps the evaluator folds into one stage: extreme zero points (bounds that leave
// the int32 range, constant results), two clamps in a row, every output type.
#include <cmath>
#include <cstdint>
#include <limits>
#include <random>
#include <tuple>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/kernels/avx2/output_pipeline.hpp"
#include "qsparse/kernels/avx512/output_pipeline.hpp"
#include "qsparse/kernels/avx512vnni/dwconv_columns_s8s8_s32_c64.hpp"
#include "qsparse/spec/output_stages.hpp"
#include "support/testing.hpp"

using namespace qsparse;

#if QSPARSE_X86
namespace {

constexpr std::int32_t int32_min = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t int32_max = std::numeric_limits<std::int32_t>::max();

std::vector<std::int32_t> accumulators() {
  std::vector<std::int32_t> a = {int32_min, int32_min + 1, -2147483520, -65536, -129, -128, -127, -1, 0, 1, 126,
                                 127, 128, 255, 256, 65535, 2147483519, 2147483520, int32_max - 1, int32_max};
  std::mt19937 rng(5);
  std::uniform_int_distribution<std::int32_t> any(int32_min, int32_max);
  std::uniform_int_distribution<std::int32_t> small(-400, 400);
  for (int i = 0; i < 200; ++i) a.push_back(any(rng));
  for (int i = 0; i < 200; ++i) a.push_back(small(rng));
  for (std::int32_t d = -300; d <= 300; ++d) a.push_back(static_cast<std::int32_t>(int32_max - 300 + (d + 300) / 2));
  for (std::int32_t d = -300; d <= 300; ++d) a.push_back(static_cast<std::int32_t>(int32_min + (d + 300) / 2));
  while (a.size() % 16 != 0) a.push_back(0);
  return a;
}

template <class... S>
QSPARSE_TARGET_AVX512 void run_avx512(const output_pipeline<S...>& p, const std::vector<std::int32_t>& acc,
                                      typename output_pipeline<S...>::output_type* out) {
  for (std::size_t i = 0; i < acc.size(); i += 16) {
    const __m512i v = _mm512_loadu_si512(acc.data() + i);
    kernels::avx512::store_prepared(kernels::avx512::prepare(p, 0, 0xFFFF), v, 0xFFFF, out + i);
  }
}

/// The fast evaluator on the accumulators within `bound`; returns fast_path_exact (nothing is stored
/// when it is false).
template <class... S>
QSPARSE_TARGET_AVX512 bool run_avx512_fast(const output_pipeline<S...>& p, std::int64_t bound,
                                           const std::vector<std::int32_t>& acc,
                                           typename output_pipeline<S...>::output_type* out) {
  const auto prepared = kernels::avx512::prepare(p, 0, 0xFFFF, bound);
  if (!kernels::avx512::fast_path_exact(prepared)) return false;
  for (std::size_t i = 0; i < acc.size(); i += 16) {
    const __m512i v = _mm512_loadu_si512(acc.data() + i);
    kernels::avx512::store_prepared_fast(prepared, v, 0xFFFF, out + i);
  }
  return true;
}

/// Checks both evaluators against evaluate(); returns whether the fast one was exact (and so checked)
/// for accumulators within `bound` (-1: no bound).
template <class... S>
bool check_pipeline(const output_pipeline<S...>& p, std::int64_t bound = -1) {
  using out_t = typename output_pipeline<S...>::output_type;
  std::vector<std::int32_t> acc = accumulators();
  if (bound >= 0) {
    std::vector<std::int32_t> within;
    for (std::int32_t a : acc)
      if (a >= -bound && a <= bound) within.push_back(a);
    within.push_back(static_cast<std::int32_t>(-bound));
    within.push_back(static_cast<std::int32_t>(bound));
    while (within.size() % 16 != 0) within.push_back(0);
    acc = within;
  }
  std::vector<out_t> got(acc.size()), want(acc.size()), fast(acc.size());
  run_avx512(p, acc, got.data());
  for (std::size_t i = 0; i < acc.size(); ++i) want[i] = evaluate(p, acc[i], 0, static_cast<std::ptrdiff_t>(i % 16));
  for (std::size_t i = 0; i < acc.size(); ++i) {
    INFO("accumulator " << acc[i]);
    REQUIRE(static_cast<std::int64_t>(got[i]) == static_cast<std::int64_t>(want[i]));
  }
  const bool exact = run_avx512_fast(p, bound, acc, fast.data());
  if (exact) {
    for (std::size_t i = 0; i < acc.size(); ++i) {
      INFO("accumulator " << acc[i] << ", fast evaluator");
      REQUIRE(static_cast<std::int64_t>(fast[i]) == static_cast<std::int64_t>(want[i]));
    }
  }
  return exact;
}

/// The AVX2 evaluator (8 lanes at a time) against evaluate() on every accumulator.
template <class... S>
QSPARSE_TARGET_AVX2 void run_avx2(const output_pipeline<S...>& p, const std::vector<std::int32_t>& acc,
                                  typename output_pipeline<S...>::output_type* out) {
  for (std::size_t i = 0; i < acc.size(); i += 8) {
    const __m256i v = _mm256_loadu_si256(reinterpret_cast<const __m256i*>(acc.data() + i));
    kernels::avx2::store_row(p, v, static_cast<std::ptrdiff_t>(i % 16), 8, out + i);
  }
}
template <class... S>
void check_pipeline_avx2(const output_pipeline<S...>& p) {
  using out_t = typename output_pipeline<S...>::output_type;
  const std::vector<std::int32_t> acc = accumulators();
  std::vector<out_t> got(acc.size()), want(acc.size());
  run_avx2(p, acc, got.data());
  for (std::size_t i = 0; i < acc.size(); ++i) want[i] = evaluate(p, acc[i], 0, static_cast<std::ptrdiff_t>(i % 16));
  for (std::size_t i = 0; i < acc.size(); ++i) {
    INFO("accumulator " << acc[i] << ", AVX2");
    REQUIRE(static_cast<std::int64_t>(got[i]) == static_cast<std::int64_t>(want[i]));
  }
}

}  // namespace

// This file is built without -m flags, where GCC aligns __m512 and __m256 to 16 bytes only: the structs
// that hold them must still be as aligned as the target functions' aligned moves assume, in a caller's
// frame, an array or a heap allocation.
namespace alignment_checks {
namespace a512 = qsparse::kernels::avx512;
namespace a2 = qsparse::kernels::avx2;
static_assert(alignof(a512::prepared_add_constant) == 64 && alignof(a512::prepared_bias) == 64 &&
              alignof(a512::prepared_fixed_point<qsparse::double_rounding>) == 64 &&
              alignof(a512::prepared_round_scale) == 64 && alignof(a512::prepared_clamp) == 64 &&
              alignof(a512::prepared_dequantize) == 64 && alignof(a512::prepared_clamp_float) == 64 &&
              alignof(a512::prepared_round_scale_offset_clamp) == 64,
              "AVX-512 prepared stages must be 64-byte aligned");
static_assert(alignof(std::tuple<a512::prepared_bias, a512::prepared_round_scale_offset_clamp>) == 64,
              "a prepared pipeline must be 64-byte aligned");
static_assert(alignof(qsparse::kernels::avx512_vnni::dwconv_columns_s8s8_s32_c64::v_order_epilogue) == 64,
              "the depthwise V-order epilogue must be 64-byte aligned");
static_assert(alignof(a2::prepared_add_constant) == 32 && alignof(a2::prepared_fixed_point<qsparse::double_rounding>) == 32 &&
              alignof(a2::prepared_round_scale) == 32 && alignof(a2::prepared_clamp) == 32 &&
              alignof(a2::prepared_dequantize) == 32 && alignof(a2::prepared_clamp_float) == 32,
              "AVX2 prepared stages must be 32-byte aligned");
}  // namespace alignment_checks

TEST_CASE("the AVX-512 evaluator's folded zero point and clamps equal the scalar stages", "[gemm][pipeline]") {
  if (!testing::runs_level(isa_level::avx512)) {
    WARN("AVX-512 not available on this CPU or above QSPARSE_ISA_CEILING: the AVX-512 output-pipeline evaluator is not exercised");
    return;
  }
  static_assert(kernels::avx512::offset_clamp_tail<add_zero_point, clamp, saturating_cast<std::int8_t>>() == 3);
  static_assert(kernels::avx512::offset_clamp_tail<requantize_float, add_zero_point, clamp>() == 2);
  static_assert(kernels::avx512::offset_clamp_tail<add_zero_point>() == 0);
  static_assert(kernels::avx512::offset_clamp_tail<clamp, saturating_cast<std::int8_t>>() == 0);
  static_assert(kernels::avx512::offset_clamp_tail<add_zero_point, clamp, requantize_float>() == 0);
  // The usual int8 tails.
  check_pipeline(pipeline(add_zero_point{-7}, clamp{-120, 127}, saturating_cast<std::int8_t>{}));
  check_pipeline(pipeline(add_zero_point{-128}, saturating_cast<std::int8_t>{}));
  check_pipeline(pipeline(add_zero_point{3}, saturating_cast<std::uint8_t>{}));
  check_pipeline(pipeline(add_zero_point{-5}, saturating_cast<std::int16_t>{}));
  check_pipeline(pipeline(add_zero_point{0}, clamp{-1000, 1000}));
  // Bounds minus the zero point below INT32_MIN or above INT32_MAX (saturated, never binding).
  check_pipeline(pipeline(add_zero_point{2147483000}, saturating_cast<std::int8_t>{}));
  check_pipeline(pipeline(add_zero_point{int32_min}, saturating_cast<std::int8_t>{}));
  check_pipeline(pipeline(add_zero_point{int32_max}, clamp{-10, 0}));
  check_pipeline(pipeline(add_zero_point{int32_min}, clamp{int32_min, int32_max}));
  check_pipeline(pipeline(add_zero_point{int32_max}, clamp{int32_min, int32_max}));
  // Constant results: every v + zp saturates below L (above H).
  check_pipeline(pipeline(add_zero_point{int32_min}, clamp{0, 10}, saturating_cast<std::int8_t>{}));
  check_pipeline(pipeline(add_zero_point{int32_max}, clamp{-10, -5}));
  check_pipeline(pipeline(add_zero_point{int32_min + 5}, clamp{5, 6}));
  // Two clamps: nested, overlapping and disjoint bounds.
  check_pipeline(pipeline(add_zero_point{0}, clamp{5, 9}, clamp{-3, 7}));
  check_pipeline(pipeline(add_zero_point{3}, clamp{10, 20}, clamp{30, 40}));
  check_pipeline(pipeline(add_zero_point{-3}, clamp{-500, 500}, saturating_cast<std::int8_t>{}));
  check_pipeline(pipeline(add_zero_point{100}, clamp{0, 6}, saturating_cast<std::uint8_t>{}));
  // Whole pipelines: the stages before the tail run unfolded.
  const std::int32_t bias[16] = {5, -5, 1000000, -1000000, int32_max, int32_min, 0, 7, 8, 9, -10, 11, 12, 13, 14, 15};
  const float scales[16] = {0.5f, 1e-3f, 1e-6f, 2.0f, 1e-9f, 3.0f, 0.25f, 0.125f, 1.0f, 1.5f, 1e-4f, 0.75f, 8.0f, 0.1f, 0.2f, 0.3f};
  check_pipeline(pipeline(bias_add{bias}, requantize_float_per_channel{scales}, add_zero_point{-3}, clamp{-128, 127},
                          saturating_cast<std::int8_t>{}));
  check_pipeline(pipeline(bias_add{bias}, requantize_fixed_point<double_rounding>{quantize_multiplier(0.00123)},
                          add_zero_point{17}, clamp{0, 127}, saturating_cast<std::int8_t>{}));
  check_pipeline(pipeline(requantize_float{3.5e3f}, add_zero_point{2147483000}));
}

TEST_CASE("the AVX-512 fast evaluator is used exactly where it equals the scalar stages", "[gemm][pipeline]") {
  if (!testing::runs_level(isa_level::avx512)) {
    WARN("AVX-512 not available on this CPU or above QSPARSE_ISA_CEILING: the AVX-512 output-pipeline evaluator is not exercised");
    return;
  }
  using kernels::avx512::has_fast_path;
  using kernels::avx512::prepared_round_scale_offset_clamp;
  static_assert(!has_fast_path<std::tuple<kernels::avx512::prepared_add_constant>>::value);
  static_assert(has_fast_path<std::tuple<kernels::avx512::prepared_bias>>::value);
  static_assert(has_fast_path<std::tuple<prepared_round_scale_offset_clamp>>::value);
  // requantize_float and the folded tail become one stage.
  static_assert(std::is_same_v<decltype(kernels::avx512::prepare(
                                   pipeline(requantize_float{1.0f}, add_zero_point{0}, saturating_cast<std::int8_t>{}),
                                   0, 0xFFFF)),
                               std::tuple<prepared_round_scale_offset_clamp>>);
  const float scales[16] = {0.5f, 1e-3f, 1e-6f, 2.0f, 1e-9f, 3.0f, 0.25f, 0.125f, 1.0f, 1.5f, 1e-4f, 0.75f, 8.0f, 0.1f, 0.2f, 1e30f};
  const std::int32_t small_bias[16] = {5, -5, 1000, -1000, 0, 7, 8, 9, -10, 11, 12, 13, 14, 15, -16, 100000};
  const std::int32_t big_bias[16] = {5, -5, 1000, -1000, 0, 7, 8, 9, -10, 11, 12, 13, 14, 15, -16, int32_max - 999};
  const std::int32_t low_bias[16] = {5, -5, 1000, -1000, 0, 7, 8, 9, -10, 11, 12, 13, 14, 15, -16, int32_min + 1000};
  // Float clamp: exact for the int8 / uint8 / int16 tails, ties and values far out of range included.
  CHECK(check_pipeline(pipeline(requantize_float_per_channel{scales}, add_zero_point{-3}, clamp{-128, 127},
                                saturating_cast<std::int8_t>{})));
  CHECK(check_pipeline(pipeline(requantize_float{0.5f}, add_zero_point{7}, saturating_cast<std::uint8_t>{})));
  CHECK(check_pipeline(pipeline(requantize_float{0.5f}, add_zero_point{-100}, clamp{0, 6}, saturating_cast<std::int8_t>{})));
  CHECK(check_pipeline(pipeline(requantize_float{1.5f}, add_zero_point{-9}, saturating_cast<std::int16_t>{})));
  CHECK(check_pipeline(pipeline(requantize_float{0.25f}, add_zero_point{16777216 - 128}, saturating_cast<std::int8_t>{})));
  // ... and not where the tail's bounds are beyond 2^24 (-128 - zp = -2^24 - 1 here).
  CHECK_FALSE(check_pipeline(pipeline(requantize_float{0.25f}, add_zero_point{16777216 - 127}, saturating_cast<std::int8_t>{})));
  CHECK_FALSE(check_pipeline(pipeline(requantize_float{0.25f}, add_zero_point{16777216 + 1000}, saturating_cast<std::int8_t>{})));
  CHECK_FALSE(check_pipeline(pipeline(requantize_float{3.5e3f}, add_zero_point{5}, clamp{int32_min, int32_max})));
  // Plain bias: exact when bound + |bias| fits int32 in every lane.
  CHECK(check_pipeline(pipeline(bias_add{small_bias}, requantize_float_per_channel{scales}, add_zero_point{-3},
                                saturating_cast<std::int8_t>{}),
                       int32_max - 100000));
  CHECK_FALSE(check_pipeline(pipeline(bias_add{small_bias}, requantize_float_per_channel{scales}, add_zero_point{-3},
                                      saturating_cast<std::int8_t>{}),
                             int32_max - 99999));
  CHECK(check_pipeline(pipeline(bias_add{big_bias}, requantize_fixed_point<double_rounding>{quantize_multiplier(0.00123)},
                                add_zero_point{17}, saturating_cast<std::int8_t>{}),
                       999));
  CHECK_FALSE(check_pipeline(pipeline(bias_add{big_bias}, add_zero_point{17}, saturating_cast<std::int8_t>{}), 1000));
  CHECK(check_pipeline(pipeline(bias_add{low_bias}), 1000));
  CHECK_FALSE(check_pipeline(pipeline(bias_add{low_bias}), 1001));
  CHECK_FALSE(check_pipeline(pipeline(bias_add{small_bias}, requantize_float_per_channel{scales}, add_zero_point{-3},
                                      saturating_cast<std::int8_t>{})));  // no bound: saturation stays
  // Double-rounding fixed point: plain (no check for the left shift's or the high multiply's
  // saturation) when every shift is <= 0 and no multiplier is INT32_MIN, over the whole int32 range
  // (ties of RoundingDivideByPOT, shifts 0 and -31 included); refused when one lane shifts left or
  // multiplies by INT32_MIN (where SaturatingRoundingDoublingHighMul(INT32_MIN, INT32_MIN) saturates).
  static_assert(has_fast_path<std::tuple<kernels::avx512::prepared_fixed_point<double_rounding>>>::value);
  static_assert(!has_fast_path<std::tuple<kernels::avx512::prepared_fixed_point<single_rounding>>>::value);
  std::int32_t multipliers[16], shifts[16];
  for (int i = 0; i < 16; ++i) {
    const quantized_multiplier q = quantize_multiplier(std::ldexp(0.75 + i / 64.0, -2 * i));
    multipliers[i] = q.multiplier;
    shifts[i] = q.shift;
  }
  shifts[15] = -31;
  shifts[14] = 0;
  CHECK(check_pipeline(pipeline(requantize_fixed_point_per_channel<double_rounding>{multipliers, shifts})));
  CHECK(check_pipeline(pipeline(requantize_fixed_point_per_channel<double_rounding>{multipliers, shifts},
                                add_zero_point{-5}, clamp{-128, 127}, saturating_cast<std::int8_t>{})));
  CHECK(check_pipeline(pipeline(requantize_fixed_point<double_rounding>{quantized_multiplier{int32_max, -1}})));
  shifts[3] = 1;
  CHECK_FALSE(check_pipeline(pipeline(requantize_fixed_point_per_channel<double_rounding>{multipliers, shifts})));
  shifts[3] = -3;
  multipliers[9] = int32_min;
  CHECK_FALSE(check_pipeline(pipeline(requantize_fixed_point_per_channel<double_rounding>{multipliers, shifts})));
  CHECK_FALSE(check_pipeline(pipeline(requantize_fixed_point<double_rounding>{quantized_multiplier{int32_min, 0}})));
}

TEST_CASE("single_rounding_away and double_rounding_up: the AVX2 and AVX-512 evaluators equal the scalar stages",
          "[gemm][pipeline]") {
  std::int32_t multipliers[16], shifts[16], away_shifts[16];
  for (int i = 0; i < 16; ++i) {  // few significant bits: ties at every shift
    multipliers[i] = (1 << 30) + (i % 4) * (1 << 28);
    shifts[i] = -2 * i;
    away_shifts[i] = 1 - 2 * i;
  }
  shifts[15] = -31;
  shifts[14] = 0;
  away_shifts[0] = 30;
  const auto away = pipeline(requantize_fixed_point_per_channel<single_rounding_away>{multipliers, away_shifts},
                             add_zero_point{-5}, clamp{-128, 127}, saturating_cast<std::int8_t>{});
  const auto away_raw = pipeline(requantize_fixed_point_per_channel<single_rounding_away>{multipliers, away_shifts});
  const auto up = pipeline(requantize_fixed_point_per_channel<double_rounding_up>{multipliers, shifts},
                           add_zero_point{3}, saturating_cast<std::int8_t>{});
  const auto up_raw = pipeline(requantize_fixed_point_per_channel<double_rounding_up>{multipliers, shifts});
  const auto up_tensor = pipeline(requantize_fixed_point<double_rounding_up>{quantized_multiplier{int32_max, -1}});
  if (testing::runs_level(isa_level::avx2)) {
    check_pipeline_avx2(away);
    check_pipeline_avx2(away_raw);
    check_pipeline_avx2(up);
    check_pipeline_avx2(up_raw);
    check_pipeline_avx2(up_tensor);
  }
  if (!testing::runs_level(isa_level::avx512)) {
    WARN("AVX-512 not available on this CPU or above QSPARSE_ISA_CEILING: its evaluators of the TFLite roundings are not exercised");
    return;
  }
  using kernels::avx512::has_fast_path;
  static_assert(has_fast_path<std::tuple<kernels::avx512::prepared_fixed_point<double_rounding_up>>>::value);
  static_assert(!has_fast_path<std::tuple<kernels::avx512::prepared_fixed_point<single_rounding_away>>>::value);
  check_pipeline(away);
  check_pipeline(away_raw);
  CHECK(check_pipeline(up));  // plain: the fast evaluator runs and is checked
  CHECK(check_pipeline(up_raw));
  CHECK(check_pipeline(up_tensor));
  shifts[3] = 2;  // one lane shifts left: the fast evaluator is refused, the full one still exact
  CHECK_FALSE(check_pipeline(pipeline(requantize_fixed_point_per_channel<double_rounding_up>{multipliers, shifts})));
  shifts[3] = -3;
  multipliers[9] = int32_min;
  CHECK_FALSE(check_pipeline(pipeline(requantize_fixed_point_per_channel<double_rounding_up>{multipliers, shifts})));
}
#endif
