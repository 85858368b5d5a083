#include "runtimed/daemon/grpc_clients.h"

#include <chrono>

#include "common/grpc_call.h"
#include "common/status.h"

namespace berth::runtimed {

GrpcStorage::GrpcStorage(std::shared_ptr<grpc::Channel> channel)
    : stub_(storage::v1::StorageService::NewStub(channel)) {}

absl::Status GrpcStorage::PrepareRootfs(const std::string& container_id,
                                        const std::string& parent_chain_id) {
  storage::v1::PrepareRootfsRequest request;
  request.set_container_id(container_id);
  request.set_parent_chain_id(parent_chain_id);
  return UnaryCall(stub_.get(), &storage::v1::StorageService::Stub::PrepareRootfs, request,
                   std::chrono::seconds(120), "stored")
      .status();
}

absl::StatusOr<std::string> GrpcStorage::MountRootfs(const std::string& container_id) {
  storage::v1::MountRootfsRequest request;
  request.set_container_id(container_id);
  ASSIGN_OR_RETURN(auto response,
                   UnaryCall(stub_.get(), &storage::v1::StorageService::Stub::MountRootfs, request,
                             std::chrono::seconds(60), "stored"));
  return response.path();
}

absl::Status GrpcStorage::UnmountRootfs(const std::string& container_id) {
  storage::v1::UnmountRootfsRequest request;
  request.set_container_id(container_id);
  return UnaryCall(stub_.get(), &storage::v1::StorageService::Stub::UnmountRootfs, request,
                   std::chrono::seconds(60), "stored")
      .status();
}

absl::Status GrpcStorage::RemoveRootfs(const std::string& container_id) {
  storage::v1::RemoveRootfsRequest request;
  request.set_container_id(container_id);
  return UnaryCall(stub_.get(), &storage::v1::StorageService::Stub::RemoveRootfs, request,
                   std::chrono::seconds(120), "stored")
      .status();
}

absl::Status GrpcStorage::AcquireVolume(const std::string& name, const std::string& container_id,
                                        bool anonymous) {
  storage::v1::AcquireVolumeRequest request;
  request.set_name(name);
  request.set_container_id(container_id);
  request.set_anonymous(anonymous);
  return UnaryCall(stub_.get(), &storage::v1::StorageService::Stub::AcquireVolume, request,
                   std::chrono::seconds(60), "stored")
      .status();
}

absl::StatusOr<std::string> GrpcStorage::MountVolume(const std::string& name,
                                                     const std::string& container_id,
                                                     const std::string& container_path,
                                                     bool copy_image_data) {
  storage::v1::MountVolumeRequest request;
  request.set_name(name);
  request.set_container_id(container_id);
  request.set_container_path(container_path);
  request.set_copy_image_data(copy_image_data);
  // Copying the image's content into a new volume may take a while.
  ASSIGN_OR_RETURN(auto response,
                   UnaryCall(stub_.get(), &storage::v1::StorageService::Stub::MountVolume, request,
                             std::chrono::seconds(600), "stored"));
  return response.mountpoint();
}

absl::Status GrpcStorage::ReleaseVolume(const std::string& name, const std::string& container_id,
                                        bool remove_anonymous) {
  storage::v1::ReleaseVolumeRequest request;
  request.set_name(name);
  request.set_container_id(container_id);
  request.set_remove_anonymous(remove_anonymous);
  return UnaryCall(stub_.get(), &storage::v1::StorageService::Stub::ReleaseVolume, request,
                   std::chrono::seconds(600), "stored")
      .status();
}

GrpcNetwork::GrpcNetwork(std::shared_ptr<grpc::Channel> channel)
    : stub_(network::v1::NetworkService::NewStub(channel)) {}

absl::StatusOr<SandboxResult> GrpcNetwork::CreateSandbox(const SandboxSpec& spec) {
  network::v1::CreateSandboxRequest request;
  request.set_container_id(spec.container_id);
  request.set_container_name(spec.container_name);
  request.set_config_json(spec.config_json);
  request.set_host_config_json(spec.host_config_json);
  request.set_networking_config_json(spec.networking_config_json);
  ASSIGN_OR_RETURN(auto response,
                   UnaryCall(stub_.get(), &network::v1::NetworkService::Stub::CreateSandbox,
                             request, std::chrono::seconds(60), "netd"));
  return SandboxResult{response.netns_path(),
                       response.network_settings_json(),
                       {response.link_hosts().begin(), response.link_hosts().end()}};
}

absl::StatusOr<std::string> GrpcNetwork::ConnectNetwork(const std::string& container_id,
                                                        const std::string& container_name,
                                                        const std::string& network,
                                                        const std::string& endpoint_config_json) {
  network::v1::ConnectContainerRequest request;
  request.set_container_id(container_id);
  request.set_container_name(container_name);
  request.set_network(network);
  request.set_endpoint_config_json(endpoint_config_json);
  ASSIGN_OR_RETURN(auto response,
                   UnaryCall(stub_.get(), &network::v1::NetworkService::Stub::ConnectContainer,
                             request, std::chrono::seconds(60), "netd"));
  return response.network_settings_json();
}

absl::StatusOr<std::string> GrpcNetwork::DisconnectNetwork(const std::string& container_id,
                                                           const std::string& network) {
  network::v1::DisconnectContainerRequest request;
  request.set_container_id(container_id);
  request.set_network(network);
  ASSIGN_OR_RETURN(auto response,
                   UnaryCall(stub_.get(), &network::v1::NetworkService::Stub::DisconnectContainer,
                             request, std::chrono::seconds(60), "netd"));
  return response.network_settings_json();
}

absl::StatusOr<std::string> GrpcNetwork::RenameSandbox(const std::string& container_id,
                                                       const std::string& container_name) {
  network::v1::RenameSandboxRequest request;
  request.set_container_id(container_id);
  request.set_container_name(container_name);
  ASSIGN_OR_RETURN(auto response,
                   UnaryCall(stub_.get(), &network::v1::NetworkService::Stub::RenameSandbox,
                             request, std::chrono::seconds(60), "netd"));
  return response.network_settings_json();
}

absl::Status GrpcNetwork::RemoveSandbox(const std::string& container_id) {
  network::v1::RemoveSandboxRequest request;
  request.set_container_id(container_id);
  return UnaryCall(stub_.get(), &network::v1::NetworkService::Stub::RemoveSandbox, request,
                   std::chrono::seconds(60), "netd")
      .status();
}

}  // namespace berth::runtimed
