#include "qsparse/qat/fake_quant.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "qsparse/core/tensor.hpp"
#include "qsparse/quant/quantize.hpp"
#include "support/testing.hpp"

namespace {
#include "data/torch_qat_vectors.inc"
}

using namespace qsparse;
using qsparse::testing::from_bits;
using qsparse::testing::supported_levels;
using qsparse::testing::to_bits;

namespace {
constexpr float inf = std::numeric_limits<float>::infinity();
constexpr float qnan = std::numeric_limits<float>::quiet_NaN();

using torch_int8_affine = scheme<std::int8_t, per_tensor, affine, round_half_to_even>;
using torch_narrow_affine = scheme<narrow<std::int8_t>, per_tensor, affine, round_half_to_even>;

std::vector<float> floats(const std::uint32_t* bits, std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = from_bits(bits[i]);
  return v;
}

template <class S>
void check_torch_tensor_case(isa_level level, const torch_fake_quant_case& c) {
  const auto n = static_cast<std::size_t>(c.n);
  const auto x = floats(c.x, n), dy = floats(c.dy, n);
  std::vector<float> y(n), dx(n);
  std::vector<std::uint8_t> mask(n);
  const per_tensor_params p{from_bits(c.scale), c.zero_point};
  const auto xv = make_view(x.data(), c.n);
  fake_quantize_with_mask_isa<S>(level, xv, make_view(y.data(), c.n), make_view(mask.data(), c.n), p);
  fake_quantize_backward_isa<S>(level, xv, make_view(dy.data(), c.n), make_view(dx.data(), c.n), p);
  for (std::size_t i = 0; i < n; ++i) {
    INFO("x = " << x[i] << " (element " << i << ")");
    CHECK(to_bits(y[i]) == c.y[i]);
    CHECK(to_bits(dx[i]) == c.dx[i]);
    CHECK(mask[i] == (to_bits(dx[i]) == to_bits(dy[i]) ? 1 : 0));
  }
}

template <class S>
void check_torch_channel_case(isa_level level, const torch_fake_quant_channel_case& c) {
  const auto n = static_cast<std::size_t>(c.rows * c.cols);
  const auto channels = static_cast<std::size_t>(c.axis == 0 ? c.rows : c.cols);
  const auto x = floats(c.x, n), dy = floats(c.dy, n), scale = floats(c.scale, channels);
  const std::vector<std::int32_t> zp(c.zero_point, c.zero_point + channels);
  std::vector<float> y(n), dx(n);
  const per_channel_params p{scale.data(), zp.data(), static_cast<std::ptrdiff_t>(channels),
                             static_cast<std::size_t>(c.axis)};
  fake_quantize_isa<S>(level, make_view(x.data(), c.rows, c.cols), make_view(y.data(), c.rows, c.cols), p);
  fake_quantize_backward_isa<S>(level, make_view(x.data(), c.rows, c.cols), make_view(dy.data(), c.rows, c.cols),
                                make_view(dx.data(), c.rows, c.cols), p);
  for (std::size_t i = 0; i < n; ++i) {
    INFO("element " << i << " x = " << x[i]);
    CHECK(to_bits(y[i]) == c.y[i]);
    CHECK(to_bits(dx[i]) == c.dx[i]);
  }
}

/// dequantize(quantize(x)) through the library's own entry points.
template <class S>
std::vector<float> quantize_dequantize(const std::vector<float>& x, float scale, std::int32_t zp) {
  const auto n = static_cast<index_t>(x.size());
  std::vector<typename S::value_type> q(x.size());
  std::vector<float> back(x.size());
  quantize<S>(make_view(x.data(), n), make_view(q.data(), n), per_tensor_params{scale, zp});
  dequantize<S>(make_view(static_cast<const typename S::value_type*>(q.data()), n), make_view(back.data(), n),
                per_tensor_params{scale, zp});
  return back;
}
}  // namespace

TEST_CASE("fake_quantize equals PyTorch's fake_quantize_per_tensor_affine, forward and backward", "[fake_quant][torch]") {
  for (isa_level level : supported_levels()) {
    for (const auto& c : torch_fake_quant_cases) {
      INFO(to_string(level) << " scale " << from_bits(c.scale) << " zp " << c.zero_point << " [" << c.qmin << ", "
                            << c.qmax << "]");
      if (c.qmin == 0) {
        check_torch_tensor_case<torch_quint8>(level, c);
      } else if (c.qmin == -127) {
        check_torch_tensor_case<torch_narrow_affine>(level, c);
      } else {
        check_torch_tensor_case<torch_int8_affine>(level, c);
      }
    }
  }
}

TEST_CASE("fake_quantize equals PyTorch's fake_quantize_per_channel_affine", "[fake_quant][per_channel][torch]") {
  for (isa_level level : supported_levels()) {
    for (const auto& c : torch_fake_quant_channel_cases) {
      INFO(to_string(level) << " [" << c.rows << ", " << c.cols << "] axis " << c.axis);
      if (c.qmin == 0) {
        check_torch_channel_case<scheme<std::uint8_t, per_channel, affine, round_half_to_even>>(level, c);
      } else if (c.qmin == -127) {
        check_torch_channel_case<scheme<narrow<std::int8_t>, per_channel, affine, round_half_to_even>>(level, c);
      } else {
        check_torch_channel_case<scheme<std::int8_t, per_channel, affine, round_half_to_even>>(level, c);
      }
    }
  }
}

TEMPLATE_TEST_CASE("fake_quantize(x) == dequantize(quantize(x)) bit for bit on every ISA", "[fake_quant][isa]",
                   tflite_int8_activation, torch_quint8, torch_qint8, tflite_int16_activation,
                   tflite_int8_weight_per_tensor, (scheme<std::int16_t, per_tensor, affine, round_half_to_even>),
                   (scheme<std::uint8_t, per_tensor, affine, round_half_away_from_zero>),
                   (scheme<std::int32_t, per_tensor, affine, round_half_away_from_zero>), torch_qint32) {
  using S = TestType;
  const float scales[] = {0.1f, 0.019607844f, 0.7f, 3e-3f, 1e-30f};
  const std::int32_t zps[] = {S::is_symmetric ? S::symmetric_zero_point : S::qmin,
                              S::is_symmetric ? S::symmetric_zero_point : S::qmax,
                              S::is_symmetric ? S::symmetric_zero_point : (S::qmin / 2 + S::qmax / 2)};
  for (isa_level level : supported_levels()) {
    for (float scale : scales) {
      for (std::int32_t zp : zps) {
        auto x = qsparse::testing::adversarial_floats(scale);
        const auto r = qsparse::testing::random_floats(700, scale * 150.0f, 3);
        x.insert(x.end(), r.begin(), r.end());
        INFO(to_string(level) << " scale " << scale << " zp " << zp);
        for (std::size_t n : {std::size_t{0}, std::size_t{1}, std::size_t{7}, std::size_t{9}, std::size_t{17},
                              std::size_t{33}, std::size_t{65}, x.size()}) {
          std::vector<float> xs(x.begin(), x.begin() + static_cast<std::ptrdiff_t>(n));
          std::vector<float> y(n, -1.0f), in_place = xs;
          std::vector<std::uint8_t> mask(n, 7);
          const auto nn = static_cast<index_t>(n);
          fake_quantize_with_mask_isa<S>(level, make_view(xs.data(), nn), make_view(y.data(), nn),
                                         make_view(mask.data(), nn), per_tensor_params{scale, zp});
          fake_quantize_isa<S>(level, make_view(in_place.data(), nn), make_view(in_place.data(), nn),
                               per_tensor_params{scale, zp});
          const auto want = quantize_dequantize<S>(xs, scale, zp);
          std::vector<float> ones(n, 1.0f), dx(n, 5.0f);
          fake_quantize_backward_isa<S>(level, make_view(xs.data(), nn), make_view(ones.data(), nn),
                                        make_view(dx.data(), nn), per_tensor_params{scale, zp});
          bool same = true, same_in_place = true, same_mask = true;
          for (std::size_t i = 0; i < n; ++i) {
            same = same && to_bits(y[i]) == to_bits(want[i]);
            same_in_place = same_in_place && to_bits(in_place[i]) == to_bits(y[i]);
            const bool pass = kernels::scalar::fake_quantize_passes<typename S::rounding, typename S::storage>(
                xs[i], scale, zp);
            same_mask = same_mask && mask[i] == (pass ? 1 : 0) && dx[i] == (pass ? 1.0f : 0.0f);
          }
          CHECK(same);
          CHECK(same_in_place);
          CHECK(same_mask);
        }
      }
    }
  }
}

TEST_CASE("straight-through backward: hand-computed values on the clamp boundaries", "[fake_quant][backward]") {
  // int8 affine, scale 0.5, zero point 10: x / 0.5 + 10 must stay in [-128, 127], i.e. x in [-69, 58.5].
  using S = tflite_int8_activation;
  const per_tensor_params p{0.5f, 10};
  const std::vector<float> x = {58.5f, 58.74f, 58.75f, 59.0f, -69.0f, -69.24f, -69.25f, -70.0f, 0.0f, qnan, inf, -inf};
  // 58.74 / 0.5 = 117.48 → 117: passes; 58.75 → 117.5 rounds half away to 118 → 128 > 127: blocked.
  const std::vector<float> want_mask = {1, 1, 0, 0, 1, 1, 0, 0, 1, 0, 0, 0};
  const std::vector<float> dy = {2.0f, -3.0f, -3.0f, 4.0f, 1.5f, 1.0f, -1.0f, 1.0f, 0.25f, 1.0f, 1.0f, -2.0f};
  std::vector<float> dx(x.size()), y(x.size());
  const auto n = static_cast<index_t>(x.size());
  for (isa_level level : supported_levels()) {
    fake_quantize_backward_isa<S>(level, make_view(x.data(), n), make_view(dy.data(), n), make_view(dx.data(), n), p);
    fake_quantize_isa<S>(level, make_view(x.data(), n), make_view(y.data(), n), p);
    for (std::size_t i = 0; i < x.size(); ++i) {
      INFO(to_string(level) << " x = " << x[i]);
      CHECK(to_bits(dx[i]) == to_bits(dy[i] * want_mask[i]));
    }
    CHECK(to_bits(dx[2]) == to_bits(-0.0f));  // a blocked negative gradient is -0.0, as dy * 0
    CHECK(y[0] == 58.5f);
    CHECK(y[2] == 58.5f);  // clamped to qmax
    CHECK(y[6] == -69.0f);
    CHECK(y[9] == 0.0f);   // NaN → zero point → 0
    CHECK(y[10] == 58.5f);
    CHECK(y[11] == -69.0f);
  }
  // PyTorch rounding at the same tie: 117.5 rounds to even, 118 → blocked too; 116.5 → 116 passes.
  const std::vector<float> t = {58.25f, 58.75f};
  std::vector<float> g(2, 1.0f), tdx(2);
  fake_quantize_backward<torch_int8_affine>(make_view(t.data(), 2), make_view(g.data(), 2), make_view(tdx.data(), 2),
                                            per_tensor_params{0.5f, 10});
  CHECK(tdx[0] == 1.0f);
  CHECK(tdx[1] == 0.0f);
  // A NaN gradient stays NaN where blocked (dy * 0), as in PyTorch.
  const float nan_dy = qnan, big = 1000.0f;
  float out = 0.0f;
  fake_quantize_backward<S>(make_view(&big, 1), make_view(&nan_dy, 1), make_view(&out, 1), p);
  CHECK(std::isnan(out));
}

TEST_CASE("fake_quantize per channel along every axis and through strided views", "[fake_quant][per_channel][isa]") {
  using S = tflite_int8_weight;
  tensor<float, 3> x(3, 5, 19);
  const auto v = qsparse::testing::random_floats(static_cast<std::size_t>(x.size()), 3.0f, 12);
  for (index_t i = 0; i < x.size(); ++i) x.data()[i] = v[static_cast<std::size_t>(i)];
  x(1, 1, 1) = qnan;
  x(2, 4, 18) = -inf;
  std::vector<float> scales;
  std::vector<std::int32_t> zps;
  for (int c = 0; c < 19; ++c) {
    scales.push_back(0.01f + 0.007f * static_cast<float>(c));
    zps.push_back(0);
  }
  for (isa_level level : supported_levels()) {
    for (std::size_t axis = 0; axis < 3; ++axis) {
      const per_channel_params p{scales.data(), zps.data(), x.extent(axis), axis};
      tensor<float, 3> y(3, 5, 19), dx(3, 5, 19), ones(3, 5, 19);
      std::fill(ones.begin(), ones.end(), 1.0f);
      tensor<std::uint8_t, 3> mask(3, 5, 19);
      fake_quantize_with_mask_isa<S>(level, std::as_const(x).view(), y.view(), mask.view(), p);
      fake_quantize_backward_isa<S>(level, std::as_const(x).view(), std::as_const(ones).view(), dx.view(), p);
      tensor<std::int8_t, 3> q(3, 5, 19);
      tensor<float, 3> back(3, 5, 19);
      quantize<S>(std::as_const(x).view(), q.view(), p);
      dequantize<S>(std::as_const(q).view(), back.view(), p);
      // The transposed (strided) view of the same data along the matching axis.
      tensor<float, 3> yt(3, 5, 19);
      auto strided_out = make_strided_view(yt.data(), std::array<index_t, 3>{3, 5, 19}, std::array<index_t, 3>{1, 3, 15});
      fake_quantize_isa<S>(level, std::as_const(x).view(), strided_out, p);
      bool same = true, same_strided = true, same_mask = true;
      for (index_t i = 0; i < 3; ++i)
        for (index_t j = 0; j < 5; ++j)
          for (index_t k = 0; k < 19; ++k) {
            same = same && to_bits(y(i, j, k)) == to_bits(back(i, j, k));
            same_strided = same_strided && to_bits(strided_out(i, j, k)) == to_bits(y(i, j, k));
            same_mask = same_mask && dx(i, j, k) == static_cast<float>(mask(i, j, k));
          }
      INFO(to_string(level) << " axis " << axis);
      CHECK(same);
      CHECK(same_strided);
      CHECK(same_mask);
      // backward from the saved mask equals the recomputed one
      tensor<float, 3> dx2(3, 5, 19);
      fake_quantize_backward_masked(std::as_const(mask).view(), std::as_const(ones).view(), dx2.view());
      CHECK(std::equal(dx2.begin(), dx2.end(), dx.begin()));
    }
  }
}

TEST_CASE("fake_quantize: bad input", "[fake_quant][errors]") {
  std::vector<float> x(12, 1.0f), y(12);
  std::vector<std::uint8_t> mask(10);
  CHECK_THROWS_WITH(fake_quantize<tflite_int8_activation>(make_view(x.data(), 3, 4), make_view(y.data(), 4, 3),
                                                          per_tensor_params{0.1f, 0}),
                    "qsparse::fake_quantize: the views' shapes differ: extent(0) is 3 vs 4");
  CHECK_THROWS_WITH(fake_quantize<tflite_int8_activation>(make_view(x.data(), 12), make_view(y.data(), 12),
                                                          per_tensor_params{0.0f, 0}),
                    "qsparse::fake_quantize: scale must be positive and finite, got scale = 0");
  CHECK_THROWS_WITH(fake_quantize<torch_qint8>(make_view(x.data(), 12), make_view(y.data(), 12), per_tensor_params{0.1f, 3}),
                    "qsparse::fake_quantize: zero_point = 3 but a symmetric scheme requires 0");
  CHECK_THROWS_AS(fake_quantize_with_mask<torch_quint8>(make_view(x.data(), 12), make_view(y.data(), 12),
                                                        make_view(mask.data(), 10), per_tensor_params{0.1f, 3}),
                  qsparse::error);
  const float s[4] = {0.1f, 0.1f, 0.1f, 0.1f};
  const std::int32_t z[4] = {0, 0, 0, 0};
  CHECK_THROWS_WITH(fake_quantize_backward<tflite_int8_weight>(make_view(x.data(), 3, 4), make_view(x.data(), 3, 4),
                                                               make_view(y.data(), 3, 4), per_channel_params{s, z, 4, 2}),
                    "qsparse::fake_quantize_backward: axis = 2 is out of range for a rank-2 tensor");
  CHECK_THROWS_WITH(fake_quantize<tflite_int8_weight>(make_view(x.data(), 3, 4), make_view(y.data(), 3, 4),
                                                      per_channel_params{s, z, 4, 0}),
                    "qsparse::fake_quantize: channels = 4 but the tensor has 3 along axis 0");
  // Empty tensors do nothing (and need no valid data pointer).
  CHECK_NOTHROW(fake_quantize<tflite_int8_activation>(make_view(x.data(), 0), make_view(y.data(), 0),
                                                      per_tensor_params{0.1f, 0}));
}
