#include "apiserver/backends/grpc_build.h"

#include <chrono>

#include "apiserver/backends/grpc_streams.h"
#include "common/grpc_status.h"
#include "common/status.h"

namespace berth::apiserver {

GrpcBuildBackend::GrpcBuildBackend(std::shared_ptr<grpc::Channel> imaged)
    : stub_(image::v1::ImageService::NewStub(imaged)),
      cache_stub_(image::v1::BuildCacheService::NewStub(imaged)) {}

absl::StatusOr<std::string> GrpcBuildBackend::CommitContainer(
    const image::v1::CommitContainerRequest& request) {
  // A commit copies the whole writable layer: allow for a big one.
  ASSIGN_OR_RETURN(image::v1::CommitContainerResponse response,
                   UnaryCall(stub_.get(), &image::v1::ImageService::Stub::CommitContainer, request,
                             std::chrono::minutes(30), "imaged"));
  return response.id();
}

namespace {

class GrpcBuildSession : public BuildSession {
 public:
  explicit GrpcBuildSession(image::v1::ImageService::Stub* stub)
      : stream_(stub->Build(&context_)) {}
  ~GrpcBuildSession() override {
    if (!finished_) {
      context_.TryCancel();
      stream_->Finish();
    }
  }
  bool Start(const image::v1::BuildParameters& parameters) {
    image::v1::BuildRequest request;
    *request.mutable_parameters() = parameters;
    return stream_->Write(request);
  }
  bool Write(const std::string& chunk) override {
    image::v1::BuildRequest request;
    request.set_context(chunk);
    return stream_->Write(request);
  }
  void WritesDone() override { stream_->WritesDone(); }
  bool WriteLast(const std::string& chunk) override {
    image::v1::BuildRequest request;
    request.set_context(chunk);
    request.set_context_complete(true);
    return stream_->Write(request, grpc::WriteOptions().set_last_message());
  }
  bool Read(std::string* json_lines) override {
    image::v1::BuildResponse response;
    if (!stream_->Read(&response)) return false;
    *json_lines = std::move(*response.mutable_json_lines());
    return true;
  }
  void Cancel() override { context_.TryCancel(); }
  absl::Status Finish() override {
    finished_ = true;
    return FromSiblingStatus(stream_->Finish(), "imaged");
  }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<image::v1::BuildRequest, image::v1::BuildResponse>>
      stream_;
  bool finished_ = false;
};

}  // namespace

absl::StatusOr<std::unique_ptr<BuildSession>> GrpcBuildBackend::Build(
    const image::v1::BuildParameters& parameters) {
  auto session = std::make_unique<GrpcBuildSession>(stub_.get());
  if (!session->Start(parameters)) {
    absl::Status status = session->Finish();
    return status.ok() ? absl::UnavailableError("imaged is unavailable: build refused") : status;
  }
  return std::unique_ptr<BuildSession>(std::move(session));
}

absl::StatusOr<std::vector<image::v1::BuildCacheRecord>> GrpcBuildBackend::ListBuildCache() {
  ASSIGN_OR_RETURN(
      image::v1::ListBuildCacheResponse response,
      UnaryCall(cache_stub_.get(), &image::v1::BuildCacheService::Stub::ListBuildCache,
                image::v1::ListBuildCacheRequest(), std::chrono::seconds(30), "imaged"));
  return std::vector<image::v1::BuildCacheRecord>(response.records().begin(),
                                                  response.records().end());
}

absl::StatusOr<image::v1::PruneBuildCacheResponse> GrpcBuildBackend::PruneBuildCache(
    const image::v1::PruneBuildCacheRequest& request) {
  // Removing images applies to stored: allow for many.
  return UnaryCall(cache_stub_.get(), &image::v1::BuildCacheService::Stub::PruneBuildCache, request,
                   std::chrono::minutes(10), "imaged");
}

}  // namespace berth::apiserver
