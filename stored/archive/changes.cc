#include "stored/archive/changes.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/sysmacros.h>
#include <sys/xattr.h>
#include <unistd.h>

#include <algorithm>
#include <set>
#include <utility>

#include "common/status.h"
#include "common/unique_fd.h"
#include "stored/archive/overlay_upper.h"

namespace berth::containerfs {
namespace {

class ChangeWalker {
 public:
  explicit ChangeWalker(const std::vector<std::string>& lower_dirs) : lower_dirs_(lower_dirs) {}

  absl::Status Walk(int dir_fd, const std::string& path) {
    ASSIGN_OR_RETURN(std::vector<std::string> names, SortedChildren(dir_fd));
    for (const std::string& name : names) {
      const std::string child = path == "/" ? "/" + name : path + "/" + name;
      struct stat st;
      if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
      UniqueFd sub;
      if (S_ISDIR(st.st_mode)) {
        sub.Reset(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
        if (!sub.valid()) continue;
      }
      struct stat lower;
      bool in_lower = FindLower(child, &lower);
      if (IsOverlayWhiteout(st) || (sub.valid() && IsOverlayOpaque(sub.get()) && in_lower)) {
        Record(child, ChangeKind::kDeleted);
      } else if (!in_lower) {
        Record(child, ChangeKind::kAdded);
      } else if (!(S_ISDIR(st.st_mode) && S_ISDIR(lower.st_mode) && st.st_size == lower.st_size &&
                   st.st_mode == lower.st_mode && st.st_mtim.tv_sec == lower.st_mtim.tv_sec &&
                   st.st_mtim.tv_nsec == lower.st_mtim.tv_nsec)) {
        Record(child, ChangeKind::kModified);
      }
      if (sub.valid()) {
        RETURN_IF_ERROR(Walk(sub.get(), child));
      }
    }
    return absl::OkStatus();
  }

  std::vector<Change> Take() {
    std::sort(changes_.begin(), changes_.end(),
              [](const Change& a, const Change& b) { return a.path < b.path; });
    return std::move(changes_);
  }

 private:
  bool FindLower(const std::string& path, struct stat* st) {
    for (const std::string& lower : lower_dirs_) {
      if (lstat((lower + path).c_str(), st) == 0) return !IsOverlayWhiteout(*st);
    }
    return false;
  }

  void Record(const std::string& path, ChangeKind kind) {
    if (!recorded_.insert(path).second) return;
    changes_.push_back({path, kind});
    // Adding or deleting an entry changes its directory even when the
    // directory's own attributes look the same (moby #13590).
    if (kind == ChangeKind::kAdded || kind == ChangeKind::kDeleted) {
      size_t slash = path.rfind('/');
      std::string parent = slash == 0 ? "/" : path.substr(0, slash);
      if (parent != "/" && recorded_.insert(parent).second) {
        changes_.push_back({parent, ChangeKind::kModified});
      }
    }
  }

  const std::vector<std::string>& lower_dirs_;
  std::vector<Change> changes_;
  std::set<std::string> recorded_;
};

absl::Status SizeWalk(int dir_fd, std::set<std::pair<dev_t, ino_t>>& seen, int64_t& total) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, SortedChildren(dir_fd));
  for (const std::string& name : names) {
    struct stat st;
    if (fstatat(dir_fd, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) continue;
    if (S_ISDIR(st.st_mode)) {
      UniqueFd sub(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (sub.valid()) RETURN_IF_ERROR(SizeWalk(sub.get(), seen, total));
      continue;
    }
    if (st.st_nlink > 1 && !seen.insert({st.st_dev, st.st_ino}).second) continue;
    total += st.st_size;
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<std::vector<Change>> ComputeChanges(const std::string& upper_dir,
                                                   const std::vector<std::string>& lower_dirs) {
  UniqueFd root(open(upper_dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) return LastErrnoStatus("open " + upper_dir);
  ChangeWalker walker(lower_dirs);
  RETURN_IF_ERROR(walker.Walk(root.get(), "/"));
  return walker.Take();
}

absl::StatusOr<int64_t> DirectorySize(const std::string& dir) {
  UniqueFd root(open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC));
  if (!root.valid()) {
    if (errno == ENOENT) return int64_t{0};
    return LastErrnoStatus("open " + dir);
  }
  std::set<std::pair<dev_t, ino_t>> seen;
  int64_t total = 0;
  RETURN_IF_ERROR(SizeWalk(root.get(), seen, total));
  return total;
}

}  // namespace berth::containerfs
