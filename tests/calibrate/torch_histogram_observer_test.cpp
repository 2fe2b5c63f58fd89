#include "qsparse/calibrate/torch_histogram_observer.hpp"

#include <catch2/catch.hpp>
#include <cmath>
#include <cstring>
#include <limits>
#include <vector>

#include "qsparse/quant/scheme.hpp"
#include "support/testing.hpp"

namespace vectors {
#include "data/torch_compat_vectors.inc"
}  // namespace vectors

using namespace qsparse;
using qsparse::testing::from_bits;
using qsparse::testing::to_bits;

namespace {

using torch_qint8_affine = scheme<std::int8_t, per_tensor, affine, round_half_to_even>;
using torch_quint8_symmetric = scheme<std::uint8_t, per_tensor, symmetric, round_half_to_even>;

per_tensor_params torch_params(const qsparse::torch_histogram_observer& o, const char* dtype, const char* mapping) {
  const bool u8 = std::strcmp(dtype, "quint8") == 0, affine_mapping = std::strcmp(mapping, "affine") == 0;
  if (u8) return affine_mapping ? o.params<torch_quint8>() : o.params<torch_quint8_symmetric>();
  return affine_mapping ? o.params<torch_qint8_affine>() : o.params<torch_qint8>();
}

}  // namespace

TEST_CASE("torch_histogram_observer equals HistogramObserver (PyTorch 1.13)", "[torch_histogram]") {
  int n = 0;
  for (const auto& c : vectors::torch_histogram_observer) {
    qsparse::torch_histogram_observer o;
    std::vector<float> x(192);
    for (int i = 0; i < 192; ++i) x[static_cast<std::size_t>(i)] = from_bits(c.x_bits[i]);
    for (int b = 0; b < 3; ++b) o.observe(make_view(x.data() + 64 * b, 64));
    INFO(c.dtype << " " << c.mapping << " case " << n);
    CHECK(to_bits(o.min()) == c.min_bits);
    CHECK(to_bits(o.max()) == c.max_bits);
    const per_tensor_params p = torch_params(o, c.dtype, c.mapping);
    CHECK(to_bits(p.scale) == c.scale_bits);
    CHECK(p.zero_point == c.zero_point);
    ++n;
  }
  CHECK(n == 6);
}
