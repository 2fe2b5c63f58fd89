#include "qsparse/quant/requantize.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <vector>

#include "qsparse/core/tensor.hpp"
#include "support/testing.hpp"

using namespace qsparse;
using qsparse::testing::supported_levels;

namespace {
using tfl_s8 = tflite_int8_activation;
using tfl_u8 = scheme<std::uint8_t, per_tensor, affine, round_half_away_from_zero>;
using tfl_s16 = scheme<std::int16_t, per_tensor, affine, round_half_away_from_zero>;
using pt_s8 = scheme<std::int8_t, per_tensor, affine, round_half_to_even>;
using tfl_s8_pc = scheme<std::int8_t, per_channel, affine, round_half_away_from_zero>;
using tfl_s32 = scheme<std::int32_t, per_tensor, affine, round_half_away_from_zero>;

template <class In, class Out>
std::vector<typename Out::value_type> run(isa_level level, const std::vector<typename In::value_type>& q,
                                          per_tensor_params a, per_tensor_params b) {
  std::vector<typename Out::value_type> out(q.size());
  requantize_isa<In, Out>(level, make_view(q.data(), static_cast<index_t>(q.size())),
                          make_view(out.data(), static_cast<index_t>(out.size())), a, b);
  return out;
}
}  // namespace

TEST_CASE("requantize: TFLite fixed point and PyTorch float rules on exact values", "[requantize]") {
  const std::vector<std::int8_t> q = {0, -2, 127, -128, 5, -6};
  // scale ratio 0.5: multiplier (2^30, 0); SRDHM rounds the half 0.5 up to 1 and -0.5 up to 0.
  const auto t = run<tfl_s8, tfl_s8>(best_isa(), q, {0.5f, -1}, {1.0f, 3});
  CHECK(t == std::vector<std::int8_t>{4, 3, 67, -60, 6, 1});  // -63.5 rounds up to -63
  // PyTorch: dequantize then quantize half to even: 0.5 → 0, -0.5 → 0, 64 → 64, 2.5 → 2, -2.5 → -2.
  const auto p = run<pt_s8, pt_s8>(best_isa(), q, {0.5f, -1}, {1.0f, 3});
  CHECK(p == std::vector<std::int8_t>{3, 3, 67, -61, 6, 1});
  // Saturation at the output range, and the scale ratio 1 with a zero-point shift (int8 → uint8).
  const auto u = run<tfl_s8, tfl_u8>(best_isa(), q, {1.0f, 0}, {1.0f, 128});
  CHECK(u == std::vector<std::uint8_t>{128, 126, 255, 0, 133, 122});
  const auto big = run<tfl_s8, tfl_s8>(best_isa(), q, {1.0f, 0}, {0.01f, 0});
  CHECK(big == std::vector<std::int8_t>{0, -128, 127, -128, 127, -128});
}

TEST_CASE("requantize on every ISA equals the scalar rule over the whole input range", "[requantize][isa]") {
  std::vector<std::int8_t> q8;
  for (int v = -128; v <= 127; ++v) q8.push_back(static_cast<std::int8_t>(v));
  for (int rep = 0; rep < 3; ++rep) q8.insert(q8.end(), q8.begin(), q8.begin() + 256);
  q8.resize(q8.size() - 13);  // a ragged tail
  std::vector<std::int16_t> q16;
  for (int v = -32768; v <= 32767; v += 3) q16.push_back(static_cast<std::int16_t>(v));
  const float ratios[] = {1.0f, 0.5f, 0.25f, 0.75f, 1.0f / 255.0f, 3.9999f, 100.0f, 1e-6f, 0.0123f, 7.5f};
  const std::int32_t in_zps[] = {-128, 0, 127, 3};
  const std::int32_t out_zps[] = {-128, 0, 127, -7};
  for (isa_level level : supported_levels()) {
    for (float r : ratios)
      for (std::int32_t izp : in_zps)
        for (std::int32_t ozp : out_zps) {
          const per_tensor_params a{0.37f, izp}, b{0.37f / r, ozp};
          const quantized_multiplier m = quantize_multiplier(static_cast<double>(a.scale) / b.scale);
          const auto o = run<tfl_s8, tfl_s8>(level, q8, a, b);
          bool same = true;
          for (std::size_t i = 0; i < q8.size(); ++i)
            same = same && o[i] == requantize_value_fixed_point<std::int8_t>(q8[i], izp, m, ozp);
          const auto o16 = run<tfl_s16, tfl_s8>(level, q16, {0.37f, 0}, b);
          const quantized_multiplier m16 = quantize_multiplier(static_cast<double>(0.37f) / static_cast<double>(b.scale));
          for (std::size_t i = 0; i < q16.size(); ++i)
            same = same && o16[i] == requantize_value_fixed_point<std::int8_t>(q16[i], 0, m16, ozp);
          INFO(to_string(level) << " ratio " << r << " zp " << izp << " → " << ozp);
          CHECK(same);
        }
  }
}

TEST_CASE("requantize per channel and from int32 accumulators", "[requantize][per_channel]") {
  const float scales[3] = {0.1f, 0.2f, 0.4f};
  const std::int32_t zps[3] = {0, 10, -10};
  tensor<std::int8_t, 2> in(4, 3);
  for (index_t i = 0; i < 4; ++i)
    for (index_t c = 0; c < 3; ++c) in(i, c) = static_cast<std::int8_t>(i * 40 - 60 + c);
  tensor<std::int8_t, 2> out(4, 3);
  for (isa_level level : supported_levels()) {
    requantize_isa<tfl_s8_pc, tfl_s8>(level, std::as_const(in).view(), out.view(), per_channel_params{scales, zps, 3, 1},
                                      per_tensor_params{0.2f, 1});
    for (index_t i = 0; i < 4; ++i)
      for (index_t c = 0; c < 3; ++c) {
        const auto m = quantize_multiplier(static_cast<double>(scales[c]) / 0.2);
        CHECK(out(i, c) == requantize_value_fixed_point<std::int8_t>(in(i, c), zps[c], m, 1));
      }
  }
  // int32 accumulators (scalar path) saturate the centred value before the multiplier.
  const std::vector<std::int32_t> acc = {INT32_MIN, INT32_MAX, 1000, -1000};
  const auto o = run<tfl_s32, tfl_s8>(best_isa(), acc, {1.0f, 5}, {100.0f, 0});
  CHECK(o == std::vector<std::int8_t>{-128, 127, 10, -10});
}

TEST_CASE("requantize rejects bad arguments", "[requantize][errors]") {
  std::vector<std::int8_t> a(4), b(4);
  auto av = make_view(static_cast<const std::int8_t*>(a.data()), index_t{4});
  auto bv = make_view(b.data(), index_t{4});
  REQUIRE_THROWS_WITH((requantize<tfl_s8, tfl_s8>(av, bv, per_tensor_params{0.0f, 0}, per_tensor_params{1.0f, 0})),
                      "qsparse::requantize: scale must be positive and finite, got scale = 0");
  REQUIRE_THROWS_WITH((requantize<tfl_s8, tfl_u8>(av, make_view(reinterpret_cast<std::uint8_t*>(b.data()), index_t{4}),
                                                  per_tensor_params{1.0f, 0}, per_tensor_params{1.0f, -1})),
                      "qsparse::requantize: zero_point = -1 is outside the storage range [0, 255]");
}

TEST_CASE("requantize in place equals out of place on every ISA; a partial overlap is an error (issue 22)",
          "[requantize][errors]") {
  std::vector<std::int8_t> q(1000);
  for (std::size_t i = 0; i < q.size(); ++i) q[i] = static_cast<std::int8_t>(i * 7);
  const per_tensor_params a{0.03f, 5}, b{0.05f, -3};
  for (const isa_level level : qsparse::testing::supported_levels()) {
    const auto want = run<tfl_s8, tfl_s8>(level, q, a, b);
    std::vector<std::int8_t> in_place = q;
    const auto v = make_view(in_place.data(), static_cast<index_t>(in_place.size()));
    requantize_isa<tfl_s8, tfl_s8>(level, v, v, a, b);
    CHECK(in_place == want);
  }
  std::vector<std::int8_t> buffer(2000);
  CHECK_THROWS_WITH((requantize<tfl_s8, tfl_s8>(make_view(buffer.data(), 1000), make_view(buffer.data() + 10, 1000), a, b)),
                    Catch::Contains("qsparse::requantize: out partially overlaps in in memory"));
  CHECK_THROWS_WITH((requantize<tfl_s8, tfl_s16>(make_view(buffer.data(), 500),
                                                 make_view(reinterpret_cast<std::int16_t*>(buffer.data()), 500), a, b)),
                    Catch::Contains("qsparse::requantize: out overlaps in in memory"));
}
