// The ApplyLayer stream with parent_pending, as imaged's GrpcLayerSink sends
// it: header, chunks, tar_end, then (once the parent is published) publish.
#include <dirent.h>

#include <catch2/catch.hpp>
#include <chrono>
#include <memory>
#include <thread>

#include "common/digest.h"
#include "stored/service/storage_service.h"
#include "tests/stored/service/fixtures.h"

namespace berth {
namespace {

using namespace storage::v1;

// A child layer's stream, left open after its tar.
class PendingChild {
 public:
  PendingChild(StorageService::Stub& stub, const ApplyLayerHeader& header, const std::string& tar)
      : writer_(stub.ApplyLayer(&context_, &response_)) {
    ApplyLayerRequest request;
    *request.mutable_header() = header;
    request.mutable_header()->set_parent_pending(true);
    REQUIRE(writer_->Write(request));
    request.mutable_chunk()->set_data(tar);
    REQUIRE(writer_->Write(request));
    request.set_tar_end(true);
    REQUIRE(writer_->Write(request));
  }
  grpc::Status Finish(bool publish) {
    if (publish) {
      ApplyLayerRequest request;
      request.set_publish(true);
      writer_->Write(request);
    }
    writer_->WritesDone();
    return writer_->Finish();
  }
  void Cancel() { context_.TryCancel(); }

 private:
  grpc::ClientContext context_;
  ApplyLayerResponse response_;
  std::unique_ptr<grpc::ClientWriter<ApplyLayerRequest>> writer_;
};

bool Exists(StorageService::Stub& stub, const std::string& chain_id) {
  grpc::ClientContext context;
  StatLayerRequest request;
  request.set_chain_id(chain_id);
  StatLayerResponse response;
  REQUIRE(stub.StatLayer(&context, request, &response).ok());
  return response.exists();
}

size_t Staging(const std::string& state_dir) {
  size_t n = 0;
  if (DIR* d = opendir((state_dir + "/tmp").c_str())) {
    while (dirent* e = readdir(d)) n += e->d_name[0] != '.';
    closedir(d);
  }
  return n;
}

}  // namespace

TEST_CASE("stored over gRPC: a child streamed before its parent is published on the go-ahead",
          "[stored][local]") {
  testing::StoredServer server;
  auto& stub = *server.stub;
  std::string base_tar = testing::MakeTar({testing::Dir("d", 0700, 5), testing::File("d/a", "a")});
  ApplyLayerHeader base;
  base.set_diff_id(Sha256Digest(base_tar));
  base.set_chain_id(base.diff_id());
  std::string top_tar = testing::MakeTar({testing::File("d/b", "b")});
  ApplyLayerHeader top;
  top.set_diff_id(Sha256Digest(top_tar));
  top.set_parent_chain_id(base.chain_id());
  top.set_chain_id(Sha256Digest(base.chain_id() + " " + top.diff_id()));

  SECTION("published after the parent") {
    PendingChild child(stub, top, top_tar);
    ApplyLayerResponse applied;
    REQUIRE(testing::SendLayer(stub, base, base_tar, &applied).ok());
    CHECK_FALSE(Exists(stub, top.chain_id()));
    grpc::Status status = child.Finish(/*publish=*/true);
    INFO(status.error_message());
    REQUIRE(status.ok());
    CHECK(Exists(stub, top.chain_id()));
  }
  SECTION("a stream that ends without the go-ahead leaves nothing") {
    PendingChild child(stub, top, top_tar);
    grpc::Status status = child.Finish(/*publish=*/false);
    CHECK(status.error_code() == grpc::StatusCode::CANCELLED);
    CHECK_FALSE(Exists(stub, top.chain_id()));
  }
  SECTION("a cancelled stream leaves nothing") {
    PendingChild child(stub, top, top_tar);
    // Cancelled once stored has unpacked it and waits for the go-ahead (a
    // cancel that came first would find no staging directory to remove).
    for (int i = 0; i < 600 && Staging(server.options.StateDir()) == 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    REQUIRE(Staging(server.options.StateDir()) == 1);
    child.Cancel();
    CHECK_FALSE(child.Finish(/*publish=*/false).ok());
    // The server side notices the cancellation on its own thread.
    for (int i = 0; i < 600 && Staging(server.options.StateDir()) != 0; ++i) {
      std::this_thread::sleep_for(std::chrono::milliseconds(100));
    }
    CHECK(Staging(server.options.StateDir()) == 0);
    CHECK_FALSE(Exists(stub, top.chain_id()));
  }
  CHECK(Staging(server.options.StateDir()) == 0);
}

}  // namespace berth
