#include "runtimed/shim/shim.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/replace_file.h"
#include "common/status.h"
#include "runtimed/runtime/console.h"
#include "runtimed/runtime/exec.h"
#include "runtimed/shim/memory.h"

namespace berth::runtime {
namespace {

constexpr size_t kMaxFrame = 16 * 1024 * 1024;
// An attached client that falls this far behind is dropped rather than
// letting the shim's memory grow without bound.
constexpr size_t kMaxClientBacklog = 8 * 1024 * 1024;
// After init exits, how long processes that inherited its stdio may keep
// it open before the output is considered ended.
constexpr int kOutputGraceMs = 2000;

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

int64_t NowNs() {
  timespec ts;
  clock_gettime(CLOCK_REALTIME, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000000000 + ts.tv_nsec;
}

// The shim's own log (stderr is <bundle>/shim.log).
void Log(const char* format, ...) {
  timespec now;
  clock_gettime(CLOCK_REALTIME, &now);
  fprintf(stderr, "%s ", FormatRfc3339Nano(now).c_str());
  va_list args;
  va_start(args, format);
  vfprintf(stderr, format, args);
  va_end(args);
  fputc('\n', stderr);
}

std::string Encode(const shim::v1::ShimFrame& frame) {
  std::string payload = frame.SerializeAsString();
  auto length = static_cast<uint32_t>(payload.size());
  char header[4] = {static_cast<char>(length >> 24), static_cast<char>(length >> 16),
                    static_cast<char>(length >> 8), static_cast<char>(length)};
  return std::string(header, 4) + payload;
}

absl::Status SetNonBlocking(int fd) {
  int flags = fcntl(fd, F_GETFL);
  if (flags < 0 || fcntl(fd, F_SETFL, flags | O_NONBLOCK) != 0) {
    return LastErrnoStatus("set O_NONBLOCK");
  }
  return absl::OkStatus();
}

void CloseFd(int* fd) {
  if (*fd >= 0) close(*fd);
  *fd = -1;
}

}  // namespace

Shim::Shim(shim::v1::Bootstrap bootstrap)
    : bootstrap_(std::move(bootstrap)),
      log_(bootstrap_.log_path(), bootstrap_.log_max_size(), bootstrap_.log_max_files(),
           bootstrap_.log_format() == "local" ? LogFormat::kLocal : LogFormat::kJsonFile,
           bootstrap_.log_compress()) {}

Shim::~Shim() {
  for (auto& [fd, client] : clients_) close(fd);
  for (auto& [fd, id] : exec_fds_) close(fd);
  for (int* fd :
       {&epoll_fd_, &listen_fd_, &signal_fd_, &stdout_fd_, &stderr_fd_, &stdin_fd_, &child_stdin_,
        &child_stdout_, &child_stderr_, &console_socket_, &child_console_}) {
    CloseFd(fd);
  }
}

absl::Status Shim::SetupIo() {
  if (bootstrap_.tty()) {
    // The container's init allocates the pty in its own devpts and sends
    // the master back here (AdoptConsole).
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      return LastErrnoStatus("console socketpair");
    }
    console_socket_ = pair[0];
    child_console_ = pair[1];
    return absl::OkStatus();
  }
  int out[2], err[2];
  if (pipe2(out, O_CLOEXEC) != 0) return LastErrnoStatus("pipe");
  stdout_fd_ = out[0];
  child_stdout_ = out[1];
  if (pipe2(err, O_CLOEXEC) != 0) return LastErrnoStatus("pipe");
  stderr_fd_ = err[0];
  child_stderr_ = err[1];
  RETURN_IF_ERROR(SetNonBlocking(stdout_fd_));
  RETURN_IF_ERROR(SetNonBlocking(stderr_fd_));
  if (bootstrap_.open_stdin()) {
    int in[2];
    if (pipe2(in, O_CLOEXEC) != 0) return LastErrnoStatus("pipe");
    child_stdin_ = in[0];
    stdin_fd_ = in[1];
    RETURN_IF_ERROR(SetNonBlocking(stdin_fd_));
  }
  return absl::OkStatus();
}

absl::Status Shim::AdoptConsole() {
  // Without our copy of the init's end, a missing master is EOF, not a hang.
  CloseFd(&child_console_);
  absl::StatusOr<ReceivedFd> master = ReceiveFd(console_socket_);
  CloseFd(&console_socket_);
  if (!master.ok()) return Annotate(master.status(), "receive the container's pty master");
  tty_master_ = master->fd;
  stdout_fd_ = tty_master_;
  RETURN_IF_ERROR(SetNonBlocking(stdout_fd_));
  if (bootstrap_.open_stdin()) {
    // A separate descriptor: epoll watches reads and writes independently.
    stdin_fd_ = fcntl(tty_master_, F_DUPFD_CLOEXEC, 3);
    if (stdin_fd_ < 0) return LastErrnoStatus("dup the pty master");
  }
  return absl::OkStatus();
}

absl::Status Shim::Listen() {
  const std::string& path = bootstrap_.socket_path();
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (path.empty() || path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError("invalid shim socket path \"" + path + "\"");
  }
  memcpy(addr.sun_path, path.c_str(), path.size() + 1);
  std::string dir = path.substr(0, path.rfind('/'));
  if (!dir.empty()) RETURN_IF_ERROR(MakeDirs(dir, 0711));
  unlink(path.c_str());
  listen_fd_ = socket(AF_UNIX, SOCK_STREAM | SOCK_NONBLOCK | SOCK_CLOEXEC, 0);
  if (listen_fd_ < 0) return LastErrnoStatus("socket");
  if (bind(listen_fd_, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    return LastErrnoStatus("bind " + path);
  }
  chmod(path.c_str(), 0600);
  if (listen(listen_fd_, 64) != 0) return LastErrnoStatus("listen " + path);
  return absl::OkStatus();
}

std::string Shim::SeccompCacheDir() const {
  // Beside the bundles (<run dir>/<id>): shared by the engine's containers.
  const std::string& bundle = bootstrap_.bundle();
  return bundle.substr(0, bundle.find_last_of('/')) + "/seccomp";
}

absl::Status Shim::Create() {
  RETURN_IF_ERROR(log_.Open());
  RETURN_IF_ERROR(SetupIo());
  ASSIGN_OR_RETURN(Spec spec, LoadSpec(bootstrap_.bundle()));
  std::string cgroups_path = spec.cgroups_path;
  if (cgroups_path.empty()) cgroups_path = "berth/" + bootstrap_.container_id();
  ASSIGN_OR_RETURN(cgroup_, NewCgroupManager(cgroups_path));

  CreateOptions options;
  options.id = bootstrap_.container_id();
  options.bundle = bootstrap_.bundle();
  options.io = {child_stdin_, child_stdout_, child_stderr_, bootstrap_.tty(), child_console_};
  options.cgroup = cgroup_.get();
  options.seccomp_cache_dir = SeccompCacheDir();
  ASSIGN_OR_RETURN(container_, CreateContainer(spec, options));
  pid_ = container_->pid();
  // Now that the cgroup exists and before the init runs user code: the
  // counter alone may be gone with the cgroup by the time the init is reaped.
  absl::StatusOr<std::unique_ptr<OomWatch>> oom_watch = cgroup_->WatchOom();
  if (oom_watch.ok()) {
    oom_ = OomLatch(*std::move(oom_watch));
  } else {
    Log("cgroup: no OOM watch: %s", std::string(oom_watch.status().message()).c_str());
  }
  // The container holds its ends now; ours would keep its output from ever
  // reaching EOF.
  CloseFd(&child_stdin_);
  CloseFd(&child_stdout_);
  CloseFd(&child_stderr_);

  absl::Status status = [&]() -> absl::Status {
    if (bootstrap_.tty()) RETURN_IF_ERROR(AdoptConsole());
    sigset_t mask;
    sigemptyset(&mask);
    sigaddset(&mask, SIGCHLD);
    signal_fd_ = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
    if (signal_fd_ < 0) return LastErrnoStatus("signalfd");
    epoll_fd_ = epoll_create1(EPOLL_CLOEXEC);
    if (epoll_fd_ < 0) return LastErrnoStatus("epoll_create");
    RETURN_IF_ERROR(Listen());
    Watch(listen_fd_, EPOLLIN);
    Watch(signal_fd_, EPOLLIN);
    Watch(stdout_fd_, EPOLLIN);
    if (stderr_fd_ >= 0) Watch(stderr_fd_, EPOLLIN);
    if (oom_.fd() >= 0) Watch(oom_.fd(), EPOLLIN);
    return absl::OkStatus();
  }();
  if (!status.ok()) Abort();
  Log("container %s created, init pid %d", bootstrap_.container_id().c_str(), pid_);
  return status;
}

void Shim::Abort() {
  if (container_ != nullptr) {
    kill(pid_, SIGKILL);
    while (waitpid(pid_, nullptr, 0) < 0 && errno == EINTR) {
    }
    container_.reset();
  }
  if (cgroup_ != nullptr) cgroup_->Destroy().IgnoreError();
  if (listen_fd_ >= 0) unlink(bootstrap_.socket_path().c_str());
}

void Shim::Watch(int fd, uint32_t events) {
  epoll_event event = {};
  event.events = events;
  event.data.fd = fd;
  if (epoll_ctl(epoll_fd_, EPOLL_CTL_ADD, fd, &event) != 0 && errno == EEXIST) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_MOD, fd, &event);
  }
}

void Shim::Run() {
  std::vector<epoll_event> events(32);
  while (true) {
    int64_t now = NowMs();
    if (exited_ && !finished_ && output_deadline_ms_ >= 0 && now >= output_deadline_ms_) {
      Log("output still open %d ms after init exited; closing it", kOutputGraceMs);
      if (stdout_fd_ >= 0) CloseOutput(stdout_fd_);
      if (stderr_fd_ >= 0) CloseOutput(stderr_fd_);
      MaybeFinish();
    }
    ExpireExecOutput(now);
    OnOomTimer(now);
    if (finished_) {
      bool flushed = execs_.empty();
      for (const auto& [fd, client] : clients_) flushed &= client.out.empty();
      bool leave = shutdown_requested_ || now >= exit_deadline_ms_;
      if (leave && (flushed || now >= exit_deadline_ms_ + 1000)) break;
    }
    int n = epoll_wait(epoll_fd_, events.data(), static_cast<int>(events.size()),
                       static_cast<int>(NextTimeoutMs()));
    if (n < 0 && errno != EINTR) {
      Log("epoll_wait: %s", strerror(errno));
      break;
    }
    for (int i = 0; i < n; ++i) OnEvent(events[i].data.fd, events[i].events);
    // Clients are removed here, never while a handler may still use them.
    for (auto it = clients_.begin(); it != clients_.end();) {
      Client& client = it->second;
      if (client.dead || (client.close_when_flushed && client.out.empty())) {
        if (client.kind == Client::Kind::kExec) DetachExecClient(client.exec_id);
        epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, it->first, nullptr);
        close(it->first);
        it = clients_.erase(it);
      } else {
        ++it;
      }
    }
  }
  unlink(bootstrap_.socket_path().c_str());
  Log("shim exiting");
}

int64_t Shim::NextTimeoutMs() const {
  int64_t deadline = -1;
  if (exited_ && !finished_) deadline = output_deadline_ms_;
  if (finished_) deadline = shutdown_requested_ ? NowMs() + 100 : exit_deadline_ms_;
  for (const auto& [id, exec] : execs_) {
    if (exec.output_deadline_ms >= 0 && (deadline < 0 || exec.output_deadline_ms < deadline)) {
      deadline = exec.output_deadline_ms;
    }
  }
  int64_t oom_check = oom_.NextCheckMs();
  if (oom_check >= 0 && (deadline < 0 || oom_check < deadline)) deadline = oom_check;
  if (deadline < 0) return -1;
  // Also wake up regularly while clients still have output to drain.
  int64_t left = deadline - NowMs();
  if (left < 0) left = 0;
  return left > 1000 ? 1000 : left + 1;
}

void Shim::OnEvent(int fd, uint32_t events) {
  if (fd == listen_fd_) return OnAccept();
  if (fd == signal_fd_) return OnSignal();
  if (fd == oom_.fd()) return OnOom();
  if (fd == stdout_fd_ || fd == stderr_fd_) return OnOutput(fd);
  if (fd == stdin_fd_) return FlushStdin();
  if (exec_fds_.count(fd) != 0) return OnExecFd(fd, events);
  if (clients_.count(fd) == 0) return;
  if (events & EPOLLOUT) OnClientWritable(fd);
  if (events & (EPOLLIN | EPOLLHUP | EPOLLERR)) OnClientReadable(fd);
}

void Shim::OnAccept() {
  while (true) {
    int fd = accept4(listen_fd_, nullptr, nullptr, SOCK_NONBLOCK | SOCK_CLOEXEC);
    if (fd < 0) {
      if (errno != EAGAIN && errno != EINTR) Log("accept: %s", strerror(errno));
      return;
    }
    clients_[fd] = Client();
    Watch(fd, EPOLLIN);
  }
}

void Shim::OnSignal() {
  signalfd_siginfo info;
  while (read(signal_fd_, &info, sizeof(info)) == sizeof(info)) {
  }
  // As a subreaper the shim also inherits the container's orphans: reap all.
  while (true) {
    int status;
    pid_t pid = waitpid(-1, &status, WNOHANG);
    if (pid <= 0) break;
    if (log_.ChildExited(pid)) continue;
    bool exec_pid = false;
    for (auto& [id, exec] : execs_) {
      if (exec.pid == pid && !exec.exited) {
        OnExecExit(id, status);
        exec_pid = true;
        break;
      }
    }
    if (exec_pid || pid != pid_ || exited_) continue;
    exited_ = true;
    status_ = "stopped";
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
    exit_.set_exit_code(code);
    exit_.set_exited_at(NowNs());
    // The OOM's wake-up may be in the same batch as this SIGCHLD, behind it.
    pollfd oom_ready = {oom_.fd(), POLLIN, 0};
    if (oom_.fd() >= 0 && poll(&oom_ready, 1, 0) > 0) OnOom();
    exit_.set_oom_killed(oom_.ExitWasOomKill(status, cgroup_ != nullptr && cgroup_->OomKilled()));
    if (exit_.oom_killed()) Log("init %d was OOM-killed", pid_);
    output_deadline_ms_ = NowMs() + kOutputGraceMs;
    Log("init %d exited with %d", pid_, code);
    // Without a pid namespace of its own the kernel leaves them running.
    KillExecs();
  }
  MaybeFinish();
}

void Shim::OnOom() {
  int fd = oom_.fd();
  oom_.OnReadable(NowMs());
  // Gone with the cgroup (v1 signals its removal too), or latched: either
  // way the descriptor has nothing more to say.
  if (oom_.fd() < 0 || oom_.killed()) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    oom_.Stop();
  }
  if (oom_.killed()) Log("OOM kill in the container's cgroup");
}

void Shim::OnOomTimer(int64_t now) {
  int fd = oom_.fd();
  if (fd < 0 || oom_.NextCheckMs() < 0 || now < oom_.NextCheckMs()) return;
  oom_.OnTimer(now);
  if (oom_.fd() < 0 || oom_.killed()) {
    epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
    oom_.Stop();
  }
  if (oom_.killed()) Log("OOM kill in the container's cgroup");
}

void Shim::OnOutput(int fd) {
  char buffer[32 * 1024];
  ssize_t n = read(fd, buffer, sizeof(buffer));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    // EOF; EIO is how a pty master says every slave is closed.
    CloseOutput(fd);
    MaybeFinish();
    return;
  }
  int stream = fd == stderr_fd_ ? 2 : 1;
  absl::string_view data(buffer, static_cast<size_t>(n));
  absl::Status status = log_.Write(stream, data);
  if (!status.ok()) Log("log: %s", std::string(status.message()).c_str());
  shim::v1::ShimFrame frame;
  frame.mutable_output()->set_stream(stream);
  frame.mutable_output()->set_data(buffer, static_cast<size_t>(n));
  std::string encoded;
  for (auto& [client_fd, client] : clients_) {
    if (client.kind != Client::Kind::kAttach || client.dead) continue;
    if (!(stream == 1 ? client.stdout : client.stderr)) continue;
    if (encoded.empty()) encoded = Encode(frame);
    client.out += encoded;
    FlushClient(client_fd);
  }
}

void Shim::CloseOutput(int fd) {
  int stream = fd == stderr_fd_ ? 2 : 1;
  absl::Status status = log_.Flush(stream);
  if (!status.ok()) Log("log: %s", std::string(status.message()).c_str());
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, fd, nullptr);
  if (fd == stdout_fd_) {
    // With a tty the master is also stdin's target (through a dup).
    if (fd == tty_master_) tty_master_ = -1;
    CloseFd(&stdout_fd_);
  } else {
    CloseFd(&stderr_fd_);
  }
}

void Shim::OnClientReadable(int fd) {
  Client& client = clients_[fd];
  char buffer[64 * 1024];
  ssize_t n = read(fd, buffer, sizeof(buffer));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    // The client hung up; pending output for it is pointless.
    client.dead = true;
    return;
  }
  client.in.append(buffer, static_cast<size_t>(n));
  while (!client.dead && client.in.size() >= 4) {
    auto byte = [&](int i) {
      return static_cast<uint32_t>(static_cast<unsigned char>(client.in[i]));
    };
    uint32_t length = (byte(0) << 24) | (byte(1) << 16) | (byte(2) << 8) | byte(3);
    if (length > kMaxFrame) {
      client.dead = true;
      return;
    }
    if (client.in.size() < 4 + length) return;
    shim::v1::ShimFrame frame;
    bool parsed = frame.ParseFromArray(client.in.data() + 4, static_cast<int>(length));
    client.in.erase(0, 4 + length);
    if (!parsed) {
      client.dead = true;
      return;
    }
    if (client.kind == Client::Kind::kNew) {
      HandleRequest(fd, client, frame);
    } else {
      HandleFrame(client, frame);
    }
  }
}

void Shim::OnClientWritable(int fd) { FlushClient(fd); }

void Shim::HandleFrame(Client& client, const shim::v1::ShimFrame& frame) {
  if (client.kind == Client::Kind::kExec) return HandleExecFrame(client, frame);
  if (client.kind != Client::Kind::kAttach || !client.stdin) return;
  if (frame.has_stdin()) {
    QueueStdin(frame.stdin());
  } else if (frame.has_close_stdin() && frame.close_stdin()) {
    client.stdin = false;
    if (bootstrap_.stdin_once()) {
      stdin_closing_ = true;
      FlushStdin();
    }
  }
}

void Shim::HandleRequest(int fd, Client& client, const shim::v1::ShimFrame& frame) {
  client.close_when_flushed = true;
  switch (frame.frame_case()) {
    case shim::v1::ShimFrame::kAttach:
      client.kind = Client::Kind::kAttach;
      client.stdout = frame.attach().stdout();
      client.stderr = frame.attach().stderr();
      client.stdin = frame.attach().stdin() && stdin_fd_ >= 0;
      // Stays open until the output ends (or already has).
      client.close_when_flushed = finished_;
      return SendReply(fd, absl::OkStatus());
    case shim::v1::ShimFrame::kStart: {
      if (exited_) return SendReply(fd, absl::FailedPreconditionError("container is not running"));
      if (status_ != "created" || container_ == nullptr) {
        return SendReply(fd, absl::FailedPreconditionError("container already started"));
      }
      absl::Status status = container_->Start();
      if (status.ok()) {
        status_ = "running";
        // With the pid, which spares runtimed a state request.
        shim::v1::ShimFrame reply;
        reply.mutable_reply()->set_pid(pid_);
        Send(fd, reply);
      } else {
        SendReply(fd, status);
      }
      // After the reply, which docker run waits for: reading smaps and
      // trimming the heap take a while.
      ReleaseUnusedMemory();
      Log("start: %s", status.ToString().c_str());
      return;
    }
    case shim::v1::ShimFrame::kKill:
      return SendReply(fd, KillContainer(frame.kill().signal(), frame.kill().all()));
    case shim::v1::ShimFrame::kResize: {
      if (!frame.resize().exec_id().empty()) {
        return SendReply(fd, ResizeExec(frame.resize().exec_id(), frame.resize()));
      }
      if (tty_master_ >= 0) {
        winsize size = {};
        size.ws_row = static_cast<unsigned short>(frame.resize().height());
        size.ws_col = static_cast<unsigned short>(frame.resize().width());
        if (ioctl(tty_master_, TIOCSWINSZ, &size) != 0) {
          return SendReply(fd, LastErrnoStatus("resize the tty"));
        }
      }
      return SendReply(fd, absl::OkStatus());
    }
    case shim::v1::ShimFrame::kState: {
      shim::v1::ShimFrame reply;
      reply.mutable_reply()->set_pid(pid_);
      reply.mutable_reply()->set_status(status_);
      return Send(fd, reply);
    }
    case shim::v1::ShimFrame::kWait: {
      if (!finished_) {
        client.kind = Client::Kind::kWait;
        client.close_when_flushed = false;
        return;
      }
      shim::v1::ShimFrame reply;
      *reply.mutable_exit() = exit_;
      return Send(fd, reply);
    }
    case shim::v1::ShimFrame::kExec: {
      absl::Status status = StartExec(fd, client, frame.exec());
      ReleaseUnusedMemory();
      if (!status.ok()) SendReply(fd, status);
      return;
    }
    case shim::v1::ShimFrame::kShutdown:
      shutdown_requested_ = true;
      return SendReply(fd, absl::OkStatus());
    default:
      return SendReply(fd, absl::InvalidArgumentError("unexpected request frame"));
  }
}

absl::Status Shim::KillContainer(int signal, bool all) {
  if (exited_) return absl::FailedPreconditionError("container is not running");
  if (all && cgroup_ != nullptr) {
    absl::StatusOr<std::vector<pid_t>> pids = cgroup_->Pids();
    if (pids.ok()) {
      for (pid_t pid : *pids) kill(pid, signal);
    }
  }
  if (kill(pid_, signal) != 0) {
    if (errno == ESRCH) return absl::FailedPreconditionError("container is not running");
    return LastErrnoStatus(absl::StrCat("kill ", pid_));
  }
  return absl::OkStatus();
}

void Shim::SendReply(int fd, const absl::Status& status) {
  shim::v1::ShimFrame frame;
  if (!status.ok()) {
    frame.mutable_reply()->set_error(std::string(status.message()));
    frame.mutable_reply()->set_code(static_cast<int>(status.code()));
  } else {
    frame.mutable_reply();
  }
  Send(fd, frame);
}

void Shim::Send(int fd, const shim::v1::ShimFrame& frame) {
  clients_[fd].out += Encode(frame);
  FlushClient(fd);
}

void Shim::FlushClient(int fd) {
  Client& client = clients_[fd];
  while (!client.out.empty() && !client.dead) {
    ssize_t n = send(fd, client.out.data(), client.out.size(), MSG_NOSIGNAL | MSG_DONTWAIT);
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      client.dead = true;
      return;
    }
    client.out.erase(0, static_cast<size_t>(n));
  }
  if (client.out.size() > kMaxClientBacklog) {
    Log("dropping a client that is %zu bytes behind", client.out.size());
    client.dead = true;
    return;
  }
  bool want_out = !client.out.empty();
  if (want_out != client.writable) {
    client.writable = want_out;
    Watch(fd, want_out ? (EPOLLIN | EPOLLOUT) : EPOLLIN);
  }
}

void Shim::QueueStdin(const std::string& data) {
  if (stdin_fd_ < 0 || stdin_closing_) return;
  stdin_buffer_ += data;
  FlushStdin();
}

void Shim::FlushStdin() {
  if (stdin_fd_ < 0) return;
  while (!stdin_buffer_.empty()) {
    ssize_t n = write(stdin_fd_, stdin_buffer_.data(), stdin_buffer_.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) {
      // The container closed its stdin (EPIPE): nothing more can go in.
      return CloseStdin();
    }
    stdin_buffer_.erase(0, static_cast<size_t>(n));
  }
  if (stdin_buffer_.empty() && stdin_closing_) return CloseStdin();
  bool want_out = !stdin_buffer_.empty();
  if (want_out != stdin_writable_) {
    stdin_writable_ = want_out;
    if (want_out) {
      Watch(stdin_fd_, EPOLLOUT);
    } else {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, stdin_fd_, nullptr);
    }
  }
}

void Shim::CloseStdin() {
  if (stdin_fd_ < 0) return;
  if (stdin_writable_) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, stdin_fd_, nullptr);
  stdin_writable_ = false;
  stdin_buffer_.clear();
  CloseFd(&stdin_fd_);
}

void Shim::MaybeFinish() {
  if (exited_ && !finished_ && stdout_fd_ < 0 && stderr_fd_ < 0) Finish();
}

void Shim::Finish() {
  finished_ = true;
  exit_deadline_ms_ = NowMs() + kLingerMs;
  CloseStdin();
  if (!bootstrap_.exit_path().empty()) {
    // For a runtimed that restarts while the shim is gone, not for a reboot
    // (after which nothing is left running): the rename without fsync, so
    // the exit is reported without waiting for a journal commit.
    absl::Status status = ReplaceFile(bootstrap_.exit_path(), exit_.SerializeAsString());
    if (!status.ok()) Log("exit file: %s", std::string(status.message()).c_str());
  }
  shim::v1::ShimFrame exit_frame;
  *exit_frame.mutable_exit() = exit_;
  for (auto& [fd, client] : clients_) {
    if (client.kind == Client::Kind::kWait) {
      client.out += Encode(exit_frame);
      FlushClient(fd);
    }
    // Closing an attach connection is its end-of-output.
    if (client.kind != Client::Kind::kNew) client.close_when_flushed = true;
  }
  container_.reset();
  if (cgroup_ != nullptr) {
    absl::Status status = cgroup_->Destroy();
    if (!status.ok()) Log("cgroup: %s", std::string(status.message()).c_str());
  }
  Log("container %s finished with exit code %d", bootstrap_.container_id().c_str(),
      exit_.exit_code());
}

// ---- exec ----

absl::Status Shim::StartExec(int fd, Client& client, const shim::v1::ExecRequest& request) {
  if (exited_ || status_ != "running") {
    return absl::FailedPreconditionError("container is not running");
  }
  if (request.exec_id().empty() || execs_.count(request.exec_id()) != 0) {
    return absl::InvalidArgumentError("exec id \"" + request.exec_id() + "\" is empty or in use");
  }
  ASSIGN_OR_RETURN(Process process, ParseProcessJson(request.process_json()));
  // Read again rather than kept: the seccomp profile would stay in the
  // shim's memory for the container's whole life.
  ASSIGN_OR_RETURN(Spec spec, LoadSpec(bootstrap_.bundle()));
  Exec exec;
  ExecOptions options;
  options.init_pid = pid_;
  options.cgroup = cgroup_.get();
  if (spec.seccomp) options.seccomp = &*spec.seccomp;
  options.seccomp_cache_dir = SeccompCacheDir();
  options.io.terminal = process.terminal;
  options.rows = static_cast<unsigned short>(request.height());
  options.cols = static_cast<unsigned short>(request.width());
  // The container's ends; ours are closed whatever happens.
  int child_in = -1, child_out = -1, child_err = -1, child_console = -1, console = -1;
  auto close_children = [&]() {
    for (int* end : {&child_in, &child_out, &child_err, &child_console, &console}) CloseFd(end);
  };
  auto fail = [&](absl::Status status) {
    close_children();
    for (int* end : {&exec.stdout_fd, &exec.stderr_fd, &exec.stdin_fd}) CloseFd(end);
    return status;
  };
  if (process.terminal) {
    int pair[2];
    if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, pair) != 0) {
      return fail(LastErrnoStatus("console socketpair"));
    }
    console = pair[0];
    child_console = pair[1];
    options.io.console_socket = child_console;
  } else {
    int out[2], err[2];
    if (pipe2(out, O_CLOEXEC) != 0) return fail(LastErrnoStatus("pipe"));
    exec.stdout_fd = out[0];
    child_out = out[1];
    if (pipe2(err, O_CLOEXEC) != 0) return fail(LastErrnoStatus("pipe"));
    exec.stderr_fd = err[0];
    child_err = err[1];
    if (request.stdin()) {
      int in[2];
      if (pipe2(in, O_CLOEXEC) != 0) return fail(LastErrnoStatus("pipe"));
      child_in = in[0];
      exec.stdin_fd = in[1];
    }
    options.io.stdin_fd = child_in;
    options.io.stdout_fd = child_out;
    options.io.stderr_fd = child_err;
  }
  absl::StatusOr<pid_t> pid = ExecInContainer(process, options);
  if (!pid.ok()) return fail(pid.status());
  exec.pid = *pid;
  if (process.terminal) {
    // Sent before the process exec'd, so it is already waiting.
    CloseFd(&child_console);
    absl::StatusOr<ReceivedFd> master = ReceiveFd(console);
    if (!master.ok()) {
      kill(exec.pid, SIGKILL);
      return fail(Annotate(master.status(), "receive the exec's pty master"));
    }
    exec.tty_master = master->fd;
    exec.stdout_fd = master->fd;
    if (request.stdin()) {
      exec.stdin_fd = fcntl(master->fd, F_DUPFD_CLOEXEC, 3);
      if (exec.stdin_fd < 0) Log("dup an exec's pty master: %s", strerror(errno));
    }
  }
  close_children();
  for (int end : {exec.stdout_fd, exec.stderr_fd, exec.stdin_fd}) {
    if (end < 0) continue;
    SetNonBlocking(end).IgnoreError();
    exec_fds_[end] = request.exec_id();
  }
  Watch(exec.stdout_fd, EPOLLIN);
  if (exec.stderr_fd >= 0) Watch(exec.stderr_fd, EPOLLIN);
  exec.client_fd = fd;
  client.kind = Client::Kind::kExec;
  client.exec_id = request.exec_id();
  client.close_when_flushed = false;
  client.stdin = exec.stdin_fd >= 0;
  Log("exec %s started, pid %d", request.exec_id().c_str(), exec.pid);
  execs_[request.exec_id()] = std::move(exec);
  shim::v1::ShimFrame reply;
  reply.mutable_reply()->set_pid(*pid);
  reply.mutable_reply()->set_status("running");
  Send(fd, reply);
  return absl::OkStatus();
}

void Shim::HandleExecFrame(Client& client, const shim::v1::ShimFrame& frame) {
  auto it = execs_.find(client.exec_id);
  if (it == execs_.end() || !client.stdin) return;
  Exec& exec = it->second;
  if (frame.has_stdin()) {
    if (exec.stdin_fd < 0) return;
    exec.stdin_buffer += frame.stdin();
    FlushExecStdin(exec);
  } else if (frame.has_close_stdin() && frame.close_stdin()) {
    client.stdin = false;
    if (exec.stdin_buffer.empty()) CloseExecStdin(exec);
  }
}

void Shim::OnExecFd(int fd, uint32_t events) {
  std::string id = exec_fds_[fd];
  auto it = execs_.find(id);
  if (it == execs_.end()) return;
  Exec& exec = it->second;
  if (fd == exec.stdin_fd) {
    if (events & (EPOLLERR | EPOLLHUP)) return CloseExecStdin(exec);
    return FlushExecStdin(exec);
  }
  char buffer[32 * 1024];
  ssize_t n = read(fd, buffer, sizeof(buffer));
  if (n < 0 && (errno == EAGAIN || errno == EINTR)) return;
  if (n <= 0) {
    CloseExecFd(exec, fd == exec.stdout_fd ? &exec.stdout_fd : &exec.stderr_fd);
    return MaybeFinishExec(id);
  }
  if (exec.client_fd < 0) return;
  auto client = clients_.find(exec.client_fd);
  if (client == clients_.end() || client->second.dead) return;
  shim::v1::ShimFrame frame;
  frame.mutable_output()->set_stream(fd == exec.stderr_fd ? 2 : 1);
  frame.mutable_output()->set_data(buffer, static_cast<size_t>(n));
  client->second.out += Encode(frame);
  FlushClient(exec.client_fd);
}

void Shim::CloseExecFd(Exec& exec, int* fd) {
  if (*fd < 0) return;
  epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, *fd, nullptr);
  exec_fds_.erase(*fd);
  if (*fd == exec.tty_master) exec.tty_master = -1;
  CloseFd(fd);
}

void Shim::FlushExecStdin(Exec& exec) {
  if (exec.stdin_fd < 0) return;
  while (!exec.stdin_buffer.empty()) {
    ssize_t n = write(exec.stdin_fd, exec.stdin_buffer.data(), exec.stdin_buffer.size());
    if (n < 0 && errno == EINTR) continue;
    if (n < 0 && errno == EAGAIN) break;
    if (n <= 0) return CloseExecStdin(exec);
    exec.stdin_buffer.erase(0, static_cast<size_t>(n));
  }
  auto client = clients_.find(exec.client_fd);
  bool closing = client == clients_.end() || !client->second.stdin;
  if (exec.stdin_buffer.empty() && closing) return CloseExecStdin(exec);
  bool want_out = !exec.stdin_buffer.empty();
  if (want_out != exec.stdin_writable) {
    exec.stdin_writable = want_out;
    if (want_out) {
      Watch(exec.stdin_fd, EPOLLOUT);
    } else {
      epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, exec.stdin_fd, nullptr);
    }
  }
}

void Shim::CloseExecStdin(Exec& exec) {
  if (exec.stdin_fd < 0) return;
  if (exec.stdin_writable) epoll_ctl(epoll_fd_, EPOLL_CTL_DEL, exec.stdin_fd, nullptr);
  exec.stdin_writable = false;
  exec.stdin_buffer.clear();
  exec_fds_.erase(exec.stdin_fd);
  CloseFd(&exec.stdin_fd);
}

void Shim::OnExecExit(const std::string& id, int status) {
  Exec& exec = execs_[id];
  exec.exited = true;
  int code = WIFEXITED(status) ? WEXITSTATUS(status) : 128 + WTERMSIG(status);
  exec.exit.set_exit_code(code);
  exec.exit.set_exited_at(NowNs());
  exec.output_deadline_ms = NowMs() + kOutputGraceMs;
  Log("exec %s (pid %d) exited with %d", id.c_str(), exec.pid, code);
  // Output may still be in the pipes: finished once they reach EOF.
  MaybeFinishExec(id);
}

void Shim::MaybeFinishExec(const std::string& id) {
  auto it = execs_.find(id);
  if (it == execs_.end()) return;
  Exec& exec = it->second;
  if (!exec.exited || exec.stdout_fd >= 0 || exec.stderr_fd >= 0) return;
  CloseExecStdin(exec);
  if (exec.client_fd >= 0) {
    auto client = clients_.find(exec.client_fd);
    if (client != clients_.end()) {
      shim::v1::ShimFrame frame;
      *frame.mutable_exit() = exec.exit;
      client->second.out += Encode(frame);
      client->second.close_when_flushed = true;
      client->second.exec_id.clear();
      FlushClient(exec.client_fd);
    }
  }
  execs_.erase(it);
}

void Shim::DetachExecClient(const std::string& id) {
  auto it = execs_.find(id);
  if (it == execs_.end()) return;
  // The process keeps running (runtimed may be restarting); only its stdin
  // ends.
  it->second.client_fd = -1;
  if (it->second.stdin_buffer.empty()) CloseExecStdin(it->second);
}

void Shim::KillExecs() {
  for (auto& [id, exec] : execs_) {
    if (!exec.exited) kill(exec.pid, SIGKILL);
  }
}

absl::Status Shim::ResizeExec(const std::string& id, const shim::v1::ResizeRequest& request) {
  auto it = execs_.find(id);
  if (it == execs_.end()) return absl::NotFoundError("no such exec: " + id);
  if (it->second.tty_master < 0) return absl::OkStatus();
  winsize size = {};
  size.ws_row = static_cast<unsigned short>(request.height());
  size.ws_col = static_cast<unsigned short>(request.width());
  if (ioctl(it->second.tty_master, TIOCSWINSZ, &size) != 0) {
    return LastErrnoStatus("resize the exec's tty");
  }
  return absl::OkStatus();
}

void Shim::ExpireExecOutput(int64_t now) {
  std::vector<std::string> expired;
  for (auto& [id, exec] : execs_) {
    if (exec.output_deadline_ms >= 0 && now >= exec.output_deadline_ms) expired.push_back(id);
  }
  for (const std::string& id : expired) {
    Exec& exec = execs_[id];
    Log("exec %s: output still open %d ms after it exited; closing it", id.c_str(), kOutputGraceMs);
    CloseExecFd(exec, &exec.stdout_fd);
    CloseExecFd(exec, &exec.stderr_fd);
    MaybeFinishExec(id);
  }
}

}  // namespace berth::runtime
