#include "runtimed/runtime/sync.h"

#include <sys/socket.h>

#include <cerrno>

#include "common/status.h"

namespace berth::runtime {

absl::Status SendByte(int fd, char byte) {
  if (send(fd, &byte, 1, MSG_NOSIGNAL) != 1) return LastErrnoStatus("sync socket send");
  return absl::OkStatus();
}

absl::Status SendMessage(int fd, const std::string& message) {
  if (send(fd, message.data(), message.size(), MSG_NOSIGNAL) !=
      static_cast<ssize_t>(message.size())) {
    return LastErrnoStatus("sync socket send");
  }
  return absl::OkStatus();
}

void SendError(int fd, const absl::Status& status) {
  std::string message(1, kSyncError);
  message.push_back(static_cast<char>(status.code()));
  message.append(status.message().data(), status.message().size());
  send(fd, message.data(), message.size(), MSG_NOSIGNAL);
}

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
  if (message.size() < 2 || message[0] != kSyncError) {
    return absl::InternalError("container process sent an unexpected message");
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

}  // namespace berth::runtime
