#include "qsparse/quant/quantize.hpp"

#include <catch2/catch.hpp>
#include <algorithm>
#include <cmath>
#include <limits>
#include <string>
#include <vector>

#include "qsparse/core/tensor.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/quant/choose_params.hpp"
#include "support/testing.hpp"

namespace {
#include "data/torch_quant_vectors.inc"
}

using namespace qsparse;
using qsparse::testing::from_bits;
using qsparse::testing::supported_levels;
using qsparse::testing::to_bits;

namespace {
constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float qnan = std::numeric_limits<float>::quiet_NaN();

template <class Scheme>
std::vector<typename Scheme::value_type> quantize_all(isa_level level, const std::vector<float>& x, float scale,
                                                      std::int32_t zp) {
  std::vector<typename Scheme::value_type> q(x.size());
  quantize_isa<Scheme>(level, make_view(x.data(), static_cast<index_t>(x.size())),
                       make_view(q.data(), static_cast<index_t>(q.size())), per_tensor_params{scale, zp});
  return q;
}
}  // namespace

TEST_CASE("quantize_value: TFLite rounds ties away from zero, PyTorch to even", "[quantize]") {
  using tfl = round_half_away_from_zero;
  using pt = round_half_to_even;
  CHECK(quantize_value<tfl, std::int8_t>(2.5f, 1.0f, 0) == 3);
  CHECK(quantize_value<tfl, std::int8_t>(-2.5f, 1.0f, 0) == -3);
  CHECK(quantize_value<pt, std::int8_t>(2.5f, 1.0f, 0) == 2);
  CHECK(quantize_value<pt, std::int8_t>(-2.5f, 1.0f, 0) == -2);
  CHECK(quantize_value<pt, std::int8_t>(3.5f, 1.0f, 0) == 4);
  CHECK(quantize_value<pt, std::int8_t>(-0.5f, 1.0f, 0) == 0);
  // x / scale vs x * (1 / scale): -2.5 / 0.019607844 = -127.49999 but -2.5 * 51 = -127.5.
  CHECK(quantize_value<tfl, std::uint8_t>(-2.5f, 0.019607844f, 153) == 26);
  CHECK(quantize_value<pt, std::uint8_t>(-2.5f, 0.019607844f, 153) == 25);
}

TEST_CASE("quantize_value: saturation, NaN, infinities and narrow ranges", "[quantize]") {
  using tfl = round_half_away_from_zero;
  CHECK(quantize_value<tfl, std::int8_t>(1000.0f, 1.0f, 0) == 127);
  CHECK(quantize_value<tfl, std::int8_t>(-1000.0f, 1.0f, 0) == -128);
  CHECK(quantize_value<tfl, narrow<std::int8_t>>(-1000.0f, 1.0f, 0) == -127);
  CHECK(quantize_value<tfl, std::int8_t>(inf, 0.5f, 3) == 127);
  CHECK(quantize_value<tfl, std::int8_t>(-inf, 0.5f, 3) == -128);
  CHECK(quantize_value<tfl, std::int8_t>(qnan, 0.5f, 3) == 3);
  CHECK(quantize_value<round_half_to_even, std::uint8_t>(qnan, 0.5f, 200) == 200);
  CHECK(quantize_value<tfl, std::uint8_t>(-1.0f, 1.0f, 0) == 0);
  CHECK(quantize_value<tfl, std::int16_t>(40000.0f, 1.0f, 0) == 32767);
  CHECK(quantize_value<tfl, narrow<std::int16_t>>(-40000.0f, 1.0f, 0) == -32767);
  CHECK(quantize_value<tfl, std::int32_t>(3e9f, 1.0f, 0) == std::numeric_limits<std::int32_t>::max());
  CHECK(quantize_value<tfl, std::int32_t>(-3e9f, 1.0f, 5) == std::numeric_limits<std::int32_t>::min());
  CHECK(quantize_value<tfl, std::int32_t>(1000.5f, 1.0f, -7) == 994);
  // The zero point shifts before the clamp: 120 + 10 saturates at 127.
  CHECK(quantize_value<tfl, std::int8_t>(120.0f, 1.0f, 10) == 127);
  CHECK(quantize_value<tfl, std::int8_t>(-120.0f, 1.0f, -10) == -128);
}

TEST_CASE("dequantize_value: TFLite and PyTorch formulas", "[quantize]") {
  CHECK(dequantize_value<round_half_away_from_zero>(-128, 0.5f, -128) == 0.0f);
  CHECK(dequantize_value<round_half_away_from_zero>(127, 0.1f, 0) == static_cast<float>(0.1f * 127.0));
  CHECK(dequantize_value<round_half_to_even>(255, 0.25f, 128) == 31.75f);
  CHECK(dequantize_value<round_half_to_even>(0, 0.25f, 128) == -32.0f);
  // int32 storage where the two formulas part: (q - zp) is not exact in float.
  CHECK(dequantize_value<round_half_away_from_zero>(16777217, 1.0f, 0) == 16777216.0f);
  CHECK(dequantize_value<round_half_away_from_zero>(std::numeric_limits<std::int32_t>::min(), 1.0f, 1) ==
        -2147483648.0f);
}

TEST_CASE("quantize equals PyTorch quantize_per_tensor on every ISA", "[quantize][torch]") {
  for (isa_level level : supported_levels()) {
    for (const auto& c : torch_quantize_cases) {
      std::vector<float> x;
      for (auto bits : c.x_bits) x.push_back(from_bits(bits));
      const float scale = from_bits(c.scale_bits);
      INFO(to_string(level) << " " << c.dtype << " scale " << scale << " zp " << c.zero_point);
      if (std::string(c.dtype) == "qint8") {
        const auto q = quantize_all<scheme<std::int8_t, per_tensor, affine, round_half_to_even>>(level, x, scale,
                                                                                                 c.zero_point);
        for (std::size_t i = 0; i < x.size(); ++i) CHECK(q[i] == c.q[i]);
      } else {
        const auto q = quantize_all<torch_quint8>(level, x, scale, c.zero_point);
        for (std::size_t i = 0; i < x.size(); ++i) CHECK(q[i] == c.q[i]);
      }
    }
  }
}

TEMPLATE_TEST_CASE("quantize and dequantize on every ISA equal the scalar definition", "[quantize][isa]",
                   tflite_int8_activation, torch_quint8, torch_qint8, tflite_int16_activation,
                   (scheme<std::int16_t, per_tensor, affine, round_half_to_even>),
                   (scheme<std::uint8_t, per_tensor, affine, round_half_away_from_zero>),
                   (scheme<std::int32_t, per_tensor, affine, round_half_away_from_zero>)) {
  using S = TestType;
  using T = typename S::value_type;
  const float scales[] = {0.1f, 0.019607844f, 0.7f, 1.0f, 3e-3f, 1e-30f};
  const std::int32_t zps[] = {S::is_symmetric ? S::symmetric_zero_point : S::qmin,
                              S::is_symmetric ? S::symmetric_zero_point : S::qmax,
                              S::is_symmetric ? S::symmetric_zero_point : (S::qmin + S::qmax) / 2};
  for (isa_level level : supported_levels()) {
    for (float scale : scales) {
      for (std::int32_t zp : zps) {
        auto x = qsparse::testing::adversarial_floats(scale);
        const auto r = qsparse::testing::random_floats(1000, scale * 200.0f, 11);
        x.insert(x.end(), r.begin(), r.end());
        INFO(to_string(level) << " scale " << scale << " zp " << zp);
        // Every prefix length up to 70 exercises the vector tails; then the whole array.
        for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{15}, std::size_t{16},
                              std::size_t{17}, std::size_t{31}, std::size_t{33}, std::size_t{63}, std::size_t{65},
                              x.size()}) {
          std::vector<float> xs(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(n));
          const auto q = quantize_all<S>(level, xs, scale, zp);
          bool same = true;
          for (std::size_t i = 0; i < n; ++i)
            same = same && q[i] == quantize_value<typename S::rounding, typename S::storage>(xs[i], scale, zp);
          CHECK(same);
          std::vector<float> back(n, -1.0f);
          dequantize_isa<S>(level, make_view(static_cast<const T*>(q.data()), static_cast<index_t>(n)),
                            make_view(back.data(), static_cast<index_t>(n)), per_tensor_params{scale, zp});
          bool same_back = true;
          for (std::size_t i = 0; i < n; ++i)
            same_back = same_back && to_bits(back[i]) ==
                                         to_bits(dequantize_value<typename S::rounding>(q[i], scale, zp));
          CHECK(same_back);
        }
      }
    }
  }
}

TEST_CASE("dequantize on every ISA over the full storage range", "[quantize][isa]") {
  std::vector<std::int16_t> q;
  for (int v = -32768; v <= 32767; ++v) q.push_back(static_cast<std::int16_t>(v));
  for (isa_level level : supported_levels()) {
    std::vector<float> x(q.size());
    using S = scheme<std::int16_t, per_tensor, affine, round_half_away_from_zero>;
    dequantize_isa<S>(level, make_view(static_cast<const std::int16_t*>(q.data()), static_cast<index_t>(q.size())),
                      make_view(x.data(), static_cast<index_t>(x.size())), per_tensor_params{1.3e-3f, -32768});
    bool same = true;
    for (std::size_t i = 0; i < q.size(); ++i)
      same = same && to_bits(x[i]) == to_bits(dequantize_value<round_half_away_from_zero>(q[i], 1.3e-3f, -32768));
    INFO(to_string(level));
    CHECK(same);
  }
}

TEST_CASE("per-channel quantize along every axis and through strided views", "[quantize][per_channel][isa]") {
  using S = scheme<std::int8_t, per_channel, affine, round_half_away_from_zero>;
  const index_t e0 = 3, e1 = 5, e2 = 37;
  tensor<float, 3> x(e0, e1, e2);
  auto values = qsparse::testing::random_floats(static_cast<std::size_t>(e0 * e1 * e2), 4.0f, 5);
  for (index_t i = 0; i < x.size(); ++i) x.data()[i] = values[static_cast<std::size_t>(i)];
  x.data()[7] = qnan;
  x.data()[8] = inf;
  std::vector<float> scales = {0.01f, 0.02f, 0.05f, 0.1f, 0.2f, 0.3f, 0.5f, 0.7f, 1.0f, 1.5f, 2.0f, 3.0f};
  std::vector<std::int32_t> zps = {-128, -100, -3, 0, 5, 17, 40, 99, 127, -1, 64, 3};
  while (scales.size() < 37) {
    scales.push_back(0.013f * static_cast<float>(scales.size()));
    zps.push_back(static_cast<std::int32_t>(scales.size() * 7 % 256) - 128);
  }
  for (isa_level level : supported_levels()) {
    for (std::size_t axis = 0; axis < 3; ++axis) {
      const per_channel_params p{scales.data(), zps.data(), x.extent(axis), axis};
      tensor<std::int8_t, 3> q(e0, e1, e2);
      quantize_isa<S>(level, x.view(), q.view(), p);
      bool same = true;
      for (index_t i = 0; i < e0; ++i)
        for (index_t j = 0; j < e1; ++j)
          for (index_t k = 0; k < e2; ++k) {
            const index_t c = axis == 0 ? i : axis == 1 ? j : k;
            same = same && q(i, j, k) == quantize_value<round_half_away_from_zero, std::int8_t>(
                                             x(i, j, k), scales[static_cast<std::size_t>(c)],
                                             zps[static_cast<std::size_t>(c)]);
          }
      INFO(to_string(level) << " axis " << axis);
      CHECK(same);
      // A strided output (every other element of the last axis) and a sliced input give the same values.
      tensor<std::int8_t, 3> wide(e0, e1, 2 * e2);
      auto strided = make_strided_view(wide.data(), std::array<index_t, 3>{e0, e1, e2},
                                       std::array<index_t, 3>{e1 * 2 * e2, 2 * e2, 2});
      quantize_isa<S>(level, x.view(), strided, p);
      bool same_strided = true;
      for (index_t i = 0; i < e0; ++i)
        for (index_t j = 0; j < e1; ++j)
          for (index_t k = 0; k < e2; ++k) same_strided = same_strided && strided(i, j, k) == q(i, j, k);
      CHECK(same_strided);
      auto sub_x = subview(x.view(), 2, 1, e2);
      auto sub_q = subview(wide.view(), 2, 0, e2 - 1);
      if (axis != 2) {
        quantize_isa<S>(level, sub_x, sub_q, p);
        bool same_sub = true;
        for (index_t i = 0; i < e0; ++i)
          for (index_t j = 0; j < e1; ++j)
            for (index_t k = 0; k + 1 < e2; ++k) same_sub = same_sub && sub_q(i, j, k) == q(i, j, k + 1);
        CHECK(same_sub);
      }
      // Dequantize per channel back, compared with the scalar definition.
      tensor<float, 3> back(e0, e1, e2);
      dequantize_isa<S>(level, tensor_view<const std::int8_t, 3>(q.view()), back.view(), p);
      bool same_back = true;
      for (index_t i = 0; i < e0; ++i)
        for (index_t j = 0; j < e1; ++j)
          for (index_t k = 0; k < e2; ++k) {
            const index_t c = axis == 0 ? i : axis == 1 ? j : k;
            same_back = same_back && to_bits(back(i, j, k)) ==
                                         to_bits(dequantize_value<round_half_away_from_zero>(
                                             q(i, j, k), scales[static_cast<std::size_t>(c)],
                                             zps[static_cast<std::size_t>(c)]));
          }
      CHECK(same_back);
    }
  }
}

TEST_CASE("quantize rejects bad arguments with a message naming them", "[quantize][errors]") {
  std::vector<float> x(4, 1.0f);
  std::vector<std::int8_t> q(4);
  std::vector<std::int8_t> q3(3);
  auto xv = make_view(x.data(), index_t{4});
  using S = tflite_int8_activation;
  REQUIRE_THROWS_WITH((quantize<S>(xv, make_view(q.data(), index_t{4}), per_tensor_params{-1.0f, 0})),
                      "qsparse::quantize: scale must be positive and finite, got scale = -1");
  REQUIRE_THROWS_WITH((quantize<S>(xv, make_view(q.data(), index_t{4}), per_tensor_params{qnan, 0})),
                      Catch::Contains("got scale = nan"));
  REQUIRE_THROWS_WITH((quantize<S>(xv, make_view(q.data(), index_t{4}), per_tensor_params{1.0f, 200})),
                      "qsparse::quantize: zero_point = 200 is outside the storage range [-128, 127]");
  REQUIRE_THROWS_WITH((quantize<S>(xv, make_view(q3.data(), index_t{3}), per_tensor_params{1.0f, 0})),
                      "qsparse::quantize: input and output shapes differ: extent(0) is 4 vs 3");
  REQUIRE_THROWS_WITH((quantize<torch_qint8>(xv, make_view(q.data(), index_t{4}), per_tensor_params{1.0f, 3})),
                      Catch::Contains("zero_point = 3 but a symmetric scheme requires 0"));
  const float scales[2] = {1.0f, 0.0f};
  const std::int32_t zps[2] = {0, 0};
  auto x2 = make_view(x.data(), index_t{2}, index_t{2});
  auto q2 = make_view(q.data(), index_t{2}, index_t{2});
  using C = scheme<std::int8_t, per_channel, affine, round_half_away_from_zero>;
  REQUIRE_THROWS_WITH((quantize<C>(x2, q2, per_channel_params{scales, zps, 2, 1})),
                      "qsparse::quantize: scale[1] must be positive and finite, got scale[1] = 0");
  REQUIRE_THROWS_WITH((quantize<C>(x2, q2, per_channel_params{scales, zps, 2, 2})),
                      "qsparse::quantize: axis = 2 is out of range for a rank-2 tensor");
  REQUIRE_THROWS_WITH((quantize<C>(x2, q2, per_channel_params{scales, zps, 3, 0})),
                      "qsparse::quantize: channels = 3 but the tensor has 2 along axis 0");
  if (!cpu_supports(isa_level::avx512_vnni)) {
    REQUIRE_THROWS_WITH((quantize_isa<S>(isa_level::avx512_vnni, xv, make_view(q.data(), index_t{4}),
                                        per_tensor_params{1.0f, 0})),
                        Catch::Contains("this CPU cannot run isa_level avx512_vnni"));
  }
}

TEST_CASE("quantize of inputs large enough for the prefetching loop equals the scalar definition", "[quantize][isa]") {
  // 2^18 floats switch the SIMD kernels to their prefetching loop; the odd tail checks its hand-over.
  const std::size_t n = (std::size_t{1} << 18) + 2048 + 77;
  auto x = qsparse::testing::random_floats(n, 6.0f, 17);
  const auto adversarial = qsparse::testing::adversarial_floats(0.05f);
  std::copy(adversarial.begin(), adversarial.end(), x.begin() + static_cast<std::ptrdiff_t>(n / 2));
  for (isa_level level : supported_levels()) {
    const auto q = quantize_all<tflite_int8_activation>(level, x, 0.05f, -3);
    const auto u = quantize_all<torch_quint8>(level, x, 0.05f, 128);
    bool same = true;
    for (std::size_t i = 0; i < n; ++i) {
      same = same && q[i] == quantize_value<round_half_away_from_zero, std::int8_t>(x[i], 0.05f, -3);
      same = same && u[i] == quantize_value<round_half_to_even, std::uint8_t>(x[i], 0.05f, 128);
    }
    INFO(to_string(level));
    CHECK(same);
  }
}

TEST_CASE("quantize and dequantize into memory the input occupies are an error (issue 22)", "[quantize][errors]") {
  using s8 = tflite_int8_activation;
  std::vector<float> buffer(64, 1.0f);
  const per_tensor_params p{0.1f, 0};
  CHECK_THROWS_WITH(quantize<s8>(make_view(static_cast<const float*>(buffer.data()), 64),
                                 make_view(reinterpret_cast<std::int8_t*>(buffer.data()), 64), p),
                    Catch::Contains("qsparse::quantize: q overlaps x in memory"));
  CHECK_THROWS_WITH(dequantize<s8>(make_view(reinterpret_cast<const std::int8_t*>(buffer.data()) + 64, 64),
                                   make_view(buffer.data(), 64), p),
                    Catch::Contains("qsparse::dequantize: x overlaps q in memory"));
}
