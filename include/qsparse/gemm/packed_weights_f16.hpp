// qsparse/gemm/packed_weights_f16.hpp — packs the float16-weight GEMM's weights for the CPU this process
// runs on. The layouts and pack_weights_f16(w, isa) for a named ISA are the spec
// (qsparse/spec/packed_weights_f16.hpp); this header adds the overload that picks the ISA at run time.
#pragma once

#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/spec/packed_weights_f16.hpp"

namespace qsparse {

/// Packs K×N float weights (as float16) for best_isa() into an owning buffer.
template <class T, class Layout, class Accessor>
packed_weights_f16 pack_weights_f16(const tensor_view<T, 2, Layout, Accessor>& weights) {
  return pack_weights_f16(weights, best_isa());
}

}  // namespace qsparse
