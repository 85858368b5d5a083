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
#include <cstring>
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
  const std::vector<int>* idmapped;
  // The namespaces named by path were joined before the init was cloned.
  bool joined = false;
  // CgroupManager::OpenSelfJoin's files: the init joins its cgroup itself.
  std::vector<UniqueFd>* cgroup_join = nullptr;
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
  // Before the cgroup namespace is unshared, whose root is the cgroup.
  if (args.cgroup_join != nullptr) RETURN_IF_ERROR(JoinSelf(args.cgroup_join));
  if (!args.joined) RETURN_IF_ERROR(JoinNamespaces(spec));
  RETURN_IF_ERROR(BecomeNamespaceRoot(spec));
  RETURN_IF_ERROR(UnshareCgroupNamespace(spec));
  RETURN_IF_ERROR(UnshareTimeNamespace(spec));
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
    RETURN_IF_ERROR(SetupRootfs(spec, args.rootfs, creation_hooks, *args.idmapped));
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
  if (!spec.domainname.empty() &&
      setdomainname(spec.domainname.data(), spec.domainname.size()) != 0) {
    return LastErrnoStatus("setdomainname " + spec.domainname);
  }
  RETURN_IF_ERROR(ApplySysctls(spec.sysctl));
  RETURN_IF_ERROR(FinalizeRootfs(spec));
  // The runtime set the OOM score from outside: the init may have no /proc
  // (root.path "." without mounts), or may not own its /proc entries in a
  // user namespace.
  Process process = spec.process;
  process.oom_score_adj.reset();
  ASSIGN_OR_RETURN(std::string executable, PrepareProcess(process, args.seccomp));
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

// Clones the init from the caller's namespaces, entering the pid namespace
// joined by path (if any) for the init to be born in it.
absl::StatusOr<pid_t> CloneInit(const Spec& spec, const InitArgs& args, int runtime_end) {
  const Namespace* pid_ns = spec.FindNamespace("pid");
  ASSIGN_OR_RETURN(std::unique_ptr<ChildPidNamespace> joined_pid,
                   ChildPidNamespace::Enter(pid_ns != nullptr ? pid_ns->path : ""));
  // Raw clone: glibc's clone() wants a separate stack, and fork() cannot
  // create the pid namespace for the child itself.
  long pid = syscall(SYS_clone, CloneFlags(spec) | SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (pid == 0) {
    close(runtime_end);
    InitMain(args);
  }
  if (pid < 0) return LastErrnoStatus("clone");
  return static_cast<pid_t>(pid);
}

// For NeedsJoinBeforeClone: a short-lived joiner enters the namespaces named
// by path (it may: it is still the host's root), then clones the init with
// CLONE_PARENT, so that the init is the caller's child and its new
// namespaces belong to the joined user namespace. The joiner reports the
// init's pid, or its error, over a pipe and exits.
absl::StatusOr<pid_t> CloneInitThroughJoiner(const Spec& spec, const InitArgs& args,
                                             int runtime_end) {
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return LastErrnoStatus("pipe");
  long joiner = syscall(SYS_clone, SIGCHLD, nullptr, nullptr, nullptr, nullptr);
  if (joiner == 0) {
    close(report[0]);
    close(runtime_end);
    int32_t result = 0;
    absl::Status status = JoinNamespaces(spec);
    std::unique_ptr<ChildPidNamespace> pid_ns;
    if (status.ok()) {
      const Namespace* ns = spec.FindNamespace("pid");
      absl::StatusOr<std::unique_ptr<ChildPidNamespace>> entered =
          ChildPidNamespace::Enter(ns != nullptr ? ns->path : "");
      if (entered.ok()) pid_ns = std::move(*entered);
      status = entered.status();
    }
    if (status.ok()) {
      long pid = syscall(SYS_clone, CLONE_PARENT | CloneFlags(spec) | SIGCHLD, nullptr, nullptr,
                         nullptr, nullptr);
      if (pid == 0) {
        close(report[1]);
        InitMain(args);
      }
      if (pid < 0) status = LastErrnoStatus("clone");
      result = static_cast<int32_t>(pid);
    }
    std::string message(reinterpret_cast<const char*>(&result), sizeof(result));
    if (!status.ok()) {
      message.push_back(static_cast<char>(status.code()));
      message.append(status.message().data(), status.message().size());
    }
    WriteFull(report[1], message.data(), message.size()).IgnoreError();
    _exit(0);
  }
  close(report[1]);
  if (joiner < 0) {
    absl::Status status = LastErrnoStatus("clone");
    close(report[0]);
    return status;
  }
  std::string message;
  char buffer[4096];
  ssize_t n;
  while ((n = read(report[0], buffer, sizeof(buffer))) != 0) {
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) break;
    message.append(buffer, static_cast<size_t>(n));
  }
  close(report[0]);
  while (waitpid(static_cast<pid_t>(joiner), nullptr, 0) < 0 && errno == EINTR) {
  }
  if (message.size() < sizeof(int32_t)) {
    return absl::InternalError("the namespace joiner died before cloning the init");
  }
  int32_t pid;
  memcpy(&pid, message.data(), sizeof(pid));
  if (pid > 0) return static_cast<pid_t>(pid);
  if (message.size() <= sizeof(int32_t)) return absl::InternalError("namespace joiner failed");
  auto code = static_cast<absl::StatusCode>(static_cast<unsigned char>(message[sizeof(int32_t)]));
  return absl::Status(code, message.substr(sizeof(int32_t) + 1));
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
  absl::StatusOr<std::unique_ptr<IdmappedMounts>> idmapped = IdmappedMounts::Prepare(spec);
  if (!idmapped.ok()) {
    close(sync[0]);
    close(sync[1]);
    return fail(0, idmapped.status());
  }
  std::vector<UniqueFd> cgroup_join;
  if (options.cgroup != nullptr) {
    absl::StatusOr<std::vector<UniqueFd>> files = options.cgroup->OpenSelfJoin();
    if (!files.ok()) {
      close(sync[0]);
      close(sync[1]);
      return fail(0, files.status());
    }
    cgroup_join = *std::move(files);
  }
  InitArgs args{&spec,
                seccomp.get(),
                rootfs,
                options.io,
                sync[1],
                &(*idmapped)->fds(),
                NeedsJoinBeforeClone(spec),
                cgroup_join.empty() ? nullptr : &cgroup_join};
  absl::StatusOr<pid_t> pid =
      args.joined ? CloneInitThroughJoiner(spec, args, sync[0]) : CloneInit(spec, args, sync[0]);
  if (!pid.ok()) {
    close(sync[0]);
    close(sync[1]);
    return fail(0, pid.status());
  }
  close(sync[1]);
  auto container = std::make_unique<Container>(*pid, sync[0]);
  // The init joins after kGo, before it runs anything of the container's.
  const bool init_joins = !cgroup_join.empty();
  cgroup_join.clear();
  if (options.cgroup != nullptr && !init_joins) {
    absl::Status status = options.cgroup->AddProcess(container->pid());
    if (!status.ok()) return fail(container->pid(), status);
  }
  if (absl::Status status = WriteIdMappings(container->pid(), spec); !status.ok()) {
    return fail(container->pid(), status);
  }
  if (spec.process.oom_score_adj) {
    absl::Status status = SetOomScoreAdj(*spec.process.oom_score_adj, container->pid());
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
