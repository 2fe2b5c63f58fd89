// qsparse/gemm/packed_weights.hpp — packs int8 GEMM weights for the CPU this process runs on.
//
//   auto packed = qsparse::pack_weights(w_kxn, w_zero_point);   // for best_isa(), once per layer
//
// The packed layouts, their header and pack_weights(w, w_zp, isa) for a named ISA are the spec
// (qsparse/spec/packed_weights.hpp); this header adds the overloads that pick the ISA at run time.
#pragma once

#include <cstdint>

#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/spec/packed_weights.hpp"

namespace qsparse {

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
