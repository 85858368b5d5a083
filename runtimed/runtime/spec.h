// The OCI runtime configuration (config.json) as plain structs: what the
// runtime acts on. Fields the runtime does not implement are parsed leniently
// (ignored); fields it does are validated, and errors name the JSON field.
#pragma once

#include <sys/types.h>

#include <cstdint>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include "absl/status/statusor.h"
#include "common/id_map.h"
#include "common/json.h"
#include "runtimed/runtime/seccomp.h"

namespace berth::runtime {

struct Rlimit {
  std::string type;  // "RLIMIT_NOFILE"
  int resource = 0;  // RLIMIT_NOFILE
  uint64_t soft = 0;
  uint64_t hard = 0;
};

struct Capabilities {
  // Capability numbers (CAP_CHOWN, ...); unknown names are rejected.
  std::vector<int> bounding, effective, permitted, inheritable, ambient;
};

struct User {
  uid_t uid = 0;
  gid_t gid = 0;
  std::vector<gid_t> additional_gids;
  std::optional<mode_t> umask;
};

struct Process {
  bool terminal = false;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::string cwd = "/";
  User user;
  std::optional<Capabilities> capabilities;
  std::vector<Rlimit> rlimits;
  bool no_new_privileges = false;
  std::optional<int> oom_score_adj;
};

struct Mount {
  std::string destination;
  std::string type;
  std::string source;
  std::vector<std::string> options;
  // An idmapped bind ("idmap"/"ridmap"): the mapping applied to the mount,
  // filled from the container's own when the mount names none.
  bool idmap = false;
  bool recursive_idmap = false;
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
};

struct Namespace {
  std::string type;  // "pid", "mount", ...
  int flag = 0;      // CLONE_NEWPID, ...
  std::string path;  // join this namespace instead of creating one
};

// linux.timeOffsets' clock: how far a new time namespace's clock is moved.
struct TimeOffset {
  int64_t secs = 0;
  uint32_t nanosecs = 0;
};

// linux.resources.devices: one rule of the device cgroup.
struct DeviceRule {
  bool allow = false;
  char type = 'a';     // 'a' (all), 'c' or 'b'
  int64_t major = -1;  // -1: any
  int64_t minor = -1;
  std::string access = "rwm";
};

struct Resources {
  std::optional<int64_t> memory_limit;
  std::optional<int64_t> memory_swap;         // memory + swap, -1 = unlimited
  std::optional<int64_t> memory_reservation;  // soft limit
  std::optional<uint64_t> memory_swappiness;
  bool disable_oom_killer = false;
  std::optional<uint64_t> blkio_weight;  // 10-1000
  std::optional<uint64_t> cpu_shares;
  std::optional<int64_t> cpu_quota;
  std::optional<uint64_t> cpu_period;
  std::string cpu_cpus;
  std::string cpu_mems;
  std::optional<int64_t> pids_limit;
  // Applied in order, a later rule overriding an earlier one.
  std::vector<DeviceRule> devices;
};

struct Device {
  std::string path;
  char type = 'c';
  int64_t major = 0;
  int64_t minor = 0;
  mode_t file_mode = 0666;
  uid_t uid = 0;
  gid_t gid = 0;
};

// A lifecycle hook: a program the runtime runs with the container's state on
// its stdin.
struct Hook {
  std::string path;
  std::vector<std::string> args;
  std::vector<std::string> env;
  std::optional<int> timeout;  // seconds
};

struct Hooks {
  std::vector<Hook> prestart;  // deprecated in the spec, still run
  std::vector<Hook> create_runtime;
  std::vector<Hook> create_container;
  std::vector<Hook> start_container;
  std::vector<Hook> poststart;
  std::vector<Hook> poststop;
};

struct Spec {
  std::string oci_version;
  Hooks hooks;
  std::map<std::string, std::string> annotations;
  Process process;
  std::string root_path;  // as written; relative paths are relative to the bundle
  bool root_readonly = false;
  std::string hostname;
  std::string domainname;
  std::vector<Mount> mounts;
  std::vector<Namespace> namespaces;
  // Written for a new user namespace (not one joined by path).
  std::vector<IdMapping> uid_mappings;
  std::vector<IdMapping> gid_mappings;
  // linux.timeOffsets, by clock ("monotonic", "boottime"), for a new time
  // namespace only.
  std::map<std::string, TimeOffset> time_offsets;
  Resources resources;
  std::string cgroups_path;
  std::vector<std::string> masked_paths;
  std::vector<std::string> readonly_paths;
  std::map<std::string, std::string> sysctl;
  std::vector<Device> devices;
  std::string rootfs_propagation;
  std::optional<Seccomp> seccomp;

  const Namespace* FindNamespace(const std::string& type) const;
};

// Parses config.json text. InvalidArgument naming the field on bad input,
// e.g. `invalid config.json: process.args: must not be empty`.
absl::StatusOr<Spec> ParseSpec(const std::string& text);

// Parses an OCI `process` object on its own (runc exec --process, the
// shim's exec requests); errors name the field as in config.json.
absl::StatusOr<Process> ParseProcessJson(const std::string& text);

// Parses a linux.resources object on its own (docker update's new limits).
absl::StatusOr<Resources> ParseResourcesJson(const Json& json);

// Reads and parses <bundle>/config.json.
absl::StatusOr<Spec> LoadSpec(const std::string& bundle);

// Maps "CAP_SYS_ADMIN" to its number; -1 when unknown.
int CapabilityFromName(const std::string& name);

}  // namespace berth::runtime
