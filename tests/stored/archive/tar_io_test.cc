#include "stored/archive/tar_io.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <map>
#include <string>

#include "common/fs.h"
#include "common/unique_fd.h"
#include "tests/stored/test_tar.h"

namespace berth::containerfs {
namespace {

using berth::testing::Dir;
using berth::testing::File;
using berth::testing::Hardlink;
using berth::testing::MakeTar;
using berth::testing::Symlink;

struct TempRoot {
  TempRoot() {
    char tmpl[] = "/tmp/tiXXXXXX";
    REQUIRE(mkdtemp(tmpl) != nullptr);
    outside = tmpl;
    root = outside + "/root";
    REQUIRE(mkdir(root.c_str(), 0755) == 0);
    fd = UniqueFd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
    REQUIRE(fd.valid());
  }
  ~TempRoot() { RemoveAll(outside).IgnoreError(); }
  absl::Status Extract(const std::string& dest, std::string tar, ExtractOptions options = {}) {
    options.keep_owners = true;
    layers::StringSource source(std::move(tar), 7);  // tiny chunks: streaming paths
    return ExtractArchive(fd.get(), dest, source, options);
  }
  std::string outside;
  std::string root;
  UniqueFd fd;
};

class StringSink : public ByteSink {
 public:
  absl::Status Write(const char* data, size_t size) override {
    out.append(data, size);
    return absl::OkStatus();
  }
  std::string out;
};

// name -> "type:content-or-target:mode:uid"
std::map<std::string, std::string> ReadTar(const std::string& tar) {
  std::map<std::string, std::string> out;
  struct archive* a = archive_read_new();
  archive_read_support_format_tar(a);
  REQUIRE(archive_read_open_memory(a, tar.data(), tar.size()) == ARCHIVE_OK);
  archive_entry* entry;
  while (archive_read_next_header(a, &entry) == ARCHIVE_OK) {
    std::string value;
    if (archive_entry_hardlink(entry) != nullptr) {
      value = std::string("hard:") + archive_entry_hardlink(entry);
    } else if (archive_entry_filetype(entry) == AE_IFDIR) {
      value = "dir";
    } else if (archive_entry_filetype(entry) == AE_IFLNK) {
      value = std::string("link:") + archive_entry_symlink(entry);
    } else {
      std::string data(static_cast<size_t>(archive_entry_size(entry)), '\0');
      archive_read_data(a, data.data(), data.size());
      value = "file:" + data;
    }
    value += ":" + std::to_string(archive_entry_perm(entry)) + ":" +
             std::to_string(archive_entry_uid(entry));
    out[archive_entry_pathname(entry)] = value;
  }
  archive_read_free(a);
  return out;
}

TEST_CASE("extracts files, dirs, links with modes and owners") {
  TempRoot t;
  REQUIRE(MakeDirs(t.root + "/tmp").ok());
  absl::Status status = t.Extract(
      "/tmp",
      MakeTar({Dir("d", 0750, 7), File("d/f", "data", 0640, 1234), Symlink("d/l", "/etc/passwd"),
               Hardlink("d/h", "d/f"), File("implicit/parent/g", "g")}));
  REQUIRE(status.ok());
  struct stat st;
  REQUIRE(lstat((t.root + "/tmp/d/f").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0640);
  CHECK(st.st_uid == 1234);
  CHECK(st.st_nlink == 2);
  REQUIRE(lstat((t.root + "/tmp/d").c_str(), &st) == 0);
  CHECK((st.st_mode & 07777) == 0750);
  CHECK(st.st_uid == 7);
  CHECK(st.st_mtim.tv_sec == 1700000000);
  CHECK(*ReadFile(t.root + "/tmp/implicit/parent/g") == "g");
  char target[64] = {};
  REQUIRE(readlink((t.root + "/tmp/d/l").c_str(), target, sizeof(target)) > 0);
  CHECK(std::string(target) == "/etc/passwd");
}

TEST_CASE("owners are replaced unless kept") {
  TempRoot t;
  ExtractOptions options;
  options.uid = 55;
  options.gid = 66;
  layers::StringSource source(MakeTar({File("f", "x", 0644, 1234)}));
  REQUIRE(ExtractArchive(t.fd.get(), "/", source, options).ok());
  struct stat st;
  REQUIRE(lstat((t.root + "/f").c_str(), &st) == 0);
  CHECK(st.st_uid == 55);
  CHECK(st.st_gid == 66);
}

TEST_CASE("under userns-remap the container's ids are stored as the host's and read back") {
  TempRoot t;
  ExtractOptions options;
  options.uids = {{0, 100000, 65536}};
  options.gids = {{0, 200000, 65536}};
  // docker cp: the archive's owners, container ids.
  REQUIRE(t.Extract("/", MakeTar({File("kept", "k", 0644, 1000), File("far", "f", 0644, 70000)}),
                    options)
              .ok());
  struct stat st;
  REQUIRE(lstat((t.root + "/kept").c_str(), &st) == 0);
  CHECK(st.st_uid == 101000);
  CHECK(st.st_gid == 201000);
  // Outside the map: kept as it is (the kernel shows it as nobody inside).
  REQUIRE(lstat((t.root + "/far").c_str(), &st) == 0);
  CHECK(st.st_uid == 70000);
  // Owners replaced (cp -a into a container running as a user).
  options.keep_owners = false;
  options.uid = 5;
  options.gid = 6;
  layers::StringSource source(MakeTar({File("given", "g", 0644, 1234)}));
  REQUIRE(ExtractArchive(t.fd.get(), "/", source, options).ok());
  REQUIRE(lstat((t.root + "/given").c_str(), &st) == 0);
  CHECK(st.st_uid == 100005);
  CHECK(st.st_gid == 200006);

  ArchiveOptions archive;
  archive.uids = options.uids;
  archive.gids = options.gids;
  StringSink sink;
  REQUIRE(WriteArchive(t.fd.get(), "/kept", archive, sink).ok());
  CHECK(ReadTar(sink.out)["kept"] == "file:k:420:1000");
}

TEST_CASE("a file replaced by a shorter one holds exactly the new content") {
  TempRoot t;
  REQUIRE(t.Extract("/", MakeTar({File("f", std::string(100000, 'a'))})).ok());
  REQUIRE(t.Extract("/", MakeTar({File("f", "bb"), File("empty", "")})).ok());
  CHECK(*ReadFile(t.root + "/f") == "bb");
  CHECK(*ReadFile(t.root + "/empty") == "");
}

TEST_CASE("a cut archive leaves neither a half file nor a temporary one") {
  TempRoot t;
  REQUIRE(t.Extract("/", MakeTar({File("f", "old")})).ok());
  std::string tar = MakeTar({File("g", "whole"), File("f", std::string(200000, 'n'))});
  // Cut in the middle of f's content.
  CHECK_FALSE(t.Extract("/", tar.substr(0, 1024 + 512 + 100000)).ok());
  CHECK(*ReadFile(t.root + "/g") == "whole");
  CHECK(*ReadFile(t.root + "/f") == "old");
  absl::StatusOr<std::vector<std::string>> names = ListDirectory(t.root);
  REQUIRE(names.ok());
  CHECK(names->size() == 2);
}

TEST_CASE("hostile archives write nothing outside") {
  TempRoot t;
  REQUIRE(MakeDirs(t.root + "/tmp").ok());
  SECTION("dot-dot entry") {
    absl::Status status = t.Extract("/tmp", MakeTar({File("../../../../escape", "x")}));
    CHECK(absl::IsInvalidArgument(status));
  }
  SECTION("hard link to outside") {
    absl::Status status = t.Extract("/tmp", MakeTar({Hardlink("h", "../../../../etc/passwd")}));
    CHECK(absl::IsInvalidArgument(status));
  }
  SECTION("symlink climbing out, then a write through it") {
    absl::Status status =
        t.Extract("/tmp", MakeTar({Symlink("esc", "../../../.."), File("esc/escape", "x")}));
    CHECK(absl::IsInvalidArgument(status));
  }
  SECTION("absolute symlink, then a write through it: lands inside the root") {
    REQUIRE(t.Extract("/tmp", MakeTar({Symlink("abs", "/"), File("abs/escape", "x")})).ok());
    CHECK(PathExists(t.root + "/escape"));
  }
  SECTION("a symlink already in the container pointing far up") {
    REQUIRE(symlink("../../../../../../../", (t.root + "/tmp/up").c_str()) == 0);
    REQUIRE(t.Extract("/tmp/up", MakeTar({File("escape", "x")})).ok());
    CHECK(PathExists(t.root + "/escape"));
  }
  CHECK_FALSE(PathExists(t.outside + "/escape"));
  CHECK_FALSE(PathExists("/escape"));
}

TEST_CASE("extraction errors in Docker's words") {
  TempRoot t;
  REQUIRE(MakeDirs(t.root + "/d/sub").ok());
  REQUIRE(WriteFileAtomic(t.root + "/file", "f").ok());
  CHECK(absl::IsNotFound(t.Extract("/missing", MakeTar({File("x", "x")}))));
  absl::Status status = t.Extract("/file", MakeTar({File("x", "x")}));
  CHECK(absl::IsInvalidArgument(status));
  CHECK(status.message() == "extraction point is not a directory");
  ExtractOptions options;
  options.no_overwrite_dir_non_dir = true;
  status = t.Extract("/d", MakeTar({File("sub", "x")}), options);
  CHECK(status.message() == "cannot overwrite directory \"/d/sub\" with non-directory \"/d/sub\"");
  // Without the option a file replaces the directory.
  CHECK(t.Extract("/d", MakeTar({File("sub", "x")})).ok());
  CHECK(*ReadFile(t.root + "/d/sub") == "x");
}

TEST_CASE("archives name the top entry after the path and keep links") {
  TempRoot t;
  REQUIRE(MakeDirs(t.root + "/data/sub").ok());
  REQUIRE(WriteFileAtomic(t.root + "/data/sub/f", "content").ok());
  REQUIRE(link((t.root + "/data/sub/f").c_str(), (t.root + "/data/hard").c_str()) == 0);
  REQUIRE(symlink("/etc", (t.root + "/data/link").c_str()) == 0);
  REQUIRE(symlink("/data", (t.root + "/datalink").c_str()) == 0);

  StringSink sink;
  REQUIRE(WriteArchive(t.fd.get(), "/data", {}, sink).ok());
  auto entries = ReadTar(sink.out);
  CHECK(entries.count("data/") == 1);
  // The walk is sorted: "hard" comes first and carries the content.
  CHECK(entries["data/hard"].rfind("file:content", 0) == 0);
  CHECK(entries["data/sub/f"].rfind("hard:data/hard", 0) == 0);
  CHECK(entries["data/link"].rfind("link:/etc", 0) == 0);

  StringSink link_sink;
  REQUIRE(WriteArchive(t.fd.get(), "/datalink", {}, link_sink).ok());
  auto link_entries = ReadTar(link_sink.out);
  REQUIRE(link_entries.size() == 1);
  CHECK(link_entries["datalink"].rfind("link:/data", 0) == 0);

  StringSink contents;
  REQUIRE(WriteArchive(t.fd.get(), "/datalink/.", {}, contents).ok());
  auto content_entries = ReadTar(contents.out);
  CHECK(content_entries.count("./sub/f") == 1);

  StringSink bare;
  ArchiveOptions options;
  options.bare_names = true;
  REQUIRE(WriteArchive(t.fd.get(), "/", options, bare).ok());
  auto bare_entries = ReadTar(bare.out);
  CHECK(bare_entries.count("data/sub/f") == 1);
  CHECK(bare_entries.count("datalink") == 1);

  StringSink missing;
  CHECK(absl::IsNotFound(WriteArchive(t.fd.get(), "/nope", {}, missing)));
  CHECK(missing.out.empty());
}

TEST_CASE("stat reports what docker cp needs") {
  TempRoot t;
  REQUIRE(MakeDirs(t.root + "/etc").ok());
  REQUIRE(WriteFileAtomic(t.root + "/etc/hostname", "host\n").ok());
  REQUIRE(symlink("../etc/hostname", (t.root + "/etc/rel").c_str()) == 0);
  REQUIRE(symlink("/nowhere", (t.root + "/dangling").c_str()) == 0);
  absl::StatusOr<PathStat> stat = StatPath(t.fd.get(), "/etc/hostname");
  REQUIRE(stat.ok());
  CHECK(stat->name == "hostname");
  CHECK(stat->size == 5);
  CHECK(S_ISREG(stat->mode));
  stat = StatPath(t.fd.get(), "/etc/rel");
  REQUIRE(stat.ok());
  CHECK(S_ISLNK(stat->mode));
  CHECK(stat->link_target == "/etc/hostname");
  stat = StatPath(t.fd.get(), "/dangling");
  REQUIRE(stat.ok());
  CHECK(stat->link_target == "/nowhere");
  CHECK(absl::IsNotFound(StatPath(t.fd.get(), "/etc/hostname/x").status()));
  CHECK(absl::IsNotFound(StatPath(t.fd.get(), "/missing").status()));
}

}  // namespace
}  // namespace berth::containerfs
