// expect: qsparse::conv2d: the input and the output must be 4-D NHWC views
// errors: 1
// An image passed as a 2-D H x W view is one sentence naming the layout, not the list of conv2d's overloads.
#include <cstdint>
#include "qsparse/conv/conv2d.hpp"
int main() {
  std::int8_t in[9] = {}, filter[9] = {};
  std::int32_t out[9] = {};
  const auto packed = qsparse::pack_conv2d_weights(qsparse::make_view(filter, 1, 3, 3, 1));
  qsparse::conv2d(qsparse::context{}, qsparse::quantized(qsparse::make_view(in, 3, 3), 0), packed,
                  qsparse::make_view(out, 1, 3, 3, 1), qsparse::conv2d_params{}, qsparse::pipeline());
}
