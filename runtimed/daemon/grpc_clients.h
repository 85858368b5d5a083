// stored and netd as seen by runtimed, over their gRPC sockets. The channels
// connect lazily, so runtimed starts without them; a call while one is down
// fails fast with Unavailable("<name> is unavailable: ...").
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>
#include <string>

#include "proto/network/v1/network.grpc.pb.h"
#include "proto/storage/v1/storage.grpc.pb.h"
#include "runtimed/daemon/interfaces.h"

namespace berth::runtimed {

class GrpcStorage : public Storage {
 public:
  explicit GrpcStorage(std::shared_ptr<grpc::Channel> channel);
  absl::Status PrepareRootfs(const std::string& container_id,
                             const std::string& parent_chain_id) override;
  absl::StatusOr<std::string> MountRootfs(const std::string& container_id) override;
  absl::Status UnmountRootfs(const std::string& container_id) override;
  absl::Status RemoveRootfs(const std::string& container_id) override;
  absl::Status AcquireVolume(const std::string& name, const std::string& container_id,
                             bool anonymous) override;
  absl::StatusOr<std::string> MountVolume(const std::string& name, const std::string& container_id,
                                          const std::string& container_path,
                                          bool copy_image_data) override;
  absl::Status ReleaseVolume(const std::string& name, const std::string& container_id,
                             bool remove_anonymous) override;

 private:
  std::unique_ptr<storage::v1::StorageService::Stub> stub_;
};

class GrpcNetwork : public Network {
 public:
  explicit GrpcNetwork(std::shared_ptr<grpc::Channel> channel);
  absl::StatusOr<SandboxResult> CreateSandbox(const SandboxSpec& spec) override;
  absl::Status RemoveSandbox(const std::string& container_id) override;
  absl::StatusOr<std::string> ConnectNetwork(const std::string& container_id,
                                             const std::string& container_name,
                                             const std::string& network,
                                             const std::string& endpoint_config_json) override;
  absl::StatusOr<std::string> DisconnectNetwork(const std::string& container_id,
                                                const std::string& network) override;
  absl::StatusOr<std::string> RenameSandbox(const std::string& container_id,
                                            const std::string& container_name) override;

 private:
  std::unique_ptr<network::v1::NetworkService::Stub> stub_;
};

}  // namespace berth::runtimed
