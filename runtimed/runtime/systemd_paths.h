// What runc's and Docker's systemd cgroup driver mean by a cgroupsPath of the
// form "slice:prefix:name", and how it maps to a scope unit, its cgroup and
// its D-Bus properties. Pure functions: the D-Bus and cgroupfs side effects
// live in systemd_cgroup.cc.
#pragma once

#include <cstdint>
#include <string>
#include <variant>
#include <vector>

#include "absl/status/statusor.h"
#include "runtimed/runtime/spec.h"

namespace berth::runtime {

struct SystemdCgroupsPath {
  std::string slice;  // "system.slice" when the path left it empty
  std::string unit;   // "<prefix>-<name>.scope"
};

// True for "slice:prefix:name" (the only cgroupsPath with exactly two ':';
// a cgroupfs path never needs one).
bool IsSystemdCgroupsPath(const std::string& cgroups_path);

// InvalidArgument, in runc's words, for anything but "slice:prefix:name".
absl::StatusOr<SystemdCgroupsPath> ParseSystemdCgroupsPath(const std::string& cgroups_path);

// The cgroup directory of a slice, relative to the manager's root: systemd
// nests "a-b.slice" in "a.slice" ("/a.slice/a-b.slice"); "-.slice" is the root.
absl::StatusOr<std::string> ExpandSlice(const std::string& slice);

// The manager's root cgroup from its PID 1's /proc/1/cgroup: the
// name=systemd hierarchy on v1 and hybrid hosts, the unified one on v2,
// without the trailing "/init.scope". "" for the real root, "/x" when
// systemd itself runs in a cgroup (a container, or the e2e test's systemd).
std::string SystemdRootFromProcCgroup(const std::string& proc_cgroup, bool cgroup2);

// "<root><slice dirs>/<unit>" without the leading '/': the scope's directory
// below each hierarchy's mount point.
absl::StatusOr<std::string> SystemdScopeRelativePath(const SystemdCgroupsPath& path,
                                                     const std::string& root);

// One D-Bus property of a transient unit: the types sd-bus marshals as
// b, t, s, au and ay.
struct UnitProperty {
  using Value =
      std::variant<bool, uint64_t, std::string, std::vector<uint32_t>, std::vector<uint8_t>>;
  std::string name;
  Value value;
};

// The limits systemd itself knows, as runc sends them: MemoryLimit,
// CPUShares and BlockIOWeight on v1; MemoryMax, MemoryLow, MemorySwapMax,
// CPUWeight, IOWeight, AllowedCPUs and AllowedMemoryNodes on v2; CPUQuota
// and TasksMax on both. Everything else is written to the scope's files.
absl::StatusOr<std::vector<UnitProperty>> SystemdResourceProperties(const Resources& resources,
                                                                    bool cgroup2);

// The properties of the transient scope: a description, its slice,
// Delegate=yes (berth owns what is below the scope), accounting on, the
// container's init as its only PID, then the resource properties.
absl::StatusOr<std::vector<UnitProperty>> SystemdScopeProperties(const SystemdCgroupsPath& path,
                                                                 pid_t pid,
                                                                 const Resources& resources,
                                                                 bool cgroup2);

// A cpuset list ("0-2,4") as the little-endian bitmask systemd's AllowedCPUs
// takes.
absl::StatusOr<std::vector<uint8_t>> CpusetToMask(const std::string& list);

}  // namespace berth::runtime
