#include "common/event_journal.h"

#include <atomic>
#include <catch2/catch.hpp>
#include <thread>
#include <vector>

#include "absl/time/clock.h"
#include "absl/time/time.h"

namespace berth {
namespace {

std::vector<std::string> Collect(EventJournal& journal, int64_t since, int64_t until) {
  std::vector<std::string> actions;
  journal.Watch(
      since, until,
      [&](const events::v1::Event& e) {
        actions.push_back(e.action());
        return true;
      },
      [] { return false; });
  return actions;
}

TEST_CASE("events replay from --since and end at --until") {
  EventJournal journal;
  int64_t before = absl::ToUnixNanos(absl::Now());
  journal.Publish("container", "create", "c1", {{"name", "web"}});
  journal.Publish("container", "start", "c1");
  int64_t after = absl::ToUnixNanos(absl::Now()) + 1;
  CHECK(Collect(journal, before, after) == std::vector<std::string>{"create", "start"});
  // Times are unique and increasing, so `since` the second one skips the first.
  std::vector<int64_t> times;
  journal.Watch(
      before, after,
      [&](const events::v1::Event& e) {
        times.push_back(e.time_nano());
        return true;
      },
      [] { return false; });
  REQUIRE(times.size() == 2);
  CHECK(times[0] < times[1]);
  CHECK(Collect(journal, times[1], after) == std::vector<std::string>{"start"});
}

TEST_CASE("a watcher without --since sees only new events, until cancelled") {
  EventJournal journal;
  journal.Publish("container", "old", "c1");
  std::atomic<bool> stop{false};
  std::vector<std::string> seen;
  std::thread watcher([&] {
    journal.Watch(
        0, 0,
        [&](const events::v1::Event& e) {
          seen.push_back(e.action());
          if (e.action() == "second") stop = true;
          return true;
        },
        [&] { return stop.load(); });
  });
  std::this_thread::sleep_for(std::chrono::milliseconds(50));
  journal.Publish("container", "first", "c1");
  journal.Publish("image", "second", "sha256:x");
  watcher.join();
  CHECK(seen == std::vector<std::string>{"first", "second"});
}

TEST_CASE("the journal keeps only its capacity") {
  EventJournal journal(3);
  for (int i = 0; i < 5; ++i) journal.Publish("volume", std::to_string(i), "v");
  CHECK(Collect(journal, 1, absl::ToUnixNanos(absl::Now()) + 1) ==
        std::vector<std::string>{"2", "3", "4"});
}

TEST_CASE("an emitter returning false ends the watch") {
  EventJournal journal;
  journal.Publish("container", "a", "c");
  journal.Publish("container", "b", "c");
  int calls = 0;
  bool until_passed = journal.Watch(
      1, 0,
      [&](const events::v1::Event&) {
        ++calls;
        return false;
      },
      [] { return false; });
  CHECK(calls == 1);
  CHECK_FALSE(until_passed);
}

}  // namespace
}  // namespace berth
