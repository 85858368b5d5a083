#include "apiserver/backends/grpc_network.h"

#include <chrono>

#include "common/grpc_status.h"

namespace berth::apiserver {

namespace nw = ::berth::network::v1;
namespace rt = ::berth::runtime::v1;

namespace {

constexpr char kNetd[] = "netd";
constexpr char kRuntimed[] = "runtimed";

void SetDeadline(grpc::ClientContext* context) {
  context->set_deadline(std::chrono::system_clock::now() + std::chrono::seconds(60));
}

absl::StatusOr<Json> ParseNetwork(const std::string& text) {
  absl::StatusOr<Json> json = ParseJson(text);
  if (!json.ok()) return absl::InternalError("netd sent a malformed network");
  return json;
}

}  // namespace

GrpcNetworkBackend::GrpcNetworkBackend(std::shared_ptr<grpc::Channel> netd,
                                       std::shared_ptr<grpc::Channel> runtimed)
    : netd_(nw::NetworkService::NewStub(netd)), runtimed_(rt::RuntimeService::NewStub(runtimed)) {}

absl::StatusOr<std::string> GrpcNetworkBackend::CreateNetwork(const Json& request) {
  grpc::ClientContext context;
  SetDeadline(&context);
  nw::CreateNetworkRequest message;
  message.set_request_json(request.dump());
  nw::CreateNetworkResponse response;
  absl::Status status =
      FromSiblingStatus(netd_->CreateNetwork(&context, message, &response), kNetd);
  if (!status.ok()) return status;
  return response.id();
}

absl::StatusOr<Json> GrpcNetworkBackend::GetNetwork(const std::string& name_or_id) {
  grpc::ClientContext context;
  SetDeadline(&context);
  nw::GetNetworkRequest message;
  message.set_network(name_or_id);
  nw::GetNetworkResponse response;
  absl::Status status = FromSiblingStatus(netd_->GetNetwork(&context, message, &response), kNetd);
  if (!status.ok()) return status;
  return ParseNetwork(response.network_json());
}

absl::StatusOr<std::vector<Json>> GrpcNetworkBackend::ListNetworks() {
  grpc::ClientContext context;
  SetDeadline(&context);
  nw::ListNetworksResponse response;
  absl::Status status =
      FromSiblingStatus(netd_->ListNetworks(&context, nw::ListNetworksRequest(), &response), kNetd);
  if (!status.ok()) return status;
  std::vector<Json> networks;
  for (const std::string& text : response.network_json()) {
    absl::StatusOr<Json> network = ParseNetwork(text);
    if (!network.ok()) return network.status();
    networks.push_back(std::move(*network));
  }
  return networks;
}

absl::Status GrpcNetworkBackend::RemoveNetwork(const std::string& name_or_id) {
  grpc::ClientContext context;
  SetDeadline(&context);
  nw::RemoveNetworkRequest message;
  message.set_network(name_or_id);
  nw::RemoveNetworkResponse response;
  return FromSiblingStatus(netd_->RemoveNetwork(&context, message, &response), kNetd);
}

absl::StatusOr<std::vector<std::string>> GrpcNetworkBackend::PruneNetworks(const Json& filters) {
  grpc::ClientContext context;
  SetDeadline(&context);
  nw::PruneNetworksRequest message;
  message.set_filters_json(filters.dump());
  nw::PruneNetworksResponse response;
  absl::Status status =
      FromSiblingStatus(netd_->PruneNetworks(&context, message, &response), kNetd);
  if (!status.ok()) return status;
  return std::vector<std::string>(response.removed().begin(), response.removed().end());
}

absl::Status GrpcNetworkBackend::ConnectContainer(const std::string& network,
                                                  const std::string& container,
                                                  const Json& endpoint_config) {
  grpc::ClientContext context;
  SetDeadline(&context);
  rt::ConnectNetworkRequest message;
  message.set_id(container);
  message.set_network(network);
  message.set_endpoint_config_json(endpoint_config.dump());
  rt::ConnectNetworkResponse response;
  return FromSiblingStatus(runtimed_->ConnectNetwork(&context, message, &response), kRuntimed);
}

absl::Status GrpcNetworkBackend::DisconnectContainer(const std::string& network,
                                                     const std::string& container, bool force) {
  grpc::ClientContext context;
  SetDeadline(&context);
  rt::DisconnectNetworkRequest message;
  message.set_id(container);
  message.set_network(network);
  message.set_force(force);
  rt::DisconnectNetworkResponse response;
  return FromSiblingStatus(runtimed_->DisconnectNetwork(&context, message, &response), kRuntimed);
}

}  // namespace berth::apiserver
