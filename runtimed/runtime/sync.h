// The sync socket between the runtime and a process it is setting up inside a
// container (the init, or an exec'd process): a SOCK_SEQPACKET pair, one
// message per send, close-on-exec so that EOF tells the runtime the process
// has exec'd.
//
// runtime -> process: kSyncGo once the process is in its cgroup, kSyncStart
// to exec (init only). process -> runtime: kSyncReady once set up (init only),
// or an error: kSyncError + the absl::StatusCode + the message.
#pragma once

#include <optional>
#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace berth::runtime {

constexpr char kSyncGo = 'G';
constexpr char kSyncStart = 'S';
constexpr char kSyncReady = 'R';
constexpr char kSyncError = 'E';
// Creation hooks: the init asks once its mounts are ready and before
// pivot_root; the runtime runs prestart and createRuntime, then answers with
// kSyncHooks + the state JSON for the createContainer hooks.
constexpr char kSyncHooks = 'H';

absl::Status SendByte(int fd, char byte);
absl::Status SendMessage(int fd, const std::string& message);

// Best effort: the process is about to exit anyway.
void SendError(int fd, const absl::Status& status);

// The next message: nullopt on EOF (the peer closed or exec'd).
absl::StatusOr<std::optional<std::string>> Receive(int fd);

// The status carried by a kSyncError message (Internal for anything else).
absl::Status DecodeError(const std::string& message);

// Cancelled on EOF, the decoded error for any other message.
absl::Status WaitFor(int fd, char expected);

}  // namespace berth::runtime
