// examples/demo/progress.hpp — progress lines with an estimate of the time left, and the output folder
// checked before any work.
//
//   progress_meter m(total_units);          // one per phase (float training, fine-tuning, …)
//   m.add(units) → fraction done            // thread-safe; jobs running in parallel share one meter
//   m.eta_text() → "~2 min 10 s left"        // elapsed · (total − done) / done, once anything is done
//   ensure_writable_dir(path)               // mkdir -p, then a probe file; throws with the reason
#pragma once

#include <sys/stat.h>

#include <cerrno>
#include <chrono>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <mutex>
#include <stdexcept>
#include <string>

namespace demo {

/// "45 s", "2 min 10 s", "1 h 05 min".
inline std::string format_duration(double seconds) {
  if (!(seconds >= 0) || !std::isfinite(seconds)) return "?";
  const long s = std::lround(seconds);
  char buf[48];
  if (s < 60) std::snprintf(buf, sizeof buf, "%ld s", s);
  else if (s < 3600) std::snprintf(buf, sizeof buf, "%ld min %02ld s", s / 60, s % 60);
  else std::snprintf(buf, sizeof buf, "%ld h %02ld min", s / 3600, (s % 3600) / 60);
  return buf;
}

/// Work done out of a known total, from which the time left is extrapolated at the rate so far.
class progress_meter {
 public:
  using clock = std::chrono::steady_clock;

  explicit progress_meter(double total, clock::time_point start = clock::now()) : total_(total), start_(start) {}

  /// Adds `units` of finished work; returns the fraction done.
  double add(double units) {
    std::lock_guard<std::mutex> lock(mu_);
    done_ += units;
    return total_ > 0 ? std::min(1.0, done_ / total_) : 1.0;
  }

  double fraction() const {
    std::lock_guard<std::mutex> lock(mu_);
    return total_ > 0 ? std::min(1.0, done_ / total_) : 1.0;
  }

  /// Seconds left at the average rate so far (negative: nothing done yet, no estimate).
  double seconds_left(clock::time_point now = clock::now()) const {
    std::lock_guard<std::mutex> lock(mu_);
    if (done_ <= 0) return -1;
    const double elapsed = std::chrono::duration<double>(now - start_).count();
    return std::max(0.0, elapsed * (total_ - done_) / done_);
  }

  /// "37 % done, ~2 min 10 s left" (or without the estimate before anything is done).
  std::string status(clock::time_point now = clock::now()) const {
    const double left = seconds_left(now);
    char pct[16];
    std::snprintf(pct, sizeof pct, "%.0f %%", 100 * fraction());
    return std::string(pct) + " done" + (left < 0 ? std::string() : ", ~" + format_duration(left) + " left");
  }

 private:
  mutable std::mutex mu_;
  double total_, done_ = 0;
  clock::time_point start_;
};

/// Creates `path` (and its parents) if needed and checks a file can be written there, before the long
/// work; throws std::runtime_error naming the folder and the reason otherwise.
inline void ensure_writable_dir(const std::string& path) {
  if (path.empty()) throw std::runtime_error("the output folder (--out) is empty");
  for (std::size_t pos = 1; pos != std::string::npos;) {
    pos = path.find('/', pos);
    const std::string prefix = path.substr(0, pos);
    if (pos != std::string::npos) ++pos;
    if (prefix.empty() || prefix.back() == '/') continue;
    if (::mkdir(prefix.c_str(), 0755) != 0 && errno != EEXIST)
      throw std::runtime_error("cannot create the output folder " + path + " (--out): " + prefix + ": " + std::strerror(errno));
  }
  struct stat st{};
  if (::stat(path.c_str(), &st) != 0 || !S_ISDIR(st.st_mode))
    throw std::runtime_error("the output folder " + path + " (--out) is not a folder");
  const std::string probe = path + "/.qsparse_demo_write_test";
  std::FILE* f = std::fopen(probe.c_str(), "wb");
  if (f == nullptr) throw std::runtime_error("cannot write in the output folder " + path + " (--out): " + std::strerror(errno));
  const bool ok = std::fputs("ok\n", f) >= 0;
  const bool closed = std::fclose(f) == 0;
  std::remove(probe.c_str());
  if (!ok || !closed) throw std::runtime_error("cannot write in the output folder " + path + " (--out)");
}

}  // namespace demo
