// Drives stored's gRPC service the way imaged and runtimed will: over a unix
// socket, with the layer streamed in chunks after its header.
#include "stored/service/storage_service.h"

#include <catch2/catch.hpp>

#include "common/digest.h"
#include "common/fs.h"
#include "common/grpc_server.h"
#include "common/mountinfo.h"
#include "tests/stored/test_tar.h"

namespace berth {
namespace {

using namespace storage::v1;
using Stub = storage::v1::StorageService::Stub;

grpc::Status SendLayer(Stub& stub, const storage::v1::ApplyLayerHeader& header,
                       const std::string& data, ApplyLayerResponse* response) {
  grpc::ClientContext context;
  auto writer = stub.ApplyLayer(&context, response);
  ApplyLayerRequest first;
  *first.mutable_header() = header;
  writer->Write(first);
  for (size_t offset = 0; offset < data.size(); offset += 1000) {
    ApplyLayerRequest chunk;
    chunk.mutable_chunk()->set_data(data.substr(offset, 1000));
    if (!writer->Write(chunk)) break;
  }
  writer->WritesDone();
  return writer->Finish();
}

}  // namespace

TEST_CASE("stored over gRPC: apply, stat, prepare, mount, unmount, remove", "[stored][local]") {
  std::string root = testing::MakeTempDir();
  DaemonOptions options;
  options.component = "stored";
  options.root = root;
  options.exec_root = root + "/run";
  auto storage = stored::Storage::Open(options.StateDir(), rootfs::NewKernelMounter());
  REQUIRE(storage.ok());
  stored::StorageService service(storage->get());
  auto server = GrpcServer::Start(options, {&service});
  REQUIRE(server.ok());
  auto stub = storage::v1::StorageService::NewStub(UnixChannel(options.GrpcSocket()));

  std::string tar = testing::MakeTar({testing::File("hello", "world")});
  std::string gz = testing::Compress(tar, testing::Compression::kGzip);
  storage::v1::ApplyLayerHeader header;
  header.set_chain_id(Sha256Digest(tar));
  header.set_diff_id(Sha256Digest(tar));

  ApplyLayerResponse applied;
  grpc::Status status = SendLayer(*stub, header, gz, &applied);
  INFO(status.error_message());
  REQUIRE(status.ok());
  CHECK(applied.chain_id() == header.chain_id());
  CHECK(applied.size() == 5);

  storage::v1::ApplyLayerHeader bad = header;
  bad.set_chain_id(Sha256Digest("other"));
  bad.set_diff_id(Sha256Digest("other"));
  status = SendLayer(*stub, bad, tar, &applied);
  CHECK(status.error_code() == grpc::StatusCode::INVALID_ARGUMENT);
  CHECK(status.error_message().find("layer digest mismatch") == 0);

  {
    grpc::ClientContext context;
    StatLayerRequest request;
    request.set_chain_id(header.chain_id());
    StatLayerResponse response;
    REQUIRE(stub->StatLayer(&context, request, &response).ok());
    CHECK(response.exists());
    CHECK(response.size() == 5);
  }
  {
    grpc::ClientContext context;
    PrepareRootfsRequest request;
    request.set_container_id("abc");
    request.set_parent_chain_id(header.chain_id());
    PrepareRootfsResponse response;
    REQUIRE(stub->PrepareRootfs(&context, request, &response).ok());
  }
  std::string path;
  {
    grpc::ClientContext context;
    MountRootfsRequest request;
    request.set_container_id("abc");
    MountRootfsResponse response;
    REQUIRE(stub->MountRootfs(&context, request, &response).ok());
    path = response.path();
    CHECK(*ReadFile(path + "/hello") == "world");
  }
  {
    grpc::ClientContext context;
    MountRootfsRequest request;
    request.set_container_id("missing");
    MountRootfsResponse response;
    CHECK(stub->MountRootfs(&context, request, &response).error_code() ==
          grpc::StatusCode::NOT_FOUND);
  }
  {
    grpc::ClientContext context;
    UnmountRootfsRequest request;
    request.set_container_id("abc");
    UnmountRootfsResponse response;
    REQUIRE(stub->UnmountRootfs(&context, request, &response).ok());
    CHECK_FALSE(*IsMountPoint(path));
  }
  {
    grpc::ClientContext context;
    RemoveRootfsRequest request;
    request.set_container_id("abc");
    RemoveRootfsResponse response;
    REQUIRE(stub->RemoveRootfs(&context, request, &response).ok());
  }
  {
    grpc::ClientContext context;
    RemoveLayerRequest request;
    request.set_chain_id(header.chain_id());
    RemoveLayerResponse response;
    REQUIRE(stub->RemoveLayer(&context, request, &response).ok());
  }
  server->reset();
  storage->reset();
  REQUIRE(RemoveAll(root).ok());
}

}  // namespace berth
