// ImageBackend and ContainerBackend over gRPC to imaged and runtimed. A
// channel is created once and reused; it connects lazily, so the apiserver
// starts without its siblings, and a daemon that is down yields
// Unavailable("<daemon> is unavailable: ...") (HTTP 503).
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "apiserver/backends/backends.h"
#include "proto/image/v1/image.grpc.pb.h"
#include "proto/runtime/v1/runtime.grpc.pb.h"
#include "proto/storage/v1/storage.grpc.pb.h"

namespace berth::apiserver {

class GrpcImageBackend : public ImageBackend {
 public:
  explicit GrpcImageBackend(std::shared_ptr<grpc::Channel> channel);

  absl::StatusOr<image::v1::GetImageResponse> GetImage(const std::string& reference) override;
  absl::StatusOr<std::vector<image::v1::Image>> ListImages() override;
  absl::StatusOr<std::unique_ptr<LoadSession>> LoadImages(bool quiet) override;
  absl::StatusOr<std::unique_ptr<ImportSession>> ImportImage(
      const image::v1::ImportOptions& options) override;
  absl::Status TagImage(const image::v1::TagImageRequest& request) override;
  absl::StatusOr<image::v1::RemoveImageResponse> RemoveImage(
      const image::v1::RemoveImageRequest& request) override;
  std::unique_ptr<ReadStream<types::v1::Chunk>> SaveImages(
      const std::vector<std::string>& names) override;
  std::unique_ptr<ReadStream<image::v1::Progress>> PullImage(
      const image::v1::PullImageRequest& request) override;
  std::unique_ptr<ReadStream<image::v1::Progress>> PushImage(
      const image::v1::PushImageRequest& request) override;
  absl::StatusOr<image::v1::LoginResponse> Login(const image::v1::LoginRequest& request) override;
  absl::StatusOr<image::v1::InspectDistributionResponse> InspectDistribution(
      const image::v1::InspectDistributionRequest& request) override;

 private:
  std::unique_ptr<image::v1::ImageService::Stub> stub_;
};

class GrpcContainerBackend : public ContainerBackend {
 public:
  explicit GrpcContainerBackend(std::shared_ptr<grpc::Channel> channel);

  absl::StatusOr<runtime::v1::CreateContainerResponse> CreateContainer(
      const runtime::v1::CreateContainerRequest& request) override;
  absl::Status StartContainer(const std::string& id) override;
  absl::StatusOr<runtime::v1::StopContainerResponse> StopContainer(
      const runtime::v1::StopContainerRequest& request) override;
  absl::Status RestartContainer(const runtime::v1::RestartContainerRequest& request) override;
  absl::Status KillContainer(const runtime::v1::KillContainerRequest& request) override;
  absl::Status PauseContainer(const std::string& id) override;
  absl::StatusOr<runtime::v1::UpdateContainerResponse> UpdateContainer(
      const runtime::v1::UpdateContainerRequest& request) override;
  absl::Status UnpauseContainer(const std::string& id) override;
  absl::StatusOr<runtime::v1::TopContainerResponse> TopContainer(
      const runtime::v1::TopContainerRequest& request) override;
  absl::Status RemoveContainer(const runtime::v1::RemoveContainerRequest& request) override;
  absl::StatusOr<runtime::v1::Container> GetContainer(const std::string& id) override;
  absl::StatusOr<std::vector<runtime::v1::Container>> ListContainers(bool all) override;
  std::unique_ptr<ReadStream<runtime::v1::WaitContainerResponse>> WaitContainer(
      const runtime::v1::WaitContainerRequest& request) override;
  std::unique_ptr<AttachSession> Attach(const runtime::v1::AttachOptions& options) override;
  std::unique_ptr<ReadStream<runtime::v1::LogEntry>> Logs(
      const runtime::v1::LogsRequest& request) override;
  absl::Status ResizeTty(const runtime::v1::ResizeTtyRequest& request) override;
  // In grpc_container_events.cc.
  absl::Status RecordContainerEvent(
      const runtime::v1::RecordContainerEventRequest& request) override;
  absl::Status RenameContainer(const runtime::v1::RenameContainerRequest& request) override;

 private:
  std::unique_ptr<runtime::v1::RuntimeService::Stub> stub_;
};

class GrpcVolumeBackend : public VolumeBackend {
 public:
  explicit GrpcVolumeBackend(std::shared_ptr<grpc::Channel> channel);

  absl::StatusOr<storage::v1::Volume> CreateVolume(
      const storage::v1::CreateVolumeRequest& request) override;
  absl::StatusOr<storage::v1::Volume> GetVolume(const std::string& name) override;
  absl::StatusOr<std::vector<storage::v1::Volume>> ListVolumes() override;
  absl::Status RemoveVolume(const std::string& name, bool force) override;
  absl::StatusOr<storage::v1::PruneVolumesResponse> PruneVolumes(bool all) override;

 private:
  std::unique_ptr<storage::v1::StorageService::Stub> stub_;
};

}  // namespace berth::apiserver
