// Compiled with -mavx2 -mfma -mf16c (see tests/CMakeLists.txt).
#include "odr/odr_common.hpp"
#include "qsparse/qsparse.hpp"

odr_result run_avx2_flags(const std::vector<float>& x, int level_number)
#include "odr/odr_body.inc"
