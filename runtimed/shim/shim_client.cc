#include "runtimed/shim/shim_client.h"

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <cerrno>
#include <cstring>
#include <vector>

#include "absl/strings/str_cat.h"
#include "common/fs.h"
#include "common/replace_file.h"
#include "common/status.h"

namespace berth::runtime {
namespace {

constexpr uint32_t kMaxFrame = 16 * 1024 * 1024;
constexpr int kLaunchTimeoutMs = 30000;

int64_t NowMs() {
  timespec ts;
  clock_gettime(CLOCK_MONOTONIC, &ts);
  return static_cast<int64_t>(ts.tv_sec) * 1000 + ts.tv_nsec / 1000000;
}

// Writes everything; MSG_NOSIGNAL so a vanished peer is an error, not a
// SIGPIPE that kills the caller.
absl::Status SendAll(int fd, const char* data, size_t size) {
  bool socket = true;
  while (size > 0) {
    ssize_t n = socket ? send(fd, data, size, MSG_NOSIGNAL) : write(fd, data, size);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ENOTSOCK && socket) {
        socket = false;
        continue;
      }
      return LastErrnoStatus("write frame");
    }
    data += n;
    size -= static_cast<size_t>(n);
  }
  return absl::OkStatus();
}

// Reads up to `size` bytes, waiting at most until `deadline_ms` (-1: no
// deadline). Returns how many bytes arrived before EOF.
absl::StatusOr<size_t> ReadUpTo(int fd, char* data, size_t size, int64_t deadline_ms) {
  size_t done = 0;
  while (done < size) {
    if (deadline_ms >= 0) {
      int64_t left = deadline_ms - NowMs();
      if (left <= 0) return absl::DeadlineExceededError("timed out");
      pollfd p = {fd, POLLIN, 0};
      int rc = poll(&p, 1, static_cast<int>(left));
      if (rc < 0 && errno != EINTR) return LastErrnoStatus("poll");
      if (rc <= 0) continue;
    }
    ssize_t n = read(fd, data + done, size - done);
    if (n < 0) {
      if (errno == EINTR) continue;
      if (errno == ECONNRESET) return done;
      return LastErrnoStatus("read frame");
    }
    if (n == 0) return done;
    done += static_cast<size_t>(n);
  }
  return done;
}

absl::StatusOr<std::optional<shim::v1::ShimFrame>> ReadFrameUntil(int fd, int64_t deadline_ms) {
  unsigned char header[4];
  ASSIGN_OR_RETURN(size_t got, ReadUpTo(fd, reinterpret_cast<char*>(header), 4, deadline_ms));
  if (got == 0) return std::optional<shim::v1::ShimFrame>();
  if (got < 4) return absl::DataLossError("truncated frame header");
  uint32_t length = (uint32_t{header[0]} << 24) | (uint32_t{header[1]} << 16) |
                    (uint32_t{header[2]} << 8) | uint32_t{header[3]};
  if (length > kMaxFrame) return absl::DataLossError(absl::StrCat("frame of ", length, " bytes"));
  std::string payload(length, '\0');
  ASSIGN_OR_RETURN(got, ReadUpTo(fd, payload.data(), length, deadline_ms));
  if (got < length) return absl::DataLossError("truncated frame");
  shim::v1::ShimFrame frame;
  if (!frame.ParseFromString(payload)) return absl::DataLossError("malformed frame");
  return std::optional<shim::v1::ShimFrame>(std::move(frame));
}

absl::Status ReplyStatus(const shim::v1::Reply& reply) {
  if (reply.error().empty()) return absl::OkStatus();
  auto code = static_cast<absl::StatusCode>(reply.code());
  if (code == absl::StatusCode::kOk) code = absl::StatusCode::kUnknown;
  return absl::Status(code, reply.error());
}

absl::Status Unavailable(const std::string& socket_path, const absl::Status& cause) {
  return absl::UnavailableError(
      absl::StrCat("shim is unavailable: ", socket_path, ": ", cause.message()));
}

absl::StatusOr<int> Connect(const std::string& socket_path) {
  sockaddr_un addr = {};
  addr.sun_family = AF_UNIX;
  if (socket_path.size() >= sizeof(addr.sun_path)) {
    return absl::InvalidArgumentError("socket path too long: " + socket_path);
  }
  memcpy(addr.sun_path, socket_path.c_str(), socket_path.size() + 1);
  int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
  if (fd < 0) return LastErrnoStatus("socket");
  if (connect(fd, reinterpret_cast<sockaddr*>(&addr), sizeof(addr)) != 0) {
    absl::Status status = LastErrnoStatus("connect");
    close(fd);
    return Unavailable(socket_path, status);
  }
  return fd;
}

// One request on a fresh connection; the connection is returned for
// requests whose answer streams (attach).
absl::StatusOr<shim::v1::ShimFrame> Call(const std::string& socket_path,
                                         const shim::v1::ShimFrame& request, int* keep_fd) {
  ASSIGN_OR_RETURN(int fd, Connect(socket_path));
  absl::Status status = WriteFrame(fd, request);
  absl::StatusOr<std::optional<shim::v1::ShimFrame>> reply = ReadFrameUntil(fd, -1);
  if (keep_fd != nullptr && status.ok() && reply.ok() && reply->has_value()) {
    *keep_fd = fd;
  } else {
    close(fd);
  }
  if (!status.ok()) return Unavailable(socket_path, status);
  if (!reply.ok()) return Unavailable(socket_path, reply.status());
  if (!reply->has_value()) {
    return Unavailable(socket_path, absl::UnavailableError("connection closed"));
  }
  return std::move(**reply);
}

absl::Status CallForReply(const std::string& socket_path, const shim::v1::ShimFrame& request) {
  ASSIGN_OR_RETURN(shim::v1::ShimFrame frame, Call(socket_path, request, nullptr));
  if (!frame.has_reply()) return absl::InternalError("shim sent an unexpected frame");
  return ReplyStatus(frame.reply());
}

// A streaming connection's client half: stdin frames out, the fd for polls.
template <typename Interface>
class ShimStream : public Interface {
 public:
  explicit ShimStream(int fd) : fd_(fd) {}
  ~ShimStream() override { close(fd_); }

  absl::Status WriteStdin(const std::string& data) override {
    shim::v1::ShimFrame frame;
    frame.set_stdin(data);
    return WriteFrame(fd_, frame);
  }
  absl::Status CloseStdin() override {
    shim::v1::ShimFrame frame;
    frame.set_close_stdin(true);
    return WriteFrame(fd_, frame);
  }
  int fd() const override { return fd_; }

 protected:
  const int fd_;
};

class ShimAttachmentImpl : public ShimStream<ShimAttachment> {
 public:
  using ShimStream::ShimStream;

  absl::StatusOr<std::optional<shim::v1::Output>> Read() override {
    while (true) {
      ASSIGN_OR_RETURN(std::optional<shim::v1::ShimFrame> frame, ReadFrame(fd_));
      if (!frame) return std::optional<shim::v1::Output>();
      if (frame->has_output()) return std::optional<shim::v1::Output>(frame->output());
    }
  }
};

class ShimExecutionImpl : public ShimStream<ShimExecution> {
 public:
  using ShimStream::ShimStream;

  void set_pid(int64_t pid) { pid_ = pid; }
  int64_t pid() const override { return pid_; }

  absl::StatusOr<Event> Read() override {
    while (true) {
      ASSIGN_OR_RETURN(std::optional<shim::v1::ShimFrame> frame, ReadFrame(fd_));
      Event event;
      if (!frame) return event;
      if (frame->has_output()) {
        event.output = frame->output();
        return event;
      }
      if (frame->has_exit()) {
        event.exit = frame->exit();
        return event;
      }
    }
  }

 private:
  int64_t pid_ = 0;
};

}  // namespace

absl::Status WriteFrame(int fd, const shim::v1::ShimFrame& frame) {
  std::string payload;
  if (!frame.SerializeToString(&payload)) return absl::InternalError("cannot serialize frame");
  if (payload.size() > kMaxFrame) return absl::InvalidArgumentError("frame over 16 MiB");
  auto length = static_cast<uint32_t>(payload.size());
  char header[4] = {static_cast<char>(length >> 24), static_cast<char>(length >> 16),
                    static_cast<char>(length >> 8), static_cast<char>(length)};
  payload.insert(0, header, 4);
  return SendAll(fd, payload.data(), payload.size());
}

absl::StatusOr<std::optional<shim::v1::ShimFrame>> ReadFrame(int fd) {
  return ReadFrameUntil(fd, -1);
}

absl::StatusOr<int64_t> LaunchShim(const ShimLaunchOptions& options) {
  const shim::v1::Bootstrap& bootstrap = options.bootstrap;
  if (access(options.shim_binary.c_str(), X_OK) != 0) {
    return LastErrnoStatus("shim binary " + options.shim_binary);
  }
  std::string bootstrap_path = bootstrap.bundle() + "/bootstrap.pb";
  std::string serialized;
  if (!bootstrap.SerializeToString(&serialized)) {
    return absl::InternalError("cannot serialize the shim bootstrap");
  }
  // In the bundle, which every start makes anew: no fsync.
  RETURN_IF_ERROR(ReplaceFile(bootstrap_path, serialized, 0600));

  int ready[2];
  if (pipe2(ready, O_CLOEXEC) != 0) return LastErrnoStatus("pipe");
  // Everything the children need is prepared before fork: the caller is
  // multithreaded, so they may only make async-signal-safe calls.
  std::string arg_bootstrap = "--bootstrap=" + bootstrap_path;
  std::string arg_ready = "--ready-fd=3";
  std::vector<char*> argv = {const_cast<char*>(options.shim_binary.c_str()),
                             const_cast<char*>(arg_bootstrap.c_str()),
                             const_cast<char*>(arg_ready.c_str()), nullptr};
  pid_t child = fork();
  if (child < 0) {
    absl::Status status = LastErrnoStatus("fork");
    close(ready[0]);
    close(ready[1]);
    return status;
  }
  if (child == 0) {
    // Double fork: the shim is orphaned at once and reparented to init (or
    // the nearest subreaper), so it outlives the caller; setsid keeps
    // terminal and process-group signals of the caller away from it.
    setsid();
    pid_t shim = fork();
    if (shim != 0) {
      int32_t pid = shim;
      if (write(ready[1], &pid, sizeof(pid)) < 0) _exit(1);
      _exit(shim > 0 ? 0 : 1);
    }
    sigset_t empty;
    sigemptyset(&empty);
    sigprocmask(SIG_SETMASK, &empty, nullptr);
    if (ready[1] == 3) {
      fcntl(3, F_SETFD, 0);
    } else if (dup2(ready[1], 3) != 3) {
      _exit(127);
    }
    int null = open("/dev/null", O_RDWR);
    if (null >= 0) {
      dup2(null, 0);
      dup2(null, 1);
      dup2(null, 2);
    }
    CloseDescriptorsFrom(4);
    execv(argv[0], argv.data());
    _exit(127);
  }
  close(ready[1]);
  while (waitpid(child, nullptr, 0) < 0 && errno == EINTR) {
  }

  int64_t deadline = NowMs() + kLaunchTimeoutMs;
  int32_t shim_pid = 0;
  absl::StatusOr<size_t> got =
      ReadUpTo(ready[0], reinterpret_cast<char*>(&shim_pid), sizeof(shim_pid), deadline);
  if (!got.ok() || *got != sizeof(shim_pid) || shim_pid <= 0) {
    close(ready[0]);
    return absl::InternalError("cannot start the shim: fork failed");
  }
  absl::StatusOr<std::optional<shim::v1::ShimFrame>> frame = ReadFrameUntil(ready[0], deadline);
  close(ready[0]);
  if (!frame.ok() || !frame->has_value() || !(*frame)->has_reply()) {
    // A shim that did not answer must not linger half set up.
    kill(shim_pid, SIGKILL);
    if (!frame.ok() && absl::IsDeadlineExceeded(frame.status())) {
      return absl::DeadlineExceededError(absl::StrCat(
          "shim for container ", bootstrap.container_id(), " did not become ready in time"));
    }
    return absl::InternalError(absl::StrCat("shim for container ", bootstrap.container_id(),
                                            " exited without reporting (see ", bootstrap.bundle(),
                                            "/shim.log)"));
  }
  RETURN_IF_ERROR(ReplyStatus((*frame)->reply()));
  return shim_pid;
}

absl::StatusOr<int64_t> ShimClient::Start() {
  shim::v1::ShimFrame request;
  request.mutable_start();
  ASSIGN_OR_RETURN(shim::v1::ShimFrame frame, Call(socket_path_, request, nullptr));
  if (!frame.has_reply()) return absl::InternalError("shim sent an unexpected frame");
  RETURN_IF_ERROR(ReplyStatus(frame.reply()));
  return frame.reply().pid();
}

absl::Status ShimClient::Kill(int signal, bool all) {
  shim::v1::ShimFrame request;
  request.mutable_kill()->set_signal(signal);
  request.mutable_kill()->set_all(all);
  return CallForReply(socket_path_, request);
}

absl::Status ShimClient::Resize(uint32_t height, uint32_t width) {
  shim::v1::ShimFrame request;
  request.mutable_resize()->set_height(height);
  request.mutable_resize()->set_width(width);
  return CallForReply(socket_path_, request);
}

absl::StatusOr<shim::v1::Reply> ShimClient::State() {
  shim::v1::ShimFrame request;
  request.mutable_state();
  ASSIGN_OR_RETURN(shim::v1::ShimFrame frame, Call(socket_path_, request, nullptr));
  if (!frame.has_reply()) return absl::InternalError("shim sent an unexpected frame");
  RETURN_IF_ERROR(ReplyStatus(frame.reply()));
  return frame.reply();
}

absl::StatusOr<shim::v1::ExitStatus> ShimClient::Wait() {
  shim::v1::ShimFrame request;
  request.mutable_wait();
  ASSIGN_OR_RETURN(shim::v1::ShimFrame frame, Call(socket_path_, request, nullptr));
  if (frame.has_reply()) {
    RETURN_IF_ERROR(ReplyStatus(frame.reply()));
    return absl::InternalError("shim answered wait without an exit status");
  }
  if (!frame.has_exit()) return absl::InternalError("shim sent an unexpected frame");
  return frame.exit();
}

absl::Status ShimClient::Shutdown() {
  shim::v1::ShimFrame request;
  request.mutable_shutdown();
  return CallForReply(socket_path_, request);
}

absl::StatusOr<std::unique_ptr<ShimAttachment>> ShimClient::Attach(bool stdin, bool stdout,
                                                                   bool stderr) {
  shim::v1::ShimFrame request;
  request.mutable_attach()->set_stdin(stdin);
  request.mutable_attach()->set_stdout(stdout);
  request.mutable_attach()->set_stderr(stderr);
  int fd = -1;
  ASSIGN_OR_RETURN(shim::v1::ShimFrame frame, Call(socket_path_, request, &fd));
  auto attachment = std::make_unique<ShimAttachmentImpl>(fd);
  if (!frame.has_reply()) return absl::InternalError("shim sent an unexpected frame");
  RETURN_IF_ERROR(ReplyStatus(frame.reply()));
  return std::unique_ptr<ShimAttachment>(std::move(attachment));
}

absl::StatusOr<std::unique_ptr<ShimExecution>> ShimClient::Exec(const std::string& exec_id,
                                                                const std::string& process_json,
                                                                bool stdin, uint32_t height,
                                                                uint32_t width) {
  shim::v1::ShimFrame request;
  request.mutable_exec()->set_exec_id(exec_id);
  request.mutable_exec()->set_process_json(process_json);
  request.mutable_exec()->set_stdin(stdin);
  request.mutable_exec()->set_height(height);
  request.mutable_exec()->set_width(width);
  int fd = -1;
  ASSIGN_OR_RETURN(shim::v1::ShimFrame frame, Call(socket_path_, request, &fd));
  auto execution = std::make_unique<ShimExecutionImpl>(fd);
  if (!frame.has_reply()) return absl::InternalError("shim sent an unexpected frame");
  RETURN_IF_ERROR(ReplyStatus(frame.reply()));
  execution->set_pid(frame.reply().pid());
  return std::unique_ptr<ShimExecution>(std::move(execution));
}

absl::Status ShimClient::ResizeExec(const std::string& exec_id, uint32_t height, uint32_t width) {
  shim::v1::ShimFrame request;
  request.mutable_resize()->set_height(height);
  request.mutable_resize()->set_width(width);
  request.mutable_resize()->set_exec_id(exec_id);
  return CallForReply(socket_path_, request);
}

absl::StatusOr<shim::v1::ExitStatus> ReadExitFile(const std::string& path) {
  ASSIGN_OR_RETURN(std::string content, ReadFile(path));
  shim::v1::ExitStatus status;
  if (!status.ParseFromString(content)) {
    return absl::DataLossError("malformed exit status in " + path);
  }
  return status;
}

}  // namespace berth::runtime
