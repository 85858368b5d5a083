#include "apiserver/handlers/volumes.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "apiserver/filters.h"
#include "apiserver/handlers/util.h"
#include "apiserver/timefmt.h"
#include "common/mount_points.h"
#include "common/status.h"

namespace berth::apiserver {

namespace st = ::berth::storage::v1;

namespace {

constexpr size_t kMaxCreateBody = 1024 * 1024;
constexpr int64_t kNanosPerSecond = 1000000000;

Json StringMapOrNull(const google::protobuf::Map<std::string, std::string>& map) {
  if (map.empty()) return Json();
  Json out = Json::object();
  for (const auto& [k, v] : map) out[k] = v;
  return out;
}

absl::Status CheckDriver(const std::string& driver) {
  if (driver.empty() || driver == "local") return absl::OkStatus();
  return absl::NotFoundError(absl::StrCat("plugin \"", driver, "\" not found"));
}

// Docker reads booleans in filters as "true"/"1" and "false"/"0".
absl::StatusOr<bool> FilterBool(const std::string& key, const std::string& value) {
  if (value == "true" || value == "1") return true;
  if (value == "false" || value == "0") return false;
  return absl::InvalidArgumentError(absl::StrCat("invalid filter '", key, "=", value, "'"));
}

}  // namespace

Json RenderVolume(const st::Volume& volume) {
  return {
      {"CreatedAt", FormatRfc3339Nano(volume.created_at() * kNanosPerSecond)},
      {"Driver", "local"},
      {"Labels", StringMapOrNull(volume.labels())},
      {"Mountpoint", volume.mountpoint()},
      {"Name", volume.name()},
      {"Options", StringMapOrNull(volume.options())},
      {"Scope", "local"},
  };
}

void VolumeHandlers::Register(Router& router) {
  auto bind = [this](absl::Status (VolumeHandlers::*method)(Exchange&, const std::string&)) {
    return
        [this, method](Exchange& e, const std::string& name) { return (this->*method)(e, name); };
  };
  router.Add("POST", "/volumes/create",
             [this](Exchange& e, const std::string&) { return Create(e); });
  router.Add("GET", "/volumes", [this](Exchange& e, const std::string&) { return List(e); });
  router.Add("POST", "/volumes/prune",
             [this](Exchange& e, const std::string&) { return Prune(e); });
  router.Add("GET", "/volumes/{name}", bind(&VolumeHandlers::Inspect));
  router.Add("DELETE", "/volumes/{name}", bind(&VolumeHandlers::Remove));
}

absl::Status VolumeHandlers::Create(Exchange& exchange) {
  ASSIGN_OR_RETURN(std::string body, exchange.ReadBody(kMaxCreateBody));
  Json spec = Json::object();
  if (!body.empty()) {
    ASSIGN_OR_RETURN(spec, ParseJson(body));
    if (spec.is_null()) spec = Json::object();
    if (!spec.is_object()) return absl::InvalidArgumentError("invalid JSON: not an object");
  }
  st::CreateVolumeRequest request;
  if (spec.contains("Name") && spec["Name"].is_string()) {
    request.set_name(spec["Name"].get<std::string>());
  }
  if (spec.contains("Driver") && spec["Driver"].is_string()) {
    RETURN_IF_ERROR(CheckDriver(spec["Driver"].get<std::string>()));
  }
  for (const char* key : {"Labels", "DriverOpts"}) {
    if (!spec.contains(key) || !spec[key].is_object()) continue;
    auto* map = std::string(key) == "Labels" ? request.mutable_labels() : request.mutable_options();
    for (auto it = spec[key].begin(); it != spec[key].end(); ++it) {
      if (!it->is_string()) {
        return absl::InvalidArgumentError(
            absl::StrCat("invalid JSON: ", key, " values must be strings"));
      }
      (*map)[it.key()] = it->get<std::string>();
    }
  }
  ASSIGN_OR_RETURN(st::Volume volume, volumes_->CreateVolume(request));
  ReplyJson(exchange, 201, RenderVolume(volume));
  return absl::OkStatus();
}

absl::Status VolumeHandlers::List(Exchange& exchange) {
  ASSIGN_OR_RETURN(Filters filters, Filters::Parse(exchange.request().query.Get("filters")));
  RETURN_IF_ERROR(filters.Validate({"name", "label", "dangling", "driver"}));
  std::optional<bool> dangling;
  for (const std::string& value : filters.Get("dangling")) {
    ASSIGN_OR_RETURN(bool b, FilterBool("dangling", value));
    dangling = b;
  }
  ASSIGN_OR_RETURN(std::vector<st::Volume> volumes, volumes_->ListVolumes());
  Json out = Json::array();
  for (const st::Volume& volume : volumes) {
    if (dangling && *dangling != (volume.container_ids_size() == 0)) continue;
    // Docker's name filter is a substring match.
    if (!filters.AnyOrAbsent(
            "name", [&](const std::string& v) { return absl::StrContains(volume.name(), v); })) {
      continue;
    }
    if (!filters.AnyOrAbsent("driver", [](const std::string& v) { return v == "local"; })) continue;
    std::map<std::string, std::string> labels(volume.labels().begin(), volume.labels().end());
    if (!filters.MatchLabels(labels)) continue;
    out.push_back(RenderVolume(volume));
  }
  ReplyJson(exchange, 200, {{"Volumes", out}, {"Warnings", nullptr}});
  return absl::OkStatus();
}

absl::Status VolumeHandlers::Inspect(Exchange& exchange, const std::string& name) {
  ASSIGN_OR_RETURN(st::Volume volume, volumes_->GetVolume(name));
  ReplyJson(exchange, 200, RenderVolume(volume));
  return absl::OkStatus();
}

absl::Status VolumeHandlers::Remove(Exchange& exchange, const std::string& name) {
  RETURN_IF_ERROR(volumes_->RemoveVolume(name, exchange.request().query.GetBool("force")));
  exchange.Reply(204, kJsonType, "");
  return absl::OkStatus();
}

absl::Status VolumeHandlers::Prune(Exchange& exchange) {
  ASSIGN_OR_RETURN(Filters filters, Filters::Parse(exchange.request().query.Get("filters")));
  RETURN_IF_ERROR(filters.Validate({"all"}));
  bool all = false;
  for (const std::string& value : filters.Get("all")) {
    ASSIGN_OR_RETURN(all, FilterBool("all", value));
  }
  ASSIGN_OR_RETURN(st::PruneVolumesResponse report, volumes_->PruneVolumes(all));
  Json deleted = Json::array();
  for (const std::string& name : report.deleted()) deleted.push_back(name);
  ReplyJson(exchange, 200,
            {{"VolumesDeleted", deleted}, {"SpaceReclaimed", report.space_reclaimed()}});
  return absl::OkStatus();
}

Json RenderMounts(const runtime::v1::Container& container, const std::string& volumes_dir) {
  Json out = Json::array();
  absl::StatusOr<Json> config = ParseJson(container.config_json());
  absl::StatusOr<Json> host = ParseJson(container.host_config_json());
  if (!config.ok() || !host.ok()) return out;
  absl::StatusOr<std::vector<MountPoint>> mounts = ParseMountPoints(*config, *host, container.id());
  if (!mounts.ok()) return out;
  for (const MountPoint& m : *mounts) {
    Json mount = {{"Type", m.type}};
    if (m.type == "volume") {
      mount["Name"] = m.name;
      mount["Source"] = volumes_dir.empty() ? "" : volumes_dir + "/" + m.name + "/_data";
    } else {
      mount["Source"] = m.source;
    }
    mount["Destination"] = m.destination;
    if (m.type == "volume") mount["Driver"] = "local";
    mount["Mode"] = m.mode;
    mount["RW"] = m.read_write;
    mount["Propagation"] = m.propagation;
    out.push_back(mount);
  }
  return out;
}

}  // namespace berth::apiserver
