// NetworkBackend over gRPC: networks from netd, connect/disconnect through
// runtimed.
#pragma once

#include <grpcpp/grpcpp.h>

#include <memory>

#include "apiserver/backends/network_backend.h"
#include "proto/network/v1/network.grpc.pb.h"
#include "proto/runtime/v1/runtime.grpc.pb.h"

namespace berth::apiserver {

class GrpcNetworkBackend : public NetworkBackend {
 public:
  GrpcNetworkBackend(std::shared_ptr<grpc::Channel> netd, std::shared_ptr<grpc::Channel> runtimed);

  absl::StatusOr<std::string> CreateNetwork(const Json& request) override;
  absl::StatusOr<Json> GetNetwork(const std::string& name_or_id) override;
  absl::StatusOr<std::vector<Json>> ListNetworks() override;
  absl::Status RemoveNetwork(const std::string& name_or_id) override;
  absl::StatusOr<std::vector<std::string>> PruneNetworks(const Json& filters) override;
  absl::Status ConnectContainer(const std::string& network, const std::string& container,
                                const Json& endpoint_config) override;
  absl::Status DisconnectContainer(const std::string& network, const std::string& container,
                                   bool force) override;

 private:
  std::unique_ptr<network::v1::NetworkService::Stub> netd_;
  std::unique_ptr<runtime::v1::RuntimeService::Stub> runtimed_;
};

}  // namespace berth::apiserver
