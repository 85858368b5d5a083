#include "stored/layers/extract.h"

#include <dirent.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>

#include <catch2/catch.hpp>

#include "common/digest.h"
#include "common/fs.h"
#include "stored/layers/safe_path.h"
#include "tests/stored/test_tar.h"

namespace berth::layers {
namespace {

using testing::Compression;
using testing::Dir;
using testing::File;
using testing::Hardlink;
using testing::MakeTar;
using testing::MakeTempDir;
using testing::Symlink;

absl::StatusOr<ExtractResult> Extract(const std::string& tar, const std::string& dest,
                                      std::string expected = "") {
  StringSource source(tar, 4096);  // Small chunks: exercise the pull loop.
  ExtractOptions options;
  options.expected_diff_id = std::move(expected);
  return ExtractLayer(source, dest, options);
}

size_t CountEntries(const std::string& dir) {
  size_t n = 0;
  DIR* d = opendir(dir.c_str());
  if (d == nullptr) return 0;
  while (dirent* e = readdir(d)) {
    if (std::string(e->d_name) != "." && std::string(e->d_name) != "..") ++n;
  }
  closedir(d);
  return n;
}

std::vector<testing::TarEntry> SampleEntries() {
  return {Dir("./"),
          Dir("etc/", 0755),
          File("etc/hostname", "box\n", 0600, 1234),
          Dir("opt/app", 0750, 1000),
          File("opt/app/run", "#!/bin/sh\n", 04755),
          Symlink("etc/alias", "hostname"),
          Hardlink("etc/hostname.bak", "etc/hostname"),
          File("implicit/parent/file", "x")};
}

}  // namespace

TEST_CASE("CleanEntryPath normalises names and refuses to leave the root", "[layers]") {
  CHECK(*CleanEntryPath("./a//b/") == std::vector<std::string>{"a", "b"});
  CHECK(CleanEntryPath("./")->empty());
  CHECK(CleanEntryPath("a/../b").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(CleanEntryPath("../x").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(CleanEntryPath("/etc/passwd").status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(*CleanEntryPath("a/..b") == std::vector<std::string>{"a", "..b"});
}

TEST_CASE("a plain tar layer is unpacked with owners, modes and links", "[layers][local]") {
  std::string dest = MakeTempDir();
  std::string tar = MakeTar(SampleEntries());
  auto result = Extract(tar, dest, Sha256Digest(tar));
  REQUIRE(result.ok());
  CHECK(result->diff_id == Sha256Digest(tar));
  CHECK(result->size == 4 + 10 + 1);

  CHECK(*ReadFile(dest + "/etc/hostname") == "box\n");
  struct stat st;
  REQUIRE(lstat((dest + "/etc/hostname").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0600);
  CHECK(st.st_uid == 1234);
  CHECK(st.st_mtime == 1700000000);
  CHECK(st.st_nlink == 2);
  struct stat bak;
  REQUIRE(lstat((dest + "/etc/hostname.bak").c_str(), &bak) == 0);
  CHECK(bak.st_ino == st.st_ino);
  REQUIRE(lstat((dest + "/opt/app/run").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 04755);
  REQUIRE(lstat((dest + "/opt/app").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0750);
  CHECK(st.st_uid == 1000);
  char target[64] = {};
  REQUIRE(readlink((dest + "/etc/alias").c_str(), target, sizeof(target)) > 0);
  CHECK(std::string(target) == "hostname");
  CHECK(*ReadFile(dest + "/implicit/parent/file") == "x");
  REQUIRE(RemoveAll(dest).ok());
}

TEST_CASE("compressed layers hash to the diff ID of the uncompressed tar", "[layers][local]") {
  std::string tar = MakeTar(SampleEntries());
  for (Compression compression : {Compression::kGzip, Compression::kZstd}) {
    std::string compressed = testing::Compress(tar, compression);
    REQUIRE(compressed != tar);
    std::string dest = MakeTempDir();
    auto result = Extract(compressed, dest, Sha256Digest(tar));
    INFO(result.status().ToString());
    REQUIRE(result.ok());
    CHECK(result->diff_id == Sha256Digest(tar));
    CHECK(*ReadFile(dest + "/etc/hostname") == "box\n");
    REQUIRE(RemoveAll(dest).ok());
  }
}

TEST_CASE("a layer whose digest differs from its diff ID is refused", "[layers][local]") {
  std::string dest = MakeTempDir();
  std::string tar = MakeTar({File("a", "1")});
  std::string wrong = Sha256Digest("something else");
  auto result = Extract(tar, dest, wrong);
  REQUIRE(result.status().code() == absl::StatusCode::kInvalidArgument);
  CHECK(std::string(result.status().message()) ==
        "layer digest mismatch: expected " + wrong + ", got " + Sha256Digest(tar));
  REQUIRE(RemoveAll(dest).ok());
}

TEST_CASE("garbage is not a layer", "[layers][local]") {
  std::string dest = MakeTempDir();
  auto result = Extract(std::string(3000, 'x'), dest);
  CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
  REQUIRE(RemoveAll(dest).ok());
}

TEST_CASE("OCI whiteouts become overlay whiteouts", "[layers][local]") {
  std::string dest = MakeTempDir();
  std::string tar = MakeTar({Dir("etc"), File("etc/.wh.passwd", ""), Dir("var/cache"),
                             File("var/cache/.wh..wh..opq", ""), File("var/cache/new", "n"),
                             File("gone/.wh.deep", ""), File(".wh..wh.plnk", "")});
  auto result = Extract(tar, dest);
  REQUIRE(result.ok());
  struct stat st;
  REQUIRE(lstat((dest + "/etc/passwd").c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK(st.st_rdev == makedev(0, 0));
  CHECK(st.st_uid == 0);
  CHECK_FALSE(PathExists(dest + "/etc/.wh.passwd"));
  char value[8] = {};
  REQUIRE(lgetxattr((dest + "/var/cache").c_str(), "trusted.overlay.opaque", value,
                    sizeof(value)) == 1);
  CHECK(value[0] == 'y');
  CHECK_FALSE(PathExists(dest + "/var/cache/.wh..wh..opq"));
  CHECK(*ReadFile(dest + "/var/cache/new") == "n");
  REQUIRE(lstat((dest + "/gone/deep").c_str(), &st) == 0);
  CHECK(S_ISCHR(st.st_mode));
  CHECK_FALSE(PathExists(dest + "/.wh..wh.plnk"));
  REQUIRE(RemoveAll(dest).ok());
}

TEST_CASE("entries that escape the layer are refused without writing outside", "[layers][local]") {
  std::string outside = MakeTempDir();
  std::vector<std::vector<testing::TarEntry>> attacks = {
      {File("../escaped", "x")},
      {File("a/../../escaped", "x")},
      {File(outside + "/escaped", "x")},
      {Symlink("link", outside), File("link/escaped", "x")},
      {Symlink("link", outside), File("link/.wh.escaped", "")},
      {Symlink("link", outside), Dir("link/d"), File("link/d/.wh..wh..opq", "")},
      {Symlink("up", ".."), File("up/escaped", "x")},
      {Hardlink("passwd", "../../../../etc/passwd")},
      {Hardlink("passwd", "/etc/passwd")},
      {Symlink("link", outside), File(outside + "/victim", "v"), Hardlink("h", "link/victim")},
  };
  for (size_t i = 0; i < attacks.size(); ++i) {
    INFO("attack " << i);
    std::string dest = MakeTempDir();
    auto result = Extract(MakeTar(attacks[i]), dest);
    CHECK(result.status().code() == absl::StatusCode::kInvalidArgument);
    CHECK(CountEntries(outside) == 0);
    REQUIRE(RemoveAll(dest).ok());
  }
  REQUIRE(RemoveAll(outside).ok());
}

TEST_CASE("implicit parent directories copy the lower layer's attributes", "[layers][local]") {
  std::string lower = MakeTempDir();
  REQUIRE(MakeDirs(lower + "/tmp").ok());
  REQUIRE(chmod((lower + "/tmp").c_str(), 01777) == 0);
  std::string dest = MakeTempDir();
  StringSource source(MakeTar({File("tmp/file", "f"), File("tmp/.wh.old", "")}));
  ExtractOptions options;
  options.lower_dirs = {lower};
  REQUIRE(ExtractLayer(source, dest, options).ok());
  struct stat st;
  REQUIRE(stat((dest + "/tmp").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 01777);
  REQUIRE(RemoveAll(dest).ok());
  REQUIRE(RemoveAll(lower).ok());
}

}  // namespace berth::layers
