// expect: qsparse::depthwise_conv2d: the input and the output must be 4-D NHWC views
// errors: 1
// An HWC image without its batch axis is one sentence naming the layout, not a failed overload.
#include <cstdint>
#include "qsparse/conv/depthwise.hpp"
int main() {
  std::int8_t in[18] = {}, filter[18] = {};
  std::int32_t out[18] = {};
  const auto packed = qsparse::pack_depthwise_weights(qsparse::make_view(filter, 1, 3, 3, 2));
  qsparse::depthwise_conv2d(qsparse::context{}, qsparse::quantized(qsparse::make_view(in, 3, 3, 2), 0), packed,
                            qsparse::make_view(out, 1, 3, 3, 2), qsparse::conv2d_params{}, qsparse::pipeline());
}
