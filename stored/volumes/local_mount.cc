#include "stored/volumes/local_mount.h"

#include <sys/mount.h>
#include <sys/stat.h>

#include <vector>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/mountinfo.h"
#include "common/status.h"

namespace berth::volumes {
namespace {

struct Flag {
  const char* name;
  unsigned long set;
  unsigned long clear;
};

// The flags Docker's mount package understands; anything else is data.
constexpr Flag kFlags[] = {
    {"ro", MS_RDONLY, 0},
    {"rw", 0, MS_RDONLY},
    {"nosuid", MS_NOSUID, 0},
    {"suid", 0, MS_NOSUID},
    {"nodev", MS_NODEV, 0},
    {"dev", 0, MS_NODEV},
    {"noexec", MS_NOEXEC, 0},
    {"exec", 0, MS_NOEXEC},
    {"sync", MS_SYNCHRONOUS, 0},
    {"async", 0, MS_SYNCHRONOUS},
    {"noatime", MS_NOATIME, 0},
    {"atime", 0, MS_NOATIME},
    {"nodiratime", MS_NODIRATIME, 0},
    {"relatime", MS_RELATIME, 0},
    {"strictatime", MS_STRICTATIME, 0},
    {"bind", MS_BIND, 0},
    {"rbind", MS_BIND | MS_REC, 0},
    {"defaults", 0, 0},
};

}  // namespace

absl::Status ValidateLocalOptions(const std::string& name,
                                  const std::map<std::string, std::string>& options) {
  for (const auto& [key, value] : options) {
    if (key != "type" && key != "device" && key != "o" && key != "size") {
      return absl::InvalidArgumentError(
          absl::StrCat("create ", name, ": invalid option key: \"", key, "\""));
    }
  }
  if (options.empty()) return absl::OkStatus();
  auto type = options.find("type");
  auto device = options.find("device");
  if (type == options.end() || type->second.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("create ", name, ": missing required option: \"type\""));
  }
  if (device == options.end() || device->second.empty()) {
    return absl::InvalidArgumentError(
        absl::StrCat("create ", name, ": missing required option: \"device\""));
  }
  return absl::OkStatus();
}

std::optional<LocalMount> ParseLocalOptions(const std::map<std::string, std::string>& options) {
  auto type = options.find("type");
  if (type == options.end() || type->second.empty()) return std::nullopt;
  LocalMount mount;
  mount.fstype = type->second == "none" ? "" : type->second;
  auto device = options.find("device");
  if (device != options.end()) mount.device = device->second;
  std::vector<std::string> data;
  auto o = options.find("o");
  if (o != options.end()) {
    for (absl::string_view part : absl::StrSplit(o->second, ',', absl::SkipEmpty())) {
      bool known = false;
      for (const Flag& flag : kFlags) {
        if (part == flag.name) {
          mount.flags = (mount.flags & ~flag.clear) | flag.set;
          known = true;
        }
      }
      if (!known) data.emplace_back(part);
    }
  }
  auto size = options.find("size");
  if (size != options.end() && mount.fstype == "tmpfs") data.push_back("size=" + size->second);
  mount.bind = (mount.flags & MS_BIND) != 0;
  mount.data = absl::StrJoin(data, ",");
  return mount;
}

absl::Status MountLocal(const LocalMount& mount, const std::string& target) {
  if (mount.bind) {
    if (::mount(mount.device.c_str(), target.c_str(), nullptr, mount.flags & (MS_BIND | MS_REC),
                nullptr) != 0) {
      return LastErrnoStatus(
          absl::StrCat("failed to mount local volume: mount ", mount.device, ":", target));
    }
    unsigned long rest = mount.flags & ~(MS_BIND | MS_REC);
    if (rest != 0 &&
        ::mount(nullptr, target.c_str(), nullptr, MS_BIND | MS_REMOUNT | rest, nullptr) != 0) {
      absl::Status status = LastErrnoStatus("remount local volume " + target);
      umount2(target.c_str(), MNT_DETACH);
      return status;
    }
    return absl::OkStatus();
  }
  if (::mount(mount.device.c_str(), target.c_str(), mount.fstype.c_str(), mount.flags,
              mount.data.empty() ? nullptr : mount.data.c_str()) != 0) {
    return LastErrnoStatus(absl::StrCat("failed to mount local volume: mount ", mount.device, ":",
                                        target, ", data: ", mount.data));
  }
  return absl::OkStatus();
}

absl::Status UnmountLocal(const std::string& target) {
  while (IsMountPoint(target)) {
    if (umount2(target.c_str(), MNT_DETACH) != 0) return LastErrnoStatus("unmount " + target);
  }
  return absl::OkStatus();
}

bool IsMountPoint(const std::string& path) {
  // mountinfo rather than st_dev: a bind of the same filesystem has its dev.
  absl::StatusOr<bool> mounted = berth::IsMountPoint(path);
  return mounted.ok() && *mounted;
}

}  // namespace berth::volumes
