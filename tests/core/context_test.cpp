// tests/core/context_test.cpp — qsparse::context: thread counts, the caller's scheduler, run_tasks.
#include <atomic>
#include <cstddef>
#include <vector>

#include <catch2/catch.hpp>

#include "qsparse/core/context.hpp"

using namespace qsparse;

TEST_CASE("context: run_tasks runs every task once, inline for one task or one thread", "[core][context]") {
  // One thread: in order on the calling thread.
  std::vector<std::ptrdiff_t> order;
  context{}.run_tasks(5, [&](std::ptrdiff_t t) { order.push_back(t); });
  CHECK(order == std::vector<std::ptrdiff_t>{0, 1, 2, 3, 4});

  // A caller's scheduler is asked for several tasks, not for one.
  int scheduled = 0;
  context caller(
      [&](std::ptrdiff_t n, const task_function& f) {
        ++scheduled;
        for (std::ptrdiff_t i = n; i-- > 0;) f(i);
      },
      2);
  order.clear();
  caller.run_tasks(3, [&](std::ptrdiff_t t) { order.push_back(t); });
  CHECK(scheduled == 1);
  CHECK(order == std::vector<std::ptrdiff_t>{2, 1, 0});
  caller.run_tasks(1, [&](std::ptrdiff_t t) { order.push_back(10 + t); });
  CHECK(scheduled == 1);
  CHECK(order.back() == 10);

  // A pool: every task exactly once.
  std::vector<std::atomic<int>> hits(100);
  context(threads{3}).run_tasks(100, [&](std::ptrdiff_t t) { ++hits[static_cast<std::size_t>(t)]; });
  for (const auto& h : hits) CHECK(h.load() == 1);
  int none = 0;
  context(threads{2}).run_tasks(0, [&](std::ptrdiff_t) { ++none; });
  CHECK(none == 0);
}
