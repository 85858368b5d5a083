#include "runtimed/daemon/grpc_clients.h"

#include <chrono>

#include "common/grpc_status.h"
#include "common/status.h"

namespace berth::runtimed {
namespace {

void SetDeadline(grpc::ClientContext* context, int seconds) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(seconds));
}

}  // namespace

GrpcStorage::GrpcStorage(std::shared_ptr<grpc::Channel> channel)
    : stub_(storage::v1::StorageService::NewStub(channel)) {}

absl::Status GrpcStorage::PrepareRootfs(const std::string& container_id,
                                        const std::string& parent_chain_id) {
  grpc::ClientContext context;
  SetDeadline(&context, 120);
  storage::v1::PrepareRootfsRequest request;
  request.set_container_id(container_id);
  request.set_parent_chain_id(parent_chain_id);
  storage::v1::PrepareRootfsResponse response;
  return FromSiblingStatus(stub_->PrepareRootfs(&context, request, &response), "stored");
}

absl::StatusOr<std::string> GrpcStorage::MountRootfs(const std::string& container_id) {
  grpc::ClientContext context;
  SetDeadline(&context, 60);
  storage::v1::MountRootfsRequest request;
  request.set_container_id(container_id);
  storage::v1::MountRootfsResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->MountRootfs(&context, request, &response), "stored");
  if (!status.ok()) return status;
  return response.path();
}

absl::Status GrpcStorage::UnmountRootfs(const std::string& container_id) {
  grpc::ClientContext context;
  SetDeadline(&context, 60);
  storage::v1::UnmountRootfsRequest request;
  request.set_container_id(container_id);
  storage::v1::UnmountRootfsResponse response;
  return FromSiblingStatus(stub_->UnmountRootfs(&context, request, &response), "stored");
}

absl::Status GrpcStorage::RemoveRootfs(const std::string& container_id) {
  grpc::ClientContext context;
  SetDeadline(&context, 120);
  storage::v1::RemoveRootfsRequest request;
  request.set_container_id(container_id);
  storage::v1::RemoveRootfsResponse response;
  return FromSiblingStatus(stub_->RemoveRootfs(&context, request, &response), "stored");
}

absl::Status GrpcStorage::AcquireVolume(const std::string& name, const std::string& container_id,
                                        bool anonymous) {
  grpc::ClientContext context;
  SetDeadline(&context, 60);
  storage::v1::AcquireVolumeRequest request;
  request.set_name(name);
  request.set_container_id(container_id);
  request.set_anonymous(anonymous);
  storage::v1::AcquireVolumeResponse response;
  return FromSiblingStatus(stub_->AcquireVolume(&context, request, &response), "stored");
}

absl::StatusOr<std::string> GrpcStorage::MountVolume(const std::string& name,
                                                     const std::string& container_id,
                                                     const std::string& container_path,
                                                     bool copy_image_data) {
  grpc::ClientContext context;
  // Copying the image's content into a new volume may take a while.
  SetDeadline(&context, 600);
  storage::v1::MountVolumeRequest request;
  request.set_name(name);
  request.set_container_id(container_id);
  request.set_container_path(container_path);
  request.set_copy_image_data(copy_image_data);
  storage::v1::MountVolumeResponse response;
  RETURN_IF_ERROR(FromSiblingStatus(stub_->MountVolume(&context, request, &response), "stored"));
  return response.mountpoint();
}

absl::Status GrpcStorage::ReleaseVolume(const std::string& name, const std::string& container_id,
                                        bool remove_anonymous) {
  grpc::ClientContext context;
  SetDeadline(&context, 600);
  storage::v1::ReleaseVolumeRequest request;
  request.set_name(name);
  request.set_container_id(container_id);
  request.set_remove_anonymous(remove_anonymous);
  storage::v1::ReleaseVolumeResponse response;
  return FromSiblingStatus(stub_->ReleaseVolume(&context, request, &response), "stored");
}

GrpcNetwork::GrpcNetwork(std::shared_ptr<grpc::Channel> channel)
    : stub_(network::v1::NetworkService::NewStub(channel)) {}

absl::StatusOr<SandboxResult> GrpcNetwork::CreateSandbox(const SandboxSpec& spec) {
  grpc::ClientContext context;
  SetDeadline(&context, 60);
  network::v1::CreateSandboxRequest request;
  request.set_container_id(spec.container_id);
  request.set_container_name(spec.container_name);
  request.set_config_json(spec.config_json);
  request.set_host_config_json(spec.host_config_json);
  request.set_networking_config_json(spec.networking_config_json);
  network::v1::CreateSandboxResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->CreateSandbox(&context, request, &response), "netd");
  if (!status.ok()) return status;
  return SandboxResult{response.netns_path(),
                       response.network_settings_json(),
                       {response.link_hosts().begin(), response.link_hosts().end()}};
}

absl::StatusOr<std::string> GrpcNetwork::ConnectNetwork(const std::string& container_id,
                                                        const std::string& container_name,
                                                        const std::string& network,
                                                        const std::string& endpoint_config_json) {
  grpc::ClientContext context;
  SetDeadline(&context, 60);
  network::v1::ConnectContainerRequest request;
  request.set_container_id(container_id);
  request.set_container_name(container_name);
  request.set_network(network);
  request.set_endpoint_config_json(endpoint_config_json);
  network::v1::ConnectContainerResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->ConnectContainer(&context, request, &response), "netd");
  if (!status.ok()) return status;
  return response.network_settings_json();
}

absl::StatusOr<std::string> GrpcNetwork::DisconnectNetwork(const std::string& container_id,
                                                           const std::string& network) {
  grpc::ClientContext context;
  SetDeadline(&context, 60);
  network::v1::DisconnectContainerRequest request;
  request.set_container_id(container_id);
  request.set_network(network);
  network::v1::DisconnectContainerResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->DisconnectContainer(&context, request, &response), "netd");
  if (!status.ok()) return status;
  return response.network_settings_json();
}

absl::StatusOr<std::string> GrpcNetwork::RenameSandbox(const std::string& container_id,
                                                       const std::string& container_name) {
  grpc::ClientContext context;
  SetDeadline(&context, 60);
  network::v1::RenameSandboxRequest request;
  request.set_container_id(container_id);
  request.set_container_name(container_name);
  network::v1::RenameSandboxResponse response;
  absl::Status status =
      FromSiblingStatus(stub_->RenameSandbox(&context, request, &response), "netd");
  if (!status.ok()) return status;
  return response.network_settings_json();
}

absl::Status GrpcNetwork::RemoveSandbox(const std::string& container_id) {
  grpc::ClientContext context;
  SetDeadline(&context, 60);
  network::v1::RemoveSandboxRequest request;
  request.set_container_id(container_id);
  network::v1::RemoveSandboxResponse response;
  return FromSiblingStatus(stub_->RemoveSandbox(&context, request, &response), "netd");
}

}  // namespace berth::runtimed
