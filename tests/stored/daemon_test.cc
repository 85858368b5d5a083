// End to end: the berth-stored binary serves, survives SIGKILL with a mounted
// rootfs, and stops cleanly on SIGTERM.
#include <catch2/catch.hpp>

#include "common/digest.h"
#include "common/fs.h"
#include "common/mountinfo.h"
#include "proto/storage/v1/storage.grpc.pb.h"
#include "tests/stored/daemon_process.h"
#include "tests/stored/test_tar.h"

namespace berth {

using namespace storage::v1;

TEST_CASE("berth-stored serves, and a SIGKILL leaves the rootfs mounted and usable",
          "[stored][local]") {
  std::string dir = testing::MakeTempDir();
  testing::DaemonProcess daemon(testing::Runfile("stored/berth-stored"), dir + "/r", dir + "/e");
  REQUIRE(daemon.Start("stored"));
  auto stub = StorageService::NewStub(UnixChannel(dir + "/e/grpc/stored.sock"));

  std::string tar = testing::MakeTar({testing::File("etc/os-release", "ID=berth\n")});
  {
    grpc::ClientContext context;
    ApplyLayerResponse response;
    auto writer = stub->ApplyLayer(&context, &response);
    ApplyLayerRequest header;
    header.mutable_header()->set_chain_id(Sha256Digest(tar));
    header.mutable_header()->set_diff_id(Sha256Digest(tar));
    REQUIRE(writer->Write(header));
    ApplyLayerRequest chunk;
    chunk.mutable_chunk()->set_data(testing::Compress(tar, testing::Compression::kZstd));
    REQUIRE(writer->Write(chunk));
    writer->WritesDone();
    grpc::Status status = writer->Finish();
    INFO(status.error_message());
    REQUIRE(status.ok());
  }
  std::string path;
  {
    grpc::ClientContext prepare_context;
    PrepareRootfsRequest prepare;
    prepare.set_container_id("c0ffee");
    prepare.set_parent_chain_id(Sha256Digest(tar));
    PrepareRootfsResponse prepared;
    REQUIRE(stub->PrepareRootfs(&prepare_context, prepare, &prepared).ok());
    grpc::ClientContext mount_context;
    MountRootfsRequest mount;
    mount.set_container_id("c0ffee");
    MountRootfsResponse mounted;
    REQUIRE(stub->MountRootfs(&mount_context, mount, &mounted).ok());
    path = mounted.path();
  }
  CHECK(*ReadFile(path + "/etc/os-release") == "ID=berth\n");

  daemon.Kill(SIGKILL);
  CHECK(*IsMountPoint(path));
  REQUIRE(daemon.Start("stored"));
  {
    grpc::ClientContext context;
    MountRootfsRequest mount;
    mount.set_container_id("c0ffee");
    MountRootfsResponse mounted;
    REQUIRE(stub->MountRootfs(&context, mount, &mounted).ok());
    CHECK(mounted.path() == path);
  }
  {
    grpc::ClientContext context;
    RemoveRootfsRequest remove;
    remove.set_container_id("c0ffee");
    RemoveRootfsResponse removed;
    REQUIRE(stub->RemoveRootfs(&context, remove, &removed).ok());
    CHECK_FALSE(*IsMountPoint(path));
  }
  int status = daemon.Kill(SIGTERM);
  CHECK(WIFEXITED(status));
  CHECK(WEXITSTATUS(status) == 0);
  REQUIRE(RemoveAll(dir).ok());
}

}  // namespace berth
