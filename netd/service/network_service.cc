#include "netd/service/network_service.h"

#include "common/grpc_status.h"

namespace berth::netd {

grpc::Status NetworkService::CreateSandbox(grpc::ServerContext*,
                                           const network::v1::CreateSandboxRequest* request,
                                           network::v1::CreateSandboxResponse* response) {
  absl::StatusOr<std::string> path =
      sandboxes_->CreateSandbox(request->container_id(), request->network_mode());
  if (!path.ok()) return ToGrpcStatus(path.status());
  response->set_netns_path(*path);
  return grpc::Status::OK;
}

grpc::Status NetworkService::RemoveSandbox(grpc::ServerContext*,
                                           const network::v1::RemoveSandboxRequest* request,
                                           network::v1::RemoveSandboxResponse*) {
  return ToGrpcStatus(sandboxes_->RemoveSandbox(request->container_id()));
}

}  // namespace berth::netd
