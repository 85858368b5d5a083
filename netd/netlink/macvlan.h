// macvlan links for netd's macvlan networks: a container's interface is a
// macvlan of the host's parent link, created straight in its namespace.
#pragma once

#include <string>

#include "absl/status/status.h"
#include "absl/status/statusor.h"

namespace berth::netd {

// Docker's -o macvlan_mode values: "bridge" (the default), "private",
// "vepa", "passthru". InvalidArgument for others, in Docker's words.
absl::StatusOr<int> MacvlanMode(const std::string& mode);

// A macvlan of `parent` named `name` with MAC `mac` (6 raw bytes), in
// macvlan mode `mode` (from MacvlanMode), created in the namespace open at
// `netns_fd`. NotFound when the parent does not exist.
absl::Status CreateMacvlan(const std::string& parent, const std::string& name,
                           const std::string& mac, int mode, int netns_fd);

}  // namespace berth::netd
