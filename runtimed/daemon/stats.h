// docker stats in runtimed: one sample of a container's counters, from the
// cgroup named in its config.json and its init's network namespace.
#pragma once

#include <string>

#include "absl/status/statusor.h"
#include "proto/runtime/v1/runtime.pb.h"
#include "runtimed/daemon/exec_manager.h"

namespace berth::runtimed {

class ContainerStatsReader {
 public:
  // cgroup_root: where the hierarchies are mounted (tests use a directory).
  explicit ContainerStatsReader(ExecContainers* containers,
                                std::string cgroup_root = "/sys/fs/cgroup")
      : containers_(containers), cgroup_root_(std::move(cgroup_root)) {}

  // A container that is not running gets a sample with zero counters, as
  // Docker answers.
  absl::StatusOr<runtime::v1::ContainerStatsResponse> Read(const std::string& ref);

 private:
  ExecContainers* const containers_;
  const std::string cgroup_root_;
};

}  // namespace berth::runtimed
