#include "common/event_loop.h"

#include <sys/eventfd.h>

#include <condition_variable>

#include "common/status.h"

namespace berth {
namespace {
// The wakeup eventfd's token: descriptors get tokens from 1 up.
constexpr uint64_t kWakeupToken = 0;
}  // namespace

absl::StatusOr<std::unique_ptr<EventLoop>> EventLoop::Start() {
  UniqueFd epoll(epoll_create1(EPOLL_CLOEXEC));
  if (!epoll.valid()) return LastErrnoStatus("epoll_create1");
  UniqueFd wakeup(eventfd(0, EFD_CLOEXEC | EFD_NONBLOCK));
  if (!wakeup.valid()) return LastErrnoStatus("eventfd");
  struct epoll_event event = {};
  event.events = EPOLLIN;
  event.data.u64 = kWakeupToken;
  if (epoll_ctl(epoll.get(), EPOLL_CTL_ADD, wakeup.get(), &event) != 0) {
    return LastErrnoStatus("epoll_ctl");
  }
  std::unique_ptr<EventLoop> loop(new EventLoop(std::move(epoll), std::move(wakeup)));
  loop->thread_ = std::thread([raw = loop.get()] { raw->Loop(); });
  return loop;
}

EventLoop::~EventLoop() {
  Run([this] { stopping_ = true; });
  thread_.join();
}

void EventLoop::Run(const std::function<void()>& fn) {
  if (InLoopThread()) {
    fn();
    return;
  }
  std::mutex done_mu;
  std::condition_variable done_cv;
  bool done = false;
  {
    std::lock_guard<std::mutex> lock(mu_);
    pending_.push_back([&] {
      fn();
      std::lock_guard<std::mutex> done_lock(done_mu);
      done = true;
      done_cv.notify_one();
    });
  }
  const uint64_t one = 1;
  // Cannot fail short of a full counter, which one waiter per call never reaches.
  (void)!write(wakeup_.get(), &one, sizeof(one));
  std::unique_lock<std::mutex> lock(done_mu);
  done_cv.wait(lock, [&] { return done; });
}

absl::Status EventLoop::Add(int fd, uint32_t events, Handler handler) {
  const uint64_t token = next_token_++;
  struct epoll_event event = {};
  event.events = events;
  event.data.u64 = token;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_ADD, fd, &event) != 0) return LastErrnoStatus("epoll_ctl");
  entries_[token] = Entry{fd, std::make_shared<Handler>(std::move(handler))};
  tokens_[fd] = token;
  return absl::OkStatus();
}

absl::Status EventLoop::Modify(int fd, uint32_t events) {
  auto it = tokens_.find(fd);
  if (it == tokens_.end()) return absl::NotFoundError("descriptor not in the event loop");
  struct epoll_event event = {};
  event.events = events;
  event.data.u64 = it->second;
  if (epoll_ctl(epoll_.get(), EPOLL_CTL_MOD, fd, &event) != 0) return LastErrnoStatus("epoll_ctl");
  return absl::OkStatus();
}

void EventLoop::Remove(int fd) {
  auto it = tokens_.find(fd);
  if (it == tokens_.end()) return;
  entries_.erase(it->second);
  tokens_.erase(it);
  epoll_ctl(epoll_.get(), EPOLL_CTL_DEL, fd, nullptr);
}

void EventLoop::Loop() {
  struct epoll_event events[64];
  while (!stopping_) {
    const int n = epoll_wait(epoll_.get(), events, 64, -1);
    if (n < 0) continue;  // EINTR
    for (int i = 0; i < n; ++i) {
      const uint64_t token = events[i].data.u64;
      if (token == kWakeupToken) {
        uint64_t count;
        (void)!read(wakeup_.get(), &count, sizeof(count));
        std::vector<std::function<void()>> work;
        {
          std::lock_guard<std::mutex> lock(mu_);
          work.swap(pending_);
        }
        for (auto& fn : work) fn();
        continue;
      }
      auto entry = entries_.find(token);
      if (entry == entries_.end()) continue;
      // Held by a copy: the handler may remove itself.
      std::shared_ptr<Handler> handler = entry->second.handler;
      (*handler)(events[i].events);
    }
  }
  entries_.clear();
  tokens_.clear();
}

}  // namespace berth
