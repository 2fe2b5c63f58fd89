// expect: N (kept) must not exceed M
#include "qsparse/sparsity/n_of_m.hpp"
int main() { return qsparse::n_of_m<5, 4>::kept_per_group; }
