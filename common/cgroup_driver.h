// daemon.json's choice of cgroup driver, read by runtimed (which uses it) and
// the apiserver (which reports it in `docker info`).
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "common/json.h"

namespace berth {

enum class CgroupDriver { kCgroupfs, kSystemd };

// "exec-opts": ["native.cgroupdriver=systemd"] (or "=cgroupfs", the default).
// InvalidArgument in dockerd's words for another driver; other exec-opts are
// left to whoever reads them.
absl::StatusOr<CgroupDriver> CgroupDriverFromConfig(const Json& config);

// The same from the file; a missing or empty path is the default.
absl::StatusOr<CgroupDriver> CgroupDriverFromConfigFile(const std::string& config_file);

// "cgroupfs" or "systemd", as `docker info` prints it.
std::string CgroupDriverName(CgroupDriver driver);

}  // namespace berth
