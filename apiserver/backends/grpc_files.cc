#include "apiserver/backends/grpc_files.h"

#include <chrono>
#include <utility>

#include "apiserver/backends/grpc_streams.h"
#include "common/grpc_status.h"
#include "common/status.h"

namespace berth::apiserver {

namespace st = ::berth::storage::v1;

namespace {

constexpr char kStored[] = "stored";
constexpr auto kShortDeadline = std::chrono::seconds(60);
// Changes and sizes walk a whole container's tree.
constexpr auto kWalkDeadline = std::chrono::seconds(600);

class GrpcExtractSession : public ExtractSession {
 public:
  GrpcExtractSession(st::StorageService::Stub* stub, const st::ExtractToContainerHeader& header) {
    stream_ = stub->ExtractToContainer(&context_, &response_);
    st::ExtractToContainerRequest first;
    *first.mutable_header() = header;
    open_ = stream_->Write(first);
  }
  bool Write(const std::string& chunk) override {
    if (!open_) return false;
    st::ExtractToContainerRequest request;
    request.mutable_chunk()->set_data(chunk);
    open_ = stream_->Write(request);
    return open_;
  }
  absl::Status Finish() override {
    stream_->WritesDone();
    return FromSiblingStatus(stream_->Finish(), kStored);
  }

 private:
  grpc::ClientContext context_;
  st::ExtractToContainerResponse response_;
  std::unique_ptr<grpc::ClientWriter<st::ExtractToContainerRequest>> stream_;
  bool open_ = false;
};

}  // namespace

GrpcContainerFilesBackend::GrpcContainerFilesBackend(std::shared_ptr<grpc::Channel> channel)
    : stub_(st::StorageService::NewStub(channel)) {}

absl::StatusOr<st::PathStat> GrpcContainerFilesBackend::StatPath(const st::ContainerView& view,
                                                                 const std::string& path) {
  st::StatContainerPathRequest request;
  *request.mutable_container() = view;
  request.set_path(path);
  ASSIGN_OR_RETURN(st::StatContainerPathResponse response,
                   UnaryCall(stub_.get(), &st::StorageService::Stub::StatContainerPath, request,
                             kShortDeadline, kStored));
  return response.stat();
}

std::unique_ptr<ReadStream<st::ArchiveContainerPathResponse>>
GrpcContainerFilesBackend::ArchivePath(const st::ContainerView& view, const std::string& path) {
  st::ArchiveContainerPathRequest request;
  *request.mutable_container() = view;
  request.set_path(path);
  return std::make_unique<GrpcReadStream<st::ArchiveContainerPathResponse>>(
      kStored,
      [&](grpc::ClientContext* context) { return stub_->ArchiveContainerPath(context, request); });
}

std::unique_ptr<ExtractSession> GrpcContainerFilesBackend::Extract(
    const st::ExtractToContainerHeader& header) {
  return std::make_unique<GrpcExtractSession>(stub_.get(), header);
}

std::unique_ptr<ReadStream<types::v1::Chunk>> GrpcContainerFilesBackend::Export(
    const std::string& id) {
  st::ExportRootfsRequest request;
  request.set_container_id(id);
  return std::make_unique<GrpcReadStream<types::v1::Chunk>>(
      kStored, [&](grpc::ClientContext* context) { return stub_->ExportRootfs(context, request); });
}

absl::StatusOr<std::vector<st::FileChange>> GrpcContainerFilesBackend::Changes(
    const std::string& id) {
  st::ContainerChangesRequest request;
  request.set_container_id(id);
  ASSIGN_OR_RETURN(st::ContainerChangesResponse response,
                   UnaryCall(stub_.get(), &st::StorageService::Stub::ContainerChanges, request,
                             kWalkDeadline, kStored));
  return std::vector<st::FileChange>(response.changes().begin(), response.changes().end());
}

absl::StatusOr<st::RootfsSizeResponse> GrpcContainerFilesBackend::Size(const std::string& id) {
  st::RootfsSizeRequest request;
  request.set_container_id(id);
  return UnaryCall(stub_.get(), &st::StorageService::Stub::RootfsSize, request, kWalkDeadline,
                   kStored);
}

absl::StatusOr<std::map<std::string, int64_t>> GrpcContainerFilesBackend::VolumeUsage() {
  ASSIGN_OR_RETURN(st::VolumeUsageResponse response,
                   UnaryCall(stub_.get(), &st::StorageService::Stub::VolumeUsage,
                             st::VolumeUsageRequest(), kWalkDeadline, kStored));
  return std::map<std::string, int64_t>(response.sizes().begin(), response.sizes().end());
}

}  // namespace berth::apiserver
