// qsparse/gemm/scalar_epilogue.hpp — how the entry points run a pipeline that holds an output stage of the
// caller's own (docs/kernels.md, "Writing an output stage").
//
// The kernels' epilogues evaluate qsparse's stages in SIMD registers; a stage written outside the library
// has only its scalar definition (apply). Such a pipeline never reaches a kernel: the entry point runs its
// kernels with the empty pipeline into a contiguous tensor of raw accumulators (the fast paths of every
// ISA compute those), then applies evaluate(pipeline, acc, m, n) to each element, which is the definition
// itself. The cost is one extra pass over the output and a temporary of its size in accumulators; a SIMD
// evaluator for the stage (kernels/<isa>/output_pipeline.hpp) removes both.
#pragma once

#include <cstddef>
#include <utility>

#include "qsparse/core/tensor.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/spec/output_stages.hpp"

namespace qsparse {
namespace detail {

/// Whether `Pipeline` holds a stage of the caller's own.
template <class Pipeline>
struct pipeline_has_custom_stage : std::false_type {};
template <class... S>
struct pipeline_has_custom_stage<output_pipeline<S...>> : std::bool_constant<has_custom_stage_v<S...>> {};
template <class Pipeline>
inline constexpr bool pipeline_has_custom_stage_v = pipeline_has_custom_stage<Pipeline>::value;

/// run_raw(raw) fills `raw` (Acc, contiguous, dst's extents) with the accumulators; then
/// dst[i...][n] = evaluate(pipeline, raw[i...][n], m, n) with n the last index and m the row-major index of
/// the others (a GEMM's row; an NHWC output's pixel).
template <class Acc, class D, std::size_t R, class LD, class AD, class... S, class RunRaw>
void run_with_scalar_epilogue(const tensor_view<D, R, LD, AD>& dst, const output_pipeline<S...>& pipeline,
                              RunRaw&& run_raw) {
  static_assert(R == 2 || R == 4, "qsparse: the scalar epilogue writes 2-D (GEMM) or 4-D (NHWC) outputs");
  tensor<Acc, R> raw(dst.extents());
  std::forward<RunRaw>(run_raw)(raw.view());
  const auto acc = raw.view();
  if constexpr (R == 2) {
    for (index_t m = 0; m < dst.extent(0); ++m) {
      for (index_t n = 0; n < dst.extent(1); ++n) dst(m, n) = evaluate(pipeline, acc(m, n), m, n);
    }
  } else {
    index_t m = 0;
    for (index_t b = 0; b < dst.extent(0); ++b) {
      for (index_t y = 0; y < dst.extent(1); ++y) {
        for (index_t x = 0; x < dst.extent(2); ++x, ++m) {
          for (index_t n = 0; n < dst.extent(3); ++n) dst(b, y, x, n) = evaluate(pipeline, acc(b, y, x, n), m, n);
        }
      }
    }
  }
}

}  // namespace detail
}  // namespace qsparse
