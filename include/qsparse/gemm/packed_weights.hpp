// qsparse/gemm/packed_weights.hpp — packs int8 GEMM weights for an ISA, or for the CPU this process runs on.
//
//   auto packed = qsparse::pack_weights(w_kxn, w_zero_point);        // for best_isa(), once per layer
//   auto packed = qsparse::pack_weights(w_kxn, w_zero_point, isa);   // for a named ISA
//
// The packed layouts, their header and pack_weights(w, w_zp, isa, layout) are the spec
// (qsparse/spec/packed_weights.hpp); the layout an ISA packs is the one its best GEMM kernel reads (the
// registry, qsparse/kernels/gemm_kernels.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/error.hpp"
#include "qsparse/core/isa.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/kernels/gemm_kernels.hpp"
#include "qsparse/spec/packed_weights.hpp"

namespace qsparse {

/// The layout pack_weights packs for `isa`: the one the best GEMM kernel of `isa` reads.
inline packed_layout layout_for(isa_level isa) { return kernels::gemm_layout_for(isa); }

/// Bytes needed to pack K×N weights for `isa` (including the header and column sums).
inline std::size_t packed_weights_size(std::int64_t k, std::int64_t n, isa_level isa) {
  return packed_weights_size(k, n, layout_for(isa));
}

/// Packs K×N int8 weights with zero point `weight_zero_point` for `isa` into `buffer` (64-byte aligned, at
/// least packed_weights_size(K, N, isa) bytes) and returns the validated view of it.
template <class T, class Layout, class Accessor>
packed_weights_view pack_weights(const tensor_view<T, 2, Layout, Accessor>& weights, std::int32_t weight_zero_point,
                                 isa_level isa, void* buffer, std::size_t buffer_bytes) {
  return pack_weights(weights, weight_zero_point, isa, layout_for(isa), buffer, buffer_bytes);
}

/// Packs K×N int8 weights with zero point `weight_zero_point` for `isa` into an owning buffer.
template <class T, class Layout, class Accessor>
packed_weights pack_weights(const tensor_view<T, 2, Layout, Accessor>& weights, std::int32_t weight_zero_point,
                            isa_level isa) {
  return packed_weights(weights, weight_zero_point, isa, layout_for(isa));
}

/// Packs K×N int8 weights with zero point `weight_zero_point` for best_isa() into an owning buffer.
template <class T, class Layout, class Accessor>
packed_weights pack_weights(const tensor_view<T, 2, Layout, Accessor>& weights, std::int32_t weight_zero_point) {
  return pack_weights(weights, weight_zero_point, best_isa());
}

/// The same for symmetric weights (zero point 0).
template <class T, class Layout, class Accessor>
packed_weights pack_weights(const tensor_view<T, 2, Layout, Accessor>& weights) {
  return pack_weights(weights, 0, best_isa());
}

}  // namespace qsparse
