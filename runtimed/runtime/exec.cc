#include "runtimed/runtime/exec.h"

#include <fcntl.h>
#include <linux/nsfs.h>
#include <sched.h>
#include <signal.h>
#include <sys/ioctl.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <string>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/status.h"
#include "runtimed/runtime/console.h"
#include "runtimed/runtime/namespaces.h"
#include "runtimed/runtime/sync.h"

namespace berth::runtime {
namespace {

struct NamespaceFd {
  const char* name;
  int flag;
  int fd = -1;
};

// The user namespace first: the others belong to it. The mount namespace
// last, as it takes /proc away. The pid namespace is joined by the parent
// (it only applies to children).
std::vector<NamespaceFd> NamespaceOrder() {
  return {{"user", CLONE_NEWUSER}, {"ipc", CLONE_NEWIPC},       {"uts", CLONE_NEWUTS},
          {"net", CLONE_NEWNET},   {"cgroup", CLONE_NEWCGROUP}, {"time", kCloneNewTime},
          {"mnt", CLONE_NEWNS}};
}

bool SameFile(const std::string& a, const std::string& b) {
  struct stat sa, sb;
  if (stat(a.c_str(), &sa) != 0 || stat(b.c_str(), &sb) != 0) return false;
  return sa.st_dev == sb.st_dev && sa.st_ino == sb.st_ino;
}

// Opens the init's namespaces that differ from ours (setns into our own user
// namespace is EINVAL, and joining the others we share is pointless).
absl::StatusOr<std::vector<NamespaceFd>> OpenNamespaces(pid_t pid) {
  std::vector<NamespaceFd> result;
  for (NamespaceFd ns : NamespaceOrder()) {
    std::string path = absl::StrCat("/proc/", pid, "/ns/", ns.name);
    if (SameFile(path, absl::StrCat("/proc/self/ns/", ns.name))) continue;
    ns.fd = open(path.c_str(), O_RDONLY | O_CLOEXEC);
    // Kernels before 5.6 have no time namespace.
    if (ns.fd < 0 && errno == ENOENT && ns.flag == kCloneNewTime) continue;
    if (ns.fd < 0) {
      absl::Status status = LastErrnoStatus("open " + path);
      for (NamespaceFd& opened : result) close(opened.fd);
      return status;
    }
    result.push_back(ns);
  }
  return result;
}

struct ChildArgs {
  const Process* process;
  const SeccompFilter* seccomp;
  const ExecOptions* options;
  const std::vector<NamespaceFd>* namespaces;
  int root_fd;
  int sync_fd;
};

// Whether the user namespace `user_fd` owns the namespace `ns_fd`.
bool OwnedBy(int ns_fd, int user_fd) {
  int owner = ioctl(ns_fd, NS_GET_USERNS);
  // Without the ioctl, assume the usual case.
  if (owner < 0) return true;
  struct stat a, b;
  bool same = fstat(owner, &a) == 0 && fstat(user_fd, &b) == 0 && a.st_dev == b.st_dev &&
              a.st_ino == b.st_ino;
  close(owner);
  return same;
}

absl::Status RunChild(const ChildArgs& args) {
  ResetSignals();
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return LastErrnoStatus("PR_SET_PDEATHSIG");
  RETURN_IF_ERROR(WaitFor(args.sync_fd, kSyncGo));
  // A namespace the container's user namespace does not own (a network
  // namespace made beforehand by the engine, as under userns-remap) is
  // joined first: once in the user namespace, the process has no privilege
  // over namespaces of the host's.
  int user_fd = -1;
  for (const NamespaceFd& ns : *args.namespaces) {
    if (ns.flag == CLONE_NEWUSER) user_fd = ns.fd;
  }
  std::vector<bool> joined(args.namespaces->size(), false);
  for (int pass = 0; pass < 2; ++pass) {
    for (size_t i = 0; i < args.namespaces->size(); ++i) {
      const NamespaceFd& ns = (*args.namespaces)[i];
      if (joined[i]) continue;
      if (pass == 0 && (user_fd < 0 || ns.flag == CLONE_NEWUSER || OwnedBy(ns.fd, user_fd))) {
        continue;
      }
      if (setns(ns.fd, ns.flag) != 0) {
        return LastErrnoStatus(absl::StrCat("join the container's ", ns.name, " namespace"));
      }
      joined[i] = true;
    }
  }
  // The init's root, not the mount namespace's: they differ when the init
  // only chrooted.
  if (fchdir(args.root_fd) != 0 || chroot(".") != 0 || chdir("/") != 0) {
    return LastErrnoStatus("enter the container's root");
  }
  const ContainerIo& io = args.options->io;
  if (io.terminal) {
    RETURN_IF_ERROR(SetupConsole(io.console_socket, /*mount_console=*/false));
    if (args.options->rows > 0 && args.options->cols > 0) {
      winsize size = {};
      size.ws_row = args.options->rows;
      size.ws_col = args.options->cols;
      if (ioctl(0, TIOCSWINSZ, &size) != 0) return LastErrnoStatus("set the terminal size");
    }
  } else {
    RETURN_IF_ERROR(SetupStdio(io));
  }
  ASSIGN_OR_RETURN(std::string executable,
                   PrepareProcess(*args.process, args.seccomp, /*create_cwd=*/false));
  CloseDescriptorsExcept(args.sync_fd);
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  return ExecveProcess(*args.process, executable);
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

// Forks with pid_for_children set to the init's pid namespace, so that the
// child is born in it (no double fork), then restores ours.
absl::StatusOr<pid_t> ForkInPidNamespace(pid_t init_pid) {
  std::string target = absl::StrCat("/proc/", init_pid, "/ns/pid");
  int own = -1, theirs = -1;
  if (!SameFile(target, "/proc/self/ns/pid")) {
    own = open("/proc/self/ns/pid", O_RDONLY | O_CLOEXEC);
    if (own < 0) return LastErrnoStatus("open /proc/self/ns/pid");
    theirs = open(target.c_str(), O_RDONLY | O_CLOEXEC);
    if (theirs < 0 || setns(theirs, CLONE_NEWPID) != 0) {
      absl::Status status = LastErrnoStatus("join the container's pid namespace");
      close(own);
      if (theirs >= 0) close(theirs);
      return status;
    }
    close(theirs);
  }
  pid_t pid = fork();
  int err = errno;
  if (pid == 0) {
    if (own >= 0) close(own);
    return 0;
  }
  if (own >= 0) {
    // Cannot fail: our own active namespace is always allowed. If it did,
    // every later child would be born in the container.
    if (setns(own, CLONE_NEWPID) != 0) abort();
    close(own);
  }
  if (pid < 0) return ErrnoStatus(err, "fork");
  return pid;
}

}  // namespace

absl::StatusOr<pid_t> ExecInContainer(const Process& process, const ExecOptions& options) {
  if (options.init_pid <= 0) return absl::InvalidArgumentError("no container process to join");
  if (process.args.empty()) return absl::InvalidArgumentError("process.args must not be empty");
  if (options.io.terminal && options.io.console_socket < 0) {
    return absl::InvalidArgumentError("a terminal needs a console socket");
  }
  if (kill(options.init_pid, 0) != 0 && errno == ESRCH) {
    return absl::FailedPreconditionError("container is not running");
  }
  std::unique_ptr<SeccompFilter> seccomp;
  if (options.seccomp != nullptr) {
    ASSIGN_OR_RETURN(seccomp, SeccompFilter::Compile(*options.seccomp, options.seccomp_cache_dir));
  }
  ASSIGN_OR_RETURN(std::vector<NamespaceFd> namespaces, OpenNamespaces(options.init_pid));
  int root_fd = -1, sync[2] = {-1, -1};
  auto cleanup = [&]() {
    for (NamespaceFd& ns : namespaces) close(ns.fd);
    if (root_fd >= 0) close(root_fd);
    if (sync[0] >= 0) close(sync[0]);
    if (sync[1] >= 0) close(sync[1]);
  };
  std::string root = absl::StrCat("/proc/", options.init_pid, "/root");
  root_fd = open(root.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
  if (root_fd < 0) {
    absl::Status status = LastErrnoStatus("open " + root);
    cleanup();
    return status;
  }
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) != 0) {
    absl::Status status = LastErrnoStatus("socketpair");
    cleanup();
    return status;
  }
  absl::StatusOr<pid_t> forked = ForkInPidNamespace(options.init_pid);
  if (!forked.ok()) {
    cleanup();
    return forked.status();
  }
  if (*forked == 0) {
    close(sync[0]);
    ChildArgs args{&process, seccomp.get(), &options, &namespaces, root_fd, sync[1]};
    absl::Status status = RunChild(args);
    SendError(sync[1], status);
    _exit(127);
  }
  pid_t pid = *forked;
  close(sync[1]);
  sync[1] = -1;
  absl::Status status;
  if (options.cgroup != nullptr) status = options.cgroup->AddProcess(pid);
  if (status.ok()) status = SendByte(sync[0], kSyncGo);
  if (status.ok()) {
    // The socket is close-on-exec: EOF means the exec succeeded.
    absl::StatusOr<std::optional<std::string>> message = Receive(sync[0]);
    if (!message.ok()) {
      status = message.status();
    } else if (message->has_value()) {
      status = DecodeError(**message);
    }
  }
  cleanup();
  if (!status.ok()) {
    KillAndReap(pid);
    return status;
  }
  return pid;
}

}  // namespace berth::runtime
