#include "runtimed/daemon/namespace_modes.h"

#include "runtimed/daemon/container_config.h"

namespace berth::runtimed {

absl::Status ResolveNamespaceModes(bool cgroup_v2, Json* host_config) {
  Json& host = *host_config;
  std::string cgroupns = JsonString(host, "CgroupnsMode");
  if (cgroupns.empty()) {
    host["CgroupnsMode"] = cgroup_v2 ? "private" : "host";
  } else if (cgroupns != "private" && cgroupns != "host") {
    return absl::InvalidArgumentError("invalid cgroup namespace mode: " + cgroupns);
  }
  // Without userns-remap every container shares the host's user namespace.
  if (std::string userns = JsonString(host, "UsernsMode"); !userns.empty() && userns != "host") {
    return absl::InvalidArgumentError("invalid userns mode: " + userns);
  }
  return absl::OkStatus();
}

bool PrivateCgroupNamespace(const Json& host_config, bool cgroup_v2) {
  const std::string mode = JsonString(host_config, "CgroupnsMode");
  return mode == "private" || (mode.empty() && cgroup_v2);
}

}  // namespace berth::runtimed
