// Network namespaces pinned by a bind mount of their nsfs file, the way
// `ip netns` does it: the namespace lives as long as the mount, independent
// of any process, so netd can restart without taking containers' networks
// down, and the runtime joins it by path.
#pragma once

#include <string>

#include "absl/status/status.h"

namespace berth::netd {

// Creates a network namespace with its loopback interface up and pins it on
// `path` (a new empty file). Runs on a short-lived thread of its own: the
// namespace switch never touches the daemon's other threads.
absl::Status CreatePinnedNetns(const std::string& path);

// Unpins (lazily: a container still inside keeps the namespace alive) and
// deletes `path`. A missing or unmounted file is fine.
absl::Status RemovePinnedNetns(const std::string& path);

// Makes `dir` a private mount of its own (bind-mounting it onto itself the
// first time), so that the nsfs mounts under it do not propagate into peer
// mount namespaces, where they would keep namespaces alive after removal.
absl::Status MakePrivateMountDir(const std::string& dir);

// Sets IFF_UP on "lo" in the calling thread's network namespace.
absl::Status BringLoopbackUp();

}  // namespace berth::netd
