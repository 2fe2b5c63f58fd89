// expect: RowAxis and ColAxis must be two different axes
#include "qsparse/sparsity/block_mask.hpp"
int main() {
  float w[16] = {};
  float m[16] = {};
  using pattern = qsparse::block_mask<2, 2, qsparse::avg_pooling, 1, -1>;
  return static_cast<int>(pattern::compute_mask(qsparse::make_view(w, 4, 4), qsparse::make_view(m, 4, 4), 0.5f));
}
