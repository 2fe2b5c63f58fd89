// qsparse/gemm/packed_weights_q4.hpp — packs quantized 4-bit group-wise weights for the q4 GEMMs
// (qsparse/gemm/gemm_q4.hpp) in the format of qsparse/spec/packed_weights_q4.hpp.
//
//   using w4 = qsparse::scheme<qsparse::int4, qsparse::per_group<float>, qsparse::symmetric,
//                              qsparse::round_half_to_even>;
//   // PyTorch / TFLite order: w is N x K float, groups of 32 along K (axis 1)
//   auto p = qsparse::choose_group_params_owned<w4>(w, 1, 32);     // or the clipping search
//   qsparse::quantize<w4>(w, q_nxk, p.view());                       // int8 values in [-8, 7] (or packed)
//   auto packed = qsparse::pack_weights_q4(q_nxk, p.view());
//
// The weights are the quantized values, one per element — a rank-2 tensor_view of std::int8_t (int4,
// [-8, 7]) or std::uint8_t (uint4, [0, 15]) — or a sub_byte_view of int4 / uint4, with the group_params
// of their scheme (float or float16 scales; float16 is widened exactly). The group axis is the reduction
// axis, and it says how the matrix is laid: axis 0 — K×N (qsparse's GEMM order); axis 1 — N×K (PyTorch's
// nn.Linear.weight, TFLite's FullyConnected filter). Zero points: null means symmetric (0 for int4, 8 for
// uint4); int4 zero points are in [-8, 7], uint4 ones in [0, 15]. The stored value is u = q + 8 (int4)
// or q (uint4) with z = zp + 8 or zp, so w = scale (u - z) is the scheme's dequantized value; a buffer
// whose every z is 8 stores no zero points.
//
// Checked (qsparse::error naming the argument and value): values inside their range, the group size
// (a multiple of 8 in [8, 65536] dividing K), groups == N * K / G, scales positive and finite, zero points
// in range, the ISA known.
#pragma once

#include <cstddef>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/float16.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/quant/params.hpp"
#include "qsparse/quant/storage.hpp"
#include "qsparse/quant/sub_byte.hpp"
#include "qsparse/spec/packed_weights_q4.hpp"

namespace qsparse {

namespace detail {

/// Packs a matrix read by get(r, c) (rows × cols; K×N when p.axis is 0, N×K when 1) of int4 (Signed) or
/// uint4 values.
template <bool Signed, class Scale, class Get>
packed_weights_q4 pack_q4_matrix(const char* fn, index_t rows, index_t cols, const group_params<Scale>& p,
                                 isa_level isa, const Get& get) {
  static_assert(std::is_same_v<Scale, float> || std::is_same_v<Scale, float16>,
                "qsparse::pack_weights_q4: group scales must be float or qsparse::float16.");
  check(p.axis <= 1, fn, ": group_params axis must be 0 (K x N weights) or 1 (N x K weights), got ", p.axis);
  const index_t k = p.axis == 0 ? rows : cols;
  const index_t n = p.axis == 0 ? cols : rows;
  check(k >= 1 && n >= 1, fn, ": weights must have K, N >= 1, got K = ", k, ", N = ", n);
  (void)q4_sizes_for(fn, k, n, p.group_size, false);  // K, N and the group size, with their messages
  const index_t per_column = k / p.group_size;
  check(p.groups == n * per_column, fn, ": group_params has ", p.groups, " groups, the weights need N * K / G = ",
        n * per_column);
  check(p.scale != nullptr, fn, ": group_params scale must not be null");
  auto scale_of = [&](index_t g, index_t col) {
    return static_cast<float>(p.scale[col * per_column + g]);
  };
  auto z_of = [&](index_t g, index_t col) -> int {
    if (p.zero_point == nullptr) return 8;
    return Signed ? p.zero_point[col * per_column + g] + 8 : p.zero_point[col * per_column + g];
  };
  bool zero_points = false;
  for (index_t col = 0; col < n; ++col) {
    for (index_t g = 0; g < per_column; ++g) {
      const float s = scale_of(g, col);
      check(s > 0.0f && s <= 3.4028234663852886e38f, fn, ": scale of group ", g, " of column ", col, " is ", s,
            "; scales must be positive and finite");
      if (p.zero_point != nullptr) {
        const std::int32_t zp = p.zero_point[col * per_column + g];
        check(Signed ? (zp >= -8 && zp <= 7) : (zp >= 0 && zp <= 15), fn, ": zero point of group ", g,
              " of column ", col, " is ", zp, Signed ? "; int4 zero points are in [-8, 7]" : "; uint4 zero points are in [0, 15]");
        zero_points = zero_points || z_of(g, col) != 8;
      }
    }
  }
  for (index_t r = 0; r < rows; ++r) {
    for (index_t c = 0; c < cols; ++c) {
      const int v = static_cast<int>(get(r, c));
      check(Signed ? (v >= -8 && v <= 7) : (v >= 0 && v <= 15), fn, ": weight (", r, ", ", c, ") is ", v,
            Signed ? "; int4 values are in [-8, 7]" : "; uint4 values are in [0, 15]");
    }
  }
  const std::size_t bytes = packed_weights_q4_size(k, n, p.group_size, zero_points);
  return packed_weights_q4(bytes, [&](void* buffer, std::size_t size) {
    return pack_q4(
        fn, k, n, p.group_size, zero_points, isa, buffer, size,
        [&](index_t kk, index_t col) {
          const int v = static_cast<int>(p.axis == 0 ? get(kk, col) : get(col, kk));
          return Signed ? v + 8 : v;
        },
        scale_of, z_of);
  });
}

}  // namespace detail

/// Packs quantized 4-bit weights (one value per element: int8 holding int4, or uint8 holding uint4) with
/// their group parameters for the kernels of `isa`. See the top of this header.
template <class T, class L, class A, class Scale>
packed_weights_q4 pack_weights_q4(const tensor_view<T, 2, L, A>& weights, const group_params<Scale>& params,
                                  isa_level isa = best_isa()) {
  using value_t = std::remove_const_t<T>;
  static_assert(std::is_same_v<value_t, std::int8_t> || std::is_same_v<value_t, std::uint8_t>,
                "qsparse::pack_weights_q4: weights must be std::int8_t (int4 values) or std::uint8_t (uint4 values).");
  return detail::pack_q4_matrix<std::is_signed_v<value_t>>(
      "qsparse::pack_weights_q4", weights.extent(0), weights.extent(1), params, isa,
      [&](index_t r, index_t c) { return weights(r, c); });
}

/// The same from values packed two per byte (qsparse/quant/sub_byte.hpp), any packed axis.
template <class S, class Byte, class Scale>
packed_weights_q4 pack_weights_q4(const sub_byte_view<S, Byte>& weights, const group_params<Scale>& params,
                                  isa_level isa = best_isa()) {
  static_assert(storage_bits_v<S> == 4, "qsparse::pack_weights_q4: sub-byte weights must be int4 or uint4.");
  using value_t = typename sub_byte_view<S, Byte>::value_type;
  return detail::pack_q4_matrix<std::is_signed_v<value_t>>(
      "qsparse::pack_weights_q4", weights.extent(0), weights.extent(1), params, isa,
      [&](index_t r, index_t c) { return weights.get(r, c); });
}

}  // namespace qsparse
