// BuildBackend over imaged's gRPC (lazily connected: a down imaged is
// Unavailable "imaged is unavailable: ...").
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "apiserver/backends/build_backend.h"
#include "proto/image/v1/image.grpc.pb.h"

namespace berth::apiserver {

class GrpcBuildBackend : public BuildBackend {
 public:
  explicit GrpcBuildBackend(std::shared_ptr<grpc::Channel> imaged);

  absl::StatusOr<std::string> CommitContainer(
      const image::v1::CommitContainerRequest& request) override;
  absl::StatusOr<std::unique_ptr<BuildSession>> Build(
      const image::v1::BuildParameters& parameters) override;
  absl::StatusOr<std::vector<image::v1::BuildCacheRecord>> ListBuildCache() override;
  absl::StatusOr<image::v1::PruneBuildCacheResponse> PruneBuildCache(
      const image::v1::PruneBuildCacheRequest& request) override;

 private:
  std::unique_ptr<image::v1::ImageService::Stub> stub_;
  std::unique_ptr<image::v1::BuildCacheService::Stub> cache_stub_;
};

}  // namespace berth::apiserver
