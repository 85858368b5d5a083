#include "cli/supervisor.h"

#include <fcntl.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cstdio>
#include <cstring>
#include <thread>

#include "common/fs.h"
#include "common/log.h"
#include "common/privileges.h"
#include "common/status.h"

namespace berth::cli {
namespace {

using Clock = std::chrono::steady_clock;

// A daemon that keeps dying within this long after its start is restarted
// with a growing delay instead of in a tight loop.
constexpr auto kStableAfter = std::chrono::seconds(10);
constexpr auto kMaxBackoff = std::chrono::milliseconds(5000);
constexpr auto kStopTimeout = std::chrono::seconds(10);
constexpr auto kReadyTimeout = std::chrono::seconds(15);

absl::Status ChownPath(const std::string& path, uid_t uid, gid_t gid, mode_t mode) {
  if (chown(path.c_str(), uid, gid) != 0) return LastErrnoStatus("chown " + path);
  if (chmod(path.c_str(), mode) != 0) return LastErrnoStatus("chmod " + path);
  return absl::OkStatus();
}

absl::StatusOr<int> BindUnixListener(const std::string& path, gid_t group) {
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  if (path.size() >= sizeof(address.sun_path)) {
    return absl::InvalidArgumentError("socket path too long: " + path);
  }
  std::memcpy(address.sun_path, path.c_str(), path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return LastErrnoStatus("socket");
  unlink(path.c_str());
  // Bind with a umask that leaves no moment when the socket is world-writable.
  mode_t old_umask = umask(0177);
  int rc = bind(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address));
  umask(old_umask);
  if (rc != 0 || listen(fd, 512) != 0) {
    absl::Status status = LastErrnoStatus("bind " + path);
    close(fd);
    return status;
  }
  absl::Status owned = ChownPath(path, 0, group, 0660);
  if (!owned.ok()) {
    close(fd);
    return owned;
  }
  return fd;
}

std::string SelfDir() {
  char buffer[4096];
  ssize_t n = readlink("/proc/self/exe", buffer, sizeof(buffer) - 1);
  if (n <= 0) return ".";
  std::string path(buffer, static_cast<size_t>(n));
  return path.substr(0, path.rfind('/'));
}

}  // namespace

absl::Status Supervisor::Prepare() {
  if (geteuid() != 0) return absl::PermissionDeniedError("berth daemon must run as root");
  if (options_.bin_dir.empty()) options_.bin_dir = SelfDir();

  auto user = LookupUser(options_.user);
  if (user.ok()) {
    user_uid_ = user->uid;
    user_gid_ = user->gid;
  } else {
    spdlog::warn("user {} not found ({}); unprivileged daemons run as nobody", options_.user,
                 std::string(user.status().message()));
  }
  gid_t socket_gid = user_gid_;
  std::string group = options_.socket_group.empty() ? "docker" : options_.socket_group;
  if (auto gid = LookupGroup(group); gid.ok()) {
    socket_gid = *gid;
  } else if (!options_.socket_group.empty()) {
    return gid.status();
  }

  for (const std::string& dir : {options_.root, options_.exec_root}) {
    RETURN_IF_ERROR(MakeDirs(dir, 0711));
    RETURN_IF_ERROR(ChownPath(dir, 0, 0, 0711));
  }
  RETURN_IF_ERROR(MakeDirs(options_.root + "/logs", 0700));
  // Every daemon creates its gRPC socket here; the unprivileged ones through
  // the group.
  const std::string grpc_dir = options_.exec_root + "/grpc";
  // setgid: every socket created here belongs to the shared group, so the
  // daemons need no CAP_CHOWN to let the apiserver and imaged connect.
  RETURN_IF_ERROR(MakeDirs(grpc_dir, 0770));
  RETURN_IF_ERROR(ChownPath(grpc_dir, 0, user_gid_, 02770));
  for (const ComponentSpec& spec : BuiltinComponents()) {
    uid_t uid = spec.privileged ? 0 : user_uid_;
    gid_t gid = spec.privileged ? 0 : user_gid_;
    for (const std::string& base : {options_.root, options_.exec_root}) {
      const std::string dir = base + "/" + spec.name;
      RETURN_IF_ERROR(MakeDirs(dir, 0700));
      RETURN_IF_ERROR(ChownPath(dir, uid, gid, 0700));
    }
  }
  ASSIGN_OR_RETURN(docker_socket_fd_,
                   BindUnixListener(options_.exec_root + "/docker.sock", socket_gid));
  return absl::OkStatus();
}

std::vector<std::string> Supervisor::ArgsFor(const ComponentSpec& spec) const {
  std::vector<std::string> args = {
      options_.bin_dir + "/" + spec.binary,        "--root=" + options_.root,
      "--exec-root=" + options_.exec_root,         "--log-level=" + options_.log_level,
      "--socket-gid=" + std::to_string(user_gid_),
  };
  if (!options_.config_file.empty()) args.push_back("--config-file=" + options_.config_file);
  if (spec.name == "runtimed") {
    args.push_back("--cgroup-parent=" + options_.cgroup_parent);
    args.push_back("--shim-binary=" + options_.bin_dir + "/berth-shim");
  }
  if (spec.name == "netd") {
    if (!options_.bridge.empty()) args.push_back("--bridge=" + options_.bridge);
    if (!options_.bip.empty()) args.push_back("--bip=" + options_.bip);
  }
  return args;
}

absl::Status Supervisor::Spawn(Child& child) {
  const ComponentSpec& spec = *child.spec;
  std::vector<std::string> args = ArgsFor(spec);
  PrivilegeSpec privileges;
  privileges.keep_root = spec.privileged;
  privileges.capabilities = spec.capabilities;
  privileges.user = Identity{user_uid_, user_gid_, options_.user};
  privileges.supplementary_groups = {user_gid_};
  const std::string log_path = options_.root + "/logs/" + spec.name + ".log";
  int log_fd = open(log_path.c_str(), O_WRONLY | O_CREAT | O_APPEND | O_CLOEXEC, 0600);
  if (log_fd < 0) return LastErrnoStatus("open " + log_path);

  std::vector<char*> argv;
  argv.reserve(args.size() + 1);
  for (std::string& arg : args) argv.push_back(arg.data());
  argv.push_back(nullptr);

  pid_t pid = fork();
  if (pid < 0) {
    close(log_fd);
    return LastErrnoStatus("fork " + spec.binary);
  }
  if (pid == 0) {
    // The daemon gets its own session: a Ctrl-C on the supervisor's terminal
    // reaches only the supervisor, which stops the daemons in order.
    setsid();
    sigset_t none;
    sigemptyset(&none);
    sigprocmask(SIG_SETMASK, &none, nullptr);
    int null_fd = open("/dev/null", O_RDONLY);
    dup2(null_fd, 0);
    dup2(log_fd, 1);
    dup2(log_fd, 2);
    int keep_from = 3;
    if (spec.serves_docker_api) {
      if (docker_socket_fd_ == 3) {
        // dup2 onto itself is a no-op that would keep close-on-exec set.
        fcntl(3, F_SETFD, 0);
      } else {
        dup2(docker_socket_fd_, 3);
      }
      keep_from = 4;
      setenv("LISTEN_FDS", "1", 1);
      setenv("LISTEN_PID", std::to_string(getpid()).c_str(), 1);
    }
    CloseDescriptorsFrom(keep_from);
    absl::Status dropped = ApplyPrivileges(privileges);
    if (!dropped.ok()) {
      dprintf(2, "berth: cannot drop privileges: %s\n", std::string(dropped.message()).c_str());
      _exit(125);
    }
    execv(argv[0], argv.data());
    dprintf(2, "berth: exec %s: %s\n", argv[0], strerror(errno));
    _exit(127);
  }
  close(log_fd);
  child.pid = pid;
  child.started = Clock::now();
  spdlog::info("started {} (pid {})", spec.name, pid);
  return absl::OkStatus();
}

void Supervisor::OnExit(pid_t pid, int status) {
  for (Child& child : children_) {
    if (child.pid != pid) continue;
    child.pid = -1;
    if (WIFSIGNALED(status)) {
      spdlog::warn("{} killed by signal {}", child.spec->name, WTERMSIG(status));
    } else {
      spdlog::warn("{} exited with status {}", child.spec->name, WEXITSTATUS(status));
    }
    auto now = Clock::now();
    if (now - child.started > kStableAfter) {
      child.backoff = std::chrono::milliseconds(100);
    } else {
      child.backoff = std::min(child.backoff * 2, kMaxBackoff);
    }
    child.restart_at = now + child.backoff;
    child.restarts++;
    return;
  }
}

bool Supervisor::Accepts(const ComponentSpec& spec) const {
  const std::string path = options_.exec_root + "/grpc/" + spec.name + ".sock";
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  sockaddr_un address{};
  address.sun_family = AF_UNIX;
  std::strncpy(address.sun_path, path.c_str(), sizeof(address.sun_path) - 1);
  bool accepts = connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) == 0;
  close(fd);
  return accepts;
}

void Supervisor::CheckReady(Clock::time_point deadline) {
  std::string waiting;
  for (const Child& child : children_) {
    if (child.pid <= 0 || !Accepts(*child.spec)) {
      waiting += (waiting.empty() ? "" : ", ") + child.spec->name;
    }
  }
  if (waiting.empty()) {
    std::printf("berth is ready: DOCKER_HOST=unix://%s/docker.sock\n", options_.exec_root.c_str());
    std::fflush(stdout);
    ready_announced_ = true;
  } else if (Clock::now() > deadline) {
    spdlog::error("not ready after {}s, still waiting for: {} (see {}/logs)",
                  std::chrono::duration_cast<std::chrono::seconds>(kReadyTimeout).count(), waiting,
                  options_.root);
    ready_announced_ = true;
  }
}

void Supervisor::StopAll() {
  for (auto it = children_.rbegin(); it != children_.rend(); ++it) {
    if (it->pid > 0) kill(it->pid, SIGTERM);
  }
  auto deadline = Clock::now() + kStopTimeout;
  while (Clock::now() < deadline) {
    bool any = false;
    for (Child& child : children_) {
      if (child.pid <= 0) continue;
      int status;
      pid_t done = waitpid(child.pid, &status, WNOHANG);
      if (done == child.pid) {
        spdlog::info("{} stopped", child.spec->name);
        child.pid = -1;
      } else {
        any = true;
      }
    }
    if (!any) return;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  for (Child& child : children_) {
    if (child.pid <= 0) continue;
    spdlog::warn("{} did not stop in time; killing it", child.spec->name);
    kill(child.pid, SIGKILL);
    waitpid(child.pid, nullptr, 0);
    child.pid = -1;
  }
}

absl::Status Supervisor::Run() {
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGCHLD);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  sigaddset(&signals, SIGHUP);
  sigprocmask(SIG_BLOCK, &signals, nullptr);
  signal(SIGPIPE, SIG_IGN);

  for (const ComponentSpec& spec : BuiltinComponents()) children_.push_back(Child{&spec});
  for (Child& child : children_) RETURN_IF_ERROR(Spawn(child));
  const auto ready_deadline = Clock::now() + kReadyTimeout;

  while (true) {
    auto now = Clock::now();
    auto wake = now + std::chrono::seconds(60);
    for (Child& child : children_) {
      if (child.pid > 0) continue;
      if (child.restart_at <= now) {
        absl::Status spawned = Spawn(child);
        if (!spawned.ok()) {
          spdlog::error("restart {}: {}", child.spec->name, std::string(spawned.message()));
          child.restart_at = now + kMaxBackoff;
        }
      }
      if (child.pid <= 0) wake = std::min(wake, child.restart_at);
    }
    if (!ready_announced_) {
      CheckReady(ready_deadline);
      if (!ready_announced_) wake = std::min(wake, Clock::now() + std::chrono::milliseconds(10));
    }
    auto wait_for = std::chrono::duration_cast<std::chrono::nanoseconds>(wake - Clock::now());
    if (wait_for.count() < 0) wait_for = std::chrono::nanoseconds(0);
    timespec timeout{
        static_cast<time_t>(wait_for.count() / 1000000000),
        static_cast<long>(wait_for.count() % 1000000000)};  // NOLINT(google-runtime-int): timespec
    int signal_number = sigtimedwait(&signals, nullptr, &timeout);
    if (signal_number == SIGTERM || signal_number == SIGINT || signal_number == SIGHUP) {
      spdlog::info("signal {}: stopping the daemons (containers keep running)", signal_number);
      StopAll();
      close(docker_socket_fd_);
      unlink((options_.exec_root + "/docker.sock").c_str());
      return absl::OkStatus();
    }
    int status = 0;
    pid_t pid;
    while ((pid = waitpid(-1, &status, WNOHANG)) > 0) OnExit(pid, status);
  }
}

}  // namespace berth::cli
