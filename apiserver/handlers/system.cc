#include "apiserver/handlers/system.h"

#include "absl/strings/str_cat.h"
#include "apiserver/handlers/prune.h"
#include "apiserver/handlers/util.h"
#include "apiserver/timefmt.h"
#include "apiserver/version.h"
#include "common/daemon_options.h"

namespace berth::apiserver {

void SystemHandlers::Register(Router& router) {
  auto ping = [this](Exchange& e, const std::string&) { return Ping(e); };
  router.Add("GET", "/_ping", ping);
  router.Add("HEAD", "/_ping", ping);
  router.Add("GET", "/version", [this](Exchange& e, const std::string&) { return Version(e); });
  router.Add("GET", "/info", [this](Exchange& e, const std::string&) { return Info(e); });
  router.Add("POST", "/containers/prune",
             [this](Exchange& e, const std::string&) { return PruneContainers(containers_, e); });
}

absl::Status SystemHandlers::Ping(Exchange& exchange) {
  exchange.SetHeader("Cache-Control", "no-cache, no-store, must-revalidate");
  exchange.SetHeader("Pragma", "no-cache");
  exchange.SetHeader("Builder-Version", "1");
  exchange.SetHeader("Swarm", "inactive");
  exchange.Reply(200, "text/plain; charset=utf-8", "OK");
  return absl::OkStatus();
}

Json SystemHandlers::VersionJson() const {
  std::string arch = GoArch(host_.architecture);
  Json details = {
      {"ApiVersion", kMaxApiVersion},
      {"Arch", arch},
      {"BuildTime", kBuildTime},
      {"Experimental", "false"},
      {"GitCommit", kGitCommit},
      {"GoVersion", kGoVersion},
      {"KernelVersion", host_.kernel_version},
      {"MinAPIVersion", kMinApiVersion},
      {"Os", "linux"},
  };
  return {
      {"Platform", {{"Name", "berth"}}},
      {"Components",
       Json::array({{{"Name", "Engine"}, {"Version", kBerthVersion}, {"Details", details}}})},
      {"Version", kBerthVersion},
      {"ApiVersion", kMaxApiVersion},
      {"MinAPIVersion", kMinApiVersion},
      {"GitCommit", kGitCommit},
      {"GoVersion", kGoVersion},
      {"Os", "linux"},
      {"Arch", arch},
      {"KernelVersion", host_.kernel_version},
      {"BuildTime", kBuildTime},
  };
}

absl::Status SystemHandlers::Version(Exchange& exchange) {
  ReplyJson(exchange, 200, VersionJson());
  return absl::OkStatus();
}

// In dockerd's order.
Json SystemHandlers::SecurityOptions() const {
  Json options = Json::array({"name=seccomp,profile=builtin"});
  if (host_.userns_remap) options.push_back("name=userns");
  options.push_back("name=cgroupns");
  return options;
}

Json SystemHandlers::InfoJson() {
  Json warnings = Json::array();
  int running = 0, paused = 0, stopped = 0, total = 0, images = 0;
  absl::StatusOr<std::vector<runtime::v1::Container>> containers =
      containers_->ListContainers(true);
  if (containers.ok()) {
    for (const auto& c : *containers) {
      ++total;
      const std::string& s = c.state().status();
      if (s == "paused") {
        ++paused;
      } else if (s == "running" || s == "restarting") {
        ++running;
      } else {
        ++stopped;
      }
    }
  } else {
    warnings.push_back(std::string(containers.status().message()));
  }
  absl::StatusOr<std::vector<image::v1::Image>> image_list = images_->ListImages();
  if (image_list.ok()) {
    images = static_cast<int>(image_list->size());
  } else {
    warnings.push_back(std::string(image_list.status().message()));
  }
  const std::string& cgroup_driver = host_.cgroup_driver;
  Json runtime_info = {{"runc", {{"path", "berth-shim"}}}};
  Json commit = {{"ID", kGitCommit}};
  return {
      {"ID", host_.id},
      {"Containers", total},
      {"ContainersRunning", running},
      {"ContainersPaused", paused},
      {"ContainersStopped", stopped},
      {"Images", images},
      {"Driver", "overlay2"},
      {"DriverStatus",
       Json::array(
           {Json::array({"Backing Filesystem", "extfs"}), Json::array({"Supports d_type", "true"}),
            Json::array({"Using metacopy", "false"}), Json::array({"Native Overlay Diff", "true"}),
            Json::array({"userxattr", "false"})})},
      {"Plugins",
       {{"Volume", Json::array({"local"})},
        {"Network", Json::array({"bridge", "host", "none"})},
        {"Authorization", nullptr},
        {"Log", Json::array({"json-file", "local", "none"})}}},
      {"MemoryLimit", true},
      {"SwapLimit", true},
      {"CpuCfsPeriod", true},
      {"CpuCfsQuota", true},
      {"CPUShares", true},
      {"CPUSet", true},
      {"PidsLimit", true},
      {"IPv4Forwarding", true},
      {"Debug", false},
      {"NFd", 0},
      {"OomKillDisable", host_.cgroup_version == "1"},
      {"NGoroutines", 0},
      {"SystemTime", FormatRfc3339Nano(NowNanos())},
      {"LoggingDriver", host_.logging_driver},
      {"CgroupDriver", cgroup_driver},
      {"CgroupVersion", host_.cgroup_version},
      {"NEventsListener", 0},
      {"KernelVersion", host_.kernel_version},
      {"OperatingSystem", host_.operating_system},
      {"OSVersion", host_.os_version},
      {"OSType", "linux"},
      {"Architecture", host_.architecture},
      {"IndexServerAddress", "https://index.docker.io/v1/"},
      {"RegistryConfig",
       {{"AllowNondistributableArtifactsCIDRs", nullptr},
        {"AllowNondistributableArtifactsHostnames", nullptr},
        {"InsecureRegistryCIDRs", Json::array({"::1/128", "127.0.0.0/8"})},
        {"IndexConfigs",
         {{"docker.io",
           {{"Name", "docker.io"},
            {"Mirrors", Json::array()},
            {"Secure", true},
            {"Official", true}}}}},
        {"Mirrors", nullptr}}},
      {"NCPU", host_.ncpu},
      {"MemTotal", host_.mem_total},
      {"GenericResources", nullptr},
      {"DockerRootDir", host_.root_dir},
      {"HttpProxy", ""},
      {"HttpsProxy", ""},
      {"NoProxy", ""},
      {"Name", host_.hostname},
      {"Labels", Json::array()},
      {"ExperimentalBuild", false},
      {"ServerVersion", kBerthVersion},
      {"Runtimes", runtime_info},
      {"DefaultRuntime", "runc"},
      {"Swarm",
       {{"NodeID", ""},
        {"NodeAddr", ""},
        {"LocalNodeState", "inactive"},
        {"ControlAvailable", false},
        {"Error", ""},
        {"RemoteManagers", nullptr}}},
      {"LiveRestoreEnabled", true},
      {"Isolation", ""},
      {"InitBinary", ""},
      {"ContainerdCommit", commit},
      {"RuncCommit", commit},
      {"InitCommit", commit},
      {"SecurityOptions", SecurityOptions()},
      {"CDISpecDirs", Json::array()},
      {"Warnings", warnings},
  };
}

absl::Status SystemHandlers::Info(Exchange& exchange) {
  ReplyJson(exchange, 200, InfoJson());
  return absl::OkStatus();
}

}  // namespace berth::apiserver
