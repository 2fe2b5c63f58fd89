// Tests of the demo's own logic that is not training: latency statistics and their interleaving, the
// progress estimate, the output-folder check. The end-to-end run is the example_qsparse_demo_smoke test.
#include <catch2/catch.hpp>

#include <sys/stat.h>
#include <unistd.h>

#include <chrono>
#include <cstdlib>
#include <set>
#include <stdexcept>
#include <string>
#include <vector>

#include "latency.hpp"
#include "progress.hpp"

TEST_CASE("summarize: median and quartiles interpolate between ranks", "[demo][latency]") {
  const demo::sample_stats s = demo::summarize({5, 1, 4, 2, 3});
  CHECK(s.median == 3);
  CHECK(s.p25 == 2);
  CHECK(s.p75 == 4);
  CHECK(s.half_iqr() == 1);
  const demo::sample_stats e = demo::summarize({1, 2, 3, 10});
  CHECK(e.median == 2.5);
  CHECK(e.p25 == Approx(1.75));
  CHECK(e.p75 == Approx(4.75));
  CHECK(demo::summarize({}).median == 0);
}

TEST_CASE("interleaved_samples: every round times every variant once, in changing orders", "[demo][latency]") {
  const std::size_t n = 6;
  const int rounds = 20;
  std::vector<std::size_t> calls;
  int rounds_seen = 0;
  const auto samples = demo::interleaved_samples(n, rounds, 7, [&](std::size_t i) {
    calls.push_back(i);
    return static_cast<double>(i);
  }, [&](int done) { rounds_seen = done; });
  REQUIRE(calls.size() == n * static_cast<std::size_t>(rounds));
  CHECK(rounds_seen == rounds);
  std::set<std::vector<std::size_t>> orders;
  for (int r = 0; r < rounds; ++r) {
    std::vector<std::size_t> order(calls.begin() + r * static_cast<long>(n), calls.begin() + (r + 1) * static_cast<long>(n));
    CHECK(std::set<std::size_t>(order.begin(), order.end()).size() == n);  // a permutation
    orders.insert(order);
  }
  CHECK(orders.size() > 10);  // not one fixed order: load cannot follow a variant around
  for (std::size_t i = 0; i < n; ++i) {
    REQUIRE(samples[i].size() == static_cast<std::size_t>(rounds));
    for (double v : samples[i]) CHECK(v == static_cast<double>(i));
  }
}

TEST_CASE("progress_meter: the time left is extrapolated from the rate so far", "[demo][progress]") {
  const auto t0 = std::chrono::steady_clock::now();
  demo::progress_meter m(100, t0);
  CHECK(m.seconds_left(t0 + std::chrono::seconds(5)) < 0);  // no estimate before any work
  CHECK(m.status(t0 + std::chrono::seconds(5)) == "0 % done");
  CHECK(m.add(25) == 0.25);
  CHECK(m.seconds_left(t0 + std::chrono::seconds(10)) == Approx(30));
  CHECK(m.status(t0 + std::chrono::seconds(10)) == "25 % done, ~30 s left");
  m.add(75);
  CHECK(m.seconds_left(t0 + std::chrono::seconds(40)) == 0);
  CHECK(demo::format_duration(44.6) == "45 s");
  CHECK(demo::format_duration(130) == "2 min 10 s");
  CHECK(demo::format_duration(3900) == "1 h 05 min");
}

TEST_CASE("ensure_writable_dir: creates the folder, or says why it cannot, before any work", "[demo][progress]") {
  char tmpl[] = "/tmp/qsparse_demo_test_XXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string root = tmpl;
  const std::string nested = root + "/a/b/";
  CHECK_NOTHROW(demo::ensure_writable_dir(nested));
  struct stat st{};
  CHECK(stat((root + "/a/b").c_str(), &st) == 0);
  CHECK(stat((root + "/a/b/.qsparse_demo_write_test").c_str(), &st) != 0);  // the probe is gone
  CHECK_THROWS_WITH(demo::ensure_writable_dir("/dev/null/out"), Catch::Contains("/dev/null/out (--out)"));
  CHECK_THROWS_WITH(demo::ensure_writable_dir(""), Catch::Contains("--out"));
  rmdir((root + "/a/b").c_str());
  rmdir((root + "/a").c_str());
  rmdir(root.c_str());
}
