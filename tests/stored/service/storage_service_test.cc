// Drives stored's gRPC service the way imaged and runtimed will: over a unix
// socket, with the layer streamed in chunks after its header.
#include "stored/service/storage_service.h"

#include <catch2/catch.hpp>

#include "common/digest.h"
#include "common/mountinfo.h"
#include "tests/stored/service/fixtures.h"

namespace berth {

using namespace storage::v1;
using testing::SendLayer;

TEST_CASE("stored over gRPC: apply, stat, prepare, mount, unmount, remove", "[stored][local]") {
  testing::StoredServer server;
  auto& stub = server.stub;

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
}

}  // namespace berth
