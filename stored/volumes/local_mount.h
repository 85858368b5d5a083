// Options of the local volume driver (docker volume create -o type= -o
// device= -o o=): like Docker, a volume with options is a mount of `device`
// on its _data directory, made when a container first uses it and undone
// when the last one stops. Without options it is a plain directory.
#pragma once

#include <map>
#include <optional>
#include <string>

#include "absl/status/statusor.h"

namespace berth::volumes {

struct LocalMount {
  std::string device;
  // "" for a bind.
  std::string fstype;
  unsigned long flags = 0;
  // What mount(2) gets as data (e.g. "size=64m").
  std::string data;
  bool bind = false;
};

// InvalidArgument in Docker's words for unknown keys or missing ones.
absl::Status ValidateLocalOptions(const std::string& name,
                                  const std::map<std::string, std::string>& options);

// nullopt for a volume without options.
std::optional<LocalMount> ParseLocalOptions(const std::map<std::string, std::string>& options);

absl::Status MountLocal(const LocalMount& mount, const std::string& target);
absl::Status UnmountLocal(const std::string& target);
bool IsMountPoint(const std::string& path);

}  // namespace berth::volumes
