// The narrow interfaces the handlers use to reach imaged and runtimed. The
// production implementations (grpc_backends.h) are gRPC clients, and every
// gRPC call of the apiserver lives there; tests substitute in-process fakes.
// Messages are the proto types: they are the data model of the contract.
#pragma once

#include <memory>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "proto/image/v1/image.pb.h"
#include "proto/runtime/v1/runtime.pb.h"
#include "proto/storage/v1/storage.pb.h"

namespace berth::apiserver {

// A server stream. Read blocks for the next message and returns false at the
// end; Finish then gives the call's status. Cancel may be called from any
// thread to abort a blocked Read (used when the HTTP client goes away).
template <typename T>
class ReadStream {
 public:
  virtual ~ReadStream() = default;
  virtual bool Read(T* message) = 0;
  virtual absl::Status Finish() = 0;
  virtual void Cancel() = 0;
};

// Upload of an archive (load): chunks, then the server's progress messages.
class LoadSession {
 public:
  virtual ~LoadSession() = default;
  virtual bool Write(const std::string& chunk) = 0;
  // Ends the upload; progress messages follow.
  virtual void WritesDone() = 0;
  virtual bool Read(image::v1::Progress* progress) = 0;
  virtual absl::Status Finish() = 0;
};

class ImportSession {
 public:
  virtual ~ImportSession() = default;
  virtual bool Write(const std::string& chunk) = 0;
  // Ends the upload and returns the new image's ID.
  virtual absl::StatusOr<std::string> Finish() = 0;
};

class ImageBackend {
 public:
  virtual ~ImageBackend() = default;
  virtual absl::StatusOr<image::v1::GetImageResponse> GetImage(const std::string& reference) = 0;
  virtual absl::StatusOr<std::vector<image::v1::Image>> ListImages() = 0;
  virtual absl::StatusOr<std::unique_ptr<LoadSession>> LoadImages(bool quiet) = 0;
  virtual absl::StatusOr<std::unique_ptr<ImportSession>> ImportImage(
      const image::v1::ImportOptions& options) = 0;
  virtual absl::Status TagImage(const image::v1::TagImageRequest& request) = 0;
  virtual absl::StatusOr<image::v1::RemoveImageResponse> RemoveImage(
      const image::v1::RemoveImageRequest& request) = 0;
  // docker save: the archive in chunks. An unknown name ends the stream
  // before the first chunk, with the error in Finish.
  virtual std::unique_ptr<ReadStream<types::v1::Chunk>> SaveImages(
      const std::vector<std::string>& names) = 0;
  // docker pull / push: progress messages; a failure before the first one
  // (unknown manifest, image not here) is in Finish. Null when the backend
  // has no registry support.
  virtual std::unique_ptr<ReadStream<image::v1::Progress>> PullImage(
      const image::v1::PullImageRequest& /*request*/) {
    return nullptr;
  }
  virtual std::unique_ptr<ReadStream<image::v1::Progress>> PushImage(
      const image::v1::PushImageRequest& /*request*/) {
    return nullptr;
  }
  // docker login: Unauthenticated when the registry refuses the credentials.
  virtual absl::StatusOr<image::v1::LoginResponse> Login(
      const image::v1::LoginRequest& /*request*/) {
    return absl::UnimplementedError("registry login is not supported");
  }
  // GET /distribution/{name}/json.
  virtual absl::StatusOr<image::v1::InspectDistributionResponse> InspectDistribution(
      const image::v1::InspectDistributionRequest& /*request*/) {
    return absl::UnimplementedError("distribution inspect is not supported");
  }
};

// A live attach: output events from the container, stdin towards it.
class AttachSession {
 public:
  virtual ~AttachSession() = default;
  virtual bool Read(runtime::v1::AttachResponse* event) = 0;
  virtual bool WriteStdin(const std::string& data) = 0;
  virtual bool CloseStdin() = 0;
  virtual absl::Status Finish() = 0;
  virtual void Cancel() = 0;
};

class ContainerBackend {
 public:
  virtual ~ContainerBackend() = default;
  virtual absl::StatusOr<runtime::v1::CreateContainerResponse> CreateContainer(
      const runtime::v1::CreateContainerRequest& request) = 0;
  virtual absl::Status StartContainer(const std::string& id) = 0;
  virtual absl::StatusOr<runtime::v1::StopContainerResponse> StopContainer(
      const runtime::v1::StopContainerRequest& request) = 0;
  virtual absl::Status RestartContainer(const runtime::v1::RestartContainerRequest& request) = 0;
  virtual absl::Status KillContainer(const runtime::v1::KillContainerRequest& request) = 0;
  virtual absl::Status RemoveContainer(const runtime::v1::RemoveContainerRequest& request) = 0;
  virtual absl::StatusOr<runtime::v1::Container> GetContainer(const std::string& id) = 0;
  virtual absl::StatusOr<std::vector<runtime::v1::Container>> ListContainers(bool all) = 0;
  virtual std::unique_ptr<ReadStream<runtime::v1::WaitContainerResponse>> WaitContainer(
      const runtime::v1::WaitContainerRequest& request) = 0;
  virtual std::unique_ptr<AttachSession> Attach(const runtime::v1::AttachOptions& options) = 0;
  virtual std::unique_ptr<ReadStream<runtime::v1::LogEntry>> Logs(
      const runtime::v1::LogsRequest& request) = 0;
  virtual absl::Status ResizeTty(const runtime::v1::ResizeTtyRequest& request) = 0;
  virtual absl::Status PauseContainer(const std::string& id) = 0;
  // docker update; returns the warnings.
  virtual absl::StatusOr<runtime::v1::UpdateContainerResponse> UpdateContainer(
      const runtime::v1::UpdateContainerRequest& /*request*/) {
    return absl::UnimplementedError("update is not supported");
  }
  virtual absl::Status UnpauseContainer(const std::string& id) = 0;
  virtual absl::StatusOr<runtime::v1::TopContainerResponse> TopContainer(
      const runtime::v1::TopContainerRequest& request) = 0;
  // Docker's events for what happens here (docker cp, export, commit, prune,
  // the detach keys), which runtimed publishes. Events are best effort: the
  // default records nothing.
  virtual absl::Status RecordContainerEvent(const runtime::v1::RecordContainerEventRequest&) {
    return absl::OkStatus();
  }
  // docker rename.
  virtual absl::Status RenameContainer(const runtime::v1::RenameContainerRequest&) {
    return absl::UnimplementedError("rename is not supported");
  }
};

// Volumes, kept by stored.
class VolumeBackend {
 public:
  virtual ~VolumeBackend() = default;
  virtual absl::StatusOr<storage::v1::Volume> CreateVolume(
      const storage::v1::CreateVolumeRequest& request) = 0;
  virtual absl::StatusOr<storage::v1::Volume> GetVolume(const std::string& name) = 0;
  virtual absl::StatusOr<std::vector<storage::v1::Volume>> ListVolumes() = 0;
  virtual absl::Status RemoveVolume(const std::string& name, bool force) = 0;
  virtual absl::StatusOr<storage::v1::PruneVolumesResponse> PruneVolumes(bool all) = 0;
};

}  // namespace berth::apiserver
