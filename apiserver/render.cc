#include "apiserver/render.h"

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "apiserver/port_summary.h"
#include "apiserver/timefmt.h"
#include "apiserver/version.h"
#include "common/endpoint_settings.h"

namespace berth::apiserver {

namespace img = ::berth::image::v1;
namespace rt = ::berth::runtime::v1;

namespace {

constexpr int64_t kNanosPerSecond = 1000000000LL;

Json StringMap(const std::map<std::string, std::string>& values) {
  Json out = Json::object();
  for (const auto& [k, v] : values) out[k] = v;
  return out;
}

std::map<std::string, std::string> LabelsFrom(const Json& config) {
  std::map<std::string, std::string> labels;
  auto it = config.find("Labels");
  if (it != config.end() && it->is_object()) {
    for (auto& [k, v] : it->items()) {
      if (v.is_string()) labels[k] = v.get<std::string>();
    }
  }
  return labels;
}

// A container that is not running still lists its networks, without
// addresses, as Docker shows them: the NetworkMode's and those recorded in
// NetworkingConfig (the CLI calls the default bridge "default").
Json RecordedNetworks(const rt::Container& container) {
  Json networks = Json::object();
  auto add = [&](std::string name) {
    if (name.empty() || name == "default") name = "bridge";
    if (name.rfind("container:", 0) == 0) return;
    networks[name] = EmptyEndpointSettings("");
  };
  Json host_config = ParseObject(container.host_config_json());
  auto mode = host_config.find("NetworkMode");
  add(mode != host_config.end() && mode->is_string() ? mode->get<std::string>() : "");
  Json networking = ParseObject(container.networking_config_json());
  if (auto it = networking.find("EndpointsConfig"); it != networking.end() && it->is_object()) {
    for (auto endpoint = it->begin(); endpoint != it->end(); ++endpoint) add(endpoint.key());
  }
  return networks;
}

// ps shows the networks of a running container as inspect does.
Json ListNetworks(const rt::Container& container) {
  Json settings = ParseObject(container.network_settings_json());
  auto it = settings.find("Networks");
  return it != settings.end() && it->is_object() ? *it : RecordedNetworks(container);
}

std::string NetworkModeOf(const Json& host_config) {
  auto it = host_config.find("NetworkMode");
  if (it != host_config.end() && it->is_string() && !it->get<std::string>().empty()) {
    return it->get<std::string>();
  }
  return "default";
}

Json Strings(const google::protobuf::RepeatedPtrField<std::string>& values) {
  Json out = Json::array();
  for (const std::string& v : values) out.push_back(v);
  return out;
}

}  // namespace

Json ParseObject(const std::string& text) {
  if (text.empty()) return Json::object();
  Json parsed = Json::parse(text, nullptr, /*allow_exceptions=*/false);
  if (parsed.is_discarded() || !parsed.is_object()) return Json::object();
  return parsed;
}

int64_t ParseRfc3339Seconds(const std::string& text) {
  absl::Time time;
  std::string error;
  if (!absl::ParseTime(absl::RFC3339_full, text, &time, &error)) return 0;
  return absl::ToUnixSeconds(time);
}

bool ContainerTty(const rt::Container& container) {
  Json config = ParseObject(container.config_json());
  auto it = config.find("Tty");
  return it != config.end() && it->is_boolean() && it->get<bool>();
}

std::map<std::string, std::string> ContainerLabels(const rt::Container& container) {
  return LabelsFrom(ParseObject(container.config_json()));
}

std::string ContainerCommand(const rt::Container& container) {
  std::string command = container.path();
  for (const std::string& arg : container.args()) {
    if (arg.find(' ') != std::string::npos) {
      absl::StrAppend(&command, " '", arg, "'");
    } else {
      absl::StrAppend(&command, " ", arg);
    }
  }
  return command;
}

Json RenderContainerSummary(const rt::Container& container, bool with_size, int64_t now_nanos) {
  const rt::ContainerState& state = container.state();
  Json host_config = ParseObject(container.host_config_json());
  StateForText text{state.status(), state.exit_code(), state.started_at(), state.finished_at(),
                    state.has_health() ? state.health().status() : ""};
  Json out = {
      {"Id", container.id()},
      {"Names", Json::array({"/" + container.name()})},
      {"Image", container.image()},
      {"ImageID", container.image_id()},
      {"Command", ContainerCommand(container)},
      {"Created", container.created() / kNanosPerSecond},
      {"Ports",
       PortSummaries(ParseObject(container.network_settings_json()).value("Ports", Json()))},
      {"Labels", StringMap(ContainerLabels(container))},
      {"State", state.status()},
      {"Status", StateText(text, now_nanos)},
      {"HostConfig", {{"NetworkMode", NetworkModeOf(host_config)}}},
      {"NetworkSettings", {{"Networks", ListNetworks(container)}}},
      {"Mounts", Json::array()},
  };
  if (with_size) {
    // Sizes need a walk of the rootfs that stored does not offer yet.
    out["SizeRw"] = 0;
    out["SizeRootFs"] = 0;
  }
  return out;
}

Json RenderContainerInspect(const rt::Container& container) {
  const rt::ContainerState& state = container.state();
  const std::string& status = state.status();
  Json config = ParseObject(container.config_json());
  Json host_config = ParseObject(container.host_config_json());
  if (!host_config.contains("NetworkMode")) host_config["NetworkMode"] = "default";
  Json state_json = {
      {"Status", status},
      {"Running", status == "running" || status == "paused" || status == "restarting"},
      {"Paused", status == "paused"},
      {"Restarting", status == "restarting"},
      {"OOMKilled", state.oom_killed()},
      {"Dead", status == "dead"},
      {"Pid", state.pid()},
      {"ExitCode", state.exit_code()},
      {"Error", state.error()},
      {"StartedAt", FormatRfc3339Nano(state.started_at())},
      {"FinishedAt", FormatRfc3339Nano(state.finished_at())},
  };
  if (state.has_health()) {
    Json log = Json::array();
    for (const rt::HealthProbe& probe : state.health().log()) {
      log.push_back({{"Start", FormatRfc3339Nano(probe.start())},
                     {"End", FormatRfc3339Nano(probe.end())},
                     {"ExitCode", probe.exit_code()},
                     {"Output", probe.output()}});
    }
    state_json["Health"] = {{"Status", state.health().status()},
                            {"FailingStreak", state.health().failing_streak()},
                            {"Log", log}};
  }
  Json graph_data = Json::object();
  if (!container.rootfs_path().empty()) graph_data["MergedDir"] = container.rootfs_path();
  Json network_settings = {
      {"Bridge", ""},
      {"SandboxID", ""},
      {"SandboxKey", ""},
      {"Ports", Json::object()},
      {"HairpinMode", false},
      {"LinkLocalIPv6Address", ""},
      {"LinkLocalIPv6PrefixLen", 0},
      {"SecondaryIPAddresses", nullptr},
      {"SecondaryIPv6Addresses", nullptr},
      {"EndpointID", ""},
      {"Gateway", ""},
      {"GlobalIPv6Address", ""},
      {"GlobalIPv6PrefixLen", 0},
      {"IPAddress", ""},
      {"IPPrefixLen", 0},
      {"IPv6Gateway", ""},
      {"MacAddress", ""},
      {"Networks", RecordedNetworks(container)},
  };
  // netd renders Docker's NetworkSettings while the container runs.
  if (Json from_netd = ParseObject(container.network_settings_json()); !from_netd.empty()) {
    network_settings = std::move(from_netd);
  }
  return {
      {"Id", container.id()},
      {"Created", FormatRfc3339Nano(container.created())},
      {"Path", container.path()},
      {"Args", Strings(container.args())},
      {"State", state_json},
      {"Image", container.image_id()},
      {"ResolvConfPath", container.resolv_conf_path()},
      {"HostnamePath", container.hostname_path()},
      {"HostsPath", container.hosts_path()},
      {"LogPath", container.log_path()},
      {"Name", "/" + container.name()},
      {"RestartCount", container.restart_count()},
      {"Driver", "overlay2"},
      {"Platform", "linux"},
      {"MountLabel", ""},
      {"ProcessLabel", ""},
      {"AppArmorProfile", ""},
      {"ExecIDs", nullptr},
      {"HostConfig", host_config},
      {"GraphDriver", {{"Data", graph_data}, {"Name", "overlay2"}}},
      {"Mounts", Json::array()},
      {"Config", config},
      {"NetworkSettings", network_settings},
  };
}

std::map<std::string, std::string> ImageLabels(const img::Image& image) {
  std::map<std::string, std::string> labels(image.labels().begin(), image.labels().end());
  if (labels.empty()) {
    Json config = ParseObject(image.config_json());
    auto it = config.find("config");
    if (it != config.end() && it->is_object()) labels = LabelsFrom(*it);
  }
  return labels;
}

Json RenderImageSummary(const img::Image& image, const std::string& api_version) {
  Json out = {
      {"Containers", -1},
      {"Created", image.created()},
      {"Id", image.id()},
      {"Labels", StringMap(ImageLabels(image))},
      {"ParentId", image.parent()},
      {"RepoDigests", Strings(image.repo_digests())},
      {"RepoTags", Strings(image.repo_tags())},
      {"SharedSize", -1},
      {"Size", image.size()},
  };
  if (!VersionAtLeast(api_version, "1.44")) out["VirtualSize"] = image.size();
  return out;
}

Json RenderImageInspect(const img::Image& image, const std::string& api_version) {
  Json config = ParseObject(image.config_json());
  auto text = [&config](const char* key) {
    auto it = config.find(key);
    return it != config.end() && it->is_string() ? it->get<std::string>() : std::string();
  };
  Json container_config = Json::object();
  if (auto it = config.find("config"); it != config.end() && it->is_object()) {
    container_config = *it;
  }
  std::string created = text("created");
  if (created.empty() && image.created() != 0) {
    created = FormatRfc3339Nano(image.created() * kNanosPerSecond);
  }
  std::string os = text("os");
  Json out = {
      {"Id", image.id()},
      {"RepoTags", Strings(image.repo_tags())},
      {"RepoDigests", Strings(image.repo_digests())},
      {"Parent", image.parent()},
      {"Comment", text("comment")},
      {"Created", created},
      {"DockerVersion", text("docker_version")},
      {"Author", text("author")},
      {"Config", container_config},
      {"Architecture", text("architecture")},
      {"Os", os.empty() ? "linux" : os},
      {"Size", image.size()},
      {"GraphDriver", {{"Data", Json::object()}, {"Name", "overlay2"}}},
      {"RootFS", {{"Type", "layers"}, {"Layers", Strings(image.diff_ids())}}},
      {"Metadata", {{"LastTagTime", kZeroTime}}},
  };
  if (!text("variant").empty()) out["Variant"] = text("variant");
  if (!VersionAtLeast(api_version, "1.44")) out["VirtualSize"] = image.size();
  return out;
}

Json RenderImageHistory(const img::Image& image) {
  Json config = ParseObject(image.config_json());
  Json entries = Json::array();
  auto history = config.find("history");
  if (history != config.end() && history->is_array()) {
    for (const Json& h : *history) {
      if (!h.is_object()) continue;
      auto str = [&h](const char* key) {
        auto it = h.find(key);
        return it != h.end() && it->is_string() ? it->get<std::string>() : std::string();
      };
      // Newest first, as Docker lists it.
      entries.insert(entries.begin(), Json{
                                          {"Id", "<missing>"},
                                          {"Created", ParseRfc3339Seconds(str("created"))},
                                          {"CreatedBy", str("created_by")},
                                          {"Tags", nullptr},
                                          {"Size", 0},
                                          {"Comment", str("comment")},
                                      });
    }
  }
  if (entries.empty()) {
    entries.push_back(Json{{"Id", image.id()},
                           {"Created", image.created()},
                           {"CreatedBy", ""},
                           {"Tags", nullptr},
                           {"Size", image.size()},
                           {"Comment", ""}});
  }
  entries[0]["Id"] = image.id();
  if (image.repo_tags_size() > 0) entries[0]["Tags"] = Strings(image.repo_tags());
  return entries;
}

}  // namespace berth::apiserver
