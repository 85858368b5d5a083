// ApplyLayer with parent_pending: a layer unpacked while its parent is still
// being applied, published only on the client's go-ahead.
#include <dirent.h>
#include <sys/stat.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <condition_variable>
#include <mutex>
#include <thread>

#include "common/digest.h"
#include "common/fs.h"
#include "stored/service/storage.h"
#include "tests/stored/service/storage_fixtures.h"
#include "tests/stored/test_tar.h"

namespace berth::stored {
namespace {

using testing::Dir;
using testing::File;
using testing::MakeTar;

// A go-ahead the test gives (or refuses) when it likes.
class GoAhead {
 public:
  absl::Status Wait() {
    std::unique_lock<std::mutex> lock(mutex_);
    waiting_ = true;
    changed_.notify_all();
    changed_.wait(lock, [&] { return decided_; });
    return answer_;
  }
  // True once the layer is unpacked and waits for the go-ahead.
  bool WaitUntilWaiting() {
    std::unique_lock<std::mutex> lock(mutex_);
    return changed_.wait_for(lock, std::chrono::seconds(60), [&] { return waiting_; });
  }
  void Decide(absl::Status answer) {
    std::lock_guard<std::mutex> lock(mutex_);
    answer_ = std::move(answer);
    decided_ = true;
    changed_.notify_all();
  }

 private:
  std::mutex mutex_;
  std::condition_variable changed_;
  bool waiting_ = false;
  bool decided_ = false;
  absl::Status answer_;
};

struct stat Stat(const std::string& path) {
  struct stat st {};
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return st;
}

}  // namespace

TEST_CASE("a layer is unpacked before its parent exists and published after it",
          "[stored][local]") {
  std::string dir = testing::MakeTempDir();
  auto storage = OpenStorage(dir);
  // The parent has opt/app owned by 1000, mode 0750; the child writes into
  // it without an entry for it (its attributes must come from the parent),
  // and describes srv itself (its own attributes must stay).
  TestLayer base = MakeLayer({Dir("opt", 0755), Dir("opt/app", 0750, 1000), Dir("srv", 0700, 7),
                              File("opt/app/old", "o")});
  TestLayer top = MakeLayer(
      {File("opt/app/new", "n"), Dir("srv", 0711, 8), File("srv/x", "x"), File("fresh/y", "y")},
      base.header.chain_id);
  GoAhead go;
  top.header.parent_pending = true;
  top.header.await_publish = [&] { return go.Wait(); };
  absl::StatusOr<LayerInfo> applied = absl::UnknownError("not run");
  std::thread child([&] {
    layers::StringSource source(top.tar);
    applied = storage->ApplyLayer(top.header, source);
  });
  REQUIRE(go.WaitUntilWaiting());
  // Unpacked, not visible: the parent is not there yet.
  CHECK_FALSE(storage->StatLayer(top.header.chain_id)->has_value());
  layers::StringSource base_source(base.tar);
  REQUIRE(storage->ApplyLayer(base.header, base_source).ok());
  go.Decide(absl::OkStatus());
  child.join();
  INFO(applied.status().ToString());
  REQUIRE(applied.ok());
  REQUIRE(storage->StatLayer(top.header.chain_id)->has_value());
  CHECK(Entries(dir + "/l") == 2);
  CHECK(Entries(dir + "/tmp") == 0);

  // The child's directory is the newest in l/.
  std::string newest;
  for (int id = 1; id <= 2; ++id) {
    std::string candidate = dir + "/l/" + std::to_string(id);
    if (PathExists(candidate + "/opt/app/new")) newest = candidate;
  }
  REQUIRE_FALSE(newest.empty());
  struct stat app = Stat(newest + "/opt/app");
  CHECK(app.st_uid == 1000);
  CHECK((app.st_mode & 07777) == 0750);
  struct stat srv = Stat(newest + "/srv");
  CHECK(srv.st_uid == 8);
  CHECK((srv.st_mode & 07777) == 0711);
  // Not in the parent: created as any implicit directory is.
  struct stat fresh = Stat(newest + "/fresh");
  CHECK(fresh.st_uid == 0);
  CHECK((fresh.st_mode & 07777) == 0755);
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("a layer whose go-ahead is refused leaves nothing", "[stored][local]") {
  std::string dir = testing::MakeTempDir();
  auto storage = OpenStorage(dir);
  TestLayer base = MakeLayer({Dir("a"), File("a/1", "1")});
  TestLayer top = MakeLayer({File("a/2", "2")}, base.header.chain_id);
  top.header.parent_pending = true;

  // The parent failed: the client abandons the layer.
  top.header.await_publish = [] { return absl::AbortedError("a layer below was not applied"); };
  layers::StringSource source(top.tar);
  auto refused = storage->ApplyLayer(top.header, source);
  CHECK(absl::IsAborted(refused.status()));
  CHECK_FALSE(storage->StatLayer(top.header.chain_id)->has_value());
  CHECK(Entries(dir + "/l") == 0);
  CHECK(Entries(dir + "/tmp") == 0);

  // A go-ahead for a parent that is not there (a broken client) is refused.
  top.header.await_publish = [] { return absl::OkStatus(); };
  layers::StringSource again(top.tar);
  auto orphan = storage->ApplyLayer(top.header, again);
  CHECK(absl::IsFailedPrecondition(orphan.status()));
  CHECK(Entries(dir + "/l") == 0);
  CHECK(Entries(dir + "/tmp") == 0);

  // Without a way to be told, parent_pending is refused.
  top.header.await_publish = nullptr;
  layers::StringSource third(top.tar);
  CHECK(absl::IsInvalidArgument(storage->ApplyLayer(top.header, third).status()));
  CHECK(Entries(dir + "/tmp") == 0);
  REQUIRE(RemoveAll(dir).ok());
}

}  // namespace berth::stored
