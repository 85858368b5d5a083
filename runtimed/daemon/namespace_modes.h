// Docker's namespace modes that depend on the host: --cgroupns (private by
// default on cgroup v2 hosts, host on v1) and --userns (host, the only mode
// without userns-remap).
#pragma once

#include "absl/status/status.h"
#include "common/json.h"

namespace berth::runtimed {

// Fills in an empty HostConfig.CgroupnsMode with the host's default and
// refuses modes Docker does not know, in Docker's words.
absl::Status ResolveNamespaceModes(bool cgroup_v2, Json* host_config);

// Whether the container gets a cgroup namespace of its own.
bool PrivateCgroupNamespace(const Json& host_config, bool cgroup_v2);

}  // namespace berth::runtimed
