// qsparse/sparsity/n_of_m.hpp — N:M structured sparsity: keep N of every M consecutive weights along an axis.
//
//   qsparse::n_of_m<2, 4>        2:4 along the input-channel axis of Keras/TF weights ([C_in, C_out],
//                                [H, W, C_in, C_out]) and of the GEMM's K×N weights: Axis = -2
//   qsparse::n_of_m<2, 4, -1>    2:4 along the last axis: TFLite/PyTorch [N][K] and OHWI conv weights
//   qsparse::n_of_m<1, 4>, qsparse::n_of_m<4, 8>, ...
//
// TF-MOT's `sparsity_m_by_n=(m, n)` means "m zeros in every n"; qsparse's n_of_m<N, M> counts what is
// kept: TF-MOT (2, 4) is n_of_m<2, 4>, (1, 2) is n_of_m<1, 2>, (3, 4) is n_of_m<1, 4>.
// Rule (`pruning_utils.generate_m_by_n_mask`): each line along Axis (every other index fixed) is cut
// into groups of M consecutive elements; in each group the N largest |w| are kept, equal values going
// to the lower index (`top_k`). A line whose length is not a multiple of M is padded on the right with
// zeros, which take part in the selection and are then dropped — so a last group of r < M elements keeps
// its min(N, r) largest (a padding zero never beats a real weight: it is never larger and has a higher
// index). A NaN weight ranks below every number, padding included. The schedule's sparsity is ignored:
// the pattern's sparsity is 1 - N/M (target_sparsity reports it).
//
// is_n_of_m(view, n, m, axis) checks a tensor (TF-MOT's `is_pruned_m_by_n`): every group of m along axis
// holds at most n non-zeros.
#pragma once

#include <array>
#include <cmath>
#include <cstddef>
#include <limits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/sparsity/keep_rule.hpp"
#include "qsparse/sparsity/traversal.hpp"

namespace qsparse {

template <int N, int M, int Axis = -2>
struct n_of_m {
  static_assert(M >= 1 && M <= 64, "qsparse::n_of_m: M (the group size) must be in [1, 64].");
  static_assert(N >= 1, "qsparse::n_of_m: N (the number kept per group) must be at least 1.");
  static_assert(N <= M, "qsparse::n_of_m: N (kept) must not exceed M (the group size), e.g. n_of_m<2, 4>.");

  static constexpr const char* name = "n_of_m";
  static constexpr int kept_per_group = N;
  static constexpr int group_size = M;
  static constexpr int axis = Axis;

  /// 1 - N/M in float32, whatever the schedule says.
  static constexpr float target_sparsity(float /*scheduled*/) noexcept {
    return 1.0f - static_cast<float>(N) / static_cast<float>(M);
  }

  template <class W, class Mask>
  static float compute_mask(const W& weights, const Mask& mask, float /*sparsity*/) {
    static_assert(detail::is_float_view_v<W> && detail::is_mask_view_v<Mask>,
                  "qsparse::n_of_m::compute_mask: weights must be a float tensor_view and mask a tensor_view "
                  "of a writable arithmetic type.");
    constexpr std::size_t R = W::rank();
    static_assert(R >= 1, "qsparse::n_of_m: the weights need at least one axis.");
    constexpr std::size_t a = detail::resolve_axis<Axis, R>();
    using mask_type = typename Mask::value_type;
    const index_t length = weights.extent(a);
    detail::for_each_line(weights.extents(), a, [&](std::array<index_t, R> i) {
      for (index_t g = 0; g < length; g += M) {
        float key[std::size_t{M}];
        bool keep[std::size_t{M}];
        for (int j = 0; j < M; ++j) {
          i[a] = g + j;
          key[j] = g + j < length ? detail::rank_key(std::fabs(weights[i])) : 0.0f;  // padding: 0
          keep[j] = false;
        }
        // N rounds of "largest remaining, lowest index first" = top_k's order.
        for (int round = 0; round < N; ++round) {
          int best = -1;
          for (int j = 0; j < M; ++j) {
            if (!keep[j] && (best < 0 || key[j] > key[best])) best = j;
          }
          keep[best] = true;
        }
        for (int j = 0; j < M && g + j < length; ++j) {
          i[a] = g + j;
          mask[i] = keep[j] ? mask_type(1) : mask_type(0);
        }
      }
    });
    return std::numeric_limits<float>::quiet_NaN();
  }
};

/// True when every group of m consecutive elements along `axis` (the last group may be shorter) holds
/// at most n non-zeros. Throws qsparse::error for n > m, m < 1, n < 0 or an axis out of range.
template <class V>
bool is_n_of_m(const V& view, int n, int m, int axis) {
  static_assert(is_tensor_view_v<V>, "qsparse::is_n_of_m: the first argument must be a qsparse::tensor_view.");
  constexpr auto R = static_cast<int>(V::rank());
  detail::check(m >= 1, "qsparse::is_n_of_m: m must be >= 1, got m = ", m);
  detail::check(n >= 0 && n <= m, "qsparse::is_n_of_m: n must be in [0, m], got n = ", n, ", m = ", m);
  detail::check(axis >= -R && axis < R, "qsparse::is_n_of_m: axis must be in [", -R, ", ", R, "), got axis = ", axis);
  const auto a = static_cast<std::size_t>(axis < 0 ? axis + R : axis);
  const index_t length = view.extent(a);
  bool ok = true;
  detail::for_each_line(view.extents(), a, [&](std::array<index_t, V::rank()> i) {
    for (index_t g = 0; g < length && ok; g += m) {
      int nonzeros = 0;
      for (index_t j = g; j < g + m && j < length; ++j) {
        i[a] = j;
        if (view[i] != 0) ++nonzeros;
      }
      if (nonzeros > n) ok = false;
    }
  });
  return ok;
}

}  // namespace qsparse
