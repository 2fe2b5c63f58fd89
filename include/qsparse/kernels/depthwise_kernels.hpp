// qsparse/kernels/depthwise_kernels.hpp — the registry of the int8 depthwise convolution
// (qsparse/conv/depthwise.hpp), lowest ISA first (kernels/registry.hpp).
//
// A depthwise kernel is a struct with `static constexpr isa_level isa`, `static const char* name()` and
// either
//   static constexpr int channel_block;  template <class Out, class Pipeline> static void run(
//       const dwconv_args<Out>&, const Pipeline&)            one output row from an indirection table
//                                                           (qsparse/spec/dwconv_args.hpp), or
//   static constexpr bool reads_columns = true;             the kernel-column layout of
//       kernels/avx512vnni/dwconv_columns_s8s8_s32_c64.hpp, taken only for weights packed with it;
// each computes the definition in qsparse/conv/reference.hpp exactly.
#pragma once

#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/kernels/scalar/dwconv_s8s8_s32_c1.hpp"

#if QSPARSE_X86
#include "qsparse/kernels/avx2/dwconv_s8s8_s32_c8.hpp"
#include "qsparse/kernels/avx512/dwconv_s8s8_s32_c16.hpp"
#include "qsparse/kernels/avx512vnni/dwconv_columns_s8s8_s32_c64.hpp"
#include "qsparse/kernels/avx512vnni/dwconv_s8s8_s32_c16.hpp"
#endif
#if QSPARSE_AARCH64
#include "qsparse/kernels/neon/dwconv_s8s8_s32_c16.hpp"
#endif

namespace qsparse {
namespace kernels {

namespace detail {
template <class K, class = void>
struct reads_depthwise_columns : std::false_type {};
template <class K>
struct reads_depthwise_columns<K, std::void_t<decltype(K::reads_columns)>> : std::bool_constant<K::reads_columns> {};
}  // namespace detail

/// True for a depthwise kernel that reads the kernel-column weight layout.
template <class K>
inline constexpr bool reads_depthwise_columns_v = detail::reads_depthwise_columns<K>::value;

#if QSPARSE_X86
using depthwise_kernels_x86_64 =
    kernel_list<avx2::dwconv_s8s8_s32_c8, avx512::dwconv_s8s8_s32_c16, avx512_vnni::dwconv_s8s8_s32_c16,
                avx512_vnni::dwconv_columns_s8s8_s32_c64>;
#else
using depthwise_kernels_x86_64 = kernel_list<>;
#endif

#if QSPARSE_AARCH64
using depthwise_kernels_aarch64 = kernel_list<neon::dwconv_s8s8_s32_c16>;
#else
using depthwise_kernels_aarch64 = kernel_list<>;
#endif

/// The depthwise convolution's kernels.
using depthwise_kernels =
    kernel_list_concat_t<kernel_list<scalar::dwconv_s8s8_s32_c1>, depthwise_kernels_x86_64, depthwise_kernels_aarch64>;

}  // namespace kernels
}  // namespace qsparse
