#include "stored/volumes/volumes.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/fs.h"
#include "stored/volumes/copy.h"
#include "stored/volumes/local_mount.h"

namespace berth::volumes {
namespace {

struct Fixture {
  Fixture() {
    char tmpl[] = "/tmp/volXXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    root = tmpl;
    Open();
  }
  ~Fixture() {
    manager.reset();
    db.reset();
    RemoveAll(root).IgnoreError();
  }
  void Open() {
    manager.reset();
    db.reset();
    auto opened = Database::Open(root + "/db",
                                 {VolumeManager::Migration(), VolumeManager::MountsMigration()});
    REQUIRE(opened.ok());
    db = std::move(*opened);
    auto m = VolumeManager::Open(db.get(), root + "/volumes", root + "/tmp");
    REQUIRE(m.ok());
    manager = std::move(*m);
  }
  std::string root;
  std::unique_ptr<Database> db;
  std::unique_ptr<VolumeManager> manager;
};

TEST_CASE("volume names follow Docker's rule") {
  CHECK(ValidateVolumeName("v1").ok());
  CHECK(ValidateVolumeName("a_b.c-d").ok());
  CHECK(!ValidateVolumeName("a").ok());
  CHECK(!ValidateVolumeName("_ab").ok());
  CHECK(!ValidateVolumeName("a/b").ok());
  CHECK(!ValidateVolumeName("../x").ok());
}

TEST_CASE("create, get, list and remove a volume") {
  Fixture f;
  auto v = f.manager->Create("v1", {{"a", "b"}}, {}, false);
  REQUIRE(v.ok());
  CHECK(v->mountpoint == f.root + "/volumes/v1/_data");
  CHECK(PathExists(v->mountpoint));
  // Creating again returns the existing volume.
  auto again = f.manager->Create("v1", {}, {}, false);
  REQUIRE(again.ok());
  CHECK(again->labels.at("a") == "b");

  auto random = f.manager->Create("", {}, {}, false);
  REQUIRE(random.ok());
  CHECK(random->name.size() == 64);

  auto list = f.manager->List();
  REQUIRE(list.ok());
  CHECK(list->size() == 2);

  CHECK(f.manager->Create("a/b", {}, {}, false).status().code() ==
        absl::StatusCode::kInvalidArgument);
  CHECK(f.manager->Create("v2", {}, {{"type", "tmpfs"}}, false).status().code() ==
        absl::StatusCode::kInvalidArgument);

  REQUIRE(f.manager->Remove("v1", false).ok());
  CHECK(!PathExists(f.root + "/volumes/v1"));
  auto gone = f.manager->Get("v1");
  CHECK(gone.status().code() == absl::StatusCode::kNotFound);
  CHECK(std::string(gone.status().message()) == "get v1: no such volume");
  CHECK(f.manager->Remove("v1", false).code() == absl::StatusCode::kNotFound);
  CHECK(f.manager->Remove("v1", true).ok());
}

TEST_CASE("a volume in use cannot be removed or pruned") {
  Fixture f;
  auto v = f.manager->Acquire("data", "c1", false);
  REQUIRE(v.ok());
  CHECK(v->users == std::vector<std::string>{"c1"});
  absl::Status status = f.manager->Remove("data", true);
  CHECK(status.code() == absl::StatusCode::kFailedPrecondition);
  CHECK(std::string(status.message()) == "remove data: volume is in use - [c1]");
  auto report = f.manager->Prune(true);
  REQUIRE(report.ok());
  CHECK(report->deleted.empty());
  REQUIRE(f.manager->Release("data", "c1", true).ok());
  // Named volumes survive rm -v.
  CHECK(f.manager->Get("data").ok());
  CHECK(f.manager->Remove("data", false).ok());
}

TEST_CASE("anonymous volumes go with their container or with prune") {
  Fixture f;
  auto anon = f.manager->Acquire("", "c1", true);
  REQUIRE(anon.ok());
  CHECK(anon->anonymous);
  REQUIRE(f.manager->Acquire(anon->name, "c2", false).ok());
  REQUIRE(f.manager->Release(anon->name, "c1", true).ok());
  CHECK(f.manager->Get(anon->name).ok());  // c2 still uses it
  REQUIRE(f.manager->Release(anon->name, "c2", true).ok());
  CHECK(f.manager->Get(anon->name).status().code() == absl::StatusCode::kNotFound);

  REQUIRE(f.manager->Create("named", {}, {}, false).ok());
  auto kept = f.manager->Acquire("", "c3", true);
  REQUIRE(kept.ok());
  REQUIRE(f.manager->Release(kept->name, "c3", false).ok());
  REQUIRE(WriteFileAtomic(kept->mountpoint + "/f", std::string(10000, 'x')).ok());
  auto report = f.manager->Prune(false);
  REQUIRE(report.ok());
  CHECK(report->deleted == std::vector<std::string>{kept->name});
  CHECK(report->space_reclaimed >= 10000);
  CHECK(f.manager->Get("named").ok());
  report = f.manager->Prune(true);
  REQUIRE(report.ok());
  CHECK(report->deleted == std::vector<std::string>{"named"});
}

TEST_CASE("reopening keeps volumes and drops half-created ones") {
  Fixture f;
  REQUIRE(f.manager->Acquire("keep", "c1", false).ok());
  REQUIRE(WriteFileAtomic(f.root + "/volumes/keep/_data/f", "hi").ok());
  // A directory that never got its row (crash before commit).
  REQUIRE(MakeDirs(f.root + "/volumes/orphan/_data").ok());
  f.Open();
  auto keep = f.manager->Get("keep");
  REQUIRE(keep.ok());
  CHECK(keep->users == std::vector<std::string>{"c1"});
  CHECK(*ReadFile(keep->mountpoint + "/f") == "hi");
  CHECK(!PathExists(f.root + "/volumes/orphan"));
  // A row whose directory is gone is forgotten.
  REQUIRE(RemoveAll(f.root + "/volumes/keep").ok());
  f.Open();
  CHECK(f.manager->Get("keep").status().code() == absl::StatusCode::kNotFound);
}

TEST_CASE("image content is copied without following symlinks") {
  Fixture f;
  const std::string rootfs = f.root + "/rootfs";
  REQUIRE(MakeDirs(rootfs + "/data/sub").ok());
  REQUIRE(WriteFileAtomic(rootfs + "/data/sub/file", "content", 0640).ok());
  REQUIRE(symlink("/etc/passwd", (rootfs + "/data/link").c_str()) == 0);
  REQUIRE(symlink("/", (rootfs + "/escape").c_str()) == 0);
  auto v = f.manager->Create("img", {}, {}, false);
  REQUIRE(v.ok());
  CHECK(*DirIsEmpty(v->mountpoint));
  REQUIRE(CopyTreeBeneath(rootfs, "/data", v->mountpoint).ok());
  CHECK(*ReadFile(v->mountpoint + "/sub/file") == "content");
  struct stat st;
  REQUIRE(stat((v->mountpoint + "/sub/file").c_str(), &st) == 0);
  CHECK((st.st_mode & 0777) == 0640);
  char target[64] = {};
  REQUIRE(readlink((v->mountpoint + "/link").c_str(), target, sizeof target - 1) > 0);
  CHECK(std::string(target) == "/etc/passwd");
  // A symlinked mount point copies nothing (it would read the host's /).
  auto other = f.manager->Create("img2", {}, {}, false);
  REQUIRE(CopyTreeBeneath(rootfs, "/escape/etc", other->mountpoint).ok());
  CHECK(*DirIsEmpty(other->mountpoint));
  REQUIRE(CopyTreeBeneath(rootfs, "/missing", other->mountpoint).ok());
  CHECK(*DirIsEmpty(other->mountpoint));
}

TEST_CASE("a volume with driver options is mounted while a user runs") {
  Fixture f;
  std::map<std::string, std::string> options = {
      {"type", "tmpfs"}, {"device", "tmpfs"}, {"o", "size=1m"}};
  REQUIRE(f.manager->Create("tv", {}, options, false).ok());
  CHECK(absl::IsInvalidArgument(f.manager->Create("bad", {}, {{"x", "y"}}, false).status()));
  REQUIRE(f.manager->Acquire("tv", "c1", false).ok());
  REQUIRE(f.manager->Acquire("tv", "c2", false).ok());
  absl::StatusOr<std::string> mountpoint = f.manager->Activate("tv", "c1");
  REQUIRE(mountpoint.ok());
  CHECK(IsMountPoint(*mountpoint));
  REQUIRE(f.manager->Activate("tv", "c2").ok());
  REQUIRE(f.manager->Deactivate("c1").ok());
  CHECK(IsMountPoint(*mountpoint));
  // A restart that finds c2 stopped unmounts it.
  f.Open();
  REQUIRE(f.manager->ReconcileMounts({}).ok());
  CHECK_FALSE(IsMountPoint(*mountpoint));
  // Removal of a mounted volume unmounts first and loses nothing else.
  REQUIRE(f.manager->Activate("tv", "c1").ok());
  REQUIRE(f.manager->Release("tv", "c1", false).ok());
  REQUIRE(f.manager->Release("tv", "c2", false).ok());
  REQUIRE(f.manager->Remove("tv", false).ok());
  CHECK_FALSE(IsMountPoint(*mountpoint));
  CHECK_FALSE(PathExists(f.root + "/volumes/tv"));
}

}  // namespace
}  // namespace berth::volumes
