#include "stored/service/commit.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <stdlib.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "common/fs.h"

namespace berth::stored {
namespace {

class StringSink : public containerfs::ByteSink {
 public:
  absl::Status Write(const char* data, size_t size) override {
    data_.append(data, size);
    return absl::OkStatus();
  }
  std::string data_;
};

struct Entry {
  mode_t type = 0;
  int mode = 0;
  int uid = 0;
  std::string content;
  std::string link;
  std::string hardlink;
  std::map<std::string, std::string> xattrs;
};

std::map<std::string, Entry> ReadTar(const std::string& tar) {
  std::map<std::string, Entry> out;
  archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  REQUIRE(archive_read_open_memory(a, tar.data(), tar.size()) == ARCHIVE_OK);
  archive_entry* entry;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    Entry e;
    e.type = archive_entry_filetype(entry);
    e.mode = archive_entry_perm(entry);
    e.uid = static_cast<int>(archive_entry_uid(entry));
    if (archive_entry_symlink(entry)) e.link = archive_entry_symlink(entry);
    if (archive_entry_hardlink(entry)) e.hardlink = archive_entry_hardlink(entry);
    archive_entry_xattr_reset(entry);
    const char* name;
    const void* value;
    size_t size;
    while (archive_entry_xattr_next(entry, &name, &value, &size) == ARCHIVE_OK) {
      e.xattrs[name] = std::string(static_cast<const char*>(value), size);
    }
    char buffer[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buffer, sizeof(buffer))) > 0) e.content.append(buffer, n);
    out[archive_entry_pathname(entry)] = e;
  }
  archive_read_free(a);
  return out;
}

struct TempDir {
  TempDir() {
    char pattern[] = "/tmp/cmtXXXXXX";
    path = mkdtemp(pattern);
  }
  ~TempDir() { RemoveAll(path).IgnoreError(); }
  std::string path;
};

void Write(const std::string& path, const std::string& content) {
  REQUIRE(WriteFileAtomic(path, content).ok());
}

TEST_CASE("an upper dir becomes a layer with Docker's whiteouts", "[commit]") {
  if (geteuid() != 0) return;  // whiteouts and trusted.* xattrs need root
  TempDir upper;
  const std::string u = upper.path;
  REQUIRE(mkdir((u + "/etc").c_str(), 0755) == 0);
  Write(u + "/etc/hosts", "127.0.0.1 x\n");
  Write(u + "/etc/hostname", "x\n");
  Write(u + "/etc/resolv.conf", "nameserver 1.1.1.1\n");
  Write(u + "/etc/motd", "hello\n");
  REQUIRE(chmod((u + "/etc/motd").c_str(), 0640) == 0);
  REQUIRE(chown((u + "/etc/motd").c_str(), 1000, 1000) == 0);
  REQUIRE(link((u + "/etc/motd").c_str(), (u + "/etc/motd2").c_str()) == 0);
  REQUIRE(symlink("motd", (u + "/etc/link").c_str()) == 0);
  REQUIRE(mknod((u + "/etc/gone").c_str(), S_IFCHR | 0, makedev(0, 0)) == 0);
  REQUIRE(mkdir((u + "/opaque").c_str(), 0700) == 0);
  REQUIRE(setxattr((u + "/opaque").c_str(), "trusted.overlay.opaque", "y", 1, 0) == 0);
  Write(u + "/opaque/new", "n");
  REQUIRE(setxattr((u + "/opaque/new").c_str(), "user.k", "v", 1, 0) == 0);
  REQUIRE(mkdir((u + "/data").c_str(), 0755) == 0);
  Write(u + "/data/in-volume", "v");
  REQUIRE(mknod((u + "/rootgone").c_str(), S_IFCHR | 0, makedev(0, 0)) == 0);

  StringSink sink;
  REQUIRE(
      WriteLayerDiff(u, {"/data/", "/etc/hostname", "/etc/hosts", "/etc/resolv.conf"}, sink).ok());
  auto entries = ReadTar(sink.data_);

  CHECK(entries.count("etc/") == 1);
  CHECK(entries.count("etc/hosts") == 0);
  CHECK(entries.count("etc/hostname") == 0);
  CHECK(entries.count("etc/resolv.conf") == 0);
  CHECK(entries.count("data/") == 0);
  CHECK(entries.count("data/in-volume") == 0);
  REQUIRE(entries.count("etc/motd") == 1);
  CHECK(entries["etc/motd"].content == "hello\n");
  CHECK(entries["etc/motd"].mode == 0640);
  CHECK(entries["etc/motd"].uid == 1000);
  CHECK(entries["etc/motd2"].hardlink == "etc/motd");
  CHECK(entries["etc/link"].link == "motd");
  REQUIRE(entries.count("etc/.wh.gone") == 1);
  CHECK(entries["etc/.wh.gone"].type == AE_IFREG);
  CHECK(entries.count("etc/gone") == 0);
  CHECK(entries.count(".wh.rootgone") == 1);
  REQUIRE(entries.count("opaque/") == 1);
  CHECK(entries["opaque/"].mode == 0700);
  CHECK(entries["opaque/"].xattrs.count("trusted.overlay.opaque") == 0);
  CHECK(entries.count("opaque/.wh..wh..opq") == 1);
  CHECK(entries["opaque/new"].xattrs["user.k"] == "v");
}

TEST_CASE("an empty upper dir is an empty tar", "[commit]") {
  TempDir upper;
  StringSink sink;
  REQUIRE(WriteLayerDiff(upper.path, DefaultCommitExclusions(), sink).ok());
  CHECK(ReadTar(sink.data_).empty());
  CHECK_FALSE(sink.data_.empty());
}

TEST_CASE("a missing upper dir is an error", "[commit]") {
  StringSink sink;
  CHECK_FALSE(WriteLayerDiff("/nonexistent/upper", {}, sink).ok());
}

TEST_CASE("under userns-remap a layer records the container's ids, not the host's") {
  TempDir temp;
  const std::string upper = temp.path + "/upper";
  REQUIRE(MakeDirs(upper + "/made", 0755).ok());
  Write(upper + "/made/by-root", "r");
  Write(upper + "/by-user", "u");
  Write(upper + "/copied-in", "c");
  REQUIRE(chown((upper + "/made").c_str(), 100000, 100000) == 0);
  REQUIRE(chown((upper + "/made/by-root").c_str(), 100000, 100000) == 0);
  REQUIRE(chown((upper + "/by-user").c_str(), 101000, 101000) == 0);
  UsernsRemap remap;
  remap.uids = {{0, 100000, 65536}};
  remap.gids = {{0, 100000, 65536}};
  StringSink sink;
  REQUIRE(WriteLayerDiff(upper, {}, sink, &remap).ok());
  auto entries = ReadTar(sink.data_);
  CHECK(entries.at("made/").uid == 0);
  CHECK(entries.at("made/by-root").uid == 0);
  CHECK(entries.at("by-user").uid == 1000);
  // Outside the map (host root's, e.g. docker cp'd in): kept.
  CHECK(entries.at("copied-in").uid == 0);

  StringSink plain;
  REQUIRE(WriteLayerDiff(upper, {}, plain).ok());
  CHECK(ReadTar(plain.data_).at("by-user").uid == 101000);
}

}  // namespace
}  // namespace berth::stored
