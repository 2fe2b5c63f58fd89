// expect: the int8 GEMM accumulates in int32
// int64 stages belong to the 16x8 GEMM; the int8 GEMM says so instead of failing deep in a kernel.
#include <cstdint>
#include "qsparse/gemm/gemm.hpp"
int main() {
  std::int8_t a[4] = {}, w[4] = {};
  std::int64_t bias[2] = {};
  std::int16_t out[4] = {};
  const auto packed = qsparse::pack_weights(qsparse::make_view(w, 2, 2));
  qsparse::gemm(qsparse::context{}, qsparse::make_view(a, 2, 2), packed, qsparse::make_view(out, 2, 2),
                qsparse::pipeline(qsparse::bias_add_int64{bias},
                                  qsparse::requantize_fixed_point_int64{qsparse::quantized_multiplier{1 << 30, 0}},
                                  qsparse::saturating_cast<std::int16_t>{}));
}
