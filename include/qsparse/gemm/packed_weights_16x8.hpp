// qsparse/gemm/packed_weights_16x8.hpp — packs the 16x8 GEMM's int8 weights for the CPU this process
// runs on. The layouts and pack_weights_16x8(w, isa) for a named ISA are the spec
// (qsparse/spec/packed_weights_16x8.hpp); this header adds the overload that picks the ISA at run time.
#pragma once

#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/spec/packed_weights_16x8.hpp"

namespace qsparse {

/// Packs K×N symmetric int8 weights for best_isa() into an owning buffer.
template <class T, class Layout, class Accessor>
packed_weights_16x8 pack_weights_16x8(const tensor_view<T, 2, Layout, Accessor>& weights) {
  return pack_weights_16x8(weights, best_isa());
}

}  // namespace qsparse
