// qsparse/qat/lsq.hpp — learnable scale and zero point (LSQ), PyTorch's forward and gradient formulas.
//
//   float gf = qsparse::lsq_grad_factor(x.size(), Scheme::qmax);           // or 1.0f
//   qsparse::lsq_forward<Scheme>(x, y, scale, zero_point);                 // scale, zero_point: learnable floats
//   qsparse::lsq_gradients g = qsparse::lsq_backward<Scheme>(x, dy, dx, scale, zero_point, gf);
//   scale -= lr * g.scale;  zero_point -= lr * g.zero_point;
//   // per channel: lsq_channel_params{scale, zero_point, channels, axis}, gradients into caller arrays
//
// PyTorch's torch._fake_quantize_learnable_per_tensor_affine / _per_channel_affine (docs/numerics.md),
// under the PyTorch policy (round_half_to_even) exactly, per element:
//   forward   zp_f = clamp(round_half_even(zero_point), qmin, qmax); y = fake_quantize(x) with (scale, zp_f)
//             — qsparse/qat/fake_quant.hpp, so y equals the integer pipeline's dequantize(quantize(x)).
//   backward  per tensor zp_b = int(clamp(zero_point + 0.5f, qmin, qmax)) (truncation; differs from zp_f
//             at ties: 2.5 → forward 2, backward 3); per channel zp_b = zp_f. With inv = 1.0f / scale:
//             xq = round_half_even(fma(x, inv, zp_b))   (one rounding: PyTorch's AVX2 build contracts it)
//             dx = dy * [qmin <= xq <= qmax]
//             inside:  dscale = ((dy * e) * inv) * gf, e = xfq - x = fma(xq - zp_b, scale, -x) (contracted
//                      there too: xfq is never rounded on its own); dzp = 0
//             below / above: dscale = (dy * float(qmin|qmax - zp_b)) * gf; dzp = ((-dy) * scale) * gf
//   Every product is rounded to float as PyTorch's loop does. The gradients of scale and zero point are
//   the sums of those per-element values (per channel: over every axis but `axis`), accumulated in
//   double and rounded once — more accurate than PyTorch's float reduction, so sums agree to rounding,
//   element values bit for bit.
// Under the TFLite policy (round_half_away_from_zero) the same formulas run with that policy's rules:
// zp_f = zp_b = clamp(round_half_away(zero_point)), xq = round_half_away(x / scale) + zp_b (the forward
// pass's own unclamped value, so the mask is the straight-through mask of fake_quantize_backward), and
// e = float(xq - zp_b) * scale - x, two roundings.
// NaN inputs pass no gradient (dx = dy * 0, dscale = dzp = 0); ±inf inputs count as clipped.
// Symmetric schemes: the rounded zero point must be the scheme's symmetric zero point (an error
// otherwise), the scale alone is learnt. The scale must be positive and finite (PyTorch's module clamps
// it to eps first; qsparse::fake_quantize_module and the caller do the same).
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/core/unfused.hpp"
#include "qsparse/qat/fake_quant.hpp"
#include "qsparse/quant/elementwise_n.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

/// The summed gradients of a per-tensor scale and zero point.
struct lsq_gradients {
  float scale = 0.0f;
  float zero_point = 0.0f;
};

/// Learnable per-channel parameters (caller memory, `channels` each) for the channels along `axis`.
struct lsq_channel_params {
  const float* scale = nullptr;
  const float* zero_point = nullptr;
  std::ptrdiff_t channels = 0;
  std::size_t axis = 0;
};

/// PyTorch's _LearnableFakeQuantize gradient scaling: 1 / sqrt(elements * qmax) (computed in double).
inline float lsq_grad_factor(index_t elements, std::int32_t qmax) {
  detail::check(elements > 0 && qmax > 0, "qsparse::lsq_grad_factor: elements and qmax must be positive, got elements = ",
                elements, ", qmax = ", qmax);
  return static_cast<float>(1.0 / std::sqrt(static_cast<double>(elements) * static_cast<double>(qmax)));
}

namespace detail {

template <class Scheme>
inline constexpr bool lsq_is_torch_v = std::is_same_v<typename Scheme::rounding, round_half_to_even>;

template <class Scheme>
float lsq_clamp(float v) {
  const auto lo = static_cast<float>(Scheme::qmin), hi = static_cast<float>(Scheme::qmax);
  return v < lo ? lo : (v > hi ? hi : v);
}

/// The forward (rounded, clamped) zero point.
template <class Scheme>
std::int32_t lsq_forward_zero_point(float zero_point) {
  return static_cast<std::int32_t>(lsq_clamp<Scheme>(Scheme::rounding::round(zero_point)));
}

/// The backward zero point: PyTorch's per-tensor truncation of zero_point + 0.5, or the forward one.
template <class Scheme>
std::int32_t lsq_backward_zero_point(float zero_point, bool per_tensor) {
  if (lsq_is_torch_v<Scheme> && per_tensor) return static_cast<std::int32_t>(lsq_clamp<Scheme>(zero_point + 0.5f));
  return lsq_forward_zero_point<Scheme>(zero_point);
}

template <class Scheme>
void check_lsq_params(const char* function, float scale, float zero_point, const char* index = "") {
  check(std::isfinite(scale) && scale > 0.0f, function, ": scale", index, " must be positive and finite, got ", scale);
  check(std::isfinite(zero_point), function, ": zero_point", index, " must be finite, got ", zero_point);
  if constexpr (Scheme::is_symmetric) {
    const std::int32_t z = lsq_forward_zero_point<Scheme>(zero_point);
    check(z == Scheme::symmetric_zero_point, function, ": zero_point", index, " = ", zero_point, " rounds to ", z,
          " but a symmetric scheme requires ", Scheme::symmetric_zero_point);
  }
}

/// One element's gradients (see the header comment); zp is the backward zero point.
template <class Scheme>
void lsq_element(float x, float dy, float scale, float inv, std::int32_t zp, float grad_factor, float& dx,
                 float& dscale, float& dzero_point) {
  const auto qmin = static_cast<double>(Scheme::qmin), qmax = static_cast<double>(Scheme::qmax);
  double xq;
  if constexpr (lsq_is_torch_v<Scheme>) {
    xq = static_cast<double>(round_half_to_even::round(std::fma(x, inv, static_cast<float>(zp))));
  } else {
    xq = static_cast<double>(round_half_away_from_zero::round(x / scale)) + zp;
  }
  if (xq != xq) {  // NaN input
    dx = dy * 0.0f;
    dscale = 0.0f;
    dzero_point = 0.0f;
    return;
  }
  const bool inside = xq >= qmin && xq <= qmax;
  dx = dy * (inside ? 1.0f : 0.0f);
  if (inside) {
    // PyTorch's build contracts (q - zp) * scale - x into one fused multiply-add as well.
    const auto levels = static_cast<float>(xq - zp);
    const float error =
        lsq_is_torch_v<Scheme> ? std::fma(levels, scale, -x) : detail::product_not_fused(levels, scale) - x;
    dscale = ((dy * error) * inv) * grad_factor;
    dzero_point = 0.0f;
  } else {
    const auto bound = static_cast<float>((xq < qmin ? Scheme::qmin : Scheme::qmax) - zp);
    dscale = (dy * bound) * grad_factor;
    dzero_point = ((-dy) * scale) * grad_factor;
  }
}

template <class XView, class DyView, class DxView>
void check_lsq_views(const char* function) {
  static_assert(is_default_view_of_v<XView, float> && is_default_view_of_v<DyView, float>,
                "qsparse::lsq_backward: x and dy must be qsparse::tensor_view objects of float.");
  static_assert(is_writable_view_of_v<DxView, float>, "qsparse::lsq_backward: dx must be a view of non-const float.");
  (void)function;
}

}  // namespace detail

/// Forward pass with a learnable per-tensor scale and zero point: fake_quantize with (scale, zp_f).
template <class Scheme, class InView, class OutView>
void lsq_forward(const InView& x, const OutView& y, float scale, float zero_point) {
  static_assert(is_scheme_v<Scheme>, "qsparse::lsq_forward: Scheme must be a qsparse::scheme<...>.");
  detail::check_lsq_params<Scheme>("qsparse::lsq_forward", scale, zero_point);
  using S = with_granularity<Scheme, per_tensor>;
  fake_quantize<S>(x, y, per_tensor_params{scale, detail::lsq_forward_zero_point<Scheme>(zero_point)});
}

/// Backward pass: writes dx and returns the summed scale and zero-point gradients.
template <class Scheme, class XView, class DyView, class DxView>
lsq_gradients lsq_backward(const XView& x, const DyView& dy, const DxView& dx, float scale, float zero_point,
                           float grad_factor = 1.0f) {
  static_assert(is_scheme_v<Scheme>, "qsparse::lsq_backward: Scheme must be a qsparse::scheme<...>.");
  constexpr const char* function = "qsparse::lsq_backward";
  detail::check_lsq_views<XView, DyView, DxView>(function);
  detail::check_lsq_params<Scheme>(function, scale, zero_point);
  detail::check(std::isfinite(grad_factor), function, ": grad_factor must be finite, got ", grad_factor);
  detail::check_all_same_extents(function, x, dy, dx);
  const std::int32_t zp = detail::lsq_backward_zero_point<Scheme>(zero_point, true);
  const float inv = 1.0f / scale;
  double sum_scale = 0.0, sum_zero_point = 0.0;
  const float* xp = x.data_handle();
  const float* gp = dy.data_handle();
  float* dp = dx.data_handle();
  auto element = [&](index_t xi, index_t gi, index_t di) {
    float ds = 0.0f, dz = 0.0f;
    detail::lsq_element<Scheme>(xp[xi], gp[gi], scale, inv, zp, grad_factor, dp[di], ds, dz);
    sum_scale += ds;
    sum_zero_point += dz;
  };
  detail::for_each_run_n(
      -1, [&](const auto& o, index_t n, index_t) {
        for (index_t j = 0; j < n; ++j) element(o[0] + j, o[1] + j, o[2] + j);
      },
      [&](const auto&, index_t) {},
      [&](const auto& o, index_t n, const auto& s, index_t) {
        for (index_t j = 0; j < n; ++j) element(o[0] + j * s[0], o[1] + j * s[1], o[2] + j * s[2]);
      },
      x, dy, dx);
  return {static_cast<float>(sum_scale), static_cast<float>(sum_zero_point)};
}

namespace detail {

template <class Scheme, class View>
void check_lsq_channels(const char* function, const View& x, const lsq_channel_params& p) {
  check(p.axis < View::rank(), function, ": axis = ", p.axis, " is out of range for a rank-", View::rank(), " tensor");
  if constexpr (View::rank() > 0) {
    check(p.channels == x.extent(p.axis), function, ": channels = ", p.channels, " but the tensor has ",
          x.extent(p.axis), " along axis ", p.axis);
  }
  check(p.channels == 0 || (p.scale != nullptr && p.zero_point != nullptr), function,
        ": scale and zero_point must point at ", p.channels, " values, got a null pointer");
  for (std::ptrdiff_t c = 0; c < p.channels; ++c) {
    const std::string index = concat("[", c, "]");
    check_lsq_params<Scheme>(function, p.scale[c], p.zero_point[c], index.c_str());
  }
}

}  // namespace detail

/// Forward pass with learnable per-channel scales and zero points.
template <class Scheme, class InView, class OutView>
void lsq_forward(const InView& x, const OutView& y, const lsq_channel_params& p) {
  static_assert(is_scheme_v<Scheme>, "qsparse::lsq_forward: Scheme must be a qsparse::scheme<...>.");
  detail::check_lsq_channels<Scheme>("qsparse::lsq_forward", x, p);
  std::vector<std::int32_t> zp(static_cast<std::size_t>(p.channels));
  for (std::ptrdiff_t c = 0; c < p.channels; ++c)
    zp[static_cast<std::size_t>(c)] = detail::lsq_forward_zero_point<Scheme>(p.zero_point[c]);
  using S = with_granularity<Scheme, per_channel>;
  fake_quantize<S>(x, y, per_channel_params{p.scale, zp.data(), p.channels, p.axis});
}

/// Backward pass per channel: writes dx, and dscale[c] / dzero_point[c] (caller memory, channels each;
/// overwritten, not accumulated).
template <class Scheme, class XView, class DyView, class DxView>
void lsq_backward(const XView& x, const DyView& dy, const DxView& dx, const lsq_channel_params& p, float grad_factor,
                  float* dscale, float* dzero_point) {
  static_assert(is_scheme_v<Scheme>, "qsparse::lsq_backward: Scheme must be a qsparse::scheme<...>.");
  constexpr const char* function = "qsparse::lsq_backward";
  detail::check_lsq_views<XView, DyView, DxView>(function);
  detail::check_lsq_channels<Scheme>(function, x, p);
  detail::check(std::isfinite(grad_factor), function, ": grad_factor must be finite, got ", grad_factor);
  detail::check(p.channels == 0 || (dscale != nullptr && dzero_point != nullptr), function,
                ": dscale and dzero_point must point at ", p.channels, " values, got a null pointer");
  detail::check_all_same_extents(function, x, dy, dx);
  const auto channels = static_cast<std::size_t>(p.channels);
  std::vector<std::int32_t> zp(channels);
  std::vector<float> inv(channels);
  std::vector<double> sum_scale(channels, 0.0), sum_zero_point(channels, 0.0);
  for (std::size_t c = 0; c < channels; ++c) {
    zp[c] = detail::lsq_backward_zero_point<Scheme>(p.zero_point[c], false);
    inv[c] = 1.0f / p.scale[c];
  }
  const float* xp = x.data_handle();
  const float* gp = dy.data_handle();
  float* dp = dx.data_handle();
  auto element = [&](index_t xi, index_t gi, index_t di, index_t c) {
    const auto u = static_cast<std::size_t>(c < 0 ? 0 : c);
    float ds = 0.0f, dz = 0.0f;
    detail::lsq_element<Scheme>(xp[xi], gp[gi], p.scale[u], inv[u], zp[u], grad_factor, dp[di], ds, dz);
    sum_scale[u] += ds;
    sum_zero_point[u] += dz;
  };
  detail::for_each_run_n(
      static_cast<std::ptrdiff_t>(p.axis),
      [&](const auto& o, index_t n, index_t c) {
        for (index_t j = 0; j < n; ++j) element(o[0] + j, o[1] + j, o[2] + j, c);
      },
      [&](const auto& o, index_t n) {
        for (index_t j = 0; j < n; ++j) element(o[0] + j, o[1] + j, o[2] + j, j);
      },
      [&](const auto& o, index_t n, const auto& s, index_t c) {
        for (index_t j = 0; j < n; ++j) element(o[0] + j * s[0], o[1] + j * s[1], o[2] + j * s[2], c == -2 ? j : c);
      },
      x, dy, dx);
  for (std::size_t c = 0; c < channels; ++c) {
    dscale[c] = static_cast<float>(sum_scale[c]);
    dzero_point[c] = static_cast<float>(sum_zero_point[c]);
  }
}

}  // namespace qsparse
