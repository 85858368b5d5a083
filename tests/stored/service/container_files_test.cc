// docker cp and export on a stopped container, through the real archive
// helper (the berth-stored binary): the view is put together in a private
// mount namespace, so nothing may stay mounted afterwards.
#include "stored/service/container_files.h"

#include <sys/stat.h>
#include <unistd.h>

#include <catch2/catch.hpp>
#include <set>

#include "common/digest.h"
#include "common/fs.h"
#include "common/mountinfo.h"
#include "tests/stored/daemon_process.h"
#include "tests/stored/service/fixtures.h"
#include "tests/stored/test_tar.h"

namespace berth::stored {
namespace {

using testing::Dir;
using testing::File;
using testing::MakeTar;
using testing::MountedUnder;
using testing::Symlink;
using testing::TarNames;

class StringSink : public containerfs::ByteSink {
 public:
  absl::Status Write(const char* data, size_t size) override {
    out.append(data, size);
    return absl::OkStatus();
  }
  std::string out;
};

TEST_CASE("cp and export of a stopped container, volumes and binds included, leave no mount") {
  char tmpl[] = "/tmp/cfXXXXXX";
  REQUIRE(mkdtemp(tmpl) != nullptr);
  const std::string dir = tmpl;
  {
    auto opened = Storage::Open(dir + "/stored", rootfs::NewKernelMounter());
    REQUIRE(opened.ok());
    std::unique_ptr<Storage> storage = std::move(*opened);
    std::string tar = MakeTar({Dir("etc"), File("etc/passwd", "root:x:0:0\n"), Dir("tmp", 01777),
                               Symlink("escape", "/../../../..")});
    ApplyLayerHeader header{Sha256Digest(tar), "", Sha256Digest(tar)};
    layers::StringSource layer(tar);
    REQUIRE(storage->ApplyLayer(header, layer).ok());
    const std::string id(64, 'c');
    REQUIRE(storage->PrepareRootfs(id, header.chain_id).ok());
    REQUIRE(storage->volumes().Acquire("vol", id, false).ok());
    REQUIRE(MakeDirs(dir + "/bind").ok());
    REQUIRE(WriteFileAtomic(dir + "/bind/hostfile", "from host").ok());

    ContainerFiles files(storage.get(), testing::Runfile("stored/berth-stored"));
    ContainerViewSpec view;
    view.container_id = id;
    view.mounts = {{"", "vol", "/data", false}, {dir + "/bind", "", "/mnt/bind", true}};

    absl::StatusOr<containerfs::PathStat> stat = files.Stat(view, "/etc/passwd");
    REQUIRE(stat.ok());
    CHECK(stat->size == 11);
    CHECK(absl::IsNotFound(files.Stat(view, "/nope").status()));

    layers::StringSource into_volume(MakeTar({File("v.txt", "in volume")}));
    REQUIRE(files.Extract(view, "/data", {}, into_volume).ok());
    absl::StatusOr<volumes::Volume> volume = storage->volumes().Get("vol");
    REQUIRE(volume.ok());
    CHECK(*ReadFile(volume->mountpoint + "/v.txt") == "in volume");

    layers::StringSource into_ro_bind(MakeTar({File("x", "x")}));
    absl::Status ro = files.Extract(view, "/mnt/bind", {}, into_ro_bind);
    CHECK(ro.message() == "mounted volume is marked read-only");

    // Through the container's own symlink to "far above": still inside.
    layers::StringSource through(MakeTar({File("escaped", "no")}));
    REQUIRE(files.Extract(view, "/escape/tmp", {}, through).ok());
    CHECK_FALSE(PathExists("/tmp/escaped"));

    StringSink out;
    absl::Status archived = files.Archive(
        view, "/mnt/bind", [](const containerfs::PathStat&) { return absl::OkStatus(); }, out);
    REQUIRE(archived.ok());
    CHECK(TarNames(out.out).count("bind/hostfile") == 1);

    StringSink exported;
    REQUIRE(files.Export(id, exported).ok());
    std::set<std::string> names = TarNames(exported.out);
    CHECK(names.count("etc/passwd") == 1);
    CHECK(names.count("tmp/escaped") == 1);
    CHECK(names.count("data/v.txt") == 0);  // volumes are not exported

    CHECK_FALSE(MountedUnder(dir));
    REQUIRE(storage->volumes().Release("vol", id, false).ok());
    REQUIRE(storage->RemoveRootfs(id).ok());
  }
  CHECK(RemoveAll(dir).ok());
}

}  // namespace
}  // namespace berth::stored
