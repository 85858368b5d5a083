#include "runtimed/daemon/rootfs.h"

#include <fcntl.h>
#include <linux/openat2.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "absl/strings/str_split.h"
#include "common/status.h"

namespace berth::runtimed {
namespace {

class Fd {
 public:
  explicit Fd(int fd = -1) : fd_(fd) {}
  Fd(Fd&& other) noexcept : fd_(other.fd_) { other.fd_ = -1; }
  Fd& operator=(Fd&& other) noexcept {
    std::swap(fd_, other.fd_);
    return *this;
  }
  ~Fd() {
    if (fd_ >= 0) close(fd_);
  }
  int get() const { return fd_; }

 private:
  int fd_;
};

int OpenInRoot(int root_fd, const std::string& path, uint64_t flags) {
  struct open_how how = {};
  how.flags = flags | O_CLOEXEC;
  how.resolve = RESOLVE_IN_ROOT | RESOLVE_NO_MAGICLINKS;
  std::string relative = path;
  while (!relative.empty() && relative[0] == '/') relative.erase(0, 1);
  if (relative.empty()) relative = ".";
  return static_cast<int>(syscall(SYS_openat2, root_fd, relative.c_str(), &how, sizeof(how)));
}

absl::StatusOr<Fd> OpenRoot(const std::string& root) {
  Fd fd(open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC));
  if (fd.get() < 0) return LastErrnoStatus("open rootfs " + root);
  return fd;
}

}  // namespace

absl::StatusOr<std::optional<std::string>> ReadFileInRoot(const std::string& root,
                                                          const std::string& path) {
  ASSIGN_OR_RETURN(Fd root_fd, OpenRoot(root));
  Fd fd(OpenInRoot(root_fd.get(), path, O_RDONLY));
  if (fd.get() < 0) {
    if (errno == ENOENT || errno == ENOTDIR) return std::optional<std::string>();
    return LastErrnoStatus("open " + path + " in rootfs");
  }
  std::string content;
  char buffer[8192];
  for (;;) {
    ssize_t n = read(fd.get(), buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrnoStatus("read " + path + " in rootfs");
    if (n == 0) break;
    content.append(buffer, static_cast<size_t>(n));
    if (content.size() > (64 << 20)) return absl::InvalidArgumentError(path + " is too large");
  }
  return std::optional<std::string>(std::move(content));
}

absl::Status MakeDirsInRoot(const std::string& root, const std::string& path) {
  ASSIGN_OR_RETURN(Fd root_fd, OpenRoot(root));
  std::string prefix;
  for (absl::string_view part : absl::StrSplit(path, '/', absl::SkipEmpty())) {
    if (part == ".") continue;
    const std::string parent = prefix.empty() ? "/" : prefix;
    prefix += "/" + std::string(part);
    Fd existing(OpenInRoot(root_fd.get(), prefix, O_PATH | O_DIRECTORY));
    if (existing.get() >= 0) continue;
    if (errno != ENOENT) return LastErrnoStatus("mkdir " + path + " in rootfs");
    Fd parent_fd(OpenInRoot(root_fd.get(), parent, O_PATH | O_DIRECTORY));
    if (parent_fd.get() < 0) return LastErrnoStatus("mkdir " + path + " in rootfs");
    if (mkdirat(parent_fd.get(), std::string(part).c_str(), 0755) != 0 && errno != EEXIST) {
      return LastErrnoStatus("mkdir " + path + " in rootfs");
    }
  }
  return absl::OkStatus();
}

}  // namespace berth::runtimed
