#include "stored/archive/resolve.h"

#include <dirent.h>
#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "common/status.h"

namespace berth::containerfs {
namespace {

std::vector<std::string> Components(absl::string_view path) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(path, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (!out.empty()) out.pop_back();
      continue;
    }
    out.emplace_back(part);
  }
  return out;
}

std::string Relative(const std::string& path) {
  size_t start = path.find_first_not_of('/');
  return start == std::string::npos ? "." : path.substr(start);
}

}  // namespace

std::string CleanAbsolute(absl::string_view path) {
  return "/" + absl::StrJoin(Components(path), "/");
}

ContainerPath SplitContainerPath(absl::string_view path) {
  ContainerPath out;
  out.clean = CleanAbsolute(path);
  out.ends_with_dot = path == "." || absl::EndsWith(path, "/.");
  out.follow_final = out.ends_with_dot || absl::EndsWith(path, "/");
  if (out.clean == "/") {
    out.dir = "/";
    out.base = ".";
    out.ends_with_dot = true;
    out.follow_final = true;
    return out;
  }
  size_t slash = out.clean.rfind('/');
  out.dir = slash == 0 ? "/" : out.clean.substr(0, slash);
  out.base = out.clean.substr(slash + 1);
  return out;
}

absl::StatusOr<std::string> CleanRelative(absl::string_view name) {
  std::vector<std::string> out;
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      if (out.empty()) {
        return absl::InvalidArgumentError(absl::StrCat(
            "invalid archive entry \"", name, "\": it points outside the destination directory"));
      }
      out.pop_back();
      continue;
    }
    out.emplace_back(part);
  }
  return absl::StrJoin(out, "/");
}

absl::StatusOr<UniqueFd> OpenInRoot(int root_fd, const std::string& path, int flags,
                                    bool follow_final) {
  struct open_how how = {};
  how.flags = static_cast<uint64_t>(flags | O_CLOEXEC | (follow_final ? 0 : O_NOFOLLOW));
  // Magic links (/proc/<pid>/root and friends) jump anywhere: never.
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string relative = Relative(path);
  int fd;
  do {
    fd = static_cast<int>(syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof(how)));
  } while (fd < 0 && errno == EAGAIN);
  if (fd < 0) return LastErrnoStatus(path);
  return UniqueFd(fd);
}

absl::StatusOr<UniqueFd> MakeDirsInRoot(int root_fd, const std::string& path, uid_t uid,
                                        gid_t gid) {
  std::vector<std::string> parts = Components(path);
  std::string current = "/";
  ASSIGN_OR_RETURN(UniqueFd dir, OpenInRoot(root_fd, current, O_PATH | O_DIRECTORY, true));
  for (const std::string& part : parts) {
    current = current == "/" ? "/" + part : current + "/" + part;
    absl::StatusOr<UniqueFd> next = OpenInRoot(root_fd, current, O_PATH | O_DIRECTORY, true);
    if (!next.ok() && absl::IsNotFound(next.status())) {
      // dir is the resolved parent: creating in it cannot leave the root.
      if (mkdirat(dir.get(), part.c_str(), 0755) != 0 && errno != EEXIST) {
        return LastErrnoStatus("mkdir " + current);
      }
      UniqueFd created(
          openat(dir.get(), part.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
      if (created.valid()) {
        if (fchown(created.get(), uid, gid) != 0) return LastErrnoStatus("chown " + current);
      }
      next = OpenInRoot(root_fd, current, O_PATH | O_DIRECTORY, true);
    }
    if (!next.ok()) return next.status();
    dir = std::move(*next);
  }
  return dir;
}

absl::StatusOr<std::string> PathInRoot(int root_fd, int fd) {
  // Walks up with ".." and looks for each directory's name in its parent,
  // as getcwd does: /proc/self/fd is not there inside a running
  // container's mount namespace (its /proc belongs to another pid
  // namespace), and this is relative to root_fd, not to our own root.
  struct stat root_st;
  if (fstat(root_fd, &root_st) != 0) return LastErrnoStatus("stat root");
  struct stat st;
  if (fstat(fd, &st) != 0) return LastErrnoStatus("stat");
  std::vector<std::string> names;
  UniqueFd current(fcntl(fd, F_DUPFD_CLOEXEC, 0));
  if (!current.valid()) return LastErrnoStatus("dup");
  if (!S_ISDIR(st.st_mode)) {
    // Not a directory: its parent is unknown to the fd; callers only pass
    // directories or O_PATH fds of files reached through a directory.
    return absl::InvalidArgumentError("PathInRoot needs a directory");
  }
  for (int depth = 0; depth < 4096; ++depth) {
    if (st.st_dev == root_st.st_dev && st.st_ino == root_st.st_ino) {
      std::string path;
      for (auto it = names.rbegin(); it != names.rend(); ++it) path += "/" + *it;
      return path.empty() ? std::string("/") : path;
    }
    UniqueFd parent(openat(current.get(), "..", O_RDONLY | O_DIRECTORY | O_CLOEXEC));
    if (!parent.valid()) return LastErrnoStatus("open ..");
    struct stat parent_st;
    if (fstat(parent.get(), &parent_st) != 0) return LastErrnoStatus("stat ..");
    if (parent_st.st_dev == st.st_dev && parent_st.st_ino == st.st_ino) {
      return absl::InternalError("path is not beneath the root");  // reached "/"
    }
    DIR* dir = fdopendir(fcntl(parent.get(), F_DUPFD_CLOEXEC, 0));
    if (dir == nullptr) return LastErrnoStatus("opendir ..");
    std::string found;
    while (struct dirent* entry = readdir(dir)) {
      std::string name = entry->d_name;
      if (name == "." || name == "..") continue;
      struct stat child;
      if (fstatat(parent.get(), name.c_str(), &child, AT_SYMLINK_NOFOLLOW) != 0) continue;
      if (child.st_dev == st.st_dev && child.st_ino == st.st_ino) {
        found = name;
        break;
      }
    }
    closedir(dir);
    if (found.empty()) return absl::NotFoundError("directory was moved away while resolved");
    names.push_back(found);
    current = std::move(parent);
    st = parent_st;
  }
  return absl::InternalError("path too deep");
}

absl::Status RemoveTreeAt(int dir_fd, const std::string& name) {
  if (unlinkat(dir_fd, name.c_str(), 0) == 0 || errno == ENOENT) return absl::OkStatus();
  if (errno != EISDIR && errno != EPERM) return LastErrnoStatus("remove " + name);
  UniqueFd sub(openat(dir_fd, name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC));
  if (!sub.valid()) return LastErrnoStatus("open " + name);
  DIR* dir = fdopendir(dup(sub.get()));
  if (dir == nullptr) return LastErrnoStatus("opendir " + name);
  std::vector<std::string> children;
  while (struct dirent* entry = readdir(dir)) {
    std::string child = entry->d_name;
    if (child != "." && child != "..") children.push_back(child);
  }
  closedir(dir);
  for (const std::string& child : children) RETURN_IF_ERROR(RemoveTreeAt(sub.get(), child));
  if (unlinkat(dir_fd, name.c_str(), AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return LastErrnoStatus("remove " + name);
  }
  return absl::OkStatus();
}

}  // namespace berth::containerfs
