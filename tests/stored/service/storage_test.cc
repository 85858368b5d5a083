#include "stored/service/storage.h"

#include <dirent.h>
#include <sys/stat.h>
#include <unistd.h>

#include <atomic>
#include <catch2/catch.hpp>
#include <chrono>
#include <thread>

#include "common/database.h"
#include "common/digest.h"
#include "common/fs.h"
#include "common/mountinfo.h"
#include "tests/stored/service/fixtures.h"
#include "tests/stored/service/storage_fixtures.h"
#include "tests/stored/test_tar.h"

namespace berth::stored {
namespace {

using testing::Dir;
using testing::File;
using testing::MakeTar;
using testing::MountedUnder;

absl::StatusOr<LayerInfo> Apply(Storage& storage, const TestLayer& layer) {
  layers::StringSource source(layer.tar);
  return storage.ApplyLayer(layer.header, source);
}

const TestLayer& Base() {
  static const TestLayer base =
      MakeLayer({Dir("etc"), File("etc/passwd", "root\n"), File("etc/group", "root\n"),
                 Dir("var/cache"), File("var/cache/old", "o"), Dir("tmp", 01777)});
  return base;
}

const TestLayer& Top() {
  static const TestLayer top =
      MakeLayer({Dir("etc"), File("etc/.wh.group", ""), Dir("var/cache"),
                 File("var/cache/.wh..wh..opq", ""), File("var/cache/new", "n")},
                Base().header.chain_id);
  return top;
}

}  // namespace

TEST_CASE("layers stack into a mounted rootfs where whiteouts hide lower files",
          "[stored][local]") {
  std::string dir = testing::MakeTempDir();
  auto storage = OpenStorage(dir);
  auto base = Apply(*storage, Base());
  REQUIRE(base.ok());
  CHECK(base->size == 5 + 5 + 1);
  REQUIRE(Apply(*storage, Top()).ok());
  auto stat = storage->StatLayer(Top().header.chain_id);
  REQUIRE(stat.ok());
  REQUIRE(stat->has_value());
  CHECK((*stat)->parent_chain_id == Base().header.chain_id);

  REQUIRE(storage->PrepareRootfs("c1", Top().header.chain_id).ok());
  CHECK(storage->PrepareRootfs("c1", Top().header.chain_id).code() ==
        absl::StatusCode::kAlreadyExists);
  auto merged = storage->MountRootfs("c1");
  REQUIRE(merged.ok());
  CHECK(*merged == dir + "/c/1/merged");
  CHECK(*storage->MountRootfs("c1") == *merged);  // Idempotent.

  CHECK(*ReadFile(*merged + "/etc/passwd") == "root\n");
  CHECK_FALSE(PathExists(*merged + "/etc/group"));
  CHECK_FALSE(PathExists(*merged + "/var/cache/old"));
  CHECK(*ReadFile(*merged + "/var/cache/new") == "n");
  struct stat st;
  REQUIRE(::stat((*merged + "/tmp").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 01777);
  REQUIRE(WriteFileAtomic(*merged + "/etc/hostname", "c1\n").ok());
  CHECK(*ReadFile(dir + "/c/1/diff/etc/hostname") == "c1\n");

  REQUIRE(storage->UnmountRootfs("c1").ok());
  REQUIRE(storage->UnmountRootfs("c1").ok());  // Idempotent.
  CHECK_FALSE(MountedUnder(dir));
  REQUIRE(storage->RemoveRootfs("c1").ok());
  REQUIRE(storage->RemoveRootfs("c1").ok());  // Idempotent.
  CHECK_FALSE(PathExists(dir + "/c/1"));
  CHECK(storage->MountRootfs("c1").status().code() == absl::StatusCode::kNotFound);
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("a mount waits for a copy holding the container, unless its caller left",
          "[stored][local]") {
  std::string dir = testing::MakeTempDir();
  auto storage = OpenStorage(dir);
  REQUIRE(Apply(*storage, Base()).ok());
  REQUIRE(storage->PrepareRootfs("c1", Base().header.chain_id).ok());
  std::unique_ptr<ContainerLocks::Held> copy = storage->container_locks().Lock("c1");
  std::atomic<bool> mounted{false};
  std::thread start([&] { mounted = storage->MountRootfs("c1").ok(); });
  std::this_thread::sleep_for(std::chrono::milliseconds(100));
  CHECK_FALSE(mounted);
  CHECK_FALSE(MountedUnder(dir));
  copy.reset();
  start.join();
  CHECK(mounted);
  REQUIRE(storage->UnmountRootfs("c1").ok());

  CHECK(absl::IsCancelled(storage->MountRootfs("c1", [] { return true; }).status()));
  CHECK_FALSE(MountedUnder(dir));
  REQUIRE(storage->RemoveRootfs("c1").ok());
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("removing a mounted rootfs unmounts it first", "[stored][local]") {
  std::string dir = testing::MakeTempDir();
  auto storage = OpenStorage(dir);
  REQUIRE(storage->PrepareRootfs("empty-image", "").ok());
  auto merged = storage->MountRootfs("empty-image");
  REQUIRE(merged.ok());
  CHECK(Entries(*merged) == 0);
  REQUIRE(storage->RemoveRootfs("empty-image").ok());
  CHECK_FALSE(MountedUnder(dir));
  CHECK(Entries(dir + "/c") == 0);
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("applying layers: idempotent, parents required, bad digests leave nothing",
          "[stored][local]") {
  std::string dir = testing::MakeTempDir();
  auto storage = OpenStorage(dir);

  auto orphan = Apply(*storage, Top());
  CHECK(orphan.status().code() == absl::StatusCode::kFailedPrecondition);

  REQUIRE(Apply(*storage, Base()).ok());
  auto again = Apply(*storage, Base());
  REQUIRE(again.ok());
  CHECK(again->chain_id == Base().header.chain_id);
  CHECK(Entries(dir + "/l") == 1);

  TestLayer bad = MakeLayer({File("x", "1")});
  bad.header.diff_id = Sha256Digest("not it");
  bad.header.chain_id = bad.header.diff_id;
  auto refused = Apply(*storage, bad);
  CHECK(refused.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(refused.status().message()).find("layer digest mismatch") == 0);
  CHECK(Entries(dir + "/tmp") == 0);
  CHECK(Entries(dir + "/l") == 1);
  CHECK_FALSE(storage->StatLayer(bad.header.chain_id)->has_value());

  CHECK(storage->StatLayer("nope").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(storage->PrepareRootfs("c", Sha256Digest("unknown")).code() == absl::StatusCode::kNotFound);
  CHECK(storage->RemoveLayer(Sha256Digest("unknown")).code() == absl::StatusCode::kNotFound);
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("a layer in use is deleted when its last user goes", "[stored][local]") {
  std::string dir = testing::MakeTempDir();
  auto storage = OpenStorage(dir);
  REQUIRE(Apply(*storage, Base()).ok());
  REQUIRE(Apply(*storage, Top()).ok());
  REQUIRE(storage->PrepareRootfs("c1", Top().header.chain_id).ok());
  REQUIRE(storage->MountRootfs("c1").ok());

  // The base goes first: its child still stands on it.
  REQUIRE(storage->RemoveLayer(Base().header.chain_id).ok());
  REQUIRE(storage->RemoveLayer(Top().header.chain_id).ok());
  CHECK_FALSE(storage->StatLayer(Top().header.chain_id)->has_value());
  CHECK(Entries(dir + "/l") == 2);

  REQUIRE(storage->RemoveRootfs("c1").ok());
  CHECK(Entries(dir + "/l") == 0);
  CHECK(Entries(dir + "/tmp") == 0);

  // A marked layer that is applied again is kept.
  REQUIRE(Apply(*storage, Base()).ok());
  REQUIRE(storage->PrepareRootfs("c2", Base().header.chain_id).ok());
  REQUIRE(storage->RemoveLayer(Base().header.chain_id).ok());
  REQUIRE(Apply(*storage, Base()).ok());
  REQUIRE(storage->RemoveRootfs("c2").ok());
  CHECK(storage->StatLayer(Base().header.chain_id)->has_value());
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("restart after a crash drops leftovers and rows without directories", "[stored][local]") {
  std::string dir = testing::MakeTempDir();
  {
    auto storage = OpenStorage(dir);
    REQUIRE(Apply(*storage, Base()).ok());
    REQUIRE(Apply(*storage, Top()).ok());
    REQUIRE(storage->PrepareRootfs("kept", Base().header.chain_id).ok());
    REQUIRE(storage->PrepareRootfs("lost", Base().header.chain_id).ok());
  }
  // What a crash can leave: a half-extracted layer, directories whose
  // transaction never committed, rows whose directory was already moved away.
  REQUIRE(MakeDirs(dir + "/tmp/a-half/etc").ok());
  REQUIRE(MakeDirs(dir + "/l/77/etc").ok());
  REQUIRE(MakeDirs(dir + "/c/78/diff").ok());
  REQUIRE(RemoveAll(dir + "/l/1").ok());  // Base: Top stands on it, so it goes too.
  REQUIRE(RemoveAll(dir + "/c/2").ok());  // "lost".

  auto storage = OpenStorage(dir);
  CHECK(Entries(dir + "/tmp") == 0);
  CHECK_FALSE(PathExists(dir + "/l/77"));
  CHECK_FALSE(PathExists(dir + "/l/2"));
  CHECK_FALSE(PathExists(dir + "/c/78"));
  CHECK_FALSE(storage->StatLayer(Base().header.chain_id)->has_value());
  CHECK_FALSE(storage->StatLayer(Top().header.chain_id)->has_value());
  // "lost" is gone: preparing it again works.
  REQUIRE(storage->PrepareRootfs("lost", "").ok());
  // "kept" survived but its layers did not: mounting says why.
  CHECK(storage->MountRootfs("kept").status().code() == absl::StatusCode::kFailedPrecondition);
  REQUIRE(storage->RemoveRootfs("kept").ok());
  REQUIRE(storage->RemoveRootfs("lost").ok());
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("a removed rootfs is out of sight at once and deleted soon after", "[stored][local]") {
  std::string dir = testing::MakeTempDir();
  {
    auto storage = OpenStorage(dir);
    REQUIRE(Apply(*storage, Base()).ok());
    REQUIRE(storage->PrepareRootfs("c1", Base().header.chain_id).ok());
    REQUIRE(storage->MountRootfs("c1").ok());
    REQUIRE(WriteFileAtomic(dir + "/c/1/merged/written", "x").ok());
    REQUIRE(storage->RemoveRootfs("c1").ok());
    CHECK(Entries(dir + "/c") == 0);
    CHECK(storage->MountRootfs("c1").status().code() == absl::StatusCode::kNotFound);
  }
  // The deletion finished before stored went away (or the next start does it).
  CHECK(Entries(dir + "/tmp") == 0);
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("a mounted rootfs survives a restart of stored", "[stored][local]") {
  std::string dir = testing::MakeTempDir();
  std::string merged;
  {
    auto storage = OpenStorage(dir);
    REQUIRE(Apply(*storage, Base()).ok());
    REQUIRE(storage->PrepareRootfs("live", Base().header.chain_id).ok());
    merged = *storage->MountRootfs("live");
  }
  auto storage = OpenStorage(dir);
  CHECK(*IsMountPoint(merged));
  CHECK(*ReadFile(merged + "/etc/passwd") == "root\n");
  CHECK(*storage->MountRootfs("live") == merged);
  REQUIRE(storage->RemoveRootfs("live").ok());
  CHECK_FALSE(MountedUnder(dir));
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("the schema migrations apply to an empty database", "[stored]") {
  std::string dir = testing::MakeTempDir();
  auto db = Database::Open(dir + "/t.db", Storage::Migrations());
  REQUIRE(db.ok());
  REQUIRE((*db)
              ->Exec("INSERT INTO layers (chain_id, parent_chain_id, diff_id, size, created_at) "
                     "VALUES ('a', '', 'd', 1, 0)")
              .ok());
  CHECK_FALSE((*db)
                  ->Exec("INSERT INTO layers (chain_id, parent_chain_id, diff_id, size, "
                         "created_at) VALUES ('a', '', 'd', 1, 0)")
                  .ok());
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("a new volume gets the image's content at its first mount", "[stored][local]") {
  std::string dir = testing::MakeTempDir();
  auto storage = OpenStorage(dir);
  REQUIRE(Apply(*storage, Base()).ok());
  REQUIRE(storage->PrepareRootfs("c1", Base().header.chain_id).ok());
  REQUIRE(storage->MountRootfs("c1").ok());
  // Only a container that acquired the volume may mount it.
  CHECK(storage->MountVolume("vol", "c1", "/etc", true).status().code() ==
        absl::StatusCode::kNotFound);
  auto acquired = storage->volumes().Acquire("vol", "c1", false);
  INFO(acquired.status().ToString());
  REQUIRE(acquired.ok());
  CHECK(storage->MountVolume("vol", "c2", "/etc", true).status().code() ==
        absl::StatusCode::kFailedPrecondition);
  auto path = storage->MountVolume("vol", "c1", "/etc", true);
  REQUIRE(path.ok());
  CHECK(*path == dir + "/volumes/vol/_data");
  CHECK(*ReadFile(*path + "/passwd") == "root\n");
  // Not copied again once the volume has content.
  REQUIRE(WriteFileAtomic(*path + "/passwd", "changed\n").ok());
  REQUIRE(storage->MountVolume("vol", "c1", "/etc", true).ok());
  CHECK(*ReadFile(*path + "/passwd") == "changed\n");
  // nocopy leaves a new volume empty.
  REQUIRE(storage->volumes().Acquire("empty", "c1", false).ok());
  auto empty = storage->MountVolume("empty", "c1", "/etc", false);
  REQUIRE(empty.ok());
  CHECK(Entries(*empty) == 0);

  // Volumes survive a restart of stored, with their users.
  storage.reset();
  storage = OpenStorage(dir);
  auto v = storage->volumes().Get("vol");
  REQUIRE(v.ok());
  CHECK(v->users == std::vector<std::string>{"c1"});
  CHECK(*ReadFile(*path + "/passwd") == "changed\n");
  REQUIRE(storage->RemoveRootfs("c1").ok());
  REQUIRE(RemoveAll(dir).ok());
}

}  // namespace berth::stored
