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
#include <cstdio>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/status.h"
#include "runtimed/runtime/console.h"
#include "runtimed/runtime/mounts.h"
#include "runtimed/runtime/namespaces.h"
#include "runtimed/runtime/sync.h"

namespace berth::runtime {
namespace {

constexpr char kGo = kSyncGo;
constexpr char kStart = kSyncStart;
constexpr char kReady = kSyncReady;

bool HasCreationHooks(const Spec& spec) {
  return !spec.hooks.prestart.empty() || !spec.hooks.create_runtime.empty() ||
         !spec.hooks.create_container.empty();
}

struct InitArgs {
  const Spec* spec;
  const SeccompFilter* seccomp;
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
  auto creation_hooks = [&]() -> absl::Status {
    if (!HasCreationHooks(spec)) return absl::OkStatus();
    RETURN_IF_ERROR(SendByte(args.sync_fd, kSyncHooks));
    ASSIGN_OR_RETURN(std::optional<std::string> reply, Receive(args.sync_fd));
    if (!reply) return absl::CancelledError("runtime went away");
    if (reply->empty() || (*reply)[0] != kSyncHooks) return DecodeError(*reply);
    return RunHooks(spec.hooks.create_container, reply->substr(1), "createContainer");
  };
  if (new_mount_ns) {
    RETURN_IF_ERROR(SetupRootfs(spec, args.rootfs, creation_hooks));
  } else {
    RETURN_IF_ERROR(creation_hooks());
    if (chroot(args.rootfs.c_str()) != 0 || chdir("/") != 0) {
      return LastErrnoStatus("chroot " + args.rootfs);
    }
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
  ASSIGN_OR_RETURN(std::string executable, PrepareProcess(spec.process, args.seccomp));
  CloseDescriptorsExcept(args.sync_fd);
  RETURN_IF_ERROR(SendByte(args.sync_fd, kReady));
  // kStart, with the state JSON when there are startContainer hooks.
  ASSIGN_OR_RETURN(std::optional<std::string> start, Receive(args.sync_fd));
  if (!start) return absl::CancelledError("runtime went away");
  if (start->empty() || (*start)[0] != kStart) return DecodeError(*start);
  if (start->size() > 1) {
    RETURN_IF_ERROR(RunHooks(spec.hooks.start_container, start->substr(1), "startContainer"));
  }
  // From here the container outlives the runtime.
  prctl(PR_SET_PDEATHSIG, 0, 0, 0, 0);
  return ExecveProcess(spec.process, executable);
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
  absl::Status status;
  if (hooks_.start_container.empty()) {
    status = SendByte(sync_fd_, kStart);
  } else {
    ContainerState state = state_;
    state.status = "created";
    status = SendMessage(sync_fd_, std::string(1, kStart) + StateJson(state));
  }
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
  if (status.ok() && !hooks_.poststart.empty()) {
    ContainerState state = state_;
    state.status = "running";
    // The spec: a failing poststart hook is a warning, the container runs on.
    if (absl::Status hooks = RunHooks(hooks_.poststart, StateJson(state), "poststart");
        !hooks.ok()) {
      fprintf(stderr, "warning: %s\n", std::string(hooks.message()).c_str());
    }
  }
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
  std::unique_ptr<SeccompFilter> seccomp;
  if (spec.seccomp) {
    ASSIGN_OR_RETURN(seccomp, SeccompFilter::Compile(*spec.seccomp, options.seccomp_cache_dir));
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
  InitArgs args{&spec, seccomp.get(), rootfs, options.io, sync[1]};
  // Raw clone: glibc's clone() wants a separate stack, and fork() cannot
  // create the pid namespace for the child itself. A pid namespace joined by
  // path is entered by the parent, for the child to be born in it.
  const Namespace* pid_ns = spec.FindNamespace("pid");
  absl::StatusOr<std::unique_ptr<ChildPidNamespace>> joined_pid =
      ChildPidNamespace::Enter(pid_ns != nullptr ? pid_ns->path : "");
  if (!joined_pid.ok()) {
    close(sync[0]);
    close(sync[1]);
    return fail(0, joined_pid.status());
  }
  long pid = syscall(SYS_clone, CloneFlags(spec) | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) {
    close(sync[0]);
    InitMain(args);
  }
  joined_pid->reset();
  if (pid < 0) {
    absl::Status status = LastErrnoStatus("clone");
    close(sync[0]);
    close(sync[1]);
    return fail(0, status);
  }
  close(sync[1]);
  auto container = std::make_unique<Container>(static_cast<pid_t>(pid), sync[0]);
  if (options.cgroup != nullptr) {
    absl::Status status = options.cgroup->AddProcess(container->pid());
    if (!status.ok()) return fail(container->pid(), status);
  }
  ContainerState state{options.id, "creating", container->pid(), options.bundle, spec.annotations};
  container->set_lifecycle(spec.hooks, state);
  absl::Status status = SendByte(sync[0], kGo);
  while (status.ok()) {
    absl::StatusOr<std::optional<std::string>> message = Receive(sync[0]);
    if (!message.ok()) {
      status = message.status();
    } else if (!message->has_value()) {
      status = absl::InternalError("container init exited during setup");
    } else if (**message == std::string(1, kSyncHooks)) {
      // In the runtime's namespaces, once the container's exist.
      const std::string json = StateJson(state);
      status = RunHooks(spec.hooks.prestart, json, "prestart");
      if (status.ok()) status = RunHooks(spec.hooks.create_runtime, json, "createRuntime");
      if (status.ok()) status = SendMessage(sync[0], std::string(1, kSyncHooks) + json);
      continue;
    } else if (**message != std::string(1, kReady)) {
      status = DecodeError(**message);
    }
    break;
  }
  if (!status.ok()) return fail(container->pid(), status);
  return container;
}

}  // namespace berth::runtime
