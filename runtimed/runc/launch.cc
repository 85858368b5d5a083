#include "runtimed/runc/launch.h"

#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdlib.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <unistd.h>

#include <cerrno>
#include <chrono>
#include <cstdio>
#include <thread>

#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/status.h"
#include "runtimed/runtime/cgroups.h"
#include "runtimed/runtime/container.h"
#include "runtimed/runtime/hooks.h"
#include "runtimed/runtime/spec.h"
#include "runtimed/runtime/systemd_paths.h"

namespace berth::runc {
namespace {

using runtime::CgroupManager;
using runtime::Spec;

// A unix socket address for a path of any length: one too long for sun_path
// (containerd's state directories are deep, and ids 64 characters) is reached
// through /proc/self/fd/<directory fd>/<name>.
class UnixAddress {
 public:
  static absl::StatusOr<UnixAddress> For(const std::string& path) {
    UnixAddress result;
    result.address_.sun_family = AF_UNIX;
    std::string usable = path;
    if (path.size() >= sizeof(result.address_.sun_path)) {
      size_t slash = path.rfind('/');
      if (slash == std::string::npos) {
        return absl::InvalidArgumentError("socket path too long: " + path);
      }
      std::string dir = slash == 0 ? "/" : path.substr(0, slash);
      result.dir_fd_ = open(dir.c_str(), O_PATH | O_DIRECTORY | O_CLOEXEC);
      if (result.dir_fd_ < 0) return LastErrnoStatus("open " + dir);
      usable = absl::StrCat("/proc/self/fd/", result.dir_fd_, path.substr(slash));
      if (usable.size() >= sizeof(result.address_.sun_path)) {
        return absl::InvalidArgumentError("socket name too long: " + path);
      }
    }
    memcpy(result.address_.sun_path, usable.c_str(), usable.size() + 1);
    return result;
  }
  UnixAddress(UnixAddress&& other) noexcept : address_(other.address_), dir_fd_(other.dir_fd_) {
    other.dir_fd_ = -1;
  }
  ~UnixAddress() {
    if (dir_fd_ >= 0) close(dir_fd_);
  }
  const sockaddr* get() const { return reinterpret_cast<const sockaddr*>(&address_); }
  socklen_t size() const { return sizeof(address_); }

 private:
  UnixAddress() = default;
  sockaddr_un address_{};
  int dir_fd_ = -1;
};

absl::StatusOr<int> Connect(const std::string& path) {
  ASSIGN_OR_RETURN(UnixAddress address, UnixAddress::For(path));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return LastErrnoStatus("socket");
  if (connect(fd, address.get(), address.size()) != 0) {
    absl::Status status = LastErrnoStatus("connect " + path);
    close(fd);
    return status;
  }
  return fd;
}

absl::StatusOr<int> Listen(const std::string& path) {
  ASSIGN_OR_RETURN(UnixAddress address, UnixAddress::For(path));
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return LastErrnoStatus("socket");
  unlink(path.c_str());
  if (bind(fd, address.get(), address.size()) != 0 || listen(fd, 4) != 0) {
    absl::Status status = LastErrnoStatus("listen " + path);
    close(fd);
    return status;
  }
  chmod(path.c_str(), 0600);
  return fd;
}

// runc appends these to every device cgroup it sets up (specconv's
// AllowedDevices), and its callers count on it: Docker's own list has no
// /dev/ptmx or /dev/pts/*, so without them `docker exec -t` and `docker run
// -t` cannot open a terminal. A config without device rules is left alone.
void AppendRuncDefaultDevices(std::vector<runtime::DeviceRule>* rules) {
  if (rules->empty()) return;
  constexpr struct {
    char type;
    int64_t major, minor;
    const char* access;
  } kAllowed[] = {
      {'c', -1, -1, "m"},    {'b', -1, -1, "m"}, {'c', 1, 3, "rwm"},    {'c', 1, 8, "rwm"},
      {'c', 1, 7, "rwm"},    {'c', 5, 0, "rwm"}, {'c', 1, 5, "rwm"},    {'c', 1, 9, "rwm"},
      {'c', 136, -1, "rwm"}, {'c', 5, 2, "rwm"}, {'c', 10, 200, "rwm"},
  };
  for (const auto& d : kAllowed) {
    rules->push_back(runtime::DeviceRule{true, d.type, d.major, d.minor, d.access});
  }
}

// Everything create needs, read before anything is made.
struct Prepared {
  Spec spec;
  ContainerRecord record;
};

absl::StatusOr<Prepared> Prepare(const LaunchOptions& options) {
  RETURN_IF_ERROR(ValidateId(options.id));
  char resolved[PATH_MAX];
  std::string bundle = options.bundle.empty() ? "." : options.bundle;
  if (realpath(bundle.c_str(), resolved) == nullptr) return LastErrnoStatus("bundle " + bundle);
  Prepared prepared;
  ASSIGN_OR_RETURN(prepared.spec, runtime::LoadSpec(resolved));
  AppendRuncDefaultDevices(&prepared.spec.resources.devices);
  ContainerRecord& record = prepared.record;
  record.id = options.id;
  record.bundle = resolved;
  const std::string& root_path = prepared.spec.root_path;
  record.rootfs =
      !root_path.empty() && root_path[0] == '/' ? root_path : record.bundle + "/" + root_path;
  if (realpath(record.rootfs.c_str(), resolved) != nullptr) record.rootfs = resolved;
  record.created = NowRfc3339();
  record.cgroups_path = prepared.spec.cgroups_path;
  if (record.cgroups_path.empty()) {
    record.cgroups_path =
        options.systemd_cgroup ? ":berth-runc:" + options.id : "berth-runc/" + options.id;
  }
  // As runc: the flag decides how cgroupsPath reads. Later verbs go by its
  // form, which the record keeps.
  if (options.systemd_cgroup) {
    RETURN_IF_ERROR(runtime::ParseSystemdCgroupsPath(record.cgroups_path).status());
  } else if (runtime::IsSystemdCgroupsPath(record.cgroups_path)) {
    return absl::InvalidArgumentError("cgroupsPath \"" + record.cgroups_path +
                                      "\" is systemd's slice:prefix:name: pass --systemd-cgroup");
  }
  // The library's Spec leaves annotations out: they are read here.
  ASSIGN_OR_RETURN(std::string text, ReadFile(record.bundle + "/config.json"));
  ASSIGN_OR_RETURN(Json json, ParseJson(text));
  if (json.contains("annotations") && json["annotations"].is_object()) {
    for (auto& [key, value] : json["annotations"].items()) {
      if (value.is_string()) record.annotations[key] = value.get<std::string>();
    }
  }
  if (prepared.spec.process.terminal && options.console_socket.empty()) {
    return absl::InvalidArgumentError(
        "cannot allocate tty if berth-runc will detach without setting console socket");
  }
  if (!prepared.spec.process.terminal && !options.console_socket.empty()) {
    return absl::InvalidArgumentError(
        "cannot use console socket if berth-runc will not allocate tty");
  }
  return prepared;
}

// Claims <root>/<id>: mkdir is the atomic "does it exist" test.
absl::Status ClaimDirectory(const std::string& root, const std::string& id) {
  RETURN_IF_ERROR(MakeDirs(root, 0711));
  if (mkdir(ContainerDir(root, id).c_str(), 0711) != 0) {
    if (errno == EEXIST) return absl::AlreadyExistsError("container with id exists: " + id);
    return LastErrnoStatus("mkdir " + ContainerDir(root, id));
  }
  return absl::OkStatus();
}

absl::Status WritePidFile(const std::string& path, pid_t pid) {
  if (path.empty()) return absl::OkStatus();
  return WriteFileAtomic(path, std::to_string(pid), 0644);
}

absl::StatusOr<runtime::ContainerIo> MakeIo(const Prepared& prepared,
                                            const LaunchOptions& options) {
  runtime::ContainerIo io;
  if (prepared.spec.process.terminal) {
    io.terminal = true;
    ASSIGN_OR_RETURN(io.console_socket, Connect(options.console_socket));
  } else {
    io.stdin_fd = 0;
    io.stdout_fd = 1;
    io.stderr_fd = 2;
  }
  return io;
}

void SendReport(int fd, const std::string& message) {
  WriteFull(fd, message.data(), message.size()).IgnoreError();
}

void DetachStdio() {
  int null = open("/dev/null", O_RDWR | O_CLOEXEC);
  if (null < 0) return;
  for (int fd = 0; fd < 3; ++fd) dup2(null, fd);
  close(null);
}

// Waits for `start` on the listening socket while the init lives.
[[noreturn]] void ServeStart(runtime::Container& container, int listener,
                             const std::string& socket_path) {
  while (true) {
    pollfd pfd{listener, POLLIN, 0};
    int ready = poll(&pfd, 1, 200);
    if (waitpid(container.pid(), nullptr, WNOHANG) == container.pid()) {
      // Killed (or deleted) before start: nothing to hold any more.
      unlink(socket_path.c_str());
      _exit(0);
    }
    if (ready <= 0) continue;
    int conn = accept4(listener, nullptr, nullptr, SOCK_CLOEXEC);
    if (conn < 0) continue;
    char byte = 0;
    if (read(conn, &byte, 1) != 1 || byte != 'S') {
      close(conn);
      continue;
    }
    absl::Status status = container.Start();
    SendReport(conn, status.ok() ? std::string("OK") : "E" + std::string(status.message()));
    close(conn);
    unlink(socket_path.c_str());
    _exit(status.ok() ? 0 : 1);
  }
}

[[noreturn]] void HolderMain(const Prepared& prepared, const LaunchOptions& options, int report) {
  setsid();
  auto fail = [&](const absl::Status& status) {
    SendReport(report, "E" + std::string(status.message()));
    _exit(1);
  };
  std::string socket_path = StartSocketPath(options.root, options.id);
  int listener = -1;
  if (!options.start_now) {
    absl::StatusOr<int> fd = Listen(socket_path);
    if (!fd.ok()) fail(fd.status());
    listener = *fd;
  }
  absl::StatusOr<std::unique_ptr<CgroupManager>> cgroup =
      runtime::NewCgroupManager(prepared.record.cgroups_path);
  if (!cgroup.ok()) fail(cgroup.status());
  absl::StatusOr<runtime::ContainerIo> io = MakeIo(prepared, options);
  if (!io.ok()) fail(io.status());
  runtime::CreateOptions create;
  create.id = prepared.record.id;
  create.bundle = prepared.record.bundle;
  create.io = *io;
  create.cgroup = cgroup->get();
  absl::StatusOr<std::unique_ptr<runtime::Container>> container =
      runtime::CreateContainer(prepared.spec, create);
  if (io->console_socket >= 0) close(io->console_socket);
  if (!container.ok()) fail(container.status());
  if (options.start_now) {
    absl::Status started = (*container)->Start();
    if (!started.ok()) fail(started);
  }
  SendReport(report, absl::StrCat("P", (*container)->pid()));
  close(report);
  DetachStdio();
  if (options.start_now) _exit(0);
  ServeStart(**container, listener, socket_path);
}

absl::StatusOr<std::string> ReadReport(int fd) {
  std::string message;
  char buffer[4096];
  while (true) {
    ssize_t n = read(fd, buffer, sizeof(buffer));
    if (n < 0 && errno == EINTR) continue;
    if (n < 0) return LastErrnoStatus("read holder report");
    if (n == 0) break;
    message.append(buffer, static_cast<size_t>(n));
  }
  return message;
}

pid_t g_forward_pid = 0;

void ForwardSignal(int signal) {
  if (g_forward_pid > 0) kill(g_forward_pid, signal);
}

}  // namespace

void ForwardSignalsTo(pid_t pid) {
  g_forward_pid = pid;
  if (pid <= 0) return;
  for (int signal : {SIGINT, SIGTERM, SIGHUP, SIGQUIT, SIGUSR1, SIGUSR2, SIGWINCH}) {
    struct sigaction action {};
    action.sa_handler = ForwardSignal;
    sigaction(signal, &action, nullptr);
  }
}

std::vector<FlagSpec> LaunchFlags() {
  return {{"bundle", "b", true},
          {"pid-file", "", true},
          {"console-socket", "", true},
          {"no-pivot", "", false},
          {"no-new-keyring", "", false}};
}

absl::StatusOr<LaunchOptions> LaunchOptionsFromArgs(const std::string& verb,
                                                    const GlobalOptions& global,
                                                    const ParsedFlags& flags) {
  if (flags.positionals.size() != 1) {
    return absl::InvalidArgumentError("\"" + verb + "\" requires exactly 1 argument");
  }
  LaunchOptions options;
  options.root = global.root;
  options.id = flags.positionals[0];
  options.bundle = flags.Get("bundle", ".");
  options.pid_file = flags.Get("pid-file");
  options.console_socket = flags.Get("console-socket");
  options.systemd_cgroup = global.systemd_cgroup;
  return options;
}

absl::Status LaunchDetached(const LaunchOptions& options) {
  ASSIGN_OR_RETURN(Prepared prepared, Prepare(options));
  RETURN_IF_ERROR(ClaimDirectory(options.root, options.id));
  auto cleanup = [&](absl::Status status) {
    RemoveAll(ContainerDir(options.root, options.id)).IgnoreError();
    return status;
  };
  int report[2];
  if (pipe2(report, O_CLOEXEC) != 0) return cleanup(LastErrnoStatus("pipe"));
  pid_t holder = fork();
  if (holder < 0) return cleanup(LastErrnoStatus("fork"));
  if (holder == 0) {
    close(report[0]);
    HolderMain(prepared, options, report[1]);
  }
  close(report[1]);
  absl::StatusOr<std::string> message = ReadReport(report[0]);
  close(report[0]);
  if (!message.ok()) return cleanup(message.status());
  int pid = 0;
  if (message->empty() || (*message)[0] != 'P' || !absl::SimpleAtoi(message->substr(1), &pid)) {
    waitpid(holder, nullptr, 0);
    std::string reason =
        message->empty() ? "container init exited during setup" : message->substr(1);
    return cleanup(absl::InternalError(reason));
  }
  if (options.start_now) waitpid(holder, nullptr, 0);
  ContainerRecord& record = prepared.record;
  record.pid = pid;
  record.start_time = ProcessStartTime(pid);
  record.started = options.start_now;
  RETURN_IF_ERROR(SaveRecord(options.root, record));
  return WritePidFile(options.pid_file, pid);
}

absl::StatusOr<int> RunForeground(const LaunchOptions& options) {
  ASSIGN_OR_RETURN(Prepared prepared, Prepare(options));
  RETURN_IF_ERROR(ClaimDirectory(options.root, options.id));
  ContainerRecord& record = prepared.record;
  absl::StatusOr<int> result = [&]() -> absl::StatusOr<int> {
    ASSIGN_OR_RETURN(std::unique_ptr<CgroupManager> cgroup,
                     runtime::NewCgroupManager(record.cgroups_path));
    ASSIGN_OR_RETURN(runtime::ContainerIo io, MakeIo(prepared, options));
    runtime::CreateOptions create;
    create.id = record.id;
    create.bundle = record.bundle;
    create.io = io;
    create.cgroup = cgroup.get();
    absl::StatusOr<std::unique_ptr<runtime::Container>> container =
        runtime::CreateContainer(prepared.spec, create);
    if (io.console_socket >= 0) close(io.console_socket);
    if (!container.ok()) return container.status();
    pid_t pid = (*container)->pid();
    record.pid = pid;
    record.start_time = ProcessStartTime(pid);
    record.started = true;
    absl::Status status = SaveRecord(options.root, record);
    if (status.ok()) status = WritePidFile(options.pid_file, pid);
    if (status.ok()) {
      ForwardSignalsTo(pid);
      status = (*container)->Start();
    }
    if (!status.ok()) kill(pid, SIGKILL);
    int wait_status = 0;
    while (waitpid(pid, &wait_status, 0) < 0 && errno == EINTR) {
    }
    ForwardSignalsTo(0);
    if (!status.ok()) {
      cgroup->Destroy().IgnoreError();
      return status;
    }
    // Whatever the init left behind in its cgroup goes with it.
    if (absl::StatusOr<std::vector<pid_t>> pids = cgroup->Pids(); pids.ok()) {
      for (pid_t leftover : *pids) kill(leftover, SIGKILL);
    }
    RETURN_IF_ERROR(cgroup->Destroy());
    if (WIFSIGNALED(wait_status)) return 128 + WTERMSIG(wait_status);
    return WEXITSTATUS(wait_status);
  }();
  RemoveAll(ContainerDir(options.root, options.id)).IgnoreError();
  if (result.ok()) RunPoststopHooks(prepared.spec, record);
  return result;
}

absl::Status StartCreated(const std::string& root, const ContainerRecord& record) {
  absl::StatusOr<int> fd = Connect(StartSocketPath(root, record.id));
  if (!fd.ok()) {
    return absl::FailedPreconditionError("cannot start container " + record.id +
                                         ": its creator is gone (" +
                                         std::string(fd.status().message()) + ")");
  }
  char start = 'S';
  absl::Status status = WriteFull(*fd, &start, 1);
  absl::StatusOr<std::string> reply = status.ok() ? ReadReport(*fd) : status;
  close(*fd);
  if (!reply.ok()) return reply.status();
  if (*reply == "OK") return absl::OkStatus();
  if (reply->empty()) return absl::InternalError("container init exited during start");
  return absl::InternalError(reply->substr(1));
}

absl::Status Destroy(const std::string& root, const ContainerRecord& record) {
  ASSIGN_OR_RETURN(std::unique_ptr<CgroupManager> cgroup,
                   runtime::NewCgroupManager(record.cgroups_path));
  auto deadline = std::chrono::steady_clock::now() + std::chrono::seconds(10);
  while (true) {
    bool alive = InitAlive(record);
    if (alive) kill(record.pid, SIGKILL);
    absl::StatusOr<std::vector<pid_t>> pids = cgroup->Pids();
    bool leftovers = pids.ok() && !pids->empty();
    if (leftovers) {
      for (pid_t pid : *pids) kill(pid, SIGKILL);
    }
    if (!alive && !leftovers) break;
    if (std::chrono::steady_clock::now() > deadline) {
      return absl::DeadlineExceededError("container " + record.id + " did not die after SIGKILL");
    }
    std::this_thread::sleep_for(std::chrono::milliseconds(10));
  }
  RETURN_IF_ERROR(cgroup->Destroy());
  RETURN_IF_ERROR(RemoveAll(ContainerDir(root, record.id)));
  if (absl::StatusOr<runtime::Spec> spec = runtime::LoadSpec(record.bundle); spec.ok()) {
    RunPoststopHooks(*spec, record);
  }
  return absl::OkStatus();
}

void RunPoststopHooks(const runtime::Spec& spec, const ContainerRecord& record) {
  if (spec.hooks.poststop.empty()) return;
  runtime::ContainerState state{record.id, "stopped", 0, record.bundle, spec.annotations};
  // Once the container is gone; a failure is a warning (the spec).
  if (absl::Status hooks =
          runtime::RunHooks(spec.hooks.poststop, runtime::StateJson(state), "poststop");
      !hooks.ok()) {
    fprintf(stderr, "warning: %s\n", std::string(hooks.message()).c_str());
  }
}

}  // namespace berth::runc
