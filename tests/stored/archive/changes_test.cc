#include "stored/archive/changes.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <string>

#include "common/fs.h"

namespace berth::containerfs {
namespace {

struct Layers {
  Layers() {
    char tmpl[] = "/tmp/chXXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    base = tmpl;
    lower = base + "/lower";
    upper = base + "/upper";
    REQUIRE(MakeDirs(lower + "/etc").ok());
    REQUIRE(MakeDirs(lower + "/var/lib").ok());
    REQUIRE(MakeDirs(upper).ok());
    REQUIRE(WriteFileAtomic(lower + "/etc/passwd", "root").ok());
    REQUIRE(WriteFileAtomic(lower + "/etc/group", "root").ok());
    REQUIRE(WriteFileAtomic(lower + "/var/lib/db", "db").ok());
  }
  ~Layers() { RemoveAll(base).IgnoreError(); }
  // Copies a lower directory's attributes, as overlayfs's copy-up does.
  void CopyUp(const std::string& dir) {
    REQUIRE(MakeDirs(upper + dir).ok());
    struct stat st;
    REQUIRE(stat((lower + dir).c_str(), &st) == 0);
    REQUIRE(chmod((upper + dir).c_str(), st.st_mode & 07777) == 0);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    REQUIRE(utimensat(AT_FDCWD, (upper + dir).c_str(), times, 0) == 0);
  }
  std::string Render() {
    absl::StatusOr<std::vector<Change>> changes = ComputeChanges(upper, {lower});
    REQUIRE(changes.ok());
    std::string out;
    for (const Change& c : *changes) {
      out += "CAD"[static_cast<int>(c.kind)];
      out += " " + c.path + "\n";
    }
    return out;
  }
  std::string base, lower, upper;
};

TEST_CASE("added, modified and deleted files") {
  Layers l;
  l.CopyUp("/etc");
  REQUIRE(WriteFileAtomic(l.upper + "/etc/passwd", "changed").ok());
  REQUIRE(mknod((l.upper + "/etc/group").c_str(), S_IFCHR | 0, makedev(0, 0)) == 0);
  REQUIRE(WriteFileAtomic(l.upper + "/new", "n").ok());
  // An untouched copied-up dir with nothing changed below reports nothing.
  l.CopyUp("/var");
  CHECK(l.Render() ==
        "C /etc\n"
        "D /etc/group\n"
        "C /etc/passwd\n"
        "A /new\n");
}

TEST_CASE("a new directory and its content are added") {
  Layers l;
  REQUIRE(MakeDirs(l.upper + "/opt/app").ok());
  REQUIRE(WriteFileAtomic(l.upper + "/opt/app/bin", "b").ok());
  CHECK(l.Render() ==
        "A /opt\n"
        "A /opt/app\n"
        "A /opt/app/bin\n");
}

TEST_CASE("an opaque directory that hides a lower one is deleted, as Moby reports it") {
  Layers l;
  l.CopyUp("/var");
  REQUIRE(MakeDirs(l.upper + "/var/lib").ok());
  REQUIRE(setxattr((l.upper + "/var/lib").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  REQUIRE(WriteFileAtomic(l.upper + "/var/lib/fresh", "f").ok());
  CHECK(l.Render() ==
        "C /var\n"
        "D /var/lib\n"
        "A /var/lib/fresh\n");
}

TEST_CASE("sizes count files once per inode, not directories") {
  Layers l;
  REQUIRE(WriteFileAtomic(l.upper + "/a", std::string(1000, 'a')).ok());
  REQUIRE(MakeDirs(l.upper + "/d").ok());
  REQUIRE(WriteFileAtomic(l.upper + "/d/b", std::string(24, 'b')).ok());
  REQUIRE(link((l.upper + "/a").c_str(), (l.upper + "/d/hard").c_str()) == 0);
  REQUIRE(symlink("/nowhere", (l.upper + "/d/link").c_str()) == 0);
  CHECK(*DirectorySize(l.upper) == 1000 + 24 + 8);
  CHECK(*DirectorySize(l.base + "/missing") == 0);
}

}  // namespace
}  // namespace berth::containerfs
