// The time each step of one operation took, for one debug line per container
// start or removal: where docker run's milliseconds go, read from the logs
// of a live engine.
#pragma once

#include <chrono>
#include <string>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_format.h"

namespace berth::runtimed {

class PhaseClock {
 public:
  PhaseClock() : start_(Clock::now()), last_(start_) {}

  // Ends the step that began at the previous Mark (or construction).
  void Mark(const char* step) {
    const Clock::time_point now = Clock::now();
    absl::StrAppend(&summary_, summary_.empty() ? "" : ", ", step, " ",
                    absl::StrFormat("%.1f", Millis(now - last_)));
    last_ = now;
  }

  // "step a 1.2, step b 0.3 (total 1.5 ms)".
  std::string Summary() const {
    return absl::StrCat(summary_, " (total ",
                        absl::StrFormat("%.1f", Millis(Clock::now() - start_)), " ms)");
  }

 private:
  using Clock = std::chrono::steady_clock;
  static double Millis(Clock::duration d) {
    return std::chrono::duration<double, std::milli>(d).count();
  }
  Clock::time_point start_;
  Clock::time_point last_;
  std::string summary_;
};

}  // namespace berth::runtimed
