#include "common/fs.h"

#include <dirent.h>
#include <fcntl.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <algorithm>
#include <cstring>
#include <vector>

#include "common/status.h"

namespace berth {

absl::Status MakeDirs(const std::string& path, mode_t mode) {
  if (path.empty()) return absl::InvalidArgumentError("empty path");
  struct stat existing;
  // An unprivileged daemon may not be able to search the parents of its own
  // directory; when the directory exists there is nothing to walk.
  if (stat(path.c_str(), &existing) == 0 && S_ISDIR(existing.st_mode)) return absl::OkStatus();
  std::string partial;
  size_t pos = 0;
  while (pos != std::string::npos) {
    pos = path.find('/', pos + 1);
    partial = path.substr(0, pos);
    if (partial.empty()) continue;
    if (mkdir(partial.c_str(), mode) != 0 && errno != EEXIST) {
      return LastErrnoStatus("mkdir " + partial);
    }
  }
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return LastErrnoStatus("stat " + path);
  if (!S_ISDIR(st.st_mode)) return absl::FailedPreconditionError(path + " is not a directory");
  return absl::OkStatus();
}

absl::StatusOr<std::string> ReadFile(const std::string& path) {
  int fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0) return LastErrnoStatus("open " + path);
  std::string content;
  char buffer[65536];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0) {
      if (errno == EINTR) continue;
      absl::Status status = LastErrnoStatus("read " + path);
      close(fd);
      return status;
    }
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
  }
  close(fd);
  return content;
}

absl::Status WriteFileAtomic(const std::string& path, std::string_view content, mode_t mode) {
  std::string tmp = path + ".tmp." + std::to_string(getpid());
  int fd = open(tmp.c_str(), O_WRONLY | O_CREAT | O_TRUNC | O_CLOEXEC, mode);
  if (fd < 0) return LastErrnoStatus("create " + tmp);
  absl::Status status = WriteFull(fd, content.data(), content.size());
  if (status.ok() && fsync(fd) != 0) status = LastErrnoStatus("fsync " + tmp);
  close(fd);
  if (status.ok() && rename(tmp.c_str(), path.c_str()) != 0) {
    status = LastErrnoStatus("rename " + tmp);
  }
  if (!status.ok()) {
    unlink(tmp.c_str());
    return status;
  }
  std::string dir = path.substr(0, path.rfind('/'));
  if (dir.empty()) dir = "/";
  int dfd = open(dir.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd >= 0) {
    fsync(dfd);
    close(dfd);
  }
  return absl::OkStatus();
}

namespace {

absl::Status RemoveAt(int parent_fd, const char* name, dev_t parent_dev) {
  struct stat st;
  if (fstatat(parent_fd, name, &st, AT_SYMLINK_NOFOLLOW) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return LastErrnoStatus(std::string("stat ") + name);
  }
  if (!S_ISDIR(st.st_mode)) {
    if (unlinkat(parent_fd, name, 0) != 0 && errno != ENOENT) {
      return LastErrnoStatus(std::string("unlink ") + name);
    }
    return absl::OkStatus();
  }
  if (st.st_dev != parent_dev) {
    return absl::FailedPreconditionError(std::string(name) + " is a mount point");
  }
  int fd = openat(parent_fd, name, O_RDONLY | O_DIRECTORY | O_NOFOLLOW | O_CLOEXEC);
  if (fd < 0) return LastErrnoStatus(std::string("open ") + name);
  DIR* dir = fdopendir(fd);
  if (dir == nullptr) {
    close(fd);
    return LastErrnoStatus(std::string("opendir ") + name);
  }
  std::vector<std::string> entries;
  while (dirent* entry = readdir(dir)) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    entries.emplace_back(entry->d_name);
  }
  absl::Status status;
  for (const std::string& entry : entries) {
    status = RemoveAt(dirfd(dir), entry.c_str(), st.st_dev);
    if (!status.ok()) break;
  }
  closedir(dir);
  RETURN_IF_ERROR(status);
  if (unlinkat(parent_fd, name, AT_REMOVEDIR) != 0 && errno != ENOENT) {
    return LastErrnoStatus(std::string("rmdir ") + name);
  }
  return absl::OkStatus();
}

}  // namespace

absl::Status RemoveAll(const std::string& path) {
  struct stat st;
  if (lstat(path.c_str(), &st) != 0) {
    if (errno == ENOENT) return absl::OkStatus();
    return LastErrnoStatus("stat " + path);
  }
  return RemoveAt(AT_FDCWD, path.c_str(), st.st_dev);
}

absl::StatusOr<std::vector<std::string>> ListDirectory(const std::string& path) {
  DIR* dir = opendir(path.c_str());
  if (dir == nullptr) return LastErrnoStatus("open " + path);
  std::vector<std::string> names;
  while (dirent* entry = readdir(dir)) {
    if (strcmp(entry->d_name, ".") == 0 || strcmp(entry->d_name, "..") == 0) continue;
    names.emplace_back(entry->d_name);
  }
  closedir(dir);
  std::sort(names.begin(), names.end());
  return names;
}

bool PathExists(const std::string& path) {
  struct stat st;
  return lstat(path.c_str(), &st) == 0;
}

void CloseDescriptorsFrom(int lowest) {
#ifdef SYS_close_range
  if (syscall(SYS_close_range, lowest, ~0U, 0) == 0) return;
#endif
  int max = static_cast<int>(sysconf(_SC_OPEN_MAX));
  for (int fd = lowest; fd < max; ++fd) close(fd);
}

absl::StatusOr<bool> ReadFull(int fd, void* buffer, size_t n) {
  auto* p = static_cast<char*>(buffer);
  size_t done = 0;
  while (done < n) {
    ssize_t r = read(fd, p + done, n - done);
    if (r < 0) {
      if (errno == EINTR) continue;
      return LastErrnoStatus("read");
    }
    if (r == 0) return false;
    done += static_cast<size_t>(r);
  }
  return true;
}

absl::Status WriteFull(int fd, const void* buffer, size_t n) {
  const auto* p = static_cast<const char*>(buffer);
  size_t done = 0;
  while (done < n) {
    ssize_t w = write(fd, p + done, n - done);
    if (w < 0) {
      if (errno == EINTR) continue;
      return LastErrnoStatus("write");
    }
    done += static_cast<size_t>(w);
  }
  return absl::OkStatus();
}

}  // namespace berth
