// A fixture for check_layers.cmake: a core header that follows the rules.
#pragma once
