// examples/demo/features.hpp — which of the library's optional pieces this checkout has.
//
// The demo composes pieces that landed at different times (issue 7). A variant whose kernel is absent is
// left out of the run, and the program says so in its output; nothing is replaced by a float fallback.
#pragma once

#if __has_include("qsparse/gemm/sparse_gemm.hpp")
#define DEMO_HAVE_SPARSE_GEMM 1
#else
#define DEMO_HAVE_SPARSE_GEMM 0
#endif

#if __has_include("qsparse/conv/conv2d.hpp") && __has_include("qsparse/conv/pooling.hpp")
#define DEMO_HAVE_CONV 1
#else
#define DEMO_HAVE_CONV 0
#endif

#if DEMO_HAVE_CONV && DEMO_HAVE_SPARSE_GEMM && __has_include("qsparse/conv/sparse_conv2d.hpp")
#define DEMO_HAVE_SPARSE_CONV 1
#else
#define DEMO_HAVE_SPARSE_CONV 0
#endif

#if DEMO_HAVE_CONV && __has_include("qsparse/conv/conv_pool.hpp")
#define DEMO_HAVE_CONV_POOL 1
#else
#define DEMO_HAVE_CONV_POOL 0
#endif

#if __has_include("qsparse/sparsity/pruner.hpp")
#define DEMO_HAVE_PRUNING 1
#else
#define DEMO_HAVE_PRUNING 0
#endif
