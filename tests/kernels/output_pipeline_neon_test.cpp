// tests/kernels/output_pipeline_neon_test.cpp — the NEON output-pipeline evaluator
// (qsparse/kernels/neon/output_pipeline.hpp) against the scalar definition (evaluate), stage by stage and in
// whole pipelines, on accumulators across the whole int32 range, for every output type and every tail
// length (1..4 columns: nothing is read or written past the last column). Floats are compared bit for bit
// (NaN payloads, -0.0). On other architectures the evaluator does not exist and this file checks nothing
// beyond that.
#include <catch2/catch.hpp>

#include "qsparse/kernels/neon/output_pipeline.hpp"

#include <cmath>
#include <cstdint>
#include <cstring>
#include <limits>
#include <random>
#include <type_traits>
#include <vector>

#include "qsparse/kernels/gemm_kernels.hpp"
#include "qsparse/quant/fixed_point.hpp"
#include "qsparse/spec/output_stages.hpp"

using namespace qsparse;

#if QSPARSE_AARCH64
namespace {

constexpr std::int32_t int32_min = std::numeric_limits<std::int32_t>::min();
constexpr std::int32_t int32_max = std::numeric_limits<std::int32_t>::max();

std::vector<std::int32_t> accumulators() {
  std::vector<std::int32_t> a = {int32_min, int32_min + 1, -2147483520, -65536, -129, -128, -127, -1, 0, 1, 126,
                                 127, 128, 255, 256, 65535, 2147483519, 2147483520, int32_max - 1, int32_max};
  for (int e = 1; e < 31; ++e) {  // ties of every rounding shift: ±(2^e ± 2^(e-1))
    const std::int32_t p = std::int32_t{1} << e, h = p >> 1;
    for (std::int32_t x : {p, p - 1, p + h, p - h}) {
      a.push_back(x);
      a.push_back(-x);
    }
  }
  std::mt19937 rng(25);
  std::uniform_int_distribution<std::int32_t> any(int32_min, int32_max);
  std::uniform_int_distribution<std::int32_t> small(-400, 400);
  for (int i = 0; i < 300; ++i) a.push_back(any(rng));
  for (int i = 0; i < 300; ++i) a.push_back(small(rng));
  while (a.size() % 16 != 0) a.push_back(0);
  return a;
}

template <class T>
std::uint64_t bits(T v) {
  if constexpr (std::is_same_v<T, float>) {
    std::uint32_t u;
    std::memcpy(&u, &v, sizeof u);
    return u;
  } else {
    return static_cast<std::uint64_t>(static_cast<std::int64_t>(v));
  }
}

/// Every accumulator through the NEON evaluator in groups of `count` columns (column n = i % 16, so the
/// per-column parameters of 16 columns are all used), against evaluate(); the element after each group
/// keeps its guard value.
template <class... S>
void check_neon(const output_pipeline<S...>& p) {
  using out_t = typename output_pipeline<S...>::output_type;
  const std::vector<std::int32_t> acc = accumulators();
  for (int count = 1; count <= 4; ++count) {
    std::vector<out_t> got(acc.size() + 4, out_t{});
    for (std::size_t i = 0; i + 4 <= acc.size(); i += 4) {
      const std::ptrdiff_t n = static_cast<std::ptrdiff_t>(i % 16);
      const out_t guard = static_cast<out_t>(99);
      for (std::size_t j = static_cast<std::size_t>(count); j < 4; ++j) got[i + j] = guard;
      kernels::neon::store_prepared(kernels::neon::prepare(p, n, count), vld1q_s32(acc.data() + i), count, got.data() + i);
      for (std::size_t j = 0; j < 4; ++j) {
        INFO("accumulator " << acc[i + j] << ", column " << n + static_cast<std::ptrdiff_t>(j) << ", count " << count);
        if (j < static_cast<std::size_t>(count)) {
          const out_t want = evaluate(p, acc[i + j], 0, n + static_cast<std::ptrdiff_t>(j));
          REQUIRE(bits(got[i + j]) == bits(want));
        } else {
          REQUIRE(bits(got[i + j]) == bits(guard));
        }
      }
    }
  }
}

}  // namespace

TEST_CASE("NEON output stages: integer stages and tails equal the scalar stages", "[neon][pipeline]") {
  const std::int32_t bias[16] = {5, -5, 1000000, -1000000, int32_max, int32_min, 0, 7, 8, 9, -10, 11, 12, 13, 14, 15};
  check_neon(pipeline());
  check_neon(pipeline(bias_add{bias}));
  check_neon(pipeline(add_zero_point{int32_min}));
  check_neon(pipeline(add_zero_point{int32_max}, clamp{-10, 0}));
  check_neon(pipeline(add_zero_point{-7}, clamp{-120, 127}, saturating_cast<std::int8_t>{}));
  check_neon(pipeline(add_zero_point{3}, saturating_cast<std::uint8_t>{}));
  check_neon(pipeline(add_zero_point{-5}, saturating_cast<std::int16_t>{}));
  check_neon(pipeline(add_zero_point{0}, clamp{5, 9}, clamp{-3, 7}));
  check_neon(pipeline(saturating_cast<std::int8_t>{}));
}

TEST_CASE("NEON output stages: the four fixed-point roundings equal the scalar stages", "[neon][pipeline]") {
  std::int32_t multipliers[16], shifts[16], single_shifts[16];
  for (int i = 0; i < 16; ++i) {  // few significant bits: ties at every shift
    multipliers[i] = (1 << 30) + (i % 4) * (1 << 28);
    shifts[i] = 6 - 3 * i;  // left shifts (saturating) to -39 ...
    single_shifts[i] = 30 - 4 * i;
  }
  shifts[15] = -31;
  shifts[14] = 0;
  single_shifts[15] = -31;
  const auto check_all = [&](auto rounding) {
    using R = decltype(rounding);
    const bool single = std::is_same_v<R, single_rounding> || std::is_same_v<R, single_rounding_away>;
    std::int32_t s[16];
    for (int i = 0; i < 16; ++i) s[i] = single ? single_shifts[i] : (shifts[i] < -31 ? -31 : shifts[i]);
    check_neon(pipeline(requantize_fixed_point_per_channel<R>{multipliers, s}));
    check_neon(pipeline(bias_add{multipliers}, requantize_fixed_point_per_channel<R>{multipliers, s}, add_zero_point{-5},
                        clamp{-128, 127}, saturating_cast<std::int8_t>{}));
    check_neon(pipeline(requantize_fixed_point<R>{quantized_multiplier{int32_max, -1}}));
    check_neon(pipeline(requantize_fixed_point<R>{quantize_multiplier_single_rounding(0.00123)}, add_zero_point{17},
                        saturating_cast<std::uint8_t>{}));
    if (!single) {  // double rounding takes any multiplier and left shifts
      check_neon(pipeline(requantize_fixed_point<R>{quantized_multiplier{int32_min, 0}}));
      check_neon(pipeline(requantize_fixed_point<R>{quantized_multiplier{int32_min, 40}}));
      check_neon(pipeline(requantize_fixed_point<R>{quantized_multiplier{1 << 30, 3}}));
    }
  };
  check_all(double_rounding{});
  check_all(double_rounding_up{});
  check_all(single_rounding{});
  check_all(single_rounding_away{});
}

TEST_CASE("NEON output stages: float requantization and dequantization equal the scalar stages", "[neon][pipeline]") {
  const float scales[16] = {0.5f, 1e-3f, 1e-6f, 2.0f, 1e-9f, 3.0f, 0.25f, 0.125f, 1.0f, 1.5f, 1e-4f, 0.75f, 8.0f, 0.1f, 0.2f, 1e30f};
  const float fbias[16] = {0.5f, -0.5f, 1e9f, -1e9f, 0.0f, -0.0f, 3.25f, 1e-7f, -7.0f, 2.5f, 100.0f, -100.0f, 0.1f, 0.2f, 0.3f, 1e38f};
  const std::int32_t bias[16] = {5, -5, 1000, -1000, 0, 7, 8, 9, -10, 11, 12, 13, 14, 15, -16, 100000};
  // Ties of the float rounding (v * 0.5 for odd v), saturation to int32 (1e30), tiny products.
  check_neon(pipeline(requantize_float{0.5f}));
  check_neon(pipeline(requantize_float{3.5e3f}, add_zero_point{2147483000}));
  check_neon(pipeline(requantize_float_per_channel{scales}));
  check_neon(pipeline(bias_add{bias}, requantize_float_per_channel{scales}, add_zero_point{-3}, clamp{-128, 127},
                      saturating_cast<std::int8_t>{}));
  check_neon(pipeline(requantize_float{0.25f}, add_zero_point{16777216 + 1000}, saturating_cast<std::int8_t>{}));
  // Dequantization: the product rounded before the bias add (no fused multiply-add), inf from 1e30.
  check_neon(pipeline(dequantize_float{0.1f, nullptr}));
  check_neon(pipeline(dequantize_float{1.0f / 3.0f, fbias}));
  check_neon(pipeline(dequantize_float_per_channel{scales, fbias}));
  check_neon(pipeline(dequantize_float_per_channel{scales, nullptr}, clamp_float{-1.0f, 6.0f}));
  // clamp_float keeps -0.0 against a 0.0 bound and lets NaN through (inf + -inf in the bias add).
  const float neg_inf_bias[16] = {-INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
                                  -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY, -INFINITY,
                                  -INFINITY, -INFINITY};
  check_neon(pipeline(dequantize_float{-1.0f, nullptr}, clamp_float{0.0f, 6.0f}));
  check_neon(pipeline(dequantize_float{1e30f, neg_inf_bias}, clamp_float{-1.0f, 1.0f}));
}

#else

TEST_CASE("off aarch64 no GEMM kernel of the registry uses the NEON epilogue", "[neon][pipeline]") {
  int neon_kernels = 0, kernels_listed = 0;
  kernels::for_each_kernel(kernels::gemm_kernels{}, [&](auto kernel) {
    ++kernels_listed;
    if (std::strstr(decltype(kernel)::name(), "neon") != nullptr) ++neon_kernels;
  });
  CHECK(kernels_listed > 0);
  CHECK(neon_kernels == 0);
}

#endif  // QSPARSE_AARCH64
