// One thread that waits on many descriptors (epoll) and runs their handlers:
// for daemons that serve sockets of their own beside gRPC (netd's port
// proxies and DNS servers) without a thread per socket.
#pragma once

#include <sys/epoll.h>

#include <cstdint>
#include <functional>
#include <memory>
#include <mutex>
#include <thread>
#include <unordered_map>
#include <vector>

#include "absl/status/statusor.h"
#include "common/unique_fd.h"

namespace berth {

class EventLoop {
 public:
  // Called on the loop thread with the epoll events that fired.
  using Handler = std::function<void(uint32_t events)>;

  // Starts the loop's thread.
  static absl::StatusOr<std::unique_ptr<EventLoop>> Start();
  // Stops and joins the thread; handlers still registered are dropped
  // without being called (their owners close the descriptors).
  ~EventLoop();

  // Runs fn on the loop thread and waits for it to finish (inline when
  // called from the loop thread). The way other threads add and remove
  // descriptors, so that handlers never race with their owners.
  void Run(const std::function<void()>& fn);

  // Loop thread only. A descriptor is registered at most once; Remove of an
  // unknown descriptor is a no-op, and a handler removed while events for it
  // are pending is never called again.
  absl::Status Add(int fd, uint32_t events, Handler handler);
  absl::Status Modify(int fd, uint32_t events);
  void Remove(int fd);

  bool InLoopThread() const { return std::this_thread::get_id() == thread_.get_id(); }

 private:
  EventLoop(UniqueFd epoll, UniqueFd wakeup)
      : epoll_(std::move(epoll)), wakeup_(std::move(wakeup)) {}
  void Loop();

  struct Entry {
    int fd;
    std::shared_ptr<Handler> handler;
  };

  UniqueFd epoll_;
  UniqueFd wakeup_;
  std::thread thread_;
  // Loop thread only. Tokens, not descriptors, name handlers in epoll: a
  // descriptor closed and reused by an earlier handler of the same batch gets
  // a new token, so its stale events are dropped.
  std::unordered_map<uint64_t, Entry> entries_;
  std::unordered_map<int, uint64_t> tokens_;
  uint64_t next_token_ = 1;
  bool stopping_ = false;

  std::mutex mu_;
  std::vector<std::function<void()>> pending_;
};

}  // namespace berth
