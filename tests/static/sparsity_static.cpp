// Compile-only checks of the sparsity policy traits and the shapes patterns derive.
#include <cstdint>

#include "qsparse/sparsity/bitmask_values.hpp"
#include "qsparse/sparsity/block_csr.hpp"
#include "qsparse/sparsity/block_mask.hpp"
#include "qsparse/sparsity/channel_mask.hpp"
#include "qsparse/sparsity/csr.hpp"
#include "qsparse/sparsity/n_of_m.hpp"
#include "qsparse/sparsity/packed_2_4.hpp"
#include "qsparse/sparsity/pruner.hpp"
#include "qsparse/sparsity/schedule.hpp"

namespace {
using namespace qsparse;

static_assert(is_schedule_v<constant_sparsity> && is_schedule_v<polynomial_decay>);
static_assert(!is_schedule_v<magnitude> && !is_schedule_v<float>);
static_assert(is_pattern_v<magnitude> && is_pattern_v<block_mask<4, 1>> && is_pattern_v<block_mask<2, 2, max_pooling, 0, -1>>);
static_assert(is_pattern_v<n_of_m<2, 4>> && is_pattern_v<n_of_m<4, 8, -1>> && is_pattern_v<channel_mask<0, l1_norm>>);
static_assert(!is_pattern_v<constant_sparsity>);
static_assert(is_mask_update_v<recompute_mask> && is_mask_update_v<frozen_mask> && !is_mask_update_v<magnitude>);

// Python-style axes resolve against the rank.
static_assert(detail::resolve_axis<-1, 4>() == 3 && detail::resolve_axis<-2, 2>() == 0 && detail::resolve_axis<1, 3>() == 1);
static_assert(block_mask<4, 4, avg_pooling, 0, -1>::row_axis<4>() == 0 && block_mask<4, 4, avg_pooling, 0, -1>::col_axis<4>() == 3);
static_assert(n_of_m<2, 4>::target_sparsity(0.9f) == 0.5f && n_of_m<1, 4>::target_sparsity(0.0f) == 0.75f);

// Mask element types: any writable arithmetic type.
static_assert(is_mask_element_v<float> && is_mask_element_v<std::uint8_t> && is_mask_element_v<bool>);
static_assert(!is_mask_element_v<const float> && !is_mask_element_v<float*>);

// Format value and index types.
static_assert(is_sparse_value_v<std::int8_t> && is_sparse_value_v<float> && !is_sparse_value_v<double>);
static_assert(is_sparse_index_v<std::uint16_t> && is_sparse_index_v<std::int32_t> && !is_sparse_index_v<std::int64_t>);
static_assert(array_type_of<std::int8_t>() == array_type::i8 && array_type_of<float>() == array_type::f32);
static_assert(size_of(array_type::u16) == 2 && size_of(array_type::i32) == 4);

// A pruner is a small value: the schedule's parameters and nothing else.
static_assert(sizeof(pruner<constant_sparsity, n_of_m<2, 4>, frozen_mask>) == sizeof(constant_sparsity));
}  // namespace
