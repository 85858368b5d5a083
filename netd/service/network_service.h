// berth.network.v1.NetworkService over gRPC: converts messages and maps
// errors; the logic is in SandboxManager.
#pragma once

#include "netd/sandbox/sandbox_manager.h"
#include "proto/network/v1/network.grpc.pb.h"

namespace berth::netd {

class NetworkService final : public network::v1::NetworkService::Service {
 public:
  explicit NetworkService(SandboxManager* sandboxes) : sandboxes_(sandboxes) {}

  grpc::Status CreateSandbox(grpc::ServerContext* context,
                             const network::v1::CreateSandboxRequest* request,
                             network::v1::CreateSandboxResponse* response) override;
  grpc::Status RemoveSandbox(grpc::ServerContext* context,
                             const network::v1::RemoveSandboxRequest* request,
                             network::v1::RemoveSandboxResponse* response) override;

 private:
  SandboxManager* sandboxes_;
};

}  // namespace berth::netd
