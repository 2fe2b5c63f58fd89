// qsparse/qat/group_lsq.hpp — learnable scales and zero points (LSQ) for per_group schemes.
//
//   qsparse::lsq_group_params p{scale, zero_point, group_size, axis, groups};   // learnable floats
//   qsparse::lsq_forward<w4>(w, y, p);
//   qsparse::lsq_backward<w4>(w, dy, dx, p, grad_factor, dscale, dzero_point);  // one gradient per group
//
// The per-channel formulas of qsparse/qat/lsq.hpp (PyTorch's _fake_quantize_learnable_per_channel_affine)
// applied with each element's group in place of its channel: forward zero point zp_f =
// clamp(round(zero_point[g])), the backward one the same (PyTorch's per-channel rule), per element the
// gradients of lsq.hpp (detail::lsq_element, the one definition), and dscale[g] / dzero_point[g] the sums
// over the group, accumulated in double and rounded once. The learnt scales are float whatever the
// scheme's stored scale type: the forward pass fake-quantizes with them as they are, and exporting them
// to a float16 scheme rounds them (choose a float16 scheme's parameters from the learnt ones with
// detail::to_group_scale, or fine-tune with per_group<float>). Matrices are rank-2 views of float.
// PyTorch has no group-wise learnable fake quantization, so no system is matched bit for bit here.
#pragma once

#include <cmath>
#include <cstddef>
#include <cstdint>
#include <string>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/qat/group_fake_quant.hpp"
#include "qsparse/qat/lsq.hpp"
#include "qsparse/quant/group_quantize.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

/// Learnable group parameters (caller memory, `groups` each), laid out as group_params.
struct lsq_group_params {
  const float* scale = nullptr;
  const float* zero_point = nullptr;
  index_t group_size = 0;
  std::size_t axis = 0;
  index_t groups = 0;
};

namespace detail {

template <class Scheme, class View>
void check_lsq_groups(const char* function, const View& x, const lsq_group_params& p) {
  static_assert(is_scheme_v<Scheme> && Scheme::is_per_group,
                "qsparse::lsq: lsq_group_params go with a qsparse::scheme<..., qsparse::per_group<Scale>, ...>.");
  check_group_float_view<View>();
  const index_t groups = group_count(function, x.extent(0), x.extent(1), p.axis, p.group_size);
  check(p.groups == groups, function, ": groups = ", p.groups, " but a ", x.extent(0), " x ", x.extent(1),
        " matrix has ", groups, " groups of ", p.group_size, " along axis ", p.axis);
  check(groups == 0 || (p.scale != nullptr && p.zero_point != nullptr), function,
        ": scale and zero_point must point at ", groups, " values, got a null pointer");
  for (index_t g = 0; g < groups; ++g) {
    const std::string index = concat("[", g, "]");
    check_lsq_params<Scheme>(function, p.scale[g], p.zero_point[g], index.c_str());
  }
}

}  // namespace detail

/// Forward pass with learnable group scales and zero points: fake_quantize with (scale[g], zp_f[g]).
template <class Scheme, class InView, class OutView>
void lsq_forward(const InView& x, const OutView& y, const lsq_group_params& p) {
  detail::check_lsq_groups<Scheme>("qsparse::lsq_forward", x, p);
  std::vector<std::int32_t> zp(static_cast<std::size_t>(p.groups));
  for (index_t g = 0; g < p.groups; ++g)
    zp[static_cast<std::size_t>(g)] = detail::lsq_forward_zero_point<Scheme>(p.zero_point[g]);
  using F = scheme<typename Scheme::storage, per_group<float>, typename Scheme::mapping, typename Scheme::rounding>;
  fake_quantize<F>(x, y, group_params<float>{p.scale, zp.data(), p.group_size, p.axis, p.groups});
}

/// Backward pass: writes dx, and dscale[g] / dzero_point[g] (caller memory, groups each; overwritten).
template <class Scheme, class XView, class DyView, class DxView>
void lsq_backward(const XView& x, const DyView& dy, const DxView& dx, const lsq_group_params& p, float grad_factor,
                  float* dscale, float* dzero_point) {
  constexpr const char* function = "qsparse::lsq_backward";
  detail::check_lsq_groups<Scheme>(function, x, p);
  detail::check_lsq_views<XView, DyView, DxView>(function);
  static_assert(DyView::rank() == 2 && DxView::rank() == 2, "qsparse::lsq_backward: dy and dx must be rank-2 views.");
  detail::check(std::isfinite(grad_factor), function, ": grad_factor must be finite, got ", grad_factor);
  detail::check(p.groups == 0 || (dscale != nullptr && dzero_point != nullptr), function,
                ": dscale and dzero_point must point at ", p.groups, " values, got a null pointer");
  detail::check_all_same_extents(function, x, dy, dx);
  detail::check_in_place_or_disjoint(function, "dx", dx, "dy", dy);
  detail::check_in_place_or_disjoint(function, "dx", dx, "x", x);
  const auto groups = static_cast<std::size_t>(p.groups);
  std::vector<std::int32_t> zp(groups);
  std::vector<float> inv(groups);
  std::vector<double> sum_scale(groups, 0.0), sum_zero_point(groups, 0.0);
  for (std::size_t g = 0; g < groups; ++g) {
    zp[g] = detail::lsq_backward_zero_point<Scheme>(p.zero_point[g], false);
    inv[g] = 1.0f / p.scale[g];
  }
  detail::for_each_group_element(x.extent(0), x.extent(1), p.axis, p.group_size, [&](index_t gi, index_t r, index_t c) {
    const auto g = static_cast<std::size_t>(gi);
    float d = 0.0f, ds = 0.0f, dz = 0.0f;
    detail::lsq_element<Scheme>(x(r, c), dy(r, c), p.scale[g], inv[g], zp[g], grad_factor, d, ds, dz);
    dx(r, c) = d;
    sum_scale[g] += ds;
    sum_zero_point[g] += dz;
  });
  for (std::size_t g = 0; g < groups; ++g) {
    dscale[g] = static_cast<float>(sum_scale[g]);
    dzero_point[g] = static_cast<float>(sum_zero_point[g]);
  }
}

}  // namespace qsparse
