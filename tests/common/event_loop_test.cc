#include "common/event_loop.h"

#include <sys/eventfd.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <condition_variable>
#include <mutex>

namespace berth {
namespace {

struct Signal {
  void Set() {
    std::lock_guard<std::mutex> lock(mu);
    done = true;
    cv.notify_all();
  }
  bool Wait() {
    std::unique_lock<std::mutex> lock(mu);
    return cv.wait_for(lock, std::chrono::seconds(5), [&] { return done; });
  }
  std::mutex mu;
  std::condition_variable cv;
  bool done = false;
};

void Poke(int fd) {
  const uint64_t one = 1;
  REQUIRE(write(fd, &one, sizeof(one)) == sizeof(one));
}

TEST_CASE("handlers run on the loop thread when their descriptor is ready") {
  auto loop = EventLoop::Start();
  REQUIRE(loop.ok());
  UniqueFd fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  Signal fired;
  std::atomic<bool> on_loop{false};
  (*loop)->Run([&] {
    REQUIRE((*loop)
                ->Add(fd.get(), EPOLLIN,
                      [&](uint32_t events) {
                        uint64_t value;
                        (void)!read(fd.get(), &value, sizeof(value));
                        on_loop = (*loop)->InLoopThread() && (events & EPOLLIN) != 0;
                        fired.Set();
                      })
                .ok());
  });
  Poke(fd.get());
  REQUIRE(fired.Wait());
  CHECK(on_loop);
  CHECK_FALSE((*loop)->InLoopThread());
}

TEST_CASE("a handler removed by another handler of the same batch is not called") {
  auto loop = EventLoop::Start();
  REQUIRE(loop.ok());
  UniqueFd a(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  UniqueFd b(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  std::atomic<int> calls{0};
  Signal done;
  // Both ready before the loop looks: whichever runs first removes the other.
  Poke(a.get());
  Poke(b.get());
  (*loop)->Run([&] {
    auto handler = [&](int self, int other) {
      return [&, self, other](uint32_t) {
        ++calls;
        (*loop)->Remove(self);
        (*loop)->Remove(other);
        done.Set();
      };
    };
    REQUIRE((*loop)->Add(a.get(), EPOLLIN, handler(a.get(), b.get())).ok());
    REQUIRE((*loop)->Add(b.get(), EPOLLIN, handler(b.get(), a.get())).ok());
  });
  REQUIRE(done.Wait());
  // A round trip through the loop: any second call would have happened.
  (*loop)->Run([] {});
  CHECK(calls == 1);
}

TEST_CASE("Modify changes the events waited for; errors are reported") {
  auto loop = EventLoop::Start();
  REQUIRE(loop.ok());
  UniqueFd fd(eventfd(0, EFD_NONBLOCK | EFD_CLOEXEC));
  std::atomic<int> calls{0};
  (*loop)->Run([&] {
    REQUIRE((*loop)->Add(fd.get(), 0, [&](uint32_t) { ++calls; }).ok());
    CHECK_FALSE((*loop)->Add(fd.get(), EPOLLIN, [](uint32_t) {}).ok());
    CHECK((*loop)->Modify(12345, EPOLLIN).code() == absl::StatusCode::kNotFound);
  });
  Poke(fd.get());
  (*loop)->Run([] {});
  CHECK(calls == 0);
  (*loop)->Run([&] { REQUIRE((*loop)->Modify(fd.get(), EPOLLIN).ok()); });
  (*loop)->Run([] {});
  (*loop)->Run([&] { (*loop)->Remove(fd.get()); });
  CHECK(calls >= 1);
}

}  // namespace
}  // namespace berth
