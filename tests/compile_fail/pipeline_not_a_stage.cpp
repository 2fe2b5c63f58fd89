// expect: every stage of a pipeline must be one of qsparse's output stages
// A type that is neither one of qsparse's stages nor a stage of the caller's own (input_type, output_type,
// a const apply(value, m, n)) is one sentence at the pipeline, not a cascade from inside the kernels.
#include "qsparse/gemm/gemm.hpp"

struct not_a_stage {
  int factor;
};

int main() {
  const auto p = qsparse::pipeline(not_a_stage{2});
  (void)p;
  return 0;
}
