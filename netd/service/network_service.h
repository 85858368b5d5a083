// berth.network.v1.NetworkService over gRPC: converts messages and maps
// errors; the logic is in SandboxManager and NetworkManager.
#pragma once

#include "common/event_journal.h"
#include "netd/sandbox/sandbox_manager.h"
#include "proto/network/v1/network.grpc.pb.h"

namespace berth::netd {

class NetworkService final : public network::v1::NetworkService::Service {
 public:
  explicit NetworkService(SandboxManager* sandboxes) : sandboxes_(sandboxes) {}
  // Network events (create, destroy, connect, disconnect) go here.
  void set_events(EventJournal* events) { events_ = events; }

  grpc::Status CreateSandbox(grpc::ServerContext* context,
                             const network::v1::CreateSandboxRequest* request,
                             network::v1::CreateSandboxResponse* response) override;
  grpc::Status RemoveSandbox(grpc::ServerContext* context,
                             const network::v1::RemoveSandboxRequest* request,
                             network::v1::RemoveSandboxResponse* response) override;
  grpc::Status GetSandbox(grpc::ServerContext* context,
                          const network::v1::GetSandboxRequest* request,
                          network::v1::GetSandboxResponse* response) override;
  grpc::Status CreateNetwork(grpc::ServerContext* context,
                             const network::v1::CreateNetworkRequest* request,
                             network::v1::CreateNetworkResponse* response) override;
  grpc::Status GetNetwork(grpc::ServerContext* context,
                          const network::v1::GetNetworkRequest* request,
                          network::v1::GetNetworkResponse* response) override;
  grpc::Status ListNetworks(grpc::ServerContext* context,
                            const network::v1::ListNetworksRequest* request,
                            network::v1::ListNetworksResponse* response) override;
  grpc::Status RemoveNetwork(grpc::ServerContext* context,
                             const network::v1::RemoveNetworkRequest* request,
                             network::v1::RemoveNetworkResponse* response) override;
  grpc::Status PruneNetworks(grpc::ServerContext* context,
                             const network::v1::PruneNetworksRequest* request,
                             network::v1::PruneNetworksResponse* response) override;
  grpc::Status ConnectContainer(grpc::ServerContext* context,
                                const network::v1::ConnectContainerRequest* request,
                                network::v1::ConnectContainerResponse* response) override;
  grpc::Status DisconnectContainer(grpc::ServerContext* context,
                                   const network::v1::DisconnectContainerRequest* request,
                                   network::v1::DisconnectContainerResponse* response) override;
  grpc::Status RenameSandbox(grpc::ServerContext* context,
                             const network::v1::RenameSandboxRequest* request,
                             network::v1::RenameSandboxResponse* response) override;

 private:
  absl::StatusOr<std::string> NetworkJson(const Network& network);
  // One event per network in a container's NetworkSettings.Networks.
  void PublishEndpoints(const std::string& action, const std::string& container_id,
                        const Json& network_settings);
  void Publish(const std::string& action, const std::string& network_id, const std::string& name,
               const std::string& container_id = "");

  SandboxManager* sandboxes_;
  EventJournal* events_ = nullptr;
};

}  // namespace berth::netd
