#include "stored/service/trash_reaper.h"

#include "common/fs.h"
#include "common/log.h"

namespace berth::stored {

TrashReaper::TrashReaper() : worker_([this] { Run(); }) {}

TrashReaper::~TrashReaper() {
  {
    std::lock_guard<std::mutex> lock(mu_);
    stop_ = true;
  }
  cv_.notify_all();
  worker_.join();
}

void TrashReaper::Reap(std::string path) {
  {
    std::lock_guard<std::mutex> lock(mu_);
    queue_.push_back(std::move(path));
  }
  cv_.notify_all();
}

void TrashReaper::Drain() {
  std::unique_lock<std::mutex> lock(mu_);
  cv_.wait(lock, [&] { return queue_.empty() && !busy_; });
}

void TrashReaper::Run() {
  std::unique_lock<std::mutex> lock(mu_);
  for (;;) {
    cv_.wait(lock, [&] { return stop_ || !queue_.empty(); });
    if (queue_.empty()) return;  // stopping, and nothing is left
    std::string path = std::move(queue_.front());
    queue_.pop_front();
    busy_ = true;
    lock.unlock();
    // A failure leaves the directory in tmp/ for the next startup.
    if (absl::Status status = RemoveAll(path); !status.ok()) {
      spdlog::warn("cannot delete {}: {}", path, status.ToString());
    }
    lock.lock();
    busy_ = false;
    cv_.notify_all();
  }
}

}  // namespace berth::stored
