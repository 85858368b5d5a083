// Capability sets of the container process, applied the way runc does:
// bounding set first (needs CAP_SETPCAP), then the identity switch with
// PR_SET_KEEPCAPS so permitted survives it, then effective/permitted/
// inheritable and the ambient set.
#pragma once

#include "absl/status/status.h"
#include "runtimed/runtime/spec.h"

namespace berth::runtime {

// Drops every capability not in caps.bounding from the bounding set.
absl::Status DropBoundingSet(const Capabilities& caps);

// Sets effective, permitted and inheritable, then raises the ambient ones.
absl::Status ApplyCapabilities(const Capabilities& caps);

// Switches to the spec's user: groups, gid, uid. With `keep_caps` the
// permitted set survives a switch away from uid 0.
absl::Status SwitchUser(const User& user, bool keep_caps);

}  // namespace berth::runtime
