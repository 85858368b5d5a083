#include "stored/layers/safe_path.h"

#include <fcntl.h>
#include <sys/stat.h>
#include <unistd.h>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_split.h"
#include "common/status.h"

namespace berth::layers {
namespace {

// Gives a directory created to hold an entry the attributes of the same
// directory in the nearest lower layer, when there is one.
void CopyLowerAttributes(int dir_fd, const std::string& relative,
                         const std::vector<std::string>& lower_dirs) {
  for (const std::string& lower : lower_dirs) {
    struct stat st;
    if (lstat((lower + "/" + relative).c_str(), &st) != 0) continue;
    if (!S_ISDIR(st.st_mode)) return;
    if (fchown(dir_fd, st.st_uid, st.st_gid) != 0) return;
    fchmod(dir_fd, st.st_mode & 07777);
    struct timespec times[2] = {st.st_atim, st.st_mtim};
    futimens(dir_fd, times);
    return;
  }
}

}  // namespace

absl::StatusOr<std::vector<std::string>> CleanEntryPath(absl::string_view name) {
  if (!name.empty() && name[0] == '/') {
    return absl::InvalidArgumentError(
        absl::StrCat("layer entry \"", name, "\" has an absolute path"));
  }
  std::vector<std::string> components;
  for (absl::string_view part : absl::StrSplit(name, '/')) {
    if (part.empty() || part == ".") continue;
    if (part == "..") {
      return absl::InvalidArgumentError(
          absl::StrCat("layer entry \"", name, "\" points outside the layer"));
    }
    components.emplace_back(part);
  }
  return components;
}

std::string JoinComponents(const std::vector<std::string>& components, size_t count) {
  std::string out;
  for (size_t i = 0; i < count && i < components.size(); ++i) {
    if (i > 0) out += '/';
    out += components[i];
  }
  return out;
}

absl::StatusOr<UniqueFd> OpenDirBeneath(int root_fd, const std::vector<std::string>& components,
                                        size_t count, const std::vector<std::string>& lower_dirs,
                                        std::vector<std::string>* created) {
  UniqueFd current(fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (!current.valid()) return LastErrnoStatus("dup extraction root");
  for (size_t i = 0; i < count; ++i) {
    const char* name = components[i].c_str();
    int fd = openat(current.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0 && errno == ENOENT) {
      if (mkdirat(current.get(), name, 0755) != 0 && errno != EEXIST) {
        return LastErrnoStatus("mkdir " + JoinComponents(components, i + 1));
      }
      fd = openat(current.get(), name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
      if (fd >= 0) {
        CopyLowerAttributes(fd, JoinComponents(components, i + 1), lower_dirs);
        if (created != nullptr) created->push_back(JoinComponents(components, i + 1));
      }
    }
    if (fd < 0) {
      if (errno == ELOOP || errno == ENOTDIR) {
        return absl::InvalidArgumentError(
            absl::StrCat("layer entry \"", JoinComponents(components, components.size()),
                         "\" is beneath \"", JoinComponents(components, i + 1),
                         "\", which is not a directory (a symlink cannot be written through)"));
      }
      return LastErrnoStatus("open " + JoinComponents(components, i + 1));
    }
    current.Reset(fd);
  }
  return current;
}

absl::StatusOr<UniqueFd> OpenExistingDirBeneath(int root_fd,
                                                const std::vector<std::string>& components) {
  UniqueFd current(fcntl(root_fd, F_DUPFD_CLOEXEC, 0));
  if (!current.valid()) return LastErrnoStatus("dup extraction root");
  for (const std::string& name : components) {
    int fd = openat(current.get(), name.c_str(), O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
    if (fd < 0) {
      return absl::NotFoundError(
          absl::StrCat("no directory \"", JoinComponents(components, components.size()), "\""));
    }
    current.Reset(fd);
  }
  return current;
}

absl::Status CopyLowerDirAttributes(int root_fd, const std::string& path,
                                    const std::vector<std::string>& lower_dirs) {
  ASSIGN_OR_RETURN(std::vector<std::string> components, CleanEntryPath(path));
  absl::StatusOr<UniqueFd> dir = OpenExistingDirBeneath(root_fd, components);
  if (absl::IsNotFound(dir.status())) return absl::OkStatus();
  RETURN_IF_ERROR(dir.status());
  CopyLowerAttributes(dir->get(), JoinComponents(components, components.size()), lower_dirs);
  return absl::OkStatus();
}

}  // namespace berth::layers
