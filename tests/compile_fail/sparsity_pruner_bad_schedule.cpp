// expect: Schedule must be a pruning schedule
#include "qsparse/sparsity/pruner.hpp"
struct not_a_schedule {};
int main() {
  qsparse::pruner<not_a_schedule> p(not_a_schedule{});
  return 0;
}
