// ContainerFilesBackend over stored's gRPC service.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "apiserver/backends/files_backend.h"
#include "proto/storage/v1/storage.grpc.pb.h"

namespace berth::apiserver {

class GrpcContainerFilesBackend : public ContainerFilesBackend {
 public:
  explicit GrpcContainerFilesBackend(std::shared_ptr<grpc::Channel> channel);

  absl::StatusOr<storage::v1::PathStat> StatPath(const storage::v1::ContainerView& view,
                                                 const std::string& path) override;
  std::unique_ptr<ReadStream<storage::v1::ArchiveContainerPathResponse>> ArchivePath(
      const storage::v1::ContainerView& view, const std::string& path) override;
  std::unique_ptr<ExtractSession> Extract(
      const storage::v1::ExtractToContainerHeader& header) override;
  std::unique_ptr<ReadStream<types::v1::Chunk>> Export(const std::string& id) override;
  absl::StatusOr<std::vector<storage::v1::FileChange>> Changes(const std::string& id) override;
  absl::StatusOr<storage::v1::RootfsSizeResponse> Size(const std::string& id) override;
  absl::StatusOr<std::map<std::string, int64_t>> VolumeUsage() override;

 private:
  std::unique_ptr<storage::v1::StorageService::Stub> stub_;
};

}  // namespace berth::apiserver
