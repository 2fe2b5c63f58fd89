// expect: qsparse::gemm: the activations (M x K), the weights (K x N) and the destination (M x N) must be 2-D views.
// errors: 1
// The one-off overload with unpacked weights checks the ranks of all three views.
#include <cstdint>
#include "qsparse/gemm/gemm.hpp"
int main() {
  std::int8_t a[2] = {}, w[8] = {};
  std::int32_t out[2] = {};
  qsparse::gemm(qsparse::context{}, qsparse::quantized(qsparse::make_view(a, 1, 2), 0),
                qsparse::quantized(qsparse::make_view(w, 2, 2, 2), 0), qsparse::make_view(out, 1, 2),
                qsparse::pipeline());
}
