#include "apiserver/handlers/networks.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "apiserver/filters.h"
#include "apiserver/handlers/util.h"
#include "common/status.h"

namespace berth::apiserver {

namespace {

constexpr size_t kMaxBody = 1024 * 1024;

bool Predefined(const std::string& name) {
  return name == "bridge" || name == "host" || name == "none";
}

std::string StringOf(const Json& object, const char* key) {
  auto it = object.find(key);
  return it != object.end() && it->is_string() ? it->get<std::string>() : "";
}

absl::StatusOr<Json> ReadObject(Exchange& exchange) {
  ASSIGN_OR_RETURN(std::string body, exchange.ReadBody(kMaxBody));
  if (body.empty()) return Json::object();
  ASSIGN_OR_RETURN(Json json, ParseJson(body));
  if (json.is_null()) return Json::object();
  if (!json.is_object()) return absl::InvalidArgumentError("invalid JSON: not an object");
  return json;
}

}  // namespace

absl::StatusOr<bool> NetworkMatches(const Json& network, const Filters& filters) {
  RETURN_IF_ERROR(filters.Validate({"name", "id", "label", "driver", "type", "scope", "dangling"}));
  const std::string name = StringOf(network, "Name");
  const std::string id = StringOf(network, "Id");
  // Docker matches names and IDs by substring and prefix.
  if (!filters.AnyOrAbsent("name",
                           [&](const std::string& v) { return absl::StrContains(name, v); }))
    return false;
  if (!filters.AnyOrAbsent("id", [&](const std::string& v) { return absl::StartsWith(id, v); }))
    return false;
  if (!filters.AnyOrAbsent("driver",
                           [&](const std::string& v) { return StringOf(network, "Driver") == v; }))
    return false;
  if (!filters.AnyOrAbsent("scope", [&](const std::string& v) { return v == "local"; }))
    return false;
  for (const std::string& type : filters.Get("type")) {
    if (type != "custom" && type != "builtin") {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter: 'type'='", type, "'"));
    }
  }
  if (!filters.AnyOrAbsent(
          "type", [&](const std::string& v) { return (v == "builtin") == Predefined(name); }))
    return false;
  for (const std::string& value : filters.Get("dangling")) {
    bool want;
    if (value == "true" || value == "1") {
      want = true;
    } else if (value == "false" || value == "0") {
      want = false;
    } else {
      return absl::InvalidArgumentError(absl::StrCat("invalid filter 'dangling=", value, "'"));
    }
    auto containers = network.find("Containers");
    const bool unused =
        containers == network.end() || !containers->is_object() || containers->empty();
    if ((unused && !Predefined(name)) != want) return false;
  }
  std::map<std::string, std::string> labels;
  if (auto it = network.find("Labels"); it != network.end() && it->is_object()) {
    for (auto label = it->begin(); label != it->end(); ++label) {
      if (label->is_string()) labels[label.key()] = label->get<std::string>();
    }
  }
  return filters.MatchLabels(labels);
}

void NetworkHandlers::Register(Router& router) {
  auto bind = [this](absl::Status (NetworkHandlers::*method)(Exchange&, const std::string&)) {
    return
        [this, method](Exchange& e, const std::string& name) { return (this->*method)(e, name); };
  };
  router.Add("POST", "/networks/create",
             [this](Exchange& e, const std::string&) { return Create(e); });
  router.Add("GET", "/networks", [this](Exchange& e, const std::string&) { return List(e); });
  router.Add("POST", "/networks/prune",
             [this](Exchange& e, const std::string&) { return Prune(e); });
  router.Add("GET", "/networks/{name}", bind(&NetworkHandlers::Inspect));
  router.Add("DELETE", "/networks/{name}", bind(&NetworkHandlers::Remove));
  router.Add("POST", "/networks/{name}/connect", bind(&NetworkHandlers::Connect));
  router.Add("POST", "/networks/{name}/disconnect", bind(&NetworkHandlers::Disconnect));
}

absl::Status NetworkHandlers::Create(Exchange& exchange) {
  ASSIGN_OR_RETURN(Json request, ReadObject(exchange));
  ASSIGN_OR_RETURN(std::string id, networks_->CreateNetwork(request));
  ReplyJson(exchange, 201, {{"Id", id}, {"Warning", ""}});
  return absl::OkStatus();
}

absl::Status NetworkHandlers::List(Exchange& exchange) {
  ASSIGN_OR_RETURN(Filters filters, Filters::Parse(exchange.request().query.Get("filters")));
  ASSIGN_OR_RETURN(std::vector<Json> networks, networks_->ListNetworks());
  Json out = Json::array();
  for (Json& network : networks) {
    ASSIGN_OR_RETURN(bool match, NetworkMatches(network, filters));
    if (match) out.push_back(std::move(network));
  }
  ReplyJson(exchange, 200, out);
  return absl::OkStatus();
}

absl::Status NetworkHandlers::Inspect(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(Json network, networks_->GetNetwork(name));
  ReplyJson(exchange, 200, network);
  return absl::OkStatus();
}

absl::Status NetworkHandlers::Remove(Exchange& exchange, const std::string& name) {
  RETURN_IF_ERROR(networks_->RemoveNetwork(name));
  exchange.Reply(204, kJsonType, "");
  return absl::OkStatus();
}

absl::Status NetworkHandlers::Prune(Exchange& exchange) {
  ASSIGN_OR_RETURN(Filters filters, Filters::Parse(exchange.request().query.Get("filters")));
  RETURN_IF_ERROR(filters.Validate({"label", "label!", "until"}));
  Json json = Json::object();
  for (const char* key : {"label", "label!", "until"}) {
    for (const std::string& value : filters.Get(key)) json[key][value] = true;
  }
  ASSIGN_OR_RETURN(std::vector<std::string> removed, networks_->PruneNetworks(json));
  ReplyJson(exchange, 200, {{"NetworksDeleted", removed}});
  return absl::OkStatus();
}

absl::Status NetworkHandlers::Connect(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(Json request, ReadObject(exchange));
  const std::string container = StringOf(request, "Container");
  if (container.empty()) return absl::InvalidArgumentError("container is required");
  Json endpoint = request.value("EndpointConfig", Json::object());
  if (endpoint.is_null()) endpoint = Json::object();
  // runtimed records the network under its canonical name.
  ASSIGN_OR_RETURN(Json network, networks_->GetNetwork(name));
  RETURN_IF_ERROR(networks_->ConnectContainer(StringOf(network, "Name"), container, endpoint));
  exchange.Reply(200, kJsonType, "");
  return absl::OkStatus();
}

absl::Status NetworkHandlers::Disconnect(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(Json request, ReadObject(exchange));
  const std::string container = StringOf(request, "Container");
  if (container.empty()) return absl::InvalidArgumentError("container is required");
  ASSIGN_OR_RETURN(Json network, networks_->GetNetwork(name));
  RETURN_IF_ERROR(networks_->DisconnectContainer(StringOf(network, "Name"), container,
                                                 request.value("Force", false)));
  exchange.Reply(200, kJsonType, "");
  return absl::OkStatus();
}

}  // namespace berth::apiserver
