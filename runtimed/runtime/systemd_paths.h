// What runc's and Docker's systemd cgroup driver mean by a cgroupsPath of the
// form "slice:prefix:name", and how it maps to a scope unit, its cgroup and
// its D-Bus properties. Pure functions: the D-Bus and cgroupfs side effects
// live in systemd_cgroup.cc.
#pragma once

#include <cstdint>
#include <map>
#include <string>
#include <utility>
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

// DeviceAllow's entries: a device node or class ("char-pts") and its access
// ("rwm").
using DeviceAllowList = std::vector<std::pair<std::string, std::string>>;

// One D-Bus property of a transient unit: the types sd-bus marshals as
// b, t, s, au, ay and a(ss).
struct UnitProperty {
  using Value = std::variant<bool, uint64_t, std::string, std::vector<uint32_t>,
                             std::vector<uint8_t>, DeviceAllowList>;
  std::string name;
  Value value;
};

// The limits systemd itself knows, as runc sends them: MemoryLimit,
// CPUShares and BlockIOWeight on v1; MemoryMax, MemoryLow, MemorySwapMax,
// CPUWeight, IOWeight, AllowedCPUs and AllowedMemoryNodes on v2; CPUQuota
// and TasksMax on both. Everything else is written to the scope's files.
absl::StatusOr<std::vector<UnitProperty>> SystemdResourceProperties(const Resources& resources,
                                                                    bool cgroup2);

// What systemd needs to name a device: a node for one device, a class from
// /proc/devices for a major with any minor.
struct DeviceNames {
  // A node of the host's /dev for each "<c|b> <major>:<minor>".
  std::map<std::string, std::string> nodes;
  // The text of /proc/devices.
  std::string proc_devices;
};

// The device rules as DevicePolicy and DeviceAllow, as runc sends them:
// systemd rewrites the scope's device cgroup from these whenever it applies
// the unit's cgroup settings again (a daemon-reload, a property change), so
// without them every device would open up. The rules are played in order:
// an allow-all outcome is DevicePolicy=auto with no entries, a deny-all base
// with allows DevicePolicy=strict with an entry each. Entries systemd cannot
// name (no node for the device here, a major without a /proc/devices name,
// "*:n") are left out, as runc leaves them: the rules are also written to
// the cgroup itself, so only a later re-apply loses them. Rules systemd
// cannot express at all (a deny after allow-all) give no properties.
std::vector<UnitProperty> SystemdDeviceProperties(const std::vector<DeviceRule>& rules,
                                                  const DeviceNames& names);

// The properties of the transient scope: a description, its slice,
// Delegate=yes (berth owns what is below the scope), accounting on, the
// container's init as its only PID, then the resource and device properties.
absl::StatusOr<std::vector<UnitProperty>> SystemdScopeProperties(const SystemdCgroupsPath& path,
                                                                 pid_t pid,
                                                                 const Resources& resources,
                                                                 bool cgroup2,
                                                                 const DeviceNames& devices = {});

// A cpuset list ("0-2,4") as the little-endian bitmask systemd's AllowedCPUs
// takes.
absl::StatusOr<std::vector<uint8_t>> CpusetToMask(const std::string& list);

}  // namespace berth::runtime
