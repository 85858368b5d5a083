#include "apiserver/backends/grpc_backends.h"

#include <chrono>
#include <mutex>
#include <utility>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "apiserver/backends/grpc_streams.h"
#include "common/grpc_status.h"

namespace berth::apiserver {

namespace img = ::berth::image::v1;
namespace rt = ::berth::runtime::v1;

namespace {

constexpr char kImaged[] = "imaged";
constexpr char kRuntimed[] = "runtimed";

// Quick calls get a deadline so a wedged daemon cannot hold an HTTP client
// forever; calls that wait on containers (stop, restart, remove -f) get a long one.
constexpr auto kShortDeadline = std::chrono::seconds(60);
constexpr auto kLongDeadline = std::chrono::minutes(30);

void SetDeadline(grpc::ClientContext* context, std::chrono::seconds timeout) {
  context->set_deadline(std::chrono::system_clock::now() + timeout);
}

void SetDeadline(grpc::ClientContext* context, std::chrono::minutes timeout) {
  context->set_deadline(std::chrono::system_clock::now() + timeout);
}

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
  grpc::ClientContext context;
  SetDeadline(&context, kShortDeadline);
  img::GetImageRequest request;
  request.set_reference(reference);
  img::GetImageResponse response;
  absl::Status status = FromSiblingStatus(stub_->GetImage(&context, request, &response), kImaged);
  if (!status.ok()) return status;
  return response;
}

absl::StatusOr<std::vector<img::Image>> GrpcImageBackend::ListImages() {
  grpc::ClientContext context;
  SetDeadline(&context, kShortDeadline);
  img::ListImagesResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->ListImages(&context, img::ListImagesRequest(), &response), kImaged);
  if (!status.ok()) return status;
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
  grpc::ClientContext context;
  SetDeadline(&context, kLongDeadline);
  img::LoginResponse response;
  absl::Status status = FromSiblingStatus(stub_->Login(&context, request, &response), kImaged);
  if (!status.ok()) return status;
  return response;
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
  grpc::ClientContext context;
  SetDeadline(&context, kLongDeadline);
  rt::StartContainerRequest request;
  request.set_id(id);
  rt::StartContainerResponse response;
  return FromSiblingStatus(stub_->StartContainer(&context, request, &response), kRuntimed);
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
  grpc::ClientContext context;
  SetDeadline(&context, kShortDeadline);
  rt::PauseContainerRequest request;
  request.set_id(id);
  rt::PauseContainerResponse response;
  return FromSiblingStatus(stub_->PauseContainer(&context, request, &response), kRuntimed);
}

absl::Status GrpcContainerBackend::UnpauseContainer(const std::string& id) {
  grpc::ClientContext context;
  SetDeadline(&context, kShortDeadline);
  rt::UnpauseContainerRequest request;
  request.set_id(id);
  rt::UnpauseContainerResponse response;
  return FromSiblingStatus(stub_->UnpauseContainer(&context, request, &response), kRuntimed);
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
  grpc::ClientContext context;
  SetDeadline(&context, kShortDeadline);
  rt::GetContainerRequest request;
  request.set_id(id);
  rt::GetContainerResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->GetContainer(&context, request, &response), kRuntimed);
  if (!status.ok()) return status;
  return response.container();
}

absl::StatusOr<std::vector<rt::Container>> GrpcContainerBackend::ListContainers(bool all) {
  grpc::ClientContext context;
  SetDeadline(&context, kShortDeadline);
  rt::ListContainersRequest request;
  request.set_all(all);
  rt::ListContainersResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->ListContainers(&context, request, &response), kRuntimed);
  if (!status.ok()) return status;
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
  grpc::ClientContext context;
  SetDeadline(&context, kShortDeadline);
  st::CreateVolumeResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->CreateVolume(&context, request, &response), "stored");
  if (!status.ok()) return status;
  return response.volume();
}

absl::StatusOr<st::Volume> GrpcVolumeBackend::GetVolume(const std::string& name) {
  grpc::ClientContext context;
  SetDeadline(&context, kShortDeadline);
  st::GetVolumeRequest request;
  request.set_name(name);
  st::GetVolumeResponse response;
  absl::Status status = FromSiblingStatus(stub_->GetVolume(&context, request, &response), "stored");
  if (!status.ok()) return status;
  return response.volume();
}

absl::StatusOr<std::vector<st::Volume>> GrpcVolumeBackend::ListVolumes() {
  grpc::ClientContext context;
  SetDeadline(&context, kShortDeadline);
  st::ListVolumesRequest request;
  st::ListVolumesResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->ListVolumes(&context, request, &response), "stored");
  if (!status.ok()) return status;
  return std::vector<st::Volume>(response.volumes().begin(), response.volumes().end());
}

absl::Status GrpcVolumeBackend::RemoveVolume(const std::string& name, bool force) {
  grpc::ClientContext context;
  SetDeadline(&context, kLongDeadline);
  st::RemoveVolumeRequest request;
  request.set_name(name);
  request.set_force(force);
  st::RemoveVolumeResponse response;
  return FromSiblingStatus(stub_->RemoveVolume(&context, request, &response), "stored");
}

absl::StatusOr<st::PruneVolumesResponse> GrpcVolumeBackend::PruneVolumes(bool all) {
  grpc::ClientContext context;
  SetDeadline(&context, kLongDeadline);
  st::PruneVolumesRequest request;
  request.set_all(all);
  st::PruneVolumesResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->PruneVolumes(&context, request, &response), "stored");
  if (!status.ok()) return status;
  return response;
}

}  // namespace berth::apiserver
