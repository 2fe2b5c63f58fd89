// examples/demo/latency.hpp — latency measured so that machine load falls on every variant alike.
//
// Timing each variant in one block (300 runs of A, then 300 of B, …) lets a burst of load on a shared
// machine land on whichever variant runs at that moment: one row of the table then reads 30x its
// neighbours. Here every round times every variant once, in an order shuffled per round, and a variant's
// latency is the median over the rounds; the spread is half the interquartile range of the same samples.
//
//   sample_stats s = summarize(samples);      // median, p25, p75 (linear interpolation between ranks)
//   auto samples = interleaved_samples(n, rounds, seed, [&](std::size_t i) { return seconds_of(i); });
//   double x = paired_ratio(samples[a], samples[b]);   // a's time over b's, the median of the rounds' ratios
#pragma once

#include <algorithm>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <numeric>
#include <random>
#include <vector>

namespace demo {

struct sample_stats {
  double median = 0, p25 = 0, p75 = 0;
  /// Half the interquartile range: the "±" of the table.
  double half_iqr() const { return (p75 - p25) / 2; }
};

/// Quantile q in [0, 1] of sorted values, interpolating linearly between ranks (NumPy's default).
inline double quantile_sorted(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0.0;
  const double pos = q * static_cast<double>(sorted.size() - 1);
  const std::size_t lo = static_cast<std::size_t>(pos);
  const std::size_t hi = std::min(lo + 1, sorted.size() - 1);
  const double f = pos - static_cast<double>(lo);
  return sorted[lo] + (sorted[hi] - sorted[lo]) * f;
}

inline sample_stats summarize(std::vector<double> v) {
  std::sort(v.begin(), v.end());
  sample_stats s;
  s.median = quantile_sorted(v, 0.5);
  s.p25 = quantile_sorted(v, 0.25);
  s.p75 = quantile_sorted(v, 0.75);
  return s;
}

/// The median over the rounds of a[r] / b[r]: how many times b's time a's is, with each round's load on
/// both (samples of interleaved_samples; rounds where b took no time are left out, 0 when none is left).
inline double paired_ratio(const std::vector<double>& a, const std::vector<double>& b) {
  std::vector<double> r;
  for (std::size_t i = 0; i < std::min(a.size(), b.size()); ++i)
    if (b[i] > 0) r.push_back(a[i] / b[i]);
  return summarize(r).median;
}

/// The order in which each of `rounds` rounds visits variants 0..n-1: a fresh permutation per round.
inline std::vector<std::vector<std::size_t>> interleaved_schedule(std::size_t n, int rounds, std::uint32_t seed) {
  std::mt19937 rng(seed);
  std::vector<std::vector<std::size_t>> order(static_cast<std::size_t>(std::max(rounds, 0)));
  for (auto& r : order) {
    r.resize(n);
    std::iota(r.begin(), r.end(), std::size_t{0});
    std::shuffle(r.begin(), r.end(), rng);
  }
  return order;
}

/// samples[i][r] = measure(i) in round r, rounds run in the order of interleaved_schedule. `after_round`
/// (optional) is told how many rounds are done.
template <class Measure>
std::vector<std::vector<double>> interleaved_samples(std::size_t n, int rounds, std::uint32_t seed, Measure&& measure,
                                                     const std::function<void(int)>& after_round = {}) {
  std::vector<std::vector<double>> samples(n);
  for (auto& s : samples) s.reserve(static_cast<std::size_t>(std::max(rounds, 0)));
  int done = 0;
  for (const std::vector<std::size_t>& round : interleaved_schedule(n, rounds, seed)) {
    for (std::size_t i : round) samples[i].push_back(measure(i));
    ++done;
    if (after_round) after_round(done);
  }
  return samples;
}

}  // namespace demo
