#include "runtimed/runtime/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cerrno>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/status.h"

namespace berth::runtime {
namespace {

constexpr char kDefaultPath[] = "/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin";

// 0 when `path` is an executable regular file, else the errno Go reports.
int CheckExecutable(const std::string& path) {
  struct stat st;
  if (stat(path.c_str(), &st) != 0) return errno;
  if (S_ISDIR(st.st_mode)) return EISDIR;
  if (!S_ISREG(st.st_mode) || faccessat(AT_FDCWD, path.c_str(), X_OK, AT_EACCESS) != 0) {
    return EACCES;
  }
  return 0;
}

absl::Status ExecError(const std::string& file, int err, const std::string& path) {
  std::string prefix = absl::StrCat("exec: \"", file, "\": ");
  switch (err) {
    case ENOENT:
    case ENOTDIR:
      return absl::NotFoundError(
          absl::StrCat(prefix, "stat ", path, ": no such file or directory"));
    case EISDIR:
      return absl::PermissionDeniedError(prefix + "is a directory");
    case EACCES:
    case EPERM:
      return absl::PermissionDeniedError(prefix + "permission denied");
    default:
      return ErrnoStatus(err, prefix + "stat " + path);
  }
}

int DupAbove2(int fd) {
  if (fd < 0) fd = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (fd < 0) return -1;
  return fcntl(fd, F_DUPFD_CLOEXEC, 3);
}

}  // namespace

absl::StatusOr<std::string> LookPath(const std::string& file, const std::vector<std::string>& env) {
  if (file.empty()) return absl::NotFoundError("exec: \"\": executable file not found in $PATH");
  if (file.find('/') != std::string::npos) {
    int err = CheckExecutable(file);
    if (err != 0) return ExecError(file, err, file);
    return file;
  }
  std::string path_var = kDefaultPath;
  for (const std::string& entry : env) {
    if (entry.rfind("PATH=", 0) == 0) path_var = entry.substr(5);
  }
  for (absl::string_view dir : absl::StrSplit(path_var, ':')) {
    // Like Go: an empty element means the current directory.
    std::string candidate = absl::StrCat(dir.empty() ? "." : dir, "/", file);
    if (CheckExecutable(candidate) == 0) return candidate;
  }
  return absl::NotFoundError(
      absl::StrCat("exec: \"", file, "\": executable file not found in $PATH"));
}

absl::Status SetupStdio(const ContainerIo& io) {
  // Move everything above 2 first so that one target can't clobber a source.
  int fds[3] = {DupAbove2(io.stdin_fd), DupAbove2(io.stdout_fd), DupAbove2(io.stderr_fd)};
  for (int i = 0; i < 3; ++i) {
    if (fds[i] < 0) return LastErrnoStatus("dup stdio");
  }
  for (int i = 0; i < 3; ++i) {
    if (dup2(fds[i], i) != i) return LastErrnoStatus("dup2 stdio");
    close(fds[i]);
  }
  if (setsid() < 0) return LastErrnoStatus("setsid");
  if (io.terminal && ioctl(0, TIOCSCTTY, 0) != 0) {
    return LastErrnoStatus("set the controlling terminal");
  }
  return absl::OkStatus();
}

absl::Status ApplyRlimits(const std::vector<Rlimit>& rlimits) {
  for (const Rlimit& limit : rlimits) {
    struct rlimit value = {limit.soft, limit.hard};
    if (setrlimit(limit.resource, &value) == 0) continue;
    if (errno != EPERM) return LastErrnoStatus("setrlimit " + limit.type);
    struct rlimit current;
    if (getrlimit(limit.resource, &current) != 0) return LastErrnoStatus("getrlimit " + limit.type);
    value.rlim_max = std::min<rlim_t>(value.rlim_max, current.rlim_max);
    value.rlim_cur = std::min<rlim_t>(value.rlim_cur, value.rlim_max);
    if (setrlimit(limit.resource, &value) != 0) return LastErrnoStatus("setrlimit " + limit.type);
  }
  return absl::OkStatus();
}

absl::Status SetOomScoreAdj(int value) {
  int fd = open("/proc/self/oom_score_adj", O_WRONLY | O_CLOEXEC);
  if (fd < 0) return LastErrnoStatus("open /proc/self/oom_score_adj");
  std::string text = std::to_string(value);
  absl::Status status = WriteFull(fd, text.data(), text.size());
  close(fd);
  return Annotate(status, "set oom_score_adj");
}

absl::Status ApplySysctls(const std::map<std::string, std::string>& sysctl) {
  for (const auto& [key, value] : sysctl) {
    std::string path = "/proc/sys/" + absl::StrReplaceAll(key, {{".", "/"}});
    int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
    if (fd < 0) return LastErrnoStatus("sysctl " + key);
    absl::Status status = WriteFull(fd, value.data(), value.size());
    close(fd);
    RETURN_IF_ERROR(Annotate(status, "sysctl " + key));
  }
  return absl::OkStatus();
}

void CloseDescriptorsExcept(int keep) {
  if (keep < 3) {
    CloseDescriptorsFrom(3);
    return;
  }
#ifdef SYS_close_range
  if (syscall(SYS_close_range, 3, keep - 1, 0) == 0 &&
      syscall(SYS_close_range, keep + 1, ~0U, 0) == 0) {
    return;
  }
#endif
  int max = static_cast<int>(sysconf(_SC_OPEN_MAX));
  for (int fd = 3; fd < max; ++fd) {
    if (fd != keep) close(fd);
  }
}

void ResetSignals() {
  struct sigaction action = {};
  action.sa_handler = SIG_DFL;
  for (int sig = 1; sig < NSIG; ++sig) sigaction(sig, &action, nullptr);
  sigset_t empty;
  sigemptyset(&empty);
  sigprocmask(SIG_SETMASK, &empty, nullptr);
}

}  // namespace berth::runtime
