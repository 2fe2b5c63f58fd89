// expect: does not say how its per-column data moves
// A stage of the caller's own must declare how its per-column data moves in a grouped convolution
// (offset_columns or per_column = false), so that no stage can be silently mis-offset.
#include <cstddef>
#include <cstdint>

#include "qsparse/gemm/gemm.hpp"

struct scale_by_column {
  using input_type = std::int32_t;
  using output_type = std::int32_t;
  const std::int32_t* factors;
  std::int32_t apply(std::int32_t v, std::ptrdiff_t, std::ptrdiff_t n) const { return v * factors[n]; }
};

int main() {
  const std::int32_t factors[1] = {2};
  const auto p = qsparse::pipeline(scale_by_column{factors});
  (void)p;
  return 0;
}
