// Facts about the host that /info and /version report.
#pragma once

#include <cstdint>
#include <string>

namespace berth::apiserver {

struct HostInfo {
  std::string kernel_version;    // uname -r
  std::string operating_system;  // PRETTY_NAME of os-release
  std::string os_version;        // VERSION_ID of os-release
  std::string architecture;      // uname -m ("x86_64")
  std::string hostname;
  std::string id;              // stable per host (machine-id)
  std::string cgroup_version;  // "1" or "2"
  int ncpu = 1;
  int64_t mem_total = 0;  // bytes
  std::string root_dir;   // --root
};

HostInfo ProbeHost(const std::string& root_dir);

// Go's GOARCH for uname's machine ("x86_64" -> "amd64").
std::string GoArch(const std::string& machine);

}  // namespace berth::apiserver
