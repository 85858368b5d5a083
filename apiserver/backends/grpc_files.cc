#include "apiserver/backends/grpc_files.h"

#include <chrono>
#include <utility>

#include "apiserver/backends/grpc_streams.h"
#include "common/grpc_status.h"

namespace berth::apiserver {

namespace st = ::berth::storage::v1;

namespace {

constexpr char kStored[] = "stored";

void SetDeadline(grpc::ClientContext* context, std::chrono::seconds timeout) {
  context->set_deadline(std::chrono::system_clock::now() + timeout);
}

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
  grpc::ClientContext context;
  SetDeadline(&context, std::chrono::seconds(60));
  st::StatContainerPathRequest request;
  *request.mutable_container() = view;
  request.set_path(path);
  st::StatContainerPathResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->StatContainerPath(&context, request, &response), kStored);
  if (!status.ok()) return status;
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
  grpc::ClientContext context;
  SetDeadline(&context, std::chrono::seconds(600));
  st::ContainerChangesRequest request;
  request.set_container_id(id);
  st::ContainerChangesResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->ContainerChanges(&context, request, &response), kStored);
  if (!status.ok()) return status;
  return std::vector<st::FileChange>(response.changes().begin(), response.changes().end());
}

absl::StatusOr<st::RootfsSizeResponse> GrpcContainerFilesBackend::Size(const std::string& id) {
  grpc::ClientContext context;
  SetDeadline(&context, std::chrono::seconds(600));
  st::RootfsSizeRequest request;
  request.set_container_id(id);
  st::RootfsSizeResponse response;
  absl::Status status = FromSiblingStatus(stub_->RootfsSize(&context, request, &response), kStored);
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<std::map<std::string, int64_t>> GrpcContainerFilesBackend::VolumeUsage() {
  grpc::ClientContext context;
  SetDeadline(&context, std::chrono::seconds(600));
  st::VolumeUsageRequest request;
  st::VolumeUsageResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->VolumeUsage(&context, request, &response), kStored);
  if (!status.ok()) return status;
  return std::map<std::string, int64_t>(response.sizes().begin(), response.sizes().end());
}

}  // namespace berth::apiserver
