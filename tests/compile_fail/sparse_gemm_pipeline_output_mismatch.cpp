// expect: qsparse::sparse_gemm: the output pipeline does not produce the destination's element type
// A pipeline ending in saturating_cast<int8_t> cannot write a float destination.
#include <cstdint>
#include "qsparse/gemm/sparse_gemm.hpp"
int main() {
  std::int8_t a[4] = {}, w[4] = {};
  float out[4] = {};
  const auto packed = qsparse::pack_sparse_weights(qsparse::make_view(w, 2, 2), qsparse::sparse_format::block_4x16);
  qsparse::sparse_gemm(qsparse::context{}, qsparse::make_view(a, 2, 2), packed, qsparse::make_view(out, 2, 2),
                       qsparse::pipeline(qsparse::saturating_cast<std::int8_t>{}));
}
