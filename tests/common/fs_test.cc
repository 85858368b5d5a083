#include "common/fs.h"

#include <sys/stat.h>

#include <catch2/catch.hpp>
#include <cstdlib>

namespace berth {
namespace {

std::string TempDir() {
  const char* base = std::getenv("TEST_TMPDIR");
  std::string tmpl = std::string(base ? base : "/tmp") + "/fsXXXXXX";
  REQUIRE(mkdtemp(tmpl.data()) != nullptr);
  return tmpl;
}

}  // namespace

TEST_CASE("MakeDirs, atomic write and read back", "[fs]") {
  std::string dir = TempDir();
  REQUIRE(MakeDirs(dir + "/a/b/c").ok());
  REQUIRE(MakeDirs(dir + "/a/b/c").ok());
  REQUIRE(WriteFileAtomic(dir + "/a/b/c/f", "content").ok());
  auto read = ReadFile(dir + "/a/b/c/f");
  REQUIRE(read.ok());
  CHECK(*read == "content");
  REQUIRE(WriteFileAtomic(dir + "/a/b/c/f", "new").ok());
  CHECK(*ReadFile(dir + "/a/b/c/f") == "new");
  CHECK(ReadFile(dir + "/missing").status().code() == absl::StatusCode::kNotFound);
  REQUIRE(WriteFileAtomic(dir + "/file", "x").ok());
  CHECK_FALSE(MakeDirs(dir + "/file").ok());
  REQUIRE(RemoveAll(dir).ok());
  CHECK_FALSE(PathExists(dir));
  CHECK(RemoveAll(dir).ok());
}

TEST_CASE("ListDirectory lists entries sorted, without . and ..", "[fs]") {
  std::string dir = TempDir();
  REQUIRE(WriteFileAtomic(dir + "/b", "").ok());
  REQUIRE(MakeDirs(dir + "/a").ok());
  REQUIRE(WriteFileAtomic(dir + "/.hidden", "").ok());
  auto names = ListDirectory(dir);
  REQUIRE(names.ok());
  CHECK(*names == std::vector<std::string>{".hidden", "a", "b"});
  CHECK(ListDirectory(dir + "/missing").status().code() == absl::StatusCode::kNotFound);
  REQUIRE(RemoveAll(dir).ok());
}

TEST_CASE("RemoveAll removes symlinks, not their targets", "[fs]") {
  std::string dir = TempDir();
  std::string outside = TempDir();
  REQUIRE(WriteFileAtomic(outside + "/keep", "x").ok());
  REQUIRE(MakeDirs(dir + "/d").ok());
  REQUIRE(symlink(outside.c_str(), (dir + "/d/link").c_str()) == 0);
  REQUIRE(RemoveAll(dir).ok());
  CHECK(PathExists(outside + "/keep"));
  REQUIRE(RemoveAll(outside).ok());
}

}  // namespace berth
