#include "stored/service/trash_reaper.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>

#include "common/fs.h"
#include "tests/stored/test_tar.h"

namespace berth::stored {
namespace {

std::string Trash(const std::string& root, const std::string& name) {
  const std::string dir = root + "/" + name;
  REQUIRE(MakeDirs(dir + "/x/diff/etc", 0755).ok());
  REQUIRE(WriteFileAtomic(dir + "/x/diff/etc/hosts", "127.0.0.1 localhost\n").ok());
  // overlayfs leaves its work dir's inner directory without permissions.
  REQUIRE(MakeDirs(dir + "/x/work/work", 0755).ok());
  REQUIRE(chmod((dir + "/x/work/work").c_str(), 0) == 0);
  return dir;
}

TEST_CASE("the reaper deletes what it is given, in the background", "[stored]") {
  const std::string root = testing::MakeTempDir();
  TrashReaper reaper;
  const std::string a = Trash(root, "rm-a"), b = Trash(root, "rm-b");
  reaper.Reap(a);
  reaper.Reap(b);
  reaper.Drain();
  CHECK_FALSE(PathExists(a));
  CHECK_FALSE(PathExists(b));
  reaper.Reap(root + "/missing");  // already gone: nothing to do
  reaper.Drain();
  REQUIRE(RemoveAll(root).ok());
}

TEST_CASE("a reaper that is destroyed first finishes its queue", "[stored]") {
  const std::string root = testing::MakeTempDir();
  std::vector<std::string> dirs;
  {
    TrashReaper reaper;
    for (int i = 0; i < 20; ++i) {
      dirs.push_back(Trash(root, "rm-" + std::to_string(i)));
      reaper.Reap(dirs.back());
    }
  }
  for (const std::string& dir : dirs) CHECK_FALSE(PathExists(dir));
  REQUIRE(RemoveAll(root).ok());
}

}  // namespace
}  // namespace berth::stored
