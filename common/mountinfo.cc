#include "common/mountinfo.h"

#include <sstream>

#include "common/fs.h"
#include "common/status.h"

namespace berth {
namespace {

// mountinfo escapes space, tab, newline and backslash as \ooo.
std::string Unescape(const std::string& field) {
  std::string out;
  out.reserve(field.size());
  for (size_t i = 0; i < field.size(); ++i) {
    if (field[i] == '\\' && i + 3 < field.size() && field[i + 1] >= '0' && field[i + 1] <= '7' &&
        field[i + 2] >= '0' && field[i + 2] <= '7' && field[i + 3] >= '0' && field[i + 3] <= '7') {
      out.push_back(static_cast<char>((field[i + 1] - '0') * 64 + (field[i + 2] - '0') * 8 +
                                      (field[i + 3] - '0')));
      i += 3;
    } else {
      out.push_back(field[i]);
    }
  }
  return out;
}

}  // namespace

std::vector<MountInfo> ParseMountInfo(const std::string& text) {
  std::vector<MountInfo> mounts;
  std::istringstream lines(text);
  std::string line;
  while (std::getline(lines, line)) {
    // id parent major:minor root mount_point options [optional...] - fstype source super
    std::istringstream fields(line);
    MountInfo info;
    std::string dev, root, mount_point, options, field;
    if (!(fields >> info.mount_id >> info.parent_id >> dev >> root >> mount_point >> options)) {
      continue;
    }
    while (fields >> field && field != "-") {
    }
    fields >> info.fs_type >> info.source;
    info.mount_point = Unescape(mount_point);
    info.source = Unescape(info.source);
    mounts.push_back(std::move(info));
  }
  return mounts;
}

absl::StatusOr<std::vector<MountInfo>> ReadMountInfo(const std::string& path) {
  ASSIGN_OR_RETURN(std::string text, ReadFile(path));
  return ParseMountInfo(text);
}

absl::StatusOr<bool> IsMountPoint(const std::string& path) {
  ASSIGN_OR_RETURN(std::vector<MountInfo> mounts, ReadMountInfo());
  for (const MountInfo& mount : mounts) {
    if (mount.mount_point == path) return true;
  }
  return false;
}

}  // namespace berth
