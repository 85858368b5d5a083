#include "runtimed/daemon/cgroup_driver.h"

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "common/cgroup_driver.h"
#include "runtimed/runtime/systemd_bus.h"

namespace berth::runtimed {
namespace {

const char kNotASlice[] =
    "cgroup-parent for systemd cgroup should be a valid slice named as "
    "\"xxx.slice\"";

}  // namespace

absl::StatusOr<std::string> SystemdDefaultParent(const std::string& cgroup_parent_flag) {
  if (cgroup_parent_flag.empty() || cgroup_parent_flag == "berth") return "system.slice";
  if (!absl::EndsWith(cgroup_parent_flag, ".slice") ||
      cgroup_parent_flag.find('/') != std::string::npos) {
    return absl::InvalidArgumentError(kNotASlice);
  }
  return cgroup_parent_flag;
}

absl::StatusOr<std::string> ContainerCgroupsPath(bool systemd, const std::string& parent,
                                                 const std::string& default_parent,
                                                 const std::string& id) {
  std::string p = parent.empty() ? default_parent : parent;
  if (systemd) {
    if (!absl::EndsWith(p, ".slice") || p.find('/') != std::string::npos ||
        p.find(':') != std::string::npos) {
      return absl::InvalidArgumentError(kNotASlice);
    }
    return p + ":berth:" + id;
  }
  while (!p.empty() && p.back() == '/') p.pop_back();
  while (!p.empty() && p.front() == '/') p.erase(0, 1);
  return p.empty() ? "/" + id : "/" + p + "/" + id;
}

absl::Status CheckSystemdReachable() {
  return runtime::ConnectSystemd(runtime::SystemdBusAddress()).status();
}

absl::Status ConfigureCgroupDriver(const std::string& config_file, bool* systemd,
                                   std::string* cgroup_parent) {
  absl::StatusOr<CgroupDriver> driver = CgroupDriverFromConfigFile(config_file);
  if (!driver.ok()) {
    return absl::InvalidArgumentError(
        absl::StrCat(config_file, ": exec-opts: ", driver.status().message()));
  }
  *systemd = *driver == CgroupDriver::kSystemd;
  if (!*systemd) return absl::OkStatus();
  absl::StatusOr<std::string> parent = SystemdDefaultParent(*cgroup_parent);
  if (!parent.ok()) return parent.status();
  *cgroup_parent = *parent;
  if (absl::Status status = CheckSystemdReachable(); !status.ok()) {
    return absl::UnavailableError(absl::StrCat("native.cgroupdriver=systemd: ", status.message()));
  }
  return absl::OkStatus();
}

}  // namespace berth::runtimed
