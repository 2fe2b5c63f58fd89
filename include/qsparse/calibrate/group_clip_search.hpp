// qsparse/calibrate/group_clip_search.hpp — group parameters by a clipping search: weight MSE, or the
// activation-weighted output error of AWQ's auto_clip.
//
//   qsparse::clip_search_options o;                                        // grid 20, max_shrink 0.5
//   auto p = qsparse::search_group_clipping<w4>(w, 1, 32, o, scale, zp);   // minimises sum (fq(w) - w)^2
//   auto q = qsparse::search_group_clipping_weighted<w4>(w, 1, 32, x, o, scale, zp);
//
// Both search, per group, the clipping ratio of AWQ's auto_clip (Lin et al., "AWQ: Activation-aware Weight
// Quantization for LLM Compression and Acceleration", MLSys 2024; mit-han-lab/llm-awq,
// awq/quantize/auto_clip.py, auto_clip_layer): for i = 0, 1, ..., max(1, floor(max_shrink * grid)) - 1,
// r_i = float(1 - i / grid) and m = amax * r_i (float32), amax = max|w| over the group's finite values; the
// candidate range is the group's finite range [lo, hi] with each bound clamped into [-m, m] (the range of
// the clamped weights), turned into parameters by choose_params<Scheme> (the scheme's rule) and the
// scheme's scale type (float16 rounding included, as choose_group_params). A candidate replaces the best
// one only when its error is strictly smaller, so ties keep the least clipping and r = 1 — plain round to
// nearest — is chosen unless clipping helps. With e_k = fq(w_k) - w_k in double (fq = dequantize_value of
// quantize_value with the candidate's stored scale; e_k = 0 for a non-finite w_k):
//
//   search_group_clipping            error = sum over the group of e_k^2 (the weight MSE)
//   search_group_clipping_weighted   error = sum over samples n of (sum over the group of x[n][k] * e_k)^2
//                                    — the squared error of the group's share of the layer's output
//                                    on calibration inputs x (samples x K, K the extent along `axis`),
//                                    AWQ's objective (it averages over tokens; a constant factor); AWQ
//                                    computes it in float32 as org_out - cur_out, qsparse in double from
//                                    e, so choices agree unless two candidates are within rounding.
//
// AWQ clips symmetrically around zero and quantizes with its own asymmetric rule (no zero in the range);
// here the rule is the scheme's, so the search also serves symmetric and TFLite-style schemes. A group
// without a finite value gets scale 1 and the zero point of 0.0. The search costs candidates x group
// elements per group (times the samples for the weighted one): AWQ samples 512 tokens for it.
// Errors (qsparse::error naming the value): a bad axis or group_size, grid < 1, max_shrink outside
// [0, 1), calibration inputs with no rows, the wrong column count or a non-finite value.
#pragma once

#include <algorithm>
#include <cmath>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <vector>

#include "qsparse/core/error.hpp"
#include "qsparse/core/unfused.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/quant/choose_params.hpp"
#include "qsparse/quant/group_quantize.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/quantize_value.hpp"
#include "qsparse/quant/scheme.hpp"

namespace qsparse {

/// The candidate grid of the clipping search: AWQ's n_grid and max_shrink (defaults as there).
struct clip_search_options {
  int grid = 20;
  float max_shrink = 0.5f;
};

namespace detail {

inline int clip_candidates(const char* function, const clip_search_options& o) {
  check(o.grid >= 1, function, ": grid must be at least 1, got grid = ", o.grid);
  check(o.max_shrink >= 0.0f && o.max_shrink < 1.0f, function, ": max_shrink must be in [0, 1), got max_shrink = ",
        o.max_shrink);
  return std::max(1, static_cast<int>(o.max_shrink * static_cast<float>(o.grid)));
}

/// The search itself; error(line, k0, e) gives a candidate's error from its element errors e[0, group_size).
template <class Scheme, class View, class Error>
group_params_for<Scheme> search_clipping(const char* function, const View& w, std::size_t axis, index_t group_size,
                                         const clip_search_options& options,
                                         typename Scheme::granularity::scale_type* scale, std::int32_t* zero_point,
                                         Error&& error) {
  static_assert(is_scheme_v<Scheme> && Scheme::is_per_group,
                "qsparse::search_group_clipping: Scheme must be a qsparse::scheme<..., qsparse::per_group<Scale>, ...>.");
  check_group_float_view<View>();
  using Scale = typename Scheme::granularity::scale_type;
  using R = typename Scheme::rounding;
  using S = typename Scheme::storage;
  const index_t groups = group_count(function, w.extent(0), w.extent(1), axis, group_size);
  check_group_outputs<Scheme>(function, groups, scale, zero_point);
  const int candidates = clip_candidates(function, options);
  const index_t along = axis == 1 ? w.extent(1) : w.extent(0), lines = axis == 1 ? w.extent(0) : w.extent(1);
  const index_t per_line = along / group_size;
  std::vector<float> values(static_cast<std::size_t>(group_size));
  std::vector<double> e(static_cast<std::size_t>(group_size));
  for (index_t line = 0; line < lines; ++line) {
    for (index_t gi = 0; gi < per_line; ++gi) {
      const index_t g = line * per_line + gi, k0 = gi * group_size;
      float lo = std::numeric_limits<float>::infinity(), hi = -std::numeric_limits<float>::infinity();
      for (index_t j = 0; j < group_size; ++j) {
        const float v = axis == 1 ? w(line, k0 + j) : w(k0 + j, line);
        values[static_cast<std::size_t>(j)] = v;
        if (!std::isfinite(v)) continue;
        const float z = v == 0.0f ? 0.0f : v;
        lo = std::min(lo, z);
        hi = std::max(hi, z);
      }
      per_tensor_params best = empty_group_params<Scheme>();
      Scale best_scale = to_group_scale<Scale>(best.scale);
      if (lo <= hi) {
        const float amax = std::max(std::fabs(lo), std::fabs(hi));
        double best_error = std::numeric_limits<double>::infinity();
        for (int i = 0; i < candidates; ++i) {
          const auto ratio = static_cast<float>(1.0 - static_cast<double>(i) / options.grid);
          const float m = amax * ratio;
          const per_tensor_params p = choose_params<Scheme>(std::clamp(lo, -m, m), std::clamp(hi, -m, m));
          const Scale stored = to_group_scale<Scale>(p.scale);
          const float s = scale_value(stored);
          for (index_t j = 0; j < group_size; ++j) {
            const float v = values[static_cast<std::size_t>(j)];
            const float fq = dequantize_value<R>(quantize_value<R, S>(v, s, p.zero_point), s, p.zero_point);
            e[static_cast<std::size_t>(j)] = std::isfinite(v) ? static_cast<double>(fq) - static_cast<double>(v) : 0.0;
          }
          const double err = error(line, k0, e);
          if (err < best_error) {
            best_error = err;
            best = p;
            best_scale = stored;
          }
        }
      }
      scale[g] = best_scale;
      if (zero_point != nullptr) zero_point[g] = best.zero_point;
    }
  }
  return {scale, zero_point, group_size, axis, groups};
}

}  // namespace detail

/// Per-group parameters minimising the weight MSE over AWQ's clipping grid (see the header comment),
/// written to scale[g] and zero_point[g] (caller memory; zero_point may be null for a symmetric scheme).
template <class Scheme, class View>
group_params_for<Scheme> search_group_clipping(const View& w, std::size_t axis, index_t group_size,
                                               const clip_search_options& options,
                                               typename Scheme::granularity::scale_type* scale,
                                               std::int32_t* zero_point) {
  return detail::search_clipping<Scheme>("qsparse::search_group_clipping", w, axis, group_size, options, scale,
                                         zero_point, [&](index_t, index_t, const std::vector<double>& e) {
                                           double sum = 0.0;
                                           for (const double d : e) sum += detail::product_not_fused(d, d);
                                           return sum;
                                         });
}

/// Per-group parameters minimising AWQ's activation-weighted error on calibration inputs x (samples x K,
/// a rank-2 view of finite floats; K = w's extent along `axis`), written as search_group_clipping does.
template <class Scheme, class View, class InputView>
group_params_for<Scheme> search_group_clipping_weighted(const View& w, std::size_t axis, index_t group_size,
                                                        const InputView& x, const clip_search_options& options,
                                                        typename Scheme::granularity::scale_type* scale,
                                                        std::int32_t* zero_point) {
  detail::check_group_float_view<InputView>();
  constexpr const char* function = "qsparse::search_group_clipping_weighted";
  detail::check(axis <= 1, function, ": axis = ", axis, " is out of range for a rank-2 tensor (groups run along axis 0 or 1)");
  const index_t k = w.extent(axis);
  detail::check(x.extent(0) > 0, function, ": the calibration inputs x must have at least one row (sample), got 0");
  detail::check(x.extent(1) == k, function, ": x has ", x.extent(1), " columns but the weights have ", k,
                " along axis ", axis);
  for (index_t n = 0; n < x.extent(0); ++n) {
    for (index_t c = 0; c < k; ++c) {
      if (!std::isfinite(x(n, c))) {
        detail::raise(detail::concat(function, ": calibration inputs must be finite, got x(", n, ", ", c, ") = ", x(n, c)));
      }
    }
  }
  return detail::search_clipping<Scheme>(function, w, axis, group_size, options, scale, zero_point,
                                         [&](index_t, index_t k0, const std::vector<double>& e) {
                                           double sum = 0.0;
                                           for (index_t n = 0; n < x.extent(0); ++n) {
                                             double dot = 0.0;
                                             for (std::size_t j = 0; j < e.size(); ++j)
                                               dot += detail::product_not_fused(
                                                   static_cast<double>(x(n, k0 + static_cast<index_t>(j))), e[j]);
                                             sum += detail::product_not_fused(dot, dot);
                                           }
                                           return sum;
                                         });
}

}  // namespace qsparse
