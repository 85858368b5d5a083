#include "stored/layers/extract.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "common/digest.h"
#include "common/fs.h"
#include "stored/layers/dir_cache.h"
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

TEST_CASE("the directory cache walks each directory once and forgets replaced ones",
          "[layers][local]") {
  std::string root_dir = MakeTempDir();
  UniqueFd root(open(root_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  REQUIRE(root.valid());
  std::vector<std::string> lowers;
  DirCache cache(root.get(), &lowers, 2);
  const std::vector<std::string> ab = {"a", "b", "file"};
  auto first = cache.Open(ab, 2);
  REQUIRE(first.ok());
  auto again = cache.Open(ab, 2);
  REQUIRE(again.ok());
  CHECK(first->get() == again->get());
  CHECK(cache.walks() == 1);
  struct stat st;
  REQUIRE(stat((root_dir + "/a/b").c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));

  // a/b replaced by a symlink: a fresh walk must see it and refuse.
  REQUIRE(cache.Open(ab, 1).ok());
  cache.Invalidate("a");
  CHECK(cache.size() == 0);
  REQUIRE(rmdir((root_dir + "/a/b").c_str()) == 0);
  REQUIRE(symlink("/", (root_dir + "/a/b").c_str()) == 0);
  CHECK(cache.Open(ab, 2).status().code() == absl::StatusCode::kInvalidArgument);
  // A handle given out stays usable after the cache dropped it.
  CHECK(fcntl(first->get()->fd.get(), F_GETFD) >= 0);

  // The capacity bounds the descriptors held.
  for (int i = 0; i < 5; ++i) {
    REQUIRE(cache.Open({"d" + std::to_string(i), "x"}, 1).ok());
    CHECK(cache.size() <= 2);
  }
  cache.Invalidate("a/b");  // Prefix of nothing cached: a no-op.
  REQUIRE(RemoveAll(root_dir).ok());
}

TEST_CASE("repeated names: the last entry wins, a directory with content is kept",
          "[layers][local]") {
  std::string dest = MakeTempDir();
  auto result =
      Extract(MakeTar({File("x", "first"), File("x", "second"), Dir("d"), File("d/inner", "i"),
                       Dir("d", 0700), Symlink("s", "x"), File("s", "not a link"), Dir("e"),
                       File("e", "file now"), File("f", "file"), Dir("f", 0711), Hardlink("h", "x"),
                       File("h", "replaced link")}),
              dest);
  REQUIRE(result.ok());
  CHECK(*ReadFile(dest + "/x") == "second");
  struct stat st;
  REQUIRE(stat((dest + "/d/inner").c_str(), &st) == 0);
  REQUIRE(stat((dest + "/d").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0700);
  REQUIRE(lstat((dest + "/s").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  REQUIRE(lstat((dest + "/e").c_str(), &st) == 0);
  CHECK(S_ISREG(st.st_mode));
  REQUIRE(lstat((dest + "/f").c_str(), &st) == 0);
  CHECK(S_ISDIR(st.st_mode));
  CHECK((st.st_mode & 07777) == 0711);
  REQUIRE(stat((dest + "/x").c_str(), &st) == 0);
  CHECK(st.st_nlink == 1);  // h was replaced, so x is linked once again.

  // A file cannot replace a directory that has content.
  std::string dest2 = MakeTempDir();
  CHECK(Extract(MakeTar({File("d/inner", "i"), File("d", "x")}), dest2).status().code() ==
        absl::StatusCode::kInvalidArgument);
  REQUIRE(RemoveAll(dest).ok());
  REQUIRE(RemoveAll(dest2).ok());
}

TEST_CASE("owners, setuid bits, times and xattrs survive the direct writer", "[layers][local]") {
  std::string entries;
  {
    archive* a = archive_write_new();
    archive_write_set_format_pax_restricted(a);
    REQUIRE(archive_write_open(a, &entries, nullptr, testing::AppendToString, nullptr) ==
            ARCHIVE_OK);
    auto add = [&](const char* name, mode_t type, int perm, int uid, int gid, const char* data,
                   const char* xattr_value) {
      archive_entry* e = archive_entry_new();
      archive_entry_set_pathname(e, name);
      archive_entry_set_filetype(e, type);
      archive_entry_set_perm(e, static_cast<mode_t>(perm));
      archive_entry_set_uid(e, uid);
      archive_entry_set_gid(e, gid);
      archive_entry_set_mtime(e, 1600000000, 123456789);
      if (type == AE_IFLNK) archive_entry_set_symlink(e, "target");
      if (type == AE_IFREG) archive_entry_set_size(e, static_cast<la_int64_t>(strlen(data)));
      if (xattr_value != nullptr) {
        archive_entry_xattr_add_entry(e, "user.berth", xattr_value, strlen(xattr_value));
      }
      REQUIRE(archive_write_header(a, e) == ARCHIVE_OK);
      if (type == AE_IFREG) archive_write_data(a, data, strlen(data));
      archive_entry_free(e);
    };
    add("sgid/", AE_IFDIR, 02775, 0, 1, nullptr, "dir");
    add("sgid/suid", AE_IFREG, 06755, 1000, 1001, "#!/bin/sh\n", "file");
    add("sgid/root", AE_IFREG, 0644, 0, 0, "r", nullptr);
    add("link", AE_IFLNK, 0777, 7, 7, nullptr, nullptr);
    archive_write_close(a);
    archive_write_free(a);
  }
  std::string dest = MakeTempDir();
  REQUIRE(Extract(entries, dest).ok());
  struct stat st;
  REQUIRE(stat((dest + "/sgid/suid").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 06755);
  CHECK(st.st_uid == 1000);
  CHECK(st.st_gid == 1001);
  CHECK(st.st_mtim.tv_sec == 1600000000);
  CHECK(st.st_mtim.tv_nsec == 123456789);
  char value[16] = {};
  CHECK(getxattr((dest + "/sgid/suid").c_str(), "user.berth", value, sizeof(value)) == 4);
  CHECK(std::string(value) == "file");
  // Created by root in a setgid directory of group 1, but the layer says group 0.
  REQUIRE(stat((dest + "/sgid/root").c_str(), &st) == 0);
  CHECK(st.st_gid == 0);
  REQUIRE(stat((dest + "/sgid").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 02775);
  CHECK(st.st_mtim.tv_sec == 1600000000);  // Set after its content was written.
  REQUIRE(lstat((dest + "/link").c_str(), &st) == 0);
  CHECK(st.st_uid == 7);
  CHECK(st.st_mtim.tv_sec == 1600000000);
  REQUIRE(RemoveAll(dest).ok());
}

}  // namespace berth::layers
