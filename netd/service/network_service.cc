#include "netd/service/network_service.h"

#include "common/grpc_status.h"
#include "common/status.h"
#include "netd/network/render.h"

namespace berth::netd {
namespace {

// An empty body is an empty object; anything else must be JSON.
absl::StatusOr<Json> ParseBody(const std::string& text, const Json& empty) {
  if (text.empty()) return empty;
  return ParseJson(text);
}

}  // namespace

grpc::Status NetworkService::CreateSandbox(grpc::ServerContext*,
                                           const network::v1::CreateSandboxRequest* request,
                                           network::v1::CreateSandboxResponse* response) {
  SandboxRequest sandbox;
  sandbox.container_id = request->container_id();
  sandbox.container_name = request->container_name();
  absl::StatusOr<Json> config = ParseBody(request->config_json(), Json::object());
  absl::StatusOr<Json> host = ParseBody(request->host_config_json(), Json::object());
  absl::StatusOr<Json> networking = ParseBody(request->networking_config_json(), Json::object());
  for (const auto* parsed : {&config, &host, &networking}) {
    if (!parsed->ok()) return ToGrpcStatus(parsed->status());
  }
  sandbox.config = std::move(*config);
  sandbox.host_config = std::move(*host);
  sandbox.networking_config = std::move(*networking);
  // Callers that predate host_config_json name the mode on its own.
  if (request->host_config_json().empty()) {
    sandbox.host_config["NetworkMode"] = request->network_mode();
  }
  absl::StatusOr<SandboxInfo> info = sandboxes_->CreateSandbox(sandbox);
  if (!info.ok()) return ToGrpcStatus(info.status());
  response->set_netns_path(info->netns_path);
  response->set_network_settings_json(info->network_settings.dump());
  for (const std::string& line : info->link_hosts) response->add_link_hosts(line);
  PublishEndpoints("connect", request->container_id(), info->network_settings);
  return grpc::Status::OK;
}

grpc::Status NetworkService::RemoveSandbox(grpc::ServerContext*,
                                           const network::v1::RemoveSandboxRequest* request,
                                           network::v1::RemoveSandboxResponse*) {
  absl::StatusOr<SandboxInfo> before = sandboxes_->GetSandbox(request->container_id());
  absl::Status status = sandboxes_->RemoveSandbox(request->container_id());
  if (status.ok() && before.ok()) {
    PublishEndpoints("disconnect", request->container_id(), before->network_settings);
  }
  return ToGrpcStatus(status);
}

void NetworkService::PublishEndpoints(const std::string& action, const std::string& container_id,
                                      const Json& network_settings) {
  if (!network_settings.is_object() || !network_settings.contains("Networks") ||
      !network_settings["Networks"].is_object()) {
    return;
  }
  const Json& networks = network_settings["Networks"];
  for (auto it = networks.begin(); it != networks.end(); ++it) {
    Publish(action, it.value().value("NetworkID", std::string()), it.key(), container_id);
  }
}

void NetworkService::Publish(const std::string& action, const std::string& network_id,
                             const std::string& name, const std::string& container_id) {
  if (events_ == nullptr) return;
  std::map<std::string, std::string> attributes = {{"name", name}, {"type", "bridge"}};
  if (!container_id.empty()) attributes["container"] = container_id;
  events_->Publish("network", action, network_id, std::move(attributes));
}

grpc::Status NetworkService::GetSandbox(grpc::ServerContext*,
                                        const network::v1::GetSandboxRequest* request,
                                        network::v1::GetSandboxResponse* response) {
  absl::StatusOr<SandboxInfo> info = sandboxes_->GetSandbox(request->container_id());
  if (!info.ok()) return ToGrpcStatus(info.status());
  response->set_netns_path(info->netns_path);
  response->set_network_settings_json(info->network_settings.dump());
  return grpc::Status::OK;
}

absl::StatusOr<std::string> NetworkService::NetworkJson(const Network& network) {
  std::vector<Endpoint> mine;
  ASSIGN_OR_RETURN(std::vector<Endpoint> endpoints, sandboxes_->networks()->AllEndpoints());
  for (Endpoint& endpoint : endpoints) {
    if (endpoint.network_id == network.id) mine.push_back(std::move(endpoint));
  }
  return RenderNetwork(network, mine).dump();
}

grpc::Status NetworkService::CreateNetwork(grpc::ServerContext*,
                                           const network::v1::CreateNetworkRequest* request,
                                           network::v1::CreateNetworkResponse* response) {
  absl::StatusOr<Json> body = ParseBody(request->request_json(), Json::object());
  if (!body.ok()) return ToGrpcStatus(body.status());
  absl::StatusOr<Network> network = sandboxes_->networks()->CreateNetwork(*body);
  if (!network.ok()) return ToGrpcStatus(network.status());
  response->set_id(network->id);
  Publish("create", network->id, network->name);
  return grpc::Status::OK;
}

grpc::Status NetworkService::GetNetwork(grpc::ServerContext*,
                                        const network::v1::GetNetworkRequest* request,
                                        network::v1::GetNetworkResponse* response) {
  absl::StatusOr<Network> network = sandboxes_->networks()->GetNetwork(request->network());
  if (!network.ok()) return ToGrpcStatus(network.status());
  absl::StatusOr<std::string> json = NetworkJson(*network);
  if (!json.ok()) return ToGrpcStatus(json.status());
  response->set_network_json(*json);
  return grpc::Status::OK;
}

grpc::Status NetworkService::ListNetworks(grpc::ServerContext*,
                                          const network::v1::ListNetworksRequest*,
                                          network::v1::ListNetworksResponse* response) {
  absl::StatusOr<std::vector<Network>> networks = sandboxes_->networks()->ListNetworks();
  if (!networks.ok()) return ToGrpcStatus(networks.status());
  for (const Network& network : *networks) {
    absl::StatusOr<std::string> json = NetworkJson(network);
    if (!json.ok()) return ToGrpcStatus(json.status());
    response->add_network_json(*json);
  }
  return grpc::Status::OK;
}

grpc::Status NetworkService::RemoveNetwork(grpc::ServerContext*,
                                           const network::v1::RemoveNetworkRequest* request,
                                           network::v1::RemoveNetworkResponse*) {
  absl::StatusOr<Network> network = sandboxes_->networks()->GetNetwork(request->network());
  absl::Status status = sandboxes_->networks()->RemoveNetwork(request->network());
  if (status.ok() && network.ok()) Publish("destroy", network->id, network->name);
  return ToGrpcStatus(status);
}

grpc::Status NetworkService::PruneNetworks(grpc::ServerContext*,
                                           const network::v1::PruneNetworksRequest* request,
                                           network::v1::PruneNetworksResponse* response) {
  absl::StatusOr<Json> filters = ParseBody(request->filters_json(), Json::object());
  if (!filters.ok()) return ToGrpcStatus(filters.status());
  auto keep = PruneKeepFilter(*filters);
  if (!keep.ok()) return ToGrpcStatus(keep.status());
  absl::StatusOr<std::vector<std::string>> removed = sandboxes_->networks()->PruneNetworks(*keep);
  if (!removed.ok()) return ToGrpcStatus(removed.status());
  for (const std::string& name : *removed) {
    response->add_removed(name);
    Publish("destroy", "", name);
  }
  return grpc::Status::OK;
}

grpc::Status NetworkService::ConnectContainer(grpc::ServerContext*,
                                              const network::v1::ConnectContainerRequest* request,
                                              network::v1::ConnectContainerResponse* response) {
  absl::StatusOr<Json> config = ParseBody(request->endpoint_config_json(), Json::object());
  if (!config.ok()) return ToGrpcStatus(config.status());
  absl::StatusOr<Json> settings = sandboxes_->Connect(
      request->container_id(), request->container_name(), request->network(), *config);
  if (!settings.ok()) return ToGrpcStatus(settings.status());
  response->set_network_settings_json(settings->dump());
  if (absl::StatusOr<Network> network = sandboxes_->networks()->GetNetwork(request->network());
      network.ok()) {
    Publish("connect", network->id, network->name, request->container_id());
  }
  return grpc::Status::OK;
}

grpc::Status NetworkService::DisconnectContainer(
    grpc::ServerContext*, const network::v1::DisconnectContainerRequest* request,
    network::v1::DisconnectContainerResponse* response) {
  absl::StatusOr<Network> network = sandboxes_->networks()->GetNetwork(request->network());
  absl::StatusOr<Json> settings =
      sandboxes_->Disconnect(request->container_id(), request->network());
  if (!settings.ok()) return ToGrpcStatus(settings.status());
  if (network.ok()) Publish("disconnect", network->id, network->name, request->container_id());
  response->set_network_settings_json(settings->dump());
  return grpc::Status::OK;
}

grpc::Status NetworkService::RenameSandbox(grpc::ServerContext*,
                                           const network::v1::RenameSandboxRequest* request,
                                           network::v1::RenameSandboxResponse* response) {
  absl::StatusOr<Json> settings =
      sandboxes_->Rename(request->container_id(), request->container_name());
  if (!settings.ok()) return ToGrpcStatus(settings.status());
  response->set_network_settings_json(settings->dump());
  return grpc::Status::OK;
}

}  // namespace berth::netd
