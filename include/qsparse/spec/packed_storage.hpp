// qsparse/spec/packed_storage.hpp — what every owning packed-weights type is: a 64-byte aligned buffer
// and the validated view of it that the packing function returned.
//
//   class packed_weights : public packed_storage<packed_weights_view> { ... };
//   packed_storage<View>(bytes, [&](void* buffer, std::size_t bytes) { return pack(..., buffer, bytes); })
//
// The view converts implicitly, so an owning object goes wherever its view does.
#pragma once

#include <cstddef>
#include <cstdint>
#include <memory>
#include <new>

#include "qsparse/core/checked.hpp"
#include "qsparse/core/error.hpp"

namespace qsparse {

/// A 64-byte aligned buffer of packed weights and its view (View: packed_weights_view,
/// packed_sparse_weights_view, packed_panels_view<...>). Moves, does not copy.
template <class View>
class packed_storage {
 public:
  packed_storage() = default;

  /// Allocates `bytes` (64-byte aligned) and fills them with fill(buffer, bytes), which returns the view.
  template <class Fill>
  packed_storage(std::size_t bytes, const Fill& fill)
      : storage_(allocate(bytes)), bytes_(bytes) {
    view_ = fill(static_cast<void*>(storage_.get()), bytes_);
  }

  const View& view() const noexcept { return view_; }
  operator const View&() const noexcept { return view_; }  // NOLINT: implicit on purpose
  std::size_t size_bytes() const noexcept { return bytes_; }

 private:
  // Checked against the allocation limit, and nothrow, so that a size no machine holds is a qsparse::error.
  static unsigned char* allocate(std::size_t bytes) {
    detail::check(bytes <= static_cast<std::uint64_t>(detail::max_allocation_bytes), "qsparse::packed_storage: the packed weights need ",
                  bytes, " bytes, more than the 2^47 bytes qsparse allocates at most");
    void* p = ::operator new(bytes, std::align_val_t{64}, std::nothrow);
    detail::check(p != nullptr, "qsparse::packed_storage: could not allocate ", bytes, " bytes");
    return static_cast<unsigned char*>(p);
  }
  struct aligned_delete {
    void operator()(unsigned char* p) const noexcept { ::operator delete(p, std::align_val_t{64}); }
  };
  std::unique_ptr<unsigned char, aligned_delete> storage_;
  std::size_t bytes_ = 0;
  View view_;
};

}  // namespace qsparse
