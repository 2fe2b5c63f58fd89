// expect: qsparse::gemm: the activations must be a 2-D view (M x K) and the destination a 2-D view (M x N).
// errors: 1
// A 1-D activation vector (a GEMV written as a plain vector) is one sentence naming the ranks, not the list
// of gemm's overloads.
#include <cstdint>
#include "qsparse/gemm/gemm.hpp"
int main() {
  std::int8_t a[2] = {}, w[4] = {};
  std::int32_t out[2] = {};
  const auto packed = qsparse::pack_weights(qsparse::make_view(w, 2, 2));
  qsparse::gemm(qsparse::context{}, qsparse::quantized(qsparse::make_view(a, 2), 0), packed,
                qsparse::make_view(out, 1, 2), qsparse::pipeline());
}
