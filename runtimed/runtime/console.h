// The container's terminal, allocated the way runc does it: by the init,
// inside the container's own devpts instance (so `tty` says /dev/pts/0),
// with the master handed to whoever owns the container's stdio over a unix
// socket as SCM_RIGHTS. This is runc's console-socket protocol: the payload
// is the master's name, the single descriptor the master itself.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace berth::runtime {

// Sends `fd` with `name` as the payload (which must not be empty: a stream
// socket drops ancillary data that carries no byte).
absl::Status SendFd(int socket, const std::string& name, int fd);

struct ReceivedFd {
  int fd = -1;  // close-on-exec, owned by the caller
  std::string name;
};

// Receives one descriptor sent by SendFd (or by runc's utils.SendFd).
// FailedPrecondition if the peer closed without sending one.
absl::StatusOr<ReceivedFd> ReceiveFd(int socket);

// Run by the init after pivot_root (so /dev/ptmx is the container's
// pts/ptmx): opens a pty pair, sends the master over `console_socket` and
// closes both that socket and the init's copy of the master, makes the
// slave descriptors 0-2 of a new session and its controlling terminal, and,
// with `mount_console`, binds the slave onto /dev/console.
absl::Status SetupConsole(int console_socket, bool mount_console);

}  // namespace berth::runtime
