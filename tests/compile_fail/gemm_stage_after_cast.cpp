// expect: does not accept the value type the previous stage produces
// An int32 stage cannot follow dequantize_float: the pipeline's value type is float by then.
#include "qsparse/spec/output_stages.hpp"
int main() {
  const auto p = qsparse::pipeline(qsparse::dequantize_float{1.0f, nullptr}, qsparse::add_zero_point{1});
  return static_cast<int>(sizeof(decltype(p)::output_type));
}
