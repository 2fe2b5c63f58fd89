// expect: qsparse::sparse_gemm: the sparse int8 GEMM accumulates in int32
// An int64 stage (the 16x8 GEMM's) cannot start the sparse int8 GEMM's pipeline.
#include <cstdint>
#include "qsparse/gemm/sparse_gemm.hpp"
int main() {
  std::int8_t a[4] = {}, w[4] = {};
  std::int64_t bias[2] = {};
  std::int64_t out[4] = {};
  const auto packed = qsparse::pack_sparse_weights(qsparse::make_view(w, 2, 2), qsparse::sparse_format::two_of_four);
  qsparse::sparse_gemm(qsparse::context{}, qsparse::make_view(a, 2, 2), packed, qsparse::make_view(out, 2, 2),
                       qsparse::pipeline(qsparse::bias_add_int64{bias}));
}
