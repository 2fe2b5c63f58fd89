#include "qsparse/sparsity/schedule.hpp"

#include <catch2/catch.hpp>
#include <cstdint>
#include <cstring>
#include <limits>
#include <string>

#include "support/testing.hpp"

using namespace qsparse;
using qsparse::testing::error_of;
using qsparse::testing::to_bits;

static_assert(is_schedule_v<constant_sparsity> && is_schedule_v<polynomial_decay>);
static_assert(!is_schedule_v<int> && !is_schedule_v<schedule_point>);

TEST_CASE("schedules prune only inside [begin_step, end_step], both ends inclusive", "[sparsity][schedule]") {
  // TF-MOT testPrunesOnlyInBeginEndStepRange: begin 100, end 200, frequency 1.
  const constant_sparsity c(0.5, 100, 200, 1);
  const polynomial_decay p(0.2, 0.8, 100, 200, 3, 1);
  for (std::int64_t step : {99, 100, 101, 150, 199, 200, 201, 0, -1, -100}) {
    const bool expected = step >= 100 && step <= 200;
    INFO("step " << step);
    CHECK(c(step).should_prune == expected);
    CHECK(p(step).should_prune == expected);
  }
}

TEST_CASE("the frequency is counted from begin_step", "[sparsity][schedule]") {
  // TF-MOT testOnlyPrunesAtValidFrequencySteps: begin 100, frequency 10.
  const constant_sparsity c(0.5, 100, 200, 10);
  const polynomial_decay p(0.2, 0.8, 100, 200, 3, 10);
  for (std::int64_t step : {100, 110, 190, 200}) {
    CHECK(c(step).should_prune);
    CHECK(p(step).should_prune);
  }
  for (std::int64_t step : {90, 99, 101, 109, 111, 199, 210}) {
    CHECK_FALSE(c(step).should_prune);
    CHECK_FALSE(p(step).should_prune);
  }
  // end_step is an upper bound only: with begin 0, end 15, frequency 10 the last pruning step is 10.
  const constant_sparsity bound(0.5, 0, 15, 10);
  CHECK(bound.should_prune(0));
  CHECK(bound.should_prune(10));
  CHECK_FALSE(bound.should_prune(15));
  CHECK_FALSE(bound.should_prune(20));
}

TEST_CASE("end_step = -1 prunes forever", "[sparsity][schedule]") {
  // TF-MOT testPrunesForeverIfEndStepIsNegativeOne: ConstantSparsity(0.5, 0, -1, 10).
  const constant_sparsity c(0.5, 0, -1, 10);
  CHECK(c(10000).should_prune);
  CHECK(c(100000000).should_prune);
  CHECK_FALSE(c(100000001).should_prune);
  CHECK(c(std::numeric_limits<std::int64_t>::max() - 7).should_prune);  // 2^63 - 8 is a multiple of 10
  CHECK_FALSE(c(std::numeric_limits<std::int64_t>::max()).should_prune);
  CHECK_FALSE(c(std::numeric_limits<std::int64_t>::min()).should_prune);
  // Defaults: end_step -1, frequency 100.
  const constant_sparsity d(0.5, 0);
  CHECK(d.end_step() == -1);
  CHECK(d.frequency() == 100);
  CHECK(d(100).should_prune);
  CHECK_FALSE(d(50).should_prune);
}

TEST_CASE("constant_sparsity returns float32(target) at every step", "[sparsity][schedule]") {
  const constant_sparsity c(0.2, 10, 20, 5);
  for (std::int64_t step : {0, 10, 12, 20, 1000}) CHECK(to_bits(c(step).sparsity) == to_bits(0.2f));
  CHECK(c.target_sparsity() == 0.2);
  CHECK(to_bits(constant_sparsity(0.0, 0).sparsity(0)) == to_bits(0.0f));
}

TEST_CASE("polynomial_decay gives TF-MOT's float32 values exactly", "[sparsity][schedule]") {
  // TF-MOT testPolynomialDecay_PrunesCorrectly: PolynomialDecay(0.2, 0.8, 100, 110, 3, 2), compared
  // with assertAllClose upstream; here bit for bit with what TF's float32 graph computes:
  // float32(0.2 - 0.8) * 1 + float32(0.8) at step 100 is 0.19999999 (one ulp below 0.2f).
  const polynomial_decay p(0.2, 0.8, 100, 110, 3, 2);
  CHECK(to_bits(p(100).sparsity) == to_bits(0x1.999998p-3f));
  CHECK(to_bits(p(102).sparsity) == to_bits(0.4928f));
  CHECK(to_bits(p(105).sparsity) == to_bits(0.725f));
  CHECK(to_bits(p(110).sparsity) == to_bits(0.8f));
  CHECK(p(100).should_prune);
  CHECK(p(102).should_prune);
  CHECK_FALSE(p(105).should_prune);  // not a pruning step, but its sparsity is defined
  CHECK(p(110).should_prune);
  // Clamped to initial before begin and to final after end.
  CHECK(to_bits(p(0).sparsity) == to_bits(0x1.999998p-3f));
  CHECK(to_bits(p(-5).sparsity) == to_bits(0x1.999998p-3f));
  CHECK(to_bits(p(111).sparsity) == to_bits(0.8f));
  CHECK(to_bits(p(std::numeric_limits<std::int64_t>::max()).sparsity) == to_bits(0.8f));
  CHECK(to_bits(p(std::numeric_limits<std::int64_t>::min()).sparsity) == to_bits(0x1.999998p-3f));
  // Every step in between: float32 operations in TF's order (power correctly rounded).
  for (std::int64_t step = 100; step <= 110; ++step) {
    const float q = static_cast<float>(step - 100) / 10.0f;
    const float decay = static_cast<float>(std::pow(static_cast<double>(1.0f - q), 3.0));
    const volatile float product = -0.6f * decay;
    const float expected = product + 0.8f;
    INFO("step " << step);
    CHECK(to_bits(p(step).sparsity) == to_bits(expected));
  }
  // Sparsity rises monotonically from initial to final.
  float previous = 0.0f;
  for (std::int64_t step = 90; step <= 120; ++step) {
    CHECK(p(step).sparsity >= previous);
    previous = p(step).sparsity;
  }
  // Defaults: power 3, frequency 100.
  const polynomial_decay d(0.0, 0.5, 0, 1000);
  CHECK(d.power() == 3.0);
  CHECK(d.frequency() == 100);
  CHECK(to_bits(d(500).sparsity) == to_bits(0.4375f));  // 0.5 - 0.5 * 0.5^3
}

TEST_CASE("polynomial_decay with end_step == begin_step jumps to the final sparsity", "[sparsity][schedule]") {
  const polynomial_decay p(0.1, 0.5, 7, 7, 3, 1);
  CHECK(to_bits(p(6).sparsity) == to_bits(static_cast<float>(0.1 - 0.5) + 0.5f));
  CHECK(to_bits(p(7).sparsity) == to_bits(0.5f));
  CHECK(to_bits(p(8).sparsity) == to_bits(0.5f));
  CHECK(p(7).should_prune);
  CHECK_FALSE(p(8).should_prune);
  // power 0: constant at the initial sparsity (1 - p)^0 = 1, including p = 1.
  const polynomial_decay flat(0.3, 0.6, 0, 10, 0, 1);
  CHECK(to_bits(flat(10).sparsity) == to_bits(static_cast<float>(0.3 - 0.6) + 0.6f));
}

TEST_CASE("schedules reject invalid arguments, naming them", "[sparsity][schedule][errors]") {
  CHECK(error_of([] { constant_sparsity(1.0, 0); }) ==
        "qsparse::constant_sparsity: target_sparsity must be in [0, 1), got target_sparsity = 1");
  CHECK(error_of([] { constant_sparsity(-0.1, 0); }) ==
        "qsparse::constant_sparsity: target_sparsity must be in [0, 1), got target_sparsity = -0.1");
  CHECK(error_of([] { constant_sparsity(std::nan(""), 0); }).find("target_sparsity = nan") != std::string::npos);
  CHECK(error_of([] { constant_sparsity(0.5, -1); }) ==
        "qsparse::constant_sparsity: begin_step must be >= 0, got begin_step = -1");
  CHECK(error_of([] { constant_sparsity(0.5, 10, 5); }) ==
        "qsparse::constant_sparsity: begin_step must be <= end_step, got begin_step = 10, end_step = 5");
  CHECK(error_of([] { constant_sparsity(0.5, 0, -2); }) ==
        "qsparse::constant_sparsity: end_step must be -1 (prune forever) or >= 0, got end_step = -2");
  CHECK(error_of([] { constant_sparsity(0.5, 0, -1, 0); }) ==
        "qsparse::constant_sparsity: frequency must be > 0, got frequency = 0");
  CHECK(error_of([] { constant_sparsity(0.5, 0, -1, -3); }) ==
        "qsparse::constant_sparsity: frequency must be > 0, got frequency = -3");
  CHECK(error_of([] { constant_sparsity(0.0, 0, 0, 1); }) == "no error");  // 0 and end == begin accepted
  CHECK(error_of([] { polynomial_decay(0.2, 0.8, 0, -1); }) ==
        "qsparse::polynomial_decay: end_step must be >= 0 (-1, prune forever, is only for constant_sparsity), "
        "got end_step = -1");
  CHECK(error_of([] { polynomial_decay(0.2, 1.0, 0, 10); }) ==
        "qsparse::polynomial_decay: final_sparsity must be in [0, 1), got final_sparsity = 1");
  CHECK(error_of([] { polynomial_decay(1.5, 0.5, 0, 10); }) ==
        "qsparse::polynomial_decay: initial_sparsity must be in [0, 1), got initial_sparsity = 1.5");
  CHECK(error_of([] { polynomial_decay(0.2, 0.8, 20, 10); }) ==
        "qsparse::polynomial_decay: begin_step must be <= end_step, got begin_step = 20, end_step = 10");
  CHECK(error_of([] { polynomial_decay(0.2, 0.8, 0, 10, 3, 0); }) ==
        "qsparse::polynomial_decay: frequency must be > 0, got frequency = 0");
  CHECK(error_of([] { polynomial_decay(0.2, 0.8, 0, 10, -1); }) ==
        "qsparse::polynomial_decay: power must be finite and >= 0, got power = -1");
  CHECK(error_of([] { polynomial_decay(0.2, 0.8, 5, 5); }) == "no error");
}

namespace tfmot_oracle {
#include "data/tfmot_oracle_vectors.inc"
}

TEST_CASE("polynomial_decay equals TF-MOT called eagerly, polynomial_decay_tf_function equals it inside tf.function",
          "[schedule][tfmot_oracle]") {
  using namespace tfmot_oracle;
  int n = 0, eager_graph_differ = 0, ulp_off = 0;
  for (const auto& c : tfmot_polynomial_decay_configs) {
    const qsparse::polynomial_decay eager(c.initial_sparsity, c.final_sparsity, c.begin_step, c.end_step, c.power, 1);
    const qsparse::polynomial_decay_tf_function graph(c.initial_sparsity, c.final_sparsity, c.begin_step, c.end_step,
                                                      c.power, 1);
    for (int i = 0; i < c.count; ++i) {
      const std::int64_t step = c.first_step + i;
      INFO("PolynomialDecay(" << c.initial_sparsity << ", " << c.final_sparsity << ", " << c.begin_step << ", "
                              << c.end_step << ", " << c.power << ") step " << step);
      std::uint32_t e, g;
      const float ev = eager.sparsity(step), gv = graph.sparsity(step);
      std::memcpy(&e, &ev, 4);
      std::memcpy(&g, &gv, 4);
      const std::uint32_t te = tfmot_polynomial_decay_eager[c.offset + i];
      const std::uint32_t tg = tfmot_polynomial_decay_graph[c.offset + i];
      const bool special_power = c.power == 0.0 || c.power == 0.5 || c.power == 1.0 || c.power == 2.0 || c.power == 3.0;
      if (special_power) {  // exact arithmetic on both sides: bit for bit
        CHECK(e == te);
        CHECK(g == tg);
      } else {  // TF's float32 pow is glibc's powf (< 1 ulp, not correctly rounded): the stated bound
        CHECK((e > te ? e - te : te - e) <= 1);
        CHECK((g > tg ? g - tg : tg - g) <= 1);
      }
      ulp_off += (e != te) + (g != tg);
      eager_graph_differ += tfmot_polynomial_decay_eager[c.offset + i] != tfmot_polynomial_decay_graph[c.offset + i];
      ++n;
    }
  }
  CHECK(n == 5626);
  CHECK(eager_graph_differ > 0);
  CHECK(ulp_off <= 2);  // measured: one step of power 1.5, in both modes (5625 / 5626 each)
}
