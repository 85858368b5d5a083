#include "apiserver/handlers/build.h"

#include <set>

#include "absl/strings/str_split.h"
#include "apiserver/handlers/util.h"
#include "common/status.h"

namespace berth::apiserver {

namespace rt = ::berth::runtime::v1;
namespace img = ::berth::image::v1;

namespace {

constexpr size_t kMaxConfigBody = 1 << 20;

bool IsEmpty(const Json& value) {
  if (value.is_string()) return value.get_ref<const std::string&>().empty();
  return value.is_null() || ((value.is_array() || value.is_object()) && value.empty());
}

Json ParseOrEmpty(const std::string& text) {
  if (text.empty()) return Json::object();
  auto parsed = ParseJson(text);
  return parsed.ok() && parsed->is_object() ? *parsed : Json::object();
}

}  // namespace

void BuildHandlers::Register(Router& router) {
  router.Add("POST", "/commit",
             [this](Exchange& exchange, const std::string&) { return Commit(exchange); });
}

std::vector<std::string> MountPoints(const Json& config, const Json& host_config) {
  std::set<std::string> points;
  if (config.contains("Volumes") && config["Volumes"].is_object()) {
    for (const auto& [path, _] : config["Volumes"].items()) points.insert(path);
  }
  if (host_config.contains("Binds") && host_config["Binds"].is_array()) {
    for (const Json& bind : host_config["Binds"]) {
      if (!bind.is_string()) continue;
      std::vector<std::string> parts = absl::StrSplit(bind.get<std::string>(), ':');
      if (parts.size() >= 2) points.insert(parts[1]);
    }
  }
  if (host_config.contains("Mounts") && host_config["Mounts"].is_array()) {
    for (const Json& mount : host_config["Mounts"]) {
      if (mount.is_object() && mount.contains("Target") && mount["Target"].is_string()) {
        points.insert(mount["Target"].get<std::string>());
      }
    }
  }
  if (host_config.contains("Tmpfs") && host_config["Tmpfs"].is_object()) {
    for (const auto& [path, _] : host_config["Tmpfs"].items()) points.insert(path);
  }
  return {points.begin(), points.end()};
}

Json CommitConfig(const Json& container_config, const Json& body) {
  Json config = container_config.is_object() ? container_config : Json::object();
  if (!body.is_object()) return config;
  for (const auto& [key, value] : body.items()) {
    if (!IsEmpty(value) && !(value.is_boolean() && !value.get<bool>())) config[key] = value;
  }
  return config;
}

absl::Status BuildHandlers::Commit(Exchange& exchange) {
  const Query& query = exchange.request().query;
  const std::string name = query.Get("container");
  if (name.empty()) return absl::InvalidArgumentError("No such container: ");
  ASSIGN_OR_RETURN(std::string body, exchange.ReadBody(kMaxConfigBody));
  Json body_config = ParseOrEmpty(body);
  ASSIGN_OR_RETURN(rt::Container container, containers_->GetContainer(name));

  img::CommitContainerRequest request;
  request.set_container_id(container.id());
  request.set_image_id(container.image_id());
  Json config = ParseOrEmpty(container.config_json());
  request.set_config_json(CommitConfig(config, body_config).dump());
  for (const std::string& point : MountPoints(config, ParseOrEmpty(container.host_config_json()))) {
    request.add_excluded_paths(point);
  }
  request.set_repository(query.Get("repo"));
  request.set_tag(query.Get("tag"));
  request.set_comment(query.Get("comment"));
  request.set_author(query.Get("author"));
  for (const std::string& change : query.GetAll("changes")) {
    // The CLI sends each --change as its own parameter; older clients joined
    // them with newlines.
    for (absl::string_view line : absl::StrSplit(change, '\n', absl::SkipWhitespace())) {
      request.add_changes(std::string(line));
    }
  }

  const bool pause = !query.Has("pause") || query.GetBool("pause");
  const bool paused_here = pause && container.state().status() == "running";
  if (paused_here) RETURN_IF_ERROR(containers_->PauseContainer(container.id()));
  absl::StatusOr<std::string> id = builds_->CommitContainer(request);
  if (paused_here) {
    absl::Status unpaused = containers_->UnpauseContainer(container.id());
    if (id.ok() && !unpaused.ok()) return unpaused;
  }
  RETURN_IF_ERROR(id.status());
  ReplyJson(exchange, 201, {{"Id", *id}});
  return absl::OkStatus();
}

}  // namespace berth::apiserver
