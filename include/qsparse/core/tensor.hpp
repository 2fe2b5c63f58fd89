// qsparse/core/tensor.hpp — tensor<T, Rank>: an owning, row-major, 64-byte-aligned, zero-initialised array.
//
// Contract:
//   * storage is one allocation aligned to `alignment` (64 bytes, or alignof(T) if larger), holding
//     size() value-initialised elements (zeros for arithmetic types), in layout_right order;
//   * copying copies the elements (deep copy); moving steals the allocation and leaves the source
//     empty (data() == nullptr, size() == 0) — only assignment and destruction are meaningful then;
//   * the constructors reject negative extents and element counts whose byte size overflows, with
//     qsparse::error naming the extent;
//   * view() is the way to pass a tensor to an entry point; it is a tensor_view<T, Rank> (const T from a
//     const tensor) and stays valid while the tensor lives and is not assigned to.
//
//   qsparse::tensor<float, 2> w(64, 128);     // zeros
//   w(3, 5) = 1.f;
//   qsparse::quantize<scheme>(w.view(), ...);
#pragma once

#include <algorithm>
#include <array>
#include <cstddef>
#include <cstdint>
#include <limits>
#include <memory>
#include <new>
#include <type_traits>
#include <utility>

#include "qsparse/core/checked.hpp"
#include "qsparse/core/error.hpp"
#include "qsparse/core/extents.hpp"
#include "qsparse/core/tensor_view.hpp"

namespace qsparse {

template <class T, std::size_t Rank>
class tensor {
  static_assert(std::is_object_v<T> && !std::is_const_v<T> && !std::is_volatile_v<T> && !std::is_array_v<T>,
                "qsparse::tensor: T must be a non-const, non-volatile, non-array object type.");

 public:
  using element_type = T;
  using value_type = T;
  using extents_type = qsparse::extents<Rank>;
  using view_type = tensor_view<T, Rank>;
  using const_view_type = tensor_view<const T, Rank>;
  using index_type = index_t;
  using rank_type = std::size_t;

  /// The alignment of data(), in bytes.
  static constexpr std::size_t alignment = alignof(T) > 64 ? alignof(T) : 64;

  static constexpr rank_type rank() noexcept { return Rank; }

  /// Zero extents and no allocation (for rank 0: one zero element).
  tensor() : tensor(extents_type{}) {}

  explicit tensor(const extents_type& e) : extents_(e), size_(e.size()) {
    check_bytes();
    data_ = allocate_value_initialised(size_);
  }

  /// tensor<float, 2> t(3, 4). Throws qsparse::error for a negative extent or an overflowing size.
  template <class... I, std::enable_if_t<sizeof...(I) == Rank && (Rank >= 1) &&
                                             detail::all_index_convertible_v<I...>,
                                         int> = 0>
  explicit tensor(I... e) : tensor(checked_extents({static_cast<index_t>(e)...})) {}

  /// tensor<float, 2> t({3, 4}) — a braced list of extents (a standard conversion, so that it is
  /// preferred over building a temporary tensor for the copy/move constructors).
  template <std::size_t N, std::enable_if_t<N == Rank && (N >= 1), int> = 0>
  explicit tensor(const index_t (&e)[N]) : tensor(checked_extents(to_array(e))) {}

  tensor(const tensor& other) : extents_(other.extents_), size_(other.size_) {
    data_ = allocate_copy(other.data_, size_);
  }

  tensor(tensor&& other) noexcept
      : extents_(std::exchange(other.extents_, extents_type{})),
        size_(std::exchange(other.size_, 0)),
        data_(std::exchange(other.data_, nullptr)) {}

  tensor& operator=(const tensor& other) {
    if (this != &other) {
      tensor copy(other);
      swap(copy);
    }
    return *this;
  }

  tensor& operator=(tensor&& other) noexcept {
    if (this != &other) {
      release();
      extents_ = std::exchange(other.extents_, extents_type{});
      size_ = std::exchange(other.size_, 0);
      data_ = std::exchange(other.data_, nullptr);
    }
    return *this;
  }

  ~tensor() { release(); }

  void swap(tensor& other) noexcept {
    std::swap(extents_, other.extents_);
    std::swap(size_, other.size_);
    std::swap(data_, other.data_);
  }
  friend void swap(tensor& a, tensor& b) noexcept { a.swap(b); }

  // ---- observers -------------------------------------------------------------------------------
  T* data() noexcept { return data_; }
  const T* data() const noexcept { return data_; }
  /// The number of elements (0 after a move).
  index_t size() const noexcept { return size_; }
  bool empty() const noexcept { return size_ == 0; }
  const extents_type& extents() const noexcept { return extents_; }
  index_t extent(rank_type r) const noexcept { return extents_.extent(r); }

  T* begin() noexcept { return data_; }
  T* end() noexcept { return data_ + size_; }
  const T* begin() const noexcept { return data_; }
  const T* end() const noexcept { return data_ + size_; }

  view_type view() noexcept { return view_type(data_, extents_); }
  const_view_type view() const noexcept { return const_view_type(data_, extents_); }

  /// The element at (i...), row-major. Not checked; see at().
  template <class... I, std::enable_if_t<sizeof...(I) == Rank && detail::all_index_convertible_v<I...>,
                                         int> = 0>
  T& operator()(I... i) noexcept {
    return data_[typename view_type::mapping_type(extents_)(i...)];
  }
  template <class... I, std::enable_if_t<sizeof...(I) == Rank && detail::all_index_convertible_v<I...>,
                                         int> = 0>
  const T& operator()(I... i) const noexcept {
    return data_[typename view_type::mapping_type(extents_)(i...)];
  }

  /// Like operator(), but throws qsparse::error when an index is outside [0, extent).
  template <class... I, std::enable_if_t<sizeof...(I) == Rank && detail::all_index_convertible_v<I...>,
                                         int> = 0>
  T& at(I... i) {
    return view().at(i...);
  }
  template <class... I, std::enable_if_t<sizeof...(I) == Rank && detail::all_index_convertible_v<I...>,
                                         int> = 0>
  const T& at(I... i) const {
    return view().at(i...);
  }

 private:
  // Frees the allocation unless released (exception safety without try/catch, so that the header also
  // compiles with -fno-exceptions).
  struct allocation_guard {
    void* raw;
    ~allocation_guard() {
      if (raw != nullptr) ::operator delete(raw, std::align_val_t{alignment});
    }
  };

  template <std::size_t N>
  static std::array<index_t, N> to_array(const index_t (&e)[N]) {
    std::array<index_t, N> a{};
    for (std::size_t r = 0; r < N; ++r) a[r] = e[r];
    return a;
  }

  static extents_type checked_extents(const std::array<index_t, Rank>& e) {
    index_t n = 1;
    for (std::size_t r = 0; r < Rank; ++r) {
      if (e[r] < 0) {
        detail::raise(detail::concat("qsparse::tensor: extent(", r, ") = ", e[r], " must be non-negative"));
      }
      if (e[r] != 0 && n >= 0) n = detail::checked_product(n, e[r]);
    }
    if (n < 0) {
      detail::raise(detail::concat("qsparse::tensor: extents ", detail::array_to_string(e),
                                   " hold more elements than index_t can count"));
    }
    return extents_type(e);
  }

  void check_bytes() const {
    std::int64_t bytes = 0;
    if (detail::mul_overflows(size_, static_cast<std::int64_t>(sizeof(T)), &bytes) || bytes > detail::max_allocation_bytes) {
      detail::raise(detail::concat("qsparse::tensor: extents ", to_string(extents_), " need ", size_, " elements of ",
                                   sizeof(T), " bytes, more than can be allocated (at most 2^47 bytes)"));
    }
  }

  // nothrow, so that a refused allocation is a qsparse::error (also with QSPARSE_NO_EXCEPTIONS).
  static T* allocate_uninitialised(index_t n) {
    if (n == 0) return nullptr;
    // Also keeps the byte count below from wrapping where the caller's check is not inlined.
    if (static_cast<std::size_t>(n) > std::numeric_limits<std::size_t>::max() / sizeof(T)) {
      detail::raise(detail::concat("qsparse::tensor: ", n, " elements of ", sizeof(T), " bytes do not fit in size_t"));
    }
    void* p = ::operator new(static_cast<std::size_t>(n) * sizeof(T), std::align_val_t{alignment}, std::nothrow);
    if (p == nullptr) {
      detail::raise(detail::concat("qsparse::tensor: could not allocate ", n, " elements of ", sizeof(T), " bytes"));
    }
    return static_cast<T*>(p);
  }

  static T* allocate_value_initialised(index_t n) {
    T* p = allocate_uninitialised(n);
    if (p == nullptr) return p;
    allocation_guard guard{p};
    std::uninitialized_value_construct_n(p, static_cast<std::size_t>(n));
    guard.raw = nullptr;
    return p;
  }

  static T* allocate_copy(const T* source, index_t n) {
    T* p = allocate_uninitialised(n);
    if (p == nullptr) return p;
    allocation_guard guard{p};
    std::uninitialized_copy_n(source, static_cast<std::size_t>(n), p);
    guard.raw = nullptr;
    return p;
  }

  void release() noexcept {
    if (data_ == nullptr) return;
    std::destroy_n(data_, static_cast<std::size_t>(size_));
    ::operator delete(data_, std::align_val_t{alignment});
    data_ = nullptr;
  }

  extents_type extents_{};
  index_t size_ = 0;
  T* data_ = nullptr;
};

}  // namespace qsparse
