// Runs the calling thread as a batch thread (SCHED_BATCH) for as long as the
// object lives: a thread whose wake-ups do not preempt the thread running on
// its CPU. For work that should wait for the CPU rather than take it from a
// client (the apiserver reading a build's upload) or from the answer being
// written (imaged marking cache entries used).
#pragma once

#include <pthread.h>
#include <sched.h>

namespace berth {

class ScopedBatchPriority {
 public:
  ScopedBatchPriority() {
    struct sched_param param = {};
    batch_ = pthread_setschedparam(pthread_self(), SCHED_BATCH, &param) == 0;
  }
  ~ScopedBatchPriority() {
    struct sched_param param = {};
    if (batch_) pthread_setschedparam(pthread_self(), SCHED_OTHER, &param);
  }
  ScopedBatchPriority(const ScopedBatchPriority&) = delete;
  ScopedBatchPriority& operator=(const ScopedBatchPriority&) = delete;

  // False when the policy could not be set (the thread runs as before).
  bool batch() const { return batch_; }

 private:
  bool batch_ = false;
};

}  // namespace berth
