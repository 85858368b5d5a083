#include "stored/rootfs/idmapped_overlay.h"

#include <stdlib.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/fs.h"

namespace berth::rootfs {
namespace {

struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/idmXXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { RemoveAll(path).IgnoreError(); }
  std::string path;
};

struct stat Stat(const std::string& path) {
  struct stat st = {};
  REQUIRE(lstat(path.c_str(), &st) == 0);
  return st;
}

UsernsRemap TestRemap() {
  UsernsRemap remap;
  remap.uids = {{0, 100000, 65536}};
  remap.gids = {{0, 200000, 65536}};
  return remap;
}

TEST_CASE("layers are idmapped into the overlay, not chowned", "[root]") {
  TempDir temp;
  const std::string lower = temp.path + "/lower", top = temp.path + "/top";
  const std::string upper = temp.path + "/upper", work = temp.path + "/work";
  const std::string merged = temp.path + "/merged";
  for (const std::string& dir : {lower, top, upper, work, merged}) {
    REQUIRE(MakeDirs(dir, 0755).ok());
  }
  REQUIRE(WriteFileAtomic(lower + "/root-file", "lower").ok());
  REQUIRE(WriteFileAtomic(lower + "/user-file", "user").ok());
  REQUIRE(chown((lower + "/user-file").c_str(), 1000, 1000) == 0);
  REQUIRE(WriteFileAtomic(top + "/top-file", "top").ok());

  auto mounter = NewIdmappedOverlayMounter(NewKernelMounter(), TestRemap());
  REQUIRE(mounter.ok());
  OverlaySpec spec;
  spec.lower_dirs = {top, lower};
  spec.upper_dir = upper;
  spec.work_dir = work;
  REQUIRE((*mounter)->MountOverlay(spec, merged).ok());
  CHECK(*(*mounter)->IsMounted(merged));

  // Seen from the host, as the kernel maps them for the container.
  CHECK(Stat(merged + "/root-file").st_uid == 100000);
  CHECK(Stat(merged + "/root-file").st_gid == 200000);
  CHECK(Stat(merged + "/user-file").st_uid == 101000);
  CHECK(Stat(merged + "/top-file").st_uid == 100000);
  // The container's "/" is the remapped root's.
  CHECK(Stat(merged).st_uid == 100000);
  CHECK(Stat(upper).st_uid == 100000);
  CHECK(Stat(upper).st_gid == 200000);
  CHECK(*ReadFile(merged + "/top-file") == "top");
  // The layers on disk are untouched.
  CHECK(Stat(lower + "/root-file").st_uid == 0);
  CHECK(Stat(lower + "/user-file").st_uid == 1000);
  // A copy-up keeps the mapped owner: on disk in the upper dir it is the
  // host's subordinate id, as under dockerd.
  REQUIRE(WriteFileAtomic(merged + "/new", "n").ok());
  REQUIRE(chown((merged + "/new").c_str(), 100000, 200000) == 0);
  CHECK(Stat(upper + "/new").st_uid == 100000);
  REQUIRE(truncate((merged + "/root-file").c_str(), 1) == 0);
  CHECK(Stat(upper + "/root-file").st_uid == 100000);

  REQUIRE((*mounter)->Unmount(merged).ok());
  CHECK_FALSE(*(*mounter)->IsMounted(merged));
  // A second mount of the same container (a restart) works again.
  REQUIRE((*mounter)->MountOverlay(spec, merged).ok());
  CHECK(*ReadFile(merged + "/root-file") == "l");
  REQUIRE((*mounter)->Unmount(merged).ok());
}

TEST_CASE("a missing layer is an error naming it", "[root]") {
  TempDir temp;
  for (const char* dir : {"/upper", "/work", "/merged"}) {
    REQUIRE(MakeDirs(temp.path + dir, 0755).ok());
  }
  auto mounter = NewIdmappedOverlayMounter(NewKernelMounter(), TestRemap());
  REQUIRE(mounter.ok());
  OverlaySpec spec;
  spec.lower_dirs = {temp.path + "/missing"};
  spec.upper_dir = temp.path + "/upper";
  spec.work_dir = temp.path + "/work";
  absl::Status status = (*mounter)->MountOverlay(spec, temp.path + "/merged");
  REQUIRE_FALSE(status.ok());
  CHECK(std::string(status.message()).find(temp.path + "/missing") != std::string::npos);
  CHECK_FALSE(*(*mounter)->IsMounted(temp.path + "/merged"));
}

}  // namespace
}  // namespace berth::rootfs
