// qsparse/gemm/packed_weights_16x8.hpp — packs the 16x8 GEMM's int8 weights for an ISA, or for the CPU
// this process runs on. The format and pack_weights_16x8(w, isa, geometry) are the spec
// (qsparse/spec/packed_weights_16x8.hpp); the panel geometry of an ISA is that of its best 16x8 kernel
// (the registry, qsparse/kernels/gemm_16x8_kernels.hpp).
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/isa.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/kernels/gemm_16x8_kernels.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/spec/packed_weights_16x8.hpp"

namespace qsparse {

/// The panel geometry pack_weights_16x8 packs for `isa`.
inline layout_geometry weights_16x8_geometry(isa_level isa) {
  return kernels::panel_geometry_for<weights_16x8_format::element_bytes>(kernels::gemm_16x8_kernels{}, isa);
}

/// Bytes needed to pack K×N weights for the 16x8 GEMM on `isa`.
inline std::size_t packed_weights_16x8_size(std::int64_t k, std::int64_t n, isa_level isa) {
  return packed_weights_16x8_size(k, n, weights_16x8_geometry(isa));
}

/// Packs K×N symmetric int8 weights for the 16x8 GEMM on `isa` into `buffer` (64-byte aligned, at least
/// packed_weights_16x8_size(K, N, isa) bytes) and returns the validated view of it.
template <class T, class Layout, class Accessor>
packed_weights_16x8_view pack_weights_16x8(const tensor_view<T, 2, Layout, Accessor>& weights, isa_level isa,
                                           void* buffer, std::size_t buffer_bytes) {
  return pack_weights_16x8(weights, isa, weights_16x8_geometry(isa), buffer, buffer_bytes);
}

/// Packs K×N symmetric int8 weights for `isa` into an owning buffer.
template <class T, class Layout, class Accessor>
packed_weights_16x8 pack_weights_16x8(const tensor_view<T, 2, Layout, Accessor>& weights, isa_level isa) {
  return pack_weights_16x8(weights, isa, weights_16x8_geometry(isa));
}

/// Packs K×N symmetric int8 weights for best_isa() into an owning buffer.
template <class T, class Layout, class Accessor>
packed_weights_16x8 pack_weights_16x8(const tensor_view<T, 2, Layout, Accessor>& weights) {
  return pack_weights_16x8(weights, best_isa());
}

}  // namespace qsparse
