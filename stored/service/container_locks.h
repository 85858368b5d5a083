// One lock per container, held while a copy works in a view it mounted
// itself (a stopped container's overlay, mounted again in the helper's
// private namespace) and while the container's root filesystem is mounted
// for a start or removed. Docker holds the container's lock for a copy the
// same way: a start waits for the copy instead of mounting the same overlay
// upper directory twice, which the kernel leaves undefined.
#pragma once

#include <condition_variable>
#include <memory>
#include <mutex>
#include <set>
#include <string>

namespace berth::stored {

class ContainerLocks {
 public:
  class Held {
   public:
    Held(ContainerLocks* locks, std::string id) : locks_(locks), id_(std::move(id)) {}
    ~Held() { locks_->Release(id_); }
    Held(const Held&) = delete;
    Held& operator=(const Held&) = delete;

   private:
    ContainerLocks* locks_;
    std::string id_;
  };

  // Waits while another holds the lock of container_id.
  std::unique_ptr<Held> Lock(const std::string& container_id) {
    std::unique_lock<std::mutex> lock(mu_);
    released_.wait(lock, [&] { return held_.count(container_id) == 0; });
    held_.insert(container_id);
    return std::make_unique<Held>(this, container_id);
  }

  bool IsHeld(const std::string& container_id) {
    std::lock_guard<std::mutex> lock(mu_);
    return held_.count(container_id) > 0;
  }

 private:
  void Release(const std::string& container_id) {
    {
      std::lock_guard<std::mutex> lock(mu_);
      held_.erase(container_id);
    }
    released_.notify_all();
  }

  std::mutex mu_;
  std::condition_variable released_;
  std::set<std::string> held_;
};

}  // namespace berth::stored
