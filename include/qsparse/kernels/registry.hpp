// qsparse/kernels/registry.hpp — kernel registries: one type list per kernel family, and the ways to
// walk it. Dispatch, selected_kernel_name(), the tests and the benchmarks all iterate the same list, so
// a kernel is added by writing its header and adding one line to its family's list (XNNPACK's habit).
//
// A kernel is an empty struct with at least
//   static constexpr isa_level isa;      the ISA it needs (qsparse/core/isa.hpp)
//   static const char* name();           "<op>_<types>_<MR>x<NR>c<KR>__<isa>", e.g. gemm_u8s8_s32_8x32c4__avx512vnni
// plus what its family asks for (its packed layout, mr / nr, the entry points it runs).
//
// A registry lists its family's kernels in order of preference, lowest first: the scalar definition,
// then each architecture's ladder. Selection takes the LAST kernel that the CPU runs (isa_runs(level,
// K::isa)) and that accepts the call (a predicate the family supplies: the weights' layout, a bound on K,
// ...), so a specialised kernel is listed after the general one of its ISA and wins where it applies.
// A kernel that needs CPU features beyond its ISA rung (e.g. AVX-512 VBMI2 on the avx512_vnni rung) says
// so with `static bool cpu_has_extensions()`; selection skips it where that is false, so the CPU runs the
// next kernel down. Kernels of other architectures are not in the list at all (their headers do not compile there):
//
//   using gemm_kernels = kernel_list_concat_t<kernel_list<scalar::gemm_...>, gemm_kernels_x86_64,
//                                             gemm_kernels_aarch64>;
#pragma once

#include <cstddef>
#include <type_traits>
#include <utility>

#include "qsparse/core/isa.hpp"
#include "qsparse/spec/packed_weights.hpp"

namespace qsparse {
namespace kernels {

/// A kernel registry: a list of kernel types.
template <class... Kernels>
struct kernel_list {
  static constexpr std::size_t size = sizeof...(Kernels);
};

namespace detail {
template <class... Lists>
struct kernel_list_concat;
template <>
struct kernel_list_concat<> {
  using type = kernel_list<>;
};
template <class... A>
struct kernel_list_concat<kernel_list<A...>> {
  using type = kernel_list<A...>;
};
template <class... A, class... B, class... Rest>
struct kernel_list_concat<kernel_list<A...>, kernel_list<B...>, Rest...> {
  using type = typename kernel_list_concat<kernel_list<A..., B...>, Rest...>::type;
};

template <class Kernel, class = void>
struct has_kernel_contract : std::false_type {};
template <class Kernel>
struct has_kernel_contract<Kernel, std::void_t<decltype(Kernel::isa), decltype(Kernel::name())>>
    : std::bool_constant<std::is_same_v<std::remove_cv_t<decltype(Kernel::isa)>, isa_level> &&
                         std::is_convertible_v<decltype(Kernel::name()), const char*> &&
                         std::is_empty_v<Kernel>> {};
template <class Kernel, class = void>
struct has_extensions_check : std::false_type {};
template <class Kernel>
struct has_extensions_check<Kernel, std::void_t<decltype(Kernel::cpu_has_extensions())>> : std::true_type {};
template <class Kernel, class Args, class = void>
struct has_accepts : std::false_type {};
template <class Kernel, class... Args>
struct has_accepts<Kernel, kernel_list<Args...>, std::void_t<decltype(Kernel::accepts(std::declval<const Args&>()...))>>
    : std::true_type {};
}  // namespace detail

/// True when Kernel has `static bool accepts(const Args&...)`: it takes only some calls of its family.
template <class Kernel, class... Args>
inline constexpr bool has_accepts_v = detail::has_accepts<Kernel, kernel_list<Args...>>::value;

/// False when Kernel needs CPU features beyond its ISA (static bool cpu_has_extensions()) this CPU lacks.
template <class Kernel>
bool cpu_has_kernel_extensions() {
  if constexpr (detail::has_extensions_check<Kernel>::value) {
    return Kernel::cpu_has_extensions();
  } else {
    return true;
  }
}

/// The lists one after the other.
template <class... Lists>
using kernel_list_concat_t = typename detail::kernel_list_concat<Lists...>::type;

/// True for a type that meets the kernel contract above.
template <class Kernel>
inline constexpr bool is_kernel_v = detail::has_kernel_contract<Kernel>::value;

/// Calls f(Kernel{}) for every kernel of the list, in order.
template <class... Kernels, class F>
void for_each_kernel(kernel_list<Kernels...>, F&& f) {
  static_assert((is_kernel_v<Kernels> && ...),
                "qsparse::kernels::kernel_list: every kernel must be an empty struct with `static constexpr "
                "isa_level isa` and `static const char* name()`.");
  (f(Kernels{}), ...);
}

/// Calls f(K{}) for the last kernel K of the list that `level` runs and for which accepts(K{}) is true;
/// returns false (calling nothing) when there is none.
template <class... Kernels, class Accepts, class F>
bool with_selected_kernel(kernel_list<Kernels...> list, isa_level level, Accepts&& accepts, F&& f) {
  int selected = -1;
  int index = 0;
  for_each_kernel(list, [&](auto kernel) {
    using K = decltype(kernel);
    if (isa_runs(level, K::isa) && cpu_has_kernel_extensions<K>() && accepts(kernel)) selected = index;
    ++index;
  });
  if (selected < 0) return false;
  index = 0;
  for_each_kernel(list, [&](auto kernel) {
    if (index++ == selected) f(kernel);
  });
  return true;
}

/// with_selected_kernel that accepts every kernel: the best one `level` runs.
template <class List, class F>
bool with_best_kernel(List list, isa_level level, F&& f) {
  return with_selected_kernel(list, level, [](auto) { return true; }, std::forward<F>(f));
}

/// The panel geometry {NR, KR, ElementBytes} of the last kernel of the list that `level` runs: what a
/// panel format (qsparse/spec/packed_panels.hpp) packs for `level`.
template <int ElementBytes, class List>
layout_geometry panel_geometry_for(List list, isa_level level) {
  layout_geometry g{0, 0, ElementBytes};
  with_best_kernel(list, level, [&](auto kernel) { g = {decltype(kernel)::nr, decltype(kernel)::kr, ElementBytes}; });
  return g;
}

/// True when a panel kernel K reads panels packed with `geometry`.
template <class K>
constexpr bool reads_panel_geometry(const layout_geometry& geometry) noexcept {
  return K::nr == geometry.nr && K::kr == geometry.kr;
}

/// The name of the kernel with_selected_kernel would call, or nullptr.
template <class List, class Accepts>
const char* selected_kernel_name(List list, isa_level level, Accepts&& accepts) {
  const char* name = nullptr;
  with_selected_kernel(list, level, std::forward<Accepts>(accepts), [&](auto kernel) { name = decltype(kernel)::name(); });
  return name;
}

}  // namespace kernels
}  // namespace qsparse
