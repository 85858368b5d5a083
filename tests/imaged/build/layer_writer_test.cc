#include "imaged/build/layer_writer.h"

#include <archive.h>
#include <archive_entry.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>

#include "imaged/byte_source.h"
#include "tests/imaged/build/tar_builder.h"

namespace berth::imaged::build {
namespace {

using testing::TarBuilder;
using testing::TempDir;

struct Entry {
  std::string name;
  unsigned type;
  uint32_t mode;
  uint32_t uid;
  uint32_t gid;
  std::string content;
  std::string link;
};

std::vector<Entry> ReadTar(const std::string& tar) {
  std::vector<Entry> entries;
  struct archive* a = archive_read_new();
  archive_read_support_format_all(a);
  archive_read_support_format_empty(a);
  REQUIRE(archive_read_open_memory(a, tar.data(), tar.size()) == ARCHIVE_OK);
  struct archive_entry* e = nullptr;
  while (archive_read_next_header(a, &e) == ARCHIVE_OK) {
    Entry entry{archive_entry_pathname(e),
                archive_entry_filetype(e),
                static_cast<uint32_t>(archive_entry_perm(e)),
                static_cast<uint32_t>(archive_entry_uid(e)),
                static_cast<uint32_t>(archive_entry_gid(e)),
                "",
                archive_entry_symlink(e) ? archive_entry_symlink(e) : ""};
    char buffer[4096];
    la_ssize_t n;
    while ((n = archive_read_data(a, buffer, sizeof(buffer))) > 0) entry.content.append(buffer, n);
    entries.push_back(entry);
  }
  archive_read_free(a);
  return entries;
}

struct Fixture {
  Fixture() {
    StringSource source(
        TarBuilder()
            .File("app.sh", "echo hi", 0755)
            .File("conf/a.conf", "a", 0600)
            .Symlink("conf/link", "a.conf")
            .File("pkg.tgz", TarBuilder(true).Dir("pkg").File("pkg/bin", "bin", 0700).Finish())
            .Finish());
    auto loaded = BuildContext::Extract(source, dir.path());
    REQUIRE(loaded.ok());
    context = std::move(*loaded);
  }
  std::vector<Entry> Layer(const CopyRequest& request, const Owner& owner = {}) {
    auto plan = ResolveCopy(*context, request, [](const std::string&) { return false; });
    REQUIRE(plan.ok());
    std::string tar;
    absl::Status status = WriteCopyLayer(
        *plan, *context, owner, [this](const std::string& p) { return existing.count(p) > 0; },
        [&](absl::string_view bytes) {
          tar.append(bytes.data(), bytes.size());
          return absl::OkStatus();
        });
    INFO(status.ToString());
    REQUIRE(status.ok());
    return ReadTar(tar);
  }
  TempDir dir;
  std::unique_ptr<BuildContext> context;
  std::set<std::string> existing = {"/usr", "/usr/local"};
};

CopyRequest Request(std::vector<std::string> sources, std::string dest, bool add = false) {
  CopyRequest request;
  request.instruction = add ? "ADD" : "COPY";
  request.sources = std::move(sources);
  request.dest = std::move(dest);
  request.allow_remote_and_extract = add;
  return request;
}

TEST_CASE("a COPY layer has the files and only the missing parents") {
  Fixture f;
  std::vector<Entry> entries = f.Layer(Request({"app.sh"}, "/usr/local/bin/"), Owner{10, 20});
  REQUIRE(entries.size() == 2);
  CHECK(entries[0].name == "usr/local/bin/");
  CHECK(entries[0].mode == 0755);
  CHECK(entries[0].uid == 10);
  CHECK(entries[1].name == "usr/local/bin/app.sh");
  CHECK(entries[1].content == "echo hi");
  CHECK(entries[1].mode == 0755);
  CHECK(entries[1].gid == 20);
}

TEST_CASE("directories keep their modes and links") {
  Fixture f;
  std::vector<Entry> entries = f.Layer(Request({"conf"}, "/etc/app"));
  REQUIRE(entries.size() == 4);
  CHECK(entries[0].name == "etc/");
  CHECK(entries[1].name == "etc/app/");
  CHECK(entries[2].name == "etc/app/a.conf");
  CHECK(entries[2].mode == 0600);
  CHECK(entries[3].name == "etc/app/link");
  CHECK(entries[3].link == "a.conf");
}

TEST_CASE("ADD extracts an archive into the destination") {
  Fixture f;
  std::vector<Entry> entries = f.Layer(Request({"pkg.tgz"}, "/opt", true));
  REQUIRE(entries.size() == 3);
  CHECK(entries[0].name == "opt/");
  CHECK(entries[1].name == "opt/pkg/");
  CHECK(entries[2].name == "opt/pkg/bin");
  CHECK(entries[2].content == "bin");
  CHECK(entries[2].mode == 0700);
}

TEST_CASE("the same files make the same layer") {
  Fixture a, b;
  CopyRequest request = Request({"conf", "app.sh"}, "/x/");
  auto layer = [](Fixture& f, const CopyRequest& r) {
    auto plan = ResolveCopy(*f.context, r, [](const std::string&) { return false; });
    REQUIRE(plan.ok());
    std::string tar;
    REQUIRE(WriteCopyLayer(
                *plan, *f.context, {}, [](const std::string&) { return false; },
                [&](absl::string_view bytes) {
                  tar.append(bytes.data(), bytes.size());
                  return absl::OkStatus();
                })
                .ok());
    return tar;
  };
  CHECK(layer(a, request) == layer(b, request));
}

TEST_CASE("WORKDIR layers") {
  std::string tar;
  auto sink = [&](absl::string_view bytes) {
    tar.append(bytes.data(), bytes.size());
    return absl::OkStatus();
  };
  REQUIRE(WriteWorkdirLayer(
              "/app/src", Owner{1, 1}, [](const std::string& p) { return p == "/app"; }, sink)
              .ok());
  std::vector<Entry> entries = ReadTar(tar);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].name == "app/src/");
  CHECK(entries[0].uid == 1);
  tar.clear();
  REQUIRE(WriteWorkdirLayer(
              "/app", {}, [](const std::string&) { return true; }, sink)
              .ok());
  CHECK(ReadTar(tar).empty());
}

TEST_CASE("--chown against passwd and group") {
  const std::string passwd = "root:x:0:0:root:/root:/bin/sh\napp:x:1000:1000::/home/app:/bin/sh\n";
  const std::string group = "root:x:0:\nstaff:x:50:app\napp:x:1000:\n";
  auto owner = ResolveChown("app", passwd, group);
  REQUIRE(owner.ok());
  CHECK(owner->uid == 1000);
  CHECK(owner->gid == 1000);
  CHECK(ResolveChown("app:staff", passwd, group)->gid == 50);
  CHECK(ResolveChown("5:6", "", "")->gid == 6);
  CHECK(ResolveChown("", "", "")->uid == 0);
  CHECK(ResolveChown("nobody", passwd, group).status().message() ==
        "can't find uid for user nobody: no such user: nobody");
  CHECK(ResolveChown("app:wheel", passwd, group).status().message() ==
        "can't find gid for group wheel: no such group: wheel");
  CHECK_FALSE(ResolveChown("a:b:c", passwd, group).ok());
}

TEST_CASE("COPY --from keeps the owners of an image's files") {
  TempDir root;
  REQUIRE(MakeDirs(root.path() + "/out").ok());
  int fd = open((root.path() + "/out/app").c_str(), O_CREAT | O_WRONLY, 0750);
  REQUIRE(fd >= 0);
  REQUIRE(write(fd, "bin", 3) == 3);
  close(fd);
  REQUIRE(chown((root.path() + "/out/app").c_str(), 123, 456) == 0);
  REQUIRE(symlink("/out/app", (root.path() + "/latest").c_str()) == 0);
  DirectoryTree tree(root.path());
  CopyRequest request = Request({"latest"}, "/bin/");
  request.from = "build";
  auto plan = ResolveCopy(tree, request, [](const std::string&) { return false; });
  REQUIRE(plan.ok());
  CHECK(plan->preserve_ownership);
  // The absolute link resolves inside the image's root.
  CHECK(plan->items[0].source == "out/app");
  std::string tar;
  REQUIRE(WriteCopyLayer(
              *plan, tree, {}, [](const std::string&) { return true; },
              [&](absl::string_view bytes) {
                tar.append(bytes.data(), bytes.size());
                return absl::OkStatus();
              })
              .ok());
  std::vector<Entry> entries = ReadTar(tar);
  REQUIRE(entries.size() == 1);
  CHECK(entries[0].name == "bin/latest");
  CHECK(entries[0].uid == 123);
  CHECK(entries[0].gid == 456);
  CHECK(entries[0].mode == 0750);
}

}  // namespace
}  // namespace berth::imaged::build
