// qsparse/gemm/reference_clustered.hpp — the definition of the clustered GEMM's result
// (qsparse/gemm/gemm_clustered.hpp), in the plainest code. Every kernel is tested bit-exact against it.
//
//   reference_gemm_clustered(quantized(a, a_zp), indices, codebook, dst, pipeline)
//   dst[m][n] = evaluate(pipeline, Σ_k (a[m][k] - a_zp) * codebook[n][indices[n][k]], m, n)
//
// a is M×K int8 (a_zp in [-128, 127]), indices N×K (std::uint8_t, each below the codebook's width), codebook
// N×C int8 (any value in [-128, 127]), dst M×N of the pipeline's output type. The sum is formed in int64
// and must fit int32 (checked per element; the entry point rejects deeper problems up front). It is the
// int8 GEMM's definition (qsparse/gemm/reference.hpp) with w[k][n] = codebook[n][indices[n][k]] and
// w_zp = 0, so every output stage means what it means there.
#pragma once

#include <cstddef>
#include <cstdint>
#include <limits>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/gemm/gemm.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {

/// The clustered GEMM's definition. See the top of this header.
template <class A, class LA, class AA, class I, class LI, class AI, class C, class LC, class AC, class D, class LD,
          class AD, class... S>
void reference_gemm_clustered(const quantized_operand<tensor_view<A, 2, LA, AA>>& activations,
                              const tensor_view<I, 2, LI, AI>& indices, const tensor_view<C, 2, LC, AC>& codebook,
                              const tensor_view<D, 2, LD, AD>& destination, const output_pipeline<S...>& pipeline) {
  static_assert(std::is_same_v<D, typename output_pipeline<S...>::output_type>,
                "qsparse::reference_gemm_clustered: the output pipeline does not produce the destination's element "
                "type.");
  const char* fn = "qsparse::reference_gemm_clustered";
  const auto& a = activations.view;
  const index_t m_count = a.extent(0);
  const index_t k_count = a.extent(1);
  const index_t n_count = indices.extent(0);
  detail::check(indices.extent(1) == k_count, fn, ": activations have K = ", k_count, " but the indices have K = ",
                indices.extent(1));
  detail::check(codebook.extent(0) == n_count, fn, ": the codebook has ", codebook.extent(0), " rows, expected N = ",
                n_count);
  detail::check(destination.extent(0) == m_count && destination.extent(1) == n_count, fn, ": destination is ",
                destination.extent(0), " x ", destination.extent(1), ", expected ", m_count, " x ", n_count);
  validate(pipeline, n_count, fn);
  for (index_t m = 0; m < m_count; ++m) {
    for (index_t n = 0; n < n_count; ++n) {
      std::int64_t acc = 0;
      for (index_t k = 0; k < k_count; ++k) {
        const index_t j = indices(n, k);
        detail::check(j < codebook.extent(1), fn, ": index (", n, ", ", k, ") is ", j, ", outside the codebook's ",
                      codebook.extent(1), " clusters");
        acc += (std::int64_t{a(m, k)} - activations.zero_point) * std::int64_t{codebook(n, j)};
      }
      detail::check(acc >= std::numeric_limits<std::int32_t>::min() && acc <= std::numeric_limits<std::int32_t>::max(),
                    fn, ": the sum at (", m, ", ", n, ") = ", acc, " does not fit int32");
      destination(m, n) = evaluate(pipeline, static_cast<std::int32_t>(acc), m, n);
    }
  }
}

}  // namespace qsparse
