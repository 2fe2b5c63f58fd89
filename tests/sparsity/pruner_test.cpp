#include "qsparse/sparsity/pruner.hpp"

#include <algorithm>
#include <catch2/catch.hpp>
#include <cmath>
#include <cstdint>
#include <limits>
#include <vector>

#include "qsparse/core/tensor.hpp"
#include "qsparse/sparsity/block_mask.hpp"
#include "qsparse/sparsity/channel_mask.hpp"
#include "qsparse/sparsity/n_of_m.hpp"
#include "qsparse/sparsity/statistics.hpp"
#include "sparsity/test_util.hpp"
#include "support/testing.hpp"

using namespace qsparse;
using qsparse::sparsity_testing::error_of;

namespace {

/// A schedule that prunes at every step with a list of sparsities (TF-MOT's testConditionalMaskUpdate).
struct listed_schedule {
  static constexpr const char* name = "listed";
  std::vector<float> sparsities;
  schedule_point operator()(std::int64_t step) const {
    return {true, sparsities[static_cast<std::size_t>(step)]};
  }
};
static_assert(is_schedule_v<listed_schedule>);
static_assert(is_pattern_v<magnitude> && is_pattern_v<block_mask<4, 1>> && is_pattern_v<n_of_m<2, 4>> &&
              is_pattern_v<channel_mask<0, l1_norm>> && !is_pattern_v<int>);

std::vector<float> linspace_1_to(int n) {
  std::vector<float> v(static_cast<std::size_t>(n));
  for (int i = 0; i < n; ++i) v[static_cast<std::size_t>(i)] = static_cast<float>(i + 1);
  return v;
}

}  // namespace

TEST_CASE("pruner: TF-MOT's conditional mask update counts", "[sparsity][pruner]") {
  // testConditionalMaskUpdate: sparsities [0, .1, .1, .3, .3, .5, ...] on linspace(1, 100, 100).
  const pruner<listed_schedule> p(listed_schedule{{0.0f, 0.1f, 0.1f, 0.3f, 0.3f, 0.5f, 0.5f, 0.5f, 0.5f, 0.5f}});
  auto w = linspace_1_to(100);
  std::vector<float> mask(100, 1.0f);
  std::vector<index_t> nonzeros;
  for (std::int64_t step = 0; step < 10; ++step) {
    const auto s = p.step(step, make_view(w.data(), 100), make_view(mask.data(), 100));
    CHECK(s.mask_updated);
    CHECK(s.kept == count_nonzero(make_view(w.data(), 100)));
    nonzeros.push_back(count_nonzero(make_view(w.data(), 100)));
  }
  CHECK(nonzeros == std::vector<index_t>{100, 90, 90, 70, 70, 50, 50, 50, 50, 50});
}

TEST_CASE("pruner: Keras-style loop with polynomial_decay, summaries and monotone masks", "[sparsity][pruner]") {
  // Steps counted from 1 as TF-MOT's wrapper does; begin 0, frequency 10 -> masks change at 10, 20, ...
  const polynomial_decay schedule(0.0, 0.9, 0, 100, 3, 10);
  const pruner<polynomial_decay> p(schedule);
  constexpr index_t rows = 16, cols = 24;
  auto w = qsparse::sparsity_testing::weights_with_ties(rows * cols, 21);
  std::vector<float> mask(w.size());
  fill_mask(make_view(mask.data(), rows, cols));
  std::vector<float> previous = mask;
  for (std::int64_t step = 1; step <= 120; ++step) {
    const auto s = p.step(step, make_view(w.data(), rows, cols), make_view(mask.data(), rows, cols));
    CHECK(s.step == step);
    CHECK(s.mask_updated == (step % 10 == 0 && step <= 100));
    CHECK(qsparse::testing::to_bits(s.scheduled_sparsity) == qsparse::testing::to_bits(schedule(step).sparsity));
    CHECK(s.target_sparsity == s.scheduled_sparsity);
    CHECK(s.size == rows * cols);
    CHECK(s.kept == count_nonzero(make_view(mask.data(), rows, cols)));
    if (s.mask_updated) {
      CHECK(s.kept >= kept_count(rows * cols, s.scheduled_sparsity));
      CHECK(s.actual_sparsity() <= static_cast<double>(s.scheduled_sparsity) + 0.5 / (rows * cols) + 1e-9);  // k rounds
    } else {
      CHECK(std::isnan(s.threshold));
    }
    // Monotone: once pruned, a weight stays pruned (the loop applies the mask, the weights do not regrow).
    for (std::size_t i = 0; i < mask.size(); ++i) {
      if (previous[i] == 0.0f) CHECK(mask[i] == 0.0f);
      if (mask[i] == 0.0f) CHECK(w[i] == 0.0f);
    }
    previous = mask;
    // a pretend optimizer step on the kept weights only
    std::vector<float> grad(w.size(), 0.01f);
    mask_gradient(make_view(grad.data(), rows, cols), make_view(mask.data(), rows, cols));
    for (std::size_t i = 0; i < w.size(); ++i) w[i] -= grad[i];
  }
  CHECK(sparsity_of(make_view(mask.data(), rows, cols)) >= 0.85);
}

TEST_CASE("pruner: monotone block masks under rising sparsity", "[sparsity][pruner]") {
  const pruner<polynomial_decay, block_mask<4, 1>> p(polynomial_decay(0.1, 0.95, 0, 50, 3, 5));
  tensor<float, 2> w(32, 20);
  const auto init = qsparse::sparsity_testing::weights_with_ties(32 * 20, 4);
  std::copy(init.begin(), init.end(), w.begin());
  tensor<std::uint8_t, 2> mask(32, 20);
  fill_mask(mask.view());
  tensor<std::uint8_t, 2> previous = mask;
  for (std::int64_t step = 0; step <= 60; ++step) {
    p.step(step, w.view(), mask.view());
    for (index_t i = 0; i < mask.size(); ++i) {
      if (previous.data()[i] == 0) CHECK(mask.data()[i] == 0);
    }
    previous = mask;
  }
  const auto blocks = nonzeros_per_block(mask.view(), 4, 1);
  for (index_t i = 0; i < blocks.size(); ++i) CHECK((blocks.data()[i] == 0 || blocks.data()[i] == 4));
}

TEST_CASE("pruner: gradual channel pruning, the schedule sets the kept channel count at every update", "[sparsity][pruner]") {
  // K×N weights (dense layer layout), output channels = columns (axis 1). Column c has L2 norm
  // proportional to rank(c) + 1 with rank(c) = 37·c mod 64, so the pruned channels are not in index order.
  constexpr index_t k = 8, n = 64;
  tensor<float, 2> w(k, n);
  std::vector<index_t> rank(static_cast<std::size_t>(n));
  for (index_t c = 0; c < n; ++c) {
    rank[static_cast<std::size_t>(c)] = (37 * c) % n;
    for (index_t r = 0; r < k; ++r)
      w(r, c) = static_cast<float>(rank[static_cast<std::size_t>(c)] + 1) * ((r % 2) == 0 ? 0.25f : -0.5f);
  }
  tensor<float, 2> mask(k, n);
  fill_mask(mask.view());
  const pruner<polynomial_decay, channel_mask<1>> p(polynomial_decay(0.0, 0.5, 0, 1000, 3, 100));
  // max(round_half_even(64 · (1 - s)), 1) at s = the float32 schedule at steps 100, 200, ..., 1000
  // (0.1355, 0.244, 0.3285, 0.392, 0.4375, 0.468, 0.4865, 0.496, 0.4995, 0.5), computed outside qsparse.
  const std::vector<index_t> expected{55, 48, 43, 39, 36, 34, 33, 32, 32, 32};
  index_t kept_now = n;
  for (std::int64_t step = 1; step <= 1200; ++step) {
    const auto s = p.step(step, w.view(), mask.view());
    CHECK(s.mask_updated == (step % 100 == 0 && step <= 1000));
    if (s.mask_updated) kept_now = expected[static_cast<std::size_t>(step / 100 - 1)];
    // Whole columns, exactly the kept_now highest-norm ones; pruned columns' weights are zero.
    index_t kept_columns = 0;
    for (index_t c = 0; c < n; ++c) {
      const bool keep = rank[static_cast<std::size_t>(c)] >= n - kept_now;
      kept_columns += mask(0, c) != 0.0f;
      for (index_t r = 0; r < k; ++r) {
        CHECK((mask(r, c) != 0.0f) == keep);
        if (!keep) CHECK(w(r, c) == 0.0f);
      }
    }
    CHECK(kept_columns == kept_now);
    CHECK(s.kept == kept_now * k);
  }
  CHECK(kept_now == 32);
}

TEST_CASE("frozen_mask: computed once, then kept; a given mask is never recomputed", "[sparsity][pruner]") {
  const pruner<constant_sparsity, n_of_m<2, 4, -1>, frozen_mask> p(constant_sparsity(0.5, 0, -1, 1));
  auto w = qsparse::sparsity_testing::weights_with_ties(8 * 8, 2);
  std::vector<float> mask(w.size(), 1.0f);
  const auto wv = make_view(w.data(), 8, 8);
  const auto mv = make_view(mask.data(), 8, 8);
  auto s = p.step(1, wv, mv);
  CHECK(s.mask_updated);
  CHECK(s.target_sparsity == 0.5f);
  CHECK(is_n_of_m(mv, 2, 4, -1));
  const auto frozen = mask;
  for (auto& x : w) x = -x * 3.0f + 0.25f;  // the weights change; the mask must not
  s = p.step(2, wv, mv);
  CHECK_FALSE(s.mask_updated);
  CHECK(mask == frozen);
  CHECK(s.kept == 32);
  // A mask with zeros given from elsewhere (a checkpoint) is applied as it is.
  const pruner<constant_sparsity, magnitude, frozen_mask> q(constant_sparsity(0.9, 0, -1, 1));
  std::vector<float> given(64, 1.0f);
  given[5] = 0.0f;
  s = q.step(0, wv, make_view(given.data(), 8, 8));
  CHECK_FALSE(s.mask_updated);
  CHECK(s.kept == 63);
  CHECK(w[5] == 0.0f);
  // recompute_mask, by contrast, follows the weights
  const pruner<constant_sparsity, magnitude> r(constant_sparsity(0.9, 0, -1, 1));
  s = r.step(0, wv, make_view(given.data(), 8, 8));
  CHECK(s.mask_updated);
  CHECK(s.kept >= kept_count(64, 0.9f));
}

TEST_CASE("apply_mask, mask_gradient and strip select, never multiply", "[sparsity][pruner]") {
  const float inf = std::numeric_limits<float>::infinity(), nan = std::numeric_limits<float>::quiet_NaN();
  std::vector<float> w{inf, -2.0f, nan, 3.0f, -1.0f, 0.5f};
  const std::vector<std::uint8_t> mask{0, 1, 0, 1, 0, 1};
  const auto mv = make_view(mask.data(), 2, 3);
  const auto stripped = strip(make_view(static_cast<const float*>(w.data()), 2, 3), mv);
  CHECK(stripped(0, 0) == 0.0f);
  CHECK_FALSE(std::signbit(stripped(1, 1)));  // -1 pruned -> +0
  CHECK(stripped(0, 1) == -2.0f);
  CHECK(stripped(1, 2) == 0.5f);
  std::vector<float> g(w);
  mask_gradient(make_view(g.data(), 2, 3), mv);
  CHECK(apply_mask(make_view(w.data(), 2, 3), mv) == 3);
  for (const auto& v : {w, g}) {
    CHECK(qsparse::testing::to_bits(v[0]) == 0u);
    CHECK(qsparse::testing::to_bits(v[2]) == 0u);
    CHECK(qsparse::testing::to_bits(v[4]) == 0u);
    CHECK(v[1] == -2.0f);
    CHECK(v[3] == 3.0f);
    CHECK(v[5] == 0.5f);
  }
  // strip into a column-major output view
  std::vector<float> out(6, 7.0f);
  strip(make_view(static_cast<const float*>(w.data()), 2, 3), mv, make_strided_view(out.data(), {2, 3}, {1, 2}));
  CHECK(out == std::vector<float>{0, 3, -2, 0, 0, 0.5f});
}

TEST_CASE("pruner and helpers reject masks of the wrong shape", "[sparsity][pruner][errors]") {
  std::vector<float> w(12), m(12), g(12);
  const pruner<constant_sparsity> p(constant_sparsity(0.5, 0));
  CHECK(error_of([&] { p.step(0, make_view(w.data(), 3, 4), make_view(m.data(), 4, 3)); }) ==
        "qsparse::pruner::step: mask must have the shape of weights, got weights extents = [3, 4], mask extents = [4, 3]");
  CHECK(error_of([&] { apply_mask(make_view(w.data(), 12), make_view(m.data(), 11)); }) ==
        "qsparse::apply_mask: mask must have the shape of weights, got weights extents = [12], mask extents = [11]");
  CHECK(error_of([&] { mask_gradient(make_view(g.data(), 2, 6), make_view(m.data(), 6, 2)); }) ==
        "qsparse::mask_gradient: mask must have the shape of gradient, got gradient extents = [2, 6], mask extents = [6, 2]");
  CHECK(error_of([&] { strip(make_view(w.data(), 2, 6), make_view(m.data(), 2, 6), make_view(g.data(), 3, 4)); }) ==
        "qsparse::strip: out must have the shape of weights, got weights extents = [2, 6], out extents = [3, 4]");
  // Empty tensors are fine.
  CHECK(error_of([&] { p.step(0, make_view(w.data(), 0, 4), make_view(m.data(), 0, 4)); }) == "no error");
}

TEST_CASE("apply_mask, mask_gradient, fill_mask and count_nonzero agree on flat and strided views", "[sparsity][pruner]") {
  constexpr index_t rows = 5, cols = 7;
  const auto init = qsparse::sparsity_testing::weights_with_ties(rows * cols, 13);
  std::vector<std::uint8_t> mask(init.size());
  for (std::size_t i = 0; i < mask.size(); ++i) mask[i] = static_cast<std::uint8_t>((i * 7) % 3 != 0);
  // flat: both row-major
  auto flat = init;
  const index_t kept_flat = apply_mask(make_view(flat.data(), rows, cols), make_view(mask.data(), rows, cols));
  // strided: the same logical matrix stored column-major, the mask row-major
  std::vector<float> col(init.size());
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) col[static_cast<std::size_t>(c * rows + r)] = init[static_cast<std::size_t>(r * cols + c)];
  const auto col_view = make_strided_view(col.data(), {rows, cols}, {1, rows});
  const index_t kept_strided = apply_mask(col_view, make_view(mask.data(), rows, cols));
  CHECK(kept_flat == kept_strided);
  CHECK(kept_flat == count_nonzero(make_view(mask.data(), rows, cols)));
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c) CHECK(col_view(r, c) == flat[static_cast<std::size_t>(r * cols + c)]);
  CHECK(count_nonzero(col_view) == count_nonzero(make_view(flat.data(), rows, cols)));
  std::vector<float> g(init.size(), 1.0f);
  mask_gradient(make_strided_view(g.data(), {rows, cols}, {1, rows}), make_view(mask.data(), rows, cols));
  for (index_t r = 0; r < rows; ++r)
    for (index_t c = 0; c < cols; ++c)
      CHECK(g[static_cast<std::size_t>(c * rows + r)] == (mask[static_cast<std::size_t>(r * cols + c)] ? 1.0f : 0.0f));
  std::vector<float> ones(4, 0.0f);
  fill_mask(make_strided_view(ones.data(), {2, 2}, {1, 2}));
  CHECK(ones == std::vector<float>(4, 1.0f));
}
