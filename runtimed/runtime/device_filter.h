// The device cgroup: which device nodes a container may create (mknod),
// read and write. cgroup v1 has a `devices` controller taking one rule per
// write; cgroup v2 has none, and the same rules become an eBPF program of type
// BPF_PROG_TYPE_CGROUP_DEVICE attached to the container's cgroup, as runc and
// crun do. Without either, a container with CAP_MKNOD could make a node for
// the host's disk and read it.
#pragma once

#include <linux/bpf.h>

#include <string>
#include <vector>

#include "absl/status/status.h"
#include "runtimed/runtime/spec.h"

namespace berth::runtime {

// The line written to devices.allow or devices.deny for a rule:
// "c 1:3 rwm", "a *:* rwm", "b 8:* m".
std::string DeviceRuleLine(const DeviceRule& rule);

// The eBPF program enforcing `rules` in OCI order (a later rule overrides an
// earlier one; what no rule matches is denied).
std::vector<bpf_insn> CompileDeviceFilter(const std::vector<DeviceRule>& rules);

// Loads the program and attaches it to the cgroup v2 directory `cgroup_dir`.
// The cgroup keeps it alive: the program goes with the cgroup's removal.
absl::Status AttachDeviceFilter(const std::string& cgroup_dir,
                                const std::vector<DeviceRule>& rules);

}  // namespace berth::runtime
