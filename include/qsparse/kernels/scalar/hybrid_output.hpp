// qsparse/kernels/scalar/hybrid_output.hpp — the float output of one row of the dynamic-range GEMM
// (qsparse/gemm/hybrid.hpp, step 4), the reference loop:
//
//   hybrid_output_row(acc, n, zero_point, column_sums, row_scale, weight_scales, per_channel, bias, lo, hi, dst)
//     corrected = acc[j] - zero_point * column_sums[j]             (int32, wrapping as uint32)
//     dst[j]    = clamp(bias[j] + float(corrected) * (row_scale * weight_scale[j]), lo, hi)
//
// Both products are rounded on their own (product_not_fused: never an FMA), the bias added last (none when
// bias is null), the clamp `v < lo ? lo : (v > hi ? hi : v)` (NaN passes). weight_scale[j] is
// weight_scales[j] when per_channel, else weight_scales[0].
#pragma once

#include <cstddef>
#include <cstdint>

#include "qsparse/core/isa.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse::kernels::scalar {

inline void hybrid_output_row(const std::int32_t* acc, std::ptrdiff_t n, std::int32_t zero_point,
                              const std::int32_t* column_sums, float row_scale, const float* weight_scales,
                              bool per_channel, const float* bias, float lo, float hi, float* dst) {
  for (std::ptrdiff_t j = 0; j < n; ++j) {
    const auto corrected = static_cast<std::int32_t>(static_cast<std::uint32_t>(acc[j]) -
                                                     static_cast<std::uint32_t>(zero_point) *
                                                         static_cast<std::uint32_t>(column_sums[j]));
    const float scale = qsparse::detail::product_not_fused(row_scale, weight_scales[per_channel ? j : 0]);
    const float product = qsparse::detail::product_not_fused(static_cast<float>(corrected), scale);
    float v = bias != nullptr ? bias[j] + product : product;
    v = v < lo ? lo : (v > hi ? hi : v);
    dst[j] = v;
  }
}

/// The hybrid output kernel of this ISA as one registry entry (qsparse/kernels/hybrid_output_kernels.hpp).
struct hybrid_output_kernel {
  static constexpr isa_level isa = isa_level::scalar;
  static const char* name() { return "hybrid_output_s32_f32__scalar"; }
  template <class... Args>
  static void hybrid_output_row(Args&&... args) {
    scalar::hybrid_output_row(static_cast<Args&&>(args)...);
  }
};

}  // namespace qsparse::kernels::scalar
