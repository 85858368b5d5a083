#include "runtimed/runtime/spec.h"

#include <sched.h>
#include <sys/capability.h>
#include <sys/resource.h>

#include <algorithm>
#include <cctype>
#include <limits>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/json.h"
#include "common/status.h"

namespace berth::runtime {
namespace {

absl::Status FieldError(const std::string& field, const std::string& problem) {
  return absl::InvalidArgumentError(absl::StrCat("invalid config.json: ", field, ": ", problem));
}

// Each reader leaves `out` untouched when the key is absent or null.
absl::Status ReadString(const Json& obj, const char* key, const std::string& field,
                        std::string* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_string()) return FieldError(field, "must be a string");
  *out = it->get<std::string>();
  return absl::OkStatus();
}

absl::Status ReadBool(const Json& obj, const char* key, const std::string& field, bool* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_boolean()) return FieldError(field, "must be a boolean");
  *out = it->get<bool>();
  return absl::OkStatus();
}

template <typename T>
absl::Status ReadInt(const Json& obj, const char* key, const std::string& field,
                     std::optional<T>* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_number_integer()) return FieldError(field, "must be an integer");
  if (it->is_number_unsigned()) {
    uint64_t value = it->get<uint64_t>();
    if (value > static_cast<uint64_t>(std::numeric_limits<T>::max())) {
      return FieldError(field, "out of range");
    }
    *out = static_cast<T>(value);
    return absl::OkStatus();
  }
  int64_t value = it->get<int64_t>();
  if (std::numeric_limits<T>::is_signed) {
    if (value < static_cast<int64_t>(std::numeric_limits<T>::min()) ||
        (sizeof(T) < sizeof(int64_t) &&
         value > static_cast<int64_t>(std::numeric_limits<T>::max()))) {
      return FieldError(field, "out of range");
    }
  } else if (value < 0) {
    return FieldError(field, "must not be negative");
  }
  *out = static_cast<T>(value);
  return absl::OkStatus();
}

absl::Status ReadStrings(const Json& obj, const char* key, const std::string& field,
                         std::vector<std::string>* out) {
  auto it = obj.find(key);
  if (it == obj.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_array()) return FieldError(field, "must be an array of strings");
  out->clear();
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& item = (*it)[i];
    if (!item.is_string()) return FieldError(absl::StrCat(field, "[", i, "]"), "must be a string");
    out->push_back(item.get<std::string>());
  }
  return absl::OkStatus();
}

absl::Status ReadCapabilitySet(const Json& obj, const char* key, const std::string& field,
                               std::vector<int>* out) {
  std::vector<std::string> names;
  RETURN_IF_ERROR(ReadStrings(obj, key, field, &names));
  for (const std::string& name : names) {
    int cap = CapabilityFromName(name);
    if (cap < 0) return FieldError(field, absl::StrCat("unknown capability \"", name, "\""));
    out->push_back(cap);
  }
  return absl::OkStatus();
}

int RlimitFromName(const std::string& name) {
  static const std::pair<const char*, int> kLimits[] = {
      {"RLIMIT_AS", RLIMIT_AS},
      {"RLIMIT_CORE", RLIMIT_CORE},
      {"RLIMIT_CPU", RLIMIT_CPU},
      {"RLIMIT_DATA", RLIMIT_DATA},
      {"RLIMIT_FSIZE", RLIMIT_FSIZE},
      {"RLIMIT_LOCKS", RLIMIT_LOCKS},
      {"RLIMIT_MEMLOCK", RLIMIT_MEMLOCK},
      {"RLIMIT_MSGQUEUE", RLIMIT_MSGQUEUE},
      {"RLIMIT_NICE", RLIMIT_NICE},
      {"RLIMIT_NOFILE", RLIMIT_NOFILE},
      {"RLIMIT_NPROC", RLIMIT_NPROC},
      {"RLIMIT_RSS", RLIMIT_RSS},
      {"RLIMIT_RTPRIO", RLIMIT_RTPRIO},
      {"RLIMIT_RTTIME", RLIMIT_RTTIME},
      {"RLIMIT_SIGPENDING", RLIMIT_SIGPENDING},
      {"RLIMIT_STACK", RLIMIT_STACK},
  };
  for (const auto& [limit_name, resource] : kLimits) {
    if (name == limit_name) return resource;
  }
  return -1;
}

int NamespaceFlag(const std::string& type) {
  if (type == "pid") return CLONE_NEWPID;
  if (type == "mount") return CLONE_NEWNS;
  if (type == "uts") return CLONE_NEWUTS;
  if (type == "ipc") return CLONE_NEWIPC;
  if (type == "network") return CLONE_NEWNET;
  if (type == "cgroup") return CLONE_NEWCGROUP;
  if (type == "user") return CLONE_NEWUSER;
  if (type == "time") return 0x00000080;  // CLONE_NEWTIME (kCloneNewTime in namespaces.h)
  return 0;
}

absl::Status ParseUser(const Json& json, User* user) {
  if (!json.is_object()) return FieldError("process.user", "must be an object");
  std::optional<uint32_t> uid, gid, umask;
  RETURN_IF_ERROR(ReadInt(json, "uid", "process.user.uid", &uid));
  RETURN_IF_ERROR(ReadInt(json, "gid", "process.user.gid", &gid));
  RETURN_IF_ERROR(ReadInt(json, "umask", "process.user.umask", &umask));
  user->uid = uid.value_or(0);
  user->gid = gid.value_or(0);
  if (umask) {
    if (*umask > 0777) return FieldError("process.user.umask", "must be at most 0777");
    user->umask = static_cast<mode_t>(*umask);
  }
  auto it = json.find("additionalGids");
  if (it != json.end() && !it->is_null()) {
    if (!it->is_array()) return FieldError("process.user.additionalGids", "must be an array");
    for (const Json& item : *it) {
      if (!item.is_number_unsigned()) {
        return FieldError("process.user.additionalGids", "must hold non-negative integers");
      }
      user->additional_gids.push_back(item.get<gid_t>());
    }
  }
  return absl::OkStatus();
}

absl::Status ParseProcess(const Json& json, Process* process) {
  if (!json.is_object()) return FieldError("process", "must be an object");
  RETURN_IF_ERROR(ReadBool(json, "terminal", "process.terminal", &process->terminal));
  RETURN_IF_ERROR(ReadStrings(json, "args", "process.args", &process->args));
  if (process->args.empty()) return FieldError("process.args", "must not be empty");
  RETURN_IF_ERROR(ReadStrings(json, "env", "process.env", &process->env));
  RETURN_IF_ERROR(ReadString(json, "cwd", "process.cwd", &process->cwd));
  if (process->cwd.empty() || process->cwd[0] != '/') {
    return FieldError("process.cwd", "must be an absolute path");
  }
  if (auto it = json.find("user"); it != json.end() && !it->is_null()) {
    RETURN_IF_ERROR(ParseUser(*it, &process->user));
  }
  if (auto it = json.find("capabilities"); it != json.end() && !it->is_null()) {
    if (!it->is_object()) return FieldError("process.capabilities", "must be an object");
    Capabilities caps;
    RETURN_IF_ERROR(
        ReadCapabilitySet(*it, "bounding", "process.capabilities.bounding", &caps.bounding));
    RETURN_IF_ERROR(
        ReadCapabilitySet(*it, "effective", "process.capabilities.effective", &caps.effective));
    RETURN_IF_ERROR(
        ReadCapabilitySet(*it, "permitted", "process.capabilities.permitted", &caps.permitted));
    RETURN_IF_ERROR(ReadCapabilitySet(*it, "inheritable", "process.capabilities.inheritable",
                                      &caps.inheritable));
    RETURN_IF_ERROR(
        ReadCapabilitySet(*it, "ambient", "process.capabilities.ambient", &caps.ambient));
    process->capabilities = std::move(caps);
  }
  if (auto it = json.find("rlimits"); it != json.end() && !it->is_null()) {
    if (!it->is_array()) return FieldError("process.rlimits", "must be an array");
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& item = (*it)[i];
      std::string field = absl::StrCat("process.rlimits[", i, "]");
      if (!item.is_object()) return FieldError(field, "must be an object");
      Rlimit limit;
      RETURN_IF_ERROR(ReadString(item, "type", field + ".type", &limit.type));
      limit.resource = RlimitFromName(limit.type);
      if (limit.resource < 0) {
        return FieldError(field + ".type", absl::StrCat("unknown rlimit \"", limit.type, "\""));
      }
      std::optional<uint64_t> soft, hard;
      RETURN_IF_ERROR(ReadInt(item, "soft", field + ".soft", &soft));
      RETURN_IF_ERROR(ReadInt(item, "hard", field + ".hard", &hard));
      if (!soft || !hard) return FieldError(field, "soft and hard are required");
      if (*soft > *hard) return FieldError(field, "soft limit exceeds the hard limit");
      limit.soft = *soft;
      limit.hard = *hard;
      process->rlimits.push_back(std::move(limit));
    }
  }
  RETURN_IF_ERROR(
      ReadBool(json, "noNewPrivileges", "process.noNewPrivileges", &process->no_new_privileges));
  std::optional<int> oom;
  RETURN_IF_ERROR(ReadInt(json, "oomScoreAdj", "process.oomScoreAdj", &oom));
  if (oom && (*oom < -1000 || *oom > 1000)) {
    return FieldError("process.oomScoreAdj", "must be between -1000 and 1000");
  }
  process->oom_score_adj = oom;
  return absl::OkStatus();
}

absl::Status ParseIdMappings(const Json& json, const char* key, std::vector<IdMapping>* out,
                             const std::string& prefix = "linux.") {
  auto it = json.find(key);
  if (it == json.end() || it->is_null()) return absl::OkStatus();
  std::string field = absl::StrCat(prefix, key);
  if (!it->is_array()) return FieldError(field, "must be an array");
  for (size_t i = 0; i < it->size(); ++i) {
    const Json& item = (*it)[i];
    std::string entry = absl::StrCat(field, "[", i, "]");
    if (!item.is_object()) return FieldError(entry, "must be an object");
    std::optional<uint32_t> container_id, host_id, size;
    RETURN_IF_ERROR(ReadInt(item, "containerID", entry + ".containerID", &container_id));
    RETURN_IF_ERROR(ReadInt(item, "hostID", entry + ".hostID", &host_id));
    RETURN_IF_ERROR(ReadInt(item, "size", entry + ".size", &size));
    if (!container_id || !host_id || !size) {
      return FieldError(entry, "containerID, hostID and size are required");
    }
    if (*size == 0) return FieldError(entry + ".size", "must be greater than zero");
    out->push_back(IdMapping{*container_id, *host_id, *size});
  }
  return absl::OkStatus();
}

absl::Status ParseMounts(const Json& json, std::vector<Mount>* mounts) {
  if (!json.is_array()) return FieldError("mounts", "must be an array");
  for (size_t i = 0; i < json.size(); ++i) {
    const Json& item = json[i];
    std::string field = absl::StrCat("mounts[", i, "]");
    if (!item.is_object()) return FieldError(field, "must be an object");
    Mount mount;
    RETURN_IF_ERROR(ReadString(item, "destination", field + ".destination", &mount.destination));
    if (mount.destination.empty() || mount.destination[0] != '/') {
      return FieldError(field + ".destination", "must be an absolute path");
    }
    RETURN_IF_ERROR(ReadString(item, "type", field + ".type", &mount.type));
    RETURN_IF_ERROR(ReadString(item, "source", field + ".source", &mount.source));
    RETURN_IF_ERROR(ReadStrings(item, "options", field + ".options", &mount.options));
    bool bind = mount.type == "bind" ||
                std::count(mount.options.begin(), mount.options.end(), "bind") +
                        std::count(mount.options.begin(), mount.options.end(), "rbind") >
                    0;
    if (mount.type.empty() && !bind) return FieldError(field + ".type", "is required");
    if (bind && mount.source.empty())
      return FieldError(field + ".source", "is required for a bind");
    RETURN_IF_ERROR(ParseIdMappings(item, "uidMappings", &mount.uid_mappings, field + "."));
    RETURN_IF_ERROR(ParseIdMappings(item, "gidMappings", &mount.gid_mappings, field + "."));
    mount.recursive_idmap = std::count(mount.options.begin(), mount.options.end(), "ridmap") > 0;
    mount.idmap = mount.recursive_idmap ||
                  std::count(mount.options.begin(), mount.options.end(), "idmap") > 0 ||
                  !mount.uid_mappings.empty() || !mount.gid_mappings.empty();
    if (mount.idmap && !bind) {
      return FieldError(field + ".options", "idmapped mounts are supported for binds only");
    }
    if (mount.uid_mappings.empty() != mount.gid_mappings.empty()) {
      return FieldError(field, "uidMappings and gidMappings go together");
    }
    mounts->push_back(std::move(mount));
  }
  return absl::OkStatus();
}

absl::Status ParseResources(const Json& json, Resources* resources) {
  if (!json.is_object()) return FieldError("linux.resources", "must be an object");
  if (auto it = json.find("memory"); it != json.end() && it->is_object()) {
    RETURN_IF_ERROR(
        ReadInt(*it, "limit", "linux.resources.memory.limit", &resources->memory_limit));
    RETURN_IF_ERROR(ReadInt(*it, "swap", "linux.resources.memory.swap", &resources->memory_swap));
    RETURN_IF_ERROR(ReadInt(*it, "reservation", "linux.resources.memory.reservation",
                            &resources->memory_reservation));
    RETURN_IF_ERROR(ReadInt(*it, "swappiness", "linux.resources.memory.swappiness",
                            &resources->memory_swappiness));
    if (resources->memory_swappiness && *resources->memory_swappiness > 100) {
      return FieldError("linux.resources.memory.swappiness", "must be between 0 and 100");
    }
    RETURN_IF_ERROR(ReadBool(*it, "disableOOMKiller", "linux.resources.memory.disableOOMKiller",
                             &resources->disable_oom_killer));
  }
  if (auto it = json.find("blockIO"); it != json.end() && it->is_object()) {
    RETURN_IF_ERROR(
        ReadInt(*it, "weight", "linux.resources.blockIO.weight", &resources->blkio_weight));
    // 0 is how Docker's daemon writes "no weight".
    if (resources->blkio_weight && *resources->blkio_weight == 0) resources->blkio_weight.reset();
    if (resources->blkio_weight &&
        (*resources->blkio_weight < 10 || *resources->blkio_weight > 1000)) {
      return FieldError("linux.resources.blockIO.weight", "must be between 10 and 1000");
    }
  }
  if (auto it = json.find("cpu"); it != json.end() && it->is_object()) {
    RETURN_IF_ERROR(ReadInt(*it, "shares", "linux.resources.cpu.shares", &resources->cpu_shares));
    RETURN_IF_ERROR(ReadInt(*it, "quota", "linux.resources.cpu.quota", &resources->cpu_quota));
    RETURN_IF_ERROR(ReadInt(*it, "period", "linux.resources.cpu.period", &resources->cpu_period));
    RETURN_IF_ERROR(ReadString(*it, "cpus", "linux.resources.cpu.cpus", &resources->cpu_cpus));
    RETURN_IF_ERROR(ReadString(*it, "mems", "linux.resources.cpu.mems", &resources->cpu_mems));
  }
  if (auto it = json.find("pids"); it != json.end() && it->is_object()) {
    RETURN_IF_ERROR(ReadInt(*it, "limit", "linux.resources.pids.limit", &resources->pids_limit));
  }
  if (auto it = json.find("devices"); it != json.end() && !it->is_null()) {
    if (!it->is_array()) return FieldError("linux.resources.devices", "must be an array");
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& item = (*it)[i];
      std::string field = absl::StrCat("linux.resources.devices[", i, "]");
      if (!item.is_object()) return FieldError(field, "must be an object");
      DeviceRule rule;
      RETURN_IF_ERROR(ReadBool(item, "allow", field + ".allow", &rule.allow));
      std::string type = "a";
      RETURN_IF_ERROR(ReadString(item, "type", field + ".type", &type));
      if (type.empty()) type = "a";
      if (type != "a" && type != "b" && type != "c") {
        return FieldError(field + ".type", "must be \"a\", \"b\" or \"c\"");
      }
      rule.type = type[0];
      std::optional<int64_t> major, minor;
      RETURN_IF_ERROR(ReadInt(item, "major", field + ".major", &major));
      RETURN_IF_ERROR(ReadInt(item, "minor", field + ".minor", &minor));
      rule.major = major.value_or(-1);
      rule.minor = minor.value_or(-1);
      RETURN_IF_ERROR(ReadString(item, "access", field + ".access", &rule.access));
      if (rule.access.empty()) rule.access = "rwm";
      if (rule.access.find_first_not_of("rwm") != std::string::npos) {
        return FieldError(field + ".access", "must be made of r, w and m");
      }
      resources->devices.push_back(rule);
    }
  }
  return absl::OkStatus();
}

absl::Status ParseDevices(const Json& json, std::vector<Device>* devices) {
  if (!json.is_array()) return FieldError("linux.devices", "must be an array");
  for (size_t i = 0; i < json.size(); ++i) {
    const Json& item = json[i];
    std::string field = absl::StrCat("linux.devices[", i, "]");
    if (!item.is_object()) return FieldError(field, "must be an object");
    Device device;
    std::string type;
    RETURN_IF_ERROR(ReadString(item, "path", field + ".path", &device.path));
    if (device.path.empty() || device.path[0] != '/') {
      return FieldError(field + ".path", "must be an absolute path");
    }
    RETURN_IF_ERROR(ReadString(item, "type", field + ".type", &type));
    if (type != "c" && type != "b" && type != "u" && type != "p") {
      return FieldError(field + ".type", "must be one of c, b, u, p");
    }
    device.type = type == "u" ? 'c' : type[0];
    std::optional<int64_t> major, minor;
    std::optional<uint32_t> mode, uid, gid;
    RETURN_IF_ERROR(ReadInt(item, "major", field + ".major", &major));
    RETURN_IF_ERROR(ReadInt(item, "minor", field + ".minor", &minor));
    RETURN_IF_ERROR(ReadInt(item, "fileMode", field + ".fileMode", &mode));
    RETURN_IF_ERROR(ReadInt(item, "uid", field + ".uid", &uid));
    RETURN_IF_ERROR(ReadInt(item, "gid", field + ".gid", &gid));
    if (device.type != 'p' && (!major || !minor)) {
      return FieldError(field, "major and minor are required");
    }
    device.major = major.value_or(0);
    device.minor = minor.value_or(0);
    device.file_mode = mode.value_or(0666) & 07777;
    device.uid = uid.value_or(0);
    device.gid = gid.value_or(0);
    devices->push_back(std::move(device));
  }
  return absl::OkStatus();
}

absl::Status ParseTimeOffsets(const Json& linux, std::map<std::string, TimeOffset>* offsets) {
  auto it = linux.find("timeOffsets");
  if (it == linux.end() || it->is_null()) return absl::OkStatus();
  if (!it->is_object()) return FieldError("linux.timeOffsets", "must be an object");
  for (const auto& [clock, value] : it->items()) {
    const std::string field = "linux.timeOffsets." + clock;
    // The two clocks a time namespace offsets (time_namespaces(7)).
    if (clock != "monotonic" && clock != "boottime") {
      return FieldError(field, "unknown clock (monotonic or boottime)");
    }
    if (!value.is_object()) return FieldError(field, "must be an object");
    TimeOffset offset;
    if (auto secs = value.find("secs"); secs != value.end() && !secs->is_null()) {
      if (!secs->is_number_integer()) return FieldError(field + ".secs", "must be an integer");
      offset.secs = secs->get<int64_t>();
    }
    std::optional<uint32_t> nanosecs;
    RETURN_IF_ERROR(ReadInt(value, "nanosecs", field + ".nanosecs", &nanosecs));
    if (nanosecs.value_or(0) >= 1000000000) {
      return FieldError(field + ".nanosecs", "must be less than 1000000000");
    }
    offset.nanosecs = nanosecs.value_or(0);
    (*offsets)[clock] = offset;
  }
  return absl::OkStatus();
}

absl::Status ParseLinux(const Json& json, Spec* spec) {
  if (!json.is_object()) return FieldError("linux", "must be an object");
  if (auto it = json.find("namespaces"); it != json.end() && !it->is_null()) {
    if (!it->is_array()) return FieldError("linux.namespaces", "must be an array");
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& item = (*it)[i];
      std::string field = absl::StrCat("linux.namespaces[", i, "]");
      if (!item.is_object()) return FieldError(field, "must be an object");
      Namespace ns;
      RETURN_IF_ERROR(ReadString(item, "type", field + ".type", &ns.type));
      RETURN_IF_ERROR(ReadString(item, "path", field + ".path", &ns.path));
      ns.flag = NamespaceFlag(ns.type);
      if (ns.flag == 0) {
        return FieldError(field + ".type", absl::StrCat("unknown namespace \"", ns.type, "\""));
      }
      if (spec->FindNamespace(ns.type) != nullptr) {
        return FieldError(field + ".type", absl::StrCat("duplicate namespace \"", ns.type, "\""));
      }
      spec->namespaces.push_back(std::move(ns));
    }
  }
  RETURN_IF_ERROR(ParseIdMappings(json, "uidMappings", &spec->uid_mappings));
  RETURN_IF_ERROR(ParseIdMappings(json, "gidMappings", &spec->gid_mappings));
  RETURN_IF_ERROR(ParseTimeOffsets(json, &spec->time_offsets));
  if (auto it = json.find("resources"); it != json.end() && !it->is_null()) {
    RETURN_IF_ERROR(ParseResources(*it, &spec->resources));
  }
  RETURN_IF_ERROR(ReadString(json, "cgroupsPath", "linux.cgroupsPath", &spec->cgroups_path));
  if (spec->cgroups_path.find("..") != std::string::npos) {
    return FieldError("linux.cgroupsPath", "must not contain \"..\"");
  }
  RETURN_IF_ERROR(ReadStrings(json, "maskedPaths", "linux.maskedPaths", &spec->masked_paths));
  RETURN_IF_ERROR(ReadStrings(json, "readonlyPaths", "linux.readonlyPaths", &spec->readonly_paths));
  RETURN_IF_ERROR(
      ReadString(json, "rootfsPropagation", "linux.rootfsPropagation", &spec->rootfs_propagation));
  if (auto it = json.find("sysctl"); it != json.end() && !it->is_null()) {
    if (!it->is_object()) return FieldError("linux.sysctl", "must be an object");
    for (auto entry = it->begin(); entry != it->end(); ++entry) {
      if (!entry.value().is_string()) {
        return FieldError("linux.sysctl." + entry.key(), "must be a string");
      }
      if (entry.key().find("..") != std::string::npos || entry.key().find('/') == 0) {
        return FieldError("linux.sysctl." + entry.key(), "invalid name");
      }
      spec->sysctl[entry.key()] = entry.value().get<std::string>();
    }
  }
  if (auto it = json.find("devices"); it != json.end() && !it->is_null()) {
    RETURN_IF_ERROR(ParseDevices(*it, &spec->devices));
  }
  if (auto it = json.find("seccomp"); it != json.end() && !it->is_null()) {
    ASSIGN_OR_RETURN(spec->seccomp, ParseSeccomp(*it));
  }
  return absl::OkStatus();
}

absl::Status ParseHooks(const Json& json, Hooks* hooks) {
  if (!json.is_object()) return FieldError("hooks", "must be an object");
  const std::pair<const char*, std::vector<Hook>*> kinds[] = {
      {"prestart", &hooks->prestart},
      {"createRuntime", &hooks->create_runtime},
      {"createContainer", &hooks->create_container},
      {"startContainer", &hooks->start_container},
      {"poststart", &hooks->poststart},
      {"poststop", &hooks->poststop},
  };
  for (const auto& [key, out] : kinds) {
    auto it = json.find(key);
    if (it == json.end() || it->is_null()) continue;
    if (!it->is_array()) return FieldError(absl::StrCat("hooks.", key), "must be an array");
    for (size_t i = 0; i < it->size(); ++i) {
      const Json& item = (*it)[i];
      std::string field = absl::StrCat("hooks.", key, "[", i, "]");
      if (!item.is_object()) return FieldError(field, "must be an object");
      Hook hook;
      RETURN_IF_ERROR(ReadString(item, "path", field + ".path", &hook.path));
      if (hook.path.empty() || hook.path[0] != '/') {
        return FieldError(field + ".path", "must be an absolute path");
      }
      RETURN_IF_ERROR(ReadStrings(item, "args", field + ".args", &hook.args));
      RETURN_IF_ERROR(ReadStrings(item, "env", field + ".env", &hook.env));
      RETURN_IF_ERROR(ReadInt(item, "timeout", field + ".timeout", &hook.timeout));
      if (hook.timeout && *hook.timeout <= 0) {
        return FieldError(field + ".timeout", "must be greater than zero");
      }
      out->push_back(std::move(hook));
    }
  }
  return absl::OkStatus();
}

absl::StatusOr<Spec> ParseSpecJson(const Json& json) {
  if (!json.is_object()) return FieldError("(root)", "must be an object");
  Spec spec;
  RETURN_IF_ERROR(ReadString(json, "ociVersion", "ociVersion", &spec.oci_version));
  auto process = json.find("process");
  if (process == json.end() || process->is_null()) return FieldError("process", "is required");
  RETURN_IF_ERROR(ParseProcess(*process, &spec.process));
  auto root = json.find("root");
  if (root == json.end() || !root->is_object()) return FieldError("root", "is required");
  RETURN_IF_ERROR(ReadString(*root, "path", "root.path", &spec.root_path));
  if (spec.root_path.empty()) return FieldError("root.path", "is required");
  RETURN_IF_ERROR(ReadBool(*root, "readonly", "root.readonly", &spec.root_readonly));
  RETURN_IF_ERROR(ReadString(json, "hostname", "hostname", &spec.hostname));
  RETURN_IF_ERROR(ReadString(json, "domainname", "domainname", &spec.domainname));
  if (auto it = json.find("hooks"); it != json.end() && !it->is_null()) {
    RETURN_IF_ERROR(ParseHooks(*it, &spec.hooks));
  }
  if (auto it = json.find("annotations"); it != json.end() && it->is_object()) {
    for (auto entry = it->begin(); entry != it->end(); ++entry) {
      if (!entry.value().is_string()) {
        return FieldError("annotations." + entry.key(), "must be a string");
      }
      spec.annotations[entry.key()] = entry.value().get<std::string>();
    }
  }
  if (auto it = json.find("mounts"); it != json.end() && !it->is_null()) {
    RETURN_IF_ERROR(ParseMounts(*it, &spec.mounts));
  }
  if (auto it = json.find("linux"); it != json.end() && !it->is_null()) {
    RETURN_IF_ERROR(ParseLinux(*it, &spec));
  }
  if (!spec.hostname.empty() && spec.FindNamespace("uts") == nullptr) {
    return FieldError("hostname", "requires a uts namespace");
  }
  if (!spec.domainname.empty() && spec.FindNamespace("uts") == nullptr) {
    return FieldError("domainname", "requires a uts namespace");
  }
  // runc's rules: a new user namespace needs both maps (its processes would
  // otherwise be nobody, owning nothing); maps without one mean nothing.
  const Namespace* user = spec.FindNamespace("user");
  bool mapped = !spec.uid_mappings.empty() || !spec.gid_mappings.empty();
  if (user == nullptr && mapped) {
    return FieldError("linux.uidMappings", "user namespaces not enabled in config");
  }
  if (user != nullptr && user->path.empty() &&
      (spec.uid_mappings.empty() || spec.gid_mappings.empty())) {
    return FieldError("linux.namespaces",
                      "a new user namespace needs linux.uidMappings and linux.gidMappings");
  }
  // The spec: an idmapped mount without its own mapping takes the
  // container's, and without a user namespace it is an error.
  for (size_t i = 0; i < spec.mounts.size(); ++i) {
    Mount& mount = spec.mounts[i];
    if (!mount.idmap || !mount.uid_mappings.empty()) continue;
    if (spec.uid_mappings.empty()) {
      return FieldError(absl::StrCat("mounts[", i, "]"),
                        "idmap needs uidMappings and gidMappings, or the container's own");
    }
    mount.uid_mappings = spec.uid_mappings;
    mount.gid_mappings = spec.gid_mappings;
  }
  if (user != nullptr && !user->path.empty() && mapped) {
    return FieldError("linux.uidMappings",
                      "a user namespace joined by path keeps its own mappings");
  }
  // As runc: offsets are set once, when the namespace is made; one joined
  // by path already has its own.
  const Namespace* time = spec.FindNamespace("time");
  if (!spec.time_offsets.empty() && time == nullptr) {
    return FieldError("linux.timeOffsets", "time namespace not enabled in config");
  }
  if (!spec.time_offsets.empty() && !time->path.empty()) {
    return FieldError("linux.timeOffsets", "a time namespace joined by path keeps its own offsets");
  }
  return spec;
}

}  // namespace

const Namespace* Spec::FindNamespace(const std::string& type) const {
  for (const Namespace& ns : namespaces) {
    if (ns.type == type) return &ns;
  }
  return nullptr;
}

absl::StatusOr<Resources> ParseResourcesJson(const Json& json) {
  Resources resources;
  RETURN_IF_ERROR(ParseResources(json, &resources));
  // An update names what changes; Docker's daemon sends 0 for the rest, and
  // runc reads 0 as "leave it".
  auto unset_zero = [](auto& field) {
    if (field && *field == 0) field.reset();
  };
  unset_zero(resources.memory_limit);
  unset_zero(resources.memory_swap);
  unset_zero(resources.memory_reservation);
  unset_zero(resources.cpu_shares);
  unset_zero(resources.cpu_quota);
  unset_zero(resources.cpu_period);
  unset_zero(resources.pids_limit);
  return resources;
}

absl::StatusOr<Spec> ParseSpec(const std::string& text) {
  absl::StatusOr<Json> json = ParseJson(text);
  if (!json.ok())
    return absl::InvalidArgumentError("invalid config.json: " +
                                      std::string(json.status().message()));
  try {
    return ParseSpecJson(*json);
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("invalid config.json: ", e.what()));
  }
}

absl::StatusOr<Process> ParseProcessJson(const std::string& text) {
  absl::StatusOr<Json> json = ParseJson(text);
  if (!json.ok()) {
    return absl::InvalidArgumentError("invalid process: " + std::string(json.status().message()));
  }
  Process process;
  try {
    RETURN_IF_ERROR(ParseProcess(*json, &process));
  } catch (const Json::exception& e) {
    return absl::InvalidArgumentError(absl::StrCat("invalid process: ", e.what()));
  }
  return process;
}

absl::StatusOr<Spec> LoadSpec(const std::string& bundle) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(bundle + "/config.json"));
  return ParseSpec(text);
}

int CapabilityFromName(const std::string& name) {
  std::string lower = name;
  std::transform(lower.begin(), lower.end(), lower.begin(),
                 [](unsigned char c) { return std::tolower(c); });
  if (lower.rfind("cap_", 0) != 0) return -1;
  cap_value_t value;
  if (cap_from_name(lower.c_str(), &value) != 0) return -1;
  return static_cast<int>(value);
}

}  // namespace berth::runtime
