// qsparse/sparsity/schedule.hpp — pruning schedules with TensorFlow Model Optimization's exact semantics.
//
// A schedule is a small value type; calling it with a training step returns whether the mask is
// updated at that step and the target sparsity (fraction of zeros) for it:
//
//   qsparse::polynomial_decay s(0.2, 0.8, /*begin_step=*/100, /*end_step=*/110, /*power=*/3, /*frequency=*/2);
//   auto d = s(102);              // d.should_prune == true, d.sparsity == 0.4928f
//
// Contract of a schedule type S (checked by is_schedule_v<S>): `S::name`, and a const call operator
// `s(std::int64_t step) -> schedule_point`. The pruner (qsparse/sparsity/pruner.hpp) takes any such type.
//
// Semantics (TF-MOT `pruning_schedule.py`, see docs/sparsity.md):
//   should_prune(step) = step >= begin AND (step <= end OR end < 0) AND (step - begin) mod frequency == 0
//     — both ends inclusive; the frequency is counted from begin; end_step = -1 prunes forever
//     (constant_sparsity only).
//   constant_sparsity: sparsity = float32(target) at every step.
//   polynomial_decay: p = min(1, max(0, float32(step - begin) / float32(end - begin)));
//     sparsity = float32(initial - final) * (1 - p)^power + float32(final), every operation in float32
//     as TF's graph computes it (the difference initial - final is taken in double, as Python does,
//     then converted). The power is the float32 power correctly rounded (computed in double); TF's
//     Eigen pow is within one ulp of it. The value is defined at every step, pruning step or not.
//     Where TF divides by zero (end == begin) qsparse defines p = 0 before begin and 1 from begin on.
//     This is TF-MOT called eagerly; polynomial_decay_tf_function is the same schedule inside tf.function
//     (how Keras fit runs it), where Grappler's rewrites change the last bits (see that class).
// Validation (qsparse::error naming the argument and its value): begin_step >= 0; end_step == -1 or
// end_step >= begin_step (end_step == -1 only for constant_sparsity); frequency > 0; every sparsity in
// [0, 1); power finite and >= 0 (TF does not check the power; a negative one leaves [0, 1)).
#pragma once

#include <cmath>
#include <cstdint>
#include <type_traits>

#include "qsparse/core/error.hpp"
#include "qsparse/core/unfused.hpp"

namespace qsparse {

/// What a schedule says about one step: update the mask or not, and the target sparsity.
struct schedule_point {
  bool should_prune = false;
  float sparsity = 0.0f;
};

namespace detail {

inline void check_sparsity_value(const char* function, const char* argument, double sparsity) {
  // Written so that NaN fails too.
  check(sparsity >= 0.0 && sparsity < 1.0, "qsparse::", function, ": ", argument, " must be in [0, 1), got ",
        argument, " = ", sparsity);
}

inline void check_schedule_steps(const char* function, std::int64_t begin_step, std::int64_t end_step,
                                 std::int64_t frequency, bool allow_forever) {
  check(begin_step >= 0, "qsparse::", function, ": begin_step must be >= 0, got begin_step = ", begin_step);
  if (allow_forever) {
    check(end_step == -1 || end_step >= 0, "qsparse::", function,
          ": end_step must be -1 (prune forever) or >= 0, got end_step = ", end_step);
  } else {
    check(end_step >= 0, "qsparse::", function, ": end_step must be >= 0 (-1, prune forever, is only for ",
          "constant_sparsity), got end_step = ", end_step);
  }
  check(end_step == -1 || end_step >= begin_step, "qsparse::", function,
        ": begin_step must be <= end_step, got begin_step = ", begin_step, ", end_step = ", end_step);
  check(frequency > 0, "qsparse::", function, ": frequency must be > 0, got frequency = ", frequency);
}

/// TF-MOT's `_should_prune_in_step`.
constexpr bool should_prune_in_step(std::int64_t step, std::int64_t begin_step, std::int64_t end_step,
                                    std::int64_t frequency) noexcept {
  if (step < begin_step) return false;  // also keeps step - begin_step from overflowing
  if (end_step >= 0 && step > end_step) return false;
  return (step - begin_step) % frequency == 0;  // non-negative, so % is floormod
}

}  // namespace detail

/// TF-MOT ConstantSparsity(target_sparsity, begin_step, end_step=-1, frequency=100).
class constant_sparsity {
 public:
  static constexpr const char* name = "constant_sparsity";

  /// Throws qsparse::error for a target outside [0, 1), begin_step < 0, end_step < begin_step (other
  /// than -1), or frequency <= 0.
  constant_sparsity(double target_sparsity, std::int64_t begin_step, std::int64_t end_step = -1,
                    std::int64_t frequency = 100)
      : target_(target_sparsity), begin_(begin_step), end_(end_step), frequency_(frequency) {
    detail::check_schedule_steps(name, begin_step, end_step, frequency, true);
    detail::check_sparsity_value(name, "target_sparsity", target_sparsity);
  }

  schedule_point operator()(std::int64_t step) const noexcept { return {should_prune(step), sparsity(step)}; }
  bool should_prune(std::int64_t step) const noexcept {
    return detail::should_prune_in_step(step, begin_, end_, frequency_);
  }
  /// float32(target_sparsity), at every step.
  float sparsity(std::int64_t /*step*/) const noexcept { return static_cast<float>(target_); }

  double target_sparsity() const noexcept { return target_; }
  std::int64_t begin_step() const noexcept { return begin_; }
  std::int64_t end_step() const noexcept { return end_; }
  std::int64_t frequency() const noexcept { return frequency_; }

 private:
  double target_;
  std::int64_t begin_;
  std::int64_t end_;
  std::int64_t frequency_;
};

/// TF-MOT PolynomialDecay(initial_sparsity, final_sparsity, begin_step, end_step, power=3, frequency=100).
class polynomial_decay {
 public:
  static constexpr const char* name = "polynomial_decay";

  /// Throws qsparse::error for a sparsity outside [0, 1), begin_step < 0, end_step < begin_step
  /// (end_step = -1 included), frequency <= 0, or a negative or non-finite power.
  polynomial_decay(double initial_sparsity, double final_sparsity, std::int64_t begin_step, std::int64_t end_step,
                   double power = 3, std::int64_t frequency = 100)
      : initial_(initial_sparsity),
        final_(final_sparsity),
        power_(power),
        begin_(begin_step),
        end_(end_step),
        frequency_(frequency) {
    detail::check_schedule_steps(name, begin_step, end_step, frequency, false);
    detail::check_sparsity_value(name, "initial_sparsity", initial_sparsity);
    detail::check_sparsity_value(name, "final_sparsity", final_sparsity);
    detail::check(std::isfinite(power) && power >= 0.0,
                  "qsparse::polynomial_decay: power must be finite and >= 0, got power = ", power);
  }

  schedule_point operator()(std::int64_t step) const noexcept { return {should_prune(step), sparsity(step)}; }
  bool should_prune(std::int64_t step) const noexcept {
    return detail::should_prune_in_step(step, begin_, end_, frequency_);
  }

  /// The sparsity at `step`, in float32 exactly as TF-MOT's graph computes it.
  float sparsity(std::int64_t step) const noexcept {
    float p;
    if (end_ == begin_) {
      p = step < begin_ ? 0.0f : 1.0f;  // TF divides by zero here; qsparse says the decay is over
    } else if (step <= begin_) {
      p = 0.0f;  // float32(step - begin) <= 0, clamped; also avoids overflow of step - begin
    } else {
      p = static_cast<float>(step - begin_) / static_cast<float>(end_ - begin_);
      p = p < 1.0f ? p : 1.0f;
    }
    const float one_minus_p = 1.0f - p;
    const auto decay = static_cast<float>(std::pow(static_cast<double>(one_minus_p), power_));
    const auto difference = static_cast<float>(initial_ - final_);
    // Two float32 operations, each rounded: the product is kept from being fused into the addition.
    return detail::product_not_fused(difference, decay) + static_cast<float>(final_);
  }

  double initial_sparsity() const noexcept { return initial_; }
  double final_sparsity() const noexcept { return final_; }
  double power() const noexcept { return power_; }
  std::int64_t begin_step() const noexcept { return begin_; }
  std::int64_t end_step() const noexcept { return end_; }
  std::int64_t frequency() const noexcept { return frequency_; }

 private:
  double initial_;
  double final_;
  double power_;
  std::int64_t begin_;
  std::int64_t end_;
  std::int64_t frequency_;
};

/// TF-MOT PolynomialDecay as Keras `fit` runs it: inside tf.function, where Grappler rewrites the graph.
/// Measured on TensorFlow 2.21 / TF-MOT 0.8.1 (tests/data/gen_tfmot_oracle.py), every step equal:
///   p = min(1, max(0, float32(step - begin) * float32(1 / float32(end - begin))))   (division → reciprocal)
///   x = 1 - p;  c = float32(initial - final);  d = float32(final)
///   power 3:  (c * x) * (x * x) + d        (pow(x, 3) → x * square(x), re-associated with c)
///   power 2:  c * (x * x) + d;  power 1: c * x + d;  power 0.5: c * sqrt(x) + d;  power 0: c + d
///   other:    c * pow(x, power) + d        (the scalar float32 pow, correctly rounded here)
/// every operation rounded to float32. polynomial_decay is the same schedule called eagerly (TF's
/// division and a correctly rounded pow), which the eager vectors match.
class polynomial_decay_tf_function : public polynomial_decay {
 public:
  static constexpr const char* name = "polynomial_decay_tf_function";
  using polynomial_decay::polynomial_decay;

  schedule_point operator()(std::int64_t step) const noexcept { return {should_prune(step), sparsity(step)}; }

  float sparsity(std::int64_t step) const noexcept {
    const std::int64_t begin = begin_step(), end = end_step();
    float p;
    if (end == begin) {
      p = step < begin ? 0.0f : 1.0f;
    } else if (step <= begin) {
      p = 0.0f;
    } else {
      const float reciprocal = 1.0f / static_cast<float>(end - begin);
      p = mul(static_cast<float>(step - begin), reciprocal);
      p = p < 1.0f ? p : 1.0f;
    }
    const float x = 1.0f - p;
    const auto c = static_cast<float>(initial_sparsity() - final_sparsity());
    const auto d = static_cast<float>(final_sparsity());
    const double e = power();
    float scaled;
    if (e == 3.0) {
      scaled = mul(mul(c, x), mul(x, x));
    } else if (e == 2.0) {
      scaled = mul(c, mul(x, x));
    } else if (e == 1.0) {
      scaled = mul(c, x);
    } else if (e == 0.5) {
      scaled = mul(c, std::sqrt(x));
    } else if (e == 0.0) {
      scaled = c;
    } else {
      scaled = mul(c, static_cast<float>(std::pow(static_cast<double>(x), e)));
    }
    return scaled + d;  // every path above rounds its product on its own
  }

 private:
  // One float32 product, rounded on its own (never contracted into an FMA with what follows).
  static float mul(float a, float b) noexcept { return detail::product_not_fused(a, b); }
};

namespace detail {
template <class S, class = void>
struct is_schedule : std::false_type {};
template <class S>
struct is_schedule<S, std::void_t<decltype(S::name), decltype(std::declval<const S&>()(std::int64_t{}))>>
    : std::is_same<decltype(std::declval<const S&>()(std::int64_t{})), schedule_point> {};
}  // namespace detail

/// True for a type honouring the schedule contract (name, and operator()(int64) -> schedule_point).
template <class S>
inline constexpr bool is_schedule_v = detail::is_schedule<S>::value;

}  // namespace qsparse
