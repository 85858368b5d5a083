#include "runtimed/runtime/container.h"

#include <fcntl.h>
#include <sched.h>
#include <signal.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/status.h"
#include "runtimed/runtime/capabilities.h"
#include "runtimed/runtime/console.h"
#include "runtimed/runtime/mounts.h"
#include "runtimed/runtime/namespaces.h"

namespace berth::runtime {
namespace {

// Messages on the sync socket (SOCK_SEQPACKET: one message per send).
// parent -> child: kGo once the child is in its cgroup, kStart to exec.
// child -> parent: kReady once set up, or kError + code + message.
constexpr char kGo = 'G';
constexpr char kStart = 'S';
constexpr char kReady = 'R';
constexpr char kError = 'E';

absl::Status SendByte(int fd, char byte) {
  if (send(fd, &byte, 1, MSG_NOSIGNAL) != 1) return LastErrnoStatus("sync socket send");
  return absl::OkStatus();
}

void SendError(int fd, const absl::Status& status) {
  std::string message(1, kError);
  message.push_back(static_cast<char>(status.code()));
  message.append(status.message().data(), status.message().size());
  send(fd, message.data(), message.size(), MSG_NOSIGNAL);
}

// The next message: nullopt on EOF (the peer closed or exec'd).
absl::StatusOr<std::optional<std::string>> Receive(int fd) {
  char buffer[8192];
  while (true) {
    ssize_t n = recv(fd, buffer, sizeof(buffer), 0);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrnoStatus("sync socket receive");
    if (n == 0) return std::optional<std::string>();
    return std::optional<std::string>(std::string(buffer, static_cast<size_t>(n)));
  }
}

absl::Status DecodeError(const std::string& message) {
  if (message.size() < 2 || message[0] != kError) {
    return absl::InternalError("container init sent an unexpected message");
  }
  auto code = static_cast<absl::StatusCode>(static_cast<unsigned char>(message[1]));
  return absl::Status(code, message.substr(2));
}

absl::Status WaitFor(int fd, char expected) {
  ASSIGN_OR_RETURN(std::optional<std::string> message, Receive(fd));
  if (!message) return absl::CancelledError("runtime went away");
  if (*message != std::string(1, expected)) return DecodeError(*message);
  return absl::OkStatus();
}

struct InitArgs {
  const Spec* spec;
  std::string rootfs;
  ContainerIo io;
  int sync_fd;
};

// Everything the init does before exec; returns only on error.
absl::Status RunInit(const InitArgs& args) {
  const Spec& spec = *args.spec;
  ResetSignals();
  // Until exec, the init must not outlive whoever is creating it.
  // (A parent that died before this point shows as EOF on the sync socket;
  // getppid() cannot tell, it is 0 in a new pid namespace.)
  if (prctl(PR_SET_PDEATHSIG, SIGKILL, 0, 0, 0) != 0) return LastErrnoStatus("PR_SET_PDEATHSIG");
  RETURN_IF_ERROR(WaitFor(args.sync_fd, kGo));
  RETURN_IF_ERROR(JoinNamespaces(spec));
  RETURN_IF_ERROR(UnshareCgroupNamespace(spec));
  if (!args.io.terminal) RETURN_IF_ERROR(SetupStdio(args.io));
  bool new_mount_ns = spec.FindNamespace("mount") != nullptr;
  if (new_mount_ns) {
    RETURN_IF_ERROR(SetupRootfs(spec, args.rootfs));
  } else if (chroot(args.rootfs.c_str()) != 0 || chdir("/") != 0) {
    return LastErrnoStatus("chroot " + args.rootfs);
  }
  // Only now is /dev/ptmx the container's own devpts instance; and before
  // FinalizeRootfs, which may make /dev read-only.
  if (args.io.terminal) {
    RETURN_IF_ERROR(SetupConsole(args.io.console_socket, new_mount_ns && !BindsHostDev(spec)));
  }
  if (!spec.hostname.empty() && sethostname(spec.hostname.data(), spec.hostname.size()) != 0) {
    return LastErrnoStatus("sethostname " + spec.hostname);
  }
  RETURN_IF_ERROR(ApplySysctls(spec.sysctl));
  RETURN_IF_ERROR(FinalizeRootfs(spec));
  if (spec.process.oom_score_adj) RETURN_IF_ERROR(SetOomScoreAdj(*spec.process.oom_score_adj));
  RETURN_IF_ERROR(ApplyRlimits(spec.process.rlimits));
  umask(spec.process.user.umask.value_or(022));
  // A missing working directory is created, as runc does; one the user
  // cannot enter is retried after the switch (root squash on NFS etc.).
  bool cwd_done = MakeDirs(spec.process.cwd).ok() && chdir(spec.process.cwd.c_str()) == 0;
  const std::optional<Capabilities>& caps = spec.process.capabilities;
  if (caps) RETURN_IF_ERROR(DropBoundingSet(*caps));
  RETURN_IF_ERROR(SwitchUser(spec.process.user, caps.has_value()));
  if (caps) RETURN_IF_ERROR(ApplyCapabilities(*caps));
  if (!cwd_done && chdir(spec.process.cwd.c_str()) != 0) {
    return LastErrnoStatus("chdir to cwd (\"" + spec.process.cwd + "\") set in config.json");
  }
  ASSIGN_OR_RETURN(std::string executable, LookPath(spec.process.args[0], spec.process.env));
  if (spec.process.no_new_privileges && prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) != 0) {
    return LastErrnoStatus("prctl(PR_SET_NO_NEW_PRIVS)");
  }
  CloseDescriptorsExcept(args.sync_fd);

  std::vector<char*> argv, envp;
  for (const std::string& arg : spec.process.args) argv.push_back(const_cast<char*>(arg.c_str()));
  argv.push_back(nullptr);
  for (const std::string& var : spec.process.env) envp.push_back(const_cast<char*>(var.c_str()));
  envp.push_back(nullptr);

  RETURN_IF_ERROR(SendByte(args.sync_fd, kReady));
  RETURN_IF_ERROR(WaitFor(args.sync_fd, kStart));
  // From here the container outlives the runtime.
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  execve(executable.c_str(), argv.data(), envp.data());
  int err = errno;
  if (err == EACCES || err == EPERM) {
    return absl::PermissionDeniedError(
        absl::StrCat("exec: \"", spec.process.args[0], "\": permission denied"));
  }
  return ErrnoStatus(err, absl::StrCat("exec: \"", spec.process.args[0], "\""));
}

[[noreturn]] void InitMain(const InitArgs& args) {
  absl::Status status = RunInit(args);
  SendError(args.sync_fd, status);
  _exit(127);
}

std::string RootfsPath(const Spec& spec, const std::string& bundle) {
  if (!spec.root_path.empty() && spec.root_path[0] == '/') return spec.root_path;
  return bundle + "/" + spec.root_path;
}

void KillAndReap(pid_t pid) {
  kill(pid, SIGKILL);
  while (waitpid(pid, nullptr, 0) < 0 && errno == EINTR) {
  }
}

}  // namespace

Container::~Container() {
  if (sync_fd_ >= 0) close(sync_fd_);
}

absl::Status Container::Start() {
  if (sync_fd_ < 0) return absl::FailedPreconditionError("container already started");
  absl::Status status = SendByte(sync_fd_, kStart);
  if (status.ok()) {
    // The socket is close-on-exec: EOF means the exec succeeded.
    absl::StatusOr<std::optional<std::string>> message = Receive(sync_fd_);
    if (!message.ok()) {
      status = message.status();
    } else if (message->has_value()) {
      status = DecodeError(**message);
    }
  }
  close(sync_fd_);
  sync_fd_ = -1;
  return status;
}

absl::StatusOr<std::unique_ptr<Container>> CreateContainer(const Spec& spec,
                                                           const CreateOptions& options) {
  std::string rootfs = RootfsPath(spec, options.bundle);
  struct stat st;
  if (stat(rootfs.c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) {
    return absl::InvalidArgumentError(
        absl::StrCat("rootfs (\"", rootfs, "\") does not exist or is not a directory"));
  }
  if (options.io.terminal && options.io.console_socket < 0) {
    return absl::InvalidArgumentError("a terminal needs a console socket");
  }
  if (options.cgroup != nullptr) RETURN_IF_ERROR(options.cgroup->Create(spec.resources));
  auto fail = [&](pid_t pid, absl::Status status) {
    if (pid > 0) KillAndReap(pid);
    if (options.cgroup != nullptr) options.cgroup->Destroy().IgnoreError();
    return status;
  };

  int sync[2];
  if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sync) != 0) {
    return fail(0, LastErrnoStatus("socketpair"));
  }
  InitArgs args{&spec, rootfs, options.io, sync[1]};
  // Raw clone: glibc's clone() wants a separate stack, and fork() cannot
  // create the pid namespace for the child itself.
  long pid = syscall(SYS_clone, CloneFlags(spec) | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid < 0) {
    absl::Status status = LastErrnoStatus("clone");
    close(sync[0]);
    close(sync[1]);
    return fail(0, status);
  }
  if (pid == 0) {
    close(sync[0]);
    InitMain(args);
  }
  close(sync[1]);
  auto container = std::make_unique<Container>(static_cast<pid_t>(pid), sync[0]);
  if (options.cgroup != nullptr) {
    absl::Status status = options.cgroup->AddProcess(container->pid());
    if (!status.ok()) return fail(container->pid(), status);
  }
  absl::Status status = SendByte(sync[0], kGo);
  if (status.ok()) {
    absl::StatusOr<std::optional<std::string>> message = Receive(sync[0]);
    if (!message.ok()) {
      status = message.status();
    } else if (!message->has_value()) {
      status = absl::InternalError("container init exited during setup");
    } else if (**message != std::string(1, kReady)) {
      status = DecodeError(**message);
    }
  }
  if (!status.ok()) return fail(container->pid(), status);
  return container;
}

}  // namespace berth::runtime
