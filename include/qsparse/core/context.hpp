// qsparse/core/context.hpp — where a kernel call may run its work: one thread (the default), a small
// header-only pool, or the caller's own parallel_for.
//
//   qsparse::context ctx;                          // one thread, no pool, no global state
//   qsparse::context ctx(qsparse::threads{4});     // a pool of 3 workers + the calling thread
//   qsparse::context ctx(my_parallel_for);         // the engine's scheduler:
//       void my_parallel_for(std::ptrdiff_t tasks, const qsparse::task_function& run_task);
//       // must call run_task(t) exactly once for every t in [0, tasks) and return when all are done
//
// Kernels cut their work into independent tasks whose results do not depend on which thread runs them
// or in which order, so every thread count gives bit-identical results. A context may be shared by
// threads that call kernels concurrently (on distinct outputs): the pool serves one call at a time and
// a call that finds it busy runs its tasks on its own thread instead of waiting.
#pragma once

#include <atomic>
#include <chrono>
#include <condition_variable>
#include <cstddef>
#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <utility>
#include <vector>

#include "qsparse/core/config.hpp"
#include "qsparse/core/error.hpp"

namespace qsparse {

/// The body of one task: called with the task index.
using task_function = std::function<void(std::ptrdiff_t)>;
/// A caller's scheduler: run task(t) for every t in [0, tasks) and return when all have finished.
using parallel_for_function = std::function<void(std::ptrdiff_t tasks, const task_function& task)>;

/// A thread count for context's constructor (>= 1).
struct threads {
  int count;
};

/// A fixed set of worker threads that run one parallel_for at a time; the calling thread works too.
/// A waiting thread (a worker between calls, the caller for the workers' last tasks) first spins for up
/// to spin_time, then sleeps on a condition variable: a sleeping thread takes tens of microseconds to
/// wake, more than many of the small calls a model makes last.
class thread_pool {
 public:
  /// `workers` threads besides the caller (>= 0).
  explicit thread_pool(int workers) {
    detail::check(workers >= 0, "qsparse::thread_pool: workers must be >= 0, got workers = ", workers);
    threads_.reserve(static_cast<std::size_t>(workers));
    for (int i = 0; i < workers; ++i) threads_.emplace_back([this] { work(); });
  }
  ~thread_pool() {
    {
      std::lock_guard<std::mutex> lock(mutex_);
      stop_ = true;
      stopping_.store(true, std::memory_order_release);
    }
    wake_.notify_all();
    for (std::thread& t : threads_) t.join();
  }
  thread_pool(const thread_pool&) = delete;
  thread_pool& operator=(const thread_pool&) = delete;

  int workers() const noexcept { return static_cast<int>(threads_.size()); }

  /// Runs task(t) for t in [0, tasks). If another call holds the pool, runs every task here.
  void parallel_for(std::ptrdiff_t tasks, const task_function& task) {
    if (tasks <= 0) return;
    std::unique_lock<std::mutex> busy(call_mutex_, std::try_to_lock);
    if (tasks == 1 || threads_.empty() || !busy.owns_lock()) {
      for (std::ptrdiff_t t = 0; t < tasks; ++t) task(t);
      return;
    }
    {
      std::lock_guard<std::mutex> lock(mutex_);
      task_ = &task;
      tasks_ = tasks;
      next_.store(0, std::memory_order_relaxed);
      open_ = true;
      ++generation_;
      published_.store(generation_, std::memory_order_release);
    }
    wake_.notify_all();
    run_tasks();
    // Every task is taken. Wait for the workers that joined this call to finish theirs; one that wakes
    // later finds the call closed and never touches `task` (a late wake-up on a busy machine would
    // otherwise hold the caller after all the work is done).
    {
      std::lock_guard<std::mutex> lock(mutex_);
      open_ = false;  // no worker joins from here on: active_ only falls
    }
    spin_until([this] { return active_.load(std::memory_order_acquire) == 0; });
    std::unique_lock<std::mutex> lock(mutex_);
    done_.wait(lock, [this] { return active_ == 0; });
    task_ = nullptr;
  }

  /// How long a waiting thread spins before it sleeps.
  static constexpr std::chrono::microseconds spin_time{100};

 private:
  void run_tasks() {
    for (;;) {
      const std::ptrdiff_t t = next_.fetch_add(1, std::memory_order_relaxed);
      if (t >= tasks_) return;
      (*task_)(t);
    }
  }

  /// Spins until done() or spin_time has passed; true when done().
  template <class F>
  static bool spin_until(F&& done) {
    const auto start = std::chrono::steady_clock::now();
    for (;;) {
      for (int i = 0; i < 64; ++i) {
        if (done()) return true;
#if QSPARSE_X86
        __builtin_ia32_pause();
#elif QSPARSE_AARCH64
        __asm__ __volatile__("yield");
#endif
      }
      if (std::chrono::steady_clock::now() - start > spin_time) return false;
    }
  }

  void work() {
    std::uint64_t seen = 0;
    for (;;) {
      spin_until([&] {
        return published_.load(std::memory_order_acquire) != seen || stopping_.load(std::memory_order_acquire);
      });
      {
        std::unique_lock<std::mutex> lock(mutex_);
        wake_.wait(lock, [&] { return stop_ || generation_ != seen; });
        if (stop_) return;
        seen = generation_;
        if (!open_) continue;  // the caller already took every task and returns without us
        ++active_;
      }
      run_tasks();
      bool last = false;
      {
        std::lock_guard<std::mutex> lock(mutex_);
        last = --active_ == 0 && !open_;
      }
      if (last) done_.notify_one();
    }
  }

  std::vector<std::thread> threads_;
  std::mutex call_mutex_;  // one parallel_for at a time
  std::mutex mutex_;
  std::condition_variable wake_;
  std::condition_variable done_;
  const task_function* task_ = nullptr;
  std::ptrdiff_t tasks_ = 0;
  std::atomic<std::ptrdiff_t> next_{0};
  std::atomic<int> active_{0};  // workers inside run_tasks of the current call (changed under mutex_)
  std::atomic<std::uint64_t> published_{0};  // generation_, for the spinning workers
  std::atomic<bool> stopping_{false};        // stop_, for the spinning workers
  bool open_ = false;  // the current call still takes workers
  std::uint64_t generation_ = 0;
  bool stop_ = false;
};

/// Where kernels run their tasks. Cheap to copy (the pool is shared between copies).
class context {
 public:
  /// One thread: every task runs on the calling thread.
  context() = default;

  /// `n.count` threads in all (the caller plus n.count - 1 pool workers); n.count >= 1.
  explicit context(threads n) {
    detail::check(n.count >= 1, "qsparse::context: thread count must be >= 1, got threads = ", n.count);
    if (n.count > 1) pool_ = std::make_shared<thread_pool>(n.count - 1);
    threads_ = n.count;
  }

  /// The caller's scheduler; `concurrency` is how many tasks it may run at once (a hint for how
  /// finely kernels cut their work, >= 1).
  explicit context(parallel_for_function parallel_for, int concurrency = 2)
      : parallel_for_(std::move(parallel_for)), threads_(concurrency) {
    detail::check(static_cast<bool>(parallel_for_), "qsparse::context: parallel_for must not be empty");
    detail::check(concurrency >= 1, "qsparse::context: concurrency must be >= 1, got concurrency = ", concurrency);
  }

  /// How many tasks may run at once.
  int concurrency() const noexcept { return threads_; }

  /// parallel_for for the library's own tasks: with one task or one thread they run in order on the
  /// calling thread, called directly (no task_function, no scheduler).
  template <class F>
  void run_tasks(std::ptrdiff_t tasks, F&& task) const {
    if (tasks == 1 || threads_ == 1) {
      for (std::ptrdiff_t t = 0; t < tasks; ++t) task(t);
    } else {
      parallel_for(tasks, task);
    }
  }

  /// Runs task(t) for every t in [0, tasks) and returns when all are done.
  void parallel_for(std::ptrdiff_t tasks, const task_function& task) const {
    if (tasks <= 0) return;
    if (parallel_for_) {
      parallel_for_(tasks, task);
    } else if (pool_ && tasks > 1) {
      pool_->parallel_for(tasks, task);
    } else {
      for (std::ptrdiff_t t = 0; t < tasks; ++t) task(t);
    }
  }

 private:
  std::shared_ptr<thread_pool> pool_;
  parallel_for_function parallel_for_;
  int threads_ = 1;
};

}  // namespace qsparse
