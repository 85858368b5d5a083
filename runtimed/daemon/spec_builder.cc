#include "runtimed/daemon/spec_builder.h"

#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>

#include <algorithm>
#include <cctype>
#include <cerrno>
#include <cstring>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/mount_propagation.h"
#include "common/status.h"
#include "runtimed/daemon/cgroup_driver.h"
#include "runtimed/daemon/container_config.h"
#include "runtimed/daemon/namespace_modes.h"
#include "runtimed/daemon/security_options.h"

namespace berth::runtimed {
namespace {

const std::vector<std::string>& AllCapabilities() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",
      "CAP_DAC_OVERRIDE",
      "CAP_DAC_READ_SEARCH",
      "CAP_FOWNER",
      "CAP_FSETID",
      "CAP_KILL",
      "CAP_SETGID",
      "CAP_SETUID",
      "CAP_SETPCAP",
      "CAP_LINUX_IMMUTABLE",
      "CAP_NET_BIND_SERVICE",
      "CAP_NET_BROADCAST",
      "CAP_NET_ADMIN",
      "CAP_NET_RAW",
      "CAP_IPC_LOCK",
      "CAP_IPC_OWNER",
      "CAP_SYS_MODULE",
      "CAP_SYS_RAWIO",
      "CAP_SYS_CHROOT",
      "CAP_SYS_PTRACE",
      "CAP_SYS_PACCT",
      "CAP_SYS_ADMIN",
      "CAP_SYS_BOOT",
      "CAP_SYS_NICE",
      "CAP_SYS_RESOURCE",
      "CAP_SYS_TIME",
      "CAP_SYS_TTY_CONFIG",
      "CAP_MKNOD",
      "CAP_LEASE",
      "CAP_AUDIT_WRITE",
      "CAP_AUDIT_CONTROL",
      "CAP_SETFCAP",
      "CAP_MAC_OVERRIDE",
      "CAP_MAC_ADMIN",
      "CAP_SYSLOG",
      "CAP_WAKE_ALARM",
      "CAP_BLOCK_SUSPEND",
      "CAP_AUDIT_READ",
      "CAP_PERFMON",
      "CAP_BPF",
      "CAP_CHECKPOINT_RESTORE",
  };
  return caps;
}

// What "all capabilities" can mean here: those in runtimed's own bounding
// set (AllCapabilities is in capability-number order). A kernel older than a
// capability, or a host that withholds one from the engine (nested
// containers), would otherwise make every privileged container fail at
// capset.
const std::vector<std::string>& GrantableCapabilities() {
  static const std::vector<std::string>* caps = [] {
    auto* grantable = new std::vector<std::string>;
    const std::vector<std::string>& all = AllCapabilities();
    for (size_t number = 0; number < all.size(); ++number) {
      if (prctl(PR_CAPBSET_READ, number, 0, 0, 0) == 1) grantable->push_back(all[number]);
    }
    return grantable;
  }();
  return *caps;
}

std::string NormalizeCapability(const std::string& cap) {
  std::string upper;
  for (char c : cap) upper += static_cast<char>(std::toupper(static_cast<unsigned char>(c)));
  if (upper == "ALL") return upper;
  return absl::StartsWith(upper, "CAP_") ? upper : "CAP_" + upper;
}

// Docker's TweakCapabilities: start from the defaults, apply CapAdd and CapDrop
// ("ALL" allowed in either).
absl::StatusOr<std::vector<std::string>> Capabilities(const Json& host) {
  if (JsonBool(host, "Privileged")) return GrantableCapabilities();
  std::vector<std::string> add, drop;
  for (const std::string& c : StringList(host.value("CapAdd", Json()))) {
    add.push_back(NormalizeCapability(c));
  }
  for (const std::string& c : StringList(host.value("CapDrop", Json()))) {
    drop.push_back(NormalizeCapability(c));
  }
  for (const auto* list : {&add, &drop}) {
    for (const std::string& c : *list) {
      const auto& all = AllCapabilities();
      if (c != "ALL" && std::find(all.begin(), all.end(), c) == all.end()) {
        return absl::InvalidArgumentError(absl::StrCat("unknown capability: \"", c, "\""));
      }
    }
  }
  auto has = [](const std::vector<std::string>& list, const std::string& c) {
    return std::find(list.begin(), list.end(), c) != list.end();
  };
  std::vector<std::string> base = has(add, "ALL") ? GrantableCapabilities() : DefaultCapabilities();
  std::vector<std::string> result;
  if (!has(drop, "ALL")) {
    for (const std::string& c : base) {
      if (!has(drop, c)) result.push_back(c);
    }
  }
  for (const std::string& c : add) {
    if (c != "ALL" && !has(result, c)) result.push_back(c);
  }
  return result;
}

Json Mount(const std::string& destination, const std::string& type, const std::string& source,
           std::vector<std::string> options) {
  return {{"destination", destination}, {"type", type}, {"source", source}, {"options", options}};
}

absl::Status AddUserMounts(const std::vector<MountPoint>& user_mounts, const Json& host,
                           Json& mounts) {
  for (const MountPoint& m : user_mounts) {
    if (m.type == "tmpfs") {
      std::vector<std::string> options = m.tmpfs_options;
      if (!m.read_write) options.push_back("ro");
      mounts.push_back(Mount(m.destination, "tmpfs", "tmpfs", options));
      continue;
    }
    if (m.source.empty()) {
      return absl::InternalError("mount " + m.destination + " has no resolved source");
    }
    const std::string propagation = m.propagation.empty() ? "rprivate" : m.propagation;
    if (propagation != "rprivate" && propagation != "private") {
      absl::StatusOr<std::string> mountinfo = ReadFile("/proc/self/mountinfo");
      if (!mountinfo.ok()) return mountinfo.status();
      if (absl::Status status = CheckBindPropagation(m, *mountinfo); !status.ok()) return status;
    }
    mounts.push_back(
        Mount(m.destination, "bind", m.source, {"rbind", m.read_write ? "rw" : "ro", propagation}));
  }
  if (host.contains("Tmpfs") && host["Tmpfs"].is_object()) {
    for (auto it = host["Tmpfs"].begin(); it != host["Tmpfs"].end(); ++it) {
      std::vector<std::string> options = {"nosuid", "nodev", "noexec"};
      if (it->is_string()) {
        for (absl::string_view o : absl::StrSplit(it->get<std::string>(), ',', absl::SkipEmpty())) {
          options.emplace_back(o);
        }
      }
      mounts.push_back(Mount(it.key(), "tmpfs", "tmpfs", options));
    }
  }
  return absl::OkStatus();
}

bool HostMode(const Json& host, const char* key) { return JsonString(host, key) == "host"; }

const std::vector<std::string>& MaskedPaths() {
  static const std::vector<std::string> paths = {
      "/proc/asound",     "/proc/acpi",        "/proc/interrupts",
      "/proc/kcore",      "/proc/keys",        "/proc/latency_stats",
      "/proc/timer_list", "/proc/timer_stats", "/proc/sched_debug",
      "/proc/scsi",       "/sys/firmware",     "/sys/devices/virtual/powercap",
  };
  return paths;
}

const std::vector<std::string>& ReadonlyPaths() {
  static const std::vector<std::string> paths = {"/proc/bus", "/proc/fs", "/proc/irq", "/proc/sys",
                                                 "/proc/sysrq-trigger"};
  return paths;
}

Json DeviceRule(bool allow, const std::string& type, int64_t major, int64_t minor,
                const std::string& access) {
  Json rule = {{"allow", allow}, {"access", access}};
  if (!type.empty()) rule["type"] = type;
  if (major >= 0) rule["major"] = major;
  if (minor >= 0) rule["minor"] = minor;
  return rule;
}

absl::StatusOr<Json> Rlimits(const Json& host) {
  static const std::pair<const char*, const char*> kNames[] = {
      {"core", "RLIMIT_CORE"},         {"cpu", "RLIMIT_CPU"},
      {"data", "RLIMIT_DATA"},         {"fsize", "RLIMIT_FSIZE"},
      {"locks", "RLIMIT_LOCKS"},       {"memlock", "RLIMIT_MEMLOCK"},
      {"msgqueue", "RLIMIT_MSGQUEUE"}, {"nice", "RLIMIT_NICE"},
      {"nofile", "RLIMIT_NOFILE"},     {"nproc", "RLIMIT_NPROC"},
      {"rss", "RLIMIT_RSS"},           {"rtprio", "RLIMIT_RTPRIO"},
      {"rttime", "RLIMIT_RTTIME"},     {"sigpending", "RLIMIT_SIGPENDING"},
      {"stack", "RLIMIT_STACK"},       {"as", "RLIMIT_AS"},
  };
  Json rlimits = Json::array();
  if (!host.contains("Ulimits") || !host["Ulimits"].is_array()) return rlimits;
  for (const Json& ulimit : host["Ulimits"]) {
    const std::string name = JsonString(ulimit, "Name");
    const char* type = nullptr;
    for (const auto& [docker, oci] : kNames) {
      if (name == docker) type = oci;
    }
    if (type == nullptr) return absl::InvalidArgumentError("invalid ulimit type: " + name);
    rlimits.push_back({{"type", type},
                       {"hard", static_cast<uint64_t>(JsonInt(ulimit, "Hard"))},
                       {"soft", static_cast<uint64_t>(JsonInt(ulimit, "Soft"))}});
  }
  return rlimits;
}

// HostConfig.Devices (`--device /dev/x[:/dev/y][:rwm]`) become device nodes
// of the container and allow rules of its device cgroup;
// HostConfig.DeviceCgroupRules (`--device-cgroup-rule 'c 42:* rmw'`) only the
// latter.
absl::Status AddUserDevices(const Json& host, Json* nodes, Json* rules) {
  if (host.contains("Devices") && host["Devices"].is_array()) {
    for (const Json& device : host["Devices"]) {
      std::string on_host = JsonString(device, "PathOnHost");
      std::string in_container = JsonString(device, "PathInContainer");
      std::string permissions = JsonString(device, "CgroupPermissions");
      if (in_container.empty()) in_container = on_host;
      if (permissions.empty()) permissions = "rwm";
      if (permissions.find_first_not_of("rwm") != std::string::npos) {
        return absl::InvalidArgumentError("invalid device mode: " + permissions);
      }
      struct stat st;
      if (stat(on_host.c_str(), &st) != 0) {
        return absl::InvalidArgumentError(
            absl::StrCat("error gathering device information while adding custom device \"",
                         on_host, "\": ", std::strerror(errno)));
      }
      if (!S_ISCHR(st.st_mode) && !S_ISBLK(st.st_mode)) {
        return absl::InvalidArgumentError(
            absl::StrCat("error gathering device information while adding custom device \"",
                         on_host, "\": not a device node"));
      }
      const char* type = S_ISBLK(st.st_mode) ? "b" : "c";
      int64_t major_number = major(st.st_rdev), minor_number = minor(st.st_rdev);
      nodes->push_back({{"path", in_container},
                        {"type", type},
                        {"major", major_number},
                        {"minor", minor_number},
                        {"fileMode", st.st_mode & 07777},
                        {"uid", st.st_uid},
                        {"gid", st.st_gid}});
      rules->push_back(DeviceRule(true, type, major_number, minor_number, permissions));
    }
  }
  for (const std::string& text : StringList(host.value("DeviceCgroupRules", Json()))) {
    // "c 42:* rmw"
    std::vector<std::string> parts = absl::StrSplit(text, ' ', absl::SkipEmpty());
    std::vector<std::string> numbers;
    if (parts.size() == 3) numbers = absl::StrSplit(parts[1], ':');
    auto number = [](const std::string& n, int64_t* out) {
      if (n == "*") {
        *out = -1;
        return true;
      }
      return absl::SimpleAtoi(n, out) && *out >= 0;
    };
    int64_t major_number = -1, minor_number = -1;
    if (parts.size() != 3 || (parts[0] != "a" && parts[0] != "b" && parts[0] != "c") ||
        numbers.size() != 2 || !number(numbers[0], &major_number) ||
        !number(numbers[1], &minor_number) ||
        parts[2].find_first_not_of("rwm") != std::string::npos) {
      return absl::InvalidArgumentError("invalid device cgroup format '" + text + "'");
    }
    rules->push_back(
        DeviceRule(true, parts[0] == "a" ? "" : parts[0], major_number, minor_number, parts[2]));
  }
  return absl::OkStatus();
}

Json Resources(const Json& host) {
  Json resources = Json::object();
  // Deny every device, then allow what Docker allows by default (runc's
  // AllowedDevices): mknod of anything, and the standard character devices.
  Json devices = Json::array();
  devices.push_back(DeviceRule(false, "", -1, -1, "rwm"));
  if (JsonBool(host, "Privileged")) {
    devices = Json::array({DeviceRule(true, "", -1, -1, "rwm")});
  } else {
    devices.push_back(DeviceRule(true, "c", -1, -1, "m"));
    devices.push_back(DeviceRule(true, "b", -1, -1, "m"));
    for (auto [major, minor] : std::vector<std::pair<int, int>>{
             {1, 3}, {1, 8}, {1, 7}, {5, 0}, {1, 5}, {1, 9}, {136, -1}, {5, 2}, {10, 200}}) {
      devices.push_back(DeviceRule(true, "c", major, minor, "rwm"));
    }
  }
  resources["devices"] = devices;

  Json memory = Json::object();
  if (int64_t limit = JsonInt(host, "Memory"); limit > 0) memory["limit"] = limit;
  if (int64_t swap = JsonInt(host, "MemorySwap"); swap != 0) memory["swap"] = swap;
  if (int64_t reservation = JsonInt(host, "MemoryReservation"); reservation > 0) {
    memory["reservation"] = reservation;
  }
  if (JsonBool(host, "OomKillDisable")) memory["disableOOMKiller"] = true;
  // -1 (the CLI's default) leaves the host's swappiness.
  if (int64_t swappiness = JsonInt(host, "MemorySwappiness");
      swappiness >= 0 && host.contains("MemorySwappiness") && !host["MemorySwappiness"].is_null()) {
    memory["swappiness"] = swappiness;
  }
  if (!memory.empty()) resources["memory"] = memory;
  if (int64_t weight = JsonInt(host, "BlkioWeight"); weight > 0) {
    resources["blockIO"] = {{"weight", weight}};
  }

  Json cpu = Json::object();
  if (int64_t shares = JsonInt(host, "CpuShares"); shares > 0) cpu["shares"] = shares;
  if (int64_t nano = JsonInt(host, "NanoCpus"); nano > 0) {
    constexpr int64_t kPeriod = 100000;
    cpu["period"] = kPeriod;
    cpu["quota"] = nano * kPeriod / 1000000000;
  } else {
    if (int64_t period = JsonInt(host, "CpuPeriod"); period > 0) cpu["period"] = period;
    if (int64_t quota = JsonInt(host, "CpuQuota"); quota != 0) cpu["quota"] = quota;
  }
  if (std::string cpus = JsonString(host, "CpusetCpus"); !cpus.empty()) cpu["cpus"] = cpus;
  if (std::string mems = JsonString(host, "CpusetMems"); !mems.empty()) cpu["mems"] = mems;
  if (!cpu.empty()) resources["cpu"] = cpu;

  if (int64_t pids = JsonInt(host, "PidsLimit"); pids > 0) resources["pids"] = {{"limit", pids}};
  return resources;
}

}  // namespace

Json OciResources(const Json& host_config) { return Resources(host_config); }

const std::vector<std::string>& DefaultCapabilities() {
  static const std::vector<std::string> caps = {
      "CAP_CHOWN",   "CAP_DAC_OVERRIDE", "CAP_FSETID",           "CAP_FOWNER",
      "CAP_MKNOD",   "CAP_NET_RAW",      "CAP_SETGID",           "CAP_SETUID",
      "CAP_SETFCAP", "CAP_SETPCAP",      "CAP_NET_BIND_SERVICE", "CAP_SYS_CHROOT",
      "CAP_KILL",    "CAP_AUDIT_WRITE",
  };
  return caps;
}

absl::StatusOr<Json> BuildOciSpec(const SpecInputs& in) {
  const Json& config = in.config;
  const Json& host = in.host_config;
  const bool privileged = JsonBool(host, "Privileged");

  Json spec;
  spec["ociVersion"] = "1.0.2";

  std::vector<std::string> caps;
  {
    auto result = Capabilities(host);
    if (!result.ok()) return result.status();
    caps = *std::move(result);
  }
  std::string cwd = JsonString(config, "WorkingDir");
  if (cwd.empty()) cwd = "/";
  if (cwd[0] != '/') {
    return absl::InvalidArgumentError("the working directory '" + cwd +
                                      "' is invalid, it needs to be an absolute path");
  }
  std::vector<std::string> env = in.env;
  if (std::none_of(env.begin(), env.end(),
                   [](const std::string& e) { return absl::StartsWith(e, "HOME="); })) {
    env.push_back("HOME=" + in.user.home);
  }
  // With --init the container's pid 1 is tini, which reaps zombies and
  // forwards signals to the command.
  std::vector<std::string> args = in.args;
  if (JsonBool(host, "Init")) args.insert(args.begin(), {"/sbin/docker-init", "--"});
  Json user = {{"uid", in.user.uid}, {"gid", in.user.gid}};
  if (!in.user.additional_gids.empty()) user["additionalGids"] = in.user.additional_gids;
  auto rlimits = Rlimits(host);
  if (!rlimits.ok()) return rlimits.status();
  auto security = ParseSecurityOptions(StringList(host.value("SecurityOpt", Json())));
  if (!security.ok()) return security.status();
  static const SeccompContext* host_context = new SeccompContext(HostSeccompContext());
  SeccompContext seccomp_context = *host_context;
  seccomp_context.capabilities = caps;
  auto seccomp = ContainerSeccomp(*security, privileged, seccomp_context);
  if (!seccomp.ok()) return seccomp.status();
  Json process = {
      {"terminal", JsonBool(config, "Tty")},
      {"user", user},
      {"args", args},
      {"env", env},
      {"cwd", cwd},
      {"capabilities", {{"bounding", caps}, {"effective", caps}, {"permitted", caps}}},
      {"noNewPrivileges", security->no_new_privileges},
  };
  if (!rlimits->empty()) process["rlimits"] = *rlimits;
  if (int64_t adj = JsonInt(host, "OomScoreAdj"); adj != 0) process["oomScoreAdj"] = adj;
  spec["process"] = process;

  spec["root"] = {{"path", in.rootfs}, {"readonly", JsonBool(host, "ReadonlyRootfs")}};
  std::string hostname = JsonString(config, "Hostname");
  if (HostMode(host, "UTSMode")) hostname.clear();
  if (!hostname.empty()) spec["hostname"] = hostname;
  if (std::string domain = JsonString(config, "Domainname"); !domain.empty()) {
    spec["domainname"] = domain;
  }

  const std::string shm_size = absl::StrCat(
      "size=", JsonInt(host, "ShmSize") > 0 ? JsonInt(host, "ShmSize") : kDefaultShmSize);
  const bool host_network = in.netns_path.empty();
  Json mounts = Json::array({
      Mount("/proc", "proc", "proc", {"nosuid", "noexec", "nodev"}),
      Mount("/dev", "tmpfs", "tmpfs", {"nosuid", "strictatime", "mode=755", "size=65536k"}),
      Mount("/dev/pts", "devpts", "devpts",
            {"nosuid", "noexec", "newinstance", "ptmxmode=0666", "mode=0620", "gid=5"}),
      Mount("/sys", "sysfs", "sysfs", {"nosuid", "noexec", "nodev", privileged ? "rw" : "ro"}),
      Mount("/sys/fs/cgroup", "cgroup", "cgroup",
            {"nosuid", "noexec", "nodev", "relatime", privileged ? "rw" : "ro"}),
      Mount("/dev/mqueue", "mqueue", "mqueue", {"nosuid", "noexec", "nodev"}),
  });
  // /dev/shm goes with the IPC namespace: the host's for --ipc host, the
  // other container's for --ipc container:<id>, none for --ipc none.
  const std::string ipc_mode = JsonString(host, "IpcMode");
  if (ipc_mode == "host") {
    mounts.push_back(Mount("/dev/shm", "bind", "/dev/shm", {"rbind", "rprivate"}));
  } else if (!in.shared_shm_path.empty()) {
    mounts.push_back(Mount("/dev/shm", "bind", in.shared_shm_path, {"rbind", "rprivate"}));
  } else if (ipc_mode != "none") {
    mounts.push_back(
        Mount("/dev/shm", "tmpfs", "shm", {"nosuid", "noexec", "nodev", "mode=1777", shm_size}));
  }
  if (!in.resolv_conf_path.empty()) {
    mounts.push_back(Mount("/etc/resolv.conf", "bind", in.resolv_conf_path, {"rbind", "rprivate"}));
  }
  if (!in.hostname_path.empty()) {
    mounts.push_back(Mount("/etc/hostname", "bind", in.hostname_path, {"rbind", "rprivate"}));
  }
  if (!in.hosts_path.empty()) {
    mounts.push_back(Mount("/etc/hosts", "bind", in.hosts_path, {"rbind", "rprivate"}));
  }
  if (JsonBool(host, "Init")) {
    if (in.init_path.empty()) {
      return absl::FailedPreconditionError(
          "docker-init binary not found: install tini (tini-static) or set runtimed's --init-path");
    }
    mounts.push_back(Mount("/sbin/docker-init", "bind", in.init_path, {"bind", "ro"}));
  }
  if (absl::Status status = AddUserMounts(in.mounts, host, mounts); !status.ok()) {
    return status;
  }
  spec["mounts"] = mounts;

  Json namespaces = Json::array();
  if (!in.pid_namespace_path.empty()) {
    namespaces.push_back({{"type", "pid"}, {"path", in.pid_namespace_path}});
  } else if (!HostMode(host, "PidMode")) {
    namespaces.push_back({{"type", "pid"}});
  }
  if (!in.ipc_namespace_path.empty()) {
    namespaces.push_back({{"type", "ipc"}, {"path", in.ipc_namespace_path}});
  } else if (!HostMode(host, "IpcMode")) {
    namespaces.push_back({{"type", "ipc"}});
  }
  if (!HostMode(host, "UTSMode")) namespaces.push_back({{"type", "uts"}});
  namespaces.push_back({{"type", "mount"}});
  if (!host_network) namespaces.push_back({{"type", "network"}, {"path", in.netns_path}});
  if (PrivateCgroupNamespace(host, in.cgroup_v2)) namespaces.push_back({{"type", "cgroup"}});

  ASSIGN_OR_RETURN(std::string cgroups_path,
                   ContainerCgroupsPath(in.systemd_cgroup, JsonString(host, "CgroupParent"),
                                        in.cgroup_parent, in.id));

  Json linux = {
      {"namespaces", namespaces},
      {"cgroupsPath", cgroups_path},
      {"resources", Resources(host)},
  };
  if (!privileged) {
    linux["maskedPaths"] = MaskedPaths();
    linux["readonlyPaths"] = ReadonlyPaths();
  }
  if (host.contains("Sysctls") && host["Sysctls"].is_object() && !host["Sysctls"].empty()) {
    linux["sysctl"] = host["Sysctls"];
  }
  if (*seccomp) linux["seccomp"] = **seccomp;
  if (std::string root = RootfsPropagationFor(in.mounts); !root.empty()) {
    linux["rootfsPropagation"] = root;
  }
  Json device_nodes = Json::array();
  if (absl::Status status = AddUserDevices(host, &device_nodes, &linux["resources"]["devices"]);
      !status.ok()) {
    return status;
  }
  if (!device_nodes.empty()) linux["devices"] = device_nodes;
  spec["linux"] = linux;
  return spec;
}

}  // namespace berth::runtimed
