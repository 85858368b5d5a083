#include "runtimed/daemon/shim_launcher.h"

#include <sys/socket.h>
#include <sys/un.h>
#include <unistd.h>

#include <atomic>
#include <cstring>
#include <mutex>

#include "common/status.h"
#include "runtimed/shim/shim_client.h"

namespace berth::runtimed {
namespace {

class RealShimStream : public ShimStream {
 public:
  explicit RealShimStream(std::unique_ptr<runtime::ShimAttachment> attachment)
      : attachment_(std::move(attachment)) {}
  absl::StatusOr<std::optional<shim::v1::Output>> Read() override {
    if (interrupted_) return std::optional<shim::v1::Output>();
    auto chunk = attachment_->Read();
    if (!chunk.ok() && interrupted_) return std::optional<shim::v1::Output>();
    return chunk;
  }
  absl::Status WriteStdin(const std::string& data) override {
    return attachment_->WriteStdin(data);
  }
  absl::Status CloseStdin() override { return attachment_->CloseStdin(); }
  void Interrupt() override {
    interrupted_ = true;
    // Wakes a reader blocked on the connection; the descriptor stays open
    // (and owned by the attachment) until the stream is destroyed.
    shutdown(attachment_->fd(), SHUT_RDWR);
  }

 private:
  std::unique_ptr<runtime::ShimAttachment> attachment_;
  std::atomic<bool> interrupted_{false};
};

class RealShimHandle : public ShimHandle {
 public:
  explicit RealShimHandle(std::string socket_path)
      : client_(socket_path), socket_path_(std::move(socket_path)) {}

  absl::StatusOr<int64_t> Start() override { return client_.Start(); }
  absl::Status Kill(int signal, bool all) override { return client_.Kill(signal, all); }
  absl::Status Resize(uint32_t height, uint32_t width) override {
    return client_.Resize(height, width);
  }
  absl::StatusOr<ShimState> State() override {
    ASSIGN_OR_RETURN(shim::v1::Reply reply, client_.State());
    return ShimState{reply.pid(), reply.status()};
  }
  absl::Status Shutdown() override { return client_.Shutdown(); }
  absl::StatusOr<std::unique_ptr<ShimStream>> Attach(bool stdin, bool stdout,
                                                     bool stderr) override {
    ASSIGN_OR_RETURN(std::unique_ptr<runtime::ShimAttachment> attachment,
                     client_.Attach(stdin, stdout, stderr));
    return std::unique_ptr<ShimStream>(new RealShimStream(std::move(attachment)));
  }

  // ShimClient::Wait cannot be interrupted, so the wait request is sent on a
  // connection of our own whose descriptor CancelWait can shut down.
  absl::StatusOr<shim::v1::ExitStatus> Wait() override {
    int fd = socket(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0);
    if (fd < 0) return LastErrnoStatus("socket");
    {
      std::lock_guard<std::mutex> lock(mu_);
      if (cancelled_) {
        close(fd);
        return absl::CancelledError("wait cancelled");
      }
      wait_fd_ = fd;
    }
    auto result = WaitOn(fd);
    {
      std::lock_guard<std::mutex> lock(mu_);
      wait_fd_ = -1;
      if (cancelled_ && !result.ok()) result = absl::CancelledError("wait cancelled");
    }
    close(fd);
    return result;
  }

  void CancelWait() override {
    std::lock_guard<std::mutex> lock(mu_);
    cancelled_ = true;
    if (wait_fd_ >= 0) shutdown(wait_fd_, SHUT_RDWR);
  }

 private:
  absl::StatusOr<shim::v1::ExitStatus> WaitOn(int fd) {
    sockaddr_un address = {};
    address.sun_family = AF_UNIX;
    if (socket_path_.size() >= sizeof(address.sun_path)) {
      return absl::InvalidArgumentError("shim socket path too long: " + socket_path_);
    }
    std::memcpy(address.sun_path, socket_path_.c_str(), socket_path_.size() + 1);
    if (connect(fd, reinterpret_cast<sockaddr*>(&address), sizeof(address)) != 0) {
      return absl::UnavailableError("shim is gone: " + std::string(strerror(errno)));
    }
    shim::v1::ShimFrame request;
    request.mutable_wait();
    RETURN_IF_ERROR(runtime::WriteFrame(fd, request));
    for (;;) {
      ASSIGN_OR_RETURN(std::optional<shim::v1::ShimFrame> frame, runtime::ReadFrame(fd));
      if (!frame) return absl::UnavailableError("shim closed the wait connection");
      if (frame->has_exit()) return frame->exit();
      if (frame->has_reply() && !frame->reply().error().empty()) {
        return absl::InternalError(frame->reply().error());
      }
    }
  }

  runtime::ShimClient client_;
  const std::string socket_path_;
  std::mutex mu_;
  int wait_fd_ = -1;
  bool cancelled_ = false;
};

}  // namespace

absl::Status RealShimLauncher::Launch(const std::string& shim_binary,
                                      const shim::v1::Bootstrap& bootstrap) {
  runtime::ShimLaunchOptions options;
  options.shim_binary = shim_binary;
  options.bootstrap = bootstrap;
  return runtime::LaunchShim(options).status();
}

std::unique_ptr<ShimHandle> RealShimLauncher::Connect(const std::string& socket_path) {
  return std::make_unique<RealShimHandle>(socket_path);
}

absl::StatusOr<shim::v1::ExitStatus> RealShimLauncher::ReadExitFile(const std::string& path) {
  return runtime::ReadExitFile(path);
}

}  // namespace berth::runtimed
