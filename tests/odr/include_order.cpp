// Headers included in an order the umbrella header does not use: each element-wise kernel family
// (quantize, fake quantization, range) once declared its own prefetch constants, and including
// quantize.hpp before calibrate/range.hpp made their names ambiguous. This TU compiling is the test;
// the function runs in odr_test so the instantiations are real.
#include "qsparse/quant/quantize.hpp"
#include "qsparse/qat/fake_quant.hpp"
#include "qsparse/calibrate/range.hpp"

#include <vector>

float range_width_after_quantize_headers(const std::vector<float>& x) {
  const qsparse::value_range r = qsparse::find_range(qsparse::make_view(x.data(), static_cast<qsparse::index_t>(x.size())));
  return r.max - r.min;
}
