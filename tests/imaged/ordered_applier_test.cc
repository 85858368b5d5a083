#include "imaged/ordered_applier.h"

#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <stdexcept>
#include <string>
#include <thread>
#include <vector>

namespace berth::imaged {
namespace {

// What the fake sink below saw, in order: "unpacked N", "published N",
// "gave up N: <error>". Waits are bounded only so that a broken applier
// fails the test instead of hanging it.
class Journal {
 public:
  void Add(const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex_);
    lines_.push_back(line);
    changed_.notify_all();
  }
  // Waits until `line` was added; false if it never is.
  bool WaitFor(const std::string& line) {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(60), [&] { return Has(line); });
  }
  bool Contains(const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex_);
    return Has(line);
  }
  std::vector<std::string> Lines() {
    std::lock_guard<std::mutex> lock(mutex_);
    return lines_;
  }
  size_t IndexOf(const std::string& line) {
    std::lock_guard<std::mutex> lock(mutex_);
    for (size_t i = 0; i < lines_.size(); ++i) {
      if (lines_[i] == line) return i;
    }
    return lines_.size();
  }

 private:
  bool Has(const std::string& line) const {
    for (const std::string& seen : lines_) {
      if (seen == line) return true;
    }
    return false;
  }
  std::mutex mutex_;
  std::condition_variable changed_;
  std::vector<std::string> lines_;
};

// As a sink with parent_pending: unpacks, waits for the parent, publishes.
absl::Status Apply(Journal& journal, size_t index, const std::function<absl::Status()>& wait) {
  journal.Add("unpacked " + std::to_string(index));
  if (wait) {
    absl::Status parent = wait();
    if (!parent.ok()) {
      journal.Add("gave up " + std::to_string(index) + ": " + std::string(parent.message()));
      return parent;
    }
  }
  journal.Add("published " + std::to_string(index));
  return absl::OkStatus();
}

TEST_CASE("layers are published in order when the lowest one finishes last", "[applier]") {
  Journal journal;
  OrderedApplier applier(3, 3);
  applier.SetAllReady();
  bool others_waited = false;
  absl::Status status = applier.Run([&](size_t i, std::function<absl::Status()> wait) {
    if (i == 0) {
      others_waited = journal.WaitFor("unpacked 1") && journal.WaitFor("unpacked 2");
    } else {
      CHECK(wait != nullptr);
    }
    return Apply(journal, i, wait);
  });
  REQUIRE(status.ok());
  CHECK(others_waited);
  CHECK_FALSE(applier.stopped());
  CHECK_FALSE(applier.apply_failed());
  CHECK(journal.IndexOf("published 0") < journal.IndexOf("published 1"));
  CHECK(journal.IndexOf("published 1") < journal.IndexOf("published 2"));
}

TEST_CASE("one worker applies the layers one after the other", "[applier]") {
  Journal journal;
  OrderedApplier applier(3, 1);
  applier.SetAllReady();
  REQUIRE(applier
              .Run([&](size_t i, std::function<absl::Status()> wait) {
                return Apply(journal, i, wait);
              })
              .ok());
  CHECK(journal.Lines() == std::vector<std::string>{"unpacked 0", "published 0", "unpacked 1",
                                                    "published 1", "unpacked 2", "published 2"});
}

TEST_CASE("a failing middle layer: its error, the layer above gives up, none started after",
          "[applier]") {
  Journal journal;
  OrderedApplier applier(4, 3);
  applier.SetAllReady();
  absl::Status status = applier.Run([&](size_t i, std::function<absl::Status()> wait) {
    if (i == 1) {
      // Fails while the layer above it waits for it.
      journal.WaitFor("unpacked 2");
      journal.Add("failed 1");
      return absl::InternalError("injected failure of layer 1");
    }
    return Apply(journal, i, wait);
  });
  CHECK(status == absl::InternalError("injected failure of layer 1"));
  CHECK(applier.apply_failed());
  CHECK(applier.stopped());
  CHECK(journal.Contains("published 0"));
  CHECK(journal.Contains("gave up 2: a layer below was not applied"));
  CHECK_FALSE(journal.Contains("published 2"));
  // Layer 3 is handed out only after one of the first three returned; by
  // then the applies may have stopped. Either way it is never published.
  CHECK_FALSE(journal.Contains("published 3"));
}

TEST_CASE("layers wait for their input; a missing input stops the applies", "[applier]") {
  Journal journal;
  OrderedApplier applier(3, 3);
  absl::Status status;
  std::thread run([&] {
    status = applier.Run(
        [&](size_t i, std::function<absl::Status()> wait) { return Apply(journal, i, wait); });
  });
  // Layer 1's input comes first: it is unpacked before the base's input.
  applier.SetReady(1);
  CHECK(journal.WaitFor("unpacked 1"));
  CHECK_FALSE(journal.Contains("unpacked 0"));
  applier.SetReady(0);
  CHECK(journal.WaitFor("published 1"));
  // Layer 2's input never comes (its download failed).
  applier.EndInput();
  run.join();
  CHECK(absl::IsAborted(status));
  CHECK_FALSE(applier.apply_failed());
  CHECK_FALSE(journal.Contains("unpacked 2"));
}

TEST_CASE("stopped from outside: waiting layers give up, the error is the caller's", "[applier]") {
  Journal journal;
  OrderedApplier applier(2, 2);
  applier.SetReady(1);
  absl::Status status;
  std::thread run([&] {
    status = applier.Run(
        [&](size_t i, std::function<absl::Status()> wait) { return Apply(journal, i, wait); });
  });
  CHECK(journal.WaitFor("unpacked 1"));
  applier.Stop();  // The client went away.
  run.join();
  CHECK(absl::IsAborted(status));
  CHECK_FALSE(applier.apply_failed());
  CHECK(journal.Contains("gave up 1: a layer below was not applied"));
  CHECK_FALSE(journal.Contains("unpacked 0"));
}

TEST_CASE("a stop after every layer was applied changes nothing", "[applier]") {
  OrderedApplier applier(2, 2);
  applier.SetAllReady();
  Journal journal;
  REQUIRE(applier
              .Run([&](size_t i, std::function<absl::Status()> wait) {
                return Apply(journal, i, wait);
              })
              .ok());
  applier.Stop();
  CHECK_FALSE(applier.stopped());
}

TEST_CASE("an exception from an apply reaches the caller, and no layer waits forever",
          "[applier]") {
  Journal journal;
  OrderedApplier applier(3, 3);
  applier.SetAllReady();
  CHECK_THROWS_AS(applier.Run([&](size_t i, std::function<absl::Status()> wait) -> absl::Status {
    if (i == 0) {
      journal.WaitFor("unpacked 1");
      throw std::runtime_error("killed");
    }
    return Apply(journal, i, wait);
  }),
                  std::runtime_error);
  CHECK(applier.stopped());
  CHECK_FALSE(journal.Contains("published 1"));
}

TEST_CASE("no layers: nothing to wait for", "[applier]") {
  OrderedApplier applier(0, 3);
  CHECK(applier
            .Run([](size_t, std::function<absl::Status()>) {
              return absl::InternalError("not called");
            })
            .ok());
}

TEST_CASE("workers: the configured number, else a limit at most one per core", "[applier]") {
  CHECK(ApplyWorkers(5, 2) == 5);
  CHECK(ApplyWorkers(0, 1) == 1);
  CHECK(ApplyWorkers(0, 1000) ==
        static_cast<int>(std::max(1u, std::thread::hardware_concurrency())));
}

}  // namespace
}  // namespace berth::imaged
