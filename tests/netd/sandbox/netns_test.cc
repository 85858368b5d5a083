#include "netd/sandbox/netns.h"

#include <net/if.h>

#include <catch2/catch.hpp>

#include "common/fs.h"
#include "common/mountinfo.h"
#include "tests/netd/test_util.h"

namespace berth::netd {

TEST_CASE("a pinned namespace is new, has lo up, and goes away cleanly", "[netd][local]") {
  std::string dir = testing::MakeTempDir();
  std::string path = dir + "/ns";
  REQUIRE(CreatePinnedNetns(path).ok());
  CHECK(*IsMountPoint(path));
  CHECK(testing::Inode(path) != 0);
  CHECK(testing::Inode(path) != testing::Inode("/proc/self/ns/net"));
  int flags = testing::LoopbackFlagsIn(path);
  REQUIRE(flags != -1);
  CHECK((flags & IFF_UP) != 0);

  // Creating over an existing file is refused, not silently stacked.
  CHECK_FALSE(CreatePinnedNetns(path).ok());

  REQUIRE(RemovePinnedNetns(path).ok());
  CHECK_FALSE(*IsMountPoint(path));
  CHECK_FALSE(PathExists(path));
  REQUIRE(RemovePinnedNetns(path).ok());
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("the netns directory becomes a private mount of itself", "[netd][local]") {
  std::string dir = testing::MakeTempDir();
  REQUIRE(MakePrivateMountDir(dir).ok());
  REQUIRE(MakePrivateMountDir(dir).ok());  // Again after a restart: no stacking.
  auto mounts = ReadMountInfo();
  REQUIRE(mounts.ok());
  int count = 0;
  for (const MountInfo& mount : *mounts) count += mount.mount_point == dir;
  CHECK(count == 1);
  REQUIRE(umount2(dir.c_str(), 0) == 0);
  REQUIRE(RemoveAll(dir).ok());
}

}  // namespace berth::netd
