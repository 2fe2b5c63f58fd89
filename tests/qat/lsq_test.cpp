#include "qsparse/qat/lsq.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <limits>
#include <vector>

#include "support/testing.hpp"

namespace {
#include "data/torch_qat_vectors.inc"
}

using namespace qsparse;
using qsparse::testing::from_bits;
using qsparse::testing::to_bits;

namespace {
using torch_int8 = scheme<std::int8_t, per_tensor, affine, round_half_to_even>;
using torch_uint8 = scheme<std::uint8_t, per_tensor, affine, round_half_to_even>;
using torch_narrow = scheme<narrow<std::int8_t>, per_tensor, affine, round_half_to_even>;
constexpr float qnan = std::numeric_limits<float>::quiet_NaN();
constexpr float inf = std::numeric_limits<float>::infinity();

std::vector<float> floats(const std::uint32_t* bits, std::size_t n) {
  std::vector<float> v(n);
  for (std::size_t i = 0; i < n; ++i) v[i] = from_bits(bits[i]);
  return v;
}

template <class S>
void check_tensor_case(const torch_lsq_case& c) {
  const auto n = static_cast<std::size_t>(c.n);
  const auto x = floats(c.x, n), dy = floats(c.dy, n);
  const float scale = from_bits(c.scale), zp = from_bits(c.zero_point), gf = from_bits(c.grad_factor);
  std::vector<float> y(n), dx(n);
  lsq_forward<S>(make_view(x.data(), c.n), make_view(y.data(), c.n), scale, zp);
  const lsq_gradients g = lsq_backward<S>(make_view(x.data(), c.n), make_view(dy.data(), c.n),
                                          make_view(dx.data(), c.n), scale, zp, gf);
  double sum_scale = 0, sum_zp = 0;
  for (std::size_t i = 0; i < n; ++i) {
    INFO("element " << i << " x = " << x[i]);
    CHECK(to_bits(y[i]) == c.y[i]);
    CHECK(to_bits(dx[i]) == c.dx[i]);
    // Each element alone: the per-element gradients bit for bit (a one-element sum has no order).
    float one_dx = 0;
    const lsq_gradients e = lsq_backward<S>(make_view(&x[i], 1), make_view(&dy[i], 1), make_view(&one_dx, 1), scale,
                                            zp, gf);
    CHECK(to_bits(e.scale) == c.dscale[i]);
    CHECK(to_bits(e.zero_point) == c.dzero_point[i]);
    sum_scale += from_bits(c.dscale[i]);
    sum_zp += from_bits(c.dzero_point[i]);
  }
  // The whole-tensor sums: accumulated in double over the exact element values.
  CHECK(g.scale == static_cast<float>(sum_scale));
  CHECK(g.zero_point == static_cast<float>(sum_zp));
  // PyTorch sums in float, in its own order: equal to rounding.
  CHECK(g.scale == Approx(from_bits(c.dscale_sum)).epsilon(1e-5).margin(1e-6));
  CHECK(g.zero_point == Approx(from_bits(c.dzero_point_sum)).epsilon(1e-5).margin(1e-6));
}
}  // namespace

TEST_CASE("lsq per tensor equals PyTorch's learnable fake quantization", "[lsq][torch]") {
  for (const auto& c : torch_lsq_cases) {
    INFO("scale " << from_bits(c.scale) << " zero_point " << from_bits(c.zero_point) << " [" << c.qmin << ", "
                  << c.qmax << "]");
    if (c.qmin == 0) {
      check_tensor_case<torch_uint8>(c);
    } else if (c.qmin == -127) {
      check_tensor_case<torch_narrow>(c);
    } else {
      check_tensor_case<torch_int8>(c);
    }
  }
}

TEST_CASE("lsq per channel equals PyTorch's learnable per-channel fake quantization", "[lsq][per_channel][torch]") {
  for (const auto& c : torch_lsq_channel_cases) {
    const auto n = static_cast<std::size_t>(c.rows * c.cols);
    const auto channels = static_cast<std::size_t>(c.axis == 0 ? c.rows : c.cols);
    const auto x = floats(c.x, n), dy = floats(c.dy, n), scale = floats(c.scale, channels),
               zp = floats(c.zero_point, channels);
    std::vector<float> y(n), dx(n), dscale(channels), dzp(channels);
    const lsq_channel_params p{scale.data(), zp.data(), static_cast<std::ptrdiff_t>(channels),
                               static_cast<std::size_t>(c.axis)};
    auto run = [&](auto scheme_tag) {
      using S = decltype(scheme_tag);
      lsq_forward<S>(make_view(x.data(), c.rows, c.cols), make_view(y.data(), c.rows, c.cols), p);
      lsq_backward<S>(make_view(x.data(), c.rows, c.cols), make_view(dy.data(), c.rows, c.cols),
                      make_view(dx.data(), c.rows, c.cols), p, from_bits(c.grad_factor), dscale.data(), dzp.data());
    };
    if (c.qmin == 0) {
      run(scheme<std::uint8_t, per_channel, affine, round_half_to_even>{});
    } else {
      run(scheme<std::int8_t, per_channel, affine, round_half_to_even>{});
    }
    INFO("[" << c.rows << ", " << c.cols << "] axis " << c.axis);
    for (std::size_t i = 0; i < n; ++i) {
      INFO("element " << i);
      CHECK(to_bits(y[i]) == c.y[i]);
      CHECK(to_bits(dx[i]) == c.dx[i]);
    }
    for (std::size_t k = 0; k < channels; ++k) {
      INFO("channel " << k);
      if (c.cols == 1) {  // one element per channel: exact
        CHECK(to_bits(dscale[k]) == c.dscale[k]);
        CHECK(to_bits(dzp[k]) == c.dzero_point[k]);
      } else {
        CHECK(dscale[k] == Approx(from_bits(c.dscale[k])).epsilon(1e-5).margin(1e-6));
        CHECK(dzp[k] == Approx(from_bits(c.dzero_point[k])).epsilon(1e-5).margin(1e-6));
      }
    }
  }
}

TEST_CASE("lsq: hand-computed gradients on the clamp boundaries", "[lsq]") {
  // scale 0.5, zero point 1.0 (forward and backward 1), int8: xq = round(2x + 1) in [-128, 127].
  const float scale = 0.5f;
  const std::vector<float> x = {63.0f, 63.25f, 63.5f, -64.5f, -64.75f, -65.0f, 0.3f, qnan, inf};
  const std::vector<float> dy = {1.0f, 1.0f, 2.0f, 1.0f, -1.0f, 1.0f, 4.0f, 1.0f, 1.0f};
  std::vector<float> dx(x.size());
  for (std::size_t i = 0; i < x.size(); ++i) {
    float ds = 0, dz = 0;
    detail::lsq_element<torch_int8>(x[i], dy[i], scale, 2.0f, 1, 1.0f, dx[i], ds, dz);
    INFO("x = " << x[i]);
    switch (i) {
      case 0:  // xq = 127: on qmax, passes; xfq = (127 - 1) * 0.5 = 63 = x: dscale 0
        CHECK(dx[i] == 1.0f);
        CHECK(ds == 0.0f);
        CHECK(dz == 0.0f);
        break;
      case 1:  // 127.5 rounds to even 128 > 127: clipped above; dscale = dy * (127 - 1), dzp = -dy * scale
        CHECK(dx[i] == 0.0f);
        CHECK(ds == 126.0f);
        CHECK(dz == -0.5f);
        break;
      case 2:  // xq = 128
        CHECK(ds == 252.0f);
        CHECK(dz == -1.0f);
        break;
      case 3:  // -129 + 1 = -128 = qmin: passes, xfq = -64.5 = x
        CHECK(dx[i] == 1.0f);
        CHECK(ds == 0.0f);
        break;
      case 4:  // -129.5 + 1 = -128.5 rounds to even -128: passes; xfq = -64.5, (xfq - x) * 2 = 0.5, dy = -1
        CHECK(dx[i] == -1.0f);
        CHECK(ds == -0.5f);
        break;
      case 5:  // -130 + 1 = -129 < qmin: dscale = dy * (-128 - 1)
        CHECK(dx[i] == 0.0f);
        CHECK(ds == -129.0f);
        CHECK(dz == -0.5f);
        break;
      case 6:  // 0.6 + 1 = 1.6 → 2; xfq = 0.5; dscale = 4 * (0.5 - 0.3) * 2 = 1.6 (in float steps)
        CHECK(ds == (4.0f * (0.5f - 0.3f)) * 2.0f);
        break;
      case 7:  // NaN passes nothing
        CHECK(dx[i] == 0.0f);
        CHECK(ds == 0.0f);
        CHECK(dz == 0.0f);
        break;
      case 8:  // +inf: clipped above
        CHECK(ds == 126.0f);
        break;
    }
  }
  // The per-tensor zero point of PyTorch's backward: trunc(zp + 0.5), so 2.5 → 3 (forward rounds to 2).
  CHECK(detail::lsq_forward_zero_point<torch_int8>(2.5f) == 2);
  CHECK(detail::lsq_backward_zero_point<torch_int8>(2.5f, true) == 3);
  CHECK(detail::lsq_backward_zero_point<torch_int8>(-1.5f, true) == -1);
  CHECK(detail::lsq_backward_zero_point<torch_int8>(-1.5f, false) == -2);
  CHECK(detail::lsq_backward_zero_point<torch_int8>(300.0f, true) == 127);
  // The TFLite policy rounds half away in both passes.
  CHECK(detail::lsq_forward_zero_point<tflite_int8_activation>(2.5f) == 3);
  CHECK(detail::lsq_backward_zero_point<tflite_int8_activation>(-1.5f, true) == -2);
  CHECK(lsq_grad_factor(100, 255) == static_cast<float>(1.0 / std::sqrt(25500.0)));
}

TEST_CASE("lsq: the TFLite policy's mask is fake_quantize_backward's", "[lsq]") {
  const auto x = qsparse::testing::adversarial_floats(0.05f);
  const auto n = static_cast<index_t>(x.size());
  std::vector<float> ones(x.size(), 1.0f), dx(x.size()), want(x.size()), y(x.size()), y2(x.size());
  lsq_backward<tflite_int8_activation>(make_view(x.data(), n), make_view(ones.data(), n), make_view(dx.data(), n), 0.05f,
                                       -3.4f);
  fake_quantize_backward<tflite_int8_activation>(make_view(x.data(), n), make_view(ones.data(), n),
                                                 make_view(want.data(), n), per_tensor_params{0.05f, -3});
  lsq_forward<tflite_int8_activation>(make_view(x.data(), n), make_view(y.data(), n), 0.05f, -3.4f);
  fake_quantize<tflite_int8_activation>(make_view(x.data(), n), make_view(y2.data(), n), per_tensor_params{0.05f, -3});
  bool same = true;
  for (std::size_t i = 0; i < x.size(); ++i) same = same && to_bits(dx[i]) == to_bits(want[i]) && to_bits(y[i]) == to_bits(y2[i]);
  CHECK(same);
}

TEST_CASE("lsq: bad input", "[lsq][errors]") {
  std::vector<float> x(6, 1.0f), dy(6, 1.0f), dx(6);
  CHECK_THROWS_WITH(lsq_backward<torch_int8>(make_view(x.data(), 6), make_view(dy.data(), 6), make_view(dx.data(), 6),
                                             -1.0f, 0.0f),
                    "qsparse::lsq_backward: scale must be positive and finite, got -1");
  CHECK_THROWS_WITH(lsq_forward<torch_qint8>(make_view(x.data(), 6), make_view(dx.data(), 6), 0.1f, 0.7f),
                    "qsparse::lsq_forward: zero_point = 0.699999988 rounds to 1 but a symmetric scheme requires 0");
  CHECK_THROWS_AS(lsq_forward<torch_int8>(make_view(x.data(), 6), make_view(dx.data(), 6), 0.1f, qnan), qsparse::error);
  const float s[3] = {0.1f, 0.2f, 0.0f};
  const float z[3] = {0.0f, 0.0f, 0.0f};
  float ds[3], dz[3];
  using PC = scheme<std::int8_t, per_channel, affine, round_half_to_even>;
  CHECK_THROWS_WITH(lsq_backward<PC>(make_view(x.data(), 2, 3), make_view(dy.data(), 2, 3), make_view(dx.data(), 2, 3),
                                     lsq_channel_params{s, z, 3, 1}, 1.0f, ds, dz),
                    "qsparse::lsq_backward: scale[2] must be positive and finite, got 0");
  CHECK_THROWS_WITH(lsq_forward<PC>(make_view(x.data(), 2, 3), make_view(dx.data(), 2, 3), lsq_channel_params{s, z, 3, 0}),
                    "qsparse::lsq_forward: channels = 3 but the tensor has 2 along axis 0");
  CHECK_THROWS_AS(lsq_grad_factor(0, 255), qsparse::error);
  // Symmetric per-channel: the scale alone is learnt.
  const float s2[3] = {0.1f, 0.2f, 0.3f};
  CHECK_NOTHROW(lsq_backward<torch_qint8_per_channel>(make_view(x.data(), 2, 3), make_view(dy.data(), 2, 3),
                                                      make_view(dx.data(), 2, 3), lsq_channel_params{s2, z, 3, 1}, 1.0f,
                                                      ds, dz));
  CHECK(dz[0] == 0.0f);
  // x = 1 on scale 0.1: q = 10, e = fma(10, 0.1f, -1) = 1.49e-8 (0.1f is not 1/10), two elements.
  const float e = std::fma(10.0f, 0.1f, -1.0f);
  CHECK(e != 0.0f);
  CHECK(ds[0] == static_cast<float>(2.0 * static_cast<double>((1.0f * e) * (1.0f / 0.1f))));
}
