#include "stored/volumes/copy.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/time.h>
#include <unistd.h>

#include <vector>

#include "absl/status/statusor.h"
#include "absl/strings/str_split.h"
#include "common/status.h"
#include "common/unique_fd.h"

namespace berth::volumes {
namespace {

constexpr int kDirFlags = O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC;

absl::StatusOr<std::vector<std::string>> Entries(int dir_fd) {
  int fd = dup(dir_fd);
  if (fd < 0) return LastErrnoStatus("dup");
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return LastErrnoStatus("fdopendir");
  }
  std::vector<std::string> names;
  while (dirent* entry = readdir(dir)) {
    std::string name = entry->d_name;
    if (name != "." && name != "..") names.push_back(std::move(name));
  }
  closedir(dir);
  return names;
}

absl::Status CopyAttributes(int fd, const struct stat& st) {
  if (fchown(fd, st.st_uid, st.st_gid) != 0) return LastErrnoStatus("chown");
  if (fchmod(fd, st.st_mode & 07777) != 0) return LastErrnoStatus("chmod");
  return absl::OkStatus();
}

absl::Status CopyFile(int src_dir, int dst_dir, const std::string& name, const struct stat& st) {
  UniqueFd in(openat(src_dir, name.c_str(), O_RDONLY | O_NOFOLLOW | O_CLOEXEC));
  if (!in.valid()) return LastErrnoStatus("open " + name);
  UniqueFd out(
      openat(dst_dir, name.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, 0600));
  if (!out.valid()) return LastErrnoStatus("create " + name);
  char buffer[1 << 16];
  while (true) {
    ssize_t n = read(in.get(), buffer, sizeof buffer);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrnoStatus("read " + name);
    if (n == 0) break;
    for (ssize_t done = 0; done < n;) {
      ssize_t w = write(out.get(), buffer + done, n - done);
      if (w < 0 && errno == EINTR) continue;
      if (w < 0) return LastErrnoStatus("write " + name);
      done += w;
    }
  }
  return CopyAttributes(out.get(), st);
}

absl::Status CopyDir(int src, int dst) {
  ASSIGN_OR_RETURN(std::vector<std::string> names, Entries(src));
  for (const std::string& name : names) {
    struct stat st;
    if (fstatat(src, name.c_str(), &st, AT_SYMLINK_NOFOLLOW) != 0) {
      return LastErrnoStatus("stat " + name);
    }
    if (S_ISDIR(st.st_mode)) {
      if (mkdirat(dst, name.c_str(), 0700) != 0) return LastErrnoStatus("mkdir " + name);
      UniqueFd from(openat(src, name.c_str(), kDirFlags));
      UniqueFd to(openat(dst, name.c_str(), kDirFlags));
      if (!from.valid() || !to.valid()) return LastErrnoStatus("open " + name);
      RETURN_IF_ERROR(CopyDir(from.get(), to.get()));
      RETURN_IF_ERROR(CopyAttributes(to.get(), st));
    } else if (S_ISREG(st.st_mode)) {
      RETURN_IF_ERROR(CopyFile(src, dst, name, st));
    } else if (S_ISLNK(st.st_mode)) {
      std::string target(st.st_size + 1, '\0');
      ssize_t n = readlinkat(src, name.c_str(), target.data(), target.size());
      if (n < 0) return LastErrnoStatus("readlink " + name);
      target.resize(n);
      if (symlinkat(target.c_str(), dst, name.c_str()) != 0) {
        return LastErrnoStatus("symlink " + name);
      }
      if (fchownat(dst, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
        return LastErrnoStatus("chown " + name);
      }
    } else {
      // Devices, fifos and sockets, as moby's copier does with mknod.
      if (mknodat(dst, name.c_str(), st.st_mode, st.st_rdev) != 0) {
        return LastErrnoStatus("mknod " + name);
      }
      if (fchownat(dst, name.c_str(), st.st_uid, st.st_gid, AT_SYMLINK_NOFOLLOW) != 0) {
        return LastErrnoStatus("chown " + name);
      }
    }
  }
  return absl::OkStatus();
}

}  // namespace

absl::StatusOr<bool> DirIsEmpty(const std::string& path) {
  UniqueFd fd(open(path.c_str(), kDirFlags));
  if (!fd.valid()) return LastErrnoStatus("open " + path);
  ASSIGN_OR_RETURN(std::vector<std::string> names, Entries(fd.get()));
  return names.empty();
}

absl::Status CopyTreeBeneath(const std::string& root, const std::string& path,
                             const std::string& destination) {
  UniqueFd current(open(root.c_str(), kDirFlags));
  if (!current.valid()) return LastErrnoStatus("open " + root);
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == "." || part == "..") return absl::OkStatus();
    UniqueFd next(openat(current.get(), std::string(part).c_str(), kDirFlags));
    // Missing, a symlink or not a directory: nothing of the image to copy.
    if (!next.valid()) return absl::OkStatus();
    current = std::move(next);
  }
  UniqueFd to(open(destination.c_str(), kDirFlags));
  if (!to.valid()) return LastErrnoStatus("open " + destination);
  RETURN_IF_ERROR(CopyDir(current.get(), to.get()));
  struct stat st;
  if (fstat(current.get(), &st) != 0) return LastErrnoStatus("stat " + path);
  return CopyAttributes(to.get(), st);
}

}  // namespace berth::volumes
