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
  int64_t mem_total = 0;                     // bytes
  std::string root_dir;                      // --root
  std::string logging_driver = "json-file";  // daemon.json's log-driver
  bool userns_remap = false;                 // daemon.json sets userns-remap
  std::string cgroup_driver = "cgroupfs";    // daemon.json's native.cgroupdriver
};

HostInfo ProbeHost(const std::string& root_dir);

// The log driver containers get by default: daemon.json's "log-driver", which
// runtimed applies; "json-file" without one (or when the file is unreadable).
std::string DefaultLoggingDriver(const std::string& config_file);

// daemon.json asks for userns-remap (runtimed and stored refuse to start
// when it cannot be set up, so the apiserver only reports it).
bool UsernsRemapEnabled(const std::string& config_file);

// Go's GOARCH for uname's machine ("x86_64" -> "amd64").
std::string GoArch(const std::string& machine);

}  // namespace berth::apiserver
