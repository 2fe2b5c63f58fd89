// Built with -fno-exceptions -DQSPARSE_NO_EXCEPTIONS: the whole library compiles without exceptions, a
// valid call works, and an invalid argument prints the same message as qsparse::error would carry and
// aborts. CTest matches the message (tests/CMakeLists.txt).
#include <cstdint>
#include <cstdio>

#include "qsparse/qsparse.hpp"

int main() {
  float x[3] = {0.5f, -1.0f, 2.0f};
  std::int8_t q[3] = {};
  using S = qsparse::tflite_int8_activation;
  qsparse::quantize<S>(qsparse::make_view(x, 3), qsparse::make_view(q, 3), qsparse::per_tensor_params{0.5f, 0});
  std::printf("valid call: %d %d %d\n", q[0], q[1], q[2]);
  std::fflush(stdout);
  qsparse::quantize<S>(qsparse::make_view(x, 3), qsparse::make_view(q, 3), qsparse::per_tensor_params{-2.0f, 0});
  std::printf("not reached\n");
  return 0;
}
