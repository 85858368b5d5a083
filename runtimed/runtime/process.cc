#include "runtimed/runtime/process.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <cctype>
#include <cerrno>
#include <cstring>

#include "absl/strings/str_cat.h"
#include "absl/strings/str_replace.h"
#include "absl/strings/str_split.h"
#include "common/fs.h"
#include "common/status.h"
#include "runtimed/runtime/capabilities.h"

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

absl::Status SetOomScoreAdj(int value, pid_t pid) {
  std::string path =
      pid == 0 ? "/proc/self/oom_score_adj" : absl::StrCat("/proc/", pid, "/oom_score_adj");
  int fd = open(path.c_str(), O_WRONLY | O_CLOEXEC);
  if (fd < 0) return LastErrnoStatus("open " + path);
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

absl::StatusOr<std::string> PrepareProcess(const Process& process, const SeccompFilter* seccomp,
                                           bool create_cwd) {
  // Without no_new_privs, installing a filter takes CAP_SYS_ADMIN, so it
  // goes in while the process still has it (as runc does); the steps below
  // then run under it, which Docker's profile allows.
  if (seccomp != nullptr && !process.no_new_privileges) RETURN_IF_ERROR(seccomp->Load());
  if (process.oom_score_adj) RETURN_IF_ERROR(SetOomScoreAdj(*process.oom_score_adj));
  RETURN_IF_ERROR(ApplyRlimits(process.rlimits));
  umask(process.user.umask.value_or(022));
  // A missing working directory is created, as runc does; one the user
  // cannot enter is retried after the switch (root squash on NFS etc.).
  bool cwd_done = (!create_cwd || MakeDirs(process.cwd).ok()) && chdir(process.cwd.c_str()) == 0;
  const std::optional<Capabilities>& caps = process.capabilities;
  if (caps) RETURN_IF_ERROR(DropBoundingSet(*caps));
  RETURN_IF_ERROR(SwitchUser(process.user, caps.has_value()));
  if (caps) RETURN_IF_ERROR(ApplyCapabilities(*caps));
  if (!cwd_done && chdir(process.cwd.c_str()) != 0) {
    // runc's words, with Go's lowercase errno text (Docker matches on them).
    int err = errno;
    std::string text = strerror(err);
    if (!text.empty()) text[0] = static_cast<char>(tolower(text[0]));
    return absl::Status(ErrnoStatus(err, "").code(), "chdir to cwd (\"" + process.cwd +
                                                         "\") set in config.json failed: " + text);
  }
  ASSIGN_OR_RETURN(std::string executable, LookPath(process.args[0], process.env));
  if (process.no_new_privileges) {
    if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
      return LastErrnoStatus("prctl(PR_SET_NO_NEW_PRIVS)");
    }
    // As late as possible: fewer of our own syscalls run under the filter.
    if (seccomp != nullptr) RETURN_IF_ERROR(seccomp->Load());
  }
  return executable;
}

absl::Status ExecveProcess(const Process& process, const std::string& executable) {
  std::vector<char*> argv, envp;
  for (const std::string& arg : process.args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  for (const std::string& var : process.env) envp.push_back(const_cast<char*>(var.c_str()));
  envp.push_back(nullptr);
  execve(executable.c_str(), argv.data(), envp.data());
  int err = errno;
  if (err == EACCES || err == EPERM) {
    return absl::PermissionDeniedError(
        absl::StrCat("exec: \"", process.args[0], "\": permission denied"));
  }
  return ErrnoStatus(err, absl::StrCat("exec: \"", process.args[0], "\""));
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
