#include "stored/archive/resolve.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <cstdlib>
#include <string>

#include "common/fs.h"

namespace berth::containerfs {
namespace {

struct TempRoot {
  TempRoot() {
    char tmpl[] = "/tmp/rsXXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    outside = tmpl;
    root = outside + "/root";
    REQUIRE(mkdir(root.c_str(), 0755) == 0);
    fd = UniqueFd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(fd.valid());
  }
  ~TempRoot() { RemoveAll(outside).IgnoreError(); }
  std::string outside;
  std::string root;
  UniqueFd fd;
};

// The container path `path` resolves to, as a path beneath the root; an
// "error: ..." string when it does not resolve.
std::string ResolvedPath(TempRoot& t, const std::string& path, bool follow = true) {
  absl::StatusOr<UniqueFd> fd = OpenInRoot(t.fd.get(), path, O_PATH, follow);
  if (!fd.ok()) return "error: " + std::string(fd.status().message());
  struct stat st;
  REQUIRE(fstat(fd->get(), &st) == 0);
  for (const char* candidate : {"/", "/etc", "/etc/passwd", "/pw", "/new"}) {
    struct stat other;
    if (lstat((t.root + candidate).c_str(), &other) == 0 && other.st_ino == st.st_ino &&
        other.st_dev == st.st_dev) {
      return candidate;
    }
  }
  return "elsewhere";
}

TEST_CASE("container paths split as Docker's archive code does") {
  ContainerPath p = SplitContainerPath("/a/b/");
  CHECK(p.clean == "/a/b");
  CHECK(p.dir == "/a");
  CHECK(p.base == "b");
  CHECK(p.follow_final);
  CHECK_FALSE(p.ends_with_dot);
  p = SplitContainerPath("/a/b/.");
  CHECK(p.ends_with_dot);
  CHECK(p.follow_final);
  p = SplitContainerPath("../../etc/passwd");
  CHECK(p.clean == "/etc/passwd");
  CHECK(p.dir == "/etc");
  p = SplitContainerPath("/");
  CHECK(p.clean == "/");
  CHECK(p.base == ".");
  CHECK(CleanAbsolute("/a/../../b/./c//") == "/b/c");
}

TEST_CASE("tar entry names may not climb out of the destination") {
  CHECK(*CleanRelative("a/./b//c/") == "a/b/c");
  CHECK(*CleanRelative("a/../b") == "b");
  CHECK(*CleanRelative("/abs/name") == "abs/name");
  CHECK(*CleanRelative("./") == "");
  CHECK(absl::IsInvalidArgument(CleanRelative("../x").status()));
  CHECK(absl::IsInvalidArgument(CleanRelative("a/../../x").status()));
}

TEST_CASE("absolute symlinks and .. resolve inside the root") {
  TempRoot t;
  REQUIRE(MakeDirs(t.root + "/etc").ok());
  REQUIRE(WriteFileAtomic(t.root + "/etc/passwd", "inside").ok());
  REQUIRE(WriteFileAtomic(t.outside + "/secret", "outside").ok());
  REQUIRE(symlink("/", (t.root + "/rootlink").c_str()) == 0);
  REQUIRE(symlink("../../../../..", (t.root + "/etc/up").c_str()) == 0);
  REQUIRE(symlink("/etc/passwd", (t.root + "/pw").c_str()) == 0);
  REQUIRE(symlink("/../secret", (t.root + "/escape").c_str()) == 0);

  CHECK(ResolvedPath(t, "/rootlink/etc/passwd") == "/etc/passwd");
  CHECK(ResolvedPath(t, "/etc/up/etc/passwd") == "/etc/passwd");
  CHECK(ResolvedPath(t, "/../../../etc/passwd") == "/etc/passwd");
  CHECK(ResolvedPath(t, "/pw") == "/etc/passwd");
  CHECK(ResolvedPath(t, "/pw", false) == "/pw");
  // "/../secret" from inside the root is "/secret" of the root: missing.
  CHECK(ResolvedPath(t, "/escape").rfind("error", 0) == 0);
  CHECK(ResolvedPath(t, "/etc/up/secret").rfind("error", 0) == 0);
}

TEST_CASE("PathInRoot names a directory by its path beneath the root") {
  TempRoot t;
  REQUIRE(MakeDirs(t.root + "/a/b").ok());
  REQUIRE(symlink("/a/b", (t.root + "/l").c_str()) == 0);
  absl::StatusOr<UniqueFd> fd = OpenInRoot(t.fd.get(), "/l", O_RDONLY | O_DIRECTORY, true);
  REQUIRE(fd.ok());
  CHECK(*PathInRoot(t.fd.get(), fd->get()) == "/a/b");
  CHECK(*PathInRoot(t.fd.get(), t.fd.get()) == "/");
}

TEST_CASE("symlink loops are an error, not a hang") {
  TempRoot t;
  REQUIRE(symlink("/b", (t.root + "/a").c_str()) == 0);
  REQUIRE(symlink("/a", (t.root + "/b").c_str()) == 0);
  absl::StatusOr<UniqueFd> fd = OpenInRoot(t.fd.get(), "/a/x", O_PATH, true);
  REQUIRE_FALSE(fd.ok());
  CHECK(std::string(fd.status().message()).find("symbolic links") != std::string::npos);
}

TEST_CASE("MakeDirsInRoot creates through symlinks without leaving the root") {
  TempRoot t;
  REQUIRE(symlink("/../../", (t.root + "/out").c_str()) == 0);
  absl::StatusOr<UniqueFd> dir = MakeDirsInRoot(t.fd.get(), "/out/new/sub", getuid(), getgid());
  REQUIRE(dir.ok());
  struct stat st;
  CHECK(stat((t.root + "/new/sub").c_str(), &st) == 0);
  CHECK(stat((t.outside + "/new").c_str(), &st) != 0);
}

TEST_CASE("RemoveTreeAt removes a tree without following links out of it") {
  TempRoot t;
  REQUIRE(MakeDirs(t.root + "/victim/a").ok());
  REQUIRE(WriteFileAtomic(t.outside + "/keep", "k").ok());
  REQUIRE(symlink(t.outside.c_str(), (t.root + "/victim/a/link").c_str()) == 0);
  REQUIRE(RemoveTreeAt(t.fd.get(), "victim").ok());
  CHECK_FALSE(PathExists(t.root + "/victim"));
  CHECK(PathExists(t.outside + "/keep"));
}

}  // namespace
}  // namespace berth::containerfs
