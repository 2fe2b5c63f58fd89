// expect: qsparse::sparse_gemm: the activations must be a 2-D view (M x K) and the destination a 2-D view (M x N).
// errors: 1
// A destination of rank 3 is one sentence naming the ranks, not the list of sparse_gemm's overloads.
#include <cstdint>
#include "qsparse/gemm/sparse_gemm.hpp"
int main() {
  std::int8_t a[4] = {}, w[4] = {};
  std::int32_t out[4] = {};
  const auto packed = qsparse::pack_sparse_weights(qsparse::make_view(w, 2, 2), qsparse::sparse_format::block_4x16);
  qsparse::sparse_gemm(qsparse::context{}, qsparse::make_view(a, 2, 2), packed, qsparse::make_view(out, 1, 2, 2),
                       qsparse::pipeline());
}
