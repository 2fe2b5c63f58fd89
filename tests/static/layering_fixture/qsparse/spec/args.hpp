// A fixture for check_layers.cmake: a spec header that follows the rules.
#pragma once
#include "qsparse/core/base.hpp"
