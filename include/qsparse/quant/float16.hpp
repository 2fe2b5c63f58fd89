// qsparse/quant/float16.hpp — float32 <-> float16 conversion of arrays, dispatched at run time.
//
//   qsparse::to_float16(in, out, n);   // float[n] -> float16[n], round to nearest even
//   qsparse::to_float32(in, out, n);   // float16[n] -> float[n], exact
//
// Results are identical on every path and equal to qsparse::float16{x} element by element (the
// normative rule is in qsparse/core/float16.hpp). The path is chosen by qsparse::best_isa():
// avx512 and avx512_vnni run the AVX-512 kernel, avx2 the F16C kernel, anything else the scalar
// loop; selected_float16_kernel_name() says which. The overloads taking an isa_level run exactly
// that path (avx512_vnni = avx512) regardless of the ceiling, and throw qsparse::error when this CPU
// cannot run it — tests and benchmarks use them.
// Preconditions checked (qsparse::error): n >= 0; `in` and `out` non-null when n > 0.
// `in` and `out` must not overlap (checked: qsparse::error).
#pragma once

#include <cstddef>
#include <cstdint>
#include <string>
#include <type_traits>

#include "qsparse/core/config.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/float16.hpp"
#include "qsparse/core/overlap.hpp"
#include "qsparse/core/tensor_view.hpp"
#include "qsparse/dispatch/isa.hpp"
#include "qsparse/kernels/convert_f16_kernels.hpp"
#include "qsparse/kernels/registry.hpp"
#include "qsparse/quant/elementwise.hpp"

namespace qsparse {

/// The name of the kernel that runs at `level` ("convert_f32_f16__avx512" for avx512 and avx512_vnni).
inline const char* float16_kernel_name(isa_level level) {
  const char* name = kernels::selected_kernel_name(kernels::convert_f16_kernels{}, level, [](auto) { return true; });
  return name != nullptr ? name : "none";
}

/// The name of the kernel to_float16 / to_float32 run now (depends on best_isa()).
inline const char* selected_float16_kernel_name() { return float16_kernel_name(best_isa()); }

namespace detail {

template <class In, class Out>
inline void check_float16_arguments(const char* function, isa_level level, const In* in, const Out* out,
                                    std::ptrdiff_t n) {
  check(n >= 0, "qsparse::", function, ": n must be non-negative, got n = ", n);
  check(n == 0 || (in != nullptr && out != nullptr), "qsparse::", function,
        ": in and out must not be null when n > 0, got n = ", n, (in == nullptr ? ", in = null" : ""),
        (out == nullptr ? ", out = null" : ""));
  check(cpu_supports(level), "qsparse::", function, ": this CPU cannot run isa_level ", to_string(level),
        " (detected ", to_string(detected_isa()), ")");
  if (n > 0) {
    const std::string fn = std::string("qsparse::") + function;
    check_ranges_disjoint(fn.c_str(), "out", bytes_of(out, static_cast<std::size_t>(n) * sizeof(Out)), "in",
                          bytes_of(in, static_cast<std::size_t>(n) * sizeof(In)));
  }
}

// float16 is a standard-layout wrapper of one std::uint16_t (static_asserts in core/float16.hpp),
// so the kernels read and write its bits through std::uint16_t pointers.
inline const std::uint16_t* float16_bits_pointer(const float16* p) { return reinterpret_cast<const std::uint16_t*>(p); }
inline std::uint16_t* float16_bits_pointer(float16* p) { return reinterpret_cast<std::uint16_t*>(p); }

}  // namespace detail

/// float[n] -> float16[n] on the path `level`; throws qsparse::error if this CPU cannot run it.
inline void to_float16(isa_level level, const float* in, float16* out, std::ptrdiff_t n) {
  detail::check_float16_arguments("to_float16", level, in, out, n);
  if (n == 0) return;
  std::uint16_t* bits = detail::float16_bits_pointer(out);
  kernels::with_best_kernel(kernels::convert_f16_kernels{}, level,
                            [&](auto kernel) { decltype(kernel)::convert_f32_to_f16(in, bits, n); });
}

/// float16[n] -> float[n] on the path `level`; throws qsparse::error if this CPU cannot run it.
inline void to_float32(isa_level level, const float16* in, float* out, std::ptrdiff_t n) {
  detail::check_float16_arguments("to_float32", level, in, out, n);
  if (n == 0) return;
  const std::uint16_t* bits = detail::float16_bits_pointer(in);
  kernels::with_best_kernel(kernels::convert_f16_kernels{}, level,
                            [&](auto kernel) { decltype(kernel)::convert_f16_to_f32(bits, out, n); });
}

/// float[n] -> float16[n], round to nearest even, on the best path for this CPU.
inline void to_float16(const float* in, float16* out, std::ptrdiff_t n) { to_float16(best_isa(), in, out, n); }

/// float16[n] -> float[n], exact, on the best path for this CPU.
inline void to_float32(const float16* in, float* out, std::ptrdiff_t n) { to_float32(best_isa(), in, out, n); }

/// Views of any equal shape and layout (default accessors): in → out, element by element, with the
/// same results as the array forms (contiguous runs go to the kernel of `level`).
template <class InView, class OutView, std::enable_if_t<is_tensor_view_v<InView> && is_tensor_view_v<OutView>, int> = 0>
void to_float16(isa_level level, const InView& in, const OutView& out) {
  static_assert(std::is_same_v<typename InView::value_type, float> &&
                    std::is_same_v<typename OutView::element_type, float16>,
                "qsparse::to_float16: in must be a view of float and out a view of non-const float16.");
  detail::check_same_extents("qsparse::to_float16", in, out);
  detail::check_no_overlap("qsparse::to_float16", "out", out, "in", in);
  const float* ip = in.data_handle();
  float16* op = out.data_handle();
  detail::for_each_run(
      in, out, -1, [&](index_t io, index_t oo, index_t n, index_t) { to_float16(level, ip + io, op + oo, n); },
      [&](index_t, index_t, index_t) {},
      [&](index_t io, index_t oo, index_t n, index_t is, index_t os, index_t) {
        for (index_t j = 0; j < n; ++j) op[oo + j * os] = float16(ip[io + j * is]);
      });
}

template <class InView, class OutView, std::enable_if_t<is_tensor_view_v<InView> && is_tensor_view_v<OutView>, int> = 0>
void to_float32(isa_level level, const InView& in, const OutView& out) {
  static_assert(std::is_same_v<typename InView::value_type, float16> &&
                    std::is_same_v<typename OutView::element_type, float>,
                "qsparse::to_float32: in must be a view of float16 and out a view of non-const float.");
  detail::check_same_extents("qsparse::to_float32", in, out);
  detail::check_no_overlap("qsparse::to_float32", "out", out, "in", in);
  const float16* ip = in.data_handle();
  float* op = out.data_handle();
  detail::for_each_run(
      in, out, -1, [&](index_t io, index_t oo, index_t n, index_t) { to_float32(level, ip + io, op + oo, n); },
      [&](index_t, index_t, index_t) {},
      [&](index_t io, index_t oo, index_t n, index_t is, index_t os, index_t) {
        for (index_t j = 0; j < n; ++j) op[oo + j * os] = static_cast<float>(ip[io + j * is]);
      });
}

template <class InView, class OutView, std::enable_if_t<is_tensor_view_v<InView> && is_tensor_view_v<OutView>, int> = 0>
void to_float16(const InView& in, const OutView& out) {
  to_float16(best_isa(), in, out);
}

template <class InView, class OutView, std::enable_if_t<is_tensor_view_v<InView> && is_tensor_view_v<OutView>, int> = 0>
void to_float32(const InView& in, const OutView& out) {
  to_float32(best_isa(), in, out);
}

}  // namespace qsparse
