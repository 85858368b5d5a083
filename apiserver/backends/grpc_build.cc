#include "apiserver/backends/grpc_build.h"

#include <chrono>

#include "common/grpc_status.h"

namespace berth::apiserver {

GrpcBuildBackend::GrpcBuildBackend(std::shared_ptr<grpc::Channel> imaged)
    : stub_(image::v1::ImageService::NewStub(imaged)) {}

absl::StatusOr<std::string> GrpcBuildBackend::CommitContainer(
    const image::v1::CommitContainerRequest& request) {
  grpc::ClientContext context;
  // A commit copies the whole writable layer: allow for a big one.
  context.set_deadline(std::chrono::system_clock::now() + std::chrono::minutes(30));
  image::v1::CommitContainerResponse response;
  grpc::Status status = stub_->CommitContainer(&context, request, &response);
  if (!status.ok()) return FromSiblingStatus(status, "imaged");
  return response.id();
}

}  // namespace berth::apiserver
