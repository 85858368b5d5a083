// Moby's checks of a container's settings against the host, made when it is
// created (verifyContainerSettings / verifyPlatformContainerResources), in
// Moby's words: without them a bad limit reached the kernel at start and came
// back as "cannot set cpu.cfs_quota_us to 500: Invalid argument", or was
// silently taken (a 4 MB limit, an unknown stop signal).
#pragma once

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "common/json.h"

namespace berth::runtimed {

// What the host offers, as Moby's sysinfo sees it.
struct HostCpus {
  int count = 1;     // CPUs this process may run on
  std::string cpus;  // the root cpuset's, e.g. "0-1"
  std::string mems;  // e.g. "0"
};

// From sched_getaffinity and the root cpuset (v1 cpuset controller or the
// v2 root's cpuset.*.effective); an empty list when neither is readable.
HostCpus ReadHostCpus(const std::string& cgroup_root);

// Docker's Config and HostConfig; InvalidArgument (Moby's 400) with Moby's
// message for the first setting it refuses. `update`: docker update's
// rules, which allow a swap limit without a memory limit.
absl::Status VerifyContainerSettings(const Json& config, const Json& host_config,
                                     const HostCpus& host, bool update = false);

// Moby's ParseUintList ("0-2,5"): the CPUs or nodes listed, or
// InvalidArgument "invalid format: <list>".
absl::Status ParseCpuList(const std::string& list, std::vector<int>* out);

}  // namespace berth::runtimed
