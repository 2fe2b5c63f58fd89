// A fixture for check_layers.cmake: a kernel that includes an entry point (gemm/), against the layers.
#pragma once
#include "qsparse/core/base.hpp"
#include "qsparse/spec/args.hpp"
#include <qsparse/gemm/gemm.hpp>
