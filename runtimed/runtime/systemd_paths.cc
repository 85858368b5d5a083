#include "runtimed/runtime/systemd_paths.h"

#include <algorithm>
#include <cstdint>
#include <limits>

#include "absl/strings/match.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "absl/strings/strip.h"

namespace berth::runtime {
namespace {

constexpr uint64_t kInfinity = std::numeric_limits<uint64_t>::max();
constexpr char kSliceSuffix[] = ".slice";

// systemd refuses unit names outside [A-Za-z0-9:_.\-@]; a scope name made of
// anything else would fail later with a less helpful message.
bool ValidUnitChars(const std::string& s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) {
    return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || (c >= '0' && c <= '9') || c == '_' ||
           c == '.' || c == '-' || c == '@';
  });
}

// CPUQuotaPerSecUSec as runc computes it: the quota per second, rounded up to
// systemd's 10 ms granularity so the limit never ends up tighter than asked.
void AddCpuQuota(const Resources& r, std::vector<UnitProperty>* props) {
  if (r.cpu_period && *r.cpu_period > 0) {
    props->push_back({"CPUQuotaPeriodUSec", static_cast<uint64_t>(*r.cpu_period)});
  }
  if (!r.cpu_quota && !r.cpu_period) return;
  uint64_t per_sec = kInfinity;
  if (r.cpu_quota && *r.cpu_quota > 0) {
    uint64_t period = r.cpu_period && *r.cpu_period > 0 ? *r.cpu_period : 100000;
    per_sec = static_cast<uint64_t>(*r.cpu_quota) * 1000000 / period;
    if (per_sec % 10000 != 0) per_sec = (per_sec / 10000 + 1) * 10000;
  }
  props->push_back({"CPUQuotaPerSecUSec", per_sec});
}

uint64_t LimitOrInfinity(int64_t value) {
  return value < 0 ? kInfinity : static_cast<uint64_t>(value);
}

// The /proc/devices name of a major in the "Character devices:" or "Block
// devices:" section; "" when it has none.
std::string DeviceClass(const std::string& proc_devices, char type, int64_t major) {
  const absl::string_view wanted = type == 'c' ? "Character devices:" : "Block devices:";
  bool in_section = false;
  for (absl::string_view line : absl::StrSplit(proc_devices, '\n')) {
    line = absl::StripAsciiWhitespace(line);
    if (absl::EndsWith(line, ":")) {
      in_section = line == wanted;
      continue;
    }
    if (!in_section) continue;
    std::vector<absl::string_view> fields =
        absl::StrSplit(line, absl::MaxSplits(' ', 1), absl::SkipEmpty());
    int64_t number = 0;
    if (fields.size() == 2 && absl::SimpleAtoi(fields[0], &number) && number == major) {
      return std::string(fields[1]);
    }
  }
  return "";
}

// `access` without the letters of `removed`.
std::string WithoutAccess(const std::string& access, const std::string& removed) {
  std::string left;
  for (char c : access) {
    if (removed.find(c) == std::string::npos) left.push_back(c);
  }
  return left;
}

}  // namespace

bool IsSystemdCgroupsPath(const std::string& cgroups_path) {
  return std::count(cgroups_path.begin(), cgroups_path.end(), ':') == 2;
}

absl::StatusOr<SystemdCgroupsPath> ParseSystemdCgroupsPath(const std::string& cgroups_path) {
  std::vector<std::string> parts = absl::StrSplit(cgroups_path, ':');
  if (parts.size() != 3) {
    return absl::InvalidArgumentError(
        absl::StrCat("expected cgroupsPath to be of format \"slice:prefix:name\" for systemd "
                     "cgroups, got \"",
                     cgroups_path, "\" instead"));
  }
  SystemdCgroupsPath path;
  path.slice = parts[0].empty() ? "system.slice" : parts[0];
  if (!absl::EndsWith(path.slice, kSliceSuffix) || !ValidUnitChars(path.slice)) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid systemd slice \"", path.slice, "\" in cgroupsPath \"", cgroups_path,
                     "\": a cgroup parent must be a slice name such as system.slice"));
  }
  const std::string& prefix = parts[1];
  const std::string& name = parts[2];
  if (name.empty() || !ValidUnitChars(name) || (!prefix.empty() && !ValidUnitChars(prefix))) {
    return absl::InvalidArgumentError(
        absl::StrCat("invalid unit name in cgroupsPath \"", cgroups_path, "\""));
  }
  if (absl::EndsWith(name, kSliceSuffix)) {
    return absl::InvalidArgumentError(absl::StrCat("cgroupsPath \"", cgroups_path,
                                                   "\" names a slice: berth runs containers in ",
                                                   "a scope of their own"));
  }
  path.unit = prefix.empty() ? name + ".scope" : prefix + "-" + name + ".scope";
  return path;
}

absl::StatusOr<std::string> ExpandSlice(const std::string& slice) {
  if (!absl::EndsWith(slice, kSliceSuffix) || slice.find('/') != std::string::npos) {
    return absl::InvalidArgumentError("invalid slice name \"" + slice + "\"");
  }
  if (slice == "-.slice") return std::string();
  std::string stem = slice.substr(0, slice.size() - sizeof(kSliceSuffix) + 1);
  if (stem.empty() || stem.front() == '-' || stem.back() == '-' ||
      stem.find("--") != std::string::npos) {
    return absl::InvalidArgumentError("invalid slice name \"" + slice + "\"");
  }
  std::string path;
  std::string prefix;
  for (absl::string_view component : absl::StrSplit(stem, '-')) {
    prefix = prefix.empty() ? std::string(component) : absl::StrCat(prefix, "-", component);
    absl::StrAppend(&path, "/", prefix, kSliceSuffix);
  }
  return path;
}

std::string SystemdRootFromProcCgroup(const std::string& proc_cgroup, bool cgroup2) {
  for (absl::string_view line : absl::StrSplit(proc_cgroup, '\n', absl::SkipEmpty())) {
    std::vector<absl::string_view> fields = absl::StrSplit(line, absl::MaxSplits(':', 2));
    if (fields.size() != 3) continue;
    bool match = cgroup2 ? fields[0] == "0" && fields[1].empty() : fields[1] == "name=systemd";
    if (!match) continue;
    absl::string_view path = fields[2];
    absl::ConsumeSuffix(&path, "/init.scope");
    while (!path.empty() && path.back() == '/') path.remove_suffix(1);
    return std::string(path);
  }
  return "";
}

absl::StatusOr<std::string> SystemdScopeRelativePath(const SystemdCgroupsPath& path,
                                                     const std::string& root) {
  absl::StatusOr<std::string> slice = ExpandSlice(path.slice);
  if (!slice.ok()) return slice.status();
  std::string relative = absl::StrCat(root, *slice, "/", path.unit);
  while (!relative.empty() && relative.front() == '/') relative.erase(0, 1);
  return relative;
}

absl::StatusOr<std::vector<uint8_t>> CpusetToMask(const std::string& list) {
  std::vector<uint8_t> mask;
  for (absl::string_view item : absl::StrSplit(list, ',', absl::SkipWhitespace())) {
    item = absl::StripAsciiWhitespace(item);
    std::vector<absl::string_view> range = absl::StrSplit(item, absl::MaxSplits('-', 1));
    uint32_t first = 0;
    uint32_t last = 0;
    if (!absl::SimpleAtoi(range[0], &first) ||
        (range.size() == 2 ? !absl::SimpleAtoi(range[1], &last) : (last = first, false)) ||
        last < first || last >= 8192) {
      return absl::InvalidArgumentError("invalid cpuset list \"" + list + "\"");
    }
    if (mask.size() < last / 8 + 1) mask.resize(last / 8 + 1, 0);
    for (uint32_t cpu = first; cpu <= last; ++cpu) mask[cpu / 8] |= 1u << (cpu % 8);
  }
  return mask;
}

absl::StatusOr<std::vector<UnitProperty>> SystemdResourceProperties(const Resources& r,
                                                                    bool cgroup2) {
  std::vector<UnitProperty> props;
  if (!cgroup2) {
    if (r.memory_limit) props.push_back({"MemoryLimit", LimitOrInfinity(*r.memory_limit)});
    if (r.cpu_shares && *r.cpu_shares > 0) props.push_back({"CPUShares", *r.cpu_shares});
    if (r.blkio_weight && *r.blkio_weight > 0) {
      props.push_back({"BlockIOWeight", *r.blkio_weight});
    }
  } else {
    if (r.memory_limit) props.push_back({"MemoryMax", LimitOrInfinity(*r.memory_limit)});
    if (r.memory_reservation && *r.memory_reservation > 0) {
      props.push_back({"MemoryLow", static_cast<uint64_t>(*r.memory_reservation)});
    }
    if (r.memory_swap) {
      // OCI's swap is memory+swap; systemd's MemorySwapMax is the swap alone.
      uint64_t swap = kInfinity;
      if (*r.memory_swap >= 0) {
        if (!r.memory_limit || *r.memory_limit < 0 || *r.memory_swap < *r.memory_limit) {
          return absl::InvalidArgumentError(
              "cgroup: memory.swap must be at least memory.limit when both are set");
        }
        swap = static_cast<uint64_t>(*r.memory_swap - *r.memory_limit);
      }
      props.push_back({"MemorySwapMax", swap});
    }
    if (r.cpu_shares && *r.cpu_shares > 0) {
      // runc's and crun's conversion: shares [2, 262144] -> weight [1, 10000].
      uint64_t shares = std::clamp<uint64_t>(*r.cpu_shares, 2, 262144);
      props.push_back({"CPUWeight", 1 + ((shares - 2) * 9999) / 262142});
    }
    if (r.blkio_weight && *r.blkio_weight > 0) {
      uint64_t weight = std::clamp<uint64_t>(*r.blkio_weight, 10, 1000);
      props.push_back({"IOWeight", 1 + (weight - 10) * 9999 / 990});
    }
    if (!r.cpu_cpus.empty()) {
      absl::StatusOr<std::vector<uint8_t>> mask = CpusetToMask(r.cpu_cpus);
      if (!mask.ok()) return mask.status();
      props.push_back({"AllowedCPUs", *mask});
    }
    if (!r.cpu_mems.empty()) {
      absl::StatusOr<std::vector<uint8_t>> mask = CpusetToMask(r.cpu_mems);
      if (!mask.ok()) return mask.status();
      props.push_back({"AllowedMemoryNodes", *mask});
    }
  }
  AddCpuQuota(r, &props);
  if (r.pids_limit) {
    props.push_back(
        {"TasksMax", *r.pids_limit > 0 ? static_cast<uint64_t>(*r.pids_limit) : kInfinity});
  }
  return props;
}

std::vector<UnitProperty> SystemdDeviceProperties(const std::vector<DeviceRule>& rules,
                                                  const DeviceNames& names) {
  // A new device cgroup allows everything until a rule says otherwise.
  bool allow_all = true;
  std::vector<DeviceRule> allowed;
  for (const DeviceRule& rule : rules) {
    if (rule.type == 'a' && rule.major < 0 && rule.minor < 0) {
      if (WithoutAccess("rwm", rule.access).empty()) {
        allow_all = rule.allow;
        allowed.clear();
        continue;
      }
    }
    if (allow_all) {
      // A deny carved out of allow-all: systemd has no way to say it.
      if (!rule.allow) return {};
      continue;
    }
    if (rule.allow) {
      allowed.push_back(rule);
      continue;
    }
    for (DeviceRule& kept : allowed) {
      if (kept.type == rule.type && kept.major == rule.major && kept.minor == rule.minor) {
        kept.access = WithoutAccess(kept.access, rule.access);
      }
    }
  }
  if (allow_all) return {{"DevicePolicy", std::string("auto")}, {"DeviceAllow", DeviceAllowList{}}};
  DeviceAllowList entries;
  for (const DeviceRule& rule : allowed) {
    if (rule.access.empty()) continue;
    for (char type : {'c', 'b'}) {
      if (rule.type != 'a' && rule.type != type) continue;
      const std::string group = type == 'c' ? "char" : "block";
      std::string name;
      if (rule.major < 0) {
        // systemd matches a whole type, not "*:n".
        if (rule.minor < 0) name = group + "-*";
      } else if (rule.minor < 0) {
        std::string device_class = DeviceClass(names.proc_devices, type, rule.major);
        if (!device_class.empty()) name = group + "-" + device_class;
      } else {
        auto node =
            names.nodes.find(absl::StrCat(std::string(1, type), " ", rule.major, ":", rule.minor));
        if (node != names.nodes.end()) name = node->second;
      }
      if (!name.empty()) entries.emplace_back(name, rule.access);
    }
  }
  return {{"DevicePolicy", std::string("strict")}, {"DeviceAllow", std::move(entries)}};
}

absl::StatusOr<std::vector<UnitProperty>> SystemdScopeProperties(const SystemdCgroupsPath& path,
                                                                 pid_t pid,
                                                                 const Resources& resources,
                                                                 bool cgroup2,
                                                                 const DeviceNames& devices) {
  std::vector<UnitProperty> props = {
      {"Description", "berth container " + path.unit},
      {"Slice", path.slice},
      // Without it systemd would order the scope after sysinit and stop it
      // at shutdown's first step, like a service.
      {"DefaultDependencies", false},
      // A scope whose processes were killed ends "failed"; it must still go,
      // or the next start of the same container finds the name taken.
      {"CollectMode", std::string("inactive-or-failed")},
      {"Delegate", true},
      {"MemoryAccounting", true},
      {"CPUAccounting", true},
      {"TasksAccounting", true},
      {cgroup2 ? "IOAccounting" : "BlockIOAccounting", true},
      {"PIDs", std::vector<uint32_t>{static_cast<uint32_t>(pid)}},
  };
  absl::StatusOr<std::vector<UnitProperty>> limits = SystemdResourceProperties(resources, cgroup2);
  if (!limits.ok()) return limits.status();
  props.insert(props.end(), limits->begin(), limits->end());
  if (!resources.devices.empty()) {
    std::vector<UnitProperty> device_props = SystemdDeviceProperties(resources.devices, devices);
    props.insert(props.end(), device_props.begin(), device_props.end());
  }
  return props;
}

}  // namespace berth::runtime
