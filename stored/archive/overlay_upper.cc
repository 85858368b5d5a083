#include "stored/archive/overlay_upper.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>

#include "common/status.h"

namespace berth::containerfs {

absl::StatusOr<std::vector<std::string>> SortedChildren(int dir_fd) {
  int copy = fcntl(dir_fd, F_DUPFD_CLOEXEC, 0);
  if (copy < 0) return LastErrnoStatus("dup");
  DIR* dir = fdopendir(copy);
  if (dir == nullptr) {
    close(copy);
    return LastErrnoStatus("opendir");
  }
  // The copy shares the directory offset with dir_fd: start from the top
  // even when dir_fd was read before.
  rewinddir(dir);
  std::vector<std::string> names;
  while (struct dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

bool IsOverlayWhiteout(const struct stat& st) {
  return S_ISCHR(st.st_mode) && major(st.st_rdev) == 0 && minor(st.st_rdev) == 0;
}

bool IsOverlayOpaque(int dir_fd) {
  char value[2] = {};
  ssize_t n = fgetxattr(dir_fd, "trusted.overlay.opaque", value, sizeof(value));
  return n == 1 && value[0] == 'y';
}

}  // namespace berth::containerfs
