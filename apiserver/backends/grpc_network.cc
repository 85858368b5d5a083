#include "apiserver/backends/grpc_network.h"

#include <chrono>

#include "apiserver/backends/grpc_streams.h"
#include "common/grpc_status.h"
#include "common/status.h"

namespace berth::apiserver {

namespace nw = ::berth::network::v1;
namespace rt = ::berth::runtime::v1;

namespace {

constexpr char kNetd[] = "netd";
constexpr char kRuntimed[] = "runtimed";

constexpr auto kDeadline = std::chrono::seconds(60);

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
  nw::CreateNetworkRequest message;
  message.set_request_json(request.dump());
  ASSIGN_OR_RETURN(
      nw::CreateNetworkResponse response,
      UnaryCall(netd_.get(), &nw::NetworkService::Stub::CreateNetwork, message, kDeadline, kNetd));
  return response.id();
}

absl::StatusOr<Json> GrpcNetworkBackend::GetNetwork(const std::string& name_or_id) {
  nw::GetNetworkRequest message;
  message.set_network(name_or_id);
  ASSIGN_OR_RETURN(
      nw::GetNetworkResponse response,
      UnaryCall(netd_.get(), &nw::NetworkService::Stub::GetNetwork, message, kDeadline, kNetd));
  return ParseNetwork(response.network_json());
}

absl::StatusOr<std::vector<Json>> GrpcNetworkBackend::ListNetworks() {
  ASSIGN_OR_RETURN(nw::ListNetworksResponse response,
                   UnaryCall(netd_.get(), &nw::NetworkService::Stub::ListNetworks,
                             nw::ListNetworksRequest(), kDeadline, kNetd));
  std::vector<Json> networks;
  for (const std::string& text : response.network_json()) {
    ASSIGN_OR_RETURN(Json network, ParseNetwork(text));
    networks.push_back(std::move(network));
  }
  return networks;
}

absl::Status GrpcNetworkBackend::RemoveNetwork(const std::string& name_or_id) {
  nw::RemoveNetworkRequest message;
  message.set_network(name_or_id);
  return UnaryCall(netd_.get(), &nw::NetworkService::Stub::RemoveNetwork, message, kDeadline, kNetd)
      .status();
}

absl::StatusOr<std::vector<std::string>> GrpcNetworkBackend::PruneNetworks(const Json& filters) {
  nw::PruneNetworksRequest message;
  message.set_filters_json(filters.dump());
  ASSIGN_OR_RETURN(
      nw::PruneNetworksResponse response,
      UnaryCall(netd_.get(), &nw::NetworkService::Stub::PruneNetworks, message, kDeadline, kNetd));
  return std::vector<std::string>(response.removed().begin(), response.removed().end());
}

absl::Status GrpcNetworkBackend::ConnectContainer(const std::string& network,
                                                  const std::string& container,
                                                  const Json& endpoint_config) {
  rt::ConnectNetworkRequest message;
  message.set_id(container);
  message.set_network(network);
  message.set_endpoint_config_json(endpoint_config.dump());
  return UnaryCall(runtimed_.get(), &rt::RuntimeService::Stub::ConnectNetwork, message, kDeadline,
                   kRuntimed)
      .status();
}

absl::Status GrpcNetworkBackend::DisconnectContainer(const std::string& network,
                                                     const std::string& container, bool force) {
  rt::DisconnectNetworkRequest message;
  message.set_id(container);
  message.set_network(network);
  message.set_force(force);
  return UnaryCall(runtimed_.get(), &rt::RuntimeService::Stub::DisconnectNetwork, message,
                   kDeadline, kRuntimed)
      .status();
}

}  // namespace berth::apiserver
