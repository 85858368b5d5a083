// What is mounted where, from /proc/self/mountinfo. stored and netd use it to
// tell at start which of their mounts survived a restart of the daemon.
#pragma once

#include <string>
#include <vector>

#include "absl/status/statusor.h"

namespace berth {

struct MountInfo {
  int mount_id = 0;
  int parent_id = 0;
  // Absolute path, with the kernel's octal escapes (\040 etc.) decoded.
  std::string mount_point;
  std::string fs_type;
  std::string source;
};

// Parses mountinfo text (the format of proc(5)); exposed for tests.
std::vector<MountInfo> ParseMountInfo(const std::string& text);

absl::StatusOr<std::vector<MountInfo>> ReadMountInfo(
    const std::string& path = "/proc/self/mountinfo");

// True when `path` (absolute, without trailing slash) is the mount point of at
// least one mount in the calling process's mount namespace.
absl::StatusOr<bool> IsMountPoint(const std::string& path);

}  // namespace berth
