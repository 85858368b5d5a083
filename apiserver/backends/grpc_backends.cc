#include "apiserver/backends/grpc_backends.h"

#include <chrono>
#include <mutex>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "apiserver/backends/grpc_streams.h"
#include "common/grpc_status.h"
#include "common/status.h"

namespace berth::apiserver {

namespace img = ::berth::image::v1;
namespace rt = ::berth::runtime::v1;

namespace {

constexpr char kImaged[] = "imaged";
constexpr char kRuntimed[] = "runtimed";
constexpr char kStored[] = "stored";

// Quick calls get a deadline so a wedged daemon cannot hold an HTTP client
// forever; calls that wait on containers (stop, restart, remove -f) get a long one.
constexpr auto kShortDeadline = std::chrono::seconds(60);
constexpr auto kLongDeadline = std::chrono::minutes(30);

class GrpcLoadSession : public LoadSession {
 public:
  explicit GrpcLoadSession(img::ImageService::Stub* stub) { stream_ = stub->LoadImages(&context_); }
  bool Start(bool quiet) {
    img::LoadImagesRequest request;
    request.mutable_options()->set_quiet(quiet);
    return stream_->Write(request);
  }
  bool Write(const std::string& chunk) override {
    img::LoadImagesRequest request;
    request.mutable_chunk()->set_data(chunk);
    return stream_->Write(request);
  }
  void WritesDone() override { stream_->WritesDone(); }
  bool Read(img::Progress* progress) override { return stream_->Read(progress); }
  absl::Status Finish() override { return FromSiblingStatus(stream_->Finish(), kImaged); }

 private:
  grpc::ClientContext context_;
  std::unique_ptr<grpc::ClientReaderWriter<img::LoadImagesRequest, img::Progress>> stream_;
};

class GrpcImportSession : public ImportSession {
 public:
  explicit GrpcImportSession(img::ImageService::Stub* stub) {
    stream_ = stub->ImportImage(&context_, &response_);
  }
  bool Start(const img::ImportOptions& options) {
    img::ImportImageRequest request;
    *request.mutable_options() = options;
    return stream_->Write(request);
  }
  bool Write(const std::string& chunk) override {
    img::ImportImageRequest request;
    request.mutable_chunk()->set_data(chunk);
    return stream_->Write(request);
  }
  absl::StatusOr<std::string> Finish() override {
    stream_->WritesDone();
    absl::Status status = FromSiblingStatus(stream_->Finish(), kImaged);
    if (!status.ok()) return status;
    return response_.id();
  }

 private:
  grpc::ClientContext context_;
  img::ImportImageResponse response_;
  std::unique_ptr<grpc::ClientWriter<img::ImportImageRequest>> stream_;
};

}  // namespace

// ---- imaged ----

GrpcImageBackend::GrpcImageBackend(std::shared_ptr<grpc::Channel> channel)
    : stub_(img::ImageService::NewStub(channel)) {}

absl::StatusOr<img::GetImageResponse> GrpcImageBackend::GetImage(const std::string& reference) {
  img::GetImageRequest request;
  request.set_reference(reference);
  return UnaryCall(stub_.get(), &img::ImageService::Stub::GetImage, request, kShortDeadline,
                   kImaged);
}

absl::StatusOr<std::vector<img::Image>> GrpcImageBackend::ListImages() {
  ASSIGN_OR_RETURN(img::ListImagesResponse response,
                   UnaryCall(stub_.get(), &img::ImageService::Stub::ListImages,
                             img::ListImagesRequest(), kShortDeadline, kImaged));
  return std::vector<img::Image>(response.images().begin(), response.images().end());
}

absl::StatusOr<std::unique_ptr<LoadSession>> GrpcImageBackend::LoadImages(bool quiet) {
  auto session = std::make_unique<GrpcLoadSession>(stub_.get());
  if (!session->Start(quiet)) {
    // The call failed at once (imaged down): report why.
    session->WritesDone();
    img::Progress ignored;
    while (session->Read(&ignored)) {
    }
    absl::Status status = session->Finish();
    if (!status.ok()) return status;
  }
  return std::unique_ptr<LoadSession>(std::move(session));
}

absl::StatusOr<std::unique_ptr<ImportSession>> GrpcImageBackend::ImportImage(
    const img::ImportOptions& options) {
  auto session = std::make_unique<GrpcImportSession>(stub_.get());
  if (!session->Start(options)) {
    absl::StatusOr<std::string> result = session->Finish();
    if (!result.ok()) return result.status();
  }
  return std::unique_ptr<ImportSession>(std::move(session));
}

absl::Status GrpcImageBackend::TagImage(const img::TagImageRequest& request) {
  return UnaryCall(stub_.get(), &img::ImageService::Stub::TagImage, request, kShortDeadline,
                   kImaged)
      .status();
}

absl::StatusOr<img::RemoveImageResponse> GrpcImageBackend::RemoveImage(
    const img::RemoveImageRequest& request) {
  return UnaryCall(stub_.get(), &img::ImageService::Stub::RemoveImage, request, kLongDeadline,
                   kImaged);
}

// ---- runtimed ----

std::unique_ptr<ReadStream<types::v1::Chunk>> GrpcImageBackend::SaveImages(
    const std::vector<std::string>& names) {
  img::SaveImagesRequest request;
  for (const std::string& name : names) request.add_references(name);
  return std::make_unique<GrpcReadStream<types::v1::Chunk>>(
      kImaged, [&](grpc::ClientContext* context) { return stub_->SaveImages(context, request); });
}

std::unique_ptr<ReadStream<img::Progress>> GrpcImageBackend::PullImage(
    const img::PullImageRequest& request) {
  return std::make_unique<GrpcReadStream<img::Progress>>(
      kImaged, [&](grpc::ClientContext* context) { return stub_->PullImage(context, request); });
}

std::unique_ptr<ReadStream<img::Progress>> GrpcImageBackend::PushImage(
    const img::PushImageRequest& request) {
  return std::make_unique<GrpcReadStream<img::Progress>>(
      kImaged, [&](grpc::ClientContext* context) { return stub_->PushImage(context, request); });
}

absl::StatusOr<img::LoginResponse> GrpcImageBackend::Login(const img::LoginRequest& request) {
  return UnaryCall(stub_.get(), &img::ImageService::Stub::Login, request, kLongDeadline, kImaged);
}

absl::StatusOr<img::InspectDistributionResponse> GrpcImageBackend::InspectDistribution(
    const img::InspectDistributionRequest& request) {
  return UnaryCall(stub_.get(), &img::ImageService::Stub::InspectDistribution, request,
                   kLongDeadline, kImaged);
}

GrpcContainerBackend::GrpcContainerBackend(std::shared_ptr<grpc::Channel> channel)
    : stub_(rt::RuntimeService::NewStub(channel)) {}

absl::StatusOr<rt::CreateContainerResponse> GrpcContainerBackend::CreateContainer(
    const rt::CreateContainerRequest& request) {
  return UnaryCall(stub_.get(), &rt::RuntimeService::Stub::CreateContainer, request, kLongDeadline,
                   kRuntimed);
}

absl::Status GrpcContainerBackend::StartContainer(const std::string& id) {
  rt::StartContainerRequest request;
  request.set_id(id);
  return UnaryCall(stub_.get(), &rt::RuntimeService::Stub::StartContainer, request, kLongDeadline,
                   kRuntimed)
      .status();
}

absl::StatusOr<rt::StopContainerResponse> GrpcContainerBackend::StopContainer(
    const rt::StopContainerRequest& request) {
  return UnaryCall(stub_.get(), &rt::RuntimeService::Stub::StopContainer, request, kLongDeadline,
                   kRuntimed);
}

absl::Status GrpcContainerBackend::RestartContainer(const rt::RestartContainerRequest& request) {
  return UnaryCall(stub_.get(), &rt::RuntimeService::Stub::RestartContainer, request, kLongDeadline,
                   kRuntimed)
      .status();
}

absl::Status GrpcContainerBackend::PauseContainer(const std::string& id) {
  rt::PauseContainerRequest request;
  request.set_id(id);
  return UnaryCall(stub_.get(), &rt::RuntimeService::Stub::PauseContainer, request, kShortDeadline,
                   kRuntimed)
      .status();
}

absl::Status GrpcContainerBackend::UnpauseContainer(const std::string& id) {
  rt::UnpauseContainerRequest request;
  request.set_id(id);
  return UnaryCall(stub_.get(), &rt::RuntimeService::Stub::UnpauseContainer, request,
                   kShortDeadline, kRuntimed)
      .status();
}

absl::StatusOr<rt::UpdateContainerResponse> GrpcContainerBackend::UpdateContainer(
    const rt::UpdateContainerRequest& request) {
  return UnaryCall(stub_.get(), &rt::RuntimeService::Stub::UpdateContainer, request, kShortDeadline,
                   kRuntimed);
}

absl::StatusOr<rt::TopContainerResponse> GrpcContainerBackend::TopContainer(
    const rt::TopContainerRequest& request) {
  return UnaryCall(stub_.get(), &rt::RuntimeService::Stub::TopContainer, request, kShortDeadline,
                   kRuntimed);
}

absl::Status GrpcContainerBackend::KillContainer(const rt::KillContainerRequest& request) {
  return UnaryCall(stub_.get(), &rt::RuntimeService::Stub::KillContainer, request, kShortDeadline,
                   kRuntimed)
      .status();
}

absl::Status GrpcContainerBackend::RemoveContainer(const rt::RemoveContainerRequest& request) {
  return UnaryCall(stub_.get(), &rt::RuntimeService::Stub::RemoveContainer, request, kLongDeadline,
                   kRuntimed)
      .status();
}

absl::StatusOr<rt::Container> GrpcContainerBackend::GetContainer(const std::string& id) {
  rt::GetContainerRequest request;
  request.set_id(id);
  ASSIGN_OR_RETURN(rt::GetContainerResponse response,
                   UnaryCall(stub_.get(), &rt::RuntimeService::Stub::GetContainer, request,
                             kShortDeadline, kRuntimed));
  return response.container();
}

absl::StatusOr<std::vector<rt::Container>> GrpcContainerBackend::ListContainers(bool all) {
  rt::ListContainersRequest request;
  request.set_all(all);
  ASSIGN_OR_RETURN(rt::ListContainersResponse response,
                   UnaryCall(stub_.get(), &rt::RuntimeService::Stub::ListContainers, request,
                             kShortDeadline, kRuntimed));
  return std::vector<rt::Container>(response.containers().begin(), response.containers().end());
}

std::unique_ptr<ReadStream<rt::WaitContainerResponse>> GrpcContainerBackend::WaitContainer(
    const rt::WaitContainerRequest& request) {
  return std::make_unique<GrpcReadStream<rt::WaitContainerResponse>>(
      kRuntimed,
      [&](grpc::ClientContext* context) { return stub_->WaitContainer(context, request); });
}

std::unique_ptr<AttachSession> GrpcContainerBackend::Attach(const rt::AttachOptions& options) {
  rt::AttachRequest first;
  *first.mutable_options() = options;
  return std::make_unique<GrpcStdinSession<rt::AttachRequest, rt::AttachResponse>>(
      kRuntimed, [&](grpc::ClientContext* context) { return stub_->Attach(context); }, first);
}

std::unique_ptr<ReadStream<rt::LogEntry>> GrpcContainerBackend::Logs(
    const rt::LogsRequest& request) {
  return std::make_unique<GrpcReadStream<rt::LogEntry>>(
      kRuntimed, [&](grpc::ClientContext* context) { return stub_->Logs(context, request); });
}

absl::Status GrpcContainerBackend::ResizeTty(const rt::ResizeTtyRequest& request) {
  return UnaryCall(stub_.get(), &rt::RuntimeService::Stub::ResizeTty, request, kShortDeadline,
                   kRuntimed)
      .status();
}

// ---------------------------------------------------------------------------
// stored: volumes

namespace st = ::berth::storage::v1;

GrpcVolumeBackend::GrpcVolumeBackend(std::shared_ptr<grpc::Channel> channel)
    : stub_(st::StorageService::NewStub(channel)) {}

absl::StatusOr<st::Volume> GrpcVolumeBackend::CreateVolume(const st::CreateVolumeRequest& request) {
  ASSIGN_OR_RETURN(st::CreateVolumeResponse response,
                   UnaryCall(stub_.get(), &st::StorageService::Stub::CreateVolume, request,
                             kShortDeadline, kStored));
  return response.volume();
}

absl::StatusOr<st::Volume> GrpcVolumeBackend::GetVolume(const std::string& name) {
  st::GetVolumeRequest request;
  request.set_name(name);
  ASSIGN_OR_RETURN(st::GetVolumeResponse response,
                   UnaryCall(stub_.get(), &st::StorageService::Stub::GetVolume, request,
                             kShortDeadline, kStored));
  return response.volume();
}

absl::StatusOr<std::vector<st::Volume>> GrpcVolumeBackend::ListVolumes() {
  ASSIGN_OR_RETURN(st::ListVolumesResponse response,
                   UnaryCall(stub_.get(), &st::StorageService::Stub::ListVolumes,
                             st::ListVolumesRequest(), kShortDeadline, kStored));
  return std::vector<st::Volume>(response.volumes().begin(), response.volumes().end());
}

absl::Status GrpcVolumeBackend::RemoveVolume(const std::string& name, bool force) {
  st::RemoveVolumeRequest request;
  request.set_name(name);
  request.set_force(force);
  return UnaryCall(stub_.get(), &st::StorageService::Stub::RemoveVolume, request, kLongDeadline,
                   kStored)
      .status();
}

absl::StatusOr<st::PruneVolumesResponse> GrpcVolumeBackend::PruneVolumes(bool all) {
  st::PruneVolumesRequest request;
  request.set_all(all);
  return UnaryCall(stub_.get(), &st::StorageService::Stub::PruneVolumes, request, kLongDeadline,
                   kStored);
}

}  // namespace berth::apiserver
