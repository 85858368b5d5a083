#include "stored/service/container_locks.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

namespace berth::stored {
namespace {

TEST_CASE("a container's lock waits for its holder; other containers' do not") {
  ContainerLocks locks;
  std::unique_ptr<ContainerLocks::Held> held = locks.Lock("a");
  CHECK(locks.IsHeld("a"));
  { std::unique_ptr<ContainerLocks::Held> other = locks.Lock("b"); }
  CHECK_FALSE(locks.IsHeld("b"));

  std::atomic<bool> acquired{false};
  std::thread waiter([&] {
    std::unique_ptr<ContainerLocks::Held> second = locks.Lock("a");
    acquired = true;
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(acquired);
  held.reset();
  waiter.join();
  CHECK(acquired);
  CHECK_FALSE(locks.IsHeld("a"));
}

}  // namespace
}  // namespace berth::stored
