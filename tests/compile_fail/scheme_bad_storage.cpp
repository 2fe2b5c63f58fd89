// expect: Storage must be std::int8_t
#include "qsparse/quant/scheme.hpp"
using bad = qsparse::scheme<float, qsparse::per_tensor, qsparse::affine, qsparse::round_half_to_even>;
int main() { return bad::qmax; }
