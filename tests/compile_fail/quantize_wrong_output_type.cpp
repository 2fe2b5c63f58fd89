// expect: q must be a view of non-const Scheme::value_type
#include <cstdint>
#include "qsparse/quant/quantize.hpp"
int main() {
  float x[4] = {};
  std::uint8_t q[4] = {};
  qsparse::quantize<qsparse::tflite_int8_activation>(qsparse::make_view(x, 4), qsparse::make_view(q, 4),
                                                     qsparse::per_tensor_params{1.0f, 0});
}
