// Test helpers: network namespaces made by unshare, for tests tagged local.
#pragma once

#include <sched.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <condition_variable>
#include <deque>
#include <functional>
#include <future>
#include <mutex>
#include <string>
#include <thread>

#include "common/unique_fd.h"
#include "tests/netd/test_util.h"

namespace berth::netd::dns {

using testing::EnterPrivateNetns;
using testing::LoopbackUp;

// A thread living in a new network namespace, running what it is given.
class ContainerNetns {
 public:
  ContainerNetns() {
    std::promise<std::string> path;
    thread_ = std::thread([this, &path] {
      const bool ok = unshare(CLONE_NEWNET) == 0 && LoopbackUp();
      path.set_value(ok ? "/proc/self/task/" + std::to_string(syscall(SYS_gettid)) + "/ns/net"
                        : "");
      std::unique_lock<std::mutex> lock(mu_);
      while (true) {
        cv_.wait(lock, [&] { return !work_.empty(); });
        std::function<bool()> fn = std::move(work_.front());
        work_.pop_front();
        lock.unlock();
        const bool more = fn();
        lock.lock();
        if (!more) return;
      }
    });
    path_ = path.get_future().get();
    REQUIRE(!path_.empty());
  }
  ~ContainerNetns() {
    Post([] { return false; });
    thread_.join();
  }
  template <typename T>
  T Run(std::function<T()> fn) {
    std::promise<T> result;
    Post([&] {
      result.set_value(fn());
      return true;
    });
    return result.get_future().get();
  }
  const std::string& path() const { return path_; }

 private:
  void Post(std::function<bool()> fn) {
    std::lock_guard<std::mutex> lock(mu_);
    work_.push_back(std::move(fn));
    cv_.notify_one();
  }
  std::thread thread_;
  std::string path_;
  std::mutex mu_;
  std::condition_variable cv_;
  std::deque<std::function<bool()>> work_;
};

}  // namespace berth::netd::dns
