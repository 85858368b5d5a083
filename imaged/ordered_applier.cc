#include "imaged/ordered_applier.h"

#include <algorithm>
#include <atomic>
#include <exception>
#include <thread>

namespace berth::imaged {

absl::Status RunConcurrently(size_t count, int workers,
                             const std::function<absl::Status(size_t index)>& fn) {
  std::atomic<size_t> next{0};
  std::mutex mutex;
  absl::Status first_error;
  std::exception_ptr exception;
  std::atomic<bool> failed{false};
  auto work = [&] {
    while (!failed) {
      size_t index = next++;
      if (index >= count) return;
      absl::Status status;
      try {
        status = fn(index);
      } catch (...) {
        // Rethrown in the caller's thread: an exception leaving a
        // std::thread would terminate the process.
        std::lock_guard<std::mutex> lock(mutex);
        if (exception == nullptr) exception = std::current_exception();
        failed = true;
        return;
      }
      if (!status.ok()) {
        std::lock_guard<std::mutex> lock(mutex);
        if (first_error.ok()) first_error = status;
        failed = true;
      }
    }
  };
  size_t threads = std::min<size_t>(count, static_cast<size_t>(std::max(workers, 1)));
  std::vector<std::thread> pool;
  for (size_t i = 1; i < threads; ++i) pool.emplace_back(work);
  work();
  for (std::thread& thread : pool) thread.join();
  if (exception != nullptr) std::rethrow_exception(exception);
  return first_error;
}

int ApplyWorkers(int configured, int limit) {
  if (configured > 0) return configured;
  return std::max(1, std::min(limit, static_cast<int>(std::thread::hardware_concurrency())));
}

OrderedApplier::OrderedApplier(size_t count, int workers)
    : workers_(std::max(workers, 1)), ready_(count, false), applied_(count, false) {}

void OrderedApplier::SetReady(size_t index) {
  std::lock_guard<std::mutex> lock(mutex_);
  ready_.at(index) = true;
  changed_.notify_all();
}

void OrderedApplier::SetAllReady() {
  std::lock_guard<std::mutex> lock(mutex_);
  ready_.assign(ready_.size(), true);
  changed_.notify_all();
}

void OrderedApplier::EndInput() {
  std::lock_guard<std::mutex> lock(mutex_);
  input_ended_ = true;
  changed_.notify_all();
}

void OrderedApplier::Stop() {
  std::lock_guard<std::mutex> lock(mutex_);
  if (applied_count_ < applied_.size()) stopped_ = true;
  changed_.notify_all();
}

bool OrderedApplier::stopped() {
  std::lock_guard<std::mutex> lock(mutex_);
  return stopped_;
}

bool OrderedApplier::apply_failed() {
  std::lock_guard<std::mutex> lock(mutex_);
  return !apply_error_.ok();
}

absl::Status OrderedApplier::WaitForApplied(size_t index) {
  std::unique_lock<std::mutex> lock(mutex_);
  changed_.wait(lock, [&] { return applied_[index] || stopped_; });
  if (applied_[index]) return absl::OkStatus();
  return absl::AbortedError("a layer below was not applied");
}

absl::Status OrderedApplier::ApplyOne(const ApplyFn& apply, size_t index) {
  {
    std::unique_lock<std::mutex> lock(mutex_);
    changed_.wait(lock, [&] { return ready_[index] || input_ended_ || stopped_; });
    if (!ready_[index] || stopped_) {
      // The input failed (its error is the caller's) or another layer did.
      stopped_ = true;
      changed_.notify_all();
      return absl::AbortedError("the layers' applies were stopped");
    }
  }
  std::function<absl::Status()> wait_for_parent;
  if (index > 0) wait_for_parent = [this, index] { return WaitForApplied(index - 1); };
  absl::Status status;
  try {
    status = apply(index, std::move(wait_for_parent));
  } catch (...) {
    // Layers waiting for this one must not wait forever.
    Stop();
    throw;
  }
  std::lock_guard<std::mutex> lock(mutex_);
  if (!status.ok()) {
    // Failures after the first are its consequences (a parent given up on).
    if (!stopped_) apply_error_ = status;
    stopped_ = true;
  } else {
    applied_[index] = true;
    ++applied_count_;
  }
  changed_.notify_all();
  return status;
}

absl::Status OrderedApplier::Run(const ApplyFn& apply) {
  absl::Status run = RunConcurrently(applied_.size(), workers_,
                                     [&](size_t index) { return ApplyOne(apply, index); });
  std::lock_guard<std::mutex> lock(mutex_);
  if (applied_count_ == applied_.size()) return absl::OkStatus();
  if (!apply_error_.ok()) return apply_error_;
  if (!run.ok()) return run;
  return absl::AbortedError("the layers' applies were stopped");
}

}  // namespace berth::imaged
