// Work that must happen inside a network namespace (binding a socket there,
// writing its /proc/sys/net), done without moving any of the daemon's own
// threads: setns changes only the calling thread, and sockets and opened
// files keep the namespace they were made in.
#pragma once

#include <functional>
#include <string>

#include "absl/status/status.h"

namespace berth {

// Runs `fn` on a new thread that has joined the network namespace at
// `netns_path`, and waits for it. Returns the error of opening or joining the
// namespace (fn then does not run), or fn's own.
absl::Status RunInNetworkNamespace(const std::string& netns_path,
                                   const std::function<absl::Status()>& fn);

}  // namespace berth
